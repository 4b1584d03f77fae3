r"""Rebalance as Beam: count tokens, sum a histogram with a combine, plan once, select by hash.

    docs --CountTokens--> counted --Histogram (CombineGlobally)--> Plan --+ (side input)
                             |\-----------------------------------Select <-+--> docs (repeat)
                             |                                  ^      \--> ledger (left out)
                             \--Candidates--> WriteCandidates --+ (waited for)
The combine's accumulators are fixed-size (one int64 histogram per group), so nothing is
collected but counts; the plan is a few integers. See curate/stages/rebalance.py for the method.
The plan waits for DIR/candidates (what it reads of each document, for `curate mix`:
curate/mixplan.py), so a mix that stops the run has them written and they can be kept.
"""
from __future__ import annotations

import apache_beam as beam

from curate.config import files_from_here
from curate.stages.rebalance import RebalanceStage as Stage
from curate.stages.tokenize import DEFAULTS as TOKENIZE_DEFAULTS, TokenizeStage as Tokenizer
from curate import mixplan
from pipelines.common import StageContext, emit
from pipelines.io import WriteKind
from pipelines.meter import measure
from pipelines.spill import load


class _CountFn(beam.DoFn):
    """num_tokens with the [tokenize] tokenizer (EOS included); the ids are not kept."""

    def __init__(self, tok_cfg: dict):
        self.tok_cfg = tok_cfg

    def setup(self):
        self.tok = Tokenizer(self.tok_cfg).setup()

    def process(self, batch):
        yield self.tok.count(batch)

    def teardown(self):
        if getattr(self, "tok", None) and self.tok.encoder:
            self.tok.encoder.close()


class _HistogramFn(beam.CombineFn):
    def __init__(self, section: dict):
        self.section = section
        self._stage = None

    def stage(self) -> Stage:
        if self._stage is None:
            self._stage = Stage(self.section)
        return self._stage

    def create_accumulator(self):
        return None  # allocated on the first batch: empty bundles ship nothing

    def add_input(self, acc, batch):
        return self.stage().histogram(acc if acc is not None else self.stage().new_accumulator(), batch)

    def merge_accumulators(self, accs):
        return Stage.merge(a for a in accs if a is not None)

    def extract_output(self, acc):
        return acc


class _SelectFn(beam.DoFn):
    def __init__(self, section: dict):
        self.section = section

    def setup(self):
        self.stage = Stage(self.section)

    def process(self, batch, plan):
        kept, ledger = self.stage.select(load(batch), plan)
        yield from emit(kept, ledger)


class Rebalance(beam.PTransform):
    def __init__(self, section: dict, context: StageContext):
        super().__init__(label=context.name)
        Stage(section)  # validate now, not on a worker
        self.section = section
        tokenize = context.peers["tokenize"] or {}
        self.tok_cfg = files_from_here("tokenize", Tokenizer({**TOKENIZE_DEFAULTS, **tokenize}).cfg)  # the tokenizer tokenize uses (the file named from here)
        self.spill = context.spiller("counted")
        self.context = context

    def expand(self, docs):
        section = self.section
        counted = docs | "CountTokens" >> beam.ParDo(self.context.pooled(_CountFn(self.tok_cfg)))
        written = (counted | "Candidates" >> beam.Map(lambda b: mixplan.candidates(load(b)))
                   | WriteKind(self.context.root, "candidates", self.context.run["shards"], [],  # as files, as the text
                               self.context.spiller("candidates"), self.context.workers))
        plan = (
            counted
            | "Histogram" >> beam.CombineGlobally(_HistogramFn(section))
            # raises InfeasibleMix, once the candidates are written (pipelines.pipeline keeps them)
            | "Plan" >> beam.Map(lambda acc, _: Stage(section).plan(acc), beam.pvalue.AsList(written))
        )
        select = beam.ParDo(_SelectFn(section), plan=beam.pvalue.AsSingleton(plan))
        waiting = measure(counted | "Spill" >> beam.Map(self.spill.one), "rebalance.counted")  # held until the plan exists: by file
        out = waiting | "Select" >> select.with_outputs("ledger", main="docs")
        stats = plan | "MixStats" >> beam.Map(lambda p: p["stats"])
        # read: spill.Release; entries: output files the manifest lists
        return {"docs": out.docs, "ledger": out.ledger, "stats": stats, "read": [counted], "entries": written}
