"""Exact and MinHash near-duplicate removal (pure library: numpy + Arrow, no Beam).

normalize  text folding shared by both methods (import the functions from the submodule:
           ``from curate.dedup.normalize import normalize``)
exact      128-bit keys of normalised text
minhash    batch signatures, LSH band keys, (bands, rows) from a threshold
cluster    survivor choice: bucket_edges (per shuffle bucket) -> best_edge (per document)
           -> apply_dedup (per batch); dedup_inprocess / dedup_reference for tests
"""
from .cluster import (
    Edge,
    Member,
    apply_dedup,
    batch_priorities,
    best_edge,
    bucket_edges,
    dedup_inprocess,
    dedup_reference,
    exact_entries,
    group_sizes,
    members,
    minhash_entries,
    priority_key,
)
from .exact import exact_keys, keys_from_normalized
from .minhash import MinHashConfig, band_keys, batch_signatures, jaccard_estimate, optimal_bands, signatures
from .normalize import NormalizeConfig

__all__ = [
    "Edge",
    "Member",
    "MinHashConfig",
    "NormalizeConfig",
    "apply_dedup",
    "band_keys",
    "batch_priorities",
    "batch_signatures",
    "best_edge",
    "bucket_edges",
    "dedup_inprocess",
    "dedup_reference",
    "exact_entries",
    "exact_keys",
    "group_sizes",
    "jaccard_estimate",
    "keys_from_normalized",
    "members",
    "minhash_entries",
    "optimal_bands",
    "priority_key",
    "signatures",
]
