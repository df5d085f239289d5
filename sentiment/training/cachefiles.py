"""The raw files of a :class:`~sentiment.training.spool.Spool`'s cache: arrays written in one system
call, a group read back in one, and how many files may stay open."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import SentimentError

#: groups put once go to shared files of about this size, each removed once all its groups
#: are popped: a file per group cost ~1 ms each to make and fill (5,772 files, 12 s of
#: opening, under --max-memory 80M at 1M reviews), and 2.1 GB written as 1,500 files took
#: 2-3x the time of one file
SEGMENT_BYTES = 256 << 20


class SharedFiles:
    """The files groups put once are appended to, one open for each kind of key (its name
    without digits: a chunk's text, discarded early, frees its files early), and how many
    groups each still holds."""

    def __init__(self):
        self.open: dict[str, tuple] = {}  # kind -> (path, file)
        self.live: dict[Path, int] = {}  # file -> its groups not yet forgotten
        self.made = 0

    def write(self, folder: Path, key: str, group: dict, arrays: dict) -> int:
        """Append a group's arrays (name -> list of pieces) in one write, each at an offset
        of a multiple of 64 bytes, noting where in ``group``; return the bytes written."""
        kind = key.rstrip("0123456789")
        if kind not in self.open:
            self.made += 1
            path = folder / f"part{self.made}.bin"
            self.open[kind] = (path, open(path, "wb", buffering=0))
            self.live[path] = 0
        path, f = self.open[kind]
        start = offset = f.tell()
        views = []
        for name, pieces in arrays.items():
            group[name] = (path, pieces[0].dtype, offset, sum(a.size for a in pieces))
            views.extend(pieces)
            offset += sum(a.nbytes for a in pieces)
            views.append(np.zeros(-offset % 64, np.uint8))  # the next array at 64 bytes
            offset += -offset % 64
        write_all_of(f, views)
        self.live[path] += bool(arrays)
        if offset >= SEGMENT_BYTES:  # the next group starts a new file
            f.close()
            del self.open[kind]
        return offset - start

    def holding(self, group: dict) -> Path | None:
        """The shared file that holds every array of ``group``, or None."""
        path = shared_file(group)
        return path if path in self.live else None

    def forget(self, path: Path) -> bool:
        """One group of ``path`` gone: whether it was its last (the file is closed, to
        be removed)."""
        self.live[path] -= 1
        if self.live[path]:
            return False
        del self.live[path]
        for kind, (held, f) in list(self.open.items()):
            if held == path:
                f.close()
                del self.open[kind]
        return True

    def close(self) -> None:
        for _, f in self.open.values():
            f.close()
        self.open.clear()
        self.live.clear()


def cannot_write(folder, exc: OSError) -> SentimentError:
    return SentimentError(f"{folder}: cannot write the cache ({exc.strerror or exc}); free "
                          "some space or choose another --cache-dir")


def write_all(f, a: np.ndarray) -> None:
    """Write ``a``'s bytes to the unbuffered file ``f`` (one system call, as a rule)."""
    view = memoryview(np.ascontiguousarray(a)).cast("B")
    while len(view):
        view = view[f.write(view):]


def write_all_of(f, arrays: list) -> None:
    """Write the bytes of ``arrays`` one after the other to the unbuffered file ``f``, in
    one system call as a rule (os.writev; one write each where it is missing)."""
    views = [memoryview(np.ascontiguousarray(a)).cast("B") for a in arrays if a.nbytes]
    if not hasattr(os, "writev"):
        for v in views:
            write_all(f, v)
        return
    fd = f.fileno()
    while views:
        done = os.writev(fd, views[:1024])  # IOV_MAX
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views and done:
            views[0] = views[0][done:]


def shared_file(group: dict) -> Path | None:
    """The one file every array of ``group`` is in (at offsets), or None."""
    paths = {held[0] if isinstance(held, tuple) and held[3] is not None else None
             for held in group.values()}
    return paths.pop() if len(paths) == 1 else None


def read_group(path: Path, group: dict) -> dict:
    """A group's arrays from ``path``, read in one go (views of one buffer)."""
    lo = min(held[2] for held in group.values())
    hi = max(held[2] + held[1].itemsize * held[3] for held in group.values())
    buf = np.empty(hi - lo, np.uint8)
    with open(path, "rb", buffering=0) as f:
        f.seek(lo)
        got = 0
        while got < len(buf):
            n = f.readinto(memoryview(buf)[got:])
            if not n:
                raise OSError(f"{path}: the cache file is shorter than written")
            got += n
    return {name: buf[off - lo:off - lo + dtype.itemsize * count].view(dtype)
            for name, (_, dtype, off, count) in group.items()}


def open_files_allowed() -> int:
    """How many cache files a spool keeps open: half the process's limit, at most 4,096."""
    try:
        import resource
    except ImportError:  # not POSIX
        return 256
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 4096 if soft == resource.RLIM_INFINITY else max(0, min(4096, soft // 2 - 32))
