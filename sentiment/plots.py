"""Training curves: loss and accuracy per epoch, from a model's history or a ``--log`` file.

matplotlib is imported only here, inside the functions, with the Agg backend (no display
needed): ``pip install 'sentiment[plot]'``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import SentimentError
from .io.files import atomic_write, check_writable


def _pyplot():
    """matplotlib.pyplot on the Agg backend, or a SentimentError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise SentimentError("--plot needs matplotlib: pip install 'sentiment[plot]'") \
            from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def check_plot_path(path: str | os.PathLike) -> Path:
    """Fail before training if the chart cannot be written: no matplotlib, bad folder or
    a format matplotlib does not know."""
    path = Path(path)
    plt = _pyplot()
    fmt = path.suffix.lower().lstrip(".") or "png"
    known = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if fmt not in known:
        raise SentimentError(f"{path}: cannot draw a .{fmt} file; use one of "
                             f"{', '.join('.' + k for k in sorted(known))}")
    check_writable(path, "--plot", "the chart")
    return path


def read_log(path: str | os.PathLike) -> list[dict]:
    """The epoch records of a ``train --log`` file (one JSON object per line)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_history(history, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw loss (left) and accuracy (right) per epoch to ``path``; return the path.

    ``history`` is a list of epoch records (dicts, or objects with ``to_dict``), as in
    ``Model.history``, ``fit``'s return value or a ``--log`` file. Validation curves are
    drawn when the records have them; the kept (best) epoch is marked. Written to a
    temporary file first, so a failed draw never leaves half an image.
    """
    plt = _pyplot()
    path = Path(path)
    rows = [h.to_dict() if hasattr(h, "to_dict") else dict(h) for h in history]
    if not rows:
        raise SentimentError(f"{path}: no epochs to plot")
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    for ax, key, name in ((ax_loss, "loss", "loss"), (ax_acc, "accuracy", "accuracy")):
        train_key = "loss" if key == "loss" else "train_accuracy"
        val_key = "val_loss" if key == "loss" else "val_accuracy"
        # measured during the epoch, as the weights were when each review was seen
        ax.plot(epochs, [r[train_key] for r in rows], "o-", label="train (during epoch)")
        val = [(e, r[val_key]) for e, r in zip(epochs, rows) if r.get(val_key) is not None]
        if val:
            ax.plot(*zip(*val), "s-", label="validation")
        best = [r["epoch"] for r in rows if r.get("best")]
        if best:
            ax.axvline(best[-1], color="grey", linestyle=":", label=f"kept (epoch {best[-1]})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{name} per epoch")
        ax.set_xticks(epochs if len(epochs) <= 20 else ax.get_xticks())
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
    if title:
        fig.suptitle(title)
    fmt = path.suffix.lower().lstrip(".") or "png"
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format=fmt, dpi=110)
    finally:
        plt.close(fig)
    return path
