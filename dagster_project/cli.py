"""Command line of the monitoring warehouse.

  python -m dagster_project.cli run        run the whole pipeline once (what `make run` does)
  python -m dagster_project.cli status     files loaded, rows quarantined, per extract
  python -m dagster_project.cli sql "..."  query the analysts' database read-only
"""
from __future__ import annotations

import argparse
import sys
import time

from dagster_project.config import ConfigurationError, get_settings


def _dagster_instance():
    from dagster import DagsterInstance

    from dagster_project.operations import ensure_dagster_home

    ensure_dagster_home()
    return DagsterInstance.get()


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.hmac_key()  # refuse to start before any work if the key is missing outside development
    started = time.perf_counter()
    from dagster_project.definitions import defs

    job = defs.resolve_job_def("monitoring_job")
    result = job.execute_in_process(instance=_dagster_instance(), raise_on_error=False)
    elapsed = time.perf_counter() - started
    _print_summary(settings)
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\n运行失败 / run FAILED in steps: {', '.join(failed)} ({elapsed:.1f}s)", file=sys.stderr)
        return 1
    from dagster_project.publish import readonly_hint

    print(f"\n完成 / done in {elapsed:.1f}s")
    print(f"分析库 analysts' database: {settings.published_db}")
    print(f"导出 exports: {settings.exports_dir}")
    print(readonly_hint(settings.published_db))
    return 0


def _print_summary(settings) -> None:
    import duckdb

    if not settings.work_db.exists():
        return
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        rows = con.execute(
            "SELECT coalesce(extract, '(未识别 unrecognised)'), count(*) FILTER (WHERE is_current), "
            "sum(rows_read) FILTER (WHERE is_current), sum(rows_loaded) FILTER (WHERE is_current), "
            "sum(rows_quarantined) FILTER (WHERE is_current), count(*) FILTER (WHERE status = 'rejected') "
            "FROM audit.file_loads GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    print(f"\n{'报表 extract':<22}{'文件 files':>11}{'读取 read':>12}{'入库 loaded':>13}{'隔离 quarantined':>18}{'拒收 rejected':>15}")
    for name, files, read, loaded, quarantined, rejected in rows:
        print(f"{name:<22}{files:>11}{read or 0:>12}{loaded or 0:>13}{quarantined or 0:>18}{rejected:>15}")


def cmd_status(args: argparse.Namespace) -> int:
    _print_summary(get_settings())
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from dagster_project.publish import open_published_readonly

    con = open_published_readonly(get_settings().published_db)
    try:
        print(con.sql(args.query))
    finally:
        con.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the whole pipeline once").set_defaults(func=cmd_run)
    sub.add_parser("status", help="print the load ledger summary").set_defaults(func=cmd_status)
    sql = sub.add_parser("sql", help="query the analysts' database read-only")
    sql.add_argument("query")
    sql.set_defaults(func=cmd_sql)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as err:
        print(f"配置错误 / configuration error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
