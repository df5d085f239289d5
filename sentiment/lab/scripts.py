"""What the measurement scripts in ``scripts/`` share: data sets made from IMDB, and their
Markdown reports."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def imdb_sentences(frame, per_review: int, n: int, seed: int):
    """Single sentences of 6-30 words from IMDB reviews: up to ``per_review`` from each
    review of ``frame``, ``n`` in all (seeded), each row carrying its review's other
    columns (``sentiment``, ``rating``)."""
    rng = np.random.default_rng(seed)
    texts, rows = [], []
    for row, review in enumerate(frame["review"]):
        parts = [s.strip() for s in re.split(r"(?<=[.!?])\s+", review.replace("<br />", " "))]
        parts = [s for s in parts if 6 <= len(s.split()) <= 30]
        for i in rng.permutation(len(parts))[:per_review]:
            texts.append(parts[i])
            rows.append(row)
    keep = rng.permutation(len(texts))[:n]
    out = frame.iloc[[rows[i] for i in keep]].reset_index(drop=True)
    out["review"] = [texts[i] for i in keep]
    return out


def write_report(lines: list[str], out: str | None) -> str:
    """Join a Markdown report, print it, and write it to ``out`` if given."""
    report = "\n".join(lines) + "\n"
    print(report)
    if out:
        Path(out).write_text(report)
    return report
