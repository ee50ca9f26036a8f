"""What paperwatch does, once, for every way it is asked: the CLI's commands, the daemon's
jobs and the web handlers are thin adapters over these. The daemon runs the steps apart,
each in its own thread (a training or a slow channel holds up nothing else); the CLI runs
them in a row with `settle`."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.config import Config, Watchlist
from daemon.core.errors import ConfigError, ParseError
from daemon.core.log import event
from daemon.delivery.matches import decide_waiting, follow_delivery_times
from daemon.delivery.outbox import DeliveryReport, channels_to_pass, deliver_channel
from daemon.delivery.outbox import deliver as deliver_all
from daemon.ingest.document import Beat, ChangeHook, IngestResult, ingest_bytes
from daemon.language import latex, text
from daemon.language.query import Node
from daemon.matching.search import catch_up, forget_keys, search, search_page
from daemon.poller import PollContext, run_source
from daemon.runtime import Runtime
from daemon.similar.job import SimilarEngine
from daemon.sources import Memory, Outcome, Source
from daemon.store import Store
from daemon.store.rows import StoredPaper

if TYPE_CHECKING:
    from daemon.similar.model import Model


class FileFailed(Exception):
    """One file given to `ingest` could not be taken: the message says why; the others go
    on."""


def ingest_file(store: Store, path: Path, now: datetime, hook: ChangeHook | None) -> IngestResult:
    """Ingest one digest file named on the command line; its reference time (for digests
    that say "today") is the file's modification time."""
    try:
        if not path.is_file():
            raise FileFailed(f"{path.name}: not a regular file: skipped")
        data = path.read_bytes()
        ref = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return ingest_bytes(
            store,
            data,
            name=path.name,
            source="cli",
            location=str(path.resolve()),
            ref_time=ref,
            now=now,
            on_change=hook,
        )
    except ParseError as exc:
        raise FileFailed(str(exc)) from None
    except OSError as exc:
        raise FileFailed(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    except (FileFailed, sqlite3.Error):
        raise  # sqlite3: the database, not the file
    except Exception as exc:  # one file's failure: reported, and the others go on
        raise FileFailed(f"{path.name}: failed ({type(exc).__name__}: {exc})"[:300]) from None


def skip_scoring(store: Store, runtime: Runtime, newest: int, gained: list[int]) -> None:
    """Papers ingested without notifying are never scored later either: the similar-
    watchlists count them as seen."""
    similar = [w.name for w in runtime.config.watchlists if w.similar is not None]
    with store.transaction():
        if newest:
            store.similar.skip_to(similar, newest)
        store.similar.rescored(gained)


def poll(
    store: Store,
    runtime: Runtime,
    source: Source,
    memory: Memory,
    force: bool = False,
    beat: Beat | None = None,
) -> Outcome | None:
    """Poll one source now and record how it went; None if it failed or is backing off.
    `beat` is called as the poll makes progress (each paper prepared)."""
    ctx = PollContext(store, runtime, runtime.clock.now(), memory, beat=beat)
    return run_source(ctx, source, force=force)


def score_similar(store: Store, runtime: Runtime) -> int:
    """Train the similar-watchlists that are stale and score the papers they have not
    seen; the matches recorded."""
    return runtime.similar.run(store, runtime.config, runtime.clock.now())


def channels_due(store: Store, runtime: Runtime) -> list[str]:
    """Before a delivery pass: claims of senders that died are freed, papers whose abstract
    never came are decided; the channels that may have something to send."""
    decide_waiting(store, runtime, runtime.clock.now())
    return channels_to_pass(store, runtime)


def deliver(store: Store, runtime: Runtime, name: str) -> DeliveryReport:
    """One delivery pass over channel `name`."""
    return deliver_channel(store, runtime, runtime.clock.now(), name)


def settle(store: Store, runtime: Runtime, warn: Callable[[str], None]) -> DeliveryReport:
    """After papers arrived in a one-shot command (an ingest, a poll): score the similar-
    watchlists (one whose examples are missing is said, not fatal), then deliver what is
    due on every channel."""
    try:
        score_similar(store, runtime)
    except ConfigError as exc:
        event("similar_not_scored", logging.WARNING, error=str(exc))
        warn(f"similar watchlists not scored: {exc}")
    decide_waiting(store, runtime, runtime.clock.now())
    return deliver_all(store, runtime, runtime.clock.now())


@dataclass(frozen=True)
class Ranked:
    """A stored paper as a similar-watchlist's preview ranks it."""

    paper: StoredPaper
    score: float
    facts: dict[str, Any]  # percentile, the words/meaning split...
    terms: list[str]  # the words that weighed most
    vote: int  # the reader's 👍 (1) / 👎 (-1) on it, or 0


def preview_similar(
    store: Store, config: Config, watchlist: Watchlist, limit: int
) -> tuple[list[Ranked], Model, int]:
    """The stored papers a similar-watchlist scores highest (its model trained first if
    stale), its model (threshold and how it was set), and how many votes it was trained
    with."""
    engine = SimilarEngine(config.state_dir)
    ranked = engine.ranked(store, config, watchlist, limit)
    papers = {r.id: r for r in store.papers.listing(ids=[pid for pid, *_ in ranked])}
    votes = store.similar.votes(watchlist.name)
    found = [
        Ranked(papers[pid], score, facts, terms, votes.get(pid, 0))
        for pid, score, facts, terms in ranked
    ]
    return found, engine.models[watchlist.name], len(votes)


def follow_config_times(runtime: Runtime) -> None:
    """At start and after a reload: what waits for a digest follows the current
    `deliver` times (the config may have changed while the daemon was down)."""
    with Store(runtime.config.db_path) as store:
        moved = follow_delivery_times(store, runtime.config)
    if moved:
        event("deliveries_rescheduled", deliveries=moved)


def forget_caches(runtime: Runtime) -> None:
    """Between polls: the analysis's caches and the matcher's tables, filled by the words
    of the documents just read, are emptied, so a daemon at rest holds what it needs, not
    every word it has seen (its RSS stays flat however many new papers come)."""
    text.forget_caches()
    forget_keys()
    latex.forget_pieces()
    runtime.matcher.idle()


def find_papers(
    store: Store,
    query: Node | None,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
) -> tuple[list[StoredPaper], int]:
    """Stored papers, newest first; with a query, those it matches (and how many more wait
    for their abstract to be decided). With a limit only that page is verified."""
    if query is None:
        return store.papers.listing(since=since, until=until, limit=limit), 0
    if limit is not None:
        return search_page(store, query, limit, since, until)
    ids, waiting = search(store, query)
    rows = store.papers.listing(ids=ids, since=since, until=until) if ids else []
    return rows, waiting


def keep_index_current(db_path: Path, stop: threading.Event, every: float = 2.0) -> None:
    """Bring the search index up to date now, then whenever another process has written
    to the store (SQLite's data_version moves): `serve` beside a daemon elsewhere, or after
    an `ingest`, answers a search as fast as a daemon's own page does."""
    with Store(db_path) as store:
        seen = None
        while not stop.is_set():
            version = store.data_version()
            if version != seen:
                done = catch_up(store)
                if done:
                    event("search_indexed", papers=done)
                seen = store.data_version()
            stop.wait(every)
