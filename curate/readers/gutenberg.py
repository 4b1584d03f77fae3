"""Project Gutenberg boilerplate: strip the licence header and footer, keep the book.

PG e-texts wrap the book in a header (title block, then a "*** START OF THE/THIS PROJECT
GUTENBERG EBOOK ... ***" marker, sometimes wrapped over two lines or written "***START")
and a footer ("End of (the) Project Gutenberg('s) ...", "*** END OF ... ***", then the
full licence). Older texts end their header with "*END*THE SMALL PRINT! ...". None of that
is book text, and the licence repeats in every file, so it would also be the most
duplicated text of a books corpus.

``strip_gutenberg`` works on lines and matches markers at line starts only, so a book that
merely mentions Project Gutenberg is not cut. Text with no marker comes back unchanged (same
object, line endings included).

Kept on purpose: transcriber's notes ("Transcriber's note: the symbol [=] before a vowel
represents a macron", an errata list at the end) and the e-text's hard-wrapped lines. The notes
are the key to notation used throughout the book (_italics_, =bold=, [=] macrons), written
per book rather than repeated boilerplate, and small (6,849 characters, 0.12%, in 6 of the 13
shared PG books with a header); their headings are in the book's language ("Au lecteur") and
the book's own printed errata look the same, so cutting them would risk cutting the book.
Lines are not joined: verse, tables of contents and tables would be destroyed by a wrong join,
and PG-19 (Rae et al. 2019) processed its books no further than removing the licence
boilerplate either (and mapping offensive words), notes and lines included.
"""
from __future__ import annotations

import re

_START = re.compile(r"\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG E-?(BOOK|TEXT)", re.I)
_SMALL_PRINT_END = re.compile(r"\*\s*END\*?\s*THE SMALL PRINT", re.I)  # old headers end here
_END = re.compile(r"\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG", re.I)
_END_LINE = re.compile(r"End of (the |this )?Project Gutenberg\b", re.I)
_LICENCE = re.compile(r"\*{3}\s*START: FULL LICEN[CS]E", re.I)
# Credits and PG notes that open the body; a paragraph is dropped only if it starts so.
_FRONT = re.compile(
    r"(Produced by|E-?text prepared by|Prepared by|Transcribed (from|by)"
    r"|This (e-?text|e-?book|file) was (produced|prepared) (by|from)"
    r"|Note: Project Gutenberg also has an HTML version)",
    re.I,
)
_FRONT_MAX_LINES = 12  # longer paragraphs are book text, whatever they start with
_FIELDS = {
    "title": "title",
    "author": "author",
    "editor": "editor",
    "translator": "translator",
    "illustrator": "illustrator",
    "language": "language",
    "release date": "release_date",
    "posting date": "release_date",
}
_FIELD = re.compile(r"(%s):\s*(.*)" % "|".join(_FIELDS), re.I)
_EBOOK_NO = re.compile(r"\[\s*e-?book\s*#\s*(\d+)\s*\]", re.I)


def strip_gutenberg(text: str) -> tuple[str, dict]:
    """(body, meta): the book without PG header/footer; meta has title, author, ... if found
    (the first book's, where the file holds several: ``cat a.txt b.txt`` of two PG books kept
    the first one's text alone, the second dropped without a word; each book's text is kept)."""
    lines = re.split(r"\r\n?|\n", text)  # any line endings; a stripped body comes back with \n
    s = [ln.strip() for ln in lines]
    book = _book(lines, s, 0)
    if book is None:
        return text, {}
    start, end, meta = book
    parts = ["\n".join(lines[start:end])]
    while end < len(s) and _find(s, _START, end) is not None:  # another book after this one's footer
        start, end, _ = _book(lines, s, end)
        parts.append("\n".join(lines[start:end]))
    return "\n\n".join(p for p in parts if p), meta


def _book(lines: list[str], s: list[str], lo: int) -> tuple[int, int, dict] | None:
    """(start, end, meta) of the book text from line ``lo`` on; None where no marker says one."""
    start = _find(s, _START, lo)
    if start is not None:
        start = _marker_end(s, start)
    end = _footer(s, start or lo)
    if start is None:
        # "*END*THE SMALL PRINT" closes old headers, but some footers end with it too
        sp = _find(s, _SMALL_PRINT_END, lo)
        if sp is not None and sp < (len(s) // 2 if end is None else end):
            start = sp + 1
    if start is None and end is None:
        return None
    meta = _header_meta(lines[lo:start]) if start else {}
    meta["gutenberg"] = True  # tells downstream the boilerplate was removed
    start = start or lo
    end = len(lines) if end is None else end
    start = _skip_front_matter(s, start, end)
    while start < end and not s[start]:
        start += 1
    while end > start and not s[end - 1]:
        end -= 1
    return start, end, meta


def _find(s: list[str], pat: re.Pattern, lo: int = 0):
    for i in range(lo, len(s)):
        if pat.match(s[i]):
            return i
    return None


def _marker_end(s: list[str], i: int) -> int:
    """Index after the START marker, which may wrap onto a second line before its '***'."""
    for j in range(i, min(i + 3, len(s))):
        if s[j].endswith("***"):
            return j + 1
    return i + 1


def _footer(s: list[str], lo: int):
    """Index of the first footer line after ``lo``, or None."""
    end = _find(s, _END, lo)
    if end is not None:
        # "End of the Project Gutenberg EBook of X, by Y" (maybe wrapped) just above the marker
        for j in range(end - 1, max(lo, end - 6) - 1, -1):
            if _END_LINE.match(s[j]):
                return j
        return end
    for pat in (_END_LINE, _LICENCE):
        end = _find(s, pat, lo)
        if end is not None:
            return end
    return None


def _skip_front_matter(s: list[str], i: int, end: int) -> int:
    """Skip the credits paragraph(s) right after the start marker; conservative."""
    while True:
        j = i
        while j < end and not s[j]:
            j += 1
        if j >= end or not _FRONT.match(s[j]):
            return i
        k = j
        while k < end and s[k]:
            k += 1
        if k - j > _FRONT_MAX_LINES:
            return i
        i = k


def _header_meta(lines: list[str]) -> dict:
    meta: dict = {}
    key = None
    for line in lines:
        m = _FIELD.match(line.strip())
        if m and not line[:1].isspace():
            key = _FIELDS[m.group(1).lower()]
            value = m.group(2).strip()
            if key == "release_date":
                num = _EBOOK_NO.search(value)
                if num:
                    meta["ebook_id"] = num.group(1)
                value = _EBOOK_NO.sub("", value).strip()
            if value and key not in meta:
                meta[key] = value
            else:
                key = None  # a repeated field (e.g. "Posting Date" after "Release Date")
        elif key in ("title", "author") and line[:1].isspace() and line.strip():
            meta[key] += " " + line.strip()  # indented continuation ("Title: X\n       subtitle")
        else:
            key = None
    return meta
