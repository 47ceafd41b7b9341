"""Shared fixtures: every test gets its own raw/, warehouse/ and exports/ folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_KEY = "test-hmac-key-not-for-production-0123456789"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("raw", "warehouse", "exports")}
    for p in paths.values():
        p.mkdir()
    monkeypatch.setenv("MONITOR_RAW_DIR", str(paths["raw"]))
    monkeypatch.setenv("MONITOR_DATA_DIR", str(paths["warehouse"]))
    monkeypatch.setenv("MONITOR_EXPORTS_DIR", str(paths["exports"]))
    monkeypatch.setenv("MONITOR_HMAC_KEY", TEST_KEY)
    monkeypatch.setenv("MONITOR_ENV", "development")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("MONITOR_WORK_DB", str(paths["warehouse"] / "work.duckdb"))
    return paths


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One full pipeline run (the CLI, as `make run` does) on the committed sample, shared by the session."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    base = tmp_path_factory.mktemp("sample_run")
    paths = {"raw": root / "raw", "warehouse": base / "warehouse", "exports": base / "exports"}
    env = {
        **os.environ,
        "MONITOR_RAW_DIR": str(paths["raw"]),
        "MONITOR_DATA_DIR": str(paths["warehouse"]),
        "MONITOR_EXPORTS_DIR": str(paths["exports"]),
        "MONITOR_HMAC_KEY": TEST_KEY,
        "MONITOR_ENV": "development",
        "DAGSTER_HOME": str(base / "dagster_home"),
    }
    env.pop("MONITOR_WORK_DB", None)
    result = subprocess.run([sys.executable, "-m", "dagster_project.cli", "run"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=1200)
    (base / "run.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    paths["log"] = base / "run.log"
    paths["stdout"] = result.stdout
    return paths
