"""Gopher repetition rules: Rae et al. 2021 (Gopher), appendix A.1.1 and table A1.

* top n-gram char fraction = (occurrences of the most frequent word n-gram x its
  characters) / characters in all words, counted only when that n-gram occurs at least
  twice (otherwise a short document would "repeat" its only n-gram).
* duplicate n-gram char fraction = characters of the words covered by an occurrence of an
  n-gram that already occurred earlier (each character counted once) / characters in all
  words. Duplicate line/paragraph fractions likewise count the repeats after the first.

Languages written without spaces (the filter's ``nonspace_languages``): each Han, kana, Thai,
Lao, Khmer or Myanmar character is a word (``rules.UNIT_SCRIPTS``, as in dedup), and an
n-gram is ``n * nonspace_ngram_chars`` (4) of them, a character being a fraction of a word.
Before, these rules were skipped for such languages: a Chinese line or a Thai phrase is one
whitespace "word", so a page repeating one sentence on one line passed every rule.
``bench/bench_nonspace_filters.py`` (documents these rules remove; good: lingua zh/ja/th 10
sentences a document, UDHR of the non-space languages; spam: a lingua document's first sentence
repeated to its length):

    characters per word  1      2     3     4     5
    lingua (good)        14/92  2/92  2/92  2/92  1/92
    UDHR (good)          5/8    3/8   0/8   0/8   0/8
    HTML bench zh/ja     3/4    1/4   1/4   0/4   0/4
    Dolma CC zh/ja/my    7/15   3/15  2/15  2/15  1/15   (real pages, quality unknown)
    spam                 92/92  92/92 92/92 92/92 92/92

At 4 the two lingua documents are Thai pages repeating a company name six times and a heading,
the two Dolma pages a game guide's list of places and a dental clinic's repeated instructions.
"""
from __future__ import annotations

import numpy as np

from curate.stages.filters.rules import TextDoc, Rule
from curate.stages.filters.text import line_repeats, para_repeats
from curate.stages.numba_cache import njit

GOPHER_REPETITION = {
    "max_dup_line_frac": 0.30,
    "max_dup_para_frac": 0.30,
    "max_dup_line_char_frac": 0.20,
    "max_dup_para_char_frac": 0.20,
    "max_top_ngram_char_frac": {"2": 0.20, "3": 0.18, "4": 0.16},
    "max_dup_ngram_char_frac": {"5": 0.15, "6": 0.14, "7": 0.13, "8": 0.12, "9": 0.11, "10": 0.10},
    "nonspace_ngram_chars": 4,  # characters per word of an n-gram in a non-space language
}

_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _ngram_counts(hashes, lengths, max_n):
    """For n = 1..max_n (index n of each result): the count of the most frequent word n-gram
    when it repeats (else 0) and its length in characters (the longest among equally frequent
    ones), and the characters of the words covered by a repeat of an earlier n-gram.

    N-grams are compared by a 64-bit hash (position i: words i..i+n-1, built from the
    (n-1)-grams) and counted in a hash table. Only n-grams that can repeat are counted: an
    n-gram occurs twice only if the (n-1)-grams at its position and the next both do, so the
    candidates shrink quickly with n and include every occurrence of a repeated n-gram.
    """
    nw = len(hashes)
    top = np.zeros(max_n + 1, np.int64)
    top_chars = np.zeros(max_n + 1, np.int64)
    dup_chars = np.zeros(max_n + 1, np.int64)
    cum = np.zeros(nw + 1, np.int64)  # characters of the words before each word
    for i in range(nw):  # (not cum[1:] = np.cumsum(...): an array's slice assigned costs numba ~2 CPU-s to compile its error)
        cum[i + 1] = cum[i] + lengths[i]
    size = 1
    while size < 2 * nw:
        size *= 2
    table = np.empty(size, np.int32)  # hash table slot -> 1 + first candidate with that hash (0: empty)
    first = np.empty(nw, np.int32)  # candidate -> first candidate with the same hash
    count = np.empty(nw, np.int32)  # first candidate -> occurrences
    pos, h = np.arange(nw), hashes.copy()  # candidates (ascending positions), their n-gram hashes
    m = nw
    for n in range(1, max_n + 1):
        if n > 1:  # keep repeated (n-1)-grams followed by a repeated one, n-gram inside the text
            k = 0
            for i in range(m):
                p = pos[i]
                if i + 1 < m and pos[i + 1] == p + 1 and p + n <= nw:
                    pos[k], h[k] = p, h[i] * _MIX + hashes[p + n - 1]
                    k += 1
            m = k
        if m == 0:
            break
        bits = 1
        while (1 << bits) < 2 * m:
            bits += 1
        mask, shift = (1 << bits) - 1, np.uint64(64 - bits)
        table[: mask + 1] = 0
        for i in range(m):  # open addressing, slot from the high bits of a multiplicative hash
            s = np.int64((h[i] * _MIX) >> shift)
            while table[s] and h[table[s] - 1] != h[i]:
                s = (s + 1) & mask
            if table[s]:
                first[i] = table[s] - 1
                count[first[i]] += 1
            else:
                table[s], first[i], count[i] = i + 1, i, 1
        covered_to = 0  # repeats after the first occurrence: union of their word spans
        for i in range(m):
            c, p = count[first[i]], pos[i]
            chars = cum[p + n] - cum[p]
            if c > top[n]:
                top[n], top_chars[n] = c, chars
            elif c == top[n] and chars > top_chars[n]:
                top_chars[n] = chars
            if c >= 2 and first[i] != i:
                start = max(p, covered_to)
                dup_chars[n] += cum[p + n] - cum[start]
                covered_to = p + n
        if top[n] < 2:
            top[n] = top_chars[n] = 0
        k = 0
        for i in range(m):
            if count[first[i]] >= 2:
                pos[k], h[k] = pos[i], h[i]
                k += 1
        m = k
    return top, top_chars, dup_chars


def ngram_counts(doc: TextDoc, max_n: int) -> tuple[list, list, list]:
    key = ("ngram_counts", max_n)
    if key not in doc.cache:
        lengths, hashes, _, _ = doc.word_scan
        doc.cache[key] = tuple(a.tolist() for a in _ngram_counts(hashes, lengths, max_n))
    return doc.cache[key]


def top_ngram_char_frac(n: int, max_n: int, k: int = 1):
    """``k``: characters per word in a non-space language (its words are characters there)."""
    def measure(doc: TextDoc) -> float:
        m = n * k if doc.nonspace else n
        top, chars, _ = ngram_counts(doc, max_n * k if doc.nonspace else max_n)
        return top[m] * chars[m] / doc.word_chars if top[m] and doc.word_chars else 0.0

    return measure


def dup_ngram_char_frac(n: int, max_n: int, k: int = 1):
    def measure(doc: TextDoc) -> float:
        _, _, dup = ngram_counts(doc, max_n * k if doc.nonspace else max_n)
        return dup[n * k if doc.nonspace else n] / doc.word_chars if doc.word_chars else 0.0

    return measure


def gopher_repetition(cfg: dict) -> list:
    rules = [
        Rule("gopher_dup_line_frac", lambda d: line_repeats(d)[0], "<=", cfg["max_dup_line_frac"]),
        Rule("gopher_dup_para_frac", lambda d: para_repeats(d)[0], "<=", cfg["max_dup_para_frac"]),
        Rule("gopher_dup_line_char_frac", lambda d: line_repeats(d)[1], "<=", cfg["max_dup_line_char_frac"]),
        Rule("gopher_dup_para_char_frac", lambda d: para_repeats(d)[1], "<=", cfg["max_dup_para_char_frac"]),
    ]
    top = sorted(_ngram_table(cfg, "max_top_ngram_char_frac").items())
    dup = sorted(_ngram_table(cfg, "max_dup_ngram_char_frac").items())
    max_n = max((n for n, _ in top + dup), default=0)  # one pass computes every n
    k = cfg["nonspace_ngram_chars"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"filter.gopher_repetition.nonspace_ngram_chars: expected a whole number >= 1, got {k!r}")
    for n, thr in top:
        rules.append(Rule(f"gopher_top_{n}gram_char_frac", top_ngram_char_frac(n, max_n, k), "<=", thr))
    for n, thr in dup:
        rules.append(Rule(f"gopher_dup_{n}gram_char_frac", dup_ngram_char_frac(n, max_n, k), "<=", thr))
    return rules


def _ngram_table(cfg: dict, key: str) -> dict[int, float]:
    out = {}
    for n, thr in cfg[key].items():
        if not str(n).isdigit() or int(n) < 1 or not isinstance(thr, (int, float)):
            raise ValueError(
                f"filter.gopher_repetition.{key}: expected {{n: fraction}} with n >= 1, got {n!r}: {thr!r}"
            )
        out[int(n)] = float(thr)
    return out

