"""Matches and the outbox: written in the ingest transaction, delivered with retries.

Rows are marked sent only after apprise reports success; a crash between the send and
the mark can at worst resend that one batch, never lose it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from daemon.config import Config, Watchlist
from daemon.log import event
from daemon.match import Matcher, Rule
from daemon.render import render
from daemon.store import ChangeHook, Store, iso

BATCH_PAPERS = 25  # papers per message; apprise splits further by the service's size limit
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
STATUSES = ("pending", "failed", "sent", "dead")


def matcher_for(config: Config) -> Matcher:
    return Matcher(Rule(w.name, w.query) for w in config.watchlists)


def next_daily(at: datetime, watchlist: Watchlist, tz: ZoneInfo | None) -> datetime:
    """The next time of day `watchlist.deliver_at` (local to `tz`) at or after `at`."""
    assert watchlist.deliver_at is not None
    local = at.astimezone(tz) if tz else at.astimezone()
    slot = local.replace(
        hour=watchlist.deliver_at.hour, minute=watchlist.deliver_at.minute, second=0, microsecond=0
    )
    if slot < local:
        slot = (local + timedelta(days=1)).replace(
            hour=watchlist.deliver_at.hour, minute=watchlist.deliver_at.minute
        )
    return slot


def match_hook(config: Config, matcher: Matcher | None = None) -> ChangeHook:
    """Record matches of changed papers, and their deliveries, in the ingest transaction."""
    matcher = matcher or matcher_for(config)
    by_name = {w.name: w for w in config.watchlists}

    def hook(conn: sqlite3.Connection, paper_ids: list[int], now: datetime) -> None:
        stamp = iso(now)
        for chunk in range(0, len(paper_ids), 500):
            ids = paper_ids[chunk : chunk + 500]
            rows = conn.execute(
                f"SELECT id, title, abstract, authors FROM papers WHERE id IN "
                f"({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
            for row in rows:
                for hit in matcher.match_row(dict(row)):
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO matches (watchlist, paper_id, matched, "
                        "created_at) VALUES (?, ?, ?, ?)",
                        (hit.watchlist, row["id"], json.dumps(hit.matched), stamp),
                    )
                    if not cur.rowcount:
                        continue  # this watchlist already alerted on this paper
                    wl = by_name[hit.watchlist]
                    due = next_daily(now, wl, config.timezone) if wl.deliver_at else now
                    conn.executemany(
                        "INSERT INTO deliveries (match_id, channel, due_at, created_at) "
                        "VALUES (?, ?, ?, ?)",
                        [(cur.lastrowid, ch, iso(due), stamp) for ch in wl.notify],
                    )

    return hook


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    messages: int = 0


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), MAX_RETRY)


def _due(store: Store, now: datetime, ids: Iterable[int] | None) -> list[dict[str, Any]]:
    sql = (
        "SELECT d.id, d.channel, d.attempts, d.created_at, m.watchlist, m.matched, "
        "p.title, p.abstract, p.authors, p.url, p.hf_day, p.upvotes, p.arxiv_id "
        "FROM deliveries d JOIN matches m ON m.id = d.match_id "
        "JOIN papers p ON p.id = m.paper_id "
    )
    if ids is None:
        rows = store.conn.execute(
            sql + "WHERE d.status IN ('pending', 'failed') AND d.due_at <= ? ORDER BY d.id",
            (iso(now),),
        )
    else:
        id_list = list(ids)
        rows = store.conn.execute(
            sql + f"WHERE d.id IN ({','.join('?' * len(id_list))}) "
            "AND d.status != 'sent' ORDER BY d.id",
            id_list,
        )
    return [dict(r) for r in rows]


def deliver(
    store: Store, config: Config, now: datetime, only: Iterable[int] | None = None
) -> DeliveryReport:
    """Send every due delivery: one message per (watchlist, channel) and batch of papers."""
    report = DeliveryReport()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in _due(store, now, only):
        groups.setdefault((row["watchlist"], row["channel"]), []).append(row)
    for (watchlist, channel_name), rows in groups.items():
        channel = config.channels.get(channel_name)
        for start in range(0, len(rows), BATCH_PAPERS):
            batch = rows[start : start + BATCH_PAPERS]
            if channel is None:
                error: str | None = f"channel {channel_name!r} is not in the configuration"
            else:
                message = render(watchlist, config.watchlist(watchlist), batch)
                error = channel.send(message.title, message.bodies())
            report.messages += 1
            _record(store, batch, now, error, config.give_up_after, report)
            event(
                "deliver",
                watchlist=watchlist,
                channel=channel_name,
                papers=len(batch),
                result="sent" if error is None else "failed",
                error=error,
            )
    return report


def _record(
    store: Store,
    batch: list[dict[str, Any]],
    now: datetime,
    error: str | None,
    give_up_after: timedelta,
    report: DeliveryReport,
) -> None:
    stamp = iso(now)
    with store.transaction() as conn:
        for row in batch:
            if error is None:
                conn.execute(
                    "UPDATE deliveries SET status = 'sent', sent_at = ?, "
                    "attempts = attempts + 1, last_error = NULL WHERE id = ?",
                    (stamp, row["id"]),
                )
                report.sent += 1
                continue
            attempts = row["attempts"] + 1
            created = datetime.fromisoformat(row["created_at"])
            dead = now - created >= give_up_after
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, due_at = ?, "
                "last_error = ? WHERE id = ?",
                (
                    "dead" if dead else "failed",
                    attempts,
                    iso(now + backoff(attempts)),
                    error,
                    row["id"],
                ),
            )
            if dead:
                report.dead += 1
            else:
                report.failed += 1


def retry_all(store: Store, config: Config, now: datetime) -> DeliveryReport:
    """`alerts retry`: every pending, failed or dead delivery, now."""
    ids = [
        r[0]
        for r in store.conn.execute(
            "SELECT id FROM deliveries WHERE status IN ('pending', 'failed', 'dead')"
        )
    ]
    with store.transaction() as conn:
        conn.execute(
            "UPDATE deliveries SET status = 'failed', created_at = ? WHERE status = 'dead'",
            (iso(now),),
        )
    return deliver(store, config, now, ids) if ids else DeliveryReport()


def alerts(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT m.watchlist, m.paper_id, p.title, d.channel, d.status, d.attempts, "
        "m.matched, m.created_at, d.sent_at, d.due_at, d.last_error FROM deliveries d "
        "JOIN matches m ON m.id = d.match_id JOIN papers p ON p.id = m.paper_id"
    )
    args: tuple[str, ...] = ()
    if status:
        sql += " WHERE d.status = ?"
        args = (status,)
    rows = [dict(r) for r in store.conn.execute(sql + " ORDER BY d.id", args)]
    for r in rows:
        r["matched"] = [{"term": t, "field": f} for t, f in json.loads(r["matched"])]
        r["next_try_at"] = r["due_at"] if r["status"] in ("pending", "failed") else None
    return rows
