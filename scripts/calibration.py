"""How far the probabilities are from the truth: expected calibration error (ECE) and a
reliability plot, on IMDB and on short sentences made from IMDB.

ECE: the test rows in 15 equal-width bins of confidence (the probability of the
predicted label); the mean, weighted by bin size, of |accuracy - mean confidence|. Short
sentences: single sentences of 6-30 words of IMDB reviews, each labelled with its
review's sentiment (train sentences from train reviews, test from test reviews). Each
data set trains the default model (``train``) and scores its test split. Usage::

    SENTIMENT_DATA=../shared/data python scripts/calibration.py [--out docs/calibration.md]
        [--plot docs/calibration.png]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sentiment.io.reader import imdb_paths
from sentiment.lab.scripts import imdb_sentences, write_report
from sentiment.training.job import Settings, train

BINS = 15


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS):
    """(ECE, per-bin (mean confidence, accuracy, count)) for the predicted labels."""
    edges = np.linspace(0.5 if confidence.min() >= 0.5 else 0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    rows, total = [], 0.0
    for b in range(bins):
        mine = which == b
        if mine.any():
            conf, acc = float(confidence[mine].mean()), float(correct[mine].mean())
            total += mine.sum() * abs(acc - conf)
            rows.append((conf, acc, int(mine.sum())))
    return total / len(confidence), rows


def measure(name, texts, labels, test_texts, test_labels, settings: Settings) -> dict:
    start = time.perf_counter()
    model = train(texts, labels, settings, progress=False)
    p = model.predict_proba(test_texts)[:, 1]
    predicted = p > 0.5
    confidence = np.maximum(p, 1 - p)
    correct = predicted == (np.asarray(test_labels) > 0)
    error, rows = ece(confidence, correct)
    # the raw model's: the logits before they were divided by the fitted temperature
    t = model.info.get("temperature") or 1.0  # a positive divisor: labels unchanged
    q = np.clip(p, 1e-12, 1 - 1e-12)
    raw = 1 / (1 + np.exp(-(np.log(q) - np.log1p(-q)) * t))
    raw_error = ece(np.maximum(raw, 1 - raw), correct)[0]  # the same labels
    words = np.array([len(t.split()) for t in test_texts])
    short = words <= np.median(words)
    return {"name": name, "ece": error, "raw_ece": raw_error,
            "accuracy": float(correct.mean()),
            "confidence": float(confidence.mean()),
            "conf_short": float(confidence[short].mean()),
            "conf_long": float(confidence[~short].mean()),
            "temperature": model.info.get("temperature"), "bins": rows,
            "seconds": time.perf_counter() - start, "n": len(test_texts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the report (Markdown) here")
    ap.add_argument("--plot", help="write the reliability plot here (needs matplotlib)")
    args = ap.parse_args()
    train_path, test_path = imdb_paths()
    tr, te = pd.read_csv(train_path), pd.read_csv(test_path)
    short, short_test = imdb_sentences(tr, 2, 20_000, 0), imdb_sentences(te, 1, 5_000, 1)
    s_texts, s_y = short["review"].tolist(), (short["sentiment"] == "positive").to_numpy()
    t_texts = short_test["review"].tolist()
    t_y = (short_test["sentiment"] == "positive").to_numpy()
    results = [
        measure("IMDB reviews", tr["review"].tolist(), (tr["sentiment"] == "positive")
                .to_numpy().astype(int), te["review"].tolist(),
                (te["sentiment"] == "positive").to_numpy().astype(int), Settings()),
        measure("short sentences", s_texts, s_y, t_texts, t_y, Settings()),
    ]
    lines = ["# Calibration: do the probabilities mean what they say?", "",
             f"`python scripts/calibration.py --out docs/calibration.md --plot "
             f"docs/calibration.png`; {time.strftime('%Y-%m-%d')}. Default settings; ECE "
             f"over {BINS} bins of confidence (the probability of the predicted label); "
             "'short' and 'long' are the halves of the test texts by length.", "",
             "| data | test rows | accuracy | ECE | mean confidence | short half | long half "
             "| temperature | ECE without it |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        t = "-" if r["temperature"] is None else f"{r['temperature']:.2f}"
        lines.append(f"| {r['name']} | {r['n']:,} | {r['accuracy']:.2%} | {r['ece']:.4f} | "
                     f"{r['confidence']:.3f} | {r['conf_short']:.3f} | {r['conf_long']:.3f} "
                     f"| {t} | {r['raw_ece']:.4f} |")
    if args.plot:
        lines += ["", f"![reliability plot]({Path(args.plot).name})"]
    write_report(lines, args.out)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0.5, 1], [0.5, 1], "k:", label="perfect")
        for r in results:
            conf, acc, _ = zip(*r["bins"])
            ax.plot(conf, acc, "o-", label=f"{r['name']} (ECE {r['ece']:.3f})")
        ax.set_xlabel("confidence (probability of the predicted label)")
        ax.set_ylabel("accuracy")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
