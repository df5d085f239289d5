"""Command line: ``python -m sentiment {train,predict,evaluate,fetch,...}``.

Each handler parses, calls the library, prints: results to stdout, notes and progress to
stderr. User mistakes are :class:`SentimentError`, caught once in :func:`main`: one line on
stderr, exit code 2. Each group of commands is a module of this package, imported only when
one of its commands runs, and its imports are local to the handlers, so ``predict`` loads
only numpy.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

from ..errors import SentimentError

#: command -> the module of this package that defines ``add_COMMAND``, in ``--help`` order
COMMANDS = {"train": "train", "predict": "predict", "explain": "predict",
            "similar": "predict", "evaluate": "evaluate", "compress": "compress",
            "serve": "serve", "fetch": "lab", "compare": "lab", "bench": "lab"}


def main(argv: list[str] | None = None) -> int:
    # OpenBLAS's own threads, unless the user sets their number: started as numpy is
    # imported, each spins on a core for a while after its start and after every product
    # (perf of IMDB's `train --test`: 0.29 s of the run's ~8 s of CPU in blas_thread_server,
    # at numpy's import in both processes and after the last products, beside work that
    # had the core). The commands' products are a batch by the few hidden units, which a
    # second thread did not speed up (`bench`'s "epoch, 2 BLAS threads vs 1": 1.00x);
    # threadpoolctl still raises it where a caller asks. Here, before the parser imports
    # numpy, for both doors: `python -m sentiment` and the `sentiment` script.
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    restore = _quiet(getattr(args, "quiet", False))
    _tolerant_stdout()
    try:
        return args.handler(args) or 0
    except SentimentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # stdout failed: a reader that left, a full disk
        from .common import silence_stdout

        silence_stdout()  # Python's own flush at exit must not fail again
        what = "the reader of stdout left" if isinstance(exc, BrokenPipeError) \
            else f"writing failed ({exc.strerror or exc}" + (
                f": {exc.filename})" if exc.filename else ")")
        _say(f"error: {what} before the output was complete; what was written is whole "
             "up to there")
        return 1
    except Exception as exc:  # a bug: one line, unless asked for the traceback
        import os

        if os.environ.get("SENTIMENT_DEBUG"):
            raise
        _say(f"internal error: {type(exc).__name__}: {exc}; please report it with the "
             "command (SENTIMENT_DEBUG=1 shows the traceback)")
        return 1
    finally:
        restore()


def _say(line: str) -> None:
    """One line on stderr, if stderr can still take it."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _quiet(on: bool):
    """--quiet: no notes and no progress bars on stderr; errors still say what failed.
    Return what puts things back as they were (``main`` calls it when the command ends)."""
    import os

    from . import common

    before = os.environ.get("TQDM_DISABLE")
    common.QUIET = on
    if on:
        os.environ["TQDM_DISABLE"] = "1"  # read by tqdm 4.66 and later

    def restore() -> None:
        common.QUIET = False
        if before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = before
    return restore


def _tolerant_stdout() -> None:
    """Let stdout write any text: bytes that came in as lone surrogates (invalid UTF-8 in
    an argument or on stdin) go back out as the same bytes in a UTF-8 locale, and what
    another encoding cannot show is escaped, instead of a UnicodeEncodeError."""
    stdout = sys.stdout
    encoding = (getattr(stdout, "encoding", None) or "").lower().replace("-", "")
    try:
        stdout.reconfigure(errors="surrogateescape" if encoding == "utf8"
                           else "backslashreplace")
    except (AttributeError, ValueError, OSError):  # not a reconfigurable text stream
        pass


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser. With ``command`` (one of :data:`COMMANDS`), only that
    command's sub-parser is built: ``predict`` then imports nothing that training,
    ``compare`` or ``bench`` need, which is part of its start-up time."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="sentiment", description="A fast sparse-input sentiment classifier.")
    parser.add_argument("--version", action="version", version=f"sentiment {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if command not in COMMANDS or command == name:
            getattr(import_module(f".{module}", __name__), f"add_{name}")(sub)
    for p in sub.choices.values():  # also after the command: `sentiment predict -q ...`
        p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help=QUIET_HELP)
    return parser


QUIET_HELP = "print no notes or progress bars on stderr (errors still)"
