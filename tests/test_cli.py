"""The command line does what it says (issue 14): documented option forms work through the
CLI and config.load, mistakes are all reported before anything runs, misspelt options are
errors with a suggestion, progress covers every stage, help and README agree."""
from __future__ import annotations

import json
import os
import pty
import re
import shutil
import socket
import tempfile
import subprocess
import sys
import threading
import time
import tomllib
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import cli, config
from curate.stages.langid import LangID
from curate.readers import FORMATS
from curate.schema import DOMAINS, STAGES

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
pytestmark = pytest.mark.usefixtures("one_process_runs")  # ~140 in-process runs of a few documents

# Written for these tests: one page per language, long enough for a confident fastText label.
PAGES = {
    "en": "The old library near the harbour opens every morning at nine, and the neighbours often meet there "
          "to read the newspapers and talk about the weather before they go to work.",
    "de": "Die alte Bibliothek am Hafen öffnet jeden Morgen um neun Uhr, und die Nachbarn treffen sich dort oft, "
          "um Zeitung zu lesen und über das Wetter zu sprechen, bevor sie zur Arbeit gehen.",
    "fr": "La vieille bibliothèque près du port ouvre chaque matin à neuf heures, et les voisins s'y retrouvent "
          "souvent pour lire le journal et parler du temps avant d'aller travailler.",
}


@pytest.fixture
def pages(tmp_path) -> Path:
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items()), encoding="utf-8")
    return path


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])



@pytest.fixture(scope="module")
def _ingested_once(tmp_path_factory) -> Path:
    """`curate run --input pages.jsonl --domain web --stages ingest` once for this file (~1 CPU-s
    a run): the tests that audit such an output, or refuse to write into it, each get a copy."""
    root = tmp_path_factory.mktemp("ingested")
    (root / "pages.jsonl").write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items()), encoding="utf-8")
    assert run_cli("run", "--input", root / "pages.jsonl", "--domain", "web", "--stages", "ingest", "--output", root / "o", "--progress", "off") == 0
    return root / "o"


@pytest.fixture
def ingested(_ingested_once):
    """``ingested(path)``: the output of `curate run --input pages --domain web --stages ingest`
    (the ``pages`` fixture's documents) at ``path``, copied, not run again. A copy is that
    output: curate reads no path its manifest records (its config's run.output)."""
    def at(path: Path) -> Path:
        shutil.copytree(_ingested_once, path, symlinks=True)
        return path

    return at


def kept_languages(out: Path) -> set[str]:
    return set(pq.read_table(out / "text", columns=["language"]).column("language").to_pylist())


# --- documented forms of langid.languages ------------------------------------------------


def readme_language_forms() -> list[str]:
    """The forms the README's config example documents on its `languages = ...` line."""
    line = next(x for x in README.splitlines() if x.startswith("languages = "))
    value, _, comment = line[len("languages = "):].partition("#")
    return [value.strip()] + [f.strip() for f in re.split(r",\s*or\s+|^\s*or\s+", comment.strip()) if f.strip()]


def test_readme_documents_the_three_forms():
    assert readme_language_forms() == ['["en", "de"]', "{en = 0.65, de = 0.8}", '"all"']


@pytest.mark.parametrize("form", readme_language_forms() + ["[]"])
def test_every_documented_languages_form_loads(tmp_path, form):
    path = tmp_path / "c.toml"
    path.write_text(f"[langid]\nlanguages = {form}\n")
    cfg = config.load(str(path))
    expected = tomllib.loads(f"x = {form}")["x"]
    assert cfg.stages["langid"]["languages"] == expected
    targets = LangID(cfg.stages["langid"]).targets
    if form in ('"all"', "[]"):
        assert targets is None  # keep every language
    else:
        assert set(targets) == {"en", "de"}
        if "{" in form:  # the table's own thresholds (a list gets the configured defaults)
            assert targets == {"en": 0.65, "de": 0.8}


@pytest.mark.parametrize("arg, kept", [("all", {"en", "de", "fr"}), ("en,de", {"en", "de"})])
def test_languages_option_through_the_cli(tmp_path, pages, arg, kept):
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "langid", "--languages", arg,
                   "--output", out, "--progress", "off") == 0
    assert kept_languages(out) == kept


def test_languages_table_from_a_config_file_through_the_cli(tmp_path, pages):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[langid]\nlanguages = {en = 0.65, fr = 0.5}\n')
    out = tmp_path / "o"
    assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", "langid", "--output", out, "--progress", "off") == 0
    assert kept_languages(out) == {"en", "fr"}


# --- every mistake, all at once, before anything runs -------------------------------------


@pytest.mark.parametrize(
    "languages, message",
    [
        ("english", "langid.languages: 'english' is not a label of model 'lid.176.ftz'"),
        ("ALL", "'ALL' is not a label of model 'lid.176.ftz' (did you mean languages = \"all\""),
        ("EN", "'EN' is not a label of model 'lid.176.ftz' (did you mean en?)"),
        # codes people type for a language: other ISO 639 parts, a region or script, withdrawn codes, names
        ("zh-CN", "'zh-CN' is not a label of model 'lid.176.ftz' (did you mean zh?)"),
        ("jpn,iw,fil,german,pt_BR,xx", "langid.languages: 'fil' (did you mean tl?), 'german' (did you mean de?), 'iw' (did you mean he?), "
                                       "'jpn' (did you mean ja?), 'pt_BR' (did you mean pt?), 'xx' are not labels of model 'lid.176.ftz'"),
    ],
)
def test_unknown_language_code_fails_before_the_run(tmp_path, pages, capsys, languages, message):
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--languages", languages, "--output", out) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_all_config_errors_are_reported_together(tmp_path, pages, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        "[run]\nshards = \"four\"\nprogres = \"on\"\n"
        "[langid]\nlanguages = [\"english\"]\n"
        "[filter]\ndisable = [\"gopher_stopwords\"]\n"
        "[dedup]\nbands = \"x\"\n"
        f"[[inputs]]\nglob = \"{pages}\"\ndomain = \"webb\"\n"
    )
    assert run_cli("run", cfg) == 2
    err = capsys.readouterr().err
    expected = [
        "run.shards: expected a number, got 'four'",
        "run.progres: unknown key (did you mean progress?)",
        "inputs[0].domain: 'webb' is not one of web, code, books",
        "run.output: required (--output DIR)",
        "langid.languages: 'english' is not a label",
        "filter.disable: unknown value(s) ['gopher_stopwords'] (did you mean gopher_stop_words?)",
        "dedup.bands: expected a number, got 'x'",
    ]
    for message in expected:
        assert message in err
    assert err.count("curate: config error: ") == len(expected)


def test_a_glob_that_matches_only_in_another_case_names_the_files(tmp_path, pages, capsys):
    """`--input 'crawl/*.WARC.GZ'` beside crawl-0.warc.gz said only 'matches no files': a glob
    is case-sensitive on Linux, and the files it missed were not named."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "Pages.JSONL").write_bytes(pages.read_bytes())
    glob = str(tmp_path / "in" / "*.jsonl")
    assert run_cli("run", "--input", glob, "--domain", "web", "--output", tmp_path / "o") == 2
    assert capsys.readouterr().err == (f"curate: config error: inputs[0].glob: {glob!r} matches no files (a glob is "
                                       f"case-sensitive; in another case it would match: Pages.JSONL)\n")
    named = str(tmp_path / "in" / "pages.jsonl")  # a name of no wildcard: a name's case, not a glob's (msgs90)
    assert run_cli("run", "--input", named, "--domain", "web", "--output", tmp_path / "o") == 2
    assert capsys.readouterr().err == (f"curate: config error: inputs[0].glob: no file or folder {named!r} (a name is "
                                       f"case-sensitive; in another case it is: Pages.JSONL)\n")


def test_an_input_folder_with_no_files_says_so(tmp_path, capsys, monkeypatch):
    """`--input emptydir` said "'emptydir' matches no files (...) (a glob is case-sensitive; in another
    case it would match: emptydir)": the folder itself offered as the other case's match. It says
    the folder holds no files to read (its hidden ones named as left out); a glob in another case still hints."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "emptydir" / "sub").mkdir(parents=True)
    (tmp_path / "hid").mkdir()
    (tmp_path / "hid" / ".pages.jsonl").write_text('{"text": "x"}\n')
    assert run_cli("run", "--input", "emptydir", "--domain", "web", "--input", "hid", "--domain", "web",
                   "--input", "EMPTY*", "--domain", "web", "--output", "o") == 2
    assert capsys.readouterr().err.splitlines() == [
        "curate: config error: inputs[0].glob: 'emptydir' is a folder with no files to read in it: put the input files "
        "there, or give another --input",
        "curate: config error: inputs[1].glob: 'hid' is a folder with no files to read in it (a name starting with '.' is "
        "left out): put the input files there, or give another --input",
        f"curate: config error: inputs[2].glob: 'EMPTY*' matches no files (a relative path is taken from the current "
        f"directory, {tmp_path}) (a glob is case-sensitive; in another case it would match: emptydir)"]


def test_config_command_says_every_mistake_of_a_config_with_its_globs(tmp_path, capsys):
    """`curate config bad.toml`: a domain error hid the glob that matches nothing (only `curate
    run` looked at the globs), and a config whose glob matched nothing printed as fine. Now
    both are said at once, as `curate run` says them."""
    missing = tmp_path / "nothere" / "*.jsonl"
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{missing}"\ndomain = "wbe"\n')
    assert run_cli("config", cfg) == 2
    assert capsys.readouterr().err == ("curate: config error: inputs[0].domain: 'wbe' is not one of web, code, books (did you mean web?)\n"
                                       f"curate: config error: inputs[0].glob: {str(missing)!r} matches no files\n")
    cfg.write_text(f'[[inputs]]\nglob = "{missing}"\ndomain = "web"\n')
    assert run_cli("config", cfg) == 2
    assert capsys.readouterr().err == f"curate: config error: inputs[0].glob: {str(missing)!r} matches no files\n"


def test_every_mistake_of_one_command_line_is_reported_at_once(tmp_path, pages, capsys):
    """`curate run --stages ingestt --languages english ...` said only the stage error: the
    language codes were not checked (langid was not among the stages), the globs only once the
    config had loaded, and a misspelt Beam option stopped the command before either."""
    out, missing = tmp_path / "o", tmp_path / "nothere" / "*.jsonl"
    assert run_cli("run", "--stages", "ingestt", "--languages", "english", "--input", missing, "--domain", "web",
                   "--input", pages, "--domain", "webb", "--output", out, "--direct_num_wokers=2") == 2
    err = capsys.readouterr().err
    for message in [
        "curate: config error: run.stages: 'ingestt' is not a stage (did you mean ingest?)",
        "curate: config error: langid.languages: 'english' is not a label",
        f"curate: config error: inputs[0].glob: {str(missing)!r} matches no files",
        "curate: config error: inputs[1].domain: 'webb' is not one of web, code, books",
        "curate: unknown option --direct_num_wokers (did you mean --direct_num_workers?)",
    ]:
        assert message in err, err
    assert "--languages: the langid stage is not among" not in err  # it follows from the misspelt stage
    assert not out.exists()


def test_input_without_domain_says_how_to_give_one(tmp_path, pages, capsys):
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--input", pages, "--domain", "web", "--output", out) == 2
    err = capsys.readouterr().err
    assert "inputs[0].domain: required, one of web, code, books (on the command line: --domain after the --input)" in err
    assert "inputs[1]" not in err and "None" not in err
    assert not out.exists()


@pytest.mark.parametrize("typo, meant, given, said", [
    ("--domian", "--domain", [], []), ("--outptu", "--output", [], []),
    # another mistake that names the option meant, given as well, is its own: said (review93: dropped with the typo's)
    ("--sett", "--set", ["--set", "run.shards=0"], ["run.shards (from --set run.shards=0): must be >= 1, got 0"]),
    ("--langauges", "--languages", ["--languages", "en", "--stages", "ingest"],
     ["--languages: the langid stage is not among the stages run (ingest); add langid or leave --languages out"]),
])
def test_a_misspelt_option_is_one_error_not_also_the_option_missing(tmp_path, pages, capsys, typo, meant, given, said):
    """`--domian web` said the misspelling, then 'config error: inputs[0].domain: required ...
    (--domain after the --input)', the same mistake twice (`--outptu o`: 'run.output: required')."""
    args = {"--domain": "web", "--output": str(tmp_path / "o"), typo: "x"}
    assert run_cli("run", "--input", pages, *[a for k, v in args.items() if k != meant for a in (k, v)], *given) == 2
    assert capsys.readouterr().err.splitlines() == [f"curate: unknown option {typo} (did you mean {meant}?)",
                                                    *[f"curate: config error: {m}" for m in said], "(see: curate run --help)"]


@pytest.mark.parametrize("args, said", [
    (["--inptu", "{pages}", "--domain", "web"], "unknown option --inptu (did you mean --input?)"),
    # a --domain before any --input, the misspelt one after it: the --domain's own mistake (review93: the typo said)
    (["--domain", "web", "--input", "{pages}", "--inptu", "{pages}"], "--domain must follow the --input it applies to"),
])
def test_a_misspelt_input_is_said_not_the_domain_after_it(tmp_path, pages, capsys, args, said):
    """`curate run --inptu a.jsonl --domain web` said '--domain must follow the --input it applies
    to', naming neither the misspelling nor the option meant."""
    assert run_cli("run", *[a.format(pages=pages) for a in args], "--output", tmp_path / "o") == 2
    assert capsys.readouterr().err.splitlines() == [f"curate: {said}", "(see: curate run --help)"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--stage=ingest"], "unknown option --stage (did you mean --stages?)"),
        (["--langauges=de"], "unknown option --langauges (did you mean --languages?)"),
        (["--langauges", "de"], "unknown option --langauges (did you mean --languages?)"),
        (["--direct_num_wokers=2"], "unknown option --direct_num_wokers (did you mean --direct_num_workers?)"),
        (["--no_such_option=1"], "--no_such_option: neither a curate option nor a Beam pipeline option for DirectRunner"),
        # a config key given as an option, in Beam's form: said as --set takes it (it was only 'neither ... nor')
        (["--max_file_bytes=4096"], "unknown option --max_file_bytes (a config key: --set limits.max_file_bytes=4096): neither"),
        (["--limits.max-file-bytes", "4096"], "unknown option --limits.max-file-bytes (a config key: --set limits.max_file_bytes=4096)"),
        (["--spill"], "unknown option --spill (a config key: --set run.spill=VALUE): neither"),
        (["--dedup.threshold=0.7"], "unknown option --dedup.threshold (a config key: --set dedup.threshold=0.7): neither"),
        (["--runner=NoSuchRunner"], "--runner=NoSuchRunner: Unexpected pipeline runner"),
        # was a traceback from inside Beam, after the output folder had been made
        (["--runner=PortableRunner"], "--runner=PortableRunner needs --job_endpoint=HOST:PORT"),
    ],
)
def test_misspelt_and_unknown_options_are_errors(tmp_path, pages, capsys, args, message):
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "config file not found" not in err
    assert not out.exists()


def test_the_dataflow_runner_without_beams_gcp_extras_is_one_line_before_the_run(tmp_path, pages, capsys):
    """`--runner=DataflowRunner` (or Dataflow) where apache-beam[gcp] is not installed passed the
    option check and ended, once the pipeline was built, in a traceback whose last line said
    'Google Cloud Dataflow runner not available, please install apache_beam[gcp]'."""
    try:
        from apache_beam.runners.dataflow.internal import apiclient  # noqa: F401
        pytest.skip("apache-beam[gcp] is installed: the runner is available")
    except ImportError:
        pass
    for runner in ("DataflowRunner", "Dataflow"):  # bucket paths (these unlisted), as Dataflow needs
        with pytest.MonkeyPatch.context() as m:
            m.setattr(cli, "plan", lambda *a, **k: [])
            assert run_cli("run", "--input", "gs://b/in/*.jsonl", "--domain", "web", "--output", "gs://b/out", f"--runner={runner}",
                           "--project=my-project", "--region=us-central1", "--temp_location=gs://b/tmp") == 2
        err = capsys.readouterr().err
        assert f"curate: --runner={runner} needs Beam's Google Cloud extras, which are not installed: " \
               "pip install 'apache-beam[gcp]'" in err.splitlines(), err


@pytest.mark.parametrize("args, message", [
    # with the choice meant, as --environment_type's (msgs90: the README's example had none)
    (["--direct_running_mode=multi_procesing"], "curate: --direct_running_mode: invalid choice: 'multi_procesing' (did you mean "
                                                "multi_processing?) (choose from 'in_memory', 'multi_threading', 'multi_processing')"),
    (["--direct_num_workers", "two"], "curate: --direct_num_workers: invalid int value: 'two'"),
    (["--runner=FlinkRunner", "--flink_version=9.9"], "curate: --flink_version: invalid choice: '9.9'"),
    # Beam takes any string and says 'Unknown environment type: EXTRENAL' once the job is built
    (["--runner=PortableRunner", "--job_endpoint=localhost:1", "--environment_type=EXTRENAL"],
     "curate: --environment_type: invalid choice: 'EXTRENAL' (did you mean EXTERNAL?) (choose from DOCKER, PROCESS, EXTERNAL, "
     "LOOPBACK, or a beam:env: URN)"),
    (["--runner=FlinkRunner", "--environment_type=loopback"], "curate: --environment_type: invalid choice: 'loopback' (did you mean LOOPBACK?)"),
    # given twice, the last one won without a word, as curate's own options did (an error since small24)
    (["--direct_num_workers=2", "--direct_num_workers", "3"], "curate: --direct_num_workers given twice (2, then 3): give it once"),
    (["--runner=PortableRunner", "--runner", "DirectRunner"], "curate: --runner given twice (PortableRunner, then DirectRunner): give it once"),
])
def test_a_beam_option_with_a_bad_value_is_one_line(tmp_path, pages, capsys, args, message):
    """A Beam option's value its parser refuses printed the usage of every Beam option (126
    lines) before the error."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(message) and err[1:] == ["(see: curate run --help)"], err
    assert not out.exists()


def test_known_beam_options_pass():
    ap, commands = cli._parser()
    ok = ["--direct_num_workers=2", "--direct_running_mode", "multi_processing", "--default_sdk_harness_log_level=ERROR"]
    assert cli.check_rest("run", commands["run"], ok) == []
    assert cli.check_rest("run", commands["run"], ["--experiments=a", "--experiments=b"]) == []  # Beam's list options are repeated
    flink = ["--runner=FlinkRunner", "--flink_master=localhost:8081", "--parallelism=4", "--environment_type=LOOPBACK"]
    assert cli.check_rest("run", commands["run"], flink) == []
    from apache_beam.portability import common_urns, python_urns
    from apache_beam.transforms.environments import Environment
    from pipelines.options import ENVIRONMENT_TYPES

    for env in (*ENVIRONMENT_TYPES, "beam:env:docker:v1"):
        assert cli.check_rest("run", commands["run"], [*flink[:-1], f"--environment_type={env}"]) == [], env
        if not env.startswith("beam:"):  # each a name Beam's Environment.from_options resolves to an environment it has
            urn = python_urns.EMBEDDED_PYTHON_LOOPBACK if env == "LOOPBACK" else getattr(common_urns.environments, env).urn
            assert Environment.get_env_cls_from_urn(urn)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num_workers=8"], "--num_workers is an option of the DataflowRunner"),
        (["--max_num_workers", "100"], "--max_num_workers is an option of the DataflowRunner"),
        (["--machine_type=n2-standard-8"], "--machine_type is an option of the DataflowRunner"),
        (["--region=us-central1"], "--region is an option of the DataflowRunner"),
        # and where this run's temporary files go instead (the user wanted them elsewhere)
        (["--temp_location=/scratch/tmp"], "--temp_location is an option of the DataflowRunner; this run's DirectRunner would "
         "ignore it: its temporary files go to TMPDIR (now {tmp}) and its spilled data under OUTPUT/.curate-staging/; "
         "set TMPDIR=DIR to move the first"),
        (["--flink_master=localhost:8081"], "--flink_master is an option of the FlinkRunner"),
        (["--parallelism=4"], "--parallelism is an option of the FlinkRunner"),
        (["--environment_type=LOOPBACK"], "--environment_type is an option of the PortableRunner"),
        # the other way round: a local option on a remote runner
        (["--runner=PortableRunner", "--job_endpoint=localhost:1", "--direct_num_workers=4"],
         "--direct_num_workers is an option of the DirectRunner; the PortableRunner would ignore it"),
    ],
)
def test_options_of_another_runner_are_errors(tmp_path, pages, capsys, args, message):
    """`curate run --num_workers=8` on the DirectRunner ran as if the option were not there:
    the user thought they had asked for 8 workers."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, *args) == 2
    err = capsys.readouterr().err
    message = message.replace("{tmp}", tempfile.gettempdir())
    assert message in err, err
    if "Dataflow" in message and "TMPDIR" not in message:
        assert "--workers N" in err, err  # where local parallelism is set
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--runner=PortableRunner", "--job_endpoint=localhost:1", "--job_server_timeout=1"], "the PortableRunner runs the steps in its own workers"),
    (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], "Beam's multi_processing mode runs the steps"),
])
@pytest.mark.parametrize("workers", [["--workers", "8"], ["--set", "run.workers=8"]])
def test_workers_with_a_runner_that_does_not_use_them_is_an_error(tmp_path, pages, capsys, args, message, workers):
    """`--workers 8 --runner=PortableRunner` (or with Beam's multi-process mode) ran with one
    curate worker process, silently: run.workers is for the DirectRunner's in-process mode.
    `--set run.workers=8` is the same option and gets the same check."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, *workers, *args) == 2
    err = capsys.readouterr().err
    assert f"{' '.join(workers)} is not used" in err and message in err and len(err.strip().splitlines()) == 2, err
    assert not out.exists()


def test_workers_past_four_a_core_is_an_error(tmp_path, pages, capsys, monkeypatch):
    """`--workers 100000` forked process after process (2,500 in seconds on a 2-core machine)
    until killed: more than 4 a core is refused, naming how many the machine takes."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)  # the cores are the process's (config.cores)
    monkeypatch.setattr(config, "CGROUP", str(tmp_path / "no-cgroup"))  # and no CPU quota, whatever this machine's
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, "--workers", "9") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "curate: config error: run.workers: 9 processes on this machine of 2 cores: give at most 8 (4 a core), or 0 for one a core"]
    assert not out.exists()
    assert config.load(None, {"run": {"workers": 8}}).run["workers"] == 8


def test_options_every_runner_reads_pass_on_the_direct_runner():
    ap, commands = cli._parser()
    ok = ["--default_sdk_harness_log_level=ERROR", "--max_cache_memory_usage_mb=10", "--experiments=x",
          "--pickle_library=cloudpickle", "--save_main_session", "--direct_num_workers=2"]
    assert cli.check_rest("run", commands["run"], ok) == []
    dataflow = ["--runner=DataflowRunner", "--project=p", "--region=r", "--num_workers=8", "--machine_type=n2-standard-8"]
    assert cli.check_rest("run", commands["run"], dataflow) == []


def test_local_paths_with_the_dataflow_runner_fail_before_submission(tmp_path, pages, capsys):
    # Dataflow's workers are other machines: a local input reads nothing there and a local
    # output is written where no one finds it; said before the job is built, every path at once
    out = tmp_path / "o"
    dataflow = ["--runner=DataflowRunner", "--project=my-project-1", "--region=us-central1", "--temp_location=gs://bucket/tmp"]
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, *dataflow) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"curate: config error: inputs[0].glob {str(pages)!r} is a path on this machine: the DataflowRunner's workers run on "
        "machines of their own and cannot read it; give a bucket URI (gs://BUCKET/...)",
        f"curate: config error: run.output {str(out)!r} is a path on this machine: the DataflowRunner's workers run on "
        "machines of their own and cannot write it; give a bucket URI (gs://BUCKET/...)"]
    assert not out.exists()


def test_a_local_input_with_the_dataflow_runner_is_said_as_typed(tmp_path, pages, capsys, monkeypatch):
    """The Dataflow launch check said the tidied glob ('pages.jsonl') where the user typed
    './sub/../pages.jsonl': a spelling they never wrote. As typed now, and what it was read as."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    dataflow = ["--runner=DataflowRunner", "--project=my-project-1", "--region=us-central1", "--temp_location=gs://bucket/tmp"]
    assert run_cli("run", "--input", "./sub/../pages.jsonl", "--domain", "web", "--output", "gs://bucket/o", *dataflow) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "curate: config error: inputs[0].glob './sub/../pages.jsonl' (read as 'pages.jsonl') is a path on this machine: the "
        "DataflowRunner's workers run on machines of their own and cannot read it; give a bucket URI (gs://BUCKET/...)"]


def test_a_local_evaluation_set_with_the_dataflow_runner_is_refused_at_launch(tmp_path, pages, capsys, monkeypatch):
    """The Dataflow launch check judged the inputs and the output only: an evaluation set (or a
    tokenizer.json, a word list) on this machine was submitted, and every worker stopped in its
    setup ('matches no files') once its VM was up. It is said with them, as the config names it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "mmlu.jsonl").write_text('{"text": "one two three four"}\n')
    dataflow = ["--runner=DataflowRunner", "--project=my-project-1", "--region=us-central1", "--temp_location=gs://bucket/tmp"]
    assert run_cli("run", "--input", "pages.jsonl", "--domain", "web", "--output", "gs://bucket/o", "--stages", "ingest,decontaminate",
                   "--set", 'decontaminate.eval_sets=[{glob = "./evals/mmlu.jsonl"}]', *dataflow) == 2
    assert capsys.readouterr().err.strip().splitlines()[1:] == [
        "curate: config error: decontaminate.eval_sets[0] 'evals/mmlu.jsonl' is a path on this machine: the "
        "DataflowRunner's workers run on machines of their own and cannot read it; give a bucket URI (gs://BUCKET/...)"]


def test_the_dataflow_launch_check_refuses_no_local_file_that_no_bucket_can_hold():
    """The Dataflow launch check refused every file an option names on this machine, saying "give
    a bucket URI": only an evaluation set is read from a bucket; a tokenizer.json, a word list,
    langid's thresholds, a model (curate reads them from a local path: a URI is a config error, config.in_buckets)
    and a custom rule's files (its own code opens them) can only be in the workers' container, at
    the path the launch names, as before: refusing them left no way to run them on Dataflow."""
    from pipelines.options import local_paths_on_remote_workers

    dataflow = ["--runner=DataflowRunner", "--project=my-project-1", "--region=us-central1", "--temp_location=gs://bucket/tmp"]
    files = {"tokenize.tokenizer": "tok/t.json", "filter.badwords.lists.en": "bad.txt", "langid.thresholds": "/opt/th.json",
             "quality.web.model": "m.bin", "filter.custom.x.files[0]": "rule.txt", "decontaminate.eval_sets[0]": "evals/mmlu.jsonl",
             "decontaminate.eval_sets[1]": "gs://bucket/evals/*.jsonl"}
    said = local_paths_on_remote_workers(dataflow, [{"glob": "gs://bucket/in/*.jsonl"}], "gs://bucket/o", None, files)
    assert [m.split(" is a path")[0] for m in said] == ["decontaminate.eval_sets[0] 'evals/mmlu.jsonl'"]
    # a local path with :// after a folder, a FILE:// URI: on this machine too (review93: taken for buckets, as is_uri
    # and commit._bucket do not)
    said = local_paths_on_remote_workers(dataflow, [{"glob": "sub/a://b.jsonl"}, {"glob": "GS://bucket/in/*.jsonl"}], "FILE:///o",
                                         None, {"decontaminate.eval_sets[0]": "FILE:///evals/*.jsonl"})
    assert [m.split(" is a path")[0] for m in said] == ["inputs[0].glob 'sub/a://b.jsonl'", "run.output 'FILE:///o'",
                                                         "decontaminate.eval_sets[0] 'FILE:///evals/*.jsonl'"]


def test_beam_options_with_their_value_after_a_space(tmp_path, pages, capsys):
    """`--runner DirectRunner --direct_num_workers 2` (argparse's other form, which Beam
    accepts): the value used to be taken for the TOML config, and Beam's parser then printed
    its whole usage and "argument --runner: expected one argument"."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off",
                   "--runner", "DirectRunner", "--direct_num_workers", "2", "--direct_running_mode", "in_memory") == 0, capsys.readouterr().err
    assert pq.read_table(out / "text").num_rows == len(PAGES)
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", tmp_path / "x", "--runner", "DirectRunner",
                   "--direct_num_wokers", "2") == 2
    err = capsys.readouterr().err
    assert "unknown option --direct_num_wokers (did you mean --direct_num_workers?)" in err and "usage:" not in err, err
    # a flag (no value) before the config file leaves the config alone
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path / "y"}"\nstages = ["ingest"]\n[[inputs]]\nglob = "{pages}"\ndomain = "web"\n')
    assert run_cli("run", "--auto_unique_labels", cfg, "--progress", "off") == 0, capsys.readouterr().err



@pytest.mark.parametrize("args, before", [
    (["--runner", "DataflowRunner", "--project", "p", "--region", "us-central1", "--temp_location", "gs://b/t"], False),
    (["--runner", "DataflowRunner", "--project", "p"], True),  # the config after a Beam option's bare value
    (["--runner=DataflowRunner", "--project=p", "--experiments=use_runner_v2", "--experiments=shuffle_mode=service",
      "--setup_file", "./setup.py"], False),
    (["--experiments", "a", "--experiments", "b"], False),
    (["--setup_file", "./setup.py"], True),
    (["--save_main_session", "--experiments", "a"], True),  # a Beam flag, then an option's bare value
    (["--stages", "ingest", "--runner", "DirectRunner"], True),  # a curate option's value, then Beam's
])
def test_beam_options_as_the_readme_writes_them_reach_the_config_check(tmp_path, capsys, args, before):
    """Beam's options in either form, before or after the config, are checked the same with or
    without Beam imported up front (perf27 imports it only where an option takes a bare word): the
    run stops at the config's own mistake, its only message, and no value was taken for the config."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "gs://b/out"\nstages = ["ingest"]\n[[inputs]]\nglob = "{tmp_path / "none.jsonl"}"\ndomain = "web"\n')
    argv = [*args, cfg] if before else [cfg, *args]
    assert run_cli("run", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"curate: config error: inputs[0].glob: no file or folder '{tmp_path / 'none.jsonl'}'"], err


# --- progress ------------------------------------------------------------------------------


def progress_lines(err: str) -> dict[str, tuple[int, int, int]]:
    """The last progress line of each stage: (in, out, removed)."""
    last = {}
    for m in re.finditer(r"^\[curate\] +[\d.]+ s [ *] (\w+) +(?:\d+/\d+ files \([\d.,]+ MB\), )?([\d,]+) in, ([\d,]+) out, ([\d,]+) removed",
                         err, re.M):
        last[m.group(1)] = tuple(int(g.replace(",", "")) for g in m.groups()[1:])
    return last


def test_progress_on_covers_every_stage_and_matches_the_manifest(demo):
    root, r = demo
    counts = json.loads((root / "out" / "manifest.json").read_text())["counts"]
    last = progress_lines(r.stderr)
    assert list(last) == [s for s in STAGES if s in counts] and len(last) >= 7, r.stderr
    for stage, (n_in, n_out, removed) in last.items():
        c = counts[stage]
        expected = (c["docs_in"], c["docs_out"], sum(c["removed"].values()) + c.get("quarantined", 0))
        assert (n_in, n_out, removed) == expected, f"{stage}: {counts}\n{r.stderr}"
    done = [x for x in r.stderr.splitlines() if x.startswith("[curate] done in ")]
    assert len(done) == 1
    assert f"{counts['ingest']['docs_in']:,} docs read" in done[0] and f"{counts['tokenize']['docs_out']:,} out of tokenize" in done[0]


def test_the_summary_rows_add_up_to_what_each_stage_removed(demo):
    """The demo's table said `ingest ... removed 8` beside reasons adding up to 6: it showed the
    three most common rules and dropped the rest. The rest is now one "N other rules" entry."""
    root, r = demo
    counts = json.loads((root / "out" / "manifest.json").read_text())["counts"]
    rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.split() and line.split()[0] in counts}
    assert len(rows) == len(counts) >= 7, r.stdout
    for stage, line in rows.items():
        removed = int(line.split()[3].replace(",", ""))
        reasons = line.split(None, 4)[4].strip() if len(line.split(None, 4)) > 4 else ""
        shown = sum(int(part.rsplit(" ", 1)[1]) for part in reasons.split(", ")) if reasons else 0
        assert shown == removed, f"{stage}: {line}"
    assert any("other rules" in line for line in rows.values()), r.stdout  # the demo's ingest has five rules


def test_no_beam_noise_at_the_default_log_level(demo):
    _, r = demo
    noise = [x for x in r.stderr.splitlines() if not x.startswith("[curate] ")]
    assert noise == []


def run_on_pty(args: list[str]) -> str:
    """Run the CLI with stderr on a pseudo-terminal; return what it printed there."""
    master, slave = pty.openpty()
    chunks = []

    def read():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    r = subprocess.run([sys.executable, "-m", "curate.cli", *args], stderr=slave, stdout=subprocess.DEVNULL, env=ENV, cwd=REPO, timeout=300)
    os.close(slave)
    reader.join(10)
    os.close(master)
    assert r.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_progress_auto_shows_on_a_terminal_only(tmp_path, pages, capsys):
    args = ["run", "--input", str(pages), "--domain", "web", "--stages", "langid"]
    on_tty = run_on_pty([*args, "--output", str(tmp_path / "a")])
    assert set(progress_lines(on_tty)) == {"ingest", "langid"} and "[curate] done in " in on_tty
    # stderr not a terminal (captured, as a pipe is): in this process, one interpreter start and Beam import fewer
    assert run_cli(*args, "--output", tmp_path / "b") == 0
    assert "[curate]" not in capsys.readouterr().err


# --- help and printed defaults -----------------------------------------------------------------


def test_run_help_and_readme_list_the_same_stages_and_formats(capsys):
    with pytest.raises(SystemExit):
        run_cli("run", "--help")
    text = capsys.readouterr().out
    stages = re.search(r"^stages .*: (.*)$", text, re.M).group(1).split(", ")
    formats = re.search(r"^formats .*: (.*)$", text, re.M).group(1).split(", ")
    domains = re.search(r"^domains .*: (.*)$", text, re.M).group(1).split(", ")
    assert stages == list(STAGES) and formats == list(FORMATS) and domains == list(DOMAINS)
    stage_table = re.findall(r"^\| `(\w+)`(?: \*\(opt-in\)\*)? \| [a-z]", README.split("## Stages", 1)[1].split("###", 1)[0], re.M)
    format_table = re.findall(r"^\| `(\w+)` \|", README.split("### Ingestion formats", 1)[1].split("##", 1)[0], re.M)
    assert stage_table == stages and format_table == formats
    assert "goes to Apache Beam" in text and "--direct_num_workers" in text
    assert re.search(r"--progress \{auto,on,off\}\n\s+\S", text)  # has a description


def test_stages_default_is_said_as_it_is(tmp_path, pages, capsys, monkeypatch):
    """`--stages` help said "(default: all)" and README's config `stages = []  # empty = all`,
    but the opt-in stages run only when named or configured. The stages a run would run: its
    config as `curate run` prepares it, the pipeline not run (every default stage over the pages
    cost ~4 CPU-s; that a run's manifest records these stages: the tuning-key test below)."""
    from curate.schema import OPT_IN_STAGES

    with pytest.raises(SystemExit):
        run_cli("run", "--help")
    text = " ".join(capsys.readouterr().out.split())
    stages_help = text.split("--stages STAGES")[-1].split(" --languages", 1)[0]
    readme_line = next(x for x in README.splitlines() if x.startswith("stages = []"))
    for said in (stages_help, readme_line):
        assert all(s in said for s in OPT_IN_STAGES), said
    prepared = []
    monkeypatch.setattr(cli, "cmd_run", lambda ns, beam_args: prepared.append(cli.prepare_run(ns)[0]) or 0)
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", tmp_path / "o", "--progress", "off") == 0
    assert prepared[0].run["stages"] == [s for s in STAGES if s not in OPT_IN_STAGES]


@pytest.mark.parametrize("stage, toml, sets, on", [
    ("linededup", "", ["linededup.bucket_shards=64"], False),  # docs/scale.md's tuning advice, given alone
    ("urldedup", "", ["urldedup.join_shards=8"], False),
    ("linededup", "[linededup]\nbucket_shards = 64\njoin_shards = 8\n", [], False),
    ("decontaminate", "[decontaminate]\nmax_ngrams = 1000\n", [], False),
    ("linededup", "", ["linededup.max_docs=50"], True),  # a setting of what it does: meant to run it
    ("linededup", "[linededup]\n", [], True),  # an empty section: README's way to turn it on
    ("linededup", "[linededup]\nbucket_shards = 64\nmax_docs = 50\n", [], True),
    ("linededup", '[run]\nstages = ["ingest", "linededup"]\n[linededup]\nbucket_shards = 64\n', [], True),
])
def test_a_tuning_key_alone_does_not_turn_an_opt_in_stage_on(tmp_path, stage, toml, sets, on):
    """A present section turns an opt-in stage on, so `--set linededup.bucket_shards=64` (how
    docs/scale.md tunes the shuffle, changing no output) ran line dedup on a config without it,
    changing the output. A section holding only such keys (config.NOT_CONTENT) turns nothing on."""
    path = tmp_path / "c.toml"
    path.write_text(toml)
    assert (stage in config.load(str(path), sets=sets).run["stages"]) == on


def test_a_tuning_key_for_an_opt_in_stage_that_is_off_is_said(tmp_path, pages, capsys):
    """On the command line, such a --set is one for a stage that does not run (an error, as for
    --stages leaving it out); in a config file, one line says the stage is off and why."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", out, "--progress", "off",
                   "--set", "linededup.bucket_shards=64") == 2
    err = capsys.readouterr().err
    assert "--set linededup.bucket_shards=64: the linededup stage is not among the stages run" in err and not out.exists(), err
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "{out}"\n[[inputs]]\nglob = "{pages}"\ndomain = "web"\n[linededup]\nbucket_shards = 64\n')
    assert run_cli("run", cfg, "--progress", "off", "--stages", "ingest,filter") == 0  # named stages: nothing to say
    assert "linededup" not in capsys.readouterr().err
    assert run_cli("run", cfg, "--progress", "off") == 0
    err = capsys.readouterr().err
    assert ("curate: note: linededup (opt-in) is off: its section holds only bucket_shards, which tunes it without turning it on; "
            "name it in run.stages or --stages to run it") in err, err
    assert "linededup" not in json.loads((out / "manifest.json").read_text())["config"]["run"]["stages"]


@pytest.mark.parametrize("toml, sets, said", [
    ("", [], ["stages: the default, every stage but the opt-in ones (urldedup, linededup, decontaminate), which run when "
              "named in run.stages or --stages, or when their section is given",
              "urldedup, linededup, decontaminate are off: no section given"]),
    ("[linededup]\n", [], ["linededup is on: its section is given", "urldedup, decontaminate are off: no section given"]),
    ("", ["linededup.max_docs=9"], ["linededup is on: its section is given"]),
    ("[urldedup]\nbucket_shards = 64\n", [], ["urldedup (opt-in) is off: its section holds only bucket_shards, which tunes it "
                                              "without turning it on; name it in run.stages or --stages to run it",
                                              "linededup, decontaminate are off: no section given"]),
    ('[run]\nstages = ["dedup"]\n[linededup]\n', [], ["stages: as run.stages names them (ingest always runs)"]),
    ("", ['run.stages=["langid"]'], ["stages: as run.stages names them (ingest always runs)"]),
])
def test_config_says_why_each_stage_runs_or_not(tmp_path, capsys, toml, sets, said):
    """`curate config my.toml` printed the stages a run would use, not why: an opt-in stage
    turned on by a section (or left off, a section holding only its shard counts) was a
    surprise found in the output. Comments under its first line say it; still loadable."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    assert run_cli("config", cfg, *[a for s in sets for a in ("--set", s)]) == 0
    text = capsys.readouterr().out
    comments = [line[2:] for line in text.split("\n\n", 1)[1].split("[run]")[0].splitlines()]
    assert all(x in comments for x in said), comments
    printed = tmp_path / "printed.toml"
    printed.write_text(text)
    assert config.load(str(printed)).run["stages"] == config.load(str(cfg), sets=sets).run["stages"]


@pytest.mark.parametrize("toml, stage, key, value", [
    ('[run]\nstages = ["ingest", "filter"]\n[dedup]\nthreshold = 0.9\n', "dedup", "threshold", 0.9),
    ('[run]\nstages = ["ingest"]\n[linededup]\nmax_docs = 7\n', "linededup", "max_docs", 7),
    ("[urldedup]\nbucket_shards = 64\n", "urldedup", "bucket_shards", 64),  # tunes it, does not turn it on
])
def test_printed_config_keeps_the_settings_of_a_stage_turned_off(tmp_path, capsys, toml, stage, key, value):
    """`curate config my.toml` dropped the section of a stage that does not run: a user who
    saved that output as their config, then turned the stage back on, lost its settings. They
    are printed (still off: the printed run.stages names the stages)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    assert run_cli("config", cfg) == 0
    printed = tmp_path / "printed.toml"
    printed.write_text(capsys.readouterr().out)
    again, first = config.load(str(printed)), config.load(str(cfg))
    assert stage not in again.run["stages"] and again.to_dict() == first.to_dict()
    on = [f"run.stages={json.dumps([*first.run['stages'], stage])}"]
    assert config.load(str(printed), sets=on).stages[stage][key] == value

def test_printed_config_round_trips(tmp_path, capsys):
    assert run_cli("config") == 0
    text = capsys.readouterr().out
    assert not re.search(r"^output\s*=", text, re.M)  # no made-up default for a required option
    path = tmp_path / "printed.toml"
    path.write_text(text)
    printed, defaults = config.load(str(path)), config.load()
    assert (printed.run, printed.limits, printed.stages) == (defaults.run, defaults.limits, defaults.stages)
    # and it runs as is, given what has no default
    out = tmp_path / "o"
    pages = tmp_path / "p.jsonl"
    pages.write_text(json.dumps({"text": PAGES["en"]}) + "\n")
    assert run_cli("run", path, "--input", pages, "--domain", "web", "--stages", "langid", "--output", out, "--progress", "off") == 0
    assert kept_languages(out) == {"en"}


def test_config_prints_the_filter_settings_of_a_language(tmp_path, capsys):
    """`curate config --language L [config.toml]`: the web rules' thresholds for documents labelled
    L, with where they come from (an auditor had to read filter_languages.json and the code)."""
    import tomllib

    def printed(*args):
        assert run_cli("config", "--language", *args) == 0
        text = capsys.readouterr().out
        return text, tomllib.loads(text)["filter"]

    text, ml = printed("ml")
    assert "in the script of most of the document's letters" in text and "the whole table's where none" in text and "gopher_stop_words is skipped" in text
    assert (ml["gopher_quality"]["min_words"], ml["gopher_quality"]["max_mean_word_length"]) == (33, 16.09)
    text, de = printed("de")
    assert "its own constants" in text and "stop words (gopher_stop_words): die der und" in text
    text, en = printed("en")
    assert "published" in text and en["gopher_quality"]["max_mean_word_length"] == 10.0 and en["fineweb"]["short_line_chars"] == 30
    assert "non-space language" in printed("zh")[0]
    (tmp_path / "c.toml").write_text("[filter.gopher_quality]\nmax_mean_word_length = 12.0\n")
    assert printed("ml", tmp_path / "c.toml")[1]["gopher_quality"]["max_mean_word_length"] == 12.0  # the user's value wins
    assert printed("ml", tmp_path / "c.toml", "--set", "filter.gopher_quality.max_mean_word_length=13.0")[1][
        "gopher_quality"]["max_mean_word_length"] == 13.0  # and a --set over it, as `curate run` reads them


@pytest.mark.parametrize("label", ["xx", "Latn", "qqq"])
def test_config_language_that_is_no_label_is_an_error(capsys, label):
    """`curate config --language xx`: no model labels documents xx, yet it printed English values
    as xx's, exit 0. Now the one-line error of any bad option; a label in another form (eng,
    amh_Ethi, zh-CN, german), another model's label with a script (shn_Mymr) or und (no label)
    still prints."""
    assert run_cli("config", "--language", label) == 2
    err = capsys.readouterr().err
    assert err == (f"curate: --language {label}: not a label of langid's model 'lid.176.ftz', a language of the filter's "
                   "tables or a label with a script (shn_Mymr); e.g. en, de, amh_Ethi\n"), err
    for ok in ("eng", "amh_Ethi", "zh-CN", "german", "und", "ceb", "shn_Mymr"):
        assert run_cli("config", "--language", ok) == 0, ok
    capsys.readouterr()


# Alternatives the README's config example documents in its comments ("# or ..."), each loaded.
DOCUMENTED = [
    ("run", 'progress = "on"'), ("run", 'progress = "off"'), ("run", 'shuffle_compression = "zstd"'),
    ("run", 'shuffle_compression = "lz4"'), ("run", 'stages = ["ingest", "dedup"]'),
    ("run", "spill = true"), ("run", "spill = false"), ("run", "workers = 1"),
    ("dedup", "threshold = 0.8"), ("dedup", "verify = 0"), ("dedup", "verify_bits = 8"), ("dedup", "verify_bits = 32"),
    ("dedup", 'methods = ["exact"]'),
    ("quality.web", "keep = {threshold = 0.5}"), ("quality.web", "keep = {}"), ("quality.web", "keep = {top_fraction = 0.3}"),
    ("rebalance", "targets = {}"), ("rebalance", "budget = 1000000"),
    ("rebalance", 'languages = {web = {en = 0.7, "*" = 0.3}}'), ("rebalance", 'languages = {code = {python = 0.6, "*" = 0.4}}'),
    ("tokenize", "packed = true"),
    ("filter", 'disable = ["gopher_stop_words"]'),
]


@pytest.mark.parametrize("section, line", DOCUMENTED)
def test_documented_alternatives_load(tmp_path, section, line):
    assert line.split(" = ")[0] in README  # still documented
    path = tmp_path / "c.toml"
    path.write_text(f"[{section}]\n{line}\n")
    cfg = config.load(str(path))
    key, value = line.split(" = ", 1)
    table = cfg.run if section == "run" else cfg.stages[section.split(".")[0]]
    table = table[section.split(".")[1]] if "." in section else table
    assert table[key] == tomllib.loads(line)[key]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("domain", list(DOMAINS))
def test_every_format_and_domain_through_the_cli_options(fmt, domain):
    ap, _ = cli._parser()
    ns, rest = ap.parse_known_args(["run", "--input", "x", "--domain", domain, "--format", fmt, "--output", "o"])
    assert rest == []
    if fmt == "source" and domain != "code":  # a tree of programs is code's alone (review97)
        with pytest.raises(config.ConfigError, match="'source' reads a tree of source code, for --domain code"):
            config.load(None, cli._overrides(ns), for_run=True)
        return
    cfg = config.load(None, cli._overrides(ns), for_run=True)
    assert (cfg.inputs[0]["format"], cfg.inputs[0]["domain"]) == (fmt, domain)


def test_progress_from_beam_counters_alone(tmp_path, pages, capsys, monkeypatch):
    """As with workers on other machines: no tally files reach the launcher, only the runner's
    Beam counters (the DirectRunner reports them when the run ends)."""
    from collections import Counter

    from pipelines import progress

    monkeypatch.setattr(progress, "read_totals", lambda folder: Counter())
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "langid,filter", "--languages", "en,de",
                   "--output", out, "--progress", "on") == 0
    err = capsys.readouterr().err
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    last = progress_lines(err)
    assert list(last) == ["ingest", "langid", "filter"], err
    for stage, got in last.items():
        c = counts[stage]
        assert got == (c["docs_in"], c["docs_out"], sum(c["removed"].values()) + c.get("quarantined", 0)), err
    assert last["langid"] == (3, 2, 1)


def test_progress_lines_keep_their_columns_with_decontaminate(monkeypatch):
    """`decontaminate` is longer than the 9 characters the stage name was padded to: its counts
    stood 4 columns right of every other stage's (`decontaminate 105 in` under `dedup     105 in`)."""
    import io
    from collections import Counter

    from pipelines import progress

    counts = Counter({"ingest.docs_out": 10, "ingest.files": 1, "decontaminate.docs_out": 9, "decontaminate.removed": 1,
                      "dedup.docs_out": 9})
    monkeypatch.setattr(progress, "read_totals", lambda folder: Counter(counts))
    out = io.StringIO()
    with progress.Reporter(["ingest", "decontaminate", "dedup"], total_files=1, every=3600, out=out):
        pass
    lines = [x for x in out.getvalue().splitlines() if not x.startswith("[curate] done")]
    starts = {len(x) - len(x.split(f" {s} ", 1)[1].lstrip()) for x, s in zip(lines, ["ingest", "decontaminate", "dedup"])}
    assert len(lines) == 3 and len(starts) == 1, lines


# --- paths as users name them ---------------------------------------------------------------


def test_input_path_with_brackets_is_read_as_named(tmp_path, pages, capsys):
    """A file or folder whose name holds glob characters ("run [2024]") is the path it names:
    it used to be matched as a character class and reported as matching no files."""
    folder = tmp_path / "crawl [2024]"
    folder.mkdir()
    (folder / "pages (copy).jsonl").write_bytes(pages.read_bytes())
    for i, named in enumerate((folder / "pages (copy).jsonl", folder)):
        out = tmp_path / f"o{i}"
        assert run_cli("run", "--input", named, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
        text = pq.read_table(out / "text", columns=["source", "path"])
        assert text.num_rows == len(PAGES)
        assert set(text.column("path").to_pylist()) == {"pages (copy).jsonl"}
        assert set(text.column("source").to_pylist()) == {"crawl [2024]"}


def test_escaped_glob_reads_from_the_folder_it_names(tmp_path, pages, capsys):
    """`--input 'data[[]2024]/*.jsonl'` (glob.escape's form of "data[2024]"): the input root
    used to be "." (the escape taken for a wildcard), so paths and ids held the folder's name
    and the source was the current folder's. Now as for a folder named without brackets (run
    once, its ids the same whichever glob reads its file: *.jsonl or **/*.jsonl)."""
    import glob as _glob

    def run(name, tail, source) -> list[str]:
        out = tmp_path / "o"
        pattern = f"{_glob.escape(str(tmp_path / name))}/{tail}"
        assert run_cli("run", "--input", pattern, "--domain", "web", *source, "--stages", "ingest", "--output", out,
                       "--progress", "off") == 0, capsys.readouterr().err
        text = pq.read_table(out / "text", columns=["id", "source", "path"])
        assert set(text.column("path").to_pylist()) == {"p.jsonl"}, (name, tail)
        assert set(text.column("source").to_pylist()) == {"s" if source else name}, (name, tail)
        return sorted(text.column("id").to_pylist())

    for name in ("data[2024]", "data2024"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.jsonl").write_bytes(pages.read_bytes())
    run("data2024", "*.jsonl", [])
    plain = run("data2024", "*.jsonl", ["--source", "s"])
    for tail in ("*.jsonl", "**/*.jsonl"):
        run("data[2024]", tail, [])
        assert run("data[2024]", tail, ["--source", "s"]) == plain, tail


def test_audit_of_an_output_with_brackets_in_its_path(tmp_path, pages, capsys):
    """`curate audit 'runs/out [2]'` and `--corpus 'dumps [1]/x.jsonl'` read the paths as named;
    the audit used to fail with polars' "expanded paths were empty"."""
    from curate.audit import command

    out = tmp_path / "out [2]"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "dedup", "--output", out, "--progress", "off") == 0
    assert command.main([str(out)]) == 0, capsys.readouterr().err
    summary = json.loads((out / "stats" / "summary.json").read_text())
    assert summary["documents"]["total"] == len(PAGES)
    assert all(c["ok"] for c in summary["checks"]), summary["checks"]
    dumps = tmp_path / "dumps [1]"
    dumps.mkdir()
    (dumps / "x.jsonl").write_bytes(pages.read_bytes())
    for corpus in (dumps / "x.jsonl", dumps, out / "text"):
        assert command.main(["--corpus", str(corpus), "--output", str(tmp_path / "audit")]) == 0, capsys.readouterr().err
        assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["documents"]["total"] == len(PAGES)


def test_audit_of_an_ingest_only_run(tmp_path, pages, capsys, ingested):
    """`curate run --stages ingest` then `curate audit`: the audit used to crash with an
    IndexError in the per-language keep-rate card (no stage after ingest to show)."""
    from curate.audit import command

    out = tmp_path / "o"
    ingested(out)
    assert command.main([str(out)]) == 0, capsys.readouterr().err
    summary = json.loads((out / "stats" / "summary.json").read_text())
    assert [e["stage"] for e in summary["funnel"]] == ["ingest"]
    assert summary["documents"]["total"] == len(PAGES) and summary["language_keep"] == {}
    assert "Keep rate per language" not in (out / "report.html").read_text()


def test_output_inside_the_input_folder_is_not_read_back(tmp_path, pages, capsys):
    """`--input data/ --output data/out`, run twice: the second run used to read the first
    one's text, ledger, quarantine and manifest files as inputs (duplicated documents, a
    quarantine row per Parquet row it could not read as a document)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "pages.jsonl").write_bytes(pages.read_bytes())
    out = data / "out"
    for _ in range(2):
        assert run_cli("run", "--input", data, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
        manifest = json.loads((out / "manifest.json").read_text())
        assert [f["path"] for f in manifest["inputs"]] == ["pages.jsonl"]
        assert manifest["counts"]["ingest"] == {**manifest["counts"]["ingest"], "docs_in": len(PAGES), "docs_out": len(PAGES), "quarantined": 0}
        assert pq.read_table(out / "text").num_rows == len(PAGES)
    # a glob that matches nothing but the output's own files is said to match no input
    assert run_cli("run", "--input", out / "text", "--domain", "web", "--output", out, "--progress", "off") == 2
    assert "matches only files inside the output directory" in capsys.readouterr().err



@pytest.mark.parametrize("through", ["input", "output"])
def test_output_inside_the_input_folder_through_a_link_is_not_read_back(tmp_path, pages, capsys, through):
    """The same folders by other names: the input through a link to its folder (`--input
    latest/` with `latest -> data`), or the output through a link into the input folder. Only
    the names as given were compared: the rerun read the output's own shards back as inputs
    (its ledger refused: "out/ledger/part-00000-of-00004.parquet has no text column")."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "pages.jsonl").write_bytes(pages.read_bytes())
    (tmp_path / "latest").symlink_to(data)
    (data / "out").mkdir()  # a link to a folder yet to be made is refused (tested elsewhere)
    (tmp_path / "outlink").symlink_to(data / "out", target_is_directory=True)
    given_in, given_out = (tmp_path / "latest", data / "out") if through == "input" else (data, tmp_path / "outlink")
    for _ in range(2):
        assert run_cli("run", "--input", given_in, "--domain", "web", "--stages", "ingest", "--output", given_out, "--progress", "off") == 0, capsys.readouterr().err
        manifest = json.loads((data / "out" / "manifest.json").read_text())
        assert [f["path"] for f in manifest["inputs"]] == ["pages.jsonl"]
        assert pq.read_table(data / "out" / "text").num_rows == len(PAGES)


def test_an_earlier_output_inside_the_input_folder_is_said_not_read(tmp_path, pages, capsys, monkeypatch):
    """`curate run --input dd --output dd/o2` after a run into dd/o1 read o1's files as documents and
    stopped at "o1/ledger/part-...parquet has no text column ... give --text-field". An earlier
    output (curate's manifest, by its format) inside an input is named, with a glob that leaves it
    out; one given as the input is pointed to its text; another tool's manifest.json is input."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dd").mkdir()
    pages.rename(tmp_path / "dd" / "pages.jsonl")
    (tmp_path / "dd" / "o1" / "ledger").mkdir(parents=True)
    (tmp_path / "dd" / "o1" / "manifest.json").write_text(json.dumps({"format": "curate/1"}))
    pq.write_table(pa.table({"id": ["a"], "rule": ["min_words"]}), tmp_path / "dd" / "o1" / "ledger" / "part-00000.parquet")
    for given, said in [("dd", "'dd': it holds the curate output 'dd/o1' (it has manifest.json), whose files are no input: "
                               "leave it out with a glob, --input 'dd/*.jsonl', or move it"),
                        ("dd/o1", "'dd/o1': it is the curate output 'dd/o1' (it has manifest.json), whose ledger and stats "
                                  "are no input: give its text, --input dd/o1/text, to re-curate it")]:
        assert run_cli("run", "--input", given, "--domain", "web", "--output", "dd/o2", "--progress", "off") == 2
        assert capsys.readouterr().err == f"curate: config error: inputs[0]: {said}\n"
    assert not (tmp_path / "dd" / "o2").exists()
    (tmp_path / "dd" / "o1" / "manifest.json").write_text(json.dumps({"name": "a browser extension's"}))
    assert cli.earlier_output([(str(tmp_path / "dd" / "o1" / "manifest.json"), "o1/manifest.json")], "dd") is None


def test_output_that_cannot_be_created_is_one_line(tmp_path, pages, capsys):
    """An --output under a file (or on a read-only or missing mount) used to end in a pyarrow
    traceback; now one line naming the output and what to do."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", blocker / "out", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"curate: output '{blocker / 'out'}' cannot be created") and "choose another --output" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_a_run_that_keeps_no_document_says_so_in_its_tokens_line(tmp_path, pages, capsys):
    """Every page removed by the filter: the run printed `tokens: 0 cl100k_base tokens () in
    4 files`, an empty mix in parentheses."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest,filter,tokenize", "--output", out,
                   "--progress", "off") == 0
    printed = capsys.readouterr().out
    assert pq.read_table(out / "text").num_rows == 0, printed  # the pages are too short for the filter
    assert f"tokens: 0 cl100k_base tokens (no document was kept) in 4 files under {out}/tokens" in printed, printed


def test_audit_of_a_read_only_output_is_one_line(tmp_path, pages, capsys, monkeypatch, ingested):
    """`curate audit DIR` of an output on a read-only mount (a published corpus) ended in a
    pyarrow traceback from writing stats/summary.json; now one line saying to give --output."""
    import errno

    from curate import output
    from curate.audit import command

    out = tmp_path / "o"
    ingested(out)
    capsys.readouterr()
    real = output.write_atomic

    def read_only(root, rel, data):  # as pyarrow says it on a read-only file system (DIR's staging folder too)
        if str(root) == str(out) or str(root).startswith(f"{out}/"):
            raise OSError(errno.EROFS, f"Failed to open local file '{root}/{rel}'. Detail: [errno 30] Read-only file system")
        return real(root, rel, data)

    monkeypatch.setattr(output, "write_atomic", read_only)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    # the audit done is not thrown away (it had to be run again with --output): ./curate-audit
    assert command.main([str(out)]) == 0
    o = capsys.readouterr()
    assert o.err.splitlines() == [f"curate audit: warning: cannot write the audit into {out} (Read-only file system): wrote it "
                                  "into curate-audit instead (--output FOLDER chooses where)"], o.err
    assert "report:  curate-audit/report.html" in o.out
    assert json.loads((tmp_path / "curate-audit" / "stats" / "summary.json").read_text())["source"] == str(out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # what it staged is gone
    (tmp_path / "curate-audit" / "report.html").write_text("a page of the user's")  # not ours to replace: the one line
    assert command.main([str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"curate audit: cannot write the audit into {out} (Read-only file system)"), err
    assert "--output" in err and len(err.strip().splitlines()) == 1, err
    assert command.main([str(out), "--output", str(tmp_path / "audit")]) == 0
    assert (tmp_path / "audit" / "report.html").exists()


def _read_only(monkeypatch, *outs) -> None:
    """Writes into the outputs ``outs`` fail as on a read-only mount (EROFS); others go through."""
    import errno

    from curate import output

    real = output.write_atomic

    def write_atomic(root, rel, data):
        if any(str(root) == str(o) or str(root).startswith(f"{o}/") for o in outs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(root, rel, data)

    monkeypatch.setattr(output, "write_atomic", write_atomic)


def test_audits_of_two_read_only_outputs_keep_each_report(tmp_path, pages, capsys, monkeypatch, ingested):
    """The audit of an output on a read-only mount goes into ./curate-audit: the audit of a
    second one from the same folder replaced the first one's there (reports of curate's, so not
    refused), a large output's audit lost unasked. It goes into curate-audit-2; each output's
    later audit replaces its own."""
    from curate.audit import command

    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        ingested(out)
    _read_only(monkeypatch, *outs)
    monkeypatch.chdir(tmp_path)
    source = lambda folder: json.loads((tmp_path / folder / "stats" / "summary.json").read_text())["source"]  # noqa: E731
    capsys.readouterr()
    for out, folder in [(outs[0], "curate-audit"), (outs[1], "curate-audit-2"), (outs[0], "curate-audit"), (outs[1], "curate-audit-2")]:
        assert command.main([str(out)]) == 0
        o = capsys.readouterr()
        assert o.err.splitlines() == [f"curate audit: warning: cannot write the audit into {out} (Read-only file system): "
                                      f"wrote it into {folder} instead (--output FOLDER chooses where)"], o.err
        assert f"report:  {folder}/report.html" in o.out
    assert source("curate-audit") == str(outs[0]) and source("curate-audit-2") == str(outs[1])
    assert not (tmp_path / "curate-audit-3").exists()


def test_a_corpus_audit_keeps_the_audit_of_a_read_only_output(tmp_path, pages, capsys, monkeypatch, ingested):
    """The audit of a read-only output goes into ./curate-audit (its DIR cannot take it), kept
    from the audit of another output there (curate-audit-2); `curate audit --corpus` without
    --output, run in the same folder, still wrote ./curate-audit whatever it held: the output's
    audit lost unasked. It goes into curate-audit-2 and says so; a later audit of the same
    corpus replaces its own."""
    from curate.audit import command

    out = tmp_path / "a"
    ingested(out)
    _read_only(monkeypatch, out)
    monkeypatch.chdir(tmp_path)
    source = lambda folder: json.loads((tmp_path / folder / "stats" / "summary.json").read_text())["source"]  # noqa: E731
    assert command.main([str(out)]) == 0
    capsys.readouterr()
    corpus = str(pages)
    for _ in range(2):
        assert command.main(["--corpus", corpus]) == 0
        o = capsys.readouterr()
        assert o.err.splitlines() == ["curate audit: warning: curate-audit holds the audit of another output or corpus "
                                      "(or one being written): wrote this one into curate-audit-2 instead (--output FOLDER chooses where)"], o.err
        assert "report:  curate-audit-2/report.html" in o.out
    assert source("curate-audit") == str(out) and source("curate-audit-2") == corpus
    assert not (tmp_path / "curate-audit-3").exists()


def test_an_audit_refused_inside_an_output_leaves_no_folder_there(tmp_path, pages, capsys, monkeypatch, ingested):
    """`curate audit --corpus` (and a read-only output's audit, its DIR unwritable) run from
    inside a curate output is refused (its files would be foreign to that output); it made
    ./curate-audit there first, to claim it, and left it: an empty folder in the user's output
    that no manifest lists. Nothing is made now."""
    from curate.audit import command

    mine, other = tmp_path / "mine", tmp_path / "ro"
    for out in (mine, other):
        ingested(out)
    _read_only(monkeypatch, other)
    monkeypatch.chdir(mine)
    before = sorted(mine.rglob("*"))
    capsys.readouterr()
    for args, said in [(["--corpus", str(pages)], "curate audit: output 'curate-audit' is inside the curate output '.'"),
                       ([str(other)], f"curate audit: cannot write the audit into {other} (Read-only file system)")]:
        assert command.main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(said) and len(err.splitlines()) == 1, err
        assert sorted(mine.rglob("*")) == before


def test_a_symlink_into_an_output_is_inside_it(tmp_path, pages, capsys, monkeypatch, ingested):
    """A folder inside a curate output is refused as an audit's or a run's output (that output's
    manifest would not list the files), but one reached through a symlink was not: the walk up
    looked for a manifest above the link's own path, not above where it leads. `curate audit
    --corpus` run where ./curate-audit links into an output wrote report.html and stats/ into
    it; `curate run --output LINK` wrote a whole output inside it. Both are refused now, naming it."""
    from curate.audit import command

    mine, elsewhere = tmp_path / "mine", tmp_path / "elsewhere"
    ingested(mine)
    (mine / "text" / "sub").mkdir()
    elsewhere.mkdir()
    (elsewhere / "curate-audit").symlink_to(mine / "text")
    (elsewhere / "into").symlink_to(mine / "text" / "sub")
    monkeypatch.chdir(elsewhere)
    before = sorted(mine.rglob("*"))
    capsys.readouterr()
    for make, said in [(lambda: command.main(["--corpus", str(pages)]), "curate audit: output 'curate-audit' is inside the curate output '../mine'"),
                       (lambda: command.main(["--corpus", str(pages), "--output", "into"]), "curate audit: output 'into' is inside the curate output '../mine'"),
                       (lambda: run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", "into", "--progress", "off"),
                        "curate: output 'into' is inside the curate output '../mine'")]:
        assert make() == 2
        err = capsys.readouterr().err
        assert err.startswith(said) and len(err.splitlines()) == 1, err
        assert sorted(mine.rglob("*")) == before


def test_an_output_written_beside_a_symlink_into_an_output_is_not_inside_it(tmp_path, pages, monkeypatch, ingested):
    """curate writes --output's path as written, made absolute (``into/../new`` is ./new); the
    walk up from where a symlink leads resolved ``into`` first, so a --output ``into/../new``
    beside a link into an output was refused as inside that output, where the run writes none
    of it. Where the files land is the absolute path resolved: ./new, a run of its own."""
    mine, elsewhere = tmp_path / "mine", tmp_path / "elsewhere"
    ingested(mine)
    (mine / "text" / "sub").mkdir()
    elsewhere.mkdir()
    (elsewhere / "into").symlink_to(mine / "text" / "sub")
    monkeypatch.chdir(elsewhere)
    before = sorted(mine.rglob("*"))
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", "into/../new", "--progress", "off") == 0
    assert (elsewhere / "new" / "manifest.json").is_file() and sorted(mine.rglob("*")) == before


def _audit_into_the_folder_chosen(summary: dict, ready, chosen, done) -> None:
    """In a process of its own: choose where the audit of ``summary`` goes, wait until the
    other process has chosen too (the gap between choosing and writing), then write it."""
    from curate.audit import command

    folder = command._instead(summary["source"])
    ready.wait(60)
    command.write(summary, folder)
    chosen.put(folder)
    done.wait(60)


def test_two_audits_at_once_take_two_folders(tmp_path, pages, monkeypatch):
    """Two audits of different outputs (read-only ones, or --corpus) at the same moment, each
    without --output: each checked that ./curate-audit was free and both chose it, the second
    writing over the first. Now a folder is claimed by creating it: two processes, both choosing
    before either writes, take curate-audit and curate-audit-2, each holding its own audit."""
    import multiprocessing

    from curate.audit.scan import audit_corpus

    monkeypatch.chdir(tmp_path)
    summary = audit_corpus([str(pages)], 0, 5)
    ctx = multiprocessing.get_context("fork")
    ready, done, chosen = ctx.Barrier(2), ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_audit_into_the_folder_chosen, args=({**summary, "source": f"corpus-{i}"}, ready, chosen, done))
             for i in range(2)]
    for p in procs:
        p.start()
    folders = sorted(chosen.get(timeout=60) for _ in procs)
    done.wait(60)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert folders == ["curate-audit", "curate-audit-2"]
    held = sorted(json.loads((tmp_path / f / "stats" / "summary.json").read_text())["source"] for f in folders)
    assert held == ["corpus-0", "corpus-1"]
    assert not (tmp_path / "curate-audit-3").exists()


def test_an_audit_written_before_the_tokens_rename_is_replaced_as_ours(tmp_path, pages, capsys, monkeypatch):
    """summary.json's format is curate-audit/2 since tokens.total became tokens.unique: the
    audit of a corpus replaces its own earlier (curate-audit/1) audit in ./curate-audit, as it
    did, not taking it for someone else's and going on to curate-audit-2."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "curate-audit" / "stats").mkdir(parents=True)
    (tmp_path / "curate-audit" / "stats" / "summary.json").write_text(json.dumps({"format": "curate-audit/1", "source": str(pages)}))
    (tmp_path / "curate-audit" / "report.html").write_text("<p>Generated by curate audit</p>")
    assert command.main(["--corpus", str(pages)]) == 0
    assert capsys.readouterr().err == ""
    summary = json.loads((tmp_path / "curate-audit" / "stats" / "summary.json").read_text())
    assert summary["format"] == "curate-audit/2" and not (tmp_path / "curate-audit-2").exists()


def test_an_empty_curate_audit_made_by_hand_takes_the_audit(tmp_path, pages, capsys, monkeypatch):
    """A user who made ./curate-audit to hold the report (empty, or with a notes file of
    theirs) got it in curate-audit-2 with a warning that curate-audit "holds the audit of another
    output or corpus": the claim was the folder's creation, so any existing folder was taken for
    another audit's. The claim is now its stats/ folder: this audit goes into curate-audit, the
    notes stay; a second audit of another corpus, meeting this one's, goes on to -2."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "curate-audit").mkdir()
    (tmp_path / "curate-audit" / "notes.txt").write_text("mine")
    assert command.main(["--corpus", str(pages)]) == 0
    assert capsys.readouterr().err == ""
    assert json.loads((tmp_path / "curate-audit" / "stats" / "summary.json").read_text())["source"] == str(pages)
    assert (tmp_path / "curate-audit" / "notes.txt").read_text() == "mine" and not (tmp_path / "curate-audit-2").exists()
    other = tmp_path / "other.jsonl"
    other.write_bytes(pages.read_bytes())
    assert command.main(["--corpus", str(other)]) == 0
    assert "curate-audit-2" in capsys.readouterr().err
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(other)


_SLOW_AUDIT = """
import sys, time
from curate.audit import report
render = report.render
report.render = lambda s: (time.sleep(60), render(s))[1]  # the claim held while a large report renders
from curate.audit.command import main
sys.exit(main(sys.argv[1:]))
"""


def test_an_audit_killed_holding_its_folder_leaves_it_to_the_next(tmp_path, pages, capsys, monkeypatch):
    """`curate audit --corpus` killed (kill -9, an OOM kill) after claiming ./curate-audit, before
    writing its report, left curate-audit/stats/ empty: every later audit took it for another's
    claim and wrote into curate-audit-2 with a warning, for good. The claim is now a lock the
    kernel drops when its process dies, however it dies: the next audit takes the folder, no
    warning; one that is alive is still passed over."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "curate-audit"
    slow = subprocess.Popen([sys.executable, "-c", _SLOW_AUDIT, "--corpus", str(pages)], cwd=tmp_path, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):  # the claim made, the report rendering
            if (folder / "stats").exists() or slow.poll() is not None:
                break
            time.sleep(0.1)
        assert slow.poll() is None, slow.stderr.read()
        other = tmp_path / "other.jsonl"
        other.write_bytes(pages.read_bytes())
        assert command.main(["--corpus", str(other)]) == 0  # while it lives: passed over
        assert "wrote this one into curate-audit-2" in capsys.readouterr().err
    finally:
        slow.kill()
        slow.wait()
    assert not (folder / "stats" / "summary.json").exists()
    assert command.main(["--corpus", str(pages)]) == 0
    o = capsys.readouterr()
    assert o.err == "" and "report:  curate-audit/report.html" in o.out, o
    assert json.loads((folder / "stats" / "summary.json").read_text())["source"] == str(pages)
    assert sorted(p.name for p in (folder / "stats").iterdir()) == ["summary.json"]  # the claim is not left in it
    assert not (tmp_path / "curate-audit-3").exists()


_KILLED_WRITING = """
import sys, time
from curate import output
rename = output.rename
output.rename = lambda fs, a, b: (time.sleep(60) if b.endswith("report.html") else None, rename(fs, a, b))[1]
from curate.audit.command import main
sys.exit(main(sys.argv[1:]))
"""


def test_an_audit_leaves_another_hosts_temporary_file(tmp_path, pages, capsys):
    """The leftovers of an audit killed while writing (output.write_atomic's .tmp-NAME-PID)
    were judged by the pid on this machine alone: in a folder on a shared disk (NFS) another
    host's live writer's temporary file, its pid no process here, was removed under it. The
    name holds the writer's host (.tmp-NAME-PID@HOST); only this host's are judged (a dead
    writer's removed), another host's left, said in one line. An older curate's with no host
    (``.tmp-NAME-PID``) was judged by its pid here, as this host's, and removed, yet any machine
    or container on the shared disk may have written it: left, said with the ``rm`` that removes
    it (no host to give ``--remove-tmp-of``; no curate since writes such a name).
    An older curate's ``@HOST`` of this host's name (no pid namespace) was judged by its pid here
    and removed, yet another container of this host's name (docker's --network host) or a host
    of the same name on the shared disk (``localhost``) may have written it, live: left, said with
    the --remove-tmp-of HOST that removes it, as another host's."""
    import socket

    from curate.audit import command

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is no process now
    from urllib.parse import quote

    host = quote(socket.gethostname(), safe="")
    out = tmp_path / "audit"
    (out / "stats").mkdir(parents=True)
    names = [f".tmp-summary.json-{dead.pid}@{host}", f".tmp-summary.json-{dead.pid}", f".tmp-summary.json-{dead.pid}-0badf00d@other-node7",
             f".tmp-summary.json-{dead.pid}-0123abcd@{host}"]  # an older curate's names (random bits after the pid, no namespace)
    for name in names:
        (out / "stats" / name).write_text("{")
    assert command.main(["--corpus", str(pages), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in (out / "stats").iterdir()) == sorted(names + ["summary.json"])
    assert err.count("\n") == 4 and f"{names[2]}" in err and "other-node7" in err and "left" in err, err
    assert f"{names[0]}: a temporary file of an older curate" in err and f"--remove-tmp-of {host} " in err, err
    assert f"once no older curate on {host} writes here)" in err and "curate on older" not in err, err  # it said 'no curate on older curate on HOST'
    assert f"{names[3]}: a temporary file of an older curate" in err, err
    # no host in its name: it may be another machine's or container's, live; no host to name, rm said
    hostless = out / "stats" / names[1]
    assert f"{hostless}: a temporary file of an older curate (process {dead.pid}; its name holds no host" in err, err
    assert f"(rm -- {hostless})" in err, err
    assert command.main(["--corpus", str(pages), "--output", str(out), "--remove-tmp-of", socket.gethostname()]) == 0
    assert sorted(p.name for p in (out / "stats").iterdir()) == [names[1], names[2], "summary.json"], capsys.readouterr().err


def test_another_hosts_temporary_file_is_removed_when_the_user_says_its_writer_is_gone(tmp_path, pages, capsys):
    """Another host's temporary file (a folder on a shared disk) was left and warned about on
    every audit, forever: a renamed or retired host's never goes. The warning names the file and
    the option that removes it, ``--remove-tmp-of HOST``, given once the user knows no curate on
    HOST writes there; only that host's are removed (another's still left, said)."""
    from curate.audit import command

    out = tmp_path / "audit"
    (out / "stats").mkdir(parents=True)
    names = [".tmp-summary.json-7-0badf00d@old-node", ".tmp-summary.json-8-0123abcd@live-node"]
    for name in names:
        (out / "stats" / name).write_text("{")
    assert command.main(["--corpus", str(pages), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "--remove-tmp-of old-node" in err and names[0] in err, err
    assert command.main(["--corpus", str(pages), "--output", str(out), "--remove-tmp-of", "old-node"]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in (out / "stats").iterdir()) == [names[1], "summary.json"]
    assert err.count("\n") == 2 and f"removed {out / 'stats' / names[0]}" in err and "live-node" in err, err


def test_remove_tmp_of_a_host_removes_its_files_of_every_pid_namespace_never_this_hosts(tmp_path, pages, capsys):
    """A temporary name holds its writer's host and pid namespace (``@HOST+NS``, every Linux
    curate's): ``--remove-tmp-of old-node``, the host as the README says, removed none of
    old-node's such files (only ``--remove-tmp-of old-node+4026531836`` did) and the warning
    called ``old-node+4026531836`` a host. HOST names the host's files of every namespace; this
    host's own name none (an audit of it runs here): another container's of this host's name
    goes by its ``HOST+NS`` alone, as its warning says; a host typed as named (``nodé-1+NS``) too."""
    import socket

    from curate import output
    from curate.audit import command

    out = tmp_path / "audit"
    (out / "stats").mkdir(parents=True)
    me = output.host()
    names = [".tmp-summary.json-7-0badf00d@old-node+4026531836", ".tmp-summary.json-8-0badf00d@old-node",
             f".tmp-summary.json-9-0badf00d@{me}+4026539999", ".tmp-summary.json-6-0badf00d@nod%C3%A9-1+4026531836"]
    for name in names:
        (out / "stats" / name).write_text("{")
    assert command.main(["--corpus", str(pages), "--output", str(out), "--remove-tmp-of", "old-node",
                         "--remove-tmp-of", socket.gethostname()]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in (out / "stats").iterdir()) == sorted(names[2:] + ["summary.json"]), err
    assert f"--remove-tmp-of {me}+4026539999" in err and "host old-node+" not in err, err
    assert "--remove-tmp-of nod%C3%A9-1 " in err, err  # another host: its name, every namespace of it
    assert command.main(["--corpus", str(pages), "--output", str(out), "--remove-tmp-of", f"{me}+4026539999",
                         "--remove-tmp-of", "nodé-1+4026531836"]) == 0
    assert sorted(p.name for p in (out / "stats").iterdir()) == ["summary.json"], capsys.readouterr().err


def test_an_audit_tells_hosts_apart_whose_names_are_not_ascii(tmp_path, pages, capsys, monkeypatch):
    """A temporary file's host was its name with each character other than a letter, digit,
    ``.``, ``_`` or ``-`` made ``_``: hosts ``nodé-1`` and ``nodè-1`` (or ``node 1`` and
    ``node_1``) were one, and an audit on one removed the other's live writer's file (its pid no
    process here). The host is percent-encoded (one name a host); a name like a temporary
    copy's whose pid is a non-ASCII digit (``-²``; ``int`` refuses it) is left, not a traceback."""
    from curate import output
    from curate.audit import command

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is no process now
    out = tmp_path / "audit"
    (out / "stats").mkdir(parents=True)
    names = []
    for host in ("nod\u00e8-1", "node 1"):
        monkeypatch.setattr(socket, "gethostname", lambda host=host: host)
        names.append(output.tmp_name("summary.json").replace(f"-{os.getpid()}@", f"-{dead.pid}@"))
    names.append(".tmp-summary.json-\u00b2")
    for name in names:
        (out / "stats" / name).write_text("{")
    for here in ("nod\u00e9-1", "node_1"):
        monkeypatch.setattr(socket, "gethostname", lambda here=here: here)
        assert command.main(["--corpus", str(pages), "--output", str(out)]) == 0
        assert sorted(p.name for p in (out / "stats").iterdir()) == sorted(names + ["summary.json"])
    err = capsys.readouterr().err
    assert err.count("left: remove it once that writer is gone") == 4, err


def test_an_audit_killed_while_writing_leaves_its_folder_to_the_next(tmp_path, pages, capsys, monkeypatch):
    """`curate audit --corpus A` killed between writing stats/summary.json and report.html (each
    written under .tmp-NAME-PID, then renamed) left ./curate-audit half-written: A's summary, no
    report, its .tmp-report.html-PID and its claim. The audit of another corpus took it for A's
    and went to curate-audit-2 with a warning, that one and every later one: the folder was never
    reused nor its leftovers removed. Its claim left (its audit killed) and its report not
    written after its summary, the folder is taken over: replaced are only the files an audit
    writes (a file of the user's in it stays); a whole audit of A whose claim was left (killed
    after its last rename) is still passed over."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "curate-audit"
    (folder / "notes.txt").parent.mkdir()
    (folder / "notes.txt").write_text("mine")
    slow = subprocess.Popen([sys.executable, "-c", _KILLED_WRITING, "--corpus", str(pages)], cwd=tmp_path, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):  # its summary written, its report under its temporary name
            if list(folder.glob(".tmp-report.html-*")) or slow.poll() is not None:
                break
            time.sleep(0.1)
        assert slow.poll() is None, slow.stderr.read()
    finally:
        slow.kill()
        slow.wait()
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    from curate import output

    host = output.writer_place()  # the writer's host and pid namespace in its name (a shared disk, containers)
    assert re.fullmatch(rf"\.tmp-report\.html-{slow.pid}-[0-9a-f]{{8}}@{re.escape(host)}", left[0]), left
    assert left[1:] == ["notes.txt", "stats", "stats/.claim", "stats/summary.json"], left
    other = tmp_path / "other.jsonl"
    other.write_bytes(pages.read_bytes()[: len(pages.read_bytes()) // 2].rsplit(b"\n", 1)[0] + b"\n")
    assert command.main(["--corpus", str(other)]) == 0
    o = capsys.readouterr()
    assert o.err == "" and "report:  curate-audit/report.html" in o.out, o
    assert json.loads((folder / "stats" / "summary.json").read_text())["source"] == str(other)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == ["notes.txt", "report.html", "stats", "stats/summary.json"]
    assert (folder / "notes.txt").read_text() == "mine" and not (tmp_path / "curate-audit-2").exists()
    (folder / "stats" / ".claim").write_text("")  # a whole audit, its process killed before it let go of the folder
    assert command.main(["--corpus", str(pages)]) == 0
    assert "wrote this one into curate-audit-2" in capsys.readouterr().err
    assert json.loads((folder / "stats" / "summary.json").read_text())["source"] == str(other)


@pytest.mark.parametrize("mine", ["stats/summary.json", "report.html", "read-only"])
def test_a_folder_left_claimed_is_taken_over_only_where_the_audit_may_replace_it(tmp_path, pages, capsys, monkeypatch, mine):
    """./curate-audit whose stats/.claim an audit killed left, holding a file of the user's where
    an audit writes (a stats/summary.json or a report.html of theirs, no audit's), or not
    writable by this user: it was taken over as half-written (its report missing or older than
    its summary), and the audit refused ('stats/summary.json is not a report curate audit wrote',
    'cannot write the audit into curate-audit (Permission denied)'), exit 2; before, and for
    any folder not an audit's, it is passed over to curate-audit-2, the user's file kept."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    stats = tmp_path / "curate-audit" / "stats"
    stats.mkdir(parents=True)
    (stats / ".claim").write_text("")  # its audit killed before it let go
    theirs = stats / "summary.json" if mine == "stats/summary.json" else tmp_path / "curate-audit" / "report.html"
    if mine != "stats/summary.json":  # an audit's summary, newer than the report
        other = tmp_path / "other.jsonl"
        other.write_bytes(pages.read_bytes().split(b"\n", 1)[0] + b"\n")
        assert command.main(["--corpus", str(other), "--output", str(tmp_path / "first")]) == 0
        shutil.copy(tmp_path / "first" / "stats" / "summary.json", stats / "summary.json")
        os.utime(stats / "summary.json", (time.time() + 5,) * 2)
    if mine == "read-only":  # root writes anyway: the folder seen as this user sees one not theirs
        theirs.unlink(missing_ok=True)
        monkeypatch.setattr(os, "access", lambda p, mode, *a, real=os.access, **k: False if "curate-audit" in os.fspath(p) and mode & os.W_OK else real(p, mode, *a, **k))
    else:
        theirs.write_text('{"mine": 1}' if mine == "stats/summary.json" else "<p>my page</p>")
    capsys.readouterr()
    assert command.main(["--corpus", str(pages)]) == 0, capsys.readouterr().err
    assert "wrote this one into curate-audit-2" in capsys.readouterr().err
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(pages)
    if mine != "read-only":
        assert theirs.read_text() in ('{"mine": 1}', "<p>my page</p>")


def test_a_link_in_place_of_the_audits_claim_is_not_written_through(tmp_path, pages, capsys, monkeypatch):
    """./curate-audit/stats/.claim a symbolic link (to a file of the user's; in a shared folder,
    one another user can plant): the claim now holds its audit's process id, written through the
    link: the user's file was emptied and overwritten ('4242 host'). A link is no claim: the
    folder is passed over to curate-audit-2, the file as it was."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "curate-audit" / "stats").mkdir(parents=True)
    precious = tmp_path / "notes.txt"
    precious.write_text("my notes")
    os.symlink("../../notes.txt", tmp_path / "curate-audit" / "stats" / ".claim")
    assert command.main(["--corpus", str(pages)]) == 0, capsys.readouterr().err
    assert precious.read_text() == "my notes"
    assert "wrote this one into curate-audit-2" in capsys.readouterr().err
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(pages)
    assert os.path.islink(tmp_path / "curate-audit" / "stats" / ".claim")


@pytest.mark.parametrize("where", ["curate-audit", "curate-audit/stats"])
def test_a_file_named_as_the_audits_folder_is_passed_over(tmp_path, pages, capsys, monkeypatch, where):
    """A file of the user's named curate-audit (or curate-audit/stats) is not an audit's folder:
    the audit goes into curate-audit-2, the file left as it was."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text("mine")
    assert command.main(["--corpus", str(pages)]) == 0
    assert "wrote this one into curate-audit-2" in capsys.readouterr().err
    assert (tmp_path / where).read_text() == "mine"
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(pages)


def _another_users(monkeypatch, denied) -> str:
    """Files here seem another user's (this process's euid another), and ``denied(path)`` says
    which opens, folder makes and stats fail as theirs do (EACCES): what a shared folder holds of
    a colleague's. Returns the name the files' owner goes by."""
    import errno
    import pwd

    from curate import output

    def refuse(real):
        def call(path, *a, **k):
            if denied(os.fspath(path)):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return real(path, *a, **k)
        return call

    monkeypatch.setattr(os, "geteuid", lambda real=os.geteuid(): real + 1)
    monkeypatch.setattr(os, "open", refuse(os.open))
    monkeypatch.setattr(os, "makedirs", refuse(os.makedirs))
    monkeypatch.setattr(output, "file_type", refuse(output.file_type))
    return pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.parametrize("live", [True, False])
def test_a_curate_audit_folder_another_user_claimed_is_passed_over_naming_them(tmp_path, pages, capsys, monkeypatch, live):
    """A shared working folder where a colleague's `curate audit --corpus` claimed ./curate-audit
    (its stats/.claim theirs: not to be opened by this user, EACCES): the claim was taken for a
    read-only folder, and the audit written into their folder over their live audit's (where
    the folder was writable), or refused with "cannot write the audit into curate-audit
    (Permission denied)". It is passed over as a claim held is, the warning naming whose it is."""
    from curate import commit
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    claim = tmp_path / "curate-audit" / "stats" / ".claim"
    claim.parent.mkdir(parents=True)
    claim.write_text(f"{os.getpid()} {commit._hostname()}\n" if live else "")
    who = _another_users(monkeypatch, lambda p: p == os.path.join("curate-audit", "stats", ".claim"))
    assert command.main(["--corpus", str(pages)]) == 0
    held = (f"their audit (process {os.getpid()}) is writing it" if live else
            "claimed by their stats/.claim (their audit writing it, or one killed: theirs to remove)")
    assert capsys.readouterr().err == (f"curate audit: warning: curate-audit is user {who}'s{':' if live else ','} {held}: "
                                       "wrote this one into curate-audit-2 instead (--output FOLDER chooses where)\n")
    assert sorted(p.name for p in (tmp_path / "curate-audit").rglob("*")) == [".claim", "stats"]  # theirs, as it was
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(pages)


_HOLDS = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("pid", [True, False], ids=["this_version", "older_version"])
def test_another_users_live_audit_whose_claim_this_user_can_open_is_named(tmp_path, pages, capsys, monkeypatch, pid):
    """A colleague's live audit of ./curate-audit whose stats/.claim this user can open (made
    0o666 under umask 000, a group's shared folder): the claim's lock held, the folder was
    passed over with the generic warning ('holds the audit of another output or corpus (or one
    being written)'), not naming whose it is, as the claim this user cannot open is named. An
    older curate's claim holds no process id: their audit is named without one."""
    from curate import commit
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    claim = tmp_path / "curate-audit" / "stats" / ".claim"
    claim.parent.mkdir(parents=True)
    claim.write_text("")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDS, str(claim)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        if pid:
            claim.write_text(f"{holder.pid} {commit._hostname()}\n")
        who = _another_users(monkeypatch, lambda p: False)
        assert command.main(["--corpus", str(pages)]) == 0
    finally:
        holder.kill()
        holder.wait()
    process = f" (process {holder.pid})" if pid else ""
    assert capsys.readouterr().err == (f"curate audit: warning: curate-audit is user {who}'s: their audit{process} is writing it: "
                                       "wrote this one into curate-audit-2 instead (--output FOLDER chooses where)\n")
    assert sorted(p.name for p in (tmp_path / "curate-audit").rglob("*")) == [".claim", "stats"]  # theirs, as it was
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(pages)


def test_another_users_closed_folder_is_passed_over_or_said_in_one_line(tmp_path, pages, capsys, monkeypatch):
    """A colleague's ./curate-audit closed to others (umask 077): `curate audit --corpus` died
    with a PermissionError traceback (stat()ing curate-audit/manifest.json), as did one given it
    as --output. Without --output it is passed over, naming whose it is; given as --output, a
    one-line error says whose it is and what to do."""
    from curate.audit import command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "curate-audit").mkdir()
    who = _another_users(monkeypatch, lambda p: p.startswith(("curate-audit/", f"{tmp_path}/curate-audit/")))
    assert command.main(["--corpus", str(pages)]) == 0
    assert capsys.readouterr().err == (f"curate audit: warning: curate-audit is user {who}'s, not writable by this user: "
                                       "wrote this one into curate-audit-2 instead (--output FOLDER chooses where)\n")
    assert json.loads((tmp_path / "curate-audit-2" / "stats" / "summary.json").read_text())["source"] == str(pages)
    assert command.main(["--corpus", str(pages), "--output", "curate-audit"]) == 2
    assert capsys.readouterr().err == (f"curate audit: cannot write the audit into curate-audit (Permission denied; it is user {who}'s): "
                                       "give --output FOLDER for report.html and stats/summary.json\n")
    assert list((tmp_path / "curate-audit").iterdir()) == []


@pytest.mark.parametrize("extra", [1, 2])
def test_unquoted_glob_after_input_is_named(tmp_path, pages, capsys, extra):
    """`curate run --input books/*.txt --domain books ...` unquoted: the shell passes several
    paths. The second used to be read as the TOML config ("'utf-8' codec can't decode", or
    "not valid TOML"), a third was an "unexpected argument"; now one message says what
    happened and what to do, before anything runs."""
    files = []
    for i in range(1 + extra):
        files.append(tmp_path / f"p{i}.jsonl")
        files[-1].write_bytes(pages.read_bytes())
    out = tmp_path / "o"
    assert run_cli("run", "--input", *files, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "--input takes one path" in err and "--input '" in err and str(files[1]) in err, err
    assert not out.exists()
    # a compressed input where the config goes: said, not a codec error
    gz = tmp_path / "p.jsonl.gz"
    gz.write_bytes(__import__("gzip").compress(pages.read_bytes()))
    assert run_cli("run", gz, "--output", out) == 2
    assert f"{gz}: a jsonl file, not a TOML config" in capsys.readouterr().err
    if extra == 1:  # a config file after the input's options is still the config (one run: the same for both)
        cfg = tmp_path / "c.toml"
        cfg.write_text("[run]\nstages = [\"ingest\"]\n")
        assert run_cli("run", "--input", files[0], "--domain", "web", cfg, "--output", out, "--progress", "off") == 0


def test_shuffle_compression_leaves_the_tokens_manifest_alone(tmp_path, pages, capsys):
    """run.shuffle_compression changes how shuffles are stored, not the tokens: a rerun with
    "zstd" wrote the same token shards but another config_hash, so a training job's saved
    loader state was refused ("manifest_sha256 ... != ...") for an identical corpus."""
    from curate.loader import TokenLoader

    outs = []
    for comp in ("none", "zstd"):
        cfg = tmp_path / f"{comp}.toml"
        cfg.write_text(f'[run]\nshuffle_compression = "{comp}"\n')
        outs.append(tmp_path / comp)
        assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", "tokenize", "--shards", "1",
                       "--output", outs[-1], "--progress", "off") == 0, capsys.readouterr().err
    assert (outs[0] / "tokens.json").read_bytes() == (outs[1] / "tokens.json").read_bytes()
    state = TokenLoader(str(outs[0]), batch_size=1, seq_len=8).state_dict()
    TokenLoader(str(outs[1]), batch_size=1, seq_len=8).load_state_dict(state)


def test_demo_leaves_a_folder_of_other_files_alone(tmp_path, capsys):
    """`curate demo --output DIR` on a folder of one's own: it used to overwrite DIR/demo.toml,
    write into DIR/raw/ and run over whatever else was there (a user's raw/web/*.jsonl)."""
    from curate import demo

    mine = tmp_path / "project"
    (mine / "raw" / "web").mkdir(parents=True)
    (mine / "demo.toml").write_text("# my own notes\n")
    (mine / "raw" / "web" / "mine.jsonl").write_text('{"text": "mine"}\n')
    before = sorted((p.relative_to(mine), p.read_bytes()) for p in mine.rglob("*") if p.is_file())
    assert run_cli("demo", "--output", mine, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert f"curate: demo: {str(mine)!r} is not empty and is not an earlier demo's folder" in err and "choose another --output" in err, err
    assert sorted((p.relative_to(mine), p.read_bytes()) for p in mine.rglob("*") if p.is_file()) == before
    # an earlier demo's folder is written again
    again = tmp_path / "demo"
    demo.write_demo(str(again))
    demo.check_root(str(again))



@pytest.mark.parametrize("change", ["edited_config", "commented_config", "commented_path", "file_in_raw", "first_comment"])
def test_demo_leaves_an_earlier_demos_folder_alone_once_changed(tmp_path, capsys, change):
    """`curate demo --output DIR` again over an earlier demo's folder whose demo.toml the user
    had edited (to try settings) overwrote it with the demo's own, the edits lost (a comment
    added, the settings the same: overwritten until msgs88); a file of the user's put into
    DIR/raw/web/ was curated with the samples. Refused, nothing written."""
    from curate import demo

    root = tmp_path / "demo"
    demo.write_demo(str(root))
    if change == "edited_config":
        cfg = root / "demo.toml"
        cfg.write_text(cfg.read_text().replace("shards = 2", "shards = 3"))
        named = "demo.toml"
    elif change == "commented_config":
        cfg = root / "demo.toml"
        cfg.write_text(cfg.read_text().replace("shards = 2", "shards = 2  # 3 was slower here"))
        named = "demo.toml"
    elif change == "commented_path":  # on a path's line, whose spelling alone may differ (review93: overwritten)
        cfg = root / "demo.toml"
        cfg.write_text(re.sub(r"(?m)^(output = .*)$", r"\1  # where it goes", cfg.read_text(), count=1))
        named = "demo.toml"
    elif change == "first_comment":  # was 'not an earlier demo's folder': a demo folder the user changed all the same
        cfg = root / "demo.toml"
        cfg.write_text("# my settings\n" + cfg.read_text().split("\n", 1)[1])
        named = "demo.toml"
    else:
        (root / "raw" / "web" / "mine.jsonl").write_text('{"text": "mine"}\n')
        named = "raw/web/mine.jsonl"
    before = sorted((p.relative_to(root), p.read_bytes()) for p in root.rglob("*") if p.is_file())
    assert run_cli("demo", "--output", root, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert f"curate: demo: {str(root)!r} is an earlier demo's folder, changed since (" in err and named in err, err
    assert "choose another --output" in err, err
    assert sorted((p.relative_to(root), p.read_bytes()) for p in root.rglob("*") if p.is_file()) == before


def test_demo_reruns_over_an_untouched_demo_of_another_template(tmp_path, monkeypatch):
    """A demo.toml was told untouched only when it matched this version's template: a change of
    the template (a setting, its first line) would refuse every earlier demo's folder, untouched.
    Each demo.toml ends with the sha256 of its lines as written: one that holds is the demo's,
    whichever template wrote it; edited in any byte, still refused."""
    from curate import demo

    root = tmp_path / "demo"
    demo.write_demo(str(root))  # as this version writes it
    cfg = root / "demo.toml"
    written = cfg.read_text()
    monkeypatch.setattr(demo, "DEMO_TOML", demo.DEMO_TOML.replace("shards = 2", "shards = 3").replace("# Written by", "# Made by"))
    demo.write_demo(str(root))  # a later version, its template changed: written anew
    assert cfg.read_text().startswith("# Made by") and "shards = 3" in cfg.read_text() != written
    cfg.write_text(cfg.read_text().replace("shards = 3", "shards = 4"))
    with pytest.raises(ValueError, match=r"is an earlier demo's folder, changed since \(demo.toml"):
        demo.check_root(str(root))
    cfg.write_text(written)  # the earlier version's, untouched, under the later template
    demo.check_root(str(root))


@pytest.mark.parametrize("stamped", [True, False])
def test_a_copied_demo_folder_is_an_earlier_demos(tmp_path, stamped):
    """`cp -r demo1 demo2; curate demo --output demo2`: the copy's demo.toml names demo1's paths.
    Its stamp holds (content, not paths); one written before the stamp was compared with the
    demo.toml demo2 would get and refused as 'changed since (demo.toml ...)' though nobody had
    edited it. As a demo wrote it for the folder its paths name, it is a demo's; edited, refused."""
    import shutil

    from curate import demo

    first, copy = tmp_path / "demo1", tmp_path / "demo2"
    demo.write_demo(str(first))
    if not stamped:  # as a demo before the stamp wrote it
        (first / "demo.toml").write_text(demo._config(str(first)))
    shutil.copytree(first, copy)
    demo.check_root(str(copy))
    cfg = copy / "demo.toml"
    cfg.write_text(cfg.read_text().replace("shards = 2", "shards = 3"))
    with pytest.raises(ValueError, match=r"is an earlier demo's folder, changed since \(demo.toml"):
        demo.check_root(str(copy))


def test_running_a_copied_demos_config_says_whose_folder_it_names(tmp_path, capsys, monkeypatch):
    """`cp -r demo1 demo2; curate run demo2/demo.toml`: its paths are demo1's, taken from the
    current directory, so the run read demo1/raw and replaced demo1/out without a word; with
    demo1 moved away it said only that 'demo1/raw/web/*.warc.gz' matches no files. Either way
    the user is told whose folder it names and that `curate demo --output demo2` writes its own."""
    import shutil

    from curate import demo

    monkeypatch.chdir(tmp_path)
    demo.write_demo("demo1")
    shutil.copytree("demo1", "demo2")
    said = ("demo2/demo.toml is `curate demo`'s config for the folder demo1 (its paths are taken from the current directory, "
            f"{tmp_path}): `curate demo --output demo2` writes one for demo2")
    shutil.move("demo1", "elsewhere")
    assert run_cli("run", "demo2/demo.toml", "--progress", "off") == 2
    err = capsys.readouterr().err.splitlines()
    assert f"curate: config error: {said}" in err and len(err) == 5, err  # and the four inputs
    shutil.move("elsewhere", "demo1")

    def launched(*a, **k):  # what is said before the run is the point: the pipeline itself is not run
        raise ValueError("launched")
    import pipelines.pipeline
    monkeypatch.setattr(pipelines.pipeline, "run", launched)
    assert run_cli("run", "demo2/demo.toml", "--progress", "off") == 2
    assert capsys.readouterr().err.splitlines() == [f"curate: note: {said}; this run reads demo1's files", "curate: launched"]
    assert run_cli("run", "demo1/demo.toml", "--progress", "off") == 2
    assert capsys.readouterr().err.splitlines() == ["curate: launched"]


def test_a_demo_config_run_from_another_folder_is_told_the_folder_to_run_from(tmp_path, capsys, monkeypatch):
    """`cd r/dm; curate demo --output d1; cd /tmp; curate run r/dm/d1/demo.toml`: the demo was not
    copied, its paths (d1/...) are r/dm's, but it got the copied demo's note, whose `curate demo
    --output r/dm/d1` writes the demo again (over the user's output) with paths from /tmp. It is
    told the folder its paths are taken from: run curate there."""
    from curate import demo

    (tmp_path / "r" / "dm").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "r" / "dm")
    demo.write_demo("d1")
    monkeypatch.chdir(tmp_path)
    assert run_cli("run", "r/dm/d1/demo.toml", "--progress", "off") == 2
    err = capsys.readouterr().err.splitlines()
    said = (f"curate: config error: r/dm/d1/demo.toml is `curate demo`'s config for the folder d1, written from {tmp_path / 'r' / 'dm'} "
            f"(its paths are taken from the current directory, {tmp_path}): run curate from {tmp_path / 'r' / 'dm'}")
    assert said in err and not any("curate demo --output" in line for line in err), err


@pytest.mark.parametrize("edited", [False, True])
def test_demo_reruns_in_a_folder_the_first_demo_wrote(tmp_path, capsys, demo, edited):
    """The first curate demo wrote its minified file to raw/code/web/vendor/widget.min.js and its
    globs as plain strings; `curate demo` again in that folder was refused ('changed since
    (raw/code/web/vendor/widget.min.js ...)') though nobody had touched it. As it was written
    it is the demo's own: the rerun replaces it and gives a fresh demo's counts; edited, refused."""
    import shutil

    root = tmp_path / "d"
    shutil.copytree(demo[0] / "raw", root / "raw")  # this version's samples, moved to where the first put them
    vendor = root / "raw" / "code" / "web" / "vendor"
    vendor.mkdir()
    (root / "raw" / "code" / "web" / "widget.min.js").rename(vendor / "widget.min.js")
    raw = root / "raw"
    (root / "demo.toml").write_text(
        "# Written by `curate demo`: the whole pipeline over the generated sample shards.\n"
        f'[run]\noutput = {json.dumps(str(root / "out"))}\nshards = 2\n\n'
        f'[[inputs]]\nglob = "{raw}/web/*.warc.gz"\ndomain = "web"\nsource = "demo-crawl"\n\n'
        f'[[inputs]]\nglob = "{raw}/web/*.jsonl"\ndomain = "web"\nsource = "demo-blog"\n\n'
        f'[[inputs]]\nglob = "{raw}/code"\ndomain = "code"\nformat = "source"\nsource = "demo-code"\n\n'
        f'[[inputs]]\nglob = "{raw}/books/*.txt"\ndomain = "books"\nsource = "demo-books"\n')
    if edited:
        (vendor / "widget.min.js").write_text("var mine = 2;\n")
        assert run_cli("demo", "--output", root, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert "changed since (raw/code/web/vendor/widget.min.js would be" in err, err
        assert (vendor / "widget.min.js").read_text() == "var mine = 2;\n"
        return
    assert run_cli("demo", "--output", root, "--progress", "off") == 0, capsys.readouterr().err
    assert not vendor.exists()
    counts = [json.loads((r / "out" / "manifest.json").read_text())["counts"] for r in (root, demo[0])]
    assert counts[0] == counts[1]


def test_demo_into_a_folder_with_glob_characters_and_quotes(tmp_path, capsys, demo):
    """`curate demo --output 'd[1] "q"'`: the demo wrote its folder unescaped into its config's
    globs (d[1] read as a character class: no input matched) and unquoted into its TOML (a `"`
    broke it); its `next:` line broke on copy-paste. Now the same run as into any folder."""
    import shlex

    from curate.audit import command

    root = tmp_path / 'd[1] "q"'
    assert run_cli("demo", "--output", root, "--progress", "off") == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    nxt = next(x for x in out.splitlines() if x.startswith("next: "))
    args = shlex.split(nxt[len("next: "):].split("  (")[0])
    assert args == ["curate", "audit", str(root / "out")], nxt
    assert command.main(args[2:]) == 0, capsys.readouterr().err
    counts = [json.loads((r / "out" / "manifest.json").read_text())["counts"] for r in (root, demo[0])]
    assert counts[0] == counts[1]


def test_a_file_given_as_parquet_that_is_not_is_refused_at_launch(tmp_path, capsys):
    """A .txt given --format parquet was read by a worker and quarantined whole (read_error,
    pyarrow's 'Parquet magic bytes not found in footer'), after a full run: a run of nothing. It
    is refused at launch now, naming the file and what it looks like; one stray file among
    Parquet files is still quarantined (readers.not_parquet, tested there)."""
    path = tmp_path / "notes.txt"
    path.write_text("hello world, some notes of mine\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", path, "--domain", "web", "--format", "parquet", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err == ("curate: config error: inputs[0]: notes.txt is not a Parquet file (those start with the magic bytes PAR1; it starts "
                   "with b'hello wo' and looks like text): give --format text (format in [[inputs]]), or leave the format out\n"), err
    assert not out.exists()


def test_a_file_given_as_warc_that_is_not_is_refused_at_launch(tmp_path, capsys):
    """A .jsonl given --format warc was read and quarantined whole (not_a_warc), a run of nothing,
    where a .txt given as Parquet is refused at launch: refused at launch too, as Parquet's is."""
    path = tmp_path / "pages.jsonl"
    path.write_text('{"text": "A line of text long enough to be kept as a page."}\n')
    out = tmp_path / "o"
    assert run_cli("run", "--input", path, "--domain", "web", "--format", "warc", "--output", out, "--progress", "off") == 2
    assert capsys.readouterr().err == (
        "curate: config error: inputs[0]: pages.jsonl is not a WARC file (those start with a WARC/ header; it starts with "
        "b'{\"text\":' and looks like jsonl): give --format jsonl (format in [[inputs]]), or leave the format out\n")
    assert not out.exists()


def test_parquet_without_a_text_column_is_said_before_running(tmp_path, capsys):
    """A Parquet dump whose text column has another name: every row used to be quarantined as
    missing_text_field (one row each) after a full run; the columns are known before running."""
    import pyarrow as pa

    path = tmp_path / "dump.parquet"
    pq.write_table(pa.table({"doc_id": ["a", "b"], "body": [PAGES["en"], PAGES["de"]], "link": ["http://a", "http://b"]}), path)
    out = tmp_path / "o"
    assert run_cli("run", "--input", path, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "inputs[0]: dump.parquet has no text column (none of text, content, raw_content; its columns: doc_id, body, link)" in err, err
    assert "--text-field" in err and not out.exists()
    assert run_cli("run", "--input", path, "--domain", "web", "--text-field", "body", "--id-field", "doc_id",
                   "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == ["a", "b"]


def test_parquet_text_column_that_is_not_text_is_said_before_running(tmp_path, capsys):
    """A Hugging Face style dump whose `text` is a list of paragraphs, or a struct: every row
    was quarantined as text_not_string after a full run, 0 documents out; the schema says it."""
    import pyarrow as pa

    lists, nested = tmp_path / "lists" / "l.parquet", tmp_path / "nested" / "n.parquet"
    lists.parent.mkdir(), nested.parent.mkdir()
    pq.write_table(pa.table({"id": ["a"], "text": [[PAGES["en"]]]}), lists)
    pq.write_table(pa.table({"id": ["b"], "document": [{"lang": 1, "body": PAGES["de"]}]}), nested)
    out = tmp_path / "o"
    assert run_cli("run", "--input", lists, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "inputs[0]: l.parquet: its text column 'text' holds list<element: string>, not text; give --text-field" in err, err
    assert run_cli("run", "--input", nested, "--domain", "web", "--text-field", "document", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "its text column 'document' holds struct<lang: int64, body: string>, not text" in err and "e.g. document.body" in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    assert run_cli("run", "--input", nested, "--domain", "web", "--text-field", "document.body", "--stages", "ingest",
                   "--output", out, "--progress", "off") == 0
    assert pq.read_table(out / "text").column("source_id").to_pylist() == ["b"]


def test_an_input_glob_is_said_and_recorded_as_typed(tmp_path, pages, capsys, monkeypatch):
    """`--input ./nodata/` that matches nothing said `'nodata' matches no files`, the glob as tidied
    for the config hash, not as typed; the manifest held only the tidied one. Both say what was
    typed now (the manifest's config keeps the tidied glob: one config), with what it was read as
    where that differs by more than `.` parts and separators (a `..` gone)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.jsonl").write_bytes(pages.read_bytes())
    assert run_cli("run", "--input", "./nodata/", "--domain", "web", "--input", "data/../nodata/*.jsonl", "--domain", "web",
                   "--output", "out", "--progress", "off") == 2
    assert capsys.readouterr().err.splitlines() == [  # a path of no wildcard is missing, not a pattern unmatched (msgs90)
        f"curate: config error: inputs[{i}].glob: {said} (a relative path is taken from the current directory, {tmp_path})"
        for i, said in enumerate(["no file or folder './nodata/'", "'data/../nodata/*.jsonl' (read as 'nodata/*.jsonl') matches no files"])]
    assert run_cli("run", "--input", "./data/", "--domain", "web", "--output", "out", "--progress", "off", "--stages", "ingest") == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [i["glob"] for i in manifest["config"]["inputs"]] == ["data"] and manifest["input_globs"] == ["./data/"]


def test_relative_glob_that_matches_nothing_says_where_it_looked(tmp_path, pages, capsys, monkeypatch):
    """`curate run ../proj/my.toml` with `glob = "data/*.jsonl"` in it: "matches no files" did
    not say that relative globs are taken from the current directory, not the config's."""
    proj = tmp_path / "proj"
    (proj / "data").mkdir(parents=True)
    (proj / "data" / "p.jsonl").write_bytes(pages.read_bytes())
    cfg = proj / "my.toml"
    cfg.write_text('[run]\noutput = "out"\n[[inputs]]\nglob = "data/*.jsonl"\ndomain = "web"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli("run", "../proj/my.toml", "--progress", "off") == 2
    err = capsys.readouterr().err
    # and that the config's own folder is where they would match, and what to do (a team's shared config)
    assert err.strip() == (
        f"curate: config error: inputs[0].glob: 'data/*.jsonl' matches no files (a relative path is taken from the current "
        f"directory, {elsewhere}, not from the config's folder, where it matches files: run curate from {proj}, or give paths "
        "from where it runs or absolute ones)"), err
    monkeypatch.chdir(proj)
    assert run_cli("run", "my.toml", "--progress", "off", "--stages", "ingest") == 0 and (proj / "out" / "manifest.json").exists()


def test_decontaminate_without_evaluation_sets_is_an_error(tmp_path, pages, capsys):
    """`--stages decontaminate` (or a bare [decontaminate] section) with no evaluation sets ran,
    compared the corpus with nothing and reported 0 removed, as if it were clean."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "decontaminate", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "decontaminate: eval_sets: none given" in err and "[[decontaminate.eval_sets]]" in err, err
    assert not out.exists()
    ev = tmp_path / "eval.txt"
    ev.write_text(PAGES["en"] + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[decontaminate.eval_sets]]\nglob = "{ev}"\n')
    assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", "decontaminate", "--output", out, "--progress", "off") == 0
    assert json.loads((out / "manifest.json").read_text())["counts"]["decontaminate"]["removed"] == {"eval_overlap": 1}


def test_languages_without_langid_in_the_stages_is_an_error(tmp_path, pages, capsys):
    """`--stages dedup --languages de` ran without langid: every language kept, the option
    silently unused."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "dedup", "--languages", "de",
                   "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "--languages: the langid stage is not among the stages run (ingest, dedup); add langid or leave --languages out" in err, err
    assert not out.exists()
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "langid,dedup", "--languages", "de",
                   "--output", out, "--progress", "off") == 0
    assert kept_languages(out) == {"de"}


def test_audit_of_a_folder_that_is_not_an_output_is_refused(tmp_path, pages, capsys, ingested):
    """`curate audit corpus/text` (or a folder of one's own JSONL) reported "0 documents" and
    wrote report.html and stats/ into it; inside an output they then made the next run refuse
    ("holds files curate did not write: text/report.html ...")."""
    from curate.audit import command

    out = tmp_path / "o"
    ingested(out)
    for folder in (out / "text", pages.parent):
        before = sorted(p.name for p in folder.iterdir())
        assert command.main([str(folder)]) == 2
        err = capsys.readouterr().err
        assert f"curate audit: {folder}: not a curate output (no manifest.json, text/ or ledger/); " in err and "--corpus" in err, err
        assert sorted(p.name for p in folder.iterdir()) == before
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0


def refused(tmp_path, capsys, toml: str, stage: str, pages) -> str:
    """Run `stage` on the pages with a config holding `toml`: it must stop before anything is
    written, with exit code 2. Returns stderr."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    out = tmp_path / "o"
    assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", stage, "--output", out, "--progress", "off") == 2
    assert not out.exists()
    return capsys.readouterr().err


def test_tiktoken_encoding_that_cannot_be_loaded_is_a_config_error(tmp_path, pages, capsys, monkeypatch):
    """tokenize.tokenizer = "gpt2" (a tiktoken name, but not bundled: tiktoken downloads it)
    passed the config check, and offline the run ended in a requests ConnectionError traceback;
    then the check itself went to the network (and waited on it offline). Its cache only: where
    the file is not there, said, with how to give a local one, and no download tried."""
    import tiktoken.load

    fetched = []
    monkeypatch.setattr(tiktoken.load, "read_file", lambda path: fetched.append(path) or b"")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))  # as on a machine without tiktoken's cache
    err = refused(tmp_path, capsys, '[tokenize]\ntokenizer = "gpt2"\n', "tokenize", pages)
    assert fetched == [], fetched
    assert err == ("curate: config error: tokenize.tokenizer: 'gpt2' is not on this machine (tiktoken downloads it; curate does "
                   "not go to the network): give a tokenizer.json path, use cl100k_base (bundled), or fetch it once where there "
                   "is a network (python -c \"import tiktoken; tiktoken.get_encoding('gpt2')\") and copy its cache here "
                   "(TIKTOKEN_CACHE_DIR, else /tmp/data-gym-cache)\n"), err
    assert config.load(None, {"tokenize": {"tokenizer": "cl100k_base"}}).stages["tokenize"]["tokenizer"] == "cl100k_base"


@pytest.mark.parametrize("section", ["urldedup", "linededup", "decontaminate"])
def test_misspelt_domain_of_an_opt_in_stage_is_an_error(section):
    """`[linededup] domains = ["Web"]` was accepted: the stage then applied to no document."""
    with pytest.raises(config.ConfigError) as e:
        config.load(None, {"run": {"output": "o", "stages": ["ingest", section]}, section: {"domains": ["web", "Web"]}})
    assert f"{section}.domains: 'Web' is not one of web, code, books" in " ".join(e.value.messages), e.value.messages


def test_uri_output_is_reported_as_given(tmp_path, pages, capsys):
    """`--output file:///data/corpus` (README: outputs may be URIs) wrote there but printed
    "output: /current/dir/file:/data/corpus" and no tokens line."""
    uri = f"file://{tmp_path}/o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "tokenize", "--output", uri, "--progress", "off") == 0
    out = capsys.readouterr().out
    assert f"output: {uri}\n" in out, out
    assert re.search(r"^tokens: [\d,]+ cl100k_base tokens \(web 100%\) in 4 files under " + re.escape(uri) + "/tokens$", out, re.M), out
    assert (tmp_path / "o" / "tokens.json").is_file()


def test_a_second_run_into_an_output_being_written_is_refused(tmp_path, pages, capsys):
    """Two runs into one output at once (two terminals, a retried job): each deleted the
    other's staged files and both ended in FileNotFoundError tracebacks. Now the second one
    is refused in one line while the first holds the output."""
    out = tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from curate import commit; commit.begin(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline() == "held\n"
        assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        # which process holds it (two audits, or an audit and a run, looked alike: "another curate run")
        assert (f"curate: output '{out}' is being written by another curate command (process {holder.pid}); wait for it to end "
                "or choose another --output") in err, err
    finally:
        holder.communicate("", timeout=60)
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert sorted(p.name for p in out.iterdir()) == ["ledger", "manifest.json", "quarantine", "stats", "text"]


def test_a_run_started_while_another_commits_is_refused(tmp_path, pages, capsys, monkeypatch):
    """A second run that started while the first was moving its files into place (its journal
    written) "recovered" that commit as if the first had been killed, deleted the staging
    folder with the first run's lock in it, took the output and ran; the first then deleted the
    second's staging folder. Now the second is refused, and the first's output is whole."""
    from curate import commit

    out = tmp_path / "o"
    second = {}

    def start_another(point):
        if point == "after_journal":
            second["run"] = subprocess.run(
                [sys.executable, "-m", "curate.cli", "run", "--input", str(pages), "--domain", "books", "--stages", "ingest",
                 "--output", str(out), "--progress", "off"], capture_output=True, text=True, env=ENV, timeout=300)

    monkeypatch.setattr(commit, "_fault", start_another)
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert second["run"].returncode == 2, second["run"].stderr
    assert "is being written by another curate command" in second["run"].stderr, second["run"].stderr
    manifest = commit.verify_output(str(out))
    assert manifest["config"]["inputs"][0]["domain"] == "web"
    assert sorted(p.name for p in out.iterdir()) == ["ledger", "manifest.json", "quarantine", "stats", "text"]


def test_a_rerun_with_another_config_says_it_replaced_the_output(tmp_path, pages, capsys):
    """A rerun into an output written with another config replaced it without a word: pointed
    at last week's corpus by mistake, the operator learnt nothing. Now one line says what
    differed; a rerun with the same config (or only another worker count) says nothing."""
    out = tmp_path / "o"
    base = ["run", "--input", pages, "--domain", "web", "--output", out, "--progress", "off"]
    assert run_cli(*base, "--stages", "ingest") == 0
    assert "replaced" not in capsys.readouterr().err
    assert run_cli(*base, "--stages", "ingest", "--workers", "1") == 0
    assert "replaced" not in capsys.readouterr().err
    assert run_cli(*base, "--stages", "ingest,langid", "--languages", "all") == 0
    err = capsys.readouterr().err
    # only --stages changed: said as a stage change, not as the config of langid (a section it had not run)
    assert f"curate: replaced the previous output in {out}, made by other stages (langid added)\n" in err, err
    assert run_cli(*base, "--stages", "ingest", "--set", "limits.max_line_bytes=100000") == 0
    err = capsys.readouterr().err
    assert f"curate: replaced the previous output in {out}, made by other stages (langid dropped) and with another config (limits)\n" in err, err
    # another --input: the config's inputs and the files read differ, said in one sentence (it was
    # '..., written with another config (inputs); whose input files differ: 1 file added (...)')
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"text": PAGES["fr"]}) + "\n")
    assert run_cli(*base, "--input", more, "--domain", "web", "--stages", "ingest", "--set", "limits.max_line_bytes=100000") == 0
    err = capsys.readouterr().err
    assert (f"curate: replaced the previous output in {out}, made with another config (inputs) and from other input files: "
            "1 file added (") in err and ";" not in err, err


def test_quality_model_mistakes_are_config_errors(tmp_path, pages, capsys):
    """A quality model path that is not a fastText model, or a positive_label the model does
    not have (DCLM's is __label__hq), used to fail mid-run, after reading every input."""
    cases = [('model = "%s"' % pages, f"quality.web.model: {pages} is not a fastText model"),
             ('positive_label = "hq"', "quality.web.positive_label: 'hq' is not a label of model 'default'")]
    for line, message in cases:
        err = refused(tmp_path, capsys, f"[quality.web]\n{line}\n", "quality", pages)
        assert f"curate: config error: {message}" in err, err  # not "quality: quality.web..."


def test_eval_set_jsonl_with_unicode_line_separators(tmp_path, pages, capsys):
    """An evaluation set in JSONL whose strings hold U+2028 (legal unescaped in JSON; real
    in the shared code sample) was split at it: "curate: Unterminated string starting at:
    line 1 column 272", no file named. JSONL lines end at \\n only."""
    ev = tmp_path / "eval.jsonl"
    ev.write_text(json.dumps({"task_id": "t1", "prompt": "x\u2028y " + PAGES["en"]}, ensure_ascii=False) + "\n"
                  + '{"task_id": "t2", "prompt": broken}\n', encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[decontaminate.eval_sets]]\nglob = "{ev}"\ntext_fields = ["prompt"]\nid_field = "task_id"\n')
    out = tmp_path / "o"
    assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", "decontaminate", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert f"{ev}:2: not a JSON object line" in err and "Unterminated" not in err, err
    ev.write_text(ev.read_text(encoding="utf-8").split("\n")[0] + "\n", encoding="utf-8")  # the good line alone
    assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", "decontaminate", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
    ledger = pq.read_table(out / "ledger").to_pylist()
    assert [(r["rule"], r["kept_id"]) for r in ledger] == [("eval_overlap", "eval:t1")]


def test_tokenizer_file_that_is_not_a_tokenizer_is_a_config_error(tmp_path, pages, capsys):
    """tokenize.tokenizer = a JSON file that is not a tokenizer.json passed the config check
    (it exists) and the run ended in a traceback ("Exception: expected `,` or `}` ...")."""
    err = refused(tmp_path, capsys, f'[tokenize]\ntokenizer = "{pages}"\n', "tokenize", pages)
    assert f"config error: tokenize.tokenizer: {pages} is not a Hugging Face tokenizer.json (" in err, err


def test_jsonl_starting_with_a_byte_order_mark(tmp_path, capsys):
    """A JSONL file saved by a Windows tool starts with a UTF-8 BOM: its first record was
    quarantined as bad_json ("Unexpected UTF-8 BOM")."""
    import gzip

    body = "".join(json.dumps({"id": k, "text": v}) + "\r\n" for k, v in PAGES.items()).encode()
    for name, data in (("bom.jsonl", b"\xef\xbb\xbf" + body), ("bom.jsonl.gz", gzip.compress(b"\xef\xbb\xbf" + body))):
        (tmp_path / name).write_bytes(data)
        out = tmp_path / f"o-{name}"
        assert run_cli("run", "--input", tmp_path / name, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
        counts = json.loads((out / "manifest.json").read_text())["counts"]["ingest"]
        assert (counts["docs_out"], counts["quarantined"]) == (len(PAGES), 0), capsys.readouterr()
        assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == sorted(PAGES)


def test_version(capsys):
    """`curate --version` said "error: the following arguments are required: cmd"."""
    import curate

    with pytest.raises(SystemExit) as e:
        run_cli("--version")
    assert e.value.code == 0 and capsys.readouterr().out == f"curate {curate.__version__}\n"


def test_input_folder_with_hidden_files(tmp_path, pages, capsys):
    """A data folder copied from a Mac or a git checkout holds .DS_Store, ._name and .git/:
    `--input folder/` was refused ("cannot tell the format of '.DS_Store' ...; give --format").
    A folder is now walked as a glob matches: hidden names left out, except in a code tree
    (--format source), where the code reader excludes them with a reason."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / ".git").mkdir()
    (data / "sub" / "pages.jsonl").write_bytes(pages.read_bytes())
    (data / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1\x00\x00")
    (data / "sub" / "._pages.jsonl").write_bytes(b"\x00\x05\x16\x07")
    (data / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", data, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
    assert [f["path"] for f in json.loads((out / "manifest.json").read_text())["inputs"]] == ["sub/pages.jsonl"]
    code = tmp_path / "code"
    assert run_cli("run", "--input", data, "--domain", "code", "--format", "source", "--stages", "ingest", "--output", code, "--progress", "off") == 0
    assert ".git/HEAD" in [f["path"] for f in json.loads((code / "manifest.json").read_text())["inputs"]]


def test_files_of_unknown_format_are_named_together_with_a_glob_that_leaves_them_out(tmp_path, capsys):
    """A books folder holding README.md and NOTES beside the .txt books was refused naming the
    first odd file only (fix it, run, be refused for the next), and the one way out offered,
    --format text, would read README.md as a book. Now every such file is named at once, with
    the glob that reads the books alone."""
    books = tmp_path / "books"
    (books / "fr").mkdir(parents=True)
    for name in ("a.txt", "fr/b.txt"):
        (books / name).write_text("CHAPTER I\n\n" + "It was a bright cold day in April, and the clocks were striking. " * 40)
    (books / "README.md").write_text("# my books\n")
    (books / "NOTES").write_text("to read\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", books, "--domain", "books", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert ("inputs[0]: cannot tell the format of 2 files (NOTES, README.md) from their names or content; give --format "
            f"(warc, wet, jsonl, parquet, html, text, source), or a glob that leaves them out: --input '{books}/**/*.txt'") in err, err
    assert run_cli("run", "--input", f"{books}/**/*.txt", "--domain", "books", "--stages", "ingest", "--output", out,
                   "--progress", "off") == 0
    assert sorted(pq.read_table(out / "text", columns=["path"]).column("path").to_pylist()) == ["a.txt", "fr/b.txt"]
    assert "quarantine: 0 rows" in capsys.readouterr().out
    assert run_cli("run", "--input", books / "NOTES", "--domain", "books", "--output", out, "--progress", "off") == 2
    assert f"cannot tell the format of '{books / 'NOTES'}' from its name or content; give --format (" in capsys.readouterr().err


def test_the_run_summary_counts_in_the_singular(tmp_path, capsys):
    """'text: 1 doc in 1 files': one of each is said in the singular, files too."""
    path = tmp_path / "p.jsonl"
    path.write_text('{"text": "a single page of words for the run summary"}\n{"text": null}\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{path}"\ndomain = "web"\n[run]\nstages = ["ingest"]\noutput = "{tmp_path / "o"}"\nshards = 1\n')
    assert run_cli("run", cfg, "--progress", "off") == 0
    assert "text: 1 doc in 1 file; ledger: 0 rows; quarantine: 1 row; " in capsys.readouterr().out


def test_the_glob_offered_for_files_of_unknown_format_reads_every_other_file(tmp_path, capsys):
    """Books named a.txt and B.TXT (a Windows copy) beside a README: the glob offered was
    '*.txt', which on a case-sensitive disk reads a.txt alone, B.TXT left out without a word.
    Each glob offered is followed here, and must read every file but the odd ones."""
    import re

    cases, inputs = {}, []
    for names in (("a.txt", "B.TXT"), ("A.TXT", "B.TXT"), ("a.txt", "sub/b.txt")):
        books = tmp_path / "-".join(names).replace("/", "_")
        (books / "sub").mkdir(parents=True)
        for name in names:
            (books / name).write_text("CHAPTER I\n\n" + f"The book {name} begins on a bright cold day in April. " * 40)
        (books / "README").write_text("my books\n")
        out = tmp_path / f"o-{books.name}"
        assert run_cli("run", "--input", books, "--domain", "books", "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        glob = re.search(r"a glob that leaves it out: --input '([^']+)'", err).group(1)  # one file: 'it'
        assert f"cannot tell the format of '{books / 'README'}' from its name or content" in err, err
        cases[books.name] = (glob, sorted(names))
        inputs += ["--input", glob, "--domain", "books"]
    out = tmp_path / "o"  # the three globs offered, followed in one run: each input's source is its folder
    assert run_cli("run", *inputs, "--stages", "ingest", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
    read = {}
    for r in pq.read_table(out / "text", columns=["source", "path"]).to_pylist():
        read.setdefault(r["source"], []).append(r["path"])
    assert {k: sorted(v) for k, v in read.items()} == {k: names for k, (_, names) in cases.items()}, cases


@pytest.mark.parametrize("kind", ["bzip2", "xz"])
def test_input_compressed_with_what_curate_does_not_read(tmp_path, pages, capsys, kind):
    """A .jsonl.bz2 / .jsonl.xz dump: "cannot tell the format ...; give --format", and with
    --format jsonl every line of compressed bytes was quarantined as invalid_utf8."""
    import bz2
    import lzma

    path = tmp_path / f"dump.jsonl.{'bz2' if kind == 'bzip2' else 'xz'}"  # not pages.jsonl's: its copy would be beside it
    path.write_bytes((bz2.compress if kind == "bzip2" else lzma.compress)(pages.read_bytes()))
    for fmt in ([], ["--format", "jsonl"]):
        out = tmp_path / "o"
        assert run_cli("run", "--input", path, "--domain", "web", *fmt, "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert f"inputs[0]: {path} is compressed with {kind}; curate reads gzip and zstd: recompress it" in err, err
        assert not out.exists()


COMPRESS = {"gz": ["gzip", "-c"], "zst": ["zstd", "-q", "-c"], "bz2": ["bzip2", "-c"], "xz": ["xz", "-c"], "lz4": ["lz4", "-q", "-c"]}


def _compressed(path: Path, how: str, name: str | None = None) -> Path:
    """``path`` compressed by the tool itself (``how``: its suffix) to ``name`` (default: PATH.how); ``path`` removed."""
    out = path.parent / (name or f"{path.name}.{how}")
    data = subprocess.run([*COMPRESS[how], str(path)], capture_output=True, check=True).stdout
    path.unlink()
    out.write_bytes(data)
    return out


def _hint(err: str) -> str:
    """The command a one-line error suggests (without ", then move the original ...")."""
    return err.strip().split("e.g. ", 1)[1].split(", then move the original", 1)[0]


@pytest.mark.skipif(not all(map(shutil.which, ["gzip", "zstd", "bzip2", "xz", "lz4"])), reason="needs the compression tools")
def test_the_decompress_hint_for_a_file_of_a_folder_input_run_as_said_lets_the_run_read_it(tmp_path, pages, capsys):
    """A x.parquet.gz (a .parquet of bzip2 bytes, a .jsonl.bz2, ...) in a folder given as
    --input: the hint decompressed it beside itself (`gzip -dc d/x.parquet.gz > d/x.parquet`),
    leaving the original in the folder, which the next run listed and refused again, and again.
    Each hint now writes the copy beside the file, keeps the original (a hint never deletes what
    the user wrote: it ended `&& rm FILE`, or used gzip -d, zstd --rm) and says to move it out of
    the folder; done as said, the run reads the folder: every document once. A file the compression is told of by its
    bytes only: `bzip2 -dc x.parquet > x.parquet`, which empties it before bzip2 reads it."""
    import pyarrow as pa

    d = tmp_path / "d"
    d.mkdir()
    rows = [{"id": f"p{i}", "text": t} for i, t in enumerate(PAGES.values())]
    want = set()
    for how in COMPRESS:  # a Parquet file and a JSON Lines file in each compression
        pq.write_table(pa.table({"id": [f"{how}-{r['id']}" for r in rows], "text": [r["text"] for r in rows]}), d / f"t {how}.parquet")
        _compressed(d / f"t {how}.parquet", how)
        (d / f"l-{how}.jsonl").write_text("".join(json.dumps({**r, "id": f"l{how}-{r['id']}"}) + "\n" for r in rows))
        _compressed(d / f"l-{how}.jsonl", how)
        want |= {f"{how}-{r['id']}" for r in rows} | {f"l{how}-{r['id']}" for r in rows}
    pq.write_table(pa.table({"id": [f"raw-{r['id']}" for r in rows], "text": [r["text"] for r in rows]}), d / "raw.parquet")
    _compressed(d / "raw.parquet", "bz2", "raw.parquet")  # bzip2 bytes under a .parquet name
    want |= {f"raw-{r['id']}" for r in rows}
    out = tmp_path / "o"
    run = ["run", "--input", d, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off"]
    said = []
    for _ in range(20):
        if run_cli(*run) == 0:
            break
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "e.g. " in err, err
        hint = _hint(err)
        assert hint not in said, f"the same hint again, after it was run: {hint}"
        err = re.sub(r"; \d+ other files? to fix too .*", "", err.rstrip())  # the first file's line: the others are named after it
        assert err.endswith(", then move the original out of the input's folder (its copy is read in its place)"), err
        said.append(hint)
        before = {p.name: p.read_bytes() for p in d.iterdir()}
        subprocess.run(hint, shell=True, check=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert {p.name: p.read_bytes() for p in d.iterdir() if p.name in before} == before, f"{hint} changed a file"
        moved = (tmp_path / "originals")
        moved.mkdir(exist_ok=True)
        original = next(p for p in d.iterdir() if p.name in before and str(p.relative_to(tmp_path)) in err)
        original.rename(moved / original.name)  # as said
    else:
        pytest.fail(f"still refused after {said}")
    ids = pq.read_table(out / "text", columns=["source_id"]).column("source_id").to_pylist()
    assert len(said) == 9 and sorted(ids) == sorted(want), said
    # the one-file input: its copy beside it, the file itself untouched
    one = tmp_path / "one"
    one.mkdir()
    pq.write_table(pa.table({"id": ["1"], "text": [PAGES["en"]]}), one / "x.parquet")
    packed = _compressed(one / "x.parquet", "bz2", "x.parquet").read_bytes()
    assert run_cli("run", "--input", one / "x.parquet", "--domain", "web", "--output", out, "--progress", "off") == 2
    subprocess.run(_hint(capsys.readouterr().err), shell=True, check=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert (one / "x.parquet").read_bytes() == packed and pq.read_table(one / "x.decompressed.parquet").num_rows == 1


@pytest.mark.skipif(not (shutil.which("gzip") and shutil.which("bzip2") and shutil.which("zstd")), reason="needs the tools")
def test_a_folder_holding_a_file_and_its_decompressed_copy_reads_it_once(tmp_path, capsys):
    """The audit's hint (`gzip -dk d/x.jsonl.gz`) and any `gunzip -k` leave d/x.jsonl beside
    d/x.jsonl.gz: the run read both, every record twice under two ids, without a word. Such a
    pair (one name, compressed and not or in gzip and zstd, the same bytes decompressed) is read
    once, as a file reached through a link is: the compressed one, the copy a same_file row
    naming it. A pair of that name holding other data (warcio's example.warc and example.warc.gz
    differ; here in the last record only) is read whole. A bzip2 file beside the .zst copy
    curate's hint wrote (the original not moved yet) was refused with the same command again,
    which then failed (the copy is there): it is told to move the original out."""
    import gzip

    import polars as pl

    d = tmp_path / "d"
    d.mkdir()
    lines = "".join(json.dumps({"text": f"record {i} of the harbour master's log"}) + "\n" for i in range(50))
    (d / "x.jsonl").write_text(lines)
    (d / "x.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (d / "y.jsonl.zst").write_bytes(subprocess.run(["zstd", "-q", "-c"], input=lines.encode(), capture_output=True, check=True).stdout)
    (d / "y.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (d / "other.jsonl").write_text(lines + json.dumps({"text": "one more record, at the end"}) + "\n")  # other data: both read
    (d / "other.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    out = tmp_path / "o"
    assert run_cli("run", "--input", d, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    paths = pl.read_parquet(out / "text").get_column("path").value_counts()
    assert dict(paths.iter_rows()) == {"x.jsonl.gz": 50, "y.jsonl.gz": 50, "other.jsonl": 51, "other.jsonl.gz": 50}, paths
    rows = pl.read_parquet(out / "quarantine").select("path", "reason", "detail").sort("path").rows()
    assert [r[:2] for r in rows] == [("x.jsonl", "same_file"), ("y.jsonl.zst", "same_file")], rows
    assert "'x.jsonl.gz', compressed or not" in rows[0][2] and "'y.jsonl.gz', compressed or not" in rows[1][2], rows
    # the pair named by two inputs (each alone, or a glob and a file): read once too, by the first input
    for first, second in ((d / "x.jsonl.gz", d / "x.jsonl"), (d / "y*.zst", d / "y.jsonl.gz")):
        assert run_cli("run", "--input", first, "--domain", "web", "--input", second, "--domain", "web", "--stages", "ingest",
                       "--output", out, "--progress", "off") == 0
        paths = pl.read_parquet(out / "text").get_column("path").value_counts()
        assert dict(paths.iter_rows()) == {os.path.basename(str(first)).replace("*", ".jsonl"): 50}, paths
        rows = pl.read_parquet(out / "quarantine").select("path", "reason", "detail").rows()
        assert [r[:2] for r in rows] == [(second.name, "same_file")] and "of inputs[0], compressed or not" in rows[0][2], rows
    # a bzip2 file beside its copy: the hint's own command, run, is not said again
    b = tmp_path / "b"
    b.mkdir()
    (b / "z.jsonl.bz2").write_bytes(subprocess.run(["bzip2", "-c"], input=lines.encode(), capture_output=True, check=True).stdout)
    assert run_cli("run", "--input", b, "--domain", "web", "--output", out, "--progress", "off") == 2
    subprocess.run(_hint(capsys.readouterr().err), shell=True, check=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert run_cli("run", "--input", b, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert f"its copy {b / 'z.jsonl.zst'} is beside it: move the original out of the input's folder" in err and "e.g." not in err, err
    # named on its own, the same file: give the copy instead (the hint again failed: "already exists")
    assert run_cli("run", "--input", b / "z.jsonl.bz2", "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert f"its copy {b / 'z.jsonl.zst'} is beside it: give --input {b / 'z.jsonl.zst'} instead" in err and "e.g." not in err, err
    # named by a config's [[inputs]]: its glob to change (--input alone replaces every [[inputs]] of the config)
    (tmp_path / "c.toml").write_text(f'[run]\noutput = "{out}"\n[[inputs]]\nglob = "{b / "z.jsonl.bz2"}"\ndomain = "web"\n')
    assert run_cli("run", tmp_path / "c.toml", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert f"give --input {b / 'z.jsonl.zst'} instead (glob in [[inputs]])" in err, err


def test_a_file_beside_its_copy_is_told_a_copy_under_the_runs_limits(tmp_path, capsys, monkeypatch):
    """The copy check read the pair under the default limits: with limits.max_file_bytes raised
    past them (files over 4 GiB), the pair was no copy (the check stopped at 4 GiB) and both were
    read, every record twice. Read under the run's limits (the default made small here, not 4 GiB
    files): one read, the other a same_file row."""
    import gzip

    import polars as pl

    from curate.readers.common import Limits

    defaults = list(Limits.__init__.__defaults__)
    defaults[0] = 4096  # max_file_bytes: as if 4 GiB
    monkeypatch.setattr(Limits.__init__, "__defaults__", tuple(defaults))
    d = tmp_path / "d"
    d.mkdir()
    lines = "".join(json.dumps({"text": f"record {i} of the harbour master's log"}) + "\n" for i in range(200))
    assert len(lines) > 4096
    (d / "x.jsonl").write_text(lines)
    (d / "x.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    out = tmp_path / "o"
    # in one folder, and named by two inputs (read by the first)
    for inputs in (["--input", d, "--domain", "web"], ["--input", d / "x.jsonl.gz", "--domain", "web", "--input", d / "x.jsonl", "--domain", "web"]):
        assert run_cli("run", *inputs, "--stages", "ingest", "--set", "limits.max_file_bytes=65536",
                       "--output", out, "--progress", "off") == 0, capsys.readouterr().err
        paths = pl.read_parquet(out / "text").get_column("path").value_counts()
        assert dict(paths.iter_rows()) == {"x.jsonl.gz": 200}, paths


def _hint_for(path: Path, kind: str, in_place: bool) -> str:
    """The hint curate gives for ``path``: gzip/zstd as the audit's bomb and the .parquet.gz
    refusal say it, bzip2/xz/lz4 as curate run's refusal does."""
    from curate.readers.common import decompress_command, other_compression_error

    if kind in ("gzip", "zstd"):
        return _hint("e.g. " + decompress_command(str(path), kind, in_place))
    return _hint(other_compression_error(str(path), in_place=in_place))


@pytest.mark.skipif(not all(map(shutil.which, ["bash", "gzip", "zstd", "bzip2", "xz", "lz4"])), reason="needs the compression tools")
@pytest.mark.parametrize("in_place", [False, True])
@pytest.mark.parametrize("how", list(COMPRESS))
@pytest.mark.parametrize("name", ["x y.jsonl.{}", "it's.parquet.{}", "-x.jsonl.{}", b"caf\xe9.jsonl.{}", "raw.parquet", "up.jsonl.{}"])
def test_a_decompress_hint_overwrites_no_file_and_keeps_the_original_when_it_fails(tmp_path, how, in_place, name):
    """The hint for one file given (`gzip -dc x.parquet.gz > x.parquet`, `bzip2 -dc x.jsonl.bz2 |
    zstd > x.jsonl.zst`) wrote over an x.parquet (x.jsonl.zst) already there, and a damaged file
    left a cut-short copy: gzip's part and an error, the pipe's whole-looking .zst of half the
    lines and exit 0 (lz4 -d leaves its part too, even replacing a folder's file). Each hint, for
    one file or a folder's (in_place), run as said: a file there is refused and kept, a damaged
    file is kept with no copy beside it, else the copy is whole and the original kept (a
    folder's file too: the hint deleted it, `gzip -d`, `&& rm FILE`). Names with a blank, a quote, a leading -, a byte that is not UTF-8, the
    suffix in capitals (bzip2 -d x.BZ2 wrote x.BZ2.out, xz and zstd refused it)."""
    tool = {"gz": "gzip", "zst": "zstd", "bz2": "bzip2", "xz": "xz", "lz4": "lz4"}[how]
    raw = b"".join(b'{"id": "%d", "text": "line %d of the harbour"}\n' % (i, i) for i in range(20000))
    if isinstance(name, bytes):
        name = os.fsdecode(name.replace(b"{}", how.encode()))
    name = name.replace("up.jsonl.{}", f"up.jsonl.{how.upper()}").format(how)
    packed = subprocess.run(COMPRESS[how], input=raw, capture_output=True, check=True).stdout
    src = tmp_path / name
    # what the copy is called (ground truth: the name without the suffix, or NAME.decompressed.EXT), and
    # what curate then reads: a JSONL file recompressed with zstd, a Parquet file decompressed
    root, ext = os.path.splitext(name)
    copy = root if ext.lower() == "." + how else "{}.decompressed{}".format(*os.path.splitext(name))
    final = tmp_path / (copy + ".zst" if tool in ("bzip2", "xz", "lz4") and not copy.endswith(".parquet") else copy)
    for case in ("there", "damaged", "whole"):
        for f in tmp_path.iterdir():
            f.unlink()
        src.write_bytes(packed[: len(packed) // 2] if case == "damaged" else packed)
        hint = _hint_for(src, tool, in_place)
        if case == "there":
            final.write_bytes(b"mine")
        done = subprocess.run(hint, shell=True, executable="bash", cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True)
        if case == "whole":
            assert done.returncode == 0, (hint, done.stderr)
            got = final.read_bytes()
            got = subprocess.run(["zstd", "-dc"], input=got, capture_output=True, check=True).stdout if final.name != copy else got
            assert got == raw, hint
            assert sorted(os.listdir(tmp_path)) == sorted([final.name, src.name]), (hint, os.listdir(tmp_path))
            assert src.read_bytes() == packed, hint  # a folder's file too: kept, the user moves it
            continue
        assert done.returncode != 0, (case, hint)
        assert src.read_bytes() == (packed if case == "there" else packed[: len(packed) // 2]), (case, hint, os.listdir(tmp_path))
        assert sorted(os.listdir(tmp_path)) == sorted([src.name] + [final.name] * (case == "there")), (case, hint, os.listdir(tmp_path))
        if case == "there":
            assert final.read_bytes() == b"mine", hint


@pytest.mark.skipif(not (shutil.which("bash") and shutil.which("gzip")), reason="needs bash and gzip")
def test_the_hint_for_a_file_named_in_bytes_not_utf8_names_that_file(tmp_path, capsys):
    """A folder's caf\xe9.parquet.gz (a Latin-1 name): the hint printed 'gzip -d
    .../caf\\udce9.parquet.gz' (Python's escape of the byte, the stream's backslashreplace), a
    file that is not there. Such a name is printed as $'...' with the byte as \\xe9 (bash, zsh,
    ksh; POSIX.1-2024): run as printed, it decompresses that file."""
    import gzip
    import pyarrow as pa

    d = tmp_path / "d"
    d.mkdir()
    name = os.fsdecode(b"caf\xe9 it's.parquet.gz")
    pq.write_table(pa.table({"id": ["1"], "text": [PAGES["en"]]}), d / "x.parquet")
    io_bytes = (d / "x.parquet").read_bytes()
    (d / "x.parquet").unlink()
    (d / name).write_bytes(gzip.compress(io_bytes))
    out = tmp_path / "o"
    run = ["run", "--input", d, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off"]
    said = subprocess.run([sys.executable, "-m", "curate", *map(str, run)], capture_output=True)  # stderr as a terminal gets it
    assert said.returncode == 2, said.stderr
    subprocess.run(_hint(said.stderr.decode()), shell=True, executable="bash", check=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
    plain = os.fsdecode(b"caf\xe9 it's.parquet")
    assert sorted(os.listdir(d)) == sorted([plain, name]) and (d / plain).read_bytes() == io_bytes  # the original kept (fix98)
    assert "then move the original out of the input's folder" in said.stderr.decode()
    (d / name).rename(tmp_path / name)  # as the hint says, by hand
    assert run_cli(*run) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", ["dump.tar.gz", "dump.tar", "dump.zip"])
def test_an_archive_is_said_with_how_to_unpack_it(tmp_path, pages, capsys, name):
    """A downloaded dump.tar.gz / dump.zip of JSONL files said "cannot tell the format ...; give
    --format": with --format jsonl the archive was read as one stream (tar headers glued to
    the first record of each member, nothing said), with --format text as one document.
    curate reads files, not archives: said before the run, with the command that unpacks it."""
    import tarfile
    import zipfile

    path = tmp_path / name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as z:
            z.write(pages, "pages.jsonl")
    else:
        with tarfile.open(path, "w:gz" if name.endswith(".gz") else "w") as t:
            t.add(pages, "pages.jsonl")
    kind = "zip" if name.endswith(".zip") else "tar"
    unpack = f"unzip {path} -d DIR" if kind == "zip" else f"tar xf {path} -C DIR"
    for fmt in ([], ["--format", "jsonl"], ["--format", "text"]):
        out = tmp_path / "o"
        assert run_cli("run", "--input", path, "--domain", "web", *fmt, "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert err == f"curate: config error: inputs[0]: {path} is a {kind} archive: curate reads the files in it, not the archive; unpack it ({unpack}) and give DIR as --input\n", err
        assert not out.exists()


@pytest.mark.parametrize("name", ["dump.jsonl.gz", "export.jsonl", "dump.jsonl.zst"])
def test_an_archive_named_as_json_lines_is_said_with_how_to_unpack_it(tmp_path, pages, capsys, name):
    """An archive whose name says JSON Lines (`tar czf dump.jsonl.gz *.jsonl`, a zip saved as
    export.jsonl) was not looked at as an archive, only files named .tar/.zip/... or of no known
    format were: the tar was read as one stream, its header glued to the first record (499 of
    500 records read, 3 quarantined, exit 0); the zip refused as 'not JSON Lines; give the
    --format the file has', which no --format fixes. Both are refused as archives now, with the
    command that unpacks them, also among JSON Lines files (as an archive named so is)."""
    import gzip
    import io
    import tarfile
    import zipfile

    import zstandard

    path = tmp_path / "in" / name
    path.parent.mkdir()
    if name == "export.jsonl":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(pages, "pages.jsonl")
        kind, unpack = "zip", f"unzip {path} -d DIR"
    else:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            t.add(pages, "pages.jsonl")
        data = buf.getvalue()
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else zstandard.ZstdCompressor().compress(data))
        kind, unpack = "tar", f"tar xf {path} -C DIR"
    (path.parent / "pages.jsonl").write_bytes(pages.read_bytes())
    for given in (path, path.parent):
        out = tmp_path / "o"
        assert run_cli("run", "--input", given, "--domain", "web", "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert err == f"curate: config error: inputs[0]: {path} is a {kind} archive: curate reads the files in it, not the archive; unpack it ({unpack}) and give DIR as --input\n", err
        assert not out.exists()


def test_an_epub_is_said_to_be_a_book_format_curate_does_not_read(tmp_path, capsys):
    """A folder of books with an .epub among the .txt: it was called "a zip archive" to unzip
    (its XHTML chapters are no input curate reads either); with --format text it was read as
    one document of zip bytes. Said as what it is, with how to make text of it."""
    import zipfile

    books = tmp_path / "my books"
    books.mkdir()
    (books / "a.txt").write_text("CHAPTER I\n\n" + "It was a bright cold day in April. " * 40)
    with zipfile.ZipFile(books / "novel.epub", "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr("OEBPS/ch1.xhtml", "<html><body><p>It was a bright cold day.</p></body></html>")
    for fmt in ([], ["--format", "text"]):
        out = tmp_path / "o"
        assert run_cli("run", "--input", books, "--domain", "books", *fmt, "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert err == (f"curate: config error: inputs[0]: {books / 'novel.epub'} is an EPUB book, a format curate does not "
                       f"read: convert it to plain text (e.g. pandoc -t plain '{books / 'novel.epub'}' -o BOOK.txt) and give "
                       "the .txt files as --input\n"), err
        assert not out.exists()


def test_job_server_that_cannot_start_is_one_line(tmp_path, pages, capsys, monkeypatch):
    """--runner=FlinkRunner on a machine that cannot fetch Beam's job server jar (offline, a
    proxy) ended in a 40-line traceback from apache_beam.utils.subprocess_server."""
    from apache_beam.utils import subprocess_server

    def offline(url, cache_dir=None, user_agent=None):
        raise RuntimeError(f"Unable to fetch remote job server jar at {url}: <urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(subprocess_server.JavaJarServer, "local_jar", staticmethod(offline))
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off",
                   "--runner=FlinkRunner", "--flink_master=localhost:1", "--environment_type=LOOPBACK") == 1
    err = capsys.readouterr().err
    # the jar's whole URL (Beam's message, cut at 400 characters, lost its end) and what to do offline
    jar = "https://repo.maven.apache.org/maven2/org/apache/beam/beam-runners-flink-"
    assert err.startswith(f"curate: the runner's job server could not be started: Beam could not download its jar ({jar}"), err
    assert re.search(r"-job-server-[\d.]+\.jar\); offline, copy that jar here and pass --flink_job_server_jar=PATH; ", err), err
    assert err.rstrip().endswith(f"no output was written to {out}") and len(err.strip().splitlines()) == 1, err


def test_code_tree_json_files_are_source_without_format(tmp_path, capsys):
    """`--input repo/ --domain code` without --format: package.json and other JSON files of
    the tree were read as JSON Lines (the README's `source` row: "a directory tree
    (--domain code)"), a pretty-printed one quarantined line by line as bad_json."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text('{\n  "name": "leftpad",\n  "main": "index.js"\n}\n')
    (repo / "index.js").write_text("module.exports = function (s, n) {\n  return s.padStart(n);\n};\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", repo, "--domain", "code", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    text = pq.read_table(out / "text", columns=["path", "language"]).to_pylist()
    assert sorted((r["path"], r["language"]) for r in text) == [("index.js", "javascript"), ("package.json", "json")]
    assert pq.read_table(out / "quarantine").num_rows == 0


def test_code_tree_link_to_a_file_outside_the_tree_is_not_read(tmp_path, capsys):
    """A checked-out repository with a symlink to a file outside it (`config.py ->
    ~/.secrets/prod.py`): the target's content became a document of the corpus."""
    secret = tmp_path / "elsewhere" / "prod.py"
    secret.parent.mkdir()
    secret.write_text("API_KEY = 'do-not-train-on-me'\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "main.py").write_text("import config\nprint(config.API_KEY)\n")
    (repo / "config.py").symlink_to(secret)
    (repo / "alias.py").symlink_to(repo / "main.py")  # inside the tree: read once, as main.py
    out = tmp_path / "o"
    assert run_cli("run", "--input", repo, "--domain", "code", "--format", "source", "--stages", "ingest",
                   "--output", out, "--progress", "off") == 0
    text = pq.read_table(out / "text", columns=["path", "text"]).to_pylist()
    assert sorted(r["path"] for r in text) == ["main.py"]
    assert not any("do-not-train-on-me" in r["text"] for r in text)
    q = pq.read_table(out / "quarantine").to_pylist()
    assert sorted((r["path"], r["reason"]) for r in q) == [("alias.py", "same_file"), ("config.py", "symlink_outside_tree")]


def test_a_file_reached_through_links_is_read_once(tmp_path, capsys):
    """A checkout with `src_alias -> src` (or `README.md -> docs/README.md`), a crawl folder
    with `latest -> 2024-10`: every file under the link was read again under its second name,
    two documents with the same text (without the dedup stage both were trained on; with it,
    which name was kept was the priority's choice). Now a file is read once, under the name
    that needs no link, and each other name is one quarantine row saying where it was read."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "main.py").write_text("def main():\n    return 'hello from main'\n")
    (repo / "src" / "util.py").write_text("def util():\n    return 'a helper'\n")
    (repo / "src_alias").symlink_to("src")
    (repo / "docs").mkdir()
    (repo / "docs" / "tool.py").write_text("print('a tool')\n")
    (repo / "tool.py").symlink_to("docs/tool.py")
    out = tmp_path / "code"
    assert run_cli("run", "--input", repo, "--domain", "code", "--format", "source", "--stages", "ingest",
                   "--output", out, "--progress", "off") == 0
    text = pq.read_table(out / "text", columns=["path"]).column("path").to_pylist()
    assert sorted(text) == ["docs/tool.py", "src/main.py", "src/util.py"]
    q = sorted((r["path"], r["reason"], r["detail"]) for r in pq.read_table(out / "quarantine").to_pylist())
    assert q == [("src_alias/main.py", "same_file", "the same file as 'src/main.py' (through a link): read there, not twice"),
                 ("src_alias/util.py", "same_file", "the same file as 'src/util.py' (through a link): read there, not twice"),
                 ("tool.py", "same_file", "the same file as 'docs/tool.py' (through a link): read there, not twice")], q

    crawl = tmp_path / "crawl"
    (crawl / "2024-10").mkdir(parents=True)
    (crawl / "2024-10" / "a.jsonl").write_text(json.dumps({"id": "a", "text": PAGES["en"]}) + "\n")
    (crawl / "latest").symlink_to("2024-10")
    # two links to one file outside a crawl folder (other disks): read once, under the first name
    (tmp_path / "disk2").mkdir()
    (tmp_path / "disk2" / "b.jsonl").write_text(json.dumps({"id": "b", "text": PAGES["de"]}) + "\n")
    two = tmp_path / "two"
    two.mkdir()
    (two / "x.jsonl").symlink_to(tmp_path / "disk2" / "b.jsonl")
    (two / "y.jsonl").symlink_to(tmp_path / "disk2" / "b.jsonl")
    # two inputs that reach one file (a folder and its subfolder; a link in a second folder):
    # read by the first input that lists it, a quarantine row in the others. One run for the
    # crawl's link, two's links and the inputs that overlap (three runs before: each case's rows
    # are told apart by source and detail)
    (two / "c.jsonl").symlink_to(crawl / "2024-10" / "a.jsonl")
    three = tmp_path / "three"
    assert run_cli("run", "--input", crawl, "--domain", "web", "--input", crawl / "2024-10", "--domain", "web", "--input", two,
                   "--domain", "web", "--stages", "ingest", "--output", three, "--progress", "off") == 0
    text = pq.read_table(three / "text", columns=["source", "source_id", "path"]).to_pylist()
    assert sorted((r["source"], r["source_id"], r["path"]) for r in text) == [("crawl", "a", "2024-10/a.jsonl"), ("two", "b", "x.jsonl")], text
    q = sorted((r["source"], r["path"], r["reason"], r["detail"]) for r in pq.read_table(three / "quarantine").to_pylist())
    assert {r[2] for r in q} == {"same_file"}, q
    q = [(source, path, detail) for source, path, _, detail in q]
    assert q == [("2024-10", "a.jsonl", "the same file as '2024-10/a.jsonl' of inputs[0]: read there, not twice"),
                 ("crawl", "latest/a.jsonl", "the same file as '2024-10/a.jsonl' (through a link): read there, not twice"),
                 ("two", "c.jsonl", "the same file as '2024-10/a.jsonl' of inputs[0]: read there, not twice"),
                 ("two", "y.jsonl", "the same file as 'x.jsonl' (through a link): read there, not twice")], q


def test_two_inputs_that_would_share_provenance_are_an_error(tmp_path, capsys):
    """`--input 'crawl1/data/*.jsonl' --input 'crawl2/data/*.jsonl'`: both default to source
    "data" and hold part-0.jsonl, so their rows had the same source, path and offset: which
    crawl a kept or removed document came from could not be told from the output."""
    for c in (1, 2):
        (tmp_path / f"crawl{c}" / "data").mkdir(parents=True)
        (tmp_path / f"crawl{c}" / "data" / "part-0.jsonl").write_text(json.dumps({"text": f"{PAGES['en']} ({c})"}) + "\n")
    def run(*sources):
        inputs = [a for c in (1, 2) for a in ("--input", tmp_path / f"crawl{c}/data/*.jsonl", "--domain", "web",
                                               *(("--source", f"crawl{c}") if sources else ()))]
        return run_cli("run", *inputs, "--stages", "ingest", "--output", tmp_path / "o", "--progress", "off")

    assert run() == 2
    err = capsys.readouterr().err
    assert "inputs[1]: 'part-0.jsonl' under source 'data' is also a file of inputs[0]" in err and "--source" in err, err
    assert run("own sources") == 0
    assert sorted(pq.read_table(tmp_path / "o" / "text").column("source").to_pylist()) == ["crawl1", "crawl2"]


def test_audit_corpus_of_jsonl_with_a_byte_order_mark(tmp_path, capsys):
    """`curate audit --corpus export.jsonl` of a file starting with a UTF-8 BOM said
    "curate audit: InternalError(TapeError) at character 0 ('ï')"."""
    from curate.audit import command

    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps({"text": v}) + "\n" for v in PAGES.values()).encode())
    assert command.main(["--corpus", str(path), "--output", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "a" / "stats" / "summary.json").read_text())["documents"]["total"] == len(PAGES)


@pytest.mark.parametrize("empty", [b"", b"\n\r\n", b"\xef\xbb\xbf", "gzip"], ids=["0 bytes", "blank lines", "a BOM", "empty .gz"])
def test_audit_corpus_with_an_empty_jsonl_file(tmp_path, capsys, empty):
    """`curate audit --corpus dump/` of a folder holding one empty JSONL shard (a writer with
    nothing to write) stopped with "cannot be read (Cannot infer NDJSON types on empty reader
    ...): a damaged or truncated file", exit 2, where `curate run` reads it as no records. An
    empty file holds no document; the others are audited."""
    import gzip

    from curate.audit import command

    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "a.jsonl").write_text("".join(json.dumps({"text": v}) + "\n" for v in PAGES.values()))
    if empty == "gzip":
        (dump / "b.jsonl.gz").write_bytes(gzip.compress(b""))
    else:
        (dump / "b.jsonl").write_bytes(empty)
    assert command.main(["--corpus", str(dump), "--output", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "a" / "stats" / "summary.json").read_text())["documents"]["total"] == len(PAGES)
    (dump / "c.jsonl").write_text('{"text": "a line cut sh')  # damaged, not empty: still said
    assert command.main(["--corpus", str(dump), "--output", str(tmp_path / "b")]) == 2
    assert "c.jsonl: line 1 is not JSON (Unterminated string starting at column 10)" in capsys.readouterr().err


def test_a_home_folder_path_is_the_home_folder(tmp_path, pages, monkeypatch, capsys):
    """A team config's `output = "~/corpus"` (or `--output=~/corpus`, which the shell leaves as
    it is) wrote the corpus into a new folder named `~` in the current directory, one
    `rm -rf ~` from the user's home; `glob = "~/data/*.jsonl"` matched no files. A leading `~`
    is the home folder, as in a shell."""
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "data").mkdir(parents=True)
    work.mkdir()
    (home / "data" / "pages.jsonl").write_bytes(pages.read_bytes())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    cfg = work / "team.toml"
    cfg.write_text('[run]\noutput = "~/corpus"\nstages = ["ingest"]\nprogress = "off"\n\n'
                   '[[inputs]]\nglob = "~/data/*.jsonl"\ndomain = "web"\n')
    assert run_cli("run", cfg) == 0, capsys.readouterr().err
    assert run_cli("run", "--input", "~/data/pages.jsonl", "--domain", "web", "--output=~/c2", "--stages", "ingest", "--progress", "off") == 0
    assert not (work / "~").exists()
    for out in (home / "corpus", home / "c2"):
        assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == sorted(PAGES)
    assert json.loads((home / "corpus" / "manifest.json").read_text())["inputs"][0]["source"] == "data"


def test_a_folder_where_the_config_goes(tmp_path, pages, capsys):
    """`curate run --input a.jsonl --domain web data/` (a folder left without its --input) ended
    in an IsADirectoryError traceback from reading it as the TOML config."""
    assert run_cli("run", "--input", pages, "--domain", "web", tmp_path, "--output", tmp_path / "o") == 2
    assert f"curate: config error: {tmp_path}: a folder, not a TOML config (an input goes after --input)" in capsys.readouterr().err


def test_a_data_file_where_the_config_goes(tmp_path, pages, capsys):
    """`curate run pages.jsonl` (a data file given as the config) said "not valid TOML: Invalid
    statement (at line 1, column 1)", as if the user had written a broken config."""
    gz = tmp_path / "crawl.warc.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    for path, fmt in ((pages, "jsonl"), (gz, "warc")):
        assert run_cli("run", path, "--output", tmp_path / "o") == 2
        assert capsys.readouterr().err == (f"curate: config error: {path}: a {fmt} file, not a TOML config (an input of curate "
                                           f"run goes after --input: --input {path} --domain DOMAIN)\n")


def test_audit_of_a_file_points_to_corpus(tmp_path, pages, capsys):
    """`curate audit dump.jsonl` said "dump.jsonl: no such directory" for a file that exists."""
    from curate.audit import command

    assert command.main([str(pages)]) == 2
    assert f"curate audit: {pages}: a file, not a curate output directory; audit files with --corpus {pages}" in capsys.readouterr().err


def test_job_endpoint_that_does_not_answer_says_so(tmp_path, pages, capsys):
    """--runner=PortableRunner --job_endpoint=HOST:PORT with nothing listening: after
    --job_server_timeout (Beam's default: 300 s) a FutureTimeoutError traceback with no message;
    then a line that named neither the address nor the timeout given (it said 300). A first run
    (no output there before) said 'the previous output in OUT is unchanged': there was none."""
    out = tmp_path / "o"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off",
                   "--runner=PortableRunner", "--job_endpoint=localhost:1", "--environment_type=LOOPBACK", "--job_server_timeout=1") == 1
    err = capsys.readouterr().err
    assert err.startswith("curate: the runner's job server could not be reached: nothing answered at --job_endpoint=localhost:1 "
                          f"within 1 s (--job_server_timeout): start the job service there, or fix the address; no output "
                          f"was written to {out}"), err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("before, said", [("none", "no output was written to gs://b/out"),
                                           ("one", "the previous output in gs://b/out is unchanged")])
def test_a_bucket_out_of_reach_after_a_failed_run_says_what_was_there_before(monkeypatch, before, said):
    """A run into a bucket that failed (a worker killed) and whose bucket could not be asked then
    (the network gone) said 'the previous output in gs://b/out is unchanged' on a first run, where
    there was none: what the output held when the run began is said, as a local first run's is."""
    import pyarrow.fs as pafs

    from curate import commit, output
    from pipelines.pool import WorkerDied

    gone = []

    def file_type(path):  # the bucket answers before the run, then is out of reach
        if gone:
            raise OSError("unreachable")
        return pafs.FileType.File if before == "one" else pafs.FileType.NotFound

    def run(cfg, shards, beam_args):
        gone.append(True)
        raise WorkerDied("a worker process was killed")

    monkeypatch.setattr(output, "file_type", file_type)
    monkeypatch.setattr(commit, "decided", lambda root: False)  # no commit under way (not asked of a bucket)
    cfg = types.SimpleNamespace(run={"output": "gs://b/out"})
    with pytest.raises(cli.RunFailed) as e:
        cli._interruptible(run, cfg, [], [])
    assert str(e.value) == f"a worker process was killed; {said}"


def test_an_unreadable_folder_of_an_input_is_an_error(tmp_path, capsys, monkeypatch):
    """A subfolder the user may not list (chmod 000 crawl/sub) was passed over by the walk without
    a word, its files left out of the run. It is an error before the run now, naming it, for a
    folder input and a ** glob alike. (The permission error is simulated: tests may run as root.)"""
    crawl = tmp_path / "crawl"
    (crawl / "sub").mkdir(parents=True)
    for name in ("a.jsonl", "sub/b.jsonl"):
        (crawl / name).write_text(json.dumps({"text": "A page about rivers, towns and the bridges between them."}) + "\n")
    scandir = os.scandir

    def refusing(path="."):
        if os.fspath(path).rstrip(os.sep).endswith(os.sep + "sub"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    for given in (crawl, f"{crawl}/**/*.jsonl"):
        assert run_cli("run", "--input", given, "--domain", "web", "--stages", "ingest", "--output", tmp_path / "o",
                       "--progress", "off") == 2
        err = capsys.readouterr().err
        assert "inputs[0]: the folder 'sub' cannot be read (Permission denied)" in err, err
    assert not (tmp_path / "o").exists()


def test_files_under_a_linked_folder_are_read_or_accounted_for(tmp_path, capsys):
    """An input folder holding a link to another folder (`crawl/2024 -> /mnt/disk2/2024`): the
    files under the link were left out without a word (the walk did not follow links), while
    `crawl/**/*.jsonl` read them. Now the link is followed, a loop back to a folder being
    walked (`crawl/again -> .`) is not walked twice, and in a code tree a link out of the tree
    is one quarantine row, like a file link out of it."""
    elsewhere = tmp_path / "disk2" / "2024"
    elsewhere.mkdir(parents=True)
    (elsewhere / "b.jsonl").write_text(json.dumps({"id": "b", "text": PAGES["de"]}) + "\n")
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "a.jsonl").write_text(json.dumps({"id": "a", "text": PAGES["en"]}) + "\n")
    (crawl / "2024").symlink_to(elsewhere)
    (crawl / "again").symlink_to(crawl)
    (elsewhere / "up").symlink_to(crawl)  # a loop through two links
    out = tmp_path / "o"
    assert run_cli("run", "--input", crawl, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    text = pq.read_table(out / "text", columns=["source_id", "path"]).to_pylist()
    assert sorted((r["source_id"], r["path"]) for r in text) == [("a", "a.jsonl"), ("b", "2024/b.jsonl")]
    # `**` followed the loops 40 levels deep: a.jsonl read 41 times, as again/again/.../a.jsonl
    assert run_cli("run", "--input", f"{crawl}/**/*.jsonl", "--domain", "web", "--stages", "ingest", "--output",
                   tmp_path / "o2", "--progress", "off") == 0
    assert pq.read_table(tmp_path / "o2" / "text", columns=["source_id", "path"]).to_pylist() == text

    outside = tmp_path / "vendor-checkout"
    outside.mkdir()
    (outside / "secret.py").write_text("API_KEY = 'do-not-train-on-me'\n")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "main.py").write_text("print('hello')\n")
    (repo / "lib").symlink_to(outside)
    (repo / "src" / "loop").symlink_to(repo)
    code = tmp_path / "code"
    assert run_cli("run", "--input", repo, "--domain", "code", "--format", "source", "--stages", "ingest",
                   "--output", code, "--progress", "off") == 0
    assert pq.read_table(code / "text", columns=["path"]).column("path").to_pylist() == ["src/main.py"]
    q = pq.read_table(code / "quarantine").to_pylist()
    assert [(r["path"], r["reason"]) for r in q] == [("lib", "symlink_outside_tree")], q
    assert str(outside) in q[0]["detail"]


def test_runs_leave_nothing_in_the_temp_folder(tmp_path, pages, monkeypatch):
    """/tmp filled up with Beam's folders: every run left beam-temp*, and two tmp* folders,
    and a run interrupted while its pipeline was being built also beam-pipeline-temp* (420 of
    them from the test suite's interrupted runs). A run now leaves the temp folder as it was."""
    import tempfile

    from pipelines import pipeline

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    args = ["run", "--input", pages, "--domain", "web", "--stages", "ingest,langid", "--progress", "off"]
    assert run_cli(*args, "--output", tmp_path / "o") == 0
    assert sorted(p.name for p in tmp.iterdir()) == []
    build = pipeline.build

    def interrupted(*a, **kw):
        build(*a, **kw)
        raise KeyboardInterrupt  # Ctrl-C before the pipeline runs

    monkeypatch.setattr(pipeline, "build", interrupted)
    assert run_cli(*args, "--output", tmp_path / "o2") == cli.INTERRUPTED
    assert sorted(p.name for p in tmp.iterdir()) == []


def test_a_killed_runs_temp_folder_is_removed_by_the_next_run(tmp_path, pages, monkeypatch):
    """A run killed with SIGKILL (or by the OOM killer) cannot remove its temp folder
    (curate-run-PID-*, 1.7 MB with Beam's and tiktoken's files); the next run removes the
    folders of runs whose process is gone, and leaves a live run's alone."""
    import subprocess
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs
    live = subprocess.Popen(["sleep", "60"])
    try:
        for pid in (gone.pid, live.pid):
            (tmp / f"curate-run-{pid}-abc" / "beam-temp-x").mkdir(parents=True)
        (tmp / "curate-run-notes").mkdir()  # not a run's folder: not curate's to delete
        assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--progress", "off",
                       "--output", tmp_path / "o") == 0
        assert sorted(p.name for p in tmp.iterdir()) == sorted(["curate-run-notes", f"curate-run-{live.pid}-abc"])
    finally:
        live.kill()


def test_audit_and_loader_of_a_uri_output(tmp_path, pages, capsys):
    """`curate run ... --output file:///data/out` printed the output's URI, but `curate audit` and
    TokenLoader said "no such directory" for that URI (and for gs://, where the folder exists)."""
    from curate.audit import command
    from curate.loader import TokenLoader

    out = tmp_path / "my out"
    uri = f"file://{out}"
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest,tokenize", "--output", uri, "--progress", "off") == 0
    assert command.main([uri]) == 0
    assert (out / "report.html").exists()
    assert len(TokenLoader(uri, batch_size=1, seq_len=8)) == len(TokenLoader(str(out), batch_size=1, seq_len=8)) > 0
    # a bucket's output is read where it is: tests/test_buckets.py


def test_workers_option(tmp_path, pages, capsys):
    """`curate run ... --workers 2` was "unknown option --workers (did you mean --num_workers?)",
    and --num_workers, a Dataflow option, was accepted and did nothing on the local runner:
    run.workers could be set only in a TOML file. --workers N sets it; outputs do not change."""
    outs = []
    for n in ("1", "2"):
        out = tmp_path / f"w{n}"
        assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest,langid,dedup", "--workers", n,
                       "--output", out, "--progress", "off") == 0
        assert json.loads((out / "manifest.json").read_text())["config"]["run"]["workers"] == int(n)
        outs.append(out)
    for f in sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.parquet")):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    assert run_cli("run", "--input", pages, "--domain", "web", "--workers", "-1", "--output", tmp_path / "o") == 2
    assert "run.workers: must be >= 0, got -1" in capsys.readouterr().err


def test_field_names_that_are_not_strings_are_config_errors(tmp_path, capsys):
    """`text_field = ["body", 3]` for a Parquet input was a traceback (AttributeError: 'int'
    object has no attribute 'split'), and `text_field = 5` one too once other mistakes were
    listed with it."""
    import pyarrow as pa

    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a short page"]}), table)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{table}"\ndomain = "web"\ntext_field = ["body", 3]\nmeta_fields = ["x", 1]\n'
                   f'[[inputs]]\nglob = "{table}"\ndomain = "web"\nsource = "two"\ntext_field = 5\n'
                   f'[[inputs]]\nglob = "{tmp_path}/none-*.jsonl"\ndomain = "web"\n')
    assert run_cli("run", cfg, "--output", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert "inputs[0].text_field: expected a string or a list of strings, got ['body', 3]" in err, err
    assert "inputs[0].meta_fields: expected a list of strings, got ['x', 1]" in err
    assert "inputs[1].text_field: expected a string or a list of strings, got 5" in err
    assert f"inputs[2].glob: '{tmp_path}/none-*.jsonl' matches no files" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_audit_output_into_another_curate_output_is_refused(tmp_path, pages, capsys, ingested):
    """`curate audit --corpus X --output DIR`, DIR a curate output, replaced DIR's own
    report.html and stats/summary.json with X's, and the next run into DIR then refused
    ("report.html, stats/summary.json changed since curate wrote it")."""
    from curate.audit import command

    out, other = tmp_path / "o", tmp_path / "o2"
    ingested(out), ingested(other)
    assert command.main([str(out)]) == 0
    before = {p: p.read_bytes() for p in (out / "report.html", out / "stats" / "summary.json")}
    capsys.readouterr()
    for args in (["--corpus", str(pages)], [str(other)]):
        assert command.main([*args, "--output", str(out)]) == 2
        assert f"curate audit: {out}: a curate output; its own audit goes there (curate audit {out}): choose another --output" in capsys.readouterr().err
        assert {p: p.read_bytes() for p in before} == before
    assert command.main([str(out), "--output", str(out)]) == 0  # its own audit, named twice
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0



@pytest.mark.parametrize("into", ["folder", "curate_output"])
def test_audit_leaves_a_report_of_the_users_alone(tmp_path, pages, capsys, into, ingested):
    """`curate audit --corpus X --output site/` overwrote site/report.html and
    site/stats/summary.json of the user's own without a word; so did `curate audit DIR` a
    report.html the user had put into the curate output DIR (its manifest does not list it).
    Refused, naming the file; an earlier audit's report is replaced as before."""
    from curate.audit import command

    if into == "folder":
        where = tmp_path / "site"
        where.mkdir()
        args = ["--corpus", str(pages), "--output", str(where)]
    else:
        where = tmp_path / "o"
        ingested(where)
        args = [str(where)]
    mine = where / "report.html"
    mine.write_text("<h1>my own report</h1>\n")
    capsys.readouterr()
    assert command.main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"curate audit: {str(where)!r}: report.html is not a report curate audit wrote; move it away "
                   "or give --output another folder\n"), err
    assert mine.read_text() == "<h1>my own report</h1>\n" and not (where / "stats" / "summary.json").exists()
    mine.unlink()
    assert command.main(args) == 0 and command.main(args) == 0  # written, then replaced


def test_links_to_missing_files_are_named_before_the_run(tmp_path, pages, capsys):
    """A link whose target is gone (crawl/b.jsonl -> an unmounted disk) was left out without a
    word by a folder or a glob, and named directly it "matched no files"."""
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "a.jsonl").write_text(pages.read_text())
    gone = tmp_path / "disk2" / "b.jsonl"
    (crawl / "b.jsonl").symlink_to(gone)
    for given in (crawl, f"{crawl}/*.jsonl", crawl / "b.jsonl"):
        out = tmp_path / "o"
        assert run_cli("run", "--input", given, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert f"inputs[0]: 'b.jsonl' is a link to {str(gone)!r}, which does not exist; fix or remove the link" in err, err
        assert "matches no files" not in err and not out.exists()


def test_a_code_trees_links_to_nothing_are_quarantined_not_an_error(tmp_path, capsys):
    """A checkout's link to a file not built (dist/app.js -> ../build/app.js) refused the whole
    run until the user edited their repository; in a code tree it is one quarantine row."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "main.py").write_text("def main():\n    return 'hello from the tree'\n")
    (repo / "src" / "gen.py").symlink_to("../build/gen.py")
    out = tmp_path / "o"
    for given in (repo, f"{repo}/**/*.py", f"{repo}/src/*.py"):
        assert run_cli("run", "--input", given, "--domain", "code", "--format", "source", "--stages", "ingest",
                       "--output", out, "--progress", "off") == 0, capsys.readouterr().err
        quarantine = pq.read_table(out / "quarantine").to_pylist()
        assert [(q["path"].split("/")[-1], q["reason"], q["detail"]) for q in quarantine] == [
            ("gen.py", "broken_symlink", "a link to ../build/gen.py, which does not exist: not read")]
        assert [p.split("/")[-1] for p in pq.read_table(out / "text").column("path").to_pylist()] == ["main.py"]


def test_adding_shards_to_a_corpus_as_the_readme_says(tmp_path, capsys, monkeypatch):
    """README, Adding shards: the same command over a folder with a new file keeps the old
    documents' ids (path-keyed here: no id field) and dedups the new shard against the old. What
    a rerun says of its files (none for the same files, a file changed underneath) is what
    output.input_changes says of the manifest's files and those the command plans to read."""
    from curate import output

    def planned() -> list[dict]:  # the input files the command would read, as its manifest lists them
        with monkeypatch.context() as m:
            got = []
            m.setattr(cli, "cmd_run", lambda ns, beam_args: got.append(cli.prepare_run(ns)[1]) or 0)
            assert run_cli(*args) == 0
        return [output.input_entry(s) for s in got[0] if s.start == 0]

    crawl, out = tmp_path / "crawl", tmp_path / "corpus"
    crawl.mkdir()
    (crawl / "a.jsonl").write_text("".join(json.dumps({"text": PAGES[k]}) + "\n" for k in ("en", "fr")))
    args = ("run", "--input", crawl, "--domain", "web", "--languages", "all", "--stages", "ingest,langid,dedup",
            "--output", out, "--progress", "off")
    assert run_cli(*args) == 0
    old = set(pq.read_table(out / "text").column("id").to_pylist())
    (crawl / "b.jsonl").write_text(json.dumps({"text": PAGES["fr"]}) + "\n" + json.dumps({"text": PAGES["de"]}) + "\n")
    capsys.readouterr()
    assert run_cli(*args) == 0
    err = capsys.readouterr().err
    assert f"curate: replaced the previous output in {out}, made from other input files: 1 file added (crawl/b.jsonl)" in err, err
    new = set(pq.read_table(out / "text").column("id").to_pylist())
    ledger = pq.read_table(out / "ledger").to_pylist()
    assert old < new and len(new) == 3
    assert [(r["path"], r["rule"], r["kept_id"] in old) for r in ledger] == [("b.jsonl", "exact_duplicate", True)]
    inputs = json.loads((out / "manifest.json").read_text())["inputs"]
    assert [{k: v for k, v in i.items() if k != "skipped_records"} for i in inputs] == planned()
    assert output.input_changes(inputs, planned()) is None  # the same files: nothing to say
    (crawl / "a.jsonl").write_text(json.dumps({"text": PAGES["en"] + " Updated."}) + "\n")  # changed underneath
    assert output.input_changes(inputs, planned()) == "1 file changed (crawl/a.jsonl)"


def test_input_options_replacing_the_configs_inputs_say_so(tmp_path, pages, capsys):
    """`curate run my.toml --input extra.jsonl --domain web` read only extra.jsonl: the
    config's [[inputs]] were dropped without a word. They still are (command-line options
    override the config), but the run says so."""
    other = tmp_path / "other.jsonl"
    other.write_text(pages.read_text())
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{other}"\ndomain = "web"\n[[inputs]]\nglob = "{other}"\ndomain = "books"\nsource = "b"\n')
    out = tmp_path / "o"
    assert run_cli("run", cfg, "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert f"curate: the --input options replace the 2 [[inputs]] of {cfg}" in capsys.readouterr().err
    assert run_cli("run", cfg, "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert "--input options replace" not in capsys.readouterr().err  # (the output it replaced had other inputs: said)


def test_replaced_inputs_are_counted_by_the_one_reading_of_the_config(tmp_path, pages, capsys):
    """The run opened the config a second time to count the [[inputs]] the --input options
    replaced: a config read from a pipe (`curate run <(make-config) --input ...`) was empty
    the second time, and the run said nothing."""
    text = f'[[inputs]]\nglob = "{pages}"\ndomain = "web"\n'
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert config.load(str(cfg), {"inputs": [{"glob": str(pages), "domain": "books"}]}).replaced_inputs == 1
    assert config.load(str(cfg)).replaced_inputs == 0
    assert config.load(None, {"inputs": [{"glob": str(pages), "domain": "books"}]}).replaced_inputs == 0
    r, w = os.pipe()
    os.write(w, text.encode())
    os.close(w)
    try:
        assert run_cli("run", f"/dev/fd/{r}", "--input", pages, "--domain", "books", "--stages", "ingest",
                       "--output", tmp_path / "o", "--progress", "off") == 0
    finally:
        os.close(r)
    assert f"curate: the --input options replace the 1 [[inputs]] of /dev/fd/{r}" in capsys.readouterr().err


def test_a_misspelt_id_or_url_field_is_said_before_running(tmp_path, capsys):
    """`--id-field docid` for a dump whose field is doc_id ran to the end with every source_id
    (and, for --url-field, every url) null: the user's own ids lost without a word, so joining
    results back to their data found nothing. A field the user names must be in the records."""
    import pyarrow as pa

    jl, pqt = tmp_path / "j" / "dump.jsonl", tmp_path / "p" / "dump.parquet"
    jl.parent.mkdir(), pqt.parent.mkdir()
    rows = [{"doc_id": k, "body": v, "link": f"https://{k}.example/"} for k, v in PAGES.items()]
    jl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), pqt)
    for path, what in ((jl, "none of its 3 records has the {} field (none of {}; its fields: doc_id, body, link)"),
                       (pqt, "has no {} column (none of {}; its columns: doc_id, body, link)")):
        out = tmp_path / f"o-{path.suffix[1:]}"
        for opt, wrong in (("--id-field", "docid"), ("--url-field", "url")):
            assert run_cli("run", "--input", path, "--domain", "web", "--text-field", "body", opt, wrong,
                           "--output", out, "--progress", "off") == 2
            err = capsys.readouterr().err
            field = opt[2:-6]
            assert f"inputs[0]: dump.{path.suffix[1:]}{':' * (path is jl)} {what.format(field, wrong)}; give {opt} after its --input" in err, err
            assert not out.exists()
        assert run_cli("run", "--input", path, "--domain", "web", "--text-field", "body", "--id-field", "doc_id", "--url-field", "link",
                       "--stages", "ingest", "--output", out, "--progress", "off") == 0
        t = pq.read_table(out / "text").to_pylist()
        assert sorted((r["source_id"], r["url"]) for r in t) == sorted((k, f"https://{k}.example/") for k in PAGES)


def test_a_misspelt_meta_field_is_said_before_running(tmp_path, capsys):
    """`meta_fields = ["licence"]` for a dump whose field is `license` ran to the end with the
    meta column empty: the licence of every document lost without a word. A meta field no
    record of the input has (JSONL: its first 100; Parquet: its columns) is a misspelling."""
    import pyarrow as pa

    jl, pqt = tmp_path / "j" / "dump.jsonl", tmp_path / "p" / "dump.parquet"
    jl.parent.mkdir(), pqt.parent.mkdir()
    rows = [{"text": v, "license": "cc-by", "lang": k} for k, v in PAGES.items()]
    jl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), pqt)
    for path, message in ((jl, "dump.jsonl: none of its 3 records has the meta field 'licence' (its fields: text, license, lang)"),
                          (pqt, "dump.parquet has no column 'licence' (its columns: text, license, lang)")):
        cfg = tmp_path / "c.toml"
        out = tmp_path / f"o-{path.suffix[1:]}"
        for fields, code in ((["lang", "licence"], 2), (["lang", "license"], 0)):
            cfg.write_text(f'[[inputs]]\nglob = "{path}"\ndomain = "web"\nmeta_fields = {json.dumps(fields)}\n'
                           f'[run]\nstages = ["ingest"]\noutput = "{out}"\n')
            assert run_cli("run", cfg, "--progress", "off") == code
            err = capsys.readouterr().err
            if code:
                assert f"inputs[0]: {message}; fix meta_fields in [[inputs]]" in err, err
                assert not out.exists()
        metas = [json.loads(m) for m in pq.read_table(out / "text").column("meta").to_pylist()]
        assert sorted(m["lang"] for m in metas) == sorted(PAGES) and {m["license"] for m in metas} == {"cc-by"}


def test_a_field_only_later_records_have_is_not_refused(tmp_path, capsys):
    """A meta field (or --id-field) that only records after the first 100 have (a licence set
    on some records, ids added to a dump's later part) was refused before the run as a
    misspelling, with no way to run the input short of dropping the field. The check looks
    on through the file for the field's name before refusing; one it never names is refused."""
    path = tmp_path / "late.jsonl"
    rows = [{"text": f"record {i} of a dump whose later records carry more fields", **(
        {"license": "cc-by", "doc_id": f"d{i}"} if i >= 150 else {})} for i in range(160)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = _misspelt_then_right_meta_field(tmp_path, capsys, path,
                                          "inputs[0]: late.jsonl: none of its records has the meta field 'licence' (its fields: text); fix meta_fields")
    t = pq.read_table(out / "text").to_pylist()
    assert len(t) == 160 and sorted(r["source_id"] for r in t if r["source_id"]) == [f"d{i}" for i in range(150, 160)]
    assert sum(json.loads(r["meta"] or "{}").get("license") == "cc-by" for r in t) == 10


def _misspelt_then_right_meta_field(tmp_path, capsys, glob, refusal: str):
    """Run ingest over ``glob`` with meta_fields ["licence"] (refused with ``refusal``, nothing
    written), then ["license"] (runs); returns the output folder."""
    out = tmp_path / "out"
    for fields, code in ((["licence"], 2), (["license"], 0)):
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[[inputs]]\nglob = "{glob}"\ndomain = "web"\nid_field = "doc_id"\nmeta_fields = {json.dumps(fields)}\n'
                       f'[run]\nstages = ["ingest"]\noutput = "{out}"\n')
        assert run_cli("run", cfg, "--progress", "off") == code
        err = capsys.readouterr().err
        if code:
            assert refusal in err, err
            assert not out.exists()
    return out


def test_the_search_for_a_field_is_bounded_per_input(tmp_path, capsys, monkeypatch):
    """Past the first 100 records, an input's JSONL files are searched for a named field up to
    SCAN_BYTES together (a misspelling in 1,000 files of 1 GB must not read them all before
    saying so); where the search runs out first, the input is not refused: it cannot tell."""
    from curate.readers import jsonl

    data = tmp_path / "data"
    data.mkdir()
    for k in range(3):
        (data / f"{k}.jsonl").write_text("".join(json.dumps({"text": f"page {i} of file {k}"}) + "\n" for i in range(300)))
    ((data / "2.jsonl").open("a")).write(json.dumps({"text": "the last page", "license": "cc-by"}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{data}"\ndomain = "web"\nmeta_fields = ["license"]\n'
                   f'[run]\nstages = ["ingest"]\noutput = "{tmp_path / "out"}"\n')
    size = sum(p.stat().st_size for p in data.iterdir())
    reads = []
    monkeypatch.setattr(jsonl, "_named_later", lambda *a, f=jsonl._named_later: reads.append(a[-1][0]) or f(*a))
    for budget, code in ((size, 0), (size // 4, 0)):
        monkeypatch.setattr(jsonl, "SCAN_BYTES", budget)
        assert run_cli("run", cfg, "--progress", "off") == code, capsys.readouterr().err
    # the field found in the third file; then, with a quarter of the files' size to search, the
    # search stopped with the budget spent (read a chunk at a time), and the input ran
    assert len(reads) == 6 and reads[:4:3] == [size, size // 4] and reads[-1] <= 0 < reads[-2]
    cfg.write_text(cfg.read_text().replace('"license"', '"licence"'))
    monkeypatch.setattr(jsonl, "SCAN_BYTES", size)
    assert run_cli("run", cfg, "--progress", "off") == 2
    assert "0.jsonl: none of its records has the meta field 'licence' (its fields: text); fix meta_fields in [[inputs]] " \
           "(and as much of its 2 other files)" in capsys.readouterr().err


def test_a_column_only_later_parquet_files_have_is_not_refused(tmp_path, capsys):
    """A Parquet dataset whose newer files gained a `license` column (schema evolution) was
    refused as a whole for `meta_fields = ["license"]`: 'old.parquet has no column', with no
    way to run it but dropping the field. As for JSONL, a named id, url or meta field is a
    misspelling only when no file of the input has it; a file without it gives nulls."""
    import pyarrow as pa

    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.Table.from_pylist([{"text": "an old page without a licence column", "doc_id": "o1"}]), data / "a-old.parquet")
    pq.write_table(pa.Table.from_pylist([{"text": "a new page with its licence", "doc_id": "n1", "license": "cc-by"}]),
                   data / "b-new.parquet")
    out = _misspelt_then_right_meta_field(tmp_path, capsys, data,
                                          "inputs[0]: a-old.parquet has no column 'licence' (its columns: text, doc_id); fix meta_fields")
    t = {r["source_id"]: json.loads(r["meta"] or "{}").get("license") for r in pq.read_table(out / "text").to_pylist()}
    assert t == {"o1": None, "n1": "cc-by"}


def test_a_short_jsonl_files_missing_field_is_said_of_its_records_counted(tmp_path, capsys):
    """A JSONL file of one record without its text field was 'none of its first 1 records has a
    text field': a file shorter than the 100 records looked at is said whole ('its only record',
    'none of its 2 records'), one longer by its first 100."""
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"body": "x"}) + "\n")
    two = tmp_path / "two.jsonl"
    two.write_text(json.dumps({"body": "x"}) + "\n" + json.dumps({"body": "y", "uri": "u"}) + "\n")
    many = tmp_path / "many.jsonl"
    many.write_text((json.dumps({"body": "x"}) + "\n") * 101)
    for path, flags, said in ((one, [], "one.jsonl: its only record has no text field (none of text, content, raw_content; its fields: body)"),
                              (two, [], "two.jsonl: none of its 2 records has a text field (none of text, content, raw_content; its fields: body)"),
                              (many, [], "many.jsonl: none of its first 100 records has a text field"),
                              (one, ["--text-field", "body", "--url-field", "link"], "one.jsonl: its only record has no url field (none of link;")):
        assert run_cli("run", "--input", path, "--domain", "web", *flags, "--output", tmp_path / "o", "--progress", "off") == 2
        err = capsys.readouterr().err
        assert f"curate: config error: inputs[0]: {said}" in err, err


def test_jsonl_without_its_text_field_is_said_before_running(tmp_path, capsys):
    """`--text-field body` misspelt (or left out) for a JSONL dump ran to the end and put every
    record into the quarantine (missing_text_field), 0 documents out; Parquet inputs were
    already checked before running. An input none of whose files has the field in its first
    100 records is now said before running; one record with it (even null) is enough, and one
    odd file among others is still quarantined record by record."""
    import gzip

    path = tmp_path / "dump.jsonl.gz"
    rows = [{"doc_id": k, "body": v} for k, v in PAGES.items()]
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    out = tmp_path / "o"
    for extra in ([], ["--text-field", "bdy"]):
        assert run_cli("run", "--input", path, "--domain", "web", *extra, "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        names = "bdy" if extra else "text, content, raw_content"
        assert f"inputs[0]: dump.jsonl.gz: none of its 3 records has a text field (none of {names}; its fields: doc_id, body)" in err, err
        assert "--text-field" in err and not out.exists()
    later = tmp_path / "later.jsonl"
    later.write_text(json.dumps({"doc_id": "x"}) + "\n" + json.dumps({"text": None}) + "\n")
    assert run_cli("run", "--input", path, "--domain", "web", "--text-field", "body", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    # later.jsonl's second record has the field (null): the input is run (later.jsonl alone is, too: it vouches here)
    assert run_cli("run", "--input", f"{tmp_path}/*.jsonl*", "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert pq.read_table(out / "quarantine").column("reason").to_pylist() == ["missing_text_field"] * 5  # dump's 3, later's 2


def test_jsonl_text_field_that_holds_no_text_is_said_before_running(tmp_path, capsys):
    """A JSONL dump whose `text` holds a list of paragraphs (or an object) ran to the end with
    every record quarantined (text_not_string), 0 documents, exit 0, where the same Parquet
    column is refused before the run. Said the same way now; one record with text is enough."""
    dump = tmp_path / "dump.jsonl"
    rows = [{"id": k, "text": v.split(", ")} for k, v in PAGES.items()]
    dump.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "o"
    assert run_cli("run", "--input", dump, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err == ("curate: config error: inputs[0]: dump.jsonl: its text field 'text' holds a list, not text, in its 3 "
                   "records; give --text-field naming a text field after its --input (text_field in [[inputs]]; its fields: "
                   "id, text)\n"), err
    assert not out.exists()
    dump.write_text("".join(json.dumps(r) + "\n" for r in rows) + json.dumps({"id": "x", "text": PAGES["en"]}) + "\n")
    assert run_cli("run", "--input", dump, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert pq.read_table(out / "quarantine").column("reason").to_pylist() == ["text_not_string"] * 3


def test_a_file_given_as_jsonl_without_one_json_object_is_said_before_running(tmp_path, pages, capsys, monkeypatch):
    """`--input export.csv --format jsonl` ran to the end, every line quarantined (invalid_json),
    0 documents, exit 0; and the check before the run read the whole file looking for a first
    JSON object (all 300 MB of a CSV). Its first 100 lines holding no object is now said, as a
    text field no file has is; one such file among JSON Lines files is still quarantined."""
    from curate.readers import jsonl

    csv = tmp_path / "data" / "export.csv"
    csv.parent.mkdir()
    csv.write_text("id,text\n" + "".join(f"{i},{v}\n" for i, v in enumerate(PAGES.values())) * 500)
    out = tmp_path / "o"
    read = []
    real_open = jsonl.open_bytes
    monkeypatch.setattr(jsonl, "open_bytes", lambda p, lim: _counting(real_open(p, lim), read))
    assert run_cli("run", "--input", csv, "--domain", "web", "--format", "jsonl", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err == (f"curate: config error: inputs[0]: export.csv: none of its first 100 lines is a JSON object (it starts "
                   "'id,text'): not JSON Lines; give the --format the file has\n"), err
    assert not out.exists() and 0 < sum(read) < csv.stat().st_size / 2  # not read to its end
    monkeypatch.undo()
    (csv.parent / "pages.jsonl").write_bytes(pages.read_bytes())  # among JSON Lines: quarantined line by line
    assert run_cli("run", "--input", csv.parent, "--domain", "web", "--format", "jsonl", "--stages", "ingest", "--output", out,
                   "--progress", "off") == 0
    assert pq.read_table(out / "text").num_rows == len(PAGES)


def test_records_longer_than_the_checks_read_are_not_taken_for_lines_of_another_format(tmp_path, capsys):
    """The not-JSON-Lines check reads a file a mebibyte at a time: each piece of a record longer
    than that counted as a line that is no JSON object, so 60 valid 1.5 MiB book records were
    "not JSON Lines", and a gigabyte of zeros (one endless line; tests/test_reliability.py) was
    refused before the run instead of quarantined. Such a line is no evidence either way."""
    # the fewest bytes that show it (~53 MB, not 90): records just over a MiB are two pieces
    # each, and 51 of them over the 100 lines the check reads
    books = tmp_path / "books.jsonl"
    with open(books, "w") as f:
        for i in range(51):
            f.write(json.dumps({"text": f"Chapter {i}.\n" + "The river ran on past the mill.\n" * 32_500}) + "\n")
    assert all(1 << 20 < len(line) < 2 << 20 for line in open(books, "rb"))
    out = tmp_path / "o"
    assert run_cli("run", "--input", books, "--domain", "books", "--stages", "ingest", "--output", out, "--progress", "off") == 0, \
        capsys.readouterr().err
    assert pq.read_table(out / "text").num_rows == 51


def _counting(f, read: list):
    """``f``, with the bytes its readline calls return appended to ``read``."""
    class Counting:
        def __getattr__(self, name):
            return getattr(f, name)

        def readline(self, *a):
            line = f.readline(*a)
            read.append(len(line))
            return line

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return f.__exit__(*exc)
    return Counting()


@pytest.mark.parametrize("odd", ["empty.jsonl", "cut.jsonl.gz", "damaged.parquet"])
def test_an_empty_or_truncated_file_does_not_vouch_for_a_misspelt_field(tmp_path, capsys, odd):
    """One empty file (or a truncated .gz, a damaged Parquet file) in a folder whose other files
    all lack the named field let a misspelt `--text-field`/`--id-field` run to the end: every
    record quarantined (missing_text_field) or every source_id null, exit 0. A file that gives
    no record to look at said "fine" and stopped the check; now it says nothing either way,
    and a truncated file is judged by the records before its cut."""
    import gzip

    import pyarrow as pa

    data = tmp_path / "data"
    data.mkdir()
    rows = [{"doc_id": k, "body": v} for k, v in PAGES.items()]
    parquet = odd.endswith(".parquet")
    if parquet:
        pq.write_table(pa.Table.from_pylist(rows), data / "a.parquet")
        (data / odd).write_bytes(b"PAR1 not a parquet file")
        flags, said = ["--text-field", "body", "--id-field", "docid"], "inputs[0]: a.parquet has no id column (none of docid; its columns: doc_id, body)"
    else:
        (data / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        whole = gzip.compress("".join(json.dumps(r) + "\n" for r in rows * 50).encode())
        (data / odd).write_bytes(b"" if odd == "empty.jsonl" else whole[: len(whole) // 2])
        flags, said = ["--text-field", "bdy"], "inputs[0]: a.jsonl: none of its 3 records has a text field (none of bdy; its fields: doc_id, body)"
    out = tmp_path / "o"
    assert run_cli("run", "--input", data, "--domain", "web", *flags, "--stages", "ingest", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1 and not out.exists(), err
    if not parquet:  # the truncated file's own records, before the cut, are looked at too
        (data / "a.jsonl").unlink()
        assert run_cli("run", "--input", data, "--domain", "web", *flags, "--stages", "ingest", "--output", out, "--progress", "off") == (
            0 if odd == "empty.jsonl" else 2)  # an input of one empty file: nothing to tell, nothing read
        err = capsys.readouterr().err
        assert odd == "empty.jsonl" or f"inputs[0]: {odd}: none of its first " in err, err

def test_utf16_jsonl_is_said_before_running(tmp_path, capsys):
    """PowerShell's `... > dump.jsonl` writes UTF-16 with a BOM: every line was quarantined
    (invalid_utf8) after a full run, 0 documents out. JSON Lines is UTF-8; said before running."""
    import gzip

    text = "".join(json.dumps({"id": k, "text": v}, ensure_ascii=False) + "\r\n" for k, v in PAGES.items())
    for name, data in (("ps.jsonl", text.encode("utf-16")), ("ps.jsonl.gz", gzip.compress(text.encode("utf-32")))):
        path = tmp_path / name
        path.write_bytes(data)
        out = tmp_path / "o"
        assert run_cli("run", "--input", path, "--domain", "web", "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        enc = "UTF-16" if name == "ps.jsonl" else "UTF-32"
        command = f"iconv -f {enc} -t UTF-8 < {path}" if name == "ps.jsonl" else f"gzip -dc {path} | iconv -f {enc} -t UTF-8"
        assert (f"inputs[0]: {name} is {enc} text (it starts with a byte-order mark); JSON Lines must be UTF-8: convert it "
                f"({command} > {tmp_path}/ps.lines.jsonl)") in err, err
        assert len(err.strip().splitlines()) == 1 and not out.exists()
        path.unlink()


NOT_ONE_OBJECT_A_LINE = ["pretty", "pretty_long", "utf16le", "utf16be", "values", "one"]


def _not_one_object_a_line(kind: str) -> bytes:
    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    return {"pretty": "".join(json.dumps(r, indent=2) + "\n" for r in rows).encode(),
            "pretty_long": "".join(json.dumps(r, indent=2) + "\n" for r in rows * 20).encode(),
            "utf16le": lines.encode("utf-16-le"), "utf16be": lines.encode("utf-16-be"),
            "values": "".join(json.dumps(v) + "\n" for v in PAGES.values()).encode(), "one": b"id,text\n"}[kind]


@pytest.mark.parametrize("kind", NOT_ONE_OBJECT_A_LINE)
def test_a_file_without_one_json_object_a_line_is_said_before_running_however_short(tmp_path, capsys, kind):
    """A file of fewer than 100 lines with no JSON object on any line ran to the end, every line
    quarantined, 0 documents, exit 0 (the check refused such a file after 100 lines only): a
    record per pretty-printed object (json.dumps(r, indent=2)), UTF-16 text with no byte-order
    mark (iconv -t UTF-16LE, .NET's Encoding.Unicode), JSON values that are no objects. Read to
    its end, such a file is said, with how to convert it; a pretty-printed one of more lines too."""
    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    name = "dump.jsonl"
    (tmp_path / name).write_bytes(_not_one_object_a_line(kind))
    out = tmp_path / "o"
    assert run_cli("run", "--input", tmp_path / name, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    said = {"pretty": f"dump.jsonl: none of its {4 * len(rows)} lines is a JSON object (it starts '{{'): records spread over "
                      "several lines (pretty-printed JSON) are not JSON Lines: convert it (jq -c . {d}/dump.jsonl > {d}/dump.lines.jsonl)",
            "pretty_long": "dump.jsonl: none of its first 100 lines is a JSON object (it starts '{'): records spread over "
                           "several lines (pretty-printed JSON) are not JSON Lines: convert it (jq -c . {d}/dump.jsonl > {d}/dump.lines.jsonl)",
            "utf16le": "dump.jsonl is UTF-16LE text (without a byte-order mark); JSON Lines must be UTF-8: convert it "
                       "(iconv -f UTF-16LE -t UTF-8 < {d}/dump.jsonl > {d}/dump.lines.jsonl)",
            "utf16be": "dump.jsonl is UTF-16BE text (without a byte-order mark); JSON Lines must be UTF-8: convert it "
                       "(iconv -f UTF-16BE -t UTF-8 < {d}/dump.jsonl > {d}/dump.lines.jsonl)",
            "values": f"dump.jsonl: none of its {len(rows)} lines is a JSON object (it starts {json.dumps(PAGES['en'])[:40]!r}): "
                      "not JSON Lines; give the --format the file has",
            "one": "dump.jsonl: its one line is not a JSON object (it starts 'id,text'): not JSON Lines; give the --format the file has"}[kind]
    said = said.replace("{d}", str(tmp_path))
    assert err == f"curate: config error: inputs[0]: {said}\n", err
    assert not out.exists()


def test_files_without_one_json_object_a_line_among_json_lines_do_not_stop_the_run(tmp_path, capsys):
    """Each file of the test above, among JSON Lines: the run goes on, its records not read (one
    run over a folder holding every kind, not a run each)."""
    data = tmp_path / "data"
    data.mkdir()
    for kind in NOT_ONE_OBJECT_A_LINE:
        (data / f"{kind}.jsonl").write_bytes(_not_one_object_a_line(kind))
    (data / "pages.jsonl").write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items()))
    out = tmp_path / "o"
    assert run_cli("run", "--input", data, "--domain", "web", "--format", "jsonl", "--stages", "ingest", "--output", out,
                   "--progress", "off") == 0, capsys.readouterr().err
    text = pq.read_table(out / "text", columns=["path", "source_id"]).to_pylist()
    assert sorted((r["path"], r["source_id"]) for r in text) == sorted(("pages.jsonl", k) for k in PAGES), text


def test_inputs_of_no_records_are_said_by_run_and_audit(tmp_path, capsys):
    """A 0-byte JSON Lines file and one of only blank lines ran to the end with only the table's
    0s to tell (no warning), and `curate audit` said '0 documents (); ...'. The run says the
    inputs held no record (not an error: an empty output, accounted for); the audit no '()'."""
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_text("\n  \n\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", tmp_path / "empty.jsonl", "--domain", "web", "--input", tmp_path / "blank.jsonl",
                   "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    captured = capsys.readouterr()
    assert "curate: warning: no record was read: the 2 input files (5 bytes) hold none (empty, blank lines, or no "\
           "documents in them); the output holds 0 documents\n" in captured.err, captured.err
    from curate.audit import command

    assert command.main([str(out)]) == 0
    assert capsys.readouterr().out.startswith("0 documents; 0 removed; 0 quarantined\n")


def test_a_run_whose_every_record_is_quarantined_says_so(tmp_path, capsys):
    """A file of one record longer than limits.max_record_bytes (a 200 MB line, here a 3 kB line
    under a limit of 1 kB: the check before the run cannot tell it from a long book) ran to the
    end with every record quarantined, 0 documents and only the summary's table to tell. The run
    says so, with the reasons, where each record's is, and what sets the limit."""
    dump = tmp_path / "one.jsonl"
    dump.write_text(json.dumps({"id": "big", "text": "word " * 600}) + "\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", dump, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off",
                   "--set", "limits.max_record_bytes=1000") == 0
    err = capsys.readouterr().err
    assert (f"curate: warning: every record read was quarantined, no document written (1 record: record_too_large 1): "
            f"each one's reason is in {out}/quarantine (curate audit {out}); limits.max_record_bytes sets how long a "
            "record may be\n") in err, err
    pages = tmp_path / "pages.jsonl"
    pages.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items()))
    assert run_cli("run", "--input", dump, "--domain", "web", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", out,
                   "--progress", "off", "--set", "limits.max_record_bytes=1000") == 0
    assert "warning" not in capsys.readouterr().err  # documents were written: the summary's table says the rest


def test_json_lines_starting_with_an_array_line_are_not_taken_for_one_array(tmp_path, capsys):
    """A file starting with '[' was refused as 'one JSON array' with a jq line to convert it,
    even where it is JSON Lines: one array per line (jq -c '.[]' would cut each record into
    its fields), or objects after an odd first line (which alone is quarantined). Only a file
    whose first line is not a whole JSON value, or is the only one, is one array."""
    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    odd = tmp_path / "odd.jsonl"
    odd.write_text('["header", "row"]\n' + "".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "o"
    assert run_cli("run", "--input", odd, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == sorted(PAGES)
    assert pq.read_table(out / "quarantine").column("reason").to_pylist() == ["not_an_object"]
    arrays = tmp_path / "arrays.jsonl"
    arrays.write_text("".join(json.dumps([k, v]) + "\n" for k, v in PAGES.items()))
    assert run_cli("run", "--input", arrays, "--domain", "web", "--output", tmp_path / "o2", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "inputs[0]: arrays.jsonl holds a JSON array on each line, not an object: JSON Lines records are objects" in err, err
    assert "jq" not in err


def test_a_json_array_file_is_said_before_running(tmp_path, capsys):
    """`json.dump(records, f)` (or pandas' to_json without lines=True) writes one array: all its
    records went to the quarantine as one not_an_object row, 0 documents out, no error."""
    import gzip

    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    # The command given writes a new file: `jq ... pretty.jsonl > pretty.jsonl` would have the
    # shell empty the input before jq reads it (the user's only copy lost), and jq reads no gzip.
    d, named = tmp_path, []
    for name, data, command in (("dump.json", json.dumps(rows), f"jq -c '.[]' {d}/dump.json > {d}/dump.jsonl"),
                                ("pretty.jsonl", json.dumps(rows, indent=2), f"jq -c '.[]' {d}/pretty.jsonl > {d}/pretty.lines.jsonl"),
                                ("v1.2.json", json.dumps(rows), f"jq -c '.[]' {d}/v1.2.json > {d}/v1.2.jsonl"),
                                ("z.jsonl.gz", gzip.compress(json.dumps(rows).encode()), f"gzip -dc {d}/z.jsonl.gz | jq -c '.[]' > {d}/z.lines.jsonl")):
        path, stem = tmp_path / name, name.split(".")[0]
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        out = tmp_path / f"o-{stem}"
        assert run_cli("run", "--input", path, "--domain", "web", "--output", out, "--progress", "off") == 2
        err = capsys.readouterr().err
        assert f"inputs[0]: {name} is one JSON array, not JSON Lines (one object per line): convert it ({command})" in err, err
        assert not out.exists()
        lines = "".join(json.dumps({**r, "id": f"{stem}/{r['id']}"}) + "\n" for r in rows)  # ids of one source: unique
        path.write_bytes(gzip.compress(lines.encode()) if name.endswith(".gz") else lines.encode())
        named.append(name)
    # as JSON Lines, under any of these names, each is read (one run over the four files)
    out = tmp_path / "o"
    inputs = [a for name in named for a in ("--input", tmp_path / name, "--domain", "web")]
    assert run_cli("run", *inputs, "--stages", "ingest", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
    text = pq.read_table(out / "text", columns=["path", "source_id"]).to_pylist()
    assert sorted((r["path"], r["source_id"]) for r in text) == sorted((n, f"{n.split('.')[0]}/{k}") for n in named for k in PAGES), text


def test_set_overrides_a_shared_config_and_the_manifest_records_it(tmp_path, pages, capsys):
    # a team's config with a budget and a threshold; one machine runs it with other values
    cfg = tmp_path / "team.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path}/out"\nshards = 2\n[[inputs]]\nglob = "{pages}"\ndomain = "web"\n'
                   '[langid]\nlanguages = ["en"]\nthreshold = 0.65\n')
    assert run_cli("run", cfg, "--stages", "ingest,langid", "--progress", "off", "--set", "langid.threshold=0.5",
                   "--set", "run.shards=1", "--set", 'langid.languages=["en", "de"]') == 0
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["config"]["run"]["shards"] == 1 and m["config"]["langid"]["threshold"] == 0.5
    assert m["config"]["langid"]["languages"] == ["en", "de"]
    assert m["set"] == ["langid.threshold=0.5", "run.shards=1", 'langid.languages=["en", "de"]']  # what came from the command line
    assert kept_languages(tmp_path / "out") == {"en", "de"}
    # the file is unchanged, and a rerun without --set says the config changed
    assert "threshold = 0.65" in cfg.read_text()
    assert run_cli("run", cfg, "--stages", "ingest,langid", "--progress", "off") == 0
    assert "made with another config (langid, run.shards)" in capsys.readouterr().err
    assert "set" not in json.loads((tmp_path / "out" / "manifest.json").read_text())


def test_a_stray_json_array_among_a_folders_json_lines_is_quarantined_not_the_folder_refused(tmp_path, capsys):
    """One `json.dump(records)` file (or a UTF-16 one) dropped into a shared folder of JSON Lines
    refused the whole folder: a team that cannot convert a file in a read-only share could not run.
    As for a text field one odd file lacks: quarantined whole, said at launch and in the
    quarantine; refused only when no file of the input is JSON Lines."""
    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "stray.json").write_text(json.dumps([{"id": "x", "text": "an array record"}]))
    (folder / "ps.jsonl").write_bytes(json.dumps({"id": "y", "text": "wide"}).encode("utf-16"))
    out = tmp_path / "o"
    assert run_cli("run", "--input", folder, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    err = capsys.readouterr().err
    assert ("curate: warning: stray.json is one JSON array, not JSON Lines (one object per line): convert it "
            f"(jq -c '.[]' {folder}/stray.json > {folder}/stray.jsonl); quarantined (not_json_lines), its records are not read") in err, err
    assert "curate: warning: ps.jsonl is UTF-16 text" in err and "Traceback" not in err
    assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == sorted(PAGES)
    q = pq.read_table(out / "quarantine").to_pylist()
    assert sorted((r["path"], r["reason"]) for r in q) == [("ps.jsonl", "not_json_lines"), ("stray.json", "not_json_lines")]
    # no file of the input is JSON Lines: nothing would be read, so it is refused, naming how many
    (folder / "a.jsonl").unlink()
    assert run_cli("run", "--input", folder, "--domain", "web", "--output", tmp_path / "o2", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert "(and 1 other file of the input: stray.json)" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "o2").exists()


def test_a_file_with_old_mac_line_ends_is_said_with_the_command_that_converts_it(tmp_path, capsys):
    """JSON Lines with old-Mac line ends (a bare "\\r" between records, no "\\n") was one line:
    refused as 'its one line is not a JSON object ... give the --format the file has' (it is
    JSON Lines), or, over 64 MiB, every record quarantined as one record_too_large row, which
    sent the user to limits.max_record_bytes. Said as it is with the command that converts it:
    refused alone, quarantined whole beside JSON Lines, the same read whole or in byte ranges
    (decided for the file, before its ranges), and by `curate audit --corpus`."""
    import gzip

    from curate.audit import command

    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    data = ("\r".join(json.dumps(r) for r in rows) + "\r").encode()
    folder = tmp_path / "in"
    folder.mkdir()
    mac = folder / "mac.jsonl"
    mac.write_bytes(data)
    (tmp_path / "mac.jsonl.gz").write_bytes(gzip.compress(data))
    said = " ends its lines with a bare \\r (old Mac line ends), not \\n as JSON Lines does: convert it ("
    for path, command_line in ((mac, f"tr '\\r' '\\n' < {mac} > {folder}/mac.lines.jsonl"),
                               (tmp_path / "mac.jsonl.gz", f"gzip -dc {tmp_path}/mac.jsonl.gz | tr '\\r' '\\n' > {tmp_path}/mac.lines.jsonl")):
        for split in ([], ["--set", "limits.split_bytes=100"]):  # whole, or in ranges of 100 bytes
            assert run_cli("run", "--input", path, "--domain", "web", "--output", tmp_path / "o", "--progress", "off", *split) == 2
            err = capsys.readouterr().err
            assert f"curate: config error: inputs[0]: {path.name}{said}{command_line})" in err and err.count("\n") == 1, err
    assert command.main(["--corpus", str(mac), "--output", str(tmp_path / "audit")]) != 0
    err = capsys.readouterr().err
    assert f"{mac}{said}" in err and err.count("\n") == 1, err
    (folder / "a.jsonl").write_text(json.dumps({"id": "a", "text": PAGES["en"]}) + "\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", folder, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off",
                   "--set", "limits.split_bytes=100") == 0
    assert f"curate: warning: mac.jsonl{said}" in capsys.readouterr().err
    assert [(r["path"], r["reason"]) for r in pq.read_table(out / "quarantine").to_pylist()] == [("mac.jsonl", "not_json_lines")]
    subprocess.run("tr '\\r' '\\n' < mac.jsonl > mac.lines.jsonl && rm mac.jsonl", shell=True, cwd=folder, check=True)  # as said
    assert run_cli("run", "--input", folder, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == sorted(["a", *PAGES])


@pytest.mark.parametrize("head", [b"", b"// exported by the old app\r"], ids=["plain", "comment"])
def test_an_old_mac_file_whose_first_record_is_over_a_mib_is_said_before_the_run(tmp_path, capsys, head):
    """An old-Mac JSONL whose first record is over 1 MiB: its first line was read to 1 MiB to
    find its first bare "\r" and held none, so the file was not refused up front with the tr
    line as a smaller one is; `curate run` read it and quarantined it during the run
    (cr_line_ends), and `audit --corpus` did not say it either. Both say it as for a small one."""
    from curate.audit import command

    rows = [{"id": "big", "text": "A long page of words. " * 60_000}] + [{"id": k, "text": v} for k, v in PAGES.items()]
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes(head + ("\r".join(json.dumps(r) for r in rows) + "\r").encode())
    assert len(json.dumps(rows[0])) > 1 << 20
    said = ("mac.jsonl ends its lines with a bare \\r (old Mac line ends), not \\n as JSON Lines does: convert it "
            f"(tr '\\r' '\\n' < {mac} > {mac.parent}/mac.lines.jsonl)")
    assert run_cli("run", "--input", mac, "--domain", "web", "--output", tmp_path / "o", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err == f"curate: config error: inputs[0]: {said}\n", err
    assert command.main(["--corpus", str(mac), "--output", str(tmp_path / "audit")]) != 0
    err = capsys.readouterr().err
    assert f"{mac.parent}/{said}" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("head", [b"// exported by the old app\r", b"\r", b"\xef\xbb\xbf\r\r"])
def test_an_old_mac_file_opening_with_a_comment_or_blank_line_is_said(tmp_path, capsys, head):
    """An old-Mac JSONL whose first line (to its first bare "\\r") is a comment or blank: judged
    by that line alone, the comment hid every record (the run exited 0 with 0 docs, 'comment
    lines, not read: 1'), the blank one was refused as 'its one line is not a JSON object ...
    give the --format the file has'. Both are said with the command that converts them."""
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes(head + ("\r".join(json.dumps({"id": k, "text": v}) for k, v in PAGES.items()) + "\r").encode())
    assert run_cli("run", "--input", mac, "--domain", "web", "--output", tmp_path / "o", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert ("curate: config error: inputs[0]: mac.jsonl ends its lines with a bare \\r (old Mac line ends), not \\n as "
            f"JSON Lines does: convert it (tr '\\r' '\\n' < {mac} > {mac.parent}/mac.lines.jsonl)\n") == err, err


def test_the_command_that_converts_a_file_quotes_its_name(tmp_path, capsys):
    """The convert-it command said for an old-Mac or JSON-array file named the file bare: a
    name with a space ('my export.jsonl') made `tr '\\r' '\\n' < my export.jsonl > ...` read
    'my' and write a file 'export.jsonl'; one with $(...) or ';' ran that when pasted. Each name
    is one shell word (shell.quote), and the command, run by bash as said, gives a file whose
    every record curate reads."""
    import gzip

    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    mac = ("\r".join(json.dumps(r) for r in rows) + "\r").encode()
    made = []
    for i, (name, data) in enumerate((("my export.jsonl", mac), ("it's $(touch pwned); x.jsonl", mac),
                                      ("a b.jsonl.gz", gzip.compress(mac)), ("an (array).json", json.dumps(rows).encode()))):
        err, m = _converted_as_said(tmp_path, capsys, i, name, data)
        made.append(m)
        assert not (tmp_path / f"in{i}" / "pwned").exists(), err
    _every_page_read(tmp_path, capsys, made)


def _converted_as_said(tmp_path, capsys, i: int, name: str, data: bytes) -> tuple[str, Path]:
    """A file ``name`` of ``data`` given alone is refused with a convert-it command: run by bash
    as said from another folder, it makes one new file beside it (_every_page_read checks that curate
    reads its records). The error and the new file."""
    folder = tmp_path / f"in{i}"
    folder.mkdir()
    (folder / name).write_bytes(data)
    assert run_cli("run", "--input", folder / name, "--domain", "web", "--output", tmp_path / "o", "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(r"convert it (in bash )?\(", err), err  # in bash: a $'...' word in it
    command = re.split(r"convert it (?:in bash )?\(", err, maxsplit=1)[1].rstrip().removesuffix(")")
    elsewhere = tmp_path / f"elsewhere{i}"  # run from another folder: the command names the file where it is
    elsewhere.mkdir()
    subprocess.run(["bash", "-c", command], cwd=elsewhere, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert not any(elsewhere.iterdir()), command
    made = [p for p in folder.iterdir() if p.name != name]
    assert len(made) == 1, (command, made)
    return err, made[0]


def _every_page_read(tmp_path, capsys, made: list[Path]) -> None:
    """One curate run over the converted files (one pipeline run, not one a file; each its own
    source) reads every record (PAGES) of each."""
    inputs = [a for i, m in enumerate(made) for a in ("--input", m, "--domain", "web", "--source", f"made{i}")]
    out = tmp_path / "out"
    assert run_cli("run", *inputs, "--stages", "ingest", "--output", out, "--progress", "off") == 0
    capsys.readouterr()
    rows = pq.read_table(out / "text", columns=["source", "source_id"]).to_pylist()
    for i, m in enumerate(made):
        assert sorted(r["source_id"] for r in rows if r["source"] == f"made{i}") == sorted(PAGES), m


def test_the_command_that_converts_a_file_names_it_where_it_is_whatever_its_name(tmp_path, capsys):
    """The convert-it command named the file by its base name alone (`tr '\\r' '\\n' < mac.jsonl
    > ...`): run from any folder but the file's own, it found no file. It names the file's path
    (and writes beside it), and a name with a newline, an ESC, a right-to-left override or a byte
    that is not UTF-8, printed escaped (one_line), is one bash $'...' word that names the file
    itself (inside '...' the escape named another file); a leading '-' or a '$(...)' stays a name."""
    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    mac = ("\r".join(json.dumps(r) for r in rows) + "\r").encode()
    names = ("evil\ncurate: done.jsonl", "esc\x1b[2J.jsonl", "a\u202egnp.jsonl", "-n.jsonl",
             "-n $(touch pwned) it's.json", "tab\t\\x41.jsonl", "plain.jsonl")
    made = []
    for i, name in enumerate(names):
        data = json.dumps(rows).encode() if name.endswith(".json") else mac
        err, m = _converted_as_said(tmp_path, capsys, i, name, data)
        made.append(m)
        assert err.count("\n") == 1 and not any(c in err for c in "\x1b\u202e\udce9\t"), err
        assert not (tmp_path / f"in{i}" / "pwned").exists() and not (Path.cwd() / "pwned").exists(), err
    _every_page_read(tmp_path, capsys, made)
    from curate import shell

    one_line = shell.one_line
    byte = tmp_path / "caf\udce9 \x1b'.jsonl"  # a name's byte not UTF-8 (curate reads no such input yet): the word names it
    said = shell.quote(str(byte))
    assert said == one_line(said) and said.isascii(), said
    subprocess.run(["bash", "-c", f"printf x > {said}"], check=True, timeout=30)
    assert byte.read_bytes() == b"x"


def test_a_refused_files_name_is_escaped_in_the_error(tmp_path, capsys):
    """An input refused before the run (old-Mac line ends, a JSON array, UTF-16) is said in an
    error naming the file, printed as it was: a newline in the name made a second line that
    read as curate's own, an ESC reached the terminal, a right-to-left override turned the
    line around (a warning had them escaped since 66098d5, an error not). Escaped as in a
    warning (cli.one_line); a Persian name's ZWNJ kept."""
    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    mac = ("\r".join(json.dumps(r) for r in rows) + "\r").encode()
    cases = {"evil\ncurate: done.jsonl": ("evil\\ncurate: done.jsonl", mac), "esc\x1b[2J.jsonl": ("esc\\x1b[2J.jsonl", mac),
             "invoice\u202egnp.jsonl": ("invoice\\u202egnp.jsonl", json.dumps(rows).encode()),
             "wide\u2066.jsonl": ("wide\\u2066.jsonl", json.dumps(rows).encode("utf-16")),
             "می\u200cخواهم.jsonl": ("می\u200cخواهم.jsonl", mac)}
    for i, (name, (shown, data)) in enumerate(cases.items()):
        (tmp_path / f"in{i}").mkdir()
        (tmp_path / f"in{i}" / name).write_bytes(data)
        assert run_cli("run", "--input", tmp_path / f"in{i}" / name, "--domain", "web", "--output", tmp_path / "o",
                       "--progress", "off") == 2
        err = capsys.readouterr().err
        assert err.startswith(f"curate: config error: inputs[0]: {shown} ") and err.count("\n") == 1, err
        assert not any(c in err for c in "\x1b\u202e\u2066"), err


def test_the_command_said_for_utf16_json_lines_converts_it_whole(tmp_path, capsys):
    """A UTF-16/32 file was said with 'convert it (iconv -f UTF-16 -t UTF-8)': no file named (run
    as said, iconv waits on the terminal), and one with old-Mac line ends, converted so, was
    refused again for its bare \\r. The command names the file (and where it writes) and, for
    old-Mac line ends, pipes iconv into tr: run by bash as said, every record is read."""
    import gzip

    rows = [{"id": k, "text": v} for k, v in PAGES.items()]
    crlf = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows)  # PowerShell's > dump.jsonl
    mac = "\r".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\r"
    made = []
    for i, (name, data) in enumerate((("ps.jsonl", crlf.encode("utf-16")), ("mac.jsonl", mac.encode("utf-16")),
                                      ("le.jsonl", mac.encode("utf-16-le")), ("my ps.jsonl.gz", gzip.compress(mac.encode("utf-32"))))):
        err, m = _converted_as_said(tmp_path, capsys, i, name, data)
        made.append(m)
        assert ("old Mac line ends" in err) == (name != "ps.jsonl"), err
    _every_page_read(tmp_path, capsys, made)


def test_audit_of_a_corpus_escapes_a_files_name_in_its_error(tmp_path, capsys):
    """`curate audit --corpus` stops on an old-Mac file with the line curate run says, which
    names the file: printed raw, a newline in the name made a second line, an ESC reached the
    terminal, a U+202E turned the line around. Escaped as curate run's errors are."""
    from curate.audit import command

    mac = ("\r".join(json.dumps({"id": k, "text": v}) for k, v in PAGES.items()) + "\r").encode()
    for i, (name, shown) in enumerate((("evil\ncurate: done.jsonl", "evil\\ncurate: done.jsonl"),
                                       ("esc\x1b[2J.jsonl", "esc\\x1b[2J.jsonl"), ("a\u202egnp.jsonl", "a\\u202egnp.jsonl"))):
        (tmp_path / name).write_bytes(mac)
        assert command.main(["--corpus", str(tmp_path / name), "--output", str(tmp_path / f"audit{i}")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"curate audit: {tmp_path}/{shown} ends its lines with a bare \\r") and err.count("\n") == 1, err
        assert not any(c in err for c in "\x1b\u202e"), err


def test_an_old_mac_file_whose_first_record_is_broken_is_said_with_the_command(tmp_path, capsys):
    """An old-Mac file was judged by its first record alone: one cut short, or holding a raw
    "\\r" in a string, made the file 'its one line is not a JSON object ... give the --format
    the file has' (beside JSON Lines: one bad_json row for every record, 'Extra data'). Records
    after it say what the file is: refused with the tr command, which, run as said, gives a
    file whose every record is read and the broken one quarantined (bad_json). The two files,
    converted, are read in one run (an input each)."""
    inputs, expected = [], {}
    for name, broken in (("cut", b'{"id": "cut", "text": "cut sho'), ("raw", b'{"id": "raw", "text": "a raw \r in its string"}')):
        mac = tmp_path / name / "mac.jsonl"
        mac.parent.mkdir()
        mac.write_bytes(broken + b"\r" + ("\r".join(json.dumps({"id": k, "text": v}) for k, v in PAGES.items()) + "\r").encode())
        assert run_cli("run", "--input", mac, "--domain", "web", "--output", tmp_path / "o", "--progress", "off") == 2
        err = capsys.readouterr().err
        assert ("curate: config error: inputs[0]: mac.jsonl ends its lines with a bare \\r (old Mac line ends), not \\n as "
                f"JSON Lines does: convert it (tr '\\r' '\\n' < {mac} > {mac.parent}/mac.lines.jsonl)\n") == err, err
        subprocess.run("tr '\\r' '\\n' < mac.jsonl > mac.lines.jsonl && rm mac.jsonl", shell=True, cwd=mac.parent, check=True)
        inputs += ["--input", mac.parent, "--domain", "web"]
        expected[name] = ["bad_json"] * (1 + (b"\r" in broken))
    out = tmp_path / "o"
    assert run_cli("run", *inputs, "--stages", "ingest", "--output", out, "--progress", "off") == 0, capsys.readouterr().err
    text = pq.read_table(out / "text", columns=["source", "source_id"]).to_pylist()
    assert sorted((r["source"], r["source_id"]) for r in text) == sorted((n, k) for n in expected for k in PAGES), text
    quarantine = {}
    for r in pq.read_table(out / "quarantine").to_pylist():
        quarantine.setdefault(r["source"], []).append(r["reason"])
    assert quarantine == expected, quarantine


def test_a_part_with_old_mac_line_ends_is_said_after_the_run(tmp_path, capsys):
    """`cat new.jsonl mac.jsonl`: JSON Lines, then records separated by a bare "\\r" (one long
    line): its row said only 'quarantined 1' (record_too_large past the limit, sending the user
    to limits.max_record_bytes). One line a file after the summary says the part and the fix."""
    mac = "\r".join(json.dumps({"id": k, "text": v}) for k, v in PAGES.items())
    both = tmp_path / "both.jsonl"
    both.write_text(json.dumps({"id": "a", "text": PAGES["en"]}) + "\n" + mac + "\r\n" + mac + "\n")
    out = tmp_path / "o"
    assert run_cli("run", "--input", both, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off",
                   "--set", "limits.max_record_bytes=200") == 0
    err = capsys.readouterr().err
    assert (f"curate: warning: both.jsonl: from byte {len(json.dumps({'id': 'a', 'text': PAGES['en']})) + 1}, records separated by a bare \\r (old Mac line "
            "ends), not \\n as JSON Lines does: convert the file (tr '\\r' '\\n' < FILE > NEW.jsonl; a CRLF becomes a blank "
            "line, which is skipped); 1 more such part after it (cr_line_ends)\n") in err, err
    assert "tr '\\r' '\\n'" in err and err.count("warning") == 1, err
    q = pq.read_table(out / "quarantine").to_pylist()
    assert [r["reason"] for r in q] == ["cr_line_ends"] * 2


def test_launch_resolves_each_files_real_path_once(tmp_path, monkeypatch):
    """plan() took every local file's real path twice (same_files, then the check across
    inputs): a cost per file at launch on a big share, and a link changed in between gave the
    two checks different answers."""
    folder = tmp_path / "share"
    folder.mkdir()
    for i in range(20):
        (folder / f"f{i:02}.jsonl").write_text(json.dumps({"id": str(i), "text": "a page"}) + "\n")
    (folder / "latest.jsonl").symlink_to(folder / "f00.jsonl")
    cfg = config.load(None, {"run": {"output": str(tmp_path / "out")}, "inputs": [{"glob": str(folder), "domain": "web"},
                      {"glob": str(folder / "f01.jsonl"), "domain": "web", "source": "again"}]}, for_run=True)
    calls: dict = {}
    real = os.path.realpath

    def counted(p, *a, **k):
        calls[str(p)] = calls.get(str(p), 0) + 1
        return real(p, *a, **k)

    monkeypatch.setattr(os.path, "realpath", counted)
    shards = cli.plan(cfg)
    files = [str(p) for p in folder.iterdir()]
    want = {f: 1 + f.endswith("f01.jsonl") for f in files}  # f01.jsonl: listed by both inputs
    assert {f: calls.get(f, 0) for f in files} == want
    same = {s.rel: dict(s.options).get("same_file_as") for s in shards if dict(s.options).get("same_file_as")}
    assert same == {"latest.jsonl": "'f00.jsonl' (through a link)", "f01.jsonl": "'f01.jsonl' of inputs[0]"}


def test_config_prints_the_effective_config_of_a_file_and_its_sets(tmp_path, pages, capsys):
    """`curate config team.toml --set ...`: what a run would use, loadable as it is."""
    cfg = tmp_path / "team.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path}/out"\n[[inputs]]\nglob = "{pages}"\ndomain = "web"\n'
                   "[rebalance]\ntargets = {web = 1.0}\n")
    sets = ["rebalance.budget=2000000", "langid.threshold=0.7"]
    assert run_cli("config", cfg, *[a for s in sets for a in ("--set", s)]) == 0
    printed = tmp_path / "effective.toml"
    printed.write_text(capsys.readouterr().out)
    want = config.load(str(cfg), sets=sets).to_dict()
    assert config.load(str(printed)).to_dict() == want and want["rebalance"]["budget"] == 2000000
    assert "budget = 2000000" in printed.read_text() and "threshold = 0.7" in printed.read_text()
    assert run_cli("config", cfg, "--set", "rebalance.budgt=1") == 2
    assert "config error: rebalance.budgt (from --set rebalance.budgt=1): unknown key (did you mean budget?)" in capsys.readouterr().err
    assert run_cli("config") == 0 and "# curate: every option with its default" in capsys.readouterr().out
    # a date-shaped bare word is a name, not a TOML date no option takes (run.output=2024-10-01 was refused)
    assert config.load(str(cfg), sets=["run.output=2024-10-01", "run.spill=false"]).run["output"] == "2024-10-01"


def test_python_dash_m_curate_is_the_curate_command():
    """`python -m curate` (what a user types when the venv's bin/ is not on PATH) runs the same
    program as `curate`, exit status included."""
    ok = subprocess.run([sys.executable, "-m", "curate", "--help"], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=120)
    assert ok.returncode == 0 and "usage: curate" in ok.stdout, ok.stderr
    bad = subprocess.run([sys.executable, "-m", "curate", "run", "--no-such-flag"], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and "--no-such-flag" in bad.stderr


def test_output_cut_short_by_a_closed_pipe_is_not_a_traceback():
    """`curate config | head -3`: the reader leaves early; curate stops printing without a
    traceback (Python raises BrokenPipeError at the next write or at exit)."""
    code = ("import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); sys.argv = ['curate', 'config']; "
            "from curate.cli import entry; entry()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr


def test_comment_lines_in_json_lines_are_skipped_and_counted(tmp_path, capsys):
    """`//` and `#` comment lines (some tools write a header of them) were each quarantined as
    bad_json, and a file opening with 100 of them was refused as not JSON Lines. They are not
    records: skipped, counted in the manifest and the summary; a broken data line is still a
    quarantine row. Read whole and in byte ranges, the count is the same."""
    head = "".join(f"// exported by a tool, line {i}\n" for i in range(120))
    body = "".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items())
    dump = tmp_path / "in" / "dump.jsonl"
    dump.parent.mkdir()
    dump.write_text(head + "# a shell-style comment\n" + body + '  // indented\n{"id": "cut", "text": "a cut line\n')
    for split in (None, 300):
        out = tmp_path / f"o{split}"
        more = ["--set", f"limits.split_bytes={split}"] if split else []
        assert run_cli("run", "--input", dump, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off", *more) == 0
        assert pq.read_table(out / "text").num_rows == len(PAGES)
        assert pq.read_table(out / "quarantine").column("reason").to_pylist() == ["bad_json"]
        m = json.loads((out / "manifest.json").read_text())
        assert m["counts"]["ingest"]["skipped_records"] == {"comment_line": 122}, m["counts"]["ingest"]
        said = capsys.readouterr().out
        assert "; JSON Lines comment lines (// or #), not read: 122; " in said, said
        assert run_cli("audit", out) == 0
        assert "skipped_records: JSON Lines comment lines (// or #: not records; not read)" in (out / "report.html").read_text()
        capsys.readouterr()


def test_a_part_in_another_format_across_byte_ranges_is_one_part(tmp_path):
    """A big uncompressed dump read in byte ranges (limits.split_bytes) with a CSV inside it: a
    range's end fell inside the CSV, so its lines were cut into parts, a part of fewer than 10
    lines quarantined a bad_json row a line, and the run said the file stopped being JSON Lines
    at the second part's byte with '1 more such part after it'. A run of non-JSON lines (blank
    and comment lines within it aside) is now
    the range's where it starts, to its last line (the next range skips it): the same one
    not_json_lines row, at the CSV's first byte, as the file read whole. A CSV line that falls
    at a range's start after a record is still read (its own run)."""
    from curate.readers import list_files, plan_shards, read_shard
    from curate.readers.common import Limits

    recs = [json.dumps({"id": f"r{i}", "text": f"record {i} of the dump"}) + "\n" for i in range(40)]
    rows = [f"{i},a row of another format {i}\n" for i in range(40)]
    csv = "id,text\n" + "".join(rows[:20]) + "# a comment\n\n" + "".join(rows[20:])  # neither ends nor is a line of it
    dump = tmp_path / "in" / "big.jsonl"
    dump.parent.mkdir()
    dump.write_text("".join(recs[:20]) + csv + "".join(recs[20:30]) + "x,y\n" * 3 + "".join(recs[30:]))
    start = len("".join(recs[:20]))
    for split in (None, 150, 333, 700, 1000):  # the readers' ranges as a run plans them: no pipeline needed
        limits = Limits(**({"split_bytes": split} if split else {}))
        shards = plan_shards(list_files(str(dump)), None, "web", "s", {}, limits)
        assert (len(shards) > 1) == bool(split), (split, len(shards))
        got, skipped = {"docs": [], "ledger": [], "quarantine": []}, {}
        for shard in shards:
            for kind, batch in read_shard(shard, limits, skipped):
                got[kind] += batch.to_pylist()
        q = sorted(got["quarantine"], key=lambda r: r["offset"])
        assert [(r["offset"], r["reason"]) for r in q][:1] == [(start, "not_json_lines")], split
        assert [r["reason"] for r in q] == ["not_json_lines"] + ["bad_json"] * 3, split  # one part: no 'more such part' said
        assert "41 lines" in q[0]["detail"], q[0]["detail"]
        assert len(got["docs"]) == 40 and skipped == {"comment_line": 1}, (split, skipped)
        # the run says `big.jsonl: {this detail}`
        assert q[0]["detail"].startswith(f"not JSON Lines from {'line 21' if not split or split > start else f'byte {start}'}"), q[0]


def test_a_part_in_another_format_after_an_over_long_line_is_read_in_byte_ranges(tmp_path):
    """A CSV right after a broken line over limits.max_record_bytes * 2 (a record_too_large row), read
    in byte ranges: a range starting inside the CSV looked back at the over-long line whole,
    took it for a line of the run (its length was only checked for a cut read) and skipped its
    part as the range before's; that range had stopped at the over-long line, so the CSV's
    lines were read by no range: no not_json_lines row, nothing in the counts. The same rows
    as the file read whole for any split (the readers' ranges as a run plans them: no pipeline
    needed to see them)."""
    from curate.readers import list_files, plan_shards, read_shard
    from curate.readers.common import Limits

    recs = [json.dumps({"id": f"r{i}", "text": f"record {i}"}) + "\n" for i in range(6)]
    long = json.dumps({"id": "big", "text": "x" * 300})[:-20] + "\n"  # over 2 * 100 bytes, cut short (not JSON)
    csv = "".join(f"{i},a row of another format\n" for i in range(12))
    dump = tmp_path / "in" / "big.jsonl"
    dump.parent.mkdir()
    dump.write_text("".join(recs[:3]) + long + csv + "".join(recs[3:]))
    for split in (None, 64, 100, 250, 333):
        limits = Limits(max_record_bytes=100, **({"split_bytes": split} if split else {}))
        shards = plan_shards(list_files(str(dump)), None, "web", "s", {}, limits)
        assert (len(shards) > 1) == bool(split), (split, len(shards))
        got = {"docs": [], "ledger": [], "quarantine": []}
        for shard in shards:
            for kind, batch in read_shard(shard, limits):
                got[kind] += batch.to_pylist()
        rows = sorted((r["offset"], r["reason"]) for r in got["quarantine"])
        assert rows == [(len("".join(recs[:3])), "record_too_large"), (len("".join(recs[:3]) + long), "not_json_lines")], (split, rows)
        assert len(got["docs"]) == 6


def test_json_lines_files_concatenated_with_their_byte_order_marks_lose_no_record(tmp_path, capsys):
    """`cat a.jsonl b.jsonl > all.jsonl` of files a Windows tool wrote each with a UTF-8 BOM puts
    one at the start of a line inside the file: only the file's first one was read past, so b's
    first record was quarantined (bad_json 'Unexpected UTF-8 BOM') and a BOM before a comment
    line made it a bad_json row too; the check before the run already read past them. Read
    whole and in byte ranges, every record is text and the comment is counted."""
    bom = "\ufeff"
    recs = [json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items()]
    dump = tmp_path / "in" / "all.jsonl"
    dump.parent.mkdir()
    dump.write_text(bom + recs[0] + bom + "// exported by a tool\n" + bom + recs[1] + "".join(recs[2:]) + bom + recs[0].replace('"id": "', '"id": "again-'),
                    encoding="utf-8")
    for split in (None, 200):
        out = tmp_path / f"o{split}"
        more = ["--set", f"limits.split_bytes={split}"] if split else []
        assert run_cli("run", "--input", dump, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off", *more) == 0
        assert pq.read_table(out / "text").num_rows == len(PAGES) + 1
        m = json.loads((out / "manifest.json").read_text())
        assert m["counts"]["ingest"]["quarantined"] == 0 and m["counts"]["ingest"]["skipped_records"] == {"comment_line": 1}
        capsys.readouterr()


def test_json_lines_that_turn_into_another_format_are_said_in_one_line(tmp_path, capsys):
    """A .jsonl.gz whose first records are JSON Lines and whose rest is CSV (two exports
    concatenated) had each CSV line quarantined as bad_json, and only the summary's
    'quarantined 51' to tell. Read once, the run now says in one line which file stopped being
    JSON Lines at which line, the lines from there are one quarantine row (not_json_lines), and
    the records after such a part are still read; a few broken lines stay a row each."""
    import gzip

    objs = [json.dumps({"id": k, "text": v}) + "\n" for k, v in PAGES.items()]
    csv = "id,text\n" + "".join(f"{i},a row of another format {i}\n" for i in range(50))
    src = tmp_path / "in"
    src.mkdir()
    with gzip.open(src / "mixed.jsonl.gz", "wt") as f:
        f.write("".join(objs) + csv)
    again = [json.dumps({"id": f"r{k}", "text": v}) + "\n" for k, v in PAGES.items()]
    (src / "resumed.jsonl").write_text(again[0] + "\n" + csv + "".join(again[1:]) + "{broken\n" * 3 + objs[0].replace('"en"', '"r"'))
    out = tmp_path / "o"
    assert run_cli("run", "--input", src, "--domain", "web", "--format", "jsonl", "--stages", "ingest", "--output", out,
                   "--progress", "off") == 0
    err = capsys.readouterr().err
    start = len("".join(objs).encode())
    assert ("curate: warning: mixed.jsonl.gz: not JSON Lines from line 4 (it reads 'id,text'): 51 lines to its end, "
            "none of them JSON; quarantined as one row (not_json_lines), not line by line\n") in err, err
    assert ("curate: warning: resumed.jsonl: not JSON Lines from line 3 (it reads 'id,text'): 51 lines to line 53, "
            "none of them JSON; quarantined as one row (not_json_lines), not line by line\n") in err, err
    q = pq.read_table(out / "quarantine").sort_by([("path", "ascending"), ("offset", "ascending")])
    assert list(zip(q.column("path").to_pylist(), q.column("offset").to_pylist(), q.column("reason").to_pylist())) == [
        ("mixed.jsonl.gz", start, "not_json_lines")] + [("resumed.jsonl", len(again[0]) + 1, "not_json_lines")] + [
        ("resumed.jsonl", len(again[0]) + 1 + len(csv) + len("".join(again[1:])) + 8 * i, "bad_json") for i in range(3)]
    assert pq.read_table(out / "text").num_rows == 2 * len(PAGES) + 1  # every record, before and after the CSV


def test_a_recurated_code_output_keeps_each_files_path(tmp_path):
    """A code dump's record has its file's path in meta.file_path and, for the ledger and the
    audit, `dump.jsonl:octo/app/src/main.py` in the path column. Re-curating the output (its
    meta carried since 2026-12-05) took that path column for the file's path: meta.file_path
    became `dump.jsonl:octo/app/src/main.py`, then `part-...parquet:dump.jsonl:...` a run later,
    growing each run. The carried file path and repository are the file's; the path column
    says where this run read it, as for a dump: `part-....parquet:octo/app/src/main.py`."""
    import pyarrow.parquet as pq

    (tmp_path / "dump.jsonl").write_text(json.dumps({"id": "f1", "repo_name": "octo/app", "path": "src/main.py", "license": "mit",
                                                     "content": "def main():\n    return 1\n"}) + "\n")
    inputs = [tmp_path / "dump.jsonl", tmp_path / "o1" / "text" / "*.parquet", tmp_path / "o2" / "text" / "*.parquet"]
    for i, given in enumerate(inputs, 1):
        assert run_cli("run", "--input", given, "--domain", "code", "--source", "s", "--stages", "ingest",
                       "--output", tmp_path / f"o{i}", "--progress", "off") == 0
        [row] = pq.read_table(tmp_path / f"o{i}" / "text", columns=["path", "meta"]).to_pylist()
        assert json.loads(row["meta"]) == {"file_path": "src/main.py", "repo_name": "octo/app", "license": "mit"}, (i, row)
        assert row["path"].endswith(":octo/app/src/main.py") and row["path"].count(":") == 1, (i, row)


# --- the README's "Options": each documented form works, any other is one line ---------------


def test_each_documented_option_form_gives_the_same_run(tmp_path, pages, capsys, monkeypatch):
    """`--opt value` and `--opt=value`, repeated --set, a `~` the shell leaves (`--output=~/o`)
    and the options after their --input: one run, whichever form is used (the same config, the
    same input files, the same Beam arguments handed to the run, which is then any run's)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    spaced = ["--input", pages, "--domain", "web", "--source", "s", "--text-field", "text", "--stages", "ingest,dedup",
              "--shards", "2", "--workers", "1", "--progress", "off", "--set", "dedup.threshold=0.9",
              "--set", "limits.batch_size=10", "--output", tmp_path / "a"]
    joined = [f"--input=~/{pages.name}", "--domain=web", "--source=s", "--text-field=text", "--stages=ingest,dedup",
              "--shards=2", "--workers=1", "--progress=off", "--set=dedup.threshold=0.9", "--set=limits.batch_size=10",
              "--output=~/b"]
    runs = []

    def run(ns, beam_args):
        cfg, shards = cli.prepare_run(ns)
        runs.append((cfg.to_dict(), shards, beam_args, ns.progress))
        return 0

    monkeypatch.setattr(cli, "cmd_run", run)
    for args in (spaced, joined):
        assert run_cli("run", *args) == 0, capsys.readouterr().err
    (a, *rest_a), (b, *rest_b) = runs
    assert (a["run"].pop("output"), b["run"].pop("output")) == (str(tmp_path / "a"), str(tmp_path / "b"))
    assert a == b and rest_a == rest_b and rest_a[0], (a, b, rest_a, rest_b)
    assert (a["run"]["stages"], a["run"]["shards"], a["run"]["workers"], a["dedup"]["threshold"], a["limits"]["batch_size"],
            [(i["domain"], i["source"], i["text_field"]) for i in a["inputs"]], rest_a[2]) == (
        ["ingest", "dedup"], 2, 1, 0.9, 10, [("web", "s", "text")], "off"), (a, rest_a)


@pytest.mark.parametrize("args, message", [
    (["--domain", "web", "--input", "PAGES"], "--domain must follow the --input it applies to"),
    (["--input", "PAGES", "--domain", "web", "--domain", "code"], "--domain given twice for --input PAGES (web, then code): give it once"),
    (["--input", "PAGES", "--domain", "web", "--output", "OTHER"], "--output given twice (OUT, then OTHER): give it once"),
    (["--input", "PAGES", "--domain", "web", "--stages", "ingest", "--stages", "dedup"], "--stages given twice (ingest, then dedup): give it once"),
    (["--input", "PAGES", "--domain", "web", "--set", "run.shards", "2"],
     "--set run.shards 2: KEY=VALUE is one word (--set run.shards=2)"),
    (["--input", "PAGES", "--domain", "web", "--set"], "--set: expected one argument"),
    (["--input", "PAGES", "--domain", "web", "--input"], "--input: expected one argument"),
    (["--input", "PAGES", "--domain", "web", "--shards", "two"], "--shards: invalid int value: 'two'"),
    (["--input", "PAGES", "--domain", "web", "--progress", "maybe"], "--progress: invalid choice: 'maybe' (choose from"),
    (["--input", "PAGES", "--domain", "web", "--stages="], "--stages: empty: name the stages (--stages ingest,dedup), or leave it out"),
    (["--input", "PAGES", "--domain", "web", "--languages", " "], "--languages: empty: name the languages (--languages en,de, or all)"),
    (["--input", "PAGES", "--domain", "web", "-o", "elsewhere"], "unknown option -o: neither a curate option nor a Beam"),
])
def test_an_undocumented_option_form_is_one_line(tmp_path, pages, capsys, args, message):
    """What the README's Options do not document fails in one line, before anything runs: an
    option before its --input, argparse's own mistakes (a missing or bad value printed the whole
    usage), an option given twice (the last one won without a word: --domain web --domain code
    read the pages as code), `--set KEY VALUE` (its value was taken for the config: "config file
    not found: 2"), an empty --stages (every default stage ran) or --languages (ignored)."""
    out = tmp_path / "o"
    names = {"PAGES": str(pages), "OUT": str(out), "OTHER": str(tmp_path / "x")}
    args = [names.get(a, a) for a in args]
    message = message.replace("PAGES", str(pages)).replace("OUT", str(out)).replace("OTHER", str(tmp_path / "x"))
    assert run_cli("run", "--output", out, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith(f"curate: {message}") and err[1] == "(see: curate run --help)", err
    assert not out.exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("argv, message", [
    (["demo", "--output", "A", "--output", "B"], "curate: --output given twice (A, then B): give it once"),
    (["demo", "--progress", "off", "--progress", "on"], "curate: --progress given twice (off, then on): give it once"),
    (["config", "--language", "en", "--language", "de"], "curate: --language given twice (en, then de): give it once"),
])
def test_an_option_given_twice_to_demo_or_config_is_one_line(tmp_path, monkeypatch, capsys, argv, message):
    """`curate run` refuses an option given twice (small24); `curate demo --output a --output b`
    wrote the demo to b, `curate config --language en --language de` printed de's, without a word."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == message and err[1].startswith("(see: curate "), err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv, message", [
    # the command it likely means, as a misspelt option says it (it listed the commands only)
    (["runn"], "curate: unknown command 'runn' (did you mean run?) (choose from 'run', 'demo', 'config', 'mix'"),
    ([], "curate: give a command: curate run, curate config, ..."),
])
def test_a_missing_or_unknown_command_is_one_line(capsys, argv, message):
    """`curate runn` printed the whole usage, then "argument cmd: invalid choice", naming the
    parser's variable (cmd), not what the user missed."""
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith(message) and err[1] == "(see: curate --help)", err


def test_the_paths_a_user_typed_are_escaped_in_what_a_run_prints(tmp_path, capsys):
    """'output: DIR', 'replaced the previous output in DIR, ... 1 file added (NAME)' and 'the
    --input options replace the ... [[inputs]] of CONFIG' printed the --output, a file's name and
    --config raw: an ESC in them reached the terminal, a newline made a line that read as
    curate's own, a U+202E turned the line around. Escaped as the warnings and errors are."""
    crawl, out = tmp_path / "crawl", tmp_path / "o\x1b[2J\u202eut\ncurate: done"
    crawl.mkdir()
    (crawl / "a.jsonl").write_text(json.dumps({"id": "en", "text": PAGES["en"]}) + "\n")
    cfg = tmp_path / "c\x1b]0;x\x07.toml"
    cfg.write_text(f'[[inputs]]\npath = "{crawl}/none*.jsonl"\ndomain = "web"\n')
    args = ("run", cfg, "--input", crawl, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off")
    assert run_cli(*args) == 0
    (crawl / "b\x1b[31m\u202e.jsonl").write_text(json.dumps({"id": "de", "text": PAGES["de"]}) + "\n")
    capsys.readouterr()
    assert run_cli(*args) == 0
    said = capsys.readouterr()
    shown = str(out).replace("\x1b", "\\x1b").replace("\u202e", "\\u202e").replace("\n", "\\n")
    assert f"output: {shown}\n" in said.out, said.out
    assert (f"curate: replaced the previous output in {shown}, made from other input files: 1 file added "
            "(crawl/b\\x1b[31m\\u202e.jsonl)") in said.err, said.err
    assert "[[inputs]] of " + str(cfg).replace("\x1b", "\\x1b").replace("\x07", "\\x07") in said.err, said.err
    assert not any(c in said.out + said.err for c in "\x1b\u202e\x07"), said
    assert not any(line.startswith("curate: done") for line in (said.out + said.err).splitlines()), said


def test_the_paths_an_audit_prints_are_escaped(tmp_path, capsys):
    """curate audit printed the --output it wrote to ('summary: DIR/summary.json'), --why's lines
    (a document's path, an input file's name) and a missing key raw: an ESC reached the terminal,
    a newline made a second line. Each line is escaped as its errors are."""
    from curate.audit import command

    crawl, out = tmp_path / "crawl", tmp_path / "out"
    crawl.mkdir()
    page = crawl / "p\x1b[2J\ncurate audit: ok.jsonl"
    page.write_text(json.dumps({"id": "en", "text": PAGES["en"]}) + "\n")
    assert run_cli("run", "--input", crawl, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0
    capsys.readouterr()
    assert command.main([str(out), "--output", str(tmp_path / "a\x1b[31m")]) == 0
    assert command.main([str(out), "--why", "en"]) == 0
    assert command.main([str(out), "--why", "nope\x1b[2J"]) == 1
    said = capsys.readouterr()
    assert f"summary: {tmp_path}/a\\x1b[31m/" in said.out, said.out
    assert "\\x1b[2J\\ncurate audit: ok.jsonl" in said.out and "nope\\x1b[2J:" in said.err, said
    assert "\x1b" not in said.out + said.err and not any(line.startswith("curate audit: ok") for line in said.out.splitlines()), said


def test_json_lines_whose_first_line_is_broken_around_bare_crs_is_read(tmp_path, capsys):
    """A JSON Lines file (\\n line ends) whose first line is broken by raw \\r in a string that
    holds '{}' parts was refused whole as old-Mac since 2f11866 (two of the next five parts are
    JSON objects): the lines after it, JSON objects ending in \\n, say the file is JSON Lines.
    It runs; the broken line is one quarantine row, every other record read."""
    rows = [{"id": f"r{i}", "text": PAGES["en"] + f" {i}"} for i in range(5)]
    path = tmp_path / "jl.jsonl"
    path.write_bytes(b'{"id": "broken", "text": "old code:\r{}\r{}\r}"}\n' + "".join(json.dumps(r) + "\n" for r in rows).encode())
    out = tmp_path / "o"
    assert run_cli("run", "--input", path, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off") == 0, \
        capsys.readouterr().err
    assert sorted(pq.read_table(out / "text").column("source_id").to_pylist()) == sorted(r["id"] for r in rows)
    # one row (the reader judges a line alone: it is labelled cr_line_ends, not bad_json)
    assert [r["offset"] for r in pq.read_table(out / "quarantine").to_pylist()] == [0]


def test_an_audit_usage_error_escapes_what_was_typed(tmp_path, capsys):
    """curate audit's argparse error printed a stray word raw ('unrecognized arguments:
    nope\\x1b[2J' cleared the terminal). It is escaped as the audit's other errors are."""
    from curate.audit import command

    with pytest.raises(SystemExit) as e:
        command.main([str(tmp_path), "--why", "a", "nope\x1b[2J\u202e"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "unrecognized arguments: nope\\x1b[2J\\u202e" in err, err
    assert not any(c in err for c in "\x1b\u202e"), err


@pytest.mark.parametrize("words,max_record", [(50_000, 4096), (150_000, 2 << 20)], ids=["past_the_run", "its_limit"])
def test_an_old_mac_file_whose_first_record_is_long_is_said_before_the_run(tmp_path, capsys, monkeypatch, words, max_record):
    """An old-Mac JSONL whose first record is long: the up-front look read it on to its bare
    "\\r" and refused the file in one line (the tr line), where before (past_the_run) it stopped
    at the run's read of a line (twice max_record_bytes) and the run read the file, all of its
    records one record_too_large row, and (its_limit) it stopped at the default limits' read
    whatever limit the run was given: with max_record_bytes raised to read it, the file was read,
    not refused. It reads on as far as the run's limits read a line, jsonl.HEAD_BYTES at least
    (the default's 64 MiB, lowered here to 2 MiB so that the file is 3 MB, not 70)."""
    from curate.readers import jsonl

    monkeypatch.setattr(jsonl, "HEAD_BYTES", 2 << 20)
    rows = [{"id": "big", "text": "A long page of words. " * words}] + [{"id": k, "text": v} for k, v in PAGES.items()]
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes(("\r".join(json.dumps(r) for r in rows) + "\r").encode())
    assert 2 * max_record < len(json.dumps(rows[0])) < 2 << 20 or 2 << 20 < len(json.dumps(rows[0])) < 2 * max_record
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{mac}"\ndomain = "web"\n[limits]\nmax_record_bytes = {max_record}\n'
                   f'[run]\nstages = ["ingest"]\noutput = "{tmp_path / "o"}"\n')
    assert run_cli("run", cfg, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mac.jsonl ends its lines with a bare \\r (old Mac line ends)" in err, err


def test_an_old_mac_file_whose_first_record_is_past_the_look_is_one_cr_line_ends_row(tmp_path, monkeypatch):
    """An old-Mac JSONL whose first record is longer than the up-front look reads (as far as the
    run's limits read a line, jsonl.HEAD_BYTES at least; lowered here to 2 MiB) is read, its
    records one cr_line_ends row with the tr line: the run looks at the rest of the line it
    skips (it was one record_too_large row naming max_record_bytes). The look reads as far as
    the run's own limits (max_record_bytes 4096 here): given the default limits, it read on
    64 MiB and refused the file, which the case its_limit above cannot tell (its file is 3 MB).
    Through config.load, the run's plan and reader (a Beam run costs seconds)."""
    from curate import config
    from curate.readers import jsonl, read_shard
    from curate.readers.common import Limits

    monkeypatch.setattr(jsonl, "HEAD_BYTES", 2 << 20)
    rows = [{"id": "big", "text": "A long page of words. " * 150_000}] + [{"id": k, "text": v} for k, v in PAGES.items()]
    mac = tmp_path / "mac.jsonl"
    mac.write_bytes(("\r".join(json.dumps(r) for r in rows) + "\r").encode())
    assert 2 << 20 < len(json.dumps(rows[0])) < 4 << 20
    cfg = config.load(None, {"run": {"output": str(tmp_path / "o")}, "limits": {"max_record_bytes": 4096},
                             "inputs": [{"glob": str(mac), "domain": "web"}]}, for_run=True)
    [shard] = cli.plan(cfg)
    out = {"docs": [], "quarantine": []}
    for kind, batch in read_shard(shard, Limits(**cfg.limits)):
        out.setdefault(kind, []).extend(batch.to_pylist())
    assert not out["docs"] and [q["reason"] for q in out["quarantine"]] == ["cr_line_ends"], out["quarantine"]
    assert "tr '\\r' '\\n'" in out["quarantine"][0]["detail"], out["quarantine"]

def test_an_interrupted_first_run_says_no_output_was_written(tmp_path, pages, monkeypatch, capsys):
    """Ctrl-C during a first run into a new folder said 'the previous output in OUT is unchanged'
    where there was none (and the folder was removed): it says no output was written there; a
    rerun's interrupt still says the previous output is unchanged."""
    from pipelines import pipeline

    def interrupted(*a, **kw):
        raise KeyboardInterrupt  # Ctrl-C as the pipeline is built

    monkeypatch.setattr(pipeline, "build", interrupted)
    out = tmp_path / "new"
    args = ["run", "--input", pages, "--domain", "web", "--stages", "ingest", "--progress", "off", "--output", out]
    assert run_cli(*args) == cli.INTERRUPTED
    assert capsys.readouterr().err.strip() == f"curate: interrupted; no output was written to {out}"
    assert not out.exists()


def test_audit_into_a_file_says_it_is_not_a_folder(tmp_path, pages, capsys):
    """`curate audit --corpus X --output FILE` said "'FILE': stats/summary.json is not a report
    curate audit wrote", as if FILE were a folder holding one; it says what `curate run` says of
    such an output, and leaves the file as it was."""
    from curate.audit import command

    where = tmp_path / "afile"
    where.write_text("mine\n")
    assert command.main(["--corpus", str(pages), "--output", str(where)]) == 2
    assert capsys.readouterr().err == (f"curate audit: output {str(where)!r} exists and is not a directory: choose another "
                                       "--output (a new folder, or an earlier audit's)\n")
    assert where.read_text() == "mine\n"
    # curate run said what was wrong only (msgs89)
    assert run_cli("run", "--input", pages, "--domain", "web", "--stages", "ingest", "--output", where, "--progress", "off") == 2
    assert capsys.readouterr().err == (f"curate: output {str(where)!r} exists and is not a directory: choose another "
                                       "--output (a new folder, or an earlier run's)\n")
    assert where.read_text() == "mine\n"


def test_an_audit_command_line_mistake_is_one_line_not_the_usage(capsys):
    """`curate audit` with no folder, or `--why` without its key, or a misspelt option printed
    argparse's whole usage (7 lines) above the error, where `curate run`'s and `curate mix`'s are
    one line and a pointer to --help."""
    from curate.audit import command

    for args, said in [([], "give either a curate output DIR or --corpus GLOB"),
                       (["o", "--why"], "--why: expected one argument"),
                       (["o", "--bogus"], "unrecognized arguments: --bogus")]:
        with pytest.raises(SystemExit) as e:
            command.main(args)
        assert e.value.code == 2
        assert capsys.readouterr().err.splitlines() == [f"curate audit: {said}", "(see: curate audit --help)"]


def test_a_local_path_with_a_colon_slash_slash_in_it_is_local(tmp_path, monkeypatch, capsys):
    """A local input or output whose name holds '://' after a folder (sub/a://b.jsonl: the file
    b.jsonl in the folder 'a:') was taken for a URI: 'URI has empty scheme'. A URI starts with its
    scheme (urllib.parse's reading); the rest are paths."""
    import urllib.parse

    from curate.readers import is_uri

    # urllib.parse drops leading blanks and C0 controls before the scheme (review93: " gs://b/out" was written into
    # a local folder " gs:", where main said the URI could not be parsed)
    blanks = "".join(map(chr, range(0x21)))
    for path in ("gs://b/x", "s3://b/x", "file:///x", "hdfs://h/x", "sub/a://b.jsonl", "./a://b", "/tmp/x://y", "a b://c",
                 "S3://b/x", "gs+x.y-z://b", "gs://", r"C:\x", " gs://b/x", "\tgs://b/x", "\ngs://b/x", " ./a://b"):
        scheme = urllib.parse.urlsplit(path).scheme
        assert is_uri(path) == bool(scheme and path.lstrip(blanks)[len(scheme):].startswith("://")), path
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub" / "a:").mkdir(parents=True)
    (tmp_path / "sub" / "a:" / "b.jsonl").write_text('{"text": "A line of text long enough to be kept as a page."}\n')
    assert run_cli("run", "--input", "sub/a://b.jsonl", "--domain", "web", "--stages", "ingest", "--output", "out/x://y",
                   "--progress", "off") == 0, capsys.readouterr().err
    assert pq.read_table(tmp_path / "out" / "x:" / "y" / "text").num_rows == 1
    # a bucket's URI pasted with a blank before it is no local folder " gs:" to write into
    assert run_cli("run", "--input", "sub/a://b.jsonl", "--domain", "web", "--stages", "ingest", "--output", " gs://b/out",
                   "--progress", "off") == 2
    assert "gs://b/out" in capsys.readouterr().err and not (tmp_path / " gs:").exists()


def test_an_hdfs_output_without_java_is_said_in_a_line_of_reasonable_length(tmp_path, capsys, monkeypatch):
    """An hdfs:// output where Java is not found (JAVA_HOME an empty folder here): "cannot be
    created or written" held pyarrow's every libjvm path tried, 16 KB on one line (an hdfs://
    --input's is cut to 400 characters): cut the same way, as is curate audit's "cannot be read"."""
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    page = tmp_path / "p.jsonl"
    page.write_text('{"text": "A line of text long enough to be kept as a page."}\n')
    assert run_cli("run", "--input", page, "--domain", "web", "--stages", "ingest", "--output", "hdfs://nn/x", "--progress", "off") == 2
    assert run_cli("audit", "--corpus", "hdfs://nn/x", "--output", tmp_path / "a") == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert said[0].startswith("curate: output 'hdfs://nn/x' cannot be created or written (Unable to load libjvm"), said
    assert said[1].startswith("curate audit: 'hdfs://nn/x' cannot be read by curate audit ("), said  # 'Prior attempt ...' in-process
    assert len(said) == 2 and max(map(len, said)) < 700, [len(line) for line in said]


@pytest.mark.parametrize("flag, typed, said", [
    ("--output", " gs://b/out", "run.output: ' gs://b/out' starts with a space: remove it (gs://b/out)"),
    ("--output", "\ts3://b/out", "run.output: '\\ts3://b/out' starts with a blank or control character: remove it (s3://b/out)"),
    ("--output", "gs:/b/out", "run.output: 'gs:/b/out' looks like a URI missing a slash (did you mean gs://b/out?); "
                              "for a local folder named 'gs:', write ./gs:/b/out"),
    ("--input", "S3:/b/in/*.jsonl", "inputs[0].glob: 'S3:/b/in/*.jsonl' looks like a URI missing a slash (did you mean "
                                    "S3://b/in/*.jsonl?); for a local folder named 'S3:', write ./S3:/b/in/*.jsonl"),
    ("--input", "file:/data/x.jsonl", "inputs[0].glob: 'file:/data/x.jsonl' looks like a URI missing a slash (did you mean "
                                      "file:///data/x.jsonl?); for a local folder named 'file:', write ./file:/data/x.jsonl"),
    # hdfs:/user/x was said as hdfs://user/x, a namenode 'user': a path on the default namenode is hdfs:///user/x
    ("--output", "hdfs:/user/x", "run.output: 'hdfs:/user/x' looks like a URI missing a slash (did you mean hdfs:///user/x?); "
                                 "for a local folder named 'hdfs:', write ./hdfs:/user/x"),
    ("--output", "hdfs:/nn:8020/x", "run.output: 'hdfs:/nn:8020/x' looks like a URI missing a slash (did you mean "
                                    "hdfs://nn:8020/x?); for a local folder named 'hdfs:', write ./hdfs:/nn:8020/x"),
    ("--output", "abfs:/c/x", "run.output: 'abfs:/c/x' looks like a URI missing a slash (did you mean abfs://c/x?); "
                              "for a local folder named 'abfs:', write ./abfs:/c/x"),
    # a blank and a slash missing: written into a local folder ' gs:'
    ("--output", " gs:/b/out", "run.output: ' gs:/b/out' starts with a space and looks like a URI missing a slash: did you "
                               "mean gs://b/out?"),
    ("--input", "\ts3:/b/*.jsonl", "inputs[0].glob: '\\ts3:/b/*.jsonl' starts with a blank or control character and looks "
                                   "like a URI missing a slash: did you mean s3://b/*.jsonl?"),
])
def test_a_uri_with_a_blank_before_it_or_a_slash_missing_is_said_in_curates_words(tmp_path, monkeypatch, capsys, flag, typed, said):
    """--output ' gs://b/out' was refused with pyarrow's "Cannot parse URI: '%20gs://b/out'", which
    does not name the blank; --output gs:/b/out (one slash) was written into a local folder 'gs:'.
    Both are a config error naming the option and what to type; ./gs:/b/out is a local folder still."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.jsonl").write_text('{"text": "A line of text long enough to be kept as a page."}\n')
    args = {"--input": "p.jsonl", "--output": "o", flag: typed}
    assert run_cli("run", "--input", args["--input"], "--domain", "web", "--stages", "ingest", "--output", args["--output"],
                   "--progress", "off") == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"curate: config error: {said}"]
    assert sorted(os.listdir(tmp_path)) == ["p.jsonl"]
    if typed == "gs:/b/out":  # the escape the message offers
        assert run_cli("run", "--input", "p.jsonl", "--domain", "web", "--stages", "ingest", "--output", "./gs:/b/out",
                       "--progress", "off") == 0, capsys.readouterr().err
        assert pq.read_table(tmp_path / "gs:" / "b" / "out" / "text").num_rows == 1


@pytest.mark.parametrize("flag, said", [
    ("--text-field", "inputs[0].text_field: '' names no field: give a field's name (--text-field after its --input), or leave it out"),
    ("--id-field", "inputs[0].id_field: ' ' names no field: give a field's name (--id-field after its --input), or leave it out"),
    ("--url-field", "inputs[0].url_field: '' names no field: give a field's name (--url-field after its --input), or leave it out"),
    ("--source", "inputs[0].source: empty: give a name (--source after its --input), or leave it out (its last fixed folder's name)"),
])
def test_an_empty_field_name_or_source_is_a_config_error(tmp_path, pages, capsys, flag, said):
    """--text-field '' ran, every record quarantined (missing_text_field: a run of nothing); --id-field ' ',
    --url-field '' and --source '' ran as if not given, or with documents of no source. Each is refused."""
    value = " " if flag == "--id-field" else ""
    assert run_cli("run", "--input", pages, "--domain", "web", flag, value, "--stages", "ingest", "--output", tmp_path / "o",
                   "--progress", "off") == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"curate: config error: {said}"]
    assert not (tmp_path / "o").exists()


def test_workers_are_checked_against_this_machines_cores_only_where_they_run_here(tmp_path, pages, capsys, monkeypatch):
    """run.workers over 4 a core (msgs89) was refused whatever the runner: a shared config's
    `workers = 64` refused a Dataflow/Portable launch (whose workers are the runner's, run.workers
    unused), and `--workers 100 --runner=PortableRunner` said the cores after saying it is not used.
    The cores are the process's (its CPU affinity: a container's or taskset's 2 of 64), as 0's are."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(config, "CGROUP", str(tmp_path / "no-cgroup"))  # no CPU quota, whatever this machine's
    portable = ["--runner=PortableRunner", "--job_endpoint=localhost:1", "--job_server_timeout=1"]
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", tmp_path / "o", "--workers", "100", *portable) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--workers 100 is not used" in err[0], err
    shared = tmp_path / "shared.toml"
    shared.write_text("[run]\nworkers = 64\n")

    def launched(*a, **k):
        raise ValueError("launched")
    import pipelines.pipeline
    monkeypatch.setattr(pipelines.pipeline, "run", launched)
    assert run_cli("run", shared, "--input", pages, "--domain", "web", "--output", tmp_path / "o", *portable) == 2
    assert capsys.readouterr().err == "curate: launched\n"
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # a machine of 64 cores, this process given 2
    assert run_cli("run", shared, "--input", pages, "--domain", "web", "--output", tmp_path / "o") == 2
    assert capsys.readouterr().err.strip().splitlines() == [  # said as this process's 2, not the machine's ("this machine of 2 cores")
        "curate: config error: run.workers: 64 processes on 2 cores of this machine's 64 (its CPU affinity: taskset, a container's "
        "cpuset): give at most 8 (4 a core), or 0 for one a core"]
    from pipelines.pool import workers
    assert workers({"workers": 0}, True) == 2


@pytest.mark.parametrize("files, n", [
    ({"cpu.max": "200000 100000\n"}, 2),  # cgroup v2: a container given 2 CPUs
    ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: 2 processes run at once
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),  # cgroup v1
    ({"cpu,cpuacct/cpu.cfs_quota_us": "100000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 1),
    ({"cpu.max": "max 100000\n"}, 64),  # no quota: the process's cores
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, 64),
    ({"cpu.max": "garbled\n"}, 64),
    # a quota past any float (a damaged file): the process's cores, not an OverflowError's traceback
    ({"cpu.max": "9" * 400 + " 100000\n"}, 64),
    ({"cpu/cpu.cfs_quota_us": "9" * 400 + "\n", "cpu/cpu.cfs_period_us": "100000\n"}, 64),
    # a cgroup below the root (systemd's CPUQuota=, a container without its own cgroup namespace), or above it
    ({"system.slice/x.service/cpu.max": "200000 100000\n"}, 2),
    ({"system.slice/cpu.max": "100000 100000\n", "system.slice/x.service/cpu.max": "max 100000\n"}, 1),
    ({"cpu,cpuacct/system.slice/x.service/cpu.cfs_quota_us": "200000\n",
      "cpu,cpuacct/system.slice/x.service/cpu.cfs_period_us": "100000\n"}, 2),
])
def test_workers_are_checked_against_a_containers_cpu_quota(tmp_path, pages, capsys, monkeypatch, files, n):
    """A container limited to 2 CPUs on a 64-core host (its cgroup's CPU quota; its affinity
    all 64 cores) allowed --workers 256, and run.workers = 0 forked 64 processes to share 2 CPUs:
    the quota (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us) counts as the cores."""
    from pipelines.pool import workers

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr(config, "CGROUP", str(tmp_path / "cgroup"))
    (tmp_path / "proc").write_text("12:cpu,cpuacct:/system.slice/x.service\n0::/system.slice/x.service\n")
    monkeypatch.setattr(config, "PROC_CGROUP", str(tmp_path / "proc"))
    for rel, text in files.items():
        (tmp_path / "cgroup" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cgroup" / rel).write_text(text)
    assert workers({"workers": 0}, True) == n
    assert run_cli("run", "--input", pages, "--domain", "web", "--output", tmp_path / "o", "--workers", str(4 * n + 1)) == 2
    where = "this machine of 64 cores" if n == 64 else (  # the quota's, not "this machine of 2 cores" on a 64-core host
        f"{n} core{'s' * (n > 1)} of this machine's 64 (its cgroup's CPU quota: docker --cpus, systemd's CPUQuota=)")
    assert capsys.readouterr().err.strip().splitlines() == [
        f"curate: config error: run.workers: {4 * n + 1} processes on {where}: give at most {4 * n} (4 a core), or 0 for one a core"]


def test_a_key_below_an_option_given_by_set_too_is_refused(tmp_path, pages, capsys):
    """`--stages ingest --set run.stages.x=1` ran (the --stages value won; a --set of a key below an
    option was not looked at, the one above it was), as did `--languages de --set langid.languages.en=0.5`."""
    for flag, value, text in [("--stages", "ingest", "run.stages.x=1"), ("--languages", "de", "langid.languages.en=0.5")]:
        assert run_cli("run", "--input", pages, "--domain", "web", flag, value, "--set", text, "--output", tmp_path / "o",
                       "--progress", "off") == 2
        key = "run.stages" if flag == "--stages" else "langid.languages"
        assert capsys.readouterr().err.splitlines()[0] == f"curate: config error: --set {text} and {flag} both set {key}: give one of them"
        assert not (tmp_path / "o").exists()


def test_the_local_folder_a_uri_missing_a_slash_names_is_read_as_the_message_says(tmp_path, monkeypatch, capsys):
    """'gs:/x/*.jsonl' is refused as a URI missing a slash, 'for a local folder named gs:, write
    ./gs:/x/*.jsonl': that glob, tidied to gs:/x/*.jsonl (./ dropped), was then skipped as that
    mistake by the launch's listing: a run of 0 files, exit 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gs:" / "x").mkdir(parents=True)
    (tmp_path / "gs:" / "x" / "p.jsonl").write_text('{"text": "A line of text long enough to be kept as a page."}\n')
    assert run_cli("run", "--input", "./gs:/x/*.jsonl", "--domain", "web", "--stages", "ingest", "--output", "o",
                   "--progress", "off") == 0, capsys.readouterr().err
    assert pq.read_table(tmp_path / "o" / "text").num_rows == 1


@pytest.mark.parametrize("domain", ["web", "books"])
def test_format_source_outside_the_code_domain_is_a_config_error(tmp_path, pages, capsys, domain):
    """`--input pages.jsonl --domain web --format source` ran: each file read as one source file,
    its language from its name, none for .jsonl: the ingest removed every document (unknown_language).
    A code tree is the code domain's: refused before the run, saying so."""
    assert run_cli("run", "--input", pages, "--domain", domain, "--format", "source", "--output", tmp_path / "o",
                   "--progress", "off") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"curate: config error: inputs[0].format: 'source' reads a tree of source code, for --domain code, not {domain} (each "
        "file a program, its language from its name): give --domain code, or another --format (or leave it out)"]
    assert not (tmp_path / "o").exists()


def test_audit_of_an_empty_folder_says_so(tmp_path, capsys):
    """`curate audit --corpus emptydir` said the folder 'matches no files', a glob's words."""
    (tmp_path / "empty").mkdir()
    assert run_cli("audit", "--corpus", tmp_path / "empty", "--output", tmp_path / "a") == 2
    assert capsys.readouterr().err.splitlines() == [f"curate audit: --corpus {str(tmp_path / 'empty')!r} is a folder with no files in it"]


@pytest.mark.parametrize("args, said", [
    (["demo", "--output", "gs:/b/d"], "curate: demo: --output 'gs:/b/d' looks like a URI missing a slash (did you mean gs://b/d?); "
                                      "for a local folder named 'gs:', write ./gs:/b/d"),
    (["demo", "--output", "gs://b/d"], "curate: demo: --output 'gs://b/d' is a URI: the demo writes its sample files on this "
                                       "machine: give a local folder"),
    (["mix", "gs:/b/o"], "curate: 'gs:/b/o' looks like a URI missing a slash (did you mean gs://b/o?); for a local folder "
                         "named 'gs:', write ./gs:/b/o"),
    (["audit", "--corpus", "p.jsonl", "--output", "gs:/b/a"], "curate audit: --output 'gs:/b/a' looks like a URI missing a "
                                                              "slash (did you mean gs://b/a?); for a local folder named 'gs:', write ./gs:/b/a"),
    (["audit", "--corpus", " s3://b/*.jsonl"], "curate audit: --corpus ' s3://b/*.jsonl' starts with a space: remove it (s3://b/*.jsonl)"),
    # a file named, missing: said as such, not as a pattern that matched nothing (msgs90); a glob as before
    (["audit", "--corpus", "nothere.parquet"], "curate audit: --corpus: no file or folder 'nothere.parquet'"),
    (["audit", "--corpus", "none/*.parquet"], "curate audit: --corpus 'none/*.parquet' matches no files"),
])
def test_demo_mix_and_audit_say_a_uri_mistyped_as_run_does(tmp_path, monkeypatch, capsys, args, said):
    """`curate demo --output gs:/b/d` wrote its samples into a local folder 'gs:' (and gs://b/d
    too, then tried the bucket); `curate audit --output gs:/b/a` wrote its report there; `curate
    mix gs:/b/o` said 'no such directory'. Each says it as curate run does (path_problem), writing nothing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.jsonl").write_text('{"text": "A line of text long enough to be kept as a page."}\n')
    assert run_cli(*args) == 2
    assert capsys.readouterr().err.splitlines()[0] == said
    assert os.listdir(tmp_path) == ["p.jsonl"]


def test_every_command_given_a_compressed_file_beside_its_copy_is_told_to_give_the_copy(tmp_path, capsys, monkeypatch):
    """curate run --input x.jsonl.bz2 beside its copy says to give the copy (the hint's command
    again fails: "already exists"); the audit, train-quality (--positive, --eval) and a
    decontaminate evaluation set printed the recompress hint again, and train-quality's --positive
    x.jsonl.bz2 said "unknown format None". Each now says run's line, with its own option; for
    bzip2 -dk's copy (x.jsonl) too. A file of that name holding other data is no copy: the hint."""
    import bz2

    monkeypatch.chdir(tmp_path)
    lines = "".join(json.dumps({"text": f"record {i} of the harbour master's log", "label": i % 2}) + "\n" for i in range(40))
    x, copy = tmp_path / "x.jsonl.bz2", tmp_path / "x.jsonl"
    x.write_bytes(bz2.compress(lines.encode()))
    (tmp_path / "d.toml").write_text(f'[run]\noutput = "o"\n[[inputs]]\nglob = "{copy}"\ndomain = "web"\n'
                                     f'[[decontaminate.eval_sets]]\nglob = "{x}"\n')
    model = ["--output", str(tmp_path / "m.bin")]
    commands = {
        "--corpus": ["audit", "--corpus", x],
        "--positive": ["train-quality", "--positive", x, "--negative", copy, *model],
        "--eval": ["train-quality", "--positive", copy, "--negative", copy, "--eval", x, *model],
        "--input": ["run", "--input", x, "--domain", "web", "--output", tmp_path / "o", "--progress", "off"],
        "decontaminate.eval_sets[0].glob": ["run", "d.toml", "--stages", "ingest,decontaminate", "--progress", "off"],
    }
    for other in (False, True):
        copy.write_text(lines.replace("record 0", "record zero") if other else lines)
        for option, args in commands.items():
            assert run_cli(*args) != 0, args
            err = capsys.readouterr().err
            given = f"{option} {copy}" if option.startswith("-") else f"{option} = {json.dumps(str(copy))}"
            said = f"{x} is compressed with bzip2; its copy {copy} is beside it: give {given} instead"
            if other:  # another file of that name: the hint (it writes x.jsonl.zst, not there)
                assert "its copy" not in err and "zstd -q -o" in err, (args, err)
            else:
                assert said in err and "e.g." not in err, (args, err)


def test_a_file_beside_a_compressed_one_alike_in_its_first_mib_only_is_no_copy(tmp_path, capsys, monkeypatch):
    """d/x.jsonl beside d/x.jsonl.bz2, alike in the first MiB decompressed but cut short after it
    (an older dump, a `bzip2 -dk` killed midway): curate run said `its copy d/x.jsonl is beside
    it: move the original out ... (its copy is read in its place)`, and the moved original's
    last third of records was never read. The two are compared to their ends (up to
    common.HEAD_BYTES, lowered here; past it, the line says they were compared no further)."""
    import bz2

    from curate.readers import common

    d = tmp_path / "d"
    d.mkdir()
    data = "".join(json.dumps({"text": f"record {i} of the harbour master's log " * 5}) + "\n" for i in range(12000)).encode()
    assert len(data) > 2 << 20
    (d / "x.jsonl.bz2").write_bytes(bz2.compress(data))
    args = ("run", "--input", d, "--domain", "web", "--output", tmp_path / "o", "--progress", "off")
    told = f"its copy {d / 'x.jsonl'} is beside it: move the original out of the input's folder (its copy is read in its place)"
    for copy, said in ((data[: len(data) * 2 // 3], False), (data, True)):
        (d / "x.jsonl").write_bytes(copy)
        assert run_cli(*args) == 2
        err = capsys.readouterr().err
        assert (told in err) == said and ("zstd -q -o" in err) != said and "compared no further" not in err, err
    monkeypatch.setattr(common, "HEAD_BYTES", 1 << 20)  # alike as far as it reads: said so
    assert run_cli(*args) == 2
    assert f"{told}; alike in their first 1 MiB decompressed, compared no further: check the copy is whole first" in capsys.readouterr().err


def test_every_file_of_a_folder_curate_will_not_read_is_named_in_one_line(tmp_path, capsys):
    """A folder of three .jsonl.bz2 dumps (or a zip and files of no known format beside them):
    curate run and the audit named the first file alone, so a user fixed one, ran again, and
    was told the next. The first file's line says what to do; the others are named with it (a
    reason where it differs), the first five and a count, and the files of no known format too."""
    import bz2

    d = tmp_path / "d"
    d.mkdir()
    for n in "abcdefg":
        (d / f"{n}.jsonl.bz2").write_bytes(bz2.compress(b'{"text": "a record of the harbour"}\n'))
    (d / "h.zip").write_bytes(b"PK\x03\x04" + b"\0" * 26)
    (d / "notes").write_bytes(b"\x00\x01 nothing that says its format")
    out = tmp_path / "o"
    assert run_cli("run", "--input", d, "--domain", "web", "--output", out, "--progress", "off") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{d / 'a.jsonl.bz2'} is compressed with bzip2; curate reads gzip and zstd: recompress it" in err, err
    assert ("7 other files to fix too (the same way, or as said): b.jsonl.bz2, c.jsonl.bz2, d.jsonl.bz2, e.jsonl.bz2, "
            f"f.jsonl.bz2 and 2 more; and cannot tell the format of '{d / 'notes'}'") in err, err
    (d / "notes").unlink()
    for n in "cdefg":
        (d / f"{n}.jsonl.bz2").unlink()
    assert run_cli("run", "--input", d, "--domain", "web", "--output", out, "--progress", "off") == 2
    assert "2 other files to fix too (the same way, or as said): b.jsonl.bz2, h.zip (a zip archive)\n" in capsys.readouterr().err
    assert run_cli("audit", "--corpus", d, "--output", tmp_path / "audit") != 0
    err = capsys.readouterr().err
    assert f"{d / 'a.jsonl.bz2'} is compressed with bzip2" in err and "2 other files to fix too (the same way, or as said): " \
        f"{d / 'b.jsonl.bz2'}, {d / 'h.zip'} (not a Parquet or JSONL file)\n" in err, err
    # train-quality's inputs and an evaluation set's files: the compressed ones, all named
    (d / "h.zip").unlink()
    assert run_cli("train-quality", "--positive", d, "--negative", d, "--output", tmp_path / "m.bin") != 0
    assert "1 other file to fix too (the same way, or as said): b.jsonl.bz2\n" in capsys.readouterr().err
    (tmp_path / "e.toml").write_text(f'[run]\noutput = "{out}"\n[[inputs]]\nglob = "{tmp_path / "e.toml"}"\nformat = "text"\n'
                                     f'domain = "web"\n[[decontaminate.eval_sets]]\nglob = "{d}"\n')
    assert run_cli("run", tmp_path / "e.toml", "--stages", "ingest,decontaminate", "--progress", "off") != 0
    assert "1 other file to fix too (the same way, or as said): b.jsonl.bz2\n" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="counts bytes read with Linux's /proc/self/io")
def test_a_file_beside_a_zstd_file_of_other_size_is_not_read_to_tell_them_apart(tmp_path, capsys):
    """x.jsonl beside x.jsonl.zst (one name, compressed and not) are compared before a run, to read
    a copy once: side by side to the first difference, so a copy with a record more at its end was
    read whole, both files, before anything ran (a 4 GiB pair: 8 GiB). A zstd file of one frame
    states its size decompressed: sizes that differ are told apart without reading either (bytes
    read counted by the kernel, /proc/self/io), and both are read by the run, as before."""
    import zstandard

    d = tmp_path / "d"
    d.mkdir()
    lines = "".join(json.dumps({"text": f"record {i} of the harbour master's log, its tides and its ships"}) + "\n" for i in range(70000)) * 3
    (d / "x.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))
    (d / "x.jsonl").write_text(lines + json.dumps({"text": "one more record, at the end"}) + "\n")
    size = (d / "x.jsonl").stat().st_size
    assert size > 15 << 20, size
    cfg = tmp_path / "c.toml"  # a second input missing: the plan's errors are said, nothing is run
    cfg.write_text(f'[run]\noutput = "{tmp_path / "o"}"\n[[inputs]]\nglob = "{d}"\ndomain = "web"\n'
                   f'[[inputs]]\nglob = "{tmp_path / "gone"}"\ndomain = "web"\nsource = "b"\n')

    def read() -> int:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar"))

    before = read()
    assert run_cli("run", cfg, "--progress", "off") == 2
    assert "no file or folder" in capsys.readouterr().err
    got = read() - before
    assert got < size // 4, (got, size)  # was 19.1 MB: the 16.3 MB plain file whole, and the zstd one; 2.6 MB now


def test_curate_audit_takes_no_abbreviation_of_an_option(capsys, tmp_path):
    """`curate audit out --comp old` was read as --compare (argparse's abbreviations), which `curate
    run` refuses: one rule for every command, an option written whole."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["audit", str(tmp_path), "--comp", "old"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == "curate audit: unrecognized arguments: --comp old\n(see: curate audit --help)\n"
