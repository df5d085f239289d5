"""Batch scoring: ``predict --file reviews.csv`` labels every row of a review file.

The output keeps the input's columns and adds ``label`` and ``probability`` (of that label),
as CSV or as JSON lines. The whole file is encoded as one sparse matrix and scored in a
few sparse products (:meth:`Model.encode` and :meth:`Network.logits`), not text by text:
the 25,000 IMDB test reviews take a few seconds, most of it reading and tokenizing.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .errors import SentimentError, check_writable
from .model import LABELS

UNCERTAIN = "uncertain"
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def score_texts(model, texts: list[str], threshold: float | None = None):
    """Return (labels, probability of each label) for many texts at once.

    A label is ``negative`` or ``positive`` by the sign of the logit (as ``evaluate``
    decides), or ``uncertain`` when its probability is below ``threshold``.
    """
    logits = model.net.logits(model.encode(texts)).astype(np.float64)
    labels = np.where(logits > 0, LABELS[1], LABELS[0]).astype(object)
    probability = 1.0 / (1.0 + np.exp(-np.abs(logits)))  # of the label, in [0.5, 1]
    if threshold is not None:
        labels[probability < threshold] = UNCERTAIN
    return labels, probability


def check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0.5 <= threshold <= 1:
        raise SentimentError(f"--threshold {threshold}: must be between 0.5 and 1 (the "
                             "probability of the predicted label is never below 0.5)")


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


def write_frame(frame, out, fmt: str) -> None:
    """Write ``frame`` to the text stream ``out`` as CSV or JSON lines."""
    if fmt == "csv":
        frame.to_csv(out, index=False, lineterminator="\n")
        return
    dumps = json.dumps
    for record in frame.to_dict(orient="records"):
        out.write(dumps(record, ensure_ascii=False))
        out.write("\n")


def write_output(frame, path: Path | None, fmt: str) -> None:
    """To stdout, or to ``path`` through a temporary file (never a half-written file)."""
    if path is None:
        write_frame(frame, sys.stdout, fmt)
        sys.stdout.flush()
        return
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            write_frame(frame, f, fmt)
        os.replace(tmp, path)
    except OSError as exc:
        raise SentimentError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def run_command(args, load_model, read) -> int:
    """``predict --file``: check the output, load the model, read, score, write."""
    start = time.perf_counter()
    if args.texts:
        raise SentimentError("pass either texts or --file, not both")
    check_threshold(args.threshold)
    path = Path(args.output) if args.output else None
    fmt = output_format(args.output, args.json)
    if path is not None:
        check_writable(path, "--output", "the scores")
    model = load_model(args.model)
    reviews = read(args.file, args, need_labels=False)
    labels, probability = score_texts(model, reviews.texts, args.threshold)
    frame, columns = predictions_frame(reviews, labels, probability)
    if columns != ("label", "probability"):
        print(f"{reviews.path}: already has a column named label or probability; the "
              f"predictions are in {columns[0]!r} and {columns[1]!r}", file=sys.stderr)
    write_output(frame, path, fmt)
    counts = {name: int(np.sum(labels == name)) for name in (*LABELS, UNCERTAIN)}
    shown = ", ".join(f"{name} {n:,}" for name, n in counts.items()
                      if n or name != UNCERTAIN)
    print(f"scored {len(labels):,} rows in {time.perf_counter() - start:.1f} s ({shown})"
          + (f" -> {path}" if path else ""), file=sys.stderr)
    return 0
