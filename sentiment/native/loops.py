"""Which loops run: the compiled accelerator (``sentiment.native._fast``) or numpy and scipy.

The accelerator is built from ``sentiment/native/_fast.c`` when the package is installed and a C
compiler is there; without it, or with the environment variable ``SENTIMENT_PURE=1``, the
package runs the same steps with numpy and scipy (every step has that path, tested against
the compiled one in tests/test_fast.py). What it covers, and what it measured:
docs/benchmarks.md ("Compiled loops").
"""
from __future__ import annotations

import os

import numpy as np

try:  # built by setup.py when a compiler was found
    from . import _fast as _compiled
except ImportError:  # pragma: no cover - depends on the install
    _compiled = None

#: rows per call of the compiled epoch: between calls the trainer updates its progress bar
#: and checks for Ctrl-C
SLICE_ROWS = 4096


def compiled():
    """The compiled module, or None (not built, or ``SENTIMENT_PURE=1``)."""
    if os.environ.get("SENTIMENT_PURE", "").strip() not in ("", "0"):
        return None
    return _compiled


def describe() -> str:
    """One line for reports: which loops are used."""
    if _compiled is None:
        return "numpy/scipy (the compiled loops were not built)"
    return "numpy/scipy (SENTIMENT_PURE set)" if compiled() is None else "compiled loops"


def hash_normalized(fast, data: bytes, n_texts: int, n: int, keep_text: bool,
                    negation: int, mix: bool, scripts: bool, cues, stops, modals, undo,
                    free) -> dict:
    """:func:`sentiment.features.tokens._hash_chunk` on the normalized ``data`` (``n_texts`` texts
    separated by NUL bytes) in the compiled loops: the same tokens, hashes, negation scopes
    (``cues``/``stops``/``modals``/``undo``/``free``: the hashes of sentiment.features.negation's
    word lists) and n-grams (``mix``: every hash mixed; ``scripts``: tokens by Unicode
    script and emoticons, as the rule says). The features
    of every n are written into one array (``whole``: hashes and texts, with their
    ``blocks`` as :class:`~sentiment.features.tokens.HashedCorpus` has them), the lists being views
    of it."""
    # room for as many tokens as bytes, and as many k-grams of each n (pages never
    # written take no memory: only address space, 12 n + 9 bytes a byte of text, which a
    # strict overcommit or ulimit -v would count), shrunk in place once counted: no pass
    # to count them first. The tokens' own hashes and texts are the first block.
    cap = len(data)
    starts, ends = np.empty(cap, np.int32), np.empty(cap, np.int32)  # data is under 2 GB
    inside = np.empty(cap, np.uint8) if negation else None
    none = np.zeros(0, np.uint64)
    hashes, rows = np.empty(cap * n, np.uint64), np.empty(cap * n, np.int32)
    t = fast.tokens(data, negation, mix, scripts, *(none if w is None else w
                                      for w in (cues, stops, modals, undo, free)),
                    starts, ends, hashes[:cap], rows[:cap], inside)
    for a in (starts, ends) if inside is None else (starts, ends, inside):
        a.resize(t, refcheck=False)
    n_tokens = np.bincount(rows[:t], minlength=n_texts)
    sizes = [t] + [int(np.maximum(n_tokens - (k - 1), 0).sum()) for k in range(2, n + 1)]
    at = np.concatenate(([0], np.cumsum(sizes)))
    for k in range(2, n + 1):  # from the unigrams' hashes, negation bit still clear
        fast.ngrams(hashes[:t], rows[:t], inside, k, mix, hashes[at[k - 1]:at[k]],
                    rows[at[k - 1]:at[k]])
    if negation:
        np.bitwise_or(hashes[:t], inside, out=hashes[:t])
    for a in (hashes, rows):
        a.resize(at[-1], refcheck=False)
    blocks = np.array([(at[k], sizes[k], k + 1, 0, t) for k in range(n)], np.int64)
    out = {"hashes": [hashes[at[k]:at[k + 1]] for k in range(n)],
           "rows": [rows[at[k]:at[k + 1]] for k in range(n)], "n_tokens": n_tokens,
           "whole": (hashes, rows), "blocks": blocks.reshape(-1, 5)}
    if keep_text:
        out.update(data=data, starts=starts, ends=ends)
    return out


def factorize(fast, keys: np.ndarray):
    """``features.counting.factorize`` in the compiled loops (the same four arrays)."""
    n = len(keys)
    codes, uniques = np.empty(n, np.int32), np.empty(n, np.uint64)
    first, bounds = np.empty(n, np.int64), np.empty(257, np.int64)
    u = fast.factorize(np.ascontiguousarray(keys, dtype=np.uint64), codes, uniques, first,
                       bounds)
    for a in (uniques, first):  # sized for the worst case: shrunk in place (realloc)
        a.resize(u, refcheck=False)
    return codes, uniques, first, bounds


class Rows:
    """CSR arrays (``indptr``, ``indices``, ``data``) and their ``shape``, as a scipy matrix
    holds them: what pass 1 needs, without importing scipy."""

    def __init__(self, indptr, indices, data, shape):
        self.indptr, self.indices, self.data, self.shape = indptr, indices, data, shape


def rows_arrays(fast, rows, cols, negated, shape, binary, ordered=False, positive=None,
                counts=None) -> Rows:
    """:func:`rows_matrix`'s arrays, as :class:`Rows`; each row's columns in order of
    first occurrence unless ``ordered`` (which sorts each row's few columns). With
    ``positive`` (a flag per row), ``counts`` (int32 zeros, twice the columns) gets in how
    many rows each column counts for the positive class, then the negative one (a row's
    own class, the other where its value is negative)."""
    n = len(rows)
    indptr = np.empty(shape[0] + 1, np.int32)
    indices, data = np.empty(n, np.int32), np.empty(n, np.float32)
    nnz = fast.rows_matrix(np.ascontiguousarray(rows, dtype=np.int32),
                           np.ascontiguousarray(cols, dtype=np.int32), negated, shape[0],
                           shape[1], binary, ordered, indptr, indices, data, positive, counts)
    for a in (indices, data):  # sized for the worst case: shrunk in place (realloc)
        a.resize(nnz, refcheck=False)
    return Rows(indptr, indices, data, shape)


def rows_matrix(fast, rows, cols, negated, shape, binary):
    """:func:`sentiment.features.vocab.count_matrix` (``negated`` None) or
    :func:`~sentiment.features.vocab.signed_matrix` in the compiled loops: a counting sort by row,
    one lookup per entry, each row's columns sorted as scipy leaves them."""
    import scipy.sparse as sp

    X = rows_arrays(fast, rows, cols, negated, shape, binary, ordered=True)
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=shape)


def lookup_table(hashes: np.ndarray) -> np.ndarray:
    """A hash table over ``hashes`` for :func:`lookup` (int32 slots, a quarter to half
    full: 8 MB for a million features)."""
    slots = 1 << max(1, int(2 * len(hashes) - 1).bit_length())
    table = np.empty(slots, np.int32)
    compiled().lookup_table(np.ascontiguousarray(hashes, dtype=np.uint64), table)
    return table


def lookup(table: np.ndarray, hashes: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The position of each of ``queries`` in ``hashes`` (-1 if absent), through
    ``table`` (:func:`lookup_table` of ``hashes``)."""
    out = np.empty(len(queries), np.int64)
    compiled().lookup(table, np.ascontiguousarray(hashes, dtype=np.uint64),
                      np.ascontiguousarray(queries, dtype=np.uint64), out)
    return out


def feature_sums(fast, table, vocab_hashes, corpus, negation: bool, presence: bool, W1):
    """The compact model's sums (:meth:`sentiment.model.model.Model.logits` before the bias) of
    the HashedCorpus ``corpus``, in one compiled pass: the weights of each text's known
    features said plainly, minus those said negated (float64, shape (texts, K))."""
    n_texts, (n, k) = corpus.n_texts, W1.shape
    stamps = np.full(n * (2 if negation else 1), -1, np.int32)
    plain, negated = np.zeros((n_texts, k)), np.zeros((n_texts, k))
    fast.feature_sums(table, np.ascontiguousarray(vocab_hashes, dtype=np.uint64),
                      np.ascontiguousarray(corpus.hashes, dtype=np.uint64),
                      np.ascontiguousarray(corpus.rows, dtype=np.int32), negation, presence,
                      np.ascontiguousarray(W1, dtype=np.float32), stamps, plain, negated)
    return plain - negated if negation else plain


def epoch(fast, net, X, order, y, acc, lr: float, logits, batch: int, between,
          threads=1) -> None:
    """One epoch of ``net`` on the CSR rows ``X[order]`` (``order`` None: all, in turn) with
    labels ``y`` in that order, in the compiled loops (sentiment.training.batches.run_epoch's
    steps): row-wise Adagrad with the accumulator ``acc``, or SGD when it is None. The
    rows are read where they are (no shuffled copy), :data:`SLICE_ROWS` at a time (whole
    batches); ``between(rows)`` is called after each slice (progress, Ctrl-C).
    ``threads`` 2: each batch on two threads (:func:`epoch_threads`), the same weights bit
    for bit; or a function giving 1 or 2 before each slice (another process may free a
    core within the epoch: the weights are the same whichever it says)."""
    n = X.shape[0] if order is None else len(order)
    order = np.arange(n, dtype=np.int64) if order is None else order.astype(np.int64)
    step = max(1, SLICE_ROWS // batch) * batch
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        fast.epoch(X.indptr, X.indices, X.data, order[lo:hi], y[lo:hi], net.W1, net.b1,
                   net.w2, net.b2, net.b1 if acc is None else acc, logits[lo:hi], lr, batch,
                   net.activation == "relu", acc is not None,
                   threads() if callable(threads) else threads)
        between(hi - lo)


def epoch_threads(threads: int | None = None) -> int:
    """The threads :func:`epoch` runs on: 2 where the process may use two cores
    (``threads``: at most that many; default: every core), else 1. A batch is ~0.1 ms, so
    more threads would wait on each other more than they help. On a million reviews (one
    epoch, the other core idle) the epoch took 7.4-8.1 s on two threads against 10.4-10.6 s
    on one; beside ``train --test``'s child reading the test file on the other core, 1.4-1.9
    s against 1.2-1.4 s (IMDB, five epochs): there it stays on one until the child waits
    for the model (:meth:`sentiment.cli.ahead.TestAhead.epoch_threads`)."""
    cores = os.cpu_count() or 1
    return 2 if min(cores, threads or cores) >= 2 else 1
