"""C4 rules and line cleaning: Raffel et al. 2020, "Exploring the Limits of Transfer Learning
with a Unified Text-to-Text Transformer", section 2.2 (min words per line 3, min sentences 5).

C4 sentences are counted as runs of terminal punctuation followed by space or the end (C4
used NLTK's sentence splitter; abbreviations such as "Mr." count here).
"""
from __future__ import annotations

import math
import re
from itertools import islice

from curate.stages.filters.rules import ETHIOPIC_STOP, WORD_SEPARATORS, TextDoc, Rewrite, Rule, split_words
from curate.stages.filters.text import ELLIPSES, TERMINAL_CHARS

C4 = {
    "terminal_punct": True,  # drop lines that do not end in terminal punctuation (or end in an ellipsis)
    "min_words_per_line": 3,  # drop lines with fewer words
    "max_word_length": 1000,  # drop lines with a longer word (minified code, blobs)
    "javascript": True,  # drop lines mentioning javascript
    "policy": True,  # drop cookie / terms / privacy notice lines
    "citations": True,  # strip [1], [edit], [citation needed]
    "min_sentences": 5,  # page rule, on the cleaned text
    # Non-space languages the sentence rule still applies to: their sentences end in marks the
    # count knows (。！？), unlike Thai or Lao, which end them with a space.
    "nonspace_sentences": ["zh", "ja", "zho", "cmn", "yue", "wuu", "jpn"],
}

POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_MARKS = "[.!?؟।॥۔։።፧།༎᙮]"  # sentence-final marks (text.TERMINAL's): Latin, Arabic, Devanagari, Urdu, Armenian, Ethiopic, ...
# A mark ends a sentence before a space, an Ethiopic wordspace (Amharic writes "።፡") or the end.
_SENTENCE_END = re.compile(_MARKS + r"+[\"'”’»)\]]*(?=[\s" + WORD_SEPARATORS + r"]|$)|[。！？]+|" + ETHIOPIC_STOP + r"(?=\s|$)")


def sentence_count(doc: TextDoc, cap: int, pattern: re.Pattern = _SENTENCE_END) -> int:
    """Sentences, counted up to ``cap`` (the rule only needs to know whether there are enough)."""
    return sum(1 for _ in islice(pattern.finditer(doc.text), cap))


def sentence_end(extra: str = "") -> re.Pattern:
    """``_SENTENCE_END`` with ``extra`` sentence-final marks (a language's own, e.g. Urdu ۔)."""
    if not extra:
        return _SENTENCE_END
    return re.compile(_SENTENCE_END.pattern.replace(_MARKS, _MARKS[:-1] + re.escape(extra) + "]", 1))


def c4(cfg: dict, extra_terminal: str = "") -> list:
    phrases = (("javascript",) if cfg["javascript"] else ()) + (POLICY if cfg["policy"] else ())
    line_ok = _line_test(cfg, TERMINAL_CHARS | frozenset(extra_terminal))
    ends = sentence_end(extra_terminal)
    marked = frozenset(x.lower() for x in cfg["nonspace_sentences"])

    def sentences(doc: TextDoc):
        if doc.nonspace and (doc.language or "").split("_")[0].lower() not in marked:
            return None  # no sentence-final marks to count (Thai, Lao, ...)
        return sentence_count(doc, cfg["min_sentences"], ends)

    def tested(doc: TextDoc) -> tuple[list, list]:
        """(lines, citations stripped; does each pass C4's word and punctuation tests), computed
        once for the page rules and the cleaning. Non-space languages skip those tests."""
        got = doc.cache.get("c4_tested")
        if got is None:
            lines = doc.lines  # non-empty, stripped; like C4, blank lines are not kept
            if cfg["citations"] and "[" in doc.text:
                lines = [_CITATION.sub("", s).strip() if "[" in s else s for s in lines]
            ok = [True] * len(lines) if doc.nonspace else list(map(line_ok, lines))
            got = doc.cache["c4_tested"] = (lines, ok)
        return got

    # C4's page rules look only at lines that passed those tests (TFDS c4_utils.clean_page
    # checks "lorem ipsum" and "{" after the end-mark and word-count tests, "{" after the
    # javascript line test too): a "{" in a menu line or a code line ending in ";" is dropped
    # with its line, it does not remove the page.
    def lorem(doc: TextDoc) -> int:
        if "lorem ipsum" not in doc.lower:
            return 0
        lines, ok = tested(doc)
        return sum(s.lower().count("lorem ipsum") for s, k in zip(lines, ok) if k)

    def curly(doc: TextDoc) -> int:
        if "{" not in doc.text:
            return 0
        lines, ok = tested(doc)
        js = cfg["javascript"]
        return sum(s.count("{") for s, k in zip(lines, ok) if k and "{" in s and not (js and "javascript" in s.lower()))

    def clean(doc: TextDoc) -> tuple[str, dict]:
        lines, ok = tested(doc)
        low = "\n".join(lines).lower() if lines is not doc.lines else doc.lower
        # A phrase in a line is in the whole text: look in the lines only for those found there.
        found = [p for p in phrases if p in low]
        drop = [any(map(s.__contains__, found)) for s in map(str.lower, lines)] if found else [False] * len(lines)
        kept = [s for d, k, s in zip(drop, ok, lines) if k and not d]
        return "\n".join(kept), {"c4_lines_removed": len(lines) - len(kept)}

    return [
        Rule("c4_lorem_ipsum", lorem, "<=", 0),
        Rule("c4_curly_bracket", curly, "<=", 0),
        Rewrite("c4_lines", clean),
        Rule("c4_min_sentences", sentences, ">=", cfg["min_sentences"]),
    ]


def _line_test(cfg: dict, terminal_chars: frozenset = TERMINAL_CHARS):
    """The C4 word/punctuation line rules, for space-separated languages: line -> keep it?"""
    terminal, max_len = cfg["terminal_punct"], cfg["max_word_length"]
    min_words = math.ceil(cfg["min_words_per_line"])

    def line_ok(line: str) -> bool:
        # line[-1:] in a set: the endswith(TERMINAL) test, without trying 16 suffixes.
        if terminal and (line[-1:] not in terminal_chars or line.endswith(ELLIPSES)) and not line.endswith(ETHIOPIC_STOP):
            return False
        if min_words > 0 and len(split_words(line, min_words - 1)) < min_words:  # no more splits than needed
            return False
        # No word is longer than its line: split again only when one could be too long.
        return len(line) <= max_len or max(map(len, split_words(line))) <= max_len

    return line_ok

