"""What `curate audit` says of a run, checked against counts made here from the output files and
the inputs with pyarrow, json and collections (no curate code): documents, characters, bytes,
tokens, shares, removals per stage and rule, quarantine, duplicate groups, every record read
accounted for once (ids repeating across and within inputs), tokens decoding to the kept text,
and every rule a ledger can name documented for the user who reads it there."""
from __future__ import annotations

import collections
import json
import math
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


BODY = "The harbour town kept its old customs, and every spring the fishermen painted their boats in bright colours. "


@pytest.fixture(scope="module")
def run(tmp_path_factory, corpora):
    """One run of every stage but quality (a model to load, no removal by default) and the opt-in ones over a real ccnet file, the same file again
    under another source (every id repeats across inputs: exact duplicates), a file of our own
    (an id given twice with two texts, an empty text, a broken line, a secret in a short
    page) and a small source tree (a vendored file, a binary), then `curate audit`."""
    from tests.test_audit_verify import curate

    base = tmp_path_factory.mktemp("truth")
    ccnet = corpora / "web" / "ccnet_cc_en_head-0174.jsonl"
    for d in ("web", "mirror", "tree/lib", "tree/node_modules/pad"):
        (base / d).mkdir(parents=True)
    shutil.copy(ccnet, base / "web" / ccnet.name)
    shutil.copy(ccnet, base / "mirror" / ccnet.name)
    own = [json.dumps({"id": "twice", "text": BODY * 5}), json.dumps({"id": "twice", "text": BODY * 4 + "Another ending."}),
           json.dumps({"id": "empty", "text": "  "}), '{"id": "cut", "text": "no end',
           json.dumps({"id": "key", "text": "deploy with token ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 now"})]
    (base / "web" / "own.jsonl").write_text("\n".join(own) + "\n")
    (base / "tree" / "lib" / "queue.py").write_text("def push(q, x):\n    q.append(x)\n    return len(q)\n" * 4)
    (base / "tree" / "node_modules" / "pad" / "index.js").write_text("module.exports = function (s) { return ' ' + s; };\n")
    (base / "tree" / "lib" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    cfg = base / "c.toml"
    cfg.write_text(f"""[run]\noutput = "{base / 'out'}"\nshards = 2\n
[[inputs]]\nglob = "{base / 'web'}/*.jsonl"\ndomain = "web"\nsource = "ccnet"\n
[[inputs]]\nglob = "{base / 'mirror'}/*.jsonl"\ndomain = "web"\nsource = "mirror"\n
[[inputs]]\nglob = "{base / 'tree'}"\ndomain = "code"\nformat = "source"\nsource = "tree"\n""")
    r = curate("run", cfg, "--progress", "off", "--stages", "ingest,langid,filter,dedup,rebalance,tokenize")
    assert r.returncode == 0, r.stderr
    a = curate("audit", base / "out")
    assert a.returncode == 0, a.stdout + a.stderr
    out = base / "out"
    read = {k: pq.read_table(out / k).to_pylist() for k in ("text", "ledger", "quarantine", "tokens")}
    records = 2 * sum(1 for line in ccnet.open(encoding="utf-8") if line.strip()) + len(own) + 3
    return dict(out=out, summary=json.loads((out / "stats" / "summary.json").read_text()), printed=a.stdout,
                tokens_json=json.loads((out / "tokens.json").read_text()), records=records, **read)


def test_every_record_read_is_accounted_for_once(run):
    T, L, Q = run["text"], run["ledger"], run["quarantine"]
    assert len(T) + len(L) + len(Q) == run["records"] == run["summary"]["funnel"][0]["docs_in"]
    where = collections.Counter((r["source"], r["path"], r["offset"]) for r in T + L + Q)
    assert [k for k, n in where.items() if n > 1] == []
    ids = [r["id"] for r in T + L]
    assert len(ids) == len(set(ids))
    # the mirror's copies: every ccnet record is in text/ once, its twin removed or both removed
    twins = collections.defaultdict(list)
    for r in T + L:
        if r["source"] in ("ccnet", "mirror") and r["path"].startswith("ccnet"):
            twins[r["source_id"]].append("text" if "stage" not in r else r["rule"])
    assert all(v.count("text") <= 1 and len(v) == 2 for v in twins.values()), twins
    assert any(v.count("text") == 1 for v in twins.values())


def test_audit_counts_match_a_recount(run):
    S, T, L, Q, K = run["summary"], run["text"], run["ledger"], run["quarantine"], run["tokens"]
    C = collections.Counter
    assert S["documents"]["total"] == len(T)
    assert S["documents"]["by_domain"] == dict(C(r["domain"] for r in T))
    assert S["documents"]["by_language"] == dict(C(r["language"] or "und" for r in T))
    assert S["characters"]["total"] == sum(len(r["text"]) for r in T)
    assert S["funnel"][-1]["bytes_out"] == sum(len(r["text"].encode()) for r in T)
    assert S["removed"]["total"] == len(L)
    rules = collections.defaultdict(C)
    for r in L:
        rules[(r["stage"], r["rule"])][r["domain"]] += 1
    got = {(s, rule): x["by_domain"] for s, v in S["removed"]["by_stage"].items() for rule, x in v["rules"].items()}
    assert got == {k: dict(v) for k, v in rules.items()}
    assert {k: v["total"] for k, v in S["quarantine"]["by_reason"].items()} == dict(C(r["reason"] for r in Q))
    src = collections.defaultdict(C)
    for kind, rows in (("kept", T), ("removed", L), ("quarantined", Q)):
        for r in rows:
            s = src[f"{r['domain']}/{r['source']}"]
            s[kind] += 1
            s["docs_in"] += 1
            s["characters"] += len(r["text"]) if kind == "kept" else 0
            s["characters_removed"] += (r["chars"] or 0) if kind == "removed" else 0
    for r in K:
        src[f"{r['domain']}/{r['source']}"]["tokens_in_mix"] += len(r["input_ids"])
    fields = ("docs_in", "kept", "removed", "quarantined", "characters", "characters_removed", "tokens_in_mix")
    assert {k: {f: v[f] for f in fields} for k, v in S["sources"].items()} == {k: {f: v[f] for f in fields} for k, v in src.items()}
    groups = collections.defaultdict(C)
    for r in T:
        n = r["dup_group_size"] or 1
        groups[r["domain"]][str(0 if n == 1 else math.ceil(math.log2(n)))] += 1
    assert S["dup_group_size"]["by_domain"] == {k: dict(v) for k, v in groups.items()}
    dedup = [r for r in L if r["stage"] == "dedup"]
    assert dedup and sum((r["dup_group_size"] or 1) - 1 for r in T) == len(dedup)
    in_mix = sum(len(r["input_ids"]) for r in K)
    assert S["tokens"]["in_mix"] == in_mix == run["tokens_json"]["tokens"]["total"]
    per = collections.defaultdict(C)
    for r in K:
        per[r["domain"]][r["language"] or "und"] += len(r["input_ids"])
    assert run["tokens_json"]["tokens"]["per_language"] == {k: dict(v) for k, v in per.items()}
    by_domain = ", ".join(f"{d} {n}" for d, n in sorted(C(r["domain"] for r in T).items()))
    assert f"{len(T)} documents ({by_domain}); {len(L)} removed; {len(Q)} quarantined" in run["printed"]


def test_tokens_decode_to_the_kept_text_and_rules_are_documented(run):
    import tiktoken

    from curate import stages
    from curate.stages.filters import Filter

    tok = run["tokens_json"]["tokenizer"]
    enc = tiktoken.get_encoding(tok["name"] + "_offline")  # the bundled copy: no network
    text = {r["id"]: r["text"] for r in run["text"]}
    for r in run["tokens"]:
        ids = r["input_ids"]
        assert max(ids) < tok["vocab_size"] and ids[-1] == tok["eos_id"] and tok["eos_id"] not in ids[:-1]
        assert enc.decode(ids[:-1]) == text[r["id"]]
    assert sorted(collections.Counter(r["id"] for r in run["tokens"]).values()) == sorted(r["repeat"] for r in run["text"])
    snippets = " ".join(r["snippet"] or "" for r in run["ledger"])
    assert "ghp_" not in snippets and "<KEY>" in snippets
    names = set(stages.ledger_rules()) | {r for rules in Filter({}).rule_sets().values() for r in rules}
    assert {r["rule"] for r in run["ledger"]} <= names


def test_the_token_check_counts_the_rows_of_tokens(run, tmp_path):
    """`tokens in tokens/ = num_tokens × repeat of the text` compared tokens.json's word for the
    tokens (its `total`) with the text's, never reading tokens/: a token shard short of a
    document, whose tokens.json and manifest.json were written to match its bytes (what a
    tokenize that lost rows would write), passed every check, exit 0."""
    import hashlib

    import pyarrow as pa

    from tests.test_audit_verify import curate

    out = tmp_path / "out"
    shutil.copytree(run["out"], out)
    shard = sorted((out / "tokens").glob("*.parquet"))[0]
    table = pq.read_table(shard)
    lost = table.slice(0, 1)["num_tokens"][0].as_py()
    pq.write_table(table.slice(1), shard, compression="zstd")
    data = shard.read_bytes()
    tok = json.loads((out / "tokens.json").read_text())
    e = next(e for e in tok["shards"] if e["file"] == shard.name)
    e.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), rows=table.num_rows - 1)
    (out / "tokens.json").write_text(json.dumps(tok, indent=1))
    manifest = json.loads((out / "manifest.json").read_text())
    for f in manifest["files"]:
        if f["file"] in ("tokens.json", f"tokens/{shard.name}"):
            b = (out / f["file"]).read_bytes()
            f["bytes"] = len(b)
            if "sha256" in f:
                f["sha256"] = hashlib.sha256(b).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    a = curate("audit", out)
    assert a.returncode == 1, a.stdout + a.stderr
    checks = {c["check"]: c for c in json.loads((out / "stats" / "summary.json").read_text())["checks"]}
    assert all(c["ok"] for name, c in checks.items() if name.startswith("files")), checks  # the forgery holds
    c = checks["tokens in tokens/ = num_tokens × repeat of the text"]
    assert (c["ok"], c["found"] - c["expected"]) == (False, lost)


def test_why_says_a_top_fraction_removal_above_its_threshold_is_a_near_tie(run, tmp_path):
    """A real run's `quality_below_top_fraction` rows read `value 1e-05, threshold 9.999e-06`
    (29 of 75 on the shared Dolma/ccnet/WARC sample: scores tied at the model's floor outside
    English), removed with a score above the threshold `--why` shows and no word why: the
    cutoff's bin is drawn by a hash of the id (docs/quality.md). Here a ledger row of that shape
    is written into a copy of the run's ledger."""
    import pyarrow as pa

    from tests.test_audit_verify import curate

    out = tmp_path / "out"
    shutil.copytree(run["out"], out)
    shard = sorted((out / "ledger").glob("*.parquet"))[0]
    table = pq.read_table(shard)
    row = {**table.slice(0, 1).to_pylist()[0], "id": "0" * 16, "stage": "quality", "rule": "quality_below_top_fraction",
           "value": 1e-05, "threshold": 9.999e-06}
    below = {**row, "id": "1" * 16, "value": 5e-06}
    pq.write_table(pa.concat_tables([pa.Table.from_pylist([row, below], schema=table.schema), table]), shard)
    said = {k: curate("audit", out, "--why", k).stdout for k in ("0" * 16, "1" * 16)}
    assert "threshold 9.999e-06); a near-tie at the cutoff, drawn out by a hash of its id" in said["0" * 16]
    assert "value 5e-06, threshold 9.999e-06)" in said["1" * 16] and "near-tie" not in said["1" * 16]
