"""Checking the command line's Beam pipeline options before anything runs.

Beam itself drops an option it does not know with a warning (``Discarding unparseable
args``), so ``--direct_num_wokers=2`` would silently run with one worker. Here every option
is parsed by the same parser Beam builds (every ``PipelineOptions`` class, including the
chosen runner's, whose module is imported first); what is left over is an error.
"""
from __future__ import annotations

import argparse
import difflib
import re
import tempfile

# Beam (~1 CPU-s to import) is imported by the functions that need it: `curate run --help` and a
# config's mistakes are said without it


class BadOptionValue(ValueError):
    """A Beam option with a value its parser refuses (``--direct_running_mode=multi_procesing``)."""


_CHOICE = re.compile(r"(.*: invalid choice: '(.*)')( \(choose from (.*)\))$")  # argparse's words


def _one_line(message: str):
    # argparse's own error() prints the usage of every Beam option (over 100 lines), then exits
    from curate.config import did_you_mean

    bad = _CHOICE.match(message)
    if bad:  # --direct_running_mode=multi_procesing: with the choice meant, as a misspelt option's
        message = bad[1] + did_you_mean(bad[2], re.findall(r"'([^']*)'", bad[4])) + bad[3]
    raise BadOptionValue(message.removeprefix("argument "))


def _beam_parser(args: list[str]):
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = []

    def keep(p):  # get_all_options builds the parser from every PipelineOptions class; keep a handle on it
        p.error = _one_line
        parser.append(p)

    PipelineOptions(args).get_all_options(add_extra_args_fn=keep)
    return parser[0]


def attach_values(args: list[str], ours: set[str]) -> list[str]:
    """Beam options written ``--opt value`` (argparse's other form) as ``--opt=value``, so the
    command line's own parser does not take the value for the positional TOML config.

    Any option that is not curate's and not a Beam flag (``--streaming``) is taken to have a
    value when a bare word follows it; a misspelt one is then reported with its value."""
    if not any(_may_take(args, i, ours) for i in range(len(args))):  # no such option: Beam's flags not needed (~1 s import)
        return list(args)
    known = _direct_runner_names()
    if not known or any(a.split("=", 1)[0] in known for a in args):  # else no --runner, no Beam flag: Beam not needed
        flags = _beam_flags(args)
    else:
        flags = set()
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if _may_take(args, i, ours) and a not in flags:
            out.append(f"{a}={args[i + 1]}")
            i += 2
        else:
            out.append(a)
            i += 1
    return out


def _beam_flags(args: list[str]) -> set[str]:
    """The options of the chosen runner's Beam parser that take no value."""
    from apache_beam.runners.runner import create_runner

    runner = next((a.split("=", 1)[1] for a in args if a.startswith("--runner=")), None)
    if runner is None and "--runner" in args[:-1]:
        runner = args[args.index("--runner") + 1]
    try:
        create_runner(runner or "DirectRunner")  # registers the runner's options classes (flags among them)
    except Exception:  # noqa: BLE001 - an unknown runner is reported by unknown_options
        pass
    return {o for a in _beam_parser([])._actions if a.nargs == 0 for o in a.option_strings}


def _may_take(args: list[str], i: int, ours: set[str]) -> bool:
    """Whether ``args[i]`` is an option that is not curate's, followed by a bare word."""
    a = args[i]
    option = a.startswith("--") or (a.startswith("-") and not re.fullmatch(r"-[\d.]*", a))  # -o x: its x is no config
    return option and "=" not in a and a not in ours and i + 1 < len(args) and not args[i + 1].startswith("-")


def unknown_options(args: list[str], extra_known=()) -> list[str]:
    """One message per argument Beam does not know for the chosen runner (empty: all fine).

    Runners that take options from a job service (Flink, Spark, any PortableRunner) learn
    the job server's own options only when the job is submitted; for them only misspellings
    of known options are reported, the rest is left to the job service.
    """
    quick = _unknown_without_beam(args, extra_known)
    if quick is not None:
        return quick
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.runners.runner import create_runner

    runner_name = PipelineOptions(args).view_as(StandardOptions).runner or "DirectRunner"
    try:
        runner = create_runner(runner_name)  # imports the runner's module and its options classes
    except Exception as e:  # noqa: BLE001 - unknown runner, missing extra (e.g. apache-beam[gcp])
        return [f"--runner={runner_name}: {e}"]
    twice = given_twice(args)
    if twice:
        return [twice]
    from apache_beam.options.pipeline_options import PortableOptions
    from apache_beam.runners.portability.portable_runner import PortableRunner

    lenient = isinstance(runner, PortableRunner)
    if type(runner) is PortableRunner and not PipelineOptions(args).view_as(PortableOptions).job_endpoint:
        # Beam raises it from deep inside the run (a traceback), after the output folder is made
        return [f"--runner={runner_name} needs --job_endpoint=HOST:PORT (a running job service), "
                "or a runner that starts its own: --runner=FlinkRunner, --runner=SparkRunner"]
    try:
        parser = _beam_parser(args)
    except BadOptionValue as e:  # --direct_num_workers=two, a misspelt --direct_running_mode
        return [str(e)]
    bad_env = environment_type_error(args)
    if bad_env:
        return [bad_env]
    _, rest = parser.parse_known_args(args)
    known = [o for a in parser._actions for o in a.option_strings] + list(extra_known)
    return _left_over(rest, known, runner_name, lenient) + other_runner_options(args)


def _direct_runner_names() -> frozenset:
    """pipelines/beam_option_names.py's table when it was made from the installed Beam, else
    empty (another Beam may have other options: its parser is asked)."""
    from importlib.metadata import PackageNotFoundError, version

    from pipelines.beam_option_names import BEAM_VERSION, DIRECT_RUNNER

    try:
        return DIRECT_RUNNER if version("apache-beam") == BEAM_VERSION else frozenset()
    except PackageNotFoundError:
        return frozenset()


def _unknown_without_beam(args: list[str], extra_known=()) -> list[str] | None:
    """``unknown_options``' messages when no argument names a Beam option (``curate run --bogus``):
    then the runner is the DirectRunner, Beam's parser (allow_abbrev=False) leaves every argument
    over and has no value to refuse nor option given twice, so its option names, kept in
    pipelines/beam_option_names.py, say it without importing Beam (~1.5 CPU-s). None otherwise."""
    names = _direct_runner_names()
    if not names or not args or any(a.startswith("-") and (not a.startswith("--") or a == "--" or a.split("=", 1)[0] in names)
                       for a in args):  # a single dash may be a short option or a negative number: Beam's parser says
        return None
    return _left_over(args, sorted(names) + list(extra_known), "DirectRunner", lenient=False)


def _left_over(rest: list[str], known: list[str], runner_name: str, lenient: bool) -> list[str]:
    """One message per argument Beam's parser left over; ``lenient`` (a job service's runner):
    only misspellings of known options."""
    out = []
    for arg in rest:
        if not arg.startswith("-"):
            out.append(f"unexpected argument {arg!r}")
            continue
        name = arg.split("=", 1)[0]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if lenient and not close:
            continue
        from curate.config import set_for

        key = set_for(arg)  # --max_file_bytes=4096: a config key, as --set takes it
        hint = f" (a config key: {key})" if key else f" (did you mean {close[0]}?)" if close else ""
        out.append(f"unknown option {name}{hint}: neither a curate option nor a Beam pipeline option for {runner_name}")
    return out


def direct_runner_option_names() -> list[str]:
    """The option names of Beam's parser for the DirectRunner, as unknown_options builds it
    (imports Beam): what pipelines/beam_option_names.py holds (tests/test_options_table.py)."""
    from apache_beam.runners.runner import create_runner

    create_runner("DirectRunner")
    return sorted({o for a in _beam_parser([])._actions for o in a.option_strings})


def write_option_names(path: str = "pipelines/beam_option_names.py") -> None:
    """Writes ``direct_runner_option_names`` as pipelines/beam_option_names.py (after a Beam upgrade)."""
    import apache_beam

    names = "".join(f"    {n!r},\n" for n in direct_runner_option_names())
    with open(path, "w") as f:
        f.write(f'''"""The option names of Beam {apache_beam.__version__}'s parser for the DirectRunner: ``curate run --bogus``
is told without importing Beam (pipelines/options.py ``_unknown_without_beam``), when that Beam is the one
installed. Made by ``python -c 'from pipelines.options import write_option_names; write_option_names()'``;
tests/test_options_table.py checks it equals the installed Beam's parser."""
BEAM_VERSION = {apache_beam.__version__!r}
DIRECT_RUNNER = frozenset({{
{names}}})
''')


def given_twice(args: list[str]) -> str | None:
    """The one line for a Beam option of one value given twice (``--direct_num_workers=2
    --direct_num_workers=3``: Beam's parser kept the last without a word; of two --runner,
    attach_values took the first for the runner's options), as for curate's own options; an
    option that gathers (``--experiments``, ``--label``) is repeated."""
    try:
        actions = _beam_parser(args)._option_string_actions
    except BadOptionValue:  # said with its value by unknown_options
        return None
    seen = {}
    for a in args:
        name, _, value = a.partition("=")
        action = actions.get(name) if a.startswith("--") else None
        if type(action) is not argparse._StoreAction:  # a flag, or one that gathers (append, a comma list, a dict)
            continue
        if action.dest in seen:
            return f"{name} given twice ({seen[action.dest]}, then {value}): give it once"
        seen[action.dest] = value
    return None


# The --environment_type values Beam's Environment.from_options takes besides a beam:env: URN.
# Beam's parser takes any string and says 'Unknown environment type' only once the job is built.
ENVIRONMENT_TYPES = ("DOCKER", "PROCESS", "EXTERNAL", "LOOPBACK")


def environment_type_error(args: list[str]) -> str | None:
    """A one-line error for an --environment_type Beam would refuse (``EXTRENAL``, ``loopback``), as
    argparse words one for an option with choices; None when it is one of them or not given."""
    from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions

    value = PipelineOptions(args).view_as(PortableOptions).environment_type
    if not value or value in ENVIRONMENT_TYPES or value.startswith("beam:env:"):
        return None
    close = difflib.get_close_matches(value.upper(), ENVIRONMENT_TYPES, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"--environment_type: invalid choice: {value!r}{hint} (choose from {', '.join(ENVIRONMENT_TYPES)}, or a beam:env: URN)"


def beam_option(name: str) -> bool:
    """Whether ``--name`` is an option of any of Beam's option groups (any runner's). A name not
    in the DirectRunner's table (a superset of these groups: tests/test_options_table.py) is not,
    said without importing Beam (``curate run --inptu x``: a misspelt curate option)."""
    names = _direct_runner_names()
    if names and name not in names:
        return False
    return any(name in a.option_strings for a in _beam_parser([])._actions)


def _runner_groups() -> dict:
    """Beam's option groups that one kind of runner reads, with the runner(s) named for the
    user; the options in each come from Beam itself, so a new Dataflow option is covered."""
    from apache_beam.options import pipeline_options as po

    return {po.GoogleCloudOptions: "DataflowRunner", po.WorkerOptions: "DataflowRunner",
            po.FlinkRunnerOptions: "FlinkRunner", po.SparkRunnerOptions: "SparkRunner",
            po.JobServerOptions: "FlinkRunner or SparkRunner (their job server)",
            po.PortableOptions: "PortableRunner (or FlinkRunner, SparkRunner)",
            po.PrismRunnerOptions: "PrismRunner", po.DirectOptions: "DirectRunner"}


# WorkerOptions that the SDK harness reads, and so the DirectRunner's worker processes too
_HARNESS_OPTIONS = {"--default_sdk_harness_log_level", "--sdk_harness_log_level_overrides",
                    "--max_cache_memory_usage_mb", "--element_processing_timeout_minutes"}


# where a remote runner keeps its temporary and staged files; curate's local ones go elsewhere
_TEMP_OPTIONS = {"--temp_location", "--staging_location", "--gcs_temp_location"}


def is_direct(runner: str | None) -> bool:
    return runner is None or "direct" in runner.lower()  # DirectRunner, BundleBasedDirectRunner, direct


# the options whose files curate reads from a bucket too (pyarrow.fs): "give a bucket URI" is advice they can take
BUCKET_FILES = ("decontaminate.eval_sets[",)


def missing_extras(args: list[str]) -> str | None:
    """The one line for a Dataflow run where Beam's Google Cloud extras are not installed: its
    runner imports them once the job is built, a traceback then ('please install apache_beam[gcp]')."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    runner = PipelineOptions(args).view_as(StandardOptions).runner or ""
    if "dataflow" not in runner.lower():
        return None
    try:
        from apache_beam.runners.dataflow.internal import apiclient  # noqa: F401 - what DataflowRunner.run_pipeline imports
    except ImportError:
        return f"--runner={runner} needs Beam's Google Cloud extras, which are not installed: pip install 'apache-beam[gcp]'"
    return None


def local_paths_on_remote_workers(args: list[str], inputs: list[dict], output: str, said: list[str] | None = None,
                                  files: dict | None = None) -> list[str]:
    """One message per input glob or output that is a path on this machine when the runner's
    workers run on machines of their own (Dataflow): they would read nothing there, and write
    the output where no one finds it. Flink and Spark workers may share a filesystem with the
    launcher (or be on it, an EXTERNAL worker pool), so their paths are not judged. ``said``:
    each input's glob as a message says it (``Config.glob_said``: as typed, not tidied).
    ``files``: option -> the path it names (``Config.data_paths``), which the workers read too (each
    in its setup, after its VM is up): an evaluation set's only (``BUCKET_FILES``), which a bucket
    can hold; the others are not judged here: a word list, a model, a tokenizer.json curate reads
    from a local path only (in the workers' container; a URI is a config error, config.in_buckets),
    a custom rule's files the rule opens itself."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    runner = PipelineOptions(args).view_as(StandardOptions).runner or ""
    if "dataflow" not in runner.lower():
        return []
    from curate.commit import _bucket  # one reading of a URI (is_uri): sub/a://b.jsonl and FILE:///x are on this machine

    local = [(f"inputs[{i}].glob", said[i] if said and i < len(said) else repr(spec["glob"])) for i, spec in enumerate(inputs)
             if not _bucket(spec["glob"])]
    if not _bucket(output):
        local.append(("run.output", repr(output)))
    local += [(option, repr(path)) for option, path in sorted((files or {}).items())
              if option.startswith(BUCKET_FILES) and not _bucket(path)]
    return [f"{field} {path} is a path on this machine: the {runner}'s workers run on machines of their own and "
            f"cannot {'write' if field == 'run.output' else 'read'} it; give a bucket URI (gs://BUCKET/...)" for field, path in local]


def other_runner_options(args: list[str]) -> list[str]:
    """One message per option that belongs to another runner than the chosen one: Beam
    accepts ``--num_workers=8`` on the DirectRunner and ignores it, and the user believes
    they asked for 8 workers. Only the DirectRunner and the other runners are told apart
    (a remote runner's own groups overlap: Flink reads PortableOptions, Dataflow some of
    WorkerOptions'), so on a remote runner only DirectRunner options are reported."""
    import argparse

    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

    runner = PipelineOptions(args).view_as(StandardOptions).runner
    direct = is_direct(runner)
    given = [a.split("=", 1)[0] for a in args if a.startswith("--")]
    out = []
    for group, owner in _runner_groups().items():
        if (group is DirectOptions) == direct:
            continue
        parser = argparse.ArgumentParser(add_help=False)
        group._add_argparse_args(parser)
        names = {o for a in parser._actions for o in a.option_strings} - _HARNESS_OPTIONS
        for name in (g for g in given if g in names):
            if direct and name in _TEMP_OPTIONS:  # the user wants the temp files elsewhere: say how
                out.append(f"{name} is an option of the {owner}; this run's DirectRunner would ignore it: its temporary "
                           "files go to TMPDIR (now {}) and its spilled data under OUTPUT/.curate-staging/; set TMPDIR=DIR "
                           "to move the first".format(tempfile.gettempdir()))
            elif direct:
                out.append(f"{name} is an option of the {owner}; this run's DirectRunner would ignore it "
                           "(worker processes on this machine: --workers N; another runner: --runner=NAME)")
            else:
                out.append(f"{name} is an option of the {owner}; the {runner} would ignore it: leave it out")
    return out


def quiet_workers(args: list[str]) -> list[str]:
    """On the DirectRunner, worker processes log errors only unless the user chose a level: a
    multi-process run's workers otherwise print a dozen INFO/WARNING lines each. Remote
    runners keep their own logging (their workers log to the runner, not to this terminal)."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    runner = PipelineOptions(args).view_as(StandardOptions).runner or "DirectRunner"
    if "direct" not in runner.lower() or any(a.split("=", 1)[0] == "--default_sdk_harness_log_level" for a in args):
        return list(args)
    return [*args, "--default_sdk_harness_log_level=ERROR"]
