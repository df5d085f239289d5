"""How the process holds memory (glibc's allocator; elsewhere these do nothing).

numpy allocates few, large blocks; glibc's defaults suit programs of many small ones.
:func:`one_heap` and :func:`give_back_freed_memory` keep a threaded process's memory
close to what it uses; :func:`release_freed_memory` bounds a run whose rows outgrow memory.
"""
from __future__ import annotations


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
    import ctypes
    import ctypes.util

    try:
        getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)(*args)
    except (OSError, AttributeError):
        pass


def give_back_freed_memory() -> None:
    """Give the memory freed so far back to the system (glibc's ``malloc_trim``): after
    pass 1, IMDB's process held ~300 MB of freed temporaries through the epochs."""
    _libc_call("malloc_trim", 0)


def release_freed_memory() -> None:
    """Make glibc give freed arrays of 1 MB or more back to the system at once.

    glibc raises its mmap threshold as large blocks are freed, after which arrays of up to
    32 MB come from a heap that fragments and never shrinks: a chunk's temporaries then stay
    in the process. Fixing the threshold kept the peak of pass 1 on 500k reviews at 782 MB
    instead of 1,098 MB; but every large array then costs fresh pages (IMDB's train took
    9.7 s instead of 7.5 s), so it is done only once the rows outgrow memory. Elsewhere
    (not glibc) this does nothing.
    """
    _libc_call("mallopt", -3, 1 << 20)  # M_MMAP_THRESHOLD
