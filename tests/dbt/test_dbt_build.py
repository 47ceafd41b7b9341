"""Build the dbt project against a throwaway DuckDB and check indicator values by hand.

The raw tables come from the extract contracts; `raw_fixtures` fills them with a few rows whose
indicator values are computed by hand below. The build runs `dbt build` (seeds, models, data tests,
unit tests) once per test session.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow(seconds=60)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import raw_fixtures as fx  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "dbt"
DBT = Path(sys.executable).with_name("dbt")


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("dbt_build")
    db = tmp / "work.duckdb"
    fx.build_raw_database(db, DBT_DIR / "seeds")
    env = {**os.environ, "MONITOR_WORK_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(DBT), "build", "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return db


@pytest.fixture(scope="session")
def con(warehouse):
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def values(con, indicator: str, year: int = fx.YEAR, residence: str = "_T") -> dict[tuple[str, str], tuple]:
    rows = con.execute(
        """select area_code, sex, numerator, denominator, value
           from main_marts.fct_indicator_values
           where indicator_code = ? and period_year = ? and residence = ?""",
        [indicator, year, residence],
    ).fetchall()
    return {(a, s): (n, d, v) for a, s, n, d, v in rows}


T1, T2, D = fx.T1, fx.T2, fx.DISTRICT

# (area, sex) -> (numerator, denominator, value), computed by hand from raw_fixtures.
EXPECTED = {
    # 孕产妇死亡率: 1 maternal death (T1) over live births 10 (T1) + 8 (T2), per 100,000; sex does not apply.
    "w_hlt_maternal_mortality": {
        (D, "_T"): (1, 18, 100000 / 18), (T1, "_T"): (1, 10, 10000.0), (T2, "_T"): (0, 8, 0.0),
    },
    # 婴儿死亡率: boy in T1 (10 days), girl in T2 (100 days); births T1 6 boys 4 girls, T2 3 boys 5 girls; ‰.
    "c_hlt_infant_mortality": {
        (D, "_T"): (2, 18, 2000 / 18), (D, "1"): (1, 9, 1000 / 9), (D, "2"): (1, 9, 1000 / 9),
        (T1, "_T"): (1, 10, 100.0), (T1, "1"): (1, 6, 1000 / 6), (T1, "2"): (0, 4, 0.0),
        (T2, "_T"): (1, 8, 125.0), (T2, "1"): (0, 3, 0.0), (T2, "2"): (1, 5, 200.0),
    },
    # 出生人口性别比: male ÷ female live births × 100; sex _T only.
    "c_hlt_sex_ratio_at_birth": {
        (D, "_T"): (9, 9, 100.0), (T1, "_T"): (6, 4, 150.0), (T2, "_T"): (3, 5, 60.0),
    },
    # 村委会成员中女性比例: T1 2 of 5, T2 1 of 10 (two committees); sex _T only. No district row: committee
    # members are expected from every township and only 2 of the 12 sent any (see test_district_value_...).
    "w_dec_village_committee_female_share": {
        (T1, "_T"): (2, 5, 40.0), (T2, "_T"): (1, 10, 10.0),
    },
    # 学前三年毛入园率: kindergarten children ÷ population 3–5 (30 per sex per township).
    "c_edu_preschool_ger": {
        (D, "_T"): (42, 120, 35.0), (D, "1"): (21, 60, 35.0), (D, "2"): (21, 60, 35.0),
        (T1, "_T"): (27, 60, 45.0), (T1, "1"): (12, 30, 40.0), (T1, "2"): (15, 30, 50.0),
        (T2, "_T"): (15, 60, 25.0), (T2, "1"): (9, 30, 30.0), (T2, "2"): (6, 30, 20.0),
    },
    # 村主职（村党组织书记、村委会主任）中女性比例: the fixture's chair of each committee is also its Party secretary
    # (一肩挑: one person). T1 ...201 a woman: 1 of 1; T2 ...201 a woman, ...202 a man: 1 of 2. No district row (2 of 12
    # townships sent the roster, as for the other committee shares).
    "w_dec_village_heads_female_share": {(T1, "_T"): (1, 1, 100.0), (T2, "_T"): (1, 2, 50.0)},
    # facility counts from the district forms (raw_fixtures.forms_rows: an item without a base is its gen_max): the
    # value is the count, no denominator
    "w_hlt_public_mch_institutions": {(D, "_T"): (1, None, 1.0)},
    "c_wel_child_care_social_orgs": {(D, "_T"): (6, None, 6.0)},
    # every-unit shares: a part is 10 × its gen_max (1.0 -> 10) over its base's gen_max (14 health centres)
    "c_hlt_health_centres_with_child_gp": {(D, "_T"): (10, 14, 1000 / 14)},
    # townships covered by a minors' rescue and protection institution (gen_max 11) over the 12 townships of seed areas
    "c_wel_minor_protection_coverage": {(D, "_T"): (11, 12, 1100 / 12)},
}


@pytest.mark.parametrize("indicator", sorted(EXPECTED))
def test_foundation_indicator_values_by_area_and_sex(con, indicator):
    got = values(con, indicator)
    expected = EXPECTED[indicator]
    assert set(got) == set(expected), f"{indicator}: rows {sorted(got)} != {sorted(expected)}"
    for key, (num, den, value) in expected.items():
        g_num, g_den, g_value = got[key]
        assert g_num == pytest.approx(num), (indicator, key, "numerator")
        assert g_den == (None if den is None else pytest.approx(den)), (indicator, key, "denominator")
        assert g_value == pytest.approx(value, abs=1e-6), (indicator, key, "value")


def test_newborn_visits_and_the_treatment_of_children_of_infected_mothers_by_sex(con):
    # raw_fixtures.births_rows, 2023: every newborn visited; the mothers of births 1 (HIV) and 2 (syphilis), both T1
    # boys, infected and their babies treated. A township-sex without an infected mother keeps its row, 0 of 0, no value.
    visit = values(con, "c_hlt_newborn_visit")
    assert {k: v[:3] for k, v in visit.items()} == {
        (D, "_T"): (18, 18, 100.0), (D, "1"): (9, 9, 100.0), (D, "2"): (9, 9, 100.0),
        (T1, "_T"): (10, 10, 100.0), (T1, "1"): (6, 6, 100.0), (T1, "2"): (4, 4, 100.0),
        (T2, "_T"): (8, 8, 100.0), (T2, "1"): (3, 3, 100.0), (T2, "2"): (5, 5, 100.0)}
    treated = values(con, "c_hlt_infected_mother_infant_treatment")
    assert treated[(D, "_T")] == (2, 2, 100.0) and treated[(D, "1")] == (2, 2, 100.0) and treated[(T1, "1")] == (2, 2, 100.0)
    assert treated[(D, "2")] == (0, 0, None) and treated[(T2, "_T")] == (0, 0, None)
    # the three tests of the mothers: every mother tested for all three
    assert values(con, "w_hlt_maternal_hbv_tested")[(D, "_T")] == (18, 18, 100.0)


def test_residence_disaggregation_sums_to_total(con):
    urban = values(con, "c_hlt_infant_mortality", residence="urban")
    rural = values(con, "c_hlt_infant_mortality", residence="rural")
    assert urban[(D, "_T")][:2] == (1, 10)
    assert rural[(D, "_T")][:2] == (1, 8)


def test_maternal_mortality_ci_is_exact_poisson(con):
    lo, hi, method, small = con.execute(
        """select ci_lower, ci_upper, ci_method, small_numbers_flag from main_marts.fct_indicator_values
           where indicator_code = 'w_hlt_maternal_mortality' and period_year = 2023 and area_code = ?
             and sex = '_T' and residence = '_T'""", [T1]).fetchone()
    # exact Poisson limits for 1 event: 0.0253178 .. 5.5716434, over 10 live births, per 100,000
    assert (method, small) == ("poisson", True)
    assert lo == pytest.approx(253.1781, abs=1e-3)
    assert hi == pytest.approx(55716.4339, abs=1e-2)


def test_every_catalogue_indicator_has_values(con):
    with (DBT_DIR / "seeds" / "indicator_catalogue.csv").open(encoding="utf-8") as fh:
        codes = {r["indicator_code"] for r in csv.DictReader(fh)}
    present = {r[0] for r in con.execute("select distinct indicator_code from main_marts.fct_indicator_values").fetchall()}
    assert codes - present == set()


def test_district_only_form_indicator_has_only_the_district_row(con):
    areas = {r[0] for r in con.execute(
        "select distinct area_code from main_marts.fct_indicator_values where indicator_code = 'w_eco_employed_female_share'").fetchall()}
    assert areas == {D}


def test_gender_parity_index_of_preschool_enrolment(con):
    value = con.execute(
        """select value from main_marts.fct_indicator_values
           where indicator_code = 'w_edu_preschool_ger_gpi' and area_code = ? and period_year = 2023 and residence = '_T'""",
        [T1]).fetchone()[0]
    assert value == pytest.approx(50.0 / 40.0)


def test_district_value_withheld_when_too_few_townships_report_a_township_level_feed(con):
    """Committee members come from T1 and T2 only, 2 of the district's 12 townships: below the seed's
    share (0.5 for a county) the district value is withheld, naming the townships missing; the township
    values stay. Every other committee-based indicator is withheld the same way."""
    status, reason, expected, covered = con.execute(
        """select publication_status, reason_code, townships_expected, townships_covered
           from main_marts.fct_indicator_publication
           where indicator_code = 'w_dec_village_committee_female_share' and period_year = ? and area_code = ?""",
        [fx.YEAR, D]).fetchone()
    assert (status, reason, expected, covered) == ("withheld", "low_coverage", 12, 2)
    missing = con.execute(
        """select reason_zh from main_marts.fct_indicator_publication
           where indicator_code = 'w_dec_village_committee_female_share' and period_year = ? and area_code = ?""",
        [fx.YEAR, D]).fetchone()[0]
    assert all(t in missing for t in fx.other_townships()) and T1 not in missing
    assert values(con, "w_dec_village_committee_female_share")[(T1, "_T")] == (2, 5, 40.0)


def test_indicators_of_periods_without_their_inputs_are_withheld_not_zero(con):
    """Births files exist for 2021 and 2023 only (2022 appears only as a late report in births_2023, which does not
    make its register received), the population for 2021-2023: infant mortality 2022 has no birth register,
    so it is withheld as not received - never a value over a missing denominator - and listed with its reason."""
    assert values(con, "c_hlt_infant_mortality", year=2022) == {}
    status, reason, reason_zh = con.execute(
        """select publication_status, reason_code, reason_zh from main_marts.fct_indicator_publication
           where indicator_code = 'c_hlt_infant_mortality' and period_year = 2022 and area_code = ?""", [D]).fetchone()
    assert (status, reason) == ("withheld", "not_received")
    assert "活产登记 2022年度未报送" in reason_zh and "死亡登记 2022年度未报送" in reason_zh
    completeness = dict(con.execute(
        """select feed_code, status from main_marts.fct_reporting_completeness
           where period_year = 2022 and area_code = ? and feed_code in ('births', 'population')""", [D]).fetchall())
    assert completeness == {"births": "not_received", "population": "received"}


def test_late_birth_counts_in_the_statistical_year_of_its_birth(con):
    # raw_fixtures.late_births_rows: births_2021 holds T1 boys born 2021-03-01 and 2021-09-30 (the year's last
    # day) and a T1 girl born 2020-10-01 (its first day); births_2023 holds a late T2 girl born 2021-08-15. By
    # the event date 2021 has D 2 boys + 2 girls, T1 2 + 1, T2 0 + 1 (by the file name: D 2 + 1, T2 none).
    assert values(con, "c_hlt_sex_ratio_at_birth", 2021) == {
        (D, "_T"): (2, 2, 100.0), (T1, "_T"): (2, 1, 200.0), (T2, "_T"): (0, 1, 0.0)}
    # every birth was screened: the denominators are the live births by sex (a township without a boy has no row)
    assert {k: v[1] for k, v in values(con, "c_hlt_newborn_screening", 2021).items()} == {
        (D, "_T"): 4, (D, "1"): 2, (D, "2"): 2, (T1, "_T"): 3, (T1, "1"): 2, (T1, "2"): 1, (T2, "_T"): 1, (T2, "2"): 1}
    # ... and left 2023: its T2 girls stay 5 (EXPECTED above, sex ratio 3 : 5), not 6.
    # A late boy of 2022 (births_2023) has no births file of its own year: it counts in no year, and 2022 stays
    # a year whose birth register was not received (test_indicators_of_periods_without_their_inputs_...).
    assert values(con, "c_hlt_sex_ratio_at_birth", 2022) == {}


def test_late_reported_events_are_listed_with_their_years(con):
    rows = con.execute(
        """select extract, file_period_year, event_period_year, township_code, source_file, late_records,
                  first_event_date, is_counted_in_indicators
           from main_marts.fct_late_reported_events order by event_period_year""").fetchall()
    assert [r[:6] + (str(r[6]), r[7]) for r in rows] == [
        ("births", 2023, 2021, T2, "health/births_2023.csv", 1, "2021-08-15", True),
        ("births", 2023, 2022, T1, "health/births_2023.csv", 1, "2022-05-01", False),
    ]


def _dbt_show(tmp: Path, sql: str) -> list[dict]:
    """Rows of `sql` (macros rendered) run by `dbt show` against an empty throwaway database in `tmp`."""
    import json

    env = {**os.environ, "MONITOR_WORK_DB": str(tmp / "show.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(DBT), "show", "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR), "--target-path",
         str(tmp / "target_show"), "--log-path", str(tmp / "logs"), "--output", "json", "--quiet", "--limit", "-1",
         "--inline", sql],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(result.stdout[result.stdout.index("{"):])["show"]


def test_statistical_year_at_the_period_boundaries_of_every_basis(tmp_path):
    # (date, mch_year 1 Oct Y-1 .. 30 Sep Y, calendar, school_year 1 Sep Y .. 31 Aug Y+1), by hand
    expected = [
        ("2023-08-31", 2023, 2023, 2022), ("2023-09-01", 2023, 2023, 2023), ("2023-09-30", 2023, 2023, 2023),
        ("2023-10-01", 2024, 2023, 2023), ("2023-12-31", 2024, 2023, 2023), ("2024-01-01", 2024, 2024, 2023),
        ("2024-02-29", 2024, 2024, 2023), (None, None, None, None),
    ]
    dates = ", ".join(f"(date '{d}')" if d else "(null::date)" for d, *_ in expected)
    bases = ("mch_year", "calendar", "school_year")
    years = ", ".join(f"{{{{ statistical_year('d', '{b}') }}}} as {b}" for b in bases)
    rows = _dbt_show(tmp_path, f"select cast(d as varchar) as d, {years} from (values {dates}) t(d) order by d nulls last")
    assert [(r["d"], r["mch_year"], r["calendar"], r["school_year"]) for r in rows] == expected
    # every day of 2019-2025 lies in the period period_end_date gives for its year, and after the year before's
    checks = " + ".join(
        f"count(*) filter (where not (d <= {{{{ period_end_date(statistical_year('d', '{b}'), '{b}') }}}} "
        f"and d > {{{{ period_end_date(statistical_year('d', '{b}') ~ ' - 1', '{b}') }}}}))" for b in bases)
    rows = _dbt_show(tmp_path, f"select count(*) as days, {checks} as outside "
                                "from (select unnest(generate_series(date '2019-01-01', date '2025-12-31', interval 1 day))::date as d)")
    assert rows == [{"days": 2557, "outside": 0}]
