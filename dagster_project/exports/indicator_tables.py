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

UNIT_ZH = {
    "percent": "%", "per_1000": "‰", "per_100k": "1/10万", "per_1000_population": "每千人口",
    "ratio": "比值", "count": "个/人", "years": "岁", "index": "指数",
}

QUERY = """
SELECT f.indicator_code, i.name_zh, i.name_en, i.unit, f.period_year, f.area_code, a.name_zh AS area_name_zh,
       s.name_zh AS sex_name_zh, g.name_zh AS age_group_name_zh, r.name_zh AS residence_name_zh,
       f.numerator, f.denominator, f.value, f.ci_lower, f.ci_upper, f.small_numbers_flag,
       i.target_operator, i.target_value
FROM main_marts.fct_indicator_values f
JOIN main_marts.dim_indicator i USING (indicator_code)
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
    frame = frame.with_columns(pl.col("unit").replace_strict(UNIT_ZH, default=pl.col("unit")).alias("unit_zh"))
    return frame.select([c for c, _ in COLUMNS]).rename(dict(COLUMNS))


def write_indicator_tables(settings: Settings) -> list[Path]:
    out_dir = settings.exports_dir / "indicators"
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        frame = neutralise_frame(indicator_frame(con, settings.small_cell_threshold))
    finally:
        con.close()
    csv_path = out_dir / "指标数据_indicator_values.csv"
    xlsx_path = out_dir / "指标数据_indicator_values.xlsx"
    tmp_csv, tmp_xlsx = csv_path.with_suffix(".csv.tmp"), xlsx_path.with_suffix(".xlsx.tmp")
    frame.write_csv(tmp_csv, include_bom=True)  # BOM: Excel on Chinese Windows opens UTF-8 correctly
    with xlsxwriter.Workbook(str(tmp_xlsx)) as workbook:
        write_sheet(frame, workbook, "指标数据")
    tmp_csv.replace(csv_path)
    tmp_xlsx.replace(xlsx_path)
    return [xlsx_path, csv_path]
