"""Optimizers that update only the rows a minibatch touched (lazy, sparse-friendly).

Each optimizer updates a parameter either whole (``step``) or on a subset of its rows
(``step_rows``); state such as Adam's moments is kept per row and only touched rows move,
so a batch costs O(rows touched x hidden), never O(vocabulary x hidden).
"""
from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "adagrad", "adam")


class SGD:
    """Plain stochastic gradient descent: ``w -= lr * g``."""

    def __init__(self, lr: float):
        self.lr = lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"

    def step(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        param -= self.lr * grad

    def step_rows(self, name: str, param: np.ndarray, rows: np.ndarray, grad: np.ndarray):
        param[rows] -= self.lr * grad


class Adagrad(SGD):
    """Adagrad: per-coordinate steps ``lr / sqrt(sum of squared gradients)``."""

    def __init__(self, lr: float, eps: float = 1e-8):
        super().__init__(lr)
        self.eps = eps
        self.state: dict[str, np.ndarray] = {}

    def _acc(self, name, param):
        if name not in self.state:
            self.state[name] = np.zeros_like(param)
        return self.state[name]

    def step(self, name, param, grad):
        acc = self._acc(name, param)
        acc += grad * grad
        param -= self.lr * grad / (np.sqrt(acc) + self.eps)

    def step_rows(self, name, param, rows, grad):
        acc = self._acc(name, param)
        a = acc[rows] + grad * grad
        acc[rows] = a
        param[rows] -= self.lr * grad / (np.sqrt(a) + self.eps)


class Adam(SGD):
    """Adam with lazy row updates (moments of untouched rows are left as they are)."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

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
