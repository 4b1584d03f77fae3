"""Line dedup throughput: the stage's three steps (line rows, frequent rows per hash shard,
apply per batch) in one process, against a plain-Python implementation measured in the same
run, on the shared Dolma CC documents repeated to --mb megabytes (each copy's lines made
distinct with a copy number, so the repeats do not all become boilerplate).

    python bench/bench_linededup.py [--mb 20] [--repeat 3]

The baseline does the same work the fastest plain way: each line normalised once with the same
definition as the stage (bench/jaccard_truth.py's ``words``: NFKC, lowercase, punctuation and
symbols removed, digits folded; written without curate code), a Counter of each document's
distinct lines, then a filter. Both sides must remove the same characters. Times are CPU
seconds, Arrow on one thread, the two sides interleaved, best of ``--repeat`` (the machine may
be shared).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
sys.path.insert(0, str(REPO / "bench"))

import jaccard_truth as jt  # noqa: E402  (the baseline's normalisation: no curate code)


def tag(k: int) -> str:
    """A letters-only copy tag (digits fold in the normalisation)."""
    return "".join("abcdefghij"[int(c)] for c in str(k))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--max-docs", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from curate.stages.dedup import cluster
    from curate.stages.linededup import LineDedupStage
    from curate.schema import docs_from_rows

    with gzip.open(CORPORA / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        base = [json.loads(x)["text"] for x in f]
    texts, size, k = [], 0, 0
    while size < args.mb * 1e6:
        for t in base:  # one copy per k; a line shared by pages stays shared within the copy
            texts.append("\n".join(f"{x} {tag(k)}" if x.strip() else x for x in t.split("\n")))
            size += len(texts[-1].encode())
        k += 1
    mb = size / 1e6
    batches = [docs_from_rows([{"id": f"{i + j:016x}", "text": t, "domain": "web", "source": "s", "path": "p", "offset": 0}
                               for j, t in enumerate(texts[i : i + 1000])]) for i in range(0, len(texts), 1000)]
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    lib = LineDedupStage({"max_docs": args.max_docs, "min_words": 0, "min_chars": 0})
    lib.apply(batches[0], lib.frequent_rows(lib.line_rows(batches[0])))  # warm up

    def stage():
        t0 = time.process_time()
        rows = cluster.concat([lib.line_rows(b) for b in batches])
        t1 = time.process_time()
        frequent = lib.frequent_rows(rows)
        t2 = time.process_time()
        removed = sum(lib.apply(b, frequent)[2]["linededup.chars_removed"] for b in batches)
        t3 = time.process_time()
        return (t3 - t0, t1 - t0, t2 - t1, t3 - t2), removed, rows.num_rows

    def baseline():
        t0 = time.process_time()
        docs = [[(x, " ".join(jt.words(x))) for x in t.split("\n")] for t in texts]
        count = Counter(n for d in docs for n in {n for _, n in d} if n.strip("0 "))
        out = ["\n".join(x for x, n in d if count.get(n, 0) <= args.max_docs) for d in docs]
        return time.process_time() - t0, sum(map(len, texts)) - sum(map(len, out))

    best_stage, best_base = None, None
    for _ in range(args.repeat):
        s = stage()
        b = baseline()
        best_stage = s if best_stage is None or s[0][0] < best_stage[0][0] else best_stage
        best_base = b if best_base is None or b[0] < best_base[0] else best_base
    (total, t_rows, t_freq, t_apply), removed, n_rows = best_stage
    base_s, base_removed = best_base
    print(f"{len(texts):,} documents, {mb:.1f} MB, {n_rows:,} (hash, id) rows; CPU seconds, best of {args.repeat}")
    print(f"stage: {mb / total:6.1f} MB/s (line rows {t_rows:.2f} s, frequent {t_freq:.2f} s, apply {t_apply:.2f} s); "
          f"removed {removed:,} characters")
    print(f"baseline (plain Python, each line normalised once, Counter): {mb / base_s:6.1f} MB/s; "
          f"removed {base_removed:,} characters")
    print(f"stage / baseline speed: {base_s / total:.2f}x")
    assert removed == base_removed, "the stage and the baseline removed different characters"


if __name__ == "__main__":
    main()
