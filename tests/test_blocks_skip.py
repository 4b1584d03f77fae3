"""The `blocks` extractor's skip list (curate.readers.extract.SKIP) is written as two grouped
selectors for speed; it must skip exactly the elements that one selector per boilerplate
container (``<container>:not(CONTENT)``, as documented) skips."""
from __future__ import annotations

import pytest

from curate.readers import extract as E

pytest.importorskip("resiliparse")

ONE_PER_CONTAINER = ["figcaption"] + [f"{sel}:not({E.CONTENT})" for sel in E._BOILER_CONTAINERS]


def _page() -> str:
    """Every container, as a class or id (also inside longer names and in upper case), on
    plain and content elements, a teaser with and without a link, a header with and without
    paragraphs, elements with neither class nor id, and nested containers."""
    words = [s.split("=")[1].split("]")[0] for s in E._BOILER_CONTAINERS]
    parts = []
    for i, w in enumerate(words):
        parts.append(f'<div class="x-{w}-y"><p>Text {i} in a {w} box.</p></div>')
        parts.append(f'<section id="{w}s"><p>Text {i} in a {w} section.</p></section>')
        parts.append(f'<div class="{w.upper()}"><p>Upper-case {w}.</p></div>')
        parts.append(f'<article class="{w}"><p>An article marked {w}.</p></article>')
        parts.append(f'<div class="post-{w}"><p>A post marked {w}.</p></div>')
        parts.append(f'<div class="{w} wrap"><div class="inner {words[(i + 1) % len(words)]}"><p>Nested {i}.</p></div></div>')
    parts.append('<div class="teaser"><a href="/x">Another page</a></div><div class="teaser"><p>This page\'s lede.</p></div>')
    parts.append('<div class="header"><p>One.</p><p>Two.</p></div><div class="header"><p>Only one.</p></div>')
    parts.append("<figure><img src=a.png><figcaption>A caption.</figcaption></figure><p>Plain paragraph.</p>")
    return "<html><body><main>" + "".join(parts) + "</main></body></html>"


def _matched(tree, selectors: list[str]) -> set[str]:
    """The elements any of ``selectors`` matches, by their outer HTML (unique on this page)."""
    return {el.html for sel in selectors for el in tree.document.query_selector_all(sel)}


def test_grouped_skip_list_matches_one_selector_per_container():
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(_page())
    reference = _matched(tree, ONE_PER_CONTAINER)
    assert len(reference) > 3 * len(E._BOILER_CONTAINERS)  # the page exercises the list
    assert _matched(tree, E.SKIP) == reference
    assert E._render(tree, True, E.SKIP) == E._render(tree, True, ONE_PER_CONTAINER)


def test_every_container_is_in_the_skip_list():
    assert all(any(sel in grouped for grouped in E.SKIP) for sel in E._BOILER_CONTAINERS)
