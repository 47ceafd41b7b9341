"""Run the generator: build the world, write every extract and year, write the manifest."""
from __future__ import annotations

import json
import multiprocessing
import re
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import polars as pl

from dagster_project.contracts import Extract, load_contracts
from sample_data import hashing
from sample_data import manifest as manifest_io
from sample_data.areas import load_townships
from sample_data.calibration import Calibration
from sample_data.defects import Injector, handling_of
from sample_data.demography import project
from sample_data.extracts import civil_affairs, education, forms, health, justice, population
from sample_data.options import EXTRACT_ORDER, GeneratorError, Options
from sample_data.persons import Population
from sample_data.sinks import CsvSink, XlsxSink
from sample_data.styles import choose_style, render
from sample_data.world import World, period

# Rough rows per resident, only to decide whether a file may be XLSX (see styles.XLSX_MAX_ROWS).
ROWS_PER_RESIDENT = {"committee_members": 0.003, "social_assistance": 0.04, "cases": 0.001, "legal_aid": 0.003}


class FileWriter:
    """One output file: style, sink, defect injection and row bookkeeping across chunks."""

    def __init__(self, world: World, options: Options, extract: Extract, year: int | None, stem: str,
                 expected_rows: int, parts: Path, source_department: str | None = None, with_defects: bool = True):
        self.world, self.extract, self.year = world, extract, year
        self.source_department = source_department
        relative_stem = f"{extract.department}/{stem}"
        self.style = choose_style(world.seed, extract, relative_stem, expected_rows)
        self.path = options.out / self.style.relative_path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (self.path.with_suffix(".csv"), self.path.with_suffix(".xlsx")):
            if stale.exists():          # a previous run may have chosen the other format
                stale.unlink()
        self.sink = XlsxSink(self.path, self.style, extract) if self.style.file_format == "xlsx" \
            else CsvSink(self.path, self.style)
        self.period = period(extract, year) if year is not None else None
        self.injector = None
        if with_defects and not options.clean and options.defect_rate > 0:
            bases = None
            if extract.name == "forms":
                items = {i.code: i for i in forms.form_items()}
                bases = {i.code: i.base for i in items.values()
                         if i.base and i.department == source_department and items[i.base].department == source_department}
            self.injector = Injector(extract, self.style, self.period[1], options.defect_rate,
                                     {t.code for t in world.townships}, bases)
        # Defects go straight to a JSON-lines part file: a province run has millions of them.
        self.parts_file = parts / (self.style.relative_path.replace("/", "__") + ".jsonl")
        self._parts = None
        self.counts: Counter[str] = Counter()
        self.handlings: Counter[str] = Counter()
        self.chunks = 0
        self.started = time.perf_counter()

    def write(self, typed: pl.DataFrame) -> None:
        if typed.height == 0:
            return
        text = render(typed, self.extract, self.style, self.world.contracts)
        if self.injector is not None:
            rng = hashing.chunk_rng(self.world.seed, "defects", self.style.relative_path, self.chunks)
            text, found = self.injector.inject(text, typed, rng)
            offset = self.sink.rows + 2            # header is row 1
            if found and self._parts is None:
                self._parts = self.parts_file.open("w", encoding="utf-8")
            for d in found:
                handling = handling_of(d.kind, self.extract, d.column, d.rule_id)
                self.counts[d.kind] += 1
                self.handlings[handling] += 1
                self._parts.write(json.dumps({
                    "file": self.style.relative_path, "row": offset + d.position, "kind": d.kind,
                    "column": d.column, "handling": handling, "rule_id": d.rule_id,
                    "value": d.value, "expected": d.expected,
                }, ensure_ascii=False) + "\n")
        self.sink.write(text)
        self.chunks += 1

    def close(self, quiet: bool) -> dict:
        sha = self.sink.close()
        if self._parts is not None:
            self._parts.close()
        counts = self.counts
        record = {
            "path": self.style.relative_path,
            "extract": self.extract.name,
            "department": self.extract.department,
            "source_department": self.source_department,
            "year": self.year,
            "period_basis": self.extract.period_basis,
            "period_start": self.period[0].isoformat() if self.period else None,
            "period_end": self.period[1].isoformat() if self.period else None,
            **self.style.describe(),
            "rows": self.sink.rows,
            "bytes": self.path.stat().st_size,
            "sha256": sha,
            "defects": dict(sorted(counts.items())),
            "defects_by_handling": dict(sorted(self.handlings.items())),
        }
        if not quiet:
            took = time.perf_counter() - self.started
            print(f"  {self.style.relative_path:<42} {self.sink.rows:>10,} rows  {sum(counts.values()):>7,} defects"
                  f"  {took:6.1f} s", flush=True)
        return record


def build_world(options: Options) -> World:
    contracts = load_contracts()
    townships = load_townships(options.areas)
    years = sorted(options.years)
    history_from = min(education.HISTORY_FROM, years[0] - 11)
    demo = project(townships, options.seed, options.scale, first_year=history_from - 1, last_year=years[-1])
    return World(contracts, townships, demo, Population(townships, options.seed), Calibration(options.seed),
                 options.seed, options.scale, years)


PRODUCERS = {
    "population": population.produce,
    "births": health.births,
    "deaths": health.deaths,
    "child_health": health.child_health,
    "cancer_screening": health.cancer_screening,
    "committee_members": civil_affairs.committee_members,
    "social_assistance": civil_affairs.social_assistance,
    "cases": justice.cases,
    "legal_aid": justice.legal_aid,
}

# (relative cost, for scheduling only; the task): students and screening files are the largest
Task = tuple[int, Callable[[], list[dict]]]
WEIGHTS = {"education": 10, "grade_history": 6, "cancer_screening": 5, "child_health": 5,
           "social_assistance": 3, "births": 2}


def _parts_dir(options: Options) -> Path:
    return options.manifest_path.parent / ".defect_parts"


def _write_file(world: World, options: Options, extract_name: str, year: int | None, stem: str,
                chunks: Callable[[], Iterable[pl.DataFrame]], source_department: str | None = None,
                with_defects: bool = True) -> list[dict]:
    extract = world.contracts.extracts[extract_name]
    residents = world.demo.pop(year if year is not None else world.years[-1]).sum()
    expected = int(residents * ROWS_PER_RESIDENT.get(extract_name, 1.0))
    writer = FileWriter(world, options, extract, year, stem, expected, _parts_dir(options), source_department,
                        with_defects)
    for chunk in chunks():
        writer.write(chunk)
    return [writer.close(options.quiet)]


def plan_tasks(world: World, options: Options) -> list[Task]:
    """One task per output file (students and the health survey share one pass, so one task).

    Every file draws only from its own seeded streams, so the files are identical whatever the number of
    jobs; worker processes rebuild the same plan from the options and run tasks by position.
    """
    tasks: list[Task] = []
    for year in world.years:
        for name in EXTRACT_ORDER:
            if name == "students" and (options.wants("students") or options.wants("student_health")):
                tasks.append((WEIGHTS["education"], partial(_education_year, world, options, year)))
            elif name == "forms" and options.wants("forms"):
                for department in forms.departments():
                    tasks.append((WEIGHTS.get(name, 1), partial(
                        _write_file, world, options, "forms", year, f"{department}_{year}",
                        partial(forms.produce, world, year, department), department)))
            elif name in PRODUCERS and options.wants(name):
                tasks.append((WEIGHTS.get(name, 1), partial(
                    _write_file, world, options, name, year, f"{name}_{year}", partial(PRODUCERS[name], world, year))))
    if options.wants("grade_history"):
        history_from = min(education.HISTORY_FROM, world.years[0] - 11)
        # The consolidation rate needs exact counts: no defects in this small aggregate.
        tasks.append((WEIGHTS["grade_history"], partial(
            _write_file, world, options, "grade_history", None, "grade_history",
            partial(_lazy, education.grade_history, world, history_from, world.years[-1]), with_defects=False)))
    return tasks


def generate(options: Options) -> Path:
    """Write every extract and the manifest; returns the manifest's path."""
    started = time.perf_counter()
    say = (lambda *a: None) if options.quiet else (lambda *a: print(*a, flush=True))
    unknown = set(options.extracts or []) - set(EXTRACT_ORDER)
    if unknown:
        raise GeneratorError(f"unknown extract(s): {', '.join(sorted(unknown))}; choose from {', '.join(EXTRACT_ORDER)}")
    options.out.mkdir(parents=True, exist_ok=True)
    world = build_world(options)
    total = world.demo.pop(world.years[-1]).sum()
    say(f"generator: {len(world.townships)} townships, scale {options.scale:g} "
        f"({total:,} residents at the end of {world.years[-1]}), years {world.years[0]}–{world.years[-1]}, "
        f"seed {options.seed}, {'clean' if options.clean else f'defects x{options.defect_rate:g}'}  → {options.out}")
    contracts = world.contracts
    parts = _parts_dir(options)
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    tasks = plan_tasks(world, options)
    files: list[dict] = [record for records in _run_tasks(tasks, options, say) for record in records]

    files.sort(key=lambda f: f["path"])
    opts = {
        "seed": options.seed, "years": world.years, "scale": options.scale, "clean": options.clean,
        "defect_rate": 0.0 if options.clean else options.defect_rate,
        "areas": str(options.areas) if options.areas else "dbt/seeds/areas.csv",
        "extracts": options.extracts or "all", "townships": len(world.townships),
    }
    extracts_seen = {f["extract"] for f in files}
    # Defects of all files, in file order and row order, streamed from the part files.
    part_files = [parts / (f["path"].replace("/", "__") + ".jsonl") for f in files]
    manifest = manifest_io.build(opts, files, contracts.version, extracts_seen,
                                 0.0 if options.clean else options.defect_rate)
    if not options.clean and options.defect_rate > 0:
        manifest["misnamed_files"] = [m for m in [write_file_named_after_a_pupil(options.out, files)] if m]
    manifest_io.write(options.manifest_path, manifest, [p for p in part_files if p.exists()])
    shutil.rmtree(parts, ignore_errors=True)
    took = time.perf_counter() - started
    size = sum(f["bytes"] for f in files)
    say(f"done: {len(files)} files, {manifest['summary']['rows']:,} rows, {size / 1e6:.1f} MB, "
        f"{manifest['summary']['defects']:,} defects in {took:.1f} s; manifest {options.manifest_path}")
    return options.manifest_path


def write_file_named_after_a_pupil(out: Path, files: list[dict]) -> dict | None:
    """A clerk's one-pupil export named after the pupil's 学籍号 ('G' + ID number), beside the students files:
    `education/students_<year>_G430502….csv`. It matches no template (so it is not loaded), and the
    warehouse must record and report it without the ID number in its name (issue 17). Its two lines are
    the header and the first 'G' + ID row of the latest students CSV, as written. None when there is none."""
    students = [f for f in files if f["extract"] == "students" and f["path"].endswith(".csv")]
    if not students:
        return None
    latest = max(students, key=lambda f: f["year"])
    lines = (out / latest["path"]).read_bytes().splitlines(keepends=True)
    row = next((line for line in lines[1:] if re.match(rb"G\d{17}[\dX]", line)), None)
    if row is None:
        return None
    number = row.split(b",", 1)[0].decode("ascii")
    path = out / "education" / f"students_{latest['year']}_{number}.csv"
    path.write_bytes(lines[0] + row)
    return {"path": path.relative_to(out).as_posix(), "rows": 1,
            "why": "named after a pupil's 学籍号 ('G' + ID number): matches no template; its name must be masked"}


def _lazy(function, *args):
    """Compute a single chunk only when the writer asks for it (so the progress line times it)."""
    yield function(*args)


# Worker processes are spawned, not forked: polars' thread pool does not survive a fork. Each worker
# rebuilds the world and the task plan once, and receives only task positions; file records come back.
_WORKER_TASKS: list[Task] = []


def _start_worker(options: Options) -> None:
    global _WORKER_TASKS
    # A spawned worker inherits ignored signals: under nohup SIGINT is ignored, and Dagster maps SIGTERM to
    # the SIGINT handler, so SIGTERM arrives ignored too. Pool.terminate() sends SIGTERM; an ignored one
    # left it waiting for ever (and the workers orphaned). Workers get the default dispositions back.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _WORKER_TASKS = plan_tasks(build_world(options), options)


def _run_task(index: int) -> list[dict]:
    return _WORKER_TASKS[index][1]()


def _run_tasks(tasks: list[Task], options: Options, say) -> list[list[dict]]:
    """Run the file tasks, in worker processes when jobs > 1; results come back in task order."""
    jobs = max(1, min(options.jobs, len(tasks)))
    if jobs == 1:
        return [task() for _, task in tasks]
    say(f"{len(tasks)} files in {jobs} worker processes")
    # Largest files first, so that no long task starts last and runs alone.
    order = sorted(range(len(tasks)), key=lambda i: tasks[i][0], reverse=True)
    # close + join, not the context manager: its __exit__ terminates the workers instead of letting them end.
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_start_worker, initargs=(options,))
    try:
        results = dict(zip(order, pool.imap(_run_task, order, chunksize=1)))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return [results[i] for i in range(len(tasks))]


def _education_year(world: World, options: Options, year: int) -> list[dict]:
    """Students and the health survey come from one pass over the children of each township."""
    contracts = world.contracts
    writers = {}
    for name in ("students", "student_health"):
        if options.wants(name):
            writers[name] = FileWriter(world, options, contracts.extracts[name], year, f"{name}_{year}", 10**9,
                                       _parts_dir(options))
    for name, chunk in education.produce(world, year):
        if name in writers:
            writers[name].write(chunk)
    return [writer.close(options.quiet) for writer in writers.values()]


def main_generate(options: Options) -> int:
    try:
        generate(options)
    except (GeneratorError, FileNotFoundError) as err:
        print(f"generator: {err}", file=sys.stderr)
        return 2
    return 0
