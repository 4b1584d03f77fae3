"""Jupyter notebooks as scripts: the code cells as they are, markdown and raw cells as comments.

A notebook file is JSON: cells, each with its source, and for code cells their outputs (printed
text, tables, base64 PNGs that make up most of a notebook's bytes). Read as text it is JSON
syntax around escaped code; StarCoder converted notebooks to scripts in the kernel's language
(jupytext), and curate does the same: outputs, execution counts, attachments and metadata are
dropped, markdown images embedded as base64 data URIs are removed, IPython's ``%magic`` and
``!shell`` lines become comments in Python so the script is Python. nbformat 4 (cells) and 3
(worksheets of cells, ``input`` for ``source``) are read.
"""
from __future__ import annotations

import json
import re
import tokenize

from curate.readers.common import without_bom
from curate.readers.languages import EXTENSIONS

# kernel and kernel language names that differ from curate's (readers/code.py); others are taken
# as they are. Kernel spec names: IRkernel's ir, nb_conda_kernels' py (conda-root-py), sparkmagic's,
# IJavascript's, gophernotes, evcxr (Rust), .NET Interactive's, xeus-cling's xcpp, ...
_KERNEL_LANGUAGES = {"ipython": "python", "py": "python", "pyspark": "python", "pysparkkernel": "python",
                     "ir": "r", "xr": "r", "sparkr": "r", "sparkrkernel": "r", "spark": "scala", "sparkkernel": "scala",
                     "almond": "scala", "apache_toree_scala": "scala", "bash": "shell", "sh": "shell", "zsh": "shell",
                     "cpp": "c++", "xcpp": "c++", "cling": "c++", "csharp": "c#", ".net-csharp": "c#",
                     ".net-powershell": "powershell", "pwsh": "powershell", "node": "javascript", "nodejs": "javascript",
                     "ijavascript": "javascript", "tslab": "typescript", "deno": "typescript", "gophernotes": "go",
                     "gonb": "go", "evcxr": "rust", "iruby": "ruby", "ihaskell": "haskell", "ijava": "java",
                     "xsql": "sql", "xsqlite": "sql", "sqlite": "sql", "ielixir": "elixir", "clojupyter": "clojure"}
_VERSION = re.compile(r"[-_ ]?v?[\d.]+$")  # python3, julia-1.9, xcpp17, scala212
_CONDA = re.compile(r"^conda-(?:root|base|env-.+)-(?=.)")  # nb_conda_kernels: conda-root-py, conda-env-NAME-r
# line comment of each language a notebook kernel commonly runs
_COMMENT = {**{lang: "#" for lang in "python r julia shell ruby perl powershell elixir nim tcl".split()},
            **{lang: "//" for lang in "c c++ c# java javascript typescript go rust kotlin scala groovy swift dart".split()},
            **{lang: "--" for lang in "haskell lua sql".split()},
            **{lang: ";;" for lang in "lisp scheme clojure".split()},
            "erlang": "%", "fortran": "!"}
# ![alt](data:image/png;base64,...) and <img src="data:..."> in markdown, else a bare data URI's payload
_DATA_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*data:[^)]*\)|<img\b[^>]*\bsrc\s*=\s*[\"']data:[^>]*>", re.I)
_DATA_URI = re.compile(r"(data:[\w.+/-]+;base64,)[A-Za-z0-9+/=\s]{16,}")
_MAGIC = re.compile(r"^(\s*)(%|!(?!=))", re.M)  # IPython: %matplotlib inline, %%time, !pip install x (not "!= y")


class NotebookError(ValueError):
    """A file that is not a notebook: ``reason`` names it for the quarantine."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _source(cell: dict) -> str:
    src = cell.get("source", cell.get("input", ""))
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    if not isinstance(src, str):
        raise NotebookError("bad_notebook", f"a cell's source is a {type(src).__name__}, not text")
    return src


def kernel_language(nb: dict) -> str | None:
    """The notebook's programming language in curate's names: language_info's name (nbformat 4
    requires it there), else the kernel spec's language; where neither is said, the first of
    language_info's file extension, the kernel spec's name (``conda-env-myenv-py``, ``ir``,
    ``julia-1.9``) and its display name's first word (``Python 3 (myenv)``) that names a language
    curate writes scripts in, else the first given (unknown_language), None when none is. Python
    when the notebook has no language or kernel metadata at all (IPython's had no kernels)."""
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    info = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
    spec = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
    if not info and not spec:
        return "python"
    said = _language_named(info.get("name")) or _language_named(spec.get("language"))
    if said:  # the language, said
        return said
    ext, display = info.get("file_extension"), spec.get("display_name")
    names = [EXTENSIONS.get(ext.lower().lstrip(".")) if isinstance(ext, str) else None, _language_named(spec.get("name")),
             _language_named((display.split() or [None])[0] if isinstance(display, str) else None)]
    return next((n for n in names if n in _COMMENT), next((n for n in names if n), None))


def _language_named(name) -> str | None:
    """curate's name of a kernel or its language (None for no name): version suffixes dropped,
    nb_conda_kernels' prefix (conda-env-NAME-) dropped, then _KERNEL_LANGUAGES."""
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip().lower()
    name = _CONDA.sub("", _VERSION.sub("", name) or name)
    return _KERNEL_LANGUAGES.get(name, name)


def notebook_script(raw: str) -> tuple[str, str, dict]:
    """(script, language, meta) of a notebook's JSON text; NotebookError when it is not a
    notebook or its language has no comment syntax here."""
    try:
        nb = json.loads(without_bom(raw))  # a BOM: a dump's text field saved by a Windows tool
    except (ValueError, RecursionError) as e:  # RecursionError: nested past Python's limit, a hostile file
        raise NotebookError("bad_notebook", f"not JSON: {str(e)[:200]}") from None
    if not isinstance(nb, dict):
        raise NotebookError("bad_notebook", f"a JSON {type(nb).__name__}, not a notebook object")
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in (ws.get("cells") or [])]
    if not isinstance(cells, list):
        raise NotebookError("bad_notebook", "no list of cells: not a Jupyter notebook")
    language = kernel_language(nb)
    comment = _COMMENT.get(language or "")
    if comment is None:
        raise NotebookError("unknown_language", f"kernel language {language!r}: no comment syntax to write its markdown in")
    parts, counts = [], {"code": 0, "markdown": 0, "raw": 0}
    for cell in cells:
        if not isinstance(cell, dict):
            raise NotebookError("bad_notebook", f"a cell is a JSON {type(cell).__name__}, not an object")
        kind = cell.get("cell_type")
        src = _source(cell).strip("\n")
        if kind == "code":
            if language == "python" and _MAGIC.search(src):
                src = _comment_magics(src)
        elif kind in ("markdown", "raw", "heading"):  # heading: nbformat 3
            src = _DATA_URI.sub(r"\1", _DATA_IMAGE.sub("", src)).strip("\n")
            src = "\n".join(f"{comment} {line}".rstrip() for line in src.split("\n")) if src.strip() else ""
            kind = "raw" if kind == "raw" else "markdown"
        else:
            continue
        counts[kind] += 1
        if src.strip():
            parts.append(src)
    script = "\n\n".join(parts) + ("\n" if parts else "")
    meta = {"notebook": {"code_cells": counts["code"], "markdown_cells": counts["markdown"] + counts["raw"],
                         "bytes": len(raw.encode("utf-8", "surrogatepass"))}}
    return script, language, meta


def _comment_magics(src: str) -> str:
    """A Python cell with its IPython lines (``%magic``, ``!shell``) as comments. IPython reads
    one only where a statement starts, so a line inside brackets, a string or after a
    backslash (``% (a, b)`` continuing a format) is Python's and kept: Python's tokenizer,
    fed line by line, tells where a statement starts (code it cannot read: every such line)."""
    lines = iter(src.splitlines(keepends=True))
    out, state = [], {"depth": 0, "start": 0}  # start: the line a statement starts on next

    def readline() -> str:
        line = next(lines, "")
        if line and (state["depth"] == 0 and state["start"] == len(out) or state["depth"] < 0):
            line = _MAGIC.sub(r"\1# \2", line, count=1)
        out.append(line)
        return line

    try:
        for t in tokenize.generate_tokens(readline):
            if t.type == tokenize.OP and t.string in "([{":
                state["depth"] += 1
            elif t.type == tokenize.OP and t.string in ")]}":
                state["depth"] = max(0, state["depth"] - 1)
            elif t.type in (tokenize.NEWLINE, tokenize.NL) and state["depth"] == 0:
                state["start"] = t.end[0]
    except (tokenize.TokenError, SyntaxError):  # unreadable past here (an IndentationError): every such line
        state["depth"] = -1
    while readline():
        pass
    return "".join(out)


def is_notebook_record(language: str | None, path: str | None) -> bool:
    """A JSONL/Parquet code record holding a notebook: The Stack's label or an .ipynb path."""
    # a path that is no text (a record's meta.file_path of 5) names no notebook
    return (language or "").replace("-", " ") in ("jupyter notebook", "jupyter") or isinstance(path, str) and path.lower().endswith(".ipynb")
