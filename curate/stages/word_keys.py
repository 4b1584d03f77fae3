"""Word-window keys, shared by decontamination's n-gram windows and its near-copy anchors: a
window of words hashes to a polynomial of its word hashes (mod 2^64), looked up in a sorted
key set with a bitmap prefilter."""
from __future__ import annotations

import numpy as np

_P = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the window polynomial


def powers(n: int) -> np.ndarray:
    """P^(n-1-q) mod 2^64 for q = 0..n-1."""
    return np.array([pow(int(_P), n - 1 - q, 1 << 64) for q in range(n)], dtype=np.uint64)


def roll(w: np.ndarray, start: np.ndarray, n: int) -> np.ndarray:
    """Hash of the n words from each ``start``: sum_q w[start+q] P^(n-1-q) mod 2^64."""
    h = np.zeros(len(start), dtype=np.uint64)
    pw = powers(n)
    with np.errstate(over="ignore"):
        for q in range(n):
            h += w[start + q] * pw[q]
    return h


def roll_all(w: np.ndarray, n: int) -> np.ndarray:
    """``roll`` from every position (slices, no gather): [i] hashes w[i:i+n]."""
    m = max(len(w) - n + 1, 0)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for q, p in enumerate(powers(n)):
            h += w[q : q + m] * p
    return h


class KeySet:
    """Sorted unique uint64 keys (with a value each) and a bitmap of their top bits (~16 bits
    per key, at most 256 MiB): almost every document key is rejected by one gather, and only
    the rest are binary-searched."""

    def __init__(self, keys: np.ndarray, values: np.ndarray | None = None):
        self.keys = keys
        self.values = values if values is not None else np.zeros(len(keys), np.int32)
        self.shift = np.uint64(64 - min(31, max(16, int(np.ceil(np.log2(max(len(keys), 1) * 16))))))
        top = keys >> self.shift
        self.bitmap = np.zeros(int((np.uint64(1) << (np.uint64(64) - self.shift)) // np.uint64(64)) + 1, np.uint64)
        word = top >> np.uint64(6)  # sorted, as the keys are
        first = np.flatnonzero(np.concatenate([[True], word[1:] != word[:-1]])) if len(word) else np.zeros(0, np.int64)
        if len(first):
            self.bitmap[word[first]] = np.bitwise_or.reduceat(np.uint64(1) << (top & np.uint64(63)), first)

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes + self.bitmap.nbytes

    def lookup(self, h: np.ndarray) -> np.ndarray:
        """The value of each key, -1 where it is not in the set."""
        out = np.full(len(h), -1)
        if not len(self.keys):
            return out
        top = h >> self.shift
        maybe = np.flatnonzero((self.bitmap[top >> np.uint64(6)] >> (top & np.uint64(63))) & np.uint64(1))
        if len(maybe):
            pos = np.minimum(np.searchsorted(self.keys, h[maybe]), len(self.keys) - 1)
            out[maybe] = np.where(self.keys[pos] == h[maybe], self.values[pos], -1)
        return out
