"""Matches and their deliveries, written in the ingest transaction: what a watchlist
matched, and when each of its channels is due to get it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from apscheduler.triggers.cron import CronTrigger

from daemon.config import Config, Watchlist
from daemon.core.clock import iso
from daemon.core.log import event
from daemon.store import Store
from daemon.store.deliveries import Found

if TYPE_CHECKING:
    from daemon.ingest.document import ChangeHook
    from daemon.matching.watching import Watching


class Matching(Protocol):
    """What matching needs of the daemon's runtime: its configuration and matcher."""

    @property
    def config(self) -> Config: ...

    @property
    def matcher(self) -> Watching: ...


def due_at(watchlist: Watchlist, now: datetime, config: Config, channel: str = "") -> datetime:
    """When a new match of `watchlist` is sent to `channel`: now, or its next daily
    digest time (the channel's own, if `notify` gives it one)."""
    at = watchlist.deliver_time(channel)
    if at is None:
        return now
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=config.tz)
    fire: datetime = trigger.get_next_fire_time(None, now)
    return fire


def follow_delivery_times(store: Store, config: Config) -> int:
    """Deliveries waiting for their first try follow each watchlist's current `deliver`
    (an edit from a daily digest to immediate sends what waits now; to another time, at
    that time): their due time is made again from when they were matched. Returns how
    many moved."""
    by_name = {w.name: w for w in config.watchlists}
    moves = []
    for delivery, name, channel, created, due in store.deliveries.waiting_first_tries():
        watchlist = by_name.get(name)
        if watchlist is None:
            continue  # a watchlist taken out of the config: its alerts keep their time
        now = iso(due_at(watchlist, datetime.fromisoformat(created), config, channel))
        if now != due:
            moves.append((now, delivery))
    if moves:
        with store.transaction():
            store.deliveries.move_due(moves)
    return len(moves)


def match_hook(runtime: Matching) -> ChangeHook:
    """Record matches of changed papers, and their deliveries, in the ingest transaction
    (one statement for each, whatever the number of hits). A paper that matches only if
    its missing abstract allows is recorded as undecided instead."""

    def hook(store: Store, paper_ids: list[int], now: datetime) -> None:
        sure: list[Found] = []
        waiting: list[tuple[str, int]] = []
        for row, hits in runtime.matcher.match_rows(store.papers.by_ids(paper_ids)):
            for hit in hits:
                if hit.undecided:
                    waiting.append((hit.watchlist, row.id))
                else:
                    sure.append((hit.watchlist, row.id, json.dumps(hit.matched), 0, None, None))
        store.deliveries.set_undecided(paper_ids, waiting, iso(now))
        record_matches(store, runtime.config, sure, now)

    return hook


def record_matches(store: Store, config: Config, found: list[Found], now: datetime) -> None:
    """Matches and their deliveries."""
    stamp = iso(now)
    by_name = {w.name: w for w in config.watchlists}
    rows = []
    for match_id, name in store.deliveries.add_matches(found, stamp):
        watchlist = by_name[name]
        rows += [
            (match_id, channel, iso(due_at(watchlist, now, config, channel)))
            for channel in watchlist.notify
        ]
    store.deliveries.add_all_deliveries(rows, stamp)


def decide_waiting(store: Store, runtime: Matching, now: datetime) -> int:
    """Papers undecided for `undecided_after` (their abstract never came) are decided on
    what is known: a match then alerts marked title only. Returns how many were decided."""
    config = runtime.config
    with store.transaction():
        due = store.deliveries.undecided_due(iso(now - config.undecided_after))
        if not due:
            return 0
        waiting = set(due)
        found: list[Found] = []
        ids = sorted({pid for _, pid in due})
        for row, hits in runtime.matcher.match_rows(store.papers.by_ids(ids)):
            for hit in hits:
                if (hit.watchlist, row.id) in waiting:
                    matched = json.dumps(hit.matched)
                    title_only = int(hit.undecided)
                    found.append((hit.watchlist, row.id, matched, title_only, None, None))
        record_matches(store, config, found, now)
        store.deliveries.drop_undecided(due)
    event("undecided_decided", papers=len(due), alerts=len(found))
    return len(due)
