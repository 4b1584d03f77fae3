"""Multilingual curation (issue 18): shipped per-language LID thresholds, the CLD2 option,
per-language filter constants. Acceptance numbers are measured on the ``check`` half of the
lingua paragraphs; the shipped constants were derived from the other half."""
from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from curate import schema
from curate.stages import langid
from curate.stages.filters import Filter
from curate.stages.filters import language_constants
from curate.stages.langid import LangID, load_thresholds
from curate.stages.multilingual_data import lingua_documents, lingua_paragraphs, udhr_documents, udhr_label

# a run of a few documents in this process, not in a pool forked per run (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_process_runs")


def batch(texts, language=None):
    langs = language if isinstance(language, list) else [language] * len(texts)
    return schema.docs_from_rows(
        [
            dict(id=str(i), text=t, domain="web", source="t", path="p", offset=i, url=None, language=lang, meta=None)
            for i, (t, lang) in enumerate(zip(texts, langs))
        ]
    )


@pytest.fixture(scope="module")
def labels():
    s = LangID({"languages": "all"})
    s.setup()
    return sorted(x[len("__label__") :] for x in s.model.get_labels())


def predictions(stage, texts):
    kept, ledger = stage.process(batch(texts))
    pred = dict(zip(kept.column("id").to_pylist(), kept.column("language").to_pylist()))
    pred.update(zip(ledger.column("id").to_pylist(), ledger.column("language").to_pylist()))
    return [pred[str(i)] for i in range(len(texts))], set(kept.column("id").to_pylist())


def run_langid(tmp_path, name, texts, langid_toml):
    """`curate run` (ingest and langid) over ``texts`` as one JSONL file, with ``langid_toml``
    lines in [langid]; returns the output folder. In this process: an interpreter start and
    Beam's import fewer than a subprocess (~2.5 CPU-s a run)."""
    from curate import cli

    src, out, toml = tmp_path / f"{name}.jsonl", tmp_path / name, tmp_path / f"{name}.toml"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    toml.write_text(f'[run]\noutput = "{out}"\nstages = ["ingest", "langid"]\nprogress = "off"\n'
                    f'[langid]\n{langid_toml}[[inputs]]\nglob = "{src}"\ndomain = "web"\n')
    assert cli.main(["run", str(toml)]) == 0
    return out


def langid_of_config(tmp_path, name, langid_toml) -> LangID:
    """The langid stage, set up, of a config with ``langid_toml`` in [langid] as `config.load`
    reads it: where a test's other run is `curate run`'s, this one on the stage alone (a run's
    Beam costs ~1 CPU-s, whatever its few documents)."""
    from curate import config

    toml = tmp_path / f"{name}.toml"
    toml.write_text(f'[run]\noutput = "{tmp_path / name}"\n[langid]\n{langid_toml}')
    stage = LangID(config.load(str(toml)).stages["langid"])
    stage.setup()
    return stage


# --- thresholds ------------------------------------------------------------------------------------


def test_shipped_thresholds_cover_every_label(labels):
    table = load_thresholds("default")
    assert sorted(table) == labels
    assert all(0.05 <= v <= 0.65 for v in table.values())
    assert table["en"] == 0.65 and table["hr"] < 0.5  # FineWeb's value stays where the model is sure


def test_listed_language_gets_its_threshold_unless_set():
    table = load_thresholds("default")
    assert LangID({"languages": ["hr", "en"]}).targets == {"hr": table["hr"], "en": 0.65}
    assert LangID({"languages": {"hr": 0.9}}).targets == {"hr": 0.9}  # the user's own
    assert LangID({"languages": ["hr"], "thresholds": ""}).targets == {"hr": 0.65}  # one threshold for all
    assert LangID({"languages": ["hr"], "thresholds": "", "threshold": 0.3}).targets == {"hr": 0.3}


def test_thresholds_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"thresholds": {"hr": 3}}))
    for spec in (str(bad), str(tmp_path / "missing.json")):
        with pytest.raises(ValueError, match="langid.thresholds"):
            LangID({"languages": ["hr"], "thresholds": spec})
    with pytest.raises(ValueError, match="langid.detector"):
        LangID({"detector": "cld3"})


@pytest.mark.corpora
def test_lingua_keep_rate_and_precision_per_language(corpora, labels):
    """Acceptance 1, on the held-out half: every language the model knows keeps >= 90% of its
    correctly labelled paragraphs, and >= 97% of kept paragraphs are labelled right. Before
    (one 0.65 threshold for all) 15 languages keep under 90%."""
    samples = [(g, t) for g, t, h in lingua_paragraphs(corpora) if h == "check" and g in labels]
    texts = [t for _, t in samples]
    result = {}
    runs = (
        ("shipped", {}),
        ("shipped, fasttext+cld2", {"detector": "fasttext+cld2"}),
        ("shipped, fasttext+cld2, prior 1", {"detector": "fasttext+cld2", "prior_correction": 1.0}),
        ("0.65 for all", {"thresholds": ""}),
    )
    for name, cfg in runs:
        pred, kept = predictions(LangID({"languages": labels, **cfg}), texts)
        per = defaultdict(lambda: [0, 0])
        for i, ((gold, _), p) in enumerate(zip(samples, pred)):
            if p == gold:
                per[gold][0] += str(i) in kept
                per[gold][1] += 1
        precision = sum(pred[int(i)] == samples[int(i)][0] for i in kept) / len(kept)
        rates = {g: k / n for g, (k, n) in per.items()}
        worst = sorted(rates.items(), key=lambda kv: kv[1])[:10]
        print(f"\n{name}: precision {precision:.4f}, {len(kept)}/{len(samples)} kept; worst keep rates among "
              f"correct: " + " ".join(f"{g}={r:.2f}({per[g][1]})" for g, r in worst))
        result[name] = (rates, precision)
    for name in ("shipped", "shipped, fasttext+cld2"):
        rates, precision = result[name]
        assert min(rates.values()) >= 0.9 and precision >= 0.97, name
    # The prior correction labels more Bosnian right (23 paragraphs, not 0-5), 4 of them with a
    # corrected score under bs's threshold (derived from the plain model's scores): kept 19/23.
    rates, precision = result["shipped, fasttext+cld2, prior 1"]
    assert precision >= 0.97 and sorted(g for g, r in rates.items() if r < 0.9) == ["bs"] and rates["bs"] >= 0.8
    assert sum(r < 0.9 for r in result["0.65 for all"][0].values()) >= 10  # what the issue reported


@pytest.mark.corpora
def test_udhr_documents_detectors(corpora, labels):
    """Acceptance 2 (speed: bench/bench_lid.py): whole UDHR documents in languages the model
    knows (lid.176 labels; documents in other languages are not counted), all of them: none
    of the setups below was designed or tuned on UDHR (CLD2 also wins on lingua; the prior
    exponent 1 is fixed by Bayes' rule, and its "sure" test uses no threshold derived from UDHR),
    though UDHR vetoed two combinations tried later that lingua preferred (bench/bench_lid.py). CLD2
    overruling the model beats the model alone; the prior correction adds 5 documents but stays
    at 0.890 (137/154), short of the issue's 0.90 (bench/select_lid_prior.py). 154 counts the
    files with retired ISO codes (fri, auv, lnc, prv) as the languages ISO moved them to (fy, oc)."""
    docs = [(lab, t) for _, lab, t in udhr_documents(corpora, labels) if lab in labels]
    setups = {
        "fasttext": {},
        "fasttext+cld2": {"detector": "fasttext+cld2"},
        "fasttext+cld2, prior 1": {"detector": "fasttext+cld2", "prior_correction": 1.0},
    }
    acc = {}
    for name, cfg in setups.items():
        pred, _ = predictions(LangID({"languages": "all", **cfg}), [t for _, t in docs])
        acc[name] = sum(p == g for p, (g, _) in zip(pred, docs)) / len(docs)
    print(f"\nUDHR {len(docs)} documents: {acc}")
    assert len(docs) == 154
    assert acc["fasttext+cld2"] >= acc["fasttext"] + 0.08
    assert acc["fasttext+cld2"] >= 0.85
    assert acc["fasttext+cld2, prior 1"] >= acc["fasttext+cld2"] + 0.025


def test_prior_correction_sure_test_uses_no_udhr_threshold():
    """The prior correction leaves answers the model is sure of; "sure" uses a label's shipped
    threshold only where lingua's web paragraphs gave it. Waray's shipped 0.35 came from UDHR
    pieces, so a Waray answer at 0.5 counts as unsure (below 0.65) and is re-ranked."""
    shipped = json.loads((Path(langid.__file__).parents[1] / "data" / "lid_thresholds.json").read_text())
    stage = LangID({"languages": "all", "prior_correction": 1.0})
    stage.setup()
    _, sure = stage._prior
    assert shipped["source"]["war"] == "udhr" and shipped["thresholds"]["war"] < 0.5
    assert "__label__war" not in sure and sure["__label__hr"] == shipped["thresholds"]["hr"] < 0.65
    assert all(shipped["source"][k[len("__label__"):]] == "lingua" for k in sure)
    labels, probs = stage._correct_prior([["__label__war", "__label__ilo"]], [[0.5, 0.4]])
    assert labels == [["__label__ilo"]]  # ilo has far fewer training examples


@pytest.mark.corpora
def test_prior_correction_leaves_sure_answers(corpora, labels):
    """The prior correction only re-ranks answers below their label's shipped threshold, never
    towards English (the largest training count), and on lingua paragraphs (held-out half) the
    model alone with it labels more paragraphs right than without."""
    samples = [(g, t) for g, t, h in lingua_paragraphs(corpora) if h == "check" and g in labels]
    plain, corrected = LangID({"languages": "all"}), LangID({"languages": "all", "prior_correction": 1.0})
    plain.setup()
    corrected.setup()
    table = load_thresholds("default")
    prepared = plain.prepare(pa.array([t for _, t in samples], pa.large_string()))
    (a, sa), (b, sb) = plain.predict(prepared), corrected.predict(prepared)
    changed = [(x, y, s) for x, y, s in zip(a, b, sa) if x != y]
    assert changed and all(s < table[x] for x, _, s in changed) and not any(y == "en" for _, y, _ in changed)
    assert all(sa[i] == sb[i] for i in range(len(a)) if a[i] == b[i])  # unchanged labels keep their score
    right = [sum(p == g for p, (g, _) in zip(pred, samples)) / len(samples) for pred in (a, b)]
    print(f"\nlingua check half, lid.176 alone: {right[0]:.4f}, with prior 1: {right[1]:.4f} ({len(changed)} changed)")
    assert right[1] >= right[0] + 0.01


def test_prior_correction_config_errors_name_the_field(tmp_path):
    from curate import config

    toml = tmp_path / "c.toml"
    toml.write_text(f'[run]\noutput = "{tmp_path / "o"}"\n[langid]\nprior_correction = -1\n'
                    f'[[inputs]]\nglob = "{toml}"\ndomain = "web"\nformat = "text"\n')
    with pytest.raises(ValueError, match=r"langid\.prior_correction"):
        config.load(str(toml))


@pytest.mark.corpora
def test_cli_prior_correction_labels_minority_varieties(corpora, labels, tmp_path):
    """Through `curate run`: lid.176 labels the UDHR in Asturian, Walloon, Ido and Venetian as
    Spanish, French, Esperanto...; with langid.prior_correction = 1 each gets its own label."""
    import pyarrow.parquet as pq

    names = {"ast": "ast", "wln": "wa", "ido": "io", "vec": "vec"}
    texts = {t: s for s, _, t in udhr_documents(corpora, labels) if s in names}
    out = run_langid(tmp_path, "prior", list(texts), 'languages = "all"\nprior_correction = 1.0\n')
    found = {"prior": {texts[r["text"]]: r["language"] for r in pq.read_table(out / "text").to_pylist()}}
    # without the option, on the stage alone (its setting through the CLI is the run above)
    found["plain"] = dict(zip(texts.values(), predictions(langid_of_config(tmp_path, "plain", 'languages = "all"\n'), list(texts))[0]))
    print(f"\nlabels: {found}")
    assert not any(found["plain"][s] == lab for s, lab in names.items())
    assert found["prior"] == names


# --- filters ---------------------------------------------------------------------------------------


def test_language_constants_apply_by_language():
    consts = language_constants.load("default")
    assert "en" not in consts and consts["fi"]["gopher_quality"]["min_words"] < 50
    # 40 long Finnish words: enough text for Finnish, too few words for the English rule.
    text = " ".join(["Kansalaisjärjestöjen", "ja", "että"] * 13 + ["tutkimustuloksista."])
    f = Filter({"domains": {"web": ["gopher_quality"]}})
    kept, _ = f.process(batch([text], language="fi"))
    assert kept.num_rows == 1
    _, ledger = Filter({"domains": {"web": ["gopher_quality"]}, "language_constants": ""}).process(
        batch([text], language="fi")
    )
    assert ledger.column("rule").to_pylist() == ["gopher_min_words"]
    # The user's own value wins over the language's.
    _, ledger = Filter({"domains": {"web": ["gopher_quality"]}, "gopher_quality": {"min_words": 45}}).process(
        batch([text], language="fi")
    )
    assert ledger.column("rule").to_pylist() == ["gopher_min_words"]


def test_derived_stop_words_apply_to_their_language():
    consts = language_constants.load("default")
    assert {"der", "die", "und"} <= set(consts["de"]["stop_words"])
    assert consts["ta"]["stop_words"] == []  # suffixing language: no 2-of-N stop-word rule
    words = "Online Shop Angebote Rabatt Versandkostenfrei Bestellung Lieferung Kaufen".split()
    junk = " ".join(words * 8)  # 64 words, no German function word
    _, ledger = Filter({"domains": {"web": ["gopher_quality"]}}).process(batch([junk], language="de"))
    assert ledger.column("rule").to_pylist() == ["gopher_stop_words"]
    prose = junk + " und die Lieferung ist schnell."
    kept, _ = Filter({"domains": {"web": ["gopher_quality"]}}).process(batch([prose], language="de"))
    assert kept.num_rows == 1


# Our own Malayalam prose (95 words, 12.3 characters a word, as the UDHR's 12.0): lid.176 labels
# it ml, a language outside the table, which got English's mean word length bound (10).
MALAYALAM = ["കേരളത്തിലെ ഗ്രാമപ്രദേശങ്ങളിലുള്ള വിദ്യാലയങ്ങളിൽ പഠിക്കുന്ന കുട്ടികൾക്കുവേണ്ടിയുള്ള പാഠപുസ്തകങ്ങൾ സർക്കാർ സൗജന്യമായി വിതരണം ചെയ്യുന്നുണ്ട്.",
      "മഴക്കാലത്തിനു മുമ്പ് കർഷകർ നെൽവയലുകളിലെല്ലാം വിത്തുവിതയ്ക്കാനുള്ള ഒരുക്കങ്ങൾ വളരെ നേരത്തെ ആരംഭിക്കുന്നു.",
      "പഞ്ചായത്തുകളുടെ നേതൃത്വത്തിൽ നടത്തപ്പെടുന്ന ആരോഗ്യ ബോധവൽക്കരണ പരിപാടികളിൽ നാട്ടുകാർ ഉത്സാഹത്തോടെ പങ്കെടുത്തു.",
      "തീരപ്രദേശങ്ങളിൽ താമസിക്കുന്ന മത്സ്യത്തൊഴിലാളികൾക്ക് കാലാവസ്ഥാ മുന്നറിയിപ്പുകൾ കൃത്യസമയത്ത് ലഭിക്കേണ്ടതാണ്.",
      "ഓണാഘോഷങ്ങളുടെ ഭാഗമായി വീടുകൾക്കുമുന്നിൽ പൂക്കളങ്ങളൊരുക്കുന്നത് പഴയ കാലം മുതലുള്ള ആചാരമാണ്.",
      "നഗരങ്ങളിലേക്കുള്ള കുടിയേറ്റം വർദ്ധിച്ചതോടെ ഗ്രാമങ്ങളിലെ കൃഷിയിടങ്ങൾ പലതും തരിശായിക്കിടക്കുന്നു.",
      "വായനശാലകളിൽ സൂക്ഷിച്ചിരിക്കുന്ന പഴയ ഗ്രന്ഥങ്ങൾ ഡിജിറ്റൽ രൂപത്തിലാക്കാനുള്ള ശ്രമങ്ങൾ പുരോഗമിക്കുകയാണ്.",
      "വിനോദസഞ്ചാരികളെ ആകർഷിക്കുന്നതിനായി കായലോരങ്ങളിൽ പുതിയ താമസസൗകര്യങ്ങൾ നിർമ്മിക്കപ്പെട്ടുകൊണ്ടിരിക്കുന്നു.",
      "സ്കൂൾ വിദ്യാർത്ഥികൾക്കായി സംഘടിപ്പിച്ച ശാസ്ത്രപ്രദർശനത്തിൽ നിരവധി കണ്ടുപിടുത്തങ്ങൾ അവതരിപ്പിക്കപ്പെട്ടു.",
      "ഉത്സവകാലങ്ങളിൽ ക്ഷേത്രപരിസരങ്ങളിലെ കച്ചവടസ്ഥാപനങ്ങൾ രാത്രി വൈകും വരെ തുറന്നു പ്രവർത്തിക്കാറുണ്ട്.",
      "പുഴയോരങ്ങളിലെ കണ്ടൽക്കാടുകൾ സംരക്ഷിക്കുന്നതിനുവേണ്ടി പരിസ്ഥിതിപ്രവർത്തകർ നിരന്തരം പ്രവർത്തിക്കുന്നു.",
      "അടുത്ത വർഷത്തോടെ എല്ലാ പഞ്ചായത്തുകളിലും അതിവേഗ ഇന്റർനെറ്റ് സൗകര്യം ലഭ്യമാക്കുമെന്ന് അധികൃതർ പ്രഖ്യാപിച്ചു."]


def test_labels_outside_the_table_get_the_widest_bounds_not_englishs(tmp_path, labels):
    from curate import cli

    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "ml", "text": "\n".join(MALAYALAM)}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "in.jsonl"), "--domain", "web", "--stages", "ingest,langid,filter",
                     "--languages", "all", "--output", str(out), "--progress", "off"]) == 0
    import polars as pl

    kept = pl.read_parquet(str(out / "text/*.parquet"))
    assert kept["language"].to_list() == ["ml"]
    consts = language_constants.load("default")
    table = json.loads(language_constants.OUTPUT.read_text(encoding="utf-8"))
    widest = table["fallback"]["gopher_quality"]
    assert consts["ml"]["gopher_quality"] == consts["am"]["gopher_quality"] == widest
    assert widest["max_mean_word_length"] == max(c["gopher_quality"]["max_mean_word_length"] for c in table["languages"].values())
    # Every label of the shipped model has an entry, but English and the non-space languages
    # without a UDHR translation in their script (those with one have their characters per word).
    nonspace = set(labels) & set(language_constants.NONSPACE)
    assert set(labels) - set(consts) == {"en"} | (nonspace - set(table["nonspace"]))
    assert set(table["nonspace"]) == {"zh", "ja", "th", "km", "lo", "my", "bo", "ko"}  # ko: written without spaces
    assert all(set(consts[x]["gopher_quality"]) == {"nonspace_chars_per_word"} for x in set(table["nonspace"]) - {"ko"})
    assert consts["ko"]["unspaced"] == {"gopher_quality": {"nonspace_chars_per_word": 2.021}}
    # English's bounds (language_constants = ""), what ml got before, remove it.
    _, ledger = Filter({"language_constants": ""}).process(batch(["\n".join(MALAYALAM)], language="ml"))
    assert ledger.column("rule").to_pylist() == ["gopher_max_mean_word_length"]


def scored(texts, language, score):
    """A batch as langid leaves it: every text labelled ``language`` with ``score``."""
    docs = batch(texts, language=language)
    return schema.with_column(docs, "language_score", [score] * len(texts))


def test_language_rules_only_for_trusted_labels():
    """A label scored below its language's LID threshold (kept by languages = "all") is mostly
    text in a language the model does not know: English stop words or Finnish word lengths say
    nothing about it. Made-up language, 60 words, no English function word."""
    words = "Mavu keleni tosa rupeki wandalo seku mirabo tali nguvo pesali".split()
    text = " ".join(words * 6) + "."
    only_stops = {"domains": {"web": ["gopher_quality"]}}
    kept, _ = Filter(only_stops).process(scored([text], "en", 0.12))  # en's threshold: 0.65
    assert kept.num_rows == 1
    _, ledger = Filter({**only_stops, "trusted_language_score": ""}).process(scored([text], "en", 0.12))
    assert ledger.column("rule").to_pylist() == ["gopher_stop_words"]  # every label trusted: as before
    _, ledger = Filter(only_stops).process(scored([text], "en", 0.9))  # a sure label: English rules
    assert ledger.column("rule").to_pylist() == ["gopher_stop_words"]
    # Finnish's bounds (mean word length >= 4.8) apply to sure Finnish labels only; a page
    # with no trusted label still gets the language-independent Gopher bounds.
    short = " ".join(["talo", "meni", "joki", "kesä", "ilta"] * 12) + "."  # mean length 4
    _, ledger = Filter(only_stops).process(scored([short], "fi", 0.9))
    assert ledger.column("rule").to_pylist() == ["gopher_min_mean_word_length"]
    kept, _ = Filter(only_stops).process(scored([short], "fi", 0.2))
    assert kept.num_rows == 1
    # No score (langid not run, or a language column from the data): the label is taken as is.
    _, ledger = Filter(only_stops).process(batch([text], language="en"))
    assert ledger.column("rule").to_pylist() == ["gopher_stop_words"]
    with pytest.raises(ValueError, match="filter.trusted_language_score"):
        Filter({"trusted_language_score": "/nonexistent.json"})


@pytest.mark.corpora
def test_untrusted_labels_keep_udhr_and_web_junk_still_goes(corpora):
    """UDHR with languages = "all": texts in languages lid.176 does not know (Xhosa, Zulu,
    Somali as en at < 0.15) were removed by another language's stop words; the Dolma pages so
    labelled (category and API pages) are still removed, by language-independent rules."""
    udhr = [t for _, _, t in udhr_documents(corpora, ())]
    path = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    dolma = [json.loads(x)["text"] for x in gzip.open(path, "rt", encoding="utf-8")]
    removed = {}
    for name, texts in (("udhr", udhr), ("dolma", dolma)):
        labelled, _ = LangID({"languages": "all"}).process(batch(texts))
        for trust in ("", "default"):
            _, ledger = Filter({"trusted_language_score": trust}).process(labelled)
            removed[name, trust] = dict(zip(ledger.column("id").to_pylist(), ledger.column("rule").to_pylist()))
    before, after = removed["udhr", ""], removed["udhr", "default"]
    stops = {k: sum(r == "gopher_stop_words" for r in v.values()) for k, v in (("before", before), ("after", after))}
    print(f"\nUDHR removed {len(before)} -> {len(after)} of {len(udhr)}; gopher_stop_words {stops}")
    assert stops["before"] >= 80 and stops["after"] <= 10
    assert len(after) <= len(before) - 80 and len(set(after) - set(before)) <= 2
    assert removed["dolma", ""].keys() == removed["dolma", "default"].keys()  # the same pages removed


@pytest.mark.corpora
def test_dolma_english_identical_and_non_english_not_worse(corpora):
    """Acceptance 3 on the shared multilingual web sample: the same English documents kept and
    removed as with English constants for all; non-English removals do not grow."""
    path = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    docs = [json.loads(x) for x in gzip.open(path, "rt", encoding="utf-8")]
    labelled, _ = LangID({"languages": "all"}).process(batch([d["text"] for d in docs]))
    langs = labelled.column("language").to_pylist()
    removed = {}
    for name, cfg in (("english constants", {"language_constants": ""}), ("per language", {})):
        _, ledger = Filter(cfg).process(labelled)
        removed[name] = dict(zip(ledger.column("id").to_pylist(), ledger.column("rule").to_pylist()))
    ids = labelled.column("id").to_pylist()
    english = {i for i, lang in zip(ids, langs) if lang == "en"}
    before, after = removed["english constants"], removed["per language"]
    assert {i: r for i, r in before.items() if i in english} == {i: r for i, r in after.items() if i in english}
    non_en = len(ids) - len(english)
    print(f"\nnon-English removed: {sum(i not in english for i in before)}/{non_en} -> "
          f"{sum(i not in english for i in after)}/{non_en}; by rule after: "
          f"{Counter(r for i, r in after.items() if i not in english)}")
    assert sum(i not in english for i in after) <= sum(i not in english for i in before)


# --- audit -----------------------------------------------------------------------------------------


@pytest.mark.corpora
def test_audit_reports_keep_rate_per_language_and_stage(corpora, tmp_path):
    import pyarrow.parquet as pq

    from curate import cli
    from curate.audit import command

    out, toml = tmp_path / "out", tmp_path / "run.toml"
    toml.write_text(  # languages = []: keep and label every language
        f'[run]\noutput = "{out}"\nstages = ["ingest", "langid", "filter"]\n[langid]\nlanguages = []\n'
        f'[[inputs]]\nglob = "{corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"}"\ndomain = "web"\n'
    )
    assert cli.main(["run", str(toml)]) == 0  # in this process: no interpreter start nor Beam import
    assert command.main([str(out)]) == 0
    summary = json.loads((out / "stats" / "summary.json").read_text())
    keep = summary["language_keep"]
    # Independently: text rows and ledger rows by language.
    kept = Counter(pq.read_table(out / "text").column("language").to_pylist())
    ledger = pq.read_table(out / "ledger").to_pylist()
    for lang in ("en", "es", "it"):
        removed = Counter(r["stage"] for r in ledger if r["language"] == lang)
        rules = Counter(r["rule"] for r in ledger if r["language"] == lang and r["stage"] == "filter")
        n_filter = kept[lang] + removed["filter"]
        assert removed["filter"] > 0  # every removal named with its rule, per language
        # of which under a label scored below its threshold (the ledger's language_score)
        unsure = sum(r["language"] == lang and r["stage"] == "filter" and r["language_score"] < load_thresholds("default")[lang]
                     for r in ledger)
        assert keep[lang]["filter"] == {"docs_in": n_filter, "removed": removed["filter"], "keep_rate": kept[lang] / n_filter,
                                        "rules": dict(rules)} | ({"below_threshold": unsure} if unsure else {})
        assert keep[lang]["langid"]["docs_in"] == n_filter + removed["langid"]
    html = (out / "report.html").read_text()
    assert "Keep rate per language and stage" in html and "<th>removed by</th>" in html
    top = max(keep["en"]["filter"]["rules"].items(), key=lambda kv: kv[1])
    assert f"{top[0]} {top[1]}" in html


def test_language_sentence_marks():
    """Urdu ends sentences with ۔ and Armenian with ։: with English marks only, every line of
    good Urdu prose "lacked punctuation" and its sentences were not counted. The table derived
    them; they are now among every document's marks (a Shahmukhi or unlabelled page too)."""
    assert language_constants.load("default")["ur"]["terminal"] == ""  # the table derives only marks TERMINAL lacks
    line = "یہ ایک اچھا جملہ ہے جو اردو میں لکھا گیا ہے ۔"
    text = "\n".join([line.replace("اچھا", w) for w in ("اچھا", "نیا", "بڑا", "پرانا", "چھوٹا", "لمبا")])
    for rules in (["fineweb"], ["c4"]):
        kept, ledger = Filter({"domains": {"web": rules}}).process(batch([text], language="ur"))
        assert kept.num_rows == 1, ledger.to_pylist()
        kept, ledger = Filter({"domains": {"web": rules}, "language_constants": ""}).process(batch([text], language="ur"))
        assert kept.num_rows == 1, ledger.to_pylist()


@pytest.mark.corpora
def test_good_text_removed_less(corpora):
    """Acceptance 3 on text known to be good (lingua check half, 10 sentences a document):
    fewer non-English documents removed by the word/sentence rules, English unchanged. Measured
    against English marks and constants: 4.9% -> 3.0% of 1,604 removed, word/sentence rules
    33 -> 1 (Urdu 24 -> 4, Armenian 10 -> 0: mostly their full stops, docs/filters.md). Those
    marks are now every document's, so ``language_constants = ""`` removes the same 48 here;
    the table's bounds and stop words must not remove more."""
    from curate.stages.filters import NONSPACE

    pairs = [(lang, t) for lang, t, h in lingua_documents(corpora) if h == "check" and lang not in NONSPACE]
    langs = [lang for lang, _ in pairs]
    docs = batch([t for _, t in pairs], language=langs)
    out = {}
    for name, cfg in (("before", {"language_constants": ""}), ("after", {})):
        _, ledger = Filter(cfg).process(docs)
        out[name] = [(r["id"], r["rule"]) for r in ledger.to_pylist() if r["language"] != "en"]
        assert not [r for r in ledger.to_pylist() if r["language"] == "en"]
    word_rules = {"gopher_min_words", "gopher_min_mean_word_length", "gopher_max_mean_word_length",
                  "gopher_stop_words", "fineweb_line_punct", "c4_min_sentences"}
    word = {k: sum(rule in word_rules for _, rule in v) for k, v in out.items()}
    n = sum(lang != "en" for lang in langs)
    print(f"\nnon-English good documents removed: {len(out['before'])}/{n} -> {len(out['after'])}/{n}; by word/sentence rules {word}")
    assert {i for i, _ in out["after"]} <= {i for i, _ in out["before"]}  # nothing newly removed
    assert word["after"] <= 1 and len(out["after"]) <= 48


@pytest.mark.corpora
def test_cli_uses_shipped_thresholds(corpora, tmp_path):
    """Through `curate run`: Croatian paragraphs listed as ["hr"] are judged by hr's shipped
    threshold; with langid.thresholds = "" by the single 0.65, which removes most of them."""
    import pyarrow.parquet as pq

    paras = [t for g, t, h in lingua_paragraphs(corpora) if g == "hr" and h == "check"][:60]
    kept = {}
    for name, extra in (("shipped", ""), ("single", 'thresholds = ""\n')):
        if name == "shipped":  # what the CLI uses unless told: through `curate run`
            out = run_langid(tmp_path, name, paras, 'languages = ["hr"]\n' + extra)
            kept[name], ledger = pq.read_table(out / "text").num_rows, pq.read_table(out / "ledger").to_pylist()
        else:  # the one threshold, as config.load reads the setting, on the stage alone: a run less
            text, ledger = langid_of_config(tmp_path, name, 'languages = ["hr"]\n' + extra).process(batch(paras))
            kept[name], ledger = text.num_rows, ledger.to_pylist()
        thresholds = {r["threshold"] for r in ledger if r["rule"] == "language_score_below_threshold"}
        assert thresholds <= {load_thresholds("default")["hr"] if name == "shipped" else 0.65}
    print(f"\nCroatian paragraphs kept: shipped threshold {kept['shipped']}/60, 0.65 {kept['single']}/60")
    assert kept["shipped"] >= 50 and kept["single"] <= 10


def test_udhr_label_follows_retired_iso_codes():
    """udhr2 names a few files by ISO 639-3 codes since retired: Western Frisian ``fri`` (now
    ``fry``) and the Occitan dialects ``auv``, ``lnc``, ``prv`` (merged into ``oci``). They are
    languages lid.176 knows (fy, oc), so they count among its documents."""
    got = {n: udhr_label(n, {"fy", "oc", "war"}) for n in ["fri", "auv", "lnc", "prv", "deu", "war", "mly_arab", "007"]}
    assert got == {"fri": "fy", "auv": "oc", "lnc": "oc", "prv": "oc", "deu": "de", "war": "war", "mly_arab": "ms", "007": None}


@pytest.mark.corpora
def test_lingua_check_documents_hold_no_derive_sentence(corpora):
    """The per-language filter constants are derived from the derive half of
    lingua_paragraphs(sep="\\n"); the check documents that measure them (test_good_text_removed_less,
    bench/bench_multilingual_filters.py) hold none of its sentences, but for sentences the data
    itself repeats. Ten consecutive lines hashed as one document shared half their sentences
    with derive paragraphs."""
    paras = lingua_paragraphs(corpora, sep="\n")
    derive = {line for _, p, h in paras if h == "derive" for line in p.split("\n")}
    repeated = {line for line, n in Counter(line for _, p, _ in paras for line in p.split("\n")).items() if n > 1}
    docs = [t for _, t, h in lingua_documents(corpora) if h == "check"]
    shared = {line for t in docs for line in t.split("\n")} & derive
    assert len(docs) > 1500 and shared <= repeated, len(shared - repeated)


@pytest.mark.corpora
def test_shipped_constants_are_what_their_commands_derive(corpora, tmp_path):
    """curate/data/lid_thresholds.json and filter_languages.json, which the measurements above
    rest on, are what `python -m curate.stages.lid_thresholds` and `python -m
    curate.stages.filters.language_constants` write from the derive halves: no value edited by hand."""
    from curate.stages import lid_thresholds
    from curate.stages.filters import language_constants

    data = Path(langid.__file__).parents[1] / "data"
    for module, name in ((lid_thresholds, "lid_thresholds.json"), (language_constants, "filter_languages.json")):
        module.main(["--corpora", str(corpora), "--output", str(tmp_path / name)])
        assert (tmp_path / name).read_bytes() == (data / name).read_bytes(), name


@pytest.mark.corpora
def test_the_audit_tells_langid_unsure_guesses_from_a_languages_documents(corpora, tmp_path):
    # Zulu and Luganda text (lid.176 has no lg; it places zu poorly) is removed under a weak
    # `en` guess: the audit counted it as English documents removed, so English looked kept
    # at ~20% by langid while every English document was kept
    from curate import cli

    docs = [(g, d) for g, d, _ in lingua_documents(corpora) if g in ("en", "zu", "lg")]
    per = Counter()
    rows = []
    for g, d in docs:
        if per[g] < 10:
            per[g] += 1
            rows.append(json.dumps({"id": f"{g}-{per[g]}", "text": d}, ensure_ascii=False))
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "in.jsonl"), "--domain", "web", "--languages", "en",
                     "--stages", "ingest,langid", "--output", str(out), "--progress", "off"]) == 0
    assert cli.main(["audit", str(out)]) == 0
    s = json.loads((out / "stats/summary.json").read_text())
    import polars as pl

    ledger = pl.read_parquet(str(out / "ledger/*.parquet"))
    unsure_en = ledger.filter((pl.col("language") == "en") & (pl.col("rule") == "language_score_below_threshold")).height
    en = s["language_keep"]["en"]["langid"]
    assert unsure_en > 0 and en["below_threshold"] == unsure_en and en["docs_in"] - en["removed"] == 10
    assert s["removed"]["langid_unsure_by_language"]["en"] == unsure_en
    assert f"({unsure_en} unsure)</td>" in (out / "report.html").read_text()


# --- labels outside the table: bounds by script; other models' labels ---------------------------------

# Our own Arabic text: 43 words of ordinary length (4.6 characters a word). Arabic, Persian and
# Urdu, the table's Arabic-script languages, need >= 52 words; the whole table's minimum is 33.
ARABIC = ["ذهب الولد إلى المدرسة في الصباح الباكر مع أخيه الصغير.",
          "وكانت الشمس مشرقة والطيور تغرد فوق الأشجار العالية.",
          "تعلم الطلاب دروسا جديدة في الرياضيات والعلوم واللغة العربية.",
          "ثم عادوا إلى البيت بعد الظهر وتناولوا الغداء مع العائلة.",
          "وفي المساء قرأ الجميع قصة جميلة."]


def test_fallback_bounds_follow_the_documents_script():
    """A label outside the table (Pashto, Sindhi: lid.176 labels the lingua data lacks) got the
    whole table's widest bounds, 33 words, whatever its script; now those of the table's
    languages in the script most of the document's letters are in (Arabic script: ar, fa, ur)."""
    table = json.loads(language_constants.OUTPUT.read_text(encoding="utf-8"))
    arab = table["fallback"]["scripts"]["Arab"]
    assert arab["languages"] == ["ar", "fa", "ur"] and arab["gopher_quality"]["min_words"] == 52
    assert {table["languages"][x]["script"] for x in ("ru", "hi", "ko", "fi")} == {"Cyrl", "Deva", "Hang", "Latn"}
    text = "\n".join(ARABIC)
    assert 33 <= len(text.split()) < 52
    only = {"domains": {"web": ["gopher_quality"]}}
    for label in ("ps", "sd", "pbt_Arab"):  # pbt (Southern Pashto) -> ps, its macrolanguage's code
        _, ledger = Filter(only).process(batch([text], language=label))
        assert [(r["rule"], r["threshold"]) for r in ledger.to_pylist()] == [("gopher_min_words", 52.0)], label
    # Malayalam has no tabled language of its script: still the whole table's widest (12.3 < 16.09).
    kept, _ = Filter(only).process(batch(["\n".join(MALAYALAM)], language="ml"))
    assert kept.num_rows == 1
    # Without the file's fallback.scripts (a file written before them): the whole table's bounds.
    assert language_constants.dominant_script(text, ["Latn", "Arab"]) == "Arab"
    assert language_constants.dominant_script("abc " + text, ["Latn"]) is None


def test_other_models_labels_find_their_entry():
    """GlotLID-style labels (eng_Latn, amh_Ethi) and ISO 639-3 codes did not find their table
    entry: every one got the published values and no word lists."""
    known = set(language_constants.load("default")) | {"en", "zh"}
    got = {x: language_constants.lookup(x, known) for x in
           ["amh_Ethi", "arb_Arab", "pes_Arab", "eng_Latn", "deu", "zsm_Latn", "ckb_Arab", "cmn_Hani", "pt-BR", "ml", "xyz_Latn", "junk"]}
    assert got == {"amh_Ethi": ("am", "Ethi"), "arb_Arab": ("ar", "Arab"), "pes_Arab": ("fa", "Arab"), "eng_Latn": ("en", "Latn"),
                   "deu": ("de", None), "zsm_Latn": ("ms", "Latn"), "ckb_Arab": ("ckb", "Arab"), "cmn_Hani": ("zh", "Hani"),
                   "pt-BR": ("pt", None), "ml": ("ml", None), "xyz_Latn": (None, "Latn"), "junk": (None, None)}
    # A word list the config keys by the model's own label still applies to it.
    assert language_constants.lookup("eng_Latn", {"en", "eng_Latn"}) == ("eng_Latn", "Latn")


@pytest.mark.parametrize("label, expect", [
    ("amh_Ethi", ["amh_Ethi is looked up as am", "no table language is written in Ethi", "min_words = 33"]),
    ("ckb_Arab", ["ckb_Arab is looked up as ckb", "languages in Arab", "min_words = 52"]),
    ("deu_Latn", ["deu_Latn is looked up as de", "its own constants", "min_words = 43", "stop words (gopher_stop_words): die der und"]),
    ("eng_Latn", ["eng_Latn is looked up as en", "the published (English-derived) values", "min_words = 50",
                  "stop words (gopher_stop_words): the be to of and that have with"]),
    ("ps", ["in the script of most of the document's letters", "in Arab: min_words 52", "min_words = 33"]),
])
def test_cli_config_language_of_other_models_labels(label, expect, capsys):
    """README: `curate config --language LANG` shows what applies to LANG and where it comes from."""
    from curate import cli

    assert cli.main(["config", "--language", label]) == 0
    out = capsys.readouterr().out
    for line in expect:
        assert line in out, (line, out)


def train_tiny_lid(tmp_path, words: dict) -> Path:
    """A two-label fastText LID model (labels: ``words``' keys), trained in a fresh process:
    fasttext-numpy2 diverges (NaN) in a process that has loaded a quantized model
    (tests/test_rebalance.py's settings)."""
    import random
    import subprocess
    import sys

    rng = random.Random(0)
    train = tmp_path / "train.txt"
    train.write_text("".join(f"__label__{lab} {' '.join(rng.choice(v) for _ in range(12))}\n" for _ in range(150) for lab, v in words.items()),
                     encoding="utf-8")
    model = tmp_path / "tiny.bin"
    code = ("import fasttext, sys\n"
            "fasttext.train_supervised(sys.argv[1], epoch=10, wordNgrams=2, dim=16, bucket=10000, seed=0, thread=1, verbose=0)"
            ".save_model(sys.argv[2])\n")
    subprocess.run([sys.executable, "-c", code, str(train), str(model)], check=True)
    return model


def test_custom_model_labels_get_their_languages_rules(tmp_path):
    """`curate run` with a langid.model that emits mal_Mlym and deu_Latn: Malayalam (12.3
    characters a word) was removed by English's mean word length bound, and German shop junk
    without a German function word was kept (no stop-word list for deu_Latn)."""
    import polars as pl

    from curate import cli

    shop = "Online Shop Angebote Rabatt Versandkostenfrei Bestellung Lieferung Kaufen".split()
    model = train_tiny_lid(tmp_path, {"mal_Mlym": " ".join(MALAYALAM).split(), "deu_Latn": shop})
    docs = [{"id": "ml", "text": "\n".join(MALAYALAM)}, {"id": "shop", "text": " ".join(shop * 8) + "."}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    (tmp_path / "c.toml").write_text(f'[langid]\nmodel = "{model}"\n[filter]\ndomains.web = ["gopher_quality"]\n')
    out = tmp_path / "out"
    assert cli.main(["run", str(tmp_path / "c.toml"), "--input", str(tmp_path / "in.jsonl"), "--domain", "web", "--stages",
                     "ingest,langid,filter", "--languages", "all", "--output", str(out), "--progress", "off"]) == 0
    kept = pl.read_parquet(str(out / "text/*.parquet"))
    ledger = pl.read_parquet(str(out / "ledger/*.parquet"))
    assert kept.select("source_id", "language").rows() == [("ml", "mal_Mlym")]
    assert ledger.select("source_id", "language", "rule").rows() == [("shop", "deu_Latn", "gopher_stop_words")]
    assert ledger["language_score"][0] >= 0.65  # a trusted label: German's list applies


# --- the ledger's language score -------------------------------------------------------------------


def test_ledger_language_score_and_audit_unsure_removals(tmp_path):
    """An auditor saw a document removed by the filter with its label but not the score the label
    had: whether the language's rules applied (a trusted label) or not could not be told. The
    ledger carries language_score; `curate audit` counts, per stage and language, the removals
    under a label scored below the threshold the filter trusts labels from."""
    import polars as pl

    from curate import cli

    made_up = " ".join("Mavu keleni tosa rupeki wandalo seku mirabo tali nguvo pesali".split() * 2) + "."  # 20 words
    english = "The committee met on Tuesday to discuss the new budget for the library."  # 13 words
    docs = [{"id": "made-up", "text": made_up}, {"id": "english", "text": english},
            {"id": "ml", "text": "\n".join(MALAYALAM)}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(tmp_path / "in.jsonl"), "--domain", "web", "--stages", "ingest,langid,filter",
                     "--languages", "all", "--output", str(out), "--progress", "off"]) == 0
    ledger = pl.read_parquet(str(out / "ledger/*.parquet"))
    rows = {r["source_id"]: r for r in ledger.iter_rows(named=True)}
    assert set(rows) == {"made-up", "english"} and {r["rule"] for r in rows.values()} == {"gopher_min_words"}
    thresholds = load_thresholds("default")
    unsure = {k for k, r in rows.items() if r["language_score"] < thresholds.get(r["language"], 0.65)}
    assert unsure == {"made-up"}  # the made-up language: a guess lid.176 is unsure of; English: sure
    # The README's query: which removals had a label the model was unsure of.
    import re

    import duckdb

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    sql = re.search(r'duckdb\.sql\("(select stage, rule, language, language_score [^"]*)"\)', readme).group(1)
    got = duckdb.sql(sql.replace("'corpus/", f"'{out}/")).fetchall()
    assert [(st, rule, lang) for st, rule, lang, _ in got] == [("filter", "gopher_min_words", rows["made-up"]["language"])]
    assert cli.main(["audit", str(out)]) == 0
    s = json.loads((out / "stats/summary.json").read_text())
    lang = rows["made-up"]["language"]
    assert s["removed"]["unsure_by_stage_language"] == {"filter": {lang: 1}}
    assert s["language_keep"][lang]["filter"]["below_threshold"] == 1
    assert "below_threshold" not in s["language_keep"]["en"]["filter"]
    assert "(1 unsure)</td>" in (out / "report.html").read_text()


def test_audit_reads_ledgers_without_language_score():
    """Ledgers written before the column: the audit reads them, with no unsure count."""
    import polars as pl

    from curate.audit.stats import Partial

    old = pl.DataFrame({"id": ["a"], "stage": ["filter"], "rule": ["gopher_min_words"], "value": [3.0], "threshold": [50.0],
                        "domain": ["web"], "language": ["en"], "snippet": ["x"], "row": [0]})
    s = Partial().add_ledger(old, "ledger/part-0.parquet").summary()
    assert s["removed"]["total"] == 1 and s["removed"]["unsure_by_stage_language"] == {}


def test_script_suffix_of_a_non_space_script_skips_the_word_rules(capsys):
    """A custom model's label in a script written without spaces (GlotLID's dzo_Tibt, shn_Mymr)
    is a non-space language as bo or my is: before, only language codes were listed, so a
    Dzongkha page (one "word" per line) failed gopher_min_words and every word rule."""
    import pyarrow as pa

    from curate import cli, schema

    line = "\u0f60\u0f56\u0fb2\u0f74\u0f42\u0f0b\u0f42\u0f72\u0f0b\u0f66\u0f90\u0f51\u0f0b\u0f61\u0f72\u0f42\u0f0b\u0f51\u0f44\u0f0b\u0f66\u0fa4\u0fb1\u0f72\u0f0b\u0f5a\u0f7c\u0f42\u0f66\u0f0b\u0f42\u0f72\u0f0b\u0f63\u0f58\u0f0b\u0f63\u0f74\u0f42\u0f66\u0f0d"
    text = "\n".join(f"{line}{k}" for k in range(40))  # Tibetan script: syllables end in a tsheg, no spaces
    for label in ("dzo_Tibt", "shn_Mymr"):
        assert cli.main(["config", "--language", label]) == 0
        assert f"{label} is a non-space language" in capsys.readouterr().out
    rows = [dict(id=f"d{i}", text=text, domain="web", source="s", path="p", offset=i, url=None, language=lab,
                 language_score=0.99, meta=None) for i, lab in enumerate(["dzo_Tibt", "xyz_Latn"])]
    kept, ledger = Filter({"domains": {"web": ["gopher_quality"]}}).process(schema.docs_from_rows(rows))
    assert kept.column("language").to_pylist() == ["dzo_Tibt"]  # the Latin-labelled copy still counts words
    assert ledger.column("rule").to_pylist() == ["gopher_min_words"]
    # the list is the user's: without the script code the label is spaced again
    cfg = {"domains": {"web": ["gopher_quality"]}, "nonspace_languages": ["zh", "ja"]}
    assert Filter(cfg).process(schema.docs_from_rows(rows[:1]))[0].num_rows == 0
