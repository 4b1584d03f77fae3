"""An input file rewritten, replaced, cut or deleted between a run's plan (its listing: sizes,
ranges of a big file, what a file's copy is) and the end of its read: the run stops with one
line naming the file and writes nothing. It read the plan's ranges of the new bytes (a file
grown past them lost its tail, its manifest entry the new size), or ranges of each version,
without a word. Buckets: tests/test_buckets.py."""
from __future__ import annotations

import json
import os

import pytest

from curate import cli
from curate.readers import list_files, plan_shards
from curate.readers.common import Limits

CHANGED = r"input file \S+ changed \(.*: rewritten, replaced or cut\) after the run listed it"


def lines(path, tag: str, n: int) -> None:
    path.write_text("".join(json.dumps({"id": f"{tag}-{i}", "text": f"Page {i} of the {tag} river, by the harbour wall."}) + "\n"
                            for i in range(n)))


def read_all(shards) -> list[str]:
    """The ids of every document ``ReadShardFn`` reads from ``shards``, as a run's workers do."""
    from pipelines.io import ReadShardFn

    fn = ReadShardFn({}, 1, None)
    fn.setup()
    return sorted(i for s in shards for b in fn.process(s) if hasattr(b, "column") for i in b.column("source_id").to_pylist())


def test_a_file_rewritten_after_the_plan_stops_the_run(tmp_path, capsys, monkeypatch, one_process_runs):
    """`curate run` on a JSON Lines file read in ranges (limits.split_bytes), rewritten longer
    after the run listed it: before, the run read the planned ranges of the new bytes and
    succeeded (31 of its 45 documents, the manifest saying the new size); now one line names
    the file and nothing is written."""
    from pipelines import pipeline

    inp, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines(inp, "old", 30)
    real = pipeline.run

    def rewritten_after_the_plan(cfg, shards, *args, **kwargs):
        assert len(shards) > 1  # ranges
        lines(inp, "new", 45)
        return real(cfg, shards, *args, **kwargs)

    monkeypatch.setattr(pipeline, "run", rewritten_after_the_plan)
    rc = cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(out), "--progress", "off",
                   "--set", "limits.split_bytes=1000"])
    err = capsys.readouterr().err
    assert rc == 1, err
    said = [line for line in err.splitlines() if not line.startswith("WARNING:")]  # Beam's own logging
    assert len(said) == 1 and said[0].startswith(f"curate: input file {inp} changed (") and "no output was written" in said[0], err
    assert not (out / "manifest.json").exists()


def replace_keeping_times(path, text: str) -> None:
    """``path`` replaced by a new file of the same size and times (a `cp -p` then `mv`): only its inode tells."""
    st = os.stat(path)
    new = path.with_name("new.tmp")
    new.write_text(text)
    assert new.stat().st_size == st.st_size
    os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(new, path)


@pytest.mark.parametrize("how", ["appended", "cut", "replaced_same_size_and_times"])
def test_a_file_changed_since_its_plan_is_said_by_its_reader(tmp_path, how):
    """A worker reading a shard planned before its file changed raises, naming the file (the
    last range read, the file's fingerprint taken); the same file unchanged reads whole. (One
    deleted is said by check_on_worker: not on the worker, or deleted since.)"""
    inp = tmp_path / "in.jsonl"
    lines(inp, "old", 20)
    limits = Limits(split_bytes=600)
    shards = plan_shards(list_files(str(inp)), None, "web", "s", {}, limits)
    assert len(shards) > 2
    assert read_all(shards) == sorted(f"old-{i}" for i in range(20))
    if how == "appended":
        with open(inp, "a") as f:
            f.write(json.dumps({"text": "one more page"}) + "\n")
    elif how == "cut":
        os.truncate(inp, inp.stat().st_size // 2)
    else:
        replace_keeping_times(inp, inp.read_text().replace("old", "new"))
    with pytest.raises(Exception, match=CHANGED) as e:  # noqa: PT011 - what a user reads is the point
        read_all(shards)
    assert str(inp) in str(e.value)
