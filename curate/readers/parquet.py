"""Parquet inputs (web dumps, The-Stack style code tables). A shard is a range of row groups;
the offset of a record is its row index in the file."""
from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from curate.readers.common import Bad, Doc, Limits, Shard, open_raw
from curate.readers.jsonl import record_to_doc


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
    if found:  # the reader takes the first one a row has: a column of lists or numbers gives nothing
        kind = _column_type(schema, found[0])
        if kind is None or pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_view(kind) or (
                pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type)):
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


def read_parquet(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    pf = pq.ParquetFile(open_raw(shard.path))
    md = pf.metadata
    first_group = shard.start
    last_group = md.num_row_groups if shard.end is None else shard.end
    row = sum(md.row_group(i).num_rows for i in range(first_group))
    for g in range(first_group, last_group):
        table = pf.read_row_group(g)
        for batch in table.to_batches(max_chunksize=limits.batch_size):
            # a map column (Spark's meta) as the dict it holds, nested ones and empty ones too (not pairs, [])
            for obj in batch.to_pylist(maps_as_pydicts="lossy"):
                yield record_to_doc(obj, row, shard)
                row += 1
