"""Rules of your own (``filter.custom``): config errors at load, the stage's contract, and runs
through the CLI with the rule module in a folder on PYTHONPATH."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import config, schema
from curate.config import ConfigError
from curate.stages.filters import Filter
from curate.stages.filters.custom import RuleError

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
MYRULES = next(b for b in re.findall(r"^```\w*\n(.*?)^```", README, re.M | re.S) if "def too_many_emoji" in b)


@pytest.fixture
def myrules(tmp_path, monkeypatch):
    """The README's myrules.py, importable."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "myrules.py").write_text(MYRULES)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "myrules", raising=False)
    return folder


def load(tmp_path, body: str) -> config.Config:
    path = tmp_path / "c.toml"
    path.write_text('[run]\nstages = ["filter"]\n' + body)
    return config.load(str(path))


def error_rows() -> list[tuple[str, str]]:
    part = README.split("<!-- tests/test_custom_rules.py loads", 1)[1].split("\n\n", 1)[0]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^\| `(.*?)` \| (.*?) \|$", part, re.M)]


def test_error_table_is_read():
    assert len(error_rows()) >= 8


@pytest.mark.parametrize("entry, message", error_rows())
def test_config_errors(myrules, tmp_path, entry, message):
    """Each README row: a one-line error at config.load, naming the rule."""
    with pytest.raises(ConfigError) as e:
        load(tmp_path, f"[filter.custom]\n{entry}\n")
    assert len(e.value.messages) == 1 and "\n" not in e.value.messages[0]
    for piece in re.findall(r"`(.*?)`", message):
        assert piece in e.value.messages[0], (piece, e.value.messages[0])
    assert e.value.messages[0].startswith(re.findall(r"`(.*?)`", message)[0]), e.value.messages[0]  # not "filter: filter.custom..."


@pytest.mark.parametrize("source, message", [
    ("import not_a_dependency_here\n", "importing brokenrules failed: ModuleNotFoundError: No module named 'not_a_dependency_here'"),
    ("def f(batch):\n    return [\n", "importing brokenrules failed: SyntaxError"),
    ("raise RuntimeError('no config file')\ndef f(batch): ...\n", "importing brokenrules failed: RuntimeError: no config file ("),
])
def test_module_that_fails_to_import(tmp_path, monkeypatch, source, message):
    (tmp_path / "brokenrules.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "brokenrules", raising=False)
    with pytest.raises(ConfigError) as e:
        load(tmp_path, '[filter.custom]\nmine = "brokenrules:f"\n')
    assert message in str(e.value) and "filter.custom.mine" in str(e.value)


@pytest.mark.parametrize("name, stage", [("exact_duplicate", "dedup"), ("duplicate_id", "ingest"), ("unknown_language", "ingest"),
                                         ("language_not_target", "langid"), ("url_duplicate", "urldedup"),
                                         ("quality_below_top_fraction", "quality"), ("sampled_out", "rebalance")])
def test_a_name_another_stage_writes_to_the_ledger_is_refused(myrules, tmp_path, name, stage):
    """A custom rule named like another stage's ledger rule was accepted (only the filter's own
    rules were checked): its rows and that stage's shared a name in the ledger, `audit --rule`
    and the stats. Refused at load in one line naming the stage, whichever stages run."""
    with pytest.raises(ConfigError) as e:
        load(tmp_path, f'[filter.custom]\n{name} = "myrules:too_many_emoji"\n')
    (message,) = e.value.messages
    assert message.endswith(f"filter.custom.{name}: {name} is the {stage} stage's ledger rule (the ledger and "
                            f"audit --rule would not tell them apart); give your rule another name"), message


def test_every_stage_ledger_rule_the_readme_lists_is_known():
    """The stage table's ledger rules (what a custom rule may not be named) are the README's."""
    from curate import stages

    table = README.split("| stage | what it does | adds | ledger rules |", 1)[1].split("\n\n", 1)[0]
    listed = {}
    for line in table.splitlines()[2:]:
        cells = line.split(" | ")
        stage = re.match(r"\| `(\w+)`", line).group(1)
        if stage != "filter":
            listed.update({r: stage for r in re.findall(r"`(\w+)`", re.sub(r"\(.*?\)", "", cells[-1]))})
    assert listed == stages.ledger_rules() and len(listed) >= 20


def test_custom_rule_is_scoped_by_its_own_domains(myrules, tmp_path):
    with pytest.raises(ConfigError, match=r"filter.domains.web: emoji_spam is a custom rule: its domains are filter.custom.emoji_spam.domains"):
        load(tmp_path, '[filter]\ndomains = {web = ["url", "emoji_spam"]}\n[filter.custom]\nemoji_spam = "myrules:too_many_emoji"\n')


def test_disable_takes_a_custom_rule(myrules, tmp_path):
    cfg = load(tmp_path, '[filter]\ndomains = {web = []}\ndisable = ["emoji_spam"]\n[filter.custom]\nemoji_spam = "myrules:too_many_emoji"\n')
    f = Filter(cfg.stages["filter"])
    assert f.process(batch([("a", "web", PAGE + "🙂" * 9)]))[1].num_rows == 0
    assert Filter({**cfg.stages["filter"], "disable": []}).process(batch([("a", "web", PAGE + "🙂" * 9)]))[1].num_rows == 1
    with pytest.raises(ConfigError, match="filter.disable"):
        load(tmp_path, '[filter]\ndisable = ["emoji_spa"]\n[filter.custom]\nemoji_spam = "myrules:too_many_emoji"\n')


def test_user_code_in_config_identity(myrules, tmp_path):
    """The config carries a hash of the rule's module: editing it changes the config, and the
    hash is not an option a config file holds (curate config prints a loadable file)."""
    body = '[filter.custom]\nemoji_spam = "myrules:too_many_emoji"\n'
    a = load(tmp_path, body)
    assert set(a.user_code) == {"filter.custom.emoji_spam"} and a.to_dict()["user_code"] == a.user_code
    assert "user_code" not in config.effective_toml(a)
    (myrules / "myrules.py").write_text(MYRULES.replace("n > 5", "n > 4"))
    b = load(tmp_path, body)
    assert b.user_code != a.user_code
    assert config.load(base=a.to_dict()).user_code == b.user_code  # a manifest's config: hashed again, as the code is now
    assert "user_code" not in load(tmp_path, "").to_dict()  # no custom rule: the config as before


# a project of the user's: the rule's module imports helpers of its own (absolute, relative, in a
# function, transitively), the standard library, an installed package and curate
PROJECT = {
    "myproj/__init__.py": "",
    "myproj/rules.py": ("import json\nimport pyarrow.compute as pc\nfrom curate import schema\n"
                        "from myproj.util import score\nfrom . import words\n\n\n"
                        "def spam(batch):\n    from myproj import lazy\n"
                        "    return [score(t) > lazy.LIMIT for t in batch.column('text').to_pylist()]\n"),
    "myproj/util.py": "from myproj.deep import weight\n\n\ndef score(text):\n    return weight * text.count('!')\n",
    "myproj/deep.py": "weight = 1\n",
    "myproj/words.py": "SPAM = ['buy now']\n",
    "myproj/lazy.py": "LIMIT = 3\n",
    "myproj/unused.py": "X = 1\n",  # in the package, never imported: not the rule's code
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    for rel, text in PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.syspath_prepend(str(root))
    _forget_project()
    yield root
    _forget_project()


def _forget_project():
    for name in [m for m in sys.modules if m == "myproj" or m.startswith("myproj.")]:
        del sys.modules[name]


@pytest.mark.parametrize("helper", ["myproj/util.py", "myproj/deep.py", "myproj/words.py", "myproj/lazy.py", "myproj/__init__.py"])
def test_user_code_covers_the_helpers_the_rule_imports(project, tmp_path, helper):
    """A rule calling a helper in another file of the user's project was not run again when the
    helper changed: only the rule's own module was hashed. Every module of the user's the rule's
    module imports (``from myproj.util import ...``, ``from . import ...``, inside the function,
    and what those import) is hashed; a file it does not import is not."""
    body = '[filter.custom]\nspam = "myproj.rules:spam"\n'
    a = load(tmp_path, body)
    assert a.user_code["filter.custom.spam"]["imports"] == ["myproj", "myproj.deep", "myproj.lazy", "myproj.util", "myproj.words"]
    assert "myproj.lazy" not in sys.modules  # found, not imported: nothing of the user's runs for the hash
    (project / helper).write_text((project / helper).read_text() + "# edited\n")
    _forget_project()
    assert load(tmp_path, body).user_code != a.user_code
    (project / helper).write_text(PROJECT[helper])
    _forget_project()
    assert load(tmp_path, body).user_code == a.user_code  # the same code: the same config


def test_user_code_leaves_out_what_is_not_the_users(project, tmp_path):
    """The standard library, installed packages and curate are not the rule's code (their
    versions are the environment's), nor is a module of the project the rule does not import."""
    body = '[filter.custom]\nspam = "myproj.rules:spam"\n'
    a = load(tmp_path, body)
    (project / "myproj" / "unused.py").write_text("X = 2\n")
    _forget_project()
    b = load(tmp_path, body)
    assert b.user_code == a.user_code and not {"json", "pyarrow", "pyarrow.compute", "curate", "curate.schema"} & set(
        a.user_code["filter.custom.spam"]["imports"])


def test_user_code_is_bounded_and_breadth_first(project, tmp_path, monkeypatch):
    """At most user_code.MAX_MODULES modules a rule: the nearest first (what the rule's module
    imports before what those import), by name, the same ones every time."""
    from curate import user_code

    monkeypatch.setattr(user_code, "MAX_MODULES", 3)
    body = '[filter.custom]\nspam = "myproj.rules:spam"\n'
    got = [load(tmp_path, body).user_code["filter.custom.spam"]["imports"] for _ in range(2)]
    assert got[0] == got[1] == ["myproj", "myproj.lazy", "myproj.util"]  # myproj.words, then myproj.deep (util's import), left out


def test_user_code_follows_an_editable_install(tmp_path, monkeypatch):
    """A package of the user's installed with `pip install -e` is found by setuptools' finder on
    sys.meta_path (not on sys.path): its files are the user's, followed even where not imported yet."""
    import importlib.util

    src = tmp_path / "src"
    (src / "edpkg").mkdir(parents=True)
    (src / "edpkg" / "__init__.py").write_text("")
    (src / "edpkg" / "tool.py").write_text("LIMIT = 3\n")
    (tmp_path / "edrules.py").write_text("def f(batch):\n    from edpkg import tool\n    return [False] * batch.num_rows\n")

    class EditableFinder:  # as setuptools' __editable___*_finder maps a name to its folder
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "edpkg":
                return importlib.util.spec_from_file_location(name, src / "edpkg" / "__init__.py",
                                                              submodule_search_locations=[str(src / "edpkg")])
            return None

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, EditableFinder])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edrules", raising=False)
    code = load(tmp_path, '[filter.custom]\nmine = "edrules:f"\n').user_code["filter.custom.mine"]
    assert code["imports"] == ["edpkg", "edpkg.tool"] and "edpkg" not in sys.modules


def test_user_code_follows_a_namespace_package(tmp_path, monkeypatch):
    """Folders without __init__.py (namespace packages), imported in the function only: found as
    Python would find them, though importlib's own finder needs the parent package imported."""
    (tmp_path / "nsproj" / "sub").mkdir(parents=True)
    (tmp_path / "nsproj" / "sub" / "helper.py").write_text("LIMIT = 3\n")
    (tmp_path / "nsrules.py").write_text("def f(batch):\n    from nsproj.sub import helper\n    return [False] * batch.num_rows\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "nsrules", raising=False)
    code = load(tmp_path, '[filter.custom]\nmine = "nsrules:f"\n').user_code["filter.custom.mine"]
    assert code["imports"] == ["nsproj.sub.helper"] and "nsproj" not in sys.modules


def test_a_rule_importing_nothing_of_the_users_keeps_its_hash(myrules, tmp_path):
    """The README's myrules.py imports pyarrow only: its fingerprint is as it was (no list of
    imports, the same sha256 as the module's source alone), so existing outputs are not replaced."""
    import hashlib

    code = load(tmp_path, '[filter.custom]\nemoji_spam = "myrules:too_many_emoji"\n').user_code["filter.custom.emoji_spam"]
    assert code == {"function": "myrules:too_many_emoji",
                    "sha256": hashlib.sha256(b"myrules:too_many_emoji" + MYRULES.encode()).hexdigest()}


def test_printed_config_round_trips(myrules, tmp_path):
    """`curate config my.toml` prints a config that loads to the same rules."""
    a = load(tmp_path, '[filter.custom]\nemoji_spam = "myrules:too_many_emoji"\n'
                       'title_listed = {function = "myrules:listed_title", domains = ["web"]}\n')
    (tmp_path / "printed.toml").write_text(config.effective_toml(a))
    b = config.load(str(tmp_path / "printed.toml"))
    assert b.stages["filter"]["custom"] == a.stages["filter"]["custom"] and b.user_code == a.user_code


def test_curate_config_lists_custom():
    assert "custom = {}" in config.defaults_toml().split("[filter]", 1)[1].split("\n[", 1)[0]


# --- the stage -------------------------------------------------------------------------------

PAGE = "A plain sentence about gardens, rivers and the people who keep them. " * 12


def batch(rows) -> pa.RecordBatch:
    return schema.docs_from_rows([dict(id=i, text=t, domain=d, source="s", path="p", offset=0, url=None,
                                       language="en" if d != "code" else "python", meta=None) for i, d, t in rows])


def test_stage_order_values_domains_and_snippet(myrules):
    f = Filter({"domains": {"web": ["gopher_quality"], "books": []}, "custom": {"emoji_spam": "myrules:too_many_emoji",
                           "title_listed": {"function": "myrules:listed_title", "domains": ["web"]}}})
    docs = batch([
        ("short", "web", "too short 🙂🙂🙂🙂🙂🙂"),  # a built-in rule first: the ledger names it
        ("emoji", "web", PAGE + "🙂" * 6),
        ("title", "web", "Untitled document\n" + PAGE),
        ("both", "web", "Lorem Ipsum\n" + PAGE + "🙂" * 7),  # name order: emoji_spam before title_listed
        ("book", "books", "Untitled document\n" + PAGE * 20),  # title_listed is web only
        ("plain", "web", PAGE),
    ])
    kept, ledger = f.process(docs)
    got = {r["id"]: (r["rule"], r["value"], r["threshold"]) for r in ledger.to_pylist()}
    assert got["short"][0] == "gopher_min_words"
    assert got["emoji"] == ("emoji_spam", 6.0, None) and got["both"] == ("emoji_spam", 7.0, None)
    assert got["title"] == ("title_listed", None, None)
    assert sorted(kept.column("id").to_pylist()) == ["book", "plain"]


def test_rule_sees_the_text_as_it_entered(tmp_path, monkeypatch):
    """C4's line cleaning drops the javascript line of what is kept; the custom rule judges the
    page as it entered (as the page-level built-in rules do), and the ledger shows that text."""
    (tmp_path / "seesrules.py").write_text("def f(batch):\n    return ['javascript' in t for t in batch.column('text').to_pylist()]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = "Please enable javascript to view this page.\n" + PAGE
    kept, ledger = Filter({"domains": {"web": ["c4"]}, "custom": {"saw_it": "seesrules:f"}}).process(
        batch([("x", "web", text), ("y", "web", "Menu Home About\n" + PAGE)]))
    assert ledger.column("rule").to_pylist() == ["saw_it"]
    assert ledger.column("snippet")[0].as_py() == text[: schema.SNIPPET_CHARS]
    assert kept.column("id").to_pylist() == ["y"] and kept.column("text")[0].as_py() == PAGE.strip()  # cleaned


@pytest.mark.parametrize("body, message", [
    ("return 1 / 0", "raised ZeroDivisionError: division by zero ("),
    ("return pc.greater(batch.column('text'), 1)", "has no kernel matching input types (large_string, int64) ("),  # pyarrow raising
    ("raise ValueError('first line\\nsecond line')", "raised ValueError: first line second line ("),
    ("return [True]", "returned 1 remove flags for a batch of 2 documents; return one per row"),
    ("return [1, 0]", "returned int64 remove flags; expected True (remove) or False (keep)"),
    ("return 'yes'", "returned str 'yes' for its remove flags"),
    ("return None", "returned NoneType None for its remove flags"),
    ("return pa.array([True, None])", "returned 1 null remove flags"),
    ("return [True, False], ['a', 'b']", "returned <U1 values; expected a number (or None)"),
    ("return [True, False], [1.0]", "returned 1 values for a batch of 2 documents"),
    ("return [True, False], [1], 2", "returned a tuple of 3"),
])
def test_a_bad_answer_names_the_rule(tmp_path, monkeypatch, body, message):
    (tmp_path / "badrules.py").write_text(f"import pyarrow as pa\nimport pyarrow.compute as pc\n\ndef f(batch):\n    {body}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "badrules", raising=False)
    f = Filter({"domains": {"web": []}, "custom": {"mine": "badrules:f"}})
    with pytest.raises(RuleError) as e:
        f.process(batch([("a", "web", PAGE), ("b", "web", PAGE)]))
    assert str(e.value).startswith("filter.custom.mine (badrules:f) ") and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)
    if "raise" in body or "/" in body or "pc." in body:  # where in the user's file it raised
        assert f"({tmp_path / 'badrules.py'} line 5) on a batch of 2 documents (first id a)" in str(e.value), str(e.value)


def test_good_answers(tmp_path, monkeypatch):
    """Each form the README allows: list, numpy, pyarrow (chunked too), with values or without."""
    forms = {"a": "[True, False]", "b": "np.array([True, False])", "c": "pa.array([True, False])",
             "d": "pa.chunked_array([[True], [False]])", "e": "([True, False], np.array([2, 3]))", "f": "(pa.array([True, False]), [None, 1])",
             # values from pyarrow.compute, null where the rule has none (were refused as "null values")
             "g": "(pa.array([True, False]), pa.array([None, 1.5]))", "h": "(np.array([True, False]), pa.chunked_array([[None], [2]], pa.int64()))"}
    (tmp_path / "goodrules.py").write_text("import numpy as np\nimport pyarrow as pa\n" + "".join(
        f"def {k}(batch):\n    return {v}\n" for k, v in forms.items()))
    monkeypatch.syspath_prepend(str(tmp_path))
    for k in forms:
        _, ledger = Filter({"domains": {"web": []}, "custom": {"r": f"goodrules:{k}"}}).process(batch([("x", "web", PAGE), ("y", "web", PAGE)]))
        assert ledger.column("id").to_pylist() == ["x"], k
        assert ledger.column("value")[0].as_py() == {"e": 2.0}.get(k), k


# --- through the CLI -------------------------------------------------------------------------

RULES_V1 = '''
def emoji(batch):
    counts = [sum(0x1F300 <= ord(c) <= 0x1FAFF for c in t) for t in batch.column("text").to_pylist()]
    return [n > 3 for n in counts], counts
'''


def curate(args, rules: Path, check=True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{rules}"}
    r = subprocess.run([sys.executable, "-m", "curate.cli", *args], env=env, capture_output=True, text=True, timeout=600)
    assert not check or r.returncode == 0, r.stderr
    return r


def audit(args, capsys) -> str:
    """`curate audit ...` in this process (it runs no rule: no module of the user's to import)."""
    from curate import cli

    capsys.readouterr()
    assert cli.main(["audit", *args]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_cli_run_audit_rerun_and_failure(tmp_path, capsys):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cli_rules.py").write_text(RULES_V1)
    (tmp_path / "web").mkdir()
    (tmp_path / "code").mkdir()
    web = [{"id": f"w{i}", "text": PAGE + "🙂" * i} for i in range(6)]
    (tmp_path / "web" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in web))
    (tmp_path / "code" / "a.jsonl").write_text(json.dumps({"id": "c9", "text": "x = 1  # 🙂🙂🙂🙂🙂🙂🙂🙂🙂\n" * 5, "lang": "python"}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[filter]\ndomains = {web = [], code = []}\n[filter.custom]\nemoji = {function = "cli_rules:emoji", domains = ["web"]}\n')
    out = tmp_path / "out"
    args = ["run", str(cfg), "--input", str(tmp_path / "web"), "--domain", "web", "--input", str(tmp_path / "code"),
            "--domain", "code", "--stages", "ingest,filter", "--progress", "off", "--workers", "2", "--output", str(out)]
    curate(args, rules)
    ledger = pq.read_table(out / "ledger").to_pylist()
    assert sorted((r["source_id"], r["rule"], r["value"]) for r in ledger) == [("w4", "emoji", 4.0), ("w5", "emoji", 5.0)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stats"]["filter.removed.emoji"] == 2  # the code file, 9 emoji, is out of the rule's domains
    # the runs are `curate` processes (each edit of the rule is a new interpreter's, as a user's);
    # the audits, which import no rule, run here
    why = audit([str(out), "--why", "w5"], capsys)
    assert "removed at filter by emoji (value 5, threshold –)" in why, why
    assert "emoji: 2 documents removed" in audit([str(out), "--rule", "emoji"], capsys)
    audit([str(out)], capsys)  # the report's counts by stage and rule
    summary = json.loads((out / "stats" / "summary.json").read_text())
    assert summary["removed"]["by_stage"]["filter"]["rules"]["emoji"]["by_domain"] == {"web": 2}

    # one process or two: the same bytes
    one = tmp_path / "one"
    curate([*args[:-4], "--workers", "1", "--output", str(one)], rules)
    for kind in ("text", "ledger"):
        files = sorted(p.name for p in (out / kind).iterdir())
        assert files == sorted(p.name for p in (one / kind).iterdir())
        assert all((out / kind / f).read_bytes() == (one / kind / f).read_bytes() for f in files), kind

    # the same config and code: nothing said; the rule edited: replaced, and why
    assert "replaced" not in curate(args, rules).stderr
    shutil.copytree(out, tmp_path / "old")
    (rules / "cli_rules.py").write_text(RULES_V1.replace("n > 3", "n > 1"))
    r = curate(args, rules)
    assert "made with another config (the code of filter.custom.emoji)" in r.stderr, r.stderr
    assert pq.read_table(out / "ledger").num_rows == 4
    compare = audit([str(out), "--compare", str(tmp_path / "old")], capsys)
    assert "config: 1 setting differs\n  user_code.filter.custom.emoji.sha256: " in compare, compare

    # a rule that fails on a batch: one line naming it, exit 1, the output as it was
    before = (out / "manifest.json").read_bytes()
    (rules / "cli_rules.py").write_text("def emoji(batch):\n    return {}[batch.num_rows]\n")
    r = curate(args, rules, check=False)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert re.fullmatch(r"curate: filter\.custom\.emoji \(cli_rules:emoji\) raised KeyError: \d+ \(.*cli_rules\.py line 2\) on a "
                        rf"batch of \d+ documents \(first id \w+\); the previous output in {re.escape(str(out))} is unchanged", lines[0]), lines[0]
    assert (out / "manifest.json").read_bytes() == before

    # not on the path: said at load, before anything runs
    r = curate(args, tmp_path / "nowhere", check=False)
    assert r.returncode == 2 and "filter.custom.emoji.function: no module named 'cli_rules' on the Python path" in r.stderr, r.stderr


def test_cli_rerun_after_editing_a_helper_replaces_the_output(tmp_path):
    """The rule's logic in a helper module of the user's: editing the helper (not the rule's
    module) made a rerun keep the old output, unchanged and wrong; it now replaces it and says why."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "helper_rules.py").write_text("from emoji_limits import LIMIT\n\n\ndef emoji(batch):\n"
                                           "    return [sum(0x1F300 <= ord(c) <= 0x1FAFF for c in t) > LIMIT for t in batch.column('text').to_pylist()]\n")
    (rules / "emoji_limits.py").write_text("LIMIT = 3\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "a.jsonl").write_text("".join(json.dumps({"id": f"w{i}", "text": PAGE + "🙂" * i}) + "\n" for i in range(6)))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[filter]\ndomains = {web = []}\ndisable = ["badwords"]\n[filter.custom]\nemoji = "helper_rules:emoji"\n')
    out = tmp_path / "out"
    args = ["run", str(cfg), "--input", str(tmp_path / "web"), "--domain", "web", "--stages", "ingest,filter",
            "--progress", "off", "--output", str(out)]
    curate(args, rules)
    assert pq.read_table(out / "ledger").num_rows == 2
    (rules / "emoji_limits.py").write_text("LIMIT = 1\n")
    r = curate(args, rules)
    assert "made with another config (the code of filter.custom.emoji)" in r.stderr, r.stderr
    assert pq.read_table(out / "ledger").num_rows == 4
    assert json.loads((out / "manifest.json").read_text())["config"]["user_code"]["filter.custom.emoji"]["imports"] == ["emoji_limits"]


def test_mix_replans_without_the_rules_module(tmp_path):
    """`curate mix OUTPUT` re-plans rebalance from the run's candidates and runs no filter rule,
    yet it imported the run's custom rules and stopped ("no module named ...") where their
    module is not on the path (the output copied to a laptop): it now re-plans; with a CONFIG
    of the user's, whose code it compares with the run's, the module is still needed."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cli_rules.py").write_text(RULES_V1)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "a.jsonl").write_text("".join(json.dumps({"id": f"w{i}", "text": PAGE + "🙂" * i}) + "\n" for i in range(6)))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[filter]\ndomains = {web = []}\ndisable = ["badwords", "emoji"]\n[filter.custom]\nemoji = "cli_rules:emoji"\n[rebalance]\nseed = 3\n')
    out = tmp_path / "out"
    curate(["run", str(cfg), "--input", str(tmp_path / "web"), "--domain", "web", "--stages", "ingest,filter,rebalance",
            "--progress", "off", "--output", str(out)], rules)
    here = curate(["mix", str(out), "--set", "rebalance.seed=1"], rules).stdout
    elsewhere = curate(["mix", str(out), "--set", "rebalance.seed=1"], tmp_path / "nowhere")
    assert elsewhere.returncode == 0, elsewhere.stderr
    strip = lambda s: re.sub(r"re-planned in [\d.]+ s", "", s)
    assert strip(elsewhere.stdout) == strip(here) and "rebalance: 6 docs in, 6 out" in here, here  # emoji disabled: its name pruned with it
    r = curate(["mix", str(out), str(cfg)], tmp_path / "nowhere", check=False)
    assert r.returncode == 2 and "no module named 'cli_rules'" in r.stderr, r.stderr


def test_user_code_hash_is_the_same_wherever_the_files_are(tmp_path, monkeypatch):
    """A rule named through a module that re-exports it from another file (``myrules:spam``,
    ``from impl import spam``): both files were hashed in the order of their absolute paths, so
    the same code in folders named otherwise on another machine (a CI runner, a colleague's
    checkout) was another config, and its output replaced. The module's file first, then the
    function's: the same hash in both layouts, another when the function's file changes."""
    files = {"myrules_x.py": "from impl_x import spam\n",
             "impl_x.py": "def spam(batch):\n    return [False] * batch.num_rows\n"}

    def fingerprint(rules_dir: str, impl_dir: str) -> str:
        for folder, name in ((rules_dir, "myrules_x.py"), (impl_dir, "impl_x.py")):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / name).write_text(files[name])
        with monkeypatch.context() as m:
            for folder in (rules_dir, impl_dir):
                m.syspath_prepend(str(tmp_path / folder))
            for name in ("myrules_x", "impl_x"):
                m.delitem(sys.modules, name, raising=False)
            got = load(tmp_path, '[filter.custom]\nspam = "myrules_x:spam"\n').user_code["filter.custom.spam"]["sha256"]
        for name in ("myrules_x", "impl_x"):
            sys.modules.pop(name, None)
        return got

    a = fingerprint("a_rules", "z_impl")  # the rule's folder sorts first here...
    assert fingerprint("z_rules", "a_impl") == a  # ...and last here: the same code
    files["impl_x.py"] += "# edited\n"
    assert fingerprint("b_rules", "y_impl") != a


def _rule_in(tmp_path, folder, files: dict, monkeypatch, spec: str):
    """``files`` written under ``folder``, put on sys.path: a function giving the user_code entry
    of the rule ``spec`` (filter.custom.mine), its package imported afresh each time."""
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    monkeypatch.syspath_prepend(str(folder))

    def user_code() -> dict:
        for name in [m for m in sys.modules if m.split(".")[0] == spec.split(".")[0]]:
            monkeypatch.delitem(sys.modules, name)
        return load(tmp_path, f'[filter.custom]\nmine = "{spec}"\n').user_code["filter.custom.mine"]
    return user_code


def test_user_code_covers_the_packages_the_rule_module_is_in(tmp_path, monkeypatch):
    """``pkgx.sub.rules`` runs ``pkgx/__init__.py`` and ``pkgx/sub/__init__.py`` on import (and
    what they import): they were not hashed when the rule's module imported nothing of them."""
    files = {"pkgx/__init__.py": "from pkgx import setup\n", "pkgx/setup.py": "X = 1\n",
             "pkgx/sub/__init__.py": "LIMIT = 3\n", "pkgx/sub/rules.py": "def f(batch):\n    return [False] * batch.num_rows\n"}
    user_code = _rule_in(tmp_path, tmp_path, files, monkeypatch, "pkgx.sub.rules:f")
    a = user_code()
    assert a["imports"] == ["pkgx", "pkgx.setup", "pkgx.sub"]
    for rel in ("pkgx/__init__.py", "pkgx/sub/__init__.py", "pkgx/setup.py"):
        (tmp_path / rel).write_text(files[rel] + "# edited\n")
        assert user_code() != a, rel
        (tmp_path / rel).write_text(files[rel])
        assert user_code() == a


@pytest.mark.parametrize("attr", ["partial", "partial_of_partial", "instance", "inherited"])
def test_user_code_covers_what_a_partial_or_callable_instance_runs(tmp_path, monkeypatch, attr):
    """A rule that is a ``functools.partial`` or an instance of a callable class: only the module
    it is named through was hashed (a partial has no ``__code__``), not the wrapped function's
    file nor the class's (here imported by a computed name, so no import statement leads there)."""
    files = {"prules.py": ("import functools\nimport importlib\nimpl = importlib.import_module('p' + 'impl')\n"
                           "partial = functools.partial(impl.spam, limit=3)\npartial_of_partial = functools.partial(partial)\n"
                           "instance = impl.Rule()\ninherited = impl.Child()\n"),
             "pimpl.py": ("import pchild\n\n\ndef spam(batch, limit):\n    return [False] * batch.num_rows\n\n\n"
                          "class Rule:\n    def __call__(self, batch):\n        return [False] * batch.num_rows\n\n\n"
                          "Child = pchild.Child\n"),
             "pbase.py": "class Base:\n    def __call__(self, batch):\n        return [False] * batch.num_rows\n",
             "pchild.py": "from pbase import Base\n\n\nclass Child(Base):\n    pass\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))

    def sha() -> str:
        for name in files:
            monkeypatch.delitem(sys.modules, name[:-3], raising=False)
        return load(tmp_path, f'[filter.custom]\nmine = "prules:{attr}"\n').user_code["filter.custom.mine"]["sha256"]

    a = sha()
    edited = {"partial": ["pimpl.py"], "partial_of_partial": ["pimpl.py"], "instance": ["pimpl.py"],
              "inherited": ["pchild.py", "pbase.py"]}[attr]  # the class's file and its __call__'s
    for name in edited:
        (tmp_path / name).write_text(files[name] + "# edited\n")
        assert sha() != a, name
        (tmp_path / name).write_text(files[name])
    assert sha() == a


def test_user_code_covers_the_rules_own_package_installed_in_site_packages(tmp_path, monkeypatch):
    """Rules packaged as the README's Workers paragraph says (`pip install` into the image and
    the launching venv, not -e) live in site-packages, which was never followed: editing or
    upgrading the package's helper (teamrules/util.py) left the config hash as it was, so a rerun
    kept the output made with the old helper. The rule's own top-level package is the user's
    wherever it is installed; other installed packages (pyarrow, numpy) still are not followed."""
    site = tmp_path / "venv" / "lib" / "site-packages"
    files = {"teamrules/__init__.py": "", "teamrules/util.py": "def h(batch):\n    return [False] * batch.num_rows\n",
             "teamrules/filters.py": "import numpy\nimport pyarrow\nfrom .util import h\n\n\ndef rule(batch):\n    return h(batch)\n"}
    code = _rule_in(tmp_path, site, files, monkeypatch, "teamrules.filters:rule")
    a = code()
    assert a["imports"] == ["teamrules", "teamrules.util"]
    for rel in ("teamrules/util.py", "teamrules/__init__.py"):
        (site / rel).write_text(files[rel] + "# edited\n")
        assert code() != a, rel
        (site / rel).write_text(files[rel])
    assert code() == a
