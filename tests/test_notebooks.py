"""Jupyter notebooks in code inputs, through the CLI (README: Ingestion formats, Notebooks).

A notebook is JSON: its code cells' source, markdown, and outputs (base64 plots, printed
tables). It is read as a script in its kernel's language: code cells as they are, markdown as
comments, outputs and embedded images dropped. A file that is not a notebook is quarantined.
"""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curate import cli
from curate.readers.notebook import NotebookError, kernel_language, notebook_script

# a run of a few documents in this process, not in a pool forked per run (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_process_runs")

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" * 40


def nb(cells, language="python", kernel="python3", nbformat=4, **extra):
    meta = {"kernelspec": {"name": kernel, "language": language, "display_name": kernel},
            "language_info": {"name": language}} if language else {}
    return {"nbformat": nbformat, "nbformat_minor": 5, "metadata": meta, "cells": cells, **extra}


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def code(text, outputs=()):
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": text.splitlines(keepends=True),
            "outputs": list(outputs)}


PLOT = {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG, "text/plain": ["<Figure>"]}}
PRINTED = {"output_type": "stream", "name": "stdout", "text": ["mean 2.5\n"] * 50}

ANALYSIS = nb([
    md(f"# Rainfall\n\nMonthly totals, plotted.\n\n![chart](data:image/png;base64,{PNG})"),
    code("%matplotlib inline\nimport statistics\n\nrain = [1, 2, 3, 4]\nprint('mean', statistics.mean(rain))",
         [PRINTED, PLOT]),
    md("Done."),
    code("!pip list\nrain.sort()"),
])
ANALYSIS_SCRIPT = ("# # Rainfall\n#\n# Monthly totals, plotted.\n\n"
                   "# %matplotlib inline\nimport statistics\n\nrain = [1, 2, 3, 4]\nprint('mean', statistics.mean(rain))\n\n"
                   "# Done.\n\n# !pip list\nrain.sort()\n")
R_NOTEBOOK = nb([md("Fit a line."), code("fit <- lm(y ~ x, data = d)\nsummary(fit)")], language="R", kernel="ir")
R_SCRIPT = "# Fit a line.\n\nfit <- lm(y ~ x, data = d)\nsummary(fit)\n"
# nbformat 3 (IPython 2): cells in worksheets, code in "input", no kernel: Python
V3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
      "worksheets": [{"cells": [{"cell_type": "heading", "level": 1, "source": ["Old"]},
                                {"cell_type": "code", "language": "python", "input": ["x = 1\n", "print(x)"], "outputs": []}]}]}
V3_SCRIPT = "# Old\n\nx = 1\nprint(x)\n"


def _write(root: Path, files: dict) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(data if isinstance(data, str) else json.dumps(data, indent=1))
    return root


def _run(tmp_path, *args) -> dict:
    out = tmp_path / "out"
    assert cli.main(["run", *args, "--stages", "ingest,filter", "--output", str(out),
                     "--progress", "off"]) == 0
    read = lambda kind: pl.read_parquet(str(out / kind / "*.parquet")) if list((out / kind).glob("*.parquet")) else None
    return {kind: read(kind) for kind in ("text", "ledger", "quarantine")}


@pytest.mark.parametrize("notebook,script,language", [(ANALYSIS, ANALYSIS_SCRIPT, "python"), (R_NOTEBOOK, R_SCRIPT, "r"),
                                                      (V3, V3_SCRIPT, "python")])
def test_notebook_script(notebook, script, language):
    text, lang, meta = notebook_script(json.dumps(notebook))
    assert (text, lang) == (script, language)
    assert PNG[:40] not in text and "mean 2.5" not in text


@pytest.mark.parametrize("metadata,language", [
    ({"language_info": {"name": "julia", "file_extension": ".jl"}}, "julia"),
    ({"kernelspec": {"name": "julia-1.9", "display_name": "Julia 1.9"}}, "julia"),
    ({"kernelspec": {"name": "bash", "language": "bash"}}, "shell"),
    ({"language_info": {"name": "Scala", "file_extension": ".scala"}}, "scala"),
    ({"language_info": {"file_extension": ".wl"}}, None),  # says a language, not which: unknown_language
    ({}, "python"),  # no kernel said: IPython's notebooks
    # a kernel spec named only (no language_info, no kernelspec.language): these were unknown_language
    ({"kernelspec": {"name": "conda-root-py", "display_name": "Python [conda env:root]"}}, "python"),  # nb_conda_kernels
    ({"kernelspec": {"name": "conda-env-my-env-py"}}, "python"),
    ({"kernelspec": {"name": "conda-env-stats-r"}}, "r"),
    ({"kernelspec": {"name": "conda-env-sci-julia-1.9"}}, "julia"),
    ({"kernelspec": {"name": "conda-base-python3"}}, "python"),
    ({"kernelspec": {"name": "pysparkkernel"}}, "python"),  # sparkmagic
    ({"kernelspec": {"name": "sparkkernel"}}, "scala"),
    ({"kernelspec": {"name": "ijavascript"}}, "javascript"),
    ({"kernelspec": {"name": "gophernotes"}}, "go"),
    ({"kernelspec": {"name": "evcxr"}}, "rust"),
    ({"kernelspec": {"name": ".net-csharp"}}, "c#"),
    ({"kernelspec": {"name": "myenv", "display_name": "Python 3 (myenv)"}}, "python"),  # ipykernel install --name myenv
    ({"kernelspec": {"name": "myenv"}, "language_info": {"file_extension": ".R"}}, "r"),
    ({"kernelspec": {"name": "ir"}}, "r"),
    ({"kernelspec": {"name": "python3"}}, "python"),
    ({"kernelspec": {"name": "julia-1.9"}, "language_info": {"name": "julia", "file_extension": ".jl"}}, "julia"),
])
def test_kernel_language(metadata, language):
    assert kernel_language({"metadata": metadata}) == language


@pytest.mark.parametrize("metadata", [
    {"kernelspec": {"name": "myenv", "display_name": "My environment"}},  # nothing says a language
    {"kernelspec": {"name": "wolframlanguage13", "display_name": "Wolfram Language 13"}},
    {"kernelspec": {"name": "conda-env-x-sos"}, "language_info": {"file_extension": ".sos"}},
    {"kernelspec": {"name": "conda-root-py"}, "language_info": {"name": "Wolfram Language"}},  # the language said wins
])
def test_a_kernel_nothing_names_is_unknown_language(metadata):
    with pytest.raises(NotebookError) as e:
        notebook_script(json.dumps({"metadata": metadata, "cells": [code("x")]}))
    assert e.value.reason == "unknown_language"


def test_kernels_named_only_by_their_spec_through_the_cli(tmp_path):
    """A tree's notebooks whose metadata names the kernel spec only (nb_conda_kernels' names, a
    kernel installed under an environment's name, sparkmagic's) went to the ledger as
    unknown_language; each is a script in its language, and a kernel nothing names still is."""
    cell = [code("x = 1")]
    repo = _write(tmp_path / "repo", {
        "a.ipynb": {"metadata": {"kernelspec": {"name": "conda-root-py", "display_name": "Python [conda env:root]"}}, "cells": cell},
        "b.ipynb": {"metadata": {"kernelspec": {"name": "conda-env-stats-r"}}, "cells": [code("fit <- lm(y ~ x)")]},
        "c.ipynb": {"metadata": {"kernelspec": {"name": "myenv", "display_name": "Python 3 (myenv)"}}, "cells": cell},
        "d.ipynb": {"metadata": {"kernelspec": {"name": "myenv"}, "language_info": {"file_extension": ".py"}}, "cells": cell},
        "e.ipynb": {"metadata": {"kernelspec": {"name": "myenv", "display_name": "myenv"}}, "cells": cell},
    })
    got = _run(tmp_path, "--input", str(repo), "--domain", "code", "--format", "source")
    kept = dict(got["text"].select("path", "language").iter_rows())
    assert kept == {"a.ipynb": "python", "b.ipynb": "r", "c.ipynb": "python", "d.ipynb": "python"}
    assert got["ledger"].select("path", "rule").rows() == [("e.ipynb", "unknown_language")]


@pytest.mark.parametrize("raw,reason", [
    ('{"cells": [', "bad_notebook"),
    ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "bad_notebook"),  # deeper than json.loads goes
    ("[1, 2]", "bad_notebook"),
    ('{"metadata": {}}', "bad_notebook"),
    ('{"cells": [{"cell_type": "code", "source": 7}]}', "bad_notebook"),
    (json.dumps(nb([code("x")], language="wolfram language", kernel="wolfram")), "unknown_language"),
])
def test_not_a_notebook(raw, reason):
    with pytest.raises(NotebookError) as e:
        notebook_script(raw)
    assert e.value.reason == reason


def test_source_tree_notebooks_become_scripts(tmp_path):
    """Before, every .ipynb of a tree went to the ledger as `unknown_language`."""
    repo = _write(tmp_path / "repo", {
        "analysis.ipynb": ANALYSIS, "stats/fit.ipynb": R_NOTEBOOK, "old/v3.ipynb": V3,
        "broken.ipynb": json.dumps(ANALYSIS)[:500],  # cut short: not JSON
        "wolfram.ipynb": nb([code("Plot[Sin[x], {x, 0, 6}]")], language="wolfram language", kernel="wolfram"),
        "big.ipynb": nb([code("x = 1", [{"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG * 30}}])]),  # > max_notebook_bytes
        "src/app.py": "def add(a, b):\n    return a + b\n",
    })
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[[inputs]]\nglob = "{repo}"\ndomain = "code"\nformat = "source"\nmax_notebook_bytes = 100000\n')
    got = _run(tmp_path, str(cfg))
    kept = {p: (t, lang) for p, t, lang in got["text"].select("path", "text", "language").iter_rows()}
    assert kept == {"analysis.ipynb": (ANALYSIS_SCRIPT, "python"), "stats/fit.ipynb": (R_SCRIPT, "r"),
                    "old/v3.ipynb": (V3_SCRIPT, "python"), "src/app.py": ("def add(a, b):\n    return a + b\n", "python")}
    meta = json.loads(got["text"].filter(pl.col("path") == "analysis.ipynb")["meta"][0])
    assert meta["notebook"]["code_cells"] == 2 and meta["notebook"]["markdown_cells"] == 2 and meta["extension"] == "ipynb"
    ledger = {p: (r, v, t) for p, r, v, t in got["ledger"].select("path", "rule", "value", "threshold").iter_rows()}
    assert ledger["wolfram.ipynb"][0] == "unknown_language"
    assert ledger["big.ipynb"][0] == "oversized_file" and ledger["big.ipynb"][2] == 100000
    assert set(ledger) == {"wolfram.ipynb", "big.ipynb"}
    (bad,) = got["quarantine"].select("path", "reason", "detail").iter_rows()
    assert bad[:2] == ("broken.ipynb", "bad_notebook") and bad[2].startswith("not JSON")


def test_jsonl_notebook_records_become_scripts(tmp_path):
    """A The Stack-style dump of notebooks (lang "Jupyter Notebook", content the notebook JSON):
    the record was kept as JSON text before."""
    rows = [
        {"id": "a", "lang": "Jupyter Notebook", "path": "nb/analysis.ipynb", "content": json.dumps(ANALYSIS)},
        {"id": "r", "lang": "Jupyter Notebook", "path": "fit.ipynb", "content": json.dumps(R_NOTEBOOK)},
        {"id": "s", "lang": "Jupyter Notebook", "path": "done.py", "content": "x = 1\n"},  # already a script
        {"id": "bad", "lang": "Jupyter Notebook", "path": "bad.ipynb", "content": '{"cells": 3}'},
        {"id": "py", "lang": "Python", "path": "a.py", "content": "def f():\n    return 1\n"},
    ]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = _run(tmp_path, "--input", str(dump), "--domain", "code", "--text-field", "content", "--id-field", "id")
    kept = {i: (t, lang) for i, t, lang in got["text"].select("source_id", "text", "language").iter_rows()}
    assert kept == {"a": (ANALYSIS_SCRIPT, "python"), "r": (R_SCRIPT, "r"), "s": ("x = 1\n", "jupyter notebook"),
                    "py": ("def f():\n    return 1\n", "python")}
    assert got["quarantine"].select("source_id", "reason").rows() == [("bad", "bad_notebook")]


def test_only_ipython_syntax_is_commented_out():
    text, _, _ = notebook_script(json.dumps(nb([code("%%time\nsame = (a\n        != b)\n!ls\nx = 5 % 2")])))
    assert text == "# %%time\nsame = (a\n        != b)\n# !ls\nx = 5 % 2\n"


@pytest.mark.parametrize("cell", [
    'msg = ("%s rows in %s"\n       % (n, where))',  # a format continued on the next line, inside brackets
    'total = base \\\n    % 7',  # after a backslash
    's = """\n%(name)s is a template line\n!important: a string, not a shell\n"""',  # inside a string
    '"""\n%%a docstring\n"""\nx = 1',  # a string that opens the cell
])
def test_a_percent_or_bang_line_that_continues_python_is_python(cell):
    """A line starting with % or ! was commented out whatever came before it: a `% (a, b)`
    continuing a format inside brackets became `# % (a, b))`, and the script did not compile
    ('(' was never closed). IPython reads a magic only where a statement starts, and so does
    curate: such lines are kept as they are, and the script compiles."""
    text, _, _ = notebook_script(json.dumps(nb([code("%time f()\n" + cell + "\n!ls")])))
    assert text == "# %time f()\n" + cell + "\n# !ls\n"
    compile(text, "cell", "exec")


def test_a_record_starting_with_a_byte_order_mark(tmp_path):
    """A dump's text field saved by a Windows tool starts with a BOM (U+FEFF): a notebook's JSON
    was kept as JSON (the sniff for '{' and json.loads both stopped at the BOM), and a script's
    shebang was not seen (unknown_language), where a source tree, whose bytes are decoded with
    the BOM stripped, reads both."""
    rows = [
        {"id": "a", "lang": "Jupyter Notebook", "path": "nb/analysis.ipynb", "content": "\ufeff" + json.dumps(ANALYSIS)},
        {"id": "d", "path": "bin/deploy", "content": "\ufeff#!/usr/bin/env python3\nprint('deploying')\n"},
    ]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = _run(tmp_path, "--input", str(dump), "--domain", "code", "--text-field", "content", "--id-field", "id")
    kept = {i: (t, lang) for i, t, lang in got["text"].select("source_id", "text", "language").iter_rows()}
    assert kept == {"a": (ANALYSIS_SCRIPT, "python"),
                    "d": ("\ufeff#!/usr/bin/env python3\nprint('deploying')\n", "python")}  # a code record keeps its characters
    assert all(got[k] is None or got[k].height == 0 for k in ("ledger", "quarantine"))


def test_notebook_script_reads_past_a_byte_order_mark():
    assert notebook_script("\ufeff" + json.dumps(ANALYSIS))[0] == ANALYSIS_SCRIPT


def test_a_jsonl_notebooks_own_meta_notebook_key_is_kept(tmp_path):
    """A notebook record whose own ``meta`` has a ``notebook`` key: the cell counts curate adds
    replaced it without a word (``meta.update``). The record's is kept; curate's go under the
    first free ``notebook_2`` (``readers.meta.add_field``, as every field added to a meta)."""
    row = {"id": "a", "lang": "Jupyter Notebook", "path": "nb/analysis.ipynb", "content": json.dumps(ANALYSIS),
           "meta": {"notebook": "reviewed by the data team"}}
    (tmp_path / "dump.jsonl").write_text(json.dumps(row) + "\n")
    got = _run(tmp_path, "--input", str(tmp_path / "dump.jsonl"), "--domain", "code", "--text-field", "content")
    [meta] = [json.loads(m) for m in got["text"]["meta"]]
    counts = notebook_script(json.dumps(ANALYSIS))[2]["notebook"]
    assert meta["notebook"] == "reviewed by the data team" and meta["notebook_2"] == counts, meta
