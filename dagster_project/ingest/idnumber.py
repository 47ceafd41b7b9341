"""Citizen ID numbers (GB 11643): validation and keyed pseudonyms, vectorised.

The ID keyspace is small enough to brute-force a plain hash, so pseudonyms are
HMAC-SHA256 with a secret key. HMAC is computed inside DuckDB (its sha256
works on blobs), so a province's ten million student IDs never pass through a
Python loop and the raw numbers exist only in memory during ingestion.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import polars as pl

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
ID18 = r"^\d{17}[0-9X]$"
ID15 = r"^\d{15}$"
EXCEL_MANGLED = r"^\d(\.\d+)?E\+?\d+$"
_BLOCK = 64


def check_char_expr(first17: pl.Expr) -> pl.Expr:
    """ISO 7064 MOD 11-2 check character of a 17-digit string expression."""
    total = pl.sum_horizontal(
        [first17.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(WEIGHTS)]
    )
    return pl.lit(CHECK_CHARS).str.slice(total % 11, 1)


def check_char(first17: str) -> str:
    """The same in plain Python, for generators and tests."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def upgrade15_expr(id15: pl.Expr) -> pl.Expr:
    """Old 15-digit number → 18 digits: insert century '19' and append the check character."""
    first17 = id15.str.slice(0, 6) + pl.lit("19") + id15.str.slice(6, 9)
    return first17 + check_char_expr(first17)


def hmac_parts(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of HMAC (RFC 2104), passed to DuckDB as blobs."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sql(column_sql: str) -> str:
    """SQL computing hex HMAC-SHA256 of a VARCHAR column; needs parameters $ipad and $opad (blobs)."""
    return (
        f"CASE WHEN {column_sql} IS NULL THEN NULL ELSE "
        f"sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({column_sql})))) END"
    )


def pseudonym(key: bytes, id_number: str) -> str:
    """Reference implementation (tests compare the SQL against it)."""
    return hmac.new(key, id_number.encode("utf-8"), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------------------ masking
# What a message, a finding or a feedback workbook may show of a value: ID-shaped substrings keep their
# first six digits (the area code where the number was issued) and the rest become asterisks. Only
# ID-shaped substrings: a totals-row label (共3126人), a count or a long number that is not an ID number
# is shown as it was sent, so the clerk can find and fix it.
#
# ID-shaped means
#   - 17 digits + a digit or X, not glued to more digits (letters may precede it: 学籍号 'G' + ID number);
#     a wrong check character or date does not matter, a mistyped ID number is still a person's number;
#   - an old 15-digit number whose digits 7-12 are a date (YYMMDD), and a 16- or 17-digit number whose
#     digits 7-14 are a date (an ID number that lost its last digits);
#   - a longer digit run that contains a real ID number (valid date and check character), e.g. an ID
#     number typed straight after a phone number: the whole run is masked;
#   - Excel's scientific rendering of an 18- or 15-digit number (4.30502199001011E+17), which keeps an
#     ID number's first 15 digits.
# In a column declared as an ID number (`near_ids`), any run of 15 or more digits counts: there it is a
# mistyped ID number (a digit too many or too few), not some other figure.
# \d is Unicode-aware in both Python and polars, so full-width digits are masked as well.
_DIGIT_RUN = re.compile(r"\d{15,}(?:[Xx](?!\d))?")
_EXCEL_SCI = re.compile(r"(?<![\d.])\d\.\d{5,}[Ee]\+?(1[47])(?!\d)")
_EXCEL_SCI_NEAR = re.compile(r"(?<![\d.])\d\.\d{5,}[Ee]\+?(1[4-9])(?!\d)")
# Cheap polars pre-filter: only values matching it go through the Python masking.
_CANDIDATE = r"\d{15}|\d\.\d{5,}[Ee]"


def _ascii_digits(text: str) -> str:
    return "".join(str(int(c)) if c.isdigit() else c for c in text)


def _is_date(yyyymmdd: str) -> bool:
    try:
        day = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= day <= dt.date.today()


def _is_real_id18(candidate: str) -> bool:
    return (candidate[:17].isdigit() and (candidate[17].isdigit() or candidate[17] == "X")
            and _is_date(candidate[6:14]) and check_char(candidate[:17]) == candidate[17])


def _is_id_shaped(run: str) -> bool:
    digits = _ascii_digits(run).upper()
    if len(digits) == 18:
        return True
    if len(digits) == 15 and not digits.endswith("X"):
        return _is_date("19" + digits[6:12]) or _is_date("20" + digits[6:12])
    if len(digits) in (16, 17):  # an ID number cut short (a digit or two lost) still names its person
        return _is_date(digits[6:14])
    return len(digits) > 18 and any(_is_real_id18(digits[i:i + 18]) for i in range(len(digits) - 17))


def mask_id_numbers(text: str | None, *, near_ids: bool = False) -> str | None:
    """`text` with every ID-shaped substring masked (see above); `near_ids` for ID-number columns."""
    if not text:
        return text

    def masked_run(m: re.Match) -> str:
        run = m.group(0)
        return run[:6] + "*" * (len(run) - 6) if near_ids or _is_id_shaped(run) else run

    text = _DIGIT_RUN.sub(masked_run, text)
    return (_EXCEL_SCI_NEAR if near_ids else _EXCEL_SCI).sub("************", text)


def mask_id_numbers_expr(value: pl.Expr, *, near_ids: bool = False) -> pl.Expr:
    """The same for a polars string expression; only values that can hold an ID-shaped substring (15
    digits in a row, or a scientific rendering) leave the vectorised path."""

    def mask(series: pl.Series) -> pl.Series:
        series = series.cast(pl.String)
        hit = series.str.contains(_CANDIDATE).fill_null(False)
        if not hit.any():
            return series
        rows = hit.arg_true()
        masked = [mask_id_numbers(v, near_ids=near_ids) for v in series.gather(rows).to_list()]
        return series.clone().scatter(rows, masked)

    return value.map_batches(mask, return_dtype=pl.String, is_elementwise=True)


# ------------------------------------------------------------------------------------------ pseudonyms in text
# A citizen ID number inside a value that is not an ID-number column: a 学籍号 written 'G' + the pupil's ID
# number (the national student number format), an ID typed into a record number. Such a value is stored with
# each ID-shaped substring (the same definition as masking, above) replaced by its keyed pseudonym, the rest
# kept: 'G430502200801011234' becomes 'G' + 64 hex digits. The pseudonym of a well-formed number is the one
# `pseudonym` gives its 18-digit form (a 15-digit number is upgraded first, a lower-case x is upper-cased), i.e.
# the person's `person_pid`; so a pupil's 学籍号 is the same pseudonym in every year's students file and in the
# student health survey, and records still link. Excel's scientific rendering cannot be turned back into the
# number: it is masked.
_ID_SHAPED_HINT = re.compile(r"\d{15}|\d\.\d{5,}[Ee]")


def _pseudonym_input(run: str) -> str:
    digits = _ascii_digits(run).upper()
    if len(digits) == 15 and not digits.endswith("X"):
        first17 = digits[:6] + "19" + digits[6:]
        return first17 + check_char(first17)
    return digits


def has_id_shaped(text: str | None) -> bool:
    """Does `text` hold an ID-shaped substring (what `mask_id_numbers` would star)?"""
    return bool(text) and _ID_SHAPED_HINT.search(text) is not None and mask_id_numbers(text) != text


def pseudonymise_id_substrings(text: str | None, key: bytes) -> str | None:
    """`text` with every ID-shaped substring replaced by its keyed pseudonym (see above)."""
    if not text or _ID_SHAPED_HINT.search(text) is None:
        return text

    def replaced(m: re.Match) -> str:
        run = m.group(0)
        return pseudonym(key, _pseudonym_input(run)) if _is_id_shaped(run) else run

    return _EXCEL_SCI.sub("************", _DIGIT_RUN.sub(replaced, text))
