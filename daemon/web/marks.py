"""Read and saved marks: what a reader did with a paper on the page (the saved list is
what BibTeX and Zotero exports take)."""

from __future__ import annotations

from datetime import datetime

from daemon.core.clock import iso
from daemon.store import Store
from daemon.web.reader import find_paper


def mark_paper(
    store: Store, paper: object, read: bool | None, saved: bool | None, now: datetime
) -> tuple[int, bool, bool]:
    """Mark a paper read or unread, saved or not (None: as it is); returns (paper id,
    read, saved) as they are now."""
    with store.transaction():
        pid = find_paper(store, paper)
        store.marks.set(pid, iso(now), read, saved)
    return pid, *store.marks.of([pid]).get(pid, (False, False))
