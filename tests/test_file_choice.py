"""One current file per extract and period, by a rule a clerk can predict; hidden XLSX rows and sheets;
numbers that cannot be stored exactly.

* Several files for one extract and period (a CSV beside an XLSX, `births_2023.csv` beside
  `Births 2023.xlsx`): the most recently received file (modification time in raw/) is current, the
  other is `superseded` with the reason, whatever the names' order; reruns keep it; touching the
  older file makes it the newest (ingest/file_choice.py).
* Rows hidden in a worksheet are quarantined as `hidden_row`; a hidden sheet is never read.
* An integer of more than 15 digits (or in Excel's scientific form) is quarantined as
  `number_not_exact` naming its column: never rounded, never NULL, never `missing_required`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import openpyxl
import pytest
import xlsxwriter
from dagster import DagsterInstance, materialize

from dagster_project.contracts import load_contracts
from dagster_project.ingest.discovery import discover
from dagster_project.ingest.loader import load_files
from tests.conftest import TEST_KEY
from tests.corpus.build_corpus import POP_HEADER
from tests.helpers import write_csv
from tests.test_ingestion import BIRTH_HEADER_ZH, birth

CONTRACTS = load_contracts()
T0 = 1_700_000_000 * 10**9  # a fixed modification time (ns): the tests set every file's time explicitly
MINUTE = 60 * 10**9


def write_xlsx(path: Path, header: list[str], rows: list[list[object]], sheet: str = "Sheet1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        ws.write_row(i, 0, row)
    wb.close()
    return path


def received(path: Path, ns: int) -> None:
    os.utime(path, ns=(ns, ns))


def run_births(workspace) -> list[str]:
    """Materialise the births asset through Dagster; the step's warnings."""
    from dagster_project.defs.ingestion.assets import build_extract_assets
    from dagster_project.resources import WarehouseResource

    assets = [a for a in build_extract_assets() if a.key.path[-1] == "births"]
    with DagsterInstance.ephemeral() as instance:
        result = materialize(assets, resources={"warehouse": WarehouseResource()}, instance=instance)
        assert result.success
        return [e.user_message for e in instance.all_logs(result.run_id)
                if e.level == 30 and e.user_message]  # logging.WARNING


def state(workspace) -> tuple[list, list]:
    with duckdb.connect(str(workspace["warehouse"] / "work.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT birth_id, birth_weight_g, _source_file FROM raw.births ORDER BY birth_id").fetchall()
        ledger = con.execute(
            "SELECT source_file, status, is_current, rows_read, rows_loaded, message_zh, notes "
            "FROM audit.file_loads ORDER BY source_file").fetchall()
    return rows, ledger


@pytest.mark.parametrize("old_name", ["births_2023.xlsx", "Births 2023.xlsx"],
                         ids=["older-sorts-after-newer", "older-sorts-before-newer"])
def test_the_most_recently_received_file_of_a_period_is_current(workspace, old_name):
    health = workspace["raw"] / "health"
    old = write_xlsx(health / old_name, BIRTH_HEADER_ZH, [birth(i, w="3200") for i in (1, 2, 3)])
    new = write_csv(health / "births_2023.csv", BIRTH_HEADER_ZH, [birth(i, w="3300") for i in (1, 2)])  # the correction
    received(old, T0)
    received(new, T0 + MINUTE)
    old_rel, new_rel = f"health/{old_name}", "health/births_2023.csv"

    warnings = run_births(workspace)
    rows, ledger = state(workspace)
    assert rows == [("B1", 3300, new_rel), ("B2", 3300, new_rel)]
    by_file = {r[0]: r[1:] for r in ledger}
    assert by_file[new_rel][:4] == ("loaded", True, 2, 2)
    assert by_file[old_rel][:4] == ("superseded", False, 0, 0)     # left out, not loaded
    assert by_file[old_rel][4] == "同一报送期另有更新的文件 health/births_2023.csv（接收时间较晚），本文件未采用。"
    assert json.loads(by_file[old_rel][5]) == ["superseded_by: health/births_2023.csv"]
    assert any(old_rel in w and "superseded" in w and new_rel in w for w in warnings)

    # the clerk sees it in the feedback workbook
    from dagster_project.config import get_settings
    from dagster_project.exports.feedback import write_feedback_files

    write_feedback_files(get_settings())
    book = openpyxl.load_workbook(workspace["exports"] / "feedback" / "health_2023.xlsx", read_only=True)
    summary = [r for r in book["概要 Summary"].iter_rows(values_only=True) if r and r[0] in (old_rel, new_rel)]
    assert sorted((r[0], r[2]) for r in summary) == sorted([(old_rel, "superseded"), (new_rel, "loaded")])
    assert any("接收时间较晚" in str(v) for r in summary if r[0] == old_rel for v in r)
    book.close()

    # a rerun with the same files changes nothing: the newer file stays current, the ledger as it was
    run_births(workspace)
    assert state(workspace) == (rows, ledger)

    # the older file touched (received again, later): it is now the newest and becomes current
    received(old, T0 + 2 * MINUTE)
    run_births(workspace)
    rows, ledger = state(workspace)
    assert rows == [("B1", 3200, old_rel), ("B2", 3200, old_rel), ("B3", 3200, old_rel)]
    by_file = {r[0]: r[1:] for r in ledger}
    assert len(ledger) == 2                                          # one ledger row per file
    assert by_file[old_rel][:4] == ("loaded", True, 3, 3)
    assert by_file[new_rel][:4] == ("superseded", False, 2, 2)      # its earlier load, now replaced
    assert by_file[new_rel][4] == f"同一报送期另有更新的文件 {old_rel}（接收时间较晚），本文件未采用。"
    run_births(workspace)
    assert state(workspace) == (rows, ledger)


def test_identical_copies_keep_the_first_name_whatever_their_times(workspace):
    """Two names holding the same bytes are one submission: the first by name is loaded, the other is a
    duplicate, whichever copy's time is later (so a tick between two copies cannot change the choice)."""
    health = workspace["raw"] / "health"
    newer = write_csv(health / "births_2023.csv", BIRTH_HEADER_ZH, [birth(1)])
    older = health / "births 2023.csv"                     # sorts first (a space before the underscore)
    older.write_bytes(newer.read_bytes())
    received(older, T0)
    received(newer, T0 + MINUTE)
    with duckdb.connect(str(workspace["warehouse"] / "work.duckdb")) as con:
        results = {r.source_file: r.status for r in
                   load_files(con, discover(workspace["raw"], CONTRACTS), CONTRACTS, TEST_KEY.encode())}
    assert results == {"health/births 2023.csv": "loaded", "health/births_2023.csv": "duplicate_file"}


def test_a_newer_file_that_is_rejected_leaves_the_current_one_in_place(workspace):
    health = workspace["raw"] / "health"
    old = write_csv(health / "births_2023.csv", BIRTH_HEADER_ZH, [birth(1), birth(2)])
    received(old, T0)
    db = workspace["warehouse"] / "work.duckdb"
    with duckdb.connect(str(db)) as con:
        list(load_files(con, discover(workspace["raw"], CONTRACTS), CONTRACTS, TEST_KEY.encode()))
        broken = write_xlsx(health / "births_2023.xlsx", BIRTH_HEADER_ZH[:3], [birth(3)[:3]])  # columns missing
        received(broken, T0 + MINUTE)
        results = {r.source_file: (r.status, r.message_zh) for r in
                   load_files(con, discover(workspace["raw"], CONTRACTS), CONTRACTS, TEST_KEY.encode())}
        assert results["health/births_2023.xlsx"][0] == "rejected"
        assert results["health/births_2023.csv"][0] == "unchanged"
        assert "health/births_2023.xlsx 未能入库" in results["health/births_2023.csv"][1]
        assert con.execute("SELECT birth_id FROM raw.births ORDER BY 1").fetchall() == [("B1",), ("B2",)]
        assert con.execute("SELECT source_file FROM audit.file_loads WHERE is_current").fetchall() == [
            ("health/births_2023.csv",)]


# ------------------------------------------------------------------------------------ hidden rows and sheets
def load_one(workspace, path: Path) -> tuple[duckdb.DuckDBPyConnection, object]:
    con = duckdb.connect(str(workspace["warehouse"] / "work.duckdb"))
    (dropped,) = discover(workspace["raw"], CONTRACTS)
    assert dropped.path == path
    (result,) = load_files(con, [dropped], CONTRACTS, TEST_KEY.encode())
    return con, result


def test_hidden_rows_are_quarantined_and_a_hidden_sheet_is_never_read(workspace):
    path = workspace["raw"] / "population" / "population_2023.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(str(path))
    old = wb.add_worksheet("population")      # named like the extract, but hidden: not the data sheet
    old.write_row(0, 0, POP_HEADER)
    old.write_row(1, 0, ["430502001", "城镇", 1, 98, 5])
    old.hide()
    data = wb.add_worksheet("人口")
    data.write_row(0, 0, POP_HEADER)
    rows = [["430502001", "城镇", 1, 30, 500], ["430502001", "城镇", 2, 30, 510],   # rows 2, 3
            ["430502002", "乡村", 1, 30, 520], ["430502002", "乡村", 2, 30, 530]]   # rows 4, 5
    for i, row in enumerate(rows, start=1):
        data.write_row(i, 0, row)
    data.set_row(2, None, None, {"hidden": True})   # row 3 as the clerk counts
    data.set_row(4, None, None, {"hidden": True})   # row 5
    data.activate()
    wb.close()

    con, result = load_one(workspace, path)
    with con:
        assert con.execute("SELECT _row_number, population FROM raw.population ORDER BY 1").fetchall() == [
            (2, 500), (4, 520)]
        assert con.execute("SELECT row_number, column_name, rule_id, reason_zh FROM audit.quarantine ORDER BY 1"
                           ).fetchall() == [
            (3, "*", "hidden_row", "该行在工作表中被隐藏，未入库；如该行是有效数据请取消隐藏后重新报送。"),
            (5, "*", "hidden_row", "该行在工作表中被隐藏，未入库；如该行是有效数据请取消隐藏后重新报送。")]
        read, loaded, quarantined, notes = con.execute(
            "SELECT rows_read, rows_loaded, rows_quarantined, notes FROM audit.file_loads").fetchone()
    assert (read, loaded, quarantined) == (4, 2, 2) and read == loaded + quarantined
    assert "read '人口'" in notes and "'population'" in notes.split("隐藏的工作表未读取")[1]
    assert result.quarantined_by_rule == {"hidden_row": 2}


def test_a_workbook_whose_sheets_are_all_hidden_is_rejected(workspace):
    path = workspace["raw"] / "population" / "population_2023.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("说明").write_row(0, 0, ["见隐藏表"])
    data = wb.add_worksheet("population")
    data.write_row(0, 0, POP_HEADER)
    data.write_row(1, 0, ["430502001", "城镇", 1, 30, 500])
    wb.close()
    # xlsxwriter refuses to hide every sheet: hide the first one in the workbook XML afterwards
    _set_all_sheets_hidden(path)
    con, result = load_one(workspace, path)
    with con:
        assert result.status == "rejected" and "全部被隐藏" in result.message_zh
        assert con.execute("SELECT count(*) FROM raw.population").fetchone()[0] == 0


def _set_all_sheets_hidden(path: Path) -> None:
    import re
    import zipfile

    source = zipfile.ZipFile(path)
    members = {i.filename: source.read(i.filename) for i in source.infolist()}
    source.close()
    members["xl/workbook.xml"] = re.sub(rb'<sheet (?![^>]*state=)', b'<sheet state="hidden" ', members["xl/workbook.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members.items():
            target.writestr(name, content)


# ------------------------------------------------------------------------------------ numbers not exact
SEVENTEEN = 12345678901234567      # above 2^53: a float would store 12345678901234568
TWENTY = 12345678901234567890      # beyond BIGINT: it used to become NULL


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_numbers_that_cannot_be_stored_exactly_are_quarantined_naming_the_column(workspace, fmt):
    rows = [["430502001", "城镇", 1, 30, 500],
            ["430502001", "城镇", 2, 30, SEVENTEEN],
            ["430502002", "乡村", 1, 30, TWENTY],
            ["430502002", "乡村", 2, 30, 123456789012345]]   # 15 digits: exact, loaded as it is
    path = workspace["raw"] / "population" / f"population_2023.{fmt}"
    if fmt == "csv":
        write_csv(path, POP_HEADER, rows)
    else:
        write_xlsx(path, POP_HEADER, rows, sheet="population")   # numeric cells (floats in the file)
    con, result = load_one(workspace, path)
    with con:
        assert con.execute("SELECT _row_number, population FROM raw.population ORDER BY 1").fetchall() == [
            (2, 500), (5, 123456789012345)]
        found = con.execute("SELECT row_number, column_name, rule_id, reason_zh, value_masked "
                            "FROM audit.quarantine ORDER BY 1").fetchall()
        ledger = con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM audit.file_loads").fetchone()
    assert [f[:3] for f in found] == [(3, "population", "number_not_exact"), (4, "population", "number_not_exact")]
    assert all("超过15位有效数字" in f[3] for f in found)
    assert not any(f[2] in ("missing_required", "invalid_number", "out_of_range") for f in found)
    assert ledger == (4, 2, 2)
    # the value shown to the clerk is the cell as sent (ID-like digit runs masked), never a rounded number
    shown = [f[4] for f in found]
    assert "12345678901234568" not in " ".join(shown) and all(s for s in shown)


def test_a_long_number_in_a_field_the_record_can_do_without_blanks_only_that_field_with_the_reason(workspace):
    """Birth weight is not row-critical: the birth is loaded, its weight left out (NULL, named in
    `_invalid_fields`) with `number_not_exact` in audit.row_flags; the weight is never a rounded number."""
    path = write_csv(workspace["raw"] / "health" / "births_2023.csv", BIRTH_HEADER_ZH,
                     [birth(1), birth(2, w=str(SEVENTEEN)), birth(3, w=str(TWENTY))])
    con, _ = load_one(workspace, path)
    with con:
        weights = con.execute("SELECT birth_id, birth_weight_g, _invalid_fields FROM raw.births ORDER BY 1").fetchall()
        flags = con.execute("SELECT row_number, column_name, rule_id, action FROM audit.row_flags "
                            "WHERE column_name = 'birth_weight_g' ORDER BY 1").fetchall()
        quarantined = con.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0]
    assert [w[:2] for w in weights] == [("B1", 3200), ("B2", None), ("B3", None)]
    assert all("birth_weight_g" in str(w[2]) for w in weights[1:])
    assert flags == [(3, "birth_weight_g", "number_not_exact", "exclude_field"),
                     (4, "birth_weight_g", "number_not_exact", "exclude_field")]
    assert quarantined == 0
