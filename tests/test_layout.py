"""The layout rules of docs/architecture.md, read from the source with ``ast``:

* every module of curate/ and pipelines/ imports;
* the import graph (module-level and function-level imports alike) has no cycle;
* the library (curate/) never imports pipelines/, except the entry points curate.cli and
  curate.demo, which nothing in curate/ imports in turn;
* the stage table declares every stage the rest of the code names.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINTS = {"curate.cli", "curate.demo", "curate.__main__"}


def modules() -> dict[str, Path]:
    out = {}
    for pkg in ("curate", "pipelines"):
        for f in sorted((REPO / pkg).rglob("*.py")):
            parts = list(f.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def imported(name: str, path: Path, known: dict) -> set[str]:
    """The curate/pipelines modules ``name`` imports. ``from pkg import sub`` is an import of
    the submodule ``pkg.sub`` when that is a module, else of ``pkg``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            found.update(subs or [mod])
    out = set()
    for m in found:
        while m and m not in known:
            m = m.rpartition(".")[0]
        if m and m != name:
            out.add(m)
    return out


GRAPH = {m: imported(m, p, modules()) for m, p in modules().items()}


def cycles(graph: dict) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_every_module_imports():
    for name in modules():
        importlib.import_module(name)


def test_no_import_cycle():
    assert cycles(GRAPH) == []
    # the check sees a cycle when there is one
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_library_does_not_import_pipelines():
    upward = {m: sorted(d for d in deps if d.startswith("pipelines")) for m, deps in GRAPH.items() if m.startswith("curate.")}
    assert {m: d for m, d in upward.items() if d and m not in ENTRY_POINTS} == {}
    assert {m for m, deps in GRAPH.items() if deps & ENTRY_POINTS} <= ENTRY_POINTS  # the top of the graph


def test_stage_table_names_every_stage():
    from curate import config, schema, stages

    assert schema.STAGES == stages.NAMES and stages.NAMES[0] == "ingest"
    assert set(schema.STAGE_FIELDS) == {c for s in stages.TABLE for c in s.columns}
    for spec in stages.TABLE:
        cls = stages.stage_class(spec.name)
        assert isinstance(cls.DEFAULTS, dict), spec.name
        if spec.transform:
            stages.load(spec.transform)  # names a real transform
        assert set(spec.needs) <= set(stages.NAMES) - {spec.name}
        assert f"[{spec.name}]" in config.defaults_toml()  # `curate config` lists every stage's section


def test_stages_receive_what_they_need(tmp_path):
    """rebalance gets tokenize's section and tokenize rebalance's, through the stage context."""
    from curate import config
    from pipelines.pipeline import stage_transform

    cfg = config.load(None, {"rebalance": {"targets": {"web": 0.7, "code": 0.3}}, "tokenize": {"seq_len": 4096}})
    assert stage_transform(["tokenize"], cfg, str(tmp_path)).targets == {"web": 0.7, "code": 0.3}
    assert stage_transform(["rebalance"], cfg, str(tmp_path)).tok_cfg["seq_len"] == 4096
    cfg = config.load(None, {"run": {"stages": ["tokenize"]}, "rebalance": {"targets": {"web": 1.0}}})
    assert stage_transform(["tokenize"], cfg, str(tmp_path)).targets is None  # rebalance does not run


def test_consecutive_per_batch_stages_are_one_step():
    """Stages without a global step that follow each other run as one pooled step."""
    from pipelines.pipeline import stage_steps

    assert stage_steps(["langid", "filter", "dedup", "quality"]) == [["langid", "filter"], ["dedup"], ["quality"]]
    assert stage_steps(["langid", "urldedup", "filter"]) == [["langid"], ["urldedup"], ["filter"]]


def test_every_bench_script_is_listed_in_docs_benchmarks():
    """docs/benchmarks.md is where the README sends readers for what each bench measures."""
    listed = (REPO / "docs" / "benchmarks.md").read_text()
    missing = [p.name for p in sorted((REPO / "bench").glob("*.py")) if f"`bench/{p.name}`" not in listed]
    assert not missing, missing
