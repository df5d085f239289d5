"""Time scipy's sparse products on one stage-5 batch at hidden widths 8 to 16.

    python scripts/bench_buffer_width.py [TRAIN] [--repeats N]

Why row-wise Adagrad's buffered step (``sentiment.nn.optim.Adagrad._step_buffered``) pads
its buffer to a multiple of 4 columns: scipy's ``X.T @ G`` loop (``csc_matvecs``) is
faster at such widths than at the odd ones just below them. For each width the script
prints the median time of ``X @ W`` and ``X.T @ G`` over one batch of stage 5 (IMDB's
first 1,024 reviews by default, with stage 5's vocabulary), and each as a ratio to
width 10, stage 5's hidden size. All widths are timed in turn, ``--repeats`` rounds.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sentiment.lab.bench import training_matrix  # noqa: E402
from sentiment.lab.stages import STAGES  # noqa: E402
from sentiment.nn.network import csr_backward_add, csr_forward  # noqa: E402

WIDTHS = range(8, 17)


def time_widths(X, repeats: int, calls: int = 50) -> dict[int, tuple[float, float]]:
    """Median seconds per call of (X @ W, X.T @ G) for every width, rounds interleaved."""
    rng = np.random.default_rng(0)
    times: dict[int, tuple[list, list]] = {w: ([], []) for w in WIDTHS}
    for _ in range(repeats):
        for w in WIDTHS:
            W = rng.standard_normal((X.shape[1], w), dtype=np.float32)
            G = rng.standard_normal((X.shape[0], w), dtype=np.float32)
            out = np.empty((X.shape[0], w), dtype=np.float32)
            for side, call in enumerate((
                    lambda: csr_forward(X.indptr, X.indices, X.data, W, out),
                    lambda: csr_backward_add(X.indptr, X.indices, X.data, G, W, 1e-9))):
                call()  # warm the caches
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                times[w][side].append((time.perf_counter() - start) / calls)
    return {w: (float(np.median(f)), float(np.median(b))) for w, (f, b) in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", nargs="?", help="review file (default: IMDB train)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=STAGES["5"].settings.batch_size)
    args = parser.parse_args(argv)
    from sentiment.io.reader import imdb_paths, read_reviews

    reviews = read_reviews(args.train or imdb_paths()[0])
    X, _ = training_matrix(reviews.texts, reviews.labels, STAGES["5"].settings)
    X = X[:args.batch]
    print(f"one batch: {X.shape[0]:,} reviews x {X.shape[1]:,} features, {X.nnz:,} "
          f"non-zeros; median of {args.repeats} rounds")
    result = time_widths(X, args.repeats)
    base_f, base_b = result[10]
    print("width   X @ W (us)  vs 10   X.T @ G (us)  vs 10")
    for w, (f, b) in result.items():
        print(f"{w:5d}   {f * 1e6:10.0f}  {f / base_f:5.2f}   {b * 1e6:12.0f}  {b / base_b:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
