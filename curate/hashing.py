"""Seeded hashing of document ids: the one place for the splitmix64 mixer and id -> uint64.

Stages that choose documents by id (quality's tie-break, rebalance's sampling, tokenize's
shuffle) hash the id rather than trust arrival order, so a choice is the same on any runner
and worker count. Each uses its own salt, so one stage's choice is not correlated with
another's.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
GOLD = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, vectorised (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _M1
        x = x ^ (x >> np.uint64(27))
        x = x * _M2
        return x ^ (x >> np.uint64(31))


_NIBBLE = np.full(256, 255, dtype=np.uint8)  # ASCII hex digit -> its value; 255: not one
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _NIBBLE[ord(chr(_c).upper())] = _i
_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)  # the first digit is the most significant


def id_u64(ids, fallback_source: str = "") -> np.ndarray:
    """uint64 of each id: the 16-hex curate ids parse directly; otherwise every id is hashed
    (``schema.make_id(fallback_source, id)``). An Arrow array of 16-hex ids is parsed from its
    character buffer, without a Python string per id (rebalance parses every batch twice)."""
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        arr = arr.cast(pa.string()) if arr.type != pa.string() else arr
        if arr.null_count == 0 and pc.all(pc.equal(pc.binary_length(arr), 16)).as_py() is not False:
            offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=arr.offset + len(arr) + 1)  # a slice's are within
            start, end = int(offsets[arr.offset]), int(offsets[-1])
            nibbles = _NIBBLE[np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=end)[start:]] if len(arr) else np.empty(0, np.uint8)
            if (nibbles != 255).all():
                return np.bitwise_or.reduce(nibbles.reshape(-1, 16).astype(np.uint64) << _SHIFTS, axis=1)
    ids = ids.to_pylist() if hasattr(ids, "to_pylist") else list(ids)
    if all(len(i) == 16 for i in ids):
        try:
            return np.frombuffer(bytes.fromhex("".join(ids)), dtype=">u8").astype(np.uint64)
        except ValueError:
            pass
    return np.array([int(schema.make_id(fallback_source, i), 16) for i in ids], dtype=np.uint64)


def hash64(seed: int, keys: np.ndarray, j, salt: int) -> np.ndarray:
    """64-bit hash of (seed, salt, id key, copy index j), uniform."""
    with np.errstate(over="ignore"):
        s = splitmix64(np.uint64((seed * 0x10001 + salt) & 0xFFFFFFFFFFFFFFFF) + GOLD)
        j = np.asarray(j, dtype=np.uint64) + np.uint64(1)
        return splitmix64(splitmix64(keys ^ s) + j * GOLD)


def to_unit(x: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) from the top 53 bits of uniform uint64s."""
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
