"""What ``train`` prints and logs as epochs end: a row of the table (or a JSON line with
``--json``) on stdout, a JSON line in the ``--log`` file."""
from __future__ import annotations

import json

from ..errors import SentimentError
from .common import Results, note

EPOCH_HEADER = f"{'epoch':>5}  {'loss':>7}  {'train':>7}  {'val':>7}  {'reviews/s':>10}  " \
               f"{'seconds':>7}"


def format_epoch(s) -> str:
    val = f"{s.val_accuracy:7.2%}" if s.val_accuracy is not None else f"{'-':>7}"
    mark = "  *" if s.best else ""
    return (f"{s.epoch:5d}  {s.loss:7.4f}  {s.train_accuracy:7.2%}  {val}  "
            f"{s.reviews_per_second:10,.0f}  {s.seconds:7.2f}{mark}")


class EpochLog:
    """Each epoch's row printed (a table, or JSON lines with ``--json``) and written to the
    ``--log`` file, which a full disk closes with a warning (training goes on)."""

    def __init__(self, args, results: Results):
        self.args, self.results = args, results
        self.log = open_log(args.log, args.resume) if args.log else None

    def on_epoch(self, stats) -> None:
        if self.log is not None:
            try:
                self.log.write(json.dumps(stats.to_dict()) + "\n")
                self.log.flush()
            except OSError as exc:  # a full disk: the log stops, training does not
                note(f"warning: {self.args.log}: cannot write the log "
                     f"({exc.strerror or exc}); training goes on without it")
                try:
                    self.log.close()
                except OSError:
                    pass
                self.log = None
        if self.args.json:
            self.results.print(json.dumps(stats.to_dict()))
        else:
            self.results.print(format_epoch(stats))

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


def open_log(path, append: bool):
    try:
        return open(path, "a" if append else "w", encoding="utf-8")
    except OSError as exc:
        raise SentimentError(f"{path}: cannot write the log ({exc.strerror or exc}); "
                             "choose another --log") from None
