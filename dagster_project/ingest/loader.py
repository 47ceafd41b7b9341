"""Load one department file into the working database, atomically.

One file = one transaction: its (extract, period) partition is replaced by the
rows that passed the row rules, rejected rows go to audit.quarantine, findings
to audit.row_flags, and a ledger row to audit.file_loads where
rows_read = rows_loaded + rows_quarantined always holds. A failure anywhere
rolls back everything, so nothing is ever half-loaded.

Memory stays bounded whatever the file's size: the reader gives a CSV in batches of about
reader.CSV_BLOCK_BYTES of text, the row rules run on one batch at a time, and every typed row
goes into a TEMP staging table of the connection (with what the whole-file rules need: see
rules.file_rule_issues_sql), its findings into a TEMP issues table. Only after the last batch
are the whole-file rules (duplicates) run, in DuckDB, and the partition replaced from the
staging table in one transaction. The staging tables hold ID numbers in clear (they are
pseudonymised on insert into the raw table, inside DuckDB) and are dropped when the file is
done, whatever happens.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import polars as pl

from dagster_project.contracts import Contracts, Extract
from dagster_project.ingest import idnumber
from dagster_project.ingest.audit_tables import ensure_schema
from dagster_project.ingest.discovery import DroppedFile, sha256_of
from dagster_project.ingest.errors import ExtractFileError, redact_identifiers
from dagster_project.ingest.file_choice import choose_current
from dagster_project.ingest.headers import header_matcher, map_headers
from dagster_project.ingest.read_ahead import ReadAhead, read_ahead
from dagster_project.ingest.reader import ROW, OpenedTable, RawTable, open_table
from dagster_project.ingest.rule_texts import EXCLUDE_FIELD_EN, EXCLUDE_FIELD_ZH, ROW_RULES, RULES
from dagster_project.ingest.rules import apply_rules, file_rule_issues_sql, staging_select
from dagster_project.ingest.upgrade import upgrade_stored_identifiers

log = logging.getLogger(__name__)

# A file identical to another period's is rejected as sent under the wrong year, unless it is a small
# department form (a few aggregate cells, such as 3 juvenile offenders by sex), which can repeat last
# year's figures exactly: that one is loaded and every row flagged `same_content_as_other_period`.
SAME_CONTENT_EXTRACTS = frozenset({"forms"})
SAME_CONTENT_MAX_ROWS = 100

# TEMP tables of the connection (never in the database file) for the file being loaded.
STAGING_ROWS = "_ingest_rows"      # every row read: typed values (ID numbers in clear) + whole-file rule inputs
STAGING_ISSUES = "_ingest_issues"  # every finding: _row_number, column_name, rule_id, value (masked), action
STAGING_INVALID = "_ingest_invalid"  # per row with a blanked field: _row_number, _invalid_fields
_BATCH = "_ingest_batch"           # the batch being staged, registered from Arrow
_ISSUE_COLUMNS = f"{ROW}, column_name, rule_id, value, action"
# The raw and audit tables are filled slice by slice of the file (whole batches, at least this many rows
# a slice, in file order): DuckDB sorts one slice at a time, never the whole file.
SLICE_ROWS = 100_000


@dataclass
class _ReadFacts:
    """What the ledger records of a file that was read: its encoding, format and rows read."""

    encoding: str | None
    file_format: str | None
    rows_read: int
    sheet_name: str | None = None


@dataclass
class LoadResult:
    source_file: str
    extract: str | None
    period_year: int | None
    status: str
    load_id: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_flagged: int = 0
    message_zh: str = ""
    message_en: str = ""
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", {})}


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> pl.DataFrame:
    return con.execute(sql, params or []).pl()


def make_load_id(dropped: DroppedFile, sha256: str) -> str:
    period = dropped.period_year if dropped.period_year is not None else "all"
    prefix = f"{dropped.source_department}-" if dropped.source_department else ""
    return f"{dropped.extract.name}-{prefix}{period}-{sha256[:12]}"


def _partition_where(dropped: DroppedFile) -> tuple[str, list]:
    """SQL predicate selecting the partition a file replaces."""
    clauses, params = [], []
    if dropped.period_year is not None:
        clauses.append("_period_year = ?")
        params.append(dropped.period_year)
    if dropped.source_department is not None:
        clauses.append("_source_department = ?")
        params.append(dropped.source_department)
    return (" AND ".join(clauses) or "TRUE"), params


def _ledger_partition_where(dropped: DroppedFile) -> tuple[str, list]:
    return (
        "extract = ? AND period_year IS NOT DISTINCT FROM ? AND source_department IS NOT DISTINCT FROM ?",
        [dropped.extract.name, dropped.period_year, dropped.source_department],
    )


def load_files(con: duckdb.DuckDBPyConnection, files: list[DroppedFile], contracts: Contracts,
               hmac_key: bytes) -> Iterator[LoadResult]:
    """`load_file` for each of `files` in order, each next file read ahead on a helper thread (read_ahead.py).

    Where several files are for one extract and period, only the most recently received is loaded
    (file_choice.py); each older one is then recorded as superseded by it.
    """
    if not files:
        return
    ensure_schema(con)
    upgrade_stored_identifiers(con, contracts, hmac_key)  # once: rows an earlier version stored (upgrade.py)
    choice = choose_current(files)
    files = choice.load
    current = frozenset(sha for (sha,) in con.execute("SELECT sha256 FROM audit.file_loads WHERE is_current").fetchall())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(read_ahead, files[0], contracts, current)
        for i, dropped in enumerate(files):
            ahead = pending.result()
            if i + 1 < len(files):
                pending = pool.submit(read_ahead, files[i + 1], contracts, current)
            yield load_file(con, dropped, contracts, hmac_key, ahead)
    for older, newer, sha in choice.superseded:
        yield record_superseded(con, older, newer, sha, contracts)


def load_file(
    con: duckdb.DuckDBPyConnection,
    dropped: DroppedFile,
    contracts: Contracts,
    hmac_key: bytes,
    ahead: ReadAhead | None = None,
) -> LoadResult:
    """Load `dropped` unless the same bytes are already current for its partition.

    Whatever a file holds, this returns: a failure nobody foresaw is recorded as a
    rejection (`internal_error`) so one bad file never stops the others. Only the
    exception's type is recorded (its text could quote the file's content).
    """
    ensure_schema(con)
    if dropped.extract is None or dropped.blocked:
        return record_unrecognised(con, dropped, contracts)
    try:
        return _load_file(con, dropped, contracts, hmac_key, ahead)
    except Exception as exc:
        log.error("%s: internal error %s while loading\n%s", dropped.shown, type(exc).__name__,
                  "".join(traceback.format_tb(exc.__traceback__)))
        try:
            sha = sha256_of(dropped.path)
        except OSError:
            sha = hashlib.sha256(dropped.relative.encode("utf-8")).hexdigest()
        zh = f"文件处理时发生内部错误（{type(exc).__name__}），未入库；已记录，请联系数据仓库管理员。"
        en = f"Internal error while processing the file ({type(exc).__name__}); not loaded. Reported to the warehouse team."
        return _record_file_rejection(con, dropped, contracts, sha, make_load_id(dropped, sha), "internal_error", zh, en)


def _load_file(con, dropped: DroppedFile, contracts: Contracts, hmac_key: bytes, ahead: ReadAhead | None) -> LoadResult:
    extract = dropped.extract
    sha = ahead.sha256 if ahead else sha256_of(dropped.path)
    load_id = make_load_id(dropped, sha)
    where, params = _ledger_partition_where(dropped)
    current = con.execute(
        f"SELECT source_file FROM audit.file_loads WHERE {where} AND is_current AND sha256 = ?", [*params, sha]
    ).fetchone()
    if current and current[0] != dropped.shown and _still_there(dropped, current[0]):
        return _record_duplicate_name(con, dropped, contracts, sha, load_id, current[0])
    if current:
        return LoadResult(dropped.shown, extract.name, dropped.period_year, "unchanged", load_id,
                          message_zh=f"与已入库文件 {current[0]} 内容相同，跳过。",
                          message_en=f"Same content as the loaded file {current[0]}; skipped.")
    other = con.execute(
        "SELECT source_file, extract, period_year FROM audit.file_loads WHERE sha256 = ? AND is_current "
        "AND NOT (extract = ? AND period_year IS NOT DISTINCT FROM ? AND source_department IS NOT DISTINCT FROM ?)",
        [sha, extract.name, dropped.period_year, dropped.source_department],
    ).fetchone()

    matcher = header_matcher(extract)
    try:
        try:
            # A file identical to another period's is rejected whole, unless it is a small form: count its
            # rows first (forms are a few hundred rows at most, so reading one twice costs nothing).
            small_form = (other is not None and extract.name in SAME_CONTENT_EXTRACTS
                          and _count_rows(dropped, matcher) < SAME_CONTENT_MAX_ROWS)
            with _opened(dropped, matcher, ahead) as opened:
                mapping = map_headers(extract, opened.header)
                unknown = [redact_identifiers(h) for h in mapping.unknown]
                whole = None  # (rule_id, zh, en, value) when the file is rejected as a whole
                if other and not small_form:
                    zh = f"整份文件与 {other[0]} 完全相同，可能报错了年份或文件名，未入库。"
                    en = f"Identical to {other[0]} (already loaded for another period); not loaded."
                    whole = ("duplicate_file", zh, en, other[0])
                elif mapping.missing_required:
                    whole = ("missing_required_column", *_missing_columns_message(mapping, unknown, opened.header_row),
                             ", ".join(mapping.missing_required))
                rows_read, slices = _stage(con, dropped, contracts, opened, mapping, whole, other,
                                           ahead.rules if ahead else None)
                if rows_read == 0:
                    raise opened.header_only_error()
                facts = _ReadFacts(opened.encoding, opened.file_format, rows_read, opened.sheet_name)
                notes = list(opened.notes)
        except ExtractFileError as err:
            return _record_file_rejection(con, dropped, contracts, sha, load_id, err.rule_id, err.message_zh,
                                          err.message_en, err.line)
        if whole:
            return _reject_all_rows(con, dropped, contracts, facts, sha, load_id, slices, *whole)
        return _replace_partition(con, dropped, contracts, hmac_key, sha, load_id, facts, slices, mapping, unknown,
                                  notes, other)
    finally:
        _drop_staging(con)


@contextmanager
def _opened(dropped: DroppedFile, matcher, ahead: ReadAhead | None) -> Iterator[OpenedTable]:
    """The file as read ahead, or opened now."""
    if ahead is not None and ahead.opened is not None:
        yield ahead.opened
        return
    with open_table(dropped.path, sheet_hint=dropped.extract.name, header_matcher=matcher) as opened:
        yield opened


def _count_rows(dropped: DroppedFile, matcher) -> int:
    """Rows read from the file (data rows and lines that are not rows), one batch at a time."""
    with open_table(dropped.path, sheet_hint=dropped.extract.name, header_matcher=matcher) as opened:
        return sum(table.rows_read for table, _ in opened.batches())


def _missing_columns_message(mapping, unknown: list[str], header_row: int) -> tuple[str, str]:
    missing = ", ".join(mapping.missing_required)
    zh = f"缺少必需列：{missing}（表头可用英文或中文，见数据报送模板），整份文件未入库。"
    en = f"Missing required column(s): {missing}; the whole file was rejected."
    if unknown:
        shown = "、".join(f"“{h[:30]}”" for h in unknown[:10])
        zh += f"表头中未识别的列：{shown}（是否改了列名？）"
        en += " Unrecognised header(s): " + ", ".join(f"'{h[:30]}'" for h in unknown[:10]) + " (renamed?)"
    if header_row != 1:
        zh += f"（表头在第{header_row}行）"
        en += f" (header on row {header_row})"
    return zh, en


def _stage(con, dropped: DroppedFile, contracts: Contracts, opened: OpenedTable, mapping, whole, other,
           rules_ahead: list | None = None) -> tuple[int, list[str]]:
    """Read the file batch by batch into the staging tables; return the rows read and the slices
    (`_slices`) in which the raw and audit tables are to be filled.

    A file rejected as a whole (`whole`) only has its row numbers staged (in STAGING_ROWS). Otherwise
    the row rules run on each batch, every row (quarantined or not: the whole-file rules compare all of
    them) is staged with its typed values, and the batch's findings go into STAGING_ISSUES.
    """
    extract = dropped.extract
    _drop_staging(con)
    con.execute(f"CREATE TEMP TABLE {STAGING_ISSUES} ({ROW} BIGINT, column_name VARCHAR, rule_id VARCHAR, "
                "value VARCHAR, action VARCHAR)")
    rows_read, first, cuts, since_cut = 0, True, [], 0
    for i, (table, _is_last) in enumerate(opened.batches()):
        if since_cut >= SLICE_ROWS and table.rows_read:
            cuts.append(min(part[ROW].min() for part in (table.rows, table.rejected_lines) if part.height))
            since_cut = 0
        rows_read += table.rows_read
        since_cut += table.rows_read
        if whole:
            lines = pl.concat([table.rows.select(ROW), table.rejected_lines.select(ROW)]).sort(ROW)
            _append(con, STAGING_ROWS, lines, ROW, create=first)
        else:
            result = (rules_ahead[i] if rules_ahead is not None
                      else apply_rules(extract, table, mapping, contracts, dropped.period_year))
            issues = _with_reader_issues(result.issues, table, mapping)
            if other:  # a small department form may repeat another period's figures: loaded, every row flagged
                issues = pl.concat([issues, table.rows.select(
                    pl.col(ROW), pl.lit("*").alias("column_name"), pl.lit("same_content_as_other_period").alias("rule_id"),
                    pl.lit(other[0]).alias("value"), pl.lit("flag").alias("action"),
                ).cast(issues.schema)])
            rows = pl.concat([result.typed, result.file_inputs], how="horizontal")
            _append(con, STAGING_ROWS, rows, staging_select(extract), create=first)
            _append(con, STAGING_ISSUES, issues, _ISSUE_COLUMNS)
            del result, issues, rows
        first = False
        del table  # the next batch is read only once this one is released
    return rows_read, _slices(cuts)


def _slices(cuts: list[int]) -> list[str]:
    """Predicates on the row number, one a slice, together covering every row once, in file order:
    below the first cut, from each cut to the next, from the last cut on."""
    if not cuts:
        return ["TRUE"]
    return ([f"{ROW} < {cuts[0]:d}"]
            + [f"{ROW} >= {low:d} AND {ROW} < {high:d}" for low, high in zip(cuts, cuts[1:])]
            + [f"{ROW} >= {cuts[-1]:d}"])


def _append(con, target: str, frame: pl.DataFrame, select: str, create: bool = False) -> None:
    """Insert `SELECT <select>` of `frame` into the TEMP table `target` (created from it if `create`)."""
    con.register(_BATCH, frame.to_arrow())
    try:
        if create:
            con.execute(f"CREATE TEMP TABLE {target} AS SELECT {select} FROM {_BATCH}")
        else:
            con.execute(f"INSERT INTO {target} SELECT {select} FROM {_BATCH}")
    finally:
        con.unregister(_BATCH)


def _drop_staging(con) -> None:
    for name in (STAGING_ROWS, STAGING_ISSUES, STAGING_INVALID):
        con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")


def _replace_partition(con, dropped: DroppedFile, contracts: Contracts, hmac_key: bytes, sha: str, load_id: str,
                       facts: _ReadFacts, slices: list[str], mapping, unknown: list[str], notes: list[str],
                       other) -> LoadResult:
    """All batches are staged: run the whole-file rules, then replace the partition in one transaction."""
    extract = dropped.extract
    con.execute(f"INSERT INTO {STAGING_ISSUES} {file_rule_issues_sql(extract, STAGING_ROWS)}")
    _exclude_fields(con, extract)
    if unknown:
        notes.append("ignored columns: " + ", ".join(unknown))
    if mapping.missing_optional:
        notes.append("absent optional columns: " + ", ".join(mapping.missing_optional))
    if other:
        notes.append(f"same content as {other[0]} (another period): loaded, rows flagged")
    if mapping.duplicated:
        notes.append("duplicate header(s) ignored: " + ", ".join(redact_identifiers(h) for h in mapping.duplicated))
    _pseudonymise_text_columns(con, extract, hmac_key)

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {extract.raw_table} WHERE {_partition_where(dropped)[0]}", _partition_where(dropped)[1])
        for where in slices:
            kept = (f"(SELECT s.*, coalesce(v._invalid_fields, []::VARCHAR[]) AS _invalid_fields "
                    f"FROM {STAGING_ROWS} s LEFT JOIN {STAGING_INVALID} v USING ({ROW}) WHERE {where} AND {ROW} NOT IN "
                    f"(SELECT {ROW} FROM {STAGING_ISSUES} WHERE action = 'quarantine' AND {where}))")
            _insert_rows(con, extract, dropped, sha, load_id, hmac_key, kept)
        cross = _cross_file_duplicates(con, extract, load_id)
        if cross.height:
            _append(con, STAGING_ISSUES, cross, _ISSUE_COLUMNS)
        quarantined, flagged = con.execute(
            f"SELECT count(DISTINCT {ROW}) FILTER (WHERE action = 'quarantine'), "
            f"count(DISTINCT {ROW}) FILTER (WHERE action <> 'quarantine') FROM {STAGING_ISSUES}"
        ).fetchone()
        loaded = con.execute(f"SELECT count(*) FROM {extract.raw_table} WHERE _load_id = ?", [load_id]).fetchone()[0]
        if loaded + quarantined != facts.rows_read:
            raise AssertionError(
                f"{dropped.shown}: row accounting broken: read {facts.rows_read}, loaded {loaded}, quarantined {quarantined}"
            )
        for table in ("audit.quarantine", "audit.row_flags"):  # from an earlier load of the same bytes
            con.execute(f"DELETE FROM {table} WHERE load_id = ?", [load_id])
        _write_issues(con, STAGING_ISSUES, dropped, load_id, slices)
        status_zh = f"已入库 {loaded} 行，隔离 {quarantined} 行。"
        status_en = f"Loaded {loaded} rows, quarantined {quarantined}."
        _write_ledger(con, dropped, contracts, sha, load_id, facts, loaded, quarantined, flagged, "loaded",
                      status_zh, status_en, notes)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    by_rule = dict(con.execute(
        f"SELECT rule_id, count(*) FROM {STAGING_ISSUES} WHERE action = 'quarantine' GROUP BY rule_id").fetchall())
    return LoadResult(dropped.shown, extract.name, dropped.period_year, "loaded", load_id, facts.rows_read,
                      loaded, quarantined, flagged, status_zh, status_en, by_rule)


# DuckDB pre-filter of the values that may hold an ID-shaped substring (idnumber._ID_SHAPED_HINT)
_ID_HINT_SQL = r"[0-9]{15}|[0-9]\.[0-9]{5,}[Ee]"


def _pseudonymise_text_columns(con, extract: Extract, key: bytes) -> None:
    """Free-text columns (contract type `string`: record numbers such as a 学籍号 'G' + ID number, school
    codes, cause codes) keep no ID number: each ID-shaped substring of a staged value is replaced by its
    keyed pseudonym (idnumber.pseudonymise_id_substrings), deterministically, so a 学籍号 is the same in every
    year's file and in every extract that carries it. Done on the distinct candidate values only (a cheap
    regex in DuckDB finds them), before the rows are inserted into the raw table."""
    for col in extract.columns:
        if col.type != "string":
            continue
        name = _ident_sql(col.name)
        values = [v for (v,) in con.execute(
            f"SELECT DISTINCT {name} FROM {STAGING_ROWS} WHERE regexp_matches({name}, ?)", [_ID_HINT_SQL]).fetchall()]
        pairs = [(v, idnumber.pseudonymise_id_substrings(v, key)) for v in values]
        pairs = [(old, new) for old, new in pairs if new != old]
        if not pairs:
            continue
        frame = pl.DataFrame({"old": [p[0] for p in pairs], "new": [p[1] for p in pairs]})
        con.register("_ingest_pseudonyms", frame.to_arrow())
        try:
            con.execute(f"UPDATE {STAGING_ROWS} SET {name} = m.new FROM _ingest_pseudonyms m WHERE {name} = m.old")
        finally:
            con.unregister("_ingest_pseudonyms")


def _ident_sql(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _exclude_fields(con, extract: Extract) -> None:
    """A quarantine finding on a column that is not row-critical blanks that field instead of keeping the
    row out (action `exclude_field`, see rule_texts); STAGING_INVALID lists each such row's blanked fields.

    dates_out_of_order names the later date, but either date may be the wrong one: both are blanked.
    """
    fields = [c.name for c in extract.field_columns]
    if not fields:
        con.execute(f"CREATE TEMP TABLE {STAGING_INVALID} ({ROW} BIGINT, _invalid_fields VARCHAR[])")
        return
    names = ", ".join(_sql_text(f) for f in fields)
    row_rules = ", ".join(_sql_text(r) for r in sorted(ROW_RULES))
    con.execute(f"UPDATE {STAGING_ISSUES} SET action = 'exclude_field' WHERE action = 'quarantine' "
                f"AND column_name IN ({names}) AND rule_id NOT IN ({row_rules})")
    pairs = [(first, second) for first, second in extract.date_order
             if not extract.column(first).is_row_critical]
    earlier = ""
    if pairs:
        values = ", ".join(f"({_sql_text(second)}, {_sql_text(first)})" for first, second in pairs)
        earlier = (f"UNION SELECT i.{ROW}, p.first FROM {STAGING_ISSUES} i JOIN (VALUES {values}) AS p(second, first) "
                   "ON i.column_name = p.second WHERE i.rule_id = 'dates_out_of_order' AND i.action = 'exclude_field'")
    con.execute(
        f"CREATE TEMP TABLE {STAGING_INVALID} AS SELECT {ROW}, list(DISTINCT field ORDER BY field) AS _invalid_fields "
        f"FROM (SELECT {ROW}, column_name AS field FROM {STAGING_ISSUES} WHERE action = 'exclude_field' {earlier}) "
        f"GROUP BY {ROW}")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _with_reader_issues(issues: pl.DataFrame, table: RawTable, mapping) -> pl.DataFrame:
    """Add the reader's findings: lines that are not rows (quarantined) and findings on kept rows.

    A cell finding (formula without value, error cell, filled merged cell) counts only in a
    column the contract uses; it is reported under the contract's column name.
    """
    actions = {rid: spec[0] for rid, spec in RULES.items()}
    parts = [issues]
    if table.rejected_lines.height:
        parts.append(table.rejected_lines.select(
            pl.col(ROW), pl.lit("*").alias("column_name"), "rule_id", "value",
            pl.col("rule_id").replace_strict(actions, default="quarantine", return_dtype=pl.String).alias("action"),
        ))
    if table.row_issues.height:
        column_of = {f: c for c, f in mapping.field_of.items()}
        found = table.row_issues.with_columns(
            pl.col("field").replace_strict(column_of, default=None, return_dtype=pl.String).alias("column_name")
        ).filter(pl.col("field").is_null() | pl.col("column_name").is_not_null())
        parts.append(found.select(
            pl.col(ROW), pl.col("column_name").fill_null("*"), "rule_id", "value",
            pl.col("rule_id").replace_strict(actions, default="quarantine", return_dtype=pl.String).alias("action"),
        ))
    if len(parts) == 1:
        return issues
    return pl.concat([p.select(issues.columns).cast(issues.schema) for p in parts]).sort(ROW, "rule_id")


def _insert_rows(con, extract: Extract, dropped: DroppedFile, sha: str, load_id: str, key: bytes, source: str) -> None:
    """Insert the rows of `source` (a relation with ROW and the typed columns) into the raw table,
    ID numbers pseudonymised on the way in."""
    ipad, opad = idnumber.hmac_parts(key)
    select = []
    for col in extract.columns:
        value = f'"{col.name}"'
        if not col.is_row_critical:  # a field blanked for a defect is stored NULL (never the bad value)
            value = f"CASE WHEN list_contains(_invalid_fields, {_sql_text(col.name)}) THEN NULL ELSE {value} END"
        if col.type == "id_number":
            select.append(f'{idnumber.hmac_sql(value)} AS "{col.stored_name}"')
        else:
            select.append(f'CAST({value} AS {col.storage_type}) AS "{col.stored_name}"')
    select += ["_invalid_fields",
        "$load_id AS _load_id", "$source_file AS _source_file", "$sha AS _source_sha256",
        f"{ROW} AS _row_number", "$period_year::INTEGER AS _period_year", "$source_department AS _source_department",
    ]
    params = {"load_id": load_id, "source_file": dropped.shown, "sha": sha,
              "period_year": dropped.period_year, "source_department": dropped.source_department}
    if any(col.type == "id_number" for col in extract.columns):
        params |= {"ipad": ipad, "opad": opad}  # DuckDB refuses named parameters the SQL does not use
    con.execute(
        f"INSERT INTO {extract.raw_table} BY NAME SELECT {', '.join(select)} FROM {source} ORDER BY {ROW}",
        params,
    )


def _cross_file_duplicates(con, extract: Extract, load_id: str) -> pl.DataFrame:
    """Event records (a birth, a death) may be reported in one period only: later copies are quarantined."""
    if not extract.unique_across_years:
        return pl.DataFrame()
    # A key part blanked on both rows for a defect (an invalid victim ID number) matches: the other key
    # parts (the case id) name the record, and a repeat report usually repeats the same bad ID. (The
    # bad ID itself is not kept, so two different victims of one case, both with bad IDs, would be
    # taken as one: rarer than the repeat.)
    parts = []
    for k in extract.unique_key:
        col = extract.column(k)
        same = f'n."{col.stored_name}" = o."{col.stored_name}"'
        if not col.is_row_critical:
            same = (f"({same} OR (list_contains(n._invalid_fields, {_sql_text(k)}) "
                    f"AND list_contains(o._invalid_fields, {_sql_text(k)})))")
        parts.append(same)
    join = " AND ".join(parts)
    rows = _frame(con,
        f"""SELECT n._row_number, min(o._source_file) AS other FROM {extract.raw_table} n
            JOIN {extract.raw_table} o ON {join} AND o._load_id <> n._load_id
            WHERE n._load_id = ? GROUP BY n._row_number""",
        [load_id],
    )
    if rows.height == 0:
        return pl.DataFrame()
    con.execute(
        f"DELETE FROM {extract.raw_table} WHERE _load_id = ? AND _row_number IN (SELECT unnest(?))",
        [load_id, rows["_row_number"].to_list()],
    )
    return rows.select(
        pl.col("_row_number").alias(ROW),
        pl.lit(",".join(extract.unique_key)).alias("column_name"),
        pl.lit("duplicate_across_files").alias("rule_id"),
        pl.col("other").alias("value"),
        pl.lit("quarantine").alias("action"),
    )


def _write_issues(con, source: str, dropped: DroppedFile, load_id: str, slices: list[str] = ("TRUE",),
                  extra: dict | None = None) -> None:
    """Findings of `source` (a relation: _row_number, column_name, rule_id, value, action) into the audit
    tables, slice by slice (`_slices`)."""
    texts = pl.DataFrame(
        {"rule_id": list(RULES), "reason_zh": [v[1] for v in RULES.values()], "reason_en": [v[2] for v in RULES.values()]}
    )
    con.register("incoming_rule_texts", texts.to_arrow())
    try:
        params = {"load_id": load_id, "extract": dropped.extract.name, "department": dropped.extract.department,
                  "period_year": dropped.period_year, "source_file": dropped.shown, **(extra or {})}
        # A blanked field's finding says so (the rule's own text is about the value).
        enriched = (f"(SELECT i.*, CASE WHEN i.action = 'exclude_field' THEN t.reason_zh || {_sql_text(EXCLUDE_FIELD_ZH)} "
                    f"ELSE t.reason_zh END AS reason_zh, CASE WHEN i.action = 'exclude_field' THEN t.reason_en || ' ' || "
                    f"{_sql_text(EXCLUDE_FIELD_EN)} ELSE t.reason_en END AS reason_en "
                    f"FROM {source} i LEFT JOIN incoming_rule_texts t USING (rule_id))")
        common = ("$load_id, $extract, $department, $period_year::INTEGER, $source_file, "
                  f"{ROW}, column_name, rule_id")
        for where in slices:
            con.execute(
                f"INSERT INTO audit.quarantine SELECT {common}, reason_zh, reason_en, value FROM {enriched} "
                f"WHERE action = 'quarantine' AND {where} ORDER BY {ROW}, rule_id", params)
            con.execute(
                f"INSERT INTO audit.row_flags SELECT {common}, action, reason_zh, reason_en, value FROM {enriched} "
                f"WHERE action <> 'quarantine' AND {where} ORDER BY {ROW}, rule_id", params)
    finally:
        con.unregister("incoming_rule_texts")


def _size(dropped: DroppedFile) -> int | None:
    try:
        return dropped.path.stat().st_size
    except OSError:
        return None


def _write_ledger(con, dropped, contracts, sha, load_id, facts: _ReadFacts | None, loaded, quarantined, flagged,
                  status, zh, en, notes) -> None:
    if status == "loaded":
        # The same bytes loaded earlier (since superseded, rejected or left out) have the same load_id:
        # one ledger row per load_id, the current one.
        con.execute("DELETE FROM audit.file_loads WHERE load_id = ? AND NOT is_current", [load_id])
        where, params = _ledger_partition_where(dropped)
        con.execute(f"UPDATE audit.file_loads SET is_current = FALSE, status = 'superseded' WHERE {where} AND is_current", params)
    con.execute(
        "INSERT INTO audit.file_loads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [load_id, dropped.extract.name if dropped.extract else None,
         dropped.extract.department if dropped.extract else dropped.path.parent.name,
         dropped.source_department, dropped.period_year, dropped.shown, sha, _size(dropped),
         facts.encoding if facts else None, facts.file_format if facts else None,
         facts.rows_read if facts else 0, loaded, quarantined, flagged, status, status == "loaded",
         zh, en, json.dumps(notes, ensure_ascii=False) if notes else None, contracts.version,
         dt.datetime.now().replace(microsecond=0), facts.sheet_name if facts else None],
    )


def _record_file_rejection(con, dropped, contracts, sha, load_id, rule_id, zh, en, line: int | None = None) -> LoadResult:
    """The file could not be read as a table at all: ledger row only, no rows to account for. The notes
    hold the rule and, where one line is at fault, `line N` (blocking_findings.py shows it)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM audit.file_loads WHERE load_id = ? AND status = 'rejected'", [load_id])
        notes = [rule_id, *([f"line {line}"] if line is not None else [])]
        _write_ledger(con, dropped, contracts, sha, load_id, None, 0, 0, 0, "rejected", zh, en, notes)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadResult(dropped.shown, dropped.extract.name, dropped.period_year, "rejected", load_id,
                      message_zh=zh, message_en=en)


def _reject_all_rows(con, dropped, contracts, facts: _ReadFacts, sha, load_id, slices, rule_id, zh, en, value,
                     ) -> LoadResult:
    """The file is readable but unusable as a whole: every row (staged in STAGING_ROWS) is quarantined,
    the partition is untouched."""
    issues = (f"(SELECT {ROW}, '*' AS column_name, $rule_id AS rule_id, $value AS value, 'quarantine' AS action "
              f"FROM {STAGING_ROWS})")
    quarantined = con.execute(f"SELECT count(*) FROM {STAGING_ROWS}").fetchone()[0]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM audit.quarantine WHERE load_id = ?", [load_id])
        con.execute("DELETE FROM audit.file_loads WHERE load_id = ? AND status = 'rejected'", [load_id])
        _write_issues(con, issues, dropped, load_id, slices, {"rule_id": rule_id, "value": str(value)})
        _write_ledger(con, dropped, contracts, sha, load_id, facts, 0, quarantined, 0, "rejected", zh, en, [rule_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadResult(dropped.shown, dropped.extract.name, dropped.period_year, "rejected", load_id,
                      facts.rows_read, 0, quarantined, 0, zh, en, {rule_id: quarantined})


def _still_there(dropped: DroppedFile, other_relative: str) -> bool:
    """Is the file loaded as `other_relative` still in the raw folder (else this one is just a rename)?"""
    raw_root = dropped.path
    for _ in dropped.relative.split("/"):
        raw_root = raw_root.parent
    other = raw_root / other_relative
    return other.exists() and other.resolve().is_relative_to(raw_root.resolve())


def _record_duplicate_name(con, dropped: DroppedFile, contracts, sha, load_id, loaded_as: str) -> LoadResult:
    """The same bytes are already current for this partition under another name: record, do not reload."""
    zh = f"与已入库文件 {loaded_as} 内容完全相同（同一文件重复报送），未重复入库。"
    en = f"Identical to the loaded file {loaded_as} (the same file sent twice); not loaded again."
    dup_id = f"{load_id}-dup-{hashlib.sha256(dropped.relative.encode('utf-8')).hexdigest()[:8]}"
    exists = con.execute("SELECT 1 FROM audit.file_loads WHERE load_id = ?", [dup_id]).fetchone()
    if not exists:
        _write_ledger(con, dropped, contracts, sha, dup_id, None, 0, 0, 0, "duplicate_file", zh, en,
                      [f"duplicate_file: same content as {loaded_as}"])
    return LoadResult(dropped.shown, dropped.extract.name, dropped.period_year, "duplicate_file", dup_id,
                      message_zh=zh, message_en=en)


SUPERSEDED_NOTE = "superseded_by: "  # ledger note of a file left out for a newer one (feedback.py lists those)


def record_superseded(con, older: DroppedFile, newer: DroppedFile, sha: str, contracts: Contracts) -> LoadResult:
    """`older` is not used: `newer`, for the same extract and period, was received later (file_choice.py).

    Its ledger row (the one of its earlier load, or a new one with no rows) becomes `superseded` with
    the reason. Idempotent: a rerun with the same files writes nothing. If `newer` could not be loaded
    and `older` is still current, the partition keeps `older`'s rows and nothing is marked.
    """
    load_id = make_load_id(older, sha)
    where, params = _ledger_partition_where(older)
    if con.execute(f"SELECT 1 FROM audit.file_loads WHERE {where} AND is_current AND sha256 = ?",
                   [*params, sha]).fetchone():
        zh = f"同一报送期较新的文件 {newer.shown} 未能入库（见该文件的说明），本报送期仍使用本文件的数据。"
        en = f"The newer file {newer.shown} for the same period could not be loaded (see its message); this file's rows stay current."
        return LoadResult(older.shown, older.extract.name, older.period_year, "unchanged", load_id,
                          message_zh=zh, message_en=en)
    zh = f"同一报送期另有更新的文件 {newer.shown}（接收时间较晚），本文件未采用。"
    en = (f"A newer file for the same extract and period, {newer.shown} (received later), is used instead; "
          "this file was not loaded.")
    note = SUPERSEDED_NOTE + newer.shown
    rows = con.execute(
        "SELECT status, notes FROM audit.file_loads WHERE load_id = ? AND source_file = ? AND status IN ('superseded', 'rejected')",
        [load_id, older.shown]).fetchall()
    if rows:
        if all(status == "superseded" and note in json.loads(notes or "[]") for status, notes in rows):
            pass  # recorded by an earlier run
        else:
            kept = [n for n in json.loads(rows[0][1] or "[]") if not str(n).startswith(SUPERSEDED_NOTE)]
            con.execute(
                "UPDATE audit.file_loads SET status = 'superseded', is_current = FALSE, message_zh = ?, message_en = ?, "
                "notes = ? WHERE load_id = ? AND source_file = ? AND status IN ('superseded', 'rejected')",
                [zh, en, json.dumps([note, *kept], ensure_ascii=False), load_id, older.shown])
    else:
        _write_ledger(con, older, contracts, sha, load_id, None, 0, 0, 0, "superseded", zh, en, [note])
    return LoadResult(older.shown, older.extract.name, older.period_year, "superseded", load_id,
                      message_zh=zh, message_en=en)


def record_unrecognised(con, dropped: DroppedFile, contracts: Contracts) -> LoadResult:
    if dropped.blocked:
        # Never open it: a link may point anywhere on the machine.
        sha, size = None, None
        key = hashlib.sha256(dropped.relative.encode("utf-8")).hexdigest()
        zh = f"{dropped.shown} 是指向报送目录之外（或不存在）的链接，出于安全未读取；请把文件本身放入报送目录。"
        en = f"{dropped.shown} is a link to a place outside MONITOR_RAW_DIR (or to nothing); not read, for safety."
    else:
        try:
            sha = key = sha256_of(dropped.path)
        except OSError:  # vanished or unreadable since it was listed
            sha, key = None, hashlib.sha256(dropped.relative.encode("utf-8")).hexdigest()
        size = _size(dropped)
        zh = (f"文件名 {dropped.shown} 不符合报送模板（应为 <部门>/<报表>_<年份>.csv 或 .xlsx），未处理。")
        en = f"File name {dropped.shown} matches no template (<department>/<extract>_<YYYY>.csv|xlsx); not processed."
    exists = con.execute(
        "SELECT 1 FROM audit.file_loads WHERE sha256 IS NOT DISTINCT FROM ? AND source_file = ? AND status = 'unrecognised'",
        [sha, dropped.shown],
    ).fetchone()
    if not exists:
        con.execute(
            "INSERT INTO audit.file_loads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [f"unrecognised-{key[:12]}", None, redact_identifiers(dropped.path.parent.name), None, None, dropped.shown, sha,
             size, None, None, 0, 0, 0, 0, "unrecognised", False, zh, en,
             json.dumps([dropped.blocked]) if dropped.blocked else None,
             contracts.version, dt.datetime.now().replace(microsecond=0), None],
        )
    return LoadResult(dropped.shown, None, None, "unrecognised", None, message_zh=zh, message_en=en)
