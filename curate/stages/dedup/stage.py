"""The `dedup` stage's configuration and its per-step functions (the Beam wiring is in
pipelines/dedup.py; nothing here imports Beam).

One shuffle for both methods: every document's entries are its `exact` key (128-bit hash of
the normalised text) and its `minhash` band keys, from one normalisation. Exact and band
buckets never mix; a document removed through both reports the exact match. One pass, not
an exact pass then a MinHash pass, halves the document joins (the biggest shuffle after
ingest) and the normalisation; exact copies do reach the band buckets, where the star
resolves them in O(n) (and their signatures are equal, so verification passes).
"""
from __future__ import annotations

from dataclasses import asdict

import pyarrow as pa

from curate import schema
from curate.config import Check, check_values
from curate.stages.dedup import cluster
from curate.stages.dedup.minhash import SCHEMES, MinHashConfig
from curate.stages.dedup.normalize import NormalizeConfig

METHODS = ("exact", "minhash")


class DedupStage:
    name = "dedup"
    DEFAULTS = {
        "methods": ["exact", "minhash"],
        "num_perm": 112,
        "bands": 14,  # bands x rows = 112: the FineWeb setting
        "rows": 8,
        "threshold": 0.0,  # > 0: derive bands x rows for this Jaccard threshold instead
        "ngram": 5,
        "seed": 1,
        "scheme": "affine32",  # datasketch 2.0's default; "legacy" = (a*h+b) mod 2^61-1
        "verify": 0.75,  # remove only when the estimated Jaccard with the kept copy reaches this; 0 = off
        "verify_bits": 16,  # signature bits shuffled for verification: 8, 16 or 32 (b-bit MinHash)
        "max_centers": 4,
        "source_ranks": [],  # source names, most trusted first: breaks quality/length ties
        "join_shards": 0,  # shards of the id join that applies removals; 0 = output.id_partitions(run.shards)
        "bucket_shards": 0,  # shards of the bucket shuffle (entries grouped by key); 0 = join_shards
        # a bucket of more members than this is compared in passes, not in one process (hot.py); 0 = never.
        # Found by a fixed-size summary of each bucket shard's keys: ~4 KB a shard (docs/scale.md)
        "hot_bucket": 50_000,
        # Chinese/Japanese: character shingles; punct_space is set per domain by punct_splits
        "normalize": {k: v for k, v in asdict(NormalizeConfig(split_cjk=True)).items() if k != "punct_space"},
        # Domains whose punctuation separates words (a space) instead of being deleted: in code
        # `f(a,b)` and `f(a, b)` are the same words, as StarCoder's near-dedup tokenises code.
        "punct_splits": ["code"],
    }
    CHECKS = {
        "scheme": Check(choices=SCHEMES),
        "verify": Check(min=0, max=1),
        "threshold": Check(min=0, below=1),
        "verify_bits": Check(choices=cluster.BITS),
        "punct_splits": Check(choices=schema.DOMAINS),  # a misspelt domain would match no document
        "hot_bucket": Check(min=0, expected="an integer >= 0 (members; 0: no bucket is hot)"),
        **{k: Check(min=1) for k in ("num_perm", "bands", "rows", "ngram")},
    }

    def __init__(self, cfg: dict):
        c = {**self.DEFAULTS, **cfg}
        bad = [m for m in c["methods"] if m not in METHODS]
        if bad or not c["methods"]:
            raise ValueError(f"methods: {bad or c['methods']!r}; allowed: a non-empty list of {', '.join(METHODS)}")
        check_values("dedup", c, self.CHECKS)
        norm = NormalizeConfig(**c["normalize"])
        common = dict(num_perm=c["num_perm"], ngram=c["ngram"], seed=c["seed"], scheme=c["scheme"], normalize=norm)
        if c["threshold"] > 0:
            self.minhash = MinHashConfig.for_threshold(c["threshold"], **common)
        elif c["bands"] * c["rows"] > c["num_perm"]:  # MinHashConfig's own error named no key
            raise ValueError(f"bands x rows = {c['bands']} x {c['rows']} = {c['bands'] * c['rows']} is more than num_perm = "
                             f"{c['num_perm']}: lower dedup.bands or dedup.rows, or raise dedup.num_perm")
        else:
            self.minhash = MinHashConfig(bands=c["bands"], rows=c["rows"], **common)
        self.methods = [m for m in METHODS if m in c["methods"]]  # always exact first
        self.verify = c["verify"] or None
        self.max_centers = c["max_centers"]
        self.ranks = {s: i for i, s in enumerate(c["source_ranks"])}
        self.bits = c["verify_bits"]
        self.join_shards = c["join_shards"]
        self.bucket_shards = c["bucket_shards"]
        self.hot_bucket = c["hot_bucket"]
        self.punct_splits = tuple(c["punct_splits"])

    def setup(self):
        pass

    def warm_up(self):
        """The shingle kernel, loaded once a process (a pool's workers inherit it: see pipelines/pool.py)."""
        if "minhash" in self.methods:
            from curate.stages.dedup import minhash

            minhash.shingle_hashes(pa.array(["a b c d e f"]))

    def entries(self, batch: pa.RecordBatch) -> pa.Table:
        """The entry table of a batch: what the bucket shuffle groups (by its ``key``)."""
        bits = self.bits if self.verify is not None and "minhash" in self.methods else None
        return cluster.dedup_entries(batch, self.methods, self.minhash, self.ranks, bits, self.punct_splits)

    def star(self) -> tuple:
        """(threshold, max_centers, bits): the star policy's settings, for ``bucket_edges`` and
        the hot buckets' passes (hot.py)."""
        return self.verify if "minhash" in self.methods else None, self.max_centers, self.bits

    def edges(self, entries: pa.Table) -> pa.Table:
        return cluster.bucket_edges(entries, *self.star())

    def apply(self, batch: pa.RecordBatch, removals: pa.Table, absorbed: pa.Table):
        threshold = self.verify if "minhash" in self.methods else None
        return cluster.apply_dedup(batch, removals, absorbed, threshold=threshold)
