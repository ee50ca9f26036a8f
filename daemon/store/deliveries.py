"""SQL of matches and deliveries (the outbox). Retry policy lives in daemon.delivery.outbox."""

from __future__ import annotations

import sqlite3
from datetime import date

from daemon.store.papers import DAY_OR_SEEN, chunks, move_paper
from daemon.store.rows import StoredDelivery, StoredMatch

STATUSES = ("pending", "failed", "sent", "dead")
_MATCH = (  # a match and its paper, as StoredMatch reads them
    "m.id AS match_id, m.watchlist, m.matched, m.title_only, m.score, m.explain, "
    "m.created_at, p.id, p.arxiv_id, p.doi, p.pmid, p.pmcid, p.orcids, p.categories, "
    "p.announce, p.title_key, p.title, "
    "p.abstract, "
    "p.authors, p.url, p.hf_day, p.upvotes, p.version, p.announced, p.day, p.first_seen, "
    "p.updated_at"
)
_DELIVERY = (  # a delivery, its match and its paper, as StoredDelivery reads them
    "SELECT d.id AS delivery_id, d.channel, d.status, d.attempts, d.due_at, d.sent_at, "
    "d.last_error, d.created_at AS delivery_created_at, "
    f"{_MATCH} FROM deliveries d JOIN matches m ON m.id = d.match_id "
    "JOIN papers p ON p.id = m.paper_id "
)


# a match to record: watchlist, paper id, matched terms (JSON), title only, and for a match
# by similarity its score and explanation (JSON), else None
Found = tuple[str, int, str, int, float | None, str | None]


class DeliveryRepo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add_matches(self, found: list[Found], stamp: str) -> list[tuple[int, str]]:
        """Record matches in one statement; the (match id, watchlist) of those recorded
        now (a watchlist matches a paper once, ever)."""
        if not found:
            return []
        self.conn.executemany(
            "INSERT OR IGNORE INTO matches (watchlist, paper_id, matched, title_only, score, "
            "explain, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*f, stamp) for f in found],
        )
        pairs = {(f[0], f[1]) for f in found}
        new = []
        for chunk in chunks(sorted({pid for _, pid in pairs})):
            rows = self.conn.execute(
                f"SELECT id, watchlist, paper_id FROM matches WHERE created_at = ? "
                f"AND paper_id IN ({','.join('?' * len(chunk))})",
                [stamp, *chunk],
            )
            new += [(r[0], r[1]) for r in rows if (r[1], r[2]) in pairs]
        return new

    def add_all_deliveries(self, rows: list[tuple[int, str, str]], stamp: str) -> None:
        """(match id, channel, due) each; one per match and channel, ever."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO deliveries (match_id, channel, due_at, created_at) "
            "VALUES (?, ?, ?, ?)",
            [(mid, ch, due, stamp) for mid, ch, due in rows],
        )

    def set_undecided(self, paper_ids: list[int], waiting: list[tuple[str, int]], now: str) -> None:
        """The changed papers' undecided watchlists are now `waiting`: others are dropped
        (decided), new ones start waiting now, and a matched paper never waits again."""
        for chunk in chunks(paper_ids):
            self.conn.execute(
                f"DELETE FROM undecided WHERE paper_id IN ({','.join('?' * len(chunk))})", chunk
            )
        self.conn.executemany(
            "INSERT OR IGNORE INTO undecided (watchlist, paper_id, since) SELECT ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM matches WHERE watchlist = ? AND paper_id = ?)",
            [(w, pid, now, w, pid) for w, pid in waiting],
        )

    def undecided_since(self, paper_ids: list[int]) -> dict[tuple[str, int], str]:
        out = {}
        for chunk in chunks(paper_ids):
            rows = self.conn.execute(
                "SELECT watchlist, paper_id, since FROM undecided "
                f"WHERE paper_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({(r[0], r[1]): r[2] for r in rows})
        return out

    def waiting_first_tries(self) -> list[tuple[int, str, str, str, str]]:
        """(delivery id, watchlist, channel, created_at, due_at) of deliveries never tried
        yet."""
        return [
            (r[0], r[1], r[2], r[3], r[4])
            for r in self.conn.execute(
                "SELECT d.id, m.watchlist, d.channel, d.created_at, d.due_at FROM deliveries d "
                "JOIN matches m ON m.id = d.match_id "
                "WHERE d.status = 'pending' AND d.attempts = 0"
            )
        ]

    def move_due(self, moves: list[tuple[str, int]]) -> None:
        """Set (due_at, delivery id) of deliveries still waiting for their first try."""
        self.conn.executemany(
            "UPDATE deliveries SET due_at = ? WHERE id = ? AND status = 'pending' AND attempts = 0",
            moves,
        )

    def undecided_due(self, before: str) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT watchlist, paper_id FROM undecided WHERE since <= ? ORDER BY since", (before,)
        )
        return [(r[0], r[1]) for r in rows]

    def drop_undecided(self, pairs: list[tuple[str, int]]) -> None:
        self.conn.executemany("DELETE FROM undecided WHERE watchlist = ? AND paper_id = ?", pairs)

    def undecided_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM undecided").fetchone()[0])

    def claim(
        self, owner: str, now: str, until: str, channel: str, ids: list[int] | None = None
    ) -> list[StoredDelivery]:
        """Claim `channel`'s unsent deliveries for `owner` in one UPDATE (due ones, or these
        `ids`): a row another process claimed until later is skipped; only one sends it."""
        free = "(claimed_until IS NULL OR claimed_until <= ?)"
        if ids is None:
            where = "status IN ('pending', 'failed') AND due_at <= ?"
            args: list[object] = [now]
        else:
            where = f"status != 'sent' AND id IN ({','.join('?' * len(ids))})"
            args = list(ids)
        self.conn.execute(
            f"UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE channel = ? "
            f"AND {where} AND {free}",
            [owner, until, channel, *args, now],
        )
        rows = self.conn.execute(_DELIVERY + "WHERE d.claimed_by = ? ORDER BY d.id", (owner,))
        return [StoredDelivery.of(r) for r in rows]

    def mark_sent(self, ids: list[int], stamp: str) -> None:
        self.conn.executemany(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            [(stamp, i) for i in ids],
        )

    def mark_failed(
        self, delivery_id: int, *, dead: bool, attempts: int, due: str, error: str
    ) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, due_at = ?, last_error = ?, "
            "claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            ("dead" if dead else "failed", attempts, due, error, delivery_id),
        )

    def extend_claim(self, owner: str, until: str) -> None:
        """`owner` is still sending: its claims hold until `until`."""
        self.conn.execute(
            "UPDATE deliveries SET claimed_until = ? WHERE claimed_by = ?", (until, owner)
        )

    def release(self, owner: str) -> None:
        """Give back what `owner` claimed and did not settle."""
        self.conn.execute(
            "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
            (owner,),
        )

    def claim_owners(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT claimed_by FROM deliveries WHERE claimed_by IS NOT NULL"
        )
        return [r[0] for r in rows]

    def drop(self, channel: str | None = None, status: str | None = None) -> int:
        """Delete unsent deliveries (of a channel that no longer exists); how many."""
        where, args = ["status != 'sent'"], []
        if channel is not None:
            where.append("channel = ?")
            args.append(channel)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        cur = self.conn.execute(f"DELETE FROM deliveries WHERE {' AND '.join(where)}", args)
        return cur.rowcount

    def retryable(self, pending_too: bool = False) -> list[int]:
        """Failed and dead deliveries (and those still waiting for their time)."""
        statuses = "'pending', 'failed', 'dead'" if pending_too else "'failed', 'dead'"
        query = f"SELECT id FROM deliveries WHERE status IN ({statuses})"
        return [r[0] for r in self.conn.execute(query)]

    def channels_with_work(self) -> list[str]:
        """Channels that have unsent deliveries (including ones no longer configured)."""
        rows = self.conn.execute(
            "SELECT DISTINCT channel FROM deliveries WHERE status IN ('pending', 'failed')"
        )
        return [r[0] for r in rows]

    def revive_dead(self, stamp: str) -> None:
        """Dead deliveries become failed ones, their give-up clock restarted at `stamp`."""
        self.conn.execute(
            "UPDATE deliveries SET status = 'failed', created_at = ? WHERE status = 'dead'",
            (stamp,),
        )

    def listing(self, status: str | None = None) -> list[StoredDelivery]:
        sql, args = _DELIVERY, tuple[str, ...]()
        if status:
            sql, args = sql + "WHERE d.status = ? ", (status,)
        return [StoredDelivery.of(r) for r in self.conn.execute(sql + "ORDER BY d.id", args)]

    def recent_matches(
        self,
        watchlists: list[str],
        since: date | None = None,
        until: date | None = None,
        limit: int = 200,
        offset: int = 0,
        by_day: bool = False,
        source: str | None = None,
        category: str | None = None,
        unread: bool = False,
        saved: bool = False,
        best: bool = False,
    ) -> list[StoredMatch]:
        """Matches of these watchlists with their papers (seen how often), newest first
        (`by_day`: by the papers' own days, as the page groups them; `best`: the highest
        similarity scores first); `since`/`until` by the papers' own days; only papers
        seen in `source`, of `category`, not read yet, saved."""
        marks = ",".join("?" * len(watchlists))
        args: list[object] = list(watchlists)
        where = f"m.watchlist IN ({marks})"
        if since:
            where += f" AND {DAY_OR_SEEN} >= ?"
            args.append(since.isoformat())
        if until:
            where += f" AND {DAY_OR_SEEN} <= ?"
            args.append(until.isoformat())
        if source:
            where += (
                " AND EXISTS (SELECT 1 FROM sightings s JOIN documents d ON d.id = s.document_id"
                " WHERE s.paper_id = p.id AND d.source = ?)"
            )
            args.append(source)
        if category:
            where += " AND EXISTS (SELECT 1 FROM json_each(p.categories) WHERE value = ?)"
            args.append(category)
        if unread:
            where += (
                " AND NOT EXISTS (SELECT 1 FROM paper_marks k"
                " WHERE k.paper_id = p.id AND k.read_at IS NOT NULL)"
            )
        if saved:
            where += (
                " AND EXISTS (SELECT 1 FROM paper_marks k"
                " WHERE k.paper_id = p.id AND k.saved_at IS NOT NULL)"
            )
        order = "coalesce(m.score, 0) DESC, " if best else ""
        order += DAY_OR_SEEN + " DESC, " if by_day else ""
        return [
            StoredMatch.of(r)
            for r in self.conn.execute(
                f"SELECT {_MATCH}, "
                "(SELECT count(*) FROM sightings s WHERE s.paper_id = p.id) AS sightings "
                f"FROM matches m JOIN papers p ON p.id = m.paper_id WHERE {where} "
                f"ORDER BY {order}m.id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
        ]

    def categories(self, watchlists: list[str]) -> list[str]:
        """The categories of these watchlists' matched papers: what the page filters by."""
        marks = ",".join("?" * len(watchlists))
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT c.value FROM matches m JOIN papers p ON p.id = m.paper_id, "
                f"json_each(coalesce(p.categories, '[]')) c WHERE m.watchlist IN ({marks}) "
                "ORDER BY c.value",
                watchlists,
            )
        ]

    def move_paper(self, gone: int, keep: int) -> None:
        """Paper `gone` is paper `keep`: its matches and waits move over; a match of a
        watchlist `keep` also matched is dropped with its unsent deliveries (a paper
        alerts a watchlist once)."""
        self.conn.execute(
            "UPDATE OR IGNORE matches SET paper_id = ? WHERE paper_id = ?", (keep, gone)
        )
        self.conn.execute(
            "DELETE FROM deliveries WHERE match_id IN (SELECT id FROM matches WHERE paper_id = ?)",
            (gone,),
        )
        move_paper(self.conn, ("matches", "undecided"), gone, keep)

    def counts_by_watchlist(self) -> dict[str, tuple[int, int]]:
        """Per watchlist: its matches, and how many of their papers are not marked read."""
        return {
            r[0]: (int(r[1]), int(r[2]))
            for r in self.conn.execute(
                "SELECT m.watchlist, count(*), count(*) - count(k.read_at) FROM matches m "
                "LEFT JOIN paper_marks k ON k.paper_id = m.paper_id GROUP BY m.watchlist"
            )
        }

    def matches_version(self, watchlists: list[str]) -> tuple[int, int, str]:
        """(newest match id, matches, latest change of a matched paper): what a feed of
        these watchlists shows changes only when one of them does."""
        marks = ",".join("?" * len(watchlists))
        row = self.conn.execute(
            "SELECT coalesce(max(m.id), 0), count(*), "
            "coalesce(max(max(m.created_at, p.updated_at)), '') "
            f"FROM matches m JOIN papers p ON p.id = m.paper_id WHERE m.watchlist IN ({marks})",
            watchlists,
        ).fetchone()
        return int(row[0]), int(row[1]), str(row[2])

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self.conn.execute(
            "SELECT status, count(*) FROM deliveries GROUP BY status"
        ):
            counts[status] = n
        return counts

    def match_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM matches").fetchone()[0])
