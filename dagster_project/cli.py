"""Command line of the monitoring warehouse.

  python -m dagster_project.cli run        run the whole pipeline once, every year partition in one run
                                           (what `make run` does); exit 0 when published - completely or
                                           partially, figures whose inputs are missing being withheld -,
                                           1 when the run failed, 3 with --fail-on-withheld if any figure
                                           of the latest year is withheld, 4 when another run is in
                                           progress (`--wait SECONDS` waits for it that long first)
  python -m dagster_project.cli status     files loaded and quarantined per extract, the published
                                           snapshot, recent failed-run alerts
  python -m dagster_project.cli sql "..."  query the analysts' database read-only (--csv, --out FILE)
  python -m dagster_project.cli shell      the analysts' SQL shell (what `make sql` opens)
  python -m dagster_project.cli serve      unattended operation (what `make serve` does): the Dagster daemon
                                           (file-drop sensor, annual schedule, alerts, run queue) and the UI
  python -m dagster_project.cli docs       build the data dictionary (dbt docs, one offline HTML file)
                                           into $MONITOR_EXPORTS_DIR/data_dictionary/
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from dagster_project import database
from dagster_project.config import ConfigurationError, get_settings
from dagster_project.permissions import restrict_umask, share, shared_dir
from dagster_project.run_lock import Holder, RunLock, RunLockBusy, current_holder

RECENT_ALERTS = 5
# Exit status of `run`: 0 published (complete, or partial: some figures withheld because their inputs are
# missing, which is a normal state); 1 the run failed and nothing new was published; 2 configuration error;
# 3 only with --fail-on-withheld: published, but figures of the latest year are withheld; 4 another run is in
# progress (nothing was done; retry later).
EXIT_PARTIAL = 3
EXIT_BUSY = 4


def _dagster_instance():
    from dagster import DagsterInstance

    from dagster_project.lib.dagster_instance import ensure_dagster_home

    ensure_dagster_home()
    return DagsterInstance.get()


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.hmac_key()  # refuse to start before any work if the key is missing outside development
    # The run lock comes before anything else (Dagster's instance, leftovers, the working database): a second
    # run must not even tidy up after the first. Dagster is not imported yet, so refusing takes a moment.
    run_id = str(uuid.uuid4())
    lock = RunLock(settings.data_dir)
    try:
        lock.acquire(Holder.this_process(run_id, "cli"), wait_seconds=args.wait, on_wait=_print_waiting(args.wait))
    except RunLockBusy as busy:
        print(busy.message(), file=sys.stderr)
        return EXIT_BUSY
    try:
        return _run_locked(args, settings, run_id)
    finally:
        lock.release()


def _print_waiting(seconds: float):
    def tell(holder: Holder | None) -> None:
        what_zh = holder.describe_zh() if holder else "另一次运行"
        what_en = holder.describe_en() if holder else "another run"
        print(f"等待{what_zh}结束（最多 {seconds:.0f} 秒）/ waiting up to {seconds:.0f} s for {what_en} to finish",
              file=sys.stderr, flush=True)
    return tell


def _run_locked(args: argparse.Namespace, settings, run_id: str) -> int:
    started = time.perf_counter()
    import warnings

    # Dagster's notices about its own beta APIs (printed at import) are for us, not for the clerk
    warnings.filterwarnings("ignore", message=r".*is currently in beta.*")
    from dagster_project.definitions import defs
    from dagster_project.defs.automation.alerts import alert_record, write_alert
    from dagster_project.defs.automation.run_recovery import process_tags, recover_abandoned_runs
    from dagster_project.defs.ingestion.partitions import raw_dir_range_tags
    from dagster_project.publication_summary import format_summary
    from dagster_project.publish import read_publication, readonly_hint, remove_leftovers

    instance = _dagster_instance()
    # A run killed earlier (SIGKILL, power cut) left its run "started" and its writer slot claimed:
    # without this the next run would wait for that slot forever.
    for abandoned in recover_abandoned_runs(instance):
        print(f"前一次运行 {abandoned} 的进程已不存在，已标记为失败 / abandoned run {abandoned} marked failed",
              file=sys.stderr)
    for leftover in remove_leftovers(settings.published_db):
        print(f"已清理上次中断留下的临时文件 / removed leftover {leftover.name}", file=sys.stderr)

    from dagster_project.run_console import file_logger, library_warnings_to, progress_logger, run_log_path, stage_sizes

    job = defs.resolve_job_def("monitoring_job")
    # The console gets one line per stage, the full Dagster log goes to a file (run_console.py).
    log_path = run_log_path(settings.data_dir, run_id)
    loggers = {"progress": progress_logger, "file": file_logger}
    if args.verbose:
        from dagster import colored_console_logger

        loggers["console"] = colored_console_logger
    run_config = {"loggers": {"progress": {"config": {"stages": stage_sizes([n.name for n in job.graph.nodes])}},
                              "file": {"config": {"path": str(log_path)}}}}
    if args.verbose:  # as Dagster's default console: every event, DEBUG included
        run_config["loggers"]["console"] = {"config": {"log_level": "DEBUG"}}
    job = job.with_logger_defs(loggers)
    if not args.verbose:
        library_warnings_to(log_path)
    tags = {**raw_dir_range_tags(), **process_tags(), "monitor/trigger": "cli"}
    # Dagster 1.13 records a "planned" event per partition for every asset of a range run (dbt models
    # included): with one event per asset instead, starting the run takes seconds, not a minute.
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    before = (read_publication(settings.published_db) or {}).get("publication_id")
    result = job.execute_in_process(run_config=run_config, instance=instance, tags=tags, raise_on_error=False,
                                    run_id=run_id)
    elapsed = time.perf_counter() - started
    _print_summary(settings)
    _print_blocking_findings(settings)
    publication = read_publication(settings.published_db) or {}
    if not result.success:
        from dagster_project.run_console import step_failure_line

        failures = [e for e in result.all_events if e.is_step_failure and e.step_key]
        failed = sorted({e.step_key for e in failures})
        lines = list(dict.fromkeys(step_failure_line(e) for e in failures))
        write_alert(alert_record(result.dagster_run, failed, "\n".join(lines)))
        print(f"\n运行未完成：{len(failed)} 个步骤失败（{elapsed:.1f} 秒）/ the run did not complete: "
              f"{len(failed)} step(s) failed", file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        print("处理办法：上面列出的阻断性问题由报送部门更正；其他错误请把下面的日志交给数据仓库管理员。/ What to do: "
              "blocking findings above go to the sending department; for any other error send this log to the "
              "warehouse team.", file=sys.stderr)
        print(f"完整日志 full log: {log_path}", file=sys.stderr)
        if publication.get("publication_id") == before:
            print("分析库未更新，仍为上一次发布的快照 / the analysts' database was not replaced "
                  f"(publication {before}).", file=sys.stderr)
        return 1
    summary = _publication_summary(settings)
    if summary is not None:
        print("\n" + format_summary(summary))
    changes = _changes_line(settings)
    if changes:
        print(changes)
    print(f"\n完成 / done in {elapsed:.1f}s")
    print(f"完整日志 full log: {log_path} (`--verbose` prints it here too)")
    print(f"分析库 analysts' database: {settings.published_db} (publication {publication.get('publication_id')})")
    print(f"导出 exports: {settings.exports_dir}")
    for folder, what in (("reports", "年度监测报告、终期监测报告、统计资料（公开/内部使用） annual report, final evaluation, "
                                     "statistical compendium (public / internal)"),
                         ("submissions", "省级报送 provincial submission (LATEST)"),
                         ("feedback", "各部门反馈 department feedback"), ("quality", "数据质量 quality docs")):
        if (settings.exports_dir / folder).exists():
            print(f"  {folder + '/':<13} {what}")
    for line in _compendium_lines(settings):
        print(line)
    warnings_line = _warnings_line(settings)
    if warnings_line:
        print(warnings_line)
    print("数据字典 data dictionary: `make docs` → " + str(settings.exports_dir / "data_dictionary" / "index.html"))
    print(readonly_hint(settings.published_db))
    if summary is not None and summary.is_partial and args.fail_on_withheld:
        return EXIT_PARTIAL
    return 0


def _compendium_lines(settings) -> list[str]:
    """Where the latest statistical compendium is, and why its PDF is missing if it is."""
    from dagster_project.report.compendium import EDITION_NAMES, NAME
    from dagster_project.report.pdf import chromium_path, missing_chromium_message

    htmls = sorted(settings.reports_dir.glob(f"{EDITION_NAMES['public']}_{NAME}_*.html"))
    if not htmls:
        return []
    year = htmls[-1].stem.rsplit("_", 1)[-1]
    lines = [f"统计资料 compendium: reports/{{{','.join(EDITION_NAMES.values())}}}_{NAME}_{year}.{{xlsx,html,pdf}}"]
    if not htmls[-1].with_suffix(".pdf").exists():
        lines.append("  " + (missing_chromium_message(htmls[-1]) if chromium_path() is None
                             else "PDF 未生成，原因见运行日志 / no PDF: see the run log"))
    return lines


def _warnings_line(settings) -> str | None:
    """How many district warnings the latest year has (marts.rpt_early_warnings), as one line."""
    import duckdb

    from dagster_project.publish import open_published_readonly

    if not settings.published_db.exists():
        return None
    con = open_published_readonly(settings.published_db)
    try:
        row = con.execute(
            "SELECT as_of_year, count(*) FILTER (WHERE area_level = 'county'), count(*) FILTER (WHERE area_level = 'township') "
            "FROM marts.rpt_early_warnings WHERE as_of_year = (SELECT max(as_of_year) FROM marts.rpt_early_warnings) "
            "GROUP BY as_of_year").fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    if row is None:
        return "预警 warnings: 无 none"
    return f"预警 warnings（{row[0]}年）: 全区 {row[1]} 项，乡镇 {row[2]} 项 / district {row[1]}, townships {row[2]} (见年度监测报告)"


def _changes_line(settings) -> str | None:
    """What changed since the previous publication (meta.publication_changes of the published database)."""
    from dagster_project.publication_changes import format_changes, read_changes
    from dagster_project.publish import open_published_readonly

    if not settings.published_db.exists():
        return None
    con = open_published_readonly(settings.published_db)
    try:
        return format_changes(read_changes(con))
    finally:
        con.close()


def _publication_summary(settings):
    """What the latest publication holds and withholds (from the analysts' database), or None."""
    from dagster_project.publication_summary import read_summary
    from dagster_project.publish import open_published_readonly

    if not settings.published_db.exists():
        return None
    con = open_published_readonly(settings.published_db)
    try:
        return read_summary(con)
    finally:
        con.close()


def _ledger_rows(settings) -> tuple[list[tuple], str] | None:
    """The load ledger from work.duckdb, or from the published snapshot while a run holds the lock."""
    import duckdb

    from dagster_project.publish import open_published_readonly

    # Unrecognised files are counted from the raw folder (`_unrecognised_row`), not here: their ledger rows
    # are never current, so counting current loads said "0 files" while such files were there.
    query = (
        "SELECT extract, count(*) FILTER (WHERE is_current), "
        "sum(rows_read) FILTER (WHERE is_current), sum(rows_loaded) FILTER (WHERE is_current), "
        "sum(rows_quarantined) FILTER (WHERE is_current), count(*) FILTER (WHERE status = 'rejected') "
        "FROM audit.file_loads WHERE extract IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    if settings.work_db.exists():
        try:
            con = database.connect(str(settings.work_db), read_only=True)
        except duckdb.IOException:
            con = None  # a run is writing it
        if con is not None:
            try:
                return con.execute(query).fetchall(), "work.duckdb"
            except duckdb.CatalogException:
                return [], "work.duckdb"
            finally:
                con.close()
    if settings.published_db.exists():
        con = open_published_readonly(settings.published_db)
        try:
            return con.execute(query).fetchall(), "monitoring.duckdb (运行中，显示上次发布 / run in progress: last publication)"
        finally:
            con.close()
    return None


def _unrecognised_row(settings) -> tuple | None:
    """The summary line for files whose name matches no template, counted in the raw folder as it is now.

    Not from the ledger: it keeps a row for every unrecognised file ever seen, also after the file was
    renamed or removed, so its count would not be the number of such files waiting to be fixed."""
    from dagster_project.contracts import load_contracts
    from dagster_project.ingest.discovery import discover

    if not settings.raw_dir.is_dir():
        return None
    count = sum(1 for dropped in discover(settings.raw_dir, load_contracts()) if dropped.extract is None)
    return ("(未识别 unrecognised)", count, 0, 0, 0, 0) if count else None


def _print_summary(settings) -> None:
    found = _ledger_rows(settings)
    if found is None:
        return
    rows, source = found
    unrecognised = _unrecognised_row(settings)
    rows = [*rows, unrecognised] if unrecognised else rows
    print(f"\n{'报表 extract':<22}{'文件 files':>11}{'读取 read':>12}{'入库 loaded':>13}{'隔离 quarantined':>18}{'拒收 rejected':>15}"
          f"   [{source}]")
    for name, files, read, loaded, quarantined, rejected in rows:
        print(f"{name:<22}{files:>11}{read or 0:>12}{loaded or 0:>13}{quarantined or 0:>18}{rejected:>15}")


def _blocking_findings(settings):
    """The blocking findings from work.duckdb, or from the published snapshot while a run writes it; None
    when there is neither."""
    import duckdb

    from dagster_project.blocking_findings import read_blocking_findings
    from dagster_project.publish import open_published_readonly

    con = None
    if settings.work_db.exists():
        try:
            con = database.connect(str(settings.work_db), read_only=True)
        except duckdb.IOException:
            con = None  # a run is writing it
    if con is None and settings.published_db.exists():
        con = open_published_readonly(settings.published_db)
    if con is None:
        return None
    try:
        return read_blocking_findings(con)
    except duckdb.Error:
        return None
    finally:
        con.close()


def _print_blocking_findings(settings) -> None:
    from dagster_project.blocking_findings import format_findings

    findings = _blocking_findings(settings)
    if findings is not None:
        print("\n" + format_findings(findings))


def cmd_status(args: argparse.Namespace) -> int:
    from dagster_project.defs.automation.alerts import alerts_file, read_alerts
    from dagster_project.publish import read_publication

    settings = get_settings()
    running = current_holder(settings.data_dir)
    if running is not None:
        print(f"运行中 / in progress: {running.describe_zh()} / {running.describe_en()}")
    _print_summary(settings)
    _print_blocking_findings(settings)
    publication = read_publication(settings.published_db)
    if publication:
        print(f"\n分析库 published: {settings.published_db}\n  publication {publication.get('publication_id')} "
              f"run {publication.get('run_id')} at {publication.get('published_at')}")
        from dagster_project.publication_summary import format_summary

        summary = _publication_summary(settings)
        if summary is not None:
            print(format_summary(summary))
    else:
        print(f"\n分析库尚未发布 / nothing published yet at {settings.published_db}")
    alerts = read_alerts(args.alerts)
    if alerts:
        print(f"\n最近的运行失败告警 / recent failed-run alerts ({alerts_file()}):")
        for alert in reversed(alerts):
            steps = ", ".join(alert.get("failed_steps") or []) or "-"
            where = alert.get("source_file") or alert.get("partition") or ""
            print(f"  {alert.get('failed_at')}  run {alert.get('run_id', '')[:8]}  {where}  steps: {steps}")
            from dagster_project.run_console import one_line

            # one line per failed step (alerts written before issue 17 held Dagster's "Execution of step … failed")
            for line in (alert.get("message") or "").strip().splitlines()[:5]:
                if line.strip() and not line.startswith("Execution of step"):
                    print(f"      {one_line(line, 200)}")
    else:
        print("\n无运行失败告警 / no failed-run alerts")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """One query on the analysts' database: every column, up to --max-rows rows, or CSV (stdout or --out)."""
    import duckdb

    from dagster_project.publish import open_published_readonly

    path = get_settings().published_db
    if not path.exists():
        print(f"分析库不存在 / no analysts' database at {path}: 先运行 make run / run `make run` first", file=sys.stderr)
        return 2
    con = open_published_readonly(path)
    try:
        result = con.sql(args.query)
        if result is None:  # a statement without rows (SET, PRAGMA …)
            return 0
        if args.csv or args.out:
            frame = result.pl()
            if args.out:
                # utf-8 with a byte-order mark: Excel on Chinese Windows then opens it correctly
                out = Path(args.out)
                frame.write_csv(out, include_bom=out.suffix.lower() == ".csv")
                print(f"{frame.height:,} 行已写入 / rows written to {out}", file=sys.stderr)
            else:
                sys.stdout.write(frame.write_csv())
        else:
            result.show(max_rows=args.max_rows, max_width=100_000, max_col_width=args.max_col_width)
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"SQL 错误 / SQL error: {first}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"无法写入 / cannot write {args.out}: {err.strerror}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    """The analysts' SQL shell (`make sql`): DuckDB's command line, read-only, external access off."""
    from dagster_project.publish import shell_command

    path = get_settings().published_db
    if not path.exists():
        print(f"分析库不存在 / no analysts' database at {path}: 先运行 make run / run `make run` first", file=sys.stderr)
        return 2
    command = shell_command(path)
    os.execv(command[0], command)  # the shell replaces this process: its exit status is the command's


def cmd_serve(args: argparse.Namespace) -> int:
    from dagster_project.serve import serve

    return serve(args.host, args.port)


def cmd_docs(args: argparse.Namespace) -> int:
    """`dbt docs generate --static` against the working database, copied to the exports folder."""
    from dagster_project.config import DBT_PROJECT_DIR, export_dbt_env

    settings = get_settings()
    if not settings.work_db.exists():
        print(f"{settings.work_db} 不存在：请先运行流水线 / run the pipeline first (make run).", file=sys.stderr)
        return 1
    export_dbt_env(settings)
    dbt = Path(sys.executable).with_name("dbt")
    out = Path(args.out) if args.out else settings.exports_dir / "data_dictionary"
    shared_dir(settings.data_dir)
    with tempfile.TemporaryDirectory(prefix=".dbt_docs_", dir=settings.data_dir) as target:
        proc = subprocess.run(
            [str(dbt) if dbt.exists() else "dbt", "docs", "generate", "--static", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", target, "--log-path", target],
            capture_output=True, text=True,
        )
        page = Path(target) / "static_index.html"
        if proc.returncode != 0 or not page.exists():
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
            if "lock" in (proc.stdout + proc.stderr).lower():
                print("工作库正被运行中的流水线使用，请在运行结束后重试 / the pipeline is running; retry after it.",
                      file=sys.stderr)
            return 1
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / ".index.html.tmp"
        shutil.copyfile(page, tmp)
        tmp.replace(out / "index.html")
        for name in ("manifest.json", "catalog.json"):
            if (Path(target) / name).exists():
                shutil.copyfile(Path(target) / name, out / name)
    share(out)  # an export: readable by the analysts' group (permissions.py)
    print(f"数据字典 data dictionary: {out / 'index.html'} (opens offline in a browser)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline once",
                         description="Exit status: 0 published (complete or partial), 1 failed, 2 configuration error, "
                                     "3 with --fail-on-withheld when figures of the latest year are withheld, "
                                     "4 another run is in progress (nothing done).")
    run.add_argument("--verbose", action="store_true", help="print Dagster's full log on the console too")
    run.add_argument("--fail-on-withheld", action="store_true",
                     help="exit 3 when figures of the latest year are withheld (for schedulers that must alert)")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="if another run is in progress, wait for it at most this long (default 0: exit 4 at once)")
    run.set_defaults(func=cmd_run)
    status = sub.add_parser("status", help="load ledger, published snapshot, recent alerts")
    status.add_argument("--alerts", type=int, default=RECENT_ALERTS, help="how many recent alerts to show")
    status.set_defaults(func=cmd_status)
    sql = sub.add_parser("sql", help="query the analysts' database read-only")
    sql.add_argument("query")
    sql.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sql.add_argument("--out", metavar="FILE", help="write the result as CSV to FILE (utf-8 with BOM for Excel)")
    sql.add_argument("--max-rows", type=int, default=1000, help="rows shown in the table (default 1000)")
    sql.add_argument("--max-col-width", type=int, default=60, help="characters shown per column (default 60)")
    sql.set_defaults(func=cmd_sql)
    shell = sub.add_parser("shell", help="open the analysts' SQL shell (DuckDB, read-only; what `make sql` runs)")
    shell.set_defaults(func=cmd_shell)
    serve = sub.add_parser("serve", help="run unattended: Dagster daemon (sensor, schedule, alerts) and UI")
    serve.add_argument("--host", help="address of the UI (default $MONITOR_UI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port of the UI (default $MONITOR_UI_PORT or 3000)")
    serve.set_defaults(func=cmd_serve)
    docs = sub.add_parser("docs", help="build the data dictionary (dbt docs, static HTML)")
    docs.add_argument("--out", help="folder (default $MONITOR_EXPORTS_DIR/data_dictionary)")
    docs.set_defaults(func=cmd_docs)
    args = parser.parse_args(argv)
    restrict_umask()  # what the pipeline creates is private unless opened on purpose (permissions.py)
    try:
        return args.func(args)
    except ConfigurationError as err:
        print(f"配置错误 / configuration error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
