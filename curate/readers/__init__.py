"""Readers: raw shards -> document RecordBatches (+ ledger and quarantine rows).

``FORMATS`` maps a format name to its reader (imported lazily, so a format's heavy
dependency loads only when used). ``plan_shards`` lists an input's files and cuts large
splittable ones into ranges, so one big file does not pin a worker for the whole run.
"""
from __future__ import annotations

import functools
import glob as _glob
import importlib
import io
import os
import re
from typing import TYPE_CHECKING, Iterator

from curate import shell
from curate.readers.common import (ARCHIVE_NAMES, LIST_RETRY_SECONDS, MISSED_SLASH, UNPACK, Limits, Shard, archive,  # noqa: F401
                                   compressed_parquet_error, compression, file_key, input_size, is_file_uri, is_uri, launch_fs, not_read_as_is, open_raw,
                                   other_compression_error, read_batches,
                                   relpath)

if TYPE_CHECKING:  # annotations only: the HTML helper process imports these modules, not pyarrow
    import pyarrow as pa

FORMATS = {
    "warc": "curate.readers.warc:read_warc",
    "wet": "curate.readers.warc:read_wet",
    "jsonl": "curate.readers.jsonl:read_jsonl",
    "parquet": "curate.readers.parquet:read_parquet",
    "html": "curate.readers.pages:read_html",  # one document per saved HTML page
    "text": "curate.readers.books:read_text",  # one document per plain-text file (books)
    "source": "curate.readers.code:read_source",  # one document per source file (code trees)
}

_SUFFIXES = [
    (".warc.wet.gz", "wet"),
    (".warc.wet.zst", "wet"),  # by its content a WARC: its conversion records were each quarantined
    (".wet.gz", "wet"),
    (".wet.zst", "wet"),
    (".wet", "wet"),
    (".warc.gz", "warc"),
    (".warc", "warc"),
    (".arc.gz", "warc"),
    (".arc", "warc"),
    (".jsonl", "jsonl"),
    (".jsonl.gz", "jsonl"),
    (".jsonl.zst", "jsonl"),
    (".json.gz", "jsonl"),
    (".json.zst", "jsonl"),
    (".ndjson", "jsonl"),
    (".ndjson.gz", "jsonl"),
    (".ndjson.zst", "jsonl"),
    (".json", "jsonl"),
    (".parquet", "parquet"),
    (".txt", "text"),
    (".txt.gz", "text"),
    (".txt.zst", "text"),  # a book tells nothing by its content (the recompress hint names such a copy)
    (".html", "html"),
    (".htm", "html"),
    (".xhtml", "html"),
    (".html.gz", "html"),
    (".htm.gz", "html"),
    (".xhtml.gz", "html"),
    (".html.zst", "html"),
    (".htm.zst", "html"),  # by content a page opening <!DOCTYPE html or <html (past <?xml ...?> and comments)
    (".xhtml.zst", "html"),
]


def is_file_name(name: str) -> bool:
    """Whether a name ends as a data file's does (a format's suffix, or compression's)."""
    return name.lower().endswith(tuple(s for s, _ in _SUFFIXES) + (".gz", ".zst", ".bz2", ".xz"))


class InputError(ValueError):
    """A bad input specification, reported before the pipeline starts."""


def detect_format(path: str, domain: str) -> str | None:
    """Format from the file name, else from its first bytes; code trees default to `source`;
    None when neither tells."""
    name = os.path.basename(path).lower()
    fmt = next((f for suffix, f in sorted(_SUFFIXES, key=lambda s: -len(s[0])) if name.endswith(suffix)), None)
    if domain == "code":  # a tree's own .json files (package.json, tsconfig.json) are code, not JSON Lines data
        return fmt if fmt in ("jsonl", "parquet") and not name.endswith(".json") else "source"
    return fmt or sniff_format(path)


def _head(path: str) -> bytes | None:
    """A file's first bytes, decompressed, without a BOM or blanks; None where it cannot be read."""
    from curate.readers.common import open_bytes, without_bom

    try:
        with open_bytes(path, Limits()) as f:
            return without_bom(f.read(1024)).lstrip()
    except Exception:  # noqa: BLE001 - unreadable, cut: the reader quarantines it with the error
        return None


def sniff_format(path: str) -> str | None:
    head = _head(path)
    if head is None:
        return None
    if head.startswith((b"WARC/", b"filedesc://")):
        return "warc"  # ARC files are quarantined by the WARC reader with a reason
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"{"):
        return "jsonl"
    if _PAGE_START.match(_PAGE_PROLOG.sub(b"", head)):
        return "html"
    return None


# what may come before a page's <!DOCTYPE html> or <html>: an XHTML page's <?xml ...?>, a saved
# page's <!-- saved from url=... --> (neither was read as a page, "cannot tell the format")
_PAGE_PROLOG = re.compile(rb"\A(?:\s*(?:<\?xml[^>]*\?>|<!--.*?-->))*\s*", re.S)
# the tag's name whole: `<htmlfeed>` (an XML feed) is not `<html>`
_PAGE_START = re.compile(rb"<(?:!doctype\s+html|html)[\s>/]", re.I)


def not_parquet(path: str, rel: str, domain: str, in_place: bool = False) -> str | None:
    """Why a file given as Parquet is not one (its first bytes are not the magic bytes PAR1),
    with what it looks like; None when it is, or is empty (the reader says so). A Parquet file
    compressed whole under any name (part-0.parquet of gzip bytes) raises InputError, as
    x.parquet.gz is refused by its name (compressed_parquet_error)."""

    try:
        with open_raw(path) as f:
            head = f.read(8)
    except OSError:
        return None  # unreadable: the reader quarantines it with the error
    if not head or head.startswith(b"PAR1"):
        return None
    sniffed = sniff_format(path)  # decompressed: what is inside
    kind = compression(path) if sniffed == "parquet" else None
    if kind:
        raise InputError(compressed_parquet_error(path, in_place, kind, "--input"))
    return _not_given(path, rel, domain, "parquet", sniffed, f"a Parquet file (those start with the magic bytes PAR1; it starts with {head!r}")


def not_warc(path: str, rel: str, domain: str) -> str | None:
    """Why a file given as WARC is not one (its first bytes, decompressed, are no WARC/ header),
    as ``not_parquet`` says it; None when it is, is an ARC file (the reader says so) or is empty."""
    head = _head(path)
    if not head or head.startswith((b"WARC/", b"filedesc://")):
        return None
    return _not_given(path, rel, domain, "warc", sniff_format(path), f"a WARC file (those start with a WARC/ header; it starts with {head[:8]!r}")


def _not_given(path: str, rel: str, domain: str, given: str, sniffed: str | None, what: str) -> str:
    """The message of a file given as ``given`` that is not ``what``: what it looks like, by its
    bytes (``sniffed``) or its name, and the --format to give."""
    by_name = detect_format(path, domain)
    looks = sniffed if sniffed != given else None
    looks = looks or (by_name if by_name != given else None)
    like = f" and looks like {looks}" if looks else ""
    # leaving the format out helps only where the name does not say the format given too
    fix = (f"give --format {looks} (format in [[inputs]]){', or leave the format out' * (by_name != given)}" if looks
           else "give its format (--format)")
    return f"{rel} is not {what}{like}): {fix}"


def unknown_formats(unknown: list[tuple[str, str]], files: list[tuple[str, str]]) -> str:
    """The error for files whose format cannot be told, all named at once (a README.md or
    NOTES among the books), with a glob that leaves them out when the others share a suffix."""
    names = ", ".join(rel for _, rel in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    what = f"of {unknown[0][0]!r} from its name" if len(unknown) == 1 else f"of {len(unknown)} files ({names}) from their names"
    known = {rel for _, rel in files} - {rel for _, rel in unknown}
    suffixes = {s for s, _ in _SUFFIXES if known and all(r.lower().endswith(s) for r in known)}
    hint = ""
    if suffixes:
        path, rel = unknown[0]
        root = path[: len(path) - len(rel)].rstrip("/")
        suffix = max(suffixes, key=len)
        cased = {r[-len(suffix):] for r in known}  # globs match case: a.txt and B.TXT need *.[tT][xX][tT]
        suffix = cased.pop() if len(cased) == 1 else "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in suffix)
        pattern = _glob.escape(root) + '/' + '**/' * any('/' in r for r in known) + '*' + suffix
        hint = f", or a glob that leaves {'it' if len(unknown) == 1 else 'them'} out: {shell.said(f'--input {shell.quote(pattern)}', pattern)}"
    return f"cannot tell the format {what} or content; give --format ({', '.join(FORMATS)}){hint}"


def all_refused(refused: list[tuple[str, str, str]]) -> str:
    """One line for the files of an input curate will not read as they are ((path, relative path,
    the file's own line)): the first's line whole (what to do), then the others named, each with
    its reason where it differs (the first five and a count): a user fixes them in one pass."""
    first, rest = refused[0], refused[1:]
    if not rest:
        return first[2]

    def reason(path: str, why: str) -> str:  # "PATH is compressed with bzip2; ..." -> "compressed with bzip2"
        said = re.split(r"[;:] ", why[len(path):].removeprefix(" is ").removeprefix(": "), maxsplit=1)[0] if why.startswith(path) else ""
        return re.sub(r" \(.*\)$", "", said)  # "not a Parquet or JSONL file (.parquet, ...)": its list said once

    said = reason(first[0], first[2])
    names = [rel + (f" ({why})" if (why := reason(path, line)) != said and why else "") for path, rel, line in rest[:5]]
    more = f" and {len(rest) - 5} more" if len(rest) > 5 else ""
    return f"{first[2]}; {len(rest)} other file{'s' * (len(rest) > 1)} to fix too (the same way, or as said): {', '.join(names)}{more}"


def reader_for(fmt: str):
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    module, func = FORMATS[fmt].split(":")
    return getattr(importlib.import_module(module), func)


_ESCAPED = re.compile(r"\[([*?\[])\]")  # glob.escape's forms: [*] [?] [[] match the character itself


def has_magic(part: str) -> bool:
    """Whether a glob (or one path part of it) has a wildcard; an escaped ``[[]`` is none."""
    return any(c in _ESCAPED.sub("", part) for c in "*?[")


def none_listed(glob: str, said: str | None = None) -> str:
    """Why ``glob`` (``said``: as the user typed it) lists no file, in words: a path of no
    wildcard names a file that is missing or a folder that is empty, not a pattern unmatched."""
    said = repr(glob) if said is None else said
    if has_magic(glob):
        return f"{said} matches no files"
    return f"the folder {said} holds no files" if os.path.isdir(glob) else f"no file {said}"


def _split_glob(pattern: str) -> tuple[str, str]:
    """(the directory before the first wildcard, unescaped, the rest of the pattern)."""
    parts = pattern.split(os.sep)
    n = next((i for i, p in enumerate(parts) if has_magic(p)), len(parts))
    return os.sep.join(_ESCAPED.sub(r"\1", p) for p in parts[:n]), os.sep.join(parts[n:])


def glob_root(pattern: str) -> str:
    """The directory part of a glob before its first wildcard: ids are relative to it."""
    if os.path.exists(pattern):  # a path that exists is taken as it is, even with [ ] * ? in it
        return pattern if os.path.isdir(pattern) else os.path.dirname(pattern) or "."
    root, rest = _split_glob(pattern)
    root = root or "."
    if not rest:  # no wildcard: a file or a directory
        root = root if os.path.isdir(root) else os.path.dirname(root) or "."
    return root


def tidy_glob(pattern: str) -> str:
    """One spelling of a local path or glob that names the same files (a config's hash: the same
    files, one config): ``.`` parts and doubled separators go (``./*.jsonl`` is ``*.jsonl``),
    a folder's trailing separator goes (``data/`` is ``data``; a glob's stays: ``*/`` matches
    folders only, and so does ``*/.``, as ``*/``), and ``name/..`` goes where ``name`` is a folder that is no link, before the
    first wildcard: the kernel takes ``link/..`` to the link's target's parent, kept as written.
    Relative stays relative; a URI is as it is (only its bucket knows what it names)."""
    if is_uri(pattern) or not pattern:
        return pattern
    parts = pattern.split(os.sep)
    out: list[str] = []
    magic = False
    for i, part in enumerate(parts):
        magic = magic or has_magic(part)
        if part == "" and i == 0:
            out.append(part)  # the root of an absolute path
        elif part in ("", "."):
            continue
        elif (part == ".." and not magic and out and out[-1] not in ("", "..") and "[" not in out[-1]
              and os.path.isdir(os.sep.join(out) or os.sep) and not os.path.islink(os.sep.join(out))):
            out.pop()
        else:
            out.append(part)
    tidy = os.sep.join(out) or (os.sep if out else ".")
    # a last part "." as a trailing separator: */. matches folders only (was *, files too), x.jsonl/. no file
    if parts[-1] in ("", ".") and (magic or not os.path.isdir(tidy)) and not tidy.endswith(os.sep):
        tidy += os.sep  # */ matches folders only; x.jsonl/ names no file: kept as written
    if MISSED_SLASH.match(tidy) and not MISSED_SLASH.match(pattern):  # ./gs:/x, the local folder 'gs:': not a URI mistyped
        tidy = os.curdir + os.sep + tidy
    return tidy


def _glob_regex(pattern: str) -> re.Pattern:
    """A glob as a regex over "/"-separated paths: ``*`` and ``?`` stay within a path part,
    ``**/`` spans any number of directories, ``[...]`` is a character class."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in pattern[i + 1 :]:
            j = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1 : j].replace("!", "^", 1) + "]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"(?:/.*)?\Z")  # a matched directory: everything under it


def list_uri(pattern: str, keys: dict | None = None) -> list[tuple[str, str]]:
    """``list_files`` for a ``scheme://`` glob, through pyarrow.fs: list everything under
    the part before the first wildcard (found as for a local glob: an escaped ``[*]`` is a
    name), keep the files the glob matches. ``keys`` (a dict) gets each file's URI -> (size,
    update time in ns), from the listing (no request a file: config.object_key's)."""
    from urllib.parse import quote, unquote

    import pyarrow.fs as pafs

    scheme, rest = pattern.split("://", 1)
    parts = rest.split("/")
    n = next((i for i, p in enumerate(parts) if has_magic(p)), len(parts))
    # the fixed part with its escapes percent-encoded ([*] -> %2A): a name in the URI, not a wildcard
    root = "/".join(_ESCAPED.sub(lambda m: quote(m.group(1), safe=""), p) for p in parts[:n])
    fs, base = launch_fs(f"{scheme}://{root}")  # a bucket out of reach is said in seconds, not 15 minutes
    info = fs.get_file_info(base)
    keys = {} if keys is None else keys
    if info.type == pafs.FileType.File:  # a single file: ids relative to its directory
        keys[f"{scheme}://{root}"] = info.size, info.mtime_ns
        return [(f"{scheme}://{root}", unquote(root.rsplit("/", 1)[-1]))]
    if info.type != pafs.FileType.Directory:
        return []
    rx = _glob_regex(unquote("/".join(parts[n:])) or "**")  # matched against decoded names
    prefix = fs.normalize_path(base).rstrip("/") + "/"
    out = []
    for f in fs.get_file_info(pafs.FileSelector(base, recursive=True)):
        rel = f.path[len(prefix) :] if f.path.startswith(prefix) else f.path
        if f.type == pafs.FileType.File and rx.match(rel):  # the URI encodes the name ("a b%" -> a%20b%25)
            out.append((f"{scheme}://{root.rstrip('/')}/{quote(rel)}", rel))
            keys[out[-1][0]] = f.size, f.mtime_ns
    return sorted(out, key=lambda x: x[1])


def _walk(top: str, hidden: bool, tree: bool, dangling: list, unreadable: list | None = None) -> Iterator[str]:
    """The files under ``top``, links to folders followed (a folder of links to other disks
    is read, as ``**`` reads it), except a link back to a folder on its own path (a loop: its
    files are read once, under that folder) and, in a code ``tree``, a link out of the tree:
    that one is listed as itself, for the code reader to quarantine (symlink_outside_tree), as is
    a tree's link to nothing (broken_symlink). Other links to nothing go to ``dangling``; folders
    that cannot be listed (permissions) to ``unreadable``, as (path, reason): os.walk would pass
    over them without a word."""
    inside = os.path.realpath(top).rstrip(os.sep) + os.sep
    chain = {top: {os.path.realpath(top)}}  # folder walked -> the real folders on its path
    failed = (lambda e: unreadable.append((e.filename, e.strerror or str(e)))) if unreadable is not None else None
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True, onerror=failed):
        keep = []
        for d in sorted(x for x in dirnames if hidden or not x.startswith(".")):
            p = os.path.join(dirpath, d)
            real = os.path.realpath(p)
            if real in chain[dirpath]:
                continue
            if tree and os.path.islink(p) and not (real + os.sep).startswith(inside):
                yield p
                continue
            chain[p] = chain[dirpath] | {real}
            keep.append(d)
        dirnames[:] = keep
        for f in filenames if hidden else [f for f in filenames if not f.startswith(".")]:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p):
                yield p
            elif os.path.islink(p) and not os.path.exists(p):
                if tree:  # a checkout's link to a file not built or not checked out: a quarantine row
                    yield p
                else:
                    dangling.append(p)


def list_files(
    pattern: str, hidden: bool = False, tree: bool = False, dangling: list | None = None, unreadable: list | None = None,
    keys: dict | None = None,
) -> list[tuple[str, str]]:
    """(absolute path, path relative to the glob root) for every file the pattern matches.

    A directory matched (or named) is walked recursively (``_walk``: links to folders followed,
    loops not), leaving out hidden names (``.git/``, ``.DS_Store``), as a glob's ``*`` does,
    unless ``hidden``; ``tree``: a code tree, whose links out of it are not followed. Sorted,
    so listing is deterministic.
    A pattern that names an existing file or directory is that path, not a glob: a folder
    called ``data [2024]`` is read, not matched as a character class.
    ``scheme://`` globs (gs://, s3://, file://...) are listed through pyarrow.fs.
    ``dangling``: a list that gets (path, relative path) of each link matched whose target
    does not exist (else they are left out); ``unreadable``: (path relative to the glob root,
    reason) of each folder walked that could not be listed; ``keys``: a dict that gets a URI's
    files' (size, update time in ns) from its listing (``list_uri``).
    """
    if is_uri(pattern):
        return list_uri(pattern, keys)
    root = glob_root(pattern)
    links: list = []
    bad: list = []  # folders that could not be listed
    if "**" in pattern and not os.path.exists(pattern):
        # Python's glob follows links in `**` round a loop (crawl/again -> crawl) until the
        # path is too long, one more level for each loop: walk the root instead, as for a URI
        rest = _split_glob(pattern)[1]
        rx = _glob_regex(rest.replace(os.sep, "/"))
        out = [p for p in _walk(root, hidden, tree, links, bad) if rx.match(relpath(p, root))] if os.path.isdir(root) else []
        links = [p for p in links if rx.match(relpath(p, root))]
    else:
        out = []
        for m in [pattern] if os.path.exists(pattern) else _glob.glob(pattern, recursive=True):
            if os.path.isdir(m):
                out += _walk(m, hidden, tree, links, bad)
            elif os.path.isfile(m):
                out.append(m)
            elif os.path.islink(m):  # a link to nothing: a code tree's is a quarantine row
                (out if tree else links).append(m)
    if unreadable is not None:
        unreadable += sorted((relpath(p, root), why) for p, why in bad)
    absolute = os.path.abspath
    if ".." in pattern.split(os.sep):  # link/../a: os.path.abspath's a/, not the file the kernel opens (the same spelling where they agree)
        prefix = functools.lru_cache(None)(lambda pre: os.path.normpath(pre) if os.path.realpath(os.path.normpath(pre)) == os.path.realpath(pre)
                                           else os.path.realpath(pre))
        absolute = lambda p: kernel_path(p, prefix)  # noqa: E731
    if dangling is not None:
        dangling += sorted({(absolute(p), relpath(p, root)) for p in links}, key=lambda x: x[1])
    return sorted({(absolute(p), relpath(p, root)) for p in out}, key=lambda x: x[1])


def kernel_path(path: str, resolve=os.path.realpath) -> str:
    """``path`` made absolute, ``..`` resolved as the kernel does, after the links before it
    (``link/../x`` is beside the link's target, not ./x): ``resolve`` (realpath) of the part up to
    the last ``..``, the names after it kept; without ``..``, only ``.`` and doubled separators go.
    A trailing ``/`` or ``/.`` after no folder stays ``/``: ``x.jsonl/`` names no file (ENOTDIR)."""
    path = os.path.join(os.getcwd(), path)
    parts = path.split(os.sep)
    if ".." not in parts:
        out = os.path.normpath(path)
    else:
        last = len(parts) - parts[::-1].index("..")
        out = os.path.join(resolve(os.sep.join(parts[:last])), *[p for p in parts[last:] if p not in ("", ".")])
    return out + os.sep if parts[-1] in ("", ".") and not out.endswith(os.sep) and not os.path.isdir(out) else out


def same_files(listed: list[tuple[str, str]], pattern: str, tree: bool = False, reals: dict | None = None) -> dict[str, str]:
    """{relative path: the relative path it is read under} for every local file ``list_files``
    gave twice or more through links (``src/alias.py -> main.py``, ``latest/ -> 2024-10/``):
    read once, under the name that needs no link (else the first by name), so its documents
    are not doubled; each other name gets a quarantine row saying where it was read. A code
    ``tree``'s links out of it and links to nothing are left to the code reader's rows.
    ``reals`` (a dict) receives each file's real path, None where it is no regular file: the
    caller's check across inputs uses these, not a second resolution of every path (a cost per
    file at launch, and a link changed in between would give two answers)."""
    if is_uri(pattern):
        return {}
    top = os.path.realpath(glob_root(pattern))
    by_real: dict = {}
    reals = {} if reals is None else reals
    for path, rel in listed:
        real = os.path.realpath(path)
        reals[path] = real if os.path.isfile(real) else None
        if reals[path] and not (tree and not real.startswith(top.rstrip(os.sep) + os.sep)):
            by_real.setdefault(real, []).append(rel)
    out = {}
    for real, rels in by_real.items():
        if len(rels) > 1:
            direct = [r for r in rels if os.path.join(top, r) == real]  # reached without a link
            keep = (direct or rels)[0]
            out.update({r: keep for r in rels if r != keep})
    return out


_PACKED_NAME = re.compile(r"\.(?:gz|zst)$", re.IGNORECASE)


def unpacked_name(path: str) -> str:
    """``path`` without a .gz or .zst suffix: the name a file and its copy (``copies``) share."""
    return _PACKED_NAME.sub("", path)


def copies(listed: list[tuple[str, str]], pattern: str, tree: bool = False, limits: Limits | None = None) -> dict[str, str]:
    """{relative path: the relative path it is read under} for an input's local files of one
    name compressed and not, or in gzip and zstd (x.jsonl, x.jsonl.gz, x.jsonl.zst), that hold
    the same bytes decompressed: `gunzip -k` and the audit's hint (`gzip -dk`) leave such a copy
    beside the file, and both were read, each record twice under two ids, without a word. Read
    once, as a file reached through links is (same_files): the compressed one, the first by name
    (the file as it came, its ids those of an earlier run). The name alone does not tell
    (warcio's example.warc and example.warc.gz differ: both read). A code tree's compressed
    files are not read as data. A bucket's are not compared (both downloaded whole), a file://
    URI's are (on this disk, as a path's: `--input file:///d/` read every record twice).
    ``limits``: the run's (a pair past the default max_file_bytes is read to its end)."""
    if tree or is_uri(pattern) and not is_file_uri(pattern):
        return {}
    groups: dict = {}
    for path, rel in sorted(listed, key=lambda f: (_PACKED_NAME.search(f[1]) is None, f[1])):  # compressed first
        groups.setdefault(unpacked_name(rel), []).append((path, rel))
    out: dict = {}
    for group in (g for g in groups.values() if len(g) > 1):
        for i, (path, rel) in enumerate(group):
            keep = next((k for p, k in group[:i] if k not in out and same_data(p, path, limits)), None)
            if keep:
                out[rel] = keep
    return out


def same_data(a: str, b: str, limits: Limits | None = None) -> bool:
    """Whether two local files hold the same bytes decompressed: not where their sizes decompressed
    differ (told without reading them where it can be: _plain_size), else read side by side, to
    the first difference (a copy is read whole: a first or last MiB alike is no proof); False
    where either cannot be read whole under ``limits`` (the run's; the reader says why)."""
    from curate.readers.common import open_bytes

    sizes = _plain_size(a), _plain_size(b)
    if None not in sizes and sizes[0] != sizes[1]:  # x.jsonl beside x.jsonl.zst of other lines: neither read
        return False
    try:
        limits = limits or Limits()
        with open_bytes(a, limits) as f, open_bytes(b, limits) as g:
            while True:
                x, y = _read_full(f), _read_full(g)
                if x != y:
                    return False
                if not x:
                    return True
    except Exception:  # noqa: BLE001 - damaged, a bomb, unreadable: not told the same
        return False


def _plain_size(path: str) -> int | None:
    """A local file's size decompressed where it is told without decompressing it: a plain file's
    own size, a zstd file's that is one frame stating its content size (as `zstd FILE` writes it;
    its block headers walked to the end, a few bytes read a block), else None: a gzip file's
    trailer holds its last member's size only, modulo 4 GiB, and a frame's size says nothing
    of frames after it."""
    import zstandard

    from curate.readers.common import compression

    try:
        kind = compression(path)
        if kind is None:
            return os.path.getsize(path)
        if kind != "zstd":
            return None
        with open(path, "rb") as f:
            head = f.read(18)  # the longest frame header
            params = zstandard.get_frame_parameters(head)
            if params.content_size == zstandard.CONTENTSIZE_UNKNOWN:
                return None
            f.seek(zstandard.frame_header_size(head))
            while True:  # block header: last-block bit, type (raw, RLE: one byte, compressed), size
                b = f.read(3)
                if len(b) < 3:  # cut short: the reader says so
                    return None
                h = int.from_bytes(b, "little")
                f.seek(1 if (h >> 1) & 3 == 1 else h >> 3, io.SEEK_CUR)
                if h & 1:
                    break
            f.seek(4 * params.has_checksum, io.SEEK_CUR)
            return params.content_size if f.tell() == os.fstat(f.fileno()).st_size else None
    except (OSError, zstandard.ZstdError):
        return None


def _read_full(f, size: int = 1 << 20) -> bytes:
    """``size`` bytes of a stream, fewer only at its end (a decompressor's read may give fewer)."""
    parts, got = [], 0
    while got < size:
        part = f.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


# An input's options naming a record's fields (readers.jsonl.record_to_doc): of no use to any
# other format, where they were ignored without a word (carry_meta = false kept nothing out)
RECORD_OPTIONS = ("text_field", "id_field", "url_field", "language_field", "path_field", "meta_fields", "carry_meta")


def plan_shards(
    files: list[tuple[str, str]], fmt: str | None, domain: str, source: str, options: dict, limits: Limits,
    same: dict | None = None, in_place: bool = False, keys: dict | None = None,
) -> list[Shard]:
    """One Shard per file, or several byte/row-group ranges for large splittable files; a file
    in ``same`` (its relative path -> where it is read, said on its quarantine row) is one
    shard that is not read, only accounted for. ``in_place``: the files are a folder's or a
    glob's, which would list a compressed file again beside its copy: a hint to decompress one
    says to move the original away (common.MOVE_AWAY). ``keys``: (size, update time) of
    files by URI from their listing (``list_files``): a bucket's file is not asked its size
    again, a request each, one after another at launch."""
    opts = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    shards = []
    jsonl: list = []  # per JSONL file checked: why it gives no document, or None
    from curate.readers.jsonl import SCAN_BYTES

    scan = [SCAN_BYTES]  # how much more of the input's JSONL files may be searched for a field
    columns: list = []  # per Parquet file checked: which named id, url or meta column it lacks, or None
    unknown: list = []  # files whose format neither name nor content tells: named together
    refused: list = []  # (path, rel, why) of files curate reads only once converted: named together
    not_lines: list = []  # (shard index, why) of files given as JSON Lines that are not (one JSON array)
    lines_ok = False  # a file of the input was JSON Lines: the others are quarantined, not refused
    strays: list = []  # why files given as Parquet (WARC) are not: refused where no file is (a .txt given --format parquet)
    magic_ok = False
    for i, (path, rel) in enumerate(files):
        # the file as planned, before its bytes are looked at: its reader checks it is still that file
        key = file_key(path, (keys or {}).get(path))
        if same and rel in same:  # read under its other name: one quarantine row (common.read_batches)
            f = fmt or detect_format(path, domain) or "text"  # not read: any reader will do
            shards.append(Shard(path, rel, f, domain, source, tuple(sorted(opts + (("same_file_as", same[rel]),))), key=key))
            continue
        # Content checks (compression, Parquet schema) read each local file's first bytes; of a
        # remote input only its first file, not a round trip per file of a bucket at launch.
        look = i == 0 or not is_uri(path)
        tree = fmt == "source" or (fmt is None and domain == "code")  # its archives are binary files, excluded
        # a .parquet.gz was quarantined whole as read_error ('magic bytes not found')
        other = not_read_as_is(path, "--input", in_place, look=look) if not tree else None
        if other:  # read as it is, every line of it would be quarantined
            refused.append((path, rel, other))
            continue
        if not tree and path.lower().endswith(".epub"):  # a zip inside, but not an archive of files to unpack
            refused.append((path, rel, f"{path} is an EPUB book, a format curate does not read: convert it to plain text "
                            f"({shell.in_bash(path)}e.g. pandoc -t plain {shell.quote(path)} -o BOOK.txt) and give the .txt files as --input"))
            continue
        f = fmt or detect_format(path, domain)
        # JSON Lines too (a tar czf dump.jsonl.gz, a zip saved as .jsonl): their first bytes are read anyway
        kind = archive(path) if look and not tree and (f in (None, "jsonl") or path.lower().endswith(ARCHIVE_NAMES)) else None
        if kind:
            refused.append((path, rel, f"{path} is a {kind} archive: curate reads the files in it, not the archive; unpack it "
                            f"{shell.in_bash(path)}({UNPACK[kind].format(shell.quote(path))}) and give DIR as --input"))
            continue
        if f is None:
            unknown.append((path, rel))
            continue
        size = key[0] if key else input_size(path)
        stray = (not_parquet(path, rel, domain, in_place) if f == "parquet" else not_warc(path, rel, domain) if f == "warc"
                 else None) if look else None
        if stray:  # one stray file among Parquet (WARC) ones is quarantined whole by the reader (read_error, not_a_warc)
            strays.append(stray)
            shards.append(Shard(path, rel, f, domain, source, opts, key=key))
            continue
        magic_ok = magic_ok or (f in ("parquet", "warc") and size > 0)  # an empty file (Spark's _SUCCESS) is no Parquet file
        if f == "parquet" and look:
            from curate.readers.parquet import text_column_error

            error = text_column_error(path, rel, options)
            if error:
                raise InputError(error)
        if f == "parquet" and look and None not in columns:  # as for JSONL: an error only when no file has the field
            from curate.readers.parquet import field_column_error

            columns.append(field_column_error(path, rel, options))
        if f == "jsonl" and look:
            from curate.readers.jsonl import not_json_lines

            error = not_json_lines(path, rel, limits)
            if error:  # one stray file among JSON Lines is quarantined whole; refused if no file is JSON Lines
                not_lines.append((len(shards), error))
                shards.append(Shard(path, rel, f, domain, source, tuple(sorted(opts + (("not_json_lines", error),))), key=key))
                continue
            lines_ok = True
        if f == "jsonl" and look and None not in jsonl:  # an error only when no file of the input has the field
            from curate.readers.jsonl import text_field_error  # (a misspelling): one odd file is quarantined record by record

            jsonl.append(text_field_error(path, rel, options, budget=scan))
        # a bucket's file past the first is judged by its name, not opened at launch: its readers tell (read_jsonl)
        if f == "jsonl" and size > limits.split_bytes and not (compression(path) if look else path.lower().endswith((".gz", ".zst"))):
            told = opts if look else tuple(sorted(opts + (("compression_by_name", True),)))
            for start in range(0, size, limits.split_bytes):
                shards.append(Shard(path, rel, f, domain, source, told, start, min(size, start + limits.split_bytes), key))
        elif f == "parquet" and size > limits.split_bytes and (groups := _row_groups(path)):
            for g in range(groups):
                shards.append(Shard(path, rel, f, domain, source, opts, g, g + 1, key))
        else:
            shards.append(Shard(path, rel, f, domain, source, opts, key=key))
    if refused or unknown:  # every file to fix, in one message: fixed in one pass, not one run a file
        raise InputError("; and ".join(filter(None, [refused and all_refused(refused), unknown and unknown_formats(unknown, files)])))
    if strays and not magic_ok:  # nothing of the input would be read
        raise InputError(strays[0] + (f" (and {len(strays) - 1} other file{'s' * (len(strays) > 2)} of the input)" if len(strays) > 1 else ""))
    given = [k for k in options if k in RECORD_OPTIONS]  # as the user wrote them
    if given and shards and not any(sh.fmt in ("jsonl", "parquet") for sh in shards):
        raise InputError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to JSON Lines and Parquet records "
                         f"only; its files are {shards[0].fmt} ({shards[0].rel}{', ...' if len(shards) > 1 else ''}): "
                         f"leave {'it' if len(given) == 1 else 'them'} out, or give its format (format = \"jsonl\") if "
                         "its files are JSON Lines")
    if not_lines and not lines_ok:  # nothing of the input would be read: the user's to convert
        files_rel = [sh.rel for sh in shards]
        others = [files_rel[i] for i, _ in not_lines[1:]]
        more = (f" (and {len(others)} other file{'s' * (len(others) > 1)} of the input: {', '.join(others[:3])}"
                f"{', ...' if len(others) > 3 else ''})") if others else ""
        raise InputError(not_lines[0][1] + more)
    for errors in (jsonl, columns):  # checking stops at the first file that has the field (None)
        said = [e for e in errors if e]  # an empty or unreadable file (UNTOLD) vouches for no field
        if said and None not in errors:
            raise InputError(said[0] + (f" (and as much of its {len(said) - 1} other files)" if len(said) > 1 else ""))
    return shards


def _row_groups(path: str) -> int | None:
    """A Parquet file's row groups, from its footer; None where it has none to read (being written,
    cut short, a remote file not looked at that is no Parquet): one shard, which the reader
    quarantines whole (read_error), not pyarrow's ArrowInvalid at launch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with open_raw(path) as f:
            return pq.ParquetFile(f).metadata.num_row_groups
    except (pa.ArrowInvalid, OSError):
        return None


def read_shard(shard: Shard, limits: Limits, skipped: dict | None = None) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Read one shard: yields ("docs" | "ledger" | "quarantine", RecordBatch); ``skipped``
    (a dict) receives the counts of records that are not documents, by type."""
    yield from read_batches(shard, reader_for(shard.fmt), limits, skipped)
