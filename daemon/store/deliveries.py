"""SQL of matches and deliveries (the outbox). Retry policy lives in daemon.outbox."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

STATUSES = ("pending", "failed", "sent", "dead")
_DUE = (
    "SELECT d.id, d.channel, d.attempts, d.created_at, m.watchlist, m.matched, "
    "p.title, p.abstract, p.authors, p.url, p.hf_day, p.upvotes, p.arxiv_id "
    "FROM deliveries d JOIN matches m ON m.id = d.match_id "
    "JOIN papers p ON p.id = m.paper_id "
)


class DeliveryRepo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add_match(self, watchlist: str, paper_id: int, matched: str, stamp: str) -> int | None:
        """The new match's id, or None when this watchlist already matched this paper."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO matches (watchlist, paper_id, matched, created_at) "
            "VALUES (?, ?, ?, ?)",
            (watchlist, paper_id, matched, stamp),
        )
        return cur.lastrowid if cur.rowcount else None

    def add_deliveries(self, match_id: int, channels: Iterable[str], due: str, stamp: str) -> None:
        self.conn.executemany(
            "INSERT INTO deliveries (match_id, channel, due_at, created_at) VALUES (?, ?, ?, ?)",
            [(match_id, ch, due, stamp) for ch in channels],
        )

    def due(self, now: str) -> list[dict[str, Any]]:
        """Pending or failed deliveries whose time has come, with their match and paper."""
        rows = self.conn.execute(
            _DUE + "WHERE d.status IN ('pending', 'failed') AND d.due_at <= ? ORDER BY d.id",
            (now,),
        )
        return [dict(r) for r in rows]

    def unsent(self, ids: list[int]) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            _DUE + f"WHERE d.id IN ({marks}) AND d.status != 'sent' ORDER BY d.id", ids
        )
        return [dict(r) for r in rows]

    def mark_sent(self, ids: list[int], stamp: str) -> None:
        self.conn.executemany(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL WHERE id = ?",
            [(stamp, i) for i in ids],
        )

    def mark_failed(
        self, delivery_id: int, *, dead: bool, attempts: int, due: str, error: str
    ) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, due_at = ?, last_error = ? "
            "WHERE id = ?",
            ("dead" if dead else "failed", attempts, due, error, delivery_id),
        )

    def retryable(self) -> list[int]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM deliveries WHERE status IN ('pending', 'failed', 'dead')"
            )
        ]

    def revive_dead(self, stamp: str) -> None:
        """Dead deliveries become failed ones, their give-up clock restarted at `stamp`."""
        self.conn.execute(
            "UPDATE deliveries SET status = 'failed', created_at = ? WHERE status = 'dead'",
            (stamp,),
        )

    def listing(self, status: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT m.watchlist, m.paper_id, p.title, d.channel, d.status, d.attempts, "
            "m.matched, m.created_at, d.sent_at, d.due_at, d.last_error FROM deliveries d "
            "JOIN matches m ON m.id = d.match_id JOIN papers p ON p.id = m.paper_id"
        )
        args: tuple[str, ...] = ()
        if status:
            sql += " WHERE d.status = ?"
            args = (status,)
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY d.id", args)]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self.conn.execute(
            "SELECT status, count(*) FROM deliveries GROUP BY status"
        ):
            counts[status] = n
        return counts

    def match_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM matches").fetchone()[0])
