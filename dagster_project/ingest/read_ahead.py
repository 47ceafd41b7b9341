"""Reading the next file of an extract while the current one is written to DuckDB.

Loading a file is two kinds of work: reading it and running the row rules (polars, no database), then
writing it (DuckDB: staging, whole-file rules, one transaction). Both release the GIL for most of their
time, so `loader.load_files` hands the first kind for file N+1 to a helper thread while the main thread
writes file N, and both cores work (on the sample's 121 small files, the ingestion steps went from
16.7 s to 14.1 s).

What is read ahead is only a head start, never a decision: the loader still makes every check against
the ledger, then uses the hash, header and batches as if it had just read them itself. Anything that goes
wrong ahead (an unreadable file, a rule that raises) is dropped, and the loader meets it again on its own,
reporting it exactly as without read-ahead. Memory stays bounded: at most one file is held
ahead, and only files up to READ_AHEAD_MAX_BYTES; larger ones only get their hash computed ahead.
"""
from __future__ import annotations

from dataclasses import dataclass

from dagster_project.contracts import Contracts
from dagster_project.ingest.discovery import DroppedFile, sha256_of
from dagster_project.ingest.headers import header_matcher, map_headers
from dagster_project.ingest.reader import OpenedTable, open_table
from dagster_project.ingest.rules import RuleResult, apply_rules

# A district's files are far below this; a province's are read batch by batch at load time instead.
READ_AHEAD_MAX_BYTES = 32 * 1024 * 1024


@dataclass
class ReadAhead:
    """A file's SHA-256 and, for a small readable file, its batches read and row rules run."""

    sha256: str
    opened: OpenedTable | None = None        # replays the batches read ahead, as `open_table` gives them
    rules: list[RuleResult] | None = None    # the row rules' result for each batch, in order (only with `opened`)


def read_ahead(dropped: DroppedFile, contracts: Contracts, current_sha256: frozenset[str]) -> ReadAhead | None:
    """The file-only part of loading `dropped`; `current_sha256`: content already loaded (not read again)."""
    extract = dropped.extract
    if extract is None or dropped.blocked:
        return None
    try:
        sha = sha256_of(dropped.path)
        if sha in current_sha256 or dropped.path.stat().st_size > READ_AHEAD_MAX_BYTES:
            return ReadAhead(sha)
        with open_table(dropped.path, sheet_hint=extract.name, header_matcher=header_matcher(extract)) as opened:
            mapping = map_headers(extract, opened.header)
            batches = [table for table, _ in opened.batches()]
        rules = None  # a file missing a required column is rejected whole: no row rules
        if not mapping.missing_required:
            rules = [apply_rules(extract, table, mapping, contracts, dropped.period_year) for table in batches]
    except Exception:  # noqa: BLE001 - the loader reads the file again and reports what is wrong with it
        return None
    last = len(batches) - 1
    replay = OpenedTable(dropped.path, opened.header, opened.header_row, opened.encoding, opened.file_format,
                         list(opened.notes), lambda: iter([(t, i == last) for i, t in enumerate(batches)]),
                         opened.sheet_name)
    return ReadAhead(sha, replay, rules)
