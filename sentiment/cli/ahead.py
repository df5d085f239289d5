"""``train --test``: the test file read and hashed by a second process while the model
trains.

Training's epochs keep one core busy; the other would wait for the model before reading
the test file. A child process (:func:`_score`) reads it meanwhile, chunk by chunk, and
hashes each chunk's n-grams as the model will (hashing depends on the settings, not on
the weights), up to a budget of hashed chunks; once the model is sent, it scores them
(a lookup and a sum), then the rest of the file, and sends back the scores, each text's
hash (for the overlap report) and the file's notes. A thread did the same work 0.5 s
slower: reading and hashing hold the GIL for about a second, which the epochs waited
for. An error in the file is raised where the scoring reaches it, as when the file is
read after training; Ctrl-C is the parent's (the child ignores it and ends with it).
"""
from __future__ import annotations

import numpy as np

from ..errors import SentimentError


def worth_it(paths, max_memory: int) -> bool:
    """Whether the training files at ``paths`` are small enough to read the test file
    ahead: their text (a gzip file's uncompressed size, from its trailer) within
    :meth:`~sentiment.training.budget.Budget.reads_test_ahead`."""
    import os

    total = 0
    for path in paths:
        size = os.path.getsize(path)
        if str(path).endswith(".gz") and size >= 4:
            with open(path, "rb") as f:
                f.seek(-4, os.SEEK_END)  # ISIZE: the uncompressed size modulo 2**32
                size = max(size, int.from_bytes(f.read(4), "little"))
        total += size
    from ..training.budget import Budget

    return Budget(max_memory).reads_test_ahead(total)


class TestAhead:
    """The child process that reads, hashes and scores the --test file at ``path``
    (binary labels, read under ``scheme`` as it is when :meth:`go` is called: the
    training file's label column is known by then; ``options``: text_column, label_column
    and encoding): started by :meth:`start`, it reads once :meth:`go` says, holds at most
    ``budget`` bytes of hashed rows, and scores once :meth:`score` sends the model."""

    def __init__(self, path, options: dict, scheme, settings, budget: int):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._conn, child = ctx.Pipe()
        self._spec = {"path": str(path), **options, "ngrams": settings.ngrams,
                      "negation": settings.negation, "values": settings.values,
                      "budget": budget}
        self._child, self._read_as, self._scheme = child, scheme, None
        self._proc = ctx.Process(target=_score, args=(child,), daemon=True,
                                 name="sentiment-test")

    def start(self) -> None:
        """Start the child: it imports what it reads with (~0.5 s of CPU) while this
        process starts too, on the other core, then waits for :meth:`go`."""
        if self._proc.pid is None:
            import signal

            # Ctrl-C is the parent's: the child starts with it blocked (and then ignores
            # it), so that one during its imports prints no traceback of its own
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) \
                if hasattr(signal, "pthread_sigmask") else None
            try:
                self._proc.start()
            finally:
                if blocked is not None and signal.SIGINT not in blocked:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            self._child.close()

    def go(self) -> None:
        """Let the child read (once pass 1 is done with both cores and its memory)."""
        from ..io.labels import LabelScheme

        self.start()
        if self._scheme is None:
            self._scheme = LabelScheme.from_dict(self._read_as.to_dict())  # as the child reads
            self._send(("go", {**self._spec, "scheme": self._scheme.to_dict()}))

    def vocabulary(self, vocab) -> None:
        """Send the training vocabulary's hashes, known before the first epoch: the child
        looks its chunks' distinct hashes up in it meanwhile, and only maps those columns
        to the model's once the model comes (IMDB: 0.2 s less after training). Sent from
        a thread: the pipe holds 64 KB and the child reads between two chunks, so the
        send waits for it (IMDB: 0.5 s the epochs waited)."""
        if self._scheme is not None:  # once "go" is sent: the message after it
            import threading

            self._sending = threading.Thread(target=self._send,
                                             args=(("vocab", vocab.hashes),),
                                             name="sentiment-test-vocabulary", daemon=True)
            self._sending.start()

    _sending = None  # the thread sending the vocabulary, if any
    _idle = False  # the child said it waits for the model (or it ended)
    _early = None  # an answer the child sent before the model (an error in the file)

    def epoch_threads(self) -> int | None:
        """The cap on the epochs' threads, asked before each slice of batches: 1 while the
        child reads and hashes on the other core, None (no cap) once it says it waits for
        the model, or has ended. IMDB: the child is done during the fourth or fifth epoch,
        whose rest then has both cores."""
        if not self._idle and self._scheme is not None:
            try:
                if self._conn.poll():  # its one message before the answer
                    message = self._conn.recv()
                    self._idle = True
                    if message[0] != "idle":  # it ended early: score() says how
                        self._early = message
            except (EOFError, OSError):
                self._idle = True
        return None if self._idle else 1

    def score(self, model) -> tuple[dict, object, str]:
        """Send ``model``; return (its scores, a DataReport of the file's texts, the
        file's name), raising :class:`SentimentError` for an error in the file."""
        from .common import note
        from .report import DataReport

        self.go()
        self._send(("model", model))
        try:
            answer = self._early
            while answer is None or answer[0] == "idle":
                answer = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the process scoring the test file ended (exit code "
                               f"{self._proc.exitcode})") from None
        if answer[0] == "error":
            if model.scheme.to_dict() != self._scheme.to_dict():  # read before the labels
                raise RuntimeError(f"read ahead as {self._scheme.describe()}, but the "
                                   "training file's labels turned out to be "
                                   f"{model.scheme.describe()}")
            raise SentimentError(answer[1])
        if answer[0] == "internal":
            raise RuntimeError("the process scoring the test file failed ("
                               f"{answer[1].strip().splitlines()[-1]})")
        _, metrics, hashes, notes, name = answer
        note(*notes)
        return metrics, DataReport(hashes), name

    def _send(self, message) -> None:
        """Send ``message`` after the vocabulary (one message at a time in the pipe)."""
        import threading

        if self._sending is not None and self._sending is not threading.current_thread():
            self._sending.join()
        try:
            self._conn.send(message)
        except OSError:  # it ended: score() says how
            pass

    def close(self) -> None:
        """End the child (it stops after the chunk under way)."""
        if self._proc.pid is None:  # never started
            self._child.close()
            self._conn.close()
            return
        if self._sending is not None:
            self._sending.join(timeout=5)
        if self._sending is not None and self._sending.is_alive():
            self._proc.terminate()  # stalled: its end of the pipe goes, and the send fails
            self._sending.join()
        else:
            self._send(("stop",))
        self._conn.close()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()


def _score(conn) -> None:
    """The child: import, wait for "go" (with what to read), read and hash ahead, wait for
    the model, score."""
    import signal
    import traceback

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    from ..memory import one_heap

    one_heap()  # its scoring threads share one heap (as pass 1's)
    try:
        # what reading and hashing import (pandas, ...), while the parent starts: the
        # file is read at once on "go"
        from ..io import reader  # noqa: F401
        from ..training import chunks  # noqa: F401

        message = conn.recv()
        if message[0] != "go":
            return
        answer = _read_and_score(conn, message[1])
    except SentimentError as exc:
        answer = ("error", str(exc))
    except BaseException:
        answer = ("internal", traceback.format_exc())
    if answer is not None:
        try:
            conn.send(answer)
        except OSError:
            pass
    # done: no teardown of the interpreter (freeing the held rows one by one), which the
    # parent's close() would wait for (0.1 s of IMDB's train --test)
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(1 if answer is not None and answer[0] == "internal" else 0)


def _read_and_score(conn, spec: dict):
    from ..io.labels import LabelScheme
    from ..io.reader import ReviewFile
    from ..model.metrics import evaluate_chunks
    from ..training.budget import Budget
    from ..training.chunks import chunk_logits, hash_texts
    from ..training.settings import Settings
    from .report import DataReport

    source = ReviewFile(spec["path"], text_column=spec["text_column"],
                        label_column=spec["label_column"], encoding=spec["encoding"],
                        scheme=LabelScheme.from_dict(spec["scheme"]), fixed=True)
    seen = DataReport()
    rows = Budget.scoring().chunk_rows(source.row_bytes)
    chunks = seen.watch((c.texts, c.labels) for c in source.chunks(rows))
    settings = Settings(ngrams=spec["ngrams"], negation=spec["negation"],
                        values=spec["values"])
    held, size, vocab, message = [], 0, Columns(), None
    for texts, labels in chunks:  # ahead, until the model comes or the budget is spent
        kept = vocab.look_up(hash_texts(texts, settings))
        held.append((kept, labels))
        size += sum(a.nbytes for a in kept.values())
        while message is None and conn.poll():  # the vocabulary, or the model
            message = vocab.take(conn.recv(), held)
        if size > spec["budget"] or message is not None:
            break
    idle = False
    while message is None:
        if vocab.came and not idle:  # nothing to do until the model: the epochs' core
            conn.send(("idle",))
            idle = True
        message = vocab.take(conn.recv(), held)
    if message[0] != "model":
        return None
    model = message[1]
    weights = vocab.weights(model)

    def rest():
        while held:
            yield held.pop(0)
        yield from chunks  # the rest of the file, read as it is scored

    def logits(item):
        if isinstance(item, dict) and "cols" in item:  # in training columns already
            return vocab.logits(model, weights, item)
        if isinstance(item, dict):  # hashed ahead, before the vocabulary came
            return chunk_logits(model, item)
        return model.logits(item)

    metrics = evaluate_chunks(model, rest(), logits=logits)
    return ("done", metrics, seen.hashes(), source.notes, source.name)


class Columns:
    """The child's view of the training vocabulary, once the parent sends it: each held
    chunk turned into rows of training columns while the model trains (the lookups and
    gathers of scoring, done ahead); the model then comes as a weight row per training
    column (:meth:`weights`), and scoring is one pass of the compiled loops."""

    def __init__(self):
        self.hashes = self.table = None
        self.came = False  # the vocabulary came (and the held chunks were looked up)

    def take(self, message, held: list):
        """Keep a ("vocab", hashes) message and look the held chunks up; any other
        message is returned, for the caller."""
        if message[0] != "vocab":
            return message
        self.came = True
        from ..native.loops import compiled, lookup_table

        if compiled() is not None:  # else the chunks are looked up once the model comes
            self.hashes = np.ascontiguousarray(message[1], dtype=np.uint64)
            self.table = lookup_table(self.hashes)
            held[:] = [(self.look_up(kept), labels) for kept, labels in held]
        return None

    def look_up(self, kept: dict) -> dict:
        """A chunk kept as :func:`~sentiment.training.chunks.hash_texts` keeps it, as CSR arrays of
        training columns (``indptr``, ``cols``, ``data``: presence, signed, or counts)."""
        if self.table is None or "uniques" not in kept:
            return kept
        from ..native.loops import lookup
        from ..training.chunks import chunk_columns

        indptr, cols, data = chunk_columns(kept, lookup(self.table, self.hashes,
                                                        kept["uniques"]))
        return {"indptr": indptr, "cols": cols, "data": data}

    def weights(self, model) -> np.ndarray | None:
        """``model``'s layer-1 row of each training column (zeros where the model lacks
        the feature), its naive-Bayes ratio folded in: exact, the values being +-1."""
        if self.table is None:
            return None
        from ..native.loops import lookup

        at = lookup(self.table, self.hashes, model.vocab.hashes)
        mine = np.flatnonzero(at >= 0)  # the model's columns the training one has
        W = np.zeros((len(self.hashes), model.net.hidden), np.float32)
        W[at[mine]] = model.net.W1[mine]
        if model.values == "nb":
            W[at[mine]] *= model.vocab.nb_scale()[mine][:, None]
        return W

    @staticmethod
    def logits(model, weights: np.ndarray, rows: dict) -> np.ndarray:
        """The logits of ``rows`` (from :meth:`look_up`) by ``weights``' rows: the sums of
        model.logits, in the same order (a feature the model lacks adds zero)."""
        return model.net._compiled_logits(rows["data"], rows["cols"], rows["indptr"],
                                          weights)
