"""The validation curve against the passes over the data: how many epochs a large file needs.

For each file, the rows are prepared once (the pipeline of ``train``, the defaults), then a
fresh network is trained with ``--epochs`` 1, 2, 3 and 5 (the learning rate decaying to 0
over each run's own epochs, early stopping off) and the held-out validation rows of the
file are scored: what :data:`sentiment.training.settings.MAX_STEPS` is chosen on. The IMDB test
accuracy is printed beside as a check only (never chosen on).

    SENTIMENT_DATA=../shared/data python scripts/epoch_curve.py \
        /tmp/sentiment-scale/reviews-100k.csv /tmp/sentiment-scale/reviews-1m.csv

A benchmark: it prints figures, run it alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sentiment.io.reader import ReviewFile, imdb_paths, read_reviews  # noqa: E402
from sentiment.model.model import Model  # noqa: E402
from sentiment.nn.network import Network  # noqa: E402
from sentiment.training.budget import Budget  # noqa: E402
from sentiment.training.loop import fit  # noqa: E402
from sentiment.training.pipeline import prepare  # noqa: E402
from sentiment.training.settings import Settings  # noqa: E402
from sentiment.training.spool import Spool  # noqa: E402


def curve(path: str, epochs: list[int], test, seed: int) -> list[dict]:
    """One row per number of epochs: the validation loss and accuracy of the run's last
    epoch, its minibatch steps, seconds, and the IMDB test accuracy (a check)."""
    source = ReviewFile(path)
    settings = Settings(seed=seed).for_labels(False)
    rows = Budget().chunk_rows(source.row_bytes)
    chunks = ((c.texts, c.labels) for c in source.chunks(rows))
    out = []
    with Spool(Budget().spool_bytes()) as spool:
        ready = prepare(chunks, settings, spool)
        n = ready.train.n_rows
        for e in epochs:
            s = settings.with_(epochs=e, patience=0)
            rng = np.random.default_rng(seed)
            net = Network(len(ready.vocab), s.hidden, rng)
            t = time.perf_counter()
            history = fit(net, ready.train, None, s, rng, X_val=ready.val)
            seconds = time.perf_counter() - t
            model = Model(ready.vocab, net, s.to_dict())
            right = np.mean((model.logits(test.texts) > 0) == (np.asarray(test.labels) > 0))
            last = history[-1]
            out.append({"file": Path(path).name, "n_train": n, "epochs": e,
                        "steps": e * -(-n // s.batch_size), "val_loss": last.val_loss,
                        "val_accuracy": last.val_accuracy, "seconds": seconds,
                        "test_accuracy": float(right)})
            print(f"{Path(path).name}: {e} epochs ({out[-1]['steps']:,} steps): val loss "
                  f"{last.val_loss:.5f}, val {last.val_accuracy:.3%}; {seconds:.1f} s; "
                  f"IMDB test {right:.2%} (a check)", file=sys.stderr, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--epochs", nargs="+", type=int, default=[1, 2, 3, 5])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    _, test_path = imdb_paths(download=True)
    test = read_reviews(test_path)
    rows = [r for f in args.files for r in curve(f, args.epochs, test, args.seed)]
    print("| file | training rows | epochs | steps | val loss | val accuracy | train s | "
          "IMDB test (check) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['file']} | {r['n_train']:,} | {r['epochs']} | {r['steps']:,} | "
              f"{r['val_loss']:.5f} | {r['val_accuracy']:.3%} | {r['seconds']:.1f} | "
              f"{r['test_accuracy']:.2%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
