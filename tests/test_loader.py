"""The tokens/ loader: batches, sharding over ranks and workers, resuming, refusing bad dirs, torch."""
from __future__ import annotations

import collections
import errno
import inspect
import json
import re
import shlex
import subprocess
import sys
import os

import numpy as np
import pyarrow as pa
import pytest

from curate import output
from curate.stages import tokenize as tok
from curate.loader import TokenLoader, TokensError, deal, document_positions

VOCAB, EOS = 64, 63


def make_tokens(root, n_docs=600, shards=4, packed=False, seq_len=31, random_ids=True, seed=0) -> str:
    """A tokens dir written by the pipeline's own functions. Documents are runs t, t+1, t+2, ...
    (mod 63) ending in EOS, so a next-token model has something to learn."""
    rng = np.random.default_rng(0)
    lens = rng.integers(5, 120, n_docs)
    starts = rng.integers(0, VOCAB - 1, n_docs)
    ids = [np.append((s + np.arange(n)) % (VOCAB - 1), EOS) for s, n in zip(starts, lens)]
    if random_ids:  # unique content per position, to tell windows apart
        ids = [rng.integers(0, 1 << 30, len(x)) for x in ids]
    repeat = np.ones(n_docs) if random_ids else rng.integers(1, 3, n_docs)  # copies would repeat windows
    docs = pa.record_batch({"id": [f"{i:016x}" for i in range(n_docs)], "domain": ["web", "code"] * (n_docs // 2),
                            "repeat": pa.array(repeat, pa.int32())})
    lists = pa.array([x.astype(np.uint32) for x in ids], pa.list_(pa.uint32()))
    by_shard: dict = {i: [] for i in range(shards)}
    for s, rows in tok.token_rows(docs, lists, seed=1, shards=shards):
        by_shard[s].append(rows)
    entries = [tok.write_shard(str(root), i, shards, bs, packed, seq_len) for i, bs in by_shard.items()]
    info = {"name": "synthetic", "kind": "test", "sha256": "", "vocab_size": VOCAB, "eos_id": EOS, "eos": ""}
    cfg = {**tok.DEFAULTS, "packed": packed, "seq_len": seq_len, "seed": seed}
    output.write_atomic(str(root), tok.MANIFEST, output.json_bytes(tok.manifest(entries, info, cfg)))
    return str(root)


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(tok, "ROW_GROUP_ROWS", 64)  # many units from a small corpus


def every_window(d, L) -> int:
    """Whole windows of L tokens in every row group (a unit's last partial one dropped), from the manifest."""
    m = json.loads(open(os.path.join(d, tok.MANIFEST)).read())
    return sum(t // L for s in m["shards"] for t in s["row_group_tokens"])


def parquet_windows(d, L) -> list[tuple]:
    """Every whole window of L tokens, read from the shards with pyarrow (not the loader): each
    row group's token stream cut into windows, its last partial one dropped."""
    import pyarrow.parquet as pq

    out = []
    for s in json.loads(open(os.path.join(d, tok.MANIFEST)).read())["shards"]:
        f = pq.ParquetFile(os.path.join(d, "tokens", s["file"]))
        for g in range(f.num_row_groups):
            flat = np.concatenate([[], *f.read_row_group(g, columns=["input_ids"]).column(0).to_pylist()])  # a shard may be empty
            out += [tuple(int(t) for t in flat[i : i + L]) for i in range(0, len(flat) - L + 1, L)]
    return out


def windows(batches) -> list[tuple]:
    return [tuple(r) for b in batches for r in np.asarray(b).tolist()]


def test_batches_are_the_token_stream_cut_into_windows(tmp_path):
    d = make_tokens(tmp_path)
    lo = TokenLoader(d, batch_size=4, seq_len=16)
    got = list(lo)
    assert len(got) == len(lo) > 10 and all(b.shape == (4, 16) and b.dtype == np.int64 for b in got)
    # one reader: the shards' row groups in order, each cut into whole windows
    import pyarrow.parquet as pq

    expect = []
    for s in json.loads(open(os.path.join(d, tok.MANIFEST)).read())["shards"]:
        flat = np.concatenate(pq.read_table(os.path.join(d, "tokens", s["file"]))["input_ids"].to_pylist())
        expect += [tuple(flat[i : i + 16]) for i in range(0, len(flat) - 15, 16)]
    assert windows(got) == expect[: len(got) * 4]
    assert lo.epoch == 1 and lo.batch == 0


def test_ranks_and_workers_read_disjoint_parts_in_lockstep(tmp_path, small_groups):
    d = make_tokens(tmp_path)
    seen, lengths = set(), set()
    for rank in range(2):
        for w in range(3):
            got = windows(TokenLoader(d, 2, 16, rank=rank, world_size=2, num_workers=3, worker=w))
            lengths.add(len(got))
            assert not seen & set(got)
            seen |= set(got)
    assert len(lengths) == 1 and lengths.pop() > 0  # every reader yields the same number of batches
    # a rank playing its 3 workers round-robin = what a DataLoader with 3 workers hands out
    rank0 = list(TokenLoader(d, 2, 16, rank=0, world_size=2, num_workers=3))
    per_worker = [list(TokenLoader(d, 2, 16, rank=0, world_size=2, num_workers=3, worker=w)) for w in range(3)]
    assert all(np.array_equal(b, per_worker[i % 3][i // 3]) for i, b in enumerate(rank0))


def stopped_at(d, batches: int) -> tuple[dict, list]:
    """A loader (batches of 3 x 20, 2 workers) stopped after ``batches`` batches: its state, and the rest of its epoch."""
    lo = TokenLoader(d, 3, 20, num_workers=2)
    it = iter(lo)
    for _ in range(batches):
        next(it)
    return lo.state_dict(), list(it)


def test_resume_continues_exactly_where_it_stopped(tmp_path, small_groups):
    d = make_tokens(tmp_path)
    state, rest = stopped_at(d, 7)
    again = TokenLoader(d, 3, 20, num_workers=2)
    again.load_state_dict(json.loads(json.dumps(state)))  # survives a checkpoint file
    assert state["batch"] == 7 and all(np.array_equal(a, b) for a, b in zip(rest, again, strict=True))
    with pytest.raises(ValueError, match=r"loader state: saved with seq_len 20, this loader has 21: a position counts windows "
                                         r"of seq_len tokens, so it cannot move to another: resume with seq_len=20"):
        TokenLoader(d, 3, 21, num_workers=2).load_state_dict(state)


def test_resuming_in_rewritten_tokens_says_so(tmp_path, small_groups):
    """A checkpoint's loader state after the corpus was rerun (shards added): the refusal was a
    bare 'manifest_sha256: ... != ...'; it says what happened and what to do."""
    d = make_tokens(tmp_path / "a")
    lo = TokenLoader(d, 3, 20, num_workers=2)
    next(iter(lo))
    state = lo.state_dict()
    other = make_tokens(tmp_path / "b", n_docs=700)
    with pytest.raises(ValueError, match=r"loader state: saved for other tokens \(manifest sha256 \w{12}\) than .*b holds now \(\w{12}\): "
                                         r"the output was rewritten since \(a rerun, shards added\)"):
        TokenLoader(other, 3, 20, num_workers=2).load_state_dict(state)


def test_tokens_left_over_in_one_epoch_come_in_the_next(tmp_path, small_groups):
    """Readers hold unequal shares and each yields only what the smallest fills. The README
    says the rest waits for the next epoch; each epoch used to read the same windows again,
    so the rest was never read (a third of a real 3-shard run with world_size 3)."""
    d = make_tokens(tmp_path)
    L = 16
    m = json.loads(open(os.path.join(d, tok.MANIFEST)).read())
    every = sum(t // L for s in m["shards"] for t in s["row_group_tokens"])  # every whole window of every unit
    loaders = [TokenLoader(d, 4, L, rank=r, world_size=3) for r in range(3)]
    first = set(windows(b for lo in loaders for b in lo))
    assert len(first) < every  # one epoch does not read them all ...
    seen, epochs = set(first), 1
    while len(seen) < every and epochs < 10:
        got = [windows(lo) for lo in loaders]
        assert len({len(g) for g in got}) == 1  # still in lockstep
        seen |= {w for g in got for w in g}
        epochs += 1
    assert len(seen) == every  # ... the following ones read the rest


def test_a_second_pass_does_not_repeat_the_first_passs_batches(tmp_path, small_groups):
    """Training for several epochs over a small corpus saw the same batches, in the same order,
    every pass. The first pass is the pipeline's shuffled order as before; each later epoch of
    a reader takes its units, and the windows in each, in an order seeded by the epoch: every
    epoch reads its windows once, what one leaves the next reads, batches differ, and resuming
    mid-epoch is exact."""
    d = make_tokens(tmp_path)
    L, B = 16, 4
    lo = TokenLoader(d, B, L)
    total = every_window(d, L)  # one reader: all of them
    per_epoch = lo.steps * B
    assert 0 < total - per_epoch < B  # epochs leave a few
    epochs = [windows(lo) for _ in range(4)]
    assert epochs[0] == parquet_windows(d, L)[:per_epoch]  # the pipeline's order
    for e in range(1, 4):
        assert len(set(epochs[e])) == per_epoch and len(set(epochs[e - 1]) | set(epochs[e])) == total
        same = sum(a == b for a, b in zip(epochs[e - 1], epochs[e]))
        assert same < total // 10, same  # another order (a few may fall in place)
    # resume in the middle of the second epoch, from a fresh loader: the same batches follow
    fresh = TokenLoader(d, B, L)
    fresh.load_state_dict({**lo.state_dict(), "epoch": 1, "batch": 3})
    assert windows(fresh) == epochs[1][3 * B :]
    # two loaders agree (the order depends on the position only)
    again = TokenLoader(d, B, L)
    assert [w for _ in epochs for w in windows(again)] == [w for e in epochs for w in e]


def test_a_negative_tokenize_seed_reshuffles_the_second_pass(tmp_path, small_groups):
    """tokenize.seed = -7 is a valid config (the shuffle hashes it to 64 bits), but the loader
    seeded numpy with it as given: training stopped with 'expected non-negative integer' at the
    first batch of its second pass over the corpus, hours in."""
    d = make_tokens(tmp_path, seed=-7)
    L, B = 16, 4
    lo = TokenLoader(d, B, L)
    total = every_window(d, L)  # one reader: all of them
    first, second = windows(lo), windows(lo)
    assert len(set(first) | set(second)) == total and len(set(second)) == len(second) and first != second


def test_no_epoch_reads_a_window_twice(tmp_path, small_groups):
    """With several readers a reader's share is larger than what an epoch takes, so epochs
    spanned the end of one round and the start of the next; drawn freely, the next round read
    some of the windows the same epoch had just read (72 to 185 of 616 per epoch, 3 workers).
    An epoch is now an order of the share but the few it leaves; what it leaves the next epoch
    reads, and a DataLoader-style worker split gives the same."""
    d = make_tokens(tmp_path, n_docs=900, shards=8)
    L, B = 16, 7  # shares of 1,216 windows: an epoch leaves 5
    for kw in ({"world_size": 3, "rank": 1}, {"num_workers": 3}):
        lo = TokenLoader(d, B, L, **kw)
        totals = np.diff(deal(every_window(d, L), 3))  # each reader's share
        assert max(totals) > lo.steps * B  # epochs leave some
        per_epoch = []
        for _ in range(8):
            got = windows(lo)
            per_epoch.append(got)
            assert len(set(got)) == len(got), f"{kw}: a window read twice in epoch {len(per_epoch) - 1}"
        if "num_workers" in kw:  # a worker's reader alone reads exactly what the round-robin gave it
            solo = TokenLoader(d, B, L, num_workers=3, worker=1)
            mine = [w for _ in range(8) for w in windows(solo)]
            rr = [w for e in per_epoch for i in range(1, len(e) // B, 3) for w in e[i * B : (i + 1) * B]]
            assert mine == rr
            n = len(mine) // 8
            for e in range(1, 8):  # what an epoch leaves the next reads: two epochs read every window of the share
                assert len(set(mine[(e - 1) * n : (e + 1) * n])) == totals[1]


def test_packed_rows_are_the_windows(tmp_path):
    d = make_tokens(tmp_path, packed=True, seq_len=31)
    lo = TokenLoader(d, batch_size=5)  # seq_len from the manifest: rows of 32
    import polars as pl

    rows = pl.read_parquet(os.path.join(d, "tokens", "part-00000-of-00004.parquet"))["input_ids"].to_list()
    first = np.concatenate(list(lo))[: len(rows) - 1]
    assert first.shape[1] == 32 and np.array_equal(first, np.array(rows[: len(first)]))


def test_document_positions_keep_packed_documents_apart(tmp_path):
    """A window holds the ends and starts of several documents: a loop that masks attention
    across them (or restarts position ids) had to find the EOS id in the manifest and write
    the scan itself. The loader says its EOS id, and document_positions gives each token's
    document and position, checked against a plain loop over every batch of an epoch."""
    d = make_tokens(tmp_path, random_ids=False)
    lo = TokenLoader(d, batch_size=4, seq_len=40)
    assert lo.eos_id == EOS
    ends = 0
    for batch in lo:
        doc, pos = document_positions(batch, lo.eos_id)
        for r, row in enumerate(batch.tolist()):
            k = p = 0
            for j, t in enumerate(row):
                assert (doc[r, j], pos[r, j]) == (k, p)
                k, p = (k + 1, 0) if t == EOS else (k, p + 1)
            ends += row.count(EOS)
    assert ends > 100  # windows did hold several documents
    doc, pos = document_positions(np.array([[5, 6, 7]]), None)  # no EOS: the row is one document
    assert doc.tolist() == [[0, 0, 0]] and pos.tolist() == [[0, 1, 2]]


def test_refuses_a_dir_whose_manifest_is_missing_or_wrong(tmp_path):
    d = make_tokens(tmp_path)
    t = tmp_path / "tokens"
    f = t / "part-00001-of-00004.parquet"
    data = f.read_bytes()
    f.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])  # same size, one bit
    TokenLoader(d, 2, 16)  # the quick check (sizes, rows, row groups) passes ...
    with pytest.raises(TokensError, match="sha256 differs from the manifest"):
        TokenLoader(d, 2, 16, verify="sha256")  # ... the full one does not
    f.write_bytes(data + b"x")
    with pytest.raises(TokensError, match=r"bytes, the manifest says"):
        TokenLoader(d, 2, 16)
    f.write_bytes(data)
    (t / "part-00009-of-00009.parquet").write_bytes(data)
    with pytest.raises(TokensError, match="part-00009-of-00009.parquet not listed"):
        TokenLoader(d, 2, 16)
    (t / "part-00009-of-00009.parquet").unlink()
    (tmp_path / tok.MANIFEST).unlink()
    with pytest.raises(TokensError, match="tokens: no tokens.json beside it: not a finished curate tokens directory"):
        TokenLoader(d, 2, 16)


def test_an_output_without_tokens_is_named_as_such(tmp_path):
    """TokenLoader on a curate output whose run had no tokenize stage said "manifest.json:
    format 'curate/1', expected 'curate-tokens/1'"; on a missing path, "not a finished
    curate tokens directory (the run did not complete?)"."""
    from curate import cli

    pages = tmp_path / "p.jsonl"
    pages.write_text(json.dumps({"text": "a page of text " * 20}) + "\n")
    out = tmp_path / "o"
    assert cli.main(["run", "--input", str(pages), "--domain", "web", "--stages", "dedup", "--output", str(out), "--progress", "off"]) == 0
    with pytest.raises(TokensError, match=r"o: a curate output without tokens/: its run had no tokenize stage; run it with tokenize among the stages"):
        TokenLoader(str(out), 2, 16)
    with pytest.raises(TokensError, match=r"nowhere: no such directory"):
        TokenLoader(str(tmp_path / "nowhere"), 2, 16)


def test_fewer_row_groups_than_readers_still_feed_every_reader(tmp_path):
    """2 row groups could not feed 3 readers ("run with more token shards"): readers now share
    row groups by windows, and too few windows for a batch each names what to change."""
    d = make_tokens(tmp_path, n_docs=40, shards=2)
    truth = parquet_windows(d, 8)
    got = [w for r in range(3) for w in windows(TokenLoader(d, 1, 8, rank=r, world_size=3))]
    assert len(got) == len(set(got)) > len(truth) - 3 and set(got) <= set(truth)
    with pytest.raises(ValueError, match=rf"{len(truth)} windows of 8 tokens, too few for one batch of 10000 per reader \(3 readers: "
                                         r"world_size x num_workers\): use fewer readers, a smaller batch_size or seq_len"):
        TokenLoader(d, 10_000, 8, world_size=3)


def test_torch_training_loss_goes_down_and_resume_is_exact(tmp_path, small_groups):
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    d = make_tokens(tmp_path, n_docs=1200, random_ids=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only contend
    try:
        _train_and_resume(torch, TokenDataLoader, d)
    finally:
        torch.set_num_threads(threads)


def _train_and_resume(torch, TokenDataLoader, d):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(VOCAB, 32), torch.nn.Linear(32, VOCAB))
    dl = TokenDataLoader(d, batch_size=8, seq_len=33, num_workers=2)
    losses, it = [], iter(dl)
    for _ in range(25):
        b = next(it)
        x, y = b[:, :-1], b[:, 1:]
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        model.zero_grad()
        loss.backward()
        with torch.no_grad():  # plain SGD: torch.optim's first step imports torch._dynamo (seconds)
            for p in model.parameters():
                p -= 2.0 * p.grad
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    state = dl.state_dict()
    nxt = [next(it) for _ in range(6)]
    resumed = TokenDataLoader(d, batch_size=8, seq_len=33, num_workers=2)
    resumed.load_state_dict(state)
    again = iter(resumed)
    assert all(torch.equal(a, next(again)) for a in nxt)
    # the same stream as the numpy loader playing two workers
    ref = list(TokenLoader(d, 8, 33, num_workers=2))
    assert all(np.array_equal(ref[25 + i], a.numpy()) for i, a in enumerate(nxt))


@pytest.mark.parametrize("where", [0.2, 0.5, 0.8])
def test_a_damaged_shard_of_the_right_size_is_named_when_read(tmp_path, where):
    """A shard damaged in place (same size: the quick check passes) gave other tokens without a
    word (damage in a dictionary page) or failed mid-training with pyarrow's bare "OSError:
    Unexpected end of stream", naming no file; now every page has a CRC the loader checks, and a read that
    fails names the file, its row group and what to do."""
    d = make_tokens(tmp_path, n_docs=1200, shards=2)
    f = tmp_path / "tokens" / "part-00001-of-00002.parquet"
    import pyarrow.parquet as pq

    group = pq.read_metadata(f).row_group(0)
    col = next(group.column(i) for i in range(group.num_columns) if group.column(i).path_in_schema.startswith("input_ids"))  # its dictionary page, then its data pages
    start = col.dictionary_page_offset or col.data_page_offset
    data = bytearray(f.read_bytes())
    i = start + int(col.total_compressed_size * where)
    data[i : i + 8] = bytes(b ^ 0x5A for b in data[i : i + 8])  # size unchanged
    f.write_bytes(bytes(data))
    lo = TokenLoader(d, 2, 16)  # the quick check (sizes, rows, row groups) cannot see it
    with pytest.raises(TokensError, match=r"part-00001-of-00002.parquet: row group \d+ is damaged \(.+\): "
                                          r"restore it from a copy or rerun curate; verify=\"sha256\" checks"):
        list(lo)


def test_a_damaged_footer_is_named_when_opened(tmp_path):
    """A shard whose footer is damaged (same size) raised pyarrow's own error from TokenLoader()."""
    d = make_tokens(tmp_path, n_docs=200, shards=2)
    f = tmp_path / "tokens" / "part-00000-of-00002.parquet"
    data = bytearray(f.read_bytes())
    n = int.from_bytes(data[-8:-4], "little")  # the footer's length, before the closing PAR1
    data[-8 - n : -8 - n + 16] = b"\xff" * 16  # the start of the footer's metadata
    f.write_bytes(bytes(data))
    with pytest.raises(TokensError, match=r"part-00000-of-00002.parquet: not a readable Parquet file \(.+\): restore it from a copy"):
        TokenLoader(d, 2, 16)


@pytest.fixture(scope="module")
def cl100k_run(tmp_path_factory):
    """A real run's output: tokenized with cl100k_base."""
    from curate import cli

    tmp = tmp_path_factory.mktemp("cl100k")
    pages = tmp / "p.jsonl"
    pages.write_text("".join(json.dumps({"text": f"page {i}: " + "a few words of text " * (20 + i)}) + "\n" for i in range(60)))
    out = tmp / "o"
    assert cli.main(["run", "--input", str(pages), "--domain", "web", "--stages", "ingest,tokenize", "--shards", "2",
                     "--output", str(out), "--progress", "off"]) == 0
    return out


def test_tokens_of_another_tokenizer_are_refused_when_the_model_names_its_own(cl100k_run, tmp_path):
    """Nothing stopped a model trained with one tokenizer from streaming tokens made with
    another (ids out of its vocabulary, or silently other words): the loader had no way to be
    told which tokenizer the model uses."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    out = str(cl100k_run)
    assert len(TokenLoader(out, 2, 16, tokenizer="cl100k_base")) > 0  # the one it was made with
    with pytest.raises(TokensError, match=r"tokens: tokenized with cl100k_base \(tiktoken, vocab 100,277, EOS 100257\), "
                                          r"not o200k_base: load it with the tokenizer it was made with, or rerun curate "
                                          r"with tokenize.tokenizer = \"o200k_base\""):
        TokenLoader(out, 2, 16, tokenizer="o200k_base")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(["a few words of text"] * 10, trainers.BpeTrainer(vocab_size=280, special_tokens=["<|endoftext|>"]))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    with pytest.raises(TokensError, match=rf"tokenized with cl100k_base .*, not {path} \(sha256 [0-9a-f]{{12}}\)"):
        TokenLoader(out, 2, 16, tokenizer=str(path))
    torch = pytest.importorskip("torch")  # noqa: F841
    from curate.loader import TokenDataLoader

    with pytest.raises(TokensError, match="not o200k_base"):
        TokenDataLoader(out, 2, 16, tokenizer="o200k_base")



def test_a_loader_given_a_bare_file_name_is_told_to_write_it_as_a_path(tmp_path, monkeypatch):
    """A bare name is an encoding's (as config.load reads tokenize.tokenizer): tokens made with
    ./mytok, loaded with tokenizer="mytok" (the file here), were refused with 'rerun curate with
    tokenize.tokenizer = "mytok"', which curate refuses in turn. The loader says what config.load
    says: write ./mytok."""
    from tokenizers import Tokenizer, models

    from curate.loader import check_tokenizer
    from curate.stages.tokenize import Encoder

    monkeypatch.chdir(tmp_path)
    Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "<eos>": 2}, unk_token="[UNK]")).save("mytok")
    made = Encoder("./mytok", eos="<eos>").info()
    check_tokenizer("out", made, "./mytok")
    with pytest.raises(TokensError, match=re.escape("a file of that name is in the current directory: write ./mytok for it")):
        check_tokenizer("out", made, "mytok")
    os.mkdir("hf")  # a tokenizer saved with save_pretrained: a folder holding tokenizer.json
    os.rename("mytok", "hf/tokenizer.json")
    for expected in ("hf", "./hf"):  # not 'file not found: ./hf'
        with pytest.raises(TokensError, match=re.escape("a folder") + ".*" + re.escape("write ./hf/tokenizer.json for the tokenizer in it")):
            check_tokenizer("out", made, expected)


def test_an_output_being_replaced_or_whose_tokens_manifest_was_swapped_is_refused(cl100k_run, tmp_path):
    """The loader read the tokens manifest alone: one copied in from another run (its shards'
    sizes the same, another tokenizer named) was streamed as if it belonged, and an output a
    rerun was swapping in (its manifest.json removed first) was read half old, half new."""
    import shutil

    out = tmp_path / "o"
    shutil.copytree(cl100k_run, out)
    tm = out / tok.MANIFEST
    m = json.loads(tm.read_text())
    tm.write_text(json.dumps({**m, "tokenizer": {**m["tokenizer"], "name": "o200k_base", "vocab_size": 200019}}))
    with pytest.raises(TokensError, match=r"o/tokens.json: not the one the run wrote \(its sha256 is not the one "
                                          r".*o/manifest.json lists\): restore it from a copy or rerun curate"):
        TokenLoader(str(out), 2, 16)
    with pytest.raises(TokensError, match="not the one the run wrote"):
        TokenLoader(str(out / "tokens"), 2, 16)  # the tokens folder named directly: the same check
    shutil.rmtree(out)
    shutil.copytree(cl100k_run, out)
    (out / "manifest.json").unlink()  # a rerun's commit deletes the old manifest first
    (out / ".curate-staging").mkdir()
    fresh = tmp_path / "my fresh"
    (fresh / ".curate-staging").mkdir(parents=True)  # a first run still writing: nothing but its staging yet
    for d in (out, fresh):
        with pytest.raises(TokensError, match=rf"{d.name}: no manifest.json: a run is writing or replacing this output \(or one "
                                              r"crashed doing so\): wait for it to finish and retry; curate audit .* says which") as e:
            TokenLoader(str(d), 2, 16)
        assert f"curate audit {shlex.quote(str(d))} says" in str(e.value)  # a command to copy, quoted


def test_a_readers_unit_of_long_documents_is_bounded_in_tokens(tmp_path):
    """A row group (a reader's unit, held whole while its windows are cut) was 1,024 rows
    whatever their length: 1,024 books of 150k tokens are 600 MB of ids per DataLoader worker.
    Row groups now also end at tok.ROW_GROUP_TOKENS (a longer document alone in its own), and
    the loader still yields the shard's token stream cut into windows."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(3)
    lens = rng.integers(1_500, 2_500, 1_100)
    lens[7] = 3 * tok.ROW_GROUP_TOKENS // 2  # one document longer than a unit
    flat = rng.integers(0, 1 << 30, int(lens.sum())).astype(np.uint32)
    ids = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)), pa.array(flat))
    docs = pa.record_batch({"id": [f"{i:016x}" for i in range(len(lens))], "domain": ["books"] * len(lens)})
    rows = [r for _, r in tok.token_rows(docs, ids, seed=0, shards=1)]
    e = tok.write_shard(str(tmp_path), 0, 1, rows)
    info = {"name": "synthetic", "kind": "test", "sha256": "", "vocab_size": 1 << 30, "eos_id": None, "eos": ""}
    output.write_atomic(str(tmp_path), tok.MANIFEST, output.json_bytes(tok.manifest([e], info, dict(tok.DEFAULTS))))
    f = pq.ParquetFile(tmp_path / "tokens" / e["file"])
    groups = [f.metadata.row_group(g).num_rows for g in range(f.num_row_groups)]
    assert sum(e["row_group_tokens"]) == lens.sum() and len(groups) >= lens.sum() // tok.ROW_GROUP_TOKENS + 1
    assert all(t <= tok.ROW_GROUP_TOKENS or n == 1 for t, n in zip(e["row_group_tokens"], groups)), (e["row_group_tokens"], groups)
    stream = np.concatenate(f.read(columns=["input_ids"]).column(0).to_pylist()).astype(np.int64)
    L, got = 1000, np.concatenate(list(TokenLoader(str(tmp_path), 4, 1000)))
    cut = np.concatenate([stream[a : a + t][: t // L * L] for a, t in zip(np.cumsum([0, *e["row_group_tokens"][:-1]]), e["row_group_tokens"])])
    assert np.array_equal(got.ravel(), cut[: got.size])


def test_tokens_rewritten_under_a_running_loader_are_refused(tmp_path):
    """A rerun into the output a job was streaming (its files renamed into place between two
    epochs) went on with the old manifest's positions over the new files: a bare reshape or
    "damaged" error, or other windows without a word; DataLoader workers, which open the
    tokens afresh each epoch, read the new tokens as if nothing had changed."""
    d = make_tokens(tmp_path, n_docs=600, shards=2)
    lo = TokenLoader(d, 2, 16)
    assert len(list(lo)) == len(lo)
    make_tokens(tmp_path, n_docs=700, shards=2, seed=5)  # a rerun of other inputs, same place
    with pytest.raises(TokensError, match=r"tokens: rewritten since this loader opened them \(a rerun into the same "
                                          r"output\?\): a position is only valid in the tokens it was read from"):
        next(iter(lo))
    torch = pytest.importorskip("torch")  # noqa: F841
    from curate.loader import TokenDataLoader

    dl = TokenDataLoader(d, 2, 16, num_workers=1)
    assert len(list(dl)) == len(dl)
    make_tokens(tmp_path, n_docs=600, shards=2)
    with pytest.raises(Exception, match="rewritten since this loader opened them"):
        next(iter(dl))


def test_a_file_given_as_the_tokens_folder_says_so(cl100k_run):
    """TokenLoader("corpus/tokens.json") (or a shard) said "no such directory" of a file that exists."""
    for f in ("manifest.json", "tokens.json", "tokens/part-00000-of-00002.parquet"):
        with pytest.raises(TokensError, match=rf"{f}: a file, not a folder: give the run's output folder \(or its tokens/ folder\)"):
            TokenLoader(str(cl100k_run / f), 2, 16)


@pytest.mark.parametrize("world_size, num_workers", [(1, 2), (1, 4), (2, 2), (3, 1)])
def test_an_epoch_reads_nearly_every_token_whatever_the_readers(tmp_path, small_groups, world_size, num_workers):
    """Row groups were dealt round-robin in manifest order: with shards of a full row group
    and a small last one, an even number of readers gave half of them only the small ones,
    and every reader yields what the smallest fills: an epoch of 2 workers read 20% of a 60M
    token corpus (64 shards). Dealt by their windows, largest first, to the reader with the
    fewest, an epoch reads nearly all of them."""
    d = make_tokens(tmp_path, n_docs=2400, shards=12)  # 200 rows a shard: 3 groups of 64 and one of 8
    m = json.loads(open(os.path.join(d, tok.MANIFEST)).read())
    B, L = 2, 16
    every = sum(t // L for s in m["shards"] for t in s["row_group_tokens"])
    loaders = [TokenLoader(d, B, L, rank=r, world_size=world_size, num_workers=num_workers) for r in range(world_size)]
    got = windows(b for lo in loaders for b in lo)
    assert len(got) == len(set(got)) == sum(len(lo) for lo in loaders) * B
    assert len(got) >= 0.95 * every, (len(got), every)


def test_a_state_saved_under_round_robin_dealing_is_refused(tmp_path, small_groups):
    """A position saved by a curate that dealt row groups round-robin means other windows now."""
    d = make_tokens(tmp_path)
    lo = TokenLoader(d, 2, 16, num_workers=2)
    next(iter(lo))
    state = {k: v for k, v in lo.state_dict().items() if k != "deal"}
    with pytest.raises(ValueError, match="loader state: saved by a curate that dealt row groups to readers round-robin"):
        TokenLoader(d, 2, 16, num_workers=2).load_state_dict(state)


@pytest.mark.parametrize("readers", [1, 2, 4, 8, 16])
def test_an_epoch_of_a_few_row_groups_reads_all_but_a_batch_per_reader(tmp_path, readers):
    """Whole row groups dealt to readers left their shares apart by up to a row group, and each
    reader yields what the smallest fills: 8 readers on 8 row groups read 86% of a small
    corpus an epoch (62% measured on another). Each reader now gets a contiguous range of
    windows, the ranges a window apart at most: an epoch reads all but fewer than
    readers x batch_size windows, each once."""
    d = make_tokens(tmp_path, n_docs=600, shards=8)  # a row group a shard
    L, B = 16, 2
    truth = parquet_windows(d, L)
    got = windows(b for r in range(readers) for b in TokenLoader(d, B, L, rank=r, world_size=readers))
    assert len(got) == len(set(got)) and set(got) <= set(truth)
    assert len(got) == len(truth) // readers // B * B * readers > len(truth) - readers * B, (len(got), len(truth))


def run_ranks(loaders, batches=None) -> list[tuple]:
    """Step the ranks' loaders in lockstep (``batches`` each, or to the end of the epoch): their windows."""
    its = [iter(lo) for lo in loaders]
    out, n = [], 0
    while batches is None or n < batches:
        got = [next(it, None) for it in its]
        if got[0] is None:
            assert all(g is None for g in got)  # in lockstep
            break
        out += windows(got)
        n += 1
    return out


def shaped(d, shape, L, **kw):
    ws, nw, bs = shape
    return [TokenLoader(d, bs, L, rank=r, world_size=ws, num_workers=nw, **kw) for r in range(ws)]


@pytest.mark.parametrize("shapes, at", [
    ([(2, 2, 3), (3, 1, 2)], [5]),  # 4 readers of 3 -> 3 ranks of 2
    ([(1, 1, 4), (4, 2, 4)], [7]),  # scaled up from one reader to 8
    ([(4, 1, 2), (2, 1, 4)], [0]),  # at an epoch's start: the global batch kept
    ([(2, 3, 2), (1, 1, 7), (3, 2, 1), (1, 1, 1)], [4, 9, 5]),  # three in one epoch, the last reading every window left
])
@pytest.mark.parametrize("epoch", [0, 1])
def test_a_resized_job_reads_the_rest_of_the_epoch_once(tmp_path, small_groups, shapes, at, epoch):
    """A saved loader state was refused unless world_size, num_workers and batch_size were the
    ones it was saved with: a job restarted on fewer GPUs could not resume its data. Now the
    rest of the epoch is dealt out to the new readers: checked against every window read from
    the shards with pyarrow, the epoch reads none twice and leaves fewer than the last shape's
    readers x batch_size unread of what the first shape's epoch holds; the next epoch is the
    new shape's own, as a fresh loader of it reads it."""
    d = make_tokens(tmp_path, n_docs=900, shards=5)
    L = 16
    truth = set(parquet_windows(d, L))
    loaders = shaped(d, shapes[0], L)
    for _ in range(epoch):  # resize in a later epoch: streams that went round their shares
        run_ranks(loaders)
    read = []
    for shape, n in zip(shapes[1:], at):
        read += run_ranks(loaders, n)
        state = json.loads(json.dumps(loaders[-1].state_dict()))  # any rank's, through a checkpoint file
        assert len(json.dumps(state)) < 700  # a few numbers a shape, whatever the corpus
        loaders = shaped(d, shape, L)
        for lo in loaders:
            lo.load_state_dict(state)
    read += run_ranks(loaders, 2)
    again = shaped(d, shapes[-1], L)  # a plain restart within the resized epoch: exact
    for lo in again:
        lo.load_state_dict(loaders[0].state_dict())
    rest = run_ranks(loaders)
    assert run_ranks(again) == rest
    read += rest
    assert len(read) == len(set(read)) and set(read) <= truth
    (ws, nw, bs), (ws2, nw2, bs2) = shapes[0], shapes[-1]
    held = len(truth) // (ws * nw) // bs * bs * ws * nw  # what an epoch of the first shape reads
    assert held - ws2 * nw2 * bs2 < len(read) <= held, (len(read), held)
    assert all(lo.epoch == epoch + 1 and lo.batch == 0 for lo in loaders)
    fresh = shaped(d, shapes[-1], L)
    for _ in range(epoch + 1):
        run_ranks(fresh)
    nxt = run_ranks(loaders)
    assert nxt == run_ranks(fresh) and len(nxt) == len(set(nxt)) == len(truth) // (ws2 * nw2) // bs2 * bs2 * ws2 * nw2
    # what the resized epoch left unread is not carried into the next epoch (a fresh one of the new shape), but the new
    # shape's passes read every window: it comes within the epochs one pass over the largest share takes, and one more
    share, per_epoch = -(-len(truth) // (ws2 * nw2)), len(nxt) // (ws2 * nw2)
    later = set(nxt)
    for _ in range(-(-share // per_epoch)):
        later |= set(run_ranks(loaders))
    assert truth - set(read) <= later


def test_a_resized_torch_job_reads_the_rest_of_the_epoch_once(tmp_path, small_groups):
    """The same through TokenDataLoader's worker processes: 2 ranks of 2 workers -> 1 rank of 3."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    d = make_tokens(tmp_path, n_docs=900, shards=5)
    L = 16
    B, B2 = 12, 8  # batches of 12 and 8 windows, not 3 and 2: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    truth = set(parquet_windows(d, L))
    old = [TokenDataLoader(d, B, L, rank=r, world_size=2, num_workers=2) for r in range(2)]
    read = run_ranks(old, 11)
    state = old[0].state_dict()
    new = TokenDataLoader(d, B2, L, num_workers=3)
    new.load_state_dict(state)
    n = len(new)  # what is left of the epoch
    rest = run_ranks([new])
    assert len(rest) == B2 * n and len(new) == len(TokenLoader(d, B2, L, num_workers=3)) > n
    read += rest
    held = len(truth) // 4 // B * B * 4  # 4 old readers, each its share in whole batches
    assert len(read) == len(set(read)) and set(read) <= truth and held - 3 * B2 < len(read) <= held  # 3 new readers' partial batches
    fresh = TokenLoader(d, B2, L, num_workers=3)
    run_ranks([fresh])
    assert run_ranks([new]) == run_ranks([fresh])  # the next epoch: the new shape's own


def test_what_a_resize_cannot_change_is_refused(tmp_path, small_groups):
    """seq_len (a position counts its windows), a position saved under the last dealing (whole
    row groups), and a single worker's position: refused, each in one line."""
    d = make_tokens(tmp_path)
    lo = TokenLoader(d, 2, 16, num_workers=2)
    next(iter(lo))
    state = lo.state_dict()
    with pytest.raises(ValueError, match=r"saved with seq_len 16, this loader has 32: .* resume with seq_len=16 \(world_size, "
                                         r"num_workers and batch_size may change\)"):
        TokenLoader(d, 1, 32, world_size=3).load_state_dict(state)
    with pytest.raises(ValueError, match=r"loader state: saved by a curate that dealt whole row groups to readers \(by-windows/1\); "
                                         r"this one deals each reader a range of windows"):
        TokenLoader(d, 2, 16, num_workers=2).load_state_dict({**state, "deal": "by-windows/1"})
    solo = TokenLoader(d, 2, 16, num_workers=2, worker=1)
    next(iter(solo))
    with pytest.raises(ValueError, match=r"saved by worker 1 of .*: a worker's position only resumes that worker"):
        TokenLoader(d, 2, 16, num_workers=3).load_state_dict(solo.state_dict())
    with pytest.raises(ValueError, match=r"loader state: batch 1000000 outside 0..\d+ \(world_size 1, num_workers 2, batch_size 2\)"):
        TokenLoader(d, 2, 16, world_size=2).load_state_dict({**state, "batch": 10**6})


@pytest.mark.parametrize("persistent", [False, True])
def test_a_token_dataset_in_a_dataloader_of_its_own_moves_on_each_epoch(tmp_path, small_groups, persistent):
    """``DataLoader(TokenDataset(...), batch_size=None, num_workers=...)`` (the docstring's use)
    handed out epoch 0 again every epoch, its workers (fresh or persistent) each starting from
    the position the dataset was made with: the same batches every epoch. Each epoch now
    continues as TokenLoader's does, and one made at a saved position (``start``) starts there
    and then goes on to the next epoch."""
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataset

    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=2)
    epochs = [windows(ref) for _ in range(3)]
    dl = torch.utils.data.DataLoader(TokenDataset(d, B, 16, num_workers=2), batch_size=None, num_workers=2,
                                     persistent_workers=persistent)
    assert [windows(dl) for _ in range(3)] == epochs
    dl = torch.utils.data.DataLoader(TokenDataset(d, B, 16, num_workers=2, start=(1, 5)), batch_size=None, num_workers=2,
                                     persistent_workers=persistent)
    assert [windows(dl) for _ in range(2)] == [epochs[1][5 * B :], epochs[2]]


@pytest.mark.parametrize("workers, persistent", [(0, False), (2, False), (2, True)])
def test_set_epoch_makes_every_iteration_read_that_epoch(tmp_path, small_groups, workers, persistent):
    """Two loops over one TokenDataset (an eval loop beside the train loop, ``list(ds)`` to count)
    each moved on to the next epoch: the train loop silently started at epoch 1. After
    ``set_epoch(e)`` every iteration reads epoch e (from ``start``'s batch when e is its epoch),
    in the main process and in workers, fresh or persistent; without it, as before, each
    iteration is the next epoch."""
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataset

    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=max(1, workers))
    epochs = [windows(ref) for _ in range(3)]
    ds = TokenDataset(d, B, 16, num_workers=workers, start=(1, 5))
    it = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers, persistent_workers=persistent) if workers else ds
    assert [windows(it) for _ in range(2)] == [epochs[1][5 * B :], epochs[2]]  # no set_epoch: the next epoch each time
    ds = TokenDataset(d, B, 16, num_workers=workers, start=(1, 5))
    it = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers, persistent_workers=persistent) if workers else ds
    for e, expect in ((1, epochs[1][5 * B :]), (0, epochs[0]), (2, epochs[2])):
        ds.set_epoch(e)
        assert len(list(it)) * B == len(expect)  # counting first does not move the loop on
        assert windows(it) == expect and windows(it) == expect, e  # a train loop, then an eval loop
    for bad in (-1, 1.5, "1", True):
        with pytest.raises(ValueError, match=r"^TokenDataset.set_epoch: expected an epoch number 0, 1, 2, \.\.\., got "):
            ds.set_epoch(bad)


@pytest.mark.parametrize("workers, persistent", [(None, False), (0, False), (2, True)])
def test_set_epoch_on_token_loader_and_token_data_loader(tmp_path, small_groups, workers, persistent):
    """A training loop written for DistributedSampler (``loader.set_epoch(epoch)`` at the top of
    each epoch) failed on TokenLoader and TokenDataLoader (no set_epoch), which TokenDataset
    has. Now: the next iteration reads that epoch (where a loaded state stopped in it, else
    from its start), so an eval pass after the train loop does not shift the train loop's
    epochs; the state says where it is. None: TokenLoader itself."""
    if workers is not None:
        pytest.importorskip("torch")
        from curate.loader import TokenDataLoader
    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=max(1, workers or 0))
    epochs = [windows(ref) for _ in range(3)]
    assert all(set(e) <= set(parquet_windows(d, 16)) for e in epochs)  # real windows of the shards

    def make():
        if workers is None:
            return TokenLoader(d, B, 16)
        return TokenDataLoader(d, B, 16, num_workers=workers, persistent_workers=persistent)
    lo = make()
    for e in (0, 1, 2):
        lo.set_epoch(e)
        assert lo.state_dict()["epoch"] == e and lo.state_dict()["batch"] == 0
        assert windows(lo) == epochs[e], e  # the train loop
        assert len(windows(lo)) == len(epochs[e])  # an eval pass: the next epoch, as the state says
        assert lo.state_dict()["epoch"] == e + 2
    stopped = make()
    stopped.set_epoch(1)
    it = iter(stopped)
    [next(it) for _ in range(5)]
    state = stopped.state_dict()
    again = make()
    again.load_state_dict(state)
    again.set_epoch(1)  # the epoch it is in: where it stopped
    assert windows(again) == epochs[1][5 * B:]
    for bad in (-1, 1.5, "1", True):
        with pytest.raises(ValueError, match=r"^Token(Data)?Loader.set_epoch: expected an epoch number 0, 1, 2, \.\.\., got "):
            again.set_epoch(bad)


def _as_arrays(state, torch):
    """A state as a training framework may hand it back: every int a numpy int64 or a 0-d tensor
    (a dict built from arrays, torch.save / torch.load, a framework's own state merging)."""
    def conv(v, i=[0]):  # noqa: B006 (alternate the kinds)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, int) and not isinstance(v, bool):
            i[0] += 1
            return (np.int64(v), np.array(v), torch.tensor(v))[i[0] % 3]
        return v
    return conv(state)


def test_a_state_of_numpy_integers_or_tensors_resumes(tmp_path, small_groups):
    """A state whose ints came back as numpy.int64 or 0-d tensors (torch.save / torch.load of a
    dict built from arrays) was refused: "batch 7 outside 0..N" of a batch inside it. Any integral
    value now loads, the nested ``resized`` shapes too, and the state it saves is plain JSON again;
    floats, bools and strings are refused in one line."""
    torch = pytest.importorskip("torch")
    d = make_tokens(tmp_path)
    state, rest = stopped_at(d, 7)
    again = TokenLoader(d, 3, 20, num_workers=2)
    again.load_state_dict(_as_arrays(state, torch))
    assert json.loads(json.dumps(again.state_dict())) == state  # plain ints again: a checkpoint file can hold it
    assert all(np.array_equal(a, b) for a, b in zip(rest, again, strict=True))
    # resized twice in one epoch: the nested shapes' counts as arrays too
    small = TokenLoader(d, 2, 20, world_size=2)
    small.load_state_dict(_as_arrays(state, torch))
    next(iter(small))
    resized = small.state_dict()
    assert resized["resized"]
    one, two = TokenLoader(d, 1, 20, num_workers=3), TokenLoader(d, 1, 20, num_workers=3)
    one.load_state_dict(resized)
    two.load_state_dict(_as_arrays(resized, torch))
    assert json.dumps(two.state_dict()) == json.dumps(one.state_dict())
    assert windows(two) == windows(one)
    import re

    for bad, shown in ((7.0, "7.0 (float)"), (True, "True (bool)"), ("7", "'7' (str)"), (torch.tensor(True), "tensor(True) (Tensor)"),
                       (np.array([7]), "array([7]) (ndarray)")):
        with pytest.raises(ValueError, match="^" + re.escape(f"loader state: batch {shown} is not a whole number: pass the values "
                                                             "state_dict() returned (ints; numpy integers and 0-d integer arrays "
                                                             "or tensors do too)") + "$"):
            TokenLoader(d, 3, 20, num_workers=2).load_state_dict({**state, "batch": bad})
    with pytest.raises(ValueError, match=r"^loader state: resized\[0\]\.batch 1.5 \(float\) is not a whole number"):
        TokenLoader(d, 1, 20, num_workers=3).load_state_dict({**resized, "resized": [{**resized["resized"][0], "batch": 1.5}]})
    with pytest.raises(ValueError, match=r"^loader state: epoch '0' \(str\) is not a whole number"):
        TokenLoader(d, 3, 20, num_workers=2).load_state_dict({**state, "epoch": "0"})


def _note_worker_start(path, _worker_id):
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")


def test_persistent_workers_persist_across_epochs(tmp_path, small_groups):
    """TokenDataLoader(persistent_workers=True) made a new torch DataLoader every epoch, so its
    workers started afresh each epoch anyway (the option did nothing). The DataLoader is now
    kept while the epochs follow one another: its workers start once, the batches are the
    ones TokenLoader's epochs hand out, and a loop that stops mid-epoch or loads a state
    still continues exactly where it should."""
    pytest.importorskip("torch")
    import functools

    from curate.loader import TokenDataLoader

    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=2)
    epochs = [windows(ref) for _ in range(4)]
    started = tmp_path / "started"
    dl = TokenDataLoader(d, B, 16, num_workers=2, persistent_workers=True,
                         worker_init_fn=functools.partial(_note_worker_start, started))
    assert [windows(dl) for _ in range(3)] == epochs[:3]
    assert len(started.read_text().split()) == 2  # two workers, started once (6 before: 2 an epoch)
    it = iter(dl)  # epoch 3, stopped after 5 batches (a checkpoint), then iterated again: the rest of it
    part = windows(next(it) for _ in range(5))
    state = dl.state_dict()
    del it
    assert part + windows(dl) == epochs[3]
    dl.load_state_dict(state)  # back to epoch 3, batch 5
    assert windows(dl) == epochs[3][5 * B :]


def _scenarios(d) -> dict:
    """What the loader hands out, as indices of the windows ``parquet_windows`` reads with pyarrow
    (not the loader), in several shapes over six epochs (several rounds of each reader's range),
    resumed mid-epoch and resized mid-epoch (twice), numpy and torch."""
    index = {L: {w: i for i, w in enumerate(parquet_windows(d, L))} for L in (16, 20)}

    def epochs(lo, n, L=16):
        return [[index[L][w] for w in windows(lo)] for _ in range(n)]

    def at(state, shape, n=2):
        lo = TokenLoader(d, shape.get("batch_size", 4), 16, **{k: v for k, v in shape.items() if k != "batch_size"})
        lo.load_state_dict(state)
        return epochs(lo, n)

    out = {"solo": epochs(TokenLoader(d, 4, 16), 6), "3 workers": epochs(TokenLoader(d, 3, 16, num_workers=3), 6),
           "rank 1 of 2, 2 workers, seq 20": epochs(TokenLoader(d, 2, 20, rank=1, world_size=2, num_workers=2), 6, 20)}
    lo = TokenLoader(d, 4, 16, num_workers=2)
    epochs(lo, 2)
    it = iter(lo)
    for _ in range(7):
        next(it)
    state = lo.state_dict()  # epoch 2, batch 7
    out["resumed at epoch 2, batch 7"] = at(state, {"num_workers": 2}, 3)
    for r in range(2):
        out[f"resized to rank {r} of 2, 3 workers, batches of 2"] = at(state, {"rank": r, "world_size": 2, "num_workers": 3, "batch_size": 2})
    small = TokenLoader(d, 2, 16, world_size=2)
    small.load_state_dict(state)
    next(iter(small))
    out["resized twice, 3 workers, batches of 1"] = at(small.state_dict(), {"num_workers": 3, "batch_size": 1})
    try:
        import torch
    except ImportError:
        return out
    from curate.loader import TokenDataLoader, TokenDataset

    # torch: persistent workers only. A DataLoader's cost is per batch (~18,000 batches of 4 for both ways, 2/3 of the
    # test's CPU); non-persistent workers hand out what TokenLoader does in the tests of TokenDataset (from (0, 0) and
    # from a start: ..._moves_on_each_epoch[False]) and of TokenDataLoader (..._makes_only_its_own_order[2-False], and
    # resumed: ..._resumes_exactly_through_dataloader_workers).
    for persistent in (True,):
        for start in ((0, 0), (2, 7)):
            ds = TokenDataset(d, 4, 16, num_workers=2, start=start)
            dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, persistent_workers=persistent)
            out[f"TokenDataset from {start}, persistent {persistent}"] = epochs(dl, 3)
        dl = TokenDataLoader(d, 4, 16, num_workers=2, persistent_workers=persistent)
        out[f"TokenDataLoader, persistent {persistent}"] = epochs(dl, 4)
        dl.load_state_dict(state)
        out[f"TokenDataLoader resumed at epoch 2, batch 7, persistent {persistent}"] = epochs(dl, 3)
    return out


# What the loader hands out (recorded by running ``_scenarios`` on it; first on main's commits c0c3fe4 and 24fb00f, again
# with DEAL window-ranges/3, each epoch's order made from its number: epoch 0 unchanged, later epochs other orders):
# sha256 of each scenario's window indices, and of the fixture's row groups' token counts.
MAIN_ROW_GROUPS = '3622dcb87a32fcac'
MAIN_SCENARIOS = {
    'solo': '87a6fcb87d7d090f',
    '3 workers': '25746d91f1aa4717',
    'rank 1 of 2, 2 workers, seq 20': '1430567cb8fa3345',
    'resumed at epoch 2, batch 7': '6e8be95bbfb8cf72',
    'resized to rank 0 of 2, 3 workers, batches of 2': '95c3bcda0579f5ed',
    'resized to rank 1 of 2, 3 workers, batches of 2': '3d8b28610b6be580',
    'resized twice, 3 workers, batches of 1': '81a11ebf3c86ccb1',
    'TokenDataset from (0, 0), persistent True': '5702d44885fbd369',
    'TokenDataset from (2, 7), persistent True': '6e8be95bbfb8cf72',
    'TokenDataLoader, persistent True': '4ad97fa5e8049cd6',
    'TokenDataLoader resumed at epoch 2, batch 7, persistent True': '6e8be95bbfb8cf72',
}


def test_every_epoch_shape_resume_and_resize_hands_out_mains_batches(tmp_path, small_groups):
    """A guard for changes that make the loader faster: the windows every scenario hands out, epoch
    by epoch, are the ones recorded above by running ``_scenarios`` (on main's loader; again when
    DEAL changed, the orders with it)."""
    import hashlib

    d = make_tokens(tmp_path, n_docs=700, shards=3)

    def sha(x):
        return hashlib.sha256(json.dumps(x).encode()).hexdigest()[:16]

    m = json.loads(open(os.path.join(d, tok.MANIFEST)).read())
    assert sha([s["row_group_tokens"] for s in m["shards"]]) == MAIN_ROW_GROUPS, \
        "the fixture's tokens changed (tokenize's writer?): record MAIN_SCENARIOS again by running _scenarios on main's loader"
    got = {k: sha(v) for k, v in _scenarios(d).items()}
    assert {k: v for k, v in MAIN_SCENARIOS.items() if k in got} == got


@pytest.mark.parametrize("workers, persistent", [(0, False), (2, False), (2, True)])
def test_an_epoch_opens_no_tokens_again_and_makes_only_its_own_order(tmp_path, small_groups, monkeypatch, workers, persistent):
    """Every epoch of TokenDataLoader made a new TokenDataset, which opened the tokens again (read
    the manifest, dealt the windows), and every worker, persistent or not, opened them once more
    and made its reader's orders again. The tokens are now opened once, by TokenDataLoader, each
    worker starting from its copy of them, and a worker makes each epoch's order once."""
    pytest.importorskip("torch")
    from curate import loader as L

    log = tmp_path / "log"

    def note(what):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {what}\n")

    opened, made, lexsort = L.open_tokens, L._Streams._epoch, np.lexsort
    monkeypatch.setattr(L, "open_tokens", lambda *a, **k: (note("opened"), opened(*a, **k))[1])
    monkeypatch.setattr(np, "lexsort", lambda *a, **k: (note("sorted"), lexsort(*a, **k))[1])  # an epoch's order sorted
    monkeypatch.setattr(L._Streams, "_epoch", lambda self, c, e: (note(f"order {c} {e}") if self._epochs.get(c, (None,))[0] != e
                                                                  else None, made(self, c, e))[1])  # one per order made
    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=max(1, workers))
    epochs = [windows(ref) for _ in range(6)]
    log.unlink()
    dl = L.TokenDataLoader(d, B, 16, num_workers=workers, persistent_workers=persistent)
    assert [windows(dl) for _ in range(6)] == epochs
    notes = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert [what for pid, what in notes if what == "opened"] == ["opened"]  # by TokenDataLoader (5 before; 13 with workers)
    orders = [(pid, what) for pid, what in notes if what.startswith("order ")]
    assert len(orders) >= 3 and len(set(orders)) == len(orders)  # several made, none twice in one process
    per_process = collections.Counter(pid for pid, what in notes if what == "sorted")
    assert 0 < max(per_process.values()) <= (5 if workers == 0 or persistent else 1), per_process  # epoch 0: none sorted


def test_a_token_dataset_told_its_epoch_makes_only_that_epochs_order_in_its_workers(tmp_path, small_groups, monkeypatch):
    """A TokenDataset in a DataLoader of one's own whose workers are not persistent, told its
    epoch by set_epoch (as DistributedSampler is): each epoch's new workers each sort that
    epoch's order of their reader, once, whatever the epoch."""
    torch = pytest.importorskip("torch")
    from curate import loader as L

    log, lexsort = tmp_path / "log", np.lexsort

    def noted(*a, **k):
        with open(log, "a") as out:
            out.write(f"{os.getpid()} sorted\n")
        return lexsort(*a, **k)

    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=2)
    epochs = [windows(ref) for _ in range(6)]
    monkeypatch.setattr(np, "lexsort", noted)  # an epoch's order
    ds = L.TokenDataset(d, B, 16, num_workers=2)
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    for e in range(6):
        ds.set_epoch(e)
        assert windows(dl) == epochs[e]
    notes = [line.split() for line in log.read_text().splitlines()]
    workers = {pid for pid, _ in notes} - {str(os.getpid())}
    sorted_by = collections.Counter(pid for pid, what in notes if what == "sorted")
    assert len(workers) >= 8 and max(sorted_by.values()) == 1, sorted_by  # 6 epochs, 2 new workers each (epoch 0: no sort)
    assert str(os.getpid()) not in sorted_by


def _epoch_orders(s, c: int, epochs) -> dict:
    """Reader ``c``'s windows (numbered through its range) in each of ``epochs``, read through ``_Streams.windows``."""
    lo = s.bounds[c]
    return {e: np.concatenate(list(s.windows(c, e * s.per_epoch, (e + 1) * s.per_epoch))) - lo for e in epochs}


def test_each_epochs_order_is_made_from_its_number_and_leaves_what_the_next_reads():
    """The properties an epoch's order keeps, over shapes whose share is a few windows over whole
    batches (up to a batch and one), units of one window to hundreds, and several seeds: epoch 0
    reads the share's first windows in manifest order; every epoch reads per_epoch windows, none
    twice, and what it leaves (a block of consecutive windows, round the share) the next epoch
    reads; a later epoch is in another order, its units read each in one run; and the order
    found for epoch e is the same whether the epochs before it were made or not, and across an
    epoch's end (``windows`` over two epochs)."""
    from curate.loader import _Streams

    rng = np.random.default_rng(3)
    checked = 0
    for units, readers, B in [([1] * 50, 2, 3), ([7, 1, 30, 2, 2, 90, 5], 3, 4), (list(rng.integers(1, 300, 25)), 2, 7),
                              (list(rng.integers(100, 400, 12)), 1, 33), ([512] * 19 + [509], 2, 8), ([4, 4, 3], 2, 3)]:
        offsets = np.concatenate([[0], np.cumsum(units)]).astype(np.int64)
        for seed in (0, -5, 2**40 + 1):
            s = _Streams(offsets, readers, B, seed)
            for c in range(readers):
                total, S = s.bounds[c + 1] - s.bounds[c], s.per_epoch
                assert 0 <= total - S <= B and S > 0
                orders = _epoch_orders(s, c, range(40))
                assert np.array_equal(orders[0], np.arange(S))
                for e in range(40):
                    assert len(orders[e]) == S and len(np.unique(orders[e])) == S, (units, readers, B, seed, c, e)
                    if e:
                        assert len(np.union1d(orders[e - 1], orders[e])) == total  # what epoch e - 1 left, e read
                        left = np.setdiff1d(np.arange(total), orders[e])
                        firsts = [w for w in left if (w - 1) % total not in left]  # a block round the share: one start
                        assert len(left) == total - S and (not len(left) or len(firsts) == 1)
                        unit = np.searchsorted(offsets, orders[e] + s.bounds[c], side="right") - 1
                        assert len(np.flatnonzero(np.diff(unit))) + 1 == len(np.unique(unit))  # each unit in one run
                if S > 2 * B:
                    assert sum(not np.array_equal(orders[e], orders[e + 1]) for e in range(1, 39)) == 38
                jumper = _Streams(offsets, readers, B, seed)
                for e in (39, 3, 20, 21, 0, 17):
                    assert np.array_equal(_epoch_orders(jumper, c, [e])[e], orders[e])
                across = np.concatenate(list(s.windows(c, 5 * S + 1, 7 * S - 1))) - s.bounds[c]
                assert np.array_equal(across, np.concatenate([orders[5][1:], orders[6][:-1]]))
                checked += 1
    assert checked == 3 * (2 + 3 + 2 + 1 + 2 + 2)


def test_every_window_is_read_equally_often_over_epochs_and_the_order_is_the_same_in_any_process(tmp_path):
    """Over any run of consecutive epochs (from 0, and near 2**62, 2**63, 2**64), each reader reads
    every window of its range the same number of times, give or take one (no window starved: what
    an epoch leaves moves round the range), with readers that do not divide the windows evenly, a
    batch of one, one window a reader; and the order is the same in processes of other
    PYTHONHASHSEEDs (nothing of it hangs on Python's hash)."""
    from curate.loader import _Streams

    for units, readers, B in [([7, 1, 30, 2, 2, 90, 5], 3, 4), ([1] * 10, 10, 1), ([3, 11, 2], 5, 2), ([50, 50, 61], 7, 6)]:
        offsets = np.concatenate([[0], np.cumsum(units)]).astype(np.int64)
        s = _Streams(offsets, readers, B, 11)
        for first in (0, 2**62 - 5, 2**63 - 5, 2**64 - 5):
            for c in range(readers):
                reads = np.zeros(s.bounds[c + 1] - s.bounds[c], int)
                for e in range(first, first + 45):
                    got = np.concatenate(list(s.windows(c, e * s.per_epoch, (e + 1) * s.per_epoch))) - s.bounds[c]
                    assert len(np.unique(got)) == len(got) == s.per_epoch
                    reads[got] += 1
                    assert reads.max() - reads.min() <= 1, (units, readers, B, first, c, e)
    d = make_tokens(tmp_path, n_docs=200, shards=2)
    code = ("import hashlib, sys; from curate.loader import TokenLoader\n"
            "h = hashlib.sha256()\n"
            "for e in (0, 1, 7, 2**64 + 1):\n"
            "    lo = TokenLoader(sys.argv[1], 3, 16, num_workers=2, world_size=3, rank=2); lo.set_epoch(e)\n"
            "    for b in lo: h.update(b.tobytes())\n"
            "print(h.hexdigest())")
    said = {subprocess.run([sys.executable, "-c", code, d], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "1", "4242")}
    assert len(said) == 1 and len(said.pop().strip()) == 64


def test_a_far_epoch_costs_what_epoch_one_does(tmp_path, small_groups, monkeypatch):
    """A job resumed at epoch E (a state saved there, or set_epoch(E)) found its position by
    walking every earlier epoch's rounds: each round's order depended on which windows the last
    one put last, a chain from round 1, so epoch 1,000 drew 1,000 seeded generators a reader
    (epoch 10,000 of a 4M-token corpus: 1.1 to 3.6 s, bench_loader.py --far-epochs). Each epoch's
    order is now made from its number alone: one generator a reader, whatever E, and the
    batches at epoch E are the same from a fresh loader as from one that read every epoch."""
    from curate import loader as L

    d = make_tokens(tmp_path, n_docs=700, shards=3)
    ran = TokenLoader(d, 3, 16, num_workers=2)
    read = [windows(ran) for _ in range(9)]
    made, default_rng = [0], np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *a, **k: (made.__setitem__(0, made[0] + 1), default_rng(*a, **k))[1])
    for e in (1, 7, 60, 1000, 10**9, 2**64 + 3):
        lo = TokenLoader(d, 3, 16, num_workers=2)
        lo.set_epoch(e)
        made[0] = 0
        got = windows(lo)
        assert made[0] <= 2, f"epoch {e}: {made[0]} generators drawn"  # two readers, one order each
        assert len(got) == len(read[0]) and len(set(got)) == len(got)
        if e < len(read):
            assert got == read[e]
        state = {**lo.state_dict(), "epoch": e, "batch": 3}
        again = TokenLoader(d, 3, 16, num_workers=2)
        again.load_state_dict(state)
        assert windows(again) == got[3 * 3 :]


@pytest.mark.parametrize("persistent", [False, True])
def test_workers_started_by_spawn_read_the_same_batches(tmp_path, small_groups, persistent):
    """With workers started by spawn or forkserver (macOS' and Windows' default, Linux's from
    Python 3.14) the DataLoader pickles the dataset, and TokenDataset, a class made inside a
    function, could not be pickled: "Can't pickle local object '_make_dataset_class.<locals>.TokenDataset'"."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    d = make_tokens(tmp_path, n_docs=700, shards=3)
    B = 16  # batches of 16 windows, not 4: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    ref = TokenLoader(d, B, 16, num_workers=2)
    epochs = [windows(ref) for _ in range(2)]
    dl = TokenDataLoader(d, B, 16, num_workers=2, multiprocessing_context="spawn", persistent_workers=persistent)
    assert [windows(dl) for _ in range(2)] == epochs


def test_a_corpus_of_more_shards_than_the_process_may_open_files_is_read(tmp_path):
    """A reader kept every shard it had read open until the epoch ended: a corpus of more shards
    than the open-file limit (macOS' 256, Linux's 1024) failed mid-epoch with "row group 0 is
    damaged ([Errno 24] ... Too many open files)" of a healthy shard. Two epochs (the second
    reads units in a shuffled order, so shards are opened again) under a limit of 64 files,
    against every window pyarrow reads from the shards."""
    import subprocess
    import sys

    d = make_tokens(tmp_path, n_docs=600, shards=150)
    script = ("import json, resource, sys\nfrom curate.loader import TokenLoader\n"
              "resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
              "lo = TokenLoader(sys.argv[1], 2, 16)\n"
              "print(json.dumps([[b.tolist() for b in lo] for _ in range(2)]))\n")
    run = subprocess.run([sys.executable, "-c", script, d], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})
    assert run.returncode == 0, run.stderr[-600:]
    every = set(parquet_windows(d, 16))
    epochs = [windows(e) for e in json.loads(run.stdout)]
    assert all(len(e) == len(set(e)) and set(e) <= every for e in epochs)
    assert len(epochs[0]) > 2000 and epochs[1] != epochs[0]  # the second epoch in another order
    lo = TokenLoader(d, 2, 16)
    assert [windows(lo) for _ in range(2)] == epochs  # the same batches as with no limit


def _under_file_limit(d, script: str, limit: int = 64) -> subprocess.CompletedProcess:
    """``script`` (``d`` is sys.argv[1]) run in a fresh process whose open-file limit is ``limit``."""
    head = ("import json, os, resource, sys\nfrom curate.loader import TokenLoader, TokensError\n"
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n")
    return subprocess.run([sys.executable, "-c", head + script, d], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})


def test_a_loader_playing_several_workers_keeps_to_the_open_file_limit(tmp_path):
    """A TokenLoader playing num_workers readers itself kept up to MAX_OPEN_SHARDS shards open per
    reader: 4 readers of 150 shards under a limit of 64 files stopped with 'row group 0 is
    damaged (Too many open files)' of a healthy shard. Its readers now share one set of open
    shards; the batches are those read with no limit, every window one pyarrow reads from the
    shards, none twice."""
    d = make_tokens(tmp_path, n_docs=600, shards=150)
    run = _under_file_limit(d, "lo = TokenLoader(sys.argv[1], 2, 16, num_workers=4)\n"
                               "print(json.dumps([[b.tolist() for b in lo] for _ in range(2)]))\n")
    assert run.returncode == 0, run.stderr[-600:]
    epochs = [windows(e) for e in json.loads(run.stdout)]
    every = set(parquet_windows(d, 16))
    assert all(len(e) == len(set(e)) and set(e) <= every for e in epochs) and len(epochs[0]) > 2000
    lo = TokenLoader(d, 2, 16, num_workers=4)
    assert [windows(lo) for _ in range(2)] == epochs


def test_running_out_of_open_files_is_said_not_blamed_on_a_shard(tmp_path):
    """A process with no file descriptor left to open a shard (a training job holding many files,
    a low ulimit -n) was told the shard's row group 0 'is damaged: restore it from a copy or
    rerun curate'. The error now says the process has too many files open, and its limit."""
    d = make_tokens(tmp_path, n_docs=200, shards=20)
    run = _under_file_limit(d, "lo = TokenLoader(sys.argv[1], 2, 16)\nheld = []\n"
                               "try:\n    while True: held.append(open(os.devnull))\nexcept OSError: pass\n"
                               "for h in held[:2]: h.close()\n"
                               "try: list(lo)\nexcept TokensError as e: print(e)\n")
    assert run.returncode == 0, run.stderr[-600:]
    said = run.stdout.strip()
    assert "too many files open" in said and "limit 64" in said and "ulimit -n" in said, said
    assert "damaged" not in said and "restore" not in said, said


def _rerun_killed_midway(cl100k_run, tmp_path):
    """A copy of ``cl100k_run`` whose rerun (3 shards) was killed as it moved its files into
    place: its commit decided, its journal there."""
    import shutil

    out = tmp_path / "o"
    shutil.copytree(cl100k_run, out)
    r = subprocess.run([sys.executable, "-m", "curate.cli", "run", "--input", str(cl100k_run.parent / "p.jsonl"), "--domain",
                        "web", "--stages", "ingest,tokenize", "--shards", "3", "--output", str(out), "--progress", "off"],
                       capture_output=True, text=True, env=dict(os.environ, CURATE_FAULT="during_moves"))
    assert r.returncode == 137, r.stderr
    return out


@pytest.mark.parametrize("writable", [True, False])
def test_a_commit_killed_midway_is_completed_or_its_command_named(cl100k_run, tmp_path, deny_writes, writable):
    """After a rerun killed while it moved its files into place (its commit decided: the journal
    written), the loader said the output was being written until some other command read it.
    It completes the commit, as runs, verify_output and the audit do, and reads the new output;
    where it cannot write (a read-only mount), it names the command that completes it."""
    from curate import commit

    out = _rerun_killed_midway(cl100k_run, tmp_path)
    assert not (out / "manifest.json").exists() and (out / commit.STAGING / commit.JOURNAL).exists()
    if writable:
        loader = TokenLoader(str(out), 2, 16)
        assert len(loader.manifest["shards"]) == 3 and not (out / commit.STAGING).exists()  # the rerun's output, whole
        assert commit.verify_output(str(out))["config"]["run"]["shards"] == 3
        return
    deny_writes(out, errno.EROFS)
    with pytest.raises(TokensError) as e:
        TokenLoader(str(out), 2, 16)
    assert str(e.value) == (f"{out}: a run's commit was stopped midway (its journal, {commit.STAGING}/{commit.JOURNAL}, is "
                            f"there) and the loader cannot complete it here (Read-only file system): run `curate audit "
                            f"{shlex.quote(str(out))}` where the output is writable (it completes the commit), then retry")


@pytest.mark.parametrize("case", ["another process completing it", "read-only, its manifest renamed in"])
def test_a_commit_another_reader_completes_or_already_finished_is_read(cl100k_run, tmp_path, deny_writes, case):
    """Two DataLoader workers (or ranks) opening an output whose commit was killed midway: the
    one that did not take the lock was told 'a run is writing or replacing this output' while
    the other completed it in milliseconds; it waits for it. And on a read-only mount, a journal
    left beside a finished commit (killed after its manifest's rename, or brought back by a power
    cut: the staging folder's removal is not synced) made the loader refuse an output that is
    whole; it reads it."""
    from curate import commit

    out = _rerun_killed_midway(cl100k_run, tmp_path)
    journal = out / commit.STAGING / commit.JOURNAL
    if case == "another process completing it":
        other = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom curate import commit\nreal = commit._apply\n"
                                  "def slow(*a):\n    print('held', flush=True); time.sleep(1.5); real(*a)\n"
                                  "commit._apply = slow\ncommit.recover(sys.argv[1])\n", str(out)], stdout=subprocess.PIPE, text=True)
        try:
            assert other.stdout.readline() == "held\n"
            loader = TokenLoader(str(out), 2, 16)
        finally:
            assert other.wait(60) == 0
    else:
        saved = journal.read_bytes()
        commit.recover(str(out))
        journal.parent.mkdir()
        journal.write_bytes(saved)
        deny_writes(out, errno.EROFS)
        loader = TokenLoader(str(out), 2, 16)
    assert len(loader.manifest["shards"]) == 3
    assert sum(1 for _ in loader) > 0


def test_a_commit_whose_completing_process_died_is_completed_by_the_reader_waiting(cl100k_run, tmp_path, monkeypatch):
    """A reader waiting for a commit another process (a DataLoader worker, a rank) completes:
    that process dies (OOM-killed, the job preempted) holding the lock, with the journal there.
    The waiter only watched the journal until COMMIT_WAIT (60 s) and then went on to 'no
    manifest.json: a run is writing or replacing this output'. The lock is free once its holder
    is gone: the waiter completes the commit itself and reads the output. And a holder that
    outlasts the wait is named (its pid) in the loader's one-line error."""
    import time

    from curate import commit, loader

    monkeypatch.setattr(loader, "COMMIT_WAIT", 20.0)
    out = _rerun_killed_midway(cl100k_run, tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import os, sys, time\nfrom curate import commit\n"
                              "def dies(*a):\n    print('held', flush=True); time.sleep(1); os._exit(9)\n"
                              "commit._apply = dies\ncommit.recover(sys.argv[1])\n", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "held\n"
        t = time.monotonic()
        lo = TokenLoader(str(out), 2, 16)
        assert time.monotonic() - t < 10
    finally:
        assert other.wait(60) == 9
    assert len(lo.manifest["shards"]) == 3 and sum(1 for _ in lo) > 0

    out = _rerun_killed_midway(cl100k_run, tmp_path / "again")
    monkeypatch.setattr(loader, "COMMIT_WAIT", 1.0)
    other = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom curate import commit\n"
                              "def slow(*a):\n    print('held', flush=True); time.sleep(30)\n"
                              "commit._apply = slow\ncommit.recover(sys.argv[1])\n", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "held\n"
        with pytest.raises(TokensError, match=rf"being completed by another process \(process {other.pid}\)"):
            TokenLoader(str(out), 2, 16)
    finally:
        other.kill()
        other.wait()


def test_a_reader_waiting_for_a_commit_completed_meanwhile_does_not_wait_for_the_next_run(tmp_path, monkeypatch):
    """A reader found a commit another process was completing (its lock held) and watched the
    lock until it was free: that process completed it, and a run beginning then took the lock for
    its whole length. The reader waited COMMIT_WAIT (60 s) for that run, which it need not wait
    for, before it read the output, whole all along. It stops watching once the journal is gone."""
    import shutil
    import time

    from curate import commit, loader

    out = tmp_path / "o"
    (out / commit.STAGING).mkdir(parents=True)
    (out / commit.STAGING / commit.JOURNAL).write_text("{}")

    def completed_by_another(root):  # held as this reader looked; completed just after
        shutil.rmtree(out / commit.STAGING)
        raise commit.Held("held")

    monkeypatch.setattr(commit, "recover", completed_by_another)
    monkeypatch.setattr(commit, "held", lambda root: True)  # the next run's lock
    naps = []

    def nap(seconds):  # counted, not slept: the wait is told by how often it looks, not by a clock
        naps.append(seconds)
        assert len(naps) < 10, "watched the next run's lock"

    monkeypatch.setattr(time, "sleep", nap)
    loader._complete_commit(str(out))
    assert len(naps) == 1  # one look after the holder's refusal: the journal is gone


RANK = """
import sys, time
from curate import commit
from curate.loader import TokenLoader
apply = commit._apply
commit._apply = lambda *a: (time.sleep(1), apply(*a))  # the rank completing the commit holds the lock 1 s at least
while time.time() < float(sys.argv[2]):  # every rank starts at once, as a launcher starts them
    pass
try:
    lo = TokenLoader(sys.argv[1], 2, 16, rank=int(sys.argv[3]), world_size=4)
except Exception as e:
    sys.exit(f"{type(e).__name__}: {e}")
print(len(lo.manifest["shards"]), next(iter(lo)).sum())
"""


def test_ranks_opening_a_commit_stopped_midway_at_once_wait_for_the_one_completing_it(cl100k_run, tmp_path):
    """A launcher starts every rank at once; on an output whose commit a killed rerun left
    midway, one rank completed the commit and the others, finding its lock held, were told "a run
    is writing or replacing this output ... retry" (3 of 4 ranks failed, before commit.Held). They
    wait for it, and every rank reads the completed output: four processes started at one instant."""
    import time

    from curate import commit

    out = _rerun_killed_midway(cl100k_run, tmp_path)
    at = time.time() + 3  # past every rank's imports
    ranks = [subprocess.Popen([sys.executable, "-c", RANK, str(out), str(at), str(r)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in range(4)]
    said = [p.communicate(timeout=120) for p in ranks]
    assert [p.returncode for p in ranks] == [0] * 4, [e.strip().splitlines()[-1:] for _, e in said]
    assert {o.split()[0] for o, _ in said} == {"3"}  # the rerun's output, completed, read by each
    assert not (out / commit.STAGING).exists() and commit.verify_output(str(out))["config"]["run"]["shards"] == 3
    ref = [str(next(iter(TokenLoader(str(out), 2, 16, rank=r, world_size=4))).sum()) for r in range(4)]
    assert [o.split()[1] for o, _ in said] == ref


def test_a_rerun_replacing_the_shards_mid_epoch_is_said_not_read_or_blamed_on_damage(cl100k_run, tmp_path, monkeypatch):
    """A reader opens a shard when it first needs one of its row groups (and again once it had to
    close it: MAX_OPEN_SHARDS). A rerun committed mid-epoch swapped the shards under it: the next
    shard it opened was the rerun's, read as if it were the one its manifest lists (other tokens,
    where a row group's token count happened to match: every one of a packed corpus's full row
    groups does) or called damaged ("restore it from a copy"). A shard opened is now checked
    against the manifest (its size, rows and row groups), and a mismatch or a shard gone is said
    to be the rerun's rewrite when the tokens manifest changed or the output's manifest.json is
    gone (a commit under way deletes it first)."""
    import shutil

    from curate import loader as L

    out = tmp_path / "o"
    shutil.copytree(cl100k_run, out)
    monkeypatch.setattr(L, "MAX_OPEN_SHARDS", 1)  # every change of shard reopens one
    lo = TokenLoader(str(out), 2, 16)
    it = iter(lo)
    first = next(it)
    units = lo._units
    pages = tmp_path / "other.jsonl"  # another corpus, as many shards: the same file names
    pages.write_text("".join(json.dumps({"text": f"other page {i}: " + "some other words here " * (25 + i)}) + "\n" for i in range(60)))
    r = subprocess.run([sys.executable, "-m", "curate.cli", "run", "--input", str(pages), "--domain", "web", "--stages",
                        "ingest,tokenize", "--shards", "2", "--output", str(out), "--progress", "off"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert {u[0] for u in units} == {u[0] for u in TokenLoader(str(out), 2, 16)._units}  # the same shard names
    with pytest.raises(TokensError, match=r"rewritten since this loader opened them \(a rerun into the same output\?\)"):
        for _ in it:
            pass
    assert first.shape == (2, 16)

    # a commit under way: the output's manifest.json is deleted first, the shards swapped next,
    # the tokens manifest renamed in later (a kill between): the reader is told it is rewritten
    shutil.rmtree(out)
    shutil.copytree(cl100k_run, out)
    lo = TokenLoader(str(out), 2, 16)
    it = iter(lo)
    next(it)
    (out / "manifest.json").unlink()
    for s in lo.manifest["shards"][1:]:  # the shard not opened yet, replaced by a file of another size
        f = out / "tokens" / s["file"]
        f.write_bytes(f.read_bytes()[:-8] + b"\0" * 4 + f.read_bytes()[-8:])
    with pytest.raises(TokensError, match="rewritten since this loader opened them"):
        for _ in it:
            pass


def test_a_packed_corpus_swapped_mid_epoch_is_not_read_as_the_one_opened(tmp_path, monkeypatch):
    """The silent case: packed rows make every full row group the same number of tokens, so a
    rerun's shards of the same shape (other tokens) swapped in mid-epoch were read without a word,
    2,521 of 3,652 windows of the epoch other tokens than the ones the loader opened."""
    from curate import loader as L

    monkeypatch.setattr(tok, "ROW_GROUP_ROWS", 16)
    monkeypatch.setattr(L, "MAX_OPEN_SHARDS", 1)
    a, b = tmp_path / "a", tmp_path / "b"
    make_tokens(a, n_docs=900, shards=3, packed=True, seq_len=15)
    it = iter(TokenLoader(str(a), 4))
    next(it)
    rows = tok.token_rows
    monkeypatch.setattr(tok, "token_rows", lambda docs, lists, **kw: rows(docs, pa.array(
        [(np.array(x) ^ 1).astype(np.uint32) for x in lists.to_pylist()], pa.list_(pa.uint32())), **kw))
    make_tokens(b, n_docs=900, shards=3, packed=True, seq_len=15)  # the same documents' lengths, other ids
    mb, ma = (json.loads((x / tok.MANIFEST).read_text()) for x in (b, a))
    assert [s["row_group_tokens"] for s in mb["shards"]] == [s["row_group_tokens"] for s in ma["shards"]]
    for f in (b / "tokens").iterdir():
        os.replace(f, a / "tokens" / f.name)
    os.replace(b / tok.MANIFEST, a / tok.MANIFEST)
    with pytest.raises(TokensError, match="rewritten since this loader opened them"):
        for _ in it:
            pass


@pytest.mark.parametrize("resized", [False, True])
def test_len_is_what_the_next_pass_yields_after_a_resume_and_after_a_resize(tmp_path, resized):
    """After load_state_dict mid-epoch, len(loader) said the whole epoch; after a resize (another
    world_size), what was left of it: a schedule built on it was off by the batches already read
    one way or the other. One rule now, both ways: len(loader) is what the next pass yields (the
    rest of the epoch in progress), batches_per_epoch what a whole epoch of this shape yields, so
    a resumed loop's total steps are steps taken + len(loader) + epochs left x batches_per_epoch."""
    d = make_tokens(tmp_path, n_docs=600, shards=3)
    first = TokenLoader(d, 2, 16, rank=1, world_size=2)
    assert len(first) == first.batches_per_epoch == len(list(first))  # a fresh loader: a whole epoch
    first = TokenLoader(d, 2, 16, rank=1, world_size=2)
    it, taken = iter(first), 5
    for _ in range(taken):
        next(it)
    state = first.state_dict()
    lo = TokenLoader(d, 2, 16, world_size=1) if resized else TokenLoader(d, 2, 16, rank=1, world_size=2)
    lo.load_state_dict(state)
    epochs = 3
    planned = taken + len(lo) + (epochs - 1) * lo.batches_per_epoch  # what an LR schedule is built on
    steps = [len(list(lo))]
    assert steps[0] == planned - taken - (epochs - 1) * lo.batches_per_epoch  # the rest of the epoch, not all of it
    assert steps[0] < (first.batches_per_epoch if not resized else lo.batches_per_epoch)
    for _ in range(epochs - 1):
        assert len(lo) == lo.batches_per_epoch
        steps.append(len(list(lo)))
    assert taken + sum(steps) == planned
    torch = pytest.importorskip("torch")  # noqa: F841
    from curate.loader import TokenDataLoader

    dl = TokenDataLoader(d, 2, 16, world_size=1) if resized else TokenDataLoader(d, 2, 16, rank=1, world_size=2)
    dl.load_state_dict(state)
    assert len(dl) == steps[0] == len(list(dl)) and len(dl) == dl.batches_per_epoch


def _rewrite_to_size(path, size: int) -> None:
    """Rewrite a token shard with the same row groups (and CRCs), padded in its footer's metadata to ``size`` bytes."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    groups = [f.read_row_group(g) for g in range(f.num_row_groups)]
    pad = 0
    for _ in range(8):
        with pq.ParquetWriter(path, groups[0].schema, compression="zstd", write_statistics=True, write_page_checksum=True) as w:
            for g in groups:
                w.write_table(g, row_group_size=max(g.num_rows, 1))
            w.add_key_value_metadata({"pad": "x" * pad})
        if os.path.getsize(path) == size:
            return
        pad += size - os.path.getsize(path)
    raise AssertionError(f"could not pad the shard to the size {size}: {os.path.getsize(path)}, pad {pad}")


def _same_shape_other_tokens(tmp_path, monkeypatch):
    """(a, b, a's tokens manifest): two runs' tokens of the same size, rows, row groups and token
    counts a shard, other token ids; a's manifest lists its own shards."""
    monkeypatch.setattr(tok, "ROW_GROUP_ROWS", 16)
    a, b = tmp_path / "a", tmp_path / "b"
    make_tokens(a, n_docs=300, shards=2)
    rows = tok.token_rows
    monkeypatch.setattr(tok, "token_rows", lambda docs, lists, **kw: rows(docs, pa.array(
        [(np.array(x) ^ 1).astype(np.uint32) for x in lists.to_pylist()], pa.list_(pa.uint32())), **kw))
    make_tokens(b, n_docs=300, shards=2)  # the same documents' lengths, other token ids
    m = json.loads((a / tok.MANIFEST).read_text())
    for s in m["shards"]:  # both runs' shards padded to one size; a's manifest says it
        size = max(os.path.getsize(x / "tokens" / s["file"]) for x in (a, b)) + 64
        for x in (a, b):
            _rewrite_to_size(x / "tokens" / s["file"], size)
        s["bytes"] = size
        s["sha256"] = output.sha256_file(str(a / "tokens"), s["file"])
        if "footer_sha256" in s:  # the padding is in the footer
            s["footer_sha256"] = _footer_sha256(a / "tokens" / s["file"])
    (a / tok.MANIFEST).write_text(json.dumps(m))
    mb = json.loads((b / tok.MANIFEST).read_text())
    assert [s["row_group_tokens"] for s in mb["shards"]] == [s["row_group_tokens"] for s in m["shards"]]
    return a, b, m


def test_a_shard_swapped_for_one_of_the_same_size_rows_and_tokens_is_not_read(tmp_path, monkeypatch):
    """A shard opened mid-epoch was checked against the manifest by its size, rows and row groups
    (and each row group by its tokens) only: one swapped for another run's shard of the same size
    and shape (other tokens; the tokens manifest untouched, e.g. files copied over) was read
    without a word. The loader keeps each shard's footer hash from when it opened the tokens and
    compares it at every open: the swap is said, naming the shard."""
    import shutil

    from curate import loader as L

    monkeypatch.setattr(L, "MAX_OPEN_SHARDS", 1)  # every change of shard reopens one
    a, b, m = _same_shape_other_tokens(tmp_path, monkeypatch)
    lo = TokenLoader(str(a), 2, 16)
    want = list(TokenLoader(str(a), 2, 16))
    it = iter(lo)
    got = [next(it)]
    for s in m["shards"]:  # swapped in; the manifest (and every size, row and token count) as it was
        shutil.copyfile(b / "tokens" / s["file"], a / "tokens" / s["file"])
    with pytest.raises(TokensError) as e:
        got += list(it)
    assert np.array_equal(got[0], want[0]) and all(np.array_equal(x, y) for x, y in zip(got, want)), "other tokens were read"
    assert re.fullmatch(rf"{re.escape(str(a / 'tokens'))}/part-0000[01]-of-00002\.parquet: not the shard this loader opened "
                        r"\(the same size, rows and row groups, another footer: replaced since, e\.g\. copied over\): a position "
                        r"is only valid in the tokens it was read from: put the shard back, or start from a fresh loader", str(e.value))
    with pytest.raises(TokensError, match="sha256 differs from the manifest"):  # a fresh loader: verify="sha256" sees it
        TokenLoader(str(a), 2, 16, verify="sha256")


def _footer_sha256(path) -> str:
    """sha256 of a Parquet file's footer (its metadata, their length, PAR1), found by pyarrow's metadata size."""
    import hashlib

    import pyarrow.parquet as pq

    data = open(path, "rb").read()
    return hashlib.sha256(data[-(pq.read_metadata(path).serialized_size + 8):]).hexdigest()


def test_a_shard_swapped_before_the_loader_first_opens_it_is_refused(tmp_path, monkeypatch):
    """A shard copied over by another run's of the same size, rows, row groups and token counts
    before any loader opened the tokens was read as the run's (only ``verify="sha256"``, which
    reads every shard whole, saw it): the footer hash a loader compares later opens with was the
    one it found at its own first open. tokens.json records each shard's footer sha256 as
    written (``footer_sha256``), and the first open compares the footer it reads anyway with it.
    A manifest written before (no such field) loads as before."""
    import shutil

    a, b, m = _same_shape_other_tokens(tmp_path, monkeypatch)
    assert [s["footer_sha256"] for s in m["shards"]] == [_footer_sha256(a / "tokens" / s["file"]) for s in m["shards"]]
    want = list(TokenLoader(str(a), 2, 16))
    shutil.copyfile(b / "tokens" / m["shards"][1]["file"], a / "tokens" / m["shards"][1]["file"])
    for make in (lambda: TokenLoader(str(a), 2, 16), lambda: TokenLoader(str(a), 2, 16, world_size=2, rank=1)):
        with pytest.raises(TokensError) as e:
            make()
        assert re.fullmatch(rf"{re.escape(str(a / 'tokens'))}/part-00001-of-00002\.parquet: not the shard its run wrote \(the "
                            r"size, rows and row groups the manifest gives, another footer than its footer_sha256: replaced since, "
                            r"e\.g\. copied over from another run\): put the run's shard back, or rerun curate", str(e.value))
    TokenLoader(str(a), 2, 16, verify="none")  # reads no footer: checks nothing of the files
    old = {**m, "shards": [{k: v for k, v in s.items() if k != "footer_sha256"} for s in m["shards"]]}
    (a / tok.MANIFEST).write_text(json.dumps(old))  # a manifest from before: what it lists is checked, as before
    got = list(TokenLoader(str(a), 2, 16))
    assert len(got) == len(want) and not all(np.array_equal(x, y) for x, y in zip(got, want))


@pytest.mark.parametrize("rerun", ["other_config", "same_shape", "commit_under_way"])
def test_a_rerun_committed_while_a_loader_opens_the_tokens_is_said_so(cl100k_run, tmp_path, monkeypatch, rerun):
    """A rerun's commit landing between a loader's read of tokens.json and its checks of the
    shards (a rank or DataLoader started a moment later than the others) was blamed on the shard:
    "N bytes, the manifest says M", or, for shards of the same shape, "not the shard its run
    wrote ...: put the run's shard back" (footer_sha256), advice that undoes the rerun. A
    mismatch found while tokens.json changed, or the output's manifest.json went (a commit
    deletes it first), is said to be the run's, with a retry."""
    import shutil

    from curate import output as out_mod

    if rerun == "same_shape":
        a, b, _ = _same_shape_other_tokens(tmp_path, monkeypatch)
        out, new, files = a, b, ["tokens.json"]
        mb = json.loads((b / tok.MANIFEST).read_text())
        for sh in mb["shards"]:  # b's manifest as its run would have written it for the padded shards
            f = b / "tokens" / sh["file"]
            sh.update(bytes=os.path.getsize(f), sha256=output.sha256_file(str(b / "tokens"), sh["file"]), footer_sha256=_footer_sha256(f))
        (b / tok.MANIFEST).write_text(json.dumps(mb))
    else:
        out, new = tmp_path / "o", tmp_path / "new"
        shutil.copytree(cl100k_run, out)
        pages = tmp_path / "other.jsonl"  # another corpus, as many shards: the same file names
        pages.write_text("".join(json.dumps({"text": f"other page {i}: " + "some other words " * (25 + i)}) + "\n" for i in range(60)))
        from curate import cli

        assert cli.main(["run", "--input", str(pages), "--domain", "web", "--stages", "ingest,tokenize", "--shards", "2",
                         "--output", str(new), "--progress", "off"]) == 0
        files = ["tokens.json", "manifest.json"] if rerun == "other_config" else []
    sizes = out_mod.sizes

    def commit_now(d):  # the run's renames, right after the loader read tokens.json
        monkeypatch.setattr(out_mod, "sizes", sizes)
        if rerun == "commit_under_way":
            (out / "manifest.json").unlink()  # the commit's first step; the shards next, tokens.json not yet
        for f in [*(f"tokens/{x.name}" for x in (new / "tokens").iterdir()), *files]:
            shutil.copyfile(new / f, out / f)
        return sizes(d)

    want = TokenLoader(str(new), 2, 16).manifest_sha256
    monkeypatch.setattr(out_mod, "sizes", commit_now)
    with pytest.raises(TokensError) as e:
        TokenLoader(str(out), 2, 16)
    assert str(e.value) == (f"{out}: a run replaced these tokens while the loader opened them (its tokens.json changed, or its "
                            "manifest.json is gone: a commit under way): wait for the run to finish and retry")
    if rerun != "commit_under_way":
        assert TokenLoader(str(out), 2, 16).manifest_sha256 == want  # the retry reads the rerun's


@pytest.mark.parametrize("under_way", [True, False])
def test_a_shard_gone_while_verify_sha256_hashes_the_tokens_is_said_in_one_line(cl100k_run, tmp_path, monkeypatch, under_way):
    """verify="sha256" hashes each shard after listing them: a shard gone in between (a rerun of
    fewer shards deletes the others, its manifest.json gone first; or a user's rm) was a
    FileNotFoundError traceback, not the run's "a run replaced these tokens ..." (nor, with no
    run, the listing's "... missing")."""
    import shutil

    from curate import output as out_mod

    out = tmp_path / "o"
    shutil.copytree(cl100k_run, out)
    shard = sorted((out / "tokens").glob("*.parquet"))[-1]
    sizes = out_mod.sizes

    def gone_after_listing(d):
        listed = sizes(d)
        if under_way:
            (out / "manifest.json").unlink()
        shard.unlink()
        return listed

    monkeypatch.setattr(out_mod, "sizes", gone_after_listing)
    with pytest.raises(TokensError) as e:
        TokenLoader(str(out), 2, 16, verify="sha256")
    assert str(e.value) == (f"{out}: a run replaced these tokens while the loader opened them (its tokens.json changed, or its "
                            "manifest.json is gone: a commit under way): wait for the run to finish and retry" if under_way else
                            f"{out / 'tokens'}: the manifest does not match the files: {shard.name} missing")


def _as_written_before_footer_sha256(run, out) -> bytes:
    """A copy at ``out`` of the output ``run`` as a curate before 5 Dec wrote it: its tokens.json
    without footer_sha256 (canonical JSON, listed so in manifest.json); that tokens.json's bytes."""
    import hashlib
    import shutil

    shutil.copytree(run, out)
    m = json.loads((out / tok.MANIFEST).read_text())
    before = output.json_bytes({**m, "shards": [{k: v for k, v in s.items() if k != "footer_sha256"} for s in m["shards"]]})
    (out / tok.MANIFEST).write_bytes(before)
    om = json.loads((out / "manifest.json").read_text())
    for e in om["files"]:
        if e["file"] == tok.MANIFEST:
            e.update(bytes=len(before), sha256=hashlib.sha256(before).hexdigest())
    (out / "manifest.json").write_bytes(output.json_bytes(om))
    return before


def _saved_then_rerun(run, out) -> tuple[bytes, dict, list]:
    """An output ``out`` as written before footer_sha256 (``_as_written_before_footer_sha256``), a
    state saved there after one batch and the rest of its epoch, then the same config rerun into
    it by this curate: (that tokens.json's bytes, the state, the rest as arrays)."""
    from curate import cli

    before = _as_written_before_footer_sha256(run, out)
    lo = TokenLoader(str(out), 2, 16)
    it = iter(lo)
    next(it)
    state, rest = lo.state_dict(), list(it)
    assert cli.main(["run", "--input", str(run.parent / "p.jsonl"), "--domain", "web", "--stages", "ingest,tokenize",
                     "--shards", "2", "--output", str(out), "--progress", "off"]) == 0  # the same config, this curate
    return before, state, rest


def test_a_state_naming_no_tokens_is_refused_in_tokens_without_footer_sha256(cl100k_run, tmp_path):
    """A state without manifest_sha256 (cut down by hand, or not a loader state) names no tokens
    and was refused as saved for other tokens; since a state saved before footer_sha256 may
    resume (the tokens.json hash without the field), it was taken in any output written before
    5 Dec, whose tokens.json has no such field to leave out (the hash looked for was None)."""
    out = tmp_path / "o"
    _as_written_before_footer_sha256(cl100k_run, out)
    lo = TokenLoader(str(out), 2, 16)
    state = lo.state_dict()
    TokenLoader(str(out), 2, 16).load_state_dict(state)  # its own tokens: taken
    for cut in ({k: v for k, v in state.items() if k != "manifest_sha256"}, {**state, "manifest_sha256": None}):
        with pytest.raises(ValueError, match=r"loader state: saved for other tokens \(manifest sha256 None\)"):
            TokenLoader(str(out), 2, 16).load_state_dict(cut)
    # nor does a state saved there resume after a rerun with another config (as many shards): other shards' sha256
    from curate import cli

    pages = tmp_path / "other.jsonl"
    pages.write_text("".join(json.dumps({"text": f"other page {i}: " + "some other words " * (20 + i)}) + "\n" for i in range(60)))
    assert cli.main(["run", "--input", str(pages), "--domain", "web", "--stages", "ingest,tokenize", "--shards", "2",
                     "--output", str(out), "--progress", "off"]) == 0
    again = TokenLoader(str(out), 2, 16)
    assert len(again.manifest["shards"]) == len(lo.manifest["shards"]) and "footer_sha256" in again.manifest["shards"][0]
    with pytest.raises(ValueError, match=r"loader state: saved for other tokens"):
        again.load_state_dict(state)


def test_a_state_saved_before_footer_sha256_resumes_in_the_same_tokens_rerun_by_this_curate(cl100k_run, tmp_path):
    """A state saved in an output written before tokens.json recorded footer_sha256, then the
    same config rerun into it by this curate: the same shards, byte for byte, and a tokens.json
    that differs only by that field, so the state's manifest sha256 is not the new one's and the
    resume was refused ("saved for other tokens ... rewritten since"). A state whose manifest
    sha256 is that of the new tokens.json without footer_sha256 was saved in these very tokens
    (every shard's sha256, size, rows and row groups are in it): it resumes, exactly."""
    import hashlib

    out = tmp_path / "o"
    before, state, rest = _saved_then_rerun(cl100k_run, out)
    assert (out / tok.MANIFEST).read_bytes() == (cl100k_run / tok.MANIFEST).read_bytes() != before
    again = TokenLoader(str(out), 2, 16)
    again.load_state_dict(state)
    assert all(np.array_equal(a, b) for a, b in zip(rest, again, strict=True))
    other = {**state, "manifest_sha256": hashlib.sha256(before + b" ").hexdigest()}  # other tokens: refused as before
    with pytest.raises(ValueError, match=r"loader state: saved for other tokens"):
        TokenLoader(str(out), 2, 16).load_state_dict(other)


def test_a_runs_tokens_manifest_records_each_shards_footer_sha256(cl100k_run):
    """``curate run`` writes tokens.json with each shard's footer sha256, which the loader checks at its first open."""
    m = json.loads((cl100k_run / tok.MANIFEST).read_text())
    assert len(m["shards"]) == 2
    for s in m["shards"]:
        assert s["footer_sha256"] == _footer_sha256(cl100k_run / "tokens" / s["file"])
        assert set(s) == {"file", "rows", "tokens", "row_group_tokens", "bytes", "sha256", "footer_sha256"}


def test_a_resume_in_shards_swapped_since_the_state_was_saved_is_refused(tmp_path, monkeypatch):
    """A state saved, then shards copied over by another run's of the same size, rows, row groups
    and token counts (the tokens manifest untouched): the resuming loader hashed the footers it
    found at its own open, so the state's position was taken in other tokens without a word. The
    state carries a hash of the footers the saving loader opened; a state saved before it did
    (no such key) still loads. (With a manifest that gives the shards' footer hashes, a fresh loader
    refuses the swapped shard at its open: test_a_shard_swapped_before_the_loader_first_opens_it...;
    this is a manifest from before them.)"""
    import shutil

    a, b, m = _same_shape_other_tokens(tmp_path, monkeypatch)
    m["shards"] = [{k: v for k, v in s.items() if k != "footer_sha256"} for s in m["shards"]]
    (a / tok.MANIFEST).write_text(json.dumps(m))
    lo = TokenLoader(str(a), 2, 16)
    it = iter(lo)
    next(it)
    state = lo.state_dict()
    old = {k: v for k, v in state.items() if k != "footers_sha256"}  # as a curate before this saved it
    same = TokenLoader(str(a), 2, 16)
    same.load_state_dict(state)  # unchanged: resumes
    for s in m["shards"]:
        shutil.copyfile(b / "tokens" / s["file"], a / "tokens" / s["file"])
    fresh = TokenLoader(str(a), 2, 16)
    with pytest.raises(ValueError) as e:
        fresh.load_state_dict(state)
    assert re.fullmatch(r"loader state: saved in shards whose footers are not these \(a shard replaced since, e\.g\. copied over, "
                        r"keeping its size, rows and row groups\): a position is only valid in the tokens it was saved with: put "
                        r"the shards back, or start from a fresh loader", str(e.value))
    fresh.load_state_dict(old)  # a state that names no footers: as before
    TokenLoader(str(a), 2, 16, verify="none").load_state_dict(state)  # no footers read: nothing to compare


def test_data_loader_keywords_torch_refuses_for_it_are_said_at_construction(tmp_path):
    """TokenDataLoader(..., drop_last=True) (a habit, for batches of one shape) was taken, len()
    answered, and the first iteration stopped in torch's words ('batch_size=None option disables
    auto-batching and is mutually exclusive with drop_last'); shuffle=True the same way. Every
    batch is whole already, so drop_last is taken either way; shuffle, sampler and batch_sampler
    are refused at construction, in one line saying why."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    d = make_tokens(tmp_path / "t", n_docs=200, shards=2)
    want = list(TokenLoader(d, 2, 16))
    for drop_last in (True, False):
        got = list(TokenDataLoader(d, 2, 16, drop_last=drop_last))
        assert len(got) == len(want) and all(np.array_equal(x.numpy(), y) for x, y in zip(got, want))
    for key, value in (("shuffle", True), ("sampler", [0]), ("batch_sampler", [[0]])):
        with pytest.raises(ValueError) as e:
            TokenDataLoader(d, 2, 16, **{key: value})
        assert re.fullmatch(rf"TokenDataLoader: {key} is not taken: the loader deals the windows to ranks and workers and "
                            r"orders them itself \(the pipeline's shuffle, then an order seeded by each pass\): leave it out",
                            str(e.value)), str(e.value)


@pytest.mark.parametrize("kwargs, said", [
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in multiprocessing"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"pin_mmeory": True}, "unexpected keyword argument 'pin_mmeory'"),
    ({"timeout": -1}, "timeout option should be non-negative"),
])
def test_data_loader_keywords_torch_refuses_are_said_at_construction_not_at_the_first_batch(tmp_path, kwargs, said):
    """The keywords TokenDataLoader passes to torch's DataLoader were checked by torch only when
    the first iteration made one: a misspelt keyword (pin_mmeory), prefetch_factor or
    persistent_workers=True with num_workers=0 (the default) were taken, len() answered, and the
    training loop stopped at its first batch (after the model was loaded). They are refused at
    construction, in torch's words after 'TokenDataLoader: '; those torch takes still are."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    d = make_tokens(tmp_path / "t", n_docs=50, shards=1)
    with pytest.raises(ValueError) as e:
        TokenDataLoader(d, 2, 16, **kwargs)
    assert str(e.value).startswith("TokenDataLoader: ") and said in str(e.value) and "\n" not in str(e.value), str(e.value)
    ok = TokenDataLoader(d, 2, 16, num_workers=2, prefetch_factor=2, persistent_workers=True, pin_memory=False, shuffle=False)
    assert ok.kwargs == {"prefetch_factor": 2, "persistent_workers": True, "pin_memory": False, "shuffle": False}


def test_a_token_dataset_takes_the_manifest_sha256_of_a_state_saved_before_footer_sha256(cl100k_run, tmp_path):
    """``TokenDataset(manifest_sha256=state["manifest_sha256"], start=...)`` with a state saved in
    tokens written before tokens.json recorded footer_sha256, the same config since rerun by this
    curate (the same shards): ``load_state_dict`` resumes it, the dataset was refused, telling
    the user the tokens were "rewritten since this loader opened them" (a fresh dataset). It
    now takes the hash as load_state_dict does and resumes exactly; a hash of other tokens is
    refused saying it names other tokens than the folder holds."""
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataset

    _, state, rest = _saved_then_rerun(cl100k_run, tmp_path / "o")
    out = tmp_path / "o"
    ds = TokenDataset(str(out), 2, 16, manifest_sha256=state["manifest_sha256"], start=(state["epoch"], state["batch"]))
    assert windows(torch.utils.data.DataLoader(ds, batch_size=None)) == windows(rest)
    with pytest.raises(TokensError, match=r"manifest_sha256 0{12}: other tokens than .* holds \([0-9a-f]{12}\)"):
        TokenDataset(str(out), 2, 16, manifest_sha256="0" * 64)


def loader_before(folder):
    """curate/loader.py of 304d768 (DEAL window-ranges/2: each epoch continued its readers' rounds), imported apart."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
    try:
        from bench_zstd_read import module_at
    finally:
        sys.path.pop(0)
    folder.mkdir()
    return module_at("304d768", str(folder), "curate/loader.py")


@pytest.mark.parametrize("shape", [dict(num_workers=2), dict(rank=1, world_size=3)])
def test_a_state_saved_with_the_rounds_resumes_exactly_at_any_epoch(tmp_path, small_groups, shape):
    """A job mid-run that upgrades curate resumes its state saved by the earlier loader (DEAL
    window-ranges/2) exactly: the rest of its epoch is the windows that loader would have read
    (its rounds walked for that epoch only), a state saved meanwhile resumes so again, and the
    epochs after it are this curate's (window-ranges/3). Until 6 Dec one saved past epoch 0 was
    refused (a team mid-run had to go back to the old curate or lose its position)."""
    from curate import loader as L

    before = loader_before(tmp_path / "before")
    d = make_tokens(tmp_path / "t", n_docs=700, shards=3)
    old = before.TokenLoader(d, 3, 16, **shape)
    for _ in range(2):  # epochs 0 and 1
        windows(old)
    it = iter(old)
    for _ in range(5):
        next(it)
    state = json.loads(json.dumps(old.state_dict()))
    assert (state["deal"], state["epoch"], state["batch"]) == ("window-ranges/2", 2, 5)
    rest = windows(it)
    later = windows(old)  # epoch 3, the old way
    lo = TokenLoader(d, 3, 16, **shape)
    lo.load_state_dict(state)
    assert len(lo) == len(rest) // 3 and lo.state_dict()["deal"] == "window-ranges/2"
    it = iter(lo)
    got = windows(next(it) for _ in range(2))
    mid = lo.state_dict()  # saved within the old epoch: still its position
    assert mid["deal"] == "window-ranges/2" and got == rest[:6]
    got += windows(it)
    assert got == rest
    again = TokenLoader(d, 3, 16, **shape)
    again.load_state_dict(mid)
    assert windows(again) == rest[6:]
    # the next epoch: this curate's own, as a fresh loader reads it, every window once
    assert lo.state_dict()["deal"] == L.DEAL and lo.epoch == 3
    fresh = TokenLoader(d, 3, 16, **shape)
    fresh.set_epoch(3)
    nxt = windows(lo)
    assert nxt == windows(fresh) and len(nxt) == len(later) and len(set(nxt)) == len(nxt)
    # resized onto another shape: the rest of the old epoch dealt out as the old loader deals it
    other = dict(num_workers=1, batch_size=2)
    mine, theirs = TokenLoader(d, seq_len=16, **other), before.TokenLoader(d, seq_len=16, **other)
    mine.load_state_dict(state)
    theirs.load_state_dict(state)
    assert windows(mine) == windows(theirs)
    # set_epoch to another epoch leaves the old order: that epoch is this curate's
    moved = TokenLoader(d, 3, 16, **shape)
    moved.load_state_dict(state)
    moved.set_epoch(4)
    fresh.set_epoch(4)
    assert moved.state_dict()["deal"] == L.DEAL and windows(moved) == windows(fresh)


def test_a_state_saved_with_the_rounds_resumes_exactly_through_dataloader_workers(tmp_path, small_groups):
    """The same through torch: TokenDataLoader (fresh and persistent workers) and a TokenDataset
    given the state's deal, the rest of the old epoch as the old loader reads it, then this curate's."""
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataLoader, TokenDataset

    before = loader_before(tmp_path / "before")
    d = make_tokens(tmp_path / "t", n_docs=700, shards=3)
    B = 12  # batches of 12 windows, not 3: a DataLoader's cost is per batch (~0.5 CPU-ms in its worker and as much here)
    old = before.TokenLoader(d, B, 16, num_workers=2)
    windows(old)
    it = iter(old)
    for _ in range(3):
        next(it)
    state, rest = old.state_dict(), windows(it)
    fresh = TokenLoader(d, B, 16, num_workers=2)
    fresh.set_epoch(2)
    nxt = windows(fresh)
    for persistent in (False, True):
        dl = TokenDataLoader(d, B, 16, num_workers=2, persistent_workers=persistent)
        dl.load_state_dict(state)
        assert windows(dl) == rest and windows(dl) == nxt
    ds = TokenDataset(d, B, 16, num_workers=2, start=(state["epoch"], state["batch"]), deal=state["deal"])
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, persistent_workers=True)
    assert windows(dl) == rest and windows(dl) == nxt


def test_a_runs_output_without_its_manifest_is_refused_saying_so(cl100k_run, tmp_path):
    """An output whose manifest.json is gone with no commit under way (deleted, or in a bucket a
    process completing a commit beside another killed between deleting the new manifest as the
    old one and writing it back: test_buckets) was read as a tokens folder standing alone:
    tokens.json taken unchecked against the run's record, which `curate audit` calls not a
    finished output and a rerun refuses as not curate's. The loader now says so in one line;
    a tokens folder with its tokens.json and no run's files around it still loads."""
    import shutil

    out = tmp_path / "o"
    shutil.copytree(cl100k_run, out)
    (out / "manifest.json").unlink()
    for path in (out, out / "tokens"):
        with pytest.raises(TokensError, match=rf"^{re.escape(str(out))}: a run's output without its manifest.json, and no commit "
                                              r"under way: .* rerun curate into a new --output .*, or put its manifest.json back$"):
            TokenLoader(str(path), 2, 16)
    # copied with its stats/ but not manifest.json (cp -r o/tokens o/tokens.json o/stats /data/): the copy is named
    copied = tmp_path / "copied"
    copied.mkdir()
    for name in ("tokens", "stats"):
        shutil.copytree(out / name, copied / name)
    shutil.copy(out / tok.MANIFEST, copied / tok.MANIFEST)
    with pytest.raises(TokensError, match=r"deleted, left out of a copy, or .*; copy it too \(or tokens/ with tokens.json alone\)"):
        TokenLoader(str(copied), 2, 16)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copytree(out / "tokens", alone / "tokens")
    shutil.copy(out / tok.MANIFEST, alone / tok.MANIFEST)
    assert len(TokenLoader(str(alone), 2, 16).manifest["shards"]) == 2


def test_a_commit_landing_between_the_loaders_looks_is_not_taken_for_a_lost_manifest(cl100k_run, tmp_path, monkeypatch):
    """A live run's commit that lands between the loader's look for manifest.json (not there
    yet: the commit deleted it first) and its look for the staging folder (gone: the commit
    done) was refused as an output whose manifest was deleted or lost for good ("rerun curate
    into a new --output"), where a moment later it was whole: the manifest is looked for once
    more before refusing. (A rank started as the run committed; in a bucket the looks are
    requests apart.)"""
    import shutil

    out = tmp_path / "o"
    shutil.copytree(cl100k_run, out)
    file_type, looks = output.file_type, []

    def before_the_commit_landed(path):
        if str(path) == str(out / "manifest.json") and not looks:  # the first look: the commit had deleted it
            looks.append(path)
            import pyarrow.fs as pafs

            return pafs.FileType.NotFound
        return file_type(path)

    monkeypatch.setattr(output, "file_type", before_the_commit_landed)
    lo = TokenLoader(str(out), 2, 16)
    assert looks and len(lo.manifest["shards"]) == 2 and len(list(lo)) == len(lo)


def test_too_few_windows_because_row_groups_are_shorter_than_seq_len_says_so(tmp_path, monkeypatch):
    """A small corpus cut into many shards, each one row group shorter than seq_len: no window
    (they never cross a row group's end), and the loader said "0 windows of 400 tokens, too few
    ... or more tokens" of a corpus of thousands of tokens. It now says the row groups are the
    cause, with the largest one's tokens and what the tokens in all would make."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(tok, "ROW_GROUP_ROWS", 4)
    d = make_tokens(tmp_path, n_docs=60, shards=3)
    groups = [pq.ParquetFile(f).read_row_group(g, columns=["input_ids"]).column(0) for f in sorted((tmp_path / "tokens").glob("*.parquet"))
              for g in range(pq.ParquetFile(f).num_row_groups)]
    sizes = [sum(len(x) for x in c.to_pylist()) for c in groups]
    L = max(sizes) + 1
    assert sum(sizes) // L >= 2
    with pytest.raises(ValueError, match=rf"0 windows of {L} tokens, too few for one batch of 1 per reader \(1 readers: world_size x "
                                         rf"num_workers\) \(windows do not cross row groups, the largest of which holds {max(sizes):,} "
                                         rf"tokens: the {sum(sizes):,} tokens in all would make {sum(sizes) // L:,}; fewer token shards"):
        TokenLoader(d, 1, L)


def test_too_few_windows_for_the_batch_does_not_blame_row_groups(tmp_path):
    """A batch larger than a reader's windows, where windows crossing row groups would not make
    one either: the message blamed row groups ("the tokens in all would make 2,051" for a batch
    of 1,026 on each of 2 readers, 2,052 needed) whenever a row group's last partial window was
    dropped, which every corpus has. Only where the tokens in all would make a batch per reader."""
    d = make_tokens(tmp_path, n_docs=500, shards=3)
    n = every_window(d, 16)
    with pytest.raises(ValueError, match=rf"{n:,} windows of 16 tokens, too few for one batch of {n // 2 + 1} per reader "
                                         r"\(2 readers: world_size x num_workers\): use fewer readers"):
        TokenLoader(d, n // 2 + 1, 16, world_size=2)


def test_a_token_dataset_in_a_dataloader_of_other_workers_is_refused(tmp_path, small_groups):
    """TokenDataset(num_workers=2) in a DataLoader of 1 worker (or none) read worker 0's part
    only: an epoch of half the windows, without a word; in one of 3 workers the third failed
    with a bare IndexError. Each worker reads its own part, so the counts must agree: said."""
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataset

    d = make_tokens(tmp_path, n_docs=300, shards=2)
    said = r"TokenDataset: made with num_workers=2, iterated by a DataLoader with {} workers: .* give both the same num_workers"
    with pytest.raises(ValueError, match=said.format(0)):
        windows(torch.utils.data.DataLoader(TokenDataset(d, 4, 16, num_workers=2), batch_size=None, num_workers=0))
    for workers in (1, 3):
        with pytest.raises(Exception, match=said.format(workers)):
            windows(torch.utils.data.DataLoader(TokenDataset(d, 4, 16, num_workers=2), batch_size=None, num_workers=workers))
    for made, workers in ((0, 0), (1, 0), (0, 1), (2, 2)):  # 0 and 1 are one reader either way
        got = windows(torch.utils.data.DataLoader(TokenDataset(d, 4, 16, num_workers=made), batch_size=None, num_workers=workers))
        assert got == windows(TokenLoader(d, 4, 16, num_workers=max(1, made)))


def test_a_state_of_a_negative_epoch_is_refused_in_one_line(tmp_path):
    """A state whose epoch is negative (hand-edited, or a counter that wrapped) loaded, and the
    first batch failed inside numpy ('expected non-negative integer', the epoch's seed): now
    load_state_dict refuses it, as set_epoch refuses a negative epoch."""
    d = make_tokens(tmp_path)
    state = TokenLoader(d, 3, 16).state_dict()
    for e in (-1, -(2**63)):
        with pytest.raises(ValueError, match=rf"^loader state: epoch {e} is negative: pass the values state_dict\(\) returned$"):
            TokenLoader(d, 3, 16).load_state_dict({**state, "epoch": e})


def test_token_dataset_set_epoch_past_int64_is_one_line(tmp_path):
    """TokenDataset.set_epoch shares the epoch with its workers in an int64 tensor: 2**63 failed
    with torch's 'Overflow when unpacking long long'; now a one-line ValueError naming the bound,
    and 2**63 - 1 reads that epoch as TokenLoader does."""
    torch = pytest.importorskip("torch")
    from curate.loader import TokenDataset

    d = make_tokens(tmp_path)
    ds = TokenDataset(d, 3, 16)
    lo = TokenLoader(d, 3, 16)
    ds.set_epoch(2**63 - 1)
    lo.set_epoch(2**63 - 1)
    assert windows(torch.utils.data.DataLoader(ds, batch_size=None)) == windows(lo)
    with pytest.raises(ValueError, match=r"^TokenDataset.set_epoch: epoch 9223372036854775808 is past 2\*\*63 - 1"):
        ds.set_epoch(2**63)


def test_token_dataset_started_at_a_negative_epoch_is_refused_in_one_line(tmp_path):
    """TokenDataset(start=(-1, 0)) was made, and its first batch failed inside numpy ('expected
    non-negative integer', the epoch's seed) in a worker; refused when made now, as a loaded
    state's negative epoch is."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataset

    d = make_tokens(tmp_path)
    with pytest.raises(ValueError, match=r"^TokenDataset: start=\(-1, 0\): expected \(epoch, batch\) of a saved state, "
                                         r"epoch 0, 1, 2, \.\.\.$"):
        TokenDataset(d, 3, 16, start=(-1, 0))
    assert len(windows(TokenDataset(d, 3, 16, start=(np.int64(2), 0)))) == len(windows(TokenLoader(d, 3, 16)))
    import torch

    assert len(windows(TokenDataset(d, 3, 16, start=(torch.tensor(1), 2)))) == len(windows(TokenLoader(d, 3, 16))) - 2 * 3


@pytest.mark.parametrize("kw, said", [
    ({"rank": 1, "world_size": 1}, "rank: expected 0 .. world_size - 1 (0 .. 0), got 1"),
    ({"rank": -1, "world_size": 2}, "rank: expected 0 .. world_size - 1 (0 .. 1), got -1"),
    ({"batch_size": "8"}, "batch_size: expected a whole number >= 1, got '8'"),
    ({"seq_len": 0}, "seq_len: expected a whole number >= 2 (a window's inputs are its tokens but the last, its labels "
                     "all but the first), got 0"),
    ({"seq_len": 1}, "seq_len: expected a whole number >= 2 (a window's inputs are its tokens but the last, its labels "
                     "all but the first), got 1"),
    ({"num_workers": 2.0}, "num_workers: expected a whole number >= 1, got 2.0"),
    ({"world_size": True}, "world_size: expected a whole number >= 1, got True"),
])
def test_bad_loader_arguments_name_the_one_at_fault(tmp_path, kw, said):
    """rank=1 of world_size=1 said 'bad loader arguments: batch_size=8 seq_len=20 rank=1/1
    num_workers=1' (which one?), and batch_size="8" a TypeError ('>=' not supported between
    instances of 'str' and 'int'). Each names the argument and what it takes."""
    d = make_tokens(tmp_path, n_docs=20, shards=1)
    args = {"batch_size": 8, "seq_len": 20, **kw}
    with pytest.raises(ValueError) as e:
        TokenLoader(d, **args)
    assert str(e.value) == f"TokenLoader: {said}"
    TokenLoader(d, np.int64(2), 20, rank=np.int32(0), world_size=1)  # numpy ints are whole numbers


def test_bad_loader_arguments_name_the_class_called(tmp_path):
    """TokenDataset(d, 0, 20) and TokenDataLoader(..., rank=3) said 'TokenLoader: batch_size: ...',
    a class the user did not call: each names its own."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader, TokenDataset

    d = make_tokens(tmp_path, n_docs=20, shards=1)
    with pytest.raises(ValueError, match=r"^TokenDataset: batch_size: expected a whole number >= 1, got 0$"):
        TokenDataset(d, 0, 20)
    with pytest.raises(ValueError, match=r"^TokenDataLoader: rank: expected 0 \.\. world_size - 1 \(0 \.\. 0\), got 3$"):
        TokenDataLoader(d, 8, 20, rank=3)
    # the name is not an argument of theirs: help() and a misspelt keyword's TypeError showed _called= (and _opened=)
    for cls in (TokenLoader, TokenDataset, TokenDataLoader):
        assert not [p for p in inspect.signature(cls).parameters if p.startswith("_")], cls


@pytest.mark.parametrize("workers", [-1, "2", 1.5])
def test_a_dataset_s_num_workers_below_0_or_not_whole_is_said(tmp_path, workers):
    """TokenDataset(num_workers=-1) read as 1 (max(1, n)) and a string failed in max() with a
    TypeError: 0 .. n as DataLoader takes it (0: the main process), else one line naming it."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataset

    d = make_tokens(tmp_path, n_docs=20, shards=1)
    with pytest.raises(ValueError, match=rf"^TokenDataset: num_workers: expected a whole number >= 0 \(0: read in the "
                                         rf"main process\), got {re.escape(repr(workers))}$"):
        TokenDataset(d, 8, 20, num_workers=workers)
    assert TokenDataset(d, 1, 20, num_workers=0).loader.num_workers == 1


def test_another_folder_of_an_output_is_named_as_such(cl100k_run):
    """TokenLoader("corpus/text") said "no text.json beside it ... copy the run's tokens.json beside
    it as text.json": text/ holds the documents, not tokens; the output folder is what to give."""
    for sub in ("text", "ledger"):
        with pytest.raises(TokensError, match=rf"{sub}: the output's {sub}/ folder, not its tokens: give the output folder "
                                              rf"\({re.escape(str(cl100k_run))}\) or its tokens/ folder$"):
            TokenLoader(str(cl100k_run / sub), 2, 16)
