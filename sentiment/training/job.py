"""The whole training job: labelled texts in, a :class:`~sentiment.model.model.Model` out.

:func:`train` takes texts in memory, :func:`train_chunks` any iterable of ``(texts,
labels)`` chunks (a file read chunk by chunk): both are the same pipeline
(:mod:`sentiment.training.pipeline`: count, vocabulary, encode into shards) followed by
:func:`sentiment.training.loop.fit`. Memory is bounded by ``max_memory``, the chunk size and the
vocabulary cap, never by the number of texts; a temporary cache on disk, if one was needed,
is removed on success, failure and interruption alike.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from ..errors import DataError, SentimentError, StopRequested
from ..features.rules import CURRENT
from ..io.labels import ClassTable, LabelScheme, encode_labels
from ..model.model import Model
from ..nn.network import Network
from .budget import DEFAULT_MAX_MEMORY, Budget
from .checkpoints import checkpoint_parts, state_from_checkpoint
from .loop import EpochStats, LocalStep, TrainerState, TrainingStopped, accuracy, drive, fit
from .pipeline import chunks_of, prepare, validation_rows
from .settings import Settings
from .spool import Spool
from .usable import answer_counts

__all__ = ["Settings", "EpochStats", "TrainerState", "TrainingStopped", "accuracy",
           "checkpoint_parts", "fit", "state_from_checkpoint", "train", "train_chunks",
           "validation_rows"]

_DEFAULTS = Settings()  # frozen: one shared instance is safe as a default


def train(texts: list[str], labels, settings: Settings = _DEFAULTS, *,
          chunk_size: int | None = None, multiclass: bool = False, **options) -> Model:
    """Train a model on texts with 0/1 labels; return a :class:`~sentiment.model.model.Model`.

    With ``multiclass``, the labels may be any values (strings or numbers), each one a
    class (named by its value, in natural order). The texts go through the pipeline in
    chunks of ``chunk_size`` (default: one chunk); ``options`` are those of
    :func:`train_chunks`.
    """
    if multiclass:
        labels, names = encode_labels(labels)
        options.update(scheme=LabelScheme("multiclass", names), classes=ClassTable(names))
    return train_chunks(chunks_of(texts, labels, chunk_size), settings,
                        total=len(texts), **options)


def train_chunks(chunks, settings: Settings = _DEFAULTS, *, on_epoch=None,
                 progress: bool | None = None, limit: int | None = None, resume=None,
                 should_stop=None, threads: int | None = None,
                 max_memory: int = DEFAULT_MAX_MEMORY, cache_dir=None,
                 total: int | None = None, on_prepared=None,
                 scheme: LabelScheme | None = None, classes: ClassTable | None = None,
                 on_checkpoint=None, epoch_threads: int | None = None) -> Model:
    """Train a model on ``(texts, labels)`` chunks; see :func:`train`.

    Holds out a seeded ``settings.val_fraction`` of the rows for validation (early
    stopping), builds the vocabulary on the rest only, and records the time of each step
    and the cache's size in ``model.info``. ``resume`` is a checkpoint model (``Model.load``
    of one with ``checkpoint`` set): its settings, vocabulary and trainer state carry on
    where it stopped, on the same texts. If training stops early, :class:`TrainingStopped`
    carries the model (``.model``) at its last complete epoch, ready to be saved as a
    checkpoint. ``threads`` caps the threads used (tokenizing, BLAS, the epochs); default:
    every core. ``epoch_threads`` caps the epochs' alone (1: another process has the other
    core meanwhile), or is a function giving that cap (or None), asked as the epochs go.
    ``on_prepared(model)`` is called once the rows are ready, before the first epoch.
    ``scheme`` says what the labels are (default: 0/1, negative/positive); K classes
    come with their ``classes`` table, the labels being its codes.
    ``on_checkpoint(model, parts)`` receives, after every epoch but the last (the model
    itself follows), a model holding that epoch's weights (copies) and its trainer state
    as :func:`checkpoint_parts`: what ``Model.save(path, checkpoint=parts)`` needs to
    resume from there.
    """
    if resume is not None:
        settings, scheme = resumed_settings(resume, scheme)
    scheme = scheme or LabelScheme()
    settings = settings_for(settings, classes)
    with Spool(Budget(max_memory).spool_bytes(), cache_dir) as spool, \
            _Bars(progress, total) as bars:
        with before_the_first_epoch():
            ready = prepare(chunks, settings, spool, vocab=resume.vocab if resume else None,
                            max_memory=max_memory, threads=threads, should_stop=should_stop,
                            progress=bars.update,
                            n_train=resume.info.get("n_train") if resume else None,
                            classes=classes)
        bars.close()
        settings = settings.for_rows(ready.train.n_rows)
        check_classes(scheme, classes, resumed=resume is not None)
        model, rng = new_model(ready.vocab, settings, scheme, resume.net if resume else None,
                               info={"n_train": ready.train.n_rows, "n_val": ready.val.n_rows,
                                     "n_positive": ready.n_positive, "times": ready.times,
                                     "nnz": ready.train.nnz, "shards": ready.train.n_shards,
                                     "cache": ready.cache})
        if on_prepared is not None:
            on_prepared(model)
        step = LocalStep(model.net, ready.train, ready.val if ready.val.n_rows else None,
                         settings, rng, limit=limit, progress=progress,
                         should_stop=should_stop,
                         threads=_epoch_cap(threads, epoch_threads))
        with _blas_threads(threads):
            run_epochs(model, step, settings, on_epoch=on_epoch, on_checkpoint=on_checkpoint,
                       state=state_from_checkpoint(*resume.checkpoint) if resume else None)
            if ready.val.n_rows and settings.refit and settings.small(ready.train.n_rows):
                refit(model, ready, settings, should_stop, threads=step.threads)
    return model


@contextmanager
def before_the_first_epoch():
    """A stop requested while the rows are prepared, as training's outcome: stopped, with
    no epoch to keep."""
    try:
        yield
    except StopRequested:
        raise TrainingStopped("stopped before the first epoch", "interrupted", None) from None


def run_epochs(model: Model, step, settings: Settings, *, state: TrainerState | None = None,
               on_epoch=None, on_checkpoint=None) -> None:
    """The epochs of ``step`` (:func:`~sentiment.training.loop.drive`) for ``model``, on
    either route: timed into ``model.info["times"]["train"]``; a stop carries the model at
    its last complete epoch (:func:`keep_stopped`); then the probabilities calibrated on
    the validation rows (:func:`calibrated`) and the history kept."""
    t = time.perf_counter()
    try:
        history = drive(step, settings, state=state, on_epoch=on_epoch,
                        on_state=checkpoints_to(model, on_checkpoint))
    except TrainingStopped as stop:
        model.info["times"]["train"] = time.perf_counter() - t
        raise keep_stopped(stop, model) from None
    y_val = step.val_labels()
    if y_val is not None:
        calibrated(model, step.val_logits(stoppable=False), y_val)
    model.info["times"]["train"] = time.perf_counter() - t
    model.history = [h.to_dict() for h in history]


def resumed_settings(resume: Model, scheme: LabelScheme | None
                     ) -> tuple[Settings, LabelScheme]:
    """The settings and label scheme a checkpoint goes on with (its own), or the error
    that says why it cannot go on."""
    if resume.vocab.rule != CURRENT:
        raise SentimentError(f"the checkpoint was made with an older tokenizer "
                             f"({resume.vocab.rule.name!r}, this version makes "
                             f"{CURRENT.name!r}); train afresh")
    # a setting the checkpoint predates is what its vocabulary was made with
    settings = Settings.from_dict({"negation": resume.vocab.negation,
                                   "smoothing": resume.vocab.smoothing, **resume.settings})
    if (scheme or LabelScheme()).kind != resume.scheme.kind:
        raise SentimentError(f"the checkpoint was trained on {resume.scheme.describe()};"
                             " resume with the same label flags")
    return settings, resume.scheme


def check_classes(scheme: LabelScheme, classes: ClassTable | None, resumed: bool) -> None:
    """K classes: the scheme names the classes counted (in natural order); a resumed run
    must have found the checkpoint's."""
    if classes is None:
        return
    if not resumed:
        scheme.classes = classes.sorted_names()
    elif classes.sorted_names() != scheme.classes:
        raise DataError(f"the checkpoint has the classes {', '.join(scheme.classes)}, "
                        "this file others; resume with the same file")


def new_model(vocab, settings: Settings, scheme: LabelScheme, net: Network | None = None, *,
              info: dict | None = None) -> tuple[Model, np.random.Generator]:
    """The model to train, on either route: ``vocab``, a new network (:func:`new_network`;
    or ``net``, resumed), the settings and label scheme, ``info`` (what preparing counted);
    and the seed's generator, which goes on to shuffle the rows."""
    if net is None:
        net, rng = new_network(len(vocab), settings, scheme.n_classes)
    else:  # resumed: the checkpoint's generator state replaces this one's
        rng = np.random.default_rng(settings.seed)
    settings = settings.with_(smoothing=vocab.smoothing)  # as chosen for the vocabulary
    model = Model(vocab, net, settings.to_dict(), scheme=scheme)
    model.info.update(info or {})
    return model, rng


def new_network(n_inputs: int, settings: Settings, n_classes: int
                ) -> tuple[Network, np.random.Generator]:
    """A network drawn from the seed's generator, and the generator."""
    rng = np.random.default_rng(settings.seed)
    return Network(n_inputs, settings.hidden, rng, activation=settings.activation,
                   init_scale=settings.init_scale, n_classes=n_classes), rng


def checkpoints_to(model: Model, on_checkpoint):
    """The driver's ``on_state`` that hands ``on_checkpoint`` each epoch's model and
    trainer state (see :func:`train_chunks`), or None."""
    if on_checkpoint is None:
        return None
    return lambda done: on_checkpoint(snapshot(model, done), checkpoint_parts(done))


def calibrated(model: Model, z: np.ndarray, y: np.ndarray) -> None:
    """Fold a temperature fitted on the validation rows' logits ``z`` into the model's
    output layer (probabilities that mean what they say: docs/calibration.md) and count
    its answers on them."""
    model.info["temperature"] = calibrate_logits(model.net, z, y)
    model.info["val_answers"] = answer_counts(z, model.scheme.n_classes)


def refit(model: Model, ready, settings: Settings, should_stop=None,
          threads: int | None = None) -> None:
    """Train ``model`` afresh on the training and validation rows of a small file
    (:meth:`Settings.small`) together, for all the epochs chosen for the file (the
    learning rate decaying to 0 over them, as in the first pass), with the temperature
    the first network's validation rows chose folded into its output layer. The
    vocabulary and its input values stay the training rows'; ``model.history`` stays the
    first pass's (the one with validation rows). Stopping at the epoch the first pass kept
    scored lower on the validation files (a few hundred rows chose it). A stop requested
    meanwhile leaves the first pass's model, complete, as it was (``info["refit"]`` says
    it was stopped). ``threads``: at most that many for an epoch."""
    import scipy.sparse as sp

    t = time.perf_counter()
    parts = [p for rows in (ready.train, ready.val) for p in rows.parts()]
    X = sp.vstack([X for X, _ in parts], format="csr")
    y = np.concatenate([y for _, y in parts])
    net, rng = new_network(X.shape[1], settings, model.scheme.n_classes)
    model.info["refit"] = {"rows": X.shape[0], "epochs": settings.epochs}
    try:
        fit(net, X, y, settings, rng, should_stop=should_stop, threads=threads)
    except TrainingStopped:
        model.info["refit"]["stopped"] = True
        return
    fold_temperature(net, model.info["temperature"])
    model.net = net
    model.info["times"]["train"] += time.perf_counter() - t


def calibrate(net: Network, val) -> float:
    """Fit one temperature ``T`` on the validation rows (the logit divided by ``T``
    minimizes their cross-entropy) and fold it into the output layer (``w2, b2 /= T``):
    labels do not change, probabilities become calibrated. Return ``T``."""
    z = np.concatenate([net.logits(X) for X, _ in val.parts()])
    return calibrate_logits(net, z, val.labels())


def calibrate_logits(net: Network, z: np.ndarray, y: np.ndarray) -> float:
    """:func:`calibrate` from the validation rows' logits ``z`` and labels ``y``.

    The loss is convex in ``u = 1 / T`` (a regression of one weight on the logits): a
    golden-section search for its minimum, ``T`` within [0.05, 20] (numpy alone: scipy's
    optimizer took 0.2 s to import).
    """
    from ..nn.network import log_loss_logits

    z = np.asarray(z, dtype=np.float64)

    def loss(u: float) -> float:
        return log_loss_logits(z * u, y)

    ratio = (np.sqrt(5) - 1) / 2
    lo, hi = 1 / 20.0, 1 / 0.05
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    while hi - lo > 1e-9 * hi:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    u = (lo + hi) / 2
    temperature = 1.0 / u
    if not np.isfinite(temperature) or loss(u) > loss(1.0):
        return 1.0  # no better than as trained: leave the weights alone
    fold_temperature(net, temperature)
    return temperature


def fold_temperature(net: Network, temperature: float) -> None:
    """Divide the output layer by ``temperature`` (``w2, b2 /= T``): the logits become
    ``z / T``, the labels stay."""
    net.w2 /= np.float32(temperature)
    net.b2 /= np.float32(temperature)


def keep_stopped(stop: TrainingStopped, model: Model) -> TrainingStopped:
    """``stop`` carrying ``model`` (with the history of the last complete epoch, whose
    weights the network has been put back to), for the caller to checkpoint."""
    if stop.state is not None:
        model.history = [h.to_dict() for h in stop.state.history]
        stop.model = model
    return stop


def snapshot(model: Model, done: TrainerState) -> Model:
    """``model`` with the weights of the epoch ``done`` (sharing its copies)."""
    net = Network.from_params(done.params, model.net.activation)
    snap = Model(model.vocab, net, model.settings, [h.to_dict() for h in done.history],
                 model.info, model.scheme)
    return snap


def settings_for(settings: Settings, classes: ClassTable | None) -> Settings:
    """``settings`` as two classes (``classes`` None) or K train with them: the negation
    window chosen (:meth:`Settings.for_labels`), and K classes' limits checked. The
    epochs are chosen once the rows are counted (:meth:`Settings.for_rows`)."""
    settings = settings.for_labels(multiclass=classes is not None)
    if classes is not None:
        check_multiclass(settings)
    return settings


def check_multiclass(settings: Settings) -> None:
    """K classes train with cross-entropy on minibatches (the softmax output)."""
    if settings.loss != "xent":
        raise SentimentError("--loss mse is the lesson's two-class loss; K classes train "
                             "with --loss xent")
    if settings.kernel != "csr":
        raise SentimentError(f"--kernel {settings.kernel} trains two classes only; K "
                             "classes use --kernel csr")
    if settings.polarity_cutoff:
        raise SentimentError("--polarity-cutoff is the log ratio of positive to negative "
                             "counts, which K classes do not have; leave it at 0")


class _Bars:
    """Progress bars of the two passes (reading, encoding), on a terminal only."""

    def __init__(self, progress: bool | None, total: int | None):
        self.disable = None if progress is None else not progress
        self.total, self.bars = total, {}

    def __enter__(self) -> "_Bars":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, step: str, rows: int) -> None:
        if step not in self.bars:
            from tqdm.auto import tqdm

            self.bars[step] = tqdm(total=self.total, desc=step, unit=" reviews", leave=False,
                                   disable=self.disable, mininterval=0.5)
        self.bars[step].update(rows)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}


def _epoch_cap(threads: int | None, epoch_threads):
    """:class:`LocalStep`'s cap on the epochs' threads, asked as they go: the lower of
    ``threads`` and ``epoch_threads`` (a number, None, or a function giving one)."""
    cap = epoch_threads if callable(epoch_threads) else lambda: epoch_threads
    return lambda: min(filter(None, (threads, cap())), default=None)


def _blas_threads(threads: int | None):
    """A context capping BLAS threads (threadpoolctl), or doing nothing for None."""
    if threads is None:
        from contextlib import nullcontext
        return nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=threads)
