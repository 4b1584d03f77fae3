"""The stage table: one declaration per stage, from which everything else is derived.

The pipeline order, the names used everywhere (config sections, --stages, ledger, stats),
the columns each stage adds (curate.schema), the config defaults and checks (curate.config),
the CLI's stage list and the pipeline's wiring (pipelines/pipeline.py) all read ``TABLE``.
Adding a stage = its module(s) here (and in pipelines/ when it needs a global step) plus one
line in ``TABLE``.

A stage's library class has ``DEFAULTS`` (its config section), ``__init__(section)``
(validates; raises ValueError naming the field), ``setup()`` (loads models once per worker)
and ``process(batch) -> (kept, ledger)``. Optional, read by ``config.load``: ``CHECKS`` (key ->
``config.Check``: ranges and choices), ``OPEN_KEYS`` (tables whose keys the user chooses),
``NUMBERS`` (a Check for every number without its own), ``SHAPES`` (key -> the types a key
accepts when that is more than its default's type, e.g. a list, a table or "all") and
``check()`` (checks that need a model or file, run with the config checks before anything
runs). A stage with a global step names a Beam transform; it is built like every other
stage transform, ``Transform(section, context)`` (pipelines/common.StageContext).

This module imports nothing of curate: classes are named as "module:Class" strings and
loaded when used, so the core (schema, config) can read the table without import cycles.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class StageSpec:
    name: str
    library: str  # "module:Class": DEFAULTS, __init__(section), setup(), process(batch)
    columns: dict = field(default_factory=dict)  # column -> Arrow type, added to the documents
    transform: str | None = None  # "module:Class" of its Beam transform, when it needs a global step
    opt_in: bool = False  # runs only when named in run.stages or when its section is given
    needs: tuple = ()  # other stages whose sections its transform receives (StageContext.peers)
    rules: tuple = ()  # the ledger rules it writes (the README's stage table); the filter's are its config's


# ``edits``: one entry per change a stage made inside a document it kept (null: unchanged):
# the stage, its rule (a rewrite's name, line dedup's "boilerplate_lines", decontamination's
# eval_overlap / eval_near_copy), how many matches it changed (lines, windows, redactions), the
# characters removed (length before minus after; a placeholder longer than what it replaced
# makes it negative) and a detail (the kinds redacted, the evaluation items matched).
EDITS = {"edits": pa.list_(pa.struct([("stage", pa.string()), ("rule", pa.string()), ("count", pa.int64()),
                                       ("chars", pa.int64()), ("detail", pa.string())]))}

TABLE = (
    StageSpec("ingest", "curate.readers.extract:IngestSettings", rules=(
        "empty_text", "http_status", "non_html_content", "vendored", "lock_file", "minified", "oversized_file",
        "unknown_language", "duplicate_id")),
    StageSpec("langid", "curate.stages.langid:LangID", {"language_score": pa.float32()},
              rules=("language_not_target", "language_score_below_threshold")),
    StageSpec("filter", "curate.stages.filters:Filter", EDITS),
    StageSpec("urldedup", "curate.stages.urldedup:UrlDedupStage", transform="pipelines.urldedup:UrlDedup", opt_in=True,
              rules=("url_duplicate",)),
    StageSpec(
        "linededup",
        "curate.stages.linededup:LineDedupStage",
        {"linededup_lines": pa.int32(), "linededup_chars": pa.int64(), **EDITS},  # boilerplate lines/characters removed
        transform="pipelines.linededup:LineDedup",
        opt_in=True,
        rules=("linededup_min_words", "linededup_min_chars"),
    ),
    StageSpec("decontaminate", "curate.stages.decontaminate:DecontaminateStage", EDITS, transform="pipelines.decontaminate:Decontaminate", opt_in=True,
              rules=("eval_overlap", "eval_near_copy")),
    # dup_group_size: the size of the duplicate group the survivor represents
    StageSpec("dedup", "curate.stages.dedup.stage:DedupStage", {"dup_group_size": pa.int32()}, transform="pipelines.dedup:Dedup",
              rules=("exact_duplicate", "near_duplicate")),
    StageSpec("quality", "curate.stages.quality:QualityStage", {"quality_score": pa.float32()}, transform="pipelines.quality:Quality",
              rules=("quality_below_threshold", "quality_below_top_fraction")),
    # repeat: copies of the document in the token mix; num_tokens: tokens including EOS
    StageSpec(
        "rebalance",
        "curate.stages.rebalance:RebalanceStage",
        {"repeat": pa.int32(), "num_tokens": pa.int64()},
        transform="pipelines.rebalance:Rebalance",
        needs=("tokenize",),  # counts tokens with the tokenizer tokenize uses
        rules=("sampled_out", "not_in_mix"),
    ),
    StageSpec(
        "tokenize",
        "curate.stages.tokenize:TokenizeStage",
        {"num_tokens": pa.int64()},
        transform="pipelines.tokenize:Tokenize",
        needs=("rebalance",),  # the targets, recorded in tokens.json
    ),
)

BY_NAME = {s.name: s for s in TABLE}
NAMES = tuple(s.name for s in TABLE)  # pipeline order
OPT_IN = tuple(s.name for s in TABLE if s.opt_in)


def load(spec: str):
    """The object a "module:Name" string names."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def stage_class(name: str):
    return load(BY_NAME[name].library)


def defaults(name: str) -> dict:
    return dict(stage_class(name).DEFAULTS)


def ledger_rules() -> dict:
    """rule -> the stage whose ledger rule it is, for every stage but the filter (whose rules are
    its config's): a name a rule of one's own may not take."""
    return {r: s.name for s in TABLE for r in s.rules}


def column_types() -> dict:
    """Every stage column with its one type (a column two stages add has one declaration's type)."""
    out: dict = {}
    for s in TABLE:
        for c, t in s.columns.items():
            if out.setdefault(c, t) != t:
                raise TypeError(f"stage column {c!r} declared with two types")
    return out


def columns(stages) -> list[str]:
    """The stage columns present after running ``stages``."""
    out = []
    for c in (c for s in TABLE if s.name in stages for c in s.columns):
        if c not in out:
            out.append(c)
    return out
