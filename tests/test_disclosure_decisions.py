"""The disclosure decisions (dagster_project/exports/disclosure.py) on hand-made public cells: a small count and
the cells protecting it are suppressed, the rates go with their counts and a parity index with its base rates;
the decisions are computed once and kept until the cells change."""
from __future__ import annotations

import duckdb
import polars as pl

from dagster_project.exports.disclosure import apply_to_cells, decide, decisions_path, load_decisions

# District D = townships A + B; rate r (deaths per 1,000 births) by sex, and the GPI g of r (female / male)
DEATHS = {("A", "2"): 1, ("A", "1"): 6, ("B", "2"): 8, ("B", "1"): 9}
BIRTHS = {("A", "2"): 200, ("A", "1"): 210, ("B", "2"): 300, ("B", "1"): 320}


def _table(parts: dict) -> dict:
    full = dict(parts)
    for sex in ("1", "2"):
        full[("D", sex)] = parts[("A", sex)] + parts[("B", sex)]
    for area in ("A", "B", "D"):
        full[(area, "_T")] = full[(area, "1")] + full[(area, "2")]
    return full


def cells() -> pl.DataFrame:
    deaths, births = _table(DEATHS), _table(BIRTHS)
    rows = []
    for (area, sex), n in deaths.items():
        rows.append({"indicator_code": "r", "area_code": area, "sex": sex, "numerator": float(n),
                     "denominator": float(births[(area, sex)]), "value": n / births[(area, sex)] * 1000,
                     "protects_counts": True, "protects_denominator": True, "derivation": None, "computed_from": None})
    for area in ("A", "B", "D"):
        female = deaths[(area, "2")] / births[(area, "2")] * 1000
        male = deaths[(area, "1")] / births[(area, "1")] * 1000
        rows.append({"indicator_code": "g", "area_code": area, "sex": "_T", "numerator": female, "denominator": male,
                     "value": female / male, "protects_counts": False, "protects_denominator": False,
                     "derivation": "gpi", "computed_from": "r"})
    frame = pl.DataFrame(rows)
    return frame.with_columns(
        pl.lit(2024).cast(pl.Int32).alias("period_year"), pl.lit("_T").alias("age_group_code"),
        pl.when(pl.col("area_code") == "D").then(pl.lit("county")).otherwise(pl.lit("township")).alias("area_level"),
        pl.when(pl.col("area_code") == "D").then(pl.lit("43")).otherwise(pl.lit("D")).alias("parent_code"),
        pl.when(pl.col("area_code") == "D").then(3).otherwise(4).alias("area_level_order"),
        (pl.col("value") * 0.9).alias("ci_lower"), (pl.col("value") * 1.1).alias("ci_upper"),
        pl.lit(True).alias("small_numbers_flag"), pl.lit(False).alias("zero_denominator_flag"),
        pl.lit(4).alias("small_cell_threshold"))


def test_small_count_its_protection_and_the_rates_that_go_with_them():
    statuses = decide(cells(), threshold=4)
    by_key = {(r["indicator_code"], r["area_code"], r["sex"]): r for r in statuses.iter_rows(named=True)}
    assert by_key[("r", "A", "2")]["numerator_status"] == "primary"        # 1 death
    hidden = {k[1:] for k, r in by_key.items() if k[0] == "r" and r["numerator_status"] != "published"}
    # every line through A/female holds a second suppressed cell: A's males or total, and B's females or D's
    assert hidden & {("A", "1"), ("A", "_T")} and hidden & {("B", "2"), ("D", "2")}
    assert {r["denominator_status"] for k, r in by_key.items() if k[0] == "r"} == {"published"}  # births are large
    for key, row in by_key.items():
        if key[0] == "r":
            assert (row["value_status"] != "published") == (row["numerator_status"] != "published"), key
    assert by_key[("g", "A", "_T")]["value_status"] != "published"        # A's female rate is suppressed
    assert by_key[("g", "A", "_T")]["numerator_status"] == "not_count"
    shown = apply_to_cells(cells().join(statuses, on=["period_year", "indicator_code", "area_code", "sex"]))
    gpi_a = shown.filter((pl.col("indicator_code") == "g") & (pl.col("area_code") == "A")).row(0, named=True)
    assert gpi_a["value"] is None and gpi_a["numerator"] is None and gpi_a["denominator"] is None  # its rates too
    rate_a = shown.filter((pl.col("indicator_code") == "r") & (pl.col("area_code") == "A") & (pl.col("sex") == "2")).row(0, named=True)
    assert rate_a["numerator"] is None and rate_a["value"] is None and rate_a["ci_lower"] is None and rate_a["ci_upper"] is None
    assert rate_a["denominator"] == 200.0  # a published denominator stays


def test_decisions_are_computed_once_and_kept_until_the_cells_change(tmp_path):
    db = tmp_path / "work.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA main_marts")
    con.register("hand_made", cells())
    con.execute("CREATE TABLE main_marts.rpt_disclosure_cells AS SELECT * FROM hand_made")
    first = load_decisions(con, tmp_path)
    kept = decisions_path(tmp_path)
    assert kept.exists() and first.threshold == 4
    stamp = kept.stat().st_mtime_ns
    again = load_decisions(con, tmp_path)
    assert kept.stat().st_mtime_ns == stamp and again.cells.equals(first.cells)  # read back, not recomputed
    # a new count changes the cells: the kept decisions no longer apply
    con.execute("UPDATE main_marts.rpt_disclosure_cells SET numerator = 30, value = 150 "
                "WHERE indicator_code = 'r' AND area_code = 'A' AND sex = '2'")
    changed = load_decisions(con, tmp_path)
    con.close()
    status = changed.cells.filter((pl.col("indicator_code") == "r") & (pl.col("area_code") == "A") & (pl.col("sex") == "2"))
    assert status["numerator_status"].to_list() == ["published"]
    assert kept.stat().st_mtime_ns != stamp
