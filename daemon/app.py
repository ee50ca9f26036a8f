"""What paperwatch does, once, for every way it is asked: the CLI's commands and the web
handlers call these (the daemon's jobs run the same steps apart, each in its own thread,
so that a training or a slow channel holds up nothing else)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from daemon.errors import ConfigError
from daemon.log import event
from daemon.outbox import DeliveryReport, decide_waiting, deliver
from daemon.query import Node
from daemon.runtime import Runtime
from daemon.search import search
from daemon.store import Store


def settle(
    store: Store, runtime: Runtime, now: Callable[[], datetime], warn: Callable[[str], None]
) -> DeliveryReport:
    """After papers arrived (an ingest, a poll): decide the papers whose abstract never
    came, score the similar-watchlists (a watchlist whose examples are missing is said,
    not fatal), and deliver what is due."""
    decide_waiting(store, runtime, now())
    try:
        runtime.similar.run(store, runtime.config, now())
    except ConfigError as exc:
        event("similar_not_scored", logging.WARNING, error=str(exc))
        warn(f"similar watchlists not scored: {exc}")
    return deliver(store, runtime.config, now())


def find_papers(
    store: Store, query: Node | None, since: date | None, limit: int | None
) -> tuple[list[dict[str, Any]], int, int]:
    """Stored papers, newest first; with a query, those it matches: (rows, how many match
    in all, how many more wait for their abstract to be decided)."""
    if query is None:
        return store.papers.listing(since=since, limit=limit), 0, 0
    ids, waiting = search(store, query)
    rows = store.papers.listing(ids=ids, since=since, limit=limit) if ids else []
    return rows, len(ids), waiting
