"""What each shuffle carries, in encoded bytes: for benchmarks and cost estimates.

With ``CURATE_SHUFFLE_METER=DIR`` set when a pipeline is built, a step beside the input of
every shuffle (GroupByKey, CoGroupByKey) and of every collection held for a side input
encodes each element with the
coder the runner uses for it (``pipelines/coders.py``: Arrow IPC for batches and tables,
FastPrimitivesCoder for the rest) and adds its size to ``shuffle.LABEL.bytes`` (and
``.elements``) in a per-process tally in DIR (pipelines/progress.Tally). ``totals(DIR)`` sums
them. Combines are not metered: with combiner lifting they ship one fixed-size accumulator
per bundle (docs/scale.md), not their inputs. Unset, nothing is added to the pipeline.
"""
from __future__ import annotations

import os

import apache_beam as beam

ENV = "CURATE_SHUFFLE_METER"


class _MeterFn(beam.DoFn):
    def __init__(self, folder: str, label: str):
        self.folder, self.label = folder, label

    def setup(self):
        from pipelines.coders import ArrowFastPrimitivesCoder
        from pipelines.progress import tally

        self.coder = ArrowFastPrimitivesCoder.from_type_hint(None, None)
        self.tally = tally(self.folder)
        self.key = self.label.replace(".", "_")

    def process(self, element):
        n = len(self.coder.encode(element))
        self.tally.add(**{f"shuffle__{self.key}__bytes": n, f"shuffle__{self.key}__elements": 1})

    def finish_bundle(self):
        self.tally.flush()


def measure(pcoll, label: str):
    """``pcoll`` unchanged; metered when ``CURATE_SHUFFLE_METER`` is set."""
    folder = os.environ.get(ENV)
    if folder:
        pcoll | f"Meter/{label}" >> beam.ParDo(_MeterFn(folder, label))
    return pcoll


def totals(folder: str) -> dict:
    """{label: {"bytes": b, "elements": n}} summed over every process's tally."""
    from pipelines.progress import read_totals

    out: dict = {}
    for k, v in read_totals(folder).items():
        if k.startswith("shuffle."):
            _, label, what = k.split(".", 2)
            out.setdefault(label, {"bytes": 0, "elements": 0})[what] = v
    return out
