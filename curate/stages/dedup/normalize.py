"""Text normalisation for deduplication (not for training: the stored text is never changed).

Two documents that differ only in case, Unicode presentation form, punctuation, digits or
spacing should hash the same (exact dedup) and share their shingles (MinHash). The steps, in
order, each switchable in ``NormalizeConfig``:

1. ``nfkc``: Unicode NFKC (fullwidth letters, ligatures, exotic spaces -> their plain forms).
2. ``lowercase``: Unicode lowercase.
3. ``strip_punct``: punctuation and symbols (``\\p{P}``, ``\\p{S}``), format characters
   (``\\p{Cf}``: zero-width spaces and joiners, soft hyphens) and unassigned code points are
   *removed*, not replaced by a space: ``don't`` -> ``dont``, ``e-mail`` -> ``email``,
   ``1,000`` -> ``1000``. Removal keeps words whole under re-punctuation (a common
   near-duplicate edit); the price is that ``end.Next`` (no space) becomes one word. The
   Ethiopic wordspace ``፡`` (U+1361) is not removed: it separates words (Amharic is often
   written with it and no spaces), and step 6 makes it a space.
   With ``punct_space`` they become a space instead: punctuation separates words. That is right
   for code, where ``a,b`` and ``a, b`` are the same two words (the dedup stage sets it for the
   domains in ``dedup.punct_splits``, ``code`` by default).
4. ``fold_digits``: every run of decimal digits (``\\p{Nd}``, any script) becomes one ``0``:
   dates, prices, counters and page numbers stop making boilerplate pages look different.
5. ``split_cjk`` (off in this definition's ``DEFAULT``, on in the dedup stage): every Han,
   Hiragana, Katakana, Thai, Lao, Khmer and Myanmar character (with its marks) becomes a word
   of its own (a space either side). These languages put no spaces between words (Thai and
   Lao space phrases), so without it a line or phrase is one "word", and a one-character edit
   changes every shingle of it; with it, word n-grams are character n-grams in those scripts
   (lingua Thai pairs with 1 of 10 sentences replaced: 2 of 10 found before, 6 after).
6. ``collapse_ws``: every run of whitespace, separators (and ``፡``) and control characters becomes one
   space; leading and trailing spaces are dropped. Words are then exactly the
   space-separated tokens.

``normalize_reference`` is the definition: five Arrow compute kernels over the whole batch.
``normalize`` gives the same bytes 3-4x faster. Regex replacement pays per match, and
ordinary text has a match at almost every word; so Arrow only treats the non-ASCII
documents, with patterns restricted to non-ASCII characters (rare matches), one
``bytes.translate`` per document does the ASCII work (lowercase, punctuation, digits,
controls) at C speed, and the runs of ``0`` and spaces are collapsed by one vectorised filter
over the whole batch. Tests check that the two agree on random Unicode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class NormalizeConfig:
    nfkc: bool = True
    lowercase: bool = True
    strip_punct: bool = True
    fold_digits: bool = True
    collapse_ws: bool = True
    split_cjk: bool = False
    punct_space: bool = False  # strip_punct replaces punctuation by a space instead of deleting it


DEFAULT = NormalizeConfig()

# Definition patterns (RE2). Removal = everything that is not a letter, mark, number,
# whitespace/separator, control or private-use character.
_STRIP = r"[^\p{L}\p{M}\p{N}\s\p{Z}\p{Cc}\p{Co}\x{1361}]+"  # U+1361: the Ethiopic wordspace
_DIGITS = r"\p{Nd}+"
_SPACES = r"[\s\p{Z}\p{Cc}\x{1361}]+"
# A character with its combining marks (Arrow's NFKC leaves が as か + U+3099). All non-ASCII:
# the fast path uses it as it is.
_CJK = r"([\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]\p{M}*)"
_CJK_ANY = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"
# The same classes restricted to non-ASCII characters, one character per match; the ASCII
# pass then collapses runs and handles the ASCII members of each class.
_STRIP_NA = r"[^\x00-\x7F\p{L}\p{M}\p{N}\p{Z}\p{Cc}\p{Co}\x{1361}]+"
_DIGITS_NA = r"[^\x00-\x7F\P{Nd}]"
_SPACES_NA = r"[\x{80}-\x{9F}\x{1361}]|[^\x00-\x7F\P{Z}]"


def _as_large_string(texts) -> pa.LargeStringArray:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.large_string())
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    if texts.null_count:
        texts = texts.fill_null("")
    return texts


def string_buffers(arr) -> tuple[np.ndarray, np.ndarray]:
    """(bytes uint8, offsets int64 starting at 0) of a string array, zero-copy."""
    arr = _as_large_string(arr)
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def from_buffers(data: np.ndarray, offsets: np.ndarray) -> pa.LargeStringArray:
    buffers = [None, pa.py_buffer(np.ascontiguousarray(offsets, np.int64)), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.large_string(), len(offsets) - 1, buffers)


def doc_chunks(offsets: np.ndarray, target: int) -> Iterable[tuple[int, int]]:
    """Split documents [0, n) into consecutive runs of about ``target`` bytes (a longer
    document gets a run of its own)."""
    n = len(offsets) - 1
    d0 = 0
    while d0 < n:
        d1 = int(np.searchsorted(offsets, offsets[d0] + target, side="right")) - 1
        d1 = min(max(d1, d0 + 1), n)
        yield d0, d1
        d0 = d1


def normalize_reference(texts, config: NormalizeConfig = DEFAULT) -> pa.LargeStringArray:
    """The definition: Arrow kernels applied in order to every document."""
    x = _as_large_string(texts)
    if config.nfkc:
        x = pc.utf8_normalize(x, "NFKC")
    if config.lowercase:
        x = pc.utf8_lower(x)
    if config.strip_punct:
        x = pc.replace_substring_regex(x, *_strip(_STRIP, config))
    if config.fold_digits:
        x = pc.replace_substring_regex(x, _DIGITS, "0")
    if config.split_cjk:
        x = pc.replace_substring_regex(x, _CJK, r" \1 ")
    if config.collapse_ws:
        x = pc.utf8_trim(pc.replace_substring_regex(x, _SPACES, " "), " ")
    return x


def _strip(pattern: str, config: NormalizeConfig) -> tuple[str, str]:
    """(pattern, replacement) of the strip step: runs deleted, or each character a space
    (``punct_space``; one space per character, as the ASCII table maps them, so the two paths
    agree without ``collapse_ws``)."""
    return (pattern[:-1], " ") if config.punct_space else (pattern, "")


def _ascii_table(config: NormalizeConfig) -> tuple[bytes, bytes]:
    """(translate table, bytes to delete) doing the ASCII part of steps 2-5 in one C pass."""
    table = bytearray(range(256))
    if config.lowercase:
        table[65:91] = range(97, 123)
    if config.fold_digits:
        table[48:58] = b"0" * 10
    if config.collapse_ws:
        table[0:33] = b" " * 33
        table[127] = 32
    punct = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" if config.strip_punct else b""
    if config.punct_space:
        for c in punct:
            table[c] = 32
        punct = b""
    return bytes(table), punct


def _collapse_runs(data: np.ndarray, offsets: np.ndarray, config: NormalizeConfig):
    """Keep only the first byte of each run of spaces / '0's inside a document."""
    same = np.zeros(len(data), dtype=bool)
    np.equal(data[1:], data[:-1], out=same[1:])
    if config.collapse_ws and config.fold_digits:
        same &= (data == 32) | (data == 48)
    else:
        same &= data == (32 if config.collapse_ws else 48)
    same[offsets[:-1][offsets[:-1] < len(data)]] = False  # runs stop at document starts
    drop = np.flatnonzero(same)
    if len(drop) == 0:
        return data, offsets
    data = pc.filter(pa.array(data), pa.array(~same)).to_numpy(zero_copy_only=False)
    return data, offsets - np.searchsorted(drop, offsets)


def normalize(texts, config: NormalizeConfig = DEFAULT) -> pa.LargeStringArray:
    """Normalise a batch of texts (Arrow array or sequence of str); same result as
    ``normalize_reference``."""
    x = _as_large_string(texts)
    if len(x) == 0:
        return x
    data, offsets = string_buffers(x)
    raw, bounds = data.tobytes(), offsets.tolist()
    docs = [raw[s:e] for s, e in zip(bounds[:-1], bounds[1:])]
    non_ascii = np.flatnonzero(~pc.string_is_ascii(x).to_numpy(zero_copy_only=False))
    if len(non_ascii):
        sub = x.take(non_ascii)
        if config.nfkc:
            sub = pc.utf8_normalize(sub, "NFKC")
        if config.lowercase:
            sub = pc.utf8_lower(sub)
        if config.strip_punct:
            sub = pc.replace_substring_regex(sub, *_strip(_STRIP_NA, config))
        if config.fold_digits:
            sub = pc.replace_substring_regex(sub, _DIGITS_NA, "0")
        if config.collapse_ws:
            sub = pc.replace_substring_regex(sub, _SPACES_NA, " ")
        sdata, soff = string_buffers(sub)
        sraw, sb = sdata.tobytes(), soff.tolist()
        for k, i in enumerate(non_ascii.tolist()):
            docs[i] = sraw[sb[k] : sb[k + 1]]
        if config.split_cjk:  # after the spaces step (same result): only documents with CJK
            has = np.flatnonzero(pc.match_substring_regex(sub, _CJK_ANY).to_numpy(zero_copy_only=False))
            if len(has):
                cdata, coff = string_buffers(pc.replace_substring_regex(sub.take(has), _CJK, r" \1 "))
                craw, cb = cdata.tobytes(), coff.tolist()
                for k, i in enumerate(non_ascii[has].tolist()):
                    docs[i] = craw[cb[k] : cb[k + 1]]
    # One bytes.translate per document (C speed) lowercases, deletes ASCII punctuation and maps
    # digits to '0' and controls to ' '; runs are then collapsed over the whole batch at once.
    table, delete = _ascii_table(config)
    if config.collapse_ws:
        docs = [d.translate(table, delete).strip(b" ") for d in docs]
    else:
        docs = [d.translate(table, delete) for d in docs]
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)), out=offsets[1:])
    data = np.frombuffer(b"".join(docs), dtype=np.uint8)
    if config.collapse_ws or config.fold_digits:
        data, offsets = _collapse_runs(data, offsets, config)
    return from_buffers(data, offsets)


def normalize_text(text: str, config: NormalizeConfig = DEFAULT) -> str:
    """One document (convenience for tests and debugging)."""
    return normalize([text], config)[0].as_py()
