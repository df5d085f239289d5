"""Writing files safely: check a destination before long work, replace it atomically.

Every file the tool writes (models, scores, charts, the IMDB CSVs, reports) goes through
:func:`replacing` or :func:`atomic_write`: the bytes go to a unique temporary file in the
same folder, which is fsynced and renamed over the destination only once complete. A
failure or an interrupt leaves the old file as it was and no temporary file behind; two
runs never share a temporary name.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import SentimentError


def _temp_beside(path: Path) -> Path:
    """A new, empty, uniquely named file in ``path``'s folder (``.NAME.XXXX.tmp``), with
    the permissions a plain ``open`` gives (mkstemp's are owner-only)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                dir=path.parent if str(path.parent) else ".")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return Path(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path, flag: str, what: str = "the file") -> Path:
    """Fail before any long work if ``path`` (given with ``flag``) cannot be written.

    Checks that it is not a folder and that its folder exists, then creates and removes a
    temporary file there, as the atomic writers will.
    """
    path = Path(path)
    if path.is_dir():
        raise SentimentError(f"{path}: is a directory; pass a file name to {flag}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SentimentError(f"{path}: folder {parent} does not exist; create it or "
                             f"choose another {flag}")
    try:
        _temp_beside(path).unlink()
    except OSError as exc:
        raise SentimentError(f"{path}: cannot write {what} here ({exc.strerror or exc}); "
                             f"choose another {flag}") from None
    return path


def check_distinct(outputs: dict, inputs: dict) -> None:
    """Refuse an output that is one of the inputs, or another output: ``train data.csv
    --model data.csv`` would replace the data with a model. Both map a flag (or a
    description, for positional arguments) to a path; None entries are skipped."""
    seen = {}
    for what, path in list(inputs.items()) + list(outputs.items()):
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen and what in outputs:
            raise SentimentError(f"{path}: {what} would overwrite {seen[key]}; choose "
                                 f"another {what}")
        seen.setdefault(key, what if what not in outputs else f"the {what} output")


@contextmanager
def replacing(path):
    """Yield a temporary path beside ``path``; when the block ends normally, it replaces
    ``path``; otherwise it is removed and ``path`` is untouched.

    Nest two to replace two files only once both are complete.
    """
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path, mode: str = "wb", **open_args):
    """Open a temporary file to write ``path``'s new content; fsync and rename it into
    place when the block ends normally (see :func:`replacing`)."""
    with replacing(path) as tmp, open(tmp, mode, **open_args) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
