"""People: identities and persistent attributes, computed on whole arrays.

A person is the `index`-th member of a block (township, residence, sex, birth
cohort). At the end of a year the people of a block who live in the district
are indices 0..N-1, N being the block's count in the demography; as N shrinks
the highest indices leave, as it grows new ones arrive. Everything about a
person - birth date, ID number, record numbers, propensities - is a hash of
that key, so the same child gets the same ID, student number and myopia
propensity in every file and every chunk, and nothing is held in memory
between chunks.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from sample_data import hashing, idnumbers
from sample_data.areas import Township
from sample_data.demography import MAX_AGE, Demography

DAY_STRIDE = 151            # coprime with 365 and 366: consecutive indices get well-spread birthdays
ELSEWHERE_WEIGHTS = np.array([16, 12, 14, 6, 10, 10, 10, 6, 4, 4, 2, 6], dtype=np.float64)
ORIGIN_GROUPS = len(ELSEWHERE_WEIGHTS) + 1    # group 0 = born locally
P_BORN_ELSEWHERE = (0.13, 0.05)               # urban, rural residents


def _days_in_year(year: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return np.where(leap, 366, 365).astype(np.int64)


class Population:
    """What the identity code needs to know about the run: townships, counties, seed."""

    def __init__(self, townships: list[Township], seed: int):
        self.townships = townships
        self.seed = seed
        self.tcode = np.array([t.code_int for t in townships], dtype=np.int64)
        self.county_index = np.array([t.county_index for t in townships], dtype=np.int64)
        self.county_code = np.array([int(t.county_code) for t in townships], dtype=np.int64)
        self.block_base = np.array([2 * t.rank_in_county for t in townships], dtype=np.int64)
        self.blocks_in_county = np.array([2 * t.townships_in_county for t in townships], dtype=np.int64)
        counties = sorted({t.county_code for t in townships}, key=lambda c: [t.county_code for t in townships].index(c))
        self.n_counties = len(counties)
        self.pool = np.array([int(c) for c in idnumbers.code_pool(counties)], dtype=np.int64)


@dataclass
class Persons:
    """A batch of people (parallel arrays)."""

    pop: Population
    t: np.ndarray       # township index
    r: np.ndarray       # 0 urban, 1 rural
    s: np.ndarray       # 0 male, 1 female
    c: np.ndarray       # birth cohort (calendar year of birth)
    i: np.ndarray       # index within the block

    def __post_init__(self) -> None:
        packed = (
            (self.pop.tcode[self.t].astype(np.uint64) << np.uint64(16))
            | (self.r.astype(np.uint64) << np.uint64(15))
            | (self.s.astype(np.uint64) << np.uint64(14))
            | (self.c.astype(np.uint64) & np.uint64(0x3FFF))
        )
        self._block = hashing.combine(packed, hashing.key(self.pop.seed, "block"))
        self._dates: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.i)

    def take(self, mask_or_index: np.ndarray) -> Persons:
        sel = mask_or_index
        return Persons(self.pop, self.t[sel], self.r[sel], self.s[sel], self.c[sel], self.i[sel])

    # --- persistent attributes -------------------------------------------------------------
    def u(self, name: str) -> np.ndarray:
        """A uniform number fixed for this person and attribute name."""
        return hashing.to_unit(hashing.combine(self._block ^ np.uint64(hashing.key(name)), self.i))

    def z(self, name: str) -> np.ndarray:
        """A standard normal number fixed for this person and attribute name."""
        u1 = np.maximum(self.u(name + "/1"), 1e-300)
        u2 = self.u(name + "/2")
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def u_year(self, name: str, year: int) -> np.ndarray:
        """A uniform number for this person that changes from year to year."""
        return self.u(f"{name}@{year}")

    # --- identity ----------------------------------------------------------------------------
    @property
    def birth_dates(self) -> np.ndarray:
        if self._dates is None:
            days = _days_in_year(self.c)
            shift = (hashing.combine(self._block, hashing.key("bday")) % days.astype(np.uint64)).astype(np.int64)
            day = (DAY_STRIDE * self.i + shift) % days
            start = (self.c - 1970).astype("datetime64[Y]").astype("datetime64[D]")
            self._dates = start + day.astype("timedelta64[D]")
        return self._dates

    @property
    def born_elsewhere(self) -> np.ndarray:
        p = np.where(self.r == 0, P_BORN_ELSEWHERE[0], P_BORN_ELSEWHERE[1])
        return self.u("born_elsewhere") < p

    def id_numbers(self) -> pl.Series:
        days = _days_in_year(self.c)
        slot = self.i // days
        v = slot * self.pop.blocks_in_county[self.t] + self.pop.block_base[self.t] + self.r
        lane = v // idnumbers.SEQ_PER_LANE
        seq = v % idnumbers.SEQ_PER_LANE
        group = np.where(self.born_elsewhere, 1 + hashing.categorical(self.u("origin"), ELSEWHERE_WEIGHTS), 0)
        local = (group == 0) & (lane == 0)
        pool_index = (lane * self.pop.n_counties + self.pop.county_index[self.t]) * ORIGIN_GROUPS + group - 1
        pool_index = np.clip(pool_index, 0, len(self.pop.pool) - 1)
        codes = np.where(local, self.pop.county_code[self.t], self.pop.pool[pool_index])
        return idnumbers.build(codes, self.birth_dates, seq, self.s == 0)

    def record_numbers(self, name: str) -> np.ndarray:
        """A unique 14-digit number per person for `name` (student numbers, child-health numbers)."""
        packed = (
            (self.t.astype(np.uint64) << np.uint64(34))
            | (self.r.astype(np.uint64) << np.uint64(33))
            | (self.s.astype(np.uint64) << np.uint64(32))
            | (((self.c - 1880) & 0xFF).astype(np.uint64) << np.uint64(24))
            | self.i.astype(np.uint64)
        )
        return hashing.bijective_number(packed, 46, hashing.key(self.pop.seed, name)).astype(np.int64)

    def ages_at(self, when: np.datetime64 | np.ndarray) -> np.ndarray:
        """Completed years of age at a date (or per-person dates)."""
        by, bm, bd = idnumbers.date_parts(self.birth_dates)
        wy, wm, wd = idnumbers.date_parts(np.broadcast_to(np.asarray(when, dtype="datetime64[D]"), self.birth_dates.shape))
        before = (wm < bm) | ((wm == bm) & (wd < bd))
        return wy - by - before.astype(np.int64)


def concat(parts: Sequence[Persons]) -> Persons:
    pop = parts[0].pop
    return Persons(pop, *(np.concatenate([getattr(p, f) for p in parts]) for f in ("t", "r", "s", "c", "i")))


def register(
    demo: Demography,
    pop: Population,
    year: int,
    township: int,
    cohorts: Sequence[int],
    sexes: Sequence[int] = (0, 1),
    residences: Sequence[int] = (0, 1),
    max_persons: int = 250_000,
) -> Iterator[Persons]:
    """The people of one township living there at the end of `year`, in chunks of at most ~max_persons.

    Chunks are whole blocks grouped in a fixed order, so chunking depends only on the sizes.
    """
    blocks = []
    for c in cohorts:
        if not 0 <= year - c < MAX_AGE:
            continue
        sizes = demo.cohort_size(year, c)[township]
        for r in residences:
            for s in sexes:
                if sizes[r, s] > 0:
                    blocks.append((r, s, c, int(sizes[r, s])))
    batch: list[tuple[int, int, int, int]] = []
    total = 0
    for block in blocks:
        if batch and total + block[3] > max_persons:
            yield _materialise(pop, township, batch)
            batch, total = [], 0
        batch.append(block)
        total += block[3]
    if batch:
        yield _materialise(pop, township, batch)


def _materialise(pop: Population, township: int, blocks: list[tuple[int, int, int, int]]) -> Persons:
    r, s, c, n = (np.array(x, dtype=np.int64) for x in zip(*blocks))
    total = int(n.sum())
    starts = np.repeat(np.cumsum(n) - n, n)
    index = np.arange(total, dtype=np.int64) - starts
    return Persons(pop, np.full(total, township, dtype=np.int64), np.repeat(r, n), np.repeat(s, n), np.repeat(c, n), index)


def with_birth_dates(
    pop: Population,
    demo: Demography,
    township: np.ndarray,
    residence: np.ndarray,
    sex: np.ndarray,
    dates: np.ndarray,
    year_slot: int,
    n_year_slots: int,
) -> Persons:
    """People outside the living register who were born on given dates (for death records).

    Their indices lie above every index the cohort ever uses, so a dead person
    never reappears alive in another file; `year_slot` (0..n_year_slots-1, the
    file's position among the generated years) keeps different years apart, and
    a rank keeps people with the same block and birthday apart within a year.
    """
    cohort = idnumbers.date_parts(dates)[0]
    n = len(dates)
    probe = Persons(pop, township, residence, sex, cohort, np.zeros(n, dtype=np.int64))
    days = _days_in_year(cohort)
    shift = (hashing.combine(probe._block, hashing.key("bday")) % days.astype(np.uint64)).astype(np.int64)
    day = (dates.astype("datetime64[D]") - (cohort - 1970).astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    inverse = np.where(days == 365, pow(DAY_STRIDE, -1, 365), pow(DAY_STRIDE, -1, 366))
    base_index = ((day - shift) % days) * inverse % days
    top = np.zeros(n, dtype=np.int64)
    for c in np.unique(cohort):
        sel = cohort == c
        top[sel] = demo.cohort_top(int(c))[township[sel], residence[sel], sex[sel]]
    slot_base = top // days + 1
    # Rank among people of the same block and birthday in this batch.
    order = np.lexsort((np.arange(n), day, cohort, sex, residence, township))
    keys = np.stack([township, residence, sex, cohort, day])[:, order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = np.any(keys[:, 1:] != keys[:, :-1], axis=0)
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start
    slot = slot_base + year_slot + n_year_slots * rank
    return Persons(pop, township, residence, sex, cohort, base_index + slot * days)


def group_rank(*keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within groups of equal keys, in input order (a vectorised cumcount)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), *reversed(keys)))
    stacked = np.stack([np.asarray(k)[order] for k in keys])
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = np.any(stacked[:, 1:] != stacked[:, :-1], axis=0)
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start
    return rank


def births_of(pop: Population, demo: Demography, township: int, cohort: int) -> Persons:
    """Every baby born in `cohort` in a township: indices 0..births-1 of each block."""
    sizes = demo.births_in(cohort)[township]
    blocks = [(r, s, cohort, int(sizes[r, s])) for r in (0, 1) for s in (0, 1) if sizes[r, s] > 0]
    if not blocks:
        z = np.zeros(0, dtype=np.int64)
        return Persons(pop, z, z, z, z, z)
    return _materialise(pop, township, blocks)


def pick_from_register(
    pop: Population,
    demo: Demography,
    year: int,
    township: np.ndarray,
    residence: np.ndarray,
    sex: np.ndarray,
    age: np.ndarray,
    salt: str,
    spread: int = 0,
    stride: int = 1,
    size_years: Sequence[int] | None = None,
) -> Persons:
    """Distinct living people of given township, residence, sex and age at the end of `year`.

    Within a (township, residence, sex, cohort) group the k-th request gets index
    (k·P + shift) mod N, a permutation of the block, so requests never collide
    while k < N. A block that is empty falls back to the other residence, then
    to neighbouring ages. `stride` and `spread` map k to k·stride + spread, so
    callers drawing from the same blocks at different times (committee terms)
    stay apart. With `size_years`, N is the smallest count of the block over
    those years: the same permutation then serves draws made in each of them,
    and the people drawn live in all of them.
    """
    township = np.asarray(township, dtype=np.int64)
    residence = np.asarray(residence, dtype=np.int64).copy()
    sex = np.asarray(sex, dtype=np.int64)
    age = np.clip(np.asarray(age, dtype=np.int64), 0, MAX_AGE - 1).copy()
    stock = demo.pop(year)
    size = stock[township, residence, sex, age].astype(np.int64)
    for shift in (0, 1, -1, 2, -2, 3, -3, 5, -5, 8, -8):
        missing = size == 0
        if not missing.any():
            break
        for rr in (0, 1):
            cand_age = np.clip(age + shift, 0, MAX_AGE - 1)
            cand = stock[township, np.full_like(residence, rr), sex, cand_age].astype(np.int64)
            take = missing & (cand > 0) & (size == 0)
            residence[take] = rr
            age[take] = cand_age[take]
            size[take] = cand[take]
    cohort = year - age
    if size_years is not None:
        for other in size_years:
            other_age = other - cohort
            inside = (other_age >= 0) & (other_age < MAX_AGE)
            other_size = demo.pop(other)[township, residence, sex, np.clip(other_age, 0, MAX_AGE - 1)]
            size = np.where(inside, np.minimum(size, other_size), size)
    size = np.maximum(size, 1)
    rank = group_rank(township, residence, sex, cohort) * stride + spread
    probe = Persons(pop, township, residence, sex, cohort, np.zeros(len(cohort), dtype=np.int64))
    shift = (hashing.combine(probe._block, hashing.key(pop.seed, salt)) % size.astype(np.uint64)).astype(np.int64)
    index = (rank * 1_000_003 + shift) % size
    return Persons(pop, township, residence, sex, cohort, index)
