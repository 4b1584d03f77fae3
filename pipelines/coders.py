"""A Beam coder that moves Arrow record batches and tables as Arrow IPC streams.

Beam encodes elements without a registered type with ``FastPrimitivesCoder``, which pickles
anything it does not know. Nearly every element of this pipeline is, or holds, an Arrow batch
or table, and pickling one copies each buffer twice: measured on a 0.7 MB batch of documents,
IPC is 10x cheaper to encode than pickle and 30x cheaper to decode (decoding is zero-copy:
the batch points into the received bytes). ``register()`` makes Beam's fallback coder a
``FastPrimitivesCoder`` whose own fallback is ``ArrowOrPickleCoder``: ints, strings and tuples
keep their fast encodings, batches and tables (also inside tuples and lists) go as IPC, and
anything else is pickled as before. On a portable runner the coder travels inside the
pipeline proto (pickled), so workers need nothing but curate installed.
"""
from __future__ import annotations

import pickle

import pyarrow as pa
from apache_beam import coders

_BATCH, _TABLE, _PICKLE = b"B", b"T", b"P"


def _ipc(value, tag: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, value.schema) as w:
        w.write(value)
    sink.write(tag)
    return sink.getvalue().to_pybytes()


class ArrowOrPickleCoder(coders.Coder):
    """Arrow batches and tables as IPC streams, any other value pickled; a one-byte tag at the
    end says which (at the end, so that decoded Arrow buffers keep the bytes' alignment)."""

    def encode(self, value) -> bytes:
        if isinstance(value, pa.RecordBatch):
            return _ipc(value, _BATCH)
        if isinstance(value, pa.Table):
            return _ipc(value, _TABLE)
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL) + _PICKLE

    def decode(self, encoded: bytes):
        tag, body = encoded[-1:], memoryview(encoded)[:-1]
        if tag == _PICKLE:
            return pickle.loads(body)
        reader = pa.ipc.open_stream(pa.py_buffer(body))
        return reader.read_all() if tag == _TABLE else reader.read_next_batch()

    def is_deterministic(self) -> bool:
        return False

    def to_type_hint(self):
        from typing import Any

        return Any


class ArrowFastPrimitivesCoder(coders.FastPrimitivesCoder):
    """``FastPrimitivesCoder`` with Arrow-aware fallback (what ``register`` installs)."""

    def __init__(self, fallback_coder=None):
        super().__init__(fallback_coder or ArrowOrPickleCoder())

    @classmethod
    def from_type_hint(cls, typehint, registry):
        return cls()


_registered = False


def register() -> None:
    """Make ``ArrowFastPrimitivesCoder`` the coder of untyped PCollections (idempotent; call
    before building a pipeline)."""
    global _registered
    if not _registered:
        coders.registry.register_fallback_coder(ArrowFastPrimitivesCoder)
        _registered = True
