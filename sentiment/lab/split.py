"""The comparison's data: a training file and a test file, or a held-out share of one."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SentimentError

#: share of the training file held out as the test set when there is no test file
TEST_FRACTION = 0.2


def load_split(train_path, test_path=None, seed: int = 0, notes=None, *,
               multiclass: bool = False, label_column: str | None = None):
    """Read the training (and test) file; without a test file hold out TEST_FRACTION.

    Returns ``(train_texts, train_labels, test_texts, test_labels, description)``; with
    ``multiclass`` the labels are positions in the sorted classes of the training file.
    """
    from ..io.reader import read_reviews

    note = notes or (lambda line: None)
    if multiclass:
        train, classes = _read_classes(train_path, label_column)
    else:
        train = read_reviews(train_path, label_column=label_column)
    for line in train.notes:
        note(line)
    _check_labels(train)
    if test_path is not None:
        test = _read_classes(test_path, label_column, classes)[0] if multiclass \
            else read_reviews(test_path, label_column=label_column)
        for line in test.notes:
            note(line)
        return (train.texts, train.labels, test.texts, test.labels,
                f"train {_short(train.path)} ({len(train):,} reviews), test "
                f"{_short(test.path)} ({len(test):,})")
    order = np.random.default_rng(seed).permutation(len(train.texts))
    n_test = max(1, int(round(len(order) * TEST_FRACTION)))
    te, tr = order[:n_test], order[n_test:]
    note(f"no test file: holding out {n_test:,} random reviews of {train.path} as the test set")
    return ([train.texts[i] for i in tr], train.labels[tr],
            [train.texts[i] for i in te], train.labels[te],
            f"{_short(train.path)}: {len(tr):,} reviews to train, {n_test:,} held out to "
            f"test (seed {seed})")


def _short(path) -> str:
    """The file name with its folder: enough to recognize the data set."""
    return "/".join(Path(path).parts[-2:])


def _read_classes(path, label_column, classes=None):
    """A file's reviews with every label value a class: (reviews, sorted classes), the
    labels their positions; with ``classes``, those of the training file."""
    from ..io.labels import LabelScheme
    from ..io.reader import ReviewFile

    source = ReviewFile(path, label_column=label_column,
                        scheme=LabelScheme("multiclass", list(classes or [])),
                        fixed=classes is not None)
    (reviews,) = source.chunks()
    reviews.notes = source.notes
    if classes is None:
        reviews.labels = source.labels.table.remap()[reviews.labels]
        classes = source.labels.table.sorted_names()
    return reviews, classes


def _check_labels(reviews) -> None:
    if len(np.unique(reviews.labels)) > 2:
        return
    counts = np.bincount(reviews.labels, minlength=2)
    if counts.min() == 0:
        only = "positive" if counts[1] else "negative"
        raise SentimentError(f"{reviews.path}: every label is {only}; the comparison needs "
                             "both positive and negative reviews")
