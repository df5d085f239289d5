"""scikit-learn estimators: :class:`SentimentClassifier` over raw texts, and
:class:`SparseNetworkClassifier`, the network alone, over a (sparse) feature matrix.

Both take any label values (``classes_`` sorted as ``np.unique`` sorts them): two classes
train the network's single sigmoid output (``classes_[1]`` is the "positive" one it
scores), more train a softmax over K outputs. They work with ``Pipeline``,
``cross_val_score``, ``GridSearchCV`` and ``clone``::

    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import make_pipeline
    from sentiment import SentimentClassifier, SparseNetworkClassifier

    SentimentClassifier(epochs=3).fit(texts, labels).predict(["a wonderful film"])
    make_pipeline(CountVectorizer(binary=True), SparseNetworkClassifier()).fit(texts, labels)

The only module of the core that imports scikit-learn (the lab imports it too, for its
reference rows), so ``import sentiment`` and ``predict``
stay light: :mod:`sentiment` exports these classes lazily.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .errors import SentimentError
from .io.missing import is_missing, labels_out, rows_out, split
from .nn.network import Network, class_probabilities, label_codes
from .training.job import Settings, check_multiclass, fit, train

_DEFAULT = Settings()  # the defaults live in one place: the Settings table


def _targets(name: str, y, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Return (classes_, y as class positions), refusing continuous or one-class targets
    (and settings that cannot train K classes)."""
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type not in ("binary", "multiclass"):
        raise ValueError(f"{name} supports binary and multiclass targets; the type of the "
                         f"target is {y_type}.")
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{name} needs two classes in y; got 1 class ({classes[0]!r})")
    if len(classes) > 2:
        try:
            check_multiclass(settings)
        except SentimentError as exc:
            raise ValueError(str(exc)) from None
    return classes, index.astype(np.int8 if len(classes) < 128 else np.int32)


def _seed(random_state):
    """An int seed as given (same weights as ``train`` with that seed), else one drawn."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _decision(net: Network, X) -> np.ndarray:
    """Logits of the CSR rows ``X`` (n, or n x K); the last layer in float64, so a row's
    logits do not depend on which other rows are in the batch."""
    z = np.asarray(X @ net.W1)
    z += net.b1
    z = net.act(z)
    b2 = net.b2.astype(np.float64)
    return z.astype(np.float64) @ net.w2.astype(np.float64) + (b2 if len(b2) > 1 else b2[0])


class _NetworkClassifier(ClassifierMixin, BaseEstimator):
    """Prediction shared by both estimators: from logits to classes and probabilities."""

    def _logits(self, X) -> np.ndarray:  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def decision_function(self, X) -> np.ndarray:
        """Two classes: the logit of ``classes_[1]`` (positive means ``classes_[1]``);
        K classes: the K logits of each sample, shape (n_samples, K)."""
        return self._logits(X)

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class of ``classes_``, shape (n_samples, n_classes)."""
        return class_probabilities(self._logits(X))

    def predict(self, X) -> np.ndarray:
        """The predicted class of each sample, from ``classes_``."""
        z = self._logits(X)  # first: it checks that the estimator is fitted
        return self.classes_[label_codes(z)]


class SparseNetworkClassifier(_NetworkClassifier):
    """The two-layer sparse network as a classifier over a feature matrix.

    ``hidden = act(X @ W1 + b1)``, ``p = sigmoid(hidden @ w2 + b2)``, trained on minibatches
    with the sparse kernels: a step costs O(nnz x hidden), whatever the number of features.
    Takes sparse (CSR is used as is) or dense input; no validation split, no early stopping.

    Parameters
    ----------
    hidden, activation, loss, optimizer, lr, lr_decay, batch_size, epochs, dropout, l2,
    init_scale : the training settings of the same names (see ``python -m sentiment train
        --help``); defaults as there.
    random_state : int, RandomState or None, default 0
        Seeds initialization, shuffling and dropout masks.

    Attributes
    ----------
    classes_ : the labels; with two, ``classes_[1]`` is the one the logit scores.
    net_ : :class:`sentiment.nn.network.Network`, the trained weights.
    history_ : list of dict, one per epoch (loss, train accuracy, speed).
    n_features_in_ : number of features seen in ``fit``.
    """

    def __init__(self, hidden=_DEFAULT.hidden, activation=_DEFAULT.activation,
                 loss=_DEFAULT.loss, optimizer=_DEFAULT.optimizer, lr=_DEFAULT.lr,
                 lr_decay=_DEFAULT.lr_decay, batch_size=_DEFAULT.batch_size,
                 epochs=_DEFAULT.epochs, dropout=_DEFAULT.dropout, l2=_DEFAULT.l2,
                 init_scale=_DEFAULT.init_scale, random_state=0):
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.dropout = dropout
        self.l2 = l2
        self.init_scale = init_scale
        self.random_state = random_state

    def _settings(self) -> Settings:
        params = self.get_params()
        params.pop("random_state")  # seeds the generator fit makes, not a setting
        return Settings(**params, val_fraction=0.0, patience=0, kernel="csr")

    def fit(self, X, y):
        """Train on ``X`` (n_samples x n_features, sparse or dense) and labels ``y``."""
        settings = self._settings()  # invalid settings fail before any work
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float32)
        self.classes_, y01 = _targets(type(self).__name__, y, settings)
        X = sp.csr_matrix(X, dtype=np.float32)
        rng = np.random.default_rng(_seed(self.random_state))
        net = Network(X.shape[1], settings.hidden, rng, activation=settings.activation,
                      init_scale=settings.init_scale, n_classes=len(self.classes_))
        history = fit(net, X, y01, settings, rng, progress=False)
        self.net_ = net
        self.history_ = [h.to_dict() for h in history]
        return self

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self, "net_")
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float32, reset=False)
        return _decision(self.net_, sp.csr_matrix(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _texts(X, name: str) -> list[str]:
    """The texts of ``X`` (a list, array or Series of str) as a list."""
    if isinstance(X, (str, bytes)):
        raise ValueError(f"{name} expects an iterable of texts; got a single string")
    texts = list(X)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            gone = ("; a text is missing there: drop the rows without one before fit"
                    if is_missing(t) else "")
            raise ValueError(f"{name} expects texts (str); item {i} is "
                             f"{type(t).__name__}: {t!r:.60}{gone}")
    return texts


def _split_texts(X, name: str):
    """:func:`sentiment.io.missing.split`, a ValueError for what is not a text (as
    scikit-learn's checks expect)."""
    try:
        return split(X, name)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


class SentimentClassifier(_NetworkClassifier):
    """Texts in, labels out: tokenizer, vocabulary and network, trained as ``train`` does.

    ``fit(texts, y)`` is ``sentiment.training.job.train`` with these settings (with an int
    ``random_state``, it gives the vocabulary of ``python -m sentiment train --seed``, and
    its weights to float32 rounding: the command line reads the file in chunks, which
    orders each row's terms differently),
    so it builds the vocabulary on the training texts, holds out ``val_fraction`` of them
    for early stopping and keeps the best epoch.

    Parameters
    ----------
    ngrams, negation, min_count, polarity_cutoff, max_features, values, kernel, hidden,
    activation, loss, class_weight,
    optimizer, lr, lr_decay, batch_size, epochs, patience, dropout, mask, l2, init_scale,
    val_fraction, refit, smoothing :
        the training settings of the same names (see ``python -m sentiment train --help``);
        defaults as there.
    random_state : int, RandomState or None, default 0
        The ``seed`` setting.
    verbose : bool, default False
        Show a progress bar per epoch.

    Attributes
    ----------
    classes_ : the labels; with two, ``classes_[1]`` is the one the model calls positive.
    model_ : :class:`sentiment.model.model.Model`; ``model_.save(path)`` writes a model file the
        command line reads, and :func:`sentiment.model.explain.explain` takes it.
    history_ : list of dict, one per epoch.
    """

    def __init__(self, ngrams=_DEFAULT.ngrams, negation=_DEFAULT.negation,
                 min_count=_DEFAULT.min_count,
                 polarity_cutoff=_DEFAULT.polarity_cutoff,
                 max_features=_DEFAULT.max_features, values=_DEFAULT.values,
                 kernel=_DEFAULT.kernel, hidden=_DEFAULT.hidden,
                 activation=_DEFAULT.activation, loss=_DEFAULT.loss,
                 class_weight=_DEFAULT.class_weight, optimizer=_DEFAULT.optimizer,
                 lr=_DEFAULT.lr, lr_decay=_DEFAULT.lr_decay,
                 batch_size=_DEFAULT.batch_size, epochs=_DEFAULT.epochs,
                 patience=_DEFAULT.patience, dropout=_DEFAULT.dropout, mask=_DEFAULT.mask,
                 l2=_DEFAULT.l2, init_scale=_DEFAULT.init_scale,
                 val_fraction=_DEFAULT.val_fraction, refit=_DEFAULT.refit,
                 smoothing=_DEFAULT.smoothing, random_state=0,
                 verbose=False):
        self.ngrams = ngrams
        self.negation = negation
        self.min_count = min_count
        self.polarity_cutoff = polarity_cutoff
        self.max_features = max_features
        self.values = values
        self.kernel = kernel
        self.hidden = hidden
        self.activation = activation
        self.loss = loss
        self.class_weight = class_weight
        self.optimizer = optimizer
        self.lr = lr
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.dropout = dropout
        self.mask = mask
        self.l2 = l2
        self.init_scale = init_scale
        self.val_fraction = val_fraction
        self.refit = refit
        self.smoothing = smoothing
        self.random_state = random_state
        self.verbose = verbose

    def settings(self) -> Settings:
        """The :class:`~sentiment.training.settings.Settings` these parameters stand for."""
        params = self.get_params()
        seed = _seed(params.pop("random_state"))
        params.pop("verbose")
        params["class_weight"] = params["class_weight"] or "none"  # None, as scikit-learn's
        # Settings wants an int seed; None means "fresh entropy", as in scikit-learn
        seed = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else seed
        return Settings(**params, seed=seed)

    def fit(self, X, y):
        """Train on texts ``X`` (list, array or Series of str) and labels ``y``."""
        settings = self.settings()
        name = type(self).__name__
        texts = _texts(X, name)
        y = column_or_1d(y, warn=True)
        check_consistent_length(texts, y)
        self.classes_, index = _targets(name, y, settings)
        k = len(self.classes_)
        # K classes: positions 0..K-1 keep their order (np.unique's) as class names
        self.model_ = train(texts, index, settings, progress=self.verbose or False,
                            multiclass=k > 2)
        if k > 2:
            from .io.labels import canonical

            self.model_.scheme.classes = [canonical(str(c)) for c in self.classes_]
        self.history_ = self.model_.history
        return self

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        texts, missing, _ = _split_texts(X, type(self).__name__)
        return rows_out(_decision(self.model_.net, self.model_.encode(texts)), missing)

    def predict(self, X):
        """The predicted class of each text, from ``classes_``; None for a missing text
        (None, NaN). A pandas Series gives a Series on its index. ``predict_proba`` and
        ``decision_function`` give NaN rows for missing texts, and arrays for a Series
        too: scikit-learn's scorers index them as arrays (``[:, 1]``)."""
        labels = super().predict(X)
        _, missing, index = _split_texts(X, type(self).__name__)
        if missing is not None:
            labels = labels[~missing]
        return labels_out(labels, missing, index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
