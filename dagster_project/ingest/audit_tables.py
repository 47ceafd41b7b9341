"""DDL of the audit schema: the ledger of files, quarantined rows and row findings."""
from __future__ import annotations

import re

import duckdb

from dagster_project.contracts import load_contracts

AUDIT_DDL = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS audit",
    """CREATE TABLE IF NOT EXISTS audit.file_loads (
        load_id VARCHAR,             -- <extract>-<period>-<sha256 prefix>: the same file always gets the same id
        extract VARCHAR,
        department VARCHAR,
        source_department VARCHAR,   -- forms only: the department in the file name
        period_year INTEGER,
        source_file VARCHAR,         -- path relative to MONITOR_RAW_DIR
        sha256 VARCHAR,
        size_bytes BIGINT,
        encoding VARCHAR,
        file_format VARCHAR,
        rows_read BIGINT,
        rows_loaded BIGINT,
        rows_quarantined BIGINT,
        rows_flagged BIGINT,
        status VARCHAR,              -- loaded | rejected | duplicate_file | superseded | unrecognised
        is_current BOOLEAN,          -- the file whose rows are in the warehouse for its (extract, period)
        message_zh VARCHAR,
        message_en VARCHAR,
        notes VARCHAR,
        contract_version INTEGER,
        loaded_at TIMESTAMP,
        sheet_name VARCHAR           -- XLSX: the worksheet read (the one whose header matches the template)
    )""",
    """CREATE TABLE IF NOT EXISTS audit.quarantine (
        load_id VARCHAR, extract VARCHAR, department VARCHAR, period_year INTEGER, source_file VARCHAR,
        row_number BIGINT, column_name VARCHAR, rule_id VARCHAR, reason_zh VARCHAR, reason_en VARCHAR,
        value_masked VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS audit.row_flags (
        load_id VARCHAR, extract VARCHAR, department VARCHAR, period_year INTEGER, source_file VARCHAR,
        row_number BIGINT, column_name VARCHAR, rule_id VARCHAR, action VARCHAR, reason_zh VARCHAR,
        reason_en VARCHAR, value_masked VARCHAR
    )""",
    # The quality gate's latest verdict per (extract, file period), written by quality/period_verdicts.py;
    # dbt leaves out the rows of failed periods. Created here too, so dbt finds it before any gate ran.
    """CREATE TABLE IF NOT EXISTS audit.gate_verdicts (
        extract VARCHAR,
        period_year INTEGER,          -- the file period (_period_year); NULL for extracts sent whole (grade_history)
        passed_blocking BOOLEAN,
        failed_rules VARCHAR,         -- comma-separated rule ids of the failed blocking rules
        summary_zh VARCHAR,
        summary_en VARCHAR,
        rows_validated BIGINT,
        run_id VARCHAR,
        checked_at TIMESTAMP
    )""",
]


# The tables AUDIT_DDL creates, read from it (a table added there cannot be missed by the check below).
AUDIT_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\S+)", "\n".join(AUDIT_DDL)))


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit tables if missing, add columns raw tables lack (idempotent)."""
    extracts = load_contracts().extracts.values()
    tables = con.execute(
        "SELECT schema_name || '.' || table_name, bool_or(column_name = '_invalid_fields'), "
        "bool_or(column_name = 'sheet_name') FROM duckdb_columns() "
        "WHERE schema_name IN ('raw', 'audit') GROUP BY ALL").fetchall()
    present = {name for name, _, _ in tables}
    # A raw table made before `_invalid_fields` existed gets the column (its rows: nothing blanked).
    raw_tables = {e.raw_table for e in extracts}
    outdated = {name for name, has, _ in tables if name in raw_tables and not has}
    # A ledger made before `sheet_name` existed gets the column (its rows: not recorded).
    old_ledger = any(name == "audit.file_loads" and not has_sheet for name, _, has_sheet in tables)
    if AUDIT_TABLES | raw_tables <= present and not outdated and not old_ledger:  # one query, not ~20 DDL a file
        return
    for ddl in AUDIT_DDL:
        con.execute(ddl)
    for extract in extracts:
        con.execute(extract.ddl())
    for table in sorted(outdated):
        con.execute(f"ALTER TABLE {table} ADD COLUMN _invalid_fields VARCHAR[] DEFAULT []")
    if old_ledger:
        con.execute("ALTER TABLE audit.file_loads ADD COLUMN sheet_name VARCHAR")
