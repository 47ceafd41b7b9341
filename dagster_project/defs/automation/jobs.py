"""The one job: the whole year's pipeline."""
from dagster import define_asset_job

from dagster_project.defs.automation.executor import run_locked_in_process_executor
from dagster_project.lib.dagster_instance import RUN_LOCK_TAG, RUN_LOCK_TAG_VALUE

# Load every extract, gate, build marts, publish, export.
monitoring_job = define_asset_job(
    "monitoring_job",
    selection="*",
    description="全流程：读取各部门报送文件 → 质量关卡 → dbt 指标集市 → 发布分析库 → 导出。",
    # One process (DuckDB admits one writer), holding the run lock for the whole run (run_lock.py).
    executor_def=run_locked_in_process_executor,
    # Counted by the run queue's tag limit: one run of this job at a time (lib/dagster_instance.py).
    tags={RUN_LOCK_TAG: RUN_LOCK_TAG_VALUE},
)
