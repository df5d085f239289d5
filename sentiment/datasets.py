"""Reading review files, and locating (or fetching) the IMDB dataset.

:func:`read_reviews` reads CSV or TSV, plain or gzip, UTF-8 with or without a BOM; finds
the text and label columns by common names (or takes them by name); maps the usual label
spellings to 0 (negative) and 1 (positive); drops and counts empty rows. Every mistake is
a :class:`~sentiment.errors.SentimentError` naming the file, and the row or column, and
saying what to do.
"""
from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SentimentError

TEXT_NAMES = ("review", "text", "sentence", "content", "body", "comment", "document",
              "tweet", "message", "review_text", "reviewtext", "summary")
LABEL_NAMES = ("sentiment", "label", "polarity", "class", "target", "labels", "y",
               "sentiment_label", "category")
POSITIVE = ("positive", "pos", "1", "true", "yes", "p", "+", "+1", "1.0")
NEGATIVE = ("negative", "neg", "0", "false", "no", "n", "-", "-1", "0.0", "-1.0")
LABEL_NAMES_OUT = ("negative", "positive")


@dataclass
class Reviews:
    """Texts read from a file, with labels (0/1) when the file has a label column."""

    path: str
    texts: list[str]
    labels: np.ndarray | None
    text_column: str
    label_column: str | None
    frame: object = None  # the rows kept, as a pandas DataFrame of strings
    notes: list[str] = field(default_factory=list)  # what was detected, for stderr

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return (f"Reviews({self.path!r}, n={len(self)}, text={self.text_column!r}, "
                f"label={self.label_column!r})")


def read_reviews(path: str | os.PathLike, *, text_column: str | None = None,
                 label_column: str | None = None, need_labels: bool = True,
                 encoding: str | None = None) -> Reviews:
    """Read a review file; see the module docstring. Raises SentimentError on bad input."""
    import pandas as pd

    name = str(path)
    frame = _read_frame(Path(path), encoding)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    text_col = _pick(name, columns, text_column, TEXT_NAMES, "text", "--text-column")
    label_col = None
    if label_column is not None or need_labels:
        label_col = _pick(name, columns, label_column, LABEL_NAMES, "label", "--label-column",
                          exclude=text_col, required=need_labels)
    notes = []
    texts = frame[text_col].astype(str)
    empty = texts.str.strip() == ""
    if label_col is not None:
        raw = frame[label_col].astype(str).str.strip()
        empty |= raw == ""
    n_empty = int(empty.sum())
    if n_empty:
        frame = frame[~empty.to_numpy()]
        texts = texts[~empty.to_numpy()]
        notes.append(f"{name}: dropped {n_empty:,} row{'s' * (n_empty != 1)} with an empty "
                     f"{'text or label' if label_col else 'text'}")
    if len(frame) == 0:
        raise SentimentError(f"{name}: no rows with text in column {text_col!r}"
                             + (" and a label" if label_col else "")
                             + "; check the file or name the columns with --text-column")
    labels = None
    if label_col is not None:
        labels, mapping = _map_labels(name, label_col, frame[label_col].astype(str).str.strip())
        notes.append(f"{name}: text column {text_col!r}, label column {label_col!r} "
                     f"({mapping}); {len(frame):,} rows")
    else:
        notes.append(f"{name}: text column {text_col!r}; {len(frame):,} rows")
    frame = frame.reset_index(drop=True)
    del pd
    return Reviews(name, texts.tolist(), labels, text_col, label_col, frame, notes)


def _read_frame(path: Path, encoding: str | None):
    """Read the file into a DataFrame of strings, turning every failure into one line."""
    import pandas as pd

    name = str(path)
    if not path.exists():
        raise SentimentError(f"{name}: no such file; check the path")
    if path.is_dir():
        raise SentimentError(f"{name}: is a directory; pass a CSV or TSV file")
    try:
        head = _head(path)
    except (OSError, EOFError, zlib.error) as exc:
        raise SentimentError(f"{name}: cannot read it ({_why(exc)}); "
                             "is it a complete CSV/TSV (or .gz) file?") from None
    if not head.strip():
        raise SentimentError(f"{name}: the file is empty; it needs a header row and "
                             "one review per row")
    if b"\x00" in head:
        raise SentimentError(f"{name}: is not a text file (it holds binary data); "
                             "pass a CSV or TSV file")
    enc = encoding or "utf-8-sig"
    if encoding is None:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the sample's end
                raise SentimentError(
                    f"{name}: is not UTF-8 (byte {exc.object[exc.start]:#x} at offset "
                    f"{exc.start}); pass its encoding, e.g. --encoding latin-1") from None
    sep = _separator(path, head, enc)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                            encoding=enc, engine="c", compression="infer")
    except pd.errors.EmptyDataError:
        raise SentimentError(f"{name}: the file is empty; it needs a header row and "
                             "one review per row") from None
    except pd.errors.ParserError as exc:
        kind = "TSV" if sep == "\t" else "CSV"
        raise SentimentError(f"{name}: malformed {kind} "
                             f"({_why(exc)}); check the quoting and the number of "
                             "fields per row") from None
    except UnicodeDecodeError as exc:
        raise SentimentError(f"{name}: is not {enc} (byte {exc.object[exc.start]:#x}); "
                             "pass its encoding, e.g. --encoding latin-1") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise SentimentError(f"{name}: cannot read it ({_why(exc)}); is the file "
                             "complete?") from None
    if len(frame.columns) and str(frame.columns[0]).startswith("\ufeff"):
        frame.columns = [str(frame.columns[0]).lstrip("\ufeff"), *frame.columns[1:]]
    if len(frame) == 0:
        raise SentimentError(f"{name}: has a header but no rows; add one review per row")
    return frame


def _head(path: Path, size: int = 1 << 16) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return f.read(size)


def _why(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def _separator(path: Path, head: bytes, encoding: str) -> str:
    """Tab for .tsv/.tab files, else whichever of tab and comma the header uses more."""
    suffixes = [s.lower() for s in path.suffixes]
    if ".tsv" in suffixes or ".tab" in suffixes:
        return "\t"
    if ".csv" in suffixes:
        return ","
    first = head.decode(encoding, "replace").splitlines()[0] if head else ""
    return "\t" if first.count("\t") > first.count(",") else ","


def _pick(name, columns, chosen, aliases, what, flag, exclude=None, required=True):
    """Return the column named ``chosen``, else the first column matching an alias."""
    found = ", ".join(columns) if columns else "none"
    if chosen is not None:
        if chosen in columns:
            return chosen
        raise SentimentError(f"{name}: no column {chosen!r} (found: {found}); "
                             f"check {flag}")
    lower = {c.strip().lower(): c for c in columns if c != exclude}
    for alias in aliases:
        if alias in lower:
            return lower[alias]
    if not required:
        return None
    raise SentimentError(f"{name}: no {what} column (found: {found}); "
                         f"name it with {flag}")


def _map_labels(name, column, values):
    """Map label spellings to 0/1; return (labels, a description of the mapping)."""
    counts = values.value_counts()
    if len(counts) > 2:
        listed = ", ".join(f"{v!r}: {c:,}" for v, c in counts.items())
        raise SentimentError(f"{name}: column {column!r} has {len(counts)} values "
                             f"({listed}); a label column needs two (positive/negative); "
                             "pick another with --label-column")
    mapping = {}
    for value in counts.index:
        key = value.lower()
        if key in POSITIVE:
            mapping[value] = 1
        elif key in NEGATIVE:
            mapping[value] = 0
        else:
            row = int(np.flatnonzero((values == value).to_numpy())[0]) + 2
            raise SentimentError(
                f"{name}: row {row}, column {column!r}: label {value!r} is not one of "
                "positive/negative, pos/neg, 1/0, true/false; fix it or pick another "
                "column with --label-column")
    labels = values.map(mapping).to_numpy(dtype=np.int8)
    described = ", ".join(f"{v!r} -> {LABEL_NAMES_OUT[mapping[v]]}" for v in counts.index)
    return labels, described


# -- the data home and the IMDB dataset ----------------------------------------------------

def data_home() -> Path:
    """``$SENTIMENT_DATA`` when set, else ``./data``."""
    return Path(os.environ.get("SENTIMENT_DATA") or "data")


def imdb_paths(download: bool = False, progress: bool | None = None) -> tuple[Path, Path]:
    """Return the IMDB train and test files under the data home, fetching them if asked."""
    home = data_home()
    train, test = home / "imdb" / "train.csv.gz", home / "imdb" / "test.csv.gz"
    if train.exists() and test.exists():
        return train, test
    if not download:
        raise SentimentError(f"{home / 'imdb'}: IMDB dataset not found; run "
                             "'python -m sentiment fetch imdb' or set SENTIMENT_DATA")
    from .fetch import fetch_imdb
    return fetch_imdb(home, progress=progress)
