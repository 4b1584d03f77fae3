"""The dedup stage on a runner: bucket shuffle, per-document reduce, and a join by id.

For each method (exact, then minhash):

    docs --entries--> (bucket key, Member) --GroupByKey--> star edges per bucket
         --CombinePerKey(best_edge) on the removed id--> removals (id -> Edge)
         --(kept_id, size) CombinePerKey(sum)--> absorbed (kept id -> group size)
    docs, removals, absorbed --keyed by hash(id) mod J, CoGroupByKey--> apply per join shard

Nothing corpus-sized is a side input or sits in one process: removals reach their documents
through a shuffle, and a join shard holds 1/J of the documents.
"""
from __future__ import annotations

import apache_beam as beam
import pyarrow as pa

from curate import output
from curate.dedup.stage import Dedup as DedupLib
from pipelines.common import emit


def _shard_of(doc_id: str, n: int) -> int:
    return output.shard_index(pa.array([doc_id]), n)[0]


class _Apply(beam.DoFn):
    def __init__(self, lib: DedupLib, method: str, batch_size: int):
        self.lib, self.method, self.batch_size = lib, method, batch_size

    def process(self, kv):
        _, g = kv
        batches = [b for b in g["docs"] if b.num_rows]
        if not batches:
            return
        removals = dict(g["removals"])
        absorbed = dict(g["absorbed"])
        # one sorted table per join shard: batch boundaries (and so everything downstream)
        # do not depend on the order the shuffle delivered the pieces in
        table = pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="default")
        table = table.sort_by("id").combine_chunks()
        for b in table.to_batches(max_chunksize=self.batch_size):
            kept, ledger = self.lib.apply(b, removals, absorbed, self.method)
            yield from emit("dedup", kept, ledger)


class DedupPass(beam.PTransform):
    def __init__(self, lib: DedupLib, method: str, join_shards: int, batch_size: int):
        super().__init__(label=method)
        self.lib, self.method, self.j, self.batch_size = lib, method, join_shards, batch_size

    def expand(self, docs):
        lib, method, j = self.lib, self.method, self.j
        removals = (
            docs
            | "Entries" >> beam.FlatMap(lambda b: lib.entries(b, method))
            | "Buckets" >> beam.GroupByKey()
            | "Edges" >> beam.FlatMap(lambda kv: [(e.dup_id, e) for e in lib.edges(kv[1], method)])
            | "BestEdge" >> beam.CombinePerKey(lambda es: min(es, key=lambda e: e.kept_priority))
        )
        absorbed = (
            removals
            | "KeptSize" >> beam.Map(lambda kv: (kv[1].kept_id, kv[1].dup_size))
            | "Absorbed" >> beam.CombinePerKey(sum)
        )
        joined = {
            "docs": docs | "DocsByShard" >> beam.FlatMap(lambda b: output.split_by_shard(b, "id", j)),
            "removals": removals | "RemovalsByShard" >> beam.Map(lambda kv: (_shard_of(kv[0], j), kv)),
            "absorbed": absorbed | "AbsorbedByShard" >> beam.Map(lambda kv: (_shard_of(kv[0], j), kv)),
        } | "Join" >> beam.CoGroupByKey()
        out = joined | "Apply" >> beam.ParDo(_Apply(lib, method, self.batch_size)).with_outputs("ledger", main="docs")
        return {"docs": out.docs, "ledger": out.ledger}


class Dedup(beam.PTransform):
    """Exact then MinHash near-duplicate removal (the methods configured)."""

    def __init__(self, section: dict, cfg=None, root=None):
        super().__init__(label="dedup")
        self.lib = DedupLib(section)
        shards = cfg.run["shards"] if cfg else 4
        self.join_shards = self.lib.join_shards or max(16, 4 * shards)
        self.batch_size = cfg.limits["batch_size"] if cfg else 1000

    def expand(self, docs):
        ledgers = []
        for method in self.lib.methods:
            res = docs | f"Pass/{method}" >> DedupPass(self.lib, method, self.join_shards, self.batch_size)
            docs = res["docs"]
            ledgers.append(res["ledger"])
        return {"docs": docs, "ledger": ledgers | "Ledgers" >> beam.Flatten()}
