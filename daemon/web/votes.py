"""👍/👎 on a similar-watchlist's paper: one more example, or a negative.

The web page, `POST /api/feedback` and `paperwatch vote` all record votes here. A vote
changes the watchlist's training set, so its model is stale: the daemon's similar job
trains it again in the background (the web asks for that at once), and `preview`, which
refreshes stale models, shows the effect.
"""

from __future__ import annotations

from datetime import datetime

from daemon.config import Config
from daemon.core.clock import iso
from daemon.store import Store
from daemon.web.reader import FeedbackError, find_paper

VOTES = {"up": 1, "down": -1, "none": 0}


def parse_vote(raw: object) -> int:
    """ "up", "down" or "none" (take a vote back); 1, -1 or 0 as well."""
    if isinstance(raw, str) and raw.strip().lower() in VOTES:
        return VOTES[raw.strip().lower()]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in (1, -1, 0):
        return raw
    raise FeedbackError(f'vote: "up", "down" or "none", got {raw!r}')


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
