"""The negation set (docs/negation.tsv: 48 short phrases, both polarities, written for this
test: "not bad", "I didn't hate it", "not as good as the book", ...) against IMDB, and the
held-out set (docs/negation_heldout.tsv: 36 more, written after the window's rule was
chosen on the first, before it was scored on them).

    python scripts/negation.py [--model PATH]      # one model (default: the built-in one)
    SENTIMENT_DATA=../shared/data python scripts/negation.py --windows 0 2 3 4 \\
        --seeds 0 1 2 --out docs/negation_runs.md       # train with each --negation window

The second form trains ``train IMDB_TRAIN --test IMDB_TEST --negation W --seed S`` for
each window and seed (whole processes) and reports IMDB test accuracy and the share of
each set right, per seed and as means.
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
HELD_OUT = SET.with_name("negation_heldout.tsv")


def score(model_path=None, path: Path = SET) -> tuple[float, list[tuple[str, str]]]:
    """(share right, the phrases it gets wrong with their labels)."""
    import sentiment

    phrases = pd.read_csv(path, sep="\t")
    predicted = sentiment.load(model_path).predict(phrases["text"].tolist())
    wrong = [(t, y) for t, y, p in zip(phrases["text"], phrases["label"], predicted) if p != y]
    return 1 - len(wrong) / len(phrases), wrong


def windows(ws: list[int], seeds: list[int], out: str | None) -> None:
    from sentiment.io.reader import imdb_paths
    from sentiment.lab.scripts import write_report

    train, test = map(str, imdb_paths())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = str(Path(tmp) / "m.npz")
        for w in ws:
            accs, negs, held = [], [], []
            for seed in seeds:
                r = subprocess.run([sys.executable, "-m", "sentiment", "-q", "train", train,
                                    "--test", test, "--model", model, "--negation", str(w),
                                    "--seed", str(seed), "--json"],
                                   capture_output=True, text=True, check=True)
                accs.append([json.loads(x) for x in r.stdout.splitlines()
                             if "test_accuracy" in x][0]["test_accuracy"])
                negs.append(score(model)[0])
                held.append(score(model, HELD_OUT)[0])
            rows.append((w, accs, negs, held))
    lines = ["# Negation: the negation set against IMDB", "",
             f"`python scripts/negation.py --windows {' '.join(map(str, ws))} --seeds "
             f"{' '.join(map(str, seeds))}`; {time.strftime('%Y-%m-%d')}; whole `train "
             "--test` processes with the defaults but `--negation W` (the compact model "
             "saved is the one scored).", "",
             "| --negation | IMDB test accuracy, seeds " + ", ".join(map(str, seeds))
             + " | mean | negation set right | mean | held-out set right | mean |",
             "| ---: | --- | ---: | --- | ---: | --- | ---: |"]
    for w, accs, negs, held in rows:
        lines.append(f"| {w} | {' / '.join(f'{a:.2%}' for a in accs)} | "
                     f"{statistics.mean(accs):.2%} | " + " | ".join(
                         f"{' / '.join(f'{n:.1%}' for n in x)} | {statistics.mean(x):.1%}"
                         for x in (negs, held)) + " |")
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
    for path in (SET, HELD_OUT):
        right, wrong = score(args.model, path)
        print(f"{path.name}: {right:.1%} of {len(pd.read_csv(path, sep=chr(9)))} phrases right")
        for text, label in wrong:
            print(f"  wrong: {text!r} is {label}")


if __name__ == "__main__":
    main()
