"""Small-cell protection: no suppressed cell of a public table can be pinned to one value.

The proof is linear programming (scipy.optimize.linprog): the unknowns are the suppressed cells, the
constraints are the table's row and column sums with every published cell fixed, and every cell is ≥ 0.
A suppressed cell is safe when its minimum is below its maximum. The constraints of the real public
tables are rebuilt here from the warehouse, independently of the suppression module, and the suppressed
cells are read back from the published CSV.
"""
from __future__ import annotations

import random

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.optimize import linprog

from dagster_project.exports.provincial_submission import PUBLIC_PREFIX, protect_year, write_submission
from dagster_project.exports.suppression import Line, protect, two_way_lines
from tests.handover_warehouse import small_warehouse

pytestmark = pytest.mark.slow(seconds=45)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory, worker_id):
    return small_warehouse(tmp_path_factory, worker_id)


def lp_ranges(values: dict, equations: list[tuple[dict, float]], suppressed: set) -> dict:
    """min and max of each suppressed cell subject to the equations (Σ coef·cell = rhs) and cells ≥ 0."""
    hidden = sorted(suppressed, key=repr)
    index = {k: i for i, k in enumerate(hidden)}
    a_eq, b_eq = [], []
    for coefficients, rhs in equations:
        row = np.zeros(len(hidden))
        known = rhs
        for key, coef in coefficients.items():
            if key in index:
                row[index[key]] += coef
            else:
                known -= coef * values[key]
        if row.any():
            a_eq.append(row)
            b_eq.append(known)
        else:
            assert abs(known) < 1e-6, f"published cells violate an equation: {coefficients}"
    ranges = {}
    for key in hidden:
        c = np.zeros(len(hidden))
        c[index[key]] = 1
        kwargs = dict(A_eq=np.array(a_eq) if a_eq else None, b_eq=np.array(b_eq) if b_eq else None,
                      bounds=[(0, None)] * len(hidden), method="highs")
        low = linprog(c, **kwargs)
        high = linprog(-c, **kwargs)
        assert low.status == 0, (key, low.message)
        ranges[key] = (low.fun, float("inf") if high.status == 3 else -high.fun)
    return ranges


def equations_of(lines: list[Line]) -> list[tuple[dict, float]]:
    out = []
    for line in lines:
        coefficients = {k: 1.0 for k in line.members}
        if line.total is not None:
            coefficients[line.total] = coefficients.get(line.total, 0) - 1.0
        out.append((coefficients, 0.0))
    return out


def two_way(interior: list[list[int]]):
    rows, cols = list(range(len(interior))), list(range(len(interior[0])))
    values = {(r, c): interior[r][c] for r in rows for c in cols}
    for r in rows:
        values[(r, "T")] = sum(interior[r])
    for c in cols:
        values[("D", c)] = sum(interior[r][c] for r in rows)
    values[("D", "T")] = sum(map(sum, interior))
    return values, two_way_lines(rows, cols, "T", "D")


def pinned(values, lines, table) -> list:
    ranges = lp_ranges(values, equations_of(lines), table.suppressed)
    return [k for k, (lo, hi) in ranges.items() if hi - lo < 1e-6]


def test_primary_cells_are_the_counts_from_one_to_the_threshold():
    values, lines = two_way([[0, 1, 9], [5, 4, 30]])
    table = protect(values, lines, threshold=4)
    assert table.primary == {(0, 1), (1, 1)}
    assert (0, 0) not in table.suppressed  # zero is not a small count


def test_line_rule_alone_can_leave_a_suppressed_cell_pinned():
    """Two protected 2×2 blocks joined through one cell: every row and column holds two suppressed cells,
    yet the joining cell (1, 2) follows from the sums. The cycle rule closes it."""
    interior = [[2, 3, 50, 60], [3, 2, 4, 70], [50, 60, 2, 3], [70, 80, 3, 2]]
    values, lines = two_way(interior)
    greedy = protect(values, lines, threshold=4, close_cycles=False)
    assert greedy.secondary == set()
    assert pinned(values, lines, greedy) == [(1, 2)]
    full = protect(values, lines, threshold=4)
    assert full.secondary and pinned(values, lines, full) == []


def test_single_small_cell_in_a_row_gets_a_partner_in_its_row_and_column():
    values, lines = two_way([[3, 40, 50], [20, 30, 60], [25, 35, 45]])
    table = protect(values, lines, threshold=4)
    assert table.primary == {(0, 0)}
    assert len(table.secondary) >= 3  # a partner in row 0, one in column 0, and one closing the rectangle
    assert pinned(values, lines, table) == []


@pytest.mark.parametrize("seed", range(6))
def test_random_tables_have_no_recoverable_cell(seed):
    rng = random.Random(seed)
    for _ in range(40):
        rows, cols = rng.randint(1, 7), rng.randint(1, 4)
        interior = [[rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 15, 40, 120]) for _ in range(cols)] for _ in range(rows)]
        values, lines = two_way(interior)
        table = protect(values, lines, threshold=4)
        assert all(k in table.suppressed for k, v in values.items() if 1 <= v <= 4)
        assert pinned(values, lines, table) == [], interior


def test_one_column_tables_and_fixed_cells():
    """Townships + district with no row totals (a female-only indicator), and a known 'other' cell."""
    rng = random.Random(7)
    for _ in range(80):
        towns = [rng.choice([0, 1, 2, 3, 5, 8, 20]) for _ in range(rng.randint(1, 8))]
        other = rng.choice([0, 0, 2])
        values = {(i, "F"): v for i, v in enumerate(towns)}
        values[("other", "F")] = other
        values[("D", "F")] = sum(towns) + other
        lines = [Line(total=("D", "F"), members=[(i, "F") for i in range(len(towns))] + [("other", "F")])]
        table = protect(values, lines, threshold=4, fixed={("other", "F")})
        assert ("other", "F") not in table.suppressed
        assert pinned(values, lines, table) == [], (towns, other)


# ---- the real public tables of a submission ----------------------------------------------------------

def _public_numerators(path) -> dict[tuple[str, str, str], float | None]:
    frame = pl.read_csv(path, infer_schema_length=0)
    out = {}
    for row in frame.iter_rows(named=True):
        for label, sex in (("女", "2"), ("男", "1"), ("合计", "_T")):
            cell = row[f"{label}·分子 {dict(女='Female', 男='Male', 合计='Total')[label]} numerator"]
            out[(row["指标代码 Code"], row["地区代码 Area code"], sex)] = None if cell in (None, "") else float(cell)
    return out


def test_public_tables_of_a_submission_cannot_be_recovered(warehouse, tmp_path):
    settings = warehouse.settings(tmp_path / "exports")
    result = write_submission(settings)
    published = _public_numerators(result.snapshot_dir / f"{PUBLIC_PREFIX}_省级报送_{result.year}.csv")
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        district, = con.execute("SELECT area_code FROM main_marts.dim_area WHERE level = 'county' AND is_reported").fetchone()
        towns = [r[0] for r in con.execute(
            "SELECT area_code FROM main_marts.dim_area WHERE level = 'township' AND parent_code = ?", [district]).fetchall()]
        cells = con.execute(
            """SELECT v.indicator_code, v.area_code, v.sex, v.numerator, i.aggregation, i.derivation, i.unit
               FROM main_marts.fct_indicator_values v
               JOIN main_marts.dim_indicator i ON i.indicator_code = v.indicator_code AND i.age_group_code = v.age_group_code
               WHERE v.period_year = ? AND v.residence = '_T'""", [result.year]).fetchall()
    finally:
        con.close()
    counted = {}
    for code, area, sex, numerator, aggregation, derivation, unit in cells:
        if aggregation == "sum" and not derivation and unit != "years":
            counted.setdefault(code, {})[(area, sex)] = numerator or 0.0
    checked_tables = suppressed_total = 0
    for code, table in counted.items():
        sexes = sorted({s for _, s in table})
        values = {(a, s): table.get((a, s), 0.0) for a in towns + [district] for s in sexes}
        # suppressed: a count the warehouse has but the public CSV leaves blank (cells the warehouse has no row
        # for are structural zeros, known to everyone)
        hidden = {k for k in table if (code, *k) in published and published[(code, *k)] is None}
        # every small count is hidden
        assert all(k in hidden for k, v in values.items() if 1 <= v <= 4 and (code, *k) in published), code
        if not hidden:
            continue
        has_towns = any(a in towns for a, _ in table)  # district-only indicators have no column sums
        equations = [({**{(t, s): 1.0 for t in towns}, (district, s): -1.0}, 0.0) for s in sexes] if has_towns else []
        if sexes == ["1", "2", "_T"]:
            equations += [({(a, "1"): 1.0, (a, "2"): 1.0, (a, "_T"): -1.0}, 0.0) for a in towns + [district]]
        ranges = lp_ranges(values, equations, hidden)
        assert [k for k, (lo, hi) in ranges.items() if hi - lo < 1e-6] == [], code
        checked_tables += 1
        suppressed_total += len(hidden)
    assert checked_tables >= 10 and suppressed_total >= 50  # the small warehouse has plenty of small cells


def test_rates_are_suppressed_with_their_counts(warehouse, tmp_path):
    settings = warehouse.settings(tmp_path / "exports")
    result = write_submission(settings)
    frame = pl.read_csv(result.snapshot_dir / f"{PUBLIC_PREFIX}_省级报送_{result.year}.csv", infer_schema_length=0)
    for label, en in (("女", "Female"), ("男", "Male"), ("合计", "Total")):
        count = frame[f"{label}·分子 {en} numerator"]
        rate = frame[f"{label} {en}"]
        small = count.cast(pl.Float64, strict=False).is_between(1, 4)
        assert not small.any(), "a count from 1 to 4 is published"
        note = frame["小数保护 Suppression"].fill_null("")
        hidden_count = count.is_null() & note.str.contains(label)
        assert rate.filter(hidden_count).is_null().all(), f"{label}: a rate of a suppressed count is published"


def test_threshold_comes_from_the_disclosure_model(warehouse):
    """dbt's rpt_disclosure_cells carries the threshold (setting MONITOR_SMALL_CELL_THRESHOLD, default 4); a
    higher one suppresses more."""
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        year = con.execute("SELECT max(period_year) FROM main_marts.fct_indicator_values").fetchone()[0]
        model = con.execute("SELECT DISTINCT small_cell_threshold FROM main_marts.rpt_disclosure_cells").fetchall()
        default = protect_year(con, year)
        none = protect_year(con, year, threshold=0)
        four = protect_year(con, year, threshold=4)
        nine = protect_year(con, year, threshold=9)
    finally:
        con.close()
    assert model == [(4,)] and default.threshold == 4 and default.cells.equals(four.cells)
    hidden = [int((p.cells["value_status"] != "published").sum()) for p in (none, four, nine)]
    assert hidden[0] == 0 and hidden[0] < hidden[1] < hidden[2]


@pytest.mark.parametrize("seed", range(4))
def test_hierarchies_are_protected_as_linked_tables_with_no_recoverable_cell(seed):
    """Province → prefectures → counties × sex: every cell of a middle level is in three sums, so the
    hierarchy is protected as linked two-way tables; the whole set of sums still pins no hidden cell."""
    from dagster_project.exports.provincial_submission import protect_counts

    rng = random.Random(seed)
    for _ in range(10):
        children = {"P": [f"F{i}" for i in range(rng.randint(2, 3))]}
        for f in children["P"]:
            children[f] = [f"{f}C{j}" for j in range(rng.randint(2, 3))]
        leaves = [c for f in children["P"] for c in children[f]]
        measure = {}
        for leaf in leaves:
            for sex in ("1", "2"):
                measure[(leaf, sex)] = rng.choice([0, 1, 2, 3, 5, 8, 20, 60])
        for parent in [*children["P"], "P"]:
            for sex in ("1", "2"):
                measure[(parent, sex)] = sum(measure[(c, sex)] for c in children[parent])
        areas = ["P", *children["P"], *leaves]
        for area in areas:
            measure[(area, "_T")] = measure[(area, "1")] + measure[(area, "2")]
        status = protect_counts(measure, areas, children, ["2", "1", "_T"], threshold=4)
        hidden = {k for k, s in status.items() if s != "published"}
        assert {k for k, v in measure.items() if 1 <= v <= 4} <= hidden
        equations = [({**{(c, s): 1.0 for c in kids}, (p, s): -1.0}, 0.0)
                     for p, kids in children.items() for s in ("1", "2", "_T")]
        equations += [({(a, "1"): 1.0, (a, "2"): 1.0, (a, "_T"): -1.0}, 0.0) for a in areas]
        ranges = lp_ranges(measure, equations, hidden)
        assert [k for k, (lo, hi) in ranges.items() if hi - lo < 1e-6] == [], (measure, hidden)
