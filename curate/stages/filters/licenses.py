"""Licences of code records: keep only those whose licence a list allows (``code_license``).

The licence is the record's own field, copied into ``meta`` at ingest (``license``,
``licence``, ``licenses``, ``max_stars_repo_licenses``: ``readers.meta.META_FIELDS``). It is
read as an SPDX expression: ``MIT OR Apache-2.0`` is allowed when either side is, ``A AND B``
when both are, ``GPL-2.0-only WITH Classpath-exception-2.0`` when its licence is (an exception
only adds permissions) or when the whole expression is listed. A list of licences (The Stack's
``max_stars_repo_licenses``: one per licence file found in the repository) is allowed when each
is. No licence, or one that is not an expression ("see package", ``null``), is not allowed:
a corpus that promises permissive code cannot take a file on trust.
"""
from __future__ import annotations

import difflib
import json
import re

# "permissive" in filter.code.licenses: SPDX ids of licences that allow use, modification and
# redistribution with attribution only (no copyleft); curate's own selection, add others by id.
PERMISSIVE = (
    "0BSD", "AFL-3.0", "Apache-1.1", "Apache-2.0", "BlueOak-1.0.0", "BSD-1-Clause", "BSD-2-Clause",
    "BSD-3-Clause", "BSD-3-Clause-Clear", "BSL-1.0", "CC0-1.0", "ECL-2.0", "ISC", "MIT", "MIT-0",
    "MS-PL", "NCSA", "PostgreSQL", "PSF-2.0", "Python-2.0", "TCL", "UPL-1.0", "Unlicense", "X11", "Zlib",
)
LICENSE_KEYS = ("license", "licence", "licenses", "max_stars_repo_licenses")
NOT_ALLOWED, UNKNOWN = 1, 2  # the ledger's value: a licence outside the list; none or unreadable

_NO_LICENSE = frozenset({"null", "none", "noassertion", "unknown", "other"})
_TOKENS = re.compile(r"\(|\)|[A-Za-z0-9.+:-]+|\S")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+:-]*")  # a licence or exception id (LicenseRef-x, DocumentRef-a:LicenseRef-b)
_OPERATORS = ("AND", "OR", "WITH")


def check_listed(listed) -> None:
    """``filter.code.licenses``' entries: SPDX ids or expressions, or "permissive". A misspelt
    "permissive" allows no record's licence and so removed all the code, without a word."""
    for x in listed:
        if not isinstance(x, str) or not x.strip():
            raise ValueError(f"filter.code.licenses: {x!r} is not a licence; list SPDX ids (\"MIT\", "
                             f"\"Apache-2.0\") or \"permissive\" for curate's list")
        if x != x.strip():  # " MIT" matches no record's licence ("MIT"): all the code removed
            raise ValueError(f"filter.code.licenses: {x!r} has blanks around it and would match no record's "
                             f"licence; write {json.dumps(x.strip())}")
        if x.lower() != "permissive" and difflib.get_close_matches(x.lower(), ["permissive"], n=1, cutoff=0.7):
            raise ValueError(f"filter.code.licenses: {x!r} is not a licence (did you mean \"permissive\"?); "
                             "it would allow no record and remove all the code")


# GNU licences' ids SPDX deprecated for "-only" ones (GitHub's licence API, and so The Stack v1's
# max_stars_repo_licenses, still gives "GPL-3.0"): a listed "GPL-3.0-only" allows them, and the converse
_GNU = frozenset(f"{x}-{v}" for x, vs in (("gpl", "1.0 2.0 3.0"), ("lgpl", "2.0 2.1 3.0"), ("agpl", "1.0 3.0"),
                                          ("gfdl", "1.1 1.2 1.3")) for v in vs.split())


# GPL ids with an exception SPDX deprecated for WITH expressions (npm's and Maven's licence fields still give them)
_WITH = {f"gpl-{v}-with-{e.split('-')[0].lower()}-exception": f"gpl-{v}-only with {e}" for v, es in (
    ("2.0", "autoconf-exception-2.0 bison-exception-2.2 classpath-exception-2.0 font-exception-2.0 gcc-exception-2.0"),
    ("3.0", "autoconf-exception-3.0 gcc-exception-3.1")) for e in es.split()}


def _spdx(name: str) -> str:
    """A lower-cased id in SPDX's current spelling: "gpl-2.0+" is "gpl-2.0-or-later", "gpl-3.0"
    "gpl-3.0-only", "gpl-2.0-with-classpath-exception" "gpl-2.0-only with classpath-exception-2.0"
    (either listed allows either)."""
    if name.endswith("+"):
        return f"{name[:-1]}-or-later"
    return f"{name}-only" if name in _GNU else _WITH.get(name, name)


def allowed_set(listed) -> frozenset:
    """The lower-cased ids ``filter.code.licenses`` allows ("permissive" expands to PERMISSIVE),
    each also in SPDX's current spelling (``_spdx``)."""
    out = set()
    for x in listed:
        out.update(PERMISSIVE if str(x).lower() == "permissive" else [str(x)])
    # "GPL-2.0 WITH Classpath-exception-2.0" listed: its licence in the current spelling too
    return frozenset(y for x in out for y in {x.lower(), " ".join(map(_spdx, x.lower().split()))})


def _expression_ok(text: str, allow: frozenset) -> bool | None:
    """Is the SPDX expression ``text`` allowed (None: not an expression)?"""
    if text.lower() in allow:
        return True
    if text.strip().lower() in _NO_LICENSE:
        return None
    tokens = _TOKENS.findall(text)
    pos = 0

    def peek() -> str:
        return tokens[pos].upper() if pos < len(tokens) else ""

    def atom() -> bool:
        nonlocal pos
        if peek() == "(":
            pos += 1
            ok = either()
            if peek() != ")":
                raise ValueError
            pos += 1
            return ok
        if peek() in _OPERATORS or not _ID.fullmatch(tokens[pos] if pos < len(tokens) else ""):
            raise ValueError
        name = tokens[pos].lower()
        pos += 1
        if peek() == "WITH":  # an exception is an id: "MIT WITH (" or "MIT WITH OR" is no expression
            pos += 2
            if pos > len(tokens) or not _ID.fullmatch(tokens[pos - 1]) or tokens[pos - 1].upper() in _OPERATORS:
                raise ValueError
            exception = tokens[pos - 1].lower()
        else:  # a deprecated id may be a WITH expression ("GPL-2.0-with-classpath-exception")
            name, _, exception = _spdx(name).partition(" with ")
        return listed(name) or bool(exception) and listed(name, f" with {exception}")

    def listed(name: str, exception: str = "") -> bool:
        """The id (with ``exception``) listed, or the licence whose "or later" it is (GPL-2.0+
        when GPL-2.0 is; "GPL-2.0+ WITH X" when "GPL-2.0 WITH X" is)."""
        base = _spdx(name).removesuffix("-or-later")
        return any(f"{x}{exception}" in allow for x in (_spdx(name), base, _spdx(base)))

    def chain(operand, op: str, combine):
        """operand (op operand)*: every operand is parsed (consumed) before combining."""
        def parse() -> bool:
            nonlocal pos
            ok = operand()
            while peek() == op:
                pos += 1
                ok = combine(operand(), ok)
            return ok
        return parse

    both = chain(atom, "AND", lambda a, b: a and b)
    either = chain(both, "OR", lambda a, b: a or b)

    try:
        ok = either()
    except ValueError:
        return None
    return ok if pos == len(tokens) else None


# A meta key holding a licence: one of LICENSE_KEYS; after the record's own meta held that key,
# name_2, name_3 (readers.meta.add_field); a meta_fields name reaching inside, meta.license
_LICENCE_KEY = re.compile(rf"(?:.*\.)?({'|'.join(LICENSE_KEYS)})(?:_[0-9]+)?", re.S)


def licence_values(fields) -> list:
    """The licences a record's meta gives (each a value: text, a list): those of the first of
    LICENSE_KEYS it has, with its ``license_2``... and dotted ``meta.license`` (every one of
    them, so a GPL ``license_2`` beside an MIT ``license`` is not taken for MIT alone)."""
    if not isinstance(fields, dict):
        return []
    keys = [k for k in fields if "lic" in k]  # a comprehension first: the rest of the meta at C speed
    if len(keys) == 1 and keys[0] in LICENSE_KEYS:  # nearly every record: one licence field
        return [fields[keys[0]]] if fields[keys[0]] not in (None, "", []) else []
    found: dict = {}
    for k in keys:
        m = _LICENCE_KEY.fullmatch(k)
        if m and fields[k] not in (None, "", []):
            found.setdefault(m.group(1), []).append(fields[k])
    return next((found[k] for k in LICENSE_KEYS if k in found), [])


def license_verdict(meta: str | None, allow: frozenset) -> int:
    """0 (allowed), NOT_ALLOWED or UNKNOWN for a record's ``meta`` JSON."""
    try:
        fields = json.loads(meta) if meta else {}
    except ValueError:
        return UNKNOWN
    values = [x for v in licence_values(fields) for x in (v if isinstance(v, list) else [v])] or [None]
    verdicts = [_expression_ok(v, allow) if isinstance(v, str) else None for v in values]
    if any(v is None for v in verdicts):
        return UNKNOWN
    return 0 if all(verdicts) else NOT_ALLOWED
