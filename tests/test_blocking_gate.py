"""A blocking quality failure withholds only the failing extract's period, seen through Dagster.

The births 2023 file passes every row rule of ingestion (so it is loaded), but a clerk pasted a
mistyped old 15-digit ID number into 出生编号 (birth_id): the births suite's blocking rule `no_id_number.birth_id`
fails. A clean births 2022 file and a students file are also there. The job runs with raw births and
students, their dbt staging models and the end-of-run outputs. Expected: the run succeeds (a partial publication is normal); the
births check fails with WARN severity and names 2023; the gate's verdicts say 2023 failed and 2022
passed; the births staging model holds the 2022 births only (the failed period never reaches the
indicators); students flow as usual; the Data Docs and feedback workbooks are written without the raw
ID. What this withholds among the indicators is tested on a whole run in test_partial_submissions.py.
"""
from __future__ import annotations

import re

import duckdb
import openpyxl
import pytest
from dagster import AssetKey, DagsterInstance

from dagster_project.defs.quality.checks import BLOCKING_CHECK
from tests.helpers import make_id, write_csv

pytestmark = pytest.mark.slow(seconds=20)


BIRTH_HEADER = ["birth_id", "mother_id_number", "mother_birth_date", "township_code", "residence", "child_sex",
                "birth_date", "birth_weight_g", "gestation_weeks", "hospital_delivery"]
STUDENT_HEADER = ["student_id", "id_number", "sex", "birth_date", "township_code", "residence", "school_code",
                  "school_type", "grade", "graduating"]
# A mistyped old 15-digit ID number (1990-02-30 does not exist): not ID-shaped for ingestion, which stores
# it as sent (a well-formed ID number in a record number is pseudonymised), but caught by the gate.
PASTED_ID = "430502900230122"
ID_SHAPED = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def _write_files(raw) -> None:
    births = [[f"B{i:03d}", make_id("19900101", "2", seq=f"{i:02d}"), "1990-01-01", "430502001", "城镇",
               "1" if i % 2 else "2", "2023-03-01", "3200", "39", "是"] for i in range(1, 9)]
    births[3][0] = PASTED_ID  # the mother's ID number pasted into 出生编号
    write_csv(raw / "health" / "births_2023.csv", BIRTH_HEADER, births)
    earlier = [[f"A{i:03d}", make_id("19910101", "2", seq=f"{i:02d}"), "1991-01-01", "430502001", "城镇",
                "1" if i % 2 else "2", "2022-03-01", "3300", "39", "是"] for i in range(1, 6)]
    write_csv(raw / "health" / "births_2022.csv", BIRTH_HEADER, earlier)
    students = [[f"S{i:04d}", make_id("20150601", "1" if i % 2 else "2", seq=f"{i:02d}"), "1" if i % 2 else "2",
                 "2015-06-01", "430502001", "城镇", "SCH001", "小学", "3", "否"] for i in range(1, 11)]
    write_csv(raw / "education" / "students_2023.csv", STUDENT_HEADER, students)


def _key_named(keys, name: str) -> AssetKey:
    found = [k for k in keys if k.path[-1] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def test_blocking_failure_withholds_only_the_failing_period(workspace):
    _write_files(workspace["raw"])
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    births, students = AssetKey(["raw", "births"]), AssetKey(["raw", "students"])
    stg_births, stg_students = _key_named(keys, "stg_health__births"), _key_named(keys, "stg_education__students")
    docs, feedback = AssetKey(["exports", "quality_data_docs"]), AssetKey(["exports", "department_feedback_findings"])

    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("monitoring_job").execute_in_process(
        instance=instance, raise_on_error=False,
        asset_selection=[births, students, stg_births, stg_students, docs, feedback],
    )

    # The gate: births failed its blocking check (2023 only), students passed; the run still succeeds.
    evaluations = {(e.asset_key, e.check_name): e for e in result.get_asset_check_evaluations()}
    births_check = evaluations[(births, BLOCKING_CHECK)]
    assert births_check.passed is False and births_check.severity.value == "WARN"
    assert births_check.metadata["periods_withheld"].value == [2023]
    assert evaluations[(students, BLOCKING_CHECK)].passed is True
    assert result.success  # a partial publication is a normal state, not a failed run

    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {births, students, stg_births, stg_students, docs, feedback} <= materialised

    steps = {e.step_key: e.event_type_value for e in result.all_events if e.step_key and e.is_step_event
             and e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")}
    assert steps["dbt_education"] == steps["dbt_health"] == steps["gx_births"] == "STEP_SUCCESS"

    # The failed period never reaches the staging model; the passing one does.
    con = duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True)
    try:
        staged = con.execute("SELECT period_year, count(*) FROM main_staging.stg_health__births GROUP BY 1").fetchall()
        verdicts = con.execute("SELECT period_year, passed_blocking, failed_rules FROM audit.gate_verdicts "
                               "WHERE extract = 'births' ORDER BY 1").fetchall()
        students_staged = con.execute("SELECT count(*) FROM main_staging.stg_education__students").fetchone()[0]
        recorded = con.execute("SELECT rule_id, unexpected_count FROM audit.gx_results "
                               "WHERE extract = 'births' AND NOT success AND severity = 'blocking'").fetchall()
    finally:
        con.close()
    assert staged == [(2022, 5)]
    assert verdicts == [(2022, True, ""), (2023, False, "no_id_number.birth_id")]
    assert students_staged == 10
    assert recorded == [("no_id_number.birth_id", 1)]

    # Data Docs in exports/quality/ tell what blocked the file, and never show the raw ID number.
    quality = workspace["exports"] / "quality"
    summary = (quality / "summary.html").read_text(encoding="utf-8")
    assert (quality / "index.html").exists() and "no_id_number.birth_id" in summary
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in quality.rglob("*")
             if p.is_file() and p.suffix in (".html", ".json", ".js")]
    assert len(texts) > 3
    assert not any(PASTED_ID in t or ID_SHAPED.search(t) for t in texts)
    assert any(PASTED_ID[:6] + "*" in t for t in texts)  # shown masked

    # The feedback workbook of the failed period is written, with its findings sheet.
    book = openpyxl.load_workbook(workspace["exports"] / "feedback" / "health_2023.xlsx", read_only=True)
    assert "核查发现 Findings" in book.sheetnames
    # ... and, first, what stopped it (issue 17 item 4): file, row, column, rule, what to do
    assert book.sheetnames[0] == "阻断问题 Blocking"
    header, *rows = list(book["阻断问题 Blocking"].iter_rows(values_only=True))
    assert [(r[header.index("文件 File")], r[header.index("行号 Row")], r[header.index("列 Column")],
             r[header.index("规则 Rule")]) for r in rows] == [
        ("health/births_2023.csv", 5, "出生编号 birth_id", "no_id_number.birth_id")]
    assert "请从该列删去身份证号后重新报送" in rows[0][header.index("问题及处理办法")]
    assert "阻断问题 Blocking" not in openpyxl.load_workbook(
        workspace["exports"] / "feedback" / "health_2022.xlsx", read_only=True).sheetnames


def test_cli_status_names_the_blocking_finding_and_a_failed_step_in_one_line(workspace, capsys):
    """`cli status` lists the blocking findings (file, row, column, what to do) and an alert's failed steps as
    one line each, never Dagster's "Execution of step … failed" or a stack trace."""
    from dagster_project import cli
    from dagster_project.defs.automation.alerts import write_alert

    _write_files(workspace["raw"])
    from dagster_project.definitions import defs

    births = AssetKey(["raw", "births"])
    defs.resolve_job_def("monitoring_job").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=[births])
    write_alert({"run_id": "r-1", "failed_at": "2026-12-03T10:00:00", "failed_steps": ["dbt_health"],
                 "message": "指标计算 indicators (dbt) · dbt_health: Binder Error: column \"x\" not found"})
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "阻断性问题 1 项" in out
    assert ("[卫健局 health] 2023年度 health/births_2023.csv，第5行，列「出生编号」(birth_id)："
            "未通过质量关卡（no_id_number.birth_id，1 行）") in out
    assert "处理办法：「出生编号」中出现了形似15位或18位身份证号的数字串" in out
    assert "dbt_health: Binder Error: column \"x\" not found" in out
    assert "Traceback" not in out and "Execution of step" not in out
