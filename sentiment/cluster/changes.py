"""What one round of training changed, sparse: only the rows of W1 a worker moved.

A worker turns the weights it was sent and those it trained into a change
(:func:`change_of`): the rows of W1 it moved (and of any optimizer array with a row per
feature, such as Adagrad's accumulator), the small dense parameters whole. Changes add up
pairwise (:func:`add`) up a tree on the workers; the driver applies the sum once
(:func:`apply`). The result equals :func:`sentiment.cluster.mixing.mix` and
:func:`~sentiment.cluster.mixing.mix_optimizer` of the workers' whole weights:

- ``average``: each weight moves by the workers' changes weighted by their rows trained;
- ``rows``: each row of W1 moves by the mean change of the workers that moved it;
- the optimizer: Adagrad's accumulators add up every worker's squared gradients, any
  other state is averaged over the workers.

A change costs ``rows moved x (hidden + 2) x 4`` bytes (``--mix rows``: 4 more a row): a
worker with few reviews moves few rows, where its whole weights cost ``vocabulary x hidden
x 4``.
"""
from __future__ import annotations

import numpy as np

#: the optimizer state an array starts from when a worker had none (Adagrad's eps)
ADAGRAD_EPS = 1e-6


def start_of(key: str, like: np.ndarray) -> np.ndarray:
    """The value of optimizer array ``key`` before any step (the shape of ``like``)."""
    return np.full_like(like, ADAGRAD_EPS if key == "acc" else 0, dtype=like.dtype)


def change_of(params: dict, trained: dict, optimizer: dict, optimized: dict, n: int,
              how: str) -> dict:
    """A worker's change after training ``n`` rows: ``params`` -> ``trained`` and the
    optimizer state ``optimizer`` -> ``optimized``. ``how``: the mix (``average``
    weighs every change by ``n``; ``rows`` keeps W1's rows unweighted)."""
    if n == 0:
        return empty()
    W1 = np.asarray(params["W1"], np.float32)
    delta = np.asarray(trained["W1"], np.float32) - W1
    moved = np.any(delta != 0, axis=1)
    opt_rows, opt_dense = {}, {}
    for k, new in optimized.items():
        new = np.asarray(new)
        old = np.asarray(optimizer[k]) if k in optimizer else start_of(k, new)
        d = new - old
        if d.ndim and d.shape[0] == W1.shape[0]:
            opt_rows[k] = d
            moved |= np.any(d.reshape(len(d), -1) != 0, axis=1)
        else:
            opt_dense[k] = d
    ids = np.flatnonzero(moved).astype(np.int32)
    weight = np.float32(n if how == "average" else 1)
    return {"n": n, "k": 1, "ids": ids, "W1": delta[ids] * weight,
            # how many workers moved each row: what --mix rows divides by
            "moved": np.ones(len(ids), np.int32) if how == "rows" else None,
            "dense": {k: (np.asarray(trained[k], np.float32) - np.asarray(v, np.float32))
                      * np.float32(n) for k, v in params.items() if k != "W1"},
            "opt_rows": {k: d[ids] for k, d in opt_rows.items()}, "opt_dense": opt_dense}


def empty() -> dict:
    return {"n": 0, "k": 0, "ids": np.zeros(0, np.int32), "W1": None, "moved": None,
            "dense": {}, "opt_rows": {}, "opt_dense": {}}


def add(a: dict, b: dict) -> dict:
    """Two changes as one (their sums; rows moved by either)."""
    if not b["n"]:
        return a
    if not a["n"]:
        return b
    ids = np.union1d(a["ids"], b["ids"]).astype(np.int32)
    ia, ib = np.searchsorted(ids, a["ids"]), np.searchsorted(ids, b["ids"])

    def rows(x, y):
        out = np.zeros((len(ids),) + x.shape[1:], x.dtype)
        out[ia] += x
        out[ib] += y
        return out

    return {"n": a["n"] + b["n"], "k": a["k"] + b["k"], "ids": ids,
            "W1": rows(a["W1"], b["W1"]),
            "moved": None if a["moved"] is None else rows(a["moved"], b["moved"]),
            "dense": {k: a["dense"][k] + b["dense"][k] for k in a["dense"]},
            "opt_rows": {k: rows(v, b["opt_rows"][k]) for k, v in a["opt_rows"].items()},
            "opt_dense": {k: v + b["opt_dense"][k] for k, v in a["opt_dense"].items()}}


def apply(params: dict, optimizer: dict, change: dict, how: str) -> tuple[dict, dict]:
    """(weights, optimizer state) after ``change`` (the sum of the workers' changes)."""
    if not change["n"]:
        return params, optimizer
    n, ids = change["n"], change["ids"]
    out = {k: np.array(v, np.float32) for k, v in params.items()}
    per_row = change["moved"][:, None] if how == "rows" else n
    out["W1"][ids] += (change["W1"] / per_row).astype(np.float32)
    for k, total in change["dense"].items():
        out[k] = (out[k] + total / np.float32(n)).astype(np.float32)
    state = dict(optimizer)
    for k, d in list(change["opt_rows"].items()) + list(change["opt_dense"].items()):
        shape = (len(out["W1"]),) + d.shape[1:] if k in change["opt_rows"] else d.shape
        like = np.zeros(shape, d.dtype)
        base = np.array(optimizer[k]) if k in optimizer else start_of(k, like)
        share = 1 if k == "acc" else change["k"]
        if k in change["opt_rows"]:
            base[ids] += d / share
        else:
            base = base + d / share
        state[k] = base
    return out, state


def nbytes(change: dict) -> int:
    """The bytes of a change's arrays (what moves when it moves)."""
    arrays = [change["ids"], change["W1"], change["moved"], *change["dense"].values(),
              *change["opt_rows"].values(), *change["opt_dense"].values()]
    return int(sum(np.asarray(a).nbytes for a in arrays if a is not None))
