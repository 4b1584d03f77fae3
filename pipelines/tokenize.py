r"""Tokenize as Beam: encode each selected document once, write every copy to DIR/tokens/.

    docs --Encode--> docs (num_tokens) ---------------------------------------> text/
              \--> (shard, rows) per copy --GroupByKey--> sort by hash, write shard
                                                            --ToList--> tokens.json --> stats
The stats wait for the tokens manifest, and the run's manifest waits for the stats: a finished
run always has a finished tokens/ directory.
"""
from __future__ import annotations

import hashlib
import json

import apache_beam as beam

from curate import output
from curate.config import NOT_CONTENT, content, files_from_here
from curate.stages import tokenize as lib
from pipelines.common import StageContext
from pipelines.meter import measure
from pipelines.spill import ByKey, Loaded




def content_hash(config: dict) -> str:
    """sha256 of the config (Config.to_dict) without where and how verbosely it was written: the
    same job run into another directory (or on another runner) has the same tokens/ directory,
    manifest included."""
    d = content(config)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


class _EncodeFn(beam.DoFn):
    def __init__(self, section: dict, shards: int, spill):
        self.section, self.shards, self.spill = section, shards, spill

    def setup(self):
        self.stage = lib.TokenizeStage(self.section).setup()

    def process(self, batch):
        docs, ids = self.stage.encode(batch)
        yield docs
        for rows in self.spill.by_key(lib.token_rows(docs, ids, self.section["seed"], self.shards)):
            yield beam.pvalue.TaggedOutput("rows", rows)

    def teardown(self):
        if getattr(self, "stage", None) and self.stage.encoder:
            self.stage.encoder.close()


class _WriteShardFn(beam.DoFn):
    def __init__(self, root: str, n: int, section: dict):
        self.root, self.n, self.section = root, n, section

    def process(self, element):
        i, pieces = element
        c = self.section
        yield lib.write_shard(self.root, i, self.n, [b for b in Loaded(pieces) if b is not None], c["packed"], c["seq_len"])


class Tokenize(beam.PTransform):
    def __init__(self, section: dict, context: StageContext):
        super().__init__(label=context.name)
        self.section = c = lib.TokenizeStage(section).cfg
        enc = lib.Encoder(c["tokenizer"], c["eos"], c["eos_id"], 1)  # EOS errors now, not on a worker
        self.info = enc.info()  # its name as the config spells it (tokens.json)
        self.encoding = files_from_here("tokenize", c)  # what the workers encode with: the file this directory names
        self.shards = self.section["shards"] or context.run["shards"]
        self.root = context.root
        self.spill = context.spiller("rows")
        self.context = context
        rebalance = context.peers["rebalance"] if "rebalance" in context.run["stages"] else None
        self.targets = rebalance["targets"] if rebalance else None
        self.extra = {"config_hash": content_hash(context.config), "config_hash_excludes": list(NOT_CONTENT)}
        if rebalance and rebalance.get("budget"):  # the tokens line sets the total beside the budget asked
            self.extra["budget"] = {"tokens": int(rebalance["budget"]), "tolerance": float(rebalance.get("tolerance", 0.05))}

    def expand(self, docs):
        c, n, root = self.section, self.shards, self.root
        enc = docs | "Encode" >> beam.ParDo(self.context.pooled(_EncodeFn(self.encoding, n, self.spill))).with_outputs("rows", main="docs")
        entries = (
            measure(enc.rows, "tokenize.rows")
            | "ByShard" >> ByKey(n, self.spill, every=True)
            | "WriteShard" >> beam.ParDo(self.context.pooled(_WriteShardFn(root, n, c)))
        )
        info, targets, extra = self.info, self.targets, self.extra

        def write_manifest(entries):
            m = lib.manifest(entries, info, c, targets, **extra)
            output.write_atomic(root, lib.MANIFEST, output.json_bytes(m))
            stats = {"tokenize.tokens": m["tokens"]["total"], "tokenize.token_rows": sum(e["rows"] for e in entries)}
            stats.update({f"tokenize.tokens.{d}": v for d, v in m["tokens"]["per_domain"].items()})
            return stats

        stats = entries | "AllEntries" >> beam.combiners.ToList() | "WriteManifest" >> beam.Map(write_manifest)
        ledger = docs.pipeline | "NoLedger" >> beam.Create([])
        return {"docs": enc.docs, "ledger": ledger, "stats": stats}
