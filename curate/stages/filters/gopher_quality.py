"""Gopher quality rules: Rae et al. 2021, "Scaling Language Models: Methods, Analysis &
Insights from Training Gopher", appendix A.1.1 and table A1."""
from __future__ import annotations

from typing import Optional

from curate.stages.filters.rules import TextDoc, Rule
from curate.stages.filters.text import ELLIPSES, count_ending, count_starting, count_words, line_frac, per_word, spaced

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
    # a non-space language's words, for min_words and max_words: its characters (not whitespace)
    # over its characters per English word. {} (unset): filter.language_constants' (zh, ja, th,
    # km, lo, my, bo; none for the others); a table {th = 0, yue = 1.6}: those languages' (0: no
    # word count), the others' as unset; a number: every non-space language's (0: none).
    # The filter resolves it to one number per language (Filter._chars_per_word).
    "nonspace_chars_per_word": {},
}


def gopher_quality(cfg: dict, stop_words: dict[str, list]) -> list:
    chars_per_word = cfg["nonspace_chars_per_word"]

    def words(doc: TextDoc) -> Optional[float]:
        if doc.nonspace:  # English words' worth of characters, or no count
            return doc.word_chars / chars_per_word if chars_per_word else None
        return doc.word_stats[0]

    def mean_len(doc: TextDoc) -> Optional[float]:
        if doc.nonspace:
            return None
        n, chars, _ = doc.word_stats
        return chars / n if n else 0.0

    def alpha_words(doc: TextDoc) -> Optional[float]:
        if doc.nonspace:
            return None
        n, _, with_letter = doc.word_stats
        return 1.0 - (n - with_letter) / max(1, n)

    def stops(doc: TextDoc) -> Optional[int]:
        entries = stop_words.get(doc.lists_language)
        if doc.nonspace or entries is None:
            return None
        return count_words(doc, entries, cap=cfg["min_stop_words"])

    return [
        Rule("gopher_min_words", words, ">=", cfg["min_words"]),
        Rule("gopher_max_words", words, "<=", cfg["max_words"]),
        Rule("gopher_min_mean_word_length", mean_len, ">=", cfg["min_mean_word_length"]),
        Rule("gopher_max_mean_word_length", mean_len, "<=", cfg["max_mean_word_length"]),
        Rule("gopher_hash_ratio", spaced(per_word(lambda d: d.text.count("#"))), "<=", cfg["max_hash_ratio"]),
        Rule(
            "gopher_ellipsis_ratio",
            spaced(per_word(lambda d: d.text.count("...") + d.text.count("…"))),
            "<=",
            cfg["max_ellipsis_ratio"],
        ),
        Rule("gopher_bullet_lines", line_frac(count_starting(BULLETS)), "<=", cfg["max_bullet_lines"]),
        Rule("gopher_ellipsis_lines", line_frac(count_ending(ELLIPSES)), "<=", cfg["max_ellipsis_lines"]),
        Rule("gopher_alpha_words", alpha_words, ">=", cfg["min_alpha_words"]),
        Rule("gopher_stop_words", stops, ">=", cfg["min_stop_words"]),
    ]

