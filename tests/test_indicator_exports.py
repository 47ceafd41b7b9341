"""The indicator table export: the same rows in CSV, Parquet and the workbook; a province-sized table
keeps its township rows out of the workbook (with a note) but never out of the CSV and Parquet."""
from __future__ import annotations

import openpyxl
import polars as pl
import pytest

from dagster_project.config import Settings
from dagster_project.exports import indicator_tables

pytestmark = pytest.mark.slow(seconds=80)


LEVEL = "区划层级 Area level"


def _read(folder):
    csv = pl.read_csv(folder / "指标数据_indicator_values.csv", infer_schema_length=0)
    parquet = pl.read_parquet(folder / "指标数据_indicator_values.parquet")
    book = openpyxl.load_workbook(folder / "指标数据_indicator_values.xlsx", read_only=True)
    return csv, parquet, book


def test_csv_parquet_and_workbook_hold_the_same_rows(sample_warehouse):
    csv, parquet, book = _read(sample_warehouse["exports"] / "indicators")
    assert csv.height == parquet.height > 10_000
    assert book.sheetnames == ["指标数据", "说明 Notes"]
    rows = list(book["指标数据"].iter_rows(values_only=True))
    assert list(rows[0]) == csv.columns == parquet.columns
    assert len(rows) - 1 == csv.height
    assert set(csv[LEVEL].unique()) >= {"县市区", "乡镇街道"}


def test_a_table_too_long_for_a_workbook_leaves_township_rows_to_csv_and_parquet(sample_warehouse, tmp_path, monkeypatch):
    settings = Settings(raw_dir=sample_warehouse["raw"], data_dir=sample_warehouse["warehouse"], exports_dir=tmp_path,
                        environment="development", small_cell_threshold=4)
    monkeypatch.setattr(indicator_tables, "XLSX_MAX_ROWS", 1000)
    written = indicator_tables.write_indicator_tables(settings)
    assert {p.suffix for p in written} == {".xlsx", ".csv", ".parquet"}
    csv, parquet, book = _read(tmp_path / "indicators")
    assert book.sheetnames == ["指标数据", "说明 Notes"]
    note = " ".join(str(r[0]) for r in book["说明 Notes"].iter_rows(max_row=3, values_only=True))
    assert f"{csv.height:,}" in note and "乡镇街道" in note
    rows = list(book["指标数据"].iter_rows(values_only=True))
    level = rows[0].index(LEVEL)
    in_book = [r[level] for r in rows[1:]]
    assert "乡镇街道" not in in_book
    assert len(in_book) == csv.filter(pl.col(LEVEL) != "乡镇街道").height > 0
    assert parquet.height == csv.height and (csv[LEVEL] == "乡镇街道").sum() > 0
