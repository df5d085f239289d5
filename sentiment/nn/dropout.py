"""Dropout masks for the hidden layer.

The mask is the only random draw per step, and it can become the bottleneck: the seed
document found ``RandomState.binomial`` called once per review taking most of training
time. Three ways to make a keep-mask of shape (batch, hidden), all scaled by 1/keep
("inverted dropout", so inference needs no change):

* ``binomial``: one ``RandomState.binomial`` call per review (the seed's way);
* ``uniform``: one uniform draw for the whole batch, compared against the keep rate;
* ``bytes``: random bytes for the whole batch, compared against ``keep * 256`` (8 bits
  per unit instead of 32 or 64). The bytes are the bit generator's raw 64-bit words seen as
  bytes (``random_raw``, the same seeded stream): at (1024, 100) about 0.6x the time of
  ``Generator.bytes`` and 0.25x that of ``uniform``; ``scripts/bench_dropout.py``
  measures them all.
"""
from __future__ import annotations

import numpy as np

MASKS = ("bytes", "uniform", "binomial")


def dropout_mask(method: str, rng: np.random.Generator, shape: tuple[int, int],
                 rate: float, legacy: np.random.RandomState | None = None) -> np.ndarray:
    """Return a float32 mask of ``shape``: 0 for dropped units, 1/(1-rate) for kept ones."""
    keep = 1.0 - rate
    if method == "bytes":
        n = shape[0] * shape[1]
        raw = rng.bit_generator.random_raw(-(-n // 8)).view(np.uint8)[:n].reshape(shape)
        threshold = min(255, max(1, round(keep * 256)))
        keep = threshold / 256  # the keep rate this threshold really gives
        kept = raw < np.uint8(threshold)
    elif method == "uniform":
        kept = rng.random(shape, dtype=np.float32) < keep
    elif method == "binomial":
        legacy = legacy or np.random.RandomState(int(rng.integers(2**31)))
        kept = np.stack([legacy.binomial(1, keep, size=shape[1]) for _ in range(shape[0])])
    else:
        raise ValueError(f"mask must be one of {MASKS}, got {method!r}")
    return kept.astype(np.float32) * np.float32(1.0 / keep)
