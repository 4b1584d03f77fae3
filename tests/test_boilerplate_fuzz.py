"""Hostile text and URLs through the library halves of urldedup, linededup and decontaminate:
no exception, and every input document comes out exactly once (kept or in the ledger)."""
from __future__ import annotations

import random

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz import make_batch, texts_st

from curate.stages.dedup import cluster
from curate.stages.decontaminate import DecontaminateStage
from curate.stages.linededup import LineDedupStage
from curate.stages.urldedup import UrlDedupStage, normalize_url

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(st.text(max_size=200))
def test_normalize_url_never_raises(url):
    out = normalize_url(url)
    assert out is None or isinstance(out, str)
    assert normalize_url("http://" + url) is None or isinstance(normalize_url("http://" + url), str)


def accounted(batch, kept, ledger):
    ids = batch.column("id").to_pylist()
    assert sorted(kept.column("id").to_pylist() + ledger.column("id").to_pylist()) == sorted(ids)


@SETTINGS
@given(texts=st.lists(texts_st, min_size=1, max_size=8), seed=st.integers(0, 2**32))
def test_stages_account_for_every_document(tmp_path_factory, texts, seed):
    batch = make_batch(texts + texts[:3], random.Random(seed))  # some repeated lines across documents
    ld = LineDedupStage({"max_docs": 1, "domains": ["web", "code", "books"]})
    kept, ledger, stats = ld.apply(batch, ld.frequent_rows(ld.line_rows(batch)))
    accounted(batch, kept, ledger)
    assert stats["linededup.chars_removed"] >= 0
    ud = UrlDedupStage({"domains": ["web", "code", "books"]})
    removals = cluster.best_edges(ud.edges(ud.entries(batch)))
    kept, ledger = ud.apply(batch, removals, cluster.absorbed(removals))
    accounted(batch, kept, ledger)
    ev = tmp_path_factory.mktemp("ev") / "eval.txt"
    ev.write_text("\n".join(t.replace("\n", " ") for t in texts[:2]) + "\n", encoding="utf-8", errors="replace")
    for mode in ("remove", "cut"):
        dc = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": mode}).setup()
        kept, ledger = dc.process(batch)
        accounted(batch, kept, ledger)
        assert kept.schema.field("text").type == pa.large_string()
