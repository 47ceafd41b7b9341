"""Safe reruns, through the CLI and the warehouse files.

One module-wide sequence on a small generated raw folder (two years, every extract):

1. `cli run` (A) publishes the analysts' database;
2. a second `cli run` (B) is killed with SIGKILL (its whole process group) while dbt is writing the
   working database: the published file is still A's, readable, complete;
3. a third `cli run` (C) recovers (the abandoned run and its writer slot, the stale WAL, leftover
   temporary files) and succeeds, while a reader process queries the published database in a loop:
   it never errors and only ever sees complete snapshots (A's, then C's);
4. C's marts are byte-for-byte A's: same input, same mart contents.

Plus, at the level of the raw tables: a resubmitted file replaces its predecessor's rows and nothing
else, and loading the same files again changes nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from dagster_project.config import PROJECT_ROOT
from tests.pipeline_runs import (
    environment,
    generate_raw,
    module_workspace,
    published_snapshot,
    run_cli,
    run_cli_and_kill,
)

pytestmark = pytest.mark.slow(seconds=190)

READER = r"""
import json, sys, time
from pathlib import Path
from dagster_project.publish import combined_fingerprint, content_fingerprint, open_published_readonly

path, log, stop = Path(sys.argv[1]), open(sys.argv[2], "a", encoding="utf-8"), Path(sys.argv[3])
while not stop.exists():
    record = {"t": time.time()}
    try:
        if not path.exists():
            record["absent"] = True
        else:
            con = open_published_readonly(path)
            try:
                pub, tables, recorded = con.execute(
                    "SELECT publication_id, marts_tables, content_sha256 FROM meta.publication").fetchone()
                fingerprints = content_fingerprint(con)
                record.update(pub=pub, tables=tables, seen_tables=len(fingerprints),
                              complete=combined_fingerprint(fingerprints) == recorded)
            finally:
                con.close()
    except Exception as exc:  # what an analyst would see
        record["error"] = f"{type(exc).__name__}: {exc}"
    log.write(json.dumps(record) + "\n")
    log.flush()
    time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    yield from module_workspace(tmp_path_factory, "reruns")


@pytest.fixture(scope="module")
def run_a(ws, tmp_path_factory):
    generate_raw(ws["raw"])
    run = run_cli(ws)
    assert run.returncode == 0, run.output[-6000:]
    print(f"run A: {run.seconds:.0f} s")
    copy = tmp_path_factory.mktemp("run_a") / "monitoring.duckdb"  # to tell which columns differ, if any
    copy.write_bytes((ws["warehouse"] / "monitoring.duckdb").read_bytes())
    return {**published_snapshot(ws["warehouse"] / "monitoring.duckdb"), "copy": copy}


def _differing_columns(old: Path, new: Path, table: str) -> list[str]:
    def per_column(path: Path) -> dict[str, str]:
        from dagster_project.publish import open_published_readonly

        con = open_published_readonly(path)
        try:
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = ?",
                [table]).fetchall()]
            return {c: con.execute(f'SELECT md5(string_agg(CAST("{c}" AS VARCHAR), \',\' ORDER BY CAST("{c}" AS VARCHAR))) '
                                   f'FROM marts."{table}"').fetchone()[0] for c in columns}
        finally:
            con.close()

    before, after = per_column(old), per_column(new)
    return sorted(c for c in before.keys() | after.keys() if before.get(c) != after.get(c))


@pytest.fixture(scope="module")
def killed_run_b(ws, run_a):
    """Kill run B two seconds into the first department's dbt step: dbt is rewriting work.duckdb."""
    started = time.monotonic()
    output = run_cli_and_kill(ws, marker="dbt_health - STEP_START", delay=2.0)
    wal = ws["warehouse"] / "work.duckdb.wal"
    print(f"run B killed after {time.monotonic() - started:.0f} s; work.duckdb.wal left behind: {wal.exists()}")
    return output


@pytest.fixture(scope="module")
def run_c_with_reader(ws, killed_run_b, tmp_path_factory):
    published = ws["warehouse"] / "monitoring.duckdb"
    # leftovers of publications killed mid-way: one of a dead process, one of a live one (not ours to delete)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [published.with_name(f".monitoring.duckdb.{dead.pid}.{'a' * 32}.tmp"),
             published.with_name(f".monitoring.duckdb.{dead.pid}.{'a' * 32}.tmp.wal")]
    live = published.with_name(f".monitoring.duckdb.{os.getpid()}.{'b' * 32}.tmp")
    for path in (*stale, live):
        path.write_bytes(b"half-written")

    folder = tmp_path_factory.mktemp("reader")
    log, stop = folder / "reader.jsonl", folder / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(log), str(stop)],
                              cwd=PROJECT_ROOT, env=environment(ws))
    try:
        time.sleep(2)
        run = run_cli(ws)
        time.sleep(1)
    finally:
        stop.touch()
        reader.wait(timeout=120)
    print(f"run C: {run.seconds:.0f} s")
    observations = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    leftovers = {"stale": [p.exists() for p in stale], "live": live.exists()}
    live.unlink()
    return run, observations, leftovers


def test_killed_run_leaves_the_published_file_intact(ws, run_a, killed_run_b):
    published = ws["warehouse"] / "monitoring.duckdb"
    after_kill = published_snapshot(published)
    assert after_kill["publication_id"] == run_a["publication_id"]
    assert after_kill["tables"] == run_a["tables"]
    assert after_kill["recomputed_sha256"] == after_kill["content_sha256"]
    assert not Path(f"{published}.wal").exists()
    # the killed run is still "started" in the instance, holding the writer slot
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert runs[0].status == DagsterRunStatus.STARTED


def test_next_run_recovers_and_succeeds(ws, run_c_with_reader):
    run, _, leftovers = run_c_with_reader
    assert run.returncode == 0, run.output[-6000:]
    assert "abandoned run" in run.output  # run B was marked failed and its slot freed
    assert leftovers == {"stale": [False, False], "live": True}
    with DagsterInstance.get() as instance:
        statuses = [r.status for r in instance.get_runs()]  # newest first: C, B, A
        assert statuses == [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS]
        assert instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots == []
    from dagster_project.defs.automation.alerts import read_alerts

    assert any("killed" in a["message"] for a in read_alerts())


def test_reader_through_a_run_sees_only_complete_snapshots(ws, run_a, run_c_with_reader):
    run, observations, _ = run_c_with_reader
    errors = [o for o in observations if "error" in o]
    assert not errors, errors[:5]
    assert not [o for o in observations if o.get("absent")]
    assert all(o["complete"] and o["tables"] == o["seen_tables"] == len(run_a["tables"]) for o in observations)
    publications = [o["pub"] for o in observations]
    run_c = published_snapshot(ws["warehouse"] / "monitoring.duckdb")
    # first A's snapshot, then C's, never back
    assert publications[0] == run_a["publication_id"] and publications[-1] == run_c["publication_id"]
    switch = publications.index(run_c["publication_id"])
    assert set(publications[:switch]) == {run_a["publication_id"]}
    assert set(publications[switch:]) == {run_c["publication_id"]}
    print(f"reader: {len(observations)} queries during run C, switched after {switch}")


def test_same_input_gives_byte_identical_marts(ws, run_a, run_c_with_reader):
    run_c = published_snapshot(ws["warehouse"] / "monitoring.duckdb")
    assert run_c["publication_id"] != run_a["publication_id"]
    different = sorted(t for t in run_a["tables"] if run_c["tables"].get(t) != run_a["tables"][t])
    assert set(run_c["tables"]) == set(run_a["tables"])
    columns = {t: _differing_columns(run_a["copy"], ws["warehouse"] / "monitoring.duckdb", t) for t in different}
    assert not different, f"marts whose contents changed between two runs on the same input (columns): {columns}"
    assert run_c["content_sha256"] == run_a["content_sha256"]
    # ...and the run says so: nothing changed since the last publication (meta.publication_changes is empty)
    run, _, _ = run_c_with_reader
    assert "新加载文件 0，新增数值 0，修订 0，不再发布 0，发布状态变化 0" in run.output, run.output[-3000:]
    with duckdb.connect(str(ws["warehouse"] / "monitoring.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.publication_changes").fetchone()[0] == 0
        assert con.execute("SELECT previous_publication_id FROM meta.publication").fetchone()[0] == run_a["publication_id"]


# --------------------------------------------------------------------------- raw level, no dbt

def _raw_fingerprints(work_db: Path) -> dict:
    with duckdb.connect(str(work_db), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY 1").fetchall()]
        found = {}
        for table in tables:
            for year, digest, rows in con.execute(
                f"SELECT _period_year, md5(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR))), "
                f"count(*) FROM raw.{table} AS t GROUP BY 1 ORDER BY 1"
            ).fetchall():
                found[(table, year)] = (digest, rows)
        ledger = con.execute(
            "SELECT load_id, status, is_current FROM audit.file_loads ORDER BY load_id").fetchall()
    return {"tables": found, "ledger": ledger}


def test_a_resubmitted_file_replaces_its_predecessors_rows_and_nothing_else(workspace):
    from dagster_project.definitions import defs
    from dagster_project.lib.dagster_instance import ensure_dagster_home

    generate_raw(workspace["raw"], "--extracts", "births,deaths,population")
    raw_keys = {k for a in defs.assets for k in a.keys if k.path[0] == "raw"}
    load = defs.resolve_job_def("monitoring_job").get_subset(asset_selection=raw_keys, asset_check_selection=set())
    births = defs.resolve_job_def("monitoring_job").get_subset(
        asset_selection={AssetKey(["raw", "births"])}, asset_check_selection=set())
    ensure_dagster_home()
    work_db = workspace["warehouse"] / "work.duckdb"
    with DagsterInstance.get() as instance:
        assert load.execute_in_process(instance=instance, tags={
            "dagster/asset_partition_range_start": "2023", "dagster/asset_partition_range_end": "2024"}).success
        before = _raw_fingerprints(work_db)

        # the same files again: nothing changes
        assert load.execute_in_process(instance=instance, tags={
            "dagster/asset_partition_range_start": "2023", "dagster/asset_partition_range_end": "2024"}).success
        assert _raw_fingerprints(work_db) == before

        # births 2024 is resubmitted without its last five records; the sensor would run partition 2024
        path = workspace["raw"] / "health" / "births_2024.csv"
        old_sha = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
        lines = path.read_bytes().rstrip(b"\r\n").split(b"\n")
        path.write_bytes(b"\n".join(lines[:-5]) + b"\n")
        assert births.execute_in_process(instance=instance, partition_key="2024").success
        after = _raw_fingerprints(work_db)

    changed = {key for key in before["tables"].keys() | after["tables"].keys()
               if before["tables"].get(key) != after["tables"].get(key)}
    assert changed == {("births", 2024)}
    with duckdb.connect(str(work_db), read_only=True) as con:
        current = con.execute(
            "SELECT source_file, rows_loaded, status FROM audit.file_loads "
            "WHERE extract = 'births' AND period_year = 2024 AND is_current").fetchall()
        assert len(current) == 1 and current[0][2] == "loaded"
        assert after["tables"][("births", 2024)][1] == current[0][1]
        assert before["tables"][("births", 2024)][1] - after["tables"][("births", 2024)][1] <= 5
        assert con.execute("SELECT count(*) FROM raw.births WHERE _source_sha256 = ?", [old_sha]).fetchone()[0] == 0
        assert con.execute(
            "SELECT status FROM audit.file_loads WHERE sha256 = ? AND extract = 'births'", [old_sha]
        ).fetchall() == [("superseded",)]
    # nothing else in the ledger changed
    others_before = [r for r in before["ledger"] if not r[0].startswith("births-2024")]
    others_after = [r for r in after["ledger"] if not r[0].startswith("births-2024")]
    assert others_before == others_after
