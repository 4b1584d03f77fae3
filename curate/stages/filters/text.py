"""What the web rule families measure in common: lines, words, repetition, word lists.

Definitions used where the papers leave a detail open:

* words are separated by whitespace or the Ethiopic wordspace ፡ (``rules.WORD_SEPARATORS``); lines are the non-empty stripped lines;
  paragraphs are blocks separated by blank lines (``rules.TextDoc`` computes and caches them).
* duplicate line/paragraph fractions count the repeats after the first.
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import repeat
from typing import Optional

from curate.stages.filters.rules import TextDoc

# Sentence-final marks, including CJK, Arabic, Devanagari, Khmer and Myanmar ones, and the full
# stops of Urdu/Shahmukhi (۔), Armenian (։), Ethiopic (። ፧), Tibetan (། ༎) and Canadian syllabics
# (᙮): without them every line of a language outside filter.language_constants' table (Punjabi
# in Shahmukhi, Tigrinya, Cree) failed the line-punctuation rules.
TERMINAL = (".", "!", "?", '"', "'", "”", "’", "»", "。", "！", "？", "؟", "।", "॥", "។", "။",
            "۔", "։", "።", "፧", "།", "༎", "᙮")
TERMINAL_CHARS = frozenset(TERMINAL)
assert all(len(t) == 1 for t in TERMINAL)  # TERMINAL_CHARS tests the last character only
ELLIPSES = ("...", "…")


def spaced(fn):
    """Word-based measure: not applicable (None) to non-space languages."""
    return lambda doc: None if doc.nonspace else fn(doc)


def per_word(count):
    return lambda doc: count(doc) / max(1, doc.word_stats[0])


def line_frac(count):
    """``count(lines)``: how many of the document's lines pass a test (run in C via map)."""

    def measure(doc: TextDoc) -> float:
        lines = doc.lines
        return count(lines) / len(lines) if lines else 0.0

    return measure


def count_starting(prefixes: tuple):
    return lambda lines: sum(map(str.startswith, lines, repeat(prefixes)))


def count_ending(suffixes: tuple):
    return lambda lines: sum(map(str.endswith, lines, repeat(suffixes)))


def count_shorter(chars: int):
    return lambda lines: sum(map(chars.__ge__, map(len, lines)))


def _repeats(items: list[str]) -> tuple[float, float]:
    """(fraction of items that repeat an earlier one, fraction of characters in them)."""
    if not items:
        return 0.0, 0.0
    distinct = Counter(items)
    total = sum(map(len, items))
    dup_chars = total - sum(map(len, distinct))  # every copy after the first
    return (len(items) - len(distinct)) / len(items), dup_chars / max(1, total)


def line_repeats(doc: TextDoc) -> tuple[float, float]:
    if "line_repeats" not in doc.cache:
        doc.cache["line_repeats"] = _repeats(doc.lines)
    return doc.cache["line_repeats"]


def para_repeats(doc: TextDoc) -> tuple[float, float]:
    if "para_repeats" not in doc.cache:
        doc.cache["para_repeats"] = _repeats(doc.paragraphs)
    return doc.cache["para_repeats"]


def compile_words(entries: list[str]) -> list[tuple[str, re.Pattern]]:
    """Word-list entries with a whole-word pattern each (phrases are entries with spaces).

    The pattern is ``\\b<entry>\\b`` with the leading ``\\b`` written as a lookbehind placed
    after the entry (the character before the entry is a word character exactly when the
    entry's first is not): a pattern that starts with a literal is searched for with a fast
    substring search instead of being tried at every position (~8x faster).
    """
    out = []
    for e in entries:
        before = "(?<!" if re.match(r"\w", e[0]) else "(?<="
        out.append((e, re.compile(f"{re.escape(e)}{before}\\w.{{{len(e)}}})\\b", re.DOTALL)))
    return out


def count_words(doc: TextDoc, entries: list, cap: Optional[int] = None) -> int:
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

