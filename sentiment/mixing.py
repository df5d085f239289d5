"""Training on a cluster by iterative parameter mixing.

Every round, each worker trains on its next slice of its own rows from the current
weights (:func:`sentiment.partitions.train_round`); the driver mixes the weights they
return into the next round's (:func:`mix`). ``rounds`` rounds make an epoch: every row is
seen once per epoch, as in one process, and the learning rate decays per epoch the same
way. Validation after each epoch, early stopping, the best epoch's weights, checkpoints
and the calibration of probabilities are the driver's, as :func:`sentiment.trainer.fit`
does them in one process.
"""
from __future__ import annotations

import time

import numpy as np

from . import partitions as parts
from .checkpoints import checkpoint_parts
from .cluster import Engine, _result, _Stop, gather_or_stop, prepare
from .labels import LabelScheme
from .model import Model
from .network import Network, log_loss_logits
from .optim import Adagrad
from .pipeline import DEFAULT_MAX_MEMORY
from .settings import Settings
from .trainer import EpochStats, TrainerState, TrainingStopped, _rewind, _set_params, accuracy
from .usable import answer_counts

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
                  should_stop=None, progress=None) -> Model:
    """:func:`sentiment.train.train_chunks` on a cluster: the same model, trained by
    parameter mixing every ``1/rounds`` of an epoch. ``progress(step, rows)`` as rows are
    read; the other callbacks as in one process."""
    from .train import _snapshot, calibrate_logits, keep_stopped, settings_for

    settings = settings_for(settings, classes)
    settings = settings.for_rows(None)  # the epochs as chosen before for_rows
    if settings.kernel != "csr":
        from .errors import SentimentError
        raise SentimentError(f"--kernel {settings.kernel} trains one review at a time; a "
                             "cluster trains minibatches (--kernel csr)")
    if settings.class_weight != "none":
        from .errors import SentimentError
        raise SentimentError(f"--class-weight {settings.class_weight} trains in one process; "
                             "drop --workers and --cluster")
    try:
        ready = prepare(engine, chunks, settings, classes=classes, max_memory=max_memory,
                        should_stop=should_stop, progress=progress)
    except _Stop:
        raise TrainingStopped("stopped before the first epoch", "interrupted", None) from None
    if classes is not None:
        scheme.classes = classes.sorted_names()
    vocab, rows, sizes = ready["vocab"], ready["rows"], ready["sizes"]
    rng = np.random.default_rng(settings.seed)
    net = Network(len(vocab), settings.hidden, rng, activation=settings.activation,
                  init_scale=settings.init_scale, n_classes=scheme.n_classes)
    model = Model(vocab, net, settings.to_dict(), scheme=scheme)
    times = ready["times"]
    model.info.update({"n_train": ready["n_train"], "n_val": ready["n_val"],
                       "n_positive": ready["n_positive"], "times": times,
                       "nnz": sum(s["nnz"] for s in sizes.values()), "shards": len(rows),
                       "workers": {w: s["train"] for w, s in sizes.items()},
                       "rounds": rounds, "mix": how,
                       "cache": {"memory_bytes": 0, "disk_bytes": 0, "folder": None,
                                 "count_threshold": ready["count_threshold"]}})
    if on_prepared is not None:
        on_prepared(model)
    client = engine.client
    y_val = np.concatenate([_result(client.submit(parts.val_labels, r, workers=[w]))
                            for w, r in rows.items()])
    t = time.perf_counter()
    params, opt_state = {k: v.copy() for k, v in net.params().items()}, {}
    done, history = TrainerState(), []
    best_loss, best_params, waited = float("inf"), None, 0
    try:
        for epoch in range(1, settings.epochs + 1):
            lr = settings.lr * (1 - (epoch - 1) / settings.epochs) if settings.lr_decay \
                else settings.lr
            start, loss, hits, n = time.perf_counter(), 0.0, 0.0, 0
            for r in range(rounds):
                if should_stop is not None and should_stop():
                    raise _rewind(net, done, f"stopped during epoch {epoch}", "interrupted")
                [sent] = client.scatter([(params, opt_state)], broadcast=True, hash=False)
                futures = [client.submit(_round, rw, sent, settings, lr, epoch, r, rounds, i,
                                         workers=[w], pure=False)
                           for i, (w, rw) in enumerate(rows.items())]
                results = gather_or_stop(futures, should_stop)
                if results is None:
                    raise _rewind(net, done, f"stopped during epoch {epoch}", "interrupted")
                params, opt_state = mix(params, results, how), mix_optimizer(opt_state, results)
                loss += sum(x["loss"] for x in results)
                hits += sum(x["hits"] for x in results)
                n += sum(x["n"] for x in results)
            seconds = time.perf_counter() - start
            loss = loss / max(n, 1)
            if not np.isfinite(loss) or not np.isfinite(params["W1"]).all():
                raise _rewind(net, done, f"the loss became {loss} in epoch {epoch}; lower "
                              "the learning rate (--lr)", "diverged")
            stats = EpochStats(epoch, loss, hits / max(n, 1), None, None, n / seconds, seconds,
                               lr)
            if len(y_val):
                z = _val_logits(engine, rows, params, settings.activation)
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
    except TrainingStopped as stop:
        times["train"] = time.perf_counter() - t
        raise keep_stopped(stop, model) from None
    _set_params(net, best_params if best_params is not None else params)
    if len(y_val):
        z = _val_logits(engine, rows, net.params(), settings.activation)
        model.info["temperature"] = calibrate_logits(net, z, y_val)
        model.info["val_answers"] = answer_counts(z, scheme.n_classes)
    times["train"] = time.perf_counter() - t
    model.history = [h.to_dict() for h in history]
    return model


def _round(rows, sent, settings, lr, epoch, round_, rounds, worker):
    params, optimizer = sent
    return parts.train_round(rows, params, optimizer, settings, lr, epoch, round_, rounds,
                             worker)


def _val_logits(engine: Engine, rows: dict, params: dict, activation: str) -> np.ndarray:
    client = engine.client
    [sent] = client.scatter([params], broadcast=True, hash=False)
    futures = [client.submit(parts.val_logits, r, sent, activation, workers=[w], pure=False)
               for w, r in rows.items()]
    return np.concatenate([_result(f) for f in futures])
