"""SQL of the similar-watchlists' progress and votes: how far each has scored the stored
papers, what to score again, and the reader's 👍/👎."""

from __future__ import annotations

import sqlite3

from daemon.store.papers import chunks, move_paper


class SimilarRepo:
    """How far each similar-watchlist has scored the stored papers, and the papers to
    score again (their abstract came after they were scored)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def move_paper(self, gone: int, keep: int) -> None:
        """Paper `gone` is paper `keep`: its votes and pending rescoring move over."""
        move_paper(self.conn, ("similar_votes", "similar_rescore"), gone, keep)

    def scored_up_to(self, watchlist: str) -> int | None:
        row = self.conn.execute(
            "SELECT scored_up_to FROM similar_state WHERE watchlist = ?", (watchlist,)
        ).fetchone()
        return int(row[0]) if row else None

    def set_scored_up_to(self, watchlist: str, paper_id: int) -> None:
        self.conn.execute(
            "INSERT INTO similar_state VALUES (?, ?) ON CONFLICT (watchlist) "
            "DO UPDATE SET scored_up_to = excluded.scored_up_to",
            (watchlist, paper_id),
        )

    def start(self, watchlists: list[str], since: str) -> None:
        """Watchlists not seen before start from the papers first seen at `since` or
        later (when the configuration naming them was written)."""
        known = {r[0] for r in self.conn.execute("SELECT watchlist FROM similar_state")}
        new = [name for name in watchlists if name not in known]
        if not new:
            return
        (before,) = self.conn.execute(
            "SELECT coalesce(max(id), 0) FROM papers WHERE first_seen < ?", (since,)
        ).fetchone()
        self.conn.executemany(
            "INSERT OR IGNORE INTO similar_state VALUES (?, ?)", [(n, before) for n in new]
        )

    def skip_to(self, watchlists: list[str], paper_id: int) -> None:
        """Count the papers up to `paper_id` as scored (ingested with no alerts wanted)."""
        self.conn.executemany(
            "INSERT INTO similar_state VALUES (?, ?) ON CONFLICT (watchlist) DO UPDATE "
            "SET scored_up_to = max(scored_up_to, excluded.scored_up_to)",
            [(name, paper_id) for name in watchlists],
        )

    def vote(self, watchlist: str, paper_id: int, vote: int, at: str) -> None:
        """Record a 👍 (1) or 👎 (-1), replacing an earlier one; 0 takes it back."""
        if vote == 0:
            self.conn.execute(
                "DELETE FROM similar_votes WHERE watchlist = ? AND paper_id = ?",
                (watchlist, paper_id),
            )
        else:
            self.conn.execute(
                "INSERT INTO similar_votes VALUES (?, ?, ?, ?) ON CONFLICT (watchlist, paper_id) "
                "DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                (watchlist, paper_id, vote, at),
            )

    def votes(self, watchlist: str) -> dict[int, int]:
        """Paper id -> its vote for this watchlist."""
        return dict(
            self.conn.execute(
                "SELECT paper_id, vote FROM similar_votes WHERE watchlist = ? ORDER BY paper_id",
                (watchlist,),
            ).fetchall()
        )

    def votes_on(self, paper_ids: list[int]) -> dict[tuple[str, int], int]:
        """(watchlist, paper id) -> vote, for these papers (the page shows them)."""
        out: dict[tuple[str, int], int] = {}
        for chunk in chunks(paper_ids):
            rows = self.conn.execute(
                "SELECT watchlist, paper_id, vote FROM similar_votes WHERE paper_id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({(w, p): v for w, p, v in rows})
        return out

    def to_rescore(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT paper_id FROM similar_rescore")]

    def rescored(self, paper_ids: list[int]) -> None:
        self.conn.executemany(
            "DELETE FROM similar_rescore WHERE paper_id = ?", [(i,) for i in paper_ids]
        )
