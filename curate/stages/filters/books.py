"""Book rule set. Deliberately permissive: a book is long, edited text, so only clear
failures go (an empty or truncated file, a file that is mostly not text: tables of
numbers, scanned-page garbage, a decoding gone wrong). No normal novel, play or poetry
collection comes near these thresholds (the tests run all 32 real Gutenberg books).
"""
from __future__ import annotations

from curate.stages.filters.rules import ALPHA, MARK, SPACE, TextDoc, Rule, count_flags

BOOKS = {
    "min_chars": 5000,  # about 1,000 English words: shorter is a fragment, not a book
    "min_alpha_frac": 0.6,  # letters and their marks / non-whitespace characters (normal prose: 0.9+)
}


def _alpha_frac(doc: TextDoc) -> float:
    """Letters with their combining marks: Hindi, Tamil or Burmese prose writes a third to half
    of its characters as vowel signs and viramas (category M), which str.isalpha rejects, so
    counted without them every book in those scripts scored 0.44-0.60 and was removed."""
    counts = count_flags(doc.text)
    visible = len(doc.text) - counts[SPACE]
    return (counts[ALPHA] + counts[MARK]) / visible if visible else 0.0


def book_rules(cfg: dict) -> list:
    return [
        Rule("book_min_chars", lambda d: len(d.text), ">=", cfg["min_chars"]),
        Rule("book_alpha_frac", _alpha_frac, ">=", cfg["min_alpha_frac"]),
    ]
