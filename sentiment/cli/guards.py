"""What keeps a training run's work: a stop on a signal after the current batch,
checkpoints written while training goes on, and the model saved while the test file is
scored."""
from __future__ import annotations

from pathlib import Path

from ..errors import SentimentError
from .common import note


class Saving:
    """Saves a model on a thread for the length of a ``with`` block (the test file is
    scored meanwhile), then waits for it; a failed save is raised at the end of the
    block, whatever happened inside it. Once saved, the ``superseded`` checkpoint goes
    (also when scoring the test file failed: the model it led to is kept)."""

    def __init__(self, model, path: Path, superseded: Path | None = None):
        import threading

        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._save, args=(model, path, superseded),
                                       daemon=True)

    def _save(self, model, path, superseded) -> None:
        try:
            model.save(path)
            if superseded is not None:
                superseded.unlink(missing_ok=True)
        except BaseException as exc:  # re-raised by the main thread
            self.error = exc

    def __enter__(self) -> "Saving":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


class CheckpointWriter:
    """Writes ``MODEL.ckpt`` after an epoch, on a thread while the next epoch trains, once
    ``SENTIMENT_CHECKPOINT_SECONDS`` (default 10) have passed since the command started
    or the last one was written (0: after every epoch): a SIGKILL loses at most that
    much training and the epoch under way, and ``--resume`` goes on from the last one
    written. Each write is atomic: a kill mid-write leaves the previous checkpoint whole.
    A Ctrl-C or SIGTERM writes one of the last complete epoch whatever the time. On IMDB
    a checkpoint is 58 MB and takes 0.12 s of a core: with epochs of 0.2 s, one per
    epoch was a tenth of the training's work (docs/reliability.md)."""

    def __init__(self, path: Path, source: str):
        import os
        import time

        self.path, self.source = path, source
        self.thread = None
        self.failed: str | None = None
        raw = os.environ.get("SENTIMENT_CHECKPOINT_SECONDS", "").strip() or "10"
        try:
            self.every = float(raw)
        except ValueError:
            raise SentimentError(f"SENTIMENT_CHECKPOINT_SECONDS must be a number of "
                                 f"seconds (0: after every epoch); got {raw!r}") from None
        self.last = time.monotonic()

    def __enter__(self) -> "CheckpointWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.wait()

    def __call__(self, model, parts) -> None:
        import threading
        import time

        if time.monotonic() - self.last < self.every:
            return
        self.last = time.monotonic()
        self.wait()  # one write at a time; usually long done
        model.info = {**model.info, "source": self.source}
        self.thread = threading.Thread(target=self._write, args=(model, parts), daemon=True)
        self.thread.start()

    def _write(self, model, parts) -> None:
        try:
            model.save(self.path, checkpoint=parts)
        except Exception as exc:  # a full disk must not stop training; said at the end
            self.failed = str(exc)

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.failed:
            note(f"warning: could not write the checkpoint: {self.failed}")
            self.failed = None


class GracefulStop:
    """SIGINT/SIGTERM handling for training: the first signal asks the trainer to stop
    after the current batch; a second one aborts at once (KeyboardInterrupt)."""

    def __init__(self):
        self.signal = None
        self._old = {}

    def __enter__(self):
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        note("stopping after this batch (press Ctrl-C again to abort at once)")

    def requested(self) -> bool:
        return self.signal is not None


def same_settings(args, saved: dict, ckpt) -> None:
    """--resume continues with the checkpoint's settings: a flag that says otherwise is a
    mistake, not something to ignore."""
    from dataclasses import fields

    from ..training.settings import Settings

    for f in fields(Settings):
        given = getattr(args, f.name, None)
        if given is not None and f.name in saved and given != saved[f.name]:
            flag = "--" + f.name.replace("_", "-")
            raise SentimentError(f"{flag} {given} differs from the checkpoint's "
                                 f"{saved[f.name]} ({ckpt}); --resume continues with the "
                                 f"checkpoint's settings: drop {flag}, or train afresh "
                                 "without --resume")
