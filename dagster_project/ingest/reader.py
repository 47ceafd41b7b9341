"""Read a department file (CSV or XLSX) into a frame of untouched strings.

Every cell stays text here: typing happens in rules.py, where a value that
does not parse becomes a quarantined row with a reason instead of an
exception. Each data row keeps `_row_number`, the row number a clerk sees in
Excel or a text editor (first line = row 1), so feedback can point at it.

What the reader promises (tests/test_hostile_files.py, tests/test_properties.py):
  * it raises nothing but `ExtractFileError` (the file as a whole cannot be
    read as a table: empty, binary, PDF, header only, ...), each naming the
    file, the rule and, where it applies, the line;
  * everything else is decided line by line: a line that cannot be a row
    (wrong number of fields, undecodable bytes, control characters, longer
    than MAX_LINE_CHARS, a repeated header) goes to `rejected_lines` with a
    rule id, and findings on rows that are kept (a line in the minority
    encoding of a mixed file, a formula without a cached value, a filled
    merged cell, ...) go to `row_issues`; the loader turns both into
    audit.quarantine / audit.row_flags rows, so rows read = rows loaded +
    rows quarantined still holds.

CSV parsing is done with polars on whole lines of a clean UTF-8 copy (see
encoding.py): one vectorised split for the ordinary lines, Python's csv module
only for the few lines with quotes. A quoted cell holding a line break is not
joined back: its two halves are quarantined as field-count mismatches.

The header is the first non-blank row, unless the caller passes
`header_matcher` (header text → contract column or None): then the row among
the first HEADER_SCAN_ROWS rows (or pair of rows, for two-level headers under
merged group titles such as 母亲 over 身份证号 | 出生日期) that names the
most contract columns is the header, and title rows above it are skipped.

XLSX: of the visible sheets, the one whose header names the most template columns is read (a cover
sheet 封面/说明 in front or a notes sheet beside the data do not matter); on a tie the sheet named like
the extract (or like the file), else the first. A hidden sheet is never read. The sheet read is recorded
(`sheet_name`, in audit.file_loads) with a note on the sheets skipped; when no sheet names a single
template column, the file is rejected (`no_matching_sheet`) naming each sheet and why. Rows hidden in the
worksheet are not loaded: each hidden row below the header goes to `rejected_lines` as
`hidden_row`, so the clerk is told (a hidden row is often an old or draft row someone hid
rather than deleted, but may be valid data hidden by a filter). Formula cells are read through their cached values; a formula
with no cached value or an error value (#DIV/0!, #REF!) is reported on its row.
Merged cells are filled with their top-left value. A number of 15 or more
digits (an ID number typed into a numeric cell, which Excel keeps to 15
significant digits) is passed on in Excel's scientific form so the ID rules
recognise it as mangled instead of pseudonymising a wrong number.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import polars as pl

from dagster_project.ingest.encoding import CONTROL_PICTURES, sniff_utf16, transcode
from dagster_project.ingest.errors import ExtractFileError, redact_identifiers

ROW = "_row_number"
CANDIDATE_SEPARATORS = (",", "\t", ";", "|")
_LINE_SEPARATOR = "\x1f"  # encoding.transcode replaces every control character, so no line holds it
MAX_LINE_CHARS = 100_000  # a department row is a few hundred characters; longer lines are not rows
HEADER_SCAN_ROWS = 10
MAX_SHEET_XML_BYTES = 4 * 1024**3  # uncompressed worksheet size above which a workbook is refused
MAX_MERGED_CELLS = 5_000_000  # cells covered by merged ranges: a guard against crafted workbooks
_XML_CHUNK = 4 * 1024 * 1024
CSV_BLOCK_BYTES = 32 * 1024 * 1024  # text read per batch: bounds the memory a file needs, whatever its size

HeaderMatcher = Callable[[str], "str | None"]
_ISSUE_SCHEMA = {ROW: pl.Int64, "field": pl.String, "rule_id": pl.String, "value": pl.String}
_LINE_SCHEMA = {ROW: pl.Int64, "rule_id": pl.String, "value": pl.String}


@dataclass
class RawTable:
    """A file's header and rows as text, plus the lines that could not become rows."""

    header: list[str]
    rows: pl.DataFrame                      # columns f0..fN (str) + _row_number
    rejected_lines: pl.DataFrame            # _row_number, rule_id, value: lines that are not rows (quarantined)
    encoding: str
    file_format: str
    notes: list[str] = field(default_factory=list)
    row_issues: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_ISSUE_SCHEMA))
    # _row_number, field (f3, or None for the whole row), rule_id, value: findings on kept rows
    header_row: int = 1
    sheet_name: str | None = None           # XLSX: the worksheet read (ID-shaped parts masked)

    @property
    def rows_read(self) -> int:
        return self.rows.height + self.rejected_lines.height

    @property
    def ragged(self) -> pl.DataFrame:
        """Backwards-compatible name for the lines that could not be split into the header's fields."""
        return self.rejected_lines


def field_names(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


def _file_error(path: Path, rule: str, zh: str, en: str, line: int | None = None) -> ExtractFileError:
    return ExtractFileError(path.name, rule, zh, en, line)


# --------------------------------------------------------------------------------------------- sniffing
_NOT_A_TABLE = (
    (b"%PDF", "PDF文档", "a PDF document"),
    (b"\x89PNG", "PNG图片", "a PNG image"),
    (b"\xff\xd8\xff", "JPEG图片", "a JPEG image"),
    (b"GIF8", "GIF图片", "a GIF image"),
    (b"\x1f\x8b", "gzip压缩包", "a gzip archive"),
    (b"Rar!", "RAR压缩包", "a RAR archive"),
    (b"7z\xbc\xaf", "7z压缩包", "a 7z archive"),
    (b"{\\rtf", "RTF文档", "an RTF document"),
)
_MARKUP = (b"<html", b"<!doctype html", b"<?xml", b"<table", b"<head", b"<body")


def _sniff_kind(path: Path) -> tuple[str, str | None]:
    """What the bytes say the file is, whatever its extension claims: ('csv'|'xlsx', encoding hint)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise _file_error(path, "file_unreadable", f"文件无法读取（{type(exc).__name__}），请重新报送。",
                          f"The file cannot be read ({type(exc).__name__}).") from exc
    if not head:
        raise _file_error(path, "empty_file", "文件为空（0字节），请重新导出后报送。", "The file is empty (0 bytes).")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if _is_encrypted_ole(path):
            raise _file_error(
                path, "xlsx_encrypted", "Excel文件设置了打开密码（已加密），请取消密码后重新报送。",
                "The workbook is password-protected (encrypted); remove the password and send it again.",
            )
        raise _file_error(
            path, "xls_not_supported",
            "文件是旧版Excel（.xls）格式，请另存为.xlsx或CSV后报送。",
            "Old binary Excel (.xls) is not accepted; save as .xlsx or CSV.",
        )
    for magic, zh, en in _NOT_A_TABLE:
        if head.startswith(magic):
            raise _file_error(
                path, "not_a_table",
                f"文件不是CSV或Excel表格，而是{zh}，请报送数据表。",
                f"The file is not a CSV or Excel table but {en}.",
            )
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_MARKUP):
        raise _file_error(
            path, "not_a_table",
            "文件是网页（HTML/XML）格式，不是CSV或Excel表格（有的系统导出的“Excel”其实是网页）；请用Excel打开后另存为.xlsx。",
            "The file is HTML/XML (a web page saved as 'Excel'?), not a CSV or XLSX table; open it in Excel and save as .xlsx.",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv", None
    utf16 = sniff_utf16(head)
    if utf16:
        return "csv", utf16
    text_like = sum(b >= 0x20 or b in (9, 10, 13) for b in head)
    if head.count(0) > max(2, len(head) // 200) or text_like < 0.9 * len(head):
        raise _file_error(
            path, "binary_garbage",
            "文件内容不是文本表格（含大量二进制字节），请检查导出方式。",
            "The file content is binary, not a text table.",
        )
    return "csv", None


def _is_encrypted_ole(path: Path) -> bool:
    """An encrypted XLSX is an OLE container with an 'EncryptionInfo' stream."""
    marker = "EncryptionInfo".encode("utf-16-le")
    try:
        with path.open("rb") as fh:
            data = fh.read(32 * 1024 * 1024)
    except OSError:
        return False
    return marker in data


# --------------------------------------------------------------------------------------------- entry point
def read_file(
    path: Path,
    sheet_hint: str | None = None,
    header_matcher: HeaderMatcher | None = None,
) -> RawTable:
    """Read `path` as a table of strings; raise ExtractFileError when no table can be read at all."""
    with open_table(path, sheet_hint, header_matcher) as opened:
        table = opened.read_all()
    if table.rows_read == 0:
        raise opened.header_only_error()
    return table


class OpenedTable:
    """A file whose header has been found; its rows come in batches of at most about `block_bytes` of text.

    `batches()` yields `(RawTable, is_last)`: each RawTable has the file's header, encoding, notes and
    header row, and the rows, rejected lines and row findings of one batch, in file order. A CSV is
    read block by block from its UTF-8 copy, so a province-sized file never sits in memory whole; an
    XLSX is one batch. Reading all batches gives exactly what `read_file` returns. Errors while reading
    a batch are raised as `ExtractFileError`, like errors while opening.
    """

    def __init__(self, path: Path, header: list[str], header_row: int, encoding: str, file_format: str,
                 notes: list[str], batches: Callable[[], Iterator[tuple[RawTable, bool]]],
                 sheet_name: str | None = None) -> None:
        self.path, self.header, self.header_row = path, header, header_row
        self.encoding, self.file_format, self.notes = encoding, file_format, notes
        self.sheet_name = sheet_name  # XLSX: the worksheet read (recorded in the ledger)
        self._batches = batches

    def batches(self) -> Iterator[tuple[RawTable, bool]]:
        try:
            yield from self._batches()
        except ExtractFileError:
            raise
        except (OSError, MemoryError) as exc:
            raise _unreadable(self.path, exc) from exc
        except Exception as exc:
            raise _unparseable(self.path, exc) from exc

    def read_all(self) -> RawTable:
        parts = [table for table, _ in self.batches()]
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        return RawTable(
            header=first.header, rows=pl.concat([p.rows for p in parts]),
            rejected_lines=pl.concat([p.rejected_lines for p in parts]), encoding=first.encoding,
            file_format=first.file_format, notes=first.notes, row_issues=pl.concat([p.row_issues for p in parts]),
            header_row=first.header_row, sheet_name=first.sheet_name,
        )

    def header_only_error(self) -> ExtractFileError:
        return _file_error(
            self.path, "header_only", "文件只有表头，没有数据行；如本年度确无数据，请在报送说明中注明。",
            "The file has a header but no data rows.", self.header_row,
        )


def _unreadable(path: Path, exc: BaseException) -> ExtractFileError:
    return _file_error(path, "file_unreadable", f"文件无法读取（{type(exc).__name__}），请重新报送。",
                       f"The file cannot be read ({type(exc).__name__}).")


def _unparseable(path: Path, exc: BaseException) -> ExtractFileError:
    # a parser failure we did not foresee: never let it escape unexplained
    return _file_error(
        path, "unreadable_table", f"文件无法解析为表格（{type(exc).__name__}），请重新导出为UTF-8 CSV或.xlsx后报送。",
        f"The file could not be parsed as a table ({type(exc).__name__}); export it again as UTF-8 CSV or .xlsx.",
    )


@contextmanager
def open_table(
    path: Path,
    sheet_hint: str | None = None,
    header_matcher: HeaderMatcher | None = None,
    block_bytes: int | None = None,
) -> Iterator[OpenedTable]:
    """Open `path` as a table (header found, first checks done); raise ExtractFileError if it is none."""
    kind, hint = _sniff_kind(path)
    with ExitStack() as stack:
        try:
            if kind == "xlsx":
                table = _read_xlsx(path, sheet_hint, header_matcher)
                opened = OpenedTable(path, table.header, table.header_row, table.encoding, table.file_format,
                                     table.notes, lambda: iter([(table, True)]), table.sheet_name)
            else:
                opened = _open_csv(path, hint, header_matcher, stack, block_bytes or CSV_BLOCK_BYTES)
        except ExtractFileError:
            raise
        except (OSError, MemoryError) as exc:
            raise _unreadable(path, exc) from exc
        except Exception as exc:
            raise _unparseable(path, exc) from exc
        suffix = path.suffix.lower().lstrip(".")
        if suffix in ("csv", "xlsx", "txt") and suffix != kind and not (suffix == "txt" and kind == "csv"):
            opened.notes.append(f"extension_mismatch: file says .{suffix} but its content is {kind}")
        if not opened.header or all(not (h or "").strip() for h in opened.header):
            raise _file_error(path, "no_header", "文件没有表头行。", "The file has no header row.", opened.header_row)
        yield opened


# --------------------------------------------------------------------------------------------- header search
def _norm_cell(value: object) -> str:
    return "" if value is None else str(value).strip()


def _combine(upper: str, lower: str) -> list[str]:
    """Header texts a column of a two-row header may mean, most specific first."""
    if not upper or upper == lower:
        return [lower]
    if not lower:
        return [upper]
    return [upper + lower, lower, upper]


def _choose_header(
    grid: list[tuple[int, list[str]]], matcher: HeaderMatcher | None, ffill_upper: bool
) -> tuple[int, int, list[str]]:
    """(first header row, last header row, header texts) among the first rows of `grid` ((row number, cells))."""
    first_row, first_cells = grid[0]
    if matcher is None:
        return first_row, first_row, first_cells

    def score(cells: list[str]) -> int:
        return len({c for c in (matcher(t) for t in cells if t) if c})

    best = (score(first_cells), 0, first_row, first_row, first_cells)  # (score, -rows used, ...)
    for i, (row, cells) in enumerate(grid[:HEADER_SCAN_ROWS]):
        s = score(cells)
        if s > best[0]:
            best = (s, 0, row, row, cells)
        if i == 0:
            continue
        upper_row, upper = grid[i - 1]
        width = max(len(upper), len(cells))
        upper = upper + [""] * (width - len(upper))
        lower = cells + [""] * (width - len(cells))
        if ffill_upper:  # a CSV keeps a merged group title in its first column only
            filled, last = [], ""
            for u, low in zip(upper, lower):
                last = u or (last if low else "")
                filled.append(last)
            upper = filled
        combined = []
        for u, low in zip(upper, lower):
            options = _combine(u, low)
            combined.append(next((o for o in options if matcher(o)), options[0]))
        s = score(combined)
        if s > best[0]:
            best = (s, -1, upper_row, row, combined)
    return best[2], best[3], best[4]


def _header_note(first: int, last: int) -> list[str]:
    if first == 1 and last == 1:
        return []
    rows = f"row {first}" if first == last else f"rows {first}-{last}"
    skipped = f"; rows 1-{first - 1} above it (titles) were skipped" if first > 1 else ""
    return [f"header found on {rows}{skipped}"]


# --------------------------------------------------------------------------------------------- CSV
def _empty_file(path: Path) -> ExtractFileError:
    return _file_error(path, "empty_file", "文件没有任何内容行。", "The file has no non-blank lines.")


def _open_csv(path: Path, hint: str | None, matcher: HeaderMatcher | None, stack: ExitStack,
              block_bytes: int) -> OpenedTable:
    """Transcode to a UTF-8 copy, find the header in its first lines; the rows are read in blocks later."""
    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="ingest_"))
    decoded = transcode(path, Path(tmp) / "utf8.csv", hint)
    size = decoded.path.stat().st_size
    if size == 0:
        raise _empty_file(path)
    with decoded.path.open("rb") as fh:
        fh.seek(size - 1)
        ends_with_newline = fh.read(1) == b"\n"
    issues = pl.DataFrame(
        {ROW: [i[0] for i in decoded.line_issues], "rule_id": [i[1] for i in decoded.line_issues],
         "value": [i[2] for i in decoded.line_issues]},
        schema=_LINE_SCHEMA,
    )
    undecodable = issues.filter(pl.col("rule_id").is_in(["undecodable_line", "truncated_line"]))
    mixed = issues.filter(pl.col("rule_id") == "mixed_encoding")

    # The header: among the first lines that decoded cleanly. Blocks are read until there are enough of them.
    blocks = _line_blocks(decoded.path, block_bytes)
    stack.callback(blocks.close)
    read: list[tuple[pl.DataFrame, bool]] = []
    head = pl.DataFrame(schema={ROW: pl.Int64, "line": pl.String})
    seen_content = False
    for lines, is_last in blocks:
        read.append((lines, is_last))
        content = _non_blank(lines)
        seen_content = seen_content or content.height > 0
        head = pl.concat([head, content.join(undecodable, on=ROW, how="anti")]).head(HEADER_SCAN_ROWS + 1)
        if head.height > HEADER_SCAN_ROWS or is_last:
            break
    if not seen_content:
        raise _empty_file(path)
    if head.height == 0:
        raise _file_error(path, "encoding_unknown", "文件的所有行都无法解码。", "No line of the file can be decoded.", 1)
    grid = []
    for row, line in zip(head[ROW].to_list(), head["line"].to_list()):
        if len(line) > MAX_LINE_CHARS:
            if not grid:
                raise _file_error(
                    path, "header_too_long",
                    f"第{row}行长达{len(line):,}个字符，不是表头；文件可能没有换行符或不是表格。",
                    f"Line {row} is {len(line):,} characters long: not a header (no line breaks, or not a table?).", row,
                )
            break
        sep = max(CANDIDATE_SEPARATORS, key=line.count)
        grid.append((row, next(csv.reader([line], delimiter=sep), []), sep))
    first, last, header = _choose_header([(r, c) for r, c, _ in grid], matcher, ffill_upper=True)
    separator = next(s for r, _, s in grid if r == last)
    header_line = head.filter(pl.col(ROW) == last)["line"][0]
    if re.search(CONTROL_PICTURES, header_line) or "\ufffd" in header_line:
        raise _file_error(path, "binary_garbage", "表头行含有二进制或控制字符，文件可能已损坏。",
                          "The header line contains binary or control characters; the file looks damaged.", last)
    header = [h.replace("\ufeff", "") for h in header]
    notes = list(decoded.notes) + _header_note(first, last)

    def pending() -> Iterator[tuple[pl.DataFrame, bool]]:
        while read:  # the blocks read for the header, each released once it is handed out
            yield read.pop(0)

    def batches() -> Iterator[tuple[RawTable, bool]]:
        more = blocks if not read[-1][1] else iter(())
        for lines, is_last in itertools.chain(pending(), more):
            rows, rejected, row_issues = _block_rows(lines, is_last, last, separator, header_line, len(header),
                                                     undecodable, mixed, ends_with_newline)
            del lines
            yield RawTable(header=header, rows=rows, rejected_lines=rejected, encoding=decoded.encoding,
                           file_format="csv", notes=notes, row_issues=row_issues, header_row=last), is_last
            del rows, rejected, row_issues  # not held while the next block is read

    return OpenedTable(path, header, last, decoded.encoding, "csv", notes, batches)


def _non_blank(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.filter(pl.col("line").is_not_null() & (pl.col("line").str.strip_chars() != ""))


def _block_rows(lines: pl.DataFrame, is_last: bool, last: int, separator: str, header_line: str, n_fields: int,
                undecodable: pl.DataFrame, mixed: pl.DataFrame, ends_with_newline: bool,
                ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One block's lines (after the header) as rows, lines that cannot be rows, and findings on rows."""
    physical_last = lines[ROW].max() if lines.height else None
    # The file's last line has no line break after it (and is not blank): flag it if it becomes a row.
    final = lines.filter(pl.col(ROW) == physical_last) if is_last and not ends_with_newline else lines.clear()
    unterminated_line = physical_last if _non_blank(final).height else None

    data = _non_blank(lines).filter(pl.col(ROW) > last)
    blank = f"^[\\s{re.escape(separator)}\"]*$"  # rows of empty cells (",,,,") are blank lines
    data = data.filter(~pl.col("line").str.contains(blank))

    # Lines that cannot be rows.
    rejected = [undecodable.join(data.select(ROW), on=ROW, how="semi")]
    data = data.join(undecodable, on=ROW, how="anti")
    too_long = data.filter(pl.col("line").str.len_chars() > MAX_LINE_CHARS)
    rejected.append(too_long.select(ROW, pl.lit("line_too_long").alias("rule_id"),
                                    (pl.col("line").str.len_chars().cast(pl.String) + " characters").alias("value")))
    data = data.filter(pl.col("line").str.len_chars() <= MAX_LINE_CHARS)
    control = data.filter(pl.col("line").str.contains(CONTROL_PICTURES))
    if control.height:
        found = control["line"].str.extract(f"({CONTROL_PICTURES})", 1).to_list()
        detail = [f"U+{ord(c) - 0x2400 if ord(c) < 0x2421 else 0x7f:04X} control character" for c in found]
        rejected.append(pl.DataFrame({ROW: control[ROW], "rule_id": "control_characters", "value": detail},
                                     schema=_LINE_SCHEMA))
        data = data.join(control.select(ROW), on=ROW, how="anti")
    repeated = data.filter(pl.col("line").str.strip_chars() == header_line.strip())
    rejected.append(repeated.select(ROW, pl.lit("repeated_header").alias("rule_id"),
                                    pl.lit(f"same as the header on row {last}").alias("value")))
    data = data.join(repeated.select(ROW), on=ROW, how="anti")

    rows, ragged = _split_lines(data, separator, n_fields)
    rejected.append(ragged)
    rejected_lines = pl.concat([r.select(list(_LINE_SCHEMA)).cast(_LINE_SCHEMA) for r in rejected]).sort(ROW)

    row_issues = mixed.join(rows.select(ROW), on=ROW, how="semi")
    row_issues = row_issues.select(ROW, pl.lit(None, dtype=pl.String).alias("field"), "rule_id", "value")
    if unterminated_line is not None and (rows[ROW] == unterminated_line).any():
        row_issues = pl.concat([row_issues, pl.DataFrame(
            {ROW: [unterminated_line], "field": [None], "rule_id": ["last_line_unterminated"],
             "value": ["no line break after the last row"]}, schema=_ISSUE_SCHEMA)])
    return rows, rejected_lines, row_issues.sort(ROW)


def _line_blocks(path: Path, block_bytes: int) -> Iterator[tuple[pl.DataFrame, bool]]:
    """The lines of the UTF-8 copy in blocks of about `block_bytes`, cut after a line break:
    (frame of `_row_number`, `line`; is this the last block?). Line numbers continue across blocks."""
    first_line = 1
    with path.open("rb") as fh:
        buffer, eof = b"", False
        while True:
            while not eof and len(buffer) < block_bytes:
                chunk = fh.read(block_bytes)
                eof = not chunk
                buffer += chunk
            cut = len(buffer) if eof else buffer.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a block: read on until its end
                chunk = fh.read(block_bytes)
                eof = not chunk
                buffer += chunk
                continue
            block, buffer = buffer[:cut], buffer[cut:]
            if not block:
                return
            if not buffer and not eof:
                chunk = fh.read(block_bytes)
                eof = not chunk
                buffer = chunk
            is_last = eof and not buffer
            yield _read_lines(block, first_line), is_last
            first_line += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            if is_last:
                return


def _read_lines(block: bytes, first_line: int = 1) -> pl.DataFrame:
    """Every line of a block of the clean UTF-8 copy as one string, with its line number."""
    try:
        lines = pl.read_csv(
            io.BytesIO(block),
            has_header=False,
            separator=_LINE_SEPARATOR,
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
            row_index_name=ROW,
            row_index_offset=first_line,
        )
    except pl.exceptions.NoDataError:
        lines = pl.DataFrame({ROW: [], "line": []}, schema={ROW: pl.Int64, "line": pl.String})
    return lines.with_columns(pl.col(ROW).cast(pl.Int64))


def _split_lines(data: pl.DataFrame, separator: str, n_fields: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    has_quote = pl.col("line").str.contains('"', literal=True)
    simple = data.filter(~has_quote).select(ROW, pl.col("line").str.split(separator).alias("fields"))
    quoted = data.filter(has_quote)
    if quoted.height:
        # Rare: a quoted field (maybe holding the separator). The csv module gets these few lines right.
        parsed = [next(csv.reader([line], delimiter=separator), []) for line in quoted["line"].to_list()]
        simple = pl.concat(
            [simple, pl.DataFrame({ROW: quoted[ROW], "fields": pl.Series(parsed, dtype=pl.List(pl.String))})]
        ).sort(ROW)
    counted = simple.with_columns(pl.col("fields").list.len().alias("n_fields"))
    # Trailing empty cells beyond the header (",,," left by Excel) are not extra fields.
    surplus_blank = (pl.col("n_fields") > n_fields) & pl.col("fields").list.slice(n_fields).list.eval(
        pl.element().str.strip_chars() == ""
    ).list.all()
    counted = counted.with_columns(
        pl.when(surplus_blank).then(pl.col("fields").list.slice(0, n_fields)).otherwise(pl.col("fields")).alias("fields"),
        pl.when(surplus_blank).then(pl.lit(n_fields, dtype=pl.UInt32)).otherwise(pl.col("n_fields")).alias("n_fields"),
    )
    ragged = counted.filter(pl.col("n_fields") != n_fields).select(
        ROW,
        pl.lit("field_count_mismatch").alias("rule_id"),
        (pl.col("n_fields").cast(pl.String) + pl.lit(f" fields, header has {n_fields}")).alias("value"),
    )
    good = counted.filter(pl.col("n_fields") == n_fields)
    rows = good.select(
        *[pl.col("fields").list.get(i).alias(name) for i, name in enumerate(field_names(n_fields))], ROW
    )
    return rows, ragged


# --------------------------------------------------------------------------------------------- XLSX
def _sheet_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", name or "")).lower()


def choose_sheet(names: list[str], hidden: set[str], extract: str | None, stem: str) -> int | None:
    """Among the visible sheets, the one named like the extract (or like the file) wins, else the first.

    A hidden sheet is never chosen, even when named like the extract: what the clerk sees when
    opening the workbook is what is read. None when every sheet is hidden.
    """
    visible = [i for i, n in enumerate(names) if n not in hidden]
    wanted = {k for k in (_sheet_key(extract or ""), _sheet_key(stem)) if k}
    keys = {i: _sheet_key(names[i]) for i in visible}
    for i, key in keys.items():
        if key in wanted:
            return i
    if extract:
        base = _sheet_key(extract)
        for i, key in keys.items():
            if key.startswith(base) and key[len(base):].isdigit():
                return i
    return visible[0] if visible else None


@dataclass
class _SheetFacts:
    """What the sheet's XML says that the cell values alone do not."""

    merges: list[tuple[int, int, int, int]] = field(default_factory=list)     # r0, c0, r1, c1 (1-based rows, 0-based cols)
    no_value: list[tuple[int, int]] = field(default_factory=list)             # formula cells without cached value
    errors: list[tuple[int, int, str]] = field(default_factory=list)          # cells holding an error value
    big_numbers: list[tuple[int, int, str]] = field(default_factory=list)     # numeric cells of 15+ digits
    hidden_rows: set[int] = field(default_factory=set)                         # rows hidden in the worksheet


_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_ATTR_R = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_ATTR_T = re.compile(rb'\bt="(\w+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
_BIG_NUMBER = re.compile(rb"<(?:\w+:)?v>\s*-?(?:\d(?:\.\d+)?[Ee]\+?(?:1[5-9]|[2-9]\d)|\d{16,}(?:\.0*)?)\s*</")
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
# A row tag marked hidden (hidden="1" or "true"). Excel, openpyxl and xlsxwriter always write the row's
# number `r`; a hidden row without one cannot be located and is read like a visible one.
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_ATTR_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_ATTR_ROW_R = re.compile(rb'\br="(\d+)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _is_big_number(text: str) -> bool:
    try:
        value = float(text)
        return abs(value) >= 1e15 and value == int(value)
    except (ValueError, OverflowError):  # 'NaN', 'INF' in a crafted workbook
        return False


def _sheet_part(zf: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The zip member holding `sheet_name`, via workbook.xml and its relationships."""
    try:
        workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    rel_id = None
    for el in workbook.iter():
        if el.tag.rsplit("}", 1)[-1] == "sheet" and el.get("name") == sheet_name:
            rel_id = next((v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
    if rel_id is None:
        return None
    for el in rels.iter():
        if el.tag.rsplit("}", 1)[-1] == "Relationship" and el.get("Id") == rel_id:
            target = el.get("Target") or ""
            parts: list[str] = []
            start = PurePosixPath(target.lstrip("/")) if target.startswith("/") else PurePosixPath("xl") / target
            for part in start.parts:  # resolve '..' inside the archive only
                if part == "..":
                    if parts:
                        parts.pop()
                elif part not in (".", ""):
                    parts.append(part)
            member = "/".join(parts)
            return member if member in zf.namelist() else None
    return None


def _hidden_sheets(zf: zipfile.ZipFile) -> set[str]:
    try:
        workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return set()
    return {el.get("name") for el in workbook.iter()
            if el.tag.rsplit("}", 1)[-1] == "sheet" and el.get("state") in ("hidden", "veryHidden")}


def _scan_sheet(zf: zipfile.ZipFile, member: str) -> _SheetFacts:
    """One streaming pass over the sheet XML; the cell-by-cell regex only runs on chunks that need it."""
    facts = _SheetFacts()
    rest = b""
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(_XML_CHUNK)
            data = rest + chunk
            if chunk:
                ends = list(_ROW_END.finditer(data))
                if not ends:
                    rest = data
                    continue
                cut = ends[-1].end()
                data, rest = data[:cut], data[cut:]
            if b"hidden=" in data:
                for tag in _ROW_TAG.finditer(data):
                    attrs = tag.group(1)
                    number = _ATTR_ROW_R.search(attrs)
                    if number and _ATTR_HIDDEN.search(attrs):
                        facts.hidden_rows.add(int(number.group(1)))
            for m in _MERGE.finditer(data):
                c0, r0 = _col_index(m.group(1)), int(m.group(2))
                c1, r1 = (_col_index(m.group(3)), int(m.group(4))) if m.group(3) else (c0, r0)
                facts.merges.append((r0, c0, r1, c1))
            if _FORMULA.search(data) or b't="e"' in data or _BIG_NUMBER.search(data):
                for cell in _CELL.finditer(data):
                    attrs, body = cell.group(1), cell.group(2) or b""
                    ref = _ATTR_R.search(attrs)
                    if not ref:
                        continue
                    row, col = int(ref.group(2)), _col_index(ref.group(1))
                    kind = _ATTR_T.search(attrs)
                    kind = kind.group(1) if kind else b"n"
                    value = _VALUE.search(body)
                    value = value.group(1).decode("utf-8", "replace") if value else None
                    if kind == b"e":
                        facts.errors.append((row, col, (value or "#ERROR")[:20]))
                    elif _FORMULA.search(body) and not value and kind != b"str":
                        facts.no_value.append((row, col))
                    elif kind == b"n" and value and _is_big_number(value):
                        facts.big_numbers.append((row, col, f"{float(value):.14E}"))
            if not chunk:
                break
    return facts


def _col_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _open_workbook(path: Path):
    import fastexcel  # imported here: only XLSX files need it

    try:
        zf = zipfile.ZipFile(path)
        names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _file_error(
            path, "xlsx_unreadable", "Excel文件已损坏或不完整（可能传输中断），请重新导出后报送。",
            "The workbook is damaged or incomplete (a truncated upload?); export it again.",
        ) from exc
    if "xl/workbook.xml" not in names:
        zf.close()
        if "word/document.xml" in names:
            what_zh, what_en = "Word文档", "a Word document"
        elif "mimetype" in names:
            what_zh, what_en = "OpenDocument（WPS/LibreOffice）文件", "an OpenDocument file"
        else:
            what_zh, what_en = "压缩包", "a zip archive"
        raise _file_error(path, "not_a_table", f"文件是{what_zh}而不是Excel工作簿（.xlsx），请另存为.xlsx或CSV。",
                          f"The file is {what_en}, not an Excel workbook; save it as .xlsx or CSV.")
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        zf.close()
        raise _file_error(
            path, "xlsx_unreadable", f"Excel文件无法打开（{type(exc).__name__}），请重新导出。",
            f"The workbook cannot be opened ({type(exc).__name__}).",
        ) from exc
    return zf, reader


def _read_xlsx(path: Path, sheet_hint: str | None, matcher: HeaderMatcher | None) -> RawTable:
    zf, reader = _open_workbook(path)
    with zf:
        names = list(reader.sheet_names)
        if not names:
            raise _file_error(path, "empty_file", "工作簿中没有工作表。", "The workbook has no worksheet.")
        hidden = _hidden_sheets(zf)
        sheet = choose_sheet(names, hidden, sheet_hint, path.stem)
        if sheet is None:
            raise _file_error(path, "no_visible_sheet", "工作簿中的工作表全部被隐藏，未读取；请取消隐藏数据所在的工作表后重新报送。",
                              "Every worksheet of the workbook is hidden; nothing was read. Unhide the data sheet and send it again.")
        notes: list[str] = []
        visible = [i for i, n in enumerate(names) if n not in hidden]
        if matcher is not None and len(visible) > 1:
            sheet, notes = _sheet_matching_header(path, reader, names, hidden, sheet, matcher)
        elif len(names) > 1:
            notes = [f"workbook has {len(names)} sheets; read '{redact_identifiers(names[sheet])}'"]
        skipped = [n for n in names if n in hidden]
        if skipped:
            notes.append("hidden sheet(s) not read / 隐藏的工作表未读取: " + ", ".join(f"'{redact_identifiers(n)}'" for n in skipped))
        member = _sheet_part(zf, names[sheet])
        if member and zf.getinfo(member).file_size > MAX_SHEET_XML_BYTES:
            raise _file_error(path, "xlsx_too_large", "工作表解压后过大（可能是异常文件），请拆分后报送或改用CSV。",
                              "The worksheet is too large once decompressed (a zip bomb?); split it or send CSV.")
        try:
            loaded = reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string")
            frame = loaded.to_polars()
            columns = loaded.available_columns()
        except Exception as exc:
            raise _file_error(
                path, "xlsx_unreadable", f"工作表“{names[sheet]}”无法读取（{type(exc).__name__}），请重新导出。",
                f"Worksheet '{names[sheet]}' cannot be read ({type(exc).__name__}).",
            ) from exc
        facts = _scan_sheet(zf, member) if member else _SheetFacts()
    n_cols = frame.width
    if n_cols == 0 or frame.height == 0:
        raise _file_error(path, "empty_file", f"工作表“{names[sheet]}”没有任何数据。", f"Worksheet '{names[sheet]}' is empty.")
    col_offset = columns[0].absolute_index if columns else 0
    fields = field_names(n_cols)
    frame = frame.rename(dict(zip(frame.columns, fields))).cast(pl.String)
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64)).select(*fields, ROW)

    # Merged cells carry their value in the top-left cell only: fill the whole range.
    filled: dict[tuple[int, int], str] = {}
    row_issues: list[tuple[int, str | None, str, str]] = []
    if facts.merges:
        updates: dict[str, dict[int, str]] = {}
        area = sum((min(r1, frame.height) - r0 + 1) * (min(c1, c0 + n_cols) - c0 + 1)
                   for r0, c0, r1, c1 in facts.merges if r0 <= min(r1, frame.height))
        if area > MAX_MERGED_CELLS:
            raise _file_error(path, "xlsx_too_complex", "工作表中合并单元格过多，请取消合并后重新报送（或改用CSV）。",
                              "Too many merged cells in the worksheet; unmerge them (or send CSV).")
        for r0, c0, r1, c1 in facts.merges:
            top = c0 - col_offset
            if not 0 <= top < n_cols or r0 > frame.height:
                continue
            value = frame[fields[top]][r0 - 1]
            if value is None:
                continue
            for r in range(r0, min(r1, frame.height) + 1):
                for c in range(max(c0 - col_offset, 0), min(c1 - col_offset, n_cols - 1) + 1):
                    if (r, c) != (r0, top):
                        updates.setdefault(fields[c], {})[r] = value
                        filled[(r, c)] = f"{_col_letters(c0)}{r0}:{_col_letters(c1)}{r1}"
        if updates:
            frame = frame.with_columns(
                pl.when(pl.col(ROW).is_in(list(rows)))
                .then(pl.col(ROW).replace_strict(rows, default=None, return_dtype=pl.String))
                .otherwise(pl.col(name)).alias(name)
                for name, rows in updates.items()
            )
    # Numbers of 15+ digits: keep Excel's scientific form so ID rules see the mangling.
    if facts.big_numbers:
        by_col: dict[str, dict[int, str]] = {}
        for r, c, text in facts.big_numbers:
            if 0 <= c - col_offset < n_cols:
                by_col.setdefault(fields[c - col_offset], {})[r] = _excel_scientific(text)
        frame = frame.with_columns(
            pl.when(pl.col(ROW).is_in(list(rows)))
            .then(pl.col(ROW).replace_strict(rows, default=None, return_dtype=pl.String))
            .otherwise(pl.col(name)).alias(name)
            for name, rows in by_col.items()
        )

    blank = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in fields])
    frame = frame.filter(~blank)
    # Hidden rows are neither the header nor data: below the header each one is reported (hidden_row).
    is_hidden = pl.col(ROW).is_in(sorted(facts.hidden_rows))
    hidden_rows = frame.filter(is_hidden).select(ROW)
    frame = frame.filter(~is_hidden)
    if frame.height == 0:
        raise _file_error(path, "empty_file", f"工作表“{names[sheet]}”没有任何数据。", f"Worksheet '{names[sheet]}' is empty.")
    grid = [(row[-1], [_norm_cell(v) for v in row[:-1]]) for row in frame.head(HEADER_SCAN_ROWS + 1).iter_rows()]
    first, last, header = _choose_header(grid, matcher, ffill_upper=False)
    notes += _header_note(first, last)
    rows = frame.filter(pl.col(ROW) > last).select(*fields, ROW)
    sheet_shown = redact_identifiers(names[sheet])
    rejected = hidden_rows.filter(pl.col(ROW) > last).select(
        ROW, pl.lit("hidden_row").alias("rule_id"),
        (pl.lit(f"'{sheet_shown}' row ") + pl.col(ROW).cast(pl.String) + pl.lit(" hidden")).alias("value"),
    )
    kept = set(rows[ROW].to_list())
    for r, c in facts.no_value:
        if r in kept and 0 <= c - col_offset < n_cols:
            row_issues.append((r, fields[c - col_offset], "formula_without_value", f"{_col_letters(c)}{r}"))
    for r, c, text in facts.errors:
        if r in kept and 0 <= c - col_offset < n_cols:
            row_issues.append((r, fields[c - col_offset], "cell_error_value", f"{_col_letters(c)}{r}: {text}"))
    for (r, c), ref in filled.items():
        if r in kept:
            row_issues.append((r, fields[c], "merged_cell_filled", f"merged range {ref}"))
    issues = pl.DataFrame(
        {ROW: [i[0] for i in row_issues], "field": [i[1] for i in row_issues],
         "rule_id": [i[2] for i in row_issues], "value": [redact_identifiers(i[3]) for i in row_issues]},
        schema=_ISSUE_SCHEMA,
    ).sort(ROW)
    return RawTable(header=header, rows=rows, rejected_lines=rejected.cast(_LINE_SCHEMA), encoding="xlsx",
                    file_format="xlsx", notes=notes, row_issues=issues, header_row=last, sheet_name=sheet_shown)


def _header_score(reader, index: int, matcher: HeaderMatcher) -> tuple[int, str]:
    """How many template columns the best header row among the first rows of sheet `index` names, and,
    when it names none, why (Chinese / English) in a few words."""
    try:
        head = reader.load_sheet(index, header_row=None, skip_rows=0, n_rows=HEADER_SCAN_ROWS + 1,
                                 dtypes="string").to_polars()
    except Exception:  # noqa: BLE001 - a sheet that cannot be read is just not the data sheet
        return 0, "无法读取 / cannot be read"
    grid = [(i + 1, [_norm_cell(v) for v in row]) for i, row in enumerate(head.iter_rows())
            if any(_norm_cell(v) for v in row)]
    if not grid:
        return 0, "空白 / empty"
    _, _, header = _choose_header(grid, matcher, ffill_upper=False)
    score = len({c for c in (matcher(t) for t in header if t) if c})
    return score, "" if score else "前几行中没有模板中的列名 / no template column name in its first rows"


def _sheet_matching_header(path: Path, reader, names: list[str], hidden: set[str], by_name: int,
                           matcher: HeaderMatcher) -> tuple[int, list[str]]:
    """The visible sheet whose header names the most template columns (a cover sheet 封面/说明 in front, a
    notes sheet beside the data do not matter); on a tie the sheet named like the extract (`by_name`, from
    `choose_sheet`), then the first. The ledger note says which sheet was read and why the others were not.
    When no sheet names a single template column, the file is rejected naming each sheet and why."""
    scores = {i: _header_score(reader, i, matcher) for i, n in enumerate(names) if n not in hidden}
    shown = {i: redact_identifiers(n) for i, n in enumerate(names)}
    if not any(score for score, _ in scores.values()):
        listed_zh = "；".join(f"“{shown[i]}”：{why.split(' / ')[0]}" for i, (_, why) in scores.items())
        listed_en = "; ".join(f"'{shown[i]}': {why.split(' / ')[-1]}" for i, (_, why) in scores.items())
        if hidden:
            listed_zh += "；" + "、".join(f"“{shown[i]}”" for i, n in enumerate(names) if n in hidden) + "：隐藏，未读取"
            listed_en += "; " + ", ".join(f"'{shown[i]}'" for i, n in enumerate(names) if n in hidden) + ": hidden, not read"
        raise _file_error(
            path, "no_matching_sheet",
            f"工作簿的{len(names)}个工作表中没有一个的表头与报送模板相符（{listed_zh}）；请把数据放在一个工作表中，"
            "第一行（或标题行下方）为模板规定的列名，然后重新报送。",
            f"None of the workbook's {len(names)} sheets has a header matching the template ({listed_en}); put the "
            "data on one sheet under the template's column names and send it again.")
    best = max(score for score, _ in scores.values())
    chosen = by_name if scores.get(by_name, (0, ""))[0] == best else next(i for i, (sc, _) in scores.items() if sc == best)
    others = [f"'{shown[i]}' ({sc} template columns)" if sc else f"'{shown[i]}' ({why.split(' / ')[-1]})"
              for i, (sc, why) in scores.items() if i != chosen]
    note = (f"workbook has {len(names)} sheets; read '{shown[chosen]}' (its header names {best} template columns)"
            f" / 读取工作表“{shown[chosen]}”（表头与模板相符）")
    if others:
        note += "; other sheets skipped / 其他工作表未读取: " + ", ".join(others)
    return chosen, [note]


def _excel_scientific(text: str) -> str:
    """'4.30502199001011E+17' as Excel shows a long number (15 significant digits, trailing zeros cut)."""
    mantissa, exponent = text.split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E+{int(exponent)}"
