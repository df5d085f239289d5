"""Training settings: everything that decides how a model is trained, in one table.

:class:`Settings` is a frozen dataclass whose field defaults are ``train``'s defaults; each
field carries the help text the command line shows (one flag per field, generated), and
the stages of the comparison are Settings values too (:mod:`sentiment.lab.stages`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from ..nn.dropout import MASKS
from ..nn.network import ACTIVATIONS, KERNELS
from ..nn.optim import OPTIMIZERS

VALUES = ("binary", "count", "nb")
CLASS_WEIGHTS = ("none", "balanced")
NEGATION = 2  # the negation window two classes train with by default
#: epochs by default: EPOCHS, or enough for MIN_STEPS minibatches on a small file, at most
#: MAX_EPOCHS; on a large file no more than enough for MAX_STEPS minibatches, at least one
#: (Settings.for_rows; scripts/epoch_curve.py measures MAX_STEPS on the validation rows)
EPOCHS, MIN_STEPS, MAX_EPOCHS, MAX_STEPS = 5, 800, 50, 4000
#: naive-Bayes smoothing by default: SMOOTH_ROWS / training rows, at least SMOOTHING and
#: at most SMALL_SMOOTHING (Settings.for_vocabulary; scripts/smoothing.py measures it by
#: cross-validation of the training rows: docs/languages.md)
SMOOTHING, SMALL_SMOOTHING, SMOOTH_ROWS = 1.0, 4.0, 16_000
#: numeric setting -> (lowest, highest or None, whether the lowest itself is allowed)
RANGES = {"ngrams": (1, 10, True), "negation": (0, 20, True), "min_count": (1, None, True),
          "polarity_cutoff": (0, None, True), "max_features": (0, None, True),
          "hidden": (1, 4096, True), "lr": (0, None, False), "batch_size": (1, None, True),
          "epochs": (1, 100_000, True), "patience": (0, None, True), "dropout": (0, 1, True),
          "l2": (0, None, True), "smoothing": (0, None, False), "init_scale": (0, None, True),
          "val_fraction": (0, 1, True),
          "seed": (0, 2**32 - 1, True)}


class SettingError(ValueError):
    """A setting out of its range; ``name`` is the setting (``--name`` on the command line)."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name} {reason}")
        self.name, self.reason = name, reason
LOSSES = ("xent", "mse")


def _opt(default, help_text, shown=None):
    """A settings field whose help text the CLI shows (``shown``: its default, in words)."""
    return field(default=default, metadata={"help": help_text,
                                            "shown": default if shown is None else shown})


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a model is trained. Defaults are ``train``'s defaults."""

    ngrams: int = _opt(3, "features: unigrams up to n-grams")
    negation: int | None = _opt(None, "count the features of the words after a negation "
                                "(not, no, never, n't, ...) with a minus sign, up to the N-th "
                                "word that is not a, the, it, is, very, ... (and such words "
                                "right after it), or sooner at punctuation, 'but', '!', '?' "
                                "or another negation; 0: off",
                                f"{NEGATION}, or 0 with --multiclass")
    min_count: int = _opt(2, "keep features seen in at least this many texts")
    polarity_cutoff: float = _opt(0.0, "keep features with |log pos/neg ratio| >= this")
    max_features: int = _opt(1_000_000, "keep at most this many features, the most "
                             "frequent (0: no cap); bounds the model's size")
    values: str = _opt("nb", "input values: binary presence, counts, or NB log-ratio")
    smoothing: float | None = _opt(None, "naive-Bayes smoothing: added to a feature's count "
                                   "in each class before the log-count ratio (values nb); "
                                   "more: rare features weigh less",
                                   f"{SMOOTH_ROWS:,} / training rows, between "
                                   f"{SMOOTHING:g} and {SMALL_SMOOTHING:g}")
    kernel: str = _opt("csr", "layer-1 kernel: dense, rows (per review) or csr (batch)")
    hidden: int = _opt(8, "hidden units")
    activation: str = _opt("linear", "hidden activation")
    loss: str = _opt("xent", "cross-entropy, or the lesson's squared error")
    class_weight: str = _opt("none", "none, or balanced: weigh each row's loss by n / (K x "
                             "its class's rows), for imbalanced classes (trains with numpy, "
                             "not the compiled epoch; one process)")
    optimizer: str = _opt("adagrad", "sgd, adagrad (row-wise) or adam (lazy rows)")
    lr: float = _opt(0.02, "learning rate")
    lr_decay: bool = _opt(True, "decay the learning rate linearly to 0 over the epochs")
    batch_size: int = _opt(128, "reviews per step (per-review kernels use 1)")
    epochs: int | None = _opt(None, "most epochs; early stopping may end sooner",
                              f"{EPOCHS}, more for a small file: enough for {MIN_STEPS} "
                              f"minibatches, up to {MAX_EPOCHS}; fewer for a large one: "
                              f"enough for {MAX_STEPS} minibatches, at least 1")
    patience: int = _opt(2, "stop after this many epochs without a better val loss")
    dropout: float = _opt(0.0, "dropout rate on the hidden layer")
    mask: str = _opt("bytes", "dropout mask method")
    l2: float = _opt(0.0, "L2 penalty on the rows a batch touches")
    init_scale: float = _opt(0.0, "std of W1's initial values (0: zeros, as the lesson)")
    val_fraction: float = _opt(0.1, "share of the rows held out for validation (a seeded "
                               "draw per row)")
    refit: bool = _opt(True, "on a small file (fewer training rows than five epochs of "
                       f"{MIN_STEPS} minibatches need), train once more from the start on "
                       "every row, the validation rows too, for the same epochs")
    seed: int = _opt(0, "one seed for split, initialization, shuffling, masks")


    def __post_init__(self):
        for name, options in (("values", VALUES), ("kernel", KERNELS), ("loss", LOSSES),
                              ("class_weight", CLASS_WEIGHTS),
                              ("optimizer", OPTIMIZERS), ("mask", MASKS),
                              ("activation", ACTIVATIONS)):
            if getattr(self, name) not in options:
                raise SettingError(name, f"must be one of {', '.join(options)}; "
                                   f"got {getattr(self, name)!r}")
        for name, (low, high, closed) in RANGES.items():
            value = getattr(self, name)
            if value is None and name in ("negation", "epochs", "smoothing"):  # chosen later
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise SettingError(name, f"must be a finite number; got {value!r}")
            if value < low or (value == low and not closed) or high is not None and value > high:
                shown = f"{'at least' if closed else 'more than'} {low}" if high is None \
                    else f"between {low} and {high}"
                raise SettingError(name, f"must be {shown}; got {value}")
        if self.dropout >= 1 or self.val_fraction >= 1:
            name = "dropout" if self.dropout >= 1 else "val_fraction"
            raise SettingError(name, f"must be below 1; got {getattr(self, name)}")
        if self.l2 and self.optimizer == "adagrad":
            raise SettingError("l2", "works with optimizer sgd or adam; adagrad has none")
        if self.kernel != "csr" and self.optimizer != "sgd":
            raise SettingError("kernel", f"{self.kernel!r} trains one review at a time with "
                               "plain SGD; use optimizer sgd")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def for_rows(self, n_train: int | None) -> "Settings":
        """These settings with ``epochs`` chosen if left to the default (None): enough for
        :data:`MIN_STEPS` minibatches over ``n_train`` rows, at least :data:`EPOCHS` and at
        most :data:`MAX_EPOCHS`, but no more than enough for :data:`MAX_STEPS`, at least
        one (None rows: :data:`EPOCHS`). A file of a few thousand texts is a few dozen
        minibatches an epoch: five epochs leave it short of what it can learn
        (docs/languages.md measures it); IMDB's 22,500 rows are 176 an epoch, five epochs
        880 steps. A million reviews are 7,000 an epoch: the validation loss of one pass
        is within a few percent of five's (scripts/epoch_curve.py), at a fifth of the time."""
        if self.epochs is not None:
            return self
        if not n_train:
            return replace(self, epochs=EPOCHS)
        per_epoch = -(-n_train // self.batch_size)
        small = min(MAX_EPOCHS, max(EPOCHS, -(-MIN_STEPS // per_epoch)))
        return replace(self, epochs=max(1, min(small, -(-MAX_STEPS // per_epoch))))

    def small(self, n_train: int) -> bool:
        """Whether ``n_train`` rows are a small file: :data:`EPOCHS` epochs of them are
        fewer than :data:`MIN_STEPS` minibatches (:meth:`for_rows` gives it more epochs).
        On such a file the validation rows, once they have chosen the epochs, are worth
        more as training rows (``refit``): docs/languages.md measures it."""
        return -(-n_train // self.batch_size) * EPOCHS < MIN_STEPS

    def for_vocabulary(self, n_train: int | None) -> "Settings":
        """These settings with ``smoothing`` chosen if left to the default (None):
        :data:`SMOOTH_ROWS` / ``n_train`` (training rows), at least :data:`SMOOTHING` and
        at most :data:`SMALL_SMOOTHING`: 4 up to 4,000 rows, 2 at 8,000, 1 from 16,000
        (IMDB's 20,250, and None rows). With a smoothing of 1, a feature seen in two of
        3,000 texts gets a ratio as large as a frequent one's; more pulls the rare ones
        towards 0. Cross-validation of the training rows (scripts/smoothing.py,
        docs/languages.md) prefers 4 on 3,000 English tweets, 2 on 8,000 Chinese reviews,
        1 on 16,000 Thai posts or IMDB sentences."""
        if self.smoothing is not None:
            return self
        value = SMOOTH_ROWS / n_train if n_train else SMOOTHING
        return replace(self, smoothing=float(min(SMALL_SMOOTHING, max(SMOOTHING, value))))

    def for_labels(self, multiclass: bool) -> "Settings":
        """These settings with ``negation`` chosen if left to the default (None): a window
        of :data:`NEGATION` for two classes, none for K. A negated word counts with its
        weights flipped, which for two classes says the opposite; on a scale of K it points
        to the other end ("not great" to a 1 of 10): docs/multiclass.md measures it."""
        if self.negation is not None:
            return self
        return replace(self, negation=0 if multiclass else NEGATION)
