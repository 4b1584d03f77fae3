"""Seconds ``decontaminate``'s ``cut_text`` takes over one page holding many items, this checkout
against a git ref exported in the same run (default ``69950eb``, before a straight ``"`` was a
quote and a ``’`` after an item asked whether the page opened a ``‘``): a cut's work must grow with the
page, not with the page times its cuts.

Each page holds ``--items`` evaluation items of 15 words apart (a sentence between), each ending
in a plural possessive (``students’``, a ’ after its last word) and, with ``--quoted``, in a
British ‘…’ opened before it: the pages where a cut asks whether the page opened a single quote.
Each tree runs in its own process, alternating, ``--rounds`` times; the best of each is printed.

    python bench/bench_cut_page.py [--items 250,1000,4000] [--quoted] [--rounds 3] [--base 69950eb]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parent.parent

CUT = """
import random, sys, time
from curate.stages.decontaminate import DecontaminateStage
rng, n, quoted, ev = random.Random(1), int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
vocab = [f"w{i}x" for i in range(5000)]
items = [" ".join(rng.choice(vocab) for _ in range(15)) for _ in range(1000)]
open(ev, "w").write("\\n".join(items) + "\\n")
st = DecontaminateStage({"eval_sets": [{"glob": ev}], "mode": "cut"}).setup()
sep = " and then he said that it was all written down by hand " + ("‘" if quoted else "")
page = sep.join(f"{it}’" for it in (items * (n // len(items) + 1))[:n])
t = time.perf_counter(); st.cut_text(page); print(time.perf_counter() - t)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", default="250,1000,4000")
    ap.add_argument("--quoted", action="store_true", help="each item in ‘…’ (the page opened the quote)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--base", default="69950eb")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = export(a.base, Path(tmp) / "base")
        print(f"one page of N items, each ending in ’{' inside ‘…’' if a.quoted else ''}; best of {a.rounds}")
        for n in [int(x) for x in a.items.split(",")]:
            best = {}
            for _ in range(a.rounds):
                for name, tree in (("this", REPO), (a.base, base)):
                    out = subprocess.run([sys.executable, "-c", CUT, str(n), str(int(a.quoted)), str(Path(tmp) / "ev.txt")], cwd=tree,
                                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
                    best[name] = min(best.get(name, float("inf")), float(out.stdout))
            print(f"  {n:>6,} items: this {best['this']:.3f} s  {a.base} {best[a.base]:.3f} s  ratio {best['this'] / best[a.base]:.2f}")


if __name__ == "__main__":
    main()
