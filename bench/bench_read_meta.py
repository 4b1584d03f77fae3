"""What carrying a record's metadata costs the JSON Lines reader, against other commits.

A JSON record's ``meta`` / ``metadata`` object is the document's meta (main walked each value
through ``readers.meta.meta_value``, which makes a Parquet row's bytes text; a JSON value is
already what the meta JSON holds). Measured in one run, alternating rounds, each phase in a
fresh subprocess, one core, CPU seconds of ``curate.readers.read_shard`` over the whole file
(ids, batches, the meta JSON):

* this tree;
* each ``--baseline REV`` (``git archive`` of it; default ``ede18fc``, before Dolma's
  ``metadata`` was carried, and ``main``).

Inputs, from ../shared/corpora: the shared Dolma documents (``metadata`` of 7 keys) and the
CCNet documents (``metadata`` with ``line_ids``, a list of up to hundreds of numbers),
repeated with fresh ids to ``--rows`` rows each. Prints rows per CPU-second, the ratio to this
tree, and the meta column's bytes per row (what each commit writes).

    python bench/bench_read_meta.py [--rounds 3] [--rows 20000] [--baseline ede18fc --baseline main]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
SOURCES = {"dolma": ["web/cc_main_2019_30_dolma_docs.jsonl.gz"],
           "ccnet": ["web/ccnet_cc_en_head-0091.jsonl", "web/ccnet_cc_en_head-0174.jsonl"]}

PHASE = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from curate.readers import read_shard
from curate.readers.common import Limits, Shard
import curate.readers.jsonl as jsonl
import pyarrow.compute as pc
assert jsonl.__file__.startswith(sys.argv[1]), jsonl.__file__
t = time.process_time()
n = meta = 0
for kind, b in read_shard(Shard(sys.argv[2], "bench.jsonl", "jsonl", "web", "bench"), Limits()):
    if kind == "docs":
        n += b.num_rows
        meta += pc.sum(pc.binary_length(b.column("meta"))).as_py() or 0
print(n, meta, time.process_time() - t)
"""


def build(tmp: Path, name: str, rows: int) -> Path:
    docs = []
    for rel in SOURCES[name]:
        opener = gzip.open if rel.endswith(".gz") else open
        with opener(CORPORA / rel, "rb") as f:
            docs += [json.loads(line) for line in f if line.strip()]
    path = tmp / f"{name}.jsonl"
    with open(path, "w") as f:
        for i in range(rows):
            obj = dict(docs[i % len(docs)])
            obj["id"] = f"{obj.get('id')}-{i}"  # fresh ids: no duplicate-id work
            f.write(json.dumps(obj) + "\n")
    return path


def phase(tree: Path, path: Path) -> tuple[int, int, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", PHASE, str(tree), str(path)], check=True, capture_output=True, text=True, env=env)
    n, meta, seconds = out.stdout.split()
    return int(n), int(meta), float(seconds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--baseline", action="append")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ways = {"this tree": REPO}
        for rev in a.baseline or ["ede18fc", "main"]:
            ways[rev] = export(rev, tmp / rev.replace("/", "_"), ("curate", "pipelines"))
        for name in SOURCES:
            path = build(tmp, name, a.rows)
            best, got = {w: float("inf") for w in ways}, {}
            for _ in range(a.rounds):
                for w, tree in ways.items():
                    n, meta, seconds = phase(tree, path)
                    best[w] = min(best[w], seconds)
                    got[w] = (n, meta)
            here = got["this tree"][0] / best["this tree"]
            print(f"{name}: {a.rows:,} records, best of {a.rounds} (rows/CPU-s, ratio to this tree, meta bytes/row): " + "; ".join(
                f"{w} {got[w][0] / best[w]:,.0f} ({got[w][0] / best[w] / here:.3f}x, {got[w][1] / max(1, got[w][0]):.0f} B)" for w in ways))


if __name__ == "__main__":
    main()
