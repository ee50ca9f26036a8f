"""SQLite store: one row per paper identity, every sighting, every ingested document.

Identity (DESIGN.md): the arXiv id when known, else the normalised title; a title-only
paper that later shows up with an id is the same row, the id attached.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from daemon.models import Digest, Paper, key_hash

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((name, fn))
        return fn

    return register


@migration("0001_papers_sightings_documents")
def _initial(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE papers (
        id INTEGER PRIMARY KEY,
        arxiv_id TEXT UNIQUE,
        title_key TEXT NOT NULL,
        title_hash INTEGER NOT NULL,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL DEFAULT '',
        authors TEXT NOT NULL DEFAULT '[]',
        url TEXT,
        hf_day TEXT,
        upvotes INTEGER,
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX papers_title_hash ON papers(title_hash);
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        location TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        kind TEXT,
        page_day TEXT,
        fetched_at TEXT NOT NULL,
        papers INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        gained INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX documents_hash ON documents(content_hash);
    -- where papers are seen: one row per (source, location, page day), e.g. one HF day
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        location TEXT NOT NULL,
        page_day TEXT NOT NULL,
        UNIQUE (source, location, page_day)
    );
    CREATE TABLE sightings (
        paper_id INTEGER NOT NULL REFERENCES papers(id),
        page_id INTEGER NOT NULL REFERENCES pages(id),
        document_id INTEGER NOT NULL REFERENCES documents(id),
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, page_id)
    ) WITHOUT ROWID;
    """)


@migration("0002_matches_deliveries")
def _outbox(db: sqlite_utils.Database) -> None:
    db.executescript("""
    -- one row per (watchlist, paper), ever: a paper alerts a watchlist at most once
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        watchlist TEXT NOT NULL,
        paper_id INTEGER NOT NULL REFERENCES papers(id),
        matched TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (watchlist, paper_id)
    );
    -- the outbox: one row per (match, channel), written with the match
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        match_id INTEGER NOT NULL REFERENCES matches(id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (match_id, channel)
    );
    CREATE INDEX deliveries_due ON deliveries(status, due_at);
    """)


@migration("0003_source_state")
def _source_state(db: sqlite_utils.Database) -> None:
    db.executescript("""
    CREATE TABLE source_state (
        name TEXT PRIMARY KEY,
        last_poll_at TEXT,
        last_success_at TEXT,
        last_result TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        retry_after TEXT,            -- backoff: no poll before this time
        next_run_at TEXT,
        failure_alerted INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_modified TEXT
    );
    """)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class IngestResult:
    """What one document changed: ids of new papers and of papers that gained text."""

    document_id: int | None
    papers: int
    new: list[int] = field(default_factory=list)
    gained: list[int] = field(default_factory=list)
    duplicate: bool = False
    page_day: str | None = None  # the day the document showed, as stored


# Called inside the ingest transaction with (connection, changed paper ids, now), so
# whatever it writes (matches, outbox rows) commits or rolls back with the papers.
ChangeHook = Callable[[sqlite3.Connection, list[int], datetime], None]

_COLUMNS = "id, arxiv_id, title_key, title, abstract, authors, url, hf_day, upvotes"


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.db = sqlite_utils.Database(self.conn)
        self.db.enable_wal()
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the named migrations not yet applied, each in its own transaction."""
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")}
        applied = []
        for name, fn in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                fn(self.db)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, iso(utcnow())))
            applied.append(name)
        return applied

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- ingest ----------------------------------------------------------------------------

    def ingested_document(self, content_hash: str) -> IngestResult | None:
        """The earlier successful ingest of this exact content, as a no-change result."""
        row = self.conn.execute(
            "SELECT id, papers, page_day FROM documents WHERE content_hash = ? "
            "AND error IS NULL ORDER BY id LIMIT 1",
            (content_hash,),
        ).fetchone()
        if row is None:
            return None
        return IngestResult(row["id"], row["papers"], duplicate=True, page_day=row["page_day"])

    def record_failure(
        self, source: str, location: str, content_hash: str, error: str, now: datetime
    ) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO documents (source, location, content_hash, fetched_at, error) "
                "VALUES (?, ?, ?, ?, ?)",
                (source, location, content_hash, iso(now), error),
            )

    def ingest(
        self,
        digest: Digest,
        *,
        source: str,
        location: str,
        content_hash: str,
        now: datetime,
        on_change: ChangeHook | None = None,
    ) -> IngestResult:
        """Store one document in one transaction; the same content twice changes nothing."""
        with self.transaction():
            earlier = self.ingested_document(content_hash)
            if earlier is not None:
                return earlier
            stamp = iso(now)
            day = digest.page_day.isoformat() if digest.page_day else ""
            cur = self.conn.execute(
                "INSERT INTO documents (source, location, content_hash, kind, page_day, "
                "fetched_at, papers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    location,
                    content_hash,
                    digest.kind,
                    day or None,
                    stamp,
                    len(digest.papers),
                ),
            )
            doc_id = int(cur.lastrowid or 0)
            result = IngestResult(doc_id, len(digest.papers), page_day=day or None)
            ids = self._upsert_papers(digest.papers, stamp, result)
            self.conn.execute(
                "INSERT OR IGNORE INTO pages (source, location, page_day) VALUES (?, ?, ?)",
                (source, location, day),
            )
            page_id = self.conn.execute(
                "SELECT id FROM pages WHERE source = ? AND location = ? AND page_day = ?",
                (source, location, day),
            ).fetchone()[0]
            self.conn.executemany(
                "INSERT OR IGNORE INTO sightings VALUES (?, ?, ?, ?)",
                [(pid, page_id, doc_id, stamp) for pid in dict.fromkeys(ids)],
            )
            self.conn.execute(
                "UPDATE documents SET new = ?, gained = ? WHERE id = ?",
                (len(result.new), len(result.gained), doc_id),
            )
            if on_change is not None and (result.new or result.gained):
                on_change(self.conn, result.new + result.gained, now)
            return result

    def _upsert_papers(
        self, papers: Iterable[Paper], stamp: str, result: IngestResult
    ) -> list[int]:
        papers = list(papers)
        keys = [p.key for p in papers]
        hashes = {k: key_hash(k) for k in keys}
        by_arxiv, by_key = self._existing(papers, hashes)
        next_id = int(self.conn.execute("SELECT coalesce(max(id), 0) FROM papers").fetchone()[0])
        updates: dict[int, dict[str, Any]] = {}
        ids: list[int] = []
        new_ids: set[int] = set()
        for paper, key in zip(papers, keys, strict=True):
            row = by_arxiv.get(paper.arxiv_id) if paper.arxiv_id else None
            if row is None:
                candidates = by_key.get(key, [])
                if paper.arxiv_id:
                    candidates = [c for c in candidates if c["arxiv_id"] is None]
                row = candidates[0] if candidates else None
            if row is None:
                next_id += 1
                row = _row_from_paper(next_id, paper, key)
                new_ids.add(next_id)
                updates[next_id] = row
                by_key.setdefault(key, []).append(row)
            else:
                if _merge(row, paper) and row["id"] not in new_ids:
                    updates[row["id"]] = row
                    if row.pop("_gained", False) and row["id"] not in result.gained:
                        result.gained.append(row["id"])
                same_key = by_key.setdefault(key, [])
                if not any(r is row for r in same_key):
                    same_key.append(row)
            if row["arxiv_id"]:
                by_arxiv[row["arxiv_id"]] = row
            ids.append(row["id"])
        fresh = [updates.pop(pid) for pid in sorted(new_ids)]
        self.conn.executemany(
            f"INSERT INTO papers ({_COLUMNS}, title_hash, first_seen, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*_values(r), hashes[r["title_key"]], stamp, stamp) for r in fresh],
        )
        self.conn.executemany(
            "UPDATE papers SET arxiv_id = ?, abstract = ?, authors = ?, url = ?, hf_day = ?, "
            "upvotes = ?, updated_at = ? WHERE id = ?",
            [
                (
                    r["arxiv_id"],
                    r["abstract"],
                    r["authors"],
                    r["url"],
                    r["hf_day"],
                    r["upvotes"],
                    stamp,
                    r["id"],
                )
                for r in updates.values()
            ],
        )
        result.new.extend(sorted(new_ids))
        return ids

    def _existing(
        self, papers: list[Paper], title_hashes: dict[str, int]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """Stored rows that may be these papers: same arXiv id, or same title key."""
        arxiv_ids = sorted({p.arxiv_id for p in papers if p.arxiv_id})
        wanted = title_hashes.keys()
        hashes = sorted(set(title_hashes.values()))
        rows: dict[int, dict[str, Any]] = {}
        lookups: tuple[tuple[str, list[Any]], ...] = (
            ("arxiv_id", arxiv_ids),
            ("title_hash", hashes),
        )
        for column, values in lookups:
            for chunk in _chunks(values, 500):
                marks = ",".join("?" * len(chunk))
                for r in self.conn.execute(
                    f"SELECT {_COLUMNS} FROM papers WHERE {column} IN ({marks}) ORDER BY id", chunk
                ):
                    if column == "arxiv_id" or r["title_key"] in wanted:
                        rows.setdefault(r["id"], dict(r))
        by_arxiv = {r["arxiv_id"]: r for r in rows.values() if r["arxiv_id"]}
        by_key: dict[str, list[dict[str, Any]]] = {}
        for r in rows.values():
            by_key.setdefault(r["title_key"], []).append(r)
        return by_arxiv, by_key

    # -- source state ----------------------------------------------------------------------

    def source_state(self, name: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM source_state WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else {"name": name, "consecutive_failures": 0, "failure_alerted": 0}

    def save_source_state(self, name: str, **values: Any) -> None:
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO source_state (name) VALUES (?)", (name,))
            sets = ", ".join(f"{k} = ?" for k in values)
            self.conn.execute(
                f"UPDATE source_state SET {sets} WHERE name = ?", (*values.values(), name)
            )

    # -- queries ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            t: int(self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("papers", "sightings", "documents")
        }

    def papers(
        self,
        *,
        since: date | None = None,
        limit: int | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Papers newest first, with their sighting count, as plain dicts."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("p.first_seen >= ?")
            args.append(since.isoformat())
        if ids is not None:
            id_list = list(ids)
            where.append(f"p.id IN ({','.join('?' * len(id_list))})")
            args.extend(id_list)
        sql = (
            f"SELECT p.*, (SELECT count(*) FROM sightings s WHERE s.paper_id = p.id) "
            f"AS sightings FROM papers p {'WHERE ' + ' AND '.join(where) if where else ''} "
            "ORDER BY p.id DESC"
        )  # ids grow with first_seen
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in self.conn.execute(sql, args)]

    def iter_papers(self, batch: int = 2000) -> Iterator[dict[str, Any]]:
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM papers WHERE id > ? ORDER BY id LIMIT {batch}", (last,)
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield dict(r)
            last = rows[-1]["id"]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK: one writer, no surprise upgrades to write locks."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        self.nested = self.conn.in_transaction
        if not self.nested:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.nested:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


_to_json = json.JSONEncoder(ensure_ascii=False).encode


_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _row_from_paper(pid: int, paper: Paper, key: str) -> dict[str, Any]:
    return {
        "id": pid,
        "arxiv_id": paper.arxiv_id,
        "title_key": key,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": _to_json(list(paper.authors)),
        "url": paper.url,
        "hf_day": paper.hf_day.isoformat() if paper.hf_day else None,
        "upvotes": paper.upvotes,
    }


def _values(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r["id"],
        r["arxiv_id"],
        r["title_key"],
        r["title"],
        r["abstract"],
        r["authors"],
        r["url"],
        r["hf_day"],
        r["upvotes"],
    )


def _merge(row: dict[str, Any], paper: Paper) -> bool:
    """Fill what the stored row lacks from `paper`; True if anything changed.

    Sets row["_gained"] when the row gains text it lacked (abstract or authors), which is
    what makes a stored paper worth matching again.
    """
    changed = False
    if paper.arxiv_id and not row["arxiv_id"]:
        row["arxiv_id"], row["url"] = paper.arxiv_id, paper.url
        changed = True
    if paper.abstract and not row["abstract"]:
        row["abstract"] = paper.abstract
        row["_gained"] = changed = True
    if paper.authors and row["authors"] == "[]":
        row["authors"] = json.dumps(list(paper.authors))
        row["_gained"] = changed = True
    if paper.url and not row["url"]:
        row["url"] = paper.url
        changed = True
    if paper.hf_day and not row["hf_day"]:
        row["hf_day"] = paper.hf_day.isoformat()
        changed = True
    if paper.upvotes is not None and paper.upvotes != row["upvotes"]:
        row["upvotes"] = paper.upvotes
        changed = True
    return changed
