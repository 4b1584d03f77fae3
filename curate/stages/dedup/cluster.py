"""Which documents survive deduplication: star edges per bucket, then a reduce per document.

Written for a runner, and every step works on Arrow tables (one table per shuffle partition,
never one Python object per bucket entry, so a shuffle element is many entries and the work
on it is vectorised). Nothing here holds state across partitions:

1. per batch: ``minhash_entries(batch)`` (or ``exact_entries``): an entry table with one row
   per (document, band key) (exact key): the key, the document's priority and group size,
   and, for verification, its signature. ``partition(entries, n)`` splits it by key into the
   shuffle's ``n`` bucket shards, so all entries of a bucket meet in one shard;
2. per bucket shard: ``bucket_edges(entries)``: sort by (key, priority) and emit the star
   edges of every bucket at once (an edge table: removed id -> kept id, the kept document's
   priority, the estimated Jaccard);
3. edges split by the removed id's join shard; per join shard ``best_edges``: each removed
   document's edge to its highest-priority kept document (its removal record);
4. ``absorbed(removals)``: kept id -> the documents removed in its favour (group sizes),
   shuffled to the kept id's join shard;
5. per batch of a join shard: ``apply_dedup(batch, removals, absorbed)`` -> (kept docs, ledger).

A bucket too big for one process (``dedup.hot_bucket``) gets step 2's edges in passes over
its members instead (``hot.py``).

``dedup_inprocess`` runs steps 2-4 on one table (tests, benchmarks, single-machine runs);
``dedup_reference`` is an independent all-pairs implementation used only to check it.

Priority (smaller sorts first = kept): quality_score descending when present (documents
without one rank after those with one), then length in characters descending, then source
rank ascending, then id ascending. Ids are unique, so this is a total order and every
decision below is deterministic whatever order the entries arrive in. In tables it is the
columns ``PRIORITY`` + ``id``, sorted ascending.

Policy. A document is removed if a higher-priority document shares a bucket with it
(optionally: and their signatures estimate Jaccard >= ``threshold``; a band collision alone
has false positives, mostly just below the LSH threshold, and checking all ``num_perm``
values removes most of them). Its ``kept_id`` is the highest-priority document it matched in
any bucket (``best_edges``), with that pair's estimated Jaccard as the ledger value.

Verification reads b-bit signatures (``bits``: the low 8, 16 or 32 bits of every value;
Li & Koenig's b-bit minwise hashing): two different minima agree on their low b bits with
probability 2^-b, so the estimate is corrected to ``(matches - 2^-b) / (1 - 2^-b)``. At 16 bits
the correction is 1.5e-5 and the shuffle carries half the bytes of full 32-bit values.

Within a bucket we use a *star*, not all pairs: every member is compared with the bucket's
best member only. Members that fail verification are compared with the best of the
remainder, up to ``max_centers`` rounds; members still unmatched then get no edge from this
bucket (a bucket of many mutually dissimilar members is made of band false positives; true
duplicates among them usually meet again in another band). This is O(n * max_centers) time
and O(n) memory per bucket (a bucket of 50,000 copies of one boilerplate page costs 50,000
comparisons, not 1.25e9), and without verification it is exactly the all-pairs result (the
best member outranks everyone).

Transitivity, and what we give up. Near-duplication is not transitive: with A ~ B and
B ~ C but A !~ C (a chain of edits), the options are

* connected components (union-find over all edges, keep one per component; what e.g.
  datatrove does): removes B and C, keeps A, so C is dropped although nothing similar to it
  survives; long chains collapse unrelated documents; needs an iterative global step.
* ours: edges only point to a *higher-priority* document, and each document's removal is
  decided by its own edges. Chains cannot cycle (priority is a total order), so following
  ``kept_id`` from any removed document ends at a survivor after a few hops, but that
  survivor is only guaranteed similar to the first hop. If A, B, C share a bucket, the star
  removes B (matched A) and keeps C (it fails against A, and B, already matched, is not a
  center): the conservative outcome, since C's nearest content (B) is gone. If B and C also
  share a bucket without A, C is removed with ``kept_id`` B, which is itself removed.
  ``dup_group_size`` counts direct removals only (plus what they had absorbed earlier, e.g.
  in exact dedup): C's weight is not forwarded from B to A. Resolving chains exactly would
  need iterated joins (pointer jumping) for little gain at realistic thresholds.
"""
from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import output, schema
from . import minhash as mh
from .exact import keys_as_uint64, keys_from_normalized
from .normalize import DEFAULT as DEFAULT_NORMALIZE
from .normalize import NormalizeConfig, normalize, normalize_reference

PRIORITY = ("q_missing", "neg_quality", "neg_length", "rank")  # then id; ascending = kept first
BUCKET = ("key", "key2", "exact")  # a bucket: exact and band buckets never mix
BITS = (8, 16, 32)
_EDGE_SCHEMA = pa.schema(
    [("dup_id", pa.string()), ("kept_id", pa.string())]
    + [(f"kept_{c}", t) for c, t in zip(PRIORITY, (pa.bool_(), pa.float64(), pa.int64(), pa.int32()))]
    + [("jaccard", pa.float64()), ("dup_size", pa.int64()), ("exact", pa.bool_())]
)
_ROWS_PER_COMPARE = 1 << 15  # signature rows compared at once: bounds the temporaries


def priority_key(doc_id: str, length: int, quality: Optional[float] = None, source_rank: int = 0) -> tuple:
    """The priority of one document as a Python tuple (smaller is kept first), in the order of
    the ``PRIORITY`` columns + id. For tests and the reference."""
    missing = quality is None or math.isnan(quality)
    return (missing, 0.0 if missing else -float(quality), -int(length), int(source_rank), doc_id)


def priority_columns(batch, source_ranks: Optional[Mapping[str, int]] = None) -> dict[str, pa.Array]:
    """The ``PRIORITY`` columns of a document batch (``quality_score`` used when the column
    exists; sources missing from ``source_ranks`` rank after all listed ones)."""
    n = batch.num_rows
    if "quality_score" in batch.schema.names:
        q = pc.cast(batch.column("quality_score"), pa.float64())
        missing = pc.fill_null(pc.or_kleene(pc.is_null(q), pc.is_nan(q)), True)
        neg_q = pc.if_else(missing, 0.0, pc.negate(q))
    else:
        missing, neg_q = pa.array(np.ones(n, dtype=bool)), pa.array(np.zeros(n))
    length = pc.fill_null(pc.utf8_length(batch.column("text")), 0)
    neg_len = pc.negate(pc.cast(length, pa.int64()))
    if source_ranks:
        names = sorted(source_ranks, key=source_ranks.get)
        rank = pc.fill_null(pc.index_in(batch.column("source"), value_set=pa.array(names)), len(names))
    else:
        rank = pa.array(np.zeros(n, dtype=np.int32))
    return dict(zip(PRIORITY, (missing, neg_q, neg_len, pc.cast(rank, pa.int32()))))


def batch_priorities(batch, source_ranks=None) -> list[tuple]:
    """Priority tuples of a batch (``priority_key`` order), from ``priority_columns``."""
    cols = [c.to_pylist() for c in priority_columns(batch, source_ranks).values()]
    return list(zip(*cols, batch.column("id").to_pylist()))


def group_sizes_column(batch) -> pa.Array:
    """How many documents each one already stands for (``dup_group_size``, else 1)."""
    if "dup_group_size" in batch.schema.names:
        return pc.cast(pc.fill_null(batch.column("dup_group_size"), 1), pa.int64())
    return pa.array(np.ones(batch.num_rows, dtype=np.int64))


def signature_bytes(sigs: np.ndarray, bits: int) -> pa.FixedSizeBinaryArray:
    """Each row of ``sigs`` truncated to its low ``bits`` bits, as one fixed-size binary value."""
    if bits not in BITS:
        raise ValueError(f"bits must be one of {BITS}, got {bits}")
    s = np.ascontiguousarray(sigs.astype(np.dtype(f"<u{bits // 8}")))
    return pa.Array.from_buffers(pa.binary(s.shape[1] * s.itemsize), len(s), [None, pa.py_buffer(s)])


def entries(batch, keys: np.ndarray, key2: Optional[np.ndarray] = None, sigs: Optional[pa.Array] = None,
            source_ranks=None, exact: bool = False) -> pa.Table:
    """The entry table: one row per (document, key) for ``keys`` of shape (n docs, k).
    ``key2``: a second key word per document (exact keys are 128 bits), else 0; ``exact``:
    whether these are exact-text keys (a bucket is (key, key2, exact), so exact and band
    buckets never mix); ``sigs``: one signature value per document (``signature_bytes``)."""
    n, k = keys.shape
    rep = pa.array(np.repeat(np.arange(n), k))
    cols = {
        "key": pa.array(keys.reshape(-1)),
        "key2": pa.array(np.repeat(key2, k) if key2 is not None else np.zeros(n * k, dtype=np.uint64)),
        "exact": pa.array(np.full(n * k, exact)),
        "id": pc.cast(batch.column("id"), pa.string()).take(rep),
    }
    for name, arr in priority_columns(batch, source_ranks).items():
        cols[name] = arr.take(rep)
    cols["size"] = group_sizes_column(batch).take(rep)
    if sigs is not None:
        cols["sig"] = sigs.take(rep)
    return pa.table(cols)


def normalize_by_domain(batch, config: NormalizeConfig, punct_splits=()) -> pa.LargeStringArray:
    """The batch's texts normalised by ``config``, those of the ``punct_splits`` domains with
    punctuation as a word separator (``punct_space``); each text is normalised once."""
    texts = batch.column("text")
    if not punct_splits or "domain" not in batch.schema.names:
        return normalize(texts, config)
    split = pc.fill_null(pc.is_in(batch.column("domain"), pa.array(list(punct_splits), pa.string())), False)
    m = split.to_numpy(zero_copy_only=False)
    spaced = dataclasses.replace(config, punct_space=True)
    if not m.any() or m.all():
        return normalize(texts, spaced if m.any() else config)
    parts = pa.concat_arrays([normalize(pc.filter(texts, pc.invert(split)), config), normalize(pc.filter(texts, split), spaced)])
    order = np.empty(len(m), np.int64)
    order[~m] = np.arange((~m).sum())
    order[m] = (~m).sum() + np.arange(m.sum())
    return parts.take(pa.array(order))


def dedup_entries(batch, methods=("exact", "minhash"), config: mh.MinHashConfig = mh.MinHashConfig(),
                  source_ranks=None, bits: Optional[int] = 32, punct_splits=()) -> pa.Table:
    """Every entry of a batch for one shuffle: one exact-key row per document (``"exact"`` in
    methods) and one row per band (``"minhash"``), from one normalisation of the text
    (``config.normalize``). ``bits``: signature bits kept for verification; None: none.

    Every document gets its band rows, exact copies too: a copy's best match may be a document
    that outranks the copy it repeats (which is then removed itself), and which matches a
    document must not depend on the batch it came in (batches are id partitions, so on
    ``run.shards``). ``punct_splits``: domains normalised with ``punct_space``
    (``dedup.punct_splits``)."""
    norm = normalize_by_domain(batch, config.normalize, punct_splits)
    parts = []
    if "exact" in methods:
        k = keys_as_uint64(keys_from_normalized(norm))
        parts.append(entries(batch, k[:, :1].copy(), k[:, 1].copy(), None, source_ranks, exact=True))
    if "minhash" in methods:
        sigs = mh.signatures(norm, config.num_perm, config.seed, config.ngram, config.scheme)
        sig = None if bits is None else signature_bytes(sigs, bits)
        if sig is not None and parts:  # exact rows carry it too: one table schema
            parts[0] = parts[0].append_column("sig", sig)
        parts.append(entries(batch, mh.band_keys(sigs, config.bands, config.rows), None, sig, source_ranks))
    return concat(parts)


def minhash_entries(batch, config: mh.MinHashConfig = mh.MinHashConfig(), source_ranks=None,
                    bits: Optional[int] = 32) -> pa.Table:
    """One entry per band of every document."""
    return dedup_entries(batch, ("minhash",), config, source_ranks, bits)


def exact_entries(batch, config: NormalizeConfig = DEFAULT_NORMALIZE, source_ranks=None) -> pa.Table:
    """One entry per document, keyed by its 128-bit exact key."""
    return dedup_entries(batch, ("exact",), mh.MinHashConfig(normalize=config), source_ranks, None)


def partition(table: pa.Table, n: int, column: str = "key", copy: bool = True) -> list[tuple[int, pa.Table]]:
    """(shard, rows) for every shard of ``n`` that has rows; the shard of a row is its uint64
    ``column`` (already a uniform hash) modulo n (``copy``: see ``output.take_shards``)."""
    if table.num_rows == 0:
        return []
    return output.take_shards(table, table.column(column).to_numpy() % np.uint64(n), n, copy)


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    return pa.concat_tables(list(tables), promote_options="default").combine_chunks()


def _sig_matrix(col: pa.ChunkedArray, bits: int) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    width = arr.type.byte_width
    buf = np.frombuffer(arr.buffers()[1], dtype=np.uint8)[arr.offset * width : (arr.offset + len(arr)) * width]
    return buf.view(np.dtype(f"<u{bits // 8}")).reshape(len(arr), -1)


def _estimate(sigs: np.ndarray, rows: np.ndarray, centers: np.ndarray, bits: int) -> np.ndarray:
    """Estimated Jaccard of each (row, center) pair from their b-bit signatures."""
    out = np.empty(len(rows))
    for s in range(0, len(rows), _ROWS_PER_COMPARE):
        r, c = rows[s : s + _ROWS_PER_COMPARE], centers[s : s + _ROWS_PER_COMPARE]
        out[s : s + len(r)] = np.count_nonzero(sigs[r] == sigs[c], axis=1) / sigs.shape[1]
    if bits < 32:  # two different minima agree on their low b bits with probability 2^-b
        p = 2.0**-bits
        out = np.clip((out - p) / (1 - p), 0.0, 1.0)
    return out


def empty_edges() -> pa.Table:
    return _EDGE_SCHEMA.empty_table()


def sorted_buckets(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """A non-empty entry table sorted by bucket, then priority (``PRIORITY``, id), with one row
    per (bucket, document) (a document twice in a bucket: a retried bundle), and whether each
    row starts its bucket (is its best member)."""
    t = table.sort_by([(c, "ascending") for c in list(BUCKET + PRIORITY) + ["id"]])
    ids = t.column("id")
    same = np.ones(t.num_rows - 1, dtype=bool)  # row i+1 in the same bucket as row i
    for c in BUCKET:
        k = t.column(c).to_numpy()
        same &= k[1:] == k[:-1]
    repeat = same & pc.equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
    if repeat.any():  # keep one
        t = t.filter(pa.array(np.concatenate([[True], ~repeat])))
        same = same[~repeat]
    return t, np.concatenate([[True], ~same])


def bucket_edges(table: pa.Table, threshold: Optional[float] = None, max_centers: int = 4, bits: int = 32) -> pa.Table:
    """The star edges of every bucket in an entry table (see the module docstring); O(n log n)
    for the sort, then O(n * max_centers), vectorised over all buckets at once."""
    if table.num_rows < 2:
        return empty_edges()
    t, new = sorted_buckets(table)
    ids = t.column("id")
    group = np.cumsum(new) - 1
    center = np.flatnonzero(new)[group]  # each row's bucket's best member
    rows = np.flatnonzero(~new)
    found = []  # (rows, their centers, jaccard)
    sigs = _sig_matrix(t.column("sig"), bits) if "sig" in t.schema.names else None
    if threshold is not None and sigs is None:
        raise ValueError("verification needs signatures: build the entries with bits")
    for _ in range(max_centers if threshold is not None else 1):
        if not len(rows):
            break
        # without signatures (exact keys, or no verification) the Jaccard is reported as 1.0
        jac = np.ones(len(rows)) if sigs is None else _estimate(sigs, rows, center[rows], bits)
        hit = jac >= threshold if threshold is not None else np.ones(len(rows), dtype=bool)
        found.append((rows[hit], center[rows[hit]], jac[hit]))
        miss = rows[~hit]  # still sorted by (bucket, priority)
        first = np.concatenate([[True], group[miss[1:]] != group[miss[:-1]]]) if len(miss) else miss.astype(bool)
        # each bucket's best unmatched member is its next center; the others meet it next round
        center[miss] = miss[first][np.cumsum(first) - 1]
        rows = miss[~first]
    dup = pa.array(np.concatenate([f[0] for f in found]) if found else np.zeros(0, np.int64))
    kept = pa.array(np.concatenate([f[1] for f in found]) if found else np.zeros(0, np.int64))
    jac = np.concatenate([f[2] for f in found]) if found else np.zeros(0)
    cols = [ids.take(dup), ids.take(kept)] + [t.column(c).take(kept) for c in PRIORITY]
    cols += [pa.array(jac), t.column("size").take(dup), t.column("exact").take(dup)]
    return pa.Table.from_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in cols],
                                schema=_EDGE_SCHEMA)


def best_edges(edges: pa.Table) -> pa.Table:
    """One edge per removed document: the one to its highest-priority kept document
    (a reduce: any split of the edges, in any order, gives the same result)."""
    if edges.num_rows == 0:
        return empty_edges()
    keys = ["dup_id"] + [f"kept_{c}" for c in PRIORITY] + ["kept_id"]
    # the same kept document through an exact and a band bucket: report the exact match
    t = edges.sort_by([(c, "ascending") for c in keys] + [("exact", "descending")])
    ids = t.column("dup_id")
    first = np.concatenate([[True], pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)])
    return t.filter(pa.array(first)).combine_chunks()


def absorbed(removals: pa.Table) -> pa.Table:
    """kept_id -> number of documents (with what they stood for) removed in its favour. Partial
    sums from several shards add up (``apply_dedup`` sums repeated kept ids)."""
    g = removals.group_by("kept_id").aggregate([("dup_size", "sum")])
    return pa.table({"kept_id": g.column("kept_id"), "size": g.column("dup_size_sum")})


def apply_dedup(batch: pa.RecordBatch, removals: pa.Table, absorbed_: pa.Table, threshold: Optional[float] = None):
    """(kept documents with ``dup_group_size``, ledger rows of the removed ones: rule
    ``exact_duplicate`` or ``near_duplicate``, the kept id, the estimated Jaccard, and for near
    duplicates the verification ``threshold``)."""
    ids = pc.cast(batch.column("id"), pa.string())
    pos = pc.index_in(ids, value_set=removals.column("dup_id").combine_chunks())
    removed = pc.is_valid(pos)
    exact = pc.fill_null(removals.column("exact").combine_chunks().take(pos), False)
    kept, ledger = schema.split(
        batch,
        pc.invert(removed),
        "dedup",
        pc.if_else(exact, "exact_duplicate", "near_duplicate"),
        value=removals.column("jaccard").combine_chunks().take(pos),
        threshold=pc.if_else(exact, pa.scalar(None, pa.float64()), threshold) if threshold is not None else None,
        kept_id=removals.column("kept_id").combine_chunks().take(pos),
    )
    extra = pa.array(np.zeros(kept.num_rows, dtype=np.int64))
    if absorbed_.num_rows:
        if len(pc.unique(absorbed_.column("kept_id"))) < absorbed_.num_rows:
            absorbed_ = absorbed(absorbed_.rename_columns(["kept_id", "dup_size"]))
        apos = pc.index_in(pc.cast(kept.column("id"), pa.string()), value_set=absorbed_.column("kept_id").combine_chunks())
        extra = pc.fill_null(absorbed_.column("size").combine_chunks().take(apos), 0)
    sizes = pc.add(group_sizes_column(kept), pc.cast(extra, pa.int64()))
    return schema.with_column(kept, "dup_group_size", sizes), ledger


def dedup_inprocess(tables: Sequence[pa.Table], threshold: Optional[float] = None, max_centers: int = 4,
                    bits: int = 32) -> tuple[pa.Table, pa.Table]:
    """Steps 2-4 on entry tables in one process: (removals, absorbed)."""
    removals = best_edges(bucket_edges(concat(tables), threshold, max_centers, bits))
    return removals, absorbed(removals)


def removal_map(removals: pa.Table) -> dict[str, tuple[str, float]]:
    """{removed id: (kept id, estimated Jaccard)}, e.g. to compare with ``dedup_reference``."""
    return {d: (k, j) for d, k, j in zip(*(removals.column(c).to_pylist() for c in ("dup_id", "kept_id", "jaccard")))}


def dedup_reference(
    texts: Sequence[str],
    ids: Sequence[str],
    priorities: Optional[Sequence[tuple]] = None,
    config: mh.MinHashConfig = mh.MinHashConfig(),
    threshold: Optional[float] = None,
) -> tuple[dict[str, tuple[str, float]], dict[str, int]]:
    """Independent single-process reference (tests and benchmarks only): textbook per-document
    signatures from Python shingles, dict buckets on the band rows, and *all pairs* within a
    bucket: each document is removed in favour of the highest-priority document it shares a
    bucket with (and, with ``threshold``, whose estimated Jaccard reaches it). Returns
    ({removed id: (kept id, Jaccard)}, {kept id: number removed in its favour})."""
    if priorities is None:
        priorities = [priority_key(i, len(t)) for i, t in zip(ids, texts)]
    norm = normalize_reference(list(texts), config.normalize).to_pylist()
    sigs = []
    for t in norm:
        h = np.array([mh.shingle_hash64(s) for s in mh.shingles(t, config.ngram)], dtype=np.uint64)
        if config.scheme != "affine64":  # shingle_hash32, vectorised
            h = mh.fmix32_inverse((h >> np.uint64(32)).astype(np.uint32)).astype(np.uint64)
        sigs.append(mh.signature_reference(h, config.num_perm, config.seed, config.scheme))
    buckets = defaultdict(list)
    for i, s in enumerate(sigs):
        for b in range(config.bands):
            buckets[(b, s[b * config.rows : (b + 1) * config.rows].tobytes())].append(i)
    best: dict[int, tuple] = {}
    for idx in buckets.values():
        idx = sorted(idx, key=lambda i: priorities[i])
        for x in range(1, len(idx)):
            for y in range(x):  # the higher-priority members, best first
                i, j = idx[x], idx[y]
                jac = float(np.mean(sigs[i] == sigs[j]))
                if threshold is not None and jac < threshold:
                    continue
                if i not in best or priorities[j] < best[i][0]:
                    best[i] = (priorities[j], j, jac)
                break  # the first match is this bucket's best
    removals = {ids[i]: (ids[j], jac) for i, (_, j, jac) in best.items()}
    sizes: dict[str, int] = defaultdict(int)
    for kept, _ in removals.values():
        sizes[kept] += 1
    return removals, dict(sizes)
