"""Memory the process no longer uses, given back to the system.

A long-running daemon's RSS should follow what it holds, not what it once held: after a
burst (a similar-watchlist run, a large document) glibc keeps freed memory in its arenas,
one per thread that allocated, so the RSS of a daemon with many threads climbs over
hours and stays there. `few_arenas` caps them at two (what MALLOC_ARENA_MAX=2 does, the
usual cure for a threaded Python server's creeping RSS) and `release` asks glibc to
return what is free (malloc_trim); where the C library is not glibc they do nothing.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    """The C library the process runs on (its own symbols: no search for a file)."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release() -> None:
    """Give the memory freed since back to the system (a few milliseconds)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


M_ARENA_MAX = -8  # glibc's mallopt parameter


def few_arenas() -> bool:
    """At most two malloc arenas for the process's threads: call before starting them.
    Whether the C library took it."""
    libc = _libc()
    return libc is not None and hasattr(libc, "mallopt") and libc.mallopt(M_ARENA_MAX, 2) == 1
