"""Write seeds/poisson_exact_limits.csv: exact (Garwood) 95 % limits for a Poisson count.

DuckDB has no chi-square quantile function, so the warehouse looks the limits up in this
seed for event counts 0..200 and uses Byar's approximation above 200 (macro `poisson_ci`).

    lower(k) = chi2.ppf(alpha/2, 2k) / 2          (0 for k = 0)
    upper(k) = chi2.ppf(1 - alpha/2, 2k + 2) / 2

Run from the dbt folder:  ../.venv/bin/python scripts/make_poisson_exact_limits.py
"""
from __future__ import annotations

import csv
from pathlib import Path

from scipy.stats import chi2

ALPHA = 0.05
MAX_COUNT = 200
OUT = Path(__file__).resolve().parent.parent / "seeds" / "poisson_exact_limits.csv"


def main() -> None:
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["events", "lower_95", "upper_95"])
        for k in range(MAX_COUNT + 1):
            lower = 0.0 if k == 0 else chi2.ppf(ALPHA / 2, 2 * k) / 2
            upper = chi2.ppf(1 - ALPHA / 2, 2 * k + 2) / 2
            w.writerow([k, f"{lower:.8f}", f"{upper:.8f}"])
    print(f"wrote {OUT} ({MAX_COUNT + 1} rows)")


if __name__ == "__main__":
    main()
