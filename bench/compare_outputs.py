"""Compare two curate output folders: byte for byte, except what names the run itself.

    python bench/compare_outputs.py OLD_OUT NEW_OUT

Parquet shards (text, ledger, quarantine, tokens) must be identical bytes. JSON files
(manifest.json, tokens.json, stats/run.json) must be equal after removing the
versions and config hashes and replacing each folder's own path by "OUT" and its parent's
by "PARENT" (the demo's inputs lie next to its output). Used to show a
refactor changed no output (issue 15); exits 1 and lists the differences otherwise.
"""
from __future__ import annotations

import json
import os
import sys

IGNORED_KEYS = {"versions", "config_hash", "curate_version"}


def _normalise(x, root: str):
    if isinstance(x, dict):
        return {k: _normalise(v, root) for k, v in x.items() if k not in IGNORED_KEYS}
    if isinstance(x, list):
        return [_normalise(v, root) for v in x]
    if isinstance(x, str):
        return x.replace(root, "OUT").replace(os.path.dirname(root), "PARENT")
    return x


def files(root: str) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}


def compare(old: str, new: str) -> list[str]:
    old, new = os.path.abspath(old), os.path.abspath(new)
    a, b = files(old), files(new)
    diffs = [f"only in {old}: {p}" for p in sorted(a - b)] + [f"only in {new}: {p}" for p in sorted(b - a)]
    for rel in sorted(a & b):
        x, y = os.path.join(old, rel), os.path.join(new, rel)
        if rel.endswith(".json"):
            with open(x) as f1, open(y) as f2:
                same = _normalise(json.load(f1), old) == _normalise(json.load(f2), new)
        else:
            with open(x, "rb") as f1, open(y, "rb") as f2:
                same = f1.read() == f2.read()
        if not same:
            diffs.append(f"differs: {rel}")
    return diffs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    diffs = compare(*argv)
    for d in diffs:
        print(d)
    n = len(files(argv[0]))
    print(f"{n} files compared: {'identical' if not diffs else f'{len(diffs)} differences'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
