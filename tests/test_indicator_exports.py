"""The indicator table export, public and internal editions: the same rows in CSV, Parquet and the workbook; the
public edition holds the public cells with the run's disclosure decisions applied, the internal one every value,
named and marked 内部使用; a province-sized table keeps its township rows out of the workbook (with a note) but
never out of the CSV and Parquet."""
from __future__ import annotations

import openpyxl
import polars as pl
import pytest

from dagster_project.config import Settings
from dagster_project.exports import indicator_tables

pytestmark = pytest.mark.slow(seconds=80)


LEVEL = "区划层级 Area level"


def _read(folder, public: bool = True):
    xlsx, csv, parquet = indicator_tables.edition_paths(folder, public)
    return (pl.read_csv(csv, infer_schema_length=0), pl.read_parquet(parquet),
            openpyxl.load_workbook(xlsx, read_only=True))


@pytest.mark.parametrize("public", [True, False])
def test_csv_parquet_and_workbook_hold_the_same_rows(sample_warehouse, public):
    csv, parquet, book = _read(sample_warehouse["exports"] / "indicators", public)
    data = "指标数据" if public else "内部使用 指标数据"
    assert book.sheetnames == [data, "说明 Notes"]
    rows = list(book[data].iter_rows(values_only=True))
    assert list(rows[0]) == csv.columns == parquet.columns
    assert len(rows) - 1 == csv.height == parquet.height
    assert set(csv[LEVEL].unique()) >= {"县市区", "乡镇街道"}


def test_public_edition_is_the_public_cells_with_the_runs_decisions(sample_warehouse):
    """Every row of rpt_disclosure_cells, blanked as the run's disclosure decisions say; the internal edition holds
    every value (all residences and age groups) and marks what the public one suppresses."""
    import duckdb

    from dagster_project.exports.disclosure import load_decisions

    public, _, _ = _read(sample_warehouse["exports"] / "indicators", True)
    internal, _, _ = _read(sample_warehouse["exports"] / "indicators", False)
    con = duckdb.connect(str(sample_warehouse["warehouse"] / "work.duckdb"), read_only=True)
    try:
        decisions = load_decisions(con, sample_warehouse["warehouse"])
        every_value = con.execute("SELECT count(*) FROM main_marts.fct_indicator_values").fetchone()[0]
    finally:
        con.close()
    assert public.height == decisions.cells.height and internal.height == every_value > public.height
    status = {(r["indicator_code"], str(r["period_year"]), r["area_code"], r["numerator_status"]) for r in
              decisions.cells.filter(pl.col("sex") == "2").iter_rows(named=True)}
    female = public.filter(pl.col("性别 Sex") == "女")
    hidden = female.filter(pl.col("分子 Numerator").is_null() & pl.col("小数保护 Suppression").str.contains("分子"))
    suppressed = {(c, y, a) for c, y, a, s in status if s in ("primary", "secondary")}
    assert {tuple(r) for r in hidden.select("指标代码 Indicator code", "年度 Year", "地区代码 Area code").rows()} == suppressed
    assert len(suppressed) > 100
    numbers = public["分子 Numerator"].cast(pl.Float64, strict=False)
    assert not numbers.is_between(1, 4).any()  # no small count in public
    assert public["小数保护 Suppression"].drop_nulls().str.contains("一次|二次").sum() == 0  # never which kind
    assert internal["公开版将抑制 Suppressed in public"].drop_nulls().str.contains("一次抑制").any()


def test_a_table_too_long_for_a_workbook_leaves_township_rows_to_csv_and_parquet(sample_warehouse, tmp_path, monkeypatch):
    settings = Settings(raw_dir=sample_warehouse["raw"], data_dir=sample_warehouse["warehouse"], exports_dir=tmp_path,
                        environment="development", small_cell_threshold=4)
    monkeypatch.setattr(indicator_tables, "XLSX_MAX_ROWS", 1000)
    written = indicator_tables.write_indicator_tables(settings)
    assert {p.suffix for p in written} == {".xlsx", ".csv", ".parquet"} and len(written) == 6
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
