"""sentiment: a fast sparse-input sentiment classifier.

    >>> import sentiment
    >>> sentiment.predict(["What a wonderful, moving film.", "A dull, lifeless mess."])
    ['positive', 'negative']
    >>> model = sentiment.load()            # the built-in model; or load("my-model.npz")
    >>> model.predict_proba(["not bad at all"]).shape, list(model.classes_)
    ((1, 2), ['negative', 'positive'])
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import SentimentError

if TYPE_CHECKING:  # pragma: no cover
    from .model.model import Model

__version__ = "0.2.0"
__all__ = ["SentimentError", "SentimentClassifier", "SparseNetworkClassifier", "load",
           "predict", "__version__"]

_LAZY = {"SentimentClassifier": "estimator", "SparseNetworkClassifier": "estimator"}
_BUILTIN: list = []  # the built-in model, loaded on first use


def load(path: str | os.PathLike | None = None) -> Model:
    """The model saved at ``path`` (by ``sentiment train`` or ``Model.save``), or with no
    path the model built into the package (trained on IMDB movie reviews)."""
    from .io.paths import BUILTIN
    from .model.model import Model

    if path is None:
        if not _BUILTIN:
            _BUILTIN.append(Model.load(BUILTIN))
        return _BUILTIN[0]
    return Model.load(path)


def predict(texts: Sequence[str], model: Model | str | os.PathLike | None = None
            ) -> list[str]:
    """The label of each text, by ``model`` (a Model or a model file; default: the
    built-in model)."""
    from .model.model import Model

    if not isinstance(model, Model):
        model = load(model)
    return model.predict(texts)


def __getattr__(name: str):
    """Import the scikit-learn estimators on first use, so ``import sentiment`` stays light."""
    if name in _LAZY:
        from importlib import import_module
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
