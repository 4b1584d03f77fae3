"""No file curate makes or truncates in an output or its staging folder is written through a
symbolic link put there (in a shared folder, another user's link at a file of yours): the
run's lock, its staged files' temporary names, the journal, the manifests, the spill's records,
the audit's report. Each test plants a link at every such path and checks its target."""
from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest

from curate import cli, commit, output

PAGE = ("The old library near the harbour opens every morning at nine, and the neighbours often meet there "
        "to read the newspapers and talk about the weather before they go to work.")


def victim(tmp_path: Path) -> Path:
    v = tmp_path / "precious.txt"
    v.write_text("mine\n")
    return v


def run(*args) -> int:
    return cli.main([str(a) for a in args])


def test_a_link_at_the_runs_lock_is_not_written_through(tmp_path, monkeypatch, capsys):
    """curate run opened STAGING/lock without O_NOFOLLOW and wrote its pid into the link's
    target (main: precious.txt read "11665 host")."""
    monkeypatch.chdir(tmp_path)
    v = victim(tmp_path)
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": PAGE}) + "\n")
    (tmp_path / "out" / commit.STAGING).mkdir(parents=True)
    (tmp_path / "out" / commit.STAGING / commit.LOCK).symlink_to(v)
    assert run("run", "--input", "in.jsonl", "--domain", "web", "--stages", "ingest", "--output", "out") == 2
    err = capsys.readouterr().err.splitlines()
    assert v.read_text() == "mine\n"
    assert len(err) == 1 and "lock is a link, not curate's lock file" in err[0], err
    assert not commit.held("out")  # a reader waiting on a run: a link is no run's lock


def test_links_at_every_file_a_run_and_an_audit_write_are_replaced_not_followed(tmp_path, monkeypatch, capsys):
    """Links planted in the staging folder just after the run made it (at the temporary names
    write_atomic uses for the staged manifest, journal, stats/run.json and each Parquet part),
    and in the output at the audit's temporary names: every target is left as it was, every
    file written (main: the target held the staged manifest)."""
    monkeypatch.chdir(tmp_path)
    v = victim(tmp_path)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": f"{i} {PAGE}"}) + "\n" for i in range(3)))
    pid, host = os.getpid(), output.writer_place()
    planted = []
    draws = iter(["planted", "fresh"] * 1000)  # each temporary name's first draw is the planted one: another drawn
    monkeypatch.setattr(output, "_token", lambda: next(draws))

    def plant(folder: str, names) -> None:
        for name in names:
            path = os.path.join(folder, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(v, path)
            planted.append(path)

    begin = commit.begin

    def begin_then_plant(root):
        staging = begin(root)
        at = f"{pid}-planted@{host}"
        parts = [f"{k}/.tmp-part-{i:05d}-of-00002.parquet-{at}" for k in ("text", "ledger", "quarantine") for i in range(2)]
        plant(staging, [f".tmp-{output.MANIFEST}-{at}", f".tmp-{commit.JOURNAL}-{at}", f"stats/.tmp-run.json-{at}", *parts])
        return staging

    monkeypatch.setattr(commit, "begin", begin_then_plant)
    assert run("run", "--input", "in.jsonl", "--domain", "web", "--stages", "ingest,filter", "--shards", "2", "--workers", "1",
               "--output", "out") == 0, capsys.readouterr().err
    assert v.read_text() == "mine\n"
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["counts"]
    assert len(glob.glob(str(tmp_path / "out" / "text" / "*.parquet"))) == 2
    plant(str(tmp_path / "out"), [f"stats/.tmp-summary.json-{pid}-planted@{host}", f".tmp-report.html-{pid}-planted@{host}"])
    from curate.audit import command

    assert command.main(["out"]) == 1  # its check says the links are files the manifest does not list; then writes
    assert ".tmp-report.html-" in capsys.readouterr().err
    assert v.read_text() == "mine\n" and (tmp_path / "out" / "report.html").is_file() and not (tmp_path / "out" / "report.html").is_symlink()


def test_a_missing_manifest_put_back_replaces_a_dangling_link(tmp_path):
    """commit._put_back wrote the manifest through a link at its name (a dangling one: no
    manifest there), creating the link's target."""
    target = tmp_path / "elsewhere.json"
    out = tmp_path / "out"
    out.mkdir()
    (out / output.MANIFEST).symlink_to(target)
    commit._put_back(output._fs(str(out))[0], str(out), b'{"x": 1}\n')
    assert not target.exists() and (out / output.MANIFEST).read_bytes() == b'{"x": 1}\n'


def test_a_spill_release_record_replaces_a_link(tmp_path):
    """pipelines/spill.release wrote TMP/_released/LABEL.json through a link at that name."""
    from pipelines import spill

    v = victim(tmp_path)
    staging = tmp_path / "staging"
    (staging / commit.TMP / "read").mkdir(parents=True)
    (staging / commit.TMP / "read" / "a.arrow").write_bytes(b"x" * 10)
    (staging / commit.TMP / commit.RELEASED).mkdir()
    (staging / commit.TMP / commit.RELEASED / "read.json").symlink_to(v)
    spill.release(str(staging), ("read",))
    assert v.read_text() == "mine\n"
    assert json.loads((staging / commit.TMP / commit.RELEASED / "read.json").read_text())["files"] == 1


def test_held_says_held_where_the_lock_cannot_be_opened(tmp_path):
    """commit.held took a link for no run's lock, and any other error that opening it gave (a
    folder at its name, another user's lock it may not open) fell through to an unbound fd:
    UnboundLocalError in the loader waiting on a commit."""
    (tmp_path / "out" / commit.STAGING / commit.LOCK).mkdir(parents=True)
    assert commit.held(str(tmp_path / "out")) is True


def test_a_writer_of_the_same_pid_and_host_keeps_its_temporary_file(tmp_path):
    """Two containers sharing a host name (docker's --network host) and a folder, each its own
    pid namespace: both pid 7. write_atomic's temporary name was .tmp-NAME-PID@HOST and it removed
    what was there: the other writer's file, which that one then renamed into place half written.
    Its name now has random bits too, and nothing at a name it draws is removed."""
    other = tmp_path / "stats" / f".tmp-summary.json-{os.getpid()}@{output.host()}"
    other.parent.mkdir()
    other.write_bytes(b"the other writer's, half written")
    output.write_atomic(str(tmp_path), "stats/summary.json", b"{}\n")
    assert other.read_bytes() == b"the other writer's, half written"
    assert (tmp_path / "stats" / "summary.json").read_bytes() == b"{}\n"
    assert sorted(p.name for p in other.parent.iterdir()) == [other.name, "summary.json"]


def test_an_audit_leaves_a_temporary_file_of_another_pid_namespace_on_its_host(tmp_path, monkeypatch, capsys):
    """Two containers sharing a host name (docker's --network host) and a folder, each its own
    pid namespace: the audit's clean-up took the other's live writer's .tmp-NAME-PID-RANDOM@HOST
    for this host's and, its pid no process here, removed it under it (the random bits keep two
    writers' names apart, not the clean-up's judgement of a pid). A name holds its writer's pid
    namespace too (``@HOST+NS``): another namespace's is left, said, as another host's; this
    namespace's dead writer's is removed as before."""
    import subprocess
    import sys

    from curate.audit import command

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid is no process here
    mine = output.tmp_name("summary.json").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
    monkeypatch.setattr(output, "_pid_namespace", lambda: "4026539999", raising=False)  # the other container's
    other = output.tmp_name("summary.json").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
    monkeypatch.undo()
    pages = tmp_path / "p.jsonl"
    pages.write_text("".join(json.dumps({"text": f"{i} A page of plain words for the audit to count."}) + "\n" for i in range(3)))
    (tmp_path / "a" / "stats").mkdir(parents=True)
    for name in (mine, other):
        (tmp_path / "a" / "stats" / name).write_text("{")
    assert command.main(["--corpus", str(pages), "--output", str(tmp_path / "a")]) == 0
    assert sorted(p.name for p in (tmp_path / "a" / "stats").iterdir()) == [other, "summary.json"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and other in err and "left" in err, err


def test_a_writer_without_proc_names_its_host_alone_and_an_audit_still_cleans_up(tmp_path, monkeypatch, capsys):
    """Where /proc is not there or cannot be read (macOS, a sandbox), a temporary name holds the
    host alone (``@HOST``), which ``tmp_writer`` reads back and the audit's clean-up takes for
    this host's (a dead writer's removed, another host's and another namespace's left); another
    process of this container names the same namespace (a pid judged where it names one)."""
    import subprocess
    import sys

    from curate.audit import command

    here = subprocess.run([sys.executable, "-c", "from curate import output; print(output.writer_place())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert here == output.writer_place()
    stat = os.stat

    def no_proc(error):
        def stat_but_proc(path, *a, **k):
            if str(path).startswith("/proc/"):
                raise error(0, "as without /proc", path)
            return stat(path, *a, **k)
        return stat_but_proc

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for error in (FileNotFoundError, PermissionError):
        monkeypatch.setattr(os, "stat", no_proc(error))
        assert output.writer_place() == output.host()
        mine = output.tmp_name("summary.json").replace(f"-{os.getpid()}-", f"-{dead.pid}-")
        assert mine.endswith(f"@{output.host()}") and output.tmp_writer(mine, "summary.json") == (dead.pid, output.host())
        folder = tmp_path / error.__name__ / "stats"
        folder.mkdir(parents=True)
        others = [f".tmp-summary.json-{dead.pid}-0badf00d@{here}", f".tmp-summary.json-{dead.pid}-0badf00d@other-node+4026531836"]
        for name in [mine] + others:
            (folder / name).write_text("{")
        pages = tmp_path / "p.jsonl"
        pages.write_text("".join(json.dumps({"text": f"{i} A page of plain words for the audit to count."}) + "\n" for i in range(3)))
        assert command.main(["--corpus", str(pages), "--output", str(folder.parent)]) == 0
        left = sorted(p.name for p in folder.iterdir())
        assert left == sorted(others + ["summary.json"]) or (here == output.host() and left == [others[1], "summary.json"]), left
        assert capsys.readouterr().err.count("\n") == 2 - (here == output.host()), left


def test_a_name_drawn_twice_is_drawn_again_not_removed(tmp_path, monkeypatch):
    """A file (or folder) at the temporary name drawn is nobody's to remove: another name is drawn."""
    draws = iter(["taken", "taken", "free"])
    monkeypatch.setattr(output, "_token", lambda: next(draws))
    taken = tmp_path / f".tmp-x.json-{os.getpid()}-taken@{output.writer_place()}"
    taken.mkdir()
    (taken / "keep").write_text("k")
    output.write_atomic(str(tmp_path), "x.json", b"1")
    assert (taken / "keep").read_text() == "k" and (tmp_path / "x.json").read_bytes() == b"1"


def test_an_output_and_its_staging_folder_may_be_links_to_another_disk(tmp_path, monkeypatch, capsys):
    """Only a link at the lock's own name is refused: an output (out -> /mnt/big/out) or its
    staging folder that is a link to a folder on another disk runs, runs again and is audited."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": f"{i} {PAGE}"}) + "\n" for i in range(3)))
    (tmp_path / "big" / "out").mkdir(parents=True)
    (tmp_path / "out").symlink_to(tmp_path / "big" / "out")
    (tmp_path / "big" / "staging").mkdir()
    (tmp_path / "out2").mkdir()
    (tmp_path / "out2" / commit.STAGING).symlink_to(tmp_path / "big" / "staging")
    for out in ("out", "out2"):
        for _ in range(2):
            assert run("run", "--input", "in.jsonl", "--domain", "web", "--stages", "ingest", "--output", out) == 0, capsys.readouterr().err
            assert json.loads((tmp_path / out / "manifest.json").read_text())["counts"]
        from curate.audit import command

        assert command.main([out]) == 0, capsys.readouterr().err
    assert (tmp_path / "out").is_symlink() and (tmp_path / "big" / "out" / "manifest.json").is_file()
