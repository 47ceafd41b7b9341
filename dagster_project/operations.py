"""Running unattended: yearly partitions, the file-drop sensor, the annual schedule, failure alerts, the Dagster home.

* Yearly partitions. Every extract whose file name carries a year (`births_2023.csv`) is partitioned by
  that year, from 2015 to the current year (`YEARLY_PARTITIONS`); a partition loads only its year's files.
  The first partition also takes older files and the last one later files, so no file is ever left out.
  Extracts without a year in the name (`grade_history.csv`) are not partitioned. Backfills run as one
  run (`BackfillPolicy.single_run()`), and `python -m dagster_project.cli run` runs the whole range in
  one run (`full_range_tags()`).
* `raw_file_sensor` watches MONITOR_RAW_DIR. Its cursor remembers each file's (mtime, size, sha256,
  version), so only touched files are hashed again. Exactly one run is requested per new or changed
  file, for that file's year partition; a touched but unchanged file starts nothing, and neither do
  the same bytes appearing under a new name for the same extract and year (a rename or a copy). A
  file modified within the last `MONITOR_SENSOR_SETTLE_SECONDS` (default 30) is left for the next
  tick: it may still be being copied. Every run requested also evaluates every extract's blocking
  quality check, so a period that failed its gate stays withheld (its figures unpublished) until fixed.
* `annual_monitoring_schedule` runs the previous year's partition on 1 March (after the departments'
  annual deadline; health's statistical year ends 30 September).
* `run_failure_alert` writes every failed run to `$MONITOR_DATA_DIR/alerts/run_failures.jsonl`
  (read by `cli status`, the report and the CLI) and to the Dagster log. The CLI writes the same record
  for its own runs (it does not need the daemon); records are unique per run id.
* `ensure_dagster_home` writes the instance settings: one run at a time (and one run of `monitoring_job`
  even if the instance's limit is raised for other jobs), the `duckdb_writer` pool limited to 1 (DuckDB
  admits one writer process), run monitoring that frees the slots of dead runs. Dagster's storage there
  is private to the pipeline's account (0700/0600, see permissions.py).
* `run_locked_in_process_executor`, the job's executor: every run Dagster launches (sensor, schedule,
  backfill, UI) takes the run lock (run_lock.py) before its first step, so it cannot overlap a `cli run`,
  which does not pass through Dagster's run queue. The CLI takes the same lock itself: `execute_in_process`
  replaces the job's executor by Dagster's own.
* `recover_abandoned_runs` marks CLI runs whose process no longer exists (SIGKILL, power cut) as
  failed and frees their pool slots, which would otherwise block the next run forever.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from dagster import (
    AssetCheckKey,
    AssetKey,
    BackfillPolicy,
    Backoff,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Jitter,
    RetryPolicy,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    TimeWindowPartitionsDefinition,
    executor,
    in_process_executor,
    run_failure_sensor,
    schedule,
    sensor,
)
from dagster._core.definitions.executor_definition import IN_PROC_CONFIG
from dagster._core.errors import raise_execution_interrupts
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.executor.in_process import InProcessExecutor

from dagster_project.config import get_settings
from dagster_project.contracts import Extract, load_contracts
from dagster_project.ingest.discovery import discover, identify, sha256_of
from dagster_project.permissions import private, private_dir, private_tree, restrict_umask
from dagster_project.run_lock import Holder, RunLock, RunLockBusy

# --------------------------------------------------------------------------- partitions

FIRST_YEAR = 2015
TIMEZONE = "Asia/Shanghai"
YEARLY_PARTITIONS = TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR), fmt="%Y", cron_schedule="0 0 1 1 *", timezone=TIMEZONE,
    end_offset=1,  # the current year is a partition too (a school year starting this autumn, a correction)
)
SINGLE_RUN_BACKFILL = BackfillPolicy.single_run()
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# DuckDB admits one writer process; a step that finds the working database locked (another process,
# or the dbt of a step that has just failed and not yet exited) waits and tries again: 10 s, 20 s, 40 s.
WRITER_RETRY_POLICY = RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
WRITER_POOL = "duckdb_writer"


def is_partitioned(extract: Extract) -> bool:
    """Extracts whose file names carry a year are partitioned by it."""
    return "{year}" in extract.file_pattern


def last_partition_year() -> int:
    return int(YEARLY_PARTITIONS.get_last_partition_key())


def partition_key_for_year(year: int) -> str:
    """The partition that loads a file of `year`: years before 2015 go to 2015, later ones to the last."""
    return str(min(max(year, FIRST_YEAR), last_partition_year()))


def years_filter(first_key: str, last_key: str):
    """Predicate on a file's year: is it loaded by the partitions first_key..last_key?"""
    first, last = int(first_key), int(last_key)
    open_below = first <= FIRST_YEAR
    open_above = last >= last_partition_year()

    def wanted(year: int | None) -> bool:
        if year is None:
            return True
        return (open_below or year >= first) and (open_above or year <= last)

    return wanted


def full_range_tags() -> dict[str, str]:
    """Run tags selecting every yearly partition in one run."""
    return {RANGE_START_TAG: str(FIRST_YEAR), RANGE_END_TAG: str(last_partition_year())}


def raw_dir_range_tags() -> dict[str, str]:
    """Run tags selecting, in one run, the partitions of every year that has a file in MONITOR_RAW_DIR.

    What `cli run` uses: it loads every file (years outside 2015..now go to the first or last
    partition), and only the years that have data are marked materialized.
    """
    years = {int(partition_key_for_year(d.period_year))
             for d in discover(get_settings().raw_dir, load_contracts()) if d.extract and d.period_year is not None}
    if not years:
        return {RANGE_START_TAG: str(last_partition_year()), RANGE_END_TAG: str(last_partition_year())}
    return {RANGE_START_TAG: str(min(years)), RANGE_END_TAG: str(max(years))}


# --------------------------------------------------------------------------- Dagster home

# Every run of monitoring_job carries this tag (definitions.py); the run queue admits one run with it at a
# time. CLI runs carry it too and are counted by the queue while they are in progress.
RUN_LOCK_TAG = "monitor/run_lock"
RUN_LOCK_TAG_VALUE = "warehouse"

DAGSTER_INSTANCE_SETTINGS = {
    "concurrency": {
        # DuckDB admits one writer process: every step that writes the working database uses the pool
        # `duckdb_writer` (and every unconfigured pool gets this limit). Slots are claimed per step.
        "pools": {"default_limit": 1, "granularity": "op"},
        # Runs launched by the daemon (sensor, schedule, UI) wait in the queue and start one at a time:
        # steps that only read the working database (exports) cannot meet another run's writer either.
        # The tag limit keeps monitoring_job at one run even if an operator raises max_concurrent_runs for
        # other jobs of the instance.
        "runs": {"max_concurrent_runs": 1,
                 "tag_concurrency_limits": [{"key": RUN_LOCK_TAG, "value": RUN_LOCK_TAG_VALUE, "limit": 1}]},
    },
    "run_monitoring": {
        "enabled": True,
        "free_slots_after_run_end_seconds": 60,
        "max_runtime_seconds": 4 * 3600,
        "cancel_timeout_seconds": 300,
    },
    "telemetry": {"enabled": False},
}


def _merge(base: dict, required: dict) -> dict:
    merged = dict(base)
    for key, value in required.items():
        merged[key] = _merge(merged.get(key) or {}, value) if isinstance(value, dict) else value
    return merged


EVENT_LOG_STORAGE_MODULE = "dagster_project.event_log_storage"


def _event_log_storage_setting(current: dict, home: Path) -> dict:
    """Our pooled SQLite event log (dagster_project/event_log_storage.py), in the files of Dagster's default
    SQLite storage so that earlier runs stay visible - unless the instance configures its own storage
    (e.g. Postgres), which is left as it is."""
    ours = current.get("event_log_storage") or {}
    if ours.get("module", EVENT_LOG_STORAGE_MODULE) != EVENT_LOG_STORAGE_MODULE or any(
            current.get(key) for key in ("storage", "run_storage", "schedule_storage")):
        return {}
    return {"event_log_storage": {"module": EVENT_LOG_STORAGE_MODULE, "class": "PooledSqliteEventLogStorage",
                                  "config": {"base_dir": str(home / "history" / "runs")}}}


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME defaults to $MONITOR_DATA_DIR/dagster_home; its dagster.yaml gets our settings.

    Settings already in an existing dagster.yaml are kept; ours are added or enforced. The home and
    everything in it are private (0700/0600): run history, event logs and compute logs carry file names,
    row counts and error messages about the departments' data. Files Dagster creates later are private
    through the umask; what an earlier version left open is closed here.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().data_dir / "dagster_home")
    private_dir(home)
    private_tree(home)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    current = {}
    if config.exists():
        current = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    wanted = _merge(current, DAGSTER_INSTANCE_SETTINGS)
    wanted.update(_event_log_storage_setting(current, home))
    if wanted != current:
        tmp = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        tmp.write_text(yaml.safe_dump(wanted, sort_keys=True), encoding="utf-8")
        private(tmp)
        os.replace(tmp, config)
    return home


# --------------------------------------------------------------------------- the run lock in the executor

RUN_LOCK_WAIT_ENV = "MONITOR_RUN_LOCK_WAIT_SECONDS"
# A run Dagster launched was already queued behind every other run of the instance; it can only meet a
# `cli run`, which takes minutes on a district's data. An hour covers that and bounds the wait of a run
# that would otherwise sit "started" behind a CLI run that hangs.
DEFAULT_RUN_LOCK_WAIT_SECONDS = 3600.0


def run_lock_wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(RUN_LOCK_WAIT_ENV, DEFAULT_RUN_LOCK_WAIT_SECONDS)))
    except ValueError:
        return DEFAULT_RUN_LOCK_WAIT_SECONDS


def launched_by(tags) -> str:
    """How a run was started, from its tags: the CLI, the sensor, the schedule, a backfill or the UI."""
    if tags.get("monitor/trigger"):
        return tags["monitor/trigger"]
    for tag, name in (("dagster/sensor_name", "sensor"), ("dagster/schedule_name", "schedule"),
                      ("dagster/backfill", "backfill")):
        if tags.get(tag):
            return f"{name} {tags[tag]}"
    return "Dagster UI"


class RunLockedInProcessExecutor(InProcessExecutor):
    """Dagster's in-process executor, holding the run lock from before the first step to after the last."""

    def execute(self, plan_context, execution_plan):
        restrict_umask()  # a run worker Dagster started: its files are private (permissions.py)
        settings = get_settings()
        lock = RunLock(settings.data_dir)
        run = plan_context.dagster_run
        holder = Holder.this_process(run.run_id, launched_by(run.tags))
        try:
            lock.acquire(holder)
        except RunLockBusy as busy:
            wait = run_lock_wait_seconds()
            zh = busy.holder.describe_zh() if busy.holder else "另一次运行"
            en = busy.holder.describe_en() if busy.holder else "another run"
            yield DagsterEvent.engine_event(
                plan_context, f"等待{zh}结束（最多 {wait:.0f} 秒）/ waiting up to {wait:.0f} s for {en} to finish",
                EngineEventData())
            # Dagster defers interrupts outside step code (capture_interrupts): without this, terminating the
            # run from the UI while it waits would take effect only when the wait is over.
            with raise_execution_interrupts():
                # RunLockBusy after the wait fails the run with its one-line message, before any step ran.
                lock.acquire(holder, wait_seconds=wait)
        try:
            yield DagsterEvent.engine_event(
                plan_context, f"已取得运行锁 / run lock taken: {lock.path}", EngineEventData())
            yield from super().execute(plan_context, execution_plan)
        finally:
            lock.release()  # SIGTERM and termination from the UI arrive here as an interrupt


@executor(name="in_process", config_schema=IN_PROC_CONFIG)
def run_locked_in_process_executor(init_context):
    """`in_process` with the run lock (same name and configuration, so the launchpad's config still applies)."""
    base = in_process_executor.executor_creation_fn(init_context)
    return RunLockedInProcessExecutor(retries=base.retries, step_dependency_config=base.step_dependency_config)


# --------------------------------------------------------------------------- the file-drop sensor

SETTLE_SECONDS_ENV = "MONITOR_SENSOR_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 30.0


@dataclass(frozen=True)
class FileChange:
    relative: str            # DroppedFile.key: stored in Dagster's run tags and run keys, so never an ID number
    sha256: str
    extract: str | None      # None: the name matches no template (or a link out of the raw folder)
    period_year: int | None
    version: int             # how many times this path's content has changed (run key part)

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(["raw", self.extract or "file_inventory"])

    @property
    def partition_key(self) -> str | None:
        if self.extract is None or self.period_year is None:
            return None
        return partition_key_for_year(self.period_year)


def _settle_seconds() -> float:
    try:
        return float(os.environ.get(SETTLE_SECONDS_ENV, DEFAULT_SETTLE_SECONDS))
    except ValueError:
        return DEFAULT_SETTLE_SECONDS


def scan_raw_dir(previous: dict[str, list], now: float | None = None,
                 settle_seconds: float | None = None) -> tuple[dict[str, list], list[FileChange]]:
    """Return the new cursor and the files that are new or changed since `previous`.

    Cursor: relative path (`DroppedFile.key`: an ID number in a name masked) -> [mtime_ns, size, sha256,
    version]. A file is hashed only when its mtime or size moved. Not a change: the same bytes as before (touched), and a new path holding
    bytes that another path of the same extract, year and department held at the previous scan
    (renamed or copied). A file modified less than `settle_seconds` ago is skipped for now.
    """
    settings = get_settings()
    now = time.time() if now is None else now
    settle = _settle_seconds() if settle_seconds is None else settle_seconds
    contracts = load_contracts()
    files = discover(settings.raw_dir, contracts)
    # Partitions with several files: there a touch (a newer modification time, the same bytes) can make a
    # file the newest, hence the current one (ingest/file_choice.py), so it is a change.
    files_in = Counter(d.partition for d in files if d.extract is not None and not d.blocked)
    # (bytes, partition) held by some path at the previous scan; the path may be gone (renamed)
    known = {(entry[2], identify(settings.raw_dir / rel, settings.raw_dir, contracts).partition)
             for rel, entry in previous.items()}
    cursor: dict[str, list] = {}
    changes: list[FileChange] = []
    for dropped in files:
        try:
            st = dropped.path.lstat() if dropped.blocked else dropped.path.stat()
        except OSError:
            continue  # vanished since it was listed
        seen = previous.get(dropped.key)
        if seen and seen[0] == st.st_mtime_ns and seen[1] == st.st_size:
            cursor[dropped.key] = seen
            continue
        if now - st.st_mtime < settle:
            if seen:
                cursor[dropped.key] = seen  # still being written: decide at a later tick
            continue
        try:
            sha = (f"blocked-{dropped.blocked}" if dropped.blocked else sha256_of(dropped.path))
        except OSError:
            continue
        version = seen[3] if seen and len(seen) > 3 else 0
        if seen and seen[2] == sha and files_in[dropped.partition] < 2:
            cursor[dropped.key] = [st.st_mtime_ns, st.st_size, sha, version]  # touched, not changed
            continue
        if not seen and (sha, dropped.partition) in known:
            cursor[dropped.key] = [st.st_mtime_ns, st.st_size, sha, version]  # renamed or copied
            continue
        version += 1
        cursor[dropped.key] = [st.st_mtime_ns, st.st_size, sha, version]
        known.add((sha, dropped.partition))  # two new copies in one tick: one run
        changes.append(FileChange(dropped.key, sha, dropped.extract.name if dropped.extract else None,
                                  dropped.period_year, version))
    return cursor, changes


def run_request_for(change: FileChange, downstream_keys: list[AssetKey],
                    check_keys: list[AssetCheckKey]) -> RunRequest:
    return RunRequest(
        # One run per (content, path, change number): Dagster never launches a run key twice, even if
        # a tick fails after launching and before saving its cursor.
        run_key=f"{change.sha256}:{change.relative}:{change.version}",
        partition_key=change.partition_key,
        asset_selection=[change.asset_key, *downstream_keys],
        asset_check_keys=list(check_keys),
        tags={"monitor/source_file": change.relative, "monitor/sha256": change.sha256,
              "monitor/trigger": "raw_file_sensor"},
    )


def build_raw_file_sensor(job, downstream_keys: list[AssetKey], check_keys: list[AssetCheckKey] | None = None):
    """`check_keys`: the blocking quality checks every run evaluates (all extracts' checks)."""
    check_keys = list(check_keys or [])

    @sensor(
        job=job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="报送文件目录监听：每个新增或变更的文件（按sha256识别）触发一次运行，只加载该文件所属年份分区。",
    )
    def raw_file_sensor(context: SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        cursor, changes = scan_raw_dir(previous)
        requests = [run_request_for(change, downstream_keys, check_keys) for change in changes]
        for change in changes:
            context.log.info(f"{change.relative} (sha256 {change.sha256[:12]}) → partition {change.partition_key}")
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        return requests or SkipReason("没有新的或变更的文件 / no new or changed files")

    return raw_file_sensor


# --------------------------------------------------------------------------- the annual schedule

def build_annual_schedule(job):
    @schedule(
        name="annual_monitoring_schedule",
        job=job,
        cron_schedule="0 2 1 3 *",
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.STOPPED,
        description="年度运行：每年3月1日（各部门年报报送截止后）运行上一年度分区及全部下游。",
    )
    def annual_monitoring_schedule(context: ScheduleEvaluationContext):
        year = context.scheduled_execution_time.year - 1
        key = partition_key_for_year(year)
        return RunRequest(run_key=f"annual-{key}", partition_key=key,
                          tags={"monitor/trigger": "annual_schedule"})

    return annual_monitoring_schedule


# --------------------------------------------------------------------------- alerts

def alerts_file() -> Path:
    return get_settings().data_dir / "alerts" / "run_failures.jsonl"


def read_alerts(limit: int | None = None) -> list[dict]:
    """The alert records, oldest first (a line cut short by a crash is skipped)."""
    path = alerts_file()
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records[-limit:] if limit else records


def write_alert(record: dict) -> Path:
    """Append one alert; a run already alerted (by the sensor or the CLI) is not written twice."""
    path = alerts_file()
    private_dir(path.parent)  # failure messages name files and departments' problems: the pipeline's own
    run_id = record.get("run_id")
    if run_id and any(r.get("run_id") == run_id for r in read_alerts()):
        return path
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    private(path)
    return path


def alert_record(run, failed_steps: list[str], message: str) -> dict:
    tags = run.tags
    partition = tags.get("dagster/partition") or (
        f"{tags[RANGE_START_TAG]}..{tags[RANGE_END_TAG]}" if RANGE_START_TAG in tags else None)
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "failed_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "partition": partition,
        "failed_steps": failed_steps,
        "message": (message or "")[:2000],
        "source_file": tags.get("monitor/source_file"),
        "trigger": tags.get("monitor/trigger"),
    }


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING, description="运行失败告警：写入告警记录。")
def run_failure_alert(context: RunFailureSensorContext):
    from dagster_project.run_console import step_failure_line

    failure = context.failure_event
    step_failures = [e for e in context.get_step_failure_events() if e.step_key]
    steps = sorted({e.step_key for e in step_failures})
    # one line per failed step, for a clerk (`cli status`): the error itself, not "Execution of step … failed"
    lines = list(dict.fromkeys(step_failure_line(e) for e in step_failures))
    record = alert_record(context.dagster_run, steps, "\n".join(lines) or (failure.message if failure else ""))
    path = write_alert(record)
    context.log.error(f"运行失败 / run failed: {record['run_id']} — alert written to {path}")


# --------------------------------------------------------------------------- runs whose process died

PID_TAG, HOST_TAG, START_TAG = "monitor/pid", "monitor/host", "monitor/process_start"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process (to tell a reused pid apart); None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"
        return "?"


def process_tags() -> dict[str, str]:
    """Tags identifying this process on a run, so a later run can tell whether it died."""
    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), START_TAG: _process_start(pid) or "?"}


def _process_alive(tags) -> bool:
    if tags.get(HOST_TAG) != socket.gethostname():
        return True  # cannot tell: leave it to run monitoring
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return True
    start = _process_start(pid)
    if start is None:
        return False
    recorded = tags.get(START_TAG, "?")
    return start == "?" or recorded == "?" or start == recorded


def recover_abandoned_runs(instance: DagsterInstance) -> list[str]:
    """Mark unfinished runs launched by a process that no longer exists as failed; free their pool slots."""
    recovered = []
    unfinished = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING,
                  DagsterRunStatus.NOT_STARTED]
    for run in instance.get_runs(filters=RunsFilter(statuses=unfinished)):
        if PID_TAG not in run.tags or _process_alive(run.tags):
            continue
        message = (f"运行进程 {run.tags[PID_TAG]} 已不存在（被终止？），标记为失败 / "
                   f"the run's process {run.tags[PID_TAG]} no longer exists (killed?); marked failed.")
        instance.report_run_failed(run, message)
        write_alert(alert_record(run, [], message))
        recovered.append(run.run_id)
    holding = list(instance.event_log_storage.get_concurrency_run_ids()) \
        if instance.event_log_storage.supports_global_concurrency_limits else []
    if holding:
        for run in instance.get_runs(filters=RunsFilter(run_ids=holding)):
            if run.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return recovered
