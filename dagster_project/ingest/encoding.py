"""Detect a CSV's text encoding and give a UTF-8 copy to parse.

Departments send UTF-8 (with or without BOM) or GBK/GB18030 without saying
so. UTF-8 is tried first because a GB18030 decoder accepts almost any byte
sequence, including valid UTF-8, and would silently garble it. Files are
transcoded in chunks so a province-sized file never sits in memory whole.
"""
from __future__ import annotations

import codecs
import shutil
from pathlib import Path

from dagster_project.ingest.errors import ExtractFileError

CHUNK = 4 * 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decodes_fully(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """Return 'utf-8', 'utf-8-sig', 'utf-16' or 'gb18030'; raise ExtractFileError if none fits."""
    with path.open("rb") as fh:
        head = fh.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if _decodes_fully(path, "utf-8"):
        return "utf-8"
    if _decodes_fully(path, "gb18030"):
        return "gb18030"
    raise ExtractFileError(
        path.name,
        "encoding_unknown",
        "文件编码无法识别（既不是UTF-8也不是GBK/GB18030），请另存为UTF-8编码的CSV。",
        "The file is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV.",
    )


def to_utf8(path: Path, encoding: str, target: Path) -> Path:
    """Write a UTF-8 copy without BOM of `path` to `target` (or return `path` if already plain UTF-8)."""
    if encoding == "utf-8":
        return path
    if encoding == "utf-8-sig":
        with path.open("rb") as src, target.open("wb") as dst:
            src.read(3)
            shutil.copyfileobj(src, dst, CHUNK)
        return target
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return target
