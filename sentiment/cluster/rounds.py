"""Rounds of training on a cluster's workers that survive a lost worker and a straggler.

Each round, the driver sends the current weights once (to one worker; the others copy
them down a binary tree of workers), every group of rows trains its slice on the worker holding it
(:func:`sentiment.cluster.partitions.train_round_change`), and the groups' sparse changes are added
pairwise up a tree on the workers (:func:`sentiment.cluster.partitions.add_changes`): the driver
receives one change, whatever the number of workers, and applies it
(:func:`sentiment.cluster.changes.apply`).

A worker lost during a round: the round is run again from the same weights, the lost
groups' rows rebuilt by Dask on the other workers from their parts' file names and byte
ranges (when the workers read them; rows the driver sent exist nowhere else, and the run
ends). A group that has not finished when the others have waited ``timeout`` seconds is
left out of the round. Each is said in one line.

Dask's objects are reached through the :class:`~sentiment.cluster.engine.Engine` only.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import SentimentError, StopRequested
from . import changes
from . import partitions as parts
from .engine import Engine, result

#: a round is given up on a straggler after this many times the longest round so far,
#: and at least MIN_WAIT seconds (the first round, and the one after a lost worker, when
#: parts are read again: FIRST_WAIT)
STRAGGLER_FACTOR, MIN_WAIT, FIRST_WAIT = 10, 60.0, 600.0
#: times a round is run again after losing workers before the run gives up
RETRIES = 5


class Rounds:
    """The groups of rows on a cluster (``rows``: name -> future), trained round by round.
    ``recoverable``: their rows can be rebuilt (read by the workers); ``describe(name)``
    says where a group's rows come from; ``note(line)`` says what happened."""

    def __init__(self, engine: Engine, rows: dict, *, recoverable: bool, describe=None,
                 timeout: float | None = None, note=None, workers=None, holders=None,
                 keep=None):
        self.engine, self.client, self.rows = engine, engine.client, rows
        self.keep = keep  # what rebuilding the rows needs (the vocabulary's future)
        self.recoverable, self.timeout = recoverable, timeout
        self.describe = describe or (lambda name: name)
        self.note = note or (lambda line: None)
        self.known = set(workers or engine.workers)  # as the rows were made
        self.holders = dict(holders or dict.fromkeys(rows))
        self.seen = {g: h for g, h in self.holders.items() if h}  # last known, for messages
        self.longest = 0.0
        self.rebuilding = False  # a worker was lost: the next round reads its parts again
        self.moved: list[dict] = []  # bytes per round
        self.events: list[str] = []

    def __repr__(self) -> str:
        return f"Rounds({len(self.rows)} groups on {len(self.known)} workers)"

    def _say(self, line: str) -> None:
        self.events.append(line)
        self.note(line)

    def _holders(self) -> dict:
        try:
            who = self.client.who_has(list(self.rows.values()))
        except Exception as exc:  # noqa: BLE001 - rows forgotten with a lost worker
            if self.lost("as the rows were looked for"):
                return dict.fromkeys(self.rows)
            raise SentimentError(f"the rows on the workers were lost ({exc}); run the "
                                 "command again") from None
        return {g: (list(who.get(f.key) or []) or [None])[0] for g, f in self.rows.items()}

    def lost(self, when: str) -> bool:
        """Whether workers left since last asked (each said, with the rows it held)."""
        now = set(self.engine.workers)
        gone, self.known = self.known - now, now
        for w in sorted(gone):
            groups = [g for g, h in self.seen.items() if h == w]
            if not self.recoverable:
                raise SentimentError(
                    f"a Dask worker died or left during the job ({w}, {when}); its rows "
                    "exist nowhere else (the driver read the file and sent them) and "
                    "nothing was saved from it: run the command again, or let the workers "
                    "read the files (--read workers)")
            what = "; ".join(self.describe(g) for g in groups)
            self._say(f"lost worker {w} {when}: " + (
                f"its rows are read again on the other workers ({what})" if what
                else "it held no rows") + "; training goes on from the weights mixed last")
        self.rebuilding = self.rebuilding or bool(gone)
        return bool(gone)

    def _limit(self) -> float:
        if self.timeout:
            return self.timeout
        if not self.longest or self.rebuilding:  # the first round, or rows read again
            return max(FIRST_WAIT, STRAGGLER_FACTOR * self.longest)
        return max(MIN_WAIT, STRAGGLER_FACTOR * self.longest)

    def _wait(self, futures: dict, when: str, should_stop, partial: bool = True
              ) -> tuple[str, list]:
        """("done", groups finished) once all are, or the time limit passed with some
        finished (if ``partial``: else that is an error); ("lost", []) when a worker
        left; ("stopped", []) on a stop request."""
        start, limit, checked = time.perf_counter(), self._limit(), time.perf_counter()
        while True:
            finished = [g for g, f in futures.items() if f.done()]
            if len(finished) == len(futures):
                return "done", finished
            if should_stop is not None and should_stop():
                return "stopped", []
            if time.perf_counter() - checked > 0.5:
                checked = time.perf_counter()
                if self.lost(when):
                    return "lost", []
            if time.perf_counter() - start > limit:
                late = [g for g in futures if g not in finished]
                if not partial:
                    g = late[0]
                    raise SentimentError(f"{when}: the rows of {self.describe(g)} (worker "
                                         f"{self.holders.get(g)}) gave no answer in "
                                         f"{limit:.0f} s; check the workers, or allow more "
                                         "with --round-timeout")
                if not finished:
                    raise SentimentError(f"no worker finished {when} in {limit:.0f} s; check "
                                         "the workers, or allow more with --round-timeout")
                for g in late:
                    self._say(f"{when}: the rows of {self.describe(g)} (worker "
                              f"{self.holders.get(g)}) were not trained in {limit:.0f} s; "
                              "the round goes on without them (--round-timeout)")
                return "done", finished
            time.sleep(0.05)

    def run(self, sent_arrays: tuple, task, args: tuple, when: str, should_stop, reduce,
            partial: bool = True):
        """``task(rows, sent, *args, group_number)`` for every group, then ``reduce`` on
        the futures of those that finished (``partial``: a straggler may be left out);
        again from ``sent_arrays`` after a lost worker. Returns (reduce's result, finished
        groups) or None if stopped."""
        for _ in range(RETRIES + 1):
            self.lost(when)
            self.holders = self._holders()
            self.seen.update({g: h for g, h in self.holders.items() if h})
            try:
                copies = self._spread(sent_arrays)
            except Exception:  # noqa: BLE001 - the worker it went to left as it went
                if self._left_soon(when):
                    continue
                raise
            futures = {g: self.client.submit(task, self.rows[g], copies.get(h, copies[None]),
                                             *args, i, pure=False, **_near(h))
                       for i, (g, h) in enumerate(self.holders.items())}
            state, finished = self._wait(futures, when, should_stop, partial)
            if state == "stopped":
                self.client.cancel(list(futures.values()))
                return None
            if state == "done":
                try:
                    return reduce([futures[g] for g in self.rows if g in finished]), finished
                except SentimentError:
                    if not self.lost(when):
                        raise
            self.client.cancel(list(futures.values()))
        raise SentimentError(f"workers kept leaving during {when}; nothing was saved from "
                             "this round: check the cluster and run the command again")

    def _left_soon(self, when: str, wait: float = 5.0) -> bool:
        """Whether workers are found to have left within ``wait`` seconds (the scheduler
        learns of a death a moment after the driver's connection to it breaks)."""
        end = time.perf_counter() + wait
        while time.perf_counter() < end:
            if self.lost(when):
                return True
            time.sleep(0.2)
        return False

    def _spread(self, arrays) -> dict:
        """``arrays`` sent once by the driver, to the first group's worker, and copied from
        worker to worker down a binary tree: worker -> its copy (None: the first copy).
        Each worker sends at most two copies, instead of one worker sending one to all."""
        places = list(dict.fromkeys(h for h in self.holders.values() if h))
        [first] = self.client.scatter([arrays], hash=False,
                                      workers=[places[0]] if places else None)
        copies = {None: first}
        for i, w in enumerate(places):
            copies[w] = first if i == 0 else self.client.submit(
                _itself, copies[places[(i - 1) // 2]], pure=False, workers=[w],
                allow_other_workers=True)
        return copies

    def train(self, params: dict, optimizer: dict, settings, lr: float, epoch: int,
              r: int, rounds: int, how: str, should_stop=None):
        """One round: (weights, optimizer state, summed change) after it; raises
        :class:`~sentiment.errors.StopRequested` when a stop is requested meanwhile."""
        start = time.perf_counter()
        before = self._peer_bytes()

        def tree(leaves):
            level = leaves
            while len(level) > 1:  # neighbours first: the same sums whatever the timing
                level = [self.client.submit(parts.add_changes, *level[i:i + 2], pure=False)
                         if i + 1 < len(level) else level[i]
                         for i in range(0, len(level), 2)]
            sizes = [self.client.submit(_size_of, f, pure=False) for f in leaves]
            return result(level[0]), [result(f) for f in sizes]  # sizes, not the changes

        when = f"round {r + 1} of epoch {epoch}"
        done = self.run((params, optimizer), parts.train_round_change,
                        (settings, lr, epoch, r, rounds, how), when, should_stop, tree)
        if done is None:
            raise StopRequested(f"stopped during {when}")
        (total, leaves), finished = done
        params_, optimizer_ = changes.apply(params, optimizer, total, how)
        if not self.rebuilding:  # a round that read parts again is no measure of the others
            self.longest = max(self.longest, time.perf_counter() - start)
        self.rebuilding = False
        after = self._peer_bytes()
        sent = _nbytes(params) + _nbytes(optimizer)
        self.moved.append({"driver_sent": sent, "driver_received": total["bytes"],
                           "changes": dict(zip(finished, leaves)),
                           "workers_sent": {w: after.get(w, 0) - before.get(w, 0)
                                            for w in after}})
        return params_, optimizer_, total

    def val_logits(self, params: dict, activation: str, should_stop=None) -> np.ndarray:
        """Every group's validation logits under ``params``, in group order."""
        return self.each(_val_logits, params, (activation,), "validation", should_stop)

    def val_labels(self) -> np.ndarray:
        """Every group's validation labels, in group order."""
        return self.each(_val_labels, None, (), "reading the validation labels", None)

    def each(self, task, sent, args: tuple, when: str, should_stop) -> np.ndarray:
        """``task(rows, sent, *args, group_number)`` on every group, joined in order."""
        def gather(futures):
            return [result(f) for f in futures]

        done = self.run(sent, task, args, when, should_stop, gather, partial=False)
        if done is None:
            raise StopRequested(f"stopped during {when}")
        return np.concatenate(done[0])

    def _peer_bytes(self) -> dict:
        """Bytes each worker has sent to its peers so far (Dask's own count)."""
        try:
            return self.client.run(_sent_by_worker)
        except Exception:  # noqa: BLE001 - a worker leaving as it is asked: no figure
            return {}

    def summary(self) -> dict:
        """Bytes moved per round (medians over the rounds): through the driver, and sent
        by each worker (its change and the weights its peers fetched from it)."""
        if not self.moved:
            return {}
        med = lambda xs: float(np.median(xs)) if len(xs) else 0.0  # noqa: E731
        workers = sorted({w for m in self.moved for w in m["workers_sent"]})
        return {"rounds": len(self.moved),
                "driver_sent": med([m["driver_sent"] for m in self.moved]),
                "driver_received": med([m["driver_received"] for m in self.moved]),
                "change_per_group": med([b for m in self.moved
                                         for b in m["changes"].values()]),
                "worker_sent": {w: med([m["workers_sent"].get(w, 0) for m in self.moved])
                                for w in workers}}


def _near(worker: str | None) -> dict:
    """Run on ``worker`` while it is there (else wherever the rows are rebuilt)."""
    return {"workers": [worker], "allow_other_workers": True} if worker else {}


def _size_of(change: dict) -> int:
    return change["bytes"]


def _itself(thing):
    return thing


def _val_logits(rows, params, activation, _group):
    return parts.val_logits(rows, params, activation)


def _val_labels(rows, _sent, _group):
    return parts.val_labels(rows)


def _sent_by_worker(dask_worker=None) -> int:
    return int(getattr(dask_worker, "transfer_outgoing_bytes_total", 0))


def _nbytes(arrays: dict) -> int:
    return int(sum(np.asarray(a).nbytes for a in arrays.values()))
