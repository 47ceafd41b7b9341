"""What a run published, read from the marts: complete, partial (figures withheld), and why.

A partial publication is a normal state - departments report late - so a run that withholds figures
still succeeds; this summary is how the monitoring group sees what is missing (CLI, Dagster metadata).
Which figures are withheld, and why, is decided in dbt (marts.fct_indicator_publication,
marts.fct_reporting_completeness); this module only reads and formats.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

# At most this many withheld indicators are named one by one on the console (all are in the mart).
LISTED = 12


@dataclass
class PublicationSummary:
    latest_year: int | None
    counts: dict[str, int] = field(default_factory=dict)          # latest year: status -> indicators
    withheld: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name_zh, reason_zh), latest year
    incomplete: list[tuple[str, str, str]] = field(default_factory=list)
    feeds_missing: list[tuple[str, str]] = field(default_factory=list)   # (name_zh, status_zh), latest year
    earlier_withheld: dict[int, int] = field(default_factory=dict)       # year -> withheld indicators

    @property
    def is_partial(self) -> bool:
        return bool(self.withheld)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def read_summary(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> PublicationSummary | None:
    """The summary from the marts in `schema` (`marts` in the analysts' database, `main_marts` in work.duckdb)."""
    if not _has_table(con, schema, "fct_indicator_publication"):
        return None
    top = f"(SELECT area_code FROM {schema}.fct_indicator_publication ORDER BY area_level = 'county' DESC, area_code LIMIT 1)"
    latest = con.execute(f"SELECT max(period_year) FROM {schema}.fct_indicator_publication").fetchone()[0]
    summary = PublicationSummary(latest_year=latest)
    if latest is None:
        return summary
    rows = con.execute(
        f"""SELECT p.publication_status, p.indicator_code, coalesce(d.name_zh, p.indicator_code), coalesce(p.reason_zh, '')
            FROM {schema}.fct_indicator_publication p
            LEFT JOIN {schema}.dim_indicator d USING (indicator_code)
            WHERE p.period_year = ? AND p.area_code = {top}
            ORDER BY p.indicator_code""", [latest]).fetchall()
    for status, code, name, reason in rows:
        summary.counts[status] = summary.counts.get(status, 0) + 1
        if status == "withheld":
            summary.withheld.append((code, name, reason))
        elif status == "published_incomplete":
            summary.incomplete.append((code, name, reason))
    summary.earlier_withheld = dict(con.execute(
        f"""SELECT period_year, count(*) FROM {schema}.fct_indicator_publication
            WHERE publication_status = 'withheld' AND period_year < ? AND area_code = {top}
            GROUP BY 1 ORDER BY 1""", [latest]).fetchall())
    if _has_table(con, schema, "fct_reporting_completeness"):
        summary.feeds_missing = con.execute(
            f"""SELECT feed_name_zh, status_zh FROM {schema}.fct_reporting_completeness
                WHERE period_year = ? AND area_code = {top} AND status <> 'received' ORDER BY feed_code""",
            [latest]).fetchall()
    return summary


def format_summary(summary: PublicationSummary, listed: int = LISTED) -> str:
    """Chinese first, English beside: the lines the CLI prints after a run."""
    if summary.latest_year is None:
        return "尚无可发布的指标 / nothing to publish yet"
    year, c = summary.latest_year, summary.counts
    total = sum(c.values())
    verdict = "部分发布 / PARTIAL publication" if summary.is_partial else "全部发布 / complete publication"
    lines = [f"{year}年度指标发布情况：{verdict} — 已发布 {c.get('published', 0)}，"
             f"覆盖不全 {c.get('published_incomplete', 0)}，扣发 {c.get('withheld', 0)}（共 {total} 个指标）"
             f" / published {c.get('published', 0)}, incomplete coverage {c.get('published_incomplete', 0)}, "
             f"withheld {c.get('withheld', 0)} of {total} indicators"]
    if summary.feeds_missing:
        lines.append(f"  {year}年度未到或不可用的报送 / inputs missing: "
                     + "；".join(f"{name}（{status}）" for name, status in summary.feeds_missing))
    for zh, en, items in (("扣发", "withheld", summary.withheld), ("覆盖不全", "incomplete coverage", summary.incomplete)):
        for code, name, reason in items[:listed]:
            lines.append(f"  [{zh}] {name} ({code})：{reason}")
        if len(items) > listed:
            lines.append(f"  …另有 {len(items) - listed} 个{zh}指标 / {len(items) - listed} more {en}")
    if summary.earlier_withheld:
        lines.append("  以前年度扣发 / withheld in earlier years: "
                     + "，".join(f"{y}年 {n} 个" for y, n in summary.earlier_withheld.items()))
    if summary.withheld or summary.incomplete:
        lines.append("  明细见 / details: marts.fct_indicator_publication, marts.fct_reporting_completeness")
    return "\n".join(lines)
