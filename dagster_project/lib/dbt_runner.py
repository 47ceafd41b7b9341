"""dbt in the current process, behind a small interface: `DBT.invoke(args, target)` and `DBT.manifest(target)`.

Why in-process: each Dagster dbt step used to start a `dbt build` subprocess, which paid 8–10 s before doing
any work (imports, a full re-parse - the partial-parse file never matched because the database path
is part of dbt's profile hash -, adapter start-up), i.e. over a minute per run for the eight steps.
Here dbt is imported once per process and invoked through `dbtRunner` with the manifest loaded once
from `dbt/target/partial_parse.msgpack` (the file `make manifest` writes): a step costs what its
SQL costs. The manifest is used only if it still matches the project files (same check as dbt's
partial parsing: every file's sha256, no file added or removed, same dbt_project.yml and dbt
version); otherwise the project is parsed once in-process, as the subprocess did.

This module knows dbt, not Dagster: `defs/transformation/assets.py` turns the result events it collects into
Dagster events (dagster-dbt's own translation). It relies on dbt internals (the msgpack manifest, dbt-duckdb's
process-wide connection): `tests/test_dbt_runner.py` pins what it needs from them.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from dagster_project.config import DBT_PROJECT_DIR, get_settings

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PARTIAL_PARSE = MANIFEST.with_name("partial_parse.msgpack")
# The dbt events that carry a node's result (dagster-dbt turns them into Outputs and check results).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
_PROJECT_FILE_SUFFIXES = frozenset({".sql", ".py", ".yml", ".yaml", ".csv", ".md"})


class DbtParseError(RuntimeError):
    """The dbt project could not be parsed (the message names dbt's error or its log)."""


class InProcessDbt:
    """dbt imported once per process; the parsed manifest loaded once and reused by every invocation."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._manifest = None
        self._manifest_source = ""

    def manifest(self, target: Path):
        with self._lock:
            if self._manifest is None:
                started = time.perf_counter()
                self._manifest = fresh_partial_parse_manifest()
                if self._manifest is not None:
                    self._manifest_source = f"{PARTIAL_PARSE.name} (prepared by `make manifest`)"
                else:
                    self._manifest = parse_project(target)
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
                    [*args, *common_args(target)]
                )
            finally:
                close_duckdb()
        return outcome, results, errors


DBT = InProcessDbt()  # one per process: dbt's adapter and manifest are process-wide state


def common_args(target: Path) -> list[str]:
    return ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(target), "--quiet",
            # manifest.json / run_results.json rewritten by every step cost ~1.5 s each; results come
            # through the event callbacks, and dbt.log keeps the record
            "--no-write-json"]


def close_duckdb() -> None:
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


def project_files() -> set[Path]:
    found = set()
    for folder in ("models", "seeds", "macros", "tests", "snapshots", "analyses"):
        root = DBT_PROJECT_DIR / folder
        if root.is_dir():
            found.update(p.resolve() for p in root.rglob("*") if p.is_file() and p.suffix in _PROJECT_FILE_SUFFIXES)
    return found


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fresh_partial_parse_manifest():
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
        if known != project_files():
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


def parse_project(target: Path):
    from dbt.cli.main import dbtRunner

    target.mkdir(parents=True, exist_ok=True)
    try:
        outcome = dbtRunner().invoke(["parse", *common_args(target)])
    finally:
        close_duckdb()
    if not outcome.success or outcome.result is None:
        raise DbtParseError(f"dbt parse failed: {outcome.exception or 'see dbt.log in ' + str(target)}")
    return outcome.result
