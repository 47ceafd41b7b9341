"""Which dbt seeds must be loaded again: fingerprints of seed files recorded in the working database.

The seeds step compares each seed's fingerprint (sha256 of its CSV and of its dbt configuration) with the one
recorded in `dbt_state.seed_fingerprints` when it was last built with all its tests passing; unchanged seeds
are not reloaded (reloading all of them cost seconds of every run). A seed whose CSV gained or lost a column
has its table dropped first: dbt reloads an existing seed table in place and would fail on the new header.
"""
from __future__ import annotations

import hashlib
import json

from dagster_project import database
from dagster_project.config import DBT_PROJECT_DIR, get_settings

SEED_STATE_TABLE = "dbt_state.seed_fingerprints"

def seed_fingerprints(manifest_json: dict, names: set[str]) -> dict[str, str]:
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


def unchanged_seeds(fingerprints: dict[str, str], manifest_json: dict) -> set[str]:
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


def record_seeds(fingerprints: dict[str, str], built: set[str], manifest_json: dict) -> None:
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


def drop_seed_tables_with_other_columns(names: set[str], manifest_json: dict) -> set[str]:
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


def forget_seeds(names: set[str]) -> None:
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
