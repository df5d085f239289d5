"""Where encoded rows wait between passes: in memory up to a budget, then on disk.

A :class:`Spool` keeps named groups of arrays in memory while they fit its budget; past it,
everything goes to ``.npy`` files in a temporary folder (read back memory-mapped), removed
when the spool closes, on success, failure or Ctrl-C alike. :class:`ShardedRows` is the
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


class Spool:
    """Groups of arrays by key, in memory up to ``budget`` bytes, then on disk.

    ``folder`` is where the temporary cache folder is made (default: the system's).
    """

    def __init__(self, budget: int, folder: str | os.PathLike | None = None):
        self.budget, self.parent = int(budget), folder
        self.in_memory = 0  # bytes held in memory
        self.on_disk = 0  # bytes written to the cache folder
        self.dir: Path | None = None
        self._items: dict = {}

    def __repr__(self) -> str:
        where = f"disk {self.dir}" if self.dir else "memory"
        return (f"Spool({len(self._items)} groups, {where}, "
                f"{self.in_memory + self.on_disk:,} bytes)")

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def put(self, key: str, arrays: dict) -> None:
        """Keep ``arrays`` (name -> ndarray) under ``key``."""
        size = sum(a.nbytes for a in arrays.values())
        if self.dir is None and self.in_memory + size > self.budget:
            self._spill()
        if self.dir is None:
            self._items[key] = arrays
            self.in_memory += size
        else:
            self._items[key] = self._write(key, arrays)

    def keys(self) -> list[str]:
        return list(self._items)

    def get(self, key: str) -> dict:
        """The arrays under ``key`` (memory-mapped, read-only, if they are on disk)."""
        item = self._items[key]
        if isinstance(item, dict):
            return item
        return {name: np.load(path, mmap_mode="r") for name, path in item}

    def pop(self, key: str) -> dict:
        """The arrays under ``key``, read into memory; the spool forgets them."""
        item = self._items.pop(key)
        if isinstance(item, dict):
            self.in_memory -= sum(a.nbytes for a in item.values())
            return item
        arrays = {name: np.load(path) for name, path in item}
        for _, path in item:
            path.unlink(missing_ok=True)
        return arrays

    def close(self) -> None:
        """Forget everything and remove the cache folder, if one was made."""
        self._items.clear()
        self.in_memory = 0
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _spill(self) -> None:
        """Move every group to disk; from now on, new groups go there too."""
        self.dir = Path(tempfile.mkdtemp(prefix="sentiment-cache-", dir=self.parent))
        for key, item in list(self._items.items()):
            if isinstance(item, dict):
                self._items[key] = self._write(key, item)
        self.in_memory = 0

    def _write(self, key: str, arrays: dict) -> list:
        files = []
        for name, a in arrays.items():
            path = self.dir / f"{key}.{name}.npy"
            np.save(path, np.ascontiguousarray(a))
            self.on_disk += a.nbytes
            files.append((name, path))
        return files


class ShardedRows:
    """CSR rows and labels in ``n_shards`` shards kept by a :class:`Spool`."""

    def __init__(self, spool: Spool, n_shards: int, n_inputs: int, name: str = "shard"):
        self.spool, self.n_inputs, self.name = spool, int(n_inputs), name
        self.pieces: list[list[str]] = [[] for _ in range(max(1, n_shards))]
        self.n_rows = self.nnz = 0
        self.binary = True  # every value is 1 (optimizers then skip multiplications)
        self._loaded: tuple | None = None  # the one shard of a small set, kept loaded

    def __repr__(self) -> str:
        return (f"ShardedRows({self.n_rows:,} rows, {len(self.pieces)} shards, "
                f"{self.n_inputs:,} inputs)")

    @property
    def n_shards(self) -> int:
        return len(self.pieces)

    @classmethod
    def from_matrix(cls, X, y) -> "ShardedRows":
        """One shard in memory holding CSR ``X`` and labels ``y`` as they are."""
        rows = cls(Spool(1 << 62), 1, X.shape[1])
        rows.add(0, X.indptr, X.indices, X.data, np.asarray(y, dtype=np.float32))
        rows._loaded = (X, rows.spool.get(rows.pieces[0][0])["y"])
        return rows

    def add(self, shard: int, indptr, indices, data, y) -> None:
        """Append CSR rows (``indptr`` starting at 0) with labels ``y`` to ``shard``."""
        key = f"{self.name}{shard}-{len(self.pieces[shard])}"
        self.spool.put(key, {"indptr": indptr, "indices": indices, "data": data, "y": y})
        self.pieces[shard].append(key)
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
        """(CSR matrix, labels) of one shard, its pieces joined."""
        if self._loaded is not None and shard == 0:
            return self._loaded
        parts = [self.spool.get(key) for key in self.pieces[shard]]
        if len(parts) == 1:
            p = parts[0]
            X, y = csr(p["indptr"], p["indices"], p["data"], self.n_inputs), p["y"]
        else:
            import scipy.sparse as sp

            X = sp.vstack([csr(p["indptr"], p["indices"], p["data"], self.n_inputs)
                           for p in parts], format="csr")
            y = np.concatenate([p["y"] for p in parts])
        if self.n_shards == 1 and self.spool.dir is None:
            self._loaded = (X, y)  # one shard in memory: joined once, kept
        return X, y

    def parts(self):
        """Every piece as it was added, in order: (CSR matrix, labels). Memory: one piece."""
        if self._loaded is not None:
            yield self._loaded
            return
        for keys in self.pieces:
            for key in keys:
                p = self.spool.get(key)
                yield csr(p["indptr"], p["indices"], p["data"], self.n_inputs), p["y"]

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
            X, y = self.load(int(s))
            rows = rng.permutation(X.shape[0])[:left]
            left -= len(rows)
            yield rows, X, y


def csr(indptr, indices, data, n_inputs: int):
    """A scipy CSR matrix over the arrays as they are (no copy, no check of order)."""
    import scipy.sparse as sp

    return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_inputs))
