"""The analysts' database: a read-only snapshot of the marts, dimensions and audit tables, replaced atomically."""
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project.config import get_settings
from dagster_project.defs.transformation.assets import mart_keys
from dagster_project.lib.duckdb_writer import WRITER_RETRY_POLICY
from dagster_project.publication_summary import format_summary, read_summary
from dagster_project.publish import open_published_readonly, publish, readonly_hint


@asset(
    key=AssetKey(["published", "monitoring_duckdb"]),
    deps=mart_keys(),
    group_name="outputs",
    description="分析库 monitoring.duckdb：集市表、维度表、审计表的只读快照，原子替换发布。",
    kinds={"duckdb"},
    pool="duckdb_writer",
    retry_policy=WRITER_RETRY_POLICY,  # e.g. work.duckdb locked by another process for a moment
)
def analysts_database(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    copied = publish(settings, context.run_id)
    hint = readonly_hint(settings.published_db)
    context.log.info(hint)
    con = open_published_readonly(settings.published_db)
    try:
        summary = read_summary(con)
    finally:
        con.close()
    published = {}
    if summary is not None:
        # A partial publication is a normal state: logged as a warning, the run still succeeds.
        (context.log.warning if summary.is_partial else context.log.info)(format_summary(summary))
        published = {
            "publication": "partial" if summary.is_partial else "complete",
            "latest_year": summary.latest_year,
            "indicators_withheld": len(summary.withheld),
            "indicators_incomplete_coverage": len(summary.incomplete),
            "publication_summary_zh": MetadataValue.md("```\n" + format_summary(summary, listed=200) + "\n```"),
        }
    return MaterializeResult(
        metadata={
            **published,
            "path": MetadataValue.path(str(settings.published_db)),
            "tables": MetadataValue.json(copied),
            "open_read_only": MetadataValue.md(f"```\n{hint}\n```"),
        }
    )
