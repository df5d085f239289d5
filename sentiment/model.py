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
from .network import ACTIVATIONS, Network, sigmoid
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
        self.checkpoint: tuple[dict, dict] | None = None  # trainer state, if saved
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
        if self.settings.get("values") != "nb":
            return data
        if self._scale is None and len(indices) < len(self.vocab) // 8:
            # a few texts (predict): the ratios of their features only, not the whole table
            return data * self.vocab.log_ratio(indices=indices)
        return data * self.input_scale()[indices]

    def encode(self, texts):
        """Texts (or a HashedCorpus) as the CSR matrix this network reads."""
        X = self.vocab.encode(texts, binary=self.settings.get("values") != "count")
        X.data = self.apply_values(X.data, X.indices)
        return X

    # -- prediction -------------------------------------------------------------------------
    def predict_proba(self, texts) -> np.ndarray:
        """Probability of ``positive`` for each text (numpy only: fast to start)."""
        return self.predict_details(texts)[0]

    def predict_details(self, texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (probability of positive, known features, label index) for each text.

        The label is the logit's sign, as in ``evaluate`` and batch scoring: a float32
        probability rounds to exactly 0.5 for logits within about 1e-7 of zero.
        """
        data, indices, indptr, known = self.vocab.encode_arrays(
            list(texts), binary=self.settings.get("values") != "count")
        data = self.apply_values(data, indices)
        logits = self.net.logits_arrays(data, indices, indptr)
        return sigmoid(logits), known, (logits > 0).astype(np.int8)

    def predict(self, texts) -> list[str]:
        return [LABELS[i] for i in self.predict_details(texts)[2].tolist()]

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, checkpoint: tuple[dict, dict] | None = None
             ) -> Path:
        """Write the model to ``path`` atomically (temporary file, then rename).

        ``checkpoint`` is (arrays, metadata) of a trainer state to resume from: the arrays
        are stored under names starting with ``ckpt_``, checksummed like the others.
        """
        path = Path(path)
        arrays = {**self.vocab.to_arrays(), **self.net.params()}
        if checkpoint is not None:
            arrays.update({f"ckpt_{k}": v for k, v in checkpoint[0].items()})
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "labels": list(LABELS),
                "activation": self.net.activation, "vocab": self.vocab.meta(),
                "settings": self.settings, "history": self.history, "info": self.info,
                "crc32": {k: _crc(v) for k, v in arrays.items()}}
        if checkpoint is not None:
            meta["checkpoint"] = checkpoint[1]
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:  # disk full, folder gone: the old model stays as it was
            raise SentimentError(f"{path}: cannot write the model ({exc.strerror or exc}); "
                                 "free some space or choose another --model") from None
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Model":
        """Read a model written by :meth:`save`; raise SentimentError if it is not one.

        Never unpickles (``allow_pickle=False``), and checks everything prediction relies
        on (format version, checksums, dtypes, shapes, finite weights) before returning.
        """
        path = Path(path)
        hint = "train one with 'python -m sentiment train' or pass --model"
        if not path.exists():
            raise SentimentError(f"{path}: no such model file; {hint}")
        if path.is_dir():
            raise SentimentError(f"{path}: is a directory, not a model file; {hint}")
        arrays = _read_arrays(path, hint)
        meta = _read_meta(path, arrays, hint)
        sorted_hashes = _check_arrays(path, arrays, meta, hint)
        vocab = Vocabulary.from_arrays(arrays, meta["vocab"], sorted_hashes)
        net = Network.from_params(arrays, meta["activation"])
        model = cls(vocab, net, meta["settings"], meta.get("history"), meta.get("info"))
        if isinstance(meta.get("checkpoint"), dict):
            extra = {k[5:]: v for k, v in arrays.items() if k.startswith("ckpt_")}
            for key in extra:
                if meta["crc32"].get(f"ckpt_{key}") != _crc(extra[key]):
                    raise SentimentError(f"{path}: checkpoint is corrupted (array "
                                         f"{key!r} fails its checksum); train afresh")
            model.checkpoint = (extra, meta["checkpoint"])
        return model


# What a model file holds: array -> (dtype kind, number of dimensions). Every one but
# ``meta`` has a CRC-32 in the metadata.
ARRAYS = {"W1": ("f", 2), "b1": ("f", 1), "w2": ("f", 1), "b2": ("f", 1),
          "vocab_hashes": ("u", 1), "vocab_order": ("i", 1), "vocab_words": ("u", 1),
          "vocab_pos": ("i", 1), "vocab_neg": ("i", 1)}
# an archive whose arrays would expand beyond this many times its size on disk, and
# beyond EXPANSION_FLOOR bytes, is refused (models are stored uncompressed: about 1x)
MAX_EXPANSION = 20
EXPANSION_FLOOR = 64 * 2**20
# metadata entry -> its JSON type; and the same for the vocabulary's settings
META_TYPES = {"crc32": dict, "settings": dict, "vocab": dict, "activation": str,
              "history": list, "info": dict}
OPTIONAL = ("history", "info")
VOCAB_TYPES = {"size": int, "ngrams": int, "min_count": int, "polarity_cutoff": (int, float),
               "n_pos": int, "n_neg": int}


def _crc(a: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).ravel())


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _read_arrays(path: Path, hint: str) -> dict:
    """Every array of the .npz, refusing anything that is not a plain numeric array."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise SentimentError(f"{path}: cannot read it ({exc.strerror or exc}); {hint}") from None
    if magic != b"PK\x03\x04":
        why = "it is empty" if not magic else "it is not an .npz archive"
        raise SentimentError(f"{path}: not a model file ({why}); {hint}")
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            _check_expansion(path, z.zip.infolist(), hint)
            for key in z.files:
                try:
                    arrays[key] = z[key]
                except ValueError as exc:
                    if "pickle" not in str(exc):
                        raise
                    raise SentimentError(f"{path}: not a model file (array {key!r} holds "
                                         f"pickled Python objects, which are never loaded); "
                                         f"{hint}") from None
    except SentimentError:
        raise
    except Exception as exc:  # zip or npy header damage: all mean "not a whole model"
        raise SentimentError(f"{path}: model file is damaged or truncated ({_reason(exc)}); "
                             f"{hint}") from None
    return arrays


def _check_expansion(path: Path, members, hint: str) -> None:
    """Refuse an archive whose members would expand far beyond its size on disk.

    :meth:`Model.save` stores arrays uncompressed, so a model takes about its file size in
    memory; a member that inflates to gigabytes (a "zip bomb") is refused before any byte
    of it is read.
    """
    expanded = sum(m.file_size for m in members)
    on_disk = path.stat().st_size
    if expanded > max(MAX_EXPANSION * on_disk, EXPANSION_FLOOR):
        raise SentimentError(f"{path}: not a model file (its arrays would take "
                             f"{expanded / 1e6:,.0f} MB in memory from {on_disk / 1e6:,.1f} MB "
                             f"on disk; this tool never writes compressed models); {hint}")


def _read_meta(path: Path, arrays: dict, hint: str) -> dict:
    """The metadata entry as a dict, with every field prediction relies on checked."""
    raw = arrays.get("meta")
    if raw is None:
        raise SentimentError(f"{path}: not a sentiment model (no metadata); {hint}")
    try:
        if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8:
            raise ValueError("metadata is not UTF-8 bytes")
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError):  # not bytes, bad UTF-8 or JSON, absurd nesting
        raise SentimentError(f"{path}: model metadata is unreadable; {hint}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SentimentError(f"{path}: not a sentiment model file; {hint}")
    if meta.get("version") != FORMAT_VERSION:
        raise SentimentError(f"{path}: model format version {meta.get('version')!r} is not "
                             f"supported (this version reads {FORMAT_VERSION}); retrain it")
    for key, kind in META_TYPES.items():
        if not isinstance(meta.get(key, kind() if key in OPTIONAL else None), kind):
            raise SentimentError(f"{path}: model metadata lacks a valid {key!r}; {hint}")
    vocab = meta["vocab"]
    if vocab.get("hash") != HASH_VERSION:
        raise SentimentError(f"{path}: model was built with tokenizer {vocab.get('hash')!r}, "
                             f"this version uses {HASH_VERSION!r}; retrain it")
    for key, kind in VOCAB_TYPES.items():
        value = vocab.get(key)
        if not isinstance(value, kind) or key != "polarity_cutoff" and value < (key == "ngrams"):
            raise SentimentError(f"{path}: model metadata has no valid vocabulary {key!r}; "
                                 f"{hint}")
    if meta["activation"] not in ACTIVATIONS:
        raise SentimentError(f"{path}: model uses activation {meta['activation']!r}, this "
                             f"version knows {', '.join(ACTIVATIONS)}; retrain it")
    if meta.get("labels", list(LABELS)) != list(LABELS):
        raise SentimentError(f"{path}: model labels {meta['labels']!r} are not "
                             f"{list(LABELS)!r}; retrain it")
    return meta


def _check_arrays(path: Path, arrays: dict, meta: dict, hint: str) -> np.ndarray:
    """Checksums, dtypes and shapes: a damaged model fails here, not at prediction time.

    Return the vocabulary's hashes in sorted order (checked here, kept for lookups).
    """
    def bad(why):
        return SentimentError(f"{path}: model file is inconsistent ({why}); {hint}")

    crcs = meta["crc32"]
    for key, (kind, ndim) in ARRAYS.items():
        a = arrays.get(key)
        if not isinstance(a, np.ndarray):
            raise bad(f"no array {key!r}")
        if key not in crcs:
            raise bad(f"no checksum for array {key!r}")
        if _crc(a) != crcs[key]:
            raise SentimentError(f"{path}: model file is corrupted (array {key!r} fails its "
                                 f"checksum); {hint}")
        if a.dtype.kind != kind or a.ndim != ndim:
            raise bad(f"array {key!r} is {a.ndim}-D {a.dtype}")
    n, hidden = arrays["W1"].shape
    sizes = {"b1": hidden, "w2": hidden, "b2": 1, "vocab_hashes": n, "vocab_order": n,
             "vocab_pos": n, "vocab_neg": n}
    for key, size in sizes.items():
        if len(arrays[key]) != size:
            raise bad(f"array {key!r} has {len(arrays[key])} entries, W1 is {n} x {hidden}")
    if meta["vocab"]["size"] != n:
        raise bad(f"vocabulary of {meta['vocab']['size']} for W1 of {n} rows")
    words = arrays["vocab_words"]
    if (np.count_nonzero(words == 10) + 1 if len(words) else 0) != n:
        raise bad(f"the vocabulary's words are not {n}")
    order = arrays["vocab_order"]
    if n and (order.min() < 0 or order.max() >= n):
        raise bad("the vocabulary index points outside the vocabulary")
    hashes = arrays["vocab_hashes"][order]
    if np.any(hashes[1:] < hashes[:-1]):  # lookups binary-search this order
        raise bad("the vocabulary index is not sorted")
    for key in ("W1", "b1", "w2", "b2"):
        if not np.isfinite(arrays[key]).all():
            raise bad(f"array {key!r} holds NaN or infinity")
    return hashes
