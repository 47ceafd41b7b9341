"""The gate's verdict per reporting period: which periods of an extract passed its blocking rules.

Why per period: publication is per indicator and period, never all-or-nothing. A blocking failure in
`births_2024` must withhold the 2024 figures that use births, and nothing else: 2019-2023 births, and
every other department, are still published. The suite is validated once over every period (the
normal, cheap case); only when it fails are the periods validated one by one to find which fail.

A period with no rows (file not sent) is not judged here: it is "not received", which the
completeness models in dbt (`int_feed_periods_assessed`) derive from the data and the load ledger.
A rule that only fails across periods (e.g. "a row for every year" when a year is missing) therefore
withholds nothing by itself: the missing year is withheld as not received.

`audit.gate_verdicts` holds the latest verdict of every (extract, period) that holds rows: each check
replaces its extract's verdicts, so a period whose rows are gone (its new file was rejected whole, or
every row was quarantined) is never judged by a stale verdict. dbt's staging models leave out the rows
of failed periods (macro `gated_source`), and the marts say which figures that withholds.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from dagster_project.database import transaction
from dagster_project.ingest.audit_tables import ensure_schema
from dagster_project.quality.runner import SuiteOutcome, validate_extract


@dataclass(frozen=True)
class PeriodVerdict:
    extract: str
    period_year: int | None
    passed_blocking: bool
    failed_rules: tuple[str, ...]
    summary_zh: str
    summary_en: str
    rows_validated: int


def _periods_present(con: duckdb.DuckDBPyConnection, outcome: SuiteOutcome, period_column: str | None) -> list[int | None]:
    """The periods of the raw table that hold rows ([None] for an extract sent whole)."""
    schema, _, table = outcome.raw_table.partition(".")
    has_rows = con.execute(f'SELECT count(*) > 0 FROM "{schema}"."{table}"').fetchone()[0]
    if not has_rows:
        return []
    if period_column != "_period_year":
        return [None]
    return [y for (y,) in con.execute(
        f'SELECT DISTINCT _period_year FROM "{schema}"."{table}" WHERE _period_year IS NOT NULL ORDER BY 1').fetchall()]


def _verdict(extract: str, year: int | None, outcome: SuiteOutcome) -> PeriodVerdict:
    return PeriodVerdict(
        extract=extract, period_year=year, passed_blocking=outcome.passed_blocking,
        failed_rules=tuple(r.rule_id for r in outcome.blocking_failures),
        summary_zh=outcome.summary_zh(), summary_en=outcome.summary_en(), rows_validated=outcome.rows_validated,
    )


def period_verdicts(
    con: duckdb.DuckDBPyConnection,
    outcome: SuiteOutcome,
    period_column: str | None,
    validate: Callable[..., SuiteOutcome] = validate_extract,
) -> list[PeriodVerdict]:
    """One verdict per period with rows, from `outcome`, the suite validated over the whole table
    (re-validating period by period only when it failed and the table holds more than one period)."""
    if outcome.period_years is not None:
        raise ValueError("period verdicts need the outcome of the whole table (validate_extract without period_years)")
    periods = _periods_present(con, outcome, period_column)
    if outcome.passed_blocking or len(periods) <= 1:
        return [_verdict(outcome.extract, year, outcome) for year in periods]
    return [_verdict(outcome.extract, year, validate(con, outcome.extract, period_years=[year])) for year in periods]


def record_verdicts(con: duckdb.DuckDBPyConnection, extract: str, verdicts: list[PeriodVerdict], run_id: str) -> None:
    """Replace the extract's verdicts by `verdicts` (those of every period that holds rows), in one transaction."""
    now = dt.datetime.now().replace(microsecond=0)
    ensure_schema(con)
    with transaction(con) as cur:
        cur.execute("DELETE FROM audit.gate_verdicts WHERE extract = ?", [extract])
        if verdicts:
            cur.executemany(
                "INSERT INTO audit.gate_verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[v.extract, v.period_year, v.passed_blocking, ",".join(v.failed_rules), v.summary_zh, v.summary_en,
                  v.rows_validated, run_id, now] for v in verdicts],
            )
