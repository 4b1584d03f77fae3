"""The secrets scan's cost at characters that start a non-ASCII password name (Russian "п", 密, 비).

Each such character makes the scan look for a name (contraseña, пароль, 密码, ...); review70 found that
look cost ~100x any other non-ASCII character. This prints the scan's MB/s on a text made only of such
characters and on one made of another non-ASCII character, best of --rounds in one process, and
their ratio (the look's cost; review70 measured ~20x after its fix, ~45x before). Also the scan (``candidates``, its
code points included) over the shared code sample's ASCII files, each a call, and on an ASCII text no pair of which starts
a test (its loop alone): a kernel's change (its signatures, its loop's shape: cold45's ASCII-only signature scanned code
0.55x) shows there, the non-ASCII texts above never take that path.

    python bench/bench_secrets_scan.py [--base main]

With ``--base REV`` the rows are measured for this checkout and REV's ``curate/`` (exported with ``git archive``), each
in its own process, the two taking turns ``--rounds`` times: each row's median of the processes' figures, and the
ratio this/base (a kernel's change, sec50's table of words and its ASCII signature without the non-ASCII branch,
shown against the scan before it in one run)."""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curate.stages.filters import secrets
from curate.stages.filters.redact import code_points

CODE = Path(os.environ.get("CURATE_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")) / "code" / "code_sample.jsonl.gz"


def warm_up(secrets) -> None:
    """Load the scan's kernels (ASCII and wider signatures): ``candidates`` then runs them, not their Python (a process
    that made no kernel scans its first 1M characters so)."""
    if hasattr(secrets, "warm_up"):
        secrets.warm_up()
    else:  # a base tree before it: ``candidates`` compiles them
        secrets.candidates("a b")
        secrets.candidates("\u00e9 \u00e8")


def best(text: str, rounds: int) -> float:
    cps = code_points(text)
    secrets._candidates(cps, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, secrets._USTARTS)  # compiles (or loads) the kernel
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        secrets._candidates(cps, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, secrets._USTARTS)
        out = min(out, time.perf_counter() - t0)
    return out


def best_files(texts: list, rounds: int) -> float:
    """Best of ``rounds`` CPU seconds of ``candidates`` over ``texts``, each a call (its code points made, as the filter does)."""
    warm_up(secrets)
    out = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for t in texts:
            secrets._LAST[0] = (None, None)  # not the cached answer
            secrets.candidates(t)
        out = min(out, time.process_time() - t0)
    return out


def rows(chars: int, rounds: int) -> dict:
    """{row: MB/s} of this process's ``curate``."""
    texts = {"name starts (п密비)": "п密비" * (chars // 3), "other non-ASCII (ж)": "ж" * chars}
    secs = {k: best(t, rounds) for k, t in texts.items()}
    out = {k: len(t.encode()) / secs[k] / 1e6 for k, t in texts.items()}
    out["ratio (name starts / other, time)"] = secs["name starts (п密비)"] / secs["other non-ASCII (ж)"]
    ascii_texts = {"ASCII, no test's pair (z)": ["z" * chars * 2]}
    if CODE.exists():
        with gzip.open(CODE, "rt", encoding="utf-8") as f:
            ascii_texts["code sample's ASCII files"] = [t for t in (json.loads(line)["content"] for line in f) if t.isascii()]
    for k, texts in ascii_texts.items():
        out[k + " (CPU)"] = sum(map(len, texts)) / best_files(texts, rounds) / 1e6
    return out


def against(base: str, chars: int, rounds: int, turns: int) -> None:
    """Each row for this checkout and ``base``, in turns, a process each: medians and the ratio this/base."""
    from base_tree import export  # bench/ is first on sys.path

    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this": Path(__file__).resolve().parents[1], base: export(base, Path(tmp) / "base")}
        got = {k: [] for k in trees}
        for r in range(turns):
            for name, tree in (trees.items() if r % 2 == 0 else reversed(trees.items())):
                p = subprocess.run([sys.executable, __file__, "--json", "--chars", str(chars), "--rounds", str(rounds)], cwd=tree,
                                   env={**os.environ, "PYTHONPATH": str(tree)}, check=True, capture_output=True, text=True)
                got[name].append(json.loads(p.stdout.splitlines()[-1]))
    print(f"secrets scan, median of {turns} processes each (alternated), load {os.getloadavg()[0]:.1f}:")
    print(f"  {'row':40s} {'this':>9s} {base:>9s}  this/base")
    for k in got["this"][0]:
        t, b = (statistics.median(x[k] for x in got[v]) for v in trees)
        unit = "x" if k.startswith("ratio") else "MB/s"
        print(f"  {k:40s} {t:9.1f} {b:9.1f}  {t / b:5.2f}   ({unit})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chars", type=int, default=210_000, help="characters per text")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base", help="a git revision to measure beside this checkout, in turns")
    ap.add_argument("--turns", type=int, default=3, help="with --base: processes of each version")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.base:
        return against(a.base, a.chars, a.rounds, a.turns)
    out = rows(a.chars, a.rounds)
    if a.json:
        print(json.dumps(out))
        return
    for k, v in out.items():
        print(f"{k:40s} {v:9.1f} {'x' if k.startswith('ratio') else 'MB/s'}")

if __name__ == "__main__":
    main()
