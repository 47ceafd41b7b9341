"""Warm the slow imports of later steps while the first steps run.

Great Expectations (with pandas) takes ~4 s to import and set up its ephemeral context, a fixed cost
paid by the first quality step. The ingestion steps before it spend most of their time in DuckDB and
polars, which release the GIL, so a background thread started by the first of them (not earlier: the
dbt seeds step, which runs first, is pure Python) costs the run little and takes those seconds off the
critical path. The work is the same the step would do (`gx_context()` is
process-wide and locked), so a slow or failed warm-up changes nothing but timing.
"""
from __future__ import annotations

import threading


def _warm() -> None:
    try:
        from dagster_project.quality.runner import gx_context

        gx_context()
    except Exception:  # noqa: BLE001 - the step itself will import again and report any real error
        pass


_LOCK = threading.Lock()
_thread: threading.Thread | None = None


def start() -> threading.Thread:
    """Start the warm-up once per process (later calls return the same thread)."""
    global _thread
    with _LOCK:
        if _thread is None:
            _thread = threading.Thread(target=_warm, name="prewarm-gx", daemon=True)
            _thread.start()
        return _thread
