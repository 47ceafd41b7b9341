"""One Dagster asset per department extract, made from the contracts.

Each asset loads every new or changed file of its extract from MONITOR_RAW_DIR
(unchanged files, recognised by sha256, are skipped) and reports rows read,
loaded and quarantined. Adding an extract to the contracts adds its asset here.

Extracts with a year in their file names are partitioned by year (see
`dagster_project/operations.py`): a run of partitions 2019..2021 loads only the
files of those years; one run can load any range (single-run backfills).
"""
import csv
import warnings

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset

from dagster_project import prewarm
from dagster_project.config import SEEDS_DIR, get_settings
from dagster_project.contracts import Extract, load_contracts
from dagster_project.defs.ingestion.partitions import SINGLE_RUN_BACKFILL, YEARLY_PARTITIONS, is_partitioned, years_filter
from dagster_project.ingest.discovery import discover
from dagster_project.ingest.loader import load_files, record_unrecognised
from dagster_project.lib.duckdb_writer import WRITER_RETRY_POLICY
from dagster_project.resources import WarehouseResource


def _department_labels() -> dict[str, str]:
    """Department names for the asset descriptions, from dbt's seed (the one home of the vocabulary)."""
    with (SEEDS_DIR / "department_labels.csv").open(encoding="utf-8") as fh:
        return {row["department"]: row["label_zh"] for row in csv.DictReader(fh)}


DEPARTMENT_NAMES_ZH = _department_labels()


def raw_asset_key(extract: Extract) -> AssetKey:
    """Matches dagster-dbt's key for the dbt source `raw.<extract>`, so staging models depend on it."""
    return AssetKey(["raw", extract.name])


def ingest_extract(context: AssetExecutionContext, warehouse: WarehouseResource, extract: Extract) -> MaterializeResult:
    prewarm.start()  # the quality checks that follow need GX: imported beside the DuckDB/polars work
    settings = get_settings()
    contracts = load_contracts()
    key = settings.hmac_key()
    results = []
    in_run = lambda year: True  # noqa: E731
    if is_partitioned(extract) and (context.has_partition_key or context.has_partition_key_range):
        in_run = years_filter(context.partition_key_range.start, context.partition_key_range.end)
    with warehouse.connect() as con:
        files = [d for d in discover(settings.raw_dir, contracts, extract.name) if in_run(d.period_year)]
        for result in load_files(con, files, contracts, key):
            # a file left out for a newer one of the same period is a warning: the clerk may not expect it
            say = context.log.warning if result.status == "superseded" else context.log.info
            say(f"{result.source_file}: {result.status} — {result.message_zh} {result.message_en}")
            results.append(result)
        current = con.execute(
            "SELECT count(*), coalesce(sum(rows_read),0), coalesce(sum(rows_loaded),0), coalesce(sum(rows_quarantined),0) "
            "FROM audit.file_loads WHERE extract = ? AND is_current", [extract.name]
        ).fetchone()
        rejected = con.execute(
            "SELECT source_file, message_zh FROM audit.file_loads WHERE extract = ? AND status = 'rejected' "
            "AND load_id NOT IN (SELECT load_id FROM audit.file_loads WHERE is_current) ORDER BY source_file",
            [extract.name],
        ).fetchall()
    table = "\n".join(
        f"| {r.source_file} | {r.status} | {r.rows_read} | {r.rows_loaded} | {r.rows_quarantined} | {r.message_zh} |"
        for r in results
    )
    return MaterializeResult(
        metadata={
            "files_current": current[0],
            "rows_read": current[1],
            "rows_loaded": current[2],
            "rows_quarantined": current[3],
            "files_processed_this_run": len([r for r in results if r.status != "unchanged"]),
            "files_rejected": len(rejected),
            "this_run": MetadataValue.md(
                "| 文件 file | 状态 status | 读取 read | 入库 loaded | 隔离 quarantined | 说明 |\n|---|---|---|---|---|---|\n" + table
            ) if results else MetadataValue.text("no files"),
        }
    )


def build_extract_asset(extract: Extract) -> AssetsDefinition:
    @asset(
        key=raw_asset_key(extract),
        group_name=f"raw_{extract.department}",
        description=(f"{DEPARTMENT_NAMES_ZH.get(extract.department, '')} · {extract.title_zh}"
                     f"（{extract.department}/{extract.file_pattern}）— loaded from MONITOR_RAW_DIR"),
        kinds={"duckdb", "polars"},
        pool="duckdb_writer",
        partitions_def=YEARLY_PARTITIONS if is_partitioned(extract) else None,
        backfill_policy=SINGLE_RUN_BACKFILL if is_partitioned(extract) else None,
        retry_policy=WRITER_RETRY_POLICY,
    )
    def _asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        return ingest_extract(context, warehouse, extract)

    return _asset


@asset(
    key=AssetKey(["raw", "file_inventory"]),
    group_name="raw_inventory",
    description="报送文件清点：记录文件名不符合任何报送模板的文件，提示部门更正 / files matching no template.",
    kinds={"duckdb"},
    pool="duckdb_writer",
    retry_policy=WRITER_RETRY_POLICY,
)
def raw_file_inventory(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    settings = get_settings()
    contracts = load_contracts()
    unrecognised = []
    with warehouse.connect() as con:
        for dropped in discover(settings.raw_dir, contracts):
            if dropped.extract is None:
                result = record_unrecognised(con, dropped, contracts)
                context.log.warning(f"{result.source_file}: {result.message_zh} {result.message_en}")
                unrecognised.append(result.source_file)
    return MaterializeResult(metadata={"unrecognised_files": MetadataValue.json(unrecognised)})


def build_extract_assets() -> list[AssetsDefinition]:
    with warnings.catch_warnings():  # `backfill_policy` is marked beta in Dagster 1.13
        warnings.filterwarnings("ignore", message=".*backfill_policy.*")
        return [raw_file_inventory, *(build_extract_asset(e) for e in load_contracts().extracts.values())]
