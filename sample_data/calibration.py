"""Target levels of every rate the extracts carry, with township spread and yearly drift.

Levels sit near the 2021–2025 plans' targets (see shared/plan/): some
townships above, some below, a slow improvement over the years and a little
wobble. A probability is built on the logit scale:

    logit p = logit(base) + rural·[rural resident] + township_sd·z_township
              + trend·(year − 2020) + year_sd·z_township,year

z are standard normals fixed by (seed, rate name, township, year), so a
township that is behind stays behind from year to year, as in real data.
Event intensities (deaths per 1,000 births, victims per 100,000) work the same
way on the log scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import hashing

REFERENCE_YEAR = 2020


@dataclass(frozen=True)
class Rate:
    base: float               # probability in 2020, urban resident, average township
    rural: float = 0.0        # logit shift for rural residents
    township_sd: float = 0.3  # spread between townships (logit)
    trend: float = 0.0        # logit change per year
    year_sd: float = 0.06     # yearly wobble (logit)


@dataclass(frozen=True)
class Intensity:
    base: float               # events per unit (per 1,000 births, per 100,000 people, ...) in 2020, urban
    rural: float = 1.0        # multiplier for rural residents
    township_sd: float = 0.2  # spread between townships (log)
    trend: float = 0.0        # log change per year (negative = falling)


RATES: dict[str, Rate] = {
    # births (妇幼卫生年报)
    "hospital_delivery": Rate(0.997, rural=-0.9, township_sd=0.4, trend=0.05),
    "early_registration": Rate(0.90, rural=-0.35, township_sd=0.25, trend=0.05),
    "antenatal_5": Rate(0.93, rural=-0.35, township_sd=0.25, trend=0.04),
    "postpartum_visit": Rate(0.955, rural=-0.3, township_sd=0.3, trend=0.05),
    "tested_all": Rate(0.993, rural=-0.5, township_sd=0.5, trend=0.10),
    "prepregnancy_check": Rate(0.82, rural=0.1, township_sd=0.3, trend=0.06),
    "prenatal_screened": Rate(0.90, rural=-0.3, township_sd=0.3, trend=0.08),
    "newborn_screened": Rate(0.982, rural=-0.3, township_sd=0.4, trend=0.05),
    "newborn_visited": Rate(0.962, rural=-0.2, township_sd=0.3, trend=0.04),
    "exclusive_breastfeeding": Rate(0.55, rural=0.15, township_sd=0.2, trend=0.03),
    "mother_treated": Rate(0.95, township_sd=0.2),
    "infant_treated": Rate(0.985, township_sd=0.2),
    # child health
    "covered_under3": Rate(0.975, rural=-0.3, township_sd=0.35, trend=0.05),
    "covered_3to6": Rate(0.92, rural=-0.25, township_sd=0.3, trend=0.05),
    "systematic_management": Rate(0.935, rural=-0.3, township_sd=0.3, trend=0.05),
    "vision_checked": Rate(0.962, rural=-0.3, township_sd=0.35, trend=0.08),
    "hemoglobin_measured": Rate(0.88, township_sd=0.3),
    "height_measured": Rate(0.93, township_sd=0.3),
    "fully_immunized": Rate(0.978, rural=-0.3, township_sd=0.45, trend=0.04),
    # cancer screening (3-year cycle for cervical; breast less complete)
    "cervical_participation": Rate(0.80, rural=-0.2, township_sd=0.3, trend=0.12),
    "breast_participation": Rate(0.62, rural=-0.2, township_sd=0.3, trend=0.12),
    "cancer_treated": Rate(0.92, township_sd=0.2),
    # education
    "kindergarten": Rate(0.91, rural=-0.3, township_sd=0.3, trend=0.05),
    "primary": Rate(0.998, township_sd=0.2),
    "junior": Rate(0.99, township_sd=0.2),
    "senior": Rate(0.925, rural=-0.2, township_sd=0.25, trend=0.06),
    "surveyed_health": Rate(0.82, township_sd=0.3),
    "fitness_good": Rate(0.50, rural=-0.1, township_sd=0.2, trend=0.04),
    "caries_12": Rate(0.28, rural=0.15, township_sd=0.2, trend=-0.03),
    "left_behind": Rate(0.045, rural=1.55, township_sd=0.3, trend=-0.04),
    "disability": Rate(0.006, township_sd=0.2),
    # social assistance (share of residents)
    "dibao": Rate(0.0185, rural=0.75, township_sd=0.25, trend=-0.04),
    "tekun_elderly": Rate(0.003, rural=1.4, township_sd=0.25, trend=-0.02),
    "low_income": Rate(0.006, rural=0.5, township_sd=0.25, trend=0.10),
}

INTENSITIES: dict[str, Intensity] = {
    # per 1,000 live births
    "infant_deaths": Intensity(4.5, rural=1.3, township_sd=0.25, trend=-0.03),
    "child_1to4_deaths": Intensity(1.2, rural=1.3, township_sd=0.2, trend=-0.03),
    # per 100,000 live births (maternal deaths: capped at one a year at district scale)
    "maternal_deaths": Intensity(13.0, rural=1.4, township_sd=0.2, trend=-0.03),
    # per 100,000 residents a year (victims / recipients)
    "domestic_violence": Intensity(24.0, rural=1.2, township_sd=0.3, trend=0.02),
    "sexual_assault": Intensity(2.6, rural=1.1, township_sd=0.3),
    "indecency": Intensity(2.2, rural=1.0, township_sd=0.3, trend=0.03),
    "trafficking": Intensity(0.25, rural=1.5, township_sd=0.3, trend=-0.08),
    "legal_aid": Intensity(170.0, rural=1.1, township_sd=0.2, trend=0.03),
}

# Myopia by grade in 2020 (primary ~35 %, junior ~62 %, senior ~76 %); falls slowly.
MYOPIA_BY_GRADE = {1: 0.17, 2: 0.24, 3: 0.31, 4: 0.38, 5: 0.45, 6: 0.52, 7: 0.57, 8: 0.62, 9: 0.67,
                   10: 0.73, 11: 0.76, 12: 0.79}
MYOPIA_TREND = -0.03        # logit per year
MYOPIA_TOWNSHIP_SD = 0.15


def logit(p: float | np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1 - p))


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Calibration:
    def __init__(self, seed: int):
        self.seed = seed

    def township_effect(self, name: str, township_code: int) -> float:
        return hashing.scalar_normal(self.seed, "effect", name, township_code)

    def wobble(self, name: str, township_code: int, year: int) -> float:
        return hashing.scalar_normal(self.seed, "wobble", name, township_code, year)

    def p(self, name: str, township_code: int, year: int, rural: np.ndarray | bool | int = 0) -> np.ndarray:
        spec = RATES[name]
        x = (
            logit(spec.base)
            + spec.rural * np.asarray(rural, dtype=np.float64)
            + spec.township_sd * self.township_effect(name, township_code)
            + spec.trend * (year - REFERENCE_YEAR)
            + spec.year_sd * self.wobble(name, township_code, year)
        )
        return expit(x)

    def intensity(self, name: str, township_code: int, year: int, rural: np.ndarray | bool | int = 0) -> np.ndarray:
        spec = INTENSITIES[name]
        factor = np.where(np.asarray(rural, dtype=bool), spec.rural, 1.0)
        log_effect = spec.township_sd * self.township_effect(name, township_code) + spec.trend * (year - REFERENCE_YEAR)
        return spec.base * factor * np.exp(log_effect)

    def myopia(self, grade: np.ndarray, township_code: int, year: int) -> np.ndarray:
        base = np.array([MYOPIA_BY_GRADE.get(g, 0.1) for g in range(13)])[np.clip(grade, 0, 12)]
        x = logit(base) + MYOPIA_TOWNSHIP_SD * self.township_effect("myopia", township_code) \
            + MYOPIA_TREND * (year - REFERENCE_YEAR)
        return expit(x)
