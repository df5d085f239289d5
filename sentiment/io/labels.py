"""What a label column means: two classes, K classes, or a star rating cut in two.

A :class:`LabelScheme` is stored in the model, so that ``evaluate`` and ``predict --file``
read a file with the same column the same way without flags:

* ``binary``: the usual spellings of negative/positive (:mod:`sentiment.io.reader`);
* ``multiclass``: every value of the column is a class; class names are the values, sorted
  naturally (numbers by value, ``1 < 2 < 10``, then text);
* ``stars``: a numeric rating; the low part of the scale is negative, the high part
  positive, the middle dropped (and counted).

:class:`ClassTable` numbers the values of a multiclass column as they are first seen,
chunk by chunk; :meth:`ClassTable.remap` then gives the natural order, once the whole
column has been read.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import SentimentError

BINARY = ("negative", "positive")
KINDS = ("binary", "multiclass", "stars")
#: column names of ratings, found like label columns (``--label-column`` otherwise)
RATING_NAMES = ("rating", "stars", "star_rating", "stars_rating", "score", "overall",
                "review_score", "grade", "rate", "star")
#: more classes than this is a column of something else (ids, free text)
MAX_CLASSES = 100


def canonical(value: str) -> str:
    """A label value as a class name: stripped, and ``8.0`` -> ``8`` for whole numbers."""
    value = value.strip()
    number = _number(value)
    if number is not None and number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return value


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def natural_key(name: str):
    """Sort key: numbers by value first (1 < 2 < 10), then text, case-insensitively."""
    number = _number(name)
    return (0, number, "") if number is not None else (1, 0.0, name.casefold())


def numeric_classes(classes) -> np.ndarray | None:
    """The classes as numbers if every one is a number (a rating), else None."""
    numbers = [_number(c) for c in classes]
    return None if any(n is None for n in numbers) else np.array(numbers, dtype=np.float64)


@dataclass
class LabelScheme:
    """How a label column becomes classes; stored in the model (:meth:`to_dict`)."""

    kind: str = "binary"  # binary, multiclass or stars
    classes: list = field(default_factory=lambda: list(BINARY))
    column: str | None = None  # the column it was trained on
    negative_max: float | None = None  # stars: ratings <= this are negative
    positive_min: float | None = None  # stars: ratings >= this are positive

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "LabelScheme":
        return cls(**d) if d else cls()

    def describe(self) -> str:
        if self.kind == "binary" and self.negative_max is not None:
            return (f"negative/positive ({_fmt(self.negative_max)} negative, "
                    f"{_fmt(self.positive_min)} positive)")
        if self.kind == "stars":
            return (f"ratings <= {_fmt(self.negative_max)} negative, >= "
                    f"{_fmt(self.positive_min)} positive, the middle dropped")
        if self.kind == "multiclass":
            return f"{self.n_classes} classes: {', '.join(self.classes)}"
        return "negative/positive"


def _fmt(x: float | None) -> str:
    return "-" if x is None else (str(int(x)) if float(x).is_integer() else f"{x:g}")


class ClassTable:
    """Numbers the values of a multiclass column in order of first sight, across chunks;
    :meth:`remap` turns those numbers into positions in natural order."""

    def __init__(self, names: list[str] | None = None, fixed: bool = False):
        self.names: list[str] = list(names or [])
        self._code = {canonical(n): i for i, n in enumerate(self.names)}
        self.fixed = fixed  # a model's classes: an unknown value is an error

    def __len__(self) -> int:
        return len(self.names)

    def codes(self, values) -> tuple[np.ndarray, np.ndarray]:
        """(code of each value, whether it is known); new values get new codes unless
        the table is fixed."""
        import pandas as pd

        values = pd.Series(values, dtype=object).astype(str)
        uniques = pd.unique(values)
        for u in uniques:
            name = canonical(u)
            if name not in self._code and not self.fixed:
                if len(self.names) >= MAX_CLASSES:
                    raise ValueError(f"more than {MAX_CLASSES} distinct values")
                self._code[name] = len(self.names)
                self.names.append(name)
        lookup = {u: self._code.get(canonical(u), -1) for u in uniques}
        codes = values.map(lookup).to_numpy(dtype=np.int16)
        return codes, codes >= 0

    def sorted_names(self) -> list[str]:
        return sorted(self.names, key=natural_key)

    def remap(self) -> np.ndarray:
        """``remap[code]`` is the class's position in :meth:`sorted_names`."""
        position = {n: i for i, n in enumerate(self.sorted_names())}
        return np.array([position[n] for n in self.names], dtype=np.int16)


def encode_labels(labels) -> tuple[np.ndarray, list[str]]:
    """Any labels in memory (strings, numbers) as class positions and the sorted classes."""
    table = ClassTable()
    try:
        codes, _ = table.codes(list(labels))
    except ValueError as exc:
        raise SentimentError(f"labels: {exc}; --multiclass takes up to {MAX_CLASSES} "
                             "classes") from None
    return table.remap()[codes].astype(np.int8), table.sorted_names()


def star_scale(ratings: np.ndarray) -> tuple[float, float]:
    """The scale (bottom, top) a set of ratings is on: 1-5, 1-10, 0-5, 0-10 or 0-100."""
    low, high = float(np.min(ratings)), float(np.max(ratings))
    for top in (5, 10, 100):
        if high <= top:
            return (0.0 if low < 1 else 1.0), float(top)
    raise ValueError(f"ratings up to {_fmt(high)} fit no usual scale (1-5, 1-10, 0-100)")


def star_cuts(bottom: float, top: float) -> tuple[float, float]:
    """Cut points of a scale: the lowest 40% negative, the highest 40% positive, whole
    stars (1-5: <= 2 and >= 4; 1-10: <= 4 and >= 7, as IMDB labels its reviews)."""
    span = top - bottom
    return float(math.floor(bottom + 0.4 * span)), float(math.ceil(bottom + 0.6 * span))


def parse_cuts(text: str) -> tuple[float, float]:
    """``LOW:HIGH`` of ``--stars``: ratings <= LOW negative, >= HIGH positive."""
    parts = text.split(":")
    numbers = [_number(p) for p in parts] if len(parts) == 2 else [None]
    if None in numbers or numbers[0] >= numbers[1]:
        raise SentimentError(f"--stars {text}: give LOW:HIGH with LOW < HIGH, such as 2:4 "
                             "(ratings <= 2 negative, >= 4 positive, 3 dropped)")
    return float(numbers[0]), float(numbers[1])


def star_labels(ratings: np.ndarray, negative_max: float, positive_min: float
                ) -> np.ndarray:
    """0 (negative), 1 (positive) or -1 (the middle, dropped) for each rating."""
    out = np.full(len(ratings), -1, dtype=np.int8)
    out[ratings <= negative_max] = 0
    out[ratings >= positive_min] = 1
    return out


POSITIVE = ("positive", "pos", "1", "true", "yes", "p", "+", "+1", "1.0")
NEGATIVE = ("negative", "neg", "0", "false", "no", "n", "-", "-1", "0.0", "-1.0")
_ZERO, _MINUS_ONE = {"0", "0.0"}, {"-1", "-1.0"}


def _row(values, i: int) -> str:
    return f"row {int(values.index[i]) + 2}"


class LabelReader:
    """Turns each chunk's label column into class codes under a :class:`LabelScheme`,
    naming the file, row and column of any value it cannot use, and remembering what it
    saw for the notes. ``fixed``: the scheme is a model's (evaluating a file): its classes
    and cut points are used as they are."""

    def __init__(self, name: str, column: str, scheme: LabelScheme, fixed: bool = False):
        self.name, self.column, self.scheme = name, column, scheme
        self.fixed = fixed
        self.table = ClassTable(scheme.classes, fixed=True) if fixed and \
            scheme.kind == "multiclass" else ClassTable()
        self.spellings: dict[str, str] = {}  # binary: spelling -> label, in order of sight
        self.middle = 0  # stars: rows in the dropped middle of the scale
        self.scale_note: str | None = None
        self.scale: tuple[float, float] | None = None  # stars: as read from the data
        #: binary: a column of two numbers (Sentiment140's 0/4), the lower negative
        self.pair = (scheme.negative_max, scheme.positive_min) \
            if scheme.kind == "binary" and scheme.negative_max is not None else None

    def __call__(self, values) -> tuple[np.ndarray, np.ndarray]:
        """(codes, rows kept) of one chunk's stripped label strings."""
        kind = self.scheme.kind
        if kind == "multiclass":
            return self._classes(values)
        if kind == "stars":
            return self._stars(values)
        if self.pair is None:
            codes = self._binary(values)
            if codes is not None:
                return codes, np.ones(len(values), dtype=bool)
        return self._two_numbers(values)

    def _where(self, values, i: int) -> str:
        return f"{self.name}: {_row(values, i)}, column {self.column!r}"

    def _binary(self, values) -> np.ndarray | None:
        """The codes of the usual spellings; None once the column turns out to hold two
        numbers other than those (:attr:`pair` is then set)."""
        keys = values.str.lower()
        known = {**{k: 1 for k in POSITIVE}, **{k: 0 for k in NEGATIVE}}
        mapped = keys.map(known)
        bad = mapped.isna().to_numpy()
        if bad.any() and self._find_pair(values, int(np.flatnonzero(bad)[0])):
            return None
        if bad.any():
            # labels it would make: each known class once, each unknown spelling once
            if mapped.nunique() + keys[bad].nunique() > 2:
                counts = values.value_counts()
                listed = ", ".join(f"{v!r}: {c:,}" for v, c in counts.head(10).items())
                more = f", and {len(counts) - 10:,} more" if len(counts) > 10 else ""
                raise SentimentError(
                    f"{self.name}: column {self.column!r} has {len(counts):,} values "
                    f"({listed}{more}); a label column needs two (positive/negative): train "
                    "with --multiclass to keep every value as a class, or --stars for a "
                    "rating, or pick another column with --label-column")
            first = int(np.flatnonzero(bad)[0])
            raise SentimentError(
                f"{self._where(values, first)}: label {values.iloc[first]!r} is not one of "
                "positive/negative, pos/neg, 1/0, true/false; fix it or pick another column "
                "with --label-column" + self._stars_hint(values.iloc[first]))
        for v in values.drop_duplicates().head(11):
            self.spellings.setdefault(v, BINARY[known[v.lower()]])
        seen = {k.lower() for k in self.spellings}
        if seen & _ZERO and seen & _MINUS_ONE:  # -1/0/1: three classes, not two
            raise SentimentError(
                f"{self.name}: column {self.column!r} holds both 0 and -1 (a -1/0/1 "
                "column has three classes: negative, neutral, positive); train with "
                "--multiclass, or make it two classes")
        return mapped.to_numpy(dtype=np.int8)

    def _find_pair(self, values, first: int) -> bool:
        """Whether the labels so far are two numbers (Sentiment140's 0/4): then
        :attr:`pair` is set (and, in training, the scheme's cut points), the lower one
        negative. Raises if earlier rows read one of them the other way."""
        numbers = {_number(v) for v in values.drop_duplicates()}
        numbers |= {_number(v) for v in self.spellings}
        if None in numbers or len(numbers) != 2:
            return False
        low, high = sorted(numbers)
        for spelling, label in self.spellings.items():
            if (label == "positive") != (_number(spelling) == high):
                raise SentimentError(
                    f"{self._where(values, first)}: label {values.iloc[first]!r}: the column "
                    f"holds two numbers, {_fmt(low)} and {_fmt(high)}, which read as two "
                    f"classes the lower negative, but earlier rows were read with "
                    f"{spelling!r} as {label}, its usual meaning"
                    + ("" if self.fixed else f"; say which is which with --stars "
                       f"{_fmt(low)}:{_fmt(high)} ({_fmt(low)} negative)"))
        self.pair = (low, high)
        if not self.fixed:
            self.scheme.negative_max, self.scheme.positive_min = low, high
        return True

    def _two_numbers(self, values) -> tuple[np.ndarray, np.ndarray]:
        """(codes, rows kept) of a column of two numbers (:attr:`pair`); scoring a file
        with a model's pair drops (and counts) the numbers between them."""
        import pandas as pd

        low, high = self.pair
        numbers = values.map({v: _number(v) for v in pd.unique(values)})
        numbers = numbers.to_numpy(dtype=float, na_value=np.nan)
        keep = (numbers == low) | (numbers == high)
        middle = (numbers > low) & (numbers < high) if self.fixed else np.zeros_like(keep)
        if not (keep | middle).all():
            bad = int(np.flatnonzero(~(keep | middle))[0])
            raise SentimentError(
                f"{self._where(values, bad)}: label {values.iloc[bad]!r} is not "
                f"{_fmt(low)} or {_fmt(high)}, the two numbers the column holds (read as "
                "negative and positive); "
                + ("fix it or pick another column with --label-column" if self.fixed else
                   "train with --multiclass to keep every value as a class, or --stars "
                   "LOW:HIGH for a rating"))
        self.middle += int(middle.sum())
        for v in values[keep].drop_duplicates().head(11):
            self.spellings.setdefault(v, BINARY[int(_number(v) == high)])
        return (numbers == high).astype(np.int8), keep

    def _stars_hint(self, value: str) -> str:
        """For a numeric label the usual spellings do not know: where --stars comes in."""
        if self.fixed or _number(value) is None:
            return ""
        return ("; for a column of numbers, say which are negative and positive with "
                "--stars LOW:HIGH (such as --stars 0:4 for Sentiment140's 0/4)")

    def _classes(self, values) -> tuple[np.ndarray, np.ndarray]:
        try:
            codes, known = self.table.codes(values)
        except ValueError as exc:
            raise SentimentError(
                f"{self.name}: column {self.column!r} has {exc}; --multiclass takes up to "
                f"{MAX_CLASSES} classes (a rating? try --stars), or pick another column with "
                "--label-column") from None
        if not known.all():
            first = int(np.flatnonzero(~known)[0])
            raise SentimentError(
                f"{self._where(values, first)}: class {values.iloc[first]!r} is not one the "
                f"model knows ({', '.join(self.table.names[:10])}); score a file with the "
                "model's classes")
        return codes, known

    def _stars(self, values) -> tuple[np.ndarray, np.ndarray]:
        ratings = np.array([_number(v) if v else None for v in values], dtype=float)
        bad = np.isnan(ratings)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise SentimentError(
                f"{self._where(values, first)}: rating {values.iloc[first]!r} is not a "
                "number; fix it, or pick the rating column with --label-column")
        s = self.scheme
        if s.negative_max is None:  # the scale, read from the first chunk
            try:
                bottom, top = star_scale(ratings)
            except ValueError as exc:
                raise SentimentError(f"{self.name}: column {self.column!r}: {exc}; give the "
                                     "cut points with --stars LOW:HIGH") from None
            s.negative_max, s.positive_min = star_cuts(bottom, top)
            self.scale = (bottom, top)
            self.scale_note = (f"{self.name}: column {self.column!r} read as ratings "
                               f"{_fmt(bottom)}-{_fmt(top)}: {s.describe()} (change with "
                               "--stars LOW:HIGH)")
        if self.scale is not None and (ratings.min() < self.scale[0]
                                       or ratings.max() > self.scale[1]):
            bad = int(np.flatnonzero((ratings < self.scale[0]) | (ratings > self.scale[1]))[0])
            raise SentimentError(
                f"{self._where(values, bad)}: rating {values.iloc[bad]!r} is outside the "
                f"scale {_fmt(self.scale[0])}-{_fmt(self.scale[1])} read from the first rows "
                "(a file sorted by rating?); give the cut points with --stars LOW:HIGH")
        labels = star_labels(ratings, s.negative_max, s.positive_min)
        keep = labels >= 0
        self.middle += int((~keep).sum())
        return labels, keep

    def describe(self) -> str:
        """``label column 'x' (...)``: what the column was read as, for the notes."""
        kind, column = self.scheme.kind, self.column
        if kind == "stars":
            return f"rating column {column!r} ({self.scheme.describe()})"
        if kind == "multiclass":
            names = self.table.names if self.fixed else self.table.sorted_names()
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            return f"label column {column!r} ({len(names)} classes: {shown})"
        shown = list(self.spellings.items())
        mapping = ", ".join(f"{v!r} -> {label}" for v, label in shown[:10])
        mapping += ", ..." if len(shown) > 10 else ""
        if self.pair is not None:
            mapping += ": two numbers, the lower negative"
        return f"label column {column!r} ({mapping})"

    def notes(self) -> list[str]:
        """Notes beyond :meth:`describe`: the scale read, the middle rows dropped."""
        if self.pair is not None and self.middle:
            return [f"{self.name}: dropped {self.middle:,} rows labelled between "
                    f"{_fmt(self.pair[0])} and {_fmt(self.pair[1])} (neither class)"]
        if self.scheme.kind != "stars":
            return []
        dropped = (f"{self.name}: dropped {self.middle:,} rows rated in the middle of the "
                   f"scale (between {_fmt(self.scheme.negative_max)} and "
                   f"{_fmt(self.scheme.positive_min)})")
        return ([self.scale_note] if self.scale_note else []) + [dropped]
