"""How a value read from an input becomes a document's ``meta``: the one rule for every reader
(a JSON record's fields, a Parquet row's columns, maps and structs), so the meta column's JSON,
the licence filter and ``meta_fields`` see the same value whichever file it came from."""
from __future__ import annotations

import codecs
import json


def meta_value(value):
    """``value`` as the meta JSON holds it: bytes (a Parquet ``binary`` or ``large_binary``
    column, map or struct field) their text (``bytes_text``), a dict's keys text (``meta_key``),
    a tuple a list, each inside too; anything else as it is (a number, text; a date or a
    Decimal is its ``str`` when written, ``schema.meta_json``)."""
    if isinstance(value, dict):
        return {meta_key(k): meta_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [meta_value(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    return value


def meta_key(key) -> str:
    """A key as JSON writes one, text: bytes their text, a struct or list (a Parquet map may be
    keyed by any type) its JSON, a number or date its ``str`` (``1`` -> ``"1"``)."""
    if isinstance(key, str):
        return key
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes_text(key)
    if isinstance(key, (dict, list, tuple)):
        return json.dumps(meta_value(key), sort_keys=True, ensure_ascii=False, default=str)
    return str(key)


def as_text(value) -> str:
    """A field read as text (an id, url, path, language): bytes their text (``bytes_text``: a
    Parquet ``binary`` column's; ``str`` gave their repr, ``"b'x-1'"``), anything else its str."""
    return bytes_text(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value)


def bytes_text(data) -> str:
    """UTF-8 text (``b"mit"`` -> ``"mit"``; its repr ``"b'mit'"`` matched no licence); a byte
    that is not UTF-8 (a digest, a legacy charset) as ``\\xNN``, the rest still text: nothing
    lost, and two such keys stay two (U+FFFD made them one)."""
    return bytes(data).decode("utf-8", errors="backslashreplace")


# a byte that is not UTF-8 as JSON's "\\xNN": inside a JSON string, the text bytes_text gives it
codecs.register_error("curate.json_xNN", lambda e: ("".join(f"\\\\x{b:02x}" for b in e.object[e.start:e.end]), e.end))


def json_bytes_text(data) -> str:
    """JSON held as bytes (a Parquet binary meta, RedPajama's meta text) as text ``json.loads``
    reads: a byte that is not UTF-8 inside a string is ``\\xNN`` in that string, as
    ``bytes_text`` says it (its ``\\xNN`` written as is was no JSON escape: one Latin-1 letter
    and the whole object was opaque text, its licence unseen)."""
    return bytes(data).decode("utf-8", errors="curate.json_xNN")
