"""Decontamination on a runner: one ParDo. Every worker loads the evaluation n-grams once
(``setup``) from the evaluation files; no shuffle and no side input (docs/scale.md: size)."""
from __future__ import annotations

import os

import apache_beam as beam

from curate.config import from_here
from curate.stages.decontaminate import DecontaminateStage as Stage
from pipelines.common import StageContext, emit


# The evaluation n-grams the transform loaded to measure them, handed to the first worker set
# up in this same process (the direct runner's; a forked or remote worker loads its own):
# one load a run there, not two. Taken, not kept: nothing stays in memory after the run.
_LOADED: dict = {}


def _files_key(stage: Stage) -> tuple:
    """The evaluation files as loaded: the settings, and each file's path, size and mtime."""
    from curate.readers import list_files

    return (repr(stage.cfg),) + tuple((p, st.st_size, st.st_mtime_ns) for s in stage.sets
                                      for p, _ in list_files(s["glob"]) for st in [os.stat(p)])


class _DecontaminateFn(beam.DoFn):
    def __init__(self, section: dict):
        self.section = section

    def setup(self):
        self.stage = Stage(self.section)
        key, evals = _LOADED.pop("last", (None, None))
        if evals is not None and key == _files_key(self.stage):
            self.stage.evals = evals
        self.stage.setup()

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
        # the sets as this directory names them: a worker elsewhere (a pool on a shared filesystem) reads the same files
        section = {**section, "eval_sets": [{**s, "glob": from_here(s["glob"])} for s in section["eval_sets"]]}
        self.stage = Stage(section)  # validates (and finds the files) now, not on a worker
        self.section = section
        self.context = context

    def expand(self, docs):
        out = docs | "Match" >> beam.ParDo(self.context.pooled(_DecontaminateFn(self.section))).with_outputs("ledger", "stats", main="docs")
        # the evaluation sets' size, measured once here (the same files every worker loads)
        loaded = Stage(self.section).setup()
        _LOADED["last"] = (_files_key(loaded), loaded.evals)
        sizes = {f"decontaminate.{k}": v for k, v in loaded.evals.stats.items()}
        info = docs.pipeline | "EvalSets" >> beam.Create([sizes])
        return {"docs": out.docs, "ledger": out.ledger, "stats": (out.stats, info) | "Stats" >> beam.Flatten()}
