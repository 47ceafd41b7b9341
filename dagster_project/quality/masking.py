"""What a quality result may show of a value: never a citizen ID number in clear.

Every example value, observed value and rendered page goes through `mask_text`
(or `mask_deep` for nested results). A run of 15 or more digits (an 18-digit ID
may end in X) keeps its first six digits, the area code where the number was
issued, as ingestion's quarantine does, and the rest become asterisks. Pseudonyms
(64 hex digits) are shortened to their first 12 characters: enough to find the
record, and they never repeat a whole key-derived value in documents that may
leave the warehouse.
"""
from __future__ import annotations

import math
import re
from typing import Any

# \d is Unicode-aware here, so full-width digits are masked as well.
_DIGIT_RUN = re.compile(r"\d{14,}[\dXx]")
_HEX64 = re.compile(r"(?<![0-9a-fA-F])([0-9a-f]{12})[0-9a-f]{52}(?![0-9a-fA-F])")
MAX_TEXT = 120


def mask_text(text: str, max_len: int = MAX_TEXT) -> str:
    text = _HEX64.sub(lambda m: m.group(1) + "…", text)
    text = _DIGIT_RUN.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 6), text)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
        text = _DIGIT_RUN.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 6), text)
    return text


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict, str)) else False
    except (TypeError, ValueError):
        return False


def display(value: Any) -> str:
    """A value as a clerk should see it, masked."""
    if is_blank(value):
        return "（空白）"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:  # numpy scalars
            value = value.item()
            if isinstance(value, float) and value.is_integer():
                value = int(value)
        except (AttributeError, ValueError):
            pass
    if isinstance(value, float):
        value = round(value, 4)
    return mask_text(str(value))


def mask_deep(value: Any) -> Any:
    """Mask every string inside a JSON-like structure (dicts, lists, tuples)."""
    if isinstance(value, str):
        return mask_text(value, max_len=10_000)
    if isinstance(value, dict):
        return {mask_deep(k) if isinstance(k, str) else k: mask_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_deep(v) for v in value) if isinstance(value, list) else [mask_deep(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 15:
        return mask_text(str(value))
    return value
