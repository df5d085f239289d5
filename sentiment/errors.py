"""The one error family for user mistakes: caught once in the CLI, shown as one line."""
from pathlib import Path


class SentimentError(Exception):
    """A mistake in the user's input or setup; the message says where and what to do."""


def check_writable(path, flag: str, what: str = "the file") -> Path:
    """Fail before any long work if ``path`` (given with ``flag``) cannot be written.

    Checks that it is not a folder and that its folder exists, then creates and removes
    ``path.tmp`` there: the same temporary name the atomic writers use.
    """
    path = Path(path)
    if path.is_dir():
        raise SentimentError(f"{path}: is a directory; pass a file name to {flag}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SentimentError(f"{path}: folder {parent} does not exist; create it or "
                             f"choose another {flag}")
    probe = path.with_name(path.name + ".tmp")
    try:
        with open(probe, "wb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise SentimentError(f"{path}: cannot write {what} here ({exc.strerror or exc}); "
                             f"choose another {flag}") from None
    return path
