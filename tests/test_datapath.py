"""The data path (#16): shuffles carry references and compact rows, not documents; documents
are spilled to files under the staging folder and removed with it; local runs use worker
processes that end with the run. Memory, CPU and wall at scale: bench/bench_datapath.py."""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from curate import cli, config, demo
from pipelines import meter


def _run(tmp_path: Path, corpora: Path, name: str, run_keys: str, monkeypatch) -> tuple[dict, dict]:
    out = tmp_path / name
    (tmp_path / f"{name}.toml").write_text(f'[run]\noutput = "{out}"\nprogress = "off"\n{run_keys}')
    folder = tmp_path / f"meter-{name}"
    folder.mkdir()
    monkeypatch.setenv(meter.ENV, str(folder))
    assert cli.main(["run", str(tmp_path / f"{name}.toml"),
                     "--input", str(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz"), "--domain", "web",
                     "--input", str(corpora / "code/code_sample.jsonl.gz"), "--domain", "code", "--languages", "all"]) == 0
    monkeypatch.delenv(meter.ENV)
    return json.loads((out / "manifest.json").read_text()), meter.totals(str(folder))


@pytest.mark.corpora
def test_shuffles_carry_references_not_documents(tmp_path, corpora, monkeypatch):
    """Every stage, on the Dolma CC sample and the code sample. With documents in the shuffles (run.spill = false) the shuffles
    carry several times the text; spilled, they carry references and compact rows: at most half
    a byte per byte of ingested text (#16 acceptance 2), the documents going to files instead."""
    m_mem, sh_mem = _run(tmp_path, corpora, "memory", "spill = false\nworkers = 1\n", monkeypatch)
    m_spill, sh_spill = _run(tmp_path, corpora, "spilled", "", monkeypatch)
    text = m_spill["stats"]["ingest.bytes_out"]
    assert text == m_mem["stats"]["ingest.bytes_out"] > 0
    per_text = {name: sum(v["bytes"] for v in sh.values()) / text for name, sh in (("memory", sh_mem), ("spilled", sh_spill))}
    assert per_text["memory"] > 2, per_text
    assert per_text["spilled"] <= 0.5, (per_text, sh_spill)
    # where the documents went instead: files under the staging folder, gone after the run
    assert m_spill["staged"]["bytes"] > text and m_mem["staged"]["bytes"] == 0
    assert {k for k in sh_spill} >= {"ingest_partition", "dedup_entries", "dedup_join_docs", "write_text", "tokenize_rows"}
    assert not (tmp_path / "spilled" / ".curate-staging").exists()
    assert m_spill["counts"] == m_mem["counts"]


def test_worker_processes_end_with_the_run(tmp_path):
    cfg = Path(demo.write_demo(str(tmp_path / "demo")))
    before = _children()
    assert cli.main(["run", str(cfg), "--output", str(tmp_path / "out"), "--progress", "off"]) == 0
    assert multiprocessing.active_children() == []
    assert _children() <= before


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        out.add(int(d))
            except (OSError, IndexError):
                pass
    return out


@pytest.mark.parametrize("line, message", [
    ("workers = -1", "run.workers: must be >= 0, got -1"),
    ('spill = "yes"', "run.spill: 'yes' is not one of auto, true, false"),
    ("spill = 1", "run.spill: expected a bool or str, got 1"),
])
def test_data_path_options_checked(tmp_path, line, message):
    p = tmp_path / "c.toml"
    p.write_text(f'[run]\noutput = "o"\n{line}\n')
    with pytest.raises(config.ConfigError, match=message.replace("(", r"\(")):
        config.load(str(p))
