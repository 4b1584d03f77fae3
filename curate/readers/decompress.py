"""Decompression that knows which bytes passed their check.

gzip and zstd files are sequences of members (frames). Each gzip member ends with a CRC-32
and length that zlib checks; a zstd frame may carry a checksum that zstandard checks. Until a
member's check has passed, the bytes decoded from it may be corrupt: a flipped bit in the
middle of a member decodes to wrong text, or to garbage, long before the error shows at the
member's end. ``Members`` is the decompressed stream, and its ``verified`` attribute is the
decompressed offset up to which every member passed. ``curate.readers.common`` holds a
reader's records until ``verified`` passes them, and quarantines those of a failing member.

Common Crawl gzips every record as its own member, so holding costs one record; a file that
is one big member (most .jsonl.gz) is held until its end, or, past ``hold_bytes``, checked
by one extra decompression pass (``verify_file``) so memory stays bounded.

A stream that just ends inside a member (a truncated download) is not corrupt: what was
decoded is a prefix of the original, so it counts as verified and the readers keep the
complete records, as before.
"""
from __future__ import annotations

import threading
import zlib
from typing import Optional

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 16

_open = threading.local()  # the streams opened while a shard is read: see watch()


class CorruptData(Exception):
    """A member failed its check, or its data cannot be decoded."""

    def __init__(self, member_start: int, detail: str):
        super().__init__(detail)
        self.member_start, self.detail = member_start, detail


Truncated = EOFError  # the compressed stream ends inside a member (as Python's gzip reports it)


def _decoder(kind: str):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and trailer: CRC-32 and length checked
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


def _errors():
    import zstandard

    return (zlib.error, zstandard.ZstdError)


class Members:
    """A decompressed stream of a gzip or zstd file, member by member.

    ``produced``: decompressed bytes so far; ``verified``: end of the last member that
    passed its check; ``failed``: the CorruptData raised, if any (the stream stops there).
    """

    def __init__(self, raw, kind: str, path: str = ""):
        self.raw, self.kind, self.path = raw, kind, path
        self.produced = self.verified = 0
        self.member_start = 0  # decompressed offset where the current member began
        self.consumed = 0  # compressed bytes fed so far
        self.failed: Optional[CorruptData] = None
        self.doomed: Optional[int] = None  # set by a whole-file check that found a bad member there
        self._d = _decoder(kind)
        self._in_member = False
        self._tail = b""  # compressed bytes fed to no decoder yet
        self._eof = False
        streams = getattr(_open, "streams", None)
        if streams is not None:
            streams.append(self)

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` decompressed bytes (b"" at the end). Raises CorruptData or Truncated."""
        if self.failed:
            raise self.failed
        n = CHUNK if n is None or n < 0 else n
        while True:
            if not self._tail:
                if self._eof:
                    return b""
                self._tail = self.raw.read(CHUNK)
                if not self._tail:
                    self._eof = True
                    if self._in_member:
                        self.verified = max(self.verified, self.produced)  # a prefix of the original (see module doc)
                        raise Truncated(f"Compressed file ended before the end-of-stream marker was reached (compressed byte {self.consumed})")
                    return b""
            if not self._in_member:
                if not self._tail.strip(b"\x00"):  # zero padding after the last member
                    self._tail = b""
                    continue
                self._in_member, self.member_start = True, self.produced
            data = self._feed(n)
            if data:
                return data

    def _feed(self, n: int) -> bytes:
        try:
            data = self._d.decompress(self._tail, n) if self.kind == "gzip" else self._d.decompress(self._tail)
        except _errors() as e:
            self.failed = CorruptData(self.member_start, f"{self.kind} member starting at decompressed byte {self.member_start} failed: {type(e).__name__}: {e}"[:500])
            raise self.failed from None
        if self.kind == "gzip":
            used = len(self._tail) - len(self._d.unconsumed_tail) - len(self._d.unused_data)
            self.consumed += used
            self._tail = self._d.unconsumed_tail or self._d.unused_data
        else:  # zstandard keeps unconsumed input itself; only what follows the frame comes back
            self.consumed += len(self._tail) - len(self._d.unused_data)
            self._tail = self._d.unused_data if self._d.eof else b""
        self.produced += len(data)
        if self._d.eof:
            self.verified = max(self.verified, self.produced)
            self._in_member = False
            self._d = _decoder(self.kind)
        return data

    def close(self):
        self.raw.close()


def verify_file(open_raw, kind: str) -> tuple[int, Optional[CorruptData]]:
    """Decompress a whole file, discarding the output: (verified offset, error or None)."""
    with open_raw() as raw:
        m = Members(raw, kind)
        _open_streams = getattr(_open, "streams", None)
        if _open_streams and _open_streams[-1] is m:
            _open_streams.pop()  # a check, not a stream the reader reads
        try:
            while m.read(1 << 20):
                pass
        except CorruptData as e:
            return m.verified, e
        except Truncated:
            pass
        return m.verified, None


class watch:
    """``with watch() as streams:`` collects the ``Members`` streams opened in this thread."""

    def __enter__(self) -> list:
        self.prev = getattr(_open, "streams", None)
        _open.streams = []
        return _open.streams

    def __exit__(self, *exc):
        _open.streams = self.prev
        return False
