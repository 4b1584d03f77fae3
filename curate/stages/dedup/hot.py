"""Hot buckets: ``cluster.bucket_edges``' star policy without one process holding a bucket.

A bucket's members meet in one bucket shard, where ``bucket_edges`` sorts and compares them:
~1 KB per member at its peak, so a bucket of tens of millions (boilerplate: cookie walls,
parked domains, error pages) does not fit a worker. Above ``dedup.hot_bucket`` members, a
bucket goes this way instead, in passes over its members, each piece on its own:

1. ``key_counts`` per piece of entries, summed per bucket shard (``merge_counts``, a combine)
   -> ``hot_keys``: the ``key`` of every bucket above the size; ``split`` sends their rows
   here, the rest to ``bucket_edges`` as before (all rows of a bucket share its key, so a
   bucket goes one way whole; ``key`` alone may class a smaller bucket sharing it hot, which
   changes where it is computed, not the result);
2. the star's centers, one round each: center 1 of a bucket is its best member (by
   ``PRIORITY``, then id), center k the best member that is not a center and matches none of
   centers 1..k-1 (estimated Jaccard below the threshold). Each round is a top-1 per bucket
   over every piece's ``candidates`` (``best``: a reduce, so a combine), given the centers so
   far (``add_round``) as a side input; ``max_centers`` rounds (one without verification);
3. ``star_edges`` per piece: each member that is not a center gets an edge to the first
   center, in round order, it matches. That is what ``bucket_edges`` computes: its round k
   compares the members still unmatched with center k, and its center k+1 is the best of
   those that miss. The comparisons are ``cluster._estimate`` on the same signatures, so the
   edges are the same rows (a document repeated in two pieces, from a retried bundle, gives
   its edge twice; ``best_edges`` keeps one of the identical rows).

No step holds more than a piece of entries and each hot bucket's centers (<= max_centers rows).
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cluster import BUCKET, PRIORITY, _EDGE_SCHEMA, _estimate, _sig_matrix, concat, empty_edges, sorted_buckets


def key_counts(entries: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(each distinct ``key`` of an entry table, its rows)."""
    return np.unique(entries.column("key").to_numpy(), return_counts=True)


def merge_counts(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Counts of several pieces summed per key (a combine's merge)."""
    parts = list(parts)
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    keys, inv = np.unique(np.concatenate([k for k, _ in parts]), return_inverse=True)
    return keys, np.bincount(inv, weights=np.concatenate([n for _, n in parts]), minlength=len(keys)).astype(np.int64)


def hot_keys(counts: tuple[np.ndarray, np.ndarray], min_size: int) -> np.ndarray:
    """The keys with more than ``min_size`` rows."""
    keys, n = counts
    return keys[n > min_size]


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


def add_round(centers: Optional[pa.Table], new: Optional[pa.Table], k: int) -> Optional[pa.Table]:
    """The centers of rounds before ``k`` with round ``k``'s (``best`` of its candidates)."""
    if new is None or new.num_rows == 0:
        return centers
    new = new.append_column("round", pa.array(np.full(new.num_rows, k, np.int32)))
    return new if centers is None else concat([centers, new])


def _match(members: pa.Table, centers: Optional[pa.Table], threshold: Optional[float], bits: int):
    """Per member: the row in ``centers`` of the first center (round order) it matches, -1 for
    none, -2 for a center itself; and that pair's estimated Jaccard (1.0 without signatures)."""
    n = members.num_rows
    kept, jac = np.full(n, -1, np.int64), np.zeros(n)
    if centers is None or centers.num_rows == 0 or n == 0:
        return kept, jac
    if threshold is not None and "sig" not in members.schema.names:
        raise ValueError("verification needs signatures: build the entries with bits")
    m = members.select(list(BUCKET)).append_column("_m", pa.array(np.arange(n)))
    c = centers.select(list(BUCKET) + ["round"]).append_column("_c", pa.array(np.arange(centers.num_rows)))
    pairs = m.join(c, list(BUCKET), join_type="inner").sort_by([("round", "ascending"), ("_m", "ascending")])
    mi, ci, rnd = (pairs.column(x).to_numpy() for x in ("_m", "_c", "round"))
    sigs = None  # as bucket_edges: the estimate wherever there are signatures, verified or not
    if "sig" in members.schema.names:
        sigs = np.concatenate([_sig_matrix(members.column("sig"), bits), _sig_matrix(centers.column("sig"), bits)])
    for r in np.unique(rnd):  # a member meets center k only if it missed centers 1..k-1
        sel = (rnd == r) & (kept[mi] == -1)
        a, b = mi[sel], ci[sel]
        center = pc.equal(members.column("id").take(pa.array(a)), centers.column("id").take(pa.array(b)))
        center = center.to_numpy(zero_copy_only=False).astype(bool)
        kept[a[center]] = -2
        a, b = a[~center], b[~center]
        j = np.ones(len(a)) if sigs is None else _estimate(sigs, a, n + b, bits)
        hit = j >= threshold if threshold is not None else np.ones(len(a), bool)
        kept[a[hit]], jac[a[hit]] = b[hit], j[hit]
    return kept, jac


def candidates(members: pa.Table, centers: Optional[pa.Table], threshold: Optional[float], bits: int = 32) -> pa.Table:
    """The best member per bucket of those that may be the next round's center: neither a
    center nor matched by one so far (``best`` of these over every piece is that center)."""
    kept, _ = _match(members, centers, threshold, bits)
    return best(members.filter(pa.array(kept == -1)))


def star_edges(members: pa.Table, centers: Optional[pa.Table], threshold: Optional[float], bits: int = 32) -> pa.Table:
    """The edges of a piece of hot members given all the centers (``_EDGE_SCHEMA``, as
    ``bucket_edges``)."""
    if members.num_rows:
        members, _ = sorted_buckets(members)  # one row per (bucket, document)
    kept, jac = _match(members, centers, threshold, bits)
    dup = np.flatnonzero(kept >= 0)
    if not len(dup):
        return empty_edges()
    d, k = pa.array(dup), pa.array(kept[dup])
    cols = [members.column("id").take(d), centers.column("id").take(k)] + [centers.column(c).take(k) for c in PRIORITY]
    cols += [pa.array(jac[dup]), members.column("size").take(d), members.column("exact").take(d)]
    return pa.Table.from_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in cols], schema=_EDGE_SCHEMA)


def hot_edges(pieces: list[pa.Table], threshold: Optional[float] = None, max_centers: int = 4, bits: int = 32) -> pa.Table:
    """Steps 2 and 3 on hot pieces in one process (what the pipeline runs as passes): for tests
    and benchmarks."""
    centers = None
    pieces = [p for p in pieces if p.num_rows]
    if not pieces:
        return empty_edges()
    for k in range(max_centers if threshold is not None else 1):
        centers = add_round(centers, best(concat([candidates(p, centers, threshold, bits) for p in pieces])), k)
    return concat([star_edges(p, centers, threshold, bits) for p in pieces])
