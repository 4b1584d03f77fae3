"""The document-level bad-words rule (C4 practice), per language."""
from __future__ import annotations

from typing import Optional

from curate.stages.filters.rules import TextDoc, Rule
from curate.stages.filters.text import count_words

BADWORDS = {
    # language -> file ("default": curate/data/badwords_<lang>.txt); zh entries match as substrings
    "lists": {"en": "default", "zh": "default"},
    "max_badwords": 0,  # C4: a page with any listed word is removed
}


def badwords(cfg: dict, lists: dict[str, list]) -> list:
    """``lists``: language -> compiled entries (see ``compile_words``). Value: distinct entries found."""

    def count(doc: TextDoc) -> Optional[int]:
        entries = lists.get(doc.lists_language)
        if entries is None:
            return None
        return count_words(doc, entries)

    return [Rule("badwords", count, "<=", cfg["max_badwords"])]

