"""Keeping only code under the licences a corpus allows, through the CLI (README: "Licences
of code"): ``filter.code.licenses`` lists SPDX ids ("permissive" for curate's list); a record's
licence field is read as an SPDX expression; the others go to the ledger as ``code_license``.
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from curate import cli

# a run of a few documents in this process, not in a pool forked per run (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_process_runs")

CODE = "def area(width, height):\n    return width * height\n\n\nprint(area(3, 4))\n"
RECORDS = [  # (path, licence fields, kept with ["permissive"]?, ledger value)
    ("mit.py", {"license": "MIT"}, True, None),
    ("dual.py", {"license": "MIT OR Apache-2.0"}, True, None),
    ("either.py", {"license": "GPL-3.0-only OR BSD-3-Clause"}, True, None),  # one side is enough
    ("both.py", {"license": "(MIT AND Zlib)"}, True, None),
    ("mixed.py", {"license": "MIT AND GPL-3.0-or-later"}, False, 1.0),  # both sides needed
    ("gpl.py", {"license": "GPL-2.0-only"}, False, 1.0),
    ("classpath.py", {"license": "GPL-2.0-only WITH Classpath-exception-2.0"}, False, 1.0),
    ("later.py", {"license": "Apache-2.0+"}, True, None),
    ("stack.py", {"max_stars_repo_licenses": ["MIT", "BSD-2-Clause"]}, True, None),
    ("stack_gpl.py", {"max_stars_repo_licenses": ["MIT", "AGPL-3.0"]}, False, 1.0),  # every licence file
    ("none.py", {}, False, 2.0),
    ("null.py", {"license": None}, False, 2.0),
    ("text.py", {"license": "see LICENSE file"}, False, 2.0),
    # cut short after WITH: no exception named, so no expression (these counted as MIT)
    ("with_paren.py", {"license": "MIT WITH ("}, False, 2.0),
    ("with_close.py", {"license": "(MIT WITH )"}, False, 2.0),
    ("with_and.py", {"license": "MIT WITH AND"}, False, 2.0),
    ("dangling_or.py", {"license": "MIT OR"}, False, 2.0),
    ("ref.py", {"license": "LicenseRef-scancode-public-domain OR MIT"}, True, None),
    ("lower.py", {"license": "mit or apache-2.0"}, True, None),  # operators in lower case, as some tools write them
    ("nested.py", {"license": "MIT AND (Apache-2.0 OR GPL-3.0-only)"}, True, None),
    ("nested_gpl.py", {"license": "GPL-3.0-only AND (MIT OR Apache-2.0)"}, False, 1.0),
]


def _dump(tmp_path: Path, records=RECORDS) -> Path:
    path = tmp_path / "dump.jsonl"
    with path.open("w") as f:
        for i, (name, fields, _, _) in enumerate(records):
            f.write(json.dumps({"path": f"src/{name}", "content": CODE.replace("3, 4", f"{i}, 4"), **fields}) + "\n")
    return path


def _run(tmp_path: Path, inp: Path, *extra: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(inp), "--domain", "code", "--stages", "ingest,filter", *extra,
                     "--output", str(out), "--progress", "off"]) == 0
    return pl.read_parquet(str(out / "text" / "*.parquet")), pl.read_parquet(str(out / "ledger" / "*.parquet"))


def test_only_allowed_licences_are_kept(tmp_path):
    kept, ledger = _run(tmp_path, _dump(tmp_path), "--set", 'filter.code.licenses=["permissive"]')
    want_kept = {f"dump.jsonl:src/{n}" for n, _, k, _ in RECORDS if k}
    assert set(kept["path"]) == want_kept
    assert dict(zip(ledger["path"], zip(ledger["rule"], ledger["value"]))) == {
        f"dump.jsonl:src/{n}": ("code_license", v) for n, _, k, v in RECORDS if not k}
    licences = {p: json.loads(m).get("license") for p, m in zip(kept["path"], kept["meta"])}
    assert licences["dump.jsonl:src/dual.py"] == "MIT OR Apache-2.0"  # the output says which licence


def test_a_listed_licence_and_exception(tmp_path):
    kept, _ = _run(tmp_path, _dump(tmp_path), "--set",
                   'filter.code.licenses=["MIT", "GPL-2.0-only WITH Classpath-exception-2.0"]')
    assert {p.rsplit("/", 1)[1] for p in kept["path"]} == {"mit.py", "dual.py", "classpath.py", "ref.py", "lower.py"}


def test_a_listed_or_later_licence_is_allowed_inside_an_expression(tmp_path):
    """A listed "GPL-2.0+" allowed a record's "GPL-2.0+" only as its whole licence: inside an
    expression ("(GPL-2.0+)", "GPL-2.0+ AND MIT") the "+" was dropped before the look-up, so the
    listed id matched nothing and the record was removed as not allowed. "X+" is SPDX's older
    spelling of "X-or-later", and "GPL-3.0" (GitHub's, The Stack v1's) of "GPL-3.0-only": either
    listed allows either; a listed "GPL-3.0-only" allowed no record's "GPL-3.0". A record under the
    licence alone ("GPL-2.0") is not allowed by its "or later" listed."""
    records = [("whole.py", {"license": "GPL-2.0+"}, True, None), ("paren.py", {"license": "(GPL-2.0+)"}, True, None),
               ("and.py", {"license": "GPL-2.0+ AND MIT"}, True, None), ("or.py", {"license": "GPL-2.0+ OR BSD-4-Clause"}, True, None),
               ("new.py", {"license": "GPL-2.0-or-later"}, True, None), ("lgpl.py", {"license": "LGPL-2.1+ OR BSD-4-Clause"}, True, None),
               ("only.py", {"license": "GPL-2.0"}, False, 1.0), ("agpl.py", {"license": "AGPL-3.0+"}, False, 1.0),
               ("lgpl_only.py", {"license": "LGPL-2.1-only AND MIT"}, False, 1.0),
               ("stack.py", {"max_stars_repo_licenses": ["GPL-3.0", "MIT"]}, True, None), ("gpl3.py", {"license": "GPL-3.0-only"}, True, None),
               ("gpl3_later.py", {"license": "GPL-3.0-or-later"}, True, None), ("lgpl3.py", {"license": "LGPL-3.0"}, False, 1.0),
               ("jdk.py", {"license": "GPL-2.0 WITH Classpath-exception-2.0"}, True, None)]
    kept, ledger = _run(tmp_path, _dump(tmp_path, records), "--set", 'filter.code.licenses=["GPL-2.0+", "MIT", '
                        '"LGPL-2.1-or-later", "GPL-3.0-only", "GPL-2.0-only WITH Classpath-exception-2.0"]')
    assert sorted(p.rsplit("/", 1)[1] for p in kept["path"]) == sorted(n for n, _, k, _ in records if k)
    assert dict(zip(ledger["path"], ledger["value"])) == {f"dump.jsonl:src/{n}": v for n, _, k, v in records if not k}


def test_a_deprecated_gpl_id_with_an_exception_is_its_with_expression(tmp_path):
    """SPDX's deprecated "GPL-2.0-with-classpath-exception" (npm's, Maven's licence fields) is
    "GPL-2.0-only WITH Classpath-exception-2.0": it was compared as an id of its own, so a listed
    WITH expression (or the licence alone, which an exception only adds permissions to) allowed
    no record's deprecated id, and a listed deprecated id no record's WITH expression: removed
    as not allowed. Either spelling listed allows either, and "GPL-2.0-or-later WITH X" is
    allowed where "GPL-2.0-only WITH X" is listed, as "GPL-2.0-or-later" is where "GPL-2.0-only" is."""
    records = [("jdk.py", {"license": "GPL-2.0-with-classpath-exception"}, True, None),
               ("jdk_or.py", {"license": "(GPL-2.0-with-classpath-exception OR BSD-4-Clause)"}, True, None),
               ("later.py", {"license": "GPL-2.0-or-later WITH Classpath-exception-2.0"}, True, None),
               ("gcc3.py", {"license": "GPL-3.0-with-GCC-exception"}, True, None),  # GPL-3.0-only listed: its licence
               ("gcc2.py", {"license": "GPL-2.0-with-GCC-exception"}, False, 1.0),  # GPL-2.0 not listed, nor this exception
               ("font.py", {"license": "GPL-2.0-with-font-exception AND MIT"}, False, 1.0)]
    kept, ledger = _run(tmp_path, _dump(tmp_path, records), "--set",
                        'filter.code.licenses=["GPL-2.0-only WITH Classpath-exception-2.0", "GPL-3.0-only", "MIT"]')
    assert sorted(p.rsplit("/", 1)[1] for p in kept["path"]) == sorted(n for n, _, k, _ in records if k)
    assert dict(zip(ledger["path"], ledger["value"])) == {f"dump.jsonl:src/{n}": v for n, _, k, v in records if not k}
    records = [("new.py", {"license": "GPL-2.0-only WITH Classpath-exception-2.0"}, True, None),
               ("bare.py", {"license": "GPL-2.0 WITH Classpath-exception-2.0"}, True, None),
               ("old.py", {"license": "GPL-2.0-with-classpath-exception"}, True, None),
               ("gpl.py", {"license": "GPL-2.0-only"}, False, 1.0),  # the exception listed, not the licence alone
               ("autoconf.py", {"license": "GPL-2.0-only WITH Autoconf-exception-2.0"}, False, 1.0)]
    kept, ledger = _run(tmp_path / "old", _dump(tmp_path, records), "--set", 'filter.code.licenses=["GPL-2.0-with-classpath-exception"]')
    assert sorted(p.rsplit("/", 1)[1] for p in kept["path"]) == sorted(n for n, _, k, _ in records if k)
    assert dict(zip(ledger["path"], ledger["value"])) == {f"dump.jsonl:src/{n}": v for n, _, k, v in records if not k}


def test_licences_are_not_judged_by_default(tmp_path):
    kept, ledger = _run(tmp_path, _dump(tmp_path))
    assert kept.height == len(RECORDS) and ledger.height == 0


# Each distinct licence value of the shared sample, classified by hand: kept with "permissive"?
SAMPLE_LICENSES = {
    "BSD-3-Clause": True, "Ruby OR BSD-2-Clause": True, "MIT": True, "MIT OR Apache-2.0": True, "PSF-2.0": True,
    "ISC": True, "Zlib": True, "Apache-2.0": True, "TCL": True, "BlueOak-1.0.0": True,
    "Artistic-1.0-Perl OR GPL-1.0-or-later": False, "GPL-2.0-only WITH Classpath-exception-2.0": False,
    "Artistic-2.0": False, "GPL-2.0-only": False,
    "null": False, "see package": False, '[{"type": "Apache 2.0"}]': False,
    "MIT (jq); some bundled files differ, see upstream COPYING": False,
}


def test_shared_code_sample_licences(corpora, tmp_path):
    sample = corpora / "code" / "code_sample.jsonl.gz"
    licence = {f"code_sample.jsonl.gz:{r['path']}": r["license"] for r in map(json.loads, gzip.open(sample))}
    assert set(licence.values()) == set(SAMPLE_LICENSES)
    _, ledger = _run(tmp_path, sample, "--set", 'filter.code.licenses=["permissive"]')
    removed = ledger.filter(pl.col("rule") == "code_license")
    assert Counter(licence[p] for p in removed["path"]) == Counter(v for v in licence.values() if not SAMPLE_LICENSES[v])


def test_a_misspelt_or_empty_licence_is_a_config_error(tmp_path):
    """["permisive"] allowed no record's licence: every code file went to the ledger, without a
    word. An empty or non-string entry was taken as an id; " MIT" (a blank) matched no record's
    "MIT" and removed all the code, without a word. One line each."""
    from curate import config

    for value, said in [('["permisive"]', "'permisive' is not a licence (did you mean \"permissive\"?)"),
                        ('["Permissive-ish"]', "'Permissive-ish' is not a licence (did you mean \"permissive\"?)"),
                        ('["MIT", ""]', "'' is not a licence; list SPDX ids"),
                        ("[5]", ": 5 is not a licence"),
                        ('[" MIT"]', "' MIT' has blanks around it and would match no record's licence; write \"MIT\""),
                        ('["permissive "]', "'permissive ' has blanks around it and would match no record's licence; write \"permissive\"")]:
        with pytest.raises(config.ConfigError) as err:
            config.load(None, sets=[f"filter.code.licenses={value}"])
        (msg,) = err.value.messages
        assert msg.startswith(f"filter.code.licenses (from --set filter.code.licenses={value}): ") and said in msg, msg
    for ok in ('["permissive", "LicenseRef-mine", "GPL-2.0-only WITH Classpath-exception-2.0"]', '["Permissive"]', "[]"):
        config.load(None, sets=[f"filter.code.licenses={ok}"])
