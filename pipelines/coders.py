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

``run.shuffle_compression`` ("lz4" or "zstd") compresses the IPC buffers of batches of 32 KB
or more. Measured on a batch of documents: zstd makes it 2.5x smaller and lz4 1.6x, each at
~230 MB/s to encode (decoding: lz4 ~1.7 GB/s, zstd ~0.6 GB/s). Off by default: on one machine it
only costs CPU; on Dataflow, where shuffle is billed per GB, it pays for itself.
"""
from __future__ import annotations

import pickle

import pyarrow as pa
from apache_beam import coders

_BATCH, _TABLE, _PICKLE = b"B", b"T", b"P"
_COMPRESS_MIN_BYTES = 32 << 10  # smaller pieces: the codec's framing costs more than it saves
COMPRESSIONS = ("none", "lz4", "zstd")


def _ipc(value, tag: bytes, compression) -> bytes:
    sink = pa.BufferOutputStream()
    opts = None
    if compression and value.nbytes >= _COMPRESS_MIN_BYTES:
        opts = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, value.schema, options=opts) as w:
        w.write(value)
    sink.write(tag)
    return sink.getvalue().to_pybytes()


class ArrowOrPickleCoder(coders.Coder):
    """Arrow batches and tables as IPC streams, any other value pickled; a one-byte tag at the
    end says which (at the end, so that decoded Arrow buffers keep the bytes' alignment).
    ``compression``: None, "lz4" or "zstd" (the IPC stream says which; decoding needs no
    setting)."""

    def __init__(self, compression=None):
        self.compression = None if compression in (None, "none") else compression

    def encode(self, value) -> bytes:
        if isinstance(value, pa.RecordBatch):
            return _ipc(value, _BATCH, self.compression)
        if isinstance(value, pa.Table):
            return _ipc(value, _TABLE, self.compression)
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

    def __init__(self, fallback_coder=None, compression=None):
        super().__init__(fallback_coder or ArrowOrPickleCoder(compression))

    @classmethod
    def from_type_hint(cls, typehint, registry):
        return cls(compression=_compression)


_registered = False
_compression = None


def register(compression: str = "none") -> None:
    """Make ``ArrowFastPrimitivesCoder`` the coder of untyped PCollections, with this
    compression for the pipelines built from now on (call before building one)."""
    global _registered, _compression
    if compression not in COMPRESSIONS:
        raise ValueError(f"shuffle compression must be one of {COMPRESSIONS}, got {compression!r}")
    _compression = None if compression == "none" else compression
    if not _registered:
        coders.registry.register_fallback_coder(ArrowFastPrimitivesCoder)
        _registered = True
