"""What a rule of your own (``filter.custom``) costs the filter stage, in CPU seconds.

    python bench/bench_custom_rules.py [--corpora ../shared/corpora] [--repeat 5]

The filter stage (default config, one process) over the shared web sample, labelled by langid
as in a run, without and with one custom rule: a rule that removes nothing (the mechanism
alone: selecting the rows, the call, checking the answer), and the README's two example rules,
``too_many_emoji`` (a Python loop over every character) and ``listed_title`` (pyarrow.compute).
The README's module is written to a temporary folder and imported from there, as a user's
would be. Runs are interleaved and the best of ``--repeat`` is kept, in CPU time of this
process, so that a busy machine skews neither side.

Then what hashing a rule's code costs when the config is loaded (``custom.fingerprints``): the
README's module, which imports nothing of the user's (the baseline: its own source only), and
a rule whose module imports a project of ``--modules`` helper modules of ~10 KB each, in a
chain (each imports the next, half of them inside a function), all read and hashed.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_filters import REPO, load_web, mbytes, rows_to_batch  # noqa: E402

from curate.stages.filters import Filter, custom  # noqa: E402
from curate.stages.langid import LangID  # noqa: E402

NOTHING = "import numpy as np\n\n\ndef nothing(batch):\n    return np.zeros(batch.num_rows, bool)\n"


def readme_rules() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return next(b for b in re.findall(r"^```\w*\n(.*?)^```", readme, re.M | re.S) if "def too_many_emoji" in b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--modules", type=int, default=50, help="helper modules of the project the hashing bench's rule imports")
    args = ap.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-custom-")
    Path(folder, "myrules.py").write_text(readme_rules())
    Path(folder, "benchrules.py").write_text(NOTHING)
    sys.path.insert(0, folder)

    web = rows_to_batch(load_web(args.corpora))
    lid = LangID({"languages": "all"})
    lid.setup()
    web = [lid.process(b)[0] for b in web]
    mb, n = mbytes(web), sum(b.num_rows for b in web)

    setups = {
        "built-in rules only": {},
        "+ nothing (removes none)": {"custom": {"nothing": "benchrules:nothing"}},
        "+ too_many_emoji (loop)": {"custom": {"emoji_spam": "myrules:too_many_emoji"}},
        "+ listed_title (pyarrow)": {"custom": {"title_listed": "myrules:listed_title"}},
    }
    filters = {name: Filter(cfg) for name, cfg in setups.items()}
    kept = {}
    for f in filters.values():
        f.setup()
    best = {name: float("inf") for name in setups}
    for _ in range(args.repeat):  # interleaved: each setup sees the same machine
        for name, f in filters.items():
            t = time.process_time()
            kept[name] = sum(f.process(b)[0].num_rows for b in web)
            best[name] = min(best[name], time.process_time() - t)

    base = best["built-in rules only"]
    print(f"filter stage on {n} web documents ({mb:.2f} MB), CPU seconds, best of {args.repeat}:")
    for name, dt in best.items():
        extra = "" if dt is base else f"  {dt - base:+.3f} s ({(dt - base) / base:+.1%}; {(dt - base) / mb * 1e3:+.1f} ms/MB)"
        print(f"  {name:26s} {dt:6.3f} s  {mb / dt:6.2f} MB/s  kept {kept[name]}/{n}{extra}")
    hashing(folder, args.modules, args.repeat)


def hashing(folder: str, modules: int, repeat: int) -> None:
    """custom.fingerprints of the README's rule and of one importing a chain of helper modules."""
    body = "".join(f"def helper_{j}(text):\n    words = text.split()\n    return sum(len(w) > {j % 7} for w in words) / max(1, len(words))\n\n\n"
                   for j in range(80))  # ~10 KB of plain functions
    pkg = Path(folder, "benchproj")
    pkg.mkdir()
    Path(pkg, "__init__.py").write_text("")
    for i in range(modules):
        nxt = f"from benchproj import m{i + 1}\n" if i + 1 < modules else ""
        if i % 2 and nxt:  # an import inside a function: found without being run
            nxt = f"def later():\n    {nxt}"
        Path(pkg, f"m{i}.py").write_text(nxt + "\n\n" + body)
    Path(folder, "projrules.py").write_text("from benchproj import m0\n\n\ndef spam(batch):\n    return [False] * batch.num_rows\n")
    rules = {"README's myrules (baseline)": custom.parse({"emoji_spam": "myrules:too_many_emoji"}, {}),
             f"+ a project of {modules} modules": custom.parse({"spam": "projrules:spam"}, {})}
    best = {name: float("inf") for name in rules}
    for _ in range(repeat):
        for name, r in rules.items():
            t = time.process_time()
            code = custom.fingerprints(r)
            best[name] = min(best[name], time.process_time() - t)
    size = sum(f.stat().st_size for f in pkg.iterdir()) / 1e6
    base = best["README's myrules (baseline)"]
    print(f"hashing a rule's code at config load (custom.fingerprints), CPU seconds, best of {repeat}:")
    for name, dt in best.items():
        hashed = len(next(iter(code.values())).get("imports", []))
        extra = "" if dt is base else (f"  {dt - base:+.4f} s ({dt / base:.0f}x; {hashed} modules, {size:.2f} MB: "
                                       f"{(dt - base) / hashed * 1e3:.2f} ms a module)")
        print(f"  {name:30s} {dt:7.4f} s{extra}")


if __name__ == "__main__":
    main()
