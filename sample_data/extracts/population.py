"""population/population_<YYYY>: resident population at 31 December, single years 0–100+."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from sample_data.demography import MAX_AGE
from sample_data.world import RESIDENCE, SEX, World, labels

TOWNSHIPS_PER_CHUNK = 200


def produce(world: World, year: int) -> Iterator[pl.DataFrame]:
    pop = world.demo.pop(year)                               # [t, r, s, age]
    n_t = pop.shape[0]
    ages = np.arange(MAX_AGE + 1)
    for first in range(0, n_t, TOWNSHIPS_PER_CHUNK):
        block = pop[first:first + TOWNSHIPS_PER_CHUNK]
        t, r, s, a = np.meshgrid(np.arange(first, first + block.shape[0]), [0, 1], [0, 1], ages, indexing="ij")
        codes = [tw.code for tw in world.townships]
        yield pl.DataFrame([
            labels("township_code", codes, t.ravel()),
            labels("residence", RESIDENCE, r.ravel()),
            labels("sex", SEX, s.ravel()),
            pl.Series("age", a.ravel().astype(np.int64)),
            pl.Series("population", block.ravel().astype(np.int64)),
        ])
