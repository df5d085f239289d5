"""Training on a cluster by iterative parameter mixing.

Every round, each worker trains on its next slice of its own rows from the current
weights (:func:`sentiment.cluster.partitions.train_round`); the driver mixes the weights they
return into the next round's (:func:`mix`). ``rounds`` rounds make an epoch: every row is
seen once per epoch, as in one process, and the learning rate decays per epoch the same
way. Validation after each epoch, early stopping, the best epoch's weights, checkpoints
and the calibration of probabilities are the driver's, as :func:`sentiment.training.loop.fit`
does them in one process.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import SentimentError
from ..io.labels import LabelScheme
from ..model.model import Model
from ..nn.network import Network, log_loss_logits
from ..nn.optim import Adagrad
from ..training.checkpoints import checkpoint_parts
from ..training.job import calibrate_logits, keep_stopped
from ..training.loop import (
    EpochStats,
    TrainerState,
    TrainingStopped,
    _rewind,
    _set_params,
    accuracy,
)
from ..training.pipeline import DEFAULT_MAX_MEMORY
from ..training.settings import Settings
from ..training.usable import answer_counts
from .engine import Engine, Stop, prepare
from .rounds import Rounds
from .spread import SharedFiles, prepare_parts

MIXES = ("rows", "average")


def mix(old: dict, results: list[dict], how: str = "rows") -> dict:
    """The weights after a round, from the ``old`` ones and each worker's new ones.

    ``average``: the mean of the workers' weights, weighted by rows trained (iterative
    parameter mixing). ``rows``: the same for the small dense parameters, but each row of
    W1 takes the mean change of the workers whose rows changed it: a feature seen by one
    worker keeps that worker's whole update instead of 1/K of it.
    """
    done = [(r["params"], r["n"]) for r in results if r["n"]]
    total = sum(n for _, n in done)
    out = {}
    for k, base in old.items():
        if how == "rows" and k == "W1":
            change = np.zeros_like(base)
            changed = np.zeros(base.shape[0], dtype=np.float32)
            for p, _ in done:
                delta = p[k] - base
                moved = np.any(delta != 0, axis=1)
                change[moved] += delta[moved]
                changed += moved
            out[k] = base + change / np.maximum(changed, 1)[:, None]
        else:
            out[k] = base + sum((p[k] - base) * (n / total) for p, n in done) if done \
                else base
        out[k] = np.asarray(out[k], dtype=np.float32)
    return out


def mix_optimizer(old: dict, results: list[dict]) -> dict:
    """The optimizer's state after a round: Adagrad's accumulators add up every worker's
    squared gradients (as one process would have); anything else is averaged."""
    states = [r["optimizer"] for r in results if r["n"]]
    if not states:
        return old
    out = {}
    for k in states[0]:
        arrays = [np.asarray(s[k]) for s in states]
        if k == "acc":  # each worker started from old (the first round: Adagrad's eps)
            start = old.get(k, np.full_like(arrays[0], Adagrad(1.0).eps))
            out[k] = start + sum(a - start for a in arrays)
        else:
            out[k] = sum(arrays) / len(arrays)
    return out


def train_cluster(engine: Engine, chunks, settings: Settings, *, scheme: LabelScheme,
                  classes=None, max_memory: int = DEFAULT_MAX_MEMORY, rounds: int = 1,
                  how: str = "rows", on_epoch=None, on_prepared=None, on_checkpoint=None,
                  should_stop=None, progress=None, note=None,
                  round_timeout: float | None = None, scale_lr: bool = False) -> Model:
    """:func:`sentiment.training.job.train_chunks` on a cluster: the same model, trained by
    parameter mixing every ``1/rounds`` of an epoch. ``chunks``: ``(texts, labels)`` the
    driver reads and sends, or :class:`~sentiment.cluster.spread.SharedFiles` the workers read
    themselves (then a lost worker's rows are read again elsewhere). ``progress(step,
    rows)`` as rows are read; ``note(line)`` says a lost worker or a straggler; the other
    callbacks as in one process. ``scale_lr``: the learning rate times the square root of
    the number of groups of rows (K): averaging K models each trained on 1/K of the rows
    moves the weights less than one model on all of them (IMDB, 2 workers: -0.26 points
    at 0.02, +0.01 at 0.04, -0.05 at 0.028; docs/cluster.md)."""
    from ..training.job import settings_for

    settings = settings_for(settings, classes)
    settings = settings.for_rows(None)  # the epochs as chosen before for_rows
    _check_settings(settings, classes, chunks)
    try:
        if isinstance(chunks, SharedFiles):
            ready = prepare_parts(engine, chunks, settings, max_memory=max_memory,
                                  should_stop=should_stop, progress=progress)
        else:
            ready = prepare(engine, chunks, settings, classes=classes, max_memory=max_memory,
                            should_stop=should_stop, progress=progress)
    except Stop:
        raise TrainingStopped("stopped before the first epoch", "interrupted", None) from None
    if classes is not None:
        scheme.classes = classes.sorted_names()
    if scale_lr and len(ready["rows"]) > 1:
        k = len(ready["rows"])
        settings = settings.with_(lr=settings.lr * k ** 0.5)
        if note is not None:
            note(f"learning rate {settings.lr:.3g}: {settings.lr / k ** 0.5:g} x sqrt({k}), "
                 f"for {k} groups of rows averaged (--lr sets it)")
    model = _model_of(ready, settings, scheme, rounds, how)
    loop = Rounds(engine, ready["rows"], recoverable=ready["recoverable"],
                  describe=ready.get("describe"), timeout=round_timeout, note=note,
                  # each group's rows were made on the worker it is named after
                  workers=list(ready["rows"]), holders={g: g for g in ready["rows"]})
    if on_prepared is not None:
        on_prepared(model)
    y_val = loop.val_labels()
    t = time.perf_counter()
    try:
        net = _epochs(loop, model, settings, y_val, rounds, how, on_epoch, on_checkpoint,
                      should_stop)
    except TrainingStopped as stop:
        model.info["times"]["train"] = time.perf_counter() - t
        raise keep_stopped(stop, model) from None
    if len(y_val):
        z = loop.val_logits(net.params(), settings.activation)
        model.info["temperature"] = calibrate_logits(net, z, y_val)
        model.info["val_answers"] = answer_counts(z, scheme.n_classes)
    model.info["times"]["train"] = time.perf_counter() - t
    model.info["moved"] = loop.summary()
    model.info["events"] = loop.events
    del ready
    return model


def _check_settings(settings: Settings, classes, chunks) -> None:
    if settings.kernel != "csr":
        raise SentimentError(f"--kernel {settings.kernel} trains one review at a time; a "
                             "cluster trains minibatches (--kernel csr)")
    if settings.class_weight != "none":
        raise SentimentError(f"--class-weight {settings.class_weight} trains in one process; "
                             "drop --workers and --cluster")
    if classes is not None and isinstance(chunks, SharedFiles):
        raise SentimentError("K classes are read by the driver on a cluster (--read driver)")


def _model_of(ready: dict, settings: Settings, scheme: LabelScheme, rounds: int,
              how: str) -> Model:
    """The model to train: the vocabulary, a new network, what preparing counted."""
    vocab, sizes = ready["vocab"], ready["sizes"]
    rng = np.random.default_rng(settings.seed)
    net = Network(len(vocab), settings.hidden, rng, activation=settings.activation,
                  init_scale=settings.init_scale, n_classes=scheme.n_classes)
    model = Model(vocab, net, settings.to_dict(), scheme=scheme)
    model.info.update({"n_train": ready["n_train"], "n_val": ready["n_val"],
                       "n_positive": ready["n_positive"], "times": ready["times"],
                       "nnz": sum(s["nnz"] for s in sizes.values()),
                       "shards": len(ready["rows"]),
                       "workers": {w: s["train"] for w, s in sizes.items()},
                       "rounds": rounds, "mix": how, "parts": ready.get("parts"),
                       "notes": ready.get("notes", []),
                       "cache": {"memory_bytes": 0, "disk_bytes": 0, "folder": None,
                                 "count_threshold": ready["count_threshold"]}})
    return model


def _epochs(loop: Rounds, model: Model, settings: Settings, y_val, rounds: int, how: str,
            on_epoch, on_checkpoint, should_stop) -> Network:
    """The epochs: rounds of mixing, validation, early stopping, checkpoints; returns the
    network holding the weights kept (the best epoch's, if validated)."""
    from ..training.job import _snapshot

    net = model.net
    params, opt_state = {k: v.copy() for k, v in net.params().items()}, {}
    done, history = TrainerState(), []
    best_loss, best_params, waited = float("inf"), None, 0
    rng = np.random.default_rng(settings.seed)
    for epoch in range(1, settings.epochs + 1):
        lr = settings.lr * (1 - (epoch - 1) / settings.epochs) if settings.lr_decay \
            else settings.lr
        start, loss, hits, n = time.perf_counter(), 0.0, 0.0, 0
        for r in range(rounds):
            after = None if should_stop is not None and should_stop() else loop.train(
                params, opt_state, settings, lr, epoch, r, rounds, how, should_stop)
            if after is None:
                raise _rewind(net, done, f"stopped during epoch {epoch}", "interrupted")
            params, opt_state, total = after
            loss, hits, n = loss + total.get("loss", 0.0), hits + total.get("hits", 0.0), \
                n + total["n"]
        seconds = time.perf_counter() - start
        loss = loss / max(n, 1)
        if not np.isfinite(loss) or not np.isfinite(params["W1"]).all():
            raise _rewind(net, done, f"the loss became {loss} in epoch {epoch}; lower "
                          "the learning rate (--lr)", "diverged")
        stats = EpochStats(epoch, loss, hits / max(n, 1), None, None, n / seconds, seconds,
                           lr)
        if len(y_val):
            try:
                z = loop.val_logits(params, settings.activation, should_stop)
            except TrainingStopped:  # the last complete epoch is kept
                raise _rewind(net, done, f"stopped during epoch {epoch}", "interrupted"
                              ) from None
            stats.val_loss, stats.val_accuracy = log_loss_logits(z, y_val), accuracy(z, y_val)
            if stats.val_loss < best_loss:
                best_loss, waited, stats.best, best_params = stats.val_loss, 0, True, params
            else:
                waited += 1
        history.append(stats)
        done = TrainerState(epoch, list(history), best_loss, waited, params, best_params,
                            dict(opt_state), rng.bit_generator.state)
        if on_checkpoint is not None:
            on_checkpoint(_snapshot(model, done), checkpoint_parts(done))
        if on_epoch is not None:
            on_epoch(stats)
        if settings.patience and waited >= settings.patience:
            break
    _set_params(net, best_params if best_params is not None else params)
    model.history = [h.to_dict() for h in history]
    return net
