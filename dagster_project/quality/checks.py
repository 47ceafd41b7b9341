"""Dagster asset checks running each extract's suite (ready to add to `Definitions`).

    from dagster_project.quality.checks import build_quality_checks
    Definitions(assets=[...], asset_checks=build_quality_checks(), ...)

One blocking check per raw extract asset (`raw/<extract>`), named
`great_expectations`. It validates every period of `raw.<extract>`, records the
outcome in `audit.gx_results` under the Dagster run id, logs the Chinese summary
and returns ERROR severity when a blocking rule failed (downstream dbt models do
not run) or WARN when only warnings did (they do).
"""
# no `from __future__ import annotations`: Dagster inspects the real annotation types
from collections.abc import Iterable

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetChecksDefinition, AssetKey, asset_check

from dagster_project.contracts import Extract, load_contracts
from dagster_project.quality.recording import record_outcome
from dagster_project.quality.runner import validate_extract
from dagster_project.resources import WarehouseResource

CHECK_NAME = "great_expectations"


def build_quality_check(extract: Extract) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(["raw", extract.name]),  # the key of the extract's ingestion asset
        name=CHECK_NAME,
        blocking=True,
        description=(f"质量关卡：{extract.title_zh}（expectations/{extract.department}/{extract.name}.json）"
                     " — blocking rules stop the extract, warnings are reported."),
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.connect() as con:
            outcome = validate_extract(con, extract.name)
            record_outcome(con, outcome, context.run.run_id)
        log = context.log.info if outcome.passed_blocking else context.log.error
        for line in outcome.summary_zh().splitlines():
            log(line)
        return outcome.to_asset_check_result()

    return _check


def build_quality_checks(extract_names: Iterable[str] | None = None) -> list[AssetChecksDefinition]:
    extracts = load_contracts().extracts
    names = list(extract_names) if extract_names is not None else list(extracts)
    return [build_quality_check(extracts[n]) for n in names]
