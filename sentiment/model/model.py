"""A trained model: vocabulary + network + settings + history; predict, save, load.

The file format (arrays, metadata, checks) lives in :mod:`sentiment.model.fileformat`; the input
values (binary, counts, naive-Bayes ratios) in :mod:`sentiment.features.vocab`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import SentimentError
from ..features.vocab import MANY_LOOKUPS, Vocabulary
from ..io.labels import BINARY, LabelScheme
from ..io.missing import labels_out, rows_out, split
from ..nn.network import Network, probabilities
from . import fileformat
from .scoring import Scores

LABELS = BINARY


def text_list(texts) -> list[str]:
    """``texts`` as a list, refusing a bare string (which would be read as one text per
    character)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"expected a list of texts, got a single {type(texts).__name__}; "
                        f"wrap it in a list: [{texts[:30]!r}]")
    return list(texts)


class Model:
    """A vocabulary and a network that together turn texts into probabilities.

    ``scheme`` says what the classes are (:class:`~sentiment.io.labels.LabelScheme`):
    negative/positive by default, or K classes named by the values of a label column.
    """

    def __init__(self, vocab: Vocabulary, net: Network, settings: dict,
                 history: list[dict] | None = None, info: dict | None = None,
                 scheme: LabelScheme | None = None):
        self.vocab, self.net = vocab, net
        self.scheme = scheme or LabelScheme()
        self.settings = dict(settings)
        self.history = list(history or [])
        self.info = dict(info or {})
        self.checkpoint: tuple[dict, dict] | None = None  # trainer state, if saved
        self.compact = False  # folded, pruned, float16 (sentiment.model.compact)

    def __repr__(self) -> str:
        return (f"Model(vocab={len(self.vocab)}, hidden={self.net.hidden}, "
                f"ngrams={self.vocab.ngrams}, values={self.values!r})")

    @property
    def classes(self) -> list[str]:
        """The class names, in the order of the network's outputs."""
        return list(self.scheme.classes)

    @property
    def values(self) -> str:
        """The input values the network was trained on: binary, count or nb."""
        return self.settings.get("values", "binary")

    # -- encoding ---------------------------------------------------------------------------
    def apply_values(self, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Turn binary/count CSR values into this model's input values."""
        return self.vocab.input_values(self.values, data, indices)

    def encode(self, texts):
        """Texts (or a HashedCorpus) as the CSR matrix this network reads."""
        X = self.vocab.encode(texts, binary=self.values != "count")
        X.data = self.apply_values(X.data, X.indices)
        return X

    def logits(self, texts) -> np.ndarray:
        """Logits of many texts (or a HashedCorpus): one per text, or (n, K).

        A compact model is one weight per feature (per class), so its logits are sums of
        weights over each text's distinct known features: no sparse matrix is built.
        """
        if not self.compact:
            return self.net.logits(self.encode(texts))

        from ..features.tokens import HashedCorpus
        from ..native.loops import compiled, feature_sums

        vocab, presence = self.vocab, self.values != "count"
        mine = not isinstance(texts, HashedCorpus)
        corpus = vocab.hash(texts) if mine else texts
        fast = compiled()
        if fast is not None and len(vocab) and len(corpus.hashes) > MANY_LOOKUPS:
            z = feature_sums(fast, vocab.table, vocab.hashes, corpus, bool(vocab.negation),
                             presence, self.net.W1)
        else:
            z = _sums(vocab, corpus, presence, self.net.W1, inplace=mine)
        z = z.astype(np.float32) + self.net.b2
        return z[:, 0] if self.net.w2.ndim == 1 else z

    # -- prediction -------------------------------------------------------------------------
    @property
    def classes_(self) -> np.ndarray:
        """The class names as an array: the columns of :meth:`predict_proba`."""
        return np.array(self.classes, dtype=object)

    def scores(self, texts, *, batch: bool = False) -> Scores:
        """The :class:`~sentiment.model.scoring.Scores` of ``texts``: their logits, and the
        labels and probabilities that follow; every prediction goes through here.

        By default the texts are encoded with numpy alone (``predict`` starts fast) and
        each one's known features are counted. ``batch``: a file's chunk, through
        :meth:`logits` (one sparse matrix, or a compact model's summed weights). The
        encoding is the same; with K classes or a compact model, the logits agree to float32
        rounding only (the sums run in another order), which is why each caller keeps its
        way.
        """
        if batch:
            return Scores(self.logits(texts), self.classes)
        data, indices, indptr, known = self.vocab.encode_arrays(
            text_list(texts), binary=self.values != "count")
        data = self.apply_values(data, indices)
        return Scores(self.net.logits_arrays(data, indices, indptr), self.classes, known)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each class for each text, shape (n_texts, n_classes), columns
        in the order of :attr:`classes_` (numpy only: fast to start). A pandas Series
        gives a DataFrame on its index, one column per class; a missing text (None, NaN)
        a row of NaN."""
        texts, missing, index = split(texts)
        return rows_out(self.scores(texts).probabilities(), missing, index, self.classes)

    def predict_details(self, texts: Sequence[str]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (probability of positive, known features, label index) for each text;
        with K classes, the probabilities are (n, K) and the label the most likely.

        The label is the logit's sign (:func:`~sentiment.nn.network.label_codes`), as in
        ``evaluate`` and batch scoring.
        """
        scores = self.scores(texts)
        return probabilities(scores.logits), scores.known, scores.codes

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most likely class of each text (a list of texts in, a list of labels out;
        a pandas Series in, a Series on its index out). A missing text (None, NaN) gets
        the label None."""
        texts, missing, index = split(texts)
        return labels_out(self.scores(texts).labels().tolist(), missing, index)

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, checkpoint: tuple[dict, dict] | None = None,
             *, smallest: bool = False) -> Path:
        """Write the model to ``path`` atomically (see :mod:`sentiment.model.fileformat`).

        ``checkpoint`` is (arrays, metadata) of a trainer state to resume from.
        ``smallest``: compress a compact model's feature names as hard as zlib can (0.5 s
        more on IMDB's, for a file 6% smaller: the built-in model is saved so).
        """
        meta = {"labels": self.classes, "activation": self.net.activation,
                "vocab": self.vocab.meta(), "settings": self.settings,
                "history": self.history, "info": self.info}
        # binary models stay as they were, unless read from two numbers (0/4)
        if self.scheme.kind != "binary" or self.scheme.negative_max is not None:
            meta["scheme"] = self.scheme.to_dict()
        params = self.net.params()
        bad = [k for k, v in params.items() if not np.isfinite(v).all()]
        if bad:  # a file that loading would refuse
            raise SentimentError(f"{path}: the model's {', '.join(bad)} hold infinity or "
                                 "NaN; nothing written: train again with a lower --lr")
        if self.compact:
            meta["compact"] = True
            with np.errstate(over="ignore"):
                half = params["W1"].astype(np.float16)
            if np.isfinite(half).all():  # else float32 (sentiment.model.compact)
                params = {**params, "W1": half}
        arrays = self.vocab.to_arrays(self.compact, level=9 if smallest else 1)
        return fileformat.write(Path(path), {**arrays, **params}, meta, checkpoint)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Model":
        """Read a model written by :meth:`save`; raise SentimentError if it is not one.

        Never unpickles, and checks everything prediction relies on (format version,
        checksums, dtypes, shapes, finite weights) before returning.
        """
        arrays, meta, sorted_hashes, checkpoint = fileformat.read(Path(path))
        vocab = Vocabulary.from_arrays(arrays, meta["vocab"], sorted_hashes)
        net = Network.from_params(arrays, meta["activation"])
        model = cls(vocab, net, meta["settings"], meta.get("history"), meta.get("info"),
                    meta["scheme"])
        model.checkpoint = checkpoint
        model.compact = meta.get("compact") is True
        return model


def _sums(vocab, corpus, presence: bool, W1: np.ndarray, inplace: bool) -> np.ndarray:
    """A compact model's sums of weights (:meth:`Model.logits` before the bias) of the
    HashedCorpus ``corpus``, with numpy: float64, (texts, K). ``inplace``: the corpus's
    hashes may be changed (their negation bit cleared)."""
    from ..features.negation import signed

    hashes, sign = signed(corpus.hashes, vocab.negation, inplace=inplace)
    ids = vocab.lookup(hashes)
    known = ids >= 0
    rows, ids = corpus.rows[known], ids[known]
    if sign is not None:  # said plainly (+), said negated (-), as in training
        parts = _signed_parts(rows, ids, sign[known], len(vocab), presence)
    elif presence:  # each feature once per text
        parts = [_distinct(rows, ids, len(vocab)) + (1,)]
    else:
        parts = [(rows, ids, 1)]
    n = corpus.n_texts
    return sum(s * np.stack([np.bincount(r, weights=W1[i, k], minlength=n)
                             for k in range(W1.shape[1])], axis=1) for r, i, s in parts)


def _distinct(rows: np.ndarray, ids: np.ndarray, n_features: int):
    """(rows, ids) with each (row, id) pair once."""
    import pandas as pd

    key = rows.astype(np.int64)
    key *= n_features
    key += ids
    first = ~pd.Series(key, copy=False).duplicated().to_numpy()
    return rows[first], ids[first]


def _signed_parts(rows, ids, sign, n_features: int, presence: bool):
    """The (rows, ids, +1) said plainly and (rows, ids, -1) said negated, each pair once
    per text with ``presence`` (as :func:`~sentiment.features.vocab.signed_matrix` counts them)."""
    negated = sign < 0
    parts = []
    for part, value in ((~negated, 1), (negated, -1)):  # the negated ones are few
        r, i = rows[part], ids[part]
        parts.append((_distinct(r, i, n_features) if presence else (r, i)) + (value,))
    return parts
