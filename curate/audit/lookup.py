"""``curate audit DIR --why KEY``: where one document went and why, in one line per match.

KEY is curate's id, the record's own id (``source_id``), its URL or its input path (a book, a
quarantined file; also as ``SOURCE/PATH``, the way a run names a file; a code dump's record by its file's path too: ``octo/app/src/main.py`` finds
``dump.jsonl:octo/app/src/main.py``). Every record ends in exactly one of text/, the ledger or the quarantine, so
the answer is the row that holds it: kept (with the columns the stages added), removed (stage,
rule, the language label, the value it measured and the threshold; for a duplicate, the fate of
the copy kept instead, as ``--rule`` also gives it) or quarantined (reason and detail). Each table is scanned once with the keys as a
filter (polars reads only the matching row groups' columns)."""
from __future__ import annotations

import polars as pl

from curate.audit.scan import scan_parquet

KEYS = ("id", "source_id", "url", "path")  # the columns a key may name, in the order tried


SCHEME = r"^[A-Za-z][A-Za-z0-9+.\-]*://"


def url_key(url: pl.Expr) -> pl.Expr:
    """A URL without scheme, leading ``www.`` and trailing slash, its host in lower case: Dolma's
    and C4's url fields often lack the scheme a WARC's target URI has, a user pastes either form,
    and hosts (schemes too) are case-insensitive, paths not (http://ActiveCities.com/a is
    http://activecities.com/a, not .../A)."""
    u = url.str.replace(SCHEME, "")
    u = u.str.extract(r"^([^/?#]*)", 1).str.to_lowercase() + u.str.replace(r"^[^/?#]*", "")
    return u.str.replace(r"^www\.", "").str.strip_suffix("/")


def _record_file(path: pl.Expr, key: str) -> pl.Expr:
    """Whether ``key`` is a code dump record's file, ``dump.jsonl:octo/app/src/main.py`` after a
    colon: the path's end, since the dump's name may hold colons (``2024-01-01T00:00.jsonl``)
    and so may the repository's (``gitlab:octo/app``); a leading ``/`` or ``./`` of ``key`` as
    the path column leaves it out (``jsonl.file_part``)."""
    from curate.readers.jsonl import file_part

    hit = path.str.ends_with(":" + key)
    return hit if file_part(key) in (key, "") else hit | path.str.ends_with(":" + file_part(key))


def _input_file(df) -> pl.Expr | None:
    """``SOURCE/PATH``: an input file as a run's "input files differ" and ``--compare`` name it
    (``crawl/a.warc.gz``); None where the rows have no source or path."""
    return pl.col("source") + "/" + pl.col("path") if {"source", "path"} <= set(df.collect_schema().names()) else None


def _scan(root: str, files: list[str], keys: list[str]) -> pl.DataFrame:
    """Rows of the kind's shards whose id, source_id, url (as ``url_key``) or path is one of the keys."""
    frames = []
    url_keys = pl.Series(keys, dtype=pl.String).to_frame("k").select(url_key(pl.col("k")))["k"].to_list()
    for rel in files:
        lf = scan_parquet(f"{root}/{rel}")
        cols = [c for c in KEYS if c in lf.collect_schema()]
        hit = pl.any_horizontal([pl.col(c).cast(pl.String).is_in(keys) for c in cols]
                                + [url_key(pl.col("url")).is_in(url_keys)] * ("url" in cols)
                                + [_record_file(pl.col("path"), k) for k in keys if "path" in cols]
                                + [f.is_in(keys) for f in [_input_file(lf)] if f is not None])
        frames.append(lf.filter(hit).drop("text", strict=False).with_columns(file=pl.lit(rel)).collect())
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _num(v) -> str:
    return "–" if v is None else f"{v:,.0f}" if float(v).is_integer() else f"{v:.4g}"


def _origin(r: dict) -> str:
    own = f", your id {r['source_id']}" if r.get("source_id") is not None else ""
    where = r.get("url") or f"{r.get('path')} @ {r.get('offset')}"
    return f"{r.get('domain')}/{r.get('source')} {where}{own}"


def _kept(r: dict) -> str:
    extra = [f"{c} {r[c]}" if isinstance(r[c], str) else f"{c} {_num(r[c])}" for c in
             ("language", "language_score", "quality_score", "dup_group_size", "repeat", "num_tokens") if r.get(c) is not None]
    earlier = _earlier_edits(r.get("meta"))
    return (f"kept in {r['file']}" + (f" ({', '.join(extra)})" if extra else "") + "".join(f"; {_edit(e)}" for e in r.get("edits") or ())
            + (f"; before this run (meta.earlier_edits): {'; '.join(map(_edit, earlier))}" if earlier else ""))


def _earlier_edits(meta: str | None) -> list[dict]:
    """The changes the runs before this one made to a document re-curated from a curate output's
    text/ (``meta.earlier_edits``, carried by the readers), oldest first; [] for any other."""
    import json

    try:
        earlier = json.loads(meta).get("earlier_edits") if meta else None
    except (ValueError, AttributeError):
        return []
    ok = isinstance(earlier, list) and all(isinstance(e, dict) and isinstance(e.get("count"), int) and isinstance(e.get("chars"), int)
                                           and {"stage", "rule"} <= e.keys() for e in earlier)
    return [{"detail": None, **e} for e in earlier] if ok else []


UNITS = {"eval_overlap": ("window", "windows"), "eval_near_copy": ("near copy", "near copies"), "boilerplate_lines": ("line", "lines")}


def chars_removed(n: int, unit: str = " chars") -> str:
    """An edit's ``chars`` (length before minus after) in words: "118 chars" removed, or "3 chars
    added" where a placeholder is longer than what it replaced (``<EMAIL>`` for ``a@b.io``)."""
    return f"{n:,}{unit}" if n >= 0 else f"{-n:,}{unit} added"


def _edit(e: dict) -> str:
    """One change a stage made to a kept document: "cut by decontaminate (humaneval:HumanEval/0:
    2 windows, 118 chars)", "rewritten by filter secrets (secrets_token 1, 34 chars)"."""
    verb = "cut by" if e["stage"] in ("decontaminate", "linededup") else "rewritten by"
    what = e["detail"] if e["stage"] != "decontaminate" else None
    count = f"{e['count']:,} {UNITS[e['rule']][e['count'] != 1]}" if e["rule"] in UNITS else None
    head = f"{e['detail']}: " if e["stage"] == "decontaminate" and e.get("detail") else ""
    parts = ", ".join(p for p in (what, count, chars_removed(e["chars"])) if p)
    return f"{verb} {e['stage']} {e['rule']} ({head}{parts})"


def _removed(r: dict) -> str:
    # the label the removal was decided under: langid's "not a target language" is a score of it,
    # and the filters' thresholds are per language
    lang = f"language {r['language']}, " if r.get("language") else ""
    out = f"removed at {r['stage']} by {r['rule']} ({lang}value {_num(r.get('value'))}, threshold {_num(r.get('threshold'))})"
    if r["rule"] == "quality_below_top_fraction" and r.get("value") is not None and r.get("threshold") is not None \
            and r["value"] >= r["threshold"]:  # the cutoff's bin: its near-ties are drawn by id (docs/quality.md)
        out += "; a near-tie at the cutoff, drawn out by a hash of its id for the share top_fraction keeps"
    return out


def _fates(root: str, files: dict[str, list[str]], ledger: pl.DataFrame, depth: int = 4) -> dict[str, str]:
    """kept_id -> "origin: kept" or "origin: removed at ...": the copy each duplicate of
    ``ledger`` gave way to, kept or removed by a later stage (as a duplicate: and the copy kept
    instead of it, ``depth`` copies deep; one a stage, so a few)."""
    copies = ledger.filter(pl.col("stage") != "decontaminate") if "stage" in ledger.columns else ledger
    kept_ids = copies["kept_id"].drop_nulls().to_list() if "kept_id" in ledger.columns else []
    fate: dict[str, str] = {}
    if kept_ids:
        for r in _scan(root, files["text"], kept_ids).filter(pl.col("id").is_in(kept_ids)).iter_rows(named=True):
            fate[r["id"]] = f"{_origin(r)}: kept"
        removed = _scan(root, files["ledger"], kept_ids).filter(pl.col("id").is_in(kept_ids))
        # a kept copy removed later as a duplicate in turn (url_duplicate, then exact_duplicate):
        # its text lives on in the copy kept instead of it, said with that one's fate
        then = _fates(root, files, removed, depth - 1) if removed.height and depth > 1 else {}
        for r in removed.iter_rows(named=True):
            fate[r["id"]] = f"{_origin(r)}: {_removed(r)}{_instead(r, then)}"
    return fate


def _instead(r: dict, fate: dict[str, str]) -> str:
    k = r.get("kept_id")
    if k and r.get("stage") == "decontaminate":  # its kept_id is the evaluation item matched, no copy kept
        return f"; evaluation item {k}"
    return f"; instead: {k}" + (f" ({fate[k]})" if k in fate else "") if k else ""


def why(root: str, keys: list[str], files: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(one line per matching row, the keys nothing matched). ``files``: each kind's shards."""
    text, ledger, quar = (_scan(root, files[k], keys) for k in ("text", "ledger", "quarantine"))
    fate = _fates(root, files, ledger)
    lines, found = [], set()
    for r in text.iter_rows(named=True):
        lines.append(f"{r['id']} ({_origin(r)}): {_kept(r)}")
    for r in ledger.iter_rows(named=True):
        line = f"{r['id']} ({_origin(r)}): {_removed(r)}{_instead(r, fate)}"
        if r.get("snippet"):
            line += f"; text: {' '.join(r['snippet'].split())[:80]!r}"
        lines.append(line)
    for r in quar.iter_rows(named=True):
        own = f" (your id {r['source_id']})" if r.get("source_id") is not None else ""
        lines.append(f"{r['path']} @ {r['offset']}{own}: quarantined at ingest: {r['reason']} ({r.get('detail')})")
    for df in (text, ledger, quar):
        for c in KEYS:
            if c in df.columns:
                found |= set(df[c].cast(pl.String).drop_nulls().to_list())
        if "url" in df.columns:
            found |= set(df.select(url_key(pl.col("url")))["url"].drop_nulls().to_list())
        if "path" in df.columns:
            found |= {k for k in keys if df.select(_record_file(pl.col("path"), k).any()).item()}
        if _input_file(df) is not None:
            found |= set(df.select(_input_file(df)).to_series().drop_nulls().to_list())
    norm = dict(zip(keys, pl.Series(keys, dtype=pl.String).to_frame("k").select(url_key(pl.col("k")))["k"].to_list()))
    return lines, [k for k in keys if k not in found and norm[k] not in found]


def twins(inputs: list[dict], keys: list[str]) -> list[str]:
    """A note per key that names several input files of one source as the path and source
    columns write names (``name_utf8``: a byte that is not UTF-8 as ``\\xNN``): a Latin-1
    ``caf\\xe9.jsonl`` and one literally so named. The rows of both are listed under one
    origin; the note names each file as a shell word (``$'caf\\xe9.jsonl'``: the Latin-1 one)."""
    from curate import shell
    from curate.readers.common import name_utf8

    written: dict[tuple, set] = {}
    for i in inputs:
        written.setdefault((name_utf8(i["source"]), name_utf8(i["path"])), set()).add((i["source"], i["path"]))
    notes = []
    for (source, path), files in sorted(written.items()):
        for k in keys:
            if len(files) > 1 and k in (path, f"{source}/{path}"):
                names = ", ".join(shell.quote(p) for _, p in sorted(files))
                notes.append(f"{k}: {len(files)} input files of {source} are written so in the path column ({names}): "
                             "the rows of each are listed")
    return notes


def known_rules(manifest: dict | None) -> dict[str, str]:
    """rule -> its stage, for every rule a ledger can name: the stages' own, the filter's built-in
    ones and the run's own (``filter.custom`` of the config its manifest holds)."""
    from curate import stages
    from curate.stages.filters import Filter

    custom = ((((manifest or {}).get("config") or {}).get("filter") or {}).get("custom")) or {}
    filtered = [r for rules in Filter({}).rule_sets().values() for r in rules] + [str(r) for r in custom]
    return {**stages.ledger_rules(), **dict.fromkeys(filtered, "filter")}


def _not_removed(root: str, rule: str, rules: list[tuple[str, int]], manifest: dict | None) -> str:
    """Why no ledger row is ``rule``'s: a rule curate knows that removed nothing here, or a name
    no stage, built-in rule or rule of the run's own has (a misspelling: the closest said)."""
    from curate.config import did_you_mean

    known = known_rules(manifest)
    for name, _ in rules:  # the ledger's (stage/rule), an older curate's too
        known.setdefault(name.split("/", 1)[-1], name.split("/", 1)[0])
    said = f"its ledger's rules: {', '.join(f'{r} {n:,}' for r, n in rules) or 'none'}"
    stage, _, bare = rule.rpartition("/")
    if known.get(bare) is not None and stage in ("", known[bare]):
        return f"no document of {root} was removed by {rule!r} (a rule of the {known[bare]} stage); {said}"
    choices = [*known, *(f"{s}/{r}" for r, s in known.items())] if stage else list(known)
    return f"unknown rule {rule!r}{did_you_mean(rule, choices)}: no stage, built-in filter rule or filter.custom rule of this run is named so; {said}"


def rule_sample(root: str, rule: str, files: dict[str, list[str]], k: int, manifest: dict | None = None) -> tuple[list[str], int]:
    """(a line per removed document, the rule's total): the ``k`` ledger rows of ``rule`` (or
    ``stage/rule``) with the smallest ids, a deterministic sample since ids are hashes."""
    frames = [scan_parquet(f"{root}/{f}").drop("text", strict=False) for f in files["ledger"]]
    if not frames:
        raise ValueError(f"{root}: no ledger: nothing was removed")
    led = pl.concat(frames, how="diagonal_relaxed").with_columns(sr=pl.col("stage") + "/" + pl.col("rule"))
    hit = led.filter((pl.col("rule") == rule) | (pl.col("sr") == rule))
    total = hit.select(pl.len()).collect().item()
    if not total:
        rules = led.group_by("sr").len().sort(["len", "sr"], descending=[True, False]).collect()
        raise ValueError(_not_removed(root, rule, rules.rows(), manifest))
    rows = hit.sort("id").head(k).collect()
    fate = _fates(root, files, rows)
    return [f"{r['id']} ({_origin(r)}): {_removed(r)}{_instead(r, fate)}"
            + (f"; text: {' '.join((r.get('snippet') or '').split())[:160]!r}") for r in rows.iter_rows(named=True)], total
