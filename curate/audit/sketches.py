"""Mergeable sketches for the audit's statistics: ``LogHist`` (length percentiles within
``REL_ERROR``), ``TopK`` (Misra-Gries top hosts) and ``HLL`` (distinct hosts). Each merges
associatively and commutatively, so partials made in any order agree (curate/audit/stats.py)."""
from __future__ import annotations

import heapq
import math
from collections import Counter

import numpy as np
import polars as pl


# LogHist bin i covers [GROWTH**i, GROWTH**(i+1)): 116 bins a decade (GROWTH ~1.02), 29 to each
# quarter-decade display bin, so a display bin is a sum of whole fine bins (its counts exact)
BINS_PER_DECADE = 116
GROWTH = 10 ** (1 / BINS_PER_DECADE)


REL_ERROR = math.sqrt(GROWTH) - 1  # a bin's geometric middle is this close to any value in it


PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)


TOPK_CAPACITY = 4096


HLL_P = 14


HASH_SEED = 0x5EED


class LogHist:
    """Non-negative integers counted in fixed logarithmic bins (bin -1 holds the zeros).

    Merging adds bin counts (exact); ``quantile`` is within ``REL_ERROR`` of the truth.
    """

    def __init__(self):
        self.bins: Counter = Counter()
        self.n = self.total = 0
        self.min = self.max = None

    @staticmethod
    def bin_expr(col: pl.Expr) -> pl.Expr:
        # + 1e-9: a power of ten (1,000, a bin's edge) is not left below it by the float log
        return pl.when(col > 0).then((col.cast(pl.Float64).log10() * BINS_PER_DECADE + 1e-9).floor()).otherwise(-1).cast(pl.Int32)

    def add_counts(self, counts: dict, total: int, lo: int, hi: int) -> None:
        self.bins.update(counts)
        self.n += sum(counts.values())
        self.total += total
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)

    def merge(self, other: "LogHist") -> "LogHist":
        if other.n:
            self.add_counts(other.bins, other.total, other.min, other.max)
        return self

    @staticmethod
    def value(b: int) -> float:
        """The value a bin stands for: its integer if it holds one, else its geometric middle."""
        if b < 0:
            return 0.0
        lo, hi = (10 ** ((e - 1e-9) / BINS_PER_DECADE) for e in (b, b + 1))  # bin_expr's edges
        first, last = math.ceil(lo), math.ceil(hi) - 1
        return float(first) if first == last else math.sqrt(lo * hi)

    def quantile(self, q: float) -> float | None:
        """The nearest-rank q-quantile (the value of rank ceil(q*n)), within REL_ERROR."""
        if not self.n:
            return None
        rank, seen = max(1, math.ceil(q * self.n)), 0
        for b in sorted(self.bins):
            seen += self.bins[b]
            if seen >= rank:
                return min(max(self.value(b), self.min), self.max)
        return float(self.max)

    def summary(self) -> dict:
        if not self.n:
            return {"count": 0}
        out = {"count": self.n, "sum": self.total, "min": self.min, "max": self.max, "mean": self.total / self.n}
        out.update({f"p{p}": round(self.quantile(p / 100), 2) for p in PERCENTILES})
        return out

    def coarse(self, per_decade: int = 4) -> dict:
        """Counts per display bin [10**(k/per_decade), 10**((k+1)/per_decade)) (k = -1: zeros):
        whole fine bins, ``per_decade`` dividing BINS_PER_DECADE."""
        if BINS_PER_DECADE % per_decade:
            raise ValueError(f"per_decade {per_decade} does not divide {BINS_PER_DECADE}: display bins would split fine ones")
        out: Counter = Counter()
        for b, c in self.bins.items():
            out[-1 if b < 0 else b // (BINS_PER_DECADE // per_decade)] += c
        return {str(k): out[k] for k in sorted(out)}


class TopK:
    """Misra-Gries heavy hitters: at most ``capacity`` counters, each at most ``error`` low."""

    def __init__(self, capacity: int = TOPK_CAPACITY):
        self.capacity, self.counts, self.error = capacity, {}, 0

    def update(self, items) -> "TopK":
        c = self.counts
        for k, n in items:
            c[k] = c.get(k, 0) + n
        if len(c) > self.capacity:
            cut = heapq.nlargest(self.capacity + 1, c.values())[-1]
            self.counts = {k: v - cut for k, v in c.items() if v > cut}
            self.error += cut
        return self

    def merge(self, other: "TopK") -> "TopK":
        self.error += other.error
        return self.update(other.counts.items())

    def top(self, n: int) -> list:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


class HLL:
    """HyperLogLog distinct counter over 64-bit hashes; merges by register-wise max."""

    def __init__(self, p: int = HLL_P):
        self.p, self.reg = p, np.zeros(1 << p, dtype=np.uint8)

    def add_hashes(self, h: np.ndarray) -> None:
        h = h.astype(np.uint64)
        idx = (h >> np.uint64(64 - self.p)).astype(np.int64)
        w = (h << np.uint64(self.p)) | np.uint64(1 << (self.p - 1))  # guard bit bounds the rank
        rank = (64 - np.floor(np.log2(w.astype(np.float64)))).astype(np.uint8)  # leading zeros + 1
        np.maximum.at(self.reg, idx, rank)

    def merge(self, other: "HLL") -> "HLL":
        np.maximum(self.reg, other.reg, out=self.reg)
        return self

    def estimate(self) -> int:
        m = float(len(self.reg))
        e = 0.7213 / (1 + 1.079 / m) * m * m / float(np.sum(np.exp2(-self.reg.astype(np.float64))))
        zeros = int(np.count_nonzero(self.reg == 0))
        if e <= 2.5 * m and zeros:
            e = m * math.log(m / zeros)  # linear counting for small cardinalities
        return round(e)

