"""What leaves the warehouse as files: indicator tables, feedback workbooks, the annual report, the final
evaluation, the provincial submission and its diff (the analysts' database is in defs/publication).

Each export asset ends with `share(exports_dir)`: the pipeline's umask makes what it writes private, and
exports are for the analysts' group (0750/0640, permissions.py).
"""
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project import database
from dagster_project.config import get_settings
from dagster_project.contracts import load_contracts
from dagster_project.defs.transformation.assets import mart_keys
from dagster_project.exports.feedback import write_feedback_files
from dagster_project.exports.indicator_tables import write_indicator_tables
from dagster_project.permissions import share

MART_KEYS = mart_keys()


@asset(
    key=AssetKey(["exports", "indicator_tables"]),
    deps=MART_KEYS,
    group_name="outputs",
    description="指标表导出（XLSX、CSV、Parquet，中文表头在前）：公开版（与省级报送相同的小数保护）与内部使用版（全部数值）"
                " / indicator tables: public edition (protected as the submission) and internal edition.",
    kinds={"xlsx", "csv"},
)
def indicator_table_exports(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    files = write_indicator_tables(settings)
    share(settings.exports_dir)
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
    settings = get_settings()
    files = write_feedback_files(settings)
    share(settings.exports_dir)
    return MaterializeResult(metadata={"files": MetadataValue.json([str(f) for f in files])})


# What the monitoring group hands over for the latest year: the annual report, the provincial submission
# (public and internal variants, kept per submission) and what changed since the previous submission.

@asset(
    key=AssetKey(["exports", "annual_report"]),
    deps=MART_KEYS,
    group_name="outputs",
    description="年度监测报告（最近年度，内部使用）：单个HTML文件，中文，内嵌SVG图表，无需联网，A4打印 / "
                "the annual monitoring report for the latest year (internal).",
    kinds={"html"},
)
def annual_report(context: AssetExecutionContext) -> MaterializeResult:
    from dagster_project.report import write_annual_report

    settings = get_settings()
    path = write_annual_report(settings)
    share(settings.exports_dir)
    context.log.info(f"wrote {path}")
    return MaterializeResult(metadata={"path": MetadataValue.path(str(path)), "size_bytes": path.stat().st_size})


@asset(
    key=AssetKey(["exports", "final_evaluation"]),
    deps=MART_KEYS,
    group_name="outputs",
    description="终期监测报告（2021–2025年，目标年度前为预评估）：HTML与XLSX / the plan period's final evaluation.",
    kinds={"html", "xlsx"},
)
def final_evaluation(context: AssetExecutionContext) -> MaterializeResult:
    from dagster_project.report.final_evaluation import write_final_evaluation

    html, xlsx = write_final_evaluation(get_settings())
    context.log.info(f"wrote {html} and {xlsx}")
    return MaterializeResult(metadata={"path": MetadataValue.path(str(html)), "tables": MetadataValue.path(str(xlsx))})


@asset(
    key=AssetKey(["exports", "provincial_submission"]),
    deps=MART_KEYS,
    group_name="outputs",
    description="省级报送（最近年度）：公开版（小数保护含二次抑制）与内部版（未做小数保护），XLSX/CSV/SDMX-CSV/Parquet，"
                "每次报送留存副本并更新 LATEST / the provincial submission for the latest year, kept per submission.",
    kinds={"xlsx", "csv", "parquet"},
)
def provincial_submission(context: AssetExecutionContext) -> MaterializeResult:
    import json

    from dagster_project.exports.provincial_submission import write_submission

    settings = get_settings()
    result = write_submission(settings)
    share(settings.exports_dir)
    manifest = json.loads((result.snapshot_dir / "manifest.json").read_text(encoding="utf-8"))
    context.log.info(("new submission " if result.is_new else "unchanged since ") + str(result.snapshot_dir))
    return MaterializeResult(metadata={
        "year": result.year,
        "snapshot": MetadataValue.path(str(result.snapshot_dir)),
        "new_snapshot": result.is_new,
        "previous_snapshot": str(result.previous_dir) if result.previous_dir else "",
        "suppressed_cells": MetadataValue.json(manifest.get("suppressed_cells", {})),
        "files": MetadataValue.json(sorted(manifest.get("files", {}))),
    })


@asset(
    key=AssetKey(["exports", "submission_diff"]),
    deps=[AssetKey(["exports", "provincial_submission"])],
    group_name="outputs",
    description=("与上次报送相比的变更清单（最近年度及被迟报修订的往年）：每个变化的数值、原值与新值及引起变化的加载 / "
                 "what changed since the last submission, earlier years revised by late reports included."),
    kinds={"csv"},
)
def submission_diff(context: AssetExecutionContext) -> MaterializeResult:
    from dagster_project.exports.diff import write_diff
    from dagster_project.exports.provincial_submission import latest_year

    settings = get_settings()
    con = database.connect(str(settings.work_db), read_only=True)
    try:
        year = latest_year(con)
    finally:
        con.close()
    result = write_diff(settings, year)
    share(settings.exports_dir)
    context.log.info(result.note)
    return MaterializeResult(metadata={
        "year": year, "note": result.note, "changed_cells": result.changed_cells,
        "revised_years": MetadataValue.json(result.revised_years),
        "path": MetadataValue.path(str(result.path)) if result.path else "",
    })
