"""python -m dagster_project.report [--year YYYY]: write the annual monitoring report."""
from __future__ import annotations

import argparse
import sys

from dagster_project.config import get_settings
from dagster_project.report import write_annual_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.report", description=__doc__)
    parser.add_argument("--year", type=int, default=None, help="统计期年份 period year (default: the latest with values)")
    args = parser.parse_args(argv)
    path = write_annual_report(get_settings(), args.year)
    print(f"年度监测报告 annual report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
