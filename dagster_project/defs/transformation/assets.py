"""dbt models as Dagster assets, one dbt step per department plus one for the marts, run in-process.

The manifest is prepared at build time (`make manifest` runs `dbt parse`); loading the Definitions
only reads it, so it never runs dbt. dbt sources `raw.<extract>` map to the ingestion assets' keys
["raw", <extract>]. Every dbt model and seed is one Dagster asset (dependencies from the manifest),
every dbt data test an asset check on the model it tests.

Why several dbt steps: Dagster stops the steps downstream of a failed blocking quality check. With
one dbt step for everything, a broken births file would stop the education models too. So the
staging and intermediate models whose inputs come from a single department run in that
department's step; models that combine departments (and the marts) run in the last step. A blocking
failure in one extract then stops only what is really downstream of it. The grouping is computed
from the manifest's lineage, so new models need no registration here.

dbt runs in this process (lib/dbt_runner.py says why); dbt's results are turned into Dagster events by
dagster-dbt's own translation (`DbtCoreCliEventMessage`), so the materialisations, metadata and asset-check
results are the ones a `dbt build` subprocess would produce.

Seeds are loaded only when they changed: the seeds step compares each seed's fingerprint (sha256
of its CSV and of its dbt configuration) with the one recorded in the working database
(`dbt_state.seed_fingerprints`) when it was last built with all its tests passing; unchanged seeds
are reported as materialised with `status: unchanged` and not reloaded (lib/dbt_seed_state.py).

dbt's artefacts (compiled SQL, dbt.log; no JSON artefacts, see `_common_args`) go to `$MONITOR_DATA_DIR/dbt_target/`.
"""
# no `from __future__ import annotations`: Dagster inspects the real annotation types
import json
import os
import time
from functools import lru_cache
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetObservation, AssetsDefinition, ConfigurableResource, Failure, Output
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets

from dagster_project.config import DBT_PROJECT_DIR, export_dbt_env, get_settings
from dagster_project.contracts import load_contracts
from dagster_project.lib.dbt_runner import DBT, DbtParseError
from dagster_project.lib.dbt_seed_state import (
    drop_seed_tables_with_other_columns,
    forget_seeds,
    record_seeds,
    seed_fingerprints,
    unchanged_seeds,
)
from dagster_project.lib.duckdb_writer import WRITER_POOL
from dagster_project.permissions import private_dir

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST = Path(dbt_project.manifest_path)
SHARED_GROUP = "combined"
SEED_GROUP = "seeds"
# dbt source of the audit schema (load ledger, gate verdicts): written by ingestion and the quality checks.
AUDIT_SOURCE = "audit"


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
        if node["resource_type"] == "source" and node.get("source_name") == AUDIT_SOURCE:
            found = frozenset()  # the ledger and gate verdicts serve every department: they group nothing
        elif node["resource_type"] == "source":
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
    """dbt sources are the ingestion assets ["raw", <extract>]; models are [<layer>, <model>].

    Only the dbt tests of the marts (the tables analysts and exports read) are Dagster asset checks.
    The ~380 tests of seeds, staging and intermediate models still run in every `dbt build` (an
    error-severity failure stops what is downstream and fails the step, as before), but as checks
    they cost two event-log writes each (planned + evaluation) and made Dagster's bookkeeping the
    largest part of a district run. Their outcome is summarised in the step's log; a test that does
    not pass is still recorded as an observation on its model.
    """

    def get_asset_key(self, dbt_resource_props) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props.get("source_name") == AUDIT_SOURCE:
            return AssetKey(["audit", dbt_resource_props["name"]])
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey(["raw", dbt_resource_props.get("identifier") or dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        if not is_mart_test(manifest, unique_id):
            return None
        return super().get_asset_check_spec(asset_spec, manifest, unique_id, project)


def is_mart_test(manifest: dict, unique_id: str) -> bool:
    """Is `unique_id` a dbt test attached to a model of models/marts/?"""
    test = manifest["nodes"].get(unique_id) or {}
    parents = test.get("depends_on", {}).get("nodes", [])
    attached = test.get("attached_node") or (parents[0] if len(parents) == 1 else None)
    node = manifest["nodes"].get(attached) if attached else None
    return bool(node) and node["original_file_path"].startswith("models/marts/")


TRANSLATOR = MonitoringTranslator()


# --------------------------------------------------------------------------------------------- the resource
class DbtRunnerResource(ConfigurableResource):
    """Runs dbt commands in the Dagster process (dbt's `dbtRunner`), emitting dagster-dbt's events."""

    target_dir: str = ""  # empty: $MONITOR_DATA_DIR/dbt_target

    def target_path(self) -> Path:
        path = Path(self.target_dir) if self.target_dir else get_settings().data_dir / "dbt_target"
        # Private like the working database they describe: dbt's logs, run results and compiled SQL name
        # its tables, row counts, failures and path (permissions.py).
        return private_dir(path)

    def build(self, context: AssetExecutionContext, extra_args: list[str] | None = None, skip_unchanged_seeds: bool = False):
        """`dbt build` of the assets (and checks) selected in this step; yields Outputs and check results."""
        from dagster_dbt.asset_utils import (
            DAGSTER_DBT_EXCLUDE_METADATA_KEY,
            DAGSTER_DBT_SELECT_METADATA_KEY,
            DAGSTER_DBT_SELECTOR_METADATA_KEY,
            get_manifest_and_translator_from_dbt_assets,
            get_subset_selection_for_context,
        )
        from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

        export_dbt_env()
        target = self.target_path()
        manifest_json, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
        try:
            _, source = DBT.manifest(target)
        except DbtParseError as error:
            raise Failure(description=str(error)) from error
        selection, indirect = get_subset_selection_for_context(
            context=context, manifest=manifest_json,
            select=context.op.tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
            exclude=context.op.tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
            selector=context.op.tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY),
            dagster_dbt_translator=translator,
            current_dbt_indirect_selection_env=os.environ.get("DBT_INDIRECT_SELECTION"),
        )

        fingerprints: dict[str, str] = {}
        unchanged: set[str] = set()
        if skip_unchanged_seeds:
            selected_seeds = {n["name"] for n in manifest_json["nodes"].values() if n["resource_type"] == "seed"
                              and translator.get_asset_key(n) in context.selected_asset_keys}
            fingerprints = seed_fingerprints(manifest_json, selected_seeds)
            unchanged = unchanged_seeds(fingerprints, manifest_json)
            for node in manifest_json["nodes"].values():
                if node["resource_type"] == "seed" and node["name"] in unchanged:
                    key = translator.get_asset_key(node)
                    yield Output(None, output_name=key.to_python_identifier(),
                                 metadata={"status": "unchanged", "unique_id": node["unique_id"],
                                           "note": "seed file and configuration identical to the last load; not reloaded"})
            if unchanged == selected_seeds:
                context.log.info(f"dbt seeds unchanged, not reloaded: {', '.join(sorted(unchanged))}")
                return
            dropped = drop_seed_tables_with_other_columns(selected_seeds - unchanged, manifest_json)
            if dropped:
                context.log.info(f"seed columns changed, tables recreated: {', '.join(sorted(dropped))}")
            if unchanged:
                exclude = " ".join(sorted(unchanged))
                if "--exclude" in selection:
                    i = selection.index("--exclude")
                    selection = [*selection[:i + 1], f"{selection[i + 1]} {exclude}", *selection[i + 2:]]
                else:
                    selection = [*selection, "--exclude", exclude]

        args = ["build", *(extra_args or []), *selection]
        if indirect:
            args += ["--indirect-selection", indirect]
        started = time.perf_counter()
        outcome, results, errors = DBT.invoke(args, target)
        took = time.perf_counter() - started

        statuses: dict[str, int] = {}
        failed_seeds: set[str] = set()
        for raw in results:
            event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            status = (raw["data"].get("node_info") or {}).get("node_status") or raw["data"].get("status", "")
            statuses[status] = statuses.get(status, 0) + 1
            unique_id = (raw["data"].get("node_info") or {}).get("unique_id", "")
            if status in ("error", "fail", "runtime error") and unique_id in manifest_json["nodes"]:
                node = manifest_json["nodes"][unique_id]
                context.log.error(f"dbt: {raw['info'].get('msg', '')}")
                failed_seeds.update(n.split(".")[-1] for n in [unique_id, *node.get("depends_on", {}).get("nodes", [])]
                                    if n.startswith("seed."))
            elif status in ("warn", "skipped"):
                context.log.warning(f"dbt: {raw['info'].get('msg', '')}")
            # A passing test that is not an asset check (see MonitoringTranslator) is counted, not stored: its
            # observation would be dropped, and dagster-dbt would first log a warning event for each (~350 a run).
            if status == "pass" and unique_id.startswith("test.") and not is_mart_test(manifest_json, unique_id):
                continue
            for dagster_event in event.to_default_asset_events(
                manifest=manifest_json, dagster_dbt_translator=translator, context=context,
                target_path=None, project=project,
            ):
                # a passing test that is not an asset check (see MonitoringTranslator): counted, not stored
                if isinstance(dagster_event, AssetObservation) and status == "pass":
                    continue
                yield dagster_event
        summary = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "nothing selected"
        context.log.info(f"dbt {' '.join(args[:1])} in-process: {summary} in {took:.1f} s (manifest: {source}); "
                         f"artefacts in {target}")

        if skip_unchanged_seeds:
            built = set(fingerprints) - unchanged
            if outcome.success:
                record_seeds(fingerprints, built, manifest_json)
            else:
                forget_seeds(built | failed_seeds)
        if not outcome.success:
            detail = "\n".join(errors[-20:]) or (str(outcome.exception) if outcome.exception else "")
            raise Failure(description=f"dbt build failed in step {context.op.name}.\n{detail}".strip(),
                          metadata={"dbt_log": str(target / "dbt.log")})


def _build_dbt_step(group: str, names: list[str]) -> AssetsDefinition:
    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        select=" ".join(sorted(names)),
        name=f"dbt_{group}",
        dagster_dbt_translator=TRANSLATOR,
        pool=WRITER_POOL,
    )
    def _step(context: AssetExecutionContext, dbt: DbtRunnerResource):
        # Unit tests check formulas, not data: they run in the test suite (`dbt build` in tests/dbt),
        # not in every production run.
        yield from dbt.build(context, ["--exclude-resource-type", "unit_test"], skip_unchanged_seeds=group == SEED_GROUP)

    return _step


@lru_cache(maxsize=1)
def _dbt_steps() -> tuple[AssetsDefinition, ...]:
    return tuple(_build_dbt_step(group, names) for group, names in sorted(dbt_step_groups().items()))


def build_dbt_assets() -> list[AssetsDefinition]:
    """The dbt steps (built once per process: building them reads the 2.6 MB manifest)."""
    return list(_dbt_steps())


def dbt_resource() -> DbtRunnerResource:
    return DbtRunnerResource()


def mart_keys() -> list[AssetKey]:
    """The published marts: dbt models keyed ["marts", <model>] (what publication and exports depend on)."""
    return sorted({key for step in build_dbt_assets() for key in step.keys if key.path[0] == "marts"}, key=lambda k: k.path)
