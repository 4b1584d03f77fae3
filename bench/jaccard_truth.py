"""Exact word 5-gram Jaccard, written independently of curate (no curate import here, so a
bug in curate's normalisation or shingling cannot move the truth along with the system).

Normalisation follows the same published definition as dedup's (NFKC, lowercase, punctuation
/ symbols / format characters removed, each run of digits -> "0", words split on whitespace and
control characters; each Han, Hiragana and Katakana character a word of its own, as the dedup
stage's ``split_cjk``), implemented with the standard library and ``regex``: one
``str.translate`` table built from ``unicodedata`` categories, one script-class substitution. Shingles are tuples of 5 consecutive words kept
in a Python set (a text of fewer words is one shingle); for the candidate index each set is
stored as a sorted array of its tuples' 64-bit Python hashes.

Scores (``score``), for a removal map {removed id: (kept id, estimated Jaccard)}:

* recall per band of true Jaccard: of the documents whose most similar higher-priority
  document has J in [lo, hi), the share removed (higher priority = longer, then smaller id:
  curate's documented order when there is no quality score and one source);
* precision per band of the estimate: of the removals whose estimated J is in [lo, hi), the
  share whose true J with the kept document is >= 0.7;
* the removals' true J with the kept document, as a histogram.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict

import numpy as np
import regex

BANDS = ((0.7, 0.8), (0.8, 0.9), (0.9, 1.0001))
SPLIT = ((0.7, 0.75), (0.75, 0.8))  # the 0.7-0.8 band either side of dedup.verify (0.75), for recall
HIST = (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0001)


class _Table(dict):
    """``str.translate`` mapping, filled per code point on first sight: punctuation, symbols,
    format and unassigned characters removed; decimal digits -> "0"; other separators and
    control characters -> space; everything else unchanged."""

    def __missing__(self, cp: int):
        cat = unicodedata.category(chr(cp))
        if cat[0] in "PS" or cat in ("Cf", "Cn"):
            v = None
        elif cat == "Nd":
            v = "0"
        elif cat[0] == "Z" or cat == "Cc":
            v = " "
        else:
            v = cp
        self[cp] = v
        return v


_TABLE = _Table()


_CJK = regex.compile(r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]\p{M}*)")


def words(text: str) -> list[str]:
    t = unicodedata.normalize("NFKC", text).lower().translate(_TABLE)
    return _CJK.sub(r" \1 ", re.sub("0+", "0", t)).split()


def shingle_set(text: str, n: int = 5) -> set:
    w = words(text)
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def shingle_arrays(texts, n: int = 5) -> list[np.ndarray]:
    """Each text's shingle set as a sorted array of 64-bit hashes (collisions: negligible): the
    hashes of ``shingle_set``'s tuples, made by ``zip`` and deduplicated by ``np.unique`` (no set
    of tuples built first: a third of the time)."""
    out = []
    for t in texts:
        w = words(t)
        grams = zip(*(w[k:] for k in range(n))) if len(w) >= n else [tuple(w)] if w else []
        out.append(np.unique(np.fromiter(map(hash, grams), dtype=np.int64)))
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def similar_pairs(sets: list[np.ndarray], threshold: float) -> list[tuple[int, int, float]]:
    """Every pair (i < j) with exact Jaccard >= threshold (empty sets skipped). Prefix
    filtering: two sets with J >= t share one of their first |x| - ceil(t|x|) + 1 tokens in a
    global rare-first order, so only pairs sharing such a token are compared."""
    alltok = np.concatenate(sets) if sets else np.zeros(0, np.int64)
    uniq, where, df = np.unique(alltok, return_inverse=True, return_counts=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.lexsort((uniq, df))] = np.arange(len(uniq))
    # every token's rank at once: a searchsorted per set into the whole vocabulary was most of the time
    ranks = np.split(rank[where], np.cumsum([len(s) for s in sets])[:-1]) if sets else []
    postings = defaultdict(list)
    for i, s in enumerate(sets):
        if len(s):
            r = np.sort(ranks[i])
            for tok in r[: len(s) - math.ceil(threshold * len(s)) + 1].tolist():
                postings[tok].append(i)
    cand = {(d[x], d[y]) for d in postings.values() for x in range(len(d)) for y in range(x + 1, len(d))}
    out = []
    for i, j in sorted(cand):
        a, b = len(sets[i]), len(sets[j])
        if min(a, b) >= threshold * max(a, b):  # size filter
            jac = jaccard(sets[i], sets[j])
            if jac >= threshold:
                out.append((i, j, jac))
    return out


def priority(doc_id: str, text: str) -> tuple:
    return (-len(text), doc_id)  # smaller = kept first


def inside(x: float, band) -> bool:
    return band[0] <= x < band[1]


def score(removals: dict, ids, texts, sets, pairs) -> dict:
    """``removals``: {removed id: (kept id, estimated J)}; ``pairs``: similar_pairs(sets, 0.7)."""
    index = {d: i for i, d in enumerate(ids)}
    prio = [priority(d, t) for d, t in zip(ids, texts)]
    best = {}  # lower-priority member -> best J with a higher-priority one
    for i, j, jac in pairs:
        lo = i if prio[i] > prio[j] else j
        best[lo] = max(best.get(lo, 0.0), jac)
    removed = {index[d] for d in removals}
    recall = {}
    for band in BANDS + SPLIT:
        pos = [i for i, jac in best.items() if inside(jac, band)]
        recall[band] = (sum(i in removed for i in pos) / max(1, len(pos)), len(pos))
    true_j = {d: jaccard(sets[index[d]], sets[index[k]]) for d, (k, _) in removals.items()}
    precision = {}
    for band in BANDS:
        est = [d for d, (_, e) in removals.items() if inside(e, band)]
        precision[band] = (sum(true_j[d] >= 0.7 for d in est) / max(1, len(est)), len(est))
    hist = {b: sum(inside(j, b) for j in true_j.values()) for b in zip(HIST, HIST[1:])}
    positives = len(best)
    return dict(
        removed=len(removals),
        positives=positives,
        recall_07=len(set(best) & removed) / max(1, positives),
        precision_07=sum(j >= 0.7 for j in true_j.values()) / max(1, len(true_j)),
        recall=recall,
        precision=precision,
        removed_by_true_j=hist,
    )


def report(s: dict, estimates: bool = True) -> str:
    """``estimates``: False when the system reports no Jaccard estimate (no verification)."""
    f = lambda b: f"{b[0]:.1f}-{min(b[1], 1.0):.1f}"  # noqa: E731
    lines = [f"removed {s['removed']}; {s['positives']} documents have a higher-priority partner at J >= 0.7: "
             f"recall {s['recall_07']:.4f}; precision (true J >= 0.7) {s['precision_07']:.4f}"]
    lines.append("  band      recall (n)            precision of removals with the estimate in band (n)")
    for b in BANDS:
        (r, n), (p, m) = s["recall"][b], s["precision"][b]
        lines.append(f"  {f(b)}   {r:.4f} ({n:5d})       " + (f"{p:.4f} ({m:5d})" if estimates else "-"))
        if b == BANDS[0]:
            lines += [f"   {lo:.2f}-{hi:.2f}: {s['recall'][(lo, hi)][0]:.4f} ({s['recall'][(lo, hi)][1]:5d})" for lo, hi in SPLIT]
    lines.append("  removals by true J with the kept copy: "
                 + ", ".join(f"{lo:.2f}-{min(hi, 1.0):.2f}: {n}" for (lo, hi), n in s["removed_by_true_j"].items()))
    return "\n".join(lines)
