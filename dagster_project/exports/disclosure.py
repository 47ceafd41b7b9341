"""The disclosure decisions: which public cells are suppressed, decided once per run for every public output.

The policy (README "公开与内部 · What is public"): a public output shows only cells of
`main_marts.rpt_disclosure_cells` (indicator × year × reported area × sex at the residence total and the
indicator's defining age group, with the small-cell threshold), and only as these decisions allow: a count
from 1 to the threshold is suppressed (primary), and further counts so that no suppressed count follows from
the area hierarchy's and the sexes' sums (secondary, `suppression.protect`); a rate (and its confidence
interval) is suppressed with its numerator or its denominator, and a gender parity index with either of its
base rates. Everything else is internal and named so (内部使用_未做小数保护_…).

The decisions depend on the cells only, so they are computed once and kept beside the working database
(`$MONITOR_DATA_DIR/disclosure/decisions.parquet`, keyed by a hash of the cells): the provincial submission
and the indicator export read the same statuses, whichever of them runs first.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from dagster_project.exports.suppression import Line, protect

CELLS_SQL = "SELECT * FROM main_marts.rpt_disclosure_cells ORDER BY period_year, indicator_code, area_level_order, area_code, sex"
KEY = ["period_year", "indicator_code", "area_code", "sex"]
SUPPRESSED = ("primary", "secondary")
# bump when the method changes: decisions kept from an earlier method are then recomputed
METHOD_VERSION = 1
STATUS_SCHEMA = {"period_year": pl.Int32, "indicator_code": pl.String, "area_code": pl.String, "sex": pl.String,
                 "numerator_status": pl.String, "denominator_status": pl.String, "value_status": pl.String}


@dataclass(frozen=True)
class Decisions:
    """The public cells with their statuses: numerator_status / denominator_status ('primary', 'secondary',
    'published', or 'not_count' where the indicator's counts are not protected) and value_status
    ('primary', 'secondary', 'published')."""

    cells: pl.DataFrame
    threshold: int

    def of_year(self, year: int) -> pl.DataFrame:
        return self.cells.filter(pl.col("period_year") == year)


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


def area_hierarchy(cells: pl.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Reported areas in order (level, code) and each one's reported children: the sums a reader can use."""
    areas = cells.select("area_code", "parent_code", "area_level_order").unique().sort("area_level_order", "area_code")
    codes = areas["area_code"].to_list()
    reported = set(codes)
    children: dict[str, list[str]] = {}
    for code, parent in areas.select("area_code", "parent_code").iter_rows():
        if parent in reported:
            children.setdefault(parent, []).append(code)
    return codes, children


def decide(cells: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """The statuses of every cell of `cells` (rows of rpt_disclosure_cells), by year and indicator."""
    area_codes, children = area_hierarchy(cells) if cells.height else ([], {})
    rows: list[dict] = []
    for (year,), of_year in cells.partition_by("period_year", as_dict=True, maintain_order=True).items():
        by_indicator = {code: frame for (code,), frame in of_year.partition_by("indicator_code", as_dict=True).items()}
        rate_hidden: dict[tuple[str, str, str], bool] = {}
        # GPIs last: they inherit suppression from their base indicator's rates
        order = sorted(by_indicator, key=lambda c: (by_indicator[c]["derivation"][0] == "gpi", c))
        for code in order:
            frame = by_indicator[code]
            first = frame.row(0, named=True)
            sexes = sorted(set(frame["sex"].to_list()), key=["2", "1", "_T"].index)
            num = {(r["area_code"], r["sex"]): r["numerator"] for r in frame.iter_rows(named=True)}
            den = {(r["area_code"], r["sex"]): r["denominator"] for r in frame.iter_rows(named=True)}
            num_status: dict = {}
            den_status: dict = {}
            if first["protects_counts"]:
                num_status = protect_counts(num, area_codes, children, sexes, threshold)
                if first["protects_denominator"] and any(v is not None for v in den.values()):
                    den_status = protect_counts(den, area_codes, children, sexes, threshold)
            for r in frame.iter_rows(named=True):
                key = (r["area_code"], r["sex"])
                n_status = num_status.get(key, "not_count")
                d_status = den_status.get(key, "not_count")
                hidden = n_status in SUPPRESSED or d_status in SUPPRESSED
                if first["derivation"] == "gpi" and first["computed_from"]:
                    base = first["computed_from"]
                    hidden = hidden or rate_hidden.get((base, r["area_code"], "2"), False) \
                        or rate_hidden.get((base, r["area_code"], "1"), False)
                rate_hidden[(code, r["area_code"], r["sex"])] = hidden
                value_status = ("primary" if "primary" in (n_status, d_status) else "secondary") if hidden else "published"
                rows.append({"period_year": year, "indicator_code": code, "area_code": r["area_code"], "sex": r["sex"],
                             "numerator_status": n_status, "denominator_status": d_status, "value_status": value_status})
    return pl.DataFrame(rows, schema=STATUS_SCHEMA)


def read_cells(con: duckdb.DuckDBPyConnection, year: int | None = None) -> pl.DataFrame:
    if year is None:
        return con.execute(CELLS_SQL).pl()
    return con.execute(CELLS_SQL.replace(" ORDER BY", " WHERE period_year = ? ORDER BY"), [year]).pl()


def threshold_of(con: duckdb.DuckDBPyConnection) -> int:
    """The threshold dbt built rpt_disclosure_cells with (the setting MONITOR_SMALL_CELL_THRESHOLD)."""
    row = con.execute("SELECT any_value(small_cell_threshold) FROM main_marts.rpt_disclosure_cells").fetchone()
    return int(row[0]) if row and row[0] is not None else 4


def _fingerprint(cells: pl.DataFrame, threshold: int) -> str:
    digest = hashlib.sha256(f"method={METHOD_VERSION};threshold={threshold};".encode())
    digest.update(cells.select(*KEY, "numerator", "denominator", "parent_code", "protects_counts",
                               "protects_denominator", "derivation", "computed_from").write_csv().encode())
    return digest.hexdigest()


def decisions_path(data_dir: Path) -> Path:
    return data_dir / "disclosure" / "decisions.parquet"


def load_decisions(con: duckdb.DuckDBPyConnection, data_dir: Path | None = None,
                   threshold: int | None = None) -> Decisions:
    """The decisions for the warehouse `con` reads: kept ones when they were made from the same cells, else
    computed now (and kept, when `data_dir` is given). `threshold` overrides the model's, for tests only."""
    cells = read_cells(con)
    threshold = threshold_of(con) if threshold is None else threshold
    fingerprint = _fingerprint(cells, threshold)
    path = decisions_path(data_dir) if data_dir is not None else None
    statuses = None
    if path is not None and path.exists():
        kept = pl.read_parquet(path)
        if kept.height and "fingerprint" in kept.columns and kept["fingerprint"][0] == fingerprint:
            statuses = kept.drop("fingerprint")
    if statuses is None:
        statuses = decide(cells, threshold)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")  # concurrent writers never share one
            statuses.with_columns(pl.lit(fingerprint).alias("fingerprint")).write_parquet(tmp)
            tmp.replace(path)
    joined = cells.with_columns(pl.col("period_year").cast(pl.Int32)).join(
        statuses, on=KEY, how="left")
    return Decisions(cells=joined, threshold=threshold)


def apply_to_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank what the statuses suppress: the suppressed counts, and a suppressed value with its confidence
    interval. Where the counts are not protected as counts (a GPI's numerator and denominator are the female
    and male rates), they go with the value."""
    hide_value = pl.col("value_status") != "published"

    def count(column: str, status: str) -> pl.Expr:
        hidden = pl.col(status).is_in(SUPPRESSED) | ((pl.col(status) == "not_count") & hide_value)
        return pl.when(hidden).then(None).otherwise(pl.col(column)).alias(column)

    return frame.with_columns(
        count("numerator", "numerator_status"), count("denominator", "denominator_status"),
        *[pl.when(hide_value).then(None).otherwise(pl.col(c)).alias(c) for c in ("value", "ci_lower", "ci_upper")],
    )
