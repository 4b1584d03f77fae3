"""The audit's statistics per input source (summary.json ``sources``, the report's Sources card):
documents in, kept, removed by which rules, quarantined, tokens in the mix. Ground truth: the
output's text, ledger, quarantine and token shards grouped by polars directly."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.test_audit_verify import curate

PROSE = ("The old mill stood by the river for a hundred years, and the people of the village brought their grain "
         "to it every autumn. The miller kept a careful record of every sack and every payment in a large book. ")

# the dump's records (and a broken line): their text, as written, is the ground truth of what was lost
DUMP = [{"id": f"d{i}", "text": PROSE * (3 + i) + f" Entry {i}."} for i in range(6)] + [
    {"id": "empty", "text": " "}, {"id": "tiny", "text": "Too short."}, {"id": "list", "text": "- a\n- b\n- c\n" * 30}]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("sources")
    (base / "dump").mkdir()
    (base / "books").mkdir()
    lines = [json.dumps(r) for r in DUMP] + ['{"id": "cut", "text": "no end']
    (base / "dump" / "part.jsonl").write_text("\n".join(lines) + "\n")
    for i in range(2):
        (base / "books" / f"book{i}.txt").write_text((PROSE * 40 + f"Chapter {i}.\n\n") * 3)
    r = curate("run", "--input", base / "dump", "--domain", "web", "--source", "mydump", "--input", base / "books", "--domain", "books",
               "--stages", "ingest,filter,tokenize", "--output", base / "out", "--progress", "off")
    assert r.returncode == 0, r.stderr
    assert curate("audit", base / "out").returncode == 0
    return base / "out"


def test_sources_match_the_output_files(out):
    got = json.loads((out / "stats" / "summary.json").read_text())["sources"]
    key = pl.col("domain") + "/" + pl.col("source")
    text = pl.read_parquet(out / "text" / "*.parquet").with_columns(k=key)
    led = pl.read_parquet(out / "ledger" / "*.parquet").with_columns(k=key, r=pl.col("stage") + "/" + pl.col("rule"))
    quar = pl.read_parquet(out / "quarantine" / "*.parquet").with_columns(k=key)
    toks = pl.read_parquet(out / "tokens" / "*.parquet").join(text.select("id", "k"), on="id")
    kept = dict(text.group_by("k").len().iter_rows())
    removed = dict(led.group_by("k").len().iter_rows())
    q = dict(quar.group_by("k").len().iter_rows())
    tokens = dict(toks.group_by("k").agg(pl.col("num_tokens").sum()).iter_rows())
    keys = set(kept) | set(removed) | set(q)
    assert keys == {"web/mydump", "books/books"} and set(got) == keys
    assert removed.get("web/mydump", 0) >= 2 and q.get("web/mydump") == 1  # the empty and tiny records; the cut line
    for k in keys:
        e = got[k]
        n = kept.get(k, 0) + removed.get(k, 0) + q.get(k, 0)
        assert (e["docs_in"], e["kept"], e["removed"], e["quarantined"]) == (n, kept.get(k, 0), removed.get(k, 0), q.get(k, 0)), k
        assert e["keep_rate"] == pytest.approx(kept.get(k, 0) / n)
        assert e["tokens_in_mix"] == tokens.get(k, 0)
        want = led.filter(pl.col("k") == k).group_by("r").len().sort(["len", "r"], descending=[True, False]).rows()
        assert [tuple(x) for x in e["removed_by"]] == want
    page = (out / "report.html").read_text()
    assert "<h2>Sources</h2>" in page and "<td>web/mydump</td>" in page


def test_sources_of_any_corpus(corpora, tmp_path):
    """--corpus on a Dolma file: its own ``source`` field names the sources."""
    dolma = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    r = curate("audit", "--corpus", dolma, "--output", tmp_path / "a")
    assert r.returncode == 0, r.stderr
    got = json.loads((tmp_path / "a" / "stats" / "summary.json").read_text())["sources"]
    want = dict(pl.read_ndjson(dolma).group_by("source").len().iter_rows())
    assert {k: e["kept"] for k, e in got.items()} == {f"corpus/{s}": n for s, n in want.items()}


def test_characters_each_source_lost(out):
    """"Which source lost the most text?": sources gave removed documents, not their size, and the
    ledger kept 200 characters of each, so a source losing a few long documents looked better
    than one losing many short ones. Ground truth: the removed records' text as the test wrote it."""
    got = json.loads((out / "stats" / "summary.json").read_text())["sources"]
    gone = set(pl.read_parquet(out / "ledger" / "*.parquet")["source_id"].to_list())
    assert {"empty", "tiny", "list", "d5"} <= gone  # d0..d5 repeat PROSE: the repetition filter removes them
    assert got["web/mydump"]["characters_removed"] == sum(len(r["text"]) for r in DUMP if r["id"] in gone)
    assert got["books/books"]["characters_removed"] == 0
    page = (out / "report.html").read_text()
    assert "<th>characters removed</th>" in page


def test_a_ledger_written_before_chars_is_audited_without_them(out, tmp_path):
    """An output of an older curate, whose ledger has no chars: its removed characters are not
    known (null, no column in the report), not said to be 0."""
    import hashlib
    import shutil

    import pyarrow.parquet as pq

    old = tmp_path / "old"
    shutil.copytree(out, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for f in sorted((old / "ledger").glob("*.parquet")):
        pq.write_table(pq.read_table(f).drop(["chars"]), f)
        rel, data = f.relative_to(old).as_posix(), f.read_bytes()
        for e in manifest["outputs"]["ledger"] + manifest["files"]:
            if e["file"] == rel:
                e.update(bytes=len(data), **({"sha256": hashlib.sha256(data).hexdigest()} if "sha256" in e else {}))
    (old / "manifest.json").write_text(json.dumps(manifest))
    r = curate("audit", old)
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads((old / "stats" / "summary.json").read_text())["sources"]
    assert got["web/mydump"]["characters_removed"] is None and got["web/mydump"]["removed"] >= 3
    assert "characters removed" not in (old / "report.html").read_text()


def test_a_source_trees_skipped_files_count_their_length_or_say_a_lower_bound(tmp_path):
    """A source tree's skipped files kept a 1,000-character snippet in the ledger, and
    ``characters_removed`` summed the snippets: a 60,000-character minified bundle counted as
    1,000, with nothing saying so. A file the reader read whole (minified, in no known language)
    now has its length in the ledger's ``chars``; one it reads no further than the snippet
    (vendored, lock, oversized) keeps the snippet's, and its source says how many files it counted
    so (``skipped_files_counted_by_snippet``), the report's characters removed a lower bound ("≥")."""
    tree = tmp_path / "tree"
    (tree / "node_modules" / "lib").mkdir(parents=True)
    (tree / "src").mkdir()
    bundle = "".join(f"var v{i}=require('lib{i}');" for i in range(2500)) + "\n"  # one line of ~65k characters
    (tree / "node_modules" / "lib" / "index.js").write_text(bundle)  # vendored: read no further than its start
    mapping = "é" * 3000 + "\n"  # 6,001 bytes
    (tree / "src" / "app.min.js.map").write_text(mapping)  # no known language: read whole
    (tree / "src" / "bundle.js").write_text(bundle)  # minified: read whole
    (tree / "src" / "main.py").write_text("def main():\n    return 1\n")
    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": "p", "text": "Too short."}) + "\n")
    r = curate("run", "--input", tree, "--domain", "code", "--format", "source", "--source", "tree",
               "--input", tmp_path / "pages.jsonl", "--domain", "web", "--source", "pages",
               "--stages", "ingest,filter", "--output", tmp_path / "out", "--progress", "off")
    assert r.returncode == 0, r.stderr
    led = pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet").filter(pl.col("source") == "tree")
    assert sorted(led.select("path", "rule", "chars").rows()) == [
        ("node_modules/lib/index.js", "vendored", 1000),  # the snippet
        ("src/app.min.js.map", "unknown_language", len(mapping)), ("src/bundle.js", "minified", len(bundle))]
    assert curate("audit", tmp_path / "out").returncode == 0
    got = json.loads((tmp_path / "out" / "stats" / "summary.json").read_text())["sources"]
    tree_src, pages = got["code/tree"], got["web/pages"]
    assert tree_src["characters_removed"] == 1000 + len(mapping) + len(bundle) and tree_src["skipped_files_counted_by_snippet"] == 1
    assert pages["characters_removed"] == len("Too short.") and pages["skipped_files_counted_by_snippet"] == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert f"<td>≥ {tree_src['characters_removed'] / 1e3:,.1f}k</td>" in page and "<td>≥ 10</td>" not in page


def test_a_warc_record_removed_unread_makes_its_sources_characters_removed_a_lower_bound(tmp_path):
    """A WARC response ingest skips without reading its body (a 404 page: `http_status`; an image:
    `non_html_content`) has ledger ``chars`` 0: its text is unknown, not empty. The audit said the
    source's characters removed as exact, under-counting it; it is a lower bound now ("≥"), its
    source saying how many such records it holds (``skipped_records_not_read``). Its body's
    Content-Length is not a count of characters (an image's bytes; a page's markup, ~10x its
    text), so it is not added."""
    from curate.audit.report import compact
    from curate.readers.warc_writer import write_warc

    (tmp_path / "crawl").mkdir()
    page = "<html><body><article><p>" + PROSE * 3 + "</p></article></body></html>"
    write_warc(str(tmp_path / "crawl" / "c.warc.gz"), [
        ("https://a.example/page", page.encode(), "text/html; charset=utf-8", 200),
        ("https://a.example/short", b"<html><body><p>Too short.</p></body></html>", "text/html", 200),
        ("https://a.example/gone", b"<html><body><p>" + PROSE.encode() + b"</p></body></html>", "text/html", 404),
        ("https://a.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png", 200)])
    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": "p", "text": "Too short."}) + "\n")
    r = curate("run", "--input", tmp_path / "crawl", "--domain", "web", "--source", "crawl",
               "--input", tmp_path / "pages.jsonl", "--domain", "web", "--source", "pages",
               "--stages", "ingest,filter", "--output", tmp_path / "out", "--progress", "off")
    assert r.returncode == 0, r.stderr
    led = pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet").filter(pl.col("source") == "crawl")
    unread = led.filter(pl.col("rule").is_in(["http_status", "non_html_content"]))
    assert sorted(unread.select("rule", "chars").rows()) == [("http_status", 0), ("non_html_content", 0)]
    assert curate("audit", tmp_path / "out").returncode == 0
    got = json.loads((tmp_path / "out" / "stats" / "summary.json").read_text())["sources"]
    crawl, pages = got["web/crawl"], got["web/pages"]
    assert crawl["characters_removed"] == led["chars"].sum() > 0 and crawl["skipped_records_not_read"] == 2
    assert pages["skipped_records_not_read"] == 0 and crawl["skipped_files_counted_by_snippet"] == 0
    html = (tmp_path / "out" / "report.html").read_text()
    assert f"<td>≥ {compact(crawl['characters_removed'])}</td>" in html and f"<td>≥ {compact(pages['characters_removed'])}</td>" not in html


def test_an_older_outputs_minified_files_counted_by_their_snippet_are_a_lower_bound():
    """A minified or unknown-language file's ledger ``chars`` is its length since 2026-12-05;
    an output written before holds its 1,000-character snippet's there, and the audit, taking
    those rows for exact, showed the source's characters removed without the "≥" (a 65k bundle
    counted 1,000, said as exact). A row of those rules holding exactly the snippet's length is
    counted as a snippet (a file of exactly 1,000 characters too: "≥ 1,000" still holds); one
    longer (a new output's length) or shorter (a file shorter than the snippet) is exact."""
    from curate.audit.stats import Partial
    from curate.readers.code import SKIPPED_TEXT_CHARS

    rows = [("minified", SKIPPED_TEXT_CHARS), ("unknown_language", SKIPPED_TEXT_CHARS),  # an older output's snippets
            ("minified", 65_001), ("unknown_language", 12), ("vendored", SKIPPED_TEXT_CHARS)]
    led = pl.DataFrame({"id": [str(i) for i in range(len(rows))], "stage": "ingest", "rule": [r for r, _ in rows],
                        "value": None, "threshold": None, "domain": "code", "source": "tree", "language": "javascript",
                        "snippet": "x", "chars": [c for _, c in rows], "row": list(range(len(rows)))})
    src = Partial().add_ledger(led, "ledger/part-0.parquet").summary()["sources"]["code/tree"]
    assert src["characters_removed"] == 3 * SKIPPED_TEXT_CHARS + 65_001 + 12
    assert src["skipped_files_counted_by_snippet"] == 3
