"""What every reader shares: the shard description, records, safe opening, batching.

A format reader is a generator ``read(shard) -> Iterator[Doc | Bad]``. It knows only its
format; this module turns its records into document batches (with stable ids), ledger rows
for records that are readable but empty or skipped by an ingest rule, and quarantine rows
for what cannot be read. A reader that raises part-way through a file loses nothing
silently either: the records it yielded are kept and the rest of the file is quarantined
with the exception as its reason.
"""
from __future__ import annotations

import codecs
import contextlib
import functools
import io
import json
import os
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Optional

from curate import shell
from curate.readers import decompress, legacy_scripts
from curate.readers.extract import plain_unicode

if TYPE_CHECKING:  # annotations only: the HTML helper process imports these modules, not pyarrow
    import pyarrow as pa


class LimitExceeded(Exception):
    """Raised when a configured hostile-input limit is crossed."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 4 << 30  # decompressed bytes read from one input file
    # a compressed file decoding at this many to 1 or more (past max_file_bytes/64) is read no
    # further (BOMB_STOP, BombWatch); 0: no such stop (one page repeated, wanted whole)
    max_ratio: int = 1000
    max_record_bytes: int = 32 << 20  # one record's text (UTF-8 bytes)
    batch_size: int = 1000  # documents per RecordBatch
    split_bytes: int = 64 << 20  # uncompressed JSONL files larger than this are read in ranges
    # Hostile-input limits (a record crossing one is quarantined with the reason in brackets).
    # No real text has a line of a mebibyte; a single-line "document" of tens of MB is a dump
    # or an attack on line-based stages (minified code is the code filter's job, far below this).
    max_line_bytes: int = 1 << 20  # longest line of a document's text, UTF-8 bytes [line_too_long]
    # Main-content extraction costs about elements x nesting depth. Real pages are < 2 MiB and
    # < 100 deep (876 sampled: at most 1.6 MB, depth 51) and extract in well under a second;
    # pages past these bounds are hostile or broken. (Browsers cap the depth at 512.)
    max_html_bytes: int = 4 << 20  # decoded HTML of one page [html_too_large]
    max_html_depth: int = 256  # element nesting depth of one parsed page [html_too_deep]
    # CPU seconds of one page's extraction [extract_timeout]; a page still running after
    # 2x this + 1 s of wall time is stopped (see curate.readers.extract_helper)
    max_extract_seconds: float = 5.0
    # Not a limit: the HTML main-content extractor (config ingest.extractor; curate.readers.extract)
    extractor: str = "blocks"


def loads(data):
    """``json.loads``, a value nested deeper than Python's parser goes (RecursionError) a
    ValueError like any other line that is no JSON: one bad line, not the end of the file."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read (past Python's recursion limit)") from None


@dataclass(frozen=True)
class Shard:
    """One unit of reading: a file, or a byte/row range of one."""

    path: str  # absolute path to open
    rel: str  # stable name relative to the input root: goes into ids, never absolute
    fmt: str
    domain: str
    source: str
    options: tuple = ()  # format options as sorted (key, value) pairs (hashable, picklable)
    start: int = 0
    end: Optional[int] = None  # None: to the end of the file
    key: Optional[tuple] = None  # the file as planned (``file_key``): checked once it is read (``changed_since_plan``)

    def opt(self, key, default=None):
        return dict(self.options).get(key, default)


@dataclass
class Doc:
    text: str
    offset: int
    user_id: Optional[str] = None
    url: Optional[str] = None
    language: Optional[str] = None
    meta: dict = field(default_factory=dict)
    path: Optional[str] = None  # the path column instead of shard.rel (a code dump's record: dump.jsonl:repo/file.py); ids keep shard.rel
    skip_rule: Optional[str] = None  # readable but excluded by an ingest rule: goes to the ledger
    skip_value: Optional[float] = None
    skip_threshold: Optional[float] = None
    skip_chars: Optional[int] = None  # a skipped record's length where ``text`` is only its snippet: the ledger's chars
    end: Optional[int] = None  # where the record ends, when the reader knows: a read error after it is quarantined there


@dataclass
class Skipped:
    """Records of a file that are not documents (a WARC's request, metadata, warcinfo, revisit
    and resource records), by type: counted in the manifest, no row each."""

    counts: dict


@dataclass
class Bad:
    offset: int
    reason: str
    detail: str = ""
    end: Optional[int] = None
    user_id: Optional[str] = None  # the record's own id, when it could be read


# --- opening files -----------------------------------------------------------------------

GZIP_MAGIC, ZSTD_MAGIC = decompress.GZIP_MAGIC, decompress.ZSTD_MAGIC
# Records decoded from a compressed member are held until the member passes its check; past
# this many held bytes (text and meta), the rest of the file is checked in one extra pass instead.
HOLD_BYTES = 256 << 20


class _Capped(io.RawIOBase):
    """A read-only stream that raises LimitExceeded after ``limit`` bytes (decompression bombs)."""

    def __init__(self, raw, limit: int, path: str, ratio: int = Limits.max_ratio):
        self._raw, self._limit, self._n, self._path = raw, limit, 0, path
        self._bomb = BombWatch(limit, ratio)

    def readable(self):
        return True

    def readinto(self, b):
        # small reads: a truncated gzip raises on the read that hits the cut, losing what
        # that read had decompressed, so keep each read (and the loss) small
        data = self._raw.read(min(len(b), 1 << 16))  # never more than asked (Members.read too)
        self._n += len(data)
        if self._n > self._limit:
            raise LimitExceeded("file_too_large", f"{self._path}: {too_large(self._limit, self._n, self._raw)}")
        if stop := self._bomb.check(self._n, self._raw):
            raise BombStopped("file_too_large", f"{self._path}: {stop}", f"{self._path}: {self._bomb.head}")
        b[:len(data)] = data
        return len(data)

    def close(self):
        self._raw.close()
        super().close()


# decompressed to compressed: 853 .gz of text and HTML measured 1.8-27 (most 3-8); gzip tops out near 1,030 (229 at -1),
# zstd's zeros 32,000; yet one page repeated (a crawl's soft-404s) 143 with gzip, 545 with zstd: a bomb or that, not told
BOMB_RATIO = 100
# Past this ratio a file is read no further once limit/64 of it is decoded (64 MiB of the 4 GiB
# default; 1 MiB at least): a bomb was read on to max_file_bytes (~36 s at 4 GiB). The corpora's
# highest: 27 as stored (the 853 .gz), 37 for their text recompressed with zstd -19 (833 for a
# 20 KB file of one label, judged by no run: it is short). A page repeated is 186 (gzip -9) to
# 10,000 (zstd, 2 KB of it): no text to read on for; zeros 1,027 (gzip -9) and 32,750 (zstd).
BOMB_STOP = Limits.max_ratio


class BombStopped(LimitExceeded):
    """file_too_large before ``max_file_bytes``: the file decodes at ``max_ratio`` to 1 or more.
    ``head``: the path and what was read, less how a run reads on (``bomb_elsewhere``)."""

    def __init__(self, reason: str, detail: str, head: str = ""):
        super().__init__(reason, detail)
        self.head = head or detail


def bomb_elsewhere(e: BombStopped, path: str) -> str:
    """A bomb stopped in a command that takes no [limits] (train-quality's inputs, evaluation
    sets): how to read it there, not `curate run`'s limits.max_ratio."""
    return (f"{e.head} stops a file (curate's stop for a bomb): to read it, decompress it "
            f"({decompress_command(path, compression(path) or 'gzip')}) and give the plain file")


def bomb_judged(limit: int) -> int:
    """Decoded bytes past which ``BombWatch`` judges a file's ratio: limit/64, 1 MiB at least."""
    return max(limit >> 6, 1 << 20)


class BombWatch:
    """The bomb stop of one decompressed stream (a read's, or ``decompress.verify_file``'s pass):
    ``check`` is the file_too_large detail (less the path) once what was decoded past limit/64
    (``bomb_judged``) came from BOMB_STOP times fewer compressed bytes or more: all of it, or the
    last limit/64 decoded (a bomb after a head of real text, 64 MiB at 5 to 1 then 100,000 to 1,
    was under 1,000 to 1 in all up to 12 GB, and was read on to max_file_bytes). None: read on.
    Judged at each read, on byte counts alone: a rerun or resumed run stops the same files, at
    the same read (a window's ratio on real text was the same at reads of 1,000 B to 1 MiB)."""

    def __init__(self, limit: int, ratio: int = BOMB_STOP):
        self.limit, self.judged, self.ratio = limit, bomb_judged(limit), ratio
        self.mark = (0, 0)  # (decoded, compressed) where the window being judged began
        self.head = ""  # the message less how a run reads on (BombStopped.head)

    def check(self, produced: int, stream) -> str | None:
        consumed = getattr(stream, "consumed", None)
        if not consumed or not self.ratio or self.judged >= self.limit or produced < self.judged:
            return None
        if produced >= self.ratio * consumed:
            return self._said(produced, bomb_ratio(produced, consumed))
        at, fed = self.mark
        if produced - at >= self.judged:
            if at and produced - at >= self.ratio * (consumed - fed):
                return self._said(produced, f", the last {produced - at}{bomb_ratio(produced - at, max(consumed - fed, 1))}")
            self.mark = (produced, consumed)
        return None

    def _said(self, produced: int, ratio: str) -> str:
        self.head = (f"{produced} bytes after decompression{ratio}, read no further: {self.ratio:,} to 1 or more (in all, "
                     f"or over the last {self.judged} bytes) past {self.judged} bytes")
        return (f"{self.head} (limit max_file_bytes/64, of {self.limit}) stops a file (limits.max_ratio): set "
                "limits.max_ratio = 0 to read on, or raise it")  # a run keeps the records before (a prefix)


SIZE_LIMIT = "(limit max_file_bytes)"  # what too_large names: a command that takes no [limits] says its own (size_elsewhere)


def size_elsewhere(e: LimitExceeded, command: str) -> str:
    """A file past max_file_bytes in a command that takes no [limits] (``command``): its own
    words, not a setting it does not take."""
    return str(e).replace(SIZE_LIMIT, f"(the most {command} reads of one file: give it as smaller files)", 1)


def too_large(limit: int, produced: int, stream) -> str:
    """A file_too_large detail: ``produced`` bytes read of ``stream`` passed ``limit``; 'after
    decompression', with the compressed bytes and ratio (``bomb_ratio``), where ``stream`` is a
    decompressed one (``decompress.Members``): it was said of a file not compressed too."""
    consumed = getattr(stream, "consumed", None)
    after = " after decompression" if consumed is not None else ""
    return f"more than {limit} bytes{after} {SIZE_LIMIT}{bomb_ratio(produced, consumed)}"


def bomb_ratio(produced: int, consumed: int | None) -> str:
    """What a file_too_large detail adds for a compressed file: the compressed bytes read for the
    ``produced`` bytes it decoded to, and their ratio, said to be a bomb's from BOMB_RATIO on (KB
    decoding to GB) so that a bomb is told from a big file, or a page repeated (which compresses
    as far); "" for a file not compressed."""
    if not consumed:
        return ""
    ratio = round(produced / consumed)  # judged as said: 99.6 was '100 to 1', no bomb
    said = ": a decompression bomb, or the same text over and over" if ratio >= BOMB_RATIO else ""
    return f", from {consumed:,} compressed bytes ({ratio:,} to 1{said})"


# blanks and C0 controls before it included, as urllib.parse reads a URL: " gs://b/out" (pasted) was written into
# a local folder " gs:"; as a URI it is refused (no such scheme)
_SCHEME = re.compile(r"[\x00-\x20]*[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(path: str) -> bool:
    """A ``scheme://`` path (gs://, s3://, hdfs://, file://...), read through pyarrow.fs: the
    scheme first, as a URI has it (a local ``sub/a://b.jsonl``, the folder ``a:``, is a path)."""
    return bool(_SCHEME.match(path))


def is_file_uri(path: str) -> bool:
    """A ``file://`` URI: a local file, named as a URI (its bytes as cheap to read as a path's)."""
    return is_uri(path) and path.split("://", 1)[0].lower() == "file"


def fs_path(uri: str):
    """(pyarrow FileSystem, path) of a URI. What a URI cannot hold as it is (a space, a ``%``
    not starting an escape) is percent-encoded first, so ``file:///my data/a.jsonl`` and
    ``file:///my%20data/a.jsonl`` name the same file, as a user expects of either spelling.
    A bucket's file system (gs://, s3://) is built once per bucket, options and process
    (``_bucket_fs``), not per file opened."""
    import urllib.parse

    import pyarrow.fs as pafs

    escaped = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", uri)
    quoted = urllib.parse.quote(escaped, safe=":/?[]@!$&'()*+,;=%~")  # '#' too: part of a name, not a fragment
    parts = urllib.parse.urlsplit(quoted)
    if parts.scheme.lower() not in ("gs", "gcs", "s3"):
        return pafs.FileSystem.from_uri(quoted)
    return _bucket_fs(parts.scheme.lower(), parts.netloc, parts.query), \
        (parts.netloc + urllib.parse.unquote(parts.path)).rstrip("/") or parts.netloc


_BUCKET_FS: dict = {}  # (pid, scheme, bucket, options, environment) -> pyarrow FileSystem


def _bucket_fs(scheme: str, bucket: str, query: str):
    """The file system of a bucket, built on its first use in this process: building one may
    fetch a token (GCS) or look up the bucket's region (S3), and the audit, the loader and
    ``curate mix`` open many files. Keyed by the process id (a forked DataLoader worker builds
    its own: one shared across a fork is unsafe) and by the environment that sets endpoints
    and credentials (a change of it is a new file system)."""
    import pyarrow.fs as pafs

    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(("AWS_", "GOOGLE_")) or k == GCS_EMULATOR))
    key = (os.getpid(), scheme, bucket, query, env)
    fs = _BUCKET_FS.get(key)
    if fs is None:
        emulator = os.environ.get(GCS_EMULATOR)
        if emulator and scheme == "gs":
            fs = _emulated_gcs(f"gs://{bucket}", query, emulator)
        else:
            fs = pafs.FileSystem.from_uri(f"{scheme}://{bucket}" + (f"?{query}" if query else ""))[0]
        fs = _BUCKET_FS.setdefault(key, fs)
    return fs


def not_utf8(folder: str) -> str | None:
    """Why an output folder whose path is not UTF-8 (a Latin-1 ``out\\xe9``, or a folder above
    it) cannot be used, or None: outputs are written and read through ``pyarrow.fs``, which
    takes UTF-8 paths alone (a run failed at its end with ``curate: 'utf-8``)."""
    where = folder if is_uri(folder) else os.path.abspath(folder)
    try:
        where.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return (f"{shell.quote(folder)}: a folder name that is not UTF-8 (or one above it) cannot hold a curate output "
                "(written through pyarrow, which takes UTF-8 paths); rename it or choose another")


def uri_options(uri: str) -> str | None:
    """Why a URI with options (``gs://b/out?endpoint_override=...``, as pyarrow's docs show)
    cannot be used, or None: curate names each file by adding to the URI (the options would
    end up inside the path), and a gs:// one waited 15 minutes for a token it could not get."""
    if not is_uri(uri) or not re.search(r"\?[A-Za-z_]\w*=", uri):  # a glob's ? is a wildcard
        return None
    return (f"{uri!r}: options in a URI (?{uri.split('?', 1)[1]}) are not supported; give the endpoint in the "
            f"environment: {GCS_EMULATOR}=HOST:PORT for gs://, AWS_ENDPOINT_URL=http://HOST:PORT for s3:// (README: "
            "Inputs and outputs in buckets)")


# the schemes pyarrow.fs reads: a local path starting with one and a colon but not '://' (gs:/b/out) is a URI mistyped
MISSED_SLASH = re.compile(r"(?i)(gs|gcs|s3|file|hdfs|viewfs|abfss?):(?:/(?!/)|$)(.*)", re.S)
_BLANKS = "".join(map(chr, range(33)))  # what _SCHEME lets stand before a scheme


def path_problem(path: str) -> str | None:
    """Why a path an option gives (an output, an input's glob) cannot be what was meant, or None:
    blanks before a URI (' gs://b/out', pasted: pyarrow said "Cannot parse URI: '%20gs://b/out'"),
    a URI with one slash (gs:/b/out: written to a local folder 'gs:'; ' gs:/b/out' too, to ' gs:'),
    options in a URI (``uri_options``)."""
    if not isinstance(path, str):
        return None
    bare = path.lstrip(_BLANKS)
    blank = "a space" if path[:1] == " " else "a blank or control character"
    slip = MISSED_SLASH.match(bare)
    if slip and bare != path:
        return f"{path!r} starts with {blank} and looks like a URI missing a slash: did you mean {_meant(*slip.group(1, 2))}?"
    if is_uri(path) and bare != path:
        return f"{path!r} starts with {blank}: remove it ({bare})"
    if slip:
        scheme = slip.group(1)
        return (f"{path!r} looks like a URI missing a slash (did you mean {_meant(*slip.group(1, 2))}?); "
                f"for a local folder named '{scheme}:', write ./{path}")
    return uri_options(path)


def _meant(scheme: str, rest: str) -> str:
    """The URI ``scheme:/rest`` (one slash) means: a bucket's (gs://b/x, s3://, abfs://container/x),
    or a path from the root of a file system that has one (file:///x; hdfs:///user/x on the
    default namenode: hdfs://user/x would name a namenode 'user'), unless a host:port comes first."""
    rooted = scheme.lower() == "file" or scheme.lower() in ("hdfs", "viewfs") and not re.match(r"[^/]*:\d+(/|$)", rest)
    return f"{scheme}:///{rest}" if rooted else f"{scheme}://{rest}"


GCS_EMULATOR = "STORAGE_EMULATOR_HOST"  # the variable Google's own clients read: host:port or http://host:port


def _emulated_gcs(uri: str, query: str, emulator: str):
    """The GcsFileSystem of the GCS emulator at ``emulator``, with anonymous credentials, as
    Google's clients do when STORAGE_EMULATOR_HOST is set: pyarrow neither reads the variable
    nor takes ``anonymous`` in a gs:// URI, and without it asks for an OAuth2 token an
    emulator cannot give. ``query``: the URI's options (only retry_limit_seconds)."""
    import datetime
    import urllib.parse

    import pyarrow.fs as pafs

    scheme, _, host = emulator.rpartition("://")
    options = urllib.parse.parse_qs(query)
    retry = options.pop("retry_limit_seconds", None)
    if options:
        raise ValueError(f"{uri}: {', '.join(sorted(options))} cannot be given in a gs:// URI while {GCS_EMULATOR} is set")
    return pafs.GcsFileSystem(anonymous=True, scheme=scheme or "http", endpoint_override=host.rstrip("/"),
                              retry_time_limit=datetime.timedelta(seconds=float(retry[0])) if retry else None)


LIST_RETRY_SECONDS = 30  # checks at launch of a gs:// path; workers' reads keep the client's own retries


def launch_fs(uri: str):
    """``fs_path`` for a look at launch (listing an input, checking the output): the GCS
    client retries for 15 minutes by default, deaf to Ctrl-C, so a bucket that cannot be
    reached (offline, no credentials) is said after LIST_RETRY_SECONDS instead."""
    retry = f"?retry_limit_seconds={LIST_RETRY_SECONDS}" if uri.lower().startswith("gs://") else ""
    return fs_path(uri + retry)


def read_folder(path: str) -> str:
    """The folder a reader of outputs (the audit, the loader) is given, as it reads it: a
    ``file://`` URI is its local path (reports and errors name it as the disk does), another
    URI stays one, read through ``pyarrow.fs`` (``curate.output.read_bytes``, ``open_input``).
    A URI mistyped (``path_problem``: gs:/b/out) is a ValueError saying so, not 'no such directory'."""
    if path_problem(path):
        raise ValueError(path_problem(path))
    if is_file_uri(path):
        return fs_path(path)[1]
    return path.rstrip("/") if is_uri(path) else path


def open_raw(path: str):
    """A seekable binary file: a local path with ``open``, a URI through ``pyarrow.fs``
    (``FileSystem.from_uri``), so workers on Dataflow read ``gs://`` inputs directly. Inside
    ``one_open``, a URI opened again is the same open (``_Again``)."""
    if not is_uri(path):
        return open(path, "rb")
    opened = getattr(_ONE_OPEN, "files", None)
    if opened is None:
        fs, p = fs_path(path)
        return io.BufferedReader(fs.open_input_file(p), buffer_size=1 << 20)
    if path not in opened:
        fs, p = fs_path(path)
        opened[path] = _Opened(fs.open_input_file(p))
        while len(opened) > 8:  # a few at a time are read again (a file and its copy): their heads' memory bounded
            opened.pop(next(iter(opened)))
    return io.BufferedReader(_Again(opened[path]), buffer_size=1 << 20)


_ONE_OPEN = threading.local()  # .files: path -> _Opened, inside ``one_open`` (a thread's own: Beam's threads read at once)


@contextlib.contextmanager
def one_open():
    """Within it, each bucket file ``open_raw`` opens is opened once, however many times it is
    asked for, and its first MiB read once: every open of an object is a metadata request and
    a read (the launch looked at a bucket input's first file through six opens, a worker read a
    file and took its fingerprint through two). Nested, the outermost one's."""
    if getattr(_ONE_OPEN, "files", None) is not None:
        yield
        return
    _ONE_OPEN.files = {}
    try:
        yield
    finally:
        files, _ONE_OPEN.files = _ONE_OPEN.files, None
        for o in files.values():
            o.file.close()


class _Opened:
    """A bucket file opened once (``one_open``): its pyarrow file, its size, its first read."""

    __slots__ = ("file", "size", "head")

    def __init__(self, file):
        self.file, self.size, self.head = file, file.size(), b""


class _Again(io.RawIOBase):
    """One reader of an ``_Opened`` file, at a position of its own: the first MiB from what was
    read of it first, the rest through the file's stream, moved where this reader reads (a
    seek: a bucket's open streams from where it is, one request, then reads on for free)."""

    def __init__(self, opened: _Opened):
        self.o, self.pos = opened, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def size(self) -> int:  # as a pyarrow file's: open_size
        return self.o.size

    def tell(self):
        return self.pos

    def seek(self, pos, whence=io.SEEK_SET):
        self.pos = max(0, pos + (0, self.pos, self.o.size)[whence])
        return self.pos

    def readinto(self, b) -> int:
        o, n = self.o, min(len(b), self.o.size - self.pos)
        if n <= 0:
            return 0
        if self.pos + n <= len(o.head):
            b[:n] = o.head[self.pos:self.pos + n]
        else:
            if o.file.tell() != self.pos:
                o.file.seek(self.pos)
            data = o.file.read(n)
            n = len(data)
            b[:n] = data
            if self.pos == 0 and not o.head:
                o.head = data
        self.pos += n
        return n


def open_size(f) -> int:
    """The size of a file ``open_raw`` opened, as the open learnt it: a bucket's object is not
    asked again (a metadata request; seeking to its end reads there, a request refused)."""
    raw = getattr(f, "raw", f)
    return raw.size() if hasattr(raw, "size") else os.fstat(raw.fileno()).st_size


def file_key(path: str, listed: tuple | None = None) -> tuple | None:
    """What tells a file unchanged between a run's plan and its read, without reading it: a
    bucket's object's (size, update time), ``listed`` where its listing gave them (no request);
    a local file's (size, mtime, host, device, inode, ctime): a file renamed over it, or edited
    with its mtime put back, is another. None: no regular file (a dangling link, a folder)."""
    import socket
    import stat

    if is_uri(path):
        if listed is not None:
            return tuple(listed)
        fs, p = fs_path(path)
        info = fs.get_file_info(p)
        return (info.size, info.mtime_ns) if info.type.name == "File" else None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns, socket.gethostname(), st.st_dev, st.st_ino, st.st_ctime_ns


def changed_since_plan(shard: Shard) -> str | None:
    """How ``shard``'s file changed since the plan took its ``key`` ("was deleted", "changed
    (... bytes then, ... now)"), or None. On another host than the plan's (a worker on a shared
    disk: device and inode numbers are each machine's own) size and mtime alone are compared."""
    if shard.key is None:
        return None
    now = file_key(shard.path)
    if now is None:
        return "was deleted"
    planned = shard.key
    if planned[0] != now[0] or not _same_time(planned[1], now[1]) or len(planned) > 2 and planned[2] == now[2] and planned[2:] != now[2:]:
        sizes = f"{planned[0]:,} bytes then and now" if planned[0] == now[0] else f"{planned[0]:,} bytes then, {now[0]:,} now"
        return f"changed ({sizes}: rewritten, replaced or cut)"
    return None


def _same_time(a: int | None, b: int | None) -> bool:
    """Two update times of one object: alike, or in the same second where one is on a whole
    second (an S3-compatible store's listing may keep milliseconds, its HEAD keeps seconds)."""
    s = 10**9
    return a == b or a is not None and b is not None and (a % s == 0 or b % s == 0) and a // s == b // s


def is_dangling(path: str) -> bool:
    """A local link whose target does not exist (a code tree keeps it, for a quarantine row)."""
    return not is_uri(path) and os.path.islink(path) and not os.path.exists(path)


def input_size(path: str) -> int:
    if is_dangling(path):
        return 0
    if not is_uri(path):
        return os.path.getsize(path)
    fs, p = fs_path(path)
    return fs.get_file_info(p).size


def compression(path: str) -> Optional[str]:
    """'gzip', 'zstd' or None, from the file's magic bytes (extensions lie)."""
    with open_raw(path) as f:
        return compression_of(f)


def compression_of(f) -> Optional[str]:
    """``compression`` of a file open at its start (``open_raw``), left at its start: a reader
    goes on through the same open (a bucket's object costs a metadata request and a read each
    time it is opened, and its first MiB read here is in ``f``'s buffer)."""
    head = f.read(4)
    kind = "gzip" if head.startswith(GZIP_MAGIC) else "zstd" if head == ZSTD_MAGIC or _zstd_after_skippable(f, head) else None
    f.seek(0)
    return kind


def _zstd_after_skippable(f, head: bytes) -> bool:
    """zstd skippable frames (magic 0x184D2A50-5F, a size, that many bytes) lead the file and a
    zstd frame or the end follows: pzstd starts every file with one, as ``zstd -d`` reads. LZ4
    frames share the skippable magic, so the frame after them decides. A file that can seek is
    seeked past frames of any size (``zstd -d`` reads up to 4 GiB each; one that says more than
    the file holds ends in the decoder's 'truncated'); one that cannot is read 64 MiB at most."""
    budget = 64 << 20
    for _ in range(4096):  # bytes to seek over, not read: a few KiB of tags at most in practice
        if len(head) < 4 or int.from_bytes(head, "little") & 0xFFFFFFF0 != 0x184D2A50:
            return False
        size = f.read(4)
        if len(size) < 4:
            return False
        skip = int.from_bytes(size, "little")
        if f.seekable():
            f.seek(skip, io.SEEK_CUR)  # past the end: the read below is empty, and the decoder says truncated
        else:
            budget -= skip
            if budget < 0 or len(f.read(skip)) < skip:  # a tag, an index, a WARC zstd file's dictionary: not more
                return False
        head = f.read(4)
        if head == ZSTD_MAGIC or not head:
            return True
    return False


OTHER_COMPRESSIONS = ((b"BZh", "bzip2", "bzip2 -dc"), (b"\xfd7zXZ\x00", "xz", "xz -dc"), (b"\x04\x22\x4d\x18", "lz4", "lz4 -dc"))
# Each tool's command from FILE.EXT to FILE, keeping FILE.EXT: a hint never deletes what the user
# wrote (`gzip -d`, `--rm`, `&& rm` did, for a folder's file). None writes over a FILE there is
# (`> FILE` did, and left a cut-short one from a damaged input); each removes its part of FILE
# when the input is damaged, but lz4, so it tests it first (lz4 without an output name writes to a pipe).
KEEP = {"gzip": "gzip -dk {0}", "zstd": "zstd -d {0} -o {1}", "bzip2": "bzip2 -dk {0}", "xz": "xz -dk {0}",
        "lz4": "lz4 -t {0} && lz4 -d {0} {1}"}
# A folder or a glob would list the original beside its copy, and refuse it again: the user moves it.
MOVE_AWAY = ", then move the original out of the input's folder (its copy is read in its place)"
SUFFIXES = {"gzip": "gz", "zstd": "zst", "bzip2": "bz2", "xz": "xz", "lz4": "lz4"}


def other_compression(path: str) -> tuple[str, str] | None:
    """(name, decompress command) of a compression curate does not read, from the magic bytes."""
    with open_raw(path) as f:
        head = f.read(6)
    return next(((name, cmd) for magic, name, cmd in OTHER_COMPRESSIONS if head.startswith(magic)), None)


def plain_name(name: str, kind: str) -> str:
    """The name of ``name``'s decompressed copy: without the compression's suffix, or
    NAME.decompressed.EXT where it has none (the compression told by the bytes): never the
    file itself, which ``> NAME`` empties before the tool reads it."""
    plain = re.sub(rf"\.{SUFFIXES[kind]}$", "", name, flags=re.IGNORECASE)
    if plain == name:
        root, ext = os.path.splitext(name)
        plain = f"{root}.decompressed{ext}"
    return plain


def unpack_command(name: str, kind: str, into: str | None = None) -> tuple[str, str]:
    """(the shell command that decompresses the local file ``name``, the file it writes), never
    writing over a file there is nor leaving a cut-short copy of a damaged one, and keeping
    ``name`` (a folder's file too: MOVE_AWAY). ``into``: ``zstd``, recompressed (to the copy's name .zst) rather than decompressed."""
    plain = plain_name(name, kind)
    q = shell.quote
    if into == "zstd":  # tested first: a pipe cut short still gives a whole-looking .zst, and exit 0
        plain += ".zst"
        command = f"{kind} -t {q(name)} && {kind} -dc {q(name)} | zstd -q -o {q(plain)}"
    elif name.endswith("." + SUFFIXES[kind]) or kind in ("zstd", "lz4"):  # the tool's own name, or it takes one
        return KEEP[kind].format(q(name), q(plain)), plain
    else:  # x.parquet of gzip bytes, X.GZ (gzip, bzip2, xz skip a name without their suffix): set -C refuses a file there
        command = f"{kind} -t {q(name)} && (set -C; {kind} -dc {q(name)} > {q(plain)})"
    return command, plain


def other_compression_error(path: str, name: str | None = None, in_place: bool = False, option: str | None = None) -> str | None:
    """The one-line error for a file in a compression curate does not read (read as it is, its
    compressed bytes would be taken for lines), else None. ``name``: the file as the user gave
    it, where ``path`` is a local copy (a bucket's); ``in_place``: a file of a folder or glob
    input (MOVE_AWAY); ``option``: the one that named the file (copy_beside)."""
    other = other_compression(path)
    if not other:
        return None
    path = name or path
    # a bucket's file: the tools read and write local files (`> gs://b/x.jsonl.zst` is no such folder)
    remote = is_uri(path)
    local, here = (path.rsplit("/", 1)[-1], "copy it here, then ") if remote else (path, "")
    # the copy named for what it holds (x.jsonl.bz2 -> x.jsonl.zst): "FILE.zst" taken as written,
    # x.jsonl.bz2.zst, was a name neither curate run (give --format) nor the audit could place
    command, copy = unpack_command(local, other[0])
    move = MOVE_AWAY * (in_place and not remote)
    # its copy: the hint's (x.jsonl.zst), or the file decompressed (`bzip2 -dk`: x.jsonl)
    there = copy_beside(path, copy if copy.lower().endswith(".parquet") else [unpack_command(local, other[0], into="zstd")[1], copy],
                        other[0], in_place and not remote, None if remote else option)
    if there:
        return there
    if copy.lower().endswith(".parquet"):  # compressed inside: a .parquet.zst was read as Parquet, read_error
        return f"{path} is compressed with {other[0]}; decompress it ({PARQUET_INSIDE}), {shell.in_bash(local)}e.g. {here}{command}{move}"
    command = unpack_command(local, other[0], into="zstd")[0]
    return f"{path} is compressed with {other[0]}; curate reads gzip and zstd: recompress it, {shell.in_bash(local)}e.g. {here}{command}{move}"


PARQUET_INSIDE = "curate reads Parquet as written: it compresses its columns inside"


def copy_beside(path: str, copy: str | list[str], kind: str, in_place: bool, option: str | None = None) -> str | None:
    """The one line for a file whose hint was run: its ``copy`` is there (``copy``: the hint's
    name for it, or a list of names: x.jsonl.zst, or x.jsonl from `bzip2 -dk`), and the hint's
    command again would fail ("already exists"). A folder's file (``in_place``): move the original
    out; a file named on its own by ``option`` (``--input``, ``--corpus``, ``eval_sets[0].glob``):
    give the copy instead. None where neither (no copy, or a named file with no ``option`` to say),
    or where the copy decompressed differs from the file's (another file of that name, or one cut
    short: compared to their ends, up to HEAD_BYTES: past it, the line says so)."""
    todo = copy_there(path, copy, kind, in_place, option)
    return f"{path} is compressed with {kind}; {todo}" if todo else None


def copy_there(path: str, copy: str | list[str], kind: str, in_place: bool, option: str | None = None) -> str | None:
    """copy_beside's what to do (``its copy X is beside it: ...``), for a line that starts
    otherwise (the audit's file past max_file_bytes), else None."""
    if not (in_place or option):
        return None
    copies = [c for c in ([copy] if isinstance(copy, str) else copy) if os.path.lexists(c)]
    alike = next(((c, same) for c in copies if (same := _alike(path, kind, c)) is not False), None)
    if alike is None:
        return None
    copy, same = alike
    # a copy larger than HEAD_BYTES, alike that far: the user, who moves the original, checks the rest
    unsure = "" if same else f"; alike in their first {HEAD_BYTES >> 20} MiB decompressed, compared no further: check the copy is whole first"
    if in_place:
        return COPY_BESIDE.format(copy) + unsure
    # a command's option, or a config's key (eval_sets[0].glob = "x.jsonl.zst")
    given = f"{option} {shell.quote(copy)}" if option.startswith("-") else f"{option} = {json.dumps(copy)}"
    # a config's input is its [[inputs]] glob: --input alone would replace every [[inputs]] of it
    return f"its copy {copy} is beside it: give {shell.said(given, copy)} instead" + " (glob in [[inputs]])" * (option == "--input") + unsure


# how much of a file and of its copy beside it is compared (copy_beside): a bzip2 file's 64 MiB
# decompress in ~3 CPU-s, on the way to a refusal only
HEAD_BYTES = 64 << 20


def _alike(path: str, kind: str, copy: str) -> bool | None:
    """Whether ``copy`` holds what ``path`` (compressed with ``kind``) holds decompressed, read
    side by side to the first difference: an older dump or a `bzip2 -dk` killed midway is alike
    in its first MiB, and the user told it is the copy moves the original out. None where both go
    on alike past HEAD_BYTES (compared no further); True where a file cannot be opened so (lz4
    without its module: named as before, by name); False where damaged or unreadable."""
    import bz2
    import lzma

    opener = {"bzip2": bz2.open, "xz": lzma.open}.get(kind)
    try:
        if opener is None and kind not in ("gzip", "zstd"):
            return True
        head = Limits(max_file_bytes=2 * HEAD_BYTES, max_ratio=0)  # a bomb's start too (it may be one past max_file_bytes)
        with (opener(path, "rb") if opener else open_bytes(path, head)) as f, open_bytes(copy, head) as g:
            for _ in range(0, HEAD_BYTES, 1 << 20):  # full reads but at the end (buffered streams)
                x, y = f.read(1 << 20), g.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
            x, y = f.read(1), g.read(1)
            return x == y and (None if x else True)
    except Exception:  # noqa: BLE001 - damaged or unreadable: not told to be its copy
        return False


COPY_BESIDE = "its copy {} is beside it: move the original out of the input's folder (its copy is read in its place)"


def decompress_command(name: str, kind: str, in_place: bool = False) -> str:
    """The shell command that decompresses ``name`` (gzip or zstd, ``kind``) to a file read whole
    (plain_name), keeping it (``in_place``: a folder's file, which the user then moves away,
    MOVE_AWAY). A bucket's file is copied here first (the tools read local files)."""
    local = name.rsplit("/", 1)[-1] if is_uri(name) else name
    command = unpack_command(local, kind)[0]
    return f"copy it here, then {command}" if is_uri(name) else command + MOVE_AWAY * in_place


def compressed_parquet_error(name: str, in_place: bool = False, kind: str | None = None, option: str | None = None) -> str | None:
    """The one line for a Parquet file gzipped or zstd-compressed whole (``x.parquet.gz``, by its
    name; ``kind``: told by its bytes, any name), else None: neither pyarrow nor polars opens one
    (`curate run` quarantined it whole, read_error; the audit said it was no Parquet file). Other
    compressions: other_compression_error. ``option``: as other_compression_error's."""
    packed = re.search(r"\.parquet\.(gz|zst)$", name.lower())
    if not packed and not kind:
        return None
    kind = kind or ("gzip" if packed[1] == "gz" else "zstd")
    local = name.rsplit("/", 1)[-1] if is_uri(name) else name
    there = copy_beside(name, plain_name(name, kind), kind, in_place and not is_uri(name), None if is_uri(name) else option)
    if there:
        return there
    return (f"{name} is compressed with {kind}; decompress it ({PARQUET_INSIDE}), {shell.in_bash(local)}e.g. "
            f"{decompress_command(name, kind, in_place)}")


def not_read_as_is(path: str, option: str | None = None, in_place: bool = False, name: str | None = None, look: bool = True) -> str | None:
    """The one line for an input file curate reads only once converted (a Parquet file compressed
    whole; a compression it does not read: bzip2, xz, lz4), saying what to do, else None. Every
    command that takes input files asks this (curate run, audit, train-quality, decontaminate's
    evaluation sets), so a file beside its copy is told alike: ``option`` named the file (its copy
    is given instead), ``in_place``: a folder's or glob's file (the original is moved out);
    ``name``: the file as the user gave it, where ``path`` is a local copy (a bucket's);
    ``look``: read its first bytes (a bucket's files past the first are judged by name)."""
    return (compressed_parquet_error(name or path, in_place, option=option)
            or (other_compression_error(path, name, in_place, option) if look else None))


ARCHIVE_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".zip", ".7z")
UNPACK = {"tar": "tar xf {} -C DIR", "zip": "unzip {} -d DIR", "7z": "7z x {} -oDIR"}


def archive(path: str) -> str | None:
    """The kind of archive a file is (tar, also gzip- or zstd-compressed; zip; 7z) from its first
    bytes, else None: read as one stream, its members' headers would be glued to their text."""
    with open_raw(path) as f:
        head = f.read(6)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    try:
        with open_bytes(path, Limits()) as f:
            return "tar" if f.read(512)[257:262] == b"ustar" else None  # the POSIX tar header's magic
    except Exception:  # noqa: BLE001 - unreadable: the reader quarantines it with the error
        return None


def open_sniffed(path: str):
    """(``open_raw(path)``, its ``compression``): one open, the kind read from its first bytes."""
    raw = open_raw(path)
    try:
        return raw, compression_of(raw)
    except BaseException:
        raw.close()
        raise


def open_bytes(path: str, limits: Limits) -> io.BufferedReader:
    """Open a possibly compressed file as a decompressed, size-capped binary stream; gzip
    and zstd are decoded member by member with their checks (``curate.readers.decompress``)."""
    raw, kind = open_sniffed(path)
    stream = decompress.Members(raw, kind, path) if kind else raw
    return io.BufferedReader(_Capped(stream, limits.max_file_bytes, path, limits.max_ratio), buffer_size=1 << 20)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes that should be text: UTF-8 (BOM stripped), else a detected charset.

    Returns (text, encoding). Line endings are normalised to ``\\n``.
    """
    wide = _wide_bom(data)
    if wide:
        text, enc = wide
    else:
        bom = data.startswith(b"\xef\xbb\xbf")
        body = data[3:] if bom else data
        try:
            text, enc = body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as e:
            if _cut_at_end(body, e, bom):
                text, enc = body[: e.start].decode("utf-8") + "\ufffd", "utf-8 (cut mid-character at its end)"
            elif bom or _mostly_utf8(body):  # the mark says UTF-8 outright
                text, enc = body.decode("utf-8", errors=_CP1252_BYTES), "utf-8 (stray bytes as cp1252)"
            else:
                enc = _detect_legacy(data)
                text = data.decode(enc, errors="replace")
        if bom:
            enc = enc.replace("utf-8", "utf-8-sig", 1)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, enc


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few bytes that are not (a quote pasted from a Windows program): its UTF-8
    letters outnumber the stray bytes. Decoded whole as a legacy charset, each of its UTF-8
    letters became two ('élèves' -> 'Ã©lÃ¨ves'); a file in a legacy charset has few or no
    byte pairs that happen to be UTF-8."""
    valid = data.decode("utf-8", errors="ignore").encode("utf-8")
    stray = len(data) - len(valid) - _cut_tail(data)  # a character cut at the end is no stray byte
    letters = len(valid) - len(valid.translate(None, _UTF8_LEADS))  # one lead byte per letter; a Python loop took 3 s per 100 MB
    if letters > stray:
        return letters > _FEW_PAIRS or not _inside_latin_words(valid)
    if letters == stray > 0:  # "café" beside one stray byte (damage) was read as cp1252 'cafÃ©'
        return _latin_or_wide(valid) and not _closing_pair(data)
    if 0 < letters < stray <= 2 * letters <= 2 * _FEW_PAIRS:  # "café ’“" was cp932 "cafﾃｩ 駐"
        return _small_or_punctuation(valid) and not _letters_among(data, valid) and not _closing_pair(data)
    return False


_FEW_PAIRS = 64  # UTF-8 letters few enough to be a legacy text's chance pairs


def _inside_latin_words(valid: bytes) -> bool:
    """Each letter of another script (``_NOT_DAMAGE``) is a chance pair beside an ASCII capital:
    a legacy text's capitals that happen to be UTF-8 pairs, cp1250 "STÓŁ" read "STӣ", "ŁÓŻKO"
    "£ӯKO". Damaged UTF-8 writes such letters in words of their own ("Привет ’"), or they are
    no two letters of a Latin page beside a capital: "5μm", "Great👍", NFD "cafe\u0301",
    "Hawaiʻi" (review82: those were read cp1250, latin_1)."""
    found = False
    for run in _high_runs(valid):  # the ASCII skipped in C: a 30 MB text ran at half the speed
        chars = run.group().decode("utf-8")
        before, after = valid[run.start() - 1:run.start()], valid[run.end():run.end() + 1]
        for i, c in enumerate(chars):
            if _NOT_DAMAGE.match(c):
                if not (i == 0 and before.isupper() or i == len(chars) - 1 and after.isupper()) or not _chance_pair(c):
                    return False
                found = True
    return found


def _chance_pair(c: str) -> bool:
    """``c``'s UTF-8 is two bytes that a Latin page reads as two letters (cp1250 "ÓŁ" is "ӣ"), and
    no accent or modifier (U+02B0-U+036F) that NFD text or "Hawaiʻi" writes after an ASCII letter."""
    pair = c.encode("utf-8")
    return len(pair) == 2 and not "\u02b0" <= c <= "\u036f" and any(
        pair.decode(enc, errors="replace").isalpha() for enc in ("cp1250", "cp1252"))


def _small_or_punctuation(valid: bytes) -> bool:
    """The UTF-8 letters are small Latin letters (U+00DF-U+017F) or punctuation (U+2000-U+218F):
    what damaged text holds, and what a cp1252 text's chance pairs seldom are: those are a capital
    and a symbol, "É‡" (U+0247), "Ã·" (÷), beside the text's other high bytes."""
    return all("\u00df" <= c <= "\u017f" and c.islower() or "\u2000" <= c <= "\u218f"
               for c in _NON_ASCII.findall(valid.decode("utf-8")))


_NON_ASCII = re.compile("[^\x00-\x7f]")


def _letters_among(data: bytes, valid: bytes) -> bool:
    """A stray byte reads in cp1252 as a letter: a cp1252 text's own ("MOT Å¯ é è", its "Å¯"
    the UTF-8 "ů"); what is pasted into UTF-8 from a Windows program is quotes, dashes, "€"."""
    ascii_ = bytes(range(0x80))
    stray = Counter(data[:len(data) - _cut_tail(data)].translate(None, ascii_)) - Counter(valid.translate(None, ascii_))
    return any(_CP1252[b].isalpha() for b in stray)


def _closing_pair(data: bytes) -> bool:
    """A UTF-8 pair that reads in cp1252 as a capital and the punctuation that closes a word, and
    is no small letter or ends a word in capitals: "CAFÉ…" (C9 85, UTF-8 "Ʌ"), "AMANHÃ”" ("Ô"),
    "NÅ”" ("Ŕ"), "CAFÄ…" ("ą"). Beside one stray byte (’, “) that is legacy text; damaged UTF-8
    ends words so with small letters after small ones ("są", "mě", "dû")."""
    return any(m[1] or not m[2].decode("utf-8").islower() for m in _CLOSING_PAIR.finditer(data))


_CLOSING_PAIR = re.compile(rb"([A-Z]{2})?([\xc3-\xdf][\x85\x92\x94\x9b\xbb])(?![A-Za-z])")


def _latin_or_wide(valid: bytes) -> bool:
    """A tie between UTF-8 letters and stray bytes goes to UTF-8 where its letters are what damaged
    UTF-8 text holds: Latin letters (U+00A0-U+024F, U+1E00-U+1EFF) and punctuation, currency and
    the like (U+2000-U+218F: ’ – € ™). A legacy text whose bytes happen to be UTF-8 reads as other
    scripts: cp1250 "ÓŻ" (RÓŻE) is Cyrillic "ӯ", Czech "éšť" CJK "隝"."""
    return _NOT_DAMAGE.search(valid.decode("utf-8")) is None


_NOT_DAMAGE = re.compile("[^\x00-\x7f\xa0-\u024f\u1e00-\u1eff\u2000-\u218f]")


_UTF8_LEADS = bytes(range(0xC0, 0x100))


def _cut_tail(data: bytes) -> int:
    """How many bytes at the end are an unfinished UTF-8 character (0 to 3): its lead byte and
    the continuation bytes it allows ('日' cut to b'\\xe6\\x97'), as a decoder says 'unexpected end'."""
    for k in (1, 2, 3):
        if len(data) >= k and data[-k] >= 0xC0:  # the last lead byte begins the last character
            try:
                data[-k:].decode("utf-8")
            except UnicodeDecodeError as e:
                return k if e.start == 0 and e.reason == "unexpected end of data" else 0
            return 0
    return 0


def _cut_at_end(data: bytes, e: UnicodeDecodeError, bom: bool) -> bool:
    """UTF-8 cut inside its last character (a truncated download): the only error is an
    unfinished character at the end, and what comes before holds UTF-8 letters or a UTF-8
    byte-order mark (a plain ASCII text ending in one such byte may be cp1252, 'café' in one byte)."""
    if e.reason != "unexpected end of data" or e.end != len(data):
        return False
    try:
        return bom or not data[: e.start].decode("utf-8").isascii()
    except UnicodeDecodeError:
        return False


def _cp1252_bytes(e: UnicodeDecodeError) -> tuple[str, int]:
    """A codec error handler: each byte that is not UTF-8 as its cp1252 character (Latin-1 where cp1252 has none)."""
    if e.reason == "unexpected end of data" and e.end == len(e.object):
        return "\ufffd", e.end  # cut inside its last character (a truncated download)
    b = e.object[e.start : e.end]
    return "".join(bytes([x]).decode("cp1252", errors="ignore") or chr(x) for x in b), e.end


_CP1252_BYTES = "curate-cp1252-bytes"
codecs.register_error(_CP1252_BYTES, _cp1252_bytes)


# Symbols that cp1252 gives for the letters of other code pages (Latin-2 "ł" -> "³"):
# between two letters they mean the guess is wrong.
_SYMBOLS = frozenset("¡¢£¥¦©ª«¬®¯±²³µ¶¹º»¼½¾¿")
# Turkish (ISO-8859-9) letters read as cp1252 ("ş" -> "þ", "ı" -> "ý"); Western text has few.
_RARE = frozenset("ðþýÐÞÝ")
_CP1252 = {b: bytes([b]).decode("cp1252", errors="replace") for b in range(0x80, 0x100)}
_CP1252_UNDEFINED = frozenset(b for b, c in _CP1252.items() if c == "\ufffd")
_CP1252_LETTER = b"A-Za-z" + b"".join(re.escape(bytes([b])) for b, c in _CP1252.items() if c.isalpha())
# An ordinal's plural ends a word ("nºs", números; "2ªs"): no symbol inside a word (Romanian "ș" has no "s" after it there).
_PLURAL = b"(?!s(?![%s]))" % _CP1252_LETTER
_SYMBOL_IN_WORD = re.compile(b"(?<=[%s])(?:[%s]|[\xaa\xba]%s)(?=[%s])" % (
    _CP1252_LETTER, b"".join(re.escape(bytes([b])) for b, c in _CP1252.items() if c in _SYMBOLS - {"º", "ª"}), _PLURAL,
    _CP1252_LETTER))


def _detect_legacy(data: bytes) -> str:
    """The charset of bytes that are not UTF-8: cp1252 when the text reads as Western.

    charset_normalizer alone mislabels Western text badly (it often rates several code pages
    equally on mostly-ASCII text and picks cp1250, cp775, hp_roman8 ..., turning "è" into
    "č"). Western text has a recognisable shape under cp1252: its few non-ASCII characters
    are letters or punctuation, standing alone among ASCII letters. Cyrillic, Greek or CJK
    bytes decode to long runs instead, and Central European text to symbols inside words
    ("³", "¹", "¾") or undefined bytes. Text of that shape, or one a Latin code page reads as a
    language (``_latin_charset``), gets that code page; the rest is left to charset_normalizer.
    """
    short = _legacy_sample(data, 1 << 18)
    if len(short) - len(short.translate(None, _HIGH_BYTES)) < _ENOUGH_HIGH:  # a short text, or a few words
        script = legacy_scripts.charset(short)  # Cyrillic or Greek: all its high bytes letters of one script
        if script:
            return script
    latin = latin_charset(data, short)
    if latin:
        return latin
    from charset_normalizer import from_bytes

    # The head where one byte in 1024 is not ASCII: charset_normalizer reads a short text's
    # words better whole (Faroese, Aguaruna), and named a page by a mostly ASCII head (Russian
    # after 300 KiB of it as cp1252; a head of ASCII alone "ascii", every later letter lost).
    # An ASCII head (a licence, a table of contents) is left out: charset_normalizer reads a few
    # chunks spread over what it is given, and 20 KiB of ASCII before 4 KiB of Russian cp1251,
    # Korean EUC-KR or Japanese EUC-JP had it answer cp1250 or Big5.
    first = next(_high_runs(data), None)
    if first is not None and first.start() > _ASCII_HEAD:
        data = data[first.start() - _AROUND:]
    head = data[: 1 << 20]
    sample = _legacy_sample(data, 1 << 20, min(_ENOUGH_HIGH, len(head) >> 10))
    # quotes alone between ASCII are the same in every Windows page, and where they outnumber the
    # other high bytes they kept the text's ASCII whole: 1,100 of them before Russian cp1251 had
    # charset_normalizer answer cp1250. As ASCII apostrophes, for this guess only, where what is left
    # is words of long runs (Cyrillic, Greek, CJK), not a no-break space or "·" (cp1252 read cp850).
    quotes = len(_LONE_QUOTE.findall(sample))
    if quotes > len(sample) - len(sample.translate(None, bytes(range(0x80, 0x100)))) - quotes:
        rest = _LONE_QUOTE.sub(b"'", sample)
        high = rest.translate(None, bytes(range(0x80)) + b"\xa0")
        if len(high) > 2 * len(_HIGH.findall(rest.replace(b"\xa0", b" "))):
            sample = rest
    sample = _without_ascii_stretches(sample)
    # no NUL byte, no UTF-16/32 (without a byte-order mark here): its spaces and line ends would be
    # NULs. Short capitals were ("ŁÓŻKO\n" cp1250 read "ꏓ꽋伊", the line end inside a CJK letter).
    best = from_bytes(sample, cp_exclusion=None if b"\x00" in sample else _WIDE).best()
    return best.encoding if best is not None else "latin_1"


_HIGH_BYTES = bytes(range(0x80, 0x100))
_WIDE = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]


def _without_ascii_stretches(sample: bytes, block: int = 1024) -> bytes:
    """``sample`` with each stretch of whole ``block``-sized ASCII blocks cut to its first and last
    ``_AROUND`` bytes: charset_normalizer reads a few chunks spread over what it is given, and 8 KiB
    of ASCII in the middle (not the head, ``_detect_legacy``) between two lines of Korean EUC-KR had
    it answer cp874. A block that holds a non-ASCII byte is kept whole, words and all. Only where the
    high bytes come in runs longer than two (Cyrillic, Greek, CJK words)."""
    if len(sample) <= 2 * block or sample.isascii():
        return sample
    high = len(sample) - len(sample.translate(None, bytes(range(0x80, 0x100))))
    if high <= 2 * len(_HIGH.findall(sample)):  # a mostly ASCII text with a quote here and there (Big5 "’"): its words help
        return sample
    parts, ascii_from = [], None
    for at in range(0, len(sample), block):
        if sample[at:at + block].isascii():
            if ascii_from is None:
                ascii_from = at
            continue
        if ascii_from is not None:  # its edges: a Shift-JIS or Big5 letter's second byte may be ASCII
            parts += [sample[ascii_from:ascii_from + _AROUND], b"\n", sample[at - _AROUND:at]]
            ascii_from = None
        parts.append(sample[at:at + block])
    if ascii_from is not None:
        parts.append(sample[ascii_from:ascii_from + _AROUND])
    return b"".join(parts)


def latin_charset(data: bytes, short: bytes | None = None) -> str | None:
    """The Latin code page of bytes that are not UTF-8 (``_detect_legacy``), or None when the
    text is not Latin-script text in one (Cyrillic, Greek, CJK ...). ``short``: its
    ``_legacy_sample(data, 1 << 18)`` where the caller has it."""
    sample = _legacy_sample(data, 1 << 20)
    high = sample.translate(None, bytes(range(0x80)))  # the non-ASCII bytes: cp1252 reads each as one character
    counts = Counter(high)
    western = False
    if not any(b in counts for b in _CP1252_UNDEFINED):  # not UTF-8, so there is at least one non-ASCII run
        letters = rare = bad = 0
        for b, n in counts.items():  # by byte, not character: a book has few distinct ones
            c = _CP1252[b]
            if c in _SYMBOLS:
                continue  # counted below, where it stands between two letters
            elif c.isalpha():
                letters += n
                rare += n if c in _RARE else 0
            elif not (c.isspace() or unicodedata.category(c)[0] in "PS"):
                bad += n  # C1 controls and the like
        if any(_CP1252[b] in _SYMBOLS for b in counts):
            bad += len(_SYMBOL_IN_WORD.findall(sample))
        lone = len(_LONE_QUOTE.findall(sample))  # many short runs, but they say nothing: Russian after 1,100 quotes
        western = len(high) - lone <= 1.5 * (len(_HIGH.findall(sample)) - lone) and bad <= 0.01 * len(high) and rare <= 0.3 * max(letters, 1)
    return _latin_charset(_legacy_sample(data, 1 << 18) if short is None else short, western)  # a quarter of the gate's: the regexes cost ~0.1 s per MiB


# Enough high bytes to judge a code page by (a page of Polish has ~100); a head with fewer
# is read on where the rest are.
_ENOUGH_HIGH = 1024
_AROUND = 16  # bytes kept either side of a run of high bytes: its word and its neighbours
# up to this many non-ASCII bytes are scored whatever their runs: a word in capitals, "ŁÓŻKO" or
# Latvian "nedēļā", is one run of three (charset_normalizer read them cp932, cp1006); more read
# Russian as Western (8: cp866 "ВЧЕРА" as cp850 "éùàÉÇ", "УТОК" as cp1252 "“’ŽŠ")
_FEW_HIGH = 3
_ASCII_HEAD = 8 << 10  # an ASCII head longer is not given to charset_normalizer (_detect_legacy)


# Windows quotes, dashes and the ellipsis: the same bytes in cp1250, cp1251, cp1252, cp1254, cp1257,
# so no count of them tells a page (1,100 curly quotes before a Polish paragraph filled the sample).
# Counted where they stand alone between ASCII bytes: Shift-JIS "‚l" (Ｌ), "–¾" are no quotes.
_QUOTES = frozenset(b"\x82\x84\x85\x8b\x91\x92\x93\x94\x96\x97\x9b")
_LONE_QUOTE = re.compile(rb"[%s](?<![\x80-\xff].)(?![\x80-\xff])" % re.escape(bytes(sorted(_QUOTES))), re.S)  # the byte first (_ALONE)
# ... but between two ASCII letters a low or opening quote, or a closing one, is none: cp850's "ä",
# "ö", "é", Mac's "Ñ", "î" ("w„hrend", "Gr”sse"); an apostrophe or dash there is ("don’t", "word—word")
_QUOTE_IN_WORD = re.compile(rb"(?:[\x82\x84]|[\x8b\x94\x9b](?=[A-Za-z]))(?<=[A-Za-z].)", re.S)  # a low quote opens: none ends a word
# ... of which a low quote that ends a word, or a single guillemet between two letters, is no punctuation whatever
# else the text holds (cp850 "café" read cp1252 "caf‚", Mac "Não" "N‹o"): a letter where a page reads it so, and
# no text in a page that reads it as that quote; a "„" before a word ("sagte„ja“") stays a quote
_NO_QUOTE_BYTES = frozenset(b"\x82\x84\x8b\x9b")
_NO_QUOTE_IN_WORD = re.compile(rb"(?:[\x82\x84](?![A-Za-z\x80-\xff])|[\x8b\x9b](?=[A-Za-z]))(?<=[A-Za-z].)", re.S)
# ... but where they stand after two words or more, each before a space or a line's end, and none inside a word, they are
# a comma written with cp1252's "‚" (U+201A): "Yes‚ sir‚" read cp850 "Yesé siré"; French in cp850 writes "é" inside words
# too, and one word over and over ("café café") keeps its letter
_LOW_QUOTE_AS_COMMA = re.compile(rb"([A-Za-z]+)[\x82\x84](?=\s|$)")
# ... and cp1252's symbols that stand alone, no letter either side: a bullet, "€", "§", "·" (Mac's
# "ï", "Ä", "ß", cp850's "À"): a list of items read as Mac Roman (review82); a word of one letter
# in those pages is seldom on them (French "à" is Mac's 0x88 "ˆ", Italian "è" cp850's 0x8A "Š";
# but Icelandic "í", Portuguese "À" are cp850's ¡ and ·)
_ALONE = re.compile(rb"[\x80-\xff](?<![A-Za-z\x80-\xff].)(?![A-Za-z\x80-\xff])", re.S)  # the byte first, as _QUOTE_RUN
_CP1252_MARKS = frozenset(b for b in range(0x80, 0x100) if unicodedata.category(bytes([b]).decode("cp1252", "replace"))[0] in "PS"
                          and bytes([b]).decode("cp1252", "replace") != "\ufffd")  # undefined: Mac's "è", "ç"
# ... nor are its marks written after a name, "Windows™", "Acme®" (Mac's "ô", "Æ")
_AFTER_NAME = re.compile(rb"[\x99\xa9\xae](?<=[a-z].)(?![A-Za-z\x80-\xff])", re.S)  # "Windows™"; not cp850's "ÖVER", "SJÖ"
_QUOTE_RUN = re.compile(rb"[%s](?<![\x80-\xff].)[%s]*(?![\x80-\xff])" % ((re.escape(bytes(sorted(_QUOTES))),) * 2), re.S)  # "—“", "’…"


def _legacy_sample(data: bytes, size: int, enough: int = _ENOUGH_HIGH) -> bytes:
    """The first ``size`` bytes, or where they hold fewer than ``enough`` non-ASCII bytes
    (a short text, or an ASCII licence or table of contents before the text) the runs of them
    wherever they are, each with ``_AROUND`` bytes either side, until there are enough or
    ``size`` bytes. A file was judged by its head alone: Polish cp1250 after 256 KiB of ASCII
    read as cp1252, Russian cp1251 after it as cp1252, and charset_normalizer, given a mostly
    ASCII head, named a page by it. Bounded: one scan in C to the end at most, ``size`` bytes kept."""
    head = data[:size]
    high = len(head) - len(head.translate(None, bytes(range(0x80, 0x100))))
    if high >= enough and high - len(_LONE_QUOTE.findall(head)) >= enough:
        return head
    parts, start, end, room, have = [], -1, -1, size, 0
    for m in _high_runs(data):
        if start < 0 or m.start() - _AROUND > end:  # the first, or not touching the window before (done)
            if start >= 0:
                parts.append(data[start:end])
                room -= end - start
            start = max(m.start() - _AROUND, 0)
        end = m.end() + _AROUND
        have += m.end() - m.start() - (m.end() - m.start() == 1 and data[m.start()] in _QUOTES)  # _LONE_QUOTE
        if have >= _ENOUGH_HIGH or end - start >= room:
            break
    if start >= 0:
        parts.append(data[start:_whole_runs(data, start, min(end, start + room))])
    return b"\n".join(parts)


def _whole_runs(data: bytes, start: int, end: int) -> int:
    """``end`` moved back to before the run of non-ASCII bytes it would cut or end on: the last
    window stops where it is full, and a character cut there ("\\xba" alone of EUC-KR's two
    bytes) failed the decoders of the right page (Korean after 1 MiB of ASCII read as latin_1)."""
    if end >= len(data):
        return len(data)
    while end > start and data[end - 1] >= 0x80:
        end -= 1
    return end


def _high_runs(data: bytes, steps: tuple = (1 << 16, 1 << 12)):
    """``_HIGH.finditer(data)``, the ASCII stretches skipped by ``bytes.isascii``, 64 KiB then
    4 KiB at a time: decode_text on 100 MB of ASCII and a Polish paragraph ran at 31.8 MB/s with
    the regex alone, 128 so (the head-only main: 116); with a quote every 52 kB 125 (main 134).
    A run across two blocks is found whole."""
    pos, n = 0, len(data)
    while pos < n:
        if data[pos:pos + steps[0]].isascii():
            pos += steps[0]
            continue
        stop, sub = min(pos + steps[0], n), steps[-1]
        while pos < stop:
            end = pos + sub
            if not data[pos:end].isascii():
                for m in _HIGH.finditer(data, pos, end):
                    if m.end() == end:  # may go on past the block: found whole
                        m = _HIGH.match(data, m.start())
                        end = m.end()
                    yield m
            pos = end


# The non-ASCII letters of languages written in the Latin code pages below (lower case). A
# Latin text uses one alphabet's letters; read in the wrong code page its letters scatter over
# several (Polish cp1250 as cp1252: "siê", "gra¿", "mo¿na"; Czech ISO-8859-2 as cp1250: "ąkola").
_ALPHABETS = (
    "àâæçéèêëîïôœùûüÿ",  # French
    "äöüß", "áéíñóúü", "áâãàçéêíóôõú", "àèéìíîòóùú", "àçèéíïòóúü",  # German, Spanish, Portuguese, Italian, Catalan
    "áéëèêíïóöúü", "åäöé", "æøåéó", "äöåšž", "äöõüšž", "áðéíóúýþæö",  # Dutch, Swedish, Danish/Norwegian, Finnish, Estonian, Icelandic
    "áéíóú", "çë", "âêîñôùü", "àáçèéíïòóúü", "áäéëíïñóöúü",  # Irish, Albanian, Breton, Occitan, Quechua/Aymara
    "áčďéěíňóřšťúůýž", "áäčďéíĺľňóôŕšťúýž", "ąćęłńóśźż", "áéíóöőúüű",  # Czech, Slovak, Polish, Hungarian
    "čćđšž", "ăâîșțşţ", "čćěłńóřšźž", "çğıöşüâîû",  # Croatian/Serbian/Bosnian/Slovene, Romanian, Sorbian, Turkish
    "ąčęėįšųūž", "āčēģīķļņšūž",  # Lithuanian, Latvian
)
# cp1252 unless another reads the text as one language; ISO-8859-16 only as Romanian (read as
# any language, it took Latin-1 texts of other languages).
_LATIN_PAGES = ("cp1252", "cp1250", "iso8859_2", "cp1257", "iso8859_13", "iso8859_4", "cp1254")
# Old Mac and DOS text (Mac Roman; cp850, whose letters are cp437's where Western text has them:
# "ä", "é", "ñ", "ß"): their letters are cp1252's quotes and symbols ("é" -> "‚", "ä" -> "„"). Last:
# a tie goes to a Windows or ISO page.
_OLD_PAGES = ("mac_roman", "cp850")
_ROMANIAN = _ALPHABETS.index("ăâîșțşţ")
_PORTUGUESE = _ALPHABETS.index("áâãàçéêíóôõú")
_TURKISH = _ALPHABETS.index("çğıöşüâîû")
# a tie with a page read as Sorbian alone goes to the other: Mac Roman "Möwen über" is cp1250 "Mšwen źber"
_SORBIAN = _ALPHABETS.index("čćěłńóřšźž")
_IN_WORD = re.compile(rb"[\x80-\xff](?<=[A-Za-z\x80-\xff].)(?=[A-Za-z\x80-\xff])", re.S)  # the byte first (_NO_CAPITAL)
_HIGH = re.compile(rb"[\x80-\xff]+")
# where no capital stands: after a small letter; at a word's start before a capital and a small letter, after a
# capital before a small letter (cp1252's "©Acme" read ISO-8859-2 "ŠAcme", Mac's "Zürich" cp1252 "ZŸrich").
# The byte first: a lookbehind first ran the sample at a third of the speed
_NO_CAPITAL = re.compile(rb"[\x80-\xff](?:(?<=[a-z].)|(?<![A-Za-z\x80-\xff].)(?=[A-Z][a-z])|(?<=[A-Z].)(?=[a-z]))", re.S)
# a small letter between two capitals, or after two at a word's end: a page that reads capitals as small
# letters (cp850's "SÅ" as Mac Roman's "Sè", "ATÉ" as "ATê", Mac's "PRÈS" as cp1252's "PRés"); "ß" is
# written in capitals ("STRAßE", "GROß")
_BETWEEN_CAPITALS = re.compile(rb"[\x80-\xff](?:(?<=[A-Z].)(?=[A-Z])|(?<=[A-Z]{2}.)(?![A-Za-z\x80-\xff]))", re.S)  # the byte first: 2.5 times faster than a lookbehind first
# ... and, in Mac Roman and cp850 (whose capitals and small letters share no bytes with cp1252's),
# one that begins a word before a capital: cp850's "L'ÉTÉ" read Mac "L'êTê" (review82)
_STARTS_CAPITALS = re.compile(rb"[\x80-\xff](?<![A-Za-z\x80-\xff].)(?=[A-Z](?![a-z]))", re.S)
_BEFORE_LETTER = re.compile(rb"[\x80-\xff](?=[A-Za-z\x80-\xff])" + _PLURAL)  # the ordinals' count: "ºi" (Romanian "și"), not "nºs"
# cp1252's ª, º after a digit ("1º", "2ª"); not any letter: Czech "3členná", Hungarian "2ütemű" write them
_AFTER_DIGIT = re.compile(rb"[\xaa\xba](?<=[0-9].)", re.S)
# ... and a word of one letter glued to a number is a symbol: cp1252's "£10", "±5mm" (ISO-8859-2 "Ł10", "ą5mm")
_BEFORE_DIGIT = re.compile(rb"[\x80-\xff](?<![A-Za-z\x80-\xff].)(?=[0-9])", re.S)
# cp1252's "ç" before e, i or a consonant: French, Portuguese, Catalan write it before a, o, u only
# (a "c" is soft before e, i), but Latvian "ē" (cp1257, ISO-8859-13) is that byte: "mēs" read "mçs"
_CEDILLA_BEFORE_E = re.compile(rb"[\xe7\xc7](?:(?<=[A-Za-z]\xe7)(?=[b-df-hj-np-tv-zei\xe8-\xef])|(?<=[A-Z]\xc7)(?=[B-DF-HJ-NP-TV-ZEI\xc8-\xcf]))")  # "VĒSS" too
_CEDILLA_BEFORE_A = re.compile(rb"[\xe7\xc7](?:(?<=[A-Za-z]\xe7)(?=[aouAOU])|(?<=[A-Z]\xc7)(?=[AOU]))")  # the byte first: 10 times faster
# Romanian "ș" before a consonant but "t", "c", "n" ("ști", "școală", "pașnic"), "ț" before any: Latvian "ē", "Ū"
# are those bytes in ISO-8859-4 ("vēss" read ISO-8859-16 "vșss", "Ūdens" "Țdens")
_RO_BEFORE_CONSONANT = re.compile(rb"[\xaa\xba\xde\xfe](?=[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z])(?:(?<=[\xde\xfe])|(?![cCtTnN]))")
# cp1252's Icelandic "ð", "þ", "ý" are Turkish "ğ", "ş", "ı" (cp1254, ISO-8859-9): Icelandic writes them
# beside its "á", "é", "í", "ó", "ú", "æ", and "ð" after a consonant or last ("orð", "segirðu", "við"); a
# Turkish text says so by "ğ", "ş" or "İ" ("ı" alone is Czech and Slovak "ý": "malý")
_ICELANDIC_ONLY = frozenset(b"\xe1\xe9\xed\xf3\xfa\xe6\xc1\xc9\xcd\xd3\xda\xc6")
_TURKISH_OWN = frozenset(b"\xf0\xfe\xd0\xde")
# ... and "İ" (0xDD) where it begins a word ("İzmir", "İSTANBUL"): inside one it is as often Czech's, Slovak's or
# Icelandic's capital "Ý" ("MALÝ", "STARÝCH", "SÝNDI": read cp1254 "MALİ"), which begins no Czech word
_DOTTED_I_STARTS_WORD = re.compile(rb"\xdd(?<![A-Za-z\x80-\xff].)", re.S)
_ICELANDIC_ETH = re.compile(rb"[\xf0\xd0](?:(?<=[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z].)|(?![A-Za-z\x80-\xff]))", re.S)
# ... and Latvian writes "ē" after a vowel seldom (poēma), Turkish "ç" often: "için", "Geçen" (cp1257 "iēin",
# ISO-8859-4 "Geįen") go to cp1254 in a tie
_E7_AFTER_VOWEL = re.compile(rb"\xe7(?<=[aeiouAEIOU]\xe7)")
# ... or begins a word before a vowel: Turkish "çok", "çocuk", "çalış"; Latvian words that begin with
# "ē" have a consonant after it ("ēdiens", "ēka", "ērglis"): "Su çok soğuk" read cp1257 "Su ēok sošuk"
_E7_STARTS_WORD = re.compile(rb"(?:\xe7(?=[aeiouAEIOU\xfc])|\xc7(?=[AEIOU\xdc]))(?<![A-Za-z\x80-\xff].)", re.S)  # "ÇOCUK" too
# Portuguese writes "õ" before "e" alone ("lições", "põe"): elsewhere cp1252's "õ" is Estonian's or Hungarian "ő" (cp1250,
# ISO-8859-2: "Az őszi szél" read cp1252 "Az õszi szél" as Portuguese); and French, Catalan, Dutch write "ï" after a
# vowel alone ("naïf", "veïna", "ruïne"): after a consonant it is Latvian "ļ" (cp1257, ISO-8859-13: "pļava" read "pïava")
# (small letters: a capital "Ï" after "F" was cp1252's in "CAFÏ…", the bench's capitals)
_O_TILDE_ELSEWHERE = re.compile(rb"\xf5(?!e)")
_I_DIAERESIS_AFTER_CONSONANT = re.compile(rb"\xef(?<=[b-df-hj-np-tv-z]\xef)")
_SHARP_S = tuple(i for i, alphabet in enumerate(_ALPHABETS) if "ß" in alphabet)  # the alphabets of "ß" alone (German's)
_NOT_IN_WORDS = _SYMBOLS | frozenset("¤¦¨´¸×÷§°˘˙˛˝ˇ˚∂∆∑∏π∫Ω√≈≠≤≥◊")  # Mac Roman's symbols too


# what a word in capitals may hold: an apostrophe, a dash, Catalan's "L·L", a space
_IN_CAPITALS = frozenset("’‘–—·\xa0\xad")


def _latin_score(counts: dict, in_word: dict, after_lower: dict, before_letter: dict, after_digit: dict,
                 enc: str, between_capitals: dict | None = None) -> tuple[int, int, int, int, int]:
    """(score, letters of the best alphabet, letters, bad, the best alphabet's index in
    ``_ALPHABETS`` or -1 where two tie) for the high bytes read in ``enc``:
    the score is the best alphabet's letters, less the other letters, less twice the bytes
    that read as no text (undefined, C1 controls, a symbol inside a word, an ordinal before a
    letter, a letter on cp1252's º/ª byte after a digit but in cp1252, a capital after a small letter: Big5's "’" is ISO-8859-2's "ĄŚ" in "Nation\xa1\xa6s",
    a small letter but "ß" between two capitals)."""
    table = _page_table(enc)
    in_alphabet = [0] * len(_ALPHABETS)
    bad = total = 0
    for b, n in counts.items():
        kind, alphabets = table[b]
        if kind == "bad":
            bad += n
        elif kind in ("lower", "upper"):
            bad += after_lower.get(b, 0) if kind == "upper" else 0
            bad += (between_capitals or {}).get(b, 0) if kind == "lower" and alphabets != _SHARP_S else 0
            bad += after_digit.get(b, 0) if enc != "cp1252" else 0  # "3º", "2ª" read "3ş", "2Ş"
            for i in alphabets:
                in_alphabet[i] += n
            total += n
        elif kind == "symbol":
            bad += in_word.get(b, 0)
        elif kind == "ordinal":
            bad += before_letter.get(b, 0)  # Romanian "și" is cp1252 "ºi"
        elif kind == "mark":  # cp850's "GRÖSSE" read cp1252 "GR™SSE", Mac's "NIÑO" "NI„O"
            bad += (between_capitals or {}).get(b, 0)
    best = max(in_alphabet)
    which = in_alphabet.index(best) if in_alphabet.count(best) == 1 else -1
    return best - (total - best) - 2 * bad, best, total, bad, which


@functools.lru_cache(maxsize=None)
def _page_table(enc: str) -> dict:
    """byte -> (what ``enc`` reads it as: bad, lower, upper, symbol, ordinal or other; the indices of
    the alphabets its letter is in), made once per code page: scoring is a loop over the
    distinct bytes of a text, a few dozen."""
    table = {}
    for b in range(0x80, 0x100):
        c = bytes([b]).decode(enc, errors="replace")
        alphabets: tuple = ()
        if c == "\ufffd" or "\x80" <= c <= "\x9f" or c == "\uf8ff":  # Mac Roman's Apple logo (0xF0)
            kind = "bad"
        elif c in "ºª":  # letters to Python, ordinals to text ("1º", "Nº 5", "2ª"): none has a letter after it
            kind = "ordinal"
        elif c in _NOT_IN_WORDS:  # before letters: "µ" is one to Python, a unit to text
            kind = "symbol"
        elif c.isalpha():
            kind = "upper" if c.isupper() else "lower"
            low = c.lower() if len(c.lower()) == 1 else c
            alphabets = tuple(i for i, alphabet in enumerate(_ALPHABETS) if low in alphabet)
            if c == "İ":  # Turkish's own capital, whose small letter is ASCII "i" ("İ".lower() is two characters): "İzmir"
                alphabets = (_TURKISH,)
        elif c in _IN_CAPITALS:
            kind = "other"
        else:
            kind = "mark"  # no part of a word in capitals
        table[b] = (kind, alphabets)
    return table


def _reads_as_one_language(score: tuple, high: int) -> bool:
    """Nearly all its letters are one alphabet's, most high bytes are letters, few are noise. ``high``
    leaves out the quotes that stand alone (``_LONE_QUOTE``)."""
    _, best, total, bad, _ = score
    return best >= 0.97 * total and total >= 0.5 * high and bad <= 0.01 * high


def _latin_charset(sample: bytes, western: bool) -> str | None:
    """The Latin code page of the sample: another than cp1252 when it reads the text as one
    language (``_ALPHABETS``) and cp1252 reads it worse by 2 letters or more (Hungarian "ő" is
    cp1252 "õ", Czech ISO-8859-2 "š" cp1250 "ą"); cp1252 when the text has Western shape
    (``western``) or cp1252 reads it as one language (Icelandic "ð", "þ"); else None (Cyrillic,
    Greek, CJK: long runs of high bytes, or no page reads it as a language). Languages without
    an alphabet here keep cp1252, which had them before."""
    high = sample.translate(None, bytes(range(0x80)))
    lone = len(_LONE_QUOTE.findall(sample))
    quotes = b"".join(_QUOTE_RUN.findall(sample))
    inside = _QUOTE_IN_WORD.findall(sample)
    if high and len(quotes) == len(high) and not inside:  # punctuation alone ("said—twice—“don’t”"): charset_normalizer said mac_iceland
        return "cp1252"
    words = len(high) - lone
    if not western and words > max((3 if words <= 16 else 2) * (len(_HIGH.findall(sample)) - lone), _FEW_HIGH):
        return None  # Cyrillic, Greek, CJK: runs longer than a Western word's two ('ção', 'öß')
    counts = Counter(high)  # byte -> count, and of those inside a word, after a small letter:
    in_word, after_lower = Counter(b"".join(_IN_WORD.findall(sample))), Counter(b"".join(_NO_CAPITAL.findall(sample)))
    between_capitals = Counter(b"".join(_BETWEEN_CAPITALS.findall(sample)))
    before_letter, after_digit = Counter(b"".join(_BEFORE_LETTER.findall(sample))), Counter(b"".join(_AFTER_DIGIT.findall(sample)))
    after_digit += Counter(b"".join(_BEFORE_DIGIT.findall(sample)))
    # ISO-8859-16 for Romanian only, and before cp1250 or ISO-8859-2 where it reads as well (a tie
    # goes to the page listed first): their "ş"/"ţ" (cedilla) are its "ș"/"ț" (comma below, what
    # Romanian writes; a cedilla writer had no other), "ă", "â", "î" the same bytes. The bytes tell
    # them apart where the text has them: cp1250's quotes (0x84, 0x94) are control codes in
    # ISO-8859-16, its „” (0xA5, 0xB5) cp1250's "Ą", "µ".
    pages = ("cp1252", "iso8859_16") + _LATIN_PAGES[1:] + _OLD_PAGES
    # cp1252's quotes and no-break space are no letters of the Mac and DOS pages: its ’ “ ” – —
    # (0x92-0x97) are their "í ì î ñ ó" ("ù ô ö û"), and an English text's "don’t" read "donít" as
    # Spanish, "—“" "óì"; 0xA0 is cp850's "á" (14 UDHR Latin-1 members whose only high byte it was)
    letters = counts - Counter(quotes) - Counter(b"".join(_AFTER_NAME.findall(sample)))
    letters -= Counter(b for b in b"".join(_ALONE.findall(sample)) if b in _CP1252_MARKS)
    letters.pop(0xA0, None)
    no_quote = Counter(b"".join(_NO_QUOTE_IN_WORD.findall(sample))) if counts.keys() & _NO_QUOTE_BYTES else Counter()
    if letters:  # with a letter of its own beside them: a cp1252 "sagte„ja“und ging„weg“" has none
        letters += Counter(b"".join(inside))
    elif not _commas(sample, no_quote, counts):
        letters += no_quote
    else:  # commas, after words in capitals too ("YES‚ SIR‚" read Mac Roman "YESÇ SIRÇ"): no mark between capitals
        between_capitals -= no_quote
        no_quote = Counter()
    old_capitals = between_capitals + Counter(b"".join(_STARTS_CAPITALS.findall(sample)))
    scores = {enc: _latin_score(letters if enc in _OLD_PAGES else counts, in_word, after_lower, before_letter,
                                after_digit, enc, old_capitals if enc in _OLD_PAGES else between_capitals) for enc in pages}
    # less those before a, o, u, the Western ones (Catalan "calçs" beside "començar"; Latvian "ē" seldom stands there)
    cedilla = max(len(_CEDILLA_BEFORE_E.findall(sample)) - len(_CEDILLA_BEFORE_A.findall(sample)), 0) if 0xE7 in counts or 0xC7 in counts else 0
    if cedilla:  # as bad bytes, in each page that reads 0xE7 as "ç" but Turkish cp1254 ("için", "çok")
        scores = {enc: (sc[0] - 2 * cedilla, *sc[1:3], sc[3] + cedilla, sc[4]) if enc != "cp1254" and
                  b"\xe7".decode(enc) == "ç" else sc for enc, sc in scores.items()}
    if no_quote:  # as bad bytes, in each page that reads them as those quotes
        scores = {enc: (sc[0] - 2 * sum(n for b, n in no_quote.items() if _QUOTE_CHAR.get((enc, b))), *sc[1:3],
                        sc[3] + sum(n for b, n in no_quote.items() if _QUOTE_CHAR.get((enc, b))), sc[4])
                  for enc, sc in scores.items()}
    o_tilde = len(_O_TILDE_ELSEWHERE.findall(sample)) if 0xF5 in counts else 0
    if o_tilde:  # as bad bytes, where a page reads the text as Portuguese
        scores = {enc: (sc[0] - 2 * o_tilde, *sc[1:3], sc[3] + o_tilde, sc[4]) if sc[4] == _PORTUGUESE else sc
                  for enc, sc in scores.items()}
    i_diaeresis = len(_I_DIAERESIS_AFTER_CONSONANT.findall(sample)) if 0xEF in counts else 0
    if i_diaeresis:  # as bad bytes, in each page that reads them as "ï"
        scores = {enc: (sc[0] - 2 * i_diaeresis, *sc[1:3], sc[3] + i_diaeresis, sc[4]) if b"\xef".decode(enc) == "ï" else sc
                  for enc, sc in scores.items()}
    romanian = len(_RO_BEFORE_CONSONANT.findall(sample)) if counts.keys() & {0xAA, 0xBA, 0xDE, 0xFE} else 0
    if romanian:  # as bad bytes, in each page that reads them as Romanian letters
        scores = {enc: (sc[0] - 2 * romanian, *sc[1:3], sc[3] + romanian, sc[4]) if b"\xba".decode(enc) in "șş" else sc
                  for enc, sc in scores.items()}
    turkish = (cedilla > 0 and _E7_AFTER_VOWEL.search(sample) is not None) or _E7_STARTS_WORD.search(sample) is not None  # cp1254 first in a tie
    west = scores["cp1252"]
    # quotes alone between ASCII tell no Windows page from another: 1,100 curly quotes before a
    # Polish paragraph left its letters too few of the high bytes, and it was read as cp1252
    words = len(high) - lone
    better = [(sc[0], sc[4] != _SORBIAN, turkish and enc == "cp1254", -i, enc) for i, (enc, sc) in enumerate(scores.items())
              if sc[0] >= west[0] + 2 and _reads_as_one_language(sc, words) and (enc != "iso8859_16" or sc[4] == _ROMANIAN)]
    if better:
        enc = max(better)[-1]
        # cp1254 reads the text as cp1252 does (no "ğ", "ı", "ş" ...): the Western name, as before the
        # cedilla counted (Albanian "kuçedër", Catalan "feliçment" were said to be Turkish Windows)
        return "cp1252" if enc == "cp1254" and len(sample.translate(None, _CP1254_OWN)) == len(sample) else enc
    if ((counts.keys() & _TURKISH_OWN or 0xDD in counts and _DOTTED_I_STARTS_WORD.search(sample))
            and not counts.keys() & _ICELANDIC_ONLY and not _ICELANDIC_ETH.search(sample)
            and _reads_as_one_language(scores["cp1254"], words)):
        return "cp1254"  # "soğuk", "şeker", "Işık" (cp1252 "soðuk", "þeker", "Iþýk")
    return "cp1252" if western or _reads_as_one_language(west, words) else None


def _commas(sample: bytes, no_quote: Counter, counts: Counter) -> bool:
    """Each of the text's low quotes ends a word in capitals before a space or a line's end (``_LOW_QUOTE_AS_COMMA``),
    after two words or more, and it has no other quote inside a word: commas, not the Mac/DOS letters ``no_quote``
    counts (cp850 writes "É", "Ä" in capitals, 0x90 and 0x8E). After small letters they are cp850's "é", "ä" ending
    words as real DOS text writes them (French "signé", Finnish "sekä": lingua's so written read cp1252 "sign‚")."""
    words = _LOW_QUOTE_AS_COMMA.findall(sample) if sum(no_quote.values()) >= 2 else []
    return (len(set(words)) >= 2 and all(w.isupper() for w in words)
            and len(words) == sum(no_quote.values()) == counts[0x82] + counts[0x84])


_QUOTE_CHAR = {(enc, b): True for enc in ("cp1252", "iso8859_16", *_LATIN_PAGES, *_OLD_PAGES) for b in b"\x82\x84\x8b\x9b"
               if bytes([b]).decode(enc, "replace") in "‚„‹›"}
_CP1254_OWN = bytes(b for b in range(0x80, 0x100) if bytes([b]).decode("cp1252", "replace") != bytes([b]).decode("cp1254", "replace"))


def without_bom(data):
    """``data`` (bytes or str) without a leading UTF-8 byte-order mark. Windows tools start a
    file, and so a dump's text field, with one: what tells a thing by how it starts (a JSON
    ``{``, a notebook, a shebang, ``<html``) reads past it."""
    return data.removeprefix(b"\xef\xbb\xbf" if isinstance(data, bytes) else "\ufeff")


# UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one.
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
              (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def wide_encoding(head: bytes) -> str | None:
    """'utf-16-le', ... when ``head`` starts with a UTF-16/32 byte-order mark, else None."""
    return next((enc for bom, enc in _WIDE_BOMS if head.startswith(bom)), None)


def utf16_without_bom(body: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' for text written in UTF-16 without a byte-order mark (a page,
    a book): each ASCII character has a NUL beside it, on the same side (read as a one-byte
    charset, its markup was a page's text; a book was quarantined as binary); None for other
    bytes, binary ones too."""
    head = body[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= len(head) // 8 and even * 8 <= odd:
        return "utf-16-le"
    if even >= len(head) // 8 and odd * 8 <= even:
        return "utf-16-be"
    return None


def with_wide_bom(data: bytes) -> bytes:
    """``data``, UTF-16 without a byte-order mark given the one it lacks: then read as such text
    with its mark is (``looks_binary``: not binary; ``decode_text``: its encoding)."""
    wide = None if wide_encoding(data) else utf16_without_bom(data)  # one with its mark: as it is
    return data if wide is None else (codecs.BOM_UTF16_LE if wide == "utf-16-le" else codecs.BOM_UTF16_BE) + data


def _wide_bom(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of UTF-16/32 text with a byte-order mark (Windows "Unicode" text, some
    C# and PowerShell sources), which is full of NUL bytes; None if it is not that."""
    for bom, enc in _WIDE_BOMS:
        if data.startswith(bom):
            try:  # not final: a read cut at a byte limit may end mid-character
                text = codecs.getincrementaldecoder(enc)().decode(data[len(bom):], final=False)
            except UnicodeDecodeError:
                return None
            head = text[:8192]
            ctrl = sum(1 for c in head if ord(c) < 32 and c not in "\t\n\x0c\r\x1b")
            return None if head and ctrl / len(head) > 0.3 else (text, enc)
    return None


def looks_binary(data: bytes) -> bool:
    """NUL bytes or mostly control characters in the first 8 KiB: not text (UTF-16/32 text with
    a byte-order mark is text)."""
    head = data[:8192]
    if not head:
        return False
    if _wide_bom(data[:8192]) is not None:
        return False
    if b"\x00" in head:
        return True
    ctrl = len(head.translate(None, _NOT_CTRL))  # in C: it runs on every web page now (html.binary_body)
    return ctrl / len(head) > 0.3


# every byte but the control characters looks_binary counts (tab, newline, form feed, CR and ESC are text's)
_NOT_CTRL = bytes(b for b in range(256) if b >= 32 or b in (9, 10, 12, 13, 27))


# --- records to batches ------------------------------------------------------------------


class _Batcher:
    def __init__(self, shard: Shard, limits: Limits):
        self.shard, self.limits = shard, limits
        self.docs: list[dict] = []
        self.skipped: list[tuple[dict, str, Optional[float], Optional[float], Optional[int]]] = []
        self.bad: list[dict] = []
        # records decoded from compressed members not yet checked: (stream, position, list, item)
        self.held: list[tuple] = []
        self.held_bytes = 0
        self.stream = None  # the decompress.Members stream records are read from, if any

    def _accept(self, target: list, item, nbytes: int) -> None:
        """Append to docs/skipped, or hold it until its member passed its check."""
        st = self.stream
        if st is None or (not self.held and st.verified >= st.produced):
            target.append(item)
            return
        if st.doomed is not None and st.produced > st.doomed:
            row = item[0] if isinstance(item, tuple) else item
            self._corrupt(row)
            return
        self.held.append((st, st.produced, target, item))
        self.held_bytes += nbytes + _meta_size(item)
        self.release()
        if self.held_bytes > HOLD_BYTES and st.doomed is None and st.failed is None:
            bomb = BombWatch(self.limits.max_file_bytes, self.limits.max_ratio)  # the pass stops where the read will: a bomb's ratio too
            verified, err = decompress.verify_file(lambda: open_raw(st.path), st.kind, self.limits.max_file_bytes,
                                                   lambda m: bomb.check(m.produced, m))
            st.verified = max(st.verified, verified)
            st.doomed = verified if err else None
            self.release()

    def release(self) -> None:
        n = 0
        for st, pos, target, item in self.held:
            if pos > st.verified:
                break
            target.append(item)
            n += 1
        if n:
            del self.held[:n]
            self.held_bytes = sum(len(item[0]["text"] if isinstance(item, tuple) else item["text"]) + _meta_size(item) for *_, item in self.held)

    def _corrupt(self, row: dict) -> None:
        st = self.stream
        why = st.failed.detail if st and st.failed else f"{st.kind if st else ''} member after decompressed byte {st.doomed if st else ''} failed its check"
        self.quarantine(row["path"], row["offset"], "corrupt_compressed", f"record decoded from a damaged member: {why}"[:500],
                        row.get("source_id"))

    def drop_held(self) -> None:
        """At the end of a shard: what is still held never passed a check."""
        self.release()
        for *_, item in self.held:
            self._corrupt(item[0] if isinstance(item, tuple) else item)
        self.held, self.held_bytes = [], 0

    def quarantine(self, path: str, offset: int, reason: str, detail: str, source_id: str | None = None) -> None:
        sh = self.shard
        self.bad.append(
            dict(path=name_utf8(path), offset=offset, reason=reason, detail=name_utf8(detail), source=name_utf8(sh.source), domain=sh.domain,
                 source_id=None if source_id in (None, "") else _utf8(source_id))
        )

    def add(self, rec) -> None:
        from curate import schema  # here, not at the top: the HTML helper process imports this module, not pyarrow/numpy

        sh = self.shard
        if isinstance(rec, Bad):
            self.quarantine(sh.rel, rec.offset, rec.reason, rec.detail, rec.user_id)
            return
        path = rec.path or sh.rel
        key = rec.user_id if rec.user_id not in (None, "") else schema.record_key(sh.rel, rec.offset)  # where it is read
        try:  # its UTF-8 bytes, once: the size, and plain_unicode's check for C1 controls
            utf8 = rec.text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: made "?" below
            utf8 = None
        nbytes = len(utf8) if utf8 is not None else len(rec.text.encode("utf-8", "surrogatepass"))
        # Arrow strings must be UTF-8: lone surrogates (JSON "\ud800" escapes, non-UTF-8 file
        # names as os.listdir gives them) become "?" in every column; ids keep the original.
        id_, path = schema.make_id(sh.source, key), name_utf8(path)
        if nbytes > self.limits.max_record_bytes:
            self.quarantine(path, rec.offset, "record_too_large", f"{nbytes} bytes of text > max_record_bytes {self.limits.max_record_bytes}",
                            rec.user_id)
            return
        if not rec.skip_rule and nbytes > self.limits.max_line_bytes:
            longest = _longest_line_bytes(rec.text, self.limits.max_line_bytes)
            if longest > self.limits.max_line_bytes:
                self.quarantine(path, rec.offset, "line_too_long", f"a line of {longest} bytes > max_line_bytes {self.limits.max_line_bytes}",
                                rec.user_id)
                return
        text = rec.text if utf8 is not None else _utf8(rec.text)
        if sh.domain != "code":
            # Every reader's prose the same way extracted HTML is (NFC, no invisible characters),
            # so a page reads the same from a WARC, a WET or a JSONL dump. Source files stay as
            # they are: a string literal's characters are the program's.
            text = plain_unicode(text, utf8)
        row = dict(
            id=id_,
            source_id=_utf8(rec.user_id) if rec.user_id not in (None, "") else None,
            text=text,
            domain=sh.domain,
            source=name_utf8(sh.source),
            path=path,
            offset=rec.offset,
            url=_utf8(rec.url),
            language=_utf8(rec.language),
            meta=_utf8(schema.meta_json(rec.meta)),
        )
        text = row["text"]
        if rec.skip_rule:
            self._accept(self.skipped, (row, rec.skip_rule, rec.skip_value, rec.skip_threshold, rec.skip_chars), nbytes)
        elif not text.strip():
            self._accept(self.skipped, (row, "empty_text", 0.0, None, None), nbytes)
        else:
            self._accept(self.docs, row, nbytes)

    def flush(self, final: bool) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Batches of ``batch_size`` rows of what is ready (at the end, the rest too). Records
        held for a compressed member's check come out together when it passes (a one-member
        .gz: the whole file at its end), still as batches of ``batch_size``: one batch of the
        whole file was held at once by each step after (the launching process's split by id
        partition: its peak, docs/scale.md)."""
        from curate import schema

        if final:
            self.drop_held()
        size = self.limits.batch_size
        for rows in _cut(self.docs, size, final):
            yield "docs", schema.docs_from_rows(rows)
        for skipped in _cut(self.skipped, size, final):
            yield "ledger", schema.ledger_rows(
                schema.docs_from_rows([r for r, *_ in skipped]),
                "ingest",
                [s[1] for s in skipped],
                [s[2] for s in skipped],
                [s[3] for s in skipped],
                chars=[len(r["text"]) if n is None else n for r, *_, n in skipped],
            )
        for rows in _cut(self.bad, size, final):
            yield "quarantine", schema.quarantine_rows(rows)


def _cut(rows: list, size: int, final: bool) -> list[list]:
    """The full chunks of ``size`` rows, taken off the front of ``rows``; at the end (``final``)
    the rest too. In place: records held for a member's check are released into this list."""
    whole = len(rows) if final else len(rows) - len(rows) % size
    chunks = [rows[i:i + size] for i in range(0, whole, size)]
    del rows[:whole]
    return chunks


def _meta_size(item) -> int:
    """A held row's ``meta`` JSON length: counted with its text towards HOLD_BYTES (an input's
    ``meta`` object is carried whole: short texts with large metas were held past the bound)."""
    row = item[0] if isinstance(item, tuple) else item
    return len(row["meta"] or "")


def _longest_line_bytes(text: str, limit: int) -> int:
    """UTF-8 bytes of the longest ``\\n``-separated line, exact once it is over ``limit``.

    A line of more than ``limit`` bytes has more than ``limit // 4`` characters, so only such
    lines are encoded (the split is C speed; called only for texts over ``limit`` bytes).
    """
    lines = text.split("\n")
    longest = max(map(len, lines))
    if longest > limit // 4:
        longest = max(len(line.encode("utf-8", "surrogatepass")) if len(line) > limit // 4 else len(line) for line in lines)
    return longest


def _utf8(s: Optional[str]) -> Optional[str]:
    """``s`` with lone surrogates (not encodable as UTF-8) replaced by "?"."""
    return s.encode("utf-8", "replace").decode("utf-8") if s is not None and not s.isascii() and _has_surrogates(s) else s


def name_utf8(s: Optional[str]) -> Optional[str]:
    """A file's name (a path, a source named after a folder) as UTF-8 text: each byte of it that
    is not UTF-8 (os.listdir's lone surrogate, caf\\udce9) as ``\\xNN``, as a Parquet input's
    binary path is (readers/meta.bytes_text): it was "?", the name of another file (caf?.jsonl).
    The record's id keeps the name itself (schema.make_id), so two such names never share one."""
    if s is None or s.isascii() or not _has_surrogates(s):
        return s
    try:  # the bytes, then each one that is not UTF-8 as \xNN (meta.bytes_text's rule: meta imports this module)
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte gives (JSON's "\\ud800" in a record's path field)
        return _utf8(s)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def read_batches(shard: Shard, reader, limits: Limits, skipped: dict | None = None) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Run a format reader over a shard; yield ("docs"|"ledger"|"quarantine", RecordBatch).
    ``skipped`` (a dict) receives the counts of records that are not documents, by type."""
    b = _Batcher(shard, limits)
    last = shard.start
    if shard.opt("same_file_as") is not None:  # a second name of a file read under its first
        b.add(Bad(0, "same_file", f"the same file as {shard.opt('same_file_as')}: read there, not twice"))
        yield from b.flush(final=True)
        return
    if shard.opt("not_json_lines") is not None:  # one stray file among an input's JSON Lines: said, not read
        b.add(Bad(0, "not_json_lines", shard.opt("not_json_lines")))
        yield from b.flush(final=True)
        return
    # its size as planned, not asked again (a bucket's: a request): a change since is the run's error (changed_since_plan)
    size = shard.key[0] if shard.key else None
    if shard.start == 0 and shard.fmt != "source" and shard.path.lower().endswith((".gz", ".zst")) and (
            input_size(shard.path) if size is None else size) == 0:
        # an interrupted download or copy: unlike one cut a byte later, it has no stream to fail
        b.add(Bad(0, "empty_compressed_file", "0 bytes, though named as compressed (an empty gzip file is 20 bytes): "
                                              "an interrupted download or copy?"))
        yield from b.flush(final=True)
        return
    with decompress.watch() as streams:
        try:
            for rec in reader(shard, limits):
                if isinstance(rec, Skipped):
                    for k, n in rec.counts.items():
                        if skipped is not None:
                            skipped[k] = skipped.get(k, 0) + n
                    continue
                last = rec.end if rec.end is not None else rec.offset
                b.stream = streams[-1] if streams else None
                b.add(rec)
                yield from b.flush(final=False)
        except LimitExceeded as e:
            for st in streams:  # reading stopped, nothing failed: what was decoded is a prefix
                st.verified = st.produced
            b.add(Bad(last, e.reason, e.detail))
        except decompress.CorruptData as e:  # nothing from the damaged member on is trusted
            b.add(Bad(e.member_start, e.reason, e.detail))
        except decompress.Truncated as e:  # a cut download: the reason a cut .warc.gz gets
            b.add(Bad(last, "truncated_record", f"compressed stream ends early: {e}"[:500]))
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as e:  # a broken file costs one quarantine row, not the job (Rust panics included)
            b.add(Bad(last, "read_error", error_text(e)))
        if streams:
            b.stream = streams[-1]
        yield from b.flush(final=True)


def error_text(e: BaseException) -> str:
    """A reader's error as a quarantine row's detail: one line (pyarrow's thrift errors end in a
    newline and a control byte), at most 500 characters."""
    return shell.one_line(" ".join(f"{type(e).__name__}: {e}".split()))[:500]


def relpath(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)
    return rel.replace(os.sep, "/")
