"""What the output commit protocol costs: the time spent checking the output directory,
finishing the staged manifest and swapping the files in (``curate.commit``), against the
whole run, on a rerun over a finished output (the case where files are replaced).

    python bench/bench_commit.py [--shards 16] [--repeat 3]

Each rerun is timed twice, alternately: with fsync (curate's default: every file's bytes
before its rename, the folders after, the manifest last) and without (``output.SYNC = False``,
the commit before fsync was added), so both are measured on the same machine, same load.

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

from curate import cli, commit, output  # noqa: E402

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
        # the seconds spent in fsync, by every process (the forked workers write the shards):
        # appended to a file, one line a call
        fsyncs, real_fsync = os.path.join(tmp, "fsyncs"), os.fsync

        def timed_fsync(fd):
            t0 = time.perf_counter()
            try:
                return real_fsync(fd)
            finally:
                with open(fsyncs, "a") as f:
                    f.write(f"{time.perf_counter() - t0}\n")

        os.fsync = timed_fsync
        args = ["run", "--input", str(CORPORA / "web" / "*.jsonl.gz"), "--domain", "web",
                "--input", str(CORPORA / "web" / "*.warc.gz"), "--domain", "web",
                "--input", str(CORPORA / "code" / "code_sample.jsonl.gz"), "--domain", "code",
                "--input", str(CORPORA / "books" / "gutenberg_misc"), "--domain", "books",
                "--shards", str(a.shards), "--output", out, "--progress", "off"]
        assert cli.main(args) == 0  # the first run; then reruns replace it
        print(f"{'rerun':>5s} {'fsync':>5s} {'run s':>8s} {'check s':>8s} {'commit s':>9s} {'share':>7s} {'fsyncs':>6s} "
              f"{'in fsync s':>10s} files")
        import contextlib
        import io

        totals = {True: [], False: []}
        for r in range(a.repeat):
            for sync in (True, False):
                output.SYNC = sync  # inherited by the forked workers, which write the shards
                for k in spent:
                    spent[k] = 0.0
                open(fsyncs, "w").close()
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    assert cli.main(args) == 0
                total = time.perf_counter() - t0
                totals[sync].append(total)
                files = sum(len(fs) for _, _, fs in os.walk(out))
                with open(fsyncs) as f:
                    calls = [float(line) for line in f]
                print(f"{r + 1:5d} {'on' if sync else 'off':>5s} {total:8.2f} {spent['begin']:8.3f} {spent['finish']:9.3f} "
                      f"{(spent['begin'] + spent['finish']) / total:7.2%} {len(calls):6d} {sum(calls):10.3f} {files}")
        output.SYNC = True
        on, off = sorted(totals[True])[len(totals[True]) // 2], sorted(totals[False])[len(totals[False]) // 2]
        print(f"median run: fsync on {on:.2f} s, off {off:.2f} s: {on / off:.3f}x")
        # what hashing every file the manifest lists would add to a rerun's check (a same-size
        # edit is not seen by sizes): read from the page cache here, as just written
        listed = [rel for rel in commit.owned(commit.read_manifest(out)) if os.path.exists(os.path.join(out, rel))]
        t0 = time.perf_counter()
        for rel in listed:
            output.sha256_file(out, rel)
        spent_hash = time.perf_counter() - t0
        size = sum(os.path.getsize(os.path.join(out, rel)) for rel in listed)
        print(f"sha256 of the {len(listed)} listed files ({size / 1e6:.1f} MB): {spent_hash:.3f} s, "
              f"{spent_hash / on:.2%} of a run ({size / 1e6 / spent_hash:.0f} MB/s)")

if __name__ == "__main__":
    main()
