"""Optimizers that update only the rows a minibatch touched (lazy, sparse-friendly).

Each optimizer updates a small parameter whole (``step``) and W1 either straight from the
batch's sparse arrays (``step_sparse``: SGD and row-wise Adagrad, O(nnz x hidden)) or on
the rows the batch touched, gathered first (``step_rows``: Adam, whose per-row moments
only move for touched rows). Never O(vocabulary x hidden) per batch.
"""
from __future__ import annotations

import numpy as np

from .network import csr_backward_add

OPTIMIZERS = ("sgd", "adagrad", "adam")


class SGD:
    """Plain stochastic gradient descent: ``w -= lr * g``."""

    def __init__(self, lr: float):
        self.lr = lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The optimizer's state as named arrays (copies), to checkpoint and resume."""
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_arrays` returned."""

    def step(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        param -= self.lr * grad

    def step_rows(self, name: str, param: np.ndarray, rows: np.ndarray, grad: np.ndarray):
        param[rows] -= self.lr * grad

    def step_sparse(self, W1, indptr, indices, data, delta, binary=False) -> None:
        """``W1 -= lr * X.T @ delta`` for a CSR batch, adding straight into W1's rows."""
        csr_backward_add(indptr, indices, data, delta, W1, -self.lr)


class Adagrad(SGD):
    """Row-wise Adagrad: one accumulator per row of W1, applied inside the sparse product.

    Each feature's step is ``lr / sqrt(acc)``, where ``acc`` sums, over the reviews that
    contained the feature, ``x**2 * |delta|**2`` (the squared size of that review's
    gradient for the row). Both the accumulation and the scaled update are sparse
    products over the batch's non-zeros, so a step costs O(nnz x hidden) like SGD, with
    no gathering of touched rows. The small dense parameters take plain SGD steps.

    When the vocabulary is small next to a batch (``vocab x hidden`` at most
    ``dense_ratio`` times the batch's non-zeros, as in stage 5), the same step is cheaper
    through a dense ``vocab x hidden`` buffer: see :meth:`_step_buffered`.
    """

    dense_ratio = 2.0

    def __init__(self, lr: float, eps: float = 1e-6):
        super().__init__(lr)
        self.eps = eps
        self.acc: np.ndarray | None = None
        self._buffer: np.ndarray | None = None

    def state_arrays(self):
        return {} if self.acc is None else {"acc": self.acc.copy()}

    def load_state_arrays(self, arrays):
        if "acc" in arrays:
            self.acc = np.array(arrays["acc"], dtype=np.float32)

    def step_sparse(self, W1, indptr, indices, data, delta, binary=False) -> None:
        """``binary``: every value in ``data`` is 1 (then x**2 = x and x / s = 1 / s)."""
        if self.acc is None:
            self.acc = np.full(W1.shape[0], self.eps, dtype=np.float32)
        per_review = np.einsum("ij,ij->i", delta, delta)
        buffered = W1.size <= self.dense_ratio * len(indices)
        if not (buffered and binary):  # else the buffered product accumulates it
            csr_backward_add(indptr, indices, data if binary else data * data,
                             per_review[:, None], self.acc[:, None], 1.0)
        if buffered:
            self._step_buffered(W1, indptr, indices, data, delta, per_review, binary)
            return
        scaled = np.sqrt(self.acc.take(indices))  # take: faster than acc[indices]
        np.divide(1.0, scaled, out=scaled)
        if not binary:
            scaled *= data
        csr_backward_add(indptr, indices, scaled, delta, W1, -self.lr)

    def _step_buffered(self, W1, indptr, indices, data, delta, per_review, binary):
        """The same step as the sparse path, through a dense buffer (small vocabulary).

        ``X.T @ delta`` goes into a zeroed ``vocab x width`` buffer and W1 takes one
        scaled pass over the whole vocabulary. That replaces the gather of each
        non-zero's ``1/sqrt(acc)``, which costs more than the pass when the vocabulary
        is small. With binary inputs the accumulator's increments ride in column
        ``hidden`` of the same product, so there is one sparse pass instead of two.
        The width is rounded up to a multiple of 4: scipy's product loop runs about a
        quarter faster for such widths (bench: ``scripts/bench_buffer_width.py``).
        """
        n_in, hidden = W1.shape
        width = -(-(hidden + 1) // 4) * 4
        if self._buffer is None or self._buffer.shape != (n_in, width):
            self._buffer = np.empty((n_in, width), dtype=np.float32)
        buffer = self._buffer
        buffer.fill(0)
        columns = np.zeros((len(indptr) - 1, width), dtype=np.float32)
        columns[:, :hidden] = delta
        if binary:  # otherwise step_sparse has added x**2 |delta|**2 to acc already
            columns[:, hidden] = per_review
        csr_backward_add(indptr, indices, data, columns, buffer, 1.0)
        if binary:
            self.acc += buffer[:, hidden]
        rate = np.sqrt(self.acc)
        np.divide(-self.lr, rate, out=rate)
        W1 += buffer[:, :hidden] * rate[:, None]


class Adam(SGD):
    """Adam with lazy row updates (moments of untouched rows are left as they are)."""

    step_sparse = None  # per-row moments need the gathered rows: the trainer uses step_rows

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def state_arrays(self):
        out = {"t": np.array(self.t)}
        for name in self.m:
            out[f"m_{name}"], out[f"v_{name}"] = self.m[name].copy(), self.v[name].copy()
        return out

    def load_state_arrays(self, arrays):
        self.t = int(arrays.get("t", 0))
        for key, value in arrays.items():
            if key[:2] in ("m_", "v_"):
                (self.m if key[0] == "m" else self.v)[key[2:]] = np.array(value)

    def tick(self) -> None:
        """Advance the step counter once per minibatch (for bias correction)."""
        self.t += 1

    def _rate(self) -> float:
        t = max(self.t, 1)
        return self.lr * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)

    def _moments(self, name, param):
        if name not in self.m:
            self.m[name] = np.zeros_like(param)
            self.v[name] = np.zeros_like(param)
        return self.m[name], self.v[name]

    def step(self, name, param, grad):
        m, v = self._moments(name, param)
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        param -= self._rate() * m / (np.sqrt(v) + self.eps)

    def step_rows(self, name, param, rows, grad):
        m, v = self._moments(name, param)
        mr = m[rows]
        mr *= self.beta1
        mr += (1 - self.beta1) * grad
        vr = v[rows]
        vr *= self.beta2
        vr += (1 - self.beta2) * grad * grad
        m[rows] = mr
        v[rows] = vr
        param[rows] -= self._rate() * mr / (np.sqrt(vr) + self.eps)


def make_optimizer(name: str, lr: float) -> SGD:
    """Return a fresh optimizer by name: ``sgd``, ``adagrad`` or ``adam``."""
    classes = {"sgd": SGD, "adagrad": Adagrad, "adam": Adam}
    if name not in classes:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    return classes[name](lr)
