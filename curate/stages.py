"""The stage registry: one name per stage everywhere (config, --stages, ledger, stats).

A per-batch stage is a class with ``DEFAULTS`` (its config section), ``__init__(cfg)``
(validates; raises ValueError naming the field), ``setup()`` (loads models once per worker)
and ``process(batch) -> (kept, ledger)``. Optional: ``SHAPES`` (key -> the types a key
accepts when that is more than its default's type, e.g. a list, a table or "all") and
``check()`` (checks that need a model or file, e.g. language codes against the model's
labels; run with the config checks, before anything runs). Stages that need a global step (dedup, the
quality top-fraction, rebalance) also have a Beam transform in ``pipelines/``; their
library half still lives here.
"""
from __future__ import annotations

import importlib
import importlib.util

from curate.schema import STAGES

IMPLEMENTATIONS = {
    "langid": "curate.langid:LangID",
    "filter": "curate.filters:Filter",
    "urldedup": "curate.urldedup:UrlDedup",
    "linededup": "curate.linededup:LineDedup",
    "decontaminate": "curate.decontaminate:Decontaminate",
    "dedup": "curate.dedup.stage:Dedup",
    "quality": "curate.quality:Quality",
    "rebalance": "curate.rebalance:Rebalance",
    "tokenize": "curate.tokenize:Tokenize",
}

# Columns each stage adds to the documents (curate.schema.STAGE_FIELDS).
COLUMNS = {
    "langid": ["language_score"],
    "linededup": ["linededup_lines", "linededup_chars"],
    "dedup": ["dup_group_size"],
    "quality": ["quality_score"],
    "rebalance": ["repeat", "num_tokens"],
    "tokenize": ["num_tokens"],
}


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def available() -> list[str]:
    """Stages this installation implements, in pipeline order."""
    out = ["ingest"]
    for s in STAGES[1:]:
        if _module_exists(IMPLEMENTATIONS[s].split(":")[0]):
            out.append(s)
    return out


def stage_class(name: str):
    module, cls = IMPLEMENTATIONS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def defaults(name: str) -> dict:
    if name == "ingest":
        from curate.readers.extract import DEFAULT

        return {"extractor": DEFAULT}
    return dict(stage_class(name).DEFAULTS)


def validate(name: str, section: dict) -> None:
    from curate.config import ConfigError

    if name == "ingest":
        from curate.readers.extract import EXTRACTORS

        ex = section.get("extractor")
        if ex not in EXTRACTORS:
            raise ConfigError(f"ingest.extractor: {ex!r} is not one of {', '.join(EXTRACTORS)}")
        if ex == "trafilatura" and not _module_exists("trafilatura"):
            raise ConfigError("ingest.extractor: 'trafilatura' is not installed (pip install 'curate[trafilatura]')")
        return
    try:
        stage = stage_class(name)(section)
        if hasattr(stage, "check"):
            stage.check()
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigError(f"{name}: {e}") from None


def columns(stages) -> list[str]:
    """The stage columns present after running ``stages``."""
    out = []
    for c in (c for s in STAGES if s in stages for c in COLUMNS.get(s, [])):
        if c not in out:
            out.append(c)
    return out
