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

zlib's decompressobj stops at the size asked; zstandard's has no such limit, and 64 KiB of zstd
can decode to gigabytes (a block of one repeated byte is 4 bytes on disk for 128 KiB). So a zstd
stream is fed to its decoder one block at a time (``ZstdBlocks`` reads the frame and block
headers): no read decodes more than 1 MiB (``FEED``), and ``max_file_bytes`` stops a bomb before it is in
memory.
"""
from __future__ import annotations

import io
import threading
import zlib
from typing import Optional

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 16
ZSTD_BLOCK = 128 << 10  # the most one zstd block decodes to (the format's Block_Maximum_Size)
FEED = 8 * ZSTD_BLOCK  # whole blocks fed at once while what they decode to stays within this
BLIND = 64  # bytes fed at a time where the headers cannot be read (corrupt or legacy data)

_open = threading.local()  # the streams opened while a shard is read: see watch()


class CorruptData(Exception):
    """A member failed its check, or its data cannot be decoded (``reason``: the quarantine's)."""

    def __init__(self, member_start: int, detail: str, reason: str = "corrupt_compressed"):
        super().__init__(detail)
        self.member_start, self.detail, self.reason = member_start, detail, reason


Truncated = EOFError  # the compressed stream ends inside a member (as Python's gzip reports it)


def unreadable(path: str, e: Exception) -> str:
    """The one line for a compressed file a command reads whole and cannot (an evaluation or
    labelled set): a frame over zstd's window is no damage, its error says how to recompress."""
    if getattr(e, "reason", "") == "zstd_window_too_large":
        return f"{path}: cannot be read ({e})"
    return f"{path}: cannot be read ({e}): a damaged or truncated file"


def _decoder(kind: str, dictionary=None):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and trailer: CRC-32 and length checked
    import zstandard

    return zstandard.ZstdDecompressor(dict_data=dictionary).decompressobj()


DICT_MAGIC = b"\x5d\x2a\x4d\x18"  # skippable frame 0x184D2A5D: the WARC zstd format's dictionary
MAX_DICT = 64 << 20  # a dictionary, compressed or not, larger than this is refused (a bomb)


def _dictionary(payload: bytes):
    """The zstd dictionary a WARC zstd file (IIPC) carries first, as its skippable frame holds it:
    itself, or zstd-compressed."""
    import zstandard

    if payload.startswith(ZSTD_MAGIC):
        payload = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(payload)).read(MAX_DICT + 1)
        if len(payload) > MAX_DICT:
            raise zstandard.ZstdError(f"its dictionary frame decodes to more than {MAX_DICT >> 20} MiB")
    return zstandard.ZstdCompressionDict(payload)


def _errors():
    import zstandard

    return (zlib.error, zstandard.ZstdError)


class ZstdBlocks:
    """Where each zstd block ends in the compressed stream, from the frame and block headers
    (RFC 8878). ``cut`` says how much of the bytes not yet fed to go on with: the rest of the
    blocks being fed, or the headers before the next block and the blocks of that frame that
    decode to ``FEED`` bytes at most (one, or small ones: a stream flushed a record at a time is
    a block a record), never two frames."""

    def __init__(self):
        self.at = 0  # compressed offset of the next header to read (or of the current block's end)
        self.state = "frame"  # what is at ``at``: "frame" or "block"
        self.checksum = False  # the current frame ends with a 4-byte checksum
        self.in_block = False  # ``at`` is the end of a block whose bytes are being fed
        self.blind = False  # a header that makes no sense: feed BLIND bytes at a time
        self.window = 0  # the current frame's window size (the decoder refuses one over 128 MiB)

    def cut(self, buf: bytes, start: int) -> int:
        """Bytes of ``buf`` (which begins at compressed offset ``start``) to feed next; 0 when a
        header the answer needs is not all in ``buf``."""
        if self.blind:
            return min(len(buf), BLIND)
        if self.in_block and self.at > start:
            return min(len(buf), self.at - start)
        self.in_block = False
        bound = 0  # what the blocks cut so far decode to, at most
        while True:
            i = self.at - start
            if self.state == "frame":
                if i < 0:  # zero padding the reader skipped
                    self.at, i = start, 0
                if len(buf) - i < 5:
                    return i
                magic = int.from_bytes(buf[i:i + 4], "little")
                if magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable frame: size, then that many bytes
                    if len(buf) < i + 8:
                        return i
                    self.at += 8 + int.from_bytes(buf[i + 4:i + 8], "little")
                    return self._ends_feed(buf, start)
                if buf[i:i + 4] != ZSTD_MAGIC:
                    self.blind = True
                    return min(len(buf), BLIND)
                fhd = buf[i + 4]
                single = fhd >> 5 & 1
                fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
                size = 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
                if len(buf) - i < size:
                    return i
                self.checksum = bool(fhd >> 2 & 1)
                if single:  # the window is the content's size
                    self.window = int.from_bytes(buf[i + size - fcs:i + size], "little") + (256 if fcs == 2 else 0)
                else:  # Window_Descriptor: 2^(10 + exponent), plus eighths of it
                    base = 1 << (10 + (buf[i + 5] >> 3))
                    self.window = base + (base >> 3) * (buf[i + 5] & 7)
                self.at += size
                self.state = "block"
            else:
                if len(buf) < i + 3:
                    return i
                h = int.from_bytes(buf[i:i + 3], "little")
                kind, size = h >> 1 & 3, h >> 3
                if kind == 3 or size > ZSTD_BLOCK:  # the decoder will refuse it: no bound from here on
                    self.blind = True
                    return min(len(buf), max(i, BLIND))
                most = ZSTD_BLOCK if kind == 2 else size  # what it decodes to, at most (a raw or RLE block: its size)
                if bound and bound + most > FEED:
                    return i
                bound += most
                self.at += 3 + (1 if kind == 1 else size)  # an RLE block is one byte repeated
                if h & 1:  # the frame's end, its checksum with it
                    self.at += 4 if self.checksum else 0
                    self.state = "frame"
                    return self._ends_feed(buf, start)
                if self.at - start >= len(buf):  # a block that goes on past buf
                    return self._ends_feed(buf, start)

    def _ends_feed(self, buf: bytes, start: int) -> int:
        """The feed ends at ``at`` (the next calls feed the rest where buf ends before it). A
        frame (a skippable one too) ends a feed with its last byte: the decoder stops there and
        gives back what follows, which a feed that went on would count and feed twice."""
        self.in_block = True
        return min(len(buf), self.at - start)


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
        self._dict = None  # a WARC zstd file's dictionary (DICT_MAGIC), read at its start
        self._blocks = ZstdBlocks() if kind == "zstd" else None
        self._in_member = False
        self._tail = b""  # compressed bytes fed to no decoder yet
        self._out, self._at = b"", 0  # a decoded zstd block and how much of it was given
        self._eof = False
        streams = getattr(_open, "streams", None)
        if streams is not None:
            streams.append(self)

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` decompressed bytes (b"" at the end). Raises CorruptData or Truncated."""
        n = CHUNK if n is None or n < 0 else n
        if self._at < len(self._out):  # a block decodes to more than a small read asks for
            self._at += n
            return self._out[self._at - n:self._at]
        if self.failed:
            raise self.failed
        if n == 0:
            return b""
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
                    self.consumed += len(self._tail)
                    self._tail = b""
                    continue
                self._in_member, self.member_start = True, self.produced
            data = self._feed(n)
            if len(data) > n:
                self._out, self._at = data, n
                return data[:n]
            if data:
                return data

    def _feed(self, n: int) -> bytes:
        if self._blocks:
            return self._feed_zstd()
        try:
            data = self._d.decompress(self._tail, n)
        except _errors() as e:
            self._fail(e)
        used = len(self._tail) - len(self._d.unconsumed_tail) - len(self._d.unused_data)
        self.consumed += used
        self._tail = self._d.unconsumed_tail or self._d.unused_data
        return self._produced(data)

    def _feed_zstd(self) -> bytes:
        if self.consumed == 0 and self._tail.startswith(DICT_MAGIC):
            self._read_dictionary()
        cut = self._blocks.cut(self._tail, self.consumed)
        while not cut:  # a header split across reads of the file
            more = self.raw.read(CHUNK)
            self._tail += more
            cut = self._blocks.cut(self._tail, self.consumed) if more else len(self._tail)
        piece, rest = self._tail[:cut], self._tail[cut:]
        try:
            data = self._d.decompress(piece)
        except _errors() as e:
            self._fail(e)
        # zstandard keeps unconsumed input itself; only what follows the frame comes back
        unused = self._d.unused_data if self._d.eof else b""
        self.consumed += len(piece) - len(unused)
        self._tail = unused + rest
        return self._produced(data)

    def _read_dictionary(self):
        """The dictionary frame first in the file: its frames decode with it (each decoder made
        from here on); the frame itself is fed and skipped as any skippable frame."""
        while len(self._tail) < 8 and (more := self.raw.read(CHUNK)):
            self._tail += more
        size = int.from_bytes(self._tail[4:8], "little")
        if size > MAX_DICT:
            self._fail(ValueError(f"its dictionary frame holds {size} bytes, over {MAX_DICT >> 20} MiB"))
        while len(self._tail) < 8 + size and (more := self.raw.read(CHUNK)):
            self._tail += more
        try:
            self._dict = _dictionary(self._tail[8:8 + size])
        except _errors() as e:
            self._fail(e)
        self._d = _decoder(self.kind, self._dict)

    def _fail(self, e):
        if self._blocks and "requires too much memory" in str(e):  # zstd's window limit: not damage
            # MiB rounded up: the limit is 128 MiB + 1 byte, and '128 MiB' read as within it
            self.failed = CorruptData(self.member_start, (
                f"zstd frame starting at decompressed byte {self.member_start} needs a {-(-self._blocks.window >> 20)} MiB window "
                f"(written with zstd --long); curate, like zstd, decodes up to 128 MiB: recompress it, e.g. "
                f"zstd -d --long=31 -c FILE | zstd > NEW.zst"), "zstd_window_too_large")
            raise self.failed from None
        self.failed = CorruptData(self.member_start, f"{self.kind} member starting at decompressed byte {self.member_start} failed: {type(e).__name__}: {e}"[:500])
        raise self.failed from None

    def _produced(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self._d.eof:
            self.verified = max(self.verified, self.produced)
            self._in_member = False
            self._d = _decoder(self.kind, self._dict) if self._dict else _decoder(self.kind)
        return data

    def close(self):
        self.raw.close()


def verify_file(open_raw, kind: str, limit: Optional[int] = None, stop=None) -> tuple[int, Optional[CorruptData]]:
    """Decompress a whole file, discarding the output: (verified offset, error or None). Past
    ``limit`` decoded bytes (the read's max_file_bytes, where it stops) no further: ``limit``
    counts as verified, a prefix, as a read stopped there takes what it decoded (it was decoded
    to the end: a big file, or a bomb, whole for a read of 4 GiB). So too where ``stop(stream)``
    says the read stops before (the bomb stop, ``common.BombWatch``: a bomb was decoded to
    ``limit`` or its end here, past 16 GiB of ``limit`` the read's stop before this pass)."""
    with open_raw() as raw:
        m = Members(raw, kind)
        _open_streams = getattr(_open, "streams", None)
        if _open_streams and _open_streams[-1] is m:
            _open_streams.pop()  # a check, not a stream the reader reads
        try:
            while m.read(1 << 20):
                if limit is not None and (m.produced > limit or (stop is not None and stop(m))):
                    return limit, None
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
