"""Scores of a model on labelled texts: accuracy, precision, recall, F1, confusion.

The texts may come in chunks (:func:`evaluate_chunks`, a file read chunk by chunk): only
the K x K confusion matrix is kept between chunks. Two classes report precision, recall
and F1 of the positive class; K classes report them per class, with macro F1 and, when
the classes are numbers (ratings), the share predicted within one of the truth.
"""
from __future__ import annotations

import numpy as np

from ..io.labels import numeric_classes
from ..nn.network import label_codes


def evaluate_model(model, texts, labels) -> dict:
    """Accuracy, precision, recall, F1, confusion matrix, majority baseline."""
    return evaluate_chunks(model, [(texts, labels)])


def evaluate_chunks(model, chunks, ahead: int = 2, mapper=None, logits=None) -> dict:
    """:func:`evaluate_model` over ``(texts, labels)`` chunks (labels: class positions);
    up to ``ahead`` chunks are scored on worker threads while the next one is read, or by
    ``mapper(fn, chunks, arg)`` (a cluster's: ``fn(model, arg(chunk))`` in order).
    ``logits(texts)``: how a chunk's texts are scored (default: ``model.logits``)."""
    from .scoring import prefetch

    k = model.net.n_classes
    confusion = np.zeros(k * k, dtype=np.int64)
    logits = logits or model.logits
    scored = prefetch(lambda chunk: logits(chunk[0]), chunks, ahead) \
        if mapper is None else mapper(model_logits, chunks, lambda chunk: chunk[0])
    for (_, labels), z in scored:
        predicted = label_codes(z)
        y = np.asarray(labels).astype(np.int64) if k > 2 else \
            (np.asarray(labels) > 0).astype(np.int64)
        confusion += np.bincount(y * k + predicted, minlength=k * k)
    return scores(confusion.reshape(k, k), model.classes)


def model_logits(model, texts) -> np.ndarray:
    """``model.logits(texts)``: a function a cluster's worker can be sent."""
    return model.logits(texts)


def scores(confusion: np.ndarray, classes: list[str]) -> dict:
    """Every figure of a confusion matrix (rows: actual class, columns: predicted)."""
    n = int(confusion.sum())
    hits = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(actual > 0, hits / actual, 0.0)
        f1 = np.where(precision + recall > 0,
                      2 * precision * recall / (precision + recall), 0.0)
    out = {"n": n, "accuracy": float(hits.sum() / n) if n else float("nan"),
           "precision": float(precision[-1]), "recall": float(recall[-1]),
           "f1": float(f1[-1]),
           "majority_baseline": float(actual.max() / n) if n else float("nan"),
           "labels": list(classes), "confusion": confusion.tolist()}
    out["macro_f1"] = float(f1.mean())  # every class's figures, for two classes as for K
    out["per_class"] = {c: {"precision": float(p), "recall": float(r), "f1": float(f),
                            "support": int(s)}
                        for c, p, r, f, s in zip(classes, precision, recall, f1, actual)}
    if len(classes) > 2:
        del out["precision"], out["recall"], out["f1"]  # no one positive class
        values = numeric_classes(classes)
        if values is not None and n:
            near = np.abs(values[:, None] - values[None, :]) <= 1
            out["within_one"] = float(confusion[near].sum() / n)
    return out
