"""What `paperwatch status`, `/status` and the page's header say: each source's state,
the outbox, the papers stored, unreadable libraries, a rejected config edit."""

from __future__ import annotations

from typing import Any

from daemon.config import Config
from daemon.runtime import build_sources
from daemon.similar.job import library_problems
from daemon.store import STATUSES, Store
from daemon.store.rows import SourceState


def status(store: Store | None, config: Config) -> dict[str, Any]:
    """What `paperwatch status` shows: each configured source's state, and the outbox
    (`store` None: no database yet, nothing has run)."""
    sources = []
    for source in build_sources(config):
        state = store.sources.get(source.name) if store else SourceState(source.name)
        details = state.details
        if source.kind.report is not None:
            details = source.kind.report(source, details)
        sources.append(
            {
                "name": source.name,
                "type": source.type,
                "where": source.describe(),
                "schedule": source.schedule(),
                "last_poll_at": state.last_poll_at,
                "last_success_at": state.last_success_at,
                "last_result": state.last_result,
                "last_error": state.last_error,
                "consecutive_failures": state.consecutive_failures,
                "retry_after": state.retry_after,
                "next_run_at": state.next_run_at,
                "watch_error": state.watch_error,
                "watch_failing_since": state.watch_failing_since,
                "details": details,
            }
        )
    known = store.config_state.get() if store else {}
    return {
        # the last edit of config.toml the daemon refused (None: it runs on the file)
        "config_rejected": (
            {"at": known["rejected_at"], "error": known["rejected_error"]}
            if known.get("rejected_at")
            else None
        ),
        "sources": sources,
        "deliveries": store.deliveries.counts() if store else dict.fromkeys(STATUSES, 0),
        "papers": store.papers.counts()["papers"] if store else 0,
        # similar-watchlists whose library cannot be read now: each keeps its examples
        "libraries": {
            w.name: problems for w in config.watchlists if (problems := library_problems(w))
        },
    }


def alerts(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Deliveries with their match, as `paperwatch alerts --json` shows them."""
    return [
        {
            "id": d.id,
            "watchlist": d.match.watchlist,
            "paper_id": d.match.paper.id,
            "title": d.match.paper.title,
            "channel": d.channel,
            "status": d.status,
            "attempts": d.attempts,
            "matched": [{"term": t, "field": f} for t, f in d.match.matched],
            "title_only": int(d.match.title_only),
            "created_at": d.match.created_at,
            "sent_at": d.sent_at,
            "due_at": d.due_at,
            "last_error": d.last_error,
            "next_try_at": d.due_at if d.status in ("pending", "failed") else None,
        }
        for d in store.deliveries.listing(status)
    ]
