"""Per-department feedback workbooks: what was rejected or flagged, row by row, in Chinese.

`exports/feedback/<department>_<year>.xlsx`, one per department and period that
had files this run, so the clerk who sent the file knows exactly what to fix.

The 阻断问题 Blocking sheet (first, only where there are any) lists what stopped the department's data:
files rejected as a whole and periods that failed the quality gate's blocking rules, with file, sheet, row,
column and what to do (blocking_findings.py, the same list `cli run` and `cli status` print).

The 核查发现 Findings sheet lists the validation rules (dbt/seeds/validation_rules.csv) that
failed for the department's figures in that year, from `main_marts.fct_validation_findings`:
consistency with other departments' figures, missing townships or files, jumps against
previous years, outliers. A department and year with findings but no file (a file that was
never sent) gets a workbook too. When the findings are older than the latest file load (the
marts were not rebuilt, e.g. a blocking quality check stopped them), the sheet says so.

The 迟报 Late reports sheet (from `main_marts.fct_late_reported_events`, in the workbooks whose year
has any) lists the event records whose date falls in an earlier statistical year than their file's:
one sentence per file and event year ("迟报：2024年度文件中有3条出生事件发生在2023统计年度，已计入
2023年度（修订2023年数据）"), then the records by township. The workbook of the file's year and the
workbook of the revised year both show them. Late records stay loaded: they are counted in the year
of the event, or - when that year has no file of its own - in no year, which the sentence says.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from dagster_project import database
from dagster_project.blocking_findings import COLUMNS as BLOCKING_COLUMNS
from dagster_project.blocking_findings import SHEET as BLOCKING_SHEET
from dagster_project.blocking_findings import read_blocking_findings
from dagster_project.blocking_findings import sheet_rows as blocking_sheet_rows
from dagster_project.config import Settings
from dagster_project.exports.spreadsheet_safety import write_spreadsheet_csv
from dagster_project.exports.worksheets import INTEGER, open_workbook, write_notes, write_sheet

SUMMARY_SQL = """
SELECT source_file AS "文件 File", period_year AS "年度 Year", status AS "状态 Status",
       rows_read AS "读取行数 Rows read", rows_loaded AS "入库行数 Rows loaded",
       rows_quarantined AS "隔离行数 Rows quarantined", rows_flagged AS "提示行数 Rows flagged",
       message_zh AS "说明", message_en AS "Message", loaded_at AS "处理时间 Processed at"
FROM audit.file_loads
WHERE department = ? AND period_year IS NOT DISTINCT FROM ? AND (is_current OR status IN ('rejected', 'duplicate_file', 'unrecognised')
       OR (status = 'superseded' AND notes LIKE '%"superseded_by: %'))  -- left out for a newer file of the period
ORDER BY source_file, loaded_at
"""

ROWS_SQL = """
SELECT t.source_file AS "文件 File", t.row_number AS "行号 Row", t.column_name AS "列 Column",
       t.rule_id AS "规则 Rule", t.reason_zh AS "问题及修改建议", t.reason_en AS "Problem",
       t.value_masked AS "原值（已脱敏） Value (masked)"
FROM {table} t
JOIN audit.file_loads f ON f.load_id = t.load_id AND (f.is_current OR f.status = 'rejected')
WHERE t.department = ? AND t.period_year IS NOT DISTINCT FROM ?
ORDER BY t.source_file, t.row_number, t.rule_id
"""

# Counts per file, rule and column: at province scale the row lists are long, and the clerk fixes
# causes (one rule in one column), not rows.
BY_RULE_SQL = """
SELECT t.kind AS "类型 Kind", t.source_file AS "文件 File", t.rule_id AS "规则 Rule", t.column_name AS "列 Column",
       any_value(t.reason_zh) AS "问题及修改建议", any_value(t.reason_en) AS "Problem", count(*) AS "行数 Rows",
       min(t.row_number) AS "首行 First row"
FROM (SELECT '隔离 quarantined' AS kind, * FROM audit.quarantine
      UNION ALL BY NAME
      -- a field blanked for a defect (the record still counts where the field is not needed)
      SELECT CASE WHEN action = 'exclude_field' THEN '置空 field blanked' ELSE '提示 flagged' END AS kind, *
      FROM audit.row_flags) t
JOIN audit.file_loads f ON f.load_id = t.load_id AND (f.is_current OR f.status = 'rejected')
WHERE t.department = ? AND t.period_year IS NOT DISTINCT FROM ?
GROUP BY ALL
ORDER BY 1 DESC, "行数 Rows" DESC, 2, 3, 4
"""

# A workbook lists at most this many rows per sheet; beyond it the full list goes to a CSV beside it
# (a province's health department can have hundreds of thousands of flagged rows a year).
WORKBOOK_MAX_ROWS = 50_000

FINDINGS_TABLE = "main_marts.fct_validation_findings"

FINDINGS_SQL = f"""
SELECT CASE importance WHEN 'high' THEN '高 high' WHEN 'medium' THEN '中 medium' ELSE '低 low' END AS "重要性 Importance",
       rule_code AS "规则 Rule",
       CASE rule_group WHEN 'internal_consistency' THEN '来源间一致性 consistency'
                       WHEN 'completeness' THEN '完整性 completeness'
                       WHEN 'consistency_over_time' THEN '时间一致性 over time'
                       WHEN 'outliers' THEN '异常值 outlier' ELSE rule_group END AS "类别 Group",
       area_name_zh AS "区域 Area", message_zh AS "核查发现", description_zh AS "问题及核对建议",
       left_value AS "左式值 Left value", right_value AS "右式值 Right value",
       message_en AS "Finding"
FROM {FINDINGS_TABLE}
WHERE list_contains(string_split(departments, ','), ?) AND period_year IS NOT DISTINCT FROM ?
ORDER BY CASE importance WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, rule_code, area_code, left_figure_code
"""

LATE_TABLE = "main_marts.fct_late_reported_events"
LATE_SHEET = "迟报 Late reports"

LATE_SQL = f"""
SELECT extract, extract_name_zh, file_period_year, event_period_year, township_code, township_name_zh, source_file,
       late_records, first_event_date, last_event_date, is_counted_in_indicators
FROM {LATE_TABLE}
WHERE department = ? AND (file_period_year = ? OR event_period_year = ?)
ORDER BY file_period_year, event_period_year, extract, source_file, township_code
"""

FINDINGS_SHEET = "核查发现 Findings"
EMPTY_NOTE = pl.DataFrame({"说明 Note": ["无 / none"]})
NO_FINDINGS_NOTE = pl.DataFrame({"说明 Note": [
    "核查规则尚未计算（指标计算未完成，或有报表未通过质量关卡）。/ Validation rules not evaluated yet "
    "(the marts were not built, or a blocking quality check stopped them)."]})
STALE_NOTE = ("注意：以下核查发现计算于 {at}，早于最近一次文件入库（{loaded}）：本次运行未重新计算（可能有报表未通过质量关卡），"
              "数据更正后会重新核查。/ These findings were computed before the latest file load and may be out of date.")


# Row numbers are positions in the clerk's file, shown plain (row 1093, not 1,093); the findings'
# figures are counts or ratios of any unit: whole numbers as integers, others with two decimals.
FORMATS = {
    "行号 Row": INTEGER,
    "首行 First row": INTEGER,
    "左式值 Left value": pl.when(pl.col("左式值 Left value") == pl.col("左式值 Left value").round(0)).then(0).otherwise(2),
    "右式值 Right value": pl.when(pl.col("右式值 Right value") == pl.col("右式值 Right value").round(0)).then(0).otherwise(2),
}
NOTES_SHEET = "说明 Notes"
NOTES = [
    ("阻断问题 Blocking", "整份文件被拒收，或该报送期未通过质量关卡的阻断性规则：相关数据未计入指标。请按“问题及处理办法”"
     "更正后重新报送（文件、工作表、行号、列指明位置）。",
     "The file was rejected, or the period failed a blocking quality rule: its figures are withheld. Correct as "
     "the sheet says (file, sheet, row, column) and send the file again."),
    ("隔离 quarantined", "该行未入库，不计入任何指标；请按“问题及修改建议”更正后重新报送。",
     "The row was not loaded and counts in no indicator; correct it as the suggestion says and send the file again."),
    ("置空 field blanked", "该行已入库，但所述字段已置空：该记录仍计入不需要此字段的指标。",
     "The row was loaded with that field left empty; it still counts where the field is not needed."),
    ("提示 flagged", "该行已入库；所述问题已自动规范（如日期格式、全角字符），或请核对（如性别与身份证号不符）。",
     "The row was loaded; the issue was normalised (date format, full-width characters) or needs checking "
     "(e.g. sex contradicting the ID number)."),
    ("430502************", "原值中形似身份证号的部分只显示前6位（地区码），其余以 * 代替。",
     "Anything shaped like an ID number shows only its first six digits (the area code); the rest is starred."),
    ("以 ' 开头的原值 Value starting with '", "原值以 =、+、-、@ 开头，为防止电子表格把它当作公式执行，前面加了 '。",
     "The value began with =, +, - or @; the apostrophe keeps a spreadsheet from running it as a formula."),
    ("高 / 中 / 低 high / medium / low", "核查发现的重要性：高须先核对；中、低供核对参考。",
     "Importance of a finding: check the high ones first."),
    ("左式值 / 右式值 Left / right value", "核查规则两边的数值（如合计与分项之和）；整数不带小数，其余保留两位小数。",
     "The two sides a validation rule compares; whole numbers without decimals, others with two."),
    ("迟报 Late reports", "事件日期属于较早统计年度的记录：计入事件发生的年度，该年度数据随之修订。",
     "Records whose event falls in an earlier statistical year: they count in that year, which is revised."),
]


def _frame(con, sql: str, params) -> pl.DataFrame:
    frame = con.execute(sql, params).pl()
    return frame if frame.height else EMPTY_NOTE


def _has_findings_table(con) -> bool:
    return _has_table(con, FINDINGS_TABLE)


def _has_table(con, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [schema, table]).fetchone()[0])


def _findings_note(con) -> str | None:
    """A warning when the findings predate the latest file load (the marts were not rebuilt since)."""
    # The findings carry no timestamp (marts are deterministic); the analysts' publication time
    # in meta.publication tells when they were built.
    evaluated = None
    loaded = con.execute("SELECT max(loaded_at) FROM audit.file_loads WHERE status IN ('loaded', 'rejected')").fetchone()[0]
    if evaluated is not None and loaded is not None and evaluated < loaded:
        return STALE_NOTE.format(at=evaluated, loaded=loaded)
    return None


def late_sentence(name_zh: str, extract: str, file_year: int, event_year: int, records: int, counted: bool) -> tuple[str, str]:
    """(Chinese, English) sentence about `records` late reports of one file in one earlier event year."""
    head = f"迟报：{file_year}年度文件中有{records}条{name_zh}事件发生在{event_year}统计年度，"
    head_en = f"Late reports: {records} {extract} record(s) in the {file_year} file happened in statistical year {event_year}"
    if counted:
        return (head + f"已计入{event_year}年度（修订{event_year}年数据）。",
                head_en + f" and count there (revising {event_year}).")
    return (head + f"但{event_year}年度没有可用的{name_zh}文件（未报送、整份被拒收或未通过质量关卡），这些记录未计入任何年度的指标："
                   f"请报送或更正{event_year}年度文件，或核对日期。",
            head_en + f", which has no usable {extract} file of its own (not sent, rejected or stopped by the quality gate): "
                      "they count in no year; send or correct that year's file, or check the dates.")


def late_frames(con, department: str, year: int | None) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """(one sentence per file × event year, the records by township) of the late reports a workbook shows."""
    if year is None or not _has_table(con, LATE_TABLE):
        return None
    rows = con.execute(LATE_SQL, [department, year, year]).pl()
    if rows.height == 0:
        return None
    summary = (rows.group_by("extract", "extract_name_zh", "source_file", "file_period_year", "event_period_year",
                             "is_counted_in_indicators", maintain_order=True)
               .agg(pl.col("late_records").sum()))
    texts = [late_sentence(r["extract_name_zh"], r["extract"], r["file_period_year"], r["event_period_year"],
                           r["late_records"], r["is_counted_in_indicators"]) for r in summary.iter_rows(named=True)]
    summary = summary.select(
        pl.col("source_file").alias("文件 File"),
        pl.col("file_period_year").alias("文件年度 File year"),
        pl.col("event_period_year").alias("事件统计年度 Event year"),
        pl.col("late_records").alias("迟报记录数 Records"),
        pl.Series("说明", [t[0] for t in texts]),
        pl.Series("Note", [t[1] for t in texts]),
    )
    detail = rows.select(
        pl.col("source_file").alias("文件 File"),
        pl.col("extract_name_zh").alias("报表 Extract"),
        pl.col("file_period_year").alias("文件年度 File year"),
        pl.col("event_period_year").alias("事件统计年度 Event year"),
        pl.col("township_code").alias("乡镇街道代码 Township code"),
        pl.col("township_name_zh").alias("乡镇街道 Township"),
        pl.col("late_records").alias("迟报记录数 Records"),
        pl.col("first_event_date").cast(pl.String).alias("最早事件日期 First date"),
        pl.col("last_event_date").cast(pl.String).alias("最晚事件日期 Last date"),
        pl.when(pl.col("is_counted_in_indicators")).then(pl.lit("是 yes")).otherwise(pl.lit("否 no"))
        .alias("计入指标 Counted"),
    )
    return summary, detail


def _capped(frame: pl.DataFrame, csv_path: Path, written: list[Path]) -> tuple[pl.DataFrame, str | None]:
    """The rows for the workbook, and a note when the full list went to `csv_path` instead."""
    if frame.height <= WORKBOOK_MAX_ROWS:
        csv_path.unlink(missing_ok=True)        # a list from an earlier, longer run
        return frame, None
    written.append(write_spreadsheet_csv(frame, csv_path))
    note = (f"本表共 {frame.height:,} 行，工作簿只列出前 {WORKBOOK_MAX_ROWS:,} 行；完整清单见同目录的 {csv_path.name}，"
            f"按规则汇总见“按规则汇总 By rule”表。/ {frame.height:,} rows: the workbook lists the first "
            f"{WORKBOOK_MAX_ROWS:,}; {csv_path.name} holds every row.")
    return frame.head(WORKBOOK_MAX_ROWS), note


def write_feedback_files(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> list[Path]:
    out_dir = settings.exports_dir / "feedback"
    out_dir.mkdir(parents=True, exist_ok=True)
    own = con is None
    con = con or database.connect(str(settings.work_db), read_only=True)
    written = []
    try:
        findings = _has_findings_table(con)
        periods_sql = "SELECT DISTINCT department, period_year FROM audit.file_loads WHERE department IS NOT NULL"
        if findings:  # a year with findings but no file at all (never sent) gets a workbook too
            periods_sql += (f" UNION SELECT DISTINCT unnest(string_split(departments, ',')), period_year "
                            f"FROM {FINDINGS_TABLE}")
        periods = con.execute(f"SELECT * FROM ({periods_sql}) ORDER BY 1, 2 NULLS FIRST").fetchall()
        note = _findings_note(con) if findings else None
        blocking = read_blocking_findings(con)
        for department, year in periods:
            path = out_dir / f"{department}_{year if year is not None else 'all'}.xlsx"
            notes: dict[str, str] = {}
            sheets = {}
            stopped = blocking_sheet_rows(blocking, department, year)
            if stopped:  # first: what stopped the department's data is what the clerk must fix first
                sheets[BLOCKING_SHEET] = pl.DataFrame(stopped, schema={c: pl.String for c in BLOCKING_COLUMNS}
                                                      | {"行号 Row": pl.Int64, "行数 Rows": pl.Int64})
            sheets |= {
                "概要 Summary": _frame(con, SUMMARY_SQL, [department, year]),
                "按规则汇总 By rule": _frame(con, BY_RULE_SQL, [department, year]),
            }
            for sheet_name, table, suffix in (("隔离行 Quarantined", "audit.quarantine", "quarantined"),
                                              ("提示 Flags", "audit.row_flags", "flags")):
                frame, capped = _capped(_frame(con, ROWS_SQL.format(table=table), [department, year]),
                                        path.with_name(f"{path.stem}_{suffix}.csv"), written)
                sheets[sheet_name] = frame
                if capped:
                    notes[sheet_name] = capped
            sheets[FINDINGS_SHEET] = _frame(con, FINDINGS_SQL, [department, year]) if findings else NO_FINDINGS_NOTE
            if note:
                notes[FINDINGS_SHEET] = note
            late = late_frames(con, department, year)
            with open_workbook(path) as workbook:
                for name, frame in sheets.items():
                    if name in notes:
                        sheet = workbook.add_worksheet(name[:31])
                        sheet.write_string(0, 0, notes[name])
                        write_sheet(frame, workbook, sheet, position="A3", freeze_panes=(3, 0), formats=FORMATS)
                    else:
                        write_sheet(frame, workbook, name[:31], formats=FORMATS)
                if late is not None:
                    summary, detail = late
                    sheet = workbook.add_worksheet(LATE_SHEET)
                    write_sheet(summary, workbook, sheet)
                    write_sheet(detail, workbook, sheet, position=f"A{summary.height + 3}", freeze_panes=None)
                # last: the clerk starts from the summary; the notes explain the marks of every sheet
                write_notes(workbook, NOTES_SHEET, NOTES, title=[f"反馈工作簿 说明 / Feedback workbook: notes ({path.stem})"])
            written.append(path)
    finally:
        if own:
            con.close()
    return written
