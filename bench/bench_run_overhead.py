"""The fixed cost of a pipeline run, whatever its size: what every small run (and every test
that runs the pipeline) pays. CPU seconds (user + system of the process and its reaped
children: pool workers, HTML-extraction helpers), median of --repeat, this tree against a base
revision exported with `git archive` (default main), in the same run:

* in-process: ``curate.cli.main(["run", ...])`` on a 5-document JSON Lines file, --runs times in
  one fresh interpreter, with the default stages and with ``--stages ingest``: the first run
  (models loaded, kernels compiled) and the median of the later ones (what a test pays after
  its process's first run);
* ``curate run`` in a subprocess, default stages (imports, then one run);
* ``curate demo`` once per tree (--demo 0 leaves it out).

Beside the CPU, counts of Beam's work a later in-process run repeats: pickles made and read
(every DoFn, coder and window function of the pipeline's proto), rebuilds of the pipeline
from its proto (Beam's round trip before a runner it does not take for the Fn API's), walks of
a function's bytecode to infer its output type (Beam's construction-time type check), and
bundles the FnApiRunner runs (one a fused stage, at the least).

    python bench/bench_run_overhead.py [--base main] [--tree DIR] [--repeat 5] [--runs 5] [--demo 1]

``--tree DIR``: measure a tree exported there instead of this checkout (a commit measured while
the checkout changes: ``git archive HEAD curate pipelines models | tar -x -C DIR``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

from base_tree import export  # bench/ is first on sys.path

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# one interpreter: the runs' CPU each (self + reaped children), printed as JSON
DRIVER = """
import contextlib, io, json, resource, sys
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
import collections
import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.typehints import trivial_inference
from curate import cli
calls = collections.Counter()  # Beam's work a run repeats, counted (the docstring)
def counted(name, f):
    return lambda *a, **k: calls.update([name]) or f(*a, **k)
pickler.dumps, pickler.loads = counted("pickles", pickler.dumps), counted("unpickles", pickler.loads)
beam.Pipeline.from_runner_api = staticmethod(counted("rebuilds", beam.Pipeline.from_runner_api))
trivial_inference.infer_return_type = counted("inferences", trivial_inference.infer_return_type)
fn_runner.BundleManager.process_bundle = counted("bundles", fn_runner.BundleManager.process_bundle)
args, runs, got = json.loads(sys.argv[1]), int(sys.argv[2]), []
for _ in range(runs):
    t = cpu()
    calls.clear()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = cli.main(args)
    assert code == 0, err.getvalue()
    got.append(cpu() - t)
print("RUNS " + json.dumps(got))
print("CALLS " + json.dumps({k: calls[k] for k in ("pickles", "unpickles", "rebuilds", "inferences", "bundles")}))
"""


def child_cpu(cmd: list[str], tree: str, cwd: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": tree}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), r.stdout


def tiny_input(folder: str) -> str:
    """Five documents of the demo's own generated English (kept by every stage's defaults)."""
    sys.path.insert(0, HERE)
    import random

    from curate.demo import paragraph

    rng = random.Random(1)
    path = os.path.join(folder, "tiny.jsonl")
    with open(path, "w") as f:
        for _ in range(5):
            f.write(json.dumps({"text": "\n\n".join(paragraph(rng, 5) for _ in range(4))}) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5, help="runs in one interpreter (the first is reported apart)")
    ap.add_argument("--demo", type=int, default=1, help="curate demo runs per tree")
    ap.add_argument("--tree", default=HERE, help="the tree measured as 'this' (default: this checkout)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        base = str(export(a.base, os.path.join(root, "base"), ("curate", "pipelines", "models")))
        data = tiny_input(root)
        trees = {a.base: base, "this": a.tree}
        measures: dict[str, dict[str, list[float]]] = {}

        def add(name, tree, values):
            measures.setdefault(name, {}).setdefault(tree, []).extend(values)

        for i in range(a.repeat):
            for label, tree in trees.items():
                out = os.path.join(root, f"out-{label}")
                for stages in ("default", "ingest"):
                    args = ["run", "--input", data, "--domain", "web", "--output", out, "--progress", "off"]
                    args += ["--stages", "ingest"] if stages == "ingest" else []
                    _, stdout = child_cpu([sys.executable, "-c", DRIVER, json.dumps(args), str(a.runs)], tree, root)
                    runs = json.loads(stdout.split("RUNS ", 1)[1].split("\n", 1)[0])
                    for what, n in json.loads(stdout.split("CALLS ", 1)[1]).items():  # the last run's
                        add(f"in-process, {stages} stages: {what} a later run (count)", label, [n])
                    add(f"in-process, {stages} stages: first run", label, runs[:1])
                    add(f"in-process, {stages} stages: later runs", label, [statistics.median(runs[1:])])
                cpu, _ = child_cpu([sys.executable, "-m", "curate.cli", "run", "--input", data, "--domain", "web",
                                    "--output", out, "--progress", "off"], tree, root)
                add("`curate run` subprocess (imports + one run)", label, [cpu])
        for _ in range(a.demo):
            for label, tree in trees.items():
                cpu, _ = child_cpu([sys.executable, "-m", "curate.cli", "demo", "--output", os.path.join(root, f"demo-{label}"),
                                    "--progress", "off"], tree, root)
                add("`curate demo` subprocess", label, [cpu])
        print(f"CPU-s, median of {a.repeat} ({a.runs} runs an interpreter; demo: {a.demo})")
        print(f"{'measure':<58} {a.base:>8} {'this':>8} {'ratio':>6}")
        for name, by in measures.items():
            b, t = statistics.median(by[a.base]), statistics.median(by["this"])
            print(f"{name:<58} {b:>8.2f} {t:>8.2f} {t / b if b else float('nan'):>6.2f}")


if __name__ == "__main__":
    main()
