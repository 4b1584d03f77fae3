"""Repeated ids: found where the documents are grouped by id partition after reading (a
shuffle, so every copy of an id meets in one group), resolved deterministically.

An id repeats when a user's id field repeats within a source (two copies of a file, an
export with reused keys), or on a 64-bit hash collision. For the rows sharing one id:

* identical texts are one document: the copy with the smallest (path, offset) stays, the
  others go to the ledger as ``duplicate_id`` with ``kept_id``, under an id of their own
  (``make_id(source, key + NUL + path@offset)``) so the ledger never repeats a text id;
* different texts are different documents: all stay. The variant with the smallest text
  hash keeps the id, the others get ``make_id(source, key + NUL + text hash)``, which does not
  depend on file layout or arrival order. They are counted (``ingest.ids_renamed``).

``source_id`` keeps the user's own id on every row either way.
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from curate import schema

RULE = "duplicate_id"


def repeated(id_arrays: Iterable[pa.Array]) -> pa.Array:
    """The ids that occur more than once among ``id_arrays`` (compact: ids only)."""
    arrays = [a for a in id_arrays if len(a)]
    if not arrays:
        return pa.array([], pa.string())
    counts = pc.value_counts(pa.chunked_array(arrays).combine_chunks())
    return counts.field("values").filter(pc.greater(counts.field("counts"), 1))


def split_repeated(batch: pa.RecordBatch, dup_ids: pa.Array) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """(rows whose id is unique, rows whose id repeats)."""
    mask = pc.is_in(batch.column("id"), value_set=dup_ids)
    return batch.filter(pc.invert(mask)), batch.filter(mask)


def _text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def resolve(rows: pa.Table) -> tuple[pa.Table, pa.RecordBatch, int]:
    """Resolve rows that share ids: (documents with unique ids, ledger rows, ids renamed)."""
    if rows.num_rows == 0:
        return rows, schema.empty(schema.LEDGER_SCHEMA), 0
    rows = rows.sort_by([("id", "ascending"), ("path", "ascending"), ("offset", "ascending")])
    ids = rows.column("id").to_pylist()
    texts = rows.column("text").to_pylist()
    sources = rows.column("source").to_pylist()
    keys = rows.column("source_id").to_pylist()
    paths, offsets = rows.column("path").to_pylist(), rows.column("offset").to_pylist()
    new_ids, keep, kept_id = list(ids), [True] * len(ids), [None] * len(ids)
    renamed = 0
    i = 0
    while i < len(ids):
        j = i
        while j < len(ids) and ids[j] == ids[i]:
            j += 1
        first: dict[str, int] = {}  # text hash -> row of its first copy
        for r in range(i, j):
            h = _text_hash(texts[r])
            if h in first:
                keep[r] = False
                kept_id[r] = first[h]
            else:
                first[h] = r
        order = sorted(first)  # the smallest text hash keeps the id
        for h in order[1:]:
            r = first[h]
            new_ids[r] = schema.make_id(sources[r], f"{keys[r] or ''}\x00{h}")
            renamed += 1
        for r in range(i, j):
            if not keep[r]:
                kept_id[r] = new_ids[kept_id[r]]
                new_ids[r] = schema.make_id(sources[r], f"{keys[r] or ''}\x00{paths[r]}@{offsets[r]}")
        i = j
    rows = rows.set_column(rows.schema.get_field_index("id"), rows.schema.field("id"), pa.array(new_ids, pa.string()))
    kept = rows.filter(pa.array(keep))
    gone = rows.filter(pc.invert(pa.array(keep)))
    removed_kept = [k for k, ok in zip(kept_id, keep) if not ok]
    ledger = schema.ledger_rows(gone.combine_chunks().to_batches()[0] if gone.num_rows else schema.empty(schema.DOC_SCHEMA), "ingest", RULE, None, None, removed_kept)
    return kept, ledger, renamed


def unique_batches(pieces, size: int, rebatch) -> Iterator[tuple[str, object]]:
    """One id partition's pieces (re-iterable) -> ("docs", batch) with unique ids,
    ("ledger", batch) for identical copies and ("renamed", n). The first pass reads only the
    id column; a partition without repeats (the usual case) is re-batched as it is."""
    dup = repeated(b.column("id") for b in pieces)
    if len(dup) == 0:
        for b in rebatch(pieces, size):
            yield "docs", b
        return
    aside = []

    def unique():
        for b in pieces:
            ok, rep = split_repeated(b, dup)
            if rep.num_rows:
                aside.append(rep)
            yield ok

    for b in rebatch(unique(), size):
        yield "docs", b
    kept, ledger, renamed = resolve(pa.Table.from_batches(aside))
    for b in kept.combine_chunks().to_batches(max_chunksize=size):
        yield "docs", b
    if ledger.num_rows:
        yield "ledger", ledger
    yield "renamed", renamed
