"""The one document schema, and the ledger / quarantine schemas.

A PCollection element is a ``pyarrow.RecordBatch`` of documents with the columns of
``DOC_SCHEMA``. Ingestion fills the base columns; later stages add theirs through
``with_column`` so that a column name always has one type everywhere (config, Parquet,
audit).

Ids are deterministic and never depend on arrival order: ``make_id`` hashes the source
name with either the user-supplied id or the shard's stable relative path and the record
offset inside it. The hex digest is fixed-width, uniformly distributed (useful as a
shuffle / sampling key) and unique enough (64 bits: ~1e-7 collision odds at 1e6 docs,
~3e-3 at 1e8; the source/path/offset columns remain the human-readable provenance).
"""
from __future__ import annotations

import hashlib
import json
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

from curate import stages as _stages

STAGES = _stages.NAMES  # pipeline order (the stage table, curate/stages/__init__.py)
# Stages that run only when named in run.stages / --stages or configured (their section given).
OPT_IN_STAGES = _stages.OPT_IN
DOMAINS = ("web", "code", "books")
# the language of a document with none (langid did not run): ISO 639's "undetermined", in the
# tokens manifest and the audit alike
UNKNOWN_LANGUAGE = "und"

# Columns every document has after ingestion.
BASE_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("source_id", pa.string()),  # the record's own id field (JSONL/Parquet id), null without one
    pa.field("text", pa.large_string(), nullable=False),
    pa.field("domain", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("path", pa.string(), nullable=False),  # input shard, relative to its input root (a code dump's record: shard:repo/file)
    pa.field("offset", pa.int64(), nullable=False),  # record offset in the shard (bytes/lines/rows)
    pa.field("url", pa.string()),
    pa.field("language", pa.string()),  # set at ingest for code (programming language), by langid otherwise
    pa.field("meta", pa.string()),  # JSON object of format-specific fields (licence, warc date, ...)
]

# Columns later stages add, with their one type: declared with each stage in the stage table.
STAGE_FIELDS = _stages.column_types()

DOC_SCHEMA = pa.schema(BASE_FIELDS)

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source_id", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("value", pa.float64()),  # measured value the rule tested
        pa.field("threshold", pa.float64()),  # threshold it was tested against
        pa.field("kept_id", pa.string()),  # dedup: the document that was kept instead
        pa.field("domain", pa.string()),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        pa.field("path", pa.string()),
        pa.field("offset", pa.int64()),
        pa.field("language", pa.string()),
        # langid's score of that label (null: langid did not run, or code): with each language's
        # threshold, which removals had a label the model was unsure of
        pa.field("language_score", pa.float32()),
        # the text's length in characters as the stage removed it (the snippet holds only its
        # start): what each source, rule or stage cost, summed (older ledgers lack the column)
        pa.field("chars", pa.int64()),
        pa.field("snippet", pa.string()),  # the first SNIPPET_CHARS of the text, secrets redacted (curate/snippets.py)
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("offset", pa.int64()),  # -1 when the whole file is unreadable
        pa.field("reason", pa.string(), nullable=False),  # short machine-readable code
        pa.field("detail", pa.string()),  # human-readable explanation
        pa.field("source", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("source_id", pa.string()),  # the record's own id field, where it could be read
    ]
)

# what rebalance's plan reads of each document that reached it (DIR/candidates, curate mix)
CANDIDATES_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),  # hashed with the seed as select does (hashing.id_u64)
    pa.field("domain", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("language", pa.string()),
    pa.field("num_tokens", STAGE_FIELDS["num_tokens"]),
    pa.field("dup_group_size", STAGE_FIELDS["dup_group_size"]),
])

SNIPPET_CHARS = 200


def make_id(source: str, key: str) -> str:
    """Stable 64-bit hex id from the source name and a per-source unique key."""
    return hashlib.blake2b(f"{source}\x00{key}".encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def record_key(path: str, offset: int) -> str:
    """The per-source key of a record that has no user-supplied id."""
    return f"{path}@{offset}"


def empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def docs_from_rows(rows: Sequence[dict]) -> pa.RecordBatch:
    """Build a document batch from row dicts with the base columns."""
    return pa.RecordBatch.from_pylist(list(rows), schema=DOC_SCHEMA)


def with_column(batch: pa.RecordBatch, name: str, values) -> pa.RecordBatch:
    """Add (or replace) a stage column, cast to its registered type."""
    if name not in STAGE_FIELDS:
        raise KeyError(f"unknown stage column {name!r}; declare it with its stage in curate/stages/__init__.py")
    arr = pa.array(values, type=STAGE_FIELDS[name]) if not isinstance(values, pa.Array) else values.cast(STAGE_FIELDS[name])
    idx = batch.schema.get_field_index(name)
    field = pa.field(name, STAGE_FIELDS[name])
    if idx >= 0:
        return batch.set_column(idx, field, arr)
    return batch.append_column(field, arr)


def add_edits(batch: pa.RecordBatch, rows, stage: str, rule, count, chars, detail=None) -> pa.RecordBatch:
    """Append one ``edits`` entry to each of ``rows`` (indices of ``batch``, ascending): the
    trace a stage leaves in a document it kept but changed. ``rule``, ``count``, ``chars``
    (characters removed: the text's length before minus after) and ``detail`` are scalars or
    per-row sequences aligned with ``rows``. Only the changed rows are touched in Python."""
    rows = [int(r) for r in rows]
    if not rows:
        return with_edits(batch)
    per = lambda x: list(x) if isinstance(x, (list, tuple, np.ndarray)) else [x] * len(rows)  # noqa: E731
    i = batch.schema.get_field_index("edits")
    edits = batch.column(i).to_pylist() if i >= 0 else [None] * batch.num_rows
    for r, ru, n, c, d in zip(rows, per(rule), per(count), per(chars), per(detail)):
        entry = {"stage": stage, "rule": ru, "count": int(n), "chars": int(c), "detail": d}
        edits[r] = (edits[r] or []) + [entry]
    return with_column(batch, "edits", pa.array(edits, STAGE_FIELDS["edits"]))


def with_edits(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with an ``edits`` column (null: unchanged) where it has none: every batch a
    stage that edits returns has the column, so batches concatenate whichever were changed."""
    if batch.schema.get_field_index("edits") >= 0:
        return batch
    return batch.append_column(pa.field("edits", STAGE_FIELDS["edits"]), pa.nulls(batch.num_rows, STAGE_FIELDS["edits"]))


def conform(batch: pa.RecordBatch, columns: Iterable[str]) -> pa.RecordBatch:
    """Give a batch exactly the base columns plus ``columns`` (nulls where missing), in order.

    Used before concatenating batches from different stage paths (e.g. code that skipped
    langid) and before writing, so every Parquet shard has one schema.
    """
    fields = list(BASE_FIELDS) + [pa.field(c, STAGE_FIELDS[c]) for c in columns]
    arrays = []
    for f in fields:
        i = batch.schema.get_field_index(f.name)
        arrays.append(batch.column(i).cast(f.type) if i >= 0 else pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def ledger_rows(
    docs: pa.RecordBatch,
    stage: str,
    rule,
    value=None,
    threshold=None,
    kept_id=None,
    chars=None,
) -> pa.RecordBatch:
    """Ledger rows for every document of ``docs`` (the removed ones).

    ``rule``, ``value``, ``threshold`` and ``kept_id`` are scalars or per-row sequences;
    ``chars``: each text's length as the stage read it, where the stage cut it before removing
    it (line dedup); else the length of ``docs``' text.
    """
    n = docs.num_rows

    def col(x, typ):
        if isinstance(x, pa.Array):
            return x.cast(typ)
        if x is None or isinstance(x, (str, int, float)):
            return pa.array([x] * n, type=typ)
        return pa.array(list(x), type=typ)

    def opt(name, typ):
        i = docs.schema.get_field_index(name)
        return docs.column(i).cast(typ) if i >= 0 else pa.nulls(n, typ)

    import pyarrow.compute as pc

    from curate.snippets import code_languages, snippets

    langs = code_languages(opt("domain", pa.string()), opt("language", pa.string()))  # a code file's: its language's forms
    snippet = snippets(docs.column("text"), opt("path", pa.string()), SNIPPET_CHARS, langs)
    return pa.RecordBatch.from_arrays(
        [
            docs.column("id"),
            opt("source_id", pa.string()),
            col(stage, pa.string()),
            col(rule, pa.string()),
            col(value, pa.float64()),
            col(threshold, pa.float64()),
            col(kept_id, pa.string()),
            opt("domain", pa.string()),
            opt("source", pa.string()),
            opt("url", pa.string()),
            opt("path", pa.string()),
            opt("offset", pa.int64()),
            opt("language", pa.string()),
            opt("language_score", pa.float32()),
            col(chars, pa.int64()) if chars is not None else pc.utf8_length(docs.column("text")).cast(pa.int64()),
            snippet,
        ],
        schema=LEDGER_SCHEMA,
    )


def split(batch: pa.RecordBatch, keep, stage: str, rule, value=None, threshold=None, kept_id=None, chars=None):
    """Split a batch by a boolean keep mask into (kept docs, ledger rows of the removed).

    ``rule``/``value``/``threshold``/``kept_id``/``chars`` may be per-row (aligned with
    ``batch``); only the removed rows' entries are used.
    """
    import pyarrow.compute as pc

    keep = pa.array(keep, type=pa.bool_()) if not isinstance(keep, pa.Array) else keep
    drop = pc.invert(keep)
    kept = batch.filter(keep)
    removed = batch.filter(drop)

    def sel(x):
        if x is None or isinstance(x, (str, int, float)):
            return x
        arr = x if isinstance(x, pa.Array) else pa.array(list(x))
        return arr.filter(drop)

    return kept, ledger_rows(removed, stage, sel(rule), sel(value), sel(threshold), sel(kept_id), sel(chars))


def quarantine_rows(rows: Sequence[dict]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(list(rows), schema=QUARANTINE_SCHEMA)


def meta_json(meta: dict | None) -> str | None:
    """Canonical JSON for the ``meta`` column (sorted keys: byte-identical reruns)."""
    if not meta:
        return None
    try:
        return json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:  # NaN/Infinity from the input: not JSON, keep them as strings
        return json.dumps(finite(meta), sort_keys=True, ensure_ascii=False, default=str)


def finite(x, to=str):
    """``x`` with each NaN and Infinity ``to(it)``, its text by default (``"nan"``, ``"-inf"``), in
    copies of its objects and lists. Walked with a list of what is left, not a call a level: a JSON record's meta is
    taken as parsed (jsonl.record_to_doc), up to the ~990 levels ``json.loads`` reads, and two
    frames a level passed Python's recursion limit at 500 (the record and those after it lost)."""
    top = [x]
    left = [(top, 0)]
    while left:
        into, key = left.pop()
        v = into[key]
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            into[key] = to(v)
        elif isinstance(v, dict):
            into[key] = v = dict(v)
            left.extend((v, k) for k in v)
        elif isinstance(v, (list, tuple)):
            into[key] = v = list(v)
            left.extend((v, i) for i in range(len(v)))
    return top[0]
