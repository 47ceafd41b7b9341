"""Row-level rules: normalise, type and check every cell, vectorised with polars.

`apply_rules` turns a RawTable (a whole file or one batch of it) into
  * `typed`: one row per input row with the contract's typed columns (ID numbers
    still raw, normalised to 18 digits, for pseudonymisation by the loader),
  * `issues`: one row per (row, column, rule) finding, with the action
    (quarantine / flag / normalise) taken from rule_texts.RULES, and
  * `file_inputs`: what the whole-file rules need of each row (see below).
No rule raises: a bad value becomes a finding naming the row, column and rule.

Rules that compare a row with the other rows of its file (FILE_RULES: duplicate_row,
duplicate_key and, for the forms extract, numerator_exceeds_denominator) cannot be decided
on one batch. The loader stages every row of every batch in a DuckDB table
(`staging_select`: ROW, the typed values and `file_inputs`) and, after the last batch,
runs `file_rule_issues_sql` over it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dagster_project.contracts import Column, Contracts, Extract, area_codes, read_seed, township_codes
from dagster_project.ingest import idnumber
from dagster_project.ingest.headers import HeaderMapping
from dagster_project.ingest.reader import ROW, RawTable
from dagster_project.ingest.rule_texts import RULES

TRUE_WORDS = ("是", "y", "yes", "true", "1", "有", "t")
FALSE_WORDS = ("否", "n", "no", "false", "0", "无", "f")
SEX_WORDS = {"1": "1", "2": "2", "0": "0", "9": "9", "男": "1", "女": "2", "m": "1", "f": "2", "未知": "0", "未说明": "9"}
RESIDENCE_WORDS = {"城镇": "urban", "乡村": "rural", "城": "urban", "乡": "rural", "农村": "rural", "urban": "urban", "rural": "rural"}
EXCEL_EPOCH = dt.date(1899, 12, 30)
_FULLWIDTH = r"[\uFF01-\uFF5E\u3000]"
_DATETIME_MIDNIGHT = r"^\d{4}-\d{2}-\d{2}[ T]00:00:00(?:\.0+)?$"
_ISSUE_SCHEMA = {ROW: pl.Int64, "column_name": pl.String, "rule_id": pl.String, "value": pl.String}


# Rules that compare a row with other rows of the same file: evaluated by `file_rule_issues_sql`.
FILE_RULES = ("duplicate_row", "duplicate_key", "numerator_exceeds_denominator")


@dataclass
class RuleResult:
    typed: pl.DataFrame
    issues: pl.DataFrame        # _row_number, column_name, rule_id, value (masked), action
    file_inputs: pl.DataFrame   # row-aligned with `typed`: the values the whole-file rules need (staging_select)


def period_end(extract: Extract, year: int | None) -> dt.date:
    """Last day of the period the file's name reports (capped at today): the bound of rule future_date.

    It stays the file's year even though dbt counts event records in the year of their event date
    (contract `event_date`, dbt macro audit_columns): ingestion judges the file as it was sent. An event
    after the end of the file's period cannot have been registered when the file was cut (or the file
    names the wrong year), so it is quarantined and the clerk told; an event before the period's start
    is a late report (迟报), loaded as it is and counted by dbt in its own, earlier year.
    """
    today = dt.date.today()
    if year is None:
        return today
    end = dt.date(year, 9, 30) if extract.period_basis == "mch_year" else dt.date(year, 12, 31)
    return min(end, today)


def mask_value(column: Column, value: pl.Expr) -> pl.Expr:
    """What a finding may show of the offending value: never an ID number in clear, and otherwise the
    value as sent (a totals-row label such as 共3126人 in an ID column is shown, not starred)."""
    # An ID number can sit in any column (columns shifted, a free-text note): ID-shaped substrings are
    # masked everywhere; in an ID-number column any long digit run is a mistyped ID number and masked too.
    return idnumber.mask_id_numbers_expr(value, near_ids=column.type == "id_number").str.slice(0, 60)


class _Shared:
    """Sub-expressions several rules of a column use, computed once per row as helper columns.

    `share(name, expr, stage)` returns a reference to a helper column computed in `stage` (a helper
    may use helpers of earlier stages). Without a `_Shared` (the functions' default, `_inline`) the
    expression itself is returned, so the functions also work on their own (tests evaluate them so).
    """

    def __init__(self, prefix: str, stages: list[dict[str, pl.Expr]]) -> None:
        self.prefix, self.stages = prefix, stages

    def __call__(self, name: str, expr: pl.Expr, stage: int = 0) -> pl.Expr:
        while len(self.stages) <= stage:
            self.stages.append({})
        column = f"{self.prefix}__{name}"
        self.stages[stage][column] = expr
        return pl.col(column)


def _inline(name: str, expr: pl.Expr, stage: int = 0) -> pl.Expr:
    return expr


class _Checks:
    """Collects (rule, column, condition) triples for one frame."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Column | None, str, pl.Expr]] = []

    def add(self, rule_id: str, column: Column | None, column_name: str, condition: pl.Expr) -> None:
        assert rule_id in RULES, rule_id
        self.items.append((rule_id, column, column_name, condition.fill_null(False)))

    @staticmethod
    def flag(i: int) -> str:
        return f"__check_{i}"

    def flag_columns(self, start: int) -> list[pl.Expr]:
        """The conditions from item `start` on, as boolean columns named by `flag(i)`."""
        return [item[3].alias(self.flag(i)) for i, item in enumerate(self.items) if i >= start]


def _lower(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase()


def _normalised_text(raw: pl.Expr, column: Column) -> pl.Expr:
    text = raw.str.normalize("NFKC").str.strip_chars()
    if column.type not in ("string",):
        text = text.str.replace_all(r"\s+", "")
    return pl.when(text == "").then(None).otherwise(text)


def _date_expr(s: pl.Expr, share=_inline) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """(parsed date, recognised format?, variant format?, excel serial?) for a normalised string."""
    iso = share("iso", s.str.extract_groups(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]?00:00:00(?:\.0+)?)?$"))
    slash = share("slash", s.str.extract_groups(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"))
    compact = share("compact", s.str.extract_groups(r"^(\d{4})(\d{2})(\d{2})$"))
    chinese = share("chinese", s.str.extract_groups(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"))
    serial = share("serial", s.str.extract(r"^(\d{5})(?:\.0+)?$", 1).cast(pl.Int64, strict=False))
    iso_shape = share("iso_shape", s.str.contains(r"^\d{4}-\d{2}-\d{2}"))
    parts = [iso, slash, compact, chinese]
    year = share("year", pl.coalesce([p.struct.field("1") for p in parts]), 1)
    month = pl.coalesce([p.struct.field("2") for p in parts])
    day = pl.coalesce([p.struct.field("3") for p in parts])
    text_date = pl.concat_str(
        [year, month.str.zfill(2), day.str.zfill(2)], separator="-"
    ).str.to_date("%Y-%m-%d", strict=False)
    # null here would hide 'abc' from invalid_date_format
    is_serial = share("is_serial", serial.is_between(10000, 80000).fill_null(False), 1)
    serial_date = pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)
    parsed = share("parsed", pl.when(is_serial).then(serial_date.cast(pl.Date)).otherwise(text_date), 2)
    recognised = year.is_not_null() | is_serial
    is_iso = iso.struct.field("1").is_not_null() & iso_shape
    variant = year.is_not_null() & ~is_iso
    return parsed, recognised, variant, is_serial


def _code_map_expr(s: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    lowered = {k.lower(): v for k, v in mapping.items()}
    return _lower(s).replace_strict(lowered, default=None, return_dtype=pl.String)


def apply_rules(
    extract: Extract,
    table: RawTable,
    mapping: HeaderMapping,
    contracts: Contracts,
    period_year: int | None,
) -> RuleResult:
    checks = _Checks()
    end = period_end(extract, period_year)
    townships = list(township_codes())
    areas = list(area_codes())
    frame = table.rows.lazy()

    # 1. Normalised text for every mapped column (absent optional columns are null).
    norm_cols, raw_cols = [], []
    for col in extract.columns:
        field = mapping.field_of.get(col.name)
        raw = pl.col(field) if field else pl.lit(None, dtype=pl.String)
        raw_cols.append(raw.alias(f"{col.name}__raw"))
    frame = frame.with_columns(raw_cols)
    for col in extract.columns:
        norm_cols.append(_normalised_text(pl.col(f"{col.name}__raw"), col).alias(f"{col.name}__s"))
    frame = frame.with_columns(norm_cols)

    typed: list[pl.Expr] = []
    helper_stages: list[dict[str, pl.Expr]] = []
    for col in extract.columns:
        raw, s = pl.col(f"{col.name}__raw"), pl.col(f"{col.name}__s")
        if col.type != "string":
            changed = raw.is_not_null() & (raw != s.fill_null(""))
            has_fullwidth = raw.str.contains(_FULLWIDTH)
            checks.add("fullwidth_characters", col, col.name, changed & has_fullwidth)
            spaces = changed & ~has_fullwidth & raw.str.contains(r"\s")
            if col.type == "date":
                # An Excel date cell reads as 'YYYY-MM-DD 00:00:00': the space before the time is no stray space.
                spaces &= ~raw.str.contains(_DATETIME_MIDNIGHT)
            checks.add("stray_spaces", col, col.name, spaces)
        if col.required:
            checks.add("missing_required", col, col.name, s.is_null())
        value, rules = _typed_value(col, s, contracts, townships, areas, end, _Shared(f"{col.name}__h", helper_stages))
        for rule_id, condition in rules:
            checks.add(rule_id, col, col.name, condition)
        typed.append(value.alias(col.name))
    # Every rule is evaluated once, as a boolean column computed in the same pass as the typed values:
    # polars shares their common parts (a date is parsed once for its value and its five rules).
    for helpers in helper_stages:
        frame = frame.with_columns(**helpers)
    per_column = len(checks.items)
    frame = frame.with_columns(*typed, *checks.flag_columns(0))

    # 2. Rules across columns of one row.
    for col in extract.columns:
        if col.type == "id_number":
            _id_consistency(col, checks)
    for first, second in extract.date_order:
        checks.add("dates_out_of_order", extract.column(second), second, pl.col(first) > pl.col(second))
    # (Rules across rows of the file, FILE_RULES, are run by the loader over all batches: file_rule_issues_sql.)
    frame = frame.with_columns(*checks.flag_columns(per_column), *_file_input_columns(extract))

    collected = frame.collect()
    issues = _collect_issues(collected, checks, extract)
    keep = [ROW, *[c.name for c in extract.columns]]
    inputs = [c for c in collected.columns if c.startswith(_FILE_INPUT)]
    return RuleResult(typed=collected.select(keep), issues=issues, file_inputs=collected.select(inputs))


def _typed_value(col: Column, s: pl.Expr, contracts: Contracts, townships, areas, end: dt.date, share=_inline):
    present = s.is_not_null()
    if col.type == "string":
        rules = [("invalid_format", present & ~s.str.contains(col.pattern))] if col.pattern else []
        return s, rules
    if col.type in ("integer", "decimal"):
        pattern = r"^[+-]?\d+(\.0*)?$" if col.type == "integer" else r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
        ok = s.str.contains(pattern)
        number = s.cast(pl.Float64, strict=False)
        not_exact = share("not_exact", _number_not_exact(col, s, ok, number))
        # An old 15-digit ID number typed into a count is a valid number, but never stored (no ID number
        # in clear after ingestion); 16 digits and more are `number_not_exact` already.
        id_like = share("id_like", ok & ~not_exact & (idnumber.mask_id_numbers_expr(s) != s), 1)
        ok = ok & ~not_exact & ~id_like
        if col.type == "integer":  # parsed from the text, never through a float (which rounds past 2^53)
            value = pl.when(ok).then(s.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False))
        else:
            value = pl.when(ok).then(number)
        rules = [("invalid_number", present & ~ok & ~not_exact & ~id_like), ("number_not_exact", present & not_exact),
                 ("id_number_in_value", present & id_like)]
        if col.min is not None:
            rid = "negative_value" if col.min == 0 else "out_of_range"
            rules.append((rid, ok & (number < col.min)))
        if col.max is not None:
            rules.append(("out_of_range", ok & (number > col.max)))
        return value, rules
    if col.type == "date":
        parsed, recognised, variant, is_serial = _date_expr(s, share)
        rules = [
            ("invalid_date_format", present & ~recognised),
            ("impossible_date", present & recognised & parsed.is_null()),
            ("date_format_variant", parsed.is_not_null() & variant),
            ("excel_serial_date", parsed.is_not_null() & is_serial),
        ]
        if col.not_after_period_end:
            rules.append(("future_date", parsed > pl.lit(end)))
        else:
            rules.append(("future_date", parsed > pl.lit(dt.date.today())))
        return parsed, rules
    if col.type == "bool":
        low = _lower(s)
        value = pl.when(low.is_in(TRUE_WORDS)).then(True).when(low.is_in(FALSE_WORDS)).then(False)
        return value, [("invalid_bool", present & value.is_null())]
    if col.type == "sex":
        allowed = {k: v for k, v in SEX_WORDS.items() if not col.allowed or v in col.allowed}
        value = _code_map_expr(s, allowed)
        return value, [("invalid_sex", present & value.is_null())]
    if col.type == "residence":
        value = _code_map_expr(s, RESIDENCE_WORDS)
        return value, [("invalid_residence", present & value.is_null())]
    if col.type == "township":
        return s, [("unknown_township", present & ~s.is_in(townships))]
    if col.type == "area":
        return s, [("unknown_area", present & ~s.is_in(areas))]
    if col.type == "committee":
        ok = s.str.contains(r"^\d{12}$") & s.str.slice(0, 9).is_in(townships)
        return s, [("invalid_committee_code", present & ~ok)]
    if col.type == "code":
        value = _code_map_expr(s, contracts.code_list(col.code_list))
        return value, [("invalid_code", present & value.is_null())]
    if col.type == "id_number":
        return _id_value(s, share)
    raise ValueError(f"unknown column type {col.type} for {col.name}")


# Excel's form of a number of 15 or more digits (reader.py writes a long XLSX number so): its digits are
# lost. Or an integer of more than MAX_EXACT_DIGITS digits (leading zeros aside). One regex for both: the
# rules run on every cell of a province's files, and these are rare.
MAX_EXACT_DIGITS = 15  # a DOUBLE (and Excel) keeps 15 significant digits exactly, whatever they are
_LONG_NUMBER = (r"^[+-]?(?:0*[1-9]\d{" + str(MAX_EXACT_DIGITS) + r"}|\d(?:\.\d+)?[Ee]\+?(?:1[5-9]|[2-9]\d|\d{3,})$)")


def _significant_digits(text: pl.Expr) -> pl.Expr:
    """The digits of a number's text without sign, point, exponent and leading or trailing zeros."""
    digits = text.str.replace(r"[eE][+-]?\d+$", "").str.replace_all(r"[+\-.]", "")
    return digits.str.strip_chars_start("0").str.strip_chars_end("0")


def _number_not_exact(col: Column, s: pl.Expr, ok: pl.Expr, number: pl.Expr) -> pl.Expr:
    """A number the warehouse cannot hold exactly (so it would be stored rounded, or as NULL).

    An integer of more than MAX_EXACT_DIGITS digits (typically an ID or account number typed into a
    count column), or a number in Excel's scientific form of 15+ digits; a decimal whose text does not
    come back from the DOUBLE it is stored as (compared digit by digit with the shortest text of that
    DOUBLE; a cell's value read from an XLSX is a DOUBLE already, so it comes back).
    """
    long = s.str.contains(_LONG_NUMBER)
    if col.type == "integer":
        return long
    # A text of at most 15 characters holds at most 15 digits, which a DOUBLE keeps: only longer texts
    # (all but none in practice) are compared, the others are null for the string work.
    longer = s.str.len_bytes() > MAX_EXACT_DIGITS
    text = pl.when(longer).then(s)
    back = pl.when(longer).then(number).cast(pl.String)
    return long | (ok & longer & (_significant_digits(text) != _significant_digits(back)))


def _id_value(s: pl.Expr, share=_inline):
    present = s.is_not_null()
    upper = share("upper", s.str.to_uppercase())
    is18 = share("is18", upper.str.contains(idnumber.ID18), 1)
    is15 = share("is15", upper.str.contains(idnumber.ID15), 1)
    mangled = upper.str.contains(idnumber.EXCEL_MANGLED)
    full = share("full", pl.when(is18).then(upper).when(is15).then(idnumber.upgrade15_expr(upper)), 2)
    checksum_ok = idnumber.check_char_expr(full.str.slice(0, 17)) == full.str.slice(17, 1)
    birth = share("birth", full.str.slice(6, 8).str.to_date("%Y%m%d", strict=False), 3)
    rules = [
        ("id_excel_mangled", present & mangled),
        ("id_bad_format", present & ~mangled & ~is18 & ~is15),
        ("id_bad_checksum", is18 & ~checksum_ok),
        # polars parses year 0000; a birth date before 1800 or after today does not exist either
        ("id_bad_birth_date", (is18 | is15) & ~birth.is_between(pl.lit(dt.date(1800, 1, 1)), pl.lit(dt.date.today())).fill_null(False)),
        ("id_lowercase_x", is18 & s.str.ends_with("x")),
        ("id_15_digit", is15),
    ]
    return full, rules


def _id_consistency(col: Column, checks: _Checks) -> None:
    full = pl.col(col.name)
    id_sex = pl.when(full.str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1).then(pl.lit("1")).otherwise(pl.lit("2"))
    id_birth = full.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    if col.sex_column:
        checks.add("sex_contradicts_id", col, col.sex_column,
                   full.is_not_null() & pl.col(col.sex_column).is_in(["1", "2"]) & (pl.col(col.sex_column) != id_sex))
    if col.expected_sex:
        checks.add("sex_contradicts_id", col, col.name, full.is_not_null() & (id_sex != col.expected_sex))
    if col.birth_date_column:
        checks.add("birth_date_contradicts_id", col, col.birth_date_column,
                   id_birth.is_not_null() & pl.col(col.birth_date_column).is_not_null()
                   & (pl.col(col.birth_date_column) != id_birth))


# ------------------------------------------------------------------------------------------ whole-file rules
# A row compared with the other rows of its file. The loader stages every row of every batch (all of them,
# also rows a row rule quarantines: a copy of a quarantined row is still a copy) in a DuckDB table built
# with `staging_select`, and after the last batch inserts the findings of `file_rule_issues_sql`.
_FILE_INPUT = "__file__"
_ROW_KEY = "__row_key"


def _file_input_columns(extract: Extract) -> list[pl.Expr]:
    """Per-row values the whole-file rules need beyond the typed ones (computed with the row rules)."""
    # duplicate_row: the normalised text of every contract column (hashed into one key by staging_select)
    exprs = [pl.col(f"{c.name}__s").alias(f"{_FILE_INPUT}{c.name}") for c in extract.columns]
    if extract.name == "forms":  # numerator_exceeds_denominator shows the value as sent, masked
        value = extract.column("value")
        exprs.append(mask_value(value, pl.col("value__raw")).cast(pl.String).alias(f"{_FILE_INPUT}shown_value"))
    return exprs


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def staging_select(extract: Extract) -> str:
    """SELECT list turning one batch (`RuleResult.typed` beside `file_inputs`) into staging rows:
    ROW, the typed columns, `__row_key` for duplicate_row and the other inputs of the whole-file rules.

    `__row_key` is the MD5 of an unambiguous encoding of the row's normalised texts: each column as
    '<length in bytes>:<text>', or '-' when empty, concatenated. The encoding is injective (it can be
    read back), so two rows share a key exactly when they are equal cell by cell, barring an MD5
    collision; 16 bytes a row keep the staging table small whatever the width of the file.
    """
    parts = ", ".join(
        f"coalesce(strlen({_ident(_FILE_INPUT + c.name)})::VARCHAR || ':' || {_ident(_FILE_INPUT + c.name)}, '-')"
        for c in extract.columns
    )
    select = [ROW, *[_ident(c.name) for c in extract.columns], f"md5_number(concat({parts})) AS {_ROW_KEY}"]
    # duplicate_key compares a key part by its text where it has no typed value (an invalid ID number):
    # two rows with the same bad ID are still copies of one record.
    select += [_ident(_FILE_INPUT + k) for k in extract.unique_key]
    if extract.name == "forms":
        select.append(_ident(f"{_FILE_INPUT}shown_value"))
    return ", ".join(select)


def file_rule_issues_sql(extract: Extract, staging: str) -> str:
    """A query over the staging table giving the whole-file rules' findings, in the issue layout
    (_row_number, column_name, rule_id, value, action), as `_collect_issues` would report them."""
    actions = {rid: spec[0] for rid, spec in RULES.items()}
    # Second and later copies (in file order) are flagged; the first copy stays. A duplicate key counts
    # only where all key parts are present and the row is not an exact duplicate already.
    key = [f"coalesce(CAST({_ident(k)} AS VARCHAR), chr(1) || {_ident(_FILE_INPUT + k)})" for k in extract.unique_key]
    key_present = " AND ".join(f"{k} IS NOT NULL" for k in key) or "TRUE"
    queries = [f"""
        WITH ranked AS (
            SELECT {ROW},
                   {ROW} > min({ROW}) OVER (PARTITION BY {_ROW_KEY}) AS dup_row,
                   {ROW} > min({ROW}) OVER (PARTITION BY {", ".join(key) or "NULL"}) AND {key_present} AS dup_key
            FROM {staging})
        SELECT {ROW}, '*' AS column_name, 'duplicate_row' AS rule_id, NULL::VARCHAR AS value,
               {_literal(actions["duplicate_row"])} AS action
        FROM ranked WHERE dup_row
        UNION ALL
        SELECT {ROW}, {_literal(",".join(extract.unique_key))}, 'duplicate_key', NULL::VARCHAR,
               {_literal(actions["duplicate_key"])}
        FROM ranked WHERE dup_key AND NOT dup_row"""]
    if extract.name == "forms":
        # In SQL over the staging table too (rather than reading a forms file as one batch): a forms file
        # streams like any other, and the rule lives in one place.
        queries += _forms_denominator_sql(staging, actions["numerator_exceeds_denominator"])
    return "\nUNION ALL\n".join(queries)


def _forms_denominator_sql(staging: str, action: str) -> list[str]:
    """A form item that is part of another (form_items.gen_base) must not exceed it: compared with the
    first row (in file order) of the base item for the same township, sex and age group."""
    bases = {r["item_code"]: r["gen_base"] for r in read_seed("form_items") if r.get("gen_base")}
    if not bases:
        return []
    values = ", ".join(f"({_literal(item)}, {_literal(base)})" for item, base in bases.items())
    cell = ("township_code", "sex", "age_group")
    cells = ", ".join(_ident(c) for c in cell)
    same_cell = " AND ".join(f"d.{_ident(c)} = s.{_ident(c)}" for c in cell)
    return [f"""
        SELECT s.{ROW}, 'value', 'numerator_exceeds_denominator', s.{_ident(_FILE_INPUT + "shown_value")},
               {_literal(action)}
        FROM {staging} s
        JOIN (VALUES {values}) AS b(item, base) ON s."item_code" = b.item
        JOIN (SELECT "item_code", {cells}, "value" FROM {staging}
              QUALIFY row_number() OVER (PARTITION BY "item_code", {cells} ORDER BY {ROW}) = 1) d
          ON d."item_code" = b.base AND {same_cell}
        WHERE s."value" > d."value"
    """]


def _collect_issues(frame: pl.DataFrame, checks: _Checks, extract: Extract) -> pl.DataFrame:
    parts = []
    # Which rules hit at all, in one pass over the batch (most never do), rather than one query for
    # each of the ~100 rules of a file: on small files that fixed cost was a third of the rules' time.
    hit = frame.select(pl.col(checks.flag(i)).any() for i in range(len(checks.items))).row(0) if checks.items else ()
    for i, (rule_id, column, column_name, _condition) in enumerate(checks.items):
        flag = pl.col(checks.flag(i))
        if not hit[i]:
            continue
        value = mask_value(column, pl.col(f"{column.name}__raw")) if column else pl.lit(None, dtype=pl.String)
        hits = frame.filter(flag).select(
            pl.col(ROW),
            pl.lit(column_name).alias("column_name"),
            pl.lit(rule_id).alias("rule_id"),
            value.cast(pl.String).alias("value"),
        )
        if hits.height:
            parts.append(hits)
    issues = pl.concat(parts) if parts else pl.DataFrame(schema=_ISSUE_SCHEMA)
    actions = {rid: spec[0] for rid, spec in RULES.items()}
    return issues.with_columns(
        pl.col("rule_id").replace_strict(actions, return_dtype=pl.String).alias("action")
    ).sort(ROW, "rule_id")
