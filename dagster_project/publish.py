"""Publish the analysts' database by atomic replacement.

The pipeline writes only to work.duckdb. When a run has built its marts (the
publishing asset depends on every mart; periods that failed a blocking quality
rule are left out of them, and the figures that need them are withheld, see
marts.fct_indicator_publication), the marts and dimensions
(`main_marts` → schema `marts`), the audit tables and findings (`audit`) and a
`meta.publication` row are copied into a new file next to the published one.
That file is checkpointed (no WAL), closed, made read-only (0440: the analysts'
group reads it, see permissions.py; while it is built it is 0600 like every
database the pipeline writes), flushed to disk and renamed over
`monitoring.duckdb` (rename is atomic on POSIX).

What a reader sees: a connection opened before the rename keeps reading the old
snapshot (its inode lives on until closed); a connection opened after it sees
the new one; there is no moment at which the path is missing or half-written,
and no reader can block the pipeline, which never writes the published file in
place. Person-level tables (even pseudonymised) stay in the working database:
a table with a person-identifier column is never published.

`meta.publication` says which snapshot a reader has: `publication_id`, the run,
the time, the number of tables and `content_sha256`, a hash of every marts table
(`content_fingerprint`), which a reader can recompute to prove it reads one
complete snapshot, and which snapshot it replaced. `meta.publication_changes`
lists what changed since that one (publication_changes.py).

A crash (SIGKILL, power cut) at any moment leaves the published file as it was:
the temporary file has its own name, `.monitoring.duckdb.<pid>.<random>.tmp`;
`remove_leftovers` deletes those of dead processes (each run starts with it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shlex
import sys
import uuid
from pathlib import Path

import duckdb

from dagster_project import database
from dagster_project.config import PROJECT_ROOT, Settings
from dagster_project.permissions import PUBLISHED_FILE, shared_dir
from dagster_project.publication_changes import record_changes

# schema in work.duckdb -> schema in monitoring.duckdb
PUBLISHED_SCHEMAS = {"main_marts": "marts", "audit": "audit"}
MARTS_SCHEMA = "marts"
# Columns that identify a person (pseudonyms included): a table holding one is never published.
PERSON_LEVEL_COLUMN = re.compile(r"(^|_)pid$|id_number", re.IGNORECASE)
_TMP_PATTERN = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[0-9a-f]{32}\.tmp(\.wal)?$")


class PublicationRefused(RuntimeError):
    """The working database holds something that must not reach analysts."""


def open_published_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """How analysts should open the warehouse: read-only, no access to other files or the network."""
    return duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})


# The analysts' SQL shell: the DuckDB command line of the same release (package duckdb-cli), read-only, with
# a user's ~/.duckdbrc skipped and external access off before the first query (once off it cannot be turned
# back on while the database is open). `-safe` and `SET lock_configuration` would lock more, but DuckDB
# 1.5's shell then fails at its first statement (it sets extension_directories itself), so they are not used.
SHELL_ARGS = ("-readonly", "-init", "/dev/null", "-cmd", "SET enable_external_access = false")


def shell_command(path: Path) -> list[str]:
    """The analysts' SQL shell on `path`, as an argument list (what `make sql` runs)."""
    return [str(Path(sys.executable).with_name("duckdb")), *SHELL_ARGS, str(path)]


def readonly_hint(path: Path) -> str:
    """The lines a run prints at its end: every command in them works as printed, from any folder."""
    shell = " ".join(shlex.quote(part) for part in shell_command(path))
    python = shlex.quote(str(Path(sys.executable)))
    return (
        "分析人员只读打开 / open read-only (never open work.duckdb: it is the pipeline's):\n"
        f"  cd {shlex.quote(str(PROJECT_ROOT))} && make sql\n"
        f"  {shell}\n"
        f"  cd {shlex.quote(str(PROJECT_ROOT))} && {python} -m dagster_project.cli sql "
        "\"select * from marts.fct_indicator_values limit 5\""
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def content_fingerprint(con: duckdb.DuckDBPyConnection, schema: str = MARTS_SCHEMA,
                        catalog: str | None = None) -> dict[str, str]:
    """sha256 of each table of `schema`, rows ordered by all columns (independent of physical order).

    Each row is rendered as DuckDB's text of the whole row (doubles in shortest round-trip form), so
    two tables have the same fingerprint exactly when they hold the same rows with the same values.
    """
    catalog_filter = "AND database_name = ?" if catalog else ""
    params = [schema, catalog] if catalog else [schema]
    tables = [r[0] for r in con.execute(
        f"SELECT table_name FROM duckdb_tables() WHERE schema_name = ? {catalog_filter} ORDER BY 1", params,
    ).fetchall()]
    prefix = f"{_quote(catalog)}." if catalog else ""
    fingerprints = {}
    for table in tables:
        qualified = f"{prefix}{_quote(schema)}.{_quote(table)}"
        columns = [r[0] for r in con.execute(
            f"SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? {catalog_filter} "
            "ORDER BY column_index", [schema, table, *([catalog] if catalog else [])]).fetchall()]
        digest = hashlib.sha256(", ".join(columns).encode("utf-8"))
        cursor = con.execute(f"SELECT CAST(t AS VARCHAR) AS row_text FROM {qualified} AS t ORDER BY ALL")
        while batch := cursor.fetchmany(10_000):
            for (row_text,) in batch:
                digest.update(row_text.encode("utf-8"))
                digest.update(b"\n")
        fingerprints[table] = digest.hexdigest()
    return fingerprints


def combined_fingerprint(fingerprints: dict[str, str]) -> str:
    return hashlib.sha256("\n".join(f"{t}:{h}" for t, h in sorted(fingerprints.items())).encode()).hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(target: Path) -> list[Path]:
    """Delete temporary files (and their WALs) left by publications whose process died."""
    removed = []
    if not target.parent.is_dir():
        return removed
    for path in target.parent.iterdir():
        match = _TMP_PATTERN.match(path.name)
        if not match or match["target"] != target.name:
            continue
        if int(match["pid"]) != os.getpid() and _pid_alive(int(match["pid"])):
            continue  # another process is publishing right now
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _tables_to_publish(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'work' "
        "AND schema_name IN (SELECT unnest(?)) "
        "UNION SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'work' "
        "AND schema_name IN (SELECT unnest(?)) ORDER BY 1, 2",
        [list(PUBLISHED_SCHEMAS), list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def _refuse_person_level(con, tables: list[tuple[str, str]]) -> None:
    for schema, name in tables:
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'work' AND schema_name = ? "
            "AND table_name = ?", [schema, name]).fetchall()]
        bad = [c for c in columns if PERSON_LEVEL_COLUMN.search(c)]
        if bad:
            raise PublicationRefused(
                f"{schema}.{name} has person-level column(s) {', '.join(bad)}: not published. "
                f"表 {schema}.{name} 含个人级字段，拒绝发布。")


def _copy_comments(con, src_schema: str, dst_schema: str, name: str) -> None:
    """dbt's persist_docs put the Chinese descriptions on the marts as comments: keep them."""
    table_comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = 'work' AND schema_name = ? AND table_name = ?",
        [src_schema, name]).fetchone()
    target = f"{_quote(dst_schema)}.{_quote(name)}"
    if table_comment and table_comment[0]:
        con.execute(f"COMMENT ON TABLE {target} IS {_sql_literal(table_comment[0])}")
    for column, comment in con.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'work' AND schema_name = ? "
        "AND table_name = ? AND comment IS NOT NULL AND comment <> '' ORDER BY column_index",
        [src_schema, name]).fetchall():
        con.execute(f"COMMENT ON COLUMN {target}.{_quote(column)} IS {_sql_literal(comment)}")


PREVIOUS_CATALOG = "previous_snapshot"


def _attach_previous(con: duckdb.DuckDBPyConnection, target: Path) -> dict | None:
    """Attach the snapshot about to be replaced (read-only) and return its meta.publication row; None if there is
    none or it cannot be read (a damaged file must not stop the new publication: the changes are then not recorded)."""
    if not target.exists():
        return None
    try:
        con.execute(f"ATTACH {_sql_literal(str(target))} AS {PREVIOUS_CATALOG} (READ_ONLY)")
    except duckdb.Error:
        return None
    try:
        row = con.execute(f"SELECT publication_id, published_at FROM {PREVIOUS_CATALOG}.meta.publication").fetchone()
    except duckdb.Error:
        row = None
    if row is None:
        con.execute(f"DETACH {PREVIOUS_CATALOG}")
        return None
    return {"publication_id": row[0], "published_at": row[1]}


def publish(settings: Settings, run_id: str = "") -> dict:
    """Copy the publishable tables of work.duckdb into a new file and rename it over monitoring.duckdb.

    Returns {"schema.table": row count}.
    """
    shared_dir(settings.data_dir)
    target = settings.published_db
    remove_leftovers(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    tmp_wal = Path(f"{tmp}.wal")
    copied: dict[str, int] = {}
    try:
        con = database.connect(tmp)
        try:
            con.execute(f"ATTACH {_sql_literal(str(settings.work_db))} AS work (READ_ONLY)")
            tables = _tables_to_publish(con)
            _refuse_person_level(con, tables)
            for src_schema, name in tables:
                dst_schema = PUBLISHED_SCHEMAS[src_schema]
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(dst_schema)}")
                con.execute(f"CREATE TABLE {_quote(dst_schema)}.{_quote(name)} AS "
                            f"SELECT * FROM work.{_quote(src_schema)}.{_quote(name)}")
                _copy_comments(con, src_schema, dst_schema, name)
                copied[f"{dst_schema}.{name}"] = con.execute(
                    f"SELECT count(*) FROM {_quote(dst_schema)}.{_quote(name)}").fetchone()[0]
            con.execute("DETACH work")
            fingerprints = content_fingerprint(con)
            con.execute("CREATE SCHEMA IF NOT EXISTS meta")
            previous = _attach_previous(con, target)
            record_changes(con, PREVIOUS_CATALOG if previous else None)
            con.execute(
                "CREATE TABLE meta.publication AS SELECT ?::VARCHAR AS publication_id, ?::VARCHAR AS run_id, "
                "?::TIMESTAMP AS published_at, ?::INTEGER AS marts_tables, ?::VARCHAR AS content_sha256, "
                "?::VARCHAR AS note, ?::VARCHAR AS previous_publication_id, ?::TIMESTAMP AS previous_published_at",
                [uuid.uuid4().hex, run_id, dt.datetime.now().replace(microsecond=0), len(fingerprints),
                 combined_fingerprint(fingerprints),
                 "快照：只读发布，个人级数据不在此库 / read-only snapshot; no person-level data",
                 (previous or {}).get("publication_id"), (previous or {}).get("published_at")],
            )
            if previous is not None:
                con.execute(f"DETACH {PREVIOUS_CATALOG}")
            con.execute("COMMENT ON TABLE meta.publication IS "
                        "'本快照的发布信息：发布编号、运行、时间、集市表数及内容校验和。Which snapshot this is.'")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if tmp_wal.exists():  # CHECKPOINT + close leave none; a WAL here would be lost by the rename
            raise RuntimeError(f"{tmp_wal} still exists after CHECKPOINT; not publishing")
        # 0440 (permissions.py): the analysts' group reads it; nobody, the pipeline included, opens it for
        # writing by mistake (it is only ever replaced whole); other accounts have no business reading it.
        os.chmod(tmp, PUBLISHED_FILE)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        # A WAL next to the published name would be replayed onto the new file by the next reader:
        # it can only come from someone who opened the old file read-write. Its changes are not ours.
        Path(f"{target}.wal").unlink(missing_ok=True)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        for leftover in (tmp, tmp_wal):
            leftover.unlink(missing_ok=True)
    return copied


def read_publication(path: Path) -> dict | None:
    """meta.publication of the published database, or None if there is none yet."""
    if not path.exists():
        return None
    con = open_published_readonly(path)
    try:
        row = con.execute("SELECT * FROM meta.publication").fetchone()
        names = [d[0] for d in con.description]
    finally:
        con.close()
    return dict(zip(names, row)) if row else None
