"""The provincial submission (省级报送) for one year, in a public and an internal variant.

Written to `$MONITOR_EXPORTS_DIR/submissions/<year>/<timestamp>/`:

  公开_省级报送_<year>.xlsx                     a sheet per domain, fixed layout, small cells protected
  公开_省级报送_<year>.csv                      the same rows in one CSV (UTF-8 with BOM)
  公开_SDMX结构_<year>.xml                      SDMX-ML 2.1 structure message: dataflow, data structure definition,
                                               concept scheme and code lists (from dbt, models/marts/sdmx)
  公开_SDMX_<year>.csv                          SDMX-CSV 2.0 of the same cells against that structure (suppressed:
                                               OBS_VALUE NaN, OBS_STATUS Q, CONF_STATUS C: the public edition does
                                               not tell primary from secondary); see exports/sdmx.py
  公开_报送情况_<year>.csv                      报送情况: each input's status and townships reporting (also a sheet
                                               of the workbook, beside the figures withheld or on incomplete coverage)
  内部使用_未做小数保护_省级报送_<year>.xlsx     the same layout, unsuppressed (sheet note 内部使用·未做小数保护)
  内部使用_未做小数保护_省级报送_<year>.csv
  内部使用_未做小数保护_SDMX_<year>.csv          every value of the year (all residences and age groups; CONF_STATUS
                                               says what the public edition suppresses, N: not in it)
  内部使用_未做小数保护_parquet/<mart>.parquet   the marts for analysts
  _snapshot/values.parquet, manifest.json      what the diff against the next submission needs (values of
                                               the year and every earlier year: late reports revise those)

and `submissions/<year>/LATEST`, a file holding the newest snapshot's folder name, points at it (no `latest`
link: on a case-insensitive share it would collide with LATEST). A run whose values, loads and settings are identical to the latest snapshot writes no new one.

Public cells: per indicator, the table area (every reported level: townships + district, or up to the
province) × sex (女/男/合计) at the residence total
and the indicator's defining age group. Counts (numerators, and the denominators a reader could derive from
a published rate and its numerator) are protected by `suppression.protect`; a rate is suppressed with any of
its counts. Every text cell of the workbooks and of the CSVs meant for spreadsheets is neutralised against
formula injection; the SDMX-CSV (read by programs) and the Parquet files carry the values unaltered.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from dagster_project import database
from dagster_project.config import Settings
from dagster_project.exports import sdmx
from dagster_project.exports.spreadsheet_safety import write_spreadsheet_csv
from dagster_project.exports.disclosure import Decisions, decide, load_decisions, read_cells, threshold_of
from dagster_project.exports.disclosure import protect_counts as protect_counts  # re-exported for callers and tests
from dagster_project.exports.worksheets import open_workbook, write_notes, write_sheet

# 2: the snapshot's values.parquet holds every year up to the submitted one (period_year column)
# 3: SDMX structure message + SDMX-CSV 2.0; the public edition marks suppressed cells without their kind
#    (a new version makes the next run write a new snapshot)
FORMAT_VERSION = 3
PUBLIC_PREFIX = "公开"
INTERNAL_PREFIX = "内部使用_未做小数保护"
INTERNAL_NOTE = "内部使用·未做小数保护"
PUBLIC_NOTE = "公开版·已做小数保护"

SEXES = [("2", "女"), ("1", "男"), ("_T", "合计")]
STATUS_NOTE = {"primary": "一次抑制", "secondary": "二次抑制"}
# The public edition says that a cell is suppressed, never why: a reader who knew which cells are primary
# (1..threshold) could pin them from the sums (four primary township counts under a district total of 4 are
# all 1). The internal edition keeps the kind (its 公开版将抑制 column).
PUBLIC_STATUS_NOTE = {"primary": "已抑制", "secondary": "已抑制"}

# Extracts whose earlier periods feed a year's values (see docs/architecture.md, "Definitions worth knowing"): screenings pool Y-2..Y.
LOOKBACK_YEARS = {"cancer_screening": 2}

INDICATORS_SQL = """
SELECT indicator_code, name_zh, name_en, plan, domain_zh, domain_en, unit, unit_label_zh AS unit_zh, unit_sdmx,
       target_short_zh AS target_text, sex_scope, age_group_code, aggregation,
       derivation, computed_from, target_operator, target_value, target_tolerance, target_year, baseline_year,
       source, target_text_zh, unit_decimals, unit_label_en
FROM main_marts.dim_indicator
ORDER BY plan_order, indicator_code
"""

AREAS_SQL = "SELECT area_code, name_zh, level, parent_code FROM main_marts.dim_area WHERE is_reported ORDER BY level_order, area_code"


@dataclass
class ProtectedYear:
    """The public cells of one year with their protection status."""

    year: int
    cells: pl.DataFrame          # indicator × area × sex with value, numerator, statuses
    indicators: pl.DataFrame
    areas: pl.DataFrame
    threshold: int


@dataclass
class SubmissionResult:
    year: int
    snapshot_dir: Path
    is_new: bool
    previous_dir: Path | None
    files: list[Path] = field(default_factory=list)


def submission_root(settings: Settings) -> Path:
    return settings.exports_dir / "submissions"


def latest_year(con: duckdb.DuckDBPyConnection) -> int | None:
    return con.execute("SELECT max(period_year) FROM main_marts.fct_indicator_values").fetchone()[0]


# the columns of a public cell the submission's tables and SDMX read
CELL_COLUMNS = ["indicator_code", "area_code", "area_level", "sex", "numerator", "denominator", "value",
                "small_numbers_flag", "zero_denominator_flag", "numerator_status", "denominator_status", "value_status"]


def protect_year(con: duckdb.DuckDBPyConnection, year: int, threshold: int | None = None,
                 decisions: Decisions | None = None) -> ProtectedYear:
    """The year's public cells with their statuses: from `decisions` (the run's, read by every public output),
    or decided now from main_marts.rpt_disclosure_cells (`threshold` overrides the model's, for tests)."""
    indicators = con.execute(INDICATORS_SQL).pl()
    areas = con.execute(AREAS_SQL).pl()
    if decisions is None:
        threshold = threshold_of(con) if threshold is None else threshold
        year_cells = read_cells(con, year)
        statuses = decide(year_cells, threshold)
        cells = year_cells.with_columns(pl.col("period_year").cast(pl.Int32)).join(
            statuses, on=["period_year", "indicator_code", "area_code", "sex"], how="left")
    else:
        threshold = decisions.threshold
        cells = decisions.of_year(year)
    return ProtectedYear(year=year, cells=cells.select(CELL_COLUMNS), indicators=indicators, areas=areas,
                         threshold=threshold)


def _warning_status(con, year: int) -> pl.DataFrame:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main_marts' AND table_name = 'fct_early_warnings'"
    ).fetchone()[0]
    if not exists:
        return pl.DataFrame(schema={"indicator_code": pl.String, "area_code": pl.String, "assessed_sex": pl.String,
                                    "effective_target": pl.Float64, "status_zh": pl.String})
    return con.execute(
        "SELECT indicator_code, area_code, sex AS assessed_sex, effective_target, status_zh "
        "FROM main_marts.fct_early_warnings WHERE as_of_year = ?", [year]).pl()


def submission_table(con: duckdb.DuckDBPyConnection, protected: ProtectedYear, public: bool) -> pl.DataFrame:
    """The fixed layout: one row per indicator × area, 女/男/合计 values, target, status (and counts)."""
    cells = protected.cells
    if public:
        hide = pl.col("value_status") != "published"
        hide_n = pl.col("numerator_status").is_in(["primary", "secondary"])
        cells = cells.with_columns(
            pl.when(hide).then(None).otherwise(pl.col("value")).alias("value"),
            pl.when(hide_n).then(None).otherwise(pl.col("numerator")).alias("numerator"),
        )
    wide = None
    for sex, label in SEXES:
        part = cells.filter(pl.col("sex") == sex).select(
            "indicator_code", "area_code",
            pl.col("value").alias(label),
            pl.col("numerator").alias(f"{label}·分子"),
            pl.col("value_status").alias(f"_{label}_status"),
            pl.col("numerator_status").alias(f"_{label}_nstatus"),
        )
        wide = part if wide is None else wide.join(part, on=["indicator_code", "area_code"], how="full", coalesce=True)
    warnings = _warning_status(con, protected.year)
    ind = protected.indicators.with_columns(
        pl.int_range(pl.len()).alias("_ind_order"),
    )
    areas = protected.areas.with_columns(pl.int_range(pl.len()).alias("_area_order"))
    frame = (
        wide.join(ind, on="indicator_code", how="left")
        .join(areas.select("area_code", pl.col("name_zh").alias("area_name"), "_area_order"), on="area_code", how="left")
        .join(warnings, on=["indicator_code", "area_code"], how="left")
    )
    # the status refers to the assessed sex; in the public variant it is withheld with a suppressed value
    assessed_label = pl.when(pl.col("assessed_sex") == "2").then(pl.lit("女")).otherwise(pl.lit("合计"))
    assessed_hidden = (
        pl.when(pl.col("assessed_sex") == "2").then(pl.col("_女_status")).otherwise(pl.col("_合计_status")) != "published"
    )
    status = pl.col("status_zh")
    if public:
        status = pl.when(assessed_hidden.fill_null(False)).then(pl.lit("—（小数保护）")).otherwise(status)
    notes = []
    for _, label in SEXES:
        notes.append(
            pl.when(pl.col(f"_{label}_status").is_in(["primary", "secondary"]))
            .then(pl.lit(f"{label}") + pl.col(f"_{label}_status").replace_strict(
                PUBLIC_STATUS_NOTE if public else STATUS_NOTE, default=""))
            .otherwise(None)
        )
    target = pl.col("effective_target")
    if public:
        # relative targets compare with each area's own baseline: their effective target is a past value
        # (possibly from a small count), so the public variant shows only absolute targets
        absolute = pl.col("target_value").is_not_null() & ~pl.col("target_operator").is_in(
            ["increase", "decrease", "pct_change_vs_baseline"])
        target = pl.when(absolute).then(target).otherwise(None)
    frame = frame.with_columns(
        target.alias("target_out"),
        status.alias("status_out"),
        pl.concat_str(notes, separator="；", ignore_nulls=True).replace("", None).alias("protection_note"),
        assessed_label.alias("assessed_label"),
    ).sort("_ind_order", "_area_order")
    out = frame.select(
        pl.col("domain_zh").alias("领域 Domain"),
        pl.col("indicator_code").alias("指标代码 Code"),
        pl.col("name_zh").alias("指标名称 Indicator"),
        pl.col("unit_zh").alias("单位 Unit"),
        pl.col("area_code").alias("地区代码 Area code"),
        pl.col("area_name").alias("地区 Area"),
        pl.col("女").alias("女 Female"),
        pl.col("男").alias("男 Male"),
        pl.col("合计").alias("合计 Total"),
        pl.col("target_text").alias("目标 Target"),
        pl.col("target_out").alias("目标值 Target value"),
        pl.col("status_out").alias("达标状态 Status"),
        pl.col("女·分子").alias("女·分子 Female numerator"),
        pl.col("男·分子").alias("男·分子 Male numerator"),
        pl.col("合计·分子").alias("合计·分子 Total numerator"),
        pl.col("protection_note").alias("小数保护 Suppression"),
    )
    if not public:
        out = out.drop("小数保护 Suppression").with_columns(
            frame["protection_note"].alias("公开版将抑制 Suppressed in public"))
    return out


def sdmx_frame(con: duckdb.DuckDBPyConnection, protected: ProtectedYear, public: bool) -> pl.DataFrame:
    """The SDMX observations of the year (rpt_sdmx_observations: key, TIME_PERIOD, unit, period basis and
    observation status, all from dbt) with the confidentiality this submission's protection gives them.
    Public: the protected cells only, a suppressed one without its value (OBS_STATUS Q, CONF_STATUS C/D).
    Internal: every value of the year; CONF_STATUS says what the public edition suppresses (N: not in it)."""
    key = ["indicator_code", "area_code", "sex", "age_group_code", "residence"]
    observations = sdmx.observations(con, protected.year)
    statuses = protected.cells.select("indicator_code", "area_code", "sex", "value_status").join(
        protected.indicators.select("indicator_code", "age_group_code"), on="indicator_code", how="left",
    ).with_columns(pl.lit("_T").alias("residence"))
    if public:
        rows = statuses.join(observations, on=key, how="left")
        unmatched = rows.filter(pl.col("ref_area").is_null())
        if unmatched.height:  # every public cell is a value of fct_indicator_values: a broken join, never data
            raise ValueError(f"{unmatched.height} public cells have no SDMX observation, e.g. {unmatched.row(0)}")
    else:
        rows = observations.join(statuses, on=key, how="left")
    conf = sdmx.conf_status_codes(con)
    hidden = pl.col("value_status").is_in(["primary", "secondary"])
    status = pl.col("value_status").fill_null("not_public")
    if public:
        # every suppressed cell is marked as the primary ones are: telling secondary apart (D) would show which
        # cells are the small counts themselves, and the sums would then pin them (tests/disclosure_attack.py)
        status = pl.when(status == "secondary").then(pl.lit("primary")).otherwise(status)
    rows = rows.with_columns(status.replace_strict(conf).alias("conf_status"))
    if public:
        rows = rows.with_columns(
            pl.when(hidden).then(None).otherwise(pl.col("obs_value")).alias("obs_value"),
            pl.when(hidden).then(pl.lit(sdmx.suppressed_obs_status(con))).otherwise(pl.col("obs_status"))
            .alias("obs_status"),
        )
    return rows.select(*sdmx.OBSERVATION_COLUMNS.values()).sort(
        "indicator", "ref_area", "sdmx_sex", "age", "urbanisation")


def completeness_tables(con: duckdb.DuckDBPyConnection, year: int, public: bool) -> dict[str, pl.DataFrame]:
    """报送情况 (what was received for the year, from how many townships) and the figures withheld or on
    incomplete coverage, as the marts say (fct_reporting_completeness, fct_indicator_publication). The public
    edition leaves out row counts: a small register (cases, maternal deaths) would reveal a small count."""
    district = con.execute("SELECT area_code FROM main_marts.fct_indicator_publication "
                           "ORDER BY area_level = 'county' DESC, area_code LIMIT 1").fetchone()
    district = district[0] if district else None
    # shaped in dbt (rpt_report_completeness, rpt_report_publication_exceptions: the report shows the same)
    received = con.execute(
        """SELECT feed_name_zh, status_zh, townships_reporting, townships_expected, reporting_rate_percent, rows_usable
           FROM main_marts.rpt_report_completeness WHERE period_year = ? AND area_code = ?
           ORDER BY feed_kind, feed_code""", [year, district]).pl()
    received = received.select(
        pl.col("feed_name_zh").alias("报送数据 Input"), pl.col("status_zh").alias("状态 Status"),
        pl.when(pl.col("townships_expected").is_not_null())
        .then(pl.format("{}/{}", "townships_reporting", "townships_expected")).alias("报送乡镇 Townships reporting"),
        pl.col("reporting_rate_percent").alias("报送率% Reporting rate"), pl.col("rows_usable").alias("可用记录 Usable rows"))
    if public:
        received = received.drop("可用记录 Usable rows")
    withheld = con.execute(
        """SELECT indicator_code AS "指标代码 Code", name_zh AS "指标名称 Indicator",
                  publication_status_zh AS "状态 Status", reason_zh AS "原因 Reason"
           FROM main_marts.rpt_report_publication_exceptions WHERE period_year = ? AND area_code = ?
           ORDER BY publication_status DESC, indicator_code""", [year, district]).pl()
    return {"报送情况 Completeness": received, "扣发与覆盖不全 Withheld": withheld}


# The reporting rate is a percentage: it shows the decimals the unit seed gives percentages.
PERCENT_DECIMALS_SQL = "SELECT decimals FROM main_seeds.unit_labels WHERE unit = 'percent'"
DECIMALS = "_unit_decimals"


def notes_rows(public: bool, threshold: int, unit_decimals: list[tuple[str, str, int]]) -> list[tuple[str, str, str]]:
    """The 说明 Notes sheet below the title: what the edition holds and what each mark means;
    `unit_decimals` the (unit in Chinese, in English, decimals) of the indicators."""
    shown_zh = "，".join(f"{zh} {places} 位" for zh, _, places in unit_decimals)
    shown_en = ", ".join(f"{en} {places}" for _, en, places in unit_decimals)
    if public:
        edition = [
            ("小数保护 Suppression",
             f"1至{threshold}的计数及由其计算的率已抑制（一次抑制），并做二次抑制使其无法由行列合计推算；"
             "公开版只标“已抑制”，不区分一次抑制和二次抑制（否则可据此推算）。",
             f"Counts from 1 to {threshold}, and rates computed from them, are suppressed (primary); further cells are "
             "suppressed so that none can be recovered from row or column totals (secondary). The public edition "
             "marks both the same way: telling them apart would let a reader recover the primary ones."),
            ("空白单元格 Empty cell", "被抑制的数值或分子，或无数据；原因见“小数保护 Suppression”列。",
             "A suppressed value or numerator, or no data; the Suppression column says which."),
            ("女已抑制 / 合计已抑制 …", "“小数保护”列：哪个性别的数值被抑制。",
             "Suppression column: which sex's value is suppressed."),
            ("—（小数保护）", "达标状态所依据的数值被抑制，状态一并不公布。",
             "The status is withheld with the suppressed value it is based on."),
        ]
    else:
        edition = [
            ("内部使用 Internal", "未做小数保护，含全部计数，不得对外公布。",
             "No small-cell protection: every count is shown. Not for publication."),
            ("公开版将抑制 Suppressed in public", "标出公开版中被抑制的单元格（一次抑制或二次抑制）。",
             "Marks the cells the public edition suppresses (primary or secondary)."),
        ]
    return [
        *edition,
        ("版式 Layout", "版式固定：指标代码、指标名称、单位、地区、女、男、合计、目标、达标状态；其后为分子（人数/事件数）。",
         "Fixed layout: code, indicator, unit, area, female, male, total, target, status; then the numerators."),
        ("小数位 Decimals", f"数值按单位显示小数位（{shown_zh}）；完整精度见同目录的 CSV。",
         f"Values show the decimals of their unit ({shown_en}); the CSV beside this workbook has full precision."),
        ("以 ' 开头的文字 Text starting with '", "原文以 =、+、-、@ 开头，为防止电子表格把它当作公式执行，前面加了 '。",
         "The text began with =, +, - or @; the apostrophe keeps a spreadsheet from running it as a formula."),
        ("生成时间 Generated", dt.datetime.now().replace(microsecond=0).isoformat(), ""),
    ]


def _value_formats() -> dict:
    """Values and targets with their unit's decimals; numerators as integers (a GPI's are rates)."""
    unit_decimals = pl.col(DECIMALS).fill_null(2)  # an indicator whose unit has no seed row: two decimals
    formats: dict = {c: unit_decimals for c in ("女 Female", "男 Male", "合计 Total", "目标值 Target value")}
    for column in ("女·分子 Female numerator", "男·分子 Male numerator", "合计·分子 Total numerator"):
        formats[column] = pl.when(pl.col(column) == pl.col(column).round(0)).then(0).otherwise(unit_decimals)
    return formats


def _write_workbook(table: pl.DataFrame, path: Path, year: int, public: bool, threshold: int,
                    completeness: dict[str, pl.DataFrame], indicators: pl.DataFrame, percent_decimals: int) -> None:
    """The workbook; `indicators` (dim_indicator rows) give each row's decimals, from the unit seed."""
    note = PUBLIC_NOTE if public else INTERNAL_NOTE
    decimals = dict(indicators.select("indicator_code", "unit_decimals").iter_rows())
    units = (indicators.select(pl.col("unit_zh").alias("unit"), "unit_label_en",
                               "unit_decimals").unique().drop_nulls().sort("unit_decimals", "unit").rows())
    table = table.with_columns(
        pl.col("指标代码 Code").replace_strict(decimals, default=None, return_dtype=pl.Int64).alias(DECIMALS))
    with open_workbook(path) as workbook:
        # rows 1-2: the title and the edition (内部使用 is the first thing a reader sees)
        write_notes(workbook, "说明 Notes", notes_rows(public, threshold, units),
                    title=[f"双清区妇女儿童发展规划监测 · 省级报送 {year}年 / Provincial submission {year}", note])
        for name, frame in completeness.items():
            for written in write_sheet(frame, workbook, name, formats={"报送率% Reporting rate": percent_decimals}):
                sheet = workbook.get_worksheet_by_name(written)
                sheet.set_header(f"&C{note}")
        for (domain,), part in table.partition_by("领域 Domain", as_dict=True, maintain_order=True).items():
            name = re.sub(r"[\[\]:*?/\\]", "", domain)[:31]
            for written in write_sheet(part, workbook, name, formats=_value_formats()):
                sheet = workbook.get_worksheet_by_name(written)
                sheet.set_header(f"&C{note}")
                sheet.set_footer(f"&L{note}&R{year}")


def _current_loads(con) -> list[dict]:
    return [
        dict(zip(("load_id", "extract", "source_department", "period_year", "source_file", "sha256"), r))
        for r in con.execute(
            "SELECT load_id, extract, source_department, period_year, source_file, sha256 FROM audit.file_loads "
            "WHERE is_current ORDER BY extract, source_department, period_year").fetchall()
    ]


def snapshot_values(con, year: int) -> pl.DataFrame:
    """The internal values of the year and of every earlier year, as kept for the next diff.

    Earlier years too: a late report (an event of an earlier statistical year in a later file, see
    marts.fct_late_reported_events) revises the year it happened in, and the diff must show that revision
    of data already submitted. A change of an earlier year also makes the year's submission a new one.
    """
    return con.execute(
        "SELECT period_year, indicator_code, area_code, sex, age_group_code, residence, numerator, denominator, value "
        "FROM main_marts.fct_indicator_values WHERE period_year <= ? "
        "ORDER BY period_year, indicator_code, area_code, sex, age_group_code, residence", [year]).pl()


def _fingerprint(values: pl.DataFrame, loads: list[dict], threshold: int) -> str:
    digest = hashlib.sha256()
    digest.update(f"v{FORMAT_VERSION};threshold={threshold};".encode())
    digest.update(values.write_csv().encode())
    digest.update(json.dumps(loads, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def latest_snapshot(settings: Settings, year: int) -> Path | None:
    pointer = submission_root(settings) / str(year) / "LATEST"
    if not pointer.exists():
        return None
    path = pointer.parent / pointer.read_text(encoding="utf-8").strip()
    return path if (path / "manifest.json").exists() else None


def _set_latest(year_dir: Path, name: str) -> None:
    """Point LATEST (a file holding the snapshot's folder name) at the new snapshot, atomically.

    LATEST is the only pointer: a `latest` symlink beside it (written by earlier versions) is the same name
    on a case-insensitive file system such as a Windows share, where the two collide; one left over is removed.
    """
    tmp = year_dir / f".LATEST.{uuid.uuid4().hex}"
    tmp.write_text(name + "\n", encoding="utf-8")
    tmp.replace(year_dir / "LATEST")
    _remove_leftover_link(year_dir)


def _remove_leftover_link(year_dir: Path) -> None:
    leftover = year_dir / "latest"
    if leftover.is_symlink():  # never a real folder or file someone put there
        leftover.unlink()


def write_submission(settings: Settings, year: int | None = None, con: duckdb.DuckDBPyConnection | None = None,
                     now: dt.datetime | None = None) -> SubmissionResult:
    own = con is None
    con = con or database.connect(str(settings.work_db), read_only=True)
    try:
        year = year or latest_year(con)
        if year is None:
            raise ValueError("no indicator values in the warehouse: nothing to submit")
        # the run's disclosure decisions (the same statuses the indicator export reads)
        decisions = load_decisions(con, settings.data_dir)
        threshold = decisions.threshold
        values = snapshot_values(con, year)
        loads = _current_loads(con)
        fingerprint = _fingerprint(values, loads, threshold)
        year_dir = submission_root(settings) / str(year)
        previous = latest_snapshot(settings, year)
        _remove_leftover_link(year_dir)
        if previous is not None:
            manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("fingerprint") == fingerprint:
                return SubmissionResult(year, previous, False, _previous_of(previous), sorted(previous.rglob("*.*")))
        # the folder name is the submission time; LATEST and each manifest's "previous" give the order
        stamp = (now or dt.datetime.now()).strftime("%Y%m%dT%H%M%S")
        name = stamp
        suffix = 1
        while (year_dir / name).exists():
            name = f"{stamp}_{suffix}"
            suffix += 1
        year_dir.mkdir(parents=True, exist_ok=True)
        staging = year_dir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            protected = protect_year(con, year, decisions=decisions)
            files = _write_files(con, protected, staging)
            (staging / "_snapshot").mkdir()
            values.write_parquet(staging / "_snapshot" / "values.parquet")
            manifest = {
                "year": year, "snapshot": name, "previous": previous.name if previous else None,
                "created_at": dt.datetime.now().replace(microsecond=0).isoformat(),
                "small_cell_threshold": threshold, "format_version": FORMAT_VERSION, "fingerprint": fingerprint,
                "current_loads": loads,
                "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()},
                "suppressed_cells": {
                    "primary": int((protected.cells["value_status"] == "primary").sum()),
                    "secondary": int((protected.cells["value_status"] == "secondary").sum()),
                    "public_cells": protected.cells.height,
                },
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                                                   encoding="utf-8")
            staging.rename(year_dir / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _set_latest(year_dir, name)
        final = year_dir / name
        return SubmissionResult(year, final, True, previous, sorted(p for p in final.rglob("*") if p.is_file()))
    finally:
        if own:
            con.close()


def _previous_of(snapshot: Path) -> Path | None:
    manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    name = manifest.get("previous")
    return snapshot.parent / name if name else None


def _write_files(con, protected: ProtectedYear, out: Path) -> list[Path]:
    year = protected.year
    files = []
    percent_decimals = con.execute(PERCENT_DECIMALS_SQL).fetchone()[0]
    # one structure for both editions: it holds code lists and names, no figures
    structure = sdmx.write_structure(sdmx.read_structure(con), out / f"{PUBLIC_PREFIX}_SDMX结构_{year}.xml")
    files.append(structure)
    for public, prefix in ((True, PUBLIC_PREFIX), (False, INTERNAL_PREFIX)):
        table = submission_table(con, protected, public)
        completeness = completeness_tables(con, year, public)
        xlsx = out / f"{prefix}_省级报送_{year}.xlsx"
        _write_workbook(table, xlsx, year, public, protected.threshold, completeness, protected.indicators,
                        percent_decimals)
        csv = out / f"{prefix}_省级报送_{year}.csv"
        write_spreadsheet_csv(table, csv)
        reporting = out / f"{prefix}_报送情况_{year}.csv"
        write_spreadsheet_csv(completeness["报送情况 Completeness"], reporting)
        files.append(reporting)
        data = out / f"{prefix}_SDMX_{year}.csv"
        sdmx.write_data(sdmx_frame(con, protected, public), structure, data)
        files += [xlsx, csv, data]
    parquet_dir = out / f"{INTERNAL_PREFIX}_parquet"
    parquet_dir.mkdir()
    marts = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main_marts' ORDER BY 1").fetchall()]
    for mart in marts:
        target = parquet_dir / f"{mart}.parquet"
        quoted = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM main_marts.\"{mart}\") TO '{quoted}' (FORMAT parquet)")
        files.append(target)
    return files
