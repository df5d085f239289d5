"""Reading review files, and locating (or fetching) the IMDB dataset.

:func:`read_reviews` reads CSV or TSV, plain or gzip, UTF-8 with or without a BOM; finds
the text and label columns by common names (or takes them by name); maps the usual label
spellings to 0 (negative) and 1 (positive); drops and counts empty rows. Every mistake is
a :class:`~sentiment.errors.SentimentError` naming the file, and the row or column, and
saying what to do.
"""
from __future__ import annotations

import codecs
import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SentimentError
from .model import LABELS

TEXT_NAMES = ("review", "text", "sentence", "content", "body", "comment", "document",
              "tweet", "message", "review_text", "reviewtext", "summary")
LABEL_NAMES = ("sentiment", "label", "polarity", "class", "target", "labels", "y",
               "sentiment_label", "category")
POSITIVE = ("positive", "pos", "1", "true", "yes", "p", "+", "+1", "1.0")
NEGATIVE = ("negative", "neg", "0", "false", "no", "n", "-", "-1", "0.0", "-1.0")


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
    """Read a review file; see the module docstring. Raises SentimentError on bad input.

    Rows are numbered as a spreadsheet shows them: the header is row 1.
    """
    name = str(path)
    frame, notes = _read_frame(Path(path), encoding)
    columns = list(frame.columns)
    text_col = _pick(name, columns, text_column, TEXT_NAMES, "text", "--text-column")
    label_col = None
    if label_column is not None or need_labels:
        label_col = _pick(name, columns, label_column, LABEL_NAMES, "label", "--label-column",
                          exclude=text_col, required=need_labels)
    texts = frame[text_col]
    empty = (texts.str.strip() == "").to_numpy()
    if label_col is not None:
        empty = empty | (frame[label_col].str.strip() == "").to_numpy()
    what = "text or label" if label_col else "text"
    if empty.all():
        columns = f"{text_col!r}" + (f" and {label_col!r}" if label_col else "")
        flags = "--text-column" + (" and --label-column" if label_col else "")
        raise SentimentError(f"{name}: every row has an empty {what} "
                             f"({_count(len(frame), 'row')}, columns {columns}); check the "
                             f"file or name the columns with {flags}")
    if empty.any():
        n_empty = int(empty.sum())
        notes.append(f"{name}: dropped {_count(n_empty, 'row')} with an empty "
                     f"{what} ({_rows(frame.index[empty])})")
        frame = frame[~empty]
    labels = None
    if label_col is not None:
        labels, mapping = _map_labels(name, label_col, frame[label_col].str.strip())
        notes.append(f"{name}: text column {text_col!r}, label column {label_col!r} "
                     f"({mapping}); {_count(len(frame), 'row')}")
    else:
        notes.append(f"{name}: text column {text_col!r}; {_count(len(frame), 'row')}")
    frame = frame.reset_index(drop=True)
    return Reviews(name, frame[text_col].tolist(), labels, text_col, label_col, frame, notes)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _rows(index, limit: int = 5) -> str:
    """'row 3' or 'rows 3, 5, ...' from 0-based data row positions (header is row 1)."""
    rows = [str(int(i) + 2) for i in index[:limit]]
    more = ", ..." if len(index) > limit else ""
    return f"row{'s' * (len(index) != 1)} {', '.join(rows)}{more}"


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _read_frame(path: Path, encoding: str | None):
    """Read the file into a DataFrame of strings; return (frame, notes).

    Every failure becomes one line naming the file (and the row, where there is one).
    """
    import pandas as pd

    name = str(path)
    if not path.exists():
        raise SentimentError(f"{name}: no such file; check the path")
    if path.is_dir():
        raise SentimentError(f"{name}: is a directory; pass a CSV or TSV file")
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"  # gzip by its magic bytes, whatever the name
        head = _head(path, gz)
    except (OSError, EOFError, zlib.error) as exc:
        raise SentimentError(_damaged(name, exc, gz)) from None
    if not head.strip():
        raise SentimentError(f"{name}: the file is empty; it needs a header row and "
                             "one review per row")
    enc, notes = _encoding(name, head, encoding)
    sep = _separator(path, head, enc)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                            skip_blank_lines=False, encoding=enc, engine="c",
                            compression="gzip" if gz else None)
    except pd.errors.EmptyDataError:
        raise SentimentError(f"{name}: line 1 is blank; the first line must be the header "
                             "(the column names)") from None
    except pd.errors.ParserError as exc:
        raise SentimentError(_malformed(name, exc, sep)) from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start:exc.start + 1]
        shown = "UTF-8" if enc == "utf-8-sig" else enc
        raise SentimentError(f"{name}: is not {shown} (byte 0x{byte.hex()} after the first "
                             f"{len(head) // 1024} KB); pass its encoding, e.g. "
                             f"--encoding {_guess_8bit(byte)}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise SentimentError(_damaged(name, exc, gz)) from None
    if len(frame.columns) == 0:
        raise SentimentError(f"{name}: line 1 is blank; the first line must be the header "
                             "(the column names)")
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took extra fields as an index
        raise SentimentError(f"{name}: row 2 has {frame.index.nlevels + len(frame.columns)} "
                             f"fields but the header has {len(frame.columns)}; "
                             f"{_QUOTE_HINT[sep]}")
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns[0].startswith(("\ufeff", "\u00ef\u00bb\u00bf")):  # a (mangled) BOM
        frame.columns = [_strip_bom(frame.columns[0]), *frame.columns[1:]]
    if len(frame) == 0:
        raise SentimentError(f"{name}: has a header but no rows; add one review per row")
    return frame, notes


_QUOTE_HINT = {",": "put reviews that contain commas in double quotes",
               "\t": "a review must not contain a tab; check the quotes"}


def _strip_bom(column: str) -> str:
    while column.startswith(("\ufeff", "\u00ef\u00bb\u00bf")):
        column = column[1:] if column[0] == "\ufeff" else column[3:]
    return column


def _head(path: Path, gz: bool, size: int = 1 << 16) -> bytes:
    with (gzip.open if gz else open)(path, "rb") as f:
        return f.read(size)


def _damaged(name: str, exc: Exception, gz: bool) -> str:
    if gz:
        return (f"{name}: the gzip data is truncated or damaged ({_why(exc)}); "
                "download or compress the file again")
    return f"{name}: cannot read it ({_why(exc)}); check the file"


def _family(encoding: str) -> str:
    """'utf-16' for utf_16_le, 'utf-8' for UTF8 or utf-8-sig: the codec without its variant."""
    return re.sub(r"[-_](le|be|sig)$", "", codecs.lookup(encoding).name)


def _encoding(name: str, head: bytes, encoding: str | None) -> tuple[str, list[str]]:
    """Return (the encoding to read with, notes), refusing binary and non-UTF-8 files."""
    bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
    notes = []
    if encoding is None:
        enc = bom or "utf-8-sig"
        if enc != "utf-8-sig":
            notes.append(f"{name}: read as {enc.upper()} (it starts with a byte-order mark)")
    else:
        try:
            family = _family(encoding)
        except LookupError:
            raise SentimentError(f"{name}: unknown encoding {encoding!r}; pass a name such "
                                 "as utf-8, cp1252 or latin-1 to --encoding") from None
        if bom and _family(bom) != family:
            raise SentimentError(f"{name}: starts with a {_family(bom).upper()} byte-order "
                                 f"mark, so it is not {encoding}; leave out --encoding")
        enc = "utf-8-sig" if family == "utf-8" else encoding
        if not family.startswith("utf"):
            notes.append(f"{name}: read as {encoding} (--encoding)")
            if not head.isascii() and _is_utf8(head):
                notes.append(f"{name}: warning: the file looks like UTF-8; read as "
                             f"{encoding}, its accented letters come out garbled")
            elif family == "iso8859-1" and re.search(rb"[\x80-\x9f]", head):
                notes.append(f"{name}: warning: bytes 0x80-0x9f are control characters in "
                             f"{encoding}; the file is probably cp1252 (--encoding cp1252)")
    if "\x00" in head.decode(enc, "replace"):
        if head.startswith(b"PK\x03\x04"):
            raise SentimentError(f"{name}: is a zip archive (an Excel .xlsx file, say), not "
                                 "CSV or TSV text; export or unzip it to CSV")
        raise SentimentError(f"{name}: is not a text file (it holds binary data); pass a "
                             "CSV or TSV file")
    if encoding is None and bom is None and not _is_utf8(head):
        bad = _utf8_error(head)
        line = head.count(b"\n", 0, bad) + 1
        raise SentimentError(f"{name}: is not UTF-8 (byte {head[bad]:#x} on line {line}); "
                             f"pass its encoding, e.g. --encoding {_guess_8bit(head)}")
    return enc, notes


def _utf8_error(data: bytes) -> int:
    """Offset of the first byte that is not UTF-8, or -1."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def _is_utf8(head: bytes) -> bool:
    """True if ``head`` is UTF-8, up to a character cut at the end of the sample."""
    bad = _utf8_error(head)
    return bad < 0 or bad >= len(head) - 4


def _guess_8bit(data: bytes) -> str:
    """cp1252 if the bytes use its printable 0x80-0x9f range (curly quotes, dashes)."""
    return "cp1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"


def _malformed(name: str, exc: Exception, sep: str) -> str:
    """One line for a pandas ParserError, with the row where pandas names one."""
    text = str(exc)
    kind = "TSV" if sep == "\t" else "CSV"
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        want, row, saw = m.groups()
        return (f"{name}: row {row} has {saw} fields but the header has {want}; "
                f"{_QUOTE_HINT[sep]}")
    m = re.search(r"EOF inside string starting at row (\d+)", text)
    if m:
        return (f"{name}: row {int(m.group(1)) + 1}: a quoted field never ends (an unpaired "
                '"); close the quote, or double a quote inside a quoted field ("")')
    return (f"{name}: malformed {kind} ({_why(exc)}); check the quoting and the number of "
            "fields per row")


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


def _map_labels(name, column, values):
    """Map label spellings to 0/1; return (labels, a description of the mapping).

    Spellings are compared case-insensitively, so 'Positive' and 'pos' are one label.
    """
    keys = values.str.lower()
    known = {**{k: 1 for k in POSITIVE}, **{k: 0 for k in NEGATIVE}}
    mapped = keys.map(known)
    bad = mapped.isna().to_numpy()
    if bad.any():
        # labels it would make: each known class once, each unknown spelling once
        if mapped.nunique() + keys[bad].nunique() > 2:
            counts = values.value_counts()
            listed = ", ".join(f"{v!r}: {c:,}" for v, c in counts.head(10).items())
            more = f", and {len(counts) - 10:,} more" if len(counts) > 10 else ""
            raise SentimentError(f"{name}: column {column!r} has {len(counts):,} values "
                                 f"({listed}{more}); a label column needs two "
                                 "(positive/negative); pick another with --label-column")
        first = int(np.flatnonzero(bad)[0])
        raise SentimentError(
            f"{name}: {_rows(values.index[first:first + 1])}, column {column!r}: label "
            f"{values.iloc[first]!r} is not one of positive/negative, pos/neg, 1/0, "
            "true/false; fix it or pick another column with --label-column")
    labels = mapped.to_numpy(dtype=np.int8)
    spellings = values.drop_duplicates()
    described = ", ".join(f"{v!r} -> {LABELS[known[v.lower()]]}"
                          for v in spellings.head(10))
    return labels, described + (", ..." if len(spellings) > 10 else "")


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
