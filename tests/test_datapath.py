"""The data path (#16): shuffles carry references and compact rows, not documents; documents
are spilled to files under the staging folder and removed with it; local runs use worker
processes that end with the run. Memory, CPU and wall at scale: bench/bench_datapath.py."""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from curate import cli, config, demo
from pipelines import meter


def _run(tmp_path: Path, corpora: Path, name: str, run_keys: str, monkeypatch) -> tuple[dict, dict]:
    out = tmp_path / name
    (tmp_path / f"{name}.toml").write_text(f'[run]\noutput = "{out}"\nprogress = "off"\n{run_keys}')
    folder = tmp_path / f"meter-{name}"
    folder.mkdir()
    monkeypatch.setenv(meter.ENV, str(folder))
    assert cli.main(["run", str(tmp_path / f"{name}.toml"),
                     "--input", str(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz"), "--domain", "web",
                     "--input", str(corpora / "code/code_sample.jsonl.gz"), "--domain", "code", "--languages", "all"]) == 0
    monkeypatch.delenv(meter.ENV)
    return json.loads((out / "manifest.json").read_text()), meter.totals(str(folder))


@pytest.fixture(scope="module")
def corpora_runs(corpora, tmp_path_factory) -> dict:
    """Every stage on the Dolma CC sample and the code sample, once for the module each way:
    documents in the shuffles in one process ("memory") and spilled with two workers
    ("spilled"). Per way: (manifest, bytes shuffled by step (meter), what the runner held
    (``_held``), the output folder)."""
    tmp = tmp_path_factory.mktemp("corpora-runs")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        held = _held(mp)
        for name, keys in (("memory", "spill = false\nworkers = 1\n"), ("spilled", "workers = 2\n")):
            held.clear()
            m, shuffled = _run(tmp, corpora, name, keys, mp)
            runs[name] = (m, shuffled, dict(held), tmp / name)
    return runs


@pytest.mark.corpora
def test_shuffles_carry_references_not_documents(corpora_runs):
    """Every stage, on the Dolma CC sample and the code sample. With documents in the shuffles (run.spill = false) the shuffles
    carry several times the text; spilled, they carry references and compact rows: at most half
    a byte per byte of ingested text (#16 acceptance 2), the documents going to files instead."""
    m_mem, sh_mem, _, _ = corpora_runs["memory"]
    m_spill, sh_spill, _, spilled_out = corpora_runs["spilled"]
    text = m_spill["stats"]["ingest.bytes_out"]
    assert text == m_mem["stats"]["ingest.bytes_out"] > 0
    per_text = {name: sum(v["bytes"] for v in sh.values()) / text for name, sh in (("memory", sh_mem), ("spilled", sh_spill))}
    assert per_text["memory"] > 2, per_text
    assert per_text["spilled"] <= 0.5, (per_text, sh_spill)
    # where the documents went instead: files under the staging folder, gone after the run
    assert m_spill["staged"]["bytes"] > text and m_mem["staged"]["bytes"] == 0
    by_step = m_spill["staged"]["by_step"]  # which step wrote what: the disk a run needs, explained
    assert sum(by_step.values()) == m_spill["staged"]["bytes"] and {"ingest", "ledger"} <= set(by_step)
    # dedup's join and the text writer read the documents from the files of the pooled step
    # before them (a batch is one piece of their shuffle): not written again (0.73 and 0.19
    # bytes per byte of text at 1x, bench_datapath.py)
    assert "dedup-docs" not in by_step and "text" not in by_step, by_step
    # a pooled step writes its output once; its input, assembled after ingest's shuffle, goes to
    # the workers through the pool's pipe, not to a second file (1.9x the text before, 0.9x now);
    # langid and the filter are one step: what langid keeps is not written before the filter
    assert by_step["langid+filter-stagesfn"] < 1.2 * text, by_step
    assert not {k for k in by_step if k.startswith(("langid-", "filter-"))}, by_step
    # a step's files are deleted once it and the next step are done: the disk needed at once
    # is a fraction of all that was written (0.50 here; the last steps' files wait for the end)
    assert m_spill["staged"]["peak_bytes"] < 0.7 * m_spill["staged"]["bytes"], m_spill["staged"]
    assert {k for k in sh_spill} >= {"ingest_partition", "dedup_entries", "dedup_join_docs", "write_text", "tokenize_rows"}
    assert not (spilled_out / ".curate-staging").exists()
    assert m_spill["counts"] == m_mem["counts"]


@pytest.mark.corpora
def test_removed_documents_wait_for_their_writer_as_files(corpora_runs):
    """On the DirectRunner every collection between two fused steps is held in memory until its
    consumer runs. The ledger (a row of ~400 B per removed document) waits for its writer
    until every stage is done: spilled, it waits as references, and all the runner holds
    between steps is compact rows and fixed-size tallies (#16 acceptance 1: memory grows with
    documents by tens of bytes, not by their text or ledger rows). Counted: what the runner
    hands each transform (side inputs apart)."""
    sizes = {}
    for name in ("memory", "spilled"):
        m, _, held, _ = corpora_runs[name]
        held = {k: v for k, v in held.items() if not k.startswith("side input of ")}
        removed = sum(sum(c.get("removed", {}).values()) for c in m["counts"].values() if isinstance(c, dict))
        sizes[name] = {"ledger_per_removed": held["Ledger/Read"] / removed,
                       "held_per_text": sum(held.values()) / m["stats"]["ingest.bytes_out"]}
    assert removed > 300, removed
    assert sizes["memory"]["ledger_per_removed"] > 200, sizes
    assert sizes["spilled"]["ledger_per_removed"] < 20, sizes
    assert sizes["spilled"]["held_per_text"] < 0.03, sizes  # 0.042 with the ledger held, 2 x that unspilled


def test_worker_processes_end_with_the_run(tmp_path):
    cfg = Path(demo.write_demo(str(tmp_path / "demo")))
    before = _children()
    assert cli.main(["run", str(cfg), "--output", str(tmp_path / "out"), "--progress", "off"]) == 0
    assert multiprocessing.active_children() == []
    assert _children() <= before


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        out.add(int(d))
            except (OSError, IndexError):
                pass
    return out


@pytest.mark.parametrize("line, message", [
    ("workers = -1", "run.workers: must be >= 0, got -1"),
    ('spill = "yes"', "run.spill: 'yes' is not one of auto, true, false"),
    ("spill = 1", "run.spill: expected a bool or str, got 1"),
])
def test_data_path_options_checked(tmp_path, line, message):
    p = tmp_path / "c.toml"
    p.write_text(f'[run]\noutput = "o"\n{line}\n')
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(")):
        config.load(str(p))


def test_released_step_folders_are_accounted(tmp_path):
    """spill.release deletes a finished step's folders (exact labels, or "step-" prefixes) and
    records what they held; the commit counts them into staged (by step) and peak_bytes."""
    import pyarrow.fs as pafs

    from curate import commit
    from pipelines import spill

    tmp = tmp_path / commit.TMP
    for rel, size in (("read/a.arrow", 30), ("dedup-docs/b.arrow", 50), ("dedup-entries/c.arrow", 20),
                      ("urldedup-docs/d.arrow", 7), ("text/e.arrow", 5)):
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_bytes(b"x" * size)
    spill.release(str(tmp_path), ("dedup-",))
    assert sorted(p.name for p in tmp.iterdir()) == [commit.RELEASED, "read", "text", "urldedup-docs"]
    spill.release(str(tmp_path), ("read", "ingest"))
    (tmp / "text" / "f.arrow").write_bytes(b"x" * 60)  # written after both releases: less than was there before
    staged = commit._remove_tmp(pafs.LocalFileSystem(), str(tmp))
    assert staged == {"files": 6, "bytes": 172, "peak_bytes": 112,
                      "by_step": {"dedup-docs": 50, "dedup-entries": 20, "read": 30, "text": 65, "urldedup-docs": 7}}
    assert not tmp.exists()


def _duplicated_corpus(path: Path, n: int = 2000, seed: int = 3) -> Path:
    """Generated short web documents (the demo's grammar), 40% of them copies of earlier ones."""
    import gzip
    import random

    rng = random.Random(seed)
    texts: list = []
    for _ in range(n):
        texts.append(rng.choice(texts) if texts and rng.random() < 0.4 else demo.paragraph(rng, 6))
    with gzip.open(path, "wt") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": f"d{i}", "text": t}) + "\n")
    return path


def test_dedup_removals_wait_for_the_join_as_files(tmp_path, monkeypatch):
    """Dedup's removals (a row per removed document) and absorbed sizes waited for the join in
    the runner, which holds them in the launching process: it grew with the duplicates. They
    wait as files now, the join getting references, and the output is the same as unspilled.
    Candidate edges are few, so they are grouped coarser than the join: fewer pieces."""
    corpus = _duplicated_corpus(tmp_path / "dups.jsonl.gz")
    runs = {}
    for name, keys in (("spilled", "workers = 2\n"), ("memory", "spill = false\nworkers = 1\n")):
        out = tmp_path / name
        (tmp_path / f"{name}.toml").write_text(f'[run]\noutput = "{out}"\nprogress = "off"\nstages = ["ingest", "dedup"]\n{keys}')
        folder = tmp_path / f"meter-{name}"
        folder.mkdir()
        monkeypatch.setenv(meter.ENV, str(folder))
        assert cli.main(["run", str(tmp_path / f"{name}.toml"), "--input", str(corpus), "--domain", "web"]) == 0
        monkeypatch.delenv(meter.ENV)
        runs[name] = (json.loads((out / "manifest.json").read_text()), meter.totals(str(folder)), out)
    m, shuffled, out = runs["spilled"]
    removed = sum(m["counts"]["dedup"]["removed"].values())
    assert removed > 600, m["counts"]["dedup"]
    mem = runs["memory"][1]
    # removals: a reference per join shard, not a row (~100 B) per removed document
    assert mem["dedup_join_removals"]["bytes"] / removed > 50, mem["dedup_join_removals"]
    assert shuffled["dedup_join_removals"]["bytes"] / removed < 10, shuffled["dedup_join_removals"]
    # candidate edges go to K = isqrt(J) edge groups, not to the J join shards: R x K pieces
    # of edges (R x J before: mostly an edge or two each) and K x J of absorbed sizes (J x J);
    # and each step's pieces are one file, a reference per file crossing: R and K of them
    j, k = 16, 4  # 4 output shards: J = R = 16
    assert shuffled["dedup_edges"]["elements"] <= 16, shuffled["dedup_edges"]
    assert shuffled["dedup_join_absorbed"]["elements"] <= k, shuffled["dedup_join_absorbed"]
    assert shuffled["dedup_join_removals"]["elements"] <= k, shuffled["dedup_join_removals"]
    assert shuffled["dedup_join_absorbed"]["bytes"] < 0.5 * mem["dedup_join_absorbed"]["bytes"], (shuffled, mem)
    assert m["counts"] == runs["memory"][0]["counts"]
    for kind in ("text", "ledger"):
        for f in sorted((out / kind).glob("*.parquet")):
            assert f.read_bytes() == (runs["memory"][2] / kind / f.name).read_bytes(), f


def test_references_of_one_file_share_its_path():
    """Where the runner groups a shuffle's elements (the launching process, on the
    DirectRunner) it holds them decoded, a Ref per piece: R x J of them at dedup's edges (65,536
    at 64 output shards), batches x shards at the others. Each decoded Ref had a path string
    of its own (~150 B); the pieces of one file now share it, which halves what a held piece
    costs (301 -> 145 B measured)."""
    import tracemalloc
    import uuid

    from pipelines import coders
    from pipelines.spill import Ref

    coders.register("none")
    coder = coders.ArrowFastPrimitivesCoder()
    folder = "/a/fairly/long/output/folder/.curate-staging/tmp/dedup-entries"
    encoded = [coder.encode((shard, Ref(f"{folder}/{name}.arrow", 1000 * shard, 900, 57, True, 300)))
               for name in (uuid.uuid4().hex for _ in range(32)) for shard in range(128)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        grouped: dict = {}
        for e in encoded:
            shard, ref = coder.decode(e)
            grouped.setdefault(shard, []).append(ref)
        per_piece = (tracemalloc.get_traced_memory()[0] - before) / len(encoded)
    finally:
        tracemalloc.stop()
    assert per_piece < 200, per_piece
    assert grouped[0][0].path is grouped[5][0].path


def test_pieces_by_key_are_found_in_their_file(tmp_path):
    """Spiller.by_key writes a batch's pieces into one file with an index; each key's reader
    finds its pieces there (Located), in every file, as many times as it is retried; a key a
    file has no rows of finds nothing; unspilled, the pieces pass as they are."""
    import pickle

    import pyarrow as pa

    from curate import commit
    from pipelines.spill import Indexed, Loaded, Located, Spiller

    spill = Spiller(str(tmp_path), "t-rows")
    batch = pa.record_batch({"id": [f"d{i}" for i in range(10)], "n": list(range(10))})
    files = [spill.by_key([(5, batch.slice(0, 3)), (1, batch.slice(3, 4)), (2, batch.slice(7, 0))]),
             spill.by_key([(1, batch.slice(7, 3))])]
    assert all(len(f) == 1 and isinstance(f[0], Indexed) for f in files)
    assert len(list((tmp_path / commit.TMP / "t-rows").iterdir())) == 2  # a file per call
    refs = [f[0] for f in files]
    got = {key: [b.to_pydict()["n"] for b in Loaded(pickle.loads(pickle.dumps(Located(key, refs))))] for key in range(6)}
    assert got == {0: [], 1: [[3, 4, 5, 6], [7, 8, 9]], 2: [], 3: [], 4: [], 5: [[0, 1, 2]]}
    assert [b.to_pydict()["n"] for b in Loaded(Located(1, refs))] == [[3, 4, 5, 6], [7, 8, 9]]  # read again
    assert not Loaded(Located(0, refs))
    assert Spiller(None, "t-rows").by_key([(1, batch), (2, batch.slice(0, 0))]) == [(1, batch)]


@pytest.mark.parametrize("compression", ["none", "lz4", "zstd"])
def test_a_spilled_split_writes_each_row_once(tmp_path, compression):
    """A batch split over many shards before a spilled shuffle is one sorted copy cut into
    zero-copy slices, and its pieces one IPC stream with the schema once: a file holds about
    the batch's bytes (an IPC writer writes only a slice's rows), not a copy of the parent per
    piece, and each piece reads back as the rows a copying split gives (batches and tables, on
    its own or found by key)."""
    import pyarrow as pa

    from curate import commit, output
    from curate.stages.dedup import cluster
    from pipelines.spill import Loaded, Located, Spiller, load

    spill = Spiller(str(tmp_path), "t-split", compression)
    assert not spill.copies and Spiller(None, "t-split").copies
    batch = pa.record_batch({"id": [f"doc-{i}" for i in range(600)], "text": ["word " * (50 + i % 7) for i in range(600)],
                             "n": pa.array(range(600), pa.int64())})
    want = output.split_by_shard(batch, "id", 64)
    slices = output.split_by_shard(batch, "id", 64, copy=False)
    assert [(k, v.to_pydict()) for k, v in slices] == [(k, v.to_pydict()) for k, v in want] and len(want) > 50
    pieces = spill.pieces(slices)
    files = list((tmp_path / commit.TMP / "t-split").iterdir())
    assert len(files) == 1 and files[0].stat().st_size < 1.3 * batch.nbytes + 64 * 300, (files[0].stat().st_size, batch.nbytes)
    assert [(k, load(r).to_pydict()) for k, r in pieces] == [(k, v.to_pydict()) for k, v in want]
    table = pa.Table.from_batches([batch.slice(0, 200), batch.slice(200, 400)])
    keys = pa.table({"key": pa.array([i * 7919 for i in range(600)], pa.uint64()), "n": batch.column("n")})
    for t in (table, keys):
        t = pa.Table.from_batches(t.to_batches(max_chunksize=150))  # several chunks: a piece may span messages
        col = "key" if "key" in t.column_names else "id"
        split = cluster.partition(t, 16, column=col, copy=False) if col == "key" else output.split_by_shard(t, col, 16, copy=False)
        files = spill.by_key(split)
        for k, v in split:
            got = list(Loaded(Located(k, files)))
            assert len(got) == 1 and isinstance(got[0], pa.Table) and got[0].equals(v.combine_chunks())


def test_a_files_index_is_read_once_while_it_fits(tmp_path, monkeypatch):
    """Every key's reader looks in every file of a shuffle by key (keys x files lookups): a
    process keeps the indexes it read (never rewritten: a file's name is new), within a bound
    past which the oldest are read again, with the same pieces found."""
    import pyarrow as pa

    from pipelines import spill as sp

    spiller = sp.Spiller(str(tmp_path), "t-index")
    batch = pa.record_batch({"k": list(range(40))})
    files = [spiller.by_key([(k, batch.slice(k, 1)) for k in range(i, 40, 3)])[0] for i in range(3)]
    reads = []
    real = sp.pa.OSFile
    monkeypatch.setattr(sp.pa, "OSFile", lambda path, *a: reads.append(path) or real(path, *a))
    first = {k: [r.offset for f in files for r in f.find(k)] for k in range(40)}
    assert len(reads) == 3 and all(len(v) == 1 for v in first.values())
    monkeypatch.setattr(sp, "_INDEX_ROWS", 14)  # holds one file's index: each lookup of another reads it again
    sp._INDEXES.clear()
    monkeypatch.setattr(sp, "_index_rows", 0)
    again = {k: [r.offset for f in files for r in f.find(k)] for k in range(40)}
    assert again == first and len(reads) == 3 + 40 * 3 and len(sp._INDEXES) == 1


def _held(monkeypatch) -> dict:
    """Encoded bytes the DirectRunner hands each transform (grouped collections, fused steps'
    inputs) or keeps for a side input, in the launching process: {transform: bytes}."""
    from apache_beam.runners.portability.fn_api_runner import fn_runner, worker_handlers

    held: dict = {}
    send, append = fn_runner.BundleManager._send_input_to_worker, worker_handlers.StateServicer.append_raw

    def counting(self, bundle, transform, streams):
        streams = list(streams or [])
        held[transform] = held.get(transform, 0) + sum(len(s) for s in streams)
        return send(self, bundle, transform, streams)

    def side_inputs(self, state_key, data):
        kind = state_key.WhichOneof("type")
        if kind.endswith("side_input"):
            key = f"side input of {getattr(state_key, kind).transform_id}"
            held[key] = held.get(key, 0) + len(data)
        return append(self, state_key, data)

    monkeypatch.setattr(fn_runner.BundleManager, "_send_input_to_worker", counting)
    monkeypatch.setattr(worker_handlers.StateServicer, "append_raw", side_inputs)
    return held


def test_a_shuffle_by_shard_holds_a_reference_per_file(tmp_path, monkeypatch):
    """Where a batch splits into a piece per shard before a shuffle (ingest's id partitions,
    dedup's bucket shards, token rows by shard), the runner held a
    reference per piece in the launching process: batches x shards of them (65,536 at dedup's
    buckets at 64 output shards, ~145 B each). The pieces of a batch are one file with an
    index, and the runner holds one reference per file; each shard's reader finds its pieces.
    The output is byte-identical to the unspilled run's."""
    corpus = _duplicated_corpus(tmp_path / "dups.jsonl.gz", n=1000)
    held = _held(monkeypatch)
    runs = {}
    for name, keys in (("spilled", "workers = 2\n"), ("memory", "spill = false\nworkers = 1\n")):
        held.clear()
        out = tmp_path / name
        (tmp_path / f"{name}.toml").write_text(f'[run]\noutput = "{out}"\nprogress = "off"\nshards = 16\n'
                                               f'stages = ["ingest", "dedup", "tokenize"]\n{keys}')
        folder = tmp_path / f"meter-{name}"
        folder.mkdir()
        monkeypatch.setenv(meter.ENV, str(folder))
        assert cli.main(["run", str(tmp_path / f"{name}.toml"), "--input", str(corpus), "--domain", "web"]) == 0
        monkeypatch.delenv(meter.ENV)
        runs[name] = (json.loads((out / "manifest.json").read_text()), meter.totals(str(folder)), out, dict(held))
    m, shuffled, out, held_spilled = runs["spilled"]
    batches = shuffled["dedup_join_docs"]["elements"]  # ingest's batches: one id partition each
    assert 64 <= batches <= 80, shuffled  # P = 64 id partitions at 16 shards, ~36 documents each
    # a reference per batch, not per (batch, shard): 64 x 64 bucket pieces and ~64 x 16 token rows before
    assert shuffled["dedup_entries"]["elements"] == batches, shuffled
    assert shuffled["tokenize_rows"]["elements"] == batches, shuffled
    assert shuffled["ingest_partition"]["elements"] <= 4, shuffled  # a read batch: 64 pieces
    # what the runner held for them in the launching process (~100 B a piece before)
    at = {step: sum(v for k, v in held_spilled.items() if f"/{step}/" in k)
          for step in ("dedup/Buckets", "tokenize/ByShard", "tokenize/FlattenRows")}
    assert at["dedup/Buckets"] < 250 * batches, at
    assert at["tokenize/ByShard"] + at["tokenize/FlattenRows"] < 250 * batches, at
    assert m["counts"] == runs["memory"][0]["counts"]
    for kind in ("text", "ledger", "tokens"):
        files = sorted((out / kind).glob("*.parquet"))
        assert files
        for f in files:
            assert f.read_bytes() == (runs["memory"][2] / kind / f.name).read_bytes(), f


def test_a_reused_file_must_be_the_step_befores():
    """SplitFn's reuse sends a batch a pooled step just wrote as that step's file, which stays
    until the shuffle's readers are done only when it is the step before's (spill.Release):
    a batch of an earlier step's files is refused (ReuseError), not sent to be read after its
    folder is deleted."""
    import pyarrow as pa

    from pipelines.spill import Ref, ReuseError, SplitFn, Spiller, remember

    batch = pa.record_batch({"id": ["a", "b"], "text": ["x", "y"]})
    ref = Ref("/out/.curate-staging/tmp/langid+filter-stagesfn/f.arrow", 0, 10, 2, False, 0)
    remember(batch, ref)
    spill = Spiller("/out/.curate-staging", "dedup-docs")
    assert list(SplitFn("id", 1, spill, reuse=("langid+filter-",)).process(batch)) == [(0, ref)]
    with pytest.raises(ReuseError, match=r"a file of step 'langid\+filter-stagesfn', not of the step before it \(urldedup-\)"):
        list(SplitFn("id", 1, spill, reuse=("urldedup-",)).process(batch))


def _pass_through(section, context):
    """A stage transform that passes its documents on unchanged (the same batch objects): what
    SplitFn's invariant rules out."""
    import apache_beam as beam

    class PassThrough(beam.PTransform):
        def expand(self, docs):
            return {"docs": docs | "Same" >> beam.Map(lambda b: b), "ledger": docs | "NoLedger" >> beam.FlatMap(lambda b: [])}

    return PassThrough(label=context.name)


@pytest.mark.parametrize("stages", [["ingest", "filter", "urldedup", "dedup"], ["ingest", "filter", "urldedup"]])
def test_a_stage_passing_a_pooled_batch_on_unchanged_is_an_internal_error(tmp_path, monkeypatch, stages):
    """Through the real pipeline: a stage (here urldedup, replaced) passing the pooled filter
    step's batches on unchanged to dedup's join or to the text writer would send the filter's
    files, deleted once urldedup is done, to a reader after that (SplitFn). The run stops with
    the internal error naming the cause instead of a missing file, or none, by timing."""
    import pipelines.urldedup

    monkeypatch.setattr(pipelines.urldedup, "UrlDedup", _pass_through)
    corpus = _duplicated_corpus(tmp_path / "dups.jsonl.gz", n=300)
    (tmp_path / "c.toml").write_text(f'[run]\noutput = "{tmp_path / "out"}"\nprogress = "off"\nworkers = 2\n'
                                     f'stages = {json.dumps(stages)}\n')
    with pytest.raises(Exception, match=r"a file of step 'filter-stagesfn', not of the step before it \(urldedup-\)"):
        cli.main(["run", str(tmp_path / "c.toml"), "--input", str(corpus), "--domain", "web"])
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_rebalance_candidates_cross_their_shuffle_as_files(tmp_path, monkeypatch):
    """rebalance's candidates (DIR/candidates, for `curate mix`) went to their writer's shuffle
    as Arrow rows, unspilled: the launching process held ~123 B per document for them
    (bench/bench_held.py at 200k documents: 129 B per document in all, against 5.5 before).
    Spilled like the text, the runner holds a reference per batch."""
    corpus = _duplicated_corpus(tmp_path / "dups.jsonl.gz", n=3000)
    held = _held(monkeypatch)
    out = tmp_path / "out"
    (tmp_path / "c.toml").write_text(f'[run]\noutput = "{out}"\nprogress = "off"\nshards = 16\nworkers = 2\n'
                                     f'stages = ["ingest", "rebalance"]\n')
    assert cli.main(["run", str(tmp_path / "c.toml"), "--input", str(corpus), "--domain", "web"]) == 0
    docs = json.loads((out / "manifest.json").read_text())["counts"]["rebalance"]["docs_in"]
    assert docs > 2500
    at = sum(v for k, v in held.items() if "WriteCandidates" in k)
    # Each batch's reference holds its spill file's path, so the bytes grow with the temporary
    # folder's name: 10.02 B a document under pytest-xdist (`.../popen-gw0/...`), under 10 serially.
    # Per-document rows held ~123 B a document: 30 still tells the two apart with paths 3x longer.
    assert 0 < at < 30 * docs, {k: v for k, v in held.items() if "WriteCandidates" in k}


@pytest.mark.parametrize("rows", [0, 7, 512, 513, 5000])
def test_ledger_stats_count_every_stage_and_rule(rows):
    """The removals per stage and rule a ledger batch adds to the manifest and the runner's
    counters: the same on small batches (counted in Python: a group_by cost ~0.5 ms each, and
    at 64 shards there are thousands of small ledger batches) as on large ones."""
    import collections
    import random

    import pyarrow as pa

    from pipelines.common import ledger_stats

    rng = random.Random(rows)
    pairs = [(rng.choice(["filter", "dedup", "langid"]), rng.choice(["a_rule", "b", "near_duplicate", "é_rule"])) for _ in range(rows)]
    batch = pa.record_batch({"id": [f"d{i}" for i in range(rows)], "stage": [p[0] for p in pairs], "rule": [p[1] for p in pairs]},
                            schema=pa.schema([("id", pa.string()), ("stage", pa.string()), ("rule", pa.string())]))
    want = {f"{s}.removed.{r}": n for (s, r), n in collections.Counter(pairs).items()}
    assert ledger_stats(batch) == want
