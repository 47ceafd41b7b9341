"""Running unattended: the file-drop sensor, the annual schedule, failure alerts, the Dagster home.

* `raw_file_sensor` watches MONITOR_RAW_DIR. Its cursor remembers each file's
  (mtime, size, sha256), so only touched files are hashed again, and each run
  request is keyed by the file's sha256: the same bytes never start a second
  run, whatever the file is called or how often it is touched.
* `annual_schedule` runs the whole pipeline on 1 March, after the departments'
  annual deadline (health's statistical year ends 30 September).
* `run_failure_alert` writes every failed run to `$MONITOR_DATA_DIR/alerts/run_failures.jsonl`
  (read by the report and the CLI) and to the Dagster log.
"""
import datetime as dt
import json
import os
from pathlib import Path

import yaml
from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from dagster_project.config import get_settings
from dagster_project.contracts import load_contracts
from dagster_project.ingest.discovery import discover, sha256_of

DAGSTER_INSTANCE_SETTINGS = {
    # DuckDB admits one writer process: every step that writes the working database uses this pool.
    "concurrency": {"pools": {"default_limit": 1}},
    "telemetry": {"enabled": False},
}


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME defaults to $MONITOR_DATA_DIR/dagster_home, with the one-writer pool limit configured."""
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(yaml.safe_dump(DAGSTER_INSTANCE_SETTINGS), encoding="utf-8")
    return home


def scan_raw_dir(previous: dict[str, list]) -> tuple[dict[str, list], list[tuple[str, str, str | None]]]:
    """Return the new cursor and the (relative path, sha256, extract) of files that are new or changed."""
    settings = get_settings()
    cursor: dict[str, list] = {}
    changed = []
    for dropped in discover(settings.raw_dir, load_contracts()):
        stat = dropped.path.stat()
        seen = previous.get(dropped.relative)
        if seen and seen[0] == stat.st_mtime_ns and seen[1] == stat.st_size:
            cursor[dropped.relative] = seen
            continue
        sha = sha256_of(dropped.path)
        cursor[dropped.relative] = [stat.st_mtime_ns, stat.st_size, sha]
        if not seen or seen[2] != sha:
            changed.append((dropped.relative, sha, dropped.extract.name if dropped.extract else None))
    return cursor, changed


def build_raw_file_sensor(job, downstream_keys: list[AssetKey]):
    @sensor(
        job=job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="报送文件目录监听：新增或变更的文件（按sha256识别）触发一次运行。",
    )
    def raw_file_sensor(context: SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        cursor, changed = scan_raw_dir(previous)
        requests = []
        for relative, sha, extract in changed:
            raw_key = AssetKey(["raw", extract]) if extract else AssetKey(["raw", "file_inventory"])
            requests.append(
                RunRequest(
                    run_key=sha,  # one run per distinct file content, ever
                    asset_selection=[raw_key, *downstream_keys],
                    tags={"monitor/source_file": relative, "monitor/sha256": sha},
                )
            )
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        return requests or SkipReason("没有新的或变更的文件 / no new or changed files")

    return raw_file_sensor


def build_annual_schedule(job) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="annual_monitoring_schedule",
        job=job,
        cron_schedule="0 2 1 3 *",
        execution_timezone="Asia/Shanghai",
        default_status=DefaultScheduleStatus.STOPPED,
        description="年度全量运行：每年3月1日（各部门年报报送截止后）。",
    )


def alerts_file() -> Path:
    return get_settings().data_dir / "alerts" / "run_failures.jsonl"


def write_alert(record: dict) -> Path:
    path = alerts_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return path


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING, description="运行失败告警：写入告警记录。")
def run_failure_alert(context: RunFailureSensorContext):
    failure = context.failure_event
    record = {
        "run_id": context.dagster_run.run_id,
        "job": context.dagster_run.job_name,
        "failed_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "message": failure.message if failure else "",
        "source_file": context.dagster_run.tags.get("monitor/source_file"),
    }
    path = write_alert(record)
    context.log.error(f"运行失败 / run failed: {record['run_id']} — alert written to {path}")
