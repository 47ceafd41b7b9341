"""Drop the hostile-file corpus into a raw folder, exactly as departments would.

The corpus is described by `expectations.yaml` (one entry per dropped file:
where it comes from, the name it is dropped as, and what ingestion must do
with it). Small text files are committed under `files/`; everything big or
binary (the 10 MB line, workbooks, PDF, garbage, zips) is generated here,
deterministically, by the function named in the entry's `generate:` field.

    python -m tests.corpus.build_corpus /tmp/raw      # to look at the files
"""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import sys
import zipfile
from pathlib import Path

import yaml

from dagster_project.ingest.idnumber import check_char

CORPUS_DIR = Path(__file__).resolve().parent
FILES_DIR = CORPUS_DIR / "files"
MANIFEST = CORPUS_DIR / "expectations.yaml"
FIXED_TIME = dt.datetime(2024, 1, 1)

POP_HEADER = ["乡镇街道代码", "城乡", "性别", "年龄", "人口数"]
COMMITTEE_HEADER = ["committee_code", "committee_type", "id_number", "sex", "birth_date", "role", "party_secretary"]
MARKER_POPULATION = 987654321   # the value in the file behind the outside symlink: must never be loaded


def make_id(birth: str, sex: str, seq: str, area: str = "430502") -> str:
    """A valid 18-digit ID number (digit 17 odd for men, even for women)."""
    first17 = f"{area}{birth}{seq}{'1' if sex == '1' else '2'}"
    return first17 + check_char(first17)


def corpus_ids() -> list[str]:
    """Every ID number written into the corpus: none may reach the warehouse in clear."""
    return [make_id("19800505", "2", "01"), make_id("19750303", "1", "02"), make_id("19820808", "2", "03"),
            make_id("19900101", "2", "11"), make_id("19910202", "2", "12"), make_id("19920303", "2", "13"),
            make_id("19930404", "2", "14"), make_id("20150301", "1", "21"), make_id("20140712", "2", "22"),
            make_id("19850707", "2", "31"), make_id("19880909", "1", "41"), make_id("19790101", "2", "42"),
            make_id("19890101", "2", "51"), make_id("19890202", "2", "52"), make_id("19890303", "2", "53")]


# ------------------------------------------------------------------------------------------- helpers
def _csv(header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    return ("\n".join(",".join(str(v) for v in row) for row in [header, *rows]) + "\n").encode(encoding)


def _population_rows(first_age: int, n: int = 3) -> list[list[object]]:
    towns = ["430502001", "430502002", "430502003", "430502004", "430502005", "430502006"]
    return [[towns[i % len(towns)], "城镇" if i % 2 == 0 else "乡村", 1 + i % 2, first_age + i // 2, 100 + first_age * 7 + i]
            for i in range(n)]


def _workbook(build) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"created": FIXED_TIME})
    build(workbook)
    workbook.close()
    return buffer.getvalue()


def _population_workbook(rows: list[list[object]], sheet: str = "population") -> bytes:
    def build(wb):
        ws = wb.add_worksheet(sheet)
        ws.write_row(0, 0, POP_HEADER)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, row)
    return _workbook(build)


def _rezip(data: bytes, member: str, edit) -> bytes:
    """Rewrite one member of a zip (used to take cached values out of formula cells)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info, edit(content) if info.filename == member else content)
    return out.getvalue()


# ------------------------------------------------------------------------------------------- generators
def population_csv(first_age: int, n: int = 3) -> bytes:
    return _csv(POP_HEADER, _population_rows(first_age, n))


def population_outside() -> bytes:
    """The file a symlink points to, outside MONITOR_RAW_DIR: its marker value must never be loaded."""
    return _csv(POP_HEADER, [["430502009", "城镇", 1, 77, MARKER_POPULATION]])


def ten_mb_single_line() -> bytes:
    return b"0123456789," * (10 * 1024 * 1024 // 11 + 1)


def ten_mb_line_in_data() -> bytes:
    rows = _population_rows(60, 4)
    head = _csv(POP_HEADER, rows[:2])
    tail = "\n".join(",".join(str(v) for v in r) for r in rows[2:]) + "\n"
    return head + b"430502009,\xe5\x9f\x8e\xe9\x95\x87,1,50," + b"9" * (10 * 1024 * 1024) + b"\n" + tail.encode()


def births_merged_header_xlsx() -> bytes:
    """A title row merged across the sheet, a two-level header (母亲 over 身份证号 | 出生日期),
    vertically merged header cells, and a township merged over two data rows."""
    def build(wb):
        ws = wb.add_worksheet("出生登记")
        date = wb.add_format({"num_format": "yyyy-mm-dd"})
        ws.merge_range("A1:J1", "双清区2021年度活产登记表（妇幼保健信息系统导出）")
        ws.merge_range("A2:A3", "出生编号")
        ws.merge_range("B2:C2", "母亲")
        ws.write("B3", "身份证号")
        ws.write("C3", "出生日期")
        for col, title in zip("DEFGHIJ", ["乡镇街道代码", "城乡", "婴儿性别", "出生日期", "出生体重（克）", "孕周", "住院分娩"]):
            ws.merge_range(f"{col}2:{col}3", title)
        mothers = [("19900101", "11"), ("19910202", "12"), ("19920303", "13"), ("19930404", "14")]
        for i, (birth, seq) in enumerate(mothers):
            r = 3 + i
            ws.write_string(r, 0, f"B2021{i + 1:03d}")
            ws.write_string(r, 1, make_id(birth, "2", seq))
            ws.write_string(r, 2, f"{birth[:4]}-{birth[4:6]}-{birth[6:]}")
            if i != 1:  # row 5's township comes from the merged range D4:D5
                ws.write_string(r, 3, ["430502001", None, "430502002", "430502003"][i])
            ws.write_string(r, 4, "城镇" if i % 2 == 0 else "乡村")
            ws.write_string(r, 5, "男" if i % 2 == 0 else "女")
            ws.write_datetime(r, 6, dt.datetime(2021, 3, 1 + i), date)
            ws.write_number(r, 7, 3100 + 50 * i)
            ws.write_number(r, 8, 39)
            ws.write_string(r, 9, "是")
        ws.merge_range("D4:D5", "430502001")
    return _workbook(build)


def population_named_sheet_xlsx() -> bytes:
    def build(wb):
        notes = wb.add_worksheet("填表说明")
        notes.write_column(0, 0, ["请按模板填写。", "人口数为年末常住人口。"])
        data = wb.add_worksheet("Population")
        data.write_row(0, 0, POP_HEADER)
        for i, row in enumerate(_population_rows(10), start=1):
            data.write_row(i, 0, row)
        spare = wb.add_worksheet("备用")
        spare.write_row(0, 0, POP_HEADER)
        spare.write_row(1, 0, ["430502001", "城镇", 1, 99, 1])
    return _workbook(build)


def population_first_visible_sheet_xlsx() -> bytes:
    def build(wb):
        old = wb.add_worksheet("旧数据")
        old.write_row(0, 0, POP_HEADER)
        old.write_row(1, 0, ["430502001", "城镇", 1, 98, 5])
        old.hide()
        data = wb.add_worksheet("数据")
        data.write_row(0, 0, POP_HEADER)
        for i, row in enumerate(_population_rows(14), start=1):
            data.write_row(i, 0, row)
        data.activate()
        total = wb.add_worksheet("汇总")
        total.write_row(0, 0, ["合计", 999])
    return _workbook(build)


def population_formulas_xlsx() -> bytes:
    """Cached values are used; E4 has a formula without a cached value, E5 an error (#DIV/0!);
    F6, in an unmapped column, also lacks its cached value (and must not matter)."""
    def build(wb):
        ws = wb.add_worksheet("population")
        ws.write_row(0, 0, [*POP_HEADER, "备注"])
        rows = _population_rows(20, 5)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, row[:4])
        ws.write_formula("E2", "=400+412", None, 812)
        ws.write_formula("E3", "=388+388", None, 776)
        ws.write_formula("E4", "=455*1", None, 455)
        ws.write_formula("E5", "=1/0", None, "#DIV/0!")
        ws.write_number("E6", 430)
        ws.write_formula("F6", "=E6*0", None, 0)

    def strip_cached(xml: bytes) -> bytes:
        for ref in (b"E4", b"F6"):
            xml, n = re.subn(rb'(<c r="' + ref + rb'"[^>]*>)(<f>[^<]*</f>)<v>[^<]*</v>', rb"\1\2", xml)
            assert n == 1, ref
        return xml
    return _rezip(_workbook(build), "xl/worksheets/sheet1.xml", strip_cached)


def population_xlsx_named_csv() -> bytes:
    return _population_workbook(_population_rows(26))


def pdf_document() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def binary_garbage() -> bytes:
    data = random.Random(11643).randbytes(64 * 1024)
    return b"\x00\x01" + data  # never starts like a known format


def truncated_xlsx() -> bytes:
    data = _population_workbook(_population_rows(30))
    return data[: len(data) // 2]


def zip_not_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("population_2031.csv", date_time=FIXED_TIME.timetuple()[:6]), population_csv(31))
    return out.getvalue()


def old_xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook".ljust(64, b"\x00") * 4


def encrypted_xlsx() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le").ljust(64, b"\x00") * 2


def empty_sheet_xlsx() -> bytes:
    return _workbook(lambda wb: wb.add_worksheet("population"))


def header_only_xlsx() -> bytes:
    return _population_workbook([])


def committee_headerless_csv() -> bytes:
    ids = corpus_ids()
    rows = [["430502100201", "村委会", ids[0], 2, "1980-05-05", "主任", "否"],
            ["430502100201", "村委会", ids[1], 1, "1975-03-03", "委员", "是"],
            ["430502100202", "村委会", ids[2], 2, "1982-08-08", "委员", "否"]]
    return ("\n".join(",".join(str(v) for v in r) for r in rows) + "\n").encode()


def committee_id_in_wrong_column_csv() -> bytes:
    ids = corpus_ids()
    return _csv(COMMITTEE_HEADER, [
        ["430502101201", "村委会", ids[10], 1, "1988-09-09", "主任", "是"],
        ["430502101201", "村委会", "1979-01-01", 2, ids[11], "委员", "否"],   # ID and birth date swapped
    ])


def committee_numeric_id_xlsx() -> bytes:
    ids = corpus_ids()

    def build(wb):
        ws = wb.add_worksheet("committee_members")
        ws.write_row(0, 0, COMMITTEE_HEADER)
        people = [(ids[12], "2", "1989-01-01", "主任"), (ids[13], "2", "1989-02-02", "委员"), (ids[14], "2", "1989-03-03", "委员")]
        for r, (id_number, sex, birth, role) in enumerate(people, start=1):
            ws.write_row(r, 0, ["430502202201", "村委会"])
            if r == 2:
                ws.write_number(r, 2, int(id_number))   # typed into a number cell: Excel keeps 15 digits
            else:
                ws.write_string(r, 2, id_number)
            ws.write_row(r, 3, [sex, birth, role, "否"])
    return _workbook(build)


# ------------------------------------------------------------------------------------------- good files
def good_population() -> bytes:
    return population_csv(0, 6)


def good_births() -> bytes:
    ids = corpus_ids()
    header = ["出生编号", "母亲身份证号", "母亲出生日期", "乡镇街道代码", "城乡", "婴儿性别", "出生日期", "出生体重（克）", "孕周", "住院分娩"]
    return _csv(header, [["B2023001", ids[3], "1990-01-01", "430502001", "城镇", 1, "2023-03-01", 3200, 39, "是"],
                         ["B2023002", ids[4], "1991-02-02", "430502100", "乡村", 2, "2023-04-11", 2950, 38, "是"],
                         ["B2023003", "", "1993-04-04", "430502202", "乡村", 2, "2023-05-21", 3400, 40, "否"]])


def good_students() -> bytes:
    ids = corpus_ids()
    header = ["student_id", "id_number", "sex", "birth_date", "township_code", "residence", "school_code", "school_type",
              "grade", "graduating", "left_behind", "migrant", "disability"]
    return _csv(header, [["G430502201503010001", ids[7], 1, "2015-03-01", "430502001", "城镇", "2143050201", "小学", 3, "否", "否", "否", "否"],
                         ["G430502201407120002", ids[8], 2, "2014-07-12", "430502101", "乡村", "2143050202", "小学", 4, "否", "是", "否", "否"]])


def good_committee_members_xlsx() -> bytes:
    ids = corpus_ids()

    def build(wb):
        ws = wb.add_worksheet("committee_members")
        ws.write_row(0, 0, COMMITTEE_HEADER)
        ws.write_row(1, 0, ["430502100201", "村委会", ids[0], "2", "1980-05-05", "主任", "否"])
        ws.write_row(2, 0, ["430502100201", "村委会", ids[1], "1", "1975-03-03", "委员", "是"])
        ws.write_row(3, 0, ["430502001001", "居委会", ids[2], "2", "1982-08-08", "委员", "否"])
    return _workbook(build)


def good_cases() -> bytes:
    ids = corpus_ids()
    header = ["case_id", "victim_id_number", "victim_sex", "victim_birth_date", "township_code", "case_type",
              "report_date", "warning_letter", "protection_order"]
    return _csv(header, [["J2023-001", ids[9], 2, "1985-07-07", "430502002", "家庭暴力", "2023-05-06", "是", "否"],
                         ["J2023-002", "", 2, "2012-02-02", "430502005", "猥亵", "2023-08-19", "否", "否"]])


def good_forms() -> bytes:
    return _csv(["item_code", "township_code", "sex", "age_group", "value"],
                [["life_expectancy", "430502", "2", "_T", "80.1"], ["life_expectancy", "430502", "1", "_T", "76.3"]])


# ------------------------------------------------------------------------------------------- building
def load_manifest() -> list[dict]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["files"]


def content_of(entry: dict) -> bytes:
    if "file" in entry:
        return (FILES_DIR / entry["file"]).read_bytes()
    generator = globals()[entry["generate"]]
    return generator(**(entry.get("args") or {}))


def build(raw_dir: Path, outside_dir: Path) -> list[dict]:
    """Write every corpus entry into `raw_dir` (links point into `outside_dir`); return the manifest."""
    entries = load_manifest()
    for entry in entries:
        target = raw_dir / entry["drop_as"]
        assert target.resolve().is_relative_to(raw_dir.resolve()), entry["drop_as"]
        target.parent.mkdir(parents=True, exist_ok=True)
        link = entry.get("symlink")
        if link == "file":
            outside = outside_dir / f"{entry['id']}.csv"
            outside.write_bytes(content_of(entry))
            target.symlink_to(outside)
        elif link == "directory":
            folder = outside_dir / entry["id"]
            folder.mkdir()
            (folder / entry["inner_name"]).write_bytes(content_of(entry))
            target.symlink_to(folder, target_is_directory=True)
        else:
            target.write_bytes(content_of(entry))
    return entries


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus_raw")
    outside = out.parent / f"{out.name}_outside"
    out.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    for e in build(out, outside):
        print(f"{e['drop_as']}: {e['status']}")
