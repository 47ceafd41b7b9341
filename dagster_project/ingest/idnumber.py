"""Citizen ID numbers (GB 11643): validation and keyed pseudonyms, vectorised.

The ID keyspace is small enough to brute-force a plain hash, so pseudonyms are
HMAC-SHA256 with a secret key. HMAC is computed inside DuckDB (its sha256
works on blobs), so a province's ten million student IDs never pass through a
Python loop and the raw numbers exist only in memory during ingestion.
"""
from __future__ import annotations

import hashlib
import hmac

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
