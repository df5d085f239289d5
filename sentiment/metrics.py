"""Scores of a model on labelled texts: accuracy, precision, recall, F1, confusion."""
from __future__ import annotations

import numpy as np

from .model import LABELS


def evaluate_model(model, texts, labels) -> dict:
    """Accuracy, precision, recall, F1 (positive class), confusion matrix, baseline."""
    p = model.net.logits(model.encode(texts)) > 0
    y = np.asarray(labels) > 0
    tp, fp = int(np.sum(p & y)), int(np.sum(p & ~y))
    fn, tn = int(np.sum(~p & y)), int(np.sum(~p & ~y))
    n = len(y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": n, "accuracy": (tp + tn) / n, "precision": precision, "recall": recall,
            "f1": f1, "majority_baseline": max(tp + fn, tn + fp) / n,
            "labels": list(LABELS), "confusion": [[tn, fp], [fn, tp]]}
