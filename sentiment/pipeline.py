"""From chunks of labelled texts to training rows: two passes, memory bounded by design.

Pass 1 reads each chunk once: hashes its n-grams (:func:`~sentiment.text.hash_corpus`),
counts each feature once per text into a bounded :class:`~sentiment.counting.FeatureCounter`
(training rows only), and keeps the chunk as local feature codes in a
:class:`~sentiment.rows.Spool` (in memory while it fits, on disk past that). The counts
become the :class:`~sentiment.vocab.Vocabulary`, its words read back from the chunks where
each feature was first seen. Pass 2 maps each kept chunk to vocabulary columns, applies
the input values, and scatters its training rows into shuffled shards; the validation rows
(a fixed, seeded subset of the rows, whatever the chunking) go to a set of their own. A
small file is the same code with a single chunk and a single shard, all in memory.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .counting import ENTRY_BYTES, FeatureCounter, first_positions
from .rows import ShardedRows, Spool, csr
from .settings import Settings
from .text import feature_tokens, hash_corpus, join_tokens
from .vocab import Vocabulary, count_matrix

#: memory for the cache, the counts and a chunk in flight, unless told otherwise
DEFAULT_MAX_MEMORY = 1 << 30
#: text per chunk, as a share of the memory budget: hashing a chunk takes ~25x its size
CHUNK_SHARE = 64


class Stopped(Exception):
    """A stop was requested while the rows were being prepared."""


@dataclass
class Prepared:
    """What training needs: the vocabulary, the training rows and the validation rows."""

    vocab: Vocabulary
    train: ShardedRows
    val: ShardedRows
    n_positive: int
    times: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)  # bytes in memory / on disk, the folder

    def __repr__(self) -> str:
        return f"Prepared({self.vocab!r}, train={self.train!r}, val={self.val!r})"


def validation_rows(rows: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Which of the rows numbered ``rows`` (0, 1, ... in file order) are held out.

    Each row's draw is a hash of its number and the seed (splitmix64), so the subset is the
    same whatever the chunk size, and about ``fraction`` of the rows.
    """
    if fraction <= 0:
        return np.zeros(len(rows), dtype=bool)
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 < fraction


def chunk_rows(row_bytes: float, max_memory: int = DEFAULT_MAX_MEMORY) -> int:
    """Rows per chunk for rows of about ``row_bytes`` bytes: a chunk of text is
    ``max_memory / CHUNK_SHARE`` (16 MB of the default), at least 1,000 rows."""
    return max(1000, int(max_memory / CHUNK_SHARE / row_bytes))


def chunks_of(texts: list[str], labels, size: int | None = None):
    """``(texts, labels)`` in slices of ``size`` texts (None: one slice)."""
    size = size or max(len(texts), 1)
    labels = np.asarray(labels, dtype=np.int8)
    for lo in range(0, max(len(texts), 1), size):
        yield texts[lo:lo + size], labels[lo:lo + size]


def prepare(chunks: Iterable, settings: Settings, *, vocab: Vocabulary | None = None,
            max_memory: int = DEFAULT_MAX_MEMORY, cache_dir=None, spool: Spool | None = None,
            threads: int | None = None, should_stop=None, progress=None) -> Prepared:
    """Run both passes over ``chunks`` (an iterable of ``(texts, labels)``).

    ``vocab``: encode with this vocabulary instead of counting one (to resume). The
    caller owns ``spool`` (and closes it, removing its cache); ``max_memory`` and
    ``cache_dir`` make one if it is not given. ``progress(step, rows)`` is called as rows
    go by; ``should_stop()`` is polled between chunks.
    """
    spool = spool or Spool(max_memory // 2, cache_dir)
    times = {"read": 0.0, "tokenize": 0.0, "vocabulary": 0.0, "encode": 0.0}
    counter = None if vocab is not None else FeatureCounter(
        max(max_memory // (4 * ENTRY_BYTES), 1 << 16))
    keys, n_rows, n_positive, n_labelled_positive, nnz = [], 0, 0, 0, 0
    t = time.perf_counter()
    for c, (texts, labels) in enumerate(chunks):
        times["read"] += time.perf_counter() - t
        _poll(should_stop)
        is_val = validation_rows(np.arange(n_rows, n_rows + len(texts)), settings.seed,
                                 settings.val_fraction)
        n_rows += len(texts)
        n_positive += int(labels[~is_val].sum())
        n_labelled_positive += int(labels.sum())
        nnz += _count_chunk(texts, labels, is_val, settings, counter, spool, c, times,
                            threads)
        keys.append(c)
        if progress is not None:
            progress("read", len(texts))
        t = time.perf_counter()
    times["read"] += time.perf_counter() - t
    if n_labelled_positive in (0, n_rows):
        only = "positive" if n_labelled_positive else "negative"
        raise ValueError(f"every label is {only} ({n_rows:,} rows); training needs both "
                         "positive and negative reviews")
    if counter is not None:
        t = time.perf_counter()
        vocab = _vocabulary(counter, settings, spool, keys)
        times["vocabulary"] += time.perf_counter() - t
    if len(vocab) == 0:
        raise ValueError("the vocabulary is empty: no feature occurs in at least "
                         f"min_count={settings.min_count} texts with |polarity| >= "
                         f"{settings.polarity_cutoff}; lower --min-count or "
                         "--polarity-cutoff")
    t = time.perf_counter()
    train, val = _encode(vocab, settings, spool, keys, nnz, should_stop, progress)
    times["encode"] = time.perf_counter() - t
    cache = {"memory_bytes": spool.in_memory, "disk_bytes": spool.on_disk,
             "folder": str(spool.dir) if spool.dir else None}
    return Prepared(vocab, train, val, n_positive, times, cache)


def _poll(should_stop) -> None:
    if should_stop is not None and should_stop():
        raise Stopped


def _count_chunk(texts, labels, is_val, settings, counter, spool, c, times, threads) -> int:
    """Pass 1 for one chunk: hash, count (training rows only), keep; return its entries."""
    import pandas as pd

    t = time.perf_counter()
    corpus = hash_corpus(texts, settings.ngrams, keep_text=counter is not None,
                         workers=threads)
    times["tokenize"] += time.perf_counter() - t
    t = time.perf_counter()
    codes, uniques = pd.factorize(corpus.hashes)
    corpus.hashes = None
    codes = codes.astype(np.int32 if len(uniques) < 2**31 else np.int64)
    X = count_matrix(corpus.rows, codes, (corpus.n_texts, len(uniques)))  # counts per text
    if counter is not None:
        lengths = np.diff(X.indptr)
        train_pos = np.repeat(~is_val & (labels > 0), lengths)
        train_neg = np.repeat(~is_val & (labels <= 0), lengths)
        pos = np.bincount(X.indices[train_pos], minlength=len(uniques))
        neg = np.bincount(X.indices[train_neg], minlength=len(uniques))
        seen = np.flatnonzero(pos + neg)  # features of validation rows only: not counted
        first = first_positions(codes)[seen]
        n = corpus.blocks[np.searchsorted(corpus.blocks[:, 0], first, side="right") - 1, 2]
        counter.add(uniques[seen], pos[seen], neg[seen], n, c, first,
                    int((~is_val & (labels > 0)).sum()), int((~is_val & (labels <= 0)).sum()))
        spool.put(f"text{c}", {"data": np.frombuffer(corpus.data, np.uint8),
                               "starts": corpus.starts, "ends": corpus.ends,
                               "docs": corpus.token_docs(), "blocks": corpus.blocks})
    del codes, corpus
    chunk = {"indptr": X.indptr, "indices": X.indices, "uniques": uniques,
             "labels": np.asarray(labels, np.int8), "val": is_val}
    if settings.values == "count":
        chunk["data"] = X.data
    spool.put(f"chunk{c}", chunk)
    times["vocabulary"] += time.perf_counter() - t
    return len(X.indices)


def _vocabulary(counter: FeatureCounter, settings: Settings, spool: Spool, keys) -> Vocabulary:
    """The kept features of ``counter``, their words read back from the chunks' text."""
    kept = counter.finish(settings.min_count, settings.polarity_cutoff,
                          settings.max_features)
    words = np.empty(len(kept["hash"]), dtype=object)
    for c in keys:
        text = spool.pop(f"text{c}")
        mine = np.flatnonzero(kept["chunk"] == c)
        if len(mine):
            first, n = feature_tokens(text["blocks"], text["docs"], kept["token"][mine])
            raw = join_tokens(text["data"], text["starts"], text["ends"], first, n)
            words[mine] = raw.decode("utf-8", "surrogatepass").split("\n")
    return Vocabulary(kept["hash"], words.tolist(), kept["pos"], kept["neg"], counter.n_pos,
                      counter.n_neg, settings.ngrams, settings.min_count,
                      settings.polarity_cutoff)


def _encode(vocab: Vocabulary, settings: Settings, spool: Spool, keys, nnz: int,
            should_stop, progress):
    """Pass 2: every kept chunk as vocabulary columns, scattered into shards."""
    budget = spool.budget if spool.dir is None else spool.budget // 4
    n_shards = max(1, -(-nnz * 8 // max(budget, 1)))  # 8 bytes an entry: index, value
    rng = np.random.default_rng([settings.seed, 1])  # its own stream: training's is intact
    train = ShardedRows(spool, n_shards, len(vocab), "train")
    val = ShardedRows(spool, 1, len(vocab), "val")
    for c in keys:
        _poll(should_stop)
        chunk = spool.pop(f"chunk{c}")
        ids = vocab.lookup(chunk["uniques"])
        new = ids[chunk["indices"]]
        present = np.flatnonzero(new >= 0)
        indptr = np.searchsorted(present, chunk["indptr"]).astype(np.int64)
        indices = new[present].astype(np.int32)
        data = chunk["data"][present] if "data" in chunk \
            else np.ones(len(present), np.float32)
        data = vocab.input_values(settings.values, data, indices).astype(np.float32)
        X = csr(indptr, indices, data, len(vocab))
        y = chunk["labels"].astype(np.float32)
        is_val = chunk["val"]
        for rows, part in ((train, ~is_val), (val, is_val)):
            if part.any():
                sub = X[np.flatnonzero(part)] if not part.all() else X
                if rows is train:
                    rows.scatter(rng, sub.indptr, sub.indices, sub.data, y[part])
                else:
                    rows.add(0, sub.indptr, sub.indices, sub.data, y[part])
        if progress is not None:
            progress("encode", len(y))
    return train, val
