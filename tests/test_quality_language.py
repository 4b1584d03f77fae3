"""The quality stage on several languages: top_fraction ranks within each language
(``per_language``, the default), the ledger's threshold is that language's cutoff, the cutoffs
do not depend on the worker count, and a keep rule that applies the English-only default
model to other languages is warned about. All text here is our own."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from curate import cli, config
from curate.stages.quality import QualityStage

EN_TOPICS = ["river", "harbour", "bridge", "orchard", "library", "engine", "village", "mountain"]
DE_TOPICS = ["Fluss", "Hafen", "Brücke", "Garten", "Bibliothek", "Dorf", "Berg", "Leuchtturm"]


def english(rng: random.Random, good: bool) -> str:
    if not good:  # a shop's menu
        menu = ["Home", "Login", "Cart", "Subscribe", "Click here", "Buy now", "Free shipping", "Privacy policy"]
        return "\n".join(" | ".join(rng.sample(menu, 4)) + f" {rng.randint(1, 99)}% off today only" for _ in range(6))
    return "\n".join(
        f"The history of the {a} explains how the people near the {b} lived, and the author "
        f"describes their work with patience and careful detail over many years."
        for a, b in (rng.sample(EN_TOPICS, 2) for _ in range(6))
    )


def german(rng: random.Random) -> str:
    return "\n".join(
        f"Die Geschichte vom {a} erzählt, wie die Menschen in der Nähe vom {b} gelebt haben, und die "
        f"Autorin beschreibt ihre Arbeit mit viel Geduld und großer Sorgfalt über viele Jahre."
        for a, b in (rng.sample(DE_TOPICS, 2) for _ in range(6))
    )


@pytest.fixture(scope="module")
def english_only_model(tmp_path_factory) -> str:
    """A tiny classifier with the shipped model's bias: good English is __label__hq, English
    menus and German prose both __label__cc (it learned that foreign text is crawl)."""
    d = tmp_path_factory.mktemp("enmodel")
    rng = random.Random(0)
    rows = [f"__label__hq {english(rng, True)}" for _ in range(120)]
    rows += [f"__label__cc {english(rng, False)}" for _ in range(60)] + [f"__label__cc {german(rng)}" for _ in range(60)]
    rng.shuffle(rows)
    (d / "train.txt").write_text("\n".join(r.replace("\n", " ") for r in rows) + "\n", encoding="utf-8")
    code = (  # trained in a fresh process, as in test_quality.py (fastText after a quantized model diverges)
        "import fasttext, sys\n"
        "m = fasttext.train_supervised(sys.argv[1], epoch=10, wordNgrams=2, dim=16, bucket=10000, seed=0, thread=1, verbose=0)\n"
        "m.save_model(sys.argv[2])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(d / "train.txt"), str(d / "m.bin")], check=True)
    return str(d / "m.bin")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """50 good and 10 menu-like English pages, 40 German pages, in one JSONL file."""
    d = tmp_path_factory.mktemp("mixed")
    rng = random.Random(1)
    texts = [english(rng, True) for _ in range(50)] + [english(rng, False) for _ in range(10)] + [german(rng) for _ in range(40)]
    with open(d / "web.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": f"doc-{i}", "text": t}, ensure_ascii=False) + "\n")
    return d / "web.jsonl"


def run(tmp_path: Path, corpus: Path, model: str, keep: str, *extra, name="out", per_language=None):
    out = tmp_path / name
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(
        f'[langid]\nlanguages = "all"\n[quality.web]\nmodel = "{model}"\nkeep = {keep}\n'
        + (f"per_language = {str(per_language).lower()}\n" if per_language is not None else "")
    )
    assert cli.main(["run", str(cfg), "--input", str(corpus), "--domain", "web", "--output", str(out),
                     "--stages", "ingest,langid,quality", "--progress", "off", *extra]) == 0
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    ledger = pl.read_parquet(str(out / "ledger" / "*.parquet"))
    return out, text, ledger


def kept_per_language(text) -> dict:
    return dict(text.group_by("language").len().iter_rows())


def about(kept: dict, expected: dict) -> bool:
    """Counts near the expected ones: pages tied in the cutoff bin (the German ones, all
    scored alike) are picked by a hash of the id, so a language's count is a share of the
    tie, not exact."""
    return kept.keys() == expected.keys() and all(abs(kept[k] - n) <= 3 for k, n in expected.items())


def test_top_fraction_is_taken_within_each_language(tmp_path, corpus, english_only_model):
    out, text, ledger = run(tmp_path, corpus, english_only_model, "{top_fraction = 0.5}")
    # one ranking over both languages kept 50 English pages and no German one
    assert about(kept_per_language(text), {"en": 30, "de": 20})
    assert not any("Login" in t for t in text["text"])  # the ranking inside English still works
    stats = json.loads((out / "manifest.json").read_text())["stats"]
    assert stats["quality.web.scored"] == 100 and stats["quality.web.en.scored"] == 60 and stats["quality.web.de.scored"] == 40
    for lang in ("en", "de"):
        removed = ledger.filter(pl.col("language") == lang)
        kept = text.filter(pl.col("language") == lang)
        assert set(removed["rule"]) == {"quality_below_top_fraction"}
        # the ledger's threshold is that language's own cutoff, not the domain's
        assert removed["threshold"].n_unique() == 1
        assert removed["threshold"][0] == pytest.approx(stats[f"quality.web.{lang}.cutoff_score"])
        assert removed["value"].max() <= kept["quality_score"].min() + 1e-3
    de_cut, en_cut = stats["quality.web.de.cutoff_score"], stats["quality.web.en.cutoff_score"]
    assert de_cut < 0.5 < en_cut  # so one cutoff for both would have removed every German page


def test_per_language_false_ranks_the_domain_as_one(tmp_path, corpus, english_only_model):
    _, text, ledger = run(tmp_path, corpus, english_only_model, "{top_fraction = 0.5}", per_language=False)
    assert kept_per_language(text) == {"en": 50}  # what the stage did before per_language
    assert ledger.height == 50 and ledger["threshold"].n_unique() == 1


def test_per_language_cutoffs_do_not_depend_on_the_worker_count(tmp_path, corpus, english_only_model):
    runs = [run(tmp_path, corpus, english_only_model, "{top_fraction = 0.3}", "--workers", str(w), name=f"w{w}", per_language=True)
            for w in (1, 2)]
    assert about(kept_per_language(runs[0][1]), {"en": 18, "de": 12})
    outs = [r[0] for r in runs]
    for kind in ("text", "ledger"):
        files = sorted(p.name for p in (outs[0] / kind).iterdir())
        assert files == sorted(p.name for p in (outs[1] / kind).iterdir())
        for f in files:
            assert (outs[0] / kind / f).read_bytes() == (outs[1] / kind / f).read_bytes(), f"{kind}/{f} differs"


def test_per_language_must_be_a_boolean(tmp_path):
    (tmp_path / "c.toml").write_text('[quality.web]\nkeep = {top_fraction = 0.5}\nper_language = "yes"\n')
    with pytest.raises(config.ConfigError, match=r"quality\.web\.per_language: expected true or false"):
        config.load(str(tmp_path / "c.toml"))


@pytest.mark.parametrize(
    "langid, quality, expect",
    [
        ('languages = "all"', "keep = {threshold = 0.5}", "one threshold for all languages"),
        ('languages = ["en", "de"]', "keep = {threshold = 0.5}", "decides de by it:"),
        ('languages = "all"', "keep = {threshold = {en = 0.5, de = 0.1}}", "= {en = 0.5, de = 0.1}} decides de by it"),
        ('languages = "all"', "keep = {threshold = {en = 0.5}}", None),  # English only is decided by it
        ('languages = "all"', "keep = {top_fraction = 0.5}", "ranked within itself"),
        ('languages = "all"', "keep = {top_fraction = 0.5}\nper_language = false", "the others fall to the bottom"),
        ('languages = ["en"]', "keep = {threshold = 0.5}", None),  # the model's own language
        ('languages = "all"', "keep = {}", None),  # score only: nothing removed by it
    ],
)
def test_warning_when_the_english_model_decides_other_languages(tmp_path, langid, quality, expect):
    from curate.stages.quality import language_warnings

    (tmp_path / "c.toml").write_text(f"[langid]\n{langid}\n[quality.web]\n{quality}\n")
    lines = language_warnings(config.load(str(tmp_path / "c.toml")))
    if expect is None:
        assert lines == []
    else:
        assert len(lines) == 1 and lines[0].startswith("quality.web: the default model was trained on English") and expect in lines[0]


def test_no_warning_without_langid(tmp_path):
    """Without langid the languages are not known: no warning that might be wrong."""
    from curate.stages.quality import language_warnings

    (tmp_path / "c.toml").write_text('[run]\nstages = ["ingest", "quality"]\n[quality.web]\nkeep = {threshold = 0.5}\n')
    assert language_warnings(config.load(str(tmp_path / "c.toml"))) == []


@pytest.mark.parametrize(
    "keep, message",
    [
        ("{threshold = {}}", r"quality\.web\.keep\.threshold: expected a number or a table of languages"),
        ("{threshold = {de = 2}}", r"quality\.web\.keep\.threshold\.de: expected a number in \[0, 1\], got 2"),
        ('{top_fraction = {en = "half"}}', r"quality\.web\.keep\.top_fraction\.en: expected a number, got 'half'"),
    ],
)
def test_keep_table_errors_name_the_language(tmp_path, keep, message):
    (tmp_path / "c.toml").write_text(f"[quality.web]\nkeep = {keep}\n")
    with pytest.raises(config.ConfigError, match=message):
        config.load(str(tmp_path / "c.toml"))


def test_threshold_per_language_decides_only_the_listed_languages(tmp_path, corpus, english_only_model):
    """keep = {threshold = {en = 0.5}}: the English model filters English; German is kept whole."""
    _, text, ledger = run(tmp_path, corpus, english_only_model, "{threshold = {en = 0.5}}")
    assert kept_per_language(text) == {"en": 50, "de": 40}  # the 10 menus go, no German page does
    assert set(ledger["language"]) == {"en"} and set(ledger["threshold"]) == {0.5}
    assert set(ledger["rule"]) == {"quality_below_threshold"} and ledger["value"].max() < 0.5


def test_top_fraction_per_language_table(tmp_path, corpus, english_only_model):
    out, text, ledger = run(tmp_path, corpus, english_only_model, "{top_fraction = {en = 0.5, de = 0.25}}", per_language=False)
    assert about(kept_per_language(text), {"en": 30, "de": 10})  # a table ranks per language whatever per_language says
    stats = json.loads((out / "manifest.json").read_text())["stats"]
    for lang in ("en", "de"):
        removed = ledger.filter(pl.col("language") == lang)
        assert removed["threshold"].n_unique() == 1
        assert removed["threshold"][0] == pytest.approx(stats[f"quality.web.{lang}.cutoff_score"])


def test_cli_prints_the_warning_once(tmp_path, corpus, capsys):
    (tmp_path / "c.toml").write_text('[langid]\nlanguages = "all"\n[quality.web]\nkeep = {threshold = 0.5}\n')
    assert cli.main(["run", str(tmp_path / "c.toml"), "--input", str(corpus), "--domain", "web", "--output",
                     str(tmp_path / "out"), "--stages", "ingest,langid,quality", "--progress", "off"]) == 0
    err = capsys.readouterr().err
    assert err.count("curate: warning: quality.web: the default model was trained on English text only") == 1


def test_a_batch_alone_takes_the_top_fraction_of_each_language(english_only_model):
    import pyarrow as pa

    from curate import schema

    rng = random.Random(2)
    texts = [english(rng, True) for _ in range(10)] + [german(rng) for _ in range(10)]
    b = schema.docs_from_rows([{"id": schema.make_id("t", str(i)), "text": t, "domain": "web", "source": "t",
                                "path": "p", "offset": i, "language": "en" if i < 10 else "de"} for i, t in enumerate(texts)])
    kept, _ = QualityStage({"web": {"model": english_only_model, "keep": {"top_fraction": 0.5}}}).process(b)
    assert sorted(kept.column("language").to_pylist()) == ["de"] * 5 + ["en"] * 5
    assert isinstance(kept, pa.RecordBatch)


def test_audit_shows_quality_per_language(tmp_path, corpus, english_only_model):
    out, text, ledger = run(tmp_path, corpus, english_only_model, "{top_fraction = 0.5}")
    assert cli.main(["audit", str(out)]) == 0
    summary = json.loads((out / "stats" / "summary.json").read_text())
    stats = json.loads((out / "manifest.json").read_text())["stats"]
    by = summary["quality_score"]["by_language"]
    assert sorted(by) == ["de", "en"]
    for lang, x in by.items():
        kept, removed = text.filter(pl.col("language") == lang), ledger.filter(pl.col("language") == lang)
        assert (x["kept"], x["removed"]) == (kept.height, removed.height)
        assert x["kept_mean"] == pytest.approx(kept["quality_score"].cast(pl.Float64).mean())
        assert x["removed_mean"] == pytest.approx(removed["value"].mean())
        assert x["cutoff"] == pytest.approx(stats[f"quality.web.{lang}.cutoff_score"])
    html = (out / "report.html").read_text()
    assert "mean removed" in html and "<td>de</td>" in html


# --- per-language histograms: sparse accumulators, the dense cutoffs -------------------------


def _dense_cutoff(hist, fraction: float) -> dict:
    """The cutoff as computed over a dense int64[NBINS] histogram before the accumulators
    became sparse (kept verbatim as the reference the sparse ones must match)."""
    import numpy as np

    from curate.stages.quality import NBINS, bin_floor_score

    total = int(hist.sum())
    k = fraction * total
    above = np.cumsum(hist[::-1])[::-1] - hist
    if k <= 0:
        return {"bin": NBINS, "take": 0.0, "score": 1.0, "total": total, "kept": 0}
    b = int(np.flatnonzero((above < k) & (above + hist >= k)).max())
    take = min(1.0, (k - int(above[b])) / int(hist[b]))
    return {"bin": b, "take": take, "score": bin_floor_score(b), "total": total, "kept": k}


def _many_languages(seed: int = 7, batches: int = 30, rows: int = 800):
    """Scored web batches in 176 languages (fastText's label count), Zipf-sized: one language
    with thousands of distinct scores, most with a handful of documents, scores tied near 0
    as the English-only model scores other languages, and some documents without a language."""
    import numpy as np
    import pyarrow as pa

    from curate import schema

    rng = np.random.default_rng(seed)
    langs = np.array([f"l{i:03d}" for i in range(175)] + [""])
    p = 1.0 / np.arange(1, len(langs) + 1) ** 1.3
    out = []
    for b in range(batches):
        lang = rng.choice(langs, rows, p=p / p.sum())
        tied = rng.choice(np.array([1e-5, 2e-5, 3e-5, 0.0], dtype=np.float32), rows)
        score = np.where((lang == "l000") | (rng.random(rows) < 0.3), rng.random(rows).astype(np.float32), tied)
        batch = schema.docs_from_rows([{"id": schema.make_id("t", f"{b}/{i}"), "text": "x", "domain": "web", "source": "t",
                                        "path": "p", "offset": i, "language": lang[i] or None} for i in range(rows)])
        out.append(schema.with_column(batch, "quality_score", pa.array(score, pa.float32())))
    return out


def test_sparse_histograms_give_the_dense_cutoffs_on_many_languages():
    """The per-language accumulators are sparse until they fill: summed in any bundling, they
    give every group the cutoff the dense int64[65,536] histograms gave, so the same documents
    are kept."""
    import numpy as np

    from curate.stages.quality import DENSE_AT, NBINS, cutoff, histogram
    from pipelines.quality import _HistogramFn

    fractions, batches = {"web": 0.3}, _many_languages()
    items = [kv for b in batches for kv in histogram(b, fractions, {"web"}).items()]
    dense: dict = {}
    for key, (bins, counts) in items:
        dense.setdefault(key, np.zeros(NBINS, dtype=np.int64))[bins] += counts
    # the dense reference does not depend on the bundling: computed once, not once a trial
    dense_ref = {(key, f): _dense_cutoff(hist, f) for key, hist in dense.items() for f in (0.3, 0.05, 0.5, 1.0)}
    fn, rng = _HistogramFn(), np.random.default_rng(1)
    for trial in range(3):  # three bundlings: items shuffled, cut into bundles, merged in any order
        order = rng.permutation(len(items))
        bundles = np.array_split(order, rng.integers(1, 12))
        accs: dict = {}
        for bundle in bundles:
            acc: dict = {}
            for i in bundle:
                key, item = items[i]
                acc[key] = fn.add_input(acc.get(key), item)
            for key, a in acc.items():
                accs.setdefault(key, []).append(a)
        merged = {key: fn.extract_output(fn.merge_accumulators([a[j] for j in rng.permutation(len(a))])) for key, a in accs.items()}
        assert set(merged) == set(dense) and len(merged) > 150
        assert any(isinstance(m, np.ndarray) for m in merged.values())  # the big language filled up
        assert any(not isinstance(m, np.ndarray) and len(m[0]) < DENSE_AT for m in merged.values())
        for (key, f), want in dense_ref.items():
            assert cutoff(merged[key], f) == want, (trial, key, f)
    # the keep decisions, from the sparse and the dense cutoffs
    stage = QualityStage({"web": {"model": "default", "keep": {"top_fraction": 0.3}}})
    sparse_cuts = {k: cutoff(m, 0.3) for k, m in merged.items()}
    dense_cuts = {k: c for (k, f), c in dense_ref.items() if f == 0.3}
    for b in batches:
        assert stage.keep(b, sparse_cuts)[1].equals(stage.keep(b, dense_cuts)[1])


def test_histogram_accumulators_cost_what_their_group_holds():
    """A dense int64[65,536] accumulator per language per bundle was 512 KB for a language with
    one document: ~90 MB for fastText's 176 languages. Sparse, a group holds 16 B per distinct
    score bin, and no group more than the dense array."""
    import numpy as np

    from curate.stages.quality import NBINS, histogram
    from pipelines.quality import _HistogramFn

    fn, acc = _HistogramFn(), {}
    for b in _many_languages(batches=8):
        for key, item in histogram(b, {"web": 0.3}, {"web"}).items():
            acc[key] = fn.add_input(acc.get(key), item)
    size = {k: a.nbytes if isinstance(a, np.ndarray) else a[0].nbytes + a[1].nbytes for k, a in acc.items()}
    assert len(size) > 150
    assert sum(size.values()) < 2 << 20, sum(size.values())  # dense: len(size) x 512 KB
    assert max(size.values()) <= NBINS * 8
    small = [k for k, a in acc.items() if not isinstance(a, np.ndarray) and a[1].sum() < 20]
    assert small and all(size[k] <= 20 * 16 for k in small)
