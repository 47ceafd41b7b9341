"""The indicator table export: every indicator value with Chinese headers first.

Public tables protect small cells: a numerator from 1 to the threshold
(MONITOR_SMALL_CELL_THRESHOLD, default 4) is suppressed together with its
value and confidence interval, and the row is marked. The provincial
submission with secondary suppression is built in provincial_submission.py.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from dagster_project import database
from dagster_project.config import Settings
from dagster_project.exports.spreadsheet_safety import neutralise_frame
from dagster_project.exports.worksheets import write_sheet

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

# Above this many rows the workbook holds every level but the townships (xlsxwriter writes ~8,000
# rows a second and a worksheet stops at 1,048,576 rows; a province has millions of township rows):
# the CSV and Parquet files always hold everything.
XLSX_MAX_ROWS = 200_000

QUERY = """
SELECT f.indicator_code, i.name_zh, i.name_en, i.unit, i.unit_label_zh AS unit_zh, f.period_year, f.area_code,
       a.name_zh AS area_name_zh, a.level AS area_level, a.level_zh AS area_level_zh,
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


def indicator_frame(con: duckdb.DuckDBPyConnection, threshold: int) -> pl.DataFrame:
    frame = con.execute(QUERY).pl()
    frame = protect_small_cells(frame, threshold)
    return frame.select([c for c, _ in COLUMNS]).rename(dict(COLUMNS))


def write_indicator_tables(settings: Settings) -> list[Path]:
    out_dir = settings.exports_dir / "indicators"
    out_dir.mkdir(parents=True, exist_ok=True)
    con = database.connect(str(settings.work_db), read_only=True)
    try:
        frame = neutralise_frame(indicator_frame(con, settings.small_cell_threshold))
        township_zh = con.execute("SELECT any_value(level_zh) FROM main_marts.dim_area WHERE level = 'township'").fetchone()[0]
    finally:
        con.close()
    csv_path = out_dir / "指标数据_indicator_values.csv"
    xlsx_path = out_dir / "指标数据_indicator_values.xlsx"
    parquet_path = out_dir / "指标数据_indicator_values.parquet"
    tmp_csv, tmp_xlsx = csv_path.with_suffix(".csv.tmp"), xlsx_path.with_suffix(".xlsx.tmp")
    tmp_parquet = parquet_path.with_suffix(".parquet.tmp")
    frame.write_csv(tmp_csv, include_bom=True)  # BOM: Excel on Chinese Windows opens UTF-8 correctly
    frame.write_parquet(tmp_parquet)
    level = dict(COLUMNS)["area_level_zh"]
    in_workbook = frame if frame.height <= XLSX_MAX_ROWS else frame.filter(pl.col(level) != township_zh)
    with xlsxwriter.Workbook(str(tmp_xlsx)) as workbook:
        if in_workbook.height < frame.height:
            note = workbook.add_worksheet("说明 Note")
            note.write_string(0, 0, f"本表共 {frame.height:,} 行，超过 {XLSX_MAX_ROWS:,} 行：工作簿不含乡镇街道一级的 "
                                    f"{frame.height - in_workbook.height:,} 行，完整数据见同目录的 {csv_path.name} 和 {parquet_path.name}。")
            note.write_string(1, 0, f"The table has {frame.height:,} rows: township rows are left out of this workbook; "
                                    f"{csv_path.name} and {parquet_path.name} hold every row.")
            note.set_column(0, 0, 120)
        write_sheet(in_workbook, workbook, "指标数据")
    tmp_csv.replace(csv_path)
    tmp_xlsx.replace(xlsx_path)
    tmp_parquet.replace(parquet_path)
    return [xlsx_path, csv_path, parquet_path]
