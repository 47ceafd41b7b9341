"""One-time upgrade of a working database loaded before ID numbers were kept out of every column (issue 17).

Files already loaded are not read again (their SHA-256 is current), so rows loaded by an earlier version keep
what it stored: a 学籍号 'G' + ID number in `raw.students.student_id`, a file name with an ID number in the
ledger. `upgrade_stored_identifiers` applies today's rules to them once, in one transaction: ID-shaped
substrings of the contract's `string` columns become their keyed pseudonyms (as `loader` does on insert), and
file names and messages in the raw and audit tables are masked. A marker in `ingest_state.upgrades` makes it
run once; a database created by this version gets the marker without work.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from dagster_project.contracts import Contracts
from dagster_project.database import transaction
from dagster_project.ingest import idnumber

UPGRADE = "ids_out_of_every_column"
_CANDIDATE_SQL = r"[0-9]{15}|[0-9]\.[0-9]{5,}[Ee]"
_AUDIT_TEXT = {"audit.file_loads": ("source_file", "message_zh", "message_en", "notes"),
               "audit.quarantine": ("source_file",), "audit.row_flags": ("source_file",)}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rewrite(cur, table: str, column: str, change) -> int:
    """Replace each distinct candidate value of `table.column` by `change(value)`; returns values changed."""
    values = [v for (v,) in cur.execute(
        f"SELECT DISTINCT {_ident(column)} FROM {table} WHERE regexp_matches({_ident(column)}, ?)",
        [_CANDIDATE_SQL]).fetchall()]
    pairs = [(v, change(v)) for v in values]
    pairs = [(old, new) for old, new in pairs if new != old]
    if pairs:
        cur.register("_upgrade_pairs", pl.DataFrame({"old": [p[0] for p in pairs], "new": [p[1] for p in pairs]}))
        try:
            cur.execute(f"UPDATE {table} SET {_ident(column)} = m.new FROM _upgrade_pairs m "
                        f"WHERE {table}.{_ident(column)} = m.old")
        finally:
            cur.unregister("_upgrade_pairs")
    return len(pairs)


def upgrade_stored_identifiers(con: duckdb.DuckDBPyConnection, contracts: Contracts, key: bytes) -> int:
    """Run the upgrade once (see above); returns the number of distinct values rewritten (0 when done before)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ingest_state")
    con.execute("CREATE TABLE IF NOT EXISTS ingest_state.upgrades (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    if con.execute("SELECT 1 FROM ingest_state.upgrades WHERE name = ?", [UPGRADE]).fetchone():
        return 0
    present = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    changed = 0
    with transaction(con) as cur:
        for extract in contracts.extracts.values():
            if extract.raw_table not in present:
                continue
            for col in extract.columns:
                if col.type == "string":
                    changed += _rewrite(cur, extract.raw_table, col.name,
                                        lambda v: idnumber.pseudonymise_id_substrings(v, key))
            changed += _rewrite(cur, extract.raw_table, "_source_file", idnumber.mask_id_numbers)
        for table, columns in _AUDIT_TEXT.items():
            if table in present:
                for column in columns:
                    changed += _rewrite(cur, table, column, idnumber.mask_id_numbers)
        cur.execute("INSERT INTO ingest_state.upgrades VALUES (?, ?)", [UPGRADE, dt.datetime.now().replace(microsecond=0)])
    return changed
