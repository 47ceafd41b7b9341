"""Running unattended: partitions, the file-drop sensor, the schedule, alerts, the Dagster home, retries.

Everything here goes through the Dagster definitions (`dagster_project.definitions.defs`), the
instance written by `ensure_dagster_home` and the CLI; none of it runs dbt.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
    job,
    op,
)

from dagster_project.config import PROJECT_ROOT

pytestmark = pytest.mark.slow(seconds=45)

PAST = time.time() - 3600  # files "dropped an hour ago": settled


@pytest.fixture(scope="module")
def defs():
    from dagster_project.definitions import defs as definitions

    return definitions


@pytest.fixture
def instance(workspace):
    from dagster_project.lib.dagster_instance import ensure_dagster_home

    ensure_dagster_home()
    inst = DagsterInstance.get()
    yield inst
    inst.dispose()


def drop(raw: Path, relative: str, content: str, mtime: float = PAST) -> Path:
    path = raw / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


class SensorDriver:
    """Evaluates raw_file_sensor tick after tick, carrying the cursor like the daemon does."""

    def __init__(self, defs, instance):
        self.sensor = defs.get_sensor_def("raw_file_sensor")
        self.instance = instance
        self.defs = defs
        self.cursor = None

    def tick(self):
        context = build_sensor_context(instance=self.instance, cursor=self.cursor, definitions=self.defs)
        data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return list(data.run_requests or [])


# --------------------------------------------------------------------------- workspace and instance

def test_workspace_yaml_loads_the_whole_asset_graph(workspace):
    """What `dagster dev` does from the project root: workspace.yaml → dagster_project.definitions."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "dagster" not in pyproject.get("tool", {}) and "dg" not in pyproject.get("tool", {}), \
        "a [tool.dagster]/[tool.dg] block makes `dagster dev` ignore workspace.yaml"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env={**os.environ},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "dagster_project.definitions" in proc.stdout + proc.stderr


def test_definitions_hold_the_graph_the_sensor_the_schedule_and_the_alert(defs):
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"raw/births", "raw/grade_history", "raw/file_inventory", "marts/fct_indicator_values",
            "published/monitoring_duckdb"} <= keys
    assert {s.name for s in defs.sensors} == {"raw_file_sensor", "run_failure_alert"}
    assert [s.name for s in defs.schedules] == ["annual_monitoring_schedule"]
    # Unattended by default: wherever the daemon runs (make serve) the sensor and the schedule are on.
    sensor, schedule = defs.get_sensor_def("raw_file_sensor"), defs.get_schedule_def("annual_monitoring_schedule")
    assert sensor.job_name == schedule.job_name == "monitoring_job"
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert defs.get_sensor_def("run_failure_alert").default_status == DefaultSensorStatus.RUNNING
    # The job is the whole graph: every asset of every domain.
    job_def = defs.resolve_job_def("monitoring_job")
    every_key = {k for a in defs.assets for k in a.keys}
    assert set(job_def.asset_layer.selected_asset_keys) == every_key


def test_dagster_home_has_the_one_writer_pool_and_keeps_existing_settings(workspace, monkeypatch):
    from dagster_project.lib.dagster_instance import ensure_dagster_home
    from dagster_project.lib.duckdb_writer import WRITER_POOL

    home = Path(os.environ["DAGSTER_HOME"])
    (home / "dagster.yaml").write_text(yaml.safe_dump({"telemetry": {"enabled": True}, "retention": {
        "schedule": {"purge_after_days": 90}}}), encoding="utf-8")
    assert ensure_dagster_home() == home
    settings = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    assert settings["concurrency"]["pools"]["default_limit"] == 1
    assert settings["retention"] == {"schedule": {"purge_after_days": 90}}  # kept
    assert settings["telemetry"] == {"enabled": False}
    with DagsterInstance.get() as instance:  # the file is a valid instance configuration
        assert instance.global_op_concurrency_default_limit == 1
        config = instance.get_concurrency_config()
        assert config.pool_config.pool_granularity.value == "op"
        assert config.run_queue_config.max_concurrent_runs == 1  # daemon-launched runs: one at a time
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
    assert WRITER_POOL == "duckdb_writer"
    # writing it again changes nothing
    before = (home / "dagster.yaml").stat().st_mtime_ns
    ensure_dagster_home()
    assert (home / "dagster.yaml").stat().st_mtime_ns == before


def test_dagster_home_stores_events_through_the_pooled_event_log_in_the_default_files(workspace):
    from dagster_project.event_log_storage import MAX_OPEN_SHARDS, PooledSqliteEventLogStorage
    from dagster_project.lib.dagster_instance import ensure_dagster_home

    home = ensure_dagster_home()

    @op
    def noop():
        return 1

    @job
    def tiny():
        noop()

    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        runs = [tiny.execute_in_process(instance=instance).run_id for _ in range(MAX_OPEN_SHARDS + 2)]
        # every run's events are in Dagster's usual place (earlier history stays readable) ...
        assert all((home / "history" / "runs" / f"{run_id}.db").exists() for run_id in runs)
        assert {e.dagster_event_type.value for e in instance.all_logs(runs[0]) if e.dagster_event} >= {
            "PIPELINE_START", "STEP_SUCCESS", "PIPELINE_SUCCESS"}
        # ... and the engines kept open stay bounded however many runs a webserver reads
        assert len(storage._engines) <= MAX_OPEN_SHARDS
        # commits do not wait for the disk (WAL + synchronous=NORMAL), in the run's file and the index
        for shard in (runs[-1], "index"):
            with storage._connect(shard) as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    # the stock storage class reads the same files
    from dagster._core.storage.event_log import SqliteEventLogStorage

    stock = SqliteEventLogStorage(str(home / "history" / "runs"))
    assert [e.message for e in stock.get_logs_for_run(runs[-1])]
    stock.dispose()


def test_an_instance_with_its_own_storage_keeps_it(workspace):
    from dagster_project.lib.dagster_instance import ensure_dagster_home

    home = Path(os.environ["DAGSTER_HOME"])
    postgres = {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": postgres}), encoding="utf-8")
    ensure_dagster_home()
    settings = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    assert settings["storage"] == postgres and "event_log_storage" not in settings


def test_every_step_that_writes_the_working_database_is_in_the_writer_pool_and_retries(defs):
    from dagster_project.defs.publication.assets import analysts_database

    for assets_def in defs.assets:
        layers = {k.path[0] for k in assets_def.keys}
        if layers & {"raw", "seeds", "staging", "intermediate", "marts", "published"}:
            assert assets_def.op.pool == "duckdb_writer", assets_def.keys
        if layers & {"raw", "published"}:
            assert assets_def.op.retry_policy is not None and assets_def.op.retry_policy.max_retries >= 2
    assert analysts_database.op.retry_policy is not None


# --------------------------------------------------------------------------- partitions

def test_extracts_are_partitioned_by_year_from_2015(defs):
    from dagster_project.defs.ingestion.partitions import last_partition_year, partition_key_for_year

    job_def = defs.resolve_job_def("monitoring_job")
    keys = job_def.partitions_def.get_partition_keys()
    assert keys[0] == "2015" and keys[-1] == str(dt.date.today().year) == str(last_partition_year())
    by_key = {k.to_user_string(): a for a in defs.assets for k in a.keys}
    assert by_key["raw/births"].partitions_def == job_def.partitions_def
    assert by_key["raw/births"].backfill_policy.max_partitions_per_run is None  # single run for any range
    assert by_key["raw/grade_history"].partitions_def is None  # no year in its file name
    assert by_key["raw/file_inventory"].partitions_def is None
    assert by_key["marts/fct_indicator_values"].partitions_def is None
    assert partition_key_for_year(2012) == "2015"
    assert partition_key_for_year(2023) == "2023"
    assert partition_key_for_year(2999) == keys[-1]


def test_a_partition_loads_only_its_years_files(workspace, defs, instance):
    from tests.helpers import write_csv

    header = ["township_code", "residence", "sex", "age", "population"]
    for year, people in ((2022, 100), (2023, 200), (2012, 50)):
        write_csv(workspace["raw"] / "population" / f"population_{year}.csv", header,
                  [["430502001", "城镇", "1", "30", people], ["430502001", "城镇", "2", "30", people]])
    # the ingestion asset alone, without its quality gate (these few rows are not a plausible population)
    job_def = defs.resolve_job_def("monitoring_job").get_subset(
        asset_selection={AssetKey(["raw", "population"])}, asset_check_selection=set())
    result = job_def.execute_in_process(instance=instance, partition_key="2023")
    assert result.success
    import duckdb

    with duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT _period_year FROM raw.population").fetchall() == [(2023,)]
    # the first partition also takes older files; a range loads every year in it, in one run
    result = job_def.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": "2015", "dagster/asset_partition_range_end": "2022"})
    assert result.success
    with duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT _period_year FROM raw.population ORDER BY 1").fetchall() == [
            (2012,), (2022,), (2023,)]
    materialized = instance.get_materialized_partitions(AssetKey(["raw", "population"]))
    assert {"2015", "2016", "2022", "2023"} <= materialized and "2024" not in materialized


# --------------------------------------------------------------------------- the sensor

def test_sensor_starts_exactly_one_run_per_new_or_changed_file(workspace, defs, instance):
    raw = workspace["raw"]
    driver = SensorDriver(defs, instance)
    assert driver.tick() == []  # empty folder

    drop(raw, "health/births_2023.csv", "a\n1\n")
    drop(raw, "health/births_2024.csv", "a\n2\n")
    drop(raw, "education/grade_history.csv", "a\n3\n")
    first = driver.tick()
    assert sorted((r.partition_key or "-", r.tags["monitor/source_file"]) for r in first) == [
        ("-", "education/grade_history.csv"), ("2023", "health/births_2023.csv"), ("2024", "health/births_2024.csv")]
    births = next(r for r in first if r.tags["monitor/source_file"] == "health/births_2023.csv")
    assert AssetKey(["raw", "births"]) in births.asset_selection
    assert AssetKey(["published", "monitoring_duckdb"]) in births.asset_selection
    assert AssetKey(["raw", "students"]) not in births.asset_selection  # only that file's extract is loaded
    # every extract's blocking gate is evaluated in every run
    checked = {k.asset_key for k in births.asset_check_keys}
    assert {AssetKey(["raw", "students"]), AssetKey(["raw", "births"])} <= checked
    assert any(k.path[0] == "marts" for k in checked)  # the dbt tests of the rebuilt models run too
    assert len({r.run_key for r in first}) == 3
    # exactly that extract plus everything that is not an extract (dbt, publication, outputs, quality outputs)
    downstream = {k for a in defs.assets for k in a.keys if k.path[0] != "raw"}
    assert set(births.asset_selection) == {AssetKey(["raw", "births"])} | downstream

    assert driver.tick() == []  # nothing new

    path = raw / "health/births_2023.csv"
    os.utime(path, (PAST + 60, PAST + 60))  # touched, same bytes
    assert driver.tick() == []

    drop(raw, "health/births_2023.csv", "a\n1\n4\n", mtime=PAST + 120)  # resubmitted with new content
    second = driver.tick()
    assert [(r.partition_key, r.tags["monitor/source_file"]) for r in second] == [("2023", "health/births_2023.csv")]
    assert second[0].run_key not in {r.run_key for r in first}
    assert driver.tick() == []

    # the same bytes under a new name (renamed, or copied) start nothing
    (raw / "health/births_2024.csv").rename(raw / "health/Births 2024.csv")
    assert driver.tick() == []
    drop(raw, "health/births-2023.csv", "a\n1\n4\n", mtime=PAST + 180)
    assert driver.tick() == []

    # back to an earlier content is a change again (a run key never repeats)
    drop(raw, "health/births_2023.csv", "a\n1\n", mtime=PAST + 240)
    third = driver.tick()
    assert len(third) == 1 and third[0].run_key not in {r.run_key for r in first + second}


def test_sensor_runs_for_a_touched_file_that_has_a_sibling_of_its_period(workspace, defs, instance):
    """Alone, a touched file is no change; beside another file of its extract and year, being the newest
    makes it the current one (ingest/file_choice.py), so the touch starts a run for that year."""
    raw = workspace["raw"]
    driver = SensorDriver(defs, instance)
    drop(raw, "health/births_2023.csv", "a\n1\n", mtime=PAST + 60)
    drop(raw, "health/births_2023.xlsx", "a\n2\n", mtime=PAST)
    assert len(driver.tick()) == 2
    os.utime(raw / "health/births_2023.xlsx", (PAST + 120, PAST + 120))  # received again, now the newest
    touched = driver.tick()
    assert [(r.partition_key, r.tags["monitor/source_file"]) for r in touched] == [("2023", "health/births_2023.xlsx")]
    assert driver.tick() == []


def test_sensor_targets_the_clamped_partition_and_the_inventory(workspace, defs, instance):
    raw = workspace["raw"]
    driver = SensorDriver(defs, instance)
    drop(raw, "health/births_2012.csv", "a\n1\n")
    drop(raw, "forms/education_2022.csv", "a\n2\n")
    drop(raw, "health/notes.csv", "a\n3\n")  # matches no template
    requests = {r.tags["monitor/source_file"]: r for r in driver.tick()}
    assert requests["health/births_2012.csv"].partition_key == "2015"
    assert requests["forms/education_2022.csv"].partition_key == "2022"
    assert AssetKey(["raw", "forms"]) in requests["forms/education_2022.csv"].asset_selection
    assert requests["health/notes.csv"].partition_key is None
    assert AssetKey(["raw", "file_inventory"]) in requests["health/notes.csv"].asset_selection
    job_def = defs.resolve_job_def("monitoring_job")
    for request in requests.values():  # every request is a valid subset of the job
        job_def.get_subset(asset_selection=set(request.asset_selection),
                           asset_check_selection=set(request.asset_check_keys))


def test_sensor_waits_until_a_file_has_stopped_changing(workspace, defs, instance, monkeypatch):
    monkeypatch.setenv("MONITOR_SENSOR_SETTLE_SECONDS", "30")
    driver = SensorDriver(defs, instance)
    drop(workspace["raw"], "health/births_2023.csv", "a\n1\n", mtime=time.time())  # being copied right now
    assert driver.tick() == []
    os.utime(workspace["raw"] / "health/births_2023.csv", (PAST, PAST))
    assert len(driver.tick()) == 1
    assert driver.tick() == []


# --------------------------------------------------------------------------- schedule

def test_annual_schedule_runs_last_years_partition_on_1_march(defs, instance):
    schedule = defs.get_schedule_def("annual_monitoring_schedule")
    assert schedule.cron_schedule == "0 2 1 3 *" and schedule.execution_timezone == "Asia/Shanghai"
    when = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    request = schedule(build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert request.partition_key == "2025"
    assert request.asset_selection is None  # the whole job: that year's files, every model, publish


# --------------------------------------------------------------------------- alerts and dead runs

@op
def _explodes():
    raise RuntimeError("磁盘已满 / disk full")


@job
def _failing_job():
    _explodes()


def test_run_failure_sensor_writes_one_alert_per_run_and_status_shows_it(workspace, instance, capsys):
    from dagster_project.cli import main
    from dagster_project.defs.automation.alerts import alerts_file, read_alerts, run_failure_alert

    result = _failing_job.execute_in_process(instance=instance, raise_on_error=False,
                                             tags={"monitor/source_file": "health/births_2023.csv"})
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = build_run_status_sensor_context(sensor_name="run_failure_alert", dagster_event=failure,
                                              dagster_instance=instance, dagster_run=run).for_run_failure()
    run_failure_alert(context)
    run_failure_alert(context)  # evaluated twice (e.g. the CLI also wrote it): one record
    alerts_file().open("a", encoding="utf-8").write('{"run_id": "cut short by a cra')  # torn line
    [alert] = read_alerts()
    assert alert["run_id"] == result.run_id and alert["source_file"] == "health/births_2023.csv"
    assert alert["failed_steps"] == ["_explodes"]
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert result.run_id[:8] in out and "health/births_2023.csv" in out and "_explodes" in out


def test_a_run_whose_process_died_is_failed_and_frees_the_writer_slot(workspace, instance):
    from dagster_project.defs.automation.alerts import read_alerts
    from dagster_project.defs.automation.run_recovery import PID_TAG, process_tags, recover_abandoned_runs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tags = {**process_tags(), PID_TAG: str(dead.pid)}
    run = instance.create_run_for_job(_failing_job, status=DagsterRunStatus.STARTED, tags=tags)
    alive = instance.create_run_for_job(_failing_job, status=DagsterRunStatus.STARTED, tags=process_tags())
    storage = instance.event_log_storage
    storage.set_concurrency_slots("duckdb_writer", 1)
    assert storage.claim_concurrency_slot("duckdb_writer", run.run_id, "raw__births").is_claimed
    assert not storage.claim_concurrency_slot("duckdb_writer", "another-run", "raw__births").is_claimed

    assert recover_abandoned_runs(instance) == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED  # this process: alive
    assert storage.get_concurrency_info("duckdb_writer").claimed_slots == []
    assert [a["run_id"] for a in read_alerts()] == [run.run_id]


# --------------------------------------------------------------------------- retries on a held lock

def test_a_step_finding_the_database_locked_waits_and_retries(workspace, defs, instance):
    """Another process holds work.duckdb (an analyst's session, a dbt that has not exited yet)."""
    work_db = workspace["warehouse"] / "work.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(4)",
         str(work_db)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    result = defs.resolve_job_def("monitoring_job").execute_in_process(
        instance=instance, asset_selection=[AssetKey(["raw", "file_inventory"])], raise_on_error=False)
    holder.wait()
    assert result.success
    events = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" in events and "STEP_RESTARTED" in events
    assert time.monotonic() - started >= 4
