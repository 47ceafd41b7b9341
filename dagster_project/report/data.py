"""Everything the annual report shows, read from the working database in one place."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl


@dataclass(frozen=True)
class StatusVocabulary:
    """dbt's status vocabulary (marts.dim_status): label, colour and order of every attainment/warning status."""
    labels: dict[str, str]
    colours: dict[str, str]
    order: list[str]
    labels_en: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    def label(self, status: str | None) -> str:
        return self.labels.get(status or "", status or "—")

    def colour(self, status: str | None) -> str:
        return self.colours.get(status or "", "#9e9e9e")

    @classmethod
    def from_database(cls, con) -> StatusVocabulary:
        rows = con.execute("SELECT status, label_zh, colour, label_en, description_zh "
                           "FROM main_marts.dim_status ORDER BY sort_order").fetchall()
        return cls({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}, [r[0] for r in rows],
                   {r[0]: r[3] for r in rows}, {r[0]: r[4] for r in rows})


@dataclass(frozen=True)
class QualityLabels:
    """Chinese (and English) labels of the codes the quality section shows, all from dbt seeds and marts:
    ingestion rules (seed ingestion_rules, which ingestion itself reads), quality vocabularies (seed
    quality_labels: importance, severity, validation rule groups), extracts (marts.fct_reporting_completeness),
    and the fields of the data-request templates (the extract contract, where each column's Chinese header is)."""
    rules: dict[str, tuple[str, str]] = field(default_factory=dict)
    vocabulary: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    extracts: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)

    def rule(self, code: str | None) -> tuple[str, str]:
        return self.rules.get(code or "", (code or "", ""))

    def term(self, vocabulary: str, code: str | None) -> str:
        return self.vocabulary.get((vocabulary, code or ""), (code or "", ""))[0]

    def extract(self, code: str | None) -> str:
        return self.extracts.get(code or "", code or "")

    def field_label(self, code: str) -> str:
        return self.fields.get(code, code)


def load_quality_labels(con) -> QualityLabels:
    from dagster_project.contracts import load_contracts

    rules = dict(
        (r[0], (r[1], r[2])) for r in con.execute("SELECT rule_id, label_zh, label_en FROM main_seeds.ingestion_rules").fetchall()
    ) if _table_exists(con, "main_seeds", "ingestion_rules") else {}
    vocabulary = dict(
        ((r[0], r[1]), (r[2], r[3])) for r in con.execute(
            "SELECT vocabulary, code, label_zh, label_en FROM main_seeds.quality_labels").fetchall()
    ) if _table_exists(con, "main_seeds", "quality_labels") else {}
    extracts = dict(con.execute(
        "SELECT DISTINCT feed_code, feed_name_zh FROM main_marts.fct_reporting_completeness WHERE feed_kind = 'extract'"
    ).fetchall()) if _table_exists(con, "main_marts", "fct_reporting_completeness") else {}
    fields: dict[str, str] = {}
    for extract in load_contracts().extracts.values():
        for column in extract.columns:
            if column.zh:
                fields.setdefault(column.name, column.zh[0])
    return QualityLabels(rules, vocabulary, extracts, fields)


@dataclass
class ReportData:
    year: int
    years: list[int]
    indicators: pl.DataFrame            # dim_indicator, in catalogue order
    domains: list[tuple[str, str, str]]  # (plan, domain_zh, domain_en) in order
    district_code: str
    district_name: str
    townships: list[tuple[str, str]]
    values_by_sex: pl.DataFrame         # district, year: indicator × sex (value, small flag)
    warnings: pl.DataFrame              # fct_early_warnings, district rows, as of the year
    warnings_township: pl.DataFrame     # township rows, as of the year
    series: pl.DataFrame                # district, assessed sex, every year: value and effective target
    gaps: pl.DataFrame                  # fct_gender_gaps, district, year
    township_values: pl.DataFrame       # assessed sex, year
    warning_rules: pl.DataFrame
    statuses: StatusVocabulary
    departments: dict[str, str]          # department code → Chinese label (seed department_labels)
    actions: pl.DataFrame               # rpt_early_warnings of the year: district and township rows, worded
    unmeasured_goals: pl.DataFrame = field(default_factory=pl.DataFrame)  # rpt_plan_goals_unmeasured
    quality: dict = field(default_factory=dict)
    run_info: dict = field(default_factory=dict)
    labels: QualityLabels = field(default_factory=QualityLabels)


def _table_exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0])


def available_years(con) -> list[int]:
    if not _table_exists(con, "main_marts", "fct_indicator_values"):
        return []
    return [r[0] for r in con.execute(
        "SELECT DISTINCT period_year FROM main_marts.fct_indicator_values ORDER BY 1").fetchall()]


def load_report_data(con: duckdb.DuckDBPyConnection, year: int) -> ReportData:
    indicators = con.execute(
        "SELECT *, row_number() OVER () AS catalogue_order FROM main_marts.dim_indicator").pl()
    domains: list[tuple[str, str, str]] = []
    plan_order = {"women": 0, "children": 1}
    for row in indicators.sort(pl.col("plan").replace_strict(plan_order, default=9), "catalogue_order").iter_rows(named=True):
        key = (row["plan"], row["domain_zh"], row["domain_en"])
        if key not in domains:
            domains.append(key)
    district_code, district_name = con.execute(
        "SELECT area_code, name_zh FROM main_marts.dim_area WHERE level = 'county' AND is_reported ORDER BY area_code LIMIT 1"
    ).fetchone()
    townships = [tuple(r) for r in con.execute(
        "SELECT area_code, name_zh FROM main_marts.dim_area WHERE level = 'township' AND parent_code = ? ORDER BY area_code",
        [district_code]).fetchall()]
    # What the report shows is shaped in dbt (marts/reporting/rpt_report_*): which area is the district, the
    # defining age group, the assessed sex, the target that applies. Here: the year's rows, as they are.
    values_by_sex = con.execute(
        """SELECT indicator_code, sex, value, numerator, small_numbers_flag, incomplete_data_flag, zero_denominator_flag
           FROM main_marts.rpt_report_district_values WHERE period_year = ?""", [year]).pl()
    has_warnings = _table_exists(con, "main_marts", "fct_early_warnings")
    if has_warnings:
        warnings = con.execute(
            "SELECT * FROM main_marts.fct_early_warnings WHERE as_of_year = ? AND area_code = ?", [year, district_code]).pl()
        warnings_township = con.execute(
            "SELECT * FROM main_marts.fct_early_warnings WHERE as_of_year = ? AND area_level = 'township'", [year]).pl()
        warning_rules = con.execute(
            "SELECT * FROM main_seeds.warning_rules ORDER BY rule_code").pl() if _table_exists(con, "main_seeds", "warning_rules") else pl.DataFrame()
    else:
        warnings = warnings_township = warning_rules = pl.DataFrame()
    series = con.execute(
        """SELECT indicator_code, period_year, value, effective_target FROM main_marts.rpt_report_district_values
           WHERE is_assessed_sex AND period_year <= ? ORDER BY indicator_code, period_year""", [year]).pl()
    gaps = con.execute("SELECT * FROM main_marts.rpt_report_gender_gaps WHERE period_year = ?", [year]).pl()
    township_values = con.execute(
        """SELECT indicator_code, area_code, value, small_numbers_flag FROM main_marts.rpt_report_township_values
           WHERE period_year = ?""", [year]).pl()
    return ReportData(
        year=year, years=available_years(con), indicators=indicators, domains=domains,
        district_code=district_code, district_name=district_name, townships=townships,
        values_by_sex=values_by_sex, warnings=warnings, warnings_township=warnings_township, series=series,
        gaps=gaps, township_values=township_values, warning_rules=warning_rules,
        statuses=StatusVocabulary.from_database(con),
        departments=dict(con.execute("SELECT department, label_zh FROM main_seeds.department_labels").fetchall()),
        actions=con.execute(
            "SELECT * FROM main_marts.rpt_early_warnings WHERE as_of_year = ? "
            "ORDER BY area_level <> 'county', plan_order, catalogue_order, area_code", [year]).pl()
        if _table_exists(con, "main_marts", "rpt_early_warnings") else pl.DataFrame(),
        unmeasured_goals=con.execute(
            "SELECT * FROM main_marts.rpt_plan_goals_unmeasured ORDER BY display_order").pl()
        if _table_exists(con, "main_marts", "rpt_plan_goals_unmeasured") else pl.DataFrame(),
        quality={**load_quality(con, year, district_code), "exclusions": load_exclusions(con, year, district_code)},
        run_info=load_run_info(con),
        labels=load_quality_labels(con),
    )


def load_exclusions(con, year: int, district_code: str) -> list[dict] | None:
    """Per indicator, the district's records of the year it could not use, by reason (fct_indicator_exclusions;
    None when the mart is not built)."""
    if not _table_exists(con, "main_marts", "rpt_report_exclusions"):
        return None
    return con.execute(
        """SELECT indicator_code, name_zh, field_invalid, record_quarantined, sex_unknown, residence_unknown, fields
           FROM main_marts.rpt_report_exclusions WHERE period_year = ? AND area_code = ?
           ORDER BY indicator_code""", [year, district_code]).pl().to_dicts()


def load_run_info(con) -> dict:
    info = {}
    if _table_exists(con, "audit", "file_loads"):
        info["last_load"] = con.execute("SELECT max(loaded_at) FROM audit.file_loads").fetchone()[0]
    if _table_exists(con, "audit", "gx_results"):
        info["last_check"] = con.execute("SELECT max(recorded_at) FROM audit.gx_results").fetchone()[0]
    return info


def load_quality(con, year: int, district_code: str) -> dict:
    quality: dict = {"completeness": [], "publication": [], "by_department": [], "top_reasons": [],
                     "gx_failures": None, "findings": None, "findings_note": ""}
    if not _table_exists(con, "audit", "file_loads"):
        return quality
    # completeness (报送情况) and what it withheld are decided in dbt (fct_reporting_completeness,
    # fct_indicator_publication); the report lists them, with the files behind each feed, as rpt_report_* shape them
    if _table_exists(con, "main_marts", "rpt_report_completeness"):
        quality["completeness"] = con.execute(
            """SELECT feed_code, extract_name, source_department, feed_name_zh, status, status_zh, rows_usable,
                      townships_expected, townships_reporting, reporting_rate_percent, files
               FROM main_marts.rpt_report_completeness WHERE period_year = ?
               ORDER BY feed_kind, feed_code""", [year]).pl().to_dicts()
    if _table_exists(con, "main_marts", "rpt_report_publication_exceptions"):
        quality["publication"] = con.execute(
            """SELECT indicator_code, name_zh, plan, publication_status, publication_status_zh, reason_zh
               FROM main_marts.rpt_report_publication_exceptions WHERE period_year = ? AND area_code = ?
               ORDER BY display_order""", [year, district_code]).pl().to_dicts()
    if _table_exists(con, "main_marts", "rpt_report_loads_by_department"):
        loads = con.execute(
            """SELECT department, files, rows_read, rows_loaded, rows_quarantined, rows_flagged, rejected_files
               FROM main_marts.rpt_report_loads_by_department WHERE period_year = ? ORDER BY department""",
            [year]).pl().to_dicts()
        quality["by_department"] = [{k: v for k, v in row.items() if k != "rejected_files"} for row in loads
                                    if row["files"]]
        quality["rejected_files"] = [{"department": row["department"], "source_file": f}
                                     for row in loads for f in row["rejected_files"]]
    if _table_exists(con, "main_marts", "rpt_report_quarantine_reasons"):
        quality["top_reasons"] = con.execute(
            """SELECT department, rule_id, reason_zh, n FROM main_marts.rpt_report_quarantine_reasons
               WHERE period_year = ? AND rank_in_year <= 15 ORDER BY rank_in_year""", [year]).pl().to_dicts()
    if _table_exists(con, "audit", "gx_results"):
        quality["gx_failures"] = con.execute(
            """WITH latest AS (SELECT extract, max(recorded_at) AS at FROM audit.gx_results GROUP BY 1)
               SELECT g.department, g.extract, g.rule_id, g.severity, g.unexpected_count, g.element_count,
                      g.description_zh, g.period_years
               FROM audit.gx_results g JOIN latest l ON l.extract = g.extract AND l.at = g.recorded_at
               WHERE NOT g.success ORDER BY g.severity, g.department, g.extract, g.rule_id""").pl().to_dicts()
    if _table_exists(con, "main_marts", "fct_validation_findings"):
        findings = con.execute("SELECT * FROM main_marts.fct_validation_findings").pl()
        open_filter = _open_findings_filter(findings, year)
        quality["findings"] = findings.filter(open_filter) if open_filter is not None else findings
        quality["findings_note"] = "（分析库表 marts.fct_validation_findings）"
    else:
        quality["findings_note"] = "校验规则结果表 marts.fct_validation_findings 尚未建立，本节暂缺。"
    return quality


def _open_findings_filter(frame: pl.DataFrame, year: int):
    """Keep open findings of the year where the table says which those are (its columns are not fixed yet)."""
    conditions = []
    cols = set(frame.columns)
    for name in ("is_open", "open"):
        if name in cols and frame.schema[name] == pl.Boolean:
            conditions.append(pl.col(name))
    if "status" in cols and frame.schema["status"] == pl.String:
        conditions.append(~pl.col("status").str.to_lowercase().is_in(["closed", "resolved", "已关闭", "已解决"]))
    for name in ("period_year", "as_of_year", "year"):
        if name in cols and frame.schema[name].is_integer():
            conditions.append(pl.col(name) == year)
            break
    if not conditions:
        return None
    expr = conditions[0]
    for c in conditions[1:]:
        expr = expr & c
    return expr
