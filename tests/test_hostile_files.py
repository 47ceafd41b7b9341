"""Bad files and personal data: nothing crashes, nothing leaks, nothing is lost.

The whole corpus of tests/corpus/expectations.yaml (plus one good file per
department) is dropped into MONITOR_RAW_DIR and every extract asset is
materialised ONCE through Dagster; each corpus entry is then checked in the
warehouse tables audit.file_loads / audit.quarantine / audit.row_flags / raw.*.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_KEY
from tests.corpus.build_corpus import MARKER_POPULATION, build, corpus_ids, load_manifest
from tests.helpers import ingest

pytestmark = pytest.mark.slow(seconds=15)

MANIFEST = load_manifest()
WRITABLE = ("warehouse", "dagster_home", "exports")


@dataclass
class CorpusRun:
    root: Path
    raw: Path
    work_db: Path
    before: dict[str, str]
    after: dict[str, str]
    result: object

    _con: duckdb.DuckDBPyConnection | None = None

    def query(self, sql: str, params=None) -> list[tuple]:
        if self._con is None:
            self._con = duckdb.connect(str(self.work_db), read_only=True)
        return self._con.execute(sql, params or []).fetchall()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under `root` outside the folders the pipeline may write, with a digest of its content."""
    found = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        rel_folder = Path(folder).relative_to(root)
        if rel_folder.parts and rel_folder.parts[0] in WRITABLE:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = Path(folder) / name
            rel = (rel_folder / name).as_posix()
            if path.is_symlink():
                found[rel] = "link->" + os.readlink(path)
            elif path.is_file():
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[rel] = "dir"
    return found


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory) -> CorpusRun:
    root = tmp_path_factory.mktemp("hostile")
    paths = {name: root / name for name in ("raw", "outside", *WRITABLE)}
    for p in paths.values():
        p.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MONITOR_RAW_DIR", str(paths["raw"]))
        mp.setenv("MONITOR_DATA_DIR", str(paths["warehouse"]))
        mp.setenv("MONITOR_EXPORTS_DIR", str(paths["exports"]))
        mp.setenv("MONITOR_HMAC_KEY", TEST_KEY)
        mp.setenv("MONITOR_ENV", "development")
        mp.setenv("DAGSTER_HOME", str(paths["dagster_home"]))
        mp.setenv("MONITOR_WORK_DB", str(paths["warehouse"] / "work.duckdb"))
        build(paths["raw"], paths["outside"])
        before = _snapshot(root)
        result = ingest()  # every extract asset + the file inventory; asserts the run succeeded
        after = _snapshot(root)
        run = CorpusRun(root, paths["raw"], paths["warehouse"] / "work.duckdb", before, after, result)
        yield run
        run.close()


def _ledger(run: CorpusRun, source_file: str) -> list[dict]:
    cols = ["load_id", "extract", "status", "is_current", "rows_read", "rows_loaded", "rows_quarantined",
            "encoding", "file_format", "message_zh", "message_en", "notes", "sha256"]
    rows = run.query(f"SELECT {', '.join(cols)} FROM audit.file_loads WHERE source_file = ?", [source_file])
    return [dict(zip(cols, r)) for r in rows]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["id"] for e in MANIFEST])
def test_corpus_file_gets_its_expected_treatment(corpus_run, entry):
    ledger = _ledger(corpus_run, entry["drop_as"])
    if entry["status"] == "ignored":
        assert ledger == []
        return
    assert len(ledger) == 1, ledger
    row = ledger[0]
    where = f"{entry['drop_as']}: {row['message_en']} {row['notes']}"
    assert row["status"] == entry["status"], where
    assert row["extract"] == entry["extract"], where
    assert row["is_current"] == (entry["status"] == "loaded"), where
    assert row["message_zh"] and row["message_en"], where  # every outcome is explained, in both languages
    notes = row["notes"] or ""
    if "rule" in entry:
        assert entry["rule"] in json.loads(notes), where
    if "rows" in entry:
        assert [row["rows_read"], row["rows_loaded"], row["rows_quarantined"]] == entry["rows"], where
    for key in ("encoding", "file_format"):
        if key in entry:
            assert row[key] == entry[key], where
    for text in entry.get("notes", []):
        assert text in notes, where
    for text in entry.get("message", []):
        assert text in row["message_zh"] + " " + row["message_en"], where
    load_id = row["load_id"]
    if "quarantine" in entry:
        found = corpus_run.query("SELECT row_number, rule_id FROM audit.quarantine WHERE load_id = ?", [load_id])
        assert sorted(found) == sorted(tuple(q) for q in entry["quarantine"]), where
        reasons = corpus_run.query(
            "SELECT count(*) FROM audit.quarantine WHERE load_id = ? AND (reason_zh IS NULL OR reason_en IS NULL)", [load_id])
        assert reasons == [(0,)], "every quarantined row has a Chinese and an English reason"
    if "flags" in entry:
        found = set(corpus_run.query("SELECT row_number, rule_id FROM audit.row_flags WHERE load_id = ?", [load_id]))
        assert {tuple(f) for f in entry["flags"]} <= found, (where, found)
    if "loaded_rows" in entry:
        found = corpus_run.query(f"SELECT _row_number FROM raw.{entry['extract']} WHERE _load_id = ? ORDER BY 1", [load_id])
        assert [r[0] for r in found] == entry["loaded_rows"], where
    if "values" in entry:
        found = dict(corpus_run.query("SELECT _row_number, population FROM raw.population WHERE _load_id = ?", [load_id]))
        assert found == {int(k): v for k, v in entry["values"].items()}, where


def test_every_extract_asset_ran_and_every_good_file_loaded(corpus_run):
    materialised = {e.asset_key.path[-1] for e in corpus_run.result.get_asset_materialization_events()}
    from dagster_project.contracts import load_contracts

    assert set(load_contracts().extracts) | {"file_inventory"} <= materialised
    for entry in (e for e in MANIFEST if e.get("good")):
        (row,) = _ledger(corpus_run, entry["drop_as"])
        assert (row["status"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", entry["rows"][0], 0), row
        count = corpus_run.query(f"SELECT count(*) FROM raw.{entry['extract']} WHERE _load_id = ?", [row["load_id"]])
        assert count == [(entry["rows"][0],)]


def test_every_dropped_file_is_accounted_for(corpus_run):
    """Nothing is lost: each non-hidden dropped file has exactly one ledger row, and rows add up."""
    recorded = {r[0] for r in corpus_run.query("SELECT source_file FROM audit.file_loads")}
    expected = {e["drop_as"] for e in MANIFEST if e["status"] != "ignored"}
    assert recorded == expected
    for load_id, extract, read, loaded, quarantined, status in corpus_run.query(
        "SELECT load_id, extract, rows_read, rows_loaded, rows_quarantined, status FROM audit.file_loads"
    ):
        assert read == loaded + quarantined, load_id
        distinct = corpus_run.query("SELECT count(DISTINCT row_number) FROM audit.quarantine WHERE load_id = ?", [load_id])
        assert distinct == [(quarantined,)], load_id
        if status == "loaded":
            assert corpus_run.query(f"SELECT count(*) FROM raw.{extract} WHERE _load_id = ?", [load_id]) == [(loaded,)]


def test_no_id_number_reaches_the_warehouse_in_clear(corpus_run):
    ids = corpus_ids()
    database = corpus_run.work_db.read_bytes()
    for id_number in ids:
        assert id_number.encode() not in database
    text_columns = corpus_run.query(
        "SELECT table_schema, table_name, list(column_name) FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_schema IN ('raw', 'audit') GROUP BY ALL"
    )
    pattern = "|".join(id_number[:17] for id_number in ids)  # also catches a wrong check digit or lower-case x
    for schema, table, columns in text_columns:
        text = " || '|' || ".join(f'coalesce("{c}", \'\')' for c in columns)
        hits = corpus_run.query(f"SELECT count(*) FROM {schema}.{table} WHERE regexp_matches({text}, ?)", [pattern])
        assert hits == [(0,)], (schema, table)


def test_links_out_of_the_raw_dir_are_never_followed(corpus_run):
    assert corpus_run.query("SELECT count(*) FROM raw.population WHERE population = ?", [MARKER_POPULATION]) == [(0,)]
    for entry in (e for e in MANIFEST if e.get("symlink")):
        (row,) = _ledger(corpus_run, entry["drop_as"])
        assert row["sha256"] is None  # not even hashed: the link's target was never opened


def test_nothing_is_written_outside_the_warehouse(corpus_run):
    """Raw files, the folder outside and the links are untouched; no file appeared anywhere else."""
    assert corpus_run.after == corpus_run.before


def test_a_second_run_changes_nothing(corpus_run):
    counts = ("SELECT (SELECT count(*) FROM audit.file_loads), (SELECT count(*) FROM audit.quarantine), "
              "(SELECT count(*) FROM audit.row_flags), (SELECT count(*) FROM raw.population)")
    before = corpus_run.query(counts)
    corpus_run.close()  # the pipeline is the database's only writer
    ingest()
    assert corpus_run.query(counts) == before


def test_a_renamed_file_is_not_a_duplicate_of_itself(workspace):
    """The same bytes under a new name, the old name gone: nothing to report, nothing reloaded."""
    from tests.corpus.build_corpus import population_csv

    folder = workspace["raw"] / "population"
    folder.mkdir()
    (folder / "population 2019.csv").write_bytes(population_csv(19))
    ingest("population")
    (folder / "population 2019.csv").rename(folder / "population_2019.csv")
    ingest("population")
    con = duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT source_file, status FROM audit.file_loads").fetchall() == [
            ("population/population 2019.csv", "loaded")]
        assert con.execute("SELECT count(*) FROM raw.population").fetchone() == (3,)
    finally:
        con.close()
