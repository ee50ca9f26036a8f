"""The outbox: claimed, sent, retried. (Matches and their deliveries are written by
daemon.delivery.matches, in the ingest transaction.)

Rows are marked sent only after apprise reports success; a crash between the send and
the mark can at worst resend that one batch, never lose it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Protocol

from daemon.config import Config
from daemon.core.backoff import backoff
from daemon.core.clock import SYSTEM, Clock, iso
from daemon.core.log import event
from daemon.delivery.channels import Channel, Sent
from daemon.delivery.render import render
from daemon.store import Store
from daemon.store.rows import StoredDelivery


class Sending(Protocol):
    """What a delivery pass needs of the daemon's runtime: its configuration and the
    channels built from it."""

    @property
    def config(self) -> Config: ...

    @property
    def channels(self) -> Mapping[str, Channel]: ...


FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
CLAIM_MARGIN = timedelta(minutes=2)  # a claim outlives its sends by this; then it lapses


@dataclass
class DeliveryReport:
    """What one delivery pass did, counted in deliveries (messages: batches sent or tried)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    messages: int = 0


def deliver(
    store: Store, runtime: Sending, now: datetime, only: Iterable[int] | None = None
) -> DeliveryReport:
    """Send what is due on every channel, each channel in its own thread with its own
    connection, so a hung service delays only itself."""
    names = channels_to_pass(store, runtime)
    ids = None if only is None else list(only)
    if len(names) <= 1:
        return sum_reports(deliver_channel(store, runtime, now, name, ids) for name in names)

    def one(name: str) -> DeliveryReport:
        with Store(store.path) as own:
            return deliver_channel(own, runtime, now, name, ids)

    with ThreadPoolExecutor(len(names), thread_name_prefix="deliver") as pool:
        return sum_reports(pool.map(one, sorted(names)))


def channels_to_pass(store: Store, runtime: Sending) -> list[str]:
    """The channels a delivery pass looks at (configured, or with rows left from an
    earlier configuration), after freeing the claims of senders that died."""
    release_orphaned_claims(store)
    return sorted(set(runtime.channels) | set(store.deliveries.channels_with_work()))


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
    store: Store, runtime: Sending, now: datetime, channel_name: str, only: list[int] | None = None
) -> DeliveryReport:
    """Claim and send one channel's due deliveries: one message per watchlist and batch.

    The claim (owner and expiry, one UPDATE) keeps every other process, the CLI's `alerts
    retry` included, from sending the same rows while this one works on them."""
    report = DeliveryReport()
    channel = runtime.channels.get(channel_name)
    owner = claim_owner()
    timeout = channel.timeout if channel else 0.0
    window = timedelta(seconds=2 * timeout) + CLAIM_MARGIN
    with store.transaction():
        rows = store.deliveries.claim(owner, iso(now), iso(now + window), channel_name, only)
    if not rows:
        return report
    with ClaimKeeper(store.path, owner, now, window):
        _send_claimed(store, runtime, now, channel_name, rows, owner, report)
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
    runtime: Sending,
    now: datetime,
    channel_name: str,
    rows: list[StoredDelivery],
    owner: str,
    report: DeliveryReport,
) -> None:
    """One digest per watchlist of the claimed rows, however many (a service with a size
    limit gets it in numbered parts); each recorded as sent or failed as soon as it is;
    what is left is released at the end."""
    channel = runtime.channels.get(channel_name)
    groups: dict[str, list[StoredDelivery]] = {}
    for row in rows:
        groups.setdefault(row.match.watchlist, []).append(row)
    try:
        with channel.session() if channel is not None else contextlib.nullcontext():
            _send_groups(store, runtime, now, channel_name, groups, report)
    finally:
        with store.transaction():
            store.deliveries.release(owner)


def _send_groups(
    store: Store,
    runtime: Sending,
    now: datetime,
    channel_name: str,
    groups: dict[str, list[StoredDelivery]],
    report: DeliveryReport,
) -> None:
    channel = runtime.channels.get(channel_name)
    for watchlist, batch in groups.items():
        if channel is None:
            gone = f"channel {channel_name!r} is not in the configuration"
            sent = Sent(gone, frozenset(range(len(batch))))
        else:
            matches = [d.match for d in batch]
            configured = runtime.config.watchlist(watchlist)
            query = configured.source if configured is not None else ""
            message = partial(render, watchlist, query, matches)
            sent = channel.deliver(watchlist, matches, message)
        report.messages += 1
        # the papers the first parts of a digest carried were sent: only the rest retry
        reached = [row for i, row in enumerate(batch) if i not in sent.unsent]
        _record(store, reached, now, None, runtime.config.give_up_after, report)
        missed = [row for i, row in enumerate(batch) if i in sent.unsent]
        _record(store, missed, now, sent.error, runtime.config.give_up_after, report)
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
    store: Store, runtime: Sending, now: datetime, pending_too: bool = False
) -> DeliveryReport:
    """`alerts retry`: every failed or dead delivery, now; a pending one (a daily digest
    before its time) keeps its time unless `pending_too` (`--now`)."""
    ids = store.deliveries.retryable(pending_too)
    with store.transaction():
        store.deliveries.revive_dead(iso(now))
    return deliver(store, runtime, now, ids) if ids else DeliveryReport()
