"""MinHash signature throughput: curate.dedup.minhash vs datasketch, one core.

    python bench/bench_minhash.py [--docs 2000] [--num-perm 112] [--scheme affine32] [--reps 3]

Both sides get the same documents, already normalised. datasketch gets what it needs
prepared outside the timing (each document's 5-gram shingles as bytes) and is timed the
way it is normally used: ``MinHash(num_perm, seed, scheme)`` + ``update_batch(shingles)`` per
document, its default hash function (SHA-1). Ours is timed from the normalised text (it
also tokenises, shingles and hashes), so a second datasketch row includes the Python
shingling a datasketch user needs too. Times are CPU seconds of this process (less sensitive
to other load than wall time); the machine may be shared, so both sides run alternately on
slices of 200 documents, best of ``--reps`` per slice, summed. The process is pinned to one
CPU and Arrow to one thread.
"""
from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from groundtruth import CORPORA, chunks, read_text  # noqa: E402

from curate.dedup import minhash  # noqa: E402
from curate.dedup.normalize import normalize  # noqa: E402


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
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--num-perm", type=int, default=112)
    ap.add_argument("--scheme", default="affine32", choices=minhash.SCHEMES)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    from datasketch import MinHash

    raw = load_docs(args.docs)
    mb = sum(len(t.encode("utf-8")) for t in raw) / 1e6
    t0 = time.process_time()
    norm = normalize(raw)
    t_norm = time.process_time() - t0
    texts = norm.to_pylist()
    shingles = [minhash.shingles(t) for t in texts]
    n_sh = sum(map(len, shingles))
    print(f"{len(raw)} docs, {mb:.1f} MB raw, {n_sh} shingles; num_perm {args.num_perm}, scheme {args.scheme}")
    print(f"normalize: {t_norm:.3f}s ({mb / t_norm:.1f} MB/s)")

    # The machine may be shared: time slices of ~200 documents, each side alternately,
    # best of --reps per slice, and add the slices up.
    slices = [slice(i, i + 200) for i in range(0, len(raw), 200)]
    t_ours = t_ds = t_ds_e2e = 0.0
    for sl in slices:
        part, part_sh, part_txt = norm[sl], shingles[sl], texts[sl]

        def ours():
            minhash.signatures(part, args.num_perm, scheme=args.scheme)

        def theirs():
            for s in part_sh:
                m = MinHash(num_perm=args.num_perm, seed=1, scheme=args.scheme)
                m.update_batch(s)

        def theirs_e2e():  # the same, shingling in Python as a datasketch user must
            for t in part_txt:
                m = MinHash(num_perm=args.num_perm, seed=1, scheme=args.scheme)
                m.update_batch(minhash.shingles(t))

        best_o = best_d = best_e = float("inf")
        for _ in range(args.reps):
            best_o = min(best_o, cpu_best(ours, 1))
            best_d = min(best_d, cpu_best(theirs, 1))
            best_e = min(best_e, cpu_best(theirs_e2e, 1))
        t_ours += best_o
        t_ds += best_d
        t_ds_e2e += best_e

    def ours():
        return minhash.signatures(norm, args.num_perm, scheme=args.scheme)

    t_whole = cpu_best(ours, args.reps)
    tracemalloc.start()
    ours()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    sig_mb = len(raw) * args.num_perm * minhash.sig_dtype(args.scheme)().nbytes / 2**20
    rows = (("curate", t_ours), ("datasketch update_batch", t_ds), ("datasketch + shingling", t_ds_e2e))
    for name, t in rows:
        print(f"{name:>23}: {t:7.3f}s {len(raw) / t:8.0f} docs/s {mb / t:7.2f} MB/s {t / n_sh * 1e9:6.0f} ns/shingle")
    print(f"speedup vs update_batch: {t_ds / t_ours:.1f}x; vs shingling + update_batch: {t_ds_e2e / t_ours:.1f}x")
    print(f"curate on all {len(raw)} docs in one call (as the pipeline does): {t_whole:.3f}s, "
          f"{t_ds / t_whole:.1f}x / {t_ds_e2e / t_whole:.1f}x")
    print(f"peak traced memory in signatures(): {peak:.1f} MiB (of which the signatures: {sig_mb:.1f} MiB); "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
