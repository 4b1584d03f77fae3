"""A Parquet meta map's values and keys as the meta JSON and meta_fields see them (readers/parquet.py _rows)."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from curate.readers import read_shard
from curate.readers.common import Limits, Shard


def _metas(tmp_path, name: str, col: pa.Array, **options) -> dict:
    """source id -> the meta JSON of each row of a two-row file whose meta column is ``col``."""
    pq.write_table(pa.table({"id": [f"{name}0", f"{name}1"], "text": ["a page of text"] * 2, "meta": col}),
                   tmp_path / f"{name}.parquet")
    shard = Shard(str(tmp_path / f"{name}.parquet"), name, "parquet", "web", "t", options=tuple(options.items()))
    got = {}
    for kind, b in read_shard(shard, Limits()):
        assert kind == "docs", b.to_pylist()
        got |= {r["source_id"]: json.loads(r["meta"]) if r["meta"] else None for r in b.to_pylist()}
    return got


def test_a_binary_map_value_is_its_utf8_text_and_meta_fields_reach_it(tmp_path):
    """Spark writes map<string,binary> metas: a binary value was its repr, "b'mit'", in the meta
    JSON and in ``meta.lic``, so a licence filter never matched it. Valid UTF-8 is its text; bytes
    that are not stay as they were (nothing made up)."""
    col = pa.array([[("lic", b"mit")], [("lic", "Zoë".encode())]], type=pa.map_(pa.string(), pa.binary()))
    assert _metas(tmp_path, "v", col, meta_fields=("meta.lic",)) == {
        "v0": {"lic": "mit", "meta.lic": "mit"}, "v1": {"lic": "Zoë", "meta.lic": "Zoë"}}
    for kind in (pa.large_binary(), pa.binary(3)):
        col = pa.array([[(b"lic", b"mit")], []], type=pa.map_(kind, kind))
        assert _metas(tmp_path, "w", col) == {"w0": {"lic": "mit"}, "w1": None}, kind
    nested = pa.array([[("a", [("lic", b"mit")])], []], type=pa.map_(pa.string(), pa.map_(pa.string(), pa.binary())))
    assert _metas(tmp_path, "n", nested) == {"n0": {"a": {"lic": "mit"}}, "n1": None}


def test_binary_map_keys_that_are_not_utf8_stay_apart(tmp_path):
    """Two keys that are not UTF-8 (b'\\xff', b'\\xfe') were both read as U+FFFD: one dict key,
    the first value lost without a word. Each is its bytes literal (b'\\xff'), so both are kept."""
    col = pa.array([[(b"\xff", "a"), (b"\xfe", "b"), (b"ok", "c")], []], type=pa.map_(pa.binary(), pa.string()))
    assert _metas(tmp_path, "k", col) == {"k0": {"b'\\xff'": "a", "b'\\xfe'": "b", "ok": "c"}, "k1": None}


def test_map_keys_that_read_as_one_keep_every_value(tmp_path):
    """A map's pairs whose keys read as one text key (a key given twice, which Parquet allows;
    the byte 0xff beside the UTF-8 text ``b'\\xff'``, its bytes literal) kept only the last
    value, the others lost without a word. Each later one takes the first free ``key_2``, ...
    (as ``readers.meta.free_key``); one the same is kept once. Ground truth: the pairs pyarrow reads back."""
    col = pa.array([[(b"k", "a"), (b"k", "b"), (b"k", "a")], [(b"\xff", "x"), (b"b'\\xff'", "y")]],
                   type=pa.map_(pa.binary(), pa.string()))
    pairs = pa.table({"m": col}).column("m").to_pylist()
    assert pairs[0] == [(b"k", "a"), (b"k", "b"), (b"k", "a")]  # what was written, read back
    # the text b'\xff' is its own key now, \b'\xff' (readers.meta.meta_text): no longer read as the byte's
    assert _metas(tmp_path, "d", col) == {"d0": {"k": "a", "k_2": "b"}, "d1": {"b'\\xff'": "x", "\\b'\\xff'": "y"}}


def test_every_key_a_map_given_twice_writes_reads_back_by_the_readme_rule(tmp_path):
    """A binary key that is not UTF-8 given twice (b'\\xff' twice, two values) took ``b'\\xff'``
    and ``b'\\xff'_2``: the README's rule (a key starting b' is bytes, ast.literal_eval) raised on
    the second. A bytes literal's later keys take the number inside the literal, ``b'\\xff_2'``,
    the key's bytes then ``_2`` as a text key's ``k_2``. Ground truth: ast.literal_eval."""
    import ast

    col = pa.array([[(b"\xff", "x"), (b"\xff", "y"), (b"\xff_2", "z"), (b"\xfe", "w")], []],
                   type=pa.map_(pa.binary(), pa.string()))
    meta = _metas(tmp_path, "r", col)["r0"]
    read = {ast.literal_eval(k) if k.startswith(("b'", 'b"')) else k: v for k, v in meta.items()}
    assert len(read) == len(meta) == 4 and sorted(read.values()) == ["w", "x", "y", "z"], meta
    assert read == {b"\xff": "x", b"\xff_2": "y", b"\xff_2_2": "z", b"\xfe": "w"}, read  # a key b"\xff_2" of its own: numbered too


def test_a_struct_meta_with_a_field_name_twice_keeps_both_values(tmp_path):
    """pyarrow writes a struct with two fields of one name (``struct<lic, lic>``); its to_pylist
    raised ("duplicate field names"), and the whole file was one read_error row. Each field is
    kept, the later under ``lic_2`` as a map's key given twice (nested, and one the same kept
    once). Ground truth: the child arrays pyarrow reads back."""
    inner = pa.StructArray.from_arrays([pa.array(["x", "y"]), pa.array(["x", "z"])], names=["a", "a"])
    col = pa.StructArray.from_arrays([pa.array(["MIT", None]), pa.array(["GPL-3.0-only", "MIT"]), inner],
                                     names=["lic", "lic", "in"])
    pq.write_table(pa.table({"id": ["s0", "s1"], "text": ["a page of text"] * 2, "meta": col}), tmp_path / "s.parquet")
    back = pq.read_table(tmp_path / "s.parquet").column("meta").combine_chunks()
    assert [f.name for f in back.type] == ["lic", "lic", "in"] and back.field(1).to_pylist() == ["GPL-3.0-only", "MIT"]
    assert _metas(tmp_path, "s", col, meta_fields=("meta.lic_2",)) == {
        "s0": {"lic": "MIT", "lic_2": "GPL-3.0-only", "in": {"a": "x"}, "meta.lic_2": "GPL-3.0-only"},
        "s1": {"lic": None, "lic_2": "MIT", "in": {"a": "y", "a_2": "z"}, "meta.lic_2": "MIT"}}


def test_a_struct_field_named_like_a_bytes_literal_given_twice_reads_back_as_text(tmp_path):
    """A struct's field named ``b'x'`` (text, written ``\\b'x'``) given twice took its number
    inside the quotes as a bytes key's does, ``\\b'x_2'``: the README's rule reads the text
    ``b'x_2'`` back, not ``b'x'_2`` as a map's such key gives (the field name was numbered
    before it was made the meta JSON's key). Ground truth: ast.literal_eval's rule, the map's keys."""
    names = ["b'x'", "b'x'", 'b"\\xff"', 'b"\\xff"', "k", "k"]
    col = pa.StructArray.from_arrays([pa.array([f"v{i}", "z"]) for i in range(len(names))], names=names)
    as_map = pa.array([list(zip([n.encode() for n in names], [f"v{i}" for i in range(len(names))])), []],
                      type=pa.map_(pa.binary(), pa.string()))
    struct, mapped = _metas(tmp_path, "s", col)["s0"], _metas(tmp_path, "m", as_map)["m0"]
    assert struct == mapped == {"\\b'x'": "v0", "\\b'x'_2": "v1", '\\b"\\xff"': "v2", '\\b"\\xff"_2': "v3", "k": "v4", "k_2": "v5"}, struct
