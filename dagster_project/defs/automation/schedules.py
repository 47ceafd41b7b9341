"""The annual schedule: the previous year's partition on 1 March, after the departments' annual deadline
(health's statistical year ends 30 September). Runs by default wherever the Dagster daemon runs (`make serve`)."""
from __future__ import annotations

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from dagster_project.defs.ingestion.partitions import TIMEZONE, partition_key_for_year


def build_annual_schedule(job):
    @schedule(
        name="annual_monitoring_schedule",
        job=job,
        cron_schedule="0 2 1 3 *",
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.RUNNING,  # unattended by default (make serve runs the daemon)
        description="年度运行：每年3月1日（各部门年报报送截止后）运行上一年度分区及全部下游。",
    )
    def annual_monitoring_schedule(context: ScheduleEvaluationContext):
        year = context.scheduled_execution_time.year - 1
        key = partition_key_for_year(year)
        return RunRequest(run_key=f"annual-{key}", partition_key=key,
                          tags={"monitor/trigger": "annual_schedule"})

    return annual_monitoring_schedule
