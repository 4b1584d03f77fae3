"""Corpus audit: the statistics (``Partial``), as ``stats/summary.json`` and ``report.html``.

    curate audit DIR [--output OUT]                  a curate output (text, ledger, quarantine,
                                                     manifest, stats, tokens when present)
    curate audit --corpus GLOB [--text-field F] [--url-field F] [--language-field F]
                 [--domain NAME] [--output OUT]      any Parquet / JSONL corpus
    curate audit DIR --why KEY                       where a document went, and why (lookup.py)

What it reports: the stage funnel (documents; tokens when tokenize ran), removals by stage,
rule and domain with the removed documents of smallest id per rule (ledger file, row and id),
quarantine reasons, documents per domain and language, the domain mix (against the target
in ``tokens.json``, rebalance's stats or its config when there is one), document lengths
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
grows with the largest JSONL file. DIR is a local directory; of ``tokens/`` its
``manifest.json`` is read (the target mixture, tokens in total) and the shards only hashed:
every file the manifests list is checked against its size and sha256 (``scan.integrity``,
streamed in 1 MiB blocks), one more read of the output at disk speed. A Beam version
is ``Create(files) | ParDo(file -> Partial) | CombineGlobally(CombineFn)``, the CombineFn
being ``create_accumulator=Partial``, ``add_input=Partial.add_docs`` (of a batch normalized by
``doc_frame``; ``add_ledger``/``add_quarantine`` for those rows), ``merge_accumulators=
Partial.merge`` and ``extract_output=Partial.summary``. Per statistic:

* counts per domain, language, source, stage, rule, reason; sums of characters and tokens: exact;
  memory grows with the number of distinct keys (tens to hundreds), not with the corpus.
* length percentiles: ``LogHist``, counts in fixed logarithmic bins (116 a decade, each 2% wider than the
  last). Bin counts add, so merging is exact; a percentile (nearest rank, like DuckDB's
  ``quantile_disc``) is within ``REL_ERROR`` (1%) of the true value; at most ~1,500 bins
  per domain whatever the corpus size. Minimum, maximum and mean are exact. The length
  histogram's quarter-decade bins are sums of whole fine bins: their counts are exact.
* quality-score histogram (20 bins on [0, 1]) and duplicate-group sizes (power-of-two
  buckets): exact. Per language: documents the quality stage kept (those in text plus those a
  later stage, rebalance, removed: ledger rows of a scored domain) and removed, their mean
  scores (sums and counts; the kept mean over the kept documents still in text, as a later
  stage's ledger row has no score) and the highest cutoff a removal names (the ledger's
  threshold: a language's own cutoff when the top fraction is taken per language): exact.
* top hosts: ``TopK``, a Misra-Gries summary of at most ``TOPK_CAPACITY`` counters, merged
  by adding and cutting back to the capacity. A reported count is at most ``error`` below
  the truth (``error`` <= documents / (capacity + 1)) and is exact while ``error`` is 0.
* distinct hosts: exact while the top-k summary never dropped a host; beyond that a
  HyperLogLog (2^14 registers, ~0.8% standard error) merged by register-wise max. Its hash
  is polars' (stable within one polars version: merge partials made by the same version).
* removed examples: the ``k`` smallest ids per (stage, rule); merge keeps the ``k`` smallest.
* line dedup's cuts in the documents of text/ (``linededup_lines``, ``linededup_chars``): exact
  sums. The stage's own stats also count the documents it then removed as too short.
* the changes inside the documents of text/ (``edits``: filter rewrites, line dedup,
  decontamination's cuts): exact sums per (stage, rule).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from curate import schema
from curate.audit.sketches import HASH_SEED, HLL, LogHist, REL_ERROR, TopK


QUALITY_BINS = 20


BATCH_ROWS = 65536


EXAMPLES = 3


HOST_RE = r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://|//)?(?:[^@/?#]*@)?([^:/?#\s]+)"  # the scheme is optional (Dolma)


HOST_DEFINITION = "lower-cased host of the url column, without a leading 'www.'"


UNKNOWN = "unknown"  # the domain or source of rows that have none (a --corpus file's)
UNKNOWN_LANGUAGE = schema.UNKNOWN_LANGUAGE  # as the tokens manifest names it
# Ingest rules whose ledger row holds the snippet of a skipped file read no further (a source
# tree's vendored, lock and oversized files: curate.readers.code.SKIPPED_TEXT_CHARS; a file read
# whole, minified or in no known language, has its length): its chars is at most that, so a
# source's characters removed is a lower bound where it has such rows.
SNIPPET_RULES = ("vendored", "lock_file", "oversized_file")
# Ingest rules of a WARC response skipped without reading its body (curate.readers.warc): its chars
# is 0, its text unknown (its Content-Length counts bytes, a page's markup or an image's, not
# characters), so a source's characters removed is a lower bound where it has such rows.
UNREAD_RULES = ("http_status", "non_html_content")
# Rules whose row held the snippet's length in outputs written before 2026-12-05 and the file's
# since: a row of exactly the snippet's length is counted as one (a file that long: "≥" holds).
WHOLE_SINCE_RULES = ("minified", "unknown_language")


TEXT_FIELDS = ("text", "content", "raw_content")


URL_FIELDS = ("url", "metadata.url", "metadata.warc_url", "warc_url")


LANGUAGE_FIELDS = ("language", "lang", "metadata.language", "metadata.lang")


FORMAT = "curate-audit/2"  # 2: tokens.total -> tokens.unique (tokens.json's "total" is in_mix)
FORMATS = ("curate-audit/1", FORMAT)  # summaries curate audit wrote, replaced by a new one


AFTER_QUALITY = schema.STAGES[schema.STAGES.index("quality") + 1 :]  # their ledger rows were kept by quality


def _rows(df: pl.DataFrame, keys: list[str], **aggs: pl.Expr):
    """(key tuple, {agg: value}) per group of df."""
    g = df.group_by(keys).agg(n=pl.len(), **aggs)
    for r in g.iter_rows(named=True):
        yield tuple(r[k] for k in keys), r


def _source_key(df: pl.DataFrame) -> pl.Expr:
    """ "domain/source" of each row (an input's --source; "unknown" where a corpus has none)."""
    src = pl.col("source").cast(pl.String) if "source" in df.columns else pl.lit(None, pl.String)
    return pl.col("domain").cast(pl.String).fill_null(UNKNOWN) + "/" + src.fill_null(UNKNOWN)


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
    mix_tokens_lang: Counter = field(default_factory=Counter)  # language -> num_tokens * repeat
    mix_docs: Counter = field(default_factory=Counter)  # domain -> sum of repeat
    length: dict = field(default_factory=dict)  # domain -> LogHist of characters
    token_length: dict = field(default_factory=dict)  # domain -> LogHist of num_tokens
    quality: dict = field(default_factory=dict)  # domain -> QUALITY_BINS counts
    quality_sum: Counter = field(default_factory=Counter)  # domain -> sum of scores
    # per language (the quality stage ranks within each): kept scored documents and their score
    # sum; ledger rows of the quality stage, their score sum and the highest threshold they name
    quality_kept: Counter = field(default_factory=Counter)
    quality_kept_sum: Counter = field(default_factory=Counter)
    quality_removed: Counter = field(default_factory=Counter)
    quality_removed_sum: Counter = field(default_factory=Counter)
    quality_cutoff: dict = field(default_factory=dict)
    # what the quality stage kept that a later stage removed: (domain, language) -> ledger rows,
    # counted for the domains it scored (a score in text, or a quality ledger row)
    after_quality: Counter = field(default_factory=Counter)
    quality_domains: set = field(default_factory=set)
    dups: Counter = field(default_factory=Counter)  # (domain, bucket) -> documents
    # what line dedup cut from the documents in text/ (its stats count also those it then removed)
    ld_output: Counter = field(default_factory=Counter)  # docs_changed, lines_removed, chars_removed
    # the text's ``edits`` column: "documents" changed (the key present: the output has the column),
    # (stage, rule, "documents" | "count" | "chars") -> sums; "not_recorded": documents of files without it
    edited: Counter = field(default_factory=Counter)
    hosts: TopK = field(default_factory=TopK)
    hll: HLL = field(default_factory=HLL)
    no_host: int = 0
    removed: Counter = field(default_factory=Counter)  # (stage, rule, domain) -> ledger rows
    removed_lang: Counter = field(default_factory=Counter)  # (stage, language, rule) -> ledger rows
    # langid's removals under a label the model was unsure of (below that label's threshold):
    # mostly text in a language it does not know, not text in that language
    unsure_lang: Counter = field(default_factory=Counter)  # language -> ledger rows
    # the other stages' removals under a label scored below its threshold (the ledger's
    # language_score; ``unsure``, set by the scan from the run's filter.trusted_language_score)
    unsure_stage_lang: Counter = field(default_factory=Counter)  # (stage, language) -> ledger rows
    examples: dict = field(default_factory=dict)  # (stage, rule) -> smallest-id ledger rows
    quarantined: Counter = field(default_factory=Counter)  # (reason, domain) -> rows
    quarantine_examples: dict = field(default_factory=dict)  # reason -> first rows by path, offset
    # per "domain/source" (an input's --source): kept documents, characters, tokens in the mix;
    # ledger rows per (source, "stage/rule"); quarantine rows
    src_docs: Counter = field(default_factory=Counter)
    src_chars: Counter = field(default_factory=Counter)
    src_mix_tokens: Counter = field(default_factory=Counter)
    src_removed: Counter = field(default_factory=Counter)
    src_removed_chars: Counter = field(default_factory=Counter)  # source -> the ledger's chars, summed
    src_snippets: Counter = field(default_factory=Counter)  # source -> ledger rows of SNIPPET_RULES
    src_unread: Counter = field(default_factory=Counter)  # source -> ledger rows of UNREAD_RULES
    src_quarantined: Counter = field(default_factory=Counter)

    # -- adding batches

    def add_docs(self, df: pl.DataFrame) -> "Partial":
        """Add a batch with columns domain, language, host, chars [, source, tokens, repeat, quality, dup]."""
        cols = set(df.columns)
        df = df.with_columns(pl.col("language").fill_null(UNKNOWN_LANGUAGE), pl.col("domain").fill_null(UNKNOWN), src=_source_key(df))
        for (d, lang), r in _rows(df, ["domain", "language"]):
            self.docs[d, lang] += r["n"]
        for (src,), r in _rows(df, ["src"], c=pl.col("chars").sum()):
            self.src_docs[src] += r["n"]
            self.src_chars[src] += r["c"]
        self._add_hist(df, "chars", self.length)
        for (d,), r in _rows(df, ["domain"], s=pl.col("chars").sum()):
            self.chars[d] += r["s"]
        if "tokens" in cols:
            rep = pl.col("repeat").fill_null(1) if "repeat" in cols else pl.lit(1)
            t = df.filter(pl.col("tokens").is_not_null())
            for (d,), r in _rows(t, ["domain"], s=pl.col("tokens").sum(), m=(pl.col("tokens") * rep).sum()):
                self.tokens[d] += r["s"]
                self.mix_tokens[d] += r["m"]
            for (lang,), r in _rows(t, ["language"], m=(pl.col("tokens") * rep).sum()):
                self.mix_tokens_lang[lang] += r["m"]
            for (src,), r in _rows(t, ["src"], m=(pl.col("tokens") * rep).sum()):
                self.src_mix_tokens[src] += r["m"]
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
            for (lang,), r in _rows(q, ["language"], s=pl.col("quality").cast(pl.Float64).sum()):
                self.quality_kept[lang] += r["n"]
                self.quality_kept_sum[lang] += r["s"]
            self.quality_domains.update(q["domain"].unique().to_list())
        if "dup" in cols:
            g = df.filter(pl.col("dup").is_not_null()).group_by("domain", "dup").len()
            buckets = np.frexp(np.maximum(g["dup"].to_numpy().astype(np.float64) - 1, 0))[1]  # bit_length(size-1)
            for d, b, n in zip(g["domain"].to_list(), buckets.tolist(), g["len"].to_list()):
                self.dups[d, int(b)] += n
        if "ld_lines" in cols:
            self.ld_output["docs_changed"] += int((df["ld_lines"] > 0).sum())
            self.ld_output["lines_removed"] += int(df["ld_lines"].sum() or 0)
            self.ld_output["chars_removed"] += int(df["ld_chars"].sum() or 0)
        if "edits" in cols:
            self.edited["documents"] += int((df["edits"].list.len().fill_null(0) > 0).sum())
            e = df.select(pl.col("edits").explode()).unnest("edits").drop_nulls("stage")
            for (stage, rule), r in _rows(e, ["stage", "rule"], k=pl.col("count").sum(), c=pl.col("chars").sum()):
                self.edited[stage, rule, "documents"] += r["n"]
                self.edited[stage, rule, "count"] += r["k"]
                self.edited[stage, rule, "chars"] += r["c"]
        else:  # a file of an output before the column (--corpus mixing them): unknown, not unchanged
            self.edited["not_recorded"] += df.height
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
        for (src, rule), r in _rows(df.with_columns(src=_source_key(df), rule=pl.col("stage") + "/" + pl.col("rule")), ["src", "rule"]):
            self.src_removed[src, rule] += r["n"]
        if "chars" in df.columns:  # ledgers of older runs have no chars
            for (src,), r in _rows(df.with_columns(src=_source_key(df)), ["src"], c=pl.col("chars").sum()):
                self.src_removed_chars[src] += r["c"]
        from curate.readers.code import SKIPPED_TEXT_CHARS

        older = pl.col("rule").is_in(WHOLE_SINCE_RULES) & (pl.col("chars") == SKIPPED_TEXT_CHARS) if "chars" in df.columns else False
        snippets = df.filter((pl.col("stage") == "ingest") & (pl.col("rule").is_in(SNIPPET_RULES) | older))
        for (src,), r in _rows(snippets.with_columns(src=_source_key(snippets)), ["src"]):
            self.src_snippets[src] += r["n"]
        unread = df.filter((pl.col("stage") == "ingest") & pl.col("rule").is_in(UNREAD_RULES))
        for (src,), r in _rows(unread.with_columns(src=_source_key(unread)), ["src"]):
            self.src_unread[src] += r["n"]
        for (s, lang, r_), r in _rows(df.with_columns(pl.col("language").fill_null(UNKNOWN_LANGUAGE)), ["stage", "language", "rule"]):
            self.removed_lang[s, lang, r_] += r["n"]
        unsure = df.filter((pl.col("stage") == "langid") & (pl.col("rule") == "language_score_below_threshold"))
        for (lang,), r in _rows(unsure.with_columns(pl.col("language").fill_null(UNKNOWN_LANGUAGE)), ["language"]):
            self.unsure_lang[lang] += r["n"]
        if "unsure" in df.columns:  # ledgers of older runs have no language_score
            later = df.filter((pl.col("stage") != "langid") & pl.col("unsure")).with_columns(pl.col("language").fill_null(UNKNOWN_LANGUAGE))
            for (st, lang), r in _rows(later, ["stage", "language"]):
                self.unsure_stage_lang[st, lang] += r["n"]
        q = df.filter(pl.col("stage") == "quality").with_columns(pl.col("language").fill_null(UNKNOWN_LANGUAGE))
        self.quality_domains.update(q["domain"].unique().to_list())
        later = df.filter(pl.col("stage").is_in(AFTER_QUALITY)).with_columns(pl.col("language").fill_null(UNKNOWN_LANGUAGE))
        for (d, lang), r in _rows(later, ["domain", "language"]):
            self.after_quality[d, lang] += r["n"]
        for (lang,), r in _rows(q, ["language"], s=pl.col("value").sum(), t=pl.col("threshold").max()):
            self.quality_removed[lang] += r["n"]
            self.quality_removed_sum[lang] += r["s"] or 0.0
            if r["t"] is not None:
                self.quality_cutoff[lang] = max(self.quality_cutoff.get(lang, r["t"]), r["t"])
        cols = ["id", "source_id", "row", "domain", "url", "value", "threshold", "kept_id", "path", "offset", "snippet",
                "language", "language_score"]
        cols = [c for c in cols if c in df.columns]  # source_id, language_score: absent from ledgers of older runs
        head = df.sort("id").group_by("stage", "rule", maintain_order=True).head(self.examples_k)
        for row in head.select("stage", "rule", *cols).iter_rows(named=True):
            ex = {k: _clean(row[k]) for k in cols} | {"file": file}
            self._keep_smallest(self.examples, (row["stage"], row["rule"]), [ex], "id")
        return self

    def add_quarantine(self, df: pl.DataFrame, file: str) -> "Partial":
        for (reason, d), r in _rows(df, ["reason", "domain"]):
            self.quarantined[reason, d or UNKNOWN] += r["n"]
        for (src,), r in _rows(df.with_columns(src=_source_key(df)), ["src"]):
            self.src_quarantined[src] += r["n"]
        head = df.sort("path", "offset").group_by("reason", maintain_order=True).head(self.examples_k)
        for row in head.iter_rows(named=True):
            ex = {k: row.get(k) for k in ("path", "offset", "detail", "source", "domain", "source_id")} | {"file": file}
            self._keep_smallest(self.quarantine_examples, row["reason"], [ex], "path", "offset")
        return self

    def _keep_smallest(self, into: dict, key, rows: list, *order: str) -> None:
        rows = into.get(key, []) + rows
        into[key] = sorted(rows, key=lambda x: tuple(x[o] for o in order))[: self.examples_k]

    # -- merging

    def merge(self, o: "Partial") -> "Partial":
        for name in ("docs", "chars", "tokens", "mix_tokens", "mix_tokens_lang", "mix_docs", "quality_sum", "dups", "removed", "removed_lang", "unsure_lang", "unsure_stage_lang", "quarantined",
                     "quality_kept", "quality_kept_sum", "quality_removed", "quality_removed_sum", "after_quality", "ld_output", "edited",
                     "src_docs", "src_chars", "src_mix_tokens", "src_removed", "src_removed_chars", "src_snippets", "src_unread", "src_quarantined"):
            getattr(self, name).update(getattr(o, name))
        for lang, t in o.quality_cutoff.items():
            self.quality_cutoff[lang] = max(self.quality_cutoff.get(lang, t), t)
        self.quality_domains |= o.quality_domains
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

    def _edits(self) -> dict:
        """The kept documents a stage changed, and per (stage, rule) the entries, matches and
        characters removed (the ``edits`` column, summed)."""
        rules = sorted({k[:2] for k in self.edited if isinstance(k, tuple)})
        return {"documents": self.edited["documents"], "documents_not_recorded": self.edited["not_recorded"],
                "by_rule": [{"stage": st, "rule": ru, **{w: self.edited[st, ru, w] for w in ("documents", "count", "chars")}}
                            for st, ru in rules]}

    def _removed_by_language(self) -> dict:
        """Ledger rows per stage and language, and per stage, language and rule (most first): a
        language's removals, each explained by the rule that made it."""
        by_lang, by_rule = {}, {}
        for (st, lang, rule), n in sorted(self.removed_lang.items()):
            by_lang.setdefault(st, Counter())[lang] += n
            by_rule.setdefault(st, {}).setdefault(lang, Counter())[rule] += n
        return {"by_stage_language": {st: dict(c) for st, c in by_lang.items()},
                "by_stage_language_rule": {st: {lang: dict(c.most_common()) for lang, c in v.items()} for st, v in by_rule.items()}}

    def _unsure_by_stage(self) -> dict:
        """Stage -> language -> removals under a label scored below its threshold (not langid's)."""
        out: dict = {}
        for (st, lang), n in sorted(self.unsure_stage_lang.items()):
            out.setdefault(st, {})[lang] = n
        return out

    def _quality_by_language(self) -> dict:
        """Per language: scored documents kept and removed by the quality stage (kept: also those
        a later stage removed), mean scores (kept: of ``kept_in_output``, the kept documents
        still in text), and the cutoff its removals name (None where it removed none)."""
        later = Counter()
        for (d, lang), n in self.after_quality.items():
            if d in self.quality_domains:
                later[lang] += n
        out = {}
        for lang in sorted(set(self.quality_kept) | set(self.quality_removed) | set(later)):
            k, r = self.quality_kept[lang], self.quality_removed[lang]
            out[lang] = {
                "kept": k + later[lang], "kept_in_output": k, "removed": r,
                "kept_mean": self.quality_kept_sum[lang] / k if k else None,
                "removed_mean": self.quality_removed_sum[lang] / r if r else None,
                "cutoff": self.quality_cutoff.get(lang),
            }
        return out

    def _by_source(self) -> dict:
        """Per "domain/source": documents in (kept + removed + quarantined), kept, the keep rate,
        removals per "stage/rule" ([rule, n] pairs, most first), quarantined, characters kept and
        removed (None from a ledger without chars; a lower bound where files were counted by their
        snippet or WARC records removed unread), tokens in the mix."""
        rules: dict = {}
        for (src, rule), n in self.src_removed.items():
            rules.setdefault(src, Counter())[rule] += n
        out = {}
        for src in sorted(set(self.src_docs) | set(rules) | set(self.src_quarantined)):
            kept, removed, q = self.src_docs[src], sum(rules.get(src, {}).values()), self.src_quarantined[src]
            docs_in = kept + removed + q
            out[src] = {"docs_in": docs_in, "kept": kept, "removed": removed, "quarantined": q,
                        "keep_rate": kept / docs_in if docs_in else None, "characters": self.src_chars[src],
                        "characters_removed": self.src_removed_chars[src] if self.src_removed_chars or not self.src_removed else None,
                        "skipped_files_counted_by_snippet": self.src_snippets[src],
                        "skipped_records_not_read": self.src_unread[src],
                        "tokens_in_mix": self.src_mix_tokens[src] if self.src_mix_tokens else None,
                        "removed_by": [[r, n] for r, n in sorted(rules.get(src, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))]}
        return out

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
                # "unique": text/'s documents each once; "in_mix": every copy rebalance made, what tokens/
                # holds and a training run reads (tokens.json's "total"; "total" here was the former)
                "unique": sum(self.tokens.values()),
                "unique_by_domain": dict(self.tokens),
                "in_mix": sum(self.mix_tokens.values()),
                "in_mix_by_domain": dict(self.mix_tokens),
                "in_mix_by_language": dict(sorted(self.mix_tokens_lang.items(), key=lambda kv: (-kv[1], kv[0]))),
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
                "by_language": self._quality_by_language(),
            }
            if self.quality or self.quality_removed
            else None,
            "linededup_in_output": {k: self.ld_output[k] for k in ("docs_changed", "lines_removed", "chars_removed")}
            if self.ld_output
            else None,
            "edits_in_output": self._edits() if "documents" in self.edited else None,
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
            "removed": {"total": sum(self.removed.values()), "by_stage": removed, **self._removed_by_language(),
                        "langid_unsure_by_language": dict(sorted(self.unsure_lang.items())),
                        "unsure_by_stage_language": self._unsure_by_stage()},
            "quarantine": {"total": sum(self.quarantined.values()), "by_reason": quarantine},
            "sources": self._by_source(),
            "domains": domains,
        }

