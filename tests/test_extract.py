"""Main-content extraction (issue 17): curate's block extractor against Resiliparse on the
trafilatura evaluation gold, through `curate run --stages ingest`, and ingest.extractor."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import config
from curate.cli import main
from curate.readers import extract

REPO = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_extract", REPO / "bench" / "bench_extract.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_ingest(warc: Path, out: Path, extractor: str | None) -> list[dict]:
    cfg = out.parent / f"{out.name}.toml"
    cfg.write_text(f'[ingest]\nextractor = "{extractor}"\n' if extractor else "", encoding="utf-8")
    rc = main(["run", str(cfg), "--input", str(warc), "--domain", "web", "--output", str(out), "--stages", "ingest"])
    assert rc in (0, None)
    return [r for f in sorted((out / "text").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.mark.corpora
def test_block_extractor_beats_resiliparse_on_both_halves(corpora, tmp_path):
    """Acceptance 1 (as far as it holds): through the CLI, the default extractor's F1 on the
    trafilatura gold is >= 0.93 on the tuning half (0.922 before issue 17's second round) and
    >= 0.91 on the held-out half (0.905 before; the issue asks 0.93 there too, not reached),
    beats Resiliparse's by more than 0.05 on both, with precision and recall both >= 0.9
    (Resiliparse: P 0.76 / R 0.96)."""
    b = load_bench()
    pages = b.gold_pages(corpora, b.TRAF)
    warc = tmp_path / "gold.warc.gz"
    b.write_gold_warc(warc, pages)
    halves = [b.tuning_half(p["url"]) for p in pages]
    scores = {}
    for ex in (None, "resiliparse"):  # None: the default, as a user gets it
        docs = run_ingest(warc, tmp_path / f"out-{ex}", ex)
        assert {json.loads(d["meta"])["extractor"] for d in docs} == {ex or extract.DEFAULT}
        texts, _ = b.texts_by_page(docs, pages)
        counts = [b.snippet_counts(t, p["gold"]) for t, p in zip(texts, pages)]
        scores[ex] = {h: b.prf([c for c, x in zip(counts, halves) if x == h]) for h in (True, False)}
    for half, least in ((True, 0.93), (False, 0.91)):
        ours, theirs = scores[None][half], scores["resiliparse"][half]
        assert ours["f1"] >= least and ours["f1"] > theirs["f1"] + 0.05, (half, ours, theirs)
        assert ours["precision"] >= 0.9 and ours["recall"] >= 0.9, (half, ours)
    assert 0.74 <= scores["resiliparse"][True]["precision"] <= 0.78  # the baseline, reproduced


@pytest.mark.corpora
def test_block_extractor_article_benchmark_not_below_resiliparse(corpora, tmp_path):
    """Acceptance 2: the article-extraction-benchmark F1 (its shingle metric) is not below Resiliparse's."""
    b = load_bench()
    pages = b.gold_pages(corpora, b.AEB)
    warc = tmp_path / "aeb.warc.gz"
    b.write_gold_warc(warc, pages)
    golds = [p["gold"].get("articleBody", "") for p in pages]
    f1 = {}
    for ex in ("blocks", "resiliparse"):
        docs = b.read_warc_docs(warc, ex)[0]
        f1[ex] = b.shingle_scores(b.texts_by_page(docs, pages)[0], golds)["f1"]
    assert f1["blocks"] >= f1["resiliparse"], f1


def test_shingle_metric_matches_hand_counts():
    b = load_bench()
    # gold "a b c d e" -> shingles abcd, bcde; prediction "a b c d x" -> abcd, bcdx: tp 1, fp 1, fn 1
    m = b.shingle_scores(["a b c d x"], ["a b c d e"])
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert b.shingle_scores(["same words in here"], ["same words in here"])["f1"] == 1.0


def test_snippet_scoring_normalises_whitespace():
    b = load_bench()
    gold = {"with": ["kept  text", "missing"], "without": ["menu"]}
    assert b.snippet_counts("some kept\ntext here, Menu", gold) == (1, 1, 0, 1)  # case matters, as upstream
    assert b.snippet_counts("kept text menu", gold) == (1, 1, 1, 0)


def page(body: str, head: str = "<title> A  page </title>", lang: str = "de") -> bytes:
    return f'<!doctype html><html lang="{lang}"><head>{head}</head><body>{body}</body></html>'.encode()


ARTICLE = "".join(f"<p>Sentence number {i} of the article says something long enough to be content, truly.</p>" for i in range(8))
NAV = '<ul class="menu">' + "".join(f'<li><a href="/{i}">Section {i}</a></li>' for i in range(12)) + "</ul>"


def test_blocks_keep_article_drop_navigation_and_comments(tmp_path):
    from curate.readers.html import html_to_text

    html = page(
        NAV + "<div><h1>The headline</h1>" + ARTICLE + "</div>"
        '<h3>Comments</h3><p>First! This is a comment that is long enough to look like a paragraph of text.</p>'
        '<p>Share on Facebook</p>'
    )
    text, info = html_to_text(html)
    lines = text.split("\n")
    assert lines[0] == "The headline" and lines[1].startswith("Sentence number 0")  # one block per line
    assert "Sentence number 7" in text
    assert "Section 3" not in text and "First!" not in text and "Facebook" not in text
    assert info == {"charset": "utf-8", "title": "A page", "html_lang": "de"}
    rtext, _ = html_to_text(html, extractor="resiliparse")
    assert "Sentence number 7" in rtext


def test_blocks_keep_prose_with_inline_links():
    """Encyclopedia prose links many words; link density alone would call it navigation."""
    from curate.readers.html import html_to_text

    para = "<p>" + " ".join(f'<a href="/w/{i}">Linked{i}</a> word' for i in range(20)) + " end.</p>"
    text, _ = html_to_text(page("<div>" + para * 3 + "</div>"))
    assert text.count("Linked19 word end.") == 3


def test_content_language_hint():
    from curate.readers.html import html_to_text

    _, info = html_to_text(page(ARTICLE, head='<meta http-equiv="Content-Language" content="fr-CA">', lang=""))
    assert info["content_language"] == "fr-CA" and "html_lang" not in info and "title" not in info


def test_config_ingest_extractor(tmp_path):
    cfg = config.load(None, {"inputs": [{"glob": "x", "domain": "web"}]})
    assert cfg.stages["ingest"]["extractor"] == "blocks"
    cfg = config.load(None, {"ingest": {"extractor": "resiliparse"}})
    assert cfg.stages["ingest"]["extractor"] == "resiliparse"
    with pytest.raises(config.ConfigError, match="ingest: extractor: 'readability' is not one of blocks"):
        config.load(None, {"ingest": {"extractor": "readability"}})
    with pytest.raises(config.ConfigError, match="ingest.nope"):
        config.load(None, {"ingest": {"nope": 1}})
    assert '[ingest]\nextractor = "blocks"' in config.defaults_toml()  # `curate config` lists it


def test_cli_extractor_choice_reaches_the_reader(tmp_path):
    from curate.readers.warc_writer import write_warc

    warc = tmp_path / "p.warc.gz"
    write_warc(str(warc), [("https://example.test/a", page(NAV + ARTICLE), "text/html", 200)])
    for ex in ("resiliparse", "blocks"):
        (doc,) = run_ingest(warc, tmp_path / ex, ex)
        meta = json.loads(doc["meta"])
        assert meta["extractor"] == ex and meta["title"] == "A page" and meta["html_lang"] == "de"
        assert "Sentence number 7" in doc["text"]


def test_blocks_keep_the_articles_own_containers():
    """CMSs write tags, flags and widget names into the article's own class attributes
    ("tag-newsletter", "node-promoted", "article-header", "teaser-text"): those containers
    are not skipped as boilerplate; a teaser that links elsewhere and a site header are."""
    from curate.readers.html import html_to_text

    html = page(
        '<header class="site-header"><p>Site slogan of the publisher, shown above every single page.</p></header>'
        '<div class="article-header"><h1>The headline</h1><p>The lede of this article, in a header.</p></div>'
        '<div class="teaser-text"><p>A teaser without links is the lede of the page itself, kept.</p></div>'
        '<div class="post tag-newsletter"><p>The first paragraph, in a container a tag named, is long enough.</p></div>'
        "<div>" + ARTICLE + "</div>"
        '<div class="teaser"><p><a href="/other">Another story on this site</a> with its own teaser text, long enough.</p></div>'
    )
    text, _ = html_to_text(html)
    for kept in ("The lede of this article", "A teaser without links", "The first paragraph", "Sentence number 7"):
        assert kept in text
    assert "Another story" not in text and "Site slogan" not in text


def test_blocks_text_without_soft_hyphens_and_nfc():
    """Soft hyphens and zero-width spaces are invisible layout hints, not text; decomposed
    accents are composed (NFC), as in the gold and most text."""
    from curate.readers.html import html_to_text

    para = "<p>Die Ver&shy;ant\u00adwor\u00adtung liegt beim Caf\u0065\u0301 am Markt\u200b, sagte sie am Montag in der Stadt.</p>"
    text, _ = html_to_text(page("<div>" + para + ARTICLE + "</div>"))
    assert "Die Verantwortung liegt beim Caf\u00e9 am Markt, sagte" in text


def test_blocks_region_grows_over_a_short_gap_and_stops_at_latest_news():
    """A closing paragraph after an image link still belongs to the article (a line under a tenth
    of the article there is an appendix: test_blocks_region_ends_at_a_link_list_followed_by_little);
    a section of other stories after it ("Latest news", less than a quarter of the article) does not."""
    from curate.readers.html import html_to_text

    html = page(
        "<div>" + ARTICLE + '<p><a href="/img.jpg">Bild</a></p>'
        "<p>The closing paragraph of the article itself, which sums up what the report found and why.</p>"
        "<h2>Latest news</h2><p>Another story that is long enough to count as a paragraph of text.</p></div>"
    )
    text, _ = html_to_text(html)
    assert "The closing paragraph" in text
    assert "Latest news" not in text and "Another story" not in text


def test_blocks_region_ends_at_a_link_list_followed_by_little():
    """After a line of links, what is small beside the article (an author box, a newsletter
    pitch) is not the article; what outweighs a tenth of it is, and stays (the article goes on
    past an inline link list)."""
    from curate.readers.html import html_to_text

    long_article = "".join(
        f"<p>Paragraph {i} of a long report tells the story at length, with enough words to be content.</p>" for i in range(20)
    )
    links = '<p><a href="/pay">Pay once</a> <a href="/subscribe-now">Subscribe</a></p>'
    bio = "<p>Has written for this paper since 2008 and asks whether capitalism can be green; studied engineering.</p>"
    text, _ = html_to_text(page("<div>" + long_article + links + bio + "</div>"))
    assert "Paragraph 19 of a long report" in text and "Has written for this paper" not in text
    rest = "".join(f"<p>The report continues in part {i} after the links, with as many words as before.</p>" for i in range(4))
    text, _ = html_to_text(page("<div>" + long_article + links + rest + bio + "</div>"))
    assert "continues in part 3" in text and "Has written for this paper" in text


def load_train_blocks():
    spec = importlib.util.spec_from_file_location("train_blocks", REPO / "bench" / "train_blocks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_train_blocks_features_labels_and_fit():
    """bench/train_blocks.py (the learned block decision, not adopted): a block's context columns
    are its neighbours' own; labels come from the gold snippets; the fit is deterministic and
    learns a separable rule."""
    import numpy as np

    t = load_train_blocks()
    bl = extract.blocks(
        "<h1>The headline of it</h1>\n<p>A first paragraph of the article, long enough to count.</p>\n"
        '<ul><li><a href="/x">Menu entry</a></li>\n<p>Share this on Facebook</p>'
    )
    X = t.features(bl, "The headline of it", {"article": "A first paragraph of the article", "main": "", "aside": ""})
    assert X.shape == (4, len(t.COLUMNS))
    col = t.COLUMNS.index
    assert (X[1:, col("log_chars@-1")] == X[:-1, col("log_chars")]).all()
    assert X[:2, col("exists@-2")].tolist() == [0, 0] and X[2:, col("exists@-2")].tolist() == [1, 1]
    assert X[:, col("in_title")].tolist() == [1, 0, 0, 0] and X[:, col("link_share")].tolist() == [0, 0, 1, 0]
    gold = {"with": ["first  paragraph of"], "without": ["Share this on Facebook and more"]}
    assert t.labels(bl, gold, lambda s: " ".join(s.split())) == [-1, 1, -1, 0]

    rng = np.random.default_rng(0)
    pages = [{"X": rng.normal(size=(50, len(t.COLUMNS))), "y": None} for _ in range(4)]
    for p in pages:
        p["y"] = (p["X"][:, 1] - p["X"][:, 2] > 0).astype(int)
    a, b = t.fit(pages, 1.0), t.fit(pages, 1.0)
    assert a == b
    assert all((k == (p["y"] == 1)).mean() > 0.95 for k, p in zip(t.keeps(a, pages, 0.5), pages))
