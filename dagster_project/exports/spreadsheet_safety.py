"""Neutralise text that a spreadsheet would run as a formula (CSV/formula injection)."""
from __future__ import annotations

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix an apostrophe to every string cell that starts like a formula (numbers are left alone)."""
    pattern = r"^[=+\-@\t\r]"
    return frame.with_columns(
        [
            pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
            for c, dtype in frame.schema.items()
            if dtype == pl.String
        ]
    )
