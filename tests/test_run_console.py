"""The run's console lines (run_console.py): one line per completed stage, its own steps' seconds, and a line
for each failed step with the first line of its error."""
from __future__ import annotations

import io
import logging
from types import SimpleNamespace

from dagster_project.run_console import ProgressHandler, one_line, stage_of, stage_sizes, step_failure_line


def _record(kind: str, step: str, at: float, error: str | None = None) -> logging.LogRecord:
    record = logging.LogRecord("dagster", logging.DEBUG, __file__, 1, f"{kind} {step}", None, None)
    failure = SimpleNamespace(error=SimpleNamespace(message=error)) if error else None
    record.dagster_event = SimpleNamespace(event_type_value=kind, step_key=step, step_failure_data=failure)
    record.created = at
    return record


def test_stages_are_counted_and_printed_once_complete_with_their_steps_seconds():
    steps = ["dbt_seeds", "raw__births", "raw__deaths", "gx_births", "dbt_health", "exports__report", "published__db"]
    sizes = stage_sizes(steps)
    assert list(sizes.values()) == [1, 2, 1, 1, 1, 1] and stage_of("dbt_seeds") != stage_of("dbt_health")
    out = io.StringIO()
    handler = ProgressHandler(sizes, out)
    # births and deaths interleave with another stage's step: the stage counts only its own steps' time
    for record in [_record("STEP_START", "raw__births", 0), _record("STEP_SUCCESS", "raw__births", 2),
                   _record("STEP_START", "dbt_seeds", 2), _record("STEP_SUCCESS", "dbt_seeds", 12),
                   _record("STEP_START", "raw__deaths", 12), _record("STEP_FAILURE", "raw__deaths", 13.5,
                                                                      "文件无法读取\nTraceback …")]:
        handler.emit(record)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/6] 入库") is False and lines[0].startswith("[1/6] 准备") and "10.0 s" in lines[0] and lines[0].endswith("完成 ok")
    assert lines[1] == "  ✗ 步骤失败 step failed: 入库 ingestion · raw__deaths: 文件无法读取"
    assert lines[2].startswith("[2/6] 入库 ingestion") and "  2 步 steps" in lines[2] and "3.5 s" in lines[2]
    assert lines[2].endswith("1 步失败 failed") and len(lines) == 3


def test_records_without_a_step_event_print_nothing():
    out = io.StringIO()
    handler = ProgressHandler({"入库 ingestion": 1}, out)
    handler.emit(logging.LogRecord("dagster", logging.INFO, __file__, 1, "hello", None, None))
    assert out.getvalue() == ""


def test_an_error_is_one_line_for_a_clerk():
    """Issue 17 item 4: SQL errors in one line, the dbt step's real error rather than its wrapper, no trace."""
    sql = ('Binder Error: Referenced column "sexx" not found in FROM clause!\nCandidate bindings: "sex"\n\n'
           'LINE 3:     where sexx = \'1\'\n                  ^')
    assert one_line(sql) == 'Binder Error: Referenced column "sexx" not found in FROM clause!'
    dbt = "dbt build failed in step dbt_health.\n  Database Error in model stg_health__births\n  more"
    assert one_line(dbt) == "dbt build failed in step dbt_health. Database Error in model stg_health__births"
    assert one_line("x" * 300).endswith("…") and len(one_line("x" * 300)) == 240
    trace = "Traceback (most recent call last):\n  File \"a.py\", line 1\nValueError: bad"
    assert one_line(trace) == "ValueError: bad"


def test_a_failed_step_is_named_by_its_stage_and_its_own_error():
    cause = SimpleNamespace(message="duckdb.duckdb.IOException: IO Error: Could not set lock on file\nLINE 1",
                            cls_name="IOException", cause=None)
    wrapper = SimpleNamespace(message='Error occurred while executing op "gx_births":', cls_name=
                              "DagsterExecutionStepExecutionError", cause=cause)
    event = SimpleNamespace(step_key="gx_births", step_failure_data=SimpleNamespace(error=wrapper),
                            message='Execution of step "gx_births" failed.')
    assert step_failure_line(event) == "质量检查 quality gate · gx_births: IO Error: Could not set lock on file"
