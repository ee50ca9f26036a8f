"""The SQLite store: one connection, one repository per group of tables, transactions.

Each table's SQL lives in exactly one repository module (papers, deliveries,
source_state) and the schema in `schema`; everything outside `daemon/store/` calls them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from daemon.config import DB_NAME
from daemon.core.errors import PaperwatchError
from daemon.core.log import event
from daemon.store import schema
from daemon.store.citations import CitationRepo
from daemon.store.deliveries import STATUSES, DeliveryRepo
from daemon.store.marks import MarksRepo
from daemon.store.papers import PaperRepo
from daemon.store.search_index import SearchIndexRepo
from daemon.store.similar import SimilarRepo
from daemon.store.source_state import ConfigStateRepo, SourceStateRepo

__all__ = ["STATUSES", "Store", "StoreError"]


class StoreError(PaperwatchError):
    """The database or its directory cannot be used; names the path and the reason."""


@functools.cache
def _migrated_empty() -> bytes:
    """The pages of an empty database with every migration applied: made once per
    process, in memory, by the migrations themselves."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        schema.migrate(sqlite_utils.Database(conn))
        conn.execute("COMMIT")
        return conn.serialize()
    finally:
        conn.close()


def _place_new(path: Path) -> None:
    """A new database is a copy of the migrated empty one (1 ms; migrating it costs 10 ms,
    which a bench or a test suite making hundreds pays each time), linked in whole under
    its name unless another process made it first. Where a link cannot be made, the
    store migrates the new file itself, as it does any database behind the code."""
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        with open(part, "wb") as out:
            out.write(_migrated_empty())
            out.flush()
            os.fsync(out.fileno())  # whole on disk before it has its name
        os.link(part, path)
    except FileExistsError:
        pass  # another process made it first: opened as it is
    except OSError as exc:  # no hard links on this file system, or no room: migrated
        event("database_not_copied", logging.INFO, path=str(path), error=repr(exc))
    finally:
        part.unlink(missing_ok=True)


class Store:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        """`readonly`: a reader (the web interface) that never writes, not even a
        migration; the database must exist."""
        self.path = path
        if readonly:
            self._open_readonly(path)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{path.parent}: cannot create the state directory ({exc.strerror})"
            ) from None
        if not path.exists():
            _place_new(path)
        try:
            self.conn = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database ({exc})") from None
        try:
            self.conn.row_factory = sqlite3.Row
            self.db = sqlite_utils.Database(self.conn)
            self.db.enable_wal()
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except sqlite3.Error as exc:
            self.conn.close()
            raise StoreError(f"{path}: cannot use the database ({exc})") from None
        self.papers = PaperRepo(self.conn)
        self.deliveries = DeliveryRepo(self.conn)
        self.sources = SourceStateRepo(self.db)
        self.similar = SimilarRepo(self.conn)
        self.search_index = SearchIndexRepo(self.conn)
        self.marks = MarksRepo(self.conn)
        self.citations = CitationRepo(self.conn)
        self.config_state = ConfigStateRepo(self.db)

    def _open_readonly(self, path: Path) -> None:
        try:
            self.conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False
            )
            self.conn.row_factory = sqlite3.Row
            self.db = sqlite_utils.Database(self.conn)
            self.conn.execute("SELECT 1 FROM papers LIMIT 1")
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot read the database ({exc})") from None
        self.papers = PaperRepo(self.conn)
        self.deliveries = DeliveryRepo(self.conn)
        self.sources = SourceStateRepo(self.db)
        self.similar = SimilarRepo(self.conn)
        self.search_index = SearchIndexRepo(self.conn)
        self.marks = MarksRepo(self.conn)
        self.citations = CitationRepo(self.conn)
        self.config_state = ConfigStateRepo(self.db)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply pending migrations in one write transaction (concurrent openers wait).
        Every job opens the store: an up-to-date database is checked without a write lock."""
        if schema.up_to_date(self.db):
            return []
        with self.transaction():
            return schema.migrate(self.db)

    def migrations(self) -> list[str]:
        return schema.applied(self.db)

    def transaction(self) -> Transaction:
        return Transaction(self.conn)

    def data_version(self) -> int:
        """A number that changes when another connection (another process) commits."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that can fail alone: rolled back on an exception,
        which goes on to the caller; what came before it stays."""
        self.conn.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO part")
            self.conn.execute("RELEASE part")
            raise
        self.conn.execute("RELEASE part")

    def absorb(self, pairs: dict[int, int]) -> None:
        """Each stored paper `gone` is found to be paper `keep` (`pairs[gone] = keep`):
        what refers to it moves over, each table by its own repository, then it goes."""
        for gone, keep in pairs.items():
            self.deliveries.move_paper(gone, keep)
            self.similar.move_paper(gone, keep)
            self.marks.move_paper(gone, keep)
            self.citations.move_paper(gone, keep)
            self.papers.absorb(gone, keep)


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK: one writer, no surprise upgrades to write locks.
    Nested use joins the outer transaction."""

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
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def usable(state_dir: Path) -> str | None:
    """Why `state_dir` cannot hold paperwatch's state, or None; creates nothing."""
    probe = state_dir
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{state_dir}: {probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{state_dir}: {probe} is not writable"
    db = state_dir / DB_NAME
    if not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"{db}: not a usable database ({exc})"
    return None
