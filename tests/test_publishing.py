"""Publishing the analysts' database: what it holds, how readers see it, crashes while publishing.

The working database is the shared small warehouse of the hand-over tests (generator output loaded
by the ingestion assets, then one `dbt build`; built once per session), copied into this module's own
data folder. Publishing goes through the Dagster asset `published/monitoring_duckdb`, as in a run.
The reader that queries through a whole pipeline run, and the run killed with SIGKILL, are in
tests/test_reruns.py.
"""
from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from dagster_project.config import PROJECT_ROOT
from dagster_project.publish import (
    PERSON_LEVEL_COLUMN,
    PublicationRefused,
    content_fingerprint,
    open_published_readonly,
    publish,
)
from tests.handover_warehouse import small_warehouse
from tests.pipeline_runs import environment, module_workspace, published_snapshot

pytestmark = pytest.mark.slow(seconds=45)

PUBLISHED = AssetKey(["published", "monitoring_duckdb"])


@pytest.fixture(scope="module")
def ws(tmp_path_factory, worker_id):
    warehouse = small_warehouse(tmp_path_factory, worker_id)
    for paths in module_workspace(tmp_path_factory, "publishing"):
        warehouse.copy_to(paths["warehouse"])
        yield paths


def publish_through_dagster() -> None:
    from dagster_project.definitions import defs
    from dagster_project.lib.dagster_instance import ensure_dagster_home

    ensure_dagster_home()
    job = defs.resolve_job_def("monitoring_job").get_subset(asset_selection={PUBLISHED})
    with DagsterInstance.get() as instance:
        assert job.execute_in_process(instance=instance).success


@pytest.fixture(scope="module")
def published(ws) -> Path:
    publish_through_dagster()
    return ws["warehouse"] / "monitoring.duckdb"


def test_published_file_holds_marts_dimensions_audit_and_findings_and_no_person_level_data(ws, published):
    con = open_published_readonly(published)
    try:
        tables = set(con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall())
        tables = {t[0] for t in tables}
        columns = con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
                              "WHERE schema_name IN ('marts', 'audit', 'meta')").fetchall()
        meta = published_snapshot(published)
    finally:
        con.close()
    assert {s.split(".")[0] for s in tables} == {"marts", "audit", "meta"}
    assert {"marts.fct_indicator_values", "marts.fct_gender_gaps", "marts.fct_target_attainment",
            "marts.dim_indicator", "marts.dim_area", "marts.dim_sex", "marts.dim_age_group", "marts.dim_residence",
            "audit.file_loads", "audit.quarantine", "audit.row_flags", "meta.publication"} <= tables
    with duckdb.connect(str(ws["warehouse"] / "work.duckdb"), read_only=True) as work:
        # every mart, tables and views (a view, e.g. rpt_sdmx_observations, is published as a table)
        marts = {r[0] for r in work.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main_marts' UNION "
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main_marts' AND NOT internal").fetchall()}
        person_level = work.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'raw' AND column_name LIKE '%pid'").fetchone()[0]
    assert {t for t in tables if t.startswith("marts.")} == {f"marts.{t}" for t in marts}  # findings included
    assert person_level > 0  # the person-level tables stay in the working database ...
    assert not [c for c in columns if PERSON_LEVEL_COLUMN.search(c[2])]  # ... and never reach this one
    # the Chinese descriptions (dbt persist_docs) come along: the data dictionary inside the database
    mart_columns = [c for c in columns if c[0] == "marts"]
    assert mart_columns and all(c[3] for c in mart_columns), [c[:3] for c in mart_columns if not c[3]][:5]
    assert meta["recomputed_sha256"] == meta["content_sha256"] and meta["marts_tables"] == len(marts)


def test_published_file_is_complete_read_only_and_closed_to_other_files(published):
    folder = published.parent
    assert not Path(f"{published}.wal").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".monitoring.duckdb")]
    assert stat.S_IMODE(published.stat().st_mode) == 0o440  # the analysts' group reads it (permissions.py)
    con = open_published_readonly(published)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("CREATE TABLE marts.mine AS SELECT 1")
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_csv('/etc/hostname')")
        with pytest.raises(duckdb.Error):
            con.execute(f"ATTACH '{folder / 'work.duckdb'}' AS w (READ_ONLY)")
    finally:
        con.close()


def test_a_reader_keeps_its_snapshot_while_a_new_one_is_published(published):
    reader = open_published_readonly(published)
    try:
        before = reader.execute("SELECT publication_id FROM meta.publication").fetchone()[0]
        fingerprint = content_fingerprint(reader)
        publish_through_dagster()
        assert reader.execute("SELECT publication_id FROM meta.publication").fetchone()[0] == before
        assert content_fingerprint(reader) == fingerprint
    finally:
        reader.close()
    after = published_snapshot(published)
    assert after["publication_id"] != before and after["tables"] == fingerprint  # same data, new snapshot


PUBLISHER = r"""
import sys
from dagster_project.config import get_settings
from dagster_project.publish import publish
print("start", flush=True)
publish(get_settings(), "kill-test")
print("done", flush=True)
"""


def _start_publisher(ws) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER], cwd=PROJECT_ROOT, env=environment(ws),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    return proc


def test_publication_killed_at_any_moment_leaves_a_complete_database(ws, published):
    started = time.monotonic()
    proc = _start_publisher(ws)
    proc.wait(timeout=300)
    duration = time.monotonic() - started
    assert proc.returncode == 0
    ids = {published_snapshot(published)["publication_id"]}
    for fraction in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95):
        proc = _start_publisher(ws)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
        snapshot = published_snapshot(published)  # opens, reads, recomputes: never half a database
        assert snapshot["recomputed_sha256"] == snapshot["content_sha256"]
        ids.add(snapshot["publication_id"])
        assert not Path(f"{published}.wal").exists()
    # the next publication removes what killed ones left behind
    publish_through_dagster()
    assert not [p.name for p in published.parent.iterdir() if p.name.startswith(".monitoring.duckdb")]
    print(f"publish takes {duration:.1f} s; {len(ids)} distinct snapshots seen across the kills")


def test_tables_with_person_identifiers_are_never_published(ws, published, tmp_path):
    from dagster_project.config import get_settings

    before = published_snapshot(published)["publication_id"]
    with duckdb.connect(str(ws["warehouse"] / "work.duckdb")) as work:
        work.execute("CREATE TABLE main_marts.leaky AS SELECT 'abc' AS person_pid, 1 AS n")
    try:
        with pytest.raises(PublicationRefused):
            publish(get_settings(), "leak-test")
    finally:
        with duckdb.connect(str(ws["warehouse"] / "work.duckdb")) as work:
            work.execute("DROP TABLE main_marts.leaky")
    assert published_snapshot(published)["publication_id"] == before
    assert not [p.name for p in published.parent.iterdir() if p.name.startswith(".monitoring.duckdb")]


def test_publishing_waits_for_every_mart_and_every_mart_for_the_quality_gates():
    """The publishing asset depends on every mart; each mart (through its dbt steps) on every extract
    whose blocking check it needs: the checks are blocking so that dbt reads the gate's verdicts only after
    they are written; a period that fails is left out of the indicators that need it (tests/test_blocking_gate.py),
    and a check that cannot run at all stops everything downstream, leaving the last publication in place."""
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert marts and marts <= set(graph.get(PUBLISHED).parent_keys)
    ancestors, frontier = set(), [PUBLISHED]
    while frontier:
        key = frontier.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.append(parent)
    raw = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw" and k.path[1] != "file_inventory"}
    checked = {spec.asset_key for checks in defs.asset_checks for spec in checks.check_specs if spec.blocking}
    assert raw <= checked  # every extract has a blocking gate ...
    assert raw <= ancestors  # ... upstream of the publication


def test_every_sql_example_in_the_analysts_guide_runs(published):
    guide = (PROJECT_ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", guide, re.S)
    assert len(blocks) >= 5
    con = open_published_readonly(published)
    try:
        for sql in blocks:
            rows = con.execute(sql).fetchall()
            # what changed since the previous snapshot is empty for a first publication, or a rerun on the same files
            assert rows or "meta.publication_changes" in sql, f"no rows from:\n{sql}"
    finally:
        con.close()
    for heading in ("按性别和乡镇的率", "趋势", "性别差距", "enable_external_access = false"):
        assert heading in guide


def test_data_dictionary_is_built_for_offline_use(ws, published):
    from dagster_project.cli import main

    assert main(["docs"]) == 0
    page = ws["exports"] / "data_dictionary" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert "fct_indicator_values" in html
    assert json.dumps("指标值事实表")[1:-1] in html or "指标值事实表" in html  # Chinese descriptions embedded
    assert not re.search(r"<script[^>]+src=[\"']https?://", html)  # everything inline: opens offline
    assert not re.search(r"<link[^>]+href=[\"']https?://[^\"']+\.css", html)
    assert os.path.getsize(page) > 100_000
