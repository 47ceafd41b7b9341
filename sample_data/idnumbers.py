"""Citizen ID numbers (GB 11643) for synthetic people, unique by construction.

An ID is area code (6) + birth date (8) + sequence (3) + check character. The
generator must never give two people the same number, or the warehouse would
merge them after pseudonymisation. Uniqueness follows from how people are
keyed (see persons.py): within a (township, residence, sex, cohort) block, the
person index i gives a distinct (birth day, slot k) pair; the slot and the
block's position within its county give a distinct "virtual sequence" v; v is
split into a lane (v // 500) and a sequence (v % 500), digit 17 carries the sex
(odd = male). Lane 0 of a person born locally is the county's own code; other
lanes and people born elsewhere use codes from a pool that contains no local
county code, each (lane, county, origin) getting its own pool entry.
"""
from __future__ import annotations

import numpy as np
import polars as pl

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
SEQ_PER_LANE = 500   # three sequence digits, the last one's parity reserved for sex

# Where people not born in the district come from (GB/T 2260 codes). Shaoyang's other
# counties first (most in-migrants come from there; 430521 is the pre-2019 code of
# 邵东县, still on older cards), then the rest of Hunan.
SHAOYANG_CODES = [
    "430503", "430511", "430582", "430521", "430522", "430523", "430524", "430525",
    "430527", "430528", "430529", "430581", "430500",
]
HUNAN_CODES = [
    "430102", "430103", "430104", "430105", "430111", "430112", "430121", "430181", "430182",
    "430202", "430203", "430204", "430211", "430212", "430223", "430224", "430225", "430281",
    "430302", "430304", "430321", "430381", "430382",
    "430405", "430406", "430407", "430408", "430412", "430421", "430422", "430423", "430424",
    "430426", "430481", "430482",
    "430602", "430603", "430611", "430621", "430623", "430624", "430626", "430681", "430682",
    "430702", "430703", "430721", "430722", "430723", "430724", "430725", "430726", "430781",
    "430802", "430811", "430821", "430822",
    "430902", "430903", "430921", "430922", "430923", "430981",
    "431002", "431003", "431021", "431022", "431023", "431024", "431025", "431026", "431027",
    "431028", "431081",
    "431102", "431103", "431122", "431123", "431124", "431125", "431126", "431127", "431128",
    "431129", "431181",
    "431202", "431221", "431222", "431223", "431224", "431225", "431226", "431227", "431228",
    "431229", "431230", "431281",
    "431302", "431321", "431322", "431381", "431382",
    "433101", "433122", "433123", "433124", "433125", "433126", "433127", "433130",
]
# Neighbouring provinces, for pools that outgrow Hunan's codes at large scale.
_OTHER_PROVINCES = ["44", "45", "52", "50", "42", "36", "35", "51", "53", "41", "34", "33"]


def code_pool(local_codes: list[str]) -> list[str]:
    """Area codes available for non-local lanes and in-migrants, never a local county code."""
    local = set(local_codes)
    pool = [c for c in SHAOYANG_CODES + HUNAN_CODES if c not in local]
    for prov in _OTHER_PROVINCES:
        for pref in range(1, 16):
            for county in range(2, 30):
                code = f"{prov}{pref:02d}{county:02d}"
                if code not in local:
                    pool.append(code)
    return pool


def date_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) int arrays of a datetime64[D] array."""
    d = dates.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def check_index(first17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 remainder (index into CHECK_CHARS) of 17-digit integers."""
    total = np.zeros(first17.shape, dtype=np.int64)
    rest = first17.astype(np.int64)
    for pos in range(16, -1, -1):
        total += (rest % 10) * WEIGHTS[pos]
        rest //= 10
    return total % 11


def build(codes: np.ndarray, dates: np.ndarray, seq: np.ndarray, male: np.ndarray) -> pl.Series:
    """18-character ID strings.

    codes: int64 6-digit area codes; dates: datetime64[D]; seq: 0..499; male: bool.
    """
    year, month, day = date_parts(dates)
    codes = np.asarray(codes, dtype=np.int64)
    # A constant shift per area code keeps sequences distinct and avoids a suspicious run of "000"s.
    seq = (np.asarray(seq, dtype=np.int64) + (codes * 7919) % SEQ_PER_LANE) % SEQ_PER_LANE
    seq3 = (seq // 5) * 10 + 2 * (seq % 5) + np.asarray(male, dtype=np.int64)
    first17 = codes * 10**11 + (year * 10000 + month * 100 + day) * 1000 + seq3
    checks = pl.Series(list(CHECK_CHARS)).gather(check_index(first17))
    return pl.Series(first17).cast(pl.String) + checks


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * int(w) for d, w in zip(first17, WEIGHTS)) % 11]


def is_valid(id_number: str) -> bool:
    """Strict validity: 18 characters, real birth date, correct upper-case check character."""
    import datetime as dt

    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    try:
        dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return False
    return check_char(id_number[:17]) == id_number[17]
