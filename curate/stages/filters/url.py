"""URL rules (C4, RefinedWeb practice): a blocked domain, banned words in the URL."""
from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from curate.stages.filters.rules import TextDoc, Rule

URL = {
    "domain_blocklist": "default",  # file of domains ("default": curate/data/url_blocklist.txt, "": none)
    "banned_words": "default",  # file of URL substrings ("default": curate/data/url_banned_words.txt)
    "max_banned_words": 0,
}


def url_host(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def url_rules(cfg: dict, blocklist: set, banned: list) -> list:
    def blocked(doc: TextDoc) -> Optional[int]:
        if not doc.url or not blocklist:
            return None
        parts = url_host(doc.url).lower().split(".")
        return int(any(".".join(parts[i:]) in blocklist for i in range(len(parts))))

    def banned_words(doc: TextDoc) -> Optional[int]:
        if not doc.url or not banned:
            return None
        low = doc.url.lower()
        return sum(1 for w in banned if w in low)

    return [
        Rule("url_domain_blocked", blocked, "<=", 0),
        Rule("url_banned_words", banned_words, "<=", cfg["max_banned_words"]),
    ]

