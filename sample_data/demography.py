"""The population behind every extract: a cohort-component projection by township.

Start: an end-2000 age–sex pyramid shaped by China's birth history (the
1959–61 famine trough, the 1962–75 boom, the 1985–92 echo), scaled so that the
district has ~280,000 residents at the end of 2020 (scale 1.0). Each year the
stock ages by one year with Gompertz–Makeham mortality (slowly improving) and
net migration by age and residence (young adults move from villages to the
city), and a new cohort is born: the district's births follow a local series
(about 3,200 a year around 2010, a two-child peak in 2016–17, then a decline to
about 2,300 in 2024) split over townships by women aged 20–39 and a township
fertility factor, and over sexes by a sex ratio at birth that fell from the
high values of the 2000s to about 105–112.

Everything is small arrays (year × township × residence × sex × age), so this
costs nothing even for a province; person-level extracts draw individuals from
these counts (persons.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sample_data import hashing
from sample_data.areas import Township

MODEL_START = 2000          # end-of-year stock that the projection starts from
CALIBRATION_YEAR = 2020     # census year: total population is fixed here
DISTRICT_POPULATION = 280_000
MAX_AGE = 100               # open age group 100+
URBAN, RURAL = 0, 1
MALE, FEMALE = 0, 1

# Births in China by year, millions (relative cohort sizes for the starting pyramid).
_NATIONAL_BIRTHS = {
    1900: 16.0, 1930: 18.0, 1940: 17.0, 1945: 17.0, 1949: 19.0, 1950: 20.2, 1952: 20.8, 1954: 22.5,
    1956: 19.6, 1957: 21.7, 1958: 19.1, 1959: 16.5, 1960: 13.9, 1961: 11.9, 1962: 24.6, 1963: 29.6,
    1964: 27.3, 1965: 27.0, 1966: 25.8, 1967: 25.6, 1968: 27.6, 1969: 27.2, 1970: 27.4, 1971: 25.7,
    1972: 25.5, 1973: 24.6, 1974: 22.3, 1975: 21.0, 1976: 18.5, 1977: 17.9, 1978: 17.5, 1979: 17.3,
    1980: 17.8, 1981: 20.6, 1982: 22.3, 1983: 20.5, 1984: 20.5, 1985: 22.0, 1986: 23.8, 1987: 25.3,
    1988: 24.6, 1989: 24.1, 1990: 23.9, 1991: 22.6, 1992: 21.2, 1993: 21.3, 1994: 21.0, 1995: 20.6,
    1996: 20.7, 1997: 20.4, 1998: 19.4, 1999: 18.3, 2000: 17.7,
}
# Live births in the district (scale 1.0); later years decline by 2 % a year.
_DISTRICT_BIRTHS = {
    2001: 3000, 2002: 2950, 2003: 2900, 2004: 2950, 2005: 3000, 2006: 3050, 2007: 3150, 2008: 3200,
    2009: 3200, 2010: 3150, 2011: 3150, 2012: 3300, 2013: 3250, 2014: 3350, 2015: 3250, 2016: 3550,
    2017: 3500, 2018: 3000, 2019: 2780, 2020: 2650, 2021: 2550, 2022: 2450, 2023: 2340, 2024: 2300,
}
# Share of a cohort that died in childhood before 2000, by birth year (older cohorts lost more).
_EARLY_LOSS = {1900: 0.35, 1950: 0.20, 1960: 0.12, 1970: 0.08, 1980: 0.05, 1990: 0.04, 2000: 0.03}


def _interp(table: dict[int, float], years: np.ndarray) -> np.ndarray:
    keys = np.array(sorted(table))
    vals = np.array([table[k] for k in keys], dtype=np.float64)
    return np.interp(years, keys, vals)


def district_births(year: int) -> float:
    if year in _DISTRICT_BIRTHS:
        return float(_DISTRICT_BIRTHS[year])
    last = max(_DISTRICT_BIRTHS)
    if year > last:
        return _DISTRICT_BIRTHS[last] * 0.98 ** (year - last)
    return float(_DISTRICT_BIRTHS[min(_DISTRICT_BIRTHS)])


def death_probability(year: int) -> np.ndarray:
    """Annual probability of dying, [sex, age 0..100], improving 1.5 % a year around 2020."""
    age = np.arange(MAX_AGE + 1, dtype=np.float64)
    q = np.empty((2, MAX_AGE + 1))
    # Adults: Gompertz–Makeham, calibrated to life expectancy ~76 (men) and ~81.5 (women).
    q[MALE] = 0.0003 + 4.5e-5 * np.exp(0.091 * age)
    q[FEMALE] = 0.00015 + 2.2e-5 * np.exp(0.096 * age)
    child = {MALE: (0.0055, 0.0004, 0.00022, 0.0005), FEMALE: (0.0048, 0.0003, 0.00015, 0.00022)}
    for s, (q0, q1_4, q5_14, q15_19) in child.items():
        q[s, 0] = q0
        q[s, 1:5] = q1_4
        q[s, 5:15] = q5_14
        q[s, 15:20] = q15_19
    q = np.minimum(q, 0.45)
    return q * 0.985 ** (year - CALIBRATION_YEAR)


def migration_factor() -> np.ndarray:
    """Yearly net migration multiplier, [residence, age]: young adults leave villages for the city."""
    age = np.arange(MAX_AGE + 1)
    m = np.ones((2, MAX_AGE + 1))
    bands = [  # (from, to, urban rate, rural rate)
        (0, 14, 0.004, -0.010), (15, 19, 0.015, -0.025), (20, 29, 0.020, -0.035),
        (30, 39, 0.008, -0.015), (40, 59, 0.0, -0.004), (60, MAX_AGE, -0.002, 0.002),
    ]
    for lo, hi, urban, rural in bands:
        sel = (age >= lo) & (age <= hi)
        m[URBAN, sel] += urban
        m[RURAL, sel] += rural
    return m


@dataclass
class Demography:
    """Integer end-of-year population and births by township, residence, sex and age."""

    townships: list[Township]
    seed: int
    scale: float
    first_year: int                  # first stored year
    last_year: int
    population: np.ndarray = field(repr=False)   # int32 [year, township, residence, sex, age]
    births: np.ndarray = field(repr=False)       # int32 [year, township, residence, sex]

    def year_index(self, year: int) -> int:
        if not self.first_year <= year <= self.last_year:
            raise KeyError(f"year {year} outside the projection {self.first_year}–{self.last_year}")
        return year - self.first_year

    def pop(self, year: int) -> np.ndarray:
        return self.population[self.year_index(year)]

    def births_in(self, year: int) -> np.ndarray:
        return self.births[self.year_index(year)]

    def cohort_size(self, year: int, cohort: int) -> np.ndarray:
        """[township, residence, sex] count of people born in `cohort` living at the end of `year`."""
        age = year - cohort
        if age < 0 or age >= MAX_AGE:
            return np.zeros(self.population.shape[1:4], dtype=np.int64)
        return self.pop(year)[..., age].astype(np.int64)

    def cohort_top(self, cohort: int) -> np.ndarray:
        """Highest person index (exclusive) ever used for a cohort: births and every year's stock."""
        top = np.zeros(self.population.shape[1:4], dtype=np.int64)
        for year in range(max(cohort, self.first_year), self.last_year + 1):
            top = np.maximum(top, self.cohort_size(year, cohort))
        if self.first_year <= cohort <= self.last_year:
            top = np.maximum(top, self.births_in(cohort).astype(np.int64))
        return top

    def cohort_floor(self, cohort: int, years: range) -> np.ndarray:
        """Smallest stock of a cohort over `years`: indices below it are alive in every one of them."""
        low = None
        for year in years:
            size = self.cohort_size(year, cohort)
            low = size if low is None else np.minimum(low, size)
        return low if low is not None else np.zeros(self.population.shape[1:4], dtype=np.int64)

    def women(self, year: int, age_from: int, age_to: int) -> np.ndarray:
        """[township, residence] women of the given ages at the end of `year`."""
        return self.pop(year)[:, :, FEMALE, age_from:age_to + 1].sum(axis=-1)


def _starting_pyramid() -> np.ndarray:
    """Relative end-2000 stock [sex, age] from birth history, childhood losses and 2000 mortality."""
    ages = np.arange(MAX_AGE + 1)
    cohorts = MODEL_START - ages
    size = _interp(_NATIONAL_BIRTHS, cohorts) * (1 - _interp(_EARLY_LOSS, cohorts))
    q = death_probability(MODEL_START) * 1.35
    stock = np.empty((2, MAX_AGE + 1))
    for s in (MALE, FEMALE):
        survival = np.concatenate([[1.0], np.cumprod(1 - q[s, :-1])])
        share = 0.512 if s == MALE else 0.488
        stock[s] = size * survival * share
    # Open age group: survivors above 100 are negligible but keep the last group a sum.
    return stock


def _residence_profile() -> np.ndarray:
    """[residence, age] multipliers of the 2000 pyramid: cities younger, villages older."""
    age = np.arange(MAX_AGE + 1)
    prof = np.ones((2, MAX_AGE + 1))
    prof[URBAN] = np.where((age >= 18) & (age <= 40), 1.15, np.where(age >= 60, 0.9, 1.0))
    prof[RURAL] = np.where((age >= 18) & (age <= 40), 0.80, np.where(age >= 60, 1.2, 1.05))
    return prof


def _srb(year: int) -> float:
    """District sex ratio at birth: high in the 2000s, about 108 from 2016."""
    return 108.0 + max(0, 2016 - year) * 0.9


def project(townships: list[Township], seed: int, scale: float, first_year: int, last_year: int) -> Demography:
    """Run the projection from MODEL_START to `last_year`, storing years from `first_year`."""
    n_t = len(townships)
    weights = np.array([t.weight for t in townships])
    weights = weights / weights.sum()
    urban = np.array([t.urban_share for t in townships])
    res_share = np.stack([urban, 1 - urban], axis=1)                     # [t, r]
    fertility = np.array([2 ** (0.12 * hashing.scalar_normal(seed, "fertility", t.code_int)) for t in townships])
    srb_effect = np.array([1.8 * hashing.scalar_normal(seed, "srb", t.code_int) for t in townships])

    base = _starting_pyramid()                                           # [s, a]
    profile = _residence_profile()                                       # [r, a]
    stock = np.empty((n_t, 2, 2, MAX_AGE + 1))
    for r in (URBAN, RURAL):
        shaped = base[None, :, :] * profile[r][None, None, :]            # [1, s, a]
        shaped = shaped / shaped.sum()
        stock[:, r] = shaped * (weights * res_share[:, r])[:, None, None]
    migration = migration_factor()

    def run(initial_total: float, until: int, store: bool):
        """Project to the end of `until`; with `store`, integer births and kept yearly stocks."""
        n = stock * initial_total
        stored_pop, stored_births = {}, {}
        for year in range(MODEL_START + 1, until + 1):
            q = death_probability(year)
            older = n[..., :-1] * (1 - q[None, None, :, :-1]) * migration[None, :, None, 1:]
            top = n[..., -1] * (1 - q[None, None, :, -1])
            women = n[:, :, FEMALE, 20:40].sum(axis=-1)                  # [t, r]
            fert = women * fertility[:, None] * np.array([1.0, 1.25])[None, :]
            expected = district_births(year) * scale * fert / fert.sum()
            srb = _srb(year) + srb_effect[:, None] + np.array([0.0, 3.0])[None, :]
            p_male = srb / (100.0 + srb)
            if store:
                rng = hashing.chunk_rng(seed, "births", year)
                total_tr = rng.poisson(expected)
                # Half the binomial noise: a district's sex ratio at birth drifts, it does not jump.
                sd = np.sqrt(total_tr * p_male * (1 - p_male))
                male = np.clip(np.rint(total_tr * p_male + 0.5 * sd * rng.standard_normal(p_male.shape)), 0, total_tr)
                born = np.stack([male, total_tr - male], axis=-1).astype(np.float64)
            else:
                born = np.stack([expected * p_male, expected * (1 - p_male)], axis=-1)
            new = np.empty_like(n)
            new[..., 1:] = older
            new[..., -1] += top
            new[..., 0] = born * (1 - 0.6 * q[None, None, :, 0])
            n = new
            if store and year >= first_year:
                stored_pop[year] = n
                stored_births[year] = born
        return n, stored_pop, stored_births

    # Calibrate: the part of the 2020 total that comes from the starting stock scales linearly.
    target = DISTRICT_POPULATION * scale
    factor = target
    for _ in range(2):
        n2020, _, _ = run(factor, CALIBRATION_YEAR, False)
        from_stock = n2020[..., CALIBRATION_YEAR - MODEL_START:].sum()
        from_births = n2020.sum() - from_stock
        factor = factor * (target - from_births) / from_stock
    _, pops, births = run(factor, last_year, True)

    years = list(range(first_year, last_year + 1))
    population = np.zeros((len(years), n_t, 2, 2, MAX_AGE + 1), dtype=np.int32)
    births_arr = np.zeros((len(years), n_t, 2, 2), dtype=np.int32)
    ages = np.arange(MAX_AGE + 1)
    for i, year in enumerate(years):
        if year <= MODEL_START:
            raise ValueError(f"years before {MODEL_START + 1} are not modelled")
        # Rounding noise is fixed per cohort, so a stable cohort keeps a stable integer count.
        cohort = year - ages
        u = np.stack([
            hashing.uniform(hashing.key(seed, "round", t.code_int), (cohort * 4)[None, :] + np.array([[0], [1], [2], [3]]))
            for t in townships
        ]).reshape(n_t, 2, 2, MAX_AGE + 1)
        population[i] = np.floor(pops[year] + u).astype(np.int32)
        births_arr[i] = births[year].astype(np.int32)
    return Demography(townships, seed, scale, first_year, last_year, population, births_arr)
