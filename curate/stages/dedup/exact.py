"""Exact-duplicate keys: a 128-bit BLAKE2b digest of each document's normalised text.

Two documents get the same key when their texts are equal after ``normalize`` (case,
Unicode form, punctuation, digit runs and spacing folded). 128 bits, not 64: a key collision
would silently drop a distinct document, and at 1e9 documents 64 bits give a few per cent
odds of one somewhere; 128 bits make it negligible at any corpus size.

Survivor choice is the same as for near-duplicates: group by key (a shuffle), then
``cluster.bucket_edges`` (no signatures: every member is a duplicate of the bucket's best).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from .normalize import DEFAULT, NormalizeConfig, normalize, string_buffers

KEY_BYTES = 16


def keys_from_normalized(normalized) -> pa.FixedSizeBinaryArray:
    """One 16-byte key per document of an already-normalised string array."""
    data, offsets = string_buffers(normalized)
    mv = memoryview(data)
    bounds = offsets.tolist()
    digests = b"".join(
        hashlib.blake2b(mv[s:e], digest_size=KEY_BYTES).digest() for s, e in zip(bounds[:-1], bounds[1:])
    )
    return pa.Array.from_buffers(pa.binary(KEY_BYTES), len(bounds) - 1, [None, pa.py_buffer(digests)])


def exact_keys(texts, config: NormalizeConfig = DEFAULT) -> pa.FixedSizeBinaryArray:
    """Normalise raw texts and key them. ``keys[i].as_py()`` is a ``bytes`` shuffle key."""
    return keys_from_normalized(normalize(texts, config))


def keys_as_uint64(keys: pa.FixedSizeBinaryArray) -> np.ndarray:
    """The keys as an (n, 2) uint64 array (zero-copy), e.g. for numpy grouping."""
    buf = keys.buffers()[1]
    arr = np.frombuffer(buf, dtype=np.uint64).reshape(-1, 2)
    return arr[keys.offset : keys.offset + len(keys)]
