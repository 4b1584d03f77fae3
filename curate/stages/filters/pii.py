"""Optional PII redaction (off by default: add "pii" to a domain's rule sets).

A rewrite, not a filter: e-mail addresses, IP addresses and phone numbers are replaced by
a placeholder and counted (stage counters ``pii_email``, ``pii_ip``, ``pii_phone``).
The patterns are conservative so that ordinary numbers (years, prices, version strings
with fewer than four parts) survive: a phone number needs a leading ``+``, parentheses
around the area code, or the 3-3-4 dash/dot grouping.
"""
from __future__ import annotations

import re

from curate.stages.filters.redact import Rewrite, redaction

PII = {
    "kinds": ["email", "ip", "phone"],
    "placeholder": "<{KIND}>",  # {KIND} / {kind}: the kind, upper / lower case
}

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_H = r"[0-9A-Fa-f]{1,4}"
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Not the tail of a longer dotted number (an OID such as 2.16.840.1.101.3.4.2.1).
_IPV4 = re.compile(rf"\b(?<![.\d]){_OCTET}(?:\.{_OCTET}){{3}}\b(?!\.\d)")
_IPV6 = re.compile(
    rf"(?<![\w:])(?:{_H}:){{7}}{_H}(?![\w:])"  # full form
    rf"|(?<![\w:])(?:{_H}:){{1,6}}:(?:{_H}:){{0,5}}{_H}(?![\w:])"  # compressed (needs '::')
)
# Each phone form starts with a literal character where it can ("+", "(", lookbehinds after
# it), so that the regex engine jumps between candidates instead of trying every position.
_PHONE_INTL = re.compile(r"\+(?<![\w+]\+)[1-9]\d{0,2}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}(?!\w)")
_PHONE_PARENS = re.compile(r"\((?<!\w\()\d{3}\)\s?\d{3}[\s.-]\d{4}(?!\w)")  # (555) 123-4567
_PHONE_DASHES = re.compile(r"(?<![\w.-])\d{3}([.-])\d{3}\1\d{4}(?![\w-])")  # 555-123-4567, 555.123.4567


_SIGNED_DECIMAL = re.compile(r"\+\d+\.\d+")


def _phone_digits_ok(m: re.Match) -> bool:
    # A phone number has 7..15 digits (E.164); shorter runs are something else, and so is a
    # signed decimal (a format test's "+3.140000").
    return 7 <= sum(c.isdigit() for c in m.group()) <= 15 and not _SIGNED_DECIMAL.fullmatch(m.group())


def _ipv6_ok(m: re.Match) -> bool:
    # An address has a digit and three groups or a four-digit one (fe80::1, 2001:db8::1), not
    # code: a Python slice (children[3::3], a[10::20]) or a C++/Rust path (dead::beef).
    groups = [g for g in m.group().split(":") if g]
    return any(c.isdigit() for c in m.group()) and (len(groups) >= 3 or any(len(g) == 4 for g in groups))


# kind -> [(cheap test the text must pass, pattern, extra check on a match)]: a regex that
# cannot start with a literal tries every position, so it runs only on texts that can match.
_MAYBE_IPV4 = re.compile(r"\.\d{1,3}\.\d{1,3}\.\d")
_MAYBE_IPV6 = re.compile(r":[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]")
_MAYBE_DASHES = re.compile(r"-\d{3}-\d{4}|\.\d{3}\.\d{4}")
PATTERNS = {
    "email": [(lambda t: "@" in t, _EMAIL, None)],
    "ip": [
        (lambda t: _MAYBE_IPV4.search(t) is not None, _IPV4, None),
        (lambda t: _MAYBE_IPV6.search(t) is not None, _IPV6, _ipv6_ok),
    ],
    "phone": [
        (lambda t: "+" in t, _PHONE_INTL, _phone_digits_ok),
        (lambda t: "(" in t, _PHONE_PARENS, None),
        (lambda t: _MAYBE_DASHES.search(t) is not None, _PHONE_DASHES, None),
    ],
}


def pii_rewrite(cfg: dict) -> Rewrite:
    return redaction("pii", PATTERNS, cfg["kinds"], cfg["placeholder"])
