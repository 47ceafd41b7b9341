"""The provincial submission (省级报送) for one year, in a public and an internal variant.

Written to `$MONITOR_EXPORTS_DIR/submissions/<year>/<timestamp>/`:

  公开_省级报送_<year>.xlsx                     a sheet per domain, fixed layout, small cells protected
  公开_省级报送_<year>.csv                      the same rows in one CSV (UTF-8 with BOM)
  公开_SDMX_<year>.csv                          SDMX-CSV of the same cells (CONF_STATUS C/D on suppressed ones)
  公开_报送情况_<year>.csv                      报送情况: each input's status and townships reporting (also a sheet
                                               of the workbook, beside the figures withheld or on incomplete coverage)
  内部使用_未做小数保护_省级报送_<year>.xlsx     the same layout, unsuppressed (sheet note 内部使用·未做小数保护)
  内部使用_未做小数保护_省级报送_<year>.csv
  内部使用_未做小数保护_SDMX_<year>.csv          every value of the year (all residences and age groups)
  内部使用_未做小数保护_parquet/<mart>.parquet   the marts for analysts
  _snapshot/values.parquet, manifest.json      what the diff against the next submission needs (values of
                                               the year and every earlier year: late reports revise those)

and `submissions/<year>/LATEST` (plus a `latest` symlink where the file system allows) names the newest
snapshot. A run whose values, loads and settings are identical to the latest snapshot writes no new one.

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
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from dagster_project import database
from dagster_project.config import Settings
from dagster_project.exports.spreadsheet_safety import write_spreadsheet_csv
from dagster_project.exports.suppression import Line, protect
from dagster_project.exports.worksheets import open_workbook, write_notes, write_sheet

# 2: the snapshot's values.parquet holds every year up to the submitted one (period_year column)
FORMAT_VERSION = 2
PUBLIC_PREFIX = "公开"
INTERNAL_PREFIX = "内部使用_未做小数保护"
INTERNAL_NOTE = "内部使用·未做小数保护"
PUBLIC_NOTE = "公开版·已做小数保护"
DATAFLOW = "CN_430502:WCH_PLAN_MONITORING(1.0)"

SEXES = [("2", "女"), ("1", "男"), ("_T", "合计")]
SEX_SDMX = {"1": "M", "2": "F", "_T": "_T", "0": "_U", "9": "_N"}
URBANISATION_SDMX = {"_T": "_T", "urban": "U", "rural": "R"}
STATUS_NOTE = {"primary": "一次抑制", "secondary": "二次抑制"}

# Extracts whose earlier periods feed a year's values (see docs/architecture.md, "Definitions worth knowing"): screenings pool Y-2..Y.
LOOKBACK_YEARS = {"cancer_screening": 2}

CELLS_SQL = """
SELECT v.indicator_code, v.area_code, v.area_level, v.sex, v.numerator, v.denominator, v.value,
       v.small_numbers_flag, v.zero_denominator_flag
FROM main_marts.fct_indicator_values v
JOIN main_marts.dim_indicator i ON i.indicator_code = v.indicator_code AND i.age_group_code = v.age_group_code
JOIN main_marts.dim_area a ON a.area_code = v.area_code AND a.is_reported
WHERE v.period_year = ? AND v.residence = '_T' AND v.sex IN ('1', '2', '_T')
"""

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


def _is_count_like(ind: dict) -> bool:
    return ind["aggregation"] == "sum" and not ind["derivation"] and ind["unit"] != "years"


def _children(areas: pl.DataFrame) -> dict[str, list[str]]:
    """Reported area -> its reported child areas (the hierarchy the public table's sums follow).

    A district warehouse has one county and its townships; a province's has the province, its
    prefectures, counties and townships: every level is a total of the level below.
    """
    reported = set(areas["area_code"].to_list())
    children: dict[str, list[str]] = {}
    for row in areas.iter_rows(named=True):
        parent = row["parent_code"]
        if parent in reported:
            children.setdefault(parent, []).append(row["area_code"])
    return children


def protect_counts(measure: dict[tuple[str, str], float], areas: list[str], children: dict[str, list[str]],
                 sexes: list[str], threshold: int):
    """Protect one area × sex table of counts; returns {(area, sex): 'primary'|'secondary'|'published'}.

    `protect` handles two-way tables (each cell in at most two sums). A hierarchy (province →
    prefectures → counties → townships) puts a middle area in three: its parent's, its own and its
    sex total. So it is protected as linked two-way tables, one per area with children (that area and
    its children × sex), repeated until no table adds a suppression: a cell suppressed in one table
    is suppressed in every table that holds it (the modular method of τ-ARGUS). A district is one
    such table.
    """
    present = {area for area, _ in measure}
    # an indicator reported for higher levels only (some form items) has no rows below them and no sums
    rows = [a for a in areas if a in present]
    value = {(area, sex): float(measure.get((area, sex)) or 0.0) for area in rows for sex in sexes}
    tables: list[list[str]] = []  # [parent, *children]
    in_a_table: set[str] = set()
    for parent in rows:
        kids = [c for c in children.get(parent, []) if c in present]
        if kids:
            tables.append([parent, *kids])
            in_a_table.update([parent, *kids])
    tables += [[a] for a in rows if a not in in_a_table]

    def sub_table(members: list[str]):
        values = {(a, s): value[(a, s)] for a in members for s in sexes}
        fixed: set = set()
        lines: list[Line] = []
        parent, kids = members[0], members[1:]
        sheet = list(members)
        # a reader also knows (or must be assumed to know) what sums do not show: persons of unknown
        # sex and persons outside every child area; they enter the lines as fixed cells
        if kids:
            other = f"~other:{parent}"
            sheet.append(other)
            for sex in sexes:
                values[(other, sex)] = value[(parent, sex)] - sum(value[(c, sex)] for c in kids)
                fixed.add((other, sex))
                lines.append(Line(total=(parent, sex), members=[(c, sex) for c in kids] + [(other, sex)]))
        if set(sexes) == {"1", "2", "_T"}:
            for area in sheet:
                values[(area, "~unknown")] = values[(area, "_T")] - values[(area, "1")] - values[(area, "2")]
                fixed.add((area, "~unknown"))
                lines.append(Line(total=(area, "_T"), members=[(area, "2"), (area, "1"), (area, "~unknown")]))
        return values, lines, fixed

    prepared = [sub_table(members) for members in tables]
    suppressed: set = set()
    primary: set = set()
    changed = True
    while changed:
        changed = False
        for values, lines, fixed in prepared:
            table = protect(values, lines, threshold, fixed=fixed, already_suppressed=suppressed)
            primary |= table.primary
            new = table.suppressed - suppressed
            if new:
                suppressed |= new
                changed = True
    return {key: "primary" if key in primary else "secondary" if key in suppressed else "published" for key in value}


def protect_year(con: duckdb.DuckDBPyConnection, year: int, threshold: int) -> ProtectedYear:
    indicators = con.execute(INDICATORS_SQL).pl()
    areas = con.execute(AREAS_SQL).pl()
    cells = con.execute(CELLS_SQL, [year]).pl()
    area_codes, children = areas["area_code"].to_list(), _children(areas)
    by_indicator = {code: frame for (code,), frame in cells.partition_by("indicator_code", as_dict=True).items()}
    ind_rows = {r["indicator_code"]: r for r in indicators.iter_rows(named=True)}
    status_rows = []
    rate_hidden: dict[tuple[str, str, str], bool] = {}
    # GPIs last: they inherit suppression from their base indicator's rates
    order = sorted(by_indicator, key=lambda c: (ind_rows[c]["derivation"] == "gpi", c))
    for code in order:
        frame = by_indicator[code]
        ind = ind_rows[code]
        sexes = sorted(set(frame["sex"].to_list()), key=["2", "1", "_T"].index)
        num = {(r["area_code"], r["sex"]): r["numerator"] for r in frame.iter_rows(named=True)}
        den = {(r["area_code"], r["sex"]): r["denominator"] for r in frame.iter_rows(named=True)}
        if _is_count_like(ind):
            num_status = protect_counts(num, area_codes, children, sexes, threshold)
            has_den = any(v is not None for v in den.values()) and ind["unit"] != "count"
            den_status = protect_counts(den, area_codes, children, sexes, threshold) if has_den else {}
        else:
            num_status, den_status = {}, {}
        for r in frame.iter_rows(named=True):
            key = (r["area_code"], r["sex"])
            n_status = num_status.get(key, "not_count")
            d_status = den_status.get(key, "not_count")
            hidden = n_status in ("primary", "secondary") or d_status in ("primary", "secondary")
            if ind["derivation"] == "gpi" and ind["computed_from"]:
                base = ind["computed_from"]
                hidden = hidden or rate_hidden.get((base, r["area_code"], "2"), False) \
                    or rate_hidden.get((base, r["area_code"], "1"), False)
            rate_hidden[(code, r["area_code"], r["sex"])] = hidden
            value_status = ("primary" if "primary" in (n_status, d_status) else "secondary") if hidden else "published"
            status_rows.append({
                "indicator_code": code, "area_code": r["area_code"], "sex": r["sex"],
                "numerator_status": n_status, "denominator_status": d_status, "value_status": value_status,
            })
    statuses = pl.DataFrame(status_rows, schema={
        "indicator_code": pl.String, "area_code": pl.String, "sex": pl.String,
        "numerator_status": pl.String, "denominator_status": pl.String, "value_status": pl.String})
    cells = cells.join(statuses, on=["indicator_code", "area_code", "sex"], how="left")
    return ProtectedYear(year=year, cells=cells, indicators=indicators, areas=areas, threshold=threshold)


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
            .then(pl.lit(f"{label}") + pl.col(f"_{label}_status").replace_strict(STATUS_NOTE, default=""))
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
    """SDMX-CSV rows. Public: the protected cells only. Internal: every value of the year."""
    if public:
        rows = protected.cells.join(protected.indicators.select("indicator_code", "unit", "age_group_code"),
                                    on="indicator_code", how="left").with_columns(pl.lit("_T").alias("residence"))
    else:
        rows = con.execute(
            "SELECT indicator_code, area_code, sex, age_group_code, residence, value, unit, small_numbers_flag "
            "FROM main_marts.fct_indicator_values WHERE period_year = ?", [protected.year]).pl()
        public_status = protected.cells.select("indicator_code", "area_code", "sex", "value_status").join(
            protected.indicators.select("indicator_code", "age_group_code"), on="indicator_code", how="left",
        ).with_columns(pl.lit("_T").alias("residence"))
        rows = rows.join(public_status, on=["indicator_code", "area_code", "sex", "age_group_code", "residence"],
                         how="left")
    rows = rows.join(protected.indicators.select("indicator_code", "unit_sdmx"), on="indicator_code", how="left")
    hidden = pl.col("value_status").is_in(["primary", "secondary"])
    conf = (
        pl.when(pl.col("value_status") == "primary").then(pl.lit("C"))
        .when(pl.col("value_status") == "secondary").then(pl.lit("D"))
        .when(pl.col("value_status") == "published").then(pl.lit("F"))
        .otherwise(pl.lit("N"))
    )
    value = pl.when(hidden).then(None).otherwise(pl.col("value")) if public else pl.col("value")
    obs_status = (
        pl.when(pl.col("value").is_null() & ~hidden.fill_null(False)).then(pl.lit("M"))
        .when(pl.col("small_numbers_flag").fill_null(False)).then(pl.lit("U"))
        .otherwise(pl.lit("A"))
    )
    frame = rows.with_columns(
        pl.lit(DATAFLOW).alias("DATAFLOW"),
        pl.col("area_code").alias("REF_AREA"),
        pl.lit(str(protected.year)).alias("TIME_PERIOD"),
        pl.col("indicator_code").str.to_uppercase().alias("INDICATOR"),
        pl.col("sex").replace_strict(SEX_SDMX, default=pl.col("sex")).alias("SEX"),
        pl.col("age_group_code").map_elements(sdmx_age, return_dtype=pl.String).alias("AGE"),
        pl.col("residence").replace_strict(URBANISATION_SDMX, default=pl.col("residence")).alias("URBANISATION"),
        value.alias("OBS_VALUE"),
        pl.col("unit_sdmx").alias("UNIT_MEASURE"),
        obs_status.alias("OBS_STATUS"),
        conf.alias("CONF_STATUS"),
    ).select("DATAFLOW", "REF_AREA", "TIME_PERIOD", "INDICATOR", "SEX", "AGE", "URBANISATION", "OBS_VALUE",
             "UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS")
    # five-year groups that duplicate a life-course group's code (Y0T4_5Y ~ Y0T4) keep the life-course row
    return frame.unique(subset=["REF_AREA", "INDICATOR", "SEX", "AGE", "URBANISATION"], keep="first", maintain_order=True) \
        .sort("INDICATOR", "REF_AREA", "SEX", "AGE", "URBANISATION")


def sdmx_age(code: str) -> str:
    """Age group seed code -> SDMX-style code (Y0T4, Y15T49, Y_GE60, _T)."""
    if code is None:
        return "_T"
    return re.sub(r"_\d+Y$", "", code)


def _write_sdmx_csv(frame: pl.DataFrame, path: Path) -> None:
    """SDMX-CSV is read by programs: values as they are (an apostrophe would corrupt them, and no formula
    runs there)."""
    tmp = path.with_name(path.name + ".tmp")
    frame.write_csv(tmp, include_bom=True)
    tmp.replace(path)


def completeness_tables(con: duckdb.DuckDBPyConnection, year: int, public: bool) -> dict[str, pl.DataFrame]:
    """报送情况 (what was received for the year, from how many townships) and the figures withheld or on
    incomplete coverage, as the marts say (fct_reporting_completeness, fct_indicator_publication). The public
    edition leaves out row counts: a small register (cases, maternal deaths) would reveal a small count."""
    district = con.execute("SELECT area_code FROM main_marts.fct_indicator_publication "
                           "ORDER BY area_level = 'county' DESC, area_code LIMIT 1").fetchone()
    district = district[0] if district else None
    received = con.execute(
        """SELECT feed_name_zh AS "报送数据 Input", status_zh AS "状态 Status",
                  CASE WHEN townships_expected IS NOT NULL THEN townships_reporting || '/' || townships_expected END
                      AS "报送乡镇 Townships reporting",
                  reporting_rate_percent AS "报送率% Reporting rate", rows_usable AS "可用记录 Usable rows"
           FROM main_marts.fct_reporting_completeness
           WHERE period_year = ? AND area_code = ? ORDER BY feed_kind, feed_code""", [year, district]).pl()
    if public:
        received = received.drop("可用记录 Usable rows")
    withheld = con.execute(
        """SELECT p.indicator_code AS "指标代码 Code", d.name_zh AS "指标名称 Indicator",
                  p.publication_status_zh AS "状态 Status", p.reason_zh AS "原因 Reason"
           FROM main_marts.fct_indicator_publication p JOIN main_marts.dim_indicator d USING (indicator_code)
           WHERE p.period_year = ? AND p.area_code = ? AND p.publication_status <> 'published'
           ORDER BY p.publication_status DESC, p.indicator_code""", [year, district]).pl()
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
             f"1至{threshold}的计数及由其计算的率已抑制（一次抑制），并做二次抑制使其无法由行列合计推算。",
             f"Counts from 1 to {threshold}, and rates computed from them, are suppressed (primary); further cells are "
             "suppressed so that none can be recovered from row or column totals (secondary)."),
            ("空白单元格 Empty cell", "被抑制的数值或分子，或无数据；原因见“小数保护 Suppression”列。",
             "A suppressed value or numerator, or no data; the Suppression column says which."),
            ("女一次抑制 / 合计二次抑制 …", "“小数保护”列：哪个性别的数值被抑制，以及抑制类型（一次抑制：本身是小数；"
             "二次抑制：为防止推算而抑制）。", "Suppression column: which sex's value is suppressed, and why "
             "(primary: a small count itself; secondary: suppressed so that a small count cannot be derived)."),
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
    tmp = year_dir / f".LATEST.{uuid.uuid4().hex}"
    tmp.write_text(name + "\n", encoding="utf-8")
    tmp.replace(year_dir / "LATEST")
    link = year_dir / "latest"
    try:
        tmp_link = year_dir / f".latest.{uuid.uuid4().hex}"
        os.symlink(name, tmp_link, target_is_directory=True)
        os.replace(tmp_link, link)
    except OSError:  # no symlinks here (e.g. some network shares): LATEST is the pointer
        pass


def write_submission(settings: Settings, year: int | None = None, con: duckdb.DuckDBPyConnection | None = None,
                     now: dt.datetime | None = None) -> SubmissionResult:
    own = con is None
    con = con or database.connect(str(settings.work_db), read_only=True)
    try:
        year = year or latest_year(con)
        if year is None:
            raise ValueError("no indicator values in the warehouse: nothing to submit")
        threshold = settings.small_cell_threshold
        values = snapshot_values(con, year)
        loads = _current_loads(con)
        fingerprint = _fingerprint(values, loads, threshold)
        year_dir = submission_root(settings) / str(year)
        previous = latest_snapshot(settings, year)
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
            protected = protect_year(con, year, threshold)
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
        sdmx = out / f"{prefix}_SDMX_{year}.csv"
        _write_sdmx_csv(sdmx_frame(con, protected, public), sdmx)
        files += [xlsx, csv, sdmx]
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
