"""Helpers of the end-to-end tests: a small generated raw folder and the CLI in a subprocess."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import PROJECT_ROOT

# Small but complete: every extract, two years, a few thousand rows; a full run is dominated by
# the fixed cost of Dagster and the eight dbt invocations, not by the data.
GENERATOR_ARGS = ["--scale", "0.02", "--years", "2023-2024", "--quiet"]
RUN_TIMEOUT = 1200


def generate_raw(raw: Path, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "sample_data", "--out", str(raw), *GENERATOR_ARGS, *extra],
                   cwd=PROJECT_ROOT, check=True, timeout=300)


def environment(workspace: dict[str, Path]) -> dict[str, str]:
    """The workspace fixture's settings, for a subprocess."""
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}


@dataclass
class CliRun:
    returncode: int
    output: str
    seconds: float


def run_cli(workspace: dict[str, Path], *args: str, timeout: float = RUN_TIMEOUT) -> CliRun:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "dagster_project.cli", *(args or ("run",))], cwd=PROJECT_ROOT,
                          env=environment(workspace), capture_output=True, text=True, timeout=timeout)
    return CliRun(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started)


def run_cli_and_kill(workspace: dict[str, Path], marker: str, delay: float = 1.0,
                     timeout: float = RUN_TIMEOUT) -> str:
    """Start `cli run` in its own process group; SIGKILL the whole group `delay` s after `marker` is printed.

    The group includes the dbt subprocess, as in a power cut or an OOM kill of the container.
    Returns the output up to the kill.
    """
    # --verbose: the markers are Dagster's step events, which only the full console log shows
    proc = subprocess.Popen([sys.executable, "-m", "dagster_project.cli", "run", "--verbose"], cwd=PROJECT_ROOT,
                            env=environment(workspace), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                time.sleep(delay)
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{marker!r} never appeared")
        else:
            raise AssertionError("the run ended before the marker:\n" + "".join(lines[-50:]))
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)
        proc.stdout.close()
    return "".join(lines)


def module_workspace(tmp_path_factory, name: str):
    """Like the `workspace` fixture of conftest.py, for a whole module (one pipeline run shared by its tests)."""
    import pytest

    from tests.conftest import TEST_KEY

    root = tmp_path_factory.mktemp(name)
    paths = {n: root / n for n in ("raw", "warehouse", "exports")}
    for p in paths.values():
        p.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MONITOR_RAW_DIR", str(paths["raw"]))
        mp.setenv("MONITOR_DATA_DIR", str(paths["warehouse"]))
        mp.setenv("MONITOR_EXPORTS_DIR", str(paths["exports"]))
        mp.setenv("MONITOR_HMAC_KEY", TEST_KEY)
        mp.setenv("MONITOR_ENV", "development")
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.setenv("MONITOR_WORK_DB", str(paths["warehouse"] / "work.duckdb"))
        (root / "dagster_home").mkdir()
        yield paths


def published_snapshot(path: Path) -> dict:
    """meta.publication and the fingerprint of every marts table of a published database."""
    from dagster_project.publish import combined_fingerprint, content_fingerprint, open_published_readonly

    con = open_published_readonly(path)
    try:
        meta = dict(zip(["publication_id", "run_id", "marts_tables", "content_sha256"], con.execute(
            "SELECT publication_id, run_id, marts_tables, content_sha256 FROM meta.publication").fetchone()))
        tables = content_fingerprint(con)
    finally:
        con.close()
    return {**meta, "tables": tables, "recomputed_sha256": combined_fingerprint(tables)}
