"""The statistical compendium (统计资料) of the latest year with data, in two editions.

    write_compendium(settings) -> CompendiumResult
        $MONITOR_EXPORTS_DIR/reports/公开_统计资料_<year>.xlsx / .html / .pdf      small cells protected as
                                                                               in the provincial submission
        $MONITOR_EXPORTS_DIR/reports/内部使用_统计资料_<year>.xlsx / .html / .pdf  unprotected, marked 内部使用
                                                                               in its name, title and every sheet/page

Content comes from dbt (marts.rpt_compendium_*: table numbers, titles, units, rows, footnotes, 指标解释,
labels); protection from exports.compendium_protection (the submission's); this module only writes the
files. Without Chromium the PDFs are skipped and `CompendiumResult.pdf_note` says why; the XLSX and HTML
are written either way.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import database
from dagster_project.config import Settings
from dagster_project.report.compendium_data import EDITIONS, load_compendium, printed_tables
from dagster_project.report.compendium_html import render_compendium_html
from dagster_project.report.compendium_xlsx import write_compendium_xlsx
from dagster_project.report.pdf import print_many

NAME = "统计资料"
EDITION_NAMES = {"public": "公开", "internal": "内部使用"}


@dataclass
class CompendiumResult:
    year: int
    files: dict[str, dict[str, Path]] = field(default_factory=dict)   # edition -> {xlsx, html, pdf}
    pdf_note: str | None = None                                       # why there is no PDF, if there is none
    tables: int = 0


def compendium_paths(settings: Settings, year: int, edition: str) -> dict[str, Path]:
    # the edition first, as every public (公开_) and internal (内部使用_) file of the exports is named
    stem = settings.reports_dir / f"{EDITION_NAMES[edition]}_{NAME}_{year}"
    return {suffix: stem.with_suffix(f".{suffix}") for suffix in ("xlsx", "html", "pdf")}


def write_compendium(settings: Settings, con: duckdb.DuckDBPyConnection | None = None,
                     generated_at: dt.datetime | None = None, pdf: bool = True) -> CompendiumResult:
    own = con is None
    con = con or database.connect(str(settings.work_db), read_only=True)
    try:
        book = load_compendium(con, settings.small_cell_threshold)
    finally:
        if own:
            con.close()
    result = CompendiumResult(year=book.year, tables=book.tables.height)
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    for edition in EDITIONS:
        paths = compendium_paths(settings, book.year, edition)
        tables = printed_tables(book, edition)
        write_compendium_xlsx(book, tables, edition, paths["xlsx"])
        tmp = paths["html"].with_name(paths["html"].name + ".tmp")
        tmp.write_text(render_compendium_html(book, tables, edition, generated_at), encoding="utf-8")
        tmp.replace(paths["html"])
        result.files[edition] = {"xlsx": paths["xlsx"], "html": paths["html"]}
    if pdf:
        jobs = [(compendium_paths(settings, book.year, e)["html"], compendium_paths(settings, book.year, e)["pdf"])
                for e in EDITIONS]
        printed = print_many(jobs)
        for edition, (_, pdf_path) in zip(EDITIONS, jobs):
            if printed[pdf_path] is None:
                result.files[edition]["pdf"] = pdf_path
            else:
                result.pdf_note = printed[pdf_path]
                pdf_path.unlink(missing_ok=True)  # never leave an older PDF beside newer tables
    return result
