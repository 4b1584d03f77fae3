"""Parquet inputs (web dumps, The-Stack style code tables). A shard is a range of row groups;
the offset of a record is its row index in the file."""
from __future__ import annotations

from typing import Iterator

import pyarrow.parquet as pq

from curate.readers.common import Bad, Doc, Limits, Shard, open_raw
from curate.readers.jsonl import record_to_doc


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
