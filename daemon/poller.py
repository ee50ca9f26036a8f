"""Run a source: poll it, keep its state, back off on failure, tell the admin.

Used by `paperwatch poll` (one cycle now) and by the daemon's jobs and watchers. Nothing
here knows a source kind: each kind's module brings its own `poll`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Unpack

from daemon.config import Config
from daemon.core.backoff import backoff
from daemon.core.clock import days_to_poll, iso
from daemon.core.errors import FetchError, PaperwatchError
from daemon.core.log import event, log
from daemon.core.secrets import scrub
from daemon.delivery.admin import admin_message
from daemon.delivery.matches import match_hook, record_matches
from daemon.ingest.document import Beat, ChangeHook, IngestResult, ingest_bytes
from daemon.matching.citations import citing_matches, followed
from daemon.net.http import HttpClient
from daemon.runtime import Runtime
from daemon.sources import Memory, Outcome, Source
from daemon.sources.contract import IngestOptions
from daemon.store import Store
from daemon.store.rows import SourceState

MAX_BACKOFF = timedelta(hours=6)


@dataclass
class PollContext:
    """What a kind's `poll` works with: the store, the runtime, the time, its memory."""

    store: Store
    runtime: Runtime
    now: datetime
    memory: Memory = field(default_factory=dict)
    notify: bool = True  # match new papers and write alerts (False: load history)
    deadline: float = 0.0  # clock.monotonic() by which the poll must stop
    beat: Beat | None = None  # progress within a document (a watcher's stall clock)

    def __post_init__(self) -> None:
        if not self.deadline:
            limit = self.runtime.config.http.job_time_limit
            self.deadline = self.runtime.clock.monotonic() + limit

    @property
    def config(self) -> Config:
        return self.runtime.config

    @property
    def http(self) -> HttpClient:
        return self.runtime.http

    def state(self, source: Source) -> SourceState:
        return self.store.sources.get(source.name)

    def conditional(self, source: Source) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the source's last answer."""
        state = self.state(source)
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return headers

    def save_state(self, source: Source, **values: Any) -> None:
        self.store.sources.save(source.name, **values)

    def check_time(self, source: Source) -> None:
        """The job's hard limit, checked between requests (each request has a timeout)."""
        if self.runtime.clock.monotonic() > self.deadline:
            raise FetchError(
                f"{source.name}: over the job time limit "
                f"({self.config.http.job_time_limit:g}s), stopped"
            )

    def days_to_fetch(self, source: Source) -> list[date]:
        last = self.state(source).last_success_at
        last_day = datetime.fromisoformat(last).date() if last else None
        return days_to_poll(self.now.date(), last_day, source.options["catch_up_days"])

    def ingest(
        self,
        outcome: Outcome,
        source: Source,
        data: bytes | bytearray,  # a bytearray is emptied once parsed (see ingest_bytes)
        location: str,
        **options: Unpack[IngestOptions],
    ) -> IngestResult:
        result = ingest_bytes(
            self.store,
            data,
            name=options.get("name", location),
            source=source.name,
            location=location,
            ref_time=options.get("ref_time", self.now),
            now=self.now,
            on_change=_from(match_hook(self.runtime), options.get("alert_from"))
            if self.notify
            else None,
            select=options.get("select"),
            alert_replacements=options.get("alert_replacements", False),
            authority=source.kind.authority,
            beat=self.beat,
        )
        if result.skipped:
            outcome.notes.append(
                f"{len(result.skipped)} papers of {options.get('name', location)} "
                f"skipped ({result.skipped[0]})"
            )
        papers = self.store.papers.by_ids(result.new) if log.isEnabledFor(logging.DEBUG) else ()
        for paper in papers:
            event("new_paper", logging.DEBUG, source=source.name, id=paper.id, title=paper.title)
        outcome.documents += 1
        outcome.papers += result.papers
        outcome.new += len(result.new)
        outcome.gained += len(result.gained)
        return result

    def followed_citations(self) -> list[str]:
        return followed(self.config)

    def alert_citations(self, cited: str, paper_ids: list[int]) -> int:
        if not self.notify:
            return 0
        found = citing_matches(self.store, self.config, cited, paper_ids)
        with self.store.transaction():
            record_matches(self.store, self.config, found, self.now)
        return len(found)


def _from(hook: ChangeHook, day: date | None) -> ChangeHook:
    """`hook` for the papers whose own day is `day` or later (all, if `day` is None)."""
    if day is None:
        return hook

    def recent(store: Store, paper_ids: list[int], now: datetime) -> None:
        since = day.isoformat()
        kept = [
            p.id
            for p in store.papers.by_ids(paper_ids)
            if len(p.day or "") == 10 and (p.day or "") >= since
        ]
        if kept:
            hook(store, kept, now)

    return recent


def run_source(ctx: PollContext, source: Source, force: bool = True) -> Outcome | None:
    """Poll one source and record the result; None if skipped (backing off) or failed."""
    store, now = ctx.store, ctx.now
    state = store.sources.get(source.name)
    if not force and state.retry_after and state.retry_after > iso(now):
        return None
    try:
        outcome = source.kind.poll(ctx, source)
    except PaperwatchError as exc:
        _failed(ctx, source, state, str(exc))
        return None
    except Exception as exc:  # a bug a hostile answer finds: a failure all the same
        _failed(ctx, source, state, f"{type(exc).__name__}: {exc}"[:500])
        return None
    if state.failure_alerted:
        admin_message(
            ctx.runtime,
            f"paperwatch: source {source.name} recovered",
            f"Source {source.name} works again after {state.consecutive_failures} failures.",
        )
    store.sources.save(
        source.name,
        last_poll_at=iso(now),
        last_success_at=iso(now),
        last_result=outcome.summary(),
        last_error=None,
        consecutive_failures=0,
        retry_after=None,
        failure_alerted=0,
    )
    event(
        "poll",
        logging.INFO if outcome.documents or outcome.notes else logging.DEBUG,
        source=source.name,
        result="ok",
        documents=outcome.documents,
        papers=outcome.papers,
        new=outcome.new,
        gained=outcome.gained,
        notes="; ".join(outcome.notes) or None,
    )
    return outcome


def _failed(ctx: PollContext, source: Source, state: SourceState, error: str) -> None:
    """Back off (the interval doubling per failure, at most 6 h); alert the admin once.
    The error is kept and sent scrubbed (a URL in it may hold a secret)."""
    error = scrub(error)
    failures = state.consecutive_failures + 1
    retry = ctx.now + backoff(source.every or source.kind.every, failures, MAX_BACKOFF)
    event(
        "poll",
        logging.WARNING,
        source=source.name,
        result="failed",
        error=error,
        failures=failures,
        retry_after=iso(retry),
    )
    alerted = state.failure_alerted
    if failures >= ctx.config.alert_after_failures and not alerted:
        alerted = admin_message(
            ctx.runtime,
            f"paperwatch: source {source.name} fails",
            f"Source {source.name} failed {failures} times in a row. Last error: {error}",
        )
    ctx.store.sources.save(
        source.name,
        last_poll_at=iso(ctx.now),
        last_result="failed",
        last_error=error,
        consecutive_failures=failures,
        retry_after=iso(retry),
        failure_alerted=alerted,
    )
