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

Nothing corpus-sized is a side input or sits in one process: a bucket shard holds 1/R of the
entries, a join shard 1/J of the documents. Shuffling tables, not one element per (document,
band), is what keeps the runner's per-element cost off the hot path: a batch of 1,000
documents makes R bucket-shard elements, not 14,000.
"""
from __future__ import annotations

import math

import apache_beam as beam

from curate import output
from curate.stages.dedup import cluster
from curate.stages.dedup.stage import DedupStage as DedupLib
from pipelines.common import ApplyJoined, StageContext, emit, join_shards
from pipelines.meter import measure
from pipelines.spill import ByKey, JoinByKey, Loaded, SplitFn


class _Apply(ApplyJoined):
    def apply(self, batches, g):
        removals, absorbed = Loaded(g["removals"]), Loaded(g["absorbed"])
        removals = cluster.concat(removals) if removals else cluster.empty_edges()
        absorbed = cluster.concat(absorbed) if absorbed else cluster.absorbed(cluster.empty_edges())
        for b in batches:
            kept, ledger = self.lib.apply(b, removals, absorbed)
            yield from emit(kept, ledger)


class _EntriesFn(beam.DoFn):
    """A batch's entry tables, one per bucket shard (spilled: references go into the shuffle)."""

    def __init__(self, lib, r: int, spill):
        self.lib, self.r, self.spill = lib, r, spill

    def process(self, batch):
        yield from self.spill.by_key(cluster.partition(self.lib.entries(batch), self.r, copy=self.spill.copies))


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
        entries = measure(docs | "Entries" >> beam.ParDo(self.context.pooled(_EntriesFn(lib, r, se))), f"{name}.entries")
        edges = measure(entries | "Buckets" >> ByKey(r, se)
                        | "Edges" >> beam.ParDo(self.context.pooled(_EdgesFn(lib, edge_groups(j, se.folder is not None), se))), f"{name}.edges")
        best = (
            edges
            | "EdgesByDoc" >> ByKey(edge_groups(j, se.folder is not None), se)
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
