r"""Line dedup on a runner: count line hashes across the corpus, then cut them by an id join.

    docs --line_rows (hash, id), split by hash mod R--> GroupByKey --frequent_rows-->
         (hash, id) rows of frequent lines, split by id mod J --+
    docs, split by id mod J ------------------------------------+--CoGroupByKey--> apply

Only compact rows move (8-byte hash + id per distinct line of a document, never text); a hash
shard holds 1/R of them, a join shard 1/J of the documents and the frequent rows that concern
them. Nothing corpus-sized is a side input.
"""
from __future__ import annotations

import apache_beam as beam
import pyarrow as pa

from curate import output
from curate.stages.dedup import cluster
from curate.stages.linededup import LineDedupStage as Lib
from pipelines.common import ApplyJoined, StageContext, emit, join_shards
from pipelines.meter import measure
from pipelines.spill import ByKey, Loaded, SplitFn


class _Apply(ApplyJoined):
    def apply(self, batches, g):
        frequent = cluster.concat(Loaded(g["frequent"])) if g["frequent"] else None
        for b in batches:
            kept, ledger, stats = self.lib.apply(b, frequent if frequent is not None else pa.table({"hash": pa.array([], pa.uint64())}))
            yield from emit(kept, ledger)
            yield beam.pvalue.TaggedOutput("stats", stats)


class _Frequent(beam.DoFn):
    """One hash shard's line rows -> the (hash, id) rows of its frequent lines by join shard,
    spilled: held by the runner until the join, a row per frequent line of a document grew the
    launching process."""

    def __init__(self, lib: Lib, j: int, spill):
        self.lib, self.j, self.spill = lib, j, spill

    def process(self, kv):
        lines = Loaded(kv[1])
        if not lines:  # spilled, every bucket shard has a group (ByKey)
            return
        rows = self.lib.frequent_rows(cluster.concat(lines))
        if rows.num_rows:  # a hash lives in one shard: distinct counts add up
            yield beam.pvalue.TaggedOutput("stats", {"linededup.frequent_lines": len(rows.column("hash").unique())})
        yield from self.spill.pieces(output.split_by_shard(rows, "id", self.j, copy=self.spill.copies))


class LineDedup(beam.PTransform):
    def __init__(self, section: dict, context: StageContext):
        super().__init__(label=context.name)
        self.lib = Lib(section)
        self.j, self.r = join_shards(self.lib, context)
        self.batch_size = context.limits["batch_size"]
        self.spill_rows, self.spill_docs = context.spiller("lines"), context.spiller("docs")
        self.context = context

    def expand(self, docs):
        lib, r, j = self.lib, self.r, self.j
        sr, sd = self.spill_rows, self.spill_docs
        rows = docs | "LineRows" >> beam.FlatMap(lambda b: sr.by_key(cluster.partition(lib.line_rows(b), r, column="hash", copy=sr.copies)))
        frequent = (
            measure(rows, "linededup.lines")
            | "ByHash" >> ByKey(r, sr)
            | "Frequent" >> beam.ParDo(_Frequent(lib, j, sr)).with_outputs("stats", main="rows")
        )
        joined = {
            "docs": measure(docs | "DocsByShard" >> beam.ParDo(SplitFn("id", j, sd, reuse=self.context.before)), "linededup.join_docs"),
            "frequent": measure(frequent.rows, "linededup.join_frequent"),
        } | "Join" >> beam.CoGroupByKey()
        out = joined | "Apply" >> beam.ParDo(self.context.pooled(_Apply(lib, self.batch_size))).with_outputs("ledger", "stats", main="docs")
        stats = (out.stats, frequent.stats) | "Stats" >> beam.Flatten()
        return {"docs": out.docs, "ledger": out.ledger, "stats": stats}
