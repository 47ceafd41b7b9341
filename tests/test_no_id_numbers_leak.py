"""After a full run on the sample (with defects), nothing shaped like a citizen ID number is anywhere.

The sample holds the hard cases (issue 17): pupils whose 学籍号 is 'G' + their ID number (in the students
files and the health survey of every year) and a file named after such a number
(`education/students_2024_G430502….csv`), besides the ID-number defects of every extract.

Scanned: every VARCHAR column of the working and the analysts' databases (through SQL, so DuckDB's
compression cannot hide a value), every file the run wrote: exports, reports, Data Docs, feedback
workbooks' XML, CSV, SDMX, Dagster's storage under $DAGSTER_HOME (its SQLite run and event-log databases
through SQL and as bytes, WAL files included, compute logs), dbt's target folder and dbt.log, the run log
in $MONITOR_DATA_DIR/logs, and the CLI's console output. A candidate counts when it is an 18-digit number
with a valid birth date and ISO 7064 check character, or a 15-digit old number with a valid birth date —
the way a real ID number would look, not any long run of digits.
"""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
import zipfile
from pathlib import Path

import duckdb
import pytest

from dagster_project.config import PROJECT_ROOT
from dagster_project.ingest.idnumber import check_char

pytestmark = pytest.mark.slow(seconds=80)


# A letter may precede an ID number (学籍号 'G' + ID number), not follow it (then it is inside a hex string).
ID18 = re.compile(r"(?<![0-9])(?<![0-9]\.)(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])(?!\.[0-9])")
ID15 = re.compile(r"(?<![0-9])(?<![0-9]\.)(\d{6})(\d{6})(\d{3})(?![0-9A-Za-z])(?!\.[0-9])")


def _valid_date(text: str) -> bool:
    try:
        day = dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= day <= dt.date.today()


def id_numbers_in(text: str) -> list[str]:
    found = []
    for m in ID18.finditer(text):
        first17 = "".join(m.groups()[:3])
        if _valid_date(m.group(2)) and check_char(first17) == m.group(4).upper():
            found.append(m.group(0))
    for m in ID15.finditer(text):
        if _valid_date("19" + m.group(2)):
            found.append(m.group(0))
    return found


def test_the_detector_finds_real_id_numbers():
    first17 = "43050219900101123"
    real = first17 + check_char(first17)
    assert id_numbers_in(f"mother {real} born") == [real]
    assert id_numbers_in("old 430502900101123 number") == ["430502900101123"]
    assert id_numbers_in("a" * 10 + "deadbeef" + real + "cafe") == []  # inside a hex pseudonym: not an ID
    assert id_numbers_in(f"student_id=G{real},") == [real]            # a 学籍号 'G' + ID number is one
    assert id_numbers_in(real[:-1] + ("0" if real[-1] != "0" else "1")) == []  # wrong check character


def test_the_file_scan_reads_sqlite_databases_and_every_other_file(tmp_path):
    first17 = "43050219900101123"
    real = first17 + check_char(first17)
    con = sqlite3.connect(tmp_path / "events.db")
    con.execute("CREATE TABLE event_logs (event TEXT)")
    con.execute("INSERT INTO event_logs VALUES (?)", [f'{{"message": "health/births_{real}_2023.csv"}}'])
    con.commit()
    con.close()
    (tmp_path / "compiled.sql").write_text(f"select '{real[:6]}************'", encoding="utf-8")
    (tmp_path / "state.msgpack").write_bytes(b"\x92\xa5" + f"G{real}".encode())
    assert set(_scan_files(tmp_path)) == {str(tmp_path / "events.db"), str(tmp_path / "state.msgpack")}


def _scan_database(path: Path) -> dict[str, list[str]]:
    leaks = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema NOT IN ('information_schema', 'pg_catalog')"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" '
                f"WHERE regexp_matches(\"{column}\", '[0-9]{{15}}')"
            ).fetchall()
            hits = [h for (v,) in values for h in id_numbers_in(v)]
            if hits:
                leaks[f"{path.name}:{schema}.{table}.{column}"] = hits[:3]
    finally:
        con.close()
    return leaks


# Read through DuckDB (`_scan_database`): their pages are compressed, a byte scan would prove nothing.
DUCKDB_FILES = (".duckdb", ".wal")


def _sqlite_texts(path: Path) -> list[str]:
    """Every text and blob value of every table of a SQLite database (Dagster's run and event storage)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        texts = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in con.execute(f'SELECT * FROM "{table}"'):
                texts += [v if isinstance(v, str) else v.decode("utf-8", "replace")
                          for v in row if isinstance(v, (str, bytes))]
        return texts
    finally:
        con.close()


def _scan_files(root: Path) -> dict[str, list[str]]:
    """Every file under `root`: workbooks by their XML, SQLite databases through SQL, and every other file
    (text, SQLite pages and WAL, msgpack, ...) as bytes."""
    leaks = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.name.endswith(DUCKDB_FILES):
            continue
        texts = []
        if path.suffix.lower() == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts = [book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml")]
        else:
            texts = [path.read_bytes().decode("utf-8", "replace")]
            if path.suffix == ".db" and texts[0].startswith("SQLite format 3"):
                texts += _sqlite_texts(path)
        hits = [h for t in texts for h in id_numbers_in(t)]
        if hits:
            leaks[str(path)] = hits[:3]
    return leaks


def test_the_sample_holds_id_numbers_in_a_file_name_and_in_student_numbers():
    """The scan below is only worth something if the sample has the hard cases."""
    raw = PROJECT_ROOT / "raw" / "education"
    named = [p for p in raw.iterdir() if id_numbers_in(p.name)]
    assert [p.name[:20] for p in named] == ["students_2024_G43050"]
    students = (raw / "students_2024.csv").read_bytes().decode("gb18030", "replace")
    assert sum(1 for line in students.splitlines() if re.match(r"G\d{17}[\dX],", line)) > 500


def test_no_id_number_anywhere_after_a_full_run(sample_warehouse):
    warehouse, exports = sample_warehouse["warehouse"], sample_warehouse["exports"]
    base = sample_warehouse["log"].parent
    assert (warehouse / "work.duckdb").exists() and (warehouse / "monitoring.duckdb").exists()
    leaks = {}
    leaks.update(_scan_database(warehouse / "work.duckdb"))
    leaks.update(_scan_database(warehouse / "monitoring.duckdb"))
    leaks.update(_scan_files(exports))
    leaks.update(_scan_files(base))  # CLI output, the run log, dbt's target and logs, Dagster's storage
    assert id_numbers_in(sample_warehouse["stdout"]) == [] and id_numbers_in(sample_warehouse["stderr"]) == []
    assert not leaks, f"ID-number-shaped values found: {leaks}"
    # the scan really covered files: exports, Dagster's databases, dbt's log and the run log exist
    assert any(exports.rglob("*.xlsx")) and any(exports.rglob("*.csv"))
    assert any((base / "dagster_home").rglob("*.db")) and (warehouse / "dbt_target" / "dbt.log").exists()
    assert any((warehouse / "logs").glob("run_*.log"))


def test_the_misnamed_file_is_recorded_masked_and_g_student_numbers_still_link(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse["warehouse"] / "work.duckdb"), read_only=True)
    try:
        [(name, status)] = con.execute("SELECT source_file, status FROM audit.file_loads "
                                       "WHERE source_file LIKE 'education/students_2024_G%'").fetchall()
        linked = con.execute("""
            WITH g AS (SELECT _period_year AS y, student_id FROM raw.students WHERE student_id LIKE 'G%')
            SELECT count(*) FILTER (WHERE y = 2023), count(*) FILTER (WHERE y = 2023 AND student_id IN
                       (SELECT student_id FROM g WHERE y = 2024)),
                   (SELECT count(*) FROM raw.student_health h WHERE h._period_year = 2024
                       AND h.student_id IN (SELECT student_id FROM g WHERE y = 2024)),
                   count(*) FILTER (WHERE y = 2024 AND regexp_matches(student_id, '^G[0-9a-f]{64}$')),
                   count(*) FILTER (WHERE y = 2024)
            FROM g""").fetchone()
        # the link the indicators use: a pupil's previous year's survey (had_myopia_previous_year)
        followed = con.execute("SELECT count(*) FROM main_intermediate.int_student_health_surveys_enriched "
                               "WHERE student_id LIKE 'G%' AND had_myopia_previous_year IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    assert name == "education/students_2024_G430502************.csv" and status == "unrecognised"
    in_2023, also_2024, surveyed, pseudonymised, in_2024 = linked
    assert in_2023 > 500 and also_2024 > 0.7 * in_2023     # the same pupils keep the same stored 学籍号
    assert surveyed > 0.5 * in_2024 and pseudonymised == in_2024
    assert followed > 0.5 * surveyed


def test_no_declared_check_is_skipped_in_a_run(sample_warehouse):
    """Issue 17 item 5: every blocking asset check Dagster declares gets a result (tests/test_dbt_checks_run.py)."""
    logs = list((sample_warehouse["warehouse"] / "logs").glob("run_*.log"))
    assert logs
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert "emitted no result" not in text and "without gating" not in text


def test_public_exports_hold_no_pseudonyms(sample_warehouse):
    pseudonym = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
    public = [p for p in sample_warehouse["exports"].rglob("*") if p.is_file() and "内部" not in p.name
              and p.suffix.lower() in (".csv", ".html", ".xlsx") and "feedback" not in p.parts]
    assert public
    for path in public:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                text = "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml"))
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert not pseudonym.search(text), f"pseudonym-shaped value in {path}"
