"""From chunks of labelled texts to training rows: two passes, memory bounded by design.

Pass 1 reads each chunk once: hashes its n-grams
(:func:`~sentiment.features.tokens.hash_corpus`), counts each feature once per text into a
bounded :class:`~sentiment.features.counting.FeatureCounter` (training rows only), and keeps the
chunk as local feature codes in a :class:`~sentiment.training.spool.Spool` (in memory, then on
disk past its budget). The counts become the :class:`~sentiment.features.vocab.Vocabulary`, its
words read back from the chunks where each feature was first seen. Pass 2 maps each kept chunk
to vocabulary columns, applies the input values, and scatters its training rows into shuffled
shards; the validation rows (a fixed, seeded subset of the rows, whatever the chunking) go to a
set of their own. A small file is the same code: one chunk, one shard, all in memory.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from threading import Thread

import numpy as np

from ..errors import DataError, StopRequested
from ..features.counting import FeatureCounter
from ..features.tokens import join_tokens
from ..features.vocab import Vocabulary
from ..memory import give_back_freed_memory, release_freed_memory
from ..model.scoring import prefetch
from ..native.loops import compiled
from .budget import DEFAULT_MAX_MEMORY, Budget
from .chunks import chunk_matrix, hash_rows, keep_rows
from .settings import Settings
from .spool import ShardedRows, Spool

#: chunks hashed at once on worker threads while the main thread reads and counts: with
#: two, pass 1 on IMDB took 0.76x the time of one chunk after the other
AHEAD = 2


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


def chunks_of(texts: list[str], labels, size: int | None = None):
    """``(texts, labels)`` in slices of ``size`` texts (None: one slice)."""
    labels = np.asarray(labels, dtype=np.int8)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    size = size or max(len(texts), 1)
    for lo in range(0, max(len(texts), 1), size):
        yield texts[lo:lo + size], labels[lo:lo + size]


def prepare(chunks: Iterable, settings: Settings, spool: Spool, *,
            vocab: Vocabulary | None = None, max_memory: int = DEFAULT_MAX_MEMORY,
            threads: int | None = None, should_stop=None, progress=None,
            n_train: int | None = None, strict: bool = True, classes=None) -> Prepared:
    """Run both passes over ``chunks`` (an iterable of ``(texts, labels)``).

    The rows wait in ``spool``, which the caller closes (removing its cache): its budget
    is a quarter of ``max_memory``, the counts take another. ``vocab``: encode with this
    vocabulary instead of counting one (to resume); ``n_train``: the training rows the
    resumed run had, checked before the second pass. ``progress(step, rows)`` is called as
    rows go by; ``should_stop()`` is polled between chunks. Raises :class:`DataError` when
    the data cannot train a model (unless not ``strict``: one class, or no feature, is
    then no error). ``classes``: a :class:`~sentiment.io.labels.ClassTable` for K classes,
    the labels being its codes (in order of first sight; put in natural order in pass 2).
    """
    times = {"read": 0.0, "tokenize": 0.0, "vocabulary": 0.0, "encode": 0.0}
    # pass 2's scipy matrices: imported while the first chunk is read, not by a worker
    Thread(target=__import__, args=("scipy.sparse",), daemon=True).start()
    counter = None if vocab is not None else FeatureCounter(
        Budget(max_memory).counter_entries())
    tally = Tally(settings, classes is not None)
    keys, nnz = count_pass(chunks, settings, spool, counter, tally, times, threads=threads,
                           should_stop=should_stop, progress=progress, max_memory=max_memory)
    train_rows = tally.n_rows - tally.n_val
    remap = None if classes is None else classes.remap()
    if strict:
        tally.check()
    n_positive = tally.n_positive if classes is None else 0  # K classes: no positive one
    if n_train is not None and n_train != train_rows:
        raise DataError(f"the checkpoint was trained on {n_train:,} reviews, this file gives "
                        f"{train_rows:,}; resume with the same file")
    if counter is not None:
        t = time.perf_counter()
        def ask(c, tokens, n):
            words = words_of(spool, c, tokens, n)
            spool.discard(f"text{c}")  # not needed again: 1M reviews' text is 3 GB
            return words

        vocab = vocabulary_from_counts(counter, settings.for_vocabulary(train_rows), ask)
        for key in [k for k in spool.keys() if k.startswith("text")]:
            spool.discard(key)  # the chunks where no kept feature was first seen
        times["vocabulary"] += time.perf_counter() - t
    if strict:
        check_vocabulary(len(vocab), settings)
    t = time.perf_counter()
    if remap is not None and settings.values == "nb":
        vocab.set_class_scale(class_counts(vocab, spool, keys, remap))
    train, val = encode_rows(vocab, settings, spool, keys, nnz, should_stop, progress, remap,
                             _ahead(threads))
    vocab.forget_lookups()
    times["encode"] = time.perf_counter() - t
    cache = {"memory_bytes": spool.in_memory, "disk_bytes": spool.peak_on_disk,
             "folder": str(spool.dir) if spool.dir else None,
             "count_threshold": counter.threshold if counter is not None else None}
    give_back_freed_memory()  # what pass 1 freed: the epochs and the test file need it
    return Prepared(vocab, train, val, n_positive, times, cache)


def count_pass(chunks: Iterable, settings: Settings, spool: Spool,
               counter: FeatureCounter | None, tally: Tally, times: dict, *,
               threads: int | None = None, should_stop=None, progress=None,
               max_memory: int = DEFAULT_MAX_MEMORY) -> tuple[list, int]:
    """Pass 1: each chunk hashed, its training rows counted into ``counter`` (None: not
    counted, the vocabulary is known), the chunk kept in ``spool``; ``tally`` sees every
    chunk's labels, ``times`` gets the seconds of each step; ``max_memory``: the job's
    budget, which sets how the allocator gives memory back once the rows spill to disk.
    Returns the spool's keys of the chunks and their nonzeros."""
    keys, nnz = [], 0
    released = False
    start = time.perf_counter()
    merging: list = []  # the counts being merged on the merger thread

    def merged():
        if merging:
            t = time.perf_counter()
            merging.pop().result()
            times["vocabulary"] += time.perf_counter() - t

    # chunks are hashed on worker threads (side by side, each on one thread) while the
    # next is read and the one before is counted, and the counts merged on a thread of
    # their own: hashing, factorizing and sorting release the GIL, so both cores work
    ahead = _ahead(threads)

    def read():
        """(chunk number, rows, the arguments of its :func:`hash_rows`) of each chunk."""
        t = time.perf_counter()
        for c, (texts, labels) in enumerate(chunks):
            times["read"] += time.perf_counter() - t
            _poll(should_stop)
            is_val, counted = tally.add(labels)
            yield c, len(texts), (texts, labels, counted, is_val, settings,
                                  counter is not None, c, 1 if ahead > 1 else threads)
            t = time.perf_counter()
        times["read"] += time.perf_counter() - t

    with ThreadPoolExecutor(1) as merger:
        for (c, n_rows, _), parts in prefetch(lambda item: hash_rows(*item[2]), read(),
                                              ahead):
            done, made = keep_rows(parts, counter, spool, c, times)
            nnz += done
            keys.extend(made)
            if spool.dir is not None and not released:
                release_freed_memory(max_memory)  # larger than memory: bound it over speed
                released = True
            if counter is not None and counter.full():  # the chunk's temporaries are gone
                merged()  # one merge at a time: each folds in the table the last one made
                if ahead > 1:  # beside the hashing
                    merging.append(merger.submit(counter.merge_in, counter.take()))
                else:
                    t = time.perf_counter()
                    counter.merge()
                    times["vocabulary"] += time.perf_counter() - t
            if progress is not None:
                progress("read", n_rows)
        merged()
    # the workers' seconds overlap: shown as their shares of the wall time past reading
    work = times["tokenize"] + times["vocabulary"]
    wall = time.perf_counter() - start - times["read"]
    if work > wall > 0:
        times["tokenize"] *= wall / work
        times["vocabulary"] *= wall / work
    return keys, nnz


class Tally:
    """What the chunks of a file hold, row by row as they go by: which rows are held out
    for validation (:func:`validation_rows` of their numbers), and how many of each
    label the training rows have (``multiclass``: per class code)."""

    def __init__(self, settings: Settings, multiclass: bool = False):
        self.seed, self.fraction = settings.seed, settings.val_fraction
        self.multiclass = multiclass
        self.n_rows = self.n_val = self.n_positive = self.n_labelled_positive = 0
        self.per_class = np.zeros(256, dtype=np.int64)  # K classes: training rows

    def add(self, labels) -> tuple[np.ndarray, np.ndarray]:
        """The next chunk's labels: (which rows are held out, what pass 1 counts as
        positive: the labels, or every text for K classes)."""
        labels = np.asarray(labels, dtype=np.int8) if not self.multiclass else labels
        is_val = validation_rows(np.arange(self.n_rows, self.n_rows + len(labels)),
                                 self.seed, self.fraction)
        self.n_rows += len(labels)
        self.n_val += int(is_val.sum())
        if self.multiclass:
            self.per_class += np.bincount(labels[~is_val], minlength=256)
            return is_val, np.ones(len(labels), np.int8)  # texts, not classes
        self.n_positive += int(labels[~is_val].sum())
        self.n_labelled_positive += int(labels.sum())
        return is_val, labels

    def check(self) -> None:
        """:func:`check_balance` of what went by."""
        check_balance(self.n_rows, self.n_val, self.n_positive, self.n_labelled_positive,
                      self.per_class if self.multiclass else None)


def check_vocabulary(size: int, settings: Settings) -> None:
    """Raise :class:`DataError` when no feature was kept."""
    if size == 0:
        raise DataError("the vocabulary is empty: no feature occurs in at least "
                        f"min_count={settings.min_count} texts with |polarity| >= "
                        f"{settings.polarity_cutoff}; lower --min-count or "
                        "--polarity-cutoff")


def check_balance(n_rows: int, n_val: int, n_positive: int, n_labelled_positive: int,
                  per_class: np.ndarray | None = None) -> None:
    """Raise :class:`DataError` unless the training rows hold two classes or more
    (``per_class``: K classes' training rows; else the positive ones among the training
    rows, and among all rows)."""
    train_rows = n_rows - n_val
    if per_class is not None:
        if np.count_nonzero(per_class) < 2:
            raise DataError(f"the training rows ({train_rows:,} of {n_rows:,}) hold "
                            f"{np.count_nonzero(per_class)} class; training needs two or more")
    elif n_labelled_positive in (0, n_rows):
        only = "positive" if n_labelled_positive else "negative"
        raise DataError(f"every label is {only} ({n_rows:,} rows); training needs both "
                        "positive and negative reviews")
    elif train_rows == 0 or n_positive in (0, train_rows):
        raise DataError(f"the training rows ({train_rows:,} of {n_rows:,}; the rest are held "
                        "out for validation) need both positive and negative reviews; add "
                        "rows or lower --val-fraction")


def fit_vocabulary(texts, labels, *, ngrams: int = 1, min_count: int = 1,
                   polarity_cutoff: float = 0.0, binary: bool = True, negation: int = 0,
                   smoothing: float = 1.0):
    """A vocabulary fit on all of ``texts`` (labels 0/1) and the texts encoded by it, as a
    CSR matrix in the order of the texts: :func:`prepare` with no validation rows, one
    chunk, no cap on features, binary (or count) values, no negation unless asked, the
    naive-Bayes ratios smoothed by ``smoothing`` (NBSVM's alpha)."""
    settings = Settings(ngrams=ngrams, min_count=min_count, polarity_cutoff=polarity_cutoff,
                        values="binary" if binary else "count", val_fraction=0.0,
                        max_features=0, negation=negation, smoothing=smoothing)
    with Spool(1 << 62) as spool:
        ready = prepare(chunks_of(list(texts), labels), settings, spool, strict=False)
        X, _ = ready.train.load(0)
    return ready.vocab, X


def _ahead(threads: int | None) -> int:
    """Chunks worked on at once (``threads``: at most that many; default: every core)."""
    return max(1, min(AHEAD, threads or os.cpu_count() or 1))


def _poll(should_stop) -> None:
    if should_stop is not None and should_stop():
        raise StopRequested


def vocabulary_from_counts(counter: FeatureCounter, settings: Settings, ask_words,
                           fetch=None) -> Vocabulary:
    """The vocabulary of ``counter``'s kept features (min count, polarity, the cap), on
    either route: their words read back where each was first seen, ``ask_words(chunk,
    tokens, n)`` giving the words of chunk ``chunk``'s features (bytes, one per line), or
    what ``fetch`` turns into them (a cluster asks every worker first, then gathers)."""
    kept = counter.finish(settings.min_count, settings.polarity_cutoff,
                          settings.max_features)
    # each chunk's words as bytes, then put in the vocabulary's order: no Python string
    # per feature (IMDB has 840k of them)
    asked = []
    for c in np.unique(kept["chunk"]).tolist():
        mine = np.flatnonzero(kept["chunk"] == c)
        asked.append((mine, ask_words(c, kept["token"][mine], kept["n"][mine])))
    lines = [(mine, words if fetch is None else fetch(words)) for mine, words in asked]
    return vocabulary_of(kept, interleave_lines(lines, len(kept["hash"])), counter, settings)


def interleave_lines(parts: list[tuple[np.ndarray, bytes]], total: int) -> bytes:
    """One text of ``total`` lines from ``parts``: (the positions of its lines, those
    lines joined by newlines), the positions of all parts together being 0..total-1."""
    if total == 0:
        return b""
    if (fast := compiled()) is not None:
        return fast.interleave_lines(tuple((np.asarray(w, np.int64), raw) for w, raw in parts),
                                     total)
    length = np.empty(total, np.int64)
    bufs = []
    for where, raw in parts:
        buf = np.frombuffer(raw, np.uint8)
        ends = np.append(np.flatnonzero(buf == 10), len(buf))
        length[where] = np.diff(ends, prepend=-1) - 1
        bufs.append((where, buf))
    start = np.cumsum(length + 1) - (length + 1)  # every line followed by a newline
    out = np.full(int(start[-1] + length[-1] + 1), 10, np.uint8)
    for where, buf in bufs:
        # the lines of this part are read in order, each written at its start
        size = length[where] + 1
        shift = np.repeat(start[where] - (np.cumsum(size) - size), size)[:len(buf)]
        out[shift + np.arange(len(buf))] = buf
    return out[:-1].tobytes()


def vocabulary_of(kept: dict, words: bytes, counter: FeatureCounter,
                  settings: Settings) -> Vocabulary:
    """The :class:`Vocabulary` of the ``kept`` entries of ``counter`` and their words
    (one per line, UTF-8)."""
    return Vocabulary(kept["hash"], words, kept["pos"], kept["neg"], counter.n_pos,
                      counter.n_neg, settings.ngrams, settings.min_count,
                      settings.polarity_cutoff, settings.negation,
                      smoothing=settings.for_vocabulary(None).smoothing)


def words_of(spool: Spool, c: int, tokens: np.ndarray, n: np.ndarray) -> bytes:
    """The words of features first seen in chunk ``c``, from their first token and n, one
    per line (UTF-8); the chunk's tokens are kept one per line (:func:`token_lines`)."""
    data = spool.get(f"text{c}")["data"]
    ends = np.flatnonzero(data == ord("\n"))
    offset = np.int32 if len(data) < 2**31 else np.int64
    starts = np.concatenate(([0], ends + 1)).astype(offset)
    ends = np.append(ends, len(data)).astype(offset)
    return join_tokens(data, starts, ends, tokens, n)


def class_counts(vocab: Vocabulary, spool: Spool, keys, remap: np.ndarray) -> np.ndarray:
    """In how many training texts of each class each feature occurs (vocabulary x K)."""
    k = len(remap)
    counts = np.zeros(len(vocab) * k, dtype=np.int64)
    for key in keys:
        if key.startswith("train"):
            chunk = spool.get(key)
            ids = vocab.lookup(chunk["uniques"])[chunk["indices"]]
            y = np.repeat(remap[chunk["labels"]], np.diff(chunk["indptr"]))
            present = ids >= 0
            counts += np.bincount(ids[present] * k + y[present], minlength=len(counts))
    return counts.reshape(len(vocab), k)


def encode_rows(vocab: Vocabulary, settings: Settings, spool: Spool, keys, nnz: int,
                should_stop=None, progress=None, remap=None, threads: int = 2):
    """Pass 2: every kept chunk as vocabulary columns, scattered into shards (``remap``:
    K classes' codes to their positions; ``threads``: chunks looked up at once)."""
    # on disk, a shard is half the spool's budget (a quarter made 1,040 shards of 1M
    # reviews under --max-memory 80M, a million writes of a few KB in pass 2)
    budget = spool.budget if spool.dir is None else spool.budget // 2
    n_shards = max(1, -(-nnz * 8 // max(budget, 1)))  # 8 bytes an entry: index, value
    rng = np.random.default_rng([settings.seed, 1])  # its own stream: training's is intact
    train = ShardedRows(spool, n_shards, len(vocab), "train-shard")
    val = ShardedRows(spool, 1, len(vocab), "val-shard")
    def popped():
        for key in keys:
            _poll(should_stop)
            yield key, spool.pop(key)

    # the next chunks' columns are looked up on two worker threads while this one is
    # scattered: pass 2 on IMDB took 0.49 s instead of 0.80 s
    for (key, chunk), X in prefetch(lambda item: chunk_matrix(vocab, settings.values, item[1]),
                                    popped(), ahead=threads):
        y = (chunk["labels"] if remap is None else remap[chunk["labels"]]).astype(np.float32)
        if key.startswith("train"):  # written the spool's budget at a time
            if train.deal(rng, X.indptr, X.indices, X.data, y) > spool.budget:
                train.flush()
        else:
            val.add(0, X.indptr, X.indices, X.data, y)
        if progress is not None:
            progress("encode", len(y))
    train.flush()
    return train, val
