"""The whole training job: texts and labels in, a :class:`~sentiment.model.Model` out.

Splits off a validation set, tokenizes, fits the vocabulary on the training rows only,
encodes, then hands the rows to :func:`sentiment.trainer.fit`.
"""
from __future__ import annotations

import time

import numpy as np

from .model import Model
from .network import Network
from .settings import Settings
from .text import hash_corpus
from .trainer import (
    EpochStats,
    TrainerState,
    TrainingStopped,
    accuracy,
    checkpoint_parts,
    fit,
    state_from_checkpoint,
)
from .vocab import Vocabulary

__all__ = ["Settings", "EpochStats", "TrainerState", "TrainingStopped", "accuracy",
           "checkpoint_parts", "fit", "split_indices", "state_from_checkpoint", "train"]


def split_indices(n: int, fraction: float, rng: np.random.Generator):
    """Return (train, validation) index arrays: a random ``fraction`` held out."""
    order = rng.permutation(n)
    n_val = int(round(n * fraction)) if n > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


_DEFAULTS = Settings()  # frozen: one shared instance is safe as a default


def train(texts: list[str], labels, settings: Settings = _DEFAULTS, *, on_epoch=None,
          progress: bool | None = None, limit: int | None = None, resume=None,
          should_stop=None, threads: int | None = None):
    """Train a model on texts with 0/1 labels; return a :class:`~sentiment.model.Model`.

    Holds out ``settings.val_fraction`` of the texts for validation (early stopping), builds
    the vocabulary on the rest only, and records the time of each step in ``model.info``.
    ``resume`` is a checkpoint model (``Model.load`` of one with ``checkpoint`` set): its
    settings, vocabulary and trainer state carry on where it stopped, on the same texts.
    If training stops early, :class:`TrainingStopped` carries the model (``.model``) at
    its last complete epoch, ready to be saved as a checkpoint. ``threads`` caps the
    threads used (tokenizing chunks, BLAS); default: every core.
    """
    if resume is not None:
        settings = Settings.from_dict(resume.settings)
    if settings.kernel != "csr" and settings.optimizer != "sgd":
        raise ValueError(f"kernel {settings.kernel!r} trains one review at a time with "
                         "plain SGD; use optimizer='sgd'")
    labels = np.asarray(labels, dtype=np.int8)
    rng = np.random.default_rng(settings.seed)
    tr, va = split_indices(len(texts), settings.val_fraction, rng)
    if resume is not None and resume.info.get("n_train") != len(tr):
        raise ValueError(f"the checkpoint was trained on {resume.info.get('n_train')} "
                         f"reviews of {resume.info.get('source')}, this file gives "
                         f"{len(tr)}; resume with the same file")
    times = {}
    t = time.perf_counter()
    corpus = hash_corpus([texts[i] for i in tr], settings.ngrams, keep_text=resume is None,
                         workers=threads)
    val_corpus = hash_corpus([texts[i] for i in va], settings.ngrams, workers=threads)
    times["tokenize"] = time.perf_counter() - t
    t = time.perf_counter()
    binary = settings.values != "count"
    if resume is None:
        vocab, X = Vocabulary.fit_encode(corpus, labels[tr], ngrams=settings.ngrams,
                                         min_count=settings.min_count,
                                         polarity_cutoff=settings.polarity_cutoff,
                                         binary=binary, consume=True)
    else:
        vocab, X = resume.vocab, resume.vocab.encode(corpus, binary=binary)
    times["vocabulary"] = time.perf_counter() - t
    if len(vocab) == 0:
        raise ValueError("the vocabulary is empty: no feature occurs in at least "
                         f"min_count={settings.min_count} texts with |polarity| >= "
                         f"{settings.polarity_cutoff}; lower --min-count or "
                         "--polarity-cutoff")
    t = time.perf_counter()
    net = resume.net if resume is not None else Network(
        len(vocab), settings.hidden, rng, activation=settings.activation,
        init_scale=settings.init_scale)
    model = Model(vocab, net, settings.to_dict())
    X.data = model.apply_values(X.data, X.indices)
    X_val = model.encode(val_corpus) if len(va) else None
    times["encode"] = time.perf_counter() - t
    del corpus
    model.info.update({"n_train": int(len(tr)), "n_val": int(len(va)),
                       "n_positive": int(labels[tr].sum()), "times": times,
                       "nnz": int(X.nnz)})
    state = None
    if resume is not None:
        state = state_from_checkpoint(*resume.checkpoint)
    t = time.perf_counter()
    try:
        with _blas_threads(threads):
            history = fit(net, X, labels[tr], settings, rng, X_val=X_val,
                          y_val=labels[va] if len(va) else None, on_epoch=on_epoch,
                          progress=progress, limit=limit, state=state,
                          should_stop=should_stop)
    except TrainingStopped as stop:
        times["train"] = time.perf_counter() - t
        if stop.state is not None:
            model.history = [h.to_dict() for h in stop.state.history]
            stop.model = model
        raise
    times["train"] = time.perf_counter() - t
    model.history = [h.to_dict() for h in history]
    return model


def _blas_threads(threads: int | None):
    """A context capping BLAS threads (threadpoolctl), or doing nothing for None."""
    if threads is None:
        from contextlib import nullcontext
        return nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=threads)
