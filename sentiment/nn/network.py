"""The two-layer network and its layer-1 kernels.

``hidden = act(x @ W1 + b1)``, ``p = sigmoid(hidden @ w2 + b2)``. ``x`` is a review as a
sparse row (word ids with values 1, counts or naive-Bayes weights), so ``x @ W1`` is the
weighted sum of the rows of ``W1`` of the words present. Three kernels compute it; they
give the same hidden layer and the same update, at very different costs:

* ``dense``: expand the review into a one-hot vector of the whole vocabulary and multiply
  (the original lesson; O(vocab x hidden) per review, forward and backward);
* ``rows``: add the rows of the words present, one word at a time in Python, and update
  only those rows (the lesson's sparse version; O(words x hidden) plus a Python loop);
* ``csr``: a whole minibatch as one sparse product forward and one backward, updating
  only the rows the batch touched (O(nnz x hidden), no Python loop over reviews).
"""
from __future__ import annotations

import numpy as np

from ..native.loops import compiled

KERNELS = ("dense", "rows", "csr")
ACTIVATIONS = ("linear", "relu")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function that neither overflows nor warns for any finite input.

    Computed as ``(1 + tanh(z / 2)) / 2``: tanh saturates instead of overflowing, and it
    is three array passes, where the exp form needs a mask per sign.
    """
    out = np.array(z, dtype=np.result_type(np.asarray(z).dtype, np.float32))
    out *= 0.5
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of K-class logits, shifted by each row's maximum (no overflow)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def label_codes(logits: np.ndarray) -> np.ndarray:
    """The class each row's logits pick: the sign of one logit (1: positive, 0: negative;
    int8) or the largest of K (its position). The one rule from logits to labels: a
    float32 probability rounds to exactly 0.5 for logits within about 1e-7 of zero, so
    the label is never read off a probability."""
    if logits.ndim == 2:
        return logits.argmax(axis=1)
    return (logits > 0).astype(np.int8)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """P(positive) of each row for one logit per row, or the K probabilities (n, K)."""
    return softmax(logits) if logits.ndim == 2 else sigmoid(logits)


def class_probabilities(logits: np.ndarray) -> np.ndarray:
    """The probability of each class, (n, K) for two classes too (columns: negative,
    positive)."""
    p = probabilities(logits)
    return p if p.ndim == 2 else np.column_stack([1 - p, p])


def label_probability(logits: np.ndarray) -> np.ndarray:
    """The probability of the label each row's logits pick (:func:`label_codes`), in
    float64: ``sigmoid(|z|)`` for one logit, exact where ``1 - p`` would lose the digits
    of a confident negative."""
    z = np.asarray(logits).astype(np.float64)
    if z.ndim == 2:
        return softmax(z)[np.arange(len(z)), z.argmax(axis=1)]
    return sigmoid(np.abs(z))


def log_loss_logits(z: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
                    ) -> float:
    """Mean cross-entropy from logits, exact for any z: ``log(1 + e^z) - y z`` for one
    logit per row (y 0/1), ``logsumexp(z) - z[y]`` for K (y the class positions).
    ``weights``: one per class, the mean weighed by each row's class's."""
    if z.ndim == 2:
        top = z.max(axis=1)
        lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1, dtype=np.float64))
        picked = z[np.arange(len(z)), np.asarray(y, dtype=np.int64)]
        per_row = lse - picked
    else:
        per_row = np.logaddexp(0, z) - y * z
    if weights is not None:
        return float(np.average(per_row, weights=weights[np.asarray(y, dtype=np.int64)]))
    return float(np.mean(per_row, dtype=np.float64))


class Network:
    """Weights of the two-layer network, and inference on CSR batches.

    ``W1`` has one row per vocabulary feature (``n_inputs x hidden``), float32.
    ``init_scale`` 0 starts ``W1`` at zero, as the lesson did; ``w2`` always starts random
    (normal with standard deviation ``hidden ** -0.5``). Two classes have one output (a
    logit, through a sigmoid): ``w2`` is a vector; ``n_classes`` K > 2 have K outputs
    through a softmax: ``w2`` is ``hidden x K``, ``b2`` has K entries.
    """

    def __init__(self, n_inputs: int, hidden: int, rng: np.random.Generator, *,
                 activation: str = "linear", init_scale: float = 0.0, n_classes: int = 2):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        if init_scale > 0:
            self.W1 = (rng.standard_normal((n_inputs, hidden)) * init_scale).astype(np.float32)
        else:
            self.W1 = np.zeros((n_inputs, hidden), dtype=np.float32)
        self.b1 = np.zeros(hidden, dtype=np.float32)
        shape = hidden if n_classes <= 2 else (hidden, n_classes)
        self.w2 = (rng.standard_normal(shape) * hidden ** -0.5).astype(np.float32)
        self.b2 = np.zeros(1 if n_classes <= 2 else n_classes, dtype=np.float32)

    @property
    def hidden(self) -> int:
        return self.W1.shape[1]

    @property
    def n_classes(self) -> int:
        return 2 if self.w2.ndim == 1 else self.w2.shape[1]

    def __repr__(self) -> str:
        return (f"Network(inputs={self.W1.shape[0]}, hidden={self.hidden}, "
                f"activation={self.activation!r})")

    def params(self) -> dict[str, np.ndarray]:
        return {"W1": self.W1, "b1": self.b1, "w2": self.w2, "b2": self.b2}

    @classmethod
    def from_params(cls, params: dict, activation: str) -> "Network":
        net = cls.__new__(cls)
        net.activation = activation
        net.W1 = np.ascontiguousarray(params["W1"], dtype=np.float32)
        net.b1 = np.asarray(params["b1"], dtype=np.float32)
        net.w2 = np.asarray(params["w2"], dtype=np.float32)
        net.b2 = np.asarray(params["b2"], dtype=np.float32).reshape(-1)
        return net

    def act(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0, out=z) if self.activation == "relu" else z

    def hidden_layer(self, data, indices, indptr) -> np.ndarray:
        """Hidden layer of CSR rows given as arrays, with numpy alone (no scipy import).

        Sums the weighted rows of the words of each review with ``np.add.reduceat``; used
        for prediction, where start-up time matters more than throughput.
        """
        n = len(indptr) - 1
        z = np.zeros((n, self.hidden), dtype=np.float32)
        if len(indices):
            rows = self.W1[indices] * data[:, None]
            nonempty = np.flatnonzero(np.diff(indptr) > 0)
            z[nonempty] = np.add.reduceat(rows, indptr[nonempty], axis=0)
        z += self.b1
        return self.act(z)

    def logits_arrays(self, data, indices, indptr) -> np.ndarray:
        out = self._compiled_logits(data, indices, indptr)
        return self.output(self.hidden_layer(data, indices, indptr)) if out is None else out

    def _compiled_logits(self, data, indices, indptr, W1=None) -> np.ndarray | None:
        """The logits of CSR rows in the compiled loops (two classes, float32 values), or
        None where they do not apply; ``W1``: layer-1 rows to read instead of the
        network's own (the indices are then rows of it)."""
        fast = compiled()
        if fast is None or self.w2.ndim != 1 or data.dtype != np.float32:
            return None
        out = np.empty(len(indptr) - 1, np.float32)
        fast.logits(indptr, indices, data, self.W1 if W1 is None else W1, self.b1, self.w2,
                    self.b2, self.activation == "relu", out)
        return out

    def output(self, a: np.ndarray) -> np.ndarray:
        """Logits of hidden activations ``a``: one per row (two classes) or K per row."""
        return a @ self.w2 + (self.b2 if self.w2.ndim == 2 else self.b2[0])

    def logits(self, X, batch_size: int = 8192) -> np.ndarray:
        """Logits of each row of the CSR matrix ``X``, in batches to bound memory: one per
        row for two classes, K per row for K classes."""
        out = self._compiled_logits(X.data, X.indices, X.indptr)
        if out is not None:
            return out
        shape = X.shape[0] if self.w2.ndim == 1 else (X.shape[0], self.n_classes)
        out = np.empty(shape, dtype=np.float32)
        for start in range(0, X.shape[0], batch_size):
            z = X[start:start + batch_size] @ self.W1
            z += self.b1
            out[start:start + batch_size] = self.output(self.act(z))
        return out

    def predict_proba(self, X) -> np.ndarray:
        """Probability that each row of ``X`` is positive; (n, K) for K classes."""
        return probabilities(self.logits(X))


# -- layer-1 kernels: one review at a time (stages 1-4) ---------------------------------

def layer1_dense(W1: np.ndarray, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Hidden pre-activation through a full one-hot vector: ``x @ W1``.

    Cost O(vocab x hidden): almost every multiplication is by zero. Same result as
    :func:`layer1_rows`.
    """
    x = np.zeros(W1.shape[0], dtype=np.float32)
    x[indices] = values
    return x @ W1


def update_dense(W1: np.ndarray, indices, values, delta: np.ndarray, lr: float) -> None:
    """``W1 -= lr * outer(x, delta)`` over the whole matrix, O(vocab x hidden)."""
    x = np.zeros(W1.shape[0], dtype=np.float32)
    x[indices] = values
    W1 -= lr * np.outer(x, delta)


def layer1_rows(W1: np.ndarray, indices, values) -> np.ndarray:
    """Hidden pre-activation as the sum of the active rows of ``W1``, one word at a time.

    Cost O(words x hidden) plus a Python loop per word; instead of O(vocab x hidden).
    """
    h = np.zeros(W1.shape[1], dtype=np.float32)
    for i, v in zip(indices.tolist(), values.tolist()):
        h += W1[i] * v if v != 1.0 else W1[i]
    return h


def update_rows(W1: np.ndarray, indices, values, delta: np.ndarray, lr: float) -> None:
    """Update only the rows of the words present, one word at a time."""
    for i, v in zip(indices.tolist(), values.tolist()):
        W1[i] -= (lr * v) * delta


class RowCompactor:
    """Maps a batch's feature ids to 0..U-1, so gradients are U x hidden, not V x hidden.

    Keeps two arrays of the vocabulary's length between calls, so each batch costs
    O(nnz) plus one scan of a boolean array, with no sort.
    """

    def __init__(self, n_inputs: int):
        self._mark = np.zeros(n_inputs, dtype=bool)
        self._pos = np.zeros(n_inputs, dtype=np.int32)

    def __call__(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (rows touched, sorted; indices renumbered into rows)."""
        self._mark[indices] = True
        rows = np.flatnonzero(self._mark)
        self._mark[rows] = False
        self._pos[rows] = np.arange(len(rows), dtype=np.int32)
        return rows, self._pos[indices]


# -- layer-1 kernels on a whole minibatch (stage 5 on) -----------------------------------
# scipy's compiled loops, called on the raw CSR arrays of a batch: no matrix object per
# batch, and the backward pass adds straight into W1 (no vocab x hidden temporary). They
# are scipy internals, so each has a fallback through the public API. Imported on first
# use: prediction never needs scipy, and importing it costs a tenth of a second.
_SPARSETOOLS: list = []


def _sparsetools():
    """(csr_matvecs, csc_matvecs, csr_row_index) from scipy, or Nones if it lacks them."""
    if not _SPARSETOOLS:
        try:
            from scipy.sparse import _sparsetools as st
            _SPARSETOOLS.extend((st.csr_matvecs, st.csc_matvecs, st.csr_row_index))
        except (ImportError, AttributeError):  # pragma: no cover - depends on scipy
            _SPARSETOOLS.extend((None, None, None))
    return _SPARSETOOLS


def csr_forward(indptr, indices, data, W1: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = X @ W1`` for the CSR rows (indptr, indices, data); O(nnz x hidden).

    Reads only the rows of W1 of the words present: the same hidden layer as a dense
    one-hot product, instead of O(vocab x hidden) per review.
    """
    out[...] = 0
    n_rows, (n_in, hidden) = len(indptr) - 1, W1.shape
    _csr_matvecs = _sparsetools()[0]
    if _csr_matvecs is not None:
        _csr_matvecs(n_rows, n_in, hidden, indptr, indices, data, W1.ravel(), out.ravel())
    else:  # pragma: no cover
        import scipy.sparse as sp
        out += sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_in)) @ W1
    return out


def csr_backward_add(indptr, indices, data, delta: np.ndarray, W1: np.ndarray,
                     scale: float) -> None:
    """``W1 += scale * X.T @ delta`` in place, touching only the rows of words present.

    O(nnz x hidden) with no temporary: the CSR arrays of X read as CSC are X transposed,
    and scipy's CSC product accumulates into its output, here W1 itself.
    """
    n_rows, (n_in, hidden) = len(indptr) - 1, W1.shape
    step = np.ascontiguousarray(delta * np.float32(scale), dtype=W1.dtype)
    _csc_matvecs = _sparsetools()[1]
    if _csc_matvecs is not None:
        _csc_matvecs(n_in, n_rows, hidden, indptr, indices, data, step.ravel(), W1.ravel())
    else:  # pragma: no cover
        import scipy.sparse as sp
        X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_in))
        rows = np.unique(indices)
        W1[rows] += (X[:, rows].T @ step)


class RowShuffler:
    """``X[order]`` for CSR ``X``, written into buffers kept between calls.

    The rows are copied (a batch must be contiguous for the sparse products), but into the
    same memory every epoch: no allocation of nnz-sized arrays per epoch.
    """

    def __init__(self, X):
        self.X = X
        self._lengths = np.diff(X.indptr)
        self._indices = np.empty_like(X.indices)
        self._data = np.empty_like(X.data)

    def __call__(self, order: np.ndarray):
        import scipy.sparse as sp

        row_index = _sparsetools()[2]
        X = self.X
        if row_index is None:  # pragma: no cover - depends on the scipy version
            return X[order]
        indptr = np.zeros(len(order) + 1, dtype=X.indptr.dtype)
        np.cumsum(self._lengths[order], out=indptr[1:])
        n = int(indptr[-1])
        row_index(len(order), order.astype(X.indptr.dtype), X.indptr, X.indices, X.data,
                  self._indices, self._data)
        return sp.csr_matrix((self._data[:n], self._indices[:n], indptr),
                             shape=(len(order), X.shape[1]))
