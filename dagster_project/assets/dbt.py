"""dbt models as Dagster assets, one dbt step per department plus one for the marts.

The manifest is prepared at build time (`make manifest` runs `dbt parse`); this
module only reads it, so loading the Definitions never runs dbt. dbt sources
`raw.<extract>` map to the ingestion assets' keys ["raw", <extract>].

Why several dbt steps: Dagster stops the steps downstream of a failed blocking
quality check. With one dbt step for everything, a broken births file would
stop the education models too. So the staging and intermediate models whose
inputs come from a single department run in that department's step; models
that combine departments (and the marts) run in the last step. A blocking
failure in one extract then stops only what is really downstream of it. The
grouping is computed from the manifest's lineage, so new models need no
registration here.
"""
import json
import sys
from functools import lru_cache
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from dagster_project.config import DBT_PROJECT_DIR, export_dbt_env
from dagster_project.contracts import load_contracts

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST = Path(dbt_project.manifest_path)
PARTIAL_PARSE = MANIFEST.with_name("partial_parse.msgpack")
SHARED_GROUP = "combined"
SEED_GROUP = "seeds"


def _require_manifest() -> dict:
    if not MANIFEST.exists():
        raise FileNotFoundError(f"dbt manifest not found at {MANIFEST}: run `make manifest` (or `make setup`) first.")
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def dbt_step_groups() -> dict[str, list[str]]:
    """dbt step name -> model/seed names it builds."""
    manifest = _require_manifest()
    departments = {e.name: e.department for e in load_contracts().extracts.values()}
    nodes = {**manifest["nodes"], **manifest["sources"]}
    memo: dict[str, frozenset[str]] = {}

    def upstream_departments(unique_id: str) -> frozenset[str]:
        if unique_id in memo:
            return memo[unique_id]
        node = nodes[unique_id]
        if node["resource_type"] == "source":
            found = frozenset({departments.get(node["name"], SHARED_GROUP)})
        else:
            found = frozenset().union(*[upstream_departments(u) for u in node.get("depends_on", {}).get("nodes", []) if u in nodes])
        memo[unique_id] = found
        return found

    groups: dict[str, list[str]] = {}
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] == "seed":
            group = SEED_GROUP
        elif node["resource_type"] in ("model", "snapshot"):
            deps = upstream_departments(unique_id)
            layer = node["original_file_path"].split("/")[1] if "/" in node["original_file_path"] else ""
            group = next(iter(deps)) if len(deps) == 1 and layer in ("staging", "intermediate") else SHARED_GROUP
        else:
            continue
        groups.setdefault(group, []).append(node["name"])
    return groups


class MonitoringTranslator(DagsterDbtTranslator):
    """dbt sources are the ingestion assets ["raw", <extract>]; models are [<layer>, <model>]."""

    def get_asset_key(self, dbt_resource_props) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["raw", dbt_resource_props.get("identifier") or dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)


TRANSLATOR = MonitoringTranslator()


def _build_dbt_step(group: str, names: list[str]) -> AssetsDefinition:
    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        select=" ".join(sorted(names)),
        name=f"dbt_{group}",
        dagster_dbt_translator=TRANSLATOR,
        pool="duckdb_writer",
    )
    def _step(context: AssetExecutionContext, dbt: DbtCliResource):
        export_dbt_env()
        # Unit tests check formulas, not data: they run in the test suite (`dbt build` in tests/dbt),
        # not in every production run.
        # dagster-dbt gives every invocation its own target folder; pointing dbt at the partial-parse
        # file prepared by `make manifest` saves a full re-parse in each of the steps.
        args = ["build", "--exclude-resource-type", "unit_test"]
        if PARTIAL_PARSE.exists():
            args += ["--partial-parse-file-path", str(PARTIAL_PARSE)]
        yield from dbt.cli(args, context=context).stream()

    return _step


def build_dbt_assets() -> list[AssetsDefinition]:
    return [_build_dbt_step(group, names) for group, names in sorted(dbt_step_groups().items())]


def dbt_resource() -> DbtCliResource:
    # The dbt of this virtualenv, even when the venv is not activated (e.g. `make run`).
    executable = Path(sys.executable).with_name("dbt")
    return DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(executable) if executable.exists() else "dbt",
    )
