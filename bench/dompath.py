"""DOM-container signals of a page's text, from one scan of its HTML bytes in compiled code.

What a flat rendering hides and an extractor may want per piece of text: the nearest block
container around it (its share of the page's text, its link-text share, its depth), how many
containers on the page share its tag/class path (teaser lists, comment threads and
related-article grids repeat one path), and whether it sits inside ``<a>``, ``<li>``,
``<aside>``, ``<footer>``, ``<form>``, ``<nav>``, ``<header>``, ``<article>`` or ``<main>``.

Walking a parsed DOM from Python costs ~5 ms a page; this is a tokenizer-level scan
(``scan``, numba) that keeps the open-element stack with HTML's common implicit closes
(``<p>`` and ``<li>``), skips comments, ``<script>``/``<style>``/``<template>``/... contents
and attribute values, and records each text run's byte span and its ancestors' features. It
is not an HTML parser: misnested markup is closed at the nearest matching open element, an
unmatched end tag is ignored. Hostile input: the stack holds at most MAX_DEPTH elements
(deeper ones count as their ancestor at that depth) and an end tag searches it at most that
far, so a page costs O(bytes x MAX_DEPTH) at worst and O(bytes) for any page that is not
nested beyond MAX_DEPTH.

``block_features`` aligns text blocks (``extract.blocks``: (tag, text, links)) to the runs
by searching a word of each block in the HTML bytes, in document order, and returns
FEATURES per block. It lives in bench/ because only bench/train_blocks.py uses it (docs/extraction.md, ``ex43``:
not adopted); before it runs in the extraction helper its alignment needs a bound: up to 20
``bytes.find`` per block make it quadratic on a page whose block words recur outside text.
"""
from __future__ import annotations

import bisect

import numpy as np

from curate.stages.numba_cache import njit

MAX_DEPTH = 256  # open elements kept; a page nested deeper keeps its first MAX_DEPTH levels

# Bits of a text run's ancestor flags.
A, LI, ASIDE, FOOTER, FORM, NAV, HEADER, ARTICLE, MAIN = (1 << i for i in range(9))
FLAG_TAGS = {"a": A, "li": LI, "aside": ASIDE, "footer": FOOTER, "form": FORM, "nav": NAV, "header": HEADER,
             "article": ARTICLE, "main": MAIN}  # fmt: skip
# Block containers: the elements a text run is counted in (its "container").
CONTAINER_TAGS = ("body", "div", "section", "article", "main", "aside", "nav", "header", "footer", "ul", "ol", "dl",
                  "table", "td", "form", "blockquote", "figure", "details")  # fmt: skip
VOID_TAGS = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
             "wbr", "keygen", "!doctype")  # fmt: skip
RAW_TAGS = ("script", "style", "template", "textarea", "noscript", "svg", "math", "iframe", "select", "title")
FEATURES = ("aligned", "cont_share", "cont_link_share", "cont_depth", "path_repeat", "path_share", "under_main",
            "in_a", "in_li", "in_aside", "in_footer", "in_form", "in_nav", "in_header", "in_article", "in_main")  # fmt: skip


def tag_code(name: str) -> int:
    """The scanner's hash of a lower-case tag name (the same arithmetic as ``_hash_name``)."""
    h = 7
    for c in name.encode("ascii"):
        h = (h * 31 + c) & 0xFFFFFFFFFFFF
    return h


_FLAG_CODES = np.array([tag_code(t) for t in FLAG_TAGS], dtype=np.int64)
_FLAG_BITS = np.array(list(FLAG_TAGS.values()), dtype=np.int64)
_CONTAINERS = np.array([tag_code(t) for t in CONTAINER_TAGS], dtype=np.int64)
_VOID = np.array([tag_code(t) for t in VOID_TAGS], dtype=np.int64)
_RAW = np.array([tag_code(t) for t in RAW_TAGS], dtype=np.int64)
_P, _LI, _UL, _OL = (tag_code(t) for t in ("p", "li", "ul", "ol"))


@njit(cache=True, nogil=True)
def _is_space(c):
    return c == 32 or c == 9 or c == 10 or c == 13 or c == 12


@njit(cache=True, nogil=True)
def _in(code, codes):
    for x in codes:
        if x == code:
            return True
    return False


@njit(cache=True, nogil=True)
def _lower(c):
    return c + 32 if 65 <= c <= 90 else c


@njit(cache=True, nogil=True)
def _find_end_tag(b, i, code):
    """Index after the end tag ``</name>`` whose name hashes to ``code`` at or after ``i``, or len(b)."""
    n = len(b)
    while i < n - 1:
        if b[i] == 60 and b[i + 1] == 47:  # "</"
            j, h = i + 2, 7
            while j < n and (65 <= b[j] <= 90 or 97 <= b[j] <= 122 or 48 <= b[j] <= 57):
                h = (h * 31 + _lower(b[j])) & 0xFFFFFFFFFFFF
                j += 1
            if h == code:
                while j < n and b[j] != 62:
                    j += 1
                return j + 1
            i = j
        else:
            i += 1
    return n


@njit(cache=True, nogil=True)
def _close(st_cont, conts, depth, d):
    """Pops the open elements from ``depth`` down to ``d`` (included); a container popped adds
    its text and link sums to its parent container's. Returns the new depth."""
    while depth >= d:
        ct = st_cont[depth]
        if ct >= 0 and st_cont[depth - 1] != ct:
            parent = st_cont[depth - 1]
            if parent >= 0:
                conts[parent, 2] += conts[ct, 2]
                conts[parent, 3] += conts[ct, 3]
        depth -= 1
    return depth


@njit(cache=True, nogil=True)
def scan(b, flag_codes, flag_bits, containers, void, raw, p_code, li_code, ul_code, ol_code, max_depth):
    """One pass over HTML bytes ``b``. Returns (runs, conts):
    runs: int64 [n, 4]: start, end (bytes), container index, ancestor flags;
    conts: int64 [m, 6]: path hash, depth, text bytes, link-text bytes (both over its whole
    subtree), parent container (-1 for none), tag code. Text bytes count non-space bytes."""
    n = len(b)
    runs = np.empty((max(16, n // 16), 4), dtype=np.int64)
    nr = 0
    conts = np.empty((max(16, n // 32), 6), dtype=np.int64)
    nc = 0
    st_code = np.zeros(max_depth + 1, dtype=np.int64)  # open elements: tag code
    st_flags = np.zeros(max_depth + 1, dtype=np.int64)  # flags of the element and its ancestors
    st_cont = np.full(max_depth + 1, -1, dtype=np.int64)  # nearest container at or above
    st_path = np.zeros(max_depth + 1, dtype=np.int64)  # path hash of tags and classes
    depth = 0  # st_*[0] is the document
    skipped = 0  # elements opened past max_depth, not on the stack
    i = 0
    while i < n:
        c = b[i]
        if c != 60:  # text until the next "<"
            j, solid = i, 0
            while j < n and b[j] != 60:
                if not _is_space(b[j]):
                    solid += 1
                j += 1
            if solid > 0:
                ct = st_cont[depth]
                if nr == len(runs):
                    runs = np.concatenate((runs, np.empty_like(runs)))
                runs[nr, 0], runs[nr, 1], runs[nr, 2], runs[nr, 3] = i, j, ct, st_flags[depth]
                nr += 1
                if ct >= 0:  # counted once in its container; parents get it when it is summed up
                    conts[ct, 2] += solid
                    if st_flags[depth] & flag_bits[0]:
                        conts[ct, 3] += solid
            i = j
            continue
        if i + 3 < n and b[i + 1] == 33 and b[i + 2] == 45 and b[i + 3] == 45:  # <!-- comment -->
            j = i + 4
            while j + 2 < n and not (b[j] == 45 and b[j + 1] == 45 and b[j + 2] == 62):
                j += 1
            i = j + 3
            continue
        closing = i + 1 < n and b[i + 1] == 47
        j = i + 2 if closing else i + 1
        h, k = 7, j
        while k < n and (65 <= b[k] <= 90 or 97 <= b[k] <= 122 or 48 <= b[k] <= 57 or (b[k] == 33 and k == j)):
            h = (h * 31 + _lower(b[k])) & 0xFFFFFFFFFFFF
            k += 1
        if k == j:  # "<" not opening a tag: text
            if i + 1 < n and b[i + 1] == 63:  # <?...>
                while k < n and b[k] != 62:
                    k += 1
                i = k + 1
                continue
            ct = st_cont[depth]
            if nr == len(runs):
                runs = np.concatenate((runs, np.empty_like(runs)))
            runs[nr, 0], runs[nr, 1], runs[nr, 2], runs[nr, 3] = i, i + 1, ct, st_flags[depth]
            nr += 1
            i += 1
            continue
        # attributes up to ">", quotes respected; the class value is hashed (letters only, so
        # "post-123" and "post-124" share a path)
        cls, q = 0, 0
        while k < n:
            x = b[k]
            if q:
                if x == q:
                    q = 0
            elif x == 34 or x == 39:
                q = x
            elif x == 62:
                break
            elif not closing and (x == 99 or x == 67) and k + 6 < n and _is_space(b[k - 1]) and \
                    _lower(b[k + 1]) == 108 and _lower(b[k + 2]) == 97 and _lower(b[k + 3]) == 115 and \
                    _lower(b[k + 4]) == 115 and b[k + 5] == 61:  # class=
                m = k + 6
                qq = b[m] if b[m] == 34 or b[m] == 39 else 0
                m += 1 if qq else 0
                cls = 11
                while m < n and b[m] != 62 and (b[m] != qq if qq else not _is_space(b[m])):
                    y = _lower(b[m])
                    if 97 <= y <= 122 or _is_space(y):
                        cls = (cls * 131 + y) & 0xFFFFFFFFFFFF
                    m += 1
                k = m + 1 if qq and m < n and b[m] == qq else m
                continue
            k += 1
        i = k + 1  # "/>" closes nothing in HTML (browsers ignore it): void elements are the ones that close
        if closing:
            if skipped > 0:
                skipped -= 1
                continue
            d = depth
            while d > 0 and st_code[d] != h:
                d -= 1
            if d > 0:
                depth = _close(st_cont, conts, depth, d)
            continue
        if _in(h, raw):
            i = _find_end_tag(b, i, h)
            continue
        if _in(h, void):
            continue
        # implicit closes: a block opening inside <p> closes it; <li> closes the open <li> of its list
        if st_code[depth] == p_code and (h == p_code or h == li_code or _in(h, containers)):
            depth -= 1
        if h == li_code:
            d = depth
            while d > 0 and st_code[d] != li_code and st_code[d] != ul_code and st_code[d] != ol_code:
                d -= 1
            if d > 0 and st_code[d] == li_code:
                depth = _close(st_cont, conts, depth, d)
        if depth >= max_depth:
            skipped += 1
            continue
        flags = st_flags[depth]
        for f in range(len(flag_codes)):
            if flag_codes[f] == h:
                flags |= flag_bits[f]
        path = st_path[depth]
        ct = st_cont[depth]
        if _in(h, containers):
            path = ((path * 1000003) ^ h ^ (cls * 7919)) & 0xFFFFFFFFFFFF
            if nc == len(conts):
                conts = np.concatenate((conts, np.zeros_like(conts)))
            conts[nc, 0], conts[nc, 1], conts[nc, 2], conts[nc, 3], conts[nc, 4], conts[nc, 5] = (
                path, depth + 1, 0, 0, ct, h)
            ct = nc
            nc += 1
        depth += 1
        st_code[depth], st_flags[depth], st_cont[depth], st_path[depth] = h, flags, ct, path
    _close(st_cont, conts, depth, 1)  # the end of the page closes what is still open
    return runs[:nr], conts[:nc]


def scan_html(html: bytes):
    """``scan`` of a page's bytes with curate's tag tables."""
    return scan(np.frombuffer(html, dtype=np.uint8), _FLAG_CODES, _FLAG_BITS, _CONTAINERS, _VOID, _RAW,
                _P, _LI, _UL, _OL, MAX_DEPTH)  # fmt: skip


def _anchor(text: str) -> bytes | None:
    """A word of a block to find it by in the HTML: the first of its first eight words made of
    letters and digits only, at least four long (markup and entities cannot be inside it)."""
    for w in text.split(None, 8)[:8]:
        if len(w) >= 4 and w.isalnum():
            return w.encode("utf-8")
    return None


def container_table(conts):
    """Per container: repeated (containers on the page with its path), the page text share of
    those, and whether it lies in the page's main container (the one holding the most text
    directly, not through a child container)."""
    m = len(conts)
    if m == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    text = conts[:, 2].astype(float)
    parent = conts[:, 4]
    direct = text.copy()
    has_parent = parent >= 0
    np.subtract.at(direct, parent[has_parent], text[has_parent])
    _, inverse, counts = np.unique(conts[:, 0], return_inverse=True, return_counts=True)
    path_text = np.bincount(inverse, weights=text)
    main = int(np.argmax(direct))
    under = np.zeros(m, dtype=bool)
    under[main] = True
    for i in range(main + 1, m):  # containers are numbered in document order: descendants follow
        p = parent[i]
        under[i] = p >= 0 and under[p]
    return counts[inverse].astype(float), path_text[inverse], under


def _aligned(html: bytes, bl: list):
    """(runs, conts, rows, hits): the page's scan, and the blocks of ``bl`` found in its text
    runs (block index, run index): each block's anchor word is searched from the previous
    block's run on, and a match outside text (in a script, an attribute) is passed over."""
    runs, conts = scan_html(html)
    rows, hits = [], []
    if len(runs) == 0 or len(conts) == 0:
        return runs, conts, rows, hits
    starts, ends = runs[:, 0].tolist(), runs[:, 1].tolist()
    cursor = 0
    for i, (_, text, _) in enumerate(bl):
        word = _anchor(text)
        pos, tries = cursor, 0
        while word is not None and tries < 20:
            pos = html.find(word, pos)
            if pos < 0:
                break
            k = bisect.bisect_right(starts, pos) - 1
            if k >= 0 and pos < ends[k]:
                rows.append(i)
                hits.append(k)
                cursor = starts[k]
                break
            pos, tries = pos + 1, tries + 1
    return runs, conts, rows, hits


def block_features(html: bytes, bl: list) -> np.ndarray:
    """FEATURES per block of ``bl`` (extract.blocks of this page's rendering, whose UTF-8 is
    ``html``), zeros where a block could not be aligned to the page's text runs (``_aligned``)."""
    out = np.zeros((len(bl), len(FEATURES)))
    runs, conts, rows, hits = _aligned(html, bl)
    if not rows:
        return out
    repeat, path_text, under = container_table(conts)
    total = max(float(conts[conts[:, 4] < 0, 2].sum()), 1.0)
    c, flags = runs[hits, 2], runs[hits, 3]
    cc = np.maximum(c, 0)
    text = np.maximum(conts[cc, 2], 1).astype(float)
    inside = c >= 0  # text outside every container (before <body>) gets no container features
    out[rows, 0] = 1.0
    out[rows, 1] = np.where(inside, text / total, 0)
    out[rows, 2] = np.where(inside, conts[cc, 3] / text, 0)
    out[rows, 3] = np.where(inside, np.log1p(conts[cc, 1]), 0)
    out[rows, 4] = np.where(inside, np.log1p(repeat[cc] - 1), 0)
    out[rows, 5] = np.where(inside, path_text[cc] / total, 0)
    out[rows, 6] = inside & under[cc]
    for j, bit in enumerate((A, LI, ASIDE, FOOTER, FORM, NAV, HEADER, ARTICLE, MAIN)):
        out[rows, 7 + j] = (flags & bit) != 0
    return out


# A run: consecutive blocks in one list or table (their nearest <ul>/<ol>/<dl>/<table>
# ancestor), else in one container. A list run: two or more blocks of one list; after a
# heading: the block before the run is one ("Zutaten", "Ingredients": no phrase list needed);
# in main: the list lies inside the page's main container (an ingredient list, a spec table).
RUN_FEATURES = ("run_len", "run_after_heading", "list_run", "list_run_heading", "list_run_main")
_LISTS = np.array([tag_code(t) for t in ("ul", "ol", "dl", "table")], dtype=np.int64)


def list_ancestors(conts) -> np.ndarray:
    """Per container: the index of its nearest list or table container (itself included), -1 for none."""
    out = np.full(len(conts), -1, dtype=np.int64)
    for i in range(len(conts)):  # numbered in document order: a parent comes before its children
        if conts[i, 5] in _LISTS:
            out[i] = i
        elif conts[i, 4] >= 0:
            out[i] = out[conts[i, 4]]
    return out


def run_features(html: bytes, bl: list) -> np.ndarray:
    """RUN_FEATURES per block of ``bl`` (aligned as ``block_features``; an unaligned block is a run of one)."""
    out = np.zeros((len(bl), len(RUN_FEATURES)))
    runs, conts, rows, hits = _aligned(html, bl)
    if not rows:
        return out
    _, _, under = container_table(conts)
    lists = list_ancestors(conts)
    cont = np.full(len(bl), -1, dtype=np.int64)
    cont[rows] = runs[hits, 2]
    inside = cont >= 0
    lst = np.where(inside, lists[np.maximum(cont, 0)], -1)
    key = np.where(lst >= 0, lst + len(conts), cont)  # a list's blocks share one key whatever their cell
    i = 0
    while i < len(bl):
        j = i + 1
        while key[i] >= 0 and j < len(bl) and key[j] == key[i]:
            j += 1
        heading = i > 0 and bl[i - 1][0].startswith("h")
        listed = lst[i] >= 0 and j - i >= 2
        out[i:j] = (np.log(j - i), heading, listed, listed and heading, listed and bool(under[lst[i]]))
        i = j
    return out


# Where a block's container lies against the page's main container (``container_table``):
# in it (under_main, a FEATURE), around it (the main container's ancestor: text beside the
# article in its wrapper, e.g. a bio or a comment policy), and how many containers up from the
# main container the two meet (0 inside it; large for a sidebar or footer far from it).
RELATION_FEATURES = ("main_ancestor", "main_hops")


def main_relation(html: bytes, bl: list) -> np.ndarray:
    """RELATION_FEATURES per block of ``bl`` (aligned as ``block_features``; zeros when not)."""
    out = np.zeros((len(bl), len(RELATION_FEATURES)))
    runs, conts, rows, hits = _aligned(html, bl)
    if not rows:
        return out
    text = conts[:, 2].astype(float)
    parent = conts[:, 4]
    direct = text.copy()
    np.subtract.at(direct, parent[parent >= 0], text[parent >= 0])
    up = {}  # the main container's ancestors (itself included): container -> hops from it
    c, hops = int(np.argmax(direct)), 0
    while c >= 0 and hops <= MAX_DEPTH:
        up[c], c, hops = hops, int(parent[c]), hops + 1
    for i, k in zip(rows, hits):
        c, steps = int(runs[k, 2]), 0
        while c >= 0 and c not in up and steps <= MAX_DEPTH:  # up from the block's container to a shared one
            c, steps = int(parent[c]), steps + 1
        if c in up:
            out[i] = (up[c] > 0 and steps == 0, np.log1p(up[c]))
    return out
