"""Odd and hostile inputs through the readers, in one `curate run --stages ingest` over a folder
of them: every record ends in text/, the ledger or quarantine with the reason each case names,
counted against what this file wrote (not curate's own reader), and no binary bytes or markup
reach text/ as a document."""
from __future__ import annotations

import gzip
import json
import random

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import cli

PAGE = ("<html><head><title>Les élèves</title></head><body><article><h1>Les élèves au jardin</h1>"
        + "".join(f"<p>Paragraphe {i}: les élèves ont étudié à l'école pendant très longtemps, puis ils ont "
                  "planté des tomates sur un balcon venté, café crème à la main.</p>" for i in range(5))
        + "</article></body></html>")
_rnd = random.Random(7)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(_rnd.randrange(256) for _ in range(3000))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 2000 >>\nstream\n" + bytes(_rnd.randrange(256) for _ in range(2000))


def _brotli(data: bytes) -> bytes:
    import brotli  # a FastWARC dependency

    return brotli.compress(data)


def _even(data: bytes) -> bytes:
    """``data`` padded to a whole number of UTF-16 units: what an odd length does not hide."""
    return data + b" " * (len(data) % 2)


# (name, HTTP body, HTTP headers after the status line, where the record ends: ("text", a
# phrase its text holds) or ("ledger", rule) or ("quarantine", reason))
RESPONSES = [
    ("page", PAGE.encode(), ["Content-Type: text/html; charset=utf-8"], ("text", "planté des tomates")),
    # a server's image or PDF labelled as a page: no document of its bytes
    ("png_as_html", PNG, ["Content-Type: text/html"], ("ledger", "non_html_content")),
    ("pdf_as_html", PDF, ["Content-Type: text/html; charset=utf-8"], ("ledger", "non_html_content")),
    ("png_as_text", PNG, ["Content-Type: text/plain"], ("ledger", "non_html_content")),
    # a crawler that stored the body compressed but dropped its Content-Encoding header
    ("gzip_without_header", gzip.compress(PAGE.encode()), ["Content-Type: text/html"], ("text", "planté des tomates")),
    # UTF-16 without a byte-order mark or charset: its markup was the text, NULs dropped
    ("utf16le_without_bom", PAGE.encode("utf-16-le"), ["Content-Type: text/html"], ("text", "planté des tomates")),
    ("utf16be_without_bom", PAGE.encode("utf-16-be"), ["Content-Type: text/html"], ("text", "planté des tomates")),
    # UTF-32 with a byte-order mark: the LE one starts with UTF-16-LE's, and the page was read as
    # UTF-16 (its markup the text); the BE one was taken for no BOM at all
    ("utf32le_with_bom", b"\xff\xfe\x00\x00" + PAGE.encode("utf-32-le"), ["Content-Type: text/html"], ("text", "planté des tomates")),
    ("utf32be_with_bom", b"\x00\x00\xfe\xff" + PAGE.encode("utf-32-be"), ["Content-Type: text/html"], ("text", "planté des tomates")),
    # codings applied in the order listed (RFC 9110 8.4): only a lone one was undone
    ("gzip_then_br", _brotli(gzip.compress(PAGE.encode())), ["Content-Type: text/html", "Content-Encoding: gzip, br"],
     ("text", "planté des tomates")),
    ("gzip_twice", gzip.compress(gzip.compress(PAGE.encode())), ["Content-Type: text/html", "Content-Encoding: gzip, gzip"],
     ("text", "planté des tomates")),
    ("unknown_coding_binary", gzip.compress(PAGE.encode()), ["Content-Type: text/html", "Content-Encoding: snappy"],
     ("quarantine", "content_decoding_error")),
    ("unknown_coding_text", PAGE.encode(), ["Content-Type: text/html", "Content-Encoding: compress"],
     ("text", "planté des tomates")),
    # a UTF-16 label on a page with no NUL byte (a page in UTF-16 has one beside each ASCII
    # character): it was decoded as UTF-16, every pair of bytes one CJK character
    ("utf16_label_on_utf8", _even(PAGE.encode()), ["Content-Type: text/html; charset=utf-16"], ("text", "planté des tomates")),
    ("utf16_meta_on_utf8", _even(PAGE.replace("<head>", '<head><meta charset="UTF-16LE">').encode()), ["Content-Type: text/html"],
     ("text", "planté des tomates")),
    ("utf16_label_on_plain_text", _even("Des tomates plantées sur un balcon venté, café crème. ".encode() * 8),
     ["Content-Type: text/plain; charset=utf-16"], ("text", "tomates plantées")),
    # HTTP header lines ending in a bare \n: FastWARC read the response as its status line, no
    # Content-Type, and the page went to the ledger as non_html_content
    ("http_bare_newlines", PAGE.encode(), ["Content-Type: text/html"], ("quarantine", "bad_http_header")),
    # the same over FastWARC's 32 KiB header limit: "Maximum header length exceeded." alone
    ("http_bare_newlines_long", PAGE.replace("</article>", "<p>Encore une ligne du potager.</p>" * 1200 + "</article>").encode(),
     ["Content-Type: text/html"], ("quarantine", "bad_http_header")),
]


def _warc_record(wtype: str, uri: str, block: bytes, ctype: str, nl: bytes = b"\r\n") -> bytes:
    head = [b"WARC/1.0", b"WARC-Type: " + wtype.encode(), b"WARC-Record-ID: <urn:uuid:%s>" % uri.encode(),
            b"WARC-Target-URI: " + uri.encode(), b"Content-Type: " + ctype.encode(), b"Content-Length: %d" % len(block)]
    return nl.join(head) + nl + nl + block + nl + nl


def _response(name: str, body: bytes, headers: list[str], nl: bytes = b"\r\n") -> bytes:
    hl = b"\n" if name.startswith("http_bare") else nl
    http = hl.join([b"HTTP/1.1 200 OK", *(h.encode() for h in headers)]) + hl + hl + body
    return _warc_record("response", f"http://odd.example/{name}", http, "application/http; msgtype=response", nl)


def _damaged_parquet() -> bytes:
    """400 rows in 4 row groups, the third's text page header overwritten."""
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(400)], "text": [f"row {i}: " + "words here " * 20 for i in range(400)]}),
                   buf, row_group_size=100)
    data = bytearray(buf.getvalue().to_pybytes())
    at = pq.ParquetFile(pa.BufferReader(bytes(data))).metadata.row_group(2).column(1).data_page_offset
    data[at:at + 8] = b"\xff" * 8
    return bytes(data)


def _pg_book(title: str, first: str) -> str:
    """A Project Gutenberg e-text: header, marker, the book, end marker, licence."""
    return (f"The Project Gutenberg eBook of {title}\n\nTitle: {title}\nAuthor: Anon\n\n"
            f"*** START OF THE PROJECT GUTENBERG EBOOK {title.upper()} ***\n\n{first}\n" + "A line of the story.\n" * 50
            + f"\n*** END OF THE PROJECT GUTENBERG EBOOK {title.upper()} ***\n\nSection 1. General Terms of Use ...\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One ingest run over a folder of every odd file: (text, ledger, quarantine, manifest)."""
    root = tmp_path_factory.mktemp("hostile")
    inp = root / "in"
    inp.mkdir()
    (inp / "odd.warc").write_bytes(b"".join(_response(n, b, h) for n, b, h, _ in RESPONSES))
    # a WARC whose header lines end in a bare \n (FastWARC read its whole record as the WARC-Type)
    (inp / "lf_only.warc").write_bytes(_response("lf", PAGE.encode(), ["Content-Type: text/html"], nl=b"\n"))
    (inp / "image.html").write_bytes(PNG)  # a saved "page" that is an image
    (inp / "utf16.html").write_bytes(PAGE.encode("utf-16-le"))
    (inp / "utf32.html").write_bytes(b"\xff\xfe\x00\x00" + PAGE.encode("utf-32-le"))  # read as UTF-16-LE: its markup the text
    # Hive and Spark write text as binary: read as its UTF-8 (it was refused before the run)
    pq.write_table(pa.table({"id": ["h1", "h2", "h3"], "text": pa.array(
        [PAGE.encode(), "Un texte en UTF-8, déjà lu.".encode(), b"caf\xe9 latin-1"], pa.binary())}), inp / "hive.parquet")
    (inp / "damaged.parquet").write_bytes(_damaged_parquet())
    whole = _damaged_parquet()  # its footer's metadata overwritten: pyarrow's error spans lines
    (inp / "no_footer.parquet").write_bytes(whole[:-40] + b"\xff" * 32 + whole[-8:])
    books = root / "books"
    books.mkdir()
    (books / "omnibus.txt").write_text(_pg_book("Alpha", "The first tale begins.") + _pg_book("Beta", "The second tale begins."))
    (books / "utf16.txt").write_bytes(_pg_book("Gamma", "Une histoire d'été.").encode("utf-16-le"))  # no byte-order mark
    out = root / "out"
    with pytest.MonkeyPatch.context() as mp:
        from pipelines import pipeline, pool

        mp.setattr(pipeline, "pool_workers", lambda run, local: pool.workers(run, local) if run.get("workers") else 1)
        assert cli.main(["run", "--input", str(inp), "--domain", "web", "--source", "s", "--input", str(books), "--domain", "books",
                         "--stages", "ingest",
                         "--output", str(out), "--progress", "off"]) == 0
    kinds = {k: pl.read_parquet(str(out / k / "*.parquet")) for k in ("text", "ledger", "quarantine")}
    return kinds["text"], kinds["ledger"], kinds["quarantine"], json.loads((out / "manifest.json").read_text())


@pytest.mark.parametrize("name,expect", [(n, e) for n, _, _, e in RESPONSES], ids=[n for n, *_ in RESPONSES])
def test_each_odd_response_ends_where_it_should(run, name, expect):
    text, ledger, quarantine, _ = run
    url = f"http://odd.example/{name}"
    kept = text.filter(pl.col("url") == url)
    removed = ledger.filter(pl.col("url") == url)
    offsets = sorted(text.filter(pl.col("path") == "odd.warc")["offset"].to_list() + ledger.filter(
        pl.col("path") == "odd.warc")["offset"].to_list())
    rec = RESPONSES.index(next(r for r in RESPONSES if r[0] == name))
    start = sum(len(_response(*r[:3])) for r in RESPONSES[:rec])  # where this file wrote it
    bad = quarantine.filter((pl.col("path") == "odd.warc") & (pl.col("offset") == start))
    assert len(kept) + len(removed) + len(bad) == 1, (kept, removed, bad, offsets)
    where, what = expect
    if where == "text":
        assert len(kept) == 1 and what in kept["text"][0], kept["text"].to_list()
        assert "<" not in kept["text"][0] and "\x00" not in kept["text"][0]  # the page's text, not its markup
    elif where == "ledger":
        assert removed["rule"].to_list() == [what]
    else:
        assert bad["reason"].to_list() == [what], bad


def test_every_record_is_accounted_for(run):
    """Records in (counted here, as written) = kept + ledger + quarantine, file by file."""
    text, ledger, quarantine, manifest = run
    wrote = {"odd.warc": len(RESPONSES), "lf_only.warc": 1, "image.html": 1, "utf16.html": 1, "utf32.html": 1, "hive.parquet": 3, "damaged.parquet": 301, "no_footer.parquet": 1, "omnibus.txt": 1, "utf16.txt": 1}  # its unreadable row group of 100 rows: one row
    got = pl.concat([t.select("path") for t in (text, ledger, quarantine)])["path"].value_counts()
    assert dict(zip(got["path"], got["count"])) == wrote
    c = manifest["counts"]["ingest"]
    assert c["docs_in"] == sum(wrote.values()) == c["docs_out"] + sum(c["removed"].values()) + c["quarantined"]


def test_a_warc_of_bare_newlines_is_one_clear_row(run):
    """Its record was counted as a skipped record type named by the whole record (the manifest's
    key, the summary's line and the audit's table held the page), and quarantined as
    `truncated_record` with that text: now one row saying what is wrong and how to fix it."""
    _, _, quarantine, manifest = run
    row = quarantine.filter(pl.col("path") == "lf_only.warc").row(0, named=True)
    assert row["reason"] == "not_a_warc" and "bare \\n" in row["detail"] and "warcio recompress" in row["detail"], row
    assert "\n" not in row["detail"]
    assert not any("\n" in k for k in manifest["counts"]["ingest"].get("skipped_records", {})), manifest["counts"]["ingest"]


def test_saved_pages_binary_or_utf16(run):
    text, _, quarantine, _ = run
    assert quarantine.filter(pl.col("path") == "image.html")["reason"].to_list() == ["binary"]
    for name in ("utf16.html", "utf32.html"):
        page = text.filter(pl.col("path") == name)["text"].to_list()
        assert len(page) == 1 and "planté des tomates" in page[0] and "<" not in page[0] and "\x00" not in page[0], (name, page)


def test_a_parquet_binary_text_column_is_its_utf8(run):
    text, _, quarantine, _ = run
    got = dict(text.filter(pl.col("path") == "hive.parquet").select("source_id", "text").iter_rows())
    assert got.keys() == {"h1", "h2"} and got["h2"] == "Un texte en UTF-8, déjà lu.", got
    bad = quarantine.filter(pl.col("path") == "hive.parquet")
    assert bad.select("source_id", "reason").rows() == [("h3", "invalid_utf8")]


def test_a_damaged_parquet_row_group_costs_its_rows_only(run):
    """The footer says each row group's rows: a group that cannot be read is one row saying how
    many (the file's later, whole groups were lost with it, in a row at the last row read)."""
    text, _, quarantine, _ = run
    kept = sorted(text.filter(pl.col("path") == "damaged.parquet")["offset"].to_list())
    assert kept == [*range(200), *range(300, 400)]
    row = quarantine.filter(pl.col("path") == "damaged.parquet").row(0, named=True)
    assert row["offset"] == 200 and row["reason"] == "read_error", row
    assert "row group 2 (rows 200 to 299, 100 rows)" in row["detail"] and "\n" not in row["detail"], row


def test_a_quarantine_detail_is_one_line(run):
    """An unreadable file's error, pyarrow's 'Couldn't deserialize thrift: ...\\n' too, is one line
    of the quarantine row (as `curate audit --why` and a query print it)."""
    _, _, quarantine, _ = run
    row = quarantine.filter(pl.col("path") == "no_footer.parquet").row(0, named=True)
    assert row["reason"] == "read_error" and row["detail"] and "\n" not in row["detail"], row


def test_two_gutenberg_books_in_one_file_keep_both_texts(run):
    """`cat a.txt b.txt` of two PG e-texts: the first book's footer ended the text, and the second
    book was dropped without a word (no ledger or quarantine row); now each book's text is kept,
    the licences and headers out, the first book's title in meta."""
    text, _, _, _ = run
    row = text.filter(pl.col("path") == "omnibus.txt").row(0, named=True)
    assert "The first tale begins." in row["text"] and "The second tale begins." in row["text"], row["text"]
    assert "General Terms" not in row["text"] and "START OF" not in row["text"] and "Title:" not in row["text"]
    assert json.loads(row["meta"])["title"] == "Alpha"


def test_a_book_in_utf16_without_a_bom_is_read(run):
    """A book written in UTF-16 with no byte-order mark (a NUL beside each ASCII character) was
    quarantined as binary; it is read as a saved page in UTF-16 is."""
    text, _, quarantine, _ = run
    assert quarantine.filter(pl.col("path") == "utf16.txt").is_empty(), quarantine.filter(pl.col("path") == "utf16.txt").rows()
    row = text.filter(pl.col("path") == "utf16.txt").row(0, named=True)
    assert "Une histoire d'été." in row["text"] and "\x00" not in row["text"] and "START OF" not in row["text"], row["text"][:200]
    assert json.loads(row["meta"])["encoding"] == "utf-16-le" and json.loads(row["meta"])["title"] == "Gamma", row["meta"]


def test_bare_newline_http_headers_are_said_whatever_their_length(run):
    """HTTP header lines ending in a bare \\n make FastWARC read the whole response as its status
    line; over its 32 KiB header limit that was quarantined as "OSError: Maximum header length
    exceeded." without a word of the cause. Both rows now name it and the fix."""
    _, _, quarantine, _ = run
    for name in ("http_bare_newlines", "http_bare_newlines_long"):
        rec = RESPONSES.index(next(r for r in RESPONSES if r[0] == name))
        start = sum(len(_response(*r[:3])) for r in RESPONSES[:rec])
        row = quarantine.filter((pl.col("path") == "odd.warc") & (pl.col("offset") == start)).row(0, named=True)
        assert row["reason"] == "bad_http_header" and "bare \\n" in row["detail"] and "warcio recompress" in row["detail"], row
