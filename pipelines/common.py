"""Small Beam pieces every stage uses: the per-batch stage wrapper and stats counting."""
from __future__ import annotations

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
    out: dict = {}
    if batch.num_rows == 0:
        return out
    t = pa.table({"stage": batch.column("stage"), "rule": batch.column("rule")})
    for row in t.group_by(["stage", "rule"]).aggregate([("rule", "count")]).to_pylist():
        out[f"{row['stage']}.removed.{row['rule']}"] = row["rule_count"]
    return out


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


class _StageFn(beam.DoFn):
    def __init__(self, name: str, section: dict):
        self.name, self.section = name, section
        self.stage = None

    def setup(self):
        from curate import commit, stages

        commit._fault(f"sigint_in_{self.name}_setup")
        self.stage = stages.stage_class(self.name)(self.section)
        self.stage.setup()
        self.docs_in = Metrics.counter(NAMESPACE, f"{self.name}.docs_in")
        self.docs_out = Metrics.counter(NAMESPACE, f"{self.name}.docs_out")

    def process(self, batch):
        kept, ledger = self.stage.process(batch)
        self.docs_in.inc(batch.num_rows)
        self.docs_out.inc(kept.num_rows)
        yield from emit(kept, ledger)
        counters = getattr(self.stage, "counters", None)  # in-place rewrites (lines removed, PII redacted)
        if counters:
            yield beam.pvalue.TaggedOutput("stats", {f"{self.name}.rewrites.{k}": v for k, v in counters.items()})
            counters.clear()


class BatchStage(beam.PTransform):
    """A stage that decides each batch on its own (langid, filter, ...)."""

    def __init__(self, section: dict, context: StageContext):
        super().__init__(label=context.name)
        self.name, self.section, self.context = context.name, section, context

    def expand(self, docs):
        out = docs | "Apply" >> beam.ParDo(self.context.pooled(_StageFn(self.name, self.section))).with_outputs("ledger", "stats", main="docs")
        return {"docs": out.docs, "ledger": out.ledger, "stats": out.stats}


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
