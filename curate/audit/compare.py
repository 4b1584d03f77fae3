"""``curate audit DIR --compare OLD``: what changed between two outputs (yesterday's and today's).

Ids are stable across runs (a hash of the source and the record's own id or its path and
offset), so documents are matched by id: kept in both, newly kept (and what happened to each
before: removed by which rule, or not among the old inputs), no longer kept (removed now by
which rule, or gone from the inputs). Beside that: the settings that differ, the input files
added, removed or changed, package versions, each rule's removals and the tokens written.
Only the id, stage and rule columns are read (and text/'s ``edits``: which rule changed which
kept document, where both outputs have it), every id of both outputs in memory at once."""
from __future__ import annotations

import json

import polars as pl

from curate import output, shell
from curate.shell import one_line
from curate.audit.scan import _is_edits, scan_parquet

SAMPLE = 3  # ids shown per group, to look up with --why


def _fates(root: str, files: dict[str, list[str]]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """id -> fate ("kept", "stage/rule" or "quarantined") of every document of an output, and
    (id, "stage/rule") of every change text/'s ``edits`` column records (None where a text file
    has no such column: an output written before it, or by a run of no stage that edits). Each
    text file is read once, its id and edits together (on a bucket a second pass re-downloads)."""
    kept, edits, recorded = [], [], True
    for f in files["text"]:
        lf = scan_parquet(f"{root}/{f}")
        if recorded and _is_edits(lf.collect_schema().get("edits")):
            rules = pl.col("edits").list.eval(pl.element().struct.field("stage") + "/" + pl.element().struct.field("rule"))
            df = lf.select("id", rules=rules).collect()
            edits.append(df.explode("rules").drop_nulls("rules").rename({"rules": "rule"}))
            kept.append(df.select("id"))
        else:
            recorded = False
            kept.append(lf.select("id").collect())
    frames = [k.select("id", fate=pl.lit("kept")) for k in kept]
    frames += [scan_parquet(f"{root}/{f}").select("id", fate=pl.col("stage") + "/" + pl.col("rule")).collect() for f in files["ledger"]]
    fates = pl.concat(frames) if frames else pl.DataFrame(schema={"id": pl.String, "fate": pl.String})
    return fates, (pl.concat(edits).unique() if recorded and edits else None)


def edit_lines(a: pl.DataFrame | None, b: pl.DataFrame | None) -> list[str]:
    """Kept documents changed inside, per stage/rule, before and now, with a few ids whose
    entry came or went: a setting that changes what a rewrite or cut does changes no fate."""
    if a is None and b is None:
        return []
    if a is None or b is None:
        return [f"changed inside kept documents: not recorded {'before' if a is None else 'now'} (no edits column: an output "
                "written before 2026-12-05, or by a run without filter, linededup or decontaminate)"]
    moved = a.join(b, on=["id", "rule"], how="anti").vstack(b.join(a, on=["id", "rule"], how="anti"))
    ca, cb = dict(a.group_by("rule").len().iter_rows()), dict(b.group_by("rule").len().iter_rows())
    rows = []
    for r in sorted(ca.keys() | cb.keys()):
        ids = sorted(moved.filter(pl.col("rule") == r)["id"].to_list())[:SAMPLE]
        if ids:
            rows.append(one_line(f"  {r} {ca.get(r, 0):,} -> {cb.get(r, 0):,} ({cb.get(r, 0) - ca.get(r, 0):+,}; e.g. {', '.join(ids)})"))
    return [Block("changed inside kept documents (edits), documents per rule:" + "".join(f"\n{r}" for r in rows)) if rows
            else "changed inside kept documents (edits): the same documents by the same rules"]


def _flat(d, prefix: str = "") -> dict:
    if not isinstance(d, dict):
        return {prefix: d}
    out = {}
    for k, v in d.items():
        out |= _flat(v, f"{prefix}.{k}" if prefix else k)
    return out


def config_lines(old: dict, new: dict) -> list[str]:
    """Every setting that differs, ``key old -> new`` (where and how a run was written left out);
    a stage only one of the runs ran (its section absent from the other's config) is one line,
    ``langid: not run -> run``, not each of its settings from null."""
    from curate.config import NOT_CONTENT, respelt_sections
    from curate.schema import STAGES

    old = respelt_sections(old, new)  # an older curate's spelling (13.0, ./bad.txt, ./in/): as a rerun compares it
    once = {s for s in STAGES if (s in old) != (s in new)}
    a, b = (_flat({k: v for k, v in c.items() if k != "inputs" and k not in once}) for c in (old, new))
    out = []
    for k in sorted(a.keys() | b.keys() | once):
        if k in once:
            out.append(f"{k}: {'not run -> run' if k in new else 'run -> not run'}")
        elif k not in NOT_CONTENT and a.get(k) != b.get(k):
            out.append(f"{k}: {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}")
    return out + input_lines(old.get("inputs") or [], new.get("inputs") or [])


def input_lines(old: list, new: list) -> list[str]:
    """The [[inputs]] tables that differ: those in both unchanged are left out, the others paired
    in order, each differing field a line (``inputs[0].source: "web" -> "c4"``, numbered as in
    NEW), and a table only one of them has said whole (``inputs[2]: added {...}``). Tables in
    both but in another order are one line: a file that two globs match is read by the first
    (its domain, source and ids), so the order can change the output."""
    rest = list(enumerate(new))  # (position, table): a table given twice is two positions
    gone, kept = [], []  # kept: (position in NEW, table) of those in both, in OLD's order
    for i, t in enumerate(old):
        same = next((j for j, (_, u) in enumerate(rest) if u == t), None)
        if same is None:
            gone.append((i, t))
        else:
            kept.append(rest.pop(same))
    out = []
    if kept != sorted(kept, key=lambda p: p[0]):
        globs = lambda ts: json.dumps([t.get("glob") for _, t in ts])  # noqa: E731
        out.append(f"inputs reordered: {globs(kept)} -> {globs(sorted(kept, key=lambda p: p[0]))} "
                   "(a file more than one glob matches is read by the first)")
    for (_, a), (at, b) in zip(gone, rest):
        fa, fb = _flat(a), _flat(b)
        out += [f"inputs[{at}].{k}: {json.dumps(fa.get(k))} -> {json.dumps(fb.get(k))}" for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)]
    out += [f"inputs[{i}]: removed {json.dumps(t, sort_keys=True)}" for i, t in gone[len(rest):]]
    out += [f"inputs[{i}]: added {json.dumps(t, sort_keys=True)}" for i, t in rest[len(gone):]]
    return out


def _groups(df: pl.DataFrame, col: str) -> str:
    """'filter/gopher_min_words 12 (e.g. id1, id2), ...', largest first."""
    g = df.group_by(col).agg(n=pl.len(), ids=pl.col("id").sort().head(SAMPLE)).sort(["n", col], descending=[True, False])
    return "; ".join(f"{r[col]} {r['n']:,} (e.g. {', '.join(r['ids'])})" for r in g.iter_rows(named=True))


def _tokens(root: str) -> dict | None:
    try:
        return json.loads(output.read_bytes(output.folder_manifest(output.join(root, "tokens")))).get("tokens") or {}
    except FileNotFoundError:
        return None


def source_lines(old: dict, new: dict) -> list[str]:
    """Tokens per domain/source (tokens.json's per_source) that differ: a source losing documents
    while another of its domain grew leaves the domain's count as it was ({}: no tokens/, none).
    [] where a tokens.json has no per_source (written before it): not a source's tokens gone."""
    if any(t and "per_source" not in t for t in (old, new)):
        return []
    a, b = ({f"{d}/{s}": n for d, by in (t.get("per_source") or {}).items() for s, n in by.items()} for t in (old, new))
    if not a and not b:
        return []
    changed = [f"{k} {a.get(k, 0):,} -> {b.get(k, 0):,} ({b.get(k, 0) - a.get(k, 0):+,})" for k in sorted(a.keys() | b.keys()) if a.get(k, 0) != b.get(k, 0)]
    same = len(a.keys() | b.keys()) - len(changed)
    if not changed:
        return [f"tokens by source: the same ({same:,} source{'s' * (same != 1)})"]
    return [f"tokens by source: {', '.join(changed)}" + (f"; {same:,} source{'s' * (same != 1)} the same" if same else "")]


# what a versions entry that is no package's version means, said where it differs
VERSION_NOTES = {"curate_source": " (curate's own code and data files differ: another commit, or local edits)"}


def compare(old_root: str, new_root: str, old: dict, new: dict, old_files: dict, new_files: dict) -> list[str]:
    """The items ``--compare`` prints: OLD's manifest and files against NEW's. An item of several
    lines breaks at "\n" alone, each line's names escaped (one_line) as it is made: split at every
    newline afterwards, a name holding one read as two items."""
    lines = _Items()
    lines.append(f"comparing {new_root} (new) with {old_root} (old)")
    settings = config_lines(old.get("config") or {}, new.get("config") or {})
    lines.append(Block(f"config: {len(settings)} setting{'s differ' if len(settings) != 1 else ' differs'}" + "".join(f"\n  {one_line(s)}" for s in settings))
                 if settings else "config: the same settings")
    lines.append(f"input files: {output.input_changes(old.get('inputs'), new.get('inputs')) or 'the same files (size and fingerprint)'}")
    va, vb = old.get("versions") or {}, new.get("versions") or {}
    vers = [f"{k} {va.get(k)} -> {vb.get(k)}{VERSION_NOTES.get(k, '')}" for k in sorted(va.keys() | vb.keys()) if va.get(k) != vb.get(k)]
    lines.append(f"versions: {', '.join(vers) if vers else 'the same'}")
    (a, edits_a), (b, edits_b) = _fates(old_root, old_files), _fates(new_root, new_files)
    j = a.join(b, on="id", how="full", coalesce=True, suffix="_new").rename({"fate": "before", "fate_new": "now"})
    j = j.with_columns(pl.col("before").fill_null("not among the inputs"), pl.col("now").fill_null("not among the inputs"))
    kept_a, kept_b = j.filter(pl.col("before") == "kept"), j.filter(pl.col("now") == "kept")
    both = kept_a.filter(pl.col("now") == "kept").height
    lines.append(f"documents kept: {kept_a.height:,} -> {kept_b.height:,} ({both:,} in both)")
    newly, gone = kept_b.filter(pl.col("before") != "kept"), kept_a.filter(pl.col("now") != "kept")
    lines.append(f"  newly kept: {newly.height:,}" + (f"; before: {_groups(newly, 'before')}" if newly.height else ""))
    lines.append(f"  no longer kept: {gone.height:,}" + (f"; now: {_groups(gone, 'now')}" if gone.height else ""))
    ra = dict(a.filter(pl.col("fate") != "kept").group_by("fate").len().iter_rows())
    rb = dict(b.filter(pl.col("fate") != "kept").group_by("fate").len().iter_rows())
    rules = [f"{r} {ra.get(r, 0):,} -> {rb.get(r, 0):,} ({rb.get(r, 0) - ra.get(r, 0):+,})" for r in sorted(ra.keys() | rb.keys())
             if ra.get(r, 0) != rb.get(r, 0)]
    lines.append(Block("removed by rule:" + ("".join(f"\n  {one_line(r)}" for r in rules) if rules else " the same counts")))
    lines += edit_lines(edits_a, edits_b)
    qa, qb = ((m.get("counts") or {}).get("ingest", {}).get("quarantined", 0) for m in (old, new))
    if qa != qb:
        lines.append(f"quarantined: {qa:,} -> {qb:,}")
    ta, tb = _tokens(old_root), _tokens(new_root)
    if ta is not None or tb is not None:
        ta, tb = ta or {}, tb or {}
        doms = sorted((ta.get("per_domain") or {}).keys() | (tb.get("per_domain") or {}).keys())
        per = ", ".join(f"{d} {(ta.get('per_domain') or {}).get(d, 0):,} -> {(tb.get('per_domain') or {}).get(d, 0):,}" for d in doms)
        lines.append(f"tokens: {ta.get('total', 0):,} -> {tb.get('total', 0):,}" + (f" ({per})" if per else ""))
        lines += source_lines(ta, tb)
    lines.append("look a document up: " + shell.said(f"curate audit {shell.quote(new_root)} --why ID (and {shell.quote(old_root)} for before)",
                                                     new_root, old_root))
    return list(lines)


class Block(str):
    """An item of several lines, each escaped (one_line) as it was made."""


class _Items(list):
    """compare's items: a Block as it is, any other escaped whole (one_line) as it is added."""

    def append(self, item: str) -> None:
        super().append(item if isinstance(item, Block) else one_line(item))

    def __iadd__(self, items):
        for item in items:
            self.append(item)
        return self
