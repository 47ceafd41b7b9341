"""The pipeline's DuckDB connections carry the configured memory limit, whoever opened the database first."""
from __future__ import annotations

import duckdb

from dagster_project import config, database


def _limit(con) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_configured_limit_is_applied(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_DUCKDB_MEMORY_LIMIT", "300MB")
    con = database.connect(tmp_path / "w.duckdb")
    try:
        assert _limit(con) in ("286.1 MiB", "300.0 MB")
    finally:
        con.close()


def test_default_is_a_share_of_ram_capped(tmp_path, monkeypatch):
    monkeypatch.delenv("MONITOR_DUCKDB_MEMORY_LIMIT", raising=False)
    value = config.duckdb_memory_limit()
    mib = int(value.removesuffix("MiB"))
    assert 0 < mib <= config.DEFAULT_DUCKDB_MEMORY_CAP // 2**20
    con = database.connect(tmp_path / "w.duckdb")
    try:
        assert _limit(con).endswith(("GiB", "MiB"))
        assert _limit(con) != duckdb.connect(":memory:").execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def test_a_second_connection_with_other_defaults_is_accepted(tmp_path, monkeypatch):
    """dbt's adapter opens the same file with its own (empty) config while ours is open: no conflict."""
    monkeypatch.setenv("MONITOR_DUCKDB_MEMORY_LIMIT", "500MB")
    ours = database.connect(tmp_path / "w.duckdb")
    theirs = duckdb.connect(str(tmp_path / "w.duckdb"), config={})
    try:
        assert _limit(theirs) == _limit(ours)
    finally:
        theirs.close()
        ours.close()
