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
