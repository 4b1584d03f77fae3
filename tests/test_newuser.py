"""What a new user's first hour with the README found: each mistake of theirs is one clear line
naming what they typed, through `curate` (in-process `cli.main`) or `config.load`."""
from __future__ import annotations

import pytest

from curate import cli, config


def _said(capsys, argv) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    return err


def test_a_set_of_one_key_twice_is_refused():
    """`--set run.shards=2 --set run.shards=3`: the last one won without a word (a long command
    line, or a script adding its --set to a user's), as a second --shards did before it was refused."""
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=["run.shards=2", "run.shards=3"])
    assert err.value.messages == ["--set run.shards given twice (--set run.shards=2, then --set run.shards=3): give it once"]
    # a key inside a table another --set gives whole changes that entry, as the README's table says: not twice
    cfg = config.load(None, sets=["rebalance.targets={web = 0.7, code = 0.3}", "rebalance.max_epochs.code=4",
                                  "rebalance.max_epochs.books=2"])
    assert cfg.stages["rebalance"]["max_epochs"]["code"] == 4 and cfg.stages["rebalance"]["max_epochs"]["books"] == 2


@pytest.mark.parametrize("setting, said", [
    # "dedup: need bands*rows <= num_perm and all >= 1 (MinHashConfig(num_perm=112, bands=14, rows=0, ngram=5, ...
    # normalize=NormalizeConfig(nfkc=True, ...)))": no key named, a dataclass's repr to read
    ("dedup.rows=0", "dedup.rows: must be >= 1, got 0"),
    ("dedup.ngram=0", "dedup.ngram: must be >= 1, got 0"),
    ("dedup.num_perm=0", "dedup.num_perm: must be >= 1, got 0"),
    ("dedup.bands=20", "dedup: bands x rows = 20 x 8 = 160 is more than num_perm = 112: "
                       "lower dedup.bands or dedup.rows, or raise dedup.num_perm"),
])
def test_a_minhash_setting_out_of_range_names_its_key(setting, said):
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=[setting])
    assert err.value.messages == [said if said.startswith("dedup:") else said.replace(":", f" (from --set {setting}):", 1)]


@pytest.mark.parametrize("argv, said", [
    # "unknown option --config: neither a curate option nor a Beam pipeline option for DirectRunner", then the
    # config's errors as if none were given ("no inputs", "run.output: required"); `curate config`: "unexpected argument"
    (["run", "--config", "team.toml"], "curate: --config: a config file is given without it: curate run team.toml\n"),
    (["run", "--config=team.toml", "--output", "o"], "curate: --config: a config file is given without it: curate run team.toml\n"),
    (["config", "--config", "team.toml"], "curate: --config: a config file is given without it: curate config team.toml\n"),
    (["mix", "out", "--config", "team.toml"], "curate: --config: a config file is given without it: curate mix DIR team.toml\n"),
])
def test_config_given_as_an_option_says_how_to_give_it(capsys, argv, said):
    assert _said(capsys, argv).startswith(said)


@pytest.mark.parametrize("argv, said", [
    # the last one won without a word: `--compare` of another output than the one meant, a report in the other folder
    (["audit", "out", "--compare", "a", "--compare", "b"], "curate audit: --compare given twice (a, then b): give it once\n"),
    (["audit", "out", "--output=a", "--output", "b"], "curate audit: --output given twice (a, then b): give it once\n"),
    (["audit", "out", "--rule", "x", "--examples", "2", "--examples=3"], "curate audit: --examples given twice (2, then 3): give it once\n"),
    (["train-quality", "--positive", "p", "--negative", "n", "--output", "a.bin", "--seed", "1", "--seed", "2"],
     "curate train-quality: --seed given twice (1, then 2): give it once\n"),
])
def test_an_audit_or_train_quality_option_given_twice_is_refused(capsys, argv, said):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2 and capsys.readouterr().err.startswith(said)


def test_train_quality_mistakes_are_one_line_and_its_inputs_add_up(capsys, tmp_path, monkeypatch):
    """`train-quality` printed argparse's whole 17-line usage before its error, unlike run and audit; and a
    second --positive replaced the first's globs without a word (a model trained without them)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli.main(["train-quality", "--positive", "p.txt"])
    assert capsys.readouterr().err == ("curate train-quality: the following arguments are required: --negative, --output\n"
                                       "(see: curate train-quality --help)\n")
    assert cli.main(["train-quality", "--positive", "first.txt", "--positive", "second.txt", "--negative", "n.txt",
                     "--output", "m.bin"]) == 2
    assert capsys.readouterr().err.startswith("curate train-quality: no file 'first.txt'")  # it said 'second.txt'


def test_an_input_glob_given_as_a_list_is_one_line_saying_what_to_write(tmp_path):
    """`glob = ["a/*.jsonl", "b/*.jsonl"]` was two lines, 'inputs[0].glob: wrong type list' and
    'inputs[0].glob: required (a path or glob of input files)', though a glob was given."""
    toml = tmp_path / "c.toml"
    toml.write_text('[[inputs]]\nglob = ["a/*.jsonl", "b/*.jsonl"]\ndomain = "web"\n[[inputs]]\nglob = 5\ndomain = "web"\n')
    with pytest.raises(config.ConfigError) as err:
        config.load(str(toml))
    assert err.value.messages == [
        "inputs[0].glob: expected a string, one path or glob, got ['a/*.jsonl', 'b/*.jsonl']: give each its own [[inputs]] table",
        "inputs[1].glob: expected a string, one path or glob, got 5"]


@pytest.mark.parametrize("setting, said", [
    # a string where a list is meant had no hint here, as run.stages has ('expected a list, got 'dedup' (write ["dedup"])')
    ('langid.languages="en,de"', 'langid.languages (from --set langid.languages="en,de"): expected a list of codes, '
                                 'a {code = threshold} table or "all", got \'en,de\' (write ["en", "de"])'),
    ('langid.languages="All"', 'langid.languages (from --set langid.languages="All"): expected a list of codes, '
                               'a {code = threshold} table or "all", got \'All\' (did you mean "all"?)'),
    # Python's True, not the file's spelling
    ("run.shards=true", "run.shards (from --set run.shards=true): expected a number, got true"),
])
def test_a_value_of_another_type_is_said_as_toml_writes_it(setting, said):
    with pytest.raises(config.ConfigError) as err:
        config.load(None, sets=[setting])
    assert err.value.messages == [said]


def test_an_output_folder_holding_a_link_is_listed_without_following_it(tmp_path, capsys, monkeypatch):
    """`--output ~` (or /usr, whose bin/X11 is a link to itself) listed every file under the folder
    following its links: `--output /usr` ran 10 minutes and held 7.4 GB before it was killed, `--output /`
    walked /proc/self/root/proc/self/root/... A link is one entry of the folder, as `ls` shows it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_text('{"text": "one line of text"}\n')
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine\n")
    (tmp_path / "home" / "loop").symlink_to(".")
    assert cli.main(["run", "--input", "a.jsonl", "--domain", "web", "--output", "home", "--progress", "off"]) == 2
    assert capsys.readouterr().err == ("curate: output 'home' is not empty and is not a curate output (no manifest.json; "
                                       "it holds loop, notes.txt); choose another --output\n")
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["loop", "notes.txt"]


@pytest.mark.parametrize("argv, said", [
    # "unexpected argument '--sett'": no hint, where curate run's misspelt option has one
    (["mix", "out", "--sett", "rebalance.budget=1"], "curate: unexpected argument '--sett' (did you mean --set?)\n"),
    (["config", "--langauge", "th"], "curate: unexpected argument '--langauge' (did you mean --language?)\n"),
])
def test_a_misspelt_option_of_config_or_mix_says_the_one_meant(capsys, argv, said):
    assert _said(capsys, argv).startswith(said)


def test_a_choice_of_an_option_in_another_case_says_the_one_meant(capsys):
    """`--progress=ON` had no hint, where `run.progress = "On"` in a config has one."""
    assert _said(capsys, ["run", "--progress=ON"]).startswith(
        "curate: --progress: invalid choice: 'ON' (did you mean on?) (choose from 'auto', 'on', 'off')\n")


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Windows Notepad saves UTF-8 with a byte-order mark: the config was refused as
    'not valid TOML: Invalid statement (at line 1, column 1)', a line that points at nothing visible."""
    toml = tmp_path / "c.toml"
    toml.write_bytes(b'\xef\xbb\xbf[run]\r\noutput = "out"\r\nshards = 2\r\n')
    assert config.load(str(toml)).run["shards"] == 2
