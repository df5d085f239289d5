"""Build large synthetic review files from the sentences of the IMDB train split.

Each new review takes a label at random, then as many sentences as a real review of that
label has (its length drawn from the real reviews'), each sentence drawn from the train
reviews of that label; so the files read like IMDB, at any size, and a model trained on
them can be scored on the real IMDB test split, which none of their sentences come from.

    python scripts/make_synthetic.py 100000 1000000 --out /tmp/sentiment-scale

writes reviews-100k.csv and reviews-1m.csv (columns review, sentiment). Seeded: the same
command gives the same files. Nothing generated here is ever committed.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sentiment.io.reader import imdb_paths, read_reviews  # noqa: E402

_SPLIT = re.compile(r"(?<=[.!?])\s+|<br\s*/?>\s*(?:<br\s*/?>\s*)*")


def sentences_by_label(texts, labels):
    """Per label: all sentences of its reviews, and each review's sentence count."""
    pools, lengths = {0: [], 1: []}, {0: [], 1: []}
    for text, label in zip(texts, labels):
        parts = [s for s in _SPLIT.split(text) if s.strip()]
        pools[int(label)].extend(parts)
        lengths[int(label)].append(len(parts))
    return ({k: np.array(v, dtype=object) for k, v in pools.items()},
            {k: np.array(v) for k, v in lengths.items()})


def name_of(n: int) -> str:
    return f"reviews-{n // 1_000_000}m.csv" if n % 1_000_000 == 0 else f"reviews-{n // 1000}k.csv"


def write(path: Path, n: int, pools, lengths, seed: int, sorted_by_label: bool) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    if sorted_by_label:
        labels = np.sort(labels)[::-1]  # positive first, as the IMDB file is
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        for lo in range(0, n, 50_000):
            block = labels[lo:lo + 50_000]
            rows = []
            for label in (0, 1):
                mine = np.flatnonzero(block == label)
                k = rng.choice(lengths[label], len(mine))
                picks = rng.integers(0, len(pools[label]), int(k.sum()))
                parts = pools[label][picks]
                ends = np.cumsum(k)
                for i, end, size in zip(mine, ends, k):
                    rows.append((i, " ".join(parts[end - size:end])))
            rows.sort()
            name = ("negative", "positive")
            w.writerows((text, name[block[i]]) for i, text in rows)
    tmp.replace(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sizes", nargs="+", type=int, help="reviews per file, e.g. 100000 1000000")
    p.add_argument("--out", default="/tmp/sentiment-scale", help="folder for the files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sorted", action="store_true",
                   help="sort each file by label (positive first), as the IMDB file is")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, _ = imdb_paths(download=True)
    reviews = read_reviews(train)
    pools, lengths = sentences_by_label(reviews.texts, reviews.labels)
    print(f"{len(pools[0]) + len(pools[1]):,} sentences from {len(reviews):,} reviews",
          file=sys.stderr)
    for n in args.sizes:
        path = out / (name_of(n).replace(".csv", "-sorted.csv") if args.sorted else name_of(n))
        if path.exists():
            print(f"{path}: exists, kept", file=sys.stderr)
            continue
        t = time.perf_counter()
        write(path, n, pools, lengths, args.seed + n, args.sorted)
        print(f"{path}: {n:,} reviews, {path.stat().st_size / 1e6:,.0f} MB in "
              f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
