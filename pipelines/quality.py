r"""Quality as Beam: score per batch; keep by threshold per batch, or by a corpus-wide top fraction.

    docs --Score--> scored --Histogram (CombinePerKey by group)--> Cutoffs --+ (side input)
                      \--------------------------------------------------Keep <-+--> docs
                                                                            \--> ledger
A group is a domain, or a (domain, language) pair with ``per_language`` (key ``web.de``).
The histogram accumulators (one per group) are sparse (bin, count) pairs until a group has
4,096 distinct bins, then a fixed-size int64 array, merged by addition, so the cutoff is the
same whatever the bundling or worker count; the side input is a few numbers per group.
Without a top_fraction rule, scoring and keeping are one ParDo.
"""
from __future__ import annotations

import apache_beam as beam

from curate.config import files_from_here
from curate.stages.quality import QualityStage as Stage, add_counts, cutoff, group_fraction, histogram, key_domain
from pipelines.common import StageContext, emit
from pipelines.meter import measure
from pipelines.spill import load


class _ScoreFn(beam.DoFn):
    def __init__(self, section: dict):
        self.section = section

    def setup(self):
        self.stage = Stage(self.section).setup()

    def process(self, batch):
        yield self.stage.score(batch)


class _KeepFn(beam.DoFn):
    """Score (unless already scored) and apply the keep rules."""

    def __init__(self, section: dict, scored: bool):
        self.section, self.scored = section, scored

    def setup(self):
        self.stage = Stage(self.section)
        if not self.scored:
            self.stage.setup()

    def process(self, batch, cutoffs=None):
        batch = load(batch) if self.scored else self.stage.score(batch)
        kept, ledger = self.stage.keep(batch, cutoffs)
        yield from emit(kept, ledger)


class _HistogramFn(beam.CombineFn):
    """Sum sparse (bins, counts) into a group's histogram: sparse while it has few distinct
    bins, dense int64[NBINS] once it fills (``add_counts``), so a group costs what it holds."""

    def create_accumulator(self):
        return None  # allocated on first input: empty bundles ship nothing

    def add_input(self, acc, item):
        return add_counts(acc, item)

    def merge_accumulators(self, accs):
        out = None
        for a in accs:  # sum while iterating: never hold every accumulator at once
            out = add_counts(out, a)
        return out

    def extract_output(self, acc):
        return acc


def _cutoff_stats(key: str, c: dict) -> dict:
    """A group's count and cutoff; ``quality.web.scored`` stays the domain's total (stats are summed)."""
    out = {f"quality.{key}.scored": c["total"], f"quality.{key}.cutoff_score": c["score"]}
    if key != key_domain(key):
        out[f"quality.{key_domain(key)}.scored"] = c["total"]
    return out


class Quality(beam.PTransform):
    def __init__(self, section: dict, context: StageContext):
        super().__init__(label=context.name)
        self.stage = Stage(files_from_here("quality", section))  # validate now, not on a worker; its model as named from here
        self.section = self.stage.cfg
        self.spill = context.spiller("scored")
        self.context = context

    def expand(self, docs):
        fractions = self.stage.top_fractions()
        if not fractions:
            out = docs | "ScoreAndKeep" >> beam.ParDo(self.context.pooled(_KeepFn(self.section, scored=False))).with_outputs("ledger", main="docs")
            return {"docs": out.docs, "ledger": out.ledger}

        section, per_language = self.section, self.stage.per_language()
        scored = docs | "Score" >> beam.ParDo(self.context.pooled(_ScoreFn(section)))
        cutoffs = (
            scored
            | "Histogram" >> beam.FlatMap(lambda b: histogram(b, fractions, per_language).items())
            | "SumHistograms" >> beam.CombinePerKey(_HistogramFn())
            | "Cutoffs" >> beam.MapTuple(lambda k, hist: (k, cutoff(hist, group_fraction(fractions, k))))
        )
        spill = self.spill
        waiting = measure(scored | "Spill" >> beam.Map(spill.one), "quality.scored")  # held until the cutoffs exist: by file
        out = waiting | "Keep" >> beam.ParDo(_KeepFn(section, scored=True), cutoffs=beam.pvalue.AsDict(cutoffs)).with_outputs(
            "ledger", main="docs"
        )
        stats = cutoffs | "CutoffStats" >> beam.MapTuple(_cutoff_stats)
        return {"docs": out.docs, "ledger": out.ledger, "stats": stats, "read": [scored]}  # read: spill.Release
