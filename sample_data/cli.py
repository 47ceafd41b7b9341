"""Command line: python -m sample_data [options]."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from dagster_project.config import get_settings
from sample_data.options import (
    DEFAULT_SEED,
    DEFAULT_YEARS,
    EXTRACT_ORDER,
    SAMPLE_SCALE,
    Options,
    parse_years,
)
from sample_data.runner import main_generate


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sample_data",
        description="Write realistic, reproducible department extracts (with documented defects) for the "
                    "Shuangqing women's and children's monitoring warehouse.",
    )
    p.add_argument("--out", type=Path, help="output folder (default: MONITOR_RAW_DIR, i.e. raw/)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--years", default=f"{DEFAULT_YEARS[0]}-{DEFAULT_YEARS[-1]}",
                   help="years to generate, e.g. 2019-2024 or 2020,2023 (default %(default)s)")
    p.add_argument("--scale", type=float, default=None,
                   help="population multiplier: 1.0 = the real district (~280,000 residents); "
                        "240 ≈ a province (default 1.0, or the sample scale with --sample)")
    p.add_argument("--clean", action="store_true", help="no defects at all")
    p.add_argument("--defect-rate", type=float, default=1.0,
                   help="multiplier of the documented default defect rates (default 1.0)")
    p.add_argument("--manifest", type=Path, help="manifest path (default <out>/_generator/manifest.json)")
    p.add_argument("--areas", type=Path,
                   help="areas CSV (default dbt/seeds/areas.csv); its rows of level 'township' are populated")
    p.add_argument("--extracts", help=f"comma-separated subset of: {', '.join(EXTRACT_ORDER)}")
    p.add_argument("--sample", action="store_true",
                   help=f"the committed sample: scale {SAMPLE_SCALE}, default seed and years, with defects")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="worker processes writing files in parallel (default: the number of CPUs, %(default)s); "
                        "the output does not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    scale = args.scale if args.scale is not None else (SAMPLE_SCALE if args.sample else 1.0)
    if scale <= 0:
        raise SystemExit("--scale must be positive")
    options = Options(
        out=(args.out or get_settings().raw_dir).resolve(),
        seed=args.seed,
        years=parse_years(args.years),
        scale=scale,
        clean=args.clean,
        defect_rate=args.defect_rate,
        manifest=args.manifest,
        areas=args.areas,
        extracts=[e.strip() for e in args.extracts.split(",")] if args.extracts else None,
        quiet=args.quiet,
        jobs=max(1, args.jobs),
    )
    return main_generate(options)
