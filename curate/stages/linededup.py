"""The ``linededup`` stage: remove lines that recur across many documents (boilerplate).

Crawled pages share navigation, footers, cookie notices and "related posts" blocks that survive
extraction and document dedup. As in CCNet, a line is identified by a hash of its normalised
text (dedup's normalisation: case, punctuation, digits and spacing folded) and counted across
the corpus; a line found in more than ``max_docs`` documents is removed from all of them.

The count goes through a shuffle of compact rows, never text (``pipelines/linededup.py``):

1. per batch, ``line_rows``: one (hash, id) row per distinct line of each document;
2. rows grouped by hash shard; per shard, ``frequent_rows``: the rows whose hash occurs in
   more than ``max_docs`` documents (every document a frequent line must leave);
3. those rows joined with the documents by id shard; per batch, ``apply`` drops the lines
   whose hash is frequent and counts what it removed (``linededup_lines``,
   ``linededup_chars`` and an ``edits`` entry ``boilerplate_lines`` per document, and in the stats).

A document left with fewer than ``min_words`` words (space-separated languages) or
``min_chars`` characters goes to the ledger (``linededup_min_words``, ``linededup_min_chars``):
the filter's minimums applied to what is left. Only ``domains`` (web by default) take part:
repeated lines are normal in code (imports, braces) and books (chapter headings).
``max_docs`` is a count, so it grows with the corpus: CCNet dedups within shards of ~5 GB.
Line hashes are 64 bits (the first half of dedup's exact key): at 1e10 distinct lines a few
pairs collide, and a collision can at worst remove one unique line that shares a hash with a
frequent one (and its document, if that leaves it below the minimums).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema
from curate.config import Check
from curate.stages.dedup.exact import keys_as_uint64, keys_from_normalized
from curate.stages.dedup.normalize import normalize
from curate.stages.filters import NONSPACE
from curate.stages.filters.rules import split_words

_ROW_SCHEMA = pa.schema([("hash", pa.uint64()), ("id", pa.string())])


class LineDedupStage:
    name = "linededup"
    DEFAULTS = {
        "domains": ["web"],
        "max_docs": 5,  # a line in more documents than this is boilerplate, removed everywhere
        "min_words": 50,  # what is left must still pass filter.gopher_quality.min_words ...
        "min_chars": 200,  # ... and this many characters (the test for languages without spaces)
        "join_shards": 0,  # 0 = output.id_partitions(run.shards)
        "bucket_shards": 0,  # shards of the line-hash shuffle; 0 = join_shards
    }
    CHECKS = {"domains": Check(choices=schema.DOMAINS)}  # a misspelt domain would match no document

    def __init__(self, cfg: dict | None = None):
        c = {**self.DEFAULTS, **(cfg or {})}
        for k in ("max_docs", "min_words", "min_chars"):
            if not isinstance(c[k], int) or c[k] < 0:
                raise ValueError(f"{k}: expected a whole number >= 0, got {c[k]!r}")
        if c["max_docs"] < 1:
            raise ValueError("max_docs: must be >= 1 (a line in every document is still in one)")
        self.domains = list(c["domains"])
        self.max_docs, self.min_words, self.min_chars = c["max_docs"], c["min_words"], c["min_chars"]
        self.join_shards, self.bucket_shards = c["join_shards"], c["bucket_shards"]
        self.nonspace = frozenset(NONSPACE)

    def setup(self):
        pass

    def _lines(self, batch: pa.RecordBatch):
        """(rows of the batch that take part, their lines as a ListArray, each line's hash
        (0 for a line that is never counted))."""
        on = pc.is_in(batch.column("domain"), value_set=pa.array(self.domains, pa.string())).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(on)
        lines = pc.split_pattern(batch.column("text").take(pa.array(rows)), "\n")
        norm = normalize(pc.list_flatten(lines))
        h = keys_as_uint64(keys_from_normalized(norm))[:, 0].copy()
        # a line without letters (empty, "2016", "35.2 -97.4": digits fold to 0) is never counted:
        # distinct numbers would meet as one line
        h[pc.match_substring_regex(norm, "^[0 ]*$").to_numpy(zero_copy_only=False)] = 0
        return rows, lines, h

    def line_rows(self, batch: pa.RecordBatch) -> pa.Table:
        """One (hash, id) row per distinct non-empty line of each taking-part document."""
        rows, lines, h = self._lines(batch)
        doc = pc.list_parent_indices(lines).to_numpy(zero_copy_only=False)
        ids = pc.cast(batch.column("id"), pa.string()).take(pa.array(rows)).take(pa.array(doc))
        t = pa.table({"hash": pa.array(h), "id": ids}, schema=_ROW_SCHEMA).filter(pa.array(h != 0))
        return t.group_by(["hash", "id"]).aggregate([]).select(["hash", "id"])

    def frequent_rows(self, rows: pa.Table) -> pa.Table:
        """The rows of hashes found in more than ``max_docs`` documents (rows of one hash shard:
        all rows of a hash are here). A row seen twice (a retried bundle) counts once."""
        rows = rows.group_by(["hash", "id"]).aggregate([]).select(["hash", "id"])
        counts = rows.group_by("hash").aggregate([("id", "count")])
        hot = counts.filter(pc.greater(counts.column("id_count"), self.max_docs)).column("hash")
        return rows.filter(pc.is_in(rows.column("hash"), value_set=hot.combine_chunks()))

    def apply(self, batch: pa.RecordBatch, frequent: pa.Table):
        """(kept documents without their frequent lines, with ``linededup_lines`` and
        ``linededup_chars``; ledger rows of the documents too short afterwards; stats)."""
        n = batch.num_rows
        nlines, nchars = np.zeros(n, np.int64), np.zeros(n, np.int64)
        texts = None
        # only the documents the frequent rows name have lines to lose: the others are not re-read
        touched = np.flatnonzero(pc.is_in(pc.cast(batch.column("id"), pa.string()),
                                          value_set=frequent.column("id").combine_chunks()).to_numpy(zero_copy_only=False)) \
            if frequent.num_rows else np.zeros(0, np.int64)
        if len(touched):
            hot = pc.unique(frequent.column("hash").combine_chunks())
            sub_rows, lines, h = self._lines(batch.take(pa.array(touched)))
            rows = touched[sub_rows]
            drop = pc.is_in(pa.array(h), value_set=hot).to_numpy(zero_copy_only=False)
            doc = pc.list_parent_indices(lines).to_numpy(zero_copy_only=False)
            flat = pc.list_flatten(lines)
            nlines[rows] = np.bincount(doc[drop], minlength=len(rows))
            texts = batch.column("text").to_pylist()
            keep_lines = flat.filter(pa.array(~drop)).to_pylist()
            bounds = np.searchsorted(doc[~drop], np.arange(len(rows) + 1))
            for k, r in enumerate(rows.tolist()):
                if nlines[r]:
                    new = "\n".join(keep_lines[bounds[k] : bounds[k + 1]])
                    nchars[r] = len(texts[r]) - len(new)
                    texts[r] = new
        if texts is not None:
            i = batch.schema.get_field_index("text")
            batch = batch.set_column(i, batch.schema.field(i), pa.array(texts, pa.large_string()))
        batch = schema.with_column(batch, "linededup_lines", pa.array(nlines.astype(np.int32)))
        batch = schema.with_column(batch, "linededup_chars", pa.array(nchars))
        changed = np.flatnonzero(nlines)
        batch = schema.add_edits(batch, changed, self.name, "boilerplate_lines", nlines[changed], nchars[changed])
        rule, value, threshold = self._too_short(batch, nlines > 0)
        stats = {
            "linededup.chars_in": self._chars_in(batch) + int(nchars.sum()),  # of the domains taking part
            "linededup.docs_changed": int((nlines > 0).sum()),
            "linededup.lines_removed": int(nlines.sum()),
            "linededup.chars_removed": int(nchars.sum()),
        }
        # a document too short after the cut: its ledger chars are its length as read, cut lines too
        read = pc.add(pc.utf8_length(batch.column("text")).cast(pa.int64()), pa.array(nchars))
        kept, ledger = schema.split(batch, pa.array([r is None for r in rule]), self.name, rule, value, threshold, chars=read)
        return kept, ledger, stats

    def _chars_in(self, batch: pa.RecordBatch) -> int:
        on = pc.is_in(batch.column("domain"), value_set=pa.array(self.domains, pa.string()))
        return int(pc.sum(pc.utf8_length(batch.column("text").filter(on))).as_py() or 0)

    def _too_short(self, batch: pa.RecordBatch, changed: np.ndarray):
        n = batch.num_rows
        rule, value, threshold = [None] * n, [None] * n, [None] * n
        idx = np.flatnonzero(changed)
        if not len(idx):
            return rule, value, threshold
        texts = batch.column("text").take(pa.array(idx)).to_pylist()
        langs = batch.column("language").take(pa.array(idx)).to_pylist()
        for i, t, lang in zip(idx.tolist(), texts, langs):
            spaced = not (lang and lang.split("_")[0].lower() in self.nonspace)
            words = len(split_words(t)) if spaced else None
            if spaced and words < self.min_words:
                rule[i], value[i], threshold[i] = "linededup_min_words", float(words), float(self.min_words)
            elif len(t) < self.min_chars:
                rule[i], value[i], threshold[i] = "linededup_min_chars", float(len(t)), float(self.min_chars)
        return rule, value, threshold
