"""WARC and WET: Common Crawl style web archives (plain, .gz per record or whole-file, .zst).

WARC: every ``response`` record is one input record; the other types (request, metadata,
warcinfo, revisit, resource: a file captured without HTTP, such as wget's own log) are not
documents and are counted by type (``ingest.skipped_records`` in the manifest), not read. 2xx HTML pages become main-content
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

import io
from typing import Iterator

from curate.readers import decompress
from curate.readers.common import Bad, BombWatch, Doc, Limits, Shard, Skipped, error_text, open_sniffed, too_large
from curate.readers.extract_helper import extract_page
from curate.readers.html import binary_body, decode_body, text_body


HTML_TYPES = {"text/html", "application/xhtml+xml"}


TEXT_TYPES = {"text/plain"}


# KeyboardInterrupt & co. pass through; anything else FastWARC raises (OSError on a bad
# header, and Rust panics, which are BaseException subclasses) is a broken input.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)


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
        self._bomb = BombWatch(self.limit, limits.max_ratio)
        self._raw, kind = open_sniffed(path)  # one open (a bucket's object: a metadata request and a read each)
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
            self.error = (e.reason, e.detail)
            return b""
        except Exception as e:  # zlib.error, ZstdError, OSError: corrupt data
            self.error = ("read_error", f"decompression failed at byte {self.pos}: {type(e).__name__}: {e}"[:500])
            return b""
        if self.pos + len(data) > self.limit:
            self.error = ("file_too_large", too_large(self.limit, self.pos + len(data), self._src))
            return b""
        if stop := self._bomb.check(self.pos + len(data), self._src):
            self.error = ("file_too_large", stop)
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


def _iterate(shard: Shard, limits: Limits, rtype, handle) -> Iterator[Doc | Bad | Skipped]:
    """Run ``handle(record, limits)`` on every record of type ``rtype``, then count the records
    of other types that were passed over (common.Skipped), damaged file or not."""
    others: dict = {}
    yield from _records(shard, limits, rtype, handle, others)
    if others:
        yield Skipped(others)


def _records(shard: Shard, limits: Limits, rtype, handle, others: dict) -> Iterator[Doc | Bad]:
    """See the module doc; ``others`` counts the records of other types, by WARC-Type."""
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
        last, found = 0, False
        try:
            it = iter(ArchiveIterator(inp, parse_http=False))
        except BaseException as e:
            if isinstance(e, _FATAL):
                raise
            yield Bad(0, "read_error", error_text(e))
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
            if not _has_length(rec.headers) and _bare_newlines(rec.headers):
                yield Bad(last, "not_a_warc", _bare_newlines_detail(shard.path))
                return
            if rec.record_type != rtype:
                kind = rec.headers.get("WARC-Type") or "untyped"
                others[kind] = others.get(kind, 0) + 1
                # other records are skipped, but a cut one still means the file is damaged
                n = rec.content_length
                if not _has_length(rec.headers) or rec.reader.consume() < n:
                    yield Bad(last, *(inp.error or ("truncated_record", f"{rec.headers.get('WARC-Type')} record cut short")))
                    return
                continue
            found = True
            try:
                out = handle(rec, limits)
            except BaseException as e:
                if isinstance(e, _FATAL):
                    raise
                out = Bad(last, "read_error", error_text(e))
            if isinstance(out, Bad) and out.reason == "truncated_record":
                yield Bad(out.offset, *inp.error) if inp.error else out
                return  # nothing after a cut record can be trusted
            yield out
        if inp.error:
            yield Bad(last, *inp.error)
        elif not found and others:
            yield _no_records(rtype, others)


def _no_records(rtype, others: dict) -> Bad:
    """A whole file of other record types (a WAT file, a WET read as WARC, requests only)
    gives no document: one quarantine row says so instead of nothing."""
    want = "response" if str(rtype) == "response" else "conversion"
    seen = ", ".join(f"{k} {n}" for k, n in sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))
    hint = ("a WET file: give it --format wet" if want == "response" and "conversion" in others
            else "a WARC file: give it --format warc" if want == "conversion" and "response" in others
            else "a WAT file (metadata records): read the WARC or WET file of the same crawl" if "metadata" in others
            else f"curate reads the {want} records of a {'WARC' if want == 'response' else 'WET'} file")
    return Bad(0, "no_records", f"no {want} records ({seen}): {hint}")


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


def _bare_newlines_detail(path: str) -> str:
    """What a WARC of bare newlines is and the command that rewrites it (warcio reads such lines)."""
    from curate.shell import quote, said

    base = path[: -len(suffix)] if (suffix := next((x for x in (".warc.gz", ".warc.zst", ".warc", ".gz") if path.endswith(x)), "")) else path
    fixed = base + ".fixed.warc.gz"
    return ("its WARC header lines end with a bare \\n, not \\r\\n as a WARC's must (a hand-made or converted file), "
            "which curate's WARC parser does not read: rewrite it, e.g. pip install warcio; "
            + said(f"warcio recompress {quote(path)} {quote(fixed)}", path, fixed))


def _bare_newlines(h) -> bool:
    """FastWARC ends a header line at \\r\\n only: a record written with bare \\n is one header whose
    value holds the rest of the record (it was counted as a record type named by that text)."""
    return any("\n" in v for v in h.values())


def _bare_http(how: str) -> str:
    return (f"its HTTP header lines end with a bare \\n, not \\r\\n: the whole response was read as {how}; "
            "rewrite the file, e.g. pip install warcio; warcio recompress FILE FIXED.warc.gz")


def _bare_status_line(rec) -> bool:
    """Whether the HTTP block FastWARC could not parse starts with a line ending in a bare \\n
    (its reader is still at the block's start then)."""
    try:
        head = rec.reader.read(8192)
    except Exception:
        return False
    end = head.find(b"\n")
    return end > 0 and head[end - 1:end] != b"\r"


def _clean(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if v is not None}


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
        error = f"{type(e).__name__}: {e}"
        if _bare_status_line(rec):  # the whole response one line: over FastWARC's 32 KiB header limit
            return Bad(off, "bad_http_header", _bare_http(f"one header line, over the parser's limit ({error})"))
        return Bad(off, "bad_http_header", error[:500])
    hh = rec.http_headers
    if hh is not None and "\n" in (hh.status_line or ""):  # FastWARC ends an HTTP line at \r\n only
        return Bad(off, "bad_http_header", _bare_http("its status line (it went to the ledger as non_html_content)"))
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
    body = decode_body(raw, hh, limits.max_record_bytes)
    if body is None:
        return Bad(off, "content_decoding_error", f"cannot undo Content-Encoding {hh.get('Content-Encoding')!r}")
    if len(body) > limits.max_record_bytes:
        return Bad(off, "record_too_large", f"decoded HTTP body over max_record_bytes {limits.max_record_bytes}")
    if binary_body(body):  # an image or PDF served as a page: its bytes are no text
        return Doc(text="", offset=off, url=url, meta=_clean(meta), skip_rule="non_html_content")
    if ctype in HTML_TYPES and len(body) > limits.max_html_bytes:
        return Bad(off, "html_too_large", f"HTML of {len(body)} bytes > max_html_bytes {limits.max_html_bytes}")
    if ctype in HTML_TYPES:
        status, *res = extract_page(body, rec.http_charset, limits)
        if status != "ok":
            return Bad(off, *res)
        text, info = res
        meta.update(info)
    else:
        try:
            text, enc = text_body(body, rec.http_charset)
        except Exception as e:
            return Bad(off, "html_extraction_error", f"{type(e).__name__}: {e}"[:500])
        meta["charset"] = enc
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

