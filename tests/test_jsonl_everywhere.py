"""A user's JSON Lines file is read the same way by every command that reads one: `curate run`'s
ingest, `curate audit --corpus`, decontamination's evaluation sets and `curate train-quality
--eval`. Each is given a file with a comment line, a byte-order mark at a line's start (a
Windows export, `cat` of such files), CRLF line ends and a blank line: what `curate run` skips
or strips, each one skips or strips (they failed on the comment or the BOM)."""
from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import polars as pl
import pytest
import zstandard

from curate import cli
from curate.schema import make_id

pytestmark = pytest.mark.usefixtures("one_process_runs")  # in-process runs of a few documents each
BOM = b"\xef\xbb\xbf"
# curate's CLI where no file may grow past 4,000 bytes (RLIMIT_FSIZE): a full TMPDIR, in small
SMALL_FILES = ("import resource, signal, sys\nfrom curate import cli\n"
               "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"  # a write past the limit fails (EFBIG), not the process
               "resource.setrlimit(resource.RLIMIT_FSIZE, (4000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
               "sys.exit(cli.main(sys.argv[1:]))\n")


def odd_jsonl(path: Path, rows: list[dict]) -> Path:
    """``rows`` as JSON Lines with everything `curate run` skips or strips around them."""
    line = [json.dumps(r).encode() for r in rows]
    data = (b"# written by an export tool\r\n" + BOM + line[0] + b"\r\n" + b"\r\n" + b"  // a record left out\r\n"
            + BOM + line[1] + b"\r\n" + b"".join(x + b"\r\n" for x in line[2:]) + b"   \r\n")
    path.write_bytes(data)
    return path


def sentence(rng: random.Random, n: int = 30) -> str:
    words = "river stone harbour lantern orchard meadow copper violet thunder candle marble sparrow".split()
    return " ".join(rng.choice(words) for _ in range(n)) + "."


def test_curate_run_and_audit_corpus_read_the_same_documents(tmp_path, capsys):
    rng = random.Random(1)
    rows = [{"id": f"d{i}", "text": sentence(rng, 20 + i)} for i in range(4)]
    path = odd_jsonl(tmp_path / "dump.jsonl", rows)
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--progress", "off",
                     "--output", str(tmp_path / "run")]) == 0
    texts = sorted(pl.read_parquet(tmp_path / "run" / "text" / "*.parquet")["text"])
    assert texts == sorted(r["text"] for r in rows)  # the reference: what `curate run` reads
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())
    assert (s["documents"]["total"], s["characters"]["total"]) == (len(texts), sum(len(t) for t in texts))


def compressed(path: Path, how: str) -> Path:
    """``path`` compressed (``how``: "", "gz" or "zst"), as `curate run` reads an input."""
    if not how:
        return path
    data = path.read_bytes()
    out = path.with_name(f"{path.name}.{how}")
    import bz2
    import lzma

    pack = {"gz": gzip.compress, "zst": zstandard.ZstdCompressor().compress, "bz2": bz2.compress, "xz": lzma.compress}
    out.write_bytes(pack[how](data))
    path.unlink()
    return out


@pytest.mark.parametrize("how", ["", "zst"])
def test_an_eval_set_with_a_comment_and_a_bom_is_read_as_curate_run_reads_it(tmp_path, capsys, how):
    """... and a zstd one too (it was read as UTF-8 bytes: 'not a JSON object line')."""
    rng = random.Random(2)
    items = [{"text": sentence(rng)} for _ in range(3)]
    evals = compressed(odd_jsonl(tmp_path / "eval.jsonl", items), how)
    # a web document holding each item (the second one comes after the comment line, with a BOM)
    docs = [{"id": f"w{i}", "text": f"Some words before. {it['text']} Some words after."} for i, it in enumerate(items)]
    docs.append({"id": "clean", "text": sentence(rng)})
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\nsource = "web"\n'
                   f'[[decontaminate.eval_sets]]\nname = "toy"\nglob = "{evals}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0, capsys.readouterr().err
    ledger = pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet")
    assert set(ledger["id"]) == {make_id("web", f"w{i}") for i in range(3)}


@pytest.mark.parametrize("how", ["", "gz"])
def test_train_quality_reads_an_eval_file_as_curate_run_reads_it(tmp_path, capsys, how):
    """... and a gzipped one too (it was opened as text: a UnicodeDecodeError)."""
    rng = random.Random(3)
    good = ["The history of the harbour shows how the people near the river lived and worked. " * 6 for _ in range(20)]
    bad = [" | ".join(rng.sample(["Home", "Login", "Cart", "Buy now", "Cookies", "Subscribe"], 4)) * 8 for _ in range(20)]
    for name, texts in (("pos", good), ("neg", bad)):
        (tmp_path / name).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / name / f"{i}.txt").write_text(t)
    labelled = [{"text": t, "label": 1} for t in good[:5]] + [{"text": t, "label": 0} for t in bad[:5]]
    evals = compressed(odd_jsonl(tmp_path / "eval.jsonl", labelled), how)
    rc = cli.main(["train-quality", "--positive", f"{tmp_path}/pos/*.txt", "--negative", f"{tmp_path}/neg/*.txt",
                   "--output", str(tmp_path / "m.bin"), "--seed", "1", "--epoch", "2", "--chunk-chars", "300",
                   "--min-chars", "50", "--eval", str(evals)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert re.search(rf"eval {re.escape(str(evals))}: 10 docs ", out), out


def test_audit_finds_a_comment_line_past_its_first_read(tmp_path, capsys):
    """The audit looks for such lines in 4 MiB reads: a comment line starting at a read's first
    byte, or cut by a read's end, is found as one in the first read is."""
    rng = random.Random(4)
    rows = [json.dumps({"id": f"d{i}", "text": sentence(rng, 40)}).encode() + b"\n" for i in range(20000)]
    data = b"".join(rows)
    read = 1 << 22
    assert len(data) > read + 1000
    cut = data.rfind(b"\n", 0, read - 200) + 1  # a line's start some way before the first read's end
    for at in (read, read - 5):  # the comment line's first byte: a read's first, or 5 bytes before a read ends
        # a record of its own before it fills the bytes up to it
        pad = b'{"id": "pad", "text": "' + b"x" * (at - cut - 26) + b'"}\n'
        path = tmp_path / f"{at}.jsonl"
        path.write_bytes(data[:cut] + pad + b"// left out " + b"-" * 40 + b"\n" + data[cut:])
        assert len(data[:cut] + pad) == at
        assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / f"a{at}")]) == 0, capsys.readouterr().err
        s = json.loads((tmp_path / f"a{at}" / "stats" / "summary.json").read_text())
        assert s["documents"]["total"] == len(rows) + 1


@pytest.mark.parametrize("name, odd, passes", [("clean.jsonl", b"", 0), ("odd.jsonl", b"# exported\n", 1), ("bom.jsonl", BOM, 1),
                                               ("clean.jsonl.gz", b"", 1), ("odd.jsonl.gz", b"// x\n", 1)])
def test_the_audit_decodes_a_clean_jsonl_file_once(tmp_path, capsys, monkeypatch, name, odd, passes):
    """`audit --corpus x.jsonl` read every JSONL file twice: a streamed pass looking for comment
    lines and line-start BOMs (polars stops at either), then polars. An uncompressed file is now
    looked through only once polars has stopped at such a line (it raises at each, reading past
    none); a compressed one still is first, that pass being its decompression-bomb bound. The
    documents counted are the same."""
    from curate.readers import jsonl

    rng = random.Random(5)
    rows = [json.dumps({"id": f"d{i}", "text": sentence(rng, 20)}).encode() + b"\n" for i in range(50)]
    data = b"".join(rows[:20]) + odd + b"".join(rows[20:])
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    calls = []
    real = jsonl.as_read
    monkeypatch.setattr(jsonl, "as_read", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == 50
    assert len(calls) == passes, calls


def test_a_well_compressed_zstd_file_is_read_whole_by_run_and_audit(tmp_path, capsys):
    """zstd hands back all a compressed read decodes, however much (gzip stops at what was asked):
    a .jsonl.zst over 16:1 (the same boilerplate on each line) gave more bytes than the read's
    buffer held; `curate run` quarantined the whole file ('memoryview assignment: lvalue and
    rvalue have different structures': 0 documents), `curate audit --corpus` stopped on it."""
    rng = random.Random(5)
    rows = [{"id": f"d{i}", "text": "Cookie notice. Accept all cookies to continue. " * 40 + sentence(rng, 3)} for i in range(3000)]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path = tmp_path / "boiler.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor(level=19).compress(data))
    assert len(data) > 16 * path.stat().st_size and len(data) > 4 << 20  # past a read's buffer and a 4 MiB read
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--progress", "off",
                     "--output", str(tmp_path / "run")]) == 0, capsys.readouterr().err
    assert pl.read_parquet(tmp_path / "run" / "text" / "*.parquet").height == len(rows)
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())
    assert s["documents"]["total"] == len(rows)


def test_the_audit_streams_a_file_with_a_comment_line(tmp_path, capsys):
    """A .jsonl.gz with one comment line goes to polars as `curate run` reads it without being
    held in memory: the audit's peak (Python's; polars' own is untraced) is the same for a file
    twice as long (it was the file decompressed, twice over: 85 MB for 36 MB, a 2 GB dump ~20 GB)."""
    import tracemalloc

    rng = random.Random(6)
    rows = [json.dumps({"id": f"d{i}", "text": sentence(rng, 120)}).encode() + b"\n" for i in range(40000)]
    peaks = []
    for n in (20000, 40000):
        data = b"# exported by a tool\n" + b"".join(rows[:n])
        path = tmp_path / f"{n}.jsonl.gz"
        path.write_bytes(gzip.compress(data, compresslevel=1))
        tracemalloc.start()
        try:
            rc = cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / f"a{n}")])
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert rc == 0, capsys.readouterr().err
        s = json.loads((tmp_path / f"a{n}" / "stats" / "summary.json").read_text())
        assert s["documents"]["total"] == n
    assert len(data) > 30 << 20 and peaks[1] < 1.25 * peaks[0], (peaks, len(data))


@pytest.mark.parametrize("how", ["bz2", "xz"])
def test_an_eval_file_in_a_compression_curate_does_not_read_is_refused(tmp_path, capsys, how):
    """As a `curate run` input is: an evaluation set's .jsonl.bz2 was read as a text file (its
    compressed bytes, line by line: no item of it found in any document, without a word), a
    train-quality --eval file said 'not a JSON object line'."""
    rng = random.Random(7)
    evals = compressed(odd_jsonl(tmp_path / "eval.jsonl", [{"text": sentence(rng), "label": 1} for _ in range(3)]), how)
    (tmp_path / "web.jsonl").write_text(json.dumps({"id": "w", "text": sentence(rng)}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\nsource = "web"\n'
                   f'[[decontaminate.eval_sets]]\nname = "toy"\nglob = "{evals}"\n')
    name = {"bz2": "bzip2", "xz": "xz"}[how]
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    err = capsys.readouterr().err
    assert f"{evals} is compressed with {name}; curate reads gzip and zstd" in err and "Traceback" not in err, err
    (tmp_path / "pos.txt").write_text("The harbour and the river. " * 20)
    rc = cli.main(["train-quality", "--positive", str(tmp_path / "pos.txt"), "--negative", str(tmp_path / "pos.txt"),
                   "--output", str(tmp_path / "m.bin"), "--eval", str(evals)])
    err = capsys.readouterr().err
    assert rc != 0 and f"{evals} is compressed with {name}; curate reads gzip and zstd" in err, err


@pytest.mark.parametrize("comment", [True, False], ids=["comment_line", "plain"])
def test_an_audited_jsonl_gz_cut_short_is_one_line(tmp_path, capsys, comment):
    """A .jsonl.gz cut short (an interrupted download), with a comment line or not: the audit's
    pass looking for comment lines reads it first and stopped with a traceback (EOFError from
    the decompressor); now one line naming the file, as polars' own read errors are said."""
    rng = random.Random(8)
    data = (b"# an export\n" if comment else b"") + b"".join(json.dumps({"text": sentence(rng)}).encode() + b"\n" for _ in range(3000))
    packed = gzip.compress(data)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"curate audit: {path}: cannot be read (Compressed file ended before"), err


def test_an_audit_with_no_room_for_the_copy_without_comment_lines_is_one_line(tmp_path):
    """The zstd copy of a JSONL file with a comment line goes to TMPDIR: with no room there (a
    small /tmp; a per-file limit here, RLIMIT_FSIZE) the audit stopped with a traceback (OSError
    File too large); now one line naming the file, the folder and what to do, nothing left there."""
    import os
    import subprocess
    import sys

    rng = random.Random(9)
    path = odd_jsonl(tmp_path / "a.jsonl", [{"text": sentence(rng, 60)} for _ in range(2000)])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = subprocess.run([sys.executable, "-c", SMALL_FILES, "audit", "--corpus", str(path), "--output", str(tmp_path / "audit")],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TMPDIR": str(tmp)})
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr[-800:]
    assert r.stderr.startswith(f"curate audit: {path}: cannot be copied to the temporary folder {tmp} (File too large): ")
    assert "set TMPDIR" in r.stderr and not list(tmp.iterdir())


def test_the_audit_reads_a_file_past_curate_runs_max_file_bytes(tmp_path, capsys, monkeypatch):
    """curate run reads 4 GiB of a file (limits.max_file_bytes, quarantining the rest); the
    audit's pass looking for comment lines used that limit too, so any JSONL over 4 GiB (a
    dump, comment line or not) stopped the audit with a traceback (LimitExceeded). The default
    is made 64 kB here (a 4 GiB file is too slow for a test): the audit reads the whole file."""
    from curate.readers.common import Limits

    defaults = list(Limits.__init__.__defaults__)
    defaults[0] = 64 << 10  # max_file_bytes
    monkeypatch.setattr(Limits.__init__, "__defaults__", tuple(defaults))
    assert Limits().max_file_bytes == 64 << 10
    rng = random.Random(10)
    rows = [{"id": f"d{i}", "text": sentence(rng, 60)} for i in range(1000)]
    for name, at in (("plain.jsonl", None), ("odd.jsonl", odd_jsonl)):
        path = tmp_path / name
        at(path, rows) if at else path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
        assert path.stat().st_size > 4 * Limits().max_file_bytes
        assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / f"a-{name}")]) == 0, capsys.readouterr().err
        s = json.loads((tmp_path / f"a-{name}" / "stats" / "summary.json").read_text())
        assert s["documents"]["total"] == len(rows)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".json.gz", ".json.zst",
                                    ".ndjson", ".ndjson.gz", ".ndjson.zst"])
def test_every_jsonl_name_is_read_by_run_and_audit(tmp_path, capsys, suffix):
    """A JSON Lines file starting with a comment line (its format not told by its first bytes) is
    read by its name alike by `curate run` and `curate audit --corpus`: run knew neither
    .json.zst, .ndjson.gz nor .ndjson.zst ('cannot tell the format ...; give --format'), which
    the audit read; the audit did not know .ndjson.zst ('not a Parquet or JSONL file')."""
    rng = random.Random(11)
    rows = [{"id": f"d{i}", "text": sentence(rng, 40)} for i in range(5)]
    data = odd_jsonl(tmp_path / "plain", rows).read_bytes()
    path = tmp_path / f"dump{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else zstandard.compress(data) if suffix.endswith(".zst") else data)
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--output", str(tmp_path / "out"),
                     "--progress", "off"]) == 0, capsys.readouterr().err
    assert pl.read_parquet(tmp_path / "out" / "text" / "*.parquet")["id"].len() == len(rows)
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == len(rows)


@pytest.mark.parametrize("suffix", [b + c for b in (".html", ".htm", ".xhtml") for c in ("", ".gz", ".zst")])
def test_every_html_name_is_read_by_run(tmp_path, capsys, suffix):
    """An XHTML page opens ``<?xml``, not ``<!DOCTYPE html``: its format is told by its name
    alone, and `curate run` knew neither .xhtml.gz, .xhtml.zst nor .htm.zst ('cannot tell the
    format ...; give --format'; a .htm.zst is the copy the bzip2/xz hint names for page.htm.bz2)."""
    text = " ".join(sentence(random.Random(3), 40) for _ in range(4))
    data = ('<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>'
            f"<body><p>{text}</p></body></html>\n").encode()
    path = tmp_path / f"page{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else zstandard.compress(data) if suffix.endswith(".zst") else data)
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--output", str(tmp_path / "out"),
                     "--progress", "off"]) == 0, capsys.readouterr().err
    assert pl.read_parquet(tmp_path / "out" / "text" / "*.parquet")["text"].to_list()[0].split() == text.split()


@pytest.mark.parametrize("bad", ["no_label", "cut_short", "long_window"])
def test_a_bad_eval_file_of_train_quality_is_said_before_training(tmp_path, capsys, bad):
    """`curate train-quality --eval` read its files after training the model (minutes on a real
    set), and a line without a label (KeyError: 'label') or a .jsonl.gz cut short (EOFError)
    stopped it there with a traceback, the model written. The files are read first: one line
    naming the file (and line), before anything is trained or written. A .zst written with
    `zstd --long=28` is not damaged: its line said 'a damaged or truncated file' after the
    window it needs and the command that recompresses it (`curate run` calls it
    zstd_window_too_large)."""
    rows = [{"text": sentence(random.Random(i), 30), "label": i % 2} for i in range(6)]
    if bad == "no_label":
        del rows[4]["label"]
        evals = tmp_path / "eval.jsonl"
        evals.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
        said = f"{evals}:5: expected an object with a text (a string) and a label (1 or 0)"
    elif bad == "cut_short":
        packed = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows * 500))
        evals = tmp_path / "eval.jsonl.gz"
        evals.write_bytes(packed[: len(packed) // 2])
        said = f"{evals}: cannot be read (Compressed file ended before"
    else:
        params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28)
        long = zstandard.ZstdCompressor(compression_params=params).compressobj()
        evals = tmp_path / "eval.jsonl.zst"
        evals.write_bytes(long.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows)) + long.flush())
        said = f"{evals}: cannot be read (zstd frame starting at decompressed byte 0 needs a 256 MiB window"
    (tmp_path / "pos.txt").write_text("The harbour and the river. " * 20)
    rc = cli.main(["train-quality", "--positive", str(tmp_path / "pos.txt"), "--negative", str(tmp_path / "pos.txt"),
                   "--output", str(tmp_path / "m.bin"), "--eval", str(evals)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and said in err, err
    assert ("damaged" in err) == (bad == "cut_short"), err
    assert not (tmp_path / "m.bin").exists()


@pytest.mark.parametrize("odd", [b'[{"text": "an array line"}]\n', b'{"text": "a struct", "x": {"a": 1}}\n{"text": "then a list", "x": [1]}\n'],
                         ids=["array_line", "struct_then_list"])
def test_an_audited_jsonl_file_polars_finds_no_type_for_is_named(tmp_path, capsys, odd):
    """A JSON Lines file polars finds no one type for (a line holding an array among objects, a
    field an object on one line and a list on another): polars raises a SchemaError, not the
    ComputeError the audit names its file in, and the audit of a glob stopped with 'curate audit:
    failed to determine supertype of struct[1] and list[struct[1]]', no file named of the many.
    It is said as any file polars cannot read, named; the other files are not."""
    rng = random.Random(9)
    for name in ("a", "b"):
        rows = b"".join(json.dumps({"text": sentence(rng)}).encode() + b"\n" for _ in range(3))
        (tmp_path / f"{name}.jsonl").write_bytes(rows + (odd if name == "b" else b""))
    assert cli.main(["audit", "--corpus", str(tmp_path / "*.jsonl"), "--output", str(tmp_path / "audit")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"curate audit: {tmp_path / 'b.jsonl'}: cannot be read (failed to determine supertype"), err
    assert "polars finds no one type" in err and "damaged" not in err, err
    assert "a.jsonl" not in err


def test_an_audited_jsonl_file_with_nan_is_read_as_curate_run_reads_it(tmp_path, capsys):
    """Python's json.dumps writes a float NaN or infinity as NaN, Infinity (JSON has neither):
    `curate run` reads such a record (json.loads does), polars stops at it, and `audit --corpus`
    said the file 'cannot be read (... at character 38 ('N')): a damaged or truncated file'. Its
    records are audited as `curate run` reads them, those numbers null; a line that is no JSON
    record (a line cut short) is still said, as before."""
    rng = random.Random(10)
    rows = [{"id": f"d{i}", "text": sentence(rng), "score": [0.5, float("nan"), float("inf"), -float("inf")][i % 4]} for i in range(40)]
    path = tmp_path / "scores.jsonl"
    path.write_text("# exported by a tool\n" + "".join(json.dumps(r) + "\n" for r in rows))
    assert b"NaN" in path.read_bytes() and b"-Infinity" in path.read_bytes()
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--progress", "off",
                     "--output", str(tmp_path / "run")]) == 0, capsys.readouterr().err
    kept = pl.read_parquet(tmp_path / "run" / "text" / "*.parquet")
    assert kept.height == len(rows)
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())
    assert s["documents"]["total"] == len(rows)
    assert s["characters"]["total"] == sum(len(r["text"]) for r in rows) == kept["text"].str.len_chars().sum()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(path.read_bytes() + b'{"text": "a line cut sh')
    assert cli.main(["audit", "--corpus", str(cut), "--output", str(tmp_path / "audit2")]) == 2
    assert capsys.readouterr().err == (f"curate audit: {cut}: line 42 is not JSON (Unterminated string starting at column 10): "
                                       "a damaged or truncated line; fix or remove it (curate run quarantines it as bad_json)\n")


@pytest.mark.parametrize("gz", [False, True], ids=["jsonl", "gz"])
def test_an_audited_jsonl_file_with_a_broken_line_names_the_line(tmp_path, capsys, gz):
    """`audit --corpus` of a JSONL file with one broken line (the demo's raw JSONL has one at line
    31) said only "cannot be read (Syntax at character 0)": which of its lines, not said. The file
    and the line, counted as the file has them (its comment line too), and what JSON found."""
    lines = ["// exported", *(json.dumps({"text": sentence(random.Random(i))}) for i in range(3)), '{"text": "cut', "",
             '  {"text": 1}x']
    path = tmp_path / ("d.jsonl.gz" if gz else "d.jsonl")
    data = "\n".join(lines + [json.dumps({"text": "after"})]).encode() + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 2
    assert f"{path}: line 5 is not JSON (Unterminated string starting at column 10)" in capsys.readouterr().err
    path.write_bytes(data.replace(b'"cut', b'"cut"}'))  # the next: its column in the line as it is, spaces and all
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 2
    assert f"{path}: line 7 is not JSON (Extra data at column 14)" in capsys.readouterr().err


@pytest.mark.parametrize("nan", [False, True], ids=["plain", "with_nan"])
@pytest.mark.parametrize("gz", [False, True], ids=["jsonl", "gz"])
def test_an_audited_part_with_old_mac_line_ends_after_a_comment_is_not_dropped(tmp_path, capsys, gz, nan):
    """JSON Lines, then a part of records separated by a bare "\\r" that opens with a comment
    (`// exported\\r{...}\\r{...}`, `cat new.jsonl mac.jsonl`): `curate run` quarantines it
    (cr_line_ends), as it does the same part without the comment. `audit --corpus` took the
    part for a comment line and dropped it, its records with it: the file audited as whole with
    two records missing, exit 0. It is refused now, as the part without the comment is, saying
    old-Mac line ends and how to convert (the audit keeps no quarantine: a file with a line
    curate run quarantines is not audited)."""
    rng = random.Random(11)
    rows = [{"id": f"d{i}", "text": sentence(rng), "score": float("nan") if nan and i == 0 else 0.5} for i in range(4)]
    line = [json.dumps(r).encode() for r in rows]
    mac = line[1] + b"\r" + line[2] + b"\r"
    for head in (b"", b"// exported by the old app\r"):
        data = line[0] + b"\n" + head + mac + b"\n" + line[3] + b"\n"
        path = tmp_path / f"f{len(head)}.jsonl{'.gz' * gz}"
        path.write_bytes(gzip.compress(data) if gz else data)
        out = tmp_path / f"run{len(head)}"
        assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--progress", "off",
                         "--output", str(out)]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert [r["reason"] for r in pl.read_parquet(out / "quarantine" / "*.parquet").to_dicts()] == ["cr_line_ends"]
        assert pl.read_parquet(out / "text" / "*.parquet").height == 2
        rc = cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / f"audit{len(head)}")])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1, err
        assert err.startswith(f"curate audit: {path}: ") and "old Mac line ends" in err and "tr '\\r' '\\n'" in err, err


def test_an_audited_old_mac_part_after_a_comment_with_a_record_over_a_mib_is_not_dropped(tmp_path, capsys):
    """As above, the part's first record over 1 MiB: the audit judged the part by its first
    1 MiB (`// exported\\r{...` with no "\\r" after the record begun), a comment line, and
    dropped the part, its records with it (exit 0); `curate run` reads the line whole and
    quarantines it (cr_line_ends). The audit refuses it, as the small part."""
    rng = random.Random(23)
    rows = [{"id": f"d{i}", "text": sentence(rng)} for i in range(4)]
    rows[1]["text"] = "A long page of words. " * 60_000
    line = [json.dumps(r).encode() for r in rows]
    assert len(line[1]) > 1 << 20
    data = line[0] + b"\n// exported by the old app\r" + line[1] + b"\r" + line[2] + b"\r\n" + line[3] + b"\n"
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    out = tmp_path / "run"
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--progress", "off",
                     "--output", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert [r["reason"] for r in pl.read_parquet(out / "quarantine" / "*.parquet").to_dicts()] == ["cr_line_ends"]
    rc = cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert err.startswith(f"curate audit: {path}: ") and "old Mac line ends" in err and "tr '\\r' '\\n'" in err, err


@pytest.mark.parametrize("end", [b"\r", b"", b"\r\n", b"\r\r"], ids=["cr", "none", "crlf", "cr_cr"])
def test_one_old_mac_record_after_a_comment_is_not_dropped(tmp_path, capsys, end):
    """A comment then ONE record, old-Mac style (`// exported\r{...}\r`, the file's last line):
    a record was taken to end an old-Mac part only where more followed it (a record with a
    stray \r after it is JSON's white space), so this line was a comment line: `curate run`
    skipped it, its record lost without a ledger or quarantine row, and `audit --corpus` left
    it out (exit 0). Quarantined now (cr_line_ends) as two such records are; the audit refuses
    the file with the tr hint. A comment line with a \r and no record after it is still one."""
    rng = random.Random(17)
    first, hidden = ({"id": f"d{i}", "text": sentence(rng)} for i in range(2))
    data = json.dumps(first).encode() + b"\n// exported by the old app\r" + json.dumps(hidden).encode() + end
    assert json.loads(data.split(b"\r")[1]) == hidden  # the record is there, whole
    path = tmp_path / "mac.jsonl"
    path.write_bytes(b"// a note\r\n// another\r// more\r\n" + data)  # its last line
    out = tmp_path / "run"
    assert cli.main(["run", "--input", str(path), "--domain", "web", "--stages", "ingest", "--progress", "off",
                     "--output", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert [r["reason"] for r in pl.read_parquet(out / "quarantine" / "*.parquet").to_dicts()] == ["cr_line_ends"]
    assert pl.read_parquet(out / "text" / "*.parquet").height == 1
    rc = cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")])
    err = capsys.readouterr().err
    assert rc == 2 and "old Mac line ends" in err and "tr '\\r' '\\n'" in err, err


def test_the_copy_of_an_audited_file_with_nan_holds_no_long_line_whole(tmp_path, capsys, monkeypatch):
    """The copy `audit --corpus` reads a file with NaN or Infinity from (each one null) read the
    file by readlines: a line of any length was held whole, then decoded (a 20 MB line: 60 MB
    held; a dump's single multi-GB line, all of it). A line up to curate run's record bound
    (limits.max_record_bytes x 2; a longer one it quarantines, record_too_large) is decoded as
    before; a longer one is copied as it is, a piece at a time: bounded memory. Every record is
    audited as before (json.loads the ground truth)."""
    import tracemalloc

    from curate.audit import scan

    monkeypatch.setattr(scan, "FINITE_LINE_BYTES", 1 << 20, raising=False)  # the bound, small: a 20 MB line past it
    rng = random.Random(12)
    rows = [{"id": "d0", "text": sentence(rng), "score": float("nan")},
            {"id": "long", "text": "lantern " * (20 << 17), "score": 0.5},
            {"id": "d2", "text": sentence(rng), "score": float("inf")}]
    path = tmp_path / "scores.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    truth = [json.loads(line) for line in path.read_text().splitlines()]
    tracemalloc.start()
    try:
        rc = cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rc == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())
    assert s["documents"]["total"] == len(truth)
    assert s["characters"]["total"] == sum(len(r["text"]) for r in truth)
    assert peak < 12 << 20, f"{peak:,} bytes held at most"


def test_nan_in_an_audited_line_past_the_copys_bound_is_null_too(tmp_path, capsys, monkeypatch):
    """A line longer than the NaN copy's bound (FINITE_LINE_BYTES, curate run's record bound x 2)
    is copied a piece at a time, not decoded: its own NaN or Infinity was copied as it was, and
    polars stopped at it in the copy too: "cannot be read (TapeError ...): a damaged or
    truncated file" for a file every line of which json.loads reads (before the bound, it was
    decoded whole). Its NaN and Infinity outside strings are null now, piece by piece; the words
    inside its strings stay (json.loads the ground truth: documents and characters)."""
    from curate.audit import scan

    monkeypatch.setattr(scan, "FINITE_LINE_BYTES", 1 << 20, raising=False)
    rng = random.Random(15)
    text = 'lantern "NaN" \\ Infinity \n ' * (1 << 16)  # 1.9 MB: past the bound; the words in a string kept
    rows = [{"id": "d0", "text": sentence(rng), "score": 0.5},
            {"id": "long", "text": text, "score": float("nan"), "more": [float("-inf"), 1, "NaN", float("inf")]},
            {"id": "d2", "text": sentence(rng), "score": float("inf")}]
    path = tmp_path / "scores.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    truth = [json.loads(line) for line in path.read_text().splitlines()]
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())
    assert s["documents"]["total"] == len(truth)
    assert s["characters"]["total"] == sum(len(r["text"]) for r in truth)


def test_a_long_lines_nan_is_null_wherever_its_pieces_split_it():
    """scan._FiniteLine, fed a line past the bound a piece at a time: each NaN, Infinity and
    -Infinity outside a string null, wherever a piece ends (inside a token, after a backslash,
    at a quote); strings as they were. json.loads (NaN read as float) the ground truth."""
    from curate import schema
    from curate.audit import scan

    obj = {"a": float("nan"), "t\\\"NaN": 'x\\"Infinity\\', "b": [float("-inf"), -1.5e3, float("inf"), "-Infinity"], "c": {"d": float("nan")}}
    line = json.dumps(obj).encode() + b"\n"
    want = schema.finite(json.loads(line), to=lambda _: None)
    for size in (1, 2, 3, 5, 8, 9, 13):
        for start in range(size):
            pieces = [line[:start]] + [line[i : i + size] for i in range(start, len(line), size)]
            f = scan._FiniteLine()
            got = b"".join(f.feed(p, last=i == len(pieces) - 1) for i, p in enumerate(pieces))
            assert json.loads(got) == want and f.fixed == 4 and got.endswith(b"\n"), (size, start, got)


def test_the_copy_of_an_audited_file_with_a_comment_holds_no_long_line_whole(tmp_path, capsys):
    """The copy without comment lines and line-start BOMs `audit --corpus` reads such a file
    from was written from readlines: a line of any length held whole, and once more joined (a
    20 MB line: 40 MB and more). It is copied in pieces of at most 4 MiB (a line's start judged
    at its first), every record audited as before (json.loads the ground truth)."""
    import tracemalloc

    rng = random.Random(13)
    peaks = []
    for n in (1, 20 << 17):  # a short line (what the audit holds anyway: its 4 MiB reads), then a 20 MB one
        rows = [{"id": "d0", "text": sentence(rng)}, {"id": "long", "text": "lantern " * n}, {"id": "d2", "text": sentence(rng)}]
        path = tmp_path / f"odd{n}.jsonl"
        path.write_bytes(b"# exported\n" + BOM + b"".join(json.dumps(r).encode() + b"\n" for r in rows) + b"// the end\n")
        tracemalloc.start()
        try:
            rc = cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / f"audit{n}")])
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert rc == 0, capsys.readouterr().err
        s = json.loads((tmp_path / f"audit{n}" / "stats" / "summary.json").read_text())
        assert s["documents"]["total"] == len(rows)
        assert s["characters"]["total"] == sum(len(r["text"]) for r in rows)
    assert peaks[1] - peaks[0] < 12 << 20, f"{peaks}: bytes held at most"


def test_an_audited_gz_with_nan_is_looked_through_for_records_once(tmp_path, capsys, monkeypatch):
    """A .jsonl.gz polars stops at (a NaN) was read for whether it holds any record
    (scan._no_records, up to its first MiB decompressed) after each of polars' two tries, the
    same file twice: once now, its records audited as before."""
    from curate.audit import scan

    rng = random.Random(14)
    rows = [{"id": f"d{i}", "text": sentence(rng), "score": float("nan") if i == 3 else 0.5} for i in range(20)]
    path = tmp_path / "scores.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    calls = []
    real = scan._no_records
    monkeypatch.setattr(scan, "_no_records", lambda p: calls.append(p) or real(p))
    assert cli.main(["audit", "--corpus", str(path), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == len(rows)
    assert calls == [str(path)]


@pytest.mark.parametrize("gz", [False, True], ids=["jsonl", "gz"])
def test_an_audited_file_with_nan_is_not_read_again_with_full_schema_inference(tmp_path, capsys, monkeypatch, gz):
    """polars stopping at a NaN (a syntax error to it, "TapeError") was retried with the schema
    inferred from the whole file (what a schema changing after its first 1,000 lines needs),
    which stops at the same NaN: a second full read for nothing. Its copy with NaN null is read
    straight away, the copy read again with full inference where it needs it (a file of 20 lines,
    and one of 1,200 whose score changes type after the first 1,000; json.loads the ground truth)."""
    from curate.audit import scan

    rng, real = random.Random(16), scan._scan
    rows = [{"id": f"d{i}", "text": sentence(rng), "score": float("nan") if i == 7 else 1} for i in range(1200)]
    rows[1100]["score"] = "high"  # after the first 1,000 lines: full inference needed
    for change in (False, True):
        data = "".join(json.dumps(r) + "\n" for r in (rows if change else rows[:20])).encode()
        path = tmp_path / f"scores{change}.jsonl{'.gz' * gz}"
        path.write_bytes(gzip.compress(data) if gz else data)
        calls = []
        monkeypatch.setattr(scan, "_scan", lambda p, infer=1000, *a, **k: calls.append((p, infer)) or real(p, infer, *a, **k))
        out = tmp_path / f"audit{change}"
        assert cli.main(["audit", "--corpus", str(path), "--output", str(out)]) == 0, capsys.readouterr().err
        truth = [json.loads(line) for line in data.splitlines()]
        s = json.loads((out / "stats" / "summary.json").read_text())
        assert s["documents"]["total"] == len(truth) and s["characters"]["total"] == sum(len(r["text"]) for r in truth)
        assert [infer for p, infer in calls if p == str(path)] == [1000] and calls[-1][0].endswith("finite.jsonl.zst"), calls
