"""Main-content text of a parsed HTML page: curate's block extractor and the alternatives.

``ingest.extractor`` picks one:

* ``"blocks"`` (default): Resiliparse renders the page's main content (its DOM heuristics,
  with containers whose class names mark boilerplate skipped by CSS selector, the article's
  own containers exempt) as minimal HTML with links; the text is cut into blocks
  (paragraphs, headings, list items, lines) and each block is scored here: text length,
  link density, boilerplate phrases. The page's main region is the run of blocks with the
  largest summed score (a maximum-sum subarray, so one long article outweighs many short
  menu entries), grown over short gaps to neighbouring runs that outweigh them, ended at its
  last navigation line when what follows weighs under a tenth of the article (an author box,
  a newsletter pitch), and trimmed of navigation, boilerplate and label lines at its end;
  blocks after a comment, "related articles" or "more from" marker are dropped, short
  headings are kept only when content follows them. The text is NFC-normalised, without
  soft hyphens and zero-width spaces. All parsing and rendering stays in native code; the
  Python part is a few regexes and a few passes over the blocks (a few hundred per page).
* ``"resiliparse"``: Resiliparse's ``main_content`` plain text (curate before 2026-12).
* ``"trafilatura"``: trafilatura's ``extract`` (optional: ``pip install 'curate[trafilatura]'``).

Every extractor keeps paragraphs and headings on their own lines.
"""
from __future__ import annotations

import html
import re
import unicodedata

EXTRACTORS = ("blocks", "resiliparse", "trafilatura")
DEFAULT = "blocks"


class IngestSettings:
    """The [ingest] section's entry in the stage table (curate.stages): its defaults and checks.
    Ingest itself is the readers (curate.readers), run by pipelines/io.py."""

    DEFAULTS = {"extractor": DEFAULT}

    def __init__(self, section: dict):
        ex = section.get("extractor")
        if ex not in EXTRACTORS:
            raise ValueError(f"extractor: {ex!r} is not one of {', '.join(EXTRACTORS)}")
        if ex == "trafilatura":
            import importlib.util

            if importlib.util.find_spec("trafilatura") is None:
                raise ValueError("extractor: 'trafilatura' is not installed (pip install 'curate[trafilatura]')")

# Containers that hold boilerplate on most sites (class/id naming conventions of CMSs).
# Skipped during the first rendering; a page that loses (nearly) everything to them is
# rendered again without (SHORT_CHARS). Class names are matched as substrings, so the
# containers of the article itself are exempt (CONTENT): CMSs write tags, categories and
# flags into them ("tag-newsletter", "node-promoted", "elementor-widget", "article-header").
_BOILER_CONTAINERS = [
    "[class*=caption]", "[class*=author]", "[class*=newsletter]", "[class*=related]",
    "[class*=share]", "[class*=social]", "[class*=comment]", "[id*=comment]",
    "[class*=teaser]:has(a)",  # link teasers to other pages; a teaser without links is this page's lede
    "[class*=promo]", "[class*=widget]", "[class*=breadcrumb]", "[class*=cookie]", "[id*=cookie]",
    "[class*=consent]", "[class*=subscribe]", "[class*=recommend]", "[class*=bio]", "[class*=byline]",
    "[class*=meta]", "[class*=tags]", "[class*=footer]", "[class*=similar]", "[class*=credit]", "[class*=disclaimer]",
    "[class*=disclosure]",
    "[class*=header]:not(:has(p ~ p))",  # a "header" holding paragraphs is a page wrapper
]  # fmt: skip
CONTENT = (
    "html, body, article, main, [class*=post], [class*=entry], [class*=node], [class*=elementor], [class~=Blog], "
    "[class*=article], [class*=content]"
)
# One selector per attribute, behind a test for the attribute: an element without a class (or
# id) fails that test once instead of once per container, which costs a third less than one
# selector per container ("[class]:is([class*=a], ...)" matches exactly what "[class*=a]" does).
SKIP = ["figcaption"] + [
    f"[{attr}]:is({', '.join(s for s in _BOILER_CONTAINERS if s.startswith(f'[{attr}'))}):not({CONTENT})"
    for attr in ("class", "id")
]
SHORT_CHARS = 500  # a rendering shorter than this is retried with less pruning

# Scoring (chosen on the tuning half of the trafilatura gold; see bench/bench_extract.py)
LINK_BAD = 0.4  # link density above which a block is navigation
BOILER_CHARS = 100  # blocks shorter than this are dropped on a boilerplate phrase
BLOCK_COST = 20  # per-block cost in the region score: many short blocks lose to one long one
LINK_COST = 2  # link characters count negative, this many times over
BAD_COST = 20  # extra cost of a navigation/boilerplate block
CUT_AFTER = 500  # content characters before a comment/related marker ends the page
OUTSIDE_KEEP = 150  # blocks outside the main region are kept from this length (low link density)
OUTSIDE_LINKS = 0.2
PROSE_CHARS = 80  # a block this long ending a sentence, with this share of plain text, is prose
PROSE_PLAIN = 0.15
HEAD_CHARS = 60  # a block shorter than this (no sentence end) is a heading: needs content after it
HEAD_EXEMPT = ("li",)  # ... unless it is a list item (a list of short items is content)
GAP_BLOCKS = 2  # the region grows over gaps of up to this many blocks scoring <= 0
GAP_FACTOR = 0.25  # ... to the next run of positive blocks when that run outweighs this share of the gap
TAIL_SHARE = 0.1  # the region ends at a navigation block after which less than this share of its content follows
TAIL_LABEL = 30  # the region's last blocks go when navigation/boilerplate or shorter than this without a sentence end
MORE_SHARE = 0.25  # a "more ..." heading ends the page when what follows has less than this share of the content before

# Phrases of UI and publisher boilerplate (share, login, cookies, newsletters, credits ...)
# in the languages of most web text; matched at word starts in lower-cased text (a quarter
# of the cost of a case-insensitive search anywhere).
_BOILER = re.compile(
    r"©|\b(?:cookie|newsletter|abonn|subscribe|teilen|share|tweet|drucken|print\b|login|einlogg|eingelogg|anmeld|"
    r"registrier|sign (in|up)|log in|kommentar|comment|rights reserved|copyright|impressum|datenschutz|"
    r"privacy|werbung|advertis|anzeige|weiterlesen|read more|mehr zum thema|weitere artikel|related|"
    r"ähnliche (artikel|beiträge)|auch interessant|you may also|themen:|tags?:|schlagw|quelle:|source:|foto:|bild:|photo:|"
    r"credit|e-mail|email|folge uns|follow us|unterstütz|support|spende|donat|kontakt|contact|affiliate|"
    r"disclaimer|sponsor|podcast|download|app\b|whatsapp|facebook|twitter|instagram|telegram|youtube)"
)
# A short block starting like this, after the article, opens comments or link lists.
_END = re.compile(
    r"^(\d+\s+)?(kommentare?|comments?|leave a (reply|comment)|reply|antworten|related( articles| posts| stories)?|"
    r"ähnliche (artikel|beiträge)|weitere (artikel|beiträge|themen|nachrichten)|mehr zum thema|"
    r"das könnte (sie|dich) auch interessieren|you (may|might) also like|lesen sie auch|more (stories|from|on)|"
    r"recommended|empfohlen|passend zum thema)\b",
    re.I,
)
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")  # soft hyphens, zero-width spaces: not text
# C1 control characters (U+0080-U+009F) in text are Windows-1252 bytes decoded as Latin-1
# upstream (U+0092 for ’, U+0096 for –): mapped to what cp1252 meant, as ftfy's fix_c1_controls
# does; the five bytes cp1252 leaves undefined stay as they are.
_C1 = re.compile("[\u0080-\u009f]")
# Either of the two, in one scan; in UTF-8 bytes, where a scan is several times faster.
_ODD = re.compile("[\u0080-\u009f\u00ad\u200b\u2060\ufeff]")
_ODD_UTF8 = re.compile(rb"\xc2[\x80-\x9f\xad]|\xe2\x80\x8b|\xe2\x81\xa0|\xef\xbb\xbf")
_CP1252 = {c: bytes([c]).decode("cp1252") for c in range(0x80, 0xA0) if c not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"<a\b[^>]*>(.*?)</a>", re.S)
_BLOCK_TAG = re.compile(r"\s*<(h[1-6]|p|li|pre|ul|ol)\b")
# A short heading opening a section of links to other pages ("More from ...", "Aktuelle News").
_MORE = re.compile(
    r"^(mehr|weitere|more|other|aktuelle|top|latest|most|meist|popular|beliebt|entdecke|discover|auch|similar|ähnliche|"
    r"neueste|newest|recent|letzte|trending|empfehlungen|tipps?)\b", re.I)
_SENTENCE_END = (".", "!", "?", ":", "…", "。", "！", "？", "：")


def _plain(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment)).strip()


def blocks(minimal_html: str) -> list[tuple[str, str, int]]:
    """(tag, text, link characters) per line of Resiliparse's minimal-HTML rendering."""
    out = []
    for line in minimal_html.split("\n"):
        text = _plain(line)
        if not text:
            continue
        m = _BLOCK_TAG.match(line)
        links = sum(len(_plain(a)) for a in _LINK.findall(line)) if "<a" in line else 0
        out.append((m.group(1) if m else "", text, min(links, len(text))))
    return out


def _prose(text: str, links: int) -> bool:
    """A sentence with links in it, not a link with a few words around it."""
    return len(text) >= PROSE_CHARS and text.endswith(_SENTENCE_END) and len(text) - links >= PROSE_PLAIN * len(text)


def _tail_boiler(text: str, bad: bool) -> bool:
    """A block that cannot end the region: navigation, a boilerplate line, a bare label."""
    return bad or (len(text) < TAIL_LABEL and not text.endswith(_SENTENCE_END))


def _end_at_navigation(score: list, nav: list, lo: int, hi: int) -> int:
    """The end of the region ``[lo, hi)``, moved back to its last navigation block (a link
    list) while what follows that block weighs less than TAIL_SHARE of what precedes it: an
    article's own text goes on past an inline link list, the author box, newsletter pitch or
    licence line that a site appends after one is small beside the article."""
    pos = [0]  # pos[i]: the positive scores before block i (one pass: a page may have 10^5 blocks)
    for x in score:
        pos.append(pos[-1] + max(x, 0))
    j = hi - 2
    while j > lo:
        if nav[j]:
            if pos[hi] - pos[j + 1] >= TAIL_SHARE * (pos[j] - pos[lo]):
                return hi
            hi, j = j, j - 2
        else:
            j -= 1
    return hi


def _grow(score: list, hi: int) -> int:
    """The end of a region ``[.., hi)`` of ``score`` grown over short gaps (the article's
    paragraphs around an image, a quote box, an inline link list): over at most GAP_BLOCKS
    blocks scoring <= 0 to the run of positive blocks after them, while that run outweighs
    GAP_FACTOR times the gap."""
    n = len(score)
    while hi < n:
        j, gap = hi, 0
        while j < n and score[j] <= 0 and j - hi < GAP_BLOCKS:
            gap -= score[j]
            j += 1
        k, gain = j, 0
        while k < n and score[k] > 0:
            gain += score[k]
            k += 1
        if k == j or gain < GAP_FACTOR * gap:
            return hi
        hi = k
    return hi


def _rule_signals(bl: list[tuple[str, str, int]]) -> dict:
    """The hand-set rules' view of each block (see the module doc): score, navigation and
    boilerplate flags, the comment/related cut, the main region ``[lo, hi)`` and the rules' mask."""
    n = len(bl)
    bad, nav, score = [], [], []
    for _, text, links in bl:
        c = len(text)
        if _prose(text, links):
            links = 0  # links inside sentences (an encyclopedia's prose) are text
        nav.append(links > LINK_BAD * c)
        b = nav[-1] or (c < BOILER_CHARS and _BOILER.search(text.lower()) is not None)
        bad.append(b)
        score.append(c - links - LINK_COST * links - BLOCK_COST - (BAD_COST if b else 0))
    cut, content = n, 0  # comments / related lists after the article
    total = sum(max(x, 0) for x in score)
    for i in range(n):
        t = bl[i][1]
        if content > CUT_AFTER and len(t) < HEAD_CHARS and (_END.match(t) or (
            not t.endswith(_SENTENCE_END) and _MORE.match(t) and total - content < MORE_SHARE * content)):
            cut = i
            break
        content += max(score[i], 0)
    best = run = 0  # the main region: maximum-sum run of block scores
    lo = hi = start = 0
    for i in range(cut):
        if run <= 0:
            run, start = 0, i
        run += score[i]
        if run > best:
            best, lo, hi = run, start, i + 1
    hi, lo = _grow(score[:cut], hi), cut - _grow(score[:cut][::-1], cut - lo)  # both ways
    hi = _end_at_navigation(score, nav, lo, hi)
    while hi - 1 > lo and _tail_boiler(bl[hi - 1][1], bad[hi - 1]):
        hi -= 1  # the region's last blocks: navigation, boilerplate lines ("follow us", a cookie notice), labels
    while lo > 0 and bl[lo - 1][0].startswith("h") and not bad[lo - 1]:
        lo -= 1  # the headings that open the region (short, so they score below zero)
    keep = []
    for i in range(n):
        _, text, links = bl[i]
        if i >= cut or bad[i]:
            keep.append(False)
        elif lo <= i < hi:
            keep.append(True)
        else:
            keep.append(len(text) >= OUTSIDE_KEEP and (links < OUTSIDE_LINKS * len(text) or _prose(text, links)))
    out = list(keep)
    for i in range(n):  # headings and labels need kept content after them
        text = bl[i][1]
        if out[i] and len(text) < HEAD_CHARS and not text.endswith(_SENTENCE_END) and bl[i][0] not in HEAD_EXEMPT:
            if i + 1 >= n or not keep[i + 1]:
                out[i] = False
    return {"score": score, "nav": nav, "bad": bad, "cut": cut, "lo": lo, "hi": hi, "keep": out}


def keep_mask(bl: list[tuple[str, str, int]]) -> list[bool]:
    """Which blocks are main content (see the module doc)."""
    return _rule_signals(bl)["keep"]


def _render(tree, main_content: bool, skip=None) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(
        tree, main_content=main_content, preserve_formatting="minimal_html", links=True, alt_texts=False,
        skip_elements=skip,
    )  # fmt: skip


def render(tree) -> str:
    """The page's minimal-HTML rendering that blocks are cut from (boilerplate containers skipped)."""
    mh = _render(tree, True, SKIP)
    if len(mh) < SHORT_CHARS:  # the skip list took the article (or Resiliparse found none)
        mh = _render(tree, True)
        if len(mh) < SHORT_CHARS:
            mh = _render(tree, False)
    return mh


def plain_unicode(text: str, utf8: bytes | None = None) -> str:
    """``text`` NFC-normalised, without soft hyphens, zero-width spaces and stray BOMs, C1
    controls read as the Windows-1252 characters they were. ``utf8``: the text's UTF-8 bytes,
    when the caller has them (a faster scan for the characters to fix)."""
    if text.isascii():
        return text
    if (_ODD_UTF8.search(utf8) if utf8 is not None else _ODD.search(text)) is not None:  # rare: one scan finds both
        c1 = _C1.search(text)
        if _INVISIBLE.search(text):
            text = _INVISIBLE.sub("", text)
        if c1:
            text = text.translate(_CP1252)
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def join_kept(bl: list[tuple[str, str, int]], keep) -> str:
    """The text of the kept blocks, one per line, NFC, without invisible characters."""
    return plain_unicode("\n".join(b[1] for b, k in zip(bl, keep) if k))


def extract_blocks(tree) -> str:
    """curate's default extractor: main-content text, one block per line."""
    bl = blocks(render(tree))
    return join_kept(bl, keep_mask(bl))


def extract_resiliparse(tree) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(tree, main_content=True, preserve_formatting=True, alt_texts=False)


def extract_trafilatura(html_text: str) -> str:
    import trafilatura

    return trafilatura.extract(html_text, include_comments=False, include_tables=True) or ""


def page_hints(tree) -> dict:
    """What the page says about itself: <title>, <html lang>, Content-Language meta."""
    out = {}
    title = (tree.title or "").strip()
    if title:
        out["title"] = " ".join(title.split())[:1000]
    doc = tree.document
    root = doc.query_selector("html") if doc is not None else None
    lang = root.getattr("lang") if root is not None else None
    if lang and lang.strip():
        out["html_lang"] = lang.strip()[:35]
    meta = doc.query_selector('meta[http-equiv="content-language" i]') if doc is not None else None
    content = meta.getattr("content") if meta is not None else None
    if content and content.strip():
        out["content_language"] = content.strip()[:100]
    return out
