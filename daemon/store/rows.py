"""What the store hands out: typed rows, JSON already decoded, so no caller reads a column
by a string or parses what SQLite stored."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from daemon.core.models import abs_url, doi_url, pubmed_url


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A stored paper; a query that does not select a column leaves its default."""

    id: int
    title: str
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    arxiv_id: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    orcids: tuple[tuple[str, str], ...] = ()  # (author as written, ORCID iD)
    categories: tuple[str, ...] = ()
    announce: str | None = None  # how it was first seen: new, cross, replace, replace-cross
    title_key: str = ""
    url: str | None = None
    hf_day: str | None = None
    upvotes: int | None = None
    version: int | None = None
    announced: str | None = None
    day: str | None = None  # its own day (models.paper_day), not first_seen
    first_seen: str | None = None
    updated_at: str | None = None
    sightings: int = 0  # how many times it was seen (in the queries that count them)

    @classmethod
    def of(cls, row: sqlite3.Row) -> StoredPaper:
        """From a row whose columns carry the field names (a match's paper id as `id`)."""
        values = {k: row[k] for k in row.keys() if k in _PAPER_FIELDS}  # noqa: SIM118
        values["authors"] = tuple(json.loads(values.get("authors") or "[]"))
        values["orcids"] = tuple(json.loads(values.get("orcids") or "{}").items())
        values["categories"] = tuple(json.loads(values.get("categories") or "[]"))
        return cls(**values)

    @property
    def link(self) -> str | None:
        """Where it is read: its own link, else its arXiv abstract page, else its DOI's,
        else its PubMed page."""
        if self.url:
            return self.url
        if self.arxiv_id:
            return abs_url(self.arxiv_id)
        if self.doi:
            return doi_url(self.doi)
        return pubmed_url(self.pmid) if self.pmid else None


_PAPER_FIELDS = frozenset(StoredPaper.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """A paper that matched a watchlist: which terms where, or its similarity facts."""

    id: int
    watchlist: str
    paper: StoredPaper
    matched: tuple[tuple[str, str], ...]  # (term, field); field "similar" for its words
    title_only: bool  # decided without the abstract, which never came
    created_at: str
    score: float | None = None
    explain: dict[str, Any] | None = None  # a similarity match's facts (score, percentile...)

    @classmethod
    def of(cls, row: sqlite3.Row) -> StoredMatch:
        """From a row of the match's columns (`match_id`, `watchlist`, `matched`,
        `title_only`, `created_at`, `score`, `explain`) and its paper's."""
        keys = row.keys()
        return cls(
            id=row["match_id"],
            watchlist=row["watchlist"],
            paper=StoredPaper.of(row),
            matched=tuple((t, f) for t, f in json.loads(row["matched"])),
            title_only=bool(row["title_only"]),
            created_at=row["created_at"],
            score=row["score"] if "score" in keys else None,
            explain=json.loads(row["explain"]) if "explain" in keys and row["explain"] else None,
        )


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    """One match to send on one channel, and how its sending went."""

    id: int
    channel: str
    status: str
    attempts: int
    match: StoredMatch
    created_at: str  # when it was made, or revived: its give-up clock starts here
    due_at: str | None = None
    sent_at: str | None = None
    last_error: str | None = None

    @classmethod
    def of(cls, row: sqlite3.Row) -> StoredDelivery:
        keys = row.keys()
        return cls(
            id=row["delivery_id"],
            channel=row["channel"],
            status=row["status"],
            attempts=row["attempts"],
            match=StoredMatch.of(row),
            created_at=row["delivery_created_at"],
            **{k: row[k] for k in ("due_at", "sent_at", "last_error") if k in keys},
        )


@dataclass(frozen=True, slots=True)
class SourceState:
    """How a source's polls went, its HTTP validators, and what its kind keeps
    (`details`, decoded)."""

    name: str
    last_poll_at: str | None = None
    last_success_at: str | None = None
    last_result: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    retry_after: str | None = None  # backoff: no poll before this time
    next_run_at: str | None = None
    failure_alerted: bool = False
    etag: str | None = None
    last_modified: str | None = None
    watch_error: str | None = None
    watch_failing_since: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: dict[str, Any]) -> SourceState:
        values = {k: v for k, v in row.items() if k in _STATE_FIELDS}
        values["details"] = json.loads(values.get("details") or "{}")
        values["failure_alerted"] = bool(values.get("failure_alerted"))
        return cls(**values)


_STATE_FIELDS = frozenset(SourceState.__dataclass_fields__)
