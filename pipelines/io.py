"""Reading input shards and writing the output directory, as Beam transforms."""
from __future__ import annotations

import json
import os
import socket

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from curate import ids, output
from curate.readers import read_shard
from curate.readers.common import Limits, changed_since_plan, is_uri, one_open
from pipelines import progress as progress_tally
from pipelines.meter import measure
from pipelines.pool import pooled
from pipelines.spill import ByKey, Loaded, Spiller, SplitFn
from pipelines.common import NAMESPACE, count_rules


class InputNotOnWorker(FileNotFoundError):
    """A local input the launcher listed is not there on the worker reading it (another
    machine, a container without the volume). Without this check each of its files would be
    a read_error quarantine row and the run would succeed on none of its documents. The class
    name is the marker curate.cli finds in a remote runner's error text."""


def check_on_worker(path: str) -> None:
    if not is_uri(path) and not os.path.lexists(path):  # a dangling link is there: a code tree's quarantine row
        raise InputNotOnWorker(
            f"input file {path} was listed at launch but is not on the worker reading it (host {socket.gethostname()}): "
            "deleted since, or a worker on another machine: local paths must be at the same absolute path on every "
            "worker (mount them there), or give the inputs as bucket URIs")


class InputChanged(RuntimeError):
    """An input file rewritten, replaced, cut or deleted between the run's plan and the end of
    its read: its ranges, size and fingerprint are the plan's, its documents the new bytes'
    (or some of each), so the run stops, writing nothing (curate.cli: one line; the class name
    is its marker in a remote runner's error text, as InputNotOnWorker's)."""


def check_unchanged(shard) -> None:
    what = changed_since_plan(shard)
    if what:
        raise InputChanged(f"input file {shard.path} {what} after the run listed it: its documents would mix the file "
                           "as planned and as it is now; run again once it is no longer being written")


class ReadShardFn(beam.DoFn):
    def __init__(self, limits: dict, total_files: int, progress: str | None):
        self.limits, self.total_files, self.progress = limits, total_files, progress  # progress: its folder

    def setup(self):
        self._limits = Limits(**self.limits)
        self._progress = progress_tally.tally(self.progress) if self.progress else None
        self.files = Metrics.counter(NAMESPACE, "ingest.files")
        self.docs = Metrics.counter(NAMESPACE, "ingest.docs_out")
        self.quarantined = Metrics.counter(NAMESPACE, "ingest.quarantined")

    def process(self, shard):
        with one_open():  # a bucket's file opened once for its documents and its fingerprint, its first MiB read once
            yield from self._process(shard)

    def _process(self, shard):
        check_on_worker(shard.path)
        rows = {"docs": 0, "ledger": 0, "quarantine": 0}
        skipped: dict = {}  # records that are not documents, by type (a WARC's requests, resources, ...)
        for kind, batch in read_shard(shard, self._limits, skipped):
            rows[kind] += batch.num_rows
            if kind == "docs":
                self.docs.inc(batch.num_rows)
                yield batch
            else:
                if kind == "ledger":
                    count_rules(batch)
                else:
                    self.quarantined.inc(batch.num_rows)
                yield beam.pvalue.TaggedOutput(kind, batch)
        first = shard.start == 0
        nbytes = 0
        if first:  # one fingerprint per file, not per range
            try:
                entry = output.input_entry(shard)
            except OSError:  # gone since the plan: said as such
                check_unchanged(shard)
                raise
            nbytes = entry["bytes"]
            self.files.inc()
            if skipped:
                entry["skipped_records"] = dict(sorted(skipped.items()))
            # as JSON: Beam's coder writes a str as strict UTF-8, and a name that is not UTF-8 failed the run
            yield beam.pvalue.TaggedOutput("files", output.json_bytes(entry))
        elif skipped:  # a later range of a big JSON Lines file (its comment lines): counted, its file said by the first
            yield beam.pvalue.TaggedOutput("stats", {f"ingest.skipped_records.{k}": n for k, n in skipped.items()})
        # once every byte of it is read (and its fingerprint): a rewrite before or during the read is seen
        check_unchanged(shard)
        if self._progress:
            self._progress.add(ingest__files=int(first), ingest__bytes=nbytes, ingest__docs_out=rows["docs"],
                               ingest__removed=rows["ledger"], ingest__quarantined=rows["quarantine"])

    def finish_bundle(self):
        if self._progress:
            self._progress.flush()


def rebatch(pieces, size: int):
    """Batches of about ``size`` rows from an iterable of batches, holding at most ``size``
    rows (plus one piece) in memory. Which rows share a batch depends on arrival order; no
    stage's result depends on it (per-document work, or sorted before a per-shard step)."""
    buf, n = [], 0
    for b in pieces:
        if b.num_rows:
            buf.append(b)
            n += b.num_rows
        if n >= size:
            yield from _concat(buf, size)
            buf, n = [], 0
    if buf:
        yield from _concat(buf, size)


def _concat(batches, size: int):
    table = pa.Table.from_batches(batches) if len({b.schema for b in batches}) == 1 else pa.concat_tables(
        [pa.Table.from_batches([b]) for b in batches], promote_options="default")
    yield from table.combine_chunks().to_batches(max_chunksize=size)


class ReadInputs(beam.PTransform):
    """Shard list -> docs, ingest ledger, quarantine and per-file fingerprints.

    Reshuffles after listing (files spread over workers), then groups the documents by id
    partition (``output.id_partitions``: hash of id mod P) and re-batches them, so that every
    later batch holds one partition: the batches of one big file spread over workers, and the
    dedup joins and output writes that split batches by a hash of the id get one piece per
    batch instead of one per shard.
    """

    def __init__(self, shards, limits: dict, progress: str | None, partitions: int = 16, spill: Spiller | None = None,
                 workers: int = 1):
        super().__init__()
        self.workers = workers
        self.shards, self.limits, self.progress, self.partitions = shards, limits, progress, partitions
        self.spill = spill or Spiller(None, "ingest")

    def expand(self, p):
        total = len({s.path for s in self.shards})
        out = (
            p
            | "ListShards" >> beam.Create(self.shards, reshuffle=False)
            | "SpreadShards" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(self._read(ReadShardFn(self.limits, total, self.progress))).with_outputs(
                "ledger", "quarantine", "files", "stats", main="docs"
            )
        )
        p_, size, spill = self.partitions, self.limits["batch_size"], self.spill
        pieces = measure(out.docs | "ByPartition" >> beam.ParDo(SplitFn("id", p_, spill, indexed=True)), "ingest.partition")
        grouped = (
            pieces
            | "GroupByPartition" >> ByKey(p_, spill)
            | "UniqueIds" >> beam.ParDo(_UniqueIdsFn(size)).with_outputs("ledger", "stats", main="docs")
        )
        ledger = (out.ledger, grouped.ledger) | "IngestLedger" >> beam.Flatten()
        # measured where documents enter the grouping: the run checks nothing was lost in it
        read = out.docs | "Stats/read" >> beam.Map(lambda b: {"ingest.docs_read": b.num_rows})
        stats = (read, grouped.stats, out.stats) | "IngestStats" >> beam.Flatten()
        return {"docs": grouped.docs, "ledger": ledger, "quarantine": out.quarantine, "files": out.files, "stats": stats}

    def _read(self, fn):
        return pooled(fn, self.workers, Spiller(self.spill.root, "read", self.spill.compression))


class _UniqueIdsFn(beam.DoFn):
    """One id partition -> batches of about ``size`` documents with unique ids (curate.ids)."""

    def __init__(self, size: int):
        self.size = size

    def process(self, kv):
        pieces = Loaded(kv[1])
        if not pieces:  # spilled, every partition has a group (ByKey)
            return
        for kind, value in ids.unique_batches(pieces, self.size, rebatch):
            if kind == "docs":
                yield value
            elif kind == "ledger":
                count_rules(value)
                yield beam.pvalue.TaggedOutput("ledger", value)
            elif value:
                yield beam.pvalue.TaggedOutput("stats", {"ingest.ids_renamed": value})


class _WriteShardFn(beam.DoFn):
    def __init__(self, root: str, kind: str, n: int, cols: list[str]):
        self.root, self.kind, self.n, self.cols = root, kind, n, cols

    def process(self, element):
        i, pieces = element
        yield output.write_shard(self.root, self.kind, i, self.n, [b for b in Loaded(pieces) if b is not None], self.cols)


class WriteKind(beam.PTransform):
    """Write one output kind (text, ledger, quarantine, candidates) as N deterministic Parquet shards.

    Every shard index is written, empty or not, so the file set depends only on N.
    """

    def __init__(self, root: str, kind: str, shards: int, doc_columns: list[str], spill: Spiller | None = None,
                 workers: int = 1, reuse: tuple = ()):
        super().__init__(label=f"Write{kind.capitalize()}")
        self.root, self.kind, self.n, self.doc_columns = root, kind, shards, doc_columns
        self.spill = spill or Spiller(None, kind)
        self.workers, self.reuse = workers, reuse  # reuse: SplitFn's (the last step's labels: its files stay until written)

    def expand(self, batches):
        key = output.KINDS[self.kind][2]
        n, spill = self.n, self.spill
        # a Ref per piece, not spill.ByKey: a batch holds one id partition, so it is one piece
        # here (P is a multiple of n), and a reader would look in every file for its own
        keyed = measure(batches | "ByShard" >> beam.ParDo(SplitFn(key, n, spill, reuse=self.reuse)), f"write.{self.kind}")
        # not reshuffled (Beam's default for a Create): the group below spreads them, and a
        # Reshuffle was a group and a bundle more in every run
        every = batches.pipeline | "AllShards" >> beam.Create([(i, None) for i in range(n)], reshuffle=False)
        root, kind, cols = self.root, self.kind, self.doc_columns
        return (
            (keyed, every)
            | "Flatten" >> beam.Flatten()
            | "Group" >> beam.GroupByKey()
            | "Write" >> beam.ParDo(pooled(_WriteShardFn(root, kind, n, cols), self.workers, self.spill))
        )


class WriteManifest(beam.PTransform):
    """Write manifest.json last, once every shard file exists (it lists them all)."""

    def __init__(self, root: str, base: dict, stats: beam.pvalue.AsSingleton, hashed_files: dict | None = None):
        """``stats``: the run's merged counts, a side input (a global combine's ``as_singleton_view``)."""
        super().__init__()
        self.root, self.base, self.stats, self.hashed_files = root, base, stats, hashed_files or {}

    def expand(self, pcolls):
        entries, files = pcolls
        root, base, stages = self.root, self.base, self.base["config"]["run"]["stages"]
        # the files whose bytes the config hash covers, with their paths (Config.hashed_files)
        hashed = {"data_files": self.hashed_files} if self.hashed_files else {}

        def write(_, entries, stats, files):
            manifest = dict(base)
            manifest["counts"] = output.stage_counts(stats, stages)
            output.check_conservation(manifest["counts"], stages)
            manifest["stats"] = stats
            manifest["inputs"] = sorted(map(json.loads, files), key=lambda f: (f["source"], f["path"]))
            manifest["outputs"] = {  # every kind written (candidates only where rebalance ran)
                kind: sorted((e for e in entries if e["kind"] == kind), key=lambda e: e["file"])
                for kind in output.KINDS if kind in ("text", "ledger", "quarantine") or any(e["kind"] == kind for e in entries)
            }
            output.write_atomic(root, "stats/run.json", output.json_bytes({"counts": manifest["counts"], "stats": stats, **hashed}))
            output.write_manifest(root, manifest)
            return manifest["counts"]

        return (
            entries.pipeline
            | "Trigger" >> beam.Impulse()  # one element, as spill.Release's
            | "Write" >> beam.Map(
                write,
                entries=beam.pvalue.AsList(entries),
                stats=self.stats,
                files=beam.pvalue.AsList(files),
            )
        )
