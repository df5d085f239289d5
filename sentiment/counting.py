"""Counting features chunk by chunk, in a table that never outgrows its capacity.

For every feature (a 64-bit hash of a unigram .. n-gram) the :class:`FeatureCounter` keeps in
how many positive and how many negative training texts it occurs, its n, and where it was
first seen (chunk, token), so that its words can be read back. Chunks arrive as their own
unique features with counts; they are merged into the table in batches (one hash-table
factorization of the table and the waiting chunks), which keeps each feature in the order
of its first appearance in the file. When the table passes its capacity, the rarest
features are dropped and the count a feature needs to stay is raised, as fastText's
dictionary does: memory stays bounded whatever the file. A file whose features all fit
is counted exactly.
"""
from __future__ import annotations

import numpy as np

#: what one table entry costs, in bytes: hash, two counts, n, chunk, token
ENTRY_BYTES = 8 + 4 + 4 + 1 + 4 + 4


class FeatureCounter:
    """Document counts per class of every feature seen, within ``capacity`` entries."""

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 1)
        self.table = _empty()
        self.pending: list[dict] = []
        self.pending_size = 0
        self.threshold = 1  # a feature needs this many texts to stay (raised by pruning)
        self.n_pos = self.n_neg = 0

    def __len__(self) -> int:
        return len(self.table["hash"])

    def __repr__(self) -> str:
        return (f"FeatureCounter({len(self):,} features + {self.pending_size:,} waiting, "
                f"capacity {self.capacity:,}, threshold {self.threshold})")

    def add(self, hashes, pos, neg, n, chunk: int, token, n_pos: int, n_neg: int) -> None:
        """Count one chunk: its unique feature ``hashes`` with their positive and negative
        text counts, n-gram order ``n``, and the ``token`` where each first occurs."""
        self.n_pos += int(n_pos)
        self.n_neg += int(n_neg)
        self.pending.append({"hash": hashes, "pos": pos.astype(np.int32),
                             "neg": neg.astype(np.int32), "n": n.astype(np.int8),
                             "chunk": np.full(len(hashes), chunk, np.int32),
                             "token": token.astype(np.int32)})
        self.pending_size += len(hashes)
        # merged when the waiting entries outnumber the table: each entry is merged a
        # logarithmic number of times, and the waiting list stays within the capacity
        if self.pending_size > max(len(self), self.capacity // 2):
            self.merge()

    def merge(self) -> None:
        """Fold the waiting chunks into the table; prune it if it passed its capacity."""
        import pandas as pd

        if not self.pending:
            return
        parts = [self.table, *self.pending] if len(self) else self.pending
        self.pending, self.pending_size = [], 0
        if len(parts) == 1:
            merged = parts[0]
        else:
            joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            del parts
            codes, uniques = pd.factorize(joined["hash"])
            first = first_positions(codes)
            merged = {"hash": uniques}
            for k in ("pos", "neg"):
                merged[k] = np.bincount(codes, weights=joined[k],
                                        minlength=len(uniques)).astype(np.int32)
            for k in ("n", "chunk", "token"):
                merged[k] = joined[k][first]
        self.table = merged
        if len(self) > self.capacity:
            self.prune(int(self.capacity * 0.75))

    def prune(self, size: int) -> None:
        """Keep at most ``size`` entries: raise the threshold until the rest fit."""
        total = self.table["pos"] + self.table["neg"]
        # entries at or above each count, from the highest count down
        hist = np.bincount(np.minimum(total, 1 << 20))
        at_least = np.cumsum(hist[::-1])[::-1]
        t = max(self.threshold + 1, int(np.argmax(at_least <= size)) or len(at_least))
        self.threshold = t
        keep = total >= t
        self.table = {k: v[keep] for k, v in self.table.items()}

    def finish(self, min_count: int, polarity_cutoff: float = 0.0,
               max_features: int = 0) -> dict:
        """The kept features: at least ``min_count`` texts, ``|polarity|`` at least the
        cutoff, the ``max_features`` most frequent (0: all); unigrams first, then bigrams,
        ..., each in order of first appearance."""
        from .vocab import polarity

        self.merge()
        t = self.table
        total = t["pos"] + t["neg"]
        keep = total >= min_count
        if polarity_cutoff > 0:
            keep &= np.abs(polarity(t["pos"], t["neg"], self.n_pos, self.n_neg)) \
                >= polarity_cutoff
        kept = np.flatnonzero(keep)
        if max_features and len(kept) > max_features:
            # the most frequent; among equals, the first seen
            order = np.argsort(-total[kept], kind="stable")[:max_features]
            kept = np.sort(kept[order])
        kept = kept[np.argsort(t["n"][kept], kind="stable")]
        return {k: v[kept] for k, v in t.items()}


def _empty() -> dict:
    return {"hash": np.zeros(0, np.uint64), "pos": np.zeros(0, np.int32),
            "neg": np.zeros(0, np.int32), "n": np.zeros(0, np.int8),
            "chunk": np.zeros(0, np.int32), "token": np.zeros(0, np.int32)}


def first_positions(codes: np.ndarray) -> np.ndarray:
    """Position of the first occurrence of each code, for codes numbered in order of
    first appearance (as ``pandas.factorize`` numbers them)."""
    if len(codes) == 0:
        return np.zeros(0, np.int64)
    # the first occurrence of code k is where the running maximum first reaches k
    running = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], running[1:] > running[:-1])))
