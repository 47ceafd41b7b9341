"""Great Expectations suites as Dagster asset checks, one multi-check per extract.

Each extract's suite runs once and reports two checks on its raw asset:
`gx_blocking_rules` (blocking: when it fails, Dagster does not run the
extract's downstream dbt step) and `gx_warning_rules` (recorded, data flows).
Results are also written to audit.gx_results for the report.
"""
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetChecksDefinition,
    multi_asset_check,
)

from dagster_project.assets.extracts import raw_asset_key
from dagster_project.contracts import Extract, load_contracts
from dagster_project.quality import record_outcome, validate_extract
from dagster_project.resources import WarehouseResource

BLOCKING_CHECK = "gx_blocking_rules"
WARNING_CHECK = "gx_warning_rules"


def build_extract_checks(extract: Extract) -> AssetChecksDefinition:
    key = raw_asset_key(extract)

    @multi_asset_check(
        specs=[
            AssetCheckSpec(BLOCKING_CHECK, asset=key, blocking=True,
                           description=f"阻断性规则（结构、类型、代码表、唯一性）：{extract.title_zh}"),
            AssetCheckSpec(WARNING_CHECK, asset=key,
                           description=f"提醒性规则（合理性、分布）：{extract.title_zh}"),
        ],
        name=f"gx_{extract.name}",
        pool="duckdb_writer",
    )
    def _checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            outcome = validate_extract(con, extract.name)
            record_outcome(con, outcome, context.run.run_id)
        metadata = outcome.to_dagster_metadata()
        if not outcome.passed_blocking:
            context.log.error(outcome.summary_zh() + "\n" + outcome.summary_en())
        elif outcome.warnings:
            context.log.warning(outcome.summary_zh())
        yield AssetCheckResult(check_name=BLOCKING_CHECK, asset_key=key, passed=outcome.passed_blocking,
                               severity=AssetCheckSeverity.ERROR, metadata=metadata)
        yield AssetCheckResult(check_name=WARNING_CHECK, asset_key=key, passed=not outcome.warnings,
                               severity=AssetCheckSeverity.WARN,
                               metadata={"warnings": len(outcome.warnings), "summary_zh": outcome.summary_zh()})

    return _checks


def build_quality_checks() -> list[AssetChecksDefinition]:
    return [build_extract_checks(e) for e in load_contracts().extracts.values()]
