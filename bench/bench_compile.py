"""Cold-compile CPU seconds of each of curate's numba kernels: this checkout against a base revision.

    python bench/bench_compile.py [--base main] [--rounds 3] [--only secrets]

What a user's first run (and CI's clean checkout) pays once: each kernel compiled from an empty
numba cache (``NUMBA_CACHE_DIR``, a fresh folder each time). Each (kernel, argument types) runs in a
fresh process with the version's ``curate/`` first on sys.path: numba is started first (a trivial
function compiled: its start-up, printed on its own line) and then the kernel is called once, the
CPU seconds of that call being its compile (and cache write). "all, one process" is every kernel
in one process, as tests/conftest.py's ``_COMPILE`` and a first ``curate`` run pay them. The versions
take turns, ``--rounds`` times; printed: the median of each, and the ratio base / this checkout.
The base revision's ``curate/`` is exported with ``git archive`` (bench/base_tree.py).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parents[1]

# Each kernel called as curate calls it, on the argument types it gets: an ASCII text's code points
# are uint8, a wider text's uint32 (redact.code_points), each a signature of its own.
SETUP = r'''
import numpy as np
from curate.stages.filters import code, gopher_repetition, rules, secrets
from curate.stages.filters.redact import code_points
A, W = code_points("a b a b pass = 1"), code_points("\u00e9 \u00e8 pass\u200bword = 1")
'''
KERNELS = {
    # (the kernel itself: ``candidates`` scans in Python where numba is not set up, as here)
    "secrets._candidates, ASCII": "secrets._candidates(A, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, None)",
    "secrets._candidates, wider": "secrets._candidates(W, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, secrets._USTARTS)",
    "secrets._read_invisible_runs": "secrets._read_invisible_runs(W, secrets._USTARTS)",
    "rules._count_flags, ASCII + wider": "rules._count_flags(A, rules.flag_table(A)); rules._count_flags(W, rules.flag_table(W))",
    "rules._scan_words, ASCII + wider": "rules._scan_words(A, rules.flag_table(A), False); rules._scan_words(W, rules.flag_table(W), True)",
    "code._scan, ASCII + wider": "code._scan(A, rules.flag_table(A), code._B64); code._scan(W, rules.flag_table(W), code._B64)",
    "gopher._ngram_counts": "gopher_repetition._ngram_counts(np.array([3, 5, 3, 5], np.uint64), np.ones(4, np.int64), 2)",
    "minhash (batch_signatures)": "from curate.stages.dedup import minhash; minhash.batch_signatures(['a b c d e f g h'])",
}
ALL = "all, one process"
# the trivial kernel is compiled inside the timing for "all": a first run pays numba's start-up too
CHILD = SETUP + r'''
import sys, time
import numba
kernel = sys.argv[1]
t = time.process_time()
numba.njit(lambda x: x + 1)(1)  # numba's start-up: its first compile
start_up = time.process_time() - t
t = time.process_time()
exec(kernel)
print(start_up, time.process_time() - t + (start_up if sys.argv[2] == "all" else 0))
'''


def cold(root: Path, kernel: str, all_: bool, cache: Path) -> tuple[float, float]:
    """(numba's start-up, the kernel's compile) in CPU seconds, in a fresh process, an empty cache."""
    r = subprocess.run([sys.executable, "-c", CHILD, kernel, "all" if all_ else "one"], cwd=cache, capture_output=True, text=True,
                       env={"PYTHONPATH": str(root), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NUMBA_CACHE_DIR": str(cache),
                            "PYTHONDONTWRITEBYTECODE": "1"})
    if r.returncode:
        sys.exit(f"{root}: {kernel}: {r.stderr.strip()[-2000:]}")
    start_up, secs = map(float, r.stdout.split()[-2:])
    return start_up, secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="", help="the kernels whose label holds this text (and the total)")
    args = ap.parse_args()
    kernels = {k: v for k, v in KERNELS.items() if args.only in k}
    kernels[ALL] = "; ".join(KERNELS.values())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        versions = {args.base: export(args.base, tmp / "base"), "this checkout": REPO}
        secs = {(v, k): [] for v in versions for k in kernels}
        start = {v: [] for v in versions}
        for r in range(args.rounds):
            for label, code in kernels.items():
                for name, root in (versions.items() if r % 2 == 0 else reversed(versions.items())):
                    cache = Path(tempfile.mkdtemp(dir=tmp, prefix="numba-"))
                    s, t = cold(root, code, label == ALL, cache)
                    start[name].append(s)
                    secs[name, label].append(t)
    med = {key: statistics.median(v) for key, v in secs.items()}
    print(f"numba kernels' cold compile, empty cache, CPU seconds, median of {args.rounds} (alternated), load "
          f"{os.getloadavg()[0]:.1f}:")
    print(f"  {'kernel':36s} {args.base:>10s} {'this':>10s}  ratio")
    rows = [("numba start-up (a trivial kernel)", statistics.median(start[args.base]), statistics.median(start["this checkout"]))]
    rows += [(k, med[args.base, k], med["this checkout", k]) for k in kernels]
    for label, b, t in rows:
        print(f"  {label:36s} {b:10.2f} {t:10.2f}  {b / t:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
