"""Map a file's header texts to the contract's canonical column names."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dagster_project.contracts import Extract

_STRIP = re.compile(r"[\s\u3000_\-:：*＊]+")


def normalise_header(text: str) -> str:
    """Compare headers loosely: NFKC (full-width → ASCII, （）→ ()), no spaces/underscores, lower case."""
    text = unicodedata.normalize("NFKC", text or "").replace("\ufeff", "")
    return _STRIP.sub("", text).lower()


@dataclass
class HeaderMapping:
    field_of: dict[str, str]          # canonical column -> field name in the RawTable (f0, f1, ...)
    missing_required: list[str]       # canonical columns the file lacks but must have
    missing_optional: list[str]
    unknown: list[str]                # header texts that match no column (ignored, reported)
    duplicated: list[str]             # header texts mapped to a column already taken


def _alias_map(extract: Extract) -> dict[str, str]:
    alias_to_column: dict[str, str] = {}
    for col in extract.columns:
        for alias in col.aliases():
            alias_to_column.setdefault(normalise_header(alias), col.name)
    return alias_to_column


def header_matcher(extract: Extract):
    """header text -> canonical column or None; the reader uses it to find the header row."""
    alias_to_column = _alias_map(extract)
    return lambda text: alias_to_column.get(normalise_header(text))


def map_headers(extract: Extract, header: list[str]) -> HeaderMapping:
    alias_to_column = _alias_map(extract)
    field_of: dict[str, str] = {}
    unknown, duplicated = [], []
    for i, text in enumerate(header):
        column = alias_to_column.get(normalise_header(text))
        if column is None:
            if text.strip():
                unknown.append(text)
        elif column in field_of:
            duplicated.append(text)
        else:
            field_of[column] = f"f{i}"
    missing_required = [c.name for c in extract.columns if c.required and c.name not in field_of]
    missing_optional = [c.name for c in extract.columns if not c.required and c.name not in field_of]
    return HeaderMapping(field_of, missing_required, missing_optional, unknown, duplicated)
