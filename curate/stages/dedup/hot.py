"""Hot buckets: ``cluster.bucket_edges``' star policy without one process holding a bucket.

A bucket's members meet in one bucket shard, where ``bucket_edges`` sorts and compares them:
~1 KB per member at its peak, so a bucket of tens of millions (boilerplate: cookie walls,
parked domains, error pages) does not fit a worker. Above ``dedup.hot_bucket`` members, a
bucket goes this way instead, in passes over its members, each piece on its own:

1. ``key_counts`` per piece of entries, merged per bucket shard (``merge_counts``, a combine):
   a Misra-Gries summary of at most ``COUNTERS`` keys, whatever the number of distinct keys
   -> ``hot_keys``: the ``key`` of every bucket that may have more than the size (every one
   that does, and maybe some within the summary's error below it); ``split`` sends their
   rows here, the rest to ``bucket_edges`` as before (all rows of a bucket share its key, so a
   bucket goes one way whole; ``key`` alone may class a smaller bucket sharing it hot; either
   changes where a bucket is computed, not the result);
2. the star's rounds, as ``bucket_edges`` runs them, a pass each over what is left: round k's
   center of a bucket is the best (``PRIORITY``, then id) of its members left, a top-1 per
   bucket over every piece (``best``: a reduce, so a combine); ``star_round`` then compares
   each member left in a piece with its bucket's center (a side input): a match is an edge,
   a miss is left for round k+1 (written again). ``max_centers`` rounds, one without
   verification; what is still left after them gets no edge. The comparisons are
   ``cluster._estimate`` on the same signatures, so the edges are ``bucket_edges``' rows (a
   document repeated in two pieces, from a retried bundle, gives its edge twice;
   ``best_edges`` keeps one of the identical rows). Boilerplate mostly matches its first
   center, so the passes after the first read little.

No step holds more than a piece of entries and a round's centers (a row per hot bucket).
"""
from __future__ import annotations

from typing import Iterable, NamedTuple, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cluster import BUCKET, PRIORITY, _EDGE_SCHEMA, _estimate, _sig_matrix, concat, empty_edges, sorted_buckets


# A summary's keys at most (~4 KB): a bucket of more than max(dedup.hot_bucket, rows / 257)
# members, rows being its bucket shard's entries, is always found (at 50,000: every one above
# the size while a shard holds at most 12.8 million entries; docs/scale.md).
COUNTERS = 256


class KeyCounts(NamedTuple):
    """A Misra-Gries summary of the keys of some entries: at most k keys, each with a count
    between its rows - ``err`` and its rows; a key not listed has at most ``err`` rows. Summaries
    merge (``merge_counts``) in any order and grouping, the errors adding up: ``err`` is at most
    the rows summarised / (k + 1) (Agarwal et al., "Mergeable summaries", 2012)."""

    keys: np.ndarray  # uint64, sorted
    counts: np.ndarray  # int64, > 0
    err: int = 0


def _prune(keys: np.ndarray, counts: np.ndarray, err: int, k: int) -> KeyCounts:
    """At most k keys: past that, every count less the (k+1)-th largest, d, and the keys left at
    or below 0 dropped. A key's count falls by d at most, so ``err`` grows by d; k + 1 keys lose
    d each, so d(k + 1) rows leave the summary: the sum of the d's is at most rows / (k + 1)."""
    if len(keys) <= k:
        return KeyCounts(keys, counts, err)
    d = np.partition(counts, len(counts) - k - 1)[len(counts) - k - 1]
    keep = counts > d
    return KeyCounts(keys[keep], counts[keep] - d, err + int(d))


def key_counts(entries: pa.Table, k: int = COUNTERS) -> KeyCounts:
    """The summary of an entry table's ``key``s."""
    keys, n = np.unique(entries.column("key").to_numpy(), return_counts=True)
    return _prune(keys, n.astype(np.int64), 0, k)


def merge_counts(parts: Iterable[KeyCounts], k: int = COUNTERS) -> KeyCounts:
    """Several summaries as one (a combine's merge): counts summed per key, errors added, pruned."""
    parts = list(parts)
    if not parts:
        return KeyCounts(np.zeros(0, np.uint64), np.zeros(0, np.int64))
    keys, inv = np.unique(np.concatenate([p.keys for p in parts]), return_inverse=True)
    n = np.bincount(inv, weights=np.concatenate([p.counts for p in parts]), minlength=len(keys)).astype(np.int64)
    return _prune(keys, n, sum(p.err for p in parts), k)


def hot_keys(counts: KeyCounts, min_size: int) -> np.ndarray:
    """Every key with more than max(``min_size``, err) rows: those whose count + err exceeds
    ``min_size`` (so maybe some keys of more than ``min_size - err`` rows, not more)."""
    return counts.keys[counts.counts + counts.err > min_size]


def split(entries: pa.Table, hot: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """(the rows of cold buckets, the rows of hot ones)."""
    m = np.isin(entries.column("key").to_numpy(), hot)
    return entries.filter(pa.array(~m)), entries.filter(pa.array(m))


def best(members: pa.Table) -> pa.Table:
    """The best member of each bucket (one row per bucket; a reduce: any split, in any order,
    gives the same rows)."""
    if members.num_rows == 0:
        return members
    t, new = sorted_buckets(members)
    return t.filter(pa.array(new)).combine_chunks()


def star_round(members: pa.Table, centers: Optional[pa.Table], threshold: Optional[float], bits: int = 32):
    """One round of the star over a piece of hot buckets' members left, given each bucket's
    center of the round (``best`` of them all): (the edges of those that match it, as
    ``bucket_edges``' rows, the members left for the next round: neither a match nor the
    center)."""
    if members.num_rows == 0 or centers is None:
        return empty_edges(), members
    if threshold is not None and "sig" not in members.schema.names:
        raise ValueError("verification needs signatures: build the entries with bits")
    members, _ = sorted_buckets(members)  # one row per (bucket, document)
    m = members.select(list(BUCKET)).append_column("_m", pa.array(np.arange(members.num_rows)))
    c = centers.select(list(BUCKET)).append_column("_c", pa.array(np.arange(centers.num_rows)))
    pairs = m.join(c, list(BUCKET), join_type="inner").sort_by("_m")  # every bucket left has its center
    mi, ci = pa.array(pairs.column("_m").to_numpy()), pa.array(pairs.column("_c").to_numpy())
    members, ids = members.take(mi), centers.column("id").take(ci)
    other = pc.not_equal(members.column("id"), ids).to_numpy(zero_copy_only=False).astype(bool)
    n = members.num_rows
    if "sig" in members.schema.names:  # as bucket_edges: the estimate wherever there are signatures
        sigs = np.concatenate([_sig_matrix(members.column("sig"), bits), _sig_matrix(centers.column("sig"), bits)])
        jac = _estimate(sigs, np.arange(n), n + ci.to_numpy(), bits)
    else:
        jac = np.ones(n)
    hit = other & (jac >= threshold if threshold is not None else True)
    d, k = pa.array(np.flatnonzero(hit)), ci.filter(pa.array(hit))
    cols = [members.column("id").take(d), ids.take(d)] + [centers.column(x).take(k) for x in PRIORITY]
    cols += [pa.array(jac[hit]), members.column("size").take(d), members.column("exact").take(d)]
    edges = pa.Table.from_arrays([x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x for x in cols], schema=_EDGE_SCHEMA)
    return edges, members.filter(pa.array(other & ~hit))


def hot_edges(pieces: list[pa.Table], threshold: Optional[float] = None, max_centers: int = 4, bits: int = 32) -> pa.Table:
    """Step 2 on hot pieces in one process (what the pipeline runs as passes): for tests."""
    edges = [empty_edges()]
    for _ in range(max_centers if threshold is not None else 1):
        pieces = [p for p in pieces if p.num_rows]
        if not pieces:
            break
        centers = best(concat([best(p) for p in pieces]))
        rounds = [star_round(p, centers, threshold, bits) for p in pieces]
        edges += [e for e, _ in rounds]
        pieces = [rest for _, rest in rounds]
    return concat(edges)
