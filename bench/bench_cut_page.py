"""Seconds ``decontaminate``'s ``cut_text`` takes over one page holding many items, this checkout
against a git ref exported in the same run (default ``69950eb``, before a straight ``"`` was a
quote and a ``’`` after an item asked whether the page opened a ``‘``): a cut's work must grow with the
page, not with the page times its cuts.

Each page holds ``--items`` evaluation items of 15 words apart (a sentence between), each ending
in a plural possessive (``students’``, a ’ after its last word) and, with ``--quoted``, in a
British ‘…’ opened before it: the pages where a cut asks whether the page opened a single quote.
Each tree runs in its own process, alternating, ``--rounds`` times; the best of each is printed.

``--diff``: the page is a unified diff of N hunks (cut as code), the first removing an item's line, so
each later hunk's header is recounted (``_header_removed`` per header).

``--python``: the page is a Python file of N small functions (many alike lines) with an item in one
in the middle, timed through ``cut_python`` (the cut, then the statements holding the cut lines found
and removed so the file still parses); compare with ``--base 8c53495`` (a ``difflib`` over the
file's lines, quadratic in alike lines).

``--escaped``: the page is one string of N lines joined by ``\\n`` escapes (a JSON string, a log),
each item glued to the escape before it (``row 7\\nITEM\\n``): every cut asks which word only the
escapes' reading matched (compare with ``--base adb015b``, a token list and a normalisation per cut).

    python bench/bench_cut_page.py [--items 250,1000,4000] [--quoted | --diff | --python | --escaped] [--rounds 3] [--base 69950eb]
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
code = f"return {items[0].split()[0]}(" + ", ".join(items[0].split()[1:]) + ")"  # --python's item: a statement
open(ev, "w").write("\\n".join(items + ([code] if sys.argv[4] == "2" else [])) + "\\n")
st = DecontaminateStage({"eval_sets": [{"glob": ev}], "mode": "cut"}).setup()
sep = " and then he said that it was all written down by hand " + ("‘" if quoted else "")
if sys.argv[4] == "2":  # a Python file of n small functions, an item in one in the middle
    funcs = "".join(f"def f{i}(x):\\n    if x:\\n        return 1\\n\\n    return 0\\n\\n\\n" for i in range(n // 2))
    page = funcs + f"def g(x):\\n    {code}\\n" + funcs.replace("def f", "def h")
    t = time.perf_counter(); st.cut_python(page); print(time.perf_counter() - t); sys.exit()
if sys.argv[4] == "1":  # a unified diff of n hunks, the first removing an item's line: each later header recounted
    page = "--- a/f\\n+++ b/f\\n" + f"@@ -1,4 +1,3 @@\\n ctx\\n-{items[0]}\\n-old\\n+new\\n ctx\\n" + "".join(
        f"@@ -{10 * h + 1},3 +{10 * h},3 @@\\n ctx{h}\\n-old{h}\\n+new{h}\\n ctx{h}\\n" for h in range(1, n))
elif sys.argv[4] == "3":  # one string of n lines, each item glued to a \\n escape before it
    page = '"' + "".join(f"row {i} of words\\\\n{it}\\\\n" for i, it in enumerate((items * (n // len(items) + 1))[:n])) + '"'
else:
    page = sep.join(f"{it}’" for it in (items * (n // len(items) + 1))[:n])
t = time.perf_counter(); st.cut_text(page, prose=sys.argv[4] != "1"); print(time.perf_counter() - t)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", default="250,1000,4000")
    ap.add_argument("--quoted", action="store_true", help="each item in ‘…’ (the page opened the quote)")
    ap.add_argument("--diff", action="store_true", help="a unified diff of N hunks (cut as code), the first holding the item")
    ap.add_argument("--python", action="store_true", help="a Python file of N small functions, an item in one (cut_python)")
    ap.add_argument("--escaped", action="store_true", help="one string of N lines joined by \\n escapes, an item after each")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--base", default="69950eb")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = export(a.base, Path(tmp) / "base")
        print(f"a Python file of N small functions, an item in one, through cut_python; best of {a.rounds}" if a.python else
              f"a diff of N hunks, the first cut, the rest recounted; best of {a.rounds}" if a.diff else
              f"one string of N lines joined by \\n escapes, each item glued to one; best of {a.rounds}" if a.escaped else
              f"one page of N items, each ending in ’{' inside ‘…’' if a.quoted else ''}; best of {a.rounds}")
        for n in [int(x) for x in a.items.split(",")]:
            best = {}
            for _ in range(a.rounds):
                for name, tree in (("this", REPO), (a.base, base)):
                    out = subprocess.run([sys.executable, "-c", CUT, str(n), str(int(a.quoted)), str(Path(tmp) / "ev.txt"), str(3 if a.escaped else 2 if a.python else int(a.diff))],
                                         cwd=tree,
                                         env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
                    best[name] = min(best.get(name, float("inf")), float(out.stdout))
            print(f"  {n:>6,} items: this {best['this']:.3f} s  {a.base} {best[a.base]:.3f} s  ratio {best['this'] / best[a.base]:.2f}")


if __name__ == "__main__":
    main()
