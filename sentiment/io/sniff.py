"""What a review file is before pandas reads it: gzip or not, its encoding, its separator,
and one-line messages for the ways reading it can fail."""
from __future__ import annotations

import codecs
import gzip
import re
from pathlib import Path

from ..errors import SentimentError

BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


QUOTE_HINT = {",": "put reviews that contain commas in double quotes",
               "\t": "a review must not contain a tab; check the quotes",
               ";": "put reviews that contain semicolons in double quotes"}
SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon"}


def strip_bom(column: str) -> str:
    while column.startswith(("\ufeff", "\u00ef\u00bb\u00bf")):
        column = column[1:] if column[0] == "\ufeff" else column[3:]
    return column


def head_bytes(path: Path, gz: bool, size: int = 1 << 16) -> bytes:
    with (gzip.open if gz else open)(path, "rb") as f:
        return f.read(size)


def damaged(name: str, exc: Exception, gz: bool) -> str:
    if gz:
        return (f"{name}: the gzip data is truncated or damaged ({_why(exc)}); "
                "download or compress the file again")
    return f"{name}: cannot read it ({_why(exc)}); check the file"


def _family(encoding: str) -> str:
    """'utf-16' for utf_16_le, 'utf-8' for UTF8 or utf-8-sig: the codec without its variant."""
    return re.sub(r"[-_](le|be|sig)$", "", codecs.lookup(encoding).name)


def encoding_of(name: str, head: bytes, encoding: str | None) -> tuple[str, list[str]]:
    """Return (the encoding to read with, notes), refusing binary and non-UTF-8 files."""
    bom = next((enc for mark, enc in BOMS if head.startswith(mark)), None)
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
                             f"pass its encoding, e.g. --encoding {guess_8bit(head)}")
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


def undecodable_lines(path, gz: bool, encoding: str, limit: int = 5
                      ) -> tuple[list[int], int, bytes, int]:
    """(the first ``limit`` line numbers not in ``encoding``, how many lines are not, the
    first offending byte, how many lines are in it and not plain ASCII): a scan of the
    whole file, made only once reading has failed. Lines of both kinds: mixed encodings."""
    import gzip

    lines, n, first, fine = [], 0, b"", 0
    with (gzip.open if gz else open)(path, "rb") as f:
        for i, line in enumerate(f, 1):
            try:
                line.decode(encoding)
                fine += not line.isascii()
            except UnicodeDecodeError as exc:
                n += 1
                if len(lines) < limit:
                    lines.append(i)
                first = first or line[exc.start:exc.start + 1]
    return lines, n, first, fine


def guess_8bit(data: bytes) -> str:
    """cp1252 if the bytes use its printable 0x80-0x9f range (curly quotes, dashes)."""
    return "cp1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"


def malformed(name: str, exc: Exception, sep: str, before: int = 0) -> str:
    """One line for a pandas ParserError, with the row where pandas names one (``before``:
    rows of the file before the part read, to number rows as the whole file does)."""
    text = str(exc)
    kind = "TSV" if sep == "\t" else "CSV"
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        want, row, saw = m.groups()
        row = int(row) + before
        return (f"{name}: row {row} has {saw} fields but the header has {want}; "
                f"{QUOTE_HINT[sep]}")
    m = re.search(r"EOF inside string starting at row (\d+)", text)
    if m:
        return (f"{name}: row {int(m.group(1)) + 1 + before}: a quoted field never ends (an "
                'unpaired "); close the quote, or double a quote inside a quoted field ("")')
    return (f"{name}: malformed {kind} ({_why(exc)}); check the quoting and the number of "
            "fields per row")


def _why(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def separator(path: Path, head: bytes, encoding: str) -> tuple[str, str | None]:
    """(separator, a note or None): the one of comma, tab and semicolon the header line
    uses most, whatever the file's name; the name's (tab for .tsv/.tab, else comma) when
    the header has none. The note says when the header overrules the name."""
    suffixes = [s.lower() for s in path.suffixes]
    named = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
    first = head.decode(encoding, "replace").splitlines()[0] if head else ""
    counts = {sep: first.count(sep) for sep in SEPARATORS}
    found = max(counts, key=counts.get)
    if counts[found] == 0 or counts[found] == counts[named]:
        return named, None
    note = None
    if ".csv" in suffixes or named == "\t":
        note = (f"{path}: read as {SEPARATORS[found]}-separated (the header line has "
                f"{counts[found]} {SEPARATORS[found]}{'s' * (counts[found] != 1)}), "
                "whatever its name says")
    return found, note
