"""Workers reading their own files, on IMDB: a real cluster of ``dask scheduler`` and
``dask worker --no-nanny`` processes on 127.0.0.1, the training split written as 4 plain
CSV files.

For 1, 2 and 4 workers: the driver's reads (``rchar`` of ``/proc/self/io``: every
``read()`` of the process, from the command's start), the bytes moved per round (the
driver's one copy each way, each worker's change, what each worker sent its peers: Dask's
own count) and the test accuracy against one process on the same files; then 2 workers
with one killed by SIGKILL after the first epoch. Usage::

    SENTIMENT_DATA=../shared/data python scripts/cluster_files.py [--out docs/cluster_files_runs.md]
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PY = sys.executable
#: the command run as the driver (every module imported first, then /proc/self/io read
#: around the command alone): scripts/driver_io.py, run with -c
DRIVER = (Path(__file__).resolve().parent / "driver_io.py").read_text(encoding="utf-8")


def split_train(folder: Path) -> list[Path]:
    """IMDB's training split as 4 plain CSV files, rows in their order."""
    import pandas as pd

    from sentiment.io.reader import imdb_paths

    frame = pd.read_csv(imdb_paths()[0], dtype=str, keep_default_na=False)
    paths, n = [], len(frame)
    for i in range(4):
        paths.append(folder / f"imdb-{i}.csv")
        frame.iloc[i * n // 4:(i + 1) * n // 4].to_csv(paths[-1], index=False)
    return paths


@contextmanager
def dask_cluster(folder: Path, n_workers: int):
    """``dask scheduler`` and ``n_workers`` one-thread ``dask worker --no-nanny``
    processes: (address, the workers' processes)."""
    import distributed

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = open(folder / "dask.log", "w")
    cli = [PY, "-m", "distributed.cli."]
    procs = [subprocess.Popen([cli[0], cli[1], cli[2] + "dask_scheduler", "--host",
                               "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=log)]
    workers = [subprocess.Popen([cli[0], cli[1], cli[2] + "dask_worker", address,
                                 "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                                 "--no-nanny"], stdout=subprocess.DEVNULL, stderr=log)
               for _ in range(n_workers)]
    procs += workers
    try:
        client = None
        for _ in range(300):
            try:
                client = client or distributed.Client(address, timeout=5)
                if len(client.scheduler_info()["workers"]) == n_workers:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        client.close()
        yield address, workers
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def accuracy(model: Path) -> float:
    from sentiment.io.reader import imdb_paths

    r = subprocess.run([PY, "-m", "sentiment", "evaluate", str(imdb_paths()[1]), "--model",
                        str(model), "--json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["accuracy"]


def run_cluster(files: list[Path], folder: Path, n_workers: int, kill: bool = False) -> dict:
    """One ``train FILES --cluster`` driver process on a new cluster of ``n_workers``."""
    from sentiment.model.model import Model

    model = folder / f"m{n_workers}{'-kill' if kill else ''}.npz"
    with dask_cluster(folder, n_workers) as (address, workers):
        cmd = [PY, "-c", DRIVER, "train", *map(str, files), "--model", str(model), "--seed",
               "0", "--cluster", address]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if kill:
            for line in proc.stdout:
                if line.split()[:1] == ["1"]:  # after the first epoch
                    workers[0].send_signal(signal.SIGKILL)
                    break
        out, err = proc.communicate(timeout=1800)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd}: exit {proc.returncode}\n{err}")
    info = Model.load(model).info
    io = json.loads(err.split("driver io ")[1].splitlines()[0])
    lost = [x for x in err.splitlines() if x.startswith("lost worker")]
    return {"workers": n_workers, "kill": kill, "wall": wall, "rchar": io["rchar"],
            "read_bytes": io["read_bytes"], "moved": info.get("moved", {}),
            "accuracy": accuracy(model), "lost": lost, "times": info["times"],
            "epochs": len(Model.load(model).history)}


def one_process(files: list[Path], folder: Path) -> dict:
    model = folder / "alone.npz"
    start = time.perf_counter()
    subprocess.run([PY, "-m", "sentiment", "train", *map(str, files), "--model", str(model),
                    "--seed", "0", "-q"], check=True, capture_output=True)
    return {"wall": time.perf_counter() - start, "accuracy": accuracy(model)}


def report(runs: list[dict], alone: dict, size: int) -> str:
    mb = 1e6
    lines = ["| run | wall | driver read (rchar) | share of the input | driver sent / round "
             "| driver received / round | a worker's change / round | most a worker sent / "
             "round | test accuracy | vs one process |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
             f"| one process | {alone['wall']:.1f} s | | | | | | | {alone['accuracy']:.2%} | |"]
    for r in runs:
        m = r["moved"]
        most = max(m.get("worker_sent", {0: 0}).values())
        name = f"{r['workers']} worker{'s' * (r['workers'] > 1)}" + \
            (", one killed after epoch 1" if r["kill"] else "")
        lines.append(f"| {name} | {r['wall']:.1f} s | {r['rchar'] / 1e3:,.0f} KB | "
                     f"{r['rchar'] / size:.2%} | {m.get('driver_sent', 0) / mb:.1f} MB | "
                     f"{m.get('driver_received', 0) / mb:.1f} MB | "
                     f"{m.get('change_per_group', 0) / mb:.1f} MB | {most / mb:.1f} MB | "
                     f"{r['accuracy']:.2%} | {100 * (r['accuracy'] - alone['accuracy']):+.2f} |")
    lines.append("")
    lines.append(f"Input: 4 plain CSV files, {size / mb:.1f} MB. Lost workers said:")
    lines += [f"- `{x}`" for r in runs for x in r["lost"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--out", help="write the table (Markdown) here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = split_train(folder)
        size = sum(p.stat().st_size for p in files)
        alone = one_process(files, folder)
        runs = [run_cluster(files, folder, n) for n in args.workers]
        runs.append(run_cluster(files, folder, 2, kill=True))
    for r in runs:
        print(json.dumps(r), file=sys.stderr)
    text = report(runs, alone, size)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
