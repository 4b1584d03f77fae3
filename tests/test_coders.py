"""The Arrow-aware Beam coder: round trips, and that the pipeline's untyped PCollections use it."""
from __future__ import annotations

import pickle

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.coders import typecoders

from pipelines import coders


def _batch():
    return pa.record_batch({"id": ["a", "b", None], "x": [1.5, None, 3.0], "n": pa.array([[1], [], None])})


@pytest.mark.parametrize(
    "value",
    [
        _batch(),
        pa.Table.from_batches([_batch(), _batch()]),
        _batch().slice(1, 1),
        _batch().slice(0, 0),
        pa.table({"a": pa.array([], pa.int64())}),
        (7, _batch()),
        ("k", [pa.Table.from_batches([_batch()]), _batch()]),
        {"plain": [1, 2.5, "three"]},
    ],
)
def test_round_trip(value):
    c = coders.ArrowFastPrimitivesCoder()
    got = c.decode(c.encode(value))

    def same(a, b):
        if isinstance(a, (pa.RecordBatch, pa.Table)):
            return type(a) is type(b) and a.equals(b) and a.schema.metadata == b.schema.metadata
        if isinstance(a, (list, tuple)):
            return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    assert same(value, got)


def test_ipc_is_smaller_than_a_pickle_of_a_slice():
    big = pa.record_batch({"text": ["x" * 1000] * 1000})
    piece = big.slice(0, 10)
    assert len(coders.ArrowOrPickleCoder().encode(piece)) < len(pickle.dumps(piece)) / 10


def test_decoded_buffers_are_aligned():
    enc = coders.ArrowOrPickleCoder().encode(pa.record_batch({"v": pa.array(range(100), pa.int64())}))
    batch = coders.ArrowOrPickleCoder().decode(enc)
    assert batch.column(0).buffers()[1].address % 8 == 0


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_compression_round_trips_and_shrinks_text(compression):
    big = pa.record_batch({"text": [f"some repetitive text, line {i % 50}" * 20 for i in range(2000)]})
    small = _batch()
    c = coders.ArrowOrPickleCoder(compression)
    plain = coders.ArrowOrPickleCoder()
    assert c.decode(c.encode(big)).equals(big) and c.decode(c.encode(small)).equals(small)
    assert len(c.encode(big)) < len(plain.encode(big)) / 3
    assert len(c.encode(small)) == len(plain.encode(small))  # small pieces stay uncompressed
    assert plain.decode(c.encode(big)).equals(big)  # the stream says how it is compressed


def test_register_makes_it_the_fallback():
    coders.register()
    coders.register()  # idempotent
    c = typecoders.registry.get_coder(beam.typehints.Any)
    assert isinstance(c, coders.ArrowFastPrimitivesCoder)
    assert c.decode(c.encode((1, _batch())))[1].equals(_batch())
    coders.register("zstd")
    assert typecoders.registry.get_coder(beam.typehints.Any)._fallback_coder.compression == "zstd"
    coders.register()
    assert typecoders.registry.get_coder(beam.typehints.Any)._fallback_coder.compression is None
    with pytest.raises(ValueError):
        coders.register("gzip")
