"""WARC and WET: Common Crawl style web archives (plain, .gz per record or whole-file, .zst).

WARC: every ``response`` record is one input record. 2xx HTML pages become main-content
text (curate.readers.extract, chosen by ``ingest.extractor``), with the page's title and
language hints in ``meta``; plain-text pages are decoded; other statuses and content types go to
the ledger as ingest skips, so every response is accounted for. WET: every ``conversion``
record is a document (text already extracted by the crawler).

Offsets are record start positions in the *decompressed* stream: FastWARC reports the
gzip member start for compressed input, which repeats for every record of a file that is
gzipped as one member, and ids must be unique. (So a WARC gets the same ids whether it is
stored plain, gzipped per record, gzipped whole or zstd-compressed.) The WARC-Record-ID is kept in ``meta`` but
is not the id: real crawls repeat records across files.

Damage never costs more than it must: a truncated or corrupt file yields its complete
records and then one quarantine row for the rest; a record cut short is quarantined,
never emitted as a partial page.
"""
from __future__ import annotations

import atexit
import base64
import functools
import gzip
import hashlib
import io
import os
import pickle
import queue
import re
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from http import HTTPStatus
from typing import Iterator

from curate.readers import decompress
from curate.readers.common import Bad, Doc, Limits, LimitExceeded, Shard, compression, decode_text, looks_binary, open_raw
from curate.readers.extract import DEFAULT as DEFAULT_EXTRACTOR

HTML_TYPES = {"text/html", "application/xhtml+xml"}
TEXT_TYPES = {"text/plain"}
# KeyboardInterrupt & co. pass through; anything else FastWARC raises (OSError on a bad
# header, and Rust panics, which are BaseException subclasses) is a broken input.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]+)", re.I)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class _Input(io.RawIOBase):
    """Decompressed, size-capped byte stream for FastWARC.

    ``tell()`` gives decompressed positions (FastWARC's ``stream_pos``). A decompression
    error, an early end of a compressed stream or the ``max_file_bytes`` cap ends the
    stream (remembered in ``error``) instead of raising inside FastWARC, so the complete
    records it has already buffered are still read. ``head`` holds the first bytes, for
    telling WARC from ARC or anything else before parsing.
    """

    def __init__(self, path: str, limits: Limits):
        super().__init__()
        self.path, self.limit, self.pos, self.error = path, limits.max_file_bytes, 0, None
        kind = compression(path)
        self._raw = open_raw(path)
        if kind:  # member by member, each checked (curate.readers.decompress)
            self._src = decompress.Members(self._raw, kind, path)
            self._read = self._src.read
        else:
            self._src, self._read = self._raw, self._raw.read
        self.head = b""
        while len(self.head) < 64:
            chunk = self._next(64 - len(self.head))
            if not chunk:
                break
            self.head += chunk
        self._pending = self.head

    def _next(self, n: int) -> bytes:
        if self.error:
            return b""
        try:
            data = self._read(n)
        except EOFError as e:
            self.error = ("truncated_record", f"compressed stream ends early at byte {self.pos}: {e}")
            return b""
        except decompress.CorruptData as e:
            self.error = ("corrupt_compressed", e.detail)
            return b""
        except Exception as e:  # zlib.error, ZstdError, OSError: corrupt data
            self.error = ("read_error", f"decompression failed at byte {self.pos}: {type(e).__name__}: {e}"[:500])
            return b""
        if self.pos + len(data) > self.limit:
            self.error = ("file_too_large", f"more than {self.limit} bytes after decompression (limit max_file_bytes)")
            return b""
        self.pos += len(data)
        return data

    def readable(self):
        return True

    def readinto(self, b):
        if self._pending:
            data, self._pending = self._pending[: len(b)], self._pending[len(b) :]
        else:
            data = self._next(len(b))
        b[: len(data)] = data
        return len(data)

    def tell(self):
        return self.pos - len(self._pending)

    def close(self):
        if self._src is not self._raw:
            self._src.close()
        self._raw.close()
        super().close()


def _iterate(shard: Shard, limits: Limits, rtype, handle) -> Iterator[Doc | Bad]:
    """Run ``handle(record, limits)`` on every record of type ``rtype``; see the module doc."""
    from fastwarc.warc import ArchiveIterator

    with _Input(shard.path, limits) as inp:
        head = inp.head.lstrip()
        if head.startswith(b"filedesc://"):
            yield Bad(0, "unsupported_format", "ARC file (the pre-WARC Internet Archive format); convert it to WARC first")
            return
        if len(head) < 5 and inp.error:  # cut or corrupt before the first header
            yield Bad(0, *inp.error)
            return
        if not head:
            return  # an empty file holds no records
        if not head.startswith(b"WARC/"):
            yield Bad(0, "not_a_warc", f"does not start with a WARC header: {inp.head[:40]!r}")
            return
        last = 0
        try:
            it = iter(ArchiveIterator(inp, parse_http=False))
        except BaseException as e:
            if isinstance(e, _FATAL):
                raise
            yield Bad(0, "read_error", f"{type(e).__name__}: {e}"[:500])
            return
        while True:
            try:
                rec = next(it)
            except StopIteration:
                break
            except BaseException as e:
                if isinstance(e, _FATAL):
                    raise
                # a stream error explains a parse failure better than FastWARC's message
                reason, detail = inp.error or ("read_error", f"after the record at offset {last}: {type(e).__name__}: {e}"[:500])
                yield Bad(last, reason, detail)
                return
            last = rec.stream_pos
            if rec.record_type != rtype:
                # other records are skipped, but a cut one still means the file is damaged
                n = rec.content_length
                if not _has_length(rec.headers) or rec.reader.consume() < n:
                    yield Bad(last, *(inp.error or ("truncated_record", f"{rec.headers.get('WARC-Type')} record cut short")))
                    return
                continue
            try:
                out = handle(rec, limits)
            except BaseException as e:
                if isinstance(e, _FATAL):
                    raise
                out = Bad(last, "read_error", f"{type(e).__name__}: {e}"[:500])
            if isinstance(out, Bad) and out.reason == "truncated_record":
                yield Bad(out.offset, *inp.error) if inp.error else out
                return  # nothing after a cut record can be trusted
            yield out
        if inp.error:
            yield Bad(last, *inp.error)


def _read_block(rec, n: int) -> bytes:
    """Read the rest of a record (n bytes expected); fewer means the record is cut short."""
    parts, got = [], 0
    while got < n:
        chunk = rec.reader.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _uri(h) -> str | None:
    u = h.get("WARC-Target-URI")
    return u.strip().strip("<>") if u else None  # WARC/0.x and wget write <uri>


def _has_length(h) -> bool:
    """FastWARC yields a header cut off by the end of the file as a record: catch that."""
    return (h.get("Content-Length") or "").strip().isdigit()


def _clean(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if v is not None}


# --- HTTP bodies -------------------------------------------------------------------------


def _dechunk(raw: bytes) -> bytes:
    """Undo chunked transfer encoding; bodies that only claim it are returned as they are."""
    out, i = bytearray(), 0
    try:
        while True:
            j = raw.index(b"\n", i)
            size = int(raw[i:j].split(b";")[0].strip(), 16)
            if size == 0:
                return bytes(out)
            out += raw[j + 1 : j + 1 + size]
            i = j + 1 + size
            i += 2 if raw[i : i + 2] == b"\r\n" else 1 if raw[i : i + 1] == b"\n" else 0
    except ValueError:  # no chunk header where one should be: not really chunked
        return bytes(out) if out and i >= len(raw) else raw


def _decode_body(raw: bytes, http_headers, cap: int) -> bytes | None:
    """Undo transfer and content encodings, producing at most cap + 1 bytes (bombs).

    Returns None when a declared content encoding cannot be undone and the bytes are not
    text either (crawlers sometimes store the decoded body but keep the header).
    """
    if "chunked" in (http_headers.get("Transfer-Encoding") or "").lower():
        raw = _dechunk(raw)
    enc = (http_headers.get("Content-Encoding") or "").strip().lower()
    try:
        if enc in ("gzip", "x-gzip", "deflate"):
            try:
                return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(raw, cap + 1)  # gzip or zlib header
            except zlib.error:
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, cap + 1)  # raw deflate
        if enc == "br":
            import brotli  # a FastWARC dependency

            return brotli.Decompressor().process(raw, output_buffer_limit=cap + 1)
        if enc == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read(cap + 1)
    except Exception:
        return None if looks_binary(raw) else raw
    return raw  # identity, or a coding we do not know: let the content checks decide


def _html_encoding(body: bytes, http_charset: str | None) -> str:
    """BOM, then the HTTP header charset, then <meta charset>, then valid UTF-8, then detection."""
    from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5

    for bom, enc in _BOMS:
        if body.startswith(bom):
            return enc
    for label in (http_charset, *(m.decode("ascii") for m in _META_CHARSET.findall(body[:4096])[:1])):
        enc = label and map_encoding_to_html5(label, fallback_utf8=False)
        if enc:
            return enc
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return detect_encoding(body)


@functools.lru_cache(maxsize=4)
def _depth_selector(depth: int) -> str:
    return ">".join(["*"] * depth)


def html_depth_over(tree, depth: int) -> bool:
    """Whether some element of a parsed page has ``depth`` or more element ancestors.

    One CSS query in native code (``*>*>...>*``, depth + 1 levels: ``<html>`` is level 1):
    each element is tested by walking up at most ``depth`` parents and the query stops at
    the first match, so it costs a fraction of the extraction it protects. A byte scan of
    tags is no bound: the parser closes, reopens and ignores tags (a stray ``</x>`` after
    each ``<div>`` leaves the count flat while the tree grows).
    """
    return tree.document is not None and tree.document.query_selector(_depth_selector(depth + 1)) is not None


def html_to_text(
    body: bytes, http_charset: str | None = None, max_depth: int | None = None, extractor: str = DEFAULT_EXTRACTOR
) -> tuple[str, dict]:
    """Main-content text of an HTML page, and what the page says about itself (``charset``
    used to decode it, ``title``, ``html_lang``, ``content_language``).

    ``extractor`` is one of curate.readers.extract.EXTRACTORS. With ``max_depth``, a page
    nested deeper raises ``LimitExceeded("html_too_deep")`` before extraction: main-content
    passes cost about elements x depth (10,000 nested ``<div>`` take seconds, 100,000 minutes).
    """
    from resiliparse.parse.encoding import bytes_to_str
    from resiliparse.parse.html import HTMLTree

    from curate.readers import extract

    enc = _html_encoding(body, http_charset)
    # bytes_to_str falls back to UTF-8 / cp1252 when the declared charset is a lie
    html = bytes_to_str(body, enc, errors="replace")
    tree = HTMLTree.parse(html)
    if max_depth is not None and html_depth_over(tree, max_depth):
        raise LimitExceeded("html_too_deep", f"elements nested more than {max_depth} deep (limit max_html_depth)")
    if extractor == "blocks":
        text = extract.extract_blocks(tree)
    elif extractor == "resiliparse":
        text = extract.extract_resiliparse(tree)
    elif extractor == "trafilatura":
        text = extract.extract_trafilatura(html)
    else:
        raise ValueError(f"unknown extractor {extractor!r}; allowed: {', '.join(extract.EXTRACTORS)}")
    info = {"charset": enc, **extract.page_hints(tree)}
    return text.replace("\ufeff", "").strip(), info  # BOMs of included fragments


def _text_body(body: bytes, http_charset: str | None) -> tuple[str, str]:
    if http_charset:
        try:
            return body.decode(http_charset).replace("\r\n", "\n").replace("\r", "\n"), http_charset
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_text(body)


# --- HTML extraction under a time limit ---------------------------------------------------
#
# Resiliparse parses and extracts in native code that cannot be interrupted: it never checks
# for signals (a SIGALRM handler would run only after it returns) and a thread cannot be
# stopped. Bounding the input is not enough either: the HTML parser is quadratic in the depth
# of its stack of open elements on some tag sequences (400 KB of "<rt>" parse for half a
# minute, 1 MB for many minutes), and which sequences grow that stack is decided by the
# HTML5 tree builder itself, so no byte scan bounds it soundly. So pages are extracted in a
# helper process (one per reading thread, started on the first HTML page, reused; the
# pickled page and text cost about as much as one extraction's noise): a helper that does
# not answer within 2 x max_extract_seconds + 1 s of wall time is killed and the page
# quarantined (extract_timeout); a helper that dies (a native crash) costs its page
# (html_extraction_error). Every other page is judged by the CPU time its extraction used,
# measured in the helper: over max_extract_seconds -> extract_timeout. CPU time, not wall
# time, so load from other processes does not move a page across the limit (only a page
# within noise of the limit can land differently, or one slowed past the wall-time kill on
# an extremely loaded machine). Where no process can be started, extraction runs in-process
# with the after-the-fact CPU-time check only.

_HELPER_CMD = "from curate.readers.warc import _serve; _serve()"
_HEADER = struct.Struct("<Q")


def _extract_reply(body: bytes, http_charset: str | None, max_depth: int, extractor: str = DEFAULT_EXTRACTOR) -> tuple:
    """('ok', text, page info, cpu_s) or (status, reason, detail, cpu_s) for one page."""
    t0 = time.thread_time()
    try:
        text, info = html_to_text(body, http_charset, max_depth, extractor)
        reply = ("ok", text, info)
    except LimitExceeded as e:
        reply = ("limit", e.reason, e.detail)
    except Exception as e:
        reply = ("error", "html_extraction_error", f"{type(e).__name__}: {e}"[:500])
    return (*reply, time.thread_time() - t0)


def _serve() -> None:
    """The helper process: framed pickled requests on stdin, replies on (a copy of) stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C; EOF on stdin ends us
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints of native code go to stderr, not into the replies
    import resiliparse.extract.html2text  # noqa: F401  imports before "ready": not on a page's clock
    import resiliparse.parse.html  # noqa: F401

    import curate.readers.extract  # noqa: F401

    data = pickle.dumps("ready")
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()
    while True:
        head = inp.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        request = pickle.loads(inp.read(_HEADER.unpack(head)[0]))
        data = pickle.dumps(_extract_reply(*request), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(data)))
        out.write(data)
        out.flush()


class _Helper:
    """One helper process and a thread reading its replies (portable timeouts on a pipe)."""

    live: "set[_Helper]" = set()

    def __init__(self):
        import curate

        root = os.path.dirname(os.path.dirname(os.path.abspath(curate.__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER_CMD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        _Helper.live.add(self)
        try:
            ready = self.replies.get(timeout=120)  # imports, on a possibly very busy machine
        except queue.Empty:
            ready = None
        if ready != "ready":
            self.close()
            raise OSError("the HTML extraction helper process did not start")

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while (head := out.read(_HEADER.size)) and len(head) == _HEADER.size:
                self.replies.put(pickle.loads(out.read(_HEADER.unpack(head)[0])))
        except Exception:
            pass
        self.replies.put(None)  # the helper is gone

    def call(self, request: tuple, timeout: float):
        """The reply; None if the helper died; raises queue.Empty after ``timeout`` seconds."""
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(data)))
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return self.replies.get(timeout=timeout)

    def close(self) -> None:
        _Helper.live.discard(self)
        try:
            self.proc.kill()
            self.proc.wait(10)
        except Exception:
            pass


@atexit.register
def _close_helpers() -> None:
    for h in list(_Helper.live):
        h.close()


_local = threading.local()


def _helper() -> "_Helper | None":
    """This thread's helper, started on first use; None where processes cannot be started."""
    h = getattr(_local, "helper", None)
    if h is None or h.proc.poll() is not None:
        if h is not None:
            h.close()
        if getattr(_local, "no_helper", False):
            return None
        try:
            h = _local.helper = _Helper()
        except OSError:
            _local.no_helper = True
            return None
    return h


def extract_html(body: bytes, http_charset: str | None, limits: Limits) -> tuple:
    """('ok', text, page info) or ('bad', reason, detail): main-content text under the depth and
    time limits (see above), by the extractor ``limits.extractor``."""
    request = (body, http_charset, limits.max_html_depth, limits.extractor)
    h = _helper()
    if h is None:
        reply = _extract_reply(*request)
    else:
        try:
            try:
                reply = h.call(request, 2 * limits.max_extract_seconds + 1)
            except (BrokenPipeError, OSError):  # died since the last page: one fresh start
                h.close()
                h = _helper()
                reply = h.call(request, 2 * limits.max_extract_seconds + 1) if h else _extract_reply(*request)
        except queue.Empty:
            h.close()
            _local.helper = None
            return ("bad", "extract_timeout", f"HTML extraction still running after {2 * limits.max_extract_seconds + 1:g} s: stopped (limit max_extract_seconds)")
        if reply is None:
            h.close()
            _local.helper = None
            code = h.proc.returncode
            return ("bad", "html_extraction_error", f"the extraction process died (exit status {code})")
    status, a, b, cpu = reply
    if status != "ok":
        return ("bad", a, b)
    if cpu > limits.max_extract_seconds:
        return ("bad", "extract_timeout", f"HTML extraction took {cpu:.1f} s CPU > max_extract_seconds {limits.max_extract_seconds}")
    return ("ok", a, b)


# --- readers -----------------------------------------------------------------------------


def _response(rec, limits: Limits) -> Doc | Bad:
    off, h = rec.stream_pos, rec.headers
    if not _has_length(h):
        return Bad(off, "truncated_record", "WARC header without a Content-Length")
    url = _uri(h)
    meta = {"warc_record_id": rec.record_id, "warc_date": h.get("WARC-Date")}

    def skip(rule, value=None):
        n = rec.content_length
        if rec.reader.consume() < n:  # a ledger row must be a whole record too
            return Bad(off, "truncated_record", f"record body shorter than its {n} bytes")
        return Doc(text="", offset=off, url=url, meta=_clean(meta), skip_rule=rule, skip_value=value)

    if not rec.is_http:  # e.g. dns: records
        meta["content_type"] = h.get("Content-Type")
        return skip("non_html_content")
    try:
        rec.parse_http()
    except Exception as e:
        return Bad(off, "bad_http_header", f"{type(e).__name__}: {e}"[:500])
    hh = rec.http_headers
    status = hh.status_code if hh is not None else None
    ctype = (rec.http_content_type or "").strip().lower() or None
    meta.update(http_status=status, content_type=ctype)
    if status is None or not 200 <= status < 300:
        return skip("http_status", status)
    if ctype not in HTML_TYPES and ctype not in TEXT_TYPES:
        return skip("non_html_content")
    n = rec.content_length  # the HTTP body, as stored
    if n > limits.max_record_bytes:
        return Bad(off, "record_too_large", f"HTTP body of {n} bytes > max_record_bytes {limits.max_record_bytes}")
    raw = _read_block(rec, n)
    if len(raw) < n:
        return Bad(off, "truncated_record", f"HTTP body has {len(raw)} of {n} bytes")
    body = _decode_body(raw, hh, limits.max_record_bytes)
    if body is None:
        return Bad(off, "content_decoding_error", f"cannot undo Content-Encoding {hh.get('Content-Encoding')!r}")
    if len(body) > limits.max_record_bytes:
        return Bad(off, "record_too_large", f"decoded HTTP body over max_record_bytes {limits.max_record_bytes}")
    if ctype in HTML_TYPES and len(body) > limits.max_html_bytes:
        return Bad(off, "html_too_large", f"HTML of {len(body)} bytes > max_html_bytes {limits.max_html_bytes}")
    try:
        if ctype in HTML_TYPES:
            status, *res = extract_html(body, rec.http_charset, limits)
            if status != "ok":
                return Bad(off, *res)
            text, info = res
            meta["extractor"] = limits.extractor
            meta.update(info)
        else:
            text, enc = _text_body(body, rec.http_charset)
            meta["charset"] = enc
    except Exception as e:
        return Bad(off, "html_extraction_error", f"{type(e).__name__}: {e}"[:500])
    return Doc(text=text, offset=off, url=url, meta=_clean(meta))


def _conversion(rec, limits: Limits) -> Doc | Bad:
    off, h = rec.stream_pos, rec.headers
    if not _has_length(h):
        return Bad(off, "truncated_record", "WARC header without a Content-Length")
    n = rec.content_length
    if n > limits.max_record_bytes:
        return Bad(off, "record_too_large", f"record of {n} bytes > max_record_bytes {limits.max_record_bytes}")
    raw = _read_block(rec, n)
    if len(raw) < n:
        return Bad(off, "truncated_record", f"record has {len(raw)} of {n} bytes")
    meta = {
        "warc_record_id": rec.record_id,
        "warc_date": h.get("WARC-Date"),
        "warc_refers_to": h.get("WARC-Refers-To"),
        "content_type": h.get("Content-Type"),
        "cc_languages": h.get("WARC-Identified-Content-Language"),  # CC's guess; langid decides
    }
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return Doc(text=text, offset=off, url=_uri(h), meta=_clean(meta))


def read_warc(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    from fastwarc.warc import WarcRecordType

    yield from _iterate(shard, limits, WarcRecordType.response, _response)


def read_wet(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    from fastwarc.warc import WarcRecordType

    yield from _iterate(shard, limits, WarcRecordType.conversion, _conversion)


# --- writing (demo data, tests) ----------------------------------------------------------

WARC_DATE = "2024-01-01T00:00:00Z"


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record(wtype: str, fields: list[tuple[str, str]], block: bytes, key: str) -> bytes:
    rid = uuid.uuid5(uuid.NAMESPACE_URL, f"{key}\x00{hashlib.sha1(block).hexdigest()}")
    head = [("WARC-Type", wtype), ("WARC-Record-ID", f"<urn:uuid:{rid}>"), ("WARC-Date", WARC_DATE), *fields]
    head += [("WARC-Block-Digest", _digest(block)), ("Content-Length", str(len(block)))]
    text = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head) + "\r\n"
    # one gzip member per record (as Common Crawl does), mtime 0: byte-identical reruns
    return gzip.compress(text.encode("utf-8") + block + b"\r\n\r\n", mtime=0)


def write_warc(path: str, pages: list[tuple[str, bytes, str, int]]) -> None:
    """Write (url, body, content_type, http_status) pages as a gzipped WARC.

    A warcinfo record comes first, then one response record per page. Record ids and
    dates are deterministic, so the same pages always give the same bytes.
    """
    name = os.path.basename(path)
    info = "software: curate\r\nformat: WARC File Format 1.0\r\n".encode()
    out = [_record("warcinfo", [("WARC-Filename", name), ("Content-Type", "application/warc-fields")], info, name)]
    for i, (url, body, ctype, status) in enumerate(pages):
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        http = f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
        block = http.encode("latin-1") + body
        fields = [
            ("WARC-Target-URI", url),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Payload-Digest", _digest(body)),
        ]
        out.append(_record("response", fields, block, f"{name}\x00{i}\x00{url}"))
    with open(path, "wb") as f:
        f.writelines(out)
