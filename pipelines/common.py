"""Small Beam pieces every stage uses: the per-batch stage wrapper and stats counting."""
from __future__ import annotations

import collections
from dataclasses import dataclass, field

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics

from curate import output
from pipelines.pool import pooled
from pipelines.spill import Loaded, Spiller, folder as spill_folder

NAMESPACE = "curate"


@dataclass(frozen=True)
class StageContext:
    """What a stage transform gets besides its own section: ``Transform(section, context)``."""

    name: str
    run: dict  # the [run] section (shards, stages)
    limits: dict  # the [limits] section (batch_size)
    root: str = ""  # the folder the run writes to (its staging folder)
    config: dict = field(default_factory=dict)  # the whole run's config (Config.to_dict), for content hashes
    peers: dict = field(default_factory=dict)  # sections of the stages it declares in ``needs`` (None: not configured)
    workers: int = 1  # processes per heavy per-element step (pipelines/pool.py)
    spill: bool = False  # Arrow data crosses shuffles as files (pipelines/spill.py)
    before: tuple = ()  # spill labels of the step whose documents it reads (spill.SplitFn's reuse)

    def spiller(self, label: str):
        """How this stage sends Arrow data across a shuffle (pipelines/spill.py)."""
        return Spiller(spill_folder(self.root, self.spill), f"{self.name}-{label}", self.run.get("shuffle_compression"))

    def pooled(self, dofn: beam.DoFn) -> beam.DoFn:
        """``dofn`` run by this run's worker processes (itself with one worker)."""
        return pooled(dofn, self.workers, self.spiller(type(dofn).__name__.strip("_").lower()))


def text_bytes(batch: pa.RecordBatch) -> int:
    if batch.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0)


def doc_stats(batch: pa.RecordBatch, stage: str) -> dict:
    return {f"{stage}.docs_out": batch.num_rows, f"{stage}.bytes_out": text_bytes(batch)}


def ledger_stats(batch: pa.RecordBatch) -> dict:
    """Removed documents per stage and rule."""
    if batch.num_rows == 0:
        return {}
    if batch.num_rows <= 512:  # most ledger batches: a group_by costs ~0.5 ms whatever the rows, this ~1 µs a row
        pairs = collections.Counter(zip(batch.column("stage").to_pylist(), batch.column("rule").to_pylist()))
        return {f"{stage}.removed.{rule}": n for (stage, rule), n in pairs.items()}
    counts = pc.value_counts(pc.binary_join_element_wise(batch.column("stage"), ".removed.", batch.column("rule"), ""))
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))


def count_rules(ledger: pa.RecordBatch) -> None:
    """Beam Metrics counters per rule, so a runner's UI shows removals live."""
    for key, n in ledger_stats(ledger).items():
        Metrics.counter(NAMESPACE, key).inc(n)


def join_shards(lib, context: StageContext) -> tuple[int, int]:
    """(J, R) of a stage that joins by id after a bucket shuffle (dedup, urldedup, linededup):
    its own join_shards/bucket_shards, else output.id_partitions(run.shards)."""
    j = lib.join_shards or output.id_partitions(context.run["shards"])
    return j, lib.bucket_shards or j


def sorted_batches(pieces, batch_size: int) -> list:
    """One join shard's document batches as one table sorted by id, cut again into batches:
    their boundaries (and so everything downstream) do not depend on the order the shuffle
    delivered the pieces in."""
    batches = [b for b in Loaded(pieces) if b.num_rows]
    if not batches:
        return []
    table = pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote_options="default")
    return table.sort_by("id").combine_chunks().to_batches(max_chunksize=batch_size)


class ApplyJoined(beam.DoFn):
    """Applies a global result to one join shard's documents: ``apply(batches, group)`` gets
    the shard's sorted_batches and its CoGroupByKey group (dedup, linededup)."""

    def __init__(self, lib, batch_size: int):
        self.lib, self.batch_size = lib, batch_size

    def process(self, kv):
        _, group = kv
        batches = sorted_batches(group["docs"], self.batch_size)
        if batches:
            yield from self.apply(batches, group)


def emit(kept: pa.RecordBatch, ledger: pa.RecordBatch):
    """A stage DoFn's outputs: kept documents on the main output, removals (counted) on "ledger"."""
    if kept.num_rows:
        yield kept
    if ledger.num_rows:
        count_rules(ledger)
        yield beam.pvalue.TaggedOutput("ledger", ledger)


class _StagesFn(beam.DoFn):
    """Consecutive per-batch stages (langid then filter) in one call, so the documents between
    them stay in the worker: spilled and read back between two pooled calls, they cost ~0.7
    bytes of disk per byte of text. Outputs the last stage's kept documents, each stage's
    removals on "ledger_NAME" and each stage's counts on "stats" (documents in and out, text
    bytes out, rewrites: what the pipeline counts beside a stage with a global step)."""

    def __init__(self, sections: dict):
        self.sections = sections  # stage name -> its config section, in pipeline order
        self.stages = None

    def warm_up(self):
        """What its stages load once a process (``warm_up``: the filter's numba kernels). Asked of
        each stage built from its section (milliseconds; setup's word lists are not read), not of
        its class: an instance method (as Dedup's, which reads its settings) raised TypeError there."""
        from curate import stages

        for name, section in self.sections.items():
            getattr(stages.stage_class(name)(section), "warm_up", lambda: None)()

    def setup(self):
        from curate import commit, stages

        self.stages = []
        for name, section in self.sections.items():
            commit._fault(f"sigint_in_{name}_setup")
            stage = stages.stage_class(name)(section)
            stage.setup()
            counters = (Metrics.counter(NAMESPACE, f"{name}.docs_in"), Metrics.counter(NAMESPACE, f"{name}.docs_out"))
            self.stages.append((name, stage, counters))

    def process(self, batch):
        stats = {}
        for name, stage, (docs_in, docs_out) in self.stages:
            stats[f"{name}.docs_in"] = batch.num_rows
            kept, ledger = stage.process(batch)
            docs_in.inc(batch.num_rows)
            docs_out.inc(kept.num_rows)
            if ledger.num_rows:
                count_rules(ledger)
                yield beam.pvalue.TaggedOutput(f"ledger_{name}", ledger)
            rewrites = getattr(stage, "counters", None)  # in-place rewrites (lines removed, PII redacted)
            if rewrites:
                stats.update({f"{name}.rewrites.{k}": v for k, v in rewrites.items()})
                rewrites.clear()
            if not kept.num_rows:  # the next stage sees no batch, as it would as a step of its own
                break
            stats.update(doc_stats(kept, name))
            batch = kept
        yield beam.pvalue.TaggedOutput("stats", stats)
        if kept.num_rows:
            yield kept


class BatchStages(beam.PTransform):
    """Stages that decide each batch on its own (langid, filter, ...), one after the other in
    one pooled step. Returns {"docs", "ledgers": {stage: removals}, "stats"}."""

    def __init__(self, sections: dict, context: StageContext):
        from curate.config import files_from_here

        # a word list, a model by the path this directory names: a worker elsewhere (a pool on a shared filesystem) reads the same file
        sections = {name: files_from_here(name, section) for name, section in sections.items()}
        super().__init__(label=context.name)
        self.sections, self.context = sections, context

    def expand(self, docs):
        tags = [f"ledger_{name}" for name in self.sections]
        out = docs | "Apply" >> beam.ParDo(self.context.pooled(_StagesFn(self.sections))).with_outputs(*tags, "stats", main="docs")
        return {"docs": out.docs, "ledgers": {name: out[t] for name, t in zip(self.sections, tags)}, "stats": out.stats}


class MergeCounts(beam.CombineFn):
    """Sum flat {key: number} dicts: the run's stats, one small dict at the end."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, d):
        for k, v in d.items():
            acc[k] = acc.get(k, 0) + v
        return acc

    def merge_accumulators(self, accs):
        out = {}
        for a in accs:
            self.add_input(out, a)
        return out

    def extract_output(self, acc):
        return dict(sorted(acc.items()))
