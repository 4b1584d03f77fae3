"""bench/train_blocks.py's additions for #17's ninth variant (ex44, not adopted): AEB pages as
training labels, weighted fits, the untuned rendering's fallback to the whole page. Small
hand-written pages only: nothing here reads either gold (tests/test_extract.py reads the
held-out half and is not to be run while designing)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "bench")]
import train_blocks as T  # noqa: E402

from curate.readers import extract  # noqa: E402


def _norm(s: str) -> str:
    return " ".join(s.split())


def test_aeb_labels_from_the_article_body():
    """In the body: positive; 90% of a long block's 4-grams in it: positive; a block of three or
    more words with none in it: negative; a short or half-in block: unlabelled."""
    body = "The council voted on Monday to close the old bridge for repairs. It reopens in spring next year."
    bl = [
        ("p", "The council voted on Monday to close the old bridge for repairs.", 0),
        ("p", "It reopens in spring next year.  ", 0),
        ("p", "Subscribe to our newsletter for more local news", 1),
        ("li", "Home", 1),
        ("p", "The council voted on Monday to close the old bridge for repairs, a reader writes in anger.", 0),
        ("p", "The council voted on Monday to close the old bridge for repairs and it reopens in spring next year.", 0),
    ]
    assert T.aeb_labels(bl, body, _norm) == [1, 1, 0, -1, -1, -1]
    long_body = " ".join(f"w{i}" for i in range(40))
    nearly = " ".join(f"w{i}" for i in range(30)) + " extra"  # 27 of its 28 4-grams in the body
    assert T.aeb_labels([("p", nearly, 0)], long_body, _norm) == [1]


def test_fit_weights_the_extra_pages():
    """Weight 0: the other gold's blocks change nothing; weight 1: the fit is the one on all
    pages together (the same weights as ``fit(pages + extra)``)."""
    rng = np.random.default_rng(1)
    cols = list(T.COLUMNS)
    T.COLUMNS[:] = ["a", "b", "c"]
    try:
        pages = [{"X": rng.normal(size=(40, 3)), "y": None} for _ in range(3)]
        for p in pages:
            p["y"] = (p["X"][:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
        extra = [{"X": rng.normal(size=(60, 3)), "y": None}]
        extra[0]["y"] = (extra[0]["X"][:, 1] > 0).astype(int)  # another rule: column b
        alone, zero = T.fit(pages, 1.0), T.fit(pages, 1.0, extra, 0.0)
        # with weight 0 the extra rows only move the standardisation: the decisions are the same
        assert all((k1 == k2).all() for k1, k2 in zip(T.keeps(alone, pages, 0.5), T.keeps(zero, pages, 0.5)))
        one, joint = T.fit(pages, 1.0, extra, 1.0), T.fit(pages + extra, 1.0)
        assert np.allclose(one["weights"], joint["weights"]) and abs(one["bias"] - joint["bias"]) < 1e-9
        assert abs(one["weights"][1]) > abs(alone["weights"][1])  # column b learned from the extra pages
    finally:
        T.COLUMNS[:] = cols


def test_untuned_rendering_falls_back_to_the_whole_page():
    """A page whose main content Resiliparse renders short (here: all of it in a <nav>-free
    list of teasers it drops) is, with FALLBACK, rendered whole, as extract.render does."""
    items = "".join(f'<li><a href="/s{i}">Story number {i} of the day</a></li>' for i in range(40))
    page = f"<html><body><div><ul>{items}</ul></div></body></html>".encode()
    old = T.FALLBACK
    try:
        T.FALLBACK = False
        short, _ = T.page_blocks(page, True, False)
        T.FALLBACK = True
        whole, _ = T.page_blocks(page, True, False)
    finally:
        T.FALLBACK = old
    assert len(extract.join_kept(short, [True] * len(short))) < extract.SHORT_CHARS
    assert len(whole) > len(short) and "Story number 39 of the day" in extract.join_kept(whole, [True] * len(whole))


def test_page_errors_ranks_pages_and_tells_lost_from_dropped():
    """Missed snippets are marked by whether any block held them; pages with most errors first."""
    bl = [("p", "The article's first paragraph.", 0), ("p", "Share this story now", 1)]
    pages = [
        {"url": "a", "bl": bl, "gold": {"with": ["first paragraph"], "without": ["Share this"]}},
        {"url": "b", "bl": bl, "gold": {"with": ["first  paragraph", "a sentence never rendered"], "without": []}},
    ]
    rows = T.page_errors(pages, [[True, True], [False, True]])
    assert [r["url"] for r in rows] == ["b", "a"]
    assert rows[0]["missed"] == [("first  paragraph", True), ("a sentence never rendered", False)]
    assert rows[1] == {"url": "a", "missed": [], "kept": ["Share this"]}


def test_in_main_matches_blocks_of_the_main_rendering():
    """A block is in the main-content rendering when a block there is it, or, from 20 characters
    on, holds it; a short block ("Home") only when one is exactly it."""
    main = [("p", "The council voted on Monday to close the old bridge.", 0), ("li", "Homepage of the town", 0)]
    bl = [("li", "Home", 1), ("p", "The council voted on Monday", 0), ("li", "Homepage of the town", 0),
          ("p", "Subscribe to our newsletter today", 1)]  # fmt: skip
    assert T.in_main(bl, main) == [False, True, True, False]


def test_whole_page_blocks_mark_what_the_main_rendering_holds():
    """--whole: the navigation Resiliparse's main content drops is among the blocks, marked
    outside it; the article inside; the page's main rendering is not short."""
    nav = "".join(f'<li><a href="/s{i}">Section number {i}</a></li>' for i in range(6))
    text = "A long paragraph of the article, which goes on for a while. " * 12
    page = f"<html><body><nav><ul>{nav}</ul></nav><article><h1>The headline</h1><p>{text}</p></article></body></html>"
    old = T.WHOLE
    try:
        T.WHOLE = False
        main, _ = T.page_blocks(page.encode(), True, False)
        T.WHOLE = True
        bl, X = T.page_blocks(page.encode(), True, False)
    finally:
        T.WHOLE = old
    assert "Section number 5" not in [t for _, t, _ in main] and "Section number 5" in [t for _, t, _ in bl]
    width = len(T.COLUMNS)  # the columns of ``features``; WHOLE_FEATURES follow
    assert X.shape == (len(bl), width + len(T.WHOLE_FEATURES))
    inside = {t: X[i, width] for i, (_, t, _) in enumerate(bl)}
    assert inside["Section number 5"] == 0 and inside["The headline"] == 1 and inside[text.strip()] == 1
    assert (X[:, width + 1] == 0).all()  # the main rendering is past extract.SHORT_CHARS


def test_split_by_gives_each_side_its_own_columns():
    X = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, 6.0]])
    assert T.split_by(X, 0).tolist() == [[1, 2, 3, 0, 0, 0], [0, 0, 0, 0, 5, 6]]


def test_propagate_spreads_one_label_within_a_container():
    """An unlabelled block takes the label of its container's labelled blocks when they agree
    (and that label is spread); a container of both labels, or none, leaves it unlabelled."""
    y, cont = [1, -1, 0, -1, 1, 0, -1, -1, -1], [0, 0, 1, 1, 2, 2, 2, 3, -1]
    assert T.propagate(y, cont) == [1, 1, 0, 0, 1, 0, -1, -1, -1]
    assert T.propagate(y, cont, (0,)) == [1, -1, 0, 0, 1, 0, -1, -1, -1]

