"""Targets that differ by area level: the seed's rows reach the warehouse, and a bad row stops dbt."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.config import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow(seconds=90)


def test_township_level_target_applies_to_every_township(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse["warehouse"] / "monitoring.duckdb"), read_only=True)
    try:
        rows = con.execute("""
            SELECT a.level, t.target_source, min(t.target_value), max(t.target_value), count(*)
            FROM marts.fct_target_attainment t JOIN marts.dim_area a USING (area_code)
            WHERE t.indicator_code = 'c_hlt_immunization' GROUP BY ALL ORDER BY 1""").fetchall()
        other = con.execute("""
            SELECT DISTINCT t.target_source FROM marts.fct_target_attainment t
            WHERE t.indicator_code <> 'c_hlt_immunization'""").fetchall()
    finally:
        con.close()
    by_level = {level: (source, lo, hi, n) for level, source, lo, hi, n in rows}
    assert by_level["township"][:3] == ("area_level", 95, 95) and by_level["township"][3] > 10
    assert by_level["county"][:3] == ("catalogue", 95, 95)
    assert other == [("catalogue",)]


def _dbt(project: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    # eager: the singular seed test reads three seeds and must run when only area_targets is selected
    # (the pipeline sets DBT_INDIRECT_SELECTION=cautious in the environment of the process)
    env = {**os.environ, "MONITOR_WORK_DB": str(db), "DBT_INDIRECT_SELECTION": "eager"}
    dbt = str(Path(sys.executable).parent / "dbt")
    return subprocess.run([dbt, *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          env=env, capture_output=True, text=True, timeout=600)


def test_a_target_for_a_relative_indicator_or_a_wrong_level_fails_the_seed_tests(tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    seed = project / "seeds" / "area_targets.csv"
    good = seed.read_text(encoding="utf-8")
    db = tmp_path / "work.duckdb"
    seeds = ["--select", "area_targets", "areas", "indicator_catalogue"]
    assert _dbt(project, db, "seed", *seeds).returncode == 0
    ok = _dbt(project, db, "test", "--select", "area_targets")
    assert ok.returncode == 0, ok.stdout[-2000:]
    # "increase" is relative to the area's own baseline: a value would be meaningless; 430502 is a county
    seed.write_text(good + "w_hlt_life_expectancy,county,,80,,x,\nc_hlt_immunization,township,430502,90,,x,\n",
                    encoding="utf-8")
    assert _dbt(project, db, "seed", "--select", "area_targets").returncode == 0
    bad = _dbt(project, db, "test", "--select", "area_targets")
    assert bad.returncode != 0
    assert "FAIL 2 assert_area_targets_apply_to_valued_targets" in bad.stdout, bad.stdout[-3000:]


def test_empty_required_cells_fail_one_test_that_names_the_columns(tmp_path):
    """`not_null_columns` (dbt/tests/generic): one test per model for its required columns, failing with
    one row per column that has empty cells."""
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    seed = project / "seeds" / "area_targets.csv"
    db = tmp_path / "work.duckdb"
    # a row without its level and without its source (area_code may be empty: the row is for a level)
    seed.write_text(seed.read_text(encoding="utf-8") + "c_hlt_immunization,,,95,,,\n", encoding="utf-8")
    assert _dbt(project, db, "seed", "--select", "area_targets", "areas", "indicator_catalogue").returncode == 0
    bad = _dbt(project, db, "test", "--select", "area_targets", "--store-failures")
    assert bad.returncode != 0
    assert any("FAIL 2 not_null_columns_area_targets" in line for line in bad.stdout.splitlines()), bad.stdout[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    try:
        table = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                            "WHERE table_name LIKE 'not_null_columns_area_targets%'").fetchone()
        failing = con.execute(f'SELECT column_name, rows_without_value FROM "{table[0]}"."{table[1]}" '
                              "ORDER BY 1").fetchall()
    finally:
        con.close()
    assert failing == [("area_level", 1), ("source_zh", 1)]
