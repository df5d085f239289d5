"""Download the IMDB archive and turn it into the two CSV files the project reads.

:func:`fetch_imdb` downloads ``aclImdb_v1.tar.gz`` (Maas et al., ACL 2011; Stanford AI Lab)
into ``HOME/imdb/`` as a ``.part`` file, checks its checksum, then streams it, extracting
nothing to disk, into ``HOME/imdb/train.csv.gz`` and ``HOME/imdb/test.csv.gz``:

- columns ``review,sentiment,rating``: the text as published (HTML ``<br />`` kept),
  ``positive`` or ``negative``, and the 1-10 rating from the file name ``ID_RATING.txt``;
- all positive reviews first, then all negative ones, each folder in numeric order of the
  file ID (``0_9.txt``, ``1_7.txt``, ``2_9.txt``, ...), the order of the shared copy;
- UTF-8, RFC 4180 quoting as the csv module writes it (quotes only where needed, quotes
  doubled, CRLF line ends), gzip-compressed; ``pandas.read_csv`` reads it as is.

The ``unsup`` folder, the URL lists and the vocabulary files are skipped. Both outputs are
written to ``.tmp`` names and renamed only once both are complete, and the download is
deleted at the end whatever happens, so a failed or interrupted fetch leaves nothing
partial behind.

Environment
-----------
SENTIMENT_IMDB_URL
    Download from this URL instead of :data:`IMDB_URL` (a mirror; a local server in tests).
SENTIMENT_IMDB_CHECKSUM
    Expect this checksum instead of :data:`IMDB_SHA256`: ``sha256:HEX``, ``md5:HEX``, or a
    bare hex digest (64 digits: sha256, 32 digits: md5).

Both replace the default values only: an argument passed to :func:`fetch_imdb` that differs
from the default wins.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import string
import tarfile
import urllib.error
import urllib.request
import zlib
from http.client import HTTPException
from pathlib import Path

from ..errors import SentimentError
from .files import replacing

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# As published by tensorflow-datasets (url_checksums/imdb_reviews.txt, 84,125,825 bytes);
# the same file has md5 7c2ac02c03563afcf9b574c7e56c153a (torchtext, paddle).
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
TIMEOUT = 60  # seconds of silence from the server before giving up
CHUNK = 1 << 16
SPLITS = ("train", "test")
FOLDERS = (("pos", "positive"), ("neg", "negative"))  # output order: positive first
HEADER = ("review", "sentiment", "rating")
# Labelled reviews only: this leaves out unsup/, urls_*.txt, imdb.vocab, README.
_MEMBER = re.compile(r"(?:\./)?aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt")
_HINT = ("or set SENTIMENT_DATA to a folder that already has imdb/train.csv.gz and "
         "imdb/test.csv.gz")


def fetch_imdb(home: Path, *, url: str = IMDB_URL, sha256: str | None = IMDB_SHA256,
               force: bool = False, progress: bool | None = None) -> tuple[Path, Path]:
    """Download the IMDB archive and convert it to ``imdb/train.csv.gz`` and ``test.csv.gz``.

    Parameters
    ----------
    home : Path
        The data home; the files go to ``home / "imdb"``, which is created if needed.
    url : str, optional
        Where to download ``aclImdb_v1.tar.gz`` from; ``$SENTIMENT_IMDB_URL`` replaces
        the default.
    sha256 : str or None, optional
        The expected checksum: a sha256 hex digest, or ``"sha256:HEX"`` / ``"md5:HEX"``;
        ``$SENTIMENT_IMDB_CHECKSUM`` replaces the default. None skips the check.
    force : bool, optional
        Download and convert again even when both files exist.
    progress : bool or None, optional
        Show progress bars on stderr: True always, False never, None (default) only when
        stderr is a terminal.

    Returns
    -------
    tuple of Path
        The train and test files. When both exist and ``force`` is false they are
        returned as they are, without network access.

    Raises
    ------
    SentimentError
        On a network error, a checksum mismatch, an archive that is not the IMDB one, or
        a folder that cannot be written; the message is one line saying what to do.
    """
    folder = Path(home) / "imdb"
    outputs = (folder / "train.csv.gz", folder / "test.csv.gz")
    if not force and all(path.exists() for path in outputs):
        return outputs
    if url == IMDB_URL:
        url = os.environ.get("SENTIMENT_IMDB_URL") or url
    if sha256 == IMDB_SHA256:
        sha256 = os.environ.get("SENTIMENT_IMDB_CHECKSUM") or sha256
    expected = _parse_checksum(sha256) if sha256 else None  # fail before any download
    _make_folder(folder)
    part = folder / (ARCHIVE_NAME + ".part")
    try:
        digest = _download(url, part, expected[0] if expected else "sha256", progress)
        if expected and digest != expected[1]:
            raise SentimentError(
                f"{url}: {expected[0]} checksum mismatch (got {digest}, expected "
                f"{expected[1]}); the download was deleted: retry, or check "
                "SENTIMENT_IMDB_URL and SENTIMENT_IMDB_CHECKSUM")
        _write_outputs(_read_archive(part, url, progress), outputs)
    finally:
        part.unlink(missing_ok=True)  # kept neither on success nor on failure
    return outputs


def _parse_checksum(text: str) -> tuple[str, str]:
    """Split ``sha256:HEX``, ``md5:HEX`` or a bare hex digest into (algorithm, hex)."""
    algorithm, _, digest = text.strip().rpartition(":")
    digest = digest.lower()
    algorithm = algorithm.strip().lower() or {64: "sha256", 32: "md5"}.get(len(digest), "?")
    sizes = {"sha256": 64, "md5": 32}
    if sizes.get(algorithm) != len(digest) or not set(digest) <= set(string.hexdigits):
        raise SentimentError(f"bad checksum {text!r}: expected sha256:<64 hex digits> or "
                             "md5:<32 hex digits>; check SENTIMENT_IMDB_CHECKSUM")
    return algorithm, digest


def _make_folder(folder: Path) -> None:
    """Create the output folder, turning a failure into one line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SentimentError(f"{folder}: cannot create it ({exc.strerror or exc}); "
                             "set SENTIMENT_DATA to a writable folder") from None


def _download(url: str, part: Path, algorithm: str, progress: bool | None) -> str:
    """Stream ``url`` into ``part`` under a progress bar; return the file's hex digest."""
    digest = hashlib.new(algorithm)
    response = _open_url(url)
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    received = 0
    try:
        with response, open(part, "wb") as out, _bar(
                progress, total=total, desc=ARCHIVE_NAME, unit="B", unit_scale=True,
                unit_divisor=1024) as bar:
            while chunk := _read_chunk(response, url):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    except OSError as exc:  # network failures were converted already: this is the disk
        raise SentimentError(f"{part}: cannot write the download ({exc.strerror or exc}); "
                             "free some space or set SENTIMENT_DATA elsewhere") from None
    if total is not None and received != total:
        raise SentimentError(f"cannot download {url} (connection closed after {received:,} "
                             f"of {total:,} bytes); retry, {_HINT}")
    return digest.hexdigest()


def _bar(progress: bool | None, **options):
    """A tqdm bar on stderr: None shows it only on a terminal, so pipes stay quiet."""
    from tqdm import tqdm  # imported here: reusing existing files needs no tqdm

    return tqdm(disable=None if progress is None else not progress, **options)


def _open_url(url: str):
    """Open ``url`` for reading, with every failure as a one-line SentimentError."""
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT)
    except ValueError:  # urllib's word for "this is not a URL"
        raise SentimentError(f"{url!r} is not a URL; check SENTIMENT_IMDB_URL") from None
    except (OSError, HTTPException) as exc:  # URLError, HTTPError, timeouts, resets
        raise _network_error(url, exc) from None


def _read_chunk(response, url: str) -> bytes:
    """Read the next chunk of the response; a dropped connection becomes one line."""
    try:
        return response.read(CHUNK)
    except (OSError, HTTPException) as exc:
        raise _network_error(url, exc) from None


def _network_error(url: str, exc: Exception) -> SentimentError:
    """A one-line error naming the URL and the way around the network."""
    if isinstance(exc, urllib.error.HTTPError):
        reason = f"HTTP {exc.code} {exc.reason}"
    else:
        reason = getattr(exc, "reason", None) or exc
    return SentimentError(f"cannot download {url} ({_one_line(reason)}); check the "
                          f"connection, {_HINT}")


def _one_line(reason) -> str:
    """The first line of an exception's text, or its type name when it has none."""
    lines = str(reason).strip().splitlines()
    return lines[0][:160] if lines else type(reason).__name__


def _read_archive(path: Path, url: str, progress: bool | None) -> dict:
    """Collect the labelled reviews of both splits in one streaming pass over the archive.

    Returns ``{(split, folder): [(id, rating, text), ...]}``. The archive is not in file
    order, so everything is held (about 65 MB of text) and sorted when written.
    """
    found = {(split, folder): [] for split in SPLITS for folder, _ in FOLDERS}
    try:
        # "r|gz" reads the gzip stream once, front to back: no seeking, no temp files.
        with tarfile.open(path, "r|gz") as tar, \
                _bar(progress, desc="reading", unit=" files") as bar:
            for member in tar:
                bar.update()
                match = _MEMBER.fullmatch(member.name)
                if match is None or not member.isfile():
                    continue
                split, folder, ident, rating = match.groups()
                text = _decode(tar.extractfile(member).read(), url, member.name)
                found[split, folder].append((int(ident), rating, text))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise SentimentError(f"{url}: not a readable {ARCHIVE_NAME} ({_one_line(exc)}); "
                             "retry, or check SENTIMENT_IMDB_URL") from None
    missing = [f"{split}/{folder}" for (split, folder), rows in found.items() if not rows]
    if missing:
        raise SentimentError(f"{url}: no reviews in aclImdb/{', aclImdb/'.join(missing)}; "
                             f"is it {ARCHIVE_NAME}? check SENTIMENT_IMDB_URL")
    return found


def _decode(data: bytes, url: str, name: str) -> str:
    """Decode one review as UTF-8, the archive's encoding."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SentimentError(f"{url}: {name} is not UTF-8 (byte {data[exc.start]:#x}); "
                             f"is it {ARCHIVE_NAME}? check SENTIMENT_IMDB_URL") from None


def _rows(found: dict, split: str):
    """Yield the CSV rows of one split: positive then negative, each by numeric file ID."""
    for folder, label in FOLDERS:
        for _, rating, text in sorted(found[split, folder], key=lambda row: row[0]):
            yield text, label, rating


def _write_outputs(found: dict, outputs: tuple[Path, Path]) -> None:
    """Write both CSV files under ``.tmp`` names, then rename them into place."""
    try:
        # Renamed only once both are complete, so old files stay until new ones are whole.
        with replacing(outputs[0]) as first, replacing(outputs[1]) as second:
            for split, temp, final in zip(SPLITS, (first, second), outputs):
                _write_csv(temp, final.name, _rows(found, split))
    except OSError as exc:
        where = exc.filename or outputs[0].parent
        raise SentimentError(f"{where}: cannot write ({exc.strerror or exc}); free some "
                             "space or set SENTIMENT_DATA to another folder") from None


def _write_csv(path: Path, name: str, rows) -> None:
    """Write a header and ``rows`` as gzip-compressed CSV, reproducibly (no timestamp)."""
    # GzipFile over our own handle, so the header names train.csv, not the .tmp file;
    # mtime 0 makes the same archive give the same bytes.
    with open(path, "wb") as raw, \
            gzip.GzipFile(name, "wb", compresslevel=9, fileobj=raw, mtime=0) as packed, \
            io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
        writer = csv.writer(text)  # excel dialect: minimal quoting, "" inside, CRLF
        writer.writerow(HEADER)
        writer.writerows(rows)
