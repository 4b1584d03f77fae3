"""Whether ``decontaminate``'s cut keeps every word of a real document that is not the item's, in
order: this checkout against git refs exported in the same run (default ``main``).

Documents from ``../shared/corpora``: 6 Gutenberg books in pages of 40 paragraphs, the Dolma web
sample (cut as prose) and the code sample (cut as code). In each, one or two seeded runs of 20-60
whitespace-separated tokens are the evaluation items (the document's own text, one line each).
Ground truth, independent of the cut: the document's words (``re``'s ``[^\\W_]+``: letters and
digits) outside the items' characters, which ``difflib`` must find in the cut output unchanged
and in order (only deletions, each of an item's words). A document that holds a second copy of
an item (a book's repeated heading, a page's repeated line) has it cut too, as does a copy
within the match's tolerance (a word in 13 differing); those are counted apart (``copies``: each
run lost outside the items is the items' words but for 15% of it, or one word).

    python bench/bench_cut_words.py [--base main] [--corpora ../shared/corpora] [--show 3]
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parent.parent

CUT = """
import glob, gzip, inspect, json, os, random, re, sys, tempfile
from curate.stages.decontaminate import DecontaminateStage
corpora, tmp = sys.argv[1], sys.argv[2]
docs = []
for f in sorted(glob.glob(f"{corpora}/books/gutenberg_misc/pg*.txt"))[:6]:
    paras = open(f, encoding="utf-8", errors="replace").read().replace("\\r\\n", "\\n").split("\\n\\n")
    docs += [("books", "\\n\\n".join(paras[i : i + 40]), "") for i in range(0, len(paras), 40)]
docs += [("web", json.loads(l)["text"], "") for l in gzip.open(f"{corpora}/web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
docs += [("code", d["content"], d["lang"]) for d in map(json.loads, gzip.open(f"{corpora}/code/code_sample.jsonl.gz", "rt"))]
rng, out = random.Random(25), []
for n, (kind, text, lang) in enumerate(docs):
    toks = [m.span() for m in re.finditer(r"\\S+", text)]
    spans = []
    for _ in range(rng.choice([1, 1, 2])):
        k = rng.randrange(20, 61)
        if len(toks) < k + 10:
            break
        i = rng.randrange(len(toks) - k)
        s, e = toks[i][0], toks[i + k - 1][1]
        if all(e <= a or s >= b for a, b in spans):
            spans.append((s, e))
    if not spans:
        continue
    ev = f"{tmp}/ev{n}.txt"
    open(ev, "w", encoding="utf-8").write("\\n".join(" ".join(text[s:e].split()) for s, e in spans) + "\\n")
    st = DecontaminateStage({"eval_sets": [{"glob": ev}], "mode": "cut"}).setup()
    py = getattr(st, "cut_python", None) if kind == "code" and lang.lower() == "python" else None
    # a code document's language reaches the cut as the stage passes it (a tree before cut34 takes none)
    labelled = kind == "code" and "language" in inspect.signature(st.cut_counted).parameters
    got = st.cut_counted(text, prose=False, language=lang)[0] if labelled else st.cut_text(text, prose=kind != "code")
    out.append({"kind": kind, "lang": lang, "text": text, "spans": sorted(spans), "out": got,
                "py": py(text) if py else None})
    os.remove(ev)
json.dump(out, sys.stdout)
"""

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# words: runs of letters and digits, each Han or kana character one (as the stage reads them)
WORD = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")


def _letters(word: str) -> str:
    """``word`` as the match reads it: digits are no letters (``uint8`` and ``uint16`` are ``uint``)."""
    return re.sub(r"\d", "", word.lower())


def _check(d: dict) -> str:
    """"ok" (the words outside the items are the output's, in order, each whole), "copies" (but
    for runs of another copy of an item, cut too: no more than 15% of a run's words, or one, are
    not the item's, as the match allows) or "wrong" (a word lost, split or glued)."""
    words = [(m.group(), m.start()) for m in WORD.finditer(d["text"])]
    rest = [w for w, at in words if not any(s <= at < e for s, e in d["spans"])]
    ops = difflib.SequenceMatcher(None, rest, WORD.findall(d["out"]), autojunk=False).get_opcodes()
    lost = [rest[a:b] for op, a, b, _, _ in ops if op in ("delete", "replace")]  # an insert: an item's word left
    if not lost:
        return "ok"
    own = {_letters(w) for s, e in d["spans"] for w in WORD.findall(d["text"][s:e])}
    for run in lost:
        if sum(_letters(w) not in own for w in run) > max(1, int(0.15 * len(run))):
            return "wrong"
    return "copies"


def _parses(src: str) -> bool:
    try:
        ast.parse(src)
    except (SyntaxError, ValueError):
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main")
    ap.add_argument("--corpora", default=str(REPO / "../shared/corpora"))
    ap.add_argument("--show", type=int, default=0, help="print this many wrong documents' first difference per tree")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("this", REPO)]
        for ref in filter(None, a.base.split(",")):
            trees.append((ref, export(ref, Path(tmp) / ref.replace("/", "_"))))
        for name, tree in trees:
            r = subprocess.run([sys.executable, "-c", CUT, str(Path(a.corpora).resolve()), tmp], cwd=tree,
                               env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
            docs = json.loads(r.stdout)
            for kind in ("books", "web", "code"):
                ds = [d for d in docs if d["kind"] == kind]
                verdict = [_check(d) for d in ds]
                cut = sum(d["out"] != d["text"] for d in ds)
                line = (f"{name:>8} {kind:>5}: {len(ds):,} documents with an item, {cut:,} cut; every other word kept in "
                        f"order: {verdict.count('ok'):,}, besides a second copy cut: {verdict.count('copies')}, "
                        f"a word lost or changed: {verdict.count('wrong')}")
                print(line)
                if kind == "code":  # the items are code themselves: a Python file that parsed and no longer does
                    py = [d for d in ds if d["lang"].lower() == "python" and _parses(d["text"])]
                    print(f"{'':>8} {'':>5}  Python files that parsed: {len(py):,}, cut: {sum(d['out'] != d['text'] for d in py):,}, "
                          f"no longer parse: {sum(not _parses(d['out']) for d in py):,}")
                    if any(d["py"] for d in py):  # cut_python: statements whole, else the document removed
                        kept = [d for d in py if d["py"] and d["py"][0] != d["text"]]
                        lost = sum(len(d["text"]) - len(d["py"][0]) - sum(e - s for s, e in d["spans"]) for d in kept)
                        print(f"{'':>8} {'':>5}  cut_python: kept {len(kept):,} (parse: {sum(_parses(d['py'][0]) for d in kept):,}; "
                              f"cut line by line {sum(d['py'][0] == d['out'] for d in kept):,}, statements whole "
                              f"{sum(d['py'][0] != d['out'] for d in kept):,}, characters beyond the items' {lost:,} of "
                              f"{sum(len(d['text']) for d in kept):,}), removed {sum(d['py'] is None for d in py):,}")
                for d in [d for d, v in zip(ds, verdict) if v == "wrong"][: a.show]:
                    w, g = WORD.findall(d["text"]), WORD.findall(d["out"])
                    ops = [o for o in difflib.SequenceMatcher(None, w, g, autojunk=False).get_opcodes() if o[0] != "equal"]
                    print("    ", [(op, w[i1:i2][:8], g[j1:j2][:8]) for op, i1, i2, j1, j2 in ops if op != "delete"][:2],
                          [d["text"][s:e][:60] for s, e in d["spans"]])


if __name__ == "__main__":
    main()
