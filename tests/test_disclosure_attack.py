"""The intruder's attack (tests/disclosure_attack.py) on hand-made outputs: it finds each kind of leak in a
deliberately leaky fixture, respects the rounding of what is shown, and finds nothing in a table protected by
the warehouse's suppression. (The real run is attacked in tests/test_disclosure_all_outputs.py.)"""
from __future__ import annotations

from dagster_project.exports.disclosure import protect_counts
from tests.disclosure_attack import Published, Truth, attack

# District D with townships A and B; under-5 deaths (numerator) per 1,000 live births (denominator), by sex.
DEATHS = {("A", "2"): 1, ("A", "1"): 5, ("B", "2"): 6, ("B", "1"): 7}
BIRTHS = {("A", "2"): 200, ("A", "1"): 210, ("B", "2"): 300, ("B", "1"): 320}
YEAR = 2024


def _complete(table: dict) -> dict:
    full = dict(table)
    for sex in ("1", "2"):
        full[("D", sex)] = table[("A", sex)] + table[("B", sex)]
    for area in ("A", "B", "D"):
        full[(area, "_T")] = full[(area, "1")] + full[(area, "2")]
    return full


def truth(statuses: dict | None = None) -> Truth:
    deaths, births = _complete(DEATHS), _complete(BIRTHS)
    statuses = statuses or {}
    counts, status = {}, {}
    for kind, table in (("numerator", deaths), ("denominator", births)):
        for (area, sex), value in table.items():
            counts[("u5", kind, YEAR, area, sex)] = float(value)
            status[("u5", kind, YEAR, area, sex)] = statuses.get((kind, area, sex), "published")
    value_status = {("u5", YEAR, a, s): "primary" if status[("u5", "numerator", YEAR, a, s)] == "primary" else
                    "secondary" if status[("u5", "numerator", YEAR, a, s)] == "secondary" else "published"
                    for (_, _, _, a, s) in counts}
    return Truth(counts=counts, statuses=status, value_status=value_status, children={"D": ["A", "B"]},
                 areas=["D", "A", "B"], factor={"u5": 1000.0},
                 quantity={("u5", "numerator"): "under-5 deaths", ("u5", "denominator"): "live births"}, threshold=4)


PRIMARY_ONLY = {("numerator", "A", "2"): "primary"}  # what blanking the small count alone does


def publish_all_but(hidden: set[tuple[str, str, str]], rates: bool = False, decimals: int | None = None) -> Published:
    t = truth()
    out = Published()
    for (_, kind, year, area, sex), value in t.counts.items():
        if (kind, area, sex) not in hidden:
            out.add_count("fixture", "u5", kind, year, area, sex, value)
    if rates:
        for (_, kind, year, area, sex), value in t.counts.items():
            if kind == "numerator" and ("numerator", area, sex) not in hidden:
                continue  # rates only where they add something: the hidden numerators' cells
            if kind == "numerator":
                births = t.counts[("u5", "denominator", year, area, sex)]
                out.add_rate("fixture", "u5", year, area, sex, round(value / births * 1000, 9 if decimals is None else decimals),
                             decimals)
    return out


def test_blanking_only_the_small_count_is_undone_by_totals_minus_parts():
    """A's female deaths (1) blanked, everything else shown: the district minus B, or A's total minus A's males."""
    found = attack(publish_all_but({("numerator", "A", "2")}), truth(PRIMARY_ONLY))
    assert [(r.area, r.sex, r.true_value) for r in found] == [("A", "2", 1.0)]
    assert found[0].how == "totals minus parts"


def test_a_rate_times_its_published_denominator_gives_the_count_back():
    """Every sum around A's female deaths blanked too, but the rate is shown beside the published births."""
    hidden = {("numerator", a, s) for a in ("A", "B", "D") for s in ("2", "1", "_T")}
    found = attack(publish_all_but(hidden, rates=True), truth({("numerator", a, s): "secondary" for a, s in
                                                               [("A", "1"), ("B", "2"), ("B", "1"), ("D", "2"), ("D", "1"),
                                                                ("A", "_T"), ("B", "_T"), ("D", "_T")]} | PRIMARY_ONLY))
    recovered = {(r.area, r.sex): r.true_value for r in found}
    assert recovered[("A", "2")] == 1.0 and "rate × denominator" in next(r.how for r in found if r.area == "A" and r.sex == "2")
    assert len(recovered) == 9  # every blanked numerator: each rate is shown at full precision


def test_rounding_is_taken_into_account():
    """5.0 per 1,000 of 200 births, shown as '5' (4.5..5.5): 0.9..1.1 deaths, one integer: recovered. Shown with no
    decimals per 1,000 of 2,100 births the interval 9.45..11.55 holds three integers: not recovered."""
    leaky = attack(publish_all_but({("numerator", "A", "2"), ("numerator", "A", "_T"), ("numerator", "D", "2"),
                                    ("numerator", "D", "_T"), ("numerator", "B", "2"), ("numerator", "B", "_T")},
                                   rates=True, decimals=0),
                   truth(PRIMARY_ONLY))
    assert ("A", "2") in {(r.area, r.sex) for r in leaky}
    wide = Published()
    wide.add_count("fixture", "u5", "denominator", YEAR, "A", "2", 2100.0)
    wide.add_rate("fixture", "u5", YEAR, "A", "2", 5.0, decimals=0)
    many = truth(PRIMARY_ONLY)
    many.counts[("u5", "denominator", YEAR, "A", "2")] = 2100.0
    many.counts[("u5", "numerator", YEAR, "A", "2")] = 10.0
    assert attack(wide, many) == []


def test_telling_which_suppressions_are_primary_gives_them_away():
    """A's total of 8 is published, its female and male counts (4 and 4) and the district's are not: from the sums
    alone each could be anything from 0 to 8. Told that both are primary suppressions (1..4), 4 + 4 is the only way."""
    t = truth({("numerator", "A", "2"): "primary", ("numerator", "A", "1"): "primary"})
    t.counts[("u5", "numerator", YEAR, "A", "2")] = 4.0
    t.counts[("u5", "numerator", YEAR, "A", "1")] = 4.0
    for sex in ("2", "1"):
        t.counts[("u5", "numerator", YEAR, "D", sex)] = 4.0 + DEATHS[("B", sex)]
    t.counts[("u5", "numerator", YEAR, "A", "_T")] = 8.0
    t.counts[("u5", "numerator", YEAR, "D", "_T")] = 8.0 + 13.0
    out = Published()
    for (_, kind, year, area, sex), value in t.counts.items():
        hidden = kind == "numerator" and (area, sex) in {("A", "2"), ("A", "1"), ("D", "2"), ("D", "1")}
        if not hidden:
            out.add_count("fixture", "u5", kind, year, area, sex, value)
    t.statuses[("u5", "numerator", YEAR, "D", "2")] = t.statuses[("u5", "numerator", YEAR, "D", "1")] = "secondary"
    assert attack(out, t) == []  # the sums alone: A's female count anywhere in 0..8
    out.primary_marked |= {("u5", "numerator", YEAR, "A", "2"), ("u5", "numerator", YEAR, "A", "1")}
    found = attack(out, t)
    assert {(r.area, r.sex, r.true_value) for r in found} >= {("A", "2", 4.0), ("A", "1", 4.0)}
    assert all(r.status in ("primary", "secondary") for r in found)


def test_a_confidence_interval_shown_for_a_suppressed_value_is_a_leak():
    out = publish_all_but({("numerator", a, s) for a in ("A", "B", "D") for s in ("2", "1", "_T")})
    out.cis[("u5", YEAR, "A", "2")].add("fixture")
    found = attack(out, truth(PRIMARY_ONLY))
    assert any(r.kind == "value" and "confidence interval" in r.how for r in found)


def test_nothing_is_recovered_from_a_table_the_warehouse_protects():
    """The same table protected by the submission's method, the published cells shown (counts and rates)."""
    deaths = _complete(DEATHS)
    status = protect_counts(deaths, ["D", "A", "B"], {"D": ["A", "B"]}, ["2", "1", "_T"], threshold=4)
    hidden = {("numerator", a, s) for (a, s), st in status.items() if st != "published"}
    assert ("numerator", "A", "2") in hidden and len(hidden) >= 4
    statuses = {("numerator", a, s): st for (a, s), st in status.items() if st != "published"}
    out = publish_all_but(hidden)
    for (area, sex), st in status.items():  # rates shown only where the numerator is
        if st == "published":
            out.add_rate("fixture", "u5", YEAR, area, sex, deaths[(area, sex)] / _complete(BIRTHS)[(area, sex)] * 1000)
    assert attack(out, truth(statuses), use_primary_ranges=False) == []
