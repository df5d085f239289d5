"""End to end on IMDB, side by side with the peers: whole processes, one run, alternated.

What each system runs is in :mod:`sentiment.lab.peers` (``bench`` times the same rows);
this script writes the table for ``docs/peers.md`` and the README. A peer whose package is
not importable is left out. Runs alternate (ours, VW, fastText, ours, ...) so that a noisy
neighbour hits all; medians of ``--repeat``. Usage::

    SENTIMENT_DATA=../shared/data python scripts/peers.py [--repeat 3] [--out docs/peers.md]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sentiment.io.reader import imdb_paths
from sentiment.lab.peers import OURS, run_all
from sentiment.lab.scripts import write_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="write the report (Markdown) here")
    args = ap.parse_args()
    train, test = map(str, imdb_paths())
    with tempfile.TemporaryDirectory() as tmp:
        results = run_all(train, test, args.repeat, Path(tmp))
    ours = statistics.median(w for w, _, _ in results[OURS])
    lines = ["# End to end on IMDB, side by side with the peers", "",
             f"`python scripts/peers.py --repeat {args.repeat}`; {time.strftime('%Y-%m-%d')}; "
             "whole processes (train on the 25,000 train reviews, score the 25,000 test "
             f"reviews), alternated, medians of {args.repeat}.", "",
             "| system | wall | peak memory | test accuracy | our wall / its wall | "
             "per round: median [min-max] |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        wall = statistics.median(w for w, _, _ in r)
        peak = statistics.median(m for _, m, _ in r)
        acc = statistics.median(a for _, _, a in r)
        # each round's ratio (ours and theirs run next to each other, under the same load)
        rounds = [a[0] / b[0] for a, b in zip(results[OURS], r)]
        lines.append(f"| {name} | {wall:.2f} s | {peak:,.0f} MB | {acc:.2%} | "
                     f"{ours / wall:.2f} | {statistics.median(rounds):.2f} "
                     f"[{min(rounds):.2f}-{max(rounds):.2f}] |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
