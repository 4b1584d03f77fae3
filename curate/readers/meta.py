"""How a value read from an input becomes a document's ``meta``: the one rule for every reader
(a JSON record's fields, a Parquet row's columns, maps and structs), so the meta column's JSON,
the licence filter and ``meta_fields`` see the same value whichever file it came from; and what
of a record is carried (``carried_meta``: its ``meta`` / ``metadata``, ``carry_meta``; the
fields ``meta_field_names`` lists)."""
from __future__ import annotations

import functools
import json
import re

from curate.readers.common import loads

# A record's fields copied into its meta (the first four the licence filter reads, the rest its
# dates), whatever it carries; ``meta_fields`` in [[inputs]] names more, added to these.
META_FIELDS = ("license", "licence", "licenses", "max_stars_repo_licenses", "created", "timestamp", "date")


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
    if isinstance(value, str):
        return meta_text(value)
    return value


def json_meta_value(value):
    """A value JSON parsed (objects, lists, text, numbers) as the meta JSON holds it: ``meta_value``'s
    walk, every text and key ``meta_text``, without recursion (a value nested 500 deep passed
    Python's limit) and into a copy (the record's value is read again by another name): a
    ``meta_fields`` object's ``b'v'`` was taken as read, the byte v to the meta JSON's reader,
    where a Parquet struct's was ``\\b'v'``."""
    if not isinstance(value, (dict, list)):
        return meta_text(value) if isinstance(value, str) else value
    out = [None]
    todo = [(value, out, 0)]
    while todo:
        v, parent, at = todo.pop()
        if isinstance(v, dict):
            keys = [meta_text(k) for k in v]
            parent[at] = new = dict.fromkeys(keys)  # in its order; meta_text is one-to-one
            todo.extend(zip(v.values(), [new] * len(keys), keys))
        elif isinstance(v, list):
            kinds = set(map(type, v))
            if not kinds & {str, dict, list}:  # numbers, booleans, nulls (CCNet's line_ids): a copy, not a walk
                parent[at] = v[:]
            elif kinds == {str}:
                parent[at] = [meta_text(x) for x in v]
            else:
                parent[at] = new = [None] * len(v)
                todo.extend((x, new, i) for i, x in enumerate(v))
        else:
            parent[at] = meta_text(v) if isinstance(v, str) else v
    return out[0]


# Text the meta JSON would read as a bytes literal (``b'...'``, ``b"..."``), or as such text
# escaped (a backslash more before it): the text takes a backslash more (``meta_text``)
_LIKE_BYTES = re.compile(r"\\*b['\"]")


def meta_text(text: str) -> str:
    """A text value or key as the meta JSON holds it: itself, but text starting ``b'`` or ``b"``
    after any backslashes with one backslash more (``b'\\x8f'``, seven characters, ->
    ``\\b'\\x8f'``): as it was, it was the meta JSON's form of the byte 0x8f (``binary_text``),
    read back as binary. The rule to read a value back: ``b'``/``b"`` first, ``ast.literal_eval``'s
    bytes; a backslash, then only backslashes, then ``b'``/``b"``: the text less that backslash;
    anything else the text."""
    return "\\" + text if text[:1] in ("b", "\\") and _LIKE_BYTES.match(text) else text


def name_meta(name) -> str:
    """A file's path or repository (a code file's ``file_path``, a record's ``repo_name``) as the
    meta JSON holds it: escaped as any text (``meta_text``: ``b'x.py`` -> ``\\b'x.py``, no bytes
    to its reader), bytes (a Parquet binary column) and a name whose bytes are not UTF-8
    (os.listdir's lone surrogates: it was ``caf?.py``, another file's name) as binary values are
    (``binary_text``: ``b'caf\\xe9.py'``). ``meta_name`` reads it back."""
    if isinstance(name, str):
        try:
            name = name.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate no byte gives (JSON's "\ud800"): no bytes to say
            return meta_text(name)
    return binary_text(name) if isinstance(name, (bytes, bytearray, memoryview)) else meta_text(as_text(name))


def meta_name(value: str) -> str:
    """The name a ``name_meta`` value (a curate output's ``file_path``, ``repo_name``) is of, as
    ``as_text`` gives it (the path column's spelling): ``\\b'x.py`` -> ``b'x.py``, ``b'caf\\xe9.py'``
    -> ``caf\\xe9.py`` (``bytes_text``); anything else itself, as is a bytes literal of UTF-8
    bytes, which ``name_meta`` never writes (such bytes are their text): an older curate's name
    ``b'x.py'``, unescaped (read as ``x.py`` it was another file, and the path column became its path)."""
    if value[:2] in ("b'", 'b"'):
        import ast

        try:
            data = ast.literal_eval(value)
        except (ValueError, SyntaxError):  # an older curate's, unescaped: the text it was
            return value
        if isinstance(data, bytes):
            try:
                data.decode("utf-8")  # UTF-8: an older curate's text
            except UnicodeDecodeError:
                return bytes_text(data)
        return value
    return value[1:] if value[:1] == "\\" and _LIKE_BYTES.match(value) else value


class MetaKey(str):
    """A key made text already (a Parquet map's, ``meta_key`` then ``free_key``: its pairs are
    told apart as they are read): the walk after (``meta_value``) keeps it as it is, not
    escaped twice (``meta_text``)."""

    __slots__ = ()


def meta_key(key) -> str:
    """A key as JSON writes one, text: bytes their text (``binary_text``), a struct or list (a
    Parquet map may be keyed by any type) its JSON, a number or date its ``str`` (``1`` -> ``"1"``)."""
    if isinstance(key, str):
        return key if key.__class__ is MetaKey else meta_text(key)
    if isinstance(key, (bytes, bytearray, memoryview)):
        return binary_text(key)
    if isinstance(key, (dict, list, tuple)):
        return json.dumps(meta_value(key), sort_keys=True, ensure_ascii=False, default=str)
    return str(key)


def as_text(value) -> str:
    """A field read as text (an id, url, path, language): bytes their text (``bytes_text``: a
    Parquet ``binary`` column's; ``str`` gave their repr, ``"b'x-1'"``), a list, object or
    true/false their JSON as the record wrote it (``str`` gave Python's ``['a', 'b']``, ``True``),
    anything else (a number) its str."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    if isinstance(value, (list, tuple, dict, bool)):
        try:
            return json.dumps(value, ensure_ascii=False, default=as_text)
        except (TypeError, ValueError):  # a key JSON cannot hold (a Parquet map's bytes key)
            pass
    return str(value)


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
    them, three values the meta JSON could not tell apart; text starting ``b'`` is escaped
    (``meta_text``), not taken for it."""
    data = bytes(data)
    try:
        return meta_text(data.decode("utf-8"))  # b"b'x'": text like a bytes literal, escaped
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


def meta_field_names(named) -> tuple:
    """The fields a record's meta takes: ``META_FIELDS`` and those ``meta_fields`` names (a name
    or a list) after them. Naming one replaced the defaults: ``meta_fields = ["stars"]`` lost the
    licence, and the licence filter removed every file as unlicensed."""
    return _field_names(tuple(named) if isinstance(named, list) else named)


@functools.lru_cache(maxsize=256)  # asked once a record: an input's few option values
def _field_names(named) -> tuple:
    named = () if not named else (named,) if isinstance(named, str) else named
    return META_FIELDS + tuple(n for n in dict.fromkeys(named) if n not in META_FIELDS)


# A code record's meta keys saying where its file is (readers.jsonl.record_to_doc writes them)
WHERE_KEYS = ("file_path", "repo_name")


def free_key(meta: dict, name: str, value, n: int = 1) -> str:
    """``name``, or where ``meta`` holds another value under it, the first of ``name_2``,
    ``name_3``... that is free or holds ``value``: two values, both kept (one the same, once).
    ``n`` 2: not ``name`` itself (it is taken for another). A key that is a bytes literal
    (``binary_text``'s ``b'\\xff'``) takes its number inside it, ``b'\\xff_2'``: the key's bytes
    then ``_2``, as ``ast.literal_eval`` reads it (``b'\\xff'_2`` it could not read)."""
    key = name if n == 1 else _numbered(name, n)
    while key in meta and meta[key] != value:
        n += 1
        key = _numbered(name, n)
    return key


def _numbered(name: str, n: int) -> str:
    if name[:2] in ("b'", 'b"') and len(name) > 2 and name[-1] == name[1]:  # a bytes literal: in its quotes
        return f"{name[:-1]}_{n}{name[-1]}"
    return f"{name}_{n}"


def carried_meta(obj: dict, walk: bool = True, carry: bool = True) -> dict:
    """What a record carries as the document's metadata: its ``meta`` (RedPajama's; a curate
    output's text/, re-curated by a stricter run: a licence filter still finds the licence),
    or where it has none Dolma's ``metadata`` (beside a ``meta``, kept whole under
    ``metadata``, or ``metadata_2``... where that meta has a ``metadata`` of its own: it was
    dropped), each an object, its values and keys as ``meta_value`` makes them; and a curate
    output's ``edits`` (what that run changed inside it) under ``earlier_edits``, after those
    that run carried in turn (a record's own ``earlier_edits`` that are not edits kept under
    ``earlier_edits_2``...: they were replaced). ``walk`` False: ``obj`` as JSON gives it, its values what the meta
    JSON holds already (``record_to_doc``). ``carry`` False (``carry_meta = false``): not the
    record's ``meta`` nor ``metadata`` (privacy, size), only curate's own ``earlier_edits`` and
    a curate output's ``file_path`` and ``repo_name`` (without them its path column,
    ``dump.jsonl:octo/app/src/main.py``, became the file's path, growing a run at a time)."""
    meta = _as_meta(_parsed(obj.get("meta"), walk), "meta")
    if not carry:  # the runs before a re-curated output's too (they went with the rest: its first run's edits lost)
        meta = {k: meta[k] for k in WHERE_KEYS if isinstance(meta.get(k), str)} | (
            {"earlier_edits": meta["earlier_edits"]} if meta.get("earlier_edits") and _are_edits(meta["earlier_edits"]) else {})
    if carry and obj.get("metadata") is not None:
        dolma = _parsed(obj["metadata"], walk)
        if meta:
            meta[free_key(meta, "metadata", dolma)] = dolma
        else:
            meta = _as_meta(dolma, "metadata")
    edits = obj.get("edits")
    if _are_edits(edits) and edits:
        earlier = meta.get("earlier_edits")
        if earlier is not None and not _are_edits(earlier):  # the record's own (a note): kept, not replaced nor mixed in
            meta[free_key(meta, "earlier_edits", meta.pop("earlier_edits"), 2)] = earlier
            earlier = None
        meta["earlier_edits"] = (earlier or []) + edits
    return meta


def add_field(meta: dict, name: str, value) -> None:
    """A record's field (``meta_field_names``) into its ``meta``: under ``name``, or where the
    record's own meta holds another value there, the first free ``name_2``... (``free_key``):
    a top-level ``license`` overwrote the meta's own without a word. The name is a text key,
    escaped as one (``meta_text``): a field named ``b'x'`` was the key ``b'x'``, the byte x to
    the meta JSON's reader (a Parquet column of that name is ``\\b'x'``)."""
    meta[free_key(meta, meta_text(name), value)] = value


def _are_edits(value) -> bool:
    """A list of curate's edits (a curate output's ``edits``, its ``meta.earlier_edits``)."""
    return isinstance(value, list) and all(isinstance(e, dict) and {"stage", "rule"} <= e.keys() for e in value)


def _parsed(value, walk: bool):
    """A record's metadata field as JSON-able meta: the object its text is (RedPajama writes its
    meta as a JSON string; Parquet bytes of one too), else the value as ``meta_value`` makes it
    (a Parquet map or struct an object; a JSON object a copy, its values as they are)."""
    if isinstance(value, (bytes, bytearray, memoryview)):  # a string not UTF-8 is b'...' there, not no object
        try:
            parsed = loads(json_bytes_text(value))
        except ValueError:
            parsed = None
        return parsed if isinstance(parsed, dict) else binary_text(value)
    value = meta_value(value) if walk else dict(value) if value.__class__ is dict else value
    if isinstance(value, str):
        try:
            parsed = loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def _as_meta(value, name: str) -> dict:
    """An object as it is; nothing for null or empty text; any other value (a list, a number,
    text not of an object) kept under ``name``, not dropped."""
    return value if isinstance(value, dict) else {} if value in (None, "") else {name: value}
