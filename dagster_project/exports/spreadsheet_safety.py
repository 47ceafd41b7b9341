"""Neutralise text that a spreadsheet would run as a formula (CSV/formula injection) - only where one can run.

OWASP's CSV-injection guidance: Excel, WPS and LibreOffice run a cell as a formula when its text begins
with = + - @ (also after a leading tab or carriage return). Such text gets a leading apostrophe, which
every spreadsheet shows as text and never runs.

Where: the text cells of workbooks (`worksheets.write_sheet` applies it to every string column it writes)
and CSVs meant to be opened in a spreadsheet (`write_spreadsheet_csv`: the UTF-8-with-BOM CSVs beside the
workbooks). Never Parquet or SDMX-CSV: programs read those, and an apostrophe there would only corrupt the
value (the target operator `=` would become `'=`).

Left alone, because no formula can run from them:
- numbers, and text that is a number (`-25`, `+3.5`, `-1.2E3`, `-5%`): a spreadsheet reads the number;
- a lone sign (`=` as a target operator, `-` as "no data"): there is nothing to run, and a spreadsheet
  shows the sign itself.
"""
from __future__ import annotations

import re
from pathlib import Path

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@")
# Text a spreadsheet reads as a number (sign, digits with optional thousands separators and decimals,
# exponent, percent). Applied after the leading sign check, so only +/- can precede it.
_NUMBER = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?%?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
# Polars (Rust regex) version of the whole rule, so frames are neutralised without a Python loop:
# optional leading tabs and line breaks (OWASP), a formula prefix, then at least one more character.
_FORMULA_LIKE = r"(?s)^[\t\r\n]*[=+\-@]."
_LEADING_BLANKS = "\t\r\n"


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would run as a formula: = + - @ followed by text that is not a number."""
    if not isinstance(value, str):
        return False
    text = value.lstrip(_LEADING_BLANKS)
    if len(text) < 2 or not text.startswith(FORMULA_PREFIXES):
        return False
    if text[0] in "+-" and any(c.isdigit() for c in text) and _NUMBER_RE.match(text):
        return False
    return True


def neutralise(value: object) -> object:
    """`value` as it may be written to a spreadsheet cell: formula-like text gets a leading apostrophe."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def _neutralised(column: str) -> pl.Expr:
    text = pl.col(column)
    stripped = text.str.strip_chars_start(_LEADING_BLANKS)
    numeric = stripped.str.contains(r"^[+-]") & stripped.str.contains(r"\d") & stripped.str.contains(f"^{_NUMBER}$")
    formula_like = text.str.contains(_FORMULA_LIKE) & ~numeric
    return pl.when(formula_like).then(pl.lit("'") + text).otherwise(text).alias(column)


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every string column with formula-like cells neutralised; numbers, numeric text and lone signs kept."""
    columns = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns([_neutralised(c) for c in columns]) if columns else frame


def write_spreadsheet_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Write a CSV meant to be opened in a spreadsheet: neutralised, UTF-8 with a BOM (Excel on Chinese
    Windows reads UTF-8 correctly only with it), atomically (readers never see half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    neutralise_frame(frame).write_csv(tmp, include_bom=True)
    tmp.replace(path)
    return path
