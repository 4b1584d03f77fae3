"""Dedup through the Beam pipeline, scored against exact word-5-gram Jaccard ground truth."""
from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from curate import cli, schema

REPO = Path(__file__).resolve().parents[1]


def load_bench(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


# The runs here go in one process (--workers 1: no pooled worker processes; outputs byte-identical,
# test_determinism's pooled3). Two workers forked from pytest's large process cost ~2.5 CPU-s a run
# (theirs: the pooled DoFns' own work moves here), a third of this file's CPU.
ONE_PROCESS = ["--workers", "1"]


def run_dedup(tmp: Path, inp: str, name: str = "out", *extra) -> Path:
    out = tmp / name
    workers = [] if any(e.startswith("--direct_running_mode") for e in extra) else ONE_PROCESS  # Beam's own workers there
    assert cli.main(["run", "--input", inp, "--domain", "web", "--source", "gt", "--output", str(out), "--stages", "ingest,dedup",
                     "--progress", "off", *workers, *extra]) == 0
    return out


def test_ethiopic_wordspace_separates_shingle_words(tmp_path):
    """Two copies of our own Amharic page (words joined by the wordspace ፡, no spaces; the filter
    tests' AMHARIC_LINES), one word changed: normalisation deleted ፡ as punctuation,
    so each line was one word and the edit changed most shingles (J ~ 0.2, both kept)."""
    from tests.test_filters import AMHARIC_LINES

    text = "\n".join(AMHARIC_LINES)
    edited = text.replace("ጣፋጭ", "ትኩስ", 1)
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": text}, {"id": "b", "text": edited}])
    out = run_dedup(tmp_path, str(tmp_path / "in.jsonl"))
    assert pl.read_parquet(str(out / "text/*.parquet")).height == 1
    from curate.stages.dedup.normalize import normalize, normalize_reference

    assert normalize(["ቤት፡ነው።፡ቤት"]).to_pylist() == normalize_reference(["ቤት፡ነው።፡ቤት"]).to_pylist() == ["ቤት ነው ቤት"]


# Thresholds from bench/groundtruth.py's measurement at the defaults (in process, 8,000 docs, seed
# 0): recall 1.000 / 0.950 / 0.374 in the true-J bands 0.9-1 / 0.8-0.9 / 0.7-0.8 (0.170 below the
# verification threshold 0.75, 0.588 above it); precision (true J >= 0.7) 0.938 / 1.000 / 1.000 for
# removals whose estimate is in 0.7-0.8 / 0.8-0.9 / 0.9-1, 0.987 overall; no removal below J 0.6.
@pytest.mark.corpora
@pytest.mark.slow
def test_precision_and_recall_against_exact_jaccard(corpora, tmp_path):
    gt = load_bench("groundtruth")
    jt = gt.jt  # the truth: bench/jaccard_truth.py, no curate code
    corpus = gt.build_corpus(corpora, docs=8000, seed=0)
    write_jsonl(tmp_path / "corpus.jsonl", ({"id": d["id"], "text": d["text"]} for d in corpus))
    out = run_dedup(tmp_path, str(tmp_path / "corpus.jsonl"))

    ids = [schema.make_id("gt", d["id"]) for d in corpus]
    texts = [d["text"] for d in corpus]
    sets, pairs = gt.truth(texts)
    ledger = pl.read_parquet(f"{out}/ledger/*.parquet").filter(pl.col("stage") == "dedup")
    removals = {r["id"]: (r["kept_id"], r["value"]) for r in ledger.iter_rows(named=True)}
    s = jt.score(removals, ids, texts, sets, pairs)
    print(f"dedup through Beam:\n{jt.report(s)}")
    assert s["positives"] > 1500
    recall = {band: r for band, (r, _) in s["recall"].items()}
    assert recall[(0.9, 1.0001)] >= 0.99 and recall[(0.8, 0.9)] >= 0.93, s
    assert recall[(0.7, 0.75)] <= 0.3 and 0.45 <= recall[(0.75, 0.8)] <= 0.75, s  # the line is drawn at 0.75
    precision = [p for p, _ in s["precision"].values()]
    assert precision[0] >= 0.9 and min(precision[1:]) >= 0.99 and s["precision_07"] >= 0.98, s
    assert sum(n for (lo, _), n in s["removed_by_true_j"].items() if lo < 0.6) == 0, s
    # every removal names a document that was kept or itself removed in favour of another
    text = pl.read_parquet(f"{out}/text/*.parquet")
    known = set(text["id"]) | set(ledger["id"])
    assert set(ledger["kept_id"]) <= known
    # survivors carry their group's size; a removal whose kept copy was itself removed (a chain,
    # see curate/stages/dedup/cluster.py) is not forwarded, so the total may fall short (more with many
    # copies of one original, as in this corpus)
    total = text["dup_group_size"].sum()
    assert (text["dup_group_size"] >= 1).all()
    assert 0.98 * (text.height + ledger.height) <= total <= text.height + ledger.height  # measured: 0.982


def test_truth_is_independent_of_curate():
    """The ground truth imports no curate code, and its normalisation does what it says."""
    code = ("import sys; sys.path.insert(0, 'bench'); before = set(sys.modules); import jaccard_truth as jt; "
            "assert not [m for m in set(sys.modules) - before if m.startswith('curate')]; "
            "print(jt.words('Héllo, World!  It\\'s 1,000\\u00a0e-mail\\u200bs on 2024-05-01: ﬁne 中文。かな'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['héllo', 'world', 'its', '0', 'emails', 'on', '0', 'fine', '中', '文', 'か', 'な']"


def test_hot_bucket_of_identical_pages(tmp_path):
    """10,000 copies of one boilerplate page + 10,000 distinct pages: exactly one copy survives,
    standing for all 10,000. dedup.hot_bucket set to the copies' count keeps their bucket the
    biggest one still compared in one process (the default 50,000 with 50,000 copies: 5x the
    CPU, the same path; hot buckets: test_hot_buckets_change_where_the_star_is_computed_not_its_result)."""
    n = 10_000
    rng = random.Random(0)
    # letters only: dedup normalisation folds digits, so "w1" and "w2" would be one word
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(5000)]
    page = "Accept cookies to continue. This site uses cookies to improve your experience on our pages. " * 3
    rows = [{"id": f"same-{i}", "text": page} for i in range(n)]
    rows += [{"id": f"uniq-{i}", "text": " ".join(rng.choice(words) for _ in range(40))} for i in range(n)]
    rng.shuffle(rows)
    for k in range(4):
        write_jsonl(tmp_path / f"part-{k}.jsonl", rows[k::4])
    out = run_dedup(tmp_path, str(tmp_path / "part-*.jsonl"), "out", "--set", f"dedup.hot_bucket={n}")
    text = pl.read_parquet(f"{out}/text/*.parquet")
    survivors = text.filter(pl.col("text") == page)
    assert survivors.height == 1
    assert survivors["dup_group_size"][0] == n
    assert text.height == n + 1 - pl.read_parquet(f"{out}/ledger/*.parquet").filter(pl.col("rule") == "near_duplicate").height
    assert text.height > n + 1 - 10  # random 40-word pages are essentially never near-duplicates


def test_shuffled_and_resharded_input_same_survivors(tmp_path):
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(3000)]
    base = [" ".join(rng.choice(words) for _ in range(120)) for _ in range(300)]
    rows = []
    for i, t in enumerate(base):
        rows.append({"id": f"d{i}", "text": t})
        if i % 3 == 0:  # a near-duplicate with a few words changed
            w = t.split()
            for j in rng.sample(range(len(w)), 1):
                w[j] = "changed"
            rows.append({"id": f"d{i}-copy", "text": " ".join(w)})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_jsonl(tmp_path / "a" / "all.jsonl", rows)
    shuffled = rows[:]
    rng.shuffle(shuffled)
    for k in range(7):
        write_jsonl(tmp_path / "b" / f"p{k}.jsonl", shuffled[k::7])
    a = run_dedup(tmp_path, str(tmp_path / "a" / "*.jsonl"), "oa")
    b = run_dedup(tmp_path, str(tmp_path / "b" / "*.jsonl"), "ob", "--direct_num_workers=2", "--direct_running_mode=multi_processing")
    la = pl.read_parquet(f"{a}/ledger/*.parquet").select("id", "rule", "kept_id", "value").sort("id")
    lb = pl.read_parquet(f"{b}/ledger/*.parquet").select("id", "rule", "kept_id", "value").sort("id")
    assert la.height >= 90 and la.equals(lb)
    assert set(pl.read_parquet(f"{a}/text/*.parquet")["id"]) == set(pl.read_parquet(f"{b}/text/*.parquet")["id"])


def test_removals_and_group_sizes_do_not_depend_on_the_shard_count(tmp_path):
    """Batches after ingest are id partitions, 4 per output shard, so which documents share a
    batch changes with run.shards. An exact copy that shared a batch with its original got no
    band rows, and was recorded against that original even where both are near duplicates of a
    longer page that removes the original too: the ledger's kept_id and rule, and the longer
    page's dup_group_size, changed with --shards (same documents kept)."""
    rng = random.Random(5)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(3000)]
    rows = []
    for i in range(64):
        x = " ".join(rng.choice(words) for _ in range(150))
        rows += [{"id": f"x{i}", "text": x}, {"id": f"d{i}", "text": x}, {"id": f"y{i}", "text": x + " and then some more"}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    runs = [run_dedup(tmp_path, str(tmp_path / "in.jsonl"), f"s{n}", "--shards", str(n)) for n in (1, 16)]
    ledgers = [pl.read_parquet(f"{o}/ledger/*.parquet").select("id", "rule", "kept_id", "value").sort("id") for o in runs]
    texts = [pl.read_parquet(f"{o}/text/*.parquet").select("id", "dup_group_size").sort("id") for o in runs]
    assert ledgers[0].height == 128 and ledgers[0].equals(ledgers[1])
    assert texts[0].equals(texts[1]) and texts[0]["dup_group_size"].to_list() == [3] * 64


def _code_file(seed: int) -> str:
    """A Python module of our own, different for every seed (names, constants, order)."""
    rng = random.Random(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]
    out = [f"import {rng.choice(['os', 'sys', 'json', 're'])}\n"]
    for k in range(12):
        name, a, b = (f"{rng.choice(words)}_{rng.choice(words)}_{seed}_{k}", rng.choice(words), rng.choice(words))
        out.append(f"def {name}({a}, {b}=None):\n    result = {{'{a}': {a}, '{b}': {b}}}\n"
                   f"    if {b} is not None and len(result) > {rng.randrange(9)}:\n        return [{a}, {b}, result]\n"
                   f"    return {rng.choice(words)}({a}, key=lambda x: x[{rng.randrange(5)}])\n")
    return "\n\n".join(out)


def _compact(code: str) -> str:
    """A fork run through another formatter: no blank lines, no spaces around = , : and operators."""
    for spaced, tight in ((" = ", "="), (", ", ","), (": ", ":"), (" > ", ">"), ("{'", "{ '"), ("\n\n", "\n")):
        code = code.replace(spaced, tight)
    return code


def test_reformatted_code_forks_are_duplicates(tmp_path):
    """A code fork that only re-spaces operators and commas (a formatter run) is the same code.
    Dedup deleted punctuation, so `a, b` (words a, b) and `a,b` (one word ab) shared no shingle
    and neither copy was found (J 0.04); in code, punctuation now separates words (as the
    StarCoder / The Stack near-dedup tokenises code on non-alphanumerics). Prose keeps the
    deletion: `don't` and `dont` stay one word."""
    rows = []
    for seed in range(4):
        rows += [{"id": f"orig{seed}", "content": _code_file(seed), "lang": "Python"},
                 {"id": f"fork{seed}", "content": _compact(_code_file(seed)) + f"# fork {seed}\n", "lang": "Python"}]
    write_jsonl(tmp_path / "code.jsonl", rows)
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "code.jsonl"), "--domain", "code", "--text-field", "content",
                     "--id-field", "id", "--stages", "ingest,dedup", "--output", str(out), "--progress", "off", *ONE_PROCESS]) == 0
    kept = sorted(pl.read_parquet(str(out / "text/*.parquet"))["source_id"].to_list())
    assert kept == ["orig0", "orig1", "orig2", "orig3"]
    ledger = pl.read_parquet(str(out / "ledger/*.parquet"))
    assert set(ledger["rule"].to_list()) <= {"near_duplicate", "exact_duplicate"} and ledger.height == 4

    out2 = tmp_path / "out2"  # the old behaviour, by config
    assert cli.main(["run", "--input", str(tmp_path / "code.jsonl"), "--domain", "code", "--text-field", "content",
                     "--id-field", "id", "--stages", "ingest,dedup", "--output", str(out2), "--progress", "off",
                     "--set", "dedup.punct_splits=[]", *ONE_PROCESS]) == 0
    assert pl.read_parquet(str(out2 / "text/*.parquet")).height == 8


def test_punct_splits_names_domains(tmp_path):
    from curate import config

    p = tmp_path / "c.toml"
    p.write_text('[dedup]\npunct_splits = ["cod"]\n')
    with pytest.raises(config.ConfigError, match="dedup.punct_splits: 'cod' is not one of"):
        config.load(str(p))


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_hot_buckets_change_where_the_star_is_computed_not_its_result(tmp_path, monkeypatch):
    """Buckets above dedup.hot_bucket skip the bucket shuffle (centers by top-1 combines,
    members compared with them as a side input): the kept documents, the ledger and
    dup_group_size are byte-identical to a run with no hot bucket, spilled or not. (The hot
    runs do make edges in passes: their summaries found the hot buckets.)"""
    from pipelines import meter

    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(3000)]
    page = "Accept cookies to continue. This site uses cookies to improve your experience on our pages. " * 3
    rows = []
    for i in range(240):  # a boilerplate page: exact copies, copies with a word edited or appended
        w = page.split()
        if i % 3 == 1:
            w[rng.randrange(len(w))] = rng.choice(words)
        elif i % 3 == 2:
            w += rng.sample(words, 4)
        rows.append({"id": f"p{i}", "text": " ".join(w), "quality_score": rng.choice([0.5, 0.7])})
    for i in range(60):  # distinct pages, a third of them with a near copy
        x = " ".join(rng.choice(words) for _ in range(120))
        rows.append({"id": f"u{i}", "text": x})
        if i % 3 == 0:
            rows.append({"id": f"v{i}", "text": x + " " + rng.choice(words)})
    rng.shuffle(rows)
    write_jsonl(tmp_path / "in.jsonl", rows)
    inp = str(tmp_path / "in.jsonl")
    runs, hot_edges = {}, {}
    for name, size, spill in (("cold", 0, "true"), ("hot", 20, "true"), ("hot_unspilled", 20, "false")):
        monkeypatch.setenv(meter.ENV, str(tmp_path / f"meter-{name}"))
        (tmp_path / f"meter-{name}").mkdir()
        runs[name] = run_dedup(tmp_path, inp, name, "--set", f"dedup.hot_bucket={size}", "--set", f"run.spill={spill}")
        hot_edges[name] = meter.totals(str(tmp_path / f"meter-{name}")).get("dedup_hot_edges", {}).get("elements", 0)
    assert hot_edges["cold"] == 0 and hot_edges["hot"] > 0 and hot_edges["hot_unspilled"] > 0, hot_edges
    base = {kind: _files(runs["cold"] / kind) for kind in ("text", "ledger")}
    assert len(pl.read_parquet(f"{runs['cold']}/ledger/*.parquet")) > 100
    for name in ("hot", "hot_unspilled"):
        assert {kind: _files(runs[name] / kind) for kind in ("text", "ledger")} == base, name


@pytest.mark.parametrize("value, error", [
    ("-1", "dedup.hot_bucket (from --set dedup.hot_bucket=-1): expected an integer >= 0 (members; 0: no bucket is hot), got -1"),
    ("1.5", "dedup.hot_bucket (from --set dedup.hot_bucket=1.5): expected a whole number, got 1.5"),
])
def test_hot_bucket_setting_is_checked_at_load(capsys, value, error):
    assert cli.main(["config", "--set", f"dedup.hot_bucket={value}"]) == 2
    assert capsys.readouterr().err == f"curate: config error: {error}\n"
    assert cli.main(["config", "--set", "dedup.hot_bucket=0"]) == 0
    assert "hot_bucket = 0" in capsys.readouterr().out


def test_hot_key_combine_holds_a_summary_not_every_key(monkeypatch):
    """The bucket counts' combine (one accumulator per bucket shard, every batch's piece added to
    it) held the count of every distinct key of its shard: 16 B each, all R shards' in the local
    runner's launching process (CI's data-path bound failed at 0.046 B per byte of text with it on).
    Now Misra-Gries summaries of at most hot.COUNTERS keys: an accumulator lists a bounded number of
    keys however many distinct keys it has seen, its merges stay linear in the keys added, and the
    hot keys are every key of more than the size (against a plain count), split over accumulators
    in any way, and no key of well below it."""
    import collections

    import numpy as np
    import pyarrow as pa

    from curate.stages.dedup import hot
    from pipelines import dedup

    merged, real = [], hot.merge_counts

    def counting(parts, *k):
        parts = list(parts)
        merged.append(sum(len(p.keys) for p in parts))
        return real(parts, *k)

    monkeypatch.setattr(hot, "merge_counts", counting)
    rng = np.random.default_rng(0)
    size, pieces = 5000, [rng.integers(0, 2**63, 100, dtype=np.uint64) for _ in range(6400)]  # ~640,000 distinct keys
    for i, p in enumerate(pieces):  # key 7: one row in each of the 5,001 first pieces; key 8: 2,000 rows
        p[0] = 7 if i <= size else p[0]
        p[1] = 8 if i % 3 == 0 and i < 6000 else p[1]
    plain = collections.Counter(np.concatenate(pieces).tolist())
    assert plain[7] == size + 1 and plain[8] == 2000 and len(plain) > 600_000
    fn, held, added = dedup._HotKeysFn(size), 0, 0
    accs = [fn.create_accumulator() for _ in range(3)]
    for i, p in enumerate(pieces):
        counts = hot.key_counts(pa.table({"key": p}))
        added += len(counts.keys)
        accs[i % 3] = fn.add_input(accs[i % 3], counts)
        held = max(held, sum(len(c.keys) for a in accs for c in a[0]))
    assert held <= 3 * 5 * hot.COUNTERS, held
    acc = fn.merge_accumulators([fn.compact(accs[0]), accs[1], fn.merge_accumulators([accs[2], fn.create_accumulator()])])
    assert sum(len(c.keys) for c in acc[0]) <= hot.COUNTERS
    assert fn.extract_output(acc).tolist() == [7]
    assert sum(merged) <= 3 * added, sum(merged) / added
