"""Where models and data live: the user's folder, the built-in model, the old local files.

The home folder is ``$SENTIMENT_HOME``, else the platform's cache folder (as scikit-learn
and pooch keep theirs): ``$XDG_CACHE_HOME/sentiment`` or ``~/.cache/sentiment`` on Linux,
``~/Library/Caches/sentiment`` on macOS, ``%LOCALAPPDATA%\\sentiment\\Cache`` on Windows.
``train`` writes its model there unless told otherwise, and the commands that read a model
look there, then for the file earlier versions wrote in the current folder, then use the
model built into the package (trained on IMDB by ``scripts/build_builtin.py``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MODEL_NAME = "sentiment-model.npz"
BUILTIN = Path(__file__).parent.parent / "model" / "imdb.npz"


def home() -> Path:
    """The user's folder for models and data (not created here)."""
    chosen = os.environ.get("SENTIMENT_HOME")
    if chosen:
        return Path(chosen).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "sentiment" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "sentiment"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sentiment"


def default_model() -> Path:
    """Where ``train`` writes its model when given no ``--model``."""
    return home() / MODEL_NAME


def find_model(path: str | os.PathLike | None) -> tuple[Path, str | None]:
    """The model to read: ``path`` if given; else the user's trained model, the file an
    earlier version left in the current folder (``"local"``), or the built-in model
    (``"builtin"``)."""
    if path is not None:
        return Path(path), None
    if default_model().is_file():
        return default_model(), None
    if Path(MODEL_NAME).is_file():  # where earlier versions wrote it
        return Path(MODEL_NAME), "local"
    return BUILTIN, "builtin"


def about_builtin(info: dict) -> str:
    """What the built-in model is, from what it recorded when it was built."""
    accuracy = info.get("test_accuracy")
    scored = f", {accuracy:.1%} on the test split" if accuracy is not None else ""
    return f"the built-in model (trained on {info.get('source', 'IMDB')}{scored})"
