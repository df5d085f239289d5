"""The naive-Bayes smoothing, chosen without the test splits: each value of ``--values``
trained with the defaults otherwise, scored by ``--folds``-fold cross-validation of the
training rows (a seeded shuffle, the same folds for every value), or on ``valid.csv``
where a set has one (``--valid``), mean over ``--seeds``. The test files are never read.

Sets: the development sets (``--data``, default ``$SENTIMENT_DATA/dev``) and, with
``--imdb``, the short-sentence and small sets of scripts/small_data.py built from IMDB's
*training* reviews only. Usage::

    SENTIMENT_DATA=../shared/data python scripts/smoothing.py --seeds 0 1 2 --out FILE
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from statistics import mean

import numpy as np
import pandas as pd

from sentiment.training.job import train
from sentiment.training.settings import Settings


def read(path: Path) -> pd.DataFrame:
    gz = path.with_name(path.name + ".gz")
    return pd.read_csv(path if path.exists() else gz, dtype={"label": str},
                       keep_default_na=False)


def accuracy(tr: pd.DataFrame, te: pd.DataFrame, smoothing: float | None, seed: int
             ) -> float:
    labels = sorted(set(tr.label))
    multiclass = len(labels) > 2
    y = tr.label.tolist() if multiclass else [labels.index(v) for v in tr.label]
    model = train(tr.text.tolist(), y, Settings(smoothing=smoothing, seed=seed),
                  multiclass=multiclass, progress=False)
    codes = model.scores(te.text.tolist(), batch=True).codes
    names = model.classes if multiclass else labels
    return float(np.mean(np.asarray(names, dtype=object)[codes] == te.label.to_numpy()))


def splits(name: str, tr: pd.DataFrame, valid: pd.DataFrame | None, folds: int):
    """(train, held-out) pairs: valid.csv, or the folds of a seeded shuffle."""
    if valid is not None:
        return [(tr, valid)]
    order = np.random.default_rng(7).permutation(len(tr))
    parts = np.array_split(order, folds)
    return [(tr.iloc[np.concatenate(parts[:i] + parts[i + 1:])], tr.iloc[parts[i]])
            for i in range(folds)]


def imdb_sets() -> dict:
    """short (20,000 sentences), small (2,000 reviews), short-small (2,000 sentences):
    as scripts/small_data.py builds them, from the training reviews only."""
    from sentiment.io.reader import imdb_paths
    from sentiment.lab.scripts import imdb_sentences

    train_path, _ = imdb_paths()
    tr = pd.read_csv(train_path)
    short = imdb_sentences(tr, 2, 20_000, 0)
    sets = {"imdb-short": short, "imdb-small": tr.sample(2_000, random_state=0),
            "imdb-short-small": short.iloc[:2_000]}
    return {k: (pd.DataFrame({"text": v.review, "label": v.sentiment.astype(str)})
                .reset_index(drop=True), None) for k, v in sets.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(os.environ.get("SENTIMENT_DATA", "data"),
                                                   "dev"))
    ap.add_argument("--sets", nargs="*")
    ap.add_argument("--values", nargs="+", default=["1", "2", "4", "8", "default"],
                    help="smoothing values; 'default': the defaults' rule")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--valid", action="store_true", help="score on valid.csv where a set "
                    "has one, instead of cross-validation")
    ap.add_argument("--imdb", action="store_true", help="also IMDB's short and small sets")
    ap.add_argument("--out")
    args = ap.parse_args()
    sets = {}
    for d in sorted(Path(args.data).iterdir()):
        if d.is_dir() and (not args.sets or d.name in args.sets):
            valid = d / "valid.csv"
            sets[d.name] = (read(d / "train.csv"),
                            read(valid) if args.valid and valid.exists() else None)
    if args.imdb:
        sets.update({k: v for k, v in imdb_sets().items()
                     if not args.sets or k in args.sets})
    values = [None if v == "default" else float(v) for v in args.values]
    head = ["set", "rows", "scored on", "training rows a model sees"] + args.values
    lines = [f"`python scripts/smoothing.py {' '.join(os.sys.argv[1:])}`; "
             f"{time.strftime('%Y-%m-%d %H:%M')}; seeds {args.seeds}; accuracy on held-out "
             "training rows (never the test split), mean over seeds and folds.", "",
             "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, (tr, valid) in sets.items():
        pairs = splits(name, tr, valid, args.folds)
        n = int(len(pairs[0][0]) * (1 - Settings().val_fraction))
        rule = Settings().for_vocabulary(n).smoothing
        row = [name, f"{len(tr):,}", "valid.csv" if valid is not None
               else f"{args.folds}-fold CV", f"{n:,} (default: {rule:.2f})"]
        for value in values:
            acc = mean(accuracy(a, b, value, s) for a, b in pairs for s in args.seeds)
            row.append(f"{100 * acc:.2f}%")
            print(name, value, f"{100 * acc:.2f}", flush=True)
        lines.append("| " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
