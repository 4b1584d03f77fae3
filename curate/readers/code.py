"""Source trees: one document per source file; ``shard.rel`` is its path inside the tree.

The programming language comes from the extension (or the file name, or a shebang line for
extensionless scripts), with The Stack's names lowercased so tree and JSONL inputs agree.
Files that are readable but should not be trained on reach the ledger with a reason:
vendored copies of other projects (they duplicate their upstream and are not this tree's
code), dependency lock files, minified bundles, oversized files (generated data, not code)
and files of no known language. Binary files cannot be text and go to quarantine.

A Jupyter notebook (``.ipynb``) becomes a script in its kernel's language (readers/notebook.py).

Options: ``max_file_bytes`` (default 1 MiB; a notebook's script), ``max_notebook_bytes`` (default
16 MiB: a notebook file, outputs included), ``max_mean_line_length`` (default 200).
"""
from __future__ import annotations

import functools
import os
import posixpath
import re
from typing import Iterator, Optional

from curate.readers.common import Bad, Doc, Limits, Shard, compression, decode_text, input_size, looks_binary, open_bytes, with_wide_bom
from curate.readers.languages import EXTENSIONS
from curate.readers.meta import name_meta
from curate.readers.notebook import NotebookError, notebook_script

MAX_FILE_BYTES = 1 << 20
MAX_NOTEBOOK_BYTES = 16 << 20  # outputs (base64 plots, tables) are most of a notebook's bytes
MAX_MEAN_LINE_LENGTH = 200  # real code averages < 100 chars a line; minified bundles thousands
SKIPPED_TEXT_CHARS = 1000  # a skipped file keeps only this much text: the ledger shows a snippet
BINARY = "NUL or control bytes in the first 8 KiB: not a source file"  # a quarantine row's detail, tree or dump

FILENAMES = {
    "makefile": "makefile",
    "gnumakefile": "makefile",
    "dockerfile": "dockerfile",
    "cmakelists.txt": "cmake",
    "rakefile": "ruby",
    "gemfile": "ruby",
}
# interpreter in a "#!" line -> language (version suffixes such as python3.11 are dropped)
INTERPRETERS = {
    "python": "python",
    "pypy": "python",
    "sh": "shell",
    "bash": "shell",
    "dash": "shell",
    "zsh": "shell",
    "ksh": "shell",
    "perl": "perl",
    "ruby": "ruby",
    "node": "javascript",
    "nodejs": "javascript",
    "deno": "typescript",
    "tclsh": "tcl",
    "wish": "tcl",
    "expect": "tcl",
    "php": "php",
    "lua": "lua",
    "rscript": "r",
    "awk": "awk",
    "gawk": "awk",
    "sed": "sed",
    "pwsh": "powershell",
}
# Dependency lock files: written by package managers (hashes, URLs, resolved versions), never
# code; linguist and go-enry, whose generated-file test The Stack v2 applies, mark them generated.
# JSON and YAML ones would often pass the code rules (package-lock.json is indented JSON).
LOCK_FILES = frozenset(
    "package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml bun.lock cargo.lock composer.lock gemfile.lock "
    "pipfile.lock poetry.lock pdm.lock uv.lock go.sum gopkg.lock glide.lock flake.lock pubspec.lock mix.lock "
    "podfile.lock package.resolved packages.lock.json deno.lock gradle.lockfile".split()
)
# Directories holding copies of other projects or tool state, never this tree's own code.
VENDORED_DIRS = frozenset(
    "node_modules bower_components jspm_packages vendor vendors third_party third-party thirdparty "
    "3rdparty site-packages dist-packages __pycache__ .venv venv .tox .git .hg .svn .bzr pods carthage".split()
)


def extension(path: str) -> str:
    """The last extension, lowercased, without the dot ('' if none)."""
    return posixpath.splitext(posixpath.basename(path))[1][1:].lower()


def shebang_language(head: str) -> Optional[str]:
    """Language from a '#!' first line: '#!/usr/bin/env -S python3 -u' -> 'python'."""
    if not head.startswith("#!"):
        return None
    words = head[2:].split("\n", 1)[0].split()
    if words and posixpath.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None
    name = re.sub(r"[\d.]+$", "", posixpath.basename(words[0]).lower())
    return INTERPRETERS.get(name)


def detect_language(path: str, head: str = "") -> Optional[str]:
    """Programming language of a file from its name, else from a shebang in ``head``."""
    name = posixpath.basename(path).lower()
    lang = FILENAMES.get(name) or EXTENSIONS.get(extension(path))
    if lang is None and (name == ".env" or name.startswith(".env.")):  # .env.local, .env.production: linguist's Dotenv
        lang = "dotenv"  # (direnv's .envrc, a shell script, is not: linguist gives it no language)
    return lang or shebang_language(head)


def is_vendored(path: str, root: str | None = None) -> bool:
    """A file in a folder of other projects' copies or tool state (VENDORED_DIRS), or, given the
    tree's ``root`` on disk, in a Python virtualenv under any name (`python -m venv .env`, env/,
    py311/): one of the venv's own parts (_in_venv) in a folder inside the tree holding the
    pyvenv.cfg every venv has (PEP 405) and an interpreter."""
    names = path.split("/")
    if any(part.lower() in VENDORED_DIRS for part in names[:-1]):
        return True
    return root is not None and any(
        _in_venv(names[i + 1:]) and _is_virtualenv(os.path.join(root, *names[: i + 1])) for i in range(len(names) - 1))


def _in_venv(rest: list[str]) -> bool:
    """Whether a file at ``rest`` under a venv's folder is the venv's: its pyvenv.cfg, bin/ (Scripts/),
    include/, lib/pythonX.Y/ (Lib/). Not the rest: a venv made in a project's own folder (`python
    -m venv .` in services/api/) sits beside the project's files, and lib/helpers.py is one."""
    first = rest[0]
    if len(rest) == 1:
        return first == "pyvenv.cfg"
    return first in ("bin", "Scripts", "include", "Include", "Lib") or (
        first in ("lib", "lib64") and len(rest) > 2 and rest[1].startswith(("python", "pypy")))


@functools.lru_cache(maxsize=4096)  # a folder is asked about once per file under it
def _is_virtualenv(folder: str) -> bool:
    """A pyvenv.cfg and the interpreter the venv module (or virtualenv) puts beside it: a project's
    tests/data/ shipping a sample pyvenv.cfg is no venv."""
    return os.path.isfile(os.path.join(folder, "pyvenv.cfg")) and any(
        os.path.lexists(os.path.join(folder, *p)) for p in (("bin", "python"), ("bin", "python3"), ("Scripts", "python.exe")))


# Text formats: a long line is a paragraph (editors that soft-wrap write one per line), never a
# bundle, so the minified test does not apply; the filter judges them with its markup limits.
PROSE = frozenset({"markdown", "restructuredtext", "tex"})


def is_lock_file(path: str) -> bool:
    return posixpath.basename(path).lower() in LOCK_FILES


def minified(path: str, text: str, max_mean: float = MAX_MEAN_LINE_LENGTH):
    """(value, threshold) if the file looks minified, else None (usable on JSONL records too)."""
    if path.lower().endswith((".min.js", ".min.mjs", ".min.css")):
        return None, None
    lines = text.count("\n") + (not text.endswith("\n"))
    mean = (len(text) - text.count("\n")) / max(lines, 1)
    return (mean, max_mean) if mean > max_mean else None


def read_source(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    path = shard.rel
    max_bytes = int(shard.opt("max_file_bytes", MAX_FILE_BYTES))
    max_mean = float(shard.opt("max_mean_line_length", MAX_MEAN_LINE_LENGTH))
    meta = {"file_path": name_meta(path), "extension": extension(path)}  # escaped as any meta text (b'x.py was bytes)

    def skip(text, rule, value=None, threshold=None, language=None, whole=True):
        """The ledger's row of a skipped file: a snippet of ``text``, and its length where it is
        the whole file (``whole``; the start of a file read no further: the snippet's, a lower bound)."""
        return Doc(
            text=text[:SKIPPED_TEXT_CHARS], offset=0, language=language, meta=meta,
            skip_rule=rule, skip_value=value, skip_threshold=threshold, skip_chars=len(text) if whole else None,
        )

    if os.path.islink(shard.path) and not os.path.exists(shard.path):  # a link to a file not built, not checked out
        yield Bad(0, "broken_symlink", f"a link to {os.readlink(shard.path)}, which does not exist: not read")
        return
    if os.path.islink(shard.path):  # a link out of the tree (a checkout's config -> ~/secrets): not this tree's code
        root = os.path.realpath(shard.path[: -len(shard.rel)] or ".")
        target = os.path.realpath(shard.path)
        if not target.startswith(root.rstrip(os.sep) + os.sep):
            yield Bad(0, "symlink_outside_tree", f"a link to {target}, outside the input tree: not read")
            return
    root = shard.path[: -len(shard.rel)] if shard.path.endswith(shard.rel) else None  # the tree on disk
    skipped = "vendored" if is_vendored(path, root) else "lock_file" if is_lock_file(path) else None
    if skipped:  # logged, never kept: a snippet is enough, whatever the file holds
        with open_bytes(shard.path, limits) as f:
            head = f.read(SKIPPED_TEXT_CHARS).decode("utf-8", "replace")
        yield skip(head, skipped, language=detect_language(path), whole=False)
        return
    notebook = extension(path) == "ipynb"
    read_max = int(shard.opt("max_notebook_bytes", MAX_NOTEBOOK_BYTES)) if notebook else max_bytes
    with open_bytes(shard.path, limits) as f:
        data = f.read(read_max + 1)
    if looks_binary(with_wide_bom(data)):  # UTF-16 without its mark (a NUL beside each ASCII letter) is text
        yield Bad(0, "binary", BINARY)
        return
    if len(data) > read_max:
        size = input_size(shard.path) if compression(shard.path) is None else len(data)
        head = data[:4096].decode("utf-8", "replace")
        yield skip(head, "oversized_file", float(size), float(read_max), detect_language(path, head), whole=False)
        return
    text, encoding = decode_text(with_wide_bom(data))
    if encoding != "utf-8":
        meta["encoding"] = encoding  # kept, but worth knowing: legacy-encoded source
    if notebook:
        try:
            text, language, more = notebook_script(text)
        except NotebookError as e:  # not a notebook: quarantined; a kernel we cannot comment in: excluded
            yield skip(text, e.reason) if e.reason == "unknown_language" else Bad(0, e.reason, str(e))
            return
        meta.update(more)
        if len(text.encode("utf-8", "surrogatepass")) > max_bytes:  # the script, as any source file
            yield skip(text[:4096], "oversized_file", float(len(text.encode("utf-8", "surrogatepass"))), float(max_bytes), language, whole=False)
            return
    else:
        language = detect_language(path, text[:256])
    if language is None:
        yield skip(text, "unknown_language")
        return
    mini = None if language in PROSE else minified(path, text, max_mean)
    if mini is not None:
        yield skip(text, "minified", *mini, language=language)
        return
    yield Doc(text=text, offset=0, language=language, meta=meta)
