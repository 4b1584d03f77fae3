"""Rules of your own: ``filter.custom``, a function named by its import path.

    [filter.custom]
    emoji_spam = "myrules:too_many_emoji"                                  # every domain
    title_list = {function = "myrules:listed_title", domains = ["web"]}    # scoped as linededup.domains is

The function gets a ``pyarrow.RecordBatch`` of documents (the filter stage's columns: id, text,
domain, source, url, language, language_score, meta, ...) and returns, per row, whether to
REMOVE the document: a list, numpy array or pyarrow array of bools, or ``(remove, value)`` with
one number (or None) per row, written as the ledger's ``value``. It runs after the built-in
rules, on the documents they kept, in its domains only, with the text as it entered the stage
(as the page-level built-in rules see it: before C4's line cleaning, which drops a title line
without a full stop); custom rules run in name order, each on the documents the ones before
kept. A removed document's ledger row names the rule (``rule = "emoji_spam"``).

Everything that can be checked without data is checked when the config is loaded (the module
imports, the attribute is a function, the name is free); what the function does on a batch is
checked on each call, and a mistake stops the run with ``RuleError`` naming the rule.
``fingerprints`` hashes the code of each rule's module and of the user's modules it imports
(curate/user_code.py), so a config whose rule changed is another config (the manifest's
``user_code``).
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
import sys
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa

from curate import user_code
from curate.config import Check, did_you_mean, merge_section, relative_from
from curate.schema import DOMAINS

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SPEC = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
# the table form's keys and defaults; files: those the rule opens itself, hashed with the config
TABLE = {"function": "", "domains": list(DOMAINS), "files": []}
EXAMPLE = '"myrules:too_many_emoji"'


class RuleError(RuntimeError):
    """A custom rule failed on a batch (it raised, or returned something else than one answer
    per document): stops the run, said in one line naming the rule."""


@dataclass(frozen=True)
class CustomRule:
    name: str  # the ledger's rule
    function: str  # "module:attribute"
    domains: tuple
    fn: Callable

    def apply(self, batch: pa.RecordBatch) -> tuple[np.ndarray, list | None]:
        """(remove mask, values or None) of ``batch``; RuleError for anything but one answer per row."""
        try:
            out = self.fn(batch)
        except Exception as e:
            raise RuleError(f"{self.where} raised {type(e).__name__}: {' '.join(str(e).split())[:300]}{_user_frame(e)} on a batch of "
                            f"{batch.num_rows:,} documents (first id {batch.column('id')[0].as_py()})") from None
        values = None
        if isinstance(out, tuple):
            if len(out) != 2:
                raise RuleError(f"{self.where} returned a tuple of {len(out)}; expected the remove flags, or (remove, value)")
            out, values = out
        remove = self._column(out, batch.num_rows, "remove flags")
        if remove.dtype != np.bool_:
            raise RuleError(f"{self.where} returned {_kind(remove)} remove flags; expected True (remove) or False (keep) per document")
        if values is not None:
            values = self._column(values, batch.num_rows, "values")
            try:
                values = [None if v is None else float(v) for v in values.tolist()]
            except (TypeError, ValueError):
                raise RuleError(f"{self.where} returned {_kind(values)} values; expected a number (or None) per document") from None
        return remove, values

    @property
    def where(self) -> str:
        return f"filter.custom.{self.name} ({self.function})"

    def _column(self, x, n: int, what: str) -> np.ndarray:
        if isinstance(x, (pa.Array, pa.ChunkedArray)):
            if what == "values":  # a null is a row without a value (None), as in a list
                x = np.asarray(x.to_pylist(), dtype=object)
            elif x.null_count:
                raise RuleError(f"{self.where} returned {x.null_count} null {what}; give every document one")
            else:
                x = x.to_numpy(zero_copy_only=False)
        elif isinstance(x, (str, bytes, dict)) or not hasattr(x, "__len__"):
            raise RuleError(f"{self.where} returned {type(x).__name__} {x!r:.40} for its {what}; expected one per document "
                            "(a list, numpy array or pyarrow array)")
        else:
            x = np.asarray(x, dtype=None if len(x) else bool)
        if x.ndim != 1 or len(x) != n:
            raise RuleError(f"{self.where} returned {len(x) if x.ndim == 1 else x.shape} {what} for a batch of {n:,} documents; "
                            "return one per row of the batch, in its order")
        return x


def _kind(x: np.ndarray) -> str:
    return "None (null)" if x.dtype == object and any(v is None for v in x.tolist()) else f"{x.dtype}"


def _user_frame(e: BaseException) -> str:
    """' (myrules.py line 7)': where in the user's code it raised: the innermost frame outside
    curate, Python's own modules and installed packages (pyarrow raising for a call of it)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if user_code.is_users(f.filename)]
    return f" ({frames[-1].filename} line {frames[-1].lineno})" if frames else ""


def parse(custom, taken: dict) -> list[CustomRule]:
    """The rules of ``filter.custom``, each imported and checked; ValueError naming the first
    mistake. ``taken``: the names a custom rule may not have (the built-in rules and rule sets,
    other stages' ledger rules), each with what it is."""
    if not isinstance(custom, dict):
        raise ValueError(f"filter.custom: expected a table of rule name = \"module:function\", got {custom!r}")
    rules = []
    for name in sorted(custom):
        where = f"filter.custom.{name}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"{where}: a rule name is lower-case letters, digits and _ (it is the ledger's rule), e.g. emoji_spam")
        if name in taken:
            raise ValueError(f"{where}: {name} is {taken[name]}; give your rule another name")
        spec = custom[name]
        if isinstance(spec, dict):
            spec = merge_section(where, TABLE, spec, checks={"domains": Check(choices=DOMAINS)})
            if not all(isinstance(f, str) and f for f in spec["files"]):
                raise ValueError(f"{where}.files: expected a list of the paths of files the rule opens, got {spec['files']!r}")
            where = f"{where}.function"
        elif isinstance(spec, str):
            spec = {"function": spec, "domains": list(DOMAINS)}
        else:
            raise ValueError(f"{where}: expected an import path {EXAMPLE} or a table {{function = {EXAMPLE}, "
                             f"domains = [\"web\"]}}, got {spec!r}")
        rules.append(CustomRule(name, spec["function"], tuple(spec["domains"]), resolve(where, spec["function"])))
    return rules


def resolve(where: str, spec: str) -> Callable:
    """The function ``spec`` ("package.module:attribute") names, imported now: a mistake is a
    config error, not a failure on a worker."""
    if not _SPEC.fullmatch(spec):
        raise ValueError(f"{where}: expected an import path \"module:function\" (e.g. {EXAMPLE}), got {spec!r}")
    module_name, attr = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):  # the module itself, not one it imports
            raise ValueError(f"{where}: no module named {module_name!r} on the Python path: put its folder on "
                             f"PYTHONPATH (PYTHONPATH=DIR curate run ...) or install it as a package") from None
        raise ValueError(f"{where}: importing {module_name} failed: {type(e).__name__}: {e}{_user_frame(e)}") from None
    except Exception as e:
        raise ValueError(f"{where}: importing {module_name} failed: {type(e).__name__}: {e}{_user_frame(e)}") from None
    obj = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            owner = module_name if i == 0 else f"{module_name}:{'.'.join(attr.split('.')[:i])}"
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ValueError(f"{where}: {owner} ({getattr(module, '__file__', '?')}) has no attribute {part!r}{did_you_mean(part, names)}")
        obj = getattr(obj, part)
    if not callable(obj) or isinstance(obj, type):
        what = ("a class" if isinstance(obj, type) else f"{type(obj).__name__} {obj!r:.40}"
                if isinstance(obj, (int, float, str)) else f"a {type(obj).__name__}")
        raise ValueError(f"{where}: {spec} is {what}, not a function of a batch")
    return obj


def data_files(custom) -> dict:
    """``{"filter.custom.NAME.files[i]": one_file(path)}`` of each file a rule's table says it
    opens itself (``files``): config.load hashes their bytes, as it does the built-in rules' word
    lists (read by the rule, not by curate: without them, an edited list was the same config)."""
    from curate.config import one_file

    tables = {name: spec for name, spec in custom.items() if isinstance(spec, dict)} if isinstance(custom, dict) else {}
    return {f"filter.custom.{name}.files[{i}]": one_file(f) for name, spec in sorted(tables.items())
            for i, f in enumerate(spec.get("files") or []) if isinstance(f, str) and f}


def check_files(custom) -> None:
    """ValueError, as typed, for a rule's ``files`` entry that names no file to hash (config time,
    not on a worker: the rule opens its files itself): a glob, which is not expanded here (what it
    matches, if anything), a folder, or a path to nothing (a relative one: from where curate runs)."""
    import glob as _glob

    from curate.readers import has_magic, is_uri

    for option, (path, _) in data_files(custom).items():
        if is_uri(path) or os.path.isfile(path):
            continue
        if os.path.isdir(path):
            raise ValueError(f"{option}: {path!r} is a folder; name each file")
        matched = sorted(_glob.glob(path)) if any(has_magic(p) for p in path.split(os.sep)) else None
        if matched:
            shown = ", ".join(matched[:3]) + (f" and {len(matched) - 3} more" if len(matched) > 3 else "")
            raise ValueError(f"{option}: {path!r} is a glob (of {len(matched)} file{'s' * (len(matched) != 1)}: {shown}); name each file")
        if matched is not None:
            raise ValueError(f"{option}: {path!r} matches no file (a glob is not expanded here: name each file)")
        if not os.path.lexists(path):
            raise ValueError(f"{option}: no file {path!r}{relative_from(path)}")


def fingerprints(rules: list[CustomRule]) -> dict:
    """``{"filter.custom.NAME": {"function": ..., "sha256": ..., "imports": [...]}}``: a hash of
    the source of the module the import path names, of the files the code it calls is defined in
    (where they differ: _defined_in) and of the user's modules these import (their packages'
    ``__init__.py`` too) (``imports``, where any: user_code.py), so
    that editing the rule or a helper of it makes its config another config."""
    out = {}
    for r in rules:
        module = r.function.split(":")[0]
        defined = _defined_in(r.fn, {module.split(".")[0]})
        # the module's file, then the code's where it differs: in this order, not by path
        # (the same code in other folders, on another machine, is the same config)
        files = list(dict.fromkeys(f for f in (getattr(sys.modules.get(module), "__file__", None), *(f for _, f in defined)) if f))
        h = hashlib.sha256(r.function.encode())
        for f in files:
            h.update(_source(f))
        helpers = {m: f for m, f in user_code.imported_modules({module, *(m for m, _ in defined)}).items() if f not in files}
        for m, f in helpers.items():  # after the rule's own files: a rule importing none of the user's keeps its hash
            h.update(b"\0" + m.encode() + b"\0" + _source(f))
        out[f"filter.custom.{r.name}"] = {"function": r.function, "sha256": h.hexdigest(), **({"imports": list(helpers)} if helpers else {})}
    return out


def _defined_in(fn, own=()) -> list[tuple[str, str]]:
    """[(module name, file)] of the user's code a rule calls besides its module: a function's
    own file; a ``functools.partial``'s wrapped function (a partial of a partial too); a callable
    instance's class and its ``__call__`` (which may be a base class's, elsewhere). Installed
    packages' and Python's files are left out, as user_code.py leaves them out, but for the
    rule's own top-level packages ``own`` (user_code.is_own)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if hasattr(fn, "__code__"):  # a function, a bound method
        code = [(getattr(fn, "__module__", None), fn.__code__.co_filename)]
    else:
        cls, call = type(fn), getattr(type(fn), "__call__", None)
        code = [(cls.__module__, getattr(sys.modules.get(cls.__module__), "__file__", None)),
                (getattr(call, "__module__", None), getattr(getattr(call, "__code__", None), "co_filename", None))]
    return [(m, f) for m, f in code if m and user_code.is_own(f, m, own)]


def _source(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:  # no source on disk (a compiled module): its name alone
        return path.encode()
