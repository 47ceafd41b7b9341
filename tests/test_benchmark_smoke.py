"""The benchmark script, run small: both engines complete and it prints what it promises.

The benchmark itself (`make bench`, `bench/run_benchmark.py`) is not part of the test suite: speed is
measured there, never asserted here. This smoke run uses a four-level code list cut from the
province's (`bench/areas_mini_province.csv`: Hunan, two prefectures, four counties, twelve townships),
so it also proves that another hierarchy drops in with no code change: the indicators roll up from
townships to the province. (The full province list on a smoke-sized population would leave every
township too small to have a village committee.)
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import duckdb
import pytest

from dagster_project.config import PROJECT_ROOT

pytestmark = pytest.mark.slow(seconds=120)

BENCH = PROJECT_ROOT / "bench" / "run_benchmark.py"
PROVINCE_AREAS = PROJECT_ROOT / "bench" / "areas_mini_province.csv"
STAGES = ("startup", "ingest", "gate", "dbt", "exports", "orchestration")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The engines measured in two invocations, as a province run is: the second carries the first's figures."""
    workdir = tmp_path_factory.mktemp("bench")
    base = [sys.executable, str(BENCH), "--scale", "0.2", "--years", "2023-2024", "--areas", str(PROVINCE_AREAS),
            "--workdir", str(workdir), "--interval", "0.1"]
    first = subprocess.run(base + ["--skip-duckdb"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1200)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "pipeline/duckdb ratio" not in first.stdout and "pipeline total" in first.stdout
    proc = subprocess.run(base + ["--skip-pipeline"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1200)
    return proc, workdir


def test_benchmark_runs_both_engines_and_prints_the_ratio_last(smoke):
    proc, workdir = smoke
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    match = re.fullmatch(r"pipeline/duckdb ratio: (\d+\.\d+)", lines[-1])
    assert match, lines[-1]
    assert "generate: reused the extracts already in the workdir" in lines
    assert any(line.startswith("(pipeline: figures of the run of ") for line in lines)
    assert any(line.startswith("(generated ") and line.endswith("MiB)") for line in lines)
    report = json.loads((workdir / "benchmark.json").read_text(encoding="utf-8"))
    assert float(match.group(1)) == pytest.approx(report["ratio"], abs=0.006)
    pipeline_total = report["pipeline"]["end"] - report["pipeline"]["start"]
    duckdb_total = report["duckdb"]["end"] - report["duckdb"]["start"]
    assert report["ratio"] == pytest.approx(pipeline_total / duckdb_total, rel=1e-6)

    for engine in ("pipeline", "duckdb"):
        stages = report[engine]["stages"]
        assert {"ingest", "gate", "dbt", "exports"} <= set(stages), (engine, stages)
        for stage, figures in stages.items():
            assert stage in STAGES
            assert figures["wall"] >= 0 and figures["peak"] > 0, (engine, stage, figures)
        # the printed table: one line per stage with wall time, CPU time, rows/s and peak memory
        printed = [line for line in lines if line.split()[0] == engine]
        assert {line.split()[1] for line in printed} >= {"ingest", "gate", "dbt", "exports", "total"}
        assert all(re.search(r"\d+(\.\d+)? (MiB|GiB)$", line) for line in printed), printed
    assert report["pipeline"]["status"] == "SUCCESS" and not report["pipeline"]["failed_steps"]
    assert report["input_rows"] > 0 and report["townships"] == 12


def test_benchmark_pipeline_rolls_indicators_up_to_the_province(smoke):
    proc, workdir = smoke
    assert proc.returncode == 0
    published = workdir / "pipeline" / "warehouse" / "monitoring.duckdb"
    con = duckdb.connect(str(published), read_only=True)
    try:
        levels = dict(con.execute("SELECT level, count(*) FROM marts.dim_area GROUP BY 1").fetchall())
        assert set(levels) == {"province", "prefecture", "county", "township"}
        assert levels["province"] == 1 and levels["prefecture"] == 2 and levels["township"] == 12
        by_level = dict(con.execute(
            "SELECT a.level, count(DISTINCT v.indicator_code) FROM marts.fct_indicator_values v "
            "JOIN marts.dim_area a USING (area_code) GROUP BY 1").fetchall())
        # every level carries indicator values; the province has at least those of any county
        assert set(by_level) == {"province", "prefecture", "county", "township"}
        assert by_level["province"] >= by_level["county"] > 0
    finally:
        con.close()


def test_benchmark_engines_account_for_the_same_input_rows(smoke):
    """Both engines read every generated row: loaded plus quarantined equals what the files hold."""
    proc, workdir = smoke
    assert proc.returncode == 0
    report = json.loads((workdir / "benchmark.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(workdir / "pipeline" / "warehouse" / "monitoring.duckdb"), read_only=True)
    try:
        read = con.execute("SELECT sum(rows_read) FROM audit.file_loads WHERE is_current").fetchone()[0]
    finally:
        con.close()
    ingest = next(item for item in report["duckdb"]["reported"] if item["stage"] == "ingest")
    assert read == ingest["rows"] == report["input_rows"]
