"""The final evaluation (终期监测报告): written from the marts, every catalogue indicator in it with its class,
the summary adding up, the furthest-from-target list in order, self-contained HTML, XLSX readable.
The verdict arithmetic is tested by hand-computed dbt unit tests (marts/evaluation/_unit_tests_evaluation.yml)."""
from __future__ import annotations

import re

import duckdb
import openpyxl
import pytest

from dagster_project.report.final_evaluation import write_final_evaluation
from tests.handover_warehouse import small_warehouse

pytestmark = pytest.mark.slow(seconds=45)


@pytest.fixture(scope="module")
def written(tmp_path_factory, worker_id):
    warehouse = small_warehouse(tmp_path_factory, worker_id)
    settings = warehouse.settings(tmp_path_factory.mktemp("final") / "exports")
    html, xlsx = write_final_evaluation(settings)
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        rows = con.execute("SELECT * FROM main_marts.rpt_final_evaluation WHERE area_code = "
                           "(SELECT min(area_code) FROM main_marts.dim_area WHERE level = 'county' AND is_reported)").pl()
        catalogue = {r[0] for r in con.execute("SELECT indicator_code FROM main_marts.dim_indicator").fetchall()}
        groups = dict(con.execute("SELECT status, evaluation_group FROM main_marts.dim_status").fetchall())
        latest = con.execute("SELECT max(period_year) FROM main_marts.fct_indicator_values").fetchone()[0]
    finally:
        con.close()
    return html, xlsx, rows, catalogue, groups, latest


def test_every_indicator_is_evaluated_with_the_class_of_its_status(written):
    html_path, _, rows, catalogue, groups, latest = written
    assert set(rows["indicator_code"]) == catalogue and rows.height == len(catalogue)
    for r in rows.iter_rows(named=True):
        assert r["evaluation_group"] == groups[r["status"]], r["indicator_code"]
    html = html_path.read_text(encoding="utf-8")
    assert set(re.findall(r'<tr data-indicator="([a-z0-9_]+)"', html)) == catalogue
    assert f"预评估，数据截至{latest}年" in html  # the small warehouse ends before the target year


def test_summary_counts_are_the_rows_and_the_furthest_list_is_in_order(written):
    html_path, xlsx_path, rows, *_ = written
    book = openpyxl.load_workbook(xlsx_path, read_only=True)
    assert book.sheetnames == ["汇总 Summary", "指标评估 Indicators", "未监测目标 Not monitored", "说明 Notes"]
    # internal: in the file names, the page title, and on every sheet (notes title, printed header)
    assert xlsx_path.name.startswith("内部使用_") and html_path.name.startswith("内部使用_")
    assert "<title>内部使用" in html_path.read_text(encoding="utf-8")
    assert str(next(book["说明 Notes"].iter_rows(max_row=1, values_only=True))[0]).startswith("内部使用")
    full = openpyxl.load_workbook(xlsx_path)
    assert all("内部使用" in (sheet.oddHeader.center.text or "") for sheet in full.worksheets)
    summary = list(book["汇总 Summary"].iter_rows(values_only=True))
    header = summary[0]
    totals = [dict(zip(header, r)) for r in summary[1:] if r[1] == "合计"]
    assert len(totals) == 2
    met = sum(t["达标 Met"] for t in totals)
    assert met == rows.filter(rows["evaluation_group"] == "met").height
    assert sum(t["指标数 Indicators"] for t in totals) == rows.height
    indicators = list(book["指标评估 Indicators"].iter_rows(values_only=True))
    assert len(indicators) - 1 == rows.height
    html = html_path.read_text(encoding="utf-8")
    furthest = html[html.index('id="furthest"'):html.index('id="indicators"')]
    listed = re.findall(r"<tr><td>([^<]+)</td>", furthest)
    expected = rows.filter(rows["evaluation_group"] == "not_met").drop_nulls("shortfall_rank") \
                   .sort("shortfall_rank").head(10)["name_zh"].to_list()
    assert listed == expected and listed


def test_the_page_is_self_contained(written):
    html = written[0].read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"(src|href)=\"(?!#)", html)
    assert '<html lang="zh-CN">' in html
