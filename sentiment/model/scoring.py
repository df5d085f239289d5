"""Scoring: a model's logits as labels and probabilities, and whole review files scored.

:class:`Scores` (what :meth:`Model.scores <sentiment.model.model.Model.scores>` returns) is
the one route from logits to class codes, labels and probabilities, for ``predict``,
``predict --file``, the server and the model's own ``predict``.

``predict --file reviews.csv`` labels every row of a review file: the output keeps the
input's columns and adds ``label`` and ``probability`` (of that label), as CSV or as JSON
lines. The whole file is encoded as one sparse matrix and scored in a few sparse products
(:meth:`Model.scores` with ``batch``), not text by text: the 25,000 IMDB test reviews take
a few seconds, most of it reading and tokenizing.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import SentimentError
from ..io.files import atomic_write
from ..nn.network import class_probabilities, label_codes, label_probability

UNCERTAIN = "uncertain"
EMPTY = ""  # the label of a row whose text is empty: kept in place, not scored
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class Scores:
    """What a model's logits for some texts say: each text's class (:attr:`codes`, and by
    name :meth:`labels`) and the probabilities (:meth:`probabilities` of each class,
    :meth:`label_probability` of the label). Made by :meth:`Model.scores
    <sentiment.model.model.Model.scores>`; ``known``: each text's number of known
    features, where counted (None otherwise)."""

    def __init__(self, logits: np.ndarray, classes, known: np.ndarray | None = None):
        self.logits, self.classes, self.known = logits, list(classes), known
        self.codes = label_codes(logits)

    def __len__(self) -> int:
        return len(self.logits)

    def probabilities(self) -> np.ndarray:
        """The probability of each class, (n, K), in the logits' precision."""
        return class_probabilities(self.logits)

    def label_probability(self) -> np.ndarray:
        """The probability of each text's label, float64 (see
        :func:`~sentiment.nn.network.label_probability`)."""
        return label_probability(self.logits)

    def labels(self, threshold: float | None = None, probability=None) -> np.ndarray:
        """Each text's class name (an array of objects), or ``uncertain`` where
        ``probability`` (default: :meth:`label_probability`) is below ``threshold``."""
        labels = np.array(self.classes, dtype=object)[self.codes]
        if threshold is not None:
            if probability is None:
                probability = self.label_probability()
            # in float64, as Python compares floats (float32 would round it)
            labels[np.asarray(probability, dtype=np.float64) < threshold] = UNCERTAIN
        return labels


def score_texts(model, texts: list[str], threshold: float | None = None):
    """Return (labels, probability of each label) for many texts at once: a file's chunk,
    scored as one sparse matrix (:meth:`Model.scores <sentiment.model.model.Model.scores>`
    with ``batch``). A label is the model's class (:func:`~sentiment.nn.network.label_codes`),
    or ``uncertain`` when its probability is below ``threshold``.
    """
    scores = model.scores(texts, batch=True)
    probability = scores.label_probability()
    return scores.labels(threshold, probability), probability


def in_order(submit, items, ahead: int, result=None):
    """``(item, result(submit(item)))`` for each of ``items``, in their order, with up to
    ``ahead`` submitted calls more running while the caller handles a result: the bounded
    queue of :func:`prefetch` (threads) and of a cluster's mapper (workers). ``submit``
    returns a future; ``result`` waits for one (default: its ``result()``)."""
    from collections import deque

    wait = result or (lambda future: future.result())
    pending: deque = deque()
    for item in items:
        pending.append((item, submit(item)))
        if len(pending) > ahead:
            item, future = pending.popleft()
            yield item, wait(future)
    while pending:
        item, future = pending.popleft()
        yield item, wait(future)


def prefetch(fn, items, ahead: int = 2):
    """``(item, fn(item))`` for each of ``items`` in order, with up to ``ahead`` of the
    ``fn`` calls running on worker threads while the caller handles the previous result
    and the next item is read (hashing, lookups and sparse products release the GIL for
    most of their time)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(ahead, 1)) as pool:
        yield from in_order(lambda item: pool.submit(fn, item), items, ahead)


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
