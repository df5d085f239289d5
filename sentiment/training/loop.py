"""The epoch driver: epochs, the learning rate's schedule, validation, early stopping,
divergence, the best epoch, checkpoints and stop requests, written once for every route.

:func:`drive` runs the epochs of a *step*: an object that trains one epoch of its rows from
the network's weights (:class:`LocalStep`: the shards of one process; a cluster's step,
:class:`sentiment.cluster.mixing.MixingStep`: rounds of parameter mixing on its workers)
and gives the logits of its validation rows. :func:`fit` is the one-process route: the
step made from CSR rows or shards. ``on_epoch`` is the only way out of the loop (printing
is the caller's business); :func:`sentiment.training.job.train` is the whole job from texts
to a model.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from ..errors import StopRequested
from ..native.loops import epoch_threads
from ..nn.network import Network, RowShuffler, log_loss_logits
from ..nn.optim import make_optimizer
from .batches import (
    BatchState,
    accuracy,
    class_weights,
    epoch_compiled,
    loops_for,
    mean_loss,
    run_epoch,
)
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


class Step(Protocol):
    """What :func:`drive` needs of a route: the step holds the weights it trains.
    ``train_epoch`` (returning the loss, the accuracy, the rows and the seconds of the
    epoch) and ``val_logits`` raise :class:`~sentiment.errors.StopRequested` when asked to
    stop; ``restore`` puts weights in place (the last complete epoch's on a stop, the best
    epoch's at the end) in the network the model holds."""

    weights: np.ndarray | None  # each class's weight on the loss (--class-weight), or None

    def resume(self, state: TrainerState) -> None: ...
    def train_epoch(self, epoch: int, lr: float) -> tuple[float, float, int, float]: ...
    def params(self) -> dict: ...
    def snapshot(self) -> dict: ...
    def restore(self, params: dict) -> None: ...
    def val_labels(self) -> np.ndarray | None: ...
    def val_logits(self, stoppable: bool = True) -> np.ndarray: ...
    def optimizer_state(self) -> dict: ...
    def rng_state(self) -> dict | None: ...


def learning_rate(settings: Settings, epoch: int) -> float:
    """The learning rate of ``epoch`` (from 1): decayed linearly with ``lr_decay``."""
    if settings.lr_decay:
        return settings.lr * (1 - (epoch - 1) / settings.epochs)
    return settings.lr


def drive(step: Step, settings: Settings, *, state: TrainerState | None = None,
          on_epoch=None, on_state=None) -> list[EpochStats]:
    """Train ``settings.epochs`` epochs of ``step``; return per-epoch stats.

    With validation rows, keeps the weights of the epoch with the lowest validation loss
    and stops after ``patience`` epochs without improvement. ``state`` resumes from a
    checkpoint. On a stop request, or when the loss becomes NaN, the network goes back to
    the last complete epoch and :class:`TrainingStopped` carries that epoch's state.
    ``on_state(state)`` receives the :class:`TrainerState` after every epoch but the last
    (its arrays are copies: safe to write out while training goes on; after the last,
    training is over).
    """
    done = state or TrainerState()
    if state is not None:
        step.resume(state)
    y_val = step.val_labels()
    history = list(done.history)
    best_loss, best_params, waited = done.best_loss, done.best_params, done.waited
    for epoch in range(done.epoch + 1, settings.epochs + 1):
        lr = learning_rate(settings, epoch)
        try:
            loss, train_acc, n, seconds = step.train_epoch(epoch, lr)
            if not np.isfinite(loss) or not np.isfinite(step.params()["W1"]).all():
                raise rewind(step, done, f"the loss became {loss} in epoch {epoch}; lower "
                             "the learning rate (--lr)", "diverged")
            stats = EpochStats(epoch, loss, train_acc, None, None, n / seconds, seconds, lr)
            if y_val is not None:
                val_logits = step.val_logits()
                stats.val_loss = log_loss_logits(val_logits, y_val, step.weights)
                stats.val_accuracy = accuracy(val_logits, y_val)
                stats.best = bool(stats.val_loss < best_loss)
        except StopRequested:
            raise rewind(step, done, f"stopped during epoch {epoch}", "interrupted") from None
        # the last epoch's copies go before this one's is made: one copy of the weights
        # beside the network's when this epoch is the best, else two
        done = TrainerState(done.epoch, done.history, done.best_loss, done.waited)
        best_params = None if stats.best else best_params
        params = step.snapshot()  # the epoch's weights, kept read-only from here on
        if stats.best:  # the same copy serves as the checkpoint's weights
            best_loss, waited, best_params = stats.val_loss, 0, params
        elif y_val is not None:
            waited += 1
        history.append(stats)
        done = TrainerState(epoch, list(history), best_loss, waited, params, best_params,
                            step.optimizer_state(), step.rng_state())
        stop = bool(settings.patience and waited >= settings.patience)
        if on_state is not None and epoch < settings.epochs and not stop:
            on_state(done)  # after the last, the model itself follows
        if on_epoch is not None:
            on_epoch(stats)
        if stop:
            break
    step.restore(best_params if best_params is not None else step.params())
    return history


def rewind(step: Step, done: TrainerState, message: str, reason: str) -> TrainingStopped:
    """Put the step's weights back to the last complete epoch; return the exception to
    raise."""
    if done.params is not None:
        step.restore(done.params)
    return TrainingStopped(message, reason, done if done.epoch else None)


def set_params(net: Network, params: dict) -> None:
    """Copy ``params`` into the network's arrays (the same arrays: a no-op for its own)."""
    for k, v in params.items():
        target = getattr(net, k)
        if target is not v:
            target[...] = v


class LocalStep:
    """One process: each epoch visits the shards of ``rows`` in a new order and shuffles
    the rows inside each (one shard: an index of all rows, never the data), training
    ``net`` in place; ``limit`` trains on the first ``limit`` shuffled rows only;
    ``threads``: at most that many for an epoch (:func:`~sentiment.native.loops.epoch_threads`;
    default: two where there are two cores), or a function giving that cap, asked before
    each slice of an epoch's batches (another process may have the other core for a
    while)."""

    def __init__(self, net: Network, rows: ShardedRows, val: ShardedRows | None,
                 settings: Settings, rng: np.random.Generator, *, limit: int | None = None,
                 progress: bool | None = None, should_stop=None, threads=None):
        self.net, self.rows, self.val, self.settings, self.rng = net, rows, val, settings, rng
        self._cap = threads if callable(threads) else lambda: threads
        self.opt = make_optimizer(settings.optimizer, settings.lr)
        self.weights = class_weights(settings, rows, net.n_classes)
        self.scratch = BatchState(rows.n_inputs, should_stop=should_stop, binary=rows.binary,
                                  weights=self.weights)
        if settings.mask == "binomial":
            self.scratch.legacy = np.random.RandomState(int(rng.integers(2**31)))
        self.n = rows.n_rows if limit is None else min(limit, rows.n_rows)
        self.progress = progress
        self.shuffle = None  # reused while the shard matrix is the same (one shard: always)

    @property
    def threads(self) -> int:
        """The threads of the next epoch's compiled loops."""
        return epoch_threads(self._cap())

    def resume(self, state: TrainerState) -> None:
        set_params(self.net, state.params)
        self.opt.load_state_arrays(state.optimizer or {})
        if state.rng is not None:  # (a cluster's checkpoint before it recorded one)
            self.rng.bit_generator.state = state.rng

    def train_epoch(self, epoch: int, lr: float) -> tuple[float, float, int, float]:
        """One epoch; the loss and accuracy of each row as the weights were when it was
        seen."""
        from tqdm.auto import tqdm

        net, settings, n, scratch = self.net, self.settings, self.n, self.scratch
        self.opt.lr = lr
        logits = np.full(n if net.n_classes == 2 else (n, net.n_classes), np.nan,
                         dtype=np.float32)
        ye = np.empty(n, dtype=np.float32)
        bar = tqdm(total=n, desc=f"epoch {epoch}", unit="review", leave=False,
                   disable=None if self.progress is None else not self.progress,
                   mininterval=0.5)
        start = time.perf_counter()
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence: the driver's
                seen = 0
                for order, Xs, ys in self.rows.epoch(self.rng, n):
                    k = len(order)
                    ye[seen:seen + k] = ys[order]
                    scratch.logits = logits[seen:seen + k]
                    fast = loops_for(net, settings, self.opt, Xs)
                    if fast is not None:  # reads the rows in place, in that order
                        epoch_compiled(fast, net, Xs, order, ye[seen:seen + k], self.opt,
                                       scratch, bar, settings.batch_size,
                                       lambda: self.threads)  # asked each slice
                    else:
                        if self.shuffle is None or self.shuffle.X is not Xs:
                            self.shuffle = RowShuffler(Xs)
                        run_epoch(net, self.shuffle(order), ye[seen:seen + k], settings,
                                  self.opt, self.rng, scratch, bar)
                    seen += k
        finally:
            bar.close()
        seconds = time.perf_counter() - start
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged epoch: NaN
            loss = mean_loss(logits, ye, settings.loss, self.weights) if n else float("nan")
        return loss, accuracy(logits, ye), n, seconds

    def params(self) -> dict:
        return self.net.params()

    def snapshot(self) -> dict:
        return {k: v.copy() for k, v in self.net.params().items()}

    def restore(self, params: dict) -> None:
        set_params(self.net, params)

    def val_labels(self) -> np.ndarray | None:
        return self.val.labels() if self.val is not None and self.val.n_rows else None

    def val_logits(self, stoppable: bool = True) -> np.ndarray:
        """The validation rows' logits (one process: too quick to poll for a stop)."""
        return np.concatenate([self.net.logits(X) for X, _ in self.val.parts()])

    def optimizer_state(self) -> dict:
        return self.opt.state_arrays()

    def rng_state(self) -> dict:
        return self.rng.bit_generator.state


def fit(net: Network, X, y: np.ndarray, settings: Settings, rng: np.random.Generator, *,
        X_val=None, y_val=None, on_epoch=None, progress: bool | None = None,
        limit: int | None = None, state: TrainerState | None = None,
        should_stop=None, on_state=None, threads: int | None = None) -> list[EpochStats]:
    """Train ``net`` on CSR rows ``X`` with labels ``y`` (0/1; class codes for K) in this
    process; return per-epoch stats (:func:`drive` says the rest).

    ``X`` may also be a :class:`~sentiment.training.spool.ShardedRows` (then ``y`` is
    None), and so may ``X_val``. ``limit`` trains on only the first ``limit`` shuffled
    reviews of each epoch (to time slow kernels). ``should_stop`` is polled between
    batches. ``threads``: at most that many for an epoch (default: two where there are two
    cores).
    """
    rows = X if isinstance(X, ShardedRows) else ShardedRows.from_matrix(X, y)
    val = X_val if X_val is None or isinstance(X_val, ShardedRows) \
        else ShardedRows.from_matrix(X_val, y_val)
    settings = settings.for_rows(rows.n_rows)  # the epochs, if left to the default
    step = LocalStep(net, rows, val, settings, rng, limit=limit, progress=progress,
                     should_stop=should_stop, threads=threads)
    return drive(step, settings, state=state, on_epoch=on_epoch, on_state=on_state)
