"""Past one machine: the same pipeline on a Dask cluster (``pip install -e ".[dask]"``).

The driver (this process) reads the file chunk by chunk, with every check of one process,
and sends each chunk to a worker, where it stays (:mod:`sentiment.cluster.partitions`):

- pass 1 hashes and counts each partition on its worker; the counts are merged pairwise up
  a tree on the workers, into the same bounded table one process builds; the words of the
  kept features come back from the partitions that saw them first;
- pass 2 encodes each partition where it is, with the vocabulary sent once to every
  worker; a worker's partitions become its rows;
- training is iterative parameter mixing: each round, every worker trains on its next
  slice of its rows from the current weights, and the driver mixes what they return
  (:func:`sentiment.cluster.mixing.mix`): the step of the one epoch driver
  (:func:`sentiment.training.loop.drive`), which validates, stops early, checkpoints and
  calibrates as in one process;
- scoring sends the model to every worker once and maps it over chunks, keeping order.

Dask is imported here only; the command line (asked for ``--workers`` or ``--cluster``)
and the cluster's own modules (mixing, rounds, spread) import this module.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, SentimentError, StopRequested
from ..training.budget import DEFAULT_MAX_MEMORY
from ..training.pipeline import Tally, check_vocabulary, vocabulary_from_counts
from ..training.settings import Settings
from . import partitions as parts


@dataclass
class ClusterRows:
    """What both passes on a cluster made, as :class:`~sentiment.training.pipeline.Prepared`
    is one process's: the vocabulary, each group's rows (futures on its worker, by group
    name) and their sizes, and what was counted on the way. ``recoverable``: the rows can
    be rebuilt after a lost worker (the workers read them); ``keep``: what rebuilding them
    needs (the vocabulary's future), held while they are used."""

    vocab: object
    rows: dict
    sizes: dict
    times: dict
    n_train: int
    n_val: int
    n_positive: int
    count_threshold: int
    recoverable: bool
    describe: object = None  # describe(group): the parts a group was read from
    keep: object = None
    parts: int | None = None
    notes: list = field(default_factory=list)

INSTALL = 'pip install -e ".[dask]"'


class Engine:
    """A Dask client, on a local cluster it started (``workers``) or on a running
    scheduler (``address``); closed (the local cluster stopped) on exit."""

    def __init__(self, address: str | None = None, workers: int | None = None, *,
                 timeout: float = 20.0):
        try:
            import distributed
        except ImportError:
            raise SentimentError(f"--workers and --cluster need Dask, an optional extra: "
                                 f"{INSTALL}") from None
        import logging

        self.cluster = None
        try:
            if address is None:
                self.cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=_dashboard(),
                    silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster, timeout=timeout)
            else:
                _reachable(address)
                self.client = distributed.Client(address, timeout=timeout)
                self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            where = f"--cluster {address}" if address else f"--workers {workers}"
            raise SentimentError(f"{where}: cannot reach a Dask scheduler with workers "
                                 f"({exc}); start one with 'dask scheduler' and "
                                 "'dask worker ADDRESS', or use --workers N") from None
        except BaseException:  # anything else: no cluster left running behind
            self.close()
            raise
        self.address = address or self.cluster.scheduler_address

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for thing in (getattr(self, "client", None), self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing a cluster that already failed
                    pass

    @property
    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info()["workers"])

    @property
    def dashboard(self) -> str | None:
        services = self.client.scheduler_info().get("services", {})
        return self.client.dashboard_link if "dashboard" in services else None

    def describe(self) -> str:
        where = "a local Dask cluster" if self.cluster is not None \
            else f"the Dask scheduler {self.address}"
        n = len(self.workers)
        said = f"{where}, {n} worker{'s' * (n != 1)}"
        return said + (f"; dashboard {self.dashboard}" if self.dashboard else "")

    def mapper(self, model, ahead: int | None = None):
        """``map(fn, items, arg)``: ``(item, fn(model, arg(item)))`` in the order of
        ``items``, the calls running on the workers (the model sent to each once), at most
        ``ahead`` at a time (:func:`~sentiment.model.scoring.in_order`, the queue of
        one process's scoring). A call whose worker dies is run again on another."""
        from ..model.scoring import in_order

        client = self.client
        ahead = ahead or 2 * max(len(self.workers), 1)
        [held] = client.scatter([model], broadcast=True, hash=False)

        def run(fn, items, arg):
            return in_order(lambda item: client.submit(fn, held, arg(item), pure=False),
                            items, ahead, result)
        return run


def _reachable(address: str) -> None:
    """Fail at once (OSError) when nothing listens at a ``tcp://host:port`` address
    (Dask would retry until its time-out)."""
    import socket
    from urllib.parse import urlsplit

    parts_ = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts_.scheme in ("tcp", "") and parts_.hostname and parts_.port:
        socket.create_connection((parts_.hostname, parts_.port), timeout=5).close()


def gather_or_stop(futures, should_stop, poll: float = 0.2):
    """The futures' results as soon as all are done, or None (and the futures cancelled)
    once ``should_stop()`` turns true while they run: a Ctrl-C need not wait a round."""
    import distributed

    while True:
        try:
            distributed.wait(futures, timeout=poll)
            break
        except TimeoutError:
            if should_stop is not None and should_stop():
                for f in futures:
                    f.cancel()
                return None
    return [result(f) for f in futures]


def _dashboard() -> str | None:
    """Where the local cluster's dashboard goes: a free port, if bokeh is there to draw it."""
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return None
    return "127.0.0.1:0"


def result(future):
    """A task's result, or one clear error if its worker could not finish it."""
    try:
        return future.result()
    except SentimentError:
        raise
    except Exception as exc:
        if isinstance(exc, (DataError, ValueError, MemoryError)):
            raise
        name = type(exc).__name__
        if name in ("KilledWorker", "FutureCancelledError", "FuturesCancelledError",
                    "CancelledError", "CommClosedError"):
            raise SentimentError(f"a Dask worker died or left during the job ({name}: "
                                 f"{exc}); nothing was saved from it: run the command "
                                 "again") from None
        raise


def prepare(engine: Engine, chunks, settings: Settings, *, classes=None,
            max_memory: int = DEFAULT_MAX_MEMORY, should_stop=None,
            progress=None) -> ClusterRows:
    """Both passes on the workers, of chunks the driver reads and sends; return the
    vocabulary, each worker's rows (futures) and what was counted on the way."""
    client, workers = engine.client, engine.workers
    t = time.perf_counter()
    futures, tally = [], Tally(settings, classes is not None)
    for c, (texts, labels) in enumerate(chunks):
        if should_stop is not None and should_stop():
            raise StopRequested
        labels = np.asarray(labels, dtype=np.int8)
        is_val, counted = tally.add(labels)
        w = workers[c % len(workers)]
        [data] = client.scatter([_Chunk(texts, labels, counted, is_val)], workers=[w],
                                hash=False)
        futures.append((w, client.submit(_count, c, data, settings, max_memory,
                                         workers=[w], pure=False)))
        if progress is not None:
            progress("read", len(texts))
    tally.check()
    times = {"read and count": time.perf_counter() - t}
    t = time.perf_counter()
    vocab, counter, remap = build_vocabulary(
        engine, futures, settings.for_vocabulary(tally.n_rows - tally.n_val), classes)
    times["vocabulary"] = time.perf_counter() - t
    t = time.perf_counter()
    groups = {w: [i for i, (v, _) in enumerate(futures) if v == w] for w in workers}
    rows, sizes, _ = build_rows(engine, futures, groups, vocab, settings, remap)
    times["encode"] = time.perf_counter() - t
    return ClusterRows(vocab, rows, sizes, times, tally.n_rows - tally.n_val, tally.n_val,
                       0 if classes is not None else tally.n_positive, counter.threshold,
                       recoverable=False)


def build_vocabulary(engine: Engine, held: list, settings: Settings, classes=None,
                     loose: bool = False):
    """(vocabulary, counter, class remap) of the partitions ``held`` ((worker, future of a
    :class:`~sentiment.cluster.partitions.Partition`) in file order): their counts merged up a
    tree on the workers, the kept features' words read where each was first seen.
    ``loose``: a task may run on another worker than its partition's (when it is lost)."""
    client = engine.client
    level = [client.submit(parts.counts, f, workers=[w], allow_other_workers=loose,
                           pure=False) for w, f in held]
    while len(level) > 1:  # a tree: pairs of neighbours, earlier rows on the left
        level = [client.submit(parts.combine, *level[i:i + 2]) if i + 1 < len(level)
                 else level[i] for i in range(0, len(level), 2)]
    counter = result(level[0]).counter()
    del level

    def ask(c, tokens, n):
        w, f = held[c]
        return client.submit(parts.words, f, tokens, n, workers=[w],
                             allow_other_workers=loose, pure=False)

    vocab = vocabulary_from_counts(counter, settings, ask, fetch=result)
    check_vocabulary(len(vocab), settings)
    remap = None
    if classes is not None:
        remap = classes.remap()
        if settings.values == "nb":
            [v] = client.scatter([vocab], broadcast=True, hash=False)
            counts = [client.submit(parts.partition_class_counts, f, v, remap, workers=[w],
                                    allow_other_workers=loose) for w, f in held]
            vocab.set_class_scale(sum(result(f) for f in counts))
    return vocab, counter, remap


def build_rows(engine: Engine, held: list, groups: dict, vocab, settings: Settings,
               remap=None, loose: bool = False):
    """(rows, sizes, the vocabulary's future): each group's partitions (``groups``: name
    -> positions in ``held``) encoded with ``vocab`` where they are and stacked into one
    set of rows (a future, on the group's worker), and the size of each. Keep the
    vocabulary's future while the rows are used: rows rebuilt after a lost worker need it."""
    client = engine.client
    # a task holding the vocabulary, not scattered data: rows rebuilt after a lost worker
    # need it, and the scheduler may drop the copies of scattered data ("broadcast" or not)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph")
        v = client.submit(_itself, vocab, pure=False)
    rows = {}
    for name, members in groups.items():
        if not members:
            continue
        w = held[members[0]][0]
        encoded = [client.submit(parts.encode, held[i][1], v, settings, remap, workers=[w],
                                 allow_other_workers=loose, pure=False) for i in members]
        rows[name] = client.submit(parts.stack, *encoded, workers=[w],
                                   allow_other_workers=loose, pure=False)
    sizes = {name: result(client.submit(_sizes, r, pure=False)) for name, r in rows.items()}
    return rows, sizes, v


class _Chunk:
    """A chunk on its way to a worker: one object to pickle (Dask would serialize a list
    of texts one text at a time)."""

    def __init__(self, *fields):
        self.fields = fields


def _count(c, data: _Chunk, settings, max_memory):
    return parts.count_partition(c, *data.fields, settings, max_memory)


def _itself(thing):
    return thing


def _sizes(rows: parts.Rows) -> dict:
    return {"train": rows.X.shape[0], "val": rows.X_val.shape[0], "nnz": rows.X.nnz}
