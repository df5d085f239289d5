"""Counters every worker writes in its own slot of one shared file, summed for ``/metrics``.

Each worker process owns one row of a float64 array mapped from a file the supervisor
makes, and only it writes there (8-byte aligned writes: a reader never sees half a
number), so a scrape that lands on any worker reports all of them, in Prometheus' text
format. A worker started again after a crash continues its row's counts.
"""
from __future__ import annotations

import mmap
from bisect import bisect_left

import numpy as np

PATHS = ("/predict", "/explain", "/health", "/ready", "/metrics", "/model", "/reload",
         "/openapi.json", "/docs", "other")
CODES = (200, 400, 404, 405, 413, 415, 422, 500, 503, 0)  # 0: any other
TIMED = ("/predict", "/explain")  # paths with a latency histogram
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)

_REQUESTS = 0
_LATENCY = _REQUESTS + len(PATHS) * len(CODES)  # per timed path: buckets, +Inf, sum
_BATCH = _LATENCY + len(TIMED) * (len(LATENCY) + 2)  # texts per call: buckets, +Inf, sum
_BATCH_REQUESTS = _BATCH + len(BATCH) + 2  # requests per scoring call, summed
_RELOADS = _BATCH_REQUESTS + 1  # loaded, refused
_INFLIGHT = _RELOADS + 2
SLOT = _INFLIGHT + 1


def totals(path: str) -> tuple[int, int]:
    """(requests answered, requests in flight) of every worker, from the file at ``path``:
    once the workers have exited, those in flight are those they never answered."""
    counts = np.fromfile(path, dtype=np.float64).reshape(-1, SLOT)
    return int(counts[:, _REQUESTS:_LATENCY].sum()), int(counts[:, _INFLIGHT].sum())


def create(path: str, workers: int) -> None:
    """Make the zeroed file of ``workers`` slots at ``path``."""
    with open(path, "wb") as f:
        f.truncate(workers * SLOT * 8)


class Metrics:
    """The shared counters, seen from worker ``slot`` (the one row it writes)."""

    def __init__(self, path: str, slot: int):
        with open(path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), 0)
        self.all = np.frombuffer(self._map, dtype=np.float64).reshape(-1, SLOT)
        self.mine = self.all[slot]
        self.slot = slot
        self.mine[_INFLIGHT] = 0  # a worker started again: its predecessor's are gone
        self._path_index = {p: i for i, p in enumerate(PATHS)}
        self._code_index = {c: i for i, c in enumerate(CODES)}

    def __repr__(self) -> str:
        return f"Metrics(slot={self.slot}, workers={len(self.all)})"

    def request(self, path: str, code: int, seconds: float) -> None:
        p = self._path_index.get(path, len(PATHS) - 1)
        c = self._code_index.get(code, len(CODES) - 1)
        mine = self.mine
        mine[_REQUESTS + p * len(CODES) + c] += 1
        if path in TIMED:
            at = _LATENCY + TIMED.index(path) * (len(LATENCY) + 2)
            mine[at + bisect_left(LATENCY, seconds)] += 1
            mine[at + len(LATENCY) + 1] += seconds

    def batch(self, texts: int, requests: int) -> None:
        mine = self.mine
        mine[_BATCH + bisect_left(BATCH, texts)] += 1
        mine[_BATCH + len(BATCH) + 1] += texts
        mine[_BATCH_REQUESTS] += requests

    def reload(self, loaded: bool) -> None:
        self.mine[_RELOADS + (0 if loaded else 1)] += 1

    def inflight(self, change: int) -> None:
        self.mine[_INFLIGHT] += change

    def text(self, model_info: dict) -> str:
        """Every worker's counts summed, in Prometheus' text format (version 0.0.4)."""
        total = self.all.sum(axis=0)
        out = []

        def metric(name, kind, help_text):
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}")

        metric("sentiment_requests_total", "counter", "HTTP requests answered, by path and "
               "status code.")
        errors = {}
        for p, path in enumerate(PATHS):
            for c, code in enumerate(CODES):
                n = total[_REQUESTS + p * len(CODES) + c]
                if n:
                    shown = code or "other"
                    out.append(f'sentiment_requests_total{{path="{path}",code="{shown}"}} '
                               f"{n:.0f}")
                    if code == 0 or code >= 400:
                        errors[path] = errors.get(path, 0) + n
        metric("sentiment_request_errors_total", "counter", "Requests answered with a 4xx "
               "or 5xx status, by path.")
        out += [f'sentiment_request_errors_total{{path="{p}"}} {n:.0f}'
                for p, n in errors.items()]
        metric("sentiment_request_duration_seconds", "histogram", "Time from the request's "
               "arrival to the end of its answer.")
        for t, path in enumerate(TIMED):
            at = _LATENCY + t * (len(LATENCY) + 2)
            out += _histogram("sentiment_request_duration_seconds", f'path="{path}",',
                              LATENCY, total[at:at + len(LATENCY) + 1],
                              total[at + len(LATENCY) + 1])
        metric("sentiment_batch_texts", "histogram", "Texts per scoring call (the texts of "
               "concurrent requests are scored together).")
        out += _histogram("sentiment_batch_texts", "", BATCH,
                          total[_BATCH:_BATCH + len(BATCH) + 1], total[_BATCH + len(BATCH) + 1])
        metric("sentiment_batch_requests_total", "counter", "Requests scored, summed over "
               "scoring calls (divided by the calls: requests per call).")
        out.append(f"sentiment_batch_requests_total {total[_BATCH_REQUESTS]:.0f}")
        metric("sentiment_model_reloads_total", "counter", "Model reloads, by result.")
        out.append(f'sentiment_model_reloads_total{{result="loaded"}} {total[_RELOADS]:.0f}')
        out.append(f'sentiment_model_reloads_total{{result="refused"}} '
                   f"{total[_RELOADS + 1]:.0f}")
        metric("sentiment_requests_in_flight", "gauge", "Requests being answered now.")
        out.append(f"sentiment_requests_in_flight {total[_INFLIGHT]:.0f}")
        metric("sentiment_workers", "gauge", "Worker processes sharing the port.")
        out.append(f"sentiment_workers {len(self.all)}")
        metric("sentiment_model_info", "gauge", "The model this worker answers with.")
        labels = ",".join(f'{k}="{_escape(str(v))}"' for k, v in model_info.items())
        out.append(f"sentiment_model_info{{{labels}}} 1")
        return "\n".join(out) + "\n"


def _histogram(name: str, labels: str, bounds, counts, total: float) -> list[str]:
    """A histogram's lines from per-bucket (not cumulative) counts, the last one +Inf."""
    lines, running = [], 0.0
    for bound, n in zip([*map(str, bounds), "+Inf"], counts):
        running += n
        lines.append(f'{name}_bucket{{{labels}le="{bound}"}} {running:.0f}')
    plain = labels.rstrip(",")
    braces = f"{{{plain}}}" if plain else ""
    lines.append(f"{name}_sum{braces} {total:.6f}")
    lines.append(f"{name}_count{braces} {running:.0f}")
    return lines


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
