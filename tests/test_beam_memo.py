"""Beam asks for every DoFn's state and timer specs thousands of times while it builds and
translates a pipeline (each time taking the signature of every method of the DoFn): a third
of a small run's CPU. pipelines/beam_memo.py remembers them per DoFn instance."""
from __future__ import annotations

import gc
import weakref

import apache_beam as beam
import pytest
from apache_beam.transforms import userstate
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

import pipelines.pipeline  # noqa: F401  (installs the memo, as every run does)
from pipelines import beam_memo


class Plain(beam.DoFn):
    def process(self, x):
        yield x


class Stateful(beam.DoFn):
    SEEN = ReadModifyWriteStateSpec("seen", beam.coders.VarIntCoder())

    def process(self, kv, seen=beam.DoFn.StateParam(SEEN)):
        yield kv


def test_specs_are_computed_once_per_dofn_and_are_beams(monkeypatch):
    calls = []
    original = beam_memo._original
    monkeypatch.setattr(beam_memo, "_original", lambda d: calls.append(d) or original(d))
    # as in a fresh process: a Map run earlier in this worker left its class (Beam's
    # CallableWrapperDoFn, every Map's) in the per-class memo
    monkeypatch.setattr(beam_memo, "_class_specs", weakref.WeakKeyDictionary())
    plain, stateful, lam = Plain(), Stateful(), beam.Map(lambda x: x).dofn
    for _ in range(5):
        for d in (plain, stateful, lam):
            assert userstate.get_dofn_specs(d) == original(d)
        assert userstate.is_stateful_dofn(stateful) and not userstate.is_stateful_dofn(plain)
    assert sorted(map(id, calls)) == sorted(map(id, (plain, stateful, lam)))  # once each (Map's own check included)


def test_a_small_pipeline_inspects_each_dofn_once(monkeypatch):
    calls = []
    original = beam_memo._original
    monkeypatch.setattr(beam_memo, "_original", lambda d: calls.append(d) or original(d))
    monkeypatch.setattr(beam_memo, "_class_specs", weakref.WeakKeyDictionary())  # as in a fresh process
    with beam.Pipeline() as p:
        (p | beam.Create([("a", 1), ("b", 2)]) | beam.ParDo(Stateful()) | beam.ParDo(Plain()) | beam.GroupByKey()
         | beam.Map(lambda kv: kv))
    assert calls and len(calls) == len({id(d) for d in calls})


def test_a_finished_pipelines_dofns_are_not_kept():
    d = Plain()
    userstate.get_dofn_specs(d)
    key = id(d)
    assert key in beam_memo._specs
    del d
    gc.collect()
    assert key not in beam_memo._specs


class Flagged(beam.DoFn):  # a second class with Plain's process: its own entry all the same
    def process(self, x):
        yield x


def test_unpickled_copies_of_a_dofn_share_its_specs_and_two_dofns_never_do(monkeypatch):
    """The runner's workers unpickle new instances of every DoFn for every bundle (~435 spec
    reads a small run); their class's entry serves them while their methods are the same
    functions. Two classes, an instance with a bound method of its own, a class whose method
    is replaced: each is Beam's answer for that DoFn, never another's."""
    from apache_beam.internal import pickler

    calls = []
    original = beam_memo._original
    monkeypatch.setattr(beam_memo, "_original", lambda d: calls.append(type(d)) or original(d))
    monkeypatch.setattr(beam_memo, "_class_specs", weakref.WeakKeyDictionary())  # as in a fresh process
    stateful = Stateful()
    copies = [pickler.loads(pickler.dumps(d)) for d in (Plain(), Stateful(), Plain(), stateful, Flagged(), Flagged())]
    for d in copies:
        assert userstate.get_dofn_specs(d) == original(d)
    assert calls == [Plain, Stateful, Flagged]  # once a class: the copies share its entry
    assert userstate.is_stateful_dofn(copies[3]) and not userstate.is_stateful_dofn(copies[4])

    own = Plain()  # a bound method of its own that reads state: Beam reads it, the class's entry is not it
    own.extra = stateful.process
    assert userstate.get_dofn_specs(own) == original(own) != userstate.get_dofn_specs(Plain())
    monkeypatch.setattr(Flagged, "process", Stateful.process)  # a replaced method: read again
    assert userstate.is_stateful_dofn(Flagged())
    monkeypatch.setattr(Flagged, "process", Plain.process)  # another function, same code and defaults
    assert not userstate.is_stateful_dofn(Flagged())
    assert calls[3:] == [Plain, Plain, Flagged, Flagged]


def test_a_type_checked_dofn_has_its_own_dofns_specs(monkeypatch):
    """Beam's --runtime_type_check wraps each DoFn in its type-check wrappers: one class whose
    methods are the same for every DoFn, but whose arguments Beam reads from the DoFn inside
    (``_inspect_process``). The class's entry gave a stateful DoFn's wrapper a stateless one's
    specs: a Beam pipeline run with the option in a process that imported curate's pipeline
    failed in its stateful ParDo (AssertionError), and the other way round asked for keys."""
    from apache_beam.typehints.decorators import IOTypeHints
    from apache_beam.typehints.typecheck import OutputCheckWrapperDoFn, TypeCheckWrapperDoFn

    monkeypatch.setattr(beam_memo, "_class_specs", weakref.WeakKeyDictionary())  # as in a fresh process
    for wrap in (lambda d: OutputCheckWrapperDoFn(d, "x"), lambda d: TypeCheckWrapperDoFn(d, IOTypeHints.empty())):
        wrapped = [wrap(d) for d in (Plain(), Stateful(), Plain(), Stateful())]
        assert [userstate.is_stateful_dofn(d) for d in wrapped] == [False, True, False, True]
        for d in wrapped:
            assert userstate.get_dofn_specs(d) == beam_memo._original(d)


def test_a_redefined_dofn_class_is_not_kept(monkeypatch):
    """A notebook cell run again defines its DoFn class anew; the old class, and what it holds
    (a model as a class attribute), go once nothing else uses them. The per-class entry held
    the class's functions, and a method that calls super() holds its class (its __class__
    cell): every class the memo saw stayed alive. So did a method's arguments' entry (per
    function) where the method is a wrapper (functools.wraps) of one that calls super()."""
    import functools

    def logged(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return f(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(beam_memo, "_class_specs", weakref.WeakKeyDictionary())
    classes = []
    for _ in range(2):
        class Cell(beam.DoFn):
            def __init__(self):
                super().__init__()

            @logged
            def setup(self):
                super().setup()

            def process(self, x):
                yield x

        assert userstate.get_dofn_specs(Cell()) == beam_memo._original(Cell())
        classes.append(weakref.ref(Cell))
    del Cell
    gc.collect()
    assert [c() is None for c in classes] == [True, True]


def test_an_options_view_is_made_once_and_reads_and_writes_the_options(monkeypatch):
    """A view parsed the flags again each time it was asked for (~0.25 ms, ~1,300 times a run);
    one view per options object and class now, reading and writing the same values."""
    from apache_beam.options.pipeline_options import DebugOptions, PipelineOptions, StandardOptions

    made = []
    original = beam_memo._original_view_as
    monkeypatch.setattr(beam_memo, "_original_view_as", lambda o, c: made.append(c) or original(o, c))
    opts = PipelineOptions(["--runner=DirectRunner", "--experiments=a"])
    for _ in range(5):
        assert opts.view_as(StandardOptions).runner == "DirectRunner"
        assert opts.view_as(DebugOptions).experiments == ["a"]
    assert made == [StandardOptions, DebugOptions]
    opts.view_as(StandardOptions).runner = "Other"  # a write through one view is every view's
    assert opts.view_as(StandardOptions).runner == "Other" and opts.get_all_options()["runner"] == "Other"
    other = PipelineOptions(["--runner=DirectRunner"])  # another options object: its own views
    assert other.view_as(StandardOptions).runner == "DirectRunner"
    key = (id(other), StandardOptions)
    del other
    gc.collect()
    assert key not in beam_memo._views


def test_a_small_pipeline_makes_each_view_once(monkeypatch):
    made = []
    original = beam_memo._original_view_as
    monkeypatch.setattr(beam_memo, "_original_view_as", lambda o, c: made.append((id(o), c)) or original(o, c))
    with beam.Pipeline() as p:
        (p | beam.Create([("a", 1), ("b", 2)]) | beam.ParDo(Plain()) | beam.GroupByKey() | beam.Map(lambda kv: kv))
    assert made and len(made) == len(set(made))


def test_pooled_and_split_declare_the_type_beams_inference_would_reach(monkeypatch):
    """Pooled and SplitFn say their output is Any instead of letting Beam infer it from
    bytecode (~0.25 CPU-s a run): Beam's own inference must reach the same type, or the coder
    of what they yield would change."""
    from apache_beam.typehints import Any, trivial_inference

    from pipelines.pool import Pooled
    from pipelines.spill import Spiller, SplitFn

    for dofn in (Pooled(Plain(), 1, Spiller(None, "x")), SplitFn("id", 4, Spiller(None, "x"))):
        assert beam.DoFn.infer_output_type(dofn, Any) == Any  # Beam's inference, run here on purpose
        monkeypatch.setattr(trivial_inference, "infer_return_type", lambda *a, **k: 1 / 0)
        assert beam.ParDo(dofn).infer_output_type(Any) == Any  # no inference when a pipeline is built
        monkeypatch.undo()


def test_a_methods_arguments_are_beams_and_computed_once_per_function(monkeypatch):
    """Beam takes the signature of every method of every DoFn instance it inspects (~20,000 a
    demo run, the workers unpickling new instances each bundle); the memo keeps them per
    function: the same args and defaults as Beam's own for every kind of callable, however many
    instances, and a function whose defaults or wrapper change is inspected again."""
    import functools

    from apache_beam.transforms import core

    assert core.get_function_args_defaults is beam_memo.get_function_args_defaults  # Beam 2.77: installed
    original = beam_memo._original_args
    calls = []
    monkeypatch.setattr(beam_memo, "_original_args", lambda f: calls.append(f) or original(f))

    def plain(a, b=1, *rest, c=2, **kw):
        return a

    def wrapper(*a, **k):
        return plain(*a, **k)

    wraps = functools.wraps(plain)(lambda *a, **k: plain(*a, **k))
    callables = [plain, lambda x, y=DoFnParam: x, wraps, functools.partial(plain, 1), len, str.upper, Plain,
                 Stateful().process, Stateful().process, Plain().process, Plain().start_bundle, beam.Map(len).dofn.process]
    for _ in range(3):
        for f in callables:
            assert core.get_function_args_defaults(f) == original(f), f
            assert core.get_function_arguments(Stateful(), "process") == original(Stateful().process)
    assert len(calls) < 3 * len(callables)
    plain.__defaults__ = (5,)  # a reassigned default: Beam's answer again, not the remembered one
    assert core.get_function_args_defaults(plain) == original(plain) == (["a", "b"], [5])
    wrapper.__wrapped__ = Stateful.process  # a new wrapper: its signature
    assert core.get_function_args_defaults(wrapper) == original(wrapper) == original(Stateful.process)
    # a bound and a plain function are two entries (self is an argument of the one only)
    assert core.get_function_args_defaults(Stateful.process)[0][0] == "self"
    assert core.get_function_args_defaults(Stateful().process)[0][0] == "kv"


DoFnParam = beam.DoFn.TimestampParam



def test_a_pickled_dofn_is_compressed_and_decompressed_once_and_as_bz2_does(monkeypatch):
    """Beam bz2-compresses (level 9) every pickled DoFn, coder and window function it puts in
    the pipeline proto, and decompresses each where a bundle unpickles it: 1,599 and 1,986
    times a small run, 386 and 369 of them distinct, ~0.4 CPU-s. The same bytes give the same
    compressed bytes: remembered, what Beam writes and reads is unchanged."""
    import base64
    import bz2

    from apache_beam.internal import cloudpickle_pickler, pickler

    calls = []
    compress, decompress = bz2.compress, bz2.decompress
    monkeypatch.setattr(bz2, "compress", lambda d, compresslevel=9: calls.append("c") or compress(d, compresslevel))
    monkeypatch.setattr(bz2, "decompress", lambda d: calls.append("d") or decompress(d))
    fn = Stateful()
    want = base64.b64encode(compress(cloudpickle_pickler._dumps(fn), 9))  # Beam's bytes, without the memo
    assert pickler.dumps(fn) == want and pickler.dumps(Stateful()) == want
    assert type(pickler.loads(want)) is Stateful and type(pickler.loads(want)) is Stateful
    assert calls.count("c") <= 1 and calls.count("d") <= 1, calls


def test_a_process_methods_yield_and_return_check_is_beams_and_read_once_per_function(monkeypatch, caplog):
    """Every ParDo reads its DoFn's process source (inspect.getsourcelines, tokenized) to warn
    when it both yields and returns: 444 ParDos a small run, ~0.08 CPU-s. The answer is a
    function of the function's code: kept per function, Beam's warning still said each time."""
    import inspect

    from apache_beam.transforms import core

    class Both(beam.DoFn):
        def process(self, x):
            if x:
                return [x]
            yield x

    reads = []
    real = inspect.getsourcelines
    monkeypatch.setattr(inspect, "getsourcelines", lambda f: reads.append(f) or real(f))
    for fn in (Plain(), Plain(), Both(), Both()):
        assert core._check_fn_use_yield_and_return(fn.process) is isinstance(fn, Both)
    assert len(reads) <= 2, reads
    # this logger's own level: a `curate` run in this process sets apache_beam's to CRITICAL
    with caplog.at_level("WARNING", logger="apache_beam.transforms.core"):
        beam.ParDo(Both())
    assert "Using yield and return" in caplog.text


def test_the_bz2_memo_keeps_no_large_pickle_however_small_its_compressed_bytes():
    """A pickle over the memo's item size (1 MB) is not kept, compressed or not: a DoFn holding 2 MB of
    zeros compresses to 48 bytes, and remembering its decompression by that key kept the 2 MB
    alive after the bundle, past the memo's own accounting."""
    import bz2

    from pipelines.beam_memo import _Bz2

    memo, big = _Bz2(), bytes(2 << 20)
    small = bz2.compress(big, 9)
    assert memo.decompress(small) == big and memo.compress(big) == small
    assert not memo._done and memo._bytes == 0, ([len(v) for v in memo._done.values()], memo._bytes)


def _built(tmp_path, monkeypatch, kind: str) -> list[str]:
    """The labels of the composite transforms of type ``kind`` in a default `curate run`'s
    pipeline, built, not run."""
    from curate import cli
    from pipelines import pipeline

    (tmp_path / "p.jsonl").write_text('{"text": "a page of words"}\n')
    real_build, labels = pipeline.build, []

    class Built(Exception):
        pass

    def build(p, *args):
        real_build(p, *args)

        class Visit(beam.pipeline.PipelineVisitor):
            def enter_composite_transform(self, node):
                if type(node.transform).__name__ == kind:
                    labels.append(node.full_label)

        p.visit(Visit())
        raise Built

    monkeypatch.setattr(pipeline, "build", build)
    with pytest.raises(Built):
        cli.main(["run", "--input", str(tmp_path / "p.jsonl"), "--domain", "web", "--output", str(tmp_path / "o"),
                  "--progress", "off"])
    return labels


def test_the_shard_keys_before_a_writers_group_are_not_reshuffled(tmp_path, monkeypatch):
    """Each output kind's writer flattens a key per shard (every shard written, empty or not)
    into its GroupByKey. Beam's Create reshuffled those keys first: a GroupByKey of its own, one
    more fused stage (a bundle) per writer in every run, 4 of a default run's 66, before the
    group that spreads them anyway. Built, not run: a default `curate run` has no Reshuffle
    under a writer."""
    labels = _built(tmp_path, monkeypatch, "Reshuffle")
    assert labels and not [x for x in labels if "/AllShards/" in x], labels


def test_no_create_for_a_combines_default_nor_for_a_one_element_trigger(tmp_path, monkeypatch):
    """A CombineGlobally with defaults gives an empty input its value with a Create of its own
    ("DoOnce") and a Map reading the combine as a side input: one more fused stage, a bundle,
    in every run. The run's merged counts (the manifest's) and each dedup round's centers are
    read only as side inputs: Beam's as_singleton_view gives them the same default with no such
    stage (5 of a default run's 62 bundles). The steps run once after others (each spill
    Release, the manifest's writer) start from an Impulse: a Create([None]) is the same one
    element after a FlatMap and a Map more, each pickled, translated and set up every run.
    Built, not run."""
    labels = _built(tmp_path, monkeypatch, "Create")
    assert [x for x in labels if x.endswith("/DoOnce")], labels  # the combines whose value is a main input keep theirs
    assert not [x for x in labels if x.startswith(("MergeStats/", "Stage/dedup/Centers"))], labels
    assert not [x for x in labels if x.startswith(("Release/", "Manifest/"))], labels
