"""``curate audit``: the command line, and writing ``stats/summary.json`` and ``report.html``."""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import threading

import polars as pl
import pyarrow.fs as pafs

from curate import commit as _commit, output, shell
from curate.shell import one_line
from curate.audit.scan import audit_corpus, audit_output, open_output, output_files, where
from curate.audit.stats import EXAMPLES, FORMATS, LANGUAGE_FIELDS, TEXT_FIELDS, URL_FIELDS
from curate.readers.common import is_uri, name_utf8, not_utf8, path_problem, read_folder


class Unwritable(ValueError):
    """The report cannot be written into the folder it was to go to (a read-only mount, a full
    disk, a bucket output a run is writing); ``why``: that, without what to do."""

    def __init__(self, why: str):
        super().__init__(f"{why}: give --output FOLDER for report.html and stats/summary.json")
        self.why = why


CORPUS_OUT = "curate-audit"  # where --corpus's report goes without --output, and DIR's when DIR cannot take it


def write(summary: dict, out: str, read: dict | None = None, gone: tuple = ()) -> tuple[str, str]:
    """Write OUT/stats/summary.json and OUT/report.html; return their paths. ``read``: the
    manifest of the output audited, as it was read (into its own folder: not if replaced since).
    ``gone``: hosts whose temporary files are removed (``--remove-tmp-of``, ``_remove_leftover``)."""
    try:
        return _write(summary, out, read, gone)
    except OSError as e:  # a read-only mount, a full disk, another user's folder: the user's to fix, not a bug
        why = os.strerror(e.errno) if e.errno else str(e)
        owner = _whose(out) if e.errno in (errno.EACCES, errno.EPERM) else None
        raise Unwritable(f"cannot write the audit into {out} ({why}" + (f"; it is user {owner}'s)" if owner else ")")) from None


def _whose(path: str) -> str | None:
    """The user ``path`` (else the folder it would go in) belongs to where not this process's
    (their name, else their uid); None where it is ours or cannot be looked at."""
    import pwd

    for p in (path, os.path.dirname(os.path.abspath(path))):
        try:
            uid = os.stat(p).st_uid
        except OSError:
            continue
        if uid == os.geteuid():
            return None
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:  # a uid with no name here (a container's, an NFS share's)
            return f"uid {uid}"
    return None


def _write(summary: dict, out: str, read: dict | None, gone: tuple = ()) -> tuple[str, str]:
    from curate.audit import report

    from curate import commit

    own = summary.get("kind") == "curate" and where(out) == summary.get("source")
    if output.file_type(out) not in (pafs.FileType.NotFound, pafs.FileType.Directory):  # as `curate run` says it
        raise ValueError(f"output {out!r} exists and is not a directory: choose another --output (a new folder, or an earlier audit's)")
    if not own and output.file_type(output.join(out, output.MANIFEST)) != pafs.FileType.NotFound:  # would replace that output's own audit
        raise ValueError(f"{out}: a curate output; its own audit goes there ({shell.said(f'curate audit {shell.quote(out)}', out)}): choose another --output")
    if not own:  # its files would be foreign to that output
        commit.not_inside_an_output(out)
    # Rendered before anything is written. Into DIR itself as a commit (curate.commit.add_derived):
    # a file its manifest did not list, left by an audit stopped or killed midway, would make
    # the next run refuse to replace DIR.
    files = {"stats/summary.json": output.json_bytes(summary), "report.html": report.render(summary).encode("utf-8")}
    listed = {e["file"] for e in (read or {}).get("derived", [])} if own else set()  # an earlier audit's, by the manifest
    for rel in files:  # replaced only where an earlier audit wrote it: a site's report.html is not ours
        if rel not in listed and not _audits(output.join(out, rel), rel):
            raise ValueError(f"{out!r}: {rel} is not a report curate audit wrote; move it away or give --output another folder")
    if own and output.file_type(output.join(out, output.MANIFEST)) == pafs.FileType.File:
        try:
            commit.add_derived(out, files, read)
        except commit.Busy as e:
            raise Unwritable(f"the audit is not written into {out}: {e}") from None
    else:
        for rel, data in files.items():
            _remove_leftover(out, rel, gone)
            output.write_atomic(out, rel, data)
    return output.join(out, "stats/summary.json"), output.join(out, "report.html")


def _remove_leftover(out: str, rel: str, gone: tuple = ()) -> None:
    """Remove the temporary copies of ``rel`` (output.write_atomic's .tmp-NAME-PID-RANDOM@HOST+NS) an audit
    killed while writing it left in the local folder ``out``: only a process that is gone's, of
    this host and pid namespace (an older curate's ``@HOST`` of this host's name, no namespace, is
    left: another container or machine of that name may have written it; so is one's with no host,
    ``.tmp-NAME-PID``, any machine's or container's on a shared disk, said with the ``rm`` that
    removes it: it names no host for ``--remove-tmp-of``, and no curate since writes such a name). Another host's or namespace's (a container's sharing this host's name; a
    folder on a shared disk) is left, said: its pid is no process here, yet its writer may be
    live there (it was removed under it), with the option that removes it: ``--remove-tmp-of
    HOST`` (``gone``), given once the user knows no curate on HOST writes there (a renamed or
    retired host's was else warned about on every audit, forever)."""
    from curate import commit

    if is_uri(out):
        return
    folder, name = os.path.split(os.path.join(out, rel))
    me, here = output.host(), output.writer_place()
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            writer = output.tmp_writer(entry.name, name)
            if writer is None or not entry.is_file(follow_symlinks=False):
                continue
            pid, place = writer
            if place is None:  # an older curate's, its host not known: its pid means nothing here
                said = shell.said(f"rm -- {shell.quote(entry.path)}", entry.path)
                print(one_line(f"curate audit: warning: {entry.path}: a temporary file of an older curate (process {pid}; its "
                               "name holds no host: it may be another machine's or container's), left: remove it once no "
                               f"older curate writes here ({said})"), file=sys.stderr)
                continue
            # an older curate's @HOST of this host's name where this one writes HOST+NS: whose is not
            # known (another container of this name, a machine named alike on the shared disk:
            # localhost), its pid not judged here, as another host's
            older = place == me != here
            if place == here or (place == me and not older):
                if not commit.alive(pid):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                continue
            host, _, ns = place.rpartition("+") if "+" in place else (place, "", "")
            # HOST: its every namespace's (no curate on it writes here), never this host's own name's
            # (this audit runs on it: another container's of its name goes by its HOST+NS alone)
            said = place if host == me else host
            writer = (f"an older curate on host {host} (process {pid}; its name holds no pid namespace: "
                      "it may be another container's or machine's of this name)" if older else
                      f"a writer on host {host} ({f'pid namespace {ns}, ' if ns else ''}process {pid})")
            if place in gone or (host != me and host in gone):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                print(one_line(f"curate audit: removed {entry.path}: a temporary file of {writer}, gone (--remove-tmp-of)"),
                      file=sys.stderr)
            else:
                print(one_line(f"curate audit: warning: {entry.path}: a temporary file of {writer}, left: remove it once "
                               f"that writer is gone (give --remove-tmp-of {shell.quote(said)} once no {'older ' * older}curate on "
                               f"{'that pid namespace of ' * (said != host)}{host} writes here)"), file=sys.stderr)


def _places(typed: str) -> set[str]:
    """``--remove-tmp-of``'s word as a temporary name may hold it: as printed (percent-encoded),
    or as the host is named (``nodé-1`` -> ``nod%C3%A9-1``), each with a pid namespace after a
    ``+`` (``nodé-1+4026531836``) or none."""
    out = {typed, output.quote_host(typed)}
    host, plus, ns = typed.rpartition("+")
    if plus and ns.isascii() and ns.isdigit():
        out.add(f"{output.quote_host(host)}+{ns}")
    return out


def _instead(source: str, others: dict[str, str] | None = None) -> str:
    """Where the audit of ``source`` goes when its DIR cannot take it: ./curate-audit, or the first
    of curate-audit-2, -3, ... that holds no audit or one of the same output (the audit of
    another read-only output, written there earlier, is not replaced unasked). The folder is
    claimed by locking its stats/.claim until the audit is written (``_write_instead``): two
    audits choosing at once (each checked it free and both wrote it) take two folders; a folder
    the user made to hold the report is taken, and so is one an audit killed midway left (the
    kernel drops a lock when its process dies: an empty stats/ took every later audit to -2). A
    folder of another user's that this one may not claim (their claim or folder not writable by
    it) is passed over too, said in ``others`` (folder -> whose it is): it was taken as a
    read-only folder, the audit written over their live one's, or refused with a traceback."""
    import itertools
    import json

    from curate import commit

    commit.not_inside_an_output(CORPUS_OUT)  # refused before a claim is made: no folder left in that output
    others = {} if others is None else others
    for n in itertools.count(1):
        folder = CORPUS_OUT if n == 1 else f"{CORPUS_OUT}-{n}"
        try:
            os.makedirs(os.path.join(folder, "stats"), exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # a file named so (the folder or its stats): not ours
            continue
        except OSError as e:  # a read-only working folder: write() says so, naming it
            owner = _whose(folder) if e.errno in (errno.EACCES, errno.EPERM) and os.path.lexists(folder) else None
            if not owner:
                return folder
            others[folder] = f"is user {owner}'s, not writable by this user"
            continue
        held = _claim(folder)
        if held is not True:  # another audit is writing it (another user's: named)
            if held:
                others[folder] = held
            continue
        try:
            held = json.loads(output.read_bytes(os.path.join(folder, "stats", "summary.json")))
        except FileNotFoundError:  # free, or left by a killed audit
            return folder
        except (OSError, ValueError):  # unreadable, not JSON: not ours
            held = None
        if isinstance(held, dict) and held.get("format") in FORMATS and held.get("source") == source:
            return folder
        if commit._key(folder) in _LEFT and isinstance(held, dict) and held.get("format") in FORMATS and _half_written(folder):
            return folder  # another's audit, killed midway: not one to keep (where its files are an audit's, ours to write)
        _release(folder)


CLAIM = ".claim"  # in stats/ of the folder _instead chose, locked while its audit is written
# a forked child holds none of its parent's claims (commit.per_process: emptied there; its release unlinked the parent's)
# keyed as commit's registries (commit._key, the real path): a thread naming the folder through a link is another claimant
_CLAIMS: dict[str, int] = _commit.per_process({}, fds=True)  # folder -> the locked descriptor of its claim
_CLAIMERS: dict[str, int] = _commit.per_process({})  # folder -> the thread whose claim it is (a POSIX lock is the process's)
_LEFT: set[str] = _commit.per_process(set())  # folders claimed whose claim was there unheld: its audit killed before it let go


def _half_written(folder: str) -> bool:
    """Whether ``folder``'s audit was stopped between its two files: its report.html missing, or
    older than its stats/summary.json (each is written, then renamed, summary first: a whole
    audit's report is the newer). Such a folder, its claim left by a killed audit, is taken
    over by the next audit, whatever it audited (it sent every later audit to curate-audit-2)."""
    if not all(os.access(p, os.W_OK) for p in (folder, os.path.join(folder, "stats"))):  # its writing would fail: passed over
        return False
    try:
        summary = os.stat(os.path.join(folder, "stats", "summary.json")).st_mtime_ns
    except OSError:
        return False
    report = os.path.join(folder, "report.html")
    try:
        return os.stat(report).st_mtime_ns < summary and _audits(report, "report.html")  # a user's page is not replaced
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _claim(folder: str) -> bool | str:
    """``_claim_once`` under the claim's guard (commit._guard: a thread's close of the claim file
    would drop another's lock): another thread's claim is to this one as another audit's (False),
    as a run's lock is (a second thread took it too, and its release unlinked the first's); a
    thread that ended holding it holds nothing (commit._owner)."""
    from curate import commit

    key = commit._key(folder)
    with commit._guard(os.path.join(folder, "stats", CLAIM)):
        if key in _CLAIMERS and not commit.thread_lives(_CLAIMERS[key]):  # ended holding it: left as a killed audit's
            del _CLAIMERS[key]
            os.close(_CLAIMS.pop(key))
            _LEFT.discard(key)
        if key in _CLAIMERS:
            return _CLAIMERS[key] == threading.get_ident()
        return _claim_once(folder)


def _claim_once(folder: str) -> bool | str:
    """Lock ``folder``/stats/.claim for this process; False while another process holds it, the
    user whose claim or folder it is where this one may not open it (theirs to write: their
    audit's, live or killed) or their audit holds it (a claim this user could open: said too). A POSIX lock, as a run's (curate.commit._lock): gone when its
    process ends, however it ends. Made writable by whoever the umask lets (a group's shared
    folder): a member's audit killed would else leave a claim no other member could take."""
    import fcntl

    from curate import commit

    path = os.path.join(folder, "stats", CLAIM)
    while True:
        left = os.path.lexists(path)  # made by an audit before: if it is not held, one killed (_half_written)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)  # its pid is written in: never through a link
        except OSError as e:  # a read-only stats/: write() says so
            if e.errno == errno.ELOOP:  # a link in its place (one planted in a shared folder): no claim, passed over
                return False
            owner = _whose(path) or _whose(os.path.dirname(path)) if e.errno in (errno.EACCES, errno.EPERM) else None
            if not owner:
                return True
            if not os.path.lexists(path):
                return f"is user {owner}'s, not writable by this user"
            holder = commit._holder(path)  # its pid, where their audit wrote it and lives
            return (f"is user {owner}'s: their audit{holder} is writing it" if holder else
                    f"is user {owner}'s, claimed by their stats/{CLAIM} (their audit writing it, or one killed: theirs to remove)")
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                return True  # no locks there (ENOLCK): unguarded, as a run
            owner = _whose(path)  # a claim this user could open (a group's, umask 000): its user named too
            return f"is user {owner}'s: their audit{commit._holder(path)} is writing it" if owner else False
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                key = commit._key(folder)
                _CLAIMS[key], _CLAIMERS[key] = fd, threading.get_ident()
                if left:
                    _LEFT.add(key)
                with contextlib.suppress(OSError):  # who holds it, for another user's audit passing it over
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{os.getpid()} {commit._hostname()}\n".encode(), 0)
                return True
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed it (its audit written) between the open and the lock: again


def _release(folder: str) -> None:
    """Remove this thread's claim of ``folder``, then unlock it (not another thread's)."""
    from curate import commit

    key = commit._key(folder)
    with commit._guard(os.path.join(folder, "stats", CLAIM)):
        if _CLAIMERS.get(key) != threading.get_ident():
            return
        del _CLAIMERS[key]
        fd = _CLAIMS.pop(key, None)
        _LEFT.discard(key)
        if fd is not None:
            try:
                os.unlink(os.path.join(folder, "stats", CLAIM))
            except OSError:
                pass
            os.close(fd)


def _write_instead(summary: dict, folder: str, gone: tuple = ()) -> tuple[str, str]:
    """``write`` into the folder ``_instead`` chose, then release it; the stats/ of one it could
    not write into is not left behind (only where empty: not an earlier audit's)."""
    try:
        return write(summary, folder, gone=gone)
    except BaseException:
        _release(folder)
        try:
            os.rmdir(os.path.join(folder, "stats"))
        except OSError:
            pass
        raise
    finally:
        _release(folder)


def _manifest(root: str) -> dict | None:
    """The manifest of the output ``root`` before the audit reads it (None without one)."""
    from curate import commit

    commit.reachable(root, "curate audit")  # a bucket out of reach: said in seconds, not after the client's retries
    try:
        return commit.read_manifest(root)
    except (OSError, ValueError):  # none, a bucket out of reach, a live run's commit: audit_output says it
        return None


def _audits(path: str, rel: str) -> bool:
    """Whether ``path`` is missing or holds a file ``curate audit`` wrote (``rel``: which one)."""
    import json

    try:
        data = output.read_bytes(path)
    except FileNotFoundError:
        return True
    except OSError:  # a folder in the way, unreadable: not ours to replace
        return False
    if rel.endswith(".json"):
        try:
            return json.loads(data).get("format") in FORMATS
        except (ValueError, AttributeError):
            return False
    return b"curate audit" in data  # its footer: "Generated by curate audit from stats/summary.json"


def _count(v: str) -> int:
    n = int(v)  # argparse says "invalid _count value" for a non-number
    if n < 0:
        raise argparse.ArgumentTypeError(f"{v}: give 0 or more")
    return n


RULE_SAMPLE = 20  # documents --rule prints


def rule(root: str, name: str, k: int) -> int:
    """``--rule``: a sample of the documents one rule removed."""
    from curate.audit import lookup

    root = read_folder(root).rstrip("/")
    manifest = open_output(root)
    files = output_files(root, manifest)
    try:
        lines, total = lookup.rule_sample(root, name, files, k, manifest)
    except ValueError:  # pasted with blanks, as --why takes a key (a custom rule's name may hold one)
        if name.strip() == name:
            raise
        name = name.strip()
        lines, total = lookup.rule_sample(root, name, files, k, manifest)
    print(one_line(f"{name}: {total:,} document{'s' * (total != 1)} removed; {len(lines)} of smallest id ({shell.said(f'curate audit {shell.quote(root)} --why ID', root)} for one):"))
    for line in lines:  # a document's path, url, id: the corpus's, escaped as an error's file name
        print(one_line(line))
    return 0


def why(root: str, keys: list[str]) -> int:
    """``--why``: a line per row holding one of the keys; 1 when a key is in none."""
    from curate.audit import lookup

    root = read_folder(root).rstrip("/")
    manifest = open_output(root)
    files = output_files(root, manifest)
    keys = [name_utf8(k) for k in keys]  # a name typed as its bytes (caf\xe9 in Latin-1): as the path column writes it
    lines, missing = lookup.why(root, keys, files)
    # a key copied from a table or a log carries its blanks: without them where it is in no table
    # as given (a record's own id may end in a blank: 'keep-1 ' is not 'keep-1')
    bare = {k: k.strip() for k in missing if k.strip() != k}
    if bare:
        more, gone = lookup.why(root, list(dict.fromkeys(bare.values())), files)
        lines += more
        missing = [k for k in missing if k not in bare or bare[k] in gone]
    for line in lines:
        print(one_line(line))
    for note in lookup.twins((manifest or {}).get("inputs") or [], [k for k in keys if k not in missing]):
        print(one_line(f"curate audit: note: {note}"), file=sys.stderr)
    for k in missing:
        print(one_line(f"curate audit: {k}: no document of {root} has this id, source_id, url or path (not among the run's inputs, "
                       f"or a WARC record that is not a document: requests and metadata are counted in the manifest, not listed)"), file=sys.stderr)
    return 1 if missing else 0


def compare(old: str, new: str) -> int:
    """``--compare``: what changed from the output OLD to NEW."""
    from curate.audit.compare import compare as lines

    roots = [read_folder(r).rstrip("/") for r in (old, new)]
    manifests = [open_output(r) for r in roots]
    for r, m in zip(roots, manifests):
        if m is None:
            raise ValueError(f"{r}: no {output.MANIFEST}: not a finished curate output; --compare needs two")
    said = lines(*roots, *manifests, *(output_files(r, m) for r, m in zip(roots, manifests)))
    print("\n".join(one_line(line) for item in said for line in item.split("\n")))  # an item may be several lines
    return 0


def main(argv=None) -> int:
    ap = shell.Parser(prog="curate audit", description="Statistics and an HTML report for a curate output directory or any Parquet/JSONL corpus.")
    ap.add_argument("dir", nargs="?", type=shell.home_path, help="a curate output directory (report.html and stats/summary.json go into it)")
    ap.add_argument("--corpus", action="append", metavar="GLOB", type=shell.home_path, help="audit any Parquet or JSONL files instead (repeatable)")
    ap.add_argument("--text-field", action=shell.Once, help=f"text column for --corpus (default: first of {', '.join(TEXT_FIELDS)}); dotted names reach nested fields")
    ap.add_argument("--url-field", action=shell.Once, help=f"url column (default: first of {', '.join(URL_FIELDS)})")
    ap.add_argument("--language-field", action=shell.Once, help=f"language column (default: first of {', '.join(LANGUAGE_FIELDS)})")
    ap.add_argument("--domain", action=shell.Once, default="corpus", help="domain name for --corpus files without a domain column")
    ap.add_argument("--output", action=shell.Once, type=shell.home_path, help="where to write report.html and stats/summary.json (default: DIR, or ./curate-audit)")
    ap.add_argument("--examples", action=shell.Once, type=_count, help=f"removed examples shown per rule (default {EXAMPLES}; with --rule {RULE_SAMPLE})")
    ap.add_argument("--top", action=shell.Once, type=_count, default=25, help="top hosts and languages listed")
    ap.add_argument("--why", action="append", metavar="KEY", help="where one document of DIR went and why (kept, removed by "
                    "which rule with its value and threshold, quarantined): KEY is its id, your record's own id, its URL or "
                    "its input path (repeatable); prints, writes no report")
    ap.add_argument("--compare", action=shell.Once, metavar="OLD", type=shell.home_path, help="what changed from the curate output OLD to DIR: settings, input files, "
                    "documents newly kept and no longer kept (with the rule before or now), removals per rule, tokens; "
                    "prints, writes no report")
    ap.add_argument("--rule", action=shell.Once, help="a sample of the documents one rule removed (RULE or STAGE/RULE, e.g. gopher_min_words): "
                    "id, origin, value, threshold and the text's start, smallest ids first (a deterministic sample: ids are hashes); "
                    "prints, writes no report")
    ap.add_argument("--remove-tmp-of", action="append", metavar="HOST", help="remove the temporary files another host's "
                    "writer left in the folder the audit is written to (named in a warning): give it once no curate on "
                    "HOST writes there (repeatable)")
    ns = ap.parse_args(argv)
    if bool(ns.dir) == bool(ns.corpus):
        ap.error("give either a curate output DIR or --corpus GLOB")
    asked = [o for o, v in (("--why", ns.why), ("--compare", ns.compare), ("--rule", ns.rule)) if v]
    if asked and not ns.dir:
        ap.error(f"{asked[0]} reads a curate output DIR, not --corpus")
    if len(asked) > 1:
        ap.error(f"{' and '.join(asked)} are separate questions: give one")
    for opt, key in [("--why", k) for k in ns.why or []] + [("--rule", ns.rule)] * (ns.rule is not None):
        if not key.strip():  # an unset shell variable; a key pasted with blanks is taken without them (why)
            ap.error(f"{opt} {key!r}: an empty key: give an id, your record's own id, a URL or an input path"
                     if opt == "--why" else f"{opt} {key!r}: an empty key: give a rule (RULE or STAGE/RULE)")
    ns.examples = (RULE_SAMPLE if ns.rule else EXAMPLES) if ns.examples is None else ns.examples
    for opt, path in [("--output", ns.output), ("--compare", ns.compare)] + [("--corpus", g) for g in ns.corpus or []]:
        if path and path_problem(path):  # --output gs:/b/a: written into a local folder 'gs:' (DIR: read_folder says it)
            print(one_line(f"curate audit: {opt} {path_problem(path)}"), file=sys.stderr)
            return 2
    for folder in (ns.dir, ns.compare, ns.output):  # read and written through pyarrow: it said only 'utf-8' codec can't ...
        if folder and not_utf8(folder):
            print(f"curate audit: {not_utf8(folder)}", file=sys.stderr)
            return 2
    try:
        if ns.why:  # the questions answered in a few lines, without the report
            return why(ns.dir, ns.why)
        if ns.compare:
            return compare(ns.compare, ns.dir)
        if ns.rule:
            return rule(ns.dir, ns.rule, ns.examples)
        if ns.dir:
            ns.dir = read_folder(ns.dir)  # a run's --output may be a URI
            read = _manifest(ns.dir)
            s = audit_output(ns.dir, ns.examples, ns.top)
        else:
            s = audit_corpus(ns.corpus, ns.examples, ns.top, text=ns.text_field, url=ns.url_field, language=ns.language_field, domain=ns.domain)
        # --corpus: not over the audit of another output or corpus (a read-only output's goes there too)
        others: dict[str, str] = {}
        corpus_out = None if ns.output or ns.dir else _instead(s["source"], others)
        try:
            gone = tuple({h for g in ns.remove_tmp_of or [] for h in _places(g)})
            paths = _write_instead(s, corpus_out, gone) if corpus_out else write(s, ns.output or ns.dir, read if ns.dir else None, gone)
            if corpus_out not in (None, CORPUS_OUT):
                held = others.get(CORPUS_OUT, "holds the audit of another output or corpus (or one being written)")
                print(f"curate audit: warning: {CORPUS_OUT} {held}: wrote this one into "
                      f"{one_line(corpus_out)} instead (--output FOLDER chooses where)", file=sys.stderr)
        except Unwritable as e:  # DIR on a read-only mount: the audit done is not thrown away
            if ns.output or not ns.dir:
                raise
            try:
                instead = _instead(s["source"])
                paths = _write_instead(s, instead, gone)
            except ValueError:
                raise e from None
            print(one_line(f"curate audit: warning: {e.why}: wrote it into {instead} instead (--output FOLDER chooses where)"),
                  file=sys.stderr)
    except (FileNotFoundError, ValueError, pl.exceptions.PolarsError) as e:  # a file's name in it escaped, as curate run's
        print(f"curate audit: {one_line(str(e))}", file=sys.stderr)
        return 2
    for w in s["warnings"]:
        print(f"curate audit: warning: {one_line(w)}", file=sys.stderr)
    failed = [c for c in s["checks"] if not c["ok"]]
    for c in failed:
        detail = c.get("detail") or []
        more = f" and {len(detail) - 10} more" if len(detail) > 10 else ""
        print(one_line(f"curate audit: check failed: {c['check']}: expected {c['expected']}, found {c['found']}"
                       + (f" ({'; '.join(detail[:10])}{more})" if detail else "")), file=sys.stderr)
    d = s["documents"]
    domains = ", ".join(f"{k} {v:,}" for k, v in sorted(d["by_domain"].items()))
    print(f"{d['total']:,} documents{f' ({domains})' if domains else ''}; "  # none: no empty '()'
          f"{s['removed']['total']:,} removed; {s['quarantine']['total']:,} quarantined")
    print(f"summary: {one_line(str(paths[0]))}\nreport:  {one_line(str(paths[1]))}")
    return 1 if failed else 0  # a script (CI) checking an output stops on a damaged or tampered one

