"""An intruder's attack on the public outputs taken together: which suppressed counts can be recovered?

The intruder reads every public file of a run (`Published`: the counts and rates they show, with the
precision they show them at) and knows how the tables hang together (`Truth.children`: the area
hierarchy; T = F + M + persons of unknown sex; the catalogue's definitions, so a count published under one
indicator is the same quantity under another with the same definition, e.g. live births as numerator of one
rate and denominator of another). Persons of unknown sex and persons outside every child area are assumed
known (the suppression method assumes it too). A suppressed count is *recovered* when the intruder can pin it
to one integer:

1. directly: the same quantity (same definition, year, area, sex) is published anywhere;
2. rate × denominator (or numerator ÷ rate): a published rate, rounded as shown (the interval
   value ± half a unit of its last shown decimal, or the float's precision), with a known partner count,
   a gender parity index with one of its base rates, … - the count's interval holds exactly one integer;
3. totals minus parts: linear programming over the area × sex table of the quantity (sums of the
   hierarchy, sex totals), with every published count, every interval from 2. and, where the outputs say a
   cell is a primary suppression, its range 1..threshold; the count's LP range holds exactly one integer;
4. differences between outputs come in through 1.-3.: every output's facts are pooled.

Steps 2 and 3 feed each other until nothing tightens. `attack` returns the recoveries; a protected set of
outputs has none. The module only reads facts handed to it (`Published`, `Truth`), so unit tests can feed it a
deliberately leaky fixture; tests/test_disclosure_all_outputs.py feeds it a real run's files.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

Cell = tuple[str, int, str, str]           # (indicator, year, area, sex)
KINDS = ("numerator", "denominator")
SUPPRESSED = ("primary", "secondary")
INF = math.inf


def precision_interval(value: float, decimals: int | None) -> tuple[float, float]:
    """The values a shown number can stand for: ± half a unit of its last decimal, or of the float's precision."""
    half = 0.5 * 10.0 ** (-decimals) if decimals is not None else max(abs(value) * 1e-12, 1e-12)
    return value - half, value + half


@dataclass
class Published:
    """What the public outputs show, pooled over all of them."""

    counts: dict[tuple[str, str, int, str, str], set[float]] = field(default_factory=lambda: defaultdict(set))
    rates: dict[Cell, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    cis: dict[Cell, set[str]] = field(default_factory=lambda: defaultdict(set))  # cell -> outputs showing its CI
    primary_marked: set[tuple[str, str, int, str, str]] = field(default_factory=set)  # (indicator, kind, year, area, sex)
    sources: dict[tuple, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add_count(self, output: str, indicator: str, kind: str, year: int, area: str, sex: str, value: float | None):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        key = (indicator, kind, int(year), area, sex)
        self.counts[key].add(float(value))
        self.sources[key].add(output)

    def add_rate(self, output: str, indicator: str, year: int, area: str, sex: str, value: float | None,
                 decimals: int | None = None):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        cell = (indicator, int(year), area, sex)
        self.rates[cell].append(precision_interval(float(value), decimals))
        self.sources[("rate", *cell)].add(output)


@dataclass
class Truth:
    """What the warehouse knows about the public cells (never shown to the intruder, only used to build the
    tables' structure and to check a recovered value)."""

    counts: dict[tuple[str, str, int, str, str], float]          # (indicator, kind, year, area, sex) -> true count
    statuses: dict[tuple[str, str, int, str, str], str]          # same key -> primary | secondary | published | not_count
    value_status: dict[Cell, str]
    children: dict[str, list[str]]
    areas: list[str]
    factor: dict[str, float]                                     # value = numerator / denominator × factor
    quantity: dict[tuple[str, str], Hashable]                    # (indicator, kind) -> what the count is (definition)
    gpi_base: dict[str, str] = field(default_factory=dict)       # GPI indicator -> base indicator (F rate / M rate)
    threshold: int = 4
    # persons of unknown sex and outside the child areas: known to readers (entered as fixed cells)

    def suppressed(self) -> dict[tuple[str, str, int, str, str], str]:
        return {k: s for k, s in self.statuses.items() if s in SUPPRESSED}


@dataclass(frozen=True)
class Recovery:
    indicator: str
    kind: str
    year: int
    area: str
    sex: str
    status: str
    true_value: float
    how: str
    interval: tuple[float, float]

    def __str__(self) -> str:
        return (f"{self.indicator} {self.kind} {self.year} {self.area} sex={self.sex} ({self.status}) = "
                f"{self.true_value:g} recovered by {self.how}: [{self.interval[0]:.4g}, {self.interval[1]:.4g}]")


def _one_integer(lo: float, hi: float, tol: float = 1e-7) -> int | None:
    if hi == INF:
        return None
    first, last = math.ceil(lo - tol), math.floor(hi + tol)
    return first if first == last else None


class _Bounds:
    """The intruder's current interval for every count of every quantity (year, area, sex)."""

    def __init__(self):
        self.lo: dict = defaultdict(lambda: 0.0)
        self.hi: dict = defaultdict(lambda: INF)
        self.how: dict = {}

    def get(self, key) -> tuple[float, float]:
        return self.lo[key], self.hi[key]

    def tighten(self, key, lo: float, hi: float, how: str) -> bool:
        changed = False
        if lo > self.lo[key] + 1e-9:
            self.lo[key] = lo
            changed = True
        if hi < self.hi[key] - 1e-9:
            self.hi[key] = hi
            changed = True
        if changed:
            self.how[key] = how
        return changed


def attack(published: Published, truth: Truth, use_primary_ranges: bool = True, rounds: int = 4) -> list[Recovery]:
    bounds = _Bounds()

    def qkey(indicator: str, kind: str, year: int, area: str, sex: str):
        return (truth.quantity[(indicator, kind)], year, area, sex)

    # 1. published counts, pooled by quantity (the same definition under any indicator)
    for (indicator, kind, year, area, sex), values in published.counts.items():
        if (indicator, kind) not in truth.quantity:
            continue
        for value in values:
            bounds.tighten(qkey(indicator, kind, year, area, sex), value, value, "published")
    if use_primary_ranges:
        for indicator, kind, year, area, sex in published.primary_marked:
            if (indicator, kind) in truth.quantity:
                bounds.tighten(qkey(indicator, kind, year, area, sex), 1.0, float(truth.threshold), "marked primary")

    for _ in range(rounds):
        changed = _rates_round(published, truth, bounds, qkey)
        changed |= _tables_round(truth, bounds)
        if not changed:
            break

    found: list[Recovery] = []
    for key, status in sorted(truth.suppressed().items()):
        indicator, kind, year, area, sex = key
        if (indicator, kind) not in truth.quantity:
            continue
        q = qkey(indicator, kind, year, area, sex)
        lo, hi = bounds.get(q)
        value = _one_integer(lo, hi)
        true_value = truth.counts[key]
        if value is not None and abs(value - true_value) < 1e-6:
            found.append(Recovery(indicator, kind, year, area, sex, status, true_value, bounds.how.get(q, "?"), (lo, hi)))
    # a confidence interval shown for a suppressed value gives the value away (its centre, its count)
    for cell, outputs in published.cis.items():
        if truth.value_status.get(cell) in SUPPRESSED:
            indicator, year, area, sex = cell
            found.append(Recovery(indicator, "value", year, area, sex, truth.value_status[cell], math.nan,
                                  f"confidence interval shown in {sorted(outputs)}", (math.nan, math.nan)))
    return found


def _rate_intervals(published: Published, truth: Truth) -> dict[Cell, tuple[float, float]]:
    """Every rate the intruder has, as an interval: shown ones, and base rates from a GPI and the other base rate."""
    rates: dict[Cell, tuple[float, float]] = {}
    for cell, intervals in published.rates.items():
        lo = max(i[0] for i in intervals)
        hi = min(i[1] for i in intervals)
        rates[cell] = (lo, hi)
    for gpi, base in truth.gpi_base.items():
        for (indicator, year, area, _sex), (g_lo, g_hi) in list(rates.items()):
            if indicator != gpi or g_lo <= 0:
                continue
            female, male = (base, year, area, "2"), (base, year, area, "1")
            if male in rates and female not in rates:
                m_lo, m_hi = rates[male]
                rates[female] = (g_lo * m_lo, g_hi * m_hi)
            if female in rates and male not in rates:
                f_lo, f_hi = rates[female]
                rates[male] = (f_lo / g_hi, f_hi / g_lo if g_lo > 0 else INF)
    return rates


def _rates_round(published: Published, truth: Truth, bounds: _Bounds, qkey) -> bool:
    changed = False
    for (indicator, year, area, sex), (r_lo, r_hi) in _rate_intervals(published, truth).items():
        factor = truth.factor.get(indicator)
        if not factor or (indicator, "numerator") not in truth.quantity:
            continue
        num = qkey(indicator, "numerator", year, area, sex)
        if (indicator, "denominator") not in truth.quantity:
            # a count indicator: its value is its numerator
            changed |= bounds.tighten(num, r_lo / factor, r_hi / factor, "value of a count")
            continue
        den = qkey(indicator, "denominator", year, area, sex)
        d_lo, d_hi = bounds.get(den)
        n_lo, n_hi = bounds.get(num)
        # numerator = rate × denominator / factor
        if d_hi < INF:
            changed |= bounds.tighten(num, max(r_lo, 0) * d_lo / factor, r_hi * d_hi / factor, f"rate × denominator ({indicator})")
        # denominator = numerator × factor / rate
        if n_hi < INF and r_lo > 0 and n_lo > 0:
            changed |= bounds.tighten(den, n_lo * factor / r_hi, n_hi * factor / r_lo, f"numerator ÷ rate ({indicator})")
    return changed


def _tables_round(truth: Truth, bounds: _Bounds) -> bool:
    """Linear programming over each quantity's area × sex table of a year."""
    targets = {(truth.quantity[(i, k)], y, a, s) for (i, k, y, a, s) in truth.suppressed() if (i, k) in truth.quantity}
    tables: dict[tuple, dict[tuple[str, str], float]] = defaultdict(dict)
    for (indicator, kind, year, area, sex), value in truth.counts.items():
        if (indicator, kind) in truth.quantity:
            tables[(truth.quantity[(indicator, kind)], year)][(area, sex)] = value
    changed = False
    for (quantity, year), cells in tables.items():
        # the LP targets the suppressed counts (the others are bounds or unknowns of the sums)
        unknown = [k for k in cells if (quantity, year, *k) in targets and _one_integer(*bounds.get((quantity, year, *k))) is None]
        if not unknown:
            continue
        equations = _equations(truth, cells)
        if not equations:
            continue
        variables = sorted({k for eq, _ in equations for k in eq} | set(unknown))
        index = {k: i for i, k in enumerate(variables)}
        a_eq = np.zeros((len(equations), len(variables)))
        b_eq = np.zeros(len(equations))
        for row, (coefficients, constant) in enumerate(equations):
            for k, c in coefficients.items():
                a_eq[row, index[k]] = c
            b_eq[row] = constant
        limits = [bounds.get((quantity, year, *k)) for k in variables]
        limits = [(lo, None if hi == INF else hi) for lo, hi in limits]
        for k in unknown:
            if k not in index:
                continue
            lo_hi = []
            for sign in (1, -1):
                objective = np.zeros(len(variables))
                objective[index[k]] = sign
                result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=limits, method="highs")
                if result.status != 0:
                    lo_hi = None
                    break
                lo_hi.append(sign * result.fun)
            if lo_hi:
                changed |= bounds.tighten((quantity, year, *k), lo_hi[0], lo_hi[1], "totals minus parts")
    return changed


def _equations(truth: Truth, cells: dict[tuple[str, str], float]) -> list[tuple[dict, float]]:
    """The table's sums, with what readers know outside the cells (unknown sex, outside every child area)
    moved to the constant: parent = Σ children + other; T = F + M + unknown sex."""
    equations = []
    sexes = {s for _, s in cells}
    for parent, kids in truth.children.items():
        kids = [k for k in kids if any((k, s) in cells for s in sexes)]
        if not kids:
            continue
        for sex in sexes:
            if (parent, sex) not in cells:
                continue
            known_other = cells[(parent, sex)] - sum(cells.get((k, sex), 0.0) for k in kids)
            coefficients = {(parent, sex): 1.0}
            for kid in kids:
                if (kid, sex) in cells:
                    coefficients[(kid, sex)] = coefficients.get((kid, sex), 0.0) - 1.0
            equations.append((coefficients, known_other))
    if {"1", "2", "_T"} <= sexes:
        for area in {a for a, _ in cells}:
            if all((area, s) in cells for s in ("1", "2", "_T")):
                unknown_sex = cells[(area, "_T")] - cells[(area, "1")] - cells[(area, "2")]
                equations.append(({(area, "_T"): 1.0, (area, "1"): -1.0, (area, "2"): -1.0}, unknown_sex))
    return equations
