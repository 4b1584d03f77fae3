"""MinHash signature throughput: curate.stages.dedup.minhash vs datasketch, one core.

    python bench/bench_minhash.py [--docs 1000] [--num-perm 112] [--scheme affine32] [--reps 3]

Both sides get the same documents, already normalised, and three comparisons are timed:

1. same shingle hash, from precomputed hashes (like for like: the permutation work only):
   datasketch ``MinHash(num_perm, seed, scheme, hashfunc=identity).update_batch(hashes)`` with
   each document's ``shingle_hash32`` values, against curate's compiled permutation kernel on
   the same values (and, as a second curate row, curate from the normalised text: tokenising,
   shingling and hashing included);
2. same shingle hash, from shingle bytes: datasketch with ``hashfunc=shingle_hash32`` (a
   Python function, called per shingle) against curate from the normalised text;
3. each with its default: datasketch's SHA-1 ``sha1_hash32`` on shingle bytes against curate
   from the normalised text (different hash functions: the signatures differ).

Signatures are checked equal, document by document, for configurations 1 and 2 before
anything is timed. Shingle lists and hash lists are prepared outside the timing. Times are
CPU seconds of this process (less sensitive to other load than wall time); the machine may be
shared, so the sides run alternately on slices of 200 documents, best of ``--reps`` per slice,
summed. The process is pinned to one CPU and Arrow to one thread.
"""
from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundtruth import CORPORA, chunks, read_text  # noqa: E402
from memory import peak_rss_mb  # noqa: E402

from curate.stages.dedup import minhash  # noqa: E402
from curate.stages.dedup.normalize import normalize  # noqa: E402


def load_docs(n: int, seed: int = 0) -> list[str]:
    """A mix: Common Crawl pages, book chunks, speech chunks, WikiText articles."""
    pool = []
    with gzip.open(CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        pool += [json.loads(line)["text"] for line in f if line.strip()]
    for pattern in ("books/gutenberg_nltk/*.txt", "books/gutenberg_misc/*.txt", "misc_public_domain/*/*.txt",
                    "quality/wikitext2_tokenized/*.txt"):
        for p in sorted(CORPORA.glob(pattern)):
            pool += chunks(read_text(p))
    return random.Random(seed).sample(pool, min(n, len(pool)))


def cpu_best(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--num-perm", type=int, default=112)
    ap.add_argument("--scheme", default="affine32", choices=minhash.SCHEMES)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    from datasketch import MinHash
    from datasketch.hashfunc import sha1_hash32

    k, seed = args.num_perm, 1
    raw = load_docs(args.docs)
    mb = sum(len(t.encode("utf-8")) for t in raw) / 1e6
    t0 = time.process_time()
    norm = normalize(raw)
    t_norm = time.process_time() - t0
    texts = norm.to_pylist()
    shingles = [minhash.shingles(t) for t in texts]
    h64, off = minhash.shingle_hashes(norm)
    h32 = minhash.fmix32_inverse((h64 >> np.uint64(32)).astype(np.uint32))  # = shingle_hash32, vectorised
    hashes = [h32[off[i] : off[i + 1]].tolist() for i in range(len(texts))]
    n_sh = len(h64)
    print(f"{len(raw)} docs, {mb:.1f} MB raw, {n_sh} shingles; num_perm {k}, scheme {args.scheme}")
    print(f"normalize: {t_norm:.3f}s ({mb / t_norm:.1f} MB/s)")

    def ds(items, hashfunc):
        m = MinHash(num_perm=k, seed=seed, scheme=args.scheme, hashfunc=hashfunc)
        m.update_batch(items)
        return m.hashvalues

    def identity(h):
        return h

    # Equality, document by document, for the configurations compared like for like.
    ours_sigs = minhash.signatures(norm, k, seed, scheme=args.scheme)
    assert hashes[0][:50] == [minhash.shingle_hash32(x) for x in shingles[0][:50]]
    eq_hashes = all(np.array_equal(ours_sigs[i], ds(hashes[i], identity)) for i in range(len(texts)) if hashes[i])
    eq_bytes = all(np.array_equal(ours_sigs[i], ds(shingles[i], minhash.shingle_hash32)) for i in range(len(texts)) if hashes[i])
    print(f"signatures equal to datasketch on all {len(texts)} docs: from the same hashes {eq_hashes}, "
          f"with hashfunc=shingle_hash32 {eq_bytes}")
    assert eq_hashes and eq_bytes
    a, b = minhash.permutations(k, seed, args.scheme)

    slices = [slice(i, min(i + 200, len(raw))) for i in range(0, len(raw), 200)]  # the last one within the corpus
    cases = {}

    def kernel(sl):  # curate's permutation kernel on precomputed input hashes
        lo, hi = off[sl.start : sl.stop], off[sl.start + 1 : sl.stop + 1]
        live = np.flatnonzero(hi > lo)
        hv = minhash._scheme_input(h32[lo[0] : hi[-1]].astype(np.uint64), args.scheme, True)
        sigs = np.full((len(lo), k), minhash.empty_value(args.scheme), dtype=minhash.sig_dtype(args.scheme))
        minhash._permute_min(hv, (lo - lo[0])[live], (hi - lo[0])[live], live, a, b, args.scheme, sigs)

    cases["curate kernel, same hashes"] = lambda sl: kernel(sl)
    cases["datasketch, same hashes"] = lambda sl: [ds(h, identity) for h in hashes[sl]]
    cases["curate from text"] = lambda sl: minhash.signatures(norm[sl], k, seed, scheme=args.scheme)
    cases["datasketch, shingle_hash32"] = lambda sl: [ds(s, minhash.shingle_hash32) for s in shingles[sl]]
    cases["datasketch, default sha1"] = lambda sl: [ds(s, sha1_hash32) for s in shingles[sl]]
    for fn in cases.values():  # compile and warm up
        fn(slices[0])
    totals = dict.fromkeys(cases, 0.0)
    for sl in slices:
        best = dict.fromkeys(cases, float("inf"))
        for _ in range(args.reps):
            for name, fn in cases.items():
                best[name] = min(best[name], cpu_best(lambda: fn(sl), 1))
        for name in cases:
            totals[name] += best[name]
    for name, t in totals.items():
        print(f"{name:>28}: {t:7.3f}s {len(raw) / t:8.0f} docs/s {mb / t:7.2f} MB/s {t / n_sh * 1e9:6.0f} ns/shingle")
    T = totals
    print(f"1. same hashes, permutations only: datasketch / curate kernel = "
          f"{T['datasketch, same hashes'] / T['curate kernel, same hashes']:.1f}x "
          f"(/ curate from text, hashing included: {T['datasketch, same hashes'] / T['curate from text']:.1f}x); signatures equal")
    print(f"2. same hash, from shingle bytes: datasketch(hashfunc=shingle_hash32) / curate from text = "
          f"{T['datasketch, shingle_hash32'] / T['curate from text']:.1f}x; signatures equal")
    print(f"3. each with its default hash: datasketch(sha1) / curate from text = "
          f"{T['datasketch, default sha1'] / T['curate from text']:.1f}x (different hashes: signatures differ)")

    def whole():
        return minhash.signatures(norm, k, seed, scheme=args.scheme)

    t_whole = cpu_best(whole, args.reps)
    tracemalloc.start()
    whole()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    sig_mb = len(raw) * k * minhash.sig_dtype(args.scheme)().nbytes / 2**20
    print(f"curate on all {len(raw)} docs in one call (as the pipeline does): {t_whole:.3f}s")
    print(f"peak traced memory in signatures(): {peak:.1f} MiB (of which the signatures: {sig_mb:.1f} MiB); "
          f"process peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
