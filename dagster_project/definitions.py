"""The one Dagster Definitions of the monitoring warehouse (loaded by workspace.yaml), built once from explicit lists.

Each domain of `defs/` owns its assets, checks, sensors and schedules; this module only lists them.
"""
from dagster import AssetSelection, Definitions

from dagster_project.permissions import restrict_umask

# Every Dagster process that runs our code loads this module first (the code server, each run worker):
# what they create - work.duckdb, dbt's logs, Dagster's storage - is private from the start (permissions.py).
restrict_umask()

from dagster_project.defs.automation.alerts import run_failure_alert  # noqa: E402
from dagster_project.defs.automation.jobs import monitoring_job  # noqa: E402
from dagster_project.defs.automation.schedules import build_annual_schedule  # noqa: E402
from dagster_project.defs.automation.sensors import build_raw_file_sensor  # noqa: E402
from dagster_project.defs.ingestion.assets import build_extract_assets  # noqa: E402
from dagster_project.defs.outputs.assets import (  # noqa: E402
    annual_report,
    department_feedback,
    final_evaluation,
    indicator_table_exports,
    provincial_submission,
    submission_diff,
)
from dagster_project.defs.publication.assets import analysts_database  # noqa: E402
from dagster_project.defs.quality.checks import build_quality_checks  # noqa: E402
from dagster_project.defs.quality.reports import department_feedback_findings, quality_data_docs  # noqa: E402
from dagster_project.defs.transformation.assets import build_dbt_assets, dbt_resource  # noqa: E402
from dagster_project.resources import WarehouseResource  # noqa: E402

ingestion_assets = build_extract_assets()
transformation_assets = build_dbt_assets()
publication_assets = [analysts_database]
# The monitoring group's hand-over; the report, evaluation and submission are for the latest year.
output_assets = [indicator_table_exports, department_feedback, annual_report, final_evaluation,
                 provincial_submission, submission_diff]
# End-of-run quality outputs (GX Data Docs, feedback findings): they depend on nothing and run last, so a
# blocking check that fails does not stop them.
quality_report_assets = [quality_data_docs, department_feedback_findings]
quality_checks = build_quality_checks()

# What a changed file can affect: everything but the other extracts. A run the sensor requests selects the
# changed file's extract plus these, and evaluates every extract's blocking checks (a period that failed its
# gate keeps its figures withheld until it is fixed) and the dbt tests of the models it rebuilds.
downstream_of_raw = AssetSelection.assets(*transformation_assets, *publication_assets, *output_assets,
                                          *quality_report_assets)
all_check_keys = [key for checks in quality_checks for key in checks.check_keys] + [
    key for step in transformation_assets for key in step.check_keys]

all_assets = [*ingestion_assets, *transformation_assets, *publication_assets, *output_assets, *quality_report_assets]

defs = Definitions(
    assets=all_assets,
    asset_checks=quality_checks,
    jobs=[monitoring_job],
    sensors=[build_raw_file_sensor(monitoring_job, sorted(downstream_of_raw.resolve(all_assets), key=lambda k: k.path),
                                   all_check_keys),
             run_failure_alert],
    schedules=[build_annual_schedule(monitoring_job)],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_resource()},
)
