"""What of an input record's metadata reaches a document's ``meta`` (the output's meta column, the
licence filter, ``meta_fields``, ``curate audit --why``), for records exported by other
toolkits: Dolma's ``metadata`` object, a Parquet ``binary`` / ``large_binary`` column, map or
struct field (Spark, Hive). Through the CLI, on small files written here; ground truth is the
value as written."""
from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import cli

pytestmark = pytest.mark.usefixtures("one_process_runs")  # ~35 in-process runs of a few records each

CODE = "def area(width, height):\n    return width * height\n\n\nprint(area({}, 4))\n"
DIGEST = b"\x8f\xff\xc3-1"  # not UTF-8: a hash column


def _run(tmp_path, inputs: list[dict], *stages: str, extra: str = "", name: str = "out"):
    out = tmp_path / name
    cfg = tmp_path / f"{name}.toml"
    blocks = "".join("[[inputs]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in i.items()) for i in inputs)
    cfg.write_text(blocks + f'[run]\nstages = {json.dumps(list(stages))}\noutput = "{out}"\n' + extra)
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    ledger = pl.read_parquet(str(out / "ledger" / "*.parquet"))
    return out, {s: json.loads(m) if m else None for s, m in zip(text["source_id"], text["meta"])}, ledger


def test_a_parquet_binary_licence_is_its_text_in_meta_and_to_the_licence_filter(tmp_path, capsys):
    """A Parquet licence of binary type (a ``binary`` column named in ``meta_fields``, a
    ``map<string,binary>`` meta, a struct meta's ``large_binary`` field, a binary meta of JSON
    text: Spark and Hive write strings so) was written as its repr, ``"b'MIT'"``: the licence filter read no SPDX
    expression and removed every file as unlicensed (code_license 2), MIT ones too, and the
    output's meta said ``b'MIT'``. It is its UTF-8 text; a value that is not UTF-8 (a digest)
    is its bytes literal, ``b'\\x8f\\xff\\xc3-1'`` (not ``\\xNN`` in its text: see the last test)."""
    lic = [b"MIT", b"GPL-3.0-only"]
    tables = {
        "col": {"license": pa.array(lic, pa.binary()), "sha": pa.array([DIGEST, b"ok"], pa.large_binary())},
        "map": {"meta": pa.array([[("license", v)] for v in lic], pa.map_(pa.string(), pa.binary()))},
        "struct": {"meta": pa.array([{"license": v} for v in lic], pa.struct([("license", pa.large_binary())]))},
        "json": {"meta": pa.array([b'{"license": "%s"}' % v for v in lic], pa.binary())},  # RedPajama's meta text, as bytes
    }
    inputs = []
    for name, cols in tables.items():
        pq.write_table(pa.table({"id": [f"{name}-mit", f"{name}-gpl"], "path": ["src/a.py", "src/b.py"],
                                 "content": [CODE.format(1), CODE.format(2)], **cols}), tmp_path / f"{name}.parquet")
        inputs.append({"glob": str(tmp_path / f"{name}.parquet"), "domain": "code", "source": name,
                       **({"meta_fields": ["license", "sha"]} if name == "col" else {})})
    out, meta, ledger = _run(tmp_path, inputs, "ingest", "filter", extra='[filter.code]\nlicenses = ["permissive"]\n')
    assert meta == {"col-mit": {"license": "MIT", "sha": "b'\\x8f\\xff\\xc3-1'", "file_path": "src/a.py"},
                    "map-mit": {"license": "MIT", "file_path": "src/a.py"},
                    "struct-mit": {"license": "MIT", "file_path": "src/a.py"}, "json-mit": {"license": "MIT", "file_path": "src/a.py"}}
    assert sorted(zip(ledger["source_id"], ledger["rule"], ledger["value"])) == [
        (f"{n}-gpl", "code_license", 1.0) for n in sorted(tables)]  # a licence outside the list, not none
    capsys.readouterr()
    assert cli.main(["audit", str(out), "--why", "map-gpl", "--why", "map-mit"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert any("your id map-gpl" in s and "removed at filter by code_license" in s for s in said), said
    assert any("your id map-mit" in s and "kept in text/" in s for s in said), said


def test_parquet_map_keys_that_are_not_utf8_stay_apart(tmp_path):
    """Two binary map keys that are not UTF-8 were both U+FFFD (``errors="replace"``): one
    record's meta lost the other's value without a word. A key's bytes are read by the same
    rule as a value's (``curate.readers.meta``): ``\\xff`` and ``\\xfe``, both kept."""
    keys = pa.array([[(b"\xff", "a"), (b"\xfe", "b"), (b"lic", "mit")]], pa.map_(pa.binary(), pa.string()))
    pq.write_table(pa.table({"id": ["k"], "text": ["A page of plain text, long enough to read."], "meta": keys}),
                   tmp_path / "k.parquet")
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "k.parquet"), "domain": "web"}], "ingest")
    assert meta == {"k": {"b'\\xff'": "a", "b'\\xfe'": "b", "lic": "mit"}}


def test_dolmas_metadata_object_is_carried(tmp_path, capsys):
    """Dolma's records hold their metadata in ``metadata`` (RedPajama's in ``meta``), which was
    not carried: its licence, perplexity, WARC date lost, and a licence filter over Dolma's
    code removed every file as unlicensed (code_license 2). It is the document's metadata as
    a ``meta`` is (an object, or JSON text of one); beside a ``meta`` it is kept whole under
    ``meta.metadata``. Ids are the file's and offset's, as before."""
    page = "The river ran past the mill and the children watched the boats drift by. " * 4
    dolma = {"url": "https://a.example/1", "warc_date": "2023-05-01T10:00:00Z", "perplexity": 12.5, "license": "cc-by-4.0"}
    records = [{"id": "d1", "text": page, "source": "cc", "added": "2024-01-01", "created": "2023-05-01", "metadata": dolma},
               {"id": "d2", "text": page + "2", "meta": {"lang": "en"}, "metadata": {"url": "https://a.example/2"}},
               {"id": "d3", "text": page + "3", "metadata": json.dumps({"url": "https://a.example/3"})},
               {"id": "d4", "text": page + "4", "metadata": None}]
    (tmp_path / "dolma.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "dolma.jsonl"), "domain": "web"}], "ingest", name="web")
    assert meta == {"d1": {**dolma, "created": "2023-05-01"}, "d2": {"lang": "en", "metadata": {"url": "https://a.example/2"}},
                    "d3": {"url": "https://a.example/3"}, "d4": None}
    code = [{"id": f"c-{k}", "text": CODE.format(i), "path": f"src/{k}.py", "metadata": {"license": lic}}
            for i, (k, lic) in enumerate((("mit", "MIT"), ("gpl", "GPL-3.0-only")))]
    (tmp_path / "code.jsonl").write_text("".join(json.dumps(r) + "\n" for r in code))
    out, meta, ledger = _run(tmp_path, [{"glob": str(tmp_path / "code.jsonl"), "domain": "code"}], "ingest", "filter",
                             extra='[filter.code]\nlicenses = ["permissive"]\n', name="code")
    assert meta == {"c-mit": {"license": "MIT", "file_path": "src/mit.py"}}
    assert list(zip(ledger["source_id"], ledger["rule"], ledger["value"])) == [("c-gpl", "code_license", 1.0)]
    capsys.readouterr()
    assert cli.main(["audit", str(out), "--why", "c-gpl"]) == 0
    assert "removed at filter by code_license" in capsys.readouterr().out


def test_a_parquet_binary_id_url_path_or_language_is_its_text(tmp_path, capsys):
    """Hive and Spark write strings as ``binary``: such an id, url, path or language column was
    its repr (source_id ``"b'x-1'"``, url ``"b'https://...'"``, path ``code.parquet:b'src/a.py'``,
    language ``"b'python'"``): `curate audit --why` found the record by none of them, the code
    filters ran no language's rules. Each is its UTF-8 text, as a binary meta value is."""
    b = pa.binary()
    pq.write_table(pa.table({"id": pa.array([b"x-1"], b), "url": pa.array([b"https://a.example/x"], b),
                             "path": pa.array([b"src/a.py"], b), "lang": pa.array([b"Python"], b),
                             "content": [CODE.format(1)]}), tmp_path / "code.parquet")
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "code.parquet"), "domain": "code"}], "ingest")
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    assert text.select("source_id", "url", "path", "language").rows() == [
        ("x-1", "https://a.example/x", "code.parquet:src/a.py", "python")]
    assert meta == {"x-1": {"file_path": "src/a.py"}}
    capsys.readouterr()
    for key in ("x-1", "https://a.example/x"):
        assert cli.main(["audit", str(out), "--why", key]) == 0
        assert "a.example/x, your id x-1): kept in text/" in capsys.readouterr().out


def test_a_deeply_nested_meta_or_metadata_loses_no_record(tmp_path, capsys):
    """A record's meta (or Dolma metadata) nested 600 deep, JSON the reader parses: walking it a
    call a level (meta_value, two frames each) passed Python's recursion limit, and the file was
    one read_error row from that record on, the records after it lost. A JSON record's values
    are taken as JSON gives them; the meta is written as read, the records around it read."""
    deep = 1
    for i in range(600):
        deep = {f"k{i % 3}": deep}
    (tmp_path / "in").mkdir()
    rows = [{"id": "before", "text": "A page read before."}, {"id": "meta", "text": "A deep meta.", "meta": deep},
            {"id": "metadata", "text": "A deep metadata.", "metadata": deep}, {"id": "after", "text": "A page read after."}]
    (tmp_path / "in" / "deep.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "in" / "*.jsonl"), "domain": "web"}], "ingest")
    assert meta == {"before": None, "meta": deep, "metadata": deep, "after": None}


def test_a_parquet_binary_meta_of_json_with_a_byte_not_utf8_is_still_its_object(tmp_path, capsys):
    """A binary meta column of JSON text (RedPajama's meta as bytes) holding one byte that is not
    UTF-8 (an author's name in Latin-1) was kept as one opaque text, ``{"meta": "{\\"license\\":
    ..."}``: its ``\\xNN`` is no JSON escape, so it was no object, the licence filter found no
    licence and removed the MIT file (code_license). It is the object it holds, the string holding
    that byte its bytes literal ``b'Jos\\xe9'``, as any other binary value (binary_text)."""
    metas = [b'{"license": "MIT", "author": "Jos\xe9"}', b'{"license": "MIT", "author": "Jos\xc3\xa9 \\\\ \\"x\\""}']
    pq.write_table(pa.table({"id": ["latin1", "utf8"], "path": ["src/a.py", "src/b.py"],
                             "content": [CODE.format(1), CODE.format(2)], "meta": pa.array(metas, pa.binary())}),
                   tmp_path / "m.parquet")
    _, meta, ledger = _run(tmp_path, [{"glob": str(tmp_path / "m.parquet"), "domain": "code"}], "ingest", "filter",
                           extra='[filter.code]\nlicenses = ["permissive"]\n')
    assert meta == {"latin1": {"license": "MIT", "author": "b'Jos\\xe9'", "file_path": "src/a.py"},
                    "utf8": {"license": "MIT", "author": 'José \\ "x"', "file_path": "src/b.py"}}
    assert ledger.height == 0


def test_a_deep_meta_holding_nan_loses_no_record(tmp_path, capsys):
    """A meta nested 600 deep whose innermost value is NaN or Infinity (``json.loads`` reads both):
    the meta column's JSON writes each as its text, and that rewrite walked the meta a call a
    level (two frames each), past Python's recursion limit: the record and every record after it
    in its file were one read_error row. The deep meta is written, its NaN ``"nan"``."""
    def deep(leaf: str, depth: int = 600) -> str:
        return '{"k": ' * depth + leaf + "}" * depth

    def expected(leaf: str, depth: int = 600):
        value = leaf
        for _ in range(depth):
            value = {"k": value}
        return value

    (tmp_path / "in").mkdir()
    lines = ['{"id": "before", "text": "A page read before."}',
             '{"id": "nan", "text": "A deep meta.", "meta": %s}' % deep("NaN"),
             '{"id": "inf", "text": "A deep metadata.", "metadata": %s}' % deep("[1, -Infinity]"),
             '{"id": "after", "text": "A page read after."}']
    (tmp_path / "in" / "deep.jsonl").write_text("\n".join(lines) + "\n")
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "in" / "*.jsonl"), "domain": "web"}], "ingest")
    assert meta == {"before": None, "nan": expected("nan"), "inf": expected([1, "-inf"]), "after": None}


def test_a_binary_meta_value_not_utf8_is_told_from_text_holding_its_escapes(tmp_path):
    """A binary meta value that is not UTF-8 was its text with each other byte ``\\xNN``: the
    byte 0x8f, the four bytes ``\\x8f`` (binary, but UTF-8: that text) and the text ``\\x8f`` (a JSON
    record's) were one meta value, as were a map's binary key 0xff and text key ``\\xff``. Such a
    value is Python's bytes literal, ``b'\\x8f'``, which ``ast.literal_eval`` turns back into its
    bytes (ground truth: the bytes written); bytes that are UTF-8 stay their text."""
    import ast

    pq.write_table(pa.table({"id": ["byte", "escape"], "text": ["A page of text, the first.", "A page of text, the second."],
                             "sha": pa.array([b"\x8f", b"\\x8f"], pa.binary()),
                             "meta": pa.array([[(b"\xff", "a")], [(b"\\xff", "b")]], pa.map_(pa.binary(), pa.string()))}),
                   tmp_path / "b.parquet")
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "text", "text": "A page of text, the third.", "sha": "\\x8f",
                                                  "meta": {"\\xff": "c"}}) + "\n")
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "b.parquet"), "domain": "web", "meta_fields": ["sha"]},
                                 {"glob": str(tmp_path / "t.jsonl"), "domain": "web", "meta_fields": ["sha"]}], "ingest")
    shas = {k: m["sha"] for k, m in meta.items()}
    assert shas["byte"] != shas["text"], shas
    assert ast.literal_eval(shas["byte"]) == b"\x8f" and shas["escape"] == shas["text"] == "\\x8f"
    keys = {k: next(iter(m.keys() - {"sha"})) for k, m in meta.items()}
    assert keys["byte"] != keys["text"], keys
    assert ast.literal_eval(keys["byte"]) == b"\xff" and keys["escape"] == keys["text"] == "\\xff"


def test_dolma_metadata_beside_a_meta_holding_its_own_metadata_key_is_kept_too(tmp_path):
    """A record with Dolma's ``metadata`` and a ``meta`` that has a ``metadata`` key of its own
    kept the meta's and dropped Dolma's without a word (``setdefault``). Both are kept: Dolma's
    under the first free ``metadata_N`` (``metadata_2``, then ``metadata_3``...); one the same
    as the meta's is not written twice."""
    page = "The boats drifted past the mill while the children counted them. "
    records = [{"id": "clash", "text": page, "meta": {"lang": "en", "metadata": {"own": 1}}, "metadata": {"license": "MIT"}},
               {"id": "two", "text": page + "2", "meta": {"metadata": 1, "metadata_2": 2}, "metadata": {"license": "MIT"}},
               {"id": "same", "text": page + "3", "meta": {"metadata": {"license": "MIT"}}, "metadata": {"license": "MIT"}},
               {"id": "text", "text": page + "4", "meta": "a note", "metadata": {"license": "MIT"}}]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    # a Parquet row's meta and metadata as structs: the same rule (read by the same run)
    pq.write_table(pa.table({"id": ["clash-pq"], "text": [page], "meta": [records[0]["meta"]],
                             "metadata": [records[0]["metadata"]]}), tmp_path / "d.parquet")
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / f"d.{fmt}"), "domain": "web"} for fmt in ("jsonl", "parquet")], "ingest")
    clash = {"lang": "en", "metadata": {"own": 1}, "metadata_2": {"license": "MIT"}}
    assert meta == {"clash": clash, "clash-pq": clash,
                    "two": {"metadata": 1, "metadata_2": 2, "metadata_3": {"license": "MIT"}},
                    "same": {"metadata": {"license": "MIT"}}, "text": {"meta": "a note", "metadata": {"license": "MIT"}}}, meta


def test_meta_fields_add_to_the_default_licence_fields(tmp_path):
    """``meta_fields = ["stars"]`` replaced the default fields (license, ..., date), so naming one
    field of one's own dropped the licence: the licence filter removed the MIT file as unlicensed
    (code_license 2). The named fields are added to the defaults."""
    code = [{"id": f"c-{k}", "text": CODE.format(i), "path": f"src/{k}.py", "license": lic, "stars": i, "date": "2024-01-02"}
            for i, (k, lic) in enumerate((("mit", "MIT"), ("gpl", "GPL-3.0-only")))]
    (tmp_path / "code.jsonl").write_text("".join(json.dumps(r) + "\n" for r in code))
    _, meta, ledger = _run(tmp_path, [{"glob": str(tmp_path / "code.jsonl"), "domain": "code", "meta_fields": ["stars"]}],
                           "ingest", "filter", extra='[filter.code]\nlicenses = ["permissive"]\n')
    assert meta == {"c-mit": {"license": "MIT", "date": "2024-01-02", "stars": 0, "file_path": "src/mit.py"}}
    assert list(zip(ledger["source_id"], ledger["rule"], ledger["value"])) == [("c-gpl", "code_license", 1.0)]


def test_carry_meta_false_keeps_only_the_named_fields(tmp_path, capsys):
    """``carry_meta = false`` in ``[[inputs]]``: the record's own ``meta`` / ``metadata`` objects
    (an author's e-mail, a crawl's headers: privacy, size) are not carried, a JSON record's or a
    Parquet row's; the fields ``meta_fields`` names and the default licence fields still are,
    and a code file's path. There was no way to leave them out. Not true or false: one line."""
    from curate import config

    records = [{"id": "a", "text": CODE.format(1), "path": "src/a.py", "license": "MIT", "stars": 3,
                "meta": {"author": "me@example.com", "headers": "x" * 50}, "metadata": {"ip": "10.0.0.1"}},
               {"id": "b", "text": CODE.format(2), "meta": {"author": "you@example.com"}}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    pq.write_table(pa.table({"id": ["p"], "content": [CODE.format(3)], "path": ["src/p.py"],
                             "meta": pa.array([[("author", "me@example.com")]], pa.map_(pa.string(), pa.string()))}),
                   tmp_path / "c.parquet")
    inputs = [{"glob": str(tmp_path / "c.jsonl"), "domain": "code", "meta_fields": ["stars"], "carry_meta": False},
              {"glob": str(tmp_path / "c.parquet"), "domain": "code", "carry_meta": False}]
    _, meta, _ = _run(tmp_path, inputs, "ingest")
    assert meta == {"a": {"license": "MIT", "stars": 3, "file_path": "src/a.py"}, "b": None, "p": {"file_path": "src/p.py"}}
    _, meta, _ = _run(tmp_path, [{**i, "carry_meta": True} for i in inputs], "ingest", name="carried")  # the default
    assert meta["a"]["author"] == "me@example.com" and meta["a"]["metadata"] == {"ip": "10.0.0.1"}
    assert meta["b"] == {"author": "you@example.com"} and meta["p"] == {"author": "me@example.com", "file_path": "src/p.py"}
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{tmp_path / "c.jsonl"}"\ndomain = "code"\ncarry_meta = false\n')
    assert config.load(str(cfg)).inputs[0]["carry_meta"] is False
    cfg.write_text(f'[[inputs]]\nglob = "{tmp_path / "c.jsonl"}"\ndomain = "code"\ncarry_meta = "no"\n[run]\noutput = "{tmp_path / "x"}"\n')
    capsys.readouterr()
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    assert "inputs[0].carry_meta: expected true or false, got 'no'" in capsys.readouterr().err


def test_carry_meta_false_over_a_curate_output_keeps_each_files_path(tmp_path):
    """Re-curating a code output with ``carry_meta = false``: its meta's ``file_path`` and
    ``repo_name`` (curate's own, where the file is) were dropped with the rest, so the path
    column an earlier run wrote, ``dump.jsonl:octo/app/src/main.py``, became the file's path and
    grew a run at a time (``part-...parquet:dump.jsonl:...``). Those two are kept; the rest of
    that meta (its licence too: the user's choice) is not."""
    (tmp_path / "dump.jsonl").write_text(json.dumps({"id": "f1", "repo_name": "octo/app", "path": "src/main.py", "license": "mit",
                                                     "content": CODE.format(1), "meta": {"author": "me@example.com"}}) + "\n")
    _run(tmp_path, [{"glob": str(tmp_path / "dump.jsonl"), "domain": "code"}], "ingest", name="o1")
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "o1" / "text" / "*.parquet"), "domain": "code", "carry_meta": False}],
                        "ingest", name="o2")
    assert list(meta.values()) == [{"file_path": "src/main.py", "repo_name": "octo/app"}], meta
    [path] = pl.read_parquet(str(out / "text" / "*.parquet"))["path"]
    assert path.endswith(".parquet:octo/app/src/main.py") and path.count(":") == 1, path


def test_a_field_named_like_a_key_of_the_records_meta_keeps_both_values(tmp_path):
    """A default field (``license``) or a ``meta_fields`` one (``stars``) overwrote the key of
    the same name in the record's own ``meta`` without a word: its ``license: MIT`` became the
    top-level ``GPL-3.0-only``, its ``stars: 5`` the top-level 9. The record's meta keeps its
    key, the field takes the first free ``name_2``, ``name_3`` (as Dolma's ``metadata_2``), one
    the same as the meta's is written once; the licence filter reads both licences, and allows
    the file only when each is allowed (a GPL beside an MIT is not permissive). Ground truth:
    the values as written."""
    records = [{"id": "two", "text": CODE.format(1), "path": "a.py", "license": "GPL-3.0-only", "stars": 9,
                "meta": {"license": "MIT", "stars": 5, "license_2": "x"}},
               {"id": "same", "text": CODE.format(2), "path": "b.py", "license": "MIT", "stars": 5,
                "meta": {"license": "MIT", "stars": 5}}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    pq.write_table(pa.table({"id": ["pq"], "content": [CODE.format(3)], "path": ["p.py"], "license": ["GPL-3.0-only"],
                             "meta": pa.array([[("license", "MIT")]], pa.map_(pa.string(), pa.string()))}),
                   tmp_path / "c.parquet")
    inputs = [{"glob": str(tmp_path / "c.jsonl"), "domain": "code", "meta_fields": ["stars"]},
              {"glob": str(tmp_path / "c.parquet"), "domain": "code"}]
    _, meta, _ = _run(tmp_path, inputs, "ingest")
    assert meta == {"two": {"license": "MIT", "stars": 5, "license_2": "x", "license_3": "GPL-3.0-only", "stars_2": 9,
                            "file_path": "a.py"},
                    "same": {"license": "MIT", "stars": 5, "file_path": "b.py"},
                    "pq": {"license": "MIT", "license_2": "GPL-3.0-only", "file_path": "p.py"}}
    _, meta, ledger = _run(tmp_path, inputs, "ingest", "filter", extra='[filter.code]\nlicenses = ["MIT", "x"]\n', name="f")
    assert list(meta) == ["same"]
    assert sorted(zip(ledger["source_id"], ledger["rule"], ledger["value"])) == [("pq", "code_license", 1.0),
                                                                                ("two", "code_license", 1.0)]


def test_a_records_own_earlier_edits_that_are_not_edits_are_kept(tmp_path):
    """A record's own ``meta.earlier_edits`` that is not a list of curate's edits (a note, a
    list of words) was replaced by the edits of the curate output it came from, or had them
    appended to it (the audit then read none of them). It is kept, under the first free
    ``earlier_edits_2``, ...; ``earlier_edits`` holds the edits, as ``curate audit --why`` reads
    them; a list of edits still gets the next run's appended."""
    edit = {"stage": "filter", "rule": "pii_email", "count": 1, "chars": 3, "detail": None}
    records = [{"id": "note", "text": CODE.format(1), "meta": {"earlier_edits": "my note"}, "edits": [edit]},
               {"id": "words", "text": CODE.format(2), "meta": {"earlier_edits": ["a", "b"], "earlier_edits_2": 1},
                "edits": [edit]},
               {"id": "chain", "text": CODE.format(3), "meta": {"earlier_edits": [edit]}, "edits": [edit]}]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "e.jsonl"), "domain": "web"}], "ingest")
    assert meta == {"note": {"earlier_edits": [edit], "earlier_edits_2": "my note"},
                    "words": {"earlier_edits": [edit], "earlier_edits_2": 1, "earlier_edits_3": ["a", "b"]},
                    "chain": {"earlier_edits": [edit, edit]}}


def test_a_licence_meta_fields_reaches_inside_the_meta_is_read_by_the_licence_filter(tmp_path):
    """``meta_fields = ["meta.license"]`` (with ``carry_meta = false``: the one field of the
    meta to keep) carried the licence under the key ``meta.license``, which the licence filter
    never read: the MIT file was removed as unlicensed (code_license 2) with the GPL one. A
    key whose last dotted part is a licence field is read as one."""
    records = [{"id": f"c-{k}", "text": CODE.format(i), "path": f"src/{k}.py", "meta": {"license": lic, "author": "me@example.com"}}
               for i, (k, lic) in enumerate((("mit", "MIT"), ("gpl", "GPL-3.0-only")))]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    _, meta, ledger = _run(tmp_path, [{"glob": str(tmp_path / "c.jsonl"), "domain": "code", "meta_fields": ["meta.license"],
                                       "carry_meta": False}], "ingest", "filter", extra='[filter.code]\nlicenses = ["permissive"]\n')
    assert meta == {"c-mit": {"meta.license": "MIT", "file_path": "src/mit.py"}}
    assert list(zip(ledger["source_id"], ledger["rule"], ledger["value"])) == [("c-gpl", "code_license", 1.0)]


def test_record_options_for_an_input_of_no_records_are_said_before_running(tmp_path, capsys):
    """``carry_meta``, ``meta_fields``, ``text_field`` (and the other options that name a
    record's fields) given for an input of plain text, WARC or a source tree were ignored
    without a word: ``carry_meta = false`` meant to keep an author's e-mail out did nothing
    there. They apply to JSON Lines and Parquet records only: an input none of whose files is
    one is refused, naming them; a folder holding a JSON Lines file among others still runs."""
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "book.txt").write_text("A short book about boats and rivers and the sea.\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{tmp_path / "books"}"\ndomain = "books"\ncarry_meta = false\nmeta_fields = ["stars"]\n'
                   f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest"]\n')
    capsys.readouterr()
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    err = capsys.readouterr().err
    assert "inputs[0]: carry_meta, meta_fields apply to JSON Lines and Parquet records only; its files are text " \
           "(book.txt)" in err, err
    assert not (tmp_path / "out" / "text").exists()
    capsys.readouterr()
    assert cli.main(["run", "--input", str(tmp_path / "books"), "--domain", "books", "--text-field", "body",
                     "--output", str(tmp_path / "out"), "--stages", "ingest", "--progress", "off"]) != 0
    assert "inputs[0]: text_field applies to JSON Lines and Parquet records only" in capsys.readouterr().err
    (tmp_path / "books" / "more.jsonl").write_text(json.dumps({"text": "Another book about the mill and its wheel."}) + "\n")
    out, _, _ = _run(tmp_path, [{"glob": str(tmp_path / "books"), "domain": "books", "carry_meta": False}], "ingest")
    assert pl.read_parquet(str(out / "text" / "*.parquet")).height == 2


def test_record_options_for_a_format_of_no_records_are_a_config_error(tmp_path):
    """An input whose ``format`` is not jsonl or parquet (warc, text, source...) with an option
    naming a record's fields: ``config.load`` (and so ``curate config``) says so, not only the run."""
    import pytest

    from curate import config

    cfg = tmp_path / "c.toml"
    cfg.write_text('[[inputs]]\nglob = "crawl/*.warc.gz"\ndomain = "web"\nformat = "warc"\ncarry_meta = false\n')
    with pytest.raises(config.ConfigError, match=r"inputs\[0\]: carry_meta applies to JSON Lines and Parquet records only, "
                                                 r"not format 'warc'"):
        config.load(str(cfg))
    cfg.write_text('[[inputs]]\nglob = "d/*.parquet"\ndomain = "web"\nformat = "parquet"\ncarry_meta = false\n')
    assert config.load(str(cfg)).inputs[0]["carry_meta"] is False


def test_carry_meta_false_keeps_the_edits_of_every_earlier_run(tmp_path):
    """``carry_meta = false`` over a curate output that was itself re-curated: its
    ``meta.earlier_edits`` (the runs before it) went with the rest of its meta, so only its own
    ``edits`` were carried and ``curate audit --why`` no longer said what the first run changed.
    Curate's own edits are kept, oldest first; the record's other meta (an e-mail) is not."""
    first = {"stage": "filter", "rule": "pii_email", "count": 1, "chars": 3, "detail": None}
    second = {"stage": "filter", "rule": "c4_lines", "count": 1, "chars": 23, "detail": None}
    (tmp_path / "o.jsonl").write_text(json.dumps({"id": "x", "text": "A page of text about the mill and the river.",
                                                  "meta": {"earlier_edits": [first], "author": "me@example.com"},
                                                  "edits": [second]}) + "\n")
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "o.jsonl"), "domain": "web", "carry_meta": False}], "ingest")
    assert meta == {"x": {"earlier_edits": [first, second]}}


def test_a_records_own_meta_repo_name_is_kept_beside_the_files_repository(tmp_path):
    """A code record whose own ``meta`` names a ``repo_name`` (a fork's upstream, say) other than
    its top-level ``repo_name``: curate's ``meta.repo_name`` (the file's repository, in its path
    column) replaced the record's without a word. The record's is kept under ``repo_name_2``."""
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "f", "text": CODE.format(1), "path": "src/a.py", "repo_name": "me/fork",
                                                  "meta": {"repo_name": "octo/upstream"}}) + "\n")
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "c.jsonl"), "domain": "code"}], "ingest")
    assert meta == {"f": {"repo_name": "me/fork", "repo_name_2": "octo/upstream", "file_path": "src/a.py"}}
    assert pl.read_parquet(str(out / "text" / "*.parquet"))["path"].to_list() == ["c.jsonl:me/fork/src/a.py"]


def _meta_read(value):
    """A meta JSON string by the documented rule (README, Re-curating an output): starting ``b'``
    or ``b"`` Python's bytes literal (``ast.literal_eval``), a backslash more before such text
    the text, anything else itself."""
    import ast

    if value.startswith(("b'", 'b"')):
        return ast.literal_eval(value)
    stripped = value.lstrip("\\")
    return value[1:] if stripped != value and stripped.startswith(("b'", 'b"')) else value


def test_a_text_meta_value_that_reads_as_a_bytes_literal_is_still_text(tmp_path):
    """A text value that is itself ``b'\\x8f'`` (seven characters: a Parquet string column, a
    JSON record's field) was written as it is, the meta JSON's form of the byte 0x8f: read back
    (``ast.literal_eval``, as documented) it was binary. Text starting ``b'``/``b"`` (after any
    backslashes) takes one backslash more; ground truth: the values written, read back by the
    documented rule."""
    texts = ["b'\\x8f'", 'b"x"', "\\b'\\x8f'", "b'", "MIT", "\\x8f", "\\\\b'y'"]
    pq.write_table(pa.table({"id": [f"t{i}" for i in range(len(texts))] + ["bin"],
                             "text": [f"A page of text, number {i}." for i in range(len(texts) + 1)],
                             "sha": pa.array([t.encode() for t in texts] + [b"\x8f"], pa.binary()),
                             "note": texts + ["b'\\x8f'"],
                             "meta": pa.array([[(t, "k")] for t in texts] + [[(b"\x8f", "k")]],
                                              pa.map_(pa.binary(), pa.string()))}),
                   tmp_path / "b.parquet")
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "json", "text": "A page of text, from JSON.", "note": "b'\\x8f'"}) + "\n")
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "b.parquet"), "domain": "web", "meta_fields": ["sha", "note"]},
                                 {"glob": str(tmp_path / "t.jsonl"), "domain": "web", "meta_fields": ["note"]}], "ingest")
    for i, t in enumerate(texts):
        m = meta[f"t{i}"]
        assert _meta_read(m["sha"]) == t and _meta_read(m["note"]) == t, (t, m)
        assert [_meta_read(k) for k in m if k not in ("sha", "note")] == [t], (t, m)
    assert _meta_read(meta["bin"]["sha"]) == b"\x8f" and _meta_read(meta["bin"]["note"]) == "b'\\x8f'"
    assert [_meta_read(k) for k in meta["bin"] if k not in ("sha", "note")] == [b"\x8f"]
    assert _meta_read(meta["json"]["note"]) == "b'\\x8f'"
    assert meta["t4"] == {"sha": "MIT", "note": "MIT", "MIT": "k"}  # normal text as ever


def test_a_records_own_meta_file_path_and_its_path_are_both_kept(tmp_path):
    """A code record with a top-level ``path`` and a ``meta.file_path`` of its own that differ:
    the meta's won (taken for a curate output's) and the record's path was lost without a word.
    The record's path (the field ``path_field`` names) is the file's; its own ``meta.file_path``
    is kept under ``file_path_2``. A curate output re-curated (its path column ends with its
    meta's repository and file path) keeps its file path, nothing added."""
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "f", "text": CODE.format(1), "path": "src/a.py",
                                                  "meta": {"file_path": "orig/b.py"}}) + "\n")
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "c.jsonl"), "domain": "code"}], "ingest", name="o1")
    assert meta == {"f": {"file_path": "src/a.py", "file_path_2": "orig/b.py"}}
    assert pl.read_parquet(str(out / "text" / "*.parquet"))["path"].to_list() == ["c.jsonl:src/a.py"]
    out2, meta, _ = _run(tmp_path, [{"glob": str(out / "text" / "*.parquet"), "domain": "code"}], "ingest", name="o2")
    assert list(meta.values()) == [{"file_path": "src/a.py", "file_path_2": "orig/b.py"}]
    [path] = pl.read_parquet(str(out2 / "text" / "*.parquet"))["path"]
    assert path.endswith(".parquet:src/a.py") and path.count(":") == 1, path


def test_a_meta_file_path_spelled_with_a_leading_slash_is_the_same_path(tmp_path):
    """A record's ``meta.file_path`` that differs from its ``path`` only by a leading ``/`` or
    ``./`` (``/src/a.py`` beside ``src/a.py``) is the same file: it gave a needless
    ``file_path_2``. Compared without those, the meta's own spelling kept; a path that differs
    otherwise is still kept twice."""
    rows = [{"id": "s", "path": "src/a.py", "meta": {"file_path": "/src/a.py"}},
            {"id": "d", "path": "./src/a.py", "meta": {"file_path": "src/a.py"}},
            {"id": "o", "path": "src/a.py", "meta": {"file_path": "/src/b.py"}}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r | {"text": CODE.format(i)}) + "\n" for i, r in enumerate(rows)))
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "c.jsonl"), "domain": "code"}], "ingest")
    assert meta == {"s": {"file_path": "/src/a.py"}, "d": {"file_path": "src/a.py"},
                    "o": {"file_path": "src/a.py", "file_path_2": "/src/b.py"}}, meta
    assert sorted(pl.read_parquet(str(out / "text" / "*.parquet"))["path"]) == ["c.jsonl:src/a.py"] * 3


def test_a_code_records_path_column_is_its_path_without_a_leading_slash_or_dot_slash(tmp_path, capsys):
    """The path column (ledger, quarantine, ``audit --why``) of a code record whose ``path`` is
    ``src/a.py`` and ``meta.file_path`` ``./src/a.py`` became ``c.jsonl:./src/a.py`` when the two
    were made one file (the meta's spelling): ``curate audit --why src/a.py`` found it no more,
    and a file's path column depended on which spelling the record held where. It is the path
    without its leading ``/`` or ``./`` (as a leading ``/`` was taken off), however spelled, and
    ``--why`` finds it by either spelling; ids are the dump's and offset's, unchanged."""
    from curate.audit import command

    rows = [{"id": "m", "path": "src/a.py", "meta": {"file_path": "./src/a.py"}},
            {"id": "p", "path": "./src/b.py"}, {"id": "q", "path": "//src/c.py", "meta": {"file_path": "./src/c.py"}}]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r | {"text": CODE.format(i)}) + "\n" for i, r in enumerate(rows)))
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "c.jsonl"), "domain": "code"}], "ingest")
    text = pl.read_parquet(str(out / "text" / "*.parquet")).sort("source_id")
    assert text["path"].to_list() == ["c.jsonl:src/a.py", "c.jsonl:src/b.py", "c.jsonl:src/c.py"], text["path"]
    assert meta == {"m": {"file_path": "./src/a.py"}, "p": {"file_path": "./src/b.py"}, "q": {"file_path": "./src/c.py"}}, meta
    capsys.readouterr()
    for key, sid in [("src/a.py", "m"), ("./src/a.py", "m"), ("/src/b.py", "p"), ("src/c.py", "q")]:
        assert command.main([str(out), "--why", key]) == 0, key
        got = capsys.readouterr().out
        assert got.count("\n") == 1 and text.filter(pl.col("source_id") == sid)["id"][0] in got, (key, got)


def test_a_record_giving_its_text_field_twice_loses_no_text(tmp_path):
    """A JSON line with its text field twice (``{"text": "a", "text": "b"}``) kept the last
    value (``json.loads``) and lost the first text without a word. Such a record is quarantined,
    ``duplicate_text_field`` (both texts differ; the same text twice loses nothing and is read);
    another key given twice keeps its last value, as every JSON reader does (documented).
    Ground truth: the values written (json.loads' object_pairs_hook sees both)."""
    lines = ['{"id": "two", "text": "The first text of the record.", "text": "The second text of it."}',
             '{"id": "same", "text": "The same text twice.", "text": "The same text twice."}',
             '{"id": "ok", "text": "A page that says \\"text\\": fine.", "kind": "text", "meta": {"a": 1, "a": 2}}',
             '{"id": "content", "content": "One text.", "content" : "Another text."}']
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "d.jsonl"), "domain": "web"}], "ingest")
    assert sorted(meta) == ["ok", "same"] and meta["ok"] == {"a": 2}
    q = pl.read_parquet(str(out / "quarantine" / "*.parquet"))
    assert sorted(zip(q["source_id"].to_list(), q["reason"].to_list())) == [
        ("content", "duplicate_text_field"), ("two", "duplicate_text_field")], q


def test_a_text_field_given_twice_under_an_escaped_name_or_nested_loses_no_text(tmp_path):
    """The text field given twice, once under an escaped name (``"te\\u0078t"``, the same key to
    JSON) or under a nested ``text_field`` (``a.b``: twice in its object, or its parent object
    twice), kept the last value and lost the first text without a word; a text then a null kept
    nothing and was quarantined as a null text. Each is ``duplicate_text_field``; a text and a
    null before it, or the same text twice, lose nothing and are read. Ground truth: the pairs
    json.loads' object_pairs_hook sees."""
    flat = {"esc": '{"id": "esc", "text": "First text.", "te\\u0078t": "Second text."}',
            "esc2": '{"id": "esc2", "\\u0074ext": "First text.", "text": "Second text.", "kind": "text"}',
            "content": '{"id": "content", "content": "First text.", "c\\u006Fntent": "Second text."}',
            "nulled": '{"id": "nulled", "text": "First text.", "text": null}',
            "null_first": '{"id": "null_first", "text": null, "text": "The only text."}',
            "same": '{"id": "same", "te\\u0078t": "Same.", "text": "Same."}',
            "value": '{"id": "value", "text": "Says \\u0074ext: fine.", "note": "\\u0074ext"}'}
    nested = {"n1": '{"id": "n1", "a": {"b": "First text.", "b": "Second text."}}',
              "n2": '{"id": "n2", "a": {"b": "First text."}, "a": {"b": "Second text."}}',
              "n3": '{"id": "n3", "a": {"\\u0062": "First text.", "b": "Second text."}}',
              "n4": '{"id": "n4", "a": {"b": "Same."}, "a": {"b": "Same."}}',
              "n5": '{"id": "n5", "a": {"b": "One text."}, "b": "x", "b": "y"}'}
    (tmp_path / "d.jsonl").write_text("\n".join(flat.values()) + "\n")
    (tmp_path / "n.jsonl").write_text("\n".join(nested.values()) + "\n")
    out, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "d.jsonl"), "domain": "web"},
                                   {"glob": str(tmp_path / "n.jsonl"), "domain": "web", "text_field": "a.b"}], "ingest")
    q = pl.read_parquet(str(out / "quarantine" / "*.parquet"))
    assert sorted(zip(q["source_id"].to_list(), q["reason"].to_list())) == [
        (k, "duplicate_text_field") for k in ("content", "esc", "esc2", "n1", "n2", "n3", "nulled")], q
    assert sorted(meta) == ["n4", "n5", "null_first", "same", "value"]
    for k in ("content", "esc", "esc2", "n1", "n2", "n3"):  # both texts are in the line, json.loads gives the second
        line = {**flat, **nested}[k]
        assert "First text." in str(json.loads(line, object_pairs_hook=list)) and "First text." not in str(json.loads(line))


def test_a_dotted_meta_field_into_a_json_meta_reads_as_the_meta_it_names(tmp_path):
    """A JSON record's ``meta`` / ``metadata`` object is taken as the meta JSON holds it (README),
    but ``meta_fields = ["meta.note"]`` escaped its text as a record field's (``meta_text``): the
    one value ``b'x'`` was ``note: "b'x'"`` (bytes, read back) and ``meta.note: "\\\\b'x'"`` (text)
    in one meta. A dotted name into them is that meta's value, as it is; a field of another object
    (``info.note``) is escaped as ever. Ground truth: the meta's own value beside it."""
    texts = ["b'x'", "\\\\b'x'", 'b"\\\\x8f"', "MIT", "\\\\"]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"id": f"m{i}", "text": f"A page of text, number {i}.",
                                                          "meta": {"note": t}, "info": {"note": t}}) + "\n"
                                              for i, t in enumerate(texts)))
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"id": f"d{i}", "text": f"A page of Dolma, number {i}.",
                                                          "metadata": {"note": t}}) + "\n" for i, t in enumerate(texts)))
    _, meta, _ = _run(tmp_path, [{"glob": str(tmp_path / "m.jsonl"), "domain": "web", "meta_fields": ["meta.note", "info.note"]},
                                 {"glob": str(tmp_path / "d.jsonl"), "domain": "web", "meta_fields": ["metadata.note"]}], "ingest")
    for i, t in enumerate(texts):
        assert meta[f"m{i}"]["meta.note"] == meta[f"m{i}"]["note"] == t, meta[f"m{i}"]
        assert _meta_read(meta[f"m{i}"]["info.note"]) == t
        assert meta[f"d{i}"]["metadata.note"] == meta[f"d{i}"]["note"] == t, meta[f"d{i}"]


def test_a_parquet_file_with_two_text_columns_is_said_not_a_traceback(tmp_path, capsys):
    """A Parquet file may hold two columns of one name (pyarrow writes it; its own reader refuses
    ``read_table``): two ``text`` columns made ``curate run`` end in a KeyError traceback while
    planning (``schema.field``). The text given twice, which is the text cannot be told: the
    file is refused before the run in one line naming the column, as a file with no text column."""
    pq.write_table(pa.Table.from_arrays([pa.array(["a"]), pa.array(["The first text."]), pa.array(["The second text."])],
                                        names=["id", "text", "text"]), tmp_path / "d.parquet")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{tmp_path / "d.parquet"}"\ndomain = "web"\n'
                   f'[run]\nstages = ["ingest"]\noutput = "{tmp_path / "out"}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "d.parquet has 2 columns named 'text'" in err and "Traceback" not in err, err


def test_a_meta_fields_name_that_reads_as_a_bytes_literal_is_still_text(tmp_path):
    """A JSON record's field named in ``meta_fields`` went into meta under its name as it is,
    unescaped: a field named ``b'x'`` (text) was the key ``b'x'``, which the meta JSON's rule
    reads back as the byte x (a Parquet column of that name was ``\\b'x'``, escaped). Its key is
    escaped as any text key is (``meta_text``). Ground truth: the documented read rule
    (``_meta_read``) gives each field's name back, and the Parquet column's key is the same. Read
    through config.load and `curate run`'s plan and reader."""
    names = ["b'x'", "\\b'y'", 'b"z"', "plain"]
    (tmp_path / "m.jsonl").write_text(json.dumps({"id": "j", "text": "A page of text, number one.",
                                                  **{n: f"v{i}" for i, n in enumerate(names)}}) + "\n")
    pq.write_table(pa.table({"id": ["p"], "text": ["A page of Parquet, number two."], **{n: [f"v{i}"] for i, n in enumerate(names)}}),
                   tmp_path / "m.parquet")
    meta = _planned_meta(tmp_path, names)
    for doc in ("j", "p"):
        assert {_meta_read(k): v for k, v in meta[doc].items()} == {n: f"v{i}" for i, n in enumerate(names)}, meta[doc]
    assert meta["j"] == meta["p"]


def _planned_meta(tmp_path, names) -> dict:
    """Each document's meta, by source id, as `curate run` reads tmp_path's m.jsonl and
    m.parquet with ``meta_fields`` ``names``: through config.load, its plan and reader (its Beam
    run costs 5 s)."""
    from curate import config
    from curate.readers import read_shard
    from curate.readers.common import Limits

    cfg = config.load(None, {"run": {"output": str(tmp_path / "out")},
                             "inputs": [{"glob": str(tmp_path / f"m.{ext}"), "domain": "web", "meta_fields": names}
                                        for ext in ("jsonl", "parquet") if (tmp_path / f"m.{ext}").exists()]}, for_run=True)
    meta = {}
    for shard in cli.plan(cfg):
        for kind, batch in read_shard(shard, Limits()):
            rows = batch.to_pylist() if kind == "docs" else []
            meta.update({r["source_id"]: json.loads(r["meta"]) for r in rows})
    return meta


def _meta_read_all(value):
    """``_meta_read`` of every text and key inside ``value``."""
    if isinstance(value, dict):
        return {_meta_read(k): _meta_read_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_meta_read_all(v) for v in value]
    return _meta_read(value) if isinstance(value, str) else value


def test_text_inside_a_json_meta_fields_object_that_reads_as_a_bytes_literal_is_still_text(tmp_path):
    """A JSON record's ``meta_fields`` field holding an object or list went into meta as JSON
    read it, not escaped: a key or text ``b'v'`` inside it, read back by the documented rule, was
    the byte v, where the Parquet struct's or list's was ``\\b'v'``, text (only a field's own
    text and its name were escaped). Walked as a Parquet value is, without recursion (a value
    nested 600 deep: the walk that was dropped for JSON metas passed Python's limit). Ground
    truth: the read rule gives the record's own value back; JSON Lines and Parquet agree."""
    info = {"b'k'": "b'v'", "plain": ["b'w'", 'b"x"', "\\b'y'", None], "ns": [1, 2], "n": {"b'": {"k": "b''"}}}
    deep, said = "b'd'", "\\b'd'"  # and as the read rule's writer escapes it
    for _ in range(300):  # 600 deep, a dict and a list a turn
        deep, said = {"b'e'": [deep]}, {"\\b'e'": [said]}
    (tmp_path / "m.jsonl").write_text(json.dumps({"id": "j", "text": "A page of text, number one.", "info": info}) + "\n"
                                      + json.dumps({"id": "d", "text": "A page of text, number two.", "info": deep}) + "\n")
    pq.write_table(pa.table({"id": ["p"], "text": ["A page of Parquet, number three."], "info": [info]}), tmp_path / "m.parquet")
    meta = _planned_meta(tmp_path, ["info"])
    assert _meta_read_all(meta["j"]) == {"info": info}, meta["j"]
    assert meta["j"] == meta["p"]
    assert meta["d"] == {"info": said}
