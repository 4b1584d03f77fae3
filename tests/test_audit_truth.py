"""What `curate audit` says of a run, checked against counts made here from the output files and
the inputs with pyarrow, json and collections (no curate code): documents, characters, bytes,
tokens, shares, removals per stage and rule, quarantine, duplicate groups, every record read
accounted for once (ids repeating across and within inputs), tokens decoding to the kept text,
and every rule a ledger can name documented for the user who reads it there."""
from __future__ import annotations

import collections
import json
import math
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])


def test_every_rule_a_ledger_can_name_is_documented():
    """A ledger row names its rule (`gopher_ellipsis_lines`, value 1, threshold 0.3); the user
    looks it up in README.md or docs/. 21 of the filter's rules were named nowhere there (only in
    a module docstring): `gopher_ellipsis_lines` removed a real ccnet page without a word on what
    it measures."""
    from curate import stages
    from curate.stages.filters import Filter

    names = set(stages.ledger_rules()) | {r for rules in Filter({}).rule_sets().values() for r in rules}
    missing = sorted(r for r in names if f"`{r}`" not in DOCS)
    assert not missing, f"ledger rules named nowhere in README.md or docs/: {missing}"
