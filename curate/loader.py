"""Stream DIR/tokens/ into a training loop: ``[batch, seq_len]`` arrays, sharded, resumable.

    from curate.loader import TokenLoader
    loader = TokenLoader("corpus/", batch_size=8, seq_len=1025, rank=rank, world_size=world)
    for batch in loader:                # numpy int64 [8, 1025]; x, y = batch[:, :-1], batch[:, 1:]
        ...
        state = loader.state_dict()     # later: loader.load_state_dict(state) continues exactly there
        doc, pos = document_positions(batch, loader.eos_id)  # per-document attention masks, position ids

With PyTorch installed, ``TokenDataLoader`` does the same through ``torch.utils.data.DataLoader``
workers (each worker reads its own part) and ``TokenDataset`` is the ``IterableDataset``.

The work is cut into *units*, the row groups of the token shards (the rows are already globally
shuffled by the pipeline). They are dealt to the C = world_size * num_workers consumers (c = rank
* num_workers + worker) by their windows, largest first, each to the consumer with the fewest
(``deal``); a consumer takes its units in manifest order and cuts each unit's token stream
(documents with their EOS, back to back) into windows of seq_len tokens; a unit's last partial
window is dropped, so windows never straddle two units and a position is a window count.
Every consumer yields the same number of batches per epoch (the smallest any of them can fill);
each epoch continues a consumer's stream where the last one stopped (round its units), so what
one epoch leaves is read in the next; each round after the first takes the units, and the
windows in each, in an order seeded by the round, no epoch reading a window twice. Ranks step
in lockstep and a DataLoader's round-robin over workers is fixed: the rank's position is
(epoch, batches handed out this epoch).

A tokens directory is refused unless its manifest lists exactly the shard files present, with
their sizes, row counts and row groups (``verify="sha256"`` also checks every file's checksum).
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

MANIFEST = "manifest.json"
FORMAT = "curate-tokens/1"
DEAL = "by-windows/1"  # how row groups are dealt to readers (``deal``): a saved position is only valid under it


class TokensError(ValueError):
    pass


def tokens_dir(path: str) -> str:
    """DIR/tokens for a curate output DIR; a tokens directory itself as it is."""
    sub = os.path.join(path, "tokens")
    return sub if os.path.isdir(sub) else path


def worker_start(batch: int, worker: int, num_workers: int) -> int:
    """Batches worker ``worker`` has produced once its rank handed out ``batch`` (round-robin)."""
    return max(0, -(-(batch - worker) // num_workers))


def open_tokens(path: str, verify: str = "size") -> tuple[str, dict, str]:
    """(tokens dir, manifest, manifest sha256), after checking the manifest against the files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.readers.common import local_folder

    try:
        path = local_folder(path, "the loader")  # a run's --output may be a URI
    except ValueError as e:
        raise TokensError(str(e)) from None
    if os.path.isfile(path):
        raise TokensError(f"{path}: a file, not a folder: give the run's output folder (or its tokens/ folder)")
    if not os.path.isdir(path):
        raise TokensError(f"{path}: no such directory")
    d = os.path.normpath(tokens_dir(path))
    mpath = os.path.join(d, MANIFEST)
    from curate import commit, output

    root = os.path.dirname(d) if os.path.basename(d) == "tokens" else d  # the run's output (d: its tokens/, or none yet)
    if not os.path.exists(os.path.join(root, MANIFEST)) and os.path.isdir(os.path.join(root, commit.STAGING)):
        raise TokensError(f"{root}: no {MANIFEST}: a run is writing or replacing this output (or one crashed doing so): "
                          f"wait for it to finish and retry; curate audit {root} says which")
    try:
        raw = open(mpath, "rb").read()
    except FileNotFoundError:
        raise TokensError(f"{d}: no {MANIFEST}: not a finished curate tokens directory (the run did not complete?)") from None
    if root != d:
        _check_output_lists(root, mpath, hashlib.sha256(raw).hexdigest())
    m = json.loads(raw)

    if m.get("format") == output.FORMAT:  # the output's own manifest: no tokens/ beside it
        raise TokensError(f"{path}: a curate output without tokens/: its run had no tokenize stage; "
                          "run it with tokenize among the stages")
    if m.get("format") != FORMAT:
        raise TokensError(f"{mpath}: format {m.get('format')!r}, expected {FORMAT!r}")
    if verify == "none":
        return d, m, hashlib.sha256(raw).hexdigest()
    listed = {s["file"] for s in m["shards"]}
    present = {f for f in os.listdir(d) if f.endswith(".parquet")}
    if listed != present:
        missing, extra = sorted(listed - present), sorted(present - listed)
        what = [f"{', '.join(missing[:3])} missing"] * bool(missing) + [f"{', '.join(extra[:3])} not listed"] * bool(extra)
        raise TokensError(f"{d}: the manifest does not match the files: {'; '.join(what)}")
    for s in m["shards"]:
        f = os.path.join(d, s["file"])
        if os.path.getsize(f) != s["bytes"]:
            raise TokensError(f"{f}: {os.path.getsize(f)} bytes, the manifest says {s['bytes']}")
        if verify == "sha256":
            if output.sha256_file(d, s["file"]) != s["sha256"]:
                raise TokensError(f"{f}: sha256 differs from the manifest")
        try:
            md = pq.read_metadata(f)
        except (OSError, pa.ArrowException) as e:  # a damaged footer
            raise TokensError(f"{f}: not a readable Parquet file ({str(e).splitlines()[0][:120]}): restore it from a copy or rerun curate") from None
        if md.num_rows != s["rows"] or md.num_row_groups != len(s["row_group_tokens"]):
            raise TokensError(
                f"{f}: {md.num_rows} rows in {md.num_row_groups} row groups, the manifest says {s['rows']} in {len(s['row_group_tokens'])}"
            )
    return d, m, hashlib.sha256(raw).hexdigest()


def _check_output_lists(root: str, mpath: str, sha256: str) -> None:
    """The tokens manifest must be the one its run wrote: the output's manifest.json holds its
    sha256 (a tokens folder standing alone is taken as it is)."""
    try:
        with open(os.path.join(root, MANIFEST), "rb") as f:
            out = json.load(f)
    except (OSError, ValueError):
        return
    if not isinstance(out, dict):
        return
    rel = os.path.relpath(mpath, root).replace(os.sep, "/")
    listed = {e["file"]: e.get("sha256") for e in out.get("files", []) if isinstance(e, dict) and "file" in e}
    if listed.get(rel) not in (None, sha256):
        raise TokensError(f"{mpath}: not the one the run wrote (its sha256 is not the one {os.path.join(root, MANIFEST)} lists): "
                          "restore it from a copy or rerun curate")


def check_tokenizer(d: str, made: dict, expected: str) -> None:
    """Refuse tokens made with another tokenizer than ``expected`` (a tiktoken encoding name,
    or a tokenizer.json path, compared by its sha256)."""
    from curate.stages.tokenize import _is_hf, _sha256_file

    if _is_hf(expected):
        if not os.path.isfile(expected):
            raise TokensError(f"tokenizer: file not found: {expected}")
        sha = _sha256_file(expected)
        same, named = made.get("kind") == "huggingface" and made.get("sha256") == sha, f"{expected} (sha256 {sha[:12]})"
    else:
        expected = expected.removesuffix("_offline")
        same, named = made.get("kind") == "tiktoken" and made.get("name") == expected, expected
    if not same:
        vocab = made.get("vocab_size")
        what = f"{made.get('kind')}, vocab {vocab:,}" if isinstance(vocab, int) else made.get("kind")
        sha = f", sha256 {made['sha256'][:12]}" if made.get("kind") == "huggingface" and made.get("sha256") else ""
        raise TokensError(f"{d}: tokenized with {made.get('name')} ({what}, EOS {made.get('eos_id')}{sha}), not {named}: "
                          f"load it with the tokenizer it was made with, or rerun curate with tokenize.tokenizer = \"{expected}\"")


def deal(units: list[tuple], readers: int, seq_len: int) -> list[list[tuple]]:
    """Each reader's units, (file, row group, tokens), in manifest order: dealt by their windows,
    largest first, each to the reader with the fewest so far (ties: the lowest index), so the
    readers' shares are nearly equal and an epoch, which takes from every reader what the
    smallest share fills, reads nearly every window. (Dealt round-robin, shards of a full row
    group and a small last one gave an even number of readers half the small ones: an epoch
    read a fifth of the tokens.)"""
    import heapq

    load, mine = [(0, r) for r in range(readers)], [[] for _ in range(readers)]
    for i in sorted(range(len(units)), key=lambda i: (-(units[i][2] // seq_len), i)):
        n, r = heapq.heappop(load)
        mine[r].append(i)
        heapq.heappush(load, (n + units[i][2] // seq_len, r))
    return [[units[i] for i in sorted(m)] for m in mine]


def document_positions(tokens: np.ndarray, eos_id: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(document index, position in its document) of every token of a ``[batch, seq]`` array
    of packed documents, for attention masks that keep documents apart and position ids that
    restart with each (an EOS ends its own document; a row's first token starts one, which
    may be a document's middle). Without an EOS (``eos = ""``) every row is one document."""
    tokens = np.asarray(tokens)
    n, m = tokens.shape
    starts = np.zeros((n, m), dtype=bool)
    starts[:, 0] = True
    if eos_id is not None:
        starts[:, 1:] = tokens[:, :-1] == eos_id
    doc = np.cumsum(starts, axis=1) - 1
    col = np.broadcast_to(np.arange(m), (n, m))
    pos = col - np.maximum.accumulate(np.where(starts, col, 0), axis=1)
    return doc, pos


class TokenLoader:
    """This rank's batches, as numpy arrays ``[batch_size, seq_len]``.

    ``num_workers`` is how many readers share the rank (DataLoader workers); with ``worker``
    None the loader plays all of them itself, round-robin, exactly as a DataLoader would.
    ``tokenizer`` (the model's: a tiktoken name or a tokenizer.json path) refuses tokens made
    with another.
    """

    def __init__(self, path: str, batch_size: int, seq_len: int | None = None, *, rank: int = 0, world_size: int = 1,
                 num_workers: int = 1, worker: int | None = None, verify: str = "size", dtype=np.int64,
                 tokenizer: str | None = None):
        self.dir, self.manifest, self.manifest_sha256 = open_tokens(path, verify)
        m = self.manifest
        if tokenizer is not None:  # the model's own: tokens made with another are refused
            check_tokenizer(self.dir, m["tokenizer"], tokenizer)
        if seq_len is None:
            if not m["packed"]:
                raise ValueError("seq_len: required for unpacked tokens (packed ones default to their rows, seq_len + 1)")
            seq_len = m["seq_len"] + 1
        if not (batch_size >= 1 and seq_len >= 1 and 0 <= rank < world_size and num_workers >= 1):
            raise ValueError(
                f"bad loader arguments: batch_size={batch_size} seq_len={seq_len} rank={rank}/{world_size} num_workers={num_workers}"
            )
        self.path, self.batch_size, self.seq_len, self.dtype = path, batch_size, seq_len, dtype
        self.eos_id = m["tokenizer"].get("eos_id")  # what ends each document (None: no EOS); see document_positions
        self.rank, self.world_size, self.num_workers, self.worker = rank, world_size, num_workers, worker
        units = [(s["file"], g, t) for s in m["shards"] for g, t in enumerate(s["row_group_tokens"])]
        consumers = world_size * num_workers
        if len(units) < consumers:
            raise ValueError(
                f"{self.dir}: {len(units)} row groups cannot feed {consumers} readers (world_size x num_workers): "
                "run with more token shards (tokenize.shards, 0 = run.shards)"
            )
        self._units = deal(units, consumers, seq_len)
        windows = [sum(t // seq_len for _, _, t in u) for u in self._units]
        self.steps = min(windows) // batch_size  # batches per reader per epoch, equal for all
        if self.steps == 0:
            raise ValueError(f"{self.dir}: too few tokens for one batch of {batch_size} x {seq_len} per reader ({consumers} readers)")
        self.epoch = 0
        self.batch = 0  # batches this rank handed out in this epoch

    def __len__(self) -> int:
        return self.steps * (1 if self.worker is not None else self.num_workers)

    def _reader(self, worker: int, start: int):
        """One reader's batches from its batch index ``start`` to the end of the epoch."""
        self.check_unchanged()  # each epoch (and resume) opens the shards afresh
        c = self.rank * self.num_workers + worker
        units, L, B = self._units[c], self.seq_len, self.batch_size
        # A reader holds more windows than the steps * B an epoch takes from it: each epoch
        # continues where the last one stopped, going round its units, so those wait for the
        # next epoch instead of never being read. Each round after the first takes the windows
        # in another order (``_round``): a second pass does not repeat the first's batches.
        counts = np.array([t // L for _, _, t in units])
        offsets, total = np.concatenate([[0], np.cumsum(counts)]), int(counts.sum())
        pos, left, buf, files, held = (self.epoch * self.steps + start) * B, (self.steps - start) * B, [], {}, (None, None)
        rnd, skip = divmod(pos, total)
        while left > 0:  # left <= total: this round and at most the next
            take = min(total - skip, left)
            ids = self._round(c, rnd, counts)[skip : skip + take]
            unit = np.searchsorted(offsets, ids, side="right") - 1
            cuts = np.flatnonzero(np.diff(unit)) + 1
            for run, u in zip(np.split(ids, cuts), unit[np.concatenate([[0], cuts])]):
                if held[0] != u:  # a unit's windows, read once per run of them
                    flat = self._read_unit(files, *units[u])
                    held = (u, flat[: counts[u] * L].reshape(counts[u], L))
                buf.append(held[1][run - offsets[u]])
                while sum(len(b) for b in buf) >= B:
                    rows = np.concatenate(buf) if len(buf) > 1 else buf[0]
                    yield rows[:B].astype(self.dtype)
                    buf = [rows[B:]] if len(rows) > B else []
            left, rnd, skip = left - take, rnd + 1, 0

    def check_unchanged(self, sha256: str | None = None) -> None:
        """Refuse tokens rewritten since this loader (or the one whose ``sha256`` is given)
        read their manifest: its positions belong to those tokens."""
        try:
            with open(os.path.join(self.dir, MANIFEST), "rb") as f:
                now = hashlib.sha256(f.read()).hexdigest()
        except FileNotFoundError:
            now = None
        if now != (sha256 or self.manifest_sha256):
            raise TokensError(f"{self.dir}: rewritten since this loader opened them (a rerun into the same output?): a position "
                              "is only valid in the tokens it was read from: start from a fresh loader, or train from a copy "
                              "of the output a rerun cannot replace")

    def _read_unit(self, files: dict, file: str, group: int, tokens: int) -> np.ndarray:
        """One row group's token stream, its pages' CRCs checked: a shard damaged since the
        manifest was written (same size) is an error naming it, never other tokens."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        path = os.path.join(self.dir, file)
        try:
            if file not in files:
                files[file] = pq.ParquetFile(path, page_checksum_verification=True)
            flat = pc.list_flatten(files[file].read_row_group(group, columns=["input_ids"]).column(0)).to_numpy()
            if len(flat) != tokens:
                raise ValueError(f"{len(flat)} tokens, the manifest says {tokens}")
        except (OSError, ValueError, pa.ArrowException) as e:
            raise TokensError(f"{path}: row group {group} is damaged ({str(e).splitlines()[0][:120]}): restore it from a copy "
                              "or rerun curate; verify=\"sha256\" checks every shard's checksum before training") from None
        return flat

    def _round(self, c: int, rnd: int, counts: np.ndarray) -> np.ndarray:
        """The order of reader ``c``'s windows (numbered through its units) in round ``rnd``.

        Round 0 is the units' own order (the pipeline's shuffle). Each later round draws units,
        and windows in each, in an order seeded by the round, except that an epoch spanning the
        end of the last round and the start of this one must not read a window twice: the
        windows that epoch read at the end of the last round come last in this one."""
        total, S = int(counts.sum()), self.steps * self.batch_size
        cache = self.__dict__.setdefault("_rounds", {})  # reader -> (round, its order): the last one made
        r, order = cache.get(c, (0, None))
        if r > rnd or order is None:
            r, order = 0, np.arange(total)
        unit = np.repeat(np.arange(len(counts)), counts)
        while r < rnd:  # each round is made from the one before it
            r += 1
            rng = np.random.default_rng([(self.manifest.get("seed") or 0) & (2**64 - 1), c, r])
            group = np.zeros(total, dtype=np.int8)
            tail = r * total % S  # what the epoch across the boundary read of the last round
            if tail:
                read = order[total - tail :]
                group[np.isin(unit, unit[read])] = 1  # units it read from: after the others
                group[read] = 2  # the windows it read: last
            rank = rng.permutation(len(counts))[unit]
            order = np.lexsort((rng.random(total), rank, group))
        cache[c] = (rnd, order)
        return order

    def __iter__(self):
        W, n = self.num_workers, self.batch
        if self.worker is not None:  # one DataLoader worker: its own reader; batch counts its own
            for b in self._reader(self.worker, n):
                self.batch += 1
                yield b
        else:
            readers = [self._reader(w, worker_start(n, w, W)) for w in range(W)]
            for i in range(n, W * self.steps):
                b = next(readers[i % W])
                self.batch += 1
                yield b
        self.epoch, self.batch = self.epoch + 1, 0

    def _identity(self) -> dict:
        return {"manifest_sha256": self.manifest_sha256, "batch_size": self.batch_size, "seq_len": self.seq_len,
                "rank": self.rank, "world_size": self.world_size, "num_workers": self.num_workers, "deal": DEAL}

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch, **self._identity()}

    def load_state_dict(self, state: dict) -> None:
        mine = self._identity()
        if state.get("manifest_sha256") != mine["manifest_sha256"]:  # the likely case: the corpus was rerun
            raise ValueError(
                f"loader state: saved for other tokens (manifest sha256 {str(state.get('manifest_sha256'))[:12]}) than {self.path} "
                f"holds now ({mine['manifest_sha256'][:12]}): the output was rewritten since (a rerun, shards added); a position "
                "is only valid in the tokens it was saved with: keep those to resume, or start from a fresh loader")
        if "deal" not in state:
            raise ValueError("loader state: saved by a curate that dealt row groups to readers round-robin; this one deals "
                             "them by size (an epoch reads nearly every window), so that position means other windows here: "
                             "resume with the curate that saved it, or start the data from a fresh loader")
        diff = [k for k in mine if state.get(k) != mine[k]]
        if diff:
            diffs = ", ".join(f"{k}: {state.get(k)!r} != {mine[k]!r}" for k in diff)
            raise ValueError(f"loader state does not match this loader ({diffs})")
        if not 0 <= state["batch"] <= len(self):
            raise ValueError(f"loader state: batch {state['batch']} outside 0..{len(self)}")
        self.epoch, self.batch = state["epoch"], state["batch"]


# --- PyTorch (imported only when used) ---------------------------------------------------


def _make_dataset_class():
    import torch

    class TokenDataset(torch.utils.data.IterableDataset):
        """An IterableDataset of int64 tensors ``[batch, seq_len]``; each DataLoader worker
        reads its own part. Use with ``DataLoader(ds, batch_size=None, num_workers=...)``."""

        def __init__(self, path, batch_size, seq_len=None, *, rank=0, world_size=1, num_workers=0, start=(0, 0), verify="size",
                     tokenizer=None, manifest_sha256=None):
            super().__init__()
            self.args = dict(path=path, batch_size=batch_size, seq_len=seq_len, rank=rank, world_size=world_size,
                             num_workers=max(1, num_workers))
            probe = TokenLoader(**self.args, verify=verify, tokenizer=tokenizer)  # refuse a bad directory here, not in a worker
            self.sha256 = manifest_sha256 or probe.manifest_sha256  # the tokens its positions belong to
            self.start = start

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            epoch, batch = self.start
            W = self.args["num_workers"]
            # a fresh DataLoader asks worker 0 first, so worker 0 plays the reader whose turn is next
            worker = ((info.id if info is not None else 0) + batch) % W
            loader = TokenLoader(**self.args, worker=worker, verify="none")
            loader.check_unchanged(self.sha256)  # a worker opens the tokens afresh each epoch
            loader.epoch, loader.batch = epoch, worker_start(batch, worker, W)
            for b in loader:
                yield torch.from_numpy(b)

    TokenDataset.__module__ = __name__
    return TokenDataset


def __getattr__(name):
    if name == "TokenDataset":  # created on first use so that importing curate.loader never imports torch
        cls = _make_dataset_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


class TokenDataLoader:
    """A torch DataLoader over ``TokenDataset`` that counts the batches it hands out, so
    ``state_dict()`` / ``load_state_dict()`` resume exactly (same num_workers)."""

    def __init__(self, path, batch_size, seq_len=None, *, rank=0, world_size=1, num_workers=0, verify="size", tokenizer=None,
                 **dataloader_kwargs):
        self.loader = TokenLoader(path, batch_size, seq_len, rank=rank, world_size=world_size, num_workers=max(1, num_workers),
                                  verify=verify, tokenizer=tokenizer)
        self.num_workers, self.kwargs = num_workers, dataloader_kwargs
        self.eos_id = self.loader.eos_id

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        import torch

        lo = self.loader
        ds = __getattr__("TokenDataset")(lo.path, lo.batch_size, lo.seq_len, rank=lo.rank, world_size=lo.world_size,
                                         num_workers=self.num_workers, start=(lo.epoch, lo.batch), verify="none",
                                         manifest_sha256=lo.manifest_sha256)
        for b in torch.utils.data.DataLoader(ds, batch_size=None, num_workers=self.num_workers, **self.kwargs):
            lo.batch += 1
            yield b
        lo.epoch, lo.batch = lo.epoch + 1, 0

    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state)
