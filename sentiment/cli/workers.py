"""``train --workers/--cluster`` with the workers reading the files: choosing that route,
opening the files' heads, saying what the cluster did (lost workers, bytes moved)."""
from __future__ import annotations

from ..errors import SentimentError
from .common import note, open_reviews, parse_size


def workers_read(args, paths: list[str]) -> bool:
    """Whether the workers read the files themselves: ``--read workers``, or by default
    (``auto``) on a cluster given several files or a URL; one local file keeps the
    driver's reading (the file may be on the driver's disk alone)."""
    on_cluster = args.workers is not None or args.cluster is not None
    how = getattr(args, "read", "auto")
    if not on_cluster or args.resume:
        return False
    if how == "auto":
        return len(paths) > 1 or any("://" in str(p) for p in paths)
    return how == "workers"


def open_shared(paths: list[str], args, scheme):
    """The files for the workers to read (:class:`~sentiment.cluster.spread.SharedFiles`), their
    heads read and checked here as one process checks them; None when the driver reads."""
    timeout = getattr(args, "round_timeout", None)
    if timeout is not None and not timeout > 0:  # also refuses nan
        raise SentimentError(f"--round-timeout {timeout:g}: give a number of seconds "
                             "above 0")
    if not workers_read(args, paths):
        return None
    if scheme.kind == "multiclass" or (scheme.kind == "stars" and scheme.negative_max is None):
        why = "--multiclass" if scheme.kind == "multiclass" else "--stars without LOW:HIGH"
        note(f"{why}: the driver reads the files (the classes or the scale are learned "
             "from every row, in order)")
        return None
    from ..cluster.remote import open_input
    from ..cluster.spread import SharedFiles

    layouts = [open_input(p, lambda local: open_reviews(local, args, scheme=scheme))
               for p in paths]
    first = layouts[0].reader
    for layout in layouts[1:]:
        if layout.reader.label_column is None:
            raise SentimentError(f"{layout.path}: has no label column like {first.name}'s "
                                 f"{first.label_column!r}")
        layout.reader.labels = first.labels  # one scheme for all
    part_bytes = parse_size(args.part_size, "--part-size", 1 << 16) if args.part_size \
        else None
    return SharedFiles(layouts, part_bytes)


def said(model) -> list[str]:
    """Lines on what the cluster moved per round, measured."""
    moved = model.info.get("moved") or {}
    if not moved:
        return []
    workers = moved["worker_sent"]
    most = max(workers.values()) if workers else 0
    return [f"moved per round (median of {moved['rounds']}): the driver sent "
            f"{moved['driver_sent'] / 1e6:.1f} MB and received "
            f"{moved['driver_received'] / 1e6:.1f} MB; each worker's change "
            f"{moved['change_per_group'] / 1e6:.1f} MB; a worker sent at most "
            f"{most / 1e6:.1f} MB (its change, the weights to its peers)"]


def one_process(args):
    """--resume runs in one process: the checkpoint holds every weight."""
    from contextlib import nullcontext

    if args.workers is not None or args.cluster is not None:
        note("resuming in one process (--workers and --cluster are for a fresh start)")
    return nullcontext(None)
