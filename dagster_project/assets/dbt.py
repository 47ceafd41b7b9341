"""dbt models as Dagster assets.

The manifest is prepared at build time (`make manifest` runs `dbt parse`); this
module only reads it, so loading the Definitions never runs dbt. dbt sources
`raw.<extract>` map to the ingestion assets' keys ["raw", <extract>], which
makes every staging model depend on its extract's asset and its checks.
"""
from pathlib import Path

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from dagster_project.config import DBT_PROJECT_DIR, export_dbt_env

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

if not Path(dbt_project.manifest_path).exists():
    raise FileNotFoundError(
        f"dbt manifest not found at {dbt_project.manifest_path}: run `make manifest` (or `make setup`) first."
    )


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool="duckdb_writer")
def monitoring_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    export_dbt_env()
    yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR))
