"""What every extract producer needs: the demography, the people, the calibration, the periods."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from dagster_project.contracts import Contracts, Extract
from sample_data.areas import Township
from sample_data.calibration import Calibration
from sample_data.demography import Demography
from sample_data.persons import Population

RESIDENCE = ("urban", "rural")
SEX = ("1", "2")


@dataclass
class World:
    contracts: Contracts
    townships: list[Township]
    demo: Demography
    people: Population
    calibration: Calibration
    seed: int
    scale: float
    years: list[int]
    chunk_persons: int = 250_000   # people per chunk: bounds memory whatever the scale

    def year_slot(self, year: int) -> int:
        """Position of a year among the generated years (keeps event identities of different years apart)."""
        return self.years.index(year)

    @property
    def n_year_slots(self) -> int:
        return len(self.years)


def period(extract: Extract, year: int) -> tuple[dt.date, dt.date]:
    """First and last day of the file's period (health: statistical year 1 Oct Y−1 – 30 Sep Y)."""
    if extract.period_basis == "mch_year":
        return dt.date(year - 1, 10, 1), dt.date(year, 9, 30)
    if extract.period_basis == "school_year":
        return dt.date(year, 9, 1), dt.date(year, 12, 31)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def np_date(d: dt.date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


def random_dates(rng: np.random.Generator, start: dt.date, end: dt.date, n: int) -> np.ndarray:
    days = (end - start).days + 1
    return np_date(start) + rng.integers(0, days, n).astype("timedelta64[D]")


def date_series(name: str, dates: np.ndarray) -> pl.Series:
    return pl.Series(name, dates.astype("datetime64[D]")).cast(pl.Date)


def bool_series(name: str, values: np.ndarray, known: np.ndarray | None = None) -> pl.Series:
    """Yes/no column; where `known` is False the cell is blank (not applicable / not recorded)."""
    s = pl.Series(name, np.asarray(values, dtype=bool))
    return s if known is None else blank_where(s, ~np.asarray(known, dtype=bool))


def blank_where(series: pl.Series, blank: np.ndarray) -> pl.Series:
    positions = np.flatnonzero(np.asarray(blank, dtype=bool))
    return series.scatter(positions, None) if len(positions) else series


# String columns are built in polars from small label lists: converting numpy string
# arrays to polars creates one Python object per cell, 30 times slower than a gather.
def labels(name: str, values, index: np.ndarray) -> pl.Series:
    """values[index] as a string column (values: a short list of labels)."""
    return pl.Series(name, list(values), dtype=pl.String).gather(np.asarray(index, dtype=np.int64))


def constant(name: str, value: str, n: int) -> pl.Series:
    return pl.repeat(value, n, eager=True, dtype=pl.String).alias(name)


def numbered(name: str, prefix: str, numbers: np.ndarray, width: int = 0) -> pl.Series:
    """prefix + zero-padded numbers, e.g. record numbers `ET00012345678901`."""
    text = pl.Series(np.asarray(numbers, dtype=np.int64)).cast(pl.String)
    if width:
        text = text.str.zfill(width)
    return (prefix + text).alias(name)
