"""Corpus audit: statistics for every stage, as ``stats/summary.json`` and ``report.html``.

    curate audit DIR [--output OUT]                  a curate output (text, ledger, quarantine,
                                                     manifest, stats, tokens when present)
    curate audit --corpus GLOB [--text-field F] [--url-field F] [--language-field F]
                 [--domain NAME] [--output OUT]      any Parquet / JSONL corpus

What it reports: the stage funnel (documents; tokens when tokenize ran), removals by stage,
rule and domain with the removed documents of smallest id per rule (ledger file, row and id),
quarantine reasons, documents per domain and language, the domain mix (against the target
in ``tokens/manifest.json``, rebalance's stats or its config when there is one), document lengths
(characters and tokens: percentiles and histograms), quality-score histograms, duplicate-group
sizes and the top hosts of the ``url`` column (host = lower-cased, without a leading ``www.``).

How it scales. Every statistic is a *partial* (``Partial``) computed from one batch of rows
and merged with others; merging is associative and commutative, so the files of a corpus
can be audited in any order, on any number of workers. Locally one file at a time is read
with polars' streaming engine (``collect_batches``), only the needed columns, the text only
as its length inside the scan: memory is polars' reader buffers for one file (batches of
``BATCH_ROWS``; bench/bench_audit.py measures the same peak RSS as polars merely summing the
text lengths, growing with the shard size, not with the corpus) plus the partials; time is
one linear pass. Gzip/zstd JSONL files are decompressed whole by polars, so there memory
grows with the largest JSONL file. DIR is a local directory; of ``tokens/`` only its
``manifest.json`` is read (the target mixture, tokens in total). A Beam version
is ``Create(files) | ParDo(file -> Partial) | CombineGlobally(CombineFn)``, the CombineFn
being ``create_accumulator=Partial``, ``add_input=Partial.add_docs`` (of a batch normalized by
``doc_frame``; ``add_ledger``/``add_quarantine`` for those rows), ``merge_accumulators=
Partial.merge`` and ``extract_output=Partial.summary``. Per statistic:

* counts per domain, language, stage, rule, reason; sums of characters and tokens: exact;
  memory grows with the number of distinct keys (tens to hundreds), not with the corpus.
* length percentiles: ``LogHist``, counts in fixed logarithmic bins (each 2% wider than the
  last). Bin counts add, so merging is exact; a percentile (nearest rank, like DuckDB's
  ``quantile_disc``) is within ``REL_ERROR`` (1%) of the true value; at most ~1,500 bins
  per domain whatever the corpus size. Minimum, maximum and mean are exact.
* quality-score histogram (20 bins on [0, 1]) and duplicate-group sizes (power-of-two
  buckets): exact.
* top hosts: ``TopK``, a Misra-Gries summary of at most ``TOPK_CAPACITY`` counters, merged
  by adding and cutting back to the capacity. A reported count is at most ``error`` below
  the truth (``error`` <= documents / (capacity + 1)) and is exact while ``error`` is 0.
* distinct hosts: exact while the top-k summary never dropped a host; beyond that a
  HyperLogLog (2^14 registers, ~0.8% standard error) merged by register-wise max. Its hash
  is polars' (stable within one polars version: merge partials made by the same version).
* removed examples: the ``k`` smallest ids per (stage, rule); merge keeps the ``k`` smallest.
"""
from __future__ import annotations

import argparse
import glob
import heapq
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from curate import output, schema

GROWTH = 1.02  # LogHist bin i covers [GROWTH**i, GROWTH**(i+1))
LOG_G = math.log(GROWTH)
REL_ERROR = math.sqrt(GROWTH) - 1  # a bin's geometric middle is this close to any value in it
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
QUALITY_BINS = 20
TOPK_CAPACITY = 4096
HLL_P = 14
HASH_SEED = 0x5EED
BATCH_ROWS = 65536
EXAMPLES = 3
HOST_RE = r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://|//)?(?:[^@/?#]*@)?([^:/?#\s]+)"  # the scheme is optional (Dolma)
HOST_DEFINITION = "lower-cased host of the url column, without a leading 'www.'"
UNKNOWN = "unknown"  # the language of documents that have none
TEXT_FIELDS = ("text", "content", "raw_content")
URL_FIELDS = ("url", "metadata.url", "metadata.warc_url", "warc_url")
LANGUAGE_FIELDS = ("language", "lang", "metadata.language", "metadata.lang")
FORMAT = "curate-audit/1"


# ---------------------------------------------------------------- mergeable sketches


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
        return pl.when(col > 0).then((col.cast(pl.Float64).log() / LOG_G).floor()).otherwise(-1).cast(pl.Int32)

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
        lo, hi = GROWTH**b, GROWTH ** (b + 1)
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
        """Counts per display bin [10**(k/per_decade), 10**((k+1)/per_decade)) (k = -1: zeros)."""
        out: Counter = Counter()
        for b, c in self.bins.items():
            k = -1 if b < 0 else math.floor(per_decade * math.log10(self.value(b)) + 1e-9)
            out[k] += c
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


# ---------------------------------------------------------------- the partial statistics


def _rows(df: pl.DataFrame, keys: list[str], **aggs: pl.Expr):
    """(key tuple, {agg: value}) per group of df."""
    g = df.group_by(keys).agg(n=pl.len(), **aggs)
    for r in g.iter_rows(named=True):
        yield tuple(r[k] for k in keys), r


def _merge_dicts(a: dict, b: dict, new) -> None:
    for k, v in b.items():
        a.setdefault(k, new()).merge(v)


def _clean(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


@dataclass
class Partial:
    """Mergeable statistics of documents, ledger rows and quarantine rows."""

    examples_k: int = EXAMPLES
    docs: Counter = field(default_factory=Counter)  # (domain, language) -> documents
    chars: Counter = field(default_factory=Counter)  # domain -> characters
    tokens: Counter = field(default_factory=Counter)  # domain -> num_tokens
    mix_tokens: Counter = field(default_factory=Counter)  # domain -> num_tokens * repeat
    mix_docs: Counter = field(default_factory=Counter)  # domain -> sum of repeat
    length: dict = field(default_factory=dict)  # domain -> LogHist of characters
    token_length: dict = field(default_factory=dict)  # domain -> LogHist of num_tokens
    quality: dict = field(default_factory=dict)  # domain -> QUALITY_BINS counts
    quality_sum: Counter = field(default_factory=Counter)  # domain -> sum of scores
    dups: Counter = field(default_factory=Counter)  # (domain, bucket) -> documents
    hosts: TopK = field(default_factory=TopK)
    hll: HLL = field(default_factory=HLL)
    no_host: int = 0
    removed: Counter = field(default_factory=Counter)  # (stage, rule, domain) -> ledger rows
    removed_lang: Counter = field(default_factory=Counter)  # (stage, language) -> ledger rows
    examples: dict = field(default_factory=dict)  # (stage, rule) -> smallest-id ledger rows
    quarantined: Counter = field(default_factory=Counter)  # (reason, domain) -> rows
    quarantine_examples: dict = field(default_factory=dict)  # reason -> first rows by path, offset

    # -- adding batches

    def add_docs(self, df: pl.DataFrame) -> "Partial":
        """Add a batch with columns domain, language, host, chars [, tokens, repeat, quality, dup]."""
        cols = set(df.columns)
        df = df.with_columns(pl.col("language").fill_null(UNKNOWN), pl.col("domain").fill_null(UNKNOWN))
        for (d, lang), r in _rows(df, ["domain", "language"]):
            self.docs[d, lang] += r["n"]
        self._add_hist(df, "chars", self.length)
        for (d,), r in _rows(df, ["domain"], s=pl.col("chars").sum()):
            self.chars[d] += r["s"]
        if "tokens" in cols:
            rep = pl.col("repeat").fill_null(1) if "repeat" in cols else pl.lit(1)
            t = df.filter(pl.col("tokens").is_not_null())
            for (d,), r in _rows(t, ["domain"], s=pl.col("tokens").sum(), m=(pl.col("tokens") * rep).sum()):
                self.tokens[d] += r["s"]
                self.mix_tokens[d] += r["m"]
            self._add_hist(t, "tokens", self.token_length)
        if "repeat" in cols:
            for (d,), r in _rows(df, ["domain"], s=pl.col("repeat").fill_null(1).sum()):
                self.mix_docs[d] += r["s"]
        if "quality" in cols:
            q = df.filter(pl.col("quality").is_not_null() & pl.col("quality").is_finite()).with_columns(
                b=(pl.col("quality").cast(pl.Float64) * QUALITY_BINS).floor().clip(0, QUALITY_BINS - 1).cast(pl.Int32)
            )
            for (d, b), r in _rows(q, ["domain", "b"], s=pl.col("quality").cast(pl.Float64).sum()):
                self.quality.setdefault(d, [0] * QUALITY_BINS)[b] += r["n"]
                self.quality_sum[d] += r["s"]
        if "dup" in cols:
            g = df.filter(pl.col("dup").is_not_null()).group_by("domain", "dup").len()
            buckets = np.frexp(np.maximum(g["dup"].to_numpy().astype(np.float64) - 1, 0))[1]  # bit_length(size-1)
            for d, b, n in zip(g["domain"].to_list(), buckets.tolist(), g["len"].to_list()):
                self.dups[d, int(b)] += n
        h = df.filter(pl.col("host").is_not_null()).group_by("host").len()
        self.no_host += df.height - int(h["len"].sum() or 0)
        self.hosts.update(zip(h["host"].to_list(), h["len"].to_list()))
        if h.height:
            self.hll.add_hashes(h["host"].hash(seed=HASH_SEED).to_numpy())
        return self

    @staticmethod
    def _add_hist(df: pl.DataFrame, col: str, into: dict) -> None:
        g = df.group_by("domain", b=LogHist.bin_expr(pl.col(col))).agg(
            n=pl.len(), s=pl.col(col).sum(), lo=pl.col(col).min(), hi=pl.col(col).max()
        )
        for d, part in g.partition_by("domain", as_dict=True).items():
            into.setdefault(d[0], LogHist()).add_counts(
                dict(zip(part["b"].to_list(), part["n"].to_list())), int(part["s"].sum()), int(part["lo"].min()), int(part["hi"].max())
            )

    def add_ledger(self, df: pl.DataFrame, file: str) -> "Partial":
        """Add ledger rows (the ledger schema plus ``row``, the row's index in ``file``)."""
        for (s, r_, d), r in _rows(df, ["stage", "rule", "domain"]):
            self.removed[s, r_, d or UNKNOWN] += r["n"]
        for (s, lang), r in _rows(df.with_columns(pl.col("language").fill_null(UNKNOWN)), ["stage", "language"]):
            self.removed_lang[s, lang] += r["n"]
        cols = ["id", "row", "domain", "url", "value", "threshold", "kept_id", "path", "offset", "snippet"]
        head = df.sort("id").group_by("stage", "rule", maintain_order=True).head(self.examples_k)
        for row in head.select("stage", "rule", *cols).iter_rows(named=True):
            ex = {k: _clean(row[k]) for k in cols} | {"file": file}
            self._keep_smallest(self.examples, (row["stage"], row["rule"]), [ex], "id")
        return self

    def add_quarantine(self, df: pl.DataFrame, file: str) -> "Partial":
        for (reason, d), r in _rows(df, ["reason", "domain"]):
            self.quarantined[reason, d or UNKNOWN] += r["n"]
        head = df.sort("path", "offset").group_by("reason", maintain_order=True).head(self.examples_k)
        for row in head.iter_rows(named=True):
            ex = {k: row.get(k) for k in ("path", "offset", "detail", "source", "domain")} | {"file": file}
            self._keep_smallest(self.quarantine_examples, row["reason"], [ex], "path", "offset")
        return self

    def _keep_smallest(self, into: dict, key, rows: list, *order: str) -> None:
        rows = into.get(key, []) + rows
        into[key] = sorted(rows, key=lambda x: tuple(x[o] for o in order))[: self.examples_k]

    # -- merging

    def merge(self, o: "Partial") -> "Partial":
        for name in ("docs", "chars", "tokens", "mix_tokens", "mix_docs", "quality_sum", "dups", "removed", "removed_lang", "quarantined"):
            getattr(self, name).update(getattr(o, name))
        _merge_dicts(self.length, o.length, LogHist)
        _merge_dicts(self.token_length, o.token_length, LogHist)
        for d, bins in o.quality.items():
            mine = self.quality.setdefault(d, [0] * QUALITY_BINS)
            self.quality[d] = [a + b for a, b in zip(mine, bins)]
        self.hosts.merge(o.hosts)
        self.hll.merge(o.hll)
        self.no_host += o.no_host
        for k, rows in o.examples.items():
            self._keep_smallest(self.examples, k, rows, "id")
        for k, rows in o.quarantine_examples.items():
            self._keep_smallest(self.quarantine_examples, k, rows, "path", "offset")
        return self

    # -- the result

    def summary(self, top: int = 25) -> dict:
        by_domain, by_lang, by_dl = Counter(), Counter(), {}
        for (d, lang), n in self.docs.items():
            by_domain[d] += n
            by_lang[lang] += n
            by_dl.setdefault(d, {})[lang] = n
        domains = sorted(by_domain)

        def hist_summary(hists: dict) -> dict | None:
            if not hists:
                return None
            everything = LogHist()
            for h in hists.values():
                everything.merge(h)
            return {
                "all": everything.summary(),
                "by_domain": {d: h.summary() for d, h in sorted(hists.items())},
                "histogram": {"per_decade": 4, "by_domain": {d: h.coarse() for d, h in sorted(hists.items())}},
            }

        removed = {}
        for (s, r_, d), n in sorted(self.removed.items()):
            e = removed.setdefault(s, {"total": 0, "rules": {}})
            e["total"] += n
            rule = e["rules"].setdefault(r_, {"total": 0, "by_domain": {}, "examples": []})
            rule["total"] += n
            rule["by_domain"][d] = n
        for (s, r_), rows in self.examples.items():
            removed[s]["rules"][r_]["examples"] = rows
        quarantine = {}
        for (reason, d), n in sorted(self.quarantined.items()):
            e = quarantine.setdefault(reason, {"total": 0, "by_domain": {}, "examples": self.quarantine_examples.get(reason, [])})
            e["total"] += n
            e["by_domain"][d] = n
        exact_hosts = self.hosts.error == 0
        ndocs = sum(by_domain.values())
        return {
            "documents": {
                "total": ndocs,
                "by_domain": dict(by_domain),
                "by_language": dict(by_lang),
                "by_domain_language": by_dl,
            },
            "characters": {"total": sum(self.chars.values()), "by_domain": dict(self.chars)},
            "tokens": {
                "total": sum(self.tokens.values()),
                "by_domain": dict(self.tokens),
                "in_mix": sum(self.mix_tokens.values()),
                "in_mix_by_domain": dict(self.mix_tokens),
            }
            if self.tokens
            else None,
            "mix_documents": {"total": sum(self.mix_docs.values()), "by_domain": dict(self.mix_docs)} if self.mix_docs else None,
            "length_chars": hist_summary(self.length),
            "length_tokens": hist_summary(self.token_length),
            "percentile_method": f"nearest rank (value of rank ceil(q*n)), from log bins; relative error <= {REL_ERROR:.4f}",
            "percentile_relative_error": REL_ERROR,
            "quality_score": {
                "bins": QUALITY_BINS,
                "by_domain": {d: {"histogram": b, "count": sum(b), "mean": self.quality_sum[d] / max(sum(b), 1)} for d, b in sorted(self.quality.items())},
            }
            if self.quality
            else None,
            "dup_group_size": {
                "buckets": "bucket b holds sizes 2**(b-1)+1 .. 2**b (bucket 0: size 1)",
                "by_domain": {d: {str(b): n for (dd, b), n in sorted(self.dups.items()) if dd == d} for d in sorted({d for d, _ in self.dups})},
            }
            if self.dups
            else None,
            "hosts": {
                "definition": HOST_DEFINITION,
                "documents_with_host": ndocs - self.no_host,
                "documents_without_host": self.no_host,
                "distinct": len(self.hosts.counts) if exact_hosts else self.hll.estimate(),
                "distinct_exact": exact_hosts,
                "top": [[h, n] for h, n in self.hosts.top(top)],
                "top_max_undercount": self.hosts.error,
            },
            "removed": {"total": sum(self.removed.values()), "by_stage": removed, "by_stage_language": {
                st: {lang: n for (st2, lang), n in sorted(self.removed_lang.items()) if st2 == st}
                for st in sorted({st for st, _ in self.removed_lang})
            }},
            "quarantine": {"total": sum(self.quarantined.values()), "by_reason": quarantine},
            "domains": domains,
        }


# ---------------------------------------------------------------- reading


def _field(schema_: pl.Schema, dotted: str) -> pl.Expr | None:
    """An expression for a (dotted, nested) field, or None when the schema lacks it."""
    head, *rest = dotted.split(".")
    if head not in schema_:
        return None
    expr, typ = pl.col(head), schema_[head]
    for part in rest:
        if not isinstance(typ, pl.Struct) or part not in {f.name for f in typ.fields}:
            return None
        typ = next(f.dtype for f in typ.fields if f.name == part)
        expr = expr.struct.field(part)
    return expr


def _first(schema_: pl.Schema, names) -> tuple[str, pl.Expr] | tuple[None, None]:
    for n in names:
        e = _field(schema_, n)
        if e is not None:
            return n, e
    return None, None


def host_expr(url: pl.Expr) -> pl.Expr:
    h = url.str.extract(HOST_RE, 1).str.to_lowercase().str.strip_suffix(".").str.replace(r"^www\.", "")
    return pl.when(h != "").then(h)


def _batches(lf: pl.LazyFrame):
    yield from lf.collect_batches(chunk_size=BATCH_ROWS, maintain_order=True, engine="streaming")  # deterministic sums


def _scan(path: str, infer: int | None = 1000) -> pl.LazyFrame:
    name = path.lower()
    if name.endswith(".parquet"):
        return pl.scan_parquet(path)
    if any(name.endswith(s) for s in (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".json.gz", ".ndjson.gz", ".jsonl.zst", ".json.zst")):
        return pl.scan_ndjson(path, infer_schema_length=infer)
    raise ValueError(f"{path}: not a Parquet or JSONL file (.parquet, .jsonl[.gz|.zst], .json[.gz|.zst])")


def doc_frame(lf: pl.LazyFrame, text=None, url=None, language=None, domain: str = "corpus", where: str = "") -> tuple[pl.LazyFrame, dict]:
    """The normalized columns the audit reads (domain, language, host, chars and the stage columns).

    Field arguments are a name, a list of candidates or None (the usual names); dotted
    names reach into nested objects (``metadata.url``). Returns the frame and the fields used.
    """
    sch = lf.collect_schema()
    as_list = lambda v, d: d if v is None else ([v] if isinstance(v, str) else list(v))  # noqa: E731
    tname, texpr = _first(sch, as_list(text, TEXT_FIELDS))
    if texpr is None:
        raise ValueError(f"{where}no text field: none of {as_list(text, TEXT_FIELDS)} is present (columns: {', '.join(sch.names())}); use --text-field")
    uname, uexpr = _first(sch, as_list(url, URL_FIELDS))
    lname, lexpr = _first(sch, as_list(language, LANGUAGE_FIELDS))
    cols = [
        (pl.col("domain").cast(pl.String) if "domain" in sch else pl.lit(domain)).alias("domain"),
        (lexpr.cast(pl.String) if lexpr is not None else pl.lit(None, pl.String)).alias("language"),
        (host_expr(uexpr.cast(pl.String)) if uexpr is not None else pl.lit(None, pl.String)).alias("host"),
        texpr.cast(pl.String).str.len_chars().cast(pl.Int64).fill_null(0).alias("chars"),
    ]
    for col, name in (("num_tokens", "tokens"), ("repeat", "repeat"), ("quality_score", "quality"), ("dup_group_size", "dup")):
        if col in sch:
            cols.append(pl.col(col).cast(pl.Float64 if name == "quality" else pl.Int64).alias(name))
    return lf.select(cols), {"text": tname, "url": uname, "language": lname, "domain": "domain" if "domain" in sch else domain}


def audit_files(files: list[str], partial: Partial, **fields) -> dict:
    """Add the documents of every file to ``partial``, one streamed file at a time.

    Returns the fields used (of the last file). A JSONL file whose schema changes after the
    first lines is read again with the schema inferred from all of it.
    """
    used = {}
    for f in files:
        for infer in (1000, None):
            one = Partial(partial.examples_k)
            try:
                frame, used = doc_frame(_scan(f, infer), where=f"{f}: ", **fields)
                for b in _batches(frame):
                    one.add_docs(b)
                break
            except pl.exceptions.ComputeError:
                if infer is None or f.lower().endswith(".parquet"):
                    raise
        partial.merge(one)
    return used


def _scan_kind(root: str, files: list[str], partial: Partial, kind: str) -> None:
    """Stream the ledger or quarantine shards into the partial, with each row's index in its file."""
    add = partial.add_ledger if kind == "ledger" else partial.add_quarantine
    for rel in files:
        lf = pl.scan_parquet(f"{root}/{rel}").with_row_index("row")
        for b in _batches(lf):
            add(b, rel)


# ---------------------------------------------------------------- a curate output


def _read_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def _files(root: str, manifest: dict | None, kind: str) -> list[str]:
    """Relative paths of a kind's shards: from the manifest, else whatever is on disk."""
    if manifest and kind in manifest.get("outputs", {}):
        return [e["file"] for e in manifest["outputs"][kind]]
    return sorted(os.path.relpath(p, root) for p in glob.glob(f"{root}/{kind}/*.parquet"))


def _stage_order(stage: str) -> int:
    return schema.STAGES.index(stage) if stage in schema.STAGES else len(schema.STAGES)


def language_keep(s: dict, stages: list[str]) -> dict:
    """Per language and stage: documents in, removed, and the keep rate. A language's documents
    entering a stage are those kept at the end plus those removed by it or a later stage (the
    ledger row carries the language langid gave; before langid, ``unknown``)."""
    by_stage = s["removed"]["by_stage_language"]
    out = {}
    for lang in sorted(set(s["documents"]["by_language"]) | {x for v in by_stage.values() for x in v}):
        left, rows = s["documents"]["by_language"].get(lang, 0), {}
        for st in reversed(stages):
            removed = by_stage.get(st, {}).get(lang, 0)
            left += removed
            rows[st] = {"docs_in": left, "removed": removed, "keep_rate": (left - removed) / left if left else None}
        out[lang] = {st: rows[st] for st in stages}
    return out


def funnel(counts: dict | None, stats: dict, s: dict) -> list[dict]:
    """Documents in/out per stage, from the manifest counts or, without them, the ledger."""
    removed = {st: e["total"] for st, e in s["removed"]["by_stage"].items()}
    out = []
    if counts:
        for st in sorted(counts, key=_stage_order):
            c = counts[st]
            e = {"stage": st, "docs_in": c["docs_in"], "docs_out": c["docs_out"], "removed": sum(c["removed"].values()),
                 "quarantined": c.get("quarantined", 0), "bytes_out": c.get("bytes_out"),
                 "rewrites": c.get("rewrites", {}), "ids_renamed": c.get("ids_renamed", 0)}
            tok = next((stats[k] for k in (f"{st}.tokens", f"{st}.mix_tokens") if isinstance(stats.get(k), int)), None)
            if tok is not None:
                e["tokens_out"] = tok
            out.append(e)
        return out
    docs = s["documents"]["total"]
    for st in sorted(set(removed) | {"ingest"}, key=_stage_order, reverse=True):
        q = s["quarantine"]["total"] if st == "ingest" else 0
        out.insert(0, {"stage": st, "docs_in": docs + removed.get(st, 0) + q, "docs_out": docs, "removed": removed.get(st, 0), "quarantined": q})
        docs += removed.get(st, 0) + q
    return out


def checks(fun: list[dict], s: dict, from_manifest: bool, tok_manifest: dict | None) -> list[dict]:
    """Every record accounted for: the manifest's counts against the rows actually written."""
    if not from_manifest:
        return []
    removed = {st: e["total"] for st, e in s["removed"]["by_stage"].items()}
    out = [{"check": f"ledger rows of {e['stage']} = removed by {e['stage']}", "expected": e["removed"], "found": removed.get(e["stage"], 0)} for e in fun]
    if fun:
        out.append({"check": "text rows = documents out of the last stage", "expected": fun[-1]["docs_out"], "found": s["documents"]["total"]})
        out.append({"check": "quarantine rows = quarantined at ingest", "expected": sum(e["quarantined"] for e in fun), "found": s["quarantine"]["total"]})
    if tok_manifest and not tok_manifest.get("packed") and s["tokens"] and s["tokens_written"] is not None:
        out.append({"check": "tokens in tokens/ = num_tokens × repeat of the text", "expected": s["tokens_written"], "found": s["tokens"]["in_mix"]})
    for c in out:
        c["ok"] = c["expected"] == c["found"]
    return out


def target_mix(tok_manifest: dict | None, manifest: dict | None, domains) -> dict | None:
    """The target token fraction per domain: tokens/manifest.json's mix, else rebalance's stats
    (``rebalance.mix.<domain>.target``), else the config's ``rebalance.targets``; None if none."""
    mix = (tok_manifest or {}).get("mix") or {}
    t = {d: m["target"] for d, m in mix.items() if isinstance(m, dict) and isinstance(m.get("target"), (int, float))}
    stats = (manifest or {}).get("stats") or {}
    t = t or {d: stats[f"rebalance.mix.{d}.target"] for d in domains if f"rebalance.mix.{d}.target" in stats}
    t = t or (((manifest or {}).get("config") or {}).get("rebalance") or {}).get("targets") or {}
    total = sum(t.values())
    return {d: w / total for d, w in sorted(t.items())} if total > 0 else None


def domain_mix(s: dict, target: dict | None) -> dict:
    if s["tokens"]:
        measure, amounts = "tokens", s["tokens"]["in_mix_by_domain"]
    else:
        measure, amounts = "characters", s["characters"]["by_domain"]
    total = sum(amounts.values()) or 1
    return {"measure": measure, "achieved": {d: amounts.get(d, 0) / total for d in s["domains"]}, "target": target}


def _tokens_written(tok_manifest: dict | None) -> int | None:
    v = ((tok_manifest or {}).get("tokens") or {}).get("total")
    return v if isinstance(v, int) else None


def inside_documents(stats: dict) -> dict | None:
    """What the stages cut out of documents they kept (line dedup, decontamination's cut mode)
    and the evaluation sets decontamination used, from the run's stats."""
    keys = ("linededup.docs_changed", "linededup.lines_removed", "linededup.chars_removed", "linededup.chars_in",
            "linededup.frequent_lines", "decontaminate.eval_items", "decontaminate.eval_items_too_short",
            "decontaminate.eval_ngrams", "decontaminate.cut_docs", "decontaminate.cut_chars")
    out = {k: stats[k] for k in keys if isinstance(stats.get(k), int)}
    if not out:
        return None
    if out.get("linededup.chars_in"):
        out["linededup.chars_removed_share"] = out.get("linededup.chars_removed", 0) / out["linededup.chars_in"]
    return out


def audit_output(root: str, examples: int = EXAMPLES, top: int = 25) -> dict:
    """The summary of a curate output directory (tokens, ledger stages and manifest optional)."""
    root = root.rstrip("/")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: no such directory")
    manifest = _read_json(f"{root}/{output.MANIFEST}")
    run = _read_json(f"{root}/stats/run.json") or {}
    tok_manifest = _read_json(f"{root}/tokens/manifest.json")
    warnings = [] if manifest else [f"{output.MANIFEST} is missing: not a finished curate output; the funnel is rebuilt from the ledger"]
    partial = Partial(examples)
    text = _files(root, manifest, "text")
    audit_files([f"{root}/{f}" for f in text], partial, text="text", url="url", language="language")
    _scan_kind(root, _files(root, manifest, "ledger"), partial, "ledger")
    _scan_kind(root, _files(root, manifest, "quarantine"), partial, "quarantine")
    s = partial.summary(top)
    counts = (manifest or {}).get("counts") or run.get("counts")
    fun = funnel(counts, (manifest or {}).get("stats") or run.get("stats") or {}, s)
    s.update(inside_documents=inside_documents((manifest or {}).get("stats") or run.get("stats") or {}))
    s.update(tokens_written=_tokens_written(tok_manifest))
    s.update(
        format=FORMAT,
        kind="curate",
        source=os.path.abspath(root),
        files={"text": len(text), "ledger": len(_files(root, manifest, "ledger")), "quarantine": len(_files(root, manifest, "quarantine"))},
        funnel=fun,
        checks=checks(fun, s, bool(counts), tok_manifest),
        language_keep=language_keep(s, [e["stage"] for e in fun if e["stage"] != "ingest"]),
        domain_mix=domain_mix(s, target_mix(tok_manifest, manifest or run, s["domains"])),
        run={k: (manifest or {}).get(k) for k in ("config_hash", "format")} | {"stages": [e["stage"] for e in fun]},
        warnings=warnings,
    )
    return s


def audit_corpus(globs: list[str], examples: int = EXAMPLES, top: int = 25, **fields) -> dict:
    """The same statistics for any Parquet / JSONL corpus (no funnel, ledger or quarantine)."""
    files = []
    for g in globs:
        found = [g] if "://" in g else sorted(p for p in glob.glob(g, recursive=True) if os.path.isfile(p))
        if os.path.isdir(g):
            found = sorted(p for p in glob.glob(f"{g}/**/*", recursive=True) if os.path.isfile(p) and not os.path.basename(p).startswith("."))
        if not found:
            raise FileNotFoundError(f"--corpus {g!r} matches no files")
        files += found
    partial = Partial(examples)
    used = audit_files(files, partial, **fields)
    s = partial.summary(top)
    s.update(format=FORMAT, kind="corpus", source=", ".join(globs), files={"documents": len(files)}, fields=used,
             funnel=None, checks=[], domain_mix=domain_mix(s, None), tokens_written=None, run=None, warnings=[])
    return s


def write(summary: dict, out: str) -> tuple[str, str]:
    """Write OUT/stats/summary.json and OUT/report.html; return their paths."""
    from curate.audit import report

    from curate import commit

    output.write_atomic(out, "stats/summary.json", output.json_bytes(summary))
    output.write_atomic(out, "report.html", report.render(summary).encode("utf-8"))
    if summary.get("kind") == "curate" and os.path.abspath(out) == summary.get("source"):
        commit.record_derived(out, ["report.html", "stats/summary.json"])  # a later run may replace them
    return os.path.join(out, "stats", "summary.json"), os.path.join(out, "report.html")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="curate audit", description="Statistics and an HTML report for a curate output directory or any Parquet/JSONL corpus.")
    ap.add_argument("dir", nargs="?", help="a curate output directory (report.html and stats/summary.json go into it)")
    ap.add_argument("--corpus", action="append", metavar="GLOB", help="audit any Parquet or JSONL files instead (repeatable)")
    ap.add_argument("--text-field", help=f"text column for --corpus (default: first of {', '.join(TEXT_FIELDS)}); dotted names reach nested fields")
    ap.add_argument("--url-field", help=f"url column (default: first of {', '.join(URL_FIELDS)})")
    ap.add_argument("--language-field", help=f"language column (default: first of {', '.join(LANGUAGE_FIELDS)})")
    ap.add_argument("--domain", default="corpus", help="domain name for --corpus files without a domain column")
    ap.add_argument("--output", help="where to write report.html and stats/summary.json (default: DIR, or ./curate-audit)")
    ap.add_argument("--examples", type=int, default=EXAMPLES, help="removed examples shown per rule")
    ap.add_argument("--top", type=int, default=25, help="top hosts and languages listed")
    ns = ap.parse_args(argv)
    if bool(ns.dir) == bool(ns.corpus):
        ap.error("give either a curate output DIR or --corpus GLOB")
    try:
        if ns.dir:
            s = audit_output(ns.dir, ns.examples, ns.top)
        else:
            s = audit_corpus(ns.corpus, ns.examples, ns.top, text=ns.text_field, url=ns.url_field, language=ns.language_field, domain=ns.domain)
        paths = write(s, ns.output or ns.dir or "curate-audit")
    except (FileNotFoundError, ValueError, pl.exceptions.PolarsError) as e:
        print(f"curate audit: {e}", file=sys.stderr)
        return 2
    for w in s["warnings"]:
        print(f"curate audit: warning: {w}", file=sys.stderr)
    for c in s["checks"]:
        if not c["ok"]:
            print(f"curate audit: check failed: {c['check']}: expected {c['expected']}, found {c['found']}", file=sys.stderr)
    d = s["documents"]
    print(f"{d['total']:,} documents ({', '.join(f'{k} {v:,}' for k, v in sorted(d['by_domain'].items()))}); "
          f"{s['removed']['total']:,} removed; {s['quarantine']['total']:,} quarantined")
    print(f"summary: {paths[0]}\nreport:  {paths[1]}")
    return 0
