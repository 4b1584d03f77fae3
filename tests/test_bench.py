"""Benchmarks that build their own inputs still run against today's code, and measure what they
say: bench/bench_pipeline.py's replay (each stage's library calls outside Beam, with its
kernels beside it) runs the stages the pipeline runs on the documents the pipeline gives them
(docs/scale.md's per-stage costs are only as good as that); bench/bench_audit.py's synthetic
output is one the audit accepts as consistent."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from curate import commit

REPO = Path(__file__).resolve().parents[1]


def load_bench(name: str = "bench_pipeline"):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def shards_bench(corpora, tmp_path_factory):
    """`python bench/bench_shards.py` at 80 documents, run.shards 1 and 4, its corpus and outputs
    kept: (its exit code, what it printed, the folder). Its runs are bench_pipeline's (build_corpus,
    child_pipeline in a subprocess each): the replay test reads the 4-shard one, one pipeline run less."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("shards")
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        rc = load_bench("bench_shards").main(["--docs", "80", "--shards", "1,4", "--repeat", "1", "--keep", str(root)])
    return rc, said.getvalue(), root


@pytest.mark.corpora
@pytest.mark.slow
def test_replay_sees_what_the_pipeline_sees(shards_bench, tmp_path):
    """The replay broke when quality's top fraction became per language (its cutoffs were keyed
    by domain: KeyError 'web.en'), so `python bench/bench_pipeline.py` failed as documented.
    The pipeline run is bench_shards' 4-shard one (bench_pipeline's corpus and child_pipeline)."""
    bp = load_bench()
    _, _, root = shards_bench
    m = commit.read_manifest(str(root / "out-4"))
    stages, counts = m["config"]["run"]["stages"], m["counts"]
    replay = bp.child_replay(str(root / "shards-4.toml"), str(tmp_path / "replay"))
    assert "quality" in stages and replay["docs"] == counts["ingest"]["docs_out"]
    for stage in stages[1:]:
        assert replay["rows"][stage]["docs"] == counts[stage]["docs_in"], stage
    assert replay["rows"]["write"]["docs"] == counts[stages[-1]]["docs_out"]


@pytest.mark.corpora
@pytest.mark.slow
def test_audit_bench_output_is_consistent(corpora, tmp_path):
    """Its manifest gave no stage a docs_in (output.stage_counts reads '<stage>.docs_in' and
    'ingest.docs_read'), and the audit's report divided by it: `python bench/bench_audit.py`
    stopped with ZeroDivisionError."""
    ba = load_bench("bench_audit")
    root = tmp_path / "out"
    info = ba.build(root, 3000, 2, web="ccnet_cc_en_head-0174.jsonl")  # one small web file: ingest is not what this checks
    assert ba.measure("audit", root)["seconds"] > 0
    summary = json.loads((root / "stats" / "summary.json").read_text())
    assert summary["checks"] and all(c["ok"] for c in summary["checks"]), summary["checks"]
    assert summary["funnel"][0]["docs_in"] == info["docs_in"] == 3000


@pytest.mark.corpora
@pytest.mark.slow
def test_quality_languages_bench_counts_add_up(corpora, capsys):
    """docs/quality.md's per-language figures come from bench/bench_quality_languages.py (before
    it they had no command). Its keep rules are separate `curate run`s: the English-only table
    rule keeps every other language and the same English as the one-number rule; ranking per
    language loses no language; the shares of scores below 0.001 are fractions."""
    r = load_bench("bench_quality_languages").main(["--corpora", str(corpora), "--limit", "5", "--per-language-docs", "1"])
    rules = list(r["rules"].values())
    one_ranking, per_language, threshold, english_only = rules
    assert r["en"] + r["others"] == r["docs"] > 0 and r["en"] > 0 and r["others"] > 0
    assert english_only["others_kept"] == r["others"] and english_only["en_kept"] == threshold["en_kept"] < r["en"]
    assert per_language["lost"] == [] and 0 < per_language["en_kept"] < r["en"]
    assert one_ranking["en_kept"] + one_ranking["others_kept"] < r["docs"]
    assert 0 <= r["low_en"] <= 1 and 0 <= r["low_others"] <= 1
    assert "kept nothing" in capsys.readouterr().out


def test_datatrove_bench_maps_both_tools_removals_to_the_input_ids(tmp_path):
    """bench/bench_vs_datatrove.py scores each tool's dedup by the pairs (removed, kept in its
    place) in the input's own ids: curate's ledger gives hashed ids and a kept_id, datatrove's
    writers give cluster ids. A wrong mapping would make every precision 0 or 1. Without
    datatrove installed the bench says how to install it (CI does not install it)."""
    import gzip

    b = load_bench("bench_vs_datatrove")
    para = " ".join(f"word{i} and then some more text about item {i}." for i in range(80))
    docs = [{"id": "a", "text": para}, {"id": "b", "text": para + " A tail."}, {"id": "c", "text": para.upper()[::-1]}]
    b.write_jsonl(docs, tmp_path / "raw")
    b.run_curate(tmp_path, "ingest,dedup", ["--set", "dedup.methods=['minhash']"])
    _, kept, removals = b.curate_sets(tmp_path)
    assert kept == {"b", "c"} and list(removals) == ["a"] and removals["a"][0] == "b"  # the longer copy is kept
    assert 0.75 <= removals["a"][1] <= 1.0  # the estimated Jaccard of the ledger's value

    for folder, rows in (("kept", [("x", 0), ("y", -1)]), ("removed", [("z", 0), ("w", 0)])):  # datatrove's JsonlWriter layout
        (tmp_path / folder).mkdir()
        with gzip.open(tmp_path / folder / "00000.jsonl.gz", "wt") as f:
            for i, cid in rows:
                f.write(json.dumps({"text": "t", "id": i, "metadata": {"minhash_cluster_id": cid}}) + "\n")
    _, kept, removals = b.datatrove_sets(tmp_path, "dedup")
    assert kept == {"x", "y"} and removals == {"z": ("x", 1.0), "w": ("x", 1.0)}

    with pytest.raises(SystemExit, match="pip install 'datatrove"):
        b.main(["--datatrove-python", str(tmp_path / "no-python")])


def test_mixplan_bench_runs_and_its_candidates_are_a_runs(capsys):
    """`python bench/bench_mixplan.py` at a small size: its synthetic candidates are re-planned
    (every setting feasible), its baselines equal the code they time, and the run's own
    candidates/ cost about what the synthetic ones do per document."""
    r = load_bench("bench_mixplan").main(["--candidates", "20000", "--run-docs", "600", "--repeat", "1"])
    assert set(r["plan_s"]) == {"targets", "languages + max_epochs", "rehydrate + budget"}
    assert r["run_docs"] == 600 and 5 < r["run_candidate_bytes_per_doc"] < 40 and 5 < r["bytes_per_doc"] < 40


@pytest.fixture
def held_memory():
    """This (parent) process holding ~400 MB, touched, while the test starts children."""
    mb = 400
    x = bytearray(mb << 20)
    x[:: 4096] = b"\1" * len(range(0, len(x), 4096))
    yield mb
    del x


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux: ru_maxrss carries over only there")
def test_a_child_reports_its_own_peak_not_its_parents(held_memory):
    """Linux carries ru_maxrss over through fork and exec, so every bench child started by a
    bench holding its corpus reported at least the bench's RSS (the benches used ru_maxrss;
    bench/memory.py's peak_rss_mb reads VmHWM). The child here allocates ~10 MB of its own."""
    import subprocess
    import sys

    code = ("import resource, sys\nsys.path.insert(0, 'bench')\nfrom memory import peak_rss_mb\n"
            "print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    new, old = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                                         check=True).stdout.split())
    assert old >= held_memory  # the trap this test sets: the kernel's figure starts at the parent's
    assert new < 100, f"child's own peak {new:.0f} MB, with the parent at {held_memory} MB"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux: ru_maxrss carries over only there")
def test_bench_phases_report_their_own_memory(held_memory, tmp_path):
    """bench_ingest's phases (a parent that built the inputs) and bench_audit's (a parent holding
    the output it built) report the phase's peak RSS and its process tree's sampled PSS, not
    the parent's RSS: bench_ingest reported >= the parent's RSS before."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in.jsonl.gz"
    with gzip.open(src, "wt") as f:
        f.writelines(json.dumps({"id": str(i), "text": f"document {i}"}) + "\n" for i in range(1000))
    ingest = load_bench("bench_ingest")
    r = ingest.run_phase(ingest.PHASES["raw:jsonl"], str(src))
    assert r["n"] == 1000 and 0 < r["rss_mb"] < 100 and r["pss_mb"] < 100, r
    (tmp_path / "out" / "text").mkdir(parents=True)
    pq.write_table(pa.table({"text": ["a", "bc"]}), tmp_path / "out" / "text" / "part-0.parquet")
    r = load_bench("bench_audit").measure("floor", tmp_path / "out")
    assert 0 < r["rss_mb"] < held_memory / 2, r


def test_extract_errors_counts_where_two_extractors_agree():
    """bench/extract_errors.py --against: each snippet in its (found by blocks, found by the
    other) cell, and the F1 of keeping what both, or either, find (docs/extraction.md quotes it)."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    b = load_bench("bench_extract")
    e = load_bench("extract_errors")
    pages = [{"gold": {"with": ["alpha beta", "gamma"], "without": ["menu", "footer"]}},
             {"gold": {"with": ["delta"], "without": ["share  this"]}}]
    ours = ["alpha  beta gamma menu", "share this"]
    theirs = ["alpha beta footer", "delta"]
    cells, combined = e.agreement(b, pages, ours, theirs)
    assert cells == {("with", True, True): 1, ("with", True, False): 1, ("with", False, True): 1,
                     ("without", True, False): 2, ("without", False, True): 1}
    assert (combined["both"]["precision"], combined["both"]["recall"]) == (1.0, 1 / 3)
    assert (combined["either"]["precision"], combined["either"]["recall"]) == (0.5, 1.0)


def test_blocks_speed_bench_reads_every_page_and_reports_differences(tmp_path):
    """bench/bench_blocks_speed.py: every saved page (plain or compressed) and every WARC under
    the corpora goes through the reader, gold files are left alone, and a changed row is named."""
    import gzip

    from curate.readers.warc_writer import write_warc

    b = load_bench("bench_blocks_speed")
    web = tmp_path / "corpora" / "web"
    (web / "gold_set" / "html").mkdir(parents=True)
    page = b"<html><body><article><p>" + b"A sentence of the article. " * 30 + b"</p></article></body></html>"
    (web / "gold_set" / "html" / "a.html").write_bytes(page)
    (web / "gold_set" / "html" / "b.html.gz").write_bytes(gzip.compress(page.replace(b"article.", b"story.")))
    (web / "gold_set" / "gold.json").write_text("{}")
    write_warc(str(web / "crawl.warc.gz"), [("https://a.test/", page, "text/html", 200)])
    inputs, pages = b.corpus_inputs(tmp_path / "corpora", tmp_path)
    assert sorted(pages) == sorted([page, page.replace(b"article.", b"story.")])
    assert [rel for _, rel in inputs] == ["pages.warc.gz", "web/crawl.warc.gz"]
    rows = b.read_all(inputs, "blocks")
    docs = [r for _, kind, r in rows if kind == "docs"]
    assert len(docs) == 3 and all("A sentence of the" in d["text"] for d in docs)
    assert b.compare(rows, list(rows)) == []
    changed = [(rel, kind, {**r, "text": r["text"] + "!"}) if r is docs[1] else (rel, kind, r) for rel, kind, r in rows]
    (diff,) = b.compare(rows, changed)
    assert diff.endswith(": text differ")
    assert b.compare(rows, rows[:-1])[0].startswith("row count")


def test_loader_bench_epoch_shares_now_and_before(capsys):
    """bench/bench_loader.py --share-only: an epoch's share with readers dealt ranges of windows
    (now) is never below whole row groups dealt by size (before): no partition's smallest part
    exceeds the even split's."""
    import argparse
    import re

    b = load_bench("bench_loader")
    b.epoch_shares(argparse.Namespace(small_tokens=300_000, share_tokens=600_000, seq_len=129, batch=2))
    rows = re.findall(r"(\d+) readers: now +([\d.]+)%, before +(refused|[\d.]+%)", capsys.readouterr().out)
    assert len(rows) == 10 and all(float(now) >= float(before.rstrip("%")) for _, now, before in rows if before != "refused")
    assert [r for r, _, before in rows if before == "refused"] == ["16"]  # 8 row groups cannot feed 16 readers before


def test_loader_bench_modes_read_the_tokens_it_wrote(tmp_path):
    """bench/bench_loader.py: the baseline reads every token of the shards it wrote, and the
    loader modes hand out whole batches of those tokens, less only what waits for the next epoch."""
    b = load_bench("bench_loader")
    m = b.write_tokens(str(tmp_path), 300_000, shards=4)
    total = m["tokens"]["total"]
    assert b.run_mode("pyarrow", str(tmp_path), 2, 129)["tokens"] == total
    for mode in ("pyarrow_batches", "loader", "loader_nocrc"):
        got = b.run_mode(mode, str(tmp_path), 2, 129)["tokens"]
        assert got % (2 * 129) == 0 and 0.9 * total < got <= total, (mode, got, total)



def test_loader_bench_startup_modes_hand_out_the_same_tokens(tmp_path):
    """bench/bench_loader.py --startup: TokenDataLoader, the same with its workers reopening the
    tokens each epoch (as before), and the bare DataLoader (its baseline) hand out as many tokens,
    persistent workers or not, every epoch's start timed; the reopening is undone afterwards.
    Each of the bench's 3 loaders once, persistent workers with 2 of them (each mode forks 2
    DataLoader workers an epoch, or once persistent, from pytest's large process: the 6 modes'
    18 workers were ~7 CPU-s; TokenDataLoader's persistent workers: tests/test_loader.py)."""
    pytest.importorskip("torch")
    import copy

    from curate import loader

    b = load_bench("bench_loader")
    b.write_tokens(str(tmp_path), 300_000, shards=4)
    modes = ["epochs_bare_w2_persistent", "epochs_reopen_w2", "epochs_tokens_w2_persistent"]
    got = {mode: b.run_mode(mode, str(tmp_path), 2, 129, epochs=2) for mode in modes}
    assert loader.copy is copy
    expected = 2 * len(loader.TokenLoader(str(tmp_path), 2, 129, num_workers=2)) * 2 * 129
    assert {mode: (r["tokens"], len(r["starts"])) for mode, r in got.items()} == {mode: (expected, 2) for mode in modes}
    own = b.own_epoch_start(str(tmp_path), 2, 129, 3, 1)
    assert len(own["reopen"]) == len(own["kept"]) == 3 and own["windows"] > 0

def test_loader_bench_open_shards_modes_hand_out_the_same_tokens(tmp_path):
    """bench/bench_loader.py --open-shards: one reader with at most 16 shards open (now) and with
    the limit raised to the shard count hand out the same tokens; only the first reopens shards
    in the epochs after the first (units shuffled), and the limit is restored afterwards."""
    from curate import loader

    b = load_bench("bench_loader")
    m = b.write_tokens(str(tmp_path), 300_000, shards=40, group_tokens=300_000 // 160)
    now, raised = (b.reopening(n, str(tmp_path), 2, 129, epochs=3) for n in (16, 40))
    assert loader.MAX_OPEN_SHARDS == 16 and now["tokens"] == raised["tokens"] > 0
    assert raised["opened"] == [40, 40, 40] and now["opened"][0] == 40 and min(now["opened"][1:]) > 40
    assert len(now["epochs"]) == 3 and len(m["shards"]) == 40


@pytest.mark.corpora
@pytest.mark.slow
def test_shards_bench_runs_each_shard_count_on_one_corpus(shards_bench):
    """bench/bench_shards.py (docs/scale.md's shard-count table) runs the same corpus with each
    run.shards and says whether every count removed and kept the same documents."""
    rc, out, _ = shards_bench
    assert rc == 0
    assert "same counts at every shard count: yes" in out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |") or line.startswith("| 4 |")]
    assert len(rows) == 2 and rows[0].split("|")[2].strip() == "16"  # id partitions: at least 16


@pytest.mark.corpora
def test_dedup_bench_outputs_do_not_depend_on_its_temporary_folder(corpora, tmp_path):
    """bench_dedup writes its corpora in a temporary folder, which named the input's source and so
    went into every id: two bench runs tie-broke other copies (of 40,000 mixed documents, 206 of
    4,166 removed were others; the author saw kept 354,701 in one run and 354,700 in the next).
    The same corpus in two folders now gives identical files."""
    import contextlib
    import io

    bench = load_bench("bench_dedup")
    outs = []
    for folder in ("tmpaaaa", "tmpbbbb"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "mixed.jsonl"
        bench.mixed(path, 300)
        outs.append(tmp_path / f"{folder}-out")
        # the bench's run (bench.run: its RUN code in a fresh process, for its memory) in this process:
        # the ids are RUN's arguments' doing, not the process's (2 interpreter starts and Beam imports fewer)
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            # --workers 1: no pooled worker processes forked from pytest's large process (~2 CPU-s a run)
            exec(bench.RUN, {"PATH": str(path), "STAGES": "ingest,dedup", "SETS": ["--workers", "1"], "KEEP": str(outs[-1]),
                             "peak_rss_mb": lambda: 0.0})
        assert json.loads(said.getvalue().splitlines()[-1])["kept"] > 0
    assert bench.same_outputs(*outs)


def test_bench_legacy_detect_reads_the_ref_with_its_own_legacy_scripts():
    """bench_legacy_detect's --ref ran the ref's common.py with this tree's legacy_scripts (common.py imports it by
    name), so a change to legacy_scripts read the same on both sides (review89: Hebrew read as Greek at 2f9c092
    showed as fixed there too)."""
    import sys

    ref = load_bench("bench_legacy_detect")._ref_module("HEAD")
    assert ref.legacy_scripts is not sys.modules["curate.readers.legacy_scripts"]
    assert ref.legacy_scripts.__file__.startswith("HEAD:")


def test_ci_schedule_hands_the_next_file_when_two_tests_are_left():
    """bench/ci_schedule.py follows xdist's loadfile rule (a worker is handed the next file after a
    test leaves it 2 or fewer), not "the next file when the last one ends": by hand, B's worker
    takes C at 5 s (B1 ended, 2 left) and D at 10 s, so D waits behind C's 30 s: ends 40 and 47
    (handed at the end instead: 42 and 45). Files go out costliest estimate first, 1 s a test
    where FILE_SECONDS has none (D)."""
    s = load_bench("ci_schedule")
    tests = {"A": [10] * 4, "B": [5] * 3, "C": [30], "D": [1, 1]}
    assert s.order({"A": 40, "B": 15, "C": 30}, tests) == ["A", "C", "B", "D"]
    clock, ran = s.simulate(["A", "B", "C", "D"], tests)
    assert clock == [40, 47]
    assert ran == [[["A", 0, 40]], [["B", 0, 15], ["C", 15, 45], ["D", 45, 47]]]
