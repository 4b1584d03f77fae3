"""How many real pages ``decontaminate``'s cut leaves with a wrong number of straight ``"``, this
checkout against git refs exported in the same run (default ``69950eb``, where ``"`` was no quote,
and ``298fb65``, where it first was one).

Pages: the Dolma web sample (526), data-juicer's demo samples, and 6 Gutenberg books in pages of
40 paragraphs (1,026 in all, from ``../shared/corpora``). On 70% of them one sentence (a whole
paragraph in the books) of 15 or more words and an even number of ``"`` is the evaluation item
(seeded choice). Ground truth, independent of the cut: the page minus that sentence holds
``page.count('"') - sentence.count('"')``; a cut page with another count kept or lost a quote.
That truth fails where the page holds a second copy of its sentence or another page's (a wiki
page's markup and plain text, Gutenberg's licence in every book): those are cut too. The wrong
pages are also counted without them (``alone``: no 13 words of the page, as ``re`` reads words,
are another sentence's, nor more of them the sentence's than it has).

    python bench/bench_cut_quotes.py [--base 69950eb,298fb65] [--corpora ../shared/corpora]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parent.parent

CUT = """
import glob, gzip, json, random, re, sys
from curate.stages.decontaminate import DecontaminateStage
corpora, tmp = sys.argv[1], sys.argv[2]
pages = [("web", json.loads(l)["text"]) for l in gzip.open(f"{corpora}/web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
for f in sorted(glob.glob(f"{corpora}/web/datajuicer_demo_samples/*.jsonl")):
    for l in open(f):
        try:
            pages.append(("dj", json.loads(l)["text"]))
        except Exception:
            pass
for f in sorted(glob.glob(f"{corpora}/books/gutenberg_misc/pg*.txt"))[:6]:
    paras = open(f, encoding="utf-8", errors="replace").read().replace("\\r\\n", "\\n").split("\\n\\n")
    pages += [("book", "\\n\\n".join(paras[i : i + 40])) for i in range(0, len(paras), 40)]
rng, items, plan = random.Random(1), [], []
for kind, p in pages:
    sents = [s.strip() for s in (p.split("\\n\\n") if kind == "book" else re.findall(r"[^\\n.!?]*[.!?]", p))
             if len(s.split()) >= 15 and s.count('"') % 2 == 0]
    if not sents or rng.random() < 0.3:
        plan.append(None)
        continue
    q = [s for s in sents if '"' in s]
    s = rng.choice(q) if q and rng.random() < 0.8 else rng.choice(sents)
    items.append(s)
    plan.append(s)
open(f"{tmp}/ev.txt", "w").write("\\n".join(x.replace("\\n", " ") for x in items) + "\\n")
st = DecontaminateStage({"eval_sets": [{"glob": f"{tmp}/ev.txt"}], "mode": "cut"}).setup()
json.dump({"pages": [p for _, p in pages], "plan": plan, "out": [st.cut_text(p) for _, p in pages]}, sys.stdout)
"""


def _grams(text: str) -> list[tuple]:
    """``text``'s 13-word windows, words as runs of letters, lower case (no stage code)."""
    w = re.findall(r"[^\W\d_]+", text.lower())
    return [tuple(w[i : i + 13]) for i in range(len(w) - 12)]


def _alone(pages: list[str], plan: list) -> set[int]:
    """The pages whose item is their one: no window of another item, none of their own twice."""
    owner: dict[tuple, set] = {}
    for i, s in enumerate(plan):
        for g in _grams(s or ""):
            owner.setdefault(g, set()).add(i)
    alone = set()
    for i, s in enumerate(plan):
        if s is None:
            continue
        own, seen = set(_grams(s)), Counter()
        for g in _grams(pages[i]):
            if g in own:
                seen[g] += 1
            elif g in owner:
                break
        else:
            if all(n <= 1 for n in seen.values()):
                alone.add(i)
    return alone


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="69950eb,298fb65")
    ap.add_argument("--corpora", default=str(REPO / "../shared/corpora"))
    a = ap.parse_args()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("this", REPO)]
        for ref in a.base.split(","):
            trees.append((ref, export(ref, Path(tmp) / ref)))
        for name, tree in trees:
            out = subprocess.run([sys.executable, "-c", CUT, str(Path(a.corpora).resolve()), tmp], cwd=tree,
                                 env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
            runs[name] = json.loads(out.stdout)
    first = trees[1][0]
    for name, _ in trees:
        r = runs[name]
        planned = [i for i, s in enumerate(r["plan"]) if s is not None]
        cut = [i for i in planned if r["out"][i] != r["pages"][i]]
        wrong = [i for i in cut if r["out"][i].count('"') != r["pages"][i].count('"') - r["plan"][i].count('"')]
        differ = sum(x != y for x, y in zip(r["out"], runs[first]["out"]))
        alone = _alone(r["pages"], r["plan"])
        print(f"{name:>8}: {len(r['pages']):,} pages, {len(planned)} with an item, {len(cut)} cut, "
              f'{len(wrong)} with a wrong number of " ({len(alone & set(wrong))} of the {len(alone & set(cut))} cut '
              f"holding their item alone); {differ} differ from {first}")


if __name__ == "__main__":
    main()
