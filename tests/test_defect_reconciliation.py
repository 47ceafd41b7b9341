"""Every defect the generator injects is caught, and nothing else is.

The generator (`sample_data/defects.py`) writes a manifest naming every injected defect
by file, spreadsheet row, kind, column and the ingestion rule expected to catch it. The data is loaded
with the ingestion code (`load_file`, what each extract asset runs), and what the warehouse recorded
is compared with the manifest, defect by defect and as counts per kind.

Mapping from generator defect kind to ingestion rule(s) and handling
(quarantine: the row is kept out and listed in audit.quarantine; exclude_field: the row is loaded with
the field blanked, listed in audit.row_flags - what a quarantine kind does in a column that is not
row-critical, so the manifest gives each defect's own handling; normalise: the value is corrected,
the row loaded and the correction listed in audit.row_flags; flag: loaded as is, listed in audit.row_flags):

| generator kind                | rule_id(s) in audit                                   | handling   |
|-------------------------------|-------------------------------------------------------|------------|
| duplicate_row                 | duplicate_row (on the second copy)                    | quarantine |
| id_bad_check_digit            | id_bad_checksum                                       | exclude_field |
| id_lowercase_x                | id_lowercase_x                                        | normalise  |
| id_15_digit                   | id_15_digit                                           | normalise  |
| id_excel_mangled              | id_excel_mangled                                      | exclude_field |
| sex_contradicts_id            | sex_contradicts_id                                    | flag       |
| birth_date_contradicts_id     | birth_date_contradicts_id                             | flag       |
| fullwidth_digits              | fullwidth_characters                                  | normalise  |
| stray_spaces                  | stray_spaces                                          | normalise  |
| date_format_variant           | date_format_variant                                   | normalise  |
| excel_serial_date             | excel_serial_date                                     | normalise  |
| impossible_date               | impossible_date                                       | quarantine |
| dates_out_of_order            | dates_out_of_order                                    | quarantine |
| future_date                   | future_date                                           | quarantine |
| unknown_township              | unknown_township; invalid_committee_code (committee   | quarantine |
|                               | codes); unknown_area (forms)                          |            |
| age_out_of_range              | out_of_range                                          | quarantine |
| negative_count                | negative_value                                        | quarantine |
| numerator_exceeds_denominator | numerator_exceeds_denominator                         | quarantine |
| missing_required              | missing_required                                      | quarantine |
| invalid_code                  | invalid_code; invalid_residence (residence columns)   | quarantine |

A row that already carries a quarantined defect may trip a second rule (two rows given the same
made-up township code become duplicates of each other): that is allowed, no other row may be
quarantined. The one finding the manifest does not list is `same_content_as_other_period`, a flag
on every row of a small form identical to another year's (the generator's forms can repeat a year).
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dagster_project.contracts import load_contracts
from dagster_project.ingest.discovery import discover
from dagster_project.ingest.idnumber import pseudonym
from dagster_project.ingest.loader import load_file
from dagster_project.ingest.rule_texts import RULES
from sample_data.cli import main as generate
from sample_data.defects import KINDS

KEY = b"reconciliation-test-key-0123456789"
CONTRACTS = load_contracts()

# generator kind -> (handling, rule ids that may record it)
DEFECT_RULES: dict[str, tuple[str, frozenset[str]]] = {
    "duplicate_row": ("quarantine", frozenset({"duplicate_row"})),
    "id_bad_check_digit": ("exclude_field", frozenset({"id_bad_checksum"})),
    "id_lowercase_x": ("normalise", frozenset({"id_lowercase_x"})),
    "id_15_digit": ("normalise", frozenset({"id_15_digit"})),
    "id_excel_mangled": ("exclude_field", frozenset({"id_excel_mangled"})),
    "sex_contradicts_id": ("flag", frozenset({"sex_contradicts_id"})),
    "birth_date_contradicts_id": ("flag", frozenset({"birth_date_contradicts_id"})),
    "fullwidth_digits": ("normalise", frozenset({"fullwidth_characters"})),
    "stray_spaces": ("normalise", frozenset({"stray_spaces"})),
    "date_format_variant": ("normalise", frozenset({"date_format_variant"})),
    "excel_serial_date": ("normalise", frozenset({"excel_serial_date"})),
    "impossible_date": ("quarantine", frozenset({"impossible_date"})),
    "dates_out_of_order": ("quarantine", frozenset({"dates_out_of_order"})),
    "future_date": ("quarantine", frozenset({"future_date"})),
    "unknown_township": ("quarantine", frozenset({"unknown_township", "invalid_committee_code", "unknown_area"})),
    "age_out_of_range": ("quarantine", frozenset({"out_of_range"})),
    "negative_count": ("quarantine", frozenset({"negative_value"})),
    "numerator_exceeds_denominator": ("quarantine", frozenset({"numerator_exceeds_denominator"})),
    "missing_required": ("quarantine", frozenset({"missing_required"})),
    "invalid_code": ("quarantine", frozenset({"invalid_code", "invalid_residence"})),
}
# Flags the manifest does not list: a whole small form identical to another period's (see loader.py).
FILE_LEVEL_FLAGS = {"same_content_as_other_period"}
# Second rules a row that already carries a quarantined defect may trip.
SECONDARY_RULES = {"duplicate_row", "duplicate_key"}


def _load_all(raw: Path, db: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db))
    for dropped in discover(raw, CONTRACTS):
        load_file(con, dropped, CONTRACTS, KEY)
    return con


def _generate_and_load(tmp: Path, *args: str) -> tuple[dict, duckdb.DuckDBPyConnection]:
    raw = tmp / "raw"
    assert generate(["--out", str(raw), "--scale", "0.05", "--years", "2023-2024", "--quiet", *args]) == 0
    manifest = json.loads((raw / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    return manifest, _load_all(raw, tmp / "work.duckdb")


@pytest.fixture(scope="module")
def defective(tmp_path_factory):
    # Five times the documented rates, so that every kind occurs in two small years.
    manifest, con = _generate_and_load(tmp_path_factory.mktemp("defective"), "--defect-rate", "5")
    yield manifest, con
    con.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    manifest, con = _generate_and_load(tmp_path_factory.mktemp("clean"), "--clean")
    yield manifest, con
    con.close()


def _defects(manifest: dict) -> pl.DataFrame:
    return pl.DataFrame(manifest["defects"], schema={
        "file": pl.String, "row": pl.Int64, "kind": pl.String, "column": pl.String, "handling": pl.String,
        "rule_id": pl.String, "value": pl.String, "expected": pl.String,
    })


def _recorded(con) -> pl.DataFrame:
    """Every finding on a current (or wholly rejected) file: file, row, rule, action."""
    return con.execute(
        """SELECT q.source_file AS file, q.row_number AS row, q.rule_id, 'quarantine' AS action
           FROM audit.quarantine q JOIN audit.file_loads f USING (load_id)
           WHERE f.is_current OR f.status = 'rejected'
           UNION
           SELECT q.source_file, q.row_number, q.rule_id, q.action
           FROM audit.row_flags q JOIN audit.file_loads f USING (load_id)
           WHERE f.is_current"""
    ).pl()


def assert_row_accounting(con) -> None:
    """rows read = loaded + quarantined for every file, and both sides match the tables."""
    broken = con.execute(
        """WITH loaded AS (
               SELECT _load_id AS load_id, count(*) AS n FROM (
                   SELECT _load_id FROM raw.population UNION ALL SELECT _load_id FROM raw.births
                   UNION ALL SELECT _load_id FROM raw.deaths UNION ALL SELECT _load_id FROM raw.child_health
                   UNION ALL SELECT _load_id FROM raw.cancer_screening UNION ALL SELECT _load_id FROM raw.students
                   UNION ALL SELECT _load_id FROM raw.student_health UNION ALL SELECT _load_id FROM raw.grade_history
                   UNION ALL SELECT _load_id FROM raw.committee_members UNION ALL SELECT _load_id FROM raw.social_assistance
                   UNION ALL SELECT _load_id FROM raw.cases UNION ALL SELECT _load_id FROM raw.legal_aid
                   UNION ALL SELECT _load_id FROM raw.forms) GROUP BY 1),
           quarantined AS (SELECT load_id, count(DISTINCT row_number) AS n FROM audit.quarantine GROUP BY 1)
           SELECT f.source_file, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined, l.n AS in_raw, q.n AS in_quarantine
           FROM audit.file_loads f
           LEFT JOIN loaded l ON l.load_id = f.load_id
           LEFT JOIN quarantined q ON q.load_id = f.load_id
           WHERE f.rows_read <> f.rows_loaded + f.rows_quarantined
              OR (f.is_current AND f.rows_loaded <> coalesce(l.n, 0))
              OR (f.status IN ('loaded', 'rejected') AND f.rows_quarantined <> coalesce(q.n, 0))"""
    ).fetchall()
    assert broken == [], f"row accounting broken: {broken}"
    files = con.execute("SELECT count(*) FROM audit.file_loads WHERE status = 'loaded'").fetchone()[0]
    assert files > 0


def test_mapping_covers_every_generator_defect_kind():
    assert set(DEFECT_RULES) == set(KINDS), "document the handling of every generator defect kind here"
    for kind, (handling, rule_ids) in DEFECT_RULES.items():
        assert KINDS[kind].handling == handling, kind
        assert KINDS[kind].rule_id in rule_ids, kind
        for rule_id in rule_ids:
            # exclude_field is the loader's handling of a quarantine rule in a column that is not row-critical
            acts = {"exclude_field": "quarantine"}.get(handling, handling)
            assert RULES[rule_id][0] == acts, f"{kind}: rule {rule_id} acts as {RULES[rule_id][0]}, not {acts}"


def test_both_handlings_of_quarantine_kinds_occur(defective):
    """A quarantine kind quarantines in a row-critical column and blanks the field elsewhere."""
    manifest, _ = defective
    handlings = _defects(manifest).group_by("kind").agg(pl.col("handling").unique().sort()).rows()
    by_kind = dict(handlings)
    assert by_kind["missing_required"] == ["exclude_field", "quarantine"]  # e.g. 出生日期 vs 出生编号
    assert by_kind["unknown_township"] == ["quarantine"]
    assert by_kind["id_bad_check_digit"] == ["exclude_field"]
    assert sum(manifest["summary"]["by_handling"].values()) == manifest["summary"]["defects"]


def test_every_injected_defect_is_caught_by_its_rule(defective):
    manifest, con = defective
    defects = _defects(manifest)
    recorded = _recorded(con)
    assert defects.height == manifest["summary"]["defects"] > 0
    assert set(defects["kind"]) == set(KINDS), "every defect kind occurs in the test data"

    expected = defects.with_columns(
        pl.col("kind").replace_strict({k: list(v[1]) for k, v in DEFECT_RULES.items()},
                                      return_dtype=pl.List(pl.String)).alias("allowed"),
    )
    # The manifest's rule id must be one the mapping allows, and the warehouse must record it with the handling.
    assert expected.filter(~pl.col("allowed").list.contains(pl.col("rule_id"))).height == 0
    caught = expected.join(
        recorded.rename({"action": "recorded_action"}), on=["file", "row", "rule_id"], how="left"
    ).with_columns((pl.col("recorded_action") == pl.col("handling")).fill_null(False).alias("caught"))
    per_kind = (caught.group_by("kind").agg(pl.len().alias("injected"), pl.col("caught").sum().alias("caught"))
                .sort("kind"))
    by_kind = {k: (i, c) for k, i, c in per_kind.iter_rows()}
    assert {k: i for k, (i, _) in by_kind.items()} == manifest["summary"]["by_kind"]
    missed = {k: (i, c) for k, (i, c) in by_kind.items() if i != c}
    examples = caught.filter(~pl.col("caught")).head(10).to_dicts()
    assert not missed, f"defects not caught (kind: injected, caught): {missed}; e.g. {examples}"


def test_no_row_is_quarantined_or_flagged_without_an_injected_defect(defective):
    manifest, con = defective
    defects = _defects(manifest)
    recorded = _recorded(con)
    defective_rows = defects.filter(pl.col("handling") == "quarantine").select("file", "row").unique()

    quarantined = recorded.filter(pl.col("action") == "quarantine")
    unexplained = quarantined.join(defects.select("file", "row", "rule_id"), on=["file", "row", "rule_id"], how="anti")
    # a second rule on a row that carries a quarantined defect (e.g. two made-up codes that now collide)
    secondary = unexplained.join(defective_rows, on=["file", "row"], how="semi")
    assert set(secondary["rule_id"]) <= SECONDARY_RULES, secondary
    stray = unexplained.join(defective_rows, on=["file", "row"], how="anti")
    assert stray.height == 0, f"rows quarantined without an injected defect: {stray.head(10).to_dicts()}"

    flagged = recorded.filter((pl.col("action") != "quarantine") & ~pl.col("rule_id").is_in(list(FILE_LEVEL_FLAGS)))
    stray_flags = flagged.join(defects.select("file", "row", "rule_id"), on=["file", "row", "rule_id"], how="anti")
    assert stray_flags.height == 0, f"findings without an injected defect: {stray_flags.head(10).to_dicts()}"
    assert_row_accounting(con)


def test_rows_with_a_blanked_field_are_loaded_and_name_it(defective):
    manifest, con = defective
    expected = (_defects(manifest).filter(pl.col("handling") == "exclude_field")
                .select("file", "row", "kind", "column").sort("file", "row"))
    assert expected.height > 0
    extract_of = {f["path"]: f["extract"] for f in manifest["files"]}
    missing = []
    for (file,), group in expected.group_by("file"):
        extract = CONTRACTS.extracts[extract_of[file]]
        loaded = dict(con.execute(
            f"SELECT _row_number, _invalid_fields FROM {extract.raw_table} "
            "WHERE _source_file = ? AND _row_number IN (SELECT unnest(?))", [file, group["row"].to_list()]).fetchall())
        for row, kind, column in group.select("row", "kind", "column").iter_rows():
            fields = loaded.get(row)
            # dates_out_of_order blanks both dates of the pair, whichever the generator moved
            if fields is None or (column not in fields and kind != "dates_out_of_order") or not fields:
                missing.append((file, row, kind, column, fields))
    assert not missing, f"rows expected loaded with a blanked field: {missing[:10]}"


def test_normalised_values_are_loaded_as_the_manifest_expects(defective):
    manifest, con = defective
    normalised = _defects(manifest).filter(pl.col("handling") == "normalise")
    assert normalised.height > 0
    extract_of = {f["path"]: f["extract"] for f in manifest["files"]}
    wrong = []
    for (file, column), group in normalised.group_by("file", "column"):
        extract = CONTRACTS.extracts[extract_of[file]]
        col = extract.column(column)
        rows = group["row"].to_list()
        loaded = dict(con.execute(
            f'SELECT _row_number, CAST("{col.stored_name}" AS VARCHAR) FROM {extract.raw_table} '
            "WHERE _source_file = ? AND _row_number IN (SELECT unnest(?))", [file, rows]).fetchall())
        for row, expected in zip(rows, group["expected"].to_list()):
            want = pseudonym(KEY, expected) if col.type == "id_number" else expected
            got = loaded.get(row)
            same = got == want or (got is not None and _as_number(got) is not None and _as_number(got) == _as_number(want))
            if not same:
                wrong.append((file, row, column, want if col.type != "id_number" else "(pseudonym)", got))
    assert not wrong, f"normalised values differ from the manifest's expected values: {wrong[:10]}"


def _as_number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def test_clean_data_is_loaded_whole(clean):
    manifest, con = clean
    assert manifest["summary"]["defects"] == 0
    assert con.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0] == 0
    flags = con.execute("SELECT DISTINCT rule_id FROM audit.row_flags").fetchall()
    assert {r[0] for r in flags} <= FILE_LEVEL_FLAGS, flags
    statuses = con.execute("SELECT DISTINCT status FROM audit.file_loads").fetchall()
    assert statuses == [("loaded",)]
    files = con.execute("SELECT count(*), sum(rows_read) FROM audit.file_loads").fetchone()
    assert files == (len(manifest["files"]), manifest["summary"]["rows"])
    assert_row_accounting(con)
