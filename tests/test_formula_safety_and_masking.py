"""Issue 17 item 5, on hand-made inputs: neutralise only where a formula can run, mask only ID-shaped
substrings, count unrecognised files truthfully.

- Formula neutralisation (OWASP): text cells of workbooks and CSVs meant for spreadsheets get an
  apostrophe when they would run as a formula (= + - @ followed by text that is not a number). Parquet
  and SDMX-CSV keep every value as it is; numbers, numeric text (-25) and a lone operator (=) are never
  changed anywhere, and "=" is written as a string cell a spreadsheet shows as "=".
- Masking: a totals-row label (共3126人) in an ID column is shown as sent; an ID number inside text is
  masked to its area code.
- The run summary counts the unrecognised files in the raw folder.
"""
from __future__ import annotations

import csv
import shutil
import subprocess

import duckdb
import openpyxl
import polars as pl
import pytest

from dagster_project.config import Settings, get_settings
from dagster_project.exports import feedback, indicator_tables, sdmx
from dagster_project.exports.spreadsheet_safety import is_formula_like, neutralise, neutralise_frame
from dagster_project.exports.worksheets import open_workbook, write_sheet
from dagster_project.ingest.audit_tables import ensure_schema
from dagster_project.ingest.errors import redact_identifiers
from dagster_project.ingest.idnumber import mask_id_numbers, mask_id_numbers_expr
from tests.helpers import ingest, make_id, write_csv
from tests.sdmx_structure import small_structure
from tests.test_ingestion import BIRTH_HEADER_ZH, birth

FORMULAS = ['=HYPERLINK("http://x","点我")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-A1+B1", "-无", "\t=1+1"]
INERT = ["=", "-", "+", "@", "-25", "+3.5", "-1,234.5", "-5%", "-1.2E3", ">=", "<=", "≈", "共3126人", "1-2"]


# ------------------------------------------------------------------------------------------ the rule
def test_only_text_that_would_run_as_a_formula_is_neutralised():
    for text in FORMULAS:
        assert is_formula_like(text) and neutralise(text) == "'" + text, text
    for value in [*INERT, -25, -25.0, None]:
        assert not is_formula_like(value) and neutralise(value) == value, value
    # the vectorised rule agrees with the scalar one, and leaves numeric columns alone
    frame = pl.DataFrame({"text": FORMULAS + INERT, "number": [-25.0] * (len(FORMULAS) + len(INERT))})
    out = neutralise_frame(frame)
    assert out["text"].to_list() == [neutralise(t) for t in FORMULAS + INERT]
    assert out["number"].to_list() == frame["number"].to_list()


def test_a_workbook_text_cell_is_neutralised_and_everything_else_is_written_as_it_is(tmp_path):
    frame = pl.DataFrame({"文本 Text": [*FORMULAS, *INERT], "数值 Value": [-25.0] * (len(FORMULAS) + len(INERT))})
    path = tmp_path / "cells.xlsx"
    with open_workbook(path) as book:
        write_sheet(frame, book, "数据")
    sheet = openpyxl.load_workbook(path)["数据"]
    cells = [row for row in sheet.iter_rows(min_row=2)]
    texts = {c[0].value: c[0] for c in cells}
    for text in FORMULAS:
        assert texts["'" + text].data_type == "s", text
    for text in INERT:
        assert texts[text].data_type == "s", text      # "=" and "-25" stay text cells, shown as written
    assert all(c[1].value == -25 and c[1].data_type == "n" for c in cells)
    assert not [c for row in cells for c in row if c.data_type == "f"]


# ------------------------------------------------------------------------ the indicator export files
def _hand_made_marts(folder) -> None:
    """The marts the indicator export reads, with one indicator whose texts look like formulas."""
    con = duckdb.connect(str(folder / "work.duckdb"))
    con.execute("CREATE SCHEMA main_marts")
    con.execute("""CREATE TABLE main_marts.dim_indicator AS SELECT * FROM (VALUES
        ('w_test', '=HYPERLINK(\"http://x\",\"点我\")', '+cmd|'' /C calc''!A0', 'percent', 1, '=', 50.0, '%', 'percent'),
        ('w_ops', '女性比例', '@SUM(1+1)', 'count', 0, '>=', 3.0, '个/人', 'number'))
        AS t(indicator_code, name_zh, name_en, unit, unit_decimals, target_operator, target_value, unit_label_zh,
             unit_label_en)""")
    con.execute("""CREATE TABLE main_marts.fct_indicator_values AS SELECT * FROM (VALUES
        ('w_test', 2023, '430502', '_T', '_T', '_T', 30.0, 60.0, -25.0, -30.0, -20.0, FALSE),
        ('w_ops', 2023, '430502001', '_T', '_T', '_T', 12.0, NULL, 12.0, NULL, NULL, TRUE))
        AS t(indicator_code, period_year, area_code, sex, age_group_code, residence, numerator, denominator,
             value, ci_lower, ci_upper, small_numbers_flag)""")
    con.execute("CREATE TABLE main_marts.fct_target_attainment (indicator_code VARCHAR, area_code VARCHAR, "
                "target_value DOUBLE)")
    con.execute("""CREATE TABLE main_marts.dim_area AS SELECT * FROM (VALUES
        ('430502', '-25', 'county', '县市区'), ('430502001', '-A1', 'township', '乡镇街道'))
        AS t(area_code, name_zh, level, level_zh)""")
    con.execute("CREATE TABLE main_marts.dim_sex AS SELECT '_T' AS sex_code, '合计' AS name_zh, 3 AS sort_order")
    con.execute("CREATE TABLE main_marts.dim_age_group AS SELECT '_T' AS age_group_code, '合计' AS name_zh")
    con.execute("CREATE TABLE main_marts.dim_residence AS SELECT '_T' AS residence_code, '合计' AS name_zh, "
                "1 AS sort_order")
    # the public cells (dbt's rpt_disclosure_cells): both rows, counts too large to suppress
    con.execute("""CREATE TABLE main_marts.rpt_disclosure_cells AS
        SELECT v.period_year, v.indicator_code, v.age_group_code, v.area_code, a.level AS area_level,
               NULL::VARCHAR AS parent_code, 1 AS area_level_order, v.sex, v.numerator, v.denominator, v.value,
               v.ci_lower, v.ci_upper, v.small_numbers_flag, FALSE AS zero_denominator_flag, TRUE AS protects_counts,
               i.unit <> 'count' AS protects_denominator, NULL::VARCHAR AS derivation, NULL::VARCHAR AS computed_from,
               4 AS small_cell_threshold
        FROM main_marts.fct_indicator_values v JOIN main_marts.dim_area a USING (area_code)
        JOIN main_marts.dim_indicator i USING (indicator_code)""")
    con.close()


@pytest.fixture
def indicator_files(tmp_path):
    _hand_made_marts(tmp_path)
    settings = Settings(raw_dir=tmp_path / "raw", data_dir=tmp_path, exports_dir=tmp_path / "exports",
                        environment="development", small_cell_threshold=4)
    written = indicator_tables.write_indicator_tables(settings)
    assert written[:3] == list(indicator_tables.edition_paths(tmp_path / "exports" / "indicators", public=True))
    return written[:3]  # the public edition (the internal one is written the same way)


NAME, NAME_EN, AREA, OPERATOR, VALUE = ("指标名称", "Indicator name", "地区 Area", "目标条件 Target operator", "数值 Value")


def test_parquet_keeps_every_value_and_the_csv_neutralises_only_formulas(indicator_files):
    _, csv_path, parquet_path = indicator_files
    parquet = pl.read_parquet(parquet_path).sort(VALUE)
    assert parquet[OPERATOR].to_list() == ["=", ">="]
    assert parquet[AREA].to_list() == ["-25", "-A1"]
    assert parquet[NAME].to_list() == ['=HYPERLINK("http://x","点我")', "女性比例"]
    assert parquet[VALUE].to_list() == [-25.0, 12.0]
    with csv_path.open(encoding="utf-8-sig") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: float(r[VALUE]))
    assert [r[OPERATOR] for r in rows] == ["=", ">="]
    assert [r[AREA] for r in rows] == ["-25", "'-A1"]           # numeric text stays, a formula does not
    assert [r[NAME] for r in rows] == ['\'=HYPERLINK("http://x","点我")', "女性比例"]
    assert [r[NAME_EN] for r in rows] == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)"]
    assert [r[VALUE] for r in rows] == ["-25.0", "12.0"]


def test_the_workbook_shows_the_operator_and_cannot_run_the_formulas(indicator_files):
    xlsx, _, _ = indicator_files
    sheet = openpyxl.load_workbook(xlsx)["指标数据"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2)]
    by_operator = {r[OPERATOR].value: r for r in rows}
    assert set(by_operator) == {"=", ">="}
    test_row = by_operator["="]
    assert test_row[OPERATOR].data_type == "s"
    assert test_row[AREA].value == "-25" and test_row[AREA].data_type == "s"
    assert test_row[NAME].value == '\'=HYPERLINK("http://x","点我")'
    assert test_row[NAME_EN].value == "'+cmd|' /C calc'!A0"
    assert by_operator[">="][AREA].value == "'-A1"
    assert test_row[VALUE].value == -25.0 and test_row[VALUE].number_format == "#,##0.0"
    assert not [c for r in rows for c in r.values() if c.data_type == "f"]


def test_libreoffice_shows_the_lone_operator_and_the_neutralised_text(indicator_files, tmp_path):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: the rendering check needs it")
    xlsx, _, _ = indicator_files
    copy = tmp_path / "ops.xlsx"
    shutil.copy(xlsx, copy)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo_profile'}", "--headless",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
                    "--outdir", str(tmp_path), str(copy)], capture_output=True, timeout=300, check=True)
    with (tmp_path / "ops-指标数据.csv").open(encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r[OPERATOR])
    assert [r[OPERATOR] for r in rows] == ["=", ">="]
    assert rows[0][NAME] == '\'=HYPERLINK("http://x","点我")' and rows[0][AREA] == "-25"


def test_sdmx_csv_carries_the_values_unaltered(tmp_path):
    """Programs read the SDMX-CSV: text that a spreadsheet would run is written as it is, never neutralised
    (SDMX ids allow - and @ in front, not = or +)."""
    structure = small_structure({"CL_REF_AREA": ["-25"], "CL_INDICATOR": ["-X", "@Y"], "CL_SEX": ["@A1"],
                                 "CL_AGE": ["_T"], "CL_URBANISATION": ["_T"], "CL_UNIT_MEASURE": ["PT"],
                                 "CL_PERIOD_BASIS": ["CALENDAR"], "CL_OBS_STATUS": ["A"], "CL_CONF_STATUS": ["F"]})
    structure_path = sdmx.write_structure(structure, tmp_path / "structure.xml")
    frame = pl.DataFrame({"ref_area": ["-25", "-25"], "indicator": ["-X", "@Y"], "sdmx_sex": ["@A1", "@A1"],
                          "age": ["_T", "_T"], "urbanisation": ["_T", "_T"], "time_period": ["2024", "2024"],
                          "obs_value": [-25.0, None], "unit_measure": ["PT", "PT"],
                          "sdmx_period_basis": ["CALENDAR", "CALENDAR"], "obs_status": ["A", "A"],
                          "conf_status": ["F", "F"]})
    path = sdmx.write_data(frame, structure_path, tmp_path / "sdmx.csv")
    rows = pl.read_csv(path, infer_schema_length=0).select("REF_AREA", "INDICATOR", "SEX", "OBS_VALUE").to_dicts()
    assert rows == [{"REF_AREA": "-25", "INDICATOR": "-X", "SEX": "@A1", "OBS_VALUE": "-25.0"},
                    {"REF_AREA": "-25", "INDICATOR": "@Y", "SEX": "@A1", "OBS_VALUE": "NaN"}]


# --------------------------------------------------------------------------- the feedback workbooks
def test_feedback_shows_negative_values_as_sent_and_neutralises_formulas(tmp_path, monkeypatch):
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    ensure_schema(con)
    con.execute("INSERT INTO audit.file_loads (load_id, extract, department, period_year, source_file, rows_read, "
                "rows_loaded, rows_quarantined, rows_flagged, status, is_current, message_zh, message_en, loaded_at) "
                "VALUES ('l1', 'births', 'health', 2023, 'health/births_2023.csv', 4, 0, 4, 0, 'loaded', TRUE, "
                "'已入库', 'loaded', now())")
    shown = ["-25", "=SUM(A1:A9)", "共3126人", "@cmd"]
    for i, value in enumerate(shown, start=2):
        con.execute("INSERT INTO audit.quarantine VALUES ('l1', 'births', 'health', 2023, 'health/births_2023.csv', "
                    "?, 'birth_weight_g', 'out_of_range', '超出范围', 'out of range', ?)", [i, value])
    con.close()
    settings = Settings(raw_dir=tmp_path / "raw", data_dir=tmp_path, exports_dir=tmp_path / "exports",
                        environment="development", small_cell_threshold=4)
    monkeypatch.setattr(feedback, "WORKBOOK_MAX_ROWS", 2)   # the full list goes to a CSV as well
    feedback.write_feedback_files(settings)
    expected = ["-25", "'=SUM(A1:A9)", "共3126人", "'@cmd"]
    sheet = openpyxl.load_workbook(tmp_path / "exports" / "feedback" / "health_2023.xlsx")["隔离行 Quarantined"]
    header_row = next(r for r in sheet.iter_rows() if r[0].value == "文件 File")
    column = [c.value for c in header_row].index("原值（已脱敏） Value (masked)")
    listed = [r[column] for r in sheet.iter_rows(min_row=header_row[0].row + 1)]
    assert [c.value for c in listed] == expected[:2] and all(c.data_type == "s" for c in listed)
    full = pl.read_csv(tmp_path / "exports" / "feedback" / "health_2023_quarantined.csv", infer_schema_length=0)
    assert full["原值（已脱敏） Value (masked)"].to_list() == expected


# ------------------------------------------------------------------------------------------ masking
def test_only_id_shaped_substrings_are_masked():
    real = make_id("19900101", "2", seq="12")
    assert mask_id_numbers("共3126人") == "共3126人"
    assert mask_id_numbers("共3126人", near_ids=True) == "共3126人"          # also in an ID-number column
    assert mask_id_numbers(f"母亲{real}号") == f"母亲{real[:6]}************号"
    assert mask_id_numbers("G" + real) == "G" + real[:6] + "************"  # 学籍号 'G' + ID number
    assert mask_id_numbers(f"13812345678{real}") == "138123" + "*" * 23   # glued to a phone number
    assert mask_id_numbers(real[:-1] + "x") == real[:6] + "************"  # any 17 digits + digit/X
    # long numbers that are no ID number are shown: a clerk must see the value that cannot be stored
    assert mask_id_numbers("12345678901234567890") == "12345678901234567890"
    assert mask_id_numbers("123456789012345") == "123456789012345"
    assert mask_id_numbers("12345678901234567890", near_ids=True) == "123456" + "*" * 14
    assert redact_identifiers(f"births_{real}_2023.csv") == f"births_{real[:6]}************_2023.csv"
    texts = ["共3126人", f"母亲{real}号", "12345678901234567890", None]
    got = pl.DataFrame({"v": texts}).select(mask_id_numbers_expr(pl.col("v")))["v"].to_list()
    assert got == [mask_id_numbers(t) for t in texts]


def test_a_totals_row_label_is_shown_as_sent_and_an_id_number_in_text_is_masked(workspace):
    real = make_id("19880203", "2", seq="31")
    rows = [birth(1), birth(2, town=f"见{real}"), ["合计", "共3126人", "", "", "", "", "", "", "", ""]]
    write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, rows)
    ingest("births")
    with duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True) as con:
        shown = con.execute("SELECT row_number, column_name, value_masked FROM audit.quarantine UNION ALL "
                            "SELECT row_number, column_name, value_masked FROM audit.row_flags").fetchall()
    values = {(r, c): v for r, c, v in shown}
    assert values[(4, "mother_id_number")] == "共3126人"
    assert values[(3, "township_code")] == f"见{real[:6]}************"
    assert not [v for v in values.values() if v and real in v]


# --------------------------------------------------------------------------- unrecognised files
def test_the_run_summary_counts_the_unrecognised_files_in_the_raw_folder(workspace, capsys):
    from dagster_project import cli

    write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, [birth(1)])
    strays = [workspace["raw"] / "health" / "notes from clerk.csv", workspace["raw"] / "health" / "births.csv",
              workspace["raw"] / "education" / "学生名单2023.xlsx"]
    for path in strays:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    ingest()

    def unrecognised_line() -> list[str]:
        capsys.readouterr()
        cli._print_summary(get_settings())
        lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("(未识别 unrecognised)")]
        assert len(lines) <= 1
        return lines[0].split()[2:] if lines else []

    assert unrecognised_line()[0] == "3"
    strays[0].unlink()                     # fixed by the clerk: the ledger keeps its row, the count does not
    assert unrecognised_line()[0] == "2"
    for path in strays[1:]:
        path.unlink()
    assert unrecognised_line() == []       # none left: no line
