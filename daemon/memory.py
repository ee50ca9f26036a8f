"""Memory the process no longer uses, given back to the system.

A long-running daemon's RSS should follow what it holds, not what it once held: after a
burst (a similar-watchlist run, a large document) glibc keeps freed memory in its arenas,
one per thread that allocated, so the RSS of a daemon with many threads climbs over
hours and stays there. `release` asks glibc to return what is free (malloc_trim); where
the C library is not glibc it does nothing.
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
