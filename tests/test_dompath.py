"""bench/dompath.py (the #17 variant ex43, not adopted): the byte scanner's text runs and containers, the block features,
and its limits on hostile pages (deep nesting, many elements)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import dompath as D  # noqa: E402

PAGE = b"""<!doctype html><html><head><title>Title words</title>
<script>var s = "<div class='x'>Hidden script text</div>";</script><style>p{}</style></head>
<body><nav class="menu"><ul><li><a href=/>Home</a><li><a href=/about/>About</a></ul></nav>
<!-- <p>commented out</p> -->
<div class="content"><article><p>First paragraph of the article text.<p>Second paragraph with <a href="x">a link</a> inside.</article></div>
<aside><div class="teaser t-1"><a>Other story one</a></div><div class='teaser t-2'><a>Other story two</a></div></aside>
<footer><form><input name=q>Search</form>&copy; 2024</footer></body></html>"""


def _runs(page: bytes) -> dict:
    runs, _ = D.scan_html(page)
    return {page[s:e].decode(): (int(c), int(f)) for s, e, c, f in runs}


def test_runs_skip_scripts_styles_comments_and_titles():
    texts = set(_runs(PAGE))
    assert "Home" in texts and "First paragraph of the article text." in texts and "Search" in texts
    assert not any("Hidden" in t or "commented" in t or "Title" in t or "p{}" in t for t in texts)


def test_ancestor_flags_of_runs():
    runs = _runs(PAGE)
    assert runs["Home"][1] == D.A | D.LI | D.NAV  # "href=/>" is an attribute, not a self-closing <a>
    assert runs["About"][1] == D.A | D.LI | D.NAV  # the second <li> closed the first
    assert runs["a link"][1] == D.A | D.ARTICLE
    assert runs[" inside."][1] == D.ARTICLE  # </a> closed the link
    assert runs["Other story one"][1] == D.A | D.ASIDE
    assert runs["Search"][1] == D.FOOTER | D.FORM
    assert runs["&copy; 2024"][1] == D.FOOTER  # </form> closed the form


def test_containers_sum_text_and_links_over_their_subtree():
    runs, conts = D.scan_html(PAGE)
    body = int(np.flatnonzero(conts[:, 4] < 0)[0])
    solid = sum(len(PAGE[s:e].replace(b" ", b"")) for s, e, _, _ in runs)
    assert conts[body, 2] == solid  # every run counted once, in the body at the top
    links = sum(len(PAGE[s:e].replace(b" ", b"")) for s, e, _, f in runs if f & D.A)
    assert conts[body, 3] == links


def test_teasers_share_a_path_whatever_their_numbers_and_quotes():
    _, conts = D.scan_html(PAGE)
    repeat, _, _ = D.container_table(conts)
    runs = _runs(PAGE)
    one, two = runs["Other story one"][0], runs["Other story two"][0]
    assert one != two and conts[one, 0] == conts[two, 0] and repeat[one] == 2
    article = runs["First paragraph of the article text."][0]
    assert repeat[article] == 1 and conts[article, 0] != conts[one, 0]


def test_block_features_align_blocks_in_order():
    bl = [("li", "Home", 4), ("p", "First paragraph of the article text.", 0), ("", "Other story two", 15),
          ("", "Search", 0), ("p", "Hidden script text", 0), ("", "-", 0)]  # fmt: skip
    X = D.block_features(PAGE, bl)
    f = {name: X[:, i].tolist() for i, name in enumerate(D.FEATURES)}
    assert f["aligned"] == [1, 1, 1, 1, 0, 0]  # the script's text is not page text; "-" has no word to find
    assert f["under_main"] == [0, 1, 0, 0, 0, 0]  # the article's container holds the most text
    assert f["in_nav"][0] == f["in_a"][0] == f["in_li"][0] == 1 and f["in_article"][1] == 1
    assert f["path_repeat"][2] == np.log1p(1) and f["cont_link_share"][2] == 1.0 and f["in_form"][3] == 1


def test_deeply_nested_page_keeps_max_depth_levels():
    depth = 20 * D.MAX_DEPTH
    page = b"<body>" + b"<div>" * depth + b"deep text" + b"</div>" * depth + b"<p>after</p></body>"
    runs, conts = D.scan_html(page)
    texts = {page[s:e]: int(c) for s, e, c, _ in runs}
    assert len(conts) == D.MAX_DEPTH  # <body> and the divs up to the limit; deeper ones are not kept
    assert conts[texts[b"deep text"], 1] == D.MAX_DEPTH
    assert texts[b"after"] == 0  # the 20 x MAX_DEPTH end tags closed everything back to <body>
    assert conts[0, 2] == len(b"deeptext") + len(b"after")


def test_huge_page_of_unclosed_elements():
    page = b"<body>" + b"<p><b>word " * 400_000  # 4.8 MB, never closed: the stack fills to MAX_DEPTH, the rest is counted
    runs, conts = D.scan_html(page)
    assert len(runs) == 400_000 and len(conts) == 1 and conts[0, 2] == 4 * 400_000


def _train_blocks():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "train_blocks.py"
    spec = importlib.util.spec_from_file_location("train_blocks", path)
    t = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(t)
    return t


def test_train_blocks_untuned_and_dom_columns():
    """bench/train_blocks.py --untuned --dom: the rendering without the skip list, the DOM
    features appended to a block's row, and every TUNED name a real column (else --untuned
    would silently keep what was designed on the tuning half)."""
    from resiliparse.parse.html import HTMLTree

    from curate.readers import extract

    t = _train_blocks()
    assert set(t.TUNED) <= set(t.FEATURES)
    long = b"<p>" + b"A long paragraph of the article goes on. " * 20 + b"</p>"  # past extract.SHORT_CHARS
    page = PAGE.replace(b"<article>", b'<article><div class="disclaimer">Share this page</div>' + long)
    bl, X = t.page_blocks(page, True, True)
    assert "Share this page" in [b[1] for b in bl]  # no skip list: the disclaimer box is rendered
    assert "Share this page" not in [b[1] for b in extract.blocks(extract.render(HTMLTree.parse(page.decode())))]
    assert X.shape == (len(bl), len(t.COLUMNS) + len(D.FEATURES))
    assert (X[:, len(t.COLUMNS) :] == D.block_features(page, bl)).all()


def test_run_features_mark_a_list_after_a_heading_in_the_main_container():
    """bench/dompath.py --runs (ex45): an ingredient table after a heading inside the page's main
    container is one run of list blocks whatever cell each is in; a footer list is a list run
    outside it; a block not found in the page is a run of one."""
    page = (b"<body><div class=recipe><h2>Zutaten</h2><table><tr><td>Mehl</td><td>200 g</td></tr>"
            b"<tr><td>Butter 100 g</td></tr></table><p>" + b"Then bake the cake for twenty minutes. " * 5 +
            b"</p></div><footer><ul><li>Impressum</li><li>Kontakt</li></ul></footer></body>")  # fmt: skip
    bl = [("h2", "Zutaten", 0), ("", "Mehl 200 g", 0), ("", "Butter 100 g", 0), ("p", "Then bake the cake", 0),
          ("li", "Impressum", 0), ("li", "Kontakt", 0), ("", "-", 0)]  # fmt: skip
    X = D.run_features(page, bl)
    f = {name: X[:, i].tolist() for i, name in enumerate(D.RUN_FEATURES)}
    assert f["run_len"] == [0, np.log(2), np.log(2), 0, np.log(2), np.log(2), 0]
    assert f["list_run_heading"] == [0, 1, 1, 0, 0, 0, 0] and f["list_run_main"] == [0, 1, 1, 0, 0, 0, 0]
    assert f["list_run"] == [0, 1, 1, 0, 1, 1, 0] and f["run_after_heading"][1] == 1
    assert D.run_features(page, []).shape == (0, len(D.RUN_FEATURES))


def test_main_relation_counts_containers_up_to_the_main_one():
    """bench/dompath.py --relation (ex45): a bio beside the article in its wrapper meets the main
    container one level up; the navigation and the footer two (at <body>); text written directly
    in the wrapper is the main container's ancestor; the article itself is 0."""
    page = (b"<body><nav><ul><li>Homepage</li></ul></nav><div class=wrap>Wrapper words<div class=art><p>" +
            b"Article text goes here at length. " * 6 + b"</p></div><div class=bio><p>Author writes</p></div></div>"
            b"<footer><div><p>Copyright notice</p></div></footer></body>")  # fmt: skip
    bl = [("li", "Homepage", 0), ("", "Wrapper words", 0), ("p", "Article text goes here", 0),
          ("p", "Author writes", 0), ("p", "Copyright notice", 0), ("", "-", 0)]  # fmt: skip
    X = D.main_relation(page, bl)
    assert X[:, 1].tolist() == [np.log1p(2), np.log1p(1), 0, np.log1p(1), np.log1p(2), 0]
    assert X[:, 0].tolist() == [0, 1, 0, 0, 0, 0]


def test_train_blocks_block_containers_align_blocks_to_their_dom_container():
    """bench/train_blocks.py --propagate (ex45): a block's container is the scan's (here, where
    the scan kernel is already loaded); a block not found in the page has none."""
    t = _train_blocks()
    page = (b"<html><body><nav><ul><li>Homepage</li><li>Contact</li></ul></nav><div><p>First article sentence.</p>"
            b"<p>Second article sentence.</p></div></body></html>")  # fmt: skip
    bl = [("li", "Homepage", 1), ("li", "Contact", 1), ("p", "First article sentence.", 0),
          ("p", "Second article sentence.", 0), ("p", "-", 0)]  # fmt: skip
    c = t.block_containers(page, bl)
    assert c[0] == c[1] >= 0 and c[2] == c[3] >= 0 and c[0] != c[2] and c[4] == -1
