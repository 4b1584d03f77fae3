"""Every kind of bad input ends in quarantine (or the ledger) with a reason; none crashes."""
from __future__ import annotations

import gzip
import json
import os
import re
import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.readers import list_files, plan_shards, read_shard
from curate.readers.common import Limits, Shard
from curate.readers.extract import plain_unicode

# a run of a few documents in this process, not in a pool forked per run (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_process_runs")


def read_all(path, fmt="jsonl", domain="web", limits=Limits(), rel=None):
    out = {"docs": [], "ledger": [], "quarantine": []}
    for kind, batch in read_shard(Shard(str(path), rel or path.name, fmt, domain, "t"), limits):
        out[kind].append(batch)
    return {k: (pa.Table.from_batches(v).to_pylist() if v else []) for k, v in out.items()}


def lines(*objs) -> bytes:
    return b"".join((json.dumps(o).encode() if not isinstance(o, bytes) else o) + b"\n" for o in objs)


def test_good_jsonl_gives_stable_ids(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"text": "one"}, {"text": "two", "id": "x"}))
    r1, r2 = read_all(p), read_all(p)
    assert [d["text"] for d in r1["docs"]] == ["one", "two"]
    assert [d["id"] for d in r1["docs"]] == [d["id"] for d in r2["docs"]]
    assert r1["docs"][0]["offset"] == 0 and r1["docs"][1]["offset"] == len(json.dumps({"text": "one"})) + 1


def test_prose_is_nfc_without_invisible_characters_code_is_untouched(tmp_path):
    # Decomposed accents (NFD), a soft hyphen, a zero-width space and a stray BOM, as JSONL
    # dumps carry them: prose reads as extracted HTML does; a source file keeps its characters.
    raw = "Cafe\u0301 cre\u0300me: a co\u00adoperative\u200b shop.\n\ufeffThe end."
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"text": raw}, {"text": "\ufeff\u200b"}))
    got = read_all(p)
    assert [d["text"] for d in got["docs"]] == ["Café crème: a cooperative shop.\nThe end."]
    assert [r["rule"] for r in got["ledger"]] == ["empty_text"]  # nothing visible was left
    assert [d["text"] for d in read_all(p, domain="code")["docs"]] == [raw, "\ufeff\u200b"]


def test_c1_controls_read_as_windows_1252(tmp_path):
    # A dump whose cp1252 punctuation was decoded as Latin-1 upstream: U+0092 is the ’ it
    # meant, U+0093/U+0094 quotes, U+0096 a dash (as ftfy's fix_c1_controls); U+008F, which
    # cp1252 leaves undefined, stays. A source file keeps its characters.
    raw = "It\x92s \x93fine\x94 \x96 really\x8f."
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"text": raw}))
    assert [d["text"] for d in read_all(p)["docs"]] == ["It’s “fine” – really\x8f."]
    assert [d["text"] for d in read_all(p, domain="code")["docs"]] == [raw]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "\x80", "\x92", "\x9f", "\xa0", "\xad", "\u200b", "\u2060", "\ufeff",
                                         "\u2019", "\u0301", "\u00e9", "\u4e2d", "\U0001f600"])))
def test_plain_unicode_reads_c1_controls_the_same_from_utf8_bytes(text):
    # the reader hands plain_unicode the text's UTF-8 bytes to find C1 controls by a byte scan
    assert plain_unicode(text, text.encode("utf-8")) == plain_unicode(text)


def _plain_reference(text: str) -> str:
    """What plain_unicode promises, written out a character at a time: no soft hyphens,
    zero-width spaces or BOMs, C1 controls as the cp1252 characters they were, NFC."""
    out = []
    for ch in text:
        if ch in "\u00ad\u200b\u2060\ufeff":
            continue
        if "\x80" <= ch <= "\x9f":
            try:
                ch = bytes([ord(ch)]).decode("cp1252")
            except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
                pass
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\x80", "\x81", "\x92", "\x9f", "\xa0", "\xad", "\xc2", "\u200b", "\u2060",
                                         "\ufeff", "\u2019", "e", "\u0301", "\u00e9", "\u0100", "\U0001f600"])))
def test_plain_unicode_matches_its_definition(text):
    # both scans (the str one, and the UTF-8 byte one the reader uses) find every character to fix
    assert plain_unicode(text) == plain_unicode(text, text.encode("utf-8")) == _plain_reference(text)


def test_malformed_json_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"text": "ok"}, b'{"text": "unterminated', {"text": "ok too"}))
    r = read_all(p)
    assert len(r["docs"]) == 2
    assert [q["reason"] for q in r["quarantine"]] == ["bad_json"]


def test_missing_text_field_and_wrong_type(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"id": 1, "body": "x"}, {"text": 5}, [1, 2]))
    r = read_all(p)
    assert not r["docs"]
    assert sorted(q["reason"] for q in r["quarantine"]) == ["missing_text_field", "not_an_object", "text_not_string"]


def test_non_utf8_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"text": "caf\xe9"}\n' + lines({"text": "fine"}))
    r = read_all(p)
    assert [d["text"] for d in r["docs"]] == ["fine"]
    assert [q["reason"] for q in r["quarantine"]] == ["invalid_utf8"]


def test_empty_file_and_empty_text(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_bytes(b"")
    r = read_all(p)
    assert r == {"docs": [], "ledger": [], "quarantine": []}
    p2 = tmp_path / "blank.jsonl"
    p2.write_bytes(lines({"text": "   "}))
    r2 = read_all(p2)
    assert [(l["stage"], l["rule"]) for l in r2["ledger"]] == [("ingest", "empty_text")]


@pytest.mark.parametrize("name, fmt", [("a.jsonl.gz", "jsonl"), ("b.warc.gz", "warc"), ("c.jsonl.zst", "jsonl"),
                                       ("d.txt.gz", "text"), ("e.warc.wet.gz", "wet")])
def test_compressed_file_of_zero_bytes_is_quarantined(tmp_path, name, fmt):
    """A 0-byte .gz in a crawl folder (an interrupted download) gave no row anywhere, while the
    same file cut to 10 bytes was quarantined: the operator never learnt of it."""
    p = tmp_path / name
    p.write_bytes(b"")
    r = read_all(p, fmt=fmt, domain="books" if fmt == "text" else "web")
    assert not r["docs"] and not r["ledger"]
    assert [(q["reason"], q["offset"]) for q in r["quarantine"]] == [("empty_compressed_file", 0)], r
    assert "0 bytes" in r["quarantine"][0]["detail"]


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    data = gzip.compress(lines(*({"text": f"document {i} " * 50} for i in range(2000))))
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(data[: len(data) // 2])
    r = read_all(p)
    assert 0 < len(r["docs"]) < 2000
    # the same reason a truncated .warc.gz gets, so grouping quarantine by reason keeps one kind of damage together
    assert len(r["quarantine"]) == 1 and r["quarantine"][0]["reason"] == "truncated_record"
    assert "ends early" in r["quarantine"][0]["detail"] and "Compressed file ended" in r["quarantine"][0]["detail"]
    # the row points where reading failed: the first line not read whole, not the last good one
    n = len(r["docs"])
    assert r["quarantine"][0]["offset"] == len(lines(*({"text": f"document {i} " * 50} for i in range(n))))


def test_corrupt_gzip(tmp_path):
    p = tmp_path / "bad.jsonl.gz"
    p.write_bytes(b"\x1f\x8b" + b"\x00garbage" * 100)
    r = read_all(p)
    assert not r["docs"] and [q["reason"] for q in r["quarantine"]] == ["corrupt_compressed"]


def test_zstd_jsonl(tmp_path):
    import zstandard

    p = tmp_path / "a.jsonl.zst"
    p.write_bytes(zstandard.ZstdCompressor().compress(lines({"text": "zst works"})))
    assert [d["text"] for d in read_all(p)["docs"]] == ["zst works"]


def test_binary_file_among_text_files(tmp_path):
    p = tmp_path / "image.jsonl"
    p.write_bytes(bytes(range(256)) * 40)
    r = read_all(p)
    assert not r["docs"]
    # 41 lines in a row, none of them JSON: one row from its first line on (readers/jsonl.NOT_LINES_RUN)
    assert [(q["offset"], q["reason"]) for q in r["quarantine"]] == [(0, "not_json_lines")]


def test_record_over_size_limit(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_bytes(lines({"text": "x" * 5000}, {"text": "small"}, {"text": "y" * 100_000}))
    r = read_all(p, limits=Limits(max_record_bytes=4096))
    assert [d["text"] for d in r["docs"]] == ["small"]
    assert sorted(q["reason"] for q in r["quarantine"]) == ["record_too_large", "record_too_large"]


def test_decompression_bomb_is_capped(tmp_path):
    p = tmp_path / "bomb.jsonl.gz"
    with gzip.open(p, "wb") as f:
        row = json.dumps({"text": "z" * 1000}).encode() + b"\n"
        for _ in range(20_000):  # 20 MB decompressed, ~60 KB on disk
            f.write(row)
    r = read_all(p, limits=Limits(max_file_bytes=1 << 20))
    assert len(r["docs"]) < 1100
    assert [q["reason"] for q in r["quarantine"]] == ["file_too_large"]


def test_the_up_front_look_at_a_one_line_bomb_reads_its_head_only(tmp_path, monkeypatch):
    """The up-front look (not_json_lines) read a first line with no line end on to its end to
    find old-Mac records, up to max_file_bytes: a one-line dump or a bomb was decompressed to
    4 GiB (~36 s) and then read again by the run. It reads the head only: as far as the run
    reads a line (twice max_record_bytes), at least jsonl.HEAD_BYTES (lowered here)."""
    from curate.readers import common, jsonl

    p = tmp_path / "bomb.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"text": "' + b"a" * (24 << 20), compresslevel=1))
    monkeypatch.setattr(jsonl, "HEAD_BYTES", 1 << 20, raising=False)
    read, readinto = [], common._Capped.readinto
    monkeypatch.setattr(common._Capped, "readinto", lambda self, b: read.append(readinto(self, b)) or read[-1])
    assert jsonl.not_json_lines(str(p), "bomb.jsonl.gz", Limits(max_record_bytes=1024)) is None
    assert sum(read) <= 3 << 20, sum(read)


def test_a_bomb_says_its_compressed_size_and_ratio(tmp_path):
    """file_too_large said the decompressed bytes only: which file was a bomb (KB decoding to GB)
    and which was merely big was not told. It says the compressed bytes read and the ratio."""
    p = tmp_path / "bomb.jsonl.gz"
    # gzip -1: 229 to 1, under BOMB_STOP (gzip -9's 1,027 stops past 1 MiB: the cap's detail is the one here)
    p.write_bytes(gzip.compress(b'{"text": "' + b"a" * (8 << 20), compresslevel=1))
    r = read_all(p, limits=Limits(max_file_bytes=4 << 20))
    [q] = r["quarantine"]
    m = re.search(r"from ([\d,]+) compressed bytes \(([\d,]+) to 1: a decompression bomb", q["detail"])
    assert q["reason"] == "file_too_large" and m and "(limit max_file_bytes)" in q["detail"], q
    consumed, ratio = (int(g.replace(",", "")) for g in m.groups())
    assert consumed <= p.stat().st_size and ratio > 200 and abs(ratio / ((4 << 20) / consumed) - 1) < 0.05, q
    # a file that is merely big: its ratio said, no bomb
    p = tmp_path / "big.jsonl.gz"
    p.write_bytes(gzip.compress(os.urandom(1 << 20).hex().encode()))
    [q] = read_all(p, limits=Limits(max_file_bytes=1 << 20))["quarantine"]
    assert q["reason"] == "file_too_large" and " to 1)" in q["detail"] and "decompression bomb" not in q["detail"], q


def test_a_ratio_said_as_100_to_1_is_said_to_be_a_bomb_and_one_under_is_not():
    """The ratio was judged unrounded and said rounded: 99.6 to 1 read '(100 to 1)' with no word
    of a bomb, where '(100 to 1: a decompression bomb ...)' was said of 100.0. The word goes with
    the ratio said (BOMB_RATIO on); a file not compressed says nothing."""
    from curate.readers.common import BOMB_RATIO, bomb_ratio

    for produced in range(99_400, 100_600, 50):
        said = bomb_ratio(produced, 1_000)
        shown = int(re.search(r"\(([\d,]+) to 1", said).group(1).replace(",", ""))
        assert shown == round(produced / 1_000) and ("decompression bomb" in said) == (shown >= BOMB_RATIO), said
    assert bomb_ratio(5 << 20, 0) == bomb_ratio(5 << 20, None) == ""

def test_a_page_repeated_over_100_to_1_is_not_said_to_be_a_bomb_outright(tmp_path):
    """Past 100 to 1 file_too_large said 'a decompression bomb, no text compresses so far', yet
    a crawl's soft-404 page repeated under every item's URL compresses 111 to 1 with gzip -9 here
    (143 over 63 MB, zstd 545), near gzip -1's bomb of zeros (229): a big file of it was called a
    bomb, as a fact. The ratio says which it may be, both named."""
    page = "This page has been removed by its owner. The content you are looking for is no longer here. " * 12
    p = tmp_path / "shop.jsonl.gz"
    p.write_bytes(gzip.compress(b"".join(json.dumps({"id": i, "url": f"https://shop.example.com/item/{i}", "text": page}).encode()
                                         + b"\n" for i in range(3000)), 9))
    [q] = read_all(p, limits=Limits(max_file_bytes=1 << 20))["quarantine"]
    ratio = int(re.search(r"\(([\d,]+) to 1", q["detail"]).group(1).replace(",", ""))
    assert q["reason"] == "file_too_large" and ratio > 100 and "no text compresses so far" not in q["detail"], q
    assert "a decompression bomb, or the same text over and over" in q["detail"], q

def test_a_plain_file_over_max_file_bytes_is_not_said_to_be_decompressed(tmp_path):
    """file_too_large said 'more than N bytes after decompression' of a file not compressed
    (limits.max_file_bytes caps every file read whole): nothing was decompressed. A compressed
    one still says it, with its compressed bytes and ratio."""
    rows = lines(*({"text": f"A short page, number {i}."} for i in range(400)))
    (tmp_path / "plain.jsonl").write_bytes(rows)
    (tmp_path / "packed.jsonl.gz").write_bytes(gzip.compress(rows))
    [plain] = read_all(tmp_path / "plain.jsonl", limits=Limits(max_file_bytes=4096))["quarantine"]
    [packed] = read_all(tmp_path / "packed.jsonl.gz", limits=Limits(max_file_bytes=4096))["quarantine"]
    assert plain["reason"] == packed["reason"] == "file_too_large", (plain, packed)
    assert plain["detail"].endswith("plain.jsonl: more than 4096 bytes (limit max_file_bytes)"), plain
    assert "more than 4096 bytes after decompression (limit max_file_bytes), from " in packed["detail"], packed

def test_ranges_of_a_large_file_read_every_line_once(tmp_path):
    p = tmp_path / "big.jsonl"
    rows = [{"text": f"row {i} " + "w" * (i % 97)} for i in range(3000)]
    p.write_bytes(lines(*rows))
    limits = Limits(split_bytes=7919)
    shards = plan_shards(list_files(str(p)), None, "web", "t", {}, limits)
    assert len(shards) > 10
    got = []
    for sh in shards:
        for kind, b in read_shard(sh, limits):
            assert kind == "docs"
            got += b.to_pylist()
    assert [d["text"] for d in got] == [r["text"] for r in rows]
    whole = read_all(p)["docs"]
    assert [d["id"] for d in got] == [d["id"] for d in whole]  # ids do not depend on how the file was split


def _rows(path, start=0, end=None, limits=None):
    """What read_jsonl yields for a byte range of ``path``, as comparable tuples (a run of
    lines that are not JSON by its offset and length)."""
    import re

    from curate.readers.common import Bad, Doc, Skipped
    from curate.readers.jsonl import read_jsonl

    out = []
    for x in read_jsonl(Shard(str(path), "f.jsonl", "jsonl", "web", "s", (), start, end), limits or Limits()):
        if isinstance(x, Doc):
            out.append(("doc", x.offset, x.text))
        elif isinstance(x, Bad):
            out.append(("bad", x.offset, x.reason, re.findall(r": (\d+) lines", x.detail or "")))
        elif isinstance(x, Skipped):
            out.append(("skipped", tuple(sorted(x.counts.items()))))
    return sorted(out, key=repr)


def test_random_json_lines_read_in_ranges_give_the_rows_read_whole(tmp_path):
    """Every line read once, as read whole, for any split: random files of records, runs of
    lines that are not JSON (a CSV), comments, blanks, BOMs, CRLF, invalid UTF-8 and lines over
    the record limit (a broken one right before a CSV: the run was read by no range), each read
    in ranges of 1 to 40 bytes (one line or less) and one larger split. Records separated by
    a bare CR are cr_line_ends rows, short or over-long, as read whole."""
    import random

    limits = Limits(max_record_bytes=20)  # a line over 42 bytes is over-long
    cap = 42  # bytes of a line before its break; each near-cap kind is 1 under, at or 1 over it
    kinds = [lambda r: json.dumps({"text": f"r{r.randrange(100)}"}), lambda r: f"{r.randrange(100)},x", lambda r: "#c",
             lambda r: "", lambda r: "\ufeff" + json.dumps({"text": "b"}), lambda r: "\ufeff// c", lambda r: "y" * r.randrange(35, 60),
             lambda r: json.dumps({"text": "z" * r.randrange(40, 60)}), lambda r: "\udcff", lambda r: "  \r",
             # a character of 2-3 bytes (cut by many splits), U+2028 raw in a string (legal JSON, no line break)
             lambda r: json.dumps({"text": "é日\u2028"}, ensure_ascii=False), lambda r: f"{r.randrange(100)},é日",
             lambda r: json.dumps({"text": "a\rb"}).replace("\\r", "\r"), lambda r: json.dumps({"text": "q"}) + "\r",  # a lone CR
             lambda r: "\r", lambda r: "// c", lambda r: "\ufeff", lambda r: "\ufeffx,y", lambda r: "\udce6\udc97", lambda r: "[1,2]",
             lambda r: "y" * (cap + r.choice([-1, 0, 1])), lambda r: "#" * (cap + r.choice([-1, 0, 1])),
             # records separated by a bare CR (old Mac line ends; cr_line_ends), short or over the limit
             lambda r: "\r".join(json.dumps({"text": f"m{i}"}) for i in range(r.randrange(2, 6))),
             lambda r: "\r".join(["{\"text\": \"m\"}", "x,y"] * r.randrange(1, 4)),
             lambda r: r.choice(["// h\r", "\r", "#\r\r"]) + "\r".join(json.dumps({"text": f"m{i}"}) for i in range(r.randrange(1, 6))),
             lambda r: "日" * (cap // 3 + r.choice([-1, 0, 1])), lambda r: json.dumps({"text": "z" * (cap - 12 + r.choice([-1, 0, 1]))})]
    differ = []
    for seed in range(60):
        rng = random.Random(seed)
        lines = []
        for _ in range(rng.randrange(1, 8)):
            if rng.random() < 0.5:
                lines += [rng.choice(kinds)(rng) for _ in range(rng.randrange(1, 4))]
            else:
                lines += [f"{i},csv" for i in range(rng.randrange(8, 15))]
        seps = ["\r\n", "\n"] if rng.random() < 0.2 else ["\r\n"] if rng.random() < 0.3 else ["\n"]  # some files mix them
        data = "".join(line + rng.choice(seps) for line in lines)
        data = (data if rng.random() < 0.7 else data.rstrip("\r\n")).encode("utf-8", "surrogateescape")
        p = tmp_path / f"f{seed}.jsonl"
        p.write_bytes(data)
        whole = _rows(p, limits=limits)
        for split in [*range(1, 41), rng.randrange(41, 200)]:
            got = sorted((row for start in range(0, len(data), split) for row in _rows(p, start, min(len(data), start + split), limits)), key=repr)
            if got != whole:
                differ.append((seed, split))
                break
    assert differ == []


@pytest.mark.parametrize("max_record_bytes, gap", [(2047, 0), (3999, 192)])
def test_a_line_of_the_read_limit_before_a_range_is_a_line_of_its_run(tmp_path, max_record_bytes, gap):
    """A CSV line of exactly the limit a line is read with (2 x max_record_bytes + 2 bytes, its
    break included: read whole, no record_too_large) right before a range, or before comment lines
    before it: the range looking back met it in one read (4 KiB, then doubled) and took it for
    an over-long line that ends a run, so it read again the run's lines the range before had
    read on to their end (12 lines counted twice)."""
    cap = 2 * max_record_bytes + 2
    head = lines({"text": "a"}, *[f"{i},csv".encode() for i in range(3)], b"y" * (cap - 1))
    between = b"#" * (gap - 1) + b"\n" if gap else b""
    data = head + between + lines(*[f"{i},csv".encode() for i in range(12)], {"text": "b"})
    p = tmp_path / "f.jsonl"
    p.write_bytes(data)
    limits = Limits(max_record_bytes=max_record_bytes)
    whole = _rows(p, limits=limits)
    assert [r[2:] for r in whole if r[0] == "bad"] == [("not_json_lines", ["16"])]  # 3 + the long line + 12
    at = len(head) + len(between)
    assert sorted(_rows(p, 0, at, limits) + _rows(p, at, None, limits), key=repr) == whole


def test_a_range_starting_inside_an_over_long_line_does_not_hold_it(tmp_path):
    """A range starting inside a line (the previous range's) skipped it with one readline(): a
    line over the record limit (a file of one huge line, a JSON array named .jsonl) was held in
    memory whole from the range's start to its end, by every range inside it (a 4 GiB line in
    64 MiB ranges: up to 4 GiB a worker), though the whole-file read skips it 1 MiB at a time."""
    import tracemalloc

    p = tmp_path / "one_line.jsonl"
    size = 24 << 20
    p.write_bytes(lines({"text": "x" * size}, {"text": "after"}))
    limits = Limits(max_record_bytes=1 << 18)  # a range's look back for a run of lines holds up to a few of 512 KiB
    tracemalloc.start()
    try:
        got = _rows(p, 1 << 20, 2 << 20, limits) + _rows(p, size, None, limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == [("doc", size + 13, "after")]  # the long line is the first range's, said there
    assert peak < 8 << 20, peak  # reads of 1 MiB, not the 23 MiB left of the line (twice: 49 MB)


def test_the_ranges_inside_an_over_long_line_read_it_once_between_them(tmp_path, monkeypatch):
    """A range starting inside a line (the previous range's) read on to that line's end: inside
    a line longer than many ranges (old-Mac records with no "\n", a file of one huge line) every
    range read the rest of the file, so a file of n ranges was read ~n/2 times over (24 MiB in
    ranges of 1 MiB: 300 MiB). A range reads that line only up to its own end: no line starts in
    it after that. The rows are those of the file read whole."""
    from curate.readers import jsonl

    p = tmp_path / "one_line.jsonl"
    size = 24 << 20
    p.write_bytes(lines({"text": "x" * size}, {"text": "after"}))
    limits = Limits(max_record_bytes=1 << 18)
    read = [0]

    class Counted:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def read(self, *a):
            b = self.f.read(*a)
            read[0] += len(b)
            return b

        def readline(self, *a):
            b = self.f.readline(*a)
            read[0] += len(b)
            return b

        def __getattr__(self, name):
            return getattr(self.f, name)

    real = jsonl.open_raw
    monkeypatch.setattr(jsonl, "open_raw", lambda path: Counted(real(path)))
    whole = _rows(p, limits=limits)
    step = 1 << 20
    ranges = [r for at in range(0, p.stat().st_size, step) for r in _rows(p, at, at + step, limits)]
    assert sorted(ranges, key=repr) == sorted(whole, key=repr) and len(whole) == 2, whole
    assert read[0] < 3 * p.stat().st_size, read[0] / p.stat().st_size


def test_records_separated_by_a_bare_cr_are_said_so_whole_and_in_ranges(tmp_path):
    """A JSON Lines part with old-Mac line ends (a bare "\\r" between records, no "\\n": `cat
    new.jsonl mac.jsonl`) was one line: quarantined as bad_json ("Extra data"), or past the
    record limit as record_too_large, which sent the user to limits.max_record_bytes. It is
    cr_line_ends with the command that converts the file, in every range as read whole. A
    "\\r" inside a broken record (raw in a string), or a CRLF line end, is no such line."""
    mac = "\r".join(json.dumps({"text": f"record {i}"}) for i in range(3)).encode()
    p = tmp_path / "f.jsonl"
    p.write_bytes(lines({"text": "first"}, mac, b'{"text": "raw \r in a string"}', {"text": "last"}).replace(b"last\"}\n", b"last\"}\r\n")
                  + b"\r".join([json.dumps({"text": "x" * 30}).encode()] * 40) + b"\r")
    limits = Limits(max_record_bytes=500)
    whole = _rows(p, limits=limits)
    data = p.read_bytes()
    starts = [data.index(x) for x in (mac, b'{"text": "raw', b'{"text": "xxx')]
    assert sorted(r[1:3] for r in whole if r[0] == "bad") == list(zip(starts, ["cr_line_ends", "bad_json", "cr_line_ends"])), whole
    assert sorted(r[2] for r in whole if r[0] == "doc") == ["first", "last"]
    for split in (7, 64, 333):
        assert sorted((r for at in range(0, p.stat().st_size, split) for r in _rows(p, at, at + split, limits)), key=repr) == whole
    said = [q["detail"] for q in read_all(p, limits=limits)["quarantine"] if q["reason"] == "cr_line_ends"]
    assert len(said) == 2 and all("tr '\\r' '\\n'" in d for d in said), said


def test_old_mac_records_after_a_comment_or_a_blank_part_are_said_not_skipped(tmp_path):
    """An old-Mac part whose first "\\r"-separated piece is a comment (a header `// exported
    ...`) or blank (a bare "\\r" first) was judged by that piece alone: the comment line hid
    every record after it (skipped as one comment line, nothing said), the blank one was
    bad_json. Both are cr_line_ends, whole and in ranges; a comment holding a raw "\\r" and
    no record after it stays a comment."""
    mac = "\r".join(json.dumps({"text": f"record {i}"}) for i in range(3)).encode()
    head, blank = b"// part two, exported by the old app\r" + mac, b"\r" + mac
    p = tmp_path / "f.jsonl"
    p.write_bytes(lines({"text": "first"}, head, blank, b"# a note\rwith a raw cr", {"text": "last"}))
    whole = _rows(p)
    data = p.read_bytes()
    assert sorted(r[1:3] for r in whole if r[0] == "bad") == [(data.index(head), "cr_line_ends"),
                                                              (data.index(b"\n" + blank) + 1, "cr_line_ends")], whole
    assert sorted(r[2] for r in whole if r[0] == "doc") == ["first", "last"]
    assert ("skipped", (("comment_line", 1),)) in whole  # the note
    for split in (7, 64, 333):
        assert sorted((r for at in range(0, p.stat().st_size, split) for r in _rows(p, at, at + split)), key=repr) == \
            sorted(whole, key=repr)


def test_old_mac_records_after_a_broken_first_record_are_said_so(tmp_path):
    """An old-Mac part was judged by its first record alone: one cut short, or holding a raw "\\r"
    in a string, made the part (every record of it) one bad_json row, 'Extra data', nothing
    said of the line ends. Two JSON objects among the parts after it make it cr_line_ends,
    whole and in ranges; a broken line whose parts hold no object stays bad_json."""
    mac = "\r".join(json.dumps({"text": f"record {i}"}) for i in range(3)).encode()
    cut, raw, alone = b'{"text": "cut sho\r' + mac, b'{"text": "a raw \r in it"}\r' + mac, b'{"a": 1, \r"b": \r[1]}x'
    p = tmp_path / "f.jsonl"
    p.write_bytes(lines({"text": "first"}, cut, raw, alone, {"text": "last"}))
    whole = _rows(p)
    data = p.read_bytes()
    assert sorted(r[1:3] for r in whole if r[0] == "bad") == [(data.index(cut), "cr_line_ends"), (data.index(raw), "cr_line_ends"),
                                                              (data.index(alone), "bad_json")], whole
    assert sorted(r[2] for r in whole if r[0] == "doc") == ["first", "last"]
    for split in (7, 64, 333):
        assert sorted((r for at in range(0, p.stat().st_size, split) for r in _rows(p, at, at + split)), key=repr) == \
            sorted(whole, key=repr)


def test_old_mac_records_after_a_first_record_over_the_line_read_are_said_so(tmp_path):
    """An old-Mac part whose first record is longer than the run's read of a line (twice
    max_record_bytes): the read stopped inside that record, found no bare "\\r", and the part,
    every record of it, was one record_too_large row sending the user to max_record_bytes (the
    up-front look reads no further than the run now, so a file opening with one was no longer
    refused with the tr line either). The rest of the line, skipped anyway, is looked at: a
    record ending ``}`` then records after a bare "\\r" make it cr_line_ends with the tr line,
    whole and in ranges; a long record with a CRLF end, or a raw "\\r" in its string (no ``}``
    before it), stays record_too_large."""
    long = json.dumps({"text": "w" * 2000})
    mac = "\r".join([long] + [json.dumps({"text": f"record {i}"}) for i in range(3)]).encode() + b"\r"
    crlf, cr_text = long.encode() + b"\r", long[:-2].encode() + b'\r raw in its string"}\r{"text": "x"}\r{"text": "y"}'
    for first in (True, False):
        p = tmp_path / "f.jsonl"
        p.write_bytes(lines(*([mac] if first else [{"text": "first"}, mac]), crlf, cr_text, {"text": "last"}))
        limits = Limits(max_record_bytes=500)
        whole = _rows(p, limits=limits)
        data = p.read_bytes()
        assert sorted(r[1:3] for r in whole if r[0] == "bad") == [
            (data.index(mac), "cr_line_ends"), (data.index(crlf + b"\n"), "record_too_large"),
            (data.index(cr_text), "record_too_large")], whole
        assert sorted(r[2] for r in whole if r[0] == "doc") == ["first", "last"][first:]
        for split in (64, 1500):
            assert sorted((r for at in range(0, p.stat().st_size, split) for r in _rows(p, at, at + split, limits)), key=repr) == \
                sorted(whole, key=repr)
        said = [q["detail"] for q in read_all(p, limits=limits)["quarantine"] if q["reason"] == "cr_line_ends"]
        assert len(said) == 1 and "tr '\\r' '\\n'" in said[0], said


def test_a_line_longer_than_a_read_is_not_held_whole_by_the_audits_first_pass(tmp_path):
    """jsonl.as_read (audit --corpus's pass looking for comment lines and line-start BOMs) kept
    the part of a line not yet ended and read it again with each 4 MiB read: a line of 40 MiB
    (a JSON array named .jsonl, one huge record) was held whole and scanned quadratically (a
    4 GiB one: ~500 GiB copied). A line's start is judged once, then the rest skipped."""
    import time
    import tracemalloc

    from curate.readers.jsonl import as_read

    p = tmp_path / "one.jsonl"
    p.write_bytes(b'{"text": "' + b"x" * (40 << 20) + b'"}\n' + b"# a comment after it\n")
    tracemalloc.start()
    try:
        t0 = time.process_time()
        found = as_read(str(p))
        peak, took = tracemalloc.get_traced_memory()[1], time.process_time() - t0
    finally:
        tracemalloc.stop()
    assert found is not None  # the comment after the long line is found
    assert peak < 20 << 20, peak  # a read and the line's 4 MiB before it, not the 40 MiB line
    for data, odd in ((b"  # " + b"x" * (9 << 20) + b"\n" + lines({"text": "a"}), True),  # a long comment line
                      (lines({"text": "a"}) + b"y" * (9 << 20) + b"\n\xef\xbb\xbf" + lines({"text": "b"}), True),  # a BOM after it
                      (lines({"text": "a"}) + b" " * ((4 << 20) - 1) + b"#\n", True),  # white space across a read, then #
                      (lines({"text": "a"}) + b"y" * (9 << 20) + b"\n" + lines({"text": "b"}), False)):
        p.write_bytes(data)
        assert (as_read(str(p)) is not None) == odd, data[:20]


def test_null_text_says_null_not_missing(tmp_path):
    # A null text field is there: "none of the fields is present" sent users looking for a typo.
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"id": 1, "text": None}, {"id": 2, "body": "x"}, {"text": "fine"}))
    r = read_all(p)
    assert [d["text"] for d in r["docs"]] == ["fine"]
    assert [(q["reason"], q["detail"]) for q in r["quarantine"]] == [
        ("missing_text_field", "text field 'text' is null"),
        ("missing_text_field", "none of the fields ['text', 'content', 'raw_content'] is present"),
    ]


def test_quarantined_records_keep_their_own_id(tmp_path):
    # "Why was my record rec-2 removed?": found in neither text/ nor the ledger, it had to be
    # hunted by path and offset although its id field was readable.
    p = tmp_path / "a.jsonl"
    p.write_bytes(lines({"id": "rec-1", "text": "fine"}, {"id": "rec-2", "text": None}, {"id": 3, "text": [1]},
                        {"id": "rec-4", "text": "x" * 50}, {"text": 5}, b'{"id": "rec-6", broken'))
    got = read_all(p, limits=Limits(max_record_bytes=40))
    assert [d["source_id"] for d in got["docs"]] == ["rec-1"]
    assert [(q["source_id"], q["reason"]) for q in got["quarantine"]] == [
        ("rec-2", "missing_text_field"), ("3", "text_not_string"), ("rec-4", "record_too_large"), (None, "text_not_string"),
        (None, "bad_json")]


def test_jsonl_without_a_suffix_starting_with_a_byte_order_mark(tmp_path):
    """A JSONL file named without a suffix (`dump`) is told by its first byte, '{': one saved by
    a Windows tool starts with a UTF-8 BOM, and its format could not be told (a config error)."""
    from curate import cli

    (tmp_path / "dump").write_bytes(b"\xef\xbb\xbf" + lines({"id": "x", "text": "A page of plain text, long enough to read."}))
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "dump"), "--domain", "web", "--stages", "ingest",
                     "--output", str(out), "--progress", "off"]) == 0
    assert pa.Table.from_batches(pq_batches(out / "text")).column("source_id").to_pylist() == ["x"]


def pq_batches(folder):
    import pyarrow.parquet as pq

    return pq.read_table(folder).to_batches()


def test_records_held_for_a_members_check_count_their_meta(tmp_path, monkeypatch):
    """A one-member .gz's records are held until its check at the file's end, up to HOLD_BYTES,
    past which the file is checked in one extra pass. The bound counted the text alone, and a
    record's ``meta`` object is carried into its row since 2026-12-05 (re-curating an output,
    RedPajama's meta): records of short text and a large meta were all held, the meta past the
    bound (256 MiB of text: as many 1 MB metas). The held bytes count the meta column too."""
    from curate.readers import common, decompress

    path = tmp_path / "one.jsonl.gz"
    with gzip.open(path, "wt") as f:  # one member
        for i in range(20):  # 20 short texts (about 1 KB of text), 20 metas of 50 KB
            f.write(json.dumps({"id": f"d{i}", "text": f"document {i} " * 5, "meta": {"notes": "x" * 50_000}}) + "\n")
    calls = []
    real = decompress.verify_file
    monkeypatch.setattr(decompress, "verify_file", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(common, "HOLD_BYTES", 100_000)
    docs = [r for kind, b in read_shard(Shard(str(path), path.name, "jsonl", "web", "t"), Limits()) if kind == "docs"
            for r in b.to_pylist()]
    assert len(docs) == 20 and all(len(json.loads(r["meta"])["notes"]) == 50_000 for r in docs)
    assert calls  # held past 100,000 bytes: checked in one extra pass, not held whole


def test_an_inputs_meta_of_any_shape_is_carried_not_dropped(tmp_path):
    """An input's ``meta`` is carried as the document's metadata since 2026-12-05, but only a JSON
    object (or text of one) was: a Parquet ``meta`` column of map type (Spark writes metadata
    so; pyarrow gives its value as a list of pairs) was dropped, with its licence, and so was
    a meta that is a list, a number or text that is not JSON. A map is the object it holds;
    any other value is kept under the key ``meta``, beside the ``meta_fields``."""
    import pyarrow.parquet as pq

    pairs = pa.array([[("license", "mit"), ("lang", "en")]], type=pa.map_(pa.string(), pa.string()))
    pq.write_table(pa.table({"id": ["m"], "text": ["a page of text"], "meta": pairs}), tmp_path / "map.parquet")
    odd = {"s": "free text, not JSON", "l": [1, 2], "n": 42, "j": "[1, 2]", "o": {"a": 1}, "t": '{"b": 2}', "z": None}
    (tmp_path / "odd.jsonl").write_text("".join(json.dumps({"id": k, "text": "a page of text", "meta": v, "license": "x"}) + "\n"
                                                for k, v in odd.items()))
    got = {}
    for name, fmt in (("map.parquet", "parquet"), ("odd.jsonl", "jsonl")):
        for kind, b in read_shard(Shard(str(tmp_path / name), name, fmt, "web", "t"), Limits()):
            got |= {r["source_id"]: json.loads(r["meta"]) for r in b.to_pylist()} if kind == "docs" else {}
    assert got == {"m": {"license": "mit", "lang": "en"},
                   "s": {"meta": "free text, not JSON", "license": "x"}, "l": {"meta": [1, 2], "license": "x"},
                   "n": {"meta": 42, "license": "x"}, "j": {"meta": "[1, 2]", "license": "x"},
                   "o": {"a": 1, "license": "x"}, "t": {"b": 2, "license": "x"}, "z": {"license": "x"}}


def test_a_line_nested_too_deep_is_one_bad_line_not_the_rest_of_the_file(tmp_path):
    """A JSON line nested deeper than Python's parser goes (a record's meta of 5,000 objects)
    raised RecursionError, not ValueError: the file's reading stopped there, one read_error row,
    and every record after it was lost. It is one bad_json row at its offset; the file goes on."""
    path = tmp_path / "d.jsonl"
    deep = '{"id": "deep", "text": "x", "meta": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}\n"
    path.write_text(json.dumps({"id": "before", "text": "first"}) + "\n" + deep + json.dumps({"id": "after", "text": "last"}) + "\n")
    got = {"docs": [], "quarantine": []}
    for kind, b in read_shard(Shard(str(path), path.name, "jsonl", "web", "t"), Limits()):
        got.setdefault(kind, []).extend(b.to_pylist())
    assert [r["source_id"] for r in got["docs"]] == ["before", "after"]
    [bad] = got["quarantine"]
    assert (bad["reason"], bad["offset"]) == ("bad_json", len(json.dumps({"id": "before", "text": "first"})) + 1), bad
    assert "nested" in bad["detail"], bad


def test_a_parquet_meta_map_of_any_key_type_empty_or_nested_is_its_object(tmp_path):
    """A Parquet ``meta`` map is carried as the object it holds (review31), but pyarrow gave it
    as pairs, turned into a dict only at the top: a map with integer keys beside a licence
    column (a dict of int and str keys, which the sorted meta JSON cannot order) made the whole
    file one read_error row, every record lost; an empty map (Spark writes one for a row with
    no metadata) was kept as ``meta.meta = []``; a map inside a struct stayed a list of pairs."""
    import pyarrow.parquet as pq

    int_map = pa.array([[(1, "a")], [(2, "b")]], type=pa.map_(pa.int64(), pa.string()))
    maps = pa.array([[], [("license", "mit")]], type=pa.map_(pa.string(), pa.string()))
    nested = pa.array([{"license": "mit", "extra": [("k", "v")]}, None],
                      type=pa.struct([("license", pa.string()), ("extra", pa.map_(pa.string(), pa.string()))]))
    tables = {"int.parquet": {"meta": int_map, "license": ["x", "y"]}, "empty.parquet": {"meta": maps},
              "nested.parquet": {"meta": nested}}
    got, bad = {}, []
    for name, cols in tables.items():
        pq.write_table(pa.table({"id": [f"{name[0]}0", f"{name[0]}1"], "text": ["a page of text"] * 2, **cols}), tmp_path / name)
        for kind, b in read_shard(Shard(str(tmp_path / name), name, "parquet", "web", "t"), Limits()):
            if kind == "docs":
                got |= {r["source_id"]: json.loads(r["meta"]) if r["meta"] else None for r in b.to_pylist()}
            else:
                bad += b.to_pylist()
    assert not bad
    assert got == {"i0": {"1": "a", "license": "x"}, "i1": {"2": "b", "license": "y"},
                   "e0": None, "e1": {"license": "mit"},
                   "n0": {"license": "mit", "extra": {"k": "v"}}, "n1": None}


def test_a_field_named_inside_a_parquet_meta_map_is_found(tmp_path):
    """url_field / id_field / meta_fields may name a field inside the meta (``meta.url``), as
    inside a JSON object or a Parquet struct; inside a Parquet map column (pyarrow gave it as
    pairs) the name reached nothing and every row's url was null without a word (the file has
    the ``meta`` column, so the check for a misspelt field passed)."""
    import pyarrow.parquet as pq

    pairs = pa.array([[("url", "https://a.example/1"), ("lic", "mit")]], type=pa.map_(pa.string(), pa.string()))
    pq.write_table(pa.table({"id": ["m"], "text": ["a page of text"], "meta": pairs}), tmp_path / "map.parquet")
    shard = Shard(str(tmp_path / "map.parquet"), "map.parquet", "parquet", "web", "t",
                  options=(("meta_fields", ("meta.lic",)), ("url_field", "meta.url")))
    rows = [r for kind, b in read_shard(shard, Limits()) if kind == "docs" for r in b.to_pylist()]
    assert [(r["url"], json.loads(r["meta"])["meta.lic"]) for r in rows] == [("https://a.example/1", "mit")]


def test_a_parquet_meta_map_keyed_by_a_struct_list_or_bytes_is_read(tmp_path):
    """A map's keys may be structs or lists (Arrow allows any type): read as dicts, such a key
    cannot be one (unhashable), and the whole file was one read_error row, every record lost.
    It is the key's JSON text. A binary key (Spark's map<binary,string>) was its repr, "b'lic'",
    which no ``meta_fields = ["meta.lic"]`` reaches: it is its UTF-8 text."""
    import pyarrow.parquet as pq

    key = pa.struct([("a", pa.int64())])
    cols = {"s": pa.array([[({"a": 1}, "x")], []], type=pa.map_(key, pa.string())),
            "l": pa.array([[([1, 2], "x")], [([3], "y")]], type=pa.map_(pa.list_(pa.int64()), pa.string())),
            "b": pa.array([[(b"lic", "mit")], [("ü".encode(), "y")]], type=pa.map_(pa.binary(), pa.string())),
            "n": pa.array([[[(b"lic", "mit")]], None], type=pa.list_(pa.map_(pa.binary(), pa.string())))}
    got, bad = {}, []
    for name, col in cols.items():
        pq.write_table(pa.table({"id": [f"{name}0", f"{name}1"], "text": ["a page of text"] * 2, "meta": col}),
                       tmp_path / f"{name}.parquet")
        shard = Shard(str(tmp_path / f"{name}.parquet"), name, "parquet", "web", "t")
        for kind, b in read_shard(shard, Limits()):
            if kind == "docs":
                got |= {r["source_id"]: json.loads(r["meta"]) if r["meta"] else None for r in b.to_pylist()}
            else:
                bad += b.to_pylist()
    assert not bad
    assert got == {"s0": {'{"a": 1}': "x"}, "s1": None, "l0": {"[1, 2]": "x"}, "l1": {"[3]": "y"},
                   "b0": {"lic": "mit"}, "b1": {"ü": "y"}, "n0": {"meta": [{"lic": "mit"}]}, "n1": None}


def test_a_quoted_bad_line_keeps_no_secret(tmp_path, capsys):
    """A run of lines that are not JSON is one quarantine row whose detail quotes its first line's
    first 40 characters, and a file with no JSON object is refused quoting how it starts: a bare
    GitHub token line (a token list appended to a dump) was quoted whole. Both are redacted as the
    ledger's snippets are (curate/snippets.py)."""
    import polars as pl

    from curate import cli

    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fGh"
    bad = [token, *(f"k{i},v" for i in range(12))]
    dump, only_bad = tmp_path / "d" / "dump.jsonl", tmp_path / "bad.jsonl"
    dump.parent.mkdir()
    dump.write_text("\n".join([json.dumps({"text": "hello world"}), *bad]) + "\n")
    only_bad.write_text("\n".join(bad) + "\n")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(dump.parent), "--domain", "web", "--stages", "ingest", "--output", str(out), "--progress", "off"]) == 0
    detail = pl.read_parquet(str(out / "quarantine" / "*.parquet"))["detail"].to_list()
    assert len(detail) == 1 and "(it reads '<KEY>')" in detail[0], detail
    assert cli.main(["run", "--input", str(only_bad), "--domain", "web", "--stages", "ingest", "--output", str(tmp_path / "o2"), "--progress", "off"]) != 0
    said = capsys.readouterr()
    assert "(it starts '<KEY>')" in said.err, said.err
    assert token[:12] not in said.out + said.err


def test_one_stray_file_among_parquet_files_is_quarantined_not_refused(tmp_path):
    """A folder given as Parquet that holds one file that is not (a README) is read: the stray one
    is quarantined whole as before (read_error); a run of no Parquet file at all is refused
    (readers.not_parquet, tests/test_cli.py's test_a_file_given_as_parquet_that_is_not_...)."""
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a page of text"]}), tmp_path / "a.parquet")
    (tmp_path / "README").write_text("about this dump\n")
    shards = plan_shards(list_files(str(tmp_path)), "parquet", "web", "t", {}, Limits())
    assert sorted(s.rel for s in shards) == ["README", "a.parquet"]
    read = {s.rel: [k for k, _ in read_shard(s, Limits())] for s in shards}
    assert read["README"] == ["quarantine"] and "docs" in read["a.parquet"], read
    with pytest.raises(ValueError, match=r"^README is not a Parquet file \(.*b'about th'\): give its format \(--format\)$"):
        plan_shards([(str(tmp_path / "README"), "README")], "parquet", "web", "t", {}, Limits())


def test_one_stray_file_among_warc_files_is_quarantined_not_refused(tmp_path):
    """As Parquet's: a stray file among WARCs is quarantined whole (not_a_warc); an input of no WARC
    at all, gzipped under a WARC's name too, is refused (readers.not_warc)."""
    from curate.readers.warc_writer import write_warc

    write_warc(str(tmp_path / "a.warc.gz"), [("https://example.com/", b"<html><body><p>A page of text.</p></body></html>", "text/html", 200)])
    with gzip.open(tmp_path / "b.warc.gz", "wb") as f:
        f.write(b"not a warc at all\n")
    shards = plan_shards(list_files(str(tmp_path)), None, "web", "t", {}, Limits())
    assert sorted(s.rel for s in shards) == ["a.warc.gz", "b.warc.gz"]
    with pytest.raises(ValueError, match=r"^b\.warc\.gz is not a WARC file \(.*b'not a wa'\): give its format \(--format\)$"):
        plan_shards([(str(tmp_path / "b.warc.gz"), "b.warc.gz")], None, "web", "t", {}, Limits())


def _parquet_bytes() -> bytes:
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"text": ["a page of text"]}), sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("name", ["part-0.parquet", "dump.gz"])
def test_a_compressed_parquet_file_not_named_so_is_said_compressed(tmp_path, name):
    """A Parquet file gzipped whole under a name that does not say so (part-0.parquet, dump.gz),
    given as Parquet, was refused as 'not a Parquet file (... it starts with b'\\x1f\\x8b...' and
    looks like parquet): give --format parquet', the format given: it says it is compressed and
    how to decompress it, as x.parquet.gz is told by its name."""
    (tmp_path / name).write_bytes(gzip.compress(_parquet_bytes()))
    with pytest.raises(ValueError) as e:
        plan_shards([(str(tmp_path / name), name)], "parquet", "web", "t", {}, Limits())
    said = str(e.value)
    assert said.startswith(f"{tmp_path / name} is compressed with gzip; decompress it (curate reads Parquet as written"), said
    assert "--format" not in said and "gzip -d" in said and str(tmp_path / name) in said.split("e.g. ")[1], said


def test_a_file_named_parquet_that_is_not_is_not_told_to_leave_the_format_out(tmp_path):
    """JSON Lines in a file named .parquet: leaving the format out reads it as Parquet again (by its
    name), yet the refusal said 'give --format jsonl ..., or leave the format out'."""
    (tmp_path / "rec.parquet").write_text('{"text": "hi"}\n')
    (tmp_path / "rec.bin").write_text('{"text": "hi"}\n')
    for fmt in (None, "parquet"):
        with pytest.raises(ValueError, match=r"looks like jsonl\): give --format jsonl \(format in \[\[inputs\]\]\)$"):
            plan_shards([(str(tmp_path / "rec.parquet"), "rec.parquet")], fmt, "web", "t", {}, Limits())
    with pytest.raises(ValueError, match=r"give --format jsonl \(format in \[\[inputs\]\]\), or leave the format out$"):
        plan_shards([(str(tmp_path / "rec.bin"), "rec.bin")], "parquet", "web", "t", {}, Limits())


def test_a_parquet_file_with_no_footer_over_split_bytes_is_quarantined_not_refused_at_launch(tmp_path):
    """A Parquet file being written (PAR1 first, no footer yet) or cut short, over split_bytes:
    planning its row groups raised pyarrow's ArrowInvalid at launch, the whole run refused as
    'curate: Parquet magic bytes not found in footer. ...' naming no file; under split_bytes it is
    one shard the reader quarantines (read_error). Now the same over split_bytes."""
    (tmp_path / "cut.parquet").write_bytes(_parquet_bytes()[:40])
    files = [(str(tmp_path / "cut.parquet"), "cut.parquet")]
    small, large = (plan_shards(files, "parquet", "web", "t", {}, Limits(split_bytes=n)) for n in (1 << 20, 10))
    assert large == small and [(s.rel, s.start, s.end) for s in small] == [("cut.parquet", 0, None)], (large, small)
    assert [k for k, _ in read_shard(large[0], Limits(split_bytes=10))] == ["quarantine"]


def test_an_empty_file_does_not_make_a_folder_of_no_parquet_read_as_parquet(tmp_path):
    """Spark's JSON or text output (part-*.json and an empty _SUCCESS) given --format parquet by
    mistake: the empty _SUCCESS counted as the one Parquet file, so the JSON files were each
    quarantined whole after a run of nothing, not refused at launch as without it."""
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / "part-00000.json").write_text('{"text": "a page of text"}\n')
    with pytest.raises(ValueError, match=r"^part-00000\.json is not a Parquet file \(.*looks like jsonl\)"):
        plan_shards(list_files(str(tmp_path)), "parquet", "web", "t", {}, Limits())
