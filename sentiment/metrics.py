"""Scores of a model on labelled texts: accuracy, precision, recall, F1, confusion.

The texts may come in chunks (:func:`evaluate_chunks`, a file read chunk by chunk): only
the four counts of the confusion matrix are kept between chunks.
"""
from __future__ import annotations

import numpy as np

from .model import LABELS


def evaluate_model(model, texts, labels) -> dict:
    """Accuracy, precision, recall, F1 (positive class), confusion matrix, baseline."""
    return evaluate_chunks(model, [(texts, labels)])


def evaluate_chunks(model, chunks) -> dict:
    """:func:`evaluate_model` over ``(texts, labels)`` chunks."""
    tp = fp = fn = tn = 0
    for texts, labels in chunks:
        p = model.net.logits(model.encode(texts)) > 0
        y = np.asarray(labels) > 0
        tp, fp = tp + int(np.sum(p & y)), fp + int(np.sum(p & ~y))
        fn, tn = fn + int(np.sum(~p & y)), tn + int(np.sum(~p & ~y))
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": n, "accuracy": (tp + tn) / n if n else float("nan"), "precision": precision,
            "recall": recall, "f1": f1,
            "majority_baseline": max(tp + fn, tn + fp) / n if n else float("nan"),
            "labels": list(LABELS), "confusion": [[tn, fp], [fn, tp]]}
