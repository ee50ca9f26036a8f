"""`url`: any page or feed; format sniffed; conditional requests (304: nothing to do)."""

from __future__ import annotations

from datetime import timedelta

from daemon.sources.contract import Context, Key, Outcome, Source, SourceKind, register


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    url = source.options["url"]
    response = ctx.http.get(url, ctx.conditional(source))
    if response.status == 304:
        outcome.notes.append("not modified")
        return outcome
    ctx.ingest(
        outcome,
        source,
        response.body,
        url,
    )
    ctx.save_state(
        source,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
    return outcome


KIND = register(
    SourceKind(
        name="url",
        summary="any digest page or feed, fetched with conditional requests",
        keys=(Key("url", "url", help="the page or feed"),),
        poll=poll,
        describe=lambda source: str(source.options["url"]),
        every=timedelta(minutes=30),
    )
)
