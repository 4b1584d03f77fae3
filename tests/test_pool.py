"""The forked worker pool (pipelines/pool.py)."""
from __future__ import annotations

import gc
import os

from pipelines import pool


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
