"""Ingestion through the Dagster extract assets, checked in the warehouse tables."""
from __future__ import annotations

import duckdb
import pytest

from dagster_project.ingest.idnumber import pseudonym
from tests.conftest import TEST_KEY
from tests.helpers import ingest, make_id, write_csv

pytestmark = pytest.mark.slow(seconds=20)

BIRTH_HEADER_ZH = ["出生编号", "母亲身份证号", "母亲出生日期", "乡镇街道代码", "城乡", "婴儿性别", "出生日期",
                   "出生体重（克）", "孕周", "住院分娩"]


def birth(i: int, **overrides) -> list[object]:
    row = {"id": f"B{i}", "mid": make_id("19900101", "2", seq=f"{i % 100:02d}"), "mbd": "1990-01-01",
           "town": "430502001", "res": "城镇", "sex": "1" if i % 2 else "2", "bd": "2023-03-01",
           "w": "3200", "gw": "39", "hosp": "是"}
    row.update(overrides)
    return list(row.values())


def db(workspace) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True)


def test_gbk_file_with_chinese_headers_is_loaded_and_pseudonymised(workspace):
    rows = [birth(i) for i in range(1, 6)]
    write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, rows, encoding="gbk")
    ingest("births")
    con = db(workspace)
    loaded = con.execute("SELECT birth_id, mother_pid, child_sex, residence, hospital_delivery, _row_number "
                         "FROM raw.births ORDER BY _row_number").fetchall()
    assert [r[0] for r in loaded] == ["B1", "B2", "B3", "B4", "B5"]
    assert loaded[0][1] == pseudonym(TEST_KEY.encode(), rows[0][1])
    assert loaded[0][2:] == ("1", "urban", True, 2)
    ledger = con.execute("SELECT encoding, rows_read, rows_loaded, rows_quarantined, status FROM audit.file_loads").fetchall()
    assert ledger == [("gb18030", 5, 5, 0, "loaded")]
    # the raw ID number is nowhere in the database file
    assert rows[0][1].encode() not in (workspace["warehouse"] / "work.duckdb").read_bytes()


def test_row_defects_quarantine_the_row_or_blank_the_field_with_row_number_and_rule(workspace):
    rows = [
        birth(1),
        birth(2, mid=make_id(seq="02")[:-1] + ("0" if make_id(seq="02")[-1] != "0" else "1")),  # bad check digit
        birth(3, town="430502999"),                  # unknown township
        birth(4, bd="2023-02-30"),                   # impossible date
        birth(5, mid="4.30502E+17"),                 # Excel-mangled ID
        birth(6, bd="2023-03-01", mbd="2024-01-01"),  # mother born after the child
        birth(7, sex="２"),                           # full-width digit: normalised, loaded
        birth(8, bd="2023/03/05"),                   # date variant: normalised, loaded
        birth(9, mid=make_id(seq="09").lower()),     # lower-case x or digits: loaded
        birth(10, sex="1"), birth(10, sex="1"),      # exact duplicate row
    ]
    write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, rows)
    ingest("births")
    con = db(workspace)
    # The township places the record and a copy is a copy: those rows stay out.
    quarantined = con.execute("SELECT row_number, rule_id FROM audit.quarantine ORDER BY row_number").fetchall()
    assert quarantined == [(4, "unknown_township"), (12, "duplicate_row")]
    read, loaded, q = con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM audit.file_loads").fetchone()
    assert (read, loaded, q) == (11, 9, 2)
    assert con.execute("SELECT count(*) FROM raw.births").fetchone()[0] == loaded
    # A bad ID, date or date order only blanks the field(s): both dates when they contradict each other.
    blanked = con.execute(
        "SELECT _row_number, _invalid_fields, mother_pid IS NULL, birth_date IS NULL, mother_birth_date IS NULL "
        "FROM raw.births WHERE len(_invalid_fields) > 0 ORDER BY 1").fetchall()
    assert blanked == [(3, ["mother_id_number"], True, False, False), (5, ["birth_date"], False, True, False),
                       (6, ["mother_id_number"], True, False, False),
                       (7, ["birth_date", "mother_birth_date"], False, True, True)]
    assert con.execute("SELECT count(*) FROM raw.births WHERE _invalid_fields = []").fetchone()[0] == 5
    excluded = con.execute("SELECT row_number, rule_id FROM audit.row_flags WHERE action = 'exclude_field' "
                           "ORDER BY 1").fetchall()
    assert excluded == [(3, "id_bad_checksum"), (5, "impossible_date"), (6, "id_excel_mangled"),
                        (7, "dates_out_of_order")]
    flags = dict(con.execute("SELECT rule_id, count(*) FROM audit.row_flags GROUP BY 1").fetchall())
    assert flags["fullwidth_characters"] == 1 and flags["date_format_variant"] == 1
    reason = con.execute("SELECT reason_zh, reason_en, value_masked FROM audit.row_flags "
                         "WHERE rule_id = 'id_bad_checksum'").fetchone()
    assert reason[0] == "身份证号校验位错误，请核对号码。该字段已置空，该记录仍计入不需要此字段的指标。"
    assert reason[1].endswith("the record still counts where this field is not needed.")
    assert reason[2].endswith("************")


def test_resubmission_replaces_its_partition_only_and_unchanged_files_are_skipped(workspace):
    write_csv(workspace["raw"] / "health" / "births_2022.csv", BIRTH_HEADER_ZH, [birth(i, bd="2022-03-01") for i in range(1, 4)])
    path = write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, [birth(i) for i in range(10, 14)])
    ingest("births")
    ingest("births")  # nothing changed: nothing reloaded
    con = db(workspace)
    assert con.execute("SELECT count(*) FROM audit.file_loads").fetchone()[0] == 2
    con.close()
    write_csv(path, BIRTH_HEADER_ZH, [birth(i) for i in range(10, 12)])  # corrected resubmission
    ingest("births")
    con = db(workspace)
    counts = dict(con.execute("SELECT _period_year, count(*) FROM raw.births GROUP BY 1").fetchall())
    assert counts == {2022: 3, 2023: 2}
    statuses = con.execute("SELECT period_year, status, is_current FROM audit.file_loads ORDER BY period_year, loaded_at, status").fetchall()
    assert sorted(statuses) == sorted([(2022, "loaded", True), (2023, "superseded", False), (2023, "loaded", True)])


def test_file_missing_a_required_column_is_rejected_whole_and_keeps_previous_data(workspace):
    path = write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, [birth(1), birth(2)])
    ingest("births")
    header = [h for h in BIRTH_HEADER_ZH if h != "出生日期"]
    write_csv(path, header, [[v for j, v in enumerate(birth(i)) if j != 6] for i in (3, 4, 5)])
    ingest("births")
    con = db(workspace)
    assert con.execute("SELECT birth_id FROM raw.births ORDER BY 1").fetchall() == [("B1",), ("B2",)]
    rejected = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined, message_zh FROM audit.file_loads WHERE status = 'rejected'"
    ).fetchone()
    assert rejected[:3] == (3, 0, 3) and "birth_date" in rejected[3]
    assert con.execute("SELECT DISTINCT rule_id FROM audit.quarantine").fetchall() == [("missing_required_column",)]


def test_unreadable_and_unrecognised_files_are_recorded_and_others_still_load(workspace):
    (workspace["raw"] / "health").mkdir()
    (workspace["raw"] / "health" / "deaths_2023.csv").write_bytes(b"")
    (workspace["raw"] / "health" / "notes from clerk.csv").write_text("hello", encoding="utf-8")
    write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH, [birth(1)])
    ingest()
    con = db(workspace)
    ledger = {r[0]: r[1:] for r in con.execute("SELECT source_file, status, message_en FROM audit.file_loads").fetchall()}
    assert ledger["health/deaths_2023.csv"][0] == "rejected" and "empty" in ledger["health/deaths_2023.csv"][1]
    assert ledger["health/notes from clerk.csv"][0] == "unrecognised"
    assert ledger["health/births_2023.csv"][0] == "loaded"


def test_xlsx_with_date_cells_and_english_headers(workspace):
    import datetime as dt

    import xlsxwriter

    path = workspace["raw"] / "civil_affairs" / "committee_members_2023.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("committee_members")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["committee_code", "committee_type", "id_number", "sex", "birth_date", "role", "party_secretary"])
    for i, (sex, role) in enumerate([("2", "主任"), ("1", "委员"), ("2", "委员")], start=1):
        ws.write_row(i, 0, ["430502100201", "村委会", make_id("19800505", sex, seq=f"{i:02d}"), sex])
        ws.write_datetime(i, 4, dt.datetime(1980, 5, 5), date_fmt)
        ws.write_row(i, 5, [role, "否"])
    wb.close()
    ingest("committee_members")
    con = db(workspace)
    rows = con.execute("SELECT committee_type, sex, birth_date, role FROM raw.committee_members ORDER BY _row_number").fetchall()
    assert rows[0] == ("village", "2", dt.date(1980, 5, 5), "chair") and len(rows) == 3


def test_production_without_key_refuses_to_start(workspace, monkeypatch):
    from dagster_project import cli

    monkeypatch.setenv("MONITOR_ENV", "production")
    monkeypatch.delenv("MONITOR_HMAC_KEY")
    assert cli.main(["run"]) == 2
    assert not (workspace["warehouse"] / "work.duckdb").exists()


def test_reading_the_next_file_ahead_changes_nothing_in_the_warehouse(workspace, tmp_path):
    """The extract assets read each next file on a helper thread (ingest/read_ahead.py): the ledger, the
    audit tables and the raw rows are exactly those of loading every file on its own, one after another."""
    import shutil

    from dagster_project.config import PROJECT_ROOT, get_settings
    from dagster_project.contracts import load_contracts
    from dagster_project.ingest.discovery import discover
    from dagster_project.ingest.loader import load_file

    for folder in ("health", "forms"):  # small CSV and XLSX files, forms repeating other periods, defects
        shutil.copytree(PROJECT_ROOT / "raw" / folder, workspace["raw"] / folder)
    (workspace["raw"] / "health" / "deaths_2018.csv").write_bytes(b"\x00\xff not a table")  # rejected whole
    names = ("births", "deaths", "forms")
    ingest(*names)

    contracts = load_contracts()
    alone = duckdb.connect(str(tmp_path / "alone.duckdb"))
    try:
        for name in names:
            for dropped in discover(get_settings().raw_dir, contracts, name):
                load_file(alone, dropped, contracts, TEST_KEY.encode())
        alone.execute(f"ATTACH '{workspace['warehouse'] / 'work.duckdb'}' AS ahead (READ_ONLY)")
        tables = [f"raw.{n}" for n in names] + ["audit.quarantine", "audit.row_flags", "audit.file_loads"]
        for table in tables:
            columns = [c for (c,) in alone.execute(
                f"SELECT column_name FROM information_schema.columns WHERE table_catalog = 'alone' "
                f"AND table_schema || '.' || table_name = '{table}' AND column_name <> 'loaded_at'").fetchall()]
            listed = ", ".join(f'"{c}"' for c in columns)
            count = alone.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            differ = alone.execute(f"SELECT count(*) FROM ((SELECT {listed} FROM alone.{table} EXCEPT ALL "
                                   f"SELECT {listed} FROM ahead.{table}) UNION ALL (SELECT {listed} FROM "
                                   f"ahead.{table} EXCEPT ALL SELECT {listed} FROM alone.{table}))").fetchone()[0]
            assert count > 0 and differ == 0, table
        statuses = dict(alone.execute("SELECT status, count(*) FROM audit.file_loads GROUP BY 1").fetchall())
        assert statuses["rejected"] >= 1 and statuses["loaded"] >= 60
    finally:
        alone.close()


CASE_HEADER = ["case_id", "victim_id_number", "victim_sex", "victim_birth_date", "township_code", "case_type", "report_date"]


def test_an_invalid_id_number_still_makes_a_duplicate_within_and_across_files(workspace):
    good = make_id("19900101", "2", seq="31")
    bad = good[:17] + ("0" if good[17] != "0" else "1")          # wrong check digit: blanked, pseudonym NULL
    other = make_id("19910101", "2", seq="32")
    other_bad = other[:17] + ("X" if other[17] != "X" else "0")  # another victim's (also wrong) number
    row = ["C1", bad, "2", "1990-01-01", "430502001", "家庭暴力"]
    write_csv(workspace["raw"] / "justice" / "cases_2022.csv", CASE_HEADER, [
        [*row, "2022-05-01"],
        [*row, "2022-05-02"],                                      # same case, same bad ID: the same victim
        ["C1", other_bad, "2", "1991-01-01", "430502001", "家庭暴力", "2022-05-01"],  # other text: another victim
    ])
    write_csv(workspace["raw"] / "justice" / "cases_2023.csv", CASE_HEADER, [
        [*row, "2023-01-03"],                                      # reported again the next year
        ["C2", good, "2", "1990-01-01", "430502001", "家庭暴力", "2023-01-03"],
    ])
    ingest("cases")
    con = db(workspace)
    quarantined = con.execute("SELECT source_file, row_number, rule_id FROM audit.quarantine ORDER BY 1, 2").fetchall()
    assert quarantined == [("justice/cases_2022.csv", 3, "duplicate_key"),
                           ("justice/cases_2023.csv", 2, "duplicate_across_files")]
    loaded = con.execute("SELECT _source_file, _row_number, victim_pid IS NULL, _invalid_fields FROM raw.cases "
                         "ORDER BY 1, 2").fetchall()
    assert loaded == [("justice/cases_2022.csv", 2, True, ["victim_id_number"]),
                      ("justice/cases_2022.csv", 4, True, ["victim_id_number"]),
                      ("justice/cases_2023.csv", 3, False, [])]
