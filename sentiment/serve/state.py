"""The model a server answers with: loaded once, named by a version (a hash of its file),
summarised for ``GET /model``, and replaced only by a new file that loads."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SentimentError


@dataclass(frozen=True)
class Served:
    """One loaded model and where it came from. Immutable: a reload makes a new one, and
    a batch scored with the old one finishes with it."""

    model: object
    path: Path
    version: str  # the first 12 hex digits of the file's SHA-256
    name: str
    size: int = 0  # bytes of the file
    loaded_at: float = field(default_factory=time.time)

    def __repr__(self) -> str:
        return f"Served({self.name!r}, version={self.version!r})"


def file_version(path: Path) -> str:
    """The first 12 hex digits of the SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def load_served(path: Path, name: str | None = None) -> Served:
    """Load the model at ``path`` (the file hashed before and after, so a file replaced
    while it was read is read again); raise SentimentError if it is not a model."""
    from ..model.model import Model

    for _ in range(3):
        try:
            before = file_version(path)
            model = Model.load(path)
            if file_version(path) == before:
                return Served(model, path, before, name or path.name, path.stat().st_size)
        except OSError as exc:
            raise SentimentError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    raise SentimentError(f"{path}: changed three times while it was read; try again")


def summary(served: Served, workers: int | None = None) -> dict:
    """What ``GET /model`` says: name, version, classes and how the model was trained."""
    model = served.model
    info = dict(model.info)
    history = model.history
    best = next((e for e in reversed(history) if e.get("best")),
                history[-1] if history else None)  # the epoch the model kept
    out = {"name": served.name, "path": str(served.path), "version": served.version,
           "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(served.loaded_at)),
           "classes": model.classes, "compact": model.compact,
           "features": len(model.vocab), "settings": model.settings,
           "training": {"source": info.get("source"), "train_rows": info.get("n_train"),
                        "validation_rows": info.get("n_val"),
                        "test_accuracy": info.get("test_accuracy"),
                        "epochs": len(history), "best_epoch": best},
           "info": info}
    if workers is not None:
        out["workers"] = workers
    return out


def describe(served: Served) -> str:
    """One line for the log: which model, its classes and version."""
    return (f"{served.name} ({', '.join(served.model.classes)}; version {served.version}, "
            f"{served.size / 1e6:.1f} MB)")
