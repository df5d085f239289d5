"""Batch scoring: ``predict --file reviews.csv`` labels every row of a review file.

The output keeps the input's columns and adds ``label`` and ``probability`` (of that label),
as CSV or as JSON lines. The whole file is encoded as one sparse matrix and scored in a
few sparse products (:meth:`Model.encode` and :meth:`Network.logits`), not text by text:
the 25,000 IMDB test reviews take a few seconds, most of it reading and tokenizing.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import SentimentError
from ..io.files import atomic_write
from ..nn.network import sigmoid, softmax

UNCERTAIN = "uncertain"
EMPTY = ""  # the label of a row whose text is empty: kept in place, not scored
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def score_texts(model, texts: list[str], threshold: float | None = None):
    """Return (labels, probability of each label) for many texts at once.

    A label is ``negative`` or ``positive`` by the sign of the logit (as ``evaluate``
    decides), or with K classes the most likely class, or ``uncertain`` when its
    probability is below ``threshold``.
    """
    logits = model.logits(texts).astype(np.float64)
    if logits.ndim == 2:  # K classes: the most likely, and its probability
        best = logits.argmax(axis=1)
        labels = np.array(model.classes, dtype=object)[best]
        probability = softmax(logits)[np.arange(len(best)), best]
    else:
        negative, positive = model.classes  # negative/positive, or two named classes
        labels = np.where(logits > 0, positive, negative).astype(object)
        probability = sigmoid(np.abs(logits))  # of the label, in [0.5, 1]
    if threshold is not None:
        labels[probability < threshold] = UNCERTAIN
    return labels, probability


def prefetch(fn, items, ahead: int = 2):
    """``(item, fn(item))`` for each of ``items`` in order, with up to ``ahead`` of the
    ``fn`` calls running on worker threads while the caller handles the previous result
    and the next item is read (hashing, lookups and sparse products release the GIL for
    most of their time)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(ahead, 1)) as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) > ahead:
                item, future = pending.popleft()
                yield item, future.result()
        while pending:
            item, future = pending.popleft()
            yield item, future.result()


def check_threshold(threshold: float | None, n_classes: int = 2) -> None:
    low = 1 / n_classes
    if threshold is not None and not low <= threshold <= 1:
        of = "" if n_classes == 2 else f" of {n_classes} classes"
        raise SentimentError(f"--threshold {threshold}: must be between {low:.3g} and 1 "
                             f"(the probability of the predicted label{of} is never below "
                             f"{low:.3g})")


def output_format(path: str | None, as_json: bool) -> str:
    """``jsonl`` with --json or a .jsonl/.ndjson output name, else ``csv``."""
    if as_json or (path and Path(path).suffix.lower() in JSONL_SUFFIXES):
        return "jsonl"
    return "csv"


def _free_name(columns, name: str) -> str:
    """``name``, or ``predicted_name`` (then a number) if the input already has it."""
    candidate, k = name, 1
    while candidate in columns:
        candidate = f"predicted_{name}" if k == 1 else f"predicted_{name}_{k}"
        k += 1
    return candidate


def predictions_frame(reviews, labels, probability):
    """The rows read, with label and probability columns added (renamed on a clash)."""
    frame = reviews.frame.copy()
    label_col = _free_name(frame.columns, "label")
    prob_col = _free_name(list(frame.columns) + [label_col], "probability")
    frame[label_col] = labels
    frame[prob_col] = np.round(probability, 6)
    return frame, (label_col, prob_col)


def write_frame(frame, out, fmt: str, header: bool = True) -> None:
    """Write ``frame`` to the text stream ``out`` as CSV (with its ``header`` row) or JSON
    lines."""
    if fmt == "csv":
        columns = [csv_fields(column.tolist()) for _, column in frame.items()]
        if header:
            out.write(",".join(csv_fields(frame.columns)) + "\n")
        out.write("".join([",".join(row) + "\n" for row in zip(*columns)]))
        return
    dumps = json.dumps
    if frame.isna().to_numpy().any():  # NaN is not JSON: an unscored row's probability
        frame = frame.astype(object).where(frame.notna(), None)
    for record in frame.to_dict(orient="records"):
        out.write(dumps(record, ensure_ascii=False))
        out.write("\n")


def csv_fields(values) -> list[str]:
    """Each of ``values`` as a CSV field, as ``csv.QUOTE_MINIMAL`` writes it: in quotes
    (its own doubled) when it holds a comma, a quote or a line break (a carriage return
    too, which the csv module leaves bare after a "\\n" line terminator, so a reader
    splits the row there); a missing value (None, NaN) empty; a number as ``str`` does
    (float64: a float32 column would need ``astype(str)`` to print as pandas does). Four
    times faster than ``DataFrame.to_csv``, which spends as long again converting each
    column. For rows of two fields or more (pandas quotes a row's only field when empty)."""
    fields = []
    for v in values:
        if not isinstance(v, str):
            v = "" if v is None or v != v else str(v)
        if "," in v or '"' in v or "\n" in v or "\r" in v:
            v = '"' + v.replace('"', '""') + '"'
        fields.append(v)
    return fields


@contextmanager
def output_stream(path: Path | None):
    """stdout, or a temporary file that becomes ``path`` only once complete."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        with atomic_write(path, "w", encoding="utf-8", newline="") as f:
            yield f
    except OSError as exc:
        raise SentimentError(f"{path}: cannot write it ({exc.strerror or exc})") from None
