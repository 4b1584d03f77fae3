"""The code filter (the ``code`` rules and the ``secrets`` rewrite, the code domain's default)
on the shared code sample: this checkout against a base revision, measured in the same run.

    python bench/bench_code_filter.py [--base main] [--rounds 3] [--profile]

The base revision's ``curate/`` is exported with ``git archive`` into a temporary folder; each
version runs in its own process (``Filter({})`` over the sample in batches of 1,000, the best
of 3 in CPU seconds), the versions taking turns for ``--rounds`` rounds. Printed: MB/s (UTF-8
bytes in / CPU second) of each, the best of the rounds, and the ratio. Identity: the kept
text, the ledger and the edits of both versions on the sample must be byte for byte the same
(else the exit status is 1); on the sample with secrets appended to a third of its files, the
number of kept texts that differ is printed (0 unless the secret rules changed between them).
``--profile``: the top of a cProfile of this checkout instead. ``--cold``: a fresh worker's
first batch instead (import, setup and the first 1,000 files, so every kernel is compiled: CPU
seconds with an empty numba cache, ``NUMBA_CACHE_DIR``, the best of the rounds).
"""
from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
import string
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "corpora" / "code" / "code_sample.jsonl.gz"
ALNUM = string.ascii_letters + string.digits

# Run in a child process with the version's curate/ first on sys.path.
CHILD = r'''
import cProfile, pickle, pstats, sys, time
import pyarrow as pa
from curate import schema
from curate.stages.filters import Filter
sets, mode, out = pickle.load(open(sys.argv[1], "rb")), sys.argv[2], sys.argv[3]
f = Filter({})
f.setup()
batches = {name: [schema.docs_from_rows(rows[i:i + 1000]) for i in range(0, len(rows), 1000)] for name, rows in sets.items()}
results = {name: [f.process(b) for b in bs] for name, bs in batches.items()}  # also compiles the kernels
if mode == "profile":
    p = cProfile.Profile()
    p.enable()
    for b in batches["sample"]:
        f.process(b)
    p.disable()
    pstats.Stats(p).sort_stats("tottime").print_stats(15)
    sys.exit()
best = float("inf")
for _ in range(3):
    t = time.process_time()
    for b in batches["sample"]:
        f.process(b)
    best = min(best, time.process_time() - t)
def ipc(batch):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()
pickle.dump({"cpu_s": best, "out": {name: [(ipc(k), ipc(l)) for k, l in rs] for name, rs in results.items()}}, open(out, "wb"))
'''

# A fresh worker: nothing compiled yet (the caller gives an empty NUMBA_CACHE_DIR).
COLD = r'''
import pickle, sys, time
t = time.process_time()
from curate import schema
from curate.stages.filters import Filter
rows = pickle.load(open(sys.argv[1], "rb"))["sample"][:1000]
f = Filter({})
f.setup()
f.process(schema.docs_from_rows(rows))
print(time.process_time() - t)
'''


def cold(root: Path, inputs: Path, cache: Path) -> float:
    r = subprocess.run([sys.executable, "-c", COLD, str(inputs)], check=True, cwd=inputs.parent, capture_output=True, text=True,
                       env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NUMBA_CACHE_DIR": str(cache)})
    return float(r.stdout.split()[-1])


def rows(plant: bool) -> list[dict]:
    """The sample as documents; with ``plant``, a third of the files get fake secrets (random,
    made here) appended in the file's own syntax."""
    rng, out = random.Random(18), []
    for i, line in enumerate(gzip.open(SAMPLE, "rt", encoding="utf-8")):
        rec = json.loads(line)
        text = rec["content"]
        if plant and i % 3 == 0:
            value = "".join(rng.choice(ALNUM) for _ in range(14)) + "9"
            token = "ghp_" + "".join(rng.choice(ALNUM) for _ in range(36))
            text += f'\npassword = "{value}"\napi_key: {value}\nexport API_TOKEN={token}\nset secret "{value}"\n'
        out.append(dict(id=str(i), text=text, domain="code", source="bench", path=rec["path"], offset=i, url=None,
                        language=rec["lang"], meta=json.dumps({"license": rec.get("license")})))
    return out


def run(root: Path, inputs: Path, mode: str, out: Path) -> dict | None:
    subprocess.run([sys.executable, "-c", CHILD, str(inputs), mode, str(out)], check=True, cwd=inputs.parent,
                   env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    return pickle.load(open(out, "rb")) if mode == "time" else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--cold", action="store_true", help="a fresh worker's first batch, nothing compiled")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = tmp / "inputs.pkl"
        sample = rows(False)
        pickle.dump({"sample": sample, "planted": rows(True)}, open(inputs, "wb"))
        if args.profile:
            run(REPO, inputs, "profile", tmp / "out.pkl")
            return 0
        base_root = export(args.base, tmp / "base")
        versions = {args.base: base_root, "this checkout": REPO}
        if args.cold:
            best = {name: min(cold(root, inputs, tmp / f"numba{i}{n}") for i in range(args.rounds))
                    for n, (name, root) in enumerate(versions.items())}
            print(f"code filter, a fresh worker's import, setup and first 1,000 files, empty numba cache, "
                  f"best of {args.rounds}, CPU seconds:")
            for name in versions:
                print(f"  {name:15s} {best[name]:6.1f} s")
            print(f"  ratio {args.base} / this checkout: {best[args.base] / best['this checkout']:.1f}x")
            return 0
        best, outs = {}, {}
        for _ in range(args.rounds):
            for name, root in versions.items():
                r = run(root, inputs, "time", tmp / "out.pkl")
                best[name] = min(best.get(name, float("inf")), r["cpu_s"])
                outs[name] = r["out"]
        mb = sum(len(r["text"].encode()) for r in sample) / 1e6
        print(f"code filter (code rules + secrets, default config) on the shared code sample, {mb:.2f} MB, "
              f"best of {args.rounds} rounds x 3, CPU seconds, one process each:")
        for name in versions:
            print(f"  {name:15s} {mb / best[name]:7.1f} MB/s")
        print(f"  ratio this checkout / {args.base}: {best[args.base] / best['this checkout']:.2f}x")
        base_out, this_out = outs[args.base], outs["this checkout"]
        same = all(a == b for a, b in zip(base_out["sample"], this_out["sample"]))
        print(f"  output on the sample (kept text, edits, ledger): {'byte-identical' if same else 'DIFFERENT'}")
        # with planted secrets: the same unless the secret rules themselves changed between the versions
        texts = {name: [t for k, _ in out["planted"] for t in pa.ipc.open_stream(k).read_all().column("text").to_pylist()]
                 for name, out in outs.items()}
        changed = sum(a != b for a, b in zip(texts[args.base], texts["this checkout"]))
        ledgers = all(a[1] == b[1] for a, b in zip(base_out["planted"], this_out["planted"]))
        print(f"  with secrets planted in a third of the files: {changed} of {len(texts[args.base])} kept texts differ, "
              f"ledger {'byte-identical' if ledgers else 'DIFFERENT'}")
        return 0 if same else 1

if __name__ == "__main__":
    sys.exit(main())
