"""What the launching process holds for the runner, per document: many short documents, many shards.

    python bench/bench_held.py [--docs 200000] [--shards 64] [--json FILE]

Generates ``--docs`` short web documents (~500 B each, the demo's grammar, 10% exact copies
of earlier ones) and runs every default stage on them with ``run.shards`` = ``--shards`` (64,
as bench_datapath.py's 16x), once, in this process. Counts the encoded bytes the runner hands
each transform (``fn_runner.BundleManager._send_input_to_worker``: every grouped collection,
side input and fused-stage input the DirectRunner holds in the launching process, as
tests/test_datapath.py does) and keeps for side inputs (``StateServicer.append_raw``) per
document, largest first, and reports the process's peak RSS, the transform last handed its
input when the peak was reached (sampled every 50 ms), the RSS when the transforms that
saw the most were handed theirs, and the peak of the PSS of this process and its forked worker
processes summed (sampled every 0.1 s; a worker's RSS would count the pages it shares with
this process, bench/memory.py).
What is held grows with documents, or with the pieces of spilled files that cross a shuffle
(docs/scale.md §1a, Memory); what grows with their text is spilled.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from memory import PeakMemory, peak_rss_mb  # noqa: E402


def corpus(path: Path, n: int, seed: int = 11) -> int:
    from curate import demo

    rng = random.Random(seed)
    texts: list = []
    nbytes = 0
    with gzip.open(path, "wt", compresslevel=1) as f:
        for i in range(n):
            t = rng.choice(texts) if texts and rng.random() < 0.1 else demo.paragraph(rng, 5)
            if len(texts) < 5000:
                texts.append(t)
            nbytes += len(t.encode())
            f.write(json.dumps({"id": f"d{i}", "text": t}) + "\n")
    return nbytes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--workers", type=int, default=0, help="run.workers (0: one per core)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    from apache_beam.runners.portability.fn_api_runner import fn_runner, worker_handlers

    from curate import cli

    held: dict = {}
    send = fn_runner.BundleManager._send_input_to_worker

    rss_at: dict = {}  # the process's RSS when each transform's input is sent: where the peak is
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page / 2**20

    last = {"transform": None, "peak": (0.0, None)}

    def counting(self, bundle, transform, streams):
        streams = list(streams or [])
        held[transform] = held.get(transform, 0) + sum(len(s) for s in streams)
        rss_at[transform] = max(rss_at.get(transform, 0), rss())
        last["transform"] = transform
        return send(self, bundle, transform, streams)

    def sample():  # the peak and the transform last handed its input when it was reached
        while not last.get("done"):
            now = rss()
            if now > last["peak"][0]:
                last["peak"] = (now, last["transform"])
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    tree = PeakMemory(os.getpid())  # this process and its forked workers: their PSS, summed
    tree.start()

    fn_runner.BundleManager._send_input_to_worker = counting
    append = worker_handlers.StateServicer.append_raw

    def side_inputs(self, state_key, data):  # what the runner keeps for side inputs, by consumer
        kind = state_key.WhichOneof("type")
        if kind.endswith("side_input"):
            key = f"side input of {getattr(state_key, kind).transform_id}"
            held[key] = held.get(key, 0) + len(data)
        return append(self, state_key, data)

    worker_handlers.StateServicer.append_raw = side_inputs
    with tempfile.TemporaryDirectory(prefix="bench-held-") as tmp:
        tmp = Path(tmp)
        text = corpus(tmp / "web.jsonl.gz", args.docs)
        cfg = tmp / "c.toml"
        cfg.write_text(f'[run]\noutput = "{tmp / "out"}"\nprogress = "off"\nshards = {args.shards}\n'
                       f'workers = {args.workers}\n')
        t0 = time.time()
        rc = cli.main(["run", str(cfg), "--input", str(tmp / "web.jsonl.gz"), "--domain", "web"])
        wall = time.time() - t0
        last["done"] = tree.done = True
        m = json.loads((tmp / "out" / "manifest.json").read_text())
    per_doc = {k: v / args.docs for k, v in sorted(held.items(), key=lambda kv: -kv[1])}
    result = {"docs": args.docs, "text_bytes": text, "shards": args.shards, "rc": rc, "wall_s": round(wall, 1),
              "held_bytes_per_doc": round(sum(held.values()) / args.docs, 1),
              "peak_rss_mb": round(peak_rss_mb(), 1), "peak_pss_tree_mb": round(tree.peak_kb / 1024, 1),
              "staged": {k: v for k, v in m.get("staged", {}).items() if k != "by_step"},
              "peak_rss_sampled": [round(last["peak"][0]), last["peak"][1]],
              "rss_mb_at": {k: round(v) for k, v in sorted(rss_at.items(), key=lambda kv: -kv[1])[:8]},
              "by_transform": {k: round(v, 2) for k, v in per_doc.items() if v >= 0.5}}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return rc


if __name__ == "__main__":
    sys.exit(main())
