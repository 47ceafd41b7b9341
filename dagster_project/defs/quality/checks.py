"""Great Expectations suites as Dagster asset checks, one multi-check per extract.

Each extract's suite runs once and reports two checks on its raw asset:
`gx_blocking_rules` and `gx_warning_rules` (recorded, data flows). Results are also written to
audit.gx_results for the report.

Publication is per indicator and period, never all-or-nothing, so a failed blocking check does not
stop Dagster's downstream steps: the periods that fail it are recorded in audit.gate_verdicts
(`quality/period_verdicts.py`), dbt's staging models leave their rows out, and exactly the figures
that depend on them are withheld (marts.fct_indicator_publication says which and why). The check is
still declared `blocking`, so the extract's dbt step waits for the verdicts it reads; it fails with
WARN severity naming the withheld periods (ERROR would make Dagster skip every downstream step). A
check that cannot run at all (an exception) still fails its step and stops what is downstream. An
extract with no rows at all (not sent yet) has nothing to judge: the check passes and says so; its
figures are withheld as 未报送.
"""
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)

from dagster_project.contracts import Extract, load_contracts
from dagster_project.defs.ingestion.assets import raw_asset_key
from dagster_project.quality import record_outcome, validate_extract
from dagster_project.quality.period_verdicts import period_verdicts, record_verdicts
from dagster_project.quality.suites import load_suite
from dagster_project.resources import WarehouseResource

BLOCKING_CHECK = "gx_blocking_rules"
WARNING_CHECK = "gx_warning_rules"


def build_extract_checks(extract: Extract) -> AssetChecksDefinition:
    key = raw_asset_key(extract)

    @multi_asset_check(
        specs=[
            AssetCheckSpec(BLOCKING_CHECK, asset=key, blocking=True,
                           description=f"阻断性规则（结构、类型、代码表、唯一性）：{extract.title_zh}。"
                                       "未通过的报送期不进入指标计算，依赖它的指标该年度扣发 / periods failing "
                                       "these rules are withheld from the indicators that use them"),
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
            verdicts = period_verdicts(con, outcome, load_suite(extract.name).period_column)
            record_verdicts(con, extract.name, verdicts, context.run.run_id)
        withheld = [v for v in verdicts if not v.passed_blocking]
        metadata = {
            **outcome.to_dagster_metadata(),
            "periods_judged": MetadataValue.json([v.period_year for v in verdicts]),
            "periods_withheld": MetadataValue.json([v.period_year for v in withheld]),
        }
        if withheld:
            years = "、".join("全部" if v.period_year is None else str(v.period_year) for v in withheld)
            context.log.error(f"{extract.title_zh}：{years} 年度未通过阻断性检查，依赖它的指标该年度扣发，其余照常发布。"
                              f" / {extract.name}: period(s) {years} withheld.\n"
                              + "\n".join(v.summary_zh for v in withheld))
        elif not verdicts:
            context.log.info(f"{extract.title_zh}：未报送，无数据可检查（依赖它的指标扣发） / {extract.name}: no data yet.")
        elif outcome.warnings:
            context.log.warning(outcome.summary_zh())
        yield AssetCheckResult(check_name=BLOCKING_CHECK, asset_key=key, passed=not withheld,
                               severity=AssetCheckSeverity.WARN, metadata=metadata)
        yield AssetCheckResult(check_name=WARNING_CHECK, asset_key=key, passed=not outcome.warnings,
                               severity=AssetCheckSeverity.WARN,
                               metadata={"warnings": len(outcome.warnings), "summary_zh": outcome.summary_zh()})

    return _checks


def build_quality_checks() -> list[AssetChecksDefinition]:
    return [build_extract_checks(e) for e in load_contracts().extracts.values()]
