"""The forked worker pool (pipelines/pool.py)."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from curate import demo
from pipelines import pool

REPO = Path(__file__).resolve().parents[1]


class _Finalized:
    """Garbage in a reference cycle whose finalizer records the process that ran it, like a
    dead gRPC channel left by an earlier pipeline (its finalizer aborts a forked process)."""

    def __init__(self, path):
        self.path, self.me = path, self

    def __del__(self):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


class _Acyclic(_Finalized):
    """... and one in no cycle, freed as soon as its count drops (a collector never sees it):
    the workers keeping inherited objects frozen does not keep it."""

    def __init__(self, path):
        self.path, self.me = path, None


@pytest.mark.parametrize("frozen", [False, True], ids=["collectable", "frozen"])
def test_workers_never_finalize_the_parents_garbage(tmp_path, frozen):
    """Garbage the launching process holds when it forks its workers is collected there, not
    in a worker: a worker unfreezes the parent's objects, and its collector would otherwise run
    their finalizers (CI once aborted in a worker collecting a gRPC channel). Frozen garbage too,
    as the pipeline freezes its construction's objects: a collection skips frozen objects (CI's
    worker hung collecting one, a gRPC object of an earlier Beam run)."""
    log = tmp_path / "finalized"
    gc.disable()  # keep the cycle uncollected until the fork, as between two collections
    try:
        _Finalized(str(log))
        if frozen:
            gc.freeze()
        pids = _in_workers(_collect)
    finally:
        gc.unfreeze()
        gc.enable()
    gc.collect()
    ran = set(log.read_text().split()) if log.exists() else set()
    assert ran == {str(os.getpid())} and not ran & {str(p) for p in pids}, (ran, pids)


def _in_workers(task, times: int = 4) -> list:
    """What ``task`` returned, run ``times`` times by the pool's two workers."""
    workers = pool._acquire(2)
    try:
        return list(workers.map(task, range(times)))
    finally:
        pool._release()


def _collect(_):
    gc.collect()
    return os.getpid()


_DROPPED_IN_A_WORKER: list = []


def _drop(_):
    _DROPPED_IN_A_WORKER.clear()
    gc.collect()
    return os.getpid()


def test_no_object_of_the_launcher_is_finalized_in_a_worker(tmp_path):
    """What the launching process holds when it forks is never freed in a worker: not what only
    another thread held (the fork drops its threading.local values), not what a worker's task
    lets go, in a reference cycle or not. A gRPC object left by an earlier Beam run freed in a
    worker takes a lock that a gRPC thread may have held at the fork: CI's worker hung there,
    and the run with it."""
    log = tmp_path / "finalized"
    local, held, done = threading.local(), threading.Event(), threading.Event()

    def other_thread():
        local.value = _Finalized(str(log))
        local.acyclic = _Acyclic(str(log))
        held.set()
        done.wait()

    thread = threading.Thread(target=other_thread, daemon=True)
    thread.start()
    held.wait()
    _DROPPED_IN_A_WORKER.extend([_Finalized(str(log)), _Acyclic(str(log))])
    try:
        pids = _in_workers(_drop)
    finally:
        done.set()
        thread.join()
        _DROPPED_IN_A_WORKER.clear()
    gc.collect()
    ran = log.read_text().split() if log.exists() else []
    assert ran == [str(os.getpid())] * 4, (ran, pids)


_LOCK_HELD_AT_FORK = threading.Lock()


def _wait_for_the_lock(_):
    _LOCK_HELD_AT_FORK.acquire()  # held by a thread of the launcher at the fork: never released here


def test_a_stuck_worker_stops_the_run_with_its_stack(monkeypatch):
    """A worker that makes no progress (a lock held at the fork, as gRPC's was) fails the run
    with what it was doing, instead of leaving it waiting forever (CI once hung > 16 minutes)."""
    with _LOCK_HELD_AT_FORK:
        workers = pool._acquire(2)
    try:
        monkeypatch.setenv("CURATE_WORKER_STALL_S", "1")  # after the workers' start: a loaded machine's is slow
        with pytest.raises(pool.WorkerStuck) as e:
            pool._result(workers.submit(_wait_for_the_lock, 0), "a test's task")
    finally:
        pool._release(kill=True)
    message = str(e.value)
    assert "waited on a test's task" in message and "CURATE_WORKER_STALL_S" in message
    assert "in _wait_for_the_lock" in message, message


def test_cli_a_stuck_worker_fails_the_run(tmp_path, monkeypatch, capsys):
    """The README's line: workers that make no progress stop the run (exit 1), not hang it."""
    from curate import cli

    (tmp_path / "a.jsonl").write_text("".join(f'{{"text": "document {i}"}}\n' for i in range(4)))
    monkeypatch.setenv("CURATE_FAULT", "worker_stall")  # each task sleeps a minute: no CPU time
    monkeypatch.setenv("CURATE_WORKER_STALL_S", "2")
    assert cli.main(["run", "--input", str(tmp_path / "a.jsonl"), "--domain", "web", "--output", str(tmp_path / "out"),
                     "--stages", "ingest", "--workers", "2", "--progress", "off"]) == 1
    err = capsys.readouterr().err
    assert "curate: the worker processes made no progress for 2 s" in err and "in _run" in err, err


def _read(path: str) -> bytes:
    """A /proc file, or b"" once its thread or process has ended (threads come and go while we look)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _children(pid: int) -> set[int]:
    out = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        out |= {int(x) for x in _read(f"/proc/{pid}/task/{task}/children").split()}
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_end_with_a_killed_launcher(tmp_path):
    """SIGKILL to the launching process ends its worker processes too: an orphan would go on
    writing into the staging folder the next run clears (CI once failed deleting it)."""
    cfg = demo.write_demo(str(tmp_path / "d"))
    Path(cfg).write_text(Path(cfg).read_text().replace("[run]\n", "[run]\nworkers = 2\n", 1))
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", "run", cfg, "--output", str(tmp_path / "out"),
                             "--progress", "off"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, CURATE_FAULT="worker_stall"))  # each task takes a minute
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:  # forked and busy
            me = _read(f"/proc/{proc.pid}/cmdline")
            workers = {c for c in _children(proc.pid) if _read(f"/proc/{c}/cmdline") == me}  # forked copies
            time.sleep(0.01)
        assert len(workers) >= 2, "no worker processes seen"
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)]


def test_a_tasks_outputs_are_spilled_as_they_come(tmp_path, monkeypatch):
    """A worker spills each batch its DoFn yields before asking for the next: one batch at a
    time in memory, not every batch of the element (an input file's, read as one element)."""
    import apache_beam as beam
    import pyarrow as pa

    from curate import commit
    from pipelines.spill import Ref, Spiller

    folder = tmp_path / commit.TMP / "t-out"
    on_disk = []

    class Batches(beam.DoFn):
        def process(self, n):
            for i in range(n):
                on_disk.append(len(list(folder.glob("*.arrow"))) if folder.exists() else 0)
                yield pa.record_batch({"id": [f"d{i}"]})

    monkeypatch.setitem(pool._POOL, "parent", os.getppid())  # as in a worker: its parent is the launcher
    monkeypatch.setitem(pool._INNERS, "batches", Batches())
    result = pool._run("batches", b"", 3, Spiller(str(tmp_path), "t-out"))
    assert on_disk == [0, 1, 2]
    assert [type(v) for _, v in result] == [Ref, Ref, Ref]


_WARMED: list = []


class _Warmed:
    """A pooled DoFn whose ``warm_up`` loads what every process of it needs (Filter: its numba kernels)."""

    def warm_up(self):
        _WARMED.append(os.getpid())


def _warm_state(_):
    from curate.stages.filters import rules

    return bool(_WARMED), type(vars(rules)["_scan_words"]).__name__


class _StaticWarm:
    """A batch stage whose ``warm_up`` is a staticmethod (Filter's: its kernels, whatever its settings)."""

    def __init__(self, section):
        self.section = section

    @staticmethod
    def warm_up():
        _WARMED.append("static")


class _InstanceWarm(_StaticWarm):
    """A batch stage whose ``warm_up`` reads its settings (Dedup's: the shingle kernel where minhash is on)."""

    def warm_up(self):
        _WARMED.append(self.section["warm"])


def test_a_batch_stage_s_warm_up_is_called_on_its_instance(monkeypatch):
    """_StagesFn.warm_up called ``warm_up`` on each stage's class: a staticmethod's (Filter's) ran,
    a batch stage's with an instance method (as Dedup's, which reads its settings) raised TypeError
    (missing self) in the launcher at the fork. Called on the stage built from its section."""
    from curate import stages
    from pipelines.common import _StagesFn

    kinds = {"a": _StaticWarm, "b": _InstanceWarm}
    monkeypatch.setattr(stages, "stage_class", kinds.__getitem__)
    try:
        _StagesFn({"a": {}, "b": {"warm": "instance"}}).warm_up()
        assert _WARMED == ["static", "instance"]
    finally:
        _WARMED.clear()


def test_pooled_dofns_warm_up_before_the_workers_fork():
    """What a pipeline's pooled DoFns load once a process (the filter's numba kernels) is loaded
    in the launching process before it forks the workers, which inherit it. The pool forks at
    the first pooled step's setup (the reader's), before the filter's: each worker loaded the
    kernels again (a cold `curate run`: ~1.9 CPU-s more than with one process)."""
    from pipelines.common import _StagesFn
    from pipelines.spill import Spiller

    spill = Spiller(None, "x")
    for fn in (_Warmed(), _StagesFn({"filter": {}})):
        pool.pooled(fn, 2, spill)
    workers = pool._acquire(2)
    try:
        seen = set(workers.map(_warm_state, range(2)))
    finally:
        pool._release()
    _WARMED.clear()
    assert seen == {(True, "CPUDispatcher")}, seen
    assert not pool._PLANNED  # the pool's end forgets them: the next pipeline plans its own


def _faults_of_a_collection(_):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    gc.collect()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


class _Small:
    def __init__(self, i):
        self.i = i


def test_a_workers_collection_leaves_the_parents_heap_shared():
    """A worker's full collection walks its own objects, not the ones it inherited: walking
    them writes each one's GC header, and copy-on-write then copies every page of the parent's
    heap into each worker (pytest's hundreds of MB, a notebook's). Counted in minor page
    faults, against the objects the parent holds (tens of them a page)."""
    heap = [[_Small(i) for i in range(j, j + 1000)] for j in range(0, 200_000, 1000)]
    held = len(gc.get_objects())
    faults = _in_workers(_faults_of_a_collection, 2)
    del heap
    assert max(faults) < held / 400, (faults, held)



def test_the_launcher_keeps_its_heap_shared_with_its_workers():
    """The launcher's list of its objects (each worker's reference to them, see _acquire) is
    dropped when the workers have ended, not after the fork: dropping it writes every object's
    count, and copy-on-write then copied every page of the launcher's heap while the workers
    shared it (pytest's ~56k pages: hundreds of MB for the run's length). Counted in the
    launcher's minor page faults while its workers live, against the objects it holds (tens
    of them a page; the list itself is one pointer each)."""
    import resource

    heap = [[_Small(i) for i in range(j, j + 1000)] for j in range(0, 200_000, 1000)]
    held = len(gc.get_objects())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    pool._acquire(2)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    pool._release()
    del heap
    assert faults < held / 100, (faults, held)


class _Cycle:
    def __init__(self):
        self.me = self


def _cycles_alive(_):
    """Of the cycles a task makes, each round's kept a while (into the oldest generation) then
    dropped, how many are alive at its end: no gc.collect, only the collector's own triggers."""
    import weakref

    refs = []
    for _ in range(20):
        held = [_Cycle() for _ in range(5000)]
        refs += map(weakref.ref, held)
        junk = [[i] for i in range(20_000)]  # the task's other allocations
        del held, junk
    return sum(r() is not None for r in refs), len(refs)


def test_a_worker_collects_its_own_cycles():
    """The launcher's objects are frozen in a worker (its collections skip them), not the
    worker's collector: the reference cycles a task makes and drops are freed in the worker
    by the collector's own triggers, however long they lived (the oldest generation's are
    collected once they outgrow a quarter of those the last full collection kept). The last
    rounds' cycles may still wait for that trigger (15,000 of 50,000 in a pytest worker that
    had run other tests), so most of 100,000 being freed is the mark; a disabled collector
    frees none."""
    heap = [[_Small(i) for i in range(j, j + 1000)] for j in range(0, 100_000, 1000)]
    got = _in_workers(_cycles_alive, 2)
    del heap
    assert all(alive < total / 2 for alive, total in got), got


def test_a_step_run_in_one_process_declares_the_type_its_pooled_form_does(tmp_path, monkeypatch):
    """With --workers 1 (and on Dataflow or Flink, where curate pools nothing) Beam inferred each
    heavy step's output type from the bytecode of its process() and every function it calls, a
    walk a pooled step skips (Pooled says Any): ~0.15 CPU-s more a run's build. Each step says
    Any now, as its pooled form, the default, does (its coders the default run's; the outputs the
    same bytes: test_cli's test_workers_option)."""
    import apache_beam as beam
    from apache_beam.typehints import Any, trivial_inference

    from curate import cli
    from pipelines import pipeline

    (tmp_path / "p.jsonl").write_text('{"text": "a page of words"}\n')
    real_build, real_infer, built = pipeline.build, trivial_inference.infer_return_type, {}

    class Built(Exception):
        pass

    def build(p, cfg, shards, root, progress=None, workers=1, spill=True):
        calls = []
        monkeypatch.setattr(trivial_inference, "infer_return_type", lambda *a, **k: calls.append(a[0]) or real_infer(*a, **k))
        real_build(p, cfg, shards, root, progress, workers, spill)
        monkeypatch.setattr(trivial_inference, "infer_return_type", real_infer)
        fns = []

        class Visit(beam.pipeline.PipelineVisitor):
            def visit_transform(self, node):
                if isinstance(node.transform, beam.ParDo) and "infer_output_type" in vars(node.transform.fn):
                    fns.append(node.transform.fn)

        p.visit(Visit())
        built[workers] = (len(calls), fns)
        raise Built

    monkeypatch.setattr(pipeline, "build", build)
    for n in (1, 2):
        with pytest.raises(Built):  # built, not run
            cli.main(["run", "--input", str(tmp_path / "p.jsonl"), "--domain", "web", "--output", str(tmp_path / f"o{n}"),
                      "--progress", "off", "--workers", str(n)])
    (one, fns), (two, _) = built[1], built[2]
    assert one <= two, (one, two)  # were 921 and 304 calls
    assert {type(f).__name__ for f in fns} >= {"ReadShardFn", "_WriteShardFn", "_StagesFn", "_EncodeFn"}
    assert all(beam.ParDo(fn).infer_output_type(Any) == Any for fn in fns)
