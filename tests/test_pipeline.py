"""The Beam pipeline end to end on the DirectRunner: accounting, determinism, layout, errors."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from curate import cli, commit, config
from curate.config import ConfigError


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


# a run whose pool is not what its test checks, in pytest's process: two workers forked from it cost
# ~2.5 CPU-s a run, and run.workers changes no output byte (test_determinism's pooled3)
ONE_PROCESS = ("--workers", "1")


def table(out: Path, kind: str) -> pl.DataFrame:
    return pl.read_parquet(str(out / kind / "*.parquet"))


def write_jsonl(path: Path, rows, bad_lines=()):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        for b in bad_lines:
            f.write(b + "\n")


@pytest.fixture
def small_inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    write_jsonl(d / "a.jsonl", [{"text": f"alpha document number {i}", "url": f"http://a/{i}"} for i in range(50)], ['{"text": oops'])
    write_jsonl(d / "b.jsonl", [{"text": f"beta {i}"} for i in range(30)] + [{"text": ""}])
    return d


def test_ingest_only_accounts_for_every_record(tmp_path, small_inputs, monkeypatch):
    from apache_beam.runners.portability import prism_runner

    offered = []  # Beam's DirectRunner offers a pipeline to Prism first (a binary fetched from GitHub): not curate's
    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", lambda self, *a, **k: offered.append(a) or 1 / 0)
    # nor rebuilt from its proto before it runs (Beam's check for runners that are not the Fn API's: the DirectRunner's
    # batch mode is, by its class name, which curate's own DirectRunner took from it until 6 Dec: ~0.4 CPU-s a run)
    import apache_beam as beam

    rebuilt = []
    monkeypatch.setattr(beam.Pipeline, "from_runner_api", lambda *a, **k: rebuilt.append(a) or 1 / 0)
    out = tmp_path / "out"
    assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", out, "--stages", "ingest", *ONE_PROCESS) == 0
    assert not offered and not rebuilt
    text, ledger, quar = table(out, "text"), table(out, "ledger"), table(out, "quarantine")
    assert (text.height, ledger.height, quar.height) == (80, 1, 1)
    assert text["id"].n_unique() == 80
    m = commit.read_manifest(str(out))
    assert m["counts"]["ingest"] == {
        "docs_in": 82, "docs_out": 80, "removed": {"empty_text": 1}, "quarantined": 1,
        "files": 2, "ids_renamed": 0, "bytes_in": m["counts"]["ingest"]["bytes_in"], "bytes_out": m["counts"]["ingest"]["bytes_out"],
    }
    listed = {e["file"]: e for e in m["outputs"]["text"]}
    assert sorted(listed) == [f"text/part-0000{i}-of-00004.parquet" for i in range(4)]
    for f, e in listed.items():  # the manifest's checksums match the files
        assert hashlib.sha256((out / f).read_bytes()).hexdigest() == e["sha256"]
        assert pq.read_metadata(out / f).num_rows == e["rows"]
    # other tools read the layout directly
    n = duckdb.sql(f"select count(*) from read_parquet('{out}/text/*.parquet')").fetchall()[0][0]
    assert n == 80


@pytest.mark.parametrize("name", ["DirectRunner", "direct", "directrunner", "Direct", "SwitchingDirectRunner",
                                  "apache_beam.runners.direct.direct_runner.DirectRunner", "FlinkRunner", "BundleBasedDirectRunner"])
def test_the_direct_runner_by_any_name_beam_takes_is_local(name):
    """Beam takes the DirectRunner's name in any case, without "Runner", or as its class path:
    each is the DirectRunner curate runs itself (its worker pool, spill, no Prism try). Before,
    only DirectRunner and direct were: --runner=directrunner --workers 2 was refused ("the
    directrunner runs the steps in its own workers") and its run offered to Prism first."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from curate import cli
    from pipelines.pipeline import local_runner, runs_here

    opts, direct = PipelineOptions([f"--runner={name}"]), name not in ("FlinkRunner", "BundleBasedDirectRunner")
    assert local_runner(opts) is runs_here(opts) is direct
    assert (cli.unused_workers(2, [f"--runner={name}"]) == []) is direct


@pytest.mark.parametrize("beam_args", [["--workers", "1"], ["--direct_num_workers=2"]], ids=["default", "beam-workers"])
def test_a_run_parses_its_beam_options_once(tmp_path, small_inputs, monkeypatch, beam_args):
    """pipeline.run asks whether the runner is local and runs DoFns here from one parse of the
    options, not one each (Beam builds its whole parser for each, ~4 CPU-ms: five a run, a
    tenth of an ingest-only run's fixed cost besides Beam's own three). Stopped at the build,
    where it has decided the workers and the spill: Beam's later parses are not curate's."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines import pipeline

    real_parse, real_run, parses = PipelineOptions.get_all_options, pipeline.run, []
    running, decided = [], {}

    def counted(self, *a, **k):
        parses.extend(running)
        return real_parse(self, *a, **k)

    def run(*a, **k):
        running.append(1)
        return real_run(*a, **k)

    class Built(Exception):
        pass

    def build(p, cfg, shards, root, progress, workers, spill):
        decided.update(workers=workers, spill=spill)
        raise Built

    monkeypatch.setattr(PipelineOptions, "get_all_options", counted)
    monkeypatch.setattr(pipeline, "run", run)
    monkeypatch.setattr(pipeline, "build", build)
    with pytest.raises(Built):
        run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", tmp_path / "out", "--stages", "ingest",
                *beam_args)
    assert len(parses) == 1, parses
    # one worker: --workers 1, or Beam's own workers (none of curate's); spill on, the DirectRunner's
    assert decided == {"workers": 1, "spill": True}, decided


def test_a_runner_asked_for_by_name_is_beams_own(tmp_path, small_inputs, monkeypatch):
    """Only the default DirectRunner is curate's (no Prism try first): --runner=PrismRunner,
    which the README offers, still goes to Prism (here one that fails as offline)."""
    from apache_beam.runners.portability import prism_runner

    offered = []

    def refuse(self, pipeline, options):
        offered.append(options.get_all_options()["runner"])
        raise RuntimeError("Unable to fetch remote prism binary (offline)")

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", refuse)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="prism binary"):
        run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", out, "--stages", "ingest",
                "--runner=PrismRunner")
    assert offered == ["PrismRunner"]


def test_ids_and_files_do_not_depend_on_input_order_or_workers(tmp_path, small_inputs):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", a, "--stages", "ingest") == 0
    # same files listed in the opposite order, two worker processes
    assert run_cli(
        "run", "--input", small_inputs / "b.jsonl", "--domain", "web", "--source", "in",
        "--input", small_inputs / "a.jsonl", "--domain", "web", "--source", "in",
        "--output", b, "--stages", "ingest",
        "--direct_num_workers=2", "--direct_running_mode=multi_processing",
    ) == 0
    for kind in ("text", "ledger", "quarantine"):
        fa = sorted(p.name for p in (a / kind).iterdir())
        assert fa == sorted(p.name for p in (b / kind).iterdir())
        for name in fa:
            assert (a / kind / name).read_bytes() == (b / kind / name).read_bytes(), f"{kind}/{name} differs"


def test_rerun_into_same_dir_replaces_outputs(tmp_path, small_inputs):
    out = tmp_path / "out"
    for shards in ("4", "2"):
        assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", out, "--stages", "ingest", "--shards", shards,
                       *ONE_PROCESS) == 0
    assert sorted(p.name for p in (out / "text").iterdir()) == ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]


def test_refuses_foreign_output_dir(tmp_path, small_inputs, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", out, "--stages", "ingest") == 2
    assert "not a curate output" in capsys.readouterr().err
    assert (out / "thesis.tex").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input", "/nonexistent/*.jsonl", "--domain", "web"], "matches no files"),
        (["--input", "{in}/a.jsonl", "--domain", "webb"], "inputs[0].domain: 'webb' is not one of web, code, books"),
        (["--input", "{in}/a.jsonl", "--domain", "web", "--format", "csv"], "inputs[0].format: 'csv' is not one of"),
        (["--input", "{in}/a.jsonl", "--domain", "web", "--stages", "ingest,bogus"], "run.stages: 'bogus' is not a stage"),
        (["--input", "{in}/a.jsonl", "--domain", "web", "--shards", "0"], "run.shards: must be >= 1"),
    ],
)
def test_bad_arguments_fail_before_the_run(tmp_path, small_inputs, capsys, args, message):
    args = [a.replace("{in}", str(small_inputs)) for a in args]
    assert run_cli("run", *args, "--output", tmp_path / "o") == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_config_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('[run]\noutput = "x"\nshards = "four"\n')
    with pytest.raises(ConfigError, match=r"run.shards: expected a number, got 'four'"):
        config.load(str(bad))
    bad.write_text('[run]\noutptu = "x"\n')
    with pytest.raises(ConfigError, match=r"run.outptu: unknown key \(did you mean output\?\); allowed keys: output, progress, shards, shuffle_compression, spill, stages, workers"):
        config.load(str(bad))
    bad.write_text('[runn]\n')
    with pytest.raises(ConfigError, match=r"runn: unknown section"):
        config.load(str(bad))
    bad.write_text('[run\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(str(bad))


@pytest.mark.parametrize("toml, said", [
    ('output = "x"\n', 'output: not a section; a key of [run]: write it under [run] (run.output)'),
    ('glob = "x"\n', 'glob: not a section; a key of [[inputs]]: write it under [[inputs]]'),
])
def test_a_sections_key_at_the_top_of_the_file_says_where_it_goes(tmp_path, toml, said):
    """`output = "x"` at the top of the file, before any [run] (a first config's likeliest slip),
    was 'output: unknown section; allowed: decontaminate, dedup, ...' with no word of [run]."""
    bad = tmp_path / "c.toml"
    bad.write_text(toml)
    with pytest.raises(ConfigError) as e:
        config.load(str(bad))
    assert said in e.value.messages, e.value.messages


def test_an_inputs_domain_or_format_in_another_case_says_the_one_it_means(tmp_path):
    """`--domain Web`, `--format JSONL` (and a misspelt `jsnl`) were "'Web' is not one of web, code,
    books" with no hint, where the README promises a choice in another case is said with the one it means."""
    f = tmp_path / "a.jsonl"
    f.write_text('{"text": "x"}\n')
    with pytest.raises(ConfigError) as e:
        config.load(overrides={"run": {"output": str(tmp_path / "o")}, "inputs": [
            {"glob": str(f), "domain": "Web", "format": "JSONL"}, {"glob": str(f), "domain": " code", "format": "jsnl"}]})
    assert {"inputs[0].domain: 'Web' is not one of web, code, books (did you mean web?)",
            "inputs[0].format: 'JSONL' is not one of warc, wet, jsonl, parquet, html, text, source (did you mean jsonl?)",
            "inputs[1].domain: ' code' is not one of web, code, books (did you mean code?)",
            "inputs[1].format: 'jsnl' is not one of warc, wet, jsonl, parquet, html, text, source (did you mean jsonl?)",
            } <= set(e.value.messages), e.value.messages


def test_format_option_must_follow_input(tmp_path, capsys):
    assert run_cli("run", "--domain", "web", "--output", tmp_path / "o") == 2
    assert "--domain must follow the --input it applies to" in capsys.readouterr().err


def test_printed_defaults_are_a_valid_config(tmp_path, capsys):
    assert run_cli("config") == 0
    text = capsys.readouterr().out
    path = tmp_path / "defaults.toml"
    path.write_text(text)
    cfg = config.load(str(path), {"inputs": [{"glob": "x.jsonl", "domain": "web"}]})
    assert cfg.stages["langid"]["languages"] == ["en"] and cfg.run["shards"] == 4


def test_manifest_records_the_packages_that_make_the_output_and_imports_none(tmp_path, small_inputs):
    """The manifest's versions are the packages whose code decides the output (fastText and
    Resiliparse were missing: they have no ``__version__``), read from installed metadata: a
    run used to import datasketch (and scipy, ~0.45 CPU-s) only to record a version."""
    import subprocess
    import sys

    out = tmp_path / "out"
    assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", out, "--stages", "ingest", *ONE_PROCESS) == 0
    versions = commit.read_manifest(str(out))["versions"]
    assert {"curate", "python", "apache_beam", "pyarrow", "numpy", "fasttext", "resiliparse", "tiktoken"} <= set(versions)
    assert "datasketch" not in versions
    code = "import sys; from pipelines.pipeline import versions; versions(); print(sorted({'datasketch', 'scipy'} & set(sys.modules)))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert imported == "[]"


def test_manifest_records_the_text_deciding_packages_and_the_extractor_a_config_uses(tmp_path, small_inputs):
    """regex (the Unicode tables of the filters' and decontamination's classes) and
    charset-normalizer (the encoding of a legacy page or book) decide the text written, and so
    does trafilatura where ingest.extractor names it: none was in the manifest, so an upgrade of
    one changed the output with `curate audit --compare` saying "versions: the same"."""
    import importlib.metadata

    out = tmp_path / "out"
    cfg = tmp_path / "c.toml"
    # pycld2 (the test extra installs it; trafilatura, the other optional one, is not installed in CI)
    cfg.write_text(f'[run]\noutput = "{out}"\nstages = ["ingest", "langid"]\n[langid]\ndetector = "fasttext+cld2"\n'
                   f'[[inputs]]\nglob = "{small_inputs / "*.jsonl"}"\ndomain = "web"\n')
    assert run_cli("run", cfg, *ONE_PROCESS) == 0
    versions = commit.read_manifest(str(out))["versions"]
    assert versions["regex"] == importlib.metadata.version("regex")
    assert versions["charset_normalizer"] == importlib.metadata.version("charset-normalizer")
    assert versions["pycld2"] == importlib.metadata.version("pycld2")
    assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--output", tmp_path / "o2", "--stages", "ingest,langid",
                   *ONE_PROCESS) == 0
    assert "pycld2" not in commit.read_manifest(str(tmp_path / "o2"))["versions"]  # the default detector: not used
    from types import SimpleNamespace

    from pipelines.pipeline import used_packages  # trafilatura where ingest.extractor names it (the config needs it installed)
    assert "trafilatura" in used_packages(SimpleNamespace(stages={"ingest": {"extractor": "trafilatura"}}, run={"stages": ["ingest"]}))


def _compare_with_a_run_under(pythonpath: str, tmp_path, small_inputs, capsys) -> tuple[dict, str]:
    """An ingest run in a subprocess with ``pythonpath``, one in this process, and `curate audit
    --compare` of the two: (the first run's manifest versions, what the compare said)."""
    import subprocess
    import sys

    old, new = tmp_path / "old", tmp_path / "new"
    run = subprocess.run([sys.executable, "-m", "curate", "run", "--input", str(small_inputs / "*.jsonl"), "--domain", "web",
                          "--stages", "ingest", "--output", str(old), "--progress", "off"],
                         capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": pythonpath})
    assert run.returncode == 0, run.stderr[-800:]
    assert run_cli("run", "--input", small_inputs / "*.jsonl", "--domain", "web", "--stages", "ingest", "--output", new,
                   "--progress", "off") == 0
    capsys.readouterr()
    assert run_cli("audit", new, "--compare", old) == 0
    return commit.read_manifest(str(old))["versions"], capsys.readouterr().out


def test_a_module_from_another_distribution_and_another_checkout_of_curate_compare_as_different(tmp_path, small_inputs, capsys):
    """Two things the manifest's versions missed, shown by one run in a subprocess whose path
    puts both ahead (one subprocess: each paid Python's and Beam's imports, ~4 CPU-s):

    The manifest read each package's version by a distribution name written in curate
    (fasttext: fasttext-numpy2): where the module on the path came from another distribution (the
    original fasttext, fasttext-wheel, a conda build), the manifest gave the version of one not
    in use, or none, and `curate audit --compare` of two runs whose fasttext differed said
    "versions: the same". The distribution is now the one whose files hold the module Python
    finds (not imported). Here a fasttext 0.9.3 distribution ahead on the path, in an ingest
    run, which does not load fastText.

    Every checkout says curate 0.1.0, so an output of a checkout with a local edit (or of
    another commit) and one of main compared as made by the same curate. The manifest records a
    fingerprint of curate's own files: here a copy of the packages with one edited line."""
    import importlib.metadata
    import shutil

    from pipelines.pipeline import source_digest

    site = tmp_path / "site"
    (site / "fasttext").mkdir(parents=True)
    (site / "fasttext" / "__init__.py").write_text("")
    info = site / "fasttext-0.9.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fasttext\nVersion: 0.9.3\n")
    (info / "RECORD").write_text("fasttext/__init__.py,,\nfasttext-0.9.3.dist-info/METADATA,,\nfasttext-0.9.3.dist-info/RECORD,,\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkout = tmp_path / "checkout"
    for pkg in ("curate", "pipelines"):
        shutil.copytree(os.path.join(root, pkg), checkout / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    assert source_digest([str(checkout / "curate"), str(checkout / "pipelines")]) == source_digest()  # the copy is the same code
    (checkout / "curate" / "stages" / "filters" / "c4.py").open("a").write("\n# a local edit\n")
    edited = source_digest([str(checkout / "curate"), str(checkout / "pipelines")])
    assert edited != source_digest()
    old, said = _compare_with_a_run_under(f"{site}{os.pathsep}{checkout}", tmp_path, small_inputs, capsys)
    assert old["fasttext"] == "0.9.3" and old["curate_source"] == edited
    assert (f"versions: curate_source {edited} -> {source_digest()} (curate's own code and data files differ: another commit, "
            f"or local edits), fasttext 0.9.3 -> {importlib.metadata.version('fasttext-numpy2')}\n") in said, said


@pytest.mark.parametrize("layout", ["installed, with editor backups", "zipapp", "sourceless"])
def test_an_unchanged_curate_gives_the_same_source_fingerprint(tmp_path, layout):
    """``curate_source`` hashed every file in curate's folders: an editor's backup (``c4.py~``),
    a patch's ``.orig``/``.rej`` or a stray note changed it, and so did installing (not
    editable: ``pip install .`` puts the models into curate/models, which a checkout keeps in
    models/), so outputs of the same code compared as different. From a zip (a zipapp) it hashed
    nothing, and sourceless (.pyc only) only the data files: every version the same. The files
    an install ships are hashed, where the packages are."""
    import compileall
    import shutil
    import subprocess
    import sys
    import zipfile

    from pipelines.pipeline import source_digest

    root = Path(__file__).resolve().parent.parent
    site = tmp_path / "site"
    for pkg in ("curate", "pipelines"):
        shutil.copytree(root / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    roots = [site / "curate", site / "pipelines"]
    if layout == "installed, with editor backups":
        shutil.copytree(root / "models", site / "curate" / "models")
        c4 = site / "curate" / "stages" / "filters" / "c4.py"
        for junk in ("c4.py~", "c4.py.orig", "c4.py.rej", "#c4.py#", "notes.txt"):
            (c4.parent / junk).write_text(c4.read_text() + "\n# an older draft\n")
        (c4.parent / "__pycache__").mkdir()
        (c4.parent / "__pycache__" / "c4.cpython-311.pyc").write_bytes(b"compiled")
        assert source_digest(roots) == source_digest()
    elif layout == "zipapp":
        app = tmp_path / "app.zip"
        with zipfile.ZipFile(app, "w") as z:
            for f in sorted(site.rglob("*")):
                z.write(f, f.relative_to(site).as_posix())
        said = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import curate; "
                               "from pipelines.pipeline import source_digest; print(curate.__file__); print(source_digest())", str(app)],
                              capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        assert said.stdout.split() == [str(app / "curate" / "__init__.py"), source_digest()], said.stderr[-600:]
        assert source_digest([zipfile.Path(app, "curate/"), zipfile.Path(app, "pipelines/")]) == source_digest()
    else:
        assert compileall.compile_dir(site, legacy=True, quiet=1)
        for py in site.rglob("*.py"):
            py.unlink()
        before = source_digest(roots)
        c4 = site / "curate" / "stages" / "filters"
        (c4 / "c4.py").write_text((root / "curate" / "stages" / "filters" / "c4.py").read_text() + "\nEDITED = 1\n")
        assert compileall.compile_file(c4 / "c4.py", legacy=True, quiet=1)
        (c4 / "c4.py").unlink()
        assert source_digest(roots) != before


def test_demo_and_its_audit_run_without_the_test_extra(tmp_path):
    """``pip install curate`` leaves out datasketch and scipy (the ``test`` extra's ground truth):
    the README's first two commands, ``curate demo`` and the audit it points to, run with both
    unimportable, as on a machine that installed the plain package."""
    import subprocess
    import sys

    block = ("import sys, importlib.abc\n"
             "class Block(importlib.abc.MetaPathFinder):\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] in ('datasketch', 'scipy'):\n"
             "            raise ImportError(f'{name} is not installed (blocked by the test)')\n"
             "sys.meta_path.insert(0, Block())\n"
             "from curate import cli\n"
             "raise SystemExit(cli.main(sys.argv[1:]))\n")
    demo = tmp_path / "demo here"
    out = demo / "out"  # where the demo says its output is
    for argv in (["demo", "--output", str(demo)], ["audit", str(out)]):
        done = subprocess.run([sys.executable, "-c", block, *argv], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, (argv, done.stderr[-2000:])
    assert (out / "manifest.json").exists() and (out / "stats" / "summary.json").exists()


def test_a_file_uri_output_the_workers_wrote_elsewhere_is_said(tmp_path, monkeypatch):
    """The check that the runner's workers wrote a local output where this machine sees it (its
    staged manifest here) was skipped for every '://' output, file:// included, a local folder
    (commit locks and checks it as its path): a cluster's workers writing file:///data/out on
    disks of their own failed in commit.finish, 'no manifest.json; not a finished curate output',
    of the staging folder. Said as of the same folder given as a path (test_portable). Here the
    workers write nowhere this machine sees (build adds no step)."""
    from types import SimpleNamespace

    from pipelines import pipeline

    out = tmp_path / "out"
    cfg = SimpleNamespace(run={"output": f"file://{out}", "stages": ["ingest"], "workers": 1, "spill": False}, changed_files=lambda: [])
    monkeypatch.setattr(pipeline, "build", lambda p, *a, **k: p | "Nothing" >> __import__("apache_beam").Create([]))
    with pytest.raises(pipeline.OutputNotShared) as e:
        pipeline.run(cfg, [])
    assert str(e.value).startswith(f"the runner's workers wrote the output where this machine does not see it ({out}/"
                                   f"{commit.STAGING} has no manifest.json;")
    assert not out.exists()  # a first run's folder removed
