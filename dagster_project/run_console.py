"""What a `cli run` shows while it works: one line per stage of the job on the console, the whole Dagster
log (every event, DEBUG included) in a file whose path the run prints at its end.

Dagster's default console logger prints some 500 DEBUG lines per run, which hid the few lines a clerk
needs. The job is run with two loggers instead (`--verbose` adds Dagster's console logger back):

* `progress`: a line when a stage is complete — `[3/6] 质量检查 quality gate  13 步 steps  8.2 s  完成 ok` —
  and one line for each failed step with the first line of its error.
* `file`: everything, as Dagster's console logger would have printed it, to $MONITOR_DATA_DIR/logs/.
"""
from __future__ import annotations

import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dagster import Field, logger

# Stages by step-key prefix, in job order (the first prefix that matches wins: dbt_seeds before dbt_).
STAGES = [
    ("dbt_seeds", "准备 reference tables (dbt seeds)"),
    ("raw__", "入库 ingestion"),
    ("gx_", "质量检查 quality gate"),
    ("dbt_", "指标计算 indicators (dbt)"),
    ("exports__", "导出 exports"),
    ("published__", "发布 publication"),
]


def stage_of(step_key: str) -> str:
    return next((label for prefix, label in STAGES if step_key.startswith(prefix)), "其他 other")


def stage_sizes(step_keys: list[str]) -> dict[str, int]:
    """How many steps each stage of the job has, in the order of STAGES."""
    sizes: dict[str, int] = {}
    for _, label in STAGES + [("", "其他 other")]:
        count = sum(1 for key in step_keys if stage_of(key) == label)
        if count:
            sizes[label] = count
    return sizes


@dataclass
class _Stage:
    size: int
    done: int = 0
    failed: int = 0
    seconds: float = 0.0  # the stage's steps' own durations (steps of stages interleave in a run)


class ProgressHandler(logging.Handler):
    def __init__(self, sizes: dict[str, int], stream=None) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream or sys.stdout
        self.stages = {label: _Stage(size) for label, size in sizes.items()}
        self.order = list(sizes)
        self.started: dict[str, float] = {}
        self.completed = 0  # stages complete so far: [n/N] counts them in the order they finish

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is None or not event.step_key:
            return
        kind = event.event_type_value
        label = stage_of(event.step_key)
        stage = self.stages.setdefault(label, _Stage(size=1))
        if kind == "STEP_START":
            self.started[event.step_key] = record.created
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            stage.done += 1
            stage.seconds += record.created - self.started.get(event.step_key, record.created)
            if kind == "STEP_FAILURE":
                stage.failed += 1
                self._print(f"  ✗ 步骤失败 step failed: {step_failure_line(event)}")
            if stage.done == stage.size:
                seconds = stage.seconds
                verdict = "完成 ok" if not stage.failed else f"{stage.failed} 步失败 failed"
                self.completed += 1
                self._print(f"[{self.completed}/{len(self.order)}] {label:<30} {stage.size:>3} 步 steps "
                            f"{seconds:7.1f} s  {verdict}")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@logger(config_schema={"stages": Field(dict, is_required=True)},
        description="One line per completed stage of the run (the CLI's console).")
def progress_logger(init_context) -> logging.Logger:
    log = logging.Logger("monitoring.progress", level=logging.DEBUG)
    log.addHandler(ProgressHandler(dict(init_context.logger_config["stages"])))
    return log


@logger(config_schema={"path": Field(str, is_required=True)},
        description="Every event of the run, DEBUG included, in a file.")
def file_logger(init_context) -> logging.Logger:
    path = Path(init_context.logger_config["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    formatter.converter = time.gmtime  # UTC, as Dagster's own timestamps
    handler.setFormatter(formatter)
    log = logging.Logger("monitoring.file", level=logging.DEBUG)
    log.addHandler(handler)
    return log


def run_log_path(data_dir: Path, run_id: str) -> Path:
    return data_dir / "logs" / f"run_{time.strftime('%Y%m%d_%H%M%S')}_{run_id[:8]}.log"


def library_warnings_to(path: Path) -> logging.Handler:
    """Warnings Dagster's own modules log with plain Python logging (not run events; e.g. "Blocking asset check
    … emitted no result") go to the run's log file instead of the console. Returns the handler (to remove)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
    library = logging.getLogger("dagster._core")
    library.addHandler(handler)
    library.propagate = False
    return handler


def one_line(text: str, limit: int = 240) -> str:
    """An error message as one line for a clerk: no stack trace, no SQL echoed back line by line.

    The first non-empty line; when it only says that something failed ("dbt build failed in step …." or
    "… Error: ..." followed by the SQL's `LINE 1:` context), the first line that names the error is added.
    """
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("Traceback", "File \"", "LINE ", "^"))]
    if not lines:
        return ""
    first = lines[0]
    if len(lines) > 1 and first.endswith((".", ":")) and "rror" not in first:
        detail = next((ln for ln in lines[1:] if "rror" in ln or "失败" in ln or "错误" in ln), lines[1])
        first = f"{first} {detail}"
    return first if len(first) <= limit else first[: limit - 1] + "…"


def step_failure_line(event) -> str:
    """What a failed step says to a clerk: its stage in Chinese and English, and its error in one line
    (the error Dagster caught, never its "Execution of step … failed" wrapper or a stack trace)."""
    data = getattr(event, "step_failure_data", None)
    error = data.error if data is not None else None
    while (error is not None and getattr(error, "cause", None) is not None
           and (getattr(error, "cls_name", None) or "").startswith("Dagster")):
        error = error.cause  # "Error occurred while executing op …": the user code's own error is the cause
    text = (error.message if error is not None else getattr(event, "message", "")) or ""
    cls_name = getattr(error, "cls_name", None)
    if cls_name and cls_name != "Failure":
        text = re.sub(rf"^[\w.]*{re.escape(cls_name)}: ", "", text.lstrip())  # 'duckdb.IOException: '
    return f"{stage_of(event.step_key or '')} · {event.step_key}: {one_line(text)}"
