"""What the worker pool costs in a process that holds a large heap (pytest's, a notebook's).

    python bench/bench_pool_start.py [--heap 0,2.5] [--workers 0,1] [--runs 5] [--docs 300] [--gc-at-fork 0,1]

Each run is a fresh process that first allocates ``--heap`` million small objects (instances
with a ``__dict__``, in lists, ~170 B each: pytest with the test modules imported holds a few
million), then runs every default stage in-process (``curate.cli.main(["run", ...])``) on
``--docs`` short web documents with ``run.workers`` (0: one per core, the default; 1: no pool).
Reported per heap and workers, medians over ``--runs``: the run's CPU seconds, its own and its
waited-for children's (the workers') together, the workers' minor page faults (copy-on-write
copies of the heap's pages are counted there) and the launching process's during the run, and
with ``--pss`` the peak PSS of the process tree (bench/memory.py; its sampling costs CPU).
``--gc-at-fork 0,1``: each run also with a ``gc.collect()`` in the launcher before it forks the
workers (what ci41 removed), the two alternated run by run, with the ratio to the run without
and the collection's own CPU seconds (``gc_cpu_s``): it walks only what the run made since
pipeline.run froze the heap, so it neither costs the heap's size nor frees its old garbage.
Every row also counts the fastText models loaded in the launching process and in the workers
(``loads_here``, ``loads_workers``: config.load's check loads them here, before the fork) and the
sum over the workers of their peak private memory (``workers_private_mb``: pages not shared with
the launcher, sampled every 20 ms). ``--unshared 0,1``: each run also with the models not shared
(1: ``commit.settled`` made False, as for a model file written in the last seconds, so the
launcher's cache keeps none and each worker loads its own), the two alternated run by run.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class _Obj:
    def __init__(self, i):
        self.i, self.name = i, "x"


def _private_kb(pid: int) -> int:
    """A process's pages not shared with any other (Linux's smaps_rollup), 0 once it has ended."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith(("Private_Clean:", "Private_Dirty:")))
    except OSError:
        return 0


class _WorkersPrivate(threading.Thread):
    """Each child's peak private memory (kB), sampled every 20 ms until ``done``."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peaks, self.done = {}, False

    def run(self):
        me = os.getpid()
        while not self.done:
            try:
                with open(f"/proc/{me}/task/{me}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            for k in kids:
                self.peaks[k] = max(self.peaks.get(k, 0), _private_kb(k))
            time.sleep(0.02)


def _child(heap_m: float, workers: int, docs: int, pss: bool, warm: bool, gc_at_fork: bool = False, unshared: bool = False) -> dict:
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    import fasttext
    from memory import PeakMemory

    from curate import cli, commit, demo
    from pipelines import pool

    loads = tempfile.NamedTemporaryFile("r", prefix="bench-pool-loads-")  # a line per model load, by the process's pid
    load_model = fasttext.load_model

    def counted_load(path):
        with open(loads.name, "a") as f:
            f.write(f"{os.getpid()}\n")
        return load_model(path)

    fasttext.load_model = counted_load
    if unshared:  # the variant: no model kept in the launcher's cache (a file just written), so none inherited
        commit.settled = lambda st, now: False

    collected = []  # the CPU seconds of the variant's collection (the machine's load hides it in the run's)
    if gc_at_fork:  # the variant: one full collection as the pool starts, before its fork
        import gc

        acquire = pool._acquire

        def collect_then_acquire(size):
            if pool._POOL["pool"] is None:
                t = time.process_time()
                gc.collect()
                collected.append(time.process_time() - t)
            return acquire(size)

        pool._acquire = collect_then_acquire

    heap = [[_Obj(i) for i in range(j, j + 1000)] for j in range(0, int(heap_m * 1e6), 1000)]
    with tempfile.TemporaryDirectory(prefix="bench-pool-start-") as tmp:
        tmp = Path(tmp)
        rng = random.Random(7)
        with open(tmp / "web.jsonl", "w") as f:
            for i in range(docs):
                f.write(json.dumps({"id": f"d{i}", "text": demo.paragraph(rng, 5)}) + "\n")
        cfg = tmp / "c.toml"
        cfg.write_text(f'[run]\noutput = "{tmp / "out"}"\nprogress = "off"\nworkers = {workers}\n')
        if warm:  # a first run, unmeasured, as in a test session: modules and kernels loaded
            cli.main(["run", str(cfg), "--input", str(tmp / "web.jsonl"), "--domain", "web", "--output", str(tmp / "warm")])
        open(loads.name, "w").close()  # the measured run's loads only
        tree, private = PeakMemory(os.getpid()), _WorkersPrivate()
        private.start()
        if pss:  # its sampling reads the tree's smaps: CPU of its own, so not with the CPU figures
            tree.start()
        own0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        rc = cli.main(["run", str(cfg), "--input", str(tmp / "web.jsonl"), "--domain", "web"])
        own1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        tree.done = private.done = True
    pids = [int(x) for x in loads.read().split()]
    cpu = lambda r: r.ru_utime + r.ru_stime  # noqa: E731
    del heap
    return {"rc": rc, "cpu_s": cpu(own1) - cpu(own0) + cpu(kids1) - cpu(kids0),
            "children_cpu_s": cpu(kids1) - cpu(kids0),
            "children_minflt": kids1.ru_minflt - kids0.ru_minflt, "own_minflt": own1.ru_minflt - own0.ru_minflt,
            "peak_pss_tree_mb": tree.peak_kb / 1024 if pss else None, "gc_cpu_s": collected[-1] if collected else 0.0,
            "loads_here": pids.count(os.getpid()), "loads_workers": len(pids) - pids.count(os.getpid()),
            "workers_private_mb": sum(private.peaks.values()) / 1024}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--heap", default="0,2.5", help="million objects allocated first, comma-separated")
    ap.add_argument("--workers", default="0,1", help="run.workers values, comma-separated")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--pss", action="store_true", help="also sample the peak PSS (its own CPU counted in)")
    ap.add_argument("--warm", action="store_true", help="measure each process's second run (a test session's)")
    ap.add_argument("--gc-at-fork", default="0", help="0: as curate runs; 1: a gc.collect() before the fork; 0,1: both, alternated")
    ap.add_argument("--unshared", default="0", help="0: as curate runs; 1: each worker loads its own models; 0,1: both, alternated")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    if args.child:
        heap_m, workers, gc_at_fork, unshared = (args.child.split(":") + ["0", "0"])[:4]
        print(json.dumps(_child(float(heap_m), int(workers), args.docs, args.pss, args.warm, gc_at_fork == "1", unshared == "1")))
        return 0
    results = []
    # (gc at fork, models unshared) pairs, alternated run by run
    variants = [(g, u) for g in args.gc_at_fork.split(",") for u in args.unshared.split(",")]
    for heap_m in args.heap.split(","):
        for workers in args.workers.split(","):
            runs = {v: [] for v in variants}
            for _ in range(args.runs):
                for v in variants:  # alternated: the machine's load falls on both alike
                    out = subprocess.run([sys.executable, __file__, "--child", f"{heap_m}:{workers}:{v[0]}:{v[1]}", "--docs", str(args.docs)]
                                         + ["--pss"] * args.pss + ["--warm"] * args.warm, capture_output=True, text=True, check=True)
                    runs[v].append(json.loads(out.stdout.strip().splitlines()[-1]))
            for v in variants:
                row = {"heap_m": float(heap_m), "workers": int(workers), "gc_at_fork": int(v[0]), "unshared": int(v[1]), "runs": len(runs[v])}
                for k in ("cpu_s", "children_cpu_s", "children_minflt", "own_minflt", "gc_cpu_s", "loads_here", "loads_workers",
                          "workers_private_mb") + ("peak_pss_tree_mb",) * args.pss:
                    row[k] = round(statistics.median(r[k] for r in runs[v]), 2)
                row["cpu_s_all"] = [round(r["cpu_s"], 2) for r in runs[v]]
                if v != variants[0]:  # against the first variant (as curate runs)
                    base = results[-variants.index(v)]
                    row["cpu_s_ratio"] = round(row["cpu_s"] / base["cpu_s"], 3)
                    row["workers_private_ratio"] = round(row["workers_private_mb"] / max(base["workers_private_mb"], 0.01), 3)
                results.append(row)
                print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
