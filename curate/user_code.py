"""The user's own modules a module imports: what a rule of one's own (``filter.custom``) runs
besides its own file, so that its config hash covers it.

Found by reading, never running: the packages a module is in (their ``__init__.py`` runs on
import) and each file's ``import`` and ``from ... import`` statements
(anywhere in it: a function's own imports too) are parsed with ``ast``; a module already
imported is located by its ``__file__``, one not imported yet as Python's finders would (which
execute nothing). Followed only into Python source files of the user's: not the standard
library, installed packages (site-packages, dist-packages) nor curate itself, whose versions
are the environment's, except the rule's own top-level package wherever it is installed; C extensions and the data files a rule reads are not followed. Bounded
(``MAX_MODULES``) and deterministic (breadth first, by name).
"""
from __future__ import annotations

import ast
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

MAX_MODULES = 500  # the user's modules followed from one rule: a project, not an environment

_CURATE = str(Path(__file__).resolve().parent.parent)  # curate's own checkout or installation
_NOT_USERS = tuple(sorted({os.path.realpath(p) + os.sep for p in (
    sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")) if p}))


def is_users(path: str | None) -> bool:
    """A file of the user's: not the standard library, an installed package or curate."""
    if not path or not os.path.isabs(path):  # <frozen ...>, <string>, pyarrow's *.pxi
        return False
    real = os.path.realpath(path)
    if any(part in ("site-packages", "dist-packages") for part in Path(real).parts):
        return False
    return not real.startswith(_NOT_USERS) and not any(
        real.startswith(os.path.join(_CURATE, pkg) + os.sep) for pkg in ("curate", "pipelines"))


def is_own(path: str | None, name: str | None, own) -> bool:
    """A file of the user's (is_users), or of module ``name`` in one of the top-level packages
    ``own`` (the rule's own package, a user's even where installed in site-packages: rules
    packaged for a cluster's workers are installed there too), curate's own left out."""
    top = (name or "").split(".")[0]
    return is_users(path) or bool(path and os.path.isabs(path) and top in own and top not in ("curate", "pipelines"))


def imported_modules(names) -> dict[str, str]:
    """``{module name: source file}`` of the user's modules that the modules ``names`` import,
    directly or through one another (``names`` themselves left out), at most MAX_MODULES. The
    packages ``names`` are in come first: importing ``a.b.rules`` runs ``a`` and ``a.b``. The
    top-level packages of ``names`` are followed wherever they are installed (is_own)."""
    start = set(names)
    own = {name.split(".")[0] for name in start}
    parents = {name.rsplit(".", i)[0] for name in start for i in range(1, name.count(".") + 1)}
    seen, out, todo = start | parents, {}, sorted(start | parents)
    while todo:
        found = set()
        for name in todo:
            if len(out) == MAX_MODULES:
                return dict(sorted(out.items()))
            path = module_file(name)
            if path is None or not path.endswith(".py") or not is_own(path, name, own):
                continue
            if name not in start:
                out[name] = path
            found |= _imports(name, path) - seen
        seen |= found
        todo = sorted(found)
    return dict(sorted(out.items()))


def module_file(name: str) -> str | None:
    """The file module ``name`` is (or would be) loaded from, without importing it."""
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__file__", None)
    parent, _, part = name.rpartition(".")
    if parent:
        return _find(_folders(parent), part)[0]
    spec = _top_level_spec(name)
    return spec.origin if spec is not None and spec.has_location else None


def _folders(package: str) -> list[str]:
    """The folders the submodules of ``package`` are in ([] for none), without importing it."""
    module = sys.modules.get(package)
    if module is not None:
        return list(getattr(module, "__path__", None) or [])
    parent, _, part = package.rpartition(".")
    if parent:
        return _find(_folders(parent), part)[1]
    spec = _top_level_spec(package)
    return list(spec.submodule_search_locations or []) if spec is not None else []


def _top_level_spec(name: str):
    try:  # every finder on sys.meta_path (an editable install's too): none runs the module
        return importlib.util.find_spec(name)
    except Exception:  # noqa: BLE001 - a finder's own error: not found
        return None


def _find(folders: list[str], part: str) -> tuple[str | None, list[str]]:
    """(source file, folders of its submodules) of ``part`` in a package's ``folders``, as Python's
    path finder looks: a package (``part/__init__.py``) or module (``part.py``) in the first folder
    that has one, else a namespace package of every ``part/`` folder (whose own path Python
    computes from its parent's, imported: ``importlib``'s finder needs the parent imported)."""
    portions = []
    for folder in folders:
        d = os.path.join(folder, part)
        if os.path.isfile(os.path.join(d, "__init__.py")):
            return os.path.join(d, "__init__.py"), [d]
        if os.path.isfile(d + ".py"):
            return d + ".py", []
        if os.path.isdir(d):
            portions.append(d)
    return None, portions


def _imports(name: str, path: str) -> set[str]:
    """The modules the file of module ``name`` names in its import statements (a package's too:
    importing ``a.b`` runs ``a``; ``from a import b`` may name the module ``a.b``)."""
    try:
        tree = ast.parse(Path(path).read_bytes(), path)
    except (OSError, SyntaxError, ValueError):
        return set()
    package = name if Path(path).name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            bases = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module
            except (ImportError, ValueError):  # beyond the top-level package
                continue
            bases = [base] + [f"{base}.{a.name}" for a in node.names if a.name != "*"]
        else:
            continue
        for base in bases:
            parts = base.split(".")
            out |= {".".join(parts[: i + 1]) for i in range(len(parts))}
    return out


def _statements(nodes):
    """Every statement, in blocks too (a function's, an ``if``'s, a ``try``'s): where an import
    can be, without walking the expressions (most of a file's nodes)."""
    for node in nodes:
        yield node
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                yield from _statements(inner)
