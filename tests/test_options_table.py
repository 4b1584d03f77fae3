"""`curate run --bogus` says the unknown option from a static table of the DirectRunner's
Beam option names (pipelines/beam_option_names.py) instead of importing Beam (~1.5 CPU-s) to
build its parser. The table must equal the installed Beam's parser, and say what Beam's own
parser says, so it cannot rot unseen."""
from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines import options
from test_import_cost import REPO, imported


def test_the_table_equals_the_installed_beams_parser():
    """And holds every option of the parser beam_option asks (Beam's option groups before a
    runner's module is imported): a name not in the table is no Beam option, said without Beam."""
    code = ("from pipelines.options import _beam_parser, direct_runner_option_names as n\n"
            "groups = sorted({o for a in _beam_parser([])._actions for o in a.option_strings})\n"
            "print(' '.join(groups)); print(' '.join(n()))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, check=True)
    from importlib.metadata import version

    from pipelines.beam_option_names import BEAM_VERSION, DIRECT_RUNNER

    groups, direct = (set(line.split()) for line in r.stdout.splitlines())
    assert BEAM_VERSION == version("apache-beam") and direct == DIRECT_RUNNER, (
        "Beam's options changed: python -c 'from pipelines.options import write_option_names; write_option_names()'")
    assert groups and groups <= DIRECT_RUNNER, sorted(groups - DIRECT_RUNNER)


def test_beam_option_without_beam_agrees_with_beams_groups(monkeypatch):
    from pipelines.beam_option_names import DIRECT_RUNNER

    names = ["--inptu", "--outptu", "--runner", "--num_workers", "--direct_num_workers", "--flink_master", "--bogus"]
    quick = [options.beam_option(n) for n in names]
    monkeypatch.setattr(options, "_direct_runner_names", lambda: frozenset())  # as for another Beam: its parser asked
    assert quick == [options.beam_option(n) for n in names] == [n in DIRECT_RUNNER for n in names]


@pytest.mark.parametrize("args", [
    ["--bogus"], ["--direct_num_wrkers=2"], ["--bogus", "value", "--runer=x"], ["--inptu=a.jsonl"], ["--temp_locaton=/x"],
])
def test_the_table_says_what_beams_parser_says(args, monkeypatch):
    quick = options._unknown_without_beam(args, extra_known=["--input", "--output"])
    assert quick is not None
    monkeypatch.setattr(options, "_unknown_without_beam", lambda *a, **k: None)
    assert quick == options.unknown_options(args, extra_known=["--input", "--output"])


@pytest.mark.parametrize("args", [["--direct_num_workers=two"], ["--runner=FlinkRunner", "--bogus"], ["-x"],
                                  ["--bogus", "--"], ["--num_workers=2", "--bogus"]])
def test_an_argument_naming_a_beam_option_goes_to_beams_parser(args):
    assert options._unknown_without_beam(args) is None


@pytest.mark.parametrize("args", [["run", "--bogus"], ["run", "--bogus", "x"]])
def test_curate_run_with_an_unknown_option_imports_no_beam(tmp_path, args):
    mods, r = imported(args, cwd=tmp_path)
    assert r.returncode == 2 and "unknown option --bogus: neither a curate option nor a Beam pipeline option for DirectRunner" in r.stderr, r.stderr
    assert "apache_beam" not in mods, sorted(mods)


def test_another_beam_than_the_tables_is_asked_itself(monkeypatch):
    """A newer Beam may know an option the table does not: it was reported unknown."""
    from pipelines import beam_option_names

    monkeypatch.setattr(beam_option_names, "BEAM_VERSION", "0.0.1")
    assert options._unknown_without_beam(["--bogus"]) is None
    assert options.attach_values(["--bogus", "x"], set()) == ["--bogus=x"]
