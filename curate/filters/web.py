"""Web rule sets, written from the published definitions:

* Gopher quality and repetition: Rae et al. 2021, "Scaling Language Models: Methods,
  Analysis & Insights from Training Gopher", appendix A.1.1 and table A1.
* C4: Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
  Text-to-Text Transformer", section 2.2 (min words per line 3, min sentences 5).
* FineWeb: Penedo et al. 2024, "The FineWeb Datasets", section 3 (custom filters).
* URL lists and the document-level bad-words rule (C4, RefinedWeb practice).

Definitions used where the papers leave a detail open:

* words are whitespace-separated tokens; lines are the non-empty stripped lines;
  paragraphs are blocks separated by blank lines.
* top n-gram char fraction = (occurrences of the most frequent word n-gram x its
  characters) / characters in all words, counted only when that n-gram occurs at least
  twice (otherwise a short document would "repeat" its only n-gram).
* duplicate n-gram char fraction = characters of the words covered by an occurrence of an
  n-gram that already occurred earlier (each character counted once) / characters in all
  words. Duplicate line/paragraph fractions likewise count the repeats after the first.
* FineWeb's three paper rules remove at the boundary ("<= 0.12" line punctuation, ">= 0.67"
  short lines, ">= 0.1" duplicated-line characters), so their keep-conditions are strict.
  FineWeb's ablations found C4's terminal-punctuation line rule too aggressive for their
  pipeline; it stays on by default here (the C4 definition) and is ``c4.terminal_punct``.
* C4 sentences are counted as runs of terminal punctuation followed by space or the end
  (C4 used NLTK's sentence splitter; abbreviations such as "Mr." count here).
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import islice
from typing import Optional
from urllib.parse import urlsplit

import numpy as np

from curate.filters.rules import Doc, Rewrite, Rule

# Sentence-final marks, including CJK, Arabic, Devanagari, Khmer and Myanmar ones.
TERMINAL = (".", "!", "?", '"', "'", "”", "’", "»", "。", "！", "？", "؟", "।", "॥", "។", "။")
ELLIPSES = ("...", "…")
BULLETS = ("•", "●", "○", "◦", "▪", "■", "□", "‣", "⁃", "►", "▶", "➤", "-", "*", "–", "·")

GOPHER_QUALITY = {
    "min_words": 50,
    "max_words": 100_000,
    "min_mean_word_length": 3.0,
    "max_mean_word_length": 10.0,
    "max_hash_ratio": 0.1,  # '#' per word
    "max_ellipsis_ratio": 0.1,  # '...' or '…' per word
    "max_bullet_lines": 0.9,  # fraction of lines starting with a bullet
    "max_ellipsis_lines": 0.3,  # fraction of lines ending with an ellipsis
    "min_alpha_words": 0.8,  # fraction of words with at least one letter
    "min_stop_words": 2,  # distinct stop words present (languages with a list only)
    "stop_words": {"en": "default"},  # language -> list file ("default": curate/data/stopwords_<lang>.txt)
}

GOPHER_REPETITION = {
    "max_dup_line_frac": 0.30,
    "max_dup_para_frac": 0.30,
    "max_dup_line_char_frac": 0.20,
    "max_dup_para_char_frac": 0.20,
    "max_top_ngram_char_frac": {"2": 0.20, "3": 0.18, "4": 0.16},
    "max_dup_ngram_char_frac": {"5": 0.15, "6": 0.14, "7": 0.13, "8": 0.12, "9": 0.11, "10": 0.10},
}

FINEWEB = {
    "min_line_punct_frac": 0.12,  # keep if the fraction of lines ending in punctuation is above this
    "max_short_line_frac": 0.67,  # keep if the fraction of short lines is below this
    "short_line_chars": 30,  # a line of at most this many characters is short
    "short_line_chars_nonspace": 10,  # the same for non-space languages (a CJK character ~ a word)
    "max_dup_line_char_frac": 0.10,  # keep if below
    "max_newline_ratio": 0.3,  # newlines per word: list-like pages
}

C4 = {
    "terminal_punct": True,  # drop lines that do not end in terminal punctuation (or end in an ellipsis)
    "min_words_per_line": 3,  # drop lines with fewer words
    "max_word_length": 1000,  # drop lines with a longer word (minified code, blobs)
    "javascript": True,  # drop lines mentioning javascript
    "policy": True,  # drop cookie / terms / privacy notice lines
    "citations": True,  # strip [1], [edit], [citation needed]
    "min_sentences": 5,  # page rule, on the cleaned text
}

URL = {
    "domain_blocklist": "default",  # file of domains ("default": curate/data/url_blocklist.txt, "": none)
    "banned_words": "default",  # file of URL substrings ("default": curate/data/url_banned_words.txt)
    "max_banned_words": 0,
}

BADWORDS = {
    "lists": {"en": "default"},  # language -> file ("default": curate/data/badwords_<lang>.txt)
    "max_badwords": 0,  # C4: a page with any listed word is removed
}

POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?؟।]+[\"'”’»)\]]*(?=\s|$)|[。！？]+")
# A whole token with no letter in it (digits, underscores, punctuation, symbols only),
# matched with its leading space on " " + text + " " (2x faster than a lookbehind).
_NO_LETTER_TOKEN = re.compile(r"\s(?:[^\s\w]|[\d_])+(?=\s)")
_MIX = np.uint64(0x9E3779B97F4A7C15)


# --- measures -------------------------------------------------------------------------------


def _spaced(fn):
    """Word-based measure: not applicable (None) to non-space languages."""
    return lambda doc: None if doc.nonspace else fn(doc)


def _per_word(count):
    return lambda doc: count(doc) / max(1, len(doc.words))


def _line_frac(pred):
    def measure(doc: Doc) -> float:
        lines = doc.lines
        return sum(1 for s in lines if pred(s)) / len(lines) if lines else 0.0

    return measure


def _repeats(items: list[str]) -> tuple[float, float]:
    """(fraction of items that repeat an earlier one, fraction of characters in them)."""
    if not items:
        return 0.0, 0.0
    counts = Counter(items)
    dup_chars = sum((c - 1) * len(s) for s, c in counts.items() if c > 1)
    total = sum(map(len, items))
    return (len(items) - len(counts)) / len(items), dup_chars / max(1, total)


def line_repeats(doc: Doc) -> tuple[float, float]:
    if "line_repeats" not in doc.cache:
        doc.cache["line_repeats"] = _repeats(doc.lines)
    return doc.cache["line_repeats"]


def para_repeats(doc: Doc) -> tuple[float, float]:
    if "para_repeats" not in doc.cache:
        doc.cache["para_repeats"] = _repeats(doc.paragraphs)
    return doc.cache["para_repeats"]


def _word_lens(doc: Doc) -> np.ndarray:
    if "word_lens" not in doc.cache:
        doc.cache["word_lens"] = np.fromiter(map(len, doc.words), dtype=np.int64, count=len(doc.words))
    return doc.cache["word_lens"]


def _ngram_hashes(doc: Doc, n: int) -> np.ndarray:
    """64-bit hash of every word n-gram (position i: words i..i+n-1), built from the (n-1)-grams."""
    key = ("ngrams", n)
    if key not in doc.cache:
        if n == 1:
            words = doc.words
            h = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
        else:
            h = _ngram_hashes(doc, n - 1)[:-1] * _MIX + _ngram_hashes(doc, 1)[n - 1 :]
        doc.cache[key] = h
    return doc.cache[key]


def _sorted_runs(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, their counts) of ``h``; a plain sort is ~3x faster than np.unique's argsort."""
    s = np.sort(h)
    edges = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1], [True])))
    return s[edges[:-1]], np.diff(edges)


def _positions_of(h: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions i where h[i] is one of the sorted, distinct ``values``."""
    pos = np.minimum(np.searchsorted(values, h), len(values) - 1)
    return np.flatnonzero(values[pos] == h)


def top_ngram_char_frac(n: int):
    def measure(doc: Doc) -> float:
        if len(doc.words) < n or doc.word_chars == 0:
            return 0.0
        h = _ngram_hashes(doc, n)
        values, counts = _sorted_runs(h)
        top = int(counts.max())
        if top < 2:
            return 0.0
        cum = np.concatenate(([0], np.cumsum(_word_lens(doc))))
        chars = int((cum[n:] - cum[:-n])[_positions_of(h, values[counts == top])].max())
        return top * chars / doc.word_chars

    return _spaced(measure)


def dup_ngram_char_frac(n: int):
    def measure(doc: Doc) -> float:
        nw = len(doc.words)
        # No repeated (n-1)-gram means no repeated n-gram: skip the sort.
        if nw < n or doc.word_chars == 0 or doc.cache.get(("no_repeats", n - 1)):
            doc.cache[("no_repeats", n)] = True
            return 0.0
        h = _ngram_hashes(doc, n)
        values, counts = _sorted_runs(h)
        repeated = values[counts > 1]
        if not len(repeated):
            doc.cache[("no_repeats", n)] = True
            return 0.0
        # Occurrences of repeated n-grams, minus the first occurrence of each.
        occ = _positions_of(h, repeated)
        _, first = np.unique(h[occ], return_index=True)
        starts = np.delete(occ, first)
        # Mark words covered by any repeat: +1 at its start, -1 after its end.
        edges = np.bincount(starts, minlength=nw + 1) - np.bincount(starts + n, minlength=nw + 1)
        covered = np.cumsum(edges[:nw]) > 0
        return int(_word_lens(doc)[covered].sum()) / doc.word_chars

    return _spaced(measure)


def sentence_count(doc: Doc, cap: int) -> int:
    """Sentences, counted up to ``cap`` (the rule only needs to know whether there are enough)."""
    return sum(1 for _ in islice(_SENTENCE_END.finditer(doc.text), cap))


def url_host(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


# --- rule sets --------------------------------------------------------------------------------


def gopher_quality(cfg: dict, stop_words: dict[str, list]) -> list:
    words = _spaced(lambda d: len(d.words))
    mean_len = _spaced(lambda d: d.word_chars / len(d.words) if d.words else 0.0)

    def stops(doc: Doc) -> Optional[int]:
        entries = stop_words.get(doc.language)
        if doc.nonspace or entries is None:
            return None
        return count_words(doc, entries, cap=cfg["min_stop_words"])

    return [
        Rule("gopher_min_words", words, ">=", cfg["min_words"]),
        Rule("gopher_max_words", words, "<=", cfg["max_words"]),
        Rule("gopher_min_mean_word_length", mean_len, ">=", cfg["min_mean_word_length"]),
        Rule("gopher_max_mean_word_length", mean_len, "<=", cfg["max_mean_word_length"]),
        Rule("gopher_hash_ratio", _spaced(_per_word(lambda d: d.text.count("#"))), "<=", cfg["max_hash_ratio"]),
        Rule(
            "gopher_ellipsis_ratio",
            _spaced(_per_word(lambda d: d.text.count("...") + d.text.count("…"))),
            "<=",
            cfg["max_ellipsis_ratio"],
        ),
        Rule("gopher_bullet_lines", _line_frac(lambda s: s.startswith(BULLETS)), "<=", cfg["max_bullet_lines"]),
        Rule("gopher_ellipsis_lines", _line_frac(lambda s: s.endswith(ELLIPSES)), "<=", cfg["max_ellipsis_lines"]),
        Rule(
            "gopher_alpha_words",
            _spaced(lambda d: 1.0 - len(_NO_LETTER_TOKEN.findall(f" {d.text} ")) / max(1, len(d.words))),
            ">=",
            cfg["min_alpha_words"],
        ),
        Rule("gopher_stop_words", stops, ">=", cfg["min_stop_words"]),
    ]


def gopher_repetition(cfg: dict) -> list:
    rules = [
        Rule("gopher_dup_line_frac", lambda d: line_repeats(d)[0], "<=", cfg["max_dup_line_frac"]),
        Rule("gopher_dup_para_frac", lambda d: para_repeats(d)[0], "<=", cfg["max_dup_para_frac"]),
        Rule("gopher_dup_line_char_frac", lambda d: line_repeats(d)[1], "<=", cfg["max_dup_line_char_frac"]),
        Rule("gopher_dup_para_char_frac", lambda d: para_repeats(d)[1], "<=", cfg["max_dup_para_char_frac"]),
    ]
    for n, thr in sorted(_ngram_table(cfg, "max_top_ngram_char_frac").items()):
        rules.append(Rule(f"gopher_top_{n}gram_char_frac", top_ngram_char_frac(n), "<=", thr))
    for n, thr in sorted(_ngram_table(cfg, "max_dup_ngram_char_frac").items()):
        rules.append(Rule(f"gopher_dup_{n}gram_char_frac", dup_ngram_char_frac(n), "<=", thr))
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


def fineweb(cfg: dict) -> list:
    short = _line_frac(lambda s: len(s) <= cfg["short_line_chars"])
    short_nonspace = _line_frac(lambda s: len(s) <= cfg["short_line_chars_nonspace"])
    return [
        Rule(
            "fineweb_line_punct",
            _spaced(_line_frac(lambda s: s.endswith(TERMINAL))),
            ">",
            cfg["min_line_punct_frac"],
        ),
        Rule(
            "fineweb_short_lines",
            lambda d: short_nonspace(d) if d.nonspace else short(d),
            "<",
            cfg["max_short_line_frac"],
        ),
        Rule("fineweb_dup_line_chars", lambda d: line_repeats(d)[1], "<", cfg["max_dup_line_char_frac"]),
        Rule("fineweb_newline_ratio", _spaced(_per_word(lambda d: d.text.count("\n"))), "<=", cfg["max_newline_ratio"]),
    ]


def c4(cfg: dict) -> list:
    def clean(doc: Doc) -> tuple[str, dict]:
        kept, dropped = [], 0
        for line in doc.text.split("\n"):
            line = line.strip()
            if not line:
                continue
            if cfg["citations"]:
                line = _CITATION.sub("", line).strip()
            low = line.lower()
            if (
                (cfg["javascript"] and "javascript" in low)
                or (cfg["policy"] and any(p in low for p in POLICY))
                or (not doc.nonspace and not _line_ok(line, cfg))
            ):
                dropped += 1
                continue
            kept.append(line)
        return "\n".join(kept), {"c4_lines_removed": dropped}  # like C4: blank lines are not kept

    return [
        Rule("c4_lorem_ipsum", lambda d: d.lower.count("lorem ipsum"), "<=", 0),
        Rule("c4_curly_bracket", lambda d: d.text.count("{"), "<=", 0),
        Rewrite("c4_lines", clean),
        Rule(
            "c4_min_sentences",
            _spaced(lambda d: sentence_count(d, cfg["min_sentences"])),
            ">=",
            cfg["min_sentences"],
        ),
    ]


def _line_ok(line: str, cfg: dict) -> bool:
    """The C4 word/punctuation line rules, for space-separated languages."""
    if cfg["terminal_punct"] and (not line.endswith(TERMINAL) or line.endswith(ELLIPSES)):
        return False
    words = line.split()
    if len(words) < cfg["min_words_per_line"]:
        return False
    return max(map(len, words)) <= cfg["max_word_length"]


def url_rules(cfg: dict, blocklist: set, banned: list) -> list:
    def blocked(doc: Doc) -> Optional[int]:
        if not doc.url or not blocklist:
            return None
        parts = url_host(doc.url).lower().split(".")
        return int(any(".".join(parts[i:]) in blocklist for i in range(len(parts))))

    def banned_words(doc: Doc) -> Optional[int]:
        if not doc.url or not banned:
            return None
        low = doc.url.lower()
        return sum(1 for w in banned if w in low)

    return [
        Rule("url_domain_blocked", blocked, "<=", 0),
        Rule("url_banned_words", banned_words, "<=", cfg["max_banned_words"]),
    ]


def badwords(cfg: dict, lists: dict[str, list]) -> list:
    """``lists``: language -> compiled entries (see ``compile_words``). Value: distinct entries found."""

    def count(doc: Doc) -> Optional[int]:
        entries = lists.get(doc.language)
        if entries is None:
            return None
        return count_words(doc, entries)

    return [Rule("badwords", count, "<=", cfg["max_badwords"])]


def compile_words(entries: list[str]) -> list[tuple[str, re.Pattern]]:
    """Word-list entries with a whole-word pattern each (phrases are entries with spaces)."""
    return [(e, re.compile(r"\b" + re.escape(e) + r"\b")) for e in entries]


def count_words(doc: Doc, entries: list, cap: Optional[int] = None) -> int:
    """Distinct entries present in the document, counting up to ``cap``.

    A plain substring test rules out most entries at C speed; only a hit is confirmed as a
    whole word (non-space languages have no word boundaries: the substring counts).
    """
    low, found = doc.lower, 0
    for raw, rx in entries:
        if raw in low and (doc.nonspace or rx.search(low)):
            found += 1
            if cap is not None and found >= cap:
                break
    return found
