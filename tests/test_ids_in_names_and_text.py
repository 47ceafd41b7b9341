"""Issue 17 item 2 at ingestion, on hand-made files: no ID number in clear after ingestion, wherever it sits.

- A 学籍号 written 'G' + the pupil's ID number is stored as 'G' + the keyed pseudonym of that number (the
  pupil's person_pid): the same in every year's students file and in the student health survey, so the
  records still link, and the ID number is nowhere in the database.
- An ID number in a file name is masked in the ledger, the messages and the Dagster events.
- An old 15-digit ID number typed into a count is not stored as a number.
- A workbook whose first sheet is a cover page loads from the sheet whose header matches the template; the
  ledger says which; a workbook with no such sheet is rejected naming each sheet and why.
"""
from __future__ import annotations

import duckdb
import pytest
import xlsxwriter

from dagster_project.ingest.idnumber import pseudonym, pseudonymise_id_substrings
from tests.conftest import TEST_KEY
from tests.helpers import ingest, make_id, write_csv
from tests.test_no_id_numbers_leak import id_numbers_in

pytestmark = pytest.mark.slow(seconds=25)

KEY = TEST_KEY.encode()
T1 = "430502001"
STUDENTS = ["学籍号", "身份证号", "性别", "出生日期", "乡镇街道代码", "城乡", "学校代码", "学校类型", "年级"]
HEALTH = ["学籍号", "性别", "出生日期", "学校类型", "年级", "乡镇街道代码", "近视"]


def db(workspace) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True)


def _every_text_value(con) -> list[str]:
    values = []
    for schema, table, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema IN ('raw', 'audit')").fetchall():
        values += [v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}"').fetchall() if v]
    return values


def test_the_pseudonym_keeps_the_shape_and_is_the_persons():
    pupil = make_id("20150301", "1", seq="07")
    assert pseudonymise_id_substrings("G" + pupil, KEY) == "G" + pseudonym(KEY, pupil)
    assert pseudonymise_id_substrings("G" + pupil.lower(), KEY) == "G" + pseudonym(KEY, pupil.upper())
    adult = make_id("19700301", "2", seq="07")
    old = adult[:6] + adult[8:17]  # the same person's old 15-digit number
    assert pseudonymise_id_substrings(f"S-{old}", KEY) == f"S-{pseudonym(KEY, adult)}"
    # what is not ID-shaped stays as it was
    for text in ("L00000000012345", "共3126人", "G12345678901234567890", "430502001101", None, ""):
        assert pseudonymise_id_substrings(text, KEY) == text


def test_a_g_plus_id_student_number_is_pseudonymised_and_links_across_years_and_files(workspace):
    pupils = [make_id("20150301", "1", seq=f"{i:02d}") for i in range(1, 5)]
    for year, grade in ((2023, 2), (2024, 3)):
        rows = [["G" + p, p, "1", "2015-03-01", T1, "城镇", "4305020012", "小学", grade] for p in pupils]
        rows.append(["L20230001", make_id("20150401", "2", seq="90"), "2", "2015-04-01", T1, "城镇", "4305020012",
                     "小学", grade])
        write_csv(workspace["raw"] / "education" / f"students_{year}.csv", STUDENTS, rows)
    write_csv(workspace["raw"] / "education" / "student_health_2024.csv", HEALTH,
              [["G" + p, "1", "2015-03-01", "小学", 3, T1, "否"] for p in pupils])
    ingest("students", "student_health")
    con = db(workspace)
    try:
        stored = con.execute("SELECT _period_year, student_id, person_pid FROM raw.students ORDER BY 1, 2").fetchall()
        assert len(stored) == 10
        by_year = {y: {sid for yy, sid, _ in stored if yy == y} for y in (2023, 2024)}
        assert by_year[2023] == by_year[2024]  # the same pupils, the same 学籍号 in both years
        expected = {"G" + pseudonym(KEY, p) for p in pupils} | {"L20230001"}
        assert by_year[2023] - {"L20230001"} == expected - {"L20230001"}
        assert all(sid == "G" + pid for _, sid, pid in stored if sid.startswith("G"))  # 'G' + person_pid
        health = {sid for (sid,) in con.execute("SELECT student_id FROM raw.student_health").fetchall()}
        assert health == by_year[2024] - {"L20230001"}
        texts = _every_text_value(con)
        assert not any(id_numbers_in(t) for t in texts), [t for t in texts if id_numbers_in(t)][:3]
    finally:
        con.close()
    for pupil in pupils:
        assert pupil.encode() not in (workspace["warehouse"] / "work.duckdb").read_bytes()


def test_an_id_number_in_a_file_name_is_masked_in_the_ledger_and_the_events(workspace):
    person = make_id("19880512", "2", seq="33")
    name = f"births_{person}_2023.csv"
    write_csv(workspace["raw"] / "health" / name, ["出生编号", "母亲身份证号"], [["B1", person]])
    result = ingest("births")
    con = db(workspace)
    try:
        ledger = con.execute("SELECT source_file, status, message_zh, message_en FROM audit.file_loads").fetchall()
        texts = _every_text_value(con)
    finally:
        con.close()
    assert ledger == [(f"health/births_{person[:6]}{'*' * 12}_2023.csv", "unrecognised", ledger[0][2], ledger[0][3])]
    assert not any(id_numbers_in(t) for t in texts)
    events = "\n".join(str(e) for e in result.all_events)
    assert person[:6] + "*" * 12 in events and not id_numbers_in(events)


def test_an_old_id_number_in_a_count_is_not_stored(workspace):
    old = make_id("19700101", "1", seq="44")
    old15 = old[:6] + old[8:17]
    write_csv(workspace["raw"] / "population" / "population_2023.csv", ["乡镇街道代码", "城乡", "性别", "年龄", "人口数"],
              [[T1, "城镇", "1", 30, 120], [T1, "城镇", "2", 30, old15]])
    ingest("population")
    con = db(workspace)
    try:
        assert con.execute("SELECT count(*) FROM raw.population").fetchone()[0] == 1
        assert con.execute("SELECT row_number, rule_id, value_masked FROM audit.quarantine").fetchall() == [
            (3, "id_number_in_value", old15[:6] + "*" * 9)]
    finally:
        con.close()


def _workbook(path, sheets: list[tuple[str, list[list[object]], bool]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    for name, rows, hidden in sheets:
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        if hidden:
            sheet.hide()
    book.close()


MEMBERS = ["村（居）委会代码", "类型", "身份证号", "性别", "出生日期", "职务"]


def _member(i: int) -> list[object]:
    return [f"{T1}{i:03d}", "居委会", make_id("19800101", "2", seq=f"{i:02d}"), "女", "1980-01-01", "委员"]


def test_a_cover_sheet_first_does_not_hide_the_data_sheet_and_the_ledger_says_which(workspace):
    path = workspace["raw"] / "civil_affairs" / "committee_members_2023.xlsx"
    _workbook(path, [
        ("封面", [["双清区村（居）委会成员统计"], ["填报单位：民政局"], ["2023年"]], False),
        ("说明", [["列名", "填写说明"], ["身份证号", "18位"], ["性别", "男/女"]], False),
        ("草稿", [MEMBERS, _member(9)], True),                   # hidden: never read
        ("成员名单", [MEMBERS, _member(1), _member(2), _member(3)], False),
    ])
    ingest("committee_members")
    con = db(workspace)
    try:
        status, loaded, sheet, notes = con.execute(
            "SELECT status, rows_loaded, sheet_name, notes FROM audit.file_loads").fetchone()
    finally:
        con.close()
    assert (status, loaded, sheet) == ("loaded", 3, "成员名单")
    assert "read '成员名单'" in notes and "'封面'" in notes and "'说明'" in notes and "'草稿'" in notes


def test_a_workbook_without_a_matching_sheet_is_rejected_naming_each_sheet(workspace):
    path = workspace["raw"] / "civil_affairs" / "committee_members_2023.xlsx"
    _workbook(path, [
        ("封面", [["双清区村（居）委会成员统计"]], False),
        ("统计表", [["甲", "乙"], [1, 2]], False),
        ("草稿", [MEMBERS, _member(9)], True),
    ])
    ingest("committee_members")
    con = db(workspace)
    try:
        status, message = con.execute("SELECT status, message_zh FROM audit.file_loads").fetchone()
    finally:
        con.close()
    assert status == "rejected"
    assert "“封面”" in message and "“统计表”" in message and "“草稿”：隐藏" in message
    assert "没有模板中的列名" in message
    # the clerk is told (cli run, cli status, feedback workbook: blocking_findings.py)
    from dagster_project.blocking_findings import format_findings, read_blocking_findings

    con = db(workspace)
    try:
        [finding] = read_blocking_findings(con)
    finally:
        con.close()
    assert (finding.kind, finding.department, finding.period_year, finding.rule) == (
        "rejected_file", "civil_affairs", 2023, "no_matching_sheet")
    text = format_findings([finding])
    assert ("[民政局 civil_affairs] 2023年度 civil_affairs/committee_members_2023.xlsx：整份文件拒收（no_matching_sheet）"
            in text) and f"处理办法：{message}" in text


def test_a_database_loaded_by_an_earlier_version_is_upgraded_once(workspace):
    """Files already loaded are not read again: what an earlier version stored in clear is rewritten once."""
    from dagster_project import database
    from dagster_project.contracts import load_contracts
    from dagster_project.ingest.upgrade import upgrade_stored_identifiers

    pupil = make_id("20150301", "1", seq="01")
    write_csv(workspace["raw"] / "education" / "students_2023.csv", STUDENTS,
              [["L1", pupil, "1", "2015-03-01", T1, "城镇", "4305020012", "小学", 2]])
    ingest("students")
    con = database.connect(str(workspace["warehouse"] / "work.duckdb"))
    try:
        # as an earlier version left it: the 学籍号 and a file name in clear, no upgrade marker
        con.execute("UPDATE raw.students SET student_id = ?", ["G" + pupil])
        con.execute("UPDATE audit.file_loads SET source_file = ?, message_zh = ?",
                    [f"education/students_{pupil}.csv", f"文件名 education/students_{pupil}.csv 不符合报送模板"])
        con.execute("DELETE FROM ingest_state.upgrades")
        assert upgrade_stored_identifiers(con, load_contracts(), KEY) == 3
        assert con.execute("SELECT student_id FROM raw.students").fetchone()[0] == "G" + pseudonym(KEY, pupil)
        assert con.execute("SELECT source_file FROM audit.file_loads").fetchone()[0] == (
            f"education/students_{pupil[:6]}{'*' * 12}.csv")
        assert not any(id_numbers_in(t) for t in _every_text_value(con))
        assert upgrade_stored_identifiers(con, load_contracts(), KEY) == 0  # once
    finally:
        con.close()
