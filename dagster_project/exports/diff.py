"""What changed since the last submission (与上次报送相比的变更清单).

Every submission snapshot keeps the year's unsuppressed values (`_snapshot/values.parquet`) and the loads
that were current when it was made (`manifest.json`). The diff of a snapshot against the one before it lists
every cell (indicator × area × sex × age group × residence) whose value, numerator or denominator changed, or
that appeared or disappeared, with the old and new figures and the loads behind the change: the current loads
of the indicator's source extracts (dim_indicator.source; form items through form_items.department) for the
periods that feed the year (the year itself; screenings also the two years before; extracts without a year
such as grade_history always) that were not current at the previous submission, and the loads they replaced.
A change with no such load came from a change of definitions, code lists or code (口径或代码变更).

The diff holds unsuppressed figures: it is an internal file (内部使用_未做小数保护_变更清单_…).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
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
from dagster_project.exports.spreadsheet_safety import neutralise_frame

KEY = ["indicator_code", "area_code", "sex", "age_group_code", "residence"]
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


def _relevant(load: dict, extract: str, department: str | None, year: int) -> bool:
    if load["extract"] != extract:
        return False
    if extract == "forms" and department is not None and load.get("source_department") != department:
        return False
    period = load.get("period_year")
    return period is None or year - LOOKBACK_YEARS.get(extract, 0) <= int(period) <= year


def attribute_loads(sources: set, old_loads: list[dict], new_loads: list[dict], year: int) -> tuple[list[str], list[str]]:
    """(loads current now but not before, loads current before but not now) among the sources' relevant loads."""
    old_ids = {l["load_id"] for l in old_loads}
    new_ids = {l["load_id"] for l in new_loads}
    added, replaced = set(), set()
    for extract, department in sources:
        added |= {l["load_id"] for l in new_loads if _relevant(l, extract, department, year) and l["load_id"] not in old_ids}
        replaced |= {l["load_id"] for l in old_loads if _relevant(l, extract, department, year) and l["load_id"] not in new_ids}
    return sorted(added), sorted(replaced)


def diff_snapshots(previous: Path, current: Path) -> pl.DataFrame:
    old_manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
    new_manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    year = int(new_manifest["year"])
    old = pl.read_parquet(previous / "_snapshot" / "values.parquet")
    new = pl.read_parquet(current / "_snapshot" / "values.parquet")
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
    attribution = {code: attribute_loads(src, old_loads, new_loads, year) for code, src in sources.items()}
    changes = changes.with_columns(
        pl.col("indicator_code").replace_strict(
            {c: "; ".join(a) or NO_LOAD for c, (a, _) in attribution.items()}, default=NO_LOAD).alias("loads_new"),
        pl.col("indicator_code").replace_strict(
            {c: "; ".join(r) for c, (_, r) in attribution.items()}, default="").alias("loads_replaced"),
    )
    out = (
        changes.join(catalogue.select("indicator_code", "name_zh"), on="indicator_code", how="left")
        .join(areas.select("area_code", pl.col("name_zh").alias("area_name")), on="area_code", how="left")
        .sort(KEY)
        .select(
            pl.col("change").alias("变更类型 Change"),
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
    tmp = path.with_name(path.name + ".tmp")
    neutralise_frame(frame).write_csv(tmp, include_bom=True)
    tmp.replace(path)
    return DiffResult(year, snapshot, previous, path, frame.height,
                      f"{frame.height} 个单元格变更 / cells changed since {previous.name}")

