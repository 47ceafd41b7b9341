"""The gate's verdict per reporting period: which periods of an extract passed its blocking rules.

Why per period: publication is per indicator and period, never all-or-nothing. A blocking failure in
`births_2024` must withhold the 2024 figures that use births, and nothing else: 2019-2023 births, and
every other department, are still published. The suite is validated once over every period (the
normal, cheap case); only when it fails are the periods validated one by one to find which fail.

A period with no rows (file not sent) is not judged here: it is "not received", which the
completeness models in dbt (`int_feed_periods_assessed`) derive from the data and the load ledger.
A rule that only fails across periods (e.g. "a row for every year" when a year is missing) therefore
withholds nothing by itself: the missing year is withheld as not received.

`audit.gate_verdicts` keeps the latest verdict of every (extract, period); dbt's staging models leave
out the rows of failed periods (macro `gated_source`), and the marts say which figures that withholds.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from dagster_project.ingest.audit_tables import AUDIT_DDL
from dagster_project.quality.runner import SuiteOutcome, validate_extract

GATE_VERDICTS_DDL = [ddl for ddl in AUDIT_DDL if "audit.gate_verdicts" in ddl or ddl.startswith("CREATE SCHEMA IF NOT EXISTS audit")]


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
    """The periods of the raw table that hold rows (within the periods the outcome validated)."""
    schema, _, table = outcome.raw_table.partition(".")
    has_rows = con.execute(f'SELECT count(*) > 0 FROM "{schema}"."{table}"').fetchone()[0]
    if not has_rows:
        return []
    if period_column != "_period_year":
        return [None]
    years = [y for (y,) in con.execute(
        f'SELECT DISTINCT _period_year FROM "{schema}"."{table}" WHERE _period_year IS NOT NULL ORDER BY 1').fetchall()]
    if outcome.period_years is not None:
        years = [y for y in years if y in set(outcome.period_years)]
    return years


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
    """One verdict per period with rows, from the whole-suite `outcome` (re-validating period by period
    only when it failed and covers more than one period)."""
    periods = _periods_present(con, outcome, period_column)
    if outcome.passed_blocking or len(periods) <= 1:
        return [_verdict(outcome.extract, year, outcome) for year in periods]
    return [_verdict(outcome.extract, year, validate(con, outcome.extract, period_years=[year])) for year in periods]


def record_verdicts(con: duckdb.DuckDBPyConnection, verdicts: list[PeriodVerdict], run_id: str) -> None:
    """Replace the verdicts of the periods judged now; earlier verdicts of other periods stay (a run of one
    year's partition judges that year only)."""
    now = dt.datetime.now().replace(microsecond=0)
    cur = con.cursor()
    try:
        for ddl in GATE_VERDICTS_DDL:
            cur.execute(ddl)
        cur.execute("BEGIN TRANSACTION")
        try:
            for v in verdicts:
                cur.execute("DELETE FROM audit.gate_verdicts WHERE extract = ? AND period_year IS NOT DISTINCT FROM ?",
                            [v.extract, v.period_year])
            cur.executemany(
                "INSERT INTO audit.gate_verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[v.extract, v.period_year, v.passed_blocking, ",".join(v.failed_rules), v.summary_zh, v.summary_en,
                  v.rows_validated, run_id, now] for v in verdicts],
            ) if verdicts else None
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    finally:
        cur.close()


def forget_unloaded_periods(con: duckdb.DuckDBPyConnection, extract: str, raw_table: str) -> None:
    """Drop verdicts of periods that no longer hold rows (their file was replaced by one that was rejected
    whole, or all its rows were quarantined): such a period is judged as not received or rejected, never by
    a stale verdict of data that is gone."""
    for ddl in GATE_VERDICTS_DDL:
        con.execute(ddl)
    schema, _, table = raw_table.partition(".")
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchall()}
    if "_period_year" not in columns:
        return
    con.execute(
        f"""DELETE FROM audit.gate_verdicts WHERE extract = ? AND period_year IS NOT NULL
            AND period_year NOT IN (SELECT DISTINCT _period_year FROM "{schema}"."{table}" WHERE _period_year IS NOT NULL)""",
        [extract])
