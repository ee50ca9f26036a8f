"""What a reader does with a paper on the page: 👍/👎 on a similar-watchlist's paper (one
more example, or a negative), read and saved marks, "add to Zotero".

The web page, `POST /api/feedback` and `paperwatch vote` all record votes here. A vote
changes the watchlist's training set, so its model is stale: the daemon's similar job
trains it again in the background (the web asks for that at once), and `preview`, which
refreshes stale models, shows the effect.
"""

from __future__ import annotations

from datetime import datetime

from daemon.clock import iso
from daemon.config import Config
from daemon.errors import PaperwatchError
from daemon.models import arxiv_id
from daemon.store import Store
from daemon.zotero import ZoteroSettings, add_to_zotero

VOTES = {"up": 1, "down": -1, "none": 0}


class FeedbackError(PaperwatchError):
    """A vote that cannot be recorded: which part is wrong, and what is expected."""


def parse_vote(raw: object) -> int:
    """ "up", "down" or "none" (take a vote back); 1, -1 or 0 as well."""
    if isinstance(raw, str) and raw.strip().lower() in VOTES:
        return VOTES[raw.strip().lower()]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in (1, -1, 0):
        return raw
    raise FeedbackError(f'vote: "up", "down" or "none", got {raw!r}')


def find_paper(store: Store, raw: object) -> int:
    """A stored paper by its id (as the API shows it) or its arXiv id."""
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if text.isdigit() and next(store.papers.by_ids([int(text)]), None) is not None:
        return int(text)
    ident = arxiv_id(text) if text else None
    found = store.papers.find(ident, "") if ident else None
    if found is None:
        raise FeedbackError(f"paper: no stored paper has the id {raw!r}")
    return found


def record_vote(
    store: Store, config: Config, watchlist: str, paper: object, vote: object, now: datetime
) -> tuple[int, int]:
    """Record a vote; returns (paper id, vote)."""
    similar = [w.name for w in config.watchlists if w.similar is not None]
    if watchlist not in similar:
        raise FeedbackError(
            f"watchlist: {watchlist!r} is not a similar-watchlist (similar ones: {similar})"
        )
    value = parse_vote(vote)
    with store.transaction():
        pid = find_paper(store, paper)
        store.similar.vote(watchlist, pid, value, iso(now))
    return pid, value


def mark_paper(
    store: Store, paper: object, read: bool | None, saved: bool | None, now: datetime
) -> tuple[int, bool, bool]:
    """Mark a paper read or unread, saved or not (None: as it is); returns (paper id,
    read, saved) as they are now."""
    with store.transaction():
        pid = find_paper(store, paper)
        store.marks.set(pid, iso(now), read, saved)
    return pid, *store.marks.of([pid]).get(pid, (False, False))


def save_to_zotero(store: Store, settings: ZoteroSettings, paper: object) -> tuple[int, str | None]:
    """Add a stored paper to the Zotero library; (paper id, None or why not)."""
    pid = find_paper(store, paper)
    [found] = store.papers.listing(ids=[pid])
    return pid, add_to_zotero(settings, found)
