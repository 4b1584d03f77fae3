"""A zstd file is decoded a block at a time, so a decompression bomb meets ``max_file_bytes``
before it is in memory: 64 KiB of zstd can decode to gigabytes in one decompress call, and
zstandard's decompressobj has no output limit (gzip's has one)."""
from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import tracemalloc

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.readers import decompress, read_shard
from curate.readers.common import Limits, Shard

pytestmark = pytest.mark.usefixtures("one_process_runs")  # its in-process runs read a file or two each

BLOCK = 128 << 10  # the largest a zstd block decodes to


def bomb(decoded_bytes: int, **kw) -> bytes:
    """One JSON line repeated to ``decoded_bytes``: a few KB of zstd."""
    row = json.dumps({"text": "all work and no play " * 40}).encode() + b"\n"
    piece = row * ((1 << 20) // len(row))
    c = zstandard.ZstdCompressor(level=3, **kw).compressobj()
    out = [c.compress(piece) for _ in range(decoded_bytes // len(piece))]
    return b"".join(out) + c.flush()


def read_all(m: decompress.Members, n: int = 1 << 16) -> bytes:
    parts = []
    while True:
        b = m.read(n)
        if not b:
            return b"".join(parts)
        parts.append(b)


def read_counts(p, limits: Limits) -> dict:
    """A JSONL shard read as the pipeline reads it: how many documents, which quarantine reasons."""
    got = {"docs": 0, "quarantine": []}
    for kind, batch in read_shard(Shard(str(p), p.name, "jsonl", "web", "t"), limits):
        if kind == "docs":
            got["docs"] += batch.num_rows
        elif kind == "quarantine":
            got["quarantine"] += batch.column("reason").to_pylist()
    return got


def test_a_read_decodes_one_block_not_the_whole_bomb():
    z = bomb(64 << 20)
    assert len(z) < 64 << 10  # the whole bomb fits in one 64 KiB read of the file
    m = decompress.Members(io.BytesIO(z), "zstd")
    sizes = [len(m.read(1 << 16)) for _ in range(20)]
    assert max(sizes) <= BLOCK and min(sizes) > 0  # was 64 MiB in the first read


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 1 << 17), min_size=1, max_size=40), st.integers(0, 2**32))
def test_a_read_gives_at_most_what_was_asked(sizes, seed):
    """Members.read(n) returns at most n bytes, as a file's read does (the WARC reader copies
    each read into a buffer of n bytes); a zstd block decodes to up to 128 KiB."""
    rnd = random.Random(seed)
    want = rnd.randbytes(300) * 1000
    m = decompress.Members(io.BytesIO(zstandard.ZstdCompressor().compress(want)), "zstd")
    got = []
    for n in sizes * (len(want) // max(1, sum(sizes)) + 1):
        b = m.read(n)
        assert len(b) <= n
        got.append(b)
    got.append(read_all(m))
    assert b"".join(got) == want and m.verified == len(want)


def test_a_bomb_stops_at_max_file_bytes_without_holding_it(tmp_path):
    p = tmp_path / "bomb.jsonl.zst"
    p.write_bytes(bomb(256 << 20))
    tracemalloc.start()
    try:
        got = read_counts(p, Limits(max_file_bytes=4 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got["quarantine"] == ["file_too_large"] and got["docs"] < 5000
    assert peak < 32 << 20  # was > 256 MiB: the whole file decoded by one call


def _frames(draw_sizes, rnd: random.Random) -> tuple[bytes, bytes]:
    """Frames of random settings (checksum, content size, level), skippable frames and zero
    padding between them: (compressed, what zstd's own one-shot decoder gives)."""
    z, want = [], []
    for size, kind in draw_sizes:
        if kind == "skip":
            body = rnd.randbytes(size % 300)
            z.append((0x184D2A50 + size % 16).to_bytes(4, "little") + len(body).to_bytes(4, "little") + body)
            continue
        data = (rnd.randbytes(size // 3) + b"abc" * size)[:size] if kind == "mixed" else bytes(size)
        c = zstandard.ZstdCompressor(level=rnd.choice([1, 3, 9]), write_checksum=rnd.random() < 0.5,
                                     write_content_size=rnd.random() < 0.5)
        if rnd.random() < 0.5:
            frame = c.compress(data)
        else:  # streamed: content size unknown, several blocks flushed as they come
            o = c.compressobj()
            frame = b"".join(o.compress(data[i:i + 70_000]) for i in range(0, len(data), 70_000)) + o.flush()
        z.append(frame)
        want.append(data)
    return b"".join(z), b"".join(want)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 600_000), st.sampled_from(["mixed", "zeros", "skip"])), min_size=1, max_size=5),
       st.integers(0, 2**32), st.sampled_from([1, 7, 4096, 1 << 16]))
def test_block_at_a_time_decodes_what_zstd_decodes(sizes, seed, chunk):
    z, want = _frames(sizes, random.Random(seed))
    m = decompress.Members(io.BytesIO(z), "zstd")
    got = read_all(m, chunk)
    assert got == want
    assert m.verified == m.produced == len(want) and m.consumed == len(z)


def test_frame_ends_still_mark_what_is_verified():
    a = zstandard.ZstdCompressor(write_checksum=True).compress(b"a" * 3_000_000)  # 23 blocks: several feeds
    b = zstandard.ZstdCompressor(write_checksum=True).compress(b"b" * 300_000)
    bad = bytearray(b)
    bad[-2] ^= 0xFF  # b's checksum fails
    m = decompress.Members(io.BytesIO(a + bytes(bad)), "zstd")
    seen = []
    try:
        while m.read(1 << 16):
            seen.append(m.verified)
    except decompress.CorruptData as e:
        assert e.member_start == 3_000_000
    else:
        raise AssertionError("the damaged frame was not reported")
    assert m.verified == 3_000_000 and 0 in seen  # nothing verified before a's end


def test_zero_padding_after_the_last_frame():
    z = zstandard.ZstdCompressor().compress(b"x" * 200_000)
    m = decompress.Members(io.BytesIO(z + bytes(5000)), "zstd")
    assert read_all(m) == b"x" * 200_000 and m.consumed == len(z) + 5000


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), max_size=4),
       st.integers(0, 10**9))
def test_damaged_zstd_ends_in_an_error_or_data_never_a_hang_or_a_huge_read(seed, flips, cut):
    z, _ = _frames([(200_000, "mixed"), (300_000, "zeros"), (5000, "skip")], random.Random(seed))
    bad = bytearray(z)
    for at, byte in flips:
        bad[at % len(bad)] = byte
    bad = bytes(bad[: max(1, cut % (len(bad) + 1))])
    m = decompress.Members(io.BytesIO(bad), "zstd")
    for _ in range(10_000):
        try:
            b = m.read(1 << 16)
        except (decompress.CorruptData, decompress.Truncated):
            break
        assert len(b) <= decompress.BLIND * 32768  # where headers cannot be read, 64 bytes at a time
        if not b:
            break
    else:
        raise AssertionError("no end")


def test_a_long_window_frame_is_named_not_called_damaged(tmp_path):
    """A frame written with `zstd --long=28` or more needs a window over zstd's default decoder
    limit (128 MiB): the file is not damaged, and the row says how to recompress it (it said
    corrupt_compressed, 'Frame requires too much memory for decoding')."""
    first = zstandard.ZstdCompressor().compress(b'{"text": "a first frame, read as usual"}\n')
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28)
    long = zstandard.ZstdCompressor(compression_params=params).compressobj()
    p = tmp_path / "long.jsonl.zst"
    p.write_bytes(first + long.compress(b'{"text": "the second"}\n') + long.flush())
    docs, bad = 0, []
    for kind, batch in read_shard(Shard(str(p), p.name, "jsonl", "web", "t"), Limits()):
        if kind == "docs":
            docs += batch.num_rows
        elif kind == "quarantine":
            bad += zip(batch.column("reason").to_pylist(), batch.column("detail").to_pylist())
    assert docs == 1 and [r for r, _ in bad] == ["zstd_window_too_large"]
    assert "--long=31" in bad[0][1] and "256 MiB" in bad[0][1]


def test_curate_run_says_which_file_needs_a_long_window(tmp_path, capsys):
    """`curate run` said only 'quarantined 1' of a .zst written with `zstd --long=28`: the
    records from that frame on were not read, and the window and the command that recompresses
    it were in the quarantine table alone. One line a file after the summary, as
    train-quality and the audit say it."""
    from curate import cli

    first = zstandard.ZstdCompressor().compress(b'{"text": "a first frame, read as usual"}\n')
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28)
    long = zstandard.ZstdCompressor(compression_params=params).compressobj()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "long.jsonl.zst").write_bytes(first + long.compress(b'{"text": "the second"}\n') + long.flush())
    assert cli.main(["run", "--input", str(tmp_path / "in"), "--domain", "web", "--stages", "ingest",
                     "--output", str(tmp_path / "out"), "--progress", "off"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "window" in line]
    assert len(said) == 1 and "long.jsonl.zst: zstd frame starting at decompressed byte 41 needs a 256 MiB window" in said[0], said
    assert "zstd -d --long=31" in said[0] and said[0].endswith("(zstd_window_too_large)"), said


def test_audit_corpus_does_not_call_a_long_window_file_damaged(tmp_path, capsys):
    """`curate audit --corpus long.jsonl.zst` (written with `zstd --long=28`) said the window and
    the recompress command, then 'a damaged or truncated file, or not of its kind': it is neither.
    One line, as train-quality and curate run say it (decompress.unreadable)."""
    from curate import cli

    first = zstandard.ZstdCompressor().compress(b'{"text": "a first frame, read as usual"}\n')
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28)
    long = zstandard.ZstdCompressor(compression_params=params).compressobj()
    p = tmp_path / "long.jsonl.zst"
    p.write_bytes(first + long.compress(b'{"text": "the second"}\n') + long.flush())
    assert cli.main(["audit", "--corpus", str(p), "--output", str(tmp_path / "audit")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"curate audit: {p}: cannot be read (zstd frame starting at decompressed byte 41 needs a 256 MiB window"), err
    assert "zstd -d --long=31" in err and "damaged" not in err and len(err.strip().splitlines()) == 1, err


def test_a_single_segment_frame_over_the_window_limit_names_its_size():
    """A frame with its content size and no window descriptor (the window is the content): the
    header is 6 bytes, and the row gives the size the decoder refused."""
    header = decompress.ZSTD_MAGIC + bytes([0b1010_0000]) + (200 << 20).to_bytes(4, "little")  # single segment, 4-byte size
    m = decompress.Members(io.BytesIO(header + bytes([1, 0, 0]) * 3), "zstd")
    try:
        m.read()
    except decompress.CorruptData as e:
        assert e.reason == "zstd_window_too_large" and "200 MiB window" in e.detail
    else:
        raise AssertionError("the frame was decoded")


@pytest.mark.parametrize("size, said", [((128 << 20) + 2, "129 MiB window"), ((200 << 20) + 1, "201 MiB window")])
def test_a_window_just_over_the_limit_is_not_said_to_be_the_limit(size, said):
    """The decoder takes a window up to 128 MiB + 1 byte (zstd's default limit) and refuses
    128 MiB + 2: the row said 'needs a 128 MiB window ... decodes up to 128 MiB' (rounded down),
    as if the file were within the limit."""
    frame = decompress.ZSTD_MAGIC + bytes([0b1010_0000]) + size.to_bytes(4, "little") + bytes([1, 0, 0])
    m = decompress.Members(io.BytesIO(frame), "zstd")
    with pytest.raises(decompress.CorruptData) as e:
        m.read()
    assert e.value.reason == "zstd_window_too_large" and said in e.value.detail


def test_small_blocks_are_fed_several_at_a_time(monkeypatch):
    """A stream flushed a record at a time (a logger, a streaming writer) is a block a record:
    fed one block a call, reading it cost 18x the CPU of reading it before blocks were parsed.
    Small blocks go to the decoder together while what they decode to stays within FEED."""
    rows = [json.dumps({"text": f"record {i} and some words"}).encode() + b"\n" for i in range(3000)]
    c = zstandard.ZstdCompressor().compressobj()
    z = b"".join(c.compress(r) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for r in rows) + c.flush()
    calls = []

    class Counted:
        def __init__(self, d):
            self.d = d

        def decompress(self, piece):
            calls.append(len(piece))
            return self.d.decompress(piece)

        def __getattr__(self, name):
            return getattr(self.d, name)

    real = decompress._decoder
    monkeypatch.setattr(decompress, "_decoder", lambda kind: Counted(real(kind)))
    m = decompress.Members(io.BytesIO(z), "zstd")
    assert read_all(m) == b"".join(rows) and m.verified == len(b"".join(rows)) and m.consumed == len(z)
    assert len(calls) <= len(rows) / 4  # was one a record (3000); 8 compressed blocks fit in FEED


def _rle_frame(blocks: int, byte: int, checksum: bool) -> tuple[bytes, bytes]:
    """A frame of ``blocks`` RLE blocks (4 bytes each on disk, 128 KiB decoded): the most a
    feed's bound can hold, as zstd writes a block of one repeated byte."""
    c = zstandard.ZstdCompressor(write_checksum=checksum).compressobj()
    d = bytes([byte]) * BLOCK
    return b"".join(c.compress(d) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for _ in range(blocks)) + c.flush(), d * blocks


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 24), st.booleans(), st.integers(0, 3)), min_size=2, max_size=4),
       st.sampled_from([1 << 12, 1 << 16, 1 << 20, 2 << 20]))
def test_no_decode_is_over_feed_across_a_frames_checksum_or_a_skippable_frame(frames, n):
    """A frame's 4-byte checksum (zstd's default) was fed with the next frame's first blocks:
    the decoder stopped at the checksum and gave them back, and the next feed held them again
    with as many more, 2 MiB decoded by one call (a skippable frame did the same)."""
    z, want, outs = [], [], []
    for blocks, checksum, skip in frames:
        if skip:
            z.append((0x184D2A50 + skip).to_bytes(4, "little") + (skip * 5).to_bytes(4, "little") + bytes(skip * 5))
        frame, data = _rle_frame(blocks, 65 + len(z), checksum)
        assert zstandard.ZstdDecompressor().decompress(frame, max_output_size=len(data)) == data  # zstd's one-shot decode
        z.append(frame)
        want.append(data)

    class Measured:
        def __init__(self, d):
            self.d = d

        def decompress(self, piece):
            out = self.d.decompress(piece)
            outs.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.d, name)

    real = decompress._decoder
    decompress._decoder = lambda kind: Measured(real(kind))
    try:
        m = decompress.Members(io.BytesIO(b"".join(z)), "zstd")
        assert read_all(m, n) == b"".join(want) and m.verified == m.produced == len(b"".join(want))
    finally:
        decompress._decoder = real
    assert max(outs) <= decompress.FEED  # was 2 MiB where a checksum or a skippable frame came first


def _long_window_zst() -> bytes:
    """A first frame read as usual, then one written with a 256 MiB window (zstd --long=28)."""
    first = zstandard.ZstdCompressor().compress(b'{"text": "a first frame, read as usual"}\n')
    long = zstandard.ZstdCompressor(compression_params=zstandard.ZstdCompressionParameters.from_level(3, window_log=28)).compressobj()
    return first + long.compress(b'{"text": "the second"}\n') + long.flush()


def _run_err(tmp_path, capsys) -> list[str]:
    from curate import cli

    assert cli.main(["run", "--input", str(tmp_path / "in"), "--domain", "web", "--stages", "ingest",
                     "--output", str(tmp_path / "out"), "--progress", "off"]) == 0
    return capsys.readouterr().err.splitlines()


def test_a_files_warning_is_one_line_whatever_its_name(tmp_path, capsys):
    """A file's warning is one line: a newline in its name (a name a tool or a user made) cut the
    line in two, the second looking like curate's own ('curate: done ...'); a control character
    (ESC) reached the terminal. Such characters are written escaped, as Python writes them."""
    (tmp_path / "in").mkdir()
    for name in ("evil\ncurate: done.jsonl.zst", "esc\x1b[2Jname.jsonl.zst"):
        (tmp_path / "in" / name).write_bytes(_long_window_zst())
    err = _run_err(tmp_path, capsys)
    said = [line for line in err if "window" in line]
    assert len(said) == 2 and all(line.startswith("curate: warning: ") for line in said), err
    assert any("evil\\ncurate: done.jsonl.zst: zstd frame starting at decompressed byte 41" in line for line in said), said
    assert any("esc\\x1b[2Jname.jsonl.zst: zstd frame" in line for line in said), said
    assert not any(line.startswith("curate: done") or "\x1b" in line for line in err), err


def test_a_joiner_between_letters_of_a_script_it_does_not_shape_is_escaped(tmp_path, capsys):
    """A zero-width (non-)joiner was kept raw between any two non-ASCII letters, marks or
    symbols: in a Cyrillic, Greek, CJK or accented Latin name it changes nothing shown, so
    'от\\u200cчёт.json' was said as 'отчёт.json', another file's name (the same for ZWJ
    between an emoji and a letter). Kept where a script is shaped by it: Arabic-script letters
    (Persian), an Indic script's letters and marks (Bengali's ra-phala ZWJ before a virama),
    after a virama (Sinhala), inside an emoji sequence; escaped elsewhere."""
    names = {"от\u200cчёт.json": "от\\u200cчёт.json", "αβ\u200dγ.json": "αβ\\u200dγ.json",
             "報\u200c告.json": "報\\u200c告.json", "ÆØ\u200dÅ.json": "ÆØ\\u200dÅ.json",
             "👨\u200dé.json": "👨\\u200dé.json", "ש\u200cלום.json": "ש\\u200cלום.json",
             "می\u200cخواهم.json": "می\u200cخواهم.json", "র\u200d্যাব.json": "র\u200d্যাব.json",
             "ශ්\u200dරී.json": "ශ්\u200dරී.json", "👩🏽\u200d💻.json": "👩🏽\u200d💻.json"}
    _names_said(tmp_path, capsys, names)


def test_a_stray_file_whose_name_is_not_utf8_is_said_once(tmp_path, capsys):
    """A file quarantined whole before the run (old-Mac line ends, a JSON array) is said then,
    and not again after it: its quarantine row's path has a name's byte that is not UTF-8 as
    "?" (Arrow strings are UTF-8), so 'bad\\udcffname.jsonl' said before the run was said again
    after it, as 'bad?name.jsonl: bad?name.jsonl ends its lines ...'."""
    import os

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "a page read as usual"}\n')
    folder = os.fsencode(tmp_path / "in")
    with open(folder + b"/bad\xffname.jsonl", "wb") as f:
        f.write(b'{"text": "one"}\r{"text": "two"}\r')
    with open(folder + b"/arr\xfe.json", "wb") as f:
        f.write(json.dumps([{"text": "an array record"}]).encode())
    said = [line for line in _run_err(tmp_path, capsys) if line.startswith("curate: warning: ")]
    assert len(said) == 2 and sum("name.jsonl" in line for line in said) == 1, said
    assert any(line.startswith("curate: warning: bad\\udcffname.jsonl ends its lines with a bare") for line in said), said


def test_many_quarantined_files_are_said_in_a_few_lines(tmp_path, capsys):
    """A corpus compressed whole with `zstd --long=31` (an archive's habit) is a warning a file:
    10,000 files were 10,000 lines after the summary, the summary scrolled away. The first 10
    files are said, then how many more and where their rows are."""
    (tmp_path / "in").mkdir()
    for i in range(25):
        (tmp_path / "in" / f"part-{i:02d}.jsonl.zst").write_bytes(_long_window_zst())
    said = [line for line in _run_err(tmp_path, capsys) if line.startswith("curate: warning: ")]
    assert len(said) == 11, said
    assert [line.split(": ")[2] for line in said[:10]] == [f"part-{i:02d}.jsonl.zst" for i in range(10)], said
    assert said[10] == (f"curate: warning: and 15 more files quarantined as zstd_window_too_large "
                        f"(a row each in {tmp_path / 'out' / 'quarantine'})"), said


def test_many_stray_json_arrays_are_said_in_a_few_lines_before_the_run(tmp_path, capsys):
    """The files quarantined whole before the run (a JSON array among JSON Lines) are said as
    those after it: the first 10, then how many more (a share of 10,000 exports was 10,000 lines)."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "a page read as usual"}\n')
    for i in range(12):
        (tmp_path / "in" / f"export-{i:02d}.json").write_text(json.dumps([{"text": "an array record"}]))
    said = [line for line in _run_err(tmp_path, capsys) if line.startswith("curate: warning: ")]
    assert len(said) == 11 and all("export-" in line for line in said[:10]), said
    assert said[10] == (f"curate: warning: and 2 more files quarantined as not_json_lines "
                        f"(a row each in {tmp_path / 'out' / 'quarantine'})"), said


def test_a_files_warning_escapes_the_invisible_characters_of_its_name(tmp_path, capsys):
    """A name's characters that are not shown but change how the line reads are escaped as Python
    writes them: a right-to-left override (U+202E) turned the rest of the warning around in a
    terminal that lays out bidirectional text ('...sj.txt' for 'txt.js...', curate's own words
    too), a zero-width space (U+200B) made two names look one. Letters of any script, and their
    spaces, are written as they are."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "a page read as usual"}\n')
    names = {"invoice\u202egnp.json": "invoice\\u202egnp.json", "zero\u200bwidth.json": "zero\\u200bwidth.json",
             "join\u2066ed\u2069.json": "join\\u2066ed\\u2069.json", "café 日本\u3000データ.json": "café 日本\u3000データ.json"}
    for name in names:
        (tmp_path / "in" / name).write_text(json.dumps([{"text": "an array record"}]))
    err = _run_err(tmp_path, capsys)
    said = [line for line in err if line.startswith("curate: warning: ")]
    assert sorted(line.split()[2] for line in said) == sorted(n.split()[0] for n in names.values()), said
    assert any(line.startswith("curate: warning: café 日本\u3000データ.json is one JSON array") for line in said), said
    assert not any(c in line for line in err for c in "\u202e\u200b\u2066\u2069"), err


def _names_said(tmp_path, capsys, names: dict) -> None:
    """Run an input of one JSON Lines file and a JSON array file under each of ``names``: each
    is said in a warning as ``names`` maps it."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "a page read as usual"}\n')
    for name in names:
        (tmp_path / "in" / name).write_text(json.dumps([{"text": "an array record"}]))
    said = [line for line in _run_err(tmp_path, capsys) if line.startswith("curate: warning: ")]
    assert sorted(line.split()[2] for line in said) == sorted(names.values()), said


def test_a_files_warning_keeps_the_joiners_a_script_is_written_with(tmp_path, capsys):
    """A zero-width non-joiner or joiner (U+200C, U+200D, format characters like a bidi override)
    is part of how a name is spelt between two letters of a script that writes it: Persian puts a
    ZWNJ inside words (می‌خواهم), Devanagari and Malayalam a ZWJ after a virama, an emoji sequence
    a ZWJ between its emoji. Those are written as they are (escaped, a Persian name read
    'می\\u200cخواهم'); between ASCII letters, at a name's edge, and a soft hyphen, they only make
    two names look one, so are escaped still."""
    names = {"می\u200cخواهم.json": "می\u200cخواهم.json", "क्\u200dष.json": "क्\u200dष.json",
             "അവന്\u200d.json": "അവന്\u200d.json", "👨\u200d👩\u200d👧.json": "👨\u200d👩\u200d👧.json",
             "🏳\ufe0f\u200d🌈.json": "🏳\ufe0f\u200d🌈.json", "pay\u200cpal.json": "pay\\u200cpal.json",
             "\u200dedge.json": "\\u200dedge.json", "soft\u00adhyphen.json": "soft\\xadhyphen.json",
             "ab\u200c\u202e.json": "ab\\u200c\\u202e.json"}
    _names_said(tmp_path, capsys, names)


def test_a_default_ignorable_character_is_escaped_unless_it_shapes_the_name(tmp_path, capsys):
    """one_line escaped controls and format characters (Cc, Cf), but Unicode's other default
    ignorable code points, shown as nothing, were printed raw: a combining grapheme joiner
    (U+034F), a variation selector after a Latin letter, Hangul fillers (U+3164, U+115F, U+FFA0),
    a Mongolian variation selector, Khmer's inherent vowels, an unassigned one (U+2065): each
    made 'pay?pal' read 'paypal'. They are escaped, except where they shape what is shown: a
    variation selector after an emoji, a keycap's digit or an ideograph, a Mongolian one after a
    Mongolian letter, a Hangul filler inside a jamo syllable, tags in an emoji flag (England); a
    ZWNJ/ZWJ between Khmer or Myanmar letters too (Thai is shaped by neither: escaped)."""
    flag = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    kept = ["\u2764\ufe0f.json", "1\ufe0f\u20e3.json", "\u845b\U000e0100.json", "\u1820\u180b\u1822.json",
            "\u1100\u1160x.json", "\u115f\u1161x.json", f"{flag}.json", "\u1780\u200c\u1781.json",
            "\u1019\u200c\u1014.json", "\u0628\u200d\u0640.json"]
    names = {n: n for n in kept}
    for spoof in ("\u034f", "\ufe0f", "\ufe00", "\U000e0100", "\u3164", "\u115f", "\u1160", "\uffa0", "\u180b",
                  "\u180e", "\u17b4", "\u2065", "\U000e0041", "\U000e007f"):
        names[f"pay{spoof}pal.json"] = f"pay{spoof.encode('unicode_escape').decode()}pal.json"
    names["\u0e01\u200d\u0e02.json"] = "\u0e01\\u200d\u0e02.json"
    names["\U000e0067\U000e007fx.json"] = "\\U000e0067\\U000e007fx.json"  # tags without an emoji before them
    items = list(names.items())
    for k in range(0, len(items), 10):  # ten files said a run, not 'and N more'
        (tmp_path / str(k)).mkdir()
        _names_said(tmp_path / str(k), capsys, dict(items[k:k + 10]))


def _skippable(payload: bytes, nibble: int = 0) -> bytes:
    """A zstd skippable frame (magic 0x184D2A50-5F, size, payload): pzstd starts every file
    with one (the size of the frame after it), other tools pad or tag files with them."""
    return (0x184D2A50 + nibble).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


@pytest.mark.parametrize("lead", [_skippable(b"\x0f\x04\x00\x00"), _skippable(b"tag", 0xE) + _skippable(b"", 3)])
def test_a_zstd_file_that_starts_with_a_skippable_frame_is_read_through_curate_run(tmp_path, lead):
    """``zstd -d`` reads a file that starts with a skippable frame (every pzstd file does): curate
    took its magic for no compression, so a .jsonl.zst stopped the run ('none of its 2 lines is a
    JSON object ... not JSON Lines') and a .warc.zst was no WARC. Trailing zeros and skippable
    frames after the data were read already."""
    import polars as pl

    from curate import cli
    from curate.readers.warc_writer import write_warc

    d = tmp_path / "in"
    d.mkdir()
    rows = [{"id": f"r{i}", "text": f"Row number {i} of a padded file, long enough to keep. " * 3} for i in range(40)]
    jsonl = "".join(json.dumps(r) + "\n" for r in rows).encode()
    z = zstandard.ZstdCompressor()
    (d / "rows.jsonl.zst").write_bytes(lead + z.compress(jsonl) + _skippable(bytes(16)) + bytes(100))
    write_warc(str(tmp_path / "w.warc.gz"), [(f"https://pad.example/{i}", f"<html><body><article><p>{'Garden notes for a padded archive, page %d. ' % i * 8}</p></article></body></html>".encode(), "text/html", 200) for i in range(3)])
    import gzip

    (d / "pages.warc.zst").write_bytes(lead + z.compress(gzip.decompress((tmp_path / "w.warc.gz").read_bytes())))
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(d / "rows.jsonl.zst"), "--domain", "web", "--input", str(d / "pages.warc.zst"),
                     "--domain", "web", "--output", str(out), "--stages", "ingest"]) == 0
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    quarantine = pl.read_parquet(str(out / "quarantine" / "*.parquet"))
    assert quarantine.height == 0, quarantine.to_dicts()
    assert sorted(t for t in text["text"] if "Garden notes" not in t) == sorted(r["text"] for r in rows)
    assert sum("Garden notes for a padded archive" in t for t in text["text"]) == 3


@pytest.mark.parametrize("packed", [False, True], ids=["raw-dictionary", "compressed-dictionary"])
def test_a_warc_zst_with_its_dictionary_in_the_first_skippable_frame_is_read_through_curate_run(tmp_path, packed):
    """The WARC zstd format (IIPC, what Archive Team's .warc.zst files are) puts the dictionary
    its records were compressed with in a skippable frame (magic 0x184D2A5D) at the file's start,
    zstd-compressed or not. curate skipped it, so every record failed ('Dictionary mismatch') and
    the run could not even tell the file's format."""
    import gzip

    import polars as pl

    from curate import cli
    from curate.readers.warc_writer import write_warc

    pages = [(f"https://dict.example/{i}", f"<html><body><article><p>{'Harbour log for the dictionary archive, entry %d. ' % i * 8}</p></article></body></html>".encode(), "text/html", 200)
             for i in range(60)]
    write_warc(str(tmp_path / "w.warc.gz"), pages)
    records = [b"WARC/1.0" + r for r in gzip.decompress((tmp_path / "w.warc.gz").read_bytes()).split(b"WARC/1.0")[1:]]
    dictionary = zstandard.train_dictionary(2048, records * 4)
    c = zstandard.ZstdCompressor(dict_data=dictionary)
    payload = dictionary.as_bytes()
    if packed:
        payload = zstandard.ZstdCompressor().compress(payload)
    d = tmp_path / "in"
    d.mkdir()
    (d / "pages.warc.zst").write_bytes(_skippable(payload, 0xD) + b"".join(c.compress(r) for r in records))
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(d / "pages.warc.zst"), "--domain", "web", "--output", str(out), "--stages", "ingest"]) == 0
    quarantine = pl.read_parquet(str(out / "quarantine" / "*.parquet"))
    assert quarantine.height == 0, quarantine.to_dicts()
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    assert sorted(text["url"].to_list()) == sorted(u for u, *_ in pages)


@pytest.mark.parametrize("lead", ["20-frames", "65-MiB-frame"])
def test_many_or_large_leading_skippable_frames_are_read_as_zstd_reads_them(tmp_path, lead):
    """``zstd -d`` reads any number of leading skippable frames of any size (up to 4 GiB each);
    curate looked past 16 at most and none over 64 MiB, so such a .jsonl.zst stopped the run
    ('none of its lines is a JSON object ... not JSON Lines') or, with its format given, was
    read as raw bytes and quarantined. A file that can seek is seeked past them."""
    import polars as pl

    from curate import cli

    rows = [{"id": f"r{i}", "text": f"Row number {i} behind the skippable frames, long enough to keep. " * 3} for i in range(30)]
    frame = zstandard.ZstdCompressor().compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    path = tmp_path / "rows.jsonl.zst"
    with open(path, "wb") as f:
        if lead == "20-frames":
            f.write(b"".join(_skippable(b"tag%d" % i, i % 16) for i in range(20)))
        else:  # a sparse file: the frame's bytes are a hole
            f.write(_skippable(b"")[:4] + (65 << 20).to_bytes(4, "little"))
            f.seek(65 << 20, 1)
        f.write(frame)
    if shutil.which("zstd"):  # the ground truth
        assert subprocess.run(["zstd", "-dc", str(path)], capture_output=True).stdout.count(b"\n") == 30
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--output", str(out), "--stages", "ingest"]) == 0
    assert not list((out / "quarantine").glob("*.parquet")) or pl.read_parquet(str(out / "quarantine" / "*.parquet")).height == 0
    assert sorted(pl.read_parquet(str(out / "text" / "*.parquet"))["text"]) == sorted(r["text"] for r in rows)


def test_a_skippable_frame_that_says_more_bytes_than_the_file_has_is_a_truncated_zstd_file(tmp_path):
    """A leading skippable frame whose size runs past the end (4 GiB said, a few bytes there):
    ``zstd -d`` says 'premature end'; curate said the .jsonl.zst was not JSON Lines (it read its
    bytes as text) where the size was over 64 MiB, and quarantined it as truncated under it."""
    import polars as pl

    from curate import cli

    frame = zstandard.ZstdCompressor().compress(b'{"id": "a", "text": "a row that is never reached"}\n')
    given = []
    for i, said in enumerate((0xFFFFFFFF, 1 << 20)):  # both files read by one run, each its own --input
        (tmp_path / f"cut{i}.jsonl.zst").write_bytes(_skippable(b"")[:4] + said.to_bytes(4, "little") + frame)
        given += ["--input", str(tmp_path / f"cut{i}.jsonl.zst"), "--domain", "web"]
    assert cli.main(["run", *given, "--output", str(tmp_path / "out"), "--stages", "ingest"]) == 0
    quarantine = pl.read_parquet(str(tmp_path / "out" / "quarantine" / "*.parquet")).sort("path")
    assert quarantine.select("path", "reason").rows() == [("cut0.jsonl.zst", "truncated_record"),  # what zstd -d says
                                                          ("cut1.jsonl.zst", "truncated_record")], quarantine.to_dicts()


def test_the_up_front_look_at_a_long_first_line_reads_no_further_than_max_file_bytes(tmp_path, monkeypatch):
    """The up-front look at a JSONL file (not_json_lines: old-Mac line ends, arrays) now reads
    a first record longer than 1 MiB on to its end, however long: it opened the file with the
    default limits, so the run's ``limits.max_file_bytes`` did not bound it (a one-line 2 GB
    dump, or a bomb, read to 4 GiB before the run, which reads no further than the limit set).
    It stops at the run's limit (the run then quarantines the file, file_too_large)."""
    from curate.readers import common, jsonl

    one = tmp_path / "one.jsonl"
    one.write_bytes(b'{"text": "' + b"A long line of words. " * 150_000 + b'"}')  # 3.3 MB, no line end
    reads = []  # each stream of the file opened (decompressed, capped): its bytes read at the end
    init = common._Capped.__init__
    monkeypatch.setattr(common._Capped, "__init__", lambda self, *a: (reads.append(self), init(self, *a))[1])
    assert jsonl.not_json_lines(str(one), "one.jsonl", common.Limits(max_file_bytes=2 << 20)) is None
    assert reads and max(r._n for r in reads) <= (2 << 20) + (1 << 16), [r._n for r in reads]  # a read's bytes more at most


def test_a_bomb_stops_at_its_ratio_long_before_max_file_bytes(tmp_path, monkeypatch):
    """A bomb was read on to max_file_bytes (4 GiB, ~36 s) before it was quarantined, though its
    ratio (thousands to 1; no real file in the corpora over 37) said what it was from its first
    MiBs. Past limit/64 decoded (64 MiB of 4 GiB), BOMB_STOP to 1 or more stops it: the same
    file_too_large row, saying why. Counted in bytes read; a page repeated (~140 to 1) reads on."""
    import gzip

    from curate.readers import common

    p = tmp_path / "bomb.jsonl.zst"
    p.write_bytes(bomb(64 << 20))  # ~10,800 to 1
    read, readinto = [], common._Capped.readinto
    monkeypatch.setattr(common._Capped, "readinto", lambda self, b: read.append(readinto(self, b)) or read[-1])
    shard = Shard(str(p), p.name, "jsonl", "web", "t")
    [q] = [q for kind, t in read_shard(shard, Limits(max_file_bytes=128 << 20)) if kind == "quarantine" for q in t.to_pylist()]
    assert q["reason"] == "file_too_large" and sum(read) <= 3 << 20, (sum(read), q)
    assert " to 1: a decompression bomb" in q["detail"] and "read no further" in q["detail"], q
    page = "This page has been removed by its owner. The content you are looking for is no longer here. " * 12
    rows = b"".join(json.dumps({"id": i, "text": page}).encode() + b"\n" for i in range(3000))  # 3.4 MiB
    p = tmp_path / "shop.jsonl.gz"
    p.write_bytes(gzip.compress(rows, 9))
    assert len(rows) > 100 * len(p.read_bytes()), len(rows) / len(p.read_bytes())  # over 100 to 1 (a bomb, said)
    got = [(kind, t.num_rows) for kind, t in read_shard(Shard(str(p), p.name, "jsonl", "web", "t"), Limits(max_file_bytes=8 << 20))]
    assert sum(n for kind, n in got if kind == "docs") == 3000 and not [k for k, _ in got if k == "quarantine"], got


def test_a_warc_bomb_stops_at_its_ratio(tmp_path):
    """The WARC reader's own capped stream stops a bomb at its ratio too, as file_too_large."""
    import gzip

    from curate.readers.warc import _Input

    p = tmp_path / "bomb.warc.gz"
    p.write_bytes(gzip.compress(b"WARC/1.0\r\n" + bytes(32 << 20), 9))  # ~1,000 to 1
    s = _Input(str(p), Limits(max_file_bytes=128 << 20))
    while s.read(1 << 16):
        pass
    assert s.error and s.error[0] == "file_too_large" and s.pos <= 3 << 20, (s.pos, s.error)


def test_the_check_pass_of_a_big_member_reads_no_further_than_max_file_bytes(tmp_path, monkeypatch):
    """Past HOLD_BYTES of records held (one big gzip member: its check at its end), the rest of
    the file was checked by one extra pass (verify_file) read to the file's end, though the read
    stops at max_file_bytes: a big file (or a bomb under the ratio stop) was decoded whole, 24 MiB
    here for a read that stops at 8 MiB. The pass stops where the read will, what it decoded a
    prefix (as a stopped read's): the records before the limit kept, as before."""
    import gzip

    from curate.readers import common

    made, init = [], decompress.Members.__init__
    monkeypatch.setattr(decompress.Members, "__init__", lambda self, *a, **k: (made.append(self), init(self, *a, **k))[1])
    monkeypatch.setattr(common, "HOLD_BYTES", 1 << 20)
    row = json.dumps({"text": "A page about the mill by the river, and the road to the town. " * 12}).encode() + b"\n"
    p = tmp_path / "big.jsonl.gz"
    p.write_bytes(gzip.compress(row * ((24 << 20) // len(row)), 6))  # one member, ~215 to 1: under the stop
    got = read_counts(p, Limits(max_file_bytes=8 << 20))
    assert got["quarantine"] == ["file_too_large"] and got["docs"] == (8 << 20) // len(row), got
    assert len(made) == 2 and max(m.produced for m in made) <= 10 << 20, [m.produced for m in made]


def test_a_bomb_after_a_head_of_real_text_stops_at_its_ratio(tmp_path, monkeypatch):
    """The ratio was judged over the whole file read: a bomb after a head of real text (1.5 MiB
    at ~2 to 1, then 8 MiB at ~10,000 to 1) stayed under 1,000 to 1 in all (a 64 MiB head at
    the 4 GiB default: past 12 GB, never) and was read on to max_file_bytes. Each limit/64
    decoded is judged too: it stops one such window into the bomb, the head's records kept and
    the row saying how to read on."""
    from curate.readers import common

    rnd = random.Random(5)
    head = [json.dumps({"id": f"h{i}", "text": rnd.randbytes(1000).hex()}).encode() + b"\n" for i in range(750)]
    c = zstandard.ZstdCompressor(level=3).compressobj()
    data = c.compress(b"".join(head))
    row = json.dumps({"text": "all work and no play " * 40}).encode() + b"\n"
    piece = row * ((1 << 20) // len(row))
    data += b"".join(c.compress(piece) for _ in range(8)) + c.flush()
    p = tmp_path / "late.jsonl.zst"
    p.write_bytes(data)
    read, readinto = [], common._Capped.readinto
    monkeypatch.setattr(common._Capped, "readinto", lambda self, b: read.append(readinto(self, b)) or read[-1])
    ids, bad = set(), []
    for kind, t in read_shard(Shard(str(p), p.name, "jsonl", "web", "t"), Limits(max_file_bytes=64 << 20)):  # judged: 1 MiB
        if kind == "docs":
            ids.update(t.column("source_id").to_pylist())
        elif kind == "quarantine":
            bad += t.to_pylist()
    assert [q["reason"] for q in bad] == ["file_too_large"] and sum(read) <= 4 << 20, (sum(read), bad)
    assert " to 1: a decompression bomb" in bad[0]["detail"] and "set limits.max_ratio = 0 to read on" in bad[0]["detail"], bad
    assert {f"h{i}" for i in range(750)} <= ids, len(ids)  # the records before the stop: kept


def test_the_check_pass_of_a_big_member_stops_at_the_bombs_ratio(tmp_path, monkeypatch):
    """With max_file_bytes raised (over 16 GiB: limit/64 past HOLD_BYTES), the extra pass that
    checks a big member once HOLD_BYTES of its records are held ignored the ratio stop and decoded
    a bomb to max_file_bytes or its end (24 MiB here, for a read stopped at 4 MiB): the pass stops
    at the bomb's ratio as the read does."""
    from curate.readers import common

    made, init = [], decompress.Members.__init__
    monkeypatch.setattr(decompress.Members, "__init__", lambda self, *a, **k: (made.append(self), init(self, *a, **k))[1])
    monkeypatch.setattr(common, "HOLD_BYTES", 1 << 20)
    p = tmp_path / "bomb.jsonl.zst"
    p.write_bytes(bomb(24 << 20))
    kinds = [kind for kind, t in read_shard(Shard(str(p), p.name, "jsonl", "web", "t"), Limits(max_file_bytes=256 << 20))
             for q in (t.to_pylist() if kind == "quarantine" else [None])]
    assert kinds.count("quarantine") == 1 and len(made) == 2, (kinds, len(made))
    assert max(m.produced for m in made) <= 6 << 20, [m.produced for m in made]


def test_limits_max_ratio_moves_or_turns_off_the_bomb_stop(tmp_path):
    """The bomb stop (1,000 to 1 past max_file_bytes/64) had no switch: a corpus of one page
    repeated, wanted whole, could only raise max_file_bytes (which moves where it is judged, not
    the ratio). limits.max_ratio sets the ratio, 0 turns the stop off (max_file_bytes still caps)."""
    from curate import config

    p = tmp_path / "same.jsonl.zst"
    p.write_bytes(bomb(4 << 20))  # one line over and over, about 3,000 to 1
    rows = 4 * ((1 << 20) // len(json.dumps({"text": "all work and no play " * 40}).encode() + b"\n"))
    judged = {"max_file_bytes": 64 << 20}  # judged past 1 MiB
    assert read_counts(p, Limits(**judged))["quarantine"] == ["file_too_large"]
    stopped = [t.to_pylist()[0]["detail"] for kind, t in read_shard(Shard(str(p), p.name, "jsonl", "web", "t"), Limits(**judged))
               if kind == "quarantine"][0]
    assert stopped.endswith("(limits.max_ratio): set limits.max_ratio = 0 to read on, or raise it"), stopped
    assert read_counts(p, Limits(**judged, max_ratio=0)) == {"docs": rows, "quarantine": []}
    assert read_counts(p, Limits(**judged, max_ratio=100_000)) == {"docs": rows, "quarantine": []}
    assert config.load(None, sets=["limits.max_ratio=0"]).limits["max_ratio"] == 0
    with pytest.raises(config.ConfigError, match=r"limits\.max_ratio.*must be >= 0, got -1"):
        config.load(None, sets=["limits.max_ratio=-1"])


@pytest.mark.parametrize("who", ["train-quality", "eval set"])
def test_a_bomb_read_by_a_command_without_limits_says_what_it_takes(tmp_path, who):
    """train-quality's inputs and decontaminate's evaluation sets stopped a bomb with 'raise
    max_file_bytes to read on', an option neither takes (nor audit --corpus, which says its own
    line): they say to decompress the file and give the plain one, which is read whole."""
    from curate.stages import decontaminate, quality_train

    p = tmp_path / "items.jsonl.zst"
    row = json.dumps({"text": "all work and no play " * 40, "label": 1}).encode() + b"\n"  # train-quality's rows have a label
    c = zstandard.ZstdCompressor(level=3).compressobj()
    p.write_bytes(b"".join(c.compress(row * ((1 << 20) // len(row))) for _ in range(72)) + c.flush())  # judged past 64 MiB
    with pytest.raises(ValueError) as e:
        if who == "train-quality":
            quality_train.load_labelled(str(p))
        else:
            spec = {"glob": str(p), "name": "", "format": "jsonl", "text_fields": ["text"], "id_field": None, "unit": "item"}
            decontaminate.load_eval_ngrams([spec], 13)
    said = str(e.value)
    assert "max_file_bytes" not in said and "max_ratio" not in said and "\n" not in said, said
    assert said.startswith(f"{p}: ") and said.endswith(f"stops a file (curate's stop for a bomb): to read it, decompress it "
                                                       f"(zstd -d {p} -o {tmp_path}/items.jsonl) and give the plain file"), said
