"""Saved HTML pages (``--format html``, one document per .html/.htm file): the same text as
the same bytes read as a WARC response, through the CLI on a folder of pages, charsets from
``<meta>``, compression, sniffing and the size limit."""
from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq

from curate import cli
from curate.readers import detect_format
from curate.readers.common import Limits
from curate.readers.warc_writer import write_warc
from tests.test_read_warc import read_all

ARTICLE = "".join(
    f"<p>Paragraph {i} of a saved article about river gardens and the plants that grow along their "
    f"banks, long enough to be the main content of the page.</p>" for i in range(6)
)


def page(title: str, body: str, charset: str = "utf-8") -> str:
    return (f'<!DOCTYPE html><html lang="de"><head><meta charset="{charset}"><title>{title}</title></head>'
            f'<body><nav><a href="/">Home</a> | <a href="/a">About</a></nav><article>{body}</article>'
            f'<footer>Impressum · Datenschutz</footer></body></html>')


def test_a_saved_page_reads_as_the_same_page_in_a_warc(tmp_path, corpora):
    """The html reader is the WARC reader's HTML path without the HTTP layer: the real pages
    give the same text and page info either way (a WARC response with no charset in its
    Content-Type, as a saved file has none)."""
    pages = sorted((corpora / "web" / "dclm_html_pages").glob("*.html.gz"))
    assert pages
    bodies = [gzip.decompress(p.read_bytes()) for p in pages]
    write_warc(str(tmp_path / "p.warc.gz"), [(f"https://x.example/{i}", b, "text/html", 200) for i, b in enumerate(bodies)])
    warc = read_all(tmp_path / "p.warc.gz")["docs"].to_pylist()
    for p, w in zip(pages, warc):
        assert detect_format(str(p), "web") == "html"
        got = read_all(p, "html")
        assert got["quarantine"].num_rows == 0
        (doc,) = got["docs"].to_pylist()
        assert doc["text"] == w["text"] and doc["url"] is None
        drop = ("warc_record_id", "warc_date", "http_status", "content_type")
        assert json.loads(doc["meta"]) == {k: v for k, v in json.loads(w["meta"]).items() if k not in drop}


def test_a_folder_of_pages_through_the_cli(tmp_path, capsys):
    """`curate run --input pages/ --domain web`: the format comes from the names (or, for a
    file without one, from its first bytes); <meta charset> decodes a Latin-1 page; an
    oversized page is quarantined with the limit's name."""
    d = tmp_path / "pages"
    d.mkdir()
    (d / "a.html").write_text(page("Gärten", ARTICLE.replace("river", "Flussufer")), encoding="utf-8")
    (d / "b.htm").write_bytes(page("Grüße", ARTICLE.replace("river", "Straße"), "iso-8859-1").encode("latin-1"))
    (d / "c.html.gz").write_bytes(gzip.compress(page("Zipped", ARTICLE).encode(), mtime=0))
    (d / "d").write_bytes(b"\xef\xbb\xbf" + page("No name", ARTICLE).encode())  # BOM, no extension: sniffed
    (d / "e.html").write_text(page("Huge", ARTICLE * 40), encoding="utf-8")
    # the README's "also sniffed": an XHTML page opening <?xml, a page a browser saved with its comment first
    (d / "f").write_text('<?xml version="1.0" encoding="utf-8"?>\n' + page("XHTML", ARTICLE), encoding="utf-8")
    (d / "g").write_text("<!-- saved from url=(0025)https://x.example/page -->\n" + page("Saved", ARTICLE), encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[limits]\nmax_html_bytes = 20000\n")
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--input", str(d), "--domain", "web", "--stages", "ingest",
                     "--output", str(out), "--progress", "off"]) == 0, capsys.readouterr().err
    docs = {r["path"]: r for r in pq.read_table(out / "text").to_pylist()}
    assert sorted(docs) == ["a.html", "b.htm", "c.html.gz", "d", "f", "g"]
    assert "Flussufer" in docs["a.html"]["text"] and "Straße" in docs["b.htm"]["text"]
    assert json.loads(docs["b.htm"]["meta"])["title"] == "Grüße"
    assert all("Paragraph 5 of a saved article" in r["text"] and "Impressum" not in r["text"] for r in docs.values())
    assert [r["text"].count("\n") >= 5 for r in docs.values()] == [True] * 6  # one paragraph a line
    (q,) = pq.read_table(out / "quarantine").to_pylist()
    assert (q["path"], q["reason"]) == ("e.html", "html_too_large") and "max_html_bytes" in q["detail"]
    assert json.loads((out / "manifest.json").read_text())["counts"]["ingest"]["docs_in"] == 7
    (tmp_path / "feed").write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel></channel></rss>')
    assert detect_format(str(tmp_path / "feed"), "web") is None  # XML that is not a page: not taken for one


def test_a_tag_that_starts_with_html_is_no_page(tmp_path, capsys):
    """`<?xml ...?><htmlfeed>` was sniffed as a page: the check took `<html` with anything after
    it. A tag name ends at a blank, `>` or `/`; `curate run` now says it cannot tell the format."""
    for head, fmt in [("<?xml version='1.0'?>\n<htmlfeed><item/></htmlfeed>", None), ("<htmlx>", None),
                      ("<!DOCTYPE htmlish>", None), ("<HTML>", "html"), ("<html\n  lang='en'>", "html"),
                      ("<html/>", "html"), ("<!doctype html>", "html"), ("<!DOCTYPE\thtml PUBLIC '-//W3C//DTD'>", "html")]:
        (tmp_path / "f").write_text(head + "<body>text</body>")
        assert detect_format(str(tmp_path / "f"), "web") == fmt, head
    (tmp_path / "feed").write_text("<?xml version='1.0'?>\n<htmlfeed><item>news</item></htmlfeed>\n")
    assert cli.main(["run", "--input", str(tmp_path / "feed"), "--domain", "web", "--stages", "ingest",
                     "--output", str(tmp_path / "o"), "--progress", "off"]) == 2
    assert f"cannot tell the format of {str(tmp_path / 'feed')!r} from its name or content" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
