"""A trainer's state in a model file: what ``train --resume`` goes on from."""
from __future__ import annotations

import numpy as np

from .loop import EpochStats, TrainerState


def checkpoint_parts(state: TrainerState) -> tuple[dict, dict]:
    """A trainer state as (arrays, JSON-able metadata), to store in a model file."""
    arrays = {f"params_{k}": v for k, v in state.params.items()}
    arrays.update({f"opt_{k}": v for k, v in state.optimizer.items()})
    if state.best_params is not None:
        arrays.update({f"best_{k}": v for k, v in state.best_params.items()})
    meta = {"epoch": state.epoch, "history": [h.to_dict() for h in state.history],
            "best_loss": state.best_loss if np.isfinite(state.best_loss) else None,
            "waited": state.waited, "rng": state.rng}
    return arrays, meta


def state_from_checkpoint(arrays: dict, meta: dict) -> TrainerState:
    """The inverse of :func:`checkpoint_parts`."""
    def pick(prefix):
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    best = pick("best_")
    return TrainerState(
        epoch=int(meta["epoch"]), history=[EpochStats(**h) for h in meta["history"]],
        best_loss=float("inf") if meta["best_loss"] is None else float(meta["best_loss"]),
        waited=int(meta["waited"]), params=pick("params_"), best_params=best or None,
        optimizer=pick("opt_"), rng=meta["rng"])
