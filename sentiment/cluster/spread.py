"""Both passes on a cluster whose workers read their own parts of the review files.

The driver reads each file's head only (:func:`sentiment.cluster.remote.open_input`) and cuts the
files into parts (:func:`sentiment.cluster.splits.plan`): whole files, or byte ranges cut at row
boundaries. Each part is read, hashed and counted on a worker (:func:`read_part`,
:func:`~sentiment.cluster.partitions.count_read`); the driver is told its rows, labels' counts and
texts' hashes (8 bytes a row), never its texts. Validation rows are the ones one process
holds out (by their row numbers, known once every part has said its rows), so the
vocabulary is the one process's. The counts go up the tree on the workers and the rows
are encoded where they are (:func:`sentiment.cluster.engine.build_vocabulary`,
:func:`~sentiment.cluster.engine.build_rows`), every task's inputs being file names, byte ranges
and earlier tasks: when a worker is lost, Dask reads its parts again elsewhere.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import SentimentError, StopRequested
from ..training.budget import DEFAULT_MAX_MEMORY, Budget
from ..training.pipeline import Tally
from ..training.settings import Settings
from . import partitions as parts
from .engine import ClusterRows, Engine, build_rows, build_vocabulary, result
from .remote import Layout, read_part, summary
from .splits import Part, plan


@dataclass
class SharedFiles:
    """Review files (their :class:`~sentiment.cluster.remote.Layout`) the workers read themselves,
    cut into parts of about ``part_bytes`` (default: a chunk of one process's reader).
    ``on_read(summaries)``: what the driver was told of each part, in order."""

    inputs: list[Layout]
    part_bytes: int | None = None
    on_read: object = None

    @property
    def label_column(self) -> str | None:
        return self.inputs[0].reader.label_column

    @property
    def labels(self):
        return self.inputs[0].reader.labels

    @property
    def name(self) -> str:
        first = self.inputs[0].path
        more = len(self.inputs) - 1
        return first if not more else f"{first} (+{more} more file{'s' * (more > 1)})"


def prepare_parts(engine: Engine, shared: SharedFiles, settings: Settings, *,
                  max_memory: int = DEFAULT_MAX_MEMORY, should_stop=None,
                  progress=None) -> ClusterRows:
    """Both passes on the workers, each reading its parts; the vocabulary, each group's
    rows (futures), what was counted, and ``describe(group)``: the parts it was read from."""
    client, workers = engine.client, engine.workers
    t = time.perf_counter()
    pieces = plan([i.describe() for i in shared.inputs],
                  shared.part_bytes or Budget(max_memory).part_bytes())
    home = [workers[p.index % len(workers)] for p in pieces]
    read = [client.submit(read_part, shared.inputs[p.file], p, workers=[w],
                          allow_other_workers=True, pure=False) for p, w in zip(pieces, home)]
    told = _told(client, read, pieces, should_stop, progress)
    _check_pairs(shared, told, pieces)
    if shared.on_read is not None:
        shared.on_read(told)
    offsets = np.cumsum([0] + [s["rows"] for s in told])[:-1].tolist()
    held = [(w, client.submit(parts.count_read, f, p.index, o, settings, max_memory,
                              workers=[w], allow_other_workers=True, pure=False))
            for f, p, o, w in zip(read, pieces, offsets, home)]
    del read
    tally = _tally(client, held, told, settings)
    times = {"read and count": time.perf_counter() - t}
    t = time.perf_counter()
    vocab, counter, remap = build_vocabulary(
        engine, held, settings.for_vocabulary(tally.n_rows - tally.n_val), loose=True)
    times["vocabulary"] = time.perf_counter() - t
    t = time.perf_counter()
    groups = {w: [i for i, v in enumerate(home) if v == w] for w in workers}
    rows, sizes, kept = build_rows(engine, held, groups, vocab, settings, remap, loose=True)
    times["encode"] = time.perf_counter() - t
    del held

    def describe(group: str) -> str:
        return ", ".join(pieces[i].describe() for i in groups.get(group, []))

    return ClusterRows(vocab, rows, sizes, times, tally.n_rows - tally.n_val, tally.n_val,
                       tally.n_positive, counter.threshold, recoverable=True,
                       describe=describe, keep=kept, parts=len(pieces),
                       notes=_notes(shared, told, pieces))


def _told(client, read: list, pieces: list[Part], should_stop, progress) -> list[dict]:
    """What each part's reader says (rows, labels' counts, hashes), in part order."""
    told = [client.submit(summary, f, p.index == 0, pure=False) for f, p in zip(read, pieces)]
    out = []
    for f in told:
        if should_stop is not None and should_stop():
            raise StopRequested
        out.append(result(f))
        if progress is not None:
            progress("read", out[-1]["rows"])
    return out


def _check_pairs(shared: SharedFiles, told: list[dict], pieces: list[Part]) -> None:
    """Every part must read a label column of two numbers (0/4) the same way."""
    pairs = {tuple(s["pair"]) for s in told if s.get("pair") is not None}
    if len(pairs) > 1:
        low, high = sorted(pairs)[:2]
        raise SentimentError(f"{shared.name}: the label column holds other numbers in "
                             f"other parts ({low} and {high}); say which is which with "
                             "--stars LOW:HIGH")
    if pairs:
        scheme = shared.inputs[0].reader.labels.scheme
        scheme.negative_max, scheme.positive_min = pairs.pop()


def _tally(client, held: list, told: list[dict], settings: Settings) -> Tally:
    """The rows of every part as one :class:`~sentiment.training.pipeline.Tally`, checked."""
    tally = Tally(settings)
    for (_, f), s in zip(held, told):
        part = result(client.submit(parts.tally_of, f, pure=False))
        tally.n_rows += s["rows"]
        tally.n_val += part["n_val"]
        tally.n_positive += part["n_positive"]
        tally.n_labelled_positive += part["n_labelled_positive"]
    tally.check()
    return tally


def _notes(shared: SharedFiles, told: list[dict], pieces: list[Part]) -> list[str]:
    """Per file: its rows, read by the workers in how many parts; the parts' warnings."""
    notes = []
    for f, layout in enumerate(shared.inputs):
        mine = [s for s, p in zip(told, pieces) if p.file == f]
        rows = sum(s["rows"] for s in mine)
        notes.append(f"{layout.path}: {rows:,} rows, read by the workers in {len(mine)} "
                     f"part{'s' * (len(mine) != 1)}")
        notes += [n for s in mine for n in s["notes"]]
    return notes
