"""Defaults beyond IMDB's long reviews: short sentences and small data, against tuned
logistic regression and NBSVM on the same split, in the same run.

Builds, in a temporary folder, from the IMDB splits:

* ``short``: single sentences of 6-30 words (20,000 from train reviews, 5,000 from test
  reviews), each labelled with its review's sentiment;
* ``small``: 2,000 random train reviews, tested on 5,000 random test reviews;
* ``short-small``: 2,000 of the short train sentences, the same 5,000 test sentences.

and runs ``compare TRAIN --test TEST --stages 7 --references --json --seed S`` on each,
for each seed of ``--seeds`` (the defaults, then scikit-learn's LogisticRegression and
NBSVM with C chosen on the same validation split, which the seed draws), plus the
defaults with each ``--epochs`` of ``--epochs-grid``; every cell is the mean over the
seeds (the defaults' lowest and highest in brackets). Usage::

    SENTIMENT_DATA=../shared/data python scripts/small_data.py [--out docs/small_data.md]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

import pandas as pd

from sentiment.io.reader import imdb_paths
from sentiment.lab.scripts import imdb_sentences, write_report


def compare(train: Path, test: Path, extra: list[str]) -> list[dict]:
    cmd = [sys.executable, "-m", "sentiment", "compare", str(train), "--test", str(test),
           "--json", "--limit", "0", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the report (Markdown) here")
    ap.add_argument("--epochs-grid", type=int, nargs="*", default=[10, 20])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = ap.parse_args()
    train_path, test_path = imdb_paths()
    tr, te = pd.read_csv(train_path), pd.read_csv(test_path)
    lines = ["# Short sentences and small data", "",
             f"`python scripts/small_data.py --out docs/small_data.md`; "
             f"{time.strftime('%Y-%m-%d')}; 2 cores. Each row is `compare`'s: test "
             "accuracy on the data set's own test split; LogisticRegression and NBSVM on "
             "our 1-3-gram features with C chosen on the same validation split; means of "
             f"seeds {', '.join(map(str, args.seeds))} (`compare --seed S`, which draws the "
             "validation split), the defaults' lowest and highest in brackets.", "",
             "| " + " | ".join(["data", "train rows", "words per text", "defaults",
                                *(f"`--epochs {e}`" for e in args.epochs_grid),
                                "LogisticRegression", "NBSVM"]) + " |",
             "| --- |" + " ---: |" * (5 + len(args.epochs_grid))]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        short_train = imdb_sentences(tr, 2, 20_000, 0)
        short_test = imdb_sentences(te, 1, 5_000, 1)
        sets = {
            "short sentences": (short_train, short_test),
            "small (2,000 reviews)": (tr.sample(2_000, random_state=0),
                                      te.sample(5_000, random_state=0)),
            "short and small (2,000 sentences)": (short_train.iloc[:2_000], short_test),
        }
        for name, (train, test) in sets.items():
            a, b = tmp / "train.csv", tmp / "test.csv"
            train[["review", "sentiment"]].to_csv(a, index=False)
            test[["review", "sentiment"]].to_csv(b, index=False)
            print(f"{name} ...", file=sys.stderr)
            by: dict[str, list[float]] = {}
            for seed in args.seeds:
                for r in compare(a, b, ["--stages", "7", "--references", "--seed", str(seed)]):
                    by.setdefault(r["stage"], []).append(r["test_accuracy"])
            tuned = [mean(epochs_row(a, b, e, seed) for seed in args.seeds)
                     for e in args.epochs_grid]
            words = train["review"].str.split().str.len().mean()
            cells = [name, f"{len(train):,}", f"{words:.0f}",
                     f"{mean(by['7']):.2%} ({min(by['7']):.2%}-{max(by['7']):.2%})",
                     *(f"{x:.2%}" for x in tuned), f"{mean(by['lr']):.2%}",
                     f"{mean(by['nbsvm']):.2%}"]
            lines.append("| " + " | ".join(cells) + " |")
    write_report(lines, args.out)


def epochs_row(train: Path, test: Path, epochs: int, seed: int) -> float:
    """Test accuracy of the defaults with ``--epochs`` (and patience off, so every epoch
    runs and the learning rate decays over all of them)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sentiment", "train", str(train), "--test", str(test),
               "--model", str(Path(tmp) / "m.npz"), "--json", "--epochs", str(epochs),
               "--patience", "0", "--seed", str(seed), "-q"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(x) for x in out.splitlines() if "test_accuracy" in x][0][
        "test_accuracy"]


if __name__ == "__main__":
    main()
