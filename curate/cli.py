"""The ``curate`` command line.

    curate run [CONFIG.toml] [--input GLOB [--format F] [--domain D] [--source S]]...
               [--stages LIST] [--languages LIST|all] [--set KEY=VALUE]... --output DIR [beam pipeline options]
    curate demo [--output DIR] [beam pipeline options]
    curate mix OUTPUT [CONFIG.toml] [--set rebalance.KEY=VALUE]... [--json]

Options after ``--input`` (format, domain, source, field names) apply to that input.
Other options go to Beam (``--runner``, ``--direct_num_workers``, ...), each checked against
the options Beam knows for the chosen runner; a misspelt curate option is an error with a
suggestion, never silently handed to Beam.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import json
import os
import re
import sys
import time

from curate import shell
from curate.shell import one_line
from curate.config import ConfigError, did_you_mean

INPUT_OPTS = ("format", "domain", "source", "text_field", "id_field", "url_field")


class UsageError(Exception):
    """A command line argparse refuses: said in one line (argparse printed its whole usage first)."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        typed = re.match(r"argument cmd: invalid choice: '(.*?)' \(choose from (.*)\)$", message)
        if typed:  # `curate runn`: the command it likely means, as a misspelt option's
            names = re.findall(r"'([^']*)'", typed.group(2))
            message = f"unknown command {typed.group(1)!r}{did_you_mean(typed.group(1), names)} (choose from {typed.group(2)})"
        choice = re.match(r"(argument --[\w-]+: invalid choice: '(.*?)') (\(choose from (.*)\))$", message)
        if choice:  # --progress=ON: the choice it means, as the config's run.progress = "On" says
            hint = did_you_mean(choice.group(2), re.findall(r"'([^']*)'", choice.group(4)))
            message = f"{choice.group(1)}{hint} {choice.group(3)}"
        message = message.replace("the following arguments are required: cmd", "give a command: curate run, curate config, ...")
        if self.prog == "curate mix":  # what DIR is, not only that it is missing
            message = message.replace("the following arguments are required: DIR",
                                      "give DIR, the output folder of a finished run with the rebalance stage: curate mix DIR [CONFIG]")
        raise UsageError(self.prog, message.removeprefix("argument "))


class _InputAction(argparse.Action):
    """--input starts a new input; --format/--domain/... set a field of the latest one (once:
    a second --domain for one input won without a word, where an --input was forgotten)."""

    def __call__(self, parser, ns, value, option_string=None):
        inputs = getattr(ns, "inputs", None) or []
        if self.dest == "glob":
            inputs.append({"glob": value})
        elif not inputs:
            parser.error(f"{option_string} must follow the --input it applies to")
        elif self.dest in inputs[-1]:
            parser.error(f"{option_string} given twice for --input {inputs[-1]['glob']} ({inputs[-1][self.dest]}, then {value}): "
                         "give it once")
        else:
            inputs[-1][self.dest] = value
        ns.inputs = inputs


def _names(option: str, example: str):
    """The type of a comma-separated list option: an empty one (`--stages=`, a script's unset
    variable) fell back to the default without a word (every default stage ran)."""
    def names(value: str) -> str:
        if not [x for x in value.split(",") if x.strip()]:
            raise argparse.ArgumentTypeError(f"empty: name the {option} ({example}), or leave it out")
        return value
    return names


def _run_epilog() -> str:
    from curate.readers import FORMATS
    from curate.schema import DOMAINS, STAGES

    return (
        f"stages (in pipeline order; ingest always runs): {', '.join(STAGES)}\n"
        f"formats (--format; default: from the file name, else sniffed): {', '.join(FORMATS)}\n"
        f"domains (--domain): {', '.join(DOMAINS)}\n"
        "\n"
        "Every other option goes to Apache Beam and must be one the chosen runner reads (another\n"
        "runner's, such as Dataflow's --num_workers on the DirectRunner, is an error),\n"
        "e.g. --direct_num_workers=2 --direct_running_mode=multi_processing, or\n"
        "--runner=FlinkRunner --flink_master=HOST:8081, --runner=DataflowRunner --project=P ...\n"
        "`curate config` prints every config option with its default."
    )


def _other_case(pattern: str) -> str:
    """What a glob whose last part matches nothing would match in another case (`*.WARC.GZ` beside
    crawl.warc.gz): a glob is case-sensitive on Linux, and the files it missed went unnamed."""
    import fnmatch

    from curate.readers import has_magic

    folder, name = os.path.split(pattern)
    if has_magic(folder) or not os.path.isdir(folder or "."):
        return ""
    with contextlib.suppress(OSError):
        near = sorted(n for n in os.listdir(folder or ".")  # what matches as typed was listed (an empty folder): no hint
                      if fnmatch.fnmatchcase(n.lower(), name.lower()) and not fnmatch.fnmatchcase(n, name))
        said = "a glob is case-sensitive; in another case it would match" if has_magic(name) else "a name is case-sensitive; in another case it is"
        if near:
            return f" ({said}: {', '.join(near[:3])}{', ...' if len(near) > 3 else ''})"
    return ""


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    import curate
    from curate.schema import OPT_IN_STAGES

    ap = _Parser(prog="curate", allow_abbrev=False, description="Curate raw web, code and book shards into a pre-training corpus.")
    ap.add_argument("--version", action="version", version=f"curate {curate.__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser(
        "run", help="run the pipeline over your inputs", allow_abbrev=False, epilog=_run_epilog(),
        description="Run the pipeline: read the inputs, run the stages, write text/ledger/quarantine and a manifest.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("config", nargs="?", help="TOML config file (optional; command-line options override it)")
    r.add_argument("--input", dest="glob", action=_InputAction, help="input file, directory or glob (repeatable)")
    for o in INPUT_OPTS:
        r.add_argument("--" + o.replace("_", "-"), dest=o, action=_InputAction, help=INPUT_HELP[o])
    r.add_argument("--output", action=shell.Once, help="output directory (required here or as run.output)")
    r.add_argument("--stages", action=shell.Once, type=_names("stages", "--stages ingest,dedup"), help="comma-separated subset of stages, run in pipeline order (default: all but the "
                   f"opt-in {', '.join(OPT_IN_STAGES)}, which run when named here or configured)")
    r.add_argument("--languages", action=shell.Once, type=_names("languages", "--languages en,de, or all"), help="comma-separated target languages for langid (e.g. en,de), or 'all'")
    r.add_argument("--shards", action=shell.Once, type=int, help="Parquet files per output kind (default 4)")
    r.add_argument("--workers", action=shell.Once, type=int, help="local runs: worker processes for the heavy steps (run.workers; "
                   "default 0 = one per core, 1 = this process only); the output does not depend on it")
    r.add_argument(
        "--progress", action=shell.Once, choices=["auto", "on", "off"],
        help="per-stage documents in/out and rate on stderr while running: auto = on a terminal (default), on, off",
    )
    r.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="set any config option, e.g. --set rebalance.budget=2000000 (repeatable; VALUE is a TOML "
                   "value: 0.7, true, [\"en\", \"de\"], {web = 0.7, code = 0.3}; a bare word is a string)")

    d = sub.add_parser("demo", help="generate sample shards and run the whole pipeline on them", allow_abbrev=False,
                       epilog="Other options go to Apache Beam, as for `curate run`.")
    d.add_argument("--output", action=shell.Once, default="curate-demo", type=shell.home_path, help="where to write the sample shards and the result")
    d.add_argument("--progress", action=shell.Once, choices=["auto", "on", "off"], default="auto", help="as for `curate run`")

    c = sub.add_parser("config", help="print every option with its default, as TOML; with a config file (and --set), "
                       "the config a run of it would use", allow_abbrev=False)
    c.add_argument("config", nargs="?", help="TOML config file: print it as `curate run` reads it, defaults filled in "
                   "(with --language: the config whose [filter] to apply)")
    c.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", help="as for `curate run`")
    c.add_argument("--language", action=shell.Once, help="print instead the filter thresholds, stop words and sentence marks that apply "
                   "to web documents with this language label, and where they come from")

    m = sub.add_parser("mix", help="a dry run of [rebalance]: re-plan the mix from an output's candidates in seconds",
                       allow_abbrev=False, description="Re-plan the mix from the documents that reached rebalance in DIR "
                       "(its candidates/ table, or those of a run the mix stopped) and print what a run with these settings "
                       "would give: its mix:/tokens: line and stats, or the error that would stop it.")
    m.add_argument("output", metavar="DIR", help="the output of a run with the rebalance stage")  # DIR, as the README says it
    m.add_argument("config", nargs="?", metavar="CONFIG", help="TOML config (default: the one that run used); its stages before rebalance "
                   "and its tokenizer must be that run's")
    m.add_argument("--set", dest="sets", action="append", metavar="rebalance.KEY=VALUE",
                   help="as for `curate run`, for rebalance.* only (targets, budget, tolerance, sources, languages, "
                   "max_epochs, rehydrate, seed)")
    m.add_argument("--json", action="store_true", help="print the rebalance stats the run's manifest would hold, as JSON")

    # Commands with their own argument parsers, implemented in their modules.
    for name, (module, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    return ap, {"run": r, "demo": d, "config": c, "mix": m}


INPUT_HELP = {
    "format": "format of the preceding --input (see below)",
    "domain": "domain of the preceding --input (see below)",
    "source": "source name of the preceding --input (default: its last fixed directory name)",
    "text_field": "JSONL/Parquet field with the text, for the preceding --input",
    "id_field": "JSONL/Parquet field with the record's own id, for the preceding --input",
    "url_field": "JSONL/Parquet field with the URL, for the preceding --input",
}


def check_rest(cmd: str, parser: argparse.ArgumentParser, rest: list[str]) -> list[str]:
    """Errors for the arguments curate did not take: misspelt curate options and options
    Beam does not know (Beam would drop them with a warning)."""
    if not rest:
        return []
    ours = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    if cmd in ("config", "mix"):
        return [f"unexpected argument {rest[0]!r}{did_you_mean(rest[0].split('=', 1)[0], ours)}"]
    from pipelines.options import beam_option, unknown_options

    errors = []
    for a in rest:
        name = a.split("=", 1)[0]
        if name[2:].replace("-", "_") in INPUT_OPTS:
            errors.append(f"{name} must follow --input")
        elif a.startswith("--") and did_you_mean(name, ours) and not beam_option(name):
            errors.append(f"unknown option {name}{did_you_mean(name, ours)}")
    if errors:
        return errors
    return unknown_options(rest, extra_known=ours)


def workers_here(beam_args: list[str]) -> bool:
    """Whether run.workers are processes of this machine: the DirectRunner in its default mode
    (``beam_args`` checked already); another runner's workers are its own."""
    if not beam_args:  # no Beam import (~1 s) for the default
        return True
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.pipeline import runs_here

    return runs_here(PipelineOptions(beam_args))


def unused_workers(workers: int, beam_args: list[str], given: str = "") -> list[str]:
    """--workers (or ``given``: --set run.workers=N) on a runner that brings its own workers: it
    would be ignored without a word."""
    if workers_here(beam_args):
        return []
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.pipeline import local_runner

    opts = PipelineOptions(beam_args)
    o = opts.get_all_options()
    mode = o.get("direct_running_mode") or "in_memory"
    who = (f"the {o['runner']} runs the steps in its own workers" if not local_runner(opts) else
           f"Beam's {mode} mode runs the steps in its own workers (--direct_num_workers)" if mode != "in_memory" else
           f"with --direct_num_workers={o.get('direct_num_workers')} Beam runs the steps itself")
    given = given or f"--workers {workers}"
    return [f"{given} is not used: {who}; leave {'--workers' if given.startswith('--workers') else 'it'} out "
            "(curate's worker processes are for the DirectRunner's default mode)"]


def set_workers(ns) -> tuple[int, str] | None:
    """run.workers given by --set (the same check as --workers): (N, the --set)."""
    from curate.config import parse_set

    for text in reversed(getattr(ns, "sets", None) or []):
        with contextlib.suppress(ConfigError):
            path, value = parse_set(text)
            if path == ["run", "workers"] and isinstance(value, int) and not isinstance(value, bool):
                return value, f"--set {text}"
    return None


def stray_paths(argv: list[str]) -> list[str]:
    """Bare words right after an --input's path: the shell expanded an unquoted glob
    (--input books/*.txt). argparse would take the first for the config, the rest as extras.
    A .toml file there is the config."""
    strays = []
    for i, a in enumerate(argv):
        j = i + 2 if a == "--input" else i + 1 if a.startswith("--input=") else None
        while j is not None and j < len(argv) and not argv[j].startswith("-") and not argv[j].endswith(".toml"):
            strays.append(argv[j])
            j += 1
    return strays


def split_sets(argv: list[str]) -> list[str]:
    """`--set KEY VALUE`: the value, a bare word, was taken for the TOML config ("config file
    not found: 2"); KEY=VALUE is one word."""
    errors = []
    for i, a in enumerate(argv):
        text, after = (argv[i + 1:i + 2], i + 2) if a == "--set" else ([a[6:]], i + 1) if a.startswith("--set=") else ([], 0)
        if (text and "=" not in text[0] and after < len(argv) and not argv[after].startswith("-")
                and not argv[after].endswith(".toml")):
            errors.append(f"--set {text[0]} {argv[after]}: KEY=VALUE is one word (--set {text[0]}={argv[after]})")
    return errors


def config_option(argv: list[str]) -> list[str]:
    """`curate run --config team.toml`: the file is a positional argument; --config was an unknown
    option, and the config's own errors followed as if no file were given ("no inputs")."""
    for i, a in enumerate(argv):
        if a == "--config" or a.startswith("--config="):
            path = a[9:] if "=" in a else argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else "FILE"
            return [f"--config: a config file is given without it: curate {argv[0]}{' DIR' * (argv[0] == 'mix')} {path}"]
    return []


# command -> (module with main(argv) -> int, help)
DELEGATED = {
    "train-quality": ("curate.stages.quality_train", "train a fastText quality classifier"),
    "audit": ("curate.audit.command", "statistics and an HTML report for a curate output or any corpus"),
}


def _overrides(ns) -> dict:
    o: dict = {}
    run = {}
    if ns.output:
        run["output"] = ns.output
    if ns.stages:
        run["stages"] = [s.strip() for s in ns.stages.split(",") if s.strip()]
    if ns.shards is not None:
        run["shards"] = ns.shards
    if ns.workers is not None:
        run["workers"] = ns.workers
    if ns.progress:
        run["progress"] = ns.progress
    if run:
        o["run"] = run
    if getattr(ns, "inputs", None):
        o["inputs"] = ns.inputs
    if ns.languages:
        langs = ns.languages.strip()
        o["langid"] = {"languages": "all" if langs == "all" else [x.strip() for x in langs.split(",") if x.strip()]}
    return o


# the dedicated options and the config keys they set (a --set of the same key is refused)
FLAG_KEYS = {"output": "run.output", "stages": "run.stages", "shards": "run.shards", "workers": "run.workers",
             "progress": "run.progress", "languages": "langid.languages"}


def set_conflicts(ns) -> list[str]:
    """A key given both by a dedicated option and by --set (a key below it too: run.stages.x): which
    one counts would be a guess."""
    from curate.config import parse_set

    errors = []
    for text in getattr(ns, "sets", None) or []:
        with contextlib.suppress(ConfigError):  # a malformed --set is config.load's to report
            key = ".".join(parse_set(text)[0])
            for flag, k in FLAG_KEYS.items():
                if getattr(ns, flag, None) is not None and (key == k or k.startswith(key + ".") or key.startswith(k + ".")):
                    errors.append(f"--set {text} and --{flag} both set {k}: give one of them")
    return errors


MANIFEST = "manifest.json"  # curate.output.MANIFEST, without its pyarrow import


def earlier_output(files: list[tuple[str, str]], pattern: str) -> str | None:
    """What to do where ``files`` ((path, path relative to the root), an input's) lie in a curate output
    (an earlier run's, ``commit.is_output``) at or under ``pattern``'s glob root, else None: a run into
    data/o2 read data/o1's text, ledger and stats as its documents ("o1/ledger/... has no text column")."""
    from curate.commit import is_output
    from curate.readers import glob_root

    root = glob_root(pattern)
    looked: dict = {}
    for sub in dict.fromkeys(os.path.dirname(rel) for _, rel in files):  # each folder once, in order
        parts = sub.split(os.sep) if sub else []
        for n in range(len(parts) + 1):  # the root first, then each folder down to the file's
            folder = os.path.join(root, *parts[:n])
            if folder not in looked:  # each folder looked at once: a tree of 100,000 files has few folders
                looked[folder] = is_output(folder)
            if looked[folder]:
                break
        else:
            continue
        said = repr(folder.removeprefix(os.curdir + os.sep))  # ./o1 (--input .) said o1
        if n == 0:
            return (f"it is the curate output {said} (it has {MANIFEST}), whose ledger and stats are no input: "
                    f"give its text, --input {shell.quote(os.path.join(folder, 'text'))}, to re-curate it")
        # the files beside it all of one kind, at the top (data/*.jsonl): a glob of them leaves it out
        top = [r for _, r in files if os.sep not in r]
        exts = {os.path.splitext(r)[1] for r in top}
        fix = "move it out of the input folder, or give a glob that leaves it out"
        if len(top) == len([f for f in files if not f[1].startswith(parts[0] + os.sep)]) and len(exts) == 1 and "" not in exts:
            fix = f"leave it out with a glob, --input {shell.quote(os.path.join(root, '*' + exts.pop()).removeprefix(os.curdir + os.sep))}, or move it"
        return f"it holds the curate output {said} (it has {MANIFEST}), whose files are no input: {fix}"
    return None


def plan(cfg, globs_only: bool = False, config_dir: str | None = None):
    """List every input's files (an empty glob is an error) and cut them into shards.

    ``cfg`` comes from ``config.load(..., for_run=True)``; ``globs_only``: a config with
    mistakes, whose globs are checked but whose files are not looked into; ``config_dir``: the
    folder of the config file the inputs come from (named when a relative glob matches there)."""
    from curate.readers import InputError, copies, has_magic, is_uri, list_files, plan_shards, same_data, same_files, unpacked_name
    from curate.readers.common import Limits, is_file_uri, one_open, path_problem, read_folder

    with one_open():  # a bucket file the checks look into opened once, its first MiB read once (not six times)
        return _plan(cfg, globs_only, config_dir)


def _plan(cfg, globs_only: bool, config_dir: str | None):
    from curate.readers import InputError, copies, has_magic, is_uri, list_files, plan_shards, same_data, same_files, unpacked_name
    from curate.readers.common import Limits, is_file_uri, path_problem, read_folder

    errors = []
    limits = Limits(**cfg.limits)
    shards = []
    out = cfg.run["output"]
    # an output inside an input folder (--input data/ --output data/out): its files (a previous
    # run's text, ledger, manifest...) are never read back as inputs, whatever links name the
    # folders (--input latest/ with latest -> data); a file's folder resolved once
    # (a file:// URI, input or output, by its path on this disk: --input file:///d/ read d/out back)

    def local(p):  # a path, a file:// URI's path; None for a bucket's
        return p if not is_uri(p) else read_folder(p) if is_file_uri(p) else None

    here = local(out) if out else None
    inside = (lambda p: False) if here is None else (
        lambda p, o=os.path.realpath(here) + os.sep, real=functools.lru_cache(None)(os.path.realpath):
            local(p) is not None and (real(os.path.dirname(local(p))) + os.sep).startswith(o))
    seen: dict = {}  # (source, path relative to its input) -> (input index, file)
    read_by: dict = {}  # a local file's real path -> (input index, relative path) that reads it
    read_as: dict = {}  # a local file's real path less .gz/.zst -> (input index, relative path, real path) that reads it
    for i, spec in enumerate(cfg.inputs):
        if not isinstance(spec.get("glob"), str) or not spec["glob"] or path_problem(spec["glob"]):
            continue  # a config error already (an input without a glob, a URI with ?options or a slash missing)
        tree = spec.get("format") == "source" or (spec.get("format") is None and spec.get("domain") == "code")
        dangling: list = []  # links whose target is gone (an unmounted disk): said, not left out
        unreadable: list = []  # folders that cannot be listed: their files would be left out without a word
        keys: dict = {}  # a bucket's files' sizes from the listing: not asked again (plan_shards)
        try:
            listed = list_files(spec["glob"], hidden=spec.get("format") == "source", tree=tree, dangling=dangling,
                                unreadable=unreadable, keys=keys)  # a code tree's .github/ is code
        except OSError as e:  # a bucket offline, without credentials, misspelt: the user's to fix
            if not is_uri(spec["glob"]):
                raise
            errors.append(f"inputs[{i}]: {cfg.glob_said(i)} cannot be listed: {str(e)[:400]}")
            continue
        errors += [f"inputs[{i}]: {rel!r} is a link to {os.readlink(path)!r}, which does not exist; fix or remove the link"
                   for path, rel in dangling if not inside(path)]
        errors += [f"inputs[{i}]: the folder {rel!r} cannot be read ({why}); fix its permissions or leave it out of the input"
                   for rel, why in unreadable]
        files = [f for f in listed if not inside(f[0])]
        earlier = earlier_output(files, spec["glob"]) if not is_uri(spec["glob"]) else None
        if earlier:  # never an output read back as documents: its ledger's rejections, its text twice
            errors.append(f"inputs[{i}]: {cfg.glob_said(i)}: {earlier}")
            continue
        # a file listed again, through a link or by an earlier input, is read once: its other
        # names get a quarantine row saying where it is read
        reals: dict = {}  # path -> its real path (None: not a regular file), resolved once
        alias = same_files(files, spec["glob"], tree, reals)
        same = {rel: f"{keep!r} (through a link)" for rel, keep in alias.items()}
        if not is_uri(spec["glob"]):
            for path, rel in files:
                real = reals.get(path)
                if rel in alias or real is None or (tree and os.path.islink(path)):
                    continue  # a tree's links are the code reader's (out of the tree, to nothing)
                j, first = read_by.setdefault(real, (i, rel))
                if j != i:
                    same[rel] = f"{first!r} of inputs[{j}]"
            same.update({rel: same[keep] for rel, keep in alias.items() if keep in same})  # to where it is read
        if dangling and not files:
            continue
        if not files and not listed and not is_uri(spec["glob"]) and os.path.isdir(spec["glob"]):
            hidden = " (a name starting with '.' is left out)" * any(n.startswith(".") for n in os.listdir(spec["glob"]))
            errors.append(f"inputs[{i}].glob: {cfg.glob_said(i)} is a folder with no files to read in it{hidden}: "
                          "put the input files there, or give another --input")
            continue
        if not files and listed:
            errors.append(f"inputs[{i}].glob: {cfg.glob_said(i)} matches only files inside the output directory {out!r} "
                          "(choose another output)")
            continue
        if not files:
            where = ""
            if not is_uri(spec["glob"]) and not os.path.isabs(spec["glob"]):
                where += f" (a relative path is taken from the current directory, {os.getcwd()}"
                typed = cfg.input_globs[i] if i < len(cfg.input_globs) else spec["glob"]  # link/.. is tidied from here
                # the folder escaped where the glob is one: "team [1]/" is no character class
                there = (os.path.join(glob.escape(config_dir) if glob.has_magic(typed) else config_dir, typed)
                         if config_dir and config_dir != os.getcwd() else None)
                with contextlib.suppress(OSError):
                    there = there if there and list_files(there, hidden=True, tree=tree) else None
                if there:
                    # a team's config run from another folder: its paths are not the config's
                    from curate.config import run_from

                    where += run_from(config_dir, has_magic(typed))
                where += ")"
            if not is_uri(spec["glob"]):
                where += _other_case(spec["glob"])
            # a path of no wildcard is missing, not a pattern that matched nothing
            said = f"{cfg.glob_said(i)} matches no files" if has_magic(spec["glob"]) else f"no file or folder {cfg.glob_said(i)}"
            errors.append(f"inputs[{i}].glob: {said}{where}")
            continue
        for path, rel in files:  # rows are known by (source, path, offset): two files must not share the first two
            other = seen.setdefault((spec["source"], rel), (i, path))
            if other[1] != path:
                errors.append(f"inputs[{i}]: {rel!r} under source {spec['source']!r} is also a file of inputs[{other[0]}]: "
                              "their documents could not be told apart in the output; give each input its own --source")
                break
        if globs_only:
            continue
        # a file's copy compressed or not beside it (gunzip -k, the audit's hint): read once, the other name a row
        same.update({rel: f"{keep!r}, compressed or not (the same bytes decompressed)"
                     for rel, keep in copies([f for f in files if f[1] not in same], spec["glob"], tree, limits).items()})
        for path, rel in files:  # ... or read by an earlier input (--input x.jsonl.gz --input x.jsonl): read there
            real = reals.get(path)
            if rel in same or real is None or tree:
                continue
            j, first, there = read_as.setdefault(unpacked_name(real), (i, rel, real))
            if j != i and same_data(there, real, limits):
                same[rel] = f"{first!r} of inputs[{j}], compressed or not (the same bytes decompressed)"
        opts = {k: v for k, v in spec.items() if k not in ("glob", "format", "domain", "source")}
        try:
            shards += plan_shards(files, spec.get("format"), spec.get("domain"), spec["source"], opts, limits, same,
                                  in_place=not os.path.isfile(spec["glob"]), keys=keys)  # a folder or a glob lists a copy beside
        except InputError as e:
            errors.append(f"inputs[{i}]: {e}")
    if errors:
        raise ConfigError(*errors)
    return shards


def summary(manifest: dict, seconds: float | None = None) -> str:
    counts = manifest["counts"]
    rows = [("stage", "docs in", "docs out", "removed", "top reasons")]
    from curate.schema import STAGES

    for stage, c in sorted(counts.items(), key=lambda kv: STAGES.index(kv[0])):
        removed = sum(c["removed"].values()) + c.get("quarantined", 0)
        ranked = sorted(c["removed"].items(), key=lambda kv: (-kv[1], kv[0]))
        reasons = ranked[:3]
        if len(ranked) > 3:  # the row still adds up to "removed" (the audit lists every rule)
            reasons.append((f"{len(ranked) - 3} other rules", sum(v for _, v in ranked[3:])))
        if c.get("quarantined"):
            reasons.append(("quarantined", c["quarantined"]))
        rows.append((stage, f"{c['docs_in']:,}", f"{c['docs_out']:,}", f"{removed:,}", ", ".join(f"{k} {v}" for k, v in reasons)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) if i in (0, 4) else cell.rjust(widths[i]) for i, cell in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    outs = manifest["outputs"]

    def n(kind, unit):
        c = sum(e["rows"] for e in outs[kind])
        return f"{c:,} {unit}{'s' * (c != 1)}"

    files = len(outs["text"])
    tail = f"text: {n('text', 'doc')} in {files} file{'s' * (files != 1)}; ledger: {n('ledger', 'row')}; quarantine: {n('quarantine', 'row')}"
    skipped = dict(manifest["counts"].get("ingest", {}).get("skipped_records") or {})
    comments = skipped.pop("comment_line", 0)  # JSON Lines comment lines: not records (readers/jsonl.COMMENT)
    if skipped:  # a WARC's requests, metadata, resources: counted, not documents
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
        tail += f"; WARC records that are not documents, not read: {kinds}"
    if comments:
        tail += f"; JSON Lines comment lines (// or #), not read: {comments:,}"
    if seconds is not None:
        tail += f"; {seconds:.1f} s"
    return "\n".join(lines + [tail])


def tokens_line(root: str, stats: dict | None = None) -> str | None:
    """One line about DIR/tokens, when the tokenize stage ran."""
    import json

    from curate import output

    try:  # a local path or a URI (file://, gs://, ...)
        m = json.loads(output.read_bytes(output.folder_manifest(output.join(root, "tokens"))))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return tokens_text(m, root, stats)


def tokens_text(m: dict, root: str, stats: dict | None = None) -> str:
    """The tokens: line of a tokens.json (or of the one a dry run would write: curate mix)."""
    total = m["tokens"]["total"]
    # rebalance's targets beside what was achieved (a domain it left with no tokens too)
    targets = {d: e["target"] for d, e in (m.get("mix") or {}).items() if isinstance(e, dict) and e.get("target") is not None}
    mix = _mix_text(total, m["tokens"]["per_domain"], targets, m.get("budget")) + _splits_text(stats or {})
    return f"tokens: {total:,} {m['tokenizer']['name']} tokens ({mix}) in {len(m['shards'])} files under {root.rstrip('/')}/tokens"


def _mix_text(total: int, per_domain: dict, targets: dict, asked: dict | None) -> str:
    """Each domain's share beside its target, after how far the mix is from rebalance.budget."""
    per = {**dict.fromkeys(targets, 0), **per_domain}
    mix = ", ".join(f"{d} {n / max(total, 1):.0%}" + (f" (target {targets.get(d, 0):.0%})" if targets else "")
                    for d, n in sorted(per.items())) or "no document was kept"
    if asked:  # rebalance.budget: how far the whole-document mix is from it
        miss = (total - asked["tokens"]) / asked["tokens"]
        mix = f"rebalance.budget {asked['tokens']:,}: {miss:+.2%}, within rebalance.tolerance {asked['tolerance']:g}; {mix}"
    return mix


def _splits_text(stats: dict) -> str:
    """'; web by language: en 50% (target 50%), ...': each rebalance.sources / rebalance.languages
    group's share of its domain's tokens beside its target, from rebalance's stats."""
    pre, rows = "rebalance.mix.", {}
    for k, v in stats.items():
        if k.startswith(pre) and k.endswith((".tokens", ".target")):
            g, field = k[len(pre):].rsplit(".", 1)
            rows.setdefault(g, {})[field] = v
    parts: dict = {}
    for g, r in sorted(rows.items(), key=lambda kv: (kv[0].endswith("*"), kv[0])):  # "*" (the others) last
        cut = min((i for i in (g.find("/"), g.find(":")) if i > 0), default=-1)
        if cut < 0:
            continue
        d, whole = g[:cut], rows.get(g[:cut], {})
        share = r.get("tokens", 0) / whole["tokens"] if whole.get("tokens") else 0.0
        target = r.get("target", 0) / whole["target"] if whole.get("target") else 0.0
        key = (d, "source" if g[cut] == "/" else "language")
        parts.setdefault(key, []).append(f"{g[cut + 1:]} {share:.0%} (target {target:.0%})")
    return "".join(f"; {d} by {kind}: {', '.join(p)}" for (d, kind), p in sorted(parts.items()))


def mix_line(manifest: dict) -> str | None:
    """The mix rebalance chose, from the manifest's stats, for a run without tokenize (whose
    tokens: line says it otherwise, and as it does: the natural mix, no rebalance.targets in
    the manifest's config, has no targets, nor the domains without data)."""
    st = manifest.get("stats") or {}
    if "rebalance.mix_tokens" not in st:
        return None
    total = st["rebalance.mix_tokens"]
    keys = {k.split(".")[2] for k in st if k.startswith("rebalance.mix.") and k.endswith(".tokens") and "/" not in k and ":" not in k}
    natural = not ((manifest.get("config") or {}).get("rebalance") or {}).get("targets", True)
    per = {d: st[f"rebalance.mix.{d}.tokens"] for d in keys if st[f"rebalance.mix.{d}.tokens"] or not natural}
    targets = {} if natural else {d: st[f"rebalance.mix.{d}.target"] for d in keys}
    asked = {"tokens": st["rebalance.budget_tokens"], "tolerance": st["rebalance.tolerance"]} if "rebalance.budget_miss" in st else None
    return f"mix: {total:,} tokens ({_mix_text(total, per, targets, asked)}{_splits_text(st)}); rebalance ran without tokenize: no tokens written"


def report(manifest: dict, root: str, seconds: float) -> None:
    print(summary(manifest, seconds))
    nothing = no_records(manifest) or all_quarantined(manifest, root)
    if nothing:
        print(f"curate: warning: {nothing}", file=sys.stderr)
    line = tokens_line(root, manifest.get("stats")) or mix_line(manifest)
    if line:
        print(line)
    from curate.readers import is_uri

    print(f"output: {one_line(root if is_uri(root) else os.path.abspath(root))}")  # the --output typed, escaped as in a warning


def no_records(manifest: dict) -> str | None:
    """Why a run wrote no document when its inputs held no record at all (0-byte files, blank
    lines only): not an error, an empty output, but said (the table's 0s alone left it unsaid)."""
    ingest = manifest["counts"].get("ingest") or {}
    if ingest.get("docs_in") or ingest.get("quarantined") or "files" not in ingest:
        return None
    n, size = ingest["files"], ingest.get("bytes_in", 0)
    return (f"no record was read: the {n:,} input file{'s' * (n != 1)} ({size:,} bytes) hold{'s' * (n == 1)} none (empty, "
            "blank lines, or no documents in them); the output holds 0 documents")


# what to change when a reason quarantined every record
QUARANTINE_HINTS = {"record_too_large": "limits.max_record_bytes sets how long a record may be"}


def all_quarantined(manifest: dict, root: str) -> str | None:
    """Why a run wrote no document when every record it read was quarantined (a file of one
    record over limits.max_record_bytes, which the checks before the run cannot tell from a long
    book): the reasons, counted from the quarantine's files; None when a document was written."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curate import output, shell

    ingest = manifest["counts"].get("ingest") or {}
    if ingest.get("docs_out") or not ingest.get("quarantined"):
        return None
    reasons: dict = {}
    for table in quarantine_tables(manifest, root, ["reason"]):
        for r in pc.value_counts(table.column(0)).to_pylist():
            reasons[r["values"]] = reasons.get(r["values"], 0) + r["counts"]
    n = ingest["quarantined"]
    said = ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    hints = "".join(f"; {QUARANTINE_HINTS[k]}" for k in sorted(reasons) if k in QUARANTINE_HINTS)
    return (f"every record read was quarantined, no document written ({n:,} record{'s' * (n != 1)}: {said}): each one's "
            f"reason is in {output.join(root, 'quarantine')} ({shell.said(f'curate audit {shell.quote(root)}', root)}){hints}")


def quarantine_tables(manifest: dict, root: str, columns: list, filters=None):
    """The quarantine's files of a run, each read as a table of ``columns``."""
    import pyarrow.parquet as pq

    from curate import output

    for e in manifest["outputs"]["quarantine"]:
        if e["rows"]:
            with output.open_input(output.join(root, e["file"])) as f:
                yield pq.read_table(f, columns=columns, filters=filters)


def json_lines_ends(manifest: dict, root: str, said: set, reason: str = "not_json_lines") -> list[str]:
    """Where a JSON Lines file read in this run stopped being JSON Lines (a CSV after its records):
    the reader's one quarantine row for those lines (readers/jsonl.NOT_LINES_RUN), as a line for
    the user; the files quarantined whole (``said``: their paths) were said before the run.
    ``reason`` cr_line_ends: a part of records separated by a bare \\r, at its byte offset."""
    rows = [r for r in _quarantined(manifest, root, reason) if r[0] not in said]
    lines = []
    for i, (path, offset, detail) in enumerate(rows):  # one line a file: where it first stopped being JSON Lines
        if not i or rows[i - 1][0] != path:
            more = sum(r[0] == path for r in rows) - 1
            at = f"from byte {offset:,}, " if reason == "cr_line_ends" else ""  # not_json_lines' detail says its line
            lines.append(f"{path}: {at}{detail}" + (f"; {more} more such part{'s' * (more != 1)} after it" if more else "")
                         + (f" ({reason})" if more or at else ""))
    return lines


def long_windows(manifest: dict, root: str) -> list[str]:
    """The files read in this run from whose zstd frame on nothing was read, the frame needing a
    window over 128 MiB (``zstd --long=28``): the quarantine row's detail says the window and how
    to recompress it, one line a file (a summary's 'quarantined 1' said neither)."""
    return [f"{path}: {detail} (zstd_window_too_large)" for path, _, detail in _quarantined(manifest, root, "zstd_window_too_large")]


SAID_FILES = 10  # files said one line each after a run; the rest counted (10,000 lines buried the summary)


def a_few(lines: list[str], reason: str, root: str) -> list[str]:
    """The first SAID_FILES of a file's-line-each warnings, then how many more and where their rows are."""
    if len(lines) <= SAID_FILES:
        return lines
    from curate import output

    return lines[:SAID_FILES] + [f"and {len(lines) - SAID_FILES:,} more files quarantined as {reason} "
                                 f"(a row each in {output.join(root, 'quarantine')})"]


def _quarantined(manifest: dict, root: str, reason: str) -> list[tuple]:
    """(path, offset, detail) of the ingest's quarantine rows for ``reason``, in file order."""
    if not (manifest["counts"].get("ingest") or {}).get("quarantined"):
        return []
    return sorted((r["path"], r["offset"], r["detail"]) for t in quarantine_tables(
        manifest, root, ["path", "offset", "detail"], [("reason", "==", reason)]) for r in t.to_pylist())


def show_progress(setting: str) -> bool:
    return setting == "on" or (setting == "auto" and sys.stderr.isatty())


def prepare_run(ns, beam_args: list[str] = ()):
    """The config and the shards of ``curate run``; a ConfigError lists every mistake of the
    config and the inputs' files at once (a misspelt stage does not hide an empty glob).
    ``beam_args``: checked ones, whose runner may bring its own workers (``workers_here``)."""
    from curate import config

    errors: list[str] = set_conflicts(ns)
    cfg = config.load(ns.config, _overrides(ns), for_run=True, errors=errors, sets=getattr(ns, "sets", None),
                      workers_here=workers_here(list(beam_args)))
    stages_ok = not any(e.startswith("run.stages:") for e in errors)  # else langid may be what was meant
    if ns.languages and stages_ok and "langid" not in cfg.run["stages"]:  # it would be silently unused
        errors.append(f"--languages: the langid stage is not among the stages run ({', '.join(cfg.run['stages'])}); "
                      "add langid or leave --languages out")
    if stages_ok:  # a --set for a stage that does not run would be silently unused, as --languages would
        from curate.schema import STAGES

        for text in getattr(ns, "sets", None) or []:
            with contextlib.suppress(ConfigError):
                stage = config.parse_set(text)[0][0]
                if stage in STAGES and stage not in cfg.run["stages"]:
                    errors.append(f"--set {text}: the {stage} stage is not among the stages run ({', '.join(cfg.run['stages'])}); "
                                  f"add {stage} or leave this --set out")
    try:  # with other mistakes, only the globs are checked: a wrong value could crash the rest
        config_dir = os.path.dirname(os.path.abspath(ns.config)) if ns.config and not getattr(ns, "inputs", None) else None
        shards = plan(cfg, globs_only=bool(errors), config_dir=config_dir)
    except ConfigError as e:
        errors += e.messages
    if errors and copied_demo(ns):  # its inputs, moved away with the folder it was written for: why
        errors.append(copied_demo(ns))
    if errors:
        raise ConfigError(*errors)
    return cfg, shards


def copied_demo(ns, running: bool = False) -> str | None:
    """What to say of a run of a copied demo's config (`cp -r demo1 demo2; curate run
    demo2/demo.toml`), whose paths are demo1's: it read demo1/raw and replaced demo1/out without
    a word (``running``: it is about to read them)."""
    from curate import demo

    named = demo.written_for(ns.config) if ns.config and not getattr(ns, "inputs", None) else None
    if named is None:
        return None
    cwd, rel = os.getcwd(), os.path.normpath(named or ".")
    here = os.path.dirname(os.path.abspath(ns.config))
    # not copied, run from elsewhere (cd /tmp; curate run r/dm/d1/demo.toml): its folder ends with the one
    # it names, whose parent it was written from (`curate demo` again would write it over with /tmp's paths)
    base = here if rel == "." else here[: -len(rel) - 1] or os.sep if not os.path.isabs(rel) and here.endswith(os.sep + rel) else None
    if base:
        return (f"{ns.config} is `curate demo`'s config for the folder {named or '.'}, written from {base} (its paths are taken "
                f"from the current directory, {cwd}): run curate from {base}"
                + f"; this run reads {os.path.join(cwd, rel) if rel != '.' else cwd}'s files" * running)
    folder = os.path.dirname(ns.config) or "."
    return (f"{ns.config} is `curate demo`'s config for the folder {named} (its paths are taken from the current directory, "
            f"{cwd}): `curate demo --output {shell.quote(folder)}` writes one for {folder}"
            + f"; this run reads {named}'s files" * running)


def previous_manifest(root: str) -> dict | None:
    """The manifest of the output already in ``root``; None if there is none (or it is unreadable)."""
    import json

    from curate import commit, output
    from curate.readers.common import is_uri, launch_fs

    commit.reachable(root)  # out of reach: the run's own error now, not None and a second wait in commit.begin
    try:
        fs, base = launch_fs(root) if is_uri(root) else output._fs(root)
        with fs.open_input_stream(f"{base}/{output.MANIFEST}") as f:
            m = json.loads(f.read())
        return m if isinstance(m, dict) and isinstance(m.get("config"), dict) else None
    except (OSError, ValueError):
        return None


def config_changes(old: dict, new: dict) -> list[str]:
    """``curate.config.config_changes`` (curate mix reads it there: the library imports no cli)."""
    from curate.config import config_changes as changes

    return changes(old, new)


def cmd_run(ns, beam_args) -> int:
    from curate import config, output

    cfg, shards = prepare_run(ns, beam_args)  # a config's mistakes said before Beam is imported (~1 CPU-s), where no Beam option is given
    from pipelines.options import local_paths_on_remote_workers, missing_extras, quiet_workers
    from pipelines.pipeline import run

    beam_args = quiet_workers(beam_args)

    local = local_paths_on_remote_workers(beam_args, cfg.inputs, cfg.run["output"], [cfg.glob_said(i) for i in range(len(cfg.inputs))],
                                          cfg.data_paths)
    if local:  # before the job is submitted, not after its workers found nothing
        raise ConfigError(*local)
    if missing_extras(beam_args):  # before the output is touched, not a traceback once the job is built
        raise ValueError(missing_extras(beam_args))
    before = previous_manifest(cfg.run["output"])  # replaced without a word, another config's output could go unnoticed
    if cfg.replaced_inputs:  # the config's own inputs are not read: say so
        print(f"curate: the --input options replace the {cfg.replaced_inputs} [[inputs]] of {one_line(str(ns.config))}", file=sys.stderr)
    from curate.stages.quality import language_warnings

    for line in language_warnings(cfg):  # a keep rule on languages the model does not know: say so, once
        print(f"curate: warning: {line}", file=sys.stderr)
    for stage, keys in cfg.tuned_off.items():  # a section given for a stage that does not run: say why
        print(f"curate: note: {config.tuned_off_note(stage, keys)}", file=sys.stderr)
    if copied_demo(ns):
        print(one_line(f"curate: note: {copied_demo(ns, running=True)}"), file=sys.stderr)
    # a stray JSON array among an input's JSON Lines: quarantined whole, said before the run
    strays = [f"{s.opt('not_json_lines')}; quarantined (not_json_lines), its records are not read"
              for s in shards if s.opt("not_json_lines") and s.start == 0]
    for line in a_few(strays, "not_json_lines", cfg.run["output"]):
        print(f"curate: warning: {one_line(line)}", file=sys.stderr)
    progress = show_progress(cfg.run["progress"])
    t0 = time.time()
    manifest = _interruptible(run, cfg, shards, beam_args, progress=progress)
    report(manifest, cfg.run["output"], time.time() - t0)
    root = cfg.run["output"]
    from curate.readers.common import name_utf8

    said = {name_utf8(s.rel) for s in shards if s.opt("not_json_lines")}  # as its row's path: a byte not UTF-8 as \xNN
    for reason, lines in (("not_json_lines", json_lines_ends(manifest, root, said)),
                          ("cr_line_ends", json_lines_ends(manifest, root, said, "cr_line_ends")),
                          ("zstd_window_too_large", long_windows(manifest, root))):
        for line in a_few(lines, reason, root):
            print(f"curate: warning: {one_line(line)}", file=sys.stderr)
    changed = config_changes(before["config"], manifest["config"]) if before is not None else []
    # other files under the same config (new shards, a file changed underneath) change the corpus too
    files = output.input_changes(before.get("inputs"), manifest.get("inputs")) if before is not None else None
    stages = [c.split(": ", 1)[1] for c in changed if c.startswith("run.stages: ")]  # --stages alone is no other config
    changed = [c for c in changed if not c.startswith("run.stages: ")]
    # one sentence: "made by other stages (...), with another config (...) and from other input files: ..."
    why = ([f"by other stages ({'; '.join(stages)})"] * bool(stages) + [f"with another config ({', '.join(changed)})"] * bool(changed)
           + [f"from other input files: {files}"] * bool(files))
    if why:
        why = ", ".join(why[:-1]) + " and " * (len(why) > 1) + why[-1]
        print(one_line(f"curate: replaced the previous output in {cfg.run['output']}, made {why}"), file=sys.stderr)
    return 0


class Interrupted(KeyboardInterrupt):
    def __init__(self, root: str, committed: bool | None = None):
        super().__init__(root)
        self.root = root
        self.committed = committed  # commit.abort's: a decided commit completed (True), left to the next read (False)
        self.held = None  # _holds_output(root) as the run began (None: not known)


class RunFailed(Exception):
    """A run stopped by the machine (a worker process killed, the disk full), reported in one line."""


def _no_answer(beam_args) -> str:
    """What a job server's silent timeout (grpc's FutureTimeoutError says nothing) means."""
    from apache_beam.options.pipeline_options import PipelineOptions

    opts = PipelineOptions(list(beam_args or [])).get_all_options()
    wait = f"{opts.get('job_server_timeout') or 300} s (--job_server_timeout)"
    if opts.get("job_endpoint"):
        return f"nothing answered at --job_endpoint={opts['job_endpoint']} within {wait}: start the job service there, or fix the address"
    return f"no answer within {wait}"


def _pool_address(beam_args) -> str:
    """What an EXTERNAL environment's pool refusing to answer means, and how to start one."""
    from apache_beam.options.pipeline_options import PipelineOptions

    where = PipelineOptions(list(beam_args or [])).get_all_options().get("environment_config") or "localhost:50000"
    port = where.rsplit(":", 1)[-1]
    return (f"--environment_config={where}: start one there (`python -m apache_beam.runners.worker.worker_pool_main "
            f"--service_port={port}`, in an environment with curate installed), or fix the address")


def _machine_failure(e: BaseException, beam_args=()) -> str | None:
    """What the machine did to the run (a worker killed, the disk full), or None for a failure
    of curate itself. Beam re-raises a step's error wrapped, so the whole chain is searched."""
    import errno
    import traceback

    from curate.stages.filters.custom import RuleError
    from pipelines.io import InputChanged
    from pipelines.pipeline import DataFilesChanged, OutputNotShared
    from pipelines.pool import WorkerDied

    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        # a remote runner's worker: its exception arrives as the text of its traceback
        on_worker = re.search(r"\b(?:InputNotOnWorker|InputChanged): (.+?)(?: \[while running|$)", str(e), re.MULTILINE)
        if on_worker:
            return on_worker.group(1)
        if re.search(r"\bWorkerLost: |Channel closed prematurely", str(e)):  # pipelines/worker_loss.py; its data channel
            return ("an SDK worker of the runner died mid-run (killed, out of memory?) and the job failed; "
                    "rerun once its cause is fixed")
        if re.search(r"start_?worker", str(e), re.IGNORECASE) and "UNAVAILABLE" in str(e):  # EXTERNAL: nothing at the address
            return f"no SDK worker pool answers at {_pool_address(beam_args)}"
        if isinstance(e, (WorkerDied, RuleError, OutputNotShared, DataFilesChanged, InputChanged)):  # RuleError: the user's rule failed, not curate
            return str(e).split(" [while running")[0]
        starting = (os.path.join("portability", "job_server.py"), os.path.join("utils", "subprocess_server.py"))
        if any(f.filename.endswith(starting) for f in traceback.extract_tb(e.__traceback__)):
            # Flink/Spark: Beam fetches and starts a job server jar (offline, a proxy, no java)
            if not str(e):  # grpc's timeout says nothing
                return f"the runner's job server could not be reached: {_no_answer(beam_args)}"
            jar = re.search(r"Unable to fetch remote job server jar at (\S+?\.jar)", str(e))
            if jar:  # offline: the whole URL (Beam's message, cut at 400 characters, lost its end) and what to do
                flag = "--spark_job_server_jar" if "spark" in jar.group(1) else "--flink_job_server_jar"
                return (f"the runner's job server could not be started: Beam could not download its jar ({jar.group(1)}); "
                        f"offline, copy that jar here and pass {flag}=PATH")
            return f"the runner's job server could not be started ({type(e).__name__}: {str(e)[:400]})"
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return ("the disk is full: a run needs free disk of about 4x its text beside the output "
                    "(about 3x with run.workers = 1; run.shuffle_compression = \"lz4\" or \"zstd\" "
                    "makes it smaller)")
        if isinstance(e, OSError) and e.errno == errno.EFBIG:  # FAT32's 4 GiB, a shell's `ulimit -f`
            return ("a file grew past the largest size allowed (the file system's limit, or the shell's file-size limit, "
                    "`ulimit -f`): raise the limit, or write the output to another file system")
        e = e.__cause__ or e.__context__
    return None


def _interruptible(run, cfg, *args, **kw):
    """Run the pipeline; on Ctrl-C remove this run's staging files (again: a Beam thread may
    still have been writing) and say which output is unchanged."""
    from curate import commit

    held = _holds_output(cfg.run["output"], None)  # what a failure leaves unchanged, should the output be out of reach then
    try:
        return run(cfg, *args, **kw)
    except BaseException as e:
        # Beam re-raises an interrupt that lands inside a step as RuntimeError("KeyboardInterrupt
        # [while running ...]"): the signal handler's flag tells it apart from a real failure
        if not (isinstance(e, KeyboardInterrupt) or _signalled):
            reason = _machine_failure(e, args[1] if len(args) > 1 else ())  # run(cfg, shards, beam_args)
            if reason:  # not a bug in curate: said in one line
                out = cfg.run["output"]
                if commit.decided(out):  # failed midway through its moves (a folder made on a full disk): not unchanged
                    audit = shell.said(f"`curate audit {shell.quote(out)}`", out)
                    raise RunFailed(f"{reason}; the commit of {out} was decided and stopped midway: the next command reading it "
                                    f"completes it ({audit})") from None
                raise RunFailed(f"{reason}; {_kept(out, _holds_output(out, held))}") from None
            raise
        stopped = Interrupted(cfg.run["output"], commit.abort(cfg.run["output"]))
        stopped.held = held
        raise stopped from None


def _kept(out: str, held: bool | None) -> str:
    """What a run that failed before its commit left in ``out``: the previous output (``held``), or
    none (a first run had no previous output to keep), or (not known: a bucket out of reach at the
    start and the end) what is true either way."""
    if held is None:
        return f"no output of this run was written to {out}"
    return f"the previous output in {out} is unchanged" if held else f"no output was written to {out}"


def cmd_demo(ns, beam_args) -> int:
    from curate import config, demo
    from pipelines.options import quiet_workers
    from pipelines.pipeline import run

    beam_args = quiet_workers(beam_args)

    t0 = time.time()
    cfg_path = demo.write_demo(ns.output)
    cfg = config.load(cfg_path, for_run=True)
    shards = plan(cfg)
    manifest = _interruptible(run, cfg, shards, beam_args, progress=show_progress(ns.progress))
    print(one_line(f"curate demo: raw sample shards in {os.path.join(ns.output, 'raw')}, config {cfg_path}"))
    report(manifest, cfg.run["output"], time.time() - t0)
    out = cfg.run["output"]
    print(f"next: {shell.said(f'curate audit {shell.quote(out)}', out)}  (writes report.html)")
    return 0


def _some(messages: list[str], width: int = 300) -> str:
    """Whole messages, in one line, up to ``width`` characters, then how many more: a cut
    mid-message left a path half said ('inputs[2].glob: 'curate-')."""
    said = []
    for m in (" ".join(m.split()) for m in messages):
        if said and len("; ".join([*said, m])) > width:
            break
        said.append(m)
    more = len(messages) - len(said)
    return "; ".join(said) + (f"; and {more} more" if more else "")


def inputs_since(cfg, manifest: dict, config_path: str | None) -> str | None:
    """What changed in the input files since the run whose candidates ``curate mix`` re-plans:
    its plan is of the documents that run read, a rerun reads the files as they are now."""
    from curate import output

    if "inputs" not in manifest:  # kept by a run its mix stopped: that run never listed its files
        return None
    try:
        config_dir = os.path.dirname(os.path.abspath(config_path)) if config_path else None
        now = [output.input_entry(s) for s in plan(cfg, config_dir=config_dir) if s.start == 0]
    except (ConfigError, OSError) as e:
        return f"the run's inputs cannot be listed to check them ({_some(getattr(e, 'messages', [str(e)]))}); this plan is of the documents that run read"
    changed = output.input_changes(manifest.get("inputs"), now)
    if changed:
        return (f"the input files differ from those the run read ({changed}): this plan is of the documents that run "
                "read; `curate run` reads the files as they are now")
    return None


def cmd_mix(ns, beam_args) -> int:
    """`curate mix OUTPUT [CONFIG] [--set rebalance.KEY=VALUE]...`: curate.mixplan."""
    import json

    from curate import mixplan

    from curate.readers.common import read_folder

    t0 = time.time()
    ns.output = read_folder(ns.output)  # as the audit and the loader name it
    where, manifest = mixplan.find(ns.output)
    cfg = mixplan.config(manifest, ns.config, ns.sets or [])
    cands = mixplan.table(where, manifest)
    stats = mixplan.replan(cfg.stages["rebalance"], cands)  # InfeasibleMix: said as `curate run` says it
    warning = inputs_since(cfg, manifest, ns.config)
    if warning:
        print(f"curate: warning: {warning}", file=sys.stderr)
    if ns.json:
        print(json.dumps(stats, indent=2, sort_keys=True))
        return 0
    tok = manifest["candidates"]["tokenizer"]
    stopped = " (kept from the run its mix stopped)" if where != ns.output else ""
    print(one_line(f"curate mix: {cands.num_rows:,} documents reached rebalance in {where}{stopped}, counted with {tok['name']}; "
                   f"re-planned in {time.time() - t0:.2f} s. A run with these settings would print:"))
    if "tokenize" in cfg.run["stages"]:
        reb, per = cfg.stages["rebalance"], {}
        for g, *_, n, _avail, _ep in mixplan.rows(stats):
            if "/" not in g and ":" not in g and n:
                per[g] = n
        m = {"tokens": {"total": stats["rebalance.mix_tokens"], "per_domain": per}, "tokenizer": tok,
             "mix": {d: {"target": f} for d, f in reb["targets"].items()},
             "shards": range(cfg.stages["tokenize"]["shards"] or cfg.run["shards"])}
        if reb["budget"]:
            m["budget"] = {"tokens": int(reb["budget"]), "tolerance": float(reb["tolerance"])}
        print(tokens_text(m, ns.output, stats))
    else:
        print(mix_line({"stats": stats, "config": {"rebalance": cfg.stages["rebalance"]}}))
    removed = ", ".join(f"{k.rsplit('.', 1)[1]} {v:,}" for k, v in sorted(stats.items()) if k.startswith("rebalance.removed."))
    print(f"rebalance: {stats['rebalance.docs_in']:,} docs in, {stats['rebalance.docs_out']:,} out ({removed or 'none removed'})")
    table = [("group", "target", "achieved", "tokens", "available", "epochs")] + [
        (g, f"{t:.2%}", f"{a:.2%}", f"{n:,}", f"{av:,}", f"{ep:g}") for g, t, a, n, av, ep in mixplan.rows(stats)]
    widths = [max(len(r[i]) for r in table) for i in range(6)]
    for r in table:
        print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    return 0


def cmd_config(ns, beam_args) -> int:
    from curate import config

    if ns.language:
        from curate.stages.filters import Filter

        cfg = config.load(ns.config, sets=ns.sets)
        labels = config._language_labels("web", cfg.stages.get("langid", {}))
        notes, tables = Filter(cfg.stages.get("filter")).language_settings(ns.language, labels)
        print("".join(f"# {n}\n" for n in notes) + config.to_toml({f"filter.{k}": v for k, v in tables.items()}), end="")
        return 0
    if not ns.config and not ns.sets:
        print(config.defaults_toml(), end="")
        return 0
    errors: list[str] = []
    cfg = config.load(ns.config, sets=ns.sets, errors=errors)  # mistakes: every one, as `curate run` says them,
    try:  # its globs' too (not the files' contents): a wrong domain does not hide an empty glob
        plan(cfg, globs_only=True, config_dir=os.path.dirname(os.path.abspath(ns.config)) if ns.config else None)
    except ConfigError as e:
        errors += e.messages
    if errors:
        raise ConfigError(*errors)
    print(config.effective_toml(cfg, ns.config, bool(ns.sets)), end="")
    return 0


def main(argv=None) -> int:
    import importlib
    import logging

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        try:
            module = importlib.import_module(DELEGATED[argv[0]][0])
        except ModuleNotFoundError:
            print(f"curate: {argv[0]} is not available in this version", file=sys.stderr)
            return 2
        _signalled.clear()  # SIGTERM an interrupt too: an audit killed outright left its temporary folders
        _catch_signals()
        return module.main(argv[1:])

    # Beam's optional GCP clients warn at import time; not useful to a local user.
    logging.getLogger().setLevel(logging.ERROR)
    # Beam logs a failing or interrupted step at ERROR before raising it here: said once, below
    logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    ap, commands = _parser()
    if argv and argv[0] in ("run", "demo"):
        from pipelines.options import attach_values

        ours = {o for a in commands[argv[0]]._actions for o in a.option_strings}
        argv = argv[:1] + attach_values(argv[1:], ours)
    try:
        errors = split_sets(argv) + config_option(argv) if argv and argv[0] in ("run", "config", "mix") else []
        if errors:
            raise UsageError(f"curate {argv[0]}", errors[0])
        ns, rest = ap.parse_known_args(argv)
    except UsageError as e:  # one line, not argparse's usage then its error
        if "must follow the --input" in str(e):  # no --input before it: a misspelt one (--inptu) is the mistake to say
            said = str(e).split(" ", 1)[0]  # the option (--domain) at fault: a typo after it is another mistake
            before = next((argv[:i] for i, a in enumerate(argv) if a.split("=")[0] == said), argv)
            typo = next((a.split("=")[0] for a in before if a.startswith("--") and a.split("=")[0] != "--input"
                         and did_you_mean(a.split("=")[0], ["--input"])), None)
            e = UsageError(e.prog, f"unknown option {typo}{did_you_mean(typo, ['--input'])}") if typo else e
        print(f"curate: {e}\n(see: {e.prog} --help)", file=sys.stderr)
        return 2
    _signalled.clear()
    _catch_signals()
    strays = stray_paths(argv) if ns.cmd == "run" else []
    if strays:
        errors = [f"--input takes one path, but {len(strays) + 1} followed it (then {', '.join(strays[:3])}"
                  f"{', ...' if len(strays) > 3 else ''}): was a glob expanded by the shell? Quote it "
                  "(--input 'books/*.txt') or give each file its own --input"]
    else:
        errors = check_rest(ns.cmd, commands[ns.cmd], rest)
    workers = ((ns.workers, f"--workers {ns.workers}") if ns.workers is not None else set_workers(ns)) if ns.cmd == "run" else None
    checked = [] if errors else rest  # Beam options that parse: their runner's workers are known
    if workers and not errors:
        errors = unused_workers(workers[0], rest, workers[1])
    if errors:
        if ns.cmd == "run" and not strays:  # the config's mistakes too, in the same message
            try:
                prepare_run(ns, checked)
            except ConfigError as e:
                # the option a misspelling meant, said missing (--domian: "inputs[0].domain: required ... --domain"), is that
                # same mistake: said once. Another error naming it (a --set given too, its value wrong) is its own
                meant = re.findall(r"\(did you mean (--[\w-]+)\?\)", "\n".join(errors))
                errors += [f"config error: {m}" for m in e.messages
                           if not (re.match(r"[\w.\[\]]+: required\b|no inputs:", m)
                                   and any(re.search(rf"{re.escape(o)}(?![\w-])", m) for o in meant))]
        for e in errors:  # a file's name in them escaped (one_line), as in a warning
            print(f"curate: {one_line(e)}", file=sys.stderr)
        print(f"(see: curate {ns.cmd} --help)", file=sys.stderr)
        return 2
    try:
        return {"run": cmd_run, "demo": cmd_demo, "config": cmd_config, "mix": cmd_mix}[ns.cmd](ns, rest)
    except ConfigError as e:  # a file's name in it escaped (one_line), as in a warning: a refused input's newline, ESC, bidi override
        for m in e.messages:
            print(f"curate: config error: {one_line(m)}", file=sys.stderr)
        return 2
    except ValueError as e:  # e.g. an output directory that is not ours, a mix that cannot be met
        # Beam names the step it was raised in, inside the message: a codec error's first word
        # ("'utf-8 [while running 'X']' codec can't ..."), whose cut left only `curate: 'utf-8`
        said = re.sub(r" \[while running '.*?'\]", "", str(e))
        print(f"curate: {one_line(said)}", file=sys.stderr)
        return 2
    except RunFailed as e:
        print(f"curate: {one_line(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        out = getattr(e, "root", None)
        where = f" in {one_line(str(out))}" if out else ""
        committed = getattr(e, "committed", None)
        if committed is None and out:  # a first run: there was none to keep
            print(f"\ncurate: interrupted; {one_line(_kept(str(out), _holds_output(str(out), getattr(e, 'held', None))))}",
                  file=sys.stderr)
        elif committed is None:
            print(f"\ncurate: interrupted; the previous output{where} is unchanged", file=sys.stderr)
        elif committed:  # its commit was decided (the journal written): rolled forward, never undone midway
            print(f"\ncurate: interrupted as the output{where} was committed: the commit was decided, and is completed "
                  "(the output is whole)", file=sys.stderr)
        else:
            audit = shell.said(f"`curate audit {shell.quote(out)}`", out)
            print(f"\ncurate: interrupted as the output{where} was committed: the commit was decided; the next command "
                  f"reading the output completes it ({audit})", file=sys.stderr)
        return INTERRUPTED


INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT


def _holds_output(root: str, before: bool | None) -> bool | None:
    """Whether ``root`` holds a finished output (its manifest): what an interrupted run left unchanged.
    ``before``: the answer as the run began, said where a bucket cannot be asked now (None: not known)."""
    from curate import output

    try:
        return output.file_type(output.join(root, output.MANIFEST)) == output.pafs.FileType.File
    except (OSError, ValueError):  # a bucket out of reach now: what was true before (a first run had none to keep)
        return before


_signalled: list = []  # the signals received (SIGINT, SIGTERM)


def _catch_signals() -> None:
    """Ctrl-C and SIGTERM (a scheduler stopping the job) raise KeyboardInterrupt and are
    remembered, so cleanup happens whatever Beam turns the exception into."""
    import signal
    import threading

    def handler(signum, frame):
        _signalled.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def entry() -> None:
    """The ``curate`` program. After an interrupt, exit at once: Beam's worker threads may
    still be running, and waiting for them would keep the user waiting."""
    code = 0
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `curate ... | head`: the reader left early; printing is each command's last step
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        sys.exit(code)
    except KeyboardInterrupt:  # before `run` handles it (Beam's imports take seconds), or in audit, train-quality
        run = sys.argv[1:2] in (["run"], ["demo"])  # nothing of a run is written before it handles one
        print(f"\ncurate: interrupted{'; the previous output is unchanged' if run else ''}", file=sys.stderr)
        code = INTERRUPTED
    if code == INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
