"""Department feedback workbooks: a by-rule summary that adds up to the row lists, and long row lists
capped in the workbook with the full list in a CSV beside it (province-sized departments)."""
from __future__ import annotations

import duckdb
import openpyxl
import polars as pl
import pytest

from dagster_project.config import Settings
from dagster_project.exports import feedback

pytestmark = pytest.mark.slow(seconds=80)


def _settings(sample_warehouse, exports) -> Settings:
    return Settings(raw_dir=sample_warehouse["raw"], data_dir=sample_warehouse["warehouse"], exports_dir=exports,
                    environment="development", small_cell_threshold=4)


def _sheet(book, name) -> list[tuple]:
    return [r for r in book[name].iter_rows(values_only=True)]


def _audit_counts(settings: Settings, table: str, where: str = "TRUE") -> dict[tuple[str, int | None], int]:
    with duckdb.connect(str(settings.work_db), read_only=True) as con:
        rows = con.execute(f"""
            SELECT t.department, t.period_year, count(*) FROM audit.{table} t
            JOIN audit.file_loads f ON f.load_id = t.load_id AND (f.is_current OR f.status = 'rejected')
            WHERE {where} GROUP BY ALL""").fetchall()
    return {(d, y): n for d, y, n in rows}


def test_by_rule_sheet_adds_up_to_the_quarantined_and_flagged_rows(sample_warehouse, tmp_path):
    settings = _settings(sample_warehouse, tmp_path)
    written = feedback.write_feedback_files(settings)
    quarantined, flagged = _audit_counts(settings, "quarantine"), _audit_counts(settings, "row_flags")
    blanked = _audit_counts(settings, "row_flags", "t.action = 'exclude_field'")
    assert sum(blanked.values()) > 0
    checked = 0
    for (department, year), n in quarantined.items():
        book = openpyxl.load_workbook(tmp_path / "feedback" / f"{department}_{year}.xlsx", read_only=True)
        assert book.sheetnames[:2] == ["概要 Summary", "按规则汇总 By rule"]
        rows = _sheet(book, "按规则汇总 By rule")
        header, body = rows[0], rows[1:]
        kind, count = header.index("类型 Kind"), header.index("行数 Rows")
        by_kind = {}
        for r in body:
            by_kind[r[kind]] = by_kind.get(r[kind], 0) + r[count]
        assert by_kind.get("隔离 quarantined", 0) == n
        # the flags sheet counts blanked fields apart from the other findings
        assert by_kind.get("提示 flagged", 0) + by_kind.get("置空 field blanked", 0) == flagged.get((department, year), 0)
        assert by_kind.get("置空 field blanked", 0) == blanked.get((department, year), 0)
        # small departments: every row is in the workbook and no CSV is written
        assert len(_sheet(book, "隔离行 Quarantined")) - 1 == n
        checked += 1
    assert checked >= 3
    assert all(p.suffix == ".xlsx" for p in written)


def test_a_long_row_list_is_capped_in_the_workbook_and_complete_in_a_csv(sample_warehouse, tmp_path, monkeypatch):
    settings = _settings(sample_warehouse, tmp_path)
    monkeypatch.setattr(feedback, "WORKBOOK_MAX_ROWS", 25)
    written = feedback.write_feedback_files(settings)
    quarantined = _audit_counts(settings, "quarantine")
    department, year = max(quarantined, key=quarantined.get)
    assert quarantined[(department, year)] > 25
    csv_path = tmp_path / "feedback" / f"{department}_{year}_quarantined.csv"
    assert csv_path in written
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    full = pl.read_csv(csv_path, infer_schema_length=0)
    assert full.height == quarantined[(department, year)]
    book = openpyxl.load_workbook(tmp_path / "feedback" / f"{department}_{year}.xlsx", read_only=True)
    rows = _sheet(book, "隔离行 Quarantined")
    assert f"{full.height:,}" in rows[0][0] and csv_path.name in rows[0][0]
    listed = [r for r in rows[2:] if any(v is not None for v in r)]
    assert len(listed) - 1 == 25                      # header + the first 25 rows
    assert list(listed[0]) == full.columns
    assert [str(v) for v in listed[1]] == [v if v is not None else "None" for v in full.row(0)]
    # a later run whose list fits again removes the stale CSV
    monkeypatch.setattr(feedback, "WORKBOOK_MAX_ROWS", 10**9)
    feedback.write_feedback_files(settings)
    assert not csv_path.exists()
