"""Scoring as a user runs it, against the floor of its own costs: whole processes.

* ``predict --file`` on a review file (default: the IMDB test split) against reading the
  same file with pandas (``pandas.read_csv``), wall time and peak memory of each process;
* a cold ``predict`` of one sentence with the built-in model against ``python -c "import
  numpy"``.

Runs alternate (A, B, A, B, ...) so that a noisy neighbour hits both; medians of
``--repeat``. Usage::

    SENTIMENT_DATA=../shared/data python scripts/bench_scoring.py [--repeat 5] [--out F]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sentiment.io.reader import imdb_paths
from sentiment.lab.scripts import write_report
from sentiment.lab.timing import peak_memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", help="review file (default: the IMDB test split)")
    ap.add_argument("--model", help="model file (default: the built-in model)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", help="write the report (Markdown) here")
    args = ap.parse_args()
    path = Path(args.file) if args.file else imdb_paths()[1]
    py = sys.executable
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "pandas.read_csv": [py, "-c", f"import pandas; pandas.read_csv({str(path)!r})"],
            "predict --file": [py, "-m", "sentiment", "predict", "--file", str(path),
                               "--output", str(Path(tmp) / "scored.csv"), *model],
            "import numpy": [py, "-c", "import numpy"],
            "predict one sentence": [py, "-m", "sentiment", "predict", *model,
                                     "What a wonderful, moving film."],
        }
        results = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, cmd in cases.items():
                peak, wall = peak_memory(cmd)
                results[name].append((wall, peak))
    med = {name: (statistics.median(w for w, _ in r), statistics.median(m for _, m in r))
           for name, r in results.items()}
    (pw, pm), (sw, sm) = med["pandas.read_csv"], med["predict --file"]
    (nw, nm), (ow, om) = med["import numpy"], med["predict one sentence"]
    lines = ["# Scoring against its floor", "",
             f"`python scripts/bench_scoring.py --repeat {args.repeat}`; "
             f"{time.strftime('%Y-%m-%d')}; whole processes, alternated, medians of "
             f"{args.repeat}; file {path.name}; model "
             f"{args.model or 'built-in'}.", "",
             "| process | wall | peak memory | ratio (wall, memory) |",
             "| --- | ---: | ---: | ---: |",
             f"| `pandas.read_csv` of the file | {pw:.2f} s | {pm:,.0f} MB | 1 |",
             f"| `predict --file` of the file | {sw:.2f} s | {sm:,.0f} MB | "
             f"{sw / pw:.2f}x, {sm / pm:.2f}x |",
             f"| `python -c \"import numpy\"` | {nw:.2f} s | {nm:,.0f} MB | 1 |",
             f"| `predict` one sentence | {ow:.2f} s | {om:,.0f} MB | {ow / nw:.2f}x, "
             f"{om / nm:.2f}x |"]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
