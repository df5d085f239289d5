"""K classes measured: IMDB's 8 ratings, --stars against the sentiment column, and five
classes of short sentences; the defaults against logistic regression in the same run.

* IMDB ``rating`` (1-4, 7-10: 8 classes): ``train --multiclass`` defaults, the same with
  binary input values (does the K-class naive-Bayes scaling earn its place?), and
  scikit-learn's LogisticRegression on the same features (our vocabulary's binary
  n-grams), its C chosen on a validation split of the training rows; exact accuracy and
  within one class (|predicted - true| <= 1 on the rating scale);
* ``train --stars`` on the rating column against ``train`` on the sentiment column, both
  as a user runs them (whole command lines);
* five classes of short sentences made from IMDB: single sentences of 6-30 words,
  labelled by their review's rating in five bins (1 | 2-3 | 4, 7 | 8-9 | 10), train
  sentences from train reviews, test sentences from test reviews; the defaults against a
  tuned logistic regression on our features and on tf-idf word 1-2-grams.

Usage::

    SENTIMENT_DATA=../shared/data python scripts/multiclass.py [--out docs/multiclass.md]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sentiment.io.labels import encode_labels
from sentiment.io.reader import imdb_paths
from sentiment.lab.scripts import imdb_sentences, write_report
from sentiment.model.metrics import scores
from sentiment.training.job import Settings, train
from sentiment.training.pipeline import fit_vocabulary

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BINS = {1: "1", 2: "2", 3: "2", 4: "3", 7: "3", 8: "4", 9: "4", 10: "5"}


def confusion(y_true, y_pred, k: int) -> np.ndarray:
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred),
                       minlength=k * k).reshape(k, k)


def ours(texts, labels, test_texts, test_labels, settings: Settings) -> dict:
    start = time.perf_counter()
    model = train(texts, labels, settings, multiclass=True, progress=False)
    seconds = time.perf_counter() - start
    classes = model.classes
    y = [classes.index(str(v)) for v in test_labels]
    z = model.net.logits(model.encode(test_texts))
    return {**scores(confusion(y, z.argmax(axis=1), len(classes)), classes),
            "seconds": seconds}


def logistic(X, y, X_test, y_test, classes, seed: int = 0) -> dict:
    """LogisticRegression, C chosen on 10% of the training rows, then refit on all."""
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    val = rng.random(X.shape[0]) < 0.1
    best = None
    for c in C_GRID:
        clf = LogisticRegression(C=c, max_iter=300).fit(X[~val], y[~val])
        acc = float((clf.predict(X[val]) == y[val]).mean())
        if best is None or acc > best[1]:
            best = (c, acc)
    clf = LogisticRegression(C=best[0], max_iter=300).fit(X, y)
    seconds = time.perf_counter() - start
    return {**scores(confusion(y_test, clf.predict(X_test), len(classes)), classes),
            "seconds": seconds, "C": best[0]}


def same_features(texts, test_texts, y):
    """Our vocabulary (3-grams, min count 2) as binary features, for the references."""
    vocab, X = fit_vocabulary(texts, np.zeros(len(texts), np.int8), ngrams=3, min_count=2)
    return X, vocab.encode(test_texts)


def cli_accuracy(train_file: Path, test_file: Path, extra: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sentiment", "train", str(train_file), "--test",
               str(test_file), "--model", str(Path(tmp) / "m.npz"), "--json", *extra]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - start
    test = [json.loads(line) for line in out.splitlines() if "test_accuracy" in line][0]
    return test["test_accuracy"], wall


def standard_error(ours_acc: float, theirs: float, n: int) -> str:
    """How far apart two accuracies on the same ``n`` test rows are, in standard errors
    of one accuracy (binomial): within one, they match."""
    se = (theirs * (1 - theirs) / n) ** 0.5
    gap = ours_acc - theirs
    return (f"Difference to the tuned logistic regression on our features: {gap:+.2%} "
            f"({gap / se:+.1f} standard errors of an accuracy on {n:,} rows, "
            f"{se:.2%}); within one standard error counts as a match.")


def row(name: str, m: dict, extra: str = "") -> str:
    within = f"{m['within_one']:.2%}" if "within_one" in m else "-"
    return (f"| {name} | {m['accuracy']:.2%} | {within} | {m['macro_f1']:.2%} | "
            f"{m['seconds']:.1f} | {extra} |")


HEADER = ["| model | accuracy | within one | macro F1 | seconds | notes |",
          "| --- | --- | --- | --- | --- | --- |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the report (Markdown) here")
    ap.add_argument("--sentences", type=int, default=20_000, help="training sentences")
    args = ap.parse_args()
    train_path, test_path = imdb_paths()
    tr, te = pd.read_csv(train_path), pd.read_csv(test_path)
    lines = ["# K classes: measured", "",
             f"`python scripts/multiclass.py --out docs/multiclass.md`; {time.strftime('%Y-%m-%d')}"
             ", one run, 2 cores. Logistic regression: scikit-learn's LogisticRegression "
             f"(lbfgs, multinomial), C from {list(C_GRID)} chosen on 10% of the training "
             "rows, then refit on all of them.", ""]

    print("IMDB rating, 8 classes ...", file=sys.stderr)
    texts, y = tr["review"].tolist(), tr["rating"].astype(str).tolist()
    test_texts, test_y = te["review"].tolist(), te["rating"].astype(str).tolist()
    lines += ["## IMDB `rating`: 8 classes (1-4, 7-10)", "", *HEADER]
    lines.append(row("sentiment `train --multiclass` (defaults)",
                     ours(texts, y, test_texts, test_y, Settings())))
    lines.append(row("sentiment, `--values binary`",
                     ours(texts, y, test_texts, test_y, Settings(values="binary"))))
    codes, classes = encode_labels(y)
    test_codes = np.array([classes.index(v) for v in test_y])
    X, X_test = same_features(texts, test_texts, codes)
    m = logistic(X, codes, X_test, test_codes, classes)
    lines.append(row("LogisticRegression, same features", m, f"C={m['C']}"))

    print("--stars against the sentiment column ...", file=sys.stderr)
    stars, stars_wall = cli_accuracy(train_path, test_path, ["--stars"])
    plain, plain_wall = cli_accuracy(train_path, test_path, [])
    lines += ["", "## `train --stars` on `rating` against `train` on `sentiment`", "",
              "| command | test accuracy | wall seconds |", "| --- | --- | --- |",
              f"| `train TRAIN --stars --test TEST` | {stars:.2%} | {stars_wall:.1f} |",
              f"| `train TRAIN --test TEST` | {plain:.2%} | {plain_wall:.1f} |"]

    print("five classes of short sentences ...", file=sys.stderr)
    short = imdb_sentences(tr, 2, args.sentences, 0)
    short_test = imdb_sentences(te, 1, args.sentences // 4, 1)
    s_texts, s_y = short["review"].tolist(), [BINS[int(r)] for r in short["rating"]]
    t_texts, t_y = short_test["review"].tolist(), [BINS[int(r)] for r in short_test["rating"]]
    words = np.mean([len(t.split()) for t in s_texts])
    lines += ["", f"## Five classes of short sentences ({len(s_texts):,} train, "
              f"{len(t_texts):,} test, {words:.0f} words on average)", "",
              "Each sentence takes its review's rating, in five bins: 1 | 2-3 | 4, 7 | 8-9 "
              "| 10 (so the labels are noisy: a sentence need not carry its review's "
              "rating).", "", *HEADER]
    mine = ours(s_texts, s_y, t_texts, t_y, Settings())
    lines.append(row("sentiment `train --multiclass` (defaults)", mine))
    codes, classes = encode_labels(s_y)
    test_codes = np.array([classes.index(v) for v in t_y])
    X, X_test = same_features(s_texts, t_texts, codes)
    m = logistic(X, codes, X_test, test_codes, classes)
    lines.append(row("LogisticRegression, same features", m, f"C={m['C']}"))
    footer = standard_error(mine["accuracy"], m["accuracy"], len(t_texts))
    from sklearn.feature_extraction.text import TfidfVectorizer
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    m = logistic(tfidf.fit_transform(s_texts), codes, tfidf.transform(t_texts), test_codes,
                 classes)
    lines.append(row("LogisticRegression, tf-idf 1-2-grams", m, f"C={m['C']}"))
    lines += ["", footer]
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
