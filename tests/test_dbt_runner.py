"""The in-process dbt runner (lib/dbt_runner.py): the prepared manifest is reused only while it matches the
project files, and an invocation runs dbt with the project's arguments and collects its results and errors.

These pin the dbt internals the runner relies on (msgpack manifest, dbt-duckdb's shared connection).
"""
from __future__ import annotations

import pytest

from dagster_project.lib import dbt_runner


@pytest.fixture
def work_db(tmp_path, monkeypatch):  # noqa: PT004 - sets the environment dbt reads
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "warehouse"))
    monkeypatch.delenv("MONITOR_WORK_DB", raising=False)
    from dagster_project.config import export_dbt_env, get_settings

    (tmp_path / "warehouse").mkdir()
    export_dbt_env()
    return get_settings().work_db


def test_the_prepared_manifest_is_used_while_it_matches_the_project(work_db):
    assert dbt_runner.PARTIAL_PARSE.exists(), "make manifest writes it"
    manifest = dbt_runner.fresh_partial_parse_manifest()
    assert manifest is not None
    assert any(node.name == "fct_indicator_values" for node in manifest.nodes.values())


def test_a_project_file_added_since_the_manifest_makes_it_stale(work_db, monkeypatch, tmp_path):
    real = dbt_runner.project_files()
    extra = tmp_path / "new_model.sql"
    extra.write_text("select 1", encoding="utf-8")
    monkeypatch.setattr(dbt_runner, "project_files", lambda: real | {extra.resolve()})
    assert dbt_runner.fresh_partial_parse_manifest() is None


def test_a_changed_project_file_makes_it_stale(work_db, monkeypatch):
    original = dbt_runner._sha256_text
    # every file now hashes differently, as if each had been edited
    monkeypatch.setattr(dbt_runner, "_sha256_text", lambda text: original(text + "-- edited"))
    assert dbt_runner.fresh_partial_parse_manifest() is None


def test_invoke_runs_dbt_in_process_and_collects_results_and_errors(work_db, tmp_path):
    target = tmp_path / "dbt_target"
    runner = dbt_runner.InProcessDbt()
    outcome, results, errors = runner.invoke(["seed", "--select", "sex_codes"], target)
    assert outcome.success, errors
    assert [r["info"]["name"] for r in results] == ["LogSeedResult"]
    assert results[0]["data"]["node_info"]["unique_id"] == "seed.monitoring.sex_codes"
    assert (target / "dbt.log").exists()
    # dbt-duckdb's process-wide connection is closed after each invocation: the file is free for others
    import duckdb

    with duckdb.connect(str(work_db)) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        assert [t for t in tables if t[1] == "sex_codes"], tables

    outcome, results, errors = runner.invoke(["run", "--select", "no_such_model_anywhere"], target)
    assert results == []
    _, source = runner.manifest(target)
    assert "make manifest" in source  # the prepared manifest, loaded once for both invocations
