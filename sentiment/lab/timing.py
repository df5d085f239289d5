"""The timing harness shared by ``bench`` and ``compare``: paired timings, peak memory
of a whole process, cProfile summaries, and what machine and code a figure came from."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def summary(values: list[float]) -> dict:
    """Median, min, max and the runs themselves."""
    return {"median": float(np.median(values)), "min": float(min(values)),
            "max": float(max(values)), "runs": [float(v) for v in values]}


def paired(ours, reference, repeat: int, warmup: int = 1):
    """Time ``ours()`` and ``reference()`` alternately: ``warmup`` pairs discarded, then
    ``repeat`` pairs, the side that runs first swapping each pair.

    Return (ours seconds, reference seconds, (last result of ours, of reference)).
    """
    times: tuple[list, list] = ([], [])
    last = [None, None]
    for i in range(warmup + repeat):
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):
            last[side] = None  # free the previous result before the next run
            gc.collect()
            start = time.perf_counter()
            last[side] = (ours, reference)[side]()
            if i >= warmup:
                times[side].append(time.perf_counter() - start)
    return times[0], times[1], tuple(last)


def child_env() -> dict:
    """The environment of a timed command: this one, with Python's default bytecode cache.
    A PYTHONDONTWRITEBYTECODE set on the machine makes every run compile the package's
    modules again (~50 ms of a predict, ~0.1 s of a train, on every run), where a package
    installed from a wheel, like the peers' and pandas' in site-packages, reads the
    compiled files its installer wrote; the warm-up run writes ours."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_quietly(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({r.returncode}): {r.stderr[-500:]}")


# Runs a command and prints its peak RSS (KiB), exit code and wall time. A child's
# ru_maxrss includes the memory its parent had when it forked (Linux keeps the high-water
# mark across exec), so the command must not be a child of the large bench process: this
# small launcher is its parent instead. A command that starts processes of its own (train
# --test reads the test file in one) counts them too: the sum of the resident memory of
# the whole tree, read from /proc every 20 ms, when it is above the command's own peak;
# a child that has not exec'd yet (its start of stack is its parent's) holds its parent's
# pages, not its own, and is not counted.
_LAUNCHER = """\
import os, subprocess, sys, threading, time
out = open(sys.argv[1], "w") if sys.argv[1] else subprocess.DEVNULL
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=out)
tree_peak = 0
def kids(pid):
    # /proc/PID/task/TID/children: a few reads per process, where listing every process
    # of the machine 50 times a second took a share of a core from the command measured
    try:
        out = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += f.read().split()
        return out
    except OSError:
        return None
def tree_kib():
    children = {}
    if kids(proc.pid) is None:  # no children files: the parent of every process
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]),
                                        []).append(pid)
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [(str(proc.pid), None)]
    while todo:
        pid, parents_stack = todo.pop()
        stack = start_of_stack(pid)
        try:
            if stack is None or stack != parents_stack:  # the parent's memory: counted
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            pass
        todo += [(child, stack) for child in
                 (children.get(int(pid), []) if children else (kids(pid) or []))]
    return total
def start_of_stack(pid):
    # a child that has not yet exec'd (made by vfork, as subprocess does) has its
    # parent's memory, and its statm says so: summed, the parent counted twice
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[25]
    except (OSError, IndexError):
        return None
def watch():
    global tree_peak
    while proc.returncode is None:
        tree_peak = max(tree_peak, tree_kib())
        time.sleep(0.02)
if os.path.isdir("/proc"):
    threading.Thread(target=watch, daemon=True).start()
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
print(max(usage.ru_maxrss, tree_peak), proc.returncode, time.perf_counter() - start)
"""


def peak_memory(cmd: list[str], stdout=None) -> tuple[float, float]:
    """Run ``cmd``; return (its peak resident memory in MB, its wall time in seconds).

    Reads ``os.wait4``'s resource usage of that process, started by a small launcher so
    that the benchmark's own memory does not count, and the summed memory of the processes
    it starts (see ``_LAUNCHER``). ``stdout``: a
    file path to keep the command's output in (default: discarded).
    """
    r = subprocess.run([sys.executable, "-c", _LAUNCHER, str(stdout or ""), *cmd],
                       capture_output=True, text=True, env=child_env())
    fields = r.stdout.split()
    if r.returncode != 0 or len(fields) != 3 or fields[1] != "0":
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {r.stderr[-500:]}")
    return int(fields[0]) * 1024 / 1e6, float(fields[2])  # ru_maxrss is in KiB on Linux


def profile_call(fn, top: int = 12) -> list[dict]:
    """cProfile ``fn()``; the ``top`` functions by time of their own."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.runcall(fn)
    return top_functions(pstats.Stats(prof), top)


def top_functions(stats, top: int) -> list[dict]:
    """The ``top`` functions of ``pstats.Stats`` by time of their own, with their share of
    the profiled time; a package module is named with its folder
    (``sentiment/features/tokens.py``)."""
    total = sum(v[2] for v in stats.stats.values()) or 1.0
    rows = []
    for (path, line, func), (_, calls, own, cum, _) in stats.stats.items():
        rows.append({"function": _function_name(path, line, func), "calls": int(calls),
                     "own_seconds": float(own), "cumulative_seconds": float(cum),
                     "share": float(own / total)})
    return sorted(rows, key=lambda r: -r["own_seconds"])[:top]


def _function_name(path: str, line: int, func: str) -> str:
    if path == "~":  # a built-in: pstats writes {built-in method ...}
        return func
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if "sentiment" in parts[-2:-1] else parts[-1]
    return f"{short}:{line}({func})"


def machine() -> dict:
    """Cores, CPU, memory, versions and BLAS of this machine, and its load right now."""
    import platform

    import pandas
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory_gb = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cores": os.cpu_count(), "usable_cores": usable, "cpu": cpu,
            "memory_gb": memory_gb, "os": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
            "pandas": pandas.__version__,
            "blas": [f"{p.get('internal_api')} {p.get('version')} "
                     f"({p.get('num_threads')} threads)" for p in threadpool_info()],
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def machine_line(m: dict) -> str:
    """One line: cores, CPU, memory, OS, versions and BLAS, from :func:`machine`."""
    mem = f", {m['memory_gb']:.0f} GB RAM" if m.get("memory_gb") else ""
    return (f"{m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}{mem}; {m['os']}; "
            f"Python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, scikit-learn "
            f"{m['scikit-learn']}, pandas {m['pandas']}; BLAS: {', '.join(m['blas'])}")


def code_version() -> str | None:
    """The git commit of this package's checkout, and whether its code has uncommitted
    changes; None outside a git checkout."""
    root = Path(__file__).resolve().parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never take the index lock

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, env=env, timeout=30)
    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".").stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" with uncommitted changes" if dirty.strip() else "")
