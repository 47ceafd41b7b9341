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

Why in-process: each step used to start a `dbt build` subprocess, which paid 8–10 s before doing
any work (imports, a full re-parse - the partial-parse file never matched because the database path
is part of dbt's profile hash -, adapter start-up), i.e. over a minute per run for the eight steps.
Now dbt is imported once per process and invoked through `dbtRunner` with the manifest loaded once
from `dbt/target/partial_parse.msgpack` (the file `make manifest` writes): a step costs what its
SQL costs. The manifest is used only if it still matches the project files (same check as dbt's
partial parsing: every file's sha256, no file added or removed, same dbt_project.yml and dbt
version); otherwise the project is parsed once in-process, as the subprocess did. dbt's results are
turned into Dagster events by dagster-dbt's own translation (`DbtCoreCliEventMessage`), so the
materialisations, metadata and asset-check results are the ones the subprocess produced.

Seeds are loaded only when they changed: the seeds step compares each seed's fingerprint (sha256
of its CSV and of its dbt configuration) with the one recorded in the working database
(`dbt_state.seed_fingerprints`) when it was last built with all its tests passing; unchanged seeds
are reported as materialised with `status: unchanged` and not reloaded.

dbt's artefacts (compiled SQL, dbt.log; no JSON artefacts, see `_common_args`) go to `$MONITOR_DATA_DIR/dbt_target/`.
"""
# no `from __future__ import annotations`: Dagster inspects the real annotation types
import hashlib
import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation, AssetsDefinition, ConfigurableResource, Failure, Output
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets

from dagster_project import database
from dagster_project.config import DBT_PROJECT_DIR, export_dbt_env, get_settings
from dagster_project.contracts import load_contracts
from dagster_project.permissions import private_dir

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
MANIFEST = Path(dbt_project.manifest_path)
PARTIAL_PARSE = MANIFEST.with_name("partial_parse.msgpack")
SHARED_GROUP = "combined"
SEED_GROUP = "seeds"
# dbt source of the audit schema (load ledger, gate verdicts): written by ingestion and the quality checks.
AUDIT_SOURCE = "audit"
SEED_STATE_TABLE = "dbt_state.seed_fingerprints"
# The dbt events that carry a node's result (dagster-dbt turns them into Outputs and check results).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
_PROJECT_FILE_SUFFIXES = frozenset({".sql", ".py", ".yml", ".yaml", ".csv", ".md"})


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


# --------------------------------------------------------------------------------------------- dbt in-process
class _InProcessDbt:
    """dbt imported once per process; the parsed manifest loaded once and reused by every invocation."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._manifest = None
        self._manifest_source = ""

    def manifest(self, target: Path):
        with self._lock:
            if self._manifest is None:
                started = time.perf_counter()
                self._manifest = _fresh_partial_parse_manifest()
                if self._manifest is not None:
                    self._manifest_source = f"{PARTIAL_PARSE.name} (prepared by `make manifest`)"
                else:
                    self._manifest = _parse_project(target)
                    self._manifest_source = "parsed now (the prepared manifest is missing or stale: run `make manifest`)"
                self._manifest_source += f", {time.perf_counter() - started:.1f} s"
            return self._manifest, self._manifest_source

    def invoke(self, args: list[str], target: Path) -> tuple[Any, list[dict], list[str]]:
        """Run `dbt <args>`; returns (dbtRunnerResult, result events as dicts, error messages)."""
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict

        results: list[dict] = []
        errors: list[str] = []

        def collect(msg) -> None:
            name = msg.info.name
            if name in RESULT_EVENTS:
                results.append(msg_to_dict(msg))
            elif msg.info.level == "error" and msg.info.msg:
                errors.append(msg.info.msg)

        with self._lock:
            manifest, _ = self.manifest(target)
            try:
                outcome = dbtRunner(manifest=manifest, callbacks=[collect]).invoke(
                    [*args, *_common_args(target)]
                )
            finally:
                _close_duckdb()
        return outcome, results, errors


_DBT = _InProcessDbt()


def _common_args(target: Path) -> list[str]:
    return ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(target), "--quiet",
            # manifest.json / run_results.json rewritten by every step cost ~1.5 s each; results come
            # through the event callbacks, and dbt.log keeps the record
            "--no-write-json"]


def _close_duckdb() -> None:
    """dbt-duckdb keeps its database open in a class attribute between invocations: close it, so that
    the other steps of the run (ingestion, quality checks, publication) have the file to themselves."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager.close_all_connections()


def _project_files() -> set[Path]:
    found = set()
    for folder in ("models", "seeds", "macros", "tests", "snapshots", "analyses"):
        root = DBT_PROJECT_DIR / folder
        if root.is_dir():
            found.update(p.resolve() for p in root.rglob("*") if p.is_file() and p.suffix in _PROJECT_FILE_SUFFIXES)
    return found


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fresh_partial_parse_manifest():
    """The manifest `make manifest` saved, if it still describes the project files exactly; else None."""
    if not PARTIAL_PARSE.exists():
        return None
    try:
        from dbt.contracts.graph.manifest import Manifest
        from dbt.parser.manifest import extended_mashumuro_decoder
        from dbt.version import __version__ as dbt_version

        manifest = Manifest.from_msgpack(PARTIAL_PARSE.read_bytes(), decoder=extended_mashumuro_decoder)
        if manifest.metadata.dbt_version != dbt_version:
            return None
        project_yml = (DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8")
        if manifest.state_check.project_hashes.get("monitoring").checksum != _sha256_text(project_yml):
            return None
        known = set()
        for source_file in manifest.files.values():
            if source_file.project_name != "monitoring":
                continue
            path = (DBT_PROJECT_DIR / source_file.path.searched_path / source_file.path.relative_path).resolve()
            known.add(path)
            if not path.is_file():
                return None
            text = path.read_text(encoding="utf-8")
            # dbt hashes some files with surrounding whitespace stripped
            if source_file.checksum.checksum not in (_sha256_text(text), _sha256_text(text.strip())):
                return None
        if known != _project_files():
            return None
        # dbt bakes the catalog (the database file's stem) into every relation: a manifest parsed
        # against another file name would build into a catalog that does not exist here
        catalog = Path(os.environ.get("MONITOR_WORK_DB", get_settings().work_db)).stem
        if any(node.database not in (None, catalog) for node in manifest.nodes.values()
               if node.resource_type in ("model", "seed")):
            return None
        return manifest
    except Exception:  # an unreadable or incompatible file: parse instead
        return None


def _parse_project(target: Path):
    from dbt.cli.main import dbtRunner

    target.mkdir(parents=True, exist_ok=True)
    try:
        outcome = dbtRunner().invoke(["parse", *_common_args(target)])
    finally:
        _close_duckdb()
    if not outcome.success or outcome.result is None:
        raise Failure(description=f"dbt parse failed: {outcome.exception or 'see dbt.log in ' + str(target)}")
    return outcome.result


# --------------------------------------------------------------------------------------------- seeds
def _seed_fingerprints(manifest_json: dict, names: set[str]) -> dict[str, str]:
    """seed name -> sha256 of its CSV file and of its dbt configuration."""
    out = {}
    for node in manifest_json["nodes"].values():
        if node["resource_type"] != "seed" or node["name"] not in names:
            continue
        path = DBT_PROJECT_DIR / node["original_file_path"]
        digest = hashlib.sha256()
        digest.update(json.dumps(node.get("config", {}), sort_keys=True, default=str).encode("utf-8"))
        digest.update(json.dumps([node.get("schema"), node.get("alias")]).encode("utf-8"))
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        out[node["name"]] = digest.hexdigest()
    return out


def _unchanged_seeds(fingerprints: dict[str, str], manifest_json: dict) -> set[str]:
    """Seeds whose recorded fingerprint matches and whose table is still there with its row count."""
    import duckdb

    path = get_settings().work_db
    if not path.exists() or not fingerprints:
        return set()
    relations = {n["name"]: (n["schema"], n.get("alias") or n["name"])
                 for n in manifest_json["nodes"].values() if n["resource_type"] == "seed"}
    con = database.connect(str(path))
    try:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dbt_state' "
                             "AND table_name = 'seed_fingerprints'").fetchone()[0]
        if not exists:
            return set()
        recorded = {name: (fp, rows) for name, fp, rows in
                    con.execute(f"SELECT seed_name, fingerprint, row_count FROM {SEED_STATE_TABLE}").fetchall()}
        unchanged = set()
        for name, fingerprint in fingerprints.items():
            if name not in recorded or recorded[name][0] != fingerprint:
                continue
            schema, table = relations[name]
            try:
                rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            except duckdb.CatalogException:
                continue
            if rows == recorded[name][1]:
                unchanged.add(name)
        return unchanged
    finally:
        con.close()


def _record_seeds(fingerprints: dict[str, str], built: set[str], manifest_json: dict) -> None:
    relations = {n["name"]: (n["schema"], n.get("alias") or n["name"])
                 for n in manifest_json["nodes"].values() if n["resource_type"] == "seed"}
    con = database.connect(str(get_settings().work_db))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS dbt_state")
        con.execute(f"CREATE TABLE IF NOT EXISTS {SEED_STATE_TABLE} (seed_name VARCHAR PRIMARY KEY, "
                    "fingerprint VARCHAR, row_count BIGINT, loaded_at TIMESTAMP)")
        for name in sorted(built):
            schema, table = relations[name]
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            con.execute(f"INSERT OR REPLACE INTO {SEED_STATE_TABLE} VALUES (?, ?, ?, now()::TIMESTAMP)",
                        [name, fingerprints[name], rows])
    finally:
        con.close()


def _drop_seed_tables_with_other_columns(names: set[str], manifest_json: dict) -> set[str]:
    """Drop the table of each seed whose CSV now has other columns than its table (a column added to a seed).

    dbt reloads an existing seed table in place, with the table's columns: the new CSV then fails to load and
    the whole run stops. Dropped, the seed is created afresh by the same build. Returns the seeds dropped.
    """
    import csv

    import duckdb

    path = get_settings().work_db
    if not names or not path.exists():
        return set()
    nodes = {n["name"]: n for n in manifest_json["nodes"].values() if n["resource_type"] == "seed" and n["name"] in names}
    dropped = set()
    con = database.connect(str(path))
    try:
        for name, node in nodes.items():
            schema, table = node["schema"], node.get("alias") or name
            with (DBT_PROJECT_DIR / node["original_file_path"]).open(encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh), [])
            try:
                columns = [r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                    "ORDER BY ordinal_position", [schema, table]).fetchall()]
            except duckdb.Error:
                continue
            if columns and columns != header:
                con.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE')
                dropped.add(name)
    finally:
        con.close()
    return dropped


def _forget_seeds(names: set[str]) -> None:
    """A seed build that failed leaves its tables in an unknown state: reload them next time."""
    path = get_settings().work_db
    if not names or not path.exists():
        return
    con = database.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS dbt_state")
        con.execute(f"CREATE TABLE IF NOT EXISTS {SEED_STATE_TABLE} (seed_name VARCHAR PRIMARY KEY, "
                    "fingerprint VARCHAR, row_count BIGINT, loaded_at TIMESTAMP)")
        con.execute(f"DELETE FROM {SEED_STATE_TABLE} WHERE seed_name IN (SELECT unnest(?))", [sorted(names)])
    finally:
        con.close()


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
        _, source = _DBT.manifest(target)
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
            fingerprints = _seed_fingerprints(manifest_json, selected_seeds)
            unchanged = _unchanged_seeds(fingerprints, manifest_json)
            for node in manifest_json["nodes"].values():
                if node["resource_type"] == "seed" and node["name"] in unchanged:
                    key = translator.get_asset_key(node)
                    yield Output(None, output_name=key.to_python_identifier(),
                                 metadata={"status": "unchanged", "unique_id": node["unique_id"],
                                           "note": "seed file and configuration identical to the last load; not reloaded"})
            if unchanged == selected_seeds:
                context.log.info(f"dbt seeds unchanged, not reloaded: {', '.join(sorted(unchanged))}")
                return
            dropped = _drop_seed_tables_with_other_columns(selected_seeds - unchanged, manifest_json)
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
        outcome, results, errors = _DBT.invoke(args, target)
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
                _record_seeds(fingerprints, built, manifest_json)
            else:
                _forget_seeds(built | failed_seeds)
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
        pool="duckdb_writer",
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
