"""The compiled loops against numpy/scipy, step by step, in one process, alternated.

    SENTIMENT_DATA=../shared/data python scripts/bench_compiled.py [--repeat 3]

Times, on the IMDB train split, one thread: pass 1 of the whole split (``hash_part`` on
chunks of 6,400 reviews: hash, number, count per text), the vocabulary (``_vocabulary``:
the counts merged, the words read back) and one default epoch, each with the compiled
loops and with ``SENTIMENT_PURE=1``; prints the medians and their ratio (docs/lesson.md,
"Compiled loops").
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def timed(fn, pure: bool) -> float:
    os.environ["SENTIMENT_PURE"] = "1" if pure else "0"
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        os.environ.pop("SENTIMENT_PURE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import pandas as pd

    from sentiment.io.reader import imdb_paths
    from sentiment.nn.network import Network
    from sentiment.training.chunks import hash_part
    from sentiment.training.loop import fit
    from sentiment.training.pipeline import fit_vocabulary
    from sentiment.training.settings import Settings

    frame = pd.read_csv(imdb_paths()[0])
    texts = frame["review"].tolist()
    labels = (frame["sentiment"] == "positive").to_numpy().astype(np.int8)
    settings = Settings().for_labels(multiclass=False)

    def pass_one():
        for lo in range(0, len(texts), 6400):
            part = slice(lo, lo + 6400)
            hash_part(texts[part], labels[part], labels[part], settings, True, 0, threads=1)

    def vocabulary():
        fit_vocabulary(texts, labels, ngrams=3, min_count=2, negation=settings.negation)

    vocab, X = fit_vocabulary(texts, labels, ngrams=3, min_count=2,
                              negation=settings.negation)
    X.data = X.data.astype(np.float32)

    def epoch():
        net = Network(X.shape[1], settings.hidden, np.random.default_rng(0))
        fit(net, X, labels.astype(np.float32), settings.with_(epochs=1, val_fraction=0),
            np.random.default_rng(0), progress=False, threads=1)

    steps = {"pass 1 (hash, number, count per text), 25,000 reviews": pass_one,
             "pass 1 and the vocabulary (fit_vocabulary), 25,000 reviews": vocabulary,
             f"one epoch, {X.shape[0]:,} reviews, {X.nnz:,} non-zeros": epoch}
    print("| step | numpy/scipy | compiled | ratio |\n| --- | ---: | ---: | ---: |")
    for name, fn in steps.items():
        pure, fast = [], []
        for _ in range(args.repeat):
            pure.append(timed(fn, True))
            fast.append(timed(fn, False))
        p, f = statistics.median(pure), statistics.median(fast)
        print(f"| {name} | {p:.2f} s | {f:.2f} s | {p / f:.2f}x faster |", flush=True)


if __name__ == "__main__":
    main()
