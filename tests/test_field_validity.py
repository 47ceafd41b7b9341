"""A defect in one field leaves a record out only of what needs that field (issue 14, part 2).

A small raw folder is written by hand (tests/helpers.py), corrupted the way departments do - wrong
check digits of mothers' ID numbers, a blank 城乡, a blank sex on a few births and pupils, an
impossible death date - then loaded through the extract assets and built with dbt. Every expected
figure below is counted by hand from the clean rows.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.contracts import township_codes
from tests.helpers import ingest, make_id, write_csv

pytestmark = pytest.mark.slow(seconds=15)

T1, T2, DISTRICT = "430502001", "430502100", "430502"
DBT_DIR = Path(__file__).resolve().parent.parent / "dbt"
DBT = Path(sys.executable).with_name("dbt")

BIRTHS = ["birth_id", "mother_id_number", "mother_birth_date", "township_code", "residence", "child_sex", "birth_date"]
DEATHS = ["death_id", "sex", "birth_date", "death_date", "township_code", "residence"]
STUDENTS = ["student_id", "id_number", "sex", "birth_date", "township_code", "residence", "school_code",
            "school_type", "grade"]
POPULATION = ["township_code", "residence", "sex", "age", "population"]


def _bad_check_digit(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def write_raw(raw: Path) -> None:
    # 40 live births of statistical year 2023: 1..22 in T1 (urban), 23..40 in T2 (rural); odd = boy.
    births = []
    for i in range(1, 41):
        town, res = (T1, "城镇") if i <= 22 else (T2, "乡村")
        sex = "1" if i % 2 else "2"
        mother = make_id("19900101", "2", seq=f"{i:02d}")
        if i % 9 == 0:          # births 9, 18, 27, 36: wrong check digit of the mother's ID
            mother = _bad_check_digit(mother)
        if i % 11 == 0:         # births 11, 22, 33: 城乡 blank
            res = ""
        if i in (5, 8):         # a boy and a girl with the sex blank (birth date kept)
            sex = ""
        births.append([f"B{i:03d}", mother, "1990-01-01", town, res, sex, "2023-03-01"])
    births.append(["B041", make_id(seq="41"), "1990-01-01", "430502999", "城镇", "1", "2023-03-01"])  # no such township
    write_csv(raw / "health" / "births_2023.csv", BIRTHS, births)
    deaths = [
        ["D1", "1", "2023-01-10", "2023-02-01", T1, "城镇"],   # infant boy
        ["D2", "2", "2023-03-01", "2023-06-01", T2, "乡村"],   # infant girl
        ["D3", "1", "2022-11-01", "2023-08-01", T2, "乡村"],   # infant boy
        ["D4", "2", "2023-01-01", "2023-02-30", T1, "城镇"],   # death date impossible: age at death unknown
    ]
    write_csv(raw / "health" / "deaths_2023.csv", DEATHS, deaths)
    # 30 kindergarten pupils of school year 2023, aged 4: 1..15 in T1, 16..30 in T2, and one in each other
    # township (31..40, so that every township has the inputs of the enrolment ratio); odd = boy.
    others = sorted(set(township_codes()) - {T1, T2})
    pupils = []
    for k in range(1, 31):
        town, res = (T1, "城镇") if k <= 15 else (T2, "乡村")
        sex = "1" if k % 2 else "2"
        pid = make_id("20190501", sex, seq=f"{k:02d}")
        if k == 6:
            pid = _bad_check_digit(pid)
        if k == 12:
            res = ""
        if k in (3, 4):
            sex = ""
        pupils.append([f"S{k:03d}", pid, sex, "2019-05-01", town, res, f"{town}901", "幼儿园", "0"])
    for k, town in enumerate(others, start=31):
        sex = "1" if k % 2 else "2"
        pupils.append([f"S{k:03d}", make_id("20190501", sex, seq=f"{k:02d}"), sex, "2019-05-01", town, "乡村",
                       f"{town}901", "幼儿园", "0"])
    write_csv(raw / "education" / "students_2023.csv", STUDENTS, pupils)
    # 10 residents per single year of age 0..20 and sex in each of the 12 townships, year end 2023.
    population = [[t, "城镇" if t == T1 else "乡村", s, age, 10]
                  for t in sorted(township_codes()) for s in ("1", "2") for age in range(21)]
    write_csv(raw / "population" / "population_2023.csv", POPULATION, population)


@pytest.fixture
def built(workspace):
    write_raw(workspace["raw"])
    ingest("births", "deaths", "students", "population")
    db = workspace["warehouse"] / "work.duckdb"
    env = {**os.environ, "MONITOR_WORK_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    target = workspace["warehouse"].parent / "dbt_target"
    result = subprocess.run(
        [str(DBT), "build", "--select", "+fct_indicator_values", "+fct_indicator_exclusions", "--resource-type", "seed", "--resource-type", "model",
         "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR), "--target-path", str(target),
         "--log-path", str(target / "logs")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def _district(con, indicator: str, by: str = "sex") -> dict[str, tuple]:
    other = "residence" if by == "sex" else "sex"
    rows = con.execute(
        f"""select {by}, numerator, denominator, value from main_marts.fct_indicator_values
            where indicator_code = ? and period_year = 2023 and area_code = ? and {other} = '_T'""",
        [indicator, DISTRICT]).fetchall()
    return {k: (n, d, round(v, 6) if v is not None else None) for k, n, d, v in rows}


def test_field_defects_leave_records_in_the_counts_that_do_not_need_the_field(built):
    con = built
    ledger = con.execute("SELECT extract, rows_read, rows_loaded, rows_quarantined FROM audit.file_loads "
                         "ORDER BY extract").fetchall()
    assert ledger == [("births", 41, 40, 1), ("deaths", 4, 4, 0), ("population", 504, 504, 0), ("students", 40, 40, 0)]
    blanked = dict(con.execute("SELECT extract || ':' || column_name || ':' || rule_id, count(*) FROM audit.row_flags "
                               "WHERE action = 'exclude_field' GROUP BY 1").fetchall())
    assert blanked == {"births:mother_id_number:id_bad_checksum": 4, "births:residence:missing_required": 3,
                       "births:child_sex:missing_required": 2, "deaths:death_date:impossible_date": 1,
                       "students:id_number:id_bad_checksum": 1, "students:residence:missing_required": 1,
                       "students:sex:missing_required": 2}
    # 婴儿死亡率 (‰): live births 40 (B041 is quarantined: its township places it nowhere) = 20 boys + 20 girls, of whom one boy and one girl have no sex (total
    # only); infant deaths D1-D3 (2 boys, 1 girl); D4's death date was blanked: not classifiable as infant.
    assert _district(con, "c_hlt_infant_mortality") == {
        "_T": (3, 40, 75.0), "1": (2, 19, round(2000 / 19, 6)), "2": (1, 19, round(1000 / 19, 6))}
    # by residence: urban T1 22 births less 2 blank (11, 22) = 20, rural T2 18 less 1 (33) = 17; the blank
    # ones count in the total only
    assert _district(con, "c_hlt_infant_mortality", by="residence") == {
        "_T": (3, 40, 75.0), "urban": (1, 20, 50.0), "rural": (2, 17, round(2000 / 17, 6))}
    # 学前三年毛入园率 (%): 40 pupils (20 boys, 20 girls) over 720 children aged 3-5 (12 townships x 3 ages x
    # 10, per sex 360); pupils 3 and 4 (a boy and a girl) have no sex; pupil 6's bad ID number changes nothing
    assert _district(con, "c_edu_preschool_ger") == {
        "_T": (40, 720, round(4000 / 720, 6)), "1": (19, 360, round(1900 / 360, 6)),
        "2": (19, 360, round(1900 / 360, 6))}
    # the mothers' pseudonyms of the four bad IDs are NULL, never a pseudonym of the wrong number
    assert con.execute("SELECT count(*) FROM raw.births WHERE mother_pid IS NULL").fetchone()[0] == 4
    # (one build serves both checks: it is the slow part)
    _check_exclusions(con)


def _check_exclusions(built) -> None:
    """fct_indicator_exclusions lists each record an indicator could not use, and why."""
    rows = built.execute(
        """select indicator_code, reason_code, field_name, records, reason_zh from main_marts.fct_indicator_exclusions
           where period_year = 2023 and area_code = ? and indicator_code in ('c_hlt_infant_mortality', 'c_edu_preschool_ger')""",
        [DISTRICT]).fetchall()
    found = {(code, reason, field): n for code, reason, field, n, _ in rows}
    assert found == {
        # D4: death date blanked, so whether it was an infant death is unknown
        ("c_hlt_infant_mortality", "field_invalid", "death_date"): 1,
        # the live births of the denominator: births 5 and 8 without sex, 11, 22 and 33 without 城乡
        ("c_hlt_infant_mortality", "sex_unknown", "sex"): 2,
        ("c_hlt_infant_mortality", "residence_unknown", "residence"): 3,
        # B041, quarantined whole, for every indicator whose source names the births
        ("c_hlt_infant_mortality", "record_quarantined", "births"): 1,
        ("c_edu_preschool_ger", "sex_unknown", "sex"): 2,            # pupils 3 and 4
        ("c_edu_preschool_ger", "residence_unknown", "residence"): 1,  # pupil 12
    }
    reasons = {(code, reason): zh for code, reason, _, _, zh in rows}
    assert reasons[("c_hlt_infant_mortality", "field_invalid")] == "字段「death_date」无效，入库时已置空：不计入本指标"
    # township rows add up to the district: T1 has D4, births 5, 8 (sex) and 11, 22 (城乡); T2 birth 33
    by_township = dict(built.execute(
        """select area_code || ':' || reason_code, records from main_marts.fct_indicator_exclusions
           where period_year = 2023 and indicator_code = 'c_hlt_infant_mortality' and area_code <> ?""",
        [DISTRICT]).fetchall())
    assert by_township == {f"{T1}:field_invalid": 1, f"{T1}:sex_unknown": 2, f"{T1}:residence_unknown": 2,
                           f"{T2}:residence_unknown": 1}
