"""Matches and the outbox: written in the ingest transaction, delivered with retries.

Rows are marked sent only after apprise reports success; a crash between the send and
the mark can at worst resend that one batch, never lose it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.triggers.cron import CronTrigger

from daemon.backoff import backoff
from daemon.channels import Sent
from daemon.clock import SYSTEM, Clock, iso
from daemon.config import Config, Watchlist
from daemon.log import event
from daemon.render import render
from daemon.store import Store
from daemon.store.deliveries import Found
from daemon.store.rows import StoredDelivery

if TYPE_CHECKING:
    from daemon.ingest import ChangeHook
    from daemon.watching import Watching


class Matching(Protocol):
    """What matching needs of the daemon's runtime: its configuration and matcher."""

    @property
    def config(self) -> Config: ...

    @property
    def matcher(self) -> Watching: ...


FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
CLAIM_MARGIN = timedelta(minutes=2)  # a claim outlives its sends by this; then it lapses


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


@dataclass
class DeliveryReport:
    """What one delivery pass did, counted in deliveries (messages: batches sent or tried)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    messages: int = 0


def deliver(
    store: Store, config: Config, now: datetime, only: Iterable[int] | None = None
) -> DeliveryReport:
    """Send what is due on every channel, each channel in its own thread with its own
    connection, so a hung service delays only itself."""
    names = channels_to_pass(store, config)
    ids = None if only is None else list(only)
    if len(names) <= 1:
        return sum_reports(deliver_channel(store, config, now, name, ids) for name in names)

    def one(name: str) -> DeliveryReport:
        with Store(store.path) as own:
            return deliver_channel(own, config, now, name, ids)

    with ThreadPoolExecutor(len(names), thread_name_prefix="deliver") as pool:
        return sum_reports(pool.map(one, sorted(names)))


def channels_to_pass(store: Store, config: Config) -> list[str]:
    """The channels a delivery pass looks at (configured, or with rows left from an
    earlier configuration), after freeing the claims of senders that died."""
    release_orphaned_claims(store)
    return sorted(set(config.channels) | set(store.deliveries.channels_with_work()))


def sum_reports(reports: Iterable[DeliveryReport]) -> DeliveryReport:
    total = DeliveryReport()
    for r in reports:
        total.sent += r.sent
        total.failed += r.failed
        total.dead += r.dead
        total.messages += r.messages
    return total


def claim_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def release_orphaned_claims(store: Store) -> int:
    """Release claims of processes on this host that no longer run (killed mid-send), so
    their deliveries go out now rather than when the claims lapse; how many owners."""
    host = socket.gethostname()
    released = 0
    for owner in store.deliveries.claim_owners():
        owner_host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if owner_host != host or not pid.isdigit() or _running(int(pid)):
            continue
        with store.transaction():
            store.deliveries.release(owner)
        released += 1
    return released


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def deliver_channel(
    store: Store, config: Config, now: datetime, channel_name: str, only: list[int] | None = None
) -> DeliveryReport:
    """Claim and send one channel's due deliveries: one message per watchlist and batch.

    The claim (owner and expiry, one UPDATE) keeps every other process, the CLI's `alerts
    retry` included, from sending the same rows while this one works on them."""
    report = DeliveryReport()
    channel = config.channels.get(channel_name)
    owner = claim_owner()
    timeout = channel.timeout if channel else 0.0
    window = timedelta(seconds=2 * timeout) + CLAIM_MARGIN
    with store.transaction():
        rows = store.deliveries.claim(owner, iso(now), iso(now + window), channel_name, only)
    if not rows:
        return report
    with ClaimKeeper(store.path, owner, now, window):
        _send_claimed(store, config, now, channel_name, rows, owner, report)
    return report


class ClaimKeeper(threading.Thread):
    """Renews `owner`'s claims while it sends, from a connection of its own: a service
    that answers a byte at a time may keep one send alive longer than any fixed claim,
    and a lapsed claim would let another process send the same papers again. If this
    process dies, the renewals stop and the claims lapse (or are released at once)."""

    def __init__(
        self, path: Path, owner: str, now: datetime, window: timedelta, clock: Clock = SYSTEM
    ) -> None:
        super().__init__(name=f"claim:{owner}", daemon=True)
        self.path, self.owner, self.now, self.window = path, owner, now, window
        self.clock = clock
        self.started_at = clock.monotonic()
        self.done = threading.Event()

    def __enter__(self) -> ClaimKeeper:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()

    def run(self) -> None:
        every = max(0.05, self.window.total_seconds() / 4)
        with Store(self.path) as store:
            while not self.done.wait(every):
                elapsed = timedelta(seconds=self.clock.monotonic() - self.started_at)
                until = iso(self.now + elapsed + self.window)
                with store.transaction():
                    store.deliveries.extend_claim(self.owner, until)


def _send_claimed(
    store: Store,
    config: Config,
    now: datetime,
    channel_name: str,
    rows: list[StoredDelivery],
    owner: str,
    report: DeliveryReport,
) -> None:
    """One digest per watchlist of the claimed rows, however many (a service with a size
    limit gets it in numbered parts); each recorded as sent or failed as soon as it is;
    what is left is released at the end."""
    channel = config.channels.get(channel_name)
    groups: dict[str, list[StoredDelivery]] = {}
    for row in rows:
        groups.setdefault(row.match.watchlist, []).append(row)
    try:
        with channel.session() if channel is not None else contextlib.nullcontext():
            _send_groups(store, config, now, channel_name, groups, report)
    finally:
        with store.transaction():
            store.deliveries.release(owner)


def _send_groups(
    store: Store,
    config: Config,
    now: datetime,
    channel_name: str,
    groups: dict[str, list[StoredDelivery]],
    report: DeliveryReport,
) -> None:
    channel = config.channels.get(channel_name)
    for watchlist, batch in groups.items():
        if channel is None:
            gone = f"channel {channel_name!r} is not in the configuration"
            sent = Sent(gone, frozenset(range(len(batch))))
        else:
            matches = [d.match for d in batch]
            configured = config.watchlist(watchlist)
            query = configured.source if configured is not None else ""
            message = partial(render, watchlist, query, matches)
            sent = channel.deliver(watchlist, matches, message)
        report.messages += 1
        # the papers the first parts of a digest carried were sent: only the rest retry
        reached = [row for i, row in enumerate(batch) if i not in sent.unsent]
        _record(store, reached, now, None, config.give_up_after, report)
        missed = [row for i, row in enumerate(batch) if i in sent.unsent]
        _record(store, missed, now, sent.error, config.give_up_after, report)
        event(
            "deliver",
            logging.INFO if sent.error is None else logging.WARNING,
            watchlist=watchlist,
            channel=channel_name,
            papers=len(batch),
            sent=len(reached),
            result="sent" if sent.error is None else "failed",
            error=sent.error,
        )


def _record(
    store: Store,
    batch: list[StoredDelivery],
    now: datetime,
    error: str | None,
    give_up_after: timedelta,
    report: DeliveryReport,
) -> None:
    """Mark a batch sent, or failed with its next try (dead after `give_up_after`)."""
    if not batch:
        return
    with store.transaction():
        if error is None:
            store.deliveries.mark_sent([row.id for row in batch], iso(now))
            report.sent += len(batch)
            return
        for row in batch:
            attempts = row.attempts + 1
            dead = now - datetime.fromisoformat(row.created_at) >= give_up_after
            store.deliveries.mark_failed(
                row.id,
                dead=dead,
                attempts=attempts,
                due=iso(now + backoff(FIRST_RETRY, attempts, MAX_RETRY)),
                error=error,
            )
            if dead:
                report.dead += 1
                event(
                    "dead",
                    logging.WARNING,
                    delivery=row.id,
                    watchlist=row.match.watchlist,
                    channel=row.channel,
                    attempts=attempts,
                    error=error,
                )
            else:
                report.failed += 1


def retry_all(
    store: Store, config: Config, now: datetime, pending_too: bool = False
) -> DeliveryReport:
    """`alerts retry`: every failed or dead delivery, now; a pending one (a daily digest
    before its time) keeps its time unless `pending_too` (`--now`)."""
    ids = store.deliveries.retryable(pending_too)
    with store.transaction():
        store.deliveries.revive_dead(iso(now))
    return deliver(store, config, now, ids) if ids else DeliveryReport()


def alerts(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Deliveries with their match, as `paperwatch alerts --json` shows them."""
    return [
        {
            "id": d.id,
            "watchlist": d.match.watchlist,
            "paper_id": d.match.paper.id,
            "title": d.match.paper.title,
            "channel": d.channel,
            "status": d.status,
            "attempts": d.attempts,
            "matched": [{"term": t, "field": f} for t, f in d.match.matched],
            "title_only": int(d.match.title_only),
            "created_at": d.match.created_at,
            "sent_at": d.sent_at,
            "due_at": d.due_at,
            "last_error": d.last_error,
            "next_try_at": d.due_at if d.status in ("pending", "failed") else None,
        }
        for d in store.deliveries.listing(status)
    ]
