"""The indicator table export: every indicator value with Chinese headers first.

Public tables protect small cells: a numerator from 1 to the threshold
(MONITOR_SMALL_CELL_THRESHOLD, default 4) is suppressed together with its
value and confidence interval, and the row is marked. The provincial
submission with secondary suppression is built in provincial_submission.py.

The same rows go to Parquet (for programs: values exactly as in the warehouse), a CSV and a workbook
(for spreadsheets: text neutralised against formula injection). The workbook shows every value with the
decimals of its unit (dim_indicator.unit_decimals); its 说明 Notes sheet explains the marks.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from dagster_project import database
from dagster_project.config import Settings
from dagster_project.exports.spreadsheet_safety import write_spreadsheet_csv
from dagster_project.exports.worksheets import YEAR, open_workbook, write_notes, write_sheet

# (column in the query, header shown: Chinese first, English beside)
COLUMNS = [
    ("indicator_code", "指标代码 Indicator code"),
    ("name_zh", "指标名称"),
    ("name_en", "Indicator name"),
    ("unit_zh", "单位 Unit"),
    ("period_year", "年度 Year"),
    ("area_code", "地区代码 Area code"),
    ("area_name_zh", "地区 Area"),
    ("area_level_zh", "区划层级 Area level"),
    ("sex_name_zh", "性别 Sex"),
    ("age_group_name_zh", "年龄组 Age group"),
    ("residence_name_zh", "城乡 Residence"),
    ("numerator", "分子 Numerator"),
    ("denominator", "分母 Denominator"),
    ("value", "数值 Value"),
    ("ci_lower", "95%置信区间下限 CI lower"),
    ("ci_upper", "95%置信区间上限 CI upper"),
    ("small_numbers_flag", "事件数少于20 Fewer than 20 events"),
    ("suppressed", "小数值保护 Suppressed"),
    ("target_operator", "目标条件 Target operator"),
    ("target_value", "2025年目标 Target"),
]

NOTES_SHEET, DATA_SHEET = "说明 Notes", "指标数据"
# Above this many rows the workbook holds every level but the townships (xlsxwriter writes ~8,000
# rows a second and a worksheet stops at 1,048,576 rows; a province has millions of township rows):
# the CSV and Parquet files always hold everything.
XLSX_MAX_ROWS = 200_000

QUERY = """
SELECT f.indicator_code, i.name_zh, i.name_en, i.unit, i.unit_label_zh AS unit_zh, i.unit_decimals, f.period_year,
       f.area_code, a.name_zh AS area_name_zh, a.level AS area_level, a.level_zh AS area_level_zh,
       s.name_zh AS sex_name_zh, g.name_zh AS age_group_name_zh, r.name_zh AS residence_name_zh,
       f.numerator, f.denominator, f.value, f.ci_lower, f.ci_upper, f.small_numbers_flag,
       i.target_operator, coalesce(t.target_value, i.target_value) AS target_value
FROM main_marts.fct_indicator_values f
JOIN main_marts.dim_indicator i USING (indicator_code)
-- the area's own target where seed area_targets sets one for it or its level (constant over years and sexes)
LEFT JOIN (SELECT DISTINCT indicator_code, area_code, target_value FROM main_marts.fct_target_attainment) t
       ON t.indicator_code = f.indicator_code AND t.area_code = f.area_code
LEFT JOIN main_marts.dim_area a ON a.area_code = f.area_code
LEFT JOIN main_marts.dim_sex s ON s.sex_code = f.sex
LEFT JOIN main_marts.dim_age_group g ON g.age_group_code = f.age_group_code
LEFT JOIN main_marts.dim_residence r ON r.residence_code = f.residence
ORDER BY f.indicator_code, f.period_year, f.area_code, s.sort_order, f.age_group_code, r.sort_order
"""


def protect_small_cells(frame: pl.DataFrame, threshold: int) -> pl.DataFrame:
    small = pl.col("numerator").is_between(1, threshold) & (pl.col("unit") != "ratio")
    return frame.with_columns(
        small.alias("suppressed"),
        *[pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in ("numerator", "value", "ci_lower", "ci_upper")],
    )


# The helper column with each row's decimals (from dbt: seed unit_labels via dim_indicator); the
# workbook formats by it, the CSV and Parquet files do not carry it.
DECIMALS = "_unit_decimals"


def indicator_frame(con: duckdb.DuckDBPyConnection, threshold: int) -> pl.DataFrame:
    """The exported rows with their Chinese-first headers, plus the helper column DECIMALS."""
    frame = con.execute(QUERY).pl()
    frame = protect_small_cells(frame, threshold)
    return frame.select([c for c, _ in COLUMNS] + [pl.col("unit_decimals").alias(DECIMALS)]).rename(dict(COLUMNS))


def workbook_formats() -> dict:
    """Number formats of the workbook: values with their unit's decimals, counts as integers (a GPI's
    numerator and denominator are rates: they keep the unit's decimals)."""
    heading = dict(COLUMNS)
    unit_decimals = pl.col(DECIMALS).fill_null(2)
    formats: dict = {heading["period_year"]: YEAR}
    for column in ("value", "ci_lower", "ci_upper", "target_value"):
        formats[heading[column]] = unit_decimals
    for column in ("numerator", "denominator"):
        name = heading[column]
        formats[name] = pl.when(pl.col(name) == pl.col(name).round(0)).then(0).otherwise(unit_decimals)
    return formats


UNITS_SQL = """
SELECT DISTINCT unit_label_zh, unit_label_en, unit_decimals FROM main_marts.dim_indicator
WHERE unit_decimals IS NOT NULL ORDER BY unit_decimals, unit_label_en
"""


def notes_rows(threshold: int, unit_decimals: list[tuple[str, str, int]]) -> list[tuple[str, str, str]]:
    """The 说明 Notes sheet: what each mark and code of the table means, Chinese first; `unit_decimals`
    the (unit in Chinese, in English, decimals) of the indicators (dbt seed unit_labels)."""
    heading = dict(COLUMNS)
    shown_zh = "，".join(f"{zh} {places} 位" for zh, _, places in unit_decimals)
    shown_en = ", ".join(f"{en} {places}" for _, en, places in unit_decimals)
    return [
        (heading["suppressed"] + " = 是 yes",
         f"小数值保护：分子为1至{threshold}，分子、数值和置信区间已置空（公开表不显示小数值）。",
         f"Small-cell protection: the numerator is 1 to {threshold}; numerator, value and confidence interval are blank."),
        (heading["small_numbers_flag"] + " = 是 yes",
         "事件数少于20：数值不稳定，解读和比较时应谨慎。",
         "Fewer than 20 events: the value is unstable; interpret and compare with care."),
        ("空白单元格 Empty cell", "无数据、分母为0，或因小数值保护置空。",
         "No data, a zero denominator, or blanked by small-cell protection."),
        (heading["target_operator"], "目标条件：>= 不低于目标，<= 不高于目标，= 等于目标，≈ 保持在目标附近，"
         "balanced 在目标值±容差内，increase 逐步提高，decrease 持续下降，pct_change_vs_baseline 较基线年变化百分比。",
         "Target operator: >= at least, <= at most, = equal to, ≈ about, balanced within the tolerance, "
         "increase / decrease over time, pct_change_vs_baseline change against the baseline year in percent."),
        ("以 ' 开头的文字 Text starting with '",
         "原文以 =、+、-、@ 开头，为防止电子表格把它当作公式执行，前面加了 '。",
         "The text began with =, +, - or @; the apostrophe keeps a spreadsheet from running it as a formula."),
        (heading["value"], f"数值按单位显示小数位（{shown_zh}）；完整精度见同目录的 CSV 和 Parquet 文件。",
         f"Values show the decimals of their unit ({shown_en}); the CSV and Parquet files beside this workbook "
         "hold full precision."),
    ]


def write_indicator_tables(settings: Settings) -> list[Path]:
    out_dir = settings.exports_dir / "indicators"
    out_dir.mkdir(parents=True, exist_ok=True)
    con = database.connect(str(settings.work_db), read_only=True)
    try:
        frame = indicator_frame(con, settings.small_cell_threshold)
        units = con.execute(UNITS_SQL).fetchall()
        township_zh = con.execute("SELECT any_value(level_zh) FROM main_marts.dim_area WHERE level = 'township'").fetchone()[0]
    finally:
        con.close()
    values = frame.drop(DECIMALS)
    csv_path = out_dir / "指标数据_indicator_values.csv"
    xlsx_path = out_dir / "指标数据_indicator_values.xlsx"
    parquet_path = out_dir / "指标数据_indicator_values.parquet"
    # Parquet is read by programs: the values exactly as in the warehouse (never neutralised)
    tmp_parquet = parquet_path.with_suffix(".parquet.tmp")
    values.write_parquet(tmp_parquet)
    tmp_parquet.replace(parquet_path)
    write_spreadsheet_csv(values, csv_path)
    level = dict(COLUMNS)["area_level_zh"]
    in_workbook = frame if frame.height <= XLSX_MAX_ROWS else frame.filter(pl.col(level) != township_zh)
    title = ["指标数据 说明 / Indicator values: notes"]
    if in_workbook.height < frame.height:
        title += [f"本表共 {frame.height:,} 行，超过 {XLSX_MAX_ROWS:,} 行：工作簿不含乡镇街道一级的 "
                  f"{frame.height - in_workbook.height:,} 行，完整数据见同目录的 {csv_path.name} 和 {parquet_path.name}。",
                  f"The table has {frame.height:,} rows: township rows are left out of this workbook; "
                  f"{csv_path.name} and {parquet_path.name} hold every row."]
    with open_workbook(xlsx_path) as workbook:
        write_sheet(in_workbook, workbook, DATA_SHEET, formats=workbook_formats())
        # The notes come after the data: the workbook opens on the data, and LibreOffice prints (PDF) a long
        # sheet that follows another one many times slower. When rows were left out, it opens on the note.
        notes = write_notes(workbook, NOTES_SHEET, notes_rows(settings.small_cell_threshold, units), title=title)
        if in_workbook.height < frame.height:
            notes.activate()
    return [xlsx_path, csv_path, parquet_path]
