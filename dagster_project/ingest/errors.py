"""The project's own exceptions: each names the file (and row where it applies) and says what to fix.

Messages end up in audit.file_loads, the feedback workbooks and the Dagster
log, so they must never carry a citizen ID number in clear: anything built
from file content goes through `redact_identifiers` first.
"""
from __future__ import annotations

import re

# Any run of 15+ digits (old 15-digit and 18-digit ID numbers, also glued to other digits), and
# Excel's scientific rendering of a long number (which keeps an ID's first 15 digits).
_ID_LIKE = re.compile(r"([0-9]{6})[0-9]{9,}[Xx]?|[0-9]\.[0-9]+[Ee]\+?1[5-9]")


def redact_identifiers(text: str) -> str:
    """Mask anything shaped like an ID number: keep the 6-digit area code, star the rest."""
    return _ID_LIKE.sub(lambda m: (m.group(1) or "") + "************", text or "")


class IngestError(Exception):
    """Base class for every error ingestion raises on purpose."""


class ExtractFileError(IngestError):
    """A whole file cannot be read as a table (empty, not a CSV/XLSX, binary, ...).

    `line` is the row (as a clerk counts it, header = 1) where the problem was found, if any.
    """

    def __init__(self, file: str, rule_id: str, message_zh: str, message_en: str, line: int | None = None):
        self.file = file
        self.rule_id = rule_id
        self.message_zh = redact_identifiers(message_zh)
        self.message_en = redact_identifiers(message_en)
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{file}{where}: [{rule_id}] {self.message_zh} / {self.message_en}")
