"""Property-based tests of the reader, the ID-number rules and file discovery on generated hostile input.

* The reader, fed random bytes or random CSV-ish text in random (and mixed, and truncated)
  encodings, returns a table whose rows add up, or raises `ExtractFileError` with a clear
  message; nothing else escapes, and its catch-all (`unreadable_table`) is never needed.
* A well-formed CSV comes back cell for cell, whatever its encoding, separator or line ends.
* ID-number validation agrees with a plain reference implementation of GB 11643
  (ISO 7064 MOD 11-2 check character computed from 2^k mod 11, 15 → 18 digit upgrade),
  and the SQL pseudonym agrees with Python's hmac.
* No file name, however hostile, makes discovery hand out a path outside the raw folder.

Deterministic (derandomize, no example database) and bounded for CI.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import tempfile
from pathlib import Path

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagster_project.contracts import load_contracts
from dagster_project.ingest import idnumber
from dagster_project.ingest.discovery import discover
from dagster_project.ingest.errors import ExtractFileError, IngestError, redact_identifiers
from dagster_project.ingest.headers import header_matcher
from dagster_project.ingest.reader import ROW, RawTable, field_names, read_file
from dagster_project.ingest.rule_texts import RULES
from dagster_project.ingest.rules import _id_value


def bounded(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


CONTRACTS = load_contracts()
POPULATION = CONTRACTS.extracts["population"]
MATCHER = header_matcher(POPULATION)


# ----------------------------------------------------------------------------------------- the reader
def _read(data: bytes, suffix: str = ".csv") -> RawTable | ExtractFileError:
    with tempfile.TemporaryDirectory(prefix="prop_") as tmp:
        path = Path(tmp) / f"population_2023{suffix}"
        path.write_bytes(data)
        try:
            return read_file(path, sheet_hint="population", header_matcher=MATCHER)
        except IngestError as err:
            assert isinstance(err, ExtractFileError), type(err)
            return err


def _check_contract(outcome: RawTable | ExtractFileError) -> None:
    if isinstance(outcome, ExtractFileError):
        # A clear, bilingual message naming the file and a rule — and not the reader's catch-all,
        # which would mean a parser failure nobody foresaw.
        assert outcome.rule_id != "unreadable_table", repr(outcome.__cause__)
        assert outcome.message_zh and outcome.message_en and outcome.file.startswith("population_2023")
        assert outcome.file in str(outcome)
        return
    table = outcome
    assert any(h.strip() for h in table.header)
    assert table.rows.columns == [*field_names(len(table.header)), ROW]
    assert all(dtype == pl.String for dtype in table.rows.select(field_names(len(table.header))).dtypes)
    numbers = table.rows[ROW].to_list() + table.rejected_lines[ROW].to_list()
    assert table.rows_read == len(numbers) > 0
    assert len(set(numbers)) == len(numbers), "a line is either a row or rejected, once"
    assert min(numbers) > table.header_row
    assert set(table.rejected_lines["rule_id"].to_list()) <= set(RULES)
    assert set(table.row_issues["rule_id"].to_list()) <= set(RULES)
    assert set(table.row_issues[ROW].to_list()) <= set(table.rows[ROW].to_list())


MAGIC = st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xd0\xcf\x11\xe0",
                         "乡镇街道代码,城乡,性别,年龄,人口数\n".encode(), b"%PDF", b"\x00"])


@bounded(120)
@given(magic=MAGIC, body=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_reader_on_random_bytes(magic, body, suffix):
    _check_contract(_read(magic + body, suffix))


CELL_CHARS = st.sampled_from(list("0123456789abcXx ,;|\t\"'\n\r") + ["城镇", "乡村", "男", "女", "\x00", "\x1f",
                                                                     "\ufeff", "😀", "é", "４３０"])
HEADERS = st.lists(st.sampled_from(["乡镇街道代码", "城乡", "性别", "年龄", "人口数", "township_code", "population",
                                    "备注", "", "人口总数"]), min_size=0, max_size=7)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "mixed"])


@st.composite
def csvish(draw) -> bytes:
    sep = draw(st.sampled_from([",", "\t", ";", "|"]))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [sep.join(draw(HEADERS))]
    for _ in range(draw(st.integers(0, 8))):
        cells = draw(st.lists(st.lists(CELL_CHARS, max_size=4).map("".join), max_size=7))
        lines.append(sep.join(cells))
    encoding = draw(ENCODINGS)
    if encoding == "mixed":
        data = b"".join((line + eol).encode(draw(st.sampled_from(["utf-8", "gb18030"]))) for line in lines)
    else:
        data = eol.join(lines).encode(encoding) + (eol.encode(encoding) if draw(st.booleans()) else b"")
        if encoding == "utf-16":
            data = data.replace(b"\xff\xfe", b"", 1) if draw(st.booleans()) else data
    if draw(st.booleans()) and data:  # cut anywhere, even inside a character
        data = data[: draw(st.integers(0, len(data)))]
    return data


@bounded(150)
@given(data=csvish(), suffix=st.sampled_from([".csv", ".txt", ".xlsx"]))
def test_reader_on_random_csvish_text(data, suffix):
    _check_contract(_read(data, suffix))


WORDS = st.sampled_from(["城镇", "乡村", "男", "女", "兴隆街道", "双清区", "是", "否", "a", "B", "7", " ", "x y"])


@st.composite
def clean_csv(draw):
    """A well-formed file: distinct header names, rows whose first cell starts with a digit."""
    n = draw(st.integers(2, 6))
    text = st.lists(WORDS, max_size=3).map("".join)
    header = draw(st.lists(text.map(lambda t: "h" + t.strip()), min_size=n, max_size=n, unique=True))
    rows = [
        [str(draw(st.integers(0, 99999))) + draw(text)] + draw(st.lists(text, min_size=n - 1, max_size=n - 1))
        for _ in range(draw(st.integers(1, 8)))
    ]
    return header, rows


@bounded(100)
@given(table=clean_csv(), sep=st.sampled_from([",", "\t", ";", "|"]), eol=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_well_formed_csv_comes_back_cell_for_cell(table, sep, eol, encoding):
    header, rows = table
    text = eol.join(sep.join(cells) for cells in [header, *rows]) + eol
    with tempfile.TemporaryDirectory(prefix="prop_") as tmp:
        path = Path(tmp) / "population_2023.csv"
        path.write_bytes(text.encode(encoding))
        result = read_file(path)  # no matcher: the first row is the header
    assert result.header == header
    assert result.rejected_lines.height == 0
    assert result.rows.select(field_names(len(header))).rows() == [tuple(r) for r in rows]
    assert result.rows[ROW].to_list() == list(range(2, len(rows) + 2))
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "utf-16": "utf-16"}[encoding]
    if encoding == "gb18030" and text.isascii():
        expected = "utf-8"
    assert result.encoding == expected


XLSX_VALUES = st.one_of(
    st.sampled_from(["乡镇街道代码", "城乡", "性别", "年龄", "人口数", "城镇", "430502001", "", " ", "=", "#N/A"]),
    st.integers(-10**18, 10**18), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
    st.tuples(st.just("formula"), st.sampled_from(["=1/0", "=A1", "=SUM(A1:A3)", '="x"']),
              st.one_of(st.none(), st.integers(0, 9), st.just("#DIV/0!"))),
)


@st.composite
def workbook(draw) -> bytes:
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name in draw(st.lists(st.sampled_from(["population", "Sheet1", "数据", "说明"]), min_size=1, max_size=3, unique=True)):
        ws = wb.add_worksheet(name)
        for r in range(draw(st.integers(0, 7))):
            for c in range(draw(st.integers(0, 6))):
                value = draw(XLSX_VALUES)
                if isinstance(value, tuple):
                    ws.write_formula(r, c, value[1], None, value[2] if value[2] is not None else 0)
                elif value is not None:
                    ws.write(r, c, value)
        for _ in range(draw(st.integers(0, 2))):
            r0, c0 = draw(st.integers(0, 5)), draw(st.integers(0, 4))
            r1, c1 = r0 + draw(st.integers(0, 2)), c0 + draw(st.integers(1, 2))
            try:
                ws.merge_range(r0, c0, r1, c1, draw(st.sampled_from(["母亲", "人口数", ""])))
            except Exception:  # overlapping ranges: xlsxwriter refuses, so does Excel
                pass
    wb.close()
    return buffer.getvalue()


@bounded(40)
@given(data=workbook(), cut=st.one_of(st.none(), st.integers(0, 4000)))
def test_reader_on_random_workbooks(data, cut):
    _check_contract(_read(data if cut is None else data[:cut], ".xlsx"))


# ----------------------------------------------------------------------------------------- ID numbers
def ref_check(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2, from the definition: weight of position i (from the left) is 2^(17-i) mod 11."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "0123456789X"[(12 - total % 11) % 11]


def ref_birth_ok(yyyymmdd: str) -> bool:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return dt.date(1800, 1, 1) <= born <= dt.date.today()


def reference(raw: str | None) -> dict:
    """What the rules must conclude about one (normalised, non-blank) ID cell."""
    out = {r: False for r in ("id_excel_mangled", "id_bad_format", "id_bad_checksum", "id_bad_birth_date",
                              "id_lowercase_x", "id_15_digit")}
    out["full"] = None
    if raw is None:
        return out
    upper = raw.upper()
    ascii_digits = set("0123456789")
    is18 = len(upper) == 18 and set(upper[:17]) <= ascii_digits and upper[17] in "0123456789X"
    is15 = len(upper) == 15 and set(upper) <= ascii_digits
    mangled = re.fullmatch(r"[0-9](\.[0-9]+)?E\+?[0-9]+", upper) is not None
    if is18:
        out["full"] = upper
        out["id_bad_checksum"] = ref_check(upper[:17]) != upper[17]
        out["id_lowercase_x"] = raw.endswith("x")
    elif is15:
        first17 = upper[:6] + "19" + upper[6:]
        out["full"] = first17 + ref_check(first17)
        out["id_15_digit"] = True
    out["id_excel_mangled"] = mangled
    out["id_bad_format"] = not mangled and not is18 and not is15
    if out["full"]:
        out["id_bad_birth_date"] = not ref_birth_ok(out["full"][6:14])
    return out


@st.composite
def valid_id(draw) -> str:
    area = draw(st.from_regex(r"\A[1-8][0-9]{5}\Z"))
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)))
    seq = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    first17 = f"{area}{born:%Y%m%d}{seq}"
    return first17 + ref_check(first17)


@st.composite
def id_like(draw) -> str | None:
    good = draw(valid_id())
    kind = draw(st.sampled_from(["valid", "wrong_check", "lower_x", "fifteen", "mangled", "bad_date", "random", "blank"]))
    if kind == "valid":
        return good
    if kind == "wrong_check":
        return good[:17] + draw(st.sampled_from([c for c in "0123456789X" if c != good[17]]))
    if kind == "lower_x":
        return good[:17] + draw(st.sampled_from(["x", "X"]))
    if kind == "fifteen":
        return good[:6] + good[8:17]
    if kind == "mangled":
        return f"{int(good[:17]) / 10 ** 16:.{draw(st.integers(0, 5))}f}E+{draw(st.sampled_from(['17', '+17', '16']))}"
    if kind == "bad_date":
        date = draw(st.sampled_from(["19990231", "00000101", "20991231", "19001301", "17991231", "19000229"]))
        first17 = good[:6] + date + good[14:17]
        return first17 + ref_check(first17)
    if kind == "blank":
        return None
    return draw(st.text(st.sampled_from(list("0123456789Xx.E+-")), min_size=1, max_size=20))


@bounded(25)  # each example is one polars evaluation (~0.1 s): many values per example
@given(values=st.lists(id_like(), min_size=1, max_size=120))
def test_id_rules_agree_with_the_reference_implementation(values):
    full, rules = _id_value(pl.col("s"))
    frame = pl.DataFrame({"s": values}, schema={"s": pl.String}).select(
        full.alias("full"), *[cond.fill_null(False).alias(rule_id) for rule_id, cond in rules]
    )
    for value, got in zip(values, frame.iter_rows(named=True)):
        assert got == reference(value), value


@bounded(60)
@given(first17=st.from_regex(r"\A[0-9]{17}\Z"), id15=st.from_regex(r"\A[0-9]{15}\Z"))
def test_check_character_and_15_digit_upgrade(first17, id15):
    assert idnumber.check_char(first17) == ref_check(first17)
    frame = pl.DataFrame({"a": [first17], "b": [id15]})
    got = frame.select(idnumber.check_char_expr(pl.col("a")).alias("c"), idnumber.upgrade15_expr(pl.col("b")).alias("u"))
    upgraded = id15[:6] + "19" + id15[6:]
    assert got.row(0) == (ref_check(first17), upgraded + ref_check(upgraded))


@bounded(10)
@given(ids=st.lists(valid_id(), min_size=1, max_size=40), key=st.binary(min_size=16, max_size=100))
def test_sql_pseudonym_is_hmac_sha256(ids, key):
    ipad, opad = idnumber.hmac_parts(key)
    con = duckdb.connect()
    try:
        con.register("t", pl.DataFrame({"v": ids}).to_arrow())
        got = con.execute(f"SELECT {idnumber.hmac_sql('v')} FROM t", {"ipad": ipad, "opad": opad}).fetchall()
    finally:
        con.close()
    assert [g[0] for g in got] == [hmac.new(key, i.encode(), hashlib.sha256).hexdigest() for i in ids]


@bounded(60)
@given(prefix=st.text(st.sampled_from(list("0123456789 ab,")), max_size=12), id_number=valid_id())
def test_messages_never_show_an_id_number(prefix, id_number):
    shown = redact_identifiers(f"{prefix}{id_number} / {id_number[:-1]}x / {id_number[:6]}{id_number[8:17]}")
    assert id_number not in shown and id_number[:17] not in shown and id_number[8:17] not in shown


# ----------------------------------------------------------------------------------------- file names
NAME_PARTS = st.sampled_from(["..", ".", "\\", "births", "_", "2023", " ", "出生", "．", ".csv", "~$", "%2e%2e",
                              "\u202e", "population", "-", "\t", "(1)", "＿２０２３"])


@bounded(40)
@given(names=st.lists(st.lists(NAME_PARTS, min_size=1, max_size=6).map("".join), min_size=1, max_size=6),
       folder=st.sampled_from(["health", "population", "forms", "..", "其他"]))
def test_discovery_never_leaves_the_raw_dir(names, folder):
    with tempfile.TemporaryDirectory(prefix="prop_") as tmp:
        root = Path(tmp)
        raw = root / "raw"
        raw.mkdir()
        (root / "secret.csv").write_text("乡镇街道代码\n430502001\n", encoding="utf-8")
        target_dir = raw / folder if folder != ".." else raw / "x"
        target_dir.mkdir(exist_ok=True)
        for i, name in enumerate(names):
            if name in (".", "..") or "/" in name:
                continue
            path = target_dir / name
            if path.is_symlink():
                continue
            if i % 3 == 2:
                if not path.exists() and not path.is_symlink():
                    os.symlink(root / "secret.csv", path)
            else:
                path.write_bytes(b"a,b\n1,2\n")
        raw_root = raw.resolve()
        for dropped in discover(raw, CONTRACTS):
            assert dropped.path.absolute().is_relative_to(raw)
            if dropped.blocked is None:
                assert dropped.path.resolve().is_relative_to(raw_root), dropped
            else:
                assert dropped.extract is None
