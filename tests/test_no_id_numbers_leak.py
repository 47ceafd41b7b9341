"""After a full run on the sample (with defects), nothing shaped like a citizen ID number is anywhere.

Scanned: every VARCHAR column of the working and the analysts' databases (through SQL, so DuckDB's
compression cannot hide a value), every text file the run wrote (exports, reports, Data Docs, feedback
workbooks' XML, CSV, SDMX, Dagster's run logs, the CLI output). A candidate counts when it is an
18-digit number with a valid birth date and ISO 7064 check character, or a 15-digit old number with a
valid birth date — the way a real ID number would look, not any long run of digits.
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.idnumber import check_char

pytestmark = pytest.mark.slow(seconds=80)


ID18 = re.compile(r"(?<![0-9A-Za-z])(?<![0-9]\.)(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])(?!\.[0-9])")
ID15 = re.compile(r"(?<![0-9A-Za-z])(?<![0-9]\.)(\d{6})(\d{6})(\d{3})(?![0-9A-Za-z])(?!\.[0-9])")
TEXT_SUFFIXES = {".csv", ".html", ".json", ".txt", ".log", ".md", ".xml", ".jsonl", ".sdmx", ".yaml"}


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
    assert id_numbers_in(real[:-1] + ("0" if real[-1] != "0" else "1")) == []  # wrong check character


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


def _scan_files(root: Path) -> dict[str, list[str]]:
    leaks = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        texts = []
        if path.suffix.lower() == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts = [book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml")]
        elif path.suffix.lower() in TEXT_SUFFIXES or path.name.startswith("compute_logs"):
            texts = [path.read_text(encoding="utf-8", errors="replace")]
        elif path.suffix.lower() in (".out", ".err"):
            texts = [path.read_text(encoding="utf-8", errors="replace")]
        hits = [h for t in texts for h in id_numbers_in(t)]
        if hits:
            leaks[str(path)] = hits[:3]
    return leaks


def test_no_id_number_anywhere_after_a_full_run(sample_warehouse):
    warehouse, exports = sample_warehouse["warehouse"], sample_warehouse["exports"]
    assert (warehouse / "work.duckdb").exists() and (warehouse / "monitoring.duckdb").exists()
    leaks = {}
    leaks.update(_scan_database(warehouse / "work.duckdb"))
    leaks.update(_scan_database(warehouse / "monitoring.duckdb"))
    leaks.update(_scan_files(exports))
    leaks.update(_scan_files(sample_warehouse["log"].parent))  # CLI output and Dagster's logs
    assert id_numbers_in(sample_warehouse["stdout"]) == []
    assert not leaks, f"ID-number-shaped values found: {leaks}"
    # the scan really covered files: exports exist
    assert any(exports.rglob("*.xlsx")) and any(exports.rglob("*.csv"))


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
