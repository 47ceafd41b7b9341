"""A late report end to end: a birth of statistical year 2023 sent in births_2024 counts in 2023.

Two pipeline runs (the CLI, as `make run`) on a small clean raw folder with 2023 and 2024: the first as
generated, the second after one 2023 birth (15 Aug 2023) is added to births_2024.csv. The 2023 birth count
changes by one, 2024's does not; the late report is listed in marts.fct_late_reported_events and in the
health feedback workbooks; the 2024 submission's diff lists the 2023 cells as a revision of an earlier year.
"""
from __future__ import annotations

import csv
import io

import duckdb
import openpyxl
import polars as pl
import pytest

from tests.pipeline_runs import generate_raw, module_workspace, run_cli

pytestmark = pytest.mark.slow(seconds=100)

DISTRICT = "430502"
LATE_ID = "B_LATE_20230815"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    yield from module_workspace(tmp_path_factory, "late_reports")


def _births(con, year: int) -> dict[str, tuple[float, float]]:
    """District live births by sex of a statistical year, from the sex ratio's numerator (boys) and denominator (girls)."""
    num, den = con.execute(
        "SELECT numerator, denominator FROM main_marts.fct_indicator_values WHERE indicator_code = 'c_hlt_sex_ratio_at_birth' "
        "AND period_year = ? AND area_code = ? AND sex = '_T' AND residence = '_T'", [year, DISTRICT]).fetchone()
    return {"1": num, "2": den}


@pytest.fixture(scope="module")
def runs(ws):
    generate_raw(ws["raw"], "--clean")
    first = run_cli(ws)
    assert first.returncode == 0, first.output[-6000:]
    work_db = ws["warehouse"] / "work.duckdb"
    with duckdb.connect(str(work_db), read_only=True) as con:
        before = {y: _births(con, y) for y in (2023, 2024)}
        late_before = con.execute("SELECT count(*) FROM main_marts.fct_late_reported_events").fetchone()[0]

    path = ws["raw"] / "health" / "births_2024.csv"
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    late = {**rows[0], "birth_id": LATE_ID, "birth_date": "2023-08-15"}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writerow(late)
    path.write_text(text.rstrip("\n") + "\n" + out.getvalue(), encoding="utf-8")

    second = run_cli(ws)
    assert second.returncode == 0, second.output[-6000:]
    with duckdb.connect(str(work_db), read_only=True) as con:
        after = {y: _births(con, y) for y in (2023, 2024)}
        late_rows = con.execute(
            "SELECT extract, file_period_year, event_period_year, township_code, late_records, is_counted_in_indicators "
            "FROM main_marts.fct_late_reported_events").fetchall()
        ledger = con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined, (SELECT count(*) FROM raw.births WHERE _load_id = f.load_id) "
            "FROM audit.file_loads f WHERE extract = 'births' AND period_year = 2024 AND is_current").fetchall()
    return {"before": before, "after": after, "late_before": late_before, "late_rows": late_rows, "late": late,
            "ledger": ledger}


def test_the_late_birth_moves_one_count_into_2023_only(runs):
    sex = runs["late"]["child_sex"]
    other = "2" if sex == "1" else "1"
    before, after = runs["before"], runs["after"]
    assert after[2023][sex] == before[2023][sex] + 1
    assert after[2023][other] == before[2023][other]
    assert after[2024] == before[2024]


def test_the_late_birth_is_listed_and_every_row_is_accounted_for(runs):
    assert runs["late_before"] == 0  # the clean generator sends every event in its own year's file
    assert runs["late_rows"] == [("births", 2024, 2023, runs["late"]["township_code"], 1, True)]
    (read, loaded, quarantined, in_raw), = runs["ledger"]
    assert read == loaded + quarantined and loaded == in_raw and quarantined == 0


def test_the_feedback_workbooks_say_which_year_was_revised(runs, ws):
    sentence = "迟报：2024年度文件中有1条出生事件发生在2023统计年度，已计入2023年度（修订2023年数据）。"
    for year in (2024, 2023):  # the late file's workbook and the revised year's
        book = openpyxl.load_workbook(ws["exports"] / "feedback" / f"health_{year}.xlsx", read_only=True)
        rows = list(book["迟报 Late reports"].iter_rows(values_only=True))
        assert rows[1][4] == sentence, (year, rows[:2])


def test_the_submission_diff_lists_the_revision_of_2023(runs, ws):
    year_dir = ws["exports"] / "submissions" / "2024"
    latest = year_dir / (year_dir / "LATEST").read_text(encoding="utf-8").strip()
    diff_path, = latest.glob("内部使用_未做小数保护_变更清单_2024_*.csv")
    frame = pl.read_csv(diff_path, infer_schema_length=0)
    ratio = frame.filter((pl.col("指标代码 Code") == "c_hlt_sex_ratio_at_birth") & (pl.col("地区代码 Area code") == DISTRICT)
                         & (pl.col("城乡 Residence") == "_T"))
    assert ratio["年度 Year"].to_list() == ["2023"]
    row = ratio.row(0, named=True)
    assert row["往年修订 Earlier year"] == "往年修订 revision of an earlier year"
    change = "原分子 Old numerator", "新分子 New numerator"
    if runs["late"]["child_sex"] == "2":
        change = "原分母 Old denominator", "新分母 New denominator"
    assert float(row[change[1]]) - float(row[change[0]]) == 1.0
    assert row["引起变更的加载 Loads that changed it"].startswith("births-2024")
    # nothing of 2024's live births changed: no 2024 row of the sex ratio
    assert frame.filter((pl.col("指标代码 Code") == "c_hlt_sex_ratio_at_birth") & (pl.col("年度 Year") == "2024")).height == 0
