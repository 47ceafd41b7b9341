"""Counter-based randomness: a person's attributes as a pure function of who they are.

A person is identified by (township, residence, sex, birth cohort, index). Their
persistent attributes (birthday, enrolment propensity, myopia propensity, ...)
are hashes of that key, so the same child has the same student number and the
same myopia propensity in every year's file, whatever chunk or year is being
generated, without any state kept between chunks. SplitMix64 is used because
it is a bijective, well-mixed 64-bit finaliser that numpy can evaluate on whole
arrays (uint64 arithmetic wraps silently on arrays).

Event-level randomness (a birth weight, a screening date) uses ordinary numpy
generators seeded per (extract, year, township, chunk): see `chunk_rng`.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (in place is avoided: callers reuse inputs)."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def mix_scalar(x: int) -> int:
    """The same finaliser on a Python int (for combining key parts)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def label(text: str) -> int:
    """A stable 32-bit number for a name (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def key(*parts: int | str) -> int:
    """Combine key parts (ints or names) into one 64-bit key."""
    acc = 0x5EED
    for part in parts:
        value = label(part) if isinstance(part, str) else int(part)
        acc = mix_scalar(acc ^ (value & _MASK64))
    return acc


def hash_u64(block_key: int, index: np.ndarray) -> np.ndarray:
    """64-bit hash of (block_key, index) for every index in the array."""
    idx = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return _mix(idx * _GOLDEN ^ np.uint64(block_key))


def uniform(block_key: int, index: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from the top 53 bits of the hash."""
    return (hash_u64(block_key, index) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(block_key: int, index: np.ndarray) -> np.ndarray:
    """Standard normal variates (Box–Muller on two independent hashes)."""
    u1 = uniform(mix_scalar(block_key ^ 0x1), index)
    u2 = uniform(mix_scalar(block_key ^ 0x2), index)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def scalar_uniform(*parts: int | str) -> float:
    """One uniform number for a key (township effects, file styles)."""
    return (key(*parts) >> 11) * (1.0 / (1 << 53))


def scalar_normal(*parts: int | str) -> float:
    u1 = scalar_uniform(*parts, "n1")
    u2 = scalar_uniform(*parts, "n2")
    return float(np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2))


def chunk_rng(*parts: int | str) -> np.random.Generator:
    """A numpy generator for event-level draws of one chunk, fixed by its key parts."""
    words = [label(p) if isinstance(p, str) else int(p) & 0xFFFFFFFF for p in parts]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def categorical(u: np.ndarray, probabilities: Iterable[float]) -> np.ndarray:
    """Index of the category each uniform u falls into (probabilities need not sum to 1 exactly)."""
    cum = np.cumsum(np.asarray(list(probabilities), dtype=np.float64))
    cum = cum / cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def bijective_number(values: np.ndarray, bits: int, block_key: int) -> np.ndarray:
    """A keyed permutation of [0, 2**bits): distinct inputs give distinct outputs.

    Used for record numbers (student numbers, child-health numbers) that must be
    unique yet must not reveal the structured key they are derived from. A few
    rounds of a balanced Feistel network are a bijection by construction.
    """
    half = bits // 2
    other = bits - half
    mask_l = np.uint64((1 << other) - 1)
    mask_r = np.uint64((1 << half) - 1)
    v = np.asarray(values, dtype=np.uint64)
    left = (v >> np.uint64(half)) & mask_l
    right = v & mask_r
    for rnd in range(4):
        k = mix_scalar(block_key ^ (rnd + 1))
        if rnd % 2 == 0:
            left = left ^ (hash_u64(k, right) & mask_l)
        else:
            right = right ^ (hash_u64(k, left) & mask_r)
    return (left << np.uint64(half)) | right


def combine(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Element-wise hash of two uint64 arrays (or an array and a scalar)."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.uint64(b) if np.isscalar(b) else np.asarray(b, dtype=np.uint64)
    return _mix(a ^ _mix(b))


def to_unit(h: np.ndarray) -> np.ndarray:
    """uint64 hashes → uniform floats in [0, 1)."""
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
