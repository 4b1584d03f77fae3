"""The output directory: deterministic shard files, written atomically, and the manifest.

Layout (stable: the audit, the loader and other tools read it)::

    DIR/text/part-00000-of-00004.parquet        curated documents, sorted by id
    DIR/ledger/part-00000-of-00004.parquet      one row per removed document
    DIR/quarantine/part-00000-of-00004.parquet  unreadable inputs/records
    DIR/candidates/part-00000-of-00004.parquet  what rebalance's plan read (runs with rebalance; curate mix)
    DIR/tokens/part-00000-of-00004.parquet, DIR/tokens.json   token shards and their manifest (tokenize)
    DIR/manifest.json                           written last: config, versions, inputs, counts, files

A row's shard is a hash of its key (never arrival order) and rows are sorted inside a shard,
so the same input and config give byte-identical files on any runner or worker count.
Files are written under a temporary name and published by rename; a run writes into a
staging folder that ``curate.commit`` swaps into place only once it is complete.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from curate import ids, schema
from curate.readers.common import fs_path, is_uri

KINDS = {
    # kind: (schema or None for documents, sort keys, shard key column)
    "text": (None, [("id", "ascending")], "id"),
    "ledger": (schema.LEDGER_SCHEMA, [("id", "ascending"), ("stage", "ascending")], "id"),
    "quarantine": (
        schema.QUARANTINE_SCHEMA,
        [("path", "ascending"), ("offset", "ascending"), ("reason", "ascending"), ("detail", "ascending")],
        "path",
    ),
    # only where rebalance runs: the documents that reached it, for `curate mix` (curate/mixplan.py)
    "candidates": (schema.CANDIDATES_SCHEMA, [("id", "ascending")], "id"),
}
MANIFEST = "manifest.json"
FORMAT = "curate/1"  # manifest.json's "format"
ROW_GROUP_ROWS = 4096  # a row group: at most this many rows and ROW_GROUP_BYTES of strings, a longer
ROW_GROUP_BYTES = 64 << 20  # row alone; DuckDB, polars, HF streaming hold a whole group per thread (4,096 books: GBs)


def shard_name(kind: str, index: int, total: int) -> str:
    return f"{kind}/part-{index:05d}-of-{total:05d}.parquet"


def shard_index(keys: pa.Array, n: int) -> list[int]:
    """Shard of each row: a hash of its key modulo n (uniform, order-free)."""
    out = []
    for k in keys.to_pylist():
        h = hashlib.blake2b((k or "").encode("utf-8", "surrogatepass"), digest_size=8).digest()
        out.append(int.from_bytes(h, "little") % n)
    return out


def id_partitions(shards: int) -> int:
    """How many id partitions the documents are grouped into after ingest (hash of id mod P):
    a multiple of ``shards`` (the output shard count), at least 16 and at least 4 per output
    shard. It is also dedup's default join shard count. Because P is a multiple of the output
    shard count, a batch of one partition splits into one piece per dedup join and per output
    shard, not one per shard (pieces would shrink as corpus and shard counts grow together)."""
    return shards * max(4, -(-16 // shards))


def split_by_shard(batch, key: str, n: int, copy: bool = True) -> list[tuple[int, pa.RecordBatch]]:
    """(shard index, sub-batch) for each shard a batch (or table) has rows in, in shard order;
    rows keep their order within a shard (``copy``: see ``take_shards``)."""
    if batch.num_rows == 0:
        return []
    return take_shards(batch, np.array(shard_index(batch.column(key), n)), n, copy)


def take_shards(batch, shard: np.ndarray, n: int, copy: bool = True) -> list[tuple[int, pa.RecordBatch]]:
    """Rows grouped by ``shard`` (one int per row, in [0, n)). ``copy``: one ``take`` per
    shard, so each piece owns compact buffers (pickling a slice carries its parent's whole
    buffers). Otherwise one ``take`` in shard order and a zero-copy slice per shard, for an
    Arrow IPC writer, which writes only a slice's rows: ~4x less CPU where pieces hold a few
    rows each (a batch split over hundreds of shards: bench/bench_shards.py)."""
    order = np.argsort(shard, kind="stable")
    bounds = np.searchsorted(shard[order], np.arange(n + 1))
    if not copy:
        grouped = batch.take(pa.array(order))
        return [(i, grouped.slice(bounds[i], bounds[i + 1] - bounds[i])) for i in range(n) if bounds[i + 1] > bounds[i]]
    return [(i, batch.take(pa.array(order[bounds[i] : bounds[i + 1]]))) for i in range(n) if bounds[i + 1] > bounds[i]]


def _fs(root: str):
    fs, base = fs_path(root) if is_uri(root) else (pafs.LocalFileSystem(), os.path.abspath(root))
    return fs, base


# Reading an output where it is, on a disk or in a bucket (the audit, the loader): a path or a URI.

def join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}" if is_uri(root) else os.path.join(root, rel)


def file_type(path: str) -> pafs.FileType:
    fs, p = _fs(path)
    return fs.get_file_info(p).type


def folder_manifest(folder: str) -> str:
    """The manifest of a folder of shards: ``FOLDER.json`` beside it, so that the folder holds
    only Parquet and reads as one dataset in every tool (polars reads every file of a folder it
    is given); ``FOLDER/manifest.json`` inside it where only that exists (outputs of curate
    before 2026-12-05, and a tokens folder copied without its manifest's new place)."""
    folder = folder.rstrip("/")
    old = join(folder, "manifest.json")
    beside = folder + ".json"
    return old if file_type(beside) == pafs.FileType.NotFound and file_type(old) == pafs.FileType.File else beside


def read_bytes(path: str) -> bytes:
    """A whole (small) file: a manifest, stats; FileNotFoundError when there is none."""
    fs, p = _fs(path)
    with fs.open_input_stream(p, compression=None) as f:  # not gunzipped by its name
        return f.read()


def open_input(path: str):
    """A random-access file: a bucket's object is read in ranges (a Parquet footer, the column
    chunks asked for), never whole."""
    fs, p = _fs(path)
    return fs.open_input_file(p)


def sizes(folder: str) -> dict[str, int]:
    """name -> bytes of the files directly in a folder (none when there is no such folder)."""
    fs, base = _fs(folder)
    infos = fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    return {i.base_name: i.size for i in infos if i.type == pafs.FileType.File}


def footer_size(tail: bytes) -> int:
    """Bytes of the footer (metadata, its length, PAR1) a Parquet file's last bytes ``tail`` end with (0: too few to say)."""
    return int.from_bytes(tail[-8:-4], "little") + 8 if len(tail) >= 8 else 0


def footer_sha256(data: bytes) -> str:
    """The sha256 of a whole Parquet file's footer, as the loader hashes it (``curate.loader._footer``):
    tokenize records each token shard's in tokens.json, which a loader's first open compares with."""
    return hashlib.sha256(data[-footer_size(data):]).hexdigest()


def sha256_file(root: str, rel: str) -> str:
    """sha256 of DIR/rel, read in 1 MiB blocks (a shard may be GBs: never whole in memory); of
    its bytes, a .gz or .zst file's too (pyarrow would decompress it by its name)."""
    fs, base = _fs(root)
    h = hashlib.sha256()
    # a local file by open(): pyarrow takes only UTF-8 names (an evaluation set's caf\xe9.jsonl raised)
    with open(os.path.join(root, rel), "rb") if not is_uri(root) else fs.open_input_stream(f"{base}/{rel}", compression=None) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


SYNC = True  # fsync what is written (bench/bench_commit.py turns it off to measure what it costs)


def _full_fsync(fd: int) -> bool:
    """fcntl(F_FULLFSYNC) where there is one (macOS, whose fsync leaves the bytes in the drive's
    cache, which a power cut may lose); False where there is none or the file system refuses it
    (some network ones): fsync then. Another error (EIO: the bytes could not be written) raises:
    an fsync after it may succeed, the bytes still lost."""
    try:
        import fcntl
    except ImportError:  # Windows
        return False
    full = getattr(fcntl, "F_FULLFSYNC", None)
    if full is None:
        return False
    try:
        fcntl.fcntl(fd, full)
        return True
    except OSError as e:
        if e.errno not in _CANNOT_SYNC and e.errno != errno.ENOTTY:
            raise
        return False


def sync(fs, path: str) -> None:
    """Make a local file's bytes, or a local folder's entries (the renames and deletes in it),
    durable: fsync. Without it a power cut (or a kernel crash) may keep a rename and lose the
    bytes renamed, or keep a manifest and lose the files it lists. A bucket's object is durable
    when its write returns."""
    if not SYNC or not isinstance(fs, pafs.LocalFileSystem):
        return
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            _full_fsync(fd) or os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        # a file system that cannot open or fsync a folder (SMB, 9p, some FUSE mounts: EINVAL, EBADF,
        # EACCES...) has nothing more to make durable this way: refusing would stop every run there, and
        # do it after a commit deleted the previous manifest, leaving no readable output. A failed write
        # (EIO, ENOSPC, EDQUOT) still raises.
        if e.errno not in _CANNOT_SYNC:
            raise


_CANNOT_SYNC = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOSYS}


def sync_folders(fs, base: str, rels) -> None:
    """fsync the folders that hold ``rels`` under ``base``, and each folder above them up to
    ``base`` (a new folder is an entry in its parent): their renames and deletes are durable."""
    folders = {base}
    for rel in rels:
        d = os.path.dirname(rel)
        while d:
            folders.add(f"{base}/{d}")
            d = os.path.dirname(d)
    for d in sorted(folders, key=lambda d: -d.count("/")):  # deepest first
        if fs.get_file_info(d).type == pafs.FileType.Directory:  # not one the commit removed, emptied
            sync(fs, d)


def rename(fs, src: str, dst: str) -> None:
    """Move a file: a rename on a disk (os.replace), a copy and a delete in a bucket."""
    if isinstance(fs, pafs.LocalFileSystem):
        os.replace(src, dst)
    else:
        fs.move(src, dst)


def host() -> str:
    """This machine's name as a file name holds it: percent-encoded, a character other than a
    letter, digit, ``.``, ``_``, ``-`` or ``~`` as its UTF-8 bytes (``nodé-1`` -> ``nod%C3%A9-1``),
    one name a host (each such character made ``_``, ``nodé-1`` and ``nodè-1`` were one host)."""
    import socket

    return quote_host(socket.gethostname())


def quote_host(name: str) -> str:
    """A host's name as ``host`` writes it in a file name (percent-encoded; as typed, it reads
    the same where it needs no encoding)."""
    from urllib.parse import quote

    return quote(name, safe="") or "_"


def tmp_name(name: str) -> str:
    """A temporary name ``write_atomic`` writes ``name`` under: ``.tmp-NAME-PID-RANDOM@HOST+NS``, its
    writer's process, machine and pid namespace (``writer_place``; ``tmp_writer`` reads them back) and 32 random bits: an output
    folder on a shared disk (NFS) may be written from several hosts, and a pid says which process
    only on its own; two containers (a pid namespace each) that share a host name (docker's
    --network host) and a folder may both be pid 7, and the second's write_atomic removed the
    first's file, which the first then renamed into place half-written."""
    return f".tmp-{name}-{os.getpid()}-{_token()}@{writer_place()}"


def writer_place() -> str:
    """Where a pid names a process, as a temporary name holds it: ``HOST+NS``, this machine's
    name (``host``) and its pid namespace (the inode of /proc/self/ns/pid; ``+`` is never in
    ``host``'s encoding). Two containers sharing a host name each have a namespace of their own,
    so an audit's clean-up in one took the other's live writer's file for its own host's and,
    its pid no process there, removed it. ``HOST`` alone where /proc is not there."""
    ns = _pid_namespace()
    return f"{host()}+{ns}" if ns else host()


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


def _token() -> str:
    return os.urandom(4).hex()


def tmp_writer(entry: str, name: str) -> tuple[int, str | None] | None:
    """(pid, host) of the writer of ``entry``, a temporary copy of ``name`` (``tmp_name``; host
    None for an older curate's ``.tmp-NAME-PID``, whose host is not known: any machine's on a shared disk; an older one's
    ``.tmp-NAME-PID@HOST`` has no random part); None for a file of any other name."""
    prefix = f".tmp-{name}-"
    if not entry.startswith(prefix):
        return None
    writer, at, where = entry[len(prefix):].partition("@")
    pid, _, token = writer.partition("-")
    ok = pid.isascii() and pid.isdigit()  # "²" is a digit int() refuses
    if not ok or (token and not re.fullmatch("[0-9a-f]{8}", token)) or (at and not where):
        return None
    return int(pid), where if at else None


def write_atomic(root: str, rel: str, data: bytes) -> None:
    """Write DIR/rel under a temporary name, then rename it into place: durable when it
    returns (its bytes fsynced before the rename, its folder after)."""
    fs, base = _fs(root)
    final = f"{base}/{rel}"
    folder, name = os.path.split(rel)
    # no "./" for a top-level file: an S3 key keeps it, and the copy that renames it missed it
    fs.create_dir(os.path.dirname(final), recursive=True)
    tmp, f = new_tmp(fs, f"{base}/{folder + '/' if folder else ''}", name)
    with f:
        f.write(data)
    sync(fs, tmp)
    rename(fs, tmp, final)
    sync(fs, os.path.dirname(final))


def new_tmp(fs, folder: str, name: str):
    """(path, file opened to write) of a new temporary copy of ``name`` in ``folder`` (a path
    ending in ``/``, or ""): a name no file has (``tmp_name``: another draw where one has; nothing
    there removed, whoever's it is)."""
    for _ in range(16):
        tmp = f"{folder}{tmp_name(name)}"
        try:
            return tmp, create_new(fs, tmp, replace=False)
        except FileExistsError:  # a link or file put at a name that was to be new
            continue
    raise FileExistsError(errno.EEXIST, f"16 temporary names for {name} taken", folder)


def create_new(fs, path: str, replace: bool = True):
    """A file curate names in an output or staging folder (a ``.tmp-NAME-...``, a spill's record),
    opened to be written. On a local disk never through a link put there (a shared folder's
    other user pointing it at a file of yours: pyarrow's open follows it and truncates that
    file): made with O_EXCL | O_NOFOLLOW; ``replace``: a file (or link) at that name removed
    first (its target untouched; a folder never: IsADirectoryError), else FileExistsError."""
    if not isinstance(fs, pafs.LocalFileSystem):
        return fs.open_output_stream(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        if not replace:
            raise
        os.unlink(path)
        fd = os.open(path, flags, 0o666)  # a link put back in between: FileExistsError, the write fails
    return os.fdopen(fd, "wb")


def group_bounds(weights: np.ndarray, rows: int, limit: int) -> list[tuple[int, int]]:
    """(start, end) rows of each row group: at most ``rows`` rows and ``limit`` of the rows'
    weights (tokens, bytes), a heavier row alone (a reader holds a whole row group)."""
    out, a, held = [], 0, 0
    for i, t in enumerate(weights.tolist()):
        if i > a and (i - a == rows or held + t > limit):
            out.append((a, i))
            a, held = i, 0
        held += t
    return out + [(a, len(weights))] if len(weights) > a else out


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    if table.nbytes <= ROW_GROUP_BYTES:  # the common case, written as ever (the same bytes)
        pq.write_table(table, buf, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=True)
        return buf.getvalue()
    import pyarrow.compute as pc

    strings = [c for c in table.columns if pa.types.is_string(c.type) or pa.types.is_binary(c.type)
               or pa.types.is_large_string(c.type) or pa.types.is_large_binary(c.type)]
    size = sum((pc.fill_null(pc.binary_length(c), 0).to_numpy() for c in strings), np.zeros(table.num_rows, np.int64))
    with pq.ParquetWriter(buf, table.schema, compression="zstd", write_statistics=True) as w:
        for a, b in group_bounds(size, ROW_GROUP_ROWS, ROW_GROUP_BYTES):
            w.write_table(table.slice(a, b - a), row_group_size=b - a)
    return buf.getvalue()


def write_shard(root: str, kind: str, index: int, total: int, batches: list, doc_columns: list[str]) -> dict:
    """Concatenate, sort and write one shard; return its manifest entry."""
    sch, sort_keys, _ = KINDS[kind]
    if sch is None:
        batches = [schema.conform(b, doc_columns) for b in batches]
        sch = schema.conform(schema.empty(schema.DOC_SCHEMA), doc_columns).schema
    table = pa.Table.from_batches([b for b in batches if b is not None and b.num_rows], schema=sch)
    if table.num_rows:
        table = table.sort_by(sort_keys)
    table = table.combine_chunks()
    data = parquet_bytes(table)
    rel = shard_name(kind, index, total)
    write_atomic(root, rel, data)
    return {"kind": kind, "file": rel, "rows": table.num_rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def fingerprint(path: str, block: int = 1 << 16) -> dict:
    """Cheap input fingerprint: size and a hash of the first and last 64 KiB."""
    from curate.readers.common import open_raw, open_size

    h = hashlib.blake2b(digest_size=16)
    if not is_uri(path) and (os.path.isdir(path) or os.path.islink(path) and not os.path.exists(path)):
        # a code tree's link to a folder outside it, or to nothing: not read
        h.update(os.path.realpath(path).encode("utf-8", "surrogateescape"))
        return {"bytes": 0, "blake2b_head_tail": h.hexdigest()}
    with open_raw(path) as f:
        size = open_size(f)
        h.update(f.read(block))
        if size > 2 * block:
            f.seek(size - block)
        h.update(f.read(block))
    return {"bytes": size, "blake2b_head_tail": h.hexdigest()}


def input_entry(shard) -> dict:
    """The manifest's ``inputs`` entry of the file a shard reads: source, path, format, fingerprint."""
    # a name that is not UTF-8 as it is (json_bytes escapes it): as "?", two such files were one
    return {"source": shard.source, "path": shard.rel, "format": shard.fmt, **fingerprint(shard.path)}


def stage_counts(stats: dict, stages: list[str]) -> dict:
    """Per-stage in/out/removed counts from the flat stats counter of a run.

    ``docs_in`` is measured where documents enter each stage (for ingest: the records read,
    i.e. documents read + records the readers sent to the ledger + quarantine rows);
    ``rewrites`` are the counts of in-place edits (lines removed, PII redacted, ...).
    """
    out = {}
    for s in stages:
        removed = {k.split(".", 2)[2]: v for k, v in sorted(stats.items()) if k.startswith(f"{s}.removed.")}
        entry = {
            "docs_in": stats.get(f"{s}.docs_in", 0),
            "docs_out": stats.get(f"{s}.docs_out", 0),
            "bytes_out": stats.get(f"{s}.bytes_out", 0),
            "removed": removed,
        }
        rewrites = {k.split(".", 2)[2]: v for k, v in sorted(stats.items()) if k.startswith(f"{s}.rewrites.")}
        if rewrites:
            entry["rewrites"] = rewrites
        if s == "ingest":
            read_removed = sum(v for k, v in removed.items() if k != ids.RULE)
            entry["docs_in"] = stats.get("ingest.docs_read", 0) + read_removed + stats.get("ingest.quarantined", 0)
            entry["quarantined"] = stats.get("ingest.quarantined", 0)
            entry["ids_renamed"] = stats.get("ingest.ids_renamed", 0)
            entry["files"] = stats.get("ingest.files", 0)
            entry["bytes_in"] = stats.get("ingest.bytes_in", 0)
            skipped = {k.split(".", 2)[2]: v for k, v in sorted(stats.items()) if k.startswith("ingest.skipped_records.")}
            if skipped:  # records read past that are not documents (a WARC's requests, resources): no row each
                entry["skipped_records"] = skipped
        out[s] = entry
    return out


class ConservationError(RuntimeError):
    """Documents were lost or made up between stages: a bug, never a data problem."""


def check_conservation(counts: dict, stages: list[str]) -> None:
    """Every stage: in = out + ledger rows (+ quarantine at ingest), and each stage takes in
    what the previous one let out. Raises ConservationError naming stage and numbers."""
    problems = []
    prev = None
    for s in stages:
        c = counts[s]
        removed = sum(c["removed"].values())
        if c["docs_in"] != c["docs_out"] + removed + c.get("quarantined", 0):
            problems.append(f"{s}: {c['docs_in']} in != {c['docs_out']} out + {removed} in the ledger + {c.get('quarantined', 0)} quarantined")
        if prev is not None and c["docs_in"] != counts[prev]["docs_out"]:
            problems.append(f"{s}: {c['docs_in']} in != {counts[prev]['docs_out']} out of {prev}")
        prev = s
    if problems:
        raise ConservationError("document counts do not add up (nothing was written): " + "; ".join(problems))


def json_bytes(obj) -> bytes:
    """Canonical JSON (sorted keys, fixed indent): byte-identical for equal content. A lone
    surrogate (a file name that is not UTF-8, as Python holds it: caf\\udce9) is written as its
    JSON escape, ``"caf\\udce9"``, which json.loads reads back as that name: UTF-8 cannot hold it,
    and the whole run failed with ``curate: 'utf-8``."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        return text.encode()
    except UnicodeEncodeError:  # a surrogate is only ever inside a JSON string: its escape is one too
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


_SURROGATE = re.compile("[\ud800-\udfff]")


def write_manifest(root: str, manifest: dict) -> None:
    write_atomic(root, MANIFEST, json_bytes(manifest))


def input_changes(old: list, new: list) -> str | None:
    """How the input files of two manifests differ ("2 files added (crawl/c.warc.gz, ...), 1
    changed"), by (source, path) and fingerprint; None when they are the same files."""
    def files(inputs):
        return {(i.get("source"), i.get("path")): (i.get("bytes"), i.get("blake2b_head_tail")) for i in inputs or []}

    a, b = files(old), files(new)
    parts = []
    for what, keys in (("added", sorted(b.keys() - a.keys())), ("removed", sorted(a.keys() - b.keys())),
                       ("changed", sorted(k for k in a.keys() & b.keys() if a[k] != b[k]))):
        if keys:
            names = ", ".join(f"{src}/{path}" for src, path in keys[:3]) + (", ..." if len(keys) > 3 else "")
            parts.append(f"{len(keys)} file{'s' * (len(keys) > 1)} {what} ({names})")
    return ", ".join(parts) or None
