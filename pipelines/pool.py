"""A DoFn's per-element work in forked worker processes: local runs use every core.

Beam's DirectRunner runs a pipeline in one process, and its own multi-process mode starts
fresh interpreters that import everything, load every model and exchange every element over
gRPC (measured: slower than one process). ``Pooled(inner, workers, spill)`` instead forks
``workers`` processes at the first pooled DoFn's ``setup`` (the reader's), after every pooled
DoFn of the pipeline has loaded what each process loads once (its ``warm_up``: numba kernels)
in this process, which the workers then inherit. The models are loaded before that, once, in
this process, and shared copy-on-write: the language-ID and quality models by config.load's
check (into ``models.fasttext_model``'s cache, which a worker's setup then answers from), the
tokenizer by the pipeline's build (tiktoken's cache, ``tokenize.hf_tokenizer``'s); a model file
written in the last seconds is not kept there (``commit.settled``) and each worker loads its
own (tests/test_pool_models.py, ``bench_pool_start.py --unshared 0,1``). A
batch comes out as a spilled file (pipelines/spill.py) and goes on to the next pooled step
as that file's reference; a batch made in this process (after a shuffle) goes in through the
pool's pipe. ``process`` submits an element and yields whatever results are ready, keeping
at most two per worker in flight; ``finish_bundle`` yields the rest. Results leave in
completion order: every consumer downstream sorts or sums, so outputs are byte-identical to a
one-process run.

Used only where the runner runs DoFns in this process (the DirectRunner's default mode);
elsewhere ``workers`` is 1 and the inner DoFn runs as it is: Dataflow and Flink already run
one worker per core. The workers are a ``concurrent.futures`` process pool: a worker that
dies fails the run (``WorkerDied``) instead of leaving it waiting for the tasks it held, and
the workers die with the launching process, however it ends. Workers that make no progress
(no CPU time, theirs or their helpers') for 10 minutes (``CURATE_WORKER_STALL_S``) while the
run waits on them fail it too (``WorkerStuck``, with their stacks) instead of a wait forever.
Every object the launching process holds when it forks stays referenced in each worker for
the worker's life: no finalizer of an inherited object runs there (see ``_acquire``). They ignore Ctrl-C (the
launching process handles it and ends them), and exit with their bundle's DoFn
(``teardown``), closing their HTML-extraction helpers so that their CPU time is accounted to
the run.
"""
from __future__ import annotations

import collections
import faulthandler
import gc
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.metrics import Metrics
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindows

from curate import commit
from pipelines.spill import Located, Spiller, known, load, remember


def _sendable(element):
    """A grouped element, (key, values) or (key, {tag: values}), with its lazy iterables as
    lists: what a worker process can be sent (a ``Located`` goes as it is: the worker finds
    its pieces)."""
    if isinstance(element, tuple) and len(element) == 2:
        key, v = element
        if isinstance(v, dict):
            return key, {t: vs if isinstance(vs, Located) else list(vs) for t, vs in v.items()}
        if not isinstance(v, (pa.RecordBatch, pa.Table, str, bytes)) and hasattr(v, "__iter__"):
            return key, list(v)
    return element


# --- the worker processes: one pool per run, shared by every pooled DoFn ------------------

_POOL = {"pool": None, "users": 0}
# in the launching process: the pooled DoFns built since the pool last ended, whose ``warm_up``
# (what every process of theirs loads once: numba kernels) runs there before the workers fork
_PLANNED: list = []
_INNERS: dict = {}  # in a worker: DoFn key -> its DoFn, set up on first use
_COUNTS: collections.Counter = collections.Counter()  # in a worker: Beam counters of the task running
_COUNTERS = "__counters__"  # the result entry carrying them


class _Counter:
    """Metrics.counter in a worker, where no runner collects counters: counts into _COUNTS."""

    def __init__(self, key):
        self.key = key

    def inc(self, n: int = 1):
        _COUNTS[self.key] += n

    def dec(self, n: int = 1):
        _COUNTS[self.key] -= n


def _die_with_parent(parent: int) -> None:
    """A worker ends when the launching process does, even by SIGKILL: an orphan would go on
    writing into the staging folder that the next run clears and reuses. Linux: the kernel
    kills it (PR_SET_PDEATHSIG); elsewhere each task first checks that its parent is alive."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _init(parent: int, stacks: str) -> None:
    _die_with_parent(parent)
    # SIGUSR1 writes this worker's stacks to a file, for WorkerStuck: faulthandler's handler is
    # C code that needs no lock, so it answers in a worker stuck in native code too
    _POOL["stack_file"] = open(os.path.join(stacks, str(os.getpid())), "a")
    faulthandler.register(signal.SIGUSR1, _POOL["stack_file"], all_threads=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the launching process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler (it raises KeyboardInterrupt): SIGTERM ends a worker at once
    # the parent's objects stay frozen here (_acquire froze them): a worker's collections never
    # walk them, for walking writes each one's GC header, and copy-on-write then copied every
    # page of the parent's heap into each worker (test_a_workers_collection_leaves_the_parents_heap_shared)
    from multiprocessing import util

    from curate.readers import extract_helper
    from pipelines import progress

    progress.after_fork()  # the parent's counts are not this worker's
    util.Finalize(None, extract_helper._close_helpers, exitpriority=10)
    # Beam counters incremented here are collected per task and sent back with the results
    Metrics.counter = staticmethod(lambda namespace, name: _Counter((Metrics.get_namespace(namespace), name)))


def _run(key: str, payload: bytes, value, spill: Spiller | None):
    """In a worker: the DoFn's outputs for one element, Arrow data spilled to files."""
    commit._fault("worker_exit")  # the tests' way to kill a worker midway
    if os.environ.get("CURATE_FAULT") == "worker_stall":  # ... or to keep it busy (and say when)
        if os.environ.get("CURATE_STALL_MARK"):
            open(os.environ["CURATE_STALL_MARK"], "a").close()
        time.sleep(60)
    if os.getppid() != _POOL["parent"]:  # orphaned (where the kernel does not end it)
        os._exit(1)
    inner = _INNERS.get(key)
    if inner is None:
        inner = _INNERS[key] = pickler.loads(payload)
        inner.setup()
    _COUNTS.clear()

    def outputs():
        yield from inner.process(load(value)) or ()
        yield from inner.finish_bundle() or ()  # finish: flush tallies

    result = []
    for o in outputs():  # each spilled as it comes: one batch at a time in memory, not an input's all
        tag, v = (o.tag, o.value) if isinstance(o, beam.pvalue.TaggedOutput) else (None, o)
        if spill is not None and isinstance(v, (pa.RecordBatch, pa.Table)) and v.num_rows:
            v = spill.one(v)
        result.append((tag, v))
    counters = {k: v for k, v in _COUNTS.items() if v}
    return ([(_COUNTERS, counters)] if counters else []) + result


def _acquire(size: int):
    if _POOL["pool"] is None:
        # the pool forks at the first pooled step's setup (the reader's), before the runner sets
        # up the later steps here: what they load once a process, loaded now, the workers inherit
        # instead of each loading it again (the filter's kernels: ~1.9 CPU-s more for a cold run)
        for fn in _PLANNED:
            fn.warm_up()
        # nothing of this process is freed or finalized in a worker: each keeps a reference to
        # every object of this process (this list, which the fork copies; garbage too), and a
        # worker ends by os._exit. A gRPC object left by an earlier Beam run in this process (a
        # channel, a call, a server) freed in a worker takes a lock of gRPC's that one of its
        # threads here may have held at the fork, never to be released there: the worker hung,
        # and the run with it; a dead channel's finalizer aborted one. The fork itself frees what
        # only another thread held (its threading.local values, its exception being handled), so
        # these are referenced before it. gc.get_objects between unfreeze and freeze: it does not
        # list frozen objects. The workers keep them all frozen (see _init): no collection here
        # is needed first (it cost ~0.25 CPU-s a run in a process of 2M objects, pytest's). Garbage
        # holding a file (a pipe's write end in an old cycle) stays open here and in every worker
        # until the run ends, a reader's EOF with it: a collection here would not close it, for
        # pipeline.run froze the heap, that garbage too, before the run (bench_pool_start
        # --gc-at-fork 0,1: 0.01 CPU-s, what it walks is the run's); curate's own pipes, the
        # extraction helpers', are live and ended by a kill, not an EOF
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        _POOL["inherited"] = gc.get_objects()
        gc.freeze()
        try:
            _POOL["parent"] = os.getpid()
            _POOL["stacks"] = tempfile.mkdtemp(prefix=f"curate-stacks-{os.getpid()}-")
            # concurrent.futures, not multiprocessing.Pool: a worker that dies (killed for
            # memory, a crash in native code) fails its tasks there, where Pool replaces it and
            # never answers them, and Pool.terminate can then deadlock on its queue's lock
            before = set(multiprocessing.active_children())
            pool = ProcessPoolExecutor(size, multiprocessing.get_context("fork"), _init, (_POOL["parent"], _POOL["stacks"]))
            task = pool.submit(int)  # forks every worker now, inside the freeze
            # the workers, for a dead one's exit code (WorkerDied): the children that are new
            _POOL["pool"], _POOL["procs"] = pool, list(set(multiprocessing.active_children()) - before)
            _result(task, "the workers' start")
        finally:
            # the list is dropped when the workers have ended (shutdown), not now: dropping it
            # writes every object's count, and copy-on-write then copied this process's whole
            # heap while the workers share it (test_the_launcher_keeps_its_heap_shared_with_its_workers)
            if not frozen:  # else they stay frozen, as the caller had them (and what came since)
                gc.unfreeze()
    _POOL["users"] += 1
    return _POOL["pool"]


def _release(kill: bool = False) -> None:
    _POOL["users"] -= 1
    if _POOL["users"] <= 0 or kill:
        shutdown(kill)


def shutdown(kill: bool = False) -> None:
    """End the worker processes (normally: their exit handlers close the extraction helpers,
    so their CPU time is accounted to this process). Called when the last pooled DoFn is torn
    down, and by the pipeline when a run ends in any way: ``kill`` when it was interrupted or
    failed, ending the workers at once instead of waiting for the tasks they hold (a task can
    take minutes on a loaded machine; Ctrl-C must not)."""
    pool, _POOL["pool"], _POOL["users"] = _POOL["pool"], None, 0
    _PLANNED.clear()
    if pool is not None:
        if kill:
            for p in _POOL.get("procs", ()):
                p.terminate()  # SIGTERM: a worker's default action (see _init), it ends at once
        pool.shutdown(wait=True, cancel_futures=True)  # tasks not started are dropped (an interrupt)
    _POOL["procs"] = []
    _POOL["inherited"] = None  # the workers have ended: here these objects are freed as usual
    if _POOL.get("stacks"):
        shutil.rmtree(_POOL.pop("stacks"), ignore_errors=True)


class WorkerDied(RuntimeError):
    """A worker process ended while the run was going."""


class WorkerStuck(WorkerDied):
    """No worker process made progress for CURATE_WORKER_STALL_S seconds while the run waited on one."""


# seconds without a CPU tick used by any worker or its helper processes, while the run waits
# on a task, before the run is stopped: a worker computing, however slowly on a loaded
# machine, uses some; one waiting on a lock that nothing will release uses none
def _stall_s() -> float:
    return float(os.environ.get("CURATE_WORKER_STALL_S") or 600)


def _cpu(pids) -> int | None:
    """CPU ticks used so far by these processes and their descendants (Linux's /proc); None
    where it cannot be read. A helper that ends takes its ticks with it: compare, not subtract."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                    todo += [int(x) for x in f.read().split()]
        except FileNotFoundError:  # it ended meanwhile
            continue
        except (OSError, ValueError, IndexError):  # no /proc
            return None
    return total


def _stacks(procs) -> str:
    """What each live worker is doing: its Python stacks, asked by SIGUSR1 (see _init)."""
    out = []
    for p in procs:
        if p.exitcode is not None:
            continue
        path = os.path.join(_POOL.get("stacks") or "", str(p.pid))
        try:
            os.truncate(path, 0)
            os.kill(p.pid, signal.SIGUSR1)
        except OSError:
            continue
        deadline, text = time.monotonic() + 5, ""
        while time.monotonic() < deadline:  # the handler writes at once: wait until it has
            time.sleep(0.1)
            with open(path) as f:
                seen, text = text, f.read()
            if text and text == seen:
                break
        lines = text.strip().splitlines()
        ours = next((i for i, line in enumerate(lines) if line.endswith(" in _process_worker")), len(lines))
        out.append(f"worker {p.pid}:\n" + ("\n".join(lines[:ours]) or "(no answer)"))  # less the pool's own frames
    return "\n".join(out)


def _result(task, doing: str = "a task"):
    """A task's result; a worker's death fails the run (WorkerDied) rather than a step, and so
    does a pool whose workers all stop making progress (WorkerStuck) while it waits."""
    procs = _POOL.get("procs", ())
    pids = [p.pid for p in procs]
    stall = _stall_s()
    poll = max(0.01, min(10.0, stall / 20))
    last, since = None, None  # read only once the task is not done at once: most are
    try:
        while True:
            try:
                return task.result(timeout=poll)
            except TimeoutError:
                pass
            now, t = _cpu(pids), time.monotonic()
            # progress, or this process itself did not run for a while (stopped, starved): count anew
            if since is None or now is None or now != last or t - checked > 5 * poll:
                last, since = now, t
            checked = t
            if t - since >= stall:
                raise WorkerStuck(
                    f"the worker processes made no progress for {t - since:.0f} s (no CPU time used) while the run "
                    f"waited on {doing}: one is stuck (a deadlock); the run is stopped. Set CURATE_WORKER_STALL_S "
                    f"to wait longer. Their stacks:\n{_stacks(procs)}")
    except BrokenProcessPool:
        deadline = time.monotonic() + 2
        while any(p.exitcode is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.02)  # the pool ends the other workers and reaps them all
        codes = [p.exitcode for p in procs if p.exitcode is not None]
        first = [c for c in codes if c != -signal.SIGTERM] or codes  # the others were ended after it
        raise WorkerDied(f"a worker process ended with exit code {first[0] if first else '?'} while the run was going "
                         "(killed for memory, or a crash in native code); the run is stopped") from None


class Pooled(beam.DoFn):
    """``inner`` (a DoFn with ``process(element)``, no side inputs) run by ``workers`` forked
    processes; ``spill`` (a Spiller; folder None: pickled instead) moves the batches."""

    def __init__(self, inner: beam.DoFn, workers: int, spill: Spiller):
        self.inner, self.workers, self.spill = inner, workers, spill

    def infer_output_type(self, input_type):
        # what ``inner`` yields, which Beam cannot know: its bytecode inference walks
        # process() and every function it calls (~0.2 CPU-s a run) only to reach Any
        return beam.typehints.Any

    def setup(self):
        self.payload = pickler.dumps(self.inner)  # before setup: no models inside
        self.key = uuid.uuid4().hex
        self.inner.setup()  # here too: configuration errors (and the tests' faults) surface in this process
        self.pool = _acquire(self.workers)
        self.spill_out = self.spill if self.spill.folder else None
        self.doing = f"a task of {type(self.inner).__name__}"

    def start_bundle(self):
        self.pending = collections.deque()

    def process(self, element):
        if isinstance(element, (pa.RecordBatch, pa.Table)):
            # a batch a pooled step just loaded goes on by its Ref; a new one (assembled here,
            # after a shuffle) through the pipe: a file would be the same copy, on disk
            # (~1.9 of the 9.8 bytes spilled per byte of text at 1x, for ~3% more CPU)
            sent = known(element) or element
        else:
            sent = _sendable(element)
        self.pending.append(self.pool.submit(_run, self.key, self.payload, sent, self.spill_out))
        while self.pending and (self.pending[0].done() or len(self.pending) > 2 * self.workers):
            yield from self._outputs(_result(self.pending.popleft(), self.doing))

    def finish_bundle(self):
        while self.pending:
            for o in self._outputs(_result(self.pending.popleft(), self.doing)):
                if isinstance(o, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(o.tag, GlobalWindows.windowed_value(o.value))
                else:
                    yield GlobalWindows.windowed_value(o)

    @staticmethod
    def _outputs(result):
        for tag, ref in result:
            if tag == _COUNTERS:  # the worker's Beam counters, counted here where the runner sees them
                for (ns, name), n in ref.items():
                    Metrics.counter(ns, name).inc(n)
                continue
            v = load(ref)
            if v is not ref:
                remember(v, ref)
            yield v if tag is None else beam.pvalue.TaggedOutput(tag, v)

    def teardown(self):
        if getattr(self, "pool", None) is not None:
            self.pool = None
            # Beam discards a failed (or interrupted) bundle's DoFns inside its `except`: then
            # the tasks' results are not wanted, and the workers are ended without waiting
            _release(kill=sys.exc_info()[0] is not None)
        self.inner.teardown()


def _any_output(input_type):
    return beam.typehints.Any


def pooled(fn: beam.DoFn, workers: int, spill: Spiller) -> beam.DoFn:
    """``fn`` run by ``workers`` forked processes; itself with one. Its ``warm_up()``, if it
    has one, runs in this process before the workers fork."""
    if workers <= 1:
        # the type Pooled declares, as in a default run: Beam's bytecode inference of
        # ``fn.process`` and all it calls cost ~0.15 CPU-s a run's build (--workers 1, Dataflow, Flink)
        fn.infer_output_type = _any_output
        return fn
    if hasattr(fn, "warm_up"):
        _PLANNED.append(fn)
    return Pooled(fn, workers, spill)


def workers(run: dict, runner_local: bool) -> int:
    """Worker processes per pooled DoFn: ``run.workers`` (0: one a core this process may use, config.cores) where the
    runner runs DoFns in the launching process, else 1."""
    from curate.config import cores

    if not runner_local:
        return 1
    return run.get("workers", 0) or cores()
