"""The loader's throughput and memory against a plain pyarrow read of the same token shards.

    python bench/bench_loader.py [--tokens 40000000] [--long-tokens 40000000] [--share-tokens 60000000]
                                 [--small-tokens 4000000] [--seq-len 2049] [--batch 8] [--repeat 5] [--share-only]
                                 [--startup [--epochs 4]] [--open-shards [--epochs 4]]
                                 [--far-epochs [--far-tokens 4000000] [--far 0 1 10 100 1000 10000] [--far-before-rev 304d768]]
                                 [--footer-check [--footer-tokens 8000000] [--footer-opens 2000]]

Writes a tokens directory with the pipeline's own functions (``token_rows``, ``write_shard``,
``manifest``; 16 shards, page CRCs as a run writes them) of documents with log-normal lengths
(median ~500 tokens) and random ids below cl100k's vocabulary, then reads one epoch of it in a
fresh process per mode (``--repeat`` interleaved times; memory is the peak PSS of the process and
its workers, ``bench/memory.py``):

* pyarrow          -- the baseline: ``ParquetFile.iter_batches(columns=["input_ids"])`` of every
                      shard, each batch's list flattened to one numpy array (the least a reader
                      of these files does);
* pyarrow_batches  -- the same, cut into int64 ``[batch, seq_len]`` arrays in file order (what a
                      hand-written loop feeds a model: no shuffle, no sharding, no resume);
* loader           -- ``TokenLoader`` (one reader), one epoch;
* loader_nocrc     -- the same without checking the pages' CRCs (what that check costs);
* loader_w4        -- ``TokenLoader(num_workers=4)`` played in one process (round-robin);
* torch_w0         -- ``TokenDataLoader(num_workers=0)``: the DataLoader in this process;
* torch_w2         -- ``TokenDataLoader(num_workers=2)``: two DataLoader worker processes, each
                      batch handed over through torch's shared memory (the torch modes are
                      skipped without torch).

Then the share of the tokens one epoch reads with 1-16 readers on a small corpus (8 shards of
a row group each, ``--small-tokens``) and a large one (64 shards, ``--share-tokens``): the
loader (each reader a contiguous range of windows) against whole row groups dealt by size and
dealt round-robin (both as before, computed in the same run), with how many row groups a pass's
readers open (``--share-only``: this alone); and a corpus of long documents (~30k tokens each, one shard) written twice, with row groups of
1,024 rows only (as before they also ended at ``tok.ROW_GROUP_TOKENS``) and as a run writes
them now: the loader's peak memory on each (a reader holds a whole row group).

``--startup`` alone: ``--epochs`` epochs of the ``--tokens`` corpus through a DataLoader with 2
workers, with and without ``persistent_workers`` (interleaved, a fresh process each, torch imported
before the timing as a training script has it; its import is reported apart): how long each epoch
waits for its first batch, for ``TokenDataLoader``, for the same with every worker opening the
tokens and remaking its rounds each epoch (as before they were kept), and for a bare torch
DataLoader over zero batches (torch's worker start-up, the baseline); then curate's own work
before a worker's first batch, epoch by epoch, in one process (a new loader each epoch against
one kept), on these windows and on 16x as many per reader (windows of 129 tokens), 17 epochs.

``--far-epochs`` alone: the time to find where epoch E (E = 0 ... 10,000) starts in a fresh loader
(a job resumed at epoch E, or a DataLoader worker started at epoch E), one process, a corpus of
``--far-tokens`` in windows of 2049 and of 129 tokens (16x the windows), 2 readers: now against
the loader of git revision ``--far-before-rev`` (304d768: each epoch continued its reader's
rounds, which windows each round put last found by a chain from round 1).

``--footer-check`` alone: a shard's open with its footer read and hashed by the loader against
pyarrow reading it, and the first open of the tokens (``open_tokens``) with every footer compared
with tokens.json's ``footer_sha256`` against the same shards and manifest without the field
(main's open), interleaved in one process.

``--open-shards`` alone: what reopening shards costs a reader whose part spans more shards than
``curate.loader.MAX_OPEN_SHARDS`` (16): a corpus of ``--open-tokens`` in 256 shards of 8 row
groups each, one reader, ``--epochs`` epochs (after the first, units in a shuffled order) with
the limit as it is against the limit raised to the shard count (nothing reopened), a fresh
process each, interleaved: each epoch's wall, the shards opened (a footer read each) and the
peak memory.

Throughput is tokens handed out per second of wall time (best of the repeats), CPU the
launching process's CPU time per token (least of the repeats: the machine may be shared; a
DataLoader's worker processes are not in it); the loader hands out fewer tokens
than the files hold (a row group's last partial window, and each reader's excess over the
smallest reader's, wait for the next epoch), so "share" gives the fraction of the tokens.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

MODES = ["pyarrow", "pyarrow_batches", "loader", "loader_nocrc", "loader_w4", "torch_w0", "torch_w2"]


def write_tokens(root: str, n_tokens: int, shards: int = 16, median: int = 500, group_tokens: int | None = None) -> dict:
    """A tokens directory of documents of log-normal lengths; ``group_tokens`` overrides the
    writer's row-group token limit (a huge one: row groups of 1,024 rows only, as before it)."""
    import pyarrow as pa

    from curate import output
    from curate.stages import tokenize as tok

    rng = np.random.default_rng(0)
    lens = []
    while sum(lens) < n_tokens:
        lens += list(np.clip(rng.lognormal(np.log(median), 1.0 if median < 5000 else 0.3, 10_000).astype(int), 2, 50 * median))
    lens = np.array(lens[: np.searchsorted(np.cumsum(lens), n_tokens) + 1])
    by_shard: dict = {i: [] for i in range(shards)}
    step = 20_000  # documents per batch, as the pipeline hands them over
    for a in range(0, len(lens), step):
        n = lens[a : a + step]
        flat = rng.integers(0, 100_000, int(n.sum()), dtype=np.uint32)
        flat[np.cumsum(n) - 1] = 100_257  # every document ends in the EOS
        offsets = np.concatenate([[0], np.cumsum(n)]).astype(np.int32)
        ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
        docs = pa.record_batch({"id": [f"{i:016x}" for i in range(a, a + len(n))], "domain": ["web"] * len(n),
                                "source": ["bench"] * len(n), "language": ["en"] * len(n)})
        for s, rows in tok.token_rows(docs, ids, seed=0, shards=shards):
            by_shard[s].append(rows)
    limit, tok.ROW_GROUP_TOKENS = tok.ROW_GROUP_TOKENS, group_tokens or tok.ROW_GROUP_TOKENS
    try:
        entries = [tok.write_shard(root, i, shards, bs) for i, bs in by_shard.items()]
    finally:
        tok.ROW_GROUP_TOKENS = limit
    info = {"name": "synthetic", "kind": "bench", "sha256": "", "vocab_size": 100_277, "eos_id": 100_257, "eos": ""}
    m = tok.manifest(entries, info, dict(tok.DEFAULTS))
    output.write_atomic(root, tok.MANIFEST, output.json_bytes(m))
    return m


def run_mode(mode: str, root: str, batch: int, seq_len: int, epochs: int = 1) -> dict:
    """One epoch in this process: tokens handed out, wall and CPU seconds."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curate import loader as L

    if mode.startswith("torch"):
        import torch

        torch.set_num_threads(1)
    if mode.startswith("epochs"):
        return epoch_starts(mode, root, batch, seq_len, epochs)
    if mode.startswith("openshards"):
        return reopening(int(mode.split("_")[1]), root, batch, seq_len, epochs)
    t0, c0, tokens, sink = time.perf_counter(), time.process_time(), 0, 0  # imports done: reading only
    d = os.path.join(root, "tokens")
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".parquet"))
    if mode.startswith("pyarrow"):
        rest = np.zeros(0, np.uint32)
        for f in files:
            for rb in pq.ParquetFile(f).iter_batches(columns=["input_ids"]):
                flat = pc.list_flatten(rb.column(0)).to_numpy()
                if mode == "pyarrow":
                    tokens += len(flat)
                    sink += int(flat[-1])
                    continue
                flat = np.concatenate([rest, flat])
                n = len(flat) // (batch * seq_len) * batch * seq_len
                for b in flat[:n].reshape(-1, batch, seq_len):
                    b = b.astype(np.int64)
                    tokens += b.size
                    sink += int(b[0, 0])
                rest = flat[n:]
    else:
        plain = pq.ParquetFile
        if mode == "loader_nocrc":
            pq.ParquetFile = lambda path, **kw: plain(path)
        try:
            if mode.startswith("torch"):
                lo = L.TokenDataLoader(root, batch, seq_len, num_workers=int(mode[-1]))
            else:
                lo = L.TokenLoader(root, batch, seq_len, num_workers=4 if mode == "loader_w4" else 1)
            for b in lo:
                tokens += b.numel() if hasattr(b, "numel") else b.size
                sink += int(b[0, 0])
        finally:
            pq.ParquetFile = plain
    return {"mode": mode, "tokens": tokens, "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def epoch_starts(mode: str, root: str, batch: int, seq_len: int, epochs: int) -> dict:
    """``epochs`` epochs through a DataLoader with 2 workers, persistent or not as the mode says
    (``epochs_<what>_w2[_persistent]``): the seconds from ``iter()`` to each epoch's first batch, and
    the whole wall. <what>: ``tokens`` TokenDataLoader; ``reopen`` the same, each worker opening the
    tokens and making its reader's rounds from round 0 every epoch (as before they were kept); ``bare``
    a torch DataLoader over an IterableDataset of as many zero batches, no files (torch's own start-up).
    torch is imported first, as a training script has it (its import is timed apart)."""
    t = time.perf_counter()
    import torch

    imported = time.perf_counter() - t
    torch.set_num_threads(1)
    from curate import loader as L

    persistent, what = mode.endswith("persistent"), mode.split("_")[1]
    kept = L.copy
    if what == "reopen":  # a worker's loader for the epoch: a new one, as before (manifest, deal, rounds from 0)
        def reopen(lo):
            return L.TokenLoader(lo.path, lo.batch_size, lo.seq_len, rank=lo.rank, world_size=lo.world_size,
                                 num_workers=lo.num_workers, verify="none")
        L.copy = type("copy", (), {"copy": staticmethod(reopen)})
    try:
        dl = L.TokenDataLoader(root, batch, seq_len, num_workers=2, persistent_workers=persistent)
        if what == "bare":
            class Zeros(torch.utils.data.IterableDataset):
                def __iter__(self, n=len(dl) // 2):
                    for _ in range(n):
                        yield torch.zeros(batch, seq_len, dtype=torch.int64)
            dl = torch.utils.data.DataLoader(Zeros(), batch_size=None, num_workers=2, persistent_workers=persistent)
        t0, starts, tokens = time.perf_counter(), [], 0
        for _ in range(epochs):
            t = time.perf_counter()
            for i, b in enumerate(dl):
                if i == 0:
                    starts.append(time.perf_counter() - t)
                tokens += b.numel()
    finally:
        L.copy = kept
    return {"mode": mode, "tokens": tokens, "wall": time.perf_counter() - t0, "cpu": 0.0, "starts": starts, "torch_import": imported}


def reopening(max_open: int, root: str, batch: int, seq_len: int, epochs: int) -> dict:
    """``epochs`` epochs of one reader with at most ``max_open`` shards open: each epoch's wall
    and the shards it opened (each open reads the footer)."""
    import pyarrow.parquet as pq

    from curate import loader as L

    plain, opened, kept = pq.ParquetFile, [0], L.MAX_OPEN_SHARDS

    def counted(*args, **kw):
        opened[0] += 1
        return plain(*args, **kw)

    pq.ParquetFile, L.MAX_OPEN_SHARDS = counted, max_open
    try:
        lo = L.TokenLoader(root, batch, seq_len, verify="none")
        walls, opens, tokens, t0, c0 = [], [], 0, time.perf_counter(), time.process_time()
        for _ in range(epochs):
            t, opened[0] = time.perf_counter(), 0
            for b in lo:
                tokens += b.size
            walls.append(time.perf_counter() - t)
            opens.append(opened[0])
    finally:
        pq.ParquetFile, L.MAX_OPEN_SHARDS = plain, kept
    return {"mode": f"openshards_{max_open}", "tokens": tokens, "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            "epochs": walls, "opened": opens}


def open_shards(a) -> None:
    """One reader over 256 shards: the limit of open shards as it is against raised to the shard count."""
    shards, groups = 256, 8
    with tempfile.TemporaryDirectory() as root:
        m = write_tokens(root, a.open_tokens, shards=shards, group_tokens=max(1, a.open_tokens // (shards * groups)))
        units = sum(len(s["row_group_tokens"]) for s in m["shards"])
        from curate.loader import MAX_OPEN_SHARDS

        print(f"open shards, one reader: {m['tokens']['total']:,} tokens, {shards} shards, {units} row groups, {a.epochs} epochs, "
              f"batches of {a.batch} x {a.seq_len}, {a.repeat} repeats (interleaved, a fresh process each)")
        limits = (MAX_OPEN_SHARDS, shards)
        best = measure([(f"openshards_{n}", root) for n in limits], a)
        base = best[f"openshards_{shards}"]
        for n in limits:
            r = best[f"openshards_{n}"]
            walls = [min(run["epochs"][e] for run in r["runs"]) for e in range(a.epochs)]
            later = [min(run["epochs"][e] for run in base["runs"]) for e in range(1, a.epochs)]
            print(f"  at most {n:>3} open{' (now)' if n == MAX_OPEN_SHARDS else ' (raised)'}: epochs "
                  f"{' '.join(f'{w:.2f}' for w in walls)} s (best each), later epochs {sum(walls[1:]) / max(1e-9, sum(later)):.2f}x "
                  f"the raised limit's; shards opened an epoch {'/'.join(map(str, r['runs'][0]['opened']))}; "
                  f"{r['tokens']:,} tokens; peak {r['mb']:.0f} MB ({r['mb'] / base['mb']:.2f}x)")


def footer_check(a) -> None:
    """What a shard's open costs with its footer hashed (the loader now: ``_footer``, one read of
    the file's tail, then ``ParquetFile(metadata=...)``) against pyarrow reading the footer itself
    (before), interleaved in one process, on shards of few and of many row groups."""
    import statistics

    import pyarrow.parquet as pq

    from curate import output
    from curate.loader import _footer, open_tokens

    print(f"footer check, a shard's open (handle, footer, ParquetFile), {a.footer_opens} opens each way, interleaved:")
    for groups in (4, 64):
        with tempfile.TemporaryDirectory() as root:
            shards = 16
            m = write_tokens(root, a.footer_tokens, shards=shards, group_tokens=max(1, a.footer_tokens // (shards * groups)))
            paths = [output.join(f"{root}/tokens", s["file"]) for s in m["shards"]]
            took: dict = {"before": [], "now": []}
            for i in range(a.footer_opens):
                for way in ("before", "now") if i % 2 else ("now", "before"):
                    t = time.perf_counter()
                    with output.open_input(paths[i % shards]) as h:
                        if way == "now":
                            md, _ = _footer(h)
                            f = pq.ParquetFile(h, metadata=md, page_checksum_verification=True)
                        else:
                            f = pq.ParquetFile(h, page_checksum_verification=True)
                        assert f.metadata.num_rows == m["shards"][i % shards]["rows"]
                    took[way].append(time.perf_counter() - t)
            rg = sum(len(s["row_group_tokens"]) for s in m["shards"]) / shards
            med = {k: statistics.median(v) * 1e6 for k, v in took.items()}
            print(f"  {rg:.0f} row groups a shard ({pq.read_metadata(paths[0]).serialized_size:,} B footer): before {med['before']:.0f} us, "
                  f"now {med['now']:.0f} us ({med['now'] / med['before']:.2f}x, {med['now'] - med['before']:+.0f} us an open)")
            # the first open (open_tokens: every shard's footer read and hashed) with the footers compared with the
            # manifest's footer_sha256 (now) against the same shards and manifest without it (before: main's open)
            old = f"{root}/before"
            os.makedirs(f"{old}/tokens")
            for sh in m["shards"]:
                os.link(f"{root}/tokens/{sh['file']}", f"{old}/tokens/{sh['file']}")
            bare = {**m, "shards": [{k: v for k, v in sh.items() if k != "footer_sha256"} for sh in m["shards"]]}
            output.write_atomic(old, "tokens.json", output.json_bytes(bare))
            took = {"before": [], "now": []}
            for i in range(max(2, a.footer_opens // shards)):
                for way in ("before", "now") if i % 2 else ("now", "before"):
                    t = time.perf_counter()
                    assert len(open_tokens(old if way == "before" else root)[3]) == shards
                    took[way].append(time.perf_counter() - t)
            med = {k: statistics.median(v) * 1e3 for k, v in took.items()}
            print(f"    first open of the {shards} shards (open_tokens), footers checked against tokens.json's footer_sha256: "
                  f"{med['now']:.2f} ms against {med['before']:.2f} ms without the field ({med['now'] / med['before']:.2f}x, "
                  f"{(med['now'] - med['before']) * 1e3:+.0f} us), {len(took['now'])} opens each way")


def own_epoch_start(root: str, batch: int, seq_len: int, epochs: int, repeat: int) -> dict:
    """curate's own work before a worker's first batch of each epoch, in this process (no worker
    processes: what the DataLoader adds is measured above): a new TokenLoader each epoch, as before,
    against a copy of one kept (its deal and the rounds it made). Best of ``repeat`` per epoch."""
    import copy

    from curate.loader import TokenLoader

    lo = TokenLoader(root, batch, seq_len, num_workers=2, verify="none")
    times = {"reopen": [np.inf] * epochs, "kept": [np.inf] * epochs}
    for _ in range(repeat):
        for how in times:
            kept = TokenLoader(root, batch, seq_len, num_workers=2, verify="none")
            for e in range(epochs):
                t = time.perf_counter()
                w = (TokenLoader(root, batch, seq_len, num_workers=2, verify="none") if how == "reopen" else copy.copy(kept))
                w.worker, w.epoch = 0, e
                next(iter(w))
                times[how][e] = min(times[how][e], time.perf_counter() - t)
    return {**times, "windows": int(lo._offsets[-1]) // 2}


def far_epochs(a) -> None:
    """Where epoch E of a reader starts, found by a resumed job (a fresh loader at epoch E: what
    a worker of a DataLoader started at epoch E does too), now and with the loader of
    ``--far-before-rev``: curate's order work alone (the first batch also reads a unit: a few ms)."""
    from curate import loader as L

    from bench_zstd_read import module_at

    before = module_at(a.far_before_rev, tempfile.mkdtemp(), "curate/loader.py")

    def position(module, root, seq_len: int, e: int) -> float:
        """Seconds for a fresh loader of ``module`` told epoch e to find reader 0's first windows of it."""
        lo = module.TokenLoader(root, a.batch, seq_len, num_workers=2, verify="none")
        s = lo._streams(2, a.batch)
        t = time.perf_counter()
        lo.set_epoch(e)
        next(s.windows(0, e * s.per_epoch, (e + 1) * s.per_epoch))
        return time.perf_counter() - t

    with tempfile.TemporaryDirectory() as root:
        m = write_tokens(root, a.far_tokens)
        print(f"far epochs: {m['tokens']['total']:,} tokens, {len(m['shards'])} shards, 2 readers, batches of {a.batch}: the time "
              f"to find where reader 0's epoch E starts (its windows' order) in a fresh loader, best of {a.repeat} "
              f"(1 from epoch 1,000), now against {a.far_before_rev}'s loader")
        for seq_len in (2049, 129):
            s = L.TokenLoader(root, a.batch, seq_len, num_workers=2, verify="none")._streams(2, a.batch)
            print(f"  windows of {seq_len}: {s.bounds[1]:,} a reader in {len(s._units(0)[1])} units, {s.per_epoch:,} an epoch")
            print(f"    {'epoch':>6} {'now':>11} {'before':>11} {'ratio':>8}")
            for e in a.far:
                times = {}
                for how, module in (("now", L), ("before", before)):
                    if how == "before" and e > a.far_before:
                        continue
                    times[how] = min(position(module, root, seq_len, e) for _ in range(a.repeat if e < 1000 else 1))
                b = times.get("before")
                cell = f"{b * 1e3:8.1f} ms {b / times['now']:7.1f}x" if b is not None else f"{'-':>11} {'-':>8}"
                print(f"    {e:>6} {times['now'] * 1e3:8.1f} ms {cell}")


def startup(a) -> None:
    """Epoch start-up with 2 DataLoader workers, persistent or not: TokenDataLoader now, with its
    workers opening the tokens again every epoch (as before), and a bare torch DataLoader; then
    curate's own part of it in one process, epoch by epoch."""
    with tempfile.TemporaryDirectory() as root:
        m = write_tokens(root, a.tokens)
        print(f"epoch start-up, 2 DataLoader workers: {m['tokens']['total']:,} tokens, {len(m['shards'])} shards, "
              f"{a.epochs} epochs, batches of {a.batch} x {a.seq_len}, {a.repeat} repeats (interleaved, a fresh process each)")
        runs: dict = {}
        modes = [f"epochs_{what}_w2{p}" for p in ("", "_persistent") for what in ("bare", "reopen", "tokens")]
        for _ in range(a.repeat):
            for mode in modes:
                cmd = [sys.executable, __file__, "--mode", mode, "--dir", root, "--batch", str(a.batch), "--seq-len", str(a.seq_len),
                       "--epochs", str(a.epochs)]
                done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
                if done.returncode:
                    sys.exit(f"{mode} failed:\n{done.stderr[-2000:]}")
                runs.setdefault(mode, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
        imports = [r["torch_import"] for rs in runs.values() for r in rs]
        print(f"  import torch (before the timing, as in a training script): median {np.median(imports) * 1e3:.0f} ms "
              f"({min(imports) * 1e3:.0f}-{max(imports) * 1e3:.0f})")
        first = {k: np.median([r["starts"][0] for r in rs]) for k, rs in runs.items()}
        later = {k: np.median([s for r in rs for s in r["starts"][1:]]) for k, rs in runs.items()}
        for mode, rs in runs.items():
            bare = mode.replace("reopen", "bare").replace("tokens", "bare")
            print(f"  {mode:<26} first batch: epoch 0 {first[mode] * 1e3:6.1f} ms ({first[mode] / first[bare]:.2f}x bare), later epochs "
                  f"(median) {later[mode] * 1e3:6.1f} ms ({later[mode] / later[bare]:.2f}x bare); {a.epochs} epochs "
                  f"{min(r['wall'] for r in rs):6.2f} s (best)")
        print("  curate's own work before a worker's first batch of epoch 0/1/2/4/8/16, in one process: a new loader each "
              "epoch (before) / one kept")
        for L in dict.fromkeys((a.seq_len, 129)):  # 129: 16x the windows per reader (a larger corpus, or shorter windows)
            own = own_epoch_start(root, a.batch, L, 17, a.repeat)
            cells = " ".join(f"{own['reopen'][e] * 1e3:.1f}/{own['kept'][e] * 1e3:.1f}" for e in (0, 1, 2, 4, 8, 16))
            print(f"    windows of {L:>4} ({own['windows']:>7,} a reader): {cells} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=40_000_000)
    ap.add_argument("--seq-len", type=int, default=2049)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--long-tokens", type=int, default=40_000_000, help="tokens of the long-document corpus")
    ap.add_argument("--share-tokens", type=int, default=60_000_000, help="tokens of the large corpus an epoch's share is measured on")
    ap.add_argument("--small-tokens", type=int, default=4_000_000, help="tokens of the small one (8 shards of a row group each)")
    ap.add_argument("--share-only", action="store_true", help="measure the epoch's share only")
    ap.add_argument("--startup", action="store_true", help="measure TokenDataLoader's epoch start-up only (persistent workers or not)")
    ap.add_argument("--epochs", type=int, default=4, help="epochs a --startup or --open-shards run reads")
    ap.add_argument("--open-shards", action="store_true", help="measure what reopening shards costs (MAX_OPEN_SHARDS) only")
    ap.add_argument("--open-tokens", type=int, default=16_000_000, help="tokens of the --open-shards corpus (256 shards)")
    ap.add_argument("--far-epochs", action="store_true", help="measure the wait for a far epoch's first batch only")
    ap.add_argument("--far-tokens", type=int, default=4_000_000, help="tokens of the --far-epochs corpus")
    ap.add_argument("--far", type=int, nargs="+", default=[0, 1, 10, 100, 1000, 10000], help="the epochs --far-epochs starts")
    ap.add_argument("--far-before", type=int, default=10000, help="the last epoch --far-epochs times before")
    ap.add_argument("--far-before-rev", default="304d768", help="the git revision whose loader --far-epochs times as before "
                    "(304d768: each epoch continued its reader's rounds, a chain walked from round 1)")
    ap.add_argument("--footer-check", action="store_true", help="measure what hashing a shard's footer adds to its open only")
    ap.add_argument("--footer-tokens", type=int, default=8_000_000, help="tokens of the --footer-check corpus (16 shards)")
    ap.add_argument("--footer-opens", type=int, default=2000, help="opens --footer-check times each way")
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mode:  # a child: one mode, one epoch
        print(json.dumps(run_mode(a.mode, a.dir, a.batch, a.seq_len, a.epochs)))
        return
    try:
        import torch  # noqa: F401
        modes = MODES
    except ImportError:
        modes = [m for m in MODES if not m.startswith("torch")]
    if a.share_only:
        return epoch_shares(a)
    if a.startup:
        return startup(a)
    if a.open_shards:
        return open_shards(a)
    if a.far_epochs:
        return far_epochs(a)
    if a.footer_check:
        return footer_check(a)
    with tempfile.TemporaryDirectory() as root:
        t = time.perf_counter()
        m = write_tokens(root, a.tokens)
        size = sum(s["bytes"] for s in m["shards"])
        groups = sum(len(s["row_group_tokens"]) for s in m["shards"])
        print(f"tokens: {m['tokens']['total']:,} in {m['documents']:,} documents, {len(m['shards'])} shards, {groups} row groups, "
              f"{size / 1e6:.1f} MB (written in {time.perf_counter() - t:.1f} s); batches of {a.batch} x {a.seq_len}")
        best = measure([(mode, root) for mode in modes], a)
        base = best["pyarrow"]
        print(f"{'mode':<16} {'Mtok/s':>8} {'vs pyarrow':>10} {'CPU ns/tok':>10} {'vs pyarrow':>10} {'share':>6} {'peak MB':>8} {'vs pyarrow':>10}")
        cpu = {k: r["cpu"] / r["tokens"] * 1e9 for k, r in best.items()}
        for mode in modes:
            r = best[mode]
            rate = r["tokens"] / r["wall"]
            print(f"{mode:<16} {rate / 1e6:8.1f} {rate / (base['tokens'] / base['wall']):9.2f}x {cpu[mode]:10.1f} "
                  f"{cpu[mode] / cpu['pyarrow']:9.2f}x {r['tokens'] / m['tokens']['total']:6.1%} {r['mb']:8.0f} {r['mb'] / base['mb']:9.2f}x")
    epoch_shares(a)
    # long documents (books): a reader holds a whole row group; 1,024 rows of ~30k tokens each
    # were one unit before row groups also ended at tok.ROW_GROUP_TOKENS
    with tempfile.TemporaryDirectory() as rows_only, tempfile.TemporaryDirectory() as bounded:
        for root, limit in ((rows_only, 1 << 62), (bounded, None)):
            m = write_tokens(root, a.long_tokens, shards=1, median=30_000, group_tokens=limit)
        best = measure([(f"loader@{name}", root) for name, root in (("rows_only", rows_only), ("bounded", bounded))], a)
        print(f"long documents: {m['tokens']['total']:,} tokens in {m['documents']:,} documents of ~30k tokens, 1 shard")
        for name, root in (("rows_only", rows_only), ("bounded", bounded)):
            groups = json.load(open(os.path.join(root, "tokens.json")))["shards"][0]["row_group_tokens"]
            r = best[f"loader@{name}"]
            print(f"  row groups {name:<9} {len(groups):4d}, largest {max(groups):>12,} tokens: loader {r['tokens'] / r['wall'] / 1e6:6.1f} Mtok/s, "
                  f"peak {r['mb']:5.0f} MB ({r['mb'] / best['loader@rows_only']['mb']:.2f}x)")


def whole_row_groups(units: list[int], readers: int) -> list[int]:
    """Each reader's windows when whole row groups were dealt (before ``DEAL = "window-ranges/2"``):
    largest first, each to the reader with the fewest windows so far (ties: the lowest index)."""
    import heapq

    load = [(0, r) for r in range(readers)]
    for w in sorted(units, reverse=True):
        n, r = heapq.heappop(load)
        heapq.heappush(load, (n + w, r))
    return [n for n, _ in load]


def epoch_shares(a) -> None:
    """The share of the tokens one epoch reads with 1-16 readers, on a small corpus (8 shards of
    a row group each) and a large one (64 shards): the loader (contiguous ranges of windows)
    against whole row groups dealt by size and dealt round-robin (both before, computed here), and
    how many row groups an epoch's readers open against how many there are (a row group cut by a
    range's end is read by two readers)."""
    from curate.loader import TokenLoader, deal

    for name, n_tokens, shards in (("small", a.small_tokens, 8), ("large", a.share_tokens, 64)):
        with tempfile.TemporaryDirectory() as root:
            m = write_tokens(root, n_tokens, shards=shards)
            units = [t // a.seq_len for s in m["shards"] for t in s["row_group_tokens"]]
            total, offsets = m["tokens"]["total"], np.cumsum([0, *units])
            print(f"epoch share, {name}: {total:,} tokens in {shards} shards, {len(units)} row groups, "
                  f"batches of {a.batch} x {a.seq_len}")
            for readers in (1, 2, 4, 8, 16):
                def share(windows):  # what an epoch reads: every reader what the smallest share fills
                    return f"{min(windows) // a.batch * a.batch * readers * a.seq_len / total:6.1%}"
                refused = len(units) < readers  # "N row groups cannot feed M readers"
                by_size = "refused" if refused else share(whole_row_groups(units, readers))
                now = len(TokenLoader(root, a.batch, a.seq_len, num_workers=readers)) * a.batch * a.seq_len / total
                b = deal(int(offsets[-1]), readers)
                opened = sum(np.count_nonzero((offsets[:-1] < hi) & (offsets[1:] > lo)) for lo, hi in zip(b, b[1:]))
                rr = "refused" if refused else share([sum(units[c::readers]) for c in range(readers)])
                print(f"  {readers:2d} readers: now {now:6.1%}, before {by_size} (whole row groups by size; round-robin {rr}); "
                      f"row groups opened a pass {opened / len(units):.2f}x")


def measure(jobs: list[tuple[str, str]], a) -> dict:
    """Each (mode, tokens dir) in a fresh process, ``a.repeat`` times interleaved: the least
    wall, CPU and peak PSS of each."""
    from memory import run_sampled

    best: dict = {}
    for _ in range(a.repeat):  # interleaved: a busy moment of the machine hits every mode alike
        for mode, root in jobs:
            cmd = [sys.executable, __file__, "--mode", mode.split("@")[0], "--dir", root, "--batch", str(a.batch), "--seq-len", str(a.seq_len),
                   "--epochs", str(getattr(a, "epochs", 1))]
            done, peak = run_sampled(cmd, env={**os.environ, "PYTHONPATH": str(REPO)})
            if done.returncode:
                sys.exit(f"{mode} failed:\n{done.stderr[-2000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            b = best.setdefault(mode, {**r, "mb": peak, "runs": []})
            b["runs"].append(r)
            b.update(wall=min(b["wall"], r["wall"]), cpu=min(b["cpu"], r["cpu"]), mb=min(b["mb"], peak))
    return best


if __name__ == "__main__":
    main()
