"""What the worker pool costs in a process that holds a large heap (pytest's, a notebook's).

    python bench/bench_pool_start.py [--heap 0,2.5] [--workers 0,1] [--runs 5] [--docs 300]

Each run is a fresh process that first allocates ``--heap`` million small objects (instances
with a ``__dict__``, in lists, ~170 B each: pytest with the test modules imported holds a few
million), then runs every default stage in-process (``curate.cli.main(["run", ...])``) on
``--docs`` short web documents with ``run.workers`` (0: one per core, the default; 1: no pool).
Reported per heap and workers, medians over ``--runs``: the run's CPU seconds, its own and its
waited-for children's (the workers') together, the workers' minor page faults (copy-on-write
copies of the heap's pages are counted there) and the launching process's during the run, and
with ``--pss`` the peak PSS of the process tree (bench/memory.py; its sampling costs CPU).
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class _Obj:
    def __init__(self, i):
        self.i, self.name = i, "x"


def _child(heap_m: float, workers: int, docs: int, pss: bool, warm: bool) -> dict:
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    from memory import PeakMemory

    from curate import cli, demo

    heap = [[_Obj(i) for i in range(j, j + 1000)] for j in range(0, int(heap_m * 1e6), 1000)]
    with tempfile.TemporaryDirectory(prefix="bench-pool-start-") as tmp:
        tmp = Path(tmp)
        rng = random.Random(7)
        with open(tmp / "web.jsonl", "w") as f:
            for i in range(docs):
                f.write(json.dumps({"id": f"d{i}", "text": demo.paragraph(rng, 5)}) + "\n")
        cfg = tmp / "c.toml"
        cfg.write_text(f'[run]\noutput = "{tmp / "out"}"\nprogress = "off"\nworkers = {workers}\n')
        import os

        if warm:  # a first run, unmeasured, as in a test session: modules and kernels loaded
            cli.main(["run", str(cfg), "--input", str(tmp / "web.jsonl"), "--domain", "web", "--output", str(tmp / "warm")])
        tree = PeakMemory(os.getpid())
        if pss:  # its sampling reads the tree's smaps: CPU of its own, so not with the CPU figures
            tree.start()
        own0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        rc = cli.main(["run", str(cfg), "--input", str(tmp / "web.jsonl"), "--domain", "web"])
        own1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        tree.done = True
    cpu = lambda r: r.ru_utime + r.ru_stime  # noqa: E731
    del heap
    return {"rc": rc, "cpu_s": cpu(own1) - cpu(own0) + cpu(kids1) - cpu(kids0),
            "children_cpu_s": cpu(kids1) - cpu(kids0),
            "children_minflt": kids1.ru_minflt - kids0.ru_minflt, "own_minflt": own1.ru_minflt - own0.ru_minflt,
            "peak_pss_tree_mb": tree.peak_kb / 1024 if pss else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heap", default="0,2.5", help="million objects allocated first, comma-separated")
    ap.add_argument("--workers", default="0,1", help="run.workers values, comma-separated")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--pss", action="store_true", help="also sample the peak PSS (its own CPU counted in)")
    ap.add_argument("--warm", action="store_true", help="measure each process's second run (a test session's)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if args.child:
        heap_m, workers = args.child.split(":")
        print(json.dumps(_child(float(heap_m), int(workers), args.docs, args.pss, args.warm)))
        return 0
    results = []
    for heap_m in args.heap.split(","):
        for workers in args.workers.split(","):
            runs = []
            for _ in range(args.runs):
                out = subprocess.run([sys.executable, __file__, "--child", f"{heap_m}:{workers}", "--docs", str(args.docs)] + ["--pss"] * args.pss + ["--warm"] * args.warm,
                                     capture_output=True, text=True, check=True)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            row = {"heap_m": float(heap_m), "workers": int(workers), "runs": len(runs)}
            for k in ("cpu_s", "children_cpu_s", "children_minflt", "own_minflt") + ("peak_pss_tree_mb",) * args.pss:
                row[k] = round(statistics.median(r[k] for r in runs), 2)
            row["cpu_s_all"] = [round(r["cpu_s"], 2) for r in runs]
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
