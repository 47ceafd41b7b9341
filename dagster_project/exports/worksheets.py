"""The one way the project writes workbooks (feedback, provincial submission, indicator table): readable
as opened in Excel, WPS or LibreOffice at 100 %.

- Column widths: each column's longest cell or header in display characters, East Asian wide and
  ambiguous characters (汉字, full-width forms and punctuation, ‰ ≥ — ·) counting double, capped at
  MAX_DISPLAY. Numbers are measured as their number format shows them (separators, decimals). The
  width is then converted to Excel's unit (the width of a digit of the default font, Calibri 11) with a
  margin: a CJK character of the fallback font (等线/宋体/Noto Sans CJK at 11 pt) is 2.1 such digits,
  not 2; bold header text is up to 15 % wider (measured with LibreOffice, which scales column widths to
  the font it substitutes for Calibri); a header cell also holds the autofilter button. Text longer than
  the cap wraps instead of being cut off - in sheets of up to WRAP_MAX_ROWS rows: LibreOffice computes
  the height of every row holding wrapped text when it opens a workbook, which took over ten minutes
  for the 26,000-row indicator sheet. Longer sheets show capped text cut at the column edge; the CSV
  beside each of them holds it in full.
- Number formats by column kind: years and row numbers plain (2019, not 2,019), counts as integers
  (1,093, not 1,093.000), rates and values with the decimals their unit needs - row by row where units
  differ, from dbt (seed unit_labels.decimals, as main_marts.dim_indicator.unit_decimals).
- The header row is frozen. Yes/no columns show 是 yes / 否 no (LibreOffice would show a boolean cell
  of an xlsxwriter file as 1 / 0).
- Text cells are neutralised against formula injection (spreadsheet_safety) and every string is written
  as a string cell (workbook option strings_to_formulas off): the target operator "=" shows as "=" and
  can never run.
- A notes sheet (说明) explains the markers a workbook uses, Chinese first with English beside
  (`write_notes`).

Why not `write_excel(..., autofit=True)`: xlsxwriter's autofit measures every cell in Python and took
most of the export time (10 s of a 60 s district run, minutes at province scale). The widths are
computed here with vectorised polars expressions instead.

Why continuation sheets: a worksheet holds at most 1,048,576 rows. A province-wide table can be
longer; its rows continue on sheets named "<name> (2)", "<name> (3)", … each with the header, rather
than being cut off silently.

Columns whose name starts with "_" are helpers (e.g. the decimals of each row's unit): they may be
used by a format expression and are never written.
"""
from __future__ import annotations

import math
import re
import unicodedata
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Union

import polars as pl
import xlsxwriter

from dagster_project.exports.spreadsheet_safety import neutralise_frame

EXCEL_MAX_ROWS = 1_048_576
# Display characters (a CJK character is two): beyond the cap a text column wraps.
MIN_DISPLAY, MAX_DISPLAY = 4, 60
# Excel width units per display character (Calibri's digit is the unit; see the module docstring), and
# the extra of bold header text.
FONT_MARGIN, HEADER_MARGIN = 1.1, 1.15
PADDING = 2          # cell margins, in Excel width units
WRAP_MAX_ROWS = 5_000
FILTER_BUTTON = 2    # the autofilter arrow in each header cell

# Column kinds for `formats`: a kind, a fixed number of decimals, or a polars expression giving each
# row's decimals (evaluated on the frame, helper columns included).
YEAR, INTEGER, COUNT = "year", "integer", "count"
Format = Union[str, int, pl.Expr]
_KIND_FORMATS = {YEAR: "0", INTEGER: "0", COUNT: "#,##0"}
# A year column needs no declaration: an integer column whose header names a year.
_YEAR_HEADER = re.compile(r"年度|年份|\bYear\b", re.IGNORECASE)

WORKBOOK_OPTIONS = {
    # every string is a string cell: "=..." never becomes a formula, "http://..." never a link,
    # "0012" never a number
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
YES, NO = "是 yes", "否 no"
HEADER_FORMAT = {"bold": True, "valign": "vcenter", "bottom": 1}


def _is_wide(char: str) -> bool:
    """Shown two columns wide: East Asian Wide, Fullwidth or Ambiguous (CJK fonts draw ‰ ≥ — · full width)."""
    return (unicodedata.east_asian_width(char) in ("W", "F", "A")
            and unicodedata.category(char) not in ("Mn", "Me", "Cc", "Cs", "Co"))


def _wide_class() -> str:
    """The same as a regex character class, for the vectorised widths (built once, ~30 ms)."""
    ranges: list[list[int]] = []
    for code in range(0x00A1, 0x10000):
        if not _is_wide(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    parts = [f"\\x{{{a:04X}}}" + (f"-\\x{{{b:04X}}}" if b > a else "") for a, b in ranges]
    # CJK extensions and emoji beyond the Basic Multilingual Plane
    parts += ["\\x{1F300}-\\x{1F64F}", "\\x{1F900}-\\x{1F9FF}", "\\x{20000}-\\x{3FFFD}"]
    return "[" + "".join(parts) + "]"


_WIDE = _wide_class()


def display_width(text: str) -> int:
    """Columns `text` takes on screen: wide characters two, others one."""
    return sum(2 if _is_wide(c) else 1 for c in text)


def excel_width(display: int, header: bool = False) -> float:
    """Excel's column width (digits of the default font) for `display` characters, capped."""
    display = max(MIN_DISPLAY, min(MAX_DISPLAY, display))
    if header:
        return math.ceil(display * FONT_MARGIN * HEADER_MARGIN) + PADDING + FILTER_BUTTON
    return math.ceil(display * FONT_MARGIN) + PADDING


def number_format(decimals: int) -> str:
    """#,##0 / #,##0.0 / #,##0.00 …"""
    return "#,##0" if decimals <= 0 else "#,##0." + "0" * decimals


def _text_width(expr: pl.Expr) -> pl.Expr:
    return (expr.str.len_chars() + expr.str.count_matches(_WIDE)).max()


def _digits(expr: pl.Expr) -> pl.Expr:
    """Digits of the integer part (|x| + 1 never has fewer than round(|x|) at any decimals)."""
    return ((expr.abs() + 1).log10().floor() + 1).cast(pl.Int64, strict=False)  # NaN, inf: no width


def _number_width(expr: pl.Expr, decimals: pl.Expr | int, separators: bool) -> pl.Expr:
    digits = _digits(expr)
    width = digits + (((digits - 1) // 3) if separators else 0) + (expr < 0).cast(pl.Int64)
    if isinstance(decimals, int):
        width = width + ((decimals + 1) if decimals > 0 else 0)
    else:
        width = width + pl.when(decimals > 0).then(decimals + 1).otherwise(0)
    return width.max()


def _resolve_formats(frame: pl.DataFrame, formats: Mapping[str, Format]) -> dict[str, Format | None]:
    """Each written column's format: a format string, an expression of row decimals, or None (as is)."""
    resolved: dict[str, Format | None] = {}
    for name, dtype in frame.schema.items():
        if name.startswith("_"):
            continue
        spec = formats.get(name)
        if spec is None and dtype.is_integer():
            spec = YEAR if _YEAR_HEADER.search(name) else COUNT
        elif spec is None and dtype.is_float():
            # an undeclared float column: integers when it holds only whole numbers, else as Excel shows it
            whole = frame.select((pl.col(name).drop_nulls() == pl.col(name).drop_nulls().round(0)).all()).item()
            spec = COUNT if whole else None
        if isinstance(spec, str):
            spec = _KIND_FORMATS.get(spec, spec)
        elif isinstance(spec, int) and not isinstance(spec, bool):
            spec = number_format(spec)
        resolved[name] = spec if dtype.is_numeric() else None
    return resolved


def column_widths(frame: pl.DataFrame, formats: Mapping[str, Format] | None = None) -> dict[str, tuple[int, int]]:
    """(header, longest cell) display width of each written column, numbers as their format shows them."""
    resolved = _resolve_formats(frame, formats or {})
    exprs = []
    for name, spec in resolved.items():
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype == pl.String:
            expr = _text_width(col)
        elif dtype.is_numeric() and isinstance(spec, pl.Expr):
            expr = _number_width(col, spec, separators=True)
        elif dtype.is_numeric() and spec == "0":
            expr = _number_width(col.round(0), 0, separators=False)
        elif dtype.is_numeric() and isinstance(spec, str):
            places = len(spec.split(".", 1)[1]) if "." in spec else 0
            expr = _number_width(col, places, separators="," in spec)
        elif dtype == pl.Boolean:
            expr = pl.lit(max(display_width(YES), display_width(NO)))
        elif dtype == pl.Date:
            expr = pl.lit(10)
        elif dtype == pl.Datetime:
            expr = pl.lit(19)
        else:  # General numbers, other types: as their text, at most Excel's 11 characters of General
            expr = _text_width(col.cast(pl.String)).clip(upper_bound=11 if dtype.is_numeric() else None)
        exprs.append(expr.alias(name))
    cells = frame.select(exprs).row(0) if exprs and frame.height else [0] * len(exprs)
    return {name: (display_width(name), int(cell or 0)) for name, cell in zip(resolved, cells)}


# The widths already set per worksheet (column -> width): a sheet holding two tables (one below the
# other) keeps each column as wide as the wider of them.
_SET_WIDTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CELL_FORMATS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _widen(worksheet: Any, column: int, width: float, cell_format: Any = None) -> None:
    widths = _SET_WIDTHS.setdefault(worksheet, {})
    if width > widths.get(column, 0):
        widths[column] = width
        worksheet.set_column(column, column, width, cell_format)


def _cell_format(workbook: Any, properties: dict) -> Any:
    cache = _CELL_FORMATS.setdefault(workbook, {})
    key = tuple(sorted(properties.items()))
    if key not in cache:
        cache[key] = workbook.add_format(properties)
    return cache[key]


@contextmanager
def open_workbook(path: Path) -> Iterator[Any]:
    """An xlsxwriter workbook with the safe string options, written to a temporary file and moved into
    place only when complete (a reader never opens half a workbook)."""
    tmp = path.with_name(path.name + ".tmp")
    book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
    try:
        yield book
        book.close()
    except BaseException:
        try:
            book.close()
        finally:
            tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def sheet_names(name: str, rows: int, header_rows: int = 1) -> list[str]:
    """The sheet names `rows` data rows need: `name`, then "name (2)", … (31 characters at most)."""
    per_sheet = EXCEL_MAX_ROWS - header_rows
    count = max(1, -(-rows // per_sheet))
    names = [name[:31]]
    for i in range(2, count + 1):
        suffix = f" ({i})"
        names.append(name[:31 - len(suffix)] + suffix)
    return names


def _first_row(position: str) -> int:
    return int("".join(ch for ch in position if ch.isdigit()) or 1)


def _first_column(position: str) -> int:
    letters = "".join(ch for ch in position if ch.isalpha()).upper() or "A"
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def write_sheet(frame: pl.DataFrame, workbook: Any, worksheet: Any, *, position: str = "A1",
                freeze_panes: tuple[int, int] | None = (1, 0), formats: Mapping[str, Format] | None = None,
                **options: Any) -> list[str]:
    """Write `frame` as a table to `worksheet` (a name, or a sheet already added) of the open `workbook`;
    returns the sheet names used (more than one when the frame is longer than a worksheet).

    `formats` declares numeric columns: YEAR, INTEGER (plain), COUNT (#,##0), a number of decimals, or
    an expression of each row's decimals. Undeclared integer columns are counts, or years when their
    header names a year; undeclared float columns are counts when they hold only whole numbers."""
    formats = dict(formats or {})
    resolved = _resolve_formats(frame, formats)
    widths = column_widths(frame, formats)
    row_decimals = {name: spec for name, spec in resolved.items() if isinstance(spec, pl.Expr)}
    decimals = frame.select([spec.alias(name) for name, spec in row_decimals.items()]) if row_decimals else None
    written = neutralise_frame(frame.select(list(resolved)).with_columns(
        pl.when(pl.col(c)).then(pl.lit(YES)).when(~pl.col(c)).then(pl.lit(NO)).otherwise(None).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.Boolean and c in resolved))
    small = frame.height <= WRAP_MAX_ROWS
    wrap = {name for name, (_, cells) in widths.items()
            if written.schema[name] == pl.String and cells > MAX_DISPLAY and small}
    # a header wider than the cap wraps too (same limit: any wrapped cell makes LibreOffice slow)
    header_format = {**HEADER_FORMAT, "text_wrap": small and any(h > MAX_DISPLAY for h, _ in widths.values())}
    column_formats: dict[str, Any] = {}
    for name, spec in resolved.items():
        if isinstance(spec, str):
            column_formats[name] = spec
        elif isinstance(spec, pl.Expr):
            column_formats[name] = number_format(0)  # overwritten cell by cell below
        elif name in wrap:
            column_formats[name] = {"text_wrap": True}
    first_row, first_col = _first_row(position), _first_column(position)
    per_sheet = EXCEL_MAX_ROWS - first_row
    names = sheet_names(worksheet if isinstance(worksheet, str) else worksheet.name, frame.height, first_row)
    for i, name in enumerate(names):
        part = written.slice(i * per_sheet, per_sheet)
        target = (name if isinstance(worksheet, str) else worksheet) if i == 0 else name
        part.write_excel(workbook, worksheet=target, position=position if i == 0 else "A1", autofit=False,
                         column_formats=column_formats, header_format=header_format,
                         freeze_panes=freeze_panes if i == 0 else (1, 0), **options)
        sheet = workbook.get_worksheet_by_name(name)
        top, left = (first_row - 1, first_col) if i == 0 else (0, 0)
        for j, column in enumerate(written.columns):
            header, cells = widths[column]
            _widen(sheet, left + j, max(excel_width(header, header=True), excel_width(cells)))
        if decimals is not None:
            _write_row_decimals(workbook, sheet, part, decimals.slice(i * per_sheet, per_sheet), top + 1, left)
    return names


def _write_row_decimals(workbook: Any, sheet: Any, part: pl.DataFrame, decimals: pl.DataFrame,
                        first_data_row: int, left: int) -> None:
    """Rewrite the cells of columns whose decimals differ by row, each with its row's number format."""
    for name in decimals.columns:
        col = left + part.get_column_index(name)
        for offset, (value, places) in enumerate(zip(part[name].to_list(), decimals[name].to_list())):
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                continue  # left as the table wrote it
            fmt = _cell_format(workbook, {"num_format": number_format(int(places or 0)), "valign": "vcenter"})
            sheet.write_number(first_data_row + offset, col, value, fmt)


def write_notes(workbook: Any, name: str, rows: Sequence[tuple[str, str, str]], *, title: Sequence[str] = (),
                header: tuple[str, str, str] = ("项目 Item", "说明", "Explanation")) -> Any:
    """A 说明 (notes) sheet: `title` lines on top, then a table of (item or marker, Chinese, English).

    Chinese comes first, English beside it; long explanations wrap in their column."""
    sheet = workbook.add_worksheet(name[:31])
    bold = _cell_format(workbook, {"bold": True, "font_size": 13})
    for i, line in enumerate(title):
        sheet.write_string(i, 0, line, bold)
    frame = pl.DataFrame([list(r) for r in rows], schema={h: pl.String for h in header}, orient="row")
    start = len(title) + 1 if title else 0
    write_sheet(frame, workbook, sheet, position=f"A{start + 1}", freeze_panes=None, autofilter=False)
    return sheet
