r"""The curate pipeline: read -> stages in order -> write text/ledger/quarantine -> manifest.

    inputs --ReadInputs--> docs --langid--> --filter--> --dedup--> ... --> WriteKind("text")
                 |  \--> quarantine ------------------------------------> WriteKind("quarantine")
                 \--> ingest ledger + each stage's ledger --Flatten-----> WriteKind("ledger")
    counts of every stage --MergeCounts--> + shard list --> WriteManifest (last)
A stage may write output files of its own (rebalance: candidates/), listed with the rest.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import tempfile

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.direct import direct_runner

import curate
from curate import commit, mixplan, output, stages as stage_table
from curate.config import Config
from curate.stages.rebalance import InfeasibleMix
from pipelines import coders
from pipelines.common import BatchStages, MergeCounts, StageContext, doc_stats, ledger_stats
from pipelines.io import ReadInputs, WriteKind, WriteManifest
from pipelines import beam_memo, pool, worker_loss

beam_memo.install()
worker_loss.install()
from pipelines.pool import workers as pool_workers
from pipelines.progress import count as count_progress, count_stat, report as progress_report
from pipelines.spill import Release, Spiller, enabled as spill_enabled, folder as spill_folder


def file_stats(f: bytes) -> dict:
    """An input file's counts: the file, its bytes, and its records that are not documents (its
    manifest entry, as JSON: pipelines/io.py)."""
    f = json.loads(f)
    return {"ingest.files": 1, "ingest.bytes_in": f["bytes"],
            **{f"ingest.skipped_records.{k}": n for k, n in f.get("skipped_records", {}).items()}}


def stage_steps(names) -> list[list[str]]:
    """The stages as pipeline steps: consecutive stages without a global step run as one."""
    steps: list[list[str]] = []
    for name in names:
        if steps and not stage_table.BY_NAME[name].transform and not stage_table.BY_NAME[steps[-1][-1]].transform:
            steps[-1].append(name)
        else:
            steps.append([name])
    return steps


def stage_transform(step: list[str], cfg: Config, root: str, workers: int = 1, spill: bool = False, before: tuple = ()):
    """A step's Beam transform: BatchStages for per-batch stages, else the transform the stage
    table names, built the one way every stage's is: ``Transform(section, context)``.
    ``before``: the spill labels of the step whose documents it reads (StageContext)."""
    specs = [stage_table.BY_NAME[name] for name in step]
    context = StageContext(
        name="+".join(step),
        run=cfg.run,
        limits=cfg.limits,
        root=root,
        config=cfg.to_dict(),
        peers={n: cfg.stages.get(n) for spec in specs for n in spec.needs},
        workers=workers,
        spill=spill,
        before=before,
    )
    if specs[0].transform:
        return stage_table.load(specs[0].transform)(cfg.stages[step[0]], context)
    return BatchStages({name: cfg.stages[name] for name in step}, context)


# the packages whose code decides what a run writes, by module name, recorded in the manifest
# with the version of the distribution that installed it (read from installed metadata: nothing
# is imported for it); regex: the Unicode tables of the filters' and decontamination's classes,
# charset_normalizer: a legacy page's or book's encoding
OUTPUT_PACKAGES = ("apache_beam", "pyarrow", "numpy", "fasttext", "resiliparse", "fastwarc", "tiktoken", "tokenizers",
                   "regex", "charset_normalizer")


def used_packages(cfg: Config) -> tuple:
    """OUTPUT_PACKAGES and the optional ones the config uses: trafilatura (ingest.extractor),
    pycld2 (langid.detector)."""
    extra = ("trafilatura",) * ((cfg.stages.get("ingest") or {}).get("extractor") == "trafilatura")
    langid = (cfg.stages.get("langid") or {}) if "langid" in cfg.run["stages"] else {}
    return OUTPUT_PACKAGES + extra + ("pycld2",) * ("cld2" in str(langid.get("detector", "")))


# module -> the distributions known to install it, the one curate requires first (fasttext: the
# numpy 2 build; the original and the wheel build install the same module)
DISTRIBUTIONS = {"fasttext": ("fasttext-numpy2", "fasttext", "fasttext-wheel")}


def versions(modules=OUTPUT_PACKAGES) -> dict:
    out = {"curate": curate.__version__, "curate_source": source_digest(), "python": platform.python_version()}
    for mod in modules:
        version = module_version(mod)
        if version is not None:
            out[mod] = version
    return out


def source_digest(roots=None) -> str:
    """A fingerprint of curate's own code and data files (the ``curate`` and ``pipelines``
    packages): every checkout of a repository says version 0.1.0, so without it two outputs of
    different commits, or of a checkout with local edits, compared as made by the same curate.
    The files an install ships (``SOURCE_FILES``), read where the packages are, a folder or a
    zip (a zipapp): a checkout and an installed copy of it give the same one, and files beside
    them (an editor's ``c4.py~``, a patch's ``.orig``, ``__pycache__``) change nothing. ~100
    files, ~1 MB: a few ms a run."""
    import importlib.resources
    import pathlib

    import pipelines

    h = hashlib.sha256()
    for root in [r if hasattr(r, "iterdir") else pathlib.Path(r) for r in roots] if roots \
            else [importlib.resources.files(p) for p in (curate, pipelines)]:
        for rel, item in _source_files(root, root.name):
            h.update(rel.encode() + b"\0")
            h.update(hashlib.sha256(item.read_bytes()).digest())
    return h.hexdigest()[:12]


# what a package's folder holds of curate: code (.pyc: a sourceless install's, beside no .py) and
# curate/data's tables (pyproject's package data); not curate/models, where an install puts the
# models a checkout keeps in models/ (their file names are in the config)
SOURCE_FILES = (".py", ".pyc")
SOURCE_DATA = ("curate/data/", (".txt", ".json"))


def _source_files(folder, rel: str):
    """(relative path, file) of the SOURCE_FILES under ``folder`` (a Path or a zip's), sorted."""
    items = sorted(folder.iterdir(), key=lambda i: i.name)
    names = {i.name for i in items}
    for item in items:
        path, name = f"{rel}/{item.name}", item.name
        if name.startswith(".") or name == "__pycache__" or name.endswith(".pyc") and name[:-1] in names:
            continue
        if item.is_dir():
            if path != "curate/models":
                yield from _source_files(item, path)
        elif name.endswith(SOURCE_FILES) or path.startswith(SOURCE_DATA[0]) and name.endswith(SOURCE_DATA[1]):
            yield path, item


def module_version(module: str) -> str | None:
    """The version of the distribution that installed the module ``module`` Python finds (not
    imported); None when none did. Its name may differ from the module's (DISTRIBUTIONS, else
    every installed distribution is asked: a scan of them all, ~0.2 s); of several installed,
    the one whose files hold the module found (one ahead on the path), else the first (an
    editable install lists a .pth, not the module)."""
    dists = _installed(DISTRIBUTIONS.get(module, (module,)))
    if not dists:  # under another name
        dists = _installed(sorted(set(importlib.metadata.packages_distributions().get(module, ()))))
    if len(dists) > 1:
        where = _found_at(module)
        for dist in dists:
            if where and any(f.parts[0] in (module, f"{module}.py") and os.path.realpath(dist.locate_file(f)) == where
                             for f in dist.files or ()):
                return dist.version
    return dists[0].version if dists else None


def _installed(names) -> list:
    out = []
    for name in names:
        try:
            out.append(importlib.metadata.distribution(name))
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _found_at(module: str) -> str | None:
    """The real path of the file (a package's __init__.py) Python would import ``module`` from."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    where = spec and (spec.origin if spec.has_location else next(iter(spec.submodule_search_locations or []), None))
    return os.path.realpath(where) if where else None


def config_hash(cfg: Config) -> str:
    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode()).hexdigest()


def build(p: beam.Pipeline, cfg: Config, shards: list, root: str, progress: str | None = None, workers: int = 1,
          spill: bool = True):
    """Add the whole job to ``p``; returns the PCollection of the manifest's counts.

    ``progress``: the folder of a progress Reporter (pipelines/progress.py), or None;
    ``workers``: processes per heavy step (pipelines/pool.py), 1 on a distributed runner;
    ``spill``: Arrow data crosses shuffles as files (pipelines/spill.py)."""
    coders.register(cfg.run["shuffle_compression"])  # Arrow batches cross shuffles as IPC, not pickles
    limits = dict(cfg.limits, **cfg.stages.get("ingest", {}))  # ingest.extractor travels with the limits
    spilled = spill
    spill = spill_folder(root, spilled)
    compression = cfg.run["shuffle_compression"]
    partitions = output.id_partitions(cfg.run["shards"])
    read = p | "Ingest" >> ReadInputs(shards, limits, progress, partitions, Spiller(spill, "ingest", compression), workers)
    docs = read["docs"]
    ledger_spill = Spiller(spill, "ledger", compression)
    # the ledger waits for its writer past the step that made it: its own files, not that step's
    ledgers = [read["ledger"] | "SpillLedger/ingest" >> beam.Map(ledger_spill.one, reuse=False)]
    stats = [
        docs | "Stats/ingest" >> beam.Map(doc_stats, "ingest"),
        read["quarantine"] | "Stats/quarantine" >> beam.Map(lambda b: {"ingest.quarantined": b.num_rows}),
        read["files"] | "Stats/files" >> beam.Map(file_stats),
        read["stats"],
    ]
    # a step's spill files are deleted once it is done and the next step has read them (spill.Release)
    if spill:  # the reader's files are read back where they are written, in its own step
        p | "Release/read" >> Release(spill, ("read",), [read["files"]])
    done_name, done_labels = "ingest", ("ingest",)
    done = [docs]  # its id pieces are read back by the step that makes its documents
    written = []  # output files a stage writes itself (rebalance's candidates)
    for step in stage_steps(cfg.run["stages"][1:]):
        res = docs | f"Stage/{'+'.join(step)}" >> stage_transform(step, cfg, root, workers, spilled, done_labels)
        removals = res.get("ledgers") or {step[0]: res["ledger"]}
        if "ledgers" in res:  # per-batch stages count their documents themselves (BatchStages)
            for name in step:
                count_stat(res["stats"], progress, f"{name}.docs_out")
        else:  # a stage with a global step: counted beside it
            name = step[0]
            stats.append(docs | f"StatsIn/{name}" >> beam.Map(lambda b, n=name: {f"{n}.docs_in": b.num_rows}))
            stats.append(res["docs"] | f"Stats/{name}" >> beam.Map(doc_stats, name))
            count_progress(res["docs"], progress, f"{name}.docs_out")
        for name, removed in removals.items():
            count_progress(removed, progress, f"{name}.removed")
            stats.append(removed | f"Stats/{name}/ledger" >> beam.Map(ledger_stats))
            # removed documents wait for the ledger's writer as files: ~400 B each would be in memory
            ledgers.append(removed | f"SpillLedger/{name}" >> beam.Map(ledger_spill.one, reuse=False))
        if "stats" in res:  # counts, rewrite counters, global stages' own numbers
            stats.append(res["stats"])
        if "entries" in res:
            written.append(res["entries"])
        if spill:
            p | f"Release/{done_name}" >> Release(spill, done_labels, [*done, *res.get("read", [res["docs"]])])
        docs = res["docs"]
        done_name, done_labels = "+".join(step), ("+".join(step) + "-",)
        done = [docs, *removals.values(), *([res["stats"]] if "stats" in res else [])]
    stats.append(read["ledger"] | "Stats/ingest/ledger" >> beam.Map(ledger_stats))
    ledger = ledgers | "Ledger" >> beam.Flatten()
    # a side input of the manifest's writer (as_singleton_view: with defaults, Beam gave a combine
    # of no input its value in a bundle of its own)
    counts = stats | "AllStats" >> beam.Flatten() | "MergeStats" >> beam.CombineGlobally(MergeCounts()).as_singleton_view()

    n = cfg.run["shards"]
    cols = stage_table.columns(cfg.run["stages"])
    entries = (
        docs | WriteKind(root, "text", n, cols, Spiller(spill, "text", compression), workers, reuse=done_labels),
        ledger | WriteKind(root, "ledger", n, cols, ledger_spill, workers),
        read["quarantine"] | WriteKind(root, "quarantine", n, cols, workers=workers),
        *written,
    ) | "Entries" >> beam.Flatten()
    if spill:
        p | f"Release/{done_name}" >> Release(spill, done_labels, [*done, entries])
    return (entries, read["files"]) | "Manifest" >> WriteManifest(root, manifest_base(cfg), counts, cfg.hashed_files())


def manifest_base(cfg: Config) -> dict:
    """What the manifest says of a run before it has run: config, versions, the --sets, and what
    made rebalance's candidates (curate.mixplan)."""
    base = {"format": output.FORMAT, "versions": versions(used_packages(cfg)), "config": cfg.to_dict(), "config_hash": config_hash(cfg)}
    if cfg.sets:  # which values of the config came from the command line, not the shared file
        base["set"] = cfg.sets
    if any(g != i["glob"] for g, i in zip(cfg.input_globs, cfg.inputs)):  # as typed, where config.inputs holds them tidied
        base["input_globs"] = cfg.input_globs
    if "rebalance" in cfg.run["stages"]:
        base["candidates"] = mixplan.record(cfg)
    return base


def _parsed(opts: PipelineOptions | dict) -> dict:
    """The options' values: ``opts.get_all_options()`` (Beam's parser built and run again, ~4
    CPU-ms), or that dict, parsed once by the caller."""
    return opts if isinstance(opts, dict) else opts.get_all_options()


def local_runner(opts: PipelineOptions | dict) -> bool:
    """The DirectRunner, in any mode, by any name Beam takes for it (any case, "direct", its
    class path: Beam's own lookup, runner.create_runner): everything runs on this machine.
    ``opts``: the options, or their values (``_parsed``)."""
    from apache_beam.runners.runner import _RUNNER_MAP

    name = _parsed(opts).get("runner")
    if name is None:
        return True
    name = _RUNNER_MAP.get(name.lower(), _RUNNER_MAP.get(name.lower() + "runner", name))
    return name.rsplit(".", 1)[-1] in ("DirectRunner", "SwitchingDirectRunner") and name.startswith("apache_beam.runners.direct.")


def runs_here(opts: PipelineOptions | dict) -> bool:
    """Whether the runner executes DoFns in this process: the DirectRunner in its default
    (in-memory, one worker) mode. Beam's multi-process and multi-thread modes, and every other
    runner, bring their own workers."""
    o = _parsed(opts)
    return (local_runner(o) and o.get("direct_running_mode") in (None, "in_memory")
            and (o.get("direct_num_workers") or 1) == 1)


class SwitchingDirectRunner(direct_runner.SwitchingDirectRunner):
    """Beam's DirectRunner without its first try of Prism. Beam 2.77's DirectRunner offers every
    pipeline to the Prism runner first, a binary it fetches from GitHub where none is cached
    (~/.apache_beam/cache/prism): offline, each run tried the download and translated the
    pipeline once more for Prism (~0.2 CPU-s, a tenth of a small run) before falling back to the
    FnApiRunner; online, the run would go to Prism, a runner curate is not tested on, whose
    workers are not this process (pipelines/pool.py). Prism declines an interactive pipeline,
    the flag's only use (checked for 2.77): the rest is Beam's choice as it was, the FnApiRunner.
    Its class name is Beam's: ``Pipeline.run`` skips its round trip of the pipeline through its
    proto (built again from it, every DoFn unpickled: ~0.4 CPU-s a run) for a runner of that
    name, whose batch mode runs on the Fn API (which translates the pipeline itself)."""
    _is_interactive = True


TEMP_PREFIX = "curate-run-"  # + the run's process id + "-" + a random suffix


def remove_stale_tempdirs(base: str) -> None:
    """Delete the temp folders of runs whose process is gone (killed: SIGKILL, the OOM killer,
    a power cut), which could not remove their own. A live run's folder is left alone."""
    for name in os.listdir(base):
        pid = name[len(TEMP_PREFIX):].split("-", 1)[0] if name.startswith(TEMP_PREFIX) else ""
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that process is alive (or its id was reused): not ours to judge
        except ProcessLookupError:
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        except OSError:
            continue  # alive, another user's


@contextlib.contextmanager
def own_tempdir():
    """The temp folder, for the time of a run, is one of ours, removed after it: Beam leaves
    folders in it on every run (beam-temp*, tmp*; beam-pipeline-temp* when the run stops before
    the pipeline runs), which filled /tmp by the hundred."""
    base = tempfile.gettempdir()
    remove_stale_tempdirs(base)
    folder = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=base)
    before, tempfile.tempdir = tempfile.tempdir, folder
    try:
        yield folder
    finally:
        tempfile.tempdir = before
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def held_job_errors():
    """A job server's error messages (a worker's whole traceback) are logged by Beam's
    PortableRunner on the root logger, and the failure is then raised with the same text: held
    here, dropped when the run fails (curate says it in one line, or raises that text), logged
    after a run that succeeded (an error the job survived)."""
    held = []
    beam_job = os.path.join("portability", "portable_runner.py")

    def hold(record):
        if record.levelno >= logging.ERROR and record.pathname.endswith(beam_job):
            held.append(record)
            return False
        return True

    root = logging.getLogger()
    root.addFilter(hold)
    try:
        yield
    finally:
        root.removeFilter(hold)
    for record in held:
        root.handle(record)


def run(cfg: Config, shards: list, beam_args: list[str] | None = None, progress: bool = False) -> dict:
    """Run the job to completion into a staging folder, then commit it over the previous
    output (curate.commit); return the manifest. An interrupted or failed run leaves the
    previous output as it was."""
    root = cfg.run["output"]
    opts = PipelineOptions(beam_args or [])
    values = opts.get_all_options()  # parsed once here (each parse builds Beam's parser anew)
    if not values.get("runner"):
        opts = PipelineOptions(["--runner=DirectRunner", *(beam_args or [])])
        values = dict(values, runner="DirectRunner")
    local = local_runner(values)
    workers = pool_workers(cfg.run, runs_here(values))
    spill = spill_enabled(cfg.run, local)
    staging = commit.begin(root)
    try:
        with progress_report(progress, cfg.run["stages"], len({s.path for s in shards})) as reporter, own_tempdir(), \
                held_job_errors():
            with beam.Pipeline(runner=SwitchingDirectRunner() if local else None, options=opts) as p:
                reporter.pipeline = p  # its result's Beam counters, where the runner reports them
                build(p, cfg, shards, staging, reporter.folder, workers, spill)
                gc.freeze()  # the construction's objects live to the end: keep the collector off them
    except BaseException as e:
        pool.shutdown(kill=True)  # their results are not wanted: do not wait for the tasks running
        # a mix that cannot be met: its candidates are complete (the plan waits for them), kept
        # beside the previous output so that `curate mix` can try other settings on them
        kept = commit.keep(root, "candidates", manifest_base(cfg)) if isinstance(e, InfeasibleMix) else None
        commit.abort(root)
        if kept:
            message = str(e).split(" [while running")[0]
            raise InfeasibleMix(f"{message} The documents that reached rebalance are kept in {kept}: try other settings "
                                f"on them in seconds with `curate mix {root} --set rebalance.KEY=VALUE`.") from None
        raise
    finally:
        gc.unfreeze()
        pool.shutdown()  # worker processes of pooled steps (already ended after a normal run)
    changed = cfg.changed_files()
    if changed:  # the stages read them after the hash: the manifest's config would not say what was read
        commit.abort(root)
        raise DataFilesChanged(f"{' and '.join(changed)} changed during the run, after the config's hash was taken "
                               "from it: the stages may have read other bytes; run again once it is settled")
    here = commit.local_folder(staging)  # a file:// output's too: until 6 Dec not checked, commit.finish's traceback said it
    if here is not None and not os.path.exists(os.path.join(here, output.MANIFEST)):
        commit.abort(root)  # the workers wrote it on disks of their own: nothing here to commit
        raise OutputNotShared(
            f"the runner's workers wrote the output where this machine does not see it ({here} has no "
            f"{output.MANIFEST}; their files are left on the workers' disks): a local output must be at the same absolute "
            "path on every worker and this machine (a shared filesystem), or give a bucket URI (gs://BUCKET/...)")
    return commit.finish(root)


class DataFilesChanged(RuntimeError):
    """A file the config names (a word list, an evaluation set) edited while the run read it
    (curate.cli: one line)."""


class OutputNotShared(RuntimeError):
    """A local output the runner's workers wrote on disks of their own (curate.cli: one line)."""
