"""What a user waits for when no pipeline runs: `curate --help`, `curate run --help`, a usage and
a config error, `curate config` (with and without a file), `curate audit OUT` and the loader's
import, this tree against a base revision exported with `git archive` (default main), in the
same run. Each command in a fresh interpreter (bytecode cached, a first round not counted), the
two trees interleaved; best of --rounds wall and CPU (user + system of the child), and whether
it imported Apache Beam.

    python bench/bench_import_cost.py [--base main] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from base_tree import export  # bench/ is first on sys.path

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = """
import atexit, sys
atexit.register(lambda: sys.__stderr__.write("\\nBEAM %d\\n" % ("apache_beam" in sys.modules)))
args = sys.argv[1:]
if args[:1] == ["LOADER"]:
    from curate.loader import TokenDataset
else:
    sys.argv = ["curate", *args]
    from curate.cli import entry
    entry()
"""


def once(tree: str, args: list[str], cwd: str) -> tuple[float, float, bool]:
    # bytecode cached, as an installed curate has it (a first round, not counted, writes it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": tree}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", DRIVER, *args], env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, "BEAM 1" in r.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        base = str(export(a.base, os.path.join(root, "base"), ("curate", "pipelines", "models")))
        data = os.path.join(root, "data")
        os.makedirs(data)
        with open(os.path.join(data, "in.jsonl"), "w") as f:
            f.writelines(json.dumps({"text": f"document {i} says hello to the world"}) + "\n" for i in range(50))
        cfg = os.path.join(data, "x.toml")
        with open(cfg, "w") as f:
            f.write('[run]\noutput = "out"\n\n[[inputs]]\nglob = "in.jsonl"\ndomain = "web"\nformat = "jsonl"\n')
        out = os.path.join(data, "out")
        subprocess.run([sys.executable, "-m", "curate.cli", "run", cfg, "--stages", "ingest", "--progress", "off", "--workers", "1"],
                       cwd=data, env=dict(os.environ, PYTHONPATH=HERE), check=True, capture_output=True)
        commands = {
            "curate --help": ["--help"],
            "curate run --help": ["run", "--help"],
            "curate run --stages nope": ["run", "--stages", "nope"],
            "curate run missing.toml": ["run", "missing.toml"],
            "curate run --bogus x (Beam's options)": ["run", "--bogus", "x"],
            "curate config": ["config"],
            "curate config x.toml": ["config", cfg],
            "curate audit OUT": ["audit", out],
            "import TokenDataset (torch)": ["LOADER"],
        }
        print(f"{'command':<40} {a.base + ' wall/CPU':>17} {'this wall/CPU':>17} {'CPU ratio':>9}  Beam imported (base, this)")
        for name, args in commands.items():
            best = {}
            for tree in (base, HERE):
                once(tree, args, data)  # bytecode written, files in the page cache
            for _ in range(a.rounds):
                for tree in (base, HERE):
                    w, c, beam = once(tree, args, data)
                    w0, c0, _ = best.get(tree, (w, c, beam))
                    best[tree] = (min(w, w0), min(c, c0), beam)
            (wb, cb, bb), (wt, ct, bt) = best[base], best[HERE]
            print(f"{name:<40} {wb:>7.2f}s/{cb:>6.2f}s  {wt:>7.2f}s/{ct:>6.2f}s {ct / cb:>8.2f}x  {'yes' if bb else 'no'}, {'yes' if bt else 'no'}")


if __name__ == "__main__":
    main()
