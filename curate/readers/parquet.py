"""Parquet inputs (web dumps, The-Stack style code tables). A shard is a range of row groups;
the offset of a record is its row index in the file."""
from __future__ import annotations

from typing import Iterator

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
        columns = pq.read_schema(open_raw(path)).names
    except Exception:  # noqa: BLE001 - unreadable: the reader quarantines it with the error
        return None
    if any(n.split(".", 1)[0] in columns for n in names):  # a dotted name reaches into a struct column
        return None
    return (f"{rel} has no text column (none of {', '.join(names)}; its columns: {', '.join(columns)}); "
            "give --text-field after its --input (text_field in [[inputs]])")


def read_parquet(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    pf = pq.ParquetFile(open_raw(shard.path))
    md = pf.metadata
    first_group = shard.start
    last_group = md.num_row_groups if shard.end is None else shard.end
    row = sum(md.row_group(i).num_rows for i in range(first_group))
    for g in range(first_group, last_group):
        table = pf.read_row_group(g)
        for batch in table.to_batches(max_chunksize=limits.batch_size):
            for obj in batch.to_pylist():
                yield record_to_doc(obj, row, shard)
                row += 1
