"""The quality stage: config, scoring, keep rules (threshold, corpus-wide top fraction with
deterministic ties), the Beam pipeline, the training command and the default model's eval."""
from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from curate import cli, config, schema
from curate.config import ConfigError
from curate.stages.quality import NBINS, QualityStage, cutoff, histogram, prepare, score_bins, tie_uniform
from curate.stages import quality_train

# --- synthetic fixtures (our own text) ------------------------------------------------------

TOPICS = ["river", "harbour", "bridge", "orchard", "library", "engine", "village", "mountain", "garden", "lighthouse"]
VERBS = ["describes", "explains", "recalls", "examines", "compares", "records"]


def good_text(rng: random.Random, n: int = 8) -> str:
    out = []
    for _ in range(n):
        a, b = rng.sample(TOPICS, 2)
        out.append(
            f"The history of the {a} {rng.choice(VERBS)} how the people near the {b} lived, "
            f"and the author {rng.choice(VERBS)} their work with patience and careful detail."
        )
    return "\n".join(out)


def bad_text(rng: random.Random, n: int = 8) -> str:
    menu = ["Home", "Login", "Cart (0)", "Subscribe", "Click here", "Buy now!!!", "Free shipping", "Privacy policy", "Cookies"]
    return "\n".join(" | ".join(rng.sample(menu, 4)) + f" {rng.randint(1, 99)}% OFF" for _ in range(n))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    """A fastText model with DCLM's labels (__label__hq vs __label__cc), trained in a second."""
    import fasttext

    d = tmp_path_factory.mktemp("tiny")
    rng = random.Random(0)
    rows = [f"__label__hq {good_text(rng).replace(chr(10), ' ')}" for _ in range(150)]
    rows += [f"__label__cc {bad_text(rng).replace(chr(10), ' ')}" for _ in range(150)]
    rng.shuffle(rows)
    (d / "train.txt").write_text("\n".join(rows) + "\n")
    # Train in a fresh process: fasttext-numpy2 0.10.4's third train_supervised call in one process
    # diverges ("Encountered NaN": the same set, seed 0, thread 1, softmax or hs, a quantized model
    # loaded before or not; 6 of 6 fresh processes' first call gave the same model).
    code = (
        "import fasttext, sys\n"
        "m = fasttext.train_supervised(sys.argv[1], epoch=10, wordNgrams=2, dim=16, bucket=10000, seed=0, thread=1, verbose=0)\n"
        "m.save_model(sys.argv[2])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(d / "train.txt"), str(d / "tiny.bin")], check=True)
    return str(d / "tiny.bin")


def docs(texts, domains=None) -> pa.RecordBatch:
    domains = domains or ["web"] * len(texts)
    return schema.docs_from_rows(
        [
            {"id": schema.make_id("t", str(i)), "text": t, "domain": d, "source": "t", "path": "p", "offset": i}
            for i, (t, d) in enumerate(zip(texts, domains))
        ]
    )


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, message",
    [
        ({"web": {"keep": {"top_fraction": 1.5}}}, "quality.web.keep.top_fraction: expected a number in (0, 1]"),
        ({"web": {"keep": {"threshold": 0.5, "top_fraction": 0.3}}}, "quality.web.keep: expected {threshold = P}"),
        ({"web": {"keep": {"best": 0.3}}}, "quality.web.keep: expected"),
        ({"web": {"model": "/no/such/model.bin"}}, "quality.web.model: no model file"),
        ({"books": {"keep": {"threshold": 0.5}}}, "quality.books.keep: domain books has no model"),
        ({"web": {"prefix_chars": 0}}, "quality.web.prefix_chars: expected an integer >= 1"),
        ({"web": {"labels": 1}}, "quality.web.labels: unknown key"),
        ({"news": {}}, "quality.news: unknown key"),
    ],
)
def test_config_errors_name_the_field(section, message):
    with pytest.raises(ValueError) as e:
        QualityStage(section)
    assert message in str(e.value)


def test_config_error_from_toml(tmp_path):
    (tmp_path / "c.toml").write_text('[run]\nstages = ["quality"]\n[quality.web]\nkeep = {top_fraction = "a third"}\n')
    with pytest.raises(ConfigError, match=r"quality\.web\.keep\.top_fraction: expected a number"):
        config.load(str(tmp_path / "c.toml"))


# --- scoring and keep rules -------------------------------------------------------------------


def test_prepare_folds_newlines_and_cuts_at_a_word():
    out = prepare(["one\ntwo\r\nthree", "alpha beta gamma"], 12)
    assert out == ["one two", "alpha beta"]  # "one two  thr" cut back to a word; no newline left
    assert prepare(["short"], 100) == ["short"]


def test_scores_positive_label_and_leaves_other_domains_null(tiny_model):
    rng = random.Random(1)
    b = docs([good_text(rng), bad_text(rng), good_text(rng), "def f(): pass"], ["web", "web", "books", "code"])
    q = QualityStage({"web": {"model": tiny_model}})
    kept, ledger = q.process(b)
    s = kept.column("quality_score").to_pylist()
    assert kept.num_rows == 4 and ledger.num_rows == 0  # score only by default
    assert s[0] > 0.9 and s[1] < 0.1 and s[2] is None and s[3] is None
    # the negative label of the same model gives the complement
    s_cc = QualityStage({"web": {"model": tiny_model, "positive_label": "__label__cc"}}).score(b).column("quality_score").to_pylist()
    assert s_cc[0] == pytest.approx(1 - s[0], abs=1e-4)


def test_unknown_positive_label_is_an_error(tiny_model):
    with pytest.raises(ValueError, match="__label__good.*not a label"):
        QualityStage({"web": {"model": tiny_model, "positive_label": "__label__good"}}).setup()


def test_threshold_rule_goes_to_ledger(tiny_model):
    rng = random.Random(2)
    b = docs([good_text(rng) if i % 3 else bad_text(rng) for i in range(30)])
    kept, ledger = QualityStage({"web": {"model": tiny_model, "keep": {"threshold": 0.5}}}).process(b)
    assert kept.num_rows == 20 and ledger.num_rows == 10
    lt = ledger.to_pydict()
    assert set(lt["stage"]) == {"quality"} and set(lt["rule"]) == {"quality_below_threshold"}
    assert all(v < 0.5 for v in lt["value"]) and set(lt["threshold"]) == {0.5}
    assert min(kept.column("quality_score").to_pylist()) >= 0.5


def test_top_fraction_ties_are_broken_by_id_hash_whatever_the_batching():
    # 1,000 docs, all with the same score: the hash of the id decides, identically per batch split
    ids = [schema.make_id("t", str(i)) for i in range(1000)]
    scores = np.full(1000, 0.7, dtype=np.float32)
    hist = np.zeros(NBINS, dtype=np.int64)
    np.add.at(hist, score_bins(scores), 1)
    cut = cutoff(hist, 0.3)
    u = tie_uniform(ids)
    kept = {i for i, x in zip(ids, u) if x < cut["take"]}
    assert 0.27 <= len(kept) / 1000 <= 0.33
    # the same decision made batch by batch
    q = QualityStage({"web": {"model": "default", "keep": {"top_fraction": 0.3}}})
    again = set()
    for lo in range(0, 1000, 137):
        b = docs(["x"] * len(ids[lo : lo + 137]))
        b = b.set_column(0, b.schema.field(0), pa.array(ids[lo : lo + 137]))
        b = schema.with_column(b, "quality_score", scores[lo : lo + 137])
        k, ledger = q.keep(b, {"web": cut})
        again |= set(k.column("id").to_pylist())
        assert set(ledger.column("rule").to_pylist()) <= {"quality_below_top_fraction"}
    assert again == kept


def test_cutoff_keeps_the_best_scores():
    rng = np.random.default_rng(0)
    scores = rng.beta(2, 2, 5000).astype(np.float32)
    hist = np.zeros(NBINS, dtype=np.int64)
    bins, counts = np.unique(score_bins(scores), return_counts=True)
    hist[bins] = counts
    cut = cutoff(hist, 0.1)
    assert cut["kept"] == 500 and cut["total"] == 5000
    assert cut["score"] == pytest.approx(np.quantile(scores, 0.9), abs=2e-3)
    assert cutoff(hist, 1.0)["score"] <= scores.min() + 1e-3


def test_histogram_is_per_top_fraction_domain(tiny_model):
    rng = random.Random(3)
    b = QualityStage({"web": {"model": tiny_model}, "books": {"model": tiny_model}}).score(
        docs([good_text(rng), bad_text(rng), good_text(rng)], ["web", "web", "books"])
    )
    h = histogram(b, ["web"])
    assert list(h) == ["web"] and int(h["web"][1].sum()) == 2


# --- the Beam pipeline --------------------------------------------------------------------------


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


def write_jsonl(path: Path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": f"doc-{i}", "text": t}) + "\n")


def test_pipeline_scores_and_keeps_with_a_dclm_style_model(tmp_path, tiny_model):
    rng = random.Random(4)
    web = [good_text(rng) if i % 4 else bad_text(rng) for i in range(200)]
    write_jsonl(tmp_path / "web.jsonl", web)
    write_jsonl(tmp_path / "books.jsonl", [good_text(rng) for _ in range(10)])
    out = tmp_path / "out"
    (tmp_path / "c.toml").write_text(
        f'[run]\noutput = "{out}"\nstages = ["ingest", "quality"]\n'
        f'[[inputs]]\nglob = "{tmp_path}/web.jsonl"\ndomain = "web"\n'
        f'[[inputs]]\nglob = "{tmp_path}/books.jsonl"\ndomain = "books"\n'
        f'[quality.web]\nmodel = "{tiny_model}"\npositive_label = "__label__hq"\nkeep = {{top_fraction = 0.5}}\n'
    )
    assert run_cli("run", tmp_path / "c.toml") == 0
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    ledger = pl.read_parquet(str(out / "ledger" / "*.parquet"))
    web_kept = text.filter(pl.col("domain") == "web")
    assert web_kept.height == 100 and ledger.height == 100  # exactly half of 200 web docs
    assert text.filter(pl.col("domain") == "books")["quality_score"].null_count() == 10
    assert set(ledger["rule"]) == {"quality_below_top_fraction"}
    assert ledger["value"].max() <= web_kept["quality_score"].min() + 1e-3
    assert not any("Home" in t for t in web_kept["text"])  # every menu page dropped
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["quality"]["removed"] == {"quality_below_top_fraction": 100}
    assert m["stats"]["quality.web.scored"] == 200


# --- training -----------------------------------------------------------------------------------


def test_train_quality_command(tmp_path, capsys):
    rng = random.Random(5)
    pos, neg = tmp_path / "pos", tmp_path / "neg"
    pos.mkdir()
    neg.mkdir()
    for i in range(30):  # plain text files, several chunks each
        (pos / f"book{i}.txt").write_text("\n\n".join(good_text(rng, 6) for _ in range(3)))
    write_jsonl(neg / "pages.jsonl", [bad_text(rng, 10) for _ in range(60)])
    with open(neg / "mail.csv", "w") as f:  # label,text; only the spam rows (-1) are negatives
        for i in range(40):
            f.write(f'-1,"{bad_text(rng, 3)}"\n1,"{good_text(rng, 2)}"\n')
    (neg / "page.html").write_text(
        "<html><body><nav><a>Home</a> <a>Login</a> <a>Cart</a></nav><article><p>"
        + good_text(rng, 4).replace("\n", "</p><p>")
        + "</p></article><footer>Privacy policy | Cookies | Subscribe</footer></body></html>"
    )
    labelled = [{"text": good_text(rng, 2), "label": 1} for _ in range(40)] + [{"text": bad_text(rng, 4), "label": 0} for _ in range(40)]
    with open(tmp_path / "eval.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in labelled)
    out = tmp_path / "m.ftz"
    rc = cli.main(
        ["train-quality", "--positive", f"{pos}/*.txt", "--negative", f"{neg}/*.jsonl", f"{neg}/mail.csv::0=-1",
         f"{neg}/*.html", "--output", str(out), "--quantize", "--cutoff", "2000", "--chunk-chars", "600", "--seed", "1",
         "--held-out", "0.2", "--epoch", "5", "--eval", str(tmp_path / "eval.jsonl")]
    )
    assert rc == 0 and out.stat().st_size > 0
    printed = capsys.readouterr().out
    m = re.search(r"held-out \(by document\): precision ([\d.]+)\s+recall ([\d.]+)\s+AUC ([\d.]+)", printed)
    assert m and float(m.group(3)) > 0.9
    # the eval file is also scored on its two fixed halves: settings are chosen on one, quoted on the other
    halves = [quality_train.eval_half(r["text"]) for r in labelled]
    m = re.search(r"80 docs .*select half (\d+) docs AUC [\d.]+ .*test half (\d+) docs AUC [\d.]+", printed)
    assert m and (int(m.group(1)), int(m.group(2))) == (halves.count("select"), halves.count("test"))
    assert 20 <= halves.count("select") <= 60
    import fasttext

    assert sorted(fasttext.load_model(str(out)).get_labels()) == ["__label__cc", "__label__hq"]


def test_held_out_split_is_by_document(tmp_path):
    rng = random.Random(6)
    for i in range(40):
        (tmp_path / f"d{i}.txt").write_text("\n".join(f"doc {i} line {j} " + good_text(rng, 1) for j in range(20)))
    args = quality_train._parser().parse_args(
        ["--positive", f"{tmp_path}/*.txt", "--negative", "x", "--output", "o", "--chunk-chars", "600", "--held-out", "0.3"]
    )
    train, held, counts = quality_train.examples(args.positive, False, args)
    doc_of = lambda chunk: re.match(r"doc (\d+) ", chunk).group(1)  # noqa: E731
    assert held and train and counts[0]["docs"] == 40
    assert not {doc_of(c) for c in train} & {doc_of(c) for c in held}  # no document on both sides


def test_chunks_cut_at_lines():
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(30))
    chunks = quality_train.chunk(text, 500, 100)
    assert all(len(c) <= 500 for c in chunks) and "".join(chunks).count("line") == 30


# --- real corpora -------------------------------------------------------------------------------


# The numbers models/quality_default.md and the README quote: AUC on the test half of the DCLM
# majority set (not used by bench/select_quality.py, which chose the cutoff and seed on the other
# half; the inputs were settled earlier on the whole set), and on the agreement-set documents in
# that half; the length baseline beside each.
QUOTED_TEST_HALF = {"majority_data.jsonl": (0.8370, 0.7886), "agreement_data.jsonl": (0.9316, 0.8614)}


@pytest.mark.corpora
def test_default_model_beats_length_on_dclm_human_labels(corpora):
    """Never trained on these files; the card reports the same numbers."""
    q = QualityStage({"web": {"model": "default"}}).setup()
    for name in ("majority_data.jsonl", "agreement_data.jsonl"):
        texts, labels = quality_train.load_labelled(str(corpora / "quality" / "dclm_human_annotations" / name))
        scores = q.score(docs(texts)).column("quality_score").to_numpy()
        model_auc = quality_train.auc(scores, labels)
        length_auc = quality_train.auc([len(t) for t in texts], labels)
        assert model_auc > length_auc + 0.04, (name, model_auc, length_auc)
        if name == "majority_data.jsonl":
            assert length_auc == pytest.approx(0.7635, abs=1e-3)
        test = np.array([quality_train.eval_half(t) == "test" for t in texts])
        quoted = (quality_train.auc(scores[test], labels[test]), quality_train.auc(np.array([len(t) for t in texts])[test], labels[test]))
        assert quoted == pytest.approx(QUOTED_TEST_HALF[name], abs=1e-3), name


@pytest.mark.corpora
@pytest.mark.slow
def test_top_fraction_is_exact_and_worker_independent(corpora, tmp_path):
    """Top 30% of >= 10k web docs: 30% +- 1%, identical with 1 and 2 worker processes."""
    texts = []
    for f in sorted((corpora / "misc_public_domain").glob("*/*.txt")) + sorted((corpora / "books" / "gutenberg_misc").glob("*.txt")):
        lines = [x.strip() for x in f.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
        texts += ["\n".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]
    texts = texts[:12000]
    assert len(texts) >= 10000
    write_jsonl(tmp_path / "web.jsonl", texts)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[quality.web]\nmodel = "default"\nkeep = {top_fraction = 0.3}\n')
    outs = []
    for extra in ([], ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]):
        out = tmp_path / f"out{len(outs)}"
        assert run_cli("run", cfg, "--input", tmp_path / "web.jsonl", "--domain", "web", "--output", out,
                       "--stages", "ingest,quality", "--progress", "off", *extra) == 0
        outs.append(out)
    kept = pl.read_parquet(str(outs[0] / "text" / "*.parquet")).height
    scored = json.loads((outs[0] / "manifest.json").read_text())["stats"]["quality.web.scored"]
    assert scored == len(texts) and abs(kept / scored - 0.3) <= 0.01
    for kind in ("text", "ledger"):
        for f in sorted((outs[0] / kind).iterdir()):
            assert f.read_bytes() == (outs[1] / kind / f.name).read_bytes(), f"{kind}/{f.name} differs"


def test_train_quality_input_with_brackets_in_its_path(tmp_path):
    """`curate train-quality --positive 'books [pd]/x.txt'` said "matches no files": the name
    was globbed, as `curate run --input` did before."""
    d = tmp_path / "books [pd]"
    d.mkdir()
    (d / "x (1).txt").write_text("A line of a book that is long enough to count as text here.\n" * 3)
    for spec in (str(d / "x (1).txt"), str(d)):
        docs = list(quality_train.read_input(spec, negative=False))
        assert [k.rsplit("@", 1)[0] for k, _ in docs] == ["x (1).txt"], spec


def test_small_groups_keep_their_share_on_average():
    # Per-language ranking makes many tiny groups (one UDHR text per language). Rounding each
    # group's count (round(0.5 * 1) == 0) removed every one-document language at top_fraction
    # 0.5; the hash of the id now takes the fraction itself in the cutoff bin, so over many
    # such groups the kept share is the fraction asked for.
    one = np.zeros(NBINS, dtype=np.int64)
    one[score_bins(np.array([0.4], dtype=np.float32))] = 1
    for fraction in (0.3, 0.5, 0.7):
        cut = cutoff(one, fraction)
        assert cut["take"] == pytest.approx(fraction)
        ids = [schema.make_id("lang", str(i)) for i in range(2000)]  # 2,000 one-document groups
        kept = sum(u < cut["take"] for u in tie_uniform(ids))
        assert abs(kept / 2000 - fraction) < 0.04
    assert cutoff(one, 0.0)["take"] == 0.0 and cutoff(one, 1.0)["take"] == 1.0


def test_select_quality_knows_the_shipped_recipe():
    """bench/select_quality.py's verdict compares the selected recipe with the shipped one: its
    SHIPPED must be the recipe the README and the model card train with (it said cutoff 25,000
    after the model was retrained at 10,000, so the verdict asked to retrain what was shipped)."""
    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("select_quality", repo / "bench" / "select_quality.py")
    sq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sq)
    name, cutoff_, seed = sq.SHIPPED
    pos, neg = sq.INPUTS[name]
    for doc in (repo / "README.md", repo / "models" / "quality_default.md"):
        cmd = re.search(r"curate train-quality(.*?)--output models/quality_default\.ftz", doc.read_text(), re.S).group(1)
        assert re.search(r"--cutoff (\d+) --seed (\d+)", cmd).groups() == (str(cutoff_), str(seed)), doc.name
        globs = re.findall(r'"\$C/([^"]+)"', cmd)
        assert globs == [str(p).split(f"{sq.C}/", 1)[1] for p in pos + neg], doc.name


@pytest.mark.corpora
def test_a_book_is_scored_on_its_body_not_its_front_matter(corpora, tmp_path, capsys):
    """A book's first 10,000 characters are often a title page and contents: Beethoven's Letters
    (PG 13272) scored 0.007 on them with the shipped model, 0.96 as the mean over the whole book
    (bench/quality_books.py). Scored as langid reads a book (runs spread across it), 0.99. A web
    page with the same text keeps the prefix."""
    book = corpora / "books" / "gutenberg_misc" / "pg13272.txt"
    scores = {}
    for domain in ("books", "web"):
        out = tmp_path / domain
        assert cli.main(["run", "--input", str(book), "--domain", domain, "--stages", "ingest,quality", "--progress", "off",
                         "--set", f"quality.{domain}.model=\"default\"", "--output", str(out)]) == 0, capsys.readouterr().err
        scores[domain], = pl.read_parquet(out / "text" / "*.parquet")["quality_score"].to_list()
    assert scores["books"] > 0.9 and scores["web"] < 0.1, scores
