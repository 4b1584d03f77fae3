"""The per-process caches of pipelines/spill.py (files' indexes, open files) under the threads of
Beam's DirectRunner and the pool, and past their bounds."""
from __future__ import annotations

import sys
import threading

import pyarrow as pa

from pipelines import spill as sp


def _indexed(tmp_path, n: int, keys: int = 8) -> list:
    """``n`` Indexed files of ``keys`` keys, a row each: key k of file i holds the value i * 100 + k."""
    spiller = sp.Spiller(str(tmp_path), "t-threads")
    return [spiller.by_key([(k, pa.record_batch({"v": [i * 100 + k]})) for k in range(keys)])[0] for i in range(n)]


def test_threads_looking_up_indexes_while_they_are_evicted(tmp_path, monkeypatch):
    """Threads finding pieces in files whose indexes the bounded cache evicts meanwhile (every
    key's reader looks in every file; the DirectRunner's and the pool's threads share the
    process's cache): each finds its own pieces, none fails, and the cache's count of rows held
    stays what it holds. Before its lock the count drifted (two threads missing one file both
    added its rows, one entry held), 24-40 rows counted for 8-16 held in 8 runs of 8: past
    the bound, the cache kept one file and read every other index again at each lookup. (A
    lookup whose index another thread evicted between its get and its move_to_end would raise
    KeyError: not seen here.)"""
    files = _indexed(tmp_path, 12)
    monkeypatch.setattr(sp, "_INDEX_ROWS", 8 * 3)  # three files' indexes: the others evicted all the time
    monkeypatch.setattr(sp, "_index_rows", 0)
    monkeypatch.setattr(sp, "_INDEXES", type(sp._INDEXES)())
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switched at every few bytecodes: the races show at once
    errors: list = []
    wrong: list = []

    def look(t: int):
        try:
            for j in range(200):
                i, k = (t * 7 + j) % len(files), (t + j) % 8
                refs = files[i].find(k)
                if [sp.load(r).column("v").to_pylist() for r in refs] != [[i * 100 + k]]:
                    wrong.append((i, k))
        except Exception as e:  # noqa: BLE001 - the failure looked for
            errors.append(repr(e))

    try:
        threads = [threading.Thread(target=look, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors and not wrong, (errors[:3], wrong[:3])
    assert sp._index_rows == sum(len(v) for v in sp._INDEXES.values()) <= sp._INDEX_ROWS


class _Counting:
    """The local disk as a file system that is not ``LocalFileSystem`` (so spill keeps its
    files open, as a bucket's), counting opens for reading by path."""

    def __init__(self):
        import collections

        self.fs, self.opens = pa.fs.LocalFileSystem(), collections.Counter()

    def __getattr__(self, name):
        return getattr(self.fs, name)

    def open_input_file(self, path):
        self.opens[path] += 1
        return self.fs.open_input_file(path)


def test_keys_read_across_many_bucket_files_open_each_once(tmp_path, monkeypatch):
    """Each key's reader of a shuffle by key reads its pieces in every file, in the files'
    order: a cycle over the step's files, key after key. An open of a bucket's file is two
    requests (its metadata, a read), so spill keeps them open; past the 16 it kept, the least
    recently used was always the next needed: 40 files x 8 keys read opened 360 times (every
    piece read and index reopened its file), now 40."""
    import pyarrow.fs  # noqa: F401 - pa.fs

    counting = _Counting()
    monkeypatch.setattr(sp, "_fs", lambda path: (counting, path))
    monkeypatch.setattr(sp, "_OPEN", {})
    monkeypatch.setattr(sp, "_INDEXES", type(sp._INDEXES)())
    monkeypatch.setattr(sp, "_index_rows", 0)
    files = _indexed(tmp_path, 40)
    got = {k: [b.column("v").to_pylist() for b in sp.Loaded(sp.Located(k, files))] for k in range(8)}
    assert got == {k: [[i * 100 + k] for i in range(40)] for k in range(8)}
    assert sorted(counting.opens.values()) == [1] * 40, sum(counting.opens.values())
