"""Which file is current when the raw folder holds several files for one extract and period.

A department that corrects its extract often drops the new file beside the old one, under another
name or in the other format (`births_2023.xlsx` and a corrected `births_2023.csv`, or `Births
2023.xlsx`, which names the same extract and period). Loading in name order would let whichever
name sorts last win, on every run, whatever was sent last. The rule instead (README, "Where to drop
department files"):

  * the most recently received file wins, "received" being the file's modification time in the
    raw folder; files received at the same time are decided by name (the first in name order wins);
  * the other files of the extract and period are not loaded: each gets a `superseded` ledger row
    naming the file that replaced it (loader.record_superseded), shown in the feedback workbook;
  * files holding exactly the same bytes as the chosen one are the same submission: they are handed
    to the loader in name order as before (the first is loaded, the others are recorded as
    `duplicate_file`), so the choice never depends on which copy's time is a tick later.

Touching a file (a newer modification time) makes it the newest; that is the way to bring back an
older file on purpose. A rerun with the same files makes the same choice, so it changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from dagster_project.ingest.discovery import DroppedFile, sha256_of


@dataclass
class FileChoice:
    load: list[DroppedFile] = field(default_factory=list)   # in the order given: files the loader is to process
    # (older file, the newer file chosen instead, the older file's SHA-256): recorded, not loaded
    superseded: list[tuple[DroppedFile, DroppedFile, str]] = field(default_factory=list)


def received_ns(dropped: DroppedFile) -> int:
    """When the file was received: its modification time (-1 if it vanished: it never wins)."""
    try:
        return dropped.path.stat().st_mtime_ns
    except OSError:
        return -1


def newest_first(files: list[DroppedFile]) -> list[DroppedFile]:
    """The files of one extract and period, the one that wins first."""
    return sorted(files, key=lambda d: (-received_ns(d), d.relative))


def choose_current(files: list[DroppedFile]) -> FileChoice:
    """Split `files` (as discovered) into the files to load and the older files of the same partition."""
    groups: dict[tuple, list[DroppedFile]] = defaultdict(list)
    for dropped in files:
        if dropped.extract is not None and not dropped.blocked:
            groups[dropped.partition].append(dropped)
    left_out: set[str] = set()
    choice = FileChoice()
    for group in groups.values():
        if len(group) < 2:
            continue
        ordered = newest_first(group)
        try:
            shas = {d.relative: sha256_of(d.path) for d in ordered}
        except OSError:
            continue  # a file vanished or is unreadable: the loader reports it; load the group as before
        newest = ordered[0]
        for older in ordered[1:]:
            if shas[older.relative] != shas[newest.relative]:
                choice.superseded.append((older, newest, shas[older.relative]))
                left_out.add(older.relative)
    choice.load = [d for d in files if d.relative not in left_out]
    return choice
