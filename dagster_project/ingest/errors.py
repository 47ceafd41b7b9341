"""The project's own exceptions: each names the file (and row where it applies) and says what to fix."""
from __future__ import annotations


class IngestError(Exception):
    """Base class for every error ingestion raises on purpose."""


class ExtractFileError(IngestError):
    """A whole file cannot be read as a table (empty, not a CSV/XLSX, binary, ...)."""

    def __init__(self, file: str, rule_id: str, message_zh: str, message_en: str):
        self.file = file
        self.rule_id = rule_id
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{file}: [{rule_id}] {message_zh} / {message_en}")
