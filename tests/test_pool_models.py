"""The models a pooled run uses are loaded once, in the launching process, before its workers fork."""
from __future__ import annotations

import os
import sys

import pytest


@pytest.mark.skipif(sys.platform != "linux", reason="forked workers (the pool runs only where fork is)")
def test_a_pooled_run_loads_each_model_once_before_its_workers_fork(tmp_path, monkeypatch):
    """`curate run --workers 2` through langid, quality and tokenize: the language-ID and quality
    models (fastText) and the tokenizer are loaded in this process only (config.load's check
    loads the models, the pipeline's build the tokenizer, each into its process-wide cache, before
    the reader's setup forks the workers), while the workers run those stages with them: loaded
    in each worker, they cost each worker the load and a private copy."""
    import fasttext
    import tiktoken.core

    from curate import cli
    from curate.stages import langid, quality, tokenize

    log = tmp_path / "log"

    def noting(what, fn):
        def noted(*args, **kw):
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {what}\n")
            return fn(*args, **kw)
        return noted

    # a tiktoken encoding an earlier test loaded stays in tiktoken's cache (nothing to count here: that is fine)
    monkeypatch.setattr(fasttext, "load_model", noting("load fasttext", fasttext.load_model))
    monkeypatch.setattr(tiktoken.core.Encoding, "__init__", noting("load tiktoken", tiktoken.core.Encoding.__init__))
    monkeypatch.setattr(tokenize, "hf_tokenizer", noting("load hf", tokenize.hf_tokenizer))
    for cls, method in ((langid.LangID, "process"), (quality.QualityStage, "score"), (tokenize.TokenizeStage, "encode")):
        monkeypatch.setattr(cls, method, noting(f"run {cls.__name__}", getattr(cls, method)))
    docs = ["The committee met on Tuesday to discuss the new library building and its opening hours.",
            "Our garden grows tomatoes, beans and sunflowers every summer, and the children help water them."]
    (tmp_path / "a.jsonl").write_text("".join(f'{{"text": "{t}"}}\n' for t in docs))
    assert cli.main(["run", "--input", str(tmp_path / "a.jsonl"), "--domain", "web", "--output", str(tmp_path / "out"),
                     "--stages", "ingest,langid,quality,tokenize", "--workers", "2", "--progress", "off"]) == 0
    here = str(os.getpid())
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    ran = {what for pid, what in lines if pid != here}
    assert ran == {"run LangID", "run QualityStage", "run TokenizeStage"}, lines  # the stages ran in the workers ...
    loads = sorted(what for pid, what in lines if pid == here and what.startswith("load"))
    assert loads[:2] == ["load fasttext", "load fasttext"] and len(loads) <= 3, lines  # ... each model loaded here, once
