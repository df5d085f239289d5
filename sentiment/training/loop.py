"""The trainer: shuffling, minibatches, epochs, validation, early stopping, checkpoints.

:func:`fit` trains a :class:`~sentiment.nn.network.Network` on CSR rows and returns one
:class:`EpochStats` per epoch; ``on_epoch`` is the only way out of the loop (printing is
the caller's business). :func:`sentiment.training.job.train` is the whole job from texts to a
model.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..native.loops import compiled
from ..native.loops import epoch as compiled_epoch
from ..nn.dropout import dropout_mask
from ..nn.network import (
    Network,
    RowCompactor,
    RowShuffler,
    csr_backward_add,
    csr_forward,
    layer1_dense,
    layer1_rows,
    log_loss_logits,
    sigmoid,
    softmax,
    update_dense,
    update_rows,
)
from ..nn.optim import SGD, Adagrad, Adam, make_optimizer
from .settings import Settings
from .spool import ShardedRows


@dataclass
class EpochStats:
    """What one epoch did; ``val_*`` are None without a validation split."""

    epoch: int
    loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    reviews_per_second: float
    seconds: float
    lr: float
    best: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _BatchState:
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
            raise _StopRequested


@dataclass
class TrainerState:
    """Where training stands after a complete epoch: enough to resume it exactly."""

    epoch: int = 0
    history: list = field(default_factory=list)  # EpochStats of the epochs done
    best_loss: float = float("inf")
    waited: int = 0  # epochs since the best validation loss
    params: dict | None = None  # network weights after ``epoch``
    best_params: dict | None = None  # weights of the best epoch so far
    optimizer: dict | None = None  # optimizer state arrays
    rng: dict | None = None  # the generator's state after ``epoch``


class TrainingStopped(Exception):
    """Training ended before its last epoch: a stop request, or a loss that became NaN.

    ``state`` is the last complete epoch (None if none completed); the network has been
    put back to it. ``reason`` is ``"interrupted"`` or ``"diverged"``.
    """

    def __init__(self, message: str, reason: str, state: TrainerState | None):
        super().__init__(message)
        self.reason, self.state = reason, state
        self.model = None  # the caller may attach the model, to checkpoint it


class _StopRequested(Exception):
    """Raised inside an epoch when ``should_stop()`` turns true."""


def fit(net: Network, X, y: np.ndarray, settings: Settings, rng: np.random.Generator, *,
        X_val=None, y_val=None, on_epoch=None, progress: bool | None = None,
        limit: int | None = None, state: TrainerState | None = None,
        should_stop=None, on_state=None) -> list[EpochStats]:
    """Train ``net`` on CSR rows ``X`` with labels ``y`` (0/1); return per-epoch stats.

    ``X`` may also be a :class:`~sentiment.training.spool.ShardedRows` (then ``y`` is None), and so
    may ``X_val``: each epoch visits the shards in a new order and shuffles the rows inside
    each; with one shard, it shuffles an index of all rows (never the data). With a
    validation set, keeps the weights of the epoch with the lowest validation loss and
    stops after ``patience`` epochs without improvement. ``limit`` trains on only the
    first ``limit`` shuffled reviews of each epoch (to time slow kernels). ``state``
    resumes from a checkpoint. ``should_stop`` is polled between batches; when it returns
    true, or when the loss becomes NaN, the network goes back to the last complete epoch and
    :class:`TrainingStopped` carries that epoch's state. ``on_state(state)`` receives the
    :class:`TrainerState` after every epoch but the last (its arrays are copies: safe to
    write out while training goes on; after the last, training is over).
    """
    from tqdm.auto import tqdm

    rows = X if isinstance(X, ShardedRows) else ShardedRows.from_matrix(X, y)
    val = X_val if X_val is None or isinstance(X_val, ShardedRows) \
        else ShardedRows.from_matrix(X_val, y_val)
    y_val = val.labels() if val is not None and val.n_rows else None
    settings = settings.for_rows(rows.n_rows)  # the epochs, if left to the default
    opt = make_optimizer(settings.optimizer, settings.lr)
    scratch = _BatchState(rows.n_inputs, should_stop=should_stop, binary=rows.binary,
                          weights=class_weights(settings, rows, net.n_classes))
    if settings.mask == "binomial":
        scratch.legacy = np.random.RandomState(int(rng.integers(2**31)))
    done = state or TrainerState()
    if state is not None:
        _set_params(net, state.params)
        opt.load_state_arrays(state.optimizer or {})
        rng.bit_generator.state = state.rng
    history = list(done.history)
    best_loss, best_params, waited = done.best_loss, done.best_params, done.waited
    n = rows.n_rows if limit is None else min(limit, rows.n_rows)
    shuffle = None  # reused while the shard matrix is the same (one shard: every epoch)
    for epoch in range(done.epoch + 1, settings.epochs + 1):
        if settings.lr_decay:
            opt.lr = settings.lr * (1 - (epoch - 1) / settings.epochs)
        logits = np.full(n if net.n_classes == 2 else (n, net.n_classes), np.nan,
                         dtype=np.float32)
        ye = np.empty(n, dtype=np.float32)
        bar = tqdm(total=n, desc=f"epoch {epoch}", unit="review", leave=False,
                   disable=None if progress is None else not progress, mininterval=0.5)
        start = time.perf_counter()
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence: checked below
                seen = 0
                for order, Xs, ys in rows.epoch(rng, n):
                    k = len(order)
                    ye[seen:seen + k] = ys[order]
                    scratch.logits = logits[seen:seen + k]
                    fast = _loops_for(net, settings, opt, Xs)
                    if fast is not None:  # reads the rows in place, in that order
                        _epoch_compiled(fast, net, Xs, order, ye[seen:seen + k], opt,
                                        scratch, bar, settings.batch_size)
                    else:
                        if shuffle is None or shuffle.X is not Xs:
                            shuffle = RowShuffler(Xs)
                        _run_epoch(net, shuffle(order), ye[seen:seen + k], settings, opt,
                                   rng, scratch, bar)
                    seen += k
        except _StopRequested:
            raise _rewind(net, done, f"stopped during epoch {epoch}", "interrupted") from None
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        # loss and accuracy of each review as the weights were when it was seen
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged epoch: NaN, below
            loss = _loss(logits, ye, settings.loss, scratch.weights) if n else float("nan")
        if not np.isfinite(loss) or not np.isfinite(net.W1).all():
            raise _rewind(net, done, f"the loss became {loss} in epoch {epoch}; lower "
                          "the learning rate (--lr)", "diverged")
        train_acc = accuracy(logits, ye)
        stats = EpochStats(epoch, loss, train_acc, None, None, n / seconds, seconds, opt.lr)
        if y_val is not None:
            val_logits = np.concatenate([net.logits(Xv) for Xv, _ in val.parts()])
            stats.val_loss = log_loss_logits(val_logits, y_val, scratch.weights)
            stats.val_accuracy = accuracy(val_logits, y_val)
            stats.best = bool(stats.val_loss < best_loss)
        # the last epoch's copies go before this one's is made: one copy of the weights
        # beside the network's when this epoch is the best, else two (were two and three)
        done, params = TrainerState(done.epoch, done.history, done.best_loss, done.waited), None
        best_params = None if stats.best else best_params
        params = _copy_params(net)  # the epoch's weights, kept read-only from here on
        if stats.best:  # the same copy serves as the checkpoint's weights
            best_loss, waited, best_params = stats.val_loss, 0, params
        elif y_val is not None:
            waited += 1
        history.append(stats)
        done = TrainerState(epoch, list(history), best_loss, waited, params, best_params,
                            opt.state_arrays(), rng.bit_generator.state)
        last = epoch == settings.epochs or bool(settings.patience and waited >= settings.patience)
        if on_state is not None and not last:  # after the last, the model itself follows
            on_state(done)
        if on_epoch is not None:
            on_epoch(stats)
        if settings.patience and waited >= settings.patience:
            break
    if best_params is not None:
        _set_params(net, best_params)
    return history


def class_weights(settings: Settings, rows: ShardedRows, k: int) -> np.ndarray | None:
    """``--class-weight balanced``: n / (K x rows of the class), per class (float32)."""
    if settings.class_weight == "none":
        return None
    counts = np.bincount(rows.labels().astype(np.int64), minlength=k)
    return (counts.sum() / (k * np.maximum(counts, 1))).astype(np.float32)


def _copy_params(net: Network) -> dict:
    return {k: v.copy() for k, v in net.params().items()}


def _rewind(net: Network, done: TrainerState, message: str, reason: str):
    """Put ``net`` back to the last complete epoch; return the exception to raise."""
    if done.params is not None:
        _set_params(net, done.params)
    return TrainingStopped(message, reason, done if done.epoch else None)


def _set_params(net: Network, params: dict) -> None:
    for k, v in params.items():
        getattr(net, k)[...] = v


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose logits pick the label ``y`` (0/1; class positions for K)."""
    if not len(y):
        return float("nan")
    if logits.ndim == 2:
        return float(np.mean(logits.argmax(axis=1) == np.asarray(y).astype(np.int64)))
    return float(np.mean((logits > 0) == (np.asarray(y) > 0.5)))


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
    fast = _loops_for(net, settings, opt, X)
    if fast is not None:
        _epoch_compiled(fast, net, X, None, y, opt, state, bar, batch)
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


def _epoch_compiled(fast, net, X, order, y, opt, state, bar, batch):
    """:func:`sentiment.native.loops.epoch` with this optimizer (Adagrad's accumulator made on
    first use); progress bar and Ctrl-C between slices of batches."""
    if (adagrad := isinstance(opt, Adagrad)) and opt.acc is None:
        opt.acc = np.full(net.W1.shape[0], opt.eps, dtype=np.float32)
    compiled_epoch(fast, net, X, order, y, opt.acc if adagrad else None, opt.lr,
                   state.logits, batch, lambda rows: (bar.update(rows), state.check_stop()))


def _loops_for(net, settings, opt, X):
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


def _run_epoch(net, X, y, settings, opt, rng, state, bar):
    """One pass over the rows ``X`` (already shuffled), with the kernel of ``settings``."""
    if settings.kernel != "csr":
        _epoch_per_review(net, X, y, settings, opt, rng, state, bar)
    else:
        _epoch_batched(net, X, y, settings, opt, rng, state, bar, settings.batch_size)


def _loss(z, y, loss, weights=None):
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
