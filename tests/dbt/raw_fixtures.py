"""Hand-made raw tables for testing the dbt project.

The raw tables are created from the extract contracts (`Extract.ddl()`), exactly as ingestion
creates them, and filled with a few rows per table. The foundation indicators have hand-computed
expected values in `EXPECTED` (see test_dbt_build.py); every other table gets enough rows for each
catalogue indicator to produce at least one value.

Areas: T1 = 430502001 兴隆街道 (urban rows), T2 = 430502100 高崇山镇 (rural rows).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.contracts import load_contracts
from dagster_project.ingest.audit_tables import AUDIT_DDL

T1, T2, DISTRICT = "430502001", "430502100", "430502"
YEAR = 2023
D = dt.date


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[dict[str, Any]], period_year: int | None = None) -> None:
    rows = list(rows)
    if not rows:
        return
    for i, row in enumerate(rows, start=1):
        row.setdefault("_load_id", "test-load")
        row.setdefault("_source_file", f"{table}_test.csv")
        row.setdefault("_source_sha256", "0" * 64)
        row.setdefault("_row_number", i)
        row.setdefault("_period_year", period_year if period_year is not None else row.get("year", YEAR))
        row.setdefault("_source_department", table)
    cols = sorted({c for r in rows for c in r})
    sql = f'insert into raw.{table} ({", ".join(chr(34) + c + chr(34) for c in cols)}) values ({", ".join("?" for _ in cols)})'
    con.executemany(sql, [[r.get(c) for c in cols] for r in rows])


def other_townships() -> list[str]:
    """The district's townships of the areas seed other than T1 and T2."""
    import csv

    with (Path(__file__).resolve().parents[2] / "dbt" / "seeds" / "areas.csv").open(encoding="utf-8") as fh:
        return [r["area_code"] for r in csv.DictReader(fh) if r["level"] == "township" and r["area_code"] not in (T1, T2)]


def population_rows(year: int) -> list[dict[str, Any]]:
    """10 residents per single year of age 0..100, per sex, in each township (T1 urban, T2 rural).

    The district's other townships report a population of 0 (one row each): the population is a
    township-level feed, and a township without rows would leave every district value based on it
    incomplete (int_indicator_townships_covered); with 0 residents the district values are T1 + T2.
    """
    return [
        {"township_code": t, "residence": res, "sex": sex, "age": age, "population": 10, "_period_year": year}
        for t, res in ((T1, "urban"), (T2, "rural"))
        for sex in ("1", "2")
        for age in range(0, 101)
    ] + [
        {"township_code": t, "residence": "urban", "sex": "1", "age": 0, "population": 0, "_period_year": year}
        for t in other_townships()
    ]


def births_rows() -> list[dict[str, Any]]:
    """Statistical year 2023: T1 6 boys + 4 girls (urban), T2 3 boys + 5 girls (rural)."""
    rows = []
    spec = [(T1, "urban", "1", 6), (T1, "urban", "2", 4), (T2, "rural", "1", 3), (T2, "rural", "2", 5)]
    n = 0
    for township, res, sex, count in spec:
        for _ in range(count):
            n += 1
            rows.append({
                "birth_id": f"B{n:03d}", "mother_pid": f"M{n:03d}", "mother_birth_date": D(1994, 5, 1),
                "township_code": township, "residence": res, "child_sex": sex, "birth_date": D(2023, 3, 1),
                "birth_weight_g": 2400 if n % 5 == 0 else 3300, "gestation_weeks": 39, "hospital_delivery": True,
                "registered_week": 10, "antenatal_visits": 6, "postpartum_visit": n % 2 == 0,
                "hiv_tested": True, "syphilis_tested": True, "hbv_tested": True,
                "hiv_positive": n == 1, "syphilis_positive": n == 2, "hbv_positive": False,
                "mother_treated": True if n in (1, 2) else None, "infant_treated": True if n in (1, 2) else None,
                "hiv_infant_infected": False if n == 1 else None, "congenital_syphilis": False,
                "prepregnancy_check": True, "prenatal_screened": True, "newborn_screened": True,
                "newborn_visited": True, "exclusive_breastfeeding_6m": n % 3 != 0,
                "_period_year": YEAR,
            })
    return rows


def late_births_rows() -> list[dict[str, Any]]:
    """Births whose year is not their file's (event dates decide the period, staging audit_columns).

    births_2021 (on time): T1 2 boys + 1 girl. births_2023 also holds two late reports: a girl born
    2021-08-15 in T2 (counts in 2021, not in 2023) and a boy born 2022-05-01 in T1 (statistical year
    2022 has no births file: counted in neither year, listed as not counted in fct_late_reported_events).
    """
    base = births_rows()[2]  # a T1 urban birth without infections: only the fields below differ

    def birth(birth_id, township, res, sex, born, file_year):
        return {**base, "birth_id": birth_id, "mother_pid": f"M{birth_id}", "township_code": township,
                "residence": res, "child_sex": sex, "birth_date": born, "_period_year": file_year,
                "_source_file": f"health/births_{file_year}.csv", "_load_id": f"births-{file_year}"}
    return [
        birth("B2101", T1, "urban", "1", D(2021, 3, 1), 2021),
        birth("B2102", T1, "urban", "1", D(2021, 9, 30), 2021),
        birth("B2103", T1, "urban", "2", D(2020, 10, 1), 2021),
        birth("B2301", T2, "rural", "2", D(2021, 8, 15), YEAR),
        birth("B2302", T1, "urban", "1", D(2022, 5, 1), YEAR),
    ]


def deaths_rows() -> list[dict[str, Any]]:
    """2023: a boy in T1 dead at 10 days, a girl in T2 dead at 100 days, a maternal death in T1,
    a 10-year-old boy drowned in T2 (injury)."""
    return [
        {"death_id": "D1", "sex": "1", "birth_date": D(2023, 1, 1), "death_date": D(2023, 1, 11),
         "township_code": T1, "residence": "urban", "maternal_death": False, "injury_death": False, "cause_icd10": "P07.3"},
        {"death_id": "D2", "sex": "2", "birth_date": D(2023, 1, 1), "death_date": D(2023, 4, 11),
         "township_code": T2, "residence": "rural", "maternal_death": False, "injury_death": False, "cause_icd10": "J18.9"},
        {"death_id": "D3", "sex": "2", "birth_date": D(1993, 6, 1), "death_date": D(2023, 3, 20),
         "township_code": T1, "residence": "urban", "maternal_death": True, "injury_death": False, "cause_icd10": "O72.1"},
        {"death_id": "D4", "sex": "1", "birth_date": D(2012, 7, 1), "death_date": D(2023, 7, 20),
         "township_code": T2, "residence": "rural", "maternal_death": False, "injury_death": True, "cause_icd10": "W69"},
    ]


def committee_rows() -> list[dict[str, Any]]:
    """Year end 2023. Villages: T1 ...201 5 members (2 women, chair a woman); T2 ...201 5 members (1 woman),
    T2 ...202 5 members (0 women). Community: T1 ...001 3 members (2 women)."""
    rows = []
    spec = [(T1 + "201", "village", 2), (T2 + "201", "village", 1), (T2 + "202", "village", 0), (T1 + "001", "community", 2)]
    n = 0
    for committee, ctype, women in spec:
        size = 3 if ctype == "community" else 5
        for k in range(size):
            n += 1
            rows.append({
                "committee_code": committee, "committee_type": ctype, "person_pid": f"C{n:03d}",
                "sex": "2" if k < women else "1", "birth_date": D(1975, 1, 1),
                "role": "chair" if k == 0 else "member", "party_secretary": k == 0,
            })
    return rows


def students_rows() -> list[dict[str, Any]]:
    """School year 2023. Kindergarten: T1 12 boys + 15 girls, T2 9 boys + 6 girls.
    Upper secondary: T1 20 boys + 22 girls (half vocational). Junior grade 9 graduating: 18 boys + 19 girls."""
    rows = []
    n = 0

    def add(count, township, res, sex, school_type, grade, graduating=False):
        nonlocal n
        for _ in range(count):
            n += 1
            rows.append({
                "student_id": f"S{n:04d}", "person_pid": f"SP{n:04d}", "sex": sex,
                "birth_date": D(YEAR - 4 - grade, 3, 1), "township_code": township, "residence": res,
                "school_code": f"SCH{township[-3:]}{school_type[:3]}", "school_type": school_type, "grade": grade,
                "graduating": graduating, "left_behind": False, "migrant": False, "disability": False,
            })

    add(12, T1, "urban", "1", "kindergarten", 0)
    add(15, T1, "urban", "2", "kindergarten", 0)
    add(9, T2, "rural", "1", "kindergarten", 0)
    add(6, T2, "rural", "2", "kindergarten", 0)
    add(10, T1, "urban", "1", "senior_general", 10)
    add(10, T1, "urban", "1", "secondary_vocational", 11)
    add(11, T1, "urban", "2", "senior_general", 10)
    add(11, T1, "urban", "2", "technical", 12)
    add(18, T1, "urban", "1", "junior", 9, graduating=True)
    add(19, T1, "urban", "2", "junior", 9, graduating=True)
    return rows


def grade_history_rows() -> list[dict[str, Any]]:
    """Grade-1 enrolment of school year 2015 (the cohort graduating in school year 2023): 20 boys, 20 girls."""
    return [
        {"year": 2015, "sex": "1", "grade": 1, "enrolled": 20, "_period_year": 2015},
        {"year": 2015, "sex": "2", "grade": 1, "enrolled": 20, "_period_year": 2015},
    ]


def child_health_rows() -> list[dict[str, Any]]:
    rows = []
    for n, (sex, birth) in enumerate([("1", D(2021, 5, 1)), ("2", D(2021, 6, 1)), ("1", D(2019, 1, 1)), ("2", D(2018, 3, 1))], start=1):
        rows.append({
            "child_record_id": f"CH{n}", "person_pid": f"CP{n}", "sex": sex, "birth_date": birth,
            "township_code": T1, "residence": "urban", "health_checks": 2, "systematic_management": n != 2,
            "vision_checked": True, "hemoglobin_g_l": 105.0 if n == 1 else 120.0, "height_for_age_z": -2.5 if n == 2 else 0.1,
            "fully_immunized": True,
        })
    return rows


def cancer_screening_rows() -> list[dict[str, Any]]:
    rows = []
    for n, (stype, year) in enumerate([("cervical", 2021), ("cervical", 2022), ("cervical", 2023), ("breast", 2023)], start=1):
        rows.append({
            "screening_id": f"CS{n}", "person_pid": f"W{n}", "birth_date": D(1980, 1, 1), "township_code": T1,
            "residence": "urban", "screening_type": stype, "screening_date": D(year, 3, 1), "result": "normal",
            "treated": None, "_period_year": year,
        })
    return rows


def student_health_rows() -> list[dict[str, Any]]:
    rows = []
    spec = [("H1", "1", "primary", 4), ("H2", "2", "primary", 4), ("H3", "1", "junior", 8), ("H4", "2", "junior", 8),
            ("H5", "1", "senior_general", 11), ("H6", "2", "senior_general", 11)]
    for year in (2022, 2023):
        for sid, sex, stype, grade in spec:
            rows.append({
                "student_id": sid, "sex": sex, "birth_date": D(2011, 1, 1), "school_type": stype, "grade": grade - (2023 - year),
                "township_code": T1, "myopia": year == 2023 and sid in ("H1", "H4", "H5"),
                "fitness_rating": "good" if sid in ("H1", "H2", "H3") else "pass",
                "caries": (sid == "H3") if stype == "junior" else None, "_period_year": year,
            })
    return rows


def social_assistance_rows() -> list[dict[str, Any]]:
    return [
        {"recipient_id": f"R{n}", "person_pid": f"RP{n}", "sex": sex, "birth_date": D(1960, 1, 1), "township_code": T1,
         "residence": "urban", "programme": prog, "monthly_amount_yuan": 500.0}
        for n, (sex, prog) in enumerate([("2", "dibao"), ("2", "dibao"), ("1", "dibao"), ("2", "tekun")], start=1)
    ]


def cases_rows() -> list[dict[str, Any]]:
    return [
        {"case_id": "K1", "victim_pid": "V1", "victim_sex": "2", "victim_birth_date": D(1985, 1, 1), "township_code": T1,
         "case_type": "domestic_violence", "report_date": D(2023, 5, 1), "warning_letter": True, "protection_order": False},
        {"case_id": "K2", "victim_pid": "V2", "victim_sex": "2", "victim_birth_date": D(1990, 1, 1), "township_code": T2,
         "case_type": "sexual_assault", "report_date": D(2023, 6, 1), "warning_letter": None, "protection_order": None},
        {"case_id": "K3", "victim_pid": "V3", "victim_sex": "1", "victim_birth_date": D(2012, 1, 1), "township_code": T2,
         "case_type": "domestic_violence", "report_date": D(2023, 7, 1), "warning_letter": False, "protection_order": True},
    ]


def legal_aid_rows() -> list[dict[str, Any]]:
    return [
        {"aid_id": f"A{n}", "person_pid": f"AP{n}", "sex": sex, "birth_date": D(1990, 1, 1), "township_code": T1, "category": cat}
        for n, (sex, cat) in enumerate([("2", "women_rights"), ("2", "women_rights"), ("1", "minors"), ("2", "minors")], start=1)
    ]


def forms_rows(seeds_dir: Path) -> list[dict[str, Any]]:
    """One value per form item at its declared level; by-sex items reported for 1, 2 and T."""
    import csv

    rows = []
    with (seeds_dir / "form_items.csv").open(encoding="utf-8") as fh:
        items = list(csv.DictReader(fh))
    for item in items:
        area = DISTRICT if item["level"] == "district" else T1
        base = float(item["gen_max"] or 1)
        if item["gen_base"]:          # a share of another item
            base = round(float(item["gen_max"]) * 10)
            if item["gen_base"] == "dept_teams":
                base = 7
        if item["by_sex"] == "Y":
            share = float(item["gen_female_share"] or 0.5)
            female = round(base * share) if item["unit"] != "years" else 81.0
            male = round(base - female) if item["unit"] != "years" else 76.0
            total = female + male if item["unit"] != "years" else 78.5
            for sex, value in (("1", male), ("2", female), ("T", total)):
                rows.append({"item_code": item["item_code"], "township_code": area, "sex": sex, "age_group": "_T", "value": float(value)})
        else:
            rows.append({"item_code": item["item_code"], "township_code": area, "sex": "T", "age_group": "_T", "value": float(base)})
    for r in rows:
        r["_source_department"] = "test"
    return rows


def build_raw_database(path: Path, seeds_dir: Path) -> None:
    """Create the raw schema from the contracts and load the hand-made rows."""
    con = duckdb.connect(str(path))
    try:
        for ddl in AUDIT_DDL:  # the raw and audit schemas, as ingestion creates them (dbt reads the gate's verdicts)
            con.execute(ddl)
        for extract in load_contracts().extracts.values():
            con.execute(extract.ddl())
        _insert(con, "population", population_rows(YEAR))
        _insert(con, "population", population_rows(2021), period_year=2021)
        _insert(con, "population", population_rows(2022), period_year=2022)
        _insert(con, "births", births_rows() + late_births_rows())
        _insert(con, "deaths", deaths_rows())
        _insert(con, "committee_members", committee_rows())
        _insert(con, "students", students_rows())
        # grade_history is sent whole (no year in its file name): ingestion leaves its _period_year empty
        _insert(con, "grade_history", [{**r, "_period_year": None} for r in grade_history_rows()])
        _insert(con, "child_health", child_health_rows())
        _insert(con, "cancer_screening", cancer_screening_rows())
        _insert(con, "student_health", student_health_rows())
        _insert(con, "social_assistance", social_assistance_rows())
        _insert(con, "cases", cases_rows())
        _insert(con, "legal_aid", legal_aid_rows())
        _insert(con, "forms", forms_rows(seeds_dir))
    finally:
        con.close()
