"""education/*: students, the health and fitness survey, and the grade history (学籍系统).

The school year starts in the autumn of Y. A child enters grade 1 in the
autumn of the year they are 6 by 31 August, so a school cohort runs from 1
September to 31 August; kindergarten is the three years before grade 1.
Enrolment is a persistent property of the child (a hash of who they are), so a
pupil keeps the same student number and school from year to year, moves up a
grade each year, and the grade history of earlier years is the same
computation run on earlier years' population: the nine-year consolidation rate
then follows a real cohort.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from sample_data import hashing, idnumbers
from sample_data.persons import Persons, register
from sample_data.world import (
    RESIDENCE,
    SEX,
    World,
    blank_where,
    bool_series,
    date_series,
    labels,
    np_date,
    numbered,
)

SCHOOL_TYPES = ("kindergarten", "primary", "junior", "senior_general", "secondary_vocational", "technical")
PUPILS_PER_SCHOOL = np.array([160, 520, 850, 1800, 1500, 900])
SENIOR_TYPE_SHARE = [0.57, 0.35, 0.08]
JUNIOR_DROPOUT = 0.02
# The national 学籍号 is 'G' + the pupil's ID number, and many schools export it so; the others send a local
# number. A share of pupils, fixed per pupil (a hash of who they are), so a pupil keeps the same 学籍号 every
# year and in the health survey: the warehouse must pseudonymise the ID number inside it and still link them.
G_STUDENT_NUMBER_SHARE = 0.08
HISTORY_FROM = 2008


@dataclass
class Enrolment:
    enrolled: np.ndarray
    grade: np.ndarray
    school_type: np.ndarray      # index into SCHOOL_TYPES
    school_township: np.ndarray  # township index of the school
    school_residence: np.ndarray


def _senior_hosts(world: World) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per county: the townships hosting upper-secondary schools (the 街道) and their weights."""
    hosts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for county in sorted({t.county_index for t in world.townships}):
        members = [t for t in world.townships if t.county_index == county]
        urban = [t for t in members if t.is_urban_dominant] or members
        hosts[county] = (np.array([t.index for t in urban]), np.array([t.weight for t in urban]))
    return hosts


def enrol(world: World, year: int, ti: int, kids: Persons, hosts) -> Enrolment:
    tw = world.townships[ti]
    cal = world.calibration
    rural = kids.r == 1
    month = idnumbers.date_parts(kids.birth_dates)[1]
    school_cohort = kids.c + (month >= 9)
    g = year - school_cohort - 5
    p_primary = cal.p("primary", tw.code_int, year, rural)
    u_compulsory = kids.u("compulsory")
    kindergarten = (g >= -2) & (g <= 0) & (kids.u("kindergarten") < cal.p("kindergarten", tw.code_int, year, rural))
    primary = (g >= 1) & (g <= 6) & (u_compulsory < p_primary)
    junior = (g >= 7) & (g <= 9) & (u_compulsory < p_primary * (1 - JUNIOR_DROPOUT))
    senior = (g >= 10) & (g <= 12) & (u_compulsory < p_primary) & \
        (kids.u("senior") < cal.p("senior", tw.code_int, year, rural))
    enrolled = kindergarten | primary | junior | senior
    grade = np.where(kindergarten, 0, g)
    school_type = np.select([kindergarten, primary, junior], [0, 1, 2],
                            3 + hashing.categorical(kids.u("senior_type"), SENIOR_TYPE_SHARE))
    host_t, host_w = hosts[tw.county_index]
    host = host_t[hashing.categorical(kids.u("senior_school"), host_w)]
    school_township = np.where(senior, host, ti)
    host_is_urban = np.array([t.is_urban_dominant for t in world.townships])[school_township]
    school_residence = np.where(senior & host_is_urban, 0, kids.r)
    return Enrolment(enrolled, grade, school_type, school_township, school_residence)


def _school_counts(world: World) -> np.ndarray:
    """[township, type] number of schools, from the 2020 population (schools do not move yearly)."""
    year = min(max(2020, world.demo.first_year), world.demo.last_year)
    pop = world.demo.pop(year).sum(axis=(1, 2))                       # [t, age]
    pupils = np.stack([pop[:, 3:6].sum(1), pop[:, 6:12].sum(1), pop[:, 12:15].sum(1)], axis=1)
    senior = pop[:, 15:18].sum(1)
    counts = np.ones((len(world.townships), len(SCHOOL_TYPES)), dtype=np.int64)
    counts[:, :3] = np.maximum(1, np.rint(pupils / PUPILS_PER_SCHOOL[:3]))
    for county in {t.county_index for t in world.townships}:
        members = [t.index for t in world.townships if t.county_index == county]
        for k, share in enumerate(SENIOR_TYPE_SHARE):
            per_host = senior[members].sum() * share / max(1, len(members))
            counts[members, 3 + k] = max(1, int(round(per_host / PUPILS_PER_SCHOOL[3 + k] * 2)))
    return np.minimum(counts, 99)


def produce(world: World, year: int) -> Iterator[tuple[str, pl.DataFrame]]:
    """Yields ("students", frame) and ("student_health", frame) chunks for the school year."""
    hosts = _senior_hosts(world)
    schools = _school_counts(world)
    codes = [t.code for t in world.townships]
    sept1 = np_date(dt.date(year, 9, 1))
    cal = world.calibration
    for ti, tw in enumerate(world.townships):
        for chunk_no, kids in enumerate(register(world.demo, world.people, year, ti, range(year - 18, year - 2),
                                                 max_persons=world.chunk_persons)):
            e = enrol(world, year, ti, kids, hosts)
            kids = kids.take(e.enrolled)
            e = Enrolment(*(a[e.enrolled] for a in (e.enrolled, e.grade, e.school_type, e.school_township,
                                                    e.school_residence)))
            n = len(kids)
            if n == 0:
                continue
            rng = hashing.chunk_rng(world.seed, "students", year, tw.code_int, chunk_no)
            rural = kids.r == 1
            number = kids.record_numbers("student")
            local_number = numbered("student_id", "L", number, 14)
            national = kids.u("g_student_number") < G_STUDENT_NUMBER_SHARE
            student_id = pl.Series("student_id", np.where(national, ("G" + kids.id_numbers()).to_numpy(),
                                                          local_number.to_numpy()), dtype=pl.String)
            k = np.floor(kids.u("school") * schools[e.school_township, e.school_type]).astype(np.int64)
            # School code: the school's township, the type digit and a two-digit number.
            school_code = labels("school_code", codes, e.school_township) + \
                pl.Series((e.school_type + 1) * 100 + k + 1).cast(pl.String)
            senior = e.grade >= 10
            left_behind = kids.u("left_behind") < cal.p("left_behind", tw.code_int, year, rural) * np.where(senior, 0.5, 1)
            migrant = np.where(kids.born_elsewhere, kids.u("migrant") < 0.85, kids.u("migrant") < 0.004)
            disability = kids.u("disability") < cal.p("disability", tw.code_int, year)
            ids = blank_where(kids.id_numbers().alias("id_number"), rng.random(n) < 0.003)
            students = pl.DataFrame([
                student_id,
                ids,
                labels("sex", SEX, kids.s),
                date_series("birth_date", kids.birth_dates),
                labels("township_code", codes, e.school_township),
                labels("residence", RESIDENCE, e.school_residence),
                school_code,
                labels("school_type", SCHOOL_TYPES, e.school_type),
                pl.Series("grade", e.grade.astype(np.int64)),
                bool_series("graduating", np.isin(e.grade, (6, 9, 12))),
                bool_series("left_behind", left_behind),
                bool_series("migrant", migrant),
                bool_series("disability", disability),
            ]).with_columns(pl.Series("__order", number)).sort(["school_code", "grade", "__order"]).drop("__order")
            yield "students", students

            # The physical fitness and vision survey: a large share of pupils in grades 1–12.
            surveyed = (e.grade >= 1) & (kids.u_year("surveyed", year) < cal.p("surveyed_health", tw.code_int, year)
                                         * np.where(senior, 0.9, 1.0))
            if not surveyed.any():
                continue
            sk = kids.take(surveyed)
            se = Enrolment(*(a[surveyed] for a in (e.enrolled, e.grade, e.school_type, e.school_township,
                                                   e.school_residence)))
            s_rural = sk.r == 1
            myopia = sk.u("myopia") < cal.myopia(se.grade, tw.code_int, year)
            good = cal.p("fitness_good", tw.code_int, year, s_rural)
            u_fit = sk.u_year("fitness", year)
            fitness = np.select([u_fit < 0.2 * good, u_fit < good, u_fit < 1 - 0.07], [0, 1, 2], 3)
            age12 = sk.ages_at(sept1) == 12
            caries = sk.u_year("caries", year) < cal.p("caries_12", tw.code_int, year, s_rural)
            health = pl.DataFrame([
                student_id.filter(pl.Series(surveyed)),
                labels("sex", SEX, sk.s),
                date_series("birth_date", sk.birth_dates),
                labels("school_type", SCHOOL_TYPES, se.school_type),
                pl.Series("grade", se.grade.astype(np.int64)),
                labels("township_code", codes, se.school_township),
                bool_series("myopia", myopia),
                labels("fitness_rating", ("excellent", "good", "pass", "fail"), fitness),
                bool_series("caries", caries, known=age12),
            ])
            yield "student_health", health


def grade_history(world: World, first_year: int, last_year: int) -> pl.DataFrame:
    """Enrolled pupils by year, sex and grade: the same selection as the students files."""
    hosts = _senior_hosts(world)
    counts = {}
    for year in range(first_year, last_year + 1):
        total = np.zeros((2, 13), dtype=np.int64)
        for ti in range(len(world.townships)):
            for kids in register(world.demo, world.people, year, ti, range(year - 18, year - 2),
                                 max_persons=world.chunk_persons):
                e = enrol(world, year, ti, kids, hosts)
                np.add.at(total, (kids.s[e.enrolled], e.grade[e.enrolled]), 1)
        counts[year] = total
    years, sexes, grades, enrolled = [], [], [], []
    for year, total in counts.items():
        for s in (0, 1):
            for g in range(13):
                years.append(year)
                sexes.append(SEX[s])
                grades.append(g)
                enrolled.append(int(total[s, g]))
    return pl.DataFrame({"year": years, "sex": sexes, "grade": grades, "enrolled": enrolled},
                        schema={"year": pl.Int64, "sex": pl.String, "grade": pl.Int64, "enrolled": pl.Int64})
