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
    in each worker, they cost each worker the load and a private copy. The ledger snippet of the
    page langid removes, its secret redacted, runs no secrets kernel in any process (the scan's
    Python: numba's set-up cost ~0.7 CPU-s and 50-70 MB in each worker that made a snippet)."""
    import fasttext
    import tiktoken.core

    from curate import cli
    from curate.stages import langid, numba_cache, quality, tokenize
    from curate.stages.filters import secrets

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
    # this process as a fresh `curate run`'s, whose stages load no kernel before the fork: numba not set up (an earlier
    # test may have), every character of the scan's Python left; the secrets kernels' calls counted (``_python`` made
    # first, from the kernels themselves)
    monkeypatch.setattr(numba_cache, "_MADE", [False])
    monkeypatch.setitem(secrets._PYTHON, "left", secrets._PYTHON_CHARS)
    secrets._python()
    for name in ("_candidates", "_read_invisible_runs"):
        monkeypatch.setattr(secrets, name, noting(f"kernel {name}", getattr(secrets, name)))
    docs = ["The committee met on Tuesday to discuss the new library building and its opening hours.",
            "Our garden grows tomatoes, beans and sunflowers every summer, and the children help water them.",
            "Der Ausschuss tagte am Dienstag über die neue Bibliothek; das Passwort des Servers ist password = 'Xk9mP2qL7vR4'."]
    (tmp_path / "a.jsonl").write_text("".join(f'{{"text": "{t}"}}\n' for t in docs), encoding="utf-8")
    assert cli.main(["run", "--input", str(tmp_path / "a.jsonl"), "--domain", "web", "--output", str(tmp_path / "out"),
                     "--stages", "ingest,langid,quality,tokenize", "--workers", "2", "--progress", "off"]) == 0
    here = str(os.getpid())
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    ran = {what for pid, what in lines if pid != here}
    assert ran == {"run LangID", "run QualityStage", "run TokenizeStage"}, lines  # the stages ran in the workers ...
    assert not [what for _, what in lines if what.startswith("kernel")], lines  # ... the snippet's scan in Python
    loads = sorted(what for pid, what in lines if pid == here and what.startswith("load"))
    assert loads[:2] == ["load fasttext", "load fasttext"] and len(loads) <= 3, lines  # ... each model loaded here, once
