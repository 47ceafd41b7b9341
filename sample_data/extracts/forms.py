"""forms/<department>_<YYYY>: aggregate figures for what no record-level extract covers.

Every item of seeds/form_items.csv is generated from its gen_* columns:
level district → one area per county (430502 for the district); level township
→ every township; by_sex Y → rows for sex 1, 2 and T (T = 1 + 2, split by
gen_female_share; for non-additive units such as life expectancy T lies
between); gen_base → the item is a fraction gen_min..gen_max of its base item
(same area, sex and age group), so a part never exceeds its total. Values move
a little each year, mostly in the direction the plans want.

Counts scale with the population they describe: a township item with the
size of the township, a district item with the county's population; the
sizes of leadership teams, congresses, survey samples and counted facilities
(one maternal and child health institution per county) do not scale.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from dagster_project.contracts import read_seed
from sample_data import hashing
from sample_data.demography import DISTRICT_POPULATION
from sample_data.world import World

# Items whose size does not depend on the population (a leadership team has ~12 members
# whatever the county's size; a survey sample is fixed by design).
FIXED_SIZE = {
    "life_expectancy", "party_congress_delegates", "npc_deputies", "cppcc_members", "leaders_party_committee",
    "leaders_npc", "leaders_government", "leaders_cppcc", "dept_leaders", "dept_chief_leaders", "dept_teams",
    "public_institution_leaders", "science_literacy_surveyed", "cancer_awareness_surveyed",
    "health_literacy_surveyed",
    # facilities the plans count one by one (a district has one maternal and child health institution, one
    # critical care centre, about a dozen township health centres, a few organisations) whatever its size
    "public_mch_institutions", "mch_institutions_grade2", "critical_maternal_care_centres",
    "critical_newborn_care_centres", "township_health_centres", "women_children_activity_centres",
    "children_activity_centres", "child_care_social_orgs",
}
# Items that get worse when they grow: their trend points down.
FALLING = {"pregnant_anaemia_cases", "juvenile_offenders", "bullying_incidents", "pregnant_anaemia_examined"}
# Age groups where the item is about a specific age; everything else is T (all ages).
AGE_GROUP = {"childcare_places": "Y0T2", "juvenile_offenders": "Y10T17"}
NON_ADDITIVE_UNITS = {"years"}
LIFE_EXPECTANCY_GAP = 5.4      # women live ~5.4 years longer than men


@dataclass(frozen=True)
class FormItem:
    code: str
    department: str
    unit: str
    by_sex: bool
    level: str
    base: str | None
    low: float
    high: float
    female_share: float | None


def form_items() -> list[FormItem]:
    items = []
    for r in read_seed("form_items"):
        items.append(FormItem(
            r["item_code"], r["department"], r["unit"], r["by_sex"].strip().upper() == "Y", r["level"],
            r["gen_base"] or None, float(r["gen_min"]), float(r["gen_max"]),
            float(r["gen_female_share"]) if r.get("gen_female_share") else None,
        ))
    return items


def departments() -> list[str]:
    seen: list[str] = []
    for item in form_items():
        if item.department not in seen:
            seen.append(item.department)
    return seen


def base_items() -> set[str]:
    return {i.base for i in form_items() if i.base}


def _position(world: World, item: FormItem, area: str, year: int) -> float:
    """Where in gen_min..gen_max an item sits for an area and year (0..1): fixed start, slow trend, wobble."""
    start = 0.15 + 0.5 * hashing.scalar_uniform(world.seed, "form_start", item.code, area)
    trend = 0.06 * (year - 2019) * (-1 if item.code in FALLING else 1)
    wobble = 0.03 * hashing.scalar_normal(world.seed, "form_wobble", item.code, area, year)
    return float(np.clip(start + trend + wobble, 0.0, 1.0))


def _areas(world: World, year: int, level: str) -> list[tuple[str, float, int]]:
    """(area code, size factor, townships in it) for the item's level."""
    pop = world.demo.pop(year).sum(axis=(1, 2, 3)).astype(np.float64)
    if level == "township":
        # A township's counts grow with its size, damped (a small township still has a clinic).
        mean = pop.mean()
        per_township_scale = mean / (DISTRICT_POPULATION / 12)
        return [(t.code, per_township_scale * np.sqrt(pop[i] / mean), 1) for i, t in enumerate(world.townships)]
    out = []
    for county in dict.fromkeys(t.county_code for t in world.townships):
        members = [t.index for t in world.townships if t.county_code == county]
        out.append((county, pop[members].sum() / DISTRICT_POPULATION, len(members)))
    return out


def produce(world: World, year: int, department: str) -> Iterator[pl.DataFrame]:
    items = {i.code: i for i in form_items()}
    values: dict[tuple[str, str, str], float] = {}     # (item, area, sex) -> value, for bases
    rows = []
    ordered = [i for i in items.values() if i.department == department]
    # Bases first, wherever they are listed, so a part can be computed from its total.
    needed = _with_bases(ordered, items)
    for item in needed:
        for area, size, n_townships in _areas(world, year, item.level):
            values.update(_item_values(world, item, area, size, n_townships, year, values))
    for item in ordered:
        for area, _, _ in _areas(world, year, item.level):
            for sex in (("1", "2", "T") if item.by_sex else ("T",)):
                rows.append((item.code, area, sex, AGE_GROUP.get(item.code, "T"), values[(item.code, area, sex)]))
    frame = pl.DataFrame(rows, schema={"item_code": pl.String, "township_code": pl.String, "sex": pl.String,
                                       "age_group": pl.String, "value": pl.Float64}, orient="row")
    bases_here = {i.base for i in ordered if i.base and items[i.base].department == department}
    # Helper for defect injection: a base (denominator) row must stay intact, and so must the
    # county-level figures, each the only source of its indicator for the year: the committed
    # sample has to yield every indicator for every year (a quarantined township row only
    # lowers a total, a quarantined county row would erase the value).
    keep = list(bases_here | {i.code for i in ordered if i.level != "township"})
    yield frame.with_columns(pl.col("item_code").is_in(keep).alias("__keep_value"))


def _with_bases(ordered: list[FormItem], items: dict[str, FormItem]) -> list[FormItem]:
    out: list[FormItem] = []

    def add(item: FormItem) -> None:
        if item.base and items[item.base] not in out:
            add(items[item.base])
        if item not in out:
            out.append(item)

    for item in ordered:
        add(item)
    return out


def _item_values(world, item: FormItem, area: str, size: float, n_townships: int, year: int, known) -> dict:
    pos = _position(world, item, area, year)
    out = {}
    if item.base:
        sexes = ("1", "2") if item.by_sex else ("T",)
        for sex in sexes:
            shift = 0.04 * hashing.scalar_normal(world.seed, "form_sex", item.code, area, year, sex)
            frac = item.low + (item.high - item.low) * float(np.clip(pos + shift, 0, 1))
            base_value = known.get((item.base, area, sex))
            if base_value is None:          # a by-sex part of a total not split by sex: half each
                base_value = known.get((item.base, area, "T"), 0.0) * (1.0 if sex == "T" else 0.5)
            out[(item.code, area, sex)] = float(np.floor(base_value * frac))
        if item.by_sex:
            out[(item.code, area, "T")] = out[(item.code, area, "1")] + out[(item.code, area, "2")]
        return out
    value = item.low + (item.high - item.low) * pos
    if item.unit in NON_ADDITIVE_UNITS:
        # Life expectancy: women above men, the total in between (not a sum).
        total = round(value, 1)
        out[(item.code, area, "T")] = total
        if item.by_sex:
            out[(item.code, area, "1")] = round(total - LIFE_EXPECTANCY_GAP * 0.49, 1)
            out[(item.code, area, "2")] = round(total + LIFE_EXPECTANCY_GAP * 0.51, 1)
        return out
    if item.unit == "townships":
        value = value * n_townships / 12
    elif item.code not in FIXED_SIZE:
        value = value * size
    total = float(max(0, round(value)))
    if item.by_sex:
        share = (item.female_share or 0.5) + 0.015 * hashing.scalar_normal(world.seed, "form_share", item.code, area, year)
        female = float(round(total * share))
        out[(item.code, area, "1")] = total - female
        out[(item.code, area, "2")] = female
    out[(item.code, area, "T")] = total
    return out
