"""`arxiv`: every paper announced in some arXiv categories, from the daily feed.

One request per poll reads the feed of all the source's categories
(`<base_url>/rss/cs.CL+cs.LG`), conditionally (ETag, Last-Modified). arXiv rebuilds the
feeds once a day around 04:00 UTC; a poll before the next rebuild asks nothing, so the
hourly default costs about one request a day. `new` and `cross` items are new papers;
`replace` items are new versions (the stored text is updated, nobody is alerted).

Missed days: when the feed's day is more than one weekday after the last feed read, the
days between are fetched through OAI-PMH (`ListRecords`, `metadataPrefix=arXiv`, one `set`
per archive, `from` the last feed's day, following `resumptionToken`). OAI-PMH rather than
the API's date-range search: it is arXiv's documented interface for bulk metadata, it
pages with a token instead of offsets that shift while a query runs, and it carries the
categories and creation date that tell a new paper from a replacement.

Politeness (arXiv's terms): all arXiv hosts of all arXiv sources share one pacer, one
request at a time and at least 3 s apart; 429/503 with Retry-After are waited out with
jitter (daemon.net.http); the User-Agent names the `contact` from config.

Papers stored without an id (text dumps) are looked up by exact title in the API, once
per title, a few per poll; a found id is attached and gives the paper its abstract link.

`query` (the API's search, e.g. `au:LeCun_Y` for a person's papers in any category) asks
the API for the newest submissions first, 100 a page, until a page reaches back before
the first day not yet polled; papers first submitted before it are left out (a first
poll alerts on the last day's papers, not on a career).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from daemon.core.arxiv_categories import CATEGORIES, covers, oai_set
from daemon.core.backoff import backoff
from daemon.core.clock import iso
from daemon.core.errors import FetchError, ParseError
from daemon.core.log import event
from daemon.core.models import Paper, abs_url
from daemon.net.http import USER_AGENT, Response
from daemon.parse.arxiv_xml import parse_arxiv, resumption_token
from daemon.sources.contract import (
    Context,
    Key,
    Outcome,
    Source,
    SourceKind,
    catch_up_key,
    register,
)

PACE = ("arxiv", 3.0)  # one pacer for every arXiv host: a request every 3 s at most
REBUILT_AT = time(4, 0, tzinfo=UTC)  # the feeds' daily rebuild
MAX_OAI_PAGES = 50
QUERY_PAGE = 100
MAX_QUERY_PAGES = 10
LOOKUPS_PER_POLL = 40
LOOKUP_BATCH = 10  # titles per API request
LOOKUP_RETRY = timedelta(hours=1)
LOOKUP_RETRY_MAX = timedelta(days=7)
CROSS = ("cross", "replace-cross")


def _headers(source: Source) -> dict[str, str]:
    contact = source.options["contact"]
    agent = USER_AGENT[:-1] + f"; mailto:{contact})" if contact else USER_AGENT
    return {"User-Agent": agent}


def _get(ctx: Context, source: Source, url: str, headers: dict[str, str] | None = None) -> Response:
    ctx.check_time(source)
    return ctx.http.get(url, {**_headers(source), **(headers or {})}, pace=PACE)


def feed_url(source: Source) -> str:
    base = str(source.options["base_url"]).rstrip("/")
    return f"{base}/rss/{'+'.join(source.options['categories'])}"


def _details(ctx: Context, source: Source) -> dict[str, Any]:
    return dict(ctx.state(source).details)


def next_rebuild(feed_day: date) -> datetime:
    """When the feed after the one of `feed_day` should be out."""
    return datetime.combine(feed_day + timedelta(days=1), REBUILT_AT)


def weekdays_between(first: date, last: date) -> list[date]:
    """Weekdays strictly between two days: announcement days a feed could have had."""
    days = (first + timedelta(days=i) for i in range(1, (last - first).days))
    return [d for d in days if d.weekday() < 5]


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    if source.options["categories"]:
        details = _details(ctx, source)
        last_day = date.fromisoformat(details["feed_day"]) if details.get("feed_day") else None
        if last_day and ctx.now < next_rebuild(last_day):
            outcome.notes.append(
                f"feed of {last_day} read; next one after {next_rebuild(last_day)}"
            )
        else:
            _read_feed(ctx, source, outcome, details, last_day)
    if source.options["query"]:
        search(ctx, source, outcome)
    if source.options["resolve_ids"]:
        resolve_ids(ctx, source, outcome)
    return outcome


def _read_feed(
    ctx: Context,
    source: Source,
    outcome: Outcome,
    details: dict[str, Any],
    last_day: date | None,
) -> None:
    url = feed_url(source)
    response = _get(ctx, source, url, ctx.conditional(source))
    if response.status == 304:
        outcome.notes.append("feed not modified")
        return
    digest = parse_arxiv(response.body, url)
    day = digest.page_day
    if day is None:
        raise ParseError(f"{url}: a feed without its announcement day")
    ids = sorted(p.arxiv_id or p.title for p in digest.papers if not p.replacement)
    if last_day and day > last_day and weekdays_between(last_day, day):
        start = max(last_day, day - timedelta(days=source.options["catch_up_days"]))
        catch_up(ctx, source, outcome, start, day)
    fingerprint = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] if ids else ""
    if ids and last_day and day > last_day and fingerprint == details.get("feed_ids"):
        event("arxiv_feed_stale", logging.WARNING, source=source.name, day=day, same_as=last_day)
        outcome.notes.append(f"stale feed: {day} lists the same papers as {last_day}")
        details["stale"] = {"day": day.isoformat(), "same_as": last_day.isoformat()}
    elif ids:
        details.pop("stale", None)
    ctx.ingest(
        outcome,
        source,
        response.body,
        url,
        select=_keep(source),
        alert_replacements=source.options["alert_on_replacements"],
    )
    if ids:  # an empty (weekend) feed is no announcement: the last one stays the reference
        details.update(feed_day=day.isoformat(), feed_ids=fingerprint, feed_papers=len(ids))
    ctx.save_state(
        source,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        details=details,
    )


def _keep(source: Source) -> Callable[[Paper], Paper | None]:
    cross = source.options["include_cross_lists"]
    return lambda paper: paper if cross or paper.announce not in CROSS else None


def catch_up(ctx: Context, source: Source, outcome: Outcome, start: date, day: date) -> None:
    """Every record of the source's categories changed since `start`, through OAI-PMH. A
    paper created since then is new whatever its version; an older one is a replacement."""
    watched = source.options["categories"]
    cross = source.options["include_cross_lists"]
    oldest_new = start - timedelta(days=3)  # submitted before its announcement day

    def select(paper: Paper) -> Paper | None:
        primary, *others = paper.categories or ("",)
        if any(covers(w, primary) for w in watched):
            announce = "new"
        elif cross and any(covers(w, c) for w in watched for c in others):
            announce = "cross"
        else:
            return None
        if paper.announced is None or paper.announced < oldest_new:
            announce = "replace" if announce == "new" else "replace-cross"
        return replace(paper, announce=announce)

    base = str(source.options["oai_url"])
    for oai in sorted({oai_set(c) for c in watched}):
        params = {
            "verb": "ListRecords",
            "metadataPrefix": "arXiv",
            "set": oai,
            "from": start.isoformat(),
            "until": day.isoformat(),
        }
        for _ in range(MAX_OAI_PAGES):
            url = f"{base}?{urlencode(params)}"
            body = _get(ctx, source, url).body
            ctx.ingest(
                outcome,
                source,
                body,
                url,
                select=select,
                alert_replacements=source.options["alert_on_replacements"],
            )
            token = resumption_token(body)
            if not token:
                break
            params = {"verb": "ListRecords", "resumptionToken": token}
    event("arxiv_catch_up", source=source.name, start=start, until=day)
    outcome.notes.append(f"caught up {start}..{day} through OAI-PMH")


def search(ctx: Context, source: Source, outcome: Outcome) -> None:
    """The papers of the source's `query` first submitted since the first day not yet
    polled, newest first, page after page."""
    start = ctx.days_to_fetch(source)[0]

    def recent(paper: Paper) -> Paper | None:
        return paper if paper.announced is None or paper.announced >= start else None

    for page in range(MAX_QUERY_PAGES):
        url = f"{source.options['api_url']}?" + urlencode(
            {
                "search_query": source.options["query"],
                "sortBy": "submittedDate",
                "sortOrder": "descending",
                "start": page * QUERY_PAGE,
                "max_results": QUERY_PAGE,
            }
        )
        body = _get(ctx, source, url).body
        papers = parse_arxiv(body, url).papers  # an error answer fails here
        ctx.ingest(
            outcome,
            source,
            body,
            url,
            select=recent,
            alert_replacements=source.options["alert_on_replacements"],
        )
        days = [p.announced for p in papers if p.announced]
        if len(papers) < QUERY_PAGE or (days and min(days) < start):
            return
    outcome.notes.append(f"{MAX_QUERY_PAGES * QUERY_PAGE} papers of the query read: the rest left")


def resolve_ids(ctx: Context, source: Source, outcome: Outcome) -> None:
    """Give papers that have no arXiv id the id the API lists for their exact title."""
    papers = ctx.store.papers
    rows = papers.without_id(iso(ctx.now), LOOKUPS_PER_POLL)
    attached = 0
    for i in range(0, len(rows), LOOKUP_BATCH):
        batch = rows[i : i + LOOKUP_BATCH]
        query = " OR ".join(f'ti:"{r["title_key"]}"' for r in batch)
        url = f"{source.options['api_url']}?" + urlencode(
            {"search_query": query, "start": 0, "max_results": 5 * len(batch)}
        )
        try:
            found = {p.key: p for p in parse_arxiv(_get(ctx, source, url).body, url).papers}
        except (FetchError, ParseError) as exc:
            with ctx.store.transaction():
                for r in batch:
                    retry = ctx.now + backoff(LOOKUP_RETRY, r["attempts"] + 1, LOOKUP_RETRY_MAX)
                    papers.record_lookup(r["title_key"], "failed", None, iso(ctx.now), iso(retry))
            event(
                "title_lookup", logging.WARNING, source=source.name, result="failed", error=str(exc)
            )
            continue
        with ctx.store.transaction():
            for r in batch:
                hit = found.get(r["title_key"])
                if hit is not None and hit.arxiv_id:
                    changed = papers.attach_id(
                        r["title_key"], hit.arxiv_id, abs_url(hit.arxiv_id), iso(ctx.now)
                    )
                    attached += len(changed)
                papers.record_lookup(
                    r["title_key"],
                    "found" if hit else "none",
                    hit.arxiv_id if hit else None,
                    iso(ctx.now),
                    None,
                )
    if rows:
        event("title_lookup", source=source.name, titles=len(rows), attached=attached)
        outcome.notes.append(f"looked up {len(rows)} titles, {attached} ids attached")


def _categories(value: list[str]) -> str | None:
    unknown = [c for c in value if c not in CATEGORIES]
    if unknown:
        hints = [f"{c}: did you mean {' or '.join(n)}?" for c in unknown if (n := _nearest(c))]
        return (
            f"unknown arXiv categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}"
            + (f" ({'; '.join(hints)})" if hints else "")
            + " (see https://arxiv.org/category_taxonomy)"
        )
    return None


# categories people write for one that has another code
_MEANT = {"cs.ml": ("cs.LG", "stat.ML"), "cs.nlp": ("cs.CL",), "cs.cv": ("cs.CV",)}


def _nearest(code: str) -> tuple[str, ...]:
    """The categories `code` was probably meant to be: a known slip, else by spelling
    (case ignored)."""
    if code.lower() in _MEANT:
        return tuple(c for c in _MEANT[code.lower()] if c != code)
    by_lower = {c.lower(): c for c in CATEGORIES}
    if code.lower() in by_lower:
        return (by_lower[code.lower()],)
    return tuple(by_lower[c] for c in difflib.get_close_matches(code.lower(), by_lower, 2, 0.75))


def _query(value: str) -> str | None:
    """The API's query syntax, roughly: field prefixes and balanced brackets and quotes."""
    if value.count('"') % 2:
        return 'has an unclosed quote (")'
    if value.count("(") != value.count(")"):
        return "has unbalanced ( )"
    return None


def _wanted(options: Any) -> tuple[str, str] | None:
    if not options["categories"] and not options["query"]:
        return "categories", 'name at least one category, e.g. ["cs.CL"] (or give a query)'
    return None


def describe(source: Source) -> str:
    said = [feed_url(source)] if source.options["categories"] else []
    if source.options["query"]:
        said.append(f"the API's search {source.options['query']!r}")
    return " and ".join(said)


def _report(source: Source, details: dict[str, Any]) -> dict[str, Any]:
    shown = {"feed": feed_url(source)} if source.options["categories"] else {}
    if source.options["query"]:
        shown["query"] = source.options["query"]
    if details.get("feed_day"):
        shown["last_feed_day"] = details["feed_day"]
        shown["papers_in_last_feed"] = details["feed_papers"]
    if details.get("stale"):
        stale = details["stale"]
        shown["stale"] = f"the feed of {stale['day']} repeats {stale['same_as']}"
    return shown


KIND = register(
    SourceKind(
        name="arxiv",
        summary="arXiv's daily feed of some categories; missed days through OAI-PMH",
        keys=(
            Key("categories", "str_list", [], _categories, 'e.g. ["cs.CL", "cs.LG"]'),
            Key("query", "str", "", _query, 'the API\'s search, e.g. "au:LeCun_Y"'),
            Key(
                "include_cross_lists",
                "bool",
                True,
                help="papers of other categories cross-listed here",
            ),
            Key(
                "alert_on_replacements",
                "bool",
                False,
                help="alert on new versions of papers never seen",
            ),
            Key("contact", "str", "", help="an e-mail address for arXiv's operators (User-Agent)"),
            catch_up_key(14, 1, "how far back missed days are fetched"),
            Key("resolve_ids", "bool", True, help="look up ids of papers stored without one"),
            Key("base_url", "url", "https://rss.arxiv.org", help="the feeds (tests: a local one)"),
            Key("api_url", "url", "https://export.arxiv.org/api/query", help="the API"),
            Key("oai_url", "url", "https://oaipmh.arxiv.org/oai", help="OAI-PMH"),
        ),
        poll=poll,
        authority=lambda paper: paper.arxiv_id is not None,
        describe=describe,
        check=_wanted,
        every=timedelta(hours=1),
        report=_report,
    )
)
