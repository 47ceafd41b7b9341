"""civil_affairs/*: village and community committee members, social assistance recipients (民政局)."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from sample_data import hashing
from sample_data.calibration import expit, logit
from sample_data.persons import Persons, pick_from_register, register
from sample_data.world import (
    RESIDENCE,
    SEX,
    World,
    blank_where,
    bool_series,
    constant,
    date_series,
    labels,
    numbered,
)

# Committees are elected for a term; since 2021 terms are five years.
TERM_STARTS = [2009, 2012, 2015, 2018, 2021, 2026, 2031]
RE_ELECTED = 0.55
WOMEN_SHARE = {
    "village": dict(zip(TERM_STARTS, [0.19, 0.21, 0.23, 0.25, 0.31, 0.34, 0.36])),
    "community": dict(zip(TERM_STARTS, [0.46, 0.48, 0.50, 0.52, 0.55, 0.57, 0.58])),
}
WOMEN_CHAIRS = {
    "village": dict(zip(TERM_STARTS, [0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.13])),
    "community": dict(zip(TERM_STARTS, [0.26, 0.28, 0.30, 0.34, 0.39, 0.40, 0.41])),
}
# Share of chairs who are also the Party branch secretary (一肩挑, the rule from 2021).
CHAIR_IS_SECRETARY = dict(zip(TERM_STARTS, [0.30, 0.30, 0.35, 0.55, 0.93, 0.95, 0.95]))
RESIDENTS_PER_COMMUNITY = 3200   # 居委会
RESIDENTS_PER_VILLAGE = 1500     # 村委会


def term_of(year: int) -> int:
    return max(t for t in TERM_STARTS if t <= year)


def _committees(world: World, ti: int) -> tuple[np.ndarray, np.ndarray]:
    """Committee codes and types of a township (village part 001–199 居委会, 200–399 村委会)."""
    ref = min(max(2020, world.demo.first_year), world.demo.last_year)
    pop = world.demo.pop(ref)[ti].sum(axis=(1, 2))                     # [residence]
    code = world.townships[ti].code
    n_comm = 0 if pop[0] < 300 else int(np.clip(round(pop[0] / RESIDENTS_PER_COMMUNITY), 1, 199))
    n_vill = 0 if pop[1] < 300 else int(np.clip(round(pop[1] / RESIDENTS_PER_VILLAGE), 1, 200))
    codes = [f"{code}{k:03d}" for k in range(1, n_comm + 1)] + [f"{code}{k:03d}" for k in range(200, 200 + n_vill)]
    kinds = ["community"] * n_comm + ["village"] * n_vill
    return np.array(codes), np.array(kinds)


def _female_probability(world: World, ti: int, kind: np.ndarray, chair: np.ndarray, term: int) -> np.ndarray:
    """Sex of newly elected members, chosen so that, with re-elected members, the term meets its level."""
    prev = TERM_STARTS[max(0, TERM_STARTS.index(term) - 1)]
    effect = 0.3 * world.calibration.township_effect("committee_women", world.townships[ti].code_int)
    out = np.empty(len(kind))
    for k in ("village", "community"):
        for is_chair, table in ((False, WOMEN_SHARE), (True, WOMEN_CHAIRS)):
            sel = (kind == k) & (chair == is_chair)
            target = expit(logit(table[k][term]) + effect)
            before = expit(logit(table[k][prev]) + effect)
            out[sel] = np.clip((target - RE_ELECTED * before) / (1 - RE_ELECTED), 0.02, 0.95)
    return out


def _unique_members(world: World, ti: int, term: int, members: Persons, reelected: np.ndarray) -> Persons:
    """Nobody sits twice in a township's committees: a newcomer who is already seated is replaced.

    Picks of different terms come from different years' population, so rarely
    the same person is drawn twice; the data are tiny, a loop is fine.
    """
    for attempt in range(1, 30):
        key = np.stack([members.r, members.s, members.c, members.i])
        # Re-elected members win: they are listed first when looking for repeats.
        order = np.lexsort((~reelected, *key[::-1]))
        sorted_key = key[:, order]
        repeat = np.zeros(len(order), dtype=bool)
        repeat[1:] = np.all(sorted_key[:, 1:] == sorted_key[:, :-1], axis=0)
        again = order[repeat]
        if len(again) == 0:
            return members
        redo = pick_from_register(world.people, world.demo, term, members.t[again], members.r[again], members.s[again],
                                  term - members.c[again] + attempt % 3, salt=f"committee-again{attempt}")
        for field in ("t", "r", "s", "c", "i"):
            getattr(members, field)[again] = getattr(redo, field)
        members = Persons(members.pop, members.t, members.r, members.s, members.c, members.i)
    return members


def committee_members(world: World, year: int) -> Iterator[pl.DataFrame]:
    current = term_of(year)
    for ti, tw in enumerate(world.townships):
        codes, kinds = _committees(world, ti)
        if len(codes) == 0:
            continue
        holders: Persons | None = None
        prev_size = None
        for term_no, term in enumerate(t for t in TERM_STARTS if t <= current):
            size = 5 + np.floor(3 * np.array([hashing.scalar_uniform(world.seed, "size", c, term) for c in codes]))
            size = size.astype(np.int64)
            q = np.repeat(np.arange(len(codes)), size)
            slot = np.concatenate([np.arange(n) for n in size])
            rng = hashing.chunk_rng(world.seed, "committee", tw.code_int, term)
            m = len(q)
            chair = slot == 0
            female = rng.random(m) < _female_probability(world, ti, kinds[q], chair, term)
            age = np.where(chair, rng.integers(35, 59, m), rng.integers(26, 59, m))
            residence = np.where(kinds[q] == "community", 0, 1)
            fresh = pick_from_register(world.people, world.demo, term, np.full(m, ti), residence,
                                       female.astype(np.int64), age, salt="committee", spread=term_no, stride=8)
            if holders is not None:
                # A member of the previous term keeps the seat if re-elected and not too old.
                prev_start = np.concatenate([[0], np.cumsum(prev_size)[:-1]])
                had_seat = slot < prev_size[q]
                prev_pos = np.where(had_seat, prev_start[q] + np.minimum(slot, prev_size[q] - 1), 0)
                candidate = holders.take(prev_pos)
                keep = had_seat & (rng.random(m) < RE_ELECTED) & (term - candidate.c <= 62)
                fresh = Persons(world.people, *(np.where(keep, getattr(candidate, f), getattr(fresh, f))
                                                for f in ("t", "r", "s", "c", "i")))
                fresh = _unique_members(world, ti, term, fresh, keep)
            holders, prev_size = fresh, size
            secretary_u = rng.random(m)
        chair = slot == 0
        chair_secretary = chair & (secretary_u < CHAIR_IS_SECRETARY[current])
        chair_flag = np.zeros(len(codes), dtype=bool)
        chair_flag[q[chair_secretary]] = True
        vice_secretary = (slot == 1) & ~chair_flag[q] & (secretary_u < 0.3)
        role = np.where(chair, "chair", np.where((slot == 1) & (size[q] >= 6), "vice_chair", "member"))
        yield pl.DataFrame([
            pl.Series("committee_code", codes[q]),
            pl.Series("committee_type", kinds[q]),
            holders.id_numbers().alias("id_number"),
            labels("sex", SEX, holders.s),
            date_series("birth_date", holders.birth_dates),
            pl.Series("role", role),
            bool_series("party_secretary", chair_secretary | vice_secretary),
        ])


# ----------------------------------------------------------------------------------------------
# social assistance
# ----------------------------------------------------------------------------------------------
def social_assistance(world: World, year: int) -> Iterator[pl.DataFrame]:
    cal = world.calibration
    # Monthly standards (yuan) rise every year; recipients get the gap to their income.
    urban_standard = 560 * 1.05 ** (year - 2019)
    rural_standard = 380 * 1.06 ** (year - 2019)
    for ti, tw in enumerate(world.townships):
        for people in register(world.demo, world.people, year, ti, range(year - 99, year + 1),
                               max_persons=world.chunk_persons):
            age = year - people.c
            rural = people.r == 1
            female = people.s == 1
            p_tekun = np.where(age >= 60, cal.p("tekun_elderly", tw.code_int, year, rural),
                               np.where(age < 18, 0.0008, 0.0012) * np.where(rural, 2.0, 1.0))
            p_dibao = cal.p("dibao", tw.code_int, year, rural) * np.where(age >= 60, 1.5, np.where(age < 18, 1.15, 1.0)) \
                * np.where(female, 1.06, 0.95)
            p_low = cal.p("low_income", tw.code_int, year, rural)
            u = people.u("assistance")
            programme = np.select([u < p_tekun, u < p_tekun + p_dibao, u < p_tekun + p_dibao + p_low], [0, 1, 2], -1)
            chosen = programme >= 0
            if not chosen.any():
                continue
            people, programme, rural = people.take(chosen), programme[chosen], rural[chosen]
            standard = np.where(rural, rural_standard, urban_standard)
            share = 0.35 + 0.65 * people.u("assistance_amount")
            amount = np.where(programme == 0, np.rint(standard * 1.3 + 300 * share), np.rint(standard * share))
            number = people.record_numbers("assistance")
            frame = pl.DataFrame([
                numbered("recipient_id", "JZ", number, 14),
                people.id_numbers().alias("id_number"),
                labels("sex", SEX, people.s),
                date_series("birth_date", people.birth_dates),
                constant("township_code", tw.code, len(people)),
                labels("residence", RESIDENCE, people.r),
                labels("programme", ("tekun", "dibao", "low_income"), programme),
                # Low-income households are monitored, not paid monthly: the amount is not applicable.
                blank_where(pl.Series("monthly_amount_yuan", amount.astype(np.float64)), programme == 2),
            ])
            yield frame.sort("recipient_id")
