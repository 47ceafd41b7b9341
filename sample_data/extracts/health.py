"""health/*: births, deaths, child health and cancer screening (妇幼保健信息系统).

All four use the maternal and child health statistical year: 1 October of
Y−1 to 30 September of Y; every event date falls inside it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import polars as pl

from sample_data import hashing, idnumbers
from sample_data.demography import FEMALE, death_probability
from sample_data.persons import (
    Persons,
    births_of,
    concat,
    pick_from_register,
    register,
    with_birth_dates,
)
from sample_data.world import (
    RESIDENCE,
    SEX,
    World,
    blank_where,
    bool_series,
    constant,
    date_series,
    labels,
    np_date,
    numbered,
    period,
    random_dates,
)

# Gestational age at birth (weeks 24–42): ~5.5 % preterm.
_GESTATION_WEEKS = np.arange(24, 43)
_GESTATION_P = np.array([0.0005, 0.0005, 0.0005, 0.0005, 0.0015, 0.0015, 0.0015, 0.0015, 0.003, 0.004,
                         0.008, 0.013, 0.019, 0.10, 0.25, 0.30, 0.19, 0.09, 0.015])


# ----------------------------------------------------------------------------------------------
# births
# ----------------------------------------------------------------------------------------------
def births(world: World, year: int) -> Iterator[pl.DataFrame]:
    extract = world.contracts.extracts["births"]
    start, end = period(extract, year)
    for ti, _township in enumerate(world.townships):
        babies = concat([births_of(world.people, world.demo, ti, c) for c in (year - 1, year)])
        dates = babies.birth_dates
        babies = babies.take((dates >= np_date(start)) & (dates <= np_date(end)))
        if len(babies) == 0:
            continue
        babies = babies.take(np.argsort(babies.birth_dates, kind="stable"))
        yield _birth_rows(world, year, ti, babies, end)


def _mothers(world: World, year_of_birth: np.ndarray, babies: Persons, rng: np.random.Generator) -> Persons:
    """A distinct mother for every birth of the statistical year, living in the baby's township.

    Births of October–December and of January–September are drawn from one
    permutation (the smaller of the two years' counts, even and odd positions),
    so the same woman is not given two babies a few months apart.
    """
    rural = babies.r == 1
    age = np.clip(np.rint(rng.normal(np.where(rural, 28.2, 29.8), 4.8)), 17, 46).astype(np.int64)
    years = [int(y) for y in np.unique(year_of_birth)]
    parts, order = [], []
    for y in years:
        sel = np.flatnonzero(year_of_birth == y)
        mothers = pick_from_register(
            world.people, world.demo, y, babies.t[sel], babies.r[sel], np.full(len(sel), FEMALE),
            age[sel], salt="mother", stride=2, spread=y % 2, size_years=years,
        )
        parts.append(mothers)
        order.append(sel)
    mothers = concat(parts)
    inverse = np.empty(len(babies), dtype=np.int64)
    inverse[np.concatenate(order)] = np.arange(len(babies))
    return mothers.take(inverse)


def _birth_rows(world: World, year: int, ti: int, babies: Persons, end: dt.date) -> pl.DataFrame:
    tw = world.townships[ti]
    cal = world.calibration
    rng = hashing.chunk_rng(world.seed, "births", year, tw.code_int)
    n = len(babies)
    rural = babies.r == 1
    male = babies.s == 0
    bdates = babies.birth_dates
    birth_year = idnumbers.date_parts(bdates)[0]
    mothers = _mothers(world, birth_year, babies, rng)

    def p(name: str) -> np.ndarray:
        return np.broadcast_to(cal.p(name, tw.code_int, year, rural), (n,))

    def yes(name: str) -> np.ndarray:
        return rng.random(n) < p(name)

    weeks = _GESTATION_WEEKS[hashing.categorical(rng.random(n), _GESTATION_P)]
    # Birth weight by gestational age (about 3.5 % under 2,500 g, mostly preterm babies).
    term_mean = 3330 + 110 * male - 40 * rural
    mean = np.select([weeks >= 37, weeks >= 35],
                     [term_mean - 110 * np.maximum(39.5 - weeks, 0), term_mean - 275 - 190 * (37 - weeks)],
                     term_mean - 655 - 250 * (35 - weeks))
    weight = np.clip(np.rint(rng.normal(mean, np.where(weeks >= 37, 340, 330)) / 10) * 10, 450, 5600).astype(np.int64)

    # Early registration, five antenatal visits and the postpartum visit go together: a woman who
    # registers early usually completes the schedule. A shared uniform makes them correlated.
    engaged = rng.random(n)

    def correlated() -> np.ndarray:
        return np.where(rng.random(n) < 0.85, engaged, rng.random(n))

    never_registered = rng.random(n) < 0.004
    early = correlated() < p("early_registration")
    reg_week = np.where(early, rng.choice(np.arange(6, 14), n, p=_EARLY_WEEKS), 14 + np.floor(17 * rng.random(n) ** 2))
    antenatal = np.where(
        correlated() < p("antenatal_5"), np.minimum(5 + rng.poisson(3.5, n), 20), rng.integers(1, 5, n)
    )
    postpartum = correlated() < p("postpartum_visit")
    antenatal = np.where(never_registered, rng.integers(0, 3, n), antenatal)

    tested_all = rng.random(n) < p("tested_all")
    tested = [tested_all | (rng.random(n) < 0.6) for _ in range(3)]
    prevalence = (0.0002, 0.0025, np.where(rural, 0.062, 0.052))
    positive = [t & (rng.random(n) < prev) for t, prev in zip(tested, prevalence)]
    infected = positive[0] | positive[1] | positive[2]
    hiv_pos, syph_pos = positive[0], positive[1]

    # Exclusive breastfeeding to 6 months is only known for babies 6 months old by the period end.
    bf_known = bdates <= np_date(end) - np.timedelta64(183, "D")
    mother_ids = blank_where(mothers.id_numbers().alias("mother_id_number"), rng.random(n) < 0.003)
    # B + township + year of birth + residence + sex + index: unique for ever.
    birth_ids = numbered("birth_id", f"B{tw.code}",
                         babies.c * 10**9 + (babies.r + 1) * 10**8 + (babies.s + 1) * 10**7 + babies.i)
    return pl.DataFrame([
        birth_ids,
        mother_ids,
        date_series("mother_birth_date", mothers.birth_dates),
        constant("township_code", tw.code, n),
        labels("residence", RESIDENCE, mothers.r),
        labels("child_sex", SEX, babies.s),
        date_series("birth_date", bdates),
        pl.Series("birth_weight_g", weight),
        pl.Series("gestation_weeks", weeks.astype(np.int64)),
        bool_series("hospital_delivery", yes("hospital_delivery")),
        blank_where(pl.Series("registered_week", reg_week.astype(np.int64)), never_registered),
        pl.Series("antenatal_visits", antenatal.astype(np.int64)),
        bool_series("postpartum_visit", postpartum),
        bool_series("hiv_tested", tested[0]),
        bool_series("syphilis_tested", tested[1]),
        bool_series("hbv_tested", tested[2]),
        bool_series("hiv_positive", positive[0], known=tested[0]),
        bool_series("syphilis_positive", positive[1], known=tested[1]),
        bool_series("hbv_positive", positive[2], known=tested[2]),
        bool_series("mother_treated", yes("mother_treated"), known=infected),
        bool_series("infant_treated", yes("infant_treated"), known=infected),
        bool_series("hiv_infant_infected", rng.random(n) < 0.03, known=hiv_pos),
        bool_series("congenital_syphilis", syph_pos & (rng.random(n) < 0.04)),
        bool_series("prepregnancy_check", yes("prepregnancy_check")),
        bool_series("prenatal_screened", yes("prenatal_screened")),
        bool_series("newborn_screened", yes("newborn_screened")),
        bool_series("newborn_visited", yes("newborn_visited")),
        bool_series("exclusive_breastfeeding_6m", yes("exclusive_breastfeeding"), known=bf_known),
    ])


_EARLY_WEEKS = np.array([0.04, 0.09, 0.13, 0.16, 0.17, 0.16, 0.14, 0.11])
_EARLY_WEEKS = _EARLY_WEEKS / _EARLY_WEEKS.sum()


# ----------------------------------------------------------------------------------------------
# deaths
# ----------------------------------------------------------------------------------------------
INFANT_DISEASE = ["P07.3", "P21.9", "Q24.9", "P36.9", "J18.9", "Q89.9", "P22.0", "P77", "Q03.9", "A41.9"]
INFANT_INJURY = ["W75", "W79", "W78", "W69"]
CHILD_DISEASE = ["C91.0", "C71.9", "G40.9", "J18.9", "Q24.9", "I42.0", "D61.9", "N04.9", "G93.4", "A41.9"]
CHILD_INJURY = ["W69", "W74", "W65", "W67", "W69.9", "V89.2", "V03.1", "W19", "X49", "X70", "W87", "W84"]
CHILD_INJURY_P = [0.17, 0.13, 0.08, 0.06, 0.05, 0.16, 0.08, 0.08, 0.05, 0.05, 0.05, 0.04]
WOMEN_DISEASE_YOUNG = ["C50.9", "C53.9", "I42.0", "C16.9", "J18.9", "G40.9", "N18.9", "C91.0"]
WOMEN_DISEASE_OLDER = ["C50.9", "C53.9", "C34.9", "C16.9", "C22.0", "C18.9", "I21.9", "I61.9", "I63.9",
                       "E14.9", "J44.9", "N18.9", "K74.6", "C56"]
WOMEN_INJURY = ["V89.2", "X70", "W19", "W69", "X68", "V03.1"]
MATERNAL = ["O72.1", "O15.0", "O88.1", "O99.4", "O14.1", "O45.9"]
DROWNING = tuple(f"W{n}" for n in range(65, 75))


def _under_dispersed(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Counts whose district total varies half as much as Poisson, spread over cells by expectation.

    A district's infant mortality drifts from year to year; it does not double.
    """
    total_expected = float(expected.sum())
    if total_expected <= 0:
        return np.zeros(expected.shape, dtype=np.int64)
    total = max(0, int(round(total_expected + 0.5 * np.sqrt(total_expected) * rng.standard_normal())))
    return rng.multinomial(total, (expected / total_expected).ravel()).reshape(expected.shape)


def _expected_maternal(world: World, year: int) -> float:
    births = (world.demo.births_in(year - 1).sum(axis=-1) * 92 + world.demo.births_in(year).sum(axis=-1) * 273) / 365
    rate = np.array([[world.calibration.intensity("maternal_deaths", t.code_int, year, r) for r in (0, 1)]
                     for t in world.townships])
    return float((births * rate).sum() / 100_000)


def _maternal_count(world: World, year: int) -> int:
    """Maternal deaths in the year: systematic sampling of the running expectation.

    At district scale about one every three years (MMR ~12/100,000 with ~2,500
    births): a death occurs in the year the cumulated expectation crosses an
    integer, so the long-run rate is right and a year never has two.
    """
    phase = hashing.scalar_uniform(world.seed, "maternal_phase")
    cumulated = phase
    for y in range(world.demo.first_year + 1, year):
        cumulated += _expected_maternal(world, y)
    return int(np.floor(cumulated + _expected_maternal(world, year)) - np.floor(cumulated))


def deaths(world: World, year: int) -> Iterator[pl.DataFrame]:
    extract = world.contracts.extracts["deaths"]
    start, end = period(extract, year)
    demo, cal = world.demo, world.calibration
    rng = hashing.chunk_rng(world.seed, "deaths", year)
    n_t = len(world.townships)
    codes = [t.code_int for t in world.townships]
    births_tr = (demo.births_in(year - 1).sum(axis=-1) * 92 + demo.births_in(year).sum(axis=-1) * 273) / 365.0
    rates = {
        name: np.array([[cal.intensity(name, codes[t], year, r) for r in (0, 1)] for t in range(n_t)])
        for name in ("infant_deaths", "child_1to4_deaths", "maternal_deaths")
    }
    infant = _under_dispersed(rng, births_tr * rates["infant_deaths"] / 1000)
    toddler = _under_dispersed(rng, births_tr * rates["child_1to4_deaths"] / 1000)
    expected_maternal = births_tr * rates["maternal_deaths"] / 100_000
    maternal = rng.multinomial(_maternal_count(world, year), (expected_maternal / expected_maternal.sum()).ravel()) \
        .reshape(expected_maternal.shape)
    q = death_probability(year)
    stock = demo.pop(year - 1).astype(np.float64)                      # [t, r, s, age]
    older_children = rng.poisson(stock[..., 5:18] * q[None, None, :, 5:18] * 1.1)
    women = rng.poisson(stock[:, :, FEMALE, 18:65] * q[None, None, FEMALE, 18:65])

    frames = []
    for ti in range(n_t):
        rows = _death_rows(world, year, ti, rng, start, end, infant[ti], toddler[ti], maternal[ti],
                           older_children[ti], women[ti])
        if rows is not None:
            frames.append(rows)
        if sum(f.height for f in frames) > 200_000:
            yield pl.concat(frames)
            frames = []
    if frames:
        yield pl.concat(frames)


def _death_rows(world, year, ti, rng, start, end, infant, toddler, maternal, older_children, women):
    tw = world.townships[ti]
    parts = []  # (residence, sex, age_days, group)
    for r in (0, 1):
        n = int(infant[r])
        if n:
            neonatal = rng.random(n) < 0.52
            days = np.where(neonatal, np.where(rng.random(n) < 0.75, rng.integers(0, 7, n), rng.integers(7, 28, n)),
                            28 + np.floor(336 * rng.random(n) ** 1.6).astype(np.int64))
            parts.append((np.full(n, r), (rng.random(n) < 0.44).astype(np.int64), days, np.full(n, 0)))
        n = int(toddler[r])
        if n:
            parts.append((np.full(n, r), (rng.random(n) < 0.43).astype(np.int64),
                          365 + rng.integers(0, 1460, n), np.full(n, 1)))
        n = int(maternal[r])
        if n:
            age = np.clip(np.rint(rng.normal(30, 5, n)), 19, 45).astype(np.int64)
            parts.append((np.full(n, r), np.full(n, FEMALE), age * 365 + rng.integers(0, 365, n), np.full(n, 4)))
        for s in (0, 1):
            counts = older_children[r, s]
            if counts.sum():
                age = np.repeat(np.arange(5, 18), counts)
                parts.append((np.full(len(age), r), np.full(len(age), s),
                              np.floor(age * 365.25).astype(np.int64) + rng.integers(0, 365, len(age)),
                              np.full(len(age), 2)))
        counts = women[r]
        if counts.sum():
            age = np.repeat(np.arange(18, 65), counts)
            parts.append((np.full(len(age), r), np.full(len(age), FEMALE),
                          np.floor(age * 365.25).astype(np.int64) + rng.integers(0, 365, len(age)),
                          np.full(len(age), 3)))
    if not parts:
        return None
    r, s, age_days, group = (np.concatenate(x).astype(np.int64) for x in zip(*parts))
    n = len(r)
    rural = r == 1
    injury_share = np.select([group == 0, group == 1, group == 2, group == 3],
                             [0.07, 0.45, 0.58, np.where(age_days < 35 * 365, 0.35, 0.10)], 0.0)
    injury = rng.random(n) < injury_share * np.where(rural, 1.15, 0.9)
    cause = np.empty(n, dtype=object)
    for g, disease, hurt, hurt_p in (
        (0, INFANT_DISEASE, INFANT_INJURY, None),
        (1, CHILD_DISEASE, CHILD_INJURY, CHILD_INJURY_P),
        (2, CHILD_DISEASE, CHILD_INJURY, CHILD_INJURY_P),
    ):
        sel = group == g
        cause[sel & ~injury] = rng.choice(disease, (sel & ~injury).sum())
        cause[sel & injury] = rng.choice(hurt, (sel & injury).sum(), p=hurt_p)
    sel = group == 3
    young = age_days < 35 * 365
    cause[sel & ~injury & young] = rng.choice(WOMEN_DISEASE_YOUNG, (sel & ~injury & young).sum())
    cause[sel & ~injury & ~young] = rng.choice(WOMEN_DISEASE_OLDER, (sel & ~injury & ~young).sum())
    cause[sel & injury] = rng.choice(WOMEN_INJURY, (sel & injury).sum())
    sel = group == 4
    cause[sel] = rng.choice(MATERNAL, sel.sum())
    injury[sel] = False
    cause = cause.astype(str)

    death_date = random_dates(rng, start, end, n)
    # Drowning happens in summer: most of them move to June–August.
    drowning = np.isin(cause.astype("<U3"), DROWNING) & (rng.random(n) < 0.7)
    summer = random_dates(rng, dt.date(year, 6, 1), dt.date(year, 8, 31), n)
    death_date = np.where(drowning, summer, death_date)
    birth_date = death_date - age_days.astype("timedelta64[D]")
    people = with_birth_dates(world.people, world.demo, np.full(n, ti), r, s, birth_date,
                              world.year_slot(year), world.n_year_slots)
    order = np.argsort(death_date, kind="stable")
    people, death_date, age_days, group, injury, cause = (
        people.take(order), death_date[order], age_days[order], group[order], injury[order], cause[order]
    )
    ids = people.id_numbers().alias("id_number")
    blank_p = np.where(age_days < 28, 0.7, np.where(age_days < 365, 0.35, np.where(age_days < 5 * 365, 0.05, 0.01)))
    ids = blank_where(ids, rng.random(n) < blank_p)
    woman = (people.s == FEMALE) & (age_days >= 10 * 365.25)
    return pl.DataFrame([
        numbered("death_id", f"D{tw.code}-{year}-", np.arange(1, n + 1), 5),
        ids,
        labels("sex", SEX, people.s),
        date_series("birth_date", people.birth_dates),
        date_series("death_date", death_date),
        constant("township_code", tw.code, n),
        labels("residence", RESIDENCE, people.r),
        bool_series("maternal_death", group == 4, known=woman),
        bool_series("injury_death", injury),
        pl.Series("cause_icd10", cause),
        # Helper for defect injection: never turn a maternal death into a man.
        pl.Series("__keep_sex", group == 4),
    ])


# ----------------------------------------------------------------------------------------------
# child health
# ----------------------------------------------------------------------------------------------
def child_health(world: World, year: int) -> Iterator[pl.DataFrame]:
    extract = world.contracts.extracts["child_health"]
    _, end = period(extract, year)
    end64 = np_date(end)
    seven_years_before = np_date(dt.date(end.year - 7, end.month, end.day))
    cal = world.calibration
    for ti, tw in enumerate(world.townships):
        for chunk_no, kids in enumerate(register(world.demo, world.people, year, ti, range(year - 7, year + 1),
                                                 max_persons=world.chunk_persons)):
            bd = kids.birth_dates
            kids = kids.take((bd <= end64) & (bd > seven_years_before))
            if len(kids) == 0:
                continue
            age = kids.ages_at(end64)
            rural = kids.r == 1
            cover = np.where(age < 3, cal.p("covered_under3", tw.code_int, year, rural),
                             cal.p("covered_3to6", tw.code_int, year, rural))
            kids = kids.take(kids.u("child_health_cover") < cover)
            if len(kids) == 0:
                continue
            kids = kids.take(np.argsort(kids.birth_dates, kind="stable"))
            yield _child_rows(world, year, tw, kids, end64, chunk_no)


def _child_rows(world: World, year: int, tw, kids: Persons, end64, chunk_no: int) -> pl.DataFrame:
    cal = world.calibration
    rng = hashing.chunk_rng(world.seed, "child_health", year, tw.code_int, chunk_no)
    n = len(kids)
    rural = kids.r == 1
    age = kids.ages_at(end64)
    months = ((end64 - kids.birth_dates).astype(np.int64) / 30.44).astype(np.int64)

    def p(name: str) -> np.ndarray:
        return np.broadcast_to(cal.p(name, tw.code_int, year, rural), (n,))

    scheduled = np.where(age < 1, np.clip(months // 3 + 1, 1, 4), np.where(age < 3, 2, 1))
    checks = rng.binomial(scheduled, 0.97) + (rng.random(n) < 0.08)
    checked = checks > 0
    hb_measured = (months >= 6) & (months < 60) & (rng.random(n) < p("hemoglobin_measured"))
    hb_mean = 123.5 + 1.5 * cal.township_effect("hemoglobin", tw.code_int) - 2.0 * rural + 0.3 * (year - 2020)
    hemoglobin = np.clip(np.rint(rng.normal(hb_mean, 9.5)), 60, 180)
    haz_measured = rng.random(n) < p("height_measured")
    haz_mean = -0.12 - 0.2 * rural + 0.12 * cal.township_effect("stunting", tw.code_int)
    haz = np.round(np.clip(rng.normal(haz_mean, 1.0), -6, 6), 2)
    ids = blank_where(kids.id_numbers().alias("id_number"), rng.random(n) < np.where(months < 6, 0.08, 0.01))
    return pl.DataFrame([
        numbered("child_record_id", "ET", kids.record_numbers("child_health"), 14),
        ids,
        labels("sex", SEX, kids.s),
        date_series("birth_date", kids.birth_dates),
        constant("township_code", tw.code, n),
        labels("residence", RESIDENCE, kids.r),
        pl.Series("health_checks", checks.astype(np.int64)),
        bool_series("systematic_management", checked & (rng.random(n) < p("systematic_management")), known=age < 3),
        bool_series("vision_checked", checked & (rng.random(n) < p("vision_checked"))),
        blank_where(pl.Series("hemoglobin_g_l", hemoglobin.astype(np.float64)), ~hb_measured),
        blank_where(pl.Series("height_for_age_z", haz), ~haz_measured),
        bool_series("fully_immunized", rng.random(n) < p("fully_immunized"), known=age >= 1),
    ])


# ----------------------------------------------------------------------------------------------
# cancer screening
# ----------------------------------------------------------------------------------------------
def cancer_screening(world: World, year: int) -> Iterator[pl.DataFrame]:
    extract = world.contracts.extracts["cancer_screening"]
    start, end = period(extract, year)
    cal = world.calibration
    for ti, tw in enumerate(world.townships):
        counter = 0
        chunks = register(world.demo, world.people, year, ti, range(year - 66, year - 33), sexes=(FEMALE,),
                          max_persons=world.chunk_persons)
        for chunk_no, women in enumerate(chunks):
            rural = women.r == 1
            rows = []
            for kind, phase, part, rate in (("cervical", "cx_phase", "cx_part", "cervical_participation"),
                                            ("breast", "br_phase", "br_part", "breast_participation")):
                due = (year + np.floor(3 * women.u(phase)).astype(np.int64)) % 3 == 0
                takes_part = women.u(part) < cal.p(rate, tw.code_int, year, rural)
                rows.append((kind, women.take(due & takes_part)))
            frame = _screening_rows(world, year, tw, rows, start, end, chunk_no, counter)
            if frame.height:
                counter += frame.height
                yield frame


def _screening_rows(world, year, tw, rows, start, end, chunk_no, counter) -> pl.DataFrame:
    cal = world.calibration
    rng = hashing.chunk_rng(world.seed, "cancer_screening", year, tw.code_int, chunk_no)
    kinds = np.concatenate([np.full(len(p), k) for k, (_, p) in enumerate(rows)])   # 0 cervical, 1 breast
    women = concat([p for _, p in rows])
    n = len(women)
    when = random_dates(rng, start, end, n)
    age = women.ages_at(when)
    keep = (age >= 35) & (age <= 64)
    women, kinds, when = women.take(keep), kinds[keep], when[keep]
    n = len(women)
    order = np.argsort(when, kind="stable")
    women, kinds, when = women.take(order), kinds[order], when[order]
    cervical = kinds == 0
    wobble = np.exp(0.2 * cal.wobble("screen_abnormal", tw.code_int, year))
    u = rng.random(n)
    cancer = u < np.where(cervical, 0.00025, 0.00045)
    abnormal = ~cancer & (u < np.where(cervical, 0.012, 0.009) * wobble)
    result = np.where(cancer, 2, np.where(abnormal, 1, 0))
    treated = rng.random(n) < cal.p("cancer_treated", tw.code_int, year)
    ids = blank_where(women.id_numbers().alias("id_number"), rng.random(n) < 0.003)
    return pl.DataFrame([
        numbered("screening_id", f"SC{tw.code}-{year}-", counter + np.arange(1, n + 1), 7),
        ids,
        date_series("birth_date", women.birth_dates),
        constant("township_code", tw.code, n),
        labels("residence", RESIDENCE, women.r),
        labels("screening_type", ("cervical", "breast"), kinds),
        date_series("screening_date", when),
        labels("result", ("normal", "abnormal", "cancer"), result),
        bool_series("treated", treated, known=cancer),
    ])
