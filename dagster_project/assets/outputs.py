"""What leaves the warehouse: the analysts' database and the export files."""
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project.assets.dbt import build_dbt_assets
from dagster_project.config import get_settings
from dagster_project.contracts import load_contracts
from dagster_project.exports.feedback import write_feedback_files
from dagster_project.exports.indicator_tables import write_indicator_tables
from dagster_project.publish import publish, readonly_hint

# The published marts: dbt models keyed ["marts", <model>].
MART_KEYS = sorted({key for step in build_dbt_assets() for key in step.keys if key.path[0] == "marts"},
                   key=lambda k: k.path)


@asset(
    key=AssetKey(["published", "monitoring_duckdb"]),
    deps=MART_KEYS,
    group_name="outputs",
    description="分析库 monitoring.duckdb：集市表、维度表、审计表的只读快照，原子替换发布。",
    kinds={"duckdb"},
    pool="duckdb_writer",
)
def analysts_database(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    copied = publish(settings, context.run_id)
    hint = readonly_hint(settings.published_db)
    context.log.info(hint)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(settings.published_db)),
            "tables": MetadataValue.json(copied),
            "open_read_only": MetadataValue.md(f"```\n{hint}\n```"),
        }
    )


@asset(
    key=AssetKey(["exports", "indicator_tables"]),
    deps=MART_KEYS,
    group_name="outputs",
    description="指标表导出（XLSX、CSV，中文表头在前，小数值单元格已保护）/ indicator tables export.",
    kinds={"xlsx", "csv"},
)
def indicator_table_exports(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    files = write_indicator_tables(settings)
    for f in files:
        context.log.info(f"wrote {f}")
    return MaterializeResult(metadata={"files": MetadataValue.json([str(f) for f in files])})


@asset(
    key=AssetKey(["exports", "department_feedback"]),
    deps=[AssetKey(["raw", e]) for e in load_contracts().extracts],
    group_name="outputs",
    description="各部门反馈文件：逐行列出被隔离或提示的问题及修改建议 / per-department feedback workbooks.",
    kinds={"xlsx"},
)
def department_feedback(context: AssetExecutionContext) -> MaterializeResult:
    files = write_feedback_files(get_settings())
    return MaterializeResult(metadata={"files": MetadataValue.json([str(f) for f in files])})
