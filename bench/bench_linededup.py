"""Line dedup throughput: the stage's three steps (line rows, frequent rows per hash shard,
apply per batch) in one process, against a textbook plain-Python implementation (lower-cased,
punctuation-stripped lines in a Counter, then a filter) measured in the same run, on the
shared Dolma CC documents repeated to --mb megabytes (each copy's lines made distinct with
a copy number, so the repeats do not all become boilerplate).

    python bench/bench_linededup.py [--mb 20]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def tag(k: int) -> str:
    """A letters-only copy tag (digits fold in the normalisation)."""
    return "".join("abcdefghij"[int(c)] for c in str(k))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--max-docs", type=int, default=5)
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
    lib = LineDedupStage({"max_docs": args.max_docs, "min_words": 0, "min_chars": 0})
    lib.apply(batches[0], lib.frequent_rows(lib.line_rows(batches[0])))  # warm up
    t0 = time.perf_counter()
    rows = cluster.concat([lib.line_rows(b) for b in batches])
    t1 = time.perf_counter()
    frequent = lib.frequent_rows(rows)
    t2 = time.perf_counter()
    removed = sum(lib.apply(b, frequent)[2]["linededup.chars_removed"] for b in batches)
    t3 = time.perf_counter()
    stage = t3 - t0
    print(f"{len(texts):,} documents, {mb:.1f} MB, {rows.num_rows:,} (hash, id) rows")
    print(f"stage: {mb / stage:6.1f} MB/s (line rows {t1 - t0:.2f} s, frequent {t2 - t1:.2f} s, apply {t3 - t2:.2f} s); "
          f"removed {removed:,} characters")

    punct = re.compile(r"[^\w\s]|_")
    digits = re.compile(r"\d+")

    def norm(line):
        return " ".join(digits.sub("0", punct.sub("", line.lower())).split())

    t0 = time.perf_counter()
    count = Counter(n for t in texts for n in {norm(x) for x in t.split("\n")} if n.strip("0 "))
    out = ["\n".join(x for x in t.split("\n") if count.get(norm(x), 0) <= args.max_docs) for t in texts]
    base_s = time.perf_counter() - t0
    print(f"baseline (plain Python, Counter of normalised lines): {mb / base_s:6.1f} MB/s; "
          f"removed {sum(map(len, texts)) - sum(map(len, out)):,} characters (its normalisation is ASCII-only)")
    print(f"ratio stage/baseline: {base_s / stage:.2f}x")


if __name__ == "__main__":
    main()
