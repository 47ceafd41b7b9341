"""Publish the analysts' database by atomic replacement.

The pipeline writes only to work.duckdb. When a run has passed its gates, the
marts, dimensions and audit tables are copied into a new file next to the
published one, which is flushed and then renamed over `monitoring.duckdb`
(rename is atomic on POSIX). An analyst who opened the old file keeps reading
that snapshot (its inode lives on until closed); the next connection sees the
new one. No reader ever sees a half-built database, and no reader can block
the pipeline, because the pipeline never writes the published file in place.
Person-level tables (even pseudonymised) stay in the working database.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import duckdb

from dagster_project.config import Settings

# schema in work.duckdb -> schema in monitoring.duckdb
PUBLISHED_SCHEMAS = {"main_marts": "marts", "audit": "audit"}


def open_published_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """How analysts should open the warehouse: read-only, no access to other files or the network."""
    return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})


def readonly_hint(path: Path) -> str:
    return (
        f"分析人员只读打开 / open read-only:\n"
        f"  duckdb -readonly {path}\n"
        f"  python -c \"from dagster_project.publish import open_published_readonly as o; "
        f"print(o(__import__('pathlib').Path('{path}')).sql('select * from marts.fct_indicator_values limit 5'))\""
    )


def publish(settings: Settings, run_id: str = "") -> dict:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    target = settings.published_db
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    copied: dict[str, int] = {}
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"ATTACH '{settings.work_db}' AS work (READ_ONLY)")
            tables = con.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "WHERE table_catalog = 'work' AND table_schema IN (SELECT unnest(?)) ORDER BY 1, 2",
                [list(PUBLISHED_SCHEMAS)],
            ).fetchall()
            for src_schema, name, _type in tables:
                dst_schema = PUBLISHED_SCHEMAS[src_schema]
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{dst_schema}"')
                con.execute(f'CREATE TABLE "{dst_schema}"."{name}" AS SELECT * FROM work."{src_schema}"."{name}"')
                copied[f"{dst_schema}.{name}"] = con.execute(f'SELECT count(*) FROM "{dst_schema}"."{name}"').fetchone()[0]
            con.execute("CREATE SCHEMA IF NOT EXISTS meta")
            con.execute(
                "CREATE TABLE meta.publication AS SELECT ?::VARCHAR AS run_id, ?::TIMESTAMP AS published_at, "
                "?::VARCHAR AS note",
                [run_id, dt.datetime.now().replace(microsecond=0),
                 "快照：只读发布，个人级数据不在此库 / read-only snapshot; no person-level data"],
            )
            con.execute("DETACH work")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return copied
