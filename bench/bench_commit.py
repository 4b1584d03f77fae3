"""What the output commit protocol costs: the time spent checking the output directory,
finishing the staged manifest and swapping the files in (``curate.commit``), against the
whole run, on a rerun over a finished output (the case where files are replaced).

    python bench/bench_commit.py [--shards 16] [--repeat 3]

Corpus: every web, code and book file of ../shared/corpora the README's examples use, all
stages. The commit's cost grows with the number of output files (shards x kinds), not with
the data, so it is also measured with ``--shards``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate import cli, commit  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    spent = {"begin": 0.0, "finish": 0.0}
    for name in spent:
        real = getattr(commit, name)

        def timed(*args, _real=real, _name=name, **kw):
            t0 = time.perf_counter()
            try:
                return _real(*args, **kw)
            finally:
                spent[_name] += time.perf_counter() - t0

        setattr(commit, name, timed)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        args = ["run", "--input", str(CORPORA / "web" / "*.jsonl.gz"), "--domain", "web",
                "--input", str(CORPORA / "web" / "*.warc.gz"), "--domain", "web",
                "--input", str(CORPORA / "code" / "code_sample.jsonl.gz"), "--domain", "code",
                "--input", str(CORPORA / "books" / "gutenberg_misc"), "--domain", "books",
                "--shards", str(a.shards), "--output", out, "--progress", "off"]
        assert cli.main(args) == 0  # the first run; then reruns replace it
        print(f"{'rerun':>5s} {'run s':>8s} {'check s':>8s} {'commit s':>9s} {'share':>7s} files")
        for r in range(a.repeat):
            for k in spent:
                spent[k] = 0.0
            t0 = time.perf_counter()
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                assert cli.main(args) == 0
            total = time.perf_counter() - t0
            files = sum(len(fs) for _, _, fs in os.walk(out))
            print(f"{r + 1:5d} {total:8.2f} {spent['begin']:8.3f} {spent['finish']:9.3f} {(spent['begin'] + spent['finish']) / total:7.2%} {files}")


if __name__ == "__main__":
    main()
