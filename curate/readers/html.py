"""HTTP bodies and HTML pages: de-chunking and content decoding, the page's encoding (BOM,
HTTP charset, <meta charset>), the depth check and main-content text (curate.readers.extract)."""
from __future__ import annotations

import codecs
import functools
import io
import re
import zlib

from curate.readers.common import LimitExceeded, decode_text, latin_charset, looks_binary, utf16_without_bom, wide_encoding
from curate.readers.extract import DEFAULT as DEFAULT_EXTRACTOR


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]+)", re.I)


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


def decode_body(raw: bytes, http_headers, cap: int) -> bytes | None:
    """Undo transfer and content encodings, producing at most cap + 1 bytes (bombs).

    Codings are undone last first (``Content-Encoding: gzip, br`` is brotli over gzip: only a
    lone coding was undone, and the compressed bytes were the page's text). A gzip body without
    the header (a crawler that dropped it) is undone too. Returns None when a declared content
    encoding cannot be undone and the bytes are not text either (crawlers sometimes store the
    decoded body but keep the header).
    """
    if "chunked" in (http_headers.get("Transfer-Encoding") or "").lower():
        raw = _dechunk(raw)
    codings = [c for c in (http_headers.get("Content-Encoding") or "").lower().replace(" ", "").split(",") if c]
    if not codings and raw.startswith(b"\x1f\x8b\x08"):
        codings = ["gzip"]
    for coding in reversed(codings):
        try:
            raw = _undo(coding, raw, cap)
        except Exception:
            return None if looks_binary(raw) else raw
    return raw


def _undo(coding: str, raw: bytes, cap: int) -> bytes:
    """``raw`` with one content coding undone, at most cap + 1 bytes; an unknown coding leaves
    text as it is and raises on binary bytes: no document of those."""
    if coding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(raw, cap + 1)  # gzip or zlib header
        except zlib.error:
            return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, cap + 1)  # raw deflate
    if coding == "br":
        import brotli  # a FastWARC dependency

        return brotli.Decompressor().process(raw, output_buffer_limit=cap + 1)
    if coding == "identity":
        return raw
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read(cap + 1)
    if binary_body(raw):
        raise ValueError(f"unknown content coding {coding!r}")
    return raw


def binary_body(body: bytes) -> bool:
    """A body that is no page or text (an image or PDF served as text/html): NUL or control
    bytes, and not UTF-16 (``looks_binary``, as for books and source files)."""
    return looks_binary(body) and not utf16_without_bom(body)


def _label_fits(label: str, body: bytes) -> bool:
    """False for a UTF-16/32 label on bytes without a NUL in their head: UTF-16 or UTF-32 text
    has one beside every ASCII character, so such a label is a lie."""
    try:
        wide = codecs.lookup(label).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        return True  # not ours to judge: decoding says
    return not wide or b"\x00" in body[:4096]


def _html_encoding(body: bytes, http_charset: str | None) -> str:
    """BOM, then UTF-16 told by its NULs, then the HTTP header charset, then <meta charset>,
    then valid UTF-8, then detection. A UTF-16 label on bytes that are not (no BOM, no NUL byte,
    which every ASCII character of UTF-16 markup has beside it: the page was decoded as every two
    bytes one CJK character) is passed over, as HTML's own rule does for a <meta> one."""
    from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5

    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if wide := wide_encoding(body) or utf16_without_bom(body):  # UTF-32's BOM first: its LE one starts as UTF-16-LE's
        return wide
    for label in (http_charset, *(m.decode("ascii") for m in _META_CHARSET.findall(body[:4096])[:1])):
        enc = label and map_encoding_to_html5(label, fallback_utf8=False)
        if enc and _label_fits(enc, body):
            return enc
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Latin-script text: the code page that reads it as one language, as for a text file
    # (resiliparse took an Italian cp1252 page for ISO-8859-13, "è" as "č"); the rest its guess.
    latin = latin_charset(body)
    return codecs.lookup(latin).name if latin else detect_encoding(body)


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


def text_body(body: bytes, http_charset: str | None) -> tuple[str, str]:
    """A text/plain body: its HTTP charset where the bytes decode in it, but a UTF-16/32 label
    only on bytes with a NUL (UTF-8 text decoded so was every two bytes one CJK character), else
    detected as a text file's."""
    if http_charset and _label_fits(http_charset, body):
        try:
            return body.decode(http_charset).replace("\r\n", "\n").replace("\r", "\n"), http_charset
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_text(body)

