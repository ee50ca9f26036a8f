"""Run sources: fetch, ingest, match; keep each source's state; back off; tell the admin.

Used by `paperwatch poll` (one cycle now) and by the scheduler's jobs in `paperwatch run`.
"""

from __future__ import annotations

import html
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from daemon.config import Config, Source
from daemon.errors import PaperwatchError
from daemon.http import HttpClient, HttpSettings
from daemon.log import event
from daemon.outbox import match_hook
from daemon.render import Message
from daemon.sources import Outcome, PollContext, folder, hf_daily, url
from daemon.store import Store, iso

MAX_BACKOFF = timedelta(hours=6)
POLLERS = {"hf_daily": hf_daily.poll, "url": url.poll}


def backoff_until(source: Source, failures: int, now: datetime) -> datetime:
    """After n consecutive failures, wait the interval times 2^(n-1) (at most 6 h)."""
    base = source.every or timedelta(minutes=30)
    return now + min(base * (1 << min(max(failures - 1, 0), 20)), MAX_BACKOFF)


def context(store: Store, config: Config, http: HttpClient, now: datetime) -> PollContext:
    return PollContext(
        store,
        config,
        http,
        now,
        match_hook(config),
        time.monotonic() + config.http.job_time_limit.total_seconds(),
    )


def run_source(
    ctx: PollContext, source: Source, inbox: folder.Inbox | None = None, force: bool = True
) -> Outcome | None:
    """Poll one source and record the result; None if skipped (backing off) or failed."""
    store, now = ctx.store, ctx.now
    state = store.source_state(source.name)
    if not force and state.get("retry_after") and state["retry_after"] > iso(now):
        return None
    try:
        if source.type == "folder":
            outcome = folder.poll(ctx, source, inbox)
        else:
            outcome = POLLERS[source.type](ctx, source)
    except PaperwatchError as exc:
        failures = state["consecutive_failures"] + 1
        error = str(exc)
        retry = backoff_until(source, failures, now)
        event(
            "poll",
            logging.WARNING,
            source=source.name,
            result="failed",
            error=error,
            failures=failures,
            retry_after=iso(retry),
        )
        alerted = state["failure_alerted"]
        if failures >= ctx.config.alert_after_failures and not alerted:
            alerted = int(
                admin_message(
                    ctx.config,
                    f"paperwatch: source {source.name} fails",
                    f"Source {source.name} failed {failures} times in a row. Last error: {error}",
                )
            )
        store.save_source_state(
            source.name,
            last_poll_at=iso(now),
            last_result="failed",
            last_error=error,
            consecutive_failures=failures,
            retry_after=iso(retry),
            failure_alerted=alerted,
        )
        return None
    if state["failure_alerted"]:
        admin_message(
            ctx.config,
            f"paperwatch: source {source.name} recovered",
            f"Source {source.name} works again after {state['consecutive_failures']} failures.",
        )
    store.save_source_state(
        source.name,
        last_poll_at=iso(now),
        last_success_at=iso(now),
        last_result=outcome.summary(),
        last_error=None,
        consecutive_failures=0,
        retry_after=None,
        failure_alerted=0,
    )
    if outcome.documents or source.type != "folder":
        event(
            "poll",
            source=source.name,
            result="ok",
            documents=outcome.documents,
            papers=outcome.papers,
            new=outcome.new,
            gained=outcome.gained,
            notes="; ".join(outcome.notes) or None,
        )
    return outcome


def http_settings(config: Config) -> HttpSettings:
    return HttpSettings(
        timeout=config.http.timeout.total_seconds(),
        min_interval=config.http.min_interval.total_seconds(),
        max_bytes=config.http.max_bytes,
        retries=config.http.retries,
    )


def status(store: Store, config: Config) -> dict[str, Any]:
    """What `paperwatch status` shows: each configured source's state, and the outbox."""
    sources = []
    for source in config.sources:
        state = store.source_state(source.name)
        sources.append(
            {
                "name": source.name,
                "type": source.type,
                "schedule": source.schedule(),
                "last_poll_at": state.get("last_poll_at"),
                "last_success_at": state.get("last_success_at"),
                "last_result": state.get("last_result"),
                "last_error": state.get("last_error"),
                "consecutive_failures": state["consecutive_failures"],
                "retry_after": state.get("retry_after"),
                "next_run_at": state.get("next_run_at"),
            }
        )
    counts = dict.fromkeys(("pending", "failed", "sent", "dead"), 0)
    for st, n in store.conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status"):
        counts[st] = n
    return {"sources": sources, "deliveries": counts, "papers": store.counts()["papers"]}


def admin_message(config: Config, title: str, body: str) -> bool:
    """Send straight to admin_channel (not the outbox); True if it was sent."""
    channel = config.channels.get(config.admin_channel or "")
    if channel is None:
        return False
    page = f"<p>{html.escape(body)}</p>"
    error = channel.send(title, Message(title, page, body, body).bodies())
    if error:
        event("admin_alert", logging.WARNING, result="failed", error=error)
        return False
    return True
