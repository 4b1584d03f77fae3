"""Decontamination on a runner: one ParDo. Every worker loads the evaluation n-grams once
(``setup``) from the evaluation files; no shuffle and no side input (docs/scale.md: size)."""
from __future__ import annotations

import apache_beam as beam

from curate.stages.decontaminate import DecontaminateStage as Stage
from pipelines.common import StageContext, emit


class _DecontaminateFn(beam.DoFn):
    def __init__(self, section: dict):
        self.section = section

    def setup(self):
        self.stage = Stage(self.section).setup()

    def process(self, batch):
        before = dict(self.stage.counters)
        kept, ledger = self.stage.process(batch)
        yield from emit(kept, ledger)
        cut = {f"decontaminate.{k}": v - before[k] for k, v in self.stage.counters.items() if v != before[k]}
        if cut:  # mode = "cut": documents and characters cut
            yield beam.pvalue.TaggedOutput("stats", cut)


class Decontaminate(beam.PTransform):
    def __init__(self, section: dict, context: StageContext):
        super().__init__(label=context.name)
        self.stage = Stage(section)  # validates (and finds the files) now, not on a worker
        self.section = section
        self.context = context

    def expand(self, docs):
        out = docs | "Match" >> beam.ParDo(self.context.pooled(_DecontaminateFn(self.section))).with_outputs("ledger", "stats", main="docs")
        # the evaluation sets' size, measured once here (the same files every worker loads)
        sizes = {f"decontaminate.{k}": v for k, v in Stage(self.section).setup().evals.stats.items()}
        info = docs.pipeline | "EvalSets" >> beam.Create([sizes])
        return {"docs": out.docs, "ledger": out.ledger, "stats": (out.stats, info) | "Stats" >> beam.Flatten()}
