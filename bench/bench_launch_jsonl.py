"""Launch cost of the JSONL checks `curate run` makes per local file before the run
(readers.plan_shards: not_json_lines reads a file's first line, now up to 1 MiB, to tell old-Mac
line ends), this tree against a baseline commit archived in the same run.

    python bench/bench_launch_jsonl.py [--base 85a5a3d] [--small 10000] [--long 300]

Folders: --small files of one short record each; --long files whose first line is a 1.5 MiB
record (a book a line), plain and gzip. Best of 3 wall times of plan_shards over each folder,
each tree in its own interpreter (the same files, page-cached after the first pass)."""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

from base_tree import export  # bench/ is first on sys.path

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME = """
import sys, time
from curate.readers import plan_shards
from curate.readers.common import Limits
folder = sys.argv[1]
files = sorted((os.path.join(folder, n), n) for n in os.listdir(folder))
best = min((lambda t0: (plan_shards(files, "jsonl", "books", "s", {}, Limits()), time.perf_counter() - t0)[1])(time.perf_counter())
           for _ in range(3))
print(best)
"""


def make(root: str, small: int, long: int) -> dict:
    folders = {f"{small} small": os.path.join(root, "small"), f"{long} long-line": os.path.join(root, "long"),
               f"{long} long-line .gz": os.path.join(root, "longgz")}
    for d in folders.values():
        os.makedirs(d)
    for i in range(small):
        with open(os.path.join(folders[f"{small} small"], f"{i:05}.jsonl"), "w") as f:
            f.write(json.dumps({"id": str(i), "text": f"a short page number {i}"}) + "\n")
    book = (json.dumps({"id": "b", "text": "word " * (300 << 10)}) + "\n").encode()  # 1.5 MiB line
    for i in range(long):
        with open(os.path.join(folders[f"{long} long-line"], f"{i:04}.jsonl"), "wb") as f:
            f.write(book)
        with open(os.path.join(folders[f"{long} long-line .gz"], f"{i:04}.jsonl.gz"), "wb") as f:
            f.write(gzip.compress(book, 1))
    return folders


def timed(tree: str, folder: str) -> float:
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", "import os\n" + TIME, folder], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="85a5a3d")
    ap.add_argument("--small", type=int, default=10000)
    ap.add_argument("--long", type=int, default=300)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        base = str(export(a.base, os.path.join(root, "base"), ("curate", "pipelines")))
        folders = make(os.path.join(root, "data"), a.small, a.long)
        print(f"{'folder':<22} {a.base:>10} {'this tree':>10} {'ratio':>6}")
        for name, folder in folders.items():
            before, after = timed(base, folder), timed(HERE, folder)
            print(f"{name:<22} {before:>9.3f}s {after:>9.3f}s {after / before:>5.2f}x")


if __name__ == "__main__":
    main()
