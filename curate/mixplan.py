"""A dry run of the mix: re-plan [rebalance] from the documents that reached it, in seconds.

Rebalance's plan reads six columns of each document (``schema.CANDIDATES_SCHEMA``: id, domain,
source, language, num_tokens, dup_group_size), never the text. A run with the rebalance stage
writes them as ``DIR/candidates/`` through the output's own shard writer (sorted by id, atomic,
listed in the manifest with sizes and sha256), and the manifest's ``candidates`` entry says what
made them: the tokenizer that counted ``num_tokens`` (its ``info``, with the file's sha256 for a
tokenizer.json) and the config of every stage before rebalance (with the inputs and limits).

``replan`` feeds the table through RebalanceStage's own ``histogram``, ``plan`` and ``repeats``:
the histogram is integer sums, independent of how the documents are batched, so the plan (its
cutoffs, stats, or InfeasibleMix with its advice) is the one a full run with those settings
computes. Only ``rebalance.*`` may change: anything else changes which documents reach
rebalance, or their token counts.

A run that InfeasibleMix stops keeps its candidates in ``DIR/.curate-candidates/`` (a folder
with its own manifest.json; ``KEPT``), named by the error; the previous output in DIR stays as
it was, and the next run that commits into DIR removes the folder (curate.commit).
"""
from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from curate import commit, output, schema, shell
from curate.commit import KEPT

ROWS = 1 << 16  # candidates per batch in a re-plan


def candidates(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The columns of a counted batch the plan reads (a column a run lacks, e.g. dup_group_size
    without dedup, is null: the stage reads it so too)."""
    cols = []
    for f in schema.CANDIDATES_SCHEMA:
        i = batch.schema.get_field_index(f.name)
        cols.append(batch.column(i).cast(f.type) if i >= 0 else pa.nulls(batch.num_rows, f.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema.CANDIDATES_SCHEMA)


def _plain(x):
    """As the manifest's JSON holds it (tuples as lists), so a loaded config compares equal."""
    return json.loads(json.dumps(x, sort_keys=True, default=str))


def before(cfg: dict) -> dict:
    """The config that decides which documents reach rebalance: the stages before it, theirs
    sections, the inputs and limits (``cfg``: ``Config.to_dict()``)."""
    stages = cfg["run"]["stages"]
    names = stages[: stages.index("rebalance")]
    files = {k: v for k, v in (cfg.get("data_files") or {}).items() if k.split(".")[0] in names}  # their files' bytes
    return _plain({"stages": names, **{k: cfg.get(k) for k in ("inputs", "limits", *names)},
                   **({"user_code": cfg["user_code"]} if cfg.get("user_code") else {}),  # a custom rule's code
                   **({"data_files": files} if files else {})})


def tokenizer(section: dict | None) -> dict:
    """The info of the tokenizer rebalance counts with ([tokenize], used even when tokenize does not run)."""
    from curate.stages.tokenize import DEFAULTS, Encoder, TokenizeStage

    c = TokenizeStage({**DEFAULTS, **(section or {})}).cfg
    enc = Encoder(c["tokenizer"], c["eos"], c["eos_id"], 1)
    try:
        return _plain(enc.info())
    finally:
        enc.close()


def record(cfg) -> dict:
    """The manifest's ``candidates`` entry of a run (``cfg``: its Config)."""
    return {"tokenizer": tokenizer(cfg.stages.get("tokenize")), "before": before(cfg.to_dict()), "files": "candidates/*.parquet"}


def find(root: str) -> tuple[str, dict]:
    """(the folder, its manifest) whose candidates a dry run reads: ``root/.curate-candidates``
    when a run into ``root`` was stopped by its mix since the last commit, else ``root``."""
    commit.reachable(root, "curate mix")  # a bucket out of reach: said in seconds, not the client's 15 minutes
    fs, base = output._fs(root)
    if fs.get_file_info(base).type == pafs.FileType.File:  # a file was a NotADirectoryError traceback
        parent = os.path.dirname(root.rstrip("/")) or "."
        if os.path.basename(root.rstrip("/")) == output.MANIFEST:
            raise ValueError(f"{root}: the manifest of a curate output; give the output directory: "
                             f"{shell.said(f'curate mix {shell.quote(parent)}', parent)}")
        raise ValueError(f"{root}: a file, not a curate output directory; give the --output of a run")
    stopped = fs.get_file_info(f"{base}/{KEPT}/{output.MANIFEST}").type == pafs.FileType.File
    where = kept_folder(root) if stopped else root
    try:
        manifest = commit.read_manifest(where)
    except FileNotFoundError:
        if fs.get_file_info(base).type == pafs.FileType.NotFound:  # not there at all: no folder lacking a manifest
            raise ValueError(f"{root}: no such directory") from None
        raise ValueError(f"{root}: no {output.MANIFEST}; not a finished curate output (give the --output of a run)") from None
    stages = (manifest.get("config") or {}).get("run", {}).get("stages", [])
    if "rebalance" not in stages:
        raise ValueError(f"{root} was written without the rebalance stage ({', '.join(stages)}): there is no mix to re-plan; "
                         "run with rebalance in the stages first")
    if "candidates" not in manifest or "candidates" not in manifest.get("outputs", {}):
        raise ValueError(f"{root} was written before curate kept rebalance's candidates (its manifest lists no candidates/ "
                         f"table, curate {manifest.get('versions', {}).get('curate', '?')}): run it once more with this "
                         "version, then `curate mix` re-plans it in seconds")
    return where, manifest


def config(manifest: dict, path: str | None, sets: list[str]):
    """The Config of the dry run: ``path`` (else the config the run used) with the ``--set``s,
    which may change [rebalance] only; a config whose earlier stages or tokenizer differ from
    the run's is refused (its candidates would be other documents, or counted otherwise). The
    run's [run] table counts, not the file's: the stages it ran may have come from --stages."""
    from curate import config as config_mod

    for text in sets:
        key = config_mod.parse_set(text)[0]
        if key[0] != "rebalance" and ".".join(key[:2]) in config_mod.NOT_CONTENT:
            raise ValueError(f"--set {text}: curate mix changes rebalance.* only; {'.'.join(key)} says how a run runs, not "
                             "which documents reach rebalance (the same documents either way): leave it out")
        if key[0] != "rebalance":
            raise ValueError(f"--set {text}: curate mix changes rebalance.* only; {'.'.join(key)} changes the documents "
                             "that reach rebalance or their token counts: use `curate run` for it")
    # a CONFIG gives the stages' sections and the inputs; [run] (its stages, output, shards) is the run's
    cfg = config_mod.load(path, {"run": manifest["config"]["run"]}, sets=sets) if path else _own_config(manifest["config"], sets)
    where = path or "the run's config"
    if "rebalance" not in cfg.run["stages"]:
        raise ValueError(f"{where}: the rebalance stage is not among its stages ({', '.join(cfg.run['stages'])}): nothing to re-plan")
    if path:
        rec = manifest["candidates"]
        # what changes no document (dedup.hot_bucket) left out: an output of an older default too; the record as an
        # older curate spelt it (./bad.txt) as load spells it now; a file's bytes by its option (as a rerun says it)
        changed = config_mod.config_changes(rec["before"], before(cfg.to_dict()))
        if changed:
            raise ValueError(f"{path} differs from the config that wrote these candidates in {', '.join(changed)} (before "
                             "rebalance): other documents would reach the mix; run `curate run` with it, or give curate mix "
                             "no config (the run's own) and --set rebalance.* only")
        from curate.stages.tokenize import same_tokenizer  # one rule, the loader's too

        tok = tokenizer(cfg.stages.get("tokenize"))
        if not same_tokenizer(tok, rec["tokenizer"]):
            diff = ", ".join(f"{k} {rec['tokenizer'].get(k)!r} -> {tok.get(k)!r}" for k in sorted(tok) if tok.get(k) != rec["tokenizer"].get(k))
            raise ValueError(f"{path}: its tokenizer differs from the one that counted these candidates' tokens ({diff}): "
                             "the mix's token counts would differ; run `curate run` with it")
    return cfg


# the stages whose sections a re-plan reads: rebalance's, and langid's (the labels rebalance.languages may name)
REPLANNED = ("langid", "rebalance")


def _own_config(run_config: dict, sets: list[str]):
    """The run's own config (its manifest's) with the ``--set``s: rebalance's section (and langid's)
    checked as a run checks them, the other stages' as the run recorded them, not checked again: a
    re-plan runs none of them, and the files they name (an evaluation set, a word list, a
    tokenizer.json, kept relative to the folder the run was started from) need not be found from
    here, as its inputs need not (``inputs_since`` warns). Langid's and tokenize's own mistakes
    (a model, thresholds file or tokenizer.json typed relative, not found from here) are none
    either: no ``--set`` changes them and a re-plan runs neither; langid's labels are checked
    where its model is found."""
    from curate import config as config_mod

    base = _without_custom_rules(run_config)
    stages = list(base["run"]["stages"])
    base["run"] = {**base["run"], "stages": [s for s in stages if s in REPLANNED]}
    errors: list = []
    cfg = config_mod.load(base=base, sets=sets, errors=errors)
    errors = [e for e in errors if not e.startswith(("langid", "tokenize"))]
    if errors:
        raise config_mod.ConfigError(*errors)
    cfg.run["stages"] = stages
    return cfg


def _without_custom_rules(run_config: dict) -> dict:
    """The run's config without its filter.custom rules: a re-plan runs none, so their module
    need not be importable here (the output copied to another machine)."""
    cfg = json.loads(json.dumps(run_config))
    section = cfg.get("filter")
    if isinstance(section, dict) and isinstance(section.get("custom"), dict):
        names = set(section.pop("custom"))
        if isinstance(section.get("disable"), list):
            section["disable"] = [r for r in section["disable"] if r not in names]
    return cfg


def table(root: str, manifest: dict) -> pa.Table:
    """The candidates listed in the manifest, as one table."""
    fs, base = output._fs(root)
    parts = []
    for e in manifest["outputs"]["candidates"]:
        with fs.open_input_file(f"{base}/{e['file']}") as f:
            parts.append(pq.read_table(f, schema=schema.CANDIDATES_SCHEMA))
    return pa.concat_tables(parts) if parts else pa.Table.from_batches([], schema=schema.CANDIDATES_SCHEMA)


def replan(section: dict, cands: pa.Table) -> dict:
    """The rebalance stats and counts a run with ``section`` would write: the plan's stats and
    ``rebalance.docs_in``/``docs_out``/``removed.RULE``. Raises the plan's InfeasibleMix."""
    from curate.stages.rebalance import RebalanceStage

    stage = RebalanceStage(section)
    batches = cands.to_batches(max_chunksize=ROWS)
    acc = stage.new_accumulator()
    for b in batches:
        acc = stage.histogram(acc, b)
    plan = stage.plan(acc)
    kept = not_in_mix = 0
    for b in batches:
        g, reps, _ = stage.repeats(b, plan)
        kept += int((reps > 0).sum())
        not_in_mix += int((g < 0).sum())
    counts = {"rebalance.docs_in": cands.num_rows, "rebalance.docs_out": kept}
    removed = {"sampled_out": cands.num_rows - kept - not_in_mix, "not_in_mix": not_in_mix}
    counts.update({f"rebalance.removed.{r}": n for r, n in removed.items() if n})
    return {**plan["stats"], **counts}


def rows(stats: dict) -> list[tuple]:
    """(group, target, achieved, tokens, available tokens, epochs) per row of the mix's stats."""
    pre, out = "rebalance.mix.", {}
    for k, v in stats.items():
        if k.startswith(pre):
            g, field = k[len(pre):].rsplit(".", 1)
            out.setdefault(g, {})[field] = v
    return [(g, r["target"], r["achieved"], r["tokens"], r["available_tokens"], r["epochs"]) for g, r in sorted(out.items())]


def kept_folder(root: str) -> str:
    """ROOT/KEPT, a bucket's with '/', a local one's (sub/a://b, the folder 'a:') with the OS's separator (is_uri)."""
    from curate.readers import is_uri

    return f"{root.rstrip('/')}/{KEPT}" if is_uri(root) else os.path.join(root, KEPT)
