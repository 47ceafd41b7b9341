"""What changed since the last submission (与上次报送相比的变更清单).

Every submission snapshot keeps the year's unsuppressed values (`_snapshot/values.parquet`) and the loads
that were current when it was made (`manifest.json`). The diff of a snapshot against the one before it lists
every cell (indicator × area × sex × age group × residence) whose value, numerator or denominator changed, or
that appeared or disappeared, with the old and new figures and the loads behind the change: the current loads
of the indicator's source extracts (dim_indicator.source; form items through form_items.department) for the
periods that feed the year (the year itself; screenings also the two years before; extracts without a year
such as grade_history always) that were not current at the previous submission, and the loads they replaced.
A change with no such load came from a change of definitions, code lists or code (口径或代码变更).

Earlier years are compared too (a snapshot keeps every year up to its own): event records count in the
statistical year of their date, so a late report in a later file (a 2023 birth in births_2024) revises an
earlier year's figures that were already submitted. Such rows are marked 往年修订 (revision of an earlier
year); for event extracts (contract `event_date`) the loads of later periods count among those behind a
change, since a later file can carry late events. A previous snapshot written before earlier years were
kept (format 1) is compared for its own year only.

The diff holds unsuppressed figures: it is an internal file (内部使用_未做小数保护_变更清单_…).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dagster_project.config import SEEDS_DIR, Settings
from dagster_project.contracts import load_contracts
from dagster_project.exports.provincial_submission import (
    INTERNAL_PREFIX,
    LOOKBACK_YEARS,
    _previous_of,
    latest_snapshot,
)
from dagster_project.exports.spreadsheet_safety import write_spreadsheet_csv

KEY = ["period_year", "indicator_code", "area_code", "sex", "age_group_code", "residence"]
MEASURES = ["value", "numerator", "denominator"]
NO_LOAD = "口径或代码变更（无新加载） / definitions or code changed (no new load)"


@dataclass
class DiffResult:
    year: int
    snapshot_dir: Path | None
    previous_dir: Path | None
    path: Path | None
    changed_cells: int
    note: str
    revised_years: list[int] = field(default_factory=list)   # earlier years with changed cells


def _form_item_departments() -> dict[str, str]:
    with (SEEDS_DIR / "form_items.csv").open(encoding="utf-8") as fh:
        return {r["item_code"]: r["department"] for r in csv.DictReader(fh)}


def source_extracts(source: str | None, form_departments: dict[str, str], extracts: set[str]) -> set[tuple[str, str | None]]:
    """'health:deaths; forms:npc_deputies; population' -> {('deaths', None), ('forms', 'organization'), ('population', None)}."""
    found: set[tuple[str, str | None]] = set()
    for token in (source or "").split(";"):
        token = token.strip()
        if not token:
            continue
        head, _, tail = token.partition(":")
        if not tail:
            if head in extracts:
                found.add((head, None))
        elif head == "forms" and tail not in extracts:
            found.add(("forms", form_departments.get(tail)))
        elif tail in extracts:
            found.add((tail, None))
    return found


def _event_extracts() -> set[str]:
    """Extracts whose rows count in the year of their event date: a later period's file can revise a year."""
    return {name for name, e in load_contracts().extracts.items() if e.event_date}


def _relevant(load: dict, extract: str, department: str | None, year: int, event_extracts: set[str] = frozenset()) -> bool:
    if load["extract"] != extract:
        return False
    if extract == "forms" and department is not None and load.get("source_department") != department:
        return False
    period = load.get("period_year")
    if period is None:
        return True
    later_files_count = extract in event_extracts  # a late report in a later file counts in `year`
    return year - LOOKBACK_YEARS.get(extract, 0) <= int(period) and (later_files_count or int(period) <= year)


def attribute_loads(sources: set, old_loads: list[dict], new_loads: list[dict], year: int,
                    event_extracts: set[str] = frozenset()) -> tuple[list[str], list[str]]:
    """(loads current now but not before, loads current before but not now) among the sources' relevant loads."""
    old_ids = {l["load_id"] for l in old_loads}
    new_ids = {l["load_id"] for l in new_loads}
    added, replaced = set(), set()
    for extract, department in sources:
        def relevant(load):
            return _relevant(load, extract, department, year, event_extracts)
        added |= {l["load_id"] for l in new_loads if relevant(l) and l["load_id"] not in old_ids}
        replaced |= {l["load_id"] for l in old_loads if relevant(l) and l["load_id"] not in new_ids}
    return sorted(added), sorted(replaced)


def diff_snapshots(previous: Path, current: Path) -> pl.DataFrame:
    old_manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
    new_manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    year = int(new_manifest["year"])
    old = pl.read_parquet(previous / "_snapshot" / "values.parquet")
    new = pl.read_parquet(current / "_snapshot" / "values.parquet")
    if "period_year" not in old.columns:  # format 1 kept the submitted year only: compare that year
        old = old.with_columns(pl.lit(int(old_manifest["year"]), dtype=pl.Int32).alias("period_year"))
        new = new.filter(pl.col("period_year") == int(old_manifest["year"]))
    old = old.with_columns(pl.col("period_year").cast(pl.Int32))
    new = new.with_columns(pl.col("period_year").cast(pl.Int32))
    joined = old.with_columns(pl.lit(True).alias("_old_row")).join(
        new.with_columns(pl.lit(True).alias("_new_row")), on=KEY, how="full", coalesce=True, suffix="_new")
    differs = pl.any_horizontal([pl.col(m).ne_missing(pl.col(f"{m}_new")) for m in MEASURES])
    changes = joined.filter(pl.col("_old_row").is_null() | pl.col("_new_row").is_null() | differs).with_columns(
        pl.when(pl.col("_old_row").is_null()).then(pl.lit("新增 added"))
        .when(pl.col("_new_row").is_null()).then(pl.lit("删除 removed"))
        .when(pl.col("value").ne_missing(pl.col("value_new"))).then(pl.lit("数值变更 value changed"))
        .otherwise(pl.lit("分子/分母变更 numerator/denominator changed")).alias("change"),
    )
    catalogue = pl.read_parquet(current / f"{INTERNAL_PREFIX}_parquet" / "dim_indicator.parquet")
    areas = pl.read_parquet(current / f"{INTERNAL_PREFIX}_parquet" / "dim_area.parquet")
    forms = _form_item_departments()
    extracts = set(load_contracts().extracts)
    sources = {r["indicator_code"]: source_extracts(r["source"], forms, extracts)
               for r in catalogue.select("indicator_code", "source").iter_rows(named=True)}
    old_loads, new_loads = old_manifest["current_loads"], new_manifest["current_loads"]
    events = _event_extracts()
    years = sorted(set(changes["period_year"].to_list()))
    attribution = pl.DataFrame(
        [{"period_year": y, "indicator_code": code, "loads_new": "; ".join(a) or NO_LOAD, "loads_replaced": "; ".join(r)}
         for y in years for code, src in sources.items()
         for a, r in [attribute_loads(src, old_loads, new_loads, y, events)]],
        schema={"period_year": pl.Int32, "indicator_code": pl.String, "loads_new": pl.String, "loads_replaced": pl.String})
    changes = changes.join(attribution, on=["period_year", "indicator_code"], how="left").with_columns(
        pl.col("loads_new").fill_null(NO_LOAD), pl.col("loads_replaced").fill_null(""))
    out = (
        changes.join(catalogue.select("indicator_code", "name_zh"), on="indicator_code", how="left")
        .join(areas.select("area_code", pl.col("name_zh").alias("area_name")), on="area_code", how="left")
        .sort(KEY)
        .select(
            pl.col("change").alias("变更类型 Change"),
            pl.col("period_year").alias("年度 Year"),
            pl.when(pl.col("period_year") < year).then(pl.lit("往年修订 revision of an earlier year"))
            .otherwise(pl.lit("")).alias("往年修订 Earlier year"),
            pl.col("indicator_code").alias("指标代码 Code"),
            pl.col("name_zh").alias("指标名称 Indicator"),
            pl.col("area_code").alias("地区代码 Area code"),
            pl.col("area_name").alias("地区 Area"),
            pl.col("sex").alias("性别 Sex"),
            pl.col("age_group_code").alias("年龄组 Age group"),
            pl.col("residence").alias("城乡 Residence"),
            pl.col("value").alias("原值 Old value"),
            pl.col("value_new").alias("新值 New value"),
            (pl.col("value_new") - pl.col("value")).round(6).alias("差值 Difference"),
            pl.col("numerator").alias("原分子 Old numerator"),
            pl.col("numerator_new").alias("新分子 New numerator"),
            pl.col("denominator").alias("原分母 Old denominator"),
            pl.col("denominator_new").alias("新分母 New denominator"),
            pl.col("loads_new").alias("引起变更的加载 Loads that changed it"),
            pl.col("loads_replaced").alias("被替换的加载 Replaced loads"),
            pl.lit(previous.name).alias("上次报送 Previous submission"),
            pl.lit(current.name).alias("本次报送 This submission"),
        )
    )
    return out


def write_diff(settings: Settings, year: int, snapshot: Path | None = None) -> DiffResult:
    """Write the diff of the year's latest snapshot (or `snapshot`) against the submission before it."""
    snapshot = snapshot or latest_snapshot(settings, year)
    if snapshot is None:
        return DiffResult(year, None, None, None, 0, f"{year}年尚无报送 / no submission for {year} yet")
    previous = _previous_of(snapshot)
    if previous is None or not (previous / "manifest.json").exists():
        return DiffResult(year, snapshot, None, None, 0,
                          f"{year}年首次报送，无可比较 / first submission for {year}: nothing to compare")
    frame = diff_snapshots(previous, snapshot)
    path = snapshot / f"{INTERNAL_PREFIX}_变更清单_{year}_{previous.name}_至_{snapshot.name}.csv"
    write_spreadsheet_csv(frame, path)
    earlier = frame.filter(pl.col("年度 Year") < year)
    revised = sorted(set(earlier["年度 Year"].to_list()))
    note = f"{frame.height} 个单元格变更 / cells changed since {previous.name}"
    if revised:
        years = "、".join(str(y) for y in revised)
        note += (f"；其中{earlier.height}个为往年修订（{years}年，迟报事件计入其发生年度）"
                 f" / {earlier.height} of them revise earlier years ({', '.join(map(str, revised))}): late reports")
    return DiffResult(year, snapshot, previous, path, frame.height, note, revised)

