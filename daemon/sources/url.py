"""`url` sources: any page or feed; format sniffed; conditional requests (304: nothing)."""

from __future__ import annotations

from daemon.config import Source
from daemon.sources import Outcome, PollContext


def poll(ctx: PollContext, source: Source) -> Outcome:
    outcome = Outcome()
    state = ctx.store.source_state(source.name)
    headers = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    response = ctx.http.get(source.url, headers)
    if response.status == 304:
        outcome.notes.append("not modified")
        return outcome
    ctx.ingest(
        outcome, source, response.body, name=source.url, location=source.url, ref_time=ctx.now
    )
    ctx.store.save_source_state(
        source.name,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
    return outcome
