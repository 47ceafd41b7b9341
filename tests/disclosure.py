"""Can a reader work out a suppressed cell from what public outputs publish *together*?

A reusable check for every public output (the provincial submission, the statistical compendium, …): put
every cell any of them publishes into one pool of known values, add what a reader must be assumed to know
(persons of unknown sex, persons outside every child area: the `fixed` cells of exports/suppression.py),
and close the pool under the relations that tie the cells:

- `Sum(total, parts)`: total = Σ parts (女 + 男 + unknown = 合计; Σ townships + rest = district;
  urban + rural + rest = residence total; Σ age groups = all ages). A line with one unknown cell gives it.
- `Ratio(value, numerator, denominator, factor)`: value = numerator / denominator × factor. Any two give
  the third (a published rate and its published numerator give the denominator).

`derive` returns the closed pool; `recovered` the hidden cells it pins to a value; `small_counts` the
counts it shows from 1 to the threshold. Keys are any hashable tuples; a public output's reader builds
them from what it publishes (see tests/test_compendium.py for the submission and the compendium).
This is the line and ratio reasoning a person can do by hand; tests/test_suppression.py additionally
proves single tables safe against linear programming.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

Key = Hashable
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Sum:
    total: Key
    parts: tuple[Key, ...]


@dataclass(frozen=True)
class Ratio:
    value: Key
    numerator: Key
    denominator: Key
    factor: float = 1.0


def derive(known: dict[Key, float], sums: Iterable[Sum] = (), ratios: Iterable[Ratio] = (),
           max_rounds: int = 100) -> dict[Key, float]:
    """The pool closed under the relations: every cell a reader can compute from `known`."""
    pool = dict(known)
    sums, ratios = list(sums), list(ratios)
    for _ in range(max_rounds):
        added = False
        for line in sums:
            cells = (line.total, *line.parts)
            missing = [c for c in cells if c not in pool]
            if len(missing) != 1:
                continue
            cell = missing[0]
            parts_known = sum(pool[p] for p in line.parts if p != cell)
            pool[cell] = parts_known if cell == line.total else pool[line.total] - parts_known
            added = True
        for r in ratios:
            have = {name: getattr(r, name) in pool for name in ("value", "numerator", "denominator")}
            if sum(have.values()) != 2:
                continue
            if not have["value"] and pool[r.denominator]:
                pool[r.value] = pool[r.numerator] / pool[r.denominator] * r.factor
            elif not have["denominator"] and pool[r.value]:
                pool[r.denominator] = pool[r.numerator] * r.factor / pool[r.value]
            elif not have["numerator"]:
                pool[r.numerator] = pool[r.value] * pool[r.denominator] / r.factor
            else:
                continue  # value 0 with its numerator, or a zero denominator: the third stays unknown
            added = True
        if not added:
            break
    return pool


def recovered(hidden: Iterable[Key], known: dict[Key, float], sums: Iterable[Sum] = (),
              ratios: Iterable[Ratio] = ()) -> dict[Key, float]:
    """Hidden cells the published ones (with the relations) pin to a value."""
    pool = derive(known, sums, ratios)
    return {key: pool[key] for key in hidden if key in pool and key not in known}


def small_counts(pool: dict[Key, float], counts: Iterable[Key], threshold: int) -> dict[Key, float]:
    """Count cells of the pool from 1 to the threshold (rounded: derived counts carry float error)."""
    out = {}
    for key in counts:
        if key in pool:
            value = round(pool[key])
            if abs(pool[key] - value) < 1e-3 and 1 <= value <= threshold:
                out[key] = pool[key]
    return out
