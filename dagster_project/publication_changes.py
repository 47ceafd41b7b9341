"""What changed since the previous publication: recorded in every new snapshot, printed at the end of a run.

When `publish` builds a new analysts' database it attaches the one it is about to replace (read-only) and writes
`meta.publication_changes`, one row per published figure or publication status that differs:

* `value_new`: a figure (indicator, year, area, sex, age group, residence) the previous snapshot did not have;
* `value_revised`: a figure whose value differs (compared to 6 decimals, the precision the marts round to);
* `value_removed`: a figure the previous snapshot had and this one does not (e.g. its input was rejected since);
* `status_changed`: an indicator's publication status for a year and area changed (e.g. 扣发 → 已发布);
* `file_loaded`: a file loaded (ledger status `loaded`) since the previous snapshot.

The first publication records nothing and says so (`meta.publication.previous_publication_id` is NULL). Analysts
read the table like any other; `summarise` turns it into the lines `cli run` prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

FIGURE_KEY = ("indicator_code", "period_year", "area_code", "sex", "age_group_code", "residence")
STATUS_KEY = ("indicator_code", "period_year", "area_code")
LISTED = 5

_CREATE = """
CREATE TABLE meta.publication_changes (
    change_kind VARCHAR NOT NULL, indicator_code VARCHAR, period_year INTEGER, area_code VARCHAR, area_level VARCHAR,
    sex VARCHAR, age_group_code VARCHAR, residence VARCHAR, previous_value DOUBLE, value DOUBLE,
    previous_status VARCHAR, status VARCHAR, previous_status_zh VARCHAR, status_zh VARCHAR, source_file VARCHAR
)"""
_COMMENT = ("COMMENT ON TABLE meta.publication_changes IS '与上一次发布相比的变化：新增、修订、不再发布的数值，发布状态变化，"
            "新加载的文件。What changed since the previous snapshot (empty for the first publication).'")


def _has(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
                       "AND table_name = ?", [catalog, schema, table]).fetchone()[0] > 0


def record_changes(con: duckdb.DuckDBPyConnection, previous_catalog: str | None) -> None:
    """Write meta.publication_changes into the new snapshot `con` against the attached `previous_catalog`."""
    con.execute(_CREATE)
    con.execute(_COMMENT)
    if previous_catalog is None:
        return
    new_cat = con.execute("SELECT current_database()").fetchone()[0]
    prev = f'"{previous_catalog}"'
    if _has(con, previous_catalog, "marts", "fct_indicator_values") and _has(con, new_cat, "marts", "fct_indicator_values"):
        on = " AND ".join(f"n.{k} IS NOT DISTINCT FROM p.{k}" for k in FIGURE_KEY)
        cols = ", ".join(f"coalesce(n.{k}, p.{k}) AS {k}" for k in FIGURE_KEY)
        con.execute(f"""
            INSERT INTO meta.publication_changes BY NAME
            SELECT CASE WHEN p.indicator_code IS NULL THEN 'value_new'
                        WHEN n.indicator_code IS NULL THEN 'value_removed' ELSE 'value_revised' END AS change_kind,
                   {cols}, coalesce(n.area_level, p.area_level) AS area_level, p.value AS previous_value, n.value AS value
            FROM marts.fct_indicator_values n
            FULL JOIN {prev}.marts.fct_indicator_values p ON {on}
            WHERE p.indicator_code IS NULL OR n.indicator_code IS NULL
               OR round(n.value, 6) IS DISTINCT FROM round(p.value, 6)""")
    if _has(con, previous_catalog, "marts", "fct_indicator_publication") and _has(con, new_cat, "marts", "fct_indicator_publication"):
        on = " AND ".join(f"n.{k} IS NOT DISTINCT FROM p.{k}" for k in STATUS_KEY)
        con.execute(f"""
            INSERT INTO meta.publication_changes BY NAME
            SELECT 'status_changed' AS change_kind, coalesce(n.indicator_code, p.indicator_code) AS indicator_code,
                   coalesce(n.period_year, p.period_year) AS period_year, coalesce(n.area_code, p.area_code) AS area_code,
                   coalesce(n.area_level, p.area_level) AS area_level,
                   p.publication_status AS previous_status, n.publication_status AS status,
                   p.publication_status_zh AS previous_status_zh, n.publication_status_zh AS status_zh
            FROM marts.fct_indicator_publication n
            FULL JOIN {prev}.marts.fct_indicator_publication p ON {on}
            WHERE n.publication_status IS DISTINCT FROM p.publication_status""")
    if _has(con, new_cat, "audit", "file_loads"):
        known = (f"AND load_id NOT IN (SELECT load_id FROM {prev}.audit.file_loads)"
                 if _has(con, previous_catalog, "audit", "file_loads") else "")
        con.execute(f"""
            INSERT INTO meta.publication_changes (change_kind, period_year, source_file)
            SELECT 'file_loaded', period_year, source_file FROM audit.file_loads
            WHERE status = 'loaded' {known}""")


@dataclass
class ChangeSummary:
    previous_published_at: str | None
    counts: dict[str, int] = field(default_factory=dict)
    # (indicator code, Chinese name, year, status before, status now), district level, statuses in Chinese
    status_changes: list[tuple[str, str, int, str | None, str | None]] = field(default_factory=list)
    revised_years: list[int] = field(default_factory=list)


def read_changes(con: duckdb.DuckDBPyConnection) -> ChangeSummary | None:
    """The changes recorded in a published snapshot, or None for a snapshot made before they were recorded."""
    try:
        previous = con.execute("SELECT previous_published_at FROM meta.publication").fetchone()
        rows = con.execute("SELECT change_kind, count(*) FROM meta.publication_changes GROUP BY 1").fetchall()
    except duckdb.Error:
        return None
    summary = ChangeSummary(previous_published_at=str(previous[0]) if previous and previous[0] else None,
                            counts=dict(rows))
    if summary.previous_published_at is None:
        return summary
    # District-level status changes, with the indicator's Chinese name (dim_indicator, from the catalogue).
    summary.status_changes = con.execute("""
        SELECT c.indicator_code, coalesce(d.name_zh, c.indicator_code), c.period_year,
               coalesce(c.previous_status_zh, c.previous_status), coalesce(c.status_zh, c.status)
        FROM meta.publication_changes c
        LEFT JOIN marts.dim_indicator d ON d.indicator_code = c.indicator_code
        WHERE c.change_kind = 'status_changed' AND c.area_level = 'county'
        ORDER BY c.period_year DESC, c.indicator_code""").fetchall()
    summary.revised_years = [r[0] for r in con.execute(
        "SELECT DISTINCT period_year FROM meta.publication_changes WHERE change_kind = 'value_revised' ORDER BY 1").fetchall()]
    return summary


def format_changes(summary: ChangeSummary | None, listed: int = LISTED) -> str:
    """The lines `cli run` prints: Chinese first, English beside."""
    if summary is None:
        return "与上次发布相比 / since the last publication: 未记录 / not recorded"
    if summary.previous_published_at is None:
        return "与上次发布相比 / since the last publication: 首次发布 / first publication"
    c = summary.counts
    lines = [f"与上次发布（{summary.previous_published_at}）相比 / since the last publication: "
             f"新加载文件 {c.get('file_loaded', 0)}，新增数值 {c.get('value_new', 0)}，修订 {c.get('value_revised', 0)}"
             f"，不再发布 {c.get('value_removed', 0)}，发布状态变化 {c.get('status_changed', 0)} / files loaded "
             f"{c.get('file_loaded', 0)}, figures new {c.get('value_new', 0)}, revised {c.get('value_revised', 0)}, "
             f"removed {c.get('value_removed', 0)}, publication status changed {c.get('status_changed', 0)}"]
    if summary.revised_years:
        lines.append("  修订的年度 / years revised: " + "、".join(str(y) for y in summary.revised_years))
    for _, name, year, before, after in summary.status_changes[:listed]:
        lines.append(f"  [全区 district] {name} {year}年：{before or '无 none'} → {after or '无 none'}")
    if len(summary.status_changes) > listed:
        lines.append(f"  …另有 {len(summary.status_changes) - listed} 项 / {len(summary.status_changes) - listed} more "
                     "(meta.publication_changes)")
    return "\n".join(lines)
