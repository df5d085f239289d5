"""The model file format: one ``.npz`` of plain arrays plus a JSON ``meta`` entry.

``meta`` is UTF-8 JSON with the format version, settings, label names, training history and
a CRC-32 of every array. The file is read with ``allow_pickle=False``, so loading a model
never runs code, and every array and field prediction relies on is checked (checksums,
dtypes, shapes, finite weights, a bound on expansion) before a model is built from it. It
is written through a temporary file renamed into place, so a failed or interrupted save
never leaves a half-written model. This module knows arrays and metadata, not the classes
built from them (:mod:`sentiment.model.model` does that).
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from ..errors import SentimentError
from ..features.rules import CURRENT, rule_named
from ..io.files import atomic_write
from ..io.labels import BINARY, KINDS, MAX_CLASSES, LabelScheme
from ..nn.network import ACTIVATIONS

FORMAT = "sentiment-model"
#: 2: the vocabulary's naive-Bayes smoothing (``vocab.smoothing``) when it is not 1, which
#: older code would read as 1 (and so refuses); a file with smoothing 1 is still version 1
FORMAT_VERSION, VERSIONS = 2, (1, 2)
HINT = "train one with 'python -m sentiment train' or pass --model"


def write(path: Path, arrays: dict, meta: dict, checkpoint: tuple[dict, dict] | None = None
          ) -> Path:
    """Write ``arrays`` and ``meta`` (plus a trainer checkpoint) to ``path`` atomically.

    ``checkpoint`` is (arrays, metadata) of a trainer state to resume from: the arrays are
    stored under names starting with ``ckpt_``, checksummed like the others.
    """
    arrays = dict(arrays)
    same = {}  # checkpoint array -> the stored array it is (the epoch's weights are the
    # model's own, and the best epoch's are often the last's): stored once
    if checkpoint is not None:
        for k, v in checkpoint[0].items():
            twin = next((name for name, a in arrays.items() if a is v), None)
            if twin is not None:
                same[k] = twin
            else:
                arrays[f"ckpt_{k}"] = v
    version = FORMAT_VERSION if "smoothing" in meta.get("vocab", {}) else 1
    meta = {"format": FORMAT, "version": version, **meta,
            "crc32": {k: crc(v) for k, v in arrays.items()}}
    if checkpoint is not None:
        meta["checkpoint"] = {**checkpoint[1], "same": same}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    try:
        with atomic_write(path) as f:
            savez(f, arrays)
    except OSError as exc:  # disk full, folder gone: the old model stays as it was
        raise SentimentError(f"{path}: cannot write the model ({exc.strerror or exc}); "
                             "free some space or choose another --model") from None
    return path


def savez(f, arrays: dict) -> None:
    """Write ``arrays`` to the open file ``f`` as ``np.savez`` does (a zip of .npy files,
    stored), a megabyte at a time from each array: ``np.savez`` copies 16 MB at a time, 16
    MB more memory while training writes a checkpoint beside its epochs."""
    import zipfile

    from numpy.lib import format as npy

    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, a in arrays.items():
            a = np.asarray(a)  # 0-d stays 0-d; Fortran order stays (np.save's bytes)
            if not (a.flags.c_contiguous or a.flags.f_contiguous):
                a = np.ascontiguousarray(a)
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                npy.write_array_header_1_0(out, npy.header_data_from_array_1_0(a))
                data = a if a.flags.c_contiguous else a.T  # .T of Fortran order: C order
                view = memoryview(data.reshape(-1)).cast("B")
                for lo in range(0, len(view), 1 << 20):
                    out.write(view[lo:lo + (1 << 20)])


def read(path: Path) -> tuple[dict, dict, np.ndarray, tuple | None]:
    """Read and check a model file: (arrays, meta, sorted vocabulary hashes, checkpoint).

    Raise SentimentError, naming the file and what is wrong, if it is not a whole model
    (its ``labels``: two or more distinct class names, negative/positive by default).
    """
    if not path.exists():
        raise SentimentError(f"{path}: no such model file; {HINT}")
    if path.is_dir():
        raise SentimentError(f"{path}: is a directory, not a model file; {HINT}")
    arrays = _read_arrays(path, HINT)
    meta = _read_meta(path, arrays, HINT)
    sorted_hashes = _check_arrays(path, arrays, meta, HINT)
    checkpoint = None
    if isinstance(meta.get("checkpoint"), dict):
        extra = {k[5:]: v for k, v in arrays.items() if k.startswith("ckpt_")}
        for key in extra:
            if meta["crc32"].get(f"ckpt_{key}") != crc(extra[key]):
                raise SentimentError(f"{path}: checkpoint is corrupted (array "
                                     f"{key!r} fails its checksum); train afresh")
        same = meta["checkpoint"].get("same") or {}
        if not isinstance(same, dict) or not all(
                isinstance(t, str) and t in arrays for t in same.values()):
            raise SentimentError(f"{path}: checkpoint is corrupted (its array references "
                                 "are wrong); train afresh")
        # copies: training goes on in the model's arrays, the checkpoint's must stay put
        extra.update({k: np.array(arrays[t]) for k, t in same.items()})
        checkpoint = (extra, meta["checkpoint"])
    return arrays, meta, sorted_hashes, checkpoint


# What a model file holds: array -> (dtype kind, number of dimensions). Every one but
# ``meta`` has a CRC-32 in the metadata.
ARRAYS = {"W1": ("f", 2), "b1": ("f", 1), "w2": ("f", 1), "b2": ("f", 1),
          "vocab_hashes": ("u", 1)}
# and the vocabulary of a full model (a lookup order, words, counts) ...
FULL_ARRAYS = {"vocab_order": ("i", 1), "vocab_words": ("u", 1), "vocab_pos": ("i", 1),
               "vocab_neg": ("i", 1)}
# ... or of a compact one (``meta["compact"]``: hashes sorted, words compressed, no counts)
COMPACT_ARRAYS = {"vocab_words_z": ("u", 1)}
# arrays some models have: the naive-Bayes values of K classes
OPTIONAL_ARRAYS = {"vocab_scale": ("f", 1)}
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


def crc(a: np.ndarray) -> int:
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

    :func:`write` stores arrays uncompressed, so a model takes about its file size in
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
    if meta.get("version") not in VERSIONS:
        raise SentimentError(f"{path}: model format version {meta.get('version')!r} is not "
                             f"supported (this version reads up to {FORMAT_VERSION}); retrain "
                             "it")
    for key, kind in META_TYPES.items():
        if not isinstance(meta.get(key, kind() if key in OPTIONAL else None), kind):
            raise SentimentError(f"{path}: model metadata lacks a valid {key!r}; {hint}")
    vocab = meta["vocab"]
    if rule_named(vocab.get("hash")) is None:
        raise SentimentError(f"{path}: model was built with tokenizer {vocab.get('hash')!r}, "
                             f"this version uses {CURRENT.name!r}; retrain it (or score it "
                             "with the version of sentiment that made it)")
    for key, kind in VOCAB_TYPES.items():
        value = vocab.get(key)
        if not isinstance(value, kind) or key != "polarity_cutoff" and value < (key == "ngrams"):
            raise SentimentError(f"{path}: model metadata has no valid vocabulary {key!r}; "
                                 f"{hint}")
    smoothing = vocab.get("smoothing", 1.0)
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) \
            or not 0 < smoothing < float("inf"):
        raise SentimentError(f"{path}: model metadata has no valid vocabulary 'smoothing'; "
                             f"{hint}")
    if meta["activation"] not in ACTIVATIONS:
        raise SentimentError(f"{path}: model uses activation {meta['activation']!r}, this "
                             f"version knows {', '.join(ACTIVATIONS)}; retrain it")
    labels = meta.setdefault("labels", list(BINARY))
    if not isinstance(labels, list) or not 2 <= len(labels) <= MAX_CLASSES \
            or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
        raise SentimentError(f"{path}: model metadata has no valid class names; {hint}")
    scheme = meta.get("scheme")
    try:
        meta["scheme"] = LabelScheme.from_dict(scheme)
        if meta["scheme"].classes != labels or meta["scheme"].kind not in KINDS:
            raise ValueError
    except (TypeError, ValueError):
        raise SentimentError(f"{path}: model metadata has no valid label scheme; "
                             f"{hint}") from None
    return meta


def _check_arrays(path: Path, arrays: dict, meta: dict, hint: str) -> np.ndarray:
    """Checksums, dtypes and shapes: a damaged model fails here, not at prediction time.

    Return the vocabulary's hashes in sorted order (checked here, kept for lookups).
    """
    def bad(why):
        return SentimentError(f"{path}: model file is inconsistent ({why}); {hint}")

    crcs = meta["crc32"]
    k = len(meta["labels"])
    optional = [key for key in OPTIONAL_ARRAYS if key in arrays]
    compact = meta.get("compact") is True
    for key, (kind, ndim) in {**ARRAYS, **(COMPACT_ARRAYS if compact else FULL_ARRAYS),
                              **{key: OPTIONAL_ARRAYS[key] for key in optional}}.items():
        ndim = 2 if key == "w2" and k > 2 else ndim
        a = arrays.get(key)
        if not isinstance(a, np.ndarray):
            raise bad(f"no array {key!r}")
        if key not in crcs:
            raise bad(f"no checksum for array {key!r}")
        if crc(a) != crcs[key]:
            raise SentimentError(f"{path}: model file is corrupted (array {key!r} fails its "
                                 f"checksum); {hint}")
        if a.dtype.kind != kind or a.ndim != ndim:
            raise bad(f"array {key!r} is {a.ndim}-D {a.dtype}")
    n, hidden = arrays["W1"].shape
    sizes = {"b1": hidden, "w2": hidden, "b2": 1 if k == 2 else k, "vocab_hashes": n,
             **({} if compact else {"vocab_order": n, "vocab_pos": n, "vocab_neg": n}),
             **{key: n for key in optional}}
    if k > 2 and arrays["w2"].shape[1] != k:
        raise bad(f"array 'w2' has {arrays['w2'].shape[1]} outputs for {k} classes")
    for key, size in sizes.items():
        if len(arrays[key]) != size:
            raise bad(f"array {key!r} has {len(arrays[key])} entries, W1 is {n} x {hidden}")
    if meta["vocab"]["size"] != n:
        raise bad(f"vocabulary of {meta['vocab']['size']} for W1 of {n} rows")
    if compact:  # the words are counted when first decompressed (explain, similar)
        hashes = arrays["vocab_hashes"]
    else:
        words = arrays["vocab_words"]
        if (np.count_nonzero(words == 10) + 1 if len(words) else 0) != n:
            raise bad(f"the vocabulary's words are not {n}")
        order = arrays["vocab_order"]
        if n and (order.min() < 0 or order.max() >= n):
            raise bad("the vocabulary index points outside the vocabulary")
        hashes = arrays["vocab_hashes"][order]
    if np.any(hashes[1:] < hashes[:-1]):  # lookups binary-search this order
        raise bad("the vocabulary index is not sorted")
    for key in ("W1", "b1", "w2", "b2", *optional):
        if not np.isfinite(arrays[key]).all():
            raise bad(f"array {key!r} holds NaN or infinity")
    return hashes
