"""What every command shares: the model and reader flags, notes on stderr, reading."""
from __future__ import annotations

import sys

from ..errors import SentimentError

DEFAULT_MODEL = "sentiment-model.npz"


def model_arg(p):
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="PATH",
                   help=f"model file (default: {DEFAULT_MODEL})")


def reader_args(p):
    p.add_argument("--text-column", metavar="NAME", help="column holding the review text")
    p.add_argument("--label-column", metavar="NAME", help="column holding the label")
    p.add_argument("--encoding", metavar="NAME", help="file encoding (default: UTF-8)")


def note(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def read(path, args, need_labels=True):
    from ..data import read_reviews

    reviews = read_reviews(path, text_column=getattr(args, "text_column", None),
                           label_column=getattr(args, "label_column", None),
                           need_labels=need_labels, encoding=getattr(args, "encoding", None))
    note(*reviews.notes)
    return reviews


def positive(n: int, flag: str) -> None:
    if n < 1:
        raise SentimentError(f"{flag} {n}: must be at least 1")


def load_model(path):
    from ..model import Model
    return Model.load(path)
