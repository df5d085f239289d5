"""Training on a cluster by iterative parameter mixing.

Every round, each worker trains on its next slice of its own rows from the current
weights (:func:`sentiment.cluster.partitions.train_round`); the driver mixes the weights they
return into the next round's (:func:`mix`). ``rounds`` rounds make an epoch
(:class:`MixingStep`): every row is seen once per epoch, as in one process. The epochs
themselves (the learning rate's schedule, validation, early stopping, the best epoch's
weights, checkpoints, stop requests) are :func:`sentiment.training.loop.drive`'s, the same
loop as one process's; the model is made and calibrated as one process makes it.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import SentimentError, StopRequested
from ..io.labels import LabelScheme
from ..model.model import Model
from ..nn.network import Network
from ..nn.optim import Adagrad
from ..training.budget import DEFAULT_MAX_MEMORY
from ..training.job import (
    before_the_first_epoch,
    check_classes,
    new_model,
    run_epochs,
    settings_for,
)
from ..training.loop import TrainerState, set_params
from ..training.settings import Settings
from .engine import ClusterRows, Engine, prepare
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
    settings = settings_for(settings, classes)
    # the epochs as chosen before for_rows; a cluster trains once (the refit on all the rows
    # of a small file is one process's)
    settings = settings.for_rows(None).with_(refit=False)
    _check_settings(settings, classes, chunks)
    with before_the_first_epoch():
        if isinstance(chunks, SharedFiles):
            ready = prepare_parts(engine, chunks, settings, max_memory=max_memory,
                                  should_stop=should_stop, progress=progress)
        else:
            ready = prepare(engine, chunks, settings, classes=classes, max_memory=max_memory,
                            should_stop=should_stop, progress=progress)
    check_classes(scheme, classes, resumed=False)
    settings = _scaled(settings, len(ready.rows), note) if scale_lr else settings
    model = _model_of(ready, settings, scheme, rounds, how)
    # the rows rebuilt after a lost worker need what ready.keep holds: the rounds keep it
    loop = Rounds(engine, ready.rows, recoverable=ready.recoverable, keep=ready.keep,
                  describe=ready.describe, timeout=round_timeout, note=note,
                  # each group's rows were made on the worker it is named after
                  workers=list(ready.rows), holders={g: g for g in ready.rows})
    for line in ready.notes if note is not None else ():
        note(line)  # the workers' reading of the files
    del ready
    if on_prepared is not None:
        on_prepared(model)
    step = MixingStep(loop, model.net, settings, rounds, how, should_stop)
    run_epochs(model, step, settings, on_epoch=on_epoch, on_checkpoint=on_checkpoint)
    model.info["moved"] = loop.summary()
    model.info["events"] = loop.events
    return model


class MixingStep:
    """An epoch on a cluster: ``rounds`` rounds of training on every worker's rows from the
    current weights, mixed (``how``) after each (:class:`~sentiment.cluster.rounds.Rounds`
    does a round, surviving lost workers); the step :func:`~sentiment.training.loop.drive`
    runs, as one process's :class:`~sentiment.training.loop.LocalStep`."""

    weights = None  # --class-weight trains in one process (refused here)

    def __init__(self, loop: Rounds, net: Network, settings: Settings, rounds: int, how: str,
                 should_stop=None):
        self.loop, self.net, self.settings = loop, net, settings
        self.rounds, self.how, self.should_stop = rounds, how, should_stop
        self.current = {k: v.copy() for k, v in net.params().items()}
        self.optimizer: dict = {}
        y_val = loop.val_labels()
        self.y_val = y_val if len(y_val) else None

    def resume(self, state: TrainerState) -> None:
        self.current, self.optimizer = dict(state.params), dict(state.optimizer or {})

    def train_epoch(self, epoch: int, lr: float) -> tuple[float, float, int, float]:
        start, loss, hits, n = time.perf_counter(), 0.0, 0.0, 0
        for r in range(self.rounds):
            if self.should_stop is not None and self.should_stop():
                raise StopRequested
            self.current, self.optimizer, total = self.loop.train(
                self.current, self.optimizer, self.settings, lr, epoch, r, self.rounds,
                self.how, self.should_stop)
            loss, hits, n = loss + total.get("loss", 0.0), hits + total.get("hits", 0.0), \
                n + total["n"]
        return loss / max(n, 1), hits / max(n, 1), n, time.perf_counter() - start

    def params(self) -> dict:
        return self.current

    def snapshot(self) -> dict:
        return self.current  # a round makes new arrays: these are never written again

    def restore(self, params: dict) -> None:
        self.current = params
        set_params(self.net, params)

    def val_labels(self) -> np.ndarray | None:
        return self.y_val

    def val_logits(self, stoppable: bool = True) -> np.ndarray:
        return self.loop.val_logits(self.current, self.settings.activation,
                                    self.should_stop if stoppable else None)

    def optimizer_state(self) -> dict:
        return dict(self.optimizer)

    def rng_state(self) -> dict:
        """The seed's generator (one process's resume restores it; the cluster draws its
        shuffles from the seed, epoch and worker)."""
        return np.random.default_rng(self.settings.seed).bit_generator.state


def _scaled(settings: Settings, k: int, note) -> Settings:
    """``--scale-lr``: the learning rate times sqrt(k) for k groups of rows averaged."""
    if k <= 1:
        return settings
    settings = settings.with_(lr=settings.lr * k ** 0.5)
    if note is not None:
        note(f"learning rate {settings.lr:.3g}: {settings.lr / k ** 0.5:g} x sqrt({k}), "
             f"for {k} groups of rows averaged (--lr sets it)")
    return settings


def _check_settings(settings: Settings, classes, chunks) -> None:
    if settings.kernel != "csr":
        raise SentimentError(f"--kernel {settings.kernel} trains one review at a time; a "
                             "cluster trains minibatches (--kernel csr)")
    if settings.class_weight != "none":
        raise SentimentError(f"--class-weight {settings.class_weight} trains in one process; "
                             "drop --workers and --cluster")
    if classes is not None and isinstance(chunks, SharedFiles):
        raise SentimentError("K classes are read by the driver on a cluster (--read driver)")


def _model_of(ready: ClusterRows, settings: Settings, scheme: LabelScheme, rounds: int,
              how: str) -> Model:
    """The model to train (:func:`~sentiment.training.job.new_model`), with what preparing
    counted."""
    sizes = ready.sizes
    model, _ = new_model(ready.vocab, settings, scheme, info={
        "n_train": ready.n_train, "n_val": ready.n_val, "n_positive": ready.n_positive,
        "times": ready.times, "nnz": sum(s["nnz"] for s in sizes.values()),
        "shards": len(ready.rows), "cache": {"memory_bytes": 0, "disk_bytes": 0,
                                             "folder": None,
                                             "count_threshold": ready.count_threshold},
        "workers": {w: s["train"] for w, s in sizes.items()}, "rounds": rounds, "mix": how,
        "parts": ready.parts})
    return model
