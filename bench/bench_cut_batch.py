"""CPU a document of ``decontaminate``'s "cut" mode, this checkout against a git revision (default
``main``) in the same run, and proof that the two cut every document byte for byte the same.

Documents (seeded, from ``../shared/corpora``), nearly all contaminated: lingua's sentences of
English, French, German, Russian, Arabic, Chinese, Japanese and Thai, eight to a page (Chinese,
Japanese and Thai glued, as they write sentences); 6 Gutenberg books in pages of 40 paragraphs;
the code sample (Python ones through ``cut_python``, C and the rest cut as code). Into 9 of 10
documents one or two items are planted or chosen (a sentence of another page, in a bracket,
quotes, ``「」``, an argument list ``g(ITEM, y)``, or a run of 20-60 of the document's own
tokens), the items one evaluation set. Each side runs ``DecontaminateStage.process`` with
``mode = "cut"`` on batches of ``--batch`` documents in its own process (``PYTHONPATH`` at its
code), after a warm-up batch; the outputs (kept text, edits, ledger rows) are compared byte for
byte, and each side's CPU seconds (``time.process_time``) are the median of ``--rounds``
alternated runs.

    python bench/bench_cut_batch.py [--base main] [--rounds 3] [--batch 500] [--pages 40]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parent.parent
LANGS = ("en", "fr", "de", "ru", "ar", "zh", "ja", "th")
GLUED = ("zh", "ja", "th")  # no space between sentences
# how an item stands on its page: the seams and pairs the cut tidies
FRAMES = ("{}", "({})", "“{}”", '"{}",', "«{}»", "g({}, y)", "g(x, {})", "g({},y)", "「{}」、")

RUN = """
import json, pickle, sys, time
import pyarrow as pa
from curate.schema import docs_from_rows
from curate.stages.decontaminate import DecontaminateStage
docs, ev, rounds, size = pickle.load(open(sys.argv[1], "rb")), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
stage = DecontaminateStage({"eval_sets": [{"glob": ev}], "mode": "cut"}).setup()
rows = [dict(id=f"d{i}", text=t, domain=dom, source="bench", path="docs.jsonl", offset=i, url=None, language=lang, meta=None)
        for i, (dom, lang, t) in enumerate(docs)]
batches = [docs_from_rows(rows[i : i + size]) for i in range(0, len(rows), size)]
stage.process(batches[0].slice(0, 20))  # warm-up: numba kernels, regex compiles
out, cpu = {}, []
for _ in range(rounds):
    t = time.process_time()
    results = [stage.process(b) for b in batches]
    cpu.append(time.process_time() - t)
for kept, ledger in results:
    for d in kept.select(["id", "text", "edits"]).to_pylist():
        out[d["id"]] = json.dumps([d["text"], d["edits"]], default=str)
    for d in ledger.select(["id", "rule", "kept_id", "snippet"]).to_pylist():
        out[d["id"]] = json.dumps(["removed", d["rule"], d["kept_id"], d["snippet"]])
json.dump({"cpu": cpu, "out": out}, sys.stdout)
"""


def _lingua(corpora: Path) -> dict:
    with open(corpora / "multilingual/lingua_sentences_dev.tsv", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return {lang: [t for l, t in rows if l == lang] for lang in LANGS}


def _own_run(text: str, rng: random.Random) -> tuple[str, str] | None:
    """A run of 20-60 of ``text``'s whitespace-separated tokens (its item), or None."""
    toks = [m.span() for m in re.finditer(r"\S+", text)]
    k = rng.randrange(20, 61)
    if len(toks) < k + 10:
        return None
    i = rng.randrange(len(toks) - k)
    return " ".join(text[toks[i][0] : toks[i + k - 1][1]].split())


def documents(corpora: Path, pages: int, seed: int = 53) -> tuple[list[tuple[str, str, str]], list[str]]:
    """((domain, language, text) of every document, the evaluation items)."""
    rng, docs, items = random.Random(seed), [], []
    for lang, sents in _lingua(corpora).items():
        long = [s for s in sents if len(s) >= (40 if lang in GLUED else 90)]  # 13 words or pieces, and more
        for p in range(pages):
            page = rng.sample(sents, 8)
            if rng.random() < 0.9:
                for _ in range(rng.choice((1, 1, 2))):
                    item = rng.choice(long)
                    items.append(item)
                    page.insert(rng.randrange(len(page) + 1), rng.choice(FRAMES).format(item))
            docs.append(("web", lang, ("" if lang in GLUED else " ").join(page)))
    books = []
    for f in sorted((corpora / "books/gutenberg_misc").glob("pg*.txt"))[:6]:
        paras = f.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").split("\n\n")
        books += ["\n\n".join(paras[i : i + 40]) for i in range(0, len(paras), 40)]
    with gzip.open(corpora / "code/code_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        code = [(d["lang"], d["content"]) for d in map(json.loads, f)]
    for dom, lang, text in [("books", None, b) for b in rng.sample(books, min(len(books), pages * 2))] + \
                           [("code", lang, t) for lang, t in rng.sample(code, min(len(code), pages * 5))]:
        for _ in range(rng.choice((1, 1, 2)) if rng.random() < 0.9 else 0):
            item = _own_run(text, rng)
            if item:
                items.append(item)
        docs.append((dom, lang, text))
    return docs, items


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main", help="git revision to compare with (its curate/ only)")
    ap.add_argument("--corpora", default=str(REPO / "../shared/corpora"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=500, help="documents a process() call (the pipeline's batches)")
    ap.add_argument("--pages", type=int, default=40, help="pages a language (books: twice, code files: five times as many)")
    a = ap.parse_args()
    docs, items = documents(Path(a.corpora).resolve(), a.pages)
    with tempfile.TemporaryDirectory() as tmp:
        import pickle

        (Path(tmp) / "docs.pkl").write_bytes(pickle.dumps(docs))
        ev = Path(tmp) / "eval.jsonl"
        ev.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in dict.fromkeys(items)), encoding="utf-8")
        trees = {a.base: export(a.base, Path(tmp) / "base"), "this checkout": REPO}
        runs = {name: [] for name in trees}
        for _ in range(a.rounds):  # alternated: one round of each side, each in a fresh process
            for name, tree in trees.items():
                r = subprocess.run([sys.executable, "-c", RUN, str(Path(tmp) / "docs.pkl"), str(ev), "1", str(a.batch)], cwd=tree,
                                   env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
                if r.returncode:
                    sys.exit(f"{name}: {r.stderr.strip()[-2000:]}")
                runs[name].append(json.loads(r.stdout))
    kinds = {}
    for dom, lang, _ in docs:
        k = dom if dom != "web" else lang
        kinds[k] = kinds.get(k, 0) + 1
    print(f"{len(docs):,} documents ({', '.join(f'{k} {v}' for k, v in kinds.items())}), {len(set(items)):,} items, "
          f"batches of {a.batch}; CPU seconds, median of {a.rounds} alternated runs")
    outs = {name: r[0]["out"] for name, r in runs.items()}
    base, head = outs.values()
    differ = sorted(k for k in base.keys() | head.keys() if base.get(k) != head.get(k))
    digest = {name: hashlib.sha256(json.dumps(o, sort_keys=True).encode()).hexdigest()[:12] for name, o in outs.items()}
    cpu = {}
    for name, r in runs.items():
        cpu[name] = statistics.median(x["cpu"][0] for x in r)
        got = [json.loads(v) for v in outs[name].values()]
        removed = sum(g[0] == "removed" for g in got)
        cut = sum(g[0] != "removed" and g[1] is not None for g in got)
        print(f"{name:>14}: {cpu[name]:.2f} CPU-s, {1000 * cpu[name] / len(docs):.2f} ms a document; "
              f"{cut:,} cut, {removed:,} removed; output {digest[name]}")
    print(f"documents whose output differs: {len(differ)}" + (f" (first: {differ[:5]})" if differ else ""))
    print(f"this checkout / {a.base}: {cpu['this checkout'] / cpu[a.base]:.2f}x CPU")


if __name__ == "__main__":
    main()
