"""Small-cell protection of the statistical compendium's public edition: the provincial submission's, reused.

The compendium (marts.rpt_compendium_rows) shows, per indicator, values by sex for the district over the
years, for the district and its townships and for its urban and rural parts in the latest year, and the
resident population by sex (years, five-year age groups, townships). Its public edition must not show what
the public submission hides, nor anything from which a hidden cell could be worked out together with it.

- District and township cells (residence total, the indicator's age group) are exactly the submission's
  public cells: each year's statuses are `protect_year`'s for that year - the same primary and secondary
  suppression, not a second policy. The submission of an earlier year is protected the same way.
- The urban/rural table of an indicator is a table linked to the submission's through its district row:
  its counts (numerators, and denominators a reader could derive from a rate) are protected with
  `protect_counts` (urban + rural = district, 女 + 男 + unknown = 合计), the district cells the submission
  suppressed staying suppressed and those it published being known to the reader. A rate is hidden with any
  of its counts; a parity index with its base indicator's female or male rate, as in the submission.
- Population tables are counts: the township × sex table first, then the five-year age group × sex table and
  each year's sex line, linked through the district row in the same way.
- The sex comparison (female share, female/male ratio) is hidden with any value it is computed from.

`protect_rows` returns the rows with a status per shown value: 'published', 'primary', 'secondary'.
"""
from __future__ import annotations

import duckdb
import polars as pl

from dagster_project.exports.disclosure import protect_counts
from dagster_project.exports.provincial_submission import protect_year

SEX_COLUMNS = {"2": "female", "1": "male", "_T": "total"}
HIDDEN = ("primary", "secondary")
STATUS_COLUMNS = ["female_status", "male_status", "total_status", "comparison_status"]


def _worst(*statuses: str) -> str:
    """The status of a value computed from several: primary before secondary before published."""
    if "primary" in statuses:
        return "primary"
    return "secondary" if "secondary" in statuses else "published"


def _protect_linked(measure: dict, rows: list[str], children: dict, sexes: list[str], threshold: int,
                    already_suppressed: set, known: set) -> dict:
    try:
        return protect_counts(measure, rows, children, sexes, threshold, already_suppressed, known)
    except RuntimeError:
        # nothing publishable is left to hide a cell with (a degenerate table): hide the whole table
        return {key: "secondary" if key not in known else "published"
                for key in ((r, s) for r in rows for s in sexes)}


class _YearStatuses:
    """protect_year's statuses, computed once per year: (indicator, area, sex) -> value/numerator/denominator."""

    def __init__(self, con: duckdb.DuckDBPyConnection, threshold: int):
        self.con, self.threshold = con, threshold
        self._years: dict[int, dict] = {}
        self.indicators: dict[str, dict] = {}
        # which indicators' counts are protected is the disclosure policy's (dbt: rpt_disclosure_cells)
        self.protects_counts: dict[str, bool] = dict(con.execute(
            "SELECT indicator_code, bool_or(protects_counts) FROM main_marts.rpt_disclosure_cells GROUP BY 1").fetchall())

    def year(self, year: int) -> dict:
        if year not in self._years:
            protected = protect_year(self.con, year, self.threshold)
            if not self.indicators:
                self.indicators = {r["indicator_code"]: r for r in protected.indicators.iter_rows(named=True)}
            self._years[year] = {
                (r["indicator_code"], r["area_code"], r["sex"]): (r["value_status"], r["numerator_status"],
                                                                 r["denominator_status"])
                for r in protected.cells.select("indicator_code", "area_code", "sex", "value_status",
                                                "numerator_status", "denominator_status").iter_rows(named=True)
            }
        return self._years[year]


def _residence_statuses(group: pl.DataFrame, indicator: dict, district: str, submitted: dict, threshold: int,
                        rate_hidden: dict, protects_counts: bool) -> dict:
    """(residence, sex) -> value status of one indicator's urban/rural table."""
    code = indicator["indicator_code"]
    sexes = [s for s in ("2", "1", "_T") if group[SEX_COLUMNS[s]].is_not_null().any()
             or group[f"{SEX_COLUMNS[s]}_numerator"].is_not_null().any()] or ["_T"]
    rows, children = ["_T", "urban", "rural"], {"_T": ["urban", "rural"]}
    statuses = {}
    if protects_counts:
        parts = {}
        for index, part in ((1, "numerator"), (2, "denominator")):
            measure = {(r["residence"], s): r[f"{SEX_COLUMNS[s]}_{part}"]
                       for r in group.iter_rows(named=True) for s in sexes if r[f"{SEX_COLUMNS[s]}_{part}"] is not None}
            if part == "denominator" and (indicator["unit"] == "count" or not measure):
                parts[part] = {}
                continue
            linked = {("_T", s): submitted.get((code, district, s), ("published",) * 3)[index] for s in sexes}
            parts[part] = _protect_linked(
                measure, rows, children, sexes, threshold,
                already_suppressed={k for k, v in linked.items() if v in HIDDEN},
                known={k for k, v in linked.items() if v == "published"})
        for residence in rows:
            for s in sexes:
                statuses[(residence, s)] = _worst(parts["numerator"].get((residence, s), "published"),
                                                  parts["denominator"].get((residence, s), "published"))
    else:
        statuses = {(r, s): "published" for r in rows for s in sexes}
    if indicator["derivation"] == "gpi" and indicator["computed_from"]:
        base = indicator["computed_from"]
        for (residence, s), status in list(statuses.items()):
            inherited = [rate_hidden.get((base, residence, sex), "published") for sex in ("2", "1")]
            statuses[(residence, s)] = _worst(status, *inherited)
    for (residence, s), status in statuses.items():
        rate_hidden[(code, residence, s)] = status
    return statuses


def _population_statuses(rows: pl.DataFrame, tables: pl.DataFrame, district: str, threshold: int) -> dict:
    """(table_no, row_order, sex) -> status for the population tables (counts)."""
    kinds = dict(tables.select("table_no", "table_kind").iter_rows())
    out: dict = {}
    population = rows.filter(pl.col("table_no").replace_strict(kinds, default="").str.starts_with("population_"))
    sexes = ["2", "1", "_T"]

    def measure(frame: pl.DataFrame, key: str) -> dict:
        return {(r[key], s): r[SEX_COLUMNS[s]] for r in frame.iter_rows(named=True) for s in sexes
                if r[SEX_COLUMNS[s]] is not None}

    by_kind = {kinds[t]: f for (t,), f in population.partition_by("table_no", as_dict=True).items()}
    district_status: dict = {}
    township = by_kind.get("population_by_township")
    if township is not None and township.height:
        areas = township["area_code"].to_list()
        status = _protect_linked(measure(township, "area_code"), [district, *[a for a in areas if a != district]],
                                 {district: [a for a in areas if a != district]}, sexes, threshold, set(), set())
        district_status = {s: status.get((district, s), "published") for s in sexes}
        for r in township.iter_rows(named=True):
            for s in sexes:
                out[(r["table_no"], r["row_order"], s)] = status.get((r["area_code"], s), "published")
    linked_hidden = {("_T", s) for s, v in district_status.items() if v in HIDDEN}
    linked_known = {("_T", s) for s, v in district_status.items() if v == "published"} if district_status else set()
    ages = by_kind.get("population_by_age")
    if ages is not None and ages.height:
        groups = [g for g in ages["age_group_code"].to_list() if g != "_T"]
        status = _protect_linked(measure(ages, "age_group_code"), ["_T", *groups], {"_T": groups}, sexes, threshold,
                                 linked_hidden, linked_known)
        for r in ages.iter_rows(named=True):
            for s in sexes:
                out[(r["table_no"], r["row_order"], s)] = status.get((r["age_group_code"], s), "published")
    years = by_kind.get("population_by_sex_years")
    if years is not None and years.height:
        latest = years["period_year"].max()
        for r in years.iter_rows(named=True):
            cells = {("_T", s): r[SEX_COLUMNS[s]] for s in sexes if r[SEX_COLUMNS[s]] is not None}
            link = (linked_hidden, linked_known) if r["period_year"] == latest else (set(), set())
            status = _protect_linked(cells, ["_T"], {}, sexes, threshold, *link) if cells else {}
            for s in sexes:
                out[(r["table_no"], r["row_order"], s)] = status.get(("_T", s), "published")
    return out


def protect_rows(con: duckdb.DuckDBPyConnection, tables: pl.DataFrame, rows: pl.DataFrame, threshold: int,
                 district: str) -> pl.DataFrame:
    """`rows` (marts.rpt_compendium_rows) with female/male/total/comparison statuses of the public edition."""
    per_year = _YearStatuses(con, threshold)
    meta = {r["table_no"]: r for r in tables.iter_rows(named=True)}
    population = _population_statuses(rows, tables, district, threshold)
    residence: dict = {}
    rate_hidden: dict = {}
    latest = int(tables["compendium_year"].max()) if tables.height else None
    if latest is not None:
        per_year.year(latest)
        residence_rows = rows.filter(pl.col("row_kind") == "residence")
        # parity indices last: they inherit their base indicator's statuses
        groups = sorted(residence_rows.partition_by("indicator_code", as_dict=True).items(),
                        key=lambda item: (per_year.indicators.get(item[0][0], {}).get("derivation") == "gpi", item[0][0]))
        for (code,), group in groups:
            indicator = per_year.indicators.get(code)
            if indicator is None:
                continue
            statuses = _residence_statuses(group, indicator, district, per_year.year(latest), threshold, rate_hidden,
                                          per_year.protects_counts.get(indicator["indicator_code"], False))
            for (res, s), status in statuses.items():
                residence[(code, res, s)] = status
    out = {c: [] for c in STATUS_COLUMNS}
    for r in rows.iter_rows(named=True):
        table = meta[r["table_no"]]
        by_sex = {}
        for s, name in SEX_COLUMNS.items():
            if table["table_kind"].startswith("population_"):
                status = population.get((r["table_no"], r["row_order"], s), "published")
            elif r["row_kind"] == "residence":
                status = residence.get((r["indicator_code"], r["residence"], s), "published")
            elif r[name] is None:
                status = "published"  # nothing to hide
            else:
                status = per_year.year(r["period_year"]).get(
                    (r["indicator_code"], r["area_code"], s), ("published",))[0]
            by_sex[s] = status if status in HIDDEN else "published"
        comparison = table["comparison"]
        inputs = {"female_share": ("2", "_T"), "female_to_male_ratio": ("2", "1")}.get(comparison, ())
        out["female_status"].append(by_sex["2"])
        out["male_status"].append(by_sex["1"])
        out["total_status"].append(by_sex["_T"])
        out["comparison_status"].append(_worst(*(by_sex[s] for s in inputs)) if inputs else "published")
    return rows.with_columns(pl.Series(name, values, dtype=pl.String) for name, values in out.items())
