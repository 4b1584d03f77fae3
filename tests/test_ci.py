"""CI may not pass on skips: under CI=true every skip (in a test, a fixture or at import)
is a failure; outside CI a skip stays a skip."""
from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()
TESTS = """
import pytest

def test_skips_in_body():
    pytest.skip("no chromium")

@pytest.mark.skipif(True, reason="no torch")
def test_skipif():
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_xfail():
    assert False

def test_passes():
    pass
"""
IMPORT_SKIP = "import pytest\npytest.importorskip('no_such_module_for_ci_test')\n\ndef test_x():\n    pass\n"


@pytest.mark.parametrize("ci", ["true", ""])
def test_skips_fail_under_ci(pytester, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a=TESTS, test_b=IMPORT_SKIP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_a.py")
    if ci:
        result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)  # skipif: a setup error
        result.stdout.fnmatch_lines(["*skipped under CI=true*no chromium*", "*skipped under CI=true*no torch*"])
    else:
        result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_b.py")  # skip at import
    if ci:
        result.assert_outcomes(errors=1)
        assert result.ret != 0
    else:
        result.assert_outcomes(skipped=1)


def test_skips_fail_under_ci_with_xdist_workers(pytester, monkeypatch):
    """The README's command runs the tests in pytest-xdist workers (-n): a skip there (in a
    test, at import) is still a failure under CI=true, and the run's exit status says so."""
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a=TESTS, test_b=IMPORT_SKIP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)  # skipif and the import skip: errors
    result.stdout.fnmatch_lines_random(["*skipped under CI=true*no chromium*", "*skipped under CI=true*no torch*"])
    assert result.ret != 0


def test_ci_runs_the_readmes_test_command():
    """.ci/run ends with exactly the README's one test command (a clean venv, the install, pytest)."""
    repo = Path(__file__).resolve().parents[1]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if line.startswith("python3 -m venv .venv && ") and "pytest" in line)
    assert " -m pytest " in command and " -n " in command, command  # the tests run in parallel workers
    ci = [line for line in (repo / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == command
