"""Dagster's SQLite event log, with one pooled engine per database file instead of one per write.

Dagster's `SqliteEventLogStorage` creates a SQLAlchemy engine, connects, commits and disposes the
engine for every event it stores, two or three times for an asset event (the run's file, then the
index file). A run of our pipeline stores about a thousand events: that was 7-8 s of a one-minute
`make run`, most of it engine set-up. This subclass keeps the engines (an LRU of the most
recently used files, so a long-lived webserver reading many runs does not keep them all open) and
otherwise stores exactly what the parent stores, in the same files: an instance can switch between
the two classes and keep its history.

Configured in dagster.yaml by `lib/dagster_instance.ensure_dagster_home` (`event_log_storage`); the module must
be importable by every Dagster process (`make dagster-ui` puts the project root on PYTHONPATH).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sql import create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from dagster_project.permissions import private

# A run writes its own file and the index; a webserver reads a few runs at a time.
MAX_OPEN_SHARDS = 8


def _commit_without_fsync(dbapi_connection, _record) -> None:
    # In WAL mode (Dagster's files, once initialised) synchronous=NORMAL lets a commit return without
    # waiting for the disk and keeps the file consistent: only a power cut, not a crashed process, may
    # lose the last events. Outside WAL mode it could corrupt the file, so it is left alone there.
    if dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one engine (and its pooled connection) per shard file."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # the parent's builds its own class
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = create_engine(self.conn_string_for_shard(shard),
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            event.listen(engine, "connect", _commit_without_fsync)
            self._engines[shard] = engine
            while len(self._engines) > MAX_OPEN_SHARDS:
                _, evicted = self._engines.popitem(last=False)
                evicted.dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Same locking, lazy creation of the file and transaction as the parent's `_connect`.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
                engine.dispose()  # a connection opened before the file was in WAL mode is not reused
                # Private whichever process created it (`dagster job launch` from a shell with umask 022 writes
                # the first event of the runs it queues); SQLite gives a WAL created later the file's mode.
                db_file = self.path_for_shard(shard)
                for part in (db_file, f"{db_file}-wal", f"{db_file}-shm"):
                    private(Path(part))
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def has_table(self, table_name: str) -> bool:
        # asked for every asset check event (`supports_asset_checks`); the parent builds an engine each time
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._dispose_engines()  # the files are deleted: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
