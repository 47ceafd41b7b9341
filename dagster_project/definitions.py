"""The one Dagster Definitions of the monitoring warehouse (loaded by workspace.yaml)."""
from dagster import Definitions, define_asset_job

from dagster_project.permissions import restrict_umask

# Every Dagster process that runs our code loads this module first (the code server, each run worker):
# what they create - work.duckdb, dbt's logs, Dagster's storage - is private from the start (permissions.py).
restrict_umask()

from dagster_project.assets.dbt import build_dbt_assets, dbt_resource
from dagster_project.assets.extracts import build_extract_assets
from dagster_project.assets.outputs import (
    analysts_database,
    annual_report,
    compendium,
    department_feedback,
    final_evaluation,
    indicator_table_exports,
    provincial_submission,
    submission_diff,
)
from dagster_project.assets.quality_checks import build_quality_checks
from dagster_project.operations import (
    RUN_LOCK_TAG,
    RUN_LOCK_TAG_VALUE,
    build_annual_schedule,
    build_raw_file_sensor,
    run_failure_alert,
    run_locked_in_process_executor,
)
from dagster_project.resources import WarehouseResource

extract_assets = build_extract_assets()
dbt_steps = build_dbt_assets()

# The whole year's pipeline: load every extract, gate, build marts, publish, export.
monitoring_job = define_asset_job(
    "monitoring_job",
    selection="*",
    description="全流程：读取各部门报送文件 → 质量关卡 → dbt 指标集市 → 发布分析库 → 导出。",
    # One process (DuckDB admits one writer), holding the run lock for the whole run (run_lock.py).
    executor_def=run_locked_in_process_executor,
    # Counted by the run queue's tag limit: one run of this job at a time (operations.DAGSTER_INSTANCE_SETTINGS).
    tags={RUN_LOCK_TAG: RUN_LOCK_TAG_VALUE},
)

# Everything a changed file can affect: all dbt models and the outputs.
downstream_of_raw = [key for step in dbt_steps for key in step.keys] + [
    analysts_database.key, indicator_table_exports.key, department_feedback.key,
]

quality_checks = build_quality_checks()
# Every sensor run evaluates every extract's blocking checks, not only the changed file's (a period
# that failed its gate keeps its figures withheld until it is fixed), and the dbt tests of the models
# it rebuilds (a run request lists its checks explicitly).
all_check_keys = [key for checks in quality_checks for key in checks.check_keys] + [
    key for step in dbt_steps for key in step.check_keys]

# The monitoring group's hand-over for the latest year (part of monitoring_job: it selects "*").
handover_assets = [annual_report, final_evaluation, compendium, provincial_submission, submission_diff]
downstream_of_raw += [asset.key for asset in handover_assets]

defs = Definitions(
    assets=[*extract_assets, *dbt_steps, analysts_database, indicator_table_exports, department_feedback],
    asset_checks=quality_checks,
    jobs=[monitoring_job],
    sensors=[build_raw_file_sensor(monitoring_job, downstream_of_raw, all_check_keys), run_failure_alert],
    schedules=[build_annual_schedule(monitoring_job)],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_resource()},
)
defs = Definitions.merge(defs, Definitions(assets=handover_assets))

# End-of-run quality outputs: GX Data Docs and the feedback workbooks with validation findings. They
# depend on nothing and run last (low priority), so a blocking check that fails does not stop them.
from dagster_project.assets.quality_reports import department_feedback_findings, quality_data_docs  # noqa: E402

quality_report_assets = [quality_data_docs, department_feedback_findings]
downstream_of_raw += [asset.key for asset in quality_report_assets]
defs = Definitions.merge(defs, Definitions(assets=quality_report_assets))
