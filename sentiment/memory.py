"""How the process holds memory (glibc's allocator; elsewhere these do nothing).

numpy allocates few, large blocks; glibc's defaults suit programs of many small ones.
:func:`one_heap` and :func:`give_back_freed_memory` keep a threaded process's memory
close to what it uses; :func:`release_freed_memory` bounds a run whose rows outgrow memory.

Measured and not kept (a million reviews, ``train --test``, alternated pairs, ``perf``):
the kernel zeroing fresh pages (``clear_page_erms``) is 12-14% of that run's CPU, under the
merges' new tables and each chunk's n-gram arrays. Handing freed large arrays' pages to the
next ones through numpy's allocator hook (NEP 49, a cache of 256-512 MB) cut it to 3% but
cost more than it saved: its cuts and moves gave small pages (the spool's writes from them
2.5% -> 11% of CPU) and, kept on huge pages, its cache churned under the chunks' arrays:
68-78 s against 59-71 s in 5 pairs, up to 1,363 MB. Growing the last table's arrays into
the next merge's (a realloc keeps their pages) took the merges' zeroing away but not a
second of wall, at 1,258-1,317 MB against 1,179-1,219 MB. glibc's heap for arrays up to 512
MB (``GLIBC_TUNABLES`` mmap and trim thresholds) faulted a quarter of IMDB's pages, its
wall within noise, and the million reviews peaked at 1.57-1.62 GB
(MB as docs/scale.md counts them: 10^6 bytes).
"""
from __future__ import annotations

import functools


def one_heap() -> None:
    """Make glibc serve every thread from one heap (``M_ARENA_MAX`` 1).

    By default each thread that allocates gets a heap of its own, and memory freed in one
    is not reused by another: with pass 1 on two worker threads, IMDB's `train --test`
    peaked at ~1,040 MB instead of ~880 MB, no faster. numpy allocates few, large blocks,
    so sharing one heap costs no waiting. Elsewhere (not glibc) this does nothing.
    """
    _libc_call("mallopt", -8, 1)  # M_ARENA_MAX


def _libc_call(name: str, *args) -> None:
    """Call glibc's function ``name``; nothing where there is none."""
    function = getattr(_process_symbols(), name, None)
    if function is not None:
        function(*args)


@functools.lru_cache(maxsize=1)
def _process_symbols():
    """The symbols the process has loaded (the C library's among them), or None.

    Not ``ctypes.util.find_library("c")``: on Linux it runs ``/sbin/ldconfig -p`` in a
    child process at every call; a child made by vfork shares this process's memory
    until it execs, and a benchmark summing the memory of the process tree counted the
    whole process twice (a million reviews under --max-memory 80M: 497 MB for 250).
    """
    import ctypes

    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # TypeError: Windows wants a name
        return None


def give_back_freed_memory() -> None:
    """Give the memory freed so far back to the system (glibc's ``malloc_trim``): after
    pass 1, IMDB's process held ~300 MB of freed temporaries through the epochs."""
    _libc_call("malloc_trim", 0)


def release_freed_memory(max_memory: int) -> None:
    """Make glibc give freed arrays back to the system at once: those of 1 MB or more
    under a ``max_memory`` of 1 GiB or more, of up to 8 MB under smaller ones.

    glibc raises its mmap threshold as large blocks are freed, after which arrays of up to
    32 MB come from a heap that fragments and never shrinks: a chunk's temporaries then stay
    in the process. Fixing the threshold at 1 MB kept the peak of pass 1 on 500k reviews at
    782 MB instead of 1,098 MB; but every large array then costs fresh pages (IMDB's train
    took 9.7 s instead of 7.5 s), so it is done only once the rows outgrow memory. A small
    budget reads small chunks, whose arrays of a few MB each were then a mapping, a page
    fault per page and an unmapping (each a TLB flush on both cores): under --max-memory
    80M a million reviews took 77 s with 8 MB (median of 4 rounds, peak 233-253 MB) and 89 s
    with 1 MB (peak 204-211 MB): :func:`mmap_threshold`. Elsewhere (not glibc) this does
    nothing.
    """
    _libc_call("mallopt", -3, mmap_threshold(max_memory))  # M_MMAP_THRESHOLD


def mmap_threshold(max_memory: int) -> int:
    """:func:`release_freed_memory`'s threshold: 1 MB x 1 GiB / ``max_memory``, between
    1 and 8 MB."""
    return min(8 << 20, max(1 << 20, (1 << 50) // max(int(max_memory), 1)))
