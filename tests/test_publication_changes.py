"""What changed since the previous publication (publication_changes.py), against hand-made snapshots."""
from __future__ import annotations

import duckdb
import pytest

from dagster_project.publication_changes import format_changes, read_changes, record_changes

FIGURES = "indicator_code VARCHAR, period_year INTEGER, area_code VARCHAR, area_level VARCHAR, sex VARCHAR, " \
          "age_group_code VARCHAR, residence VARCHAR, value DOUBLE"
STATUSES = "indicator_code VARCHAR, period_year INTEGER, area_code VARCHAR, area_level VARCHAR, " \
           "publication_status VARCHAR, publication_status_zh VARCHAR"


def snapshot(path, figures, statuses, loads, published_at):
    con = duckdb.connect(str(path))
    for schema in ("marts", "audit", "meta"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"CREATE TABLE marts.fct_indicator_values ({FIGURES})")
    con.executemany("INSERT INTO marts.fct_indicator_values VALUES (?, ?, ?, ?, ?, ?, ?, ?)", figures)
    con.execute(f"CREATE TABLE marts.fct_indicator_publication ({STATUSES})")
    con.executemany("INSERT INTO marts.fct_indicator_publication VALUES (?, ?, ?, ?, ?, ?)", statuses)
    con.execute("CREATE TABLE marts.dim_indicator (indicator_code VARCHAR, name_zh VARCHAR)")
    con.execute("INSERT INTO marts.dim_indicator VALUES ('MMR', '孕产妇死亡率'), ('U5MR', '5岁以下儿童死亡率')")
    con.execute("CREATE TABLE audit.file_loads (load_id VARCHAR, period_year INTEGER, source_file VARCHAR, status VARCHAR)")
    con.executemany("INSERT INTO audit.file_loads VALUES (?, ?, ?, ?)", loads)
    con.execute("CREATE TABLE meta.publication (publication_id VARCHAR, published_at TIMESTAMP)")
    con.execute("INSERT INTO meta.publication VALUES ('p-old', ?)", [published_at])
    return con


@pytest.fixture
def snapshots(tmp_path):
    old = snapshot(tmp_path / "old.duckdb", [
        ("MMR", 2023, "430502", "county", "2", "_T", "_T", 12.5),
        ("U5MR", 2023, "430502", "county", "1", "_T", "_T", 3.1000001),   # same to 6 decimals
        ("U5MR", 2023, "430502", "county", "2", "_T", "_T", 2.8),         # revised below
        ("U5MR", 2022, "430502", "county", "2", "_T", "_T", 2.0),         # removed below
    ], [("MMR", 2023, "430502", "county", "published", "已发布"), ("MMR", 2024, "430502", "county", "withheld", "扣发"),
        ("U5MR", 2024, "430502001", "township", "withheld", "扣发")],
        [("L1", 2023, "health/births_2023.csv", "loaded")], "2026-11-01 09:00:00")
    old.close()
    new = snapshot(tmp_path / "new.duckdb", [
        ("MMR", 2023, "430502", "county", "2", "_T", "_T", 12.5),
        ("U5MR", 2023, "430502", "county", "1", "_T", "_T", 3.1),
        ("U5MR", 2023, "430502", "county", "2", "_T", "_T", 3.4),
        ("MMR", 2024, "430502", "county", "2", "_T", "_T", 10.0),          # new
    ], [("MMR", 2023, "430502", "county", "published", "已发布"), ("MMR", 2024, "430502", "county", "published", "已发布"),
        ("U5MR", 2024, "430502001", "township", "published", "已发布")],
        [("L1", 2023, "health/births_2023.csv", "loaded"), ("L2", 2024, "health/births_2024.csv", "loaded"),
         ("L3", 2024, "health/deaths_2024.csv", "rejected")], "2026-12-01 09:00:00")
    new.execute("UPDATE meta.publication SET publication_id = 'p-new'")
    new.execute("ALTER TABLE meta.publication ADD COLUMN previous_published_at TIMESTAMP")
    new.execute("UPDATE meta.publication SET previous_published_at = '2026-11-01 09:00:00'")
    new.execute(f"ATTACH '{tmp_path / 'old.duckdb'}' AS previous_snapshot (READ_ONLY)")
    yield new
    new.close()


def test_changes_are_recorded_figure_by_figure(snapshots):
    record_changes(snapshots, "previous_snapshot")
    rows = snapshots.execute("""SELECT change_kind, indicator_code, period_year, sex, previous_value, value,
                                       previous_status, status, source_file
                                FROM meta.publication_changes ORDER BY ALL""").fetchall()
    assert rows == [
        ("file_loaded", None, 2024, None, None, None, None, None, "health/births_2024.csv"),  # L3 was rejected
        ("status_changed", "MMR", 2024, None, None, None, "withheld", "published", None),
        ("status_changed", "U5MR", 2024, None, None, None, "withheld", "published", None),
        ("value_new", "MMR", 2024, "2", None, 10.0, None, None, None),
        ("value_removed", "U5MR", 2022, "2", 2.0, None, None, None, None),
        ("value_revised", "U5MR", 2023, "2", 2.8, 3.4, None, None, None),
    ]


def test_the_summary_lists_counts_years_revised_and_district_status_changes(snapshots):
    record_changes(snapshots, "previous_snapshot")
    text = format_changes(read_changes(snapshots))
    assert "与上次发布（2026-11-01 09:00:00）相比" in text
    assert "新加载文件 1，新增数值 1，修订 1，不再发布 1，发布状态变化 2" in text
    assert "修订的年度 / years revised: 2023" in text
    assert "[全区 district] 孕产妇死亡率 2024年：扣发 → 已发布" in text
    assert "5岁以下儿童死亡率" not in text  # the township's change is counted, not listed as the district's


def test_the_first_publication_says_so(tmp_path):
    con = duckdb.connect(str(tmp_path / "first.duckdb"))
    con.execute("CREATE SCHEMA meta")
    record_changes(con, None)
    con.execute("CREATE TABLE meta.publication AS SELECT 'p1' AS publication_id, NULL::TIMESTAMP AS previous_published_at")
    assert con.execute("SELECT count(*) FROM meta.publication_changes").fetchone()[0] == 0
    assert "首次发布 / first publication" in format_changes(read_changes(con))
