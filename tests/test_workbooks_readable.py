"""Every workbook the run writes is readable as opened (issue 16 item 1).

Checked on the workbooks of the shared sample run (`sample_warehouse`): the department feedback
workbooks, both editions of the provincial submission and the indicator workbook.

1. With openpyxl, as stored: each column at least as wide as the display width of its header and of
   its longest cell as its number format shows it (CJK counting double, capped at 60); number formats by
   kind (years and row numbers plain, counts as integers, values with the decimals the dbt unit seed
   gives the row's unit); the header row frozen; a 说明 Notes sheet that explains the marks, Chinese first
   with English beside.
2. As a person sees them: LibreOffice renders one workbook of each kind to PDF and to CSV ("as shown");
   no cell shows ###, every header and every Chinese text that fits the cap is there in full, and the
   numbers read as formatted (2019, not 2,019; 1,093, not 1,093.000).
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import unicodedata
from pathlib import Path

import duckdb
import openpyxl
import pytest
from openpyxl.utils import range_boundaries

# every test reads the workbooks of the shared sample run (and LibreOffice renders them)
pytestmark = pytest.mark.slow(seconds=120)

ROOT = Path(__file__).resolve().parents[1]
CAP = 60                      # display characters beyond which a column may wrap or cut its text
YEAR_HEADER = re.compile(r"年度|年份|\bYear\b")
PLAIN_HEADERS = {"行号 Row", "首行 First row"}
# columns holding a value of the row's indicator, shown with the decimals of its unit
UNIT_VALUE_HEADERS = {"数值 Value", "95%置信区间下限 CI lower", "95%置信区间上限 CI upper", "2025年目标 Target",
                      "女 Female", "男 Male", "合计 Total", "目标值 Target value"}
CODE_HEADERS = ("指标代码 Indicator code", "指标代码 Code")
# columns of one unit for every row
UNIT_COLUMNS = {"报送率% Reporting rate": "percent"}


def display(text: str) -> int:
    """Columns on screen: East Asian wide and full-width characters two, others one."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def shown(value, number_format: str) -> str:
    """A cell's value as its number format shows it (the formats these workbooks use)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if number_format == "0":
            return f"{value:.0f}"
        match = re.fullmatch(r"#,##0(?:\.(0+))?", number_format)
        if match:
            return f"{value:,.{len(match.group(1) or '')}f}"
        return f"{value:.10g}"[:11]        # General: at most 11 characters
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def seed_decimals() -> dict[str, int]:
    """Unit -> decimals, from the dbt seed (dbt/seeds/unit_labels.csv)."""
    with (ROOT / "dbt" / "seeds" / "unit_labels.csv").open(encoding="utf-8") as fh:
        return {r["unit"]: int(r["decimals"]) for r in csv.DictReader(fh)}


def unit_decimals(warehouse: Path) -> dict[str, int]:
    """Indicator code -> decimals of its unit (the indicator's unit from the warehouse, decimals from the seed)."""
    by_unit = seed_decimals()
    with duckdb.connect(str(warehouse / "work.duckdb"), read_only=True) as con:
        units = con.execute("SELECT indicator_code, unit FROM main_marts.dim_indicator").fetchall()
    return {code: by_unit[unit] for code, unit in units}


def decimal_format(places: int) -> str:
    return "#,##0" if places == 0 else "#,##0." + "0" * places


def widths(sheet) -> dict[int, float]:
    """Column index -> stored width (openpyxl keeps runs of equal widths as one min..max entry)."""
    out = {}
    for dim in sheet.column_dimensions.values():
        if dim.min and dim.width:
            for index in range(dim.min, dim.max + 1):
                out[index] = dim.width
    return out


def tables(sheet):
    """(header row, first column, last row, headers) of each table on the sheet, top first."""
    found = []
    for table in sheet.tables.values():
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        headers = [sheet.cell(min_row, c).value for c in range(min_col, max_col + 1)]
        found.append((min_row, min_col, max_row, headers))
    return sorted(found)


def workbooks(exports: Path) -> dict[str, list[Path]]:
    books = {"feedback": sorted((exports / "feedback").glob("*.xlsx")),
             "submission": sorted((exports / "submissions").rglob("*省级报送_*.xlsx")),
             "indicators": sorted((exports / "indicators").glob("*.xlsx"))}
    assert books["feedback"] and len(books["submission"]) == 2 and len(books["indicators"]) == 2, books
    return books


@pytest.fixture(scope="module")
def books(sample_warehouse):
    return workbooks(sample_warehouse["exports"])


@pytest.fixture(scope="module")
def opened(books):
    """Every workbook loaded once (the indicator workbook alone takes seconds); the tests only read them."""
    return {path: openpyxl.load_workbook(path) for kind in books.values() for path in kind}


@pytest.fixture(scope="module")
def decimals(sample_warehouse):
    return unit_decimals(sample_warehouse["warehouse"])


# ------------------------------------------------------------------------------------- 1. as stored
def test_columns_are_as_wide_as_their_header_and_longest_cell(opened):
    checked = 0
    for path, book in opened.items():
        for sheet in book.worksheets:
            stored = widths(sheet)
            longest: dict[int, tuple[int, str]] = {}
            for header_row, first_col, last_row, headers in tables(sheet):
                for offset, header in enumerate(headers):
                    column = first_col + offset
                    best = longest.get(column, (0, ""))
                    cells = [(display(str(header)), str(header))]
                    for (cell,) in sheet.iter_rows(min_row=header_row + 1, max_row=last_row, min_col=column,
                                                   max_col=column):
                        if cell.value is not None:
                            text = shown(cell.value, cell.number_format)
                            cells.append((display(text), text))
                    longest[column] = max([best, *cells])
            for column, (width, text) in longest.items():
                assert stored.get(column, 0) >= min(width, CAP), (path.name, sheet.title, column, text, stored.get(column))
                checked += 1
    assert checked > 500


def test_numbers_are_formatted_by_kind(opened, decimals):
    seen = {"year": 0, "plain": 0, "count": 0, "unit": 0}
    for path, book in opened.items():
        for sheet in book.worksheets:
            for header_row, first_col, last_row, headers in tables(sheet):
                code_col = next((first_col + headers.index(h) for h in CODE_HEADERS if h in headers), None)
                for offset, header in enumerate(headers):
                    for (cell,) in sheet.iter_rows(min_row=header_row + 1, max_row=last_row,
                                                   min_col=first_col + offset, max_col=first_col + offset):
                        value = cell.value
                        if not isinstance(value, (int, float)) or isinstance(value, bool):
                            continue
                        where = (path.name, sheet.title, cell.coordinate, header, value, cell.number_format)
                        if YEAR_HEADER.search(header):
                            assert cell.number_format == "0", where
                            seen["year"] += 1
                        elif header in PLAIN_HEADERS:
                            assert cell.number_format == "0", where
                            seen["plain"] += 1
                        elif header in UNIT_VALUE_HEADERS:
                            places = decimals[sheet.cell(cell.row, code_col).value]
                            assert cell.number_format == decimal_format(places), where
                            seen["unit"] += 1
                        elif header in UNIT_COLUMNS:
                            assert cell.number_format == decimal_format(seed_decimals()[UNIT_COLUMNS[header]]), where
                        elif float(value).is_integer():
                            # counts, numerators, denominators: integers with separators, never 1,093.000
                            assert cell.number_format == "#,##0", where
                            seen["count"] += 1
                        else:
                            # a GPI's numerator is a rate, a finding's ratio has two decimals: never the
                            # writer's default of three decimals with red negatives
                            assert "[Red]" not in cell.number_format, where
    assert all(n > 0 for n in seen.values()), seen


def test_header_row_is_frozen_on_every_data_sheet(opened):
    for path, book in opened.items():
        for sheet in book.worksheets:
            if sheet.title.startswith("说明"):
                continue
            header_row = tables(sheet)[0][0]
            assert sheet.freeze_panes == f"A{header_row + 1}", (path.name, sheet.title, sheet.freeze_panes)


def _notes(book) -> list[tuple[str, str, str]]:
    sheet = book["说明 Notes"]
    header_row, first_col, last_row, headers = tables(sheet)[0]
    assert headers == ["项目 Item", "说明", "Explanation"]
    return [tuple(c.value or "" for c in row) for row in
            sheet.iter_rows(min_row=header_row + 1, max_row=last_row, min_col=first_col, max_col=first_col + 2)]


def test_every_workbook_explains_its_marks_on_a_notes_sheet_chinese_first(books, opened):
    cjk = re.compile(r"[\u4e00-\u9fff]")
    expected = {
        "feedback": ["隔离 quarantined", "置空 field blanked", "提示 flagged", "************", "以 ' 开头"],
        "submission": ["版式 Layout", "小数位 Decimals", "以 ' 开头"],
        "indicators": ["事件数少于20", "目标条件 Target operator", "以 ' 开头"],
    }
    for kind, paths in books.items():
        for path in paths:
            rows = _notes(opened[path])
            items = " ".join(r[0] for r in rows)
            for mark in expected[kind]:
                assert mark in items, (path.name, mark)
            for item, zh, en in rows:
                assert cjk.search(zh) or item.startswith("生成时间"), (path.name, item, zh)
                assert not cjk.search(en), (path.name, item, en)
    for path in books["indicators"]:   # the public edition explains its suppression, the internal one says it is internal
        items = [r[0] for r in _notes(opened[path])]
        assert ("小数保护 Suppression" if path.name.startswith("公开") else "内部使用 Internal") in items, path.name
    for path in books["submission"]:
        rows = _notes(opened[path])
        if path.name.startswith("公开"):   # the suppression marks of the public edition
            assert any(item == "小数保护 Suppression" and "一次抑制" in zh and "二次抑制" in zh for item, zh, _ in rows)
            assert any(item == "空白单元格 Empty cell" for item, _, _ in rows)
        else:                              # the internal edition names the column that marks them
            assert any(item == "公开版将抑制 Suppressed in public" for item, _, _ in rows)


# ----------------------------------------------------------------------------- 2. as a person sees it
def _render(workbook: Path, out: Path, target: str, timeout: int = 600) -> None:
    """LibreOffice headless conversion with its own profile; the whole process group ends on timeout."""
    profile = out / "lo_profile"
    command = ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
               "--outdir", str(out), str(workbook)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"LibreOffice did not convert {workbook.name} within {timeout} s")


def _pick(books) -> dict[str, Path]:
    """One workbook of each kind: the largest feedback workbook, the public submission, the indicators."""
    return {"feedback": max(books["feedback"], key=lambda p: p.stat().st_size),
            "submission": next(p for p in books["submission"] if p.name.startswith("公开")),
            "indicators": next(p for p in books["indicators"] if p.name.startswith("公开"))}


@pytest.fixture(scope="module")
def rendered(books, tmp_path_factory):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: the rendering check needs it")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF text check needs it")
    out = tmp_path_factory.mktemp("rendered")
    result = {}
    for kind, path in _pick(books).items():
        copy = out / f"{kind}.xlsx"          # ASCII names: LibreOffice names its outputs after the input
        shutil.copy(path, copy)
        _render(copy, out, "pdf")
        # every sheet to its own CSV, cells as shown (token 9) - LibreOffice 7.2+ (token 12 = -1)
        _render(copy, out, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1")
        text = subprocess.run(["pdftotext", "-raw", str(out / f"{kind}.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        sheets = {p.stem[len(kind) + 1:]: list(csv.reader(p.open(encoding="utf-8")))
                  for p in out.glob(f"{kind}-*.csv")}
        result[kind] = (path, text, sheets)
    return result


def test_libreoffice_shows_no_hashes_and_every_header_in_full(rendered, opened):
    for kind, (path, text, _) in rendered.items():
        assert "###" not in text, (kind, path.name)
        flat = re.sub(r"\s+", "", text)
        book = opened[path]
        for sheet in book.worksheets:
            for _, _, _, headers in tables(sheet):
                for header in headers:
                    assert re.sub(r"\s+", "", header) in flat, (kind, sheet.title, header)
            # Chinese text that fits the column is shown whole, nowhere cut to its first characters
            texts = {value for row in sheet.iter_rows(values_only=True) for value in row
                     if isinstance(value, str) and re.search(r"[\u4e00-\u9fff]", value) and display(value) <= CAP}
            for value in texts:
                assert re.sub(r"\s+", "", value) in flat, (kind, sheet.title, value)


def test_libreoffice_shows_years_plain_counts_whole_and_values_with_their_decimals(rendered, decimals):
    checked = {"year": 0, "count": 0, "unit": 0}
    for kind, (_path, _, sheets) in rendered.items():
        assert sheets, kind
        for name, rows in sheets.items():
            if name.startswith("说明"):
                continue
            header_at = next((i for i, r in enumerate(rows) if r and r[0] and len([c for c in r if c]) > 1), None)
            if header_at is None:      # a one-column note ("无 / none")
                continue
            header = rows[header_at]
            code = next((header.index(h) for h in CODE_HEADERS if h in header), None)
            for row in rows[header_at + 1:]:
                if not any(row) or row == header:
                    continue
                for title, cell in zip(header, row):
                    if not cell:
                        continue
                    if YEAR_HEADER.search(title) and re.fullmatch(r"[\d,.]+", cell):
                        assert re.fullmatch(r"\d{4}", cell), (kind, name, title, cell)
                        checked["year"] += 1
                    elif title in UNIT_VALUE_HEADERS and code is not None:
                        places = decimals[row[code]]
                        pattern = r"-?\d{1,3}(,\d{3})*" + (rf"\.\d{{{places}}}" if places else "")
                        assert re.fullmatch(pattern, cell), (kind, name, title, cell, places)
                        checked["unit"] += 1
                    elif re.search(r"行数|分子|分母|Rows|numerator|Numerator|Denominator|记录数", title) and \
                            re.fullmatch(r"-?[\d,.]+", cell):
                        assert not cell.endswith(".000"), (kind, name, title, cell)
                        if "," in cell or cell.isdigit():
                            checked["count"] += 1
    assert all(n > 0 for n in checked.values()), checked
