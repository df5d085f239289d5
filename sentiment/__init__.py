"""sentiment: a fast sparse-input sentiment classifier."""

from .errors import SentimentError

__version__ = "0.1.0"
__all__ = ["SentimentError", "__version__"]
