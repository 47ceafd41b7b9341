"""Loading a file batch by batch gives exactly what loading it in one block gives.

The loader reads a CSV in blocks of `reader.CSV_BLOCK_BYTES` of text (see loader.py): the row rules run
on each batch, the whole-file rules (duplicate_row, duplicate_key, and numerator_exceeds_denominator
for forms) over all batches, in DuckDB. The same folder of files is loaded twice, into two fresh
databases: once with the default block size (every test file is one block) and once with blocks of
TINY bytes (a few dozen rows each). The raw tables (but for `_load_id`), audit.quarantine,
audit.row_flags and the ledger must be identical.

The folder holds generated extracts (with five times the documented defect rates), the hostile-file
corpus of test_hostile_files.py, and hand-made files where the whole-file rules must look across
blocks: copies and repeated keys far apart, copies that only normalisation makes equal, rows whose
cells would run together if the duplicate key were a plain concatenation, a last line without a line
break, and a form whose item is compared with the first (not a later) row of its base item.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from dagster_project.contracts import load_contracts, township_codes
from dagster_project.ingest import loader, reader
from dagster_project.ingest.discovery import discover
from dagster_project.ingest.loader import load_file
from dagster_project.ingest.reader import ROW, open_table
from sample_data.cli import main as generate
from tests.corpus.build_corpus import build as build_corpus
from tests.helpers import make_id

pytestmark = pytest.mark.slow(seconds=40)

KEY = b"batches-test-key-0123456789abcdef"
CONTRACTS = load_contracts()
TINY = 4096

STUDENT_HEADER = ["学籍号", "身份证号", "性别", "出生日期", "乡镇街道代码", "城乡", "学校代码", "学校类型", "年级",
                  "毕业班", "留守儿童", "随迁子女", "残疾"]
STUDENTS = "education/students_2022.csv"
FORMS = "forms/statistics_2022.csv"


def student(i: int, **overrides) -> list[str]:
    row = {"sid": f"S{i:05d}", "pid": make_id("20150301", "1" if i % 2 else "2", seq=f"{i % 100:02d}"),
           "sex": "1" if i % 2 else "2", "bd": "2015-03-01", "town": "430502001", "res": "城镇",
           "school": "430502001101", "type": "小学", "grade": "2", "grad": "否", "lb": "否", "mig": "否", "dis": "否"}
    row.update(overrides)
    return list(row.values())


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_students(raw: Path) -> dict[str, int]:
    """400 ordinary rows with copies near the end of rows near the start; returns rows by role."""
    rows = [student(i) for i in range(1, 401)]
    rows[9] = student(10, town="430502999")  # unknown township: quarantined by a row rule (line 11)
    rows[19] = student(20, sid="")           # no key: a missing_required row (line 21)
    extra = {
        "copy_of_2": student(2),                                  # duplicate_row of line 3
        "key_of_3": student(3, grade="3"),                        # duplicate_key of line 4
        "copy_of_quarantined_11": student(10, town="430502999"),  # a copy of a quarantined row is a copy
        "copy_without_key_21": student(20, sid=""),               # duplicate_row, never duplicate_key
        "normalised_copy_of_6": student(5, sid=" S00005 ", sex="１"),  # equal once normalised
        "shifted_a": student(500, sid="S1", pid="23"),            # cells that would run together ...
        "shifted_b": student(500, sid="S12", pid="3"),            # ... as 'S123': not duplicates
        "empty_cell": student(501, grad=""),                      # an empty cell ...
        "dash_cell": student(501, grad="-"),                      # ... is not the text '-'
        "copy_of_2_again": student(2),                            # third copy: duplicate_row again
        "last_unterminated": student(502),                        # the file's last line, no line break
    }
    lines = {name: 402 + k for k, name in enumerate(extra)}
    text = _csv_text(STUDENT_HEADER, rows + list(extra.values()))
    path = raw / STUDENTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n"), encoding="utf-8")
    return lines


def write_forms(raw: Path) -> dict[str, int]:
    """Base items (science_literacy_surveyed) first, the items part of them (..._qualified) at the end."""
    cells = [(town, sex, age) for town in township_codes() for sex in ("1", "2", "T") for age in ("_T", "Y0", "Y1T4", "Y5T9")]
    rows = [["science_literacy_surveyed", t, s, a, "100"] for t, s, a in cells]
    first_cell = cells[0]
    roles = {"later_base_copy": len(rows) + 2}  # a second base row for cells[0] with a lower figure
    rows.append(["science_literacy_surveyed", *first_cell, "10"])
    parts = [["science_literacy_qualified", t, s, a, "60"] for t, s, a in cells]
    parts[0][4] = "50"     # more than the later base copy (10), less than the first (100): not flagged
    parts[1][4] = "150"    # more than its base: flagged
    parts[-1][4] = "100.5"  # more than its base: flagged
    roles |= {"part_of_first_cell": len(rows) + 2, "over_base": len(rows) + 3, "last_over_base": len(rows) + len(parts) + 1}
    path = raw / FORMS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_csv_text(["item_code", "township_code", "sex", "age_group", "value"], rows + parts), encoding="utf-8")
    return roles


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("batches")
    raw = root / "raw"
    assert generate(["--out", str(raw), "--scale", "0.05", "--years", "2023-2024", "--quiet", "--defect-rate", "5"]) == 0
    (root / "outside").mkdir()
    build_corpus(raw, root / "outside")
    return {"root": root, "raw": raw, "students": write_students(raw), "forms": write_forms(raw)}


def _load_all(raw: Path, db: Path, block_bytes: int) -> tuple[duckdb.DuckDBPyConnection, dict]:
    con = duckdb.connect(str(db))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reader, "CSV_BLOCK_BYTES", block_bytes)
        if block_bytes == TINY:  # and the tables filled slice by slice, a few batches a slice
            mp.setattr(loader, "SLICE_ROWS", 100)
        results = {d.relative: load_file(con, d, CONTRACTS, KEY) for d in discover(raw, CONTRACTS)}
    return con, results


@pytest.fixture(scope="module")
def loads(folder):
    whole_con, whole = _load_all(folder["raw"], folder["root"] / "whole.duckdb", reader.CSV_BLOCK_BYTES)
    tiny_con, tiny = _load_all(folder["raw"], folder["root"] / "tiny.duckdb", TINY)
    yield {"whole": (whole_con, whole), "tiny": (tiny_con, tiny)}
    whole_con.close()
    tiny_con.close()


def _raw_rows(con, extract) -> list[tuple]:
    return con.execute(
        f"SELECT * EXCLUDE (_load_id) FROM {extract.raw_table} ORDER BY _source_file, _row_number").fetchall()


def test_the_tiny_block_size_really_splits_the_files(folder):
    """The straddling cases of the hand-made files are in different batches with TINY blocks."""
    def batch_of(path: Path) -> dict[int, int]:
        with open_table(path, block_bytes=TINY) as opened:
            return {row: k for k, (table, _) in enumerate(opened.batches()) for row in table.rows[ROW].to_list()}

    students = batch_of(folder["raw"] / STUDENTS)
    assert len(set(students.values())) > 5
    lines = folder["students"]
    for first, copy in [(3, "copy_of_2"), (4, "key_of_3"), (11, "copy_of_quarantined_11"), (21, "copy_without_key_21")]:
        assert students[first] != students[lines[copy]]
    forms = batch_of(folder["raw"] / FORMS)
    roles = folder["forms"]
    assert len(set(forms.values())) > 1
    assert forms[2] != forms[roles["later_base_copy"]] and forms[2] != forms[roles["part_of_first_cell"]]


@pytest.mark.parametrize("extract", list(CONTRACTS.extracts), ids=list(CONTRACTS.extracts))
def test_raw_tables_are_identical(loads, extract):
    extract = CONTRACTS.extracts[extract]
    whole = _raw_rows(loads["whole"][0], extract)
    tiny = _raw_rows(loads["tiny"][0], extract)
    assert len(whole) == len(tiny)
    assert whole == tiny


@pytest.mark.parametrize("table", ["audit.quarantine", "audit.row_flags"])
def test_findings_are_identical(loads, table):
    whole = loads["whole"][0].execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    tiny = loads["tiny"][0].execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    assert len(whole) > 100
    assert whole == tiny


def test_ledger_and_results_are_identical(loads):
    query = "SELECT * EXCLUDE (loaded_at) FROM audit.file_loads ORDER BY source_file, load_id"
    whole = loads["whole"][0].execute(query).fetchall()
    tiny = loads["tiny"][0].execute(query).fetchall()
    assert whole == tiny
    statuses = {r[14] for r in whole}
    assert {"loaded", "rejected"} <= statuses
    assert loads["whole"][1] == loads["tiny"][1]  # LoadResult: counts, messages, quarantined rows by rule


@pytest.mark.parametrize("size", ["whole", "tiny"])
def test_whole_file_rules_look_across_batches(loads, folder, size):
    con = loads[size][0]
    lines = folder["students"]
    found = con.execute(
        "SELECT row_number, rule_id, column_name, value_masked FROM audit.quarantine WHERE source_file = ? "
        "AND rule_id IN ('duplicate_row', 'duplicate_key') ORDER BY 1, 2", [STUDENTS]).fetchall()
    assert found == sorted([
        (lines["copy_of_2"], "duplicate_row", "*", None),
        (lines["key_of_3"], "duplicate_key", "student_id", None),
        (lines["copy_of_quarantined_11"], "duplicate_row", "*", None),
        (lines["copy_without_key_21"], "duplicate_row", "*", None),
        (lines["normalised_copy_of_6"], "duplicate_row", "*", None),
        (lines["dash_cell"], "duplicate_key", "student_id", None),  # not an exact copy, but the same key
        (lines["copy_of_2_again"], "duplicate_row", "*", None),
    ])
    flags = con.execute("SELECT row_number FROM audit.row_flags WHERE source_file = ? AND rule_id = 'last_line_unterminated'",
                        [STUDENTS]).fetchall()
    assert flags == [(lines["last_unterminated"],)]
    read, loaded, quarantined = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM audit.file_loads WHERE source_file = ?", [STUDENTS]).fetchone()
    assert (read, loaded + quarantined) == (411, 411)
    # lines 11 (township) and 21 (no key), dash_cell (duplicate_key) and the six copies; shifted_a/b only have
    # their bad ID numbers blanked (loaded: the same with and without batches)
    assert quarantined == 2 + 1 + 6
    blanked = con.execute("SELECT _row_number, _invalid_fields, person_pid FROM raw.students WHERE _source_file = ? "
                          "AND len(_invalid_fields) > 0 ORDER BY 1", [STUDENTS]).fetchall()
    assert blanked == [(lines["shifted_a"], ["id_number"], None), (lines["shifted_b"], ["id_number"], None)]

    roles = folder["forms"]
    found = con.execute(
        "SELECT row_number, rule_id, column_name, value_masked FROM audit.quarantine WHERE source_file = ? ORDER BY 1, 2",
        [FORMS]).fetchall()
    assert found == [
        (roles["later_base_copy"], "duplicate_key", "item_code,township_code,sex,age_group", None),
        (roles["over_base"], "numerator_exceeds_denominator", "value", "150"),
        (roles["last_over_base"], "numerator_exceeds_denominator", "value", "100.5"),
    ]


def test_no_staging_table_is_left_behind(loads):
    for con, _ in loads.values():
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_a_failure_after_staging_leaves_the_partition_and_drops_the_staging(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    write_students(raw)
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    monkeypatch.setattr(reader, "CSV_BLOCK_BYTES", TINY)
    monkeypatch.setattr(loader, "SLICE_ROWS", 1)
    (dropped,) = discover(raw, CONTRACTS)
    assert load_file(con, dropped, CONTRACTS, KEY).status == "loaded"
    before = con.execute("SELECT count(*), sum(hash(student_id)) FROM raw.students").fetchone()

    (raw / STUDENTS).write_text(_csv_text(STUDENT_HEADER, [student(i) for i in range(1, 50)]), encoding="utf-8")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_cross_file_duplicates", fail)  # inside the transaction, after the rows are in
    (dropped,) = discover(raw, CONTRACTS)
    result = load_file(con, dropped, CONTRACTS, KEY)
    assert (result.status, result.rows_loaded) == ("rejected", 0)
    assert con.execute("SELECT count(*), sum(hash(student_id)) FROM raw.students").fetchone() == before
    assert con.execute("SELECT count(*) FROM audit.file_loads WHERE is_current").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)
    con.close()
