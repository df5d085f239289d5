"""The negation set (docs/negation.tsv: 48 short phrases, both polarities, written for this
test: "not bad", "I didn't hate it", "not as good as the book", ...) against IMDB.

    python scripts/negation.py [--model PATH]      # one model (default: the built-in one)
    SENTIMENT_DATA=../shared/data python scripts/negation.py --windows 0 2 3 4 \\
        --seeds 0 1 2 --out docs/negation_runs.md       # train with each --negation window

The second form trains ``train IMDB_TRAIN --test IMDB_TEST --negation W --seed S`` for
each window and seed (whole processes) and reports IMDB test accuracy and the share of
the negation set right, per seed and as means.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

SET = Path(__file__).resolve().parent.parent / "docs" / "negation.tsv"


def score(model_path=None) -> tuple[float, list[tuple[str, str]]]:
    """(share right, the phrases it gets wrong with their labels)."""
    import sentiment

    phrases = pd.read_csv(SET, sep="\t")
    predicted = sentiment.load(model_path).predict(phrases["text"].tolist())
    wrong = [(t, y) for t, y, p in zip(phrases["text"], phrases["label"], predicted) if p != y]
    return 1 - len(wrong) / len(phrases), wrong


def windows(ws: list[int], seeds: list[int], out: str | None) -> None:
    from sentiment.data import imdb_paths
    from sentiment.lab.scripts import write_report

    train, test = map(str, imdb_paths())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = str(Path(tmp) / "m.npz")
        for w in ws:
            accs, negs = [], []
            for seed in seeds:
                r = subprocess.run([sys.executable, "-m", "sentiment", "-q", "train", train,
                                    "--test", test, "--model", model, "--negation", str(w),
                                    "--seed", str(seed), "--json"],
                                   capture_output=True, text=True, check=True)
                accs.append([json.loads(x) for x in r.stdout.splitlines()
                             if "test_accuracy" in x][0]["test_accuracy"])
                negs.append(score(model)[0])
            rows.append((w, accs, negs))
    lines = ["# Negation: the negation set against IMDB", "",
             f"`python scripts/negation.py --windows {' '.join(map(str, ws))} --seeds "
             f"{' '.join(map(str, seeds))}`; {time.strftime('%Y-%m-%d')}; whole `train "
             "--test` processes with the defaults but `--negation W` (the compact model "
             "saved is the one scored).", "",
             "| --negation | IMDB test accuracy, seeds " + ", ".join(map(str, seeds))
             + " | mean | negation set right | mean |", "| ---: | --- | ---: | --- | ---: |"]
    for w, accs, negs in rows:
        lines.append(f"| {w} | {' / '.join(f'{a:.2%}' for a in accs)} | "
                     f"{statistics.mean(accs):.2%} | {' / '.join(f'{n:.1%}' for n in negs)} | "
                     f"{statistics.mean(negs):.1%} |")
    write_report(lines, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="model file (default: the built-in model)")
    ap.add_argument("--windows", type=int, nargs="+", help="train with these --negation")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", help="with --windows: write the report (Markdown) here")
    args = ap.parse_args()
    if args.windows:
        windows(args.windows, args.seeds, args.out)
        return
    right, wrong = score(args.model)
    print(f"{right:.1%} of {len(pd.read_csv(SET, sep=chr(9)))} phrases right")
    for text, label in wrong:
        print(f"  wrong: {text!r} is {label}")


if __name__ == "__main__":
    main()
