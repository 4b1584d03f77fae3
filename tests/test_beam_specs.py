"""Beam asks for every DoFn's state and timer specs thousands of times while it builds and
translates a pipeline (each time taking the signature of every method of the DoFn): a third
of a small run's CPU. pipelines/beam_specs.py remembers them per DoFn instance."""
from __future__ import annotations

import gc

import apache_beam as beam
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

import pipelines.pipeline  # noqa: F401  (installs the memo, as every run does)
from pipelines import beam_specs


class Plain(beam.DoFn):
    def process(self, x):
        yield x


class Stateful(beam.DoFn):
    SEEN = ReadModifyWriteStateSpec("seen", beam.coders.VarIntCoder())

    def process(self, kv, seen=beam.DoFn.StateParam(SEEN)):
        yield kv


def test_specs_are_computed_once_per_dofn_and_are_beams(monkeypatch):
    calls = []
    original = beam_specs._original
    monkeypatch.setattr(beam_specs, "_original", lambda d: calls.append(d) or original(d))
    plain, stateful, lam = Plain(), Stateful(), beam.Map(lambda x: x).dofn
    for _ in range(5):
        for d in (plain, stateful, lam):
            assert userstate.get_dofn_specs(d) == original(d)
        assert userstate.is_stateful_dofn(stateful) and not userstate.is_stateful_dofn(plain)
    assert sorted(map(id, calls)) == sorted(map(id, (plain, stateful, lam)))  # once each (Map's own check included)


def test_a_small_pipeline_inspects_each_dofn_once(monkeypatch):
    calls = []
    original = beam_specs._original
    monkeypatch.setattr(beam_specs, "_original", lambda d: calls.append(d) or original(d))
    with beam.Pipeline() as p:
        (p | beam.Create([("a", 1), ("b", 2)]) | beam.ParDo(Stateful()) | beam.ParDo(Plain()) | beam.GroupByKey()
         | beam.Map(lambda kv: kv))
    assert calls and len(calls) == len({id(d) for d in calls})


def test_a_finished_pipelines_dofns_are_not_kept():
    d = Plain()
    userstate.get_dofn_specs(d)
    key = id(d)
    assert key in beam_specs._specs
    del d
    gc.collect()
    assert key not in beam_specs._specs
