"""Detect a CSV's text encoding and write a clean UTF-8 copy to parse.

Departments send UTF-8 (with or without BOM) or GBK/GB18030 without saying
so, and now and then a file whose lines were pasted together from both.

* UTF-8 is tried first, because a GB18030 decoder accepts almost any byte
  sequence, including valid UTF-8, and would silently garble it.
* A file that is not valid UTF-8 is decoded as GB18030 as a whole, unless it
  contains runs of well-formed UTF-8 Chinese characters: then (and when the
  whole-file decode fails) it is decoded **line by line** ("mixed" mode): a
  line that is valid UTF-8 made of plausible characters (ASCII, CJK,
  full-width forms, common punctuation) is UTF-8, otherwise GB18030. Lines of
  the minority encoding are reported as `mixed_encoding` (row flag, value
  loaded); a line that decodes in neither is reported as `undecodable_line`
  (row quarantined); a last line cut inside a multi-byte character as
  `truncated_line` (row quarantined). A header line that cannot be decoded
  rejects the file (`encoding_unknown`, naming line 1).
* UTF-16 is read when it has a BOM, or when NUL bytes sit at every other byte.

The copy written for the parser is UTF-8 without BOM, with lone CR line
breaks (old Mac exports) turned into LF, and with C0 control characters
(NUL, ... except TAB/LF/CR) replaced by their visible Unicode "control
pictures" (U+2400 + code), so no byte in the copy can confuse the line
splitter; the reader quarantines the lines that contain them. Files are
processed in chunks so a province-sized file never sits in memory whole.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from dagster_project.ingest.errors import ExtractFileError

CHUNK = 4 * 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
CONTROL_PICTURES = "[\u2400-\u2421]"            # what control characters become in the copy
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_CR = re.compile("\r(?!\n)")
# Two or more UTF-8 encoded CJK ideographs between ASCII bytes: a sign of UTF-8 lines in a non-UTF-8 file.
_UTF8_CJK_RUN = re.compile(rb"[\x00-\x7f](?:[\xe4-\xe9][\x80-\xbf]{2}){2,}[\x00-\x7f]")
# Characters a department's UTF-8 text is made of: ASCII, Latin-1 and pinyin letters (Lü, José),
# CJK, full-width forms, common punctuation and symbols. Anything else (e.g. 'Ů', which is what the
# GBK bytes of 女 look like when read as UTF-8) makes a text "implausible" as UTF-8.
_PINYIN = "ĀāĒēĚěĪīŌōŪūǍ-ǜ"
_IMPLAUSIBLE = re.compile(
    "[^\x00-\x7f\u00a0-\u00ff" + _PINYIN + "\u2000-\u206f\u2100-\u218f\u2460-\u24ff\u2e80-\u2fdf\u3000-\u303f"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u2400-\u2421]"
)
UTF8, GB = "utf-8", "gb18030"


@dataclass
class Transcoded:
    """The UTF-8 copy of a text file and what decoding it found, line by line."""

    path: Path
    encoding: str                              # utf-8 | utf-8-sig | utf-16 | gb18030 | utf-8+gb18030
    line_issues: list[tuple[int, str, str]] = field(default_factory=list)  # (line, rule_id, detail)
    notes: list[str] = field(default_factory=list)


def _error(path: Path, rule: str, zh: str, en: str, line: int | None = None) -> ExtractFileError:
    return ExtractFileError(path.name, rule, zh, en, line)


def _unknown_encoding(path: Path, line: int | None = None) -> ExtractFileError:
    where_zh = f"第{line}行" if line else "文件"
    where_en = f"line {line}" if line else "the file"
    return _error(
        path, "encoding_unknown",
        f"{where_zh}的编码无法识别（既不是UTF-8也不是GBK/GB18030），请另存为UTF-8编码的CSV。",
        f"{where_en} is neither UTF-8 nor GBK/GB18030; save the file as UTF-8 CSV.",
        line,
    )


def sniff_utf16(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' for BOM-less UTF-16 text (NULs at every other byte), else None."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _clean(text: str) -> str:
    if "\r" in text:
        text = _LONE_CR.sub("\n", text)
    return _CONTROL.sub(lambda m: chr(0x2400 + (ord(m.group()) if m.group() != "\x7f" else 0x21)), text)


def _stream(path: Path, encoding: str, target: Path, skip: int = 0) -> tuple[bool, bool]:
    """Decode the whole file strictly with `encoding` into `target`.

    Returns (decoded?, saw implausible characters?): GBK bytes that happen to be valid UTF-8
    (女 in GBK is U+016E in UTF-8) come out as Latin letters with accents.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    carry = ""
    implausible = False
    first = True
    try:
        with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
            src.read(skip)
            while chunk := src.read(CHUNK):
                text = carry + decoder.decode(chunk)
                carry = ""
                if first and text:
                    text, first = text.lstrip("\ufeff"), False  # a second BOM would read as an empty file
                if text.endswith("\r"):          # a CRLF may straddle two chunks
                    text, carry = text[:-1], "\r"
                implausible = implausible or (not text.isascii() and _IMPLAUSIBLE.search(text) is not None)
                dst.write(_clean(text))
            text = carry + decoder.decode(b"", final=True)
            implausible = implausible or _IMPLAUSIBLE.search(text) is not None
            dst.write(_clean(text))
    except UnicodeDecodeError:
        return False, implausible
    return True, implausible


def _has_utf8_cjk(path: Path) -> bool:
    tail = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if _UTF8_CJK_RUN.search(tail + chunk + (b"" if len(chunk) == CHUNK else b"\n")):
                return True
            tail = chunk[-16:]
    return False


def _decode_line(raw: bytes, last: bool) -> tuple[str, str]:
    """(text, how): how is 'ascii', UTF8, GB, 'truncated' or 'undecodable'."""
    if raw.isascii():
        return raw.decode("ascii"), "ascii"
    text: str | None = None
    try:
        text = raw.decode(UTF8)
        if not _IMPLAUSIBLE.search(text):
            return text, UTF8
    except UnicodeDecodeError as exc:
        # The file's last line, valid UTF-8 up to a character cut in half: a truncated file.
        if last and exc.reason == "unexpected end of data" and exc.end == len(raw):
            return raw[: exc.start].decode(UTF8), "truncated"
    try:
        return raw.decode(GB), GB
    except UnicodeDecodeError:
        pass
    if text is not None:
        return text, UTF8
    if last:
        try:
            kept = codecs.getincrementaldecoder(GB)().decode(raw, final=False)
            return kept, "truncated"
        except UnicodeDecodeError:
            pass
    return raw.decode(UTF8, errors="replace"), "undecodable"


def _per_line(path: Path, target: Path, skip: int) -> Transcoded:
    """Decode line by line (mixed or partly broken files). Line numbers are those of the copy."""
    by_encoding: dict[str, list[int]] = {UTF8: [], GB: []}
    issues: list[tuple[int, str, str]] = []
    out_line = 1
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        src.read(skip)
        raw = src.readline()
        while raw:
            nxt = src.readline()
            text, how = _decode_line(raw, last=not nxt)
            if out_line == 1:
                text = text.lstrip("\ufeff")
            if out_line == 1 and how in ("undecodable", "truncated"):
                raise _unknown_encoding(path, 1)
            text = _clean(text)
            if how in (UTF8, GB):
                by_encoding[how].append(out_line)
            elif how == "undecodable":
                issues.append((out_line, "undecodable_line", "bytes valid in neither UTF-8 nor GB18030"))
            elif how == "truncated":
                issues.append((out_line, "truncated_line", "file ends inside a multi-byte character"))
            dst.write(text)
            out_line += text.count("\n")
            raw = nxt
    if by_encoding[UTF8] and by_encoding[GB]:
        major, minor = (UTF8, GB) if len(by_encoding[UTF8]) >= len(by_encoding[GB]) else (GB, UTF8)
        issues += [(n, "mixed_encoding", f"line decoded as {minor.upper()}; most of the file is {major.upper()}")
                   for n in by_encoding[minor]]
        encoding = f"{UTF8}+{GB}"
        notes = [f"mixed encodings: {len(by_encoding[UTF8])} UTF-8 line(s), {len(by_encoding[GB])} GB18030 line(s); "
                 f"first {minor.upper()} line {by_encoding[minor][0]}"]
    else:
        encoding = GB if by_encoding[GB] else UTF8
        notes = []
    if any(rule == "undecodable_line" for _, rule, _ in issues):
        notes.append(f"{sum(r == 'undecodable_line' for _, r, _ in issues)} line(s) undecodable")
    return Transcoded(target, encoding, sorted(issues), notes)


def transcode(path: Path, target: Path, hint: str | None = None) -> Transcoded:
    """Write the clean UTF-8 copy of `path` to `target`; raise ExtractFileError if no encoding fits."""
    with path.open("rb") as fh:
        head = fh.read(4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            if name == "utf-16":
                if _stream(path, name, target)[0]:
                    return Transcoded(target, name)
                raise _unknown_encoding(path)
            if _stream(path, UTF8, target, skip=len(bom))[0]:
                return Transcoded(target, name)
            result = _per_line(path, target, skip=len(bom))
            result.notes.append("UTF-8 BOM, but not every line is UTF-8")
            return result
    if hint and hint.startswith("utf-16"):
        if _stream(path, hint, target)[0]:
            return Transcoded(target, "utf-16", notes=[f"{hint.upper()} without BOM"])
        raise _unknown_encoding(path)
    utf8_ok, utf8_odd = _stream(path, UTF8, target)
    if utf8_ok and not utf8_odd:
        return Transcoded(target, UTF8)
    if utf8_ok:
        # Valid UTF-8 but with characters no department writes: maybe GBK after all.
        gb_target = target.with_name(target.name + ".gb")
        gb_ok, gb_odd = _stream(path, GB, gb_target)
        if gb_ok and not gb_odd:
            gb_target.replace(target)
            return Transcoded(target, GB, notes=["valid UTF-8 but read as GB18030 (only that gives Chinese text)"])
        gb_target.unlink(missing_ok=True)
        _stream(path, UTF8, target)
        return Transcoded(target, UTF8)
    if not _has_utf8_cjk(path) and _stream(path, GB, target)[0]:
        return Transcoded(target, GB)
    return _per_line(path, target, skip=0)


# Kept for callers that only want the name of the encoding.
def detect_encoding(path: Path) -> str:
    """Return 'utf-8', 'utf-8-sig', 'utf-16', 'gb18030' or 'utf-8+gb18030'; raise ExtractFileError if none fits."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ingest_") as tmp:
        return transcode(path, Path(tmp) / "utf8.csv").encoding
