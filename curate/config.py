"""Run configuration: TOML file + command-line overrides, validated before the pipeline starts.

Every mistake gets one message naming the field and what is allowed, e.g.
``config error: filter.gopher.min_words: expected a number, got 'ten'``.
Stage sections are checked against the stage's ``DEFAULTS`` and then by the stage class itself
(the stage table, curate/stages/__init__.py), so a new stage or option needs no change here.
"""
from __future__ import annotations

import codecs
import contextlib
import contextvars
import copy
import datetime
import hashlib
import json
import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from curate import stages as stage_table
from curate.shell import home_path  # noqa: F401 - config.home_path, as the stages import it
from curate.readers.common import Limits, not_utf8, path_problem
from curate.schema import DOMAINS, OPT_IN_STAGES, STAGES


class ConfigError(ValueError):
    """One or more config mistakes; ``messages`` lists them all (str() joins them by lines)."""

    def __init__(self, *messages: str):
        self.messages = list(messages)
        super().__init__("\n".join(messages))


def did_you_mean(word: str, choices) -> str:
    """' (did you mean X?)' when ``word`` looks like a misspelling of one of ``choices``."""
    import difflib

    choices = [str(c) for c in choices]
    folded = {c.lower(): c for c in choices}  # "Cut", " cut": said as cut, not left without a hint
    key = str(word).strip().lower()
    # two letters swapped (wbe for web: difflib's 0.67, under the cutoff) is a slip of the fingers too
    swapped = [folded[w] for i in range(len(key) - 1) if (w := key[:i] + key[i + 1] + key[i] + key[i + 2:]) in folded]
    close = [folded[key]] if key in folded else swapped[:1] or difflib.get_close_matches(str(word), choices, n=1, cutoff=0.7)
    # the first word of a key of several (filter.gopher: gopher_quality, gopher_repetition; difflib's 0.6)
    close = close or sorted(folded[c] for c in folded if key and c.startswith(key + "_"))[:2]
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _toml(value) -> str:
    """A choice as a TOML file spells it (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Check:
    """What a config key allows beyond its default's type: a range and/or a set of choices
    (each element, for a list). Declared per section (``RUN_CHECKS``, a stage's ``CHECKS``) and
    applied by ``merge_section`` and ``check_values``: one set of rules and messages."""

    min: float | None = None
    max: float | None = None
    below: float | None = None  # an exclusive upper bound
    choices: tuple = ()
    expected: str = ""  # how a message names what is allowed, when "must be >= min" is not enough

    def allows(self) -> str:
        """What the check allows, for the reference table in docs/configuration.md."""
        if self.choices:
            return ", ".join(f"`{_toml(c)}`" for c in self.choices)
        if self.expected:
            return self.expected
        lo = f">= {self.min}" if self.min is not None else ""
        hi = f"<= {self.max}" if self.max is not None else f"< {self.below}" if self.below is not None else ""
        return " and ".join(x for x in (lo, hi) if x)

    def problem(self, value) -> str | None:
        if self.choices:
            bad = [v for v in (value if isinstance(value, list) else [value]) if v not in self.choices]
            return f"{bad[0]!r} is not one of {', '.join(map(_toml, self.choices))}{did_you_mean(bad[0], map(_toml, self.choices))}" if bad else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected {self.expected or 'a number'}, got {value!r}"
        lo, hi, below = self.min, self.max, self.below
        if (lo is not None and value < lo) or (hi is not None and value > hi) or (below is not None and value >= below):
            if self.expected:
                return f"expected {self.expected}, got {value!r}"
            if hi is None and below is None:
                return f"must be >= {lo}, got {value!r}"
            return f"must lie in [{lo}, {hi}], got {value!r}" if hi is not None else f"must lie in [{lo}, {below}), got {value!r}"
        return None


def check_values(where: str, section: dict, checks: dict | None) -> None:
    """Raise ValueError("where.key: problem") for the first value of ``section`` its Check refuses
    (for a stage class built without config.load)."""
    for k, c in (checks or {}).items():
        problem = c.problem(section[k]) if k in section else None
        if problem:
            raise ValueError(f"{where}.{k}: {problem}")


RUN_DEFAULTS = {
    "output": "",
    "shards": 4,  # Parquet files per output kind (text, ledger, quarantine, candidates)
    "stages": [],  # empty: every available stage, in pipeline order
    "progress": "auto",  # "auto" (on a terminal), "on", "off"
    "shuffle_compression": "none",  # "none", "lz4" or "zstd": Arrow batches compressed in shuffles
    "spill": "auto",  # documents cross shuffles as files under the staging folder (pipelines/spill.py); auto: on local runners
    "workers": 0,  # local runs: processes per heavy step (pipelines/pool.py); 0 = the machine's cores
}
# settings that say where and how a run is written, not what it produces: left out of the tokens'
# config hash, of what --compare and a replaced output call a changed config, and of what curate
# mix compares (dedup.hot_bucket: where a bucket is compared, the same edges either way; the
# shuffles' shard counts; the readers' batch and byte-range sizes; tokenize's encoder threads;
# decontaminate.max_ngrams, a limit that refuses a run or changes nothing).
# Each checked to give byte-identical outputs on the shared corpora before it was added (docs/dedup.md)
NOT_CONTENT = ("run.output", "run.progress", "run.spill", "run.workers", "run.shuffle_compression", "dedup.hot_bucket",
               "dedup.bucket_shards", "dedup.join_shards", "linededup.bucket_shards", "linededup.join_shards",
               "urldedup.bucket_shards", "urldedup.join_shards", "limits.batch_size", "limits.split_bytes",
               "tokenize.threads", "decontaminate.max_ngrams")


def tuning_only(stage: str, section) -> list[str]:
    """The keys of an opt-in stage's section when every one only tunes the run (NOT_CONTENT: a
    shuffle's shard counts, decontaminate.max_ngrams), else none: such a section does not turn
    the stage on (`--set linededup.bucket_shards=64`, docs/scale.md's advice, ran line dedup on
    a config without it, changing the output); an empty section still does."""
    keys = list(section) if isinstance(section, dict) else []
    return keys if keys and all(f"{stage}.{k}" in NOT_CONTENT for k in keys) else []


def content(cfg: dict) -> dict:
    """A config's dict (``Config.to_dict()``, or any of its sections by name) without the
    ``NOT_CONTENT`` settings: what decides the output."""
    out = dict(cfg)
    for key in NOT_CONTENT:
        section, name = key.split(".")
        if isinstance(out.get(section), dict):
            out[section] = {k: v for k, v in out[section].items() if k != name}
    return out
# [limits]: the readers' Limits, less the extractor (that one is ingest.extractor)
LIMIT_DEFAULTS = {f: v for f, v in vars(Limits()).items() if f != "extractor"}
LIMIT_CHECKS = {f: Check(min=0 if f == "max_ratio" else 1) for f in LIMIT_DEFAULTS}  # max_ratio 0: no bomb stop

WORKERS_PER_CORE = 4  # run.workers' most: more processes than that only share the cores (and memory)


CGROUP = "/sys/fs/cgroup"  # where a container's CPU quota is read (cores)
PROC_CGROUP = "/proc/self/cgroup"  # the process's cgroups, below CGROUP ("0::/system.slice/x.service")


def cores() -> int:
    """The cores this process may run on: its CPU affinity (a taskset's 2 of a 64-core machine),
    and at most its cgroup's CPU quota rounded up (docker --cpus 2: all 64 in its affinity),
    not the machine's (os.cpu_count): run.workers' 0 and its most."""
    return cores_said()[0]


def cores_said() -> tuple[int, str]:
    """``cores()``, and where that number comes from, in words: "this machine of 2 cores" on a
    64-core host given 2 (its affinity, a quota) sent the user looking for 62 missing cores."""
    machine = n = os.cpu_count() or 1
    with contextlib.suppress(AttributeError, OSError):  # no sched_getaffinity: macOS, Windows
        n = len(os.sched_getaffinity(0)) or 1
    quota = _cpu_quota()
    by = "its CPU affinity: taskset, a container's cpuset"
    if quota and quota < n:
        n, by = max(1, quota), "its cgroup's CPU quota: docker --cpus, systemd's CPUQuota="
    cores = f"{n} core{'s' * (n > 1)}"
    return n, f"this machine of {cores}" if n == machine else f"{cores} of this machine's {machine} ({by})"


def _cpu_quota() -> int | None:
    """The fewest CPUs a cgroup quota allows this process (quota / period, rounded up: 1.5 CPUs
    run 2 processes at once; in integers, as a damaged file's 400 digits are no float), None where none does:
    cgroup v2's cpu.max ("200000 100000"; "max ..." none), v1's cpu.cfs_quota_us (-1 none) over
    cpu.cfs_period_us, in the process's cgroup and each above it (a container with its own
    cgroup namespace sees its own at the root)."""
    def numbers(path):
        with contextlib.suppress(OSError, ValueError):
            with open(os.path.join(CGROUP, path)) as f:
                return [int(x) for x in f.read().split() if x != "max"]
        return []

    v2, v1 = "/", "/"  # the process's cgroup in each hierarchy (its line in PROC_CGROUP)
    with contextlib.suppress(OSError, ValueError):
        with open(PROC_CGROUP) as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                v2 = path if not names else v2
                v1 = path if "cpu" in names.split(",") else v1
    mine = {"": v2, "cpu": v1, "cpu,cpuacct": v1}  # v1's cpu controller: mounted under either name
    quotas = []
    for folder, path in mine.items():
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts) + 1):
            here = os.path.join(folder, *parts[:depth])
            files = ("cpu.cfs_quota_us", "cpu.cfs_period_us") if folder else ("cpu.max",)
            pair = [n for name in files for n in numbers(os.path.join(here, name))]
            if len(pair) == 2 and pair[0] > 0 and pair[1] > 0:
                quotas.append(-(-pair[0] // pair[1]))
    return min(quotas, default=None)


RUN_SHAPES = {"spill": (bool, str)}  # true, false or "auto"
RUN_CHECKS = {
    "shards": Check(min=1),
    "workers": Check(min=0),
    "spill": Check(choices=("auto", True, False)),
    "progress": Check(choices=("auto", "on", "off")),
    "shuffle_compression": Check(choices=("none", "lz4", "zstd")),
}


USER_CODE = "user_code"  # Config.to_dict()'s entry of the user_code hashes (a manifest's config has it)
DATA_FILES = "data_files"  # Config.to_dict()'s entry of the sha256 of each file an option names (data_files)

INPUT_KEYS = {
    "glob": str,
    "format": str,
    "domain": str,
    "source": str,
    "text_field": (str, list),
    "id_field": (str, list),
    "url_field": (str, list),
    "language_field": (str, list),
    "path_field": (str, list),
    "meta_fields": list,
    "carry_meta": bool,  # false: the records' own meta/metadata objects are not carried (privacy, size)
    "max_file_bytes": int,
    "max_notebook_bytes": int,
}


def glob_said(typed, tidy: str) -> str:
    """An input's glob for a message: as typed (``'./data/'``, not ``'data'``), and what it was
    read as (``tidy``, the config's) where more than ``.`` parts and separators went (``a/../b``, ``~``)."""
    if not isinstance(typed, str) or typed == tidy:
        return repr(tidy)
    changed = typed.startswith("~") or ".." in typed.split(os.sep)
    return f"{typed!r} (read as {tidy!r})" if changed else repr(typed)


@dataclass
class Config:
    run: dict
    limits: dict
    inputs: list[dict]
    stages: dict[str, dict] = field(default_factory=dict)  # stage name -> its validated section
    replaced_inputs: int = 0  # the file's [[inputs]] that the overrides' inputs replaced (not config)
    sets: list = field(default_factory=list)  # the --set KEY=VALUE options given (the manifest lists them; not config)
    # hashes of the user's code the config names (filter.custom), by option: part of the config's
    # identity (a rule edited makes another config), derived at load, never read from a file
    user_code: dict = field(default_factory=dict)
    # option -> (the path or glob it names, [(file, path relative to it)]) of each file an option
    # names (a word list, a model, an evaluation set): listed at load, hashed when first asked for
    data_listing: dict = field(default_factory=dict)
    _data_files: dict | None = field(default=None, repr=False, compare=False)  # data_files, once hashed
    # option -> [(file, its stat when hashed, its sha256, settled)]: what changed_files compares
    _data_stats: dict = field(default_factory=dict, repr=False, compare=False)
    # opt-in stages left off, no stages named, though their section is given: it holds only
    # these keys, which tune a stage without turning it on (tuning_only; said by the run, not config)
    tuned_off: dict = field(default_factory=dict)
    stages_named: bool = False  # run.stages (or --stages) named the stages, not the default (not config)
    # each input's glob as typed (inputs holds it tidied, one config): messages, the manifest's input_globs (not config)
    input_globs: list = field(default_factory=list)

    def glob_said(self, i: int) -> str:
        """inputs[i]'s glob for a message (``glob_said``)."""
        return glob_said(self.input_globs[i] if i < len(self.input_globs) else None, self.inputs[i]["glob"])

    @property
    def data_files(self) -> dict:
        """{option: sha256 of the bytes of the file(s) it names}: an edited file makes another
        config, as an edited rule does. Hashed on first use, once per Config: an evaluation set of
        GBs is read by what needs the hash (a run, curate mix's comparison), not by `curate config`."""
        if self._data_files is None:
            errors: list[str] = []
            hashed = _hash_data_files(self.data_listing, errors, self._data_stats)
            if errors:
                raise ConfigError(*errors)
            self._data_files = hashed
        return self._data_files

    def changed_files(self) -> list[str]:
        """'OPTION: FILE' for each local file whose bytes the hash covers that changed since it
        was hashed (a run's stages read it after: the hash would not say what they read). Its
        size, inode and times compared, not read again where they are the same; read again where
        they differ (a file touched or copied anew with the same bytes is no change) and where it
        was hashed within its file system's time tick (``commit.settled``), where an edit can
        leave them as they were.
        A folder or glob listed again: a file added or gone changes what was read too. A bucket's
        object: its size and update time compared (a folder's from its listing, a file named
        itself by ``object_key``), its bytes read again where they differ or where it was written
        within ``commit.SETTLED_NS`` of its hash, or its store keeps no time (``object_settled``)."""
        from curate import shell
        from curate.commit import stat_key
        from curate.output import sha256_file
        from curate.readers import is_uri, list_files, list_uri

        keys: dict = {}  # a bucket folder's objects: (size, update time) from its listing, not a request each
        out = [f"{option}: {given} (its files)" for option, (given, files) in sorted(self.data_listing.items())
               if option in self._data_stats and [f for f, _ in files] != [given]
               and [f for f, _ in (list_uri(given, keys) if is_uri(given) else list_files(given))] != [f for f, _ in files]]
        for option, files in sorted(self._data_stats.items()):
            for path, key, sha, settled in files:
                try:  # its stat differing, its bytes read again: touched (chmod, a copy of the same bytes) is no change
                    now = (keys.get(path) or object_key(path)) if is_uri(path) else stat_key(os.stat(path))
                    same = now == key and settled or sha256_file(os.path.dirname(path) or ".", os.path.basename(path)) == sha
                except OSError:
                    same = False
                if not same:  # a name's byte that is not UTF-8 as bash writes it, $'caf\xe9', as curate's other lines do
                    out.append(f"{option}: {shell.quote(path)}")
        return out

    @property
    def data_paths(self) -> dict:
        """option -> the path or glob it names, as given (stats/run.json; not config)."""
        return {k: given for k, (given, _) in self.data_listing.items()}

    def to_dict(self, data_files: bool = True) -> dict:
        """The config as a run uses it (its hash's input); ``data_files=False``: without the
        hashes of the files it names (not read then: `curate config` prints no hash)."""
        stages = {k: v for k, v in self.stages.items() if (k in self.run["stages"] or k in read_peers(self.run["stages"])) and v}
        files = self.data_files if data_files else {}
        return {"run": self.run, "limits": self.limits, "inputs": self.inputs, **stages,
                **({USER_CODE: self.user_code} if self.user_code else {}),
                **({DATA_FILES: files} if files else {})}

    def hashed_files(self) -> dict:
        """{option: {"path", "sha256"}} of the files whose content the config hash covers (stats/run.json)."""
        return {k: {"path": self.data_paths[k], "sha256": sha} for k, sha in self.data_files.items()}


def _check_type(where: str, value, default):
    if default is None or isinstance(default, dict):
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
    elif isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {_toml(value) if isinstance(value, bool) else repr(value)}"
                              f"{toml_hint(value, 'number')}")
        if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return type(default)(value)  # 13.0 as 13, 0 as 0.0: one spelling of a number, one config hash
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}{toml_hint(value, 'list')}")
    return value


def toml_hint(value, kind: str) -> str:
    """How to write a value typed as on the command line (`shards = "2"`, `stages = "ingest,dedup"`)
    in TOML: the file's mistake said only what was expected."""
    if not isinstance(value, str):
        return ""
    if kind == "number":
        try:
            float(value.strip().replace("_", ""))
        except ValueError:
            return ""
        return f" (write {value.strip()}, without quotes)"
    words = [w for w in value.replace(",", " ").split() if w]
    return " (write [" + ", ".join(f'"{w}"' for w in words) + "])" if words else ""


def merge_section(
    where: str,
    defaults: dict,
    given: dict,
    errors: list | None = None,
    shapes: dict | None = None,
    checks: dict | None = None,
    open_keys: tuple = (),
    numbers: Check | None = None,
) -> dict:
    """Defaults overlaid with ``given``; unknown keys and wrong types are errors.

    Nested dict defaults are merged recursively; a default of ``None`` or ``{}`` accepts any value.
    ``shapes`` maps a key to the types it accepts when that is more than its default's type
    (a stage's ``SHAPES``: the stage checks such a value itself); ``checks`` maps a key to its
    ``Check`` (ranges, choices: a stage's ``CHECKS``); ``numbers``, a Check for every number
    without one of its own (the filter's thresholds: >= 0), at any depth; ``open_keys``, tables
    at any depth whose keys the user chooses (language -> list file): replaced whole, not merged.
    Errors are appended to
    ``errors`` when given (every mistake of the section), else the first one is raised.
    """
    errs: list[str] = [] if errors is None else errors
    out = copy.deepcopy(defaults)
    given = {} if given is None else given
    if not isinstance(given, dict):
        errs.append(f"{where}: expected a table, got {given!r}")
        given = {}
    for k, v in given.items():
        if k not in defaults:
            allowed = ", ".join(sorted(defaults)) or "(none)"
            errs.append(f"{where}.{k}: unknown key{did_you_mean(k, defaults)}; allowed keys: {allowed}")
            continue
        d = defaults[k]
        try:
            if shapes and k in shapes:
                if not isinstance(v, shapes[k]):
                    names = " or ".join(t.__name__ for t in shapes[k])
                    raise ConfigError(f"{where}.{k}: expected a {names}, got {v!r}")
                problem = checks[k].problem(v) if checks and k in checks else None
                if problem:
                    raise ConfigError(f"{where}.{k}: {problem}")
                out[k] = v
            elif isinstance(d, dict) and k in open_keys:
                if not isinstance(v, dict):
                    raise ConfigError(f"{where}.{k}: expected a table, got {v!r}")
                out[k] = v
            elif isinstance(d, dict) and d and isinstance(v, dict):
                out[k] = merge_section(f"{where}.{k}", d, v, errs, open_keys=open_keys, numbers=numbers)
            else:
                value = _check_type(f"{where}.{k}", v, d)
                check = checks[k] if checks and k in checks else numbers if _is_number(d) else None
                problem = check.problem(v) if check else None
                if problem:
                    raise ConfigError(f"{where}.{k}: {problem}")
                out[k] = value  # only a valid value: a config collecting its errors is still usable
        except ConfigError as e:
            errs.extend(e.messages)
    if errors is None and errs:
        raise ConfigError(errs[0])
    return out


def check_stage(name: str, section: dict, load: bool = True) -> None:
    """The stage class's own checks of its (well-typed) section, and ``check()`` where it has one
    (``load``: not where a model stands in for the user's, whose labels it checks against)."""
    try:
        stage = stage_table.stage_class(name)(section)
        if load and hasattr(stage, "check"):
            stage.check()
    except (ValueError, TypeError, KeyError) as e:
        said = str(e)  # "rebalance.targets.x: ..." names its key already: not "rebalance: rebalance.targets.x"
        raise ConfigError(said if said.startswith((f"{name}.", f"{name}:")) else f"{name}: {said}") from None


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_input(i: int, spec: dict, errors: list) -> dict:
    where = f"inputs[{i}]"
    if not isinstance(spec, dict):
        errors.append(f"{where}: expected a table, got {spec!r}")
        return {}
    for k, v in spec.items():
        if k not in INPUT_KEYS:
            errors.append(f"{where}.{k}: unknown key{did_you_mean(k, INPUT_KEYS)}; allowed keys: {', '.join(INPUT_KEYS)}")
        elif INPUT_KEYS[k] in ((str, list), list):  # field names: a reader would fail on a number in them
            names = [v] if isinstance(v, str) and INPUT_KEYS[k] != list else v
            if v is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                what = "a list of strings" if INPUT_KEYS[k] == list else "a string or a list of strings"
                errors.append(f"{where}.{k}: expected {what}, got {v!r}")
            elif v is not None and any(not n.strip() for n in names):  # --text-field '': every record quarantined
                errors.append(f"{where}.{k}: {v!r} names no field: give a field's name{_flag(k)}, or leave it out")
        elif k == "source" and isinstance(v, str) and not v.strip():  # --source '': documents of no source
            errors.append(f"{where}.source: empty: give a name{_flag(k)}, or leave it out (its last fixed folder's name)")
        elif INPUT_KEYS[k] is bool and not isinstance(v, bool):
            errors.append(f"{where}.{k}: expected true or false, got {v!r}")
        elif k == "glob" and not isinstance(v, str):  # "wrong type list", then "required" as if none were given
            each = ": give each its own [[inputs]] table" if isinstance(v, list) else ""
            errors.append(f"{where}.glob: expected a string, one path or glob, got {v!r}{each}")
        elif v is not None and not isinstance(v, INPUT_KEYS[k]):
            errors.append(f"{where}.{k}: expected a string, got {v!r}")
    if isinstance(spec.get("glob", ""), str) and not spec.get("glob"):  # another type is said above
        errors.append(f"{where}.glob: required (a path or glob of input files)")
    domain = spec.get("domain")
    if domain is None:
        errors.append(f"{where}.domain: required, one of {', '.join(DOMAINS)} (on the command line: --domain after the --input)")
    elif domain not in DOMAINS:
        errors.append(f"{where}.domain: {domain!r} is not one of {', '.join(DOMAINS)}{did_you_mean(domain, DOMAINS)}")
    from curate.readers import FORMATS, RECORD_OPTIONS

    fmt = spec.get("format")
    if fmt is not None and fmt not in FORMATS:
        errors.append(f"{where}.format: {fmt!r} is not one of {', '.join(FORMATS)}{did_you_mean(fmt, FORMATS)}")
    if fmt == "source" and domain in DOMAINS and domain != "code":  # a .jsonl read as a program: removed as unknown_language
        errors.append(f"{where}.format: 'source' reads a tree of source code, for --domain code, not {domain} (each file a "
                      "program, its language from its name): give --domain code, or another --format (or leave it out)")
    given = [k for k in spec if k in RECORD_OPTIONS]
    if given and fmt in FORMATS and fmt not in ("jsonl", "parquet"):  # ignored there without a word (plan_shards: by its files)
        errors.append(f"{where}: {', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to JSON Lines and Parquet "
                      f"records only, not format {fmt!r}: leave {'it' if len(given) == 1 else 'them'} out")
    out = dict(spec)
    if isinstance(spec.get("glob"), str) and spec["glob"]:
        from curate.readers import tidy_glob

        out["glob"] = tidy_glob(home_path(spec["glob"]))  # ./*.jsonl is *.jsonl, data/ is data: one config
        why = path_problem(spec["glob"])
        if why:
            errors.append(f"{where}.glob: {why}")
        out.setdefault("source", default_source(spec["glob"]))
    return out


def _flag(key: str) -> str:
    """How the command line gives an input's key, where it does (text_field: --text-field)."""
    return f" (--{key.replace('_', '-')} after its --input)" if key in ("text_field", "id_field", "url_field", "source") else ""


def read_peers(stages: list) -> list[str]:
    """The stages that do not run whose section one that runs reads for what it writes: rebalance
    counts tokens with [tokenize]'s tokenizer (tokenize reads rebalance's only when it runs). Their
    sections, when given, are checked, spelt one way and hashed (their files too) as a run's."""
    return ["tokenize"] if "rebalance" in stages and "tokenize" not in stages else []


# The folder of the config file load() is reading: a missing file's message says where it is.
_CONFIG_DIR: contextvars.ContextVar[str | None] = contextvars.ContextVar("config_dir", default=None)


def run_from(config_dir: str, glob: bool = True) -> str:
    """What a missing path's message adds where the path is found from the config's folder
    (`curate run ess/my.toml` from ess's parent): a team's config holds paths from its folder."""
    found = "it matches files" if glob else "it is"
    return f", not from the config's folder, where {found}: run curate from {config_dir}, or give paths from where it runs or absolute ones"


def relative_from(path: str, config: bool = True) -> str:
    """What a message about a missing file adds for a path typed relative: where it was looked for
    (the current directory, not the config's folder, which a team's config may be written from),
    and to run curate from the config's folder where the path is there (as an input is told).
    ``config``: False for a command that reads no config (train-quality): the directory alone."""
    import glob

    from curate.readers import is_uri

    if not path or is_uri(path) or os.path.isabs(path):
        return ""
    if not config:
        return f" (a relative path is taken from the current directory, {os.getcwd()})"
    here = in_config_folder(path)
    if here:
        return f" (a relative path is taken from the current directory, {os.getcwd()}{run_from(here, glob.has_magic(path))})"
    # a config elsewhere: not its folder (with --set alone, or the config here, there is none to speak of)
    other = ", not from the config's folder" if _CONFIG_DIR.get() not in (None, os.getcwd()) else ""
    return f" (a relative path is taken from the current directory, {os.getcwd()}{other})"


def in_config_folder(path: str) -> str | None:
    """The folder of the config being loaded where the relative ``path`` (a glob: files) is
    found from there but not from here (the current directory), else None."""
    import glob

    here = _CONFIG_DIR.get()
    if not here or here == os.getcwd() or os.path.isabs(path):
        return None
    there = os.path.join(here, path)  # the folder escaped in a glob: "team [1]/" is no character class
    return here if glob.has_magic(path) and glob.glob(os.path.join(glob.escape(here), path)) or os.path.exists(there) else None


def default_source(pattern: str) -> str:
    """A readable source name from a glob: its last fixed path component."""
    import urllib.parse

    from curate.readers import glob_root, has_magic, is_file_name, is_uri
    from curate.readers.common import fs_path

    root = glob_root(pattern)
    fixed = not has_magic(pattern)
    if is_uri(pattern) and fixed and pattern.split("://", 1)[0].lower() != "file":
        # gs://bucket/crawl and gs://bucket/crawl/ are one folder, but which a URI names, a file
        # or a folder, only the bucket knows, and the config is read without a call to it: a
        # name with a data file's extension is a file (its folder names the source), else a folder
        parts = [p for p in urllib.parse.unquote(pattern.split("://", 1)[1]).split("/") if p]
        if len(parts) > 1 and is_file_name(parts[-1]):
            parts.pop()
        return parts[-1] if parts else "input"
    if is_uri(pattern):  # my%20data and "my data" are one folder: one source name
        root = urllib.parse.unquote(root)
        if fixed:
            local = fs_path(pattern)[1]  # on this machine: file:///data/crawl is the folder crawl, as /data/crawl
            root = local if os.path.isdir(local) else root
    base = os.path.basename(os.path.normpath(root))
    return base if base not in ("", ".", "..") else "input"


_BARE_KEY = r"[A-Za-z0-9_-]+"


def parse_set(text: str) -> tuple[list[str], Any]:
    """``--set KEY=VALUE``: the key's path and the value, parsed as a TOML value (a word that is
    not one, such as a path, is a string). Raises ConfigError naming the --set."""
    import re

    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not re.fullmatch(rf"{_BARE_KEY}(\.{_BARE_KEY})*", key):
        raise ConfigError(f"--set {text}: expected KEY=VALUE with a dotted key, e.g. --set rebalance.budget=2000000")
    if key.split(".")[0] == "inputs":
        raise ConfigError(f"--set {text}: inputs are not set this way; give --input options (they replace the config's [[inputs]])")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
        if isinstance(parsed, (datetime.date, datetime.time)):  # no option takes a date: run.output=2024-10-01 is a name
            return key.split("."), value.strip()
        return key.split("."), parsed
    except tomllib.TOMLDecodeError as e:
        v = value.strip()
        if v and v[0] not in "\"'[{" and not any(c in v for c in "\n#"):
            return key.split("."), v  # a bare word: --set run.output=/scratch/corpus
        raise ConfigError(f"--set {text}: not a TOML value ({e}); quote a string (--set 'a.b=\"x y\"')") from None


def apply_sets(raw: dict, sets: list[str]) -> None:
    """Each ``--set`` into the file's tables: parent tables are merged, the value at the key
    replaces the file's whole (a table given to ``rebalance.targets`` is the new targets)."""
    errors = []
    given: dict[str, str] = {}
    for text in sets:
        try:
            path, value = parse_set(text)
        except ConfigError as e:
            errors += e.messages
            continue
        key = ".".join(path)
        if key in given:  # the last one won without a word, as a second --shards did
            errors.append(f"--set {key} given twice (--set {given[key]}, then --set {text}): give it once")
            continue
        given[key] = text
        node = raw
        for i, part in enumerate(path[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                errors.append(f"--set {text}: {'.'.join(path[:i + 1])} is {nxt!r}, not a table: set {'.'.join(path[:i + 1])} itself")
                break
            node = nxt
        else:
            node[path[-1]] = value
    if errors:
        raise ConfigError(*errors)


def load(path: str | None = None, overrides: dict | None = None, for_run: bool = False, errors: list | None = None,
         sets: list[str] | None = None, base: dict | None = None, workers_here: bool = True) -> Config:
    """Read a TOML config (optional), apply ``--set KEY=VALUE`` lines (``sets``) and overrides
    (same shape as the file), validate everything.

    Raises one ConfigError listing every mistake found (``.messages``), not just the first.
    ``for_run``: also require what a run needs (an output directory, at least one input).
    ``errors``: a list the mistakes are appended to instead; the Config is then returned as far
    as it could be built, so a caller can check what follows from it too (the inputs' files)
    and report everything at once. A TOML file that cannot be read is raised either way.
    ``base``: a config already read (a manifest's), in place of the file.
    ``workers_here``: run.workers are this process's (the DirectRunner's default mode), checked
    against its cores; another runner's workers are its own (run.workers unused).
    """
    token = _CONFIG_DIR.set(os.path.dirname(os.path.abspath(path)) if path else None)  # relative_from
    try:
        return _load(path, overrides, for_run, errors, sets, base, workers_here)
    finally:
        _CONFIG_DIR.reset(token)


def _load(path, overrides, for_run, errors, sets, base, workers_here) -> Config:
    raw: dict[str, Any] = copy.deepcopy(base) if base else {}
    raw.pop(USER_CODE, None)  # a manifest's: derived again below from the code as it is now
    raw.pop(DATA_FILES, None)  # the same, from the files as they are now
    if path:
        try:
            with open(path, "rb") as f:  # a UTF-8 byte-order mark (Windows Notepad's) is not TOML's mistake to say
                raw = tomllib.loads(f.read().removeprefix(codecs.BOM_UTF8).decode())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: a folder, not a TOML config (an input goes after --input)") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(_not_a_config(str(path), e)) from None
    collect = errors is not None
    errors = [] if errors is None else errors
    try:  # after the file, before the dedicated options (cli refuses a key set by both)
        apply_sets(raw, sets or [])
    except ConfigError as e:
        if not collect:
            raise
        errors += e.messages
    replaced = len(raw["inputs"]) if "inputs" in (overrides or {}) and isinstance(raw.get("inputs"), list) else 0
    for k, v in (overrides or {}).items():
        if isinstance(v, dict) and isinstance(raw.get(k), dict):
            raw[k] = {**raw[k], **v}
        else:
            raw[k] = v

    known = {"run", "limits", "inputs", *STAGES}
    for k in raw:
        if k in known:
            continue
        home = "[run]" if k in RUN_DEFAULTS else "[limits]" if k in LIMIT_DEFAULTS else "[[inputs]]" if k in INPUT_KEYS else None
        if home and not isinstance(raw[k], dict):  # `output = "x"` above any [run]: the key of a section, not one
            dotted = f" ({home.strip('[]')}.{k})" if home != "[[inputs]]" else ""  # as --set names it
            errors.append(f"{k}: not a section; a key of {home}: write it under {home}{dotted}")
        else:
            errors.append(f"{k}: unknown section{did_you_mean(k, known)}; allowed: {', '.join(sorted(known))}")
    run = merge_section("run", RUN_DEFAULTS, raw.get("run", {}), errors, RUN_SHAPES, RUN_CHECKS)
    limits = merge_section("limits", LIMIT_DEFAULTS, raw.get("limits", {}), errors, checks=LIMIT_CHECKS)
    inputs = raw.get("inputs", [])
    if not isinstance(inputs, list):
        errors.append("inputs: expected a list of tables ([[inputs]] in TOML)")
        inputs = []
    typed = [s.get("glob") if isinstance(s, dict) else None for s in inputs]
    inputs = [check_input(i, s, errors) for i, s in enumerate(inputs)]
    if for_run and not inputs:
        errors.append("no inputs: give --input GLOB (with --domain) or [[inputs]] in the config")
    if for_run and not run["output"]:
        errors.append("run.output: required (--output DIR)")
    n, where = cores_said()
    if workers_here and isinstance(run["workers"], int) and run["workers"] > WORKERS_PER_CORE * n:  # each one forked at once: --workers 100000 forked thousands
        errors.append(f"run.workers: {run['workers']} processes on {where}: give at most "
                      f"{WORKERS_PER_CORE * n} ({WORKERS_PER_CORE} a core), or 0 for one a core")
    if isinstance(run["output"], str):
        run["output"] = home_path(run["output"])
    if isinstance(run["output"], str) and path_problem(run["output"]):
        errors.append(f"run.output: {path_problem(run['output'])}")
    elif isinstance(run["output"], str) and run["output"] and not_utf8(run["output"]):
        errors.append(f"run.output {not_utf8(run['output'])}")

    chosen = []
    # empty = every stage, opt-in ones only when their section is given (and more than tunes them)
    tuned_off = {} if run["stages"] else {s: keys for s in OPT_IN_STAGES if (keys := tuning_only(s, raw.get(s)))}
    for s in run["stages"] or [s for s in STAGES if s not in OPT_IN_STAGES or (s in raw and s not in tuned_off)]:
        if s not in STAGES:
            errors.append(f"run.stages: {s!r} is not a stage{did_you_mean(s, STAGES)}; allowed: {', '.join(STAGES)}")
        else:
            chosen.append(s)
    # with a misspelt stage, which stages were meant is unknown: check every section given too
    misspelt = any(s not in STAGES for s in run["stages"])
    named = bool(run["stages"])
    run["stages"] = [s for s in STAGES if s in chosen or s == "ingest"]  # always pipeline order
    sections, user_code, data_paths = {}, {}, {}
    read = [*run["stages"], *read_peers(run["stages"])]  # the sections a run reads
    for s in STAGES:
        given = raw.get(s, {})
        if s not in run["stages"] and not given:
            continue  # a stage that does not run needs no config
        before = len(errors)
        cls = stage_table.stage_class(s)
        sections[s] = merge_section(
            s, dict(cls.DEFAULTS), given, errors, getattr(cls, "SHAPES", None), getattr(cls, "CHECKS", None),
            getattr(cls, "OPEN_KEYS", ()), getattr(cls, "NUMBERS", None),
        )
        if (s in read or (misspelt and s in raw)) and len(errors) == before:  # the stage's own checks need well-typed values
            if hasattr(cls, "data_files") and _tilde(sections[s]):  # ~/bad.txt: checked where it is read (file_path)
                with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                    sections[s] = files_spelt(s, sections[s], cls.data_files(sections[s]), home_path)
            bucketed = in_buckets(s, cls, sections[s])
            errors += [m for _, m in bucketed]
            try:  # a file in a bucket: not looked for as a local one, the stage's other checks made without it
                checked = without_options(sections[s], [o for o, _ in bucketed], cls.DEFAULTS)
                if checked is not None and len(errors) == before + len(bucketed):
                    check_stage(s, checked, load=not any(option_keys(o)[-1] in STAND_INS for o, _ in bucketed))
            except ConfigError as e:
                errors.extend(e.messages)
            if len(errors) == before and hasattr(cls, "normalize"):  # one spelling of what runs: one hash
                sections[s] = cls.normalize(sections[s])
        if s in run["stages"] and len(errors) == before and hasattr(cls, "user_code"):
            user_code.update(cls.user_code(sections[s]))
        if s in read and len(errors) == before and hasattr(cls, "data_files"):
            data_paths.update(cls.data_files(sections[s]))
    # a run needs the hash: its files' mistakes are said with the config's; else hashed when asked
    data_stats: dict = {}
    data_files = _hash_data_files(data_paths, errors, data_stats) if for_run else None
    errors += _rebalance_languages(run["stages"], sections)
    errors[:] = _from_set(errors, sets or [])
    if errors and not collect:
        raise ConfigError(*errors)
    return Config(run=run, limits=limits, inputs=inputs, stages=sections, replaced_inputs=replaced, sets=list(sets or []),
                  user_code=user_code, data_listing=data_paths, _data_files=data_files, _data_stats=data_stats,
                  tuned_off=tuned_off, stages_named=named, input_globs=typed)


def _tilde(value) -> bool:
    """Whether a section holds a string starting with ``~`` (a file in the home folder, perhaps):
    its ``data_files`` asked only then (an evaluation set's folder is listed by it)."""
    if isinstance(value, dict):
        return any(_tilde(v) for v in value.values())
    if isinstance(value, list):
        return any(_tilde(v) for v in value)
    return isinstance(value, str) and value.startswith("~")


def respelt(stage: str, section: dict) -> dict:
    """A stage's section from a manifest, spelt as config.load spells it now (numbers as their
    option's type, ``normalize``): an older curate's spelling of the same options compares
    equal. As it is where it is no stage's or no longer checks. [limits] gets the keys added
    since, at their defaults (limits.max_ratio: 1,000, the stop before it had a key)."""
    if stage == "limits":
        return {**LIMIT_DEFAULTS, **section}
    if stage not in STAGES:
        return section
    try:
        cls = stage_table.stage_class(stage)
        errors: list[str] = []
        out = merge_section(stage, dict(cls.DEFAULTS), section, errors, getattr(cls, "SHAPES", None),
                            getattr(cls, "CHECKS", None), getattr(cls, "OPEN_KEYS", ()), getattr(cls, "NUMBERS", None))
        return section if errors else cls.normalize(out) if hasattr(cls, "normalize") else out
    except Exception:  # noqa: BLE001 (an old manifest's section: compared as written)
        return section


def respelt_sections(old: dict, new: dict) -> dict:
    """A config dict an older curate wrote (a manifest's config, the candidates' ``before``) with
    each stage section that differs from ``new``'s spelt as config.load spells it now (``respelt``:
    13.0, ./bad.txt; an absolute path where it is the relative one ``new`` names: ``_relative_again``)
    and its inputs' globs tidied (./*.jsonl, data/): what compares with ``new``."""
    from curate.readers import tidy_glob

    out = {k: respelt(k, v) if isinstance(v, dict) and v != new.get(k) else v for k, v in old.items()}
    files = {option_keys(o) for o in new.get(DATA_FILES) or {}} if isinstance(new.get(DATA_FILES), dict) else set()
    out = {k: _relative_again(v, new[k], files, (k,))
           if k in STAGES and isinstance(v, dict) and isinstance(new.get(k), dict) and v != new[k] else v
           for k, v in out.items()}
    if isinstance(out.get("inputs"), list) and out["inputs"] != new.get("inputs"):
        out["inputs"] = [{**i, "glob": tidy_glob(i["glob"])} if isinstance(i, dict) and isinstance(i.get("glob"), str) else i
                         for i in out["inputs"]]
    return out


def _json_keys(tables) -> list[str]:
    return [json.dumps(t, sort_keys=True, default=str) for t in tables or []]


def stage_change(old: list, new: list) -> str:
    """'run.stages: X added; Y dropped': how ``config_changes`` says a change of the stages alone."""
    said = [f"{', '.join(s for s in b if s not in a)} {how}" for a, b, how in ((old, new, "added"), (new, old, "dropped"))
            if set(b) - set(a)]
    return f"run.stages: {'; '.join(said)}"


def config_changes(old: dict, new: dict) -> list[str]:
    """The sections (run: its keys) in which two configs differ in what they produce."""
    changed, unhashed = [], []
    old = respelt_sections(old, new)  # what an older curate spelt another way (13.0, ./bad.txt, ./*.jsonl)
    old, new = content(old), content(new)
    ran = [c.get("run", {}).get("stages") if isinstance(c.get("run"), dict) else None for c in (old, new)]
    moved = set(ran[0]) ^ set(ran[1]) if all(isinstance(r, list) for r in ran) else set()
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if k == DATA_FILES and a is None and isinstance(b, dict):  # written by a curate that hashed no file's bytes
            unhashed = sorted(b)
        if k in moved and (a is None or b is None):  # a stage added or dropped: its section comes or goes with it
            continue  # (run.stages says so); one both runs read (tokenize's, rebalance's peer) is compared
        if k == "run" and isinstance(a, dict) and isinstance(b, dict):
            changed += [stage_change(*ran) if x == "stages" and moved else f"run.{x}"
                        for x in sorted(set(a) | set(b)) if a.get(x) != b.get(x)]
        elif k == USER_CODE:  # a rule's code edited: say which
            a, b = a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}
            changed += [f"the code of {x}" for x in sorted(set(a) & set(b)) if a[x] != b[x]]
        elif k == DATA_FILES:  # a file an option names edited (one named or no longer: its section says)
            a, b = a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}
            changed += [f"the content of {x}" for x in sorted(set(a) & set(b)) if a[x] != b[x]]
        elif k == "inputs" and a != b and sorted(_json_keys(a)) == sorted(_json_keys(b)):
            changed.append("inputs reordered")  # as audit --compare says it: the first input reads a file two match
        elif a != b:
            changed.append(k)
    sections = {c for c in changed if " " not in c}  # a section changed says its files' options itself
    unhashed = [x for x in unhashed if x.split(".")[0] not in sections | moved]  # an added stage's files: not the old run's
    return changed + [f"the content of {' and '.join(unhashed)}, which the curate that wrote it did not hash"] * bool(unhashed)


def _relative_again(old, new, files: set, at: tuple):
    """``old`` (an older manifest's section, at keys ``at``) with each absolute path that ``new``'s
    relative one at the same place names from here as ``new`` spells it: a file an option names (an
    evaluation set's glob, a word list, a tokenizer.json) was stored absolute by an older curate,
    relative now. Only at a place in ``files`` (the keys of the options whose files ``new`` hashed,
    ``option_keys``; an evaluation set's ``glob``): another string that happens to be the current
    directory's path joined (run from /, a placeholder "/KEY" changed to "KEY") is a change."""
    from curate.readers import is_uri, kernel_path, tidy_glob

    if isinstance(old, dict) and isinstance(new, dict):
        return {k: _relative_again(v, new[k], files, (*at, k)) if k in new else v for k, v in old.items()}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [_relative_again(a, b, files, (*at, i)) for i, (a, b) in enumerate(zip(old, new))]
    named = at in files or at[-1:] == ("glob",) and at[:-1] in files
    if (named and isinstance(old, str) and isinstance(new, str) and old != new and os.path.isabs(old) and new
            and not os.path.isabs(new) and not new.startswith("~") and not is_uri(new)
            and old in (kernel_path(new), tidy_glob(os.path.join(os.getcwd(), new)))):
        return new
    return old


def _hash_data_files(paths: dict, errors: list, stats: dict | None = None) -> dict:
    """{option: sha256} of the files a stage's ``data_files`` names (option -> (path or glob as
    given, [(file, its path relative to the glob)])): a file named itself, the sha256 of its bytes
    (its name is in the config); a folder or glob, the sha256 of its files' ``sha256sum`` listing
    (hash, two spaces, the relative path, a line each, in the order listed), one file or several:
    their names are read (an evaluation set's items are named by their file), where they are is
    not. A file that cannot be read, or is no regular file (a FIFO, /dev/zero: read for ever), is
    a config error naming the option. ``stats`` (a dict) gets option -> [(file, its stat before
    the read, sha256, whether settled)] of each local file (Config.changed_files)."""
    import stat
    import time

    from curate.commit import stat_key, settled
    from curate.output import sha256_file
    from curate.readers import is_uri, list_uri
    from curate.readers.common import name_utf8

    out = {}
    for option, (given, files) in sorted(paths.items()):
        try:
            now, seen, keys = time.time_ns(), {}, {}
            if is_uri(given) and [f for f, _ in files] != [given]:
                list_uri(given, keys)  # a folder's objects: their keys from one listing, not a request each
            for f, _ in files:
                if is_uri(f):
                    seen[f] = keys.get(f) or object_key(f)  # a bucket's object: its size and update time, before the read
                    continue
                seen[f] = os.stat(f)  # before the read: an edit while it is read changes it
                if not stat.S_ISREG(seen[f].st_mode):
                    raise OSError(0, "not a regular file (a FIFO, a device or a folder): name a file", f)
            shas = [sha256_file(os.path.dirname(f) or ".", os.path.basename(f)) for f, _ in files]
        except OSError as e:
            errors.append(f"{option}: cannot read {getattr(e, 'filename', None) or files[0][0]}: {e.strerror or e}")
            continue
        if stats is not None:
            stats[option] = [(f, st, sha, object_settled(st, now)) if is_uri(f) else (f, stat_key(st), sha, settled(st, now))
                             for (f, _), sha in zip(files, shas) if (st := seen.get(f))]
        out[option] = shas[0] if [f for f, _ in files] == [given] else hashlib.sha256(
            "".join(f"{sha}  {name_utf8(rel)}\n" for sha, (_, rel) in zip(shas, files)).encode()).hexdigest()  # caf\xe9: its byte as \xe9
    return out


def object_key(uri: str) -> tuple:
    """(size, update time in ns) of a bucket's object, one metadata call (not its bytes): what
    Config.changed_files compares for a file the workers read again after the launch hashed it."""
    from curate.readers.common import launch_fs

    fs, path = launch_fs(uri)
    info = fs.get_file_info(path)
    return info.size, info.mtime_ns


def object_settled(key: tuple, now: int) -> bool:
    """Whether an object's (size, update time) unchanged tells its bytes unchanged since a hash read
    at ``now``: its time older than ``commit.SETTLED_NS`` (S3 keeps whole seconds: a replacement of
    the same size within the second keeps both; room for the clocks' skew). An object without a
    time (a store that keeps none), or newer: its bytes are read again."""
    from curate.commit import SETTLED_NS

    return key[1] is not None and now - key[1] > SETTLED_NS


# the options whose files may be in a bucket: an evaluation set (read through pyarrow.fs), a custom rule's files (the
# rule opens them itself); a tokenizer.json, a word list, a model is opened by a local path (tokenizers, fastText, open)
BUCKET_READ = ("decontaminate.eval_sets[", "filter.custom.")


# a model or tokenizer in a bucket: a shipped one stands in while the stage's other values are checked, without
# the checks against the model itself (``check_stage``'s load: langid.languages against its labels, the
# default's would refuse another model's; quality's positive_label)
STAND_INS = {"model": "default", "tokenizer": "cl100k_base"}


def without_options(section: dict, options: list[str], defaults: dict) -> dict | None:
    """``section`` with ``options`` (``filter.badwords.lists.en``) as their defaults, or left out
    where they have none, a model or tokenizer as a shipped one (``STAND_INS``, langid's its
    default): its other values checked (``in_buckets``' files said apart). None where one cannot
    be: an item of a list."""
    out = copy.deepcopy(section)
    for option in options:
        keys = option_keys(option)[1:]
        place, default = out, defaults
        for k in keys[:-1]:
            place = place[k]
            default = default.get(k, {}) if isinstance(default, dict) else {}
        if not isinstance(place, dict):
            return None
        if keys[-1] in STAND_INS:
            place[keys[-1]] = (default.get(keys[-1]) if isinstance(default, dict) else None) or STAND_INS[keys[-1]]
        elif isinstance(default, dict) and keys[-1] in default:
            place[keys[-1]] = copy.deepcopy(default[keys[-1]])
        else:
            place.pop(keys[-1], None)
    return out


def in_buckets(stage: str, cls, section: dict) -> list[tuple[str, str]]:
    """(option, error) per file an option names by a URI (gs://, s3://, file://) where curate reads it
    from a local path only: said at config time, not as a worker's traceback (or a misleading
    'file not found'), before any bucket is asked."""
    from curate.readers import is_uri

    if stage == "decontaminate":  # evaluation sets only, read from a bucket (its data_files lists a folder's: a request)
        return []
    try:
        named = cls.data_files(section) if hasattr(cls, "data_files") else {}
    except (ValueError, TypeError, KeyError, AttributeError):  # a malformed section: its own checks say it
        return []
    out = []
    for option, (given, _) in sorted(named.items()):
        if option.startswith(BUCKET_READ) or not isinstance(given, str) or not is_uri(given):
            continue
        url = urllib.parse.urlsplit(given)  # FILE:// is file://; file://localhost/x/t.json is /x/t.json
        where = (f"give its path ({urllib.parse.unquote(url.path)})" if url.scheme == "file" and url.netloc in ("", "localhost")
                 else "copy it where the workers run (Dataflow: into the worker container) and give that path")
        out.append((option, f"{option}: {given}: curate reads this file from a local path only (only an evaluation set is read "
                   f"from a bucket): {where}"))
    return out


def one_file(path: str) -> tuple[str, list]:
    """A ``data_files`` entry of an option naming one file."""
    return path, [(path, os.path.basename(path))]


def file_path(path: str) -> str:
    """One spelling of a file an option names (a word list, a model): ``.`` parts and doubled
    separators gone, ``..`` resolved as the kernel does after the links before it
    (``kernel_path``), ``~`` the home folder, so that ``bad.txt``, ``./bad.txt`` and
    ``sub/../bad.txt`` are one config. A path typed relative stays relative to the current
    directory (as an input's glob: a copy of the project in another folder is the same config, and
    a worker reads it from its own), one typed absolute (or with ``~``) stays absolute; a URI as
    written (only its bucket knows)."""
    from curate.readers import is_uri, kernel_path

    if not path or is_uri(path):
        return path
    full = kernel_path(home_path(path))
    if os.path.isabs(home_path(path)):
        return full
    out = os.path.relpath(full)  # the kernel's reading of it, from the current directory (a real path)
    return out + os.sep if full.endswith(os.sep) and not out.endswith(os.sep) else out  # x.txt/ names no file


def option_keys(option: str) -> tuple:
    """The keys of an option's place in the config dict: ``filter.custom.x.files[0]`` is
    ("filter", "custom", "x", "files", 0) (a key with a dot in it is not told apart)."""
    import re

    stage, _, rest = option.partition(".")
    return (stage, *(int(i) if i else k for k, i in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", "." + rest)))


def from_here(path: str) -> str:
    """A path or glob an option names as the launch reads it, absolute (``~`` the home folder, a
    URI as it is): what a run hands its workers, which may run in another directory (a worker pool
    on a shared filesystem) where a path kept relative as typed would name another file or none.
    The config, its hash and the records keep it as typed (``file_path``). A glob is joined to the
    current directory's name escaped (``glob.escape``): from a folder runs[1], ``evals/*.jsonl``
    matches there, not in runs1; a path that exists is one (``list_files`` takes it as named)."""
    import glob

    from curate.readers import has_magic, is_uri, kernel_path, tidy_glob

    if not path or is_uri(path):
        return path
    path = home_path(path)
    if has_magic(path) and not os.path.exists(path):
        return tidy_glob(os.path.join(glob.escape(os.getcwd()), path))
    return kernel_path(path)


def files_from_here(stage: str, section: dict) -> dict:
    """A stage's section as a run hands it to its workers: each file an option names itself (its
    ``data_files``: a word list, a model, a tokenizer.json) by ``from_here``, absolute."""
    cls = stage_table.stage_class(stage)
    return files_spelt(stage, section, cls.data_files(section), from_here) if hasattr(cls, "data_files") else section


def files_spelt(stage: str, section: dict, named: dict, spell=None) -> dict:
    """``section`` with each file of ``named`` (its stage's ``data_files``: option -> ``one_file``
    entry) as ``spell`` (``file_path``) spells it, where its option is (``filter.custom.x.files[0]``):
    a stage's ``normalize`` (one spelling of what runs, one hash). The stage reads the same file by it."""
    spell = spell or file_path
    out = copy.deepcopy(section)
    for option, (given, files) in named.items():
        keys = option_keys(option)[1:]
        try:
            place = out
            for k in keys[:-1]:
                place = place[k]
            if place[keys[-1]] == given and [f for f, _ in files] == [given]:
                place[keys[-1]] = spell(given)
        except (KeyError, IndexError, TypeError):  # a key with a dot in it: as written
            continue
    return out


def _language_labels(domain: str, langid_cfg: dict) -> tuple[list[str], str]:
    """The values the language column can hold for a domain, and what sets them: the
    programming languages the code reader names, else the labels of the langid model the run
    uses (a custom model's labels, not lid.176's)."""
    if domain == "code":
        from curate.readers import code

        return sorted({*code.EXTENSIONS.values(), *code.FILENAMES.values(), *code.INTERPRETERS.values()}), "the code reader's languages"
    # by name: no import cycle; no thresholds (its labels are the model's: a thresholds file not found here, as a re-plan from
    # another folder may have it, does not hide them)
    stage = stage_table.stage_class("langid")({**langid_cfg, "languages": "all", "thresholds": ""})
    stage.setup()
    return sorted(stage._model_labels()), f"langid's model {stage.cfg['model']!r}"


def _rebalance_languages(stages: list, sections: dict) -> list[str]:
    """rebalance.languages codes checked against what the run's language column can hold, and
    against the languages langid keeps: either way a target no document can meet."""
    import difflib

    from curate.stages import language_codes

    splits = sections.get("rebalance", {}).get("languages")
    if "rebalance" not in stages or not isinstance(splits, dict):
        return []
    errors = []
    kept = sections["langid"].get("languages") if "langid" in stages else None
    for d, split in splits.items():
        codes = [c for c in split if c != "*"] if isinstance(split, dict) else []
        if not codes or d not in DOMAINS:  # a domain misspelt: rebalance's own check says which was meant
            continue
        if d != "code" and "langid" not in stages:
            errors.append(f"rebalance.languages.{d}: {d} documents get their language from langid, which this run does "
                          f"not run; add langid to the stages, or split {d} by rebalance.sources")
            continue
        try:
            labels, what = _language_labels(d, sections.get("langid", {}))
        except (ValueError, OSError):
            continue  # langid's own check reports its model
        for code in codes:
            if code not in labels:
                hint = language_codes.suggest(code, labels) or next(iter(difflib.get_close_matches(code.lower(), labels, n=1, cutoff=0.6)), None)
                errors.append(f"rebalance.languages.{d}.{code}: {code!r} is not a label of {what}"
                              f"{f' (did you mean {hint}?)' if hint else ''}; \"*\" takes the languages not listed")
            elif d != "code" and isinstance(kept, (list, dict)) and kept and code not in kept:
                errors.append(f"rebalance.languages.{d}.{code}: langid keeps only {', '.join(kept)} (langid.languages), "
                              f"so no document is {code}; add it there (--languages), or use \"*\" for the rest")
    return errors


def _not_a_config(path: str, e: Exception) -> str:
    """Why a file given as the config is not one: a data file named where the config goes
    (`curate run pages.jsonl`) was said to be broken TOML."""
    from curate import readers, shell

    name = os.path.basename(path).lower()
    if readers.is_file_name(name) and not name.endswith(".toml"):
        fmt = readers.detect_format(path, "web") or "data"
        return (f"{path}: a {fmt} file, not a TOML config (an input of curate run goes after --input: "
                f"--input {shell.quote(path)} --domain DOMAIN)")
    if isinstance(e, UnicodeDecodeError):  # e.g. a compressed file
        return f"{path}: not a TOML config (not UTF-8 text)"
    return f"{path}: not valid TOML: {e}"


def _from_set(errors: list[str], sets: list[str]) -> list[str]:
    """A mistake in a value a --set gave says so: in a long shared config, the file is where a
    user would look first."""
    keys = []
    for text in sets:
        try:
            keys.append((".".join(parse_set(text)[0]), text))
        except ConfigError:
            continue
    out = []
    for m in errors:
        body = m.split(": ", 1)[-1] if m.split(": ", 1)[0] in STAGES else m  # a stage's own check: "rebalance: rebalance.targets: ..."
        field = body.split(":", 1)[0]
        # a key inside a table (rebalance.targets.web) whose table as a whole is wrong (fractions must sum to 1)
        given = [t for k, t in keys if (body.startswith((f"{k}:", f"{k}.", f"{k}[", f"{k.split('.')[0]}: unknown section"))
                                        or ("." in field and " " not in field and k.startswith(f"{field}.")))
                 and not m.startswith("--set")]
        out.append(m[: len(m) - len(body)] + body.replace(":", f" (from --set {given[-1]}):", 1) if given else m)
    return out


def _toml_key(k: str) -> str:
    import re

    return k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k) else '"' + k + '"'


def _toml_value(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(sections: dict) -> str:
    """TOML text for nested dicts: scalars first, then sub-tables (non-empty dicts)."""
    lines: list[str] = []

    def table(prefix: str, d: dict):
        subs = {k: v for k, v in d.items() if isinstance(v, dict) and v}
        flat = {k: v for k, v in d.items() if k not in subs}
        if prefix:
            lines.append(f"\n[{prefix}]")
        for k, v in flat.items():
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in subs.items():
            table(f"{prefix}.{_toml_key(k)}" if prefix else _toml_key(k), v)

    for name, section in sections.items():
        table(name, section)
    return "\n".join(lines).lstrip("\n") + "\n"


def tuned_off_note(stage: str, keys: list) -> str:
    """Why an opt-in stage whose section is given is off (``Config.tuned_off``)."""
    return (f"{stage} (opt-in) is off: its section holds only {' and '.join(keys)}, which tune{'s' * (len(keys) == 1)} it "
            "without turning it on; name it in run.stages or --stages to run it")


def stages_why(cfg: Config) -> list[str]:
    """Why the stages a config runs are those: named, or the default and which opt-in stages
    a section turned on, or left off."""
    if cfg.stages_named:
        return ["stages: as run.stages names them (ingest always runs)"]
    on = [s for s in OPT_IN_STAGES if s in cfg.run["stages"]]
    off = [s for s in OPT_IN_STAGES if s not in on and s not in cfg.tuned_off]
    return ([f"stages: the default, every stage but the opt-in ones ({', '.join(OPT_IN_STAGES)}), which run when named in "
             "run.stages or --stages, or when their section is given"]
            + [f"{s} is on: its section is given" for s in on] + [tuned_off_note(s, k) for s, k in cfg.tuned_off.items()]
            + [f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} off: no section given"] * bool(off))


def off_settings(cfg: Config) -> dict:
    """{stage: its settings that differ from the defaults} of each stage given a section that
    does not run: `curate config` printing only the stages that run lost them for a user who
    saved its output and later turned the stage back on."""
    out = {}
    for s, section in cfg.stages.items():
        if s not in cfg.run["stages"]:
            defaults = stage_table.stage_class(s).DEFAULTS
            given = {k: v for k, v in section.items() if k not in defaults or v != defaults[k]}
            if given:
                out[s] = given
    return out


def effective_toml(cfg: Config, path: str | None = None, sets: bool = False) -> str:
    """The config a run uses (``curate config FILE --set ...``): every section with its defaults
    filled in, the stages spelt out, the inputs as [[inputs]]; loadable as it is."""
    d = cfg.to_dict(data_files=False)  # derived from the files, not an option: not read
    d.pop(USER_CODE, None)  # derived from the code, not an option
    where = " and ".join([path] * bool(path) + ["the --set options"] * sets)
    head = f"# curate: the config `curate run` reads from {where}, defaults filled in\n\n"
    head += "".join(f"# {line}\n" for line in stages_why(cfg)) + "\n"
    text = to_toml({k: v for k, v in d.items() if k != "inputs"})
    for s, given in off_settings(cfg).items():  # still off: run.stages above names the stages
        text += f"\n# {s} is off: the settings given for it, kept for a run that turns it on\n" + to_toml({s: given})
    for spec in d["inputs"]:
        text += "\n[[inputs]]\n" + "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in spec.items())
    return head + text


def set_for(option: str) -> str | None:
    """``--set KEY=VALUE`` for a command-line option that names a config key (``--max_file_bytes=4096``,
    ``--limits.max-file-bytes 4096``: Beam's form, which no option of curate's has), else None.
    A bare key is one section's alone (``--threshold`` is several stages')."""
    name, eq, value = option.lstrip("-").partition("=")
    parts = name.replace("-", "_").split(".")
    sections = {"run": RUN_DEFAULTS, "limits": LIMIT_DEFAULTS}
    sections.update({s: stage_table.defaults(s) for s in STAGES if len(parts) == 1 or parts[0] == s})
    homes = [parts[0]] if len(parts) > 1 else [s for s, keys in sections.items() if parts[0] in keys]
    if len(homes) != 1 or homes[0] not in sections or parts[-1 if len(parts) == 1 else 1] not in sections[homes[0]]:
        return None
    return f"--set {'.'.join([homes[0], *parts[len(parts) > 1:]])}={value if eq else 'VALUE'}"


def defaults_toml() -> str:
    """Every option of every available stage with its default, as a commented TOML file."""
    run = {k: v for k, v in RUN_DEFAULTS.items() if k != "output"}  # output has no default
    sections = {"run": run, "limits": dict(LIMIT_DEFAULTS)}
    opt_in = {}
    for s in STAGES:
        (opt_in if s in OPT_IN_STAGES else sections)[s] = stage_table.defaults(s)
    head = (
        "# curate: every option with its default (`curate config`). Copy what you change.\n"
        "# Inputs are a list: [[inputs]] glob = ..., domain = web|code|books, format, source, text_field, ...\n\n"
    )
    text = to_toml(sections).replace("[run]\n", '[run]\n# output = "DIR"  # required, here or as --output DIR\n', 1)
    if opt_in:  # printed commented out: a present section turns its stage on
        text += ("\n# Opt-in stages (urldedup, linededup, decontaminate) run when their section is present\n"
                 "# (one holding only bucket_shards, join_shards or max_ngrams, which tune a run, turns none on):\n")
        text += "".join(f"# {line}\n" if line else "#\n" for line in to_toml(opt_in).splitlines())
    return head + text


def reference_table() -> str:
    """The table of checked options in docs/configuration.md (Markdown), from the same checks config.load applies."""
    rows = ["| option | default | allowed |", "|---|---|---|"]
    sections = [("run", RUN_DEFAULTS, RUN_CHECKS), ("limits", LIMIT_DEFAULTS, LIMIT_CHECKS)]
    for s in STAGES:
        cls = stage_table.stage_class(s)
        sections.append((s, cls.DEFAULTS, getattr(cls, "CHECKS", {})))
    for name, defaults, checks in sections:
        for k, c in checks.items():
            rows.append(f"| `{name}.{k}` | `{_toml_value(defaults[k])}` | {c.allows()} |")
    return "\n".join(rows) + "\n"
