"""The working database as a Dagster resource: one place opens it, with the settings' path."""

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import ConfigurableResource

from dagster_project import database
from dagster_project.config import get_settings
from dagster_project.ingest.audit_tables import ensure_schema
from dagster_project.permissions import shared_dir


class WarehouseResource(ConfigurableResource):
    """Opens `$MONITOR_DATA_DIR/work.duckdb` for writing (the pipeline is its only writer)."""

    data_dir: str = ""  # empty: take MONITOR_DATA_DIR from the environment at run time

    def path(self):
        settings = get_settings()
        return (settings.work_db if not self.data_dir else settings.work_db.__class__(self.data_dir) / "work.duckdb")

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.path()
        shared_dir(path.parent)  # the data directory: analysts traverse it to the published database
        con = database.connect(str(path))
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()
