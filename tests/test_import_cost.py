"""Commands that run no pipeline import no Apache Beam (~1 CPU-second) nor other heavy modules
they do not use: help, a usage or config error, `curate config`, `curate audit OUT`, the
loader's import. Each command runs in a fresh interpreter; the modules it imported are read
from its ``sys.modules`` at exit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("apache_beam", "torch", "polars", "numba", "fasttext", "tiktoken")

# at exit (argparse's --help and errors exit through SystemExit), the heavy packages imported
_DRIVER = """
import atexit, json, sys
HEAVY = {heavy!r}
atexit.register(lambda: sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(
    {{m.split(".")[0] for m in sys.modules}} & set(HEAVY))) + "\\n"))
sys.argv = ["curate", *{args!r}]
from curate.cli import entry
entry()
"""


def imported(args: list[str], cwd: Path = REPO) -> tuple[set[str], subprocess.CompletedProcess]:
    code = _DRIVER.format(heavy=HEAVY, args=list(args))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    line = [x for x in r.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line[len("MODULES "):])), r


@pytest.mark.parametrize("args, code", [
    (["--help"], 0),
    (["--bogus"], 2),
    (["run", "--help"], 0),
    (["demo", "--help"], 0),
    (["run", "--stages", "nope"], 2),                     # a usage/config error: no pipeline runs
    (["run", "missing-config.toml"], 2),
    (["run", "--output", "OUT"], 2),                      # no inputs
    (["run", "--input", "nothing-here.jsonl", "--domain", "web", "--output", "OUT", "--workers", "2"], 2),
    (["config"], 0),
    (["audit", "--help"], 0),
    (["mix", "--help"], 0),
])
def test_a_command_that_runs_no_pipeline_imports_no_beam(args, code, tmp_path):
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    mods, r = imported(args, cwd=tmp_path)
    assert r.returncode == code, r.stderr
    # tiktoken and fasttext may be (~10 ms each): a config's tokenizer name and models are checked
    assert not mods & {"apache_beam", "torch"}, (args, sorted(mods))


@pytest.mark.parametrize("args, hint", [(["run", "--inptu", "x"], "--input"), (["demo", "--outptu=x"], "--output")])
def test_a_misspelt_curate_option_is_said_before_beams_import(args, hint, tmp_path):
    """Asking whether a name close to a curate option is Beam's imported Beam (1-2 s) for the error."""
    mods, r = imported(args, cwd=tmp_path)
    assert r.returncode == 2 and f"unknown option {args[1].split('=')[0]} (did you mean {hint}?)" in r.stderr, r.stderr
    assert "apache_beam" not in mods, sorted(mods)


def test_curate_config_of_a_file_imports_no_beam(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "hello"}\n')
    cfg = tmp_path / "x.toml"
    cfg.write_text('[run]\noutput = "out"\n\n[[inputs]]\nglob = "a.jsonl"\ndomain = "web"\nformat = "jsonl"\n')
    mods, r = imported(["config", str(cfg)], cwd=tmp_path)
    assert r.returncode == 0 and "[[inputs]]" in r.stdout, r.stderr
    assert not mods & {"apache_beam", "torch", "polars"}, sorted(mods)


@pytest.fixture(scope="module")
def small_output(tmp_path_factory) -> Path:
    """An output of `curate run --stages ingest` on a few JSON Lines records."""
    root = tmp_path_factory.mktemp("small")
    (root / "in.jsonl").write_text("".join(json.dumps({"text": f"document number {i} says hello to the world"}) + "\n"
                                           for i in range(20)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "curate.cli", "run", "--input", str(root / "in.jsonl"), "--domain", "web",
                        "--output", str(root / "out"), "--stages", "ingest", "--progress", "off", "--workers", "1"],
                       capture_output=True, text=True, env=env, cwd=root, timeout=300)
    assert r.returncode == 0, r.stderr
    return root / "out"


def test_curate_audit_of_an_output_imports_no_beam_nor_the_filters_kernels(small_output):
    mods, r = imported(["audit", str(small_output)], cwd=small_output.parent)
    assert r.returncode == 0, r.stderr
    assert (small_output / "report.html").is_file()
    # polars reads the output; numba (the filters' compiled kernels) only for a label's trust thresholds, a table
    assert not mods & {"apache_beam", "torch", "numba", "tiktoken", "fasttext"}, sorted(mods)


def test_importing_the_loader_imports_no_beam_polars_nor_torch():
    code = ("import sys, curate.loader; heavy = {'apache_beam', 'polars', 'torch', 'numba'} & {m.split('.')[0] for m in sys.modules}; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_the_token_dataset_imports_torch_but_no_beam_nor_polars():
    pytest.importorskip("torch")
    code = ("import sys; from curate.loader import TokenDataset; mods = {m.split('.')[0] for m in sys.modules}; "
            "assert 'torch' in mods and not {'apache_beam', 'polars', 'numba'} & mods, mods")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("args, code", [(["config"], 0), (["--help"], 0), (["run", "--bogus"], 2)])
def test_a_command_that_compiles_no_kernel_imports_no_numba(args, code, tmp_path):
    """The filters' and dedup's kernels import numba (~0.3 CPU-s) at their first call, not at import:
    `curate config` reads the filter modules' defaults, an unknown option's error their names."""
    mods, r = imported(args, cwd=tmp_path)
    assert r.returncode == code, r.stderr
    assert "numba" not in mods, (args, sorted(mods))


def test_the_kernels_compile_on_first_use_once_a_process():
    """Each lazy kernel becomes numba's dispatcher at its first call, the module's others with it
    (secrets' _candidates calls _pair_row, _user_info, ...), and gives what its Python function gives, run by the
    interpreter (not numba's own compile of it: an uncached compile of _candidates cost ~8 of the test's 9 CPU-s)."""
    code = """
import sys
from curate.stages.filters import rules, secrets
assert "numba" not in sys.modules
lazy = rules._count_flags
assert rules.count_flags("ab 1") and "numba" in sys.modules
import numba
from numba.core.registry import CPUDispatcher
assert isinstance(rules._count_flags, CPUDispatcher) and isinstance(rules._scan_words, CPUDispatcher)
assert lazy.dispatcher is rules._count_flags and lazy.compiled() is rules._count_flags  # made once
flags, names = secrets.candidates("password = 12 and https://u:p@h")
assert isinstance(secrets._pair_row, CPUDispatcher)
codes = secrets.code_points("password = 12 and https://u:p@h")
want = secrets._candidates.py_func(codes, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, secrets._USTARTS)
assert (flags, list(names)) == (want[0], list(want[1])), (flags, names, want)
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_the_html_extraction_helper_imports_no_pyarrow_nor_numpy():
    """Each reading process starts a helper process for HTML extraction (curate.readers.extract_helper):
    it imported pyarrow and numpy through curate.readers (0.21 CPU-s a start, Resiliparse alone 0.05).
    A page goes through the helper's own loop; the modules are read from its sys.modules at exit."""
    import pickle
    import struct

    from curate.readers.extract_helper import _HELPER_CMD

    head = struct.Struct("<Q")
    page = b"<html><body><article><p>" + b"A short paragraph about rivers and the stones in them. " * 8 + b"</p></article></body></html>"
    request = pickle.dumps((page, None, 64))
    code = ("import atexit, sys; atexit.register(lambda: sys.__stderr__.write('MODULES ' + ' '.join(sorted("
            "{m.split('.')[0] for m in sys.modules})) + '\\n')); " + _HELPER_CMD)
    r = subprocess.run([sys.executable, "-c", code], input=head.pack(len(request)) + request, capture_output=True,
                       cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    replies, out = [], r.stdout
    while out:
        n = head.unpack(out[:head.size])[0]
        replies.append(pickle.loads(out[head.size:head.size + n]))
        out = out[head.size + n:]
    assert r.returncode == 0 and replies[0] == "ready" and replies[1][0] == "ok" and "rivers" in replies[1][1], (replies, r.stderr[-2000:])
    mods = set(r.stderr.decode().split("MODULES ")[-1].split())
    assert "resiliparse" in mods and not mods & {"pyarrow", "numpy", "apache_beam", "numba"}, sorted(mods)
