"""Recording quality outcomes in the working database: `audit.gx_results`, one row per rule per run."""
from __future__ import annotations

import datetime as dt
import json

import duckdb

from dagster_project.quality.runner import SuiteOutcome

GX_RESULTS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS audit",
    """CREATE TABLE IF NOT EXISTS audit.gx_results (
        run_id VARCHAR,               -- the Dagster run (or any caller-chosen id)
        extract VARCHAR,
        department VARCHAR,
        suite_name VARCHAR,
        period_years VARCHAR,         -- JSON list of the _period_year values validated; NULL = all
        rule_id VARCHAR,
        severity VARCHAR,             -- blocking | warning
        scope VARCHAR,                -- rows | period | schema
        expectation_type VARCHAR,
        column_name VARCHAR,
        success BOOLEAN,
        unexpected_count BIGINT,
        element_count BIGINT,
        unexpected_percent DOUBLE,
        observed_value VARCHAR,       -- masked
        examples VARCHAR,             -- JSON list of masked example values with file:row
        exception VARCHAR,
        description_zh VARCHAR,
        description_en VARCHAR,
        passed_blocking BOOLEAN,      -- the suite's verdict, repeated on each row
        rows_validated BIGINT,
        batches INTEGER,
        duration_seconds DOUBLE,
        contract_version INTEGER,
        validated_at TIMESTAMP,
        recorded_at TIMESTAMP
    )""",
]

_COLUMNS = 26


def ensure_gx_results(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in GX_RESULTS_DDL:
        con.execute(ddl)


def record_outcome(con: duckdb.DuckDBPyConnection, outcome: SuiteOutcome, run_id: str) -> int:
    """Write one row per rule to audit.gx_results; returns the number of rows written.

    Re-recording the same (run, extract, periods) replaces its rows. The write is
    one transaction on its own cursor of `con` (same database), so it is atomic
    and never interferes with a transaction the caller may have open.
    """
    periods = json.dumps(outcome.period_years) if outcome.period_years is not None else None
    now = dt.datetime.now().replace(microsecond=0)
    rows = [
        [run_id, outcome.extract, outcome.department, outcome.suite_name, periods, r.rule_id, r.severity, r.scope,
         r.expectation_type, r.column, r.success, r.unexpected_count, r.element_count, r.unexpected_percent,
         r.observed_value, json.dumps(r.examples, ensure_ascii=False), r.exception, r.description_zh, r.description_en,
         outcome.passed_blocking, outcome.rows_validated, outcome.batches, round(outcome.duration_seconds, 3),
         outcome.contract_version, outcome.started_at, now]
        for r in outcome.rules
    ]
    cur = con.cursor()
    try:
        ensure_gx_results(cur)
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(
                "DELETE FROM audit.gx_results WHERE run_id = ? AND extract = ? AND period_years IS NOT DISTINCT FROM ?",
                [run_id, outcome.extract, periods],
            )
            if rows:
                cur.executemany(f"INSERT INTO audit.gx_results VALUES ({', '.join(['?'] * _COLUMNS)})", rows)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    finally:
        cur.close()
    return len(rows)
