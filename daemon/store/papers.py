"""SQL of papers, documents, pages and sightings. Identity policy lives in
daemon.ingest.identity."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date
from operator import itemgetter
from typing import Any

from daemon.core.models import key_hash
from daemon.store.rows import StoredPaper

COLUMNS = (
    "id",
    "arxiv_id",
    "title_key",
    "title",
    "abstract",
    "authors",
    "url",
    "hf_day",
    "upvotes",
    "version",
    "announced",
    "doi",
    "day",
    "pmid",
    "pmcid",
    "orcids",
    "categories",
    "announce",
)
_SELECT = ", ".join(COLUMNS)
DAY_OR_SEEN = (  # a day known to the month counts as its first
    "coalesce(CASE WHEN length(p.day) = 7 THEN p.day || '-01' ELSE p.day END, "
    "substr(p.first_seen, 1, 10))"
)
_UPDATED = COLUMNS[1:]  # all but the id: what identity may change (a new version, its title too)
_VALUES, _UPDATED_VALUES = itemgetter(*COLUMNS), itemgetter(*_UPDATED)  # a row's, in order
_CHUNK = 500  # bound parameters per IN (...) list


class PaperRepo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- documents -----------------------------------------------------------------------

    def document_by_hash(self, content_hash: str) -> dict[str, Any] | None:
        """The first successful ingest of this exact content."""
        row = self.conn.execute(
            "SELECT id, papers, page_day FROM documents WHERE content_hash = ? "
            "AND error IS NULL ORDER BY id LIMIT 1",
            (content_hash,),
        ).fetchone()
        return dict(row) if row else None

    def add_document(
        self,
        *,
        source: str,
        location: str,
        content_hash: str,
        fetched_at: str,
        kind: str | None = None,
        page_day: str | None = None,
        papers: int = 0,
        error: str | None = None,
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO documents (source, location, content_hash, kind, page_day, "
            "fetched_at, papers, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (source, location, content_hash, kind, page_day, fetched_at, papers, error),
        )
        return int(cur.lastrowid or 0)

    def set_document_counts(self, document_id: int, new: int, gained: int) -> None:
        self.conn.execute(
            "UPDATE documents SET new = ?, gained = ? WHERE id = ?", (new, gained, document_id)
        )

    def set_document_skipped(self, document_id: int, reasons: list[str]) -> None:
        """Why each paper of the document was left out (the others were stored)."""
        self.conn.execute(
            "UPDATE documents SET skipped = ? WHERE id = ?", (json.dumps(reasons), document_id)
        )

    def last_error(self) -> str | None:
        row = self.conn.execute("SELECT error FROM documents ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    # -- papers --------------------------------------------------------------------------

    def candidates(
        self,
        arxiv_ids: Iterable[str],
        title_hashes: Iterable[int],
        dois: Iterable[str] = (),
        pmids: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Stored rows with one of these arXiv ids, DOIs, PMIDs or title hashes, oldest
        first."""
        rows: dict[int, dict[str, Any]] = {}
        values_of: tuple[tuple[str, list[Any]], ...] = (
            ("arxiv_id", sorted(set(arxiv_ids))),
            ("doi", sorted(set(dois))),
            ("pmid", sorted(set(pmids))),
            ("title_hash", sorted(set(title_hashes))),
        )
        for column, values in values_of:
            for chunk in chunks(values):
                marks = ",".join("?" * len(chunk))
                for r in self.conn.execute(
                    f"SELECT {_SELECT} FROM papers WHERE {column} IN ({marks}) ORDER BY id", chunk
                ):
                    rows.setdefault(r["id"], dict(r))
        return [rows[k] for k in sorted(rows)]

    def absorb(self, gone: int, keep: int) -> None:
        """Paper `gone` is paper `keep`: its sightings move over (one per page), its row
        goes. Whatever else refers to it is moved first by its own repository."""
        move_paper(self.conn, ("sightings",), gone, keep)
        self.conn.execute("DELETE FROM papers WHERE id = ?", (gone,))

    def max_id(self) -> int:
        """The highest id ever given to a paper, its row gone or not: ids are never
        reused (the search index and references keep a gone paper's id)."""
        row = self.conn.execute(
            "SELECT max((SELECT coalesce(max(id), 0) FROM papers), (SELECT high FROM paper_ids))"
        ).fetchone()
        return int(row[0])

    def insert(self, rows: list[dict[str, Any]], title_hashes: dict[str, int], stamp: str) -> None:
        self.conn.executemany(
            f"INSERT INTO papers ({_SELECT}, title_hash, first_seen, updated_at) "
            f"VALUES ({', '.join('?' * (len(COLUMNS) + 3))})",
            [(*_VALUES(r), title_hashes[r["title_key"]], stamp, stamp) for r in rows],
        )

    def update(self, rows: Iterable[dict[str, Any]], stamp: str) -> None:
        """Write changed rows back (a new version may change the title, so its hash)."""
        sets = ", ".join(f"{c} = ?" for c in _UPDATED)
        self.conn.executemany(
            f"UPDATE papers SET {sets}, title_hash = ?, updated_at = ? WHERE id = ?",
            [(*_UPDATED_VALUES(r), key_hash(r["title_key"]), stamp, r["id"]) for r in rows],
        )

    def find(
        self, arxiv_id: str | None, title_key: str, doi: str | None = None, pmid: str | None = None
    ) -> int | None:
        """The stored paper with this arXiv id, DOI or PMID, or else this normalised title."""
        if arxiv_id or doi or pmid:
            row = self.conn.execute(
                "SELECT id FROM papers WHERE arxiv_id = ? OR doi = ? OR pmid = ? ORDER BY id",
                (arxiv_id, doi, pmid),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT id FROM papers WHERE title_hash = ? AND title_key = ? ORDER BY id",
                (key_hash(title_key), title_key),
            ).fetchone()
        return int(row[0]) if row else None

    def texts(
        self,
        ids: list[int] | None = None,
        since_id: int = 0,
        recent: int = 0,
        limit: int = -1,
        upto: int | None = None,
    ) -> Iterator[tuple[int, str, str]]:
        """(id, title, abstract) of these papers; or of the `recent` newest ones (with
        an id up to `upto`); or of those after `since_id` (at most `limit`), oldest
        first."""
        if ids is not None:
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                yield from map(
                    tuple,
                    self.conn.execute(
                        f"SELECT id, title, abstract FROM papers WHERE id IN ({marks}) ORDER BY id",
                        chunk,
                    ),
                )
        elif recent:
            yield from map(
                tuple,
                self.conn.execute(
                    "SELECT id, title, abstract FROM papers WHERE id <= ? ORDER BY id DESC LIMIT ?",
                    (upto if upto is not None else 2**62, recent),
                ),
            )
        else:
            yield from map(
                tuple,
                self.conn.execute(
                    "SELECT id, title, abstract FROM papers WHERE id > ? ORDER BY id LIMIT ?",
                    (since_id, limit),
                ),
            )

    def without_id(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Titles of papers with no arXiv id (nor DOI, nor PMID) never looked up, or whose
        failed look-up is due again, oldest first: (title, title_key, attempts so far)."""
        return [
            dict(r)
            for r in self.conn.execute(
                "SELECT p.title, p.title_key, coalesce(l.attempts, 0) AS attempts "
                "FROM papers p LEFT JOIN title_lookups l ON l.title_key = p.title_key "
                "WHERE p.arxiv_id IS NULL AND p.doi IS NULL AND p.pmid IS NULL "
                "AND (l.title_key IS NULL OR (l.status = 'failed' AND l.next_try_at <= ?)) "
                "GROUP BY p.title_key ORDER BY min(p.id) LIMIT ?",
                (now, limit),
            )
        ]

    def record_lookup(
        self, title_key: str, status: str, arxiv_id: str | None, stamp: str, retry_at: str | None
    ) -> None:
        self.conn.execute(
            "INSERT INTO title_lookups (title_key, status, arxiv_id, attempts, tried_at, "
            "next_try_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (title_key) DO UPDATE SET "
            "status = excluded.status, arxiv_id = excluded.arxiv_id, "
            "attempts = attempts + 1, tried_at = excluded.tried_at, "
            "next_try_at = excluded.next_try_at",
            (title_key, status, arxiv_id, stamp, retry_at),
        )

    def attach_id(self, title_key: str, arxiv_id: str, url: str, stamp: str) -> list[int]:
        """Give papers of this title that have no id the id found for it, unless another
        stored paper already has that id. Returns the ids of the papers changed."""
        taken = self.conn.execute("SELECT 1 FROM papers WHERE arxiv_id = ?", (arxiv_id,)).fetchone()
        if taken:
            return []
        ids = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM papers WHERE title_key = ? AND arxiv_id IS NULL ORDER BY id",
                (title_key,),
            )
        ][:1]  # the UNIQUE id goes to one row: the first stored of that title
        self.conn.executemany(
            "UPDATE papers SET arxiv_id = ?, url = ?, updated_at = ? WHERE id = ?",
            [(arxiv_id, url, stamp, pid) for pid in ids],
        )
        return ids

    def add_sightings(
        self,
        *,
        source: str,
        location: str,
        page_day: str,
        document_id: int,
        paper_ids: Iterable[int],
        stamp: str,
    ) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO pages (source, location, page_day) VALUES (?, ?, ?)",
            (source, location, page_day),
        )
        page_id = self.conn.execute(
            "SELECT id FROM pages WHERE source = ? AND location = ? AND page_day = ?",
            (source, location, page_day),
        ).fetchone()[0]
        self.conn.executemany(
            "INSERT OR IGNORE INTO sightings VALUES (?, ?, ?, ?)",
            [(pid, page_id, document_id, stamp) for pid in dict.fromkeys(paper_ids)],
        )

    # -- reading -------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            t: int(self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("papers", "sightings", "documents")
        }

    def page_days(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT page_day FROM pages")}

    def listing(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        limit: int | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[StoredPaper]:
        """Papers newest first (ids grow with first_seen), with their sighting count;
        `since`/`until` (inclusive) by their own day (one only known to the month is
        in it from its first day), else the day they were first seen."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append(f"{DAY_OR_SEEN} >= ?")
            args.append(since.isoformat())
        if until is not None:
            where.append(f"{DAY_OR_SEEN} <= ?")
            args.append(until.isoformat())
        if ids is not None:  # one parameter however many (a search may match most papers)
            where.append("p.id IN (SELECT value FROM json_each(?))")
            args.append("[" + ",".join(str(int(i)) for i in ids) + "]")
        sql = (
            "SELECT p.*, (SELECT count(*) FROM sightings s WHERE s.paper_id = p.id) "
            f"AS sightings FROM papers p {'WHERE ' + ' AND '.join(where) if where else ''} "
            "ORDER BY p.id DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [StoredPaper.of(r) for r in self.conn.execute(sql, args)]

    def by_ids(self, ids: list[int]) -> Iterator[StoredPaper]:
        """Matching fields of these papers, in chunks."""
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(
                f"SELECT {_SELECT} FROM papers WHERE id IN ({marks})", chunk
            ):
                yield StoredPaper.of(r)

    def iterate(self, batch: int = 2000) -> Iterator[StoredPaper]:
        """Every paper, oldest first, read in batches (constant memory)."""
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT {_SELECT} FROM papers WHERE id > ? ORDER BY id LIMIT {batch}", (last,)
            ).fetchall()
            if not rows:
                return
            yield from (StoredPaper.of(r) for r in rows)
            last = rows[-1]["id"]


def move_paper(conn: sqlite3.Connection, tables: tuple[str, ...], gone: int, keep: int) -> None:
    """Rows of these tables (keyed with `paper_id`) of paper `gone` become `keep`'s; one
    `keep` already has (the same page, watchlist...) is dropped instead."""
    for table in tables:
        conn.execute(f"UPDATE OR IGNORE {table} SET paper_id = ? WHERE paper_id = ?", (keep, gone))
        conn.execute(f"DELETE FROM {table} WHERE paper_id = ?", (gone,))


def chunks(values: list[Any]) -> Iterator[list[Any]]:
    """`values` a few hundred at a time: bound parameters of one IN (...) list."""
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]
