"""The data report of ``train``: rows, classes and their balance, duplicate texts, and
the test file's overlap with the training file, gathered while the files are read."""
from __future__ import annotations

import numpy as np

from ..features.texthashes import text_hashes


class DataReport:
    """Watches ``(texts, labels)`` chunks go by (:meth:`watch`), keeping 8 bytes per row
    and a count per label code."""

    SAMPLE = 2000  # texts kept to say which scripts the file is written in

    def __init__(self, hashes: np.ndarray | None = None):
        self._hashes: list[np.ndarray] = [] if hashes is None else [hashes]
        self.sample: list[str] = []
        self.codes = np.zeros(0, dtype=np.int64)
        self._unique: np.ndarray | None = None

    def watch(self, chunks):
        for texts, labels in chunks:
            self._hashes.append(text_hashes(texts))
            if len(self.sample) < self.SAMPLE:
                self.sample.extend(texts[:self.SAMPLE - len(self.sample)])
            counts = np.bincount(np.asarray(labels, dtype=np.int64))
            if len(counts) > len(self.codes):
                self.codes = np.pad(self.codes, (0, len(counts) - len(self.codes)))
            self.codes[:len(counts)] += counts
            yield texts, labels

    def add_parts(self, summaries: list[dict]) -> None:
        """What the workers that read the parts of the files said of them (the hashes,
        labels' counts and a sample of :func:`sentiment.cluster.remote.summary`), in order."""
        for s in summaries:
            self._hashes.append(s["hashes"])
            if len(self.sample) < self.SAMPLE:
                self.sample.extend(s["sample"][:self.SAMPLE - len(self.sample)])
            counts = s["codes"]
            if len(counts) > len(self.codes):
                self.codes = np.pad(self.codes, (0, len(counts) - len(self.codes)))
            self.codes[:len(counts)] += counts

    def hashes(self) -> np.ndarray:
        """The hash of every text watched, in order."""
        return np.concatenate(self._hashes) if self._hashes else np.zeros(0, np.uint64)

    def unique(self) -> np.ndarray:
        """The distinct hashes, sorted."""
        if self._unique is None:
            joined = self.hashes()
            self._unique, self._hashes = sorted_unique(joined), [joined]
        return self._unique

    def per_class(self, n_classes: int, remap=None) -> np.ndarray:
        """Rows of each class (``remap``: class table code -> class position)."""
        per_class = np.zeros(n_classes, dtype=np.int64)
        codes = np.arange(len(self.codes)) if remap is None else remap[:len(self.codes)]
        np.add.at(per_class, codes, self.codes)
        return per_class

    def summary(self, name: str, classes: list[str], remap=None) -> str:
        """``name: N rows; class n (share), ...; D duplicate texts (share)``."""
        rows = int(self.codes.sum())
        per_class = self.per_class(len(classes), remap)
        shown = ", ".join(f"{c} {k:,} ({k / max(rows, 1):.1%})"
                          for c, k in list(zip(classes, per_class.tolist()))[:12])
        more = ", ..." if len(classes) > 12 else ""
        duplicates = rows - len(self.unique())
        return (f"{name}: {rows:,} rows; {shown}{more}; {duplicates:,} duplicate texts "
                f"({duplicates / max(rows, 1):.1%})")

    def scripts(self, name: str, rule) -> list[str]:
        """``name: scripts: Han 91% (a token per character), ...``, and a warning when the
        texts are mostly one token each (a script the tokenizer does not split)."""
        from ..features.scripts import describe_scripts, script_shares
        from ..features.tokens import hash_corpus

        chars = np.array([len(t) for t in self.sample])
        sample = self.sample[:max(1, int(np.searchsorted(np.cumsum(chars), 200_000)))]
        chars = chars[:len(sample)]  # 200,000 characters say enough, in a few ms
        shares = describe_scripts(script_shares(sample))
        lines = [f"{name}: scripts: {shares}"] if shares else []
        tokens = hash_corpus(sample, 1, rule=rule).n_tokens
        if len(tokens) and np.median(tokens) <= 1 and np.median(chars) >= 10:
            lines.append(f"{name}: warning: most texts are one token each (median "
                         f"{int(np.median(chars))} characters): the tokenizer finds no word "
                         "boundaries in them, so the model can learn little; split the texts "
                         "into words (with spaces) before training")
        return lines

    def overlap(self, other: "DataReport") -> int:
        """Rows of ``other`` whose text is also in this file."""
        return int(is_in_sorted(other.hashes(), self.unique()).sum())


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by a sort: numpy 2.4's hashes 1M 64-bit text hashes in 0.6-0.7 s,
    its sort in 0.06 s."""
    s = np.sort(a)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def is_in_sorted(a: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """``np.isin(a, sorted_values)`` for sorted distinct values, by binary search (numpy
    2.4's ``isin`` took 0.6 s for 25,000 hashes in 1M: it made each side unique first)."""
    if not len(sorted_values):
        return np.zeros(len(a), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, a), len(sorted_values) - 1)
    return sorted_values[at] == a


def judge_inputs(name: str, model) -> None:
    """Before the first epoch: raise SentimentError when no feature tells the classes
    apart (:func:`~sentiment.training.usable.check_informative`)."""
    from ..errors import DataError, SentimentError
    from ..training.usable import check_informative

    if model.values == "nb":
        try:
            check_informative(model.vocab)
        except DataError as exc:
            raise SentimentError(f"{name}: {exc}") from None


def judge(name: str, model, per_class) -> list[str]:
    """Before saving: raise SentimentError for a model that cannot work
    (:func:`~sentiment.training.usable.check_saveable`); else the warnings to show, if any (weights
    kept as float32, one class answered for almost everything, imbalanced classes)."""
    from ..errors import DataError, SentimentError
    from ..training.usable import balance_warning, check_saveable

    try:
        check_saveable(model)
    except DataError as exc:
        raise SentimentError(f"{name}: {exc}") from None
    notes = []
    if model.info.get("compact", {}).get("weights") == "float32":
        largest = float(np.abs(model.net.W1).max())
        notes.append(f"{name}: warning: weights up to {largest:.3g}, past the 65,504 a "
                     "compact model's float16 holds: kept as float32 (a file twice the "
                     "size); weights this large mean the learning rate (--lr) is too high")
    warning = balance_warning(model.classes, per_class, model.info.get("val_answers"),
                              model.settings.get("class_weight", "none") != "none")
    return notes + ([f"{name}: {warning}"] if warning else [])
