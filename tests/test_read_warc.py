"""WARC / WET reader: real Common Crawl and wget WARCs, warcio's edge cases, and small
WARCs written here (boilerplate removal, charsets, truncation, limits)."""
from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from pathlib import Path

import pyarrow as pa
import pytest

from curate.readers import read_shard
from curate.readers.common import Bad, Doc, Limits, Shard
from curate.readers.html import _dechunk
from curate.readers.warc import read_warc, read_wet
from curate.readers.warc_writer import write_warc

REAL_WARCS = [
    "web/cc_main_2020_34_resiliparse_sample.warc.gz",
    "web/dolma_wget_sample-0000.warc.gz",
    "web/cc_whirlwind/whirlwind.warc.gz",
    "web/cmoncrawl_pypi/cc_main_2022_05_mini.warc.gz",
]
EDGE_DIR = "web/warc_edge_cases_warcio"


def shard(path, fmt="warc") -> Shard:
    return Shard(str(path), Path(path).name, fmt, "web", "test")


def read_all(path, fmt="warc", limits=Limits()) -> dict[str, pa.Table]:
    """read_shard's output as one table per kind (empty tables where none)."""
    out: dict[str, list] = {"docs": [], "ledger": [], "quarantine": []}
    for kind, batch in read_shard(shard(path, fmt), limits):
        out[kind].append(batch)
    return {k: pa.Table.from_batches(v) if v else pa.table({}) for k, v in out.items()}


def warcio_responses(path) -> int | None:
    """Response records counted by warcio, independently of FastWARC (None: warcio fails)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    def count(stream):
        return sum(1 for r in ArchiveIterator(stream) if r.rec_type == "response")

    try:
        with open(path, "rb") as f:
            return count(f)
    except ArchiveLoadFailed:
        pass
    try:  # warcio refuses whole-file gzip; read it decompressed
        with gzip.open(path, "rb") as f:
            return count(io.BytesIO(f.read()))
    except Exception:
        return None


# --- pages written here ------------------------------------------------------------------

ARTICLE = [
    "Tomatoes tolerate wind better than most people expect, provided the stems are tied "
    "loosely to a sturdy stake and the pots are heavy enough not to tip over.",
    "Choose compact bush varieties, water deeply twice a week rather than a little every "
    "day, and pinch out the side shoots so the plant puts its energy into fruit.",
    "By late summer a single well-tended pot can yield several kilograms of fruit, which "
    "is more than enough for a small household.",
]
NAV = ["Seed shop catalogue", "Member login area"]
FOOTER = "Copyright 2024 Greenleaf Weekly. All rights reserved."


def article_page(title="Growing tomatoes on a windy balcony", paragraphs=ARTICLE) -> bytes:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html><html><head><title>{title}</title></head><body>
<header><div class="logo">Greenleaf Weekly</div><nav class="menu"><ul>
<li><a href="/">Home</a></li><li><a href="/shop">{NAV[0]}</a></li><li><a href="/login">{NAV[1]}</a></li>
</ul></nav></header>
<main><article><h1>{title}</h1>{ps}</article></main>
<aside class="sidebar"><h3>Popular posts</h3><ul><li><a href="/a">Ten easy herbs</a></li></ul></aside>
<footer class="footer"><p>{FOOTER}</p><a href="/privacy">Privacy policy</a></footer>
</body></html>""".encode("utf-8")


def numbered_pages(n: int) -> list:
    return [
        (f"https://garden.example/post/{i}", article_page(f"Garden diary entry number {i}"), "text/html; charset=utf-8", 200)
        for i in range(n)
    ]


def docs_and_bads(path, fn=read_warc, limits=Limits()):
    recs = list(fn(shard(path), limits))
    return [r for r in recs if isinstance(r, Doc)], [r for r in recs if isinstance(r, Bad)]


# --- (1) real WARCs: every response is a document or a ledger row ------------------------


@pytest.mark.corpora
@pytest.mark.parametrize("rel", REAL_WARCS)
def test_real_warcs_account_for_every_response(corpora, rel):
    path = corpora / rel
    t = read_all(path)
    expected = warcio_responses(path)
    assert expected and expected > 0
    assert t["quarantine"].num_rows == 0, t["quarantine"].to_pylist()
    assert t["docs"].num_rows + t["ledger"].num_rows == expected
    docs = t["docs"].to_pylist()
    assert len({d["id"] for d in docs}) == len(docs)
    for d in docs:
        meta = json.loads(d["meta"])
        assert d["url"] and "://" in d["url"] and not d["url"].startswith("<")
        assert meta["warc_record_id"].startswith("<urn:") and meta["http_status"] == 200
        assert meta["content_type"] == "text/html" and meta["charset"] and d["text"].strip()


@pytest.mark.corpora
def test_real_warc_charsets_decode(corpora):
    """The CC sample has Russian windows-1251 and Chinese GB2312 pages: no mojibake there.

    Decoding, not extraction, is under test: Resiliparse's extractor keeps the GB2312 page
    (a spam link list, which the default extractor rightly empties)."""
    docs = read_all(corpora / REAL_WARCS[0], limits=Limits(extractor="resiliparse"))["docs"].to_pylist()
    by_url = {d["url"]: d for d in docs}
    ru = by_url["http://01spb.ru/company/"]
    assert json.loads(ru["meta"])["charset"] == "cp1251"
    assert "компании" in ru["text"]
    zh = by_url["http://0760.jxtdw.com/area/sanxiang/"]
    assert json.loads(zh["meta"])["charset"] == "gbk"
    assert "三乡" in zh["text"]


# --- (2) warcio's edge cases: nothing crashes, nothing vanishes silently -----------------


@pytest.mark.corpora
def test_edge_cases_read_without_exception_and_account(corpora):
    files = sorted(p for p in (corpora / EDGE_DIR).iterdir() if p.is_file())
    assert len(files) == 16
    rows = []
    for path in files:
        list(read_warc(shard(path), Limits()))  # the reader itself never raises
        t = read_all(path)
        n_docs, n_ledger, n_bad = t["docs"].num_rows, t["ledger"].num_rows, t["quarantine"].num_rows
        expected = warcio_responses(path)
        reasons = sorted(set(t["quarantine"].column("reason").to_pylist())) if n_bad else []
        rows.append((path.name, expected, n_docs, n_ledger, n_bad, reasons))
        if ".arc" in path.name:
            assert (n_docs, n_ledger, reasons) == (0, 0, ["unsupported_format"])
            continue
        # never more records than warcio sees; fewer only with a quarantine row saying why
        assert expected is not None and n_docs + n_ledger <= expected
        assert n_docs + n_ledger == expected or n_bad > 0
        ids = (t["docs"].column("id").to_pylist() if n_docs else []) + (t["ledger"].column("id").to_pylist() if n_ledger else [])
        assert len(set(ids)) == len(ids)
    print("\nfile | warcio responses | docs | ledger | quarantine | reasons")
    for r in rows:
        print(" | ".join(map(str, r)))
    table = {r[0]: r[1:] for r in rows}
    assert table["example-trunc.warc"][1:4] == (1, 0, 1)  # the page, then the broken rest
    assert table["example-iana.org-chunked.warc"][1:4] == (1, 0, 0)
    assert table["post-test.warc.gz"][1:4] == (0, 3, 0)  # JSON responses: ledger


@pytest.mark.corpora
def test_edge_case_encodings_are_undone(corpora):
    """Chunked transfer encoding and gzip content encoding give the same page text."""
    texts = {}
    for name in ("example.warc", "example-iana.org-chunked.warc", "example-wrong-chunks.warc.gz"):
        docs, bads = docs_and_bads(corpora / EDGE_DIR / name)
        assert docs and not bads
        texts[name] = docs[0].text
    assert "illustrative examples" in texts["example.warc"]  # gzip-encoded body
    assert texts["example-wrong-chunks.warc.gz"] == texts["example.warc"]
    assert "Internet Assigned Numbers Authority" in texts["example-iana.org-chunked.warc"]


# --- (3) WET -----------------------------------------------------------------------------


@pytest.mark.corpora
def test_wet_conversion_record(corpora):
    wet = read_all(corpora / "web/cc_whirlwind/whirlwind.warc.wet.gz", "wet")
    assert wet["quarantine"].num_rows == 0 and wet["ledger"].num_rows == 0
    (doc,) = wet["docs"].to_pylist()
    assert doc["url"] == "https://an.wikipedia.org/wiki/Escopete"
    meta = json.loads(doc["meta"])
    assert meta["cc_languages"] == "spa" and meta["warc_refers_to"].startswith("<urn:")
    (page,) = read_all(corpora / "web/cc_whirlwind/whirlwind.warc.gz")["docs"].to_pylist()
    assert json.loads(page["meta"])["warc_record_id"] == meta["warc_refers_to"]

    def words(s):
        return {w for w in s.lower().split() if len(w) >= 5 and w.isalpha()}

    shared = words(doc["text"]) & words(page["text"])
    assert "escopete" in shared and len(shared) >= 0.5 * len(words(page["text"]))


# --- (4) extraction quality and charsets -------------------------------------------------


def test_main_content_kept_boilerplate_removed(tmp_path):
    p = tmp_path / "garden.warc.gz"
    write_warc(str(p), [("https://garden.example/tomatoes", article_page(), "text/html", 200)])
    (doc,), bads = docs_and_bads(p)
    assert not bads
    for para in ARTICLE:
        assert para in doc.text
    for junk in NAV + [FOOTER, "Popular posts", "Privacy policy"]:
        assert junk not in doc.text
    assert doc.url == "https://garden.example/tomatoes"
    assert doc.meta["extractor"] == "blocks" and doc.meta["warc_date"] == "2024-01-01T00:00:00Z"


FRENCH = "Un café crème à la terrasse, avec une tartine beurrée et un journal du matin à lire près de la fenêtre."


@pytest.mark.parametrize(
    "ctype,head",
    [
        ("text/html; charset=ISO-8859-1", ""),  # HTTP header
        ("text/html", '<meta charset="iso-8859-1">'),  # <meta charset>
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=latin1">'),
        ("text/html", ""),  # detection
    ],
)
def test_latin1_page_decodes(tmp_path, ctype, head):
    body = f"<html><head>{head}</head><body><article><p>{FRENCH}</p></article></body></html>".encode("latin-1")
    p = tmp_path / "fr.warc.gz"
    write_warc(str(p), [("https://cafe.example/", body, ctype, 200)])
    (doc,), _ = docs_and_bads(p)
    assert FRENCH in doc.text
    assert doc.meta["charset"] in ("cp1252", "iso8859-1", "latin-1", "iso-8859-1")


def test_header_charset_wins_and_lying_utf8_label_falls_back(tmp_path):
    body = f"<html><body><article><p>{FRENCH}</p></article></body></html>".encode("latin-1")
    p = tmp_path / "lie.warc.gz"
    write_warc(str(p), [("https://cafe.example/", body, "text/html; charset=utf-8", 200)])
    (doc,), _ = docs_and_bads(p)
    assert FRENCH in doc.text  # bytes_to_str falls back instead of producing U+FFFD


def test_plain_text_status_and_content_type(tmp_path):
    p = tmp_path / "mix.warc.gz"
    pages = [
        ("https://a.example/notes.txt", "Plain notes about crème brûlée.\r\nSecond line.".encode("latin-1"), "text/plain; charset=iso-8859-1", 200),
        ("https://a.example/missing", article_page(), "text/html", 404),
        ("https://a.example/moved", b"", "text/html", 301),
        ("https://a.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png", 200),
        ("https://a.example/data.json", b'{"a": 1}', "application/json", 200),
    ]
    write_warc(str(p), pages)
    t = read_all(p)
    (doc,) = t["docs"].to_pylist()
    assert doc["text"] == "Plain notes about crème brûlée.\nSecond line."
    led = {r["url"]: r for r in t["ledger"].to_pylist()}
    assert (led["https://a.example/missing"]["rule"], led["https://a.example/missing"]["value"]) == ("http_status", 404)
    assert led["https://a.example/moved"]["rule"] == "http_status"
    assert led["https://a.example/logo.png"]["rule"] == "non_html_content"
    assert led["https://a.example/data.json"]["rule"] == "non_html_content"
    assert t["quarantine"].num_rows == 0


# --- write_warc round trips ---------------------------------------------------------------


def test_write_warc_round_trips_and_is_deterministic(tmp_path):
    from warcio.archiveiterator import ArchiveIterator

    pages = numbered_pages(5)
    a, b = tmp_path / "a.warc.gz", tmp_path / "b" / "a.warc.gz"
    b.parent.mkdir()
    write_warc(str(a), pages)
    write_warc(str(b), pages)
    assert a.read_bytes() == b.read_bytes()
    with open(a, "rb") as f:
        recs = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read()) for r in ArchiveIterator(f)]
    assert recs[0][0] == "warcinfo"
    assert [(t, u, body) for t, u, body in recs[1:]] == [("response", url, html) for url, html, _, _ in pages]
    docs, bads = docs_and_bads(a)
    assert not bads and [d.url for d in docs] == [u for u, *_ in pages]
    assert all("Garden diary entry number" in d.text for d in docs)
    assert len({d.meta["warc_record_id"] for d in docs}) == 5


def test_ids_do_not_depend_on_compression(tmp_path):
    """Offsets are decompressed positions: plain, per-record gzip, whole-file gzip and zstd
    copies of one WARC give the same ids (FastWARC's own offsets would repeat for the
    records of a whole-file gzip)."""
    import zstandard

    src = tmp_path / "src.warc.gz"
    write_warc(str(src), numbered_pages(3))
    raw = gzip.decompress(src.read_bytes())
    variants = {
        "per-record.warc.gz": src.read_bytes(),
        "plain.warc": raw,
        "whole.warc.gz": gzip.compress(raw, mtime=0),
        "z.warc.zst": zstandard.ZstdCompressor().compress(raw),
    }
    seen = {}
    for name, data in variants.items():
        p = tmp_path / name
        p.write_bytes(data)
        docs, bads = docs_and_bads(p)
        assert not bads
        seen[name] = [(d.offset, d.url, d.text) for d in docs]
    first = seen["plain.warc"]
    assert len(first) == 3 and len({o for o, *_ in first}) == 3
    assert all(v == first for v in seen.values())


@pytest.mark.corpora
@pytest.mark.parametrize("rel", REAL_WARCS[:2])
def test_real_warc_recompressed_as_zstd_reads_the_same(corpora, rel, tmp_path):
    """A .warc.zst larger than one zstd block: FastWARC reads into a buffer smaller than a
    block, and was given the whole block (PanicException, 0 or 1 of 11 documents)."""
    import zstandard

    p = tmp_path / (Path(rel).name[: -len(".gz")] + ".zst")
    p.write_bytes(zstandard.ZstdCompressor().compress(gzip.decompress((corpora / rel).read_bytes())))
    want, got = read_all(corpora / rel), read_all(p)
    assert got["quarantine"].num_rows == 0, got["quarantine"].to_pylist()
    assert got["docs"].column("text").to_pylist() == want["docs"].column("text").to_pylist()
    assert got["docs"].num_rows > 0 and got["ledger"].num_rows == want["ledger"].num_rows


# --- (5) truncation -----------------------------------------------------------------------


def member_ends(data: bytes) -> list[int]:
    """End offsets of the complete gzip members in data."""
    ends, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        d.decompress(data[pos:])
        if not d.eof:
            break
        pos = len(data) - len(d.unused_data)
        ends.append(pos)
    return ends


def test_truncated_warc_gz(tmp_path):
    full = tmp_path / "full.warc.gz"
    write_warc(str(full), numbered_pages(8))
    data = full.read_bytes()
    cut = len(data) // 2
    complete = sum(1 for e in member_ends(data[:cut])) - 1  # minus warcinfo
    assert 0 < complete < 8
    p = tmp_path / "cut.warc.gz"
    p.write_bytes(data[:cut])
    docs, bads = docs_and_bads(p)
    assert [d.url for d in docs] == [f"https://garden.example/post/{i}" for i in range(complete)]
    assert all(f"Garden diary entry number {i}" in d.text for i, d in enumerate(docs))
    assert len(bads) == 1 and bads[0].reason == "truncated_record"
    t = read_all(p)
    assert t["docs"].num_rows == complete and t["quarantine"].column("reason").to_pylist() == ["truncated_record"]


def test_truncated_plain_warc_cut_mid_body(tmp_path):
    """Uncompressed and cut inside a page: that page is quarantined, not emitted half."""
    full = tmp_path / "full.warc.gz"
    write_warc(str(full), numbered_pages(4))
    raw = gzip.decompress(full.read_bytes())
    start = raw.index(b"</article>", raw.index(b"post/2"))  # inside the third page's body
    p = tmp_path / "cut.warc"
    p.write_bytes(raw[:start])
    docs, bads = docs_and_bads(p)
    assert [d.url[-1] for d in docs] == ["0", "1"]
    assert [b.reason for b in bads] == ["truncated_record"]


def test_every_cut_gives_whole_pages_then_quarantine(tmp_path):
    """Cut a small WARC at many points: never an exception, never half a page, and a page
    missing from the docs is always explained by a quarantine row."""
    full = tmp_path / "full.warc.gz"
    write_warc(str(full), numbered_pages(4))
    gz = full.read_bytes()
    raw = gzip.decompress(gz)
    # uncompressed: page i is whole once its block (header + Content-Length bytes) is
    block_ends = []
    for m in re.finditer(rb"WARC-Type: response.*?Content-Length: (\d+)\r\n\r\n", raw, re.S):
        block_ends.append(m.end() + int(m.group(1)))
    for name, data in (("cut.warc.gz", gz), ("cut.warc", raw)):
        ends = [e for e in member_ends(gz)][1:] if name.endswith(".gz") else block_ends
        for cut in range(0, len(data), 23):
            p = tmp_path / name
            p.write_bytes(data[:cut])
            docs, bads = docs_and_bads(p)
            whole = sum(1 for e in ends if e <= cut)
            assert [d.url for d in docs] == [f"https://garden.example/post/{i}" for i in range(len(docs))]
            assert all(d.text.endswith(ARTICLE[-1]) for d in docs), (name, cut)
            assert whole <= len(docs) <= whole + 1, (name, cut)  # +1: cut inside a gzip trailer
            on_boundary = cut in member_ends(gz) if name.endswith(".gz") else data[cut:].startswith(b"WARC/1.0")
            assert len(docs) == 4 or cut == 0 or on_boundary or bads, (name, cut)


def test_corrupt_gzip_member(tmp_path):
    full = tmp_path / "full.warc.gz"
    write_warc(str(full), numbered_pages(6))
    data = bytearray(full.read_bytes())
    ends = member_ends(bytes(data))
    mid = (ends[3] + ends[4]) // 2  # inside the 4th page's member
    data[mid : mid + 40] = bytes(40)
    p = tmp_path / "bad.warc.gz"
    p.write_bytes(bytes(data))
    docs, bads = docs_and_bads(p)
    assert [d.url[-1] for d in docs] == ["0", "1", "2"]
    assert len(bads) == 1 and bads[0].reason in ("read_error", "truncated_record", "corrupt_compressed")


# --- not a WARC ---------------------------------------------------------------------------


def test_not_a_warc_and_empty(tmp_path):
    p = tmp_path / "page.warc"
    p.write_bytes(b"<html><body>not an archive</body></html>\n")
    assert [(b.offset, b.reason) for b in read_warc(shard(p), Limits())] == [(0, "not_a_warc")]
    g = tmp_path / "page.warc.gz"
    g.write_bytes(gzip.compress(b"just some text\n" * 10))
    assert [b.reason for b in read_warc(shard(g), Limits())] == ["not_a_warc"]
    e = tmp_path / "empty.warc.gz"
    e.write_bytes(b"")
    assert list(read_warc(shard(e), Limits())) == []


def test_wet_reader_on_written_wet(tmp_path):
    """A WET file written by hand: conversion records only, others ignored."""
    def rec(wtype, uri, block):
        head = f"WARC/1.0\r\nWARC-Type: {wtype}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
        head += f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-00000000000{len(block) % 10}>\r\n"
        head += f"Content-Type: text/plain\r\nContent-Length: {len(block)}\r\n\r\n"
        return gzip.compress(head.encode() + block + b"\r\n\r\n", mtime=0)

    p = tmp_path / "x.warc.wet.gz"
    p.write_bytes(
        rec("warcinfo", "", b"software: test\r\n")
        + rec("conversion", "https://a.example/", "Première page.\nDeux lignes.".encode())
        + rec("conversion", "https://b.example/", b"Second page text.")
    )
    docs, bads = docs_and_bads(p, read_wet)
    assert not bads
    assert [(d.url, d.text) for d in docs] == [("https://a.example/", "Première page.\nDeux lignes."), ("https://b.example/", "Second page text.")]


def _wrec(wtype, uri, block, ctype="text/plain"):
    head = f"WARC/1.0\r\nWARC-Type: {wtype}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
    head += f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-00000000000{len(block) % 10}>\r\n"
    head += f"Content-Type: {ctype}\r\nContent-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode() + block + b"\r\n\r\n", mtime=0)


@pytest.mark.parametrize(
    "name, records, reader, detail",
    [  # a WAT file caught by a folder's walk; a WET named like a WARC; a WARC read as WET; requests only
        ("x.warc.wat.gz", [("warcinfo", "", b"a: b\r\n"), ("metadata", "https://a.example/", b"{}")], read_warc,
         "no response records (metadata 1, warcinfo 1): a WAT file"),
        ("x.warc.gz", [("conversion", "https://a.example/", b"Page text.")], read_warc,
         "no response records (conversion 1): a WET file: give it --format wet"),
        ("x.wet.gz", [("response", "https://a.example/", b"HTTP/1.1 200 OK\r\n\r\nhi")], read_wet,
         "no conversion records (response 1): a WARC file: give it --format warc"),
        ("req.warc.gz", [("request", "https://a.example/", b"GET / HTTP/1.1\r\n\r\n")] * 2, read_warc,
         "no response records (request 2): curate reads the response records of a WARC file"),
    ],
)
def test_a_file_without_the_records_read_is_quarantined(tmp_path, name, records, reader, detail):
    # Nothing lost silently: a whole file that gives no document is said, not skipped.
    p = tmp_path / name
    p.write_bytes(b"".join(_wrec(*r) for r in records))
    docs, bads = docs_and_bads(p, reader)
    assert not docs and [(b.offset, b.reason) for b in bads] == [(0, "no_records")]
    assert bads[0].detail.startswith(detail)


# --- (6) limits ---------------------------------------------------------------------------


def test_record_size_limit(tmp_path):
    big = article_page(paragraphs=ARTICLE * 40)
    small = b"<html><body><article><p>A short but complete page about pruning roses in early spring.</p></article></body></html>"
    p = tmp_path / "sizes.warc.gz"
    write_warc(str(p), [("https://a.example/big", big, "text/html", 200), ("https://a.example/small", small, "text/html", 200)])
    limits = Limits(max_record_bytes=len(big) - 1)
    docs, bads = docs_and_bads(p, limits=limits)
    assert [d.url for d in docs] == ["https://a.example/small"]
    assert [b.reason for b in bads] == ["record_too_large"]
    t = read_all(p, limits=limits)
    assert t["quarantine"].column("reason").to_pylist() == ["record_too_large"]
    assert t["docs"].num_rows == 1


def test_file_size_limit_applies_to_decompressed_bytes(tmp_path):
    p = tmp_path / "many.warc.gz"
    write_warc(str(p), numbered_pages(10))
    total = len(gzip.decompress(p.read_bytes()))
    docs, bads = docs_and_bads(p, limits=Limits(max_file_bytes=total // 2))
    assert 0 < len(docs) < 10
    assert [b.reason for b in bads] == ["file_too_large"]
    # said as any reader's file_too_large: the compressed bytes read and the ratio (no bomb: pages
    # compress a few times over), which told a bomb from a big file nowhere in a WARC's row
    assert " compressed bytes (" in bads[0].detail and " to 1)" in bads[0].detail, bads[0].detail


def test_dechunk():
    assert _dechunk(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n") == b"hello world"
    assert _dechunk(b"<html>not chunked</html>") == b"<html>not chunked</html>"
    assert _dechunk(b"5\r\nhello\r\n") == b"hello"  # no terminating chunk: keep what is there


def test_records_that_are_not_documents_are_counted_by_type(tmp_path, capsys):
    # A wget-style WARC: its own log and manifest as `resource` records beside the pages'
    # requests and responses. They are not documents and are not read, but every record is
    # accounted for: counted by type in the manifest (run and file), the summary and the audit.
    from curate import cli, commit

    page = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"A plain page with a few words in it.\n" * 3
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "crawl.warc.gz").write_bytes(b"".join(_wrec(*r) for r in [
        ("warcinfo", "", b"software: wget\r\n"),
        ("request", "https://a.example/", b"GET / HTTP/1.1\r\n\r\n"),
        ("response", "https://a.example/", page, "application/http; msgtype=response"),
        ("resource", "urn:X-wget:log", b"wget log lines\n"),
        ("resource", "https://b.example/page.html", b"<html><body><p>Captured without HTTP.</p></body></html>", "text/html"),
        ("metadata", "https://a.example/", b"via: x\r\n"),
    ]))
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "in"), "--domain", "web", "--stages", "ingest", "--output", str(out)]) == 0
    m = commit.read_manifest(str(out))
    want = {"metadata": 1, "request": 1, "resource": 2, "warcinfo": 1}
    assert m["counts"]["ingest"]["skipped_records"] == want and m["counts"]["ingest"]["docs_in"] == 1
    assert [f["skipped_records"] for f in m["inputs"]] == [want]
    assert "; WARC records that are not documents, not read: resource 2, metadata 1, request 1, warcinfo 1; " in capsys.readouterr().out
    assert cli.main(["audit", str(out)]) == 0
    summary = json.loads((out / "stats/summary.json").read_text())
    assert summary["funnel"][0]["skipped_records"] == want
    assert "skipped_records: WARC resource records (not documents; not read)" in (out / "report.html").read_text()
