"""The job's executor: Dagster's in-process executor holding the run lock (run_lock.py).

Every run Dagster launches (sensor, schedule, backfill, UI) takes the run lock before its first step, so it
cannot overlap a `cli run`, which does not pass through Dagster's run queue. The CLI takes the same lock
itself: `execute_in_process` replaces the job's executor by Dagster's own.
"""
from __future__ import annotations

import os

from dagster import executor, in_process_executor
from dagster._core.definitions.executor_definition import IN_PROC_CONFIG
from dagster._core.errors import raise_execution_interrupts
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.executor.in_process import InProcessExecutor

from dagster_project.config import get_settings
from dagster_project.permissions import restrict_umask
from dagster_project.run_lock import Holder, RunLock, RunLockBusy

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
