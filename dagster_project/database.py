"""Opening the working database: the one place that applies the pipeline's DuckDB settings."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster_project.config import duckdb_memory_limit
from dagster_project.permissions import private


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to a pipeline database, with the memory limit applied.

    The limit is SET after connecting rather than passed as connect-time config: DuckDB refuses a
    second in-process connection whose config differs from the open instance's (dbt's adapter opens
    its own), while SET changes the shared instance's limit whoever opened it.

    A database opened for writing is made private (0600, with its WAL): the working database holds
    person-level data, and the publication's staging copy is opened only to the analysts once complete
    (publish.py). The umask already makes a new file 0600; this also closes a file created before it.
    """
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only and str(path) != ":memory:":
        for part in (Path(path), Path(f"{path}.wal")):
            private(part)
    limit = duckdb_memory_limit().replace("'", "''")  # a setting, but quoted all the same
    con.execute(f"SET memory_limit = '{limit}'")
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of `con` inside one transaction: committed at the end, rolled back on any error. On its own
    cursor, so it never interferes with a transaction the caller may have open on `con`."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    finally:
        cur.close()
