"""Training on rows: one pass of minibatches (one sparse product forward, one backward), the
lesson's one-review-at-a-time kernels, the compiled epoch where it applies, the loss and
accuracy of logits. :mod:`sentiment.training.loop` drives epochs of these in one process,
:mod:`sentiment.cluster.partitions` runs a round of them on a worker.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import StopRequested
from ..native.loops import compiled
from ..native.loops import epoch as compiled_epoch
from ..nn.dropout import dropout_mask
from ..nn.network import (
    RowCompactor,
    csr_backward_add,
    csr_forward,
    label_codes,
    layer1_dense,
    layer1_rows,
    log_loss_logits,
    sigmoid,
    softmax,
    update_dense,
    update_rows,
)
from ..nn.optim import SGD, Adagrad, Adam
from .settings import Settings
from .spool import ShardedRows


@dataclass
class BatchState:
    """Scratch kept across batches so the hot loop allocates little."""

    n_inputs: int
    legacy: np.random.RandomState | None = None
    logits: np.ndarray | None = None  # each review's logit as it was seen this epoch
    should_stop: object = None  # callable polled between batches
    binary: bool = False  # every input value is 1 (lets optimizers skip multiplications)
    weights: np.ndarray | None = None  # --class-weight: each class's weight on the loss

    _compactor: RowCompactor | None = None

    @property
    def compactor(self) -> RowCompactor:
        """Made on first use: only Adam and L2 gather rows, and it is vocabulary-sized."""
        if self._compactor is None:
            self._compactor = RowCompactor(self.n_inputs)
        return self._compactor

    def check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise StopRequested


def class_weights(settings: Settings, rows: ShardedRows, k: int) -> np.ndarray | None:
    """``--class-weight balanced``: n / (K x rows of the class), per class (float32)."""
    if settings.class_weight == "none":
        return None
    counts = np.bincount(rows.labels().astype(np.int64), minlength=k)
    return (counts.sum() / (k * np.maximum(counts, 1))).astype(np.float32)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose logits pick the label ``y`` (0/1; class positions for K)."""
    if not len(y):
        return float("nan")
    y = np.asarray(y)
    truth = y.astype(np.int64) if logits.ndim == 2 else (y > 0.5)
    return float(np.mean(label_codes(logits) == truth))


def _output_delta(z2: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """d loss / d logit: for the sigmoid output, and for K classes (softmax with
    cross-entropy) ``softmax(z) - onehot(y)``."""
    if z2.ndim == 2:
        p = softmax(z2)
        p[np.arange(len(p)), y.astype(np.int64)] -= 1
        return p
    p = sigmoid(z2)
    if loss == "xent":
        return p - y
    return (p - y) * p * (1 - p)  # squared error through the sigmoid (the lesson)


def _epoch_batched(net, X, y, settings, opt, rng, state, bar, batch):
    """One epoch of minibatches: one sparse product forward and one backward per batch.

    SGD and row-wise Adagrad add the backward product straight into W1
    (``step_sparse``); Adam, or an L2 penalty, first gathers the rows the batch touched
    (:class:`RowCompactor`) and updates those.
    """
    indptr, indices, data = X.indptr, X.indices, X.data
    relu = net.activation == "relu"
    sparse_step = None if settings.l2 else getattr(opt, "step_sparse", None)
    fast = loops_for(net, settings, opt, X)
    if fast is not None:
        epoch_compiled(fast, net, X, None, y, opt, state, bar, batch)
        return
    lazy_adam = isinstance(opt, Adam)
    z1_buf = np.empty((batch, net.hidden), dtype=np.float32)
    for lo in range(0, X.shape[0], batch):
        hi = min(lo + batch, X.shape[0])
        s, e = indptr[lo], indptr[hi]
        ptr = indptr[lo:hi + 1] - s
        ind, dat = indices[s:e], data[s:e]
        yb = y[lo:hi]
        z1 = csr_forward(ptr, ind, dat, net.W1, z1_buf[:hi - lo])
        z1 += net.b1
        a1 = np.maximum(z1, 0) if relu else z1
        if settings.dropout:
            mask = dropout_mask(settings.mask, rng, a1.shape, settings.dropout, state.legacy)
            a1 = a1 * mask
        z2 = net.output(a1)
        state.logits[lo:hi] = z2
        d2 = _output_delta(z2, yb, settings.loss)
        if state.weights is not None:  # each row's gradient weighed by its class's
            w = state.weights[yb.astype(np.int64)]
            d2 *= w[:, None] if d2.ndim == 2 else w
        d2 /= hi - lo
        d1 = d2 @ net.w2.T if d2.ndim == 2 else np.outer(d2, net.w2)
        if relu:
            d1 *= z1 > 0
        if settings.dropout:
            d1 *= mask
        if lazy_adam:
            opt.tick()
        gw2, gb1 = a1.T @ d2, d1.sum(axis=0)
        if sparse_step is not None:
            sparse_step(net.W1, ptr, ind, dat, d1, state.binary)
        else:
            rows, local = state.compactor(ind)
            g1 = np.zeros((len(rows), net.hidden), dtype=np.float32)
            csr_backward_add(ptr, local, dat, d1, g1, 1.0)
            if settings.l2:
                g1 += np.float32(settings.l2) * net.W1[rows]
            opt.step_rows("W1", net.W1, rows, g1)
        opt.step("w2", net.w2, gw2)
        opt.step("b2", net.b2, d2.sum(axis=0).reshape(net.b2.shape))
        opt.step("b1", net.b1, gb1)
        bar.update(hi - lo)
        state.check_stop()


def epoch_compiled(fast, net, X, order, y, opt, state, bar, batch, threads=1):
    """:func:`sentiment.native.loops.epoch` with this optimizer (Adagrad's accumulator made on
    first use), on ``threads`` threads (1 or 2, or a function asked before each slice of
    batches); progress bar and Ctrl-C between slices."""
    if (adagrad := isinstance(opt, Adagrad)) and opt.acc is None:
        opt.acc = np.full(net.W1.shape[0], opt.eps, dtype=np.float32)
    compiled_epoch(fast, net, X, order, y, opt.acc if adagrad else None, opt.lr,
                   state.logits, batch, lambda rows: (bar.update(rows), state.check_stop()),
                   threads)


def loops_for(net, settings, opt, X):
    """The compiled loops (sentiment.native.loops) when they cover this epoch (two classes, xent,
    SGD or row-wise Adagrad, no dropout or L2, float32 rows; not Adagrad's small-vocabulary
    dense buffer, faster there: stage 5's epoch, 2.1x the floor compiled, 1.7x so)."""
    fast = compiled()
    if fast is None or settings.kernel != "csr" or settings.l2 or settings.dropout \
            or settings.loss != "xent" or net.n_classes != 2 or X.dtype != np.float32 \
            or settings.class_weight != "none" \
            or type(opt) not in (SGD, Adagrad):
        return None
    batch_nnz = X.nnz / max(X.shape[0], 1) * settings.batch_size
    small = isinstance(opt, Adagrad) and net.W1.size <= opt.dense_ratio * batch_nnz
    return None if small else fast


def run_epoch(net, X, y, settings, opt, rng, state, bar):
    """One pass over the rows ``X`` (already shuffled), with the kernel of ``settings``."""
    if settings.kernel != "csr":
        _epoch_per_review(net, X, y, settings, opt, rng, state, bar)
    else:
        _epoch_batched(net, X, y, settings, opt, rng, state, bar, settings.batch_size)


def mean_loss(z, y, loss, weights=None):
    """Mean loss over reviews from their logits ``z`` (``weights``: per class)."""
    if loss == "xent":
        return log_loss_logits(z, y, weights)
    if weights is not None:
        return float(0.5 * np.average((sigmoid(z) - y) ** 2, weights=weights[y.astype(int)]))
    return float(0.5 * np.mean((sigmoid(z) - y) ** 2, dtype=np.float64))


def _epoch_per_review(net, X, y, settings, opt, rng, state, bar):
    """One epoch, one review at a time, as the lesson did (kernels ``dense`` and ``rows``)."""
    layer1, update = ((layer1_dense, update_dense) if settings.kernel == "dense"
                      else (layer1_rows, update_rows))
    indptr, indices, data = X.indptr, X.indices, X.data
    lr = opt.lr
    relu = net.activation == "relu"
    logits = state.logits
    for i in range(X.shape[0]):
        idx, val = indices[indptr[i]:indptr[i + 1]], data[indptr[i]:indptr[i + 1]]
        z1 = layer1(net.W1, idx, val) + net.b1
        a1 = np.maximum(z1, 0) if relu else z1
        if settings.dropout:
            mask = dropout_mask(settings.mask, rng, (1, len(a1)), settings.dropout,
                                state.legacy)[0]
            a1 = a1 * mask
        z2 = float(a1 @ net.w2 + net.b2[0])
        logits[i] = z2
        d2 = _output_delta(np.array([z2], np.float32), y[i:i + 1], settings.loss)
        d2 = float(d2[0]) * (1.0 if state.weights is None else state.weights[int(y[i])])
        d1 = d2 * net.w2
        if relu:
            d1 = d1 * (z1 > 0)
        if settings.dropout:
            d1 = d1 * mask
        net.w2 -= lr * d2 * a1
        net.b2 -= lr * d2
        net.b1 -= lr * d1
        update(net.W1, idx, val, d1, lr)
        if i % 256 == 255:
            bar.update(256)
            state.check_stop()
    bar.update(X.shape[0] % 256)
