"""Reading for the audit: a Parquet/JSONL corpus or a curate output, file by file, into
``Partial`` statistics (curate/audit/stats.py), and the summary of a curate output (funnel,
checks, domain mix)."""
from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import re
import tempfile

import polars as pl
import pyarrow.fs as pafs

from curate import commit, output, schema, shell
from curate.audit.stats import BATCH_ROWS, EXAMPLES, FORMAT, HOST_RE, LANGUAGE_FIELDS, Partial, TEXT_FIELDS, URL_FIELDS
from curate.readers import _SUFFIXES, jsonl, same_data, unpacked_name
from curate.readers.common import Limits, copy_there, decompress_command, is_file_uri, is_uri, name_utf8, plain_name, read_folder
from curate.readers.decompress import CorruptData, unreadable


def _field(schema_: pl.Schema, dotted: str) -> pl.Expr | None:
    """An expression for a (dotted, nested) field, or None when the schema lacks it."""
    head, *rest = dotted.split(".")
    if head not in schema_:
        return None
    expr, typ = pl.col(head), schema_[head]
    for part in rest:
        if not isinstance(typ, pl.Struct) or part not in {f.name for f in typ.fields}:
            return None
        typ = next(f.dtype for f in typ.fields if f.name == part)
        expr = expr.struct.field(part)
    return expr


def _first(schema_: pl.Schema, names) -> tuple[str, pl.Expr] | tuple[None, None]:
    for n in names:
        e = _field(schema_, n)
        if e is not None:
            return n, e
    return None, None


def host_expr(url: pl.Expr) -> pl.Expr:
    h = url.str.extract(HOST_RE, 1).str.to_lowercase().str.strip_suffix(".").str.replace(r"^www\.", "")
    return pl.when(h != "").then(h)


def _batches(lf: pl.LazyFrame):
    yield from lf.collect_batches(chunk_size=BATCH_ROWS, maintain_order=True, engine="streaming")  # deterministic sums


def scan_parquet(path: str) -> pl.LazyFrame:
    """A Parquet file, its name taken as it is (polars would read "[", "*", "?" as a glob). One in
    a bucket is read through pyarrow.fs (the endpoints and credentials curate uses to write it):
    its footer, then only the columns (and, by their statistics, row groups) a query asks for."""
    if not is_uri(path):
        return pl.scan_parquet(path, glob=False)
    import pyarrow.dataset as ds

    fs, p = output._fs(path)
    return pl.scan_pyarrow_dataset(ds.dataset(p, filesystem=fs, format="parquet"))


def where(root: str) -> str:
    """How a summary names an output: its absolute path, or its URI."""
    return root if is_uri(root) else os.path.abspath(root)


JSONL = tuple(s for s, f in _SUFFIXES if f == "jsonl")  # curate run's names, one list (two drifted: .json.zst, .ndjson.zst)


def _scan(path: str, infer: int | None = 1000, given: str | None = None, in_place: bool = False) -> pl.LazyFrame:
    """One file, its name taken as it is (polars would read "[", "*", "?" as a glob). ``given``:
    the file as the user gave it, where ``path`` is a bucket file's local copy; ``in_place``: a
    file of a folder or glob, whose original the user moves away once decompressed (common.MOVE_AWAY)."""
    name = path.lower()
    if name.endswith(".parquet"):
        return scan_parquet(path)
    if name.endswith(JSONL):
        return pl.scan_ndjson(glob.escape(path), infer_schema_length=infer)  # scan_ndjson has no glob=False
    raise ValueError(_refused(path, given, in_place))


def _refused(path: str, given: str | None = None, in_place: bool = False) -> str | None:
    """Why the audit does not read a file (_scan's arguments), in one line saying what to do; None
    for a Parquet or JSONL name."""
    from curate.readers.common import not_read_as_is

    if path.lower().endswith((".parquet", *JSONL)):
        return None
    try:  # a .parquet.gz, a .jsonl.bz2 / .xz / .lz4: named as curate run names it (its copy beside it too)
        other = not_read_as_is(path, "--corpus", in_place, given)
    except OSError:
        other = None
    return other or f"{given or path}: not a Parquet or JSONL file (.parquet, .jsonl[.gz|.zst], .json[.gz|.zst], .ndjson[.gz|.zst])"


def doc_frame(lf: pl.LazyFrame, text=None, url=None, language=None, domain: str = "corpus", where: str = "") -> tuple[pl.LazyFrame, dict]:
    """The normalized columns the audit reads (domain, language, host, chars and the stage columns).

    Field arguments are a name, a list of candidates or None (the usual names); dotted
    names reach into nested objects (``metadata.url``). Returns the frame and the fields used.
    """
    sch = lf.collect_schema()
    as_list = lambda v, d: d if v is None else ([v] if isinstance(v, str) else list(v))  # noqa: E731
    tname, texpr = _first(sch, as_list(text, TEXT_FIELDS))
    if texpr is None:
        raise ValueError(f"{where}no text field: none of {as_list(text, TEXT_FIELDS)} is present (columns: {', '.join(sch.names())}); use --text-field")
    uname, uexpr = _first(sch, as_list(url, URL_FIELDS))
    lname, lexpr = _first(sch, as_list(language, LANGUAGE_FIELDS))
    cols = [
        (pl.col("domain").cast(pl.String) if "domain" in sch else pl.lit(domain)).alias("domain"),
        (lexpr.cast(pl.String) if lexpr is not None else pl.lit(None, pl.String)).alias("language"),
        (pl.col("source").cast(pl.String) if "source" in sch else pl.lit(None, pl.String)).alias("source"),
        (host_expr(uexpr.cast(pl.String)) if uexpr is not None else pl.lit(None, pl.String)).alias("host"),
        texpr.cast(pl.String).str.len_chars().cast(pl.Int64).fill_null(0).alias("chars"),
    ]
    for col, name in (("num_tokens", "tokens"), ("repeat", "repeat"), ("quality_score", "quality"), ("dup_group_size", "dup"),
                      ("linededup_lines", "ld_lines"), ("linededup_chars", "ld_chars")):
        if col in sch:
            cols.append(pl.col(col).cast(pl.Float64 if name == "quality" else pl.Int64).alias(name))
    if _is_edits(sch.get("edits")):  # what stages changed inside kept documents (outputs before 2026-12-05 lack it)
        cols.append(pl.col("edits"))
    return lf.select(cols), {"text": tname, "url": uname, "language": lname, "domain": "domain" if "domain" in sch else domain}


def _is_edits(dtype) -> bool:
    """Is this curate's ``edits`` column (a list of stage, rule, count, chars, ...)? Another
    corpus's field of that name (audited with --corpus) is not read as one."""
    inner = getattr(dtype, "inner", None)
    return isinstance(inner, pl.Struct) and {"stage", "rule", "count", "chars"} <= {f.name for f in inner.fields}


def audit_files(files: list[str], partial: Partial, listed: frozenset = frozenset(), **fields) -> dict:
    """Add the documents of every file to ``partial``, one streamed file at a time; ``listed``:
    those a folder or glob gave (a hint to decompress one replaces it, else it is listed again).

    Returns the fields used (of the last file). A JSONL file whose schema changes after the
    first lines is read again with the schema inferred from all of it.
    """
    from curate.readers import all_refused

    refused = [(f, f, why) for f in files if not is_uri(f) and (why := _refused(f, f, f in listed))]
    if refused:  # every file to fix in one line, not one audit a file (a bucket's is looked at once copied here)
        raise ValueError(all_refused(refused))
    used = {}
    for f in files:
        with _readable(f, f in listed) as (path, as_read, folder):
            read, infer, checked, finite, empty = path, 1000, False, False, {}
            while True:
                one = Partial(partial.examples_k)
                try:
                    frame, used = doc_frame(_scan(read, infer, f, f in listed), where=f"{f}: ", **fields)
                    for b in _batches(frame):
                        one.add_docs(b)
                    break
                except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as e:  # a SchemaError named no file
                    if f.lower().endswith(".parquet"):
                        raise _unreadable(f, e) from None
                    if not checked:  # a comment line, a line-start BOM: polars stops at either; read as curate run does
                        checked, again = True, as_read()
                        if again != read:
                            read = again
                            continue
                    if read not in empty and not finite:  # once a file (a finite copy holds a record)
                        empty[read] = _no_records(read)
                    if empty.get(read):  # polars cannot infer a schema from nothing
                        break
                    # a line polars cannot parse (a NaN: "TapeError") stops it whatever the schema: not read again to infer it
                    if infer is None or "TapeError" in str(e):
                        again = None if finite else _finite_copy(read, f, folder)
                        if again is None:
                            try:
                                bad = None if is_uri(f) else _bad_line(f)
                            except Exception:  # noqa: BLE001 - not decoded a second time (cut short): polars' error stands
                                bad = None
                            if bad:  # polars' "Syntax at character 0" named no line
                                raise ValueError(f"{name_utf8(f)}: line {bad[0]} is not JSON ({bad[1]}): a damaged or truncated "
                                                 "line; fix or remove it (curate run quarantines it as bad_json)") from None
                            raise _unreadable(f, e) from None
                        read, finite = again, True
                        continue
                    infer = None
        partial.merge(one)
    return used


@contextlib.contextmanager
def _readable(path: str, in_place: bool = False):
    """(where to read ``path``, ``as_read``, ``folder``: see _as_read): itself, or a bucket's JSONL file copied
    to a temporary folder (polars would read it with its own object store, which knows neither
    curate's endpoints, STORAGE_EMULATOR_HOST, nor a percent-encoded name); Parquet is read in
    place (scan_parquet). A local file whose name is not UTF-8 (``caf\\xe9.jsonl``) is read through
    a link named in UTF-8: polars takes UTF-8 names alone (it raised a TypeError, "Object does
    not have a .read() method", a traceback)."""
    if not is_uri(path) and not _is_utf8(path):
        with tempfile.TemporaryDirectory(prefix="curate-audit-") as tmp:
            local = os.fsencode(os.path.basename(path)).decode("utf-8", "replace")  # its suffix kept
            while len(local.encode("utf-8")) > 200:  # a byte is U+FFFD's three: 206 bytes of name made 606, over 255
                local = local[len(local) // 4:]
            local = os.path.join(tmp, local)
            os.symlink(os.path.abspath(path), local)
            with _as_read(local, path, in_place) as got:
                yield got
        return
    if not is_uri(path) or path.lower().endswith(".parquet"):
        with _as_read(path, path, in_place) as got:
            yield got
        return
    with tempfile.TemporaryDirectory(prefix="curate-audit-") as tmp:
        local = os.path.join(tmp, os.path.basename(output._fs(path)[1]))  # its name: polars reads .gz, .zst by it
        _copy(path, local)
        with _as_read(local, path, in_place) as got:
            yield got


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a byte os.fsdecode made a surrogate
        return False


@contextlib.contextmanager
def _as_read(path: str, name: str, in_place: bool = False):
    """(the file to read, ``as_read()``: the file to read once polars has stopped at a line,
    ``folder()``: a temporary folder for a copy, made once, removed after the file is read). A
    JSONL file with a comment line or a line-start BOM (polars stops at either: a Windows
    export's, `cat a.jsonl b.jsonl`'s) is read from a zstd copy without them (on disk, not in
    memory: a dump may be many GB), as `curate run` reads it; ``name``: the file as the user
    gave it. A compressed file is looked through before polars reads it: that streamed pass is
    also what stops a decompression bomb at limits.max_file_bytes, which polars has no bound
    for. An uncompressed one only once polars has failed on it (``as_read``; itself where it has
    no such line): polars raises at every such line, never reading past it, and a clean file,
    the common case, was read twice for nothing."""
    from curate.readers.common import compression

    with contextlib.ExitStack() as stack:
        folder = lambda: stack.enter_context(tempfile.TemporaryDirectory(prefix="curate-audit-"))  # noqa: E731
        if not path.lower().endswith(JSONL) or compression(path):
            read = _without_odd_lines(path, name, folder, in_place)
            yield read, lambda: read, folder
        else:
            yield path, lambda: _without_odd_lines(path, name, folder, in_place), folder


def _without_odd_lines(path: str, name: str, folder, in_place: bool = False) -> str:
    """``path``, or its copy without comment lines and line-start BOMs in ``folder()`` (made only
    for a file that has some); a read or write failure as one line."""
    if not path.lower().endswith(JSONL):
        return path
    from curate.readers.common import BOMB_STOP, BombStopped, LimitExceeded, bomb_judged, compression

    # its first pass reads the whole file, before polars does: a plain file has no cap (polars
    # reads it all), a .gz/.zst curate run's limits.max_file_bytes (a bomb: KB decoding to TB)
    kind = compression(path)
    limit = Limits().max_file_bytes if kind else 1 << 62
    try:
        pieces = jsonl.as_read(path, Limits(max_file_bytes=limit))
        if pieces is None:
            return path
        import zstandard

        copy = os.path.join(folder(), "as-read.jsonl.zst")
        with open(copy, "wb") as raw, zstandard.ZstdCompressor(level=1).stream_writer(raw) as out:
            for piece in pieces:
                out.write(piece)
        return copy
    except (EOFError, CorruptData) as e:  # a cut download, a damaged member: as polars' read errors are said
        raise _unreadable(name, e) from None
    except LimitExceeded as e:
        how = (f"at {BOMB_STOP:,} to 1 or more past {bomb_judged(limit):,} bytes (curate run's stop for a bomb"
               if isinstance(e, BombStopped) else f"to more than {limit:,} bytes (curate run's limits.max_file_bytes")
        # the hint's command run: again, it fails ("already exists"); its copy said as curate run says it
        todo = None if is_uri(name) else copy_there(name, plain_name(name, kind), kind, in_place, "--corpus")
        if todo:
            raise ValueError(f"{name}: decompresses {how}, past which it reads no further); {todo}") from None
        raise ValueError(f"{name}: decompresses {how}, past which it "
                         f"reads no further): a decompression bomb, or a dump to audit decompressed ("
                         f"{decompress_command(name, kind, in_place)}: read whole)") from None
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise _no_room(name, "a JSONL file with a comment line or a line-start BOM is read from a zstd copy "
                             "without them (about a fifth of its decompressed size)", e) from None


def _bad_line(path: str) -> tuple[int, str] | None:
    """(line number, JSON's error) of the first line of the local JSONL file ``path`` (as the user gave
    it: its line numbers, comment lines and all) that is no JSON; None where each reads. Only read
    once polars has failed on the file; a line longer than FINITE_LINE_BYTES is curate run's
    record_too_large, not looked into."""
    from curate.readers.common import open_bytes, without_bom

    n, whole = 0, True
    with open_bytes(path, Limits(max_file_bytes=1 << 62)) as f:
        for line in iter(lambda: f.readline(FINITE_LINE_BYTES), b""):
            start, whole = whole, line.endswith(b"\n")
            n += start
            if not start or len(line) == FINITE_LINE_BYTES and not whole:  # a piece of a long line
                continue
            head = without_bom(line).strip()
            if head and not jsonl.is_comment(head):
                try:
                    jsonl.loads(head)
                except json.JSONDecodeError as e:  # its column in the line, not "line 1" of the line alone
                    return n, f"{e.msg.removesuffix(' at')} at column {e.colno + len(line) - len(line.lstrip())}"
                except ValueError as e:  # UnicodeDecodeError, nested too deep
                    return n, shell.one_line(str(e))[:200]
    return None


FINITE_LINE_BYTES = Limits().max_record_bytes * 2 + 2  # the longest line _finite_copy decodes: curate run's read of one


def _finite_copy(path: str, name: str, folder) -> str | None:
    """A zstd copy of the JSONL file ``path`` in ``folder()``, each NaN and Infinity null, where it
    has some and its every other line is a record `curate run` reads (blank and comment lines
    left out); else None: polars' error stands (a line cut short is a damaged file). JSON has
    neither number, but Python's json.dumps writes them (a score NaN) and json.loads reads them,
    as `curate run` does: polars stopped at the first, the audit said the file was damaged. Only
    a file polars failed on is decoded so, line by line; a line longer than FINITE_LINE_BYTES
    (curate run quarantines one: record_too_large) is copied a piece at a time, its NaN and
    Infinity null (_FiniteLine), never held whole (a dump's one line of gigabytes was read, then
    decoded, whole)."""
    import zstandard

    from curate.readers.common import open_bytes, without_bom

    copy, fixed, cap = os.path.join(folder(), "finite.jsonl.zst"), 0, FINITE_LINE_BYTES
    try:  # no bound on what it decodes: a compressed input's was its first pass (_without_odd_lines)
        with open_bytes(path, Limits(max_file_bytes=1 << 62)) as f, open(copy, "wb") as raw, \
                zstandard.ZstdCompressor(level=1).stream_writer(raw) as out:
            long = None  # inside a line past the bound: copied a piece at a time (its NaN null), never held whole
            for line in iter(lambda: f.readline(cap), b""):
                if long or len(line) == cap and not line.endswith(b"\n"):
                    if long is None:
                        long, line = _FiniteLine(), without_bom(line)
                    out.write(long.feed(line, last=line.endswith(b"\n")))
                    if line.endswith(b"\n"):
                        fixed, long = fixed + long.fixed, None
                    continue
                line = without_bom(line)
                head = line.strip()
                if not head or jsonl.is_comment(head):
                    continue
                try:
                    obj = jsonl.loads(head)
                except ValueError:  # no JSON (UnicodeDecodeError too): a damaged line, said as polars says it
                    if jsonl._cr_line_ends(head):  # a part curate run quarantines (cr_line_ends): said so, with the fix
                        raise ValueError(f"{name}: cannot be read: a part of it holds {jsonl.CR_DETAIL}") from None
                    return None
                if not isinstance(obj, dict):
                    return None
                if b"NaN" in head or b"Infinity" in head:  # else no such number: the line as it is
                    try:
                        json.dumps(obj, allow_nan=False)
                    except ValueError:
                        line, fixed = json.dumps(schema.finite(obj, to=lambda _: None)).encode() + b"\n", fixed + 1
                out.write(line)
            if long:  # the file's last line, past the bound, with no line end
                out.write(long.feed(b"", last=True))
                fixed += long.fixed
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise _no_room(name, "a JSONL file with NaN or Infinity is read from a zstd copy with them null", e) from None
    return copy if fixed else None


class _FiniteLine:
    """A line past _finite_copy's bound, fed a piece at a time: each NaN, Infinity and -Infinity
    outside a string written null (what json.loads then schema.finite make of them), the rest as
    it is. Holds at most a token's start (8 bytes) or an escape's backslash between pieces."""

    _TOKEN = re.compile(rb'"|NaN|-?Infinity')
    _BODY = re.compile(rb'(?:[^"\\]++|\\.)*+', re.S)  # a string's inside up to its quote
    _KEEP = len(b"-Infinit")  # the longest start of a token a piece may end in

    def __init__(self):
        self.inside, self.carry, self.fixed = False, b"", 0

    def feed(self, piece: bytes, last: bool) -> bytes:
        buf, out, i, n = self.carry + piece, [], 0, len(self.carry) + len(piece)
        self.carry = b""
        while i < n:
            if self.inside:
                j = self._BODY.match(buf, i).end()
                if j < n and buf[j : j + 1] == b'"':
                    out.append(buf[i : j + 1])
                    i, self.inside = j + 1, False
                    continue
                if j < n and not last:  # a backslash ending the piece: its escaped byte is in the next
                    out.append(buf[i:j])
                    self.carry = buf[j:]
                else:
                    out.append(buf[i:])
                break
            m = self._TOKEN.search(buf, i)
            if m is None:
                keep = n if last else max(i, n - self._KEEP)
                out.append(buf[i:keep])
                self.carry = buf[keep:]
                break
            if m.group() == b'"':
                out.append(buf[i : m.end()])
                self.inside = True
            else:
                out += (buf[i : m.start()], b"null")
                self.fixed += 1
            i = m.end()
        return b"".join(out)


def _no_records(path: str) -> bool:
    """An empty JSONL file (no bytes, blank lines, a BOM, an empty .gz): no document, as
    `curate run` reads it, not a damaged file."""
    from curate.readers.common import Limits, open_bytes

    try:
        with open_bytes(path, Limits()) as f:
            return not any(chunk.strip().removeprefix(b"\xef\xbb\xbf").strip() for chunk in iter(lambda: f.read(1 << 20), b""))
    except Exception:  # noqa: BLE001 - unreadable: said as such by the caller
        return False


def _scan_kind(path: str, rel: str, partial: Partial, kind: str, trust=None) -> None:
    """Stream a ledger or quarantine shard (``rel``, read at ``path``) into the partial, with each
    row's index in its file; ledger rows with a ``language_score`` get ``unsure``: scored below
    ``trust`` (per-language thresholds, default) for their label."""
    add = partial.add_ledger if kind == "ledger" else partial.add_quarantine
    lf = scan_parquet(path).with_row_index("row")
    try:
        if trust is not None and "language_score" in lf.collect_schema().names():
            thresholds, default = trust
            thr = pl.col("language").replace_strict(thresholds, default=default, return_dtype=pl.Float64)
            lf = lf.with_columns(unsure=pl.col("language_score").is_not_null() & (pl.col("language_score") < thr))
        for b in _batches(lf):
            add(b, rel)
    except pl.exceptions.ComputeError as e:
        raise _unreadable(path, e) from None


def _copy(path: str, local: str) -> None:
    """Copy a file of a bucket to ``local``."""
    fs, p = output._fs(path)
    try:
        with fs.open_input_stream(p, compression=None) as src, open(local, "wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        raise _no_room(path, "a bucket's JSONL files are read from a local copy, one at a time", e) from None


def _no_room(path: str, why: str, e: OSError) -> ValueError:
    """A small /tmp (a container's): a one-line error, not a traceback."""
    return ValueError(f"{path}: cannot be copied to the temporary folder {tempfile.gettempdir()} ({os.strerror(e.errno)}): "
                      f"{why}: set TMPDIR to a folder with room for the largest")


def _unreadable(path: str, e: Exception) -> ValueError:
    """Polars' message for a damaged file names no file (``parquet: File out of specification``).
    A zstd frame over the decoder's window is not damaged: its line says how to recompress it.
    A name that is not UTF-8 (read through a link) with its bytes as ``\\xe9``, as the summary's
    source (it was ``caf\\udce9``, Python's stand-in for the byte)."""
    path = name_utf8(path)
    if getattr(e, "reason", "") == "zstd_window_too_large":
        return ValueError(unreadable(path, e))
    if isinstance(e, pl.exceptions.SchemaError):  # not damaged: polars finds no one type for a column
        return ValueError(f"{path}: cannot be read ({str(e).splitlines()[0]}): polars finds no one type for its lines or a "
                          f"field (a line holding a JSON array among objects, a field an object in one record and a list in another)")
    return ValueError(f"{path}: cannot be read ({str(e).splitlines()[0]}): a damaged or truncated file, or not of its kind")


def trust_thresholds(manifest: dict | None) -> tuple[dict, float] | None:
    """The thresholds a label had to reach to be trusted in the run (its
    ``filter.trusted_language_score``, langid's shipped table by default); None: every label trusted."""
    from curate.stages.lid_table import trust_thresholds as _trust_thresholds  # not the filters: no numba (~0.3 s)

    spec = ((manifest or {}).get("config") or {}).get("filter", {}).get("trusted_language_score", "default")
    try:
        table, default = _trust_thresholds(spec)
    except ValueError:  # a thresholds file that is gone since: the shipped table
        table, default = _trust_thresholds("default")
    return None if table is None else (table, default)


def _read_json(path: str) -> dict | None:
    try:
        return json.loads(output.read_bytes(path).decode("utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:  # json's own message names no file
        raise ValueError(f"{path}: not valid JSON ({e}): a damaged or truncated file (curate writes it whole, then renames it)") from None


def _files(root: str, manifest: dict | None, kind: str) -> list[str]:
    """Relative paths of a kind's shards: from the manifest, else whatever is on disk."""
    if manifest and kind in manifest.get("outputs", {}):
        return [e["file"] for e in manifest["outputs"][kind]]
    return sorted(f"{kind}/{n}" for n in output.sizes(output.join(root, kind)) if n.endswith(".parquet") and not n.startswith("."))


def integrity(root: str, manifest: dict, tok_manifest: dict | None) -> tuple[list[dict], set[str]]:
    """The output's files against its manifests: every file the run wrote present with its
    size and sha256 (token shards by tokens.json), and no other file beside them (an
    extra ``text/part-*.parquet`` is read by every ``text/*.parquet`` glob). Returns the checks
    and the listed files that differ (left out of the statistics: a truncated one cannot be read)."""
    want: dict[str, dict] = {}  # rel -> {"bytes", "sha256"?}
    for e in manifest.get("files", []):
        want[e["file"]] = dict(e)
    for entries in manifest.get("outputs", {}).values():
        for e in entries:
            want.setdefault(e["file"], {}).update({k: e[k] for k in ("bytes", "sha256") if k in e})
    for e in (tok_manifest or {}).get("shards", []):
        want.setdefault(f"tokens/{e['file']}", {}).update({k: e[k] for k in ("bytes", "sha256") if k in e})
    derived = {e["file"] for e in manifest.get("derived", [])}  # the audit's own report: rewritten by every audit
    present = {rel: size for rel, size in commit._files(*output._fs(root))  # not a run's staging, nor a stopped run's kept candidates
               if not rel.startswith((commit.STAGING + "/", commit.KEPT + "/"))}
    bad = []
    for rel, e in sorted(want.items()):
        if rel not in present:
            bad.append(f"{rel} missing")
        elif e.get("bytes", present[rel]) != present[rel]:
            bad.append(f"{rel} has {present[rel]:,} bytes, the manifest says {e['bytes']:,}")
        elif "sha256" in e and output.sha256_file(root, rel) != e["sha256"]:
            bad.append(f"{rel} does not match its sha256")
    extra = sorted(rel for rel in present if rel not in want and rel not in derived and rel != output.MANIFEST)
    differ = {b.split(" ", 1)[0] for b in bad}
    out = [{"check": "files as the manifest lists them (present, size, sha256)", "expected": len(want),
            "found": len(want) - len(bad), "detail": bad},
           {"check": "files the manifest does not list", "expected": 0, "found": len(extra), "detail": extra}]
    for c in out:
        c["ok"] = c["expected"] == c["found"]
    return out, differ


def _stage_order(stage: str) -> int:
    return schema.STAGES.index(stage) if stage in schema.STAGES else len(schema.STAGES)


def language_keep(s: dict, stages: list[str]) -> dict:
    """Per language and stage: documents in, removed, and the keep rate. A language's documents
    entering a stage are those kept at the end plus those removed by it or a later stage (the
    ledger row carries the language langid gave; before langid, ``unknown``). At langid,
    ``below_threshold`` counts the removals whose label scored under its threshold: the model's
    unsure guess (Zulu or Luganda text as ``en`` at 0.1), not documents of that language; at a
    later stage, those whose ledger ``language_score`` is under the threshold the filter trusts
    a label from (the run's ``filter.trusted_language_score``)."""
    if not stages:  # only ingest ran: no stage to show a keep rate for
        return {}
    by_stage = s["removed"]["by_stage_language"]
    by_rule = s["removed"].get("by_stage_language_rule") or {}
    unsure = s["removed"].get("langid_unsure_by_language") or {}
    later = s["removed"].get("unsure_by_stage_language") or {}
    out = {}
    for lang in sorted(set(s["documents"]["by_language"]) | {x for v in by_stage.values() for x in v}):
        left, rows = s["documents"]["by_language"].get(lang, 0), {}
        for st in reversed(stages):
            removed = by_stage.get(st, {}).get(lang, 0)
            left += removed
            rows[st] = {"docs_in": left, "removed": removed, "keep_rate": (left - removed) / left if left else None}
            if removed:
                rows[st]["rules"] = by_rule.get(st, {}).get(lang, {})
            n_unsure = unsure.get(lang) if st == "langid" else later.get(st, {}).get(lang)
            if n_unsure:  # of which under a label the model was unsure of
                rows[st]["below_threshold"] = n_unsure
        out[lang] = {st: rows[st] for st in stages}
    return out


def funnel(counts: dict | None, stats: dict, s: dict) -> list[dict]:
    """Documents in/out per stage, from the manifest counts or, without them, the ledger."""
    removed = {st: e["total"] for st, e in s["removed"]["by_stage"].items()}
    out = []
    if counts:
        for st in sorted(counts, key=_stage_order):
            c = counts[st]
            e = {"stage": st, "docs_in": c["docs_in"], "docs_out": c["docs_out"], "removed": sum(c["removed"].values()),
                 "quarantined": c.get("quarantined", 0), "bytes_out": c.get("bytes_out"),
                 "rewrites": c.get("rewrites", {}), "ids_renamed": c.get("ids_renamed", 0)}
            if c.get("skipped_records"):
                e["skipped_records"] = c["skipped_records"]
            tok = next((stats[k] for k in (f"{st}.tokens", f"{st}.mix_tokens") if isinstance(stats.get(k), int)), None)
            if tok is not None:
                e["tokens_out"] = tok
            out.append(e)
        return out
    docs = s["documents"]["total"]
    for st in sorted(set(removed) | {"ingest"}, key=_stage_order, reverse=True):
        q = s["quarantine"]["total"] if st == "ingest" else 0
        out.insert(0, {"stage": st, "docs_in": docs + removed.get(st, 0) + q, "docs_out": docs, "removed": removed.get(st, 0), "quarantined": q})
        docs += removed.get(st, 0) + q
    return out


def checks(fun: list[dict], s: dict, from_manifest: bool) -> list[dict]:
    """Every record accounted for: the manifest's counts against the rows actually written."""
    if not from_manifest:
        return []
    removed = {st: e["total"] for st, e in s["removed"]["by_stage"].items()}
    out = [{"check": f"ledger rows of {e['stage']} = removed by {e['stage']}", "expected": e["removed"], "found": removed.get(e["stage"], 0)} for e in fun]
    if fun:
        out.append({"check": "text rows = documents out of the last stage", "expected": fun[-1]["docs_out"], "found": s["documents"]["total"]})
        out.append({"check": "quarantine rows = quarantined at ingest", "expected": sum(e["quarantined"] for e in fun), "found": s["quarantine"]["total"]})
    if s["tokens"] and s["tokens_written"] is not None:  # packed rows hold every token too, each document's EOS
        out.append({"check": "tokens in tokens/ = num_tokens × repeat of the text", "expected": s["tokens_written"], "found": s["tokens"]["in_mix"]})
    for c in out:
        c["ok"] = c["expected"] == c["found"]
    return out


def target_mix(tok_manifest: dict | None, manifest: dict | None, domains) -> dict | None:
    """The target token fraction per domain: tokens.json's mix, else rebalance's stats
    (``rebalance.mix.<domain>.target``), else the config's ``rebalance.targets``; None if none."""
    mix = (tok_manifest or {}).get("mix") or {}
    t = {d: m["target"] for d, m in mix.items() if isinstance(m, dict) and isinstance(m.get("target"), (int, float))}
    stats = (manifest or {}).get("stats") or {}
    t = t or {d: stats[f"rebalance.mix.{d}.target"] for d in domains if f"rebalance.mix.{d}.target" in stats}
    t = t or (((manifest or {}).get("config") or {}).get("rebalance") or {}).get("targets") or {}
    total = sum(t.values())
    return {d: w / total for d, w in sorted(t.items())} if total > 0 else None


def domain_mix(s: dict, target: dict | None) -> dict:
    if s["tokens"]:
        measure, amounts = "tokens", s["tokens"]["in_mix_by_domain"]
    else:
        measure, amounts = "characters", s["characters"]["by_domain"]
    total = sum(amounts.values()) or 1
    return {"measure": measure, "achieved": {d: amounts.get(d, 0) / total for d in s["domains"]}, "target": target}


def source_mix(stats: dict) -> dict | None:
    """Rebalance's split of a domain's share by source (``rebalance.sources``, ``web/c4``) or by
    language (``rebalance.languages``, ``web:en``): target and achieved shares of the whole mix,
    tokens and epochs per group; None without one."""
    out: dict = {}
    for k, v in stats.items():
        parts = k.split(".")
        if len(parts) == 4 and parts[:2] == ["rebalance", "mix"] and ("/" in parts[2] or ":" in parts[2]):
            out.setdefault(parts[2], {})[parts[3]] = v
    return dict(sorted(out.items())) or None


def budget_of(stats: dict) -> dict | None:
    """rebalance.budget asked, the mix's tokens and the miss (within rebalance.tolerance); None
    when no budget was asked (0: the largest mix that fits)."""
    if "rebalance.budget_miss" not in stats:
        return None
    return {"tokens": stats["rebalance.budget_tokens"], "mix_tokens": stats["rebalance.mix_tokens"],
            "miss": stats["rebalance.budget_miss"], "tolerance": stats.get("rebalance.tolerance")}


def _tokens_written(root: str, tok_manifest: dict | None, damaged: set) -> int | None:
    """The tokens the shards tokens.json lists hold: their rows' ``num_tokens``, read (one integer
    column), not tokens.json's ``total``, its word for them (a shard short of rows, its manifests
    written to match, passed the token check). A damaged or unreadable shard, which the files
    check names, adds none. A tokens manifest listing no shards (another tool's) is taken at its
    word; None without one."""
    shards = (tok_manifest or {}).get("shards")
    if not isinstance(shards, list):
        v = ((tok_manifest or {}).get("tokens") or {}).get("total")
        return v if isinstance(v, int) else None
    total = 0
    for rel in (f"tokens/{e['file']}" for e in shards if isinstance(e, dict) and isinstance(e.get("file"), str)):
        if rel not in damaged:
            with contextlib.suppress(OSError, pl.exceptions.PolarsError):
                total += scan_parquet(f"{root}/{rel}").select(pl.col("num_tokens").sum()).collect().item() or 0
    return total


def inside_documents(stats: dict) -> dict | None:
    """What the stages cut out of documents they kept (line dedup, decontamination's cut mode)
    and the evaluation sets decontamination used, from the run's stats."""
    keys = ("linededup.docs_changed", "linededup.lines_removed", "linededup.chars_removed", "linededup.chars_in",
            "linededup.frequent_lines", "decontaminate.eval_items", "decontaminate.eval_items_too_short",
            "decontaminate.eval_ngrams", "decontaminate.cut_docs", "decontaminate.cut_chars")
    out = {k: stats[k] for k in keys if isinstance(stats.get(k), int)}
    if not out:
        return None
    if out.get("linededup.chars_in"):
        out["linededup.chars_removed_share"] = out.get("linededup.chars_removed", 0) / out["linededup.chars_in"]
    return out


def open_output(root: str) -> dict | None:
    """The manifest of a curate output directory (None without one), or an error saying what
    the folder is instead (a path, or a bucket's URI)."""
    commit.reachable(root, "curate audit")  # a bucket out of reach: said in seconds
    is_dir = lambda path: output.file_type(path) == pafs.FileType.Directory  # noqa: E731
    kind = output.file_type(root)
    if kind == pafs.FileType.File:
        parent = os.path.dirname(root) or "."
        if os.path.basename(root) == output.MANIFEST and is_dir(f"{parent}/text"):
            raise ValueError(f"{root}: the manifest of a curate output; give the output directory: {shell.said(f'curate audit {shell.quote(parent)}', parent)}")
        raise ValueError(f"{root}: a file, not a curate output directory; audit files with {shell.said(f'--corpus {shell.quote(glob.escape(root))}', root)}")
    if kind != pafs.FileType.Directory:
        raise FileNotFoundError(f"{root}: no such directory")
    stuck = None
    try:
        commit.recover(root)  # a commit killed midway is completed before the output is read, as runs do
    except OSError as e:  # one this user may not complete (read-only, another's): read where whole, else said below
        stuck = e
    except ValueError:  # a live run's commit (its lock held): said below
        pass
    manifest = _read_json(f"{root}/{output.MANIFEST}")
    if manifest is not None and (not isinstance(manifest, dict) or manifest.get("format") != output.FORMAT):
        # another tool's manifest.json: its folder is not ours to judge, nor to write a report into
        raise ValueError(f"{root}/{output.MANIFEST} is not a curate manifest (no \"format\": \"{output.FORMAT}\"): not a curate "
                         f"output; audit its data files with {shell.said(f'--corpus {shell.quote(glob.escape(root) + _ALL)} --output FOLDER', root)}")
    if manifest is None and stuck is not None and commit.decided(root):
        raise ValueError(commit.stopped_midway(root, "curate audit", stuck))
    if manifest is None and is_dir(f"{root}/{commit.STAGING}"):
        raise ValueError(f"{root}: no {output.MANIFEST}: a curate run is writing this output (or one was stopped before "
                         f"it finished: run it again); audit it once the run has ended")
    if manifest is None and not any(is_dir(f"{root}/{k}") for k in ("text", "ledger")):
        # e.g. DIR/text itself, or a folder of one's own files: nothing to audit, and the
        # report must not be written into it
        raise ValueError(f"{root}: not a curate output (no {output.MANIFEST}, text/ or ledger/); give the output "
                         f"directory itself, or audit any Parquet/JSONL files with {shell.said(f'--corpus {shell.quote(glob.escape(root) + _TOP)}', root)}")
    return manifest


_ALL, _TOP = "/**/*.parquet", "/*.parquet"


def output_files(root: str, manifest: dict | None) -> dict[str, list[str]]:
    """Each kind's shards (text, ledger, quarantine), relative to root."""
    return {kind: _files(root, manifest, kind) for kind in ("text", "ledger", "quarantine")}


def audit_output(root: str, examples: int = EXAMPLES, top: int = 25) -> dict:
    """The summary of a curate output directory (tokens, ledger stages and manifest optional)."""
    root = root.rstrip("/")
    manifest = open_output(root)
    warnings = [] if manifest else [f"{output.MANIFEST} is missing: not a finished curate output; the funnel is rebuilt from the ledger"]
    run, tok_manifest = {}, None
    try:  # damaged, these two leave only their parts of the report out: the file check names them
        run = _read_json(f"{root}/stats/run.json") or {}
        tok_manifest = _read_json(output.folder_manifest(f"{root}/tokens"))
    except ValueError as e:
        warnings.append(str(e))
    files, partial, damaged = output_files(root, manifest), Partial(examples), set()
    # A bucket's shards are read in place too, by ranged reads (the footer, the columns the
    # statistics need): no local copy, so no local room needed; their hashes read them whole once more.
    if manifest is None:
        files_checks = [{"check": f"{output.MANIFEST} present (a finished run)", "expected": 1, "found": 0, "ok": False}]
    else:
        files_checks, damaged = integrity(root, manifest, tok_manifest)
    for rel in files["text"]:
        if rel not in damaged:
            audit_files([f"{root}/{rel}"], partial, text="text", url="url", language="language")
    for kind, trust in (("ledger", trust_thresholds(manifest)), ("quarantine", None)):
        for rel in files[kind]:
            if rel not in damaged:
                _scan_kind(f"{root}/{rel}", rel, partial, kind, trust)
    text = files["text"]
    s = partial.summary(top)
    counts = (manifest or {}).get("counts") or run.get("counts")
    fun = funnel(counts, (manifest or {}).get("stats") or run.get("stats") or {}, s)
    s.update(inside_documents=inside_documents((manifest or {}).get("stats") or run.get("stats") or {}))
    s.update(tokens_written=_tokens_written(root, tok_manifest, damaged))
    s.update(
        format=FORMAT,
        kind="curate",
        source=where(root),
        files={"text": len(text), "ledger": len(_files(root, manifest, "ledger")), "quarantine": len(_files(root, manifest, "quarantine"))},
        funnel=fun,
        checks=files_checks + checks(fun, s, bool(counts)),
        language_keep=language_keep(s, [e["stage"] for e in fun if e["stage"] != "ingest"]),
        domain_mix=domain_mix(s, target_mix(tok_manifest, manifest or run, s["domains"])),
        source_mix=source_mix((manifest or {}).get("stats") or run.get("stats") or {}),
        budget=budget_of((manifest or {}).get("stats") or run.get("stats") or {}),
        run=run_of(manifest, [e["stage"] for e in fun]),
        warnings=warnings,
    )
    return s


def run_of(manifest: dict | None, stages: list[str]) -> dict:
    """The summary's ``run``: the config hash, the stages, and each input's glob as the run read it
    (``inputs``, its config's) and as typed (``input_globs``: the manifest's where it keeps them,
    ``./data/`` for ``data``; else the same)."""
    m = manifest or {}
    out = {k: m.get(k) for k in ("config_hash", "format")} | {"stages": stages}
    inputs = (m.get("config") or {}).get("inputs") if isinstance(m.get("config"), dict) else None
    if isinstance(inputs, list) and inputs:
        out["inputs"] = [i.get("glob") if isinstance(i, dict) else None for i in inputs]
        typed = m.get("input_globs")
        out["input_globs"] = typed if isinstance(typed, list) and len(typed) == len(inputs) else out["inputs"]
    return out


def audit_corpus(globs: list[str], examples: int = EXAMPLES, top: int = 25, **fields) -> dict:
    """The same statistics for any Parquet / JSONL corpus (no funnel, ledger or quarantine)."""
    files, listed, warnings = [], set(), []  # listed: a folder's or a glob's files, not one named itself
    read_as: dict = {}  # a local file's real path less .gz/.zst -> (its name, real path): the first --corpus reads it
    for g in globs:
        if is_uri(g):  # a bucket's glob or folder is listed as a run lists an input (it was read as one file's name)
            from curate.readers import list_uri

            commit.reachable(g, "curate audit")  # a bucket out of reach: one line, in seconds
            found = [uri for uri, rel in list_uri(g) if not os.path.basename(rel).startswith(".")]
        else:
            found = [g] if os.path.isfile(g) else sorted(p for p in glob.glob(g, recursive=True) if os.path.isfile(p))
        if os.path.isdir(g):
            found = sorted(p for p in glob.glob(f"{glob.escape(g)}/**/*", recursive=True) if os.path.isfile(p) and not os.path.basename(p).startswith("."))
        if not found:  # a file named is missing, not a pattern that matched nothing
            raise FileNotFoundError(f"--corpus {g!r} matches no files" if glob.has_magic(g) or is_uri(g) else
                                    f"--corpus {g!r} is a folder with no files in it" if os.path.isdir(g) else f"--corpus: no file or folder {g!r}")
        if found != [g]:  # a file beside its copy (gzip -dk, the hint below): counted once, as curate run reads it (readers.copies)
            from curate.readers import copies

            twice = copies([(p, p) for p in found], g)
            found = [p for p in found if p not in twice]
            warnings += [f"{copy} holds what {keep} holds, decompressed: read once" for copy, keep in twice.items()]
        for p in [p for p in found if not is_uri(p) or is_file_uri(p)]:  # ... or read by an earlier --corpus (x.jsonl, then x.jsonl.gz)
            real = os.path.realpath(read_folder(p))
            first, there = read_as.get(unpacked_name(real), (None, None))
            if first is None:
                read_as[unpacked_name(real)] = (p, real)
            elif there == real or same_data(there, real):
                found.remove(p)
                warnings.append(f"{p} holds what {first} holds, decompressed: read once" if there != real else
                                f"{p} is named twice: read once" if p == first else f"{p} is the same file as {first}: read once")
        files += found
        listed.update(found if found != [g] else [])
    partial = Partial(examples)
    used = audit_files(files, partial, frozenset(listed), **fields)
    s = partial.summary(top)
    s.update(format=FORMAT, kind="corpus", source=name_utf8(", ".join(globs)), files={"documents": len(files)}, fields=used,
             funnel=None, checks=[], domain_mix=domain_mix(s, None), tokens_written=None, run=None, warnings=warnings)
    return s

