"""JSON Lines: Dolma, CCNet/RedPajama, C4 and The-Stack style files (plain, .gz, .zst).

Field names are options (dotted paths reach into nested objects, e.g. ``metadata.url``);
each has a list of common defaults so the usual dumps load with no configuration.
Offsets are byte offsets of the line in the decompressed stream, so ids survive
re-reading in byte ranges.
"""
from __future__ import annotations

import functools
import json
import re
import shlex
from typing import Iterator

from curate.readers.common import (Bad, Doc, Limits, Shard, Skipped, compression_of, is_uri, loads, looks_binary, open_bytes, open_raw,
                                   without_bom)
from curate.readers.code import BINARY, SKIPPED_TEXT_CHARS, detect_language
from curate.readers.meta import (add_field, as_text, carried_meta, free_key, json_meta_value, meta_field_names, meta_name, meta_value,
                                 name_meta)
from curate.readers.notebook import NotebookError, is_notebook_record, notebook_script
from curate.snippets import MARGIN, redacted_head

TEXT_FIELDS = ("text", "content", "raw_content")
ID_FIELDS = ("id",)
URL_FIELDS = ("url", "metadata.url", "metadata.warc_url", "warc_url")
LANGUAGE_FIELDS = ("lang", "language", "programming_language")  # only read for code
PATH_FIELDS = ("path", "max_stars_repo_path", "filename")
REPO_FIELDS = ("repo_name", "max_stars_repo_name")  # The Stack v2 / v1: the path is inside this repository
# A line starting so (after white space) is a comment some tools write (a header, a line commented
# out): no JSON value starts with either, so it is never a record; skipped and counted, not quarantined.
COMMENT = (b"//", b"#")
BOM = b"\xef\xbb\xbf"


def json_lines(lines, where: str) -> Iterator[tuple[int, object]]:
    """(line number, value) of each JSON line of ``lines`` (bytes or str, a file's lines split at
    "\n" only: U+2028 may sit in a string), read as `curate run` reads them: a byte-order mark at
    a line's start dropped, blank and comment lines skipped, CRLF's "\r" white space. For the
    JSON Lines a command reads whole (evaluation sets, labelled sets); a line that is no JSON is
    a one-line error naming ``where`` and its line."""
    for i, line in enumerate(lines, 1):
        line = without_bom(line)
        head = line.lstrip()
        if not head or head.startswith(COMMENT if isinstance(line, bytes) else ("//", "#")):
            continue
        try:
            yield i, loads(line)
        except ValueError as e:  # UnicodeDecodeError too
            raise ValueError(f"{where}:{i}: not a JSON object line ({e})") from None


# a line `curate run` reads otherwise than a JSON Lines parser would: a BOM at its start, a comment
ODD_LINE = re.compile(rb"^(?:\xef\xbb\xbf|[ \t\r\f\v]*(?://|#))", re.M)
_ODD_START = re.compile(rb"\n[\xef#/ \t\r\f\v]")  # a line starting with a byte such a line may start with


def _odd_line(data: bytes) -> bool:
    """Whether a line of ``data`` (from a line's start) is an ODD_LINE: the regex only where some
    line starts with a byte one may (that search, for a newline and then one byte, is ~15x faster)."""
    if data[:1] not in b"\xef#/ \t\r\f\v" and not _ODD_START.search(data):
        return False
    return ODD_LINE.search(data) is not None


def as_read(path: str, limits: Limits | None = None) -> Iterator[bytes] | None:
    """A JSONL file's decompressed bytes with what `curate run` skips taken out (comment lines,
    a BOM at a line's start), for a parser that reads only JSON (polars' scan_ndjson stops at
    either), streamed in pieces of whole lines (never the whole file at once); None when the
    file has none of it, found by one streamed pass (read it as it is)."""
    limits = limits or Limits()
    with open_bytes(path, limits) as f:
        if _cr_line_ends(_first_line(f, f.read(4096), limits)):  # as `curate run` refuses it (not_json_lines), not one long line
            raise ValueError(cr_file_error(path, path))
    with open_bytes(path, limits) as f:
        tail, inside = b"", False  # inside: in a line whose start was judged, skipped to its end
        for chunk in iter(lambda: f.read(1 << 22), b""):
            if inside:
                chunk, inside = chunk.partition(b"\n")[2], b"\n" not in chunk
            data = tail + chunk
            cut = data.rfind(b"\n") + 1  # a line's start is checked once its line is whole (or at the end)
            if _odd_line(data[:cut]):
                break
            tail = data[cut:]
            if len(tail.lstrip(b" \t\r\f\v")) >= 3:  # its start can be judged (a BOM, "//"): now, not held to its end
                if _odd_line(tail):
                    break
                tail, inside = b"", True
        else:
            if not _odd_line(tail):
                return None
    return _without_odd_lines(path, limits)


def _without_odd_lines(path: str, limits: Limits, piece: int = 1 << 22) -> Iterator[bytes]:
    """The file's bytes without comment lines and line-start BOMs, in pieces of about ``piece``
    bytes; a line longer than 1 MiB read 1 MiB at a time, its start judged at its first (it
    was held whole, and once more joined: a dump's one line of gigabytes)."""
    with open_bytes(path, limits) as f:
        out, held, inside, skip = [], 0, False, False
        for part in iter(lambda: f.readline(1 << 20), b""):
            if not inside:
                part = without_bom(part)
                # a comment heading old-Mac records is no comment line (read_jsonl quarantines it): kept, to be said
                skip = is_comment(part)
                if skip and not part.endswith(b"\n") and b"\r" in part:  # its first record past this piece: judged
                    part = _line_on(f, part, limits.max_record_bytes * 2 + 2)  # on as much as read_jsonl reads (its cap)
                    skip = is_comment(part)
            inside = not part.endswith(b"\n")
            if not skip:
                out.append(part)
                held += len(part)
            if held >= piece:
                yield b"".join(out)
                out, held = [], 0
        if out:
            yield b"".join(out)


def is_comment(line: bytes) -> bool:
    """Whether a line (its BOM dropped) is a comment line `curate run` skips: not one whose
    comment heads records separated by a bare "\r" (``// exported\r{...}\r{...}``)."""
    return line.lstrip().startswith(COMMENT) and not _cr_line_ends(line)


def get_path(obj: dict, dotted: str):
    if "." not in dotted:  # most names: one lookup
        return obj.get(dotted) if isinstance(obj, dict) else None
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def first(obj: dict, names):
    for n in names:
        v = get_path(obj, n)
        if v is not None:
            return v
    return None


def given_fields(options: dict) -> list[tuple[str, tuple]]:
    """(option, names) to look for in an input's records: the text field (its defaults when not
    given) and the id and url fields the user named, whose misspelling would otherwise leave
    every source_id or url null without a word."""
    out = []
    for key, default in (("text_field", TEXT_FIELDS), ("id_field", None), ("url_field", None)):
        names = options.get(key) or default
        if names:
            out.append((key, (names,) if isinstance(names, str) else tuple(names)))
    meta = options.get("meta_fields") or ()  # each one named: its own field, not alternatives
    return out + [("meta_fields", (name,)) for name in ((meta,) if isinstance(meta, str) else meta)]


def _which_records(n: int | None, counted: bool) -> str:
    """The records a field was looked for in: ``n`` first ones; ``counted``: they were all the
    file's ('its first 1 records' was said of a file of one); None: the whole file, uncounted."""
    if n is None:
        return "its records"
    return ("its only record" if n == 1 else f"its {n} records") if counted else f"its first {n} records"


def field_error(key: str, names: tuple, rel: str, n: int | None, fields: list, counted: bool = False) -> str:
    """``n``: how many first records were looked at (``counted``: all the file has); None: the
    whole file was."""
    which = _which_records(n, counted)
    what = {"text_field": "a text field", "id_field": "the id field", "url_field": "the url field",
            "meta_fields": f"the meta field {names[0]!r}"}[key]
    said = (f"{which} has no {what.split(' ', 1)[1]}" if which == "its only record" else f"none of {which} has {what}")
    if key == "meta_fields":
        return f"{rel}: {said} (its fields: {', '.join(fields)}); fix meta_fields in [[inputs]]"
    return (f"{rel}: {said} (none of {', '.join(names)}; its fields: "
            f"{', '.join(fields)}); give --{key.replace('_', '-')} after its --input ({key} in [[inputs]])")


# How far past their first records an input's files are searched, together, for an id, url or
# meta field those lack (decompressed bytes): a field only later records have is not a
# misspelling. Where this runs out before the field is seen, the input is not refused (it
# cannot be told from a misspelling), so a misspelling costs at most this much reading.
SCAN_BYTES = 1 << 30

# A file's check found nothing to look at (no record or column): it neither has a field nor
# lacks it, so it neither refuses its input nor vouches for the field (falsy, unlike an error).
UNTOLD = ""


def _named_later(f, first: bytes, wanted: list, missing: set, budget: list) -> bool | None:
    """Whether ``first`` and the rest of the stream ``f`` name every still ``missing`` field (its
    last dotted part, quoted as JSON writes it; ``missing`` keeps those never named); None when
    the ``budget`` (``[bytes left]``, shared by an input's files) ran out before it could tell."""
    needles = [{json.dumps(name.rsplit(".", 1)[-1]).encode(), json.dumps(name.rsplit(".", 1)[-1], ensure_ascii=False).encode()}
               for name in (n for i in missing for n in wanted[i][1])]
    keep = max(len(x) for group in needles for x in group) - 1
    owner = [i for i in missing for _ in wanted[i][1]]  # needle group -> its entry of wanted
    tail, chunk = b"", first
    while missing:
        chunk = chunk or f.read(1 << 20)
        if not chunk:
            return False
        if budget[0] <= 0:
            return None
        budget[0] -= len(chunk)
        data = tail + chunk
        missing -= {owner[k] for k, group in enumerate(needles) if any(x in data for x in group)}
        tail, chunk = (data[-keep:] if keep else b""), b""
    return True


def text_field_error(path: str, rel: str, options: dict, records: int = 100, budget: list | None = None) -> str | None:
    """Why a JSONL file gives no document, or none with the id or url the user named: none of its
    first ``records`` objects has a field the text field (or the given id/url field) names (a
    misspelling), said before the run instead of quarantining every record or leaving every
    source_id null; None when one has each (even null); UNTOLD when no object could be read
    (an empty file, one unreadable from its start), which vouches for no field. An id, url or
    meta field those records lack is looked for in the rest of the file, as far as ``budget``
    (``[bytes]``, shared by an input's files) goes, and only then said missing. A file cut
    short (a truncated .gz) is judged by the records before the cut: the reader reads no more.
    A file whose first ``records`` lines hold no JSON object is not JSON Lines (a CSV given
    --format jsonl): said so, without reading it to its end."""
    wanted = given_fields(options)
    missing = set(range(len(wanted)))  # by position: each meta field is its own entry
    fields, n, whole, lines, head, odd = None, 0, True, 0, None, None
    counted = False  # the file's every record was among the first ``records``: n counts them
    piece, long = 1 << 20, 0  # read size; bytes read so far of a line longer than it
    try:
        with open_bytes(path, Limits()) as f:
            for line in iter(lambda: f.readline(piece), b""):
                if n == records or (lines == records and fields is None):  # the latter: not JSON Lines at all
                    whole, rest = False, line
                    break
                if long or (len(line) == piece and not line.endswith(b"\n")):
                    # a line longer than a read (a long record, or no line breaks at all): its
                    # pieces are no lines of another format; past a record's limit the reader
                    # quarantines it, and this check judges by what came before
                    long = 0 if line.endswith(b"\n") else long + len(line)
                    if long > Limits().max_record_bytes:
                        whole, rest = False, b""
                        break
                    continue
                if line.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(COMMENT):
                    continue
                if line.strip():
                    lines += 1
                    head = head or line.removeprefix(b"\xef\xbb\xbf").strip()
                try:
                    obj = loads(line.removeprefix(b"\xef\xbb\xbf"))
                except ValueError:
                    continue  # a broken line: the reader quarantines it
                if not isinstance(obj, dict):
                    continue
                n += 1
                kind = _not_text(obj, wanted[0][1])  # a list of paragraphs, an object: no text to read
                odd = odd or kind
                missing -= {i for i in missing if any(_present(obj, name) for name in wanted[i][1]) and (i or not kind)}
                if not missing:
                    return None
                fields = fields or list(obj)
            counted = whole
            if fields is not None and 0 not in missing and not whole:  # the text field is there: are the others further on?
                named = _named_later(f, rest, wanted, missing, [SCAN_BYTES] if budget is None else budget)
                if named is not False:
                    return None
                whole = True
    except Exception:  # noqa: BLE001 - unreadable from here on: the reader quarantines the rest
        whole = False
    if fields is None and lines and (lines == records or whole):  # the first 100 lines, or all of a shorter file
        start = redacted_head(head[:40 + MARGIN].decode("utf-8", "replace"), 40)  # a bare token line quoted: <KEY>
        how = ("not JSON Lines; give the --format the file has" if head != b"{" else  # json.dumps(r, indent=2), jq's default
               f"records spread over several lines (pretty-printed JSON) are not JSON Lines: convert it {_in_bash(path)}({_to_lines(path, rel, '.')})")
        which = "its one line is not" if whole and lines == 1 else f"none of its {'' if whole else 'first '}{lines} lines is"
        legacy = _legacy_json(head)
        if legacy:  # JSON Lines are UTF-8: a legacy dump is converted, not read by guess
            return (f"{rel}: {which} a JSON object in UTF-8 (it starts {start!r}); it reads as JSON in {legacy}, not UTF-8, "
                    f"which JSON Lines are: convert it {_in_bash(path)}({_to_lines(path, rel, tool=_to_utf8(legacy))})")
        return f"{rel}: {which} a JSON object (it starts {start!r}): {how}"
    if fields is None:
        return UNTOLD
    if 0 in missing and odd:  # as a Parquet text column of lists is (parquet.text_column_error)
        return (f"{rel}: its text field {odd[0]!r} holds {odd[1]}, not text, in {_which_records(n, counted)}; give --text-field "
                f"naming a text field after its --input (text_field in [[inputs]]; its fields: {', '.join(fields)})")
    key, names = wanted[min(missing)]
    return field_error(key, names, rel, None if whole and not counted else n, fields, counted)


JSON_KINDS = {dict: "an object", list: "a list", int: "a number", float: "a number", bool: "a boolean"}


def _not_text(obj: dict, names) -> tuple[str, str] | None:
    """(the field, what it holds) when the text field a record has holds no text nor null."""
    name = next((n for n in names if get_path(obj, n) is not None), None)
    value = get_path(obj, name) if name else None
    return None if value is None or isinstance(value, str) else (name, JSON_KINDS.get(type(value), type(value).__name__))


def not_json_lines(path: str, rel: str, limits: Limits | None = None) -> str | None:
    """Why a file given as JSON Lines is not, from its first bytes: UTF-16/32 text (PowerShell's
    `> x.jsonl`), one JSON array (json.dump(records)) or arrays, one a line, whose records would
    all be quarantined (every line, or the one line); None when it may be (a first line holding
    a whole array followed by an object: that line alone is quarantined)."""
    from curate.readers.common import wide_encoding

    try:  # the run's limits: a first record read on to its end stops at its max_file_bytes, as the run does
        with open_bytes(path, limits or Limits()) as f:
            head = f.read(4096)
            wide = wide_encoding(head)
            bare = None if wide else _utf16_without_bom(head)  # every line quarantined (a NUL byte beside each ASCII one)
            if wide or bare:  # said with the command that converts it, old-Mac line ends too (converted, refused again)
                enc = wide[:6].upper() if wide else bare
                cr = _cr_line_ends(_to_line_end(f, head).decode(wide[:6] if wide else bare, "ignore").encode("utf-8"))
                tool = f"iconv -f {enc} -t UTF-8" + f" | {TR}" * cr
                ends = r", with a \n after each record, not a bare \r (old Mac line ends)" if cr else ""
                return (f"{rel} is {enc} text ({'it starts with' if wide else 'without'} a byte-order mark); JSON Lines "
                        f"must be UTF-8{ends}: convert it {_in_bash(path)}({_to_lines(path, rel, tool=tool)})")
            head = _first_line(f, head, limits)
            if _cr_line_ends(head):
                return cr_file_error(path, rel)
            if not without_bom(head).lstrip().startswith(b"["):
                return None
            # JSON Lines whose first record is an array: each line a whole JSON value, and more lines
            line, _, after = head.partition(b"\n")
            first, second = _value(line), _value(after.partition(b"\n")[0] if b"\n" in after else after + f.readline(1 << 20))
    except Exception:  # noqa: BLE001 - unreadable: the reader quarantines it with the error
        return None
    if isinstance(first, list) and isinstance(second, dict):
        return None  # objects after an odd first line: that line alone is quarantined
    if isinstance(first, list) and isinstance(second, list):  # jq -c '.[]' would cut every record into its fields
        return (f"{rel} holds a JSON array on each line, not an object: JSON Lines records are objects "
                "(one per line, with a text field)")
    return f"{rel} is one JSON array, not JSON Lines (one object per line): convert it {_in_bash(path)}({_to_lines(path, rel)})"


def _utf16_without_bom(head: bytes) -> str | None:
    """'UTF-16LE' or 'UTF-16BE' when ``head`` is JSON written in UTF-16 with no byte-order mark
    (iconv -t UTF-16LE, .NET's Encoding.Unicode): its first character, after white space, is
    ``{`` or ``[`` with a NUL byte beside it (never so in UTF-8 JSON)."""
    for enc in ("UTF-16LE", "UTF-16BE"):
        text = head[: min(len(head), 64) // 2 * 2].decode(enc, "replace")
        if "\0" not in text and text.lstrip(" \t\r\n")[:1] in ("{", "["):
            return enc
    return None


def _to_line_end(f, head: bytes) -> bytes:
    """A stream's first bytes ``head``, read on from ``f`` to its first line's end (up to 1 MiB
    more) where they hold none."""
    return head if b"\n" in head else head + f.readline(1 << 20)


def _line_on(f, line: bytes, cap: int) -> bytes:
    """``line``, a line's first bytes, read on from ``f`` to its end or ``cap`` bytes."""
    parts, n = [line], len(line)
    while n < cap and not parts[-1].endswith(b"\n"):
        more = f.readline(min(1 << 20, cap - n))
        if not more:
            break
        parts.append(more)
        n += len(more)
    return b"".join(parts)


def _first_line(f, head: bytes, limits: Limits | None = None) -> bytes:
    """``head`` read on to its first line's end (``_to_line_end``: 1 MiB more at most), for
    ``_cr_line_ends``. Where that MiB ends inside the line's first record (not blank nor a
    comment), the record is read on to its end at a bare "\\r" or the line's (1 MiB at a time,
    never held: a line may be gigabytes; past ``read_jsonl``'s read of a line too, twice
    max_record_bytes, where it stopped and the run quarantined the whole file as one record too
    large): a record over 1 MiB opening ``{`` and ending ``}`` there stands as ``{}`` before
    the bytes after it. It held no bare "\\r" in the first MiB, so such a file was read, and
    quarantined in the run, not refused with the tr line as a smaller one is. Such a record not
    an object: judged by the first MiB, as before. The record is read on as far as the run reads
    a line (twice ``limits.max_record_bytes``), HEAD_BYTES at least, never to the file's end: a
    one-line dump or a bomb was decompressed up to max_file_bytes (4 GiB) here, then again by the
    run; a first record longer is judged as it is (the run quarantines the line)."""
    data = _to_line_end(f, head)
    if b"\n" in data or len(data) < len(head) + (1 << 20):
        return data
    budget = max(HEAD_BYTES, (limits or Limits()).max_record_bytes * 2 + 2) - len(data)
    start = 0
    for m in _BARE_CR.finditer(data):  # the parts before the first record: blank, comments
        part = without_bom(data[start : m.start()]).strip()
        if part and not part.startswith(COMMENT):
            return data  # the first record ends inside: judged as it is
        start = m.end()
    record = without_bom(data[start:]).lstrip()
    if not record.startswith(b"{"):
        return data
    after = _after_record(f, record.rstrip()[-1:], budget)[0]
    return data[:start] + b"{}" + after if after else data


def _after_record(f, last: bytes, budget: int | None = None) -> tuple[bytes, int, bool]:
    """A line's record, its last bytes read so far ending ``last``, read on from ``f`` to its
    first bare "\r" (1 MiB at a time, never held), or the line's end, or ``budget`` bytes:
    (the bytes from that "\r" to the end of their MiB where the record before it ends ``}``,
    else b""; the bytes read; whether the line ended). The up-front look's (``_first_line``)
    and the run's at a line over its read (``read_jsonl``): such a record's old-Mac records."""
    n = 0
    while budget is None or n < budget:
        chunk = f.readline(1 << 20)
        if chunk.endswith(b"\r"):  # a CRLF's "\r", or a bare one: the next byte tells
            chunk += f.read(1)
        n += len(chunk)
        if not chunk:
            return b"", n, True
        m = _BARE_CR.search(chunk) if b"\r" in chunk else None  # a record's MiB: a find, no regex
        if m is None:
            if chunk.endswith(b"\n"):  # the line ended: no old-Mac records
                return b"", n, True
            last = chunk.rstrip()[-1:] or last
            continue
        last = chunk[: m.start()].rstrip()[-1:] or last
        return (chunk[m.start():] if last == b"}" else b""), n, chunk.endswith(b"\n")
    return b"", n, False


HEAD_BYTES = 64 << 20  # the least the up-front look reads of a first record on: the default's line read
_BARE_CR = re.compile(rb"\r(?!\n)")
TR = r"tr '\r' '\n'"
CR_DETAIL = (r"records separated by a bare \r (old Mac line ends), not \n as JSON Lines does: convert the file "
             f"({TR} < FILE > NEW.jsonl; a CRLF becomes a blank line, which is skipped)")


_PARTS = 5  # parts of a line looked at after a first one that is no record
_MORE = re.compile(rb"[^ \t\n\r\x0b\x0c]")  # what bytes.strip() keeps


def _cr_line_ends(data: bytes) -> bool:
    """Whether the first line of ``data`` holds records separated by a bare "\\r" (classic Mac
    OS line ends): its first part between such "\\r"s that is neither blank nor a comment (a
    header `// exported ...`, which would hide the records after it) is a JSON value, and more
    follows (after such a header, one record is enough: the header hides it); or, that part
    being no value (a record cut short, one with a raw "\\r" in a string: the whole file was said
    to be no JSON Lines), two of the next _PARTS are JSON objects. JSON has "\\r" only as white
    space or escaped, so a broken record with one raw in a string is no such line (no part of it
    is an object), nor is a CRLF line end, nor one followed by a line holding a JSON object (JSON
    Lines whose first record is broken by raw "\\r"s)."""
    line, _, after = data.partition(b"\n")
    start, parts, commented = 0, [], False
    for m in _BARE_CR.finditer(line):
        part = without_bom(line[start : m.start()]).strip()
        start = m.end()
        if part and not part.startswith(COMMENT):
            more = _MORE.search(line, start) is not None
            if not parts:
                if not more and not commented:  # a CRLF line end, not parsed
                    return False
                if _value(part) is not None:  # after a comment, one record is hidden too (`// exported\r{...}\r`)
                    return True
                if not more:
                    return False
            parts.append(part)
            if len(parts) > _PARTS or not more:
                break
        else:
            commented = commented or bool(part)
    else:
        last = without_bom(line[start:]).strip()
        if not parts:  # a comment, then a record with no \r after it
            return commented and bool(last) and not last.startswith(COMMENT) and _value(last) is not None
        parts.append(line[start:])  # after the last bare "\r"
    # a JSON object on the line after: the file's records end in \n, its broken first line is one bad_json row
    lines_after = isinstance(_value(after.partition(b"\n")[0]), dict)
    return len(parts) > 2 and not lines_after and sum(isinstance(_value(p), dict) for p in parts[1:]) >= 2


def cr_file_error(path: str, rel: str) -> str:
    """Why a file whose first line holds records separated by a bare "\\r" is not read: the
    reader would take its records for one line (bad_json, or record_too_large past the limit)."""
    return (rf"{rel} ends its lines with a bare \r (old Mac line ends), not \n as JSON Lines does: convert it "
            f"{_in_bash(path)}({_to_lines(path, rel, tool=TR)})")


def _value(line: bytes):
    """The JSON value a whole line holds; None when it holds none (a part of a pretty-printed
    array, a line cut at the read limit, the end of the file)."""
    try:
        return loads(line.removeprefix(b"\xef\xbb\xbf")) if line.strip() else None
    except ValueError:
        return None


def _in_bash(path: str) -> str:
    """"in bash " before _to_lines's command where it quotes the file's name as $'...' (shell.in_bash)."""
    from curate import shell

    return shell.in_bash(path.rsplit("/", 1)[-1] if is_uri(path) else path)


def _to_lines(path: str, rel: str, each: str = ".[]", tool: str | None = None) -> str:
    """The shell line that writes a JSON array file's records (``each``: ``.`` for a file of
    pretty-printed objects) as JSON Lines beside it, to a new name (`jq ... x.jsonl > x.jsonl`
    would have the shell empty the input before jq reads it); ``tool``: a filter of standard
    input run instead of jq (tr). The file is named by its path (its base name alone was found
    only from its own folder), a bucket's copied here first as other_compression_error says;
    each name is one shell word (bare, 'my export.jsonl' was two, and a name's $(...) or ';' ran
    when the line was pasted)."""
    from curate import shell
    from curate.readers.common import compression

    remote = is_uri(path)
    where = path.rsplit("/", 1)[-1] if remote else path
    name = where.rsplit("/", 1)[-1]
    folder = where[: len(where) - len(name)]  # "/data/" ("" for a bucket's copy here)
    kind = compression(path)
    base = name.removesuffix(".gz").removesuffix(".zst")  # dump.json.gz -> dump.json
    stem = base.rsplit(".", 1)[0] if "." in base else base
    target = shell.quote(folder + (f"{stem}.jsonl" if f"{stem}.jsonl" not in (name, base) else f"{stem}.lines.jsonl"))
    filt = tool or f"jq -c {shlex.quote(each)}"
    if kind:
        read = f"{kind} -dc {shell.quote(where)} | {filt}"
    else:  # a filter reads the file on its standard input, the first of a pipe ("iconv ... | tr ...")
        first, bar, rest = filt.partition(" | ")
        read = f"{first} < {shell.quote(where)}{bar}{rest}" if tool else f"{filt} {shell.quote(where)}"
    return ("copy it here, then " if remote else "") + f"{read} > {target}"


def _legacy_json(line: bytes) -> str | None:
    """The legacy code page a line that is not UTF-8 reads as a JSON object in (as a text
    file's is detected), else None."""
    from curate.readers.common import decode_text

    try:
        line.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    text, enc = decode_text(line)
    try:
        return enc if not enc.startswith("utf") and isinstance(json.loads(text), dict) else None
    except ValueError:
        return None


# iconv's names where they are not the codec's spelled its way; and codecs iconv lacks.
_ICONV = {"latin_1": "ISO-8859-1", "mac_roman": "MACINTOSH", "mac_latin2": "MAC-CENTRALEUROPE", "mac_iceland": "MAC-IS",
          "ptcp154": "PT154", "kz1048": "RK1048", "shift_jisx0213": "SHIFT_JISX0213", "shift_jis_2004": "SHIFT_JISX0213",
          "euc_jis_2004": "EUC-JISX0213"}
_NOT_IN_ICONV = frozenset({"cp1006", "cp720", "hz", "iso2022_jp_1", "iso2022_jp_2004", "iso2022_jp_ext", "mac_greek", "mac_turkish"})


def _to_utf8(enc: str) -> str:
    """The filter that converts text in the Python codec ``enc`` to UTF-8: iconv with its name
    for it (cp1250 -> CP1250, iso8859_2 -> ISO-8859-2, latin_1 -> ISO-8859-1: 'LATIN-1' it
    refused), Python where iconv lacks the code page."""
    if enc in _NOT_IN_ICONV:
        return f"python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode(\"{enc}\").encode())'"
    name = _ICONV.get(enc) or enc.upper().replace("ISO8859_", "ISO-8859-").replace("ISO2022_", "ISO-2022-").replace("_", "-")
    return f"iconv -f {name} -t UTF-8"


def _present(obj: dict, dotted: str) -> bool:
    head, _, last = dotted.rpartition(".")
    parent = get_path(obj, head) if head else obj
    return isinstance(parent, dict) and last in parent


def _names(shard: Shard, key: str, defaults):
    v = shard.opt(key)
    if v is None:
        return defaults
    return (v,) if isinstance(v, str) else tuple(v)


def _output_path(path: str, file_path: str, repo) -> bool:
    """Whether ``path`` is a curate output's path column for its meta's ``file_path`` (and
    ``repo_name``): ``dump.jsonl:octo/app/src/main.py``, as ``record_to_doc`` writes it (an
    older curate's kept a leading ``./``, ``dump.jsonl:./src/a.py``)."""
    repo = f"{repo}/" if isinstance(repo, str) else ""
    return path.endswith(f":{repo}{file_path.lstrip('/')}") or path.endswith(f":{repo}{file_part(file_path)}")


_LEADING = re.compile(r"\A(?:\.?/)+")  # a path's leading "/", "./": no other file


def file_part(path: str) -> str:
    """A code file's path as the path column ends with it (``audit --why`` finds it so): without
    its leading ``/`` and ``./`` (``./src/a.py``, ``//src/a.py`` -> ``src/a.py``)."""
    return _LEADING.sub("", path, count=1)


def _same_path(a: str, b: str) -> bool:
    """Whether two spellings of a file's path differ only by leading ``/`` or ``./``."""
    return file_part(a) == file_part(b)


class _Pairs(list):
    """A JSON object as its pairs in order, a key given twice there twice (``object_pairs_hook``)."""

    __slots__ = ()


def _given(pairs: _Pairs, parts: list[str]) -> list:
    """Every value a line's pairs give the dotted name ``parts``, each time a key on its way is given."""
    out = []
    for k, v in pairs:
        if k == parts[0]:
            if len(parts) == 1:
                out.append(v)
            elif isinstance(v, _Pairs):
                out.extend(_given(v, parts[1:]))
    return out


# The escapes JSON may spell a key's character with besides \uXXXX
_SHORT_ESCAPES = {'"': rb'\\"', "\\": rb"\\\\", "/": rb"\\/", "\b": rb"\\b", "\f": rb"\\f", "\n": rb"\\n",
                  "\r": rb"\\r", "\t": rb"\\t"}


@functools.lru_cache(maxsize=64)
def _spellings(names: tuple) -> tuple[dict[str, list[tuple[bytes, re.Pattern]]], re.Pattern]:
    """The text field names' parts (``a.b``: ``a``, ``b``) quoted as written plainly (and that
    followed by a colon: a key, not a value, ``"kind": "text"``), and a pattern
    of the escapes JSON may spell one of their characters with (``\\u0074`` for ``t``, either
    case; ``\\/``): a key spelled so, ``"te\\u0078t"``, is ``text`` to JSON, unseen by its plain name."""
    parts = sorted({p for n in names for p in n.split(".")})
    units, short = set(), set()
    for c in "".join(parts):
        utf16 = c.encode("utf-16-be")  # \uXXXX a unit, an astral character's two
        units.update(utf16[i : i + 2].hex().encode() for i in range(0, len(utf16), 2))
        if c in _SHORT_ESCAPES:
            short.add(_SHORT_ESCAPES[c])
    pattern = b"|".join([rb"\\u(?i:" + b"|".join(sorted(units)) + b")"] * bool(units) + sorted(short))
    quoted = {p: b'"%s"' % p.encode("utf-8") for p in parts}
    keys = {p: (q, re.compile(re.escape(q) + rb"\s*:")) for p, q in quoted.items()}
    return {n: [keys[p] for p in n.split(".")] for n in names}, re.compile(pattern or rb"(?!)")


def _given_names(obj: dict, names: tuple) -> Iterator[str]:
    """The text field names a record may have given twice: up to the one its text was taken from
    (``first``), each one it has, null or not (a name it has not was never given: JSON keeps a
    key's last value), or a dotted one whose first part it has (that part given twice)."""
    for name in names:
        if name.partition(".")[0] in obj:
            yield name
            if get_path(obj, name) is not None:
                return


def _text_twice(line: bytes, obj: dict, names) -> str | None:
    """Why a JSON line giving its text field twice (``{"text": "a", "text": "b"}``; a key spelled
    with escapes, ``"te\\u0078t"``, is the same; a dotted ``text_field``'s key, or one on its way)
    is no record: ``json.loads`` keeps the last, the first text was lost without a word (a text
    then null: quarantined as a null text). Two values that are not null and differ, or a null
    last, are; the same text twice, or a null then a text, lose nothing. Looked for only where a
    name's part is a key twice in the line or a character of one is escaped (``_spellings``): a
    count and a search a line (its keys counted where the name is quoted twice: a line holding
    "text" as a value too was parsed again, a 100 MB one 2.3 s and 200 MB), then the line parsed
    again for its pairs."""
    names = tuple(names)
    quoted, escaped = _spellings(names)
    if escaped.search(line) is None and not any(
            line.count(q) > 1 and len(key.findall(line)) > 1 for n in _given_names(obj, names) for q, key in quoted[n]):
        return None
    try:
        pairs = json.loads(line.decode("utf-8"), object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return None
    for name in names:  # up to the name the text was taken from (``first``)
        value = get_path(obj, name)
        given = [v for v in _given(pairs, name.split(".")) if v is not None]
        if len({json.dumps(v, sort_keys=True) for v in given}) > 1 or (value is None and given):
            last = "" if value is not None else ", the last null"
            return f"text field {name!r} given {len(given) + (value is None)} times{last} (a JSON reader keeps the last only)"
        if value is not None:
            return None
    return None


def record_to_doc(obj, offset: int, shard: Shard, from_json: bool = False, line: bytes | None = None) -> Doc | Bad:
    """Map one parsed record (a dict) to a Doc, or a Bad with the reason it cannot be one.
    ``from_json``: ``obj`` as json.loads made it, whose values (text keys, no bytes) are what the
    meta JSON holds: not walked by ``meta_value`` (a Parquet row's are). The walk, a call a
    value, made reading Dolma's pages 3% slower, CCNet's 1.2x (line_ids: lists of numbers;
    bench/bench_read_meta.py), and a meta nested 500 deep passed Python's recursion limit."""
    if not isinstance(obj, dict):
        return Bad(offset, "not_an_object", f"JSON value of type {type(obj).__name__}, expected an object")
    text_fields = _names(shard, "text_field", TEXT_FIELDS)
    text = first(obj, text_fields)
    uid = first(obj, _names(shard, "id_field", ID_FIELDS))
    uid = as_text(uid) if uid is not None else None  # kept on a quarantine row too: found by the user's own id
    if line is not None and (twice := _text_twice(line, obj, text_fields)):
        return Bad(offset, "duplicate_text_field", twice, user_id=uid)
    if text is None:
        null = next((n for n in text_fields if _present(obj, n)), None)
        return Bad(offset, "missing_text_field", f"text field {null!r} is null" if null
                   else f"none of the fields {list(text_fields)} is present", user_id=uid)
    if isinstance(text, bytes) and not from_json:  # a Parquet binary column (Hive, Spark): its UTF-8
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            return Bad(offset, "invalid_utf8", str(e), user_id=uid)
    if not isinstance(text, str):
        return Bad(offset, "text_not_string", f"text field holds a {type(text).__name__}", user_id=uid)
    url = first(obj, _names(shard, "url_field", URL_FIELDS))
    meta = carried_meta(obj, walk=not from_json, carry=shard.opt("carry_meta", True))
    for name in meta_field_names(shard.opt("meta_fields")):
        v = get_path(obj, name)
        if v is not None:
            # a field's text, keys and text inside as a Parquet column's (meta_text: an object's b'v' was
            # the byte v to the meta JSON's reader), a JSON meta's value (meta.x, metadata.x) as that
            # meta is taken (carried_meta)
            own = from_json and name.partition(".")[0] in ("meta", "metadata")
            add_field(meta, name, v if own else json_meta_value(v) if from_json else meta_value(v))
    language = None
    path = None
    skip_rule = skip_chars = None
    if shard.domain == "code":
        lang = first(obj, _names(shard, "language_field", LANGUAGE_FIELDS))
        language = as_text(lang).lower() if lang is not None else None
        p = first(obj, _names(shard, "path_field", PATH_FIELDS))
        carried = meta.get("file_path")  # a curate output's: its path column is where that run read it (dump.jsonl:repo/path)
        pm = None  # p as the meta JSON holds it (name_meta), where the carried meta's is kept
        if isinstance(carried, str) and p is not None:
            # compared as the path column spells names (meta_name: the meta's escaped b'x.py is b'x.py there)
            p, was, had = as_text(p), meta_name(carried), meta.get("repo_name")
            # an older curate's unescaped name (meta_name gives it as it is) escaped as meta now
            kept = carried if was != carried else name_meta(was)
            # /src/a.py and src/a.py (_same_path): one file, the meta's spelling kept
            if _output_path(p, was, meta_name(had) if isinstance(had, str) else had) or _same_path(p, was):
                p, pm = was, kept
        if carried is not None and p is not None and pm is None:
            # the record's own meta.file_path (another path, or no text: 5, a list): kept as it is, not replaced
            meta[free_key(meta, "file_path", meta.pop("file_path"), 2)] = carried
        if p is not None:
            meta["file_path"] = pm if pm is not None else name_meta(p)  # escaped as any meta text: b'x.py was bytes
            p = as_text(p)
            repo = first(obj, REPO_FIELDS)
            rm = None  # repo as the meta holds it, where the carried meta's is kept
            from_meta = repo is None and isinstance(carried, str)  # a curate output's own: no other to keep
            if from_meta:
                repo = rm = meta.get("repo_name")
                repo = meta_name(repo) if isinstance(repo, str) else repo
            if repo is not None:
                rm = rm if isinstance(rm, str) and rm != repo else name_meta(repo)  # an older curate's unescaped: escaped
                repo = as_text(repo)
                if not from_meta and meta.get("repo_name", rm) != rm:  # the record's own (not the file's repository): kept, not replaced
                    own = meta.pop("repo_name")
                    meta[free_key(meta, "repo_name", own, 2)] = own
                meta["repo_name"] = rm
            # Shown in the path column (ledger, audit) after the dump's name, which with the
            # offset still says where the record is: dump.jsonl:octo/app/src/main.py
            # (the path without a leading / or ./: it held a ./, and which of two such spellings a record gave where)
            path = f"{shard.rel}:{f'{repo}/' if repo is not None else ''}{file_part(p)}"
            if language is None:  # no language field: the file's name says it, as in a source tree
                language = detect_language(p, without_bom(text[:256]))  # a BOM before a shebang, as a tree's file
        if looks_binary(text[:8192].encode("utf-8", "surrogatepass")):  # "\u0000\u0001...": as a tree's binary file
            return Bad(offset, "binary", f"{BINARY} ({path[len(shard.rel) + 1:]})" if path else BINARY, user_id=uid)
        if is_notebook_record(language, p if p is not None else meta.get("file_path")) and without_bom(text).lstrip().startswith("{"):  # not yet a script
            try:
                text, language, more = notebook_script(text)
                for k, v in more.items():  # the record's own meta.notebook kept (update replaced it)
                    add_field(meta, k, v)
            except NotebookError as e:  # as in a source tree: not a notebook is quarantined
                if e.reason != "unknown_language":
                    return Bad(offset, e.reason, str(e), user_id=uid)
                skip_rule, skip_chars, text = e.reason, len(text), text[:SKIPPED_TEXT_CHARS]  # logged, never kept: a snippet
    return Doc(
        text=text,
        offset=offset,
        user_id=uid,
        url=as_text(url) if url is not None else None,
        language=language,
        meta=meta,
        path=path,
        skip_rule=skip_rule,
        skip_chars=skip_chars,
    )


# This many lines in a row, none of them JSON, are a part in another format (a CSV appended to a
# dump), not broken records: one quarantine row and one line said by the run, not a row each.
NOT_LINES_RUN = 10


class _NotJson:
    """A run of consecutive lines that are not JSON: each a quarantine row while it is short,
    one ``not_json_lines`` row from its first line on once it reaches NOT_LINES_RUN."""

    def __init__(self):
        self.rows: list[Bad] = []
        self.n = 0

    def add(self, bad: Bad, line: bytes, lineno: int | None):
        if not self.n:
            self.start, self.lineno, self.head = bad.offset, lineno, line.strip()[:40 + MARGIN].decode("utf-8", "replace")
        self.n += 1
        self.last, self.end = lineno, bad.end
        self.rows = [] if self.n >= NOT_LINES_RUN else self.rows + [bad]

    def flush(self, at_end: bool) -> Iterator[Bad]:
        if self.n >= NOT_LINES_RUN:
            where = f"line {self.lineno}" if self.lineno is not None else f"byte {self.start}"
            to = "to its end" if at_end else f"to line {self.last}" if self.last is not None else "in a row"
            yield Bad(self.start, "not_json_lines", f"not JSON Lines from {where} (it reads {redacted_head(self.head, 40)!r}): {self.n} lines {to}, "
                      "none of them JSON; quarantined as one row (not_json_lines), not line by line", end=self.end)
        else:
            yield from self.rows
        self.rows, self.n = [], 0


def _parse(line: bytes, offset: int, end: int):
    """A line's JSON value, or the quarantine row it is (cr_line_ends, bad_json, invalid_utf8)."""
    try:
        return loads(line.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError too
        if _cr_line_ends(line):
            return Bad(offset, "cr_line_ends", CR_DETAIL, end=end)
        return Bad(offset, "invalid_utf8" if isinstance(e, UnicodeDecodeError) else "bad_json", str(e)[:200], end=end)


GAP = "gap"  # a blank or comment line: it neither ends nor continues a run of lines that are not JSON


def _kind(line: bytes, offset: int, cap: int, row: bool = True):
    """What a whole line read with limit ``cap`` is to a run of lines that are not JSON: its row
    (a Bad; True without ``row``) when it is one, GAP, or None (a record, an over-long line, the
    end: the run ends)."""
    # over-long as the read loop's readline(cap) finds it: also a whole line _lines_before hands back
    if not line or len(line) - line.endswith(b"\n") >= cap:
        return None
    text = line[3:] if line.startswith(BOM) else line
    if not text.strip() or is_comment(text):  # as read_jsonl skips
        return GAP
    if row:
        bad = _parse(text, offset, offset + len(line))
        return bad if isinstance(bad, Bad) else None
    try:
        loads(text.decode("utf-8"))
        return None
    except ValueError:
        return True


def _lines_before(f, pos: int, cap: int):
    """The lines before byte ``pos`` (a line's start) of the seekable ``f``, the last first; b""
    for one over-long (``cap`` bytes or more before its break). Leaves ``f`` anywhere."""
    lo, tail = pos, b""
    while True:
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            yield tail[cut + 1 :]
            tail = tail[: cut + 1]
        elif lo == 0:
            if tail:
                yield tail
            return
        elif len(tail) > cap:  # its break aside, cap bytes or more: over-long (a line of cap with it is read whole)
            yield b""
            return
        else:
            new = max(0, lo - max(4096, len(tail)))
            f.seek(new)
            lo, tail = new, f.read(lo - new) + tail


def _run_goes_on(f, pos: int, cap: int) -> bool:
    """Whether a run of lines that are not JSON is under way at byte ``pos``: the last line before
    it other than blank and comment lines is one of them."""
    kind = next((k for line in _lines_before(f, pos, cap) if (k := _kind(line, 0, cap, row=False)) != GAP), None)
    f.seek(pos)
    return kind is True


def _skip_line(f, most: int | None = None) -> int:
    """Read ``f`` to the end of its line, 1 MiB at a time (a line may be gigabytes: never held
    whole), or ``most`` bytes; the bytes read."""
    n = 0
    while True:
        chunk = f.readline(1 << 20 if most is None else min(1 << 20, most - n))
        n += len(chunk)
        if not chunk or chunk.endswith(b"\n") or n == most:
            return n


def read_jsonl(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    ranged = shard.start > 0 or shard.end is not None
    cap = limits.max_record_bytes * 2 + 2  # a line's read
    end = shard.end
    if ranged:  # planned for uncompressed files (seekable)
        f = open_raw(shard.path)
        # a bucket's file past an input's first, told by its name at launch (plan_shards): compressed after all (a
        # .jsonl holding gzip), its first range reads it whole, the others nothing
        if shard.opt("compression_by_name") and compression_of(f):
            f.close()
            if shard.start > 0:
                return
            ranged, end = False, None
    if ranged:
        pos = shard.start
        if pos > 0:
            f.seek(pos - 1)
            # the line straddling `start` belongs to the previous range, read only to this range's
            # end (a break past it starts no line of this one): inside a line longer than many
            # ranges, each read the rest of the file (n ranges: the file ~n/2 times)
            pos += _skip_line(f, None if shard.end is None else shard.end - pos + 1) - 1
            # so does a run of lines that are not JSON going on from it (see the end of the loop);
            # only this range's part of it is skipped: one read of a long run, by the range it starts in
            if 0 < pos and (shard.end is None or pos < shard.end) and _run_goes_on(f, pos, cap):
                while (shard.end is None or pos < shard.end) and _kind(line := f.readline(cap), pos, cap, row=False) is not None:
                    pos += len(line)
                f.seek(pos)
    else:
        f = open_bytes(shard.path, limits)
        pos = 0
    lineno = 0 if shard.start == 0 else None  # line numbers are known from the file's start only
    run = _NotJson()
    with f:
        try:
            last = None  # the last line's row, blank and comment lines aside, when it was not JSON
            while end is None or pos < end:
                line = f.readline(cap)
                if not line:
                    break
                offset = pos
                pos += len(line)
                lineno = lineno + 1 if lineno is not None else None
                if not line.endswith(b"\n") and len(line) >= cap:
                    last = None
                    cr = _cr_line_ends(line)
                    if not cr and b"\r" not in line and without_bom(line).lstrip().startswith(b"{"):
                        # its first record longer than the read: old-Mac records after it were one
                        # record_too_large row (as a file opening so, past the up-front look's read)
                        after, n, ended = _after_record(f, line.rstrip()[-1:])
                        cr, pos = _cr_line_ends(b"{}" + after) if after else False, pos + n
                        pos += 0 if ended else _skip_line(f)
                    else:
                        pos += _skip_line(f)  # an over-long line: the rest of it
                    yield from run.flush(at_end=False)
                    yield (Bad(offset, "cr_line_ends", CR_DETAIL) if cr else
                           Bad(offset, "record_too_large", f"JSON line over {limits.max_record_bytes * 2} bytes"))
                    continue
                # a UTF-8 BOM (Windows tools): not part of the record, at the file's start or at a
                # line's inside it (`cat a.jsonl b.jsonl` of files each written with one)
                if line.startswith(BOM):
                    line = line[3:]
                if not line.strip():
                    continue
                if is_comment(line):  # not a header of old-Mac records
                    yield Skipped({"comment_line": 1})
                    continue
                try:
                    obj = loads(line.decode("utf-8"))
                except ValueError:  # UnicodeDecodeError too
                    last = _parse(line, offset, pos)
                    run.add(last, line, lineno)
                    continue
                last = None
                yield from run.flush(at_end=False)
                rec = record_to_doc(obj, offset, shard, from_json=True, line=line)
                rec.end = pos
                yield rec
            # a run of lines that are not JSON going on past the range's end is this range's to its
            # last line (the next range skips it): one part, said at its first line, as read whole
            while last is not None and end is not None and (last := _kind(line := f.readline(cap), pos, cap)) is not None:
                lineno = lineno + 1 if lineno is not None else None
                pos += len(line)
                if last != GAP:
                    run.add(last, line, lineno)
                elif without_bom(line).lstrip().startswith(COMMENT):
                    yield Skipped({"comment_line": 1})
        except Exception:  # a cut or damaged stream: the lines read before it are still said
            yield from run.flush(at_end=False)
            raise
        if end is not None:  # a range (seekable): the file's end only if nothing follows
            f.seek(pos)
        at_end = end is None or not f.read(1)
        yield from run.flush(at_end)
