"""Failure alerts: every failed run is written to `$MONITOR_DATA_DIR/alerts/run_failures.jsonl`.

Read by `cli status`, the report and the CLI, and logged by Dagster. The CLI writes the same record for its own
runs (it does not need the daemon); records are unique per run id.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from dagster_project.config import get_settings
from dagster_project.defs.ingestion.partitions import RANGE_END_TAG, RANGE_START_TAG
from dagster_project.permissions import private, private_dir


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
