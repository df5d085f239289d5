"""A trained model: vocabulary + network + settings + history; predict, save, load.

The file is one ``.npz`` (numpy's zip of arrays) holding the weights, the vocabulary and
a ``meta`` entry: UTF-8 JSON with the format version, settings, label names, training
history and a CRC-32 of every array. It is read with ``allow_pickle=False``, so loading a
model never runs code, and written to a temporary file renamed into place, so a failed or
interrupted save never leaves a half-written model.
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np

from .errors import SentimentError
from .network import Network, sigmoid
from .text import HASH_VERSION
from .vocab import Vocabulary

FORMAT = "sentiment-model"
FORMAT_VERSION = 1
LABELS = ("negative", "positive")


class Model:
    """A vocabulary and a network that together turn texts into probabilities."""

    def __init__(self, vocab: Vocabulary, net: Network, settings: dict,
                 history: list[dict] | None = None, info: dict | None = None):
        self.vocab, self.net = vocab, net
        self.settings = dict(settings)
        self.history = list(history or [])
        self.info = dict(info or {})
        self._scale = None

    def __repr__(self) -> str:
        return (f"Model(vocab={len(self.vocab)}, hidden={self.net.hidden}, "
                f"ngrams={self.vocab.ngrams}, values={self.settings.get('values')!r})")

    # -- encoding ---------------------------------------------------------------------------
    def input_scale(self) -> np.ndarray | None:
        """Per-feature input value for ``values='nb'`` (NB log-count ratio), else None."""
        if self.settings.get("values") != "nb":
            return None
        if self._scale is None:
            self._scale = self.vocab.log_ratio()
        return self._scale

    def apply_values(self, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Turn binary/count CSR values into this model's input values."""
        scale = self.input_scale()
        return data * scale[indices] if scale is not None else data

    def encode(self, texts):
        """Texts (or a HashedCorpus) as the CSR matrix this network reads."""
        X = self.vocab.encode(texts, binary=self.settings.get("values") != "count")
        X.data = self.apply_values(X.data, X.indices)
        return X

    # -- prediction -------------------------------------------------------------------------
    def predict_proba(self, texts) -> np.ndarray:
        """Probability of ``positive`` for each text (numpy only: fast to start)."""
        return self.predict_details(texts)[0]

    def predict_details(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """Return (probability of positive, number of known features) for each text."""
        data, indices, indptr, known = self.vocab.encode_arrays(
            list(texts), binary=self.settings.get("values") != "count")
        data = self.apply_values(data, indices)
        return sigmoid(self.net.logits_arrays(data, indices, indptr)), known

    def predict(self, texts) -> list[str]:
        return [LABELS[int(p > 0.5)] for p in self.predict_proba(texts)]

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` atomically (temporary file, then rename)."""
        path = Path(path)
        arrays = {**self.vocab.to_arrays(), **self.net.params()}
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "labels": list(LABELS),
                "activation": self.net.activation, "vocab": self.vocab.meta(),
                "settings": self.settings, "history": self.history, "info": self.info,
                "crc32": {k: _crc(v) for k, v in arrays.items()}}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Model":
        """Read a model written by :meth:`save`; raise SentimentError if it is not one."""
        path = Path(path)
        hint = "train one with 'python -m sentiment train' or pass --model"
        if not path.exists():
            raise SentimentError(f"{path}: no such model file; {hint}")
        if path.is_dir():
            raise SentimentError(f"{path}: is a directory, not a model file; {hint}")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:  # zip, npy header or pickle refusal: all mean "not a model"
            raise SentimentError(f"{path}: not a readable model file ({_reason(exc)}); "
                                 f"{hint}") from None
        meta = _read_meta(path, arrays, hint)
        for key, crc in meta["crc32"].items():
            if key not in arrays or _crc(arrays[key]) != crc:
                raise SentimentError(f"{path}: model file is corrupted (array {key!r} fails "
                                     f"its checksum); {hint}")
        try:
            vocab = Vocabulary.from_arrays(arrays, meta["vocab"])
            net = Network.from_params(arrays, meta["activation"])
        except (KeyError, ValueError, TypeError) as exc:
            raise SentimentError(f"{path}: model file is inconsistent ({exc}); {hint}") from None
        if net.W1.shape[0] != len(vocab) or net.w2.shape != net.b1.shape:
            raise SentimentError(f"{path}: model file is inconsistent (weights of shape "
                                 f"{net.W1.shape} for a vocabulary of {len(vocab)}); {hint}")
        return cls(vocab, net, meta["settings"], meta.get("history"), meta.get("info"))


def _crc(a: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).ravel())


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _read_meta(path: Path, arrays: dict, hint: str) -> dict:
    if "meta" not in arrays:
        raise SentimentError(f"{path}: not a sentiment model (no metadata); {hint}")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SentimentError(f"{path}: model metadata is unreadable; {hint}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SentimentError(f"{path}: not a sentiment model file; {hint}")
    if meta.get("version") != FORMAT_VERSION:
        raise SentimentError(f"{path}: model format version {meta.get('version')} is not "
                             f"supported (this version reads {FORMAT_VERSION}); retrain it")
    if meta.get("vocab", {}).get("hash") != HASH_VERSION:
        raise SentimentError(f"{path}: model was built with tokenizer "
                             f"{meta.get('vocab', {}).get('hash')!r}, this version uses "
                             f"{HASH_VERSION!r}; retrain it")
    for key in ("crc32", "settings", "vocab", "activation"):
        if key not in meta:
            raise SentimentError(f"{path}: model metadata lacks {key!r}; {hint}")
    return meta
