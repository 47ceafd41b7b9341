"""The file-drop sensor: one run per new or changed file of MONITOR_RAW_DIR, for that file's year partition.

Its cursor remembers each file's (mtime, size, sha256, version), so only touched files are hashed again.
Exactly one run is requested per new or changed file; a touched but unchanged file starts nothing, and
neither do the same bytes appearing under a new name for the same extract and year (a rename or a copy). A
file modified within the last `MONITOR_SENSOR_SETTLE_SECONDS` (default 30) is left for the next tick: it may
still be being copied. Every run requested also evaluates every extract's blocking quality check, so a
period that failed its gate stays withheld (its figures unpublished) until fixed.

It runs by default (`DefaultSensorStatus.RUNNING`) wherever the Dagster daemon runs (`make serve`).
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass

from dagster import (
    AssetCheckKey,
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from dagster_project.config import get_settings
from dagster_project.contracts import load_contracts
from dagster_project.defs.ingestion.partitions import partition_key_for_year
from dagster_project.ingest.discovery import discover, identify, sha256_of

SETTLE_SECONDS_ENV = "MONITOR_SENSOR_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 30.0


@dataclass(frozen=True)
class FileChange:
    relative: str            # DroppedFile.key: stored in Dagster's run tags and run keys, so never an ID number
    sha256: str
    extract: str | None      # None: the name matches no template (or a link out of the raw folder)
    period_year: int | None
    version: int             # how many times this path's content has changed (run key part)

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(["raw", self.extract or "file_inventory"])

    @property
    def partition_key(self) -> str | None:
        if self.extract is None or self.period_year is None:
            return None
        return partition_key_for_year(self.period_year)


def _settle_seconds() -> float:
    try:
        return float(os.environ.get(SETTLE_SECONDS_ENV, DEFAULT_SETTLE_SECONDS))
    except ValueError:
        return DEFAULT_SETTLE_SECONDS


def scan_raw_dir(previous: dict[str, list], now: float | None = None,
                 settle_seconds: float | None = None) -> tuple[dict[str, list], list[FileChange]]:
    """Return the new cursor and the files that are new or changed since `previous`.

    Cursor: relative path (`DroppedFile.key`: an ID number in a name masked) -> [mtime_ns, size, sha256,
    version]. A file is hashed only when its mtime or size moved. Not a change: the same bytes as before (touched), and a new path holding
    bytes that another path of the same extract, year and department held at the previous scan
    (renamed or copied). A file modified less than `settle_seconds` ago is skipped for now.
    """
    settings = get_settings()
    now = time.time() if now is None else now
    settle = _settle_seconds() if settle_seconds is None else settle_seconds
    contracts = load_contracts()
    files = discover(settings.raw_dir, contracts)
    # Partitions with several files: there a touch (a newer modification time, the same bytes) can make a
    # file the newest, hence the current one (ingest/file_choice.py), so it is a change.
    files_in = Counter(d.partition for d in files if d.extract is not None and not d.blocked)
    # (bytes, partition) held by some path at the previous scan; the path may be gone (renamed)
    known = {(entry[2], identify(settings.raw_dir / rel, settings.raw_dir, contracts).partition)
             for rel, entry in previous.items()}
    cursor: dict[str, list] = {}
    changes: list[FileChange] = []
    for dropped in files:
        try:
            st = dropped.path.lstat() if dropped.blocked else dropped.path.stat()
        except OSError:
            continue  # vanished since it was listed
        seen = previous.get(dropped.key)
        if seen and seen[0] == st.st_mtime_ns and seen[1] == st.st_size:
            cursor[dropped.key] = seen
            continue
        if now - st.st_mtime < settle:
            if seen:
                cursor[dropped.key] = seen  # still being written: decide at a later tick
            continue
        try:
            sha = (f"blocked-{dropped.blocked}" if dropped.blocked else sha256_of(dropped.path))
        except OSError:
            continue
        version = seen[3] if seen and len(seen) > 3 else 0
        if seen and seen[2] == sha and files_in[dropped.partition] < 2:
            cursor[dropped.key] = [st.st_mtime_ns, st.st_size, sha, version]  # touched, not changed
            continue
        if not seen and (sha, dropped.partition) in known:
            cursor[dropped.key] = [st.st_mtime_ns, st.st_size, sha, version]  # renamed or copied
            continue
        version += 1
        cursor[dropped.key] = [st.st_mtime_ns, st.st_size, sha, version]
        known.add((sha, dropped.partition))  # two new copies in one tick: one run
        changes.append(FileChange(dropped.key, sha, dropped.extract.name if dropped.extract else None,
                                  dropped.period_year, version))
    return cursor, changes


def run_request_for(change: FileChange, downstream_keys: list[AssetKey],
                    check_keys: list[AssetCheckKey]) -> RunRequest:
    return RunRequest(
        # One run per (content, path, change number): Dagster never launches a run key twice, even if
        # a tick fails after launching and before saving its cursor.
        run_key=f"{change.sha256}:{change.relative}:{change.version}",
        partition_key=change.partition_key,
        asset_selection=[change.asset_key, *downstream_keys],
        asset_check_keys=list(check_keys),
        tags={"monitor/source_file": change.relative, "monitor/sha256": change.sha256,
              "monitor/trigger": "raw_file_sensor"},
    )


def build_raw_file_sensor(job, downstream_keys: list[AssetKey], check_keys: list[AssetCheckKey] | None = None):
    """`check_keys`: the blocking quality checks every run evaluates (all extracts' checks)."""
    check_keys = list(check_keys or [])

    @sensor(
        job=job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,  # unattended by default (make serve runs the daemon)
        description="报送文件目录监听：每个新增或变更的文件（按sha256识别）触发一次运行，只加载该文件所属年份分区。",
    )
    def raw_file_sensor(context: SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        cursor, changes = scan_raw_dir(previous)
        requests = [run_request_for(change, downstream_keys, check_keys) for change in changes]
        for change in changes:
            context.log.info(f"{change.relative} (sha256 {change.sha256[:12]}) → partition {change.partition_key}")
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        return requests or SkipReason("没有新的或变更的文件 / no new or changed files")

    return raw_file_sensor
