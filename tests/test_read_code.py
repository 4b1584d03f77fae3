"""Code: the source-tree reader (language, skip rules, quarantine) and Stack-style JSONL."""
from __future__ import annotations

import gzip
import json
from collections import Counter

import pyarrow as pa
import pytest

from curate.readers import list_files, plan_shards, read_shard
from curate.readers.code import detect_language, is_vendored, shebang_language
from curate.readers.common import Limits, Shard
from tests.test_read_meta import _meta_read  # the documented rule that reads a meta value back

MAX = 2000  # max_file_bytes for the tree below

TREE = {
    "src/app.py": b"import os\n\n\ndef main():\n    return os.getcwd()\n",
    "cmd/server/main.go": b'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n',
    "web/app.js": b"export function add(a, b) {\n  return a + b;\n}\n",
    "web/types.ts": b"export type Pair = [number, number];\n",
    "lib/Util.pm": b"package Util;\nuse strict;\n1;\n",
    "lib/legacy.c": "/* caf\u00e9 cr\u00e8me, \u00e9t\u00e9 */\nint main(void) { return 0; }\n".encode("latin-1"),
    "bin/deploy": b"#!/usr/bin/env python3\nprint('deploying')\n",
    "bin/run": b"#!/bin/sh\nexec ./server \"$@\"\n",
    "Makefile": b"all:\n\tgo build ./...\n",
    "node_modules/left-pad/index.js": b"module.exports = function (s) { return s; };\n",
    "third_party/zlib/inflate.c": b"int inflate(void) { return 0; }\n",
    "web/app.min.js": b"function a(b){return b}\n",
    "web/bundle.js": b"var x=" + b"1+" * 900 + b"1;\n",  # one 1.8 KB line: minified, not oversized
    "data/table.py": b"ROWS = [\n" + b"    (1, 2, 3),\n" * 200 + b"]\n",  # 3 KB > MAX
    "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "notes.xyz": b"some notes in an unknown format\n",
    "README": b"Just words, no shebang.\n",
    "src/empty.py": b"",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    for rel, data in TREE.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    files = list_files(str(root))
    shards = plan_shards(files, "source", "code", "repo", {"max_file_bytes": MAX}, Limits())
    out = {"docs": [], "ledger": [], "quarantine": []}
    for shard in shards:
        for kind, batch in read_shard(shard, Limits()):
            out[kind].extend(pa.Table.from_batches([batch]).to_pylist())
    return {
        "docs": {d["path"]: d for d in out["docs"]},
        "ledger": {r["path"]: r for r in out["ledger"]},
        "quarantine": {r["path"]: r for r in out["quarantine"]},
    }


def test_every_file_is_accounted_for_once(tree):
    seen = Counter(p for part in tree.values() for p in part)
    assert sorted(seen) == sorted(TREE) and set(seen.values()) == {1}


@pytest.mark.parametrize(
    "path,language",
    [
        ("src/app.py", "python"),
        ("cmd/server/main.go", "go"),
        ("web/app.js", "javascript"),
        ("web/types.ts", "typescript"),
        ("lib/Util.pm", "perl"),
        ("lib/legacy.c", "c"),
        ("bin/deploy", "python"),  # shebang
        ("bin/run", "shell"),  # shebang
        ("Makefile", "makefile"),  # file name
    ],
)
def test_kept_files_and_their_language(tree, path, language):
    doc = tree["docs"][path]
    meta = json.loads(doc["meta"])
    assert doc["language"] == language and doc["domain"] == "code" and doc["offset"] == 0
    assert meta["file_path"] == path and meta["extension"] == (path.rsplit(".", 1)[1] if "." in path else "")
    assert doc["text"] == TREE[path].decode("utf-8" if path != "lib/legacy.c" else "latin-1")


def test_legacy_encoding_is_kept_and_recorded(tree):
    meta = json.loads(tree["docs"]["lib/legacy.c"]["meta"])
    assert meta["encoding"] == "cp1252" and "caf\u00e9 cr\u00e8me" in tree["docs"]["lib/legacy.c"]["text"]
    assert "encoding" not in json.loads(tree["docs"]["src/app.py"]["meta"])  # UTF-8: not noted


@pytest.mark.parametrize(
    "path,rule",
    [
        ("node_modules/left-pad/index.js", "vendored"),
        ("third_party/zlib/inflate.c", "vendored"),
        ("web/app.min.js", "minified"),
        ("web/bundle.js", "minified"),
        ("data/table.py", "oversized_file"),
        ("notes.xyz", "unknown_language"),
        ("README", "unknown_language"),
        ("src/empty.py", "empty_text"),
    ],
)
def test_skipped_files_reach_the_ledger(tree, path, rule):
    row = tree["ledger"][path]
    assert row["rule"] == rule and row["stage"] == "ingest" and row["domain"] == "code"
    assert TREE[path].decode()[:50].startswith(row["snippet"][:50])


def test_ledger_values_and_thresholds(tree):
    big = tree["ledger"]["data/table.py"]
    assert big["value"] == len(TREE["data/table.py"]) and big["threshold"] == MAX
    bundle = tree["ledger"]["web/bundle.js"]
    assert bundle["value"] == len(TREE["web/bundle.js"]) - 1 and bundle["threshold"] == 200  # mean line length
    assert tree["ledger"]["web/app.min.js"]["value"] is None  # by name, nothing measured
    assert tree["ledger"]["node_modules/left-pad/index.js"]["language"] == "javascript"


def test_binary_file_is_quarantined(tree):
    row = tree["quarantine"]["assets/logo.png"]
    assert row["reason"] == "binary" and row["offset"] == 0 and row["source"] == "repo"


def test_default_size_limit_is_one_mib(tmp_path):
    p = tmp_path / "gen.py"
    p.write_bytes(b"x = 1\n" * ((1 << 20) // 6 + 1))
    got = dict(read_shard(Shard(str(p), "gen.py", "source", "code", "repo", ()), Limits()))
    assert got["ledger"].column("rule")[0].as_py() == "oversized_file"
    assert got["ledger"].column("threshold")[0].as_py() == 1 << 20


def test_language_helpers():
    assert shebang_language("#!/usr/bin/env -S python3.11 -u\n") == "python"
    assert shebang_language("#!/usr/bin/perl -w\n") == "perl"
    assert shebang_language("#!/usr/bin/tclsh8.6\n") == "tcl"
    assert shebang_language("#!/usr/bin/env node\n") == "javascript"
    assert shebang_language("#!/bin/bash\n") == "shell"
    assert shebang_language("# not a shebang\n") is None
    assert detect_language("a/B.CPP") == "c++" and detect_language("x.rs") == "rust"
    assert detect_language("x.rb") == "ruby" and detect_language("x.java") == "java"
    assert detect_language("CMakeLists.txt") == "cmake" and detect_language("notes.txt") is None
    assert is_vendored("a/vendor/b.go") and is_vendored("Node_Modules/x.js") and not is_vendored("vendor.go")


# --- Stack-style JSONL ------------------------------------------------------------------


@pytest.mark.corpora
def test_stack_jsonl_sample(corpora):
    path = corpora / "code" / "code_sample.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    out = {"docs": [], "ledger": [], "quarantine": []}
    for kind, batch in read_shard(Shard(str(path), "code_sample.jsonl.gz", "jsonl", "code", "stack", ()), Limits()):
        out[kind].extend(pa.Table.from_batches([batch]).to_pylist())
    assert len(out["docs"]) == 954 and not out["ledger"] and not out["quarantine"]
    assert [d["language"] for d in out["docs"]] == [r["lang"].lower() for r in rows]
    assert [d["text"] for d in out["docs"]] == [r["content"] for r in rows]
    assert [json.loads(d["meta"])["file_path"] for d in out["docs"]] == [r["path"] for r in rows]
    assert Counter(d["language"] for d in out["docs"])["c++"] == 45


@pytest.mark.corpora
def test_extension_table_agrees_with_stack_labels(corpora):
    rows = [json.loads(line) for line in gzip.open(corpora / "code" / "code_sample.jsonl.gz", "rt", encoding="utf-8")]
    wrong = [(r["path"], r["lang"]) for r in rows if detect_language(r["path"], r["content"][:256]) != r["lang"].lower()]
    # .h is ambiguous between C and C++; the table says C, as The Stack mostly does
    assert all(p.endswith(".h") and lang == "C++" for p, lang in wrong), wrong[:5]


def test_utf16_source_with_a_bom_is_read(tmp_path):
    # Visual Studio and PowerShell save UTF-16 with a BOM: NUL bytes, but source, not binary.
    p = tmp_path / "Program.cs"
    p.write_bytes("class Program {\r\n    // naïve café\r\n    static void Main() { }\r\n}\r\n".encode("utf-16"))
    got = dict(read_shard(Shard(str(p), "Program.cs", "source", "code", "repo", ()), Limits()))
    doc = got["docs"].to_pylist()[0]
    assert "quarantine" not in got and doc["text"].startswith("class Program {\n    // naïve café\n")
    assert json.loads(doc["meta"])["encoding"] == "utf-16-le"


def test_code_whitespace_reaches_the_tokens_byte_for_byte(tmp_path):
    """README (Text normalisation): indentation, tabs, trailing spaces and final newlines reach
    the text and the decoded tokens as they are; a tree's CRLF becomes LF and a UTF-8 BOM goes."""
    from curate import cli
    from curate.stages.tokenize import Encoder
    import polars as pl

    files = {  # name -> (bytes on disk, text expected)
        "tabs.go": (b'package main\n\nfunc main() {\n\tif ok {\n\t\tprintln("hi")\t// tab\n\t}\n}', None),  # no final newline
        "trail.rb": (b"def hello   \n  puts 'x'     \nend\n\n\n\n", None),
        "mixed.c": (b"int main(void)\n{\n  \t return 0; \t\n}\n", None),
        "crlf.py": (b"def f(a,\r\n      b):\r\n\treturn a + b  \r\n", "def f(a,\n      b):\n\treturn a + b  \n"),
        "bom.js": (b"\xef\xbb\xbffunction f() {\n    return 1;\n}\n", "function f() {\n    return 1;\n}\n"),
    }
    repo, out = tmp_path / "repo", tmp_path / "out"
    repo.mkdir()
    for name, (data, _) in files.items():
        (repo / name).write_bytes(data)
    assert cli.main(["run", "--input", str(repo), "--domain", "code", "--format", "source", "--stages", "ingest,tokenize",
                     "--output", str(out), "--progress", "off"]) == 0
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    tokens = pl.read_parquet(str(out / "tokens" / "*.parquet"))
    manifest = json.loads((out / "tokens.json").read_text())
    enc = Encoder(manifest["tokenizer"]["name"], eos="")
    joined = text.join(tokens, on="id")
    decoded = {p: enc.decode(list(ids)[:-1]) for p, ids in zip(joined["path"], joined["input_ids"])}
    assert decoded == {name: want if want is not None else data.decode() for name, (data, want) in files.items()}
    assert dict(zip(text["path"], text["text"])) == decoded


@pytest.mark.parametrize("name", [".env", "env", "py311"])
def test_a_virtualenv_under_any_name_is_vendored(tmp_path, name):
    """A virtualenv made as `python -m venv .env` (or env/, py311/): its activate scripts,
    pip's launcher and site-packages are no code of the tree, as under .venv/ or venv/; only
    the files under site-packages were ledgered as vendored, bin/activate and bin/pip kept as
    code. A venv is told by the pyvenv.cfg the venv module writes (PEP 405), whatever its name;
    a folder of that name without one is the tree's own."""
    import venv

    import pyarrow.parquet as pq

    from curate import cli

    repo = tmp_path / "repo"
    venv.create(repo / name, with_pip=False, symlinks=False)  # the real layout: bin/, lib/pythonX.Y/, pyvenv.cfg
    site = next((repo / name / "lib").glob("python3*/site-packages"))
    (site / "pkg").mkdir()
    (site / "pkg" / "core.py").write_text("def f():\n    return 1\n")
    (repo / name / "bin" / "pip").write_text(f"#!{repo / name / 'bin' / 'python'}\nimport sys\nsys.exit(0)\n")
    (repo / "src").mkdir()
    (repo / "src" / "main.py").write_text("def main():\n    print('hi')\n")
    (repo / "tools" / "env").mkdir(parents=True)  # no pyvenv.cfg: the tree's own
    (repo / "tools" / "env" / "setup.sh").write_text("#!/bin/sh\nexport APP_HOME=/srv/app\n")
    out = tmp_path / "o"
    assert cli.main(["run", "--input", str(repo), "--domain", "code", "--format", "source", "--stages", "ingest",
                     "--output", str(out), "--progress", "off"]) == 0
    kept = sorted(pq.read_table(out / "text", columns=["path"]).column("path").to_pylist())
    assert kept == ["src/main.py", "tools/env/setup.sh"], kept
    ledger = {r["path"]: r["rule"] for r in pq.read_table(out / "ledger").to_pylist()}
    assert ledger[f"{name}/bin/activate"] == ledger[f"{name}/bin/pip"] == ledger[f"{name}/pyvenv.cfg"] == "vendored"
    assert ledger[f"{site.relative_to(repo)}/pkg/core.py"] == "vendored"


def test_a_pyvenv_cfg_fixture_or_a_venv_made_in_a_project_folder_drops_none_of_its_code(tmp_path):
    """Any folder holding a pyvenv.cfg was taken for a virtualenv, all of it vendored: a project's
    tests/data/ shipping a sample pyvenv.cfg lost its fixtures, and `python -m venv .` made in a
    service's own folder (services/api/, its app.py and lib/ beside the venv's bin/ and
    lib/pythonX.Y/) lost the service's code. A venv has an interpreter (bin/python, or
    Scripts/python.exe), and only its own parts (bin/, lib/pythonX.Y/, include/, pyvenv.cfg) are
    vendored."""
    import venv

    import pyarrow.parquet as pq

    from curate import cli

    repo = tmp_path / "repo"
    data = repo / "tests" / "data"
    data.mkdir(parents=True)
    (data / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n")
    (data / "sample.py").write_text("def sample():\n    return 2\n")
    (repo / "tests" / "test_env.py").write_text("def test_env():\n    assert True\n")
    api = repo / "services" / "api"
    venv.create(api, with_pip=False, symlinks=False)  # `python -m venv .` in the service's folder
    (api / "app.py").write_text("def app():\n    return 'ok'\n")
    (api / "lib" / "helpers.py").write_text("def helper():\n    return 3\n")
    site = next((api / "lib").glob("python3*/site-packages"))
    (site / "dep.py").write_text("def dep():\n    return 4\n")
    out = tmp_path / "o"
    assert cli.main(["run", "--input", str(repo), "--domain", "code", "--format", "source", "--stages", "ingest",
                     "--output", str(out), "--progress", "off"]) == 0
    kept = sorted(pq.read_table(out / "text", columns=["path"]).column("path").to_pylist())
    # the fixture pyvenv.cfg is the project's own file, INI (a .cfg) since secrets61: kept as code, not vendored
    assert kept == ["services/api/app.py", "services/api/lib/helpers.py", "tests/data/pyvenv.cfg", "tests/data/sample.py",
                    "tests/test_env.py"], kept
    ledger = {r["path"]: r["rule"] for r in pq.read_table(out / "ledger").to_pylist()}
    assert ledger["services/api/bin/activate"] == ledger["services/api/pyvenv.cfg"] == "vendored"
    assert ledger[f"{site.relative_to(repo)}/dep.py"] == "vendored"


def test_a_files_path_goes_into_meta_escaped_as_any_meta_text(tmp_path):
    """A source file's path went into meta as it was: ``b'x.py`` was the meta JSON's form of
    bytes (read back, the bytes ``x.py``), and a name whose bytes are not UTF-8 was ``caf?.py``
    (another file's name). Escaped as every meta value (meta.py): read back by the documented
    rule, each gives the name (its bytes where they are not UTF-8); a newline is JSON's."""
    names = [b"b'x.py", b"\\b'y.py", b"caf\xe9.py", b"a\nb.py", b'b"q.py']
    for name in names:
        (tmp_path / name.decode("utf-8", "surrogateescape")).write_bytes(b"import os\nprint(os.sep)\n")
    shards = plan_shards(list_files(str(tmp_path)), "source", "code", "repo", {}, Limits())
    metas = [json.loads(d["meta"]) for s in shards for kind, b in read_shard(s, Limits()) if kind == "docs" for d in b.to_pylist()]
    got = {_meta_read(m["file_path"]) for m in metas}
    assert got == {n.decode() for n in names if n != b"caf\xe9.py"} | {b"caf\xe9.py"}, metas


def test_a_code_records_path_and_repository_go_into_meta_escaped(tmp_path):
    """A JSONL code record's ``path`` and ``repo_name`` went into meta as they were (``b'x.py``:
    bytes to the meta JSON's reader); escaped, read back they are the record's. Its output
    re-curated keeps them (no backslash more a run), its path column the record's names."""
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"id": "f", "text": "import os\nprint(os.sep)\n", "path": "b'x.py", "repo_name": "b'org/r\n"}) + "\n")
    [doc] = [d for kind, b in read_shard(Shard(str(p), "d.jsonl", "jsonl", "code", "t"), Limits()) if kind == "docs" for d in b.to_pylist()]
    meta = json.loads(doc["meta"])
    assert (_meta_read(meta["file_path"]), _meta_read(meta["repo_name"])) == ("b'x.py", "b'org/r\n"), meta
    assert doc["path"] == "d.jsonl:b'org/r\n/b'x.py", doc["path"]
    p = tmp_path / "out.jsonl"  # the output's record, read again
    p.write_text(json.dumps({"id": "f", "text": doc["text"], "path": doc["path"], "meta": meta}) + "\n")
    [again] = [d for kind, b in read_shard(Shard(str(p), "out.jsonl", "jsonl", "code", "t"), Limits()) if kind == "docs" for d in b.to_pylist()]
    assert json.loads(again["meta"]) == meta and again["path"] == "out.jsonl:b'org/r\n/b'x.py", again


def test_an_older_outputs_name_like_a_bytes_literal_is_read_back_as_its_name(tmp_path):
    """An older curate wrote a name into meta as it was: a file ``b'x.py'`` of repository
    ``b'o/r'`` (its path column ``d.jsonl:b'o/r'/b'x.py'`` says so). Read back as a bytes
    literal, ``x.py``, it no longer matched the path column, which became the file's path
    (``file_path`` the whole column, the real one moved to ``file_path_2``, the repository
    ``o/r``), growing a run at a time. A bytes literal of UTF-8 bytes is none curate writes
    (such bytes are their text, ``binary_text``): the older text itself, escaped as meta now."""
    def read(rec: dict, name: str) -> dict:
        p = tmp_path / name
        p.write_text(json.dumps(rec) + "\n")
        [d] = [d for kind, b in read_shard(Shard(str(p), name, "jsonl", "code", "t"), Limits()) if kind == "docs" for d in b.to_pylist()]
        return d

    old = {"id": "f", "text": "import os\n", "path": "d.jsonl:b'o/r'/b'x.py'", "meta": {"file_path": "b'x.py'", "repo_name": "b'o/r'"}}
    once = read(old, "out.jsonl")
    meta = json.loads(once["meta"])
    assert once["path"] == "out.jsonl:b'o/r'/b'x.py'" and set(meta) == {"file_path", "repo_name"}, once
    assert (_meta_read(meta["file_path"]), _meta_read(meta["repo_name"])) == ("b'x.py'", "b'o/r'"), meta
    twice = read({**old, "path": once["path"], "meta": meta}, "out2.jsonl")
    assert json.loads(twice["meta"]) == meta and twice["path"] == "out2.jsonl:b'o/r'/b'x.py'", twice


def _read_jsonl(p, records: list) -> dict:
    """``records`` written as a code dump at ``p`` and read: {kind: [rows]}."""
    p.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = {"docs": [], "ledger": [], "quarantine": []}
    for kind, b in read_shard(Shard(str(p), p.name, "jsonl", "code", "t"), Limits()):
        out[kind].extend(b.to_pylist())
    return out


def test_a_binary_record_in_a_code_dump_is_quarantined_as_the_trees_file_is(tree, tmp_path):
    """The tree's logo.png is quarantined as ``binary``; the same bytes as a dump's record
    (``"\\u0000\\u0001..."``) were kept as a python document, NULs and all."""
    logo = TREE["assets/logo.png"].decode("latin-1")  # each byte one character
    got = _read_jsonl(tmp_path / "code.jsonl", [{"content": logo, "path": "assets/logo.png", "lang": "Python"},
                                                {"content": "import os\n", "path": "a.py"}])
    [bad] = got["quarantine"]
    assert bad["reason"] == tree["quarantine"]["assets/logo.png"]["reason"] == "binary" and bad["offset"] == 0, bad
    assert "assets/logo.png" in bad["detail"] and "\n" not in bad["detail"], bad
    assert [d["path"] for d in got["docs"]] == ["code.jsonl:a.py"] and not got["ledger"]


def test_a_code_records_path_that_is_no_text_is_its_json(tmp_path):
    """A ``meta.file_path`` that is no text was replaced by the record's path without a word (or,
    with no path, the record and the rest of the file were one ``read_error`` row: ``'int' object
    has no attribute 'lower'``); a path or repository given as a list or object was shown in
    Python's form (``code.jsonl:['a', 'b']``). The record's own meta value is kept as it is (as a
    meta.file_path that is another path is), a path and repository are their JSON text."""
    got = _read_jsonl(tmp_path / "code.jsonl", [
        {"content": "import os\n", "path": "a.py", "meta": {"file_path": 5}},
        {"content": "import os\n", "meta": {"file_path": ["a", "b"]}},
        {"content": "import os\n", "path": ["a", "b"], "repo_name": {"o": 1}},
        {"content": "import os\n", "path": True},
        {"content": "import os\n", "path": "z.py"},  # after them all: the file read to its end
    ])
    assert not got["quarantine"], got["quarantine"]
    docs = [(d["path"], json.loads(d["meta"])) for d in got["docs"]]
    assert docs == [
        ("code.jsonl:a.py", {"file_path": "a.py", "file_path_2": 5}),
        ("code.jsonl", {"file_path": ["a", "b"]}),
        ('code.jsonl:{"o": 1}/["a", "b"]', {"file_path": '["a", "b"]', "repo_name": '{"o": 1}'}),
        ("code.jsonl:true", {"file_path": "true"}),
        ("code.jsonl:z.py", {"file_path": "z.py"}),
    ], docs


def test_utf16_source_without_a_bom_is_read(tmp_path):
    """A source file in UTF-16 with no byte-order mark (a NUL beside each ASCII character) was
    quarantined as binary; it is read as one with its mark is, as a book or page is."""
    p = tmp_path / "Program.cs"
    p.write_bytes("class Program {\r\n    // naïve café\r\n    static void Main() { }\r\n}\r\n".encode("utf-16-le"))
    got = dict(read_shard(Shard(str(p), "Program.cs", "source", "code", "repo", ()), Limits()))
    assert "quarantine" not in got, got["quarantine"].to_pylist()
    doc = got["docs"].to_pylist()[0]
    assert doc["text"].startswith("class Program {\n    // naïve café\n") and json.loads(doc["meta"])["encoding"] == "utf-16-le"
