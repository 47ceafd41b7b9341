"""What the quality gate and the validation rules tell people, written at the end of every run.

* `exports/quality_data_docs` — the Great Expectations Data Docs of the latest verdict of every
  extract, in `$MONITOR_EXPORTS_DIR/quality/` (`index.html`, and `summary.html`, which needs no
  JavaScript from the internet). Outcomes are read back from audit.gx_results (this run's when it
  validated the extract); values shown were masked when recorded, and the site is scanned for
  ID-shaped digit runs after it is built, so no raw ID number can appear.
* `exports/department_feedback_findings` — the departments' feedback workbooks written again, now
  with the 核查发现 Findings sheet from `marts.fct_validation_findings` (validation rules across
  sources and years). `exports/department_feedback` writes them as soon as files are loaded.

Why no dependencies: a blocking quality check that fails stops everything downstream of its
extract, and these two outputs are needed most exactly then (the clerk must learn what blocked the
file). So they depend on nothing and carry a low `dagster/priority`: the in-process executor of
`monitoring_job` runs them after every other step that can run. When the marts were stopped, the
findings sheet shows the last findings and says that they predate the latest load.
"""
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project import database
from dagster_project.config import get_settings
from dagster_project.exports.feedback import write_feedback_files
from dagster_project.permissions import share

# Lower than every other step's priority (default 0): run when nothing else is left to run.
RUN_LAST = {"dagster/priority": "-100"}


def _read_only(path: Path) -> duckdb.DuckDBPyConnection | None:
    return database.connect(str(path), read_only=True) if path.exists() else None


@asset(
    key=AssetKey(["exports", "quality_data_docs"]),
    group_name="outputs",
    op_tags=RUN_LAST,
    pool="duckdb_writer",
    description="数据质量检查结果网页（Great Expectations Data Docs，exports/quality/，不含身份证号）：运行结束时生成，"
                "质量关卡阻断时也生成 / GX Data Docs of every extract's latest verdict, built at the end of every run.",
    kinds={"html"},
)
def quality_data_docs(context: AssetExecutionContext) -> MaterializeResult:
    from dagster_project.quality import build_data_docs
    from dagster_project.quality.recording import read_outcomes

    settings = get_settings()
    con = _read_only(settings.work_db)
    try:
        outcomes = read_outcomes(con, context.run_id) if con else []
    finally:
        if con:
            con.close()
    target = settings.exports_dir / "quality"
    index = build_data_docs(outcomes, target, run_name=context.run_id[:8])
    share(settings.exports_dir)  # exports are for the analysts' group (permissions.py)
    failed = [o.extract for o in outcomes if not o.passed_blocking]
    context.log.info(f"data docs: {index} ({len(outcomes)} extracts, blocking failures: {failed or 'none'})")
    return MaterializeResult(metadata={
        "index": MetadataValue.path(str(index)),
        "summary": MetadataValue.path(str(target / "summary.html")),
        "extracts": len(outcomes),
        "blocking_failures": MetadataValue.json(failed),
    })


@asset(
    key=AssetKey(["exports", "department_feedback_findings"]),
    group_name="outputs",
    op_tags=RUN_LAST,
    pool="duckdb_writer",
    description="各部门反馈文件（含核查发现页）：运行结束时按核查规则结果重写，质量关卡阻断时也重写 / "
                "feedback workbooks rewritten at the end of every run with the 核查发现 Findings sheet.",
    kinds={"xlsx"},
)
def department_feedback_findings(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    con = _read_only(settings.work_db)
    if con is None:
        return MaterializeResult(metadata={"files": MetadataValue.json([])})
    try:
        files = write_feedback_files(settings, con)
        share(settings.exports_dir)
        has_findings = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main_marts' "
            "AND table_name = 'fct_validation_findings'").fetchone()[0]
        findings = con.execute("SELECT count(*) FROM main_marts.fct_validation_findings").fetchone()[0] if has_findings else None
    finally:
        con.close()
    return MaterializeResult(metadata={"files": MetadataValue.json([str(f) for f in files]),
                                       "findings": findings if findings is not None else MetadataValue.text("not built")})
