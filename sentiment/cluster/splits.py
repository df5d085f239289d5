"""Review files cut into parts a worker reads by itself: whole files, or byte ranges of a
plain file cut at row boundaries. Local paths, or any fsspec URL (``s3://``, ``gs://``,
``file://``, ...) when the matching fsspec package is installed.

A part ``[start, end)`` holds the rows that *begin* in it: its reader starts at the first
row boundary at or after ``start`` and reads past ``end`` to the first row boundary at or
after ``end``, where the next part starts (:func:`row_start`, the same function of the
file's bytes on both sides: no row is read twice or lost). A row boundary is a newline
outside quotes; whether a newline is inside a quoted field is decided from the quotes
around it (:func:`_first_row_end`), since a part cannot count the quotes before it.

Nothing here reads more than a few KB around each cut; the planner (:func:`plan`) reads
only the files' sizes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import SentimentError

#: bytes looked at around a cut to find the row boundary (grown if it holds none)
WINDOW = 1 << 16
#: encodings whose newline and quote are the ASCII bytes: the ones a cut can fall in
SPLITTABLE = ("utf-8", "utf-8-sig", "utf8", "ascii", "latin-1", "iso-8859-1", "cp1252")


@dataclass(frozen=True)
class Part:
    """Rows of one input file: those beginning in bytes ``[start, end)`` (``end`` -1: the
    whole file, as for gzip)."""

    path: str  # a local path or an fsspec URL
    file: int  # which input file
    index: int  # position among all parts, in file order
    start: int = 0
    end: int = -1

    @property
    def whole(self) -> bool:
        return self.end < 0

    def describe(self) -> str:
        return self.path if self.whole else f"{self.path} bytes {self.start:,}-{self.end:,}"


def is_url(path: str) -> bool:
    """Whether ``path`` is an fsspec URL (``s3://bucket/x.csv``) rather than a local path."""
    return "://" in str(path)


def open_bytes(path: str):
    """``path`` opened for reading bytes: a local file, or an fsspec URL (its package named
    if it is missing)."""
    if not is_url(path):
        return open(path, "rb")
    try:
        import fsspec

        return fsspec.open(path, "rb").open()
    except ImportError as exc:
        raise SentimentError(f"{path}: reading this URL needs a package that is not "
                             f"installed ({exc}); pip install fsspec and the package for "
                             "its protocol (s3fs, gcsfs, ...)") from None
    except (OSError, ValueError) as exc:
        raise SentimentError(f"{path}: cannot open it ({exc})") from None


def size_of(path: str) -> int:
    """Bytes in the file at ``path`` (local or URL), without reading it."""
    try:
        if not is_url(path):
            return os.path.getsize(path)
        import fsspec

        fs, inner = fsspec.core.url_to_fs(path)
        return int(fs.size(inner))
    except ImportError as exc:
        raise SentimentError(f"{path}: reading this URL needs a package that is not "
                             f"installed ({exc})") from None
    except (OSError, ValueError) as exc:
        raise SentimentError(f"{path}: cannot read its size ({exc}); check the path") from None


def plan(files: list[dict], part_bytes: int) -> list[Part]:
    """The parts of ``files`` (each ``path``, ``size``, ``header``: bytes up to the first
    row, ``splittable``), in file order: a file that cannot be cut (gzip, UTF-16) or
    small enough is one part; a larger one is cut every ``part_bytes`` after its header."""
    parts: list[Part] = []
    for f, info in enumerate(files):
        size, head = info["size"], info["header"]
        if not info["splittable"] or size - head <= part_bytes:
            parts.append(Part(info["path"], f, len(parts)) if not info["splittable"]
                         else Part(info["path"], f, len(parts), head, size))
            continue
        cuts = list(range(head, size, part_bytes)) + [size]
        if cuts[-1] - cuts[-2] < part_bytes // 4 and len(cuts) > 2:  # no tiny last part
            cuts.pop(-2)
        parts += [Part(info["path"], f, len(parts) + i, a, b)
                  for i, (a, b) in enumerate(zip(cuts, cuts[1:]))]
    return parts


def read_range(f, part: Part, size: int, header: int, sep: str) -> tuple[bytes, int]:
    """(The bytes of the rows beginning in ``part``, where they start) from the open file
    ``f`` of ``size`` bytes whose header ends at byte ``header``."""
    first = row_start(f, part.start, size, header, sep)
    last = row_start(f, part.end, size, header, sep)
    f.seek(first)
    return f.read(max(last - first, 0)), first


def row_start(f, pos: int, size: int, header: int, sep: str) -> int:
    """The first row boundary at or after ``pos`` in the open file ``f``: ``pos`` itself
    at the header's end or the file's; else just after the first newline (from ``pos -
    1`` on) that ends a row. A function of the file's bytes alone: the part ending at
    ``pos`` and the part starting there agree."""
    if pos <= header or pos >= size:
        return min(max(pos, header), size)
    window = WINDOW
    while True:
        f.seek(pos - 1)
        buf = f.read(window + 1)
        found = _first_row_end(buf, sep.encode(), pos - 1 + len(buf) >= size)
        if found is not None:
            return pos - 1 + found + 1
        if pos - 1 + len(buf) >= size:
            return size
        window *= 4


def _first_row_end(buf: bytes, sep: bytes, at_eof: bool) -> int | None:
    """Where in ``buf`` (from the byte before the cut) is the first newline that ends a
    row; None if the window holds none, or cannot tell (``at_eof``: it ends the file).

    Two readings of the state at the cut, outside or inside a quoted field; each quote
    then opens or closes a field, alternately. In a well-formed file a quote that opens
    follows a separator, a line end or a quote, and one that closes is followed by one
    of those, and the file does not end inside quotes: the reading whose first breach of
    that comes later is taken; outside when the window has no quote; undecided (None)
    when it has quotes that both readings allow.
    """
    data = np.frombuffer(buf, np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    allowed = np.zeros(256, bool)
    allowed[[ord(sep), 10, 13, ord('"')]] = True
    before = allowed[data[np.maximum(quotes - 1, 0)]] | (quotes == 0)  # 0: unseen before
    after = np.ones(len(quotes), bool)
    inside_buf = quotes + 1 < len(data)
    after[inside_buf] = allowed[data[quotes[inside_buf] + 1]]
    odd = (np.arange(len(quotes)) & 1).astype(bool)
    breach = []
    for inside in (False, True):
        opening = odd if inside else ~odd  # the quote's state before it: outside
        bad = np.flatnonzero(np.where(opening, ~before, ~after))
        open_at_end = (len(quotes) & 1) != inside
        breach.append(quotes[bad[0]] if len(bad) else len(data) + (not (at_eof and open_at_end)))
    if len(quotes) and breach[0] == breach[1]:
        return None
    inside = bool(breach[1] > breach[0])
    newlines = np.flatnonzero(data == 10)
    quotes_before = np.searchsorted(quotes, newlines)
    ends = newlines[((quotes_before & 1).astype(bool)) == inside]
    return int(ends[0]) if len(ends) else None
