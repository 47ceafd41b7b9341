"""The Dagster instance of the warehouse: its home, its settings, the run-queue tag of the pipeline's runs.

`ensure_dagster_home` writes the instance settings: one run at a time (and one run of `monitoring_job`
even if the instance's limit is raised for other jobs), the `duckdb_writer` pool limited to 1 (DuckDB
admits one writer process), run monitoring that frees the slots of dead runs. Dagster's storage there
is private to the pipeline's account (0700/0600, see permissions.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from dagster_project.config import get_settings
from dagster_project.permissions import private, private_dir, private_tree

# Every run of monitoring_job carries this tag (definitions.py); the run queue admits one run with it at a
# time. CLI runs carry it too and are counted by the queue while they are in progress.
RUN_LOCK_TAG = "monitor/run_lock"
RUN_LOCK_TAG_VALUE = "warehouse"

DAGSTER_INSTANCE_SETTINGS = {
    "concurrency": {
        # DuckDB admits one writer process: every step that writes the working database uses the pool
        # `duckdb_writer` (and every unconfigured pool gets this limit). Slots are claimed per step.
        "pools": {"default_limit": 1, "granularity": "op"},
        # Runs launched by the daemon (sensor, schedule, UI) wait in the queue and start one at a time:
        # steps that only read the working database (exports) cannot meet another run's writer either.
        # The tag limit keeps monitoring_job at one run even if an operator raises max_concurrent_runs for
        # other jobs of the instance.
        "runs": {"max_concurrent_runs": 1,
                 "tag_concurrency_limits": [{"key": RUN_LOCK_TAG, "value": RUN_LOCK_TAG_VALUE, "limit": 1}]},
    },
    "run_monitoring": {
        "enabled": True,
        "free_slots_after_run_end_seconds": 60,
        "max_runtime_seconds": 4 * 3600,
        "cancel_timeout_seconds": 300,
    },
    "telemetry": {"enabled": False},
}


def _merge(base: dict, required: dict) -> dict:
    merged = dict(base)
    for key, value in required.items():
        merged[key] = _merge(merged.get(key) or {}, value) if isinstance(value, dict) else value
    return merged


EVENT_LOG_STORAGE_MODULE = "dagster_project.event_log_storage"


def _event_log_storage_setting(current: dict, home: Path) -> dict:
    """Our pooled SQLite event log (dagster_project/event_log_storage.py), in the files of Dagster's default
    SQLite storage so that earlier runs stay visible - unless the instance configures its own storage
    (e.g. Postgres), which is left as it is."""
    ours = current.get("event_log_storage") or {}
    if ours.get("module", EVENT_LOG_STORAGE_MODULE) != EVENT_LOG_STORAGE_MODULE or any(
            current.get(key) for key in ("storage", "run_storage", "schedule_storage")):
        return {}
    return {"event_log_storage": {"module": EVENT_LOG_STORAGE_MODULE, "class": "PooledSqliteEventLogStorage",
                                  "config": {"base_dir": str(home / "history" / "runs")}}}


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME defaults to $MONITOR_DATA_DIR/dagster_home; its dagster.yaml gets our settings.

    Settings already in an existing dagster.yaml are kept; ours are added or enforced. The home and
    everything in it are private (0700/0600): run history, event logs and compute logs carry file names,
    row counts and error messages about the departments' data. Files Dagster creates later are private
    through the umask; what an earlier version left open is closed here.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().data_dir / "dagster_home")
    private_dir(home)
    private_tree(home)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    current = {}
    if config.exists():
        current = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    wanted = _merge(current, DAGSTER_INSTANCE_SETTINGS)
    wanted.update(_event_log_storage_setting(current, home))
    if wanted != current:
        tmp = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        tmp.write_text(yaml.safe_dump(wanted, sort_keys=True), encoding="utf-8")
        private(tmp)
        os.replace(tmp, config)
    return home
