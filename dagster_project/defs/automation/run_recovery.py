"""Runs whose process died: CLI runs whose process no longer exists (SIGKILL, power cut) are marked failed and
their pool slots freed, which would otherwise block the next run forever."""
from __future__ import annotations

import os
import socket

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from dagster_project.defs.automation.alerts import alert_record, write_alert

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
