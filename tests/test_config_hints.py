"""A config value that is one of a setting's choices but for its case or blanks ("Cut" for cut)
is refused with the choice it means, through ``config.load``: it was refused without a hint
(difflib's ratio of "Cut" to "cut" is 0.67, under the 0.7 a hint needs), and a choice checked by
``Check`` (run.progress, run.shuffle_compression, ...) had no hint at all."""
from __future__ import annotations

import os

import pytest

from curate import config

CASES = [  # (--set, the message's end)
    ('decontaminate.mode="Cut"', "mode: 'Cut' is not one of remove, cut (did you mean cut?)"),
    ('decontaminate.mode={web = "Remove"}', "mode.web: 'Remove' is not one of remove, cut (did you mean remove?)"),
    ('decontaminate.mode={Books = "cut"}', "mode.Books: 'Books' is not one of web, code, books (did you mean books?)"),
    ('decontaminate.mode=" cut"', "mode: ' cut' is not one of remove, cut (did you mean cut?)"),
    ('run.progress="On"', "'On' is not one of auto, on, off (did you mean on?)"),
    ('run.shuffle_compression="ZSTD"', "'ZSTD' is not one of none, lz4, zstd (did you mean zstd?)"),
    ('decontaminate.domains=["Web"]', "'Web' is not one of web, code, books (did you mean web?)"),
    # a tokenizer's name had no hint (its choices: tiktoken's encodings, the bundled _offline ones said as their name)
    ('tokenize.tokenizer="cl100k_bse"', "nor a tokenizer.json path (did you mean cl100k_base?)"),
    ('tokenize.tokenizer="O200K_base"', "nor a tokenizer.json path (did you mean o200k_base?)"),
    # a model name no model is shipped as (a typo'd file name without its folder): a traceback at the run's langid step
    ('langid.model="lid176.ftz"', "'lid176.ftz' is neither a model shipped with curate (lid.176.ftz, "
     "quality_default.ftz) nor a file (no such file in the current directory, CWD): give the file's path (did you mean lid.176.ftz?)"),
    # ... naming the folder it looked in (msgs89: "the current directory" alone), as a path's does; with --set
    # alone no config's folder to speak of (it said "..., CWD, not from the config's folder)")
    ('langid.model="models/lid.bin"', "no model file at 'models/lid.bin' (a relative path is taken from the "
     "current directory, CWD)"),
    # one sentence: "(a relative path ...) (give "default", ...)" were two parentheses in a row
    ('quality.web.model="models/q.ftz"', "no model file at 'models/q.ftz' (a relative path is taken from "
     "the current directory, CWD): give \"default\", a path to a fastText model, or \"\""),
]


@pytest.mark.parametrize("setting, said", CASES)
def test_a_choice_in_another_case_is_refused_with_the_one_meant(setting, said):
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=[setting])
    (msg,) = err.value.messages
    assert msg.endswith(said.replace("CWD", os.getcwd())) and "\n" not in msg, msg


def test_a_missing_relative_path_names_the_configs_folder_only_for_a_config_elsewhere(tmp_path, monkeypatch):
    """'not from the config's folder' is said for a config in another folder (where the file is not
    either); with --set alone (the cases above) or a config in the current directory there is none."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    for toml in (tmp_path / "conf" / "c.toml", tmp_path / "c.toml"):
        toml.write_text('[langid]\nmodel = "models/lid.bin"\n')
        with pytest.raises(config.ConfigError) as err:
            config.load(str(toml))
        note = ", not from the config's folder" * (toml.parent != tmp_path)
        assert err.value.messages[0].endswith(f"(a relative path is taken from the current directory, {tmp_path}{note})"), err.value.messages


def test_no_hint_for_a_value_like_no_choice():
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=['decontaminate.mode="delete"'])
    assert err.value.messages == ["decontaminate: mode: 'delete' is not one of remove, cut"]


@pytest.mark.parametrize("setting, said", [
    ('rebalance.targets={web = 0.5, bookz = 0.5}', "rebalance.targets.bookz: 'bookz' is not one of web, code, books (did you mean books?)"),
    ('rebalance.languages={wbe = {en = 1.0}}', "rebalance.languages.wbe: 'wbe' is not one of web, code, books (did you mean web?)"),
    ('rebalance.sources={Code = {a = 1.0}}', "rebalance.sources.Code: 'Code' is not one of web, code, books (did you mean code?)"),
    ('rebalance.max_epochs={boks = 2}', "rebalance.max_epochs.boks: 'boks' is not one of web, code, books (did you mean books?)"),
])
def test_a_misspelt_rebalance_domain_is_said_with_the_one_meant(setting, said):
    """rebalance's domains had no hint; and rebalance.languages.wbe was said a second time as
    'wbe documents get their language from langid, which this run does not run'."""
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=['run.stages=["ingest", "rebalance"]', setting])
    (msg,) = err.value.messages  # "rebalance.targets.bookz (from --set ...): 'bookz' is not one of ..."
    assert msg.startswith(said.split(": ")[0]) and msg.endswith(said.split(": ", 1)[1]), msg


def test_a_quoted_number_or_a_string_for_a_list_says_how_to_write_it(tmp_path):
    """A config file's `shards = "2"` and `stages = "ingest,dedup"` (as on the command line) were
    'expected a number, got '2'' and 'expected a list, got 'ingest,dedup'', without the TOML meant."""
    path = tmp_path / "team.toml"
    path.write_text('[run]\nshards = "2"\nstages = "ingest, dedup"\n[dedup]\nthreshold = "0.8"\n')
    with pytest.raises(config.ConfigError) as err:
        config.load(str(path))
    assert sorted(err.value.messages) == sorted([
        "dedup.threshold: expected a number, got '0.8' (write 0.8, without quotes)",
        "run.shards: expected a number, got '2' (write 2, without quotes)",
        "run.stages: expected a list, got 'ingest, dedup' (write [\"ingest\", \"dedup\"])",
    ])


def test_a_key_given_by_its_first_word_is_said_with_the_keys_it_begins():
    """`--set filter.gopher.min_words=10` said 'filter.gopher: unknown key' with no hint (difflib
    rates gopher against gopher_quality 0.6, under the 0.7 a hint needs): the keys it is the first
    word of are offered."""
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=["filter.gopher.min_words=10", "langid.max=3"])
    said = sorted(m.split("; allowed")[0] for m in err.value.messages)
    assert said == ["filter.gopher (from --set filter.gopher.min_words=10): unknown key (did you mean gopher_quality or gopher_repetition?)",
                    "langid.max (from --set langid.max=3): unknown key (did you mean max_chars?)"], said


@pytest.mark.parametrize("section,name", [
    ('[langid]\nmodel = "models/lid.bin"', "models/lid.bin"),
    ('[tokenize]\ntokenizer = "tok/tokenizer.json"', "tok/tokenizer.json"),
    ('[[decontaminate.eval_sets]]\nglob = "evals/*.jsonl"', "evals/*.jsonl"),
    # a bare file name had no hint where a path had it (msgs90); an evaluation file, no glob, 'matched no files'
    ('[langid]\nmodel = "lid176.ftz"', "lid176.ftz"),
    ('[quality.web]\nmodel = "foo.bin"', "foo.bin"),
    ('[[decontaminate.eval_sets]]\nglob = "qa.jsonl"', "qa.jsonl"),
])
def test_a_file_a_config_names_from_its_folder_says_to_run_curate_there(tmp_path, monkeypatch, section, name):
    """`curate run ess/my.toml` from ess's parent, the config naming an evaluation set, a
    tokenizer or a model from its own folder: an input was told 'where it matches files: run
    curate from .../ess', these only 'not from the config's folder'. Now they are told too, and
    a file that is in neither folder is not."""
    ess = tmp_path / "ess"
    (ess / os.path.dirname(name)).mkdir(parents=True)
    cfg = ess / "my.toml"
    cfg.write_text(f'[run]\noutput = "out"\n[[inputs]]\nglob = "{ess}/*.jsonl"\ndomain = "web"\n{section}\n')
    if name == "qa.jsonl":  # not the input's file: the input is read from ess/in.jsonl
        cfg.write_text(cfg.read_text().replace("*.jsonl", "in.jsonl"))
    monkeypatch.chdir(tmp_path)
    for there in (False, True):
        if there:
            (ess / name.replace("*", "a")).write_text('{"text": "q"}\n')
        with pytest.raises(config.ConfigError) as e:
            config.load("ess/my.toml", sets=['run.stages=["ingest","langid","quality","decontaminate","tokenize"]'])
        said = [m for m in e.value.messages if name in m]
        assert len(said) == 1, e.value.messages
        assert "*" in name or "matches no files" not in said[0], said  # a file named is missing, not a pattern unmatched
        hint = f"not from the config's folder, where it {'matches files' if '*' in name else 'is'}: run curate from {ess}, "
        assert (hint in said[0]) == there, said


def test_a_config_folder_named_with_brackets_still_says_to_run_curate_there(tmp_path, monkeypatch, capsys):
    """`curate run 'team [1]/my.toml'`: the config's folder was joined to a relative glob and the
    whole read as a glob, its `[1]` a character class matching 'team 1': an input glob and an
    evaluation set found there lost 'run curate from .../team [1]' (a plain path was told)."""
    from curate import cli

    team = tmp_path / "team [1]"
    (team / "data").mkdir(parents=True)
    (team / "evals").mkdir()
    (team / "data" / "a.jsonl").write_text('{"text": "a page of words"}\n')
    (team / "evals" / "e.jsonl").write_text('{"text": "q"}\n')
    (team / "my.toml").write_text('[run]\noutput = "out"\nstages = ["ingest", "decontaminate"]\n[[inputs]]\nglob = "data/*.jsonl"\n'
                                  'domain = "web"\n[[decontaminate.eval_sets]]\nglob = "evals/*.jsonl"\n')
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "team [1]/my.toml", "--progress", "off"]) == 2
    said = capsys.readouterr().err.splitlines()
    hint = f"not from the config's folder, where it matches files: run curate from {team}, "
    assert [name for name in ("'data/*.jsonl'", "'evals/*.jsonl'") if any(name in s and hint in s for s in said)] == \
        ["'data/*.jsonl'", "'evals/*.jsonl'"], said


@pytest.mark.parametrize("glob, said", [
    # said as an input's glob says it (it was "no file 'gs:/b/e.jsonl' (a relative path ...)")
    ("gs:/b/e.jsonl", "'gs:/b/e.jsonl' looks like a URI missing a slash (did you mean gs://b/e.jsonl?)"),
    # pyarrow's "Cannot parse URI: '%20gs://b/e.jsonl'"
    (" gs://b/e.jsonl", "' gs://b/e.jsonl' starts with a space: remove it (gs://b/e.jsonl)"),
    # a bucket that cannot be listed (offline, no credentials) was pyarrow's OSError: a traceback from curate run
    ("s3://b/e.jsonl", "'s3://b/e.jsonl' cannot be listed: When resolving region for bucket 'b'"),
])
def test_an_evaluation_set_uri_is_told_as_an_inputs_is(glob, said, monkeypatch):
    from curate.readers import common

    def unreachable(uri):  # as pyarrow says it offline
        raise OSError("When resolving region for bucket 'b': AWS Error NETWORK_CONNECTION during HeadBucket operation")

    monkeypatch.setattr(common, "fs_path", unreachable)
    with pytest.raises(config.ConfigError) as e:
        config.load(None, sets=['run.stages=["ingest", "decontaminate"]', f'decontaminate.eval_sets=[{{glob = "{glob}"}}]'])
    (msg,) = e.value.messages
    assert msg.startswith(f"decontaminate: eval_sets[0].glob: {said}") and "\n" not in msg, msg
