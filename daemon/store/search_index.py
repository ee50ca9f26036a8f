"""SQL of the search index: the FTS5 table of each paper's keys, how far it is built, and
the papers whose text changed since they were indexed. What the keys are lives in
daemon.matching.search."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from daemon.store.rows import StoredPaper

Keys = tuple[str, str, str]  # title, abstract, author: space-separated keys
Text = tuple[str, str | None, tuple[str, ...]]  # a paper's title, abstract and authors


def _text(title: str, abstract: str | None, authors: str | None) -> Text:
    return title, abstract, tuple(json.loads(authors or "[]"))


@dataclass(frozen=True)
class IndexState:
    version: int
    indexed_up_to: int  # papers with a larger id are not indexed yet
    stale: frozenset[int]  # indexed papers whose text changed since: their keys are old


class SearchIndexRepo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def state(self) -> IndexState:
        version, up_to = self.conn.execute(
            "SELECT version, indexed_up_to FROM paper_keys_state"
        ).fetchone()
        stale = frozenset(r[0] for r in self.conn.execute("SELECT paper_id FROM paper_keys_stale"))
        return IndexState(int(version), int(up_to), stale)

    def restart(self, version: int) -> None:
        """Forget every key (they were made by another version of the analysis)."""
        self.conn.execute("INSERT INTO paper_keys(paper_keys) VALUES ('delete-all')")
        self.conn.execute("DELETE FROM paper_keys_stale")
        self.conn.execute("UPDATE paper_keys_state SET version = ?, indexed_up_to = 0", (version,))

    def stale_rows(self, limit: int) -> list[tuple[int, Text, Text | None]]:
        """Up to `limit` changed papers: id, the text their keys were made from, and their
        text now (None if the paper is gone)."""
        rows = self.conn.execute(
            "SELECT s.paper_id, s.title, s.abstract, s.authors, p.id AS current, "
            "p.title AS now_title, p.abstract AS now_abstract, p.authors AS now_authors "
            "FROM paper_keys_stale s LEFT JOIN papers p ON p.id = s.paper_id "
            "ORDER BY s.paper_id LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            (
                r["paper_id"],
                _text(r["title"], r["abstract"], r["authors"]),
                None
                if r["current"] is None
                else _text(r["now_title"], r["now_abstract"], r["now_authors"]),
            )
            for r in rows
        ]

    def rows_after(self, up_to: int, limit: int) -> list[tuple[int, Text]]:
        """Up to `limit` papers past id `up_to`, oldest first."""
        return [
            (r[0], _text(r[1], r[2], r[3]))
            for r in self.conn.execute(
                "SELECT id, title, abstract, authors FROM papers WHERE id > ? ORDER BY id LIMIT ?",
                (up_to, limit),
            )
        ]

    def forget(self, paper_id: int, keys: Keys) -> None:
        """Delete keys a paper was indexed with (a contentless index needs them given)."""
        self.conn.execute(
            "INSERT INTO paper_keys(paper_keys, rowid, title, abstract, author) "
            "VALUES ('delete', ?, ?, ?, ?)",
            (paper_id, *keys),
        )
        self.conn.execute("DELETE FROM paper_keys_stale WHERE paper_id = ?", (paper_id,))

    def add(self, rows: Iterable[tuple[int, Keys]], up_to: int | None = None) -> None:
        """Index papers' keys; `up_to`: the papers up to this id are now indexed."""
        self.conn.executemany(
            "INSERT INTO paper_keys(rowid, title, abstract, author) VALUES (?, ?, ?, ?)",
            [(pid, *keys) for pid, keys in rows],
        )
        if up_to is not None:
            self.conn.execute("UPDATE paper_keys_state SET indexed_up_to = ?", (up_to,))

    def ids(self, expression: str) -> set[int]:
        """The indexed papers an FTS5 expression matches."""
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT rowid FROM paper_keys WHERE paper_keys MATCH ?", (expression,)
            )
        }

    def all_ids(self, up_to: int) -> set[int]:
        return {r[0] for r in self.conn.execute("SELECT id FROM papers WHERE id <= ?", (up_to,))}

    def unindexed(self, state: IndexState) -> list[StoredPaper]:
        """The papers a search must read as they are: past the watermark, or changed."""
        rows = self.conn.execute(
            "SELECT id, title, abstract, authors FROM papers WHERE id > ? ORDER BY id",
            (state.indexed_up_to,),
        ).fetchall()
        found = [StoredPaper.of(r) for r in rows]
        if state.stale:
            found += self.rows(sorted(state.stale))
        return found

    def rows(self, ids: list[int]) -> list[StoredPaper]:
        """Matching fields of these papers (one statement, however many)."""
        return [
            StoredPaper.of(r)
            for r in self.conn.execute(
                "SELECT id, title, abstract, authors FROM papers "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (_json_ids(ids),),
            )
        ]


def _json_ids(ids: Iterable[int]) -> str:
    return "[" + ",".join(map(str, ids)) + "]"
