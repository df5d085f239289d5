"""sentiment: a fast sparse-input sentiment classifier."""

from .errors import SentimentError

__version__ = "0.1.0"
__all__ = ["SentimentError", "SentimentClassifier", "SparseNetworkClassifier", "__version__"]

_LAZY = {"SentimentClassifier": "estimator", "SparseNetworkClassifier": "estimator"}


def __getattr__(name: str):
    """Import the scikit-learn estimators on first use, so ``import sentiment`` stays light."""
    if name in _LAZY:
        from importlib import import_module
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
