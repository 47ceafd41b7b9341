"""Benchmark: the whole pipeline at a chosen scale, measured against the same work in plain DuckDB.

    make bench                                   # district scale (the sample's 0.35), 2019-2024
    .venv/bin/python bench/run_benchmark.py --scale 24 --years 2020-2024 --areas bench/areas_province.csv

Steps (each in its own process, so that memory is measured per engine):

1. Project. With `--areas` the warehouse is pointed at another code list the way a user does it:
   the project (code, dbt project, suites) is copied to `<workdir>/project`, the CSV replaces
   `dbt/seeds/areas.csv` (ingestion, the quality suites and dbt all read that one file), the dbt vars
   `district_code` (the lowest area containing every township) and `rollup_levels` (township up to
   it) are set in the copy's `dbt_project.yml`, and `dbt parse` prepares its manifest. No code changes.
2. Data. The generator writes the extracts (`--scale`, `--years`, `--areas`, `--seed`) into
   `<workdir>/raw`; an existing folder written with the same options is reused.
3. Pipeline. `python -m dagster_project.cli run` (what `make run` runs) on a fresh data folder. The
   step timestamps come from the Dagster run's event log; steps are grouped into stages: startup
   (process start to the first step: imports, Definitions, instance, run creation), ingest (raw/*),
   gate (the Great Expectations checks), dbt (the dbt steps), exports (published database, exports,
   report, feedback, Data Docs), and orchestration (between steps and after the last one).
4. DuckDB. `bench/duckdb_reference.py`: the same files, rules, checks, dbt SQL and exports as plain
   DuckDB SQL (see its docstring), after `dbt compile` (not timed).

For every stage it prints wall time, CPU time, input rows per second (rows read from the department
files ÷ the stage's wall time) and the peak memory: the RSS of the process tree (the process and its
children), sampled every 0.2 s from /proc (psutil when installed). The last line is
`pipeline/duckdb ratio: <total wall time of the pipeline ÷ that of plain DuckDB>`. Everything is also
written to `<workdir>/benchmark.json`.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
BENCH_KEY = "benchmark-only-hmac-key-0123456789abcdef"  # never a production key
STAGES = ("startup", "ingest", "gate", "dbt", "exports", "orchestration")
LEVELS = ("province", "prefecture", "county", "township")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------------------------------ process-tree sampling
def _proc_table() -> dict[int, tuple[int, int, float, float]]:
    """pid -> (ppid, rss bytes, cpu seconds of the live process, cpu seconds of its reaped children)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        rss = int(fields[21]) * PAGE
        table[int(entry)] = (ppid, rss, (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS)
    return table


def tree_usage(root: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of `root` and all its descendants."""
    try:
        import psutil  # optional

        try:
            proc = psutil.Process(root)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return 0, 0.0
        rss = cpu = 0.0
        for p in procs:
            try:
                rss += p.memory_info().rss
                t = p.cpu_times()
                cpu += t.user + t.system + (t.children_user + t.children_system if p.pid == root else 0.0)
            except psutil.Error:
                pass
        return int(rss), cpu
    except ImportError:
        pass
    table = _proc_table()
    if root not in table:
        return 0, 0.0
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    rss, cpu, stack = 0, table[root][3], [root]
    while stack:
        pid = stack.pop()
        _, p_rss, p_cpu, _ = table[pid]
        rss += p_rss
        cpu += p_cpu
        stack.extend(children.get(pid, []))
    return rss, cpu


class Sampler(threading.Thread):
    """Samples (time, RSS, CPU) of a process tree until it exits."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss, cpu = tree_usage(self.pid)
            if rss:
                self.samples.append((time.time(), rss, cpu))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def peak(self, start: float, end: float) -> int:
        inside = [s[1] for s in self.samples if start - self.interval <= s[0] <= end + self.interval]
        return max(inside, default=0)

    def cpu_at(self, t: float) -> float:
        """CPU seconds used by the tree up to time t (linear between samples)."""
        s = self.samples
        if not s:
            return 0.0
        if t <= s[0][0]:
            return s[0][2]
        for (t0, _, c0), (t1, _, c1) in zip(s, s[1:]):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * (t - t0) / (t1 - t0 or 1)
        return s[-1][2]


def run_measured(cmd: list[str], *, cwd: Path, env: dict, log: Path, interval: float) -> tuple[float, float, int, Sampler]:
    """Run cmd with its output in `log`; returns (start, end, exit code, sampler)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        start = time.time()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = Sampler(proc.pid, interval)
        sampler.start()
        code = proc.wait()
        end = time.time()
        sampler.stop()
    return start, end, code, sampler


# ------------------------------------------------------------------------------------------ project and data
def read_areas(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def hierarchy_vars(areas: list[dict[str, str]]) -> tuple[str, list[str]]:
    """district_code: the lowest area containing every township; rollup_levels: township up to its level."""
    parent = {r["area_code"]: (r.get("parent_code") or "").strip() for r in areas}
    level = {r["area_code"]: r["level"] for r in areas}

    def chain(code: str) -> list[str]:
        out = [code]
        while parent.get(out[-1]):
            out.append(parent[out[-1]])
        return out

    chains = [chain(r["area_code"]) for r in areas if r["level"] == "township"]
    common = [c for c in chains[0] if all(c in ch for ch in chains[1:])]
    top = common[0] if common else chains[0][-1]
    levels = [lvl for lvl in reversed(LEVELS) if LEVELS.index(lvl) >= LEVELS.index(level[top])]
    return top, levels


def dbt_command() -> str:
    """dbt of this interpreter's virtualenv, else the one on PATH."""
    dbt = Path(PYTHON).with_name("dbt")
    return str(dbt) if dbt.exists() else "dbt"


def prepare_project(areas_csv: Path | None, workdir: Path) -> tuple[Path, str]:
    """The project to run: this one, or a copy pointed at another areas code list."""
    seed = ROOT / "dbt" / "seeds" / "areas.csv"
    if areas_csv is None or areas_csv.resolve() == seed.resolve() or areas_csv.read_bytes() == seed.read_bytes():
        return ROOT, "dbt/seeds/areas.csv"
    project = workdir / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs", "*.pyc")
    for name in ("dagster_project", "expectations", "dbt"):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    for name in ("workspace.yaml", "pyproject.toml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, project / name)
    shutil.copyfile(areas_csv, project / "dbt" / "seeds" / "areas.csv")
    district, levels = hierarchy_vars(read_areas(areas_csv))
    yml = project / "dbt" / "dbt_project.yml"
    lines = []
    for line in yml.read_text(encoding="utf-8").splitlines():
        if line.startswith("  district_code:"):
            line = f'  district_code: "{district}"'
        elif line.startswith("  rollup_levels:"):
            line = "  rollup_levels: [" + ", ".join(f'"{lvl}"' for lvl in levels) + "]"
        lines.append(line)
    yml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (workdir / "parse").mkdir(parents=True, exist_ok=True)
    subprocess.run([dbt_command(), "parse", "--project-dir", "dbt", "--profiles-dir", "dbt", "--quiet"],
                   cwd=project, check=True,
                   # the file's stem is dbt's catalog name, baked into the manifest: it must be "work"
                   env={**os.environ, "MONITOR_WORK_DB": str(workdir / "parse" / "work.duckdb")})
    return project, f"{areas_csv} (district_code {district}, rollup_levels {levels})"


def generator_options(args) -> dict:
    return {"seed": args.seed, "scale": args.scale, "years": args.years,
            "areas": str(args.areas.resolve()) if args.areas else "dbt/seeds/areas.csv"}


def ensure_data(args, raw: Path, interval: float) -> dict:
    stamp = raw / "_generator" / "bench_options.json"
    wanted = generator_options(args)
    figures = raw / "_generator" / "bench_generate.json"   # how long generating them took, for the README
    if stamp.exists() and json.loads(stamp.read_text()) == wanted and not args.regenerate:
        earlier = json.loads(figures.read_text()) if figures.exists() else {}
        return {**earlier, "reused": True}
    shutil.rmtree(raw, ignore_errors=True)
    cmd = [PYTHON, "-m", "sample_data", "--out", str(raw), "--scale", str(args.scale),
           "--years", args.years, "--seed", str(args.seed), "--quiet"]
    if args.areas:
        cmd += ["--areas", str(args.areas.resolve())]
    start, end, code, sampler = run_measured(cmd, cwd=ROOT, env=dict(os.environ), log=raw.parent / "generate.log",
                                             interval=interval)
    if code != 0:
        raise SystemExit(f"generator failed ({code}); see {raw.parent / 'generate.log'}")
    stamp.write_text(json.dumps(wanted))
    generated = {"reused": False, "wall": end - start, "cpu": sampler.cpu_at(end), "peak": sampler.peak(start, end),
                 "measured": dt.datetime.now().isoformat(timespec="seconds")}
    figures.write_text(json.dumps(generated))
    return generated


def input_rows(raw: Path) -> int:
    """Rows the generator wrote (its manifest's summary, the last line: the defect list before it can be large)."""
    manifest = raw / "_generator" / "manifest.json"
    with manifest.open("rb") as fh:
        fh.seek(max(0, manifest.stat().st_size - 65536))
        tail = fh.read().decode("utf-8", "replace")
    for line in tail.splitlines():
        if line.startswith('  "summary": '):
            return int(json.loads(line[len('  "summary": '):])["rows"])
    raise SystemExit(f"no summary in {manifest}")


# ------------------------------------------------------------------------------------------ the two engines
STEP_EVENTS_SNIPPET = """
import json, sys
from dagster import DagsterInstance, DagsterEventType
instance = DagsterInstance.get()
run = instance.get_runs(limit=1)[0]
wanted = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
          DagsterEventType.STEP_SKIPPED}
out = []
for record in instance.all_logs(run.run_id):
    event = record.dagster_event
    if event is not None and event.event_type in wanted and event.step_key:
        out.append([event.step_key, event.event_type.value, record.timestamp])
print(json.dumps({"run_id": run.run_id, "status": run.status.value, "steps": out}))
"""


def stage_of(step: str) -> str:
    if step.startswith("raw__"):
        return "ingest"
    if step.startswith("gx_"):
        return "gate"
    if step.startswith("dbt_"):
        return "dbt"
    return "exports"


def run_pipeline(project: Path, raw: Path, workdir: Path, interval: float) -> dict:
    data, exports = workdir / "pipeline" / "warehouse", workdir / "pipeline" / "exports"
    shutil.rmtree(workdir / "pipeline", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(MONITOR_RAW_DIR=str(raw), MONITOR_DATA_DIR=str(data), MONITOR_EXPORTS_DIR=str(exports),
               MONITOR_HMAC_KEY=BENCH_KEY, MONITOR_ENV="development", PYTHONPATH=str(project))
    start, end, code, sampler = run_measured([PYTHON, "-m", "dagster_project.cli", "run"], cwd=project, env=env,
                                             log=workdir / "pipeline" / "run.log", interval=interval)
    events = subprocess.run([PYTHON, "-c", STEP_EVENTS_SNIPPET], cwd=project, capture_output=True, text=True,
                            env={**env, "DAGSTER_HOME": str(data / "dagster_home")})
    steps: dict[str, dict] = {}
    run_id = status = None
    if events.returncode == 0 and events.stdout.strip():
        found = json.loads(events.stdout.strip().splitlines()[-1])
        run_id, status = found["run_id"], found["status"]
        for key, kind, ts in found["steps"]:
            step = steps.setdefault(key, {"stage": stage_of(key)})
            if kind == "STEP_START":
                step["start"] = ts
            else:
                step["end"], step["status"] = ts, kind
    intervals: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}
    timed = sorted((s["start"], s["end"], s["stage"]) for s in steps.values() if "start" in s and "end" in s)
    first = timed[0][0] if timed else end
    intervals["startup"].append((start, first))
    cursor = first
    for s_start, s_end, stage in timed:
        if s_start > cursor:
            intervals["orchestration"].append((cursor, s_start))
        intervals[stage].append((s_start, s_end))
        cursor = max(cursor, s_end)
    if end > cursor:
        intervals["orchestration"].append((cursor, end))
    failed = sorted(k for k, s in steps.items() if s.get("status") == "STEP_FAILURE")
    return {"start": start, "end": end, "exit_code": code, "run_id": run_id, "status": status, "failed_steps": failed,
            "stages": summarise(intervals, sampler), "peak": sampler.peak(start, end),
            "steps": {k: round(s["end"] - s["start"], 2) for k, s in steps.items() if "start" in s and "end" in s}}


def compile_dbt(project: Path, workdir: Path) -> Path:
    target = workdir / "duckdb" / "compile"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    subprocess.run([dbt_command(), "compile", "--project-dir", "dbt", "--profiles-dir", "dbt",
                    "--target-path", str(target), "--log-path", str(target), "--quiet",
                    "--select", "resource_type:model resource_type:test resource_type:seed"],
                   cwd=project, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "MONITOR_WORK_DB": str(target / "work.duckdb")})  # compiled SQL names the catalog "work"
    return target / "manifest.json"


def run_duckdb(project: Path, raw: Path, workdir: Path, interval: float) -> dict:
    compiled = compile_dbt(project, workdir)
    ref = workdir / "duckdb" / "run"
    shutil.rmtree(ref, ignore_errors=True)
    cmd = [PYTHON, str(HERE / "duckdb_reference.py"), "--raw", str(raw), "--workdir", str(ref),
           "--compiled", str(compiled), "--project", str(project), "--key", BENCH_KEY]
    start, end, code, sampler = run_measured(cmd, cwd=project, env=dict(os.environ), log=workdir / "duckdb" / "run.log",
                                             interval=interval)
    intervals: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}
    reported = []
    for line in (workdir / "duckdb" / "run.log").read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            reported.append(item)
            intervals[item["stage"]].append((item["start"], item["end"]))
    if reported:
        intervals["startup"] = [(start, reported[0]["end"])]
        intervals["orchestration"] = [(reported[-1]["end"], end)]
    return {"start": start, "end": end, "exit_code": code, "stages": summarise(intervals, sampler),
            "peak": sampler.peak(start, end), "reported": reported}


def summarise(intervals: dict[str, list[tuple[float, float]]], sampler: Sampler) -> dict:
    out = {}
    for stage, spans in intervals.items():
        if not spans:
            continue
        out[stage] = {
            "wall": sum(e - s for s, e in spans),
            "cpu": sum(max(0.0, sampler.cpu_at(e) - sampler.cpu_at(s)) for s, e in spans),
            "peak": max(sampler.peak(s, e) for s, e in spans),
        }
    return out


# ------------------------------------------------------------------------------------------ report
def mib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def earlier_results(path: Path, report: dict) -> dict:
    """Engine results of an earlier benchmark.json on the same extracts (same options and row count)."""
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    same = all(old.get(k) == report[k] for k in ("scale", "years", "areas", "townships", "input_rows"))
    return {engine: {**old[engine], "measured": old[engine].get("measured", old.get("date"))}
            for engine in ("pipeline", "duckdb") if same and engine in old and old[engine].get("exit_code") == 0}


def print_engine(name: str, result: dict, rows: int) -> float:
    total = result["end"] - result["start"]
    for stage in STAGES:
        s = result["stages"].get(stage)
        if s is None:
            continue
        rate = f"{rows / s['wall']:>12,.0f}" if stage in ("ingest", "gate", "dbt", "exports") and s["wall"] > 0 else f"{'-':>12}"
        print(f"{name:<9}{stage:<14}{s['wall']:>9.1f}{s['cpu']:>9.1f}{rate}{mib(s['peak']):>12}")
    cpu = sum(s["cpu"] for s in result["stages"].values())
    print(f"{name:<9}{'total':<14}{total:>9.1f}{cpu:>9.1f}{rows / total:>12,.0f}{mib(result['peak']):>12}")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.35, help="population multiplier (1 = the district, 240 ≈ Hunan); default 0.35")
    parser.add_argument("--years", default="2019-2024", help="years to generate and load, e.g. 2020-2024 (default %(default)s)")
    parser.add_argument("--areas", type=Path, help="areas code list (default dbt/seeds/areas.csv), e.g. bench/areas_province.csv")
    parser.add_argument("--workdir", type=Path, help="working folder (default bench/out/<scale>_<years>_<areas>)")
    parser.add_argument("--seed", type=int, default=430502, help="generator seed (default %(default)s)")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the extracts even if the folder matches")
    parser.add_argument("--skip-pipeline", action="store_true",
                        help="measure plain DuckDB only (the pipeline's figures of an earlier run on the same extracts are kept)")
    parser.add_argument("--skip-duckdb", action="store_true",
                        help="measure the pipeline only (plain DuckDB's figures of an earlier run on the same extracts are kept)")
    parser.add_argument("--interval", type=float, default=0.2, help="memory sampling interval in seconds (default 0.2)")
    args = parser.parse_args(argv)
    areas_name = args.areas.stem if args.areas else "district"
    workdir = (args.workdir or HERE / "out" / f"{args.scale:g}_{args.years}_{areas_name}").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    raw = workdir / "raw"

    project, areas_note = prepare_project(args.areas, workdir)
    generated = ensure_data(args, raw, args.interval)
    rows = input_rows(raw)
    areas = read_areas(project / "dbt" / "seeds" / "areas.csv")
    townships = sum(r["level"] == "township" for r in areas)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    report: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "scale": args.scale, "years": args.years,
                    "areas": areas_note, "townships": townships, "input_rows": rows, "cpus": os.cpu_count(),
                    "memory_bytes": memory, "workdir": str(workdir), "generate": generated}
    print(f"benchmark {report['date']}: scale {args.scale:g}, years {args.years}, areas {areas_note} "
          f"({townships:,} townships), {rows:,} input rows; {os.cpu_count()} CPUs, {mib(memory)} RAM; workdir {workdir}")
    if generated.get("reused"):
        print("generate: reused the extracts already in the workdir")
        if "wall" in generated:
            print(f"(generated {generated.get('measured', '?')}: {generated['wall']:.1f} s wall, "
                  f"{generated['cpu']:.1f} s CPU, peak {mib(generated['peak'])})")
    else:
        print(f"generate: {generated['wall']:.1f} s wall, {generated['cpu']:.1f} s CPU, peak {mib(generated['peak'])}")

    # A province run takes hours: the two engines may be measured in separate invocations. A skipped
    # engine's figures from an earlier run on the very same extracts are carried over (and say when).
    earlier = earlier_results(workdir / "benchmark.json", report)
    print(f"\n{'engine':<9}{'stage':<14}{'wall s':>9}{'cpu s':>9}{'rows/s':>12}{'peak RSS':>12}")
    totals = {}
    if args.skip_pipeline and "pipeline" in earlier:
        report["pipeline"] = earlier["pipeline"]
        print(f"(pipeline: figures of the run of {earlier['pipeline']['measured']})")
        totals["pipeline"] = print_engine("pipeline", report["pipeline"], rows)
    if not args.skip_pipeline:
        pipeline = run_pipeline(project, raw, workdir, args.interval)
        report["pipeline"] = {**pipeline, "measured": report["date"]}
        totals["pipeline"] = print_engine("pipeline", pipeline, rows)
        if pipeline["exit_code"] != 0:
            print(f"pipeline: run FAILED (exit {pipeline['exit_code']}; failed steps: "
                  f"{', '.join(pipeline['failed_steps']) or '?'}); see {workdir / 'pipeline' / 'run.log'}")
    if not args.skip_duckdb:
        duck = run_duckdb(project, raw, workdir, args.interval)
        report["duckdb"] = {**duck, "measured": report["date"]}
        totals["duckdb"] = print_engine("duckdb", duck, rows)
        if duck["exit_code"] != 0:
            print(f"duckdb: reference FAILED (exit {duck['exit_code']}); see {workdir / 'duckdb' / 'run.log'}")
    elif "duckdb" in earlier:
        report["duckdb"] = earlier["duckdb"]
        print(f"(duckdb: figures of the run of {earlier['duckdb']['measured']})")
        totals["duckdb"] = print_engine("duckdb", report["duckdb"], rows)
    if "pipeline" in report:
        slowest = sorted(report["pipeline"]["steps"].items(), key=lambda kv: -kv[1])[:8]
        print("\nslowest pipeline steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    (workdir / "benchmark.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    print(f"details: {workdir / 'benchmark.json'}")
    # a ratio only between two complete runs: a failed engine's time says nothing
    if len(totals) == 2 and all(report[e]["exit_code"] == 0 for e in ("pipeline", "duckdb")):
        report["ratio"] = totals["pipeline"] / totals["duckdb"]
        (workdir / "benchmark.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
        print(f"pipeline/duckdb ratio: {report['ratio']:.2f}")
    return 0 if all(report.get(e, {}).get("exit_code", 0) == 0 for e in ("pipeline", "duckdb")) else 1


if __name__ == "__main__":
    sys.exit(main())
