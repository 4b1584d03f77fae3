"""What writing the ledger's snippets costs now that each goes through the secrets redaction
(curate/snippets.py): this checkout against a base revision (default main, exported with ``git
archive``), measured in the same run, each version in its own process, taking turns.

    python bench/bench_ledger_snippets.py [--base main] [--rounds 2]

Per version: ``schema.ledger_rows`` CPU seconds (the best of 3) on the shared code sample's 954
files as if every one were removed (its worst case: a removal's row costs the same whatever
removed it), and on the Dolma web sample's pages the same way; and ``curate demo``, end to end,
with the CPU seconds spent in ``ledger_rows`` (wrapped) and the rows it wrote. Printed: each
number, the ratio to the base, and how many of the sample's snippets the redaction changed.
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


def run(root: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(CODE), str(WEB)], check=True, capture_output=True, text=True,
                       cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    return json.loads(r.stdout.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.base, Path(tmp) / "base")
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
