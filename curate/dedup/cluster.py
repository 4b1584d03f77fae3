"""Which documents survive deduplication: per-bucket edges, then a per-document reduce.

Written for a runner. Nothing here holds state across buckets, so the pipeline is:

1. per batch: ``minhash_entries(batch)`` (or ``exact_entries``): ``(key, Member)`` for every
   band key (exact key) of every document;
2. GroupByKey on the key; ``bucket_edges(members, threshold)`` per bucket emits
   ``(edge.dup_id, edge)``;
3. CombinePerKey(``best_edge``) on the removed document's id: its removal record;
4. ``(record.kept_id, record.dup_size)`` -> CombinePerKey(sum): what each kept document
   absorbed (``group_sizes`` here);
5. per batch: ``apply_dedup(batch, removals, absorbed)`` -> (kept docs, ledger rows).

``dedup_inprocess`` runs exactly these steps with dicts standing in for the shuffles (tests,
benchmarks, single-machine runs); ``dedup_reference`` is an independent all-pairs
implementation used only to check it.

Priority (smaller sorts first = kept): quality_score descending when present (documents
without one rank after those with one), then length in characters descending, then source
rank ascending, then id ascending. Ids are unique, so this is a total order and every
decision below is deterministic whatever order the members arrive in.

Policy. A document is removed if a higher-priority document shares a bucket with it
(optionally: and their signatures estimate Jaccard >= ``threshold``; a band collision alone
has false positives, mostly just below the LSH threshold, and checking all ``num_perm``
values removes most of them). Its ``kept_id`` is the highest-priority document it matched in
any bucket (``best_edge``), with that pair's estimated Jaccard as the ledger value.

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

import math
from collections import defaultdict
from typing import Iterable, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from . import minhash as mh
from .exact import exact_keys
from .normalize import DEFAULT as DEFAULT_NORMALIZE
from .normalize import NormalizeConfig, normalize_reference


class Member(NamedTuple):
    """One document in a bucket. ``size``: how many documents it already stands for (its
    ``dup_group_size`` from an earlier dedup pass, else 1)."""

    id: str
    priority: tuple
    signature: Optional[np.ndarray] = None
    size: int = 1


class Edge(NamedTuple):
    """``dup_id`` is a duplicate of the higher-priority ``kept_id``."""

    dup_id: str
    kept_id: str
    kept_priority: tuple
    jaccard: float
    dup_size: int = 1


def priority_key(doc_id: str, length: int, quality: Optional[float] = None, source_rank: int = 0) -> tuple:
    """Sort key: smaller is kept first (see the module docstring)."""
    missing = quality is None or math.isnan(quality)
    return (missing, 0.0 if missing else -float(quality), -int(length), int(source_rank), doc_id)


def batch_priorities(batch: pa.RecordBatch, source_ranks: Optional[Mapping[str, int]] = None) -> list[tuple]:
    """Priority keys of a document batch (``quality_score`` used when the column exists;
    sources missing from ``source_ranks`` rank after all listed ones)."""
    ids = batch.column("id").to_pylist()
    lengths = pc.utf8_length(batch.column("text")).to_pylist()
    q = batch.column("quality_score").to_pylist() if "quality_score" in batch.schema.names else [None] * len(ids)
    if source_ranks:
        unknown = len(source_ranks)
        ranks = [source_ranks.get(s, unknown) for s in batch.column("source").to_pylist()]
    else:
        ranks = [0] * len(ids)
    return [priority_key(i, n or 0, qq, r) for i, n, qq, r in zip(ids, lengths, q, ranks)]


def members(batch: pa.RecordBatch, signatures: Optional[np.ndarray] = None, source_ranks=None) -> list[Member]:
    """The ``Member`` of every document of a batch (row-aligned with ``signatures``)."""
    ids = batch.column("id").to_pylist()
    prios = batch_priorities(batch, source_ranks)
    sizes = [1] * len(ids)
    if "dup_group_size" in batch.schema.names:
        sizes = [s or 1 for s in batch.column("dup_group_size").to_pylist()]
    sigs = [None] * len(ids) if signatures is None else list(signatures)
    return [Member(*m) for m in zip(ids, prios, sigs, sizes)]


def minhash_entries(batch: pa.RecordBatch, config: mh.MinHashConfig = mh.MinHashConfig(), source_ranks=None):
    """``(band key, Member)`` for every band of every document of a batch: what goes into the
    bucket shuffle (keys are Python ints). Each member carries the signature, for
    verification in ``bucket_edges``; drop it (``m._replace(signature=None)``) to shuffle
    ~0.5 KB less per band when not verifying."""
    sigs = mh.batch_signatures(batch.column("text"), config)
    keys = mh.band_keys(sigs, config.bands, config.rows).tolist()
    return [(k, m) for m, row in zip(members(batch, sigs, source_ranks), keys) for k in row]


def exact_entries(batch: pa.RecordBatch, config: NormalizeConfig = DEFAULT_NORMALIZE, source_ranks=None):
    """``(16-byte exact key, Member)`` for every document of a batch."""
    keys = exact_keys(batch.column("text"), config).to_pylist()
    return list(zip(keys, members(batch, None, source_ranks)))


def bucket_edges(
    bucket: Iterable[Member], threshold: Optional[float] = None, max_centers: int = 4, dtype=np.uint32
) -> list[Edge]:
    """Duplicate edges of one bucket (the star policy; O(n * max_centers), vectorised).

    Signatures may be arrays or their raw bytes (``dtype`` says how to read them): bytes
    pickle several times faster, which matters for the 14 shuffle entries per document."""
    uniq = {}
    for m in bucket:
        uniq.setdefault(m.id, m)  # a document can reach a bucket twice (e.g. a retry)
    rest = list(uniq.values())
    edges = []
    for _ in range(max_centers if threshold is not None else 1):
        if len(rest) < 2:
            break
        ci = min(range(len(rest)), key=lambda i: rest[i].priority)
        center = rest[ci]
        others = rest[:ci] + rest[ci + 1 :]
        if center.signature is None or others[0].signature is None:
            jac = np.ones(len(others))
        else:
            as_array = lambda s: s if isinstance(s, np.ndarray) else np.frombuffer(s, dtype=dtype)  # noqa: E731
            jac = mh.jaccard_estimate(np.stack([as_array(m.signature) for m in others]), as_array(center.signature))
        hit = jac >= threshold if threshold is not None else np.ones(len(others), dtype=bool)
        edges += [
            Edge(m.id, center.id, center.priority, float(j), m.size)
            for m, j, h in zip(others, jac.tolist(), hit.tolist())
            if h
        ]
        rest = [m for m, h in zip(others, hit.tolist()) if not h]
    return edges


def best_edge(edges: Iterable[Edge]) -> Edge:
    """A document's removal record: the edge to its highest-priority kept document
    (associative and commutative, so usable as a combiner)."""
    return min(edges, key=lambda e: e.kept_priority)


def group_sizes(removals: Iterable[Edge]) -> dict[str, int]:
    """kept_id -> number of documents (with what they stood for) removed in its favour."""
    out: dict[str, int] = defaultdict(int)
    for e in removals:
        out[e.kept_id] += e.dup_size
    return dict(out)


def apply_dedup(
    batch: pa.RecordBatch,
    removals: Mapping[str, Edge],
    absorbed: Mapping[str, int],
    rule: str = "minhash",
    threshold: Optional[float] = None,
):
    """(kept documents with ``dup_group_size``, ledger rows of the removed ones)."""
    ids = batch.column("id").to_pylist()
    rec = [removals.get(i) for i in ids]
    kept, ledger = schema.split(
        batch,
        [r is None for r in rec],
        "dedup",
        rule,
        value=[None if r is None else r.jaccard for r in rec],
        threshold=threshold,
        kept_id=[None if r is None else r.kept_id for r in rec],
    )
    own = [1] * kept.num_rows
    if "dup_group_size" in kept.schema.names:
        own = [s or 1 for s in kept.column("dup_group_size").to_pylist()]
    sizes = [o + absorbed.get(i, 0) for o, i in zip(own, kept.column("id").to_pylist())]
    return schema.with_column(kept, "dup_group_size", sizes), ledger


def dedup_inprocess(
    mem: Sequence[Member],
    keys,
    threshold: Optional[float] = None,
    max_centers: int = 4,
) -> tuple[dict[str, Edge], dict[str, int]]:
    """The pipeline's two shuffles emulated with dicts. ``keys[i]``: the bucket keys of
    ``mem[i]`` (a row of ``band_keys``, or ``[exact key]``). Returns (removals by id,
    absorbed counts by kept id)."""
    buckets = defaultdict(list)
    for i, row in enumerate(keys.tolist() if isinstance(keys, np.ndarray) else keys):
        for k in row:
            buckets[k].append(i)
    by_doc = defaultdict(list)
    for idx in buckets.values():
        if len(idx) > 1:
            for e in bucket_edges([mem[i] for i in idx], threshold, max_centers):
                by_doc[e.dup_id].append(e)
    removals = {d: best_edge(es) for d, es in by_doc.items()}
    return removals, group_sizes(removals.values())


def dedup_reference(
    texts: Sequence[str],
    ids: Sequence[str],
    priorities: Optional[Sequence[tuple]] = None,
    config: mh.MinHashConfig = mh.MinHashConfig(),
    threshold: Optional[float] = None,
) -> tuple[dict[str, Edge], dict[str, int]]:
    """Independent single-process reference (tests and benchmarks only): textbook per-document
    signatures from Python shingles, dict buckets on the band rows, and *all pairs* within a
    bucket: each document is removed in favour of the highest-priority document it shares a
    bucket with (and, with ``threshold``, whose estimated Jaccard reaches it)."""
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
    removals = {ids[i]: Edge(ids[i], ids[j], p, jac) for i, (p, j, jac) in best.items()}
    return removals, group_sizes(removals.values())
