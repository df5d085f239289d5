"""Benchmark the dropout mask methods: alone, and inside stage 5's training epoch.

    python scripts/bench_dropout.py [TRAIN] [--repeats N] [--skip-epochs]

The dropout rate is stage 6's.

Part 1 times one mask of each method (``sentiment.nn.dropout.MASKS``, plus two other ways to
draw the random bytes, for reference) at the shapes that matter: one review of 10 hidden
units (the per-review loop), a batch of stage 5 (1,024 x 10), and a wider layer
(1,024 x 100). Best of 5 after a burn-in.

Part 2 trains stage 5 without dropout and with dropout under each mask (same seed, same
data: IMDB by default), ``--repeats`` times in turn, and reports each one's epoch time
over stage 5's (median, and fastest epoch: on a shared machine the least disturbed): the
cost of dropout in training.
"""
from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sentiment.lab.stages import STAGES, Stage  # noqa: E402
from sentiment.nn.dropout import MASKS, dropout_mask  # noqa: E402

SHAPES = ((1, 10), (1024, 10), (1024, 100))
RATE = STAGES["6"].settings.dropout
THRESHOLD = round((1 - RATE) * 256)  # keep a unit when its byte is below this


def _generator_bytes(rng, shape):
    """The bytes method with ``Generator.bytes`` (how it drew its bytes at first)."""
    raw = np.frombuffer(rng.bytes(shape[0] * shape[1]), dtype=np.uint8).reshape(shape)
    return (raw < THRESHOLD).astype(np.float32) * np.float32(256 / THRESHOLD)


def _integers(rng, shape):
    """Bytes from ``Generator.integers(0, 256, dtype=uint8)``."""
    raw = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return (raw < THRESHOLD).astype(np.float32) * np.float32(256 / THRESHOLD)


def bench_masks() -> list[tuple[str, tuple, float]]:
    """Return (method, shape, microseconds per mask) for every method and shape."""
    rng = np.random.default_rng(0)
    legacy = np.random.RandomState(0)
    methods = {m: (lambda m=m: lambda shape: dropout_mask(m, rng, shape, RATE, legacy))()
               for m in MASKS}
    methods["bytes via Generator.bytes"] = lambda shape: _generator_bytes(rng, shape)
    methods["bytes via Generator.integers"] = lambda shape: _integers(rng, shape)
    out = []
    for shape in SHAPES:
        for name, make in methods.items():
            number = max(5, 20_000 // (shape[0] * shape[1]) + 1)
            make(shape)  # burn-in
            best = min(timeit.repeat(lambda: make(shape), number=number, repeat=5)) / number
            out.append((name, shape, best * 1e6))
    return out


def bench_epochs(path_train, repeats: int) -> list[dict]:
    """Stage 5 and stage 5 + dropout with each mask, ``repeats`` rounds in turn."""
    from sentiment.features.tokens import hash_corpus
    from sentiment.io.reader import imdb_paths, read_reviews
    from sentiment.lab.compare import _relate, run_stage

    if path_train is None:
        path_train = imdb_paths()[0]
    reviews = read_reviews(path_train)
    base = STAGES["5"]
    variants = [base] + [Stage(f"5+{m}", f"dropout {RATE}, {m} mask", "", "",
                               base.settings.with_(dropout=RATE, mask=m), relative_to="5")
                         for m in MASKS]
    # the test set is irrelevant to the timing: score on the first 1,000 training reviews
    test = hash_corpus(reviews.texts[:1000], base.settings.ngrams)
    median = {v.key: [] for v in variants}
    best = {v.key: [] for v in variants}
    for _ in range(repeats):
        for v in variants:
            row = run_stage(v, reviews.texts, reviews.labels, test, reviews.labels[:1000],
                            progress=False)
            median[v.key].append(row["seconds_per_epoch"])
            best[v.key].append(row["best_epoch_seconds"])
    rows = []
    for v in variants:
        seconds = float(np.median(median[v.key]))
        rows.append({"stage": v.key, "name": v.name, "relative_to": v.relative_to,
                     "seconds_per_epoch": seconds, "reviews_per_second": len(reviews) / seconds,
                     "best_epoch_seconds": min(best[v.key]), "time_ratio": None,
                     "speedup": None})
        _relate(rows[-1], rows[:-1])
        if v.relative_to:
            rows[-1]["median_ratio"] = seconds / rows[0]["seconds_per_epoch"]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", nargs="?", help="labelled review file (default: IMDB)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of part 2")
    parser.add_argument("--skip-epochs", action="store_true", help="only part 1")
    args = parser.parse_args(argv)
    import shlex
    command = shlex.join(["python", "scripts/bench_dropout.py", *(argv or sys.argv[1:])])
    print(f"# {command}\n")
    print(f"dropout rate {RATE}; one mask, best of 5 (microseconds)")
    results = bench_masks()
    names = list(dict.fromkeys(name for name, _, _ in results))
    print(f"{'method':<30}" + "".join(f"{f'{a} x {b}':>14}" for a, b in SHAPES))
    for name in names:
        cells = [t for n, _, t in results if n == name]
        print(f"{name:<30}" + "".join(f"{t:>14.1f}" for t in cells))
    if args.skip_epochs:
        return 0
    print(f"\nstage 5 epoch with dropout, {args.repeats} rounds: median of the median "
          "epochs, and the fastest epoch of all")
    print(f"{'run':<40}{'median s':>10}{'vs 5':>8}{'fastest s':>11}{'vs 5':>8}")
    for r in bench_epochs(args.train, args.repeats):
        ratio = f"{r['median_ratio']:.3f}x" if r["time_ratio"] is not None else "-"
        best = f"{r['time_ratio']:.3f}x" if r["time_ratio"] is not None else "-"
        print(f"{r['stage'] + ' ' + r['name']:<40}{r['seconds_per_epoch']:>10.3f}{ratio:>8}"
              f"{r['best_epoch_seconds']:>11.3f}{best:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
