"""``sentiment serve`` against the FastAPI wrapper a new user would write, side by side.

    python scripts/bench_serve.py [--runs 3] [--requests 20000] [--memory 200000]

Needs ``hey`` (Debian: ``apt-get install hey``) and, for the wrapper only, fastapi in the
environment (``pip install fastapi``: not a dependency of the project). Each run starts the
wrapper (below: FastAPI, a pydantic body, ``sentiment.load().predict_proba``, uvicorn's
defaults, one process) and then ``sentiment serve`` (its defaults) on 127.0.0.1, and sends
each the same load with hey: ``--requests`` single-text requests and then batches of 100
texts, at 32 connections; medians over the runs are printed as a Markdown table. The
memory run sends ``--memory`` single-text requests to ``serve`` and samples the resident
memory of its processes, comparing the peak over all of them to the peak after the first
tenth.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

WRAPPER = '''
import sentiment
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
model = sentiment.load()
classes = list(model.classes_)


class Request(BaseModel):
    texts: list[str]


class Prediction(BaseModel):
    label: str
    score: float


class Response(BaseModel):
    predictions: list[Prediction]


@app.post("/predict", response_model=Response)
def predict(request: Request):
    probs = model.predict_proba(request.texts)
    return {"predictions": [{"label": classes[p.argmax()], "score": float(p.max())}
                            for p in probs]}
'''
TEXTS = ["What a wonderful, moving film: the acting is superb and the story stays with "
         "you long after the credits.",
         "A dull, lifeless mess. I could not wait for it to end, and the plot made no sense.",
         "Not bad at all, though the second half drags and the ending is predictable.",
         "The best film I have seen this year; funny, sad and beautifully shot."]
CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited (code {proc.returncode})")
        try:
            request = urllib.request.Request(
                url + "/predict", json.dumps({"texts": ["warm"]}).encode(),
                {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url}: not ready after {timeout} s")


def start(kind: str, port: int, folder: Path) -> subprocess.Popen:
    if kind == "wrapper":
        (folder / "wrapper_app.py").write_text(WRAPPER)
        cmd = [sys.executable, "-m", "uvicorn", "wrapper_app:app", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]
    else:
        cmd = [sys.executable, "-m", "sentiment", "serve", "--port", str(port), "-q"]
    proc = subprocess.Popen(cmd, cwd=folder, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def hey(url: str, body: str, n: int, folder: Path) -> dict:
    """Send ``n`` requests of ``body`` at 32 connections; rate, p99 and failures."""
    path = folder / "body.json"
    path.write_text(body)
    out = subprocess.run(["hey", "-n", str(n), "-c", str(CONNECTIONS), "-m", "POST",
                          "-T", "application/json", "-D", str(path), url + "/predict"],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"99% in ([\d.]+) secs", out).group(1))
    sent = n // CONNECTIONS * CONNECTIONS  # what hey sends: n rounded down
    ok = sum(int(k) for k in re.findall(r"\[200\]\s+(\d+) responses", out))
    return {"rate": rate, "p99_ms": p99 * 1000, "failed": sent - ok}


def one_run(folder: Path, n: int, order=("wrapper", "serve")) -> dict:
    single = json.dumps({"texts": [TEXTS[0]]})
    batch = json.dumps({"texts": [TEXTS[i % len(TEXTS)] + f" {i}" for i in range(100)]})
    results = {}
    for kind in order:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start(kind, port, folder)
        try:
            hey(url, single, 2000, folder)  # warm-up
            results[kind, "single"] = hey(url, single, n, folder)
            results[kind, "batch"] = hey(url, batch, n // 10, folder)
            results[kind, "batch"]["texts"] = results[kind, "batch"]["rate"] * 100
        finally:
            stop(proc)
    return results


def rss(root: int) -> int:
    """Resident bytes of ``root`` and its children (Linux /proc)."""
    total = 0
    pids = [root] + [int(p) for p in Path(f"/proc/{root}/task/{root}/children")
                     .read_text().split()]
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
    return total


def memory_run(folder: Path, n: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start("serve", port, folder)
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        single = json.dumps({"texts": [TEXTS[1]]})
        first = hey(url, single, n // 10, folder)
        early = peak[0]
        rest = hey(url, single, n - n // 10, folder)
    finally:
        done.set()
        sampler.join()
        stop(proc)
    return {"early_mb": early / 1e6, "peak_mb": peak[0] / 1e6, "ratio": peak[0] / early,
            "failed": first["failed"] + rest["failed"]}


def table(runs: list[dict]) -> str:
    def med(kind, what, key):
        return statistics.median(r[kind, what][key] for r in runs)

    rows = ["| load (32 connections) | wrapper | serve | ratio |", "| --- | ---: | ---: | ---: |"]
    for what, key, name, fmt in (
            ("single", "rate", "single text: requests/s", "{:,.0f}"),
            ("single", "p99_ms", "single text: p99 latency (ms)", "{:.1f}"),
            ("single", "failed", "single text: failed requests", "{:.0f}"),
            ("batch", "texts", "batches of 100: texts/s", "{:,.0f}"),
            ("batch", "p99_ms", "batches of 100: p99 latency (ms)", "{:.1f}"),
            ("batch", "failed", "batches of 100: failed requests", "{:.0f}")):
        a, b = med("wrapper", what, key), med("serve", what, key)
        ratio = f"{b / a:.2f}x" if a and key in ("rate", "texts", "p99_ms") else ""
        rows.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--memory", type=int, default=200_000, help="0: no memory run")
    args = ap.parse_args()
    import importlib.util
    import shutil

    if shutil.which("hey") is None:
        raise SystemExit("needs hey, the load generator (Debian: apt-get install hey)")
    if importlib.util.find_spec("fastapi") is None:
        raise SystemExit("needs fastapi for the wrapper it measures: pip install fastapi")
    runs = []
    loads = [os.getloadavg()[0]]  # how busy the machine was (shared: say so)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.runs):
            # first in turn: neither always gets the quieter minutes of a shared machine
            order = ("wrapper", "serve") if i % 2 == 0 else ("serve", "wrapper")
            runs.append(one_run(folder, args.requests, order))
            loads.append(os.getloadavg()[0])
            print(f"run {i + 1}: " + json.dumps({f"{k[0]} {k[1]}": v for k, v in
                                                  runs[-1].items()}), file=sys.stderr)
        print(table(runs))
        print("\nratios per run (serve / wrapper): " + "; ".join(
            f"{r['serve', 'single']['rate'] / r['wrapper', 'single']['rate']:.2f}x requests/s, "
            f"{r['serve', 'batch']['texts'] / r['wrapper', 'batch']['texts']:.2f}x texts/s"
            for r in runs))
        print(f"load average (1 min) at the start and after each run: "
              f"{', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} cores")
        if args.memory:
            m = memory_run(folder, args.memory)
            print(f"\nmemory over {args.memory:,} single-text requests: peak after the first "
                  f"{args.memory // 10:,} {m['early_mb']:.0f} MB, peak over all "
                  f"{m['peak_mb']:.0f} MB ({m['ratio']:.3f}x), {m['failed']} failed")


if __name__ == "__main__":
    main()
