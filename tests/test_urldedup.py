"""URL dedup: normalisation, and the `urldedup` stage through the CLI on real URL variants.

The Dolma documents carry each page's URL twice: ``metadata.warc_url`` as crawled
(``http://``, ``&amp;`` separators, empty parameters, another parameter order, ``%20``) and
``metadata.url`` as Dolma rewrote it. Both name the same page, so they are real variants.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import polars as pl
import pytest

from curate import cli
from curate.stages.urldedup import normalize_url


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://example.com/a/b", "https://example.com/a/b"),
        ("https://WWW.Example.COM/a", "https://example.com/a"),
        ("http://example.com:80/a", "https://example.com:443/a"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&id=3&fbclid=x", "https://example.com/a?id=3"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?a=1&amp;b=2", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?q=&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?t=x%20y", "https://example.com/a?t=x+y"),
        ("example.com/a", "http://example.com/a"),
        ("https://example.com/", "https://example.com"),
        # a page's path written with its characters (an IRI) or percent-encoded, in either case
        ("https://ja.wikipedia.org/wiki/日本", "https://ja.wikipedia.org/wiki/%E6%97%A5%E6%9C%AC"),
        ("https://ja.wikipedia.org/wiki/%e6%97%a5%e6%9c%ac", "https://ja.wikipedia.org/wiki/%E6%97%A5%E6%9C%AC"),
        ("https://example.com/~user/my page", "https://example.com/%7Euser/my%20page"),
        ("http://xn--o3cw4h.com/ข่าว", "http://ไทย.com/%E0%B8%82%E0%B9%88%E0%B8%B2%E0%B8%A7"),  # punycode host
    ],
)
def test_same_page(a, b):
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("https://example.com/A", "https://example.com/a"),  # paths are case-sensitive
        ("https://example.com:8080/a", "https://example.com/a"),
        ("https://example.com/a?id=3", "https://example.com/a?id=4"),
        ("https://example.com/a?article154", "https://example.com/a"),  # a bare key can name the page
        ("https://blog.example.com/a", "https://example.com/a"),
        ("https://example.com/a%2Fb", "https://example.com/a/b"),  # an escaped slash is no separator
        ("https://example.com/%FF", "https://example.com/%C3%BF"),  # a byte that is not UTF-8 is no character
    ],
)
def test_different_pages(a, b):
    assert normalize_url(a) != normalize_url(b)


def legacy(word: str, codec: str) -> str:
    """A search URL as a GBK, Shift_JIS or Latin-1 site writes it (the word's bytes in that
    encoding, percent-encoded by urllib: not curate's code)."""
    return "http://example.com/s?wd=" + quote(word.encode(codec))


@pytest.mark.parametrize(
    "a, b",
    [
        # queries in a legacy encoding (not UTF-8): each byte was one U+FFFD, so two searches met
        (legacy("你好", "gbk"), legacy("世界", "gbk")),
        (legacy("日本", "shift_jis"), legacy("中国", "shift_jis")),
        (legacy("café", "latin-1"), legacy("cafè", "latin-1")),
        ("http://example.com/s?q=%E6%97", "http://example.com/s?q=%E6%96"),  # a cut UTF-8 character
        ("http://example.com/s?%FF=1", "http://example.com/s?%FE=1"),
        # a label with xn-- that is no punycode of a non-ASCII name is another host (DNS: its own name)
        ("http://xn--abc-.com/a", "http://abc.com/a"),
    ],
)
def test_different_pages_with_bytes_that_are_not_utf8(a, b):
    assert normalize_url(a) != normalize_url(b)
    assert normalize_url(a) == normalize_url(a.replace("example.com", "EXAMPLE.com") + "#x")  # and still one key a page


def test_a_query_in_a_legacy_encoding_keeps_its_bytes():
    # each escape of a byte that is not UTF-8 stays that byte; UTF-8 and IRI forms still meet
    assert normalize_url(legacy("你好", "gbk")) == "example.com/s?wd=%C4%E3%BA%C3"
    assert normalize_url("http://example.com/s?wd=%c4%e3+x") == normalize_url("http://example.com/s?wd=%C4%E3%20x")
    assert normalize_url("http://example.com/s?wd=日本&a=1") == normalize_url("http://example.com/s?a=1&wd=%E6%97%A5%E6%9C%AC")


def test_a_lone_surrogate_in_a_query_is_a_key_not_an_error():
    # JSON may carry one ("\\udcff"); it raised UnicodeEncodeError, which stopped the run
    assert normalize_url("http://example.com/a?b=\udcff") == "example.com/a?b=%ED%B3%BF"
    assert normalize_url("http://example.com/a?\udcff=1") == "example.com/a?%ED%B3%BF=1"


def test_a_lone_surrogate_in_a_path_is_kept_as_it_is():
    # JSON may carry one ("\\udcff"): the key of a URL, not an error
    assert normalize_url("http://example.com/a\udcff") == "example.com/a%ED%B3%BF"
    assert normalize_url("http://example.com/%FF") == "example.com/%FF"  # an escaped non-UTF-8 byte stays one


def test_no_host_is_never_a_duplicate():
    assert normalize_url(None) is None and normalize_url("") is None and normalize_url("file:///x.png") is None


def dolma(corpora: Path) -> list[dict]:
    with gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def lossy(crawled: str) -> bool:
    """Independent of normalize_url: Dolma's rewrite drops a bare query key (``?article154``)
    and a trailing ``;`` of the path, both of which can name a different page."""
    u = urlsplit(crawled)
    return u.path.endswith(";") or any(p and "=" not in p for p in u.query.replace("&amp;", "&").split("&"))


@pytest.mark.corpora
def test_dolma_url_pairs(corpora):
    docs = dolma(corpora)
    same = [normalize_url(d["metadata"]["url"]) == normalize_url(d["metadata"]["warc_url"]) for d in docs]
    assert [not s for s in same] == [lossy(d["metadata"]["warc_url"]) for d in docs]
    assert sum(same) == len(docs) - 3
    # and no two different pages meet: 526 crawled URLs, 526 keys
    assert len({normalize_url(d["metadata"]["warc_url"]) for d in docs}) == len(docs)


@pytest.mark.corpora
def test_urldedup_stage_keeps_one_copy_per_page(corpora, tmp_path):
    docs = [d for d in dolma(corpora) if len(d["text"].strip()) > 1]  # ingest drops empty pages
    rows = []
    for d in docs:
        m = d["metadata"]
        rows.append({"id": d["id"], "text": d["text"], "url": m["url"]})
        # the crawled URL of the same page, with a little more text: the copy dedup's priority keeps
        rows.append({"id": d["id"] + "-crawl", "text": d["text"] + "\nMore.", "url": m["warc_url"]})
        # and a third form: https, upper-case host, a fragment and a tracking parameter
        u = urlsplit(m["warc_url"])
        q = f"{u.query}&utm_source=twitter" if u.query else "utm_source=twitter"
        rows.append({"id": d["id"] + "-share", "text": d["text"][:-1], "url": f"https://{u.netloc.upper()}{u.path}?{q}#top"})
    rows.append({"id": "no-url-1", "text": "a page without a URL", "url": None})
    rows.append({"id": "no-url-2", "text": "a page without a URL", "url": None})
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(inp), "--domain", "web", "--source", "s", "--output", str(out),
                     "--stages", "ingest,urldedup", "--progress", "off"]) == 0
    text = pl.read_parquet(out / "text/*.parquet")
    ledger = pl.read_parquet(out / "ledger/*.parquet").filter(pl.col("stage") == "urldedup")
    assert text.height + ledger.height == len(rows)  # every input row is text or ledger
    kept_urls = set(text["url"].to_list())
    for d in docs:
        m = d["metadata"]
        crawl = m["warc_url"]
        assert crawl in kept_urls  # the longest copy of each page survives
        # Dolma's own form is removed too unless its rewrite dropped part of the URL
        assert (m["url"] in kept_urls) == lossy(crawl)
    assert text.height == len(docs) + 3 + 2
    assert ledger.height == 2 * len(docs) - 3
    assert set(ledger["rule"]) == {"url_duplicate"}
    url_of = dict(zip(text["id"].to_list(), text["url"].to_list()))
    for url, kept in zip(ledger["url"].to_list(), ledger["kept_id"].to_list()):
        assert normalize_url(url_of[kept]) == normalize_url(url)  # kept_id: the surviving copy of that page
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["urldedup"]["removed"] == {"url_duplicate": 2 * len(docs) - 3}


@pytest.mark.corpora
def test_urldedup_matches_a_url_written_with_its_characters(corpora, tmp_path):
    """Dolma's crawled URLs are percent-encoded (``ja.uncyclopedia.info/wiki/%E3%82%AB...``); a
    source that keeps IRIs writes the same page's path with its characters. Each page whose
    decoded path (``urllib.parse.unquote``, independent of curate) is not ASCII is planted again
    that way, with less text: that copy is the duplicate, and no other page is removed."""
    docs = [d for d in dolma(corpora) if len(d["text"].strip()) > 1]
    rows = [{"id": d["id"], "text": d["text"] + "\nMore.", "url": d["metadata"]["warc_url"]} for d in docs]
    planted = {}
    for d in docs:
        u = urlsplit(d["metadata"]["warc_url"])
        if not unquote(u.path).isascii():
            iri = u._replace(path=unquote(u.path)).geturl()
            rows.append({"id": d["id"] + "-iri", "text": d["text"], "url": iri})
            planted[d["id"] + "-iri"] = d["id"]
    assert len(planted) >= 5
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(inp), "--domain", "web", "--source", "s", "--output", str(out),
                     "--stages", "ingest,urldedup", "--progress", "off", "--id-field", "id"]) == 0
    ledger = pl.read_parquet(out / "ledger/*.parquet").filter(pl.col("stage") == "urldedup")
    text = pl.read_parquet(out / "text/*.parquet")
    assert text.height == len(docs)
    sid = dict(zip(text["id"].to_list(), text["source_id"].to_list()))
    assert sorted(zip(ledger["source_id"].to_list(), (sid[k] for k in ledger["kept_id"].to_list()))) == sorted(planted.items())
