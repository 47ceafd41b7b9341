"""The indicator table export, in two editions, Chinese headers first.

* 公开_指标数据 (public): the public cells of every year (main_marts.rpt_disclosure_cells: reported areas ×
  女/男/合计 at the residence total and the indicator's defining age group), protected exactly as the
  provincial submission is: the run's disclosure decisions (exports/disclosure.py) blank every suppressed
  count (primary and secondary), and the value and confidence interval of a rate whose numerator or
  denominator is suppressed. Column 小数保护 says what was suppressed.
* 内部使用_未做小数保护_指标数据 (internal): every value (all residences and age groups), unsuppressed, named
  and marked 内部使用 in the file name, the title and every sheet; column 公开版将抑制 marks the cells the
  public edition suppresses.

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
from dagster_project.exports.disclosure import SUPPRESSED, Decisions, apply_to_cells, load_decisions
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
    ("protection", "小数保护 Suppression"),
    ("target_operator", "目标条件 Target operator"),
    ("target_value", "2025年目标 Target"),
]

NOTES_SHEET, DATA_SHEET = "说明 Notes", "指标数据"
PUBLIC_PREFIX, INTERNAL_PREFIX = "公开", "内部使用_未做小数保护"
INTERNAL_NOTE, PUBLIC_NOTE = "内部使用·未做小数保护", "公开版·已做小数保护"
INTERNAL_SHEET = "内部使用 指标数据"
STEM = "指标数据_indicator_values"
PROTECTION_HEADING = {True: "小数保护 Suppression", False: "公开版将抑制 Suppressed in public"}
STATUS_NOTE = {"primary": "一次抑制", "secondary": "二次抑制"}
# public: suppressed, never why (knowing which cells are primary, 1..threshold, pins them from the sums)
PUBLIC_STATUS_NOTE = {"primary": "已抑制", "secondary": "已抑制"}
# Above this many rows the workbook holds every level but the townships (xlsxwriter writes ~8,000
# rows a second and a worksheet stops at 1,048,576 rows; a province has millions of township rows):
# the CSV and Parquet files always hold everything.
XLSX_MAX_ROWS = 200_000

# The rows and their labels are shaped in dbt (marts/reporting/rpt_indicator_export_rows); here they are only read.
ROWS_SQL = ("SELECT * FROM main_marts.rpt_indicator_export_rows "
            "ORDER BY indicator_code, period_year, area_code, sex_order, age_group_code, residence_order")
KEYS = ["period_year", "indicator_code", "area_code", "sex", "age_group_code", "residence"]
FIGURES = ["numerator", "denominator", "value", "ci_lower", "ci_upper", "small_numbers_flag"]


def protection_note(frame: pl.DataFrame, public: bool) -> pl.DataFrame:
    """Column `protection`: what the public edition suppresses in the row (分子/分母/数值; in the internal edition
    with the kind, 一次抑制 or 二次抑制)."""
    parts = []
    notes = PUBLIC_STATUS_NOTE if public else STATUS_NOTE
    for column, label in (("numerator_status", "分子"), ("denominator_status", "分母"), ("value_status", "数值")):
        parts.append(pl.when(pl.col(column).is_in(SUPPRESSED))
                     .then(pl.lit(label) + pl.col(column).replace_strict(notes, default="")).otherwise(None))
    return frame.with_columns(pl.concat_str(parts, separator="；", ignore_nulls=True).replace("", None).alias("protection"))


def public_frame(con: duckdb.DuckDBPyConnection, decisions: Decisions) -> pl.DataFrame:
    """The public cells of every year with the run's disclosure decisions applied, labelled as the export rows."""
    rows = con.execute(ROWS_SQL).pl()
    cells = apply_to_cells(decisions.cells).with_columns(pl.lit("_T").alias("residence"))
    cells = cells.with_columns(pl.col("period_year").cast(rows.schema["period_year"]))
    labels = rows.drop(FIGURES)
    # the figures are the cells' (suppressed where decided), the labels and the order the rows'
    public = labels.join(cells.select(*KEYS, *FIGURES, "numerator_status", "denominator_status", "value_status"),
                         on=KEYS, how="inner", maintain_order="left")
    return protection_note(public, public=True)


def internal_frame(con: duckdb.DuckDBPyConnection, decisions: Decisions) -> pl.DataFrame:
    """Every value, unsuppressed; `protection` marks the cells the public edition suppresses."""
    frame = con.execute(ROWS_SQL).pl()
    statuses = decisions.cells.select(*KEYS[:-1], "numerator_status", "denominator_status", "value_status").with_columns(
        pl.lit("_T").alias("residence"), pl.col("period_year").cast(frame.schema["period_year"]))
    return protection_note(frame.join(statuses, on=KEYS, how="left", maintain_order="left"), public=False)


# The helper column with each row's decimals (from dbt: seed unit_labels via dim_indicator); the
# workbook formats by it, the CSV and Parquet files do not carry it.
DECIMALS = "_unit_decimals"


def indicator_frame(con: duckdb.DuckDBPyConnection, decisions: Decisions, public: bool) -> pl.DataFrame:
    """The exported rows of an edition with their Chinese-first headers, plus the helper column DECIMALS."""
    frame = public_frame(con, decisions) if public else internal_frame(con, decisions)
    columns = [(c, PROTECTION_HEADING[public] if c == "protection" else h) for c, h in COLUMNS]
    return frame.select([c for c, _ in columns] + [pl.col("unit_decimals").alias(DECIMALS)]).rename(dict(columns))


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


def notes_rows(threshold: int, unit_decimals: list[tuple[str, str, int]], public: bool) -> list[tuple[str, str, str]]:
    """The 说明 Notes sheet: what the edition holds and what each mark and code of the table means, Chinese
    first; `unit_decimals` the (unit in Chinese, in English, decimals) of the indicators (dbt seed unit_labels)."""
    heading = dict(COLUMNS)
    shown_zh = "，".join(f"{zh} {places} 位" for zh, _, places in unit_decimals)
    shown_en = ", ".join(f"{en} {places}" for _, en, places in unit_decimals)
    if public:
        edition = [
            ("公开版 Public edition", "各年度、各报告区域（乡镇街道、全区）按性别（女、男、合计）的指标值，城乡合计，指标定义的年龄组；"
             "与省级报送公开版的单元格和小数保护相同。分城乡、分年龄组的数值只在内部版中。",
             "Every year, every reported area by sex (female, male, total), residence total, the indicator's defining "
             "age group: the cells of the public provincial submission, protected the same way. Values by residence "
             "or other age groups are in the internal edition only."),
            (PROTECTION_HEADING[True],
             f"1至{threshold}的计数已抑制（一次抑制），并抑制其他计数使其无法由乡镇与全区、女男与合计的关系推算（二次抑制）；"
             "分子或分母被抑制的率及其置信区间一并置空。本列写明被抑制的项目（分子、分母、数值），不区分一次抑制和二次抑制"
             "（否则可据此推算）。",
             f"Counts from 1 to {threshold} are suppressed (primary), and further counts so that none follows from "
             "the township/district and female/male/total sums (secondary); a rate whose numerator or denominator is "
             "suppressed is blank with its confidence interval. This column says what is suppressed (numerator, "
             "denominator, value), not which kind: telling the kinds apart would let a reader recover the "
             "primary ones."),
            ("空白单元格 Empty cell", "无数据、分母为0，或因小数保护置空（见“小数保护”列）。",
             "No data, a zero denominator, or suppressed (see the Suppression column)."),
        ]
    else:
        edition = [
            ("内部使用 Internal", "未做小数保护，含全部计数（含分城乡、分年龄组），不得对外公布；对外请用同目录的“公开_”文件。",
             "No small-cell protection: every count, by residence and age group too. Not for publication; "
             "publish the public edition beside it."),
            (PROTECTION_HEADING[False], "公开版中被抑制的项目（分子、分母、数值；一次抑制或二次抑制）。",
             "What the public edition suppresses in the row (numerator, denominator, value; primary or secondary)."),
            ("空白单元格 Empty cell", "无数据或分母为0。", "No data or a zero denominator."),
        ]
    return [
        *edition,
        (heading["small_numbers_flag"] + " = 是 yes",
         "事件数少于20：数值不稳定，解读和比较时应谨慎。",
         "Fewer than 20 events: the value is unstable; interpret and compare with care."),
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


def edition_paths(out_dir: Path, public: bool) -> tuple[Path, Path, Path]:
    """(xlsx, csv, parquet) of an edition: 公开_… or 内部使用_未做小数保护_…"""
    stem = f"{PUBLIC_PREFIX if public else INTERNAL_PREFIX}_{STEM}"
    return out_dir / f"{stem}.xlsx", out_dir / f"{stem}.csv", out_dir / f"{stem}.parquet"


def write_indicator_tables(settings: Settings) -> list[Path]:
    out_dir = settings.exports_dir / "indicators"
    out_dir.mkdir(parents=True, exist_ok=True)
    # files of earlier versions (one edition, primary suppression only) must not stay beside the new ones
    for old in out_dir.glob(f"{STEM}.*"):
        old.unlink()
    con = database.connect(str(settings.work_db), read_only=True)
    try:
        decisions = load_decisions(con, settings.data_dir)
        frames = {public: indicator_frame(con, decisions, public) for public in (True, False)}
        units = con.execute(UNITS_SQL).fetchall()
        township_zh = con.execute("SELECT any_value(level_zh) FROM main_marts.dim_area WHERE level = 'township'").fetchone()[0]
    finally:
        con.close()
    written: list[Path] = []
    for public, frame in frames.items():
        written += _write_edition(out_dir, frame, public, decisions.threshold, units, township_zh)
    return written


def _write_edition(out_dir: Path, frame: pl.DataFrame, public: bool, threshold: int, units: list, township_zh: str) -> list[Path]:
    xlsx_path, csv_path, parquet_path = edition_paths(out_dir, public)
    values = frame.drop(DECIMALS)
    # Parquet is read by programs: the values exactly as in the warehouse (never neutralised)
    tmp_parquet = parquet_path.with_suffix(".parquet.tmp")
    values.write_parquet(tmp_parquet)
    tmp_parquet.replace(parquet_path)
    write_spreadsheet_csv(values, csv_path)
    level = dict(COLUMNS)["area_level_zh"]
    in_workbook = frame if frame.height <= XLSX_MAX_ROWS else frame.filter(pl.col(level) != township_zh)
    note = PUBLIC_NOTE if public else INTERNAL_NOTE
    title = [f"{'指标数据（公开版）' if public else '内部使用·未做小数保护 指标数据'} 说明 / Indicator values"
             f"{'' if public else ' - INTERNAL, not for publication'}: notes", note]
    if in_workbook.height < frame.height:
        title += [f"本表共 {frame.height:,} 行，超过 {XLSX_MAX_ROWS:,} 行：工作簿不含乡镇街道一级的 "
                  f"{frame.height - in_workbook.height:,} 行，完整数据见同目录的 {csv_path.name} 和 {parquet_path.name}。",
                  f"The table has {frame.height:,} rows: township rows are left out of this workbook; "
                  f"{csv_path.name} and {parquet_path.name} hold every row."]
    with open_workbook(xlsx_path) as workbook:
        names = write_sheet(in_workbook, workbook, DATA_SHEET if public else INTERNAL_SHEET, formats=workbook_formats())
        # The notes come after the data: the workbook opens on the data, and LibreOffice prints (PDF) a long
        # sheet that follows another one many times slower. When rows were left out, it opens on the note.
        notes = write_notes(workbook, NOTES_SHEET, notes_rows(threshold, units, public), title=title)
        for name in [*names, NOTES_SHEET]:  # every sheet says which edition it is, on screen tab and in print
            sheet = workbook.get_worksheet_by_name(name)
            sheet.set_header(f"&C{note}")
            sheet.set_footer(f"&L{note}&R&P/&N")
        if in_workbook.height < frame.height:
            notes.activate()
    return [xlsx_path, csv_path, parquet_path]
