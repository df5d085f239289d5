"""The supervisor: binds the port, starts N worker processes on it, passes signals on.

It holds no model and answers no request. The workers inherit its listening socket and
take connections from it in turn (as uvicorn's and gunicorn's workers do). SIGTERM or
Ctrl-C: each worker stops taking connections, answers what it has read and exits, then
the supervisor says how many requests were answered and exits 0. SIGHUP: each worker
reloads the model file. A worker that dies is started again (a few times a minute at
most).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict

from ..errors import SentimentError
from . import metrics

RESTARTS_PER_MINUTE = 5


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port), or a SentimentError saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise SentimentError(f"--host {host}: not an address of this machine "
                             f"({exc.strerror})") from None
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        why = {98: "the port is in use (pick another with --port)",
               13: "not allowed (ports below 1024 need privileges)",
               99: "not an address of this machine"}.get(exc.errno, exc.strerror or exc)
        raise SentimentError(f"cannot listen on {host}:{port}: {why}") from None


class Supervisor:
    """Starts and stops the workers; ``say`` prints a line on stderr."""

    def __init__(self, model: str, name: str, sock: socket.socket, workers: int, limits,
                 graceful: float = 30.0, say=None):
        self.sock, self.workers, self.graceful = sock, workers, graceful
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.folder = tempfile.mkdtemp(prefix="sentiment-serve-")
        self.metrics = os.path.join(self.folder, "metrics")
        metrics.create(self.metrics, workers)
        self.config = {"model": model, "name": name, "fd": sock.fileno(),
                       "metrics": self.metrics, "workers": workers,
                       "limits": asdict(limits), "graceful": graceful}
        self.procs: list[subprocess.Popen | None] = [None] * workers
        self.waiting: dict[int, int] = {}  # ready pipe's read end -> worker slot
        self.restarts: list[float] = []
        self.signal: int | None = None
        self.hup = False

    def __repr__(self) -> str:
        return f"Supervisor(workers={self.workers}, {self.sock.getsockname()})"

    def spawn(self, slot: int) -> None:
        read, write = os.pipe()
        config = json.dumps({**self.config, "slot": slot, "ready_fd": write})
        self.procs[slot] = subprocess.Popen(
            [sys.executable, "-m", "sentiment.serve.worker", config],
            pass_fds=(self.sock.fileno(), write), stdin=subprocess.DEVNULL)
        os.close(write)
        self.waiting[read] = slot

    def run(self, on_ready) -> int:
        """Start the workers, call ``on_ready()`` once all listen, serve until a signal."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGHUP, self._reload)
        try:
            for slot in range(self.workers):
                self.spawn(slot)
            if not self._started():  # stopped while starting, or a worker failed
                code = self._stop_workers()
                return code if self.signal is not None else 1
            on_ready()
            while self.signal is None:
                self._tick()
                if not self._check_workers():
                    self._stop_workers()
                    return 1
            return self._stop_workers()
        finally:
            self.sock.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def _started(self) -> bool:
        """Wait until every worker listens; False if one died first (it said why)."""
        while self.waiting and self.signal is None:
            self._tick()
            for slot, proc in enumerate(self.procs):
                if proc.poll() is not None:
                    self.say(f"error: worker {slot} exited (code {proc.returncode}) before "
                             "it was ready")
                    return False
        return self.signal is None

    def _tick(self) -> None:
        """Wait up to 0.1 s for a worker to say it is ready; pass on a SIGHUP."""
        if self.hup:  # to the workers that listen: one still starting reads the new file
            self.hup = False
            starting = set(self.waiting.values())
            for slot, proc in enumerate(self.procs):
                if slot not in starting and proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGHUP)
        ready, _, _ = select.select(list(self.waiting), [], [], 0.1)
        for fd in ready:
            os.read(fd, 1)
            os.close(fd)
            del self.waiting[fd]

    def _check_workers(self) -> bool:
        """Start again a worker that died; False if they die too often."""
        for slot, proc in enumerate(self.procs):
            if proc.poll() is None or self.signal is not None:
                continue
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < 60] + [now]
            if len(self.restarts) > RESTARTS_PER_MINUTE:
                self.say(f"error: workers died {len(self.restarts)} times in a minute; "
                         "stopping")
                return False
            self.say(f"worker {slot} exited (code {proc.returncode}); starting another")
            self.spawn(slot)
        return True

    def _stop_workers(self) -> int:
        """SIGTERM to every worker, wait for them (SIGKILL past the grace time); say how
        many requests were answered. 0 if every worker stopped cleanly."""
        self.sock.close()  # the port closes once the workers have closed theirs too
        alive = [p for p in self.procs if p is not None and p.poll() is None]
        for proc in alive:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.graceful + 5
        code = 0
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.returncode != 0 and proc in alive:
                code = 1
        for fd in self.waiting:
            os.close(fd)
        answered, left = metrics.totals(self.metrics)
        self.say(f"stopped: {answered:,} requests answered, {left:,} left unanswered")
        return code

    def _stop(self, signum, frame) -> None:
        self.signal = signum

    def _reload(self, signum, frame) -> None:
        self.hup = True
