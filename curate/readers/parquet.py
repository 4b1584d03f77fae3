"""Parquet inputs (web dumps, The-Stack style code tables). A shard is a range of row groups;
the offset of a record is its row index in the file."""
from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from curate.readers.common import Bad, Doc, Limits, Shard, error_text, open_raw
from curate.readers.jsonl import record_to_doc
from curate.readers.meta import MetaKey, free_key, meta_key


def text_column_error(path: str, rel: str, options: dict) -> str | None:
    """Why a Parquet file cannot give any document (no column the text field names), read from
    its schema before the run instead of quarantining every row; None when it can."""
    from curate.readers.jsonl import TEXT_FIELDS

    names = options.get("text_field") or TEXT_FIELDS
    names = (names,) if isinstance(names, str) else tuple(names)
    try:
        schema = pq.read_schema(open_raw(path))
    except Exception:  # noqa: BLE001 - unreadable: the reader quarantines it with the error
        return None
    columns = schema.names
    found = [n for n in names if n.split(".", 1)[0] in columns]  # a dotted name reaches into a struct column
    if found and (twice := columns.count(top := found[0].split(".", 1)[0])) > 1:  # pyarrow writes such a file
        return (f"{rel} has {twice} columns named {top!r} (its columns: {', '.join(columns)}): which holds the text "
                "cannot be told; write it with one text column, or give --text-field naming another")
    if found:  # the reader takes the first one a row has: a column of lists or numbers gives nothing
        kind = _column_type(schema, found[0])
        if kind is None or _is_text(kind) or (pa.types.is_dictionary(kind) and _is_text(kind.value_type)):
            return None
        inner = [f"{found[0]}.{f.name}" for f in kind if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)] \
            if pa.types.is_struct(kind) else []
        hint = f"e.g. {inner[0]} (a dotted name reaches into a struct)" if inner else f"its columns: {', '.join(columns)}"
        return (f"{rel}: its text column {found[0]!r} holds {kind}, not text; give --text-field naming a text column "
                f"after its --input (text_field in [[inputs]]; {hint})")
    return (f"{rel} has no text column (none of {', '.join(names)}; its columns: {', '.join(columns)}); "
            "give --text-field after its --input (text_field in [[inputs]])")


def field_column_error(path: str, rel: str, options: dict) -> str | None:
    """Why a Parquet file gives no row the id, url or meta field the user named (no column of
    it: a misspelling nulls every row's), from its schema; None when it has each, UNTOLD when
    the file is unreadable. An error of the input only when no file has the column: a
    dataset's older files may lack a newer column."""
    from curate.readers.jsonl import UNTOLD, given_fields

    try:
        columns = pq.read_schema(open_raw(path)).names
    except Exception:  # noqa: BLE001 - unreadable: the reader quarantines it with the error
        return UNTOLD
    for key, given in given_fields(options)[1:]:  # [0] is the text field: text_column_error
        if not any(n.split(".", 1)[0] in columns for n in given):
            if key == "meta_fields":
                return f"{rel} has no column {given[0]!r} (its columns: {', '.join(columns)}); fix meta_fields in [[inputs]]"
            return (f"{rel} has no {key[:-6]} column (none of {', '.join(given)}; its columns: {', '.join(columns)}); "
                    f"give --{key.replace('_', '-')} after its --input ({key} in [[inputs]])")
    return None


def _column_type(schema, dotted: str):
    """The Arrow type a dotted name reaches in the schema; None where a struct does not have it."""
    top, *rest = dotted.split(".")
    kind = schema.field(top).type
    for part in rest:
        if not pa.types.is_struct(kind) or kind.get_field_index(part) < 0:
            return None
        kind = kind.field(part).type
    return kind


def _is_view(kind) -> bool:
    return getattr(pa.types, "is_string_view", lambda _: False)(kind)


def _is_text(kind) -> bool:
    """A column type a text can be read from: a string, or binary, as Hive and Spark write strings
    (read as its UTF-8 by record_to_doc; it was refused before the run as holding no text)."""
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_view(kind) or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind) or getattr(pa.types, "is_binary_view", lambda _: False)(kind))


def _rows(batch: pa.RecordBatch) -> list[dict]:
    """The batch's rows, a map column (Spark's meta) as the dict it holds, nested ones and empty
    ones too (not pairs, []). A key is text (``meta.meta_key``): a struct or list key its JSON
    (pyarrow's maps_as_pydicts raised, the file one read_error row), a binary one its UTF-8
    (repr's "b'lic'" was reached by no meta.lic), a number its str (meta.1 reaches it)."""
    if not any(_has_map(f.type) for f in batch.schema):
        return batch.to_pylist()
    cols = [[_py_scalar(v, f.type) for v in c] if _twice(f.type) else [_py(v, f.type) for v in c.to_pylist()]
            if _has_map(f.type) else c.to_pylist() for f, c in zip(batch.schema, batch.columns)]
    return [dict(zip(batch.schema.names, vals)) for vals in zip(*cols)]


def _has_map(kind) -> bool:
    """Whether a column's values are walked (``_py``): it holds a map, or a struct with a field
    name twice (``_twice``)."""
    if pa.types.is_map(kind):
        return True
    if pa.types.is_struct(kind):
        return _twice(kind) or any(_has_map(f.type) for f in kind)
    return _is_list(kind) and _has_map(kind.value_type)


def _twice(kind) -> bool:
    """Whether ``kind`` holds a struct with a field name twice (pyarrow writes one; its
    to_pylist raises, and the file was one read_error row)."""
    if pa.types.is_struct(kind):
        names = [f.name for f in kind]
        return len(set(names)) < len(names) or any(_twice(f.type) for f in kind)
    if pa.types.is_map(kind):
        return _twice(kind.key_type) or _twice(kind.item_type)
    return _is_list(kind) and _twice(kind.value_type)


def _py_scalar(value, kind):
    """``_py`` of a pyarrow scalar whose type holds a struct with a field name twice: each field
    kept, a later one of a name under ``name_2``... (``free_key``, as a map's key given twice).
    Scalar by scalar: only such a column's (rare) values go this slower way."""
    if not value.is_valid:
        return None
    if pa.types.is_struct(kind):
        out: dict = {}
        for i, f in enumerate(kind):  # numbered as the meta JSON's key (\b'x'_2), not as the name (\b'x_2')
            v = _py_scalar(value[i], f.type)
            out[MetaKey(free_key(out, meta_key(f.name), v))] = v
        return out
    if pa.types.is_map(kind):
        out = {}
        for pair in value.values or []:
            k, v = _py_scalar(pair[0], kind.key_type), _py_scalar(pair[1], kind.item_type)
            out[MetaKey(free_key(out, meta_key(k), v))] = v
        return out
    if _is_list(kind):
        return [_py_scalar(x, kind.value_type) for x in value.values or []]
    return _py(value.as_py(), kind)


def _is_list(kind) -> bool:
    return hasattr(kind, "value_type") and not pa.types.is_dictionary(kind)  # list, large, fixed-size, view


def _py(value, kind):
    """A value pyarrow gave with maps as pairs, its maps as dicts (the type tells a map's pairs from a list)."""
    if value is None:
        return None
    if pa.types.is_map(kind):  # keys that read as one (given twice, 0xff and the text b'\xff'): each value kept
        out: dict = {}
        for k, v in value:
            v = _py(v, kind.item_type)
            out[MetaKey(free_key(out, meta_key(_py(k, kind.key_type)), v))] = v  # not escaped again by meta_value
        return out
    if pa.types.is_struct(kind):
        return {f.name: _py(value[f.name], f.type) for f in kind}
    if _is_list(kind):
        return [_py(x, kind.value_type) for x in value]
    return value  # bytes too: meta.meta_value makes them text, one rule for every reader


def read_parquet(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    pf = pq.ParquetFile(open_raw(shard.path))
    md = pf.metadata
    first_group = shard.start
    last_group = md.num_row_groups if shard.end is None else shard.end
    row = sum(md.row_group(i).num_rows for i in range(first_group))
    for g in range(first_group, last_group):
        try:
            table = pf.read_row_group(g)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except Exception as e:  # noqa: BLE001 - a damaged row group: the footer says its rows, the next one may read
            n = md.row_group(g).num_rows  # one row for them (the file's later groups were lost without a count)
            yield Bad(row, "read_error", f"row group {g} (rows {row} to {row + n - 1}, {n} rows) cannot be read: {error_text(e)}"[:500])
            row += n
            continue
        for batch in table.to_batches(max_chunksize=limits.batch_size):
            for obj in _rows(batch):
                yield record_to_doc(obj, row, shard)
                row += 1
