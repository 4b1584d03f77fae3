"""Arrow data crosses shuffles as references to files under the run's staging folder.

A shuffle that moved document batches moved every document's full text through the runner:
on the DirectRunner that is memory (it keeps grouped collections in memory), on Dataflow it is
the shuffle bill. Instead, the step before a shuffle writes the pieces it would send into one
Arrow IPC file under ``STAGING/tmp/LABEL/`` and sends ``Ref`` s (path, piece index, rows:
~100 bytes); the step after it reads the pieces back. The grouping, the keys, the order the
consumers sort into, hence every output byte, are what they were; only the payload travels by
file. Documents are written once per shuffle they cross and read back once. A shuffle by
shard (a batch split into a piece per shard) sends one reference per file instead, the file
indexing its pieces by shard (``ByKey``): the runner holds files, not batches x shards pieces.

The files are never output. Each step's own folders (``TMP/STEP-*``, ingest's ``ingest``) are
deleted as soon as that step and the next one are done, the reader's ``read`` after its own
step (``Release``): nothing reads them after that, so the disk a run needs at once is what two
or three steps wrote, not all of it. ``curate.commit.finish`` counts the rest, and what each
released folder held, into the manifest's ``staged`` entry (``peak_bytes``: the most at once)
and deletes the folder before the swap; ``abort`` and the next run delete an interrupted
run's. Each file is written under a fresh name and never rewritten, so a retried bundle only
leaves an unreferenced file behind (deleted with the rest).

``run.spill = false`` sends the batches through the shuffle itself, as before (a runner with
a shuffle service and no shared filesystem, or a comparison; outputs are byte-identical).
"""
from __future__ import annotations

import collections
import json
import os
import sys
import threading
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

import apache_beam as beam

from curate import commit, output
from curate.readers.common import fs_path, is_uri

TMP = commit.TMP  # under the staging folder; curate.commit deletes it before the swap


class Ref:
    """A piece spilled to ``path``: the IPC messages at bytes [offset, offset + length) of the
    file's stream, whose schema is in its first ``head`` bytes; a record batch, or a table
    when ``table``."""

    __slots__ = ("path", "offset", "length", "rows", "table", "head")

    def __init__(self, path: str, offset: int, length: int, rows: int, table: bool, head: int):
        # interned: the pieces of one file, decoded one by one where the runner groups them
        # (the launching process, on the DirectRunner), share one path string (~150 B a piece)
        self.path = sys.intern(path)
        self.offset, self.length, self.rows, self.table, self.head = offset, length, rows, table, head

    def __reduce__(self):
        return Ref, (self.path, self.offset, self.length, self.rows, self.table, self.head)

    @property
    def num_rows(self) -> int:  # like a batch's: filters on emptiness need not load it
        return self.rows


class Indexed:
    """A spilled file of pieces by key (``Spiller.by_key``): the pieces, then their index,
    ``count`` rows of (key, offset, length, rows) as little-endian int64 sorted by key, from
    byte ``index`` to the end; its pieces are all batches or all tables (``table``). Where a
    Ref per piece crossed a shuffle by key (batches x shards
    of them, each held by the runner in the launching process on the DirectRunner: ~145 B),
    this one reference per file is held for a side input, and each key's reader finds its
    pieces in every file's index (``Located``)."""

    __slots__ = ("path", "index", "count", "table", "head")

    def __init__(self, path: str, index: int, count: int, table: bool, head: int):
        self.path, self.index, self.count, self.table, self.head = path, index, count, table, head

    def __reduce__(self):
        return Indexed, (self.path, self.index, self.count, self.table, self.head)

    def pieces(self) -> list:
        """(key, Ref) of every piece in this file."""
        return [(int(k), Ref(self.path, int(o), int(n), int(r), self.table, self.head)) for k, o, n, r in _index(self)]

    def find(self, key: int) -> list:
        """The Refs of ``key``'s pieces in this file (none: no rows of that key)."""
        rows = _index(self)
        lo, hi = np.searchsorted(rows[:, 0], [key, key + 1])
        return [Ref(self.path, int(o), int(n), int(r), self.table, self.head) for _, o, n, r in rows[lo:hi]]


_INDEXES: "collections.OrderedDict[str, np.ndarray]" = collections.OrderedDict()  # path -> its index rows
_INDEX_ROWS = 1 << 20  # kept at most (32 MB): a process reading many keys reads each file's index once
_index_rows = 0
# the DirectRunner's and the pool's threads look up at once: unlocked, two threads missing one
# file both counted its rows, and the count, past the bound, left one file's index kept
_INDEX_LOCK = threading.Lock()


def _index(f: Indexed) -> np.ndarray:
    """``f``'s index rows, read once per process while they fit: every key's reader looks in
    every file (keys x files lookups, hundreds of thousands where both are in the hundreds),
    and a file is never rewritten under its name."""
    global _index_rows
    with _INDEX_LOCK:
        rows = _INDEXES.get(f.path)
        if rows is not None:
            _INDEXES.move_to_end(f.path)
            return rows
    # read unlocked (other threads' lookups do not wait on it); a thread reading it meanwhile too keeps its own
    rows = np.frombuffer(_open(f.path).read_at(32 * f.count, f.index), dtype="<i8").reshape(-1, 4)
    with _INDEX_LOCK:
        if f.path not in _INDEXES:
            _INDEXES[f.path] = rows
            _index_rows += len(rows)
            while _index_rows > _INDEX_ROWS and len(_INDEXES) > 1:
                _index_rows -= len(_INDEXES.popitem(last=False)[1])
    return rows


class Located:
    """The pieces of ``key`` in each of ``files`` (Indexed): one key's group of a ``ByKey``,
    found where it is read (a worker), so no per-piece reference passes through the runner.
    ``Loaded`` reads it; it is not itself iterable, so a pooled step sends it as it is."""

    __slots__ = ("key", "files")

    def __init__(self, key: int, files):
        self.key, self.files = key, files

    def __reduce__(self):
        return Located, (self.key, self.files)

    def refs(self) -> list:
        return [ref for f in self.files for ref in f.find(self.key)]


_LOADED: "collections.OrderedDict[int, tuple]" = collections.OrderedDict()  # id(batch) -> (batch, its Ref)


def remember(batch, ref) -> None:
    """``batch`` was just loaded from ``ref`` and may go on unchanged into another spill (the
    next pooled step, a ledger, a wait for a side input): that spill sends ``ref`` again
    instead of writing the batch to a new file."""
    _LOADED[id(batch)] = (batch, ref)  # holding the batch keeps its id from being reused
    while len(_LOADED) > 8:  # its consumer is a step fused after the load: a few suffice
        _LOADED.popitem(last=False)


def known(batch):
    """The Ref ``batch`` was just loaded from (``remember``), or None."""
    hit = _LOADED.get(id(batch))
    return hit[1] if hit is not None and hit[0] is batch else None


def _fs(path: str):
    return fs_path(path) if is_uri(path) else (pafs.LocalFileSystem(), path)


_OPEN: dict = {}  # pid -> OrderedDict(path -> a bucket's spilled file, open for reading)
# kept open at most per process: each key's reader of a shuffle by key reads every file of the
# step in turn, so past this many files every read reopens its file (the least recently used is
# the next needed): 16 reopened a step's 45 files at each of 33 keys. One held after a read
# costs ~0.15-0.3 MB (a GCS object's, pyarrow's client: measured on the emulator), ~20 MB here
_OPEN_FILES = 64
_OPEN_LOCK = threading.Lock()  # the DirectRunner's multi-threaded mode reads in threads


def _open(path: str):
    """The spilled file ``path``, open for reading (closed when the caller lets go of it). A
    bucket's file stays open for the next piece read from it: each open of a GCS object asks
    for its metadata and starts a read (two requests, billed, ~10-50 ms each), and a shuffle
    delivers a file's pieces one by one (a run of the demo opened each dedup file ~20 times).
    Files are never rewritten under their name, so an open one stays right. Kept per process:
    one opened before a fork is the parent's (its connection is not this process's to use, nor
    to close, so it is never let go of here)."""
    fs, p = _fs(path)
    if isinstance(fs, pafs.LocalFileSystem):
        return pa.OSFile(p)
    with _OPEN_LOCK:
        files = _OPEN.setdefault(os.getpid(), collections.OrderedDict())
        f = files.get(path)
        if f is not None:
            files.move_to_end(path)
            return f
    f = fs.open_input_file(p)
    with _OPEN_LOCK:
        files[path] = f
        while len(files) > _OPEN_FILES:
            files.popitem(last=False)  # closed once no thread reads it any more (pyarrow closes on release)
    return f


def _needs_folder(folder: str) -> bool:
    """Whether a file written under ``folder`` needs it made first: not in an object store,
    which has no folders (pyarrow's marker objects cost a request for each folder above, for
    each step and process: ~8 on GCS, ~440 of a demo run's ~3,400)."""
    return not commit._bucket(folder)


class Spiller:
    """Writes the pieces of one element into one file under ``folder`` (None: no spilling,
    pieces pass through as they are). ``compression``: None, "lz4" or "zstd"."""

    def __init__(self, folder: str | None, label: str, compression: str | None = None):
        self.root = folder
        self.folder = f"{folder.rstrip('/')}/{TMP}/{label}" if folder else None
        self.compression = None if compression in (None, "none") else compression
        self._made = False

    @property
    def copies(self) -> bool:
        """Whether pieces must own their buffers (``output.take_shards``' ``copy``): they do
        unless they are written here, as IPC, which writes only a slice's rows."""
        return self.folder is None

    def pieces(self, keyed) -> list:
        """[(key, batch or table)] -> [(key, Ref)] of one new file (or the input unchanged).
        A Ref locates its piece's messages and its file's schema, so a consumer reads exactly
        those bytes, whatever order the shuffle delivers the pieces of many files in."""
        keyed = [(k, v) for k, v in keyed if v.num_rows]
        if self.folder is None or not keyed:
            return keyed
        return self._write(keyed)[0]

    def by_key(self, keyed) -> list:
        """[(int key, batch or table)] -> [Indexed] of one new file holding every piece, for a
        ``ByKey`` (or the non-empty pieces unchanged where nothing is spilled): one reference
        per file crosses the runner, not one per piece (``Indexed``)."""
        keyed = [(k, v) for k, v in keyed if v.num_rows]
        if self.folder is None or not keyed:
            return keyed
        refs, end = self._write(keyed, index=True)
        first = refs[0][1]
        return [Indexed(first.path, end, len(refs), first.table, first.head)]

    def _write(self, keyed, index: bool = False):
        """One IPC stream of every piece (the schema once: a stream per piece cost ~2x the CPU
        to write and read where pieces hold a few rows), each piece's messages located by its Ref."""
        fs, base = _fs(self.folder)
        if not self._made:
            if _needs_folder(self.folder):
                fs.create_dir(base, recursive=True)
            self._made = True
        name = f"{uuid.uuid4().hex}.arrow"
        path, full = f"{base}/{name}", f"{self.folder}/{name}"
        opts = pa.ipc.IpcWriteOptions(compression=self.compression) if self.compression else None
        refs = []
        schema = keyed[0][1].schema
        # buffered: the IPC writer makes several small writes per piece (1.7M write calls at 64 shards)
        with fs.open_output_stream(path, buffer_size=1 << 20) as sink:
            w = pa.ipc.new_stream(sink, schema, options=opts)
            w.write_batch(pa.RecordBatch.from_pylist([], schema=schema))  # the schema goes out with the first batch
            head = sink.tell()
            for k, v in keyed:
                if not v.schema.equals(schema):  # the pieces of one split share it
                    raise ValueError(f"internal error: pieces of one spill with different schemas: {v.schema} != {schema}")
                start = sink.tell()
                w.write(v)
                refs.append((k, Ref(full, start, sink.tell() - start, v.num_rows, isinstance(v, pa.Table), head)))
            end = sink.tell()  # the stream's end marker is left out: pieces are read by their Refs
            if index:  # (key, offset, length, rows) per piece, by key, after the last piece
                sink.write(np.array(sorted((int(k), r.offset, r.length, r.rows) for k, r in refs), dtype="<i8").tobytes())
        return refs, end

    def one(self, value, reuse: bool = True):
        """One batch or table -> its Ref (or itself); a batch loaded from a Ref keeps it
        (``reuse``; not for data that outlives the step that wrote that Ref: see ``Release``)."""
        known_ref = known(value) if self.folder is not None and reuse else None
        if known_ref is not None:
            return known_ref
        out = self.pieces([(None, value)])
        return out[0][1] if out else value


def load(value):
    """A Ref's batch (or table); anything else as it is."""
    if not isinstance(value, Ref):
        return value
    f = _open(value.path)
    schema = _SCHEMAS.get(value.path)
    if schema is None:
        schema = _SCHEMAS[value.path] = pa.ipc.read_schema(pa.py_buffer(f.read_at(value.head, 0)))
        if len(_SCHEMAS) > 4096:
            _SCHEMAS.popitem(last=False)
    data = pa.py_buffer(f.read_at(value.length, value.offset))
    if not value.table:
        return pa.ipc.read_record_batch(pa.ipc.read_message(data), schema)
    messages = pa.ipc.MessageReader.open_stream(data)
    return pa.Table.from_batches([pa.ipc.read_record_batch(m, schema) for m in messages], schema)


_SCHEMAS: "collections.OrderedDict[str, pa.Schema]" = collections.OrderedDict()  # path -> its stream's schema


class Loaded:
    """A re-iterable view of shuffled values that loads each Ref when iterated to."""

    def __init__(self, values):
        self.values = values.refs() if isinstance(values, Located) else list(values)

    def __iter__(self):
        return (load(v) for v in self.values)

    def __len__(self):
        return len(self.values)

    def __bool__(self):
        return bool(self.values)


class ReuseError(RuntimeError):
    """An internal error: a batch reached a shuffle as the file of a step other than the one
    just before it (``SplitFn``'s reuse), a file that may be deleted before it is read."""


def owner(ref: Ref) -> str:
    """The label of the spill folder ``ref``'s file lies in (``TMP/LABEL/NAME.arrow``)."""
    return ref.path.rsplit("/", 2)[-2]


def _owned(label: str, labels: tuple) -> bool:
    """Whether the folder ``label`` is one of ``labels``' (equal, or under one ending in "-")."""
    return label in labels or any(x.endswith("-") and label.startswith(x) for x in labels)


class SplitFn(beam.DoFn):
    """A batch (or its Ref) -> (shard, piece) for every shard of ``n`` (a hash of ``key``) it has rows in,
    the pieces spilled: what goes into a shuffle by shard. ``indexed``: for a ``ByKey``, the
    pieces in one Indexed file. ``reuse``: the spill labels (``Release``'s) of the step whose
    documents these are; a batch that one of its pooled steps just wrote (``known``) and that
    lies in one shard (a batch holds one id partition after ingest, and P is a multiple of the
    join and output shard counts) goes as that step's Ref, not written again: that step's
    files stay until this shuffle's readers are done (``Release``). It relies on ``remember``
    being called only by ``Pooled`` for the batches its step makes, and on no stage passing
    such a batch on unchanged from an earlier step, whose files are released before this
    shuffle is read: checked here (a string test per batch), ``ReuseError`` when broken."""

    def __init__(self, key: str, n: int, spill: Spiller, indexed: bool = False, reuse: tuple = ()):
        self.key, self.n, self.spill, self.indexed, self.reuse = key, n, spill, indexed, tuple(reuse)

    def infer_output_type(self, input_type):
        # (shard, piece) pairs; Beam's bytecode inference reaches Any here too, for ~0.05 CPU-s
        return beam.typehints.Any

    def process(self, batch):
        batch = load(batch)
        ref = known(batch) if self.reuse and self.spill.folder is not None and batch.num_rows else None
        if ref is not None and not _owned(owner(ref), self.reuse):
            raise ReuseError(
                f"internal error: a batch reached the shuffle of {self.spill.folder.rsplit('/', 1)[-1]} as a file of "
                f"step {owner(ref)!r}, not of the step before it ({', '.join(self.reuse)}): a stage passed an earlier "
                "pooled step's batch on unchanged, and that step's files are deleted before this shuffle is read "
                "(pipelines/spill.py, SplitFn); make the stage output a new batch")
        if ref is not None:
            shards = set(output.shard_index(batch.column(self.key), self.n))
            if len(shards) == 1:
                yield shards.pop(), ref
                return
        keyed = output.split_by_shard(batch, self.key, self.n, copy=self.spill.copies)
        yield from self.spill.by_key(keyed) if self.indexed else self.spill.pieces(keyed)


class ByKey(beam.PTransform):
    """A shuffle by int key in range(n): (key, piece) pairs or, spilled, the Indexed files of
    ``Spiller.by_key`` -> (key, pieces) for every key, to read with ``Loaded`` (pieces of
    ``None`` ignored). Not spilled: a GroupByKey (``every``: with every key, a (key, None) for
    each). Spilled: the files' references wait as a side input, one per file, and each key's
    reader finds its pieces in them (``Located``); every key has a group, empty or not. The
    pieces, so every output, are the same; only what the runner holds differs: a reference
    per file instead of one per piece (batches x shards: 65,536 at dedup's buckets at 64
    output shards). A retried reader reads the same files: they stay until ``Release``."""

    def __init__(self, n: int, spill: Spiller, every: bool = False):
        super().__init__()
        self.n, self.spilled, self.every = n, spill.folder is not None, every

    def expand(self, pcoll):
        n = self.n
        if not self.spilled:
            if self.every:
                pcoll = (pcoll, pcoll.pipeline | "AllKeys" >> beam.Create([(i, None) for i in range(n)])) | beam.Flatten()
            return pcoll | "Group" >> beam.GroupByKey()
        return (pcoll.pipeline | "Keys" >> beam.Create(range(n))
                | "Locate" >> beam.Map(lambda key, files: (key, Located(key, list(files))), beam.pvalue.AsList(pcoll)))


class JoinByKey(beam.PTransform):
    """{tag: PCollection} -> (key, {tag: values}) for every key of ``grouped``'s tag, values
    read with ``Loaded``. Not spilled: a CoGroupByKey of (key, piece) pairs. Spilled, the other
    tags' PCollections hold ``Spiller.by_key`` files and wait as side inputs (a reference per
    file, ``ByKey``), and a key's group holds what ``grouped``'s tag has for it (its (key, Ref)
    pairs, grouped) and ``Located`` pieces of the others. A key that only the others have gets
    no group: the joins using it (dedup's) make nothing for a join shard without documents."""

    def __init__(self, spill: Spiller, grouped: str):
        super().__init__()
        self.spilled, self.grouped = spill.folder is not None, grouped

    def expand(self, tagged):
        if not self.spilled:
            return tagged | "Group" >> beam.CoGroupByKey()
        g, others = self.grouped, [t for t in tagged if t != self.grouped]

        def group(kv, *files):
            return kv[0], {g: kv[1], **{t: Located(kv[0], list(f)) for t, f in zip(others, files)}}

        return (tagged[g] | "Group" >> beam.GroupByKey()
                | "Locate" >> beam.Map(group, *(beam.pvalue.AsList(tagged[t]) for t in others)))


RELEASED = commit.RELEASED  # TMP/_released/LABEL.json: what a released folder held


def release(root: str, labels: tuple) -> None:
    """Delete the spill folders of a finished step (``TMP/LABEL`` for each label equal to one
    of ``labels``, or starting with one ending in "-"), recording what each held and how much
    the whole folder held just before, for the manifest's ``staged`` entry."""
    fs, base = _fs(f"{root.rstrip('/')}/{TMP}")
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    sizes: dict = {}
    live = 0
    for i in infos:
        if i.type != pafs.FileType.File:
            continue
        label = i.path[len(base):].lstrip("/").split("/")[0]
        if label == RELEASED:
            continue
        live += i.size
        if _owned(label, labels):
            files, nbytes = sizes.get(label, (0, 0))
            sizes[label] = (files + 1, nbytes + i.size)
    if not sizes:
        return
    if _needs_folder(root):
        fs.create_dir(f"{base}/{RELEASED}", recursive=True)
    for label, (files, nbytes) in sizes.items():
        record = json.dumps({"files": files, "bytes": nbytes, "live_before": live}).encode()
        with output.create_new(fs, f"{base}/{RELEASED}/{label}.json") as f:  # never through a link put there
            f.write(record)
        commit._delete_dir(fs, f"{base}/{label}")  # in a bucket, no marker to delete once its files are


class Release(beam.PTransform):
    """Deletes a step's spill folders (``release``) once every PCollection in ``done`` is
    complete: ``done`` holds the step's own outputs and the next step's documents, so every
    reader of its files has run (a Ref goes no further than the next step: a pooled step's
    output is read back in the launching process and by the next pooled step, and whatever a
    step passes further it writes anew, or, in a dedup join or the text writer, sends to a
    reader inside the next step: ``SplitFn``'s reuse). A stage transform whose documents wait
    for a global result returns "read": the PCollections made where it reads its input
    (quality's scores, rebalance's token counts), so the step before is released before the
    wait; else its documents count (dedup's: its join reads the step before's files). Each
    element becomes a tick (an int), so no data waits."""

    def __init__(self, root: str, labels: tuple, done: list):
        super().__init__()
        self.root, self.labels, self.done = root, tuple(labels), done

    def expand(self, p):
        root, labels = self.root, self.labels
        # one tick per element, waited for as side inputs: the runner runs the deletion once
        # they are all complete, one round of ready stages after the last (a Flatten and a
        # grouping would take two)
        ticks = [beam.pvalue.AsIter(pc | f"Tick{i}" >> beam.Map(lambda _: 0)) for i, pc in enumerate(self.done)]
        # Impulse: the one element a Create([None]) would make after two steps more of its own
        return p | "Once" >> beam.Impulse() | "Delete" >> beam.Map(lambda _, *waited: release(root, labels), *ticks)


def folder(context_root: str, on: bool) -> str | None:
    """Where a stage spills (its staging root), or None when spilling is off."""
    return context_root if on else None


def enabled(run: dict, local: bool) -> bool:
    """``run.spill``: true, false, or "auto": on where the runner runs on this machine (the
    DirectRunner, whose memory it saves); off on a cluster, where each piece would be an object
    in the staging bucket (docs/scale.md: object operations against shuffle bytes)."""
    value = run.get("spill", "auto")
    return local if value == "auto" else bool(value)
