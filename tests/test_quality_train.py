"""`curate train-quality` reads its HTML and CSV inputs as `curate run` reads files: plain,
gzip or zstd, and a decompression bomb stops at ``max_file_bytes`` with one line, not in memory."""
from __future__ import annotations

import gzip
import random
import re

import pytest
import zstandard

from curate import cli
from tests.test_quality import bad_text, good_text, write_jsonl


def _inputs(tmp_path):
    rng = random.Random(7)
    page = ("<html><body><nav><a>Home</a> <a>Login</a> <a>Cart</a></nav><article><p>"
            + good_text(rng, 12).replace("\n", "</p><p>") + "</p></article><footer>Privacy policy | Cookies | Terms of use | Subscribe to our newsletter | Contact us</footer></body></html>")
    mail = "".join(f'-1,"{bad_text(rng, 3)}"\n1,"{good_text(rng, 2)}"\n' for _ in range(20)).encode()
    plain = {"page.html": page.encode(), "mail.csv": mail}
    for name, data in plain.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / f"{name}.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data))
    write_jsonl(tmp_path / "neg.jsonl", [bad_text(rng, 10) for _ in range(30)])
    return rng


def _train(tmp_path, positive, negative):
    return cli.main(["train-quality", "--positive", *positive, "--negative", *negative, "--output", str(tmp_path / "m.bin"),
                     "--epoch", "1", "--min-chars", "20", "--held-out", "0.2", "--seed", "1"])


def test_html_and_csv_inputs_compressed_with_zstd_read_as_plain_ones(tmp_path, capsys):
    """A ``.html.zst`` or ``.csv.zst`` input was not known as HTML or CSV (gzip only, the whole
    file decompressed in memory by hand): a page's boilerplate was not its negatives, a CSV
    was not read by its column. Each reads as its plain and gzip twins do."""
    _inputs(tmp_path)
    html, csv = ([str(tmp_path / f"{n}{z}") for z in ("", ".gz", ".zst")] for n in ("page.html", "mail.csv"))
    assert _train(tmp_path, csv, [*html, str(tmp_path / "neg.jsonl")]) == 0  # a page's negatives: its boilerplate
    err = capsys.readouterr().err
    counts = dict(re.findall(r"^  (\S+): (\d+ docs -> \d+ examples)", err, re.M))
    by_kind = {}
    for spec in html + csv:
        kind = spec.rsplit("/", 1)[1].replace(".zst", "").replace(".gz", "")
        by_kind.setdefault(kind, set()).add(counts[spec])
    assert all(len(v) == 1 for v in by_kind.values()), counts
    assert not any(c.endswith("-> 0 examples") for c in counts.values()), counts


def test_a_gzip_bomb_given_to_train_quality_stops_at_max_file_bytes(tmp_path, capsys, monkeypatch):
    """An HTML or CSV input was decompressed whole in memory (``gzip.decompress``): a small
    ``.html.gz`` of gigabytes of one byte filled the memory. It is read through the readers'
    capped stream: past ``max_file_bytes`` the command stops with one line naming the file."""
    from curate.readers import common

    _inputs(tmp_path)
    real = common.Limits
    monkeypatch.setattr(common, "Limits", lambda: real(max_file_bytes=1 << 20))
    # a JSON Lines one (read by curate run's readers) was a traceback; each said 'limit max_file_bytes', a setting
    # train-quality does not take
    for name in ("bomb.html.gz", "bomb.csv.gz", "bomb.jsonl.gz"):
        (tmp_path / name).write_bytes(gzip.compress(b'{"text": "' + b"a" * (8 << 20), 9))  # 8 MiB in ~8 KiB
        assert _train(tmp_path, [str(tmp_path / name)], [str(tmp_path / "neg.jsonl")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"curate train-quality: {tmp_path / name}: more than {1 << 20} bytes after decompression "
                              "(the most train-quality reads of one file: give it as smaller files), from ") \
            and err.endswith(": a decompression bomb, or the same text over and over)"), err
        assert "\n" not in err and "max_file_bytes" not in err, err


def test_records_train_quality_cannot_read_are_counted_and_said(tmp_path, capsys):
    """A JSON Lines input's lines that are no record (not JSON, no text) were dropped without a
    word ('1 docs -> 1 examples' of three lines): each input's line says how many, and why."""
    rng = _inputs(tmp_path)
    write_jsonl(tmp_path / "pos.jsonl", [good_text(rng, 3) for _ in range(20)])
    with open(tmp_path / "pos.jsonl", "a") as f:
        f.write('not json\n{"text": 5}\n')
    assert _train(tmp_path, [str(tmp_path / "pos.jsonl")], [str(tmp_path / "neg.jsonl")]) == 0
    line = next(ln for ln in capsys.readouterr().err.splitlines() if "pos.jsonl:" in ln)
    assert re.fullmatch(r"  \S+pos\.jsonl: 20 docs -> \d+ examples; 2 records not read \([a-z_]+ [12](, [a-z_]+ 1)?\)", line), line


def test_a_missing_input_file_is_said_missing_not_a_pattern_unmatched(tmp_path, capsys, monkeypatch):
    """`--positive x.txt` with no x.txt said "'x.txt' matches no files", a glob's words (as
    `curate run --input` said it before msgs90): a path of no wildcard names a file that is not
    there, and an empty folder holds none. A relative path is said to be taken from the current
    directory, as curate run says it (but for the config's folder: train-quality reads no config)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    here = f" (a relative path is taken from the current directory, {tmp_path})"
    for spec, said in [("x.txt", f"no file 'x.txt'{here}"), ("x.txt::lang=en", f"no file 'x.txt'{here}"),
                       ("empty", "the folder 'empty' holds no files"), ("none/*.jsonl", f"'none/*.jsonl' matches no files{here}"),
                       (str(tmp_path / "x.txt"), f"no file {str(tmp_path / 'x.txt')!r}"),
                       # a URI mistyped, said as curate run's --input is (it was "no file 'gs:/b/x.jsonl' (a relative path ...)")
                       ("gs:/b/x.jsonl", "'gs:/b/x.jsonl' looks like a URI missing a slash (did you mean gs://b/x.jsonl?); "
                                         "for a local folder named 'gs:', write ./gs:/b/x.jsonl")]:
        assert _train(tmp_path, [spec], [spec]) == 2
        assert capsys.readouterr().err == f"curate train-quality: {said}\n", spec
    # a missing --eval file was a traceback (FileNotFoundError)
    (tmp_path / "p.txt").write_text("a page long enough to be one training example\n")
    assert cli.main(["train-quality", "--positive", "p.txt", "--negative", "p.txt", "--eval", "e.jsonl", "--output", "m.bin"]) == 2
    assert capsys.readouterr().err == f"curate train-quality: --eval: no file 'e.jsonl'{here}\n"
    # a bucket that cannot be listed (offline, no credentials): one line, as curate run's (pyarrow's traceback)
    from curate.readers import common

    def unreachable(uri):  # as pyarrow says it offline
        raise OSError("When resolving region for bucket 'b': AWS Error NETWORK_CONNECTION during HeadBucket operation")

    with monkeypatch.context() as m:
        m.setattr(common, "fs_path", unreachable)
        assert _train(tmp_path, ["s3://b/x.jsonl"], ["p.txt"]) == 2
    assert capsys.readouterr().err == "curate train-quality: 's3://b/x.jsonl' cannot be listed: When resolving region for bucket 'b': " \
                                      "AWS Error NETWORK_CONNECTION during HeadBucket operation\n"
    # `--positive=~/x.txt` (no shell expands a ~ after =) is the home folder's, as `curate run --input=~/x.txt` is
    # (it was 'no file ~/x.txt (a relative path ...)', and --output=~/m.bin wrote ./~/m.bin)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _train(tmp_path, ["~/x.txt"], ["~/x.txt"]) == 2
    assert capsys.readouterr().err == f"curate train-quality: no file {str(tmp_path / 'home' / 'x.txt')!r}\n"
    (tmp_path / "home").mkdir()
    rng = random.Random(7)
    write_jsonl(tmp_path / "home" / "p.jsonl", [good_text(rng, 3) for _ in range(10)])
    write_jsonl(tmp_path / "home" / "n.jsonl", [bad_text(rng, 3) for _ in range(10)])
    assert cli.main(["train-quality", "--positive=~/p.jsonl", "--negative=~/n.jsonl", "--output=~/m.bin", "--epoch", "1",
                     "--min-chars", "20"]) == 0
    assert (tmp_path / "home" / "m.bin").is_file() and not (tmp_path / "~").exists()


def test_an_output_that_is_not_a_fasttext_model_is_not_overwritten(tmp_path, capsys, monkeypatch):
    """`--output notes.txt` (or an input's path, pasted in the wrong place) was overwritten by the model without
    a word: a file of the user's lost. A file that is not a fastText model (by fastText's magic number) or a
    folder is refused before the inputs are read; a model (this command's, retrained) is still replaced."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.txt").write_text("a page long enough to be one training example\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "models").mkdir()
    for out, said in [("notes.txt", "'notes.txt' exists and is not a fastText model"),
                      ("models", "'models' is a folder")]:
        assert cli.main(["train-quality", "--positive", "p.txt", "--negative", "p.txt", "--output", out]) == 2
        assert capsys.readouterr().err == (f"curate train-quality: --output {said}: give the model file's path, "
                                           "a new one or a model to replace\n"), out
    assert (tmp_path / "notes.txt").read_text() == "mine\n" and not list((tmp_path / "models").iterdir())


def test_a_save_that_fails_midway_leaves_the_previous_model_as_it_was(tmp_path, monkeypatch):
    """The model was saved in place: a kill or a full disk mid-save left a truncated model where the
    previous one was. It is saved under a temporary name beside it and renamed over it when whole."""
    import fasttext

    from curate.stages import quality_train

    class HalfSaved:
        def save_model(self, path):
            with open(path, "wb") as f:
                f.write(quality_train.FASTTEXT_MAGIC + b"half")
            raise OSError(28, "No space left on device")

    model = tmp_path / "m.bin"
    previous = quality_train.FASTTEXT_MAGIC + b"the previous model, whole"
    model.write_bytes(previous)
    monkeypatch.setattr(fasttext, "train_supervised", lambda path, **params: HalfSaved())
    with pytest.raises(OSError, match="No space"):
        quality_train._train("train.txt", {}, False, 0, 1, str(model))
    assert model.read_bytes() == previous and [p.name for p in tmp_path.iterdir()] == ["m.bin"]
