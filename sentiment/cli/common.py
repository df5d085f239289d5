"""What every command shares: the model and reader flags, notes on stderr, reading."""
from __future__ import annotations

import sys

from ..errors import SentimentError


def model_arg(p, writes: bool = False):
    from ..io.paths import MODEL_NAME

    where = (f"{MODEL_NAME} in $SENTIMENT_HOME, else in the user's cache folder" if writes
             else f"the one 'train' wrote ({MODEL_NAME} in $SENTIMENT_HOME or the user's "
             "cache folder), else the built-in IMDB model")
    p.add_argument("--model", metavar="PATH", help=f"model file (default: {where})")


def reader_args(p):
    p.add_argument("--text-column", metavar="NAME", help="column holding the review text")
    p.add_argument("--label-column", metavar="NAME", help="column holding the label")
    p.add_argument("--encoding", metavar="NAME", help="file encoding (default: UTF-8)")


#: --quiet: notes (what was detected, what was saved) are not printed; errors still are
QUIET = False


def note(*lines: str) -> None:
    if QUIET:
        return
    for line in lines:
        print(line, file=sys.stderr)


def memory_args(p):
    p.add_argument("--max-memory", metavar="SIZE", default="1G", help="memory for the "
                   "rows, counts and chunks in flight, e.g. 512M or 4G (the process needs "
                   "about 150 MB besides, and the model); past it, rows wait in a temporary "
                   "cache on disk (default: 1G)")
    p.add_argument("--cache-dir", metavar="DIR", help="where that cache goes (default: the "
                   "system's temporary folder); it is removed when the command ends")


def size_in_bytes(text: str) -> float:
    """Bytes from '512M', '4G', '1.5g', '10KB' or a plain number of bytes; -1 if unreadable
    (nan and inf pass: the caller's bounds refuse them)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    raw = text.strip().upper().removesuffix("B")
    unit = raw[-1:] if raw[-1:] in units else ""
    try:
        return float(raw[:len(raw) - len(unit)]) * units[unit]
    except ValueError:
        return -1


def parse_size(text: str, flag: str = "--max-memory", least: int = 64 << 20) -> int:
    """Bytes from '512M', '4G', '1.5g' or a plain number of bytes (``least`` or more)."""
    size = size_in_bytes(text)
    if not least <= size < 1 << 50:  # also refuses nan and inf
        shown = f"{least >> 20}M" if least >= 1 << 20 else f"{least >> 10}K"
        raise SentimentError(f"{flag} {text}: give a size of at least {shown}, such as "
                             "512M or 4G")
    return int(size)


def open_reviews(path, args, need_labels=True, keep_empty=False, scheme=None,
                 fixed=False):
    """The review file at ``path`` with its columns found (nothing read yet); its labels
    read under ``scheme`` (a model's, as it is, if ``fixed``)."""
    from ..io.reader import ReviewFile

    return ReviewFile(path, text_column=getattr(args, "text_column", None),
                      label_column=getattr(args, "label_column", None),
                      need_labels=need_labels, encoding=getattr(args, "encoding", None),
                      keep_empty=keep_empty, scheme=scheme, fixed=fixed)


def chunks(source, max_memory: int | None = None, desc: str = "reading"):
    """The :class:`~sentiment.io.reader.Reviews` chunks of ``source``, sized for
    ``max_memory``, with a progress bar in bytes of the file on a terminal; once the file
    is read, what was found in it (columns, rows kept and dropped) on stderr."""
    from tqdm.auto import tqdm

    from ..training.budget import Budget

    # scoring: small chunks, memory flat and close to pandas' own
    budget = Budget.scoring() if max_memory is None else Budget(max_memory)
    rows = budget.chunk_rows(source.row_bytes)
    said = len(source.notes)
    note(*source.notes)  # what opening it found (an encoding, a warning): before reading
    with tqdm(total=source.size(), desc=desc, unit="B", unit_scale=True, leave=False,
              disable=None, mininterval=0.5) as bar:
        def progress(done):
            bar.update(done - bar.n)

        yield from source.chunks(rows, progress)
    note(*source.notes[said:])


def stream(source, max_memory: int | None = None, desc: str = "reading"):
    """``(texts, labels)`` of each chunk of :func:`chunks`."""
    for chunk in chunks(source, max_memory, desc):
        yield chunk.texts, chunk.labels


class Results:
    """Results to stdout. If stdout fails (the reader of a pipe left, a full disk), the
    work goes on and what it computed is kept: the failure is remembered, later results
    go nowhere, and the command ends with one line and exit 1 (:meth:`finish`)."""

    def __init__(self):
        self.failed: str | None = None

    def print(self, line: str) -> None:
        if self.failed is not None:
            return
        try:
            print(line, flush=True)
        except OSError as exc:  # BrokenPipeError, ENOSPC, ...
            self.failed = exc.strerror or type(exc).__name__
            silence_stdout()

    def finish(self, kept: str) -> int:
        """The exit code: 0, or 1 after saying that stdout failed and what was ``kept``."""
        if self.failed is None:
            return 0
        note(f"error: stdout failed ({self.failed}); {kept}; the rest of the output was lost")
        return 1


def silence_stdout() -> None:
    """Point stdout at the null device, so later writes (and Python's own flush at exit)
    do not fail again."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test's capture)
        pass
    sys.stdout = open(os.devnull, "w", encoding="utf-8")


def positive(n: int, flag: str) -> None:
    if n < 1:
        raise SentimentError(f"{flag} {n}: must be at least 1")


def load_model(path):
    """The model at ``path``, or where :func:`sentiment.io.paths.find_model` finds one (said
    on stderr unless it is the user's own)."""
    from ..io.paths import find_model
    from ..model.model import Model

    found, kind = find_model(path)
    model = Model.load(found)
    say_which_model(kind, model.info)
    return model


def say_which_model(kind: str, info: dict) -> None:
    """Say on stderr which model is used when it is not the user's own (``kind``, as
    :func:`sentiment.io.paths.find_model` gives it; ``info``: the model's)."""
    from ..io.paths import MODEL_NAME, about_builtin

    if kind == "local":
        note(f"using the model {MODEL_NAME} in the current folder")
    elif kind == "builtin":
        note(f"using {about_builtin(info)}; train your own with 'sentiment train FILE', or "
             "pass --model")


def expand_files(patterns: list[str]) -> list[str]:
    """The files named, each pattern with ``*``, ``?`` or ``[`` that is not itself a file
    expanded (sorted), as a shell would; a pattern matching nothing is an error."""
    import glob
    from pathlib import Path

    paths = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?[") and not Path(pattern).exists():
            found = sorted(glob.glob(pattern)) if "://" not in pattern else _url_glob(pattern)
            if not found:
                raise SentimentError(f"{pattern}: no file matches")
            paths += found
        else:
            paths.append(pattern)
    return paths


def _url_glob(pattern: str) -> list[str]:
    """The URLs an fsspec pattern (``s3://bucket/reviews-*.csv``) matches, sorted."""
    try:
        import fsspec

        fs, inner = fsspec.core.url_to_fs(pattern)
        protocol = pattern.split("://", 1)[0]
        return sorted(f"{protocol}://{p.removeprefix(protocol + '://')}"
                      for p in fs.glob(inner))
    except (ImportError, OSError, ValueError) as exc:
        raise SentimentError(f"{pattern}: cannot list the files it names ({exc})") from None


class FileSet:
    """Several review files read one after the other as one source: the first file's
    columns and label scheme hold for all (each file still checked and named in its
    messages); row numbers stay each file's own."""

    def __init__(self, sources: list):
        self.sources = sources
        first = sources[0]
        self.name = first.name if len(sources) == 1 else \
            f"{first.name} (+{len(sources) - 1} more file{'s' * (len(sources) > 2)})"
        self.label_column, self.labels = first.label_column, first.labels
        self.row_bytes = first.row_bytes
        for s in sources[1:]:
            if s.label_column is None:
                raise SentimentError(f"{s.name}: has no label column like {first.name}'s "
                                     f"{first.label_column!r}")
            s.labels = self.labels  # one scheme and one class table for all

    @property
    def notes(self) -> list[str]:
        return [n for s in self.sources for n in s.notes]

    def size(self) -> int:
        return sum(s.size() for s in self.sources)

    def chunks(self, rows: int | None = None, progress=None):
        before = 0
        for s in self.sources:
            self.labels.name = s.name

            def each(done, before=before):
                if progress is not None:
                    progress(before + done)
            yield from s.chunks(rows, each)
            before += s.size()


def cluster_args(p, train: bool = False) -> None:
    g = p.add_argument_group("past one machine (needs the dask extra: "
                             "pip install -e \".[dask]\")")
    g.add_argument("--workers", type=int, metavar="N", help="start a local Dask cluster of "
                   "N worker processes and run there")
    g.add_argument("--cluster", metavar="ADDRESS", help="run on a running Dask scheduler, "
                   "e.g. tcp://10.0.0.5:8786 (started with 'dask scheduler')")
    if train:
        g.add_argument("--rounds", type=int, default=1, metavar="N", help="how often the "
                       "workers' weights are mixed: N times per epoch (default: 1)")
        g.add_argument("--mix", choices=("average", "rows"), default="average",
                       help="average the workers' weights, or each row of W1 over the "
                       "workers that changed it (default: average)")
        g.add_argument("--read", choices=("auto", "workers", "driver"), default="auto",
                       help="who reads the training files: the workers (each its parts: "
                       "files, byte ranges; a lost worker's are read again elsewhere) or "
                       "this process (default: the workers for several files or a URL)")
        g.add_argument("--part-size", metavar="SIZE", help="bytes of a plain file each "
                       "worker reads as one part (default: 8M, from --max-memory)")
        g.add_argument("--round-timeout", type=float, metavar="SECONDS", help="leave out "
                       "of a round the workers that have not finished after this long "
                       "(default: 10x the longest round so far, at least 60 s)")


def open_engine(args):
    """The Dask engine asked for with --workers or --cluster (said on stderr), or a
    context holding None."""
    from contextlib import nullcontext

    workers, address = getattr(args, "workers", None), getattr(args, "cluster", None)
    if workers is None and address is None:
        return nullcontext(None)
    if workers is not None and address is not None:
        raise SentimentError("--workers starts a local cluster, --cluster uses a running "
                             "one: give one of them")
    if workers is not None:
        positive(workers, "--workers")
    from ..cluster.engine import Engine

    engine = Engine(address, workers)
    note(f"running on {engine.describe()}")
    return engine
