"""The `dedup` stage's configuration and its per-step functions (the Beam wiring is in
pipelines/dedup.py; nothing here imports Beam).

Two passes, each a shuffle: `exact` (128-bit key of the normalised text) then `minhash`
(LSH band keys). The exact pass is cheap and leaves one copy per identical group, so the
MinHash pass sees far fewer members in its hottest buckets; its `dup_group_size` carries
over, so a MinHash survivor counts the exact copies it stands for too.
"""
from __future__ import annotations

from dataclasses import asdict

import pyarrow as pa

from curate.dedup import cluster
from curate.dedup.minhash import SCHEMES, MinHashConfig, sig_dtype
from curate.dedup.normalize import NormalizeConfig

METHODS = ("exact", "minhash")
RULES = {"exact": "exact_duplicate", "minhash": "near_duplicate"}


class Dedup:
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
        "max_centers": 4,
        "source_ranks": [],  # source names, most trusted first: breaks quality/length ties
        "join_shards": 0,  # shards of the id join that applies removals; 0 = 4 x run.shards (min 16)
        "normalize": asdict(NormalizeConfig()),
    }

    def __init__(self, cfg: dict):
        c = {**self.DEFAULTS, **cfg}
        bad = [m for m in c["methods"] if m not in METHODS]
        if bad or not c["methods"]:
            raise ValueError(f"methods: {bad or c['methods']!r}; allowed: a non-empty list of {', '.join(METHODS)}")
        if c["scheme"] not in SCHEMES:
            raise ValueError(f"scheme: {c['scheme']!r} is not one of {', '.join(SCHEMES)}")
        if not 0 <= c["verify"] <= 1 or not 0 <= c["threshold"] < 1:
            raise ValueError("verify and threshold must lie in [0, 1)")
        norm = NormalizeConfig(**c["normalize"])
        common = dict(num_perm=c["num_perm"], ngram=c["ngram"], seed=c["seed"], scheme=c["scheme"], normalize=norm)
        if c["threshold"] > 0:
            self.minhash = MinHashConfig.for_threshold(c["threshold"], **common)
        else:
            self.minhash = MinHashConfig(bands=c["bands"], rows=c["rows"], **common)
        self.methods = [m for m in METHODS if m in c["methods"]]  # always exact first
        self.normalize = norm
        self.verify = c["verify"] or None
        self.max_centers = c["max_centers"]
        self.ranks = {s: i for i, s in enumerate(c["source_ranks"])}
        self.join_shards = c["join_shards"]

    def setup(self):
        pass

    def entries(self, batch: pa.RecordBatch, method: str):
        """(bucket key, Member) pairs: what the bucket shuffle groups."""
        if method == "exact":
            return cluster.exact_entries(batch, self.normalize, self.ranks)
        out = cluster.minhash_entries(batch, self.minhash, self.ranks)
        # signatures only serve verification: without it, do not shuffle them; with it, ship
        # raw bytes (one conversion per document, shared by its band entries)
        slim = {}
        for _, m in out:
            if id(m) not in slim:
                slim[id(m)] = m._replace(signature=None if self.verify is None else m.signature.tobytes())
        return [(k, slim[id(m)]) for k, m in out]

    def edges(self, bucket, method: str):
        threshold = self.verify if method == "minhash" else None
        return cluster.bucket_edges(bucket, threshold, self.max_centers, sig_dtype(self.minhash.scheme))

    def apply(self, batch: pa.RecordBatch, removals: dict, absorbed: dict, method: str):
        threshold = self.verify if method == "minhash" else None
        return cluster.apply_dedup(batch, removals, absorbed, rule=RULES[method], threshold=threshold)
