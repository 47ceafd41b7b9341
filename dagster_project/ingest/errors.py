"""The project's own exceptions: each names the file (and row where it applies) and says what to fix.

Messages end up in audit.file_loads, the feedback workbooks and the Dagster
log, so they must never carry a citizen ID number in clear: anything built
from file content goes through `redact_identifiers` first.
"""
from __future__ import annotations

from dagster_project.ingest.idnumber import mask_id_numbers


def redact_identifiers(text: str) -> str:
    """Mask every ID-shaped substring (idnumber.mask_id_numbers): keep the 6-digit area code, star the
    rest. Other digits stay: a message about a 20-digit number that cannot be stored must show it."""
    return mask_id_numbers(text or "") or ""


class IngestError(Exception):
    """Base class for every error ingestion raises on purpose."""


class ExtractFileError(IngestError):
    """A whole file cannot be read as a table (empty, not a CSV/XLSX, binary, ...).

    `line` is the row (as a clerk counts it, header = 1) where the problem was found, if any.
    """

    def __init__(self, file: str, rule_id: str, message_zh: str, message_en: str, line: int | None = None):
        self.file = redact_identifiers(file)  # a file name can hold an ID number
        self.rule_id = rule_id
        self.message_zh = redact_identifiers(message_zh)
        self.message_en = redact_identifiers(message_en)
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{self.file}{where}: [{rule_id}] {self.message_zh} / {self.message_en}")
