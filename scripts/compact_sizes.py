"""Model size against accuracy, step by step: the full model, folded, pruned, float16.

Trains the default model on the IMDB train split (the full model, as ``train --full``
saves it), then writes each compact variant to a temporary folder and scores the file it
wrote on all 25,000 test reviews. Usage::

    SENTIMENT_DATA=../shared/data python scripts/compact_sizes.py [--out docs/compact.md]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from sentiment.io.reader import imdb_paths, read_reviews
from sentiment.lab.scripts import write_report
from sentiment.model.compact import DEFAULT_FEATURES, compact
from sentiment.model.model import Model
from sentiment.training.job import train

SIZES = (None, 600_000, DEFAULT_FEATURES, 300_000, 200_000, 100_000, 50_000)


def accuracy(model: Model, texts, y) -> float:
    return float(np.mean((model.net.logits(model.encode(texts)) > 0) == (y > 0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the report (Markdown) here")
    args = ap.parse_args()
    train_path, test_path = imdb_paths()
    tr, te = read_reviews(train_path), read_reviews(test_path)
    model = train(tr.texts, tr.labels, progress=False)
    lines = ["# Compact models: size against accuracy", "",
             f"`python scripts/compact_sizes.py --out docs/compact.md`; "
             f"{time.strftime('%Y-%m-%d')}. The default model trained on the IMDB train "
             "split, each variant saved, loaded back and scored on the 25,000 test reviews.",
             "", "| model | features | file | test accuracy | load + predict 1 text |",
             "| --- | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as tmp:
        variants = [("full (`train --full`)", model, None)]
        variants += [(f"compact, {'all features' if n is None else f'top {n:,}'}"
                      + (" (default)" if n == DEFAULT_FEATURES else ""), None, n)
                     for n in SIZES]
        for name, m, n in variants:
            m = m or compact(model, n)
            path = m.save(Path(tmp) / "m.npz")
            start = time.perf_counter()
            loaded = Model.load(path)
            loaded.predict(["What a wonderful, moving film."])
            ms = (time.perf_counter() - start) * 1000
            lines.append(f"| {name} | {len(loaded.vocab):,} | "
                         f"{path.stat().st_size / 1e6:.1f} MB | "
                         f"{accuracy(loaded, te.texts, te.labels):.2%} | {ms:.0f} ms |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
