"""Counting features chunk by chunk, in a table that never outgrows its capacity.

For every feature (a 64-bit hash of a unigram .. n-gram) the :class:`FeatureCounter` keeps in
how many positive and how many negative training texts it occurs, its n, and where it was
first seen (chunk, position), so that its words can be read back and the columns put in
order of first appearance. Everything is grouped into 256 partitions by the top byte of
the hash: each partition is a small hash table (:func:`factorize`), which is about three
times faster than one large table on these machines (the large one misses the cache on
every key), and a merge touches one partition at a time, so its temporaries stay small.

Chunks arrive as their own unique features with counts and wait; they are merged into the
table in batches. When the table passes its capacity, the rarest features are dropped and
the count a feature needs to stay is raised, as fastText's dictionary does: memory stays
bounded whatever the file. A file whose features all fit is counted exactly.
"""
from __future__ import annotations

import numpy as np

from ..native.loops import compiled
from ..native.loops import factorize as fast_factorize

#: what one table entry costs, in bytes: hash, two counts, n, chunk, position
ENTRY_BYTES = 8 + 4 + 4 + 1 + 4 + 4
PARTS = 256
_FIELDS = ("hash", "pos", "neg", "n", "chunk", "token")


def factorize(keys: np.ndarray):
    """Number the distinct ``keys``: ``(codes, uniques, first, bounds)``.

    ``uniques`` are grouped by partition (top byte), ``bounds[p]:bounds[p + 1]`` being
    partition ``p``, each group in order of first appearance; ``codes[i]`` is the index of
    ``keys[i]`` in ``uniques``; ``first[j]`` the position of the first occurrence of
    ``uniques[j]`` in ``keys``.
    """
    fast = compiled()
    if fast is not None and len(keys) < 2**31 - 1:
        return fast_factorize(fast, keys)
    import pandas as pd

    part = (keys >> np.uint64(56)).astype(np.uint8)
    order = np.argsort(part, kind="stable")  # a radix sort of bytes: O(n)
    key_bounds = np.zeros(PARTS + 1, dtype=np.int64)
    np.cumsum(np.bincount(part, minlength=PARTS), out=key_bounds[1:])
    del part
    ordered = keys[order]
    codes_ordered = np.empty(len(keys), dtype=np.int64)
    uniques, bounds = [], [0]
    for p in range(PARTS):
        lo, hi = key_bounds[p], key_bounds[p + 1]
        if hi > lo:
            c, u = pd.factorize(ordered[lo:hi])
            codes_ordered[lo:hi] = c + bounds[-1]
            uniques.append(u)
            bounds.append(bounds[-1] + len(u))
        else:
            bounds.append(bounds[-1])
    del ordered
    # stable partitioning keeps each partition in key order, so a code's first place in
    # the ordered keys is its first occurrence
    first = order[first_positions(codes_ordered)]
    codes = np.empty(len(keys), dtype=np.int32 if bounds[-1] < 2**31 else np.int64)
    codes[order] = codes_ordered
    joined = np.concatenate(uniques) if uniques else np.zeros(0, np.uint64)
    return codes, joined, first, np.array(bounds, dtype=np.int64)


def first_positions(codes: np.ndarray) -> np.ndarray:
    """Position of the first occurrence of each code, for codes numbered in order of
    first appearance (as ``pandas.factorize`` numbers them)."""
    if len(codes) == 0:
        return np.zeros(0, np.int64)
    # the first occurrence of code k is where the running maximum first reaches k
    running = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], running[1:] > running[:-1])))


class FeatureCounter:
    """Document counts per class of every feature seen, within ``capacity`` entries."""

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 1)
        self.table = {k: v[:0] for k, v in _empty().items()}
        self.bounds = np.zeros(PARTS + 1, dtype=np.int64)
        self.pending: list[tuple[dict, np.ndarray]] = []
        self.pending_size = 0
        self.threshold = 1  # a feature needs this many texts to stay (raised by pruning)
        self.n_pos = self.n_neg = 0

    def __len__(self) -> int:
        return len(self.table["hash"])

    def __repr__(self) -> str:
        return (f"FeatureCounter({len(self):,} features + {self.pending_size:,} waiting, "
                f"capacity {self.capacity:,}, threshold {self.threshold})")

    def add(self, entries: dict, bounds: np.ndarray, n_pos: int, n_neg: int) -> None:
        """Count one chunk: ``entries`` (arrays ``hash``, ``pos``, ``neg``, ``n``,
        ``chunk``, ``token``, one entry per distinct feature, grouped by partition as
        ``bounds`` says), and the chunk's positive and negative texts."""
        self.n_pos += int(n_pos)
        self.n_neg += int(n_neg)
        self.pending.append((entries, bounds))
        self.pending_size += len(entries["hash"])

    def full(self) -> bool:
        """Whether the waiting entries should be merged now: past half the capacity, so
        that a merge holds about 3 tables' worth. Each merge copies the table: the table
        is copied (capacity + waiting) / waiting times per entry counted, 3 (was 5 at a
        quarter: 2,100 merges of a million reviews under --max-memory 80M)."""
        return self.pending_size > self.capacity // 2

    def merge(self) -> None:
        """Fold the waiting chunks into the table, partition by partition, straight into
        arrays sized for the worst case (no partition is copied twice); prune past the
        capacity."""
        if self.pending:
            self.merge_in(self.take())

    def take(self) -> list:
        """The table and the waiting chunks, handed to :meth:`merge_in` (which a worker
        thread may run while chunks go on being added: they wait for the next merge; a
        second merge must wait for the first)."""
        sources = [(self.table, self.bounds)] + self.pending
        self.pending, self.pending_size = [], 0
        return sources

    def merge_in(self, sources: list) -> None:
        """The merge of :meth:`take`'s ``sources`` becomes the table."""
        size = sum(len(t["hash"]) for t, _ in sources)
        out = {k: np.empty(size, dtype=v.dtype) for k, v in _empty().items()}
        bounds = np.zeros(PARTS + 1, dtype=np.int64)
        fast = compiled()
        if fast is not None:  # the same merge in one compiled pass, and prune in place
            merged = tuple(out[k] for k in _FIELDS) + (bounds,)
            at = fast.merge_counts(tuple(tuple(t[k] for k in _FIELDS) + (b,)
                                         for t, b in sources), merged)
            if at > self.capacity:  # prune's rule in two passes: 2/3 of the merges' time
                at, self.threshold = fast.prune_counts(merged, at, int(self.capacity * 0.75),
                                                       self.threshold)
        else:
            at = _merge_partitions(sources, out, bounds)
        sources.clear()  # the old table and the chunks (a caller may hold the list)
        for v in out.values():  # sized for the worst case: shrunk in place (no copy)
            v.resize(at, refcheck=False)
        self.table = out
        self.bounds = bounds
        if len(self) > self.capacity:
            self.prune(int(self.capacity * 0.75))

    def prune(self, size: int) -> None:
        """Keep at most ``size`` entries: raise the threshold until the rest fit."""
        total = self.table["pos"] + self.table["neg"]
        hist = np.bincount(np.minimum(total, 1 << 20))
        at_least = np.cumsum(hist[::-1])[::-1]  # entries with each count or more
        fits = np.flatnonzero(at_least <= size)
        self.threshold = max(self.threshold, int(fits[0]) if len(fits) else len(hist))
        keep = total >= self.threshold
        kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        self.bounds = kept_before[self.bounds]
        self.table = {k: v[keep] for k, v in self.table.items()}

    def finish(self, min_count: int, polarity_cutoff: float = 0.0,
               max_features: int = 0) -> dict:
        """The kept features: at least ``min_count`` texts, ``|polarity|`` at least the
        cutoff, the ``max_features`` most frequent (0: all); unigrams first, then bigrams,
        ..., each in order of first appearance."""
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
            rank = np.lexsort((t["token"][kept], t["chunk"][kept], -total[kept]))
            kept = kept[rank[:max_features]]
        kept = kept[np.lexsort((t["token"][kept], t["chunk"][kept], t["n"][kept]))]
        return {k: v[kept] for k, v in t.items()}


def _merge_partitions(sources: list, out: dict, bounds: np.ndarray) -> int:
    """:meth:`FeatureCounter.merge_in`'s merge with numpy and pandas, partition by
    partition, into ``out`` (and its ``bounds``); return the entries written."""
    import pandas as pd

    at = 0
    for p in range(PARTS):
        pieces = [(t, b[p], b[p + 1]) for t, b in sources if b[p + 1] > b[p]]
        if len(pieces) == 1:
            t, lo, hi = pieces[0]
            for k in _FIELDS:
                out[k][at:at + hi - lo] = t[k][lo:hi]
            at += hi - lo
        elif pieces:
            joined = {k: np.concatenate([t[k][lo:hi] for t, lo, hi in pieces])
                      for k in _FIELDS}
            codes, uniques = pd.factorize(joined["hash"])
            first = first_positions(codes)  # sources in order: the earliest sighting
            end = at + len(uniques)
            out["hash"][at:end] = uniques
            for k in ("pos", "neg"):
                out[k][at:end] = np.bincount(codes, weights=joined[k], minlength=len(uniques))
            for k in ("n", "chunk", "token"):
                out[k][at:end] = joined[k][first]
            at = end
        bounds[p + 1] = at
    return at


def _empty() -> dict:
    return {"hash": np.zeros(0, np.uint64), "pos": np.zeros(0, np.int32),
            "neg": np.zeros(0, np.int32), "n": np.zeros(0, np.int8),
            "chunk": np.zeros(0, np.int32), "token": np.zeros(0, np.int32)}


def polarity(pos, neg, n_pos, n_neg) -> np.ndarray:
    """Smoothed log of (positive share) / (negative share) of each feature's texts."""
    return (np.log((np.asarray(pos) + 1.0) / (n_pos + 1.0))
            - np.log((np.asarray(neg) + 1.0) / (n_neg + 1.0)))
