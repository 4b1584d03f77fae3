"""Peak memory for the benches: a process's own peak RSS, and the peak PSS of a process tree.

Not ``ru_maxrss`` on Linux: the kernel carries the RSS high-water mark over through fork (and
vfork) and exec, so a child started by a bench that holds its corpus reported at least the
bench's RSS, and ``RUSAGE_CHILDREN`` at least that too. ``VmHWM`` belongs to the address space,
which exec replaces. A forked worker's RSS counts the pages it shares copy-on-write with its
parent, so a process with forked workers (``run.workers``) or helpers is measured as the
largest sum of PSS over its tree (a shared page split among its sharers), sampled.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from collections import defaultdict


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB: VmHWM on Linux; elsewhere ru_maxrss (bytes on macOS)."""
    if sys.platform.startswith("linux"):
        with open("/proc/self/status") as f:
            return next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) / 1024
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 1024


def _tree(pid: int) -> list[int]:
    """pid and its descendants (Linux /proc)."""
    kids = defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids[ppid].append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory(threading.Thread):
    """Largest sum of PSS over a process tree, sampled every ``every`` seconds (Linux; 0
    elsewhere), and the root process's own peak RSS (its VmHWM)."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kb, self.procs, self.done = pid, every, 0, 0, False
        self.main_hwm_kb = 0

    def run(self):
        if not os.path.isdir("/proc"):
            return
        while not self.done:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    hwm = [ln for ln in f if ln.startswith("VmHWM:")]
                self.main_hwm_kb = max(self.main_hwm_kb, int(hwm[0].split()[1]))
            except (OSError, IndexError, ValueError):
                pass
            pids = _tree(self.pid)
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))
            self.procs = max(self.procs, len(pids))
            time.sleep(self.every)


def run_sampled(args: list[str], **kw) -> tuple[subprocess.CompletedProcess, float]:
    """``subprocess.run(args, capture_output=True, text=True, **kw)``, and the peak PSS (MB)
    of the process and everything it started, sampled every 0.1 s."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    mem = PeakMemory(proc.pid)
    mem.start()
    out, err = proc.communicate()
    mem.done = True
    mem.join()
    return subprocess.CompletedProcess(args, proc.returncode, out, err), mem.peak_kb / 1024
