"""Text replacement shared by the rewrites: the ``Rewrite`` step, ``redaction`` (patterns to a
placeholder, counted) and ``code_points``. A leaf module (no curate import): the ledger's
snippets are redacted with the secrets patterns (curate/snippets.py) from ``schema``, which the
filter rules' config checking imports.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np


def code_points(text: str) -> np.ndarray:
    """The text's code points, one array element per character (uint8 when ASCII)."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)


@dataclass(frozen=True)
class Rewrite:
    """A step that replaces the text (C4 line cleaning, PII redaction).

    ``fn(doc) -> (new_text, counts)``; counts (e.g. lines removed) feed the stage counters.
    """

    name: str
    fn: Callable[..., tuple[str, dict]]  # fn(TextDoc)


def _sub_within(rx: re.Pattern, fn, text: str, spans: list) -> str:
    """``rx.sub(fn, text)`` for a regex whose matches are all inside ``spans`` (whole lines, in
    order, for a regex that never matches across a line's end): only the spans are searched."""
    parts, last = [], 0
    for start, end in spans:
        for m in rx.finditer(text, start, end):
            parts += (text[last:m.start()], fn(m))
            last = m.end()
    return "".join(parts) + text[last:] if parts else text


def _sub_read(rx: re.Pattern, fn, text: str, read: str, spans: list) -> tuple[str, str]:
    """``_sub_within`` on ``read`` (``text`` as the patterns read it, of its length), each replacement made at the same
    place in ``text`` too, where only the replaced group ``v`` (or the whole match) takes the new characters."""
    parts, read_parts, last = [], [], 0
    for start, end in spans:
        for m in rx.finditer(read, start, end):
            new = fn(m)
            if new == m.group():
                continue
            a, b = (m.span("v") if "v" in m.re.groupindex else m.span())
            mid = new[a - m.start():len(new) - (m.end() - b)]
            if "v" not in m.re.groupindex:  # a whole match (a token) starting past the reading's "."s for a run's invisible
                while a > last and read[a - 1] == "." != text[a - 1]:  # characters (`AKIA\u200b...` read `.AKIA...`): the
                    a -= 1  # run's start in the text (a "." in the text itself is no reading's and stays: `/.AKIA...`)
            # a check may replace part of the group only (a key's words: `Bearer <KEY> expires soon`): the text's own
            # characters are kept around that part, not the reading's
            old, p, q = read[a:b], 0, 0
            while p < min(len(mid), len(old)) and mid[p] == old[p]:
                p += 1
            while q < min(len(mid), len(old)) - p and mid[-1 - q] == old[-1 - q]:
                q += 1
            parts += (text[last:a + p], mid[p:len(mid) - q])
            read_parts += (read[last:a + p], mid[p:len(mid) - q])
            last = b - q
    if not parts:
        return text, read
    return "".join(parts) + text[last:], "".join(read_parts) + read[last:]


def redaction(name: str, patterns: dict, kinds: list, placeholder: str, read=None) -> Rewrite:
    """A rewrite replacing each match of ``patterns[kind]`` (``{kind: [(cheap test, regex,
    check or None)]}``) by the placeholder, counted as ``{name}_{kind}``. The test says False
    (no match can be in the text), True (search it all) or which [start, end) spans of whole
    lines to search. A regex with a group named ``v`` replaces that group only (a password's
    value, its quotes and key kept); a check that returns a (start, end) span of the text, that span only.
    ``read(text)``: the text as the patterns read it, of the
    same length, or None where it is the text (the secrets' Latin look-alikes read as Latin);
    the text's own characters are kept outside what is replaced."""
    subs = [(k, patterns[k], placeholder.format(KIND=k.upper(), kind=k)) for k in kinds]

    def redact(doc) -> tuple[str, dict]:  # a TextDoc, or anything with its text
        text, counts = doc.text, {}
        seen = read(text) if read is not None else None
        for kind, found, repl in subs:
            n = 0

            def sub(m: re.Match) -> str:
                nonlocal n
                ok = True if check is None else check(m)
                if not ok:
                    return m.group()
                n += 1
                if "v" not in m.re.groupindex and not isinstance(ok, tuple):
                    return repl
                s = m.start()
                a, b = ok if isinstance(ok, tuple) else m.span("v")  # a check's (start, end): that part of the match only
                return m.group()[: a - s] + repl + m.group()[b - s:]

            for test, rx, check in found:
                if seen is not None:
                    where = test(seen)
                    if where:
                        text, seen = _sub_read(rx, sub, text, seen, [(0, len(seen))] if where is True else where)
                    continue
                where = test(text)
                if where is True:
                    text = rx.sub(sub, text)
                elif where:
                    text = _sub_within(rx, sub, text, where)
            counts[f"{name}_{kind}"] = n
        return text, counts

    return Rewrite(name, redact)
