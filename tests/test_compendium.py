"""The statistical compendium (统计资料), both editions, as people open them (issue 19 item 1).

Written from the small hand-over warehouse (tests/handover_warehouse.py). The arithmetic of its tables (sex
comparison, marks, numbering) is hand-computed in dbt unit tests (marts/compendium/_unit_tests_compendium.yml);
here: one table by sex against values computed by hand from the warehouse, every catalogue indicator with its
unit, numbering, footnote marks, the public edition's protection together with the provincial submission
(tests/disclosure.py), the internal edition's marking, the workbook rendered by LibreOffice, the PDF's A4
pages rendered to images with nothing past the printable area, and the page's print layout in Chromium.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from dagster_project.exports.provincial_submission import protect_year, write_submission
from dagster_project.report import compendium as compendium_module
from dagster_project.report.compendium import compendium_paths, write_compendium
from tests.chromium_pages import CHROMIUM, mm_to_px, print_layout
from tests.compendium_workbook import SEX_HEADERS, column_key, public_compendium_cells, sheet_tables
from tests.disclosure import Ratio, Sum, derive, recovered, small_counts
from tests.handover_warehouse import small_warehouse

pytestmark = pytest.mark.slow(seconds=200)

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium (Debian package 'chromium'; `make browser` installs it): "
           "the PDF and print-layout checks need it")
CELL_SYMBOLS = {"×": "suppressed", "…": "withheld", "—": "no_value"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, worker_id):
    return small_warehouse(tmp_path_factory, worker_id)


@pytest.fixture(scope="module")
def written(warehouse, tmp_path_factory):
    settings = warehouse.settings(tmp_path_factory.mktemp("compendium") / "exports")
    result = write_compendium(settings)
    submission = write_submission(settings)
    return settings, result, submission


@pytest.fixture(scope="module")
def marts(warehouse):
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        yield con
    finally:
        con.close()


@pytest.fixture(scope="module")
def editions(written):
    settings, result, _ = written
    return {edition: sheet_tables(files["xlsx"]) for edition, files in result.files.items()}


# ---------------------------------------------------------------------------------------------- content
def test_files_are_named_by_year_and_edition(written):
    settings, result, _ = written
    for edition, name in (("public", "公开"), ("internal", "内部使用")):
        paths = compendium_paths(settings, result.year, edition)
        assert paths["xlsx"].name == f"{name}_统计资料_{result.year}.xlsx"
        assert paths["xlsx"].exists() and paths["html"].exists()


def test_one_table_by_sex_matches_values_computed_by_hand(editions, marts):
    """表 of low birth weight by sex, every year: 女 = low-weight girls / girls born × 100 (from the numerators and
    denominators), 女/男之比 = 女 ÷ 男; the population table by sex against the residents counted directly."""
    tables = marts.execute("SELECT table_no, indicator_code, table_kind, first_year, compendium_year "
                           "FROM main_marts.rpt_compendium_tables").pl()
    row = tables.filter(pl.col("indicator_code") == "c_hlt_low_birth_weight", pl.col("table_kind") == "by_sex_years").row(0, named=True)
    cells = marts.execute(
        "SELECT period_year, sex, numerator, denominator FROM main_marts.fct_indicator_values "
        "WHERE indicator_code = 'c_hlt_low_birth_weight' AND area_code = '430502' AND residence = '_T' AND age_group_code = '_T'").fetchall()
    by_hand = {(y, s): n / d * 100 for y, s, n, d in cells if d}
    printed = editions["internal"][row["table_no"]]
    keys = [column_key(h) for h in printed["header"]]
    assert keys[1:] == ["female", "male", "total", "comparison", "note"], printed["header"]
    assert printed["header"][4] == "女/男之比 female/male ratio（男=1）" and printed["unit"] == "%"
    years = list(range(row["first_year"], row["compendium_year"] + 1))
    assert [r[0] for r in printed["rows"]] == [f"{y}年" for y in years]
    checked = 0
    for label, female, male, total, ratio, _ in printed["rows"]:
        year = int(label[:4])
        if (year, "2") not in by_hand:
            assert female in ("…", "—"), (year, female)
            continue
        assert female == pytest.approx(by_hand[(year, "2")])
        assert male == pytest.approx(by_hand[(year, "1")])
        assert total == pytest.approx(by_hand[(year, "_T")])
        assert ratio == pytest.approx(by_hand[(year, "2")] / by_hand[(year, "1")])
        checked += 1
    assert checked >= 3
    # population by sex, latest year: residents counted straight from the staging table
    latest = row["compendium_year"]
    counted = dict(marts.execute("SELECT sex, sum(population) FROM main_staging.stg_population__residents "
                                 "WHERE period_year = ? GROUP BY sex", [latest]).fetchall())
    population = editions["internal"]["表1-1"]
    last = next(r for r in population["rows"] if r[0] == f"{latest}年")
    assert last[1:4] == [counted["2"], counted["1"], sum(counted.values())]
    assert last[4] == pytest.approx(counted["2"] / sum(counted.values()) * 100)


def test_every_catalogue_indicator_appears_with_its_unit_in_both_editions(editions, marts):
    catalogue = marts.execute("SELECT name_zh, unit_label_zh FROM main_marts.dim_indicator").fetchall()
    for edition, tables in editions.items():
        for name, unit in catalogue:
            assert any(t["title"].startswith(name + "（") and t["unit"] == unit for t in tables.values()), \
                (edition, name, unit)
        for number, table in tables.items():
            # the unit in every value header: 女 Female（%）…
            for header in table["header"][1:-1]:
                assert header.endswith("）") and "（" in header, (edition, number, header)
            sexes = [h for h in table["header"] if column_key(h) in SEX_HEADERS.values()]
            assert sexes and all(h.endswith(f"（{table['unit']}）") for h in sexes), (edition, number)


def test_tables_are_numbered_in_order_within_each_chapter(editions, marts, written):
    expected = marts.execute("SELECT table_no FROM main_marts.rpt_compendium_tables ORDER BY table_order").fetchall()
    for edition, tables in editions.items():
        assert list(tables) == [n for (n,) in expected], edition
        by_chapter: dict[int, list[int]] = {}
        sheets: dict[int, set[str]] = {}
        for table in tables.values():
            by_chapter.setdefault(table["chapter"], []).append(table["seq"])
            sheets.setdefault(table["chapter"], set()).add(table["sheet"])
        assert list(by_chapter) == list(range(1, len(by_chapter) + 1))
        for chapter, numbers in by_chapter.items():
            assert numbers == list(range(1, len(numbers) + 1)), (edition, chapter)
            assert len(sheets[chapter]) == 1  # one sheet per chapter
        # the 目录 sheet lists every table with its sheet
        book = openpyxl.load_workbook(written[1].files[edition]["xlsx"], read_only=True)
        contents = [r for r in book["目录 Contents"].iter_rows(values_only=True)][1:]
        assert [r[0] for r in contents] == list(tables)
        assert book.sheetnames[0].startswith("说明") and book.sheetnames[-1].startswith("指标解释")


def test_every_mark_has_its_footnote_and_every_footnote_its_mark(editions):
    seen = {"public": set(), "internal": set()}
    for edition, tables in editions.items():
        for number, table in tables.items():
            symbols = set()
            for r in table["rows"]:
                symbols |= {v for v in r[1:-1] if isinstance(v, str)}
                note = r[-1] or ""
                symbols |= {s for s in ("*", "#", "△") if s in note}
            footnote_symbols = {n.split(" ")[0] for n in table["notes"]}
            assert symbols == footnote_symbols, (edition, number, symbols, table["notes"])
            seen[edition] |= symbols
    # the public edition shows suppressed cells as ×, never marks them △; the internal edition the reverse
    assert "×" in seen["public"] and "△" not in seen["public"]
    assert "△" in seen["internal"] and "×" not in seen["internal"]
    assert {"*", "…"} <= seen["public"]  # small numbers and withheld years occur in the small warehouse


def test_internal_edition_is_marked_in_name_title_and_every_sheet(written):
    _, result, _ = written
    for edition, notice in (("internal", "内部使用·未做小数保护"), ("public", "公开版·已做小数保护")):
        files = result.files[edition]
        book = openpyxl.load_workbook(files["xlsx"])
        for sheet in book.worksheets:
            top = " ".join(str(c.value) for row in sheet.iter_rows(min_row=1, max_row=4) for c in row if c.value)
            header = sheet.oddHeader.center.text or ""
            assert notice in header, (edition, sheet.title, header)
            if not sheet.title.startswith(("目录", "指标解释")):
                assert notice in top, (edition, sheet.title)
        html = files["html"].read_text(encoding="utf-8")
        assert f"·{'内部使用' if edition == 'internal' else '公开'}</title>" in html
        assert ('class="banner"' in html) == (edition == "internal")
        assert not re.search(r"<(script|link|img|iframe)\b", html) and not re.search(r"(src|href)=\"(?!#)", html)


# ---------------------------------------------------------------------------------------------- disclosure
def _public_submission_cells(submission) -> tuple[dict, int]:
    """(published cells {key: value}, year) of the public submission workbook as stored."""
    path = next(p for p in submission.files if p.name.startswith("公开_省级报送") and p.suffix == ".xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    known = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        if not rows or "地区代码 Area code" not in rows[0]:  # the figures, not the notes or 报送情况
            continue
        header = list(rows[0])
        at = {h: header.index(h) for h in header if h}
        for r in rows[1:]:
            code, area = r[at["指标代码 Code"]], r[at["地区代码 Area code"]]
            for sex, label in (("2", "女"), ("1", "男"), ("_T", "合计")):
                value = r[at[f"{label} {dict(女='Female', 男='Male', 合计='Total')[label]}"]]
                numerator = r[at[f"{label}·分子 {dict(女='Female', 男='Male', 合计='Total')[label]} numerator"]]
                if isinstance(value, (int, float)):
                    known[("v", code, submission.year, area, "_T", sex)] = float(value)
                if isinstance(numerator, (int, float)):
                    known[("n", code, submission.year, area, "_T", sex)] = float(numerator)
    return known, submission.year


def _relations(marts, year: int, district: str):
    """The sums and ratios tying the counts of the latest year, and the cells a reader must be assumed to
    know (unknown sex, the rest of an area or residence total): from the internal values."""
    cells = marts.execute(
        """SELECT v.indicator_code, v.area_code, v.residence, v.sex, v.numerator, v.denominator, i.factor, i.unit
           FROM main_marts.fct_indicator_values v
           JOIN main_marts.dim_indicator i ON i.indicator_code = v.indicator_code AND i.age_group_code = v.age_group_code
           JOIN main_marts.dim_area a ON a.area_code = v.area_code AND a.is_reported
           WHERE v.period_year = ? AND i.aggregation = 'sum' AND i.derivation IS NULL AND i.unit <> 'years'""",
        [year]).fetchall()
    count = {}
    ratios, sums, fixed = [], [], {}
    units = {}
    for code, area, residence, sex, numerator, denominator, factor, unit in cells:
        units[code] = (unit, factor)
        for measure, value in (("n", numerator), ("d", denominator)):
            if value is not None:
                count[(measure, code, year, area, residence, sex)] = value
        key = (code, year, area, residence, sex)
        if unit == "count":
            sums.append(Sum(("v", *key), (("n", *key),)))
        elif denominator is not None:
            ratios.append(Ratio(("v", *key), ("n", *key), ("d", *key), factor))
    townships = [a for (a,) in marts.execute(
        "SELECT area_code FROM main_marts.dim_area WHERE is_reported AND parent_code = ?", [district]).fetchall()]
    groups: dict[tuple, dict] = {}
    for (measure, code, y, area, residence, sex), value in count.items():
        groups.setdefault((measure, code, y), {})[(area, residence, sex)] = value
    def add_line(group: tuple, values: dict, total_key: tuple, part_keys: list, tag: str) -> None:
        if total_key not in values:
            return
        rest = values[total_key] - sum(values.get(p, 0.0) for p in part_keys)
        rest_key = (*group, tag, *total_key)
        fixed[rest_key] = rest
        sums.append(Sum((*group, *total_key), tuple((*group, *p) for p in part_keys) + (rest_key,)))

    for group, values in groups.items():
        for (area, residence) in {(a, r) for a, r, _ in values}:
            add_line(group, values, (area, residence, "_T"), [(area, residence, "2"), (area, residence, "1")],
                     "~unknown_sex")
        for sex in ("2", "1", "_T"):
            add_line(group, values, (district, "_T", sex), [(t, "_T", sex) for t in townships], "~other_area")
            add_line(group, values, (district, "_T", sex), [(district, "urban", sex), (district, "rural", sex)],
                     "~other_residence")
    return count, sums, ratios, fixed


def _population_relations(marts, year: int, district: str):
    rows = marts.execute("SELECT township_code, age_group_code, sex, sum(population) FROM "
                         "main_intermediate.int_population_by_age_group p JOIN main_marts.dim_age_group g USING (age_group_code) "
                         "WHERE period_year = ? AND g.kind IN ('total', 'five_year') GROUP BY ALL", [year]).fetchall()
    value: dict = {}
    for area, age, sex, n in rows:
        for a in (area, district):
            for s in (sex, "_T"):
                value[("p", year, a, age, s)] = value.get(("p", year, a, age, s), 0) + float(n)
    sums, fixed = [], {}
    areas = sorted({k[2] for k in value})
    ages = sorted({k[3] for k in value} - {"_T"})
    for a in areas:
        for age in [*ages, "_T"]:
            rest = ("p~unknown", year, a, age)
            fixed[rest] = value.get(("p", year, a, age, "_T"), 0) - value.get(("p", year, a, age, "2"), 0) \
                - value.get(("p", year, a, age, "1"), 0)
            sums.append(Sum(("p", year, a, age, "_T"), (("p", year, a, age, "2"), ("p", year, a, age, "1"), rest)))
    for s in ("2", "1", "_T"):
        sums.append(Sum(("p", year, district, "_T", s), tuple(("p", year, district, g, s) for g in ages)))
        sums.append(Sum(("p", year, district, "_T", s), tuple(("p", year, a, "_T", s) for a in areas if a != district)))
    return value, sums, fixed


def _disclosure(written, tables, marts):
    """What a reader holding the public submission and `tables` (a compendium edition) knows and can derive."""
    settings, result, submission = written
    year, district = result.year, "430502"
    known, submission_year = _public_submission_cells(submission)
    assert submission_year == year
    known.update(public_compendium_cells(tables, marts))
    count, sums, ratios, fixed = _relations(marts, year, district)
    population, population_sums, population_fixed = _population_relations(marts, year, district)
    known = {**known, **fixed, **population_fixed}
    relations = (sums + population_sums, ratios)
    return known, derive(known, *relations), relations, [*count, *population], count


def test_the_disclosure_check_finds_the_small_counts_of_the_internal_edition(written, editions, marts):
    """The check can fail: the unprotected internal edition beside the public submission reveals small counts."""
    _, pool, _, counts, _ = _disclosure(written, editions["internal"], marts)
    assert small_counts(pool, counts, written[0].small_cell_threshold)


def test_public_compendium_with_the_public_submission_reveals_no_suppressed_or_small_count(
        written, editions, marts, warehouse):
    settings, result, _ = written
    year = result.year
    known, pool, (all_sums, ratios), counts, count = _disclosure(written, editions["public"], marts)
    threshold = settings.small_cell_threshold
    # 1. no count from 1 to the threshold is shown or can be worked out
    assert small_counts(pool, counts, threshold) == {}
    # 2. no count the submission suppressed can be worked out with the compendium beside it
    protected = protect_year(marts, year, threshold).cells
    hidden = set()
    for r in protected.iter_rows(named=True):
        for measure, status in (("n", r["numerator_status"]), ("d", r["denominator_status"])):
            if status in ("primary", "secondary"):
                hidden.add((measure, r["indicator_code"], year, r["area_code"], "_T", r["sex"]))
    assert hidden, "the small warehouse has suppressed cells"
    leaked = recovered(hidden, known, all_sums, ratios)
    assert leaked == {}
    # 3. every cell the compendium suppresses (urban/rural, townships, population) stays unknown
    from dagster_project.report.compendium_data import load_compendium
    book = load_compendium(marts, threshold)
    suppressed = 0
    for r in book.rows.iter_rows(named=True):
        for sex, column in (("2", "female_status"), ("1", "male_status"), ("_T", "total_status")):
            if r[column] not in ("primary", "secondary"):
                continue
            suppressed += 1
            if r["indicator_code"] is None:
                assert ("p", r["period_year"], r["area_code"], r["age_group_code"], sex) not in pool
                continue
            key = (r["indicator_code"], r["period_year"], r["area_code"], r["residence"], sex)
            assert ("v", *key) not in known, key
            counts = [(m, *key) for m in ("n", "d") if (m, *key) in count]
            if r["period_year"] == year and counts:
                assert not all(c in pool for c in counts), key  # at least the hidden count stays unknown
    assert suppressed


def test_public_edition_shows_no_suppressed_value_the_internal_edition_has(editions):
    for number, internal in editions["internal"].items():
        public = editions["public"][number]
        assert len(public["rows"]) == len(internal["rows"])
        for pub, inn in zip(public["rows"], internal["rows"]):
            for p, i in zip(pub[1:-1], inn[1:-1]):
                if p == "×":
                    assert isinstance(i, (int, float)) and "△" in (inn[-1] or ""), (number, pub, inn)
                else:
                    assert p == i, (number, pub, inn)


# ---------------------------------------------------------------------------------------------- as opened
def test_workbook_renders_in_libreoffice_with_headers_whole(written, tmp_path):
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice (soffice) and pdftotext (poppler-utils) are needed for the rendering check")
    from tests.test_workbooks_readable import _render, display, widths

    source = written[1].files["public"]["xlsx"]
    copy = tmp_path / "compendium.xlsx"
    shutil.copy(source, copy)
    _render(copy, tmp_path, "pdf")
    text = subprocess.run(["pdftotext", "-raw", str(tmp_path / "compendium.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "###" not in text
    flat = re.sub(r"\s+", "", text)
    book = openpyxl.load_workbook(source)
    headers = set()
    for sheet in book.worksheets:
        stored = widths(sheet)
        for table in sheet.tables.values():
            first = openpyxl.utils.range_boundaries(table.ref)
            for col in range(first[0], first[2] + 1):
                header = sheet.cell(first[1], col).value
                headers.add(header)
                # stored width holds the header (CJK two columns, bold and the filter button a margin)
                assert stored.get(col, 0) >= min(display(header), 60), (sheet.title, header, stored.get(col))
    for header in headers:
        assert re.sub(r"\s+", "", header) in flat, header


def _page_boxes(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of each page, from the page objects' MediaBox."""
    data = pdf.read_bytes()
    boxes = re.findall(rb"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]",
                       data, flags=re.S)
    if not boxes:  # the MediaBox may come before /Type
        boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]


A4 = (595.28, 841.89)  # points


@needs_chromium
def test_pdf_pages_are_a4_and_nothing_is_printed_past_the_printable_area(written, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is needed to render the PDF pages")
    _, result, _ = written
    for edition, files in result.files.items():
        assert "pdf" in files, result.pdf_note
        boxes = _page_boxes(files["pdf"])
        assert len(boxes) > 10, edition
        portrait = landscape = 0
        for width, height in boxes:
            if width < height:
                assert (width, height) == pytest.approx(A4, abs=1.5)
                portrait += 1
            else:
                assert (height, width) == pytest.approx(A4, abs=1.5)
                landscape += 1
        assert portrait and landscape  # 指标解释 is printed on landscape pages
        # render every page (grey, 36 dpi) and look at the margins: nothing runs into them or is cut at the
        # page edge (Chromium would rather shrink a too wide page: the print-layout test below rules that out)
        out = tmp_path / edition
        out.mkdir()
        subprocess.run(["pdftoppm", "-gray", "-r", "36", str(files["pdf"]), str(out / "p")], check=True, timeout=600)
        pages = sorted(out.glob("p-*.pgm"))
        assert len(pages) == len(boxes)
        for page in pages:
            width, height, pixels = _read_pgm(page)
            margin = int(36 / 25.4 * 8)   # the outer 8 mm of the 12 mm side margins
            for y in range(height):
                row = pixels[y * width:(y + 1) * width]
                assert min(row[:margin]) > 200 and min(row[width - margin:]) > 200, (edition, page.name, y)


def _read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    parts = re.match(rb"P5\s+(?:#.*\s+)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(parts.group(1)), int(parts.group(2))
    return width, height, data[parts.end():parts.end() + width * height]


TABLE_FIT = """(() => {
  const out = [];
  for (const t of document.querySelectorAll(SELECTOR)) {
    const box = t.parentElement.getBoundingClientRect();
    out.push({id: (t.closest('[data-table]') || t.closest('section')).id, table: t.scrollWidth,
              container: Math.ceil(box.width), right: t.getBoundingClientRect().right, page: window.innerWidth});
  }
  // a page wider than the printable area would be shrunk to fit by Chromium's printing: none is
  out.push({id: 'document', table: document.documentElement.scrollWidth, container: window.innerWidth,
            right: 0, page: window.innerWidth});
  return out;
})()"""


@needs_chromium
def test_no_table_is_wider_than_the_printable_area_in_print_layout(written):
    pytest.importorskip("websockets.sync.client", reason="the websockets package is needed for the DevTools protocol")
    html = written[1].files["public"]["html"]
    for selector, width_mm in (("section.chapter table", 210 - 24), ("section.wide table", 297 - 24)):
        boxes = print_layout(html, mm_to_px(width_mm), TABLE_FIT.replace("SELECTOR", repr(selector)))
        assert boxes, selector
        for box in boxes:
            assert box["table"] <= box["container"] + 1, box
            assert box["right"] <= box["page"] + 1, box


def test_without_chromium_the_workbook_and_page_are_written_and_the_run_says_why(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr("dagster_project.report.pdf.chromium_path", lambda: None)
    settings = warehouse.settings(tmp_path / "exports")
    result = write_compendium(settings)
    assert "未安装 Chromium" in result.pdf_note and "Chromium is not installed" in result.pdf_note
    for files in result.files.values():
        assert set(files) == {"xlsx", "html"} and all(p.exists() for p in files.values())
    assert not list(settings.reports_dir.glob("*.pdf"))
    assert compendium_module.NAME == "统计资料"
