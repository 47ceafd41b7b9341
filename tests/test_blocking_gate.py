"""A blocking quality failure stops only what is downstream of the failing extract, seen through Dagster.

The births file passes every row rule of ingestion (so it is loaded), but a clerk pasted a mother's
ID number into 出生编号 (birth_id): the births suite's blocking rule `no_id_number.birth_id` fails.
The job then runs with raw births and students, their dbt staging models (in the health and the
education dbt steps), the validation findings mart with the intermediate models it needs (in the
step that combines departments), and the end-of-run outputs. Expected, from the run's events and
the instance's materialisations: the health dbt step and the mart are not materialised, the
education step is, and the Data Docs and feedback workbooks are still written, without the raw ID.
Only one dbt step runs (education), so the test takes about half a minute.
"""
from __future__ import annotations

import re

import duckdb
import openpyxl
from dagster import AssetKey, DagsterInstance

from dagster_project.assets.quality_checks import BLOCKING_CHECK
from tests.helpers import make_id, write_csv

BIRTH_HEADER = ["birth_id", "mother_id_number", "mother_birth_date", "township_code", "residence", "child_sex",
                "birth_date", "birth_weight_g", "gestation_weeks", "hospital_delivery"]
STUDENT_HEADER = ["student_id", "id_number", "sex", "birth_date", "township_code", "residence", "school_code",
                  "school_type", "grade", "graduating"]
PASTED_ID = make_id("19900101", "2", seq="77")
ID_SHAPED = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def _write_files(raw) -> None:
    births = [[f"B{i:03d}", make_id("19900101", "2", seq=f"{i:02d}"), "1990-01-01", "430502001", "城镇",
               "1" if i % 2 else "2", "2023-03-01", "3200", "39", "是"] for i in range(1, 9)]
    births[3][0] = PASTED_ID  # the mother's ID number pasted into 出生编号
    write_csv(raw / "health" / "births_2023.csv", BIRTH_HEADER, births)
    students = [[f"S{i:04d}", make_id("20150601", "1" if i % 2 else "2", seq=f"{i:02d}"), "1" if i % 2 else "2",
                 "2015-06-01", "430502001", "城镇", "SCH001", "小学", "3", "否"] for i in range(1, 11)]
    write_csv(raw / "education" / "students_2023.csv", STUDENT_HEADER, students)


def _key_named(keys, name: str) -> AssetKey:
    found = [k for k in keys if k.path[-1] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def test_blocking_failure_stops_only_the_failing_extracts_downstream(workspace):
    _write_files(workspace["raw"])
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    births, students = AssetKey(["raw", "births"]), AssetKey(["raw", "students"])
    stg_births, stg_students = _key_named(keys, "stg_health__births"), _key_named(keys, "stg_education__students")
    findings_chain = [_key_named(keys, n) for n in (
        "int_validation_figures_catalogued", "int_validation_figures_computed", "int_validation_figures_completed",
        "int_validation_rules_parsed", "int_validation_rules_evaluated", "fct_validation_findings")]
    mart = findings_chain[-1]
    docs, feedback = AssetKey(["exports", "quality_data_docs"]), AssetKey(["exports", "department_feedback_findings"])
    assert mart.path[0] == "marts"

    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("monitoring_job").execute_in_process(
        instance=instance, raise_on_error=False,
        asset_selection=[births, students, stg_births, stg_students, *findings_chain, docs, feedback],
    )

    # The gate: births failed its blocking check, students passed.
    evaluations = {(e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations[(births, BLOCKING_CHECK)] is False
    assert evaluations[(students, BLOCKING_CHECK)] is True
    assert not result.success  # a failed blocking check fails the run (and raises the failure alert)

    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {births, students, stg_students, docs, feedback} <= materialised
    assert stg_births not in materialised and mart not in materialised
    assert not set(findings_chain) & materialised
    # ... and the instance agrees: nothing downstream of births was ever materialised.
    for key in (stg_births, mart):
        assert instance.get_latest_materialization_event(key) is None, key
    assert instance.get_latest_materialization_event(stg_students) is not None

    steps = {e.step_key: e.event_type_value for e in result.all_events if e.step_key and e.is_step_event
             and e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")}
    assert steps["dbt_education"] == "STEP_SUCCESS"
    assert "dbt_health" not in steps and "dbt_combined" not in steps  # never started
    assert steps["gx_births"] == "STEP_FAILURE"

    # The education view was built in the working database; the health one was not.
    con = duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True)
    try:
        views = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'main_staging'").fetchall()}
        recorded = con.execute("SELECT rule_id, unexpected_count FROM audit.gx_results "
                               "WHERE extract = 'births' AND NOT success AND severity = 'blocking'").fetchall()
    finally:
        con.close()
    assert "stg_education__students" in views and "stg_health__births" not in views
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

    # The feedback workbook is written although the marts were stopped; findings are not available yet.
    book = openpyxl.load_workbook(workspace["exports"] / "feedback" / "health_2023.xlsx", read_only=True)
    assert "核查发现 Findings" in book.sheetnames
    note = next(book["核查发现 Findings"].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert "尚未计算" in note
