"""The secrets rewrite on European prose and code, this checkout against a base revision in the same
run: what reading a name's precomposed letters (`sécret = "..."`, ``_read_accented_names``) and
a quoted key's prose in another script cost.

    python bench/bench_accented_names.py [--base main] [--rounds 3] [--kb 400]

Texts: French and German UDHR prose (../shared/corpora/multilingual/udhr2), each as it is and
with a ` :` (French typography) after every 40th word, and with a `été: mot` line every 40
words (an accented word before an operator), each repeated to --kb kilobytes and rewritten as YAML and as Python; and the shared
code sample's 954 files as their languages. Each version runs in its own process (the base's
``curate/`` exported with ``git archive``), the versions taking turns for --rounds rounds; each
time is the median of 5 passes in CPU seconds (``time.process_time``), and a version's figure the
median of its rounds. Printed: MB/s (UTF-8 bytes / CPU second) of each and the ratio this/base,
and the number of texts whose output differs between the versions (the prose: 0 expected; the
planted `sécret =` line: 1 per text).
"""
from __future__ import annotations

import argparse
import gzip
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"

CHILD = r'''
import pickle, statistics, sys, time
from curate.stages.filters.rules import TextDoc
from curate.stages.filters.secrets import SECRETS, secrets_rewrite
texts = pickle.load(open(sys.argv[1], "rb"))
fn = secrets_rewrite(SECRETS).fn
out, secs = {}, {}
for name, docs in texts.items():
    out[name] = [fn(TextDoc(t, lang))[0] for t, lang in docs]  # (compiles the kernels once)
    runs = []
    for _ in range(5):
        t0 = time.process_time()
        for t, lang in docs:
            fn(TextDoc(t, lang))
        runs.append(time.process_time() - t0)
    secs[name] = statistics.median(runs)
pickle.dump((out, secs), open(sys.argv[2], "wb"))
'''


def _every(text: str, n: int, add) -> str:
    words = text.split(" ")
    return " ".join(add(w) if i % n == n - 1 else w for i, w in enumerate(words))


def texts(kb: int) -> dict:
    udhr = CORPORA / "multilingual" / "udhr2"
    out = {}
    for lang in ("fra", "deu"):
        prose = (udhr / f"{lang}.txt").read_text(encoding="utf-8")
        for kind, text in ((lang, prose), (f"{lang}, ' :' every 40 words", _every(prose, 40, lambda w: w + " :")),
                           (f"{lang}, 'été:' lines", _every(prose, 40, lambda w: w + "\nété: " + w))):
            text = (text + "\n") * (kb * 1024 // len(text.encode()) + 1)
            for as_lang in ("yaml", "python"):
                out[f"{kind} as {as_lang}"] = [(text, as_lang)]
    code = [json.loads(line) for line in gzip.open(CORPORA / "code" / "code_sample.jsonl.gz", "rt", encoding="utf-8")]
    out["code sample"] = [(d["content"], d["lang"].lower()) for d in code]
    out["code sample, a 'sécret =' line each"] = [(d["content"] + '\nsécret = "Xk9mP2qLz7WqR4tY"\n', d["lang"].lower()) for d in code]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="main")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kb", type=int, default=400, help="kilobytes of each prose text")
    a = ap.parse_args()
    sets = texts(a.kb)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this": REPO, a.base: export(a.base, Path(tmp) / "base")}
        data = Path(tmp) / "texts.pkl"
        pickle.dump(sets, open(data, "wb"))
        secs, outs = {k: {n: [] for n in sets} for k in trees}, {}
        for r in range(a.rounds):
            for name, tree in trees.items():
                res = Path(tmp) / f"{name.replace('/', '_')}.pkl"
                subprocess.run([sys.executable, "-c", CHILD, str(data), str(res)], cwd=tree, check=True,
                               env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
                outs[name], got = pickle.load(open(res, "rb"))
                for n, s in got.items():
                    secs[name][n].append(s)
    base = a.base
    print(f"{'text':42s} {'MB':>6s} {'this MB/s':>10s} {base + ' MB/s':>10s} {'ratio':>6s} {'outputs differ':>15s}")
    for n, docs in sets.items():
        mb = sum(len(t.encode()) for t, _ in docs) / 1e6
        this, other = (statistics.median(secs[k][n]) for k in ("this", base))
        differ = sum(x != y for x, y in zip(outs["this"][n], outs[base][n]))
        print(f"{n:42s} {mb:6.2f} {mb / this:10.1f} {mb / other:10.1f} {other / this:6.2f} {differ:>8d} of {len(docs)}")


if __name__ == "__main__":
    main()
