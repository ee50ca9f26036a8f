"""The ingest path shared by every way in (CLI, sources, inbox): parse, then store.

One document is one transaction: its papers, sightings and whatever the change hook
writes (matches and their deliveries) commit together or not at all. Within it, one
paper's failure is that paper's: a record that cannot be read, or a paper that cannot be
stored, is left out with its reason (logged, kept with the document, counted in the
source's result); the document's other papers are stored. Papers are converted (LaTeX)
before the transaction, so a slow document holds the write lock only to write.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from daemon.core.clock import iso
from daemon.core.errors import ParseError
from daemon.core.log import event
from daemon.core.models import Digest, Paper, has_words
from daemon.ingest.identity import Authority, Merged, as_stored, no_authority, store_papers
from daemon.parse import parse_document
from daemon.parse.formats import MAX_REASON, reason
from daemon.store import Store

# Called inside the ingest transaction with (store, changed paper ids, now), so whatever
# it writes commits or rolls back with the papers.
ChangeHook = Callable[[Store, list[int], datetime], None]
# Called once per paper prepared: a long document is progress, not a stall (the watchdog)
Beat = Callable[[], None]
# the disk's or the database's failures, not a paper's: the document is tried again later
DATABASE_FAULTS = (OSError, sqlite3.OperationalError, sqlite3.InternalError)


@dataclass
class IngestResult:
    """What one document changed: ids of new papers and of papers that gained text."""

    document_id: int | None
    papers: int
    new: list[int] = field(default_factory=list)
    gained: list[int] = field(default_factory=list)
    duplicate: bool = False
    page_day: str | None = None  # the day the document showed, as stored
    skipped: list[str] = field(default_factory=list)  # why each paper left out was


def content_hash(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def _earlier(store: Store, digest_hash: str) -> IngestResult | None:
    row = store.papers.document_by_hash(digest_hash)
    if row is None:
        return None
    return IngestResult(row["id"], row["papers"], duplicate=True, page_day=row["page_day"])


def ingest_bytes(
    store: Store,
    data: bytes | bytearray,
    *,
    name: str,
    source: str,
    location: str,
    ref_time: datetime,
    now: datetime,
    on_change: ChangeHook | None = None,
    select: Callable[[Paper], Paper | None] | None = None,
    alert_replacements: bool = False,
    authority: Authority = no_authority,
    beat: Beat | None = None,
) -> IngestResult:
    """Parse and store one document (each paper as `select` keeps or changes it). A
    ParseError is recorded and re-raised; nothing else is written for a document that fails.
    A `bytearray` is consumed: emptied once parsed, its memory freed before storing."""
    digest_hash = content_hash(data)
    earlier = _earlier(store, digest_hash)
    if earlier is not None:
        return earlier

    def failed(error: str) -> None:
        """The document's failure, recorded (a later copy of it is not read again)."""
        with store.transaction():
            store.papers.add_document(
                source=source,
                location=location,
                content_hash=digest_hash,
                fetched_at=iso(now),
                error=error,
            )

    try:
        digest = parse_document(data, name, ref_time)
    except ParseError as exc:
        _free(data)
        failed(str(exc))
        raise
    _free(data)
    if select is not None:
        digest = replace(digest, papers=tuple(p for p in map(select, digest.papers) if p))
    try:
        return ingest_digest(
            store,
            digest,
            source=source,
            location=location,
            content_hash=digest_hash,
            now=now,
            on_change=on_change,
            alert_replacements=alert_replacements,
            authority=authority,
            beat=beat,
        )
    except DATABASE_FAULTS:
        raise  # the disk or the database, not the document: tried again later
    except Exception as exc:  # one document's failure, never the caller's
        cause: Exception = exc
    error = f"{name}: cannot be stored ({type(cause).__name__}: {cause})"[:300]
    failed(error)
    raise ParseError(error)


def _free(data: bytes | bytearray) -> None:
    """Empty a consumable buffer now that it is parsed. A failed parse's traceback may
    still view it; then it is freed with the error instead."""
    if isinstance(data, bytearray):
        with contextlib.suppress(BufferError):
            data.clear()


def ingest_digest(
    store: Store,
    digest: Digest,
    *,
    source: str,
    location: str,
    content_hash: str,
    now: datetime,
    on_change: ChangeHook | None = None,
    alert_replacements: bool = False,
    authority: Authority = no_authority,
    beat: Beat | None = None,
) -> IngestResult:
    """Store one parsed document in one transaction; the same content twice changes nothing.
    Its papers are written together; if that fails for a reason of theirs (a value SQLite
    cannot hold, a bug a hostile paper finds), the transaction is rolled back and they are
    written one by one, each in a savepoint, leaving out the ones that fail (a savepoint
    costs every document a statement journal: a third of the ingest, so only then)."""
    papers, unfit = _prepared(digest.papers, beat)

    def write(together: bool) -> IngestResult:
        with store.transaction():
            earlier = _earlier(store, content_hash)
            if earlier is not None:
                return earlier
            stamp = iso(now)
            day = digest.page_day.isoformat() if digest.page_day else ""
            doc_id = store.papers.add_document(
                source=source,
                location=location,
                content_hash=content_hash,
                fetched_at=stamp,
                kind=digest.kind,
                page_day=day or None,
                papers=len(digest.papers),
            )
            merged, unstored = _store(store, papers, stamp, alert_replacements, authority, together)
            skipped = [*digest.skipped, *unfit, *unstored]
            if skipped:
                store.papers.set_document_skipped(doc_id, skipped)
            store.papers.add_sightings(
                source=source,
                location=location,
                page_day=day,
                document_id=doc_id,
                paper_ids=merged.ids,
                stamp=stamp,
            )
            store.papers.set_document_counts(doc_id, len(merged.new), len(merged.gained))
            if on_change is not None and (merged.new or merged.gained):
                on_change(store, merged.new + merged.gained, now)
            return IngestResult(
                doc_id,
                len(digest.papers) - len(unfit) - len(unstored),
                merged.new,
                merged.gained,
                page_day=day or None,
                skipped=skipped,
            )

    try:
        result = write(together=True)
    except _OneByOne as exc:
        event("stored_paper_by_paper", logging.WARNING, papers=len(papers), reason=exc.reason)
        result = write(together=False)
    for why in result.skipped:
        event("paper_skipped", logging.WARNING, source=source, reason=why)
    return result


class _OneByOne(Exception):
    """Storing a document's papers together failed for a reason of theirs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _prepared(papers: tuple[Paper, ...], beat: Beat | None) -> tuple[list[Paper], list[str]]:
    """Each paper as it is stored (identifiers, LaTeX converted), outside the write lock;
    and why each left out was: a title without a word (`$$`, `{}`) names no paper, and
    its empty title key would make one of every such paper."""
    prepared, unfit = [], []
    for number, paper in enumerate(papers, 1):
        stored = as_stored(paper)
        if has_words(stored.title):
            prepared.append(stored)
        else:
            unfit.append(f"paper {number} ({paper.title[:60]!r}) not stored: no word in its title")
        if beat is not None:
            beat()
    return prepared, unfit


def _store(
    store: Store,
    papers: list[Paper],
    stamp: str,
    alert: bool,
    authority: Authority,
    together: bool,
) -> tuple[Merged, list[str]]:
    """The papers stored (and why each left out was): `together`, in one go (a failure of
    theirs is _OneByOne); else one by one, each in a savepoint, leaving out those that
    fail."""
    if together:
        try:
            return store_papers(store, papers, stamp, alert, authority), []
        except DATABASE_FAULTS:
            raise
        except Exception as exc:  # whose? the caller tries them one by one
            raise _OneByOne(reason(exc)) from exc
    merged, skipped = Merged(), []
    for number, paper in enumerate(papers, 1):
        try:
            with store.savepoint():
                merged.add(store_papers(store, [paper], stamp, alert, authority))
        except DATABASE_FAULTS:
            raise
        except Exception as exc:  # this paper's failure, never its document's
            what = f"paper {number} ({paper.title[:60]!r})"
            skipped.append(f"{what} not stored: {reason(exc)}"[:MAX_REASON])
    return merged, skipped


IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".swp", ".error.txt")


def is_digest_file(path: Path) -> bool:
    """Files worth reading: not hidden, not a partial download, not our own error notes."""
    return not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)
