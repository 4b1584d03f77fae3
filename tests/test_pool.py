"""The forked worker pool (pipelines/pool.py)."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
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


def test_workers_never_finalize_the_parents_garbage(tmp_path):
    """Garbage the launching process holds when it forks its workers is collected there, not
    in a worker: a worker unfreezes the parent's objects, and its collector would otherwise run
    their finalizers (CI once aborted in a worker collecting a gRPC channel)."""
    log = tmp_path / "finalized"
    gc.disable()  # keep the cycle uncollected until the fork, as between two collections
    try:
        _Finalized(str(log))
        workers = pool._acquire(2)
        try:
            pids = set(workers.map(_collect, range(4)))
        finally:
            pool._release()
    finally:
        gc.enable()
    gc.collect()
    ran = set(log.read_text().split()) if log.exists() else set()
    assert ran == {str(os.getpid())} and not ran & {str(p) for p in pids}, (ran, pids)


def _collect(_):
    gc.collect()
    return os.getpid()


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
