"""Yearly partitions of the extracts.

Every extract whose file name carries a year (`births_2023.csv`) is partitioned by that year, from 2015 to
the current year (`YEARLY_PARTITIONS`); a partition loads only its year's files. The first partition also
takes older files and the last one later files, so no file is ever left out. Extracts without a year in the
name (`grade_history.csv`) are not partitioned. Backfills run as one run (`BackfillPolicy.single_run()`),
and `python -m dagster_project.cli run` runs the years of the raw folder in one run (`raw_dir_range_tags()`).
"""
from __future__ import annotations

from dagster import BackfillPolicy, TimeWindowPartitionsDefinition

from dagster_project.config import get_settings
from dagster_project.contracts import Extract, load_contracts
from dagster_project.ingest.discovery import discover

FIRST_YEAR = 2015
TIMEZONE = "Asia/Shanghai"
YEARLY_PARTITIONS = TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR), fmt="%Y", cron_schedule="0 0 1 1 *", timezone=TIMEZONE,
    end_offset=1,  # the current year is a partition too (a school year starting this autumn, a correction)
)
SINGLE_RUN_BACKFILL = BackfillPolicy.single_run()
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

def is_partitioned(extract: Extract) -> bool:
    """Extracts whose file names carry a year are partitioned by it."""
    return "{year}" in extract.file_pattern


def last_partition_year() -> int:
    return int(YEARLY_PARTITIONS.get_last_partition_key())


def partition_key_for_year(year: int) -> str:
    """The partition that loads a file of `year`: years before 2015 go to 2015, later ones to the last."""
    return str(min(max(year, FIRST_YEAR), last_partition_year()))


def years_filter(first_key: str, last_key: str):
    """Predicate on a file's year: is it loaded by the partitions first_key..last_key?"""
    first, last = int(first_key), int(last_key)
    open_below = first <= FIRST_YEAR
    open_above = last >= last_partition_year()

    def wanted(year: int | None) -> bool:
        if year is None:
            return True
        return (open_below or year >= first) and (open_above or year <= last)

    return wanted


def full_range_tags() -> dict[str, str]:
    """Run tags selecting every yearly partition in one run."""
    return {RANGE_START_TAG: str(FIRST_YEAR), RANGE_END_TAG: str(last_partition_year())}


def raw_dir_range_tags() -> dict[str, str]:
    """Run tags selecting, in one run, the partitions of every year that has a file in MONITOR_RAW_DIR.

    What `cli run` uses: it loads every file (years outside 2015..now go to the first or last
    partition), and only the years that have data are marked materialized.
    """
    years = {int(partition_key_for_year(d.period_year))
             for d in discover(get_settings().raw_dir, load_contracts()) if d.extract and d.period_year is not None}
    if not years:
        return {RANGE_START_TAG: str(last_partition_year()), RANGE_END_TAG: str(last_partition_year())}
    return {RANGE_START_TAG: str(min(years)), RANGE_END_TAG: str(max(years))}
