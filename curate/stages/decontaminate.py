"""The ``decontaminate`` stage: remove documents that share a word n-gram with an evaluation set.

A model's benchmark numbers mean little if the test items were in its pre-training data.
Following GPT-3 and datatrove, every window of 13 words (``ngram``) of every document is looked
up in the 13-word windows of the user's evaluation sets; a document with a hit is removed
(ledger rule ``eval_overlap``, ``kept_id`` = the matched item as ``set:item id``, ``snippet`` =
the document's overlapping n-gram, ``value`` = how many of its windows matched, ``threshold``
= n) or, with ``mode = "cut"`` (a book's default: ``DEFAULT_MODES``), the overlapping words are cut out of its text and it is kept (removed as above where no letter would be left: blank, a list marker, a number)
(``decontaminate.cut_docs`` / ``cut_chars`` in the stats; per document an ``edits`` entry: rule, windows,
characters cut, the items matched).

``max_edits = 1`` (default) also matches a window that differs from an evaluation window in one
word: copies with light edits are contamination too, and exact 13-grams miss most of them
(10% of words substituted: 30 of 395 planted items missed exactly, 3 with one mismatch, see
tests/test_decontaminate.py). Each evaluation window is stored as its n variants with one word
replaced by a wildcard; a document window is only expanded into its variants when its first or
last (n-1)/2 words occur in the evaluation sets (one of the two halves survives one edit),
so the tolerant mode runs as fast as the exact one.

Short items escape windows: an item of 15-25 words with two edits can have both inside every
13-word window (3 of the 395 edited plants). Items of ``ngram`` to ``short_item_words`` - 1
(26) words are therefore also matched whole (``near_copy``): a run of document words within
``short_item_edits`` (15%) of the item's words in word edit distance is a near copy, ledger
rule ``eval_near_copy`` (``kept_id`` = the item, ``snippet`` = the document's matched words, a secret's ``<KEY>``,
``value`` = the edits, ``threshold`` = the edits allowed), cut out like a window in "cut"
mode. A document that also has a matching window is reported under ``eval_overlap``.

Normalisation (both sides): punctuation, symbols and numbers (with the marks after them: an
emoji's variation selector) become spaces, then dedup's
normalisation (NFKC, lowercase, whitespace collapsed). Spaces rather than removal make
tokenized test sets match running text: WikiText's ``guest @-@ starring`` and ``Teddy 's``
meet a page's ``guest-starring`` and ``Teddy's``; in code ``current_depth += 1`` is
``current depth``. Numbers are dropped: a run of 13 numbers (a data table) is not a test item. Chinese and
Japanese have no spaces: each Han or kana character is a word (as dedup's ``split_cjk``), so a
window is 13 characters there. Thai, Lao, Khmer and Myanmar runs are cut into pieces of ~4
characters by their content (``chunk``; 13 characters are a few syllables that unrelated Thai
sentences share), so a window is ~50 characters there.
Word hashes are dedup's shingle hashes (one compiled pass), windows a polynomial of them.
Evaluation items shorter than ``ngram`` words cannot match and are counted
(``eval_items_too_short``), not used.

The evaluation keys are loaded once per worker process (``setup``) from the files themselves,
~17 bytes per key (n keys per evaluation window with ``max_edits = 1``): HumanEval and the
WikiText-2 test split make 2.4 M keys, 40 MB, and the near-copy index of its 87 short items
0.08 MB. Small enough to hold on every worker
(docs/scale.md gives the limit, ``max_ngrams``), so this is a per-batch stage with no shuffle.
"""
from __future__ import annotations

import ast
import json
import os
import bisect
import sys
import tokenize
import unicodedata
import warnings
from pathlib import PurePosixPath
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex

from curate import schema
from curate.config import Check, did_you_mean
from curate.readers.common import BombStopped, bomb_elsewhere
from curate.readers.decompress import CorruptData, unreadable
from curate.readers.languages import canonical
from curate.snippets import code_languages, shared_words
from curate.stages import near_copy
from curate.stages.dedup.minhash import shingle_hashes
from curate.stages.dedup.normalize import normalize
from curate.stages.word_keys import KeySet, powers, roll

RULE = "eval_overlap"
NEAR_RULE = "eval_near_copy"
MODES = ("remove", "cut")
EDIT_ITEMS = 5  # evaluation items a cut document's ``edits`` entry names (then "and N more")
# A book is one document: a sentence it shares with an evaluation set would remove the whole
# book, so its matches are cut out (as GPT-3 cut long documents around a match); a page or a
# source file that holds a test item is removed.
DEFAULT_MODES = {"web": "remove", "code": "remove", "books": "cut"}
UNITS = ("line", "file")
EVAL_SET_DEFAULTS = {
    "name": "",  # short name, prefixes item ids in the ledger (default: the file name)
    "glob": "",  # file, directory or glob: JSONL (.jsonl, .jsonl.gz, .jsonl.zst), Parquet or text (gzip/zstd too)
    "format": "",  # "jsonl", "parquet" or "text"; empty: from the file name
    "text_fields": ["text"],  # JSONL/Parquet: fields joined (newline) into one item
    "id_field": "",  # JSONL/Parquet: the item id; empty: file:row
    "unit": "line",  # text files: one item per non-empty "line" (WikiText paragraphs) or per "file"
}
# with the marks after each (an emoji's variation selector ❤️, a keycap 1️⃣): else a "word" of their own
_PUNCT = r"(?:[\p{P}\p{S}\p{N}]\p{M}*)+"


# Chinese and Japanese put no spaces between words: each Han or kana character (with its marks)
# is a word, as in dedup's split_cjk. Thai, Lao, Khmer, Myanmar: see ``chunk`` below
_CJK_CHAR = r"[\p{Han}\p{Hiragana}\p{Katakana}]"
_CJK = f"({_CJK_CHAR}\\p{{M}}*)"
# what "cut" mode cuts: whitespace-separated tokens, but each Han or kana character (with the
# punctuation after it, as "word," is one token) alone: a Chinese paragraph has no spaces
# (a half-width kana's voiced marks ﾞ ﾟ, which NFKC joins to it, with it too)
_LETTER = regex.compile(r"\p{L}")
_CUT_TOKEN = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}][\p{M}\p{P}\p{S}\uFF9E\uFF9F]*|[^\s\p{Han}\p{Hiragana}\p{Katakana}]+")


# Thai, Lao, Khmer and Myanmar put no spaces between words either (Thai and Lao space phrases),
# and 13 of their characters are a few syllables that unrelated sentences share (lingua Thai: 43
# of 50 pages of other sentences matched). Their runs are cut into pieces by their content: a
# boundary before a character (not a combining mark) where a hash of it and the character before
# it is 0 mod CHUNK_CHARS, so the same text is cut the same way wherever it stands, and an edit
# changes the one or two pieces around it, as it changes a word.
# Lingua Thai (tests/test_decontaminate.py), each item planted between two other sentences and
# pages of five other sentences, by CHUNK_CHARS (1 = each character a word; main: phrases, 23 of
# 250 caught, 2 with 5% of the characters edited, 0 pages matched):
#   CHUNK_CHARS                     1     2     3     4     5     6
#   items planted, caught (of 250)  249   236   219   205   184   176   (120 of the 120 of >= 100 characters)
#   the same, 5% characters edited  249   213   171   137   95    87
#   pages of other sentences (50)   43    17    8     8     5     6
# At 4 the 8 pages share a run of 30-76 characters with an item (7 of them 49 or more: a Thai
# government site's boilerplate lines), not a few syllables.
CHUNK_CHARS = 4  # mean characters a piece: a 13-piece window is ~50 characters
_CHUNKED = r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"
_CHUNK_RANGES = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F))


def _chunk_tables() -> tuple[np.ndarray, np.ndarray]:
    """(in those scripts' blocks, a combining mark) per code point below 0xAA80."""
    inside, mark = np.zeros(0xAA80, bool), np.zeros(0xAA80, bool)
    for lo, hi in _CHUNK_RANGES:
        inside[lo : hi + 1] = True
        mark[lo : hi + 1] = [unicodedata.category(chr(c))[0] == "M" for c in range(lo, hi + 1)]
    return inside, mark


_INSIDE, _MARK = _chunk_tables()


def _piece_starts(cps: np.ndarray) -> np.ndarray:
    """The positions in code points ``cps`` where a piece starts inside a Thai, Lao, Khmer or
    Myanmar run (see ``CHUNK_CHARS``)."""
    low = np.minimum(cps, len(_INSIDE) - 1)
    inside = _INSIDE[low] & (cps < len(_INSIDE))
    with np.errstate(over="ignore"):
        h = (cps[:-1].astype(np.uint64) * np.uint64(0x9E3779B1) + cps[1:]) * np.uint64(0x85EBCA77)
    return np.flatnonzero(inside[1:] & inside[:-1] & ~_MARK[low[1:]] & ((h >> np.uint64(29)) % np.uint64(CHUNK_CHARS) == 0)) + 1


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), np.uint32)


def chunk(text: str) -> str:
    """``text`` with a space at each content-defined boundary inside its Thai, Lao, Khmer and
    Myanmar runs (see ``CHUNK_CHARS``)."""
    cps = _codepoints(text)
    cut = _piece_starts(cps)
    return np.insert(cps, cut, 32).astype("<u4").tobytes().decode("utf-32-le") if len(cut) else text


_CLUSTER = regex.compile(r"\P{M}\p{M}*|\p{M}+")  # a character with the marks after it


def _token_words(tokens: list[str]) -> list[tuple[list[str], list[int], list[int], list[int]]]:
    """For each whitespace-free token (a Thai phrase), the words ``normalize_words`` makes of
    it (its pieces, and the words punctuation separates: ``ผกก.พ.ชลน่าน``) as its characters
    with their marks normalised one at a time make them (the caller checks they are the
    token's); the segments of the token (their start offsets); each word's segment; and
    where each segment's letters end (the punctuation after them is the rest of it). A
    segment is a character with its marks, or several where a word starts inside one's normal
    form (after the ํ of ำ: that character stays with the word before). Punctuation,
    symbols and numbers are a space, format characters (a zero-width space) go, the rest is
    NFKC and lowercase as Arrow makes it (as ``normalize`` does)."""
    spans = [[(m.start(), m.end()) for m in _CLUSTER.finditer(t)] for t in tokens]
    clusters = [t[a:e] for t, sp in zip(tokens, spans) for a, e in sp]
    kept = ["".join(c for c in x if unicodedata.category(c) not in ("Cf", "Cn")) for x in clusters]
    nf = pc.utf8_lower(pc.utf8_normalize(pa.array(kept, pa.large_string()), "NFKC")).to_pylist() if kept else []
    forms = iter(" " if unicodedata.category(x[0])[0] in "PSN" else f for x, f in zip(clusters, nf))
    out = []
    for sp in spans:
        mine = [next(forms) for _ in sp]
        owner = np.repeat(np.array([a for a, _ in sp], np.int64), [len(f) for f in mine])
        joined = "".join(mine)
        cps = _codepoints(joined)
        space = cps == 32
        starts = np.union1d(_piece_starts(cps), np.flatnonzero(~space & np.concatenate([[True], space[:-1]]))).tolist()
        words = [joined[a:e].rstrip(" ") for a, e in zip(starts, starts[1:] + [len(cps)])]
        segments, of = [0], []
        for k, a in enumerate(starts):
            if k and owner[a] != owner[a - 1]:  # a new character: a new segment
                segments.append(int(owner[a]))
            of.append(len(segments) - 1)
        letters = list(segments)  # each segment's end before the punctuation after its word
        for (a, e), f in zip(sp, mine):
            if f.strip():
                letters[bisect.bisect_right(segments, a) - 1] = e
        out.append((words, segments, of, letters))
    return out


def normalize_words(texts) -> pa.LargeStringArray:
    """The matching normalisation: punctuation, symbols and numbers -> spaces, each Han or kana
    character a word, then dedup's ``normalize``."""
    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(list(texts), pa.large_string())
    x = pc.replace_substring_regex(arr, _PUNCT, " ")
    if isinstance(x, pa.ChunkedArray):
        x = x.combine_chunks()
    # only non-ASCII texts with such a character are rewritten (a match test costs less than a replace)
    idx = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(x), True).to_numpy(zero_copy_only=False))
    idx = idx[pc.match_substring_regex(x.take(idx), _CJK_CHAR).to_numpy(zero_copy_only=False)] if len(idx) else idx
    if len(idx):
        mask = np.zeros(len(x), bool)
        mask[idx] = True
        # NFKC first, as dedup's split_cjk: a half-width kana's voiced mark (ｶﾞ) is a character of its own until then
        split = pc.replace_substring_regex(pc.utf8_normalize(x.take(idx), "NFKC"), _CJK, r" \1 ")
        x = pc.replace_with_mask(x, pa.array(mask), split)
    x = normalize(x)
    idx = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(x), True).to_numpy(zero_copy_only=False))
    idx = idx[pc.match_substring_regex(x.take(idx), _CHUNKED).to_numpy(zero_copy_only=False)] if len(idx) else idx
    if len(idx):
        mask = np.zeros(len(x), bool)
        mask[idx] = True
        x = pc.replace_with_mask(x, pa.array(mask), pa.array([chunk(t) for t in x.take(idx).to_pylist()], pa.large_string()))
    return x


_WILD = np.uint64(0x5851F42D4C957F2D)  # stands for the one word a tolerant window skips


def word_hashes(normalized) -> tuple[np.ndarray, np.ndarray]:
    """(hash of every word, offsets: text d owns words[offsets[d]:offsets[d+1]]): dedup's
    shingle hashes of 1-grams (one compiled pass)."""
    return shingle_hashes(normalized, 1)


def windows(normalized, n: int, words=None):
    """Every window of ``n`` consecutive words of every text: (word hashes, window hashes,
    each window's first word, its text index, its word position in the text). ``words``:
    the texts' ``word_hashes`` if already computed."""
    w, offs = words if words is not None else word_hashes(normalized)
    counts = np.diff(offs)
    doc_of_word = np.repeat(np.arange(len(counts)), counts)
    start = np.arange(max(len(w) - n + 1, 0))
    start = start[doc_of_word[start] == doc_of_word[start + n - 1]] if len(start) else start
    doc = doc_of_word[start]
    return w, roll(w, start, n), start, doc, start - offs[doc]


def halves(n: int) -> int:
    """Words in each half checked before a tolerant lookup: a window of n words with one
    mismatch keeps its first or its last (n - 1) // 2 words intact."""
    return (n - 1) // 2


def window_keys(w: np.ndarray, h: np.ndarray, start: np.ndarray, n: int, edits: int):
    """The lookup keys of each window: itself (``edits`` = 0), or its ``n`` variants with one
    word replaced by a wildcard (``edits`` = 1: a window matches an evaluation window that
    differs from it in at most one word, e.g. one substitution)."""
    if edits == 0:
        yield h
        return
    pw = powers(n)
    with np.errstate(over="ignore"):
        for k in range(n):
            yield h + (_WILD - w[start + k]) * pw[k]


@dataclass
class EvalNgrams:
    """The evaluation windows: their keys -> the (first) item of each, the half-window keys
    (tolerant matching only), the item names."""

    keys: KeySet
    halves: KeySet | None
    names: list
    stats: dict
    near: near_copy.NearCopyIndex | None = None  # the short items, for near copies

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + sum(x.nbytes for x in (self.halves, self.near) if x is not None)


def _unique_first(h: np.ndarray, it: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique keys, each with the smallest item that has it."""
    order = np.lexsort((it, h))
    h, it = h[order], it[order]
    first = np.concatenate([[True], h[1:] != h[:-1]]) if len(h) else np.zeros(0, bool)
    return h[first], it[first]


def _refused(files: list[tuple[str, str]], spec: dict, option: str | None = None) -> str | None:
    """Why evaluation files cannot be read as they are (a .jsonl.bz2: its compressed bytes would
    be read as items; a .parquet.gz is read, decompressed), every one named in one line, else
    None; ``option``: the key that named a file (``eval_sets[0].glob``), given its copy where one
    is beside it, as curate run's --input is."""
    from curate.readers import all_refused
    from curate.readers.common import other_compression_error

    in_place = not os.path.isfile(spec["glob"])  # a folder's or glob's file: move the original out
    refused = [(path, rel, why) for path, rel in files
               if (why := other_compression_error(path, in_place=in_place, option=None if in_place else option))]
    return all_refused(refused) if refused else None


def _texts_of_file(path: str, rel: str, spec: dict, fmt: str):
    """(item id, text) of every item of one evaluation file."""
    from curate.readers.common import Limits, decode_text, open_bytes
    from curate.readers.jsonl import get_path, json_lines

    error = _refused([(path, rel)], spec)
    if error:
        raise ValueError(error)
    fields = spec["text_fields"]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with open_bytes(path, Limits()) as f:  # a .parquet.gz / .zst decompressed, as a JSONL eval file is
            data = pa.BufferReader(f.read())
        try:
            rows = pq.read_table(data).to_pylist()
        except pa.ArrowInvalid as e:  # pyarrow's message names no file ('<Buffer>')
            raise ValueError(f"{path}: not a Parquet file ({str(e).splitlines()[0]})") from None
    elif fmt == "jsonl":
        with open_bytes(path, Limits()) as f:  # gzip or zstd, as `curate run` reads an input
            rows = [row for _, row in json_lines(f, path)]  # and its JSON Lines
    else:
        with open_bytes(path, Limits()) as f:
            text = decode_text(f.read())[0]  # UTF-16 with a BOM, cp1252, UTF-8 with stray bytes: as curate run reads a text input
        if spec["unit"] == "file":
            yield rel, text
        else:
            for i, line in enumerate(text.splitlines()):
                if line.strip():
                    yield f"{rel}:{i + 1}", line
        return
    _check_text_fields(path, rows, fields, get_path)
    for i, row in enumerate(rows):
        parts = [get_path(row, f) for f in fields]
        text = "\n".join(str(p) for p in parts if p is not None)
        item = get_path(row, spec["id_field"]) if spec["id_field"] else None
        yield (str(item) if item is not None else f"{rel}:{i}"), text


def _check_text_fields(path: str, rows: list, fields: list, get_path) -> None:
    """Refuse a file whose records give no item a text: each was read as an empty item, 'too
    short to match', and no page was checked against the file (GSM8K's question and answer
    under the default text_fields ["text"]; a .json holding one JSON array)."""
    bad = next((i for i, row in enumerate(rows) if not isinstance(row, dict)), None)
    if bad is not None:
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(rows[bad]), "number")
        raise ValueError(f"{path}: record {bad + 1} is a JSON {kind}, not an object: an evaluation file read as JSON Lines holds "
                         "one object a line (a file holding one JSON array: write its items one a line)")
    if rows and not any(get_path(row, f) is not None for row in rows for f in fields):
        names = sorted({k for row in rows[:1000] for k in row})
        raise ValueError(f"{path}: none of its {len(rows):,} records has a field of text_fields {list(fields)} (its fields: "
                         f"{', '.join(names[:10])}{', ...' if len(names) > 10 else ''}): set text_fields to the fields holding "
                         f"the text of an item, e.g. text_fields = {json.dumps(names[:2])}")


def _format_of(path: str, given: str) -> str:
    return given or _format_by_name(path) or "text"


def _format_by_name(path: str) -> str | None:
    # .bz2/.xz/.lz4 too: such a file is then refused naming its compression (_texts_of_file)
    base = regex.sub(r"\.(gz|zst|bz2|xz|lz4)$", "", path.lower())
    if base.endswith(".parquet"):
        return "parquet"
    if base.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return "text" if base.endswith(".txt") else None


def _unknown_beside_known(glob: str, files: list[tuple[str, str]]) -> str | None:
    """The error for files whose name tells no format among files whose names do (a dataset
    download's README.md beside its test.jsonl), or for a card by its name (README.md, LICENSE,
    NOTICE.txt) beside any other file (test.csv): read as text, a card's every line was an item,
    and each page quoting its licence was removed. None where all or none tell (a folder of
    .csv files is read as text lines, as ever)."""
    # a card is text (README.md, LICENSE.txt, NOTICE); a license.jsonl holds records: an evaluation set
    cards = [rel for path, rel in files if _is_card(rel, path)]
    data = [(path, rel) for path, rel in files if rel not in cards]
    known = [rel for path, rel in data if _format_by_name(path) is not None]
    # a file of no format is said as such beside those of one; a card beside any other file
    unknown = [rel for path, rel in files if _format_by_name(path) is None] if known else []
    if not (unknown and known) and not (cards and data):
        return None
    cards = [rel for rel in cards if rel not in unknown]  # README.md beside test.jsonl: said as of no format
    left = unknown + cards
    rels = [rel for _, rel in data if rel not in left]
    # the glob offered is spelt as the files are (a case-sensitive glob): the longest ending all share
    ends = [e for e in ("".join(PurePosixPath(rels[0]).suffixes[-k:]) for k in (2, 1)) if e] if rels else []
    suffixes = [e for e in ends if all(r.endswith(e) for r in rels) and not any(r.endswith(e) for r in left)]
    one = "it" if len(left) == 1 else "them"
    hint = (f'a glob that leaves {one} out: glob = "{os.path.join(glob, "**", "*" + suffixes[0])}"'
            if suffixes and os.path.isdir(glob) else f"a glob that leaves {one} out")

    def listed(rels):
        return ", ".join(rels[:5]) + (f" and {len(rels) - 5} more" if len(rels) > 5 else "")

    parts = [("cannot tell the format of " + (f"{listed(unknown)} from its name" if len(unknown) == 1
                                               else f"{len(unknown)} files ({listed(unknown)}) from their names"))] * bool(unknown)
    parts += [f"{listed(cards)}, by {'its name' if len(cards) == 1 else 'their names'} a dataset's card, licence or metadata,"] * bool(cards)
    what = ", and ".join(parts)
    return (f"{what} beside the evaluation files (read as text, each line an item: a "
            f'dataset card\'s licence would remove every page quoting it): give {hint}, or format = "text" to read every file as text')


# a dataset folder's own papers: read as items, a licence's sentence removed every page quoting it
_CARDS = frozenset({"readme", "license", "licence", "copying", "notice", "citation", "authors", "changelog", "changes"})


# a Hugging Face download's metadata (features, splits, a description): JSON, but no items (its
# records have no text field: it refused the run, or its description was an item)
_METADATA = frozenset({"dataset_infos.json", "dataset_info.json", "dataset_dict.json"})


def _is_card(rel: str, path: str) -> bool:
    """Whether a file is by its name a dataset's card or licence (LICENSE.txt, README.txt, COPYING),
    text or of no format (a license.jsonl holds records), or a Hugging Face dataset's metadata."""
    name = os.path.basename(rel).lower()
    return name in _METADATA or name.split(".")[0] in _CARDS and _format_by_name(path) in (None, "text")


def spelt_glob(glob: str) -> str:
    """One spelling of an evaluation set's path or glob (its config's hash), as another file an
    option names (config.file_path): ``.`` parts and doubled separators gone, ``..`` resolved as
    the kernel does where it names no pattern, ``~`` the home folder. Typed relative it stays
    relative to the current directory (a copy of the project in another folder is the same config;
    it was made absolute, so such a copy's rerun started over), typed absolute it stays absolute;
    a URI as it is."""
    from curate.config import file_path, home_path
    from curate.readers import has_magic, is_uri, tidy_glob

    if is_uri(glob):
        return glob
    return tidy_glob(home_path(glob)) if has_magic(glob) else file_path(glob)  # ./*.jsonl as *.jsonl


def check_eval_sets(sets) -> list[dict]:
    if not isinstance(sets, list):
        raise ValueError(f"eval_sets: expected a list of tables, got {sets!r}")
    out = []
    for i, s in enumerate(sets):
        if not isinstance(s, dict):
            raise ValueError(f"eval_sets[{i}]: expected a table, got {s!r}")
        bad = sorted(set(s) - set(EVAL_SET_DEFAULTS))
        if bad:
            raise ValueError(f"eval_sets[{i}].{bad[0]}: unknown key; allowed keys: {', '.join(EVAL_SET_DEFAULTS)}")
        s = {**EVAL_SET_DEFAULTS, **s}
        if isinstance(s["text_fields"], str):
            s["text_fields"] = [s["text_fields"]]
        if not s["glob"]:
            raise ValueError(f"eval_sets[{i}].glob: required (a path or glob of evaluation files)")
        if s["format"] not in ("", "jsonl", "parquet", "text"):
            raise ValueError(f"eval_sets[{i}].format: {s['format']!r} is not one of jsonl, parquet, text")
        if s["unit"] not in UNITS:
            raise ValueError(f"eval_sets[{i}].unit: {s['unit']!r} is not one of {', '.join(UNITS)}")
        from curate.config import home_path, relative_from
        from curate.readers import is_uri, list_files, none_listed
        from curate.readers.common import path_problem

        glob = home_path(s["glob"])  # ~/evals/*.jsonl: in the home folder, where the run reads it
        if path_problem(glob):  # gs:/b/e.jsonl, ' gs://b/e.jsonl': said as an input's glob is
            raise ValueError(f"eval_sets[{i}].glob: {path_problem(glob)}")
        try:
            files = list_files(glob)
        except OSError as e:  # a bucket offline, without credentials, misspelt: one line, as an input's (a traceback)
            if not is_uri(glob):
                raise
            raise ValueError(f"eval_sets[{i}].glob: {s['glob']!r} cannot be listed: {str(e)[:400]}") from None
        if not files:  # stored relative: a rerun or `curate mix OUT` from another folder reads it from there
            raise ValueError(f"eval_sets[{i}].glob: {none_listed(glob, repr(s['glob']))}{relative_from(glob)}")
        unknown = None if s["format"] else _unknown_beside_known(glob, files)
        if unknown:
            raise ValueError(f"eval_sets[{i}].glob: {unknown}")
        out.append({**s, "glob": glob})
    return out


def load_eval_ngrams(sets: list[dict], n: int, max_ngrams: int = 0, edits: int = 0,
                     short_words: int = 0, short_edits: float = 0.0) -> EvalNgrams:
    """Key every n-word window of every evaluation item (files in sorted order, so the item a
    key is attributed to, its first occurrence, never depends on the machine), and index the
    items of n to ``short_words`` - 1 words for near-copy matching (``near_copy``)."""
    from curate.readers import list_files

    names, hs, idx, halves_, short, short_names = [], [], [], [], [], []
    stats = {"eval_items": 0, "eval_items_too_short": 0}
    for i, spec in enumerate(sets):
        files = list_files(spec["glob"])
        error = _refused(files, spec, f"decontaminate.eval_sets[{i}].glob")
        if error:
            raise ValueError(error)
        for path, rel in files:
            name = spec["name"] or rel.split("/")[-1].split(".")[0]
            try:
                items = list(_texts_of_file(path, rel, spec, _format_of(path, spec["format"])))
            except (EOFError, OSError, CorruptData) as e:  # a cut download, a damaged member: one line, no traceback
                raise ValueError(unreadable(path, e)) from None
            except BombStopped as e:  # a traceback before; an evaluation set takes no [limits]
                raise ValueError(bomb_elsewhere(e, path)) from None
            if not items:
                continue
            norm = normalize_words([t for _, t in items])
            words = word_hashes(norm)
            w, h, start, doc, _ = windows(norm, n, words)
            counts = _word_counts(norm)
            stats["eval_items"] += len(items)
            stats["eval_items_too_short"] += int((counts < n).sum())
            for j in np.flatnonzero((counts >= n) & (counts < short_words)).tolist():
                short.append(words[0][words[1][j] : words[1][j + 1]])
                short_names.append(len(names) + j)
            for keys in window_keys(w, h, start, n, edits):
                hs.append(keys)
                idx.append((doc + len(names)).astype(np.int32))
            if edits:
                half = halves(n)
                halves_ += [roll(w, start, half), roll(w, start + n - half, half)]
            names += [f"{name}:{item}" for item, _ in items]
    h, it = _unique_first(np.concatenate(hs) if hs else np.zeros(0, np.uint64),
                          np.concatenate(idx) if idx else np.zeros(0, np.int32))
    if max_ngrams and len(h) > max_ngrams:
        raise ValueError(f"eval_sets: {len(h):,} distinct {n}-gram keys exceed max_ngrams = {max_ngrams:,} (see docs/scale.md)")
    stats["eval_ngrams"] = int(len(h))
    half_keys = KeySet(np.unique(np.concatenate(halves_))) if edits and halves_ else None
    near = None
    if short_words > n:
        near = near_copy.build(short, short_names, near_copy.anchor_length(n, short_words, short_edits), short_edits)
        stats["eval_short_items"] = len(short)
    return EvalNgrams(KeySet(h, it), half_keys, names, stats, near)


def _word_counts(normalized: pa.Array) -> np.ndarray:
    """Words per normalised text (single spaces between words, none at the ends)."""
    spaces = pc.count_substring(normalized, " ").to_numpy(zero_copy_only=False)
    empty = pc.equal(pc.utf8_length(normalized), 0).to_numpy(zero_copy_only=False)
    return np.where(empty, 0, spaces + 1)


def _cut_domains(mode) -> list[str]:
    """The domains whose matches are cut out (the others' documents are removed) of ``mode``:
    "remove" or "cut" for every domain, or a table of domain -> mode over the default one
    (books cut, web and code removed)."""
    table = {**DEFAULT_MODES, **mode} if isinstance(mode, dict) else dict.fromkeys(schema.DOMAINS, mode)
    for domain, m in table.items():
        where = f"mode.{domain}" if isinstance(mode, dict) else "mode"
        if domain not in schema.DOMAINS:
            raise ValueError(f"{where}: {domain!r} is not one of {', '.join(schema.DOMAINS)}{did_you_mean(domain, schema.DOMAINS)}")
        if m not in MODES:
            raise ValueError(f"{where}: {m!r} is not one of {', '.join(MODES)}{did_you_mean(m, MODES)}")
    return [d for d, m in table.items() if m == "cut"]


def _covered_spans(text: str, tokens: list, norm: list, owner: np.ndarray, covered: np.ndarray, words: np.ndarray) -> list:
    """The (start, end) character spans of ``cut_text``'s ``covered`` tokens, in order. A token
    of several words (a Thai phrase of several pieces, ``ผกก.พ.ชลน่าน``) only some of which
    are matched (``words``) loses only those: an item glued to the text beside it (no space)
    took that text's phrase with it. Its segments (``_token_words``) are cut so only where
    they make the token's words (else the whole token, as before)."""
    hit = np.bincount(owner[words], minlength=len(tokens))
    count = np.bincount(owner, minlength=len(tokens))
    first = np.concatenate([[0], np.cumsum(count)])
    partial = np.flatnonzero(covered & (hit < count)).tolist()
    made = dict(zip(partial, _token_words([text[slice(*tokens[t])] for t in partial])))
    whole = {t for t in partial if made[t][0] != norm[t].split(" ")}  # not the token's words: the whole token
    matched = set(words.tolist())
    spans = []
    for t in np.flatnonzero(covered).tolist():
        s, e = tokens[t]
        if t not in made or t in whole:
            spans.append((s, e))
            continue
        words_t, segments, of, letters = made[t]
        cut = np.zeros(len(segments) + 1, bool)
        cut[np.array(of)[words[first[t] : first[t + 1]]]] = True
        # the cut goes on into the next token (from its first word): the punctuation after this
        # token's last word goes too (g(ITEM, ...) left g(, ): the comma of a cut argument list)
        nxt = t + 1
        cut[-1] = nxt < len(tokens) and covered[nxt] and (nxt not in made or nxt in whole or first[nxt] in matched)
        # a cut word's punctuation before a word kept stays with it (x.ITEM.y leaves x..y, ITEM's 's)
        ends = [b if cut[k + 1] else letters[k] for k, b in enumerate(segments[1:] + [e - s])]
        spans += [(s + a, s + b) for a, b, c in zip(segments, ends, cut) if c]
    return spans


# brackets open one way (Ps ( [ 「, Pe ) ] 」); quotes face either way: “en” (Pi Pf), »de« (Pf Pi), „de“ (Ps Pi)
_LOW_QUOTES = "\u201a\u201e"  # ‚ „: Ps, but closed by a quote
_STRAIGHT = '"'  # Po, but a quote (Gutenberg's books, most web pages); ' is left: far more often an apostrophe
_QUOTE_LIKE = "\"'"  # straight quotes: Po, but no word's punctuation
_APOSTROPHES = "\u2018\u2019"  # ‘ ’ inside an item: don’t, students’, ’90s (the item's, not a quote)
# a single quote opening (‘ or German ‚, not ‘90s) and one closing (after a word, not don’t)
_OPENS_SINGLE = regex.compile(r"(?<![\p{L}\p{N}])[\u2018\u201a](?!\p{N})")
_CLOSES_SINGLE = regex.compile(r"(?<=\S)[\u2018\u2019](?![\p{L}\p{N}])")


_OPEN_SINGLE = "\u2018\u201a"


def _item_edge(k: int, words: list[int], bounds: list[int]) -> str | None:
    """"start" where the cut's ``k`` is before the first word of one of its items (``bounds``:
    where those after the first begin), "end" where after the last, else None (inside one)."""
    i = bisect.bisect(words, k)  # the cut's words before k
    if i in (0, len(words)):
        return "start" if i == 0 else "end"
    j = bisect.bisect(bounds, k)
    if j and bounds[j - 1] > words[i - 1]:
        return "start"
    return "end" if j < len(bounds) and bounds[j] <= words[i] else None


def _single_quotes(text: str) -> tuple[list[int], list[int]]:
    """Where ``text``'s single quotes open and close (one pass: a page of 4,000 cuts is not read 4,000 times)."""
    if "\u2018" not in text and "\u201a" not in text:
        return [], []
    return [m.start() for m in _OPENS_SINGLE.finditer(text)], [m.start() for m in _CLOSES_SINGLE.finditer(text)]


def _after_word(cut: str, k: int, closing: set) -> bool:
    """Whether ``cut[k]`` follows a word, past the closing brackets and quotes counted before it
    (``B«"``: the ``"`` closes as the ``«`` does; it opened, and its partner on the page was left
    alone; not an opening one: ``is(":visible")``'s first ``"`` closed, and the page kept ``""``)
    and the word's punctuation (``"Ah," she said``: it opened, and a line of dialogue left ``""``;
    Gutenberg's ``_italics_"``; not a dash: ``so--"`` breaks off, ``Bible,--"Love`` opens; not a
    straight ``'``: a shell's ``'"'"'``)."""
    while k > 0 and (k - 1 in closing or unicodedata.category(cut[k - 1]) in ("Po", "Pc") and cut[k - 1] not in _QUOTE_LIKE):
        k -= 1
    return k > 0 and unicodedata.category(cut[k - 1])[0] in "LNM"


def _before_word(cut: str, k: int) -> bool:
    """Whether ``cut[k]`` comes before a word, past the punctuation and opening marks before it
    (``"¿Qué``, ``"(x``, ``"_italics_``)."""
    k += 1
    while k < len(cut) and unicodedata.category(cut[k]) in ("Po", "Pc", "Ps", "Pi") and cut[k] not in _QUOTE_LIKE:
        k += 1
    return k < len(cut) and unicodedata.category(cut[k])[0] in "LNM"


def _page_opened_single(quotes: tuple[list[int], list[int]], s: int) -> bool:
    """Whether the page before ``s`` has a single quote (‘ or ‚) open (``_single_quotes``): the ’
    (or German ‘) after an item's last word then closes it, else it is the item's (students’)."""
    opens, closes = quotes
    i = bisect.bisect_left(opens, s)
    return i > 0 and bisect.bisect_left(closes, s) == bisect.bisect_right(closes, opens[i - 1])


def _keep_unpaired(text: str, s: int, e: int, starts: list[int] = (), quotes=None) -> list[tuple[int, int]]:
    """The cut ``text[s:e]`` as spans without the brackets or quotes that pair with one it leaves
    on the page: a Han or kana character's token takes the ``」、`` after it but not the ``「``
    before, a Latin token the ``))`` or ``«`` after the item's last word while ``((x`` or ``»x``
    stays. A pair the cut holds whole (``“item”``) goes with it. Brackets pair with brackets and
    quotes with quotes, inner first, anywhere in the cut: a cut over two items (``(A) B``,
    ``(x A) (B y)``, ``«x B» {“A” y}``) keeps the one between them whose partner is outside,
    split around it. Inside, a quote faces away from the word it touches, and ‘ ’ are the
    item's (``don’t``, ``students’``, ``’90s``) but for a ’ (German ‘) after an item's last
    word (``starts``: where the cut's items begin, sorted) that closes the cut's ‘ or one the
    page opened (``‘x A’ B``; ``quotes``: ``_single_quotes(text)``)."""
    cut = text[s:e]
    words = [k for k, c in enumerate(cut) if unicodedata.category(c)[0] in "LN"]
    if not words:
        return [(s, e)]
    bounds = [b - s for b in starts[bisect.bisect_right(starts, s) : bisect.bisect_left(starts, e)]]  # starts: sorted
    stacks, stays, paired = {False: [], True: []}, [], set()  # a bracket pairs with a bracket, a quote with a quote
    closing = set()  # the brackets and quotes counted so far that closed (or closed nothing)
    for k, c in enumerate(cut):
        cat = unicodedata.category(c)
        quote = cat in ("Pi", "Pf") or c in _LOW_QUOTES or c in _STRAIGHT
        if not quote and cat not in ("Ps", "Pe"):
            continue
        if c in _STRAIGHT and 0 < k < len(cut) - 1 and all(unicodedata.category(x)[0] in "LN" for x in (cut[k - 1], cut[k + 1])):
            continue  # inside a word: Hebrew's gershayim typed as " (צה"ל), not a quote
        if (c in _STRAIGHT and cut[k - 1 : k].isdigit() and _item_edge(k, words, bounds) is None
                and not (stacks[True] and cut[stacks[True][-1]] in _STRAIGHT and stacks[True][-1] > words[0])):
            continue  # after a digit inside an item, closing no " it opened ("part 1"): an inch or second mark (12" wide, 5' 10")
        if c in _APOSTROPHES:  # the item's (don’t, ’90s), or a quote before or after one of its items
            edge = _item_edge(k, words, bounds)
            if edge is None or cut[k + 1 : k + 2].isdigit():
                continue
            if edge == "end" and unicodedata.category(cut[k - 1])[0] in "LNM" and not (stacks[True] and cut[stacks[True][-1]] in _OPEN_SINGLE):
                quotes = _single_quotes(text) if quotes is None else quotes
                if not _page_opened_single(quotes, s):
                    continue  # students’ ending an item, no ‘ open
            opens = edge == "start"
        elif k < words[0] or k > words[-1]:  # before the first word all open, after the last all close
            if cat == ("Pe" if k < words[0] else "Ps"):
                continue
            opens = k < words[0]
        else:
            opens = cat == "Ps" if not quote else not _after_word(cut, k, closing)
            if (opens and c in _STRAIGHT and stacks[True] and cut[stacks[True][-1]] in _STRAIGHT
                    and not _before_word(cut, k)):
                opens = False  # touching no word either side (the " " to ":", happy--" The): closes the cut's "
        if not opens:
            closing.add(k)
        stack = stacks[quote]
        if opens:
            stack.append(k)
        elif stack:
            paired |= {stack.pop(), k}
        else:  # one closing nothing the cut opened stays with the page's
            stays.append(k)
    stays += stacks[False] + stacks[True]  # an opening one the cut does not close stays too
    # the page keeps what is before one that stays ahead of the first word and after one past the
    # last (the 、 of 」、), but for the marks the cut pairs
    lo = max([k for k in stays if k < words[0]], default=-1)
    hi = min([k for k in stays if k > words[-1]], default=len(cut))
    keep = set(stays) | {k for k in range(len(cut)) if (k < lo or k > hi) and k not in paired}
    spans, at = [], None
    for k in range(len(cut) + 1):
        if k < len(cut) and k not in keep:
            at = k if at is None else at
        elif at is not None:
            spans.append((s + at, s + k))
            at = None
    return [(a, b) for a, b in spans if text[a:b].strip()]


_BLANK = " \u00a0\u202f"  # a line's blanks (NBSP, French's narrow one) a cut's seam tidies; not a tab: a table's column
_LINE_ENDS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # str.splitlines' line ends (old Mac's \r, U+2028)
_BREAK = regex.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_LAST_BREAK = regex.compile(r"(?r)[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# a list item's, quote's (``> > ITEM``) or heading's
_MARKER_ONLY = regex.compile(r"[ \t]*(?:>[ \t]*)*(?:[-*+\u2013\u2014\u2022\u2023\u25e6>]|\d{1,3}[.)]|#{1,6})?[ \t]*")
# « ITEM », ( ITEM ): the marks a blank apart from the item; only those that open one way (» ITEM «
# and " ITEM " are as often two quotations' ends: « Oui » ITEM « Non »)
_SPACED_PAIRS = {"\u00ab": "\u00bb", "\u2039": "\u203a", "\u201e": "\u201c\u201d", "\u201c": "\u201d", "(": ")", "[": "]", "{": "}"}


def _spaced_pair(text: str, s: int, e: int) -> tuple[int, int]:
    """The cut ``text[s:e]`` with the pair of marks around it a blank apart (French ``« ITEM »``:
    their tokens hold no word, and the page kept ``«  »``)."""
    a, b = s, e
    while a > 0 and text[a - 1] in _BLANK:
        a -= 1
    while b < len(text) and text[b] in _BLANK:
        b += 1
    if (a < s and b > e and a > 0 and b < len(text) and text[b] in _SPACED_PAIRS.get(text[a - 1], "")
            and (a == 1 or text[a - 2].isspace()) and (b + 1 == len(text) or not text[b + 1].isalnum())):
        return a - 1, b + 1
    return s, e


# two line ends with only blanks between (a \r\n one line end: atomic, not \r then \n)
_BLANK_LINE = regex.compile(r"(?>\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])[ \t]*(?>\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])")


def _line_break(cut: str) -> str:
    """The line break a cut leaves: none, or the one it spans, a paragraph's (a blank line) as
    one, in the page's line ends (a single ``\n`` joined the paragraphs either side; a page of
    ``\r`` or U+2028 lines had them joined)."""
    m = _BREAK.search(cut)
    if m is None:
        return ""
    return m.group() * 2 if _BLANK_LINE.search(cut) else m.group()


_LEADING = regex.compile(r"[ \t]*")


def _indentation(text: str, s: int, e: int) -> str:
    """The indentation of the line the cut ``text[s:e]`` ends on, after its last line break: the
    page resumes on that line (``if x:`` / ``    ITEM y = 1``: ``y`` lost its block's indent)."""
    m = _LAST_BREAK.search(text, s, e)
    return text[m.end() : _LEADING.match(text, m.end(), e).end()] if m else ""


def _goes_on(text: str, line: int, b: int) -> bool:
    """Whether the line after the one ending at ``b`` (``line``: where that one starts) is indented
    deeper: a list item's continuation, its nested list, a YAML item's mapping, which its marker
    holds (``- ITEM`` / ``  - child``: emptied, the child was a list of its own)."""
    brk = _BREAK.match(text, b)
    if brk is None:
        return False
    k = _LEADING.match(text, brk.end()).end()
    return k < len(text) and not text[k].isspace() and k - brk.end() > _LEADING.match(text, line).end() - line


def _ends_clause(text: str, b: int) -> bool:
    """Whether the comma or stop ``text[b]`` ends a clause the page spaced (``ITEM , x``,
    ``ITEM .``): a blank, a line's or the page's end, a closing mark after it; not a path's
    ``./build`` or ``.NET``, nor a spaced ellipsis's ``. . .``."""
    nxt = text[b + 1 : b + 2]
    if text[b] not in ",.\u060c" or text[b] == "." and (nxt == "." or text[b + 1 : b + 3] == " ."):
        return False
    return not nxt or nxt.isspace() or nxt in _QUOTE_LIKE or unicodedata.category(nxt) in ("Pe", "Pf")


def _opening(text: str, i: int) -> bool:
    """Whether ``text[i]`` opens a bracket or quotation: a bracket, a low quote (``„``), or a quote
    (``"``, ``“``, ``‘``, German ``»``; not ’) after a blank, the text's start or another opening mark;
    not one after a word (German ``‚x‘``, ``„x“`` close)."""
    c = text[i]
    cat = unicodedata.category(c)
    if cat == "Ps":
        return True
    if not (c in _STRAIGHT or cat in ("Pi", "Pf") and c != "\u2019"):
        return False
    return i == 0 or text[i - 1].isspace() or unicodedata.category(text[i - 1]) in ("Ps", "Pi")


# Markdown's hard break: two blanks or a backslash ending a line
_HARD_BREAK = regex.compile(r"(?: {2,}| *\\)(?=[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])")


def _seam(text: str, pos: int, s: int, e: int, newline: bool, glued: bool = False) -> tuple[int, int]:
    """Where the page resumes either side of the cut ``text[s:e]`` (``pos``: where the text kept
    before it starts): the blanks either side are one, none before a line's end (``newline``: the
    cut spans one, and leaves it) or a comma or stop (a page that spaces them: ``"ITEM" , x``), the
    indentation of the line kept; a stray comma beside another goes (``x, ITEM , y``; ``y, ITEM .``),
    and a line left with only a list item's or heading's marker (``- ITEM``) is empty. It left the
    page's blanks and punctuation either side as they were (``Before  after``, ``x,  , y``).
    ``glued``: the cut ends at the sentence's mark the item's last word held (``_sentence_mark``),
    which the blanks before the cut then go before (``He said ITEM?`` -> ``He said?``)."""
    a, b = s, e
    while a > pos and text[a - 1] in _BLANK:
        a -= 1
    while b < len(text) and text[b] in _BLANK:
        b += 1
    nl = _LAST_BREAK.search(text, max(pos - 1, 0), a)  # not past the last cut: a page of 4,000 cuts is read once
    line = nl.end() if nl else 0 if pos == 0 else -1  # -1: the line starts before the last cut
    hard = None if newline else _HARD_BREAK.match(text, e)
    if newline or b == len(text) or text[b] in _LINE_ENDS or hard:
        if line >= pos and _MARKER_ONLY.fullmatch(text, line, a) and not _goes_on(text, line, b):
            return line, hard.end() if hard else b
        # a Markdown hard break after the cut stays (``One ITEM  \n``: the line merged with the next)
        return a, b if hard is None else hard.end() - 1 if text[hard.end() - 1] == "\\" else e
    if a > pos and text[a - 1] in _LIST_MARKS and unicodedata.category(text[b]) == "Pe":
        # a list's last element (``g(x, ITEM)``, ``(apples, ITEM)``): its comma goes too, as in code
        a -= 1
        while a > pos and text[a - 1] in _BLANK:
            a -= 1
        return a, b
    if line >= 0 and not text[line:a].strip(" \t"):  # the line's indentation (a tab's too)
        return s, b
    if a == s and s > pos and _opening(text, s - 1):  # a quote the cut opens, the page closing it: as a line's start
        return s, b
    if a == s:
        # one of two commas glued either side (``g(x,ITEM,y)``)
        return (s, e + 1) if s > pos and text[s - 1] in _LIST_MARKS and text[e] == text[s - 1] else (s, e)
    if glued or _ends_clause(text, b):
        if a > pos and text[a - 1] in ",;:":  # two marks either side of the cut: the comma goes, the stop stays
            return (a - 1, b) if text[b] == "." else (a, b + 1)
        return a, b
    return s, b


# a sentence's marks: after an item (``"ITEM", he said``, ``He said ITEM.``) they are the sentence's, not the item's
_SENTENCE = ",.;:!?\u2026\u3001\u3002\uff0c\uff1b\uff1a\uff01\uff1f\u060c\u061b\u061f\u06d4\u0964\u0965"  # and Arabic's ، ؛ ؟, Urdu's ۔, Hindi's । ॥
# CJK brackets: an item's Han or kana tokens hold neither (「ITEM」), so an emptied pair stayed (前『』後)
_CJK_PAIRS = {"\u300c": "\u300d", "\u300e": "\u300f", "\uff08": "\uff09", "\u3010": "\u3011", "\u3008": "\u3009",
              "\u300a": "\u300b", "\u3014": "\u3015", "\uff3b": "\uff3d", "\uff5b": "\uff5d"}


def _emptied_pair(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The cut ``spans`` with the CJK bracket pair right around them (``「ITEM」``, ``（ITEM）``), and
    the sentence's marks after it (``_sentence_mark`` then keeps or takes them, as after a Latin
    ``(ITEM)``): the cut emptied the pair, which stayed; and the pairs around it (``「『ITEM』」``)."""
    a, b = spans[0][0], spans[-1][1]
    while a > 0 and b < len(text) and _CJK_PAIRS.get(text[a - 1]) == text[b]:
        a, b = a - 1, b + 1
    if a == spans[0][0]:
        return spans
    while b < len(text) and text[b] in _SENTENCE:
        b += 1
    if len(spans) == 1:
        return [(a, b)]
    return [(a, spans[0][1])] + spans[1:-1] + [(spans[-1][0], b)]


def _after_format(text: str, a: int, b: int) -> int:
    """``b`` less the format characters (Cf: RTL text's bidi marks, U+200F) right before it, not before ``a``."""
    while b > a and unicodedata.category(text[b - 1]) == "Cf":
        b -= 1
    return b


_LIST_MARKS = frozenset(",;\u3001\uff0c\uff1b\u060c\u061b")  # a list's separators in ``_SENTENCE``: , ; and CJK's and Arabic's


def _sentence_mark(text: str, pos: int, spans: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], bool]:
    """The cut ``spans`` (``_keep_unpaired``'s, in order) without the sentence's marks right after
    the item's last word or its closing quote or bracket (``"ITEM", he said`` lost its comma,
    ``He said "ITEM".`` its stop), and whether they stay. They go where the text before the cut
    ends in one already (``Before. ITEM. After.``, ``x, ITEM, y``), at a line's start (its
    marker's: ``ITEM. Rest``, ``"ITEM", he said`` -> ``he said``, not ``, he said``), after a
    cut over a line break (``He said\\n, and left``) and after a Spanish ``¿ITEM?`` / ``¡ITEM!``
    (the item took the opening mark); the marks inside the item's quotes (``"ITEM," he said``)
    are the item's. ``pos``: where the text kept before the cut starts (the line's start is looked for after it: a page of 4,000 cuts is
    read once)."""
    a, b = spans[-1]
    end = _after_format(text, a, b)  # a bidi mark after the marks (``ITEM،\u200f``) stays with them
    r = end
    while r > a and text[r - 1] in _SENTENCE:
        r -= 1
    q = _after_format(text, a, r)  # one between the item and its marks (``ITEM\u200f،``) is the item's
    k = spans[0][0]
    while k > 0 and text[k - 1] in _BLANK:
        k -= 1
    first = k and unicodedata.category(text[k - 1]) == "Ps"  # a list's first element (a prose page's inline code)
    if first and r == end and text[b : b + 1] in _LIST_MARKS:  # its comma glued to the next one (``g(ITEM,y)``) goes
        return spans[:-1] + [(a, _SPACES.match(text, b + 1).end())], False
    if r in (a, end) or q == a or not (unicodedata.category(text[q - 1])[0] in "LNM" or unicodedata.category(text[q - 1]) in ("Pe", "Pf")
                                       or text[q - 1] in _STRAIGHT):
        return spans, False
    if k and text[k - 1] in _SENTENCE:
        return spans, False
    if first and text[r:end] in _LIST_MARKS:  # `g(ITEM, y)`; `(ITEM, 2019)`: its comma goes, as in code
        # (``_element_cut``), the blanks after it too
        return spans[:-1] + [(a, _SPACES.match(text, b).end())], False
    if k == spans[0][0] and k and _opening(text, k - 1):  # a quote the cut opens (``"ITEM, and then"``): the marks go, as at a line's start
        return spans, False
    nl = _LAST_BREAK.search(text, max(pos - 1, 0), k)
    line = nl.end() if nl else 0 if pos == 0 else -1  # -1: the line starts before the last cut
    if line >= 0 and _MARKER_ONLY.fullmatch(text, line, k):  # the line's first words: no line starts with ", he said"
        return spans, False
    if text[spans[0][0]] in "\u00bf\u00a1":  # Spanish's ¿ITEM? / ¡ITEM!: the item took the pair's opening mark
        return spans, False
    if _BREAK.search(text, spans[0][0], r):  # the cut leaves a line break: the mark would start the line
        return spans, False
    return spans[:-1] + [(a, r)], True


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _BREAK.finditer(text)]


_HUNK = regex.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# a combined diff's (git diff of a merge): a range per parent, one more @ than parents, a marker column each
_COMBINED = regex.compile(r"(@{3,}) ((?:-\d+(?:,\d+)? )+)\+\d+(?:,(\d+))? \1")


def _hunks(text: str, starts: list[int]) -> tuple[dict, list, dict]:
    """A unified diff's hunks in ``text`` (``starts``: its lines' starts): {line start: (hunk,
    marker)} for the lines of each hunk's body; per hunk its header's match, its file (a ``--- ``
    line starts the next file), where its header line starts, where its body ends and how many
    lines it adds or removes; and {line start: (start, end)} of the ``\\ No newline at end of
    file`` line after a body line. A combined hunk's (``@@@``) lines' marker is its columns
    (``_combined_body``); the hunk is None: its lines stay, so its counts hold."""
    lines, hunks, nonl, file, left, prev = {}, [], {}, 0, (0, 0), None
    i = 0
    while i < len(starts):
        st = starts[i]
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        c = text[st : st + 1]
        if left[0] > 0 or left[1] > 0 or (c == "\\" and prev is not None):
            if c in ("", "\r", "\n") or c in " -+\\":
                c = " " if c in ("", "\r", "\n") else c
                if c != "\\":
                    lines[st], prev = (len(hunks) - 1, c), st
                    left = (left[0] - (c != "+"), left[1] - (c != "-"))
                    hunks[-1][4] += c != " "
                elif prev is not None:
                    nonl[prev], prev = (st, end), None
                hunks[-1][3] = end
                i += 1
                continue
            left = (0, 0)
        prev = None
        m = _HUNK.match(text, st, end)
        if m:
            hunks.append([m, file, st, end, 0])
            left = (int(m[2] if m[2] is not None else 1), int(m[4] if m[4] is not None else 1))
        elif text.startswith("@@@", st) and (m := _COMBINED.match(text, st, end)):
            i = _combined_body(text, starts, i + 1, m, lines, nonl)
            continue
        elif text.startswith("--- ", st):
            file += 1
        i += 1
    return lines, hunks, nonl


def _combined_body(text: str, starts: list[int], i: int, m, lines: dict, nonl: dict) -> int:
    """Marks the body lines of the combined hunk ``m`` starting at line ``i`` in ``lines`` (``_hunks``:
    the hunk None, its columns, ``m``), its last's ``\\ No newline at end of file`` in ``nonl``, and
    returns the line after it. Per parent it counts the lines with ``-`` in its column or in
    none, for the result those with ``-`` in none (git's diff format)."""
    p = len(m[1]) - 1
    want = [int(r.split(",")[1]) if "," in r else 1 for r in m[2].split()] + [int(m[3]) if m[3] is not None else 1]
    have = [0] * (p + 1)
    while i < len(starts) and any(h < w for h, w in zip(have, want)):
        cols = text[starts[i] : starts[i] + p]
        if len(cols) < p or not set(cols) <= set(" +-"):
            break
        gone = "-" in cols
        for j, c in enumerate(cols):
            have[j] += c == "-" or (c == " " and not gone)
        have[p] += not gone
        lines[starts[i]] = (None, cols, m)
        i += 1
    if i > 0 and starts[i - 1] in lines and i < len(starts) and text.startswith("\\", starts[i]):
        nonl[starts[i - 1]] = (starts[i], starts[i + 1] if i + 1 < len(starts) else len(text))
    return i


def _combined_header(m, less: list[int]) -> str:
    """The combined hunk header ``m`` with ``less`` lines per parent and for the result (a side left
    with none starts at the line before, as ``_hunk_headers``)."""
    sides = regex.findall(r"([-+])(\d+)(?:,(\d+))?", m[0][len(m[1]) :])
    out = []
    for (sign, start, count), k in zip(sides, less):
        n = (int(count) if count else 1) - k
        at = int(start) - (n == 0 and k > 0)
        out.append(f"{sign}{max(at, 0)}" + (f",{n}" if count or n != 1 else ""))
    return f"{m[1]} {' '.join(out)} {m[1]}"


def _hunk_headers(hunks: list, gone: dict, dropped: set) -> list[tuple[int, int, str]]:
    """The headers of ``hunks`` (``_hunks``) recounted for their lines that went (``gone``: {hunk:
    [old, new] lines fewer}), each later hunk of a file starting that many lines earlier: (start,
    end, header) edits, none for the ``dropped`` hunks (they go whole). A side left with no line
    starts at the line before (as ``diff -u`` writes it)."""
    edits, shift, file = [], [0, 0], None
    for h, (m, f, *_) in enumerate(hunks):
        if f != file:
            shift, file = [0, 0], f
        less = gone.get(h, (0, 0))
        if h in dropped or not (less[0] or less[1] or shift[0] or shift[1]):
            shift = [shift[0] + less[0], shift[1] + less[1]]
            continue
        side = []
        for j, (start, count) in enumerate(((m[1], m[2]), (m[3], m[4]))):
            n = int(count) if count is not None else 1
            at, n = int(start) - shift[j], n - less[j]
            if n == 0 and less[j]:
                at -= 1
            side.append(f"{max(at, 0)}" + (f",{n}" if count is not None or n != 1 else ""))
        edits.append((m.start(), m.end(), f"@@ -{side[0]} +{side[1]} @@"))
        shift = [shift[0] + less[0], shift[1] + less[1]]
    return edits


_WORDISH = regex.compile(r"[\p{L}\p{N}\p{M}]")
_LAST_WORDISH = regex.compile(r"(?r)[\p{L}\p{N}\p{M}]")


# a list item's marker (a docstring's Markdown, a YAML sequence): a line left with it alone goes
_LIST_MARKER_ONLY = regex.compile(r"[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]*")
# a comment's or quote's marker before the item left alone (``# ITEM``, ``// ITEM``, ``-- ITEM``, ``> > ITEM``,
# ``/* ITEM */``, ``<!-- ITEM -->``), or with only the item's punctuation after it (``# ITEM))``): an emptied
# comment goes with its line; a trailing one (``x = 1  # ITEM``) with its blanks. Not a string's quote
# (``    # ITEM"""`` in a docstring), not a mark after the item (``    ITEM>``: a C++ template's, a tag's
# end), not half a block comment (``/* ITEM`` / `` ITEM */``: its other half is on another line), nor ``;``
# (C's ``if (x)\n ;``)
_COMMENT_ONLY = regex.compile(r"[ \t]*(?:(?:#+|//+|--|>(?:[ \t]*>)*)(?:(?!\*/|-->)[^\p{L}\p{N}\"'`])*|/\*+[ \t]*\*+/[ \t]*|<!--[ \t]*-->[ \t]*)")
_COMMENT_REST = regex.compile(r"(?:(?!\*/|-->)[^\p{L}\p{N}\"'`])*")
# a comment after code, by the language's marker: Python's ``//`` is floor division, C's ``##`` token pasting
_TRAILING_COMMENT = {m: regex.compile(rf"(?r)(?<=\S)[ \t]+(?:{m})[ \t]*") for m in ("#+", "//+", "#+|//+")}
# Visual Basic's: ``x = 1 ' ITEM``, or after the statement separator, blank before it or not, with it
# (``x = 1 : REM ITEM``, ``x = 1: REM ITEM``, ``x = 1: ' ITEM``: ``: REM`` and ``:`` stayed)
# (not a line's label's ``:``, its REM comment taken alone: ``ErrHandler: ' ITEM`` left ``ErrHandler``, a call; a diff's
# added or removed line's too, after its ``+`` or ``-``: ``+ErrHandler: ' ITEM`` left ``+ErrHandler``)
_TRAILING_COMMENT["vb"] = regex.compile(r"(?rm)(?<=\S)(?:(?<!^[+-]?[ \t]*\w+)[ \t]*:[ \t]*(?:'+|(?i:rem))|[ \t]+'+"
                                        r"|(?<=^[+-]?[ \t]*\w+[ \t]*:)[ \t]*(?i:rem))[ \t]*")
# Visual Basic's comments: ``'`` or ``REM`` (a ``'`` is never a quote there); its labels (The Stack's ``visual-basic``)
_VB = frozenset({"visual basic", "visual basic .net", "visual basic 6.0", "vb", "vb.net", "vba", "vbscript", "vbs"})
_VB_COMMENT_ONLY = regex.compile(r"[ \t]*(?:'+|(?i:rem)(?![\w]))(?:[^\p{L}\p{N}\"`])*")  # (``' ' ITEM``: a ' is no quote)
_HASH_COMMENTS = frozenset({"python", "ruby", "perl", "shell", "r", "julia", "elixir", "nim", "powershell", "yaml", "toml",
                            "makefile", "dockerfile", "cmake", "tcl", "awk", "dotenv"})
_SLASH_COMMENTS = frozenset({"c", "c++", "c#", "objective-c", "objective-c++", "cuda", "java", "javascript", "typescript", "go",
                             "rust", "swift", "kotlin", "scala", "dart", "groovy", "zig", "protocol buffer"})


def _brackets_pair(s: str) -> bool:
    """Whether the brackets of ``s`` pair among themselves (a quote's ``> (ITEM).``, not a condition's
    ``    > ITEM) {``: ``>`` and ``--`` are operators in code too, and the line going took its ``)``)."""
    stack = []
    for c in s:
        if c in "([{":
            stack.append(c)
        elif c in ")]}" and (not stack or stack.pop() != "([{"[")]}".index(c)]):
            return False
    return not stack


def _deeper_below(text: str, lead: int, b: int, skip: int) -> bool:
    """Whether the line after the one whose code starts at ``lead`` and ends at ``b`` is indented
    deeper (``_goes_on``; ``skip``: the diff markers before each line's code)."""
    brk = _BREAK.match(text, b)
    if brk is None or skip and text.startswith("\\", brk.end()):  # a diff's "\\ No newline": the file's end
        return False
    k = _LEADING.match(text, brk.end() + skip).end()
    return k < len(text) and not text[k].isspace() and k - brk.end() - skip > _LEADING.match(text, lead).end() - lead


def _header_removed(old: str, new: str) -> int:
    """The characters of a hunk's header ``old`` its rewrite ``new`` does not keep: ``old`` less
    their longest common subsequence, exact (the common head and tail, ``@@ -`` and `` @@``, are
    in one; the few digits between by dynamic programming). ``difflib`` per header was most of
    a 16,000-hunk diff's cut (4.2 of 6.8 s profiled)."""
    a = len(os.path.commonprefix((old, new)))
    b = len(os.path.commonprefix((old[a:][::-1], new[a:][::-1])))
    x, y = old[a : len(old) - b], new[a : len(new) - b]
    row = [0] * (len(y) + 1)
    for c in x:
        prev = 0  # row[j - 1] of the previous row
        for j, d in enumerate(y, 1):
            prev, row[j] = row[j], prev + 1 if c == d else max(row[j], row[j - 1])
    return len(x) - row[-1]


_OPENS, _CLOSES = "([{", ")]}"
_QUOTES = "'\"`"
_BRACKET_OR_QUOTE = regex.compile(r"[()\[\]{}'\"`\\]")
# a char literal: Rust's 'x', '\n', '\u{1F600}', OCaml's '\065', Haskell's '\SOH'
_CHAR_LITERAL = regex.compile(r"'(?:[^'\\\r\n]|\\(?:u\{[0-9a-fA-F_]{1,8}\}|[0-9A-Za-z^]{1,7}|.))'")
# how a language's ' quotes (``_quote_at``): "chars", a char literal only, else a lifetime or label (Rust's ``&'a T``);
# "primes", a char literal not after a name's letter (Haskell's and OCaml's ``x'``, ``'a``); "none", never (Lisp's ``'(a b)``).
# C's ' is a char's too, but none is a lifetime: as any other language's
_SINGLE_QUOTES = {"rust": "chars", **dict.fromkeys(("haskell", "ocaml", "elm", "purescript", "f#", "standard ml"), "primes"),
                  **dict.fromkeys(("lisp", "scheme", "clojure", "emacs lisp", "racket", "visual basic"), "none")}
_TEMPLATES = frozenset({"javascript", "typescript", "vue", "svelte"})  # a `...${code}...` template literal's
_PREFIXES = frozenset({"b", "r", "u", "f", "br", "rb", "fr", "rf"})  # a string's: ``b'x'``


def _string_open(text: str, i: int, language: str | None) -> tuple[str, bool]:
    """The string the quote ``text[i]`` opens: what closes it, and whether a backslash in it escapes
    nothing: Rust's raw ``r"C:\\"``, ``r#"say "hi"#`` (it ends at ``"#``), Go's `` `C:\\` ``, C#'s
    ``@"C:\\"``, each of Visual Basic's (``""`` inside reads as two strings: alike for the pairing);
    else the quote itself, a backslash escaping the character after it."""
    c = text[i]
    if c == "`":
        return c, language == "go"
    if c != '"':
        return c, False
    if language == "rust":
        k = i
        while k > 0 and text[k - 1] == "#":
            k -= 1
        j = k - 1 - (k > 1 and text[k - 2 : k] == "br")  # ``r`` or ``br``: a prefix, not a name's end
        if k > 0 and text[k - 1] == "r" and not (j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_")):
            return c + "#" * (i - k), True
    return c, language == "visual basic" or language == "c#" and i > 0 and text[i - 1] == "@" or (
        language == "c#" and i > 1 and text[i - 2 : i] == "@$")


_PREFIX_BEFORE = regex.compile(r"(?r)(?<![\w$@])(?:[A-Za-z]{1,2}#*|[@$]{1,2})\G")  # (``_prefix_start``)


def _prefix_start(text: str, i: int, language: str | None) -> int:
    """Where the string the quote ``text[i]`` opens starts, its prefix included: Python's ``f"``, ``rb"``, Rust's ``r#"``,
    ``br"``, C#'s ``@"``, ``$@"`` (a cut keeping the quote alone left ``"`` for ``r#"``, a string that never closed, and
    ``"C:\\"`` for ``@"C:\\"``, its quote escaped); ``i`` where none (a name's end, ``x"``, is none)."""
    m = _PREFIX_BEFORE.match(text, 0, i)
    if m is None:
        return i
    p = m.group().rstrip("#")
    if p[0] in "@$":
        ok = language == "c#"
    elif p != m.group():  # ``#``s: Rust's raw string's
        ok = language == "rust" and p in ("r", "br")
    else:
        ok = p.lower() in _PREFIXES
    return m.start() if ok else i


def _quote_at(text: str, i: int, q: str | None, stop: int, chars: str | None = None) -> bool:
    """Whether ``text[i]`` opens or closes a string (``q``: the quote of the one it is in). Outside a
    string a ``'`` with none after it on the line (``stop``: its end) is no quote (Rust's ``'_``,
    ``1's``), nor one after a word and before a letter (``don't``; but ``b'``, ``f'``: a prefix).
    ``chars``: how the language's ``'`` quotes (``_SINGLE_QUOTES``): a char literal only (``'x'``,
    ``'\\n'``): Rust's lifetimes and labels (``&'a T``, ``'outer:``) are none (a string ran from one to
    the next), nor Haskell's ``x'``; Lisp's ``'(a b)`` none."""
    c = text[i]
    if q is not None:
        return text.startswith(q, i)  # (a Rust raw string's ``"#``)
    if c != "'":
        return c in _QUOTES
    if chars:
        if chars == "none" or chars == "primes" and i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_'"):
            return False
        return _CHAR_LITERAL.match(text, i, stop) is not None
    if text.find("'", i + 1, stop) < 0:
        return False
    if not (i > 0 and text[i - 1].isalnum() and i + 1 < stop and text[i + 1].isalpha()):
        return True
    k = i - 1  # the word before it: a prefix (two letters at most) or a word's apostrophe
    while k > 0 and i - k < 3 and text[k - 1].isalnum():
        k -= 1
    return i - k <= 2 and not (k > 0 and text[k - 1].isalnum()) and text[k:i].lower() in _PREFIXES


def _own_brackets(text: str, spans: list[tuple[int, int]], lead: int, stop: int, chars: str | None = None,
                  language: str | None = None) -> list[tuple[int, int]]:
    """The cuts ``spans`` of a line (in order, each from a word to a word) with the brackets beside
    each that pair with one inside it: ``omicron(final))`` left ``))``, the item's own (a stack over
    its brackets; those it leaves open are closed after it, in order, those it closes opened before
    it). A bracket pairs only with one in the same string, or both outside strings, read from the
    line's start (``lead``): ``x = (ITEM)`` with a ``')'`` in the item took the code's ``(``, and a cut
    ending inside a string (``"{0:.{1``) takes the string's ``}`` after it, not the code's ``)``.
    ``chars``: how the language's ``'`` quotes (Rust's a char literal only, ``_quote_at``); ``language``:
    which strings a backslash escapes nothing in (``_string_open``), and whether a template literal's
    ``${...}`` is code (JavaScript's: its brackets pair among themselves, its quotes open strings)."""
    out, i, q, ctx, n, raw = [], lead, None, 0, 0, False  # ctx: 0 outside strings, else the string's number
    code, templates = 0, []  # the code's ctx (a ``${``'s number inside one); each open ``${``: the template's state, its {-depth, where
    js, escaped = language in _TEMPLATES, -1  # (escaped: where the last escape ended, ``\\${`` is text)
    quotes = {}  # the strings the cut opens: context -> (where, width) of the quote

    def scan(end, stacks=None, closed=None):  # stacks: each context's openers (char, where, width) the cut holds unclosed
        nonlocal i, q, ctx, n, raw, code, escaped
        while i < end:
            m = _BRACKET_OR_QUOTE.search(text, i, end)
            if m is None:
                i = end
                break
            i = m.start()
            c = text[i]
            if q is not None and c == "\\" and not raw:
                i = escaped = i + 2
                continue
            if js and q == "`" and c == "{" and i > lead and text[i - 1] == "$" and escaped != i:  # a template's code
                n += 1
                templates.append([q, ctx, code, 0, i - 1])
                q, ctx, code = None, n, n
                if stacks is not None:  # (a cut holding the ``${`` takes the ``}`` closing it)
                    stacks.setdefault(ctx, []).append((c, i - 1, 2))
            elif templates and q is None and c == "}" and not templates[-1][3]:  # its end: back in the template
                if stacks is not None and (stacks.get(ctx) or [("",)])[-1][0] == "{":
                    stacks[ctx].pop()
                elif stacks is not None:
                    closed.setdefault(ctx, []).append(("${", i))
                q, ctx, code, *_ = templates.pop()
            elif _quote_at(text, i, q, stop, chars):
                if q is None:
                    (q, raw), ctx, n = _string_open(text, i, language), n + 1, n + 1
                    if stacks is not None:  # a string the cut opens: its quote, with its prefix (``f"``, ``r#"``)
                        p = _prefix_start(text, i, language) if c == '"' or c == "'" else i
                        quotes[ctx] = (max(p, lead), i + 1 - max(p, lead))
                else:
                    i += len(q) - 1
                    q, ctx = None, code
            else:
                if templates and q is None and c in "{}":  # (an object's braces in a template's code)
                    templates[-1][3] += 1 if c == "{" else -1
                if stacks is not None and c in _OPENS:
                    stacks.setdefault(ctx, []).append((c, i, 1))
                elif stacks is not None and c in _CLOSES:
                    stack = stacks.get(ctx)
                    if stack and stack[-1][0] == _OPENS[_CLOSES.index(c)]:
                        stack.pop()
                    else:
                        closed.setdefault(ctx, []).append((c, i))
            i += 1

    for s, e in spans:
        scan(s)
        at_s, at_n, at_q, stacks, closed = ctx, n, q, {}, {}
        quotes.clear()
        inside = templates[-1] if templates and q is None and ctx == code else None  # the ``${`` the cut starts in
        scan(e, stacks, closed)
        while e < stop:  # what the cut opened and the text closes right after it, context by context:
            # ``f(`x (${ITEM})`)`` takes ``})`)``, the template's ``}``, its text's ``)``, its backtick, the code's ``)``
            opened = stacks.get(ctx)  # (the string, or none, the line goes on in after the cut)
            if opened and text[e] == _CLOSES[_OPENS.index(opened[-1][0])]:
                width = 1
            # a string the cut opened, where it started outside strings (from inside one, ``f("ITEM", "ITEM")``
            # leaves ``f("")``, its halves one string)
            elif not opened and at_q is None and q is not None and ctx > at_n and text.startswith(q, e):
                width = len(q)
            else:
                break
            scan(e + width, stacks, closed)
            e += width
        blanks = _SPACES_TABS.match(text, e, stop).end()
        if (inside is not None and templates and templates[-1] is inside and q is None and ctx == code and not inside[3]
                and not text[inside[4] + 2 : s].strip(" \t") and text.startswith("}", blanks)):
            s, e = inside[4], blanks + 1  # a ``${...}`` the cut empties goes whole: ``${}`` is a SyntaxError
        unpaired = closed.get(at_s, [])
        for k, (c, _) in enumerate(unpaired):  # the nearest opener before the cut pairs with its first unpaired closer
            if c == "${" and text.startswith(c, s - 2, s):  # a template's ``${``: its ``$`` too (it stayed, ``$ y``)
                s -= 2
            elif c != "${" and s > lead and text[s - 1] == _OPENS[_CLOSES.index(c)]:
                s -= 1
            else:
                unpaired = unpaired[k:]
                break
        else:
            unpaired = []
        # what the cut opened or closed and the page pairs further on stays: `` a + `(${ITEM}|$)` `` left
        # ``|$)` ``, `` `${f(ITEM)} final` `` (the item's last word the template's text) `` `${f` ``
        # (but a string's quote where the cut started inside one: ``f("ITEM", "ITEM")``'s halves are one string)
        live = {ctx, code, *(t[1] for t in templates), *(t[2] for t in templates)}
        keep = sorted([(p, w) for k in live for _, p, w in stacks.get(k, ())]
                      + [quotes[k] for k in live if k in quotes and at_q is None]
                      + [(p, 1) for _, p in unpaired])
        for p, w in keep:
            if s < p:
                out.append((s, p))
            s = max(s, p + w)
        if s < e:
            out.append((s, e))
    return out


_TYPE_COMMENT = regex.compile(r"#[ \t]*type:")


def _python_comments(text: str) -> tuple[list[int], int]:
    """Where each of a Python file's comments starts (``tokenize`` over the file: a docstring's
    ``# type: x`` line is no comment), and how far the reading reached (a file the tokenizer
    refuses, an earlier cut's, has its comments read up to there)."""
    lines = text.split("\n")
    offsets, out, reached = np.cumsum([0] + [len(x) + 1 for x in lines]).tolist(), [], len(text)
    try:
        for tok in tokenize.generate_tokens(iter([x + "\n" for x in lines]).__next__):
            if tok.type == tokenize.COMMENT:
                out.append(offsets[tok.start[0] - 1] + tok.start[1])
    except (tokenize.TokenError, SyntaxError) as e:
        row = getattr(e, "lineno", None) or (e.args[1][0] if len(e.args) > 1 else 1)
        reached = offsets[max(0, min(row, len(lines)) - 1)]
    return out, reached


def _type_comment(text: str, spans: list[tuple[int, int]], lead: int, stop: int, comments: tuple[list[int], int]) -> list[tuple[int, int]]:
    """The cuts ``spans`` of a Python line, any cutting into a type comment (PEP 484's ``# type: ...``,
    the file's comments ``_python_comments``, past where they were read the line's own) taking it whole:
    to the grammar it is a comment, so a cut inside left what mypy refuses (``x = []  # type: List[ITEM]``
    left ``# type: List[]``, an empty ``# type:``); what it typed stays untyped. A comment after
    ``# type: ignore`` is no type's."""
    starts, reached, found = *comments, None
    if lead < reached:
        k = bisect.bisect_left(starts, lead)
        found = starts[k] if k < len(starts) and starts[k] < stop else None
    else:
        try:
            for tok in tokenize.generate_tokens(iter([text[lead:stop]]).__next__):
                if tok.type == tokenize.COMMENT:
                    found = lead + tok.start[1]
                    break
        except (tokenize.TokenError, SyntaxError, StopIteration):  # (a line inside a string or brackets)
            pass
    inside = [s for s, e in spans if e > found] if found is not None else []
    if not inside or not _TYPE_COMMENT.match(text, found) or "#" in text[found + 1 : max(inside[0], found + 1)]:
        return spans
    out = [(s, e) for s, e in spans if s < found]
    return out[:-1] + [(out[-1][0], stop)] if out and out[-1][1] > found else out + [(found, stop)]


def _escaping(text: str, at: int, lead: int) -> int:
    """1 where the character at ``at`` is an escape's one letter (an odd run of backslashes, from ``lead`` on, before
    it; no letter after it: LaTeX's ``\\nabla`` is a word of its own), else 0."""
    if text[at + 1 : at + 2].isalpha():
        return 0
    k = at
    while k > lead and text[k - 1] == "\\":
        k -= 1
    return (at - k) % 2


_SPACES = regex.compile(r" *")
_SPACES_TABS = regex.compile(r"[ \t]*")
# a C-like string's escape glued to the word after it: ``"foo\\nITEM"``, ``\\tITEM`` (not ``\\\\n``, an escaped
# backslash: an even run of backslashes before it)
_ESCAPE = regex.compile(r"(?<=(?<!\\)(?:\\\\)*)\\[ntr](?=\p{L})")


def _words_at(texts: list[str], tokens: list, owners: list, ats: list) -> list[list[int]]:
    """For each text, the index of the word (``_cut_matched``'s) that starts at each ``text[s]`` of
    its ``at`` (escapes' letters, in order: a backslash before each), inside its token: one
    normalisation for all (a token list and a normalisation per word took a page of 4,000 cut
    items quadratic time; one a document, a batch's documents). Each token is read in pieces from
    one letter to the next, whose words add up (the backslash before each ends a word), not from
    its start to each (a minified line's one token holding 1,000 escapes)."""
    pieces, where = [], []
    for text, tk, at in zip(texts, tokens, ats):
        firsts = [a for a, _ in tk]
        ts = [bisect.bisect_right(firsts, s) - 1 for s in at]
        pieces += [text[max(tk[t][0], p if pt == t else 0) : s] for t, s, p, pt in zip(ts, at, [0] + at[:-1], [-1] + ts[:-1])]
        where.append(ts)
    words = iter(_word_counts(normalize_words(pieces)).tolist())
    out = []
    for owner, ts in zip(owners, where):
        row, before, last = [], 0, -1
        for t in ts:
            before = (before if t == last else 0) + next(words)
            row.append(int(np.searchsorted(owner, t)) + before)
            last = t
        out.append(row)
    return out


def _tidy_cut(text: str, s: int, e: int, lead: int, stop: int) -> tuple[int, int, str]:
    """The edit cutting ``text[s:e]`` from inside a line (``lead``: its code's start, ``stop``: its
    end): with a blank before it, the blanks after it go too (``#  more`` left two); at the line's
    end, the blanks before it (a trailing blank). Spaces only: a tab stays (a tab-separated row's column)."""
    if s > lead and text[s - 1] in " \t":
        after = _SPACES.match(text, e, stop).end()
        if after == stop:
            s = len(text[lead:s].rstrip(" ")) + lead
            e = stop
        else:
            e = after
    return s, e, ""


_LIST_GOES_ON = regex.compile(r"[ \t]*,[ \t]*")


def _element_cut(text: str, s: int, e: int, lead: int, stop: int, language: str = "") -> tuple[int, int]:
    """The cut ``text[s:e]`` of a line (code from ``lead`` to ``stop``) with the comma after it where
    it empties one element of a list that goes on after it: after an opening bracket or a comma
    (``g(ITEM, 3)`` left ``g(, 3)``, ``g(1, ITEM, 3)`` ``g(1, , 3)``: neither parses); with the comma
    before it where it empties the last, a closing bracket after it (``g(1, ITEM)`` left ``g(1, )``:
    a trailing comma, which C, Java and JSON refuse), but in Python (``(1, )`` is a tuple, ``(1)`` not)."""
    before = text[lead:s].rstrip(" \t")
    comma = _LIST_GOES_ON.match(text, e, stop)
    if comma and before[-1:] in ("(", "[", "{", ","):
        return s, comma.end()
    after = _SPACES.match(text, e, stop).end()
    if (language != "python" and before[-1:] == "," and text[after : after + 1] in (")", "]", "}")
            and before[-2:-1] not in ("", "(", "[", "{", ",")):
        return lead + len(before) - 1, e
    return s, e


def _code_cut(text: str, spans: list[tuple[int, int]], heads: list | None = None, applied: list | None = None,
              language: str | None = None) -> tuple[str, int]:
    """``text`` without the code document's cut ``spans`` (tokens, none over a line break), line by
    line, and the characters it removes: on each, from its first word to its last, so the
    indentation, a comment's ``#`` or ``*``, a string's quotes and brackets around it stay
    (``    # ITEM`` / ``    # ITEM y``: the cut joined the lines and left `` y``, an
    IndentationError; a docstring lost its quotes); a cut right after the indentation takes
    the spaces after it (``    ITEM y = 1``; a tab stays, a column), and a line left with only
    its indentation, or a list item's marker (``- ITEM`` in a docstring or YAML file; but where the next line is
    indented deeper, ``_goes_on``), goes with its break. In a unified diff an added or removed
    line left so goes, and the hunk's header is recounted (``_hunk_headers``); a context line
    stays, emptied (gone, a hunk's last context line left it no trailing context, which git
    apply anchors at the file's end), but the file's last without a newline goes (there, its
    end); a combined diff's (``@@@``) lines all stay, emptied. ``heads``: gets each unified hunk's
    (header, header after: None where the hunk goes), for ``cut_counted``'s count over passes;
    ``applied``: gets the (start, end, new) edits made, in order (``cut_python``'s lines cut);
    ``language``: the document's label (``languages.canonical``: ``rs`` is rust): Rust's ``'a`` is no quote
    (``_quote_at``), Python's ``//`` no comment marker (``_TRAILING_COMMENT``)."""
    starts = _line_starts(text)
    language = canonical(language)
    language = "visual basic" if language.replace("-", " ").replace("_", " ") in _VB else language
    chars = _SINGLE_QUOTES.get(language)
    vb = language == "visual basic"
    trailing = _TRAILING_COMMENT["vb" if vb else "#+" if language in _HASH_COMMENTS else "//+" if language in _SLASH_COMMENTS else "#+|//+"]
    comment_only = _VB_COMMENT_ONLY if vb else _COMMENT_ONLY
    comments = None  # a Python file's comments, read where a line holds a type comment
    by_line: dict[int, list] = {}
    for s, e in spans:
        by_line.setdefault(bisect.bisect_right(starts, s) - 1, []).append((s, e))
    hunk_lines, hunks, nonl = _hunks(text, starts) if "@@ -" in text or "@@@ -" in text else ({}, [], {})
    edits, gone, changes, combined = [], {}, {}, {}
    for i, line_spans in by_line.items():
        worded = [k for k, (s, e) in enumerate(line_spans) if _LETTER.search(text, s, e)]
        if not worded:
            continue
        line_spans = line_spans[worded[0] : worded[-1] + 1]
        merged = [line_spans[0]]
        for s, e in line_spans[1:]:
            gap = text[merged[-1][1] : s]  # none: a token's pieces (``omicron(`` and ``final``), one cut
            if (not gap or gap.isspace()) and not _BREAK.search(text, merged[-1][1], s):
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        # each cut from its first word to its last, not only the line's first and last: a token's
        # punctuation beside an item is the code's (``x = [ITEM]  # ITEM`` took the ``[...]``, ``x =``)
        merged = [(w.start(), _LAST_WORDISH.search(text, s, e).end()) if (w := _WORDISH.search(text, s, e)) else (s, e)
                  for s, e in merged]
        st = starts[i]
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        brk = _LAST_BREAK.search(text, st, end)
        stop = brk.start() if brk and brk.end() == end else end  # the line's content ends
        stop -= stop > st and text[stop - 1 : stop + 1] == "\r\n"  # (a CRLF line's \r is its break's)
        hunk = hunk_lines.get(st)
        skip = 0 if hunk is None else len(hunk[1])
        lead = st + skip  # a hunk's line: its marker(s), then the code
        # a cut starting at an escape's letter (an item's ``\\n`` read as the word ``n``) takes the escape's backslash:
        # left, it escaped what followed (``"pre\\n ITEM"`` left ``"pre\\"``, its closing quote escaped)
        merged = [(s - _escaping(text, s, lead), e) for s, e in merged]
        merged = _own_brackets(text, merged, lead, stop, chars, language)
        if language == "python" and "#" in text[lead : merged[-1][0]] and _TYPE_COMMENT.search(text, lead, stop):
            comments = comments or _python_comments(text)
            merged = _type_comment(text, merged, lead, stop, comments)
        merged = [_element_cut(text, s, e, lead, stop, language) for s, e in merged]
        s0, e0 = merged[0]
        if not text[lead:s0].strip(" \t"):
            e0 = _SPACES.match(text, e0, stop).end()  # the line resumes at its own indentation (a tab: a column)
            merged[0] = (s0, e0)
        left = text[lead:stop]
        for s, e in reversed(merged):
            left = left[: s - lead] + left[e - lead :]
        emptied = (not left.strip(" \t") or text[lead:merged[0][0]].strip(" \t") and comment_only.fullmatch(left)  # the marker before the item
                   and (left.lstrip(" \t")[:1] not in "->" or _brackets_pair(left))  # an operator's line: ``    > ITEM) {``
                   or (_LIST_MARKER_ONLY.fullmatch(left) and not _deeper_below(text, lead, stop, skip)))
        if not emptied and _COMMENT_REST.fullmatch(text, merged[-1][1], stop):  # a comment after code the cut empties
            m = trailing.match(text, lead, merged[-1][0]) if merged[-1][0] > lead else None
            if m and m.end() == merged[-1][0]:
                merged[-1] = (m.start(), stop)
        if emptied and text[lead:stop].strip() and hunk is not None and (hunk[0] is None or hunk[1] == " ") and st not in nonl:
            edits.append((lead, stop, ""))  # a context line, a combined hunk's: it stays, emptied
            # (but the file's last, "\\ No newline" after it: an empty line with no newline is no line; it goes)
        elif emptied and text[lead:stop].strip() and hunk is not None and hunk[0] is None:  # a combined hunk's last
            m, cols = hunk[2], hunk[1]
            less = combined.setdefault(m.start(), (m, [0] * (len(cols) + 1)))[1]
            for j, c in enumerate(cols):
                less[j] += c == "-" or (c == " " and "-" not in cols)
            less[-1] += "-" not in cols
            edits += [(st, end, ""), (*nonl[st], "")]
        elif emptied and text[lead:stop].strip():
            if hunk is not None:
                less = gone.setdefault(hunk[0], [0, 0])
                less[0] += hunk[1] != "+"
                less[1] += hunk[1] != "-"
                changes[hunk[0]] = changes.get(hunk[0], 0) + (hunk[1] != " ")
                if st in nonl:  # its "\\ No newline at end of file" goes with it
                    edits.append((*nonl[st], ""))
            edits.append((st, end, ""))  # the whole line, with its break
        else:
            edits += [_tidy_cut(text, s, e, lead, stop) for s, e in merged]
    # a hunk whose every added and removed line went is no hunk (git apply: corrupt patch): it goes whole
    dropped = {h for h, n in changes.items() if n == hunks[h][4]}
    whole = sorted((hunks[h][2], hunks[h][3]) for h in dropped)
    if whole:  # the edits inside a dropped hunk go with it (by bisection: a diff may hold thousands)
        at = [a for a, _ in whole]
        edits = [(s, e, new) for s, e, new in edits if (j := bisect.bisect_right(at, s) - 1) < 0 or e > whole[j][1]]
    headers = _hunk_headers(hunks, gone, dropped)
    rewritten = [(m.start(), m.end(), _combined_header(m, less)) for m, less in combined.values()]
    edits += [(a, b, "") for a, b in whole] + headers + rewritten
    if heads is not None:
        new_of = {a: new for a, _, new in headers}
        heads += [(m[0], None if h in dropped else new_of.get(m.start(), m[0])) for h, (m, *_) in enumerate(hunks)]
        heads += [(text[a:b], new, "combined") for a, b, new in rewritten]  # rewritten once: its "\\ No newline" goes
    out, pos, removed, edits = [], 0, 0, sorted(edits)
    if applied is not None:
        applied.append(edits)
    for s, e, new in edits:
        out += [text[pos:s], new]
        # a rewritten header's count: here, or by cut_counted (``heads``) once over its passes
        removed += (e - s) if not new else 0 if heads is not None else _header_removed(text[s:e], new)
        pos = e
    out.append(text[pos:])
    return "".join(out), removed


PY_GRAMMAR = (3, 11)  # requires-python's oldest: a file "parses" alike on every Python it runs on
# 3.12's parser reads f-strings by PEP 701 whatever ``feature_version`` says: they are checked by 3.11's rules here
_PEP701 = sys.version_info >= (3, 12)
_F_PREFIX = regex.compile(r"(?i)(?<![\w])(?:rf|fr|f)['\"]")


def _tree(src: str) -> ast.Module | None:
    """``src``'s tree by Python 3.11's grammar (``feature_version``: 3.12's ``type X = int`` parsed on
    3.12 and not on 3.11, so the cut differed by the Python running it; CPython checks it best-effort,
    not 3.12's f-strings: those ``_joined_311`` checks), None where it does not parse (its warnings,
    ``"\\d"``'s invalid escape, unsaid)."""
    src = src.removeprefix("\ufeff")  # a BOM: Python reads a file's, ast.parse a text's not
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(src, feature_version=PY_GRAMMAR)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a NUL byte
        return None
    if _PEP701 and _F_PREFIX.search(src) and not _joined_311(src, tree):
        return None
    return tree


def _joined_311(src: str, tree: ast.Module) -> bool:
    """Whether the f-strings of ``src`` (its ``tree``'s ``JoinedStr`` nodes, read by Python 3.12 or
    later) are Python 3.11's (``_strings_311``): ``f"{d["k"]}"``, a backslash or comment in a field
    parse on 3.12 only."""
    if all(_string_end_311(src, m.start()) > 0 for m in _F_PREFIX.finditer(src)):
        return True  # each f-string read alone as 3.11 reads it (a prefix in a comment too): no tree walked
    lines, joined, specs = _py_lines(src), [], set()
    for n in ast.walk(tree):
        if isinstance(n, ast.JoinedStr):
            joined.append(n)
        elif isinstance(n, ast.FormattedValue) and n.format_spec:
            specs.add(id(n.format_spec))
    for n in joined:
        if id(n) not in specs:
            a, b = lines[n.lineno - 1].encode(), lines[n.end_lineno - 1].encode()  # (columns: UTF-8 bytes)
            if n.lineno == n.end_lineno:
                seg = a[n.col_offset : n.end_col_offset].decode()
            else:
                seg = a[n.col_offset :].decode() + "".join(lines[n.lineno : n.end_lineno - 1]) + b[: n.end_col_offset].decode()
            if not _strings_311(seg):
                return False
    return True


_STRING_OPENS = regex.compile(r"(?i)([rbuf]{0,2})('\'\'|\"\"\"|'|\")")
_BETWEEN_STRINGS = regex.compile(r"(?:[ \t\f\r\n]|\\\r?\n|#[^\r\n]*)*")  # blanks, line joins, comments


def _strings_311(seg: str) -> bool:
    """Whether the string literals of ``seg`` (one after another, blanks and comments between) are
    read as Python 3.11 reads them: each ends at its first unescaped closing quote, a one-quote
    one on its line (3.12 reads an f-string's fields first: ``f"{d["k"]}"``), each f-string's fields
    as ``_fields_311``."""
    i = 0
    while True:
        i = _BETWEEN_STRINGS.match(seg, i).end()
        if i == len(seg):
            return True
        i = _string_end_311(seg, i)
        if i < 0:
            return False


def _string_end_311(text: str, i: int) -> int:
    """Where the string literal at ``text[i]`` ends as Python 3.11 reads it, -1 where it does not
    (none there: 3.11 ended the one before; no closing quote; an f-string's fields, ``_fields_311``)."""
    m = _STRING_OPENS.match(text, i)
    if m is None:
        return -1
    q, k = m.group(2), m.end()
    while not text.startswith(q, k):
        if k >= len(text) or len(q) == 1 and text[k] in "\r\n":
            return -1
        k += 2 if text[k] == "\\" else 1
    prefix = m.group(1).lower()
    if "f" in prefix and not _fields_311(text[m.end() : k], "r" in prefix):
        return -1
    return k + len(q)


def _fields_311(body: str, raw: bool) -> bool:
    """Whether the replacement fields of the f-string ``body`` are Python 3.11's (``_field_311``)."""
    i = 0
    while i < len(body):
        if not raw and body.startswith("\\N{", i):  # a named escape's braces
            i = body.find("}", i) + 1 or len(body)
        elif body.startswith(("{{", "}}"), i):
            i += 2
        elif body[i] == "{":
            i = _field_311(body, i + 1, 0)
            if i < 0:
                return False
        else:
            i += 1
    return True


def _field_311(body: str, i: int, depth: int) -> int:
    """Where the f-string field whose expression starts at ``body[i]`` ends (after its ``}``), -1 where
    Python 3.11 refuses it: a backslash in its expression, a comment, a one-quote string over a
    line, a format spec's field in a format spec's field (CPython 3.11's ``fstring_find_expr``)."""
    if depth > 1:
        return -1
    quote, nest = None, 0
    while i < len(body):
        c = body[i]
        if c == "\\" or quote is not None and len(quote) == 1 and c in "\r\n":
            return -1
        if quote is not None:
            if body.startswith(quote, i):
                i, quote = i + len(quote), None
            else:
                i += 1
            continue
        if c in "'\"":
            quote = c * 3 if body.startswith(c * 3, i) else c
            i += len(quote)
            continue
        if c == "#":
            return -1
        if c in "([{":
            nest += 1
        elif c in ")]}" and nest:
            nest -= 1
        elif nest == 0 and (c in "}:" or c == "!" and not body.startswith("!=", i)):
            break
        i += 1
    if i < len(body) and body[i] == "!":
        i += 2  # its conversion's letter
    if i < len(body) and body[i] == ":":
        i += 1
        while i < len(body) and body[i] != "}":
            i = _field_311(body, i + 1, depth + 1) if body[i] == "{" else i + 1
            if i < 0:
                return -1
    return i + 1 if i < len(body) and body[i] == "}" else -1


def _parses(src: str) -> bool:
    """Whether ``src`` parses (``_tree``)."""
    return _tree(src) is not None


_PY_LINE = regex.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _py_lines(text: str) -> list[str]:
    """``text``'s lines as Python numbers them (``ast``'s ``lineno``): a form feed or U+2028,
    which ``str.splitlines`` breaks at, is inside a line."""
    return _PY_LINE.findall(text)


def _changed_lines(lines: list[str], passes: list[list], cols: dict | None = None) -> list[int]:
    """The lines (0-based, ``_py_lines``) of a text that a cut's ``passes`` (each its ``_code_cut``
    edits, on the text the pass before left) changed: each edit traced back to the text's own
    characters (``difflib`` over the lines was quadratic in a file of alike lines: 17 s for 112 KB).
    ``cols``: gets each changed line's first changed column (``_code_lines``: a comment's cut alone)."""
    ends = np.cumsum([len(x) for x in lines], dtype=np.int64)
    origin = np.arange(int(ends[-1]) if len(lines) else 0)  # each character's place in the text
    changed = set()
    for edits in passes:
        pieces, pos = [], 0
        for s, e, new in edits:  # sorted, apart: a line's words, a line, a hunk; a header rewritten
            if e > s:
                at = origin[[s, e - 1]]
                first, last = np.searchsorted(ends, at, "right").tolist()
                changed.update(range(first, last + 1))
                if cols is not None and first < len(lines):
                    col = int(at[0]) - (int(ends[first - 1]) if first else 0)
                    cols[first] = min(cols.get(first, col), col)
                    cols.update({k: 0 for k in range(first + 1, last + 1)})
            at = origin[min(s, origin.size - 1)] if origin.size else 0  # a header's new digits: its place
            pieces += [origin[pos:s], np.full(len(new), at)]
            pos = e
        origin = np.concatenate(pieces + [origin[pos:]])
    return sorted(k for k in changed if k < len(lines))


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _code_lines(lines: list[str], changed: list[int], cols: dict | None = None) -> list[int]:
    """The ``changed`` lines but comment lines: those whose first token is a comment (``tokenize``
    of the text that parsed; ``#`` first on a string's line is none, but a comment between the parts
    of a string spanning lines, ``("a"\\n # c\\n "b")``, one ``ast.Constant``, is), and those
    changed only from the end of their code on (``cols``: each line's first changed column,
    ``_changed_lines``): ``x = 1  # ITEM`` took its function whole with a cut elsewhere."""
    cols = cols or {}
    comments = {k for k in changed if "#" in lines[k]}
    if not comments:
        return changed
    last, it = max(comments), iter([lines[0].removeprefix("\ufeff")] + lines[1:])  # (a BOM: no column more)
    bom = lines[0].startswith("\ufeff")
    code_end, found = {}, set()  # where each line's code ends (a token's end on it)
    try:
        for tok in tokenize.generate_tokens(lambda: next(it, "")):
            k = tok.start[0] - 1
            if k > last:
                break
            if tok.type == tokenize.COMMENT and k in comments:
                col = cols.get(k, 0) - (bom and k == 0)
                if not lines[k][: tok.start[1]].lstrip("\ufeff").strip(" \t\f") or col >= code_end.get(k, 0):
                    found.add(k)
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                code_end[tok.end[0] - 1] = tok.end[1]
    except (tokenize.TokenError, SyntaxError):  # (it parsed: not expected)
        return changed
    return [k for k in changed if k not in found]


def _comment_after(lines: list[str], b: int, col: int) -> int:
    """``b`` past the comment lines right after it indented deeper than ``col`` (a statement's last
    body comments: its ``end_lineno`` is its last statement's), blank lines between them too."""
    k = b
    while k < len(lines):
        rest = lines[k].lstrip(" \t\f")
        if rest.startswith("#") and len(lines[k]) - len(rest) > col:
            b = k = k + 1
        elif not rest.strip():
            k += 1
        else:
            break
    return b


def _statement_lines(tree: ast.Module, lines: list[str], changed: list[int], top: bool) -> list[tuple[int, int]]:
    """The (first, end) lines (0-based, end exclusive; decorators included) of the statements of
    ``tree`` that hold a ``changed`` line: the innermost function around it, or the statement of
    a class's body (the class where none: its header), else the top-level statement; a block
    (a body, ``else:``, ``except:``) left with none takes the statement that opens it (took every
    top-level statement: another class's methods with it). With ``top``, the top-level statements.
    Merged, in order, each with the comment lines after it indented as its body (``_comment_after``).
    A line outside every statement (a comment between two) is in none."""
    def span(node):
        return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1, node.end_lineno

    def holding(body, line):
        return next((n for n in body if span(n)[0] <= line < span(n)[1]), None)

    picks = {}
    for line in changed:
        node = holding(tree.body, line)
        while node is not None and not top:  # down to the innermost def, or a class body's statement
            inner = [n for n in ast.walk(node) if n is not node and isinstance(n, _DEFS) and span(n)[0] <= line < span(n)[1]]
            if inner:
                node = max(inner, key=lambda n: span(n)[0])
                continue
            if isinstance(node, ast.ClassDef) and line >= span(node.body[0])[0]:  # not its header
                node = holding(node.body, line)  # None: a comment between its statements
            break
        if node is not None:
            picks[id(node)] = node
    if not top:  # a block all of whose statements go takes its opener (an empty body does not parse)
        blocks = []  # (the statement opening it, its statements)
        for n in ast.walk(tree):
            owner = n if isinstance(n, ast.stmt) else None
            for sub in [n] + list(getattr(n, "handlers", [])) + list(getattr(n, "cases", [])):
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(sub, field, None)
                    if owner is not None and isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                        blocks.append((owner, block))
        grew = True
        while grew:
            grew = False
            for owner, block in blocks:
                if id(owner) not in picks and all(id(x) in picks for x in block):
                    picks[id(owner)], grew = owner, True
    merged = []
    for a, b in sorted((span(n)[0], _comment_after(lines, span(n)[1], n.col_offset)) for n in picks.values()):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


_LINE_BLANKS = regex.compile(r"[^\S\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*")  # a line's whitespace but its break
_BLANK_THEN_BREAK = regex.compile(r"[ \t]*(?>\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])")


def _blank_line_before(text: str, s: int) -> bool:
    """Whether the line before the one starting at ``s`` is blank (or there is none)."""
    j = s - 1 - (s > 1 and text[s - 2 : s] == "\r\n")  # that line's break
    k = j
    while k > 0 and text[k - 1] in " \t":
        k -= 1
    return s == 0 or k == 0 or text[k - 1] in _LINE_ENDS


def _whole_lines(text: str, s: int, e: int, brk: str, pos: int = 0) -> tuple[int, int, str]:
    """The seamed cut ``text[s:e]`` and the line break it leaves (``brk``, ``_line_break``) where
    it empties a line: the line goes with its break (``- ITEM`` / ``- next``, the item a line of
    its own: a blank line stayed in the list, three between two paragraphs, where one now
    stays), and with a blank line before it the blank lines after it (``\\n\\n\\nITEM\\n\\n\\n``
    left three); at the text's end (blanks only after it) the blank lines before it too, back to
    the last line kept and its break (``pos``: where the text is not yet written; ``One.\\n\\nITEM``
    left ``One.\\n\\n``); a cut over a line break that
    empties the line it starts or resumes on leaves no line for it (a paragraph's break stays
    one); else the resumed line's indentation."""
    start = s == 0 or text[s - 1] in _LINE_ENDS
    end = e == len(text) or text[e] in _LINE_ENDS
    one = _BREAK.match(brk).group() if brk else ""
    if brk and not end:
        return s, e, ("" if start else brk) + _indentation(text, s, e)
    if not (start and end) and not brk:
        return s, e, brk
    if not (start and end):  # a cut to the line's end: the break after it is the one it leaves
        return s, e, one if len(brk) > len(one) else ""
    brk = one if len(brk) > len(one) else ""
    m = _BREAK.match(text, e)
    if m:
        e = m.end()
        if not brk and _blank_line_before(text, s):  # a blank line either side: those before stay
            while blank := _BLANK_THEN_BREAK.match(text, e):
                e = blank.end()
    if s > pos and not text[e:].strip():  # the text's end: it ends as its last line kept
        k = _LINE_BLANKS.match(text, pos + len(text[pos:s].rstrip())).end()  # (that line's own trailing blanks stay)
        last = _BREAK.match(text, k)
        if k > pos:  # (a line kept before it)
            return k, len(text), last.group() if last else ""
    return s, e, brk


class _Passes:
    """One text's passes of ``cut_counted`` (``step`` each pass's cut; ``result``): the text, and
    the characters of the original removed: in code those the output lacks but for a recounted
    hunk header's new characters, each header compared with the original's (a pass's own count
    took the header's digits an earlier pass wrote for the original's: 181 for 179 characters cut)."""

    def __init__(self, text: str):
        self.original, self.text, self.removed = text, text, 0
        self.chain, self.combined = None, []  # chain: (the original's header, now) of each hunk
        self.rewritten = []  # each pass's (header, header after): its count where the chain breaks

    def step(self, new: str, n: int, heads: list | None) -> bool:
        """Take one pass's cut (``new``, ``n`` characters removed, code's ``heads``); whether it was the last."""
        now = [h[:2] for h in heads or () if len(h) == 3]
        self.combined += now
        heads = [h for h in heads or () if len(h) == 2]
        self.rewritten += [(old, new_) for old, new_ in heads if new_ is not None and new_ != old] + now
        if heads and self.chain is None:
            self.chain = [(old, now) for old, now in heads if now is not None]
        elif heads and self.chain is not False:  # the hunks read again as the last pass wrote them, or the count is each pass's
            same = [old for old, _ in heads] == [now for _, now in self.chain]
            self.chain = [(o, now) for (o, _), (_, now) in zip(self.chain, heads) if now is not None] if same else False
        last = new == self.text or len(new) >= len(self.text)
        self.text, self.removed = new, self.removed + n
        return last

    def result(self, prose: bool) -> tuple[str, int]:
        if prose:
            return self.text, self.removed
        if self.chain is False:
            return self.text, self.removed + sum(_header_removed(old, now) for old, now in self.rewritten)
        written = sum(len(now) - len(old) + _header_removed(old, now) for old, now in (self.chain or []) + self.combined if now != old)
        return self.text, len(self.original) - len(self.text) + written


class DecontaminateStage:
    name = "decontaminate"
    DEFAULTS = {
        "eval_sets": [],  # [[decontaminate.eval_sets]] tables: name, glob, format, text_fields, id_field, unit
        "ngram": 13,  # words per n-gram (GPT-3, datatrove)
        "max_edits": 1,  # words of an n-gram that may differ (0: exact n-grams; 1: one substitution)
        "short_item_words": 26,  # items of ngram .. this - 1 words are also matched whole (0: off)
        "short_item_edits": 0.15,  # fraction of a short item's words that may differ in a near copy
        "mode": {"books": "cut"},  # "remove" the document or "cut" the matches out of its text; a table: per domain, over DEFAULT_MODES
        "domains": ["web", "code", "books"],
        "max_ngrams": 30_000_000,  # refuse evaluation sets with more keys (~17 bytes each, per worker process)
    }
    CHECKS = {"domains": Check(choices=schema.DOMAINS)}  # a misspelt domain would match no document
    SHAPES = {"mode": (str, dict)}  # checked by _cut_domains

    @staticmethod
    def normalize(section: dict) -> dict:
        """The section as one canonical spelling of what it runs (config.load, after its checks),
        so that configs running the same way hash the same: domains in pipeline order, once; mode
        as the domains it cuts, books always named (the default, {books = "cut"}, as before); an
        eval set without the keys at their defaults (text_fields = "text" is ["text"]), its local
        path spelt once (``spelt_glob``). The sets' order stays: an n-gram two sets share is the first one's item."""
        table = {**DEFAULT_MODES, **section["mode"]} if isinstance(section["mode"], dict) else dict.fromkeys(schema.DOMAINS, section["mode"])
        sets = []
        for s in section["eval_sets"]:
            s = {**EVAL_SET_DEFAULTS, **s}
            s["text_fields"] = [s["text_fields"]] if isinstance(s["text_fields"], str) else s["text_fields"]
            s["glob"] = spelt_glob(s["glob"])
            sets.append({k: v for k, v in s.items() if k == "glob" or v != EVAL_SET_DEFAULTS[k]})
        return {**section, "eval_sets": sets, "domains": [d for d in schema.DOMAINS if d in section["domains"]],
                "mode": {d: m for d, m in table.items() if d == "books" or m == "cut"}}

    @staticmethod
    def data_files(section: dict) -> dict:
        """Each evaluation set's files, by option (config.load hashes their bytes)."""
        from curate.readers import list_files

        out = {}
        for i, s in enumerate(section["eval_sets"]):
            files = list_files(s["glob"])
            if len(files) == 1 and os.path.isfile(s["glob"]):  # a file named itself (relative as typed): its bytes hashed
                files = [(s["glob"], files[0][1])]
            out[f"decontaminate.eval_sets[{i}]"] = (s["glob"], files)
        return out

    def __init__(self, cfg: dict | None = None):
        c = {**self.DEFAULTS, **(cfg or {})}
        self.sets = check_eval_sets(c["eval_sets"])
        self.cut_domains = _cut_domains(c["mode"])
        if not isinstance(c["ngram"], int) or c["ngram"] < 2:
            raise ValueError(f"ngram: expected a whole number >= 2, got {c['ngram']!r}")
        if c["max_edits"] not in (0, 1):
            raise ValueError(f"max_edits: expected 0 or 1, got {c['max_edits']!r}")
        sw, se = c["short_item_words"], c["short_item_edits"]
        if isinstance(sw, bool) or not isinstance(sw, int) or sw < 0:
            raise ValueError(f"short_item_words: expected a whole number >= 0, got {sw!r}")
        if isinstance(se, bool) or not isinstance(se, (int, float)) or not 0 <= se < 0.5:
            raise ValueError(f"short_item_edits: expected a fraction >= 0 and < 0.5, got {se!r}")
        if sw > c["ngram"]:
            if near_copy.anchor_length(c["ngram"], sw, se) < 3:
                raise ValueError(f"short_item_edits: {se} leaves some items of {c['ngram']}..{sw - 1} words no 3 intact "
                                 "consecutive words to find them by; lower it or short_item_words")
        self.n, self.edits = c["ngram"], c["max_edits"]
        self.short_words, self.short_edits = sw, float(se)
        self.domains, self.max_ngrams = list(c["domains"]), c["max_ngrams"]
        self.cfg = c
        self.evals: EvalNgrams | None = None
        self.counters = {"cut_docs": 0, "cut_chars": 0}

    def check(self) -> None:
        """Config check of a stage that runs: with no evaluation sets it would compare the
        corpus with nothing and report it clean."""
        if not self.sets:
            raise ValueError("eval_sets: none given; add one [[decontaminate.eval_sets]] table per evaluation set "
                             "(glob = ..., see README) or leave decontaminate out of the stages")

    def setup(self) -> "DecontaminateStage":
        if self.evals is None:
            self.evals = load_eval_ngrams(self.sets, self.n, self.max_ngrams, self.edits, self.short_words, self.short_edits)
        return self

    def window_hits(self, normalized, words=None, mismatch: bool = False):
        """(text index, word position, item index) of every window matching an evaluation key;
        with ``mismatch``, also the position in the window of the word that differs (-1: none)."""
        w, h, start, doc, pos = windows(normalized, self.n, words)
        if self.edits:  # only windows with an intact half that occurs in the evaluation sets
            half, hk = halves(self.n), self.evals.halves
            cand = (hk.lookup(roll(w, start, half)) >= 0) | (hk.lookup(roll(w, start + self.n - half, half)) >= 0)
            h, start, doc, pos = h[cand], start[cand], doc[cand], pos[cand]
        item = np.full(len(h), -1)
        only = np.full(len(h), -1)  # the one wildcard position that matched (-2: several, an intact window)
        for k, keys in enumerate(window_keys(w, h, start, self.n, self.edits)):
            found = self.evals.keys.lookup(keys)
            item = np.where(item < 0, found, item)
            if mismatch and self.edits:
                only = np.where(found >= 0, np.where(only == -1, k, -2), only)
        hit = item >= 0
        if mismatch:
            return doc[hit], pos[hit], item[hit], np.maximum(only[hit], -1)
        return doc[hit], pos[hit], item[hit]

    def near_copies(self, normalized, words=None):
        """(text index, first word, end word, item index, word edits, edits allowed) of every
        near copy of a short evaluation item (``near_copy``), sorted by text and position."""
        if self.evals.near is None:
            return (np.zeros(0, np.int64),) * 6
        w, offs = words if words is not None else word_hashes(normalized)
        return near_copy.find(self.evals.near, w, offs)

    def match_details(self, texts) -> dict:
        """Per text: ``windows`` (matching n-word windows), and of its first match (an intact
        window, else one differing inside, else at an edge, else a near copy of a short item; -1
        where none): ``item``,
        ``start`` and ``end`` (word span in the normalised text), ``near`` (a near copy),
        ``edits`` and ``allowed``."""
        ndoc = len(texts)
        norm = normalize_words(texts)
        words = word_hashes(norm)
        doc, pos, item, miss = self.window_hits(norm, words, mismatch=True)
        out = {"windows": np.bincount(doc, minlength=ndoc), "near": np.zeros(ndoc, bool)}
        for k in ("item", "start", "end", "edits", "allowed"):
            out[k] = np.full(ndoc, -1)
        # each text's first intact window, else the first whose differing word is inside it, else
        # its first (whose edge word is the word beside the copy); reversed: each pick written last
        rank = np.where(miss == -1, 0, np.where((miss == 0) | (miss == self.n - 1), 2, 1))
        order = np.lexsort((pos, rank, doc))[::-1]
        out["item"][doc[order]] = item[order]
        out["start"][doc[order]] = pos[order]
        out["end"] = np.where(out["item"] >= 0, out["start"] + self.n, -1)
        near = self.near_copies(norm, words)
        keep = out["windows"][near[0]] == 0  # a text with a matching window is reported by that rule
        t, a, b, it, edits, allowed = (x[keep][::-1] for x in near)  # reversed: each text's first is written last
        for k, v in (("item", it), ("start", a), ("end", b), ("edits", edits), ("allowed", allowed)):
            out[k][t] = v
        out["near"][t] = True
        # every item each text matched, by a window or as a near copy (what "cut" mode's edits name)
        pairs = np.unique(np.stack([np.concatenate([doc, near[0]]), np.concatenate([item, near[3]])]).astype(np.int64), axis=1)
        out["items"] = np.full(ndoc, None, object)  # None: no match
        bounds = np.searchsorted(pairs[0], np.arange(ndoc + 1))
        for i in np.flatnonzero(np.diff(bounds)).tolist():  # the texts with a match only
            out["items"][i] = tuple(pairs[1][bounds[i] : bounds[i + 1]].tolist())
        out["near_copies"] = np.bincount(near[0], minlength=ndoc)
        return out

    def process(self, batch: pa.RecordBatch):
        kept, ledger = self._process(batch)
        return schema.with_edits(kept), ledger

    def _process(self, batch: pa.RecordBatch):
        self.setup()
        n = batch.num_rows
        if n == 0 or not len(self.evals.keys.keys):
            return batch, schema.empty(schema.LEDGER_SCHEMA)
        on = pc.is_in(batch.column("domain"), value_set=pa.array(self.domains, pa.string())).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(on)
        m = {"item": np.full(n, -1)}
        if len(rows):
            d = self.match_details(batch.column("text").take(pa.array(rows)))
            m = {k: np.zeros(n, v.dtype) for k, v in d.items()}
            m["item"][:] = -1
            for k, v in d.items():
                m[k][rows] = v
        hit = m["item"] >= 0
        if not hit.any():
            return batch, schema.empty(schema.LEDGER_SCHEMA)
        if self.cut_domains:
            cut = hit & pc.is_in(batch.column("domain"), value_set=pa.array(self.cut_domains, pa.string())).to_numpy(zero_copy_only=False)
            if cut.any():
                batch, emptied = self._cut(batch, cut, m)
                hit = hit & ~cut | emptied
                if not hit.any():
                    return batch, schema.empty(schema.LEDGER_SCHEMA)
        removed = batch.filter(pa.array(hit))
        idx = np.flatnonzero(hit)
        near = m["near"][idx]
        ledger = schema.ledger_rows(
            removed, self.name, np.where(near, NEAR_RULE, RULE).tolist(),
            value=np.where(near, m["edits"][idx], m["windows"][idx]).astype(float),
            threshold=np.where(near, m["allowed"][idx], self.n).astype(float),
            kept_id=[self.evals.names[m["item"][i]] for i in idx],
        )
        texts = batch.column("text").take(pa.array(idx))
        langs = code_languages(ledger.column("domain"), ledger.column("language"))
        spans = shared_words(self._span_text(texts, m["start"][idx], m["end"][idx]), texts, ledger.column("path"), normalize_words, langs)
        ledger = ledger.set_column(ledger.schema.get_field_index("snippet"), "snippet", pa.array(spans, pa.string()))
        return batch.filter(pa.array(~hit)), ledger

    def _span_text(self, texts, starts, ends) -> list[str]:
        """The normalised words [start, end) of each text: the matched n-gram or near copy."""
        words = normalize_words(texts).to_pylist()
        return [" ".join(w.split(" ")[a:b]) for w, a, b in zip(words, starts.tolist(), ends.tolist())]

    def _cut(self, batch: pa.RecordBatch, hit: np.ndarray, m: dict):
        """(``batch`` with the matches of the ``hit`` rows cut out, each with an ``edits`` entry:
        the rule the ledger would have named, its matching windows (near copies), the characters
        cut and the items matched (the first ``EDIT_ITEMS``); the mask of the ``hit`` rows the cut
        would leave with no letter, or a Python file that parsed with none that parses (``cut_python``),
        untouched: they are removed as in "remove" mode, not kept empty)."""
        texts, domains = batch.column("text").to_pylist(), batch.column("domain").to_pylist()
        languages = batch.column("language").to_pylist() if "language" in batch.schema.names else [None] * batch.num_rows
        rows, emptied = [], np.zeros(batch.num_rows, bool)
        chars, details = [], []
        hits = np.flatnonzero(hit).tolist()
        python = [domains[i] == "code" and canonical(languages[i]) == "python" for i in hits]  # a dump's label, ``py`` too
        passes = [[] if py else None for py in python]
        # all the rows' cuts at once (web pages and books: prose); a Python file's then parsed (``cut_python``)
        cuts = self.cut_many([texts[i] for i in hits], [domains[i] != "code" for i in hits],
                             ["python" if py else languages[i] for i, py in zip(hits, python)], passes)
        py = [k for k, p in enumerate(python) if p]
        for k, cut in zip(py, self.cut_pythons([texts[hits[k]] for k in py], [(*cuts[k], passes[k]) for k in py])):
            cuts[k] = cut if cut is not None else ("", 0)  # None: no cut of it parses
        for i, (new, removed) in zip(hits, cuts):
            if not _LETTER.search(new):  # blank, or a list marker, a number, a "* * *" left: no document
                emptied[i] = True
                continue
            rows.append(i)
            chars.append(removed)
            texts[i] = new
            names = [self.evals.names[k] for k in m["items"][i]]
            details.append(", ".join(names[:EDIT_ITEMS]) + (f" and {len(names) - EDIT_ITEMS} more" if len(names) > EDIT_ITEMS else ""))
        self.counters["cut_docs"] += len(rows)
        self.counters["cut_chars"] += sum(chars)
        i = batch.schema.get_field_index("text")
        batch = batch.set_column(i, batch.schema.field(i), pa.array(texts, pa.large_string()))
        near = m["near"][rows]
        return schema.add_edits(batch, rows, self.name, np.where(near, NEAR_RULE, RULE).tolist(),
                                np.where(near, m["near_copies"][rows], m["windows"][rows]).tolist(), chars, details), emptied

    def cut_python(self, text: str) -> tuple[str, int] | None:
        """``cut_counted`` of a Python source file, which must parse after the cut if it parsed
        before: the items are code themselves (a HumanEval prompt), and a cut of their words left
        an unmatched ``)`` or a body with no statement (72 of the 83 cut Python files of the code
        sample). Where it does not parse, the statements that held the cut lines go whole (the
        innermost function or class around each, else the top-level statement): first those of
        the cut lines but comment lines (cut line by line), then of all, then the top-level
        statements; None where that does not parse either (the document is removed,
        as in "remove" mode). Ground truth ``ast.parse``."""
        passes = []
        return self.cut_pythons([text], [(*self.cut_counted(text, prose=False, passes=passes, language="python"), passes)])[0]

    def cut_pythons(self, texts: list[str], firsts: list[tuple]) -> list[tuple[str, int] | None]:
        """``cut_python`` of each of ``texts``, given its ``cut_counted`` (text, characters removed,
        passes: ``cut_many``'s): each round's trimmed texts cut together (``_python_tries``)."""
        tries = [self._python_tries(t, f) for t, f in zip(texts, firsts)]
        out, todo = [None] * len(texts), {}
        for i, g in enumerate(tries):
            try:
                todo[i] = next(g)
            except StopIteration as done:
                out[i] = done.value
        while todo:
            cuts = self.cut_many(list(todo.values()), [False] * len(todo), ["python"] * len(todo))
            left = {}
            for i, cut in zip(todo, cuts):
                try:
                    left[i] = tries[i].send(cut)
                except StopIteration as done:
                    out[i] = done.value
            todo = left
        return out

    @staticmethod
    def _python_tries(text: str, first: tuple):
        """``cut_python``'s steps for one file (a generator): yields each trimmed text to cut,
        is sent its cut (``cut_counted``'s), returns the result."""
        new, removed, passes = first
        if new == text or _parses(new):
            return new, removed
        tree = _tree(text)  # (a BOM removed: no line more or less)
        if tree is None:  # it never parsed: line by line
            return new, removed
        lines = _py_lines(text)
        cols = {}
        changed = _changed_lines(lines, passes, cols)
        code = _code_lines(lines, changed, cols)  # a comment's cut parses alone: not its function
        tried = []
        for some, top in ((code, False), (changed, False), (changed, True)):
            spans = _statement_lines(tree, lines, some, top)
            if not spans or spans in tried:
                continue
            tried.append(spans)
            keep, at = [], 0
            for a, b in spans:
                keep += lines[at:a]
                at = b
            trimmed = "".join(keep + lines[at:])
            out, more = yield trimmed  # cut too: an item in a comment between statements
            if _parses(out):
                return out, len(text) - len(trimmed) + more
        return None

    def cut_text(self, text: str, prose: bool = True) -> str:
        """``cut_counted``'s text."""
        return self.cut_counted(text, prose)[0]

    def cut_counted(self, text: str, prose: bool = True, passes: list | None = None, language: str | None = None) -> tuple[str, int]:
        """``_cut_matched`` until nothing matches: a cut joins the words either side of it, which can
        make an item again (``alpha .. zeta ITEM eta .. final``: cut once, the item stayed verbatim);
        each pass shortens it (or is the last). The text, and the characters of ``text`` removed
        (``_Passes``). ``passes``: gets each code pass's edits (``_code_cut``); ``language``: a code
        document's (``_code_cut``)."""
        return self.cut_many([text], [prose], [language], [passes])[0]

    def cut_many(self, texts: list[str], prose: list[bool], languages: list, passes: list | None = None) -> list[tuple[str, int]]:
        """``cut_counted`` of each of ``texts`` (``prose``, ``languages`` and ``passes``: each
        text's), each pass matching all the texts not yet done at once (``_matches``: a text's own
        normalisation cost ~25 ms of Arrow calls, most of its cut)."""
        passes = passes or [None] * len(texts)
        runs = [_Passes(t) for t in texts]
        todo = list(range(len(texts)))
        while todo:
            found = self._matches([runs[i].text for i in todo])
            left = []
            for i, match in zip(todo, found):
                heads = None if prose[i] else []
                new, n = self._cut_matched(runs[i].text, match, prose[i], heads, passes[i], languages[i])  # (code: its headers' count not in n)
                if not runs[i].step(new, n, heads):
                    left.append(i)
            todo = left
        return [r.result(p) for r, p in zip(runs, prose)]

    def _escaped_windows(self, texts: list[str], tokens: list, norms: list) -> list:
        """Per text, (first, end) words of the windows matching where an escape glued to the word
        after it is read apart (``_ESCAPE``: ``"foo\\nITEM"`` is ``foo nalpha`` to the matching, the
        item's first word one that differs, which the cut left); None where the text has none. A
        token whose words would not be as many is read plainly (the positions are the plain
        reading's). All the texts' tokens normalised at once, as ``_matches``."""
        idx = [[t for t, (s, e) in enumerate(tk) if _ESCAPE.search(text, s, e)] if "\\" in text else []
               for text, tk in zip(texts, tokens)]
        some = [d for d, ix in enumerate(idx) if ix]
        out = [None] * len(texts)
        if not some:
            return out
        apart = iter(normalize_words([_ESCAPE.sub("\\\\ ", texts[d][slice(*tokens[d][t])]) for d in some for t in idx[d]]).to_pylist())
        joined = []
        for d in some:
            norm = list(norms[d])
            for t in idx[d]:
                w = next(apart)
                if w and len(w.split(" ")) == len(norm[t].split(" ")):
                    norm[t] = w
            joined.append(" ".join(w for w in norm if w))
        doc, pos, _, miss = self.window_hits(pa.array(joined, pa.large_string()), mismatch=True)
        at = np.searchsorted(doc, np.arange(len(some) + 1))
        for k, d in enumerate(some):
            p, m = pos[at[k] : at[k + 1]], miss[at[k] : at[k + 1]]
            out[d] = (p + (m == 0), p + self.n - (m == self.n - 1))
        return out

    def _matches(self, texts: list[str]) -> list[tuple]:
        """Per text, what ``_cut_matched`` cuts by: its tokens (whitespace-separated, a Han or kana
        character each), their normalised words, each word's token, the (first, end) words of its
        matching windows and of its near copies, and of its windows read with escapes apart
        (``_escaped_windows``, and the word each escape's letter starts: ``_words_at``; or None).
        One normalisation and one lookup for all ``texts``: each
        token is normalised alone, and no window or near copy reaches from one text into another."""
        tokens = [[(m.start(), m.end()) for m in _CUT_TOKEN.finditer(text)] for text in texts]
        normalized = normalize_words([text[s:e] for text, tk in zip(texts, tokens) for s, e in tk])
        flat, counts = normalized.to_pylist(), _word_counts(normalized)  # each token's words
        cuts = np.cumsum([0] + [len(tk) for tk in tokens]).tolist()
        norms = [flat[a:b] for a, b in zip(cuts, cuts[1:])]
        joined = pa.array([" ".join(w for w in norm if w) for norm in norms], pa.large_string())
        words = word_hashes(joined)
        near = self.near_copies(joined, words)
        doc, pos, _, miss = self.window_hits(joined, words, mismatch=True)
        # a window whose first or last word is the one that differs reaches past the shared words
        # (an exact n-gram's neighbours match with one mismatch): that word is not cut
        starts, ends = pos + (miss == 0), pos + self.n - (miss == self.n - 1)
        at, near_at = (np.searchsorted(d, np.arange(len(texts) + 1)) for d in (doc, near[0]))
        escaped = self._escaped_windows(texts, tokens, norms)
        # each word's token
        owners = [np.repeat(np.arange(len(tk), dtype=np.int64), counts[cuts[d] : cuts[d + 1]]) for d, tk in enumerate(tokens)]
        # the word each escape's letter starts (``_cut_matched`` cuts one only the escaped reading matched from there)
        some = [d for d, x in enumerate(escaped) if x is not None]
        letters = [[m.start() + 1 for m in _ESCAPE.finditer(texts[d])] for d in some]
        found = _words_at([texts[d] for d in some], [tokens[d] for d in some], [owners[d] for d in some], letters)
        for d, at_d, i in zip(some, letters, found):
            escaped[d] = (*escaped[d], dict(zip(at_d, i)))
        out = []
        for d, (tk, norm, owner) in enumerate(zip(tokens, norms, owners)):
            a, b = at[d], at[d + 1]
            out.append((tk, norm, owner, starts[a:b], ends[a:b], near[1][near_at[d] : near_at[d + 1]],
                        near[2][near_at[d] : near_at[d + 1]], escaped[d]))
        return out

    def _cut_matched(self, text: str, match: tuple, prose: bool = True, heads: list | None = None, applied: list | None = None,
                     language: str | None = None) -> tuple[str, int]:
        """The text without the tokens covered by a matching window (``match``: ``_matches``'s; a cut that spans a line
        break leaves one, a paragraph's as one: ``_line_break``; in ``prose`` its seams tidied,
        ``_spaced_pair`` and ``_seam``: in code the brackets and blanks beside it are the code's):
        whitespace-separated tokens, a Han or kana character each, and in
        Thai, Lao, Khmer and Myanmar the token's pieces that are covered (``_token_words``); and
        the characters of ``text`` it removes (``cut_chars``: the text's own characters only, a
        recounted hunk header's new digits not offsetting them; prose writes none of its own; with
        ``heads``, a header's not at all: ``cut_counted`` counts each once)."""
        tokens, norm, owner, starts, ends, near_a, near_b, escaped = match
        covered = np.zeros(len(tokens), bool)  # tokens from a match's first word's to its last's (an emoji between)
        words = np.zeros(len(owner), bool)  # the words matched
        if escaped is not None:  # (each word the plain reading leaves out: cut from after its escape)
            plain = np.zeros(len(owner), bool)
            for a, b in zip(starts, ends):
                plain[a:b] = True
            # only a window reaching past a plain one's (the item's first word): no other copy is found
            # than the plain reading finds (a CSV ``"foo,0\\nbar,1"`` read ``foo bar`` made a near copy of one)
            grow = np.array([plain[a:b].any() for a, b in zip(*escaped[:2])], bool)
            starts, ends = np.concatenate([starts, escaped[0][grow]]), np.concatenate([ends, escaped[1][grow]])
        linked = np.zeros(len(tokens), bool)  # a match covers the token and the one before: one item's
        for a, b in list(zip(starts, ends)) + list(zip(near_a, near_b)):
            covered[owner[a] : owner[b - 1] + 1] = True
            linked[owner[a] + 1 : owner[b - 1] + 1] = True
            words[a:b] = True
        if not covered.any():  # nothing matched (cut_counted's last pass): a diff's hunks are not read
            return text, 0
        cut = _covered_spans(text, tokens, norm, owner, covered, words)
        if escaped is not None:  # a word only the escape's reading matched: the cut starts after its escape
            at = [(k, w.start()) for k, (s, e) in enumerate(cut)
                  if (w := _WORDISH.search(text, s, e)) and w.start() and _ESCAPE.match(text, w.start() - 1)]
            for k, s in at:
                if not plain[escaped[2][s]]:
                    cut[k] = (s + 1, cut[k][1])
        if not prose:
            return _code_cut(text, cut, heads, applied, language)
        # a backslash glued to the line's last word (``final\``) is Markdown's hard break, not the item's
        # (but ``final\\`` an escaped one: an odd run of backslashes ends in a break)
        cut = [(s, e - 1) if (run := e - s - len(text[s:e].rstrip("\\"))) % 2 and run < e - s and _BREAK.match(text, e)
               else (s, e) for s, e in cut]
        items = [tokens[t][0] for t in np.flatnonzero(covered & ~linked).tolist()]  # where each cut item begins
        out, pos, t, quotes = [], 0, 0, _single_quotes(text)
        while t < len(cut):
            s, e = cut[t]
            while t + 1 < len(cut) and not text[e : cut[t + 1][0]].strip():  # only whitespace between: one cut
                t += 1
                e = cut[t][1]
            spans, glued = _sentence_mark(text, pos, _emptied_pair(text, _keep_unpaired(text, *_spaced_pair(text, s, e), items, quotes)))
            for k, (s, e) in enumerate(spans):
                brk = _line_break(text[s:e])
                s, e = _seam(text, pos, s, e, bool(brk), glued and k == len(spans) - 1)
                s, e, brk = _whole_lines(text, s, e, brk, pos)
                out.append(text[pos:s])
                out.append(brk)
                pos = e
            t += 1
        out.append(text[pos:])
        new = "".join(out)
        return new, len(text) - len(new)  # each break or indentation it writes is one the cut held
