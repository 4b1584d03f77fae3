"""Survivor choice: star buckets, hot buckets, determinism, agreement with the reference."""
from __future__ import annotations

import random
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from curate import schema
from curate.stages.dedup import cluster as cl
from curate.stages.dedup import minhash as mh

# a run of a few documents in this process, not in a pool forked per run (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_process_runs")

CFG = mh.MinHashConfig()  # 112 perms, 14 x 8


def _corpus(n_base=120, seed=0):
    """Distinct base documents plus copies with word substitutions at 1-30 %."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randrange(2, 9))) for _ in range(3000)]
    vocab += "the of and to in is was for on that".split() * 50  # digits would fold: letters only
    texts, ids = [], []
    for b in range(n_base):
        words = [rng.choice(vocab) for _ in range(rng.randrange(60, 400))]
        texts.append(" ".join(words))
        ids.append(f"b{b:03d}")
        if b % 3 == 0:
            for r in (0.01, 0.05, 0.1, 0.3):
                texts.append(" ".join(w if rng.random() > r else rng.choice(vocab) for w in words))
                ids.append(f"b{b:03d}~{int(r * 100):02d}")
    return texts, ids


def _table(ids, texts=None, lengths=None):
    """A minimal document table: the priority columns come from id and text length."""
    texts = texts if texts is not None else ["x" * n for n in lengths]
    return pa.table({"id": list(ids), "text": list(texts)})


def _entries(ids, sigs, keys=None, texts=None, lengths=None, bits=32):
    """Entry table of documents with the given signatures; by default all in one bucket."""
    keys = np.zeros((len(ids), 1), dtype=np.uint64) if keys is None else keys
    return cl.entries(_table(ids, texts, lengths), keys, None, cl.signature_bytes(np.asarray(sigs), bits))


def _pairs(edges):
    return {(d, k) for d, k in zip(edges.column("dup_id").to_pylist(), edges.column("kept_id").to_pylist())}


def _run(texts, ids, threshold, config=CFG, order=None):
    """{removed id: (kept id, Jaccard)} through entries -> edges -> best edges."""
    sigs = mh.batch_signatures(texts, config)
    keys = mh.band_keys(sigs, config.bands, config.rows)
    if order is not None:
        texts, ids, sigs, keys = [texts[i] for i in order], [ids[i] for i in order], sigs[order], keys[order]
    ent = cl.entries(_table(ids, texts), keys, None, cl.signature_bytes(sigs, 32))
    removals, _ = cl.dedup_inprocess([ent], threshold)
    return cl.removal_map(removals)


def _jac(a, b, n=5):
    sh = lambda t: {tuple(t.split()[i : i + n]) for i in range(max(1, len(t.split()) - n + 1))}
    x, y = sh(a), sh(b)
    return len(x & y) / len(x | y)


def test_chinese_near_copy_is_found_with_the_stage_config():
    # Chinese has no spaces: with a whole line as one "word", one changed character changed
    # every shingle of it. The stage shingles Han/kana characters instead (split_cjk).
    from curate.stages.dedup.stage import DedupStage

    rng = random.Random(3)
    han = [chr(0x4E00 + rng.randrange(0x5000)) for _ in range(400)]
    base = "".join("".join(rng.choice(han) for _ in range(20)) + "。" for _ in range(30))  # own text
    copy = "".join("〇" if i % 50 == 25 else c for i, c in enumerate(base))  # 1 character in 50
    other = "".join("".join(rng.choice(han) for _ in range(20)) + "。" for _ in range(30))
    texts, ids = [base, copy, other], ["a", "b", "c"]
    stage = DedupStage({}).minhash
    assert stage.normalize.split_cjk
    assert set(_run(texts, ids, 0.75, stage)) == {"b"}
    assert _run(texts, ids, 0.75, CFG) == {}  # without it: not found


@pytest.mark.corpora
def test_thai_near_copies_are_found_like_chinese_ones(corpora, tmp_path):
    # Thai spaces phrases, not words: a 10-sentence document was ~70 "words", so a sentence
    # replaced cost more shingles than in any spaced language, and 2 of 10 such copies were
    # found (Chinese 5, English 6). Thai, Lao, Khmer and Myanmar letters are now words, as Han is.
    from curate import cli
    from curate.stages.dedup.normalize import NormalizeConfig, normalize_text
    from curate.stages.multilingual_data import LINGUA
    import json
    import polars as pl

    assert normalize_text("ภาษาไทย ok", NormalizeConfig(split_cjk=True)) == "ภ า ษ า ไ ท ย ok"
    lines = [ln.split("\t", 1)[1].strip() for ln in (corpora / LINGUA).read_text(encoding="utf-8").splitlines()[1:]
             if ln.startswith("th\t")]
    rows = []
    for i in range(10):  # pairs: 10 sentences, the same with its 6th replaced
        base = lines[i * 12 : i * 12 + 10]
        rows += [{"id": f"{i}-a", "text": "\n".join(base)}, {"id": f"{i}-b", "text": "\n".join(base[:5] + [lines[i * 12 + 11]] + base[6:])}]
    (tmp_path / "th.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "th.jsonl"), "--domain", "web", "--stages", "ingest,dedup",
                     "--output", str(out), "--progress", "off"]) == 0
    ledger = pl.read_parquet(str(out / "ledger/*.parquet"))
    assert ledger.height >= 5 and set(ledger["rule"]) == {"near_duplicate"}
    kept = dict(pl.read_parquet(str(out / "text/*.parquet"), columns=["id", "source_id"]).iter_rows())
    assert all(kept[k].split("-")[0] == s.split("-")[0] for k, s in ledger.select("kept_id", "source_id").iter_rows())  # its own pair


# --- priority --------------------------------------------------------------------------------

def test_priority_total_order():
    p = cl.priority_key
    assert p("z", 10, quality=0.9) < p("a", 10, quality=0.5) < p("a", 99)  # quality first, missing last
    assert p("a", 10, quality=float("nan")) == p("a", 10)
    assert p("z", 20) < p("a", 10)  # then longer first
    assert p("z", 10, source_rank=0) < p("a", 10, source_rank=1)  # then source rank
    assert p("a", 10) < p("b", 10)  # then id


def test_batch_priorities_from_columns():
    rows = [("a", "xx", "cc"), ("b", "xxx", "wiki"), ("c", "xxx", "zz")]
    batch = schema.docs_from_rows([dict(id=i, text=t, domain="web", source=s, path="p", offset=0) for i, t, s in rows])
    pr = cl.batch_priorities(batch, {"wiki": 0, "cc": 1})
    assert sorted(range(3), key=lambda i: pr[i]) == [1, 2, 0]
    batch = schema.with_column(batch, "quality_score", [0.9, None, 0.1])
    pr = cl.batch_priorities(batch)
    assert sorted(range(3), key=lambda i: pr[i]) == [0, 2, 1]


# --- buckets ---------------------------------------------------------------------------------

def test_hot_bucket_50000_identical_is_linear():
    n = 50_000
    ids = [f"d{i:05d}" for i in range(n)]
    random.Random(1).shuffle(ids)
    ent = _entries(ids, np.tile(np.arange(112, dtype=np.uint32), (n, 1)), lengths=[100] * n)
    t = time.perf_counter()
    edges = cl.bucket_edges(ent, threshold=0.8)
    elapsed = time.perf_counter() - t
    assert edges.num_rows == n - 1 and set(edges.column("kept_id").to_pylist()) == {"d00000"}
    assert set(edges.column("jaccard").to_pylist()) == {1.0}
    assert elapsed < 10  # all pairs would be 1.25e9 comparisons


def test_hot_bucket_end_to_end_one_survivor():
    n = 50_000
    text = "Cookie policy: we use cookies to improve your experience on our site and for analytics"
    rows = [dict(id=f"d{i:05d}", text=text, domain="web", source="cc", path="p", offset=i) for i in range(n)]
    batch = schema.docs_from_rows(rows)
    sigs = mh.signatures(pa.array([text] * n, pa.large_string()), CFG.num_perm)
    keys = mh.band_keys(sigs, CFG.bands, CFG.rows)
    assert len(np.unique(keys)) == CFG.bands  # every band: one bucket of 50,000
    ent = cl.entries(batch, keys, None, cl.signature_bytes(sigs, 16))
    removals, absorbed = cl.dedup_inprocess([t for _, t in cl.partition(ent, 4)], 0.8, bits=16)
    kept, ledger = cl.apply_dedup(batch, removals, absorbed, threshold=0.8)
    assert kept.num_rows == 1 and ledger.num_rows == n - 1
    assert kept.column("id").to_pylist() == ["d00000"]
    assert kept.column("dup_group_size").to_pylist() == [n]
    assert set(ledger.column("kept_id").to_pylist()) == {"d00000"}


def test_bucket_result_independent_of_member_order():
    texts, ids = _corpus(40)
    ent = _entries(ids, mh.batch_signatures(texts), texts=texts)
    rng = np.random.default_rng(3)
    for threshold in (None, 0.5):
        expect = cl.bucket_edges(ent, threshold).to_pylist()
        assert len(expect) >= 2
        for _ in range(5):
            shuffled = ent.take(pa.array(rng.permutation(ent.num_rows)))
            assert cl.bucket_edges(shuffled, threshold).to_pylist() == expect


def test_dedup_independent_of_document_order():
    texts, ids = _corpus(60)
    expect = _run(texts, ids, 0.7)
    order = np.random.default_rng(5).permutation(len(ids))
    assert _run(texts, ids, 0.7, order=order) == expect


def test_chain_policy_star_keeps_the_far_end():
    """A ~ B ~ C, A !~ C, all in one bucket: B goes (kept A), C stays (see cluster docstring)."""
    a = np.zeros(10, dtype=np.uint32)
    b = a.copy()
    b[:3] = 1  # J(A, B) = 0.7
    c = b.copy()
    c[7:] = 2  # J(B, C) = 0.7, J(A, C) = 0.4
    ent = _entries(["A", "B", "C"], [a, b, c], lengths=[10, 9, 8])
    assert _pairs(cl.bucket_edges(ent, threshold=0.7)) == {("B", "A")}
    # in a bucket without A, C goes in favour of B
    assert _pairs(cl.bucket_edges(ent.slice(1), threshold=0.7)) == {("C", "B")}
    # without verification everyone goes in favour of the best member
    assert _pairs(cl.bucket_edges(ent)) == {("B", "A"), ("C", "A")}


def test_second_center_round():
    """Members failing against the best member are compared with the best of the rest."""
    a = np.zeros(10, dtype=np.uint32)
    b = np.full(10, 5, dtype=np.uint32)  # unlike A
    c = b.copy()
    c[0] = 6  # J(B, C) = 0.9, J(A, C) = 0
    ent = _entries(["A", "B", "C"], [a, b, c], lengths=[10, 9, 8])
    assert _pairs(cl.bucket_edges(ent, threshold=0.7)) == {("C", "B")}
    assert _pairs(cl.bucket_edges(ent, threshold=0.7, max_centers=1)) == set()
    # several buckets in one table are independent
    two = pa.concat_tables([ent, _entries(["D", "E"], [a, a], keys=np.ones((2, 1), np.uint64), lengths=[5, 4])])
    assert _pairs(cl.bucket_edges(two, threshold=0.7)) == {("C", "B"), ("E", "D")}


def test_b_bit_estimate_is_corrected():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, (2000, 112), dtype=np.uint64).astype(np.uint32)
    b = a.copy()
    flip = rng.random(a.shape) < 0.3  # J = 0.7 in expectation
    b[flip] = rng.integers(0, 2**32, flip.sum(), dtype=np.uint64).astype(np.uint32)
    full = np.mean(a == b, axis=1)
    for bits in (8, 16):
        sa, sb = (cl._sig_matrix(cl.signature_bytes(x, bits), bits) for x in (a, b))
        est = cl._estimate(np.concatenate([sa, sb]), np.arange(2000), np.arange(2000, 4000), bits)
        assert abs(est.mean() - full.mean()) < 0.004  # unbiased after the correction
        assert np.abs(est - full).max() < 0.1


def _edges(rows):
    """Edge table from (dup, kept, kept length, jaccard, dup size) rows."""
    cols = list(zip(*rows))
    n = len(rows)
    return pa.Table.from_arrays(
        [pa.array(cols[0]), pa.array(cols[1]), pa.array([True] * n), pa.array([0.0] * n),
         pa.array([-x for x in cols[2]], pa.int64()), pa.array([0] * n, pa.int32()),
         pa.array(cols[3], pa.float64()), pa.array(cols[4], pa.int64()), pa.array([False] * n)],
        schema=cl.empty_edges().schema,
    )


def test_best_edges_and_absorbed():
    e = _edges([("x", "k2", 5, 0.9, 1), ("x", "k1", 9, 0.8, 3), ("y", "k1", 9, 1.0, 1), ("z", "k3", 9, 0.95, 1)])
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        best = cl.best_edges(e.take(pa.array(order)))
        assert cl.removal_map(best) == {"x": ("k1", 0.8), "y": ("k1", 1.0), "z": ("k3", 0.95)}
    # equal priority (length 9): the smaller kept id wins
    assert cl.removal_map(cl.best_edges(_edges([("z", "k3", 9, 0.9, 1), ("z", "k1", 9, 0.8, 1)]))) == {"z": ("k1", 0.8)}
    ab = cl.absorbed(cl.best_edges(e))
    assert dict(zip(*(ab.column(c).to_pylist() for c in ("kept_id", "size")))) == {"k1": 4, "k3": 1}


# --- against the reference -------------------------------------------------------------------

def test_inprocess_equals_reference_without_verification():
    texts, ids = _corpus(100)
    got, ref = _run(texts, ids, None), cl.dedup_reference(texts, ids, config=CFG)[0]
    assert len(got) > 20
    assert got == ref  # same kept documents, same estimated Jaccard


def test_precision_recall_against_reference_and_truth():
    texts, ids = _corpus(150, seed=1)
    removals = _run(texts, ids, 0.7)
    ref, _ = cl.dedup_reference(texts, ids, config=CFG, threshold=0.7)
    both = set(removals) & set(ref)
    assert len(both) / len(ref) >= 0.95 and len(both) / len(removals) >= 0.95
    # and against exact 5-gram Jaccard: copies at 1 % edits (J ~ 0.95) are always found
    by_id = dict(zip(ids, texts))
    precision = np.mean([_jac(by_id[d], by_id[k]) >= 0.6 for d, (k, _) in removals.items()])
    assert precision >= 0.95
    light = [i for i in ids if i.endswith("~01")]
    assert all(i in removals or i.split("~")[0] in removals for i in light)


def test_apply_dedup_ledger_and_composed_group_size():
    docs = [("a", "x y"), ("b", "x y"), ("c", "z")]
    rows = [dict(id=i, text=t, domain="web", source="cc", path="p", offset=k) for k, (i, t) in enumerate(docs)]
    batch = schema.with_column(schema.docs_from_rows(rows), "dup_group_size", [2, 3, None])
    removals = _edges([("b", "a", 3, 0.93, 3)])
    # absorbed may arrive as partial sums from several shards
    partial = pa.concat_tables([cl.absorbed(removals), cl.absorbed(_edges([("q", "a", 3, 1.0, 2)]))])
    kept, ledger = cl.apply_dedup(batch, removals, cl.absorbed(removals), threshold=0.8)
    assert kept.column("id").to_pylist() == ["a", "c"]
    assert kept.column("dup_group_size").to_pylist() == [5, 1]  # a stood for 2, absorbed b's 3
    r = ledger.to_pylist()[0]
    got = (r["id"], r["stage"], r["rule"], r["kept_id"], r["value"], r["threshold"])
    assert got == ("b", "dedup", "near_duplicate", "a", 0.93, 0.8)
    kept, _ = cl.apply_dedup(batch, removals, partial, threshold=0.8)
    assert kept.column("dup_group_size").to_pylist() == [7, 1]


def test_one_pass_reports_exact_matches_as_exact():
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300)]  # letters only
    base = " ".join(words)
    texts = ["Hello, world! " + base, "hello world " + base, " ".join(words[:150] + ["zz"] + words[151:]), base + " more"]
    ids = ["x1", "x2", "y1", "y2"]
    ent = cl.dedup_entries(_table(ids, texts), bits=16)
    # x2, an exact copy of x1 (which outranks it), gets band rows too (see the next test)
    assert ent.num_rows == 4 + 4 * 14 and set(ent.column("exact").to_pylist()) == {True, False}
    assert "x2" in ent.filter(pc.invert(ent.column("exact"))).column("id").to_pylist()
    removals, _ = cl.dedup_inprocess([ent], threshold=0.5, bits=16)
    batch = schema.docs_from_rows([dict(id=i, text=t, domain="web", source="s", path="p", offset=0) for i, t in zip(ids, texts)])
    kept, ledger = cl.apply_dedup(batch, removals, cl.absorbed(removals), threshold=0.5)
    rows = {r["id"]: (r["rule"], r["kept_id"], r["threshold"]) for r in ledger.to_pylist()}
    assert rows["x2"] == ("exact_duplicate", "x1", None)  # also in x1's band buckets: exact wins
    # the others are near duplicates of the longest, x1
    assert rows["y1"] == rows["y2"] == ("near_duplicate", "x1", 0.5)
    assert kept.column("id").to_pylist() == ["x1"]


def test_an_exact_copy_matches_the_same_whatever_batch_it_is_in():
    """d is an exact copy of x, and y (longer) is a near duplicate of both that outranks them.
    d's best match is y, whichever batch d came in. An exact copy that shared a batch with x got
    no band rows, so it was recorded against x (itself removed for y) and y's group size lost
    it: batches are id partitions, so the ledger and dup_group_size changed with run.shards."""
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300)]
    x = " ".join(words)
    texts = {"y": x + " and a few more words", "x": x, "d": x}
    ids = list(texts)

    def outcome(batches):
        ent = [cl.dedup_entries(_table(b, [texts[i] for i in b]), bits=16) for b in batches]
        removals, absorbed = cl.dedup_inprocess(ent, threshold=0.75, bits=16)
        batch = schema.docs_from_rows([dict(id=i, text=texts[i], domain="web", source="s", path="p", offset=0) for i in ids])
        kept, ledger = cl.apply_dedup(batch, removals, absorbed, threshold=0.75)
        return ({r["id"]: (r["rule"], r["kept_id"]) for r in ledger.to_pylist()},
                dict(zip(kept.column("id").to_pylist(), kept.column("dup_group_size").to_pylist())))

    want = ({"x": ("near_duplicate", "y"), "d": ("near_duplicate", "y")}, {"y": 3})
    for batches in ([["y"], ["x"], ["d"]], [["y", "x", "d"]], [["y"], ["x", "d"]], [["y", "d"], ["x"]]):
        assert outcome(batches) == want, batches


def test_exact_dedup_uses_the_same_survivor_logic():
    texts = ["Hello, world!", "hello world", "HELLO WORLD", "something else"]
    ids = ["x1", "x2", "x3", "x4"]
    ent = cl.exact_entries(_table(ids, texts))
    assert ent.column_names[:4] == ["key", "key2", "exact", "id"]
    removals, absorbed = cl.dedup_inprocess([ent])
    assert {d: k for d, (k, _) in cl.removal_map(removals).items()} == {"x2": "x1", "x3": "x1"}  # longest first
    assert absorbed.to_pylist() == [{"kept_id": "x1", "size": 2}]


def test_entries_through_an_emulated_shuffle():
    """The pipeline's steps as pipelines/dedup.py wires them, with dicts for its shuffles:
    entries -> partition by key -> bucket_edges per shard -> split by removed id ->
    best_edges per shard -> absorbed by kept id -> apply_dedup; any shard counts agree."""
    texts, ids = _corpus(30)
    rows = [dict(id=i, text=t, domain="web", source="cc", path="p", offset=k) for k, (i, t) in enumerate(zip(ids, texts))]
    batches = [schema.docs_from_rows(rows[:40]), schema.docs_from_rows(rows[40:])]
    from curate import output

    for entries_fn, threshold in ((lambda b: cl.minhash_entries(b, bits=16), 0.7), (cl.exact_entries, None)):
        results = []
        for r, j in ((1, 1), (3, 2), (16, 5)):
            shards = {}
            for b in batches:
                for k, part in cl.partition(entries_fn(b), r):
                    shards.setdefault(k, []).append(part)
            by_doc = {}
            for parts in shards.values():
                for k, part in output.split_by_shard(cl.bucket_edges(cl.concat(parts), threshold, bits=16), "dup_id", j):
                    by_doc.setdefault(k, []).append(part)
            removals = cl.concat([cl.best_edges(cl.concat(p)) for p in by_doc.values()] or [cl.empty_edges()])
            absorbed = cl.absorbed(removals)
            out = [cl.apply_dedup(b, removals, absorbed, threshold=threshold) for b in batches]
            kept = sum(k.num_rows for k, _ in out)
            assert kept + sum(led.num_rows for _, led in out) == len(ids)
            assert sum(sum(k.column("dup_group_size").to_pylist()) for k, _ in out) == len(ids)
            results.append(cl.removal_map(removals))
        assert results[0] == results[1] == results[2] and len(results[0]) >= 2
        if threshold is None:  # (a 1 % edit copy of a short document may have no edit)
            by_id = dict(zip(ids, texts))
            assert all(by_id[d] == by_id[k] for d, (k, _) in results[0].items())


def test_one_pass_entries_are_the_exact_and_band_entries():
    """dedup_entries (one normalisation for both methods) gives the exact entries and the band
    entries of every document, exact copies included, so the same removals, each against the
    same kept document, as the two kinds built apart."""
    texts, ids = _corpus(40, seed=4)
    rng = random.Random(2)
    for k in range(30):  # exact copies (after normalisation) of random documents
        j = rng.randrange(len(texts))
        texts.append(texts[j].upper() if k % 2 else texts[j])
        ids.append(f"copy{k:02d}")
    batch = _table(ids, texts)
    reduced = cl.dedup_entries(batch, bits=16)
    full = cl.concat([cl.exact_entries(batch).append_column("sig", cl.minhash_entries(batch, bits=16).column("sig").take(
        pa.array(np.arange(len(ids)) * 14))), cl.minhash_entries(batch, bits=16)])
    assert reduced.num_rows == full.num_rows
    a, _ = cl.dedup_inprocess([reduced], 0.7, bits=16)
    b, _ = cl.dedup_inprocess([full], 0.7, bits=16)
    assert len(a) >= 30 and cl.removal_map(a) == cl.removal_map(b)


# --- hot buckets: the star policy computed in passes over pieces (curate/stages/dedup/hot.py) ---

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from curate.stages.dedup import hot  # noqa: E402


@st.composite
def _hot_case(draw):
    """Random buckets: ties in quality and length (id breaks them), exact and band buckets of
    one table, signatures over a tiny alphabet (partial matches at every threshold) or none, rows
    repeated as a retried bundle repeats them, cut into pieces in a random order."""
    n = draw(st.integers(2, 30))
    bits = draw(st.sampled_from(cl.BITS))
    quality = [draw(st.sampled_from([None, 0.5, 0.9])) for _ in range(n)]
    batch = pa.table({
        "id": [f"d{i}" for i in draw(st.permutations(range(n)))],
        "text": ["x" * draw(st.sampled_from([5, 9])) for _ in range(n)],
        "quality_score": pa.array(quality, pa.float64()),
        "source": [draw(st.sampled_from(["a", "b"])) for _ in range(n)],
    })
    sigs = np.array([[draw(st.integers(0, 2)) for _ in range(8)] for _ in range(n)], dtype=np.uint64)
    sig = cl.signature_bytes(sigs, bits)
    bands = np.array([[draw(st.integers(0, 3)) for _ in range(2)] for _ in range(n)], dtype=np.uint64)
    exact_key = np.array([[draw(st.integers(0, 2))] for _ in range(n)], dtype=np.uint64)  # key 0..2 as a band's too
    t = cl.concat([cl.entries(batch, bands, None, sig, {"a": 0, "b": 1}),
                   cl.entries(batch, exact_key, exact_key[:, 0] % np.uint64(2), sig, {"a": 0, "b": 1}, exact=True)])
    threshold = draw(st.sampled_from([None, 0.3, 0.5, 0.75, 1.0]))
    if threshold is None and draw(st.booleans()):  # exact dedup alone, or unverified: no signatures
        t = t.drop_columns(["sig"])
    repeat = draw(st.lists(st.integers(0, t.num_rows - 1), max_size=6))
    t = cl.concat([t, t.take(pa.array(repeat, pa.int64()))])
    order = draw(st.permutations(range(t.num_rows)))
    cuts = sorted(draw(st.lists(st.integers(0, t.num_rows), max_size=4)))
    t = t.take(pa.array(order, pa.int64()))
    pieces = [t.slice(a, b - a) for a, b in zip([0] + cuts, cuts + [t.num_rows])]
    return t, pieces, threshold, draw(st.integers(1, 4)), bits


def _rows(edges):
    return sorted(set(zip(*(edges.column(c).to_pylist() for c in edges.schema.names))))


# 100 examples (300 until ci6: ~10 CPU-s)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_hot_case())
def test_hot_buckets_give_bucket_edges_star(case):
    """The centers found by top-1 passes over pieces, and each member compared with them in its
    own piece, give the edges of ``bucket_edges`` on the whole table, so the same removals."""
    t, pieces, threshold, max_centers, bits = case
    expect = cl.bucket_edges(t, threshold, max_centers, bits)
    got = hot.hot_edges(pieces, threshold, max_centers, bits)
    assert _rows(got) == _rows(expect)
    assert cl.best_edges(got).to_pylist() == cl.best_edges(expect).to_pylist()
    if len(pieces) == 1:  # a repeated document in one piece gives one edge, as in bucket_edges
        assert got.num_rows == expect.num_rows


def test_split_sends_whole_buckets_above_the_size():
    keys = np.array([[1], [1], [1], [2], [2], [3]], dtype=np.uint64)
    ent = _entries([f"d{i}" for i in range(6)], np.zeros((6, 4)), keys=keys, lengths=[5] * 6)
    counts = hot.merge_counts([hot.key_counts(ent.slice(0, 2)), hot.key_counts(ent.slice(2))])
    assert (counts.keys.tolist(), counts.counts.tolist(), counts.err) == ([1, 2, 3], [3, 2, 1], 0)
    h = hot.hot_keys(counts, 2)
    cold, hot_rows = hot.split(ent, h)
    assert hot_rows.column("key").to_pylist() == [1, 1, 1] and cold.column("key").to_pylist() == [2, 2, 3]


# --- the hot keys' summary (hot.key_counts, hot.merge_counts): against a plain count ---

@st.composite
def _key_stream(draw):
    """Keys of some entries cut into pieces, made to sit at the edge of the size: keys of exactly
    size and size + 1 rows (and a few more and fewer), spread one or a few rows per piece, among
    many keys of a row or two; summaries of k counters, merged in a random tree."""
    size = draw(st.integers(1, 12))
    rows = []
    for key in range(draw(st.integers(0, 12))):  # near the size
        rows += [key] * (size + draw(st.sampled_from([-2, -1, 0, 1, 2, 5])))
    rows += draw(st.lists(st.integers(100, 100 + draw(st.integers(1, 400))), max_size=400))  # noise
    order = draw(st.permutations(range(len(rows))))
    rows = np.array([rows[i] for i in order], dtype=np.uint64)
    cuts = sorted(draw(st.lists(st.integers(0, len(rows)), max_size=40)))
    pieces = [rows[a:b] for a, b in zip([0] + cuts, cuts + [len(rows)])]
    return pieces, size, draw(st.integers(1, 16)), draw(st.randoms(use_true_random=False))


def _summary_tree(summaries, k, rng):
    """The summaries merged as a combine may merge them: random groups, any order, any depth."""
    while len(summaries) > 1:
        rng.shuffle(summaries)
        n = rng.randint(2, len(summaries))
        summaries = [hot.merge_counts(summaries[:n], k)] + summaries[n:]
    return summaries[0] if summaries else hot.merge_counts([], k)


@settings(max_examples=400, deadline=None)
@given(_key_stream())
def test_key_summary_bounds_every_count_and_finds_every_hot_key(case):
    """Against collections.Counter: a summary lists at most k keys; each key's count (0 where not
    listed) is between its rows - err and its rows; err is at most the rows / (k + 1); so every key
    of more than max(size, err) rows is among hot_keys, and none of size - err rows or fewer."""
    import collections

    pieces, size, k, rng = case
    plain = collections.Counter(np.concatenate(pieces).tolist() if pieces else [])
    s = _summary_tree([hot.key_counts(pa.table({"key": p}), k) for p in pieces], k, rng)
    assert len(s.keys) <= k and (s.counts > 0).all() and np.all(np.diff(s.keys.astype(np.float64)) > 0)
    assert s.err * (k + 1) <= sum(plain.values())
    listed = dict(zip(s.keys.tolist(), s.counts.tolist()))
    for key, n in plain.items():
        assert n - s.err <= listed.get(key, 0) <= n, (key, n, listed.get(key), s.err)
    assert set(listed) <= set(plain)
    found = set(hot.hot_keys(s, size).tolist())
    assert {key for key, n in plain.items() if n > max(size, s.err)} <= found
    assert all(plain[key] > size - s.err for key in found)
    if len(plain) <= k:  # room for every key: exact
        assert s.err == 0 and listed == dict(plain)


def test_key_summary_of_many_pieces_finds_keys_spread_thin():
    """A key of 3 rows in each of 1,000 pieces of 200 distinct other keys (every piece pruned),
    beside two keys of half its rows: the summary of 128 counters finds the one above the size
    (3,001 rows > 206,001 / 129, the bound on err) and lists no key of the noise."""
    import collections

    rng = np.random.default_rng(5)
    size, k = 3000, 128
    pieces = []
    for i in range(1000):
        p = rng.integers(1000, 10**9, 206, dtype=np.uint64)
        p[:3], p[3:6] = 1, 2 + i % 2  # key 1: 3,000 rows here; keys 2 and 3: 1,500 each
        pieces.append(p)
    pieces.append(np.array([1], dtype=np.uint64))
    plain = collections.Counter(np.concatenate(pieces).tolist())
    assert plain[1] == size + 1 and plain[2] == plain[3] == 1500 and max(len(set(p.tolist())) for p in pieces) > k
    s = hot.merge_counts([hot.key_counts(pa.table({"key": p}), k) for p in pieces], k)
    assert 0 < s.err * (k + 1) <= sum(plain.values())
    assert hot.hot_keys(s, size).tolist() == [1]
    assert set(s.keys.tolist()) == {1, 2, 3}
