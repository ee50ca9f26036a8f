"""`biorxiv`: bioRxiv or medRxiv, from their API's listing of the versions posted per day.

Each run asks `details/{server}/{from}/{to}/{cursor}` for yesterday and today and every day
missed since the last successful poll (up to `catch_up_days`), page after page (the answer
says where the next page starts and how many versions there are in all, the latter as a
string), one request at a time and a second apart at least. Each page is one document,
parsed by daemon.parse.biorxiv_json: a paper is its DOI; a new version of a stored paper
updates it quietly. `categories` keeps only the papers of those subject collections.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from daemon.core.errors import FetchError, ParseError
from daemon.core.models import Paper
from daemon.parse import json_text
from daemon.sources.contract import (
    Context,
    Key,
    Outcome,
    Source,
    SourceKind,
    catch_up_key,
    register,
)

MAX_PAGES = 500  # 50,000 versions: a month of bioRxiv
PACE = ("biorxiv", 1.0)  # one request a second at most, to either server


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    days = ctx.days_to_fetch(source)
    window = f"{days[0].isoformat()}/{days[-1].isoformat()}"
    wanted = {_subject(c) for c in source.options["categories"]}
    cursor: int | None = 0
    for _ in range(MAX_PAGES):
        ctx.check_time(source)
        url = f"{source.base_url}/details/{source.options['server']}/{window}/{cursor}"
        body = ctx.http.get(url, pace=PACE).body
        after = _next_cursor(body, url)  # an error answer fails here, before it is stored
        ctx.ingest(
            outcome,
            source,
            body,
            url,
            select=(lambda p: _in(p, wanted)) if wanted else None,
        )
        if after is None:
            return outcome
        cursor = after
    raise FetchError(f"{source.base_url}: more than {MAX_PAGES} pages for {window}")


def _next_cursor(body: bytes, url: str) -> int | None:
    """Where the next page starts, or None after the last one. The answer's `cursor` and
    `count` are numbers, its `total` a string ("152918")."""
    try:
        message: dict[str, Any] = json_text.loads(body)["messages"][0]
        status = str(message.get("status", ""))
        if status == "no posts found":
            return None
        if status != "ok":
            raise FetchError(f"{url}: the API says {status[:200]!r}")
        start, count, total = (int(str(message[k])) for k in ("cursor", "count", "total"))
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        raise ParseError(f"{url}: no paging in the answer ({exc!r})") from None
    after = start + count
    return after if count > 0 and after < total else None


def _subject(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def _in(paper: Paper, wanted: set[str]) -> Paper | None:
    return paper if any(_subject(c) in wanted for c in paper.categories) else None


def _server(value: str) -> str | None:
    return None if value in ("biorxiv", "medrxiv") else 'must be "biorxiv" or "medrxiv"'


def _describe(source: Source) -> str:
    subjects = ", ".join(source.options["categories"]) or "all subjects"
    return f"{source.options['server']} ({subjects}) via {source.base_url}"


KIND = register(
    SourceKind(
        name="biorxiv",
        summary="bioRxiv or medRxiv: the versions posted per day, from their API",
        keys=(
            Key("server", "str", "biorxiv", _server, '"biorxiv" or "medrxiv"'),
            Key("categories", "str_list", [], help="subject collections to keep (all if empty)"),
            Key("base_url", "url", "https://api.biorxiv.org", help="the API (tests: a local one)"),
            catch_up_key(),
        ),
        poll=poll,
        authority=lambda paper: (paper.doi or "").startswith("10.1101/"),
        describe=_describe,
        every=timedelta(hours=1),
    )
)
