"""The annual monitoring report (年度监测报告): one self-contained HTML file per year.

    write_annual_report(settings, year=None) -> $MONITOR_EXPORTS_DIR/reports/内部使用_年度监测报告_<year>.html

The report is internal (for the working committee: it shows every count, no small-cell protection), so it is
named and marked 内部使用 - in the file name, the title, a banner and the header of every printed page. What
may be published is the public edition of the provincial submission and of the indicator export (README:
公开与内部 · What is public).

`python -m dagster_project.report --year 2024` writes it from the command line.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from dagster_project import database
from dagster_project.config import Settings

INTERNAL_PREFIX = "内部使用_"


def report_path(settings: Settings, year: int) -> Path:
    return settings.reports_dir / f"{INTERNAL_PREFIX}年度监测报告_{year}.html"


def write_annual_report(settings: Settings, year: int | None = None, con: duckdb.DuckDBPyConnection | None = None,
                        generated_at: dt.datetime | None = None) -> Path:
    from dagster_project.report.data import available_years, load_report_data
    from dagster_project.report.render import render_report

    own = con is None
    con = con or database.connect(str(settings.work_db), read_only=True)
    try:
        years = available_years(con)
        if not years:
            raise ValueError("no indicator values in the warehouse: run the pipeline first")
        year = year or years[-1]
        html = render_report(load_report_data(con, year), generated_at)
    finally:
        if own:
            con.close()
    path = report_path(settings, year)
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / path.name.removeprefix(INTERNAL_PREFIX)).unlink(missing_ok=True)  # an earlier version's unmarked name
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
