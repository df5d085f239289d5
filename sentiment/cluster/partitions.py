"""What a worker of a cluster does with its partitions of the data: plain functions of numpy
arrays that :mod:`sentiment.cluster.engine` sends to Dask workers (no Dask here).

A partition is a chunk of rows, read by the driver, sent to one worker and kept there:
pass 1 hashes and counts it (:func:`count_partition`) exactly as one process counts a
chunk (:func:`sentiment.training.chunks.count_rows`); the counts are merged pairwise up a tree
(:func:`combine`), the words of the kept features read back where they were first seen
(:func:`words`), and each partition encoded with the vocabulary (:func:`encode`). A
worker's encoded partitions are then stacked into its rows (:func:`stack`), on which each
round of training runs from the weights the driver sends (:func:`train_round`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..features.counting import FeatureCounter
from ..training.budget import Budget
from ..training.chunks import count_rows
from ..training.pipeline import Tally, class_counts, encode_rows, words_of
from ..training.settings import Settings
from ..training.spool import Spool
from . import changes


@dataclass
class Partition:
    """One chunk's rows after pass 1, kept on the worker that counted it."""

    index: int
    spool: Spool
    keys: list[str]
    nnz: int
    counts: "Counts"
    tally: dict = field(default_factory=dict)  # what its rows hold (read by a worker)


@dataclass
class Counts:
    """A feature table (:class:`~sentiment.features.counting.FeatureCounter` entries) in flight."""

    table: dict
    bounds: np.ndarray
    n_pos: int = 0
    n_neg: int = 0
    threshold: int = 1
    capacity: int = 1 << 20

    def counter(self) -> FeatureCounter:
        """A counter holding this table as it is (it was merged and pruned already)."""
        counter = FeatureCounter(self.capacity)
        counter.table, counter.bounds = self.table, self.bounds
        counter.n_pos, counter.n_neg, counter.threshold = self.n_pos, self.n_neg, self.threshold
        return counter


@dataclass
class Rows:
    """A worker's training and validation rows, CSR with labels."""

    X: object
    y: np.ndarray
    X_val: object
    y_val: np.ndarray
    info: dict = field(default_factory=dict)


def count_partition(index: int, texts: list[str], labels: np.ndarray, counted: np.ndarray,
                    is_val: np.ndarray, settings: Settings, max_memory: int) -> Partition:
    """Pass 1 of one chunk: hash its texts, count the training rows' features, keep all."""
    counter = FeatureCounter(Budget(max_memory).partition_counter_entries())
    spool = Spool(1 << 62)
    times = dict.fromkeys(("read", "tokenize", "vocabulary", "encode"), 0.0)
    nnz, keys = count_rows(texts, np.asarray(labels, np.int8), counted, is_val, settings,
                           counter, spool, index, times, threads=1)
    return Partition(index, spool, keys, nnz, _counts_of(counter))


def count_read(read, index: int, offset: int, settings: Settings,
               max_memory: int) -> Partition:
    """Pass 1 of a part a worker read (:class:`sentiment.cluster.remote.PartRead`) whose rows are
    the file's rows ``offset``, ``offset + 1``, ...: held out for validation as one
    process holds them out (:func:`sentiment.training.pipeline.validation_rows` of their numbers),
    the rest counted."""
    tally = Tally(settings)
    tally.n_rows = offset
    labels = np.asarray(read.reviews.labels, np.int8)
    is_val, counted = tally.add(labels)
    partition = count_partition(index, read.reviews.texts, labels, counted, is_val,
                                settings, max_memory)
    partition.tally = {"n_val": tally.n_val, "n_positive": tally.n_positive,
                       "n_labelled_positive": tally.n_labelled_positive}
    return partition


def tally_of(partition: Partition) -> dict:
    return partition.tally


def counts(partition: Partition) -> Counts:
    return partition.counts


def combine(a: Counts, b: Counts) -> Counts:
    """The counts of ``a`` and ``b`` together (``a`` from earlier rows: a feature's first
    sighting stays the earliest), pruned to the capacity as one process prunes."""
    counter = a.counter()
    counter.threshold = max(a.threshold, b.threshold)
    counter.add(b.table, b.bounds, b.n_pos, b.n_neg)
    counter.merge()
    return _counts_of(counter)


def _counts_of(counter: FeatureCounter) -> Counts:
    counter.merge()
    return Counts(counter.table, counter.bounds, counter.n_pos, counter.n_neg,
                  counter.threshold, counter.capacity)


def words(partition: Partition, tokens: np.ndarray, n: np.ndarray) -> bytes:
    """The words of the features first seen in this partition, one per line, UTF-8 (one
    object: Dask would serialize a list of strings one string at a time)."""
    return words_of(partition.spool, partition.index, tokens, n)


def partition_class_counts(partition: Partition, vocab, remap: np.ndarray) -> np.ndarray:
    """K classes: in how many of this partition's training texts each feature occurs."""
    return class_counts(vocab, partition.spool, partition.keys, remap)


def encode(partition: Partition, vocab, settings: Settings, remap=None) -> Rows:
    """Pass 2 of one partition: its rows as vocabulary columns, with their input values."""
    for key in [k for k in partition.spool.keys() if k.startswith("text")]:
        partition.spool.discard(key)
    train, val = encode_rows(vocab, settings, partition.spool, partition.keys,
                             partition.nnz, remap=remap, threads=1)
    X, y = _rows_of(train, len(vocab))
    X_val, y_val = _rows_of(val, len(vocab))
    return Rows(X, y, X_val, y_val)


def _rows_of(rows, n_inputs: int):
    """(CSR matrix, labels) of a one-shard set, empty if nothing was added to it."""
    if rows.n_rows == 0:
        import scipy.sparse as sp

        return sp.csr_matrix((0, n_inputs), dtype=np.float32), np.zeros(0, np.float32)
    return rows.load(0)


def stack(*parts: Rows) -> Rows:
    """A worker's partitions as one set of rows."""
    import scipy.sparse as sp

    def join(name):
        mats = [getattr(p, name) for p in parts]
        return sp.vstack(mats, format="csr", dtype=np.float32) if mats else None

    rows = Rows(join("X"), np.concatenate([p.y for p in parts]), join("X_val"),
                np.concatenate([p.y_val for p in parts]))
    rows.info["binary"] = bool(rows.X.nnz == 0 or rows.X.data.min() == 1 == rows.X.data.max())
    return rows


def train_round(rows: Rows, params: dict, optimizer: dict, settings: Settings, lr: float,
                epoch: int, round_: int, rounds: int, worker: int) -> dict:
    """One round on this worker: the ``round_``-th of ``rounds`` slices of this epoch's
    shuffle of its rows, trained from ``params`` (and the optimizer's ``state``).

    The shuffle is drawn from (seed, epoch, worker), the same for every round of an
    epoch, so the rounds of an epoch visit each row once. Returns the new weights and
    optimizer state, and the loss and hits of each row as it was seen.
    """
    from ..nn.network import Network
    from ..nn.optim import make_optimizer
    from ..training.batches import BatchState, accuracy, mean_loss, run_epoch

    n = rows.X.shape[0]
    order = np.random.default_rng([settings.seed, epoch, worker]).permutation(n)
    piece = order[round_ * n // rounds:(round_ + 1) * n // rounds]
    net = Network.from_params({k: np.array(v, dtype=np.float32) for k, v in params.items()},
                              settings.activation)
    opt = make_optimizer(settings.optimizer, lr)
    opt.load_state_arrays(optimizer)
    if not len(piece):
        return {"params": net.params(), "optimizer": opt.state_arrays(), "n": 0,
                "loss": 0.0, "hits": 0.0}
    state = BatchState(rows.X.shape[1], binary=rows.info.get("binary", False))
    rng = np.random.default_rng([settings.seed, epoch, worker, round_, 1])  # dropout
    X, y = rows.X[piece], rows.y[piece]
    state.logits = np.empty(len(piece) if net.n_classes == 2 else (len(piece), net.n_classes),
                            dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        run_epoch(net, X, y, settings, opt, rng, state, _NoBar())
        loss = mean_loss(state.logits, y, settings.loss)
    return {"params": net.params(), "optimizer": opt.state_arrays(), "n": len(piece),
            "loss": loss * len(piece), "hits": accuracy(state.logits, y) * len(piece)}


def train_round_change(rows: Rows, sent: tuple, settings: Settings, lr: float, epoch: int,
                 round_: int, rounds: int, how: str, worker: int) -> dict:
    """:func:`train_round` from the weights and optimizer state ``sent``, returned as
    the sparse change it made (:func:`sentiment.cluster.changes.change_of`) with its loss,
    hits and size in bytes."""
    params, optimizer = sent
    done = train_round(rows, params, optimizer, settings, lr, epoch, round_, rounds, worker)
    change = changes.change_of(params, done["params"], optimizer, done["optimizer"],
                               done["n"], how)
    change.update(loss=done["loss"], hits=done["hits"])
    change["bytes"] = changes.nbytes(change)
    return change


def add_changes(a: dict, b: dict) -> dict:
    """Two workers' changes as one (:func:`sentiment.cluster.changes.add`), their losses too."""
    both = changes.add(a, b)
    both = dict(both, loss=a["loss"] + b["loss"], hits=a["hits"] + b["hits"])
    both["bytes"] = changes.nbytes(both)
    return both


def val_logits(rows: Rows, params: dict, activation: str) -> np.ndarray:
    """The logits of this worker's validation rows under ``params``."""
    from ..nn.network import Network

    if rows.X_val.shape[0] == 0:
        k = np.asarray(params["b2"]).reshape(-1).size
        return np.zeros(0 if k == 1 else (0, k), np.float32)
    return Network.from_params(params, activation).logits(rows.X_val)


def val_labels(rows: Rows) -> np.ndarray:
    return rows.y_val


class _NoBar:
    """A progress bar that shows nothing (a worker's progress is the driver's to show)."""

    def update(self, n: int) -> None:
        pass
