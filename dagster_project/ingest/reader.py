"""Read a department file (CSV or XLSX) into a frame of untouched strings.

Every cell stays text here: typing happens in rules.py, where a value that
does not parse becomes a quarantined row with a reason instead of an
exception. Each data row keeps `_row_number`, the row number a clerk sees in
Excel or a text editor (header = row 1), so feedback can point at it.

CSV parsing is done with polars on whole lines: one vectorised split for the
ordinary lines, Python's csv module only for the few lines with quotes. This
gives exact row numbers and lets rows with too many or too few fields be
quarantined one by one instead of failing the file.
"""
from __future__ import annotations

import csv
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dagster_project.ingest.encoding import detect_encoding, to_utf8
from dagster_project.ingest.errors import ExtractFileError

ROW = "_row_number"
CANDIDATE_SEPARATORS = (",", "\t", ";", "|")
_LINE_SEPARATOR = "\x1f"  # a byte that never appears in department CSVs, so each line is one field


@dataclass
class RawTable:
    """A file's header and rows as text, plus the rows that could not be split into fields."""

    header: list[str]
    rows: pl.DataFrame                      # columns f0..fN (str) + _row_number
    ragged: pl.DataFrame                    # _row_number, n_fields: rows with the wrong field count
    encoding: str
    file_format: str
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.rows.height + self.ragged.height


def field_names(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


def _file_error(path: Path, rule: str, zh: str, en: str) -> ExtractFileError:
    return ExtractFileError(path.name, rule, zh, en)


def _sniff_kind(path: Path) -> str:
    """What the bytes say the file is, whatever its extension claims."""
    with path.open("rb") as fh:
        head = fh.read(8192)
    if not head:
        raise _file_error(path, "empty_file", "文件为空（0字节），请重新导出后报送。", "The file is empty (0 bytes).")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(
            path, "xls_not_supported",
            "文件是旧版Excel（.xls）格式，请另存为.xlsx或CSV后报送。",
            "Old binary Excel (.xls) is not accepted; save as .xlsx or CSV.",
        )
    if head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        raise _file_error(
            path, "not_a_table",
            "文件不是CSV或Excel表格（可能是PDF、图片或压缩包），请报送数据表。",
            "The file is not a CSV or Excel table (PDF, image or archive?).",
        )
    text_like = sum(b >= 0x20 or b in (9, 10, 13) for b in head)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")) or text_like < 0.9 * len(head):
        raise _file_error(
            path, "binary_garbage",
            "文件内容不是文本表格（含大量二进制字节），请检查导出方式。",
            "The file content is binary, not a text table.",
        )
    return "csv"


def read_file(path: Path, sheet_hint: str | None = None) -> RawTable:
    """Read `path` as a table of strings; raise ExtractFileError when no table can be read at all."""
    kind = _sniff_kind(path)
    table = _read_xlsx(path, sheet_hint) if kind == "xlsx" else _read_csv(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "xlsx", "txt") and suffix != kind and not (suffix == "txt" and kind == "csv"):
        table.notes.append(f"extension_mismatch: file says .{suffix} but its content is {kind}")
    if not table.header or all(not h for h in table.header):
        raise _file_error(path, "no_header", "文件没有表头行。", "The file has no header row.")
    if table.rows_read == 0:
        raise _file_error(
            path, "header_only", "文件只有表头，没有数据行；如本年度确无数据，请在报送说明中注明。",
            "The file has a header but no data rows.",
        )
    return table


def _read_csv(path: Path) -> RawTable:
    encoding = detect_encoding(path)
    with tempfile.TemporaryDirectory(prefix="ingest_") as tmp:
        utf8_path = to_utf8(path, encoding, Path(tmp) / "utf8.csv")
        lines = pl.read_csv(
            utf8_path,
            has_header=False,
            separator=_LINE_SEPARATOR,
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
            row_index_name=ROW,
            row_index_offset=1,
        )
    lines = lines.with_columns(pl.col(ROW).cast(pl.Int64)).filter(
        pl.col("line").is_not_null() & (pl.col("line").str.strip_chars() != "")
    )
    if lines.height == 0:
        raise _file_error(path, "empty_file", "文件没有任何内容行。", "The file has no non-blank lines.")
    header_line = lines["line"][0]
    separator = max(CANDIDATE_SEPARATORS, key=header_line.count)
    header = next(csv.reader([header_line], delimiter=separator))
    data = lines.slice(1)
    rows, ragged = _split_lines(data, separator, len(header))
    return RawTable(header=header, rows=rows, ragged=ragged, encoding=encoding, file_format="csv")


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
    ragged = counted.filter(pl.col("n_fields") != n_fields).select(ROW, pl.col("n_fields").cast(pl.Int64))
    good = counted.filter(pl.col("n_fields") == n_fields)
    rows = good.select(
        *[pl.col("fields").list.get(i).alias(name) for i, name in enumerate(field_names(n_fields))], ROW
    )
    return rows, ragged


def _read_xlsx(path: Path, sheet_hint: str | None) -> RawTable:
    import fastexcel  # imported here: only XLSX files need it

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        if zipfile.is_zipfile(path) and "xl/workbook.xml" not in zipfile.ZipFile(path).namelist():
            raise _file_error(path, "not_a_table", "文件是压缩包而不是Excel工作簿。", "A zip archive, not a workbook.") from exc
        raise _file_error(
            path, "xlsx_unreadable", f"Excel文件无法打开（{type(exc).__name__}），请重新导出。",
            f"The workbook cannot be opened: {exc}",
        ) from exc
    names = reader.sheet_names
    notes = []
    sheet = 0
    if sheet_hint and sheet_hint in names:
        sheet = names.index(sheet_hint)
    if len(names) > 1:
        notes.append(f"workbook has {len(names)} sheets; read '{names[sheet]}'")
    frame = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    n_cols = frame.width
    frame = frame.rename(dict(zip(frame.columns, field_names(n_cols))))
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    blank = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in field_names(n_cols)]
    )
    frame = frame.filter(~blank)
    if frame.height == 0:
        raise _file_error(path, "empty_file", "工作表没有任何数据。", "The worksheet is empty.")
    header = [h or "" for h in frame.row(0)[1:]]
    rows = frame.slice(1).select(*field_names(len(header)), ROW)
    ragged = pl.DataFrame(schema={ROW: pl.Int64, "n_fields": pl.Int64})
    return RawTable(header=header, rows=rows, ragged=ragged, encoding="xlsx", file_format="xlsx", notes=notes)
