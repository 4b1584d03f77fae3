"""What writing the ledger's snippets costs now that each goes through the secrets redaction
(curate/snippets.py): this checkout against a base revision (default main, exported with ``git
archive``), measured in the same run, each version in its own process, taking turns.

    python bench/bench_ledger_snippets.py [--base main] [--rounds 2] [--pool]

Per version: ``schema.ledger_rows`` CPU seconds (the best of 3) on the shared code sample's 954
files as if every one were removed (its worst case: a removal's row costs the same whatever
removed it), and on the Dolma web sample's pages the same way; and ``curate demo``, end to end,
with the CPU seconds spent in ``ledger_rows`` (wrapped) and the rows it wrote. Printed: each
number, the ratio to the base, and how many of the sample's snippets the redaction changed.

``--pool``: instead, a run without the filter, ``curate run --stages ingest,langid --workers 2`` on 13 UDHR pages and
3 books (langid removes the pages: their snippets are made in the workers), each version in turn ``--rounds`` times:
the median CPU seconds of the launcher and of the workers, the workers' private memory (Private_Clean + Private_Dirty
of /proc/PID/smaps_rollup, read as the pool shuts down) and the secrets kernels each process made.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
CODE = CORPORA / "code" / "code_sample.jsonl.gz"
WEB = CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"

# Run with the version's curate/ first on sys.path.
CHILD = r'''
import gzip, json, sys, tempfile, time
from curate import cli, schema
code_path, web_path = sys.argv[1], sys.argv[2]
def docs(path, text, src):
    rows = [dict(id=str(i), text=r[text], domain=src, source="bench", path=r.get("path"), offset=i)
            for i, r in enumerate(map(json.loads, gzip.open(path, "rt", encoding="utf-8")))]
    return [schema.docs_from_rows(rows[i:i + 1000]) for i in range(0, len(rows), 1000)]
sets = {"code": docs(code_path, "content", "code"), "web": docs(web_path, "text", "web")}
out = {}
for name, batches in sets.items():
    snippets = [s for b in batches for s in schema.ledger_rows(b, "filter", "bench").column("snippet").to_pylist()]  # compiles
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for b in batches:
            schema.ledger_rows(b, "filter", "bench")
        best = min(best, time.process_time() - t)
    out[name] = {"cpu_s": best, "rows": sum(b.num_rows for b in batches), "snippets": snippets}
rows_fn = schema.ledger_rows
def timed(*a, **k):  # the pipeline's steps run in forked workers too: each call appends to a file
    t = time.process_time()
    r = rows_fn(*a, **k)
    with open(log, "a") as f:
        f.write(f"{time.process_time() - t} {r.num_rows}\n")
    return r
schema.ledger_rows = timed
with tempfile.TemporaryDirectory() as d:
    log = d + "/ledger_rows.log"
    open(log, "w").close()
    t = time.perf_counter()
    assert cli.main(["demo", "--output", d + "/demo", "--progress", "off"]) == 0
    calls = [line.split() for line in open(log)]
    out["demo"] = {"wall_s": time.perf_counter() - t, "cpu_s": sum(float(c) for c, _ in calls), "rows": sum(int(n) for _, n in calls)}
print(json.dumps(out))
'''


# Run with the version's curate/ first on sys.path: the subset run, its workers' memory read before they end.
POOL_CHILD = r'''
import json, os, resource, sys, tempfile
from curate.stages import numba_cache
from pipelines import pool
made, mem = [], []
compiled = numba_cache._Kernel.compiled
def noted(self):  # a kernel made in this process (numba set up), logged by the process that made it
    if self.dispatcher is None:
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {self.py_func.__name__}\n")
    return compiled(self)
numba_cache._Kernel.compiled = noted
shutdown = pool.shutdown
def measured(kill=False):
    for p in pool._POOL.get("procs", ()):
        rollup = open(f"/proc/{p.pid}/smaps_rollup").read().split()
        mem.append(sum(int(rollup[i + 1]) for i, w in enumerate(rollup) if w in ("Private_Clean:", "Private_Dirty:")) / 1024)
    return shutdown(kill)
pool.shutdown = measured
from curate import cli
inputs = sys.argv[1:]
with tempfile.TemporaryDirectory() as d:
    log = d + "/made"
    open(log, "w").close()
    args = ["run", "--output", d + "/out", "--stages", "ingest,langid", "--workers", "2", "--progress", "off"]
    for folder, domain in zip(inputs[::2], inputs[1::2]):
        args += ["--input", folder, "--domain", domain]
    assert cli.main(args) == 0
    me, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    made = [line.split() for line in open(log)]
print(json.dumps({"launcher_cpu_s": me.ru_utime + me.ru_stime, "workers_cpu_s": c.ru_utime + c.ru_stime, "workers_mb": mem,
                  "kernels_launcher": sum(p == str(os.getpid()) for p, _ in made), "kernels_workers": sum(p != str(os.getpid()) for p, _ in made)}))
'''


def pool_inputs(tmp: Path) -> list:
    """13 UDHR pages (web) and 3 books, copied into folders of their own."""
    udhr, books = tmp / "udhr", tmp / "books"
    udhr.mkdir(), books.mkdir()
    for f in sorted((CORPORA / "multilingual" / "udhr2").glob("*.txt"))[:13]:
        (udhr / f.name).write_bytes(f.read_bytes())
    for name in ("austen-emma", "blake-poems", "carroll-alice"):
        (books / f"{name}.txt").write_bytes((CORPORA / "books" / "gutenberg_nltk" / f"{name}.txt").read_bytes())
    return [str(udhr), "web", str(books), "books"]


def run_pool(root: Path, inputs: list) -> dict:
    r = subprocess.run([sys.executable, "-c", POOL_CHILD, *inputs], check=True, capture_output=True, text=True, cwd=root,
                       env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    return json.loads(r.stdout.splitlines()[-1])


def main_pool(base: Path, base_name: str, rounds: int, tmp: Path) -> int:
    import statistics

    inputs = pool_inputs(tmp)
    for root in (base, REPO):  # not counted: the exported tree compiles its kernels into its own cache first
        run_pool(root, inputs)
    results: dict = {"base": [], "this": []}
    for _ in range(rounds):  # taking turns: the machine's load falls on both alike
        for name, root in (("base", base), ("this", REPO)):
            results[name].append(run_pool(root, inputs))
    med = {name: {k: statistics.median(r[k] if k != "workers_mb" else sum(r[k]) / max(len(r[k]), 1) for r in rs)
                  for k in rs[0]} for name, rs in results.items()}
    b, t = med["base"], med["this"]
    print(f"--stages ingest,langid --workers 2, 13 UDHR pages + 3 books, median of {rounds} rounds each ({base_name} / this):")
    print(f"  workers' CPU  {b['workers_cpu_s']:6.2f} / {t['workers_cpu_s']:6.2f} s (x{t['workers_cpu_s'] / max(b['workers_cpu_s'], 1e-9):.2f})")
    print(f"  launcher CPU  {b['launcher_cpu_s']:6.2f} / {t['launcher_cpu_s']:6.2f} s (x{t['launcher_cpu_s'] / max(b['launcher_cpu_s'], 1e-9):.2f})")
    print(f"  a worker's private memory {b['workers_mb']:6.1f} / {t['workers_mb']:6.1f} MB")
    print(f"  kernels made: launcher {b['kernels_launcher']:.0f} / {t['kernels_launcher']:.0f}, workers {b['kernels_workers']:.0f} / {t['kernels_workers']:.0f}")
    return 0


def run(root: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(CODE), str(WEB)], check=True, capture_output=True, text=True,
                       cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    return json.loads(r.stdout.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--pool", action="store_true", help="a subset run's workers (no filter), not ledger_rows")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.base, Path(tmp) / "base")
        if args.pool:
            return main_pool(base, args.base, args.rounds, Path(tmp))
        results: dict = {"base": [], "this": []}
        for _ in range(args.rounds):
            for name, root in (("base", base), ("this", REPO)):
                results[name].append(run(root))
    # each number the best (least) of the rounds
    best = {name: {k: {m: (min(r[k][m] for r in rs) if m != "snippets" else rs[0][k][m]) for m in rs[0][k]}
                   for k in ("code", "web", "demo")} for name, rs in results.items()}
    for k in ("code", "web", "demo"):
        b, t = best["base"][k], best["this"][k]
        line = f"{k:5} ledger_rows over {t['rows']:,} rows: {args.base} {b['cpu_s'] * 1e3:8.1f} ms CPU, this {t['cpu_s'] * 1e3:8.1f} ms" \
               f" (x{t['cpu_s'] / max(b['cpu_s'], 1e-9):.1f}; {(t['cpu_s'] - b['cpu_s']) / max(t['rows'], 1) * 1e6:.0f} us a row more)"
        if k == "demo":
            line += f"; the demo end to end {b['wall_s']:.1f} s / {t['wall_s']:.1f} s wall"
        else:
            changed = sum(x != y for x, y in zip(b["snippets"], t["snippets"]))
            line += f"; snippets changed by the redaction: {changed}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
