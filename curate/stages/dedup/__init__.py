"""Exact and MinHash near-duplicate removal (pure library: numpy + Arrow, no Beam).

normalize  text folding shared by both methods (import the functions from the submodule:
           ``from curate.stages.dedup.normalize import normalize``)
exact      128-bit keys of normalised text
minhash    batch signatures, LSH band keys, (bands, rows) from a threshold
cluster    survivor choice on Arrow entry tables: partition (bucket shards) -> bucket_edges
           (per shard) -> best_edges (per removed document) -> absorbed -> apply_dedup (per
           batch); dedup_inprocess / dedup_reference for tests
hot        bucket_edges' star for buckets too big for one process, in passes over pieces
"""
import os as _os

from curate.stages.numba_cache import use_a_writable_cache

use_a_writable_cache(_os.path.dirname(__file__))  # before minhash's kernels are compiled

from .cluster import (  # noqa: E402
    absorbed,
    apply_dedup,
    batch_priorities,
    best_edges,
    bucket_edges,
    dedup_inprocess,
    dedup_reference,
    entries,
    exact_entries,
    minhash_entries,
    partition,
    priority_columns,
    priority_key,
    removal_map,
    signature_bytes,
)
from .exact import exact_keys, keys_from_normalized
from .minhash import MinHashConfig, band_keys, batch_signatures, jaccard_estimate, optimal_bands, signatures
from .normalize import NormalizeConfig

__all__ = [
    "MinHashConfig",
    "NormalizeConfig",
    "absorbed",
    "apply_dedup",
    "band_keys",
    "batch_priorities",
    "batch_signatures",
    "best_edges",
    "bucket_edges",
    "dedup_inprocess",
    "dedup_reference",
    "entries",
    "exact_entries",
    "exact_keys",
    "jaccard_estimate",
    "keys_from_normalized",
    "minhash_entries",
    "optimal_bands",
    "partition",
    "priority_columns",
    "priority_key",
    "removal_map",
    "signature_bytes",
    "signatures",
]
