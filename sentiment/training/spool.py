"""Where encoded rows wait between passes: in memory up to a budget, then on disk.

A :class:`Spool` keeps named groups of arrays, each group growing by appends. While they fit
its budget they stay in memory; past it, every group goes to raw files in a temporary
folder (groups put once, chunks', written one after the other in shared files; each array
of a growing group, a shard, in a file appended to and kept open; read back in pieces or
memory-mapped), removed when the spool closes, on success, failure or Ctrl-C alike.
:class:`ShardedRows` is the training set the trainer reads: CSR rows with their labels,
scattered into shards that an epoch visits in a new order, shuffling the rows inside each.
A small file is one shard in memory, and an epoch is then exactly one permutation of all
rows.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..errors import SentimentError
from .cachefiles import SharedFiles, cannot_write, open_files_allowed, read_group, write_all


class Spool:
    """Groups of arrays by key, in memory up to ``budget`` bytes, then on disk.

    ``folder`` is where the temporary cache folder is made (default: the system's).
    """

    def __init__(self, budget: int, folder: str | os.PathLike | None = None):
        self.budget, self.parent = int(budget), folder
        self._bin, self._gone = None, 0  # the thread removing popped files; how many
        self.in_memory = self.on_disk = 0  # bytes held in memory, in the cache folder now
        self.peak_on_disk = 0
        self.dir: Path | None = None
        self._items: dict[str, dict] = {}  # key -> name -> list of arrays, or (path, dtype)
        self._files: dict[Path, object] = {}  # the cache files kept open to append to
        self._growing: set[str] = set()  # keys put with grows=True
        self._max_open = open_files_allowed()
        self._shared = SharedFiles()  # where the groups put once are written

    def __repr__(self) -> str:
        where = f"disk {self.dir}" if self.dir else "memory"
        return (f"Spool({len(self._items)} groups, {where}, "
                f"{self.in_memory + self.on_disk:,} bytes)")

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def keys(self) -> list[str]:
        return list(self._items)

    def put(self, key: str, arrays: dict, grows: bool = False) -> None:
        """Keep ``arrays`` (name -> ndarray) under ``key``, after what it holds already.
        ``grows``: more puts to ``key`` follow (a shard): on disk each of its arrays then
        has a file to append to; a key put once is one file (making a file costs ~0.5 ms
        on an ext4 disk: a file per array of each chunk was seconds of a small budget),
        rewritten as a growing one if it is put again."""
        size = sum(a.nbytes for a in arrays.values())
        if self.dir is None and self.in_memory + size > self.budget:
            self._spill()
        group = self._items.setdefault(key, {})
        if grows or group:  # a key put again grows, wherever it is
            self._growing.add(key)
        if self.dir is None:
            for name, a in arrays.items():
                group.setdefault(name, []).append(a)
            self.in_memory += size
        elif key in self._growing:
            if any(held[3] is not None for held in group.values()):
                self._unpack(key, group)  # put once so far, in one file
            for name, a in arrays.items():
                self._append(key, group, name, a)
        else:
            self._write_group(key, group, {name: [a] for name, a in arrays.items()})

    def _unpack(self, key: str, group: dict) -> None:
        """A group written in one file, rewritten as a file per array to append to."""
        held = self.pop(key)
        self._items[key] = group
        self._growing.add(key)
        group.clear()
        for name, a in held.items():
            self._append(key, group, name, a)

    def get(self, key: str) -> dict:
        """The arrays under ``key`` (memory-mapped, read-only, if they are on disk)."""
        out = {}
        for name, held in self._items[key].items():
            if isinstance(held, list):
                out[name] = _joined(held)
                continue
            path, dtype, offset, count = held
            if count is None:
                count = path.stat().st_size // dtype.itemsize
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=offset,
                                  shape=(count,)) if count else np.zeros(0, dtype=dtype)
        return out

    def read(self, key: str, name: str, start: int, stop: int) -> np.ndarray:
        """Elements ``start:stop`` of one array, read into memory (from disk, only those:
        no mapping of the whole file that would stay resident)."""
        held = self._items[key][name]
        if isinstance(held, list):
            return _joined(held)[start:stop]
        path, dtype, offset, count = held
        if count is not None:  # no further than its own end in the group's file
            stop = min(stop, count)
        with open(path, "rb") as f:
            f.seek(offset + start * dtype.itemsize)
            return np.fromfile(f, dtype=dtype, count=max(stop - start, 0))

    def pop(self, key: str) -> dict:
        """The arrays under ``key``, read into memory; the spool forgets them."""
        group = self._items.pop(key)
        self._growing.discard(key)
        out, paths = {}, []
        if (shared := self._shared.holding(group)) is not None:  # one read of its span
            out = read_group(shared, group)
            self._forget(shared)
            return out
        for name, held in group.items():
            if isinstance(held, list):
                out[name] = _joined(held)
                self.in_memory -= sum(a.nbytes for a in held)
                continue
            path, dtype, offset, count = held
            self._close_files([path])
            out[name] = np.fromfile(path, dtype=dtype, offset=offset,
                                    count=-1 if count is None else count)
            if path not in paths:
                paths.append(path)
        for path in paths:
            self.on_disk -= path.stat().st_size
            self._remove(path)
        return out

    def discard(self, key: str) -> None:
        """Forget the arrays under ``key`` without reading them back."""
        if (shared := self._shared.holding(self._items.get(key, {}))) is None:
            if key in self._items:
                self.pop(key)
            return
        del self._items[key]
        self._growing.discard(key)
        self._forget(shared)

    def _forget(self, path: Path) -> None:
        """One group of the shared file ``path`` popped: the file goes with its last."""
        if self._shared.forget(path):
            self.on_disk -= path.stat().st_size
            self._remove(path)

    def _remove(self, path: Path) -> None:
        """Remove a popped file on a thread (1M reviews: 750 files, 3.8 s of pass 2),
        renamed first: a file made again under its name is never the one removed."""
        from concurrent.futures import ThreadPoolExecutor

        self._gone += 1
        gone = path.with_name(f"gone-{self._gone}")
        path.rename(gone)
        if self._bin is None:
            self._bin = ThreadPoolExecutor(1, thread_name_prefix="spool-remove")
        self._bin.submit(gone.unlink, missing_ok=True)

    def close(self) -> None:
        """Forget everything and remove the cache folder, if one was made."""
        self._close_files()
        self._shared.close()
        self._items.clear()
        self._growing.clear()
        self.in_memory = self.on_disk = 0
        if self._bin is not None:
            self._bin.shutdown(wait=True)
            self._bin = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _spill(self) -> None:
        """Move every group to disk; from now on, new arrays go there too."""
        try:
            self.dir = Path(tempfile.mkdtemp(prefix="sentiment-cache-", dir=self.parent))
        except OSError as exc:
            raise SentimentError(f"{self.parent or tempfile.gettempdir()}: cannot make the "
                                 f"cache folder ({exc.strerror or exc}); choose another "
                                 "--cache-dir") from None
        for key, group in self._items.items():
            if key not in self._growing:
                self._write_group(key, group, dict(group))
                continue
            for name, held in list(group.items()):
                group[name] = None
                for a in held:
                    self._append(key, group, name, a)
        self.in_memory = 0

    def _write_group(self, key: str, group: dict, arrays: dict) -> None:
        """Write a group's arrays (name -> list of pieces) to a shared file."""
        try:
            size = self._shared.write(self.dir, key, group, arrays)
        except OSError as exc:
            raise cannot_write(self.dir, exc) from None
        self.on_disk += size
        self.peak_on_disk = max(self.peak_on_disk, self.on_disk)

    def _append(self, key: str, group: dict, name: str, a: np.ndarray) -> None:
        if group.get(name) is None:
            group[name] = (self.dir / f"{key}.{name}.bin", a.dtype, 0, None)
        path = group[name][0]
        try:
            f = self._files.get(path)
            if f is None:  # kept open while the process may: pass 2 appends to every
                f = open(path, "ab", buffering=0)  # shard after each chunk
                if len(self._files) < self._max_open:
                    self._files[path] = f
            try:
                write_all(f, a)
            finally:
                if self._files.get(path) is not f:
                    f.close()
        except OSError as exc:
            raise cannot_write(self.dir, exc) from None
        self.on_disk += a.nbytes
        self.peak_on_disk = max(self.peak_on_disk, self.on_disk)

    def _close_files(self, paths=None) -> None:
        for path in list(self._files) if paths is None else paths:
            f = self._files.pop(path, None)
            if f is not None:
                f.close()


def _joined(pieces: list) -> np.ndarray:
    """An in-memory array from its appended pieces (the one piece itself, not a copy)."""
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


class ShardedRows:
    """CSR rows and labels in ``n_shards`` shards kept by a :class:`Spool`."""

    def __init__(self, spool: Spool, n_shards: int, n_inputs: int, name: str = "shard"):
        self.spool, self.n_inputs, self.name = spool, int(n_inputs), name
        self.sizes = [0] * max(1, n_shards)  # rows per shard
        self.n_rows = self.nnz = 0
        self.binary = True  # every value is 1 (optimizers then skip multiplications)
        self._loaded: tuple | None = None  # the one shard of a small set, kept loaded
        self._dealt: list = []  # rows drawn to shards, not yet written (see deal)
        self._dealt_bytes = 0

    def __repr__(self) -> str:
        return (f"ShardedRows({self.n_rows:,} rows, {self.n_shards} shards, "
                f"{self.n_inputs:,} inputs)")

    @property
    def n_shards(self) -> int:
        return len(self.sizes)

    @classmethod
    def from_matrix(cls, X, y) -> "ShardedRows":
        """One shard in memory holding CSR ``X`` and labels ``y`` as they are."""
        rows = cls(Spool(1 << 62), 1, X.shape[1])
        rows.add(0, X.indptr, X.indices, X.data, np.asarray(y, dtype=np.float32))
        rows._loaded = (X, np.asarray(y, dtype=np.float32))
        return rows

    def add(self, shard: int, indptr, indices, data, y) -> None:
        """Append CSR rows (``indptr`` starting at 0) with labels ``y`` to ``shard``."""
        self._note_values(data)
        self._put(shard, np.diff(indptr).astype(np.int32), indices, data, y)

    def _note_values(self, data) -> None:
        if self.binary and len(data):  # every value 1 so far: still?
            self.binary = bool(data[0] == 1 and data.min() == 1 == data.max())

    def _put(self, shard: int, lengths, indices, data, y) -> None:
        self.spool.put(f"{self.name}{shard}", {
            "lengths": lengths, "indices": indices, "data": data, "y": y}, grows=True)
        self.sizes[shard] += len(y)
        self.n_rows += len(y)
        self.nnz += len(indices)
        self._loaded = None

    def scatter(self, rng: np.random.Generator, indptr, indices, data, y) -> None:
        """Add rows to shards drawn at random (seeded): a file sorted by label still gives
        every shard a fair sample of both."""
        self.deal(rng, indptr, indices, data, y)
        self.flush()

    def deal(self, rng: np.random.Generator, indptr, indices, data, y) -> int:
        """:meth:`scatter`'s draw and reordering, the rows kept until :meth:`flush` writes
        them (the same shards, rows in the same order, as one scatter per call); return the
        bytes kept. With hundreds of shards under a small --max-memory, one write per shard
        and array for several chunks instead of one for each: pass 2 was mostly writes."""
        if self.n_shards == 1:
            self.add(0, indptr, indices, data, y)
            return 0
        self._note_values(data)
        shard = rng.integers(self.n_shards, size=len(y))
        order = np.argsort(shard, kind="stable")
        bounds = np.searchsorted(shard[order], np.arange(self.n_shards + 1))
        X = csr(indptr, indices, data, self.n_inputs)[order]
        self._dealt.append((bounds, X.indptr, np.diff(X.indptr).astype(np.int32), X.indices,
                            X.data, y[order]))
        self._dealt_bytes += X.indices.nbytes + X.data.nbytes + 12 * len(y)
        return self._dealt_bytes

    def flush(self) -> None:
        """Write the rows :meth:`deal` kept to their shards."""
        dealt, self._dealt, self._dealt_bytes = self._dealt, [], 0
        # each shard's rows as views of the reordered arrays (scipy's slicing of a matrix
        # for each of hundreds of shards was most of pass 2 under a small budget); the
        # bounds as lists: hundreds of shards times the chunks dealt, each a few slices
        dealt = [(bounds.tolist(), starts.tolist(), *rest) for bounds, starts, *rest in dealt]
        for s in range(self.n_shards if dealt else 0):
            pieces = [(lo, hi, starts[lo], starts[hi], *rest)
                      for bounds, starts, *rest in dealt
                      for lo, hi in [(bounds[s], bounds[s + 1])] if hi > lo]
            if not pieces:
                continue
            self._put(s, _joined([n[lo:hi] for lo, hi, _, _, n, _, _, _ in pieces]),
                      _joined([ind[a:b] for _, _, a, b, _, ind, _, _ in pieces]),
                      _joined([dat[a:b] for _, _, a, b, _, _, dat, _ in pieces]),
                      _joined([y[lo:hi] for lo, hi, _, _, _, _, _, y in pieces]))

    def load(self, shard: int):
        """(CSR matrix, labels) of one shard."""
        if self._loaded is not None and shard == 0:
            return self._loaded
        p = self.spool.get(f"{self.name}{shard}")
        indptr = np.zeros(len(p["lengths"]) + 1, dtype=np.int64)
        np.cumsum(p["lengths"], out=indptr[1:])
        X, y = csr(indptr, p["indices"], p["data"], self.n_inputs), p["y"]
        if self.n_shards == 1 and self.spool.dir is None:
            self._loaded = (X, y)  # one shard in memory: joined once, kept
        return X, y

    def labels(self) -> np.ndarray:
        """Every row's label, shard after shard (the order of :meth:`parts`)."""
        return np.concatenate([self.spool.read(f"{self.name}{s}", "y", 0, self.sizes[s])
                               for s in range(self.n_shards) if self.sizes[s]]
                              or [np.zeros(0, np.float32)])

    def parts(self, rows: int | None = None):
        """Every row in order, ``rows`` at a time (default: about a shard's worth of bytes
        of the spool's budget): (CSR matrix, labels). Memory: one part."""
        if rows is None:
            per_row = 8 * self.nnz / max(self.n_rows, 1) + 8  # index, value; length, label
            rows = max(100, int(self.spool.budget / 4 / per_row))
        if self._loaded is not None:
            X, y = self._loaded
            for lo in range(0, X.shape[0], rows):
                yield X[lo:lo + rows], y[lo:lo + rows]
            return
        for s in range(self.n_shards):
            if not self.sizes[s]:
                continue
            key = f"{self.name}{s}"
            starts = np.zeros(self.sizes[s] + 1, dtype=np.int64)
            np.cumsum(self.spool.read(key, "lengths", 0, self.sizes[s]), out=starts[1:])
            for lo in range(0, self.sizes[s], rows):
                hi = min(lo + rows, self.sizes[s])
                a, b = int(starts[lo]), int(starts[hi])
                X = csr(starts[lo:hi + 1] - a, self.spool.read(key, "indices", a, b),
                        self.spool.read(key, "data", a, b), self.n_inputs)
                yield X, self.spool.read(key, "y", lo, hi)

    def epoch(self, rng: np.random.Generator, limit: int | None = None):
        """Yield (row order, CSR matrix, labels) per shard for one epoch: shards in a new
        order, rows shuffled inside each; ``limit`` rows in all at most.

        With one shard this draws exactly ``rng.permutation(n_rows)[:limit]``.
        """
        left = self.n_rows if limit is None else min(limit, self.n_rows)
        order = [0] if self.n_shards == 1 else rng.permutation(self.n_shards)
        for s in order:
            if left <= 0:
                break
            if not self.sizes[int(s)]:
                continue
            X, y = self.load(int(s))
            rows = rng.permutation(X.shape[0])[:left]
            left -= len(rows)
            yield rows, X, y


def csr(indptr, indices, data, n_inputs: int):
    """A scipy CSR matrix over the arrays as they are (no copy, no check of order)."""
    import scipy.sparse as sp

    return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_inputs))
