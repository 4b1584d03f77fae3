"""How a value read from an input becomes a document's ``meta``: the one rule for every reader
(a JSON record's fields, a Parquet row's columns, maps and structs), so the meta column's JSON,
the licence filter and ``meta_fields`` see the same value whichever file it came from."""
from __future__ import annotations

import json
import re


def meta_value(value):
    """``value`` as the meta JSON holds it: bytes (a Parquet ``binary`` or ``large_binary``
    column, map or struct field) their text (``binary_text``), a dict's keys text (``meta_key``),
    a tuple a list, each inside too; anything else as it is (a number, text; a date or a
    Decimal is its ``str`` when written, ``schema.meta_json``)."""
    if isinstance(value, dict):
        return {meta_key(k): meta_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [meta_value(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return binary_text(value)
    return value


def meta_key(key) -> str:
    """A key as JSON writes one, text: bytes their text (``binary_text``), a struct or list (a
    Parquet map may be keyed by any type) its JSON, a number or date its ``str`` (``1`` -> ``"1"``)."""
    if isinstance(key, str):
        return key
    if isinstance(key, (bytes, bytearray, memoryview)):
        return binary_text(key)
    if isinstance(key, (dict, list, tuple)):
        return json.dumps(meta_value(key), sort_keys=True, ensure_ascii=False, default=str)
    return str(key)


def as_text(value) -> str:
    """A field read as text (an id, url, path, language): bytes their text (``bytes_text``: a
    Parquet ``binary`` column's; ``str`` gave their repr, ``"b'x-1'"``), anything else its str."""
    return bytes_text(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value)


def bytes_text(data) -> str:
    """A name shown and searched (an id, url, path: ``as_text``) as UTF-8 text (``b"x-1"`` ->
    ``"x-1"``; its repr ``"b'x-1'"`` ``curate audit --why`` never found); a byte that is not
    UTF-8 as ``\\xNN``, the rest still text: nothing lost. A meta value is ``binary_text``."""
    return bytes(data).decode("utf-8", errors="backslashreplace")


def binary_text(data) -> str:
    """A binary meta value or key as the meta JSON holds it: bytes that are UTF-8 their text
    (``b"mit"`` -> ``"mit"``: Spark and Hive write strings so), any other Python's bytes literal,
    ``b'\\x8f\\xff\\xc3-1'`` (``ast.literal_eval`` gives the bytes back). Not ``bytes_text``'s
    ``\\x8f``: that is also the text of the four bytes ``\\x8f`` and of a text value holding
    them, three values the meta JSON could not tell apart; text starting ``b'`` and holding a
    ``\\x`` escape is the one thing this can be taken for."""
    data = bytes(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return repr(data)


# A JSON string (its quotes, escapes) in bytes: one of them holds a byte that is not UTF-8
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def json_bytes_text(data) -> str:
    """JSON held as bytes (a Parquet binary meta, RedPajama's meta text) as text ``json.loads``
    reads: a string of it whose bytes are not UTF-8 is their ``binary_text``, ``b'Jos\\xe9'``,
    as any binary value is (one Latin-1 letter and the whole object was opaque text, its
    licence unseen). Bytes that are UTF-8 (nearly all) are decoded once, nothing more."""
    data = bytes(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _JSON_STRING.sub(_utf8_json_string, data).decode("utf-8", errors="backslashreplace")


def _utf8_json_string(m) -> bytes:
    """One JSON string of ``json_bytes_text``'s as it is where UTF-8, else its bytes (its escapes
    undone) as ``binary_text`` writes them, a JSON string again."""
    token = m.group()
    try:
        token.decode("utf-8")
        return token
    except UnicodeDecodeError:
        pass
    try:  # the string's own bytes: its escapes (\", \u00e9) read by json, each other byte kept as it is
        raw = json.loads(token.decode("utf-8", errors="surrogateescape")).encode("utf-8", errors="surrogateescape")
    except ValueError:  # not a JSON string (a bad escape): the object is not read either
        return token
    return json.dumps(binary_text(raw)).encode()
