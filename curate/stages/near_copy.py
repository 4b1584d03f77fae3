"""Near copies of short evaluation items, for ``decontaminate``.

An item of L words, ``ngram`` <= L < ``short_item_words``, holds few n-word windows, so a copy
with a few words edited can have two edits in every window and escape the n-gram rule (a
20-word question with two words changed). Such items are matched whole instead: a document
contains a near copy when some run of its words is within ``floor(short_item_edits * L)``
word edits (substitutions, insertions, deletions) of the item.

Candidates come from anchors: the k-word windows of the short items, with k the longest run of
words that any allowed edit pattern must leave intact (e edits cut L words into at most e + 1
intact runs, the longest of at least ceil((L - e) / (e + 1)) words; k = 4 with the defaults).
A document window equal to an anchor places the item at one position of the document; the
alignment (word-level edit distance, free start and end in a window of L + 2E words around
that position, E the largest allowed edits) is computed for all candidates of a batch at
once, one numpy pass per item word.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from curate.stages.word_keys import KeySet, roll, roll_all

_NOWORD = np.uint64(0x2545F4914F6CDD1D)  # stands for the words outside a candidate's document
_CHUNK = 1 << 15  # candidates aligned at once (bounds the memory: ~40 B per candidate and window word)


def allowed_edits(lengths, tolerance: float) -> np.ndarray:
    """Word edits allowed in an item of each length."""
    return np.floor(np.asarray(lengths, np.float64) * tolerance + 1e-9).astype(np.int64)


def anchor_length(n: int, below: int, tolerance: float) -> int:
    """The longest k such that every item of n..below-1 words keeps k consecutive words intact
    under any allowed edits."""
    runs = [math.ceil((L - e) / (e + 1)) for L, e in ((L, int(allowed_edits([L], tolerance)[0])) for L in range(n, below))]
    return min(runs) if runs else n


@dataclass
class NearCopyIndex:
    """Anchors (k-word keys -> rows of (item, offset), sorted by key) and the items' words."""

    anchors: KeySet  # unique anchor keys -> their index u
    first: np.ndarray  # per u: its first row
    rows: np.ndarray  # per u: its rows
    item: np.ndarray  # per row: the short item (row of ``words``)
    offset: np.ndarray  # per row: the anchor's first word in the item
    words: np.ndarray  # (short items, longest) word hashes, padded
    length: np.ndarray  # words per short item
    edits: np.ndarray  # edits allowed per short item
    name: np.ndarray  # per short item: its index in the evaluation item names
    k: int

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.first, self.rows, self.item, self.offset, self.words, self.length, self.edits, self.name)) + self.anchors.nbytes


def build(items: list[np.ndarray], names: list[int], k: int, tolerance: float) -> NearCopyIndex:
    """The index of the short items (each its word hashes) with their name indices."""
    length = np.array([len(x) for x in items], np.int64)
    words = np.full((len(items), int(length.max()) if len(items) else 0), _NOWORD, np.uint64)
    for i, x in enumerate(items):
        words[i, : len(x)] = x
    keys, item, offset = [], [], []
    for i, x in enumerate(items):
        start = np.arange(len(x) - k + 1)
        keys.append(roll(x, start, k))
        item.append(np.full(len(start), i, np.int32))
        offset.append(start.astype(np.int32))
    keys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    item = np.concatenate(item) if item else np.zeros(0, np.int32)
    offset = np.concatenate(offset) if offset else np.zeros(0, np.int32)
    order = np.lexsort((offset, item, keys))
    keys, item, offset = keys[order], item[order], offset[order]
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if len(keys) else np.zeros(0, np.int64)
    rows = np.diff(np.append(first, len(keys)))
    return NearCopyIndex(KeySet(keys[first], np.arange(len(first), dtype=np.int32)), first, rows, item, offset, words, length,
                         allowed_edits(length, tolerance), np.array(names, np.int64), k)


def align(items: np.ndarray, lengths: np.ndarray, x: np.ndarray):
    """For each row: the fewest word edits turning ``items[r, :lengths[r]]`` into a run of
    ``x[r]``, and that run as [start, end) (of the cheapest, the latest start, then the
    earliest end: the shortest run, so a word beside the copy is not taken as a substitution
    for an item word the copy lacks, a deletion at the same cost; "cut" mode cuts this run).
    Edit-distance rows over the item's words; each cell holds cost * B + (W - start column),
    so one minimum keeps the cheapest and then the latest start, and the insertion chain
    along a row is a cumulative minimum."""
    C, W = x.shape
    B = W + 1
    cb = np.arange(W + 1, dtype=np.int64) * B
    prev = np.broadcast_to(W - np.arange(W + 1, dtype=np.int64), (C, W + 1)).copy()  # cost 0, start anywhere
    best, end = np.zeros(C, np.int64), np.zeros(C, np.int64)
    for j in range(1, int(lengths.max(initial=0)) + 1):
        t = np.empty_like(prev)
        t[:, 0] = j * B + W  # the first j item words deleted (start column 0)
        sub = (items[:, j - 1, None] != x) * B
        t[:, 1:] = np.minimum(prev[:, :-1] + sub, prev[:, 1:] + B)
        prev = np.minimum.accumulate(t - cb, axis=1) + cb  # words inserted before the next item word
        done = np.flatnonzero(lengths == j)
        if len(done):
            end[done] = prev[done].argmin(axis=1)
            best[done] = prev[done, end[done]]
    return best // B, W - best % B, end


def unique_rows(a: np.ndarray) -> np.ndarray:
    """``np.unique(a, axis=0)`` of a 2-D integer array, by a lexsort of its columns: unique sorts
    the rows as a structured view, which grew super-linearly (a 16,000-hunk diff's candidates:
    0.04 s at 4,000 hunks, 0.45 s at 16,000; this 3-8x faster)."""
    if len(a) < 2:
        return a
    a = a[np.lexsort(a.T[::-1])]
    return a[np.concatenate([[True], (a[1:] != a[:-1]).any(axis=1)])]


def find(ix: NearCopyIndex, w: np.ndarray, offs: np.ndarray):
    """Near copies in the texts whose word hashes are ``w`` (text d: ``w[offs[d]:offs[d+1]]``):
    (text, first word, end word, item name index, edits, edits allowed), sorted, one row per
    distinct placement that aligns within the item's allowed edits."""
    empty = (np.zeros(0, np.int64),) * 6
    k = ix.k
    if not len(ix.length) or len(w) < k:
        return empty
    # every k consecutive words, also across texts: such a candidate is aligned within the text
    # of its anchor's first word only, so it cannot match across a boundary
    u = ix.anchors.lookup(roll_all(w, k))
    p = np.flatnonzero(u >= 0)
    if not len(p):
        return empty
    u = u[p]
    cnt = ix.rows[u]
    row = np.repeat(ix.first[u], cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    p = np.repeat(p, cnt)
    item, s = ix.item[row].astype(np.int64), p - ix.offset[row]
    doc = np.searchsorted(offs, p, side="right") - 1
    cand = unique_rows(np.stack([doc, s, item], axis=1))  # one placement per (text, start, item)
    doc, s, item = cand[:, 0], cand[:, 1], cand[:, 2]
    out = [_verify(ix, w, offs, doc[i : i + _CHUNK], s[i : i + _CHUNK], item[i : i + _CHUNK])
           for i in range(0, len(doc), _CHUNK)]
    out = unique_rows(np.concatenate(out))  # sorted by text, start, end, item
    return tuple(out[:, i] for i in range(6))


def _verify(ix: NearCopyIndex, w, offs, doc, s, item) -> np.ndarray:
    """Rows (text, first word, end word, item name index, edits, allowed) of the candidates
    that align."""
    E = int(ix.edits.max())
    g = (s - E)[:, None] + np.arange(ix.words.shape[1] + 2 * E)
    inside = (g >= offs[doc][:, None]) & (g < offs[doc + 1][:, None])
    x = np.where(inside, w[np.clip(g, 0, len(w) - 1)], _NOWORD)
    cost, a, b = align(ix.words[item], ix.length[item], x)
    ok = cost <= ix.edits[item]
    base = s[ok] - E - offs[doc[ok]]
    return np.stack([doc[ok], base + a[ok], base + b[ok], ix.name[item[ok]], cost[ok], ix.edits[item[ok]]], axis=1)
