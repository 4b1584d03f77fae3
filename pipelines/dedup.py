"""The dedup stage on a runner: bucket shuffle, per-document reduce, and a join by id.

One pass for both methods (exact keys and MinHash bands share the bucket shuffle); every
element is an Arrow table of many rows:

    docs --entries, split by key mod R--> (bucket shard, entries) --GroupByKey-->
         star edges of every bucket in the shard, split by the removed id's edge group (mod K)
         --GroupByKey--> best edge per removed id, split by its join shard (removals)
                         + absorbed sizes, split by the kept id's join shard (absorbed)
    docs, removals, absorbed --keyed by hash(id) mod J, CoGroupByKey--> apply per join shard

Spilled (the local runner), K = isqrt(J) edge groups, not J: candidate edges are few (~30 B
per duplicate), so R x J pieces of them were mostly one or two edges each, and with J x J
pieces of absorbed sizes they were the most elements the runner held in the launching
process (65,536 each at 64 output shards). With K groups: R x K and K x J pieces. On a
cluster K = J: a group's edges sit in one worker, and 1/K of a 100 TB corpus's would not fit. A group's best edges are those of its removed ids (a reduce
that any split gives the same result), so the removals and outputs are what they were.
Spilled, a step's pieces for one of these shuffles are one file with an index, and the runner
holds a reference per file (``spill.ByKey``, ``spill.JoinByKey``: the removals and absorbed
sizes wait for the join as side inputs of K file references each), not R x K or K x J.

Hot buckets (more than ``dedup.hot_bucket`` members; boilerplate) skip the bucket shuffle:

    entries --key summaries per bucket shard, CombinePerKey--> hot keys (side input)
    entries --SplitHot--> cold entries (the bucket shuffle above) + hot members
    hot members --best per bucket, top-1 combine--> round 1's centers (side input)
    hot members + centers --star round--> edges (split as the buckets') + members left
         --best per bucket, top-1 combine--> the next round's centers ... (max_centers rounds)

so no process holds a hot bucket's members, and the edges are the ones its shard would have
made (curate/stages/dedup/hot.py). Where no bucket is hot, SplitHot passes its input on unread.

Nothing corpus-sized is a side input or sits in one process: a bucket shard holds 1/R of the
entries (and a summary of at most ``hot.COUNTERS`` of their keys), a join shard 1/J of the
documents. Shuffling tables, not one element per (document, band), is what keeps the runner's
per-element cost off the hot path: a batch of 1,000 documents makes R bucket-shard elements,
not 14,000.
"""
from __future__ import annotations

import math

import apache_beam as beam
import numpy as np

from curate import output
from curate.stages.dedup import cluster, hot
from curate.stages.dedup.stage import DedupStage as DedupLib
from pipelines.common import ApplyJoined, StageContext, emit, join_shards
from pipelines.meter import measure
from pipelines.spill import ByKey, JoinByKey, Loaded, SplitFn, load


class _Apply(ApplyJoined):
    def apply(self, batches, g):
        removals, absorbed = Loaded(g["removals"]), Loaded(g["absorbed"])
        removals = cluster.concat(removals) if removals else cluster.empty_edges()
        absorbed = cluster.concat(absorbed) if absorbed else cluster.absorbed(cluster.empty_edges())
        for b in batches:
            kept, ledger = self.lib.apply(b, removals, absorbed)
            yield from emit(kept, ledger)


class _EntriesFn(beam.DoFn):
    """A batch's entry tables, one per bucket shard (spilled: references go into the shuffle);
    ``count``: on "counts", (bucket shard, the summary of its keys) for the hot buckets' combine."""

    def __init__(self, lib, r: int, spill, count: bool = False):
        self.lib, self.r, self.spill, self.count = lib, r, spill, count

    def warm_up(self):
        getattr(self.lib, "warm_up", lambda: None)()  # a library of its own (tests) may have none

    def process(self, batch):
        parts = cluster.partition(self.lib.entries(batch), self.r, copy=self.spill.copies)
        if self.count:
            for shard, t in parts:
                yield beam.pvalue.TaggedOutput("counts", (shard, hot.key_counts(t)))
        yield from self.spill.by_key(parts)


class _HotKeysFn(beam.CombineFn):
    """One bucket shard's key summaries (``hot.key_counts``, at most ``hot.COUNTERS`` keys each)
    -> the keys of its buckets that may have more than ``size`` members. The accumulator:
    [summaries, keys they list], merged into one once they list 4 x COUNTERS keys, and before
    the runner holds it (``compact``): a few KB per bucket shard, however many distinct keys."""

    def __init__(self, size: int):
        self.size = size

    def create_accumulator(self):
        return [[], 0]

    def add_input(self, acc, counts):
        parts, keys = acc
        parts.append(counts)
        keys += len(counts.keys)
        return self.compact([parts, keys]) if keys > 4 * hot.COUNTERS else [parts, keys]

    def merge_accumulators(self, accs):
        return self.compact([[p for a in accs for p in a[0]], 0])

    def compact(self, acc):
        merged = hot.merge_counts(acc[0])
        return [[merged], len(merged.keys)]

    def extract_output(self, acc):
        return hot.hot_keys(hot.merge_counts(acc[0]), self.size)


class _With:
    """An element with a side input's value: what a pooled step gets (pipelines/pool.py runs
    DoFns without side inputs). Side inputs here are small: hot keys, centers."""

    __slots__ = ("value", "side")

    def __init__(self, value, side):
        self.value, self.side = value, side

    def __reduce__(self):
        return _With, (self.value, self.side)


def _with(pcoll, label: str, side):
    """``side``: a singleton side input (AsSingleton, a global combine's ``as_singleton_view``)."""
    return pcoll | label >> beam.Map(_With, side)


class _SplitHotFn(beam.DoFn):
    """Entries (as ``_EntriesFn`` made them) with the hot keys -> those of cold buckets, and on
    "hot" those of hot ones (one table per input). An input without hot rows goes on as it is:
    with no hot bucket, nothing is read again."""

    def __init__(self, spill):
        self.spill = spill

    def process(self, w):
        element, hot_keys = w.value, w.side
        if len(hot_keys):
            parts = element.pieces() if self.spill.folder is not None else [element]
            parts = [(k, hot.split(load(t), hot_keys)) for k, t in parts]
            hot_rows = [h for _, (_, h) in parts if h.num_rows]
            if hot_rows:
                yield from self.spill.by_key([(k, cold) for k, (cold, _) in parts])
                # in a list: a pooled step's Ref output is loaded where the runner is (Pooled), a
                # hot bucket's members would be held there
                yield beam.pvalue.TaggedOutput("hot", [self.spill.one(cluster.concat(hot_rows), reuse=False)])
                return
        yield element


class _BestOfFn(beam.DoFn):
    """A piece of hot buckets' members (a list of one) -> its best member per bucket."""

    def process(self, members):
        yield hot.best(cluster.concat(Loaded(members)))


class _RoundFn(beam.DoFn):
    """A piece of hot buckets' members left, with their buckets' centers of this round -> the
    edges of those that match (split as ``_EdgesFn``'s), and on "left" those left for the next
    round (a list of one, spilled) and on "best" their best member per bucket."""

    def __init__(self, lib, k: int, spill, last: bool):
        self.lib, self.k, self.spill, self.last = lib, k, spill, last

    def process(self, w):
        threshold, _, bits = self.lib.star()
        edges, left = hot.star_round(cluster.concat(Loaded(w.value)), w.side, threshold, bits)
        yield from self.spill.by_key(output.split_by_shard(edges, "dup_id", self.k, copy=self.spill.copies))
        if left.num_rows and not self.last:
            yield beam.pvalue.TaggedOutput("left", [self.spill.one(left, reuse=False)])
            yield beam.pvalue.TaggedOutput("best", hot.best(left))


class _BestFn(beam.CombineFn):
    """Top-1 per bucket of candidate tables (``hot.best``): one round's centers, or None."""

    def create_accumulator(self):
        return None

    def add_input(self, acc, table):
        return self.merge_accumulators([acc, table])

    def merge_accumulators(self, accs):
        tables = [a for a in accs if a is not None and a.num_rows]
        return hot.best(cluster.concat(tables)) if tables else None

    def extract_output(self, acc):
        return acc


class _EdgesFn(beam.DoFn):
    """One bucket shard's entries -> its star edges, split by the removed id's edge group
    (spilled: ~30 B per duplicate, which the runner would hold until every shard is done)."""

    def __init__(self, lib, k: int, spill):
        self.lib, self.k, self.spill = lib, k, spill

    def process(self, kv):
        entries = Loaded(kv[1])
        if entries:  # spilled, every bucket shard has a group (ByKey)
            yield from self.spill.by_key(output.split_by_shard(self.lib.edges(cluster.concat(entries)), "dup_id", self.k, copy=self.spill.copies))


class _BestEdgesFn(beam.DoFn):
    """One edge group's edges -> the best edge per removed id, split by its join shard, and
    (on "absorbed") the absorbed sizes, split by the kept id's. Both wait for the join as files:
    held by the runner, a row per removed document grew the launching process."""

    def __init__(self, j: int, spill):
        self.j, self.spill = j, spill

    def process(self, kv):
        edges = Loaded(kv[1])
        if not edges:  # spilled, every edge group has a group (ByKey)
            return
        best = cluster.best_edges(cluster.concat(edges))
        yield from self.spill.by_key(output.split_by_shard(best, "dup_id", self.j, copy=self.spill.copies))
        for piece in self.spill.by_key(output.split_by_shard(cluster.absorbed(best), "kept_id", self.j, copy=self.spill.copies)):
            yield beam.pvalue.TaggedOutput("absorbed", piece)


def edge_groups(j: int, spill: bool) -> int:
    """K, the edge groups between dedup's bucket shuffle and its join (see the module doc):
    isqrt(J) where the pieces are spilled (the local runner, which holds every piece in the
    launching process); J elsewhere, where a group's edges sit in one worker (1/J of them)."""
    return max(1, math.isqrt(j)) if spill else j


class Dedup(beam.PTransform):
    """Exact and MinHash near-duplicate removal (the methods configured), one shuffle pass.
    ``lib``: another stage with the same steps (entries, edges, apply), e.g. URL dedup."""

    def __init__(self, section: dict, context: StageContext, lib=None):
        super().__init__(label=context.name)
        self.lib = lib or DedupLib(section)
        self.j, self.r = join_shards(self.lib, context)
        self.batch_size = context.limits["batch_size"]
        self.spill_entries, self.spill_docs = context.spiller("entries"), context.spiller("docs")
        self.spill_removals = context.spiller("removals")
        self.context = context

    def expand(self, docs):
        lib, r, j, name = self.lib, self.r, self.j, self.context.name
        se, sd, sr = self.spill_entries, self.spill_docs, self.spill_removals
        k = edge_groups(j, se.folder is not None)
        size = getattr(lib, "hot_bucket", 0)  # urldedup: none
        entries_fn = beam.ParDo(self.context.pooled(_EntriesFn(lib, r, se, count=bool(size))))
        hot_edges = None
        if size:
            made = docs | "Entries" >> entries_fn.with_outputs("counts", main="entries")
            made, hot_edges = self._hot(made.entries, made.counts, size, k)
        else:
            made = docs | "Entries" >> entries_fn
        entries = measure(made, f"{name}.entries")
        edges = measure(entries | "Buckets" >> ByKey(r, se)
                        | "Edges" >> beam.ParDo(self.context.pooled(_EdgesFn(lib, k, se))), f"{name}.edges")
        if hot_edges is not None:
            edges = (edges, hot_edges) | "AllEdges" >> beam.Flatten()
        best = (
            edges
            | "EdgesByDoc" >> ByKey(k, se)
            | "BestEdges" >> beam.ParDo(_BestEdgesFn(j, sr)).with_outputs("absorbed", main="removals")
        )
        joined = {
            "docs": measure(docs | "DocsByShard" >> beam.ParDo(SplitFn("id", j, sd, reuse=self.context.before)), f"{name}.join_docs"),
            "removals": measure(best.removals, f"{name}.join_removals"),
            "absorbed": measure(best.absorbed, f"{name}.join_absorbed"),
        } | "Join" >> JoinByKey(sd, "docs")
        out = joined | "Apply" >> beam.ParDo(self.context.pooled(_Apply(lib, self.batch_size))).with_outputs("ledger", main="docs")
        # no "read" (spill.Release): the step before's files are read up to the join, where its
        # documents go as its own files (SplitFn's reuse), not written again
        return {"docs": out.docs, "ledger": out.ledger}

    def _hot(self, entries, counts, size: int, k: int):
        """(the entries of cold buckets, the star edges of hot ones): buckets of more than
        ``size`` members skip the bucket shuffle; each round's centers are a top-1 combine over
        the members left, each piece of which is compared with them (a side input), the misses
        left for the next round (curate/stages/dedup/hot.py)."""
        se, pooled, (threshold, max_centers, _) = self.spill_entries, self.context.pooled, self.lib.star()
        hot_keys = (counts | "CountBuckets" >> beam.CombinePerKey(_HotKeysFn(size)) | "HotKeys" >> beam.Values()
                    | "AllHotKeys" >> beam.combiners.ToList()
                    | "Union" >> beam.Map(lambda keys: np.concatenate([np.zeros(0, np.uint64), *keys])))
        split = (_with(entries, "WithHotKeys", beam.pvalue.AsSingleton(hot_keys))
                 | "SplitHot" >> beam.ParDo(pooled(_SplitHotFn(se))).with_outputs("hot", main="cold"))
        members, best, edges = split.hot, split.hot | "BestOf" >> beam.ParDo(pooled(_BestOfFn())), []
        rounds = max_centers if threshold is not None else 1  # as bucket_edges'
        for r in range(rounds):
            # read as a side input (as_singleton_view): a global combine with defaults gave an
            # empty input its value in a bundle of its own, one more for each round
            centers = best | f"Centers{r}" >> beam.CombineGlobally(_BestFn()).as_singleton_view()
            out = (_with(members, f"WithCenters{r}", centers)
                   | f"Round{r}" >> beam.ParDo(pooled(_RoundFn(self.lib, k, se, r == rounds - 1))).with_outputs("left", "best", main="edges"))
            edges.append(out.edges)
            members, best = out.left, out.best
        edges = edges | "HotEdges" >> beam.Flatten()
        return split.cold, measure(edges, f"{self.context.name}.hot_edges")
