"""Recording quality outcomes in the working database: `audit.gx_results`, one row per rule per run."""
from __future__ import annotations

import datetime as dt
import json

import duckdb

from dagster_project.database import transaction
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
    ensure_gx_results(con)
    with transaction(con) as cur:
        cur.execute(
            "DELETE FROM audit.gx_results WHERE run_id = ? AND extract = ? AND period_years IS NOT DISTINCT FROM ?",
            [run_id, outcome.extract, periods],
        )
        if rows:
            cur.executemany(f"INSERT INTO audit.gx_results VALUES ({', '.join(['?'] * _COLUMNS)})", rows)
    return len(rows)


def read_outcomes(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> list[SuiteOutcome]:
    """The latest recorded outcome of every extract, rebuilt from audit.gx_results (e.g. for Data Docs).

    For each extract, the rows of `run_id` when it recorded that extract, else the most recently
    recorded validation. Examples and observed values were masked when recorded; the rules'
    arguments are read back from the suite files (parameters resolved, masked).
    """
    from dagster_project.quality.masking import mask_deep
    from dagster_project.quality.runner import RuleOutcome, _resolve
    from dagster_project.quality.suites import SuiteError, load_suite, suite_parameters

    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                         "AND table_schema = 'audit' AND table_name = 'gx_results'").fetchone()[0]
    if not exists:
        return []
    latest = con.execute(
        """SELECT extract, run_id, period_years FROM (
               SELECT extract, run_id, period_years,
                      row_number() OVER (PARTITION BY extract
                                         ORDER BY (run_id = ?) DESC, max(recorded_at) DESC, max(validated_at) DESC) AS rank
               FROM audit.gx_results GROUP BY extract, run_id, period_years)
           WHERE rank = 1 ORDER BY extract""",
        [run_id or ""],
    ).fetchall()
    params = suite_parameters()
    outcomes = []
    for extract, rid, periods in latest:
        rows = con.execute(
            "SELECT * FROM audit.gx_results WHERE extract = ? AND run_id = ? AND period_years IS NOT DISTINCT FROM ?",
            [extract, rid, periods],
        ).pl().to_dicts()
        try:
            suite = load_suite(extract)
        except SuiteError:  # the extract left the contract: its results are still shown
            suite = None
        suite_rules = suite.by_rule if suite else {}
        first = rows[0]
        outcome = SuiteOutcome(
            extract=extract, department=first["department"], suite_name=first["suite_name"],
            raw_table=suite.raw_table if suite else f"raw.{extract}", period_years=json.loads(periods) if periods else None, rules=[],
            rows_validated=first["rows_validated"] or 0, batches=first["batches"] or 0,
            started_at=first["validated_at"], duration_seconds=first["duration_seconds"] or 0.0,
            contract_version=first["contract_version"], title_zh=suite.meta.get("title_zh", "") if suite else "",
        )
        for r in rows:
            expectation = suite_rules.get(r["rule_id"])
            kwargs = mask_deep(_resolve(expectation["kwargs"], params)) if expectation else {}
            outcome.rules.append(RuleOutcome(
                rule_id=r["rule_id"], severity=r["severity"], success=bool(r["success"]),
                expectation_type=r["expectation_type"], scope=r["scope"], column=r["column_name"],
                description_zh=r["description_zh"], description_en=r["description_en"],
                unexpected_count=r["unexpected_count"], element_count=r["element_count"],
                unexpected_percent=r["unexpected_percent"], observed_value=r["observed_value"],
                examples=json.loads(r["examples"]) if r["examples"] else [], exception=r["exception"],
                kwargs=kwargs,
            ))
        outcomes.append(outcome)
    return outcomes
