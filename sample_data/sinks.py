"""Write chunks of text cells to a CSV or XLSX file, reproducibly, in bounded memory.

CSV: polars writes each chunk (UTF-8), which is re-encoded when the file is
GB18030 and appended; the SHA-256 is computed on the fly. XLSX: xlsxwriter in
constant-memory mode streams rows to the first sheet; dates that parse become
Excel date cells and numbers numeric cells, everything a defect has bent stays
text; workbook timestamps are fixed so the same run gives the same bytes.
XLSX is only chosen for small files (styles.XLSX_MAX_ROWS), so its per-row
Python loop is never on a large file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import polars as pl

from dagster_project.contracts import Extract
from sample_data.styles import FileStyle

FIXED_TIMESTAMP = dt.datetime(2025, 1, 1, 0, 0, 0)
# ASCII digits only: Python's \d (and float, int) also take full-width digits, which would turn a
# full-width defect (１１) back into a plain numeric cell and lose it from the file
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_SERIAL = re.compile(r"^\d{5}$", re.ASCII)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$", re.ASCII)


class CsvSink:
    def __init__(self, path: Path, style: FileStyle):
        self.path = path
        self.style = style
        self.rows = 0
        self._digest = hashlib.sha256()
        self._fh = path.open("wb")
        header = ",".join(_quote(h) for h in style.headers) + style.line_terminator
        prefix = "\ufeff" if style.encoding == "utf-8-sig" else ""
        self._write((prefix + header).encode(self._codec))

    @property
    def _codec(self) -> str:
        return "gb18030" if self.style.encoding == "gb18030" else "utf-8"

    def _write(self, data: bytes) -> None:
        self._digest.update(data)
        self._fh.write(data)

    def write(self, chunk: pl.DataFrame) -> None:
        if chunk.height == 0:
            return
        buffer = io.BytesIO()
        chunk.write_csv(buffer, include_header=False, line_terminator=self.style.line_terminator, null_value="")
        data = buffer.getvalue()
        if self._codec != "utf-8":
            data = data.decode("utf-8").encode(self._codec)
        self._write(data)
        self.rows += chunk.height

    def close(self) -> str:
        self._fh.close()
        return self._digest.hexdigest()


def _quote(text: str) -> str:
    return f'"{text}"' if any(ch in text for ch in ',"\n') else text


class XlsxSink:
    def __init__(self, path: Path, style: FileStyle, extract: Extract):
        import xlsxwriter  # imported here: only XLSX files need it

        self.path = path
        self.rows = 0
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                     "strings_to_urls": False, "strings_to_formulas": False})
        self._book.set_properties({"created": FIXED_TIMESTAMP, "author": "", "comments": ""})
        self._sheet = self._book.add_worksheet(extract.name[:31])
        self._date_format = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._kinds = [c.type for c in extract.columns]
        for j, header in enumerate(style.headers):
            self._sheet.write_string(0, j, header)

    def write(self, chunk: pl.DataFrame) -> None:
        sheet, date_format = self._sheet, self._date_format
        for values in chunk.iter_rows():
            self.rows += 1
            r = self.rows
            for j, (value, kind) in enumerate(zip(values, self._kinds)):
                if value is None:
                    continue
                if kind == "date" and _ISO_DATE.match(value):
                    try:
                        sheet.write_datetime(r, j, dt.datetime.strptime(value, "%Y-%m-%d"), date_format)
                        continue
                    except ValueError:      # an impossible date stays text, as Excel would keep it
                        pass
                if kind == "date" and _SERIAL.match(value):
                    sheet.write_number(r, j, int(value))   # a date cell that lost its format
                elif kind in ("integer", "decimal") and _NUMBER.match(value):
                    sheet.write_number(r, j, float(value))
                else:
                    sheet.write_string(r, j, value)

    def close(self) -> str:
        self._book.close()
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
