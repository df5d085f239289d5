"""Reading review files, chunk by chunk, and locating (or fetching) the IMDB dataset.

:class:`ReviewFile` opens a CSV or TSV file, plain or gzip, UTF-8 with or without a BOM
(:mod:`sentiment.io.sniff`); finds the text and label columns by common names (or takes them by
name) from the header alone, before any long work; then reads it in chunks of rows
(:meth:`ReviewFile.chunks`), mapping the usual label spellings to 0 (negative) and 1
(positive) and dropping (and counting) empty rows. Row numbers stay true across chunks:
every mistake is a :class:`~sentiment.errors.SentimentError` naming the file, and the row
or column, and saying what to do. :func:`read_reviews` is the same reader, in one chunk.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SentimentError
from .labels import NEGATIVE, POSITIVE, RATING_NAMES, LabelReader, LabelScheme
from .sniff import (
    QUOTE_HINT,
    damaged,
    encoding_of,
    guess_8bit,
    head_bytes,
    malformed,
    separator,
    strip_bom,
    undecodable_lines,
)

TEXT_NAMES = ("review", "text", "sentence", "content", "body", "comment", "document",
              "tweet", "message", "review_text", "reviewtext", "summary")


LABEL_NAMES = ("sentiment", "label", "polarity", "class", "target", "labels", "y",
               "sentiment_label", "category")


__all__ = ["LABEL_NAMES", "NEGATIVE", "POSITIVE", "TEXT_NAMES", "ReviewFile", "Reviews",
           "data_home", "imdb_paths", "read_reviews"]


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
    rows: np.ndarray | None = None  # each kept row's number in the file (header: row 1)
    empty: np.ndarray | None = None  # with keep_empty: which rows have an empty text

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return (f"Reviews({self.path!r}, n={len(self)}, text={self.text_column!r}, "
                f"label={self.label_column!r})")


class ReviewFile:
    """A review file, checked and its columns found from the header; read with
    :meth:`chunks`. ``notes`` say what was detected, and after a complete read how many
    rows were kept and dropped."""

    def __init__(self, path: str | os.PathLike, *, text_column: str | None = None,
                 label_column: str | None = None, need_labels: bool = True,
                 encoding: str | None = None, keep_empty: bool = False,
                 scheme: LabelScheme | None = None, fixed: bool = False):
        self.path, self.name = Path(path), str(path)
        self.keep_empty = keep_empty and not need_labels  # scoring keeps every input row
        self.gz, self.encoding, self.sep, self.notes, head = _sniff(self.path, encoding)
        #: bytes per row in the first 64 KB: how many rows make a chunk of a given size
        self.row_bytes = max(len(head) / max(head.count(b"\n"), 1), 1.0)
        columns = _header(self)
        self.notes += _duplicate_columns(self.name, columns)
        self.text_column = _pick(self.name, columns, text_column, TEXT_NAMES, "text",
                                 "--text-column")
        self.label_column, self.labels = None, None
        scheme = scheme or LabelScheme()
        if label_column is not None or need_labels:
            aliases = {"stars": RATING_NAMES + LABEL_NAMES, "binary": LABEL_NAMES}.get(
                scheme.kind, LABEL_NAMES + RATING_NAMES)
            if label_column is None and scheme.column in columns:  # the model's column
                label_column = scheme.column
            self.label_column = _pick(self.name, columns, label_column, aliases, "label",
                                      "--label-column", exclude=self.text_column,
                                      required=need_labels)
        if self.label_column is not None:
            self.labels = LabelReader(self.name, self.label_column, scheme, fixed)
        self.rows_read = self.rows_kept = self.rows_with_text = 0
        #: a part of the file (:mod:`sentiment.cluster.remote`): what gives its bytes (the header
        #: line, then its rows) instead of opening the file, and the file's rows before it
        self.opener, self.rows_before = None, 0
        self._dropped: list[int] = []  # row numbers of the first few empty rows
        self._spanning: list[int] = []  # rows of texts over SPAN_LINES lines

    def __repr__(self) -> str:
        return (f"ReviewFile({self.name!r}, text={self.text_column!r}, "
                f"label={self.label_column!r})")

    def size(self) -> int:
        """Bytes on disk (compressed, for a gzip file): what progress is measured in."""
        return self.path.stat().st_size

    def chunks(self, rows: int | None = None, progress=None) -> Iterator[Reviews]:
        """Yield the file as :class:`Reviews` of at most ``rows`` rows (None: one chunk).

        ``progress(bytes_done)`` is called after each chunk with the bytes of the file read
        so far. Raises SentimentError where the file is malformed, naming the row.
        """
        self.rows_read = self.rows_kept = self.rows_with_text = 0
        self._dropped, self._dropped_n, self._spanning, self._spanning_n = [], 0, [], 0
        for frame, done in _frames(self, rows):
            if self.rows_before:  # row numbers as the whole file counts them
                frame.index = frame.index + self.rows_before
            chunk = self._clean(frame)
            if progress is not None:
                progress(done)
            if len(chunk):
                yield chunk
        self._finish()

    def _clean(self, frame) -> Reviews:
        """Drop the empty rows of one chunk and map its labels."""
        name, text_col, label_col = self.name, self.text_column, self.label_column
        self.rows_read += len(frame)
        texts = frame[text_col].tolist()
        # on each string in Python: pandas' .str.count and .str.strip took 7 s of 1M reviews
        spanning = np.fromiter((isinstance(t, str) and "\n" in t
                                and t.count("\n") >= SPAN_LINES for t in texts), bool, len(texts))
        if spanning.any():  # a quote left open swallows the rows after it
            self._spanning_n += int(spanning.sum())
            self._spanning += [int(i) for i in frame.index[spanning][:6 - len(self._spanning)]]
        # str.strip() == "" exactly: both strip what str.isspace calls white
        empty = np.fromiter((isinstance(t, str) and (not t or t.isspace()) for t in texts),
                            bool, len(texts))
        if label_col is not None:
            stripped = frame[label_col].str.strip()
            empty = empty | (stripped == "").to_numpy()
        if empty.any():
            self._dropped_n += int(empty.sum())
            self._dropped += [int(i) for i in frame.index[empty][:6 - len(self._dropped)]]
            if not self.keep_empty:
                frame = frame[~empty]
                if label_col is not None:
                    stripped = stripped[~empty]
                texts = None
        labels = None
        self.rows_with_text += len(frame) - (int(empty.sum()) if self.keep_empty else 0)
        if label_col is not None and len(frame):
            labels, keep = self.labels(stripped)
            if not keep.all():  # a rating in the middle of the scale
                frame, labels = frame[keep], labels[keep]
                texts = None
        self.rows_kept += len(frame)
        rows = frame.index.to_numpy() + 2
        frame = frame.reset_index(drop=True)
        return Reviews(name, frame[text_col].tolist() if texts is None else texts, labels,
                       text_col, label_col, frame, rows=rows,
                       empty=empty if self.keep_empty else None)

    def _finish(self) -> None:
        """After the last chunk: refuse a file with no usable row; note what was read."""
        name, text_col, label_col = self.name, self.text_column, self.label_column
        what = "text or label" if label_col else "text"
        if self.rows_read == 0:
            raise SentimentError(f"{name}: has a header but no rows; add one review per row")
        if self.rows_with_text == 0:
            columns = f"{text_col!r}" + (f" and {label_col!r}" if label_col else "")
            flags = "--text-column" + (" and --label-column" if label_col else "")
            raise SentimentError(f"{name}: every row has an empty {what} "
                                 f"({_count(self.rows_read, 'row')}, columns {columns}); check "
                                 f"the file or name the columns with {flags}")
        if label_col is not None and self.rows_kept == 0:
            raise SentimentError(f"{name}: no row is left to use: every rating in column "
                                 f"{label_col!r} is in the middle of the scale "
                                 f"({self.labels.scheme.describe()}); set the cut points "
                                 "with --stars LOW:HIGH")
        if self._spanning_n:
            self.notes.append(f"{name}: warning: {_count(self._spanning_n, 'text')} in column "
                              f"{text_col!r} span {SPAN_LINES} lines or more "
                              f"({_rows(self._spanning, self._spanning_n)}): a quote left "
                              "open swallows the rows after it; check the quoting there")
        if self._dropped_n:
            done = "kept, unscored," if self.keep_empty else "dropped"
            self.notes.append(f"{name}: {done} {_count(self._dropped_n, 'row')} with an "
                              f"empty {what} ({_rows(self._dropped, self._dropped_n)})")
        if label_col is not None:
            self.notes.append(f"{name}: text column {text_col!r}, {self.labels.describe()}; "
                              f"{_count(self.rows_kept, 'row')}")
            self.notes.extend(self.labels.notes())
        else:
            self.notes.append(f"{name}: text column {text_col!r}; "
                              f"{_count(self.rows_kept, 'row')}")


#: a text of this many lines or more is more likely an unclosed quote than a review
SPAN_LINES = 100


def _duplicate_columns(name: str, columns: list[str]) -> list[str]:
    """Notes for header names given twice, which pandas renames ``x.1``, ``x.2``, ..."""
    import re

    notes = []
    for c in columns:
        m = re.fullmatch(r"(.+)\.(\d+)", c)
        if m and m.group(1) in columns:
            notes.append(f"{name}: the header names column {m.group(1)!r} more than once; "
                         f"the first is {m.group(1)!r}, this one is read as {c!r} (pick it "
                         "with --text-column or --label-column)")
    return notes


def read_reviews(path: str | os.PathLike, *, text_column: str | None = None,
                 label_column: str | None = None, need_labels: bool = True,
                 encoding: str | None = None) -> Reviews:
    """Read a whole review file at once (:class:`ReviewFile` in one chunk).

    Rows are numbered as a spreadsheet shows them: the header is row 1.
    """
    source = ReviewFile(path, text_column=text_column, label_column=label_column,
                        need_labels=need_labels, encoding=encoding)
    (reviews,) = source.chunks()  # one chunk; reading to the end adds the notes
    reviews.notes = source.notes
    return reviews


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _rows(rows: list[int], total: int, limit: int = 5) -> str:
    """'row 3' or 'rows 3, 5, ...' from 0-based data row positions (header is row 1)."""
    shown = [str(int(i) + 2) for i in rows[:limit]]
    more = ", ..." if total > limit else ""
    return f"row{'s' * (total != 1)} {', '.join(shown)}{more}"


def _sniff(path: Path, encoding: str | None):
    """(gzip?, encoding, separator, notes) of the file, refusing what cannot be a review
    file (missing, a folder, empty, binary, damaged, not in its encoding)."""
    name = str(path)
    if not path.exists():
        raise SentimentError(f"{name}: no such file; check the path")
    if path.is_dir():
        raise SentimentError(f"{name}: is a directory; pass a CSV or TSV file")
    gz = False
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"  # gzip by its magic bytes, whatever the name
        head = head_bytes(path, gz)
    except (OSError, EOFError, zlib.error) as exc:
        raise SentimentError(damaged(name, exc, gz)) from None
    if not head.strip():
        raise SentimentError(f"{name}: the file is empty; it needs a header row and "
                             "one review per row")
    enc, notes = encoding_of(name, head, encoding)
    sep, said = separator(path, head, enc)
    return gz, enc, sep, notes + ([said] if said else []), head


def _read_csv(raw, source: ReviewFile, **options):
    import pandas as pd

    return pd.read_csv(raw, sep=source.sep, dtype=str, keep_default_na=False,
                       skip_blank_lines=False, encoding=source.encoding, engine="c",
                       compression="gzip" if source.gz else None, **options)


def _header(source: ReviewFile) -> list[str]:
    """The column names, read from the first line alone."""
    frame = next(_frames(source, None, nrows=0))[0]
    return list(frame.columns)


def _frames(source: ReviewFile, rows: int | None, **options):
    """Yield (DataFrame of strings, bytes of the file read so far) chunk by chunk.

    Every failure becomes one line naming the file (and the row, where there is one).
    """
    import pandas as pd

    name, sep = source.name, source.sep
    try:
        opened = source.opener() if getattr(source, "opener", None) else None
        with opened or open(source.path, "rb") as raw:
            if rows is None or "nrows" in options:
                yield _check_frame(name, _read_csv(raw, source, **options), sep), raw.tell()
                return
            with _read_csv(raw, source, chunksize=rows) as reader:
                for frame in reader:
                    yield _check_frame(name, frame, sep), raw.tell()
    except pd.errors.EmptyDataError:
        raise SentimentError(f"{name}: line 1 is blank; the first line must be the header "
                             "(the column names)") from None
    except pd.errors.ParserError as exc:
        raise SentimentError(malformed(name, exc, sep, getattr(source, "rows_before", 0))
                             ) from None
    except UnicodeDecodeError as exc:
        shown = "UTF-8" if source.encoding == "utf-8-sig" else source.encoding
        lines, n, byte, fine = undecodable_lines(source.path, source.gz, source.encoding)
        byte = byte or exc.object[exc.start:exc.start + 1]
        where = ", ".join(map(str, lines)) + (", ..." if n > len(lines) else "")
        lines_are = f"{n:,} line{'s' * (n != 1)}"
        if fine:  # non-ASCII lines in both encodings: no one --encoding reads it right
            raise SentimentError(
                f"{name}: mixes encodings: {lines_are} (line{'s' * (n != 1)} {where}; byte "
                f"0x{byte.hex()}) are not {shown}, {fine:,} others are; convert those lines "
                f"to {shown} (reading it all as {guess_8bit(byte)} would garble the others)"
            ) from None
        raise SentimentError(f"{name}: is not {shown} on {lines_are} after the first 64 KB "
                             f"(line{'s' * (n != 1)} {where}; byte 0x{byte.hex()}): pass its "
                             f"encoding, e.g. --encoding {guess_8bit(byte)}, or convert those "
                             "lines") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise SentimentError(damaged(name, exc, source.gz)) from None


def _check_frame(name: str, frame, sep: str):
    """The columns of one chunk as strings, refusing a header pandas could not use."""
    import pandas as pd

    if len(frame.columns) == 0:
        raise SentimentError(f"{name}: line 1 is blank; the first line must be the header "
                             "(the column names)")
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took extra fields as an index
        raise SentimentError(f"{name}: row 2 has {frame.index.nlevels + len(frame.columns)} "
                             f"fields but the header has {len(frame.columns)}; "
                             f"{QUOTE_HINT[sep]}")
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns[0].startswith(("\ufeff", "\u00ef\u00bb\u00bf")):  # a (mangled) BOM
        frame.columns = [strip_bom(frame.columns[0]), *frame.columns[1:]]
    return frame


def _pick(name, columns, chosen, aliases, what, flag, exclude=None, required=True):
    """Return the column named ``chosen``, else the first column matching an alias."""
    found = ", ".join(columns) if columns else "none"
    if chosen is not None:
        if chosen in columns:
            return chosen
        same = [c for c in columns if c.strip().lower() == chosen.strip().lower()]
        if len(same) == 1:
            return same[0]
        raise SentimentError(f"{name}: no column {chosen!r} (found: {found}); "
                             f"check {flag}")
    lower = {}
    for c in columns:
        if c != exclude:
            lower.setdefault(c.strip().lower(), c)
    for alias in aliases:
        if alias in lower:
            return lower[alias]
    if not required:
        return None
    raise SentimentError(f"{name}: no {what} column (found: {found}); "
                         f"name it with {flag}")


def data_home() -> Path:
    """``$SENTIMENT_DATA`` when set; else ``./data`` if an earlier version put IMDB there;
    else ``data`` in the user's folder (:func:`sentiment.io.paths.home`)."""
    from .paths import home

    if os.environ.get("SENTIMENT_DATA"):
        return Path(os.environ["SENTIMENT_DATA"])
    if (Path("data") / "imdb" / "train.csv.gz").is_file():
        return Path("data")
    return home() / "data"


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
