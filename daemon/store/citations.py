"""SQL of citations and cited_papers: which papers cite a paper a watchlist follows."""

from __future__ import annotations

import sqlite3

from daemon.store.papers import move_paper


class CitationRepo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def known(self, cited: str) -> bool:
        """Its citations were read before: what is new now alerts."""
        row = self.conn.execute("SELECT 1 FROM cited_papers WHERE cited = ?", (cited,))
        return row.fetchone() is not None

    def record(self, cited: str, paper_ids: list[int], at: str) -> list[int]:
        """Record these papers as citing `cited`; those not recorded before, in order.
        The first time, `cited` becomes known: its citations so far are its baseline."""
        before = {
            r[0]
            for r in self.conn.execute("SELECT paper_id FROM citations WHERE cited = ?", (cited,))
        }
        new = [i for i in dict.fromkeys(paper_ids) if i not in before]
        self.conn.executemany(
            "INSERT INTO citations (cited, paper_id, first_seen) VALUES (?, ?, ?)",
            [(cited, i, at) for i in new],
        )
        self.conn.execute(
            "INSERT INTO cited_papers (cited, known_since) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (cited, at),
        )
        return new

    def citing(self, cited: str) -> list[int]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT paper_id FROM citations WHERE cited = ? ORDER BY paper_id", (cited,)
            )
        ]

    def move_paper(self, gone: int, keep: int) -> None:
        move_paper(self.conn, ("citations",), gone, keep)
