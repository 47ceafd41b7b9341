"""The pipeline's work done as plain DuckDB SQL: the yardstick of bench/run_benchmark.py.

    .venv/bin/python bench/duckdb_reference.py --raw DIR --workdir DIR --compiled MANIFEST.json
                                               [--project DIR] [--key HEX]

Same inputs, same kind of work, no framework: no Dagster, no dbt runner, no Great Expectations,
no polars. Stages (each printed as one JSON line `{"stage": ..., "start": ..., "end": ..., ...}`):

* ingest  - every department file read with DuckDB's `read_csv` (all text; malformed lines go to
            DuckDB's reject table; GB18030 files are transcoded to UTF-8 first, XLSX files read with
            fastexcel, as DuckDB's excel extension cannot be installed offline), every row rule of the
            contract written as a SQL predicate (required, numbers and ranges, date formats, code
            lists, township/area/committee codes, ID number format, check digit and birth date,
            sex/birth date against the ID, date order, duplicate rows and keys, records already
            reported in another file), ID numbers replaced by the same HMAC-SHA256 in SQL, good rows
            inserted into `raw.<extract>`, findings into `audit.quarantine` / `audit.row_flags`.
* gate    - every rule of the Great Expectations suites (expectations/*/*.json) as a SQL predicate:
            one scan per table counting each rule's failures (`count(*) FILTER (WHERE ...)`), one
            GROUP BY per uniqueness rule, the per-year aggregates of the period rules, the column set.
* dbt     - the dbt project's seeds loaded with `read_csv`, then every model's SQL as compiled by dbt
            (`dbt compile`, done before timing) executed as CREATE VIEW / CREATE TABLE in dependency
            order, then every data test that a pipeline run executes (those whose models all build in
            one step) as `SELECT count(*) FROM (<test>)`.
* exports - the published database (marts and audit tables copied into monitoring.duckdb), the
            indicator values with their dimensions as CSV and Parquet, the latest year as the
            provincial submission (CSV, Parquet), and one feedback CSV per department of its
            quarantined rows.

It is a yardstick, not a second implementation: header detection and separator sniffing reuse the
pipeline's small helpers (ten lines per file), Unicode NFKC folding is reduced to full-width ASCII
and the ideographic space, row numbers are positions in the file after its header, and XLSX output
is written as CSV.
"""
from __future__ import annotations

import argparse
import codecs
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def emit(stage: str, start: float, end: float, **extra) -> None:
    print(json.dumps({"stage": stage, "start": start, "end": end, **extra}), flush=True)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


# ------------------------------------------------------------------------------------------ ingest
FULLWIDTH_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
FULLWIDTH_TO = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " "
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
TRUE_WORDS = ("是", "y", "yes", "true", "1", "有", "t")
FALSE_WORDS = ("否", "n", "no", "false", "0", "无", "f")
SEX_WORDS = {"1": "1", "2": "2", "0": "0", "9": "9", "男": "1", "女": "2", "m": "1", "f": "2", "未知": "0", "未说明": "9"}
RESIDENCE_WORDS = {"城镇": "urban", "乡村": "rural", "城": "urban", "乡": "rural", "农村": "rural", "urban": "urban", "rural": "rural"}


def sql_map(mapping: dict[str, str]) -> str:
    if not mapping:
        return "MAP {}::MAP(VARCHAR, VARCHAR)"
    return "MAP {" + ", ".join(f"{lit(k.lower())}: {lit(v)}" for k, v in mapping.items()) + "}"


def check_char_sql(first17: str) -> str:
    total = " + ".join(f"{w} * TRY_CAST(substr({first17}, {i + 1}, 1) AS INTEGER)" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('10X98765432', (({total}) % 11) + 1, 1)"


def utf8_copy(path: Path, tmp: Path) -> Path:
    """The file itself if it is UTF-8 (with or without BOM), else a UTF-8 copy (GB18030 / UTF-16)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        decoder = codecs.getincrementaldecoder("utf-8")()
        encoding = "utf-8"
        with path.open("rb") as fh:
            try:
                while chunk := fh.read(16 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "gb18030"
    if encoding == "utf-8":
        return path
    out = tmp / (path.stem + ".utf8.csv")
    with path.open("r", encoding=encoding, errors="replace", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(8 << 20):
            dst.write(chunk)
    return out


def header_of(path: Path, extract) -> tuple[int, str, list[str]]:
    """(last header row, separator, header texts) from the first lines, as the pipeline finds them."""
    from dagster_project.ingest.headers import header_matcher
    from dagster_project.ingest.reader import CANDIDATE_SEPARATORS, HEADER_SCAN_ROWS, _choose_header

    grid, seps = [], {}
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            sep = max(CANDIDATE_SEPARATORS, key=line.count)
            cells = next(csv.reader([line.rstrip("\r\n")], delimiter=sep), [])
            grid.append((number, [c.strip() for c in cells]))
            seps[number] = sep
            if len(grid) > HEADER_SCAN_ROWS:
                break
    _, last, header = _choose_header(grid, header_matcher(extract), ffill_upper=True)
    return last, seps[last], [h.replace("\ufeff", "") for h in header]


def xlsx_relation(con, path: Path, extract, name: str) -> tuple[str, list[str], int]:
    """Register the workbook's sheet (strings) as a DuckDB view; returns (view, header, header row)."""
    import fastexcel

    from dagster_project.ingest.headers import header_matcher
    from dagster_project.ingest.reader import _choose_header, choose_sheet

    reader = fastexcel.read_excel(str(path))
    names = list(reader.sheet_names)
    sheet = choose_sheet(names, set(), extract.name, path.stem)
    table = reader.load_sheet(sheet, header_row=None, dtypes="string").to_arrow()
    con.register(name + "_arrow", table)
    first = con.execute(f"SELECT * FROM {name}_arrow LIMIT 11").fetchall()
    grid = [(i + 1, ["" if v is None else str(v).strip() for v in row]) for i, row in enumerate(first)]
    _, last, header = _choose_header(grid, header_matcher(extract), ffill_upper=False)
    cols = table.column_names
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(f'{q(c)} AS c{i}' for i, c in enumerate(cols))}, "
                f"row_number() OVER () AS _row_number FROM {name}_arrow")
    return name, header, last


def ingest(con, raw_dir: Path, contracts, key: bytes, tmp: Path) -> int:
    from dagster_project.contracts import area_codes, township_codes
    from dagster_project.ingest.discovery import discover, sha256_of
    from dagster_project.ingest.headers import map_headers
    from dagster_project.ingest.idnumber import hmac_parts
    from dagster_project.ingest.rule_texts import RULES

    con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS audit")
    for extract in contracts.extracts.values():
        con.execute(extract.ddl())
    con.execute("CREATE TABLE IF NOT EXISTS audit.quarantine (extract VARCHAR, department VARCHAR, period_year INTEGER, "
                "source_file VARCHAR, row_number BIGINT, column_name VARCHAR, rule_id VARCHAR, action VARCHAR, load_id VARCHAR, "
                "reason_zh VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS audit.row_flags AS SELECT * FROM audit.quarantine LIMIT 0")
    con.execute("CREATE TABLE IF NOT EXISTS audit.file_loads (source_file VARCHAR, extract VARCHAR, period_year INTEGER, "
                "rows_read BIGINT, rows_loaded BIGINT, rows_rejected_lines BIGINT, source_department VARCHAR, "
                "status VARCHAR, is_current BOOLEAN, load_id VARCHAR, department VARCHAR, rows_quarantined BIGINT, "
                "rows_flagged BIGINT)")
    # the dbt models read the gate's verdicts (gated_source); the reference runs no gate, so none fails
    con.execute("CREATE TABLE IF NOT EXISTS audit.gate_verdicts (extract VARCHAR, period_year INTEGER, "
                "passed_blocking BOOLEAN, failed_rules VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE township_codes AS SELECT unnest(?::VARCHAR[]) AS code", [sorted(township_codes())])
    con.execute("CREATE OR REPLACE TEMP TABLE area_codes AS SELECT unnest(?::VARCHAR[]) AS code", [sorted(area_codes())])
    actions = {rid: spec[0] for rid, spec in RULES.items()}
    ipad, opad = hmac_parts(key)
    total_rows = 0

    for n, dropped in enumerate(discover(raw_dir, contracts)):
        extract = dropped.extract
        if extract is None or dropped.blocked:
            continue
        file_started = time.time()
        sha = sha256_of(dropped.path)
        name = f"src_{n}"
        if dropped.path.suffix.lower() == ".xlsx" or dropped.path.read_bytes()[:4] == b"PK\x03\x04":
            _, header, last = xlsx_relation(con, dropped.path, extract, name)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_t AS SELECT * FROM {name} WHERE _row_number > {last}")
            rejected = 0
        else:
            path = utf8_copy(dropped.path, tmp)
            last, sep, header = header_of(path, extract)
            width = len(header)
            columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name}_t AS SELECT *, row_number() OVER () + {last} AS _row_number "
                f"FROM read_csv({lit(str(path))}, delim={lit(sep)}, quote='\"', escape='\"', header=false, skip={last}, "
                f"columns={columns}, null_padding=true, strict_mode=false, ignore_errors=true, store_rejects=true, "
                f"auto_detect=false, parallel=true)"
            )
            rejected = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]
        mapping = map_headers(extract, header)
        if mapping.missing_required:
            continue
        rows_read = con.execute(f"SELECT count(*) FROM {name}_t").fetchone()[0] + rejected
        total_rows += rows_read

        # 1. normalised text per column
        norm = []
        for col in extract.columns:
            field = mapping.field_of.get(col.name)
            raw = f"c{field[1:]}" if field else "NULL::VARCHAR"
            text = (f"trim(CASE WHEN regexp_matches({raw}, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}]') "
                    f"THEN translate({raw}, {lit(FULLWIDTH_FROM)}, {lit(FULLWIDTH_TO)}) ELSE {raw} END)")
            if col.type != "string":
                text = f"regexp_replace({text}, '\\s+', '', 'g')"
            norm += [f"{raw} AS {q(col.name + '__raw')}", f"nullif({text}, '') AS {q(col.name + '__s')}"]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_n AS SELECT _row_number, {', '.join(norm)} FROM {name}_t")

        # 2. typed values and rule predicates
        typed, checks = [], []
        for col in extract.columns:
            s, raw = q(col.name + "__s"), q(col.name + "__raw")
            present = f"({s} IS NOT NULL)"
            if col.type != "string":
                checks.append(("fullwidth_characters", col.name, f"regexp_matches({raw}, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}]')"))
                checks.append(("stray_spaces", col.name, f"({raw} IS NOT NULL AND {raw} <> coalesce({s}, '') AND regexp_matches({raw}, '\\s'))"))
            if col.required:
                checks.append(("missing_required", col.name, f"{s} IS NULL"))
            if col.type == "string":
                value = s
                if col.pattern:
                    checks.append(("invalid_format", col.name, f"{present} AND NOT regexp_matches({s}, {lit(col.pattern)})"))
            elif col.type in ("integer", "decimal"):
                pattern = r"^[+-]?\d+(\.0*)?$" if col.type == "integer" else r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
                ok = f"regexp_matches({s}, {lit(pattern)})"
                number = f"TRY_CAST({s} AS DOUBLE)"
                value = f"CASE WHEN {ok} THEN TRY_CAST({number} AS {'BIGINT' if col.type == 'integer' else 'DOUBLE'}) END"
                checks.append(("invalid_number", col.name, f"{present} AND NOT {ok}"))
                if col.min is not None:
                    checks.append(("negative_value" if col.min == 0 else "out_of_range", col.name, f"{ok} AND {number} < {col.min}"))
                if col.max is not None:
                    checks.append(("out_of_range", col.name, f"{ok} AND {number} > {col.max}"))
            elif col.type == "date":
                serial = f"TRY_CAST(regexp_extract({s}, '^(\\d{{5}})(\\.0+)?$', 1) AS INTEGER)"
                text_date = (f"TRY_CAST(try_strptime(regexp_replace({s}, '[ T]00:00:00(\\.0+)?$', ''), "
                             "['%Y-%m-%d', '%Y/%m/%d', '%Y%m%d', '%Y年%m月%d日']) AS DATE)")
                value = f"CASE WHEN {serial} BETWEEN 10000 AND 80000 THEN DATE '1899-12-30' + {serial} ELSE {text_date} END"
                shape = "'^\\d{4}([-/]?\\d{1,2}[-/]?\\d{1,2}|年\\d{1,2}月\\d{1,2}日)'"
                recognised = f"(regexp_matches({s}, {shape}) OR {serial} BETWEEN 10000 AND 80000)"
                checks += [("invalid_date_format", col.name, f"{present} AND NOT {recognised}"),
                           ("impossible_date", col.name, f"{present} AND {recognised} AND ({value}) IS NULL"),
                           ("date_format_variant", col.name,
                            f"({value}) IS NOT NULL AND NOT regexp_matches({s}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}')"),
                           ("excel_serial_date", col.name, f"{serial} BETWEEN 10000 AND 80000")]
                mch = extract.period_basis == "mch_year"
                end = f"make_date({dropped.period_year or 2100}, {9 if mch else 12}, {30 if mch else 31})"
                checks.append(("future_date", col.name, f"({value}) > least({end}, current_date)"
                               if col.not_after_period_end else f"({value}) > current_date"))
            elif col.type == "bool":
                low = f"lower({s})"
                value = f"CASE WHEN {low} IN {tuple(TRUE_WORDS)} THEN TRUE WHEN {low} IN {tuple(FALSE_WORDS)} THEN FALSE END"
                checks.append(("invalid_bool", col.name, f"{present} AND ({value}) IS NULL"))
            elif col.type in ("sex", "residence", "code"):
                mapping_words = (SEX_WORDS if col.type == "sex" else RESIDENCE_WORDS if col.type == "residence"
                                 else contracts.code_list(col.code_list))
                if col.type == "sex" and col.allowed:
                    mapping_words = {k: v for k, v in mapping_words.items() if v in col.allowed}
                value = f"map_extract_value({sql_map(mapping_words)}, lower({s}))"
                rule = {"sex": "invalid_sex", "residence": "invalid_residence"}.get(col.type, "invalid_code")
                checks.append((rule, col.name, f"{present} AND ({value}) IS NULL"))
            elif col.type == "township":
                value = s
                checks.append(("unknown_township", col.name, f"{present} AND {s} NOT IN (SELECT code FROM township_codes)"))
            elif col.type == "area":
                value = s
                checks.append(("unknown_area", col.name, f"{present} AND {s} NOT IN (SELECT code FROM area_codes)"))
            elif col.type == "committee":
                value = s
                checks.append(("invalid_committee_code", col.name,
                               f"{present} AND NOT (regexp_matches({s}, '^\\d{{12}}$') AND substr({s}, 1, 9) IN (SELECT code FROM township_codes))"))
            elif col.type == "id_number":
                up = f"upper({s})"
                is18, is15 = f"regexp_matches({up}, '^\\d{{17}}[0-9X]$')", f"regexp_matches({up}, '^\\d{{15}}$')"
                first17 = f"(substr({up}, 1, 6) || '19' || substr({up}, 7, 9))"
                value = f"CASE WHEN {is18} THEN {up} WHEN {is15} THEN {first17} || {check_char_sql(first17)} END"
                mangled = f"regexp_matches({up}, '^\\d(\\.\\d+)?E\\+?\\d+$')"
                birth = f"TRY_CAST(try_strptime(substr(({value}), 7, 8), '%Y%m%d') AS DATE)"
                checks += [("id_excel_mangled", col.name, f"{present} AND {mangled}"),
                           ("id_bad_format", col.name, f"{present} AND NOT {mangled} AND NOT {is18} AND NOT {is15}"),
                           ("id_bad_checksum", col.name, f"{is18} AND {check_char_sql(up)} <> substr({up}, 18, 1)"),
                           ("id_bad_birth_date", col.name, f"({is18} OR {is15}) AND coalesce(NOT ({birth} BETWEEN DATE '1800-01-01' AND current_date), TRUE)"),
                           ("id_lowercase_x", col.name, f"{is18} AND suffix({s}, 'x')"),
                           ("id_15_digit", col.name, is15)]
            else:
                raise ValueError(col.type)
            typed.append(f"{value} AS {q(col.name)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_v AS SELECT *, {', '.join(typed)} FROM {name}_n")

        for col in extract.columns:  # across columns of a row
            if col.type == "id_number":
                id_sex = f"CASE WHEN TRY_CAST(substr({q(col.name)}, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END"
                if col.sex_column:
                    checks.append(("sex_contradicts_id", col.sex_column,
                                   f"{q(col.name)} IS NOT NULL AND {q(col.sex_column)} IN ('1', '2') AND {q(col.sex_column)} <> {id_sex}"))
                if col.expected_sex:
                    checks.append(("sex_contradicts_id", col.name, f"{q(col.name)} IS NOT NULL AND {id_sex} <> {lit(col.expected_sex)}"))
                if col.birth_date_column:
                    checks.append(("birth_date_contradicts_id", col.birth_date_column,
                                   f"{q(col.birth_date_column)} <> TRY_CAST(try_strptime(substr({q(col.name)}, 7, 8), '%Y%m%d') AS DATE)"))
        for first, second in extract.date_order:
            checks.append(("dates_out_of_order", second, f"{q(first)} > {q(second)}"))
        all_cols = ", ".join(q(c.name + "__s") for c in extract.columns)
        key_cols = ", ".join(q(k) for k in extract.unique_key)
        key_present = " AND ".join(f"{q(k)} IS NOT NULL" for k in extract.unique_key)
        checks.append(("duplicate_row", "*", f"row_number() OVER (PARTITION BY {all_cols} ORDER BY _row_number) > 1"))
        checks.append(("duplicate_key", ",".join(extract.unique_key),
                       f"row_number() OVER (PARTITION BY {key_cols} ORDER BY _row_number) > 1 AND {key_present}"))
        issue_list = "list_filter([" + ", ".join(
            f"CASE WHEN coalesce({pred}, FALSE) THEN {lit(rule + '|' + column + '|' + actions[rule])} END"
            for rule, column, pred in checks) + "], x -> x IS NOT NULL)"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_i AS SELECT *, {issue_list} AS __issues FROM {name}_v")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_f AS SELECT *, len(list_filter(__issues, x -> suffix(x, '|quarantine'))) > 0 "
                    f"AS __quarantined FROM {name}_i")

        # 3. load: replace the partition, pseudonymise, findings
        where = f"_period_year IS NOT DISTINCT FROM {lit(dropped.period_year)} AND _source_department IS NOT DISTINCT FROM {lit(dropped.source_department)}"
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {extract.raw_table} WHERE {where}")
        select = []
        for col in extract.columns:
            if col.type == "id_number":
                c = q(col.name)
                select.append(f"CASE WHEN {c} IS NULL THEN NULL ELSE sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({c})))) END "
                              f"AS {q(col.stored_name)}")
            else:
                select.append(f"CAST({q(col.name)} AS {col.storage_type}) AS {q(col.stored_name)}")
        params = {"ipad": ipad, "opad": opad} if any(c.type == "id_number" for c in extract.columns) else {}
        con.execute(
            f"INSERT INTO {extract.raw_table} BY NAME SELECT {', '.join(select)}, "
            f"{lit(dropped.relative + ':' + sha[:12])} AS _load_id, {lit(dropped.relative)} AS _source_file, {lit(sha)} AS _source_sha256, "
            f"_row_number, {lit(dropped.period_year)}::INTEGER AS _period_year, {lit(dropped.source_department)} AS _source_department "
            f"FROM {name}_f WHERE NOT __quarantined ORDER BY _row_number", params)
        if extract.unique_across_years:  # a record may be reported in one period only
            keys = " AND ".join(f"o.{q(extract.column(k).stored_name)} = d.{q(extract.column(k).stored_name)}"
                                for k in extract.unique_key)
            con.execute(f"DELETE FROM {extract.raw_table} AS d WHERE d._source_file = {lit(dropped.relative)} AND EXISTS "
                        f"(SELECT 1 FROM {extract.raw_table} AS o WHERE {keys} AND o._source_file <> d._source_file)")
        for table, wanted in (("audit.quarantine", "= 'quarantine'"), ("audit.row_flags", "<> 'quarantine'")):
            con.execute(
                f"INSERT INTO {table} SELECT {lit(extract.name)}, {lit(extract.department)}, {lit(dropped.period_year)}, "
                f"{lit(dropped.relative)}, _row_number, split_part(i, '|', 2), split_part(i, '|', 1), split_part(i, '|', 3), "
                f"{lit(dropped.relative + ':' + sha[:12])}, NULL "
                f"FROM (SELECT _row_number, unnest(__issues) AS i FROM {name}_f) WHERE split_part(i, '|', 3) {wanted}")
        loaded = con.execute(f"SELECT count(*) FROM {extract.raw_table} WHERE _source_file = ?", [dropped.relative]).fetchone()[0]
        # load_id as in the raw rows: the marts join the audit tables on it (fct_indicator_exclusions)
        load_id = dropped.relative + ":" + sha[:12]
        counted = {table: con.execute(f"SELECT count(DISTINCT row_number) FROM {table} WHERE load_id = ?", [load_id]).fetchone()[0]
                   for table in ("audit.quarantine", "audit.row_flags")}
        con.execute("INSERT INTO audit.file_loads VALUES (?, ?, ?, ?, ?, ?, ?, 'loaded', TRUE, ?, ?, ?, ?)",
                    [dropped.relative, extract.name, dropped.period_year, rows_read, loaded, rejected,
                     dropped.source_department, load_id, extract.department, counted["audit.quarantine"],
                     counted["audit.row_flags"]])
        con.execute("COMMIT")
        print(f"  {dropped.relative}: {rows_read} rows, {time.time() - file_started:.2f} s", file=sys.stderr)
        for suffix in ("_t", "_n", "_v", "_i", "_f"):
            con.execute(f"DROP TABLE IF EXISTS {name}{suffix}")
    return total_rows


# ------------------------------------------------------------------------------------------ gate
def gate(con) -> int:
    from dagster_project.contracts import load_contracts
    from dagster_project.quality.suites import load_suite, suite_parameters

    params = suite_parameters()
    violations = 0

    def resolve(v):
        if isinstance(v, dict) and set(v) == {"$PARAMETER"}:
            return params[v["$PARAMETER"]]
        return v

    for name in load_contracts().extracts:
        suite = load_suite(name)
        table = suite.raw_table
        columns = {r[0]: r[1] for r in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            table.split(".")).fetchall()}
        counts = []
        for e in suite.expectations:
            kw = {k: resolve(v) for k, v in e["kwargs"].items()}
            scope, kind = e["meta"]["scope"], e["type"]
            if scope == "schema" or kind == "expect_table_columns_to_match_set":
                expected = set(kw.get("column_set") or [a for a, _ in kw.get("value_pairs_set", [])])
                violations += len(expected ^ set(columns)) if kind == "expect_table_columns_to_match_set" else 0
                continue
            if scope == "period":
                continue
            col = q(kw["column"]) if "column" in kw else None
            cond = ""
            rc = kw.get("row_condition")
            if rc:
                cond = f" AND {q(rc['column']['name'])} IN ({', '.join(lit(v) for v in rc['parameter'])})"
            if kind == "expect_column_values_to_not_be_null":
                pred = f"{col} IS NULL"
            elif kind == "expect_column_values_to_be_in_set":
                pred = f"{col} IS NOT NULL AND NOT list_contains({lit_list(kw['value_set'])}, {col}::VARCHAR)"
            elif kind == "expect_column_values_to_be_between":
                parts = []
                if kw.get("min_value") is not None:
                    parts.append(f"{col} < {lit(kw['min_value'])}")
                if kw.get("max_value") is not None:
                    parts.append(f"{col} > {lit(kw['max_value'])}")
                pred = f"{col} IS NOT NULL AND ({' OR '.join(parts) or 'FALSE'})"
            elif kind == "expect_column_values_to_match_regex":
                pred = f"{col} IS NOT NULL AND NOT regexp_matches({col}::VARCHAR, {lit(kw['regex'])})"
            elif kind == "expect_column_values_to_not_match_regex":
                pred = f"{col} IS NOT NULL AND regexp_matches({col}::VARCHAR, {lit(kw['regex'])})"
            elif kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
                cols = kw.get("column_list") or [kw["column"]]
                keys = ", ".join(q(c) for c in cols)
                present = " AND ".join(f"{q(c)} IS NOT NULL" for c in cols)
                violations += con.execute(f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {table} WHERE {present} "
                                          f"GROUP BY {keys} HAVING count(*) > 1)").fetchone()[0]
                continue
            else:
                continue
            counts.append(f"count(*) FILTER (WHERE {pred}{cond})")
        if counts:
            violations += sum(v or 0 for v in con.execute(f"SELECT {', '.join(counts)} FROM {table}").fetchone())
        period = [e for e in suite.expectations if e["meta"]["scope"] == "period"]
        if period and "_period_year" in columns:
            metrics = []
            for e in period:
                metric = e["meta"]["metric"]
                agg = metric["agg"]
                if agg == "count":
                    metrics.append("count(*)")
                elif agg == "mean":
                    metrics.append(f"avg({q(metric['column'])})")
                elif agg == "distinct_count":
                    metrics.append(f"count(DISTINCT {q(metric['column'])})")
                else:
                    values = ", ".join(lit(v) for v in metric["values"])
                    metrics.append(f"avg(CASE WHEN {q(metric['column'])} IN ({values}) THEN 1.0 ELSE 0.0 END)")
            con.execute(f"SELECT _period_year, {', '.join(metrics)} FROM {table} GROUP BY 1").fetchall()
    return violations


def lit_list(values) -> str:
    return "[" + ", ".join(lit(str(v)) for v in values) + "]::VARCHAR[]"


# ------------------------------------------------------------------------------------------ dbt's SQL
def step_groups(manifest: dict) -> dict[str, str]:
    """model/seed name -> the pipeline's dbt step (the rule of dagster_project/defs/transformation/assets.py, without Dagster)."""
    from dagster_project.contracts import load_contracts

    departments = {e.name: e.department for e in load_contracts().extracts.values()}
    nodes = {**manifest["nodes"], **manifest["sources"]}
    memo: dict[str, frozenset] = {}

    def upstream(uid: str) -> frozenset:
        if uid not in memo:
            node = nodes[uid]
            memo[uid] = (frozenset({departments.get(node["name"], "combined")}) if node["resource_type"] == "source"
                         else frozenset().union(*[upstream(u) for u in node.get("depends_on", {}).get("nodes", []) if u in nodes]))
        return memo[uid]

    groups = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] == "seed":
            groups[node["name"]] = "seeds"
        elif node["resource_type"] == "model":
            deps = upstream(uid)
            layer = node["original_file_path"].split("/")[1] if "/" in node["original_file_path"] else ""
            groups[node["name"]] = next(iter(deps)) if len(deps) == 1 and layer in ("staging", "intermediate") else "combined"
    return groups


def transform(con, compiled: dict, project: Path) -> tuple[int, int]:
    from graphlib import TopologicalSorter

    nodes = compiled["nodes"]
    group_of = step_groups(compiled)
    con.execute("CREATE SCHEMA IF NOT EXISTS main_seeds")
    for node in nodes.values():
        if node["resource_type"] != "seed":
            continue
        types = node["config"].get("column_types") or {}
        columns = "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in types.items()) + "}"
        path = project / "dbt" / node["original_file_path"]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(node['schema'])}")
        con.execute(f"CREATE OR REPLACE TABLE {q(node['schema'])}.{q(node['alias'])} AS SELECT * FROM "
                    f"read_csv({lit(str(path))}, header=true, types={columns})" if types else
                    f"CREATE OR REPLACE TABLE {q(node['schema'])}.{q(node['alias'])} AS SELECT * FROM read_csv({lit(str(path))}, header=true)")
    graph = {uid: [d for d in n["depends_on"]["nodes"] if d in nodes and nodes[d]["resource_type"] == "model"]
             for uid, n in nodes.items() if n["resource_type"] == "model"}
    models = 0
    for uid in TopologicalSorter(graph).static_order():
        node = nodes[uid]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(node['schema'])}")
        kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
        con.execute(f"CREATE OR REPLACE {kind} {q(node['schema'])}.{q(node['alias'])} AS {node['compiled_code']}")
        models += 1
    failures = tests = 0
    for node in nodes.values():
        if node["resource_type"] != "test":
            continue
        parents = [nodes[d]["name"] for d in node["depends_on"]["nodes"] if d in nodes]
        if len({group_of.get(p) for p in parents}) != 1:
            continue  # runs only in the full `dbt build` of the test suite, not in a pipeline run
        failures += con.execute(f"SELECT count(*) FROM ({node['compiled_code']})").fetchone()[0]
        tests += 1
    return models, tests


# ------------------------------------------------------------------------------------------ exports
def exports(con, workdir: Path) -> int:
    out = workdir / "exports"
    out.mkdir(parents=True, exist_ok=True)
    published = workdir / "monitoring.duckdb"
    published.unlink(missing_ok=True)
    con.execute(f"ATTACH {lit(str(published))} AS pub")
    tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database() "
                         "AND table_schema IN ('main_marts', 'audit') AND table_type = 'BASE TABLE'").fetchall()
    for schema, table in tables:
        target = "marts" if schema == "main_marts" else "audit"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{target}")
        con.execute(f"CREATE TABLE pub.{target}.{q(table)} AS SELECT * FROM {q(schema)}.{q(table)}")
    con.execute("DETACH pub")
    values = ("SELECT v.*, i.name_zh AS indicator_name_zh, a.name_zh AS area_name_zh FROM main_marts.fct_indicator_values v "
              "JOIN main_marts.dim_indicator i USING (indicator_code) JOIN main_marts.dim_area a USING (area_code)")
    con.execute(f"COPY ({values} ORDER BY ALL) TO {lit(str(out / 'indicator_values.csv'))} (HEADER)")
    con.execute(f"COPY ({values}) TO {lit(str(out / 'indicator_values.parquet'))} (FORMAT parquet)")
    latest = con.execute("SELECT max(period_year) FROM main_marts.fct_indicator_values").fetchone()[0] or 0
    submission = f"{values} WHERE v.period_year = {latest}"
    con.execute(f"COPY ({submission}) TO {lit(str(out / 'submission.csv'))} (HEADER)")
    con.execute(f"COPY ({submission}) TO {lit(str(out / 'submission.parquet'))} (FORMAT parquet)")
    for (department,) in con.execute("SELECT DISTINCT department FROM audit.quarantine").fetchall():
        con.execute(f"COPY (SELECT * FROM audit.quarantine WHERE department = {lit(department)} ORDER BY source_file, row_number) "
                    f"TO {lit(str(out / f'feedback_{department}.csv'))} (HEADER)")
    return len(tables)


def main(argv: list[str] | None = None) -> int:
    started = time.time()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--compiled", type=Path, required=True, help="manifest.json written by `dbt compile`")
    parser.add_argument("--project", type=Path, default=ROOT, help="project root (for the dbt seeds)")
    parser.add_argument("--key", default="bench-" + "0" * 40, help="HMAC key")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.project.resolve()))  # the project (or its copy with another code list)

    from dagster_project.config import duckdb_memory_limit
    from dagster_project.contracts import load_contracts

    contracts = load_contracts()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "work.duckdb"  # the name dbt's compiled SQL refers to ("work"."main_...")
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.execute(f"SET temp_directory = {lit(str(args.workdir / 'tmp'))}")
    # the pipeline's memory limit (MONITOR_DUCKDB_MEMORY_LIMIT or its default): same work, same budget
    con.execute(f"SET memory_limit = {lit(duckdb_memory_limit())}")
    compiled = json.loads(args.compiled.read_text(encoding="utf-8"))
    emit("startup", started, time.time())

    t = time.time()
    with tempfile.TemporaryDirectory(prefix="ref_", dir=args.workdir) as tmp:
        rows = ingest(con, args.raw, contracts, args.key.encode("utf-8"), Path(tmp))
    con.execute("CHECKPOINT")
    emit("ingest", t, time.time(), rows=rows)

    t = time.time()
    violations = gate(con)
    emit("gate", t, time.time(), violations=violations)

    t = time.time()
    models, tests = transform(con, compiled, args.project)
    con.execute("CHECKPOINT")
    emit("dbt", t, time.time(), models=models, tests=tests)

    t = time.time()
    tables = exports(con, args.workdir)
    con.close()
    emit("exports", t, time.time(), tables=tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
