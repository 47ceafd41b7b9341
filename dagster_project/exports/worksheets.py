"""Write a polars frame to an Excel worksheet quickly, at any size.

Why not `write_excel(..., autofit=True)`: xlsxwriter's autofit measures every cell in Python and took
most of the export time (10 s of a 60 s district run, minutes at province scale). The widths are
computed here with one vectorised polars pass instead: the longest text of each column (header
included), CJK characters counting double, capped.

Why continuation sheets: a worksheet holds at most 1,048,576 rows. A province-wide table can be
longer; its rows continue on sheets named "<name> (2)", "<name> (3)", … each with the header, rather
than being cut off silently.
"""
from __future__ import annotations

import re
from typing import Any

import polars as pl

EXCEL_MAX_ROWS = 1_048_576
MIN_WIDTH, MAX_WIDTH = 6, 60
_WIDE = r"[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]"


PIXELS_PER_CHARACTER = 7


def column_widths(frame: pl.DataFrame) -> dict[str, int]:
    """Display width of each column: its longest cell or header, CJK counting double, within limits."""
    if frame.width == 0:
        return {}
    text = [pl.col(c).cast(pl.String) for c in frame.columns]
    longest = frame.select(
        [(t.str.len_chars() + t.str.count_matches(_WIDE)).max().alias(c) for t, c in zip(text, frame.columns)]
    ).row(0)
    widths = {}
    for name, cells in zip(frame.columns, longest):
        header = len(name) + len(re.findall(_WIDE, name))
        widths[name] = max(MIN_WIDTH, min(MAX_WIDTH, max(header, cells or 0) + 2))
    return widths


def sheet_names(name: str, rows: int, header_rows: int = 1) -> list[str]:
    """The sheet names `rows` data rows need: `name`, then "name (2)", … (31 characters at most)."""
    per_sheet = EXCEL_MAX_ROWS - header_rows
    count = max(1, -(-rows // per_sheet))
    names = [name[:31]]
    for i in range(2, count + 1):
        suffix = f" ({i})"
        names.append(name[:31 - len(suffix)] + suffix)
    return names


def write_sheet(frame: pl.DataFrame, workbook: Any, worksheet: Any, *, position: str = "A1",
                freeze_panes: tuple[int, int] | None = (1, 0), **options: Any) -> list[str]:
    """Write `frame` to `worksheet` (a name, or a sheet already added) of the open xlsxwriter `workbook`;
    returns the sheet names used (more than one when the frame is longer than a worksheet)."""
    # polars takes column widths in pixels; ours are in characters (Excel's default font: ~7 px each + padding)
    pixels = {name: chars * PIXELS_PER_CHARACTER + 5 for name, chars in column_widths(frame).items()}
    first_row = int("".join(ch for ch in position if ch.isdigit()) or 1)
    per_sheet = EXCEL_MAX_ROWS - first_row
    names = sheet_names(worksheet if isinstance(worksheet, str) else worksheet.name, frame.height, first_row)
    for i, name in enumerate(names):
        part = frame.slice(i * per_sheet, per_sheet)
        target = (name if isinstance(worksheet, str) else worksheet) if i == 0 else name
        part.write_excel(workbook, worksheet=target, position=position if i == 0 else "A1", autofit=False,
                         column_widths=pixels, freeze_panes=freeze_panes if i == 0 else (1, 0), **options)
    return names
