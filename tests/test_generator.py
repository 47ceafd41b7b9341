"""The extract generator: reproducible, clean when asked, honest manifest, plausible rates.

Runs are small (a fraction of the district, few years) so the whole module takes seconds.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from dagster_project.config import PROJECT_ROOT
from dagster_project.contracts import load_contracts, township_codes
from sample_data import defects as defect_catalogue
from sample_data import idnumbers
from sample_data import manifest as manifest_io
from sample_data.options import Options
from sample_data.runner import generate

SCALE = 0.05
YEARS = [2020, 2021]


def _run(out: Path, **kw) -> dict:
    options = Options(out=out, scale=kw.pop("scale", SCALE), years=kw.pop("years", YEARS), quiet=True, **kw)
    return manifest_io.read(generate(options))


@pytest.fixture(scope="module")
def defective(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("defective")
    return out, _run(out, defect_rate=3.0)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, _run(out, clean=True)


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a generated file, all cells as text (dates of XLSX as YYYY-MM-DD)."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            cells = []
            for v in values:
                if v is None:
                    cells.append("")
                elif isinstance(v, dt.datetime):
                    cells.append(v.date().isoformat())
                elif isinstance(v, float) and v.is_integer():
                    cells.append(str(int(v)))
                else:
                    cells.append(str(v))
            rows.append(cells)
        return rows[0], rows[1:]
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def _column(header: list[str], extract: str, name: str) -> int:
    col = load_contracts().extracts[extract].column(name)
    for alias in col.aliases():
        if alias in header:
            return header.index(alias)
    raise KeyError(name)


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_number_of_jobs(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _run(first, scale=0.03, years=[2021, 2022])
    _run(second, scale=0.03, years=[2021, 2022], jobs=2)     # files written by two worker processes
    a, b = _digests(first), _digests(second)
    assert a == b
    assert len(a) > 30
    assert any(name.endswith(".xlsx") for name in a), "the run should include XLSX files"
    assert "_generator/manifest.json" in a


def test_other_seed_other_data(tmp_path: Path) -> None:
    _run(tmp_path / "a", scale=0.03, years=[2022], extracts=["births"])
    _run(tmp_path / "b", scale=0.03, years=[2022], extracts=["births"], seed=7)
    assert _digests(tmp_path / "a") != _digests(tmp_path / "b")


def test_layout_matches_the_templates(defective) -> None:
    out, manifest = defective
    contracts = load_contracts()
    paths = {f["path"] for f in manifest["files"]}
    for year in YEARS:
        for name, extract in contracts.extracts.items():
            if name in ("forms", "grade_history"):
                continue
            assert {f"{extract.department}/{name}_{year}.csv", f"{extract.department}/{name}_{year}.xlsx"} & paths
        for department in ("health", "education", "civil_affairs", "justice", "statistics", "human_resources",
                           "organization", "agriculture", "women_federation"):
            assert {f"forms/{department}_{year}.csv", f"forms/{department}_{year}.xlsx"} & paths
    assert "education/grade_history.csv" in paths
    for f in manifest["files"]:
        assert (out / f["path"]).is_file()
        extract = contracts.extracts[f["extract"]]
        allowed = [{c.name, *c.zh} for c in extract.columns]
        assert len(f["headers"]) == len(allowed)
        assert all(h in names for h, names in zip(f["headers"], allowed))
    assert {f["header_language"] for f in manifest["files"]} == {"zh", "en"}
    encodings = {f["encoding"] for f in manifest["files"] if f["format"] == "csv"}
    assert {"utf-8", "utf-8-sig", "gb18030"} <= encodings


def test_clean_mode_has_no_defects_and_valid_ids(clean) -> None:
    out, manifest = clean
    assert manifest["defects"] == []
    assert manifest["summary"]["defects"] == 0
    assert all(f["defects"] == {} for f in manifest["files"])
    contracts = load_contracts()
    known = set(township_codes())
    checked = 0
    for f in manifest["files"]:
        extract = contracts.extracts[f["extract"]]
        header, rows = _rows(out / f["path"])
        assert len(rows) == f["rows"]
        id_cols = [c.name for c in extract.columns if c.type == "id_number"]
        for name in id_cols:
            j = _column(header, extract.name, name)
            for row in rows:
                if row[j]:
                    assert idnumbers.is_valid(row[j]), (f["path"], row[j])
                    checked += 1
        if any(c.name == "township_code" and c.type == "township" for c in extract.columns):
            j = _column(header, extract.name, "township_code")
            assert {row[j] for row in rows} <= known
    assert checked > 1000


def test_manifest_counts_match_the_files(defective) -> None:
    """Bad check digits and unknown townships, counted straight from the files."""
    out, manifest = defective
    contracts = load_contracts()
    known = set(township_codes())
    by_file: dict[str, dict[str, set[int]]] = {}
    for d in manifest["defects"]:
        by_file.setdefault(d["file"], {}).setdefault(d["kind"], set()).add(d["row"])
    totals = {"id_bad_check_digit": 0, "unknown_township": 0}
    for f in manifest["files"]:
        extract = contracts.extracts[f["extract"]]
        header, rows = _rows(out / f["path"])
        expected = by_file.get(f["path"], {})
        assert sum(f["defects"].values()) == sum(len(v) for v in expected.values())
        id_col = next((c.name for c in extract.columns if c.type == "id_number"), None)
        if id_col:
            j = _column(header, extract.name, id_col)
            bad = {i + 2 for i, row in enumerate(rows)
                   if len(row[j]) == 18 and row[j][:17].isdigit() and row[j][17] in "0123456789X"
                   and idnumbers.check_char(row[j][:17]) != row[j][17]}
            assert bad == expected.get("id_bad_check_digit", set()), f["path"]
            totals["id_bad_check_digit"] += len(bad)
        if any(c.name == "township_code" and c.type == "township" for c in extract.columns):
            j = _column(header, extract.name, "township_code")
            unknown = {i + 2 for i, row in enumerate(rows)
                       if row[j] and unicodedata.normalize("NFKC", row[j]).strip() not in known}
            assert unknown == expected.get("unknown_township", set()), f["path"]
            totals["unknown_township"] += len(unknown)
    assert totals["id_bad_check_digit"] > 0 and totals["unknown_township"] > 0


def test_duplicates_and_defect_rows_point_at_the_right_rows(defective) -> None:
    out, manifest = defective
    seen = 0
    for d in manifest["defects"]:
        if d["file"].endswith(".xlsx") or d["kind"] not in ("duplicate_row", "date_format_variant", "missing_required"):
            continue
        header, rows = _rows(out / d["file"])
        row = rows[d["row"] - 2]
        if d["kind"] == "duplicate_row":
            assert row in rows[: d["row"] - 2], "a duplicate copies an earlier row"
        elif d["kind"] == "date_format_variant":
            assert d["value"] in row
        else:
            extract = next(f["extract"] for f in manifest["files"] if f["path"] == d["file"])
            assert row[_column(header, extract, d["column"])] == ""
        seen += 1
    assert seen > 20


def test_every_defect_kind_is_documented_and_used(defective) -> None:
    _, manifest = defective
    import sample_data as package

    kinds = set(defect_catalogue.KINDS)
    assert set(manifest["defect_kinds"]) == kinds
    for kind in kinds:
        assert kind in package.__doc__
    used = {d["kind"] for d in manifest["defects"]}
    assert used == kinds
    for d in manifest["defects"]:
        assert d["handling"] in ("quarantine", "exclude_field", "normalise", "flag")
        assert d["row"] >= 2
        if d["handling"] == "normalise":
            assert d["expected"] is not None
    rows = {f["path"]: f["rows"] for f in manifest["files"]}
    assert all(d["row"] <= rows[d["file"]] + 1 for d in manifest["defects"])
    # At most one defect per row.
    keys = [(d["file"], d["row"]) for d in manifest["defects"]]
    assert len(keys) == len(set(keys))


def test_rates_are_plausible(tmp_path: Path) -> None:
    """Sex ratio at birth and infant mortality at district scale, pooled over three years."""
    out = tmp_path / "rates"
    manifest = _run(out, scale=1.0, years=[2021, 2022, 2023], clean=True, extracts=["births", "deaths", "population"])
    births = male = infant = total_pop = 0
    for f in manifest["files"]:
        header, rows = _rows(out / f["path"])
        if f["extract"] == "births":
            j = _column(header, "births", "child_sex")
            births += len(rows)
            male += sum(1 for r in rows if r[j] in ("1", "男"))
        elif f["extract"] == "deaths":
            b, d = _column(header, "deaths", "birth_date"), _column(header, "deaths", "death_date")
            infant += sum(1 for r in rows if (dt.date.fromisoformat(r[d]) - dt.date.fromisoformat(r[b])).days < 365)
        elif f["extract"] == "population":
            j = _column(header, "population", "population")
            total_pop += sum(int(r[j]) for r in rows)
    assert 6_500 <= births <= 8_500                    # ~2,300–2,800 a year
    assert 810_000 <= total_pop <= 870_000              # ~280,000 residents, three years
    assert 103 <= 100 * male / (births - male) <= 114    # sex ratio at birth
    assert 3.0 <= 1000 * infant / births <= 7.0          # infant mortality per 1,000 live births


def test_grade_history_matches_the_students_files(clean) -> None:
    """In clean mode the history's counts for generated years are exactly the students files' counts."""
    out, manifest = clean
    header, rows = _rows(out / "education/grade_history.csv")
    y, s, g, n = (_column(header, "grade_history", c) for c in ("year", "sex", "grade", "enrolled"))
    history = {(int(r[y]), r[s], int(r[g])): int(r[n]) for r in rows}
    assert min(year for year, _, _ in history) <= 2008
    for year in YEARS:
        path = next(f["path"] for f in manifest["files"] if f["extract"] == "students" and f["year"] == year)
        header, rows = _rows(out / path)
        s_col, g_col = _column(header, "students", "sex"), _column(header, "students", "grade")
        counts: dict[tuple[str, int], int] = {}
        for r in rows:
            sex = {"男": "1", "女": "2"}.get(r[s_col], r[s_col])
            counts[(sex, int(r[g_col]))] = counts.get((sex, int(r[g_col])), 0) + 1
        for (sex, grade), value in counts.items():
            assert history[(year, sex, grade)] == value


def test_other_areas_file(tmp_path: Path) -> None:
    """A province-style areas file: several counties, their townships populated, IDs still unique."""
    areas = tmp_path / "areas.csv"
    lines = ["area_code,name_zh,name_en,level,parent_code,area_type_zh,vintage"]
    for county, kinds in (("430503", ("街道", "街道", "镇")), ("430522", ("镇", "乡"))):
        lines.append(f"{county},县,County,county,430500,县,2023")
        for k, kind in enumerate(kinds):
            part = {"街道": 1, "镇": 100, "乡": 200}[kind] + k
            lines.append(f"{county}{part:03d},乡镇{k},T{k},township,{county},{kind},2023")
    areas.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    manifest = _run(out, scale=0.05, years=[2022], clean=True, areas=areas,
                    extracts=["population", "births", "forms"])
    header, rows = _rows(out / next(f["path"] for f in manifest["files"] if f["extract"] == "population"))
    codes = {r[_column(header, "population", "township_code")] for r in rows}
    assert codes == {line.split(",")[0] for line in lines[1:] if ",township," in line}
    header, rows = _rows(out / next(f["path"] for f in manifest["files"] if f["extract"] == "births"))
    ids = [r[_column(header, "births", "mother_id_number")] for r in rows]
    ids = [i for i in ids if i]
    assert len(ids) == len(set(ids)) and all(idnumbers.is_valid(i) for i in ids)
    header, rows = _rows(out / next(f["path"] for f in manifest["files"] if f["path"].startswith("forms/organization")))
    assert {r[_column(header, "forms", "township_code")] for r in rows} == {"430503", "430522"}


def _session_processes(sid: int) -> list[str]:
    """Command lines of the processes still alive in session `sid` (Linux /proc)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state ppid pgrp session …
            alive.append(cmdline)
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_worker_pool_ends_cleanly_when_the_parent_ignores_sigint_and_sigterm(tmp_path: Path) -> None:
    """Started as `nohup make test &` starts it (SIGINT ignored) under Dagster (which maps SIGTERM to the SIGINT
    handler, so SIGTERM is ignored too): the generator's worker pool still ends, and no worker outlives it."""
    def ignore_both():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "sample_data", "--out", str(tmp_path / "raw"), "--scale", "0.01",
         "--years", "2024", "--jobs", "2", "--quiet"],
        cwd=PROJECT_ROOT, preexec_fn=ignore_both, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, output[-2000:]
    assert list((tmp_path / "raw").rglob("*.csv")), "the generator wrote no files"
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker exits just after its parent
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_processes(proc.pid) == []


def test_a_worker_gets_default_signal_dispositions_back(monkeypatch) -> None:
    """The part of the fix that does not depend on timing: a worker that inherited ignored SIGINT and SIGTERM
    restores them, so that Pool.terminate() (SIGTERM) can end it."""
    from sample_data import runner

    monkeypatch.setattr(runner, "build_world", lambda options: None)
    monkeypatch.setattr(runner, "plan_tasks", lambda world, options: [])
    before = signal.signal(signal.SIGTERM, signal.SIG_IGN), signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runner._start_worker(Options(out=Path("unused")))
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) == signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])


def test_some_pupils_have_a_g_plus_id_student_number_that_links_across_years_and_files(defective) -> None:
    """The national 学籍号 'G' + ID number (issue 17): a share of pupils, the same number every year and in the
    health survey; and one misnamed one-pupil file carries such a number in its name (matching no template)."""
    out, manifest = defective
    by_year, ids_of, pupils = {}, {}, {}
    for f in manifest["files"]:
        if f["extract"] not in ("students", "student_health"):
            continue
        header, rows = _rows(out / f["path"])
        sid = _column(header, f["extract"], "student_id")
        numbers = {r[sid] for r in rows if r[sid].startswith("G")}
        by_year[(f["extract"], f["year"])] = numbers
        pupils[(f["extract"], f["year"])] = len(rows)
        if f["extract"] == "students":
            pid = _column(header, "students", "id_number")
            ids_of.update({r[sid]: r[pid] for r in rows if r[sid].startswith("G") and len(r[pid]) == 18})
    first, last = (by_year[("students", y)] for y in YEARS)
    assert first and last
    assert 0.04 < len(last) / pupils[("students", YEARS[-1])] < 0.15   # a share of the pupils (8 %)
    assert len(first & last) > 0.7 * len(first)        # most pupils are at school both years, same 学籍号
    surveyed = by_year[("student_health", YEARS[-1])]
    assert surveyed and len(surveyed & last) > 0.95 * len(surveyed)  # the survey uses the same numbers
    # the number is 'G' + the pupil's own, valid ID number
    assert len(ids_of) > 0.9 * len(last)
    for number, id_number in list(ids_of.items())[:200]:
        # (the ID column may carry a defect such as a lower-case x; the 学籍号 holds the number as issued)
        assert number[1:18] == id_number[:17] and idnumbers.check_char(number[1:18]) == number[18]
    [misnamed] = manifest["misnamed_files"]
    name = misnamed["path"].rsplit("/", 1)[-1]
    assert name.startswith(f"students_{YEARS[-1]}_G4305") and (out / misnamed["path"]).is_file()
    assert len(_rows(out / misnamed["path"])[1]) == 1
