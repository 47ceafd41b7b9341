"""justice/*: victims in cases of violence against women and children, and legal aid (公安 · 法院 · 司法局).

District magnitudes: a few dozen domestic-violence victims a year, a handful of
sexual assault and indecency victims (mostly girls), a trafficking case now and
then, and about five hundred people given legal aid. Victims are people of the
township's population, chosen without repetition within a file.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from sample_data import hashing
from sample_data.persons import pick_from_register
from sample_data.world import (
    SEX,
    World,
    blank_where,
    bool_series,
    constant,
    date_series,
    labels,
    numbered,
    random_dates,
)

# case type → (share female, share children, child ages, adult age mean/sd/min/max, extra victims per case)
CASE_TYPES = {
    "domestic_violence": (0.88, 0.08, (4, 17), (42, 12, 18, 80), 0.08),
    "sexual_assault": (0.97, 0.40, (10, 17), (26, 7, 18, 55), 0.15),
    "indecency": (0.85, 0.80, (5, 16), (24, 6, 17, 45), 0.70),
    "trafficking": (0.70, 0.45, (0, 5), (24, 5, 15, 40), 0.90),
}
LEGAL_AID = {  # category → (share, share female, age range)
    "women_rights": (0.22, 1.0, (20, 70)),
    "minors": (0.16, 0.5, (6, 17)),
    "other": (0.62, 0.33, (18, 75)),
}
BATCH_TOWNSHIPS = 200


def _victims(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    female_share, child_share, (c_lo, c_hi), (mean, sd, lo, hi), _ = CASE_TYPES[kind]
    female = rng.random(n) < female_share
    child = rng.random(n) < child_share
    age = np.where(child, rng.integers(c_lo, c_hi + 1, n), np.clip(np.rint(rng.normal(mean, sd, n)), lo, hi))
    if kind == "trafficking":       # trafficked adults are women
        female = female | ~child
    return female.astype(np.int64), age.astype(np.int64)


def cases(world: World, year: int) -> Iterator[pl.DataFrame]:
    cal = world.calibration
    pop = world.demo.pop(year)
    frames = []
    for ti, tw in enumerate(world.townships):
        rng = hashing.chunk_rng(world.seed, "cases", year, tw.code_int)
        residents = pop[ti].sum(axis=(1, 2))                             # [residence]
        rows = []
        offset = 0
        for kind, spec in CASE_TYPES.items():
            expected = sum(cal.intensity(kind, tw.code_int, year, r) * residents[r] / 100_000 for r in (0, 1))
            n_cases = rng.poisson(expected / (1 + spec[4]))
            if n_cases == 0:
                continue
            extra = rng.poisson(spec[4], n_cases) if kind in ("indecency", "trafficking") else \
                (rng.random(n_cases) < spec[4]).astype(np.int64)
            case = np.repeat(np.arange(n_cases), 1 + extra)
            report = random_dates(rng, dt.date(year, 1, 1), dt.date(year, 12, 31), n_cases)[case]
            # Victims of one case live in the same place.
            residence = (rng.random(n_cases) >= tw.urban_share).astype(np.int64)[case]
            female, age = _victims(rng, kind, len(case))
            rows.append((np.full(len(case), kind), case + offset, report, female, age, residence))
            offset += n_cases
        if not rows:
            continue
        kind, case, report, female, age, residence = (np.concatenate(x) for x in zip(*rows))
        n = len(case)
        victims = pick_from_register(world.people, world.demo, year, np.full(n, ti), residence, female, age,
                                     salt=f"victim{year}")
        order = np.lexsort((case, report))
        kind, case, report, victims = kind[order], case[order], report[order], victims.take(order)
        new_case = np.ones(n, dtype=bool)
        new_case[1:] = case[1:] != case[:-1]
        case_no = np.cumsum(new_case)
        dv = kind == "domestic_violence"
        ids = victims.id_numbers().alias("victim_id_number")
        age_now = year - victims.c
        ids = blank_where(ids, rng.random(n) < np.where(kind == "trafficking", 0.4, np.where(age_now < 14, 0.15, 0.06)))
        warning = rng.random(n) < 0.35
        order_granted = rng.random(n) < 0.07
        frames.append(pl.DataFrame([
            numbered("case_id", f"A{tw.code}-{year}-", case_no, 5),
            ids,
            labels("victim_sex", SEX, victims.s),
            date_series("victim_birth_date", victims.birth_dates),
            constant("township_code", tw.code, n),
            pl.Series("case_type", kind.astype(str)),
            date_series("report_date", report),
            bool_series("warning_letter", warning, known=dv),
            bool_series("protection_order", order_granted, known=dv),
        ]))
        if len(frames) >= BATCH_TOWNSHIPS:
            yield pl.concat(frames)
            frames = []
    if frames:
        yield pl.concat(frames)


def legal_aid(world: World, year: int) -> Iterator[pl.DataFrame]:
    cal = world.calibration
    pop = world.demo.pop(year)
    names = list(LEGAL_AID)
    shares = [LEGAL_AID[k][0] for k in names]
    frames = []
    for ti, tw in enumerate(world.townships):
        rng = hashing.chunk_rng(world.seed, "legal_aid", year, tw.code_int)
        residents = pop[ti].sum(axis=(1, 2))
        expected = sum(cal.intensity("legal_aid", tw.code_int, year, r) * residents[r] / 100_000 for r in (0, 1))
        n = rng.poisson(expected)
        if n == 0:
            continue
        category = hashing.categorical(rng.random(n), shares)
        female = rng.random(n) < np.array([LEGAL_AID[k][1] for k in names])[category]
        lo = np.array([LEGAL_AID[k][2][0] for k in names])[category]
        hi = np.array([LEGAL_AID[k][2][1] for k in names])[category]
        age = lo + np.floor(rng.random(n) ** 1.3 * (hi - lo + 1)).astype(np.int64)
        residence = (rng.random(n) >= tw.urban_share).astype(np.int64)
        people = pick_from_register(world.people, world.demo, year, np.full(n, ti), residence,
                                    female.astype(np.int64), age, salt=f"legal_aid{year}")
        ids = blank_where(people.id_numbers().alias("id_number"), rng.random(n) < 0.02)
        frames.append(pl.DataFrame([
            numbered("aid_id", f"FY{tw.code}-{year}-", np.arange(1, n + 1), 5),
            ids,
            labels("sex", SEX, people.s),
            date_series("birth_date", people.birth_dates),
            constant("township_code", tw.code, n),
            pl.Series("category", np.array(names)[category]),
        ]))
        if len(frames) >= BATCH_TOWNSHIPS:
            yield pl.concat(frames)
            frames = []
    if frames:
        yield pl.concat(frames)
