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
shuffled by the pipeline), and each unit's token stream (documents with their EOS, back to back)
into windows of seq_len tokens; a unit's last partial window is dropped, so windows never
straddle two units and a position is a window count. The windows, numbered in manifest order,
are dealt to the C = world_size * num_workers consumers (c = rank * num_workers + worker) as
contiguous ranges a window apart in size at most (``deal``: a unit cut by a range's end is read
by both). Every consumer yields the same number of batches per epoch (the smallest range's
whole batches), so an epoch reads all but fewer than C * batch_size windows; the few a
consumer's epoch leaves go round its range, so what one epoch leaves is read in the next; each
epoch after the first takes the units, and the windows in each, in an order seeded by the epoch
(made from the epoch's number alone: a resume at epoch E costs what one at epoch 1 does), no
epoch reading a window twice. Ranks step in lockstep
and a DataLoader's round-robin over workers is fixed: the rank's position is (epoch, batches
handed out this epoch), the same on every rank.

Resizing: a state saved with another world_size, num_workers or batch_size (a node lost, a job
scaled up) loads: the windows the old consumers had not read of the epoch are derived from
their count and position (the dealing is deterministic), listed consumer by consumer, and
dealt to the new consumers as contiguous parts of whole batches, the same for all (fewer than
C * batch_size windows, what is left over, go unread this epoch); nothing of the epoch is read
twice, and the next epoch is the new shape's own (a fresh one: what is left over is not carried
into it, but the new shape's epochs read every window). The state names each earlier shape of the
epoch and its batch count (``resized``), so a job can be resized again before the epoch ends.
seq_len (a position counts its windows) and the tokens cannot change.

A tokens directory is refused unless its manifest lists exactly the shard files present, with
their sizes, row counts, row groups and footer hashes (``footer_sha256``, recorded by tokenize;
``verify="sha256"`` also checks every file's checksum); a shard opened later whose footer's hash
is not the one read then (swapped since for one of the same shape) is refused.
It may be in a bucket (``gs://b/out``, ``s3://``): files are listed and opened through
``curate.output`` (pyarrow.fs), a row group's column read in ranges, never a whole shard.
"""
from __future__ import annotations

import bisect
import copy
import errno
import hashlib
import itertools
import json
import operator
import os

import numpy as np

from curate.loader_rounds import Rounds

MANIFEST = "manifest.json"
FORMAT = "curate-tokens/1"
DEAL = "window-ranges/3"  # how windows are dealt to readers (``deal``): a saved position is only valid under it
ROUNDS = "window-ranges/2"  # the earlier one: a state saved under it finishes its epoch so (``curate.loader_rounds``)
SHAPE = ("world_size", "num_workers", "batch_size")  # what a saved state may change (``load_state_dict``)
COUNTS = ("epoch", "batch", "seq_len", *SHAPE)  # a saved state's whole numbers (and each ``resized`` entry's batch and SHAPE)
# shards a reader keeps open at once (a loader playing several readers: all of them together):
# a corpus of more shards than the process may open files (1024 on Linux, 256 on macOS) was read
# until "Too many open files", blamed on a healthy shard
MAX_OPEN_SHARDS = 16
COMMIT_WAIT = 60.0  # seconds a reader waits for a commit another process holds the lock of (its renames)


class TokensError(ValueError):
    pass


class _Swapped(ValueError):
    """A shard whose footer is not the one the loader read when it opened the tokens."""


def tokens_dir(path: str) -> str:
    """DIR/tokens for a curate output DIR; a tokens directory itself as it is (a path, or a URI:
    ``curate.output`` reads either, a bucket's objects in ranges)."""
    import pyarrow.fs as pafs

    from curate import output

    sub = output.join(path, "tokens")
    return sub if output.file_type(sub) == pafs.FileType.Directory else path


def worker_start(batch: int, worker: int, num_workers: int) -> int:
    """Batches worker ``worker`` has produced once its rank handed out ``batch`` (round-robin)."""
    return max(0, -(-(batch - worker) // num_workers))


def open_tokens(path: str, verify: str = "size") -> tuple[str, dict, str, dict]:
    """(tokens dir, manifest, manifest sha256, {shard: its footer's sha256}), after checking the
    manifest against the files (no footers read with ``verify="none"``)."""
    import pyarrow.fs as pafs

    from curate import commit, output, shell
    from curate.readers.common import is_uri, read_folder

    path = read_folder(path)  # a run's --output may be a URI
    try:
        commit.reachable(path, "the loader")  # a bucket out of reach: said in seconds
    except ValueError as e:
        raise TokensError(str(e)) from None
    kind = output.file_type(path)
    if kind == pafs.FileType.File:
        raise TokensError(f"{path}: a file, not a folder: give the run's output folder (or its tokens/ folder)")
    if kind != pafs.FileType.Directory:
        raise TokensError(f"{path}: no such directory")
    name, parent = os.path.basename(path.rstrip("/")), os.path.dirname(path.rstrip("/")) or "."
    if name in (*output.KINDS, "stats") and output.file_type(output.join(parent, MANIFEST)) == pafs.FileType.File:
        # text/ was told to lack a text.json "copied without its manifest": it holds documents, not tokens
        raise TokensError(f"{path}: the output's {name}/ folder, not its tokens: give the output folder ({parent}) or its tokens/ folder")
    for root in {path, parent} if name == "tokens" else [path]:
        _complete_commit(root)
    d = tokens_dir(path)
    d = d if is_uri(d) else os.path.normpath(d)
    mpath = output.folder_manifest(d)  # tokens.json beside tokens/ (an earlier output's: tokens/manifest.json)

    root = os.path.dirname(d) if os.path.basename(d) == "tokens" else d  # the run's output (d: its tokens/, or none yet)
    kind = output.file_type(output.join(root, MANIFEST))
    finished = kind == pafs.FileType.File  # gone later: a commit under way
    if kind == pafs.FileType.NotFound and output.file_type(output.join(root, commit.STAGING)) == pafs.FileType.Directory:
        raise TokensError(f"{root}: no {MANIFEST}: a run is writing or replacing this output (or one crashed doing so): "
                          f"wait for it to finish and retry; {shell.said(f'curate audit {shell.quote(root)}', root)} says which")
    if root != d and kind == pafs.FileType.NotFound and output.file_type(output.join(root, "stats/run.json")) == pafs.FileType.File:
        # looked for again: a live run's commit that landed since the first look (its staging folder gone with it) is whole
        kind = output.file_type(output.join(root, MANIFEST))
        finished = kind == pafs.FileType.File
        if not finished:
            # a run's output without its record, no commit under way: tokens.json cannot be checked against the run's (in a
            # bucket, a process completing a commit beside another killed between deleting the new manifest and writing it back)
            raise TokensError(f"{root}: a run's output without its {MANIFEST}, and no commit under way: deleted, left out of a copy, "
                              f"or its commit cut short (docs/datapath.md), so its tokens cannot be checked against the run's record; "
                              f"copy it too (or tokens/ with tokens.json alone), rerun curate into a new --output (this one is refused "
                              f"as not curate's), or put its {MANIFEST} back")
    try:
        raw = output.read_bytes(mpath)
    except FileNotFoundError:
        name = os.path.basename(mpath)  # the folder copied alone leaves its manifest behind: say so
        raise TokensError(f"{d}: no {name} beside it: not a finished curate tokens directory (the run did not complete?), "
                          f"or one copied without its manifest: copy the run's tokens.json beside it"
                          f"{f' as {name}' if name != 'tokens.json' else ''}") from None
    if root != d:
        _check_output_lists(root, mpath, hashlib.sha256(raw).hexdigest())
    m = json.loads(raw)

    if m.get("format") == output.FORMAT:  # the output's own manifest: no tokens/ beside it
        raise TokensError(f"{path}: a curate output without tokens/: its run had no tokenize stage; "
                          "run it with tokenize among the stages")
    if m.get("format") != FORMAT:
        raise TokensError(f"{mpath}: format {m.get('format')!r}, expected {FORMAT!r}")
    if verify == "none":
        return d, m, hashlib.sha256(raw).hexdigest(), {}
    try:
        footers = _check_shards(d, m, verify)
    except TokensError:
        # a run's commit landing while the shards were checked (a rank started a moment after the others): the run's, not the shard's
        try:
            changed = output.read_bytes(mpath) != raw
        except FileNotFoundError:
            changed = True
        if changed or (finished and output.file_type(output.join(root, MANIFEST)) != pafs.FileType.File):
            raise TokensError(f"{root}: a run replaced these tokens while the loader opened them (its tokens.json changed, or "
                              f"its {MANIFEST} is gone: a commit under way): wait for the run to finish and retry") from None
        raise
    return d, m, hashlib.sha256(raw).hexdigest(), footers


def _check_shards(d: str, m: dict, verify: str) -> dict:
    """The footer hash of each shard the tokens manifest ``m`` lists, after checking the folder
    ``d`` holds exactly those, of the sizes, rows, row groups (and checksums, ``verify="sha256"``) listed."""
    import pyarrow as pa

    from curate import output

    listed = {s["file"] for s in m["shards"]}
    sizes = output.sizes(d)
    present = {f for f in sizes if f.endswith(".parquet")}
    if listed != present:
        missing, extra = sorted(listed - present), sorted(present - listed)
        what = [f"{', '.join(missing[:3])} missing"] * bool(missing) + [f"{', '.join(extra[:3])} not listed"] * bool(extra)
        raise TokensError(f"{d}: the manifest does not match the files: {'; '.join(what)}")
    footers = {}
    for s in m["shards"]:
        f = output.join(d, s["file"])
        if sizes[s["file"]] != s["bytes"]:
            raise TokensError(f"{f}: {sizes[s['file']]} bytes, the manifest says {s['bytes']}")
        if verify == "sha256":
            try:
                sha = output.sha256_file(d, s["file"])
            except FileNotFoundError:  # gone since the listing (a rerun of fewer shards deletes the others)
                raise TokensError(f"{d}: the manifest does not match the files: {s['file']} missing") from None
            if sha != s["sha256"]:
                raise TokensError(f"{f}: sha256 differs from the manifest")
        try:
            with output.open_input(f) as h:  # the footer only, in a bucket a ranged read
                md, footers[s["file"]] = _footer(h)
        except (OSError, pa.ArrowException) as e:  # a damaged footer
            raise _no_file_left(f, e) or TokensError(f"{f}: not a readable Parquet file ({str(e).splitlines()[0][:120]}): restore it from a copy or rerun curate") from None
        if md.num_rows != s["rows"] or md.num_row_groups != len(s["row_group_tokens"]):
            raise TokensError(
                f"{f}: {md.num_rows} rows in {md.num_row_groups} row groups, the manifest says {s['rows']} in {len(s['row_group_tokens'])}"
            )
        if s.get("footer_sha256", footers[s["file"]]) != footers[s["file"]]:  # a manifest from before 5 Dec has none
            raise TokensError(f"{f}: not the shard its run wrote (the size, rows and row groups the manifest gives, another footer "
                              "than its footer_sha256: replaced since, e.g. copied over from another run): put the run's shard "
                              "back, or rerun curate")
    return footers


def _footer(handle) -> tuple:
    """(metadata, sha256 of the footer's bytes) of an open Parquet file, in one read of its
    last 64 KiB (a bucket's ranged read, as pyarrow's own; a longer footer, a second). The hash
    tells a shard from another of the same size, rows and row groups: the footer holds each
    column chunk's compressed size, offsets and min/max, which other tokens change."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate import output

    size = handle.size()
    tail = handle.read_at(min(size, 1 << 16), size - min(size, 1 << 16))
    n = output.footer_size(tail)
    if len(tail) < n <= size:
        tail = handle.read_at(n, size - n)
    footer = tail[-n:] if n else tail
    return pq.read_metadata(pa.BufferReader(footer)), hashlib.sha256(footer).hexdigest()


def _complete_commit(root: str) -> None:
    """Complete a commit of ``root`` that was decided and stopped midway (its journal there), as
    every read of an output does: a few renames. One another process is completing (a DataLoader
    worker, another rank) or a live run is making (its renames) is waited for, up to COMMIT_WAIT
    (then its holder named), and completed here if that process dies midway; a read-only mount
    is told the command that completes it, unless its manifest is there: a commit not begun or
    with only its staging folder's removal left (a power cut may bring back the journal of a
    finished one), whose output is whole."""
    import time

    import pyarrow.fs as pafs

    from curate import commit, output

    journal = output.join(root, f"{commit.STAGING}/{commit.JOURNAL}")
    if output.file_type(journal) != pafs.FileType.File:
        return
    deadline = time.monotonic() + COMMIT_WAIT
    while True:  # again and again: the holder may die midway (its lock freed, the journal left)
        try:
            commit.recover(root)
            return
        except commit.Held:
            pass
        except OSError as e:
            if output.file_type(output.join(root, MANIFEST)) == pafs.FileType.File:  # a commit's first step deletes it
                return
            raise TokensError(commit.stopped_midway(root, "the loader", e)) from None
        except ValueError:  # a journal not curate's: said later (no manifest)
            return
        time.sleep(0.05)
        # watched, not locked: it deletes the lock's folder; till the journal is gone, not the lock (a run beginning takes it)
        while commit.held(root) and output.file_type(journal) == pafs.FileType.File and time.monotonic() < deadline:
            time.sleep(0.05)
        if output.file_type(journal) != pafs.FileType.File:
            return
        if time.monotonic() >= deadline:
            holder = commit._holder(commit.lock_file(root))
            raise TokensError(f"{root}: a run's commit stopped midway is being completed by another process{holder} for over "
                              f"{COMMIT_WAIT:.0f} s (or a run is replacing this output): wait for it to end and retry")


def _check_output_lists(root: str, mpath: str, sha256: str) -> None:
    """The tokens manifest must be the one its run wrote: the output's manifest.json holds its
    sha256 (a tokens folder standing alone is taken as it is)."""
    from curate import output

    try:
        out = json.loads(output.read_bytes(output.join(root, MANIFEST)))
    except (OSError, ValueError):
        return
    if not isinstance(out, dict):
        return
    rel = os.path.relpath(mpath, root).replace(os.sep, "/")
    listed = {e["file"]: e.get("sha256") for e in out.get("files", []) if isinstance(e, dict) and "file" in e}
    if listed.get(rel) not in (None, sha256):
        raise TokensError(f"{mpath}: not the one the run wrote (its sha256 is not the one {output.join(root, MANIFEST)} lists): "
                          "restore it from a copy or rerun curate")


def _no_file_left(path: str, e: BaseException) -> TokensError | None:
    """The error for a shard that could not be opened because the process (EMFILE) or the
    system (ENFILE) has no file descriptor left: the limit, not the shard, is to blame."""
    if getattr(e, "errno", None) not in (errno.EMFILE, errno.ENFILE):
        return None
    try:
        import resource

        limit = f" (its limit {resource.getrlimit(resource.RLIMIT_NOFILE)[0]:,})"
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        limit = ""
    who = "the system has" if e.errno == errno.ENFILE else f"this process has{limit}"
    return TokensError(f"{path}: cannot be opened: {who} too many files open: raise the limit (ulimit -n 4096 before "
                       f"starting) or open fewer files beside the loader, which keeps at most {MAX_OPEN_SHARDS} shards "
                       "open per process (a DataLoader worker is a process)")


def rewritten(d: str) -> TokensError:
    """The error for tokens whose manifest changed under a loader (or a dataset) that opened them."""
    return TokensError(f"{d}: rewritten since this loader opened them (a rerun into the same output?): a position is only valid "
                       "in the tokens it was read from: start from a fresh loader, or train from a copy of the output a rerun "
                       "cannot replace")


def check_tokenizer(d: str, made: dict, expected: str) -> None:
    """Refuse tokens made with another tokenizer than ``expected`` (a tiktoken encoding name,
    or a tokenizer.json path, compared by its sha256)."""
    from curate.stages.tokenize import _is_hf, _sha256_file, encoding_name, file_here, in_folder

    if _is_hf(expected):
        if os.path.isdir(expected):
            raise TokensError(f"tokenizer: {expected} is a folder{in_folder(expected)}")
        if not os.path.isfile(expected):
            raise TokensError(f"tokenizer: file not found: {expected}")
        sha = _sha256_file(expected)
        same, named = made.get("kind") == "huggingface" and made.get("sha256") == sha, f"{expected} (sha256 {sha[:12]})"
    else:
        expected = encoding_name(expected)  # the bundled copy is the encoding (tokenize.same_tokenizer's rule)
        same, named = made.get("kind") == "tiktoken" and encoding_name(made.get("name")) == expected, expected
    if not same and not _is_hf(expected) and file_here(expected):  # a bare name is an encoding's, as config.load reads it
        raise TokensError(f"{d}: tokenizer {expected!r} is read as a tiktoken encoding's name, not a path{file_here(expected)}")
    if not same:
        vocab = made.get("vocab_size")
        what = f"{made.get('kind')}, vocab {vocab:,}" if isinstance(vocab, int) else made.get("kind")
        sha = f", sha256 {made['sha256'][:12]}" if made.get("kind") == "huggingface" and made.get("sha256") else ""
        raise TokensError(f"{d}: tokenized with {made.get('name')} ({what}, EOS {made.get('eos_id')}{sha}), not {named}: "
                          f"load it with the tokenizer it was made with, or rerun curate with tokenize.tokenizer = \"{expected}\"")


def deal(windows: int, readers: int) -> list[int]:
    """Where each reader's windows start (and, last, where they end), the ``windows`` whole
    windows of every unit numbered in manifest order: each reader a contiguous range, the
    ranges differing by one window at most, so an epoch (what the smallest fills) reads all
    but fewer than ``readers`` x ``batch_size`` windows, however few the units. A unit cut by
    a range's end is read by both readers. (Whole row groups, dealt largest first to the
    reader with the fewest windows, left shares apart by up to a row group: an epoch of 8
    readers on 8 row groups read 86-92% of the windows of two small corpora, 62% of another,
    and fewer row groups than readers were refused.)"""
    return [c * windows // readers for c in range(readers + 1)]


class _Streams:
    """The order in which each of ``readers`` readers of batches of ``batch_size`` reads its
    windows, epoch after epoch (``_epoch``): epoch e reads its range but for k windows (what is
    over its whole batches: fewer than a batch and one), which go round the range, a block of k
    consecutive windows each epoch, back from its end, so what one epoch leaves the next reads.
    Epoch 0 reads in manifest order (the pipeline's shuffle), each later one takes the units,
    and the windows in each, in an order seeded by the epoch. Each epoch's order is made from its
    number alone, so reaching epoch E costs what one epoch does. Window ids are global:
    numbered through every unit's whole windows in manifest order."""

    def __init__(self, offsets: np.ndarray, readers: int, batch_size: int, seed: int):
        self.offsets, self.seed = offsets, seed & (2**64 - 1)  # a negative tokenize.seed is valid
        self.bounds = deal(int(offsets[-1]), readers)
        self.steps = (self.bounds[1] - self.bounds[0]) // batch_size  # the smallest share: the first
        self.per_epoch = self.steps * batch_size  # windows each reader reads an epoch
        self._epochs: dict = {}  # reader -> (epoch, its order): the last one made

    def windows(self, c: int, start: int, stop: int):
        """Reader ``c``'s windows at positions ``start`` to ``stop`` of its stream (epoch e at
        e * per_epoch to (e + 1) * per_epoch), as arrays (an epoch's part each)."""
        S = self.per_epoch
        while start < stop and S:
            e, skip = divmod(start, S)
            take = min(S - skip, stop - start)
            yield self.bounds[c] + self._epoch(c, e)[skip : skip + take]
            start += take

    def _epoch(self, c: int, e: int) -> np.ndarray:
        """The order of the ``per_epoch`` windows reader ``c`` reads in epoch ``e`` (numbered
        through its range). Of its ``total`` windows, the k = total - per_epoch it leaves are
        positions total - (e + 1) k to total - e k, round the range: two epochs in a row leave
        no window both (2 k <= total: k is at most a batch, and per_epoch at least one), and
        epoch 0 reads the first per_epoch in manifest order, as the pipeline shuffled them.
        (Until DEAL window-ranges/3 an epoch continued the reader's stream of rounds, each round
        ordered by which windows the last one put last: a chain, epoch E cost E steps to find.)"""
        made = self._epochs.get(c)
        if made is not None and made[0] == e:
            return made[1]
        starts, sizes = self._units(c)
        total = int(sizes.sum())
        k = total - self.per_epoch
        if e == 0:
            order = np.arange(self.per_epoch)
        else:
            rng = np.random.default_rng([self.seed, c, e])
            rank = rng.permutation(len(sizes))
            order = np.lexsort((rng.random(total), np.repeat(rank, sizes)))  # units by drawn rank, windows by drawn number
            keep = np.ones(total, bool)
            keep[(-(e + 1) * k % total + np.arange(k)) % total] = False  # the block this epoch leaves (Python ints: any epoch)
            order = order[keep[order]]
        self._epochs[c] = (e, order)
        return order

    def _units(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(first window, window count) of each unit's part in reader ``c``'s range, numbered through the range."""
        lo, hi = self.bounds[c], self.bounds[c + 1]
        sizes = np.diff(np.clip(self.offsets, lo, hi))
        sizes = sizes[sizes > 0]
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64), sizes


class _RoundStreams(Rounds, _Streams):
    """ROUNDS' order: only for the rest of the epoch a state saved under it was in (``TokenLoader._deal``)."""


def _close(files: dict) -> None:
    """Close a reader's open shards (``_read_unit``'s ``files``)."""
    for _, handle in files.values():
        handle.close()
    files.clear()


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


def _whole(what: str, v) -> int:
    """A saved state's count as a Python int: a numpy integer or a 0-d integer array or tensor
    (a state round-tripped through numpy or torch) too; floats, bools and strings are refused."""
    try:
        if isinstance(v, bool) or getattr(v, "ndim", 0) or "bool" in str(getattr(v, "dtype", "")):
            raise TypeError  # operator.index takes True, torch.tensor(True) and a 1-element tensor
        return operator.index(v)
    except TypeError:
        raise ValueError(f"loader state: {what} {v!r} ({type(v).__name__}) is not a whole number: pass the values state_dict() "
                         "returned (ints; numpy integers and 0-d integer arrays or tensors do too)") from None


def _epoch_number(who: str, epoch) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"{who}.set_epoch: expected an epoch number 0, 1, 2, ..., got {epoch!r}")
    return int(epoch)


def _part(segments: list[tuple], readers: int, batch_size: int) -> int:
    """Windows each of ``readers`` readers takes of what the segments hold: whole batches, the same for all."""
    return sum(b - a for _, a, b in segments) // (readers * batch_size) * batch_size


def _cut(segments: list[tuple], start: int, stop: int, ends: list[int] | None = None) -> list[tuple]:
    """Positions ``start`` to ``stop`` of the windows the segments (reader, from, to) list one
    after another (``ends``: where each ends, for many cuts of the same segments)."""
    ends = list(itertools.accumulate(b - a for _, a, b in segments)) if ends is None else ends
    out, i = [], bisect.bisect_right(ends, start)
    while i < len(segments) and start < stop:
        c, a, b = segments[i]
        at = ends[i] - (b - a)  # where segment i starts
        lo, hi = a + max(0, start - at), min(b, a + stop - at)
        if lo < hi:
            out.append((c, lo, hi))
        start, i = ends[i], i + 1
    return out


def bad_argument(**kw) -> str | None:
    """The first loader argument (batch_size, seq_len, world_size, num_workers, rank) that is not
    what it takes, said: one message of them all ('bad loader arguments: ...') named none, and a
    string was a TypeError of '>='."""
    def whole(v) -> int | None:  # _whole's reading (numpy ints, 0-d arrays or tensors; no bool), None where it refuses
        try:
            return _whole("", v)
        except ValueError:
            return None

    for name in ("batch_size", "seq_len", "world_size", "num_workers"):
        n, least = whole(kw[name]), 2 if name == "seq_len" else 1
        if n is None or n < least:  # a window of 1 token is an input with no label to train it on
            why = " (a window's inputs are its tokens but the last, its labels all but the first)" if least == 2 else ""
            return f"{name}: expected a whole number >= {least}{why}, got {kw[name]!r}"
    rank, world = whole(kw["rank"]), whole(kw["world_size"])
    if rank is None or not 0 <= rank < world:
        return f"rank: expected 0 .. world_size - 1 (0 .. {world - 1}), got {kw['rank']!r}"
    return None


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
        self._open(path, batch_size, seq_len, rank=rank, world_size=world_size, num_workers=num_workers, worker=worker,
                   verify=verify, dtype=dtype, tokenizer=tokenizer, called="TokenLoader")

    @classmethod
    def _made_by(cls, called: str, *args, **kw) -> "TokenLoader":
        """A TokenLoader made for the class the user called (TokenDataset, TokenDataLoader), which its
        errors name: not an argument of TokenLoader's own (help() and a TypeError showed it)."""
        loader = cls.__new__(cls)
        loader._open(*args, **kw, called=called)
        return loader

    def _open(self, path, batch_size, seq_len, *, rank, world_size, num_workers, worker=None, verify="size", dtype=np.int64,
              tokenizer=None, called):
        import pyarrow.fs as pafs

        from curate import output

        self.dir, self.manifest, self.manifest_sha256, self._footers = open_tokens(path, verify)
        m = self.manifest
        # the shards' footers as opened (None: not read, verify="none"), saved with a position: a resume in shards
        # swapped since (the manifest as it was) is refused as a running loader's next open refuses one
        self._footprint = hashlib.sha256(json.dumps(sorted(self._footers.items())).encode()).hexdigest() if self._footers else None
        if tokenizer is not None:  # the model's own: tokens made with another are refused
            check_tokenizer(self.dir, m["tokenizer"], tokenizer)
        if seq_len is None:
            if not m["packed"]:
                raise ValueError("seq_len: required for unpacked tokens (packed ones default to their rows, seq_len + 1)")
            seq_len = m["seq_len"] + 1
        bad = bad_argument(batch_size=batch_size, seq_len=seq_len, world_size=world_size, num_workers=num_workers, rank=rank)
        if bad:
            raise ValueError(f"{called}: {bad}")  # the class the user called (TokenDataset makes a TokenLoader)
        self.path, self.batch_size, self.seq_len, self.dtype = path, batch_size, seq_len, dtype
        self.eos_id = m["tokenizer"].get("eos_id")  # what ends each document (None: no EOS); see document_positions
        self.rank, self.world_size, self.num_workers, self.worker = rank, world_size, num_workers, worker
        self._units = [(s["file"], g, t) for s in m["shards"] for g, t in enumerate(s["row_group_tokens"])]
        self._shards = {s["file"]: s for s in m["shards"]}
        root = os.path.dirname(self.dir) if os.path.basename(self.dir) == "tokens" else None  # the run's output, if any
        self._output = root and output.join(root, MANIFEST)  # its manifest.json: gone while a commit replaces the output
        if self._output and output.file_type(self._output) != pafs.FileType.File:
            self._output = None
        self._offsets = np.concatenate([[0], np.cumsum([t // seq_len for _, _, t in self._units])]).astype(np.int64)
        consumers = world_size * num_workers
        self._shapes: dict = {}
        self._deal = DEAL  # the epoch in progress's order: ROUNDS for the rest of one a state saved so was in
        self.steps = self._streams(consumers, batch_size).steps  # batches per reader per epoch, equal for all
        if self.steps == 0:
            tokens, largest = sum(t for _, _, t in self._units), max((t for _, _, t in self._units), default=0)
            # windows never cross a row group's end: row groups shorter than seq_len (a small corpus cut into many shards)
            # make none, however many tokens there are in all
            why = (f" (windows do not cross row groups, the largest of which holds {largest:,} tokens: the {tokens:,} tokens in all "
                   f"would make {tokens // seq_len:,}; fewer token shards make larger row groups)"
                   if tokens // seq_len >= consumers * batch_size else "")  # only where they are why
            raise ValueError(f"{self.dir}: {self._offsets[-1]:,} windows of {seq_len} tokens, too few for one batch of "
                             f"{batch_size} per reader ({consumers} readers: world_size x num_workers){why}: use fewer readers, "
                             "a smaller batch_size or seq_len, or more tokens")
        self.epoch = 0
        self.batch = 0  # batches this rank handed out in this epoch
        self.resized: list[dict] = []  # the shapes that read earlier parts of this epoch (``load_state_dict``)

    def _streams(self, readers: int, batch_size: int) -> _Streams:
        key = (readers, batch_size, self._deal)
        if key not in self._shapes:
            kind = _RoundStreams if self._deal == ROUNDS else _Streams
            self._shapes[key] = kind(self._offsets, readers, batch_size, self.manifest.get("seed") or 0)
        return self._shapes[key]

    def _left(self, resized: list[dict]) -> tuple[_Streams, list[tuple]]:
        """What this epoch has left after the shapes in ``resized`` read their batches: (the
        first one's streams, segments (reader, from, to) of them). Its readers' unread parts of
        the epoch, reader by reader, then each later shape's readers' unread parts of theirs
        (and the windows it could not deal: fewer than one batch each), in the same way."""
        first = resized[0]
        s = self._streams(first["world_size"] * first["num_workers"], first["batch_size"])
        e, S, B, W = self.epoch, s.per_epoch, first["batch_size"], first["num_workers"]
        left = [(c, e * S + worker_start(first["batch"], c % W, W) * B, (e + 1) * S) for c in range(len(s.bounds) - 1)]
        for shape in resized[1:]:
            C, B, W = shape["world_size"] * shape["num_workers"], shape["batch_size"], shape["num_workers"]
            N, ends = _part(left, C, B), list(itertools.accumulate(b - a for _, a, b in left))
            left = [seg for c in range(C) for seg in _cut(left, c * N + worker_start(shape["batch"], c % W, W) * B, (c + 1) * N, ends)] \
                + _cut(left, C * N, ends[-1] if ends else 0, ends)
        return s, left

    def _epoch_steps(self, resized: list[dict], readers: int, batch_size: int) -> int:
        """Batches per reader in this epoch for ``readers`` readers of ``batch_size`` after ``resized``."""
        if not resized:
            return self._streams(readers, batch_size).steps
        return _part(self._left(resized)[1], readers, batch_size) // batch_size

    def __len__(self) -> int:
        """Batches the next pass hands out: the rest of the epoch in progress from this loader's
        position (after a resume, and after a resize, what is left of it; at an epoch's start,
        all of it: ``batches_per_epoch``), so ``len(loader) == len(list(loader))``."""
        return self._epoch_batches() - self.batch

    def _epoch_batches(self) -> int:
        """Batches the epoch in progress hands out in all (after a resize: since it)."""
        steps = self._epoch_steps(self.resized, self.world_size * self.num_workers, self.batch_size)
        return steps * (1 if self.worker is not None else self.num_workers)

    @property
    def batches_per_epoch(self) -> int:
        """Batches a whole epoch of this shape hands out (each epoch after a resized one too): with
        ``len``, what an LR schedule is planned by (steps taken + len + epochs left x this)."""
        return self.steps * (1 if self.worker is not None else self.num_workers)

    def _reader(self, worker: int, start: int, files: dict | None = None):
        """One reader's batches from its batch index ``start`` to the end of the epoch; ``files``:
        the open shards it shares with the other readers of this process (their owner closes them)."""
        self.check_unchanged()  # each epoch (and resume) opens the shards afresh
        c, B = self.rank * self.num_workers + worker, self.batch_size
        if self.resized:  # the epoch's rest, each reader a part
            s, left = self._left(self.resized)
            N = _part(left, self.world_size * self.num_workers, B)
            segments = _cut(left, c * N + start * B, (c + 1) * N)
        else:
            # A reader holds more windows than the steps * B an epoch takes from it: the few an
            # epoch leaves go round its range (``_Streams._epoch``), so the next epoch reads them.
            s = self._streams(self.world_size * self.num_workers, B)
            segments = [(c, (self.epoch * s.steps + start) * B, (self.epoch + 1) * s.per_epoch)]
        own = files is None
        files = {} if own else files  # file -> (ParquetFile, handle): at most MAX_OPEN_SHARDS open
        try:
            yield from self._batches(s, segments, files)
        finally:
            if own:
                _close(files)

    def _batches(self, s: _Streams, segments: list[tuple], files: dict):
        """The batches of the windows ``segments`` list, units read through ``files`` (open shards)."""
        L, B = self.seq_len, self.batch_size
        counts, offsets = np.diff(self._offsets), self._offsets
        buf, held = [], (None, None)
        for ids in (ids for seg in segments for ids in s.windows(*seg)):
            unit = np.searchsorted(offsets, ids, side="right") - 1
            cuts = np.flatnonzero(np.diff(unit)) + 1
            for run, u in zip(np.split(ids, cuts), unit[np.concatenate([[0], cuts])]):
                if held[0] != u:  # a unit's windows, read once per run of them
                    flat = self._read_unit(files, *self._units[u])
                    held = (u, flat[: counts[u] * L].reshape(counts[u], L))
                buf.append(held[1][run - offsets[u]])
                while sum(len(b) for b in buf) >= B:
                    rows = np.concatenate(buf) if len(buf) > 1 else buf[0]
                    yield rows[:B].astype(self.dtype)
                    buf = [rows[B:]] if len(rows) > B else []

    def check_unchanged(self) -> None:
        """Refuse tokens rewritten since this loader read their manifest, or being rewritten (a
        commit under way deletes its output's manifest.json first): its positions belong to those tokens."""
        import pyarrow.fs as pafs

        from curate import output

        try:
            now = hashlib.sha256(output.read_bytes(output.folder_manifest(self.dir))).hexdigest()
        except FileNotFoundError:
            now = None
        if now != self.manifest_sha256 or (self._output and output.file_type(self._output) != pafs.FileType.File):
            raise rewritten(self.dir)

    def _read_unit(self, files: dict, file: str, group: int, tokens: int) -> np.ndarray:
        """One row group's token stream, its pages' CRCs checked: a shard damaged since the
        manifest was written (same size) is an error naming it, never other tokens."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from curate import output

        path = output.join(self.dir, file)
        try:
            if file not in files:  # in a bucket, each row group's column is one ranged read
                if len(files) >= MAX_OPEN_SHARDS:  # the one read longest ago is closed (a dict keeps insertion order)
                    files.pop(next(iter(files)))[1].close()
                handle = output.open_input(path)
                md, footer = _footer(handle)
                files[file] = (pq.ParquetFile(handle, metadata=md, page_checksum_verification=True), handle)
                shard = self._shards[file]
                if (handle.size(), md.num_rows, md.num_row_groups) != (shard["bytes"], shard["rows"], len(shard["row_group_tokens"])):
                    # a shard replaced since the loader opened the tokens (a rerun's commit) would be read as if it were the
                    # one listed, where a row group's token count matches (each full one of a packed corpus)
                    raise ValueError(f"{handle.size()} bytes, {md.num_rows} rows in {md.num_row_groups} row groups, the manifest "
                                     f"says {shard['bytes']}, {shard['rows']} in {len(shard['row_group_tokens'])}")
                if self._footers.setdefault(file, footer) != footer:  # the same shape, other tokens: only its footer tells
                    raise _Swapped()
            files[file] = files.pop(file)  # the most recently read last
            flat = pc.list_flatten(files[file][0].read_row_group(group, columns=["input_ids"]).column(0)).to_numpy()
            if len(flat) != tokens:
                raise ValueError(f"{len(flat)} tokens, the manifest says {tokens}")
        except (OSError, ValueError, pa.ArrowException) as e:
            if _no_file_left(path, e) is None:
                self.check_unchanged()  # a rerun replacing the output (its commit under way, or done) is said as such
            if isinstance(e, _Swapped):
                raise TokensError(f"{path}: not the shard this loader opened (the same size, rows and row groups, another footer: "
                                  "replaced since, e.g. copied over): a position is only valid in the tokens it was read from: "
                                  "put the shard back, or start from a fresh loader") from None
            raise _no_file_left(path, e) or TokensError(f"{path}: row group {group} is damaged ({str(e).splitlines()[0][:120]}): restore it from a copy "
                              "or rerun curate; verify=\"sha256\" checks every shard's checksum before training") from None
        return flat

    def __iter__(self):
        W, n = self.num_workers, self.batch
        if self.worker is not None:  # one DataLoader worker: its own reader; batch counts its own
            for b in self._reader(self.worker, n):
                self.batch += 1
                yield b
        else:
            files: dict = {}  # the open shards, shared by the readers: MAX_OPEN_SHARDS in all, not each
            try:
                readers = [self._reader(w, worker_start(n, w, W), files) for w in range(W)]
                for i in range(n, self._epoch_batches()):
                    b = next(readers[i % W])
                    self.batch += 1
                    yield b
            finally:
                _close(files)
        self.next_epoch()

    def next_epoch(self) -> None:
        self.epoch, self.batch, self.resized, self._deal = self.epoch + 1, 0, [], DEAL

    def set_epoch(self, epoch: int) -> None:
        """The next iteration reads epoch ``epoch``: from where this loader stopped when it is in
        that epoch already (a loaded state, a loop that left early), else from its first batch.
        As DistributedSampler's, call it at the top of each epoch's loop; a loop that reads an
        epoch to its end still moves on to the next one, as ``state_dict`` then says."""
        epoch = _epoch_number(type(self).__name__, epoch)
        if epoch != self.epoch:
            self.epoch, self.batch, self.resized, self._deal = epoch, 0, [], DEAL

    def _identity(self) -> dict:
        return {"manifest_sha256": self.manifest_sha256, "batch_size": self.batch_size, "seq_len": self.seq_len,
                "rank": self.rank, "world_size": self.world_size, "num_workers": self.num_workers, "deal": self._deal}

    def state_dict(self) -> dict:
        """Where this rank is: (epoch, batch) and the shape it counts in; ``resized``: the shapes
        that read earlier parts of this epoch, with their batch counts (a few numbers each)."""
        worker = {"worker": self.worker} if self.worker is not None else {}
        footers = {"footers_sha256": self._footprint} if self._footprint else {}
        return {"epoch": self.epoch, "batch": self.batch, **self._identity(), **footers, **worker,
                "resized": [dict(r) for r in self.resized]}

    def _sha256_before_footers(self) -> str | None:
        """The sha256 of this tokens.json as a curate before 5 Dec wrote it, without each shard's
        footer_sha256: a state saved in it was saved in these very tokens (each shard's sha256,
        size and rows are in it), which a rerun of the same config by this curate rewrote identical."""
        from curate import output

        if not any("footer_sha256" in s for s in self.manifest["shards"]):
            return None
        shards = [{k: v for k, v in s.items() if k != "footer_sha256"} for s in self.manifest["shards"]]
        return hashlib.sha256(output.json_bytes({**self.manifest, "shards": shards})).hexdigest()

    def load_state_dict(self, state: dict) -> None:
        """Continue where ``state`` (any rank's: ranks step in lockstep) stopped. Saved with
        another world_size, num_workers or batch_size, the rest of its epoch is dealt out to
        this shape's readers (nothing read twice, fewer than readers x batch_size windows left
        unread) and later epochs are this shape's own, fresh ones (what was left over is not
        carried into the next); seq_len and the tokens may not change."""
        mine = self._identity()
        # the corpus was rerun; no legacy hash (None: no footer_sha256 to leave out) matches a state naming no tokens
        if state.get("manifest_sha256") not in {mine["manifest_sha256"], self._sha256_before_footers()} - {None}:
            raise ValueError(
                f"loader state: saved for other tokens (manifest sha256 {str(state.get('manifest_sha256'))[:12]}) than {self.path} "
                f"holds now ({mine['manifest_sha256'][:12]}): the output was rewritten since (a rerun, shards added); a position "
                "is only valid in the tokens it was saved with: keep those to resume, or start from a fresh loader")
        if state.get("footers_sha256") and self._footprint and state["footers_sha256"] != self._footprint:
            # shards copied over since it was saved, the tokens manifest left as it was (the check a running loader makes at each open)
            raise ValueError("loader state: saved in shards whose footers are not these (a shard replaced since, e.g. copied over, "
                             "keeping its size, rows and row groups): a position is only valid in the tokens it was saved with: "
                             "put the shards back, or start from a fresh loader")
        if "deal" not in state:
            raise ValueError("loader state: saved by a curate that dealt row groups to readers round-robin; this one deals "
                             "each reader a range of windows, so that position means other windows here: "
                             "resume with the curate that saved it, or start the data from a fresh loader")
        if state["deal"] not in (DEAL, ROUNDS):
            raise ValueError(f"loader state: saved by a curate that dealt whole row groups to readers ({state['deal']}); this "
                             f"one deals each reader a range of windows ({DEAL}), so that position means other windows here: "
                             "resume with the curate that saved it, or start the data from a fresh loader")
        # plain ints from here on (what state_dict() saves must stay JSON)
        state = {**state, **{k: _whole(k, state.get(k)) for k in COUNTS},
                 **({"worker": _whole("worker", state["worker"])} if state.get("worker") is not None else {}),
                 "resized": [{k: _whole(f"resized[{i}].{k}", r.get(k)) for k in (*SHAPE, "batch")}
                             for i, r in enumerate(state.get("resized", []))]}
        if state["epoch"] < 0:  # its order's seed would fail at the first batch, inside numpy
            raise ValueError(f"loader state: epoch {state['epoch']} is negative: pass the values state_dict() returned")
        if state.get("seq_len") != self.seq_len:
            raise ValueError(f"loader state: saved with seq_len {state.get('seq_len')}, this loader has {self.seq_len}: a position "
                             "counts windows of seq_len tokens, so it cannot move to another: resume with seq_len="
                             f"{state.get('seq_len')} (world_size, num_workers and batch_size may change)")
        shape = {k: state.get(k) for k in SHAPE}
        own = {k: mine[k] for k in SHAPE}
        if (self.worker, state.get("worker")) != (None, None) and (state.get("worker"), shape) != (self.worker, own):
            raise ValueError(f"loader state: saved by worker {state.get('worker')} of {shape}, loaded into worker {self.worker} of "
                             f"{own}: a worker's position only resumes that worker; save and load the rank's state "
                             "(a TokenLoader without worker=, or TokenDataLoader)")
        resized = state["resized"]
        for i, r in enumerate([*resized, {**shape, "batch": state.get("batch")}]):
            n = self._epoch_steps(resized[:i], r["world_size"] * r["num_workers"], r["batch_size"]) * r["num_workers"]
            if not 0 <= r["batch"] <= n:
                raise ValueError(f"loader state: batch {r['batch']} outside 0..{n} (world_size {r['world_size']}, "
                                 f"num_workers {r['num_workers']}, batch_size {r['batch_size']})")
        batch = state["batch"]
        if shape != own:  # resized: the rest of the epoch goes to this shape
            resized += [{**shape, "batch": batch}] if batch else []
            batch = 0
        # a state of the earlier order (ROUNDS, a job mid-run that upgraded curate): the rest of its epoch read as that
        # loader would have (its rounds walked once, for this epoch only); the epochs after it are DEAL's
        self.epoch, self.batch, self.resized, self._deal = state["epoch"], batch, resized, state["deal"]


# --- PyTorch (imported only when used) ---------------------------------------------------


def _make_dataset_class():
    import torch

    class TokenDataset(torch.utils.data.IterableDataset):
        """An IterableDataset of int64 tensors ``[batch, seq_len]``; each DataLoader worker
        reads its own part. Use with ``DataLoader(ds, batch_size=None, num_workers=...)``."""

        def __init__(self, path, batch_size, seq_len=None, *, rank=0, world_size=1, num_workers=0, start=(0, 0, []), verify="size",
                     tokenizer=None, manifest_sha256=None, deal=None):
            self._setup(path, batch_size, seq_len, rank=rank, world_size=world_size, num_workers=num_workers, start=start,
                        verify=verify, tokenizer=tokenizer, manifest_sha256=manifest_sha256, deal=deal, opened=None)

        @classmethod
        def _over(cls, opened, **kw):
            """A dataset of the loader ``opened`` (TokenDataLoader's: the same arguments): not an argument
            of TokenDataset's own, which help() and a misspelt keyword's TypeError showed."""
            ds = cls.__new__(cls)
            ds._setup(opened.path, opened.batch_size, opened.seq_len, rank=opened.rank, world_size=opened.world_size,
                      **kw, opened=opened)
            return ds

        def _setup(self, path, batch_size, seq_len, *, rank, world_size, num_workers, start=(0, 0, []), verify="size",
                   tokenizer=None, manifest_sha256=None, deal=None, opened):
            super().__init__()
            # The tokens opened once, here (a bad directory is refused here, not in a worker; ``opened``:
            # TokenDataLoader's loader of them, the same arguments): each worker starts from its copy of
            # this dataset, and a persistent one keeps it from epoch to epoch, so an epoch reads no
            # manifest and deals no windows again, and makes only its own order.
            try:  # DataLoader's reading: 0 reads in the main process (one reader), as 1 does
                workers = _whole("", num_workers)
            except ValueError:
                workers = None
            if workers is None or workers < 0:
                raise ValueError(f"TokenDataset: num_workers: expected a whole number >= 0 (0: read in the main process), "
                                 f"got {num_workers!r}")
            self.loader = opened or TokenLoader._made_by("TokenDataset", path, batch_size, seq_len, rank=rank,
                                                          world_size=world_size, num_workers=max(1, workers), verify=verify,
                                                          tokenizer=tokenizer)
            self.sha256 = self.loader.manifest_sha256  # the tokens its positions belong to
            # a saved state's hash: these tokens', or (saved before tokens.json had footer_sha256) theirs without it, as load_state_dict takes
            if manifest_sha256 not in {None, self.sha256, self.loader._sha256_before_footers()}:
                raise TokensError(f"TokenDataset: manifest_sha256 {str(manifest_sha256)[:12]}: other tokens than {self.loader.dir} "
                                  f"holds ({self.sha256[:12]}): the output was rewritten since (a rerun, shards added); a position "
                                  "is only valid in the tokens it was saved with: keep those to resume, or start from a fresh loader")
            self.start = start  # (epoch, batches handed out, the shapes that read earlier parts of the epoch)
            try:  # plain ints (a state round-tripped through torch or numpy); a negative epoch failed in a worker, in numpy
                self.start = (*(_whole("start", v) for v in start[:2]), *start[2:])
                if self.start[0] < 0 or len(self.start) < 2:
                    raise ValueError
            except (ValueError, TypeError, KeyError):
                raise ValueError(f"TokenDataset: start={start!r}: expected (epoch, batch) of a saved state, epoch 0, 1, 2, ...") from None
            if deal is not None:  # a saved state's ``deal``: ROUNDS (an earlier curate's) holds for start's epoch
                if deal not in (DEAL, ROUNDS):
                    raise ValueError(f"TokenDataset: deal {deal!r}: a state's deal this curate resumes is {DEAL!r} or {ROUNDS!r}")
                self.loader._deal = deal
            # Epochs each worker began, in shared memory: a DataLoader's workers (fresh each epoch,
            # or persistent) hold copies of this dataset, so a plain attribute would start every
            # epoch from ``start`` again; each worker counts only its own slot.
            self.epochs = torch.zeros(self.loader.num_workers, dtype=torch.int64).share_memory_()
            # The epoch set_epoch named (-1: none), shared too: a persistent worker's copy sees it.
            self.pinned = torch.full((1,), -1, dtype=torch.int64).share_memory_()

        def set_epoch(self, epoch: int) -> None:
            """Every iteration from now on reads epoch ``epoch`` (from ``start``'s batch when it is
            ``start``'s epoch), as many times as it is iterated (a train loop and an eval loop, a
            ``list(ds)`` to count), instead of moving on to the next epoch each time: as
            DistributedSampler's ``set_epoch``, call it at the top of each epoch's loop."""
            epoch = _epoch_number("TokenDataset", epoch)
            if epoch >= 2**63:  # shared with the workers in an int64 tensor (TokenLoader takes any)
                raise ValueError(f"TokenDataset.set_epoch: epoch {epoch} is past 2**63 - 1, the most its workers share; "
                                 "start=(epoch, batch) takes any")
            self.pinned[0] = epoch

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            readers = info.num_workers if info is not None else 1
            if readers != self.loader.num_workers:
                # the windows are dealt to the dataset's num_workers readers: fewer DataLoader workers read only some
                # readers' parts (an epoch of half the windows, silently), more had a worker fail on a reader not there
                raise ValueError(f"TokenDataset: made with num_workers={self.loader.num_workers}, iterated by a DataLoader with "
                                 f"{info.num_workers if info is not None else 0} workers: each worker reads its own part of the "
                                 "windows, so give both the same num_workers (or use TokenDataLoader, which does)")
            epoch, batch, resized = (*self.start, [])[:3]  # (epoch, batch): as saved before resizing
            slot = info.id if info is not None else 0
            pinned = int(self.pinned[0])
            if pinned >= 0:
                if pinned != epoch:  # another epoch than the one started at: from its start
                    epoch, batch, resized = pinned, 0, []
            else:  # each iteration the next epoch: the workers count the epochs they began
                done, self.epochs[slot] = int(self.epochs[slot]), int(self.epochs[slot]) + 1
                if done:  # a later epoch than the one started at: from its start
                    epoch, batch, resized = epoch + done, 0, []
            W = self.loader.num_workers
            # a fresh DataLoader asks worker 0 first, so worker 0 plays the reader whose turn is next
            worker = ((info.id if info is not None else 0) + batch) % W
            loader = copy.copy(self.loader)  # its own position; the deal and the orders made are shared
            loader.worker, loader.epoch, loader.batch, loader.resized = worker, epoch, worker_start(batch, worker, W), list(resized)
            if epoch != self.start[0]:  # an earlier order (a state saved under ROUNDS) holds for its own epoch only
                loader._deal = DEAL
            for b in loader:
                yield torch.from_numpy(b)

    # curate.loader.TokenDataset to pickle, which a DataLoader does to hand the dataset to workers it starts with
    # spawn or forkserver (macOS' and Windows' start method, and Linux's from Python 3.14)
    TokenDataset.__module__, TokenDataset.__qualname__ = __name__, "TokenDataset"
    return TokenDataset


def __getattr__(name):
    if name == "TokenDataset":  # created on first use so that importing curate.loader never imports torch
        cls = _make_dataset_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def _check_dataloader_kwargs(num_workers: int, kwargs: dict) -> None:
    """Torch's refusal of a DataLoader keyword (misspelt, prefetch_factor or persistent_workers
    without workers), said when a TokenDataLoader is made: its DataLoader is made at the first
    iteration, after the model is loaded. One over no windows checks them (no worker started)."""
    import torch

    class NoWindows(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(())

    try:
        torch.utils.data.DataLoader(NoWindows(), batch_size=None, num_workers=num_workers, **kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"TokenDataLoader: {' '.join(str(e).split())}") from None


class TokenDataLoader:
    """A torch DataLoader over ``TokenDataset`` that counts the batches it hands out, so
    ``state_dict()`` / ``load_state_dict()`` resume exactly (or, saved with another world_size,
    num_workers or batch_size, deal out the rest of the epoch: ``TokenLoader.load_state_dict``).
    Other keywords go to the DataLoader, checked by it at construction (``drop_last`` aside: every
    batch is whole; ``shuffle``, ``sampler`` and ``batch_sampler`` refused: the loader orders the windows); with ``persistent_workers=True`` one DataLoader (and its
    workers) serves epoch after epoch, a new one made only to start elsewhere."""

    def __init__(self, path, batch_size, seq_len=None, *, rank=0, world_size=1, num_workers=0, verify="size", tokenizer=None,
                 **dataloader_kwargs):
        for key in ("shuffle", "sampler", "batch_sampler"):  # torch refuses them for an IterableDataset, at the first batch
            if dataloader_kwargs.get(key) not in (None, False):
                raise ValueError(f"TokenDataLoader: {key} is not taken: the loader deals the windows to ranks and workers and "
                                 "orders them itself (the pipeline's shuffle, then an order seeded by each pass): leave it out")
        dataloader_kwargs.pop("drop_last", None)  # every batch is whole: nothing to drop (torch refuses it beside batch_size=None)
        _check_dataloader_kwargs(num_workers, dataloader_kwargs)
        self.loader = TokenLoader._made_by("TokenDataLoader", path, batch_size, seq_len, rank=rank, world_size=world_size,
                                           num_workers=max(1, num_workers), verify=verify, tokenizer=tokenizer)
        self.num_workers, self.kwargs = num_workers, dataloader_kwargs
        self.eos_id = self.loader.eos_id
        self._kept = None  # (epoch its next iteration starts, DataLoader): persistent_workers keeps one across epochs

    def __len__(self):
        return len(self.loader)

    @property
    def batches_per_epoch(self) -> int:
        return self.loader.batches_per_epoch

    def __iter__(self):
        import torch

        lo = self.loader
        kept, self._kept = self._kept, None
        if kept is not None and (kept[0], 0, []) == (lo.epoch, lo.batch, lo.resized):
            dl = kept[1]  # its workers' dataset goes on to the next epoch itself (TokenDataset counts them)
        else:  # the first epoch, or another position (a loop that stopped mid-epoch, a loaded state): start there
            ds = __getattr__("TokenDataset")._over(lo, num_workers=self.num_workers, start=(lo.epoch, lo.batch, lo.resized))
            dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=self.num_workers, **self.kwargs)
        for b in dl:
            lo.batch += 1
            yield b
        lo.next_epoch()
        if self.kwargs.get("persistent_workers") and self.num_workers:  # kept only once an epoch ran to its end
            self._kept = (lo.epoch, dl)

    def set_epoch(self, epoch: int) -> None:
        """``TokenLoader.set_epoch``: the next iteration reads epoch ``epoch``."""
        _epoch_number("TokenDataLoader", epoch)
        self.loader.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state)
