"""One process against a local Dask cluster, on IMDB: whole ``train --test`` processes.

Times with 1 and 2 workers against one process (medians of ``--repeat``, runs alternated),
then how the averaging period (``--rounds`` per epoch) and the way of mixing (``--mix``)
trade accuracy for speed (one run each). The cluster's workers are processes of their own:
the wall time counts them (start-up of the cluster included), the memory column is the
driver's alone. Usage::

    SENTIMENT_DATA=../shared/data python scripts/cluster.py [--repeat 3] [--out docs/cluster.md]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sentiment.io.reader import imdb_paths
from sentiment.lab.scripts import write_report
from sentiment.lab.timing import peak_memory

PY = sys.executable


def train(extra: list[str], tmp: Path) -> dict:
    """One whole ``train --test`` process: wall, driver's peak memory, accuracy, epochs."""
    train_path, test_path = map(str, imdb_paths())
    cmd = [PY, "-m", "sentiment", "train", train_path, "--test", test_path, "--model",
           str(tmp / "m.npz"), "--json", "-q", *extra]
    peak, wall = peak_memory(cmd, tmp / "stdout")
    records = [json.loads(x) for x in (tmp / "stdout").read_text().splitlines()]
    epochs = [r for r in records if "epoch" in r]
    return {"wall": wall, "peak": peak,
            "accuracy": [r for r in records if "test_accuracy" in r][0]["test_accuracy"],
            "epochs": sum(r["seconds"] for r in epochs), "n_epochs": len(epochs),
            "best": max((r["epoch"] for r in epochs if r["best"]), default=0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="write the report (Markdown) here")
    args = ap.parse_args()
    systems = {"one process": [], "--workers 1": ["--workers", "1"],
               "--workers 2": ["--workers", "2"]}
    periods = {f"--workers 2 --rounds {r}": ["--workers", "2", "--rounds", str(r)]
               for r in (2, 4, 8)}
    periods["--workers 2 --mix rows"] = ["--workers", "2", "--mix", "rows"]
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: [] for name in systems}
        for _ in range(args.repeat):
            for name, extra in systems.items():
                results[name].append(train(extra, Path(tmp)))
        single = {name: train(extra, Path(tmp)) for name, extra in periods.items()}

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    base = med(results["one process"], "wall")
    lines = ["# Past one machine: a local Dask cluster against one process", "",
             f"`python scripts/cluster.py --repeat {args.repeat}`; "
             f"{time.strftime('%Y-%m-%d')}; this machine (2 cores): a cluster of 2 workers "
             "here shares the cores that one process uses alone, so these figures measure "
             "the route's overhead and its accuracy, not a speed-up.", "",
             f"## Time and accuracy (medians of {args.repeat}, alternated)", "",
             "| run | wall (whole process) | x one process | epochs' time | driver's peak "
             "memory | test accuracy |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, runs in results.items():
        lines.append(f"| `train {name}` | {med(runs, 'wall'):.2f} s | "
                     f"{med(runs, 'wall') / base:.2f} | {med(runs, 'epochs'):.2f} s | "
                     f"{med(runs, 'peak'):,.0f} MB | {med(runs, 'accuracy'):.2%} |")
    two = med(results["--workers 2"], "accuracy")
    lines += ["", "## The averaging period (one run each)", "",
              "| run | wall | epochs' time | epochs run (best) | test accuracy | "
              "vs `--workers 2` |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in single.items():
        lines.append(f"| `train {name}` | {r['wall']:.2f} s | {r['epochs']:.2f} s | "
                     f"{r['n_epochs']} ({r['best']}) | {r['accuracy']:.2%} | "
                     f"{(r['accuracy'] - two) * 100:+.2f} pts |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
