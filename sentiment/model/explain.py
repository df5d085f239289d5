"""Why a text got its label (:func:`explain`), and what the hidden layer learned (:func:`similar`).

Layer 1 is a sum of rows: ``z = sum_j x_j W1[j] + b1``. With the linear activation the logit
is ``z @ w2 + b2``, so it splits exactly into one term per feature,
``x_j * (W1[j] @ w2)``, plus a bias ``b1 @ w2 + b2``. With relu the split is taken through
the text's active units ``m = z > 0``: ``x_j * ((W1[j] * m) @ w2)`` and bias
``(b1 * m) @ w2 + b2``. That is exact for the text as it is (the terms still add up to the
logit), but a feature's term is not what removing it would change, since removing it can
switch units on or off.

:func:`similar` compares the rows a feature adds to the hidden layer. With the default
training (linear units, ``W1`` starting at zero, no dropout) every update to ``W1`` is a
multiple of ``w2``, so ``W1`` is rank one: all rows are parallel, their cosine is +-1 and a
cosine ranking is noise. Then the only thing the layer learned about a word is one number,
its weight, and :func:`similar` ranks by the dot product instead (as the original lesson
did): the words that push hardest in the query's direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SentimentError
from ..nn.network import sigmoid, softmax
from .model import LABELS

RANK_ONE = 1e-3  # second / first singular value of the rows below which layer 1 is rank one
METRICS = ("auto", "cosine", "dot")


@dataclass
class Explanation:
    """Signed contribution of each known feature of one text to its logit.

    ``features``, ``values`` and ``contributions`` are sorted by contribution, highest first;
    ``bias + contributions.sum() == logit`` (up to float rounding). With K classes,
    ``logit`` is the predicted class's (``classes[predicted]``), and ``probabilities``
    holds every class's.
    """

    text: str
    logit: float
    bias: float
    features: list[str]
    values: np.ndarray
    contributions: np.ndarray
    classes: tuple = LABELS
    predicted: int | None = None  # K classes: the predicted class's position
    probabilities: np.ndarray | None = None  # K classes: of each class

    @property
    def label(self) -> str:
        if self.predicted is not None:
            return self.classes[self.predicted]
        return self.classes[int(self.logit > 0)]

    @property
    def probability(self) -> float:
        """Probability of :attr:`label`."""
        if self.probabilities is not None:
            return float(self.probabilities[self.predicted])
        return float(sigmoid(abs(self.logit)))

    def class_probabilities(self) -> dict:
        """Each class's probability, rounded for JSON."""
        if self.probabilities is not None:
            return {c: round(float(p), 6) for c, p in zip(self.classes, self.probabilities)}
        p = float(sigmoid(np.float64(self.logit)))
        return {self.classes[0]: round(1 - p, 6), self.classes[1]: round(p, 6)}

    def __repr__(self) -> str:
        return (f"Explanation(label={self.label!r}, logit={self.logit:+.4f}, "
                f"features={len(self.features)})")

    def top(self, n: int | None = None) -> tuple[list[int], list[int]]:
        """Positions of the ``n`` strongest positive and negative contributions."""
        c = self.contributions
        pos = [i for i in range(len(c)) if c[i] > 0]
        neg = [i for i in reversed(range(len(c))) if c[i] < 0]
        return (pos, neg) if n is None else (pos[:n], neg[:n])

    def to_dict(self, top: int | None = None) -> dict:
        """JSON-ready; ``other`` sums the contributions left out, so the parts add up."""
        pos, neg = self.top(top)
        shown = pos + neg

        def rows(positions):
            return [{"feature": self.features[i], "value": round(float(self.values[i]), 6),
                     "contribution": round(float(self.contributions[i]), 6)}
                    for i in positions]

        return {"text": self.text, "label": self.label,
                "probabilities": self.class_probabilities(),
                "logit": round(self.logit, 6), "bias": round(self.bias, 6),
                "positive": rows(pos), "negative": rows(neg),
                "other": {"features": len(self.features) - len(shown),
                          "contribution": round(float(self.contributions.sum()
                                                      - self.contributions[shown].sum()), 6)}}


def explain(model, text: str) -> Explanation:
    """Split the model's logit for ``text`` into one exact term per known feature (with K
    classes, the logit of the predicted class).

    Parameters
    ----------
    model : sentiment.model.model.Model
    text : str

    Returns
    -------
    Explanation
        Computed in float64; its logit matches the model's (float32) to about 1e-5.
    """
    net = model.net
    data, indices, _, _ = model.vocab.encode_arrays(
        [text], binary=model.settings.get("values") != "count")
    x = model.apply_values(data, indices).astype(np.float64)
    rows = net.W1[indices].astype(np.float64)
    w2 = net.w2.astype(np.float64)
    b1 = net.b1.astype(np.float64)
    b2 = net.b2.astype(np.float64)
    if net.activation == "relu":
        active = (x @ rows + b1) > 0
        w2 = w2 * (active[:, None] if w2.ndim == 2 else active)
    predicted = probabilities = None
    if w2.ndim == 2:  # K classes: explain the logit of the most likely one
        logits = x @ (rows @ w2) + b1 @ w2 + b2
        predicted = int(np.argmax(logits))
        probabilities = softmax(logits[None, :])[0]
        w2, b2 = w2[:, predicted], b2[predicted:predicted + 1]
    per_unit = rows @ w2  # each feature's row seen through the output weights
    contributions = x * per_unit
    bias = float(b1 @ w2 + b2[0])
    order = np.argsort(-contributions, kind="stable")
    from ..features.scripts import display

    words = model.vocab.words
    # a negated feature is named as such: its value counts with a minus sign
    names = [display(words[j]) if d > 0 else f"{display(words[j])} (negated)"
             for j, d in zip(indices[order], data[order])]
    return Explanation(text, bias + float(contributions.sum()), bias,
                       names, x[order], contributions[order],
                       tuple(model.classes), predicted, probabilities)


def format_explanation(e: Explanation, top: int = 10) -> str:
    """A short table: strongest features each way, the rest summed, the bias, the logit."""
    pos, neg = e.top(top)
    shown = pos + neg
    towards = f" towards {e.label!r}" if e.predicted is not None else ""
    lines = [f"{e.label} (probability {e.probability:.4f}, logit{towards} {e.logit:+.4f}; "
             f"{len(e.features)} known features)",
             f"{'contribution':>12}  feature"]
    lines += [f"{e.contributions[i]:+12.4f}  {e.features[i]}" for i in pos]
    if pos and neg:
        lines.append(f"{'':>12}  ...")
    lines += [f"{e.contributions[i]:+12.4f}  {e.features[i]}" for i in reversed(neg)]
    rest = len(e.features) - len(shown)
    if rest:
        other = float(e.contributions.sum() - e.contributions[shown].sum())
        lines.append(f"{other:+12.4f}  ({rest} other features)")
    lines.append(f"{e.bias:+12.4f}  (bias)")
    lines.append(f"{e.logit:+12.4f}  = logit")
    return "\n".join(lines)


# -- similar -------------------------------------------------------------------------------

@dataclass
class Neighbours:
    """Features nearest to ``word`` by their layer-1 rows; see :func:`similar`."""

    word: str
    metric: str  # the metric used ("cosine" or "dot")
    rank_ratio: float  # second / first singular value of the rows: ~0 means rank one
    words: list[str]
    scores: np.ndarray
    weights: np.ndarray  # each neighbour's contribution to the logit when present
    counts: np.ndarray  # training texts each neighbour occurs in
    note: str = ""

    def __repr__(self) -> str:
        return f"Neighbours({self.word!r}, metric={self.metric!r}, n={len(self.words)})"

    def to_dict(self) -> dict:
        return {"word": self.word, "metric": self.metric,
                "rank_ratio": float(f"{self.rank_ratio:.3g}"), "note": self.note,
                "neighbours": [{"word": w, "score": round(float(s), 6),
                                "weight": round(float(g), 6), "count": int(c)}
                               for w, s, g, c in zip(self.words, self.scores, self.weights,
                                                     self.counts)]}


def feature_rows(model) -> np.ndarray:
    """What each feature adds to the hidden layer when present: its input value x W1 row.

    With naive-Bayes input values the sign of a word lives in its value, not in its row
    (a positive and a negative word can have the same row), so raw rows mislead.
    """
    scale = model.vocab.nb_scale() if model.values == "nb" else None
    return model.net.W1 * scale[:, None] if scale is not None else model.net.W1


def rank_ratio(rows: np.ndarray) -> float:
    """Second over first singular value of ``rows``, from the small hidden x hidden Gram."""
    rows = rows.astype(np.float64, copy=False)
    s = np.sqrt(np.clip(np.linalg.eigvalsh(rows.T @ rows), 0, None))[::-1]
    return float(s[1] / s[0]) if len(s) > 1 and s[0] > 0 else 0.0


def find_feature(model, word: str) -> int:
    """Column id of ``word`` (a word or an n-gram, tokenized as texts are); raise if unknown."""
    from ..features.negation import signed
    from ..features.tokens import hash_corpus, tokenize

    tokens = tokenize(word, model.vocab.rule)
    if not tokens:
        raise SentimentError(f"{word!r} has no word in it; pass a word such as 'excellent'")
    n = len(tokens)
    if n > model.vocab.ngrams:
        raise SentimentError(f"{word!r} is a {n}-gram; this model knows features of up to "
                             f"{model.vocab.ngrams} words")
    corpus = hash_corpus([" ".join(tokens)], n, negation=model.vocab.negation,
                         rule=model.vocab.rule)
    last = signed(corpus.hashes[-1:], model.vocab.negation)[0]  # the whole n-gram
    j = int(model.vocab.lookup(last)[0])
    if j < 0:
        read = " ".join(tokens)  # as texts are read: "sooooo" is "soo"
        shown = repr(read) if read == word.strip().lower() else f"{word!r} (read as {read!r})"
        raise SentimentError(f"{shown} is not in the model's vocabulary "
                             f"({len(model.vocab):,} features); try another word")
    return j


def similar(model, word: str, top: int = 10, *, metric: str = "auto", min_count: int = 20,
            ngrams: bool = False) -> Neighbours:
    """The features whose layer-1 rows are closest to ``word``'s.

    Parameters
    ----------
    model : sentiment.model.model.Model
    word : a word or n-gram of the vocabulary.
    top : number of neighbours.
    metric : ``cosine``, ``dot`` (the lesson's), or ``auto``: cosine, unless layer 1 is
        rank one (every row parallel, so cosine is +-1 for every pair), then dot.
    min_count : only neighbours seen in at least this many training texts (rare
        features have rows that barely moved from their start).
    ngrams : also consider n-grams as neighbours (default: single words, more readable).

    Returns
    -------
    Neighbours
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    j = find_feature(model, word)
    rows = feature_rows(model)
    ratio = rank_ratio(rows)
    note = ""
    if metric == "auto":
        metric = "dot" if ratio < RANK_ONE else "cosine"
        if metric == "dot":
            note = (f"layer 1 is rank one (singular value ratio {ratio:.1g}): every row is "
                    "a multiple of one vector, so cosine is +-1 for all words; ranked by "
                    "dot product: the words that push hardest the same way")
    elif metric == "cosine" and ratio < RANK_ONE:
        note = (f"layer 1 is rank one (singular value ratio {ratio:.1g}): cosine is +-1 for "
                "all words and this order is noise; use --metric dot")
    q = rows[j].astype(np.float64)
    scores = rows @ q
    if metric == "cosine":
        norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(q)
        scores = np.divide(scores, norms, out=np.zeros_like(scores), where=norms > 0)
    vocab = model.vocab
    counts = vocab.counts()
    keep = counts >= min_count if vocab.has_counts else np.ones(len(vocab), dtype=bool)
    if not ngrams:
        keep &= np.array([" " not in w for w in vocab.words])
    keep[j] = False
    candidates = np.flatnonzero(keep)
    if not len(candidates):
        kind = "feature" if ngrams else "single word"
        raise SentimentError(f"no other {kind} was seen in at least {min_count} training "
                             "texts; lower --min-count")
    best = candidates[np.argsort(-scores[candidates], kind="stable")[:top]]
    w2 = model.net.w2
    if w2.ndim == 2:  # K classes: the push towards the class the word pushes most
        w2 = w2[:, int(np.argmax(rows[j] @ w2))]
    weights = rows[best] @ w2
    if not vocab.has_counts:
        note = (note + "; " if note else "") + ("a compact model keeps no counts: "
                                                "--min-count is not applied")
    from ..features.scripts import display

    return Neighbours(display(vocab.words[j]), metric, ratio,
                      [display(vocab.words[i]) for i in best],
                      scores[best], weights, counts[best], note)


def format_neighbours(nb: Neighbours) -> str:
    """One line per neighbour: score, weight (its push on the logit), texts, word."""
    lines = [f"nearest to {nb.word!r} by {nb.metric}",
             f"{'score':>9}  {'weight':>8}  {'texts':>6}  word"]
    lines += [f"{s:9.4f}  {g:+8.4f}  {(f'{c:,d}' if c else '-'):>6}  {w}"
              for w, s, g, c in zip(nb.words, nb.scores, nb.weights, nb.counts)]
    return "\n".join(lines)
