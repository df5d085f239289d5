"""Compact models: only what prediction and ``explain`` need, in the smallest exact form.

With the linear hidden layer (the default) the network is linear in its input, so it
folds into one weight per feature (per class, for K classes) and a bias::

    logit = sum_j x_j s_j (W1[j] @ w2) + (b1 @ w2 + b2)

where ``s_j`` is the naive-Bayes input value (folded in too: the compact model reads
binary presence). The steps, each measured for accuracy in ``docs/compact.md``:

1. fold ``W1 @ w2`` and the naive-Bayes values: the same logits, to float rounding;
2. keep the ``max_features`` features of largest weight (the rest barely move a logit);
3. store the weights as float16 (a relative error of 1/2048; float32 if one is past
   float16's 65,504, which only a diverging learning rate makes);
4. drop what only training needs (document counts, the lookup order: the features are
   sorted by hash instead) and zlib-compress the feature names.

The result is a :class:`~sentiment.model.model.Model` like any other (``explain`` and
``similar`` work; ``similar`` ranks by weight, as a folded layer is rank one), saved with
``meta["compact"]`` and loaded through the same checks.
"""
from __future__ import annotations

import numpy as np

from ..errors import SentimentError
from ..features.vocab import Vocabulary
from ..nn.network import Network
from .model import Model

#: features a compact model keeps unless told otherwise: the IMDB default model's file
#: is then under 8 MB, within 0.05 point of the full model's accuracy (docs/compact.md)
DEFAULT_FEATURES = 500_000


def folded_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """(weight of each feature, V x K', float64; bias, K') of a linear network, the input
    values included; K' is 1 for two classes."""
    net = model.net
    if net.activation != "linear":
        raise SentimentError("a model with relu hidden units does not fold into one weight "
                             "per feature; compact models need --activation linear (the "
                             "default)")
    w2 = net.w2.astype(np.float64).reshape(net.hidden, -1)
    weights = np.empty((net.W1.shape[0], w2.shape[1]))
    step = 1 << 16  # rows at a time: no float64 copy of all of W1 (50 MB at 780k features)
    for lo in range(0, len(weights), step):
        weights[lo:lo + step] = net.W1[lo:lo + step].astype(np.float64) @ w2
    bias = net.b1.astype(np.float64) @ w2 + net.b2.astype(np.float64)
    if model.values == "nb":
        weights *= model.vocab.nb_scale().astype(np.float64)[:, None]
    return weights, bias


def compact(model, max_features: int | None = DEFAULT_FEATURES) -> Model:
    """A compact copy of ``model`` (see the module's docstring); ``max_features`` None
    keeps every feature of non-zero weight."""
    if getattr(model, "compact", False) and max_features is None:
        return model
    weights, bias = folded_weights(model)
    strength = np.abs(weights).max(axis=1)
    kept = np.flatnonzero(strength > 0)  # a feature that never moved says nothing
    if max_features is not None and len(kept) > max_features:
        top = np.argpartition(-strength[kept], max_features - 1)[:max_features]
        kept = kept[top]
    vocab = model.vocab
    kept = kept[np.argsort(vocab.hashes[kept], kind="stable")]  # lookups need no order
    small = Vocabulary(vocab.hashes[kept], vocab.words_bytes(kept), None, None,
                       vocab.n_pos, vocab.n_neg, vocab.ngrams, vocab.min_count,
                       vocab.polarity_cutoff, vocab.negation, vocab.rule)
    small._order = np.arange(len(kept), dtype=np.int32)
    k = weights.shape[1]
    with np.errstate(over="ignore"):
        half = weights[kept].astype(np.float16)
    # past float16's 65,504 (a --lr far too high) the weights stay float32: what was
    # trained and validated is what is saved, at twice the size, instead of infinities
    fits = bool(np.isfinite(half).all())
    W1 = (half if fits else weights[kept]).astype(np.float32)  # what the file holds
    params = {"W1": W1, "b1": np.zeros(k, np.float32),
              "w2": np.ones(1, np.float32) if k == 1 else np.eye(k, dtype=np.float32),
              "b2": bias.astype(np.float32)}
    net = Network.from_params(params, "linear")
    values = "binary" if model.values == "nb" else model.values
    settings = {**model.settings, "values": values}
    info = {**model.info, "compact": {"features_before": len(vocab),
                                      "features": len(kept),
                                      "weights": "float16" if fits else "float32"}}
    small_model = Model(small, net, settings, model.history, info, model.scheme)
    small_model.compact = True
    return small_model
