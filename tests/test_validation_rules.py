"""Validation rules (dbt/seeds/validation_rules.csv) fire on crafted data exactly where they should.

Raw tables are made from the contracts and filled with a "normal" district for 2019–2023 (every
township, every extract, the same figures every year), then a few things are broken on purpose.
`dbt build --select +fct_validation_findings` evaluates the rules; the findings must be exactly the
hand-computed list below. The rules' building blocks (parsing, zero vs missing, modified z-scores,
missing value strategies) have dbt unit tests beside the models (`_unit_tests_validation.yml`).

Normal year, per township (12): population 4 rows (age 0: 10 + 10, age 30: 490 + 490; total 1000),
20 births, 1 death of a woman aged 33, 10 child health records, 5 students, 1 row in every other
extract; 4 committees of 6 members; forms: one row per department (9). District: 240 births,
population aged 0 = 240, 12 deaths.

What is broken, and what the rules must find:
  S1 兴隆街道 (T1) births 18, 20, 22, 20, 5 (2019–2023): district births 238, 240, 242, 240, 225
     VR01 T1 2023   births 5 vs population aged 0 = 20: |5 − 20| = 15 > 25 % × 20 = 5
     VR30 T1 2023   births 5 vs mean of 2020–2022 (20 + 22 + 20) / 3 = 20.667: 15.667 > 33 % × 20.667 = 6.82
     VR40 T1 2023   modified z: median 20, |x − 20| = 2, 0, 2, 0, 15 → MAD 2 → 0.6745 × 15 / 2 = 5.05875 ≥ 3.5
     VR42 births.records district 2023: median 240, deviations 2, 0, 2, 0, 15 → MAD 2 → z = 5.05875
     (2020: 20 vs 18 → 2 ≤ 5.94; 2021: 22 vs 19 → 3 ≤ 6.27: no finding)
  S2 龙须塘街道 (T2) 2022: 25 infant deaths more (district deaths 12, 12, 12, 37, 12)
     VR02 T2 2022   infant deaths 25 > live births 20
     VR03 district 2022  25 > 3 % × 240 = 7.2
     VR32 deaths.records district 2022: 37 vs mean 12 → 25 > 3.96;  2023: 12 vs (12 + 12 + 37) / 3 = 20.333 → 8.333 > 6.71
  S3 committee 430502100201: 3 members in 2021 (VR04: 3 < 5 × 1); committee 430502001001: 10 in 2023 (VR05: 10 > 9)
     (committee member records 24, 24, 21, 24, 28: 2023 vs 23 → 5 ≤ 7.59, MAD 0 → no finding)
  S4 火车站乡 (T12) has no child health record in 2022: VR12 T12 2022 (0 > 0 fails)
  S5 no legal aid file for 2021: VR20 legal_aid.records 2021 (missing, never skipped);
     no form from the women's federation in 2023: VR21 forms.women_federation.records 2023
  S6 汽车站街道 (T3) population doubled in 2023 (2000 vs mean 1000): VR31 T3 2023
     (district 13000 vs 12000 → within 33 %; age 0 unchanged)
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.contracts import load_contracts, read_seed, township_codes
from dagster_project.ingest.audit_tables import AUDIT_DDL

pytestmark = pytest.mark.slow(seconds=25)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = PROJECT_ROOT / "dbt"
DBT = Path(sys.executable).with_name("dbt")
YEARS = range(2019, 2024)
TOWNSHIPS = sorted(township_codes())
T1, T2, T3, T12 = TOWNSHIPS[0], TOWNSHIPS[1], TOWNSHIPS[2], TOWNSHIPS[-1]
DISTRICT = "430502"
COMMITTEES = ["430502100201", "430502001001", "430502002001", "430502003001"]
FORM_ITEM_OF = {}
for item in read_seed("form_items"):
    FORM_ITEM_OF.setdefault(item["department"], item)

# (rule, figure, year, area) -> (left value, right value), worked out by hand in the docstring.
EXPECTED = {
    ("VR01", "births.live_births", 2023, T1): (5, 20),
    ("VR30", "births.live_births", 2023, T1): (5, 62 / 3),
    ("VR40", "births.live_births", 2023, T1): (5.05875, 3.5),
    ("VR42", "births.records", 2023, DISTRICT): (5.05875, 3.5),
    ("VR02", "deaths.under_1", 2022, T2): (25, 20),
    ("VR03", "deaths.under_1", 2022, DISTRICT): (25, 7.2),
    ("VR32", "deaths.records", 2022, DISTRICT): (37, 12),
    ("VR32", "deaths.records", 2023, DISTRICT): (12, 61 / 3),
    ("VR04", "committee.members", 2021, "430502100201"): (3, 5),
    ("VR05", "committee.members", 2023, "430502001001"): (10, 9),
    ("VR12", "child_health.records", 2022, T12): (0, 0),
    ("VR20", "legal_aid.records", 2021, DISTRICT): (None, 0),
    ("VR21", "forms.women_federation.records", 2023, DISTRICT): (None, 0),
    ("VR31", "population.total", 2023, T3): (2000, 1000),
}


def _rows():
    """table -> list of row dicts (typed values), per the docstring's design."""
    rows: dict[str, list[dict]] = {}
    counter = iter(range(1, 10**9))

    def add(table: str, year: int, **values) -> None:
        rows.setdefault(table, []).append({**values, "_period_year": year})

    for year in YEARS:
        for t in TOWNSHIPS:
            big = 990 if (t == T3 and year == 2023) else 490
            for sex in ("1", "2"):
                add("population", year, township_code=t, residence="urban", sex=sex, age=0, population=10)
                add("population", year, township_code=t, residence="urban", sex=sex, age=30, population=big)
            births = {2019: 18, 2020: 20, 2021: 22, 2022: 20, 2023: 5}[year] if t == T1 else 20
            for _ in range(births):
                add("births", year, birth_id=f"B{next(counter)}", mother_birth_date=dt.date(1994, 5, 1), township_code=t,
                    residence="urban", child_sex="1", birth_date=dt.date(year, 3, 1))
            add("deaths", year, death_id=f"D{next(counter)}", sex="2", birth_date=dt.date(year - 33, 1, 1),
                death_date=dt.date(year, 5, 1), township_code=t, residence="urban")
            if t == T2 and year == 2022:
                for _ in range(25):
                    add("deaths", year, death_id=f"D{next(counter)}", sex="1", birth_date=dt.date(2022, 3, 1),
                        death_date=dt.date(2022, 5, 1), township_code=t, residence="urban")
            if not (t == T12 and year == 2022):
                for _ in range(10):
                    add("child_health", year, child_record_id=f"C{next(counter)}", sex="1",
                        birth_date=dt.date(year - 2, 1, 1), township_code=t, residence="urban")
            for _ in range(5):
                add("students", year, student_id=f"S{next(counter)}", sex="2", birth_date=dt.date(year - 8, 1, 1),
                    township_code=t, residence="urban", school_code="SCH", school_type="primary", grade=2)
            add("cancer_screening", year, screening_id=f"X{next(counter)}", birth_date=dt.date(year - 40, 1, 1),
                township_code=t, residence="urban", screening_type="cervical", screening_date=dt.date(year, 5, 1),
                result="normal")
            add("student_health", year, student_id=f"H{next(counter)}", sex="1", birth_date=dt.date(year - 8, 1, 1),
                school_type="primary", grade=2, township_code=t)
            add("social_assistance", year, recipient_id=f"R{next(counter)}", sex="2", birth_date=dt.date(1960, 1, 1),
                township_code=t, residence="urban", programme="dibao")
            add("cases", year, case_id=f"K{next(counter)}", victim_sex="2", victim_birth_date=dt.date(1990, 1, 1),
                township_code=t, case_type="domestic_violence", report_date=dt.date(year, 5, 1))
            if year != 2021:
                add("legal_aid", year, aid_id=f"L{next(counter)}", sex="2", birth_date=dt.date(1990, 1, 1),
                    township_code=t, category="women_rights")
        for committee in COMMITTEES:
            members = {("430502100201", 2021): 3, ("430502001001", 2023): 10}.get((committee, year), 6)
            for m in range(members):
                add("committee_members", year, committee_code=committee,
                    committee_type="village" if committee[9] == "2" else "community", sex="2" if m % 2 else "1",
                    birth_date=dt.date(1975, 1, 1), role="chair" if m == 0 else "member")
        for department, item in sorted(FORM_ITEM_OF.items()):
            if department == "women_federation" and year == 2023:
                continue
            add("forms", year, item_code=item["item_code"], township_code=DISTRICT, sex="T", age_group="_T", value=1.0,
                _source_department=department)
    return rows


def _build_raw(db: Path) -> None:
    contracts = load_contracts()
    con = duckdb.connect(str(db))
    try:
        for ddl in AUDIT_DDL:  # raw and audit schemas as ingestion creates them (dbt reads the gate's verdicts)
            con.execute(ddl)
        for extract in contracts.extracts.values():
            con.execute(extract.ddl())
        for table, rows in _rows().items():
            extract = contracts.extracts[table]
            for i, row in enumerate(rows, start=2):
                row.setdefault("_load_id", f"{table}-{row['_period_year']}")
                row.setdefault("_source_file", f"{extract.department}/{table}_{row['_period_year']}.csv")
                row.setdefault("_source_sha256", "0" * 64)
                row.setdefault("_row_number", i)
                row.setdefault("_source_department", None)
            columns = sorted({c for r in rows for c in r})
            con.executemany(
                f"INSERT INTO {extract.raw_table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                [[r.get(c) for c in columns] for r in rows])
    finally:
        con.close()


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validation_rules")
    db = tmp / "work.duckdb"
    _build_raw(db)
    env = {**os.environ, "MONITOR_WORK_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(DBT), "build", "--select", "+fct_validation_findings", "--indirect-selection", "cautious", "--profiles-dir", str(DBT_DIR),
         "--project-dir", str(DBT_DIR), "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def test_findings_are_exactly_the_hand_computed_ones(findings):
    rows = findings.execute(
        "SELECT rule_code, left_figure_code, period_year, area_code, left_value, right_value "
        "FROM main_marts.fct_validation_findings"
    ).fetchall()
    got = {(r, f, y, a): (lv, rv) for r, f, y, a, lv, rv in rows}
    assert set(got) == set(EXPECTED), (
        f"unexpected: {sorted(set(got) - set(EXPECTED))}; missing: {sorted(set(EXPECTED) - set(got))}")
    for key, (left, right) in EXPECTED.items():
        got_left, got_right = got[key]
        assert (got_left is None) == (left is None) and (left is None or got_left == pytest.approx(left, abs=1e-6)), key
        assert got_right == pytest.approx(right, abs=1e-6), key


def test_findings_say_what_to_check_in_chinese(findings):
    rows = dict(findings.execute(
        "SELECT rule_code || '|' || area_code || '|' || period_year, message_zh FROM main_marts.fct_validation_findings"
    ).fetchall())
    assert rows[f"VR01|{T1}|2023"] == (
        "2023年 兴隆街道：出生登记活产数 = 5，年末0岁常住人口 = 20；"
        "要求出生登记活产数与年末0岁常住人口相差不超过 25%（实际相差 75%）。")
    assert rows["VR20|430502|2021"] == "2021年 双清区：法律援助记录数 = （无数据）；要求法律援助记录数 大于 0。"
    assert rows["VR04|430502100201|2021"].startswith("2021年 高崇山镇 村（居）委会 430502100201：村（居）委会成员人数 = 3")
    departments = dict(findings.execute(
        "SELECT rule_code, departments FROM main_marts.fct_validation_findings WHERE rule_code IN ('VR01', 'VR21')"
    ).fetchall())
    assert departments == {"VR01": "health,population", "VR21": "forms"}


def test_checks_that_pass_and_checks_that_are_skipped_are_kept(findings):
    """Zero is not missing: T12's 2022 child health is 0 (checked, fails); legal aid 2021 is missing (never_skip)."""
    rows = findings.execute(
        """SELECT rule_code, left_figure_code, area_code, period_year, left_value, is_left_missing, is_evaluated, passed
           FROM main_intermediate.int_validation_rules_evaluated
           WHERE (rule_code = 'VR12' AND area_code = ? AND period_year IN (2021, 2022))
              OR (rule_code = 'VR32' AND left_figure_code = 'legal_aid.records' AND period_year = 2021)
              OR (rule_code = 'VR20' AND left_figure_code = 'legal_aid.records' AND period_year = 2021)
           ORDER BY 1, 4""", [T12]).fetchall()
    assert rows == [
        ("VR12", "child_health.records", T12, 2021, 10.0, False, True, True),
        ("VR12", "child_health.records", T12, 2022, 0.0, False, True, False),
        ("VR20", "legal_aid.records", DISTRICT, 2021, None, True, True, False),
        ("VR32", "legal_aid.records", DISTRICT, 2021, None, True, False, None),
    ]
