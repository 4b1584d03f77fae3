"""Programming languages by file extension, with The Stack's names lowercased so tree and JSONL
inputs agree: the source-tree reader's (code.py) and a notebook's ``language_info.file_extension``
(notebook.py, which code.py imports).
"""
from __future__ import annotations

_LANGS = {
    "python": "py pyi pyw pyx",
    "go": "go",
    "rust": "rs",
    "ruby": "rb rake gemspec ru",
    "java": "java",
    "kotlin": "kt kts",
    "scala": "scala sc",
    "groovy": "groovy gradle",
    "javascript": "js mjs cjs jsx",
    "typescript": "ts tsx mts cts",
    "perl": "pl pm t pod",
    "tcl": "tcl tk itcl",
    "c": "c h",  # .h is ambiguous; The Stack files most under C
    "c++": "cc cpp cxx c++ hh hpp hxx h++ ipp tcc inl",
    "c#": "cs",
    "objective-c": "m",
    "objective-c++": "mm",
    "swift": "swift",
    "shell": "sh bash zsh ksh",
    "powershell": "ps1 psm1",
    "batchfile": "bat cmd",
    "php": "php",
    "lua": "lua",
    "r": "r",
    "julia": "jl",
    "haskell": "hs lhs",
    "ocaml": "ml mli",
    "erlang": "erl hrl",
    "elixir": "ex exs",
    "clojure": "clj cljs cljc",
    "lisp": "lisp lsp cl",
    "scheme": "scm ss",
    "emacs lisp": "el",
    "dart": "dart",
    "fortran": "f f90 f95 f03 for",
    "assembly": "asm s",
    "cuda": "cu cuh",
    "zig": "zig",
    "nim": "nim",
    "vim script": "vim",
    "sql": "sql",
    "html": "html htm xhtml",
    "css": "css scss sass less",
    "markdown": "md markdown",
    "restructuredtext": "rst",
    "tex": "tex sty cls",
    "json": "json",
    "yaml": "yaml yml",
    "toml": "toml",
    "ini": "ini cfg cnf",  # setup.cfg, tox's and flake8's; MySQL's my.cnf (linguist's INI too): `password = ...` a literal (secrets)
    "java properties": "properties",  # linguist's name; its unquoted `db.password=...` a literal (secrets)
    "xml": "xml xsd",
    "xslt": "xsl xslt",  # code, unlike other XML: the filter's XML-declaration rule keeps it
    "protocol buffer": "proto",
    "cmake": "cmake",
    "makefile": "mk mak",
    "dockerfile": "dockerfile",
    "dotenv": "env",  # prod.env; .env and .env.local by name (code.detect_language)
    "awk": "awk",
    "sed": "sed",
}
EXTENSIONS = {ext: lang for lang, exts in _LANGS.items() for ext in exts.split()}


def canonical(label: str | None) -> str:
    """A language label as this module names it: a language's name as it is, any case; else the language of the extension
    it is (`yml` -> yaml, `sh`, `bash`, `zsh` -> shell, `env` -> dotenv, `cfg` -> ini, `properties` -> java
    properties: a JSONL dump's or a Markdown fence's label); else as it is, lower case (the secrets filter's forms)."""
    x = (label or "").lower()
    return x if x in _LANGS else EXTENSIONS.get(x) or x
