"""PII redaction in code, through the CLI (README: Stages, "PII in code").

A redaction replaces an address or a number and nothing else: code that only looks like one
(a Python slice ``a[3::3]``, a format test's ``"+0000392.6"``, an OID's dotted tail) is left as
it is, and a redacted Python file still parses.
"""
from __future__ import annotations

import ast
from pathlib import Path

import polars as pl

from curate import cli

SLICES = (
    "def every_third(children):\n"
    "    # after the header, every third child is a clause\n"
    "    return [c for c in children[3::3]] + children[10::20]\n"
    "\n"
    "\n"
    "MAINTAINER = 'jane.doe@example.org'\n"
    "SERVERS = ['10.1.2.3', 'fe80::1', '2001:db8::8a2e:370:7334']\n"
    "SHA256_OID = '2.16.840.1.101.3.4.2.1'\n"
)
FORMAT_TEST = (
    '#include "fmt/format.h"\n'
    "\n"
    "TEST(format, plus) {\n"
    '  EXPECT_EQ(fmt::format("{0:+010.4g}", 392.65), "+0000392.6");\n'
    '  EXPECT_EQ(fmt::format("{:+f}", 3.14), "+3.140000");\n'
    "  auto v = dead::beef(1);\n"
    '  call("+1 415 555 0134");\n'
    "}\n"
)


def _run(tmp_path: Path, files: dict) -> dict:
    repo, out = tmp_path / "repo", tmp_path / "out"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    assert cli.main(["run", "--input", str(repo), "--domain", "code", "--format", "source", "--stages", "ingest,filter",
                     "--set", 'filter.domains.code=["code", "pii"]', "--output", str(out), "--progress", "off"]) == 0
    kept = pl.read_parquet(str(out / "text" / "*.parquet"))
    return {p.rsplit("/", 1)[-1]: t for p, t in zip(kept["path"], kept["text"])}


def test_pii_redaction_leaves_code_that_looks_like_an_address(tmp_path):
    kept = _run(tmp_path, {"src/slices.py": SLICES, "test/format-test.cc": FORMAT_TEST})
    assert kept["slices.py"] == SLICES.replace("jane.doe@example.org", "<EMAIL>").replace(
        "'10.1.2.3', 'fe80::1', '2001:db8::8a2e:370:7334'", "'<IP>', '<IP>', '<IP>'")
    ast.parse(kept["slices.py"])
    assert kept["format-test.cc"] == FORMAT_TEST.replace("+1 415 555 0134", "<PHONE>")
