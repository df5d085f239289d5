"""Whether a trained model can work, said before it is saved.

A model can be trained and still be no use: no feature moves its answer (every text gets
the same one), weights a model file cannot hold, or one class answered for (almost) every
text because the classes were badly imbalanced. :func:`check_informative` refuses the
first before the epochs, :func:`check_saveable` the first two before saving, and
:func:`balance_warning` words the third, for a model that still works.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError

#: one class answered for this share of the held-out rows or more: the model learned little
ALMOST_ALL = 0.97
#: fewer held-out rows than this say too little to warn about the answers
MIN_HELD_OUT = 20
#: the largest class this many times the smallest: badly imbalanced
IMBALANCE = 10


def check_informative(vocab) -> None:
    """Raise :class:`DataError` when every feature's naive-Bayes value is 0 (each occurs
    in every class as often as in the others): the input is all zeros, whatever the
    text, so no training can tell the classes apart."""
    if len(vocab) and not np.any(vocab.nb_scale()):
        raise DataError(f"no feature tells the classes apart: each of the {len(vocab):,} "
                        "features kept occurs in every class as often as in the others, so "
                        "every text would get the same answer; nothing was trained: add more "
                        "(and more varied) texts, or lower --min-count")


def check_saveable(model) -> None:
    """Raise :class:`DataError` when ``model`` cannot work: no feature left (a compact
    model keeps only features of non-zero weight) or a weight NaN or infinite (a file
    that loading refuses)."""
    if len(model.vocab) == 0:
        before = model.info.get("compact", {}).get("features_before")
        kept = f"the {before:,} features kept all" if before else "all its features"
        raise DataError(f"no feature moves the model's answer ({kept} ended with weight 0), "
                        "so every text would get the same answer; nothing saved: add more "
                        "(and more varied) texts, or lower --min-count")
    bad = [k for k, v in model.net.params().items() if not np.isfinite(v).all()]
    if bad:
        raise DataError(f"the weights grew past what a model file holds ({', '.join(bad)} "
                        "hold infinity or NaN); nothing saved: lower the learning rate (--lr)")


def answer_counts(z: np.ndarray, n_classes: int) -> list[int]:
    """How many of the rows with logits ``z`` (n, or n x K) each class answers."""
    picked = z.argmax(axis=1) if z.ndim == 2 else (z > 0).astype(np.int64)
    return np.bincount(picked, minlength=n_classes).tolist()


def balance_warning(classes: list[str], counts, answers: list[int] | None,
                    weighted: bool = False) -> str | None:
    """One line (without the file's name) when the model answers one class for (almost)
    every held-out row (``answers``: per class, None without held-out rows) or the
    classes' ``counts`` are badly imbalanced (unless ``weighted``: trained with
    ``--class-weight balanced``), saying what to do; else None."""
    counts = np.asarray(counts, dtype=np.int64)
    total = max(int(counts.sum()), 1)
    small = [c for c, n in zip(classes, counts.tolist()) if n * IMBALANCE < counts.max()]
    shares = ", ".join(f"{c} {n / total:.1%}" for c, n in list(zip(classes, counts))[:12])
    add = f"add texts of {_names(small)}" + ("" if weighted else
                                              ", or train with --class-weight balanced")
    answered = sum(answers) if answers is not None else 0
    if answered >= MIN_HELD_OUT and max(answers) >= ALMOST_ALL * answered:
        top = int(np.argmax(answers))
        said = (f"warning: the model answers {classes[top]!r} for {max(answers):,} of the "
                f"{answered:,} held-out rows ({max(answers) / answered:.1%})")
        if small:
            return (f"{said}: the classes are imbalanced ({shares}) and it learned little of "
                    f"{_names(small)}; {add}")
        return (f"{said}, though {counts[top] / total:.1%} of the texts are {classes[top]!r}: "
                "it learned little that tells the classes apart; check the labels, or train "
                "on more texts")
    if small and not weighted:
        return (f"warning: the classes are imbalanced ({shares}): the model will miss many "
                f"texts of {_names(small)}; {add}")
    return None


def _names(classes: list[str]) -> str:
    shown = ", ".join(repr(c) for c in classes[:3])
    return shown + (f" and {len(classes) - 3} more" if len(classes) > 3 else "")
