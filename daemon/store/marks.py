"""SQL of paper_marks: what the reader did with a paper on the page (read it, saved it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from daemon.store.papers import move_paper


class MarksRepo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def set(self, paper_id: int, at: str, read: bool | None, saved: bool | None) -> None:
        """Mark a paper read or unread, saved or not (None: leave as it is)."""
        self.conn.execute(
            "INSERT INTO paper_marks (paper_id) VALUES (?) ON CONFLICT DO NOTHING", (paper_id,)
        )
        for column, value in (("read_at", read), ("saved_at", saved)):
            if value is not None:
                self.conn.execute(
                    f"UPDATE paper_marks SET {column} = ? WHERE paper_id = ?",
                    (at if value else None, paper_id),
                )

    def of(self, paper_ids: Iterable[int]) -> dict[int, tuple[bool, bool]]:
        """(read, saved) of these papers that have a mark."""
        ids = "[" + ",".join(str(int(i)) for i in paper_ids) + "]"
        return {
            int(r[0]): (r[1] is not None, r[2] is not None)
            for r in self.conn.execute(
                "SELECT paper_id, read_at, saved_at FROM paper_marks "
                "WHERE paper_id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        }

    def saved(self) -> list[int]:
        """Saved papers, the last saved first."""
        rows = self.conn.execute(
            "SELECT paper_id FROM paper_marks WHERE saved_at IS NOT NULL "
            "ORDER BY saved_at DESC, paper_id DESC"
        )
        return [int(r[0]) for r in rows]

    def move_paper(self, gone: int, keep: int) -> None:
        move_paper(self.conn, ("paper_marks",), gone, keep)
