"""Per-department feedback workbooks: what was rejected or flagged, row by row, in Chinese.

`exports/feedback/<department>_<year>.xlsx`, one per department and period that
had files this run, so the clerk who sent the file knows exactly what to fix.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from dagster_project.config import Settings
from dagster_project.exports.spreadsheet_safety import neutralise_frame

SUMMARY_SQL = """
SELECT source_file AS "文件 File", period_year AS "年度 Year", status AS "状态 Status",
       rows_read AS "读取行数 Rows read", rows_loaded AS "入库行数 Rows loaded",
       rows_quarantined AS "隔离行数 Rows quarantined", rows_flagged AS "提示行数 Rows flagged",
       message_zh AS "说明", message_en AS "Message", loaded_at AS "处理时间 Processed at"
FROM audit.file_loads
WHERE department = ? AND period_year IS NOT DISTINCT FROM ? AND (is_current OR status IN ('rejected', 'duplicate_file', 'unrecognised'))
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

EMPTY_NOTE = pl.DataFrame({"说明 Note": ["无 / none"]})


def _frame(con, sql: str, params) -> pl.DataFrame:
    frame = con.execute(sql, params).pl()
    return neutralise_frame(frame) if frame.height else EMPTY_NOTE


def write_feedback_files(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> list[Path]:
    out_dir = settings.exports_dir / "feedback"
    out_dir.mkdir(parents=True, exist_ok=True)
    own = con is None
    con = con or duckdb.connect(str(settings.work_db), read_only=True)
    written = []
    try:
        periods = con.execute(
            "SELECT DISTINCT department, period_year FROM audit.file_loads WHERE department IS NOT NULL ORDER BY 1, 2"
        ).fetchall()
        for department, year in periods:
            sheets = {
                "概要 Summary": _frame(con, SUMMARY_SQL, [department, year]),
                "隔离行 Quarantined": _frame(con, ROWS_SQL.format(table="audit.quarantine"), [department, year]),
                "提示 Flags": _frame(con, ROWS_SQL.format(table="audit.row_flags"), [department, year]),
            }
            path = out_dir / f"{department}_{year if year is not None else 'all'}.xlsx"
            tmp = path.with_suffix(".xlsx.tmp")
            import xlsxwriter

            with xlsxwriter.Workbook(str(tmp)) as workbook:
                for name, frame in sheets.items():
                    frame.write_excel(workbook, worksheet=name[:31], autofit=True, freeze_panes=(1, 0))
            tmp.replace(path)
            written.append(path)
    finally:
        if own:
            con.close()
    return written
