"""Where encoded rows wait between passes: in memory up to a budget, then on disk.

A :class:`Spool` keeps named groups of arrays, each group growing by appends. While they fit
its budget they stay in memory; past it, every group goes to raw files in a temporary
folder (one file per array of a group, appended to, read back memory-mapped), removed when
the spool closes, on success, failure or Ctrl-C alike. :class:`ShardedRows` is the
training set the trainer reads: CSR rows with their labels, scattered into shards that an
epoch visits in a new order, shuffling the rows inside each. A small file is one shard in
memory, and an epoch is then exactly one permutation of all rows.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .errors import SentimentError


class Spool:
    """Groups of arrays by key, in memory up to ``budget`` bytes, then on disk.

    ``folder`` is where the temporary cache folder is made (default: the system's).
    """

    def __init__(self, budget: int, folder: str | os.PathLike | None = None):
        self.budget, self.parent = int(budget), folder
        self.in_memory = 0  # bytes held in memory
        self.on_disk = 0  # bytes in the cache folder now
        self.peak_on_disk = 0
        self.dir: Path | None = None
        self._items: dict[str, dict] = {}  # key -> name -> list of arrays, or (path, dtype)

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

    def put(self, key: str, arrays: dict) -> None:
        """Keep ``arrays`` (name -> ndarray) under ``key``, after what it holds already."""
        size = sum(a.nbytes for a in arrays.values())
        if self.dir is None and self.in_memory + size > self.budget:
            self._spill()
        group = self._items.setdefault(key, {})
        if self.dir is None:
            for name, a in arrays.items():
                group.setdefault(name, []).append(a)
            self.in_memory += size
        else:
            for name, a in arrays.items():
                self._append(key, group, name, a)

    def get(self, key: str) -> dict:
        """The arrays under ``key`` (memory-mapped, read-only, if they are on disk)."""
        out = {}
        for name, held in self._items[key].items():
            if isinstance(held, list):
                out[name] = held[0] if len(held) == 1 else np.concatenate(held)
            elif held[0].stat().st_size == 0:
                out[name] = np.zeros(0, dtype=held[1])
            else:
                out[name] = np.memmap(held[0], dtype=held[1], mode="r")
        return out

    def read(self, key: str, name: str, start: int, stop: int) -> np.ndarray:
        """Elements ``start:stop`` of one array, read into memory (from disk, only those:
        no mapping of the whole file that would stay resident)."""
        held = self._items[key][name]
        if isinstance(held, list):
            whole = held[0] if len(held) == 1 else np.concatenate(held)
            return whole[start:stop]
        path, dtype = held
        with open(path, "rb") as f:
            f.seek(start * dtype.itemsize)
            return np.fromfile(f, dtype=dtype, count=stop - start)

    def pop(self, key: str) -> dict:
        """The arrays under ``key``, read into memory; the spool forgets them."""
        group = self._items.pop(key)
        out = {}
        for name, held in group.items():
            if isinstance(held, list):
                out[name] = held[0] if len(held) == 1 else np.concatenate(held)
                self.in_memory -= sum(a.nbytes for a in held)
            else:
                out[name] = np.fromfile(held[0], dtype=held[1])
                self.on_disk -= held[0].stat().st_size
                held[0].unlink()
        return out

    def close(self) -> None:
        """Forget everything and remove the cache folder, if one was made."""
        self._items.clear()
        self.in_memory = self.on_disk = 0
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
            for name, held in list(group.items()):
                group[name] = None
                for a in held:
                    self._append(key, group, name, a)
        self.in_memory = 0

    def _append(self, key: str, group: dict, name: str, a: np.ndarray) -> None:
        if group.get(name) is None:
            group[name] = (self.dir / f"{key}.{name}.bin", a.dtype)
        path = group[name][0]
        try:
            with open(path, "ab") as f:
                np.ascontiguousarray(a).tofile(f)
        except OSError as exc:
            raise SentimentError(f"{self.dir}: cannot write the cache "
                                 f"({exc.strerror or exc}); free some space or choose "
                                 "another --cache-dir") from None
        self.on_disk += a.nbytes
        self.peak_on_disk = max(self.peak_on_disk, self.on_disk)


class ShardedRows:
    """CSR rows and labels in ``n_shards`` shards kept by a :class:`Spool`."""

    def __init__(self, spool: Spool, n_shards: int, n_inputs: int, name: str = "shard"):
        self.spool, self.n_inputs, self.name = spool, int(n_inputs), name
        self.sizes = [0] * max(1, n_shards)  # rows per shard
        self.n_rows = self.nnz = 0
        self.binary = True  # every value is 1 (optimizers then skip multiplications)
        self._loaded: tuple | None = None  # the one shard of a small set, kept loaded

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
        self.spool.put(f"{self.name}{shard}", {
            "lengths": np.diff(indptr).astype(np.int32), "indices": indices,
            "data": data, "y": y})
        self.sizes[shard] += len(y)
        self.n_rows += len(y)
        self.nnz += len(indices)
        if self.binary and len(data):
            self.binary = bool(data[0] == 1 and data.min() == 1 == data.max())
        self._loaded = None

    def scatter(self, rng: np.random.Generator, indptr, indices, data, y) -> None:
        """Add rows to shards drawn at random (seeded): a file sorted by label still gives
        every shard a fair sample of both."""
        if self.n_shards == 1:
            self.add(0, indptr, indices, data, y)
            return
        shard = rng.integers(self.n_shards, size=len(y))
        order = np.argsort(shard, kind="stable")
        bounds = np.searchsorted(shard[order], np.arange(self.n_shards + 1))
        X = csr(indptr, indices, data, self.n_inputs)[order]
        for s in range(self.n_shards):
            lo, hi = bounds[s], bounds[s + 1]
            if hi > lo:
                part = X[lo:hi]
                self.add(s, part.indptr, part.indices, part.data, y[order[lo:hi]])

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

    def parts(self, rows: int = 20_000):
        """Every row in order, ``rows`` at a time: (CSR matrix, labels). Memory: one part."""
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
