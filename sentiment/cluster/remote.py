"""A review file read in parts by the workers of a cluster, with the reader one process uses.

The driver opens each input as one process would (:class:`~sentiment.io.reader.ReviewFile`),
reading only its first 64 KB: encoding, separator, columns, label scheme, and where the
header ends (:func:`open_input`). A worker reads one part (:func:`read_part`): a whole
file, or the rows of a byte range (:mod:`sentiment.cluster.splits`) given to the same reader
behind the file's header line, so every check and message is the one-process reader's;
an error names the file and its row as the whole file numbers it.
"""
from __future__ import annotations

import copy
import io
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from ..errors import SentimentError
from ..features.texthashes import text_hashes
from ..io.reader import ReviewFile, Reviews
from .splits import SPLITTABLE, Part, open_bytes, read_range, size_of

#: bytes of each file the driver reads to learn its layout (a compressed or a long first
#: row: up to HEAD_GZ)
HEAD, HEAD_GZ = 1 << 13, 1 << 20
#: texts a part sends back to say which scripts the data is written in
SAMPLE = 200


@dataclass
class Layout:
    """One input file as the driver learned it from its head: the reader to copy on the
    workers, the bytes of the header line, where the rows start, the file's size."""

    path: str
    size: int
    header: bytes
    reader: ReviewFile = field(repr=False)

    @property
    def splittable(self) -> bool:
        return not self.reader.gz and self.reader.encoding.lower() in SPLITTABLE

    def describe(self) -> dict:
        return {"path": self.path, "size": self.size, "header": len(self.header),
                "splittable": self.splittable}


def open_input(path: str, make) -> Layout:
    """The :class:`Layout` of ``path`` (local or URL); ``make(local_path)`` opens a
    :class:`ReviewFile` with the command's flags on a copy of the file's first
    :data:`HEAD` bytes: the driver reads no more of it."""
    with open_bytes(str(path)) as f:
        raw = f.read(HEAD)
        gz = raw[:2] == b"\x1f\x8b"
        if gz:  # the start of what it holds
            import zlib

            raw = zlib.decompressobj(31).decompress(raw + f.read(HEAD_GZ - HEAD), HEAD)
        elif b"\n" not in raw:  # a header longer than the head
            raw += f.read(HEAD_GZ - HEAD)
    fd, local = tempfile.mkstemp(suffix="-" + os.path.basename(str(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw[:raw.rfind(b"\n") + 1] or raw)
        reader = make(local)
    except SentimentError as exc:  # one process's message, about the file itself
        raise SentimentError(str(exc).replace(local, str(path))) from None
    finally:
        os.unlink(local)
    reader.name, reader.path, reader.gz = str(path), str(path), gz
    reader.notes = [n.replace(local, str(path)) for n in reader.notes]
    if reader.labels is not None:
        reader.labels.name = str(path)
    return Layout(str(path), size_of(str(path)), _header_line(raw, reader), reader)


def _header_line(head: bytes, reader: ReviewFile) -> bytes:
    """The bytes of the header row (quotes may hold newlines), BOM included."""
    if reader.gz:
        return b""
    inside = False
    for i, byte in enumerate(head):
        if byte == 34:
            inside = not inside
        elif byte == 10 and not inside:
            return head[:i + 1]
    return head


@dataclass
class PartRead:
    """A part's rows, kept on the worker that read it, and what the driver is told."""

    reviews: Reviews
    info: dict


def read_part(layout: Layout, part: Part) -> PartRead:
    """Read ``part`` of ``layout``'s file here (on a worker) with its file's reader."""
    try:
        return _read(layout, part, 0)
    except SentimentError:
        if part.whole or part.start <= len(layout.header):
            raise
        # the rows before the part, counted only now: the message numbers rows as the
        # whole file does
        return _read(layout, part, _rows_before(layout, part))


def _read(layout: Layout, part: Part, before: int) -> PartRead:
    reader = copy.copy(layout.reader)
    reader.labels = copy.deepcopy(reader.labels)
    reader.notes = []
    if part.whole:
        reader.opener = lambda: open_bytes(part.path)
    else:
        with open_bytes(part.path) as f:
            body, _ = read_range(f, part, layout.size, len(layout.header), reader.sep)
        if not body:  # a row longer than the range: the part before reads it
            return PartRead(_empty(reader), {"rows": 0, "notes": [], "pair": None})
        reader.opener = lambda: io.BytesIO(layout.header + body)
    reader.rows_before = before
    chunks = list(reader.chunks())
    reviews = chunks[0] if len(chunks) == 1 else _joined(reader, chunks)
    notes = [n for n in reader.notes if "warning" in n or "dropped" in n]
    pair = reader.labels.pair if reader.labels is not None else None
    return PartRead(reviews, {"rows": len(reviews), "rows_read": reader.rows_read,
                              "notes": notes, "pair": pair})


def _empty(reader: ReviewFile) -> Reviews:
    return Reviews(reader.name, [], np.zeros(0, np.int8), reader.text_column,
                   reader.label_column)


def _joined(reader: ReviewFile, chunks: list[Reviews]) -> Reviews:
    if not chunks:
        return _empty(reader)
    labels = None if chunks[0].labels is None else np.concatenate([c.labels for c in chunks])
    return Reviews(reader.name, [t for c in chunks for t in c.texts], labels,
                   reader.text_column, reader.label_column)


def _rows_before(layout: Layout, part: Part) -> int:
    """Rows of the file before ``part`` (read only to number an error's row)."""
    import pandas as pd

    with open_bytes(part.path) as f:
        before = Part(part.path, part.file, part.index, len(layout.header), part.start)
        body, _ = read_range(f, before, layout.size, len(layout.header), layout.reader.sep)
    try:
        return len(pd.read_csv(io.BytesIO(layout.header + body), sep=layout.reader.sep,
                               dtype=str, keep_default_na=False, skip_blank_lines=False,
                               encoding=layout.reader.encoding, usecols=[0]))
    except (ValueError, pd.errors.ParserError):
        return 0


def summary(read: PartRead, sample: bool) -> dict:
    """What the driver is told of a part: its rows, their labels' counts, a 64-bit hash
    of each text (duplicates and the test file's overlap), a few texts if ``sample``."""
    texts, labels = read.reviews.texts, read.reviews.labels
    hashes = text_hashes(texts)
    codes = np.bincount(np.asarray(labels, np.int64)) if labels is not None and len(labels) \
        else np.zeros(0, np.int64)
    return {**read.info, "hashes": hashes, "codes": codes,
            "sample": texts[:SAMPLE] if sample else []}
