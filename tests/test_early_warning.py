"""The early-warning mart fct_early_warnings: its dbt unit tests (hand-computed values), and its trend,
projection, status and volatility recomputed independently in Python on realistic data."""
from __future__ import annotations

import functools
import os
import re
import subprocess

import duckdb
import numpy as np
import pytest

from tests.handover_warehouse import DBT, DBT_DIR, small_warehouse

pytestmark = pytest.mark.slow(seconds=45)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory, worker_id):
    return small_warehouse(tmp_path_factory, worker_id)


@pytest.fixture(scope="module")
def con(warehouse):
    connection = duckdb.connect(str(warehouse.work_db), read_only=True)
    yield connection
    connection.close()


def rules(con) -> dict[str, float]:
    return dict(con.execute("SELECT rule_code, value FROM main_seeds.warning_rules").fetchall())


def test_dbt_unit_tests_of_the_warning_mart(warehouse, tmp_path):
    """The three unit tests in dbt/models/marts/_unit_tests_early_warnings.yml (trend and projection, status for
    each case, volatility and gaps), worked out by hand in their descriptions."""
    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    env = {**os.environ, "MONITOR_WORK_DB": str(data_dir / "work.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(DBT), "test", "--select", "fct_early_warnings,test_type:unit", "--project-dir", str(DBT_DIR),
         "--profiles-dir", str(DBT_DIR), "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    ran = re.search(r"PASS=(\d+)", result.stdout)
    names = re.findall(r"unit_test fct_early_warnings::(\w+)", result.stdout)
    # every unit test declared for the mart ran and passed (adding one must not break this test)
    assert ran and int(ran.group(1)) == len(set(names)) >= 3, result.stdout[-2000:]


def series(con) -> dict[tuple[str, str, str], dict[int, float]]:
    rows = con.execute(
        """SELECT v.indicator_code, v.area_code, v.sex, v.period_year, v.value
           FROM main_marts.fct_indicator_values v
           JOIN main_marts.dim_indicator i ON i.indicator_code = v.indicator_code AND i.age_group_code = v.age_group_code
           WHERE v.residence = '_T' AND v.sex = i.assessed_sex""").fetchall()
    out: dict = {}
    for code, area, sex, year, value in rows:
        out.setdefault((code, area, sex), {})[year] = value
    return out


def test_trend_and_projection_equal_numpy_least_squares(con):
    r = rules(con)
    window, minimum = int(r["trend_window_years"]), int(r["trend_min_years"])
    data = series(con)
    rare = {(c, a, y) for c, a, y in con.execute(
        "SELECT indicator_code, area_code, period_year FROM main_intermediate.int_target_series WHERE is_rare_series").fetchall()}
    warnings = con.execute(
        """SELECT indicator_code, area_code, sex, as_of_year, target_year, trend_years, trend_slope, trend_slope_se,
                  projected_value, projected_se, projected_lower, projected_upper FROM main_marts.fct_early_warnings""").fetchall()
    checked = 0
    for code, area, sex, as_of, target_year, n_years, slope, slope_se, projected, projected_se, lower, upper in warnings:
        points = {y: v for y, v in data[(code, area, sex)].items() if as_of - window < y <= as_of and v is not None}
        assert n_years == len(points)
        x = np.array(sorted(points), dtype=float)
        y = np.array([points[int(k)] for k in x])
        if len(points) < minimum or len(set(x)) < 2 or (code, area, as_of) in rare:
            # no trend on too few years, nor on a rare-event series (judged on pooled rates instead)
            assert slope is None and projected is None
            continue
        t = round(student_t_975(len(x) - 2), 4)  # the seed holds 4 decimals
        b, a = np.polyfit(x, y, 1)
        residual = y - (a + b * x)
        s2 = residual @ residual / (len(x) - 2)
        sxx = ((x - x.mean()) ** 2).sum()
        expected_projection = max(a + b * target_year, 0.0)
        expected_se = np.sqrt(s2 * (1 + 1 / len(x) + (target_year - x.mean()) ** 2 / sxx))
        assert slope == pytest.approx(b, abs=2e-6, rel=1e-6)
        assert slope_se == pytest.approx(np.sqrt(s2 / sxx), abs=2e-6, rel=1e-5)
        assert projected == pytest.approx(expected_projection, abs=2e-6, rel=1e-6)
        assert projected_se == pytest.approx(expected_se, abs=2e-6, rel=1e-5)
        assert upper == pytest.approx(projected + t * projected_se, abs=1e-4)
        assert lower == pytest.approx(max(projected - t * projected_se, 0), abs=1e-4)
        checked += 1
    assert checked > 500


@functools.cache
def student_t_975(df: int) -> float:
    """The 97.5 % quantile of Student's t, from its density by Simpson's rule and bisection (no scipy here)."""
    from math import exp, lgamma, pi, sqrt

    def density(t):
        return exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / sqrt(df * pi) * (1 + t * t / df) ** (-(df + 1) / 2)

    def cdf(t, steps=4000):
        h = t / steps
        total = density(0) + density(t) + sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
        return 0.5 + total * h / 3

    low, high = 0.0, 60.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < 0.975 else (low, mid)
    return (low + high) / 2


def test_t_quantile_seed_equals_the_t_distribution():
    import csv

    from tests.handover_warehouse import DBT_DIR as dbt_dir
    with (dbt_dir / "seeds" / "t_quantiles.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["degrees_of_freedom"]) for r in rows} >= set(range(1, 31))
    for row in rows:
        assert float(row["quantile"]) == pytest.approx(student_t_975(int(row["degrees_of_freedom"])), abs=2e-4), row


def test_status_follows_the_rules(con):
    rows = con.execute(
        """SELECT w.status, w.status_basis, w.met, w.projected_meets, w.as_of_year, w.target_year, w.target_operator,
                  w.value, t.assessment, w.is_warning, w.volatility_flag, w.projected_to_miss,
                  w.warning_withheld_reason_zh
           FROM main_marts.fct_early_warnings w
           LEFT JOIN main_marts.fct_target_attainment t
             ON t.indicator_code = w.indicator_code AND t.period_year = w.as_of_year AND t.area_code = w.area_code
            AND t.sex = w.sex AND t.age_group_code = w.age_group_code""").fetchall()
    seen = set()
    for (status, basis, met, proj_meets, as_of, target_year, operator, value, assessment, warning, volatile, slipping,
         withheld) in rows:
        seen.add(status)
        if operator is None:
            assert status == "no_target"
        elif value is None:
            assert status == "no_value"
        elif assessment == "baseline_period":
            assert status == "baseline_period"
        elif assessment == "not_significant":
            assert status == "not_significant" and met is None
        elif met is None:
            assert status == "not_assessable"
        elif as_of >= target_year:
            assert status == ("met" if met else "missed") and basis == "target_year_value"
        elif met:
            assert status == "met" and basis == "current_value"
        else:
            assert status == ("on_track" if proj_meets else "at_risk")
            assert basis == ("no_trend" if proj_meets is None else "trend_projection")
        would_warn = status in ("at_risk", "missed") or volatile or slipping
        assert warning == (would_warn and withheld is None)
        assert withheld is None or would_warn
    assert {"met", "at_risk", "no_target"} <= seen


def test_volatility_flag_recomputed_from_the_seed_rules(con):
    r = rules(con)
    bound, k = r["volatility_bound_pct"], int(r["volatility_reference_years"])
    skip_small = r["volatility_skip_small_numbers"] == 1
    data = series(con)
    small = {(c, a, s, y): f for c, a, s, y, f in con.execute(
        "SELECT v.indicator_code, v.area_code, v.sex, v.period_year, v.small_numbers_flag FROM main_marts.fct_indicator_values v "
        "JOIN main_marts.dim_indicator i ON i.indicator_code = v.indicator_code AND i.age_group_code = v.age_group_code "
        "WHERE v.residence = '_T'").fetchall()}
    units = dict(con.execute("SELECT indicator_code, unit FROM main_marts.dim_indicator").fetchall())
    flagged = 0
    for code, area, sex, as_of, value, flag, yoy in con.execute(
            "SELECT indicator_code, area_code, sex, as_of_year, value, volatility_flag, yoy_change_pct "
            "FROM main_marts.fct_early_warnings").fetchall():
        history = data[(code, area, sex)]
        previous = history.get(as_of - 1)
        earlier = [v for y, v in history.items() if as_of - k <= y < as_of and v is not None]
        mean = sum(earlier) / len(earlier) if earlier else None
        beyond = False
        if value is not None:
            for reference in (previous, mean):
                if reference is None:
                    continue
                if reference == 0:
                    beyond |= value != 0
                else:
                    beyond |= abs(value / reference - 1) * 100 > bound
        is_small = small.get((code, area, sex, as_of), False) or (units[code] == "count" and value is not None and abs(value) < 20)
        expected = beyond and not (skip_small and is_small)
        assert flag == expected, (code, area, sex, as_of, value, previous, mean)
        if previous not in (None, 0) and value is not None:
            assert yoy == pytest.approx((value - previous) / abs(previous) * 100, abs=1e-5)
        flagged += flag
    assert flagged > 0


def test_latest_rows_and_gaps(con):
    latest = con.execute(
        """SELECT count(*), count(DISTINCT indicator_code || area_code || sex)
           FROM main_marts.fct_early_warnings WHERE is_latest""").fetchone()
    assert latest[0] == latest[1] > 0
    # the district's township gap is the spread of its townships' values
    rows = con.execute(
        """SELECT w.indicator_code, w.as_of_year, w.sex, w.township_gap,
                  (SELECT max(t.value) - min(t.value) FROM main_marts.fct_early_warnings t
                    WHERE t.indicator_code = w.indicator_code AND t.as_of_year = w.as_of_year AND t.sex = w.sex
                      AND t.area_level = 'township' AND t.value IS NOT NULL) AS spread
           FROM main_marts.fct_early_warnings w WHERE w.area_level = 'county'""").fetchall()
    for code, year, sex, gap, spread in rows:
        assert (gap is None and spread is None) or gap == pytest.approx(spread, abs=1e-6), (code, year, sex)
