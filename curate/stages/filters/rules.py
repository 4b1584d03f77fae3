"""The parts every rule set is built from: a document with lazily computed statistics,
a threshold rule, a text rewrite, word-list loading and config merging.

A rule is a measure (document -> number, or None where it does not apply to that
document), a keep-condition operator and a threshold. The operator is written as the
condition a document must meet to be KEPT, so the ledger's (value, threshold) pair reads
directly: ``gopher_min_words  value=12  threshold=50`` under ``>=``.
"""
from __future__ import annotations

import operator
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from curate.config import Check, merge_section
from curate.stages.filters.redact import Rewrite, code_points  # noqa: F401 (here since the filters began)
from curate.stages.numba_cache import njit

NON_NEGATIVE = Check(min=0)  # every filter threshold

# Keep-conditions.
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}

DATA = Path(__file__).resolve().parents[2] / "data"

_PARAGRAPH_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n")

# --- character classes ------------------------------------------------------------------------
# Character statistics run in compiled loops (numba) over the text's code points, with a table
# of flags per code point: ~1-5 ns a character, where Python costs 30-100 ns. The table is filled
# from Python's own definitions, so the counts are exactly those of the str methods / regex
# classes named here.
SPACE = 1  # str.isspace: the whitespace of str.split() and of the regex \s
ALPHA = 2  # str.isalpha
ALNUM = 4  # str.isalnum
LETTER = 8  # the regex class [^\W\d_] (a "letter" for Gopher's alphabetic-word rule)
MARK = 16  # a combining mark (Unicode category M*): the vowel signs and viramas of Indic scripts
WORDSEP = 32  # a word separator that is not whitespace (WORD_SEPARATORS)
UNIT = 64  # a character of a script written without spaces (UNIT_SCRIPTS): a word of its own there
# Word separators besides whitespace: the Ethiopic wordspace ፡ (U+1361). Amharic text is often
# written with it and no spaces at all; split on spaces only, a UDHR paragraph was one
# "word" of 65 characters on average. The other Ethiopic marks (። ፣ ፤ ...) stay on their word,
# as "." and "," do in English.
WORD_SEPARATORS = "\u1361"
# Ethiopic full stop typed as two wordspaces (Tigrinya UDHR: every sentence), beside ።.
ETHIOPIC_STOP = "\u1361\u1361"
# Scripts whose characters are each a word (with their combining marks) in a non-space
# language's words, as in dedup's split_cjk: Han, kana, Thai, Lao, Khmer, Myanmar, and Hangul
# (Korean written without spaces: filter.unspaced_languages). Without it a Chinese line or a
# Thai phrase is one "word", and the Gopher n-gram repetition rules see nothing.
UNIT_SCRIPTS = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Hangul}]"
_PLANE = 0x10000
_FLAGS = np.zeros(0, np.uint8)
_FLAGS_LOCK = threading.Lock()
_LETTER = re.compile(r"[^\W\d_]")


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def _flag_table(limit: int) -> np.ndarray:
    """The flags of code points 0..limit-1 at least; grown a plane (65,536 code points, ~15 ms)
    at a time on first need, so a process pays only for the planes its texts use."""
    global _FLAGS
    table = _FLAGS
    if limit > len(table):
        with _FLAGS_LOCK:  # grown by one thread at a time, never shrunk
            table = _FLAGS
            if limit > len(table):
                cps = np.arange(len(table), -(-limit // _PLANE) * _PLANE, dtype=np.uint32)
                chars = cps.tobytes().decode("utf-32-le", "surrogatepass")
                flags = np.zeros(len(chars), np.uint8)
                tests = ((SPACE, str.isspace), (ALPHA, str.isalpha), (ALNUM, str.isalnum), (MARK, _is_mark),
                         (WORDSEP, WORD_SEPARATORS.__contains__))
                for flag, test in tests:
                    flags[np.fromiter(map(test, chars), bool, len(chars))] |= flag
                # Letters: blank out what the regex matches (NUL itself is no letter).
                blanked = np.frombuffer(_LETTER.sub("\0", chars).encode("utf-32-le", "surrogatepass"), np.uint32)
                flags[(blanked == 0) & (cps != 0)] |= LETTER
                import regex  # tiktoken's dependency: Unicode's Script property

                unit = np.frombuffer(regex.sub(UNIT_SCRIPTS, "\0", chars).encode("utf-32-le", "surrogatepass"), np.uint32)
                flags[(unit == 0) & (cps != 0) & ~(flags & MARK).astype(bool)] |= UNIT
                table = _FLAGS = np.concatenate((table, flags))
    return table


def flag_table(codes: np.ndarray) -> np.ndarray:
    """A flag table that covers every code point in ``codes``."""
    return _flag_table(128 if codes.dtype == np.uint8 else int(codes.max(initial=0)) + 1)


# Word hash: a multiply / xor-shift step per code point, then a finaliser with the length.
# 64 bits: distinct words collide with probability ~2^-64.
_K1, _K2, _K3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


_SEPARATOR = SPACE | WORDSEP


def split_words(text: str, maxsplit: int = -1) -> list[str]:
    """``text.split()``, with ``WORD_SEPARATORS`` separating words too."""
    for sep in WORD_SEPARATORS:
        if sep in text:
            text = text.replace(sep, " ")
    return text.split(None, maxsplit)


@njit(cache=True, nogil=True)
def _scan_words(codes, flags, split):
    n = len(codes)
    cap = n if split else (n + 1) // 2  # words need a separator between them, unless split
    lengths = np.empty(cap, np.int64)
    hashes = np.empty(cap, np.uint64)
    k = j = chars = with_letter = 0
    while j < n:
        while j < n and flags[codes[j]] & _SEPARATOR:
            j += 1
        if j == n:
            break
        start, h, seen = j, np.uint64(0), 0
        if split and flags[codes[j]] & UNIT:  # one character and its marks
            stop = j + 1
            while stop < n and flags[codes[stop]] & MARK:
                stop += 1
        else:
            stop = n
        while j < stop and not flags[codes[j]] & _SEPARATOR and (j == start or not (split and flags[codes[j]] & UNIT)):
            h = (h + np.uint64(codes[j]) + _K1) * _K3
            h ^= h >> np.uint64(29)
            seen |= flags[codes[j]]
            j += 1
        h = (h ^ np.uint64(j - start)) * _K2
        lengths[k], hashes[k] = j - start, h ^ (h >> np.uint64(31))
        chars += j - start
        with_letter += (seen & LETTER) != 0
        k += 1
    return lengths[:k].copy(), hashes[:k].copy(), chars, with_letter  # copies: release the spare capacity


def scan_words(text: str, split: bool = False) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The words of ``split_words(text)``, in one pass over the code points: each word's length and
    64-bit hash, the characters in words and the number of words with a LETTER. ``split``: each
    character of ``UNIT_SCRIPTS`` (with the combining marks after it) is a word of its own."""
    codes = code_points(text)
    return _scan_words(codes, flag_table(codes), split)


@njit(cache=True, nogil=True)
def _count_flags(codes, flags):
    space = alpha = alnum = letter = mark = 0
    for c in codes:
        f = flags[c]
        space += (f & SPACE) != 0
        alpha += (f & ALPHA) != 0
        alnum += (f & ALNUM) != 0
        letter += (f & LETTER) != 0
        mark += (f & MARK) != 0
    return space, alpha, alnum, letter, mark


def count_flags(text: str) -> dict[int, int]:
    """Characters of ``text`` with each flag: {SPACE: n, ALPHA: n, ALNUM: n, LETTER: n, MARK: n}."""
    codes = code_points(text)
    return dict(zip((SPACE, ALPHA, ALNUM, LETTER, MARK), _count_flags(codes, flag_table(codes))))


class TextDoc:
    """One document's text plus statistics computed at most once, only when a rule asks.

    ``nonspace``: the document's language does not separate words with spaces (see the
    package docstring); word-based measures return None for it. ``trusted``: the language
    label is sure enough for the language's own word lists (``lists_language``). ``meta``:
    the row's meta JSON (a code record's licence).
    """

    def __init__(
        self, text: str, language: Optional[str] = None, url: Optional[str] = None, nonspace: bool = False, trusted: bool = True,
        meta: Optional[str] = None,
    ):
        self.text = text
        self.language = language
        self.url = url
        self.nonspace = nonspace
        self.trusted = trusted
        self.meta = meta
        self.cache: dict = {}  # measure-specific intermediate results (e.g. n-gram hashes)

    def rewritten(self, text: str) -> "TextDoc":
        return TextDoc(text, self.language, self.url, self.nonspace, self.trusted, self.meta)

    @property
    def lists_language(self) -> Optional[str]:
        """The language whose stop-word and bad-word lists apply (None: no list)."""
        return self.language if self.trusted else None

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    @cached_property
    def words(self) -> list[str]:
        return split_words(self.text)

    @property
    def word_chars(self) -> int:
        return self.word_scan[2]

    @cached_property
    def word_scan(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Words of ``split_words(text)`` without building them: see ``scan_words``; in a
        non-space language each Han, kana, Thai, Lao, Khmer or Myanmar character is a word."""
        return scan_words(self.text, self.nonspace)

    @property
    def word_stats(self) -> tuple[int, int, int]:
        """(words, characters in words, words with a letter)."""
        lengths, _, chars, with_letter = self.word_scan
        return len(lengths), chars, with_letter

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped."""
        return list(filter(None, map(str.strip, self.text.split("\n"))))

    @cached_property
    def paragraphs(self) -> list[str]:
        """Blocks separated by blank lines, stripped, non-empty."""
        return list(filter(None, map(str.strip, _PARAGRAPH_SPLIT.split(self.text))))


Measure = Callable[[TextDoc], Optional[float]]


@dataclass(frozen=True)
class Rule:
    name: str  # reason code written to the ledger
    measure: Measure
    op: str  # keep-condition, one of OPS
    threshold: float

    def check(self, doc: TextDoc) -> Optional[float]:
        """The measured value when ``doc`` fails this rule, else None."""
        v = self.measure(doc)
        if v is None or OPS[self.op](v, self.threshold):
            return None
        return float(v)


# --- word lists ----------------------------------------------------------------------------


def load_list(spec: str, default_name: str) -> list[str]:
    """Entries of a word/domain list: one per line, ``#`` comments, lower-cased.

    ``spec`` is "default" (the list shipped in curate/data), "" (no list) or a file path.
    """
    if not spec:
        return []
    path = DATA / default_name if spec == "default" else Path(spec)
    if not path.is_file():
        from curate.config import relative_from

        raise ValueError(f"word list {spec!r}: no file {str(path)!r}{relative_from(spec) if spec != 'default' else ''}")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line:
            out.append(line)
    return out


# --- config ----------------------------------------------------------------------------------


def merge(defaults: dict, cfg: Optional[dict], where: str, open_keys: tuple = ()) -> dict:
    """``defaults`` overlaid with ``cfg`` by the one config checker (curate.config.merge_section):
    unknown fields, wrong types and negative numbers raise ValueError naming the field; the
    tables named in ``open_keys`` (free-form maps such as language -> list file, at any depth)
    replace the default whole."""
    return merge_section(where, defaults, cfg, open_keys=open_keys, numbers=NON_NEGATIVE)


def check_choices(values, allowed, name: str) -> None:
    import difflib

    bad = [v for v in values if v not in allowed]
    if bad:
        hints = [m for v in bad if isinstance(v, str) for m in difflib.get_close_matches(v, list(allowed), n=1, cutoff=0.7)]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        raise ValueError(f"{name}: unknown value(s) {bad}{hint}; allowed: {list(allowed)}")
