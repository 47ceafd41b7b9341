"""The provincial submission: files, fixed layout, values equal to the warehouse, SDMX codes, formula
neutralisation, kept copies with a LATEST pointer, the diff against the last submission, and the Dagster assets."""
from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import openpyxl
import polars as pl
import pytest

from dagster_project.exports.diff import source_extracts, write_diff
from dagster_project.exports.provincial_submission import (
    INTERNAL_NOTE,
    INTERNAL_PREFIX,
    PUBLIC_PREFIX,
    latest_snapshot,
    write_submission,
)
from tests.handover_warehouse import small_warehouse

pytestmark = pytest.mark.slow(seconds=45)

FIXED_COLUMNS = ["领域 Domain", "指标代码 Code", "指标名称 Indicator", "单位 Unit", "地区代码 Area code", "地区 Area",
                 "女 Female", "男 Male", "合计 Total", "目标 Target", "目标值 Target value", "达标状态 Status"]
SEX_COLUMNS = {"2": "女 Female", "1": "男 Male", "_T": "合计 Total"}


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory, worker_id):
    return small_warehouse(tmp_path_factory, worker_id)


@pytest.fixture(scope="module")
def submission(warehouse, tmp_path_factory):
    settings = warehouse.settings(tmp_path_factory.mktemp("submission") / "exports")
    return settings, write_submission(settings)


def warehouse_cells(warehouse, year: int) -> dict[tuple[str, str, str], float | None]:
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        rows = con.execute(
            """SELECT v.indicator_code, v.area_code, v.sex, v.value FROM main_marts.fct_indicator_values v
               JOIN main_marts.dim_indicator i ON i.indicator_code = v.indicator_code AND i.age_group_code = v.age_group_code
               WHERE v.period_year = ? AND v.residence = '_T' AND v.sex IN ('1', '2', '_T')""", [year]).fetchall()
    finally:
        con.close()
    return {(c, a, s): v for c, a, s, v in rows}


def test_files_of_both_variants_are_written(submission):
    settings, result = submission
    year = result.year
    names = {p.name for p in result.snapshot_dir.iterdir()}
    for prefix in (PUBLIC_PREFIX, INTERNAL_PREFIX):
        assert {f"{prefix}_省级报送_{year}.xlsx", f"{prefix}_省级报送_{year}.csv", f"{prefix}_SDMX_{year}.csv"} <= names
    parquet = {p.name for p in (result.snapshot_dir / f"{INTERNAL_PREFIX}_parquet").iterdir()}
    assert {"fct_indicator_values.parquet", "fct_early_warnings.parquet", "fct_target_attainment.parquet",
            "fct_gender_gaps.parquet", "dim_indicator.parquet"} <= parquet
    assert (result.snapshot_dir.parent / "LATEST").read_text(encoding="utf-8").strip() == result.snapshot_dir.name
    assert latest_snapshot(settings, year) == result.snapshot_dir
    # one pointer: a `latest` link would be the same name as LATEST on a case-insensitive (Windows) share
    assert [p.name for p in result.snapshot_dir.parent.iterdir() if p.name.lower() == "latest"] == ["LATEST"]


def test_a_leftover_latest_link_is_removed(warehouse, tmp_path):
    """Earlier versions also wrote a `latest` symlink; the next run removes it, new snapshot or not."""
    settings = warehouse.settings(tmp_path / "exports")
    first = write_submission(settings)
    year_dir = first.snapshot_dir.parent
    (year_dir / "latest").symlink_to(first.snapshot_dir.name, target_is_directory=True)
    again = write_submission(settings)
    assert not again.is_new and again.snapshot_dir == first.snapshot_dir
    assert not (year_dir / "latest").is_symlink() and (year_dir / "LATEST").is_file()


def test_workbook_has_a_sheet_per_domain_in_the_fixed_layout(submission, warehouse):
    _, result = submission
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    domains = {r[0] for r in con.execute("SELECT DISTINCT domain_zh FROM main_marts.dim_indicator").fetchall()}
    con.close()
    for prefix in (PUBLIC_PREFIX, INTERNAL_PREFIX):
        book = openpyxl.load_workbook(result.snapshot_dir / f"{prefix}_省级报送_{result.year}.xlsx", read_only=False)
        assert book.sheetnames[:3] == ["说明 Notes", "报送情况 Completeness", "扣发与覆盖不全 Withheld"]
        assert set(book.sheetnames[3:]) == domains
        for name in book.sheetnames[3:]:
            header = [c.value for c in book[name][1]][: len(FIXED_COLUMNS)]
            assert header == FIXED_COLUMNS, name
        # 报送情况: one row per extract and department form of the year, as the completeness mart says
        completeness = list(book["报送情况 Completeness"].iter_rows(values_only=True))
        assert completeness[0][:4] == ("报送数据 Input", "状态 Status", "报送乡镇 Townships reporting", "报送率% Reporting rate")
        assert ("可用记录 Usable rows" in completeness[0]) == (prefix == INTERNAL_PREFIX)
        # columns as wide as their headers (a width in characters, not the pixels-for-characters of before)
        sheet = book["报送情况 Completeness"]
        assert sheet.column_dimensions["A"].width >= len("报送数据 Input") and sheet.column_dimensions["B"].width >= 10
        statuses = {r[0]: r[1] for r in completeness[1:]}
        assert statuses["常住人口"] == "已报送" and len(statuses) >= 13
        notes = [book["说明 Notes"].cell(row=r, column=1).value for r in range(1, 4)]
        if prefix == INTERNAL_PREFIX:
            assert INTERNAL_NOTE in notes
            assert INTERNAL_NOTE in book[book.sheetnames[3]].oddHeader.center.text
        else:
            assert INTERNAL_NOTE not in notes


def test_export_values_equal_warehouse_values(submission, warehouse):
    _, result = submission
    expected = warehouse_cells(warehouse, result.year)
    internal = pl.read_csv(result.snapshot_dir / f"{INTERNAL_PREFIX}_省级报送_{result.year}.csv", infer_schema_length=0)
    public = pl.read_csv(result.snapshot_dir / f"{PUBLIC_PREFIX}_省级报送_{result.year}.csv", infer_schema_length=0)
    seen = 0
    for frame, is_public in ((internal, False), (public, True)):
        for row in frame.iter_rows(named=True):
            for sex, column in SEX_COLUMNS.items():
                key = (row["指标代码 Code"], row["地区代码 Area code"], sex)
                got = None if row[column] in (None, "") else float(row[column])
                if key not in expected:
                    assert got is None, key
                elif is_public and got is None:
                    continue  # suppressed (checked in test_suppression)
                else:
                    assert got == expected[key], (key, got, expected[key])
                    seen += 1
    assert seen > 1000
    # the workbook holds the same numbers as the CSV
    book = openpyxl.load_workbook(result.snapshot_dir / f"{INTERNAL_PREFIX}_省级报送_{result.year}.xlsx", read_only=True)
    for name in book.sheetnames[3:]:  # after the notes, 报送情况 and the withheld figures
        rows = list(book[name].iter_rows(values_only=True))
        header = list(rows[0])
        for r in rows[1:]:
            record = dict(zip(header, r))
            for sex, column in SEX_COLUMNS.items():
                key = (record["指标代码 Code"], str(record["地区代码 Area code"]), sex)
                if key in expected and expected[key] is not None:
                    assert record[column] == expected[key], key


def test_sdmx_csv_codes_and_values(submission, warehouse):
    """Each SDMX observation is the warehouse's value under its SDMX key (what readers and the structure make
    of it: tests/test_sdmx.py); suppressed public cells carry no value."""
    _, result = submission
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        all_values = {
            (c.upper(), a, s, g, r): v for c, a, s, g, r, v in con.execute(
                """SELECT v.indicator_code, v.area_code, v.sex_sdmx, regexp_replace(v.age_group_code, '_\\d+Y$', ''),
                          CASE v.residence WHEN 'urban' THEN 'U' WHEN 'rural' THEN 'R' ELSE '_T' END, v.value
                   FROM main_marts.fct_indicator_values v WHERE v.period_year = ?""", [result.year]).fetchall()}
    finally:
        con.close()
    for prefix in (PUBLIC_PREFIX, INTERNAL_PREFIX):
        sdmx = pl.read_csv(result.snapshot_dir / f"{prefix}_SDMX_{result.year}.csv", infer_schema_length=0)
        assert sdmx.columns == ["STRUCTURE", "STRUCTURE_ID", "ACTION", "REF_AREA", "INDICATOR", "SEX", "AGE",
                                "URBANISATION", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "PERIOD_BASIS",
                                "OBS_STATUS", "CONF_STATUS"]
        assert set(sdmx["STRUCTURE_ID"]) == {"CN_430502:WCH_PLAN_MONITORING(1.0)"}
        assert set(sdmx["SEX"]) <= {"F", "M", "_T"}
        assert set(sdmx["URBANISATION"]) <= {"_T", "U", "R"}
        assert sdmx["AGE"].str.contains(r"^(_T|Y\d+(T\d+)?|Y_GE\d+)$").all()
        assert set(sdmx["TIME_PERIOD"]) <= {str(result.year), f"{result.year - 1}-10-01/P1Y", f"{result.year}-09-01/P1Y"}
        assert set(sdmx["CONF_STATUS"]) <= {"F", "C", "D", "N"}
        assert sdmx.select("REF_AREA", "INDICATOR", "SEX", "AGE", "URBANISATION").is_duplicated().sum() == 0
        for row in sdmx.iter_rows(named=True):
            key = (row["INDICATOR"], row["REF_AREA"], row["SEX"], row["AGE"], row["URBANISATION"])
            assert key in all_values, key
            if row["OBS_VALUE"] != "NaN":
                assert float(row["OBS_VALUE"]) == all_values[key], key
            elif prefix == PUBLIC_PREFIX and row["CONF_STATUS"] == "C":
                assert row["OBS_STATUS"] == "Q", key
            else:
                assert all_values[key] is None or math.isnan(all_values[key]), key
        if prefix == PUBLIC_PREFIX:
            assert (sdmx["CONF_STATUS"] != "N").all()
            assert (sdmx.filter(pl.col("CONF_STATUS") == "C")["OBS_VALUE"] == "NaN").all()
            assert "D" not in set(sdmx["CONF_STATUS"])  # primary and secondary look the same in public
        else:
            assert sdmx.height > 3 * pl.read_csv(result.snapshot_dir / f"{PUBLIC_PREFIX}_SDMX_{result.year}.csv").height / 2


def test_formula_like_text_is_neutralised_everywhere(warehouse, tmp_path):
    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    con = duckdb.connect(str(data_dir / "work.duckdb"))
    con.execute("UPDATE main_marts.dim_indicator SET name_zh = '=HYPERLINK(\"http://x\",\"点我\")' WHERE indicator_code = 'c_hlt_infant_mortality'")
    con.execute("UPDATE main_marts.dim_area SET name_zh = '+cmd|'' /C calc''!A0' WHERE area_code = '430502001'")
    con.close()
    settings = warehouse.settings(tmp_path / "exports", data_dir=data_dir)
    result = write_submission(settings)
    for prefix in (PUBLIC_PREFIX, INTERNAL_PREFIX):
        csv_text = (result.snapshot_dir / f"{prefix}_省级报送_{result.year}.csv").read_text(encoding="utf-8-sig")
        assert "'=HYPERLINK" in csv_text and "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text
        assert ",'+cmd" in csv_text and ",+cmd" not in csv_text
        book = openpyxl.load_workbook(result.snapshot_dir / f"{prefix}_省级报送_{result.year}.xlsx")
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


def test_copies_are_kept_and_an_unchanged_run_writes_no_new_one(warehouse, tmp_path):
    settings = warehouse.settings(tmp_path / "exports")
    first = write_submission(settings, now=dt.datetime(2025, 3, 1, 9, 0, 0))
    again = write_submission(settings, now=dt.datetime(2025, 3, 1, 9, 5, 0))
    assert first.is_new and not again.is_new and again.snapshot_dir == first.snapshot_dir
    assert write_diff(settings, first.year).path is None  # first submission: nothing to compare


def test_diff_lists_every_changed_value_with_the_load_behind_it(warehouse, tmp_path):
    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    settings = warehouse.settings(tmp_path / "exports", data_dir=data_dir)
    first = write_submission(settings, now=dt.datetime(2025, 3, 1, 9, 0, 0))
    year = first.year
    con = duckdb.connect(str(data_dir / "work.duckdb"))
    # a corrected births file replaces the current one: infant mortality of one township changes
    old_load, = con.execute("SELECT load_id FROM audit.file_loads WHERE extract = 'births' AND period_year = ? AND is_current",
                            [year]).fetchone()
    con.execute("UPDATE audit.file_loads SET is_current = false, status = 'superseded' WHERE load_id = ?", [old_load])
    con.execute("INSERT INTO audit.file_loads (load_id, extract, department, period_year, source_file, sha256, status, is_current) "
                "VALUES (?, 'births', 'health', ?, 'health/births_corrected.csv', 'abc', 'loaded', true)",
                [f"births-{year}-0123456789ab", year])
    changed = con.execute(
        """UPDATE main_marts.fct_indicator_values SET numerator = numerator + 1, value = value + 1
           WHERE indicator_code = 'c_hlt_infant_mortality' AND period_year = ? AND area_code = '430502001'
           RETURNING indicator_code, area_code, sex, age_group_code, residence, value""", [year]).fetchall()
    removed = con.execute(
        """DELETE FROM main_marts.fct_indicator_values WHERE indicator_code = 'w_dec_npc_female_share' AND period_year = ?
           RETURNING indicator_code, area_code, sex, age_group_code, residence""", [year]).fetchall()
    # the public cells are a table built from those values: changed with them, as dbt's rebuild would
    con.execute("""UPDATE main_marts.rpt_disclosure_cells SET numerator = numerator + 1, value = value + 1
                   WHERE indicator_code = 'c_hlt_infant_mortality' AND period_year = ? AND area_code = '430502001'""", [year])
    con.execute("DELETE FROM main_marts.rpt_disclosure_cells WHERE indicator_code = 'w_dec_npc_female_share' AND period_year = ?",
                [year])
    con.close()
    second = write_submission(settings, now=dt.datetime(2025, 4, 1, 9, 0, 0))
    assert second.is_new and second.previous_dir == first.snapshot_dir
    assert (first.snapshot_dir / "manifest.json").exists()  # the earlier copy is kept
    assert latest_snapshot(settings, year) == second.snapshot_dir
    diff = write_diff(settings, year)
    assert diff.path is not None and diff.path.name.startswith(INTERNAL_PREFIX)
    frame = pl.read_csv(diff.path, infer_schema_length=0)
    keys = frame.select("指标代码 Code", "地区代码 Area code", "性别 Sex", "年龄组 Age group", "城乡 Residence").rows()
    assert set(keys) == {r[:5] for r in changed} | {tuple(r) for r in removed}
    assert diff.changed_cells == len(changed) + len(removed)
    imr = frame.filter(pl.col("指标代码 Code") == "c_hlt_infant_mortality")
    assert set(imr["引起变更的加载 Loads that changed it"]) == {f"births-{year}-0123456789ab"}
    assert set(imr["被替换的加载 Replaced loads"]) == {old_load}
    new_values = {r[:5]: r[5] for r in changed}
    for row in imr.iter_rows(named=True):
        key = (row["指标代码 Code"], row["地区代码 Area code"], row["性别 Sex"], row["年龄组 Age group"], row["城乡 Residence"])
        assert float(row["新值 New value"]) == pytest.approx(new_values[key])
        assert float(row["新值 New value"]) - float(row["原值 Old value"]) == pytest.approx(1.0)
    npc = frame.filter(pl.col("指标代码 Code") == "w_dec_npc_female_share")
    assert set(npc["变更类型 Change"]) == {"删除 removed"}
    assert set(npc["引起变更的加载 Loads that changed it"]) == {"口径或代码变更（无新加载） / definitions or code changed (no new load)"}


def test_diff_lists_a_revised_earlier_year_with_the_later_file_behind_it(warehouse, tmp_path):
    # A corrected births file of the year carries a late birth of the year before (events count in the
    # statistical year of their date): the earlier year's live births change, and the diff of the year's
    # submission lists those cells as a revision of the earlier year, with the new births load behind them.
    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    settings = warehouse.settings(tmp_path / "exports", data_dir=data_dir)
    first = write_submission(settings, now=dt.datetime(2025, 3, 1, 9, 0, 0))
    year = first.year
    con = duckdb.connect(str(data_dir / "work.duckdb"))
    old_load, = con.execute("SELECT load_id FROM audit.file_loads WHERE extract = 'births' AND period_year = ? AND is_current",
                            [year]).fetchone()
    con.execute("UPDATE audit.file_loads SET is_current = false, status = 'superseded' WHERE load_id = ?", [old_load])
    con.execute("INSERT INTO audit.file_loads (load_id, extract, department, period_year, source_file, sha256, status, is_current) "
                "VALUES (?, 'births', 'health', ?, 'health/births_late.csv', 'abc', 'loaded', true)",
                [f"births-{year}-late00000000", year])
    # the late birth is a boy of township 430502001: the sex ratio's numerator of that township and of the district
    changed = con.execute(
        """UPDATE main_marts.fct_indicator_values SET numerator = numerator + 1, value = (numerator + 1) * 100 / denominator
           WHERE indicator_code = 'c_hlt_sex_ratio_at_birth' AND period_year = ? AND area_code IN ('430502001', '430502')
             AND residence = '_T'
           RETURNING area_code, numerator""", [year - 1]).fetchall()
    con.close()
    assert len(changed) == 2
    second = write_submission(settings, now=dt.datetime(2025, 4, 1, 9, 0, 0))
    assert second.is_new
    diff = write_diff(settings, year)
    assert diff.revised_years == [year - 1] and diff.changed_cells == 2
    assert "往年修订" in diff.note
    frame = pl.read_csv(diff.path, infer_schema_length=0)
    assert set(frame["年度 Year"]) == {str(year - 1)}
    assert set(frame["往年修订 Earlier year"]) == {"往年修订 revision of an earlier year"}
    assert {(r["地区代码 Area code"], float(r["新分子 New numerator"]) - float(r["原分子 Old numerator"]))
            for r in frame.iter_rows(named=True)} == {("430502001", 1.0), ("430502", 1.0)}
    # the year's own births file (a later period than the revised year) is named as the load behind it
    assert set(frame["引起变更的加载 Loads that changed it"]) == {f"births-{year}-late00000000"}
    assert set(frame["被替换的加载 Replaced loads"]) == {old_load}


def test_a_previous_snapshot_of_format_1_is_compared_for_its_own_year(warehouse, tmp_path):
    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    settings = warehouse.settings(tmp_path / "exports", data_dir=data_dir)
    first = write_submission(settings, now=dt.datetime(2025, 3, 1, 9, 0, 0))
    year = first.year
    # as written before earlier years were kept: the submitted year only, without period_year
    values = first.snapshot_dir / "_snapshot" / "values.parquet"
    pl.read_parquet(values).filter(pl.col("period_year") == year).drop("period_year").write_parquet(values)
    con = duckdb.connect(str(data_dir / "work.duckdb"))
    con.execute("UPDATE main_marts.fct_indicator_values SET value = value + 1 WHERE indicator_code = 'c_hlt_sex_ratio_at_birth' "
                "AND period_year IN (?, ?) AND area_code = '430502' AND sex = '_T' AND residence = '_T'", [year, year - 1])
    con.close()
    assert write_submission(settings, now=dt.datetime(2025, 4, 1, 9, 0, 0)).is_new
    diff = write_diff(settings, year)
    frame = pl.read_csv(diff.path, infer_schema_length=0)
    assert diff.changed_cells == 1 and frame["年度 Year"].to_list() == [str(year)] and diff.revised_years == []


def test_sources_map_to_extracts_and_form_departments():
    extracts = {"births", "deaths", "population", "forms", "grade_history", "students"}
    forms = {"npc_deputies": "organization"}
    assert source_extracts("health:deaths; health:births", forms, extracts) == {("deaths", None), ("births", None)}
    assert source_extracts("forms:npc_deputies; population", forms, extracts) == {("forms", "organization"), ("population", None)}
    assert source_extracts("forms:youth_venue_townships; seeds:areas", forms, extracts) == {("forms", None)}


def test_dagster_assets_write_report_submission_and_diff(warehouse, tmp_path, monkeypatch):
    from dagster import materialize

    from dagster_project.defs.outputs.assets import annual_report, provincial_submission, submission_diff

    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    monkeypatch.setenv("MONITOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MONITOR_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("MONITOR_RAW_DIR", str(warehouse.raw_dir))
    result = materialize([annual_report, provincial_submission, submission_diff])
    assert result.success
    year = result.asset_materializations_for_node("exports__provincial_submission")[0].metadata["year"].value
    assert (tmp_path / "exports" / "reports" / f"内部使用_年度监测报告_{year}.html").exists()
    assert (tmp_path / "exports" / "submissions" / str(year) / "LATEST").exists()
    note = result.asset_materializations_for_node("exports__submission_diff")[0].metadata["note"].value
    assert "首次报送" in note
    manifest = json.loads(next((tmp_path / "exports" / "submissions" / str(year)).glob("*/manifest.json")).read_text())
    assert manifest["suppressed_cells"]["primary"] > 0
