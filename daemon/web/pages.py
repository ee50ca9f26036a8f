"""The page, a place to work from: the watchlists with their counts beside every page, a
watchlist's matches by the papers' own days, a page at a time, the search box on every
page, what was read and saved (kept in SQLite), BibTeX of a paper or of the saved list,
and "add to Zotero". Reading needs no JavaScript: every action is a link or a form.
Also the request parameters the page and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from itertools import groupby
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from daemon.app import find_papers as search_papers
from daemon.config import Config
from daemon.core.errors import QueryError
from daemon.delivery.bibtex import cite_key, entry
from daemon.delivery.jinja import template
from daemon.delivery.render import (
    Highlighter,
    authors_line,
    mark_names,
    matched_authors,
    paper_links,
    why_line,
    why_numbers,
)
from daemon.language.query import Synonyms, parse_query, wanted_terms, with_synonyms
from daemon.status import status
from daemon.store import Store
from daemon.store.rows import StoredMatch, StoredPaper

PAGE_SIZE = 25  # papers a page shows
MAX_LIMIT = 1000


class BadRequest(Exception):
    """A request the API cannot answer: 400 with the reason."""


# -- request parameters ---------------------------------------------------------------


def limit_of(query: dict[str, str], default: int) -> int:
    raw = query.get("limit", str(default))
    if not raw.isdigit() or not 0 < int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit: expected a number from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def days_of(query: dict[str, str]) -> tuple[date | None, date | None]:
    """`since` and `until`: the papers' own days, both included (a time counts as its
    day)."""
    days: list[date | None] = []
    for name in ("since", "until"):
        raw = query.get(name)
        try:
            days.append(datetime.fromisoformat(raw).date() if raw else None)
        except ValueError:
            raise BadRequest(f"{name}: expected a day (2026-08-20), got {raw!r}") from None
    return days[0], days[1]


def _page_of(query: dict[str, str]) -> int:
    raw = query.get("page", "1")
    if not raw.isdigit() or not 0 < int(raw) <= 10_000:
        raise BadRequest(f"page: expected a page number, got {raw!r}")
    return int(raw)


def find_papers(
    store: Store, query: dict[str, str], offset: int = 0, synonyms: Synonyms = ()
) -> tuple[list[StoredPaper], int]:
    """Stored papers, newest first; with `q`, those the query language matches (and how
    many more wait for their abstract), its terms widened by `[synonyms]`."""
    limit, (since, until) = limit_of(query, 100), days_of(query)
    parsed = None
    if query.get("q"):
        try:
            parsed = with_synonyms(parse_query(query["q"]), synonyms)[0]
        except QueryError as exc:
            raise BadRequest(f"q: {exc}") from None
    rows, waiting = search_papers(store, parsed, since, until, limit + offset)
    return rows[offset:], waiting


# -- cards ------------------------------------------------------------------------------


def html_marked(light: Highlighter, text: str) -> Markup:
    """`text` escaped, what the highlighter finds in <mark>."""
    return Markup(light.apply(text, lambda s: str(escape(s)), "<mark>{}</mark>".format))


def _coins(paper: StoredPaper) -> str:
    """OpenURL COinS (Z39.88) for the Zotero Connector and other reference managers."""
    fields = [
        ("ctx_ver", "Z39.88-2004"),
        ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
        ("rft.genre", "preprint"),
        ("rft.atitle", paper.title),
        ("rft.jtitle", "arXiv" if paper.arxiv_id else "preprint"),
    ]
    fields += [("rft.au", a) for a in paper.authors]
    if paper.day:
        fields.append(("rft.date", paper.day))
    if paper.link:
        fields.append(("rft_id", paper.link))
    return urlencode(fields, quote_via=quote)


# how a paper was first announced, as a reader of arXiv's listings says it
_KINDS = {"new": "new", "cross": "cross-list", "replace": "replacement"}
_KINDS["replace-cross"] = "replacement (cross-list)"


def _ids(paper: StoredPaper) -> list[tuple[str, str]]:
    """The identifiers a reader cites a paper by, as (label, value)."""
    found = [("arXiv", paper.arxiv_id), ("DOI", paper.doi), ("PMID", paper.pmid)]
    return [(label, value) for label, value in found if value]


def _authors(paper: StoredPaper, matches: list[StoredMatch]) -> Markup:
    """The authors line, those an author watchlist found shown and marked."""
    found = [n for m in matches for n in matched_authors(m)]
    line = authors_line(paper.authors, found)
    return Markup(mark_names(line, found, lambda s: str(escape(s)), "<mark>{}</mark>".format))


def _card(
    paper: StoredPaper,
    terms: list[str],
    marks: dict[int, tuple[bool, bool]],
    matches: Iterable[StoredMatch] = (),
    votes: dict[tuple[str, int], int] | None = None,
) -> dict[str, Any]:
    """A paper as the page shows it: why it matched each watchlist, whether it was read
    or saved, and a 👍/👎 for each similarity match (`votes`)."""
    light = Highlighter(terms)
    snippet = light.snippet(paper.abstract) if paper.abstract else ""
    read, saved = marks.get(paper.id, (False, False))
    matches = list(matches)
    return {
        "paper": paper.id,
        "ids": _ids(paper),
        "categories": paper.categories,
        "kind": _KINDS.get(paper.announce or "", ""),
        "abstract": html_marked(light, paper.abstract) if paper.abstract else "",
        "title": html_marked(light, paper.title),
        "snippet": html_marked(light, snippet),
        "whys": [(m.watchlist, why_line(m), why_numbers(m)) for m in matches],
        "link": paper.link,
        "links": paper_links(paper),
        "authors": _authors(paper, matches),
        "day": paper.day,
        "seen": (paper.first_seen or "")[:10],
        "read": read,
        "saved": saved,
        "votes": [
            (m.watchlist, (votes or {}).get((m.watchlist, paper.id), 0))
            for m in matches
            if m.explain is not None
        ],
        "coins": _coins(paper),
    }


# -- pages ------------------------------------------------------------------------------


def _common(store: Store, config: Config, query: dict[str, str], token: str) -> dict[str, Any]:
    """What every page shows: the side navigation with counts, the search box, where
    the forms post (with the token the page was asked with)."""
    counts = store.deliveries.counts_by_watchlist()
    known = store.config_state.get()
    lists = [
        {
            "name": w.name,
            "total": counts.get(w.name, (0, 0))[0],
            "unread": counts.get(w.name, (0, 0))[1],
        }
        for w in config.watchlists
    ]
    return {
        "lists": lists,
        "saved_count": len(store.marks.saved()),
        "q": query.get("q", ""),
        "token": token,
        "zotero": config.zotero is not None,
        "notice": query.get("notice", ""),
        # an edit of config.toml the daemon refused: said on every page, until fixed
        "rejected": (
            {"at": known["rejected_at"], "error": known["rejected_error"]}
            if known["rejected_at"]
            else None
        ),
    }


def _by_day(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"day": day, "cards": list(group)}
        for day, group in groupby(cards, key=lambda c: c["day"] or f"first seen {c['seen']}")
    ]


def home(
    store: Store, config: Config, now: datetime, query: dict[str, str], token: str = ""
) -> str:
    """A watchlist's matches (or every watchlist's), by the papers' own days, newest
    first, PAGE_SIZE papers a page."""
    names = [w.name for w in config.watchlists]
    chosen = query.get("watchlist") or None
    if chosen is not None and chosen not in names:
        raise BadRequest(f"watchlist: unknown {chosen!r} (known: {names})")
    page = _page_of(query)
    wanted = [chosen] if chosen else names
    shown = _filters(query, config)
    rows = (
        store.deliveries.recent_matches(
            wanted,
            since=shown["since"],
            until=shown["until"],
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
            by_day=True,
            source=shown["source"] or None,
            category=shown["category"] or None,
            unread=shown["unread"],
            saved=shown["saved"],
            best=shown["order"] == "best",
        )
        if wanted
        else []
    )
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    by_paper: dict[int, list[StoredMatch]] = {}
    for row in rows:
        by_paper.setdefault(row.paper.id, []).append(row)
    marks = store.marks.of(by_paper)
    votes = store.similar.votes_on(sorted(by_paper))
    cards = [
        _card(group[0].paper, [t for m in group for t, _ in m.matched], marks, group, votes)
        for group in by_paper.values()
    ]
    watchlist = config.watchlist(chosen) if chosen else None

    kept = {k: v for k, v in query.items() if k in FILTERS and v}

    def at(n: int) -> str:
        return "/?" + urlencode({**kept, "page": n})

    return template("home.html").render(
        **_common(store, config, query, token),
        heading=chosen or "All watchlists",
        query_text=watchlist.source if watchlist else "",
        feed=f"/feeds/{quote(chosen or 'all')}.atom",
        days=_by_day(cards),
        page=page,
        newer=at(page - 1) if page > 1 else None,
        older=at(page + 1) if more else None,
        here=at(page),
        now=now.strftime("%Y-%m-%d %H:%M UTC"),
        papers=store.papers.counts()["papers"],
        configured=bool(names),
        filters=shown,
        filtering=any(k != "watchlist" for k in kept),
        watchlists=names,
        sources=[s.name for s in config.sources],
        categories=store.deliveries.categories(wanted) if wanted else [],
        on_page=",".join(str(c["paper"]) for c in cards),
    )


# what the page's filters read from its query (and its links keep)
FILTERS = ("watchlist", "source", "category", "since", "until", "unread", "saved", "order")


def _filters(query: dict[str, str], config: Config) -> dict[str, Any]:
    """The page's filters as asked, checked: a value the page would not offer is a 400."""
    sources = [s.name for s in config.sources]
    source = query.get("source", "")
    if source and source not in sources:
        raise BadRequest(f"source: unknown {source!r} (known: {sources})")
    order = query.get("order", "newest") or "newest"
    if order not in ("newest", "best"):
        raise BadRequest(f"order: 'newest' or 'best', got {order!r}")
    days = {}
    for key in ("since", "until"):
        try:
            days[key] = date.fromisoformat(query[key]) if query.get(key) else None
        except ValueError:
            raise BadRequest(f"{key}: expected YYYY-MM-DD, got {query[key]!r}") from None
    return {
        "watchlist": query.get("watchlist", ""),
        "source": source,
        "category": query.get("category", "")[:40],
        "unread": query.get("unread") == "1",
        "saved": query.get("saved") == "1",
        "order": order,
        **days,
    }


def papers_page(store: Store, config: Config, query: dict[str, str], token: str = "") -> str:
    """Search the stored papers, with the query language; its terms marked."""
    error, rows, waiting = None, list[StoredPaper](), 0
    page = 1
    try:
        page = _page_of(query)
        rows, waiting = find_papers(
            store, {**query, "limit": str(PAGE_SIZE + 1)}, (page - 1) * PAGE_SIZE, config.synonyms
        )
    except BadRequest as exc:
        error = str(exc)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    q = query.get("q", "")
    terms = [t.text for t in wanted_terms(parse_query(q))] if q.strip() and error is None else []
    marks = store.marks.of(r.id for r in rows)

    def at(n: int) -> str:
        return "/papers?" + urlencode({"q": q, "page": n})

    return template("papers.html").render(
        **_common(store, config, query, token),
        cards=[_card(row, terms, marks) for row in rows],
        error=error,
        waiting=waiting,
        newer=at(page - 1) if page > 1 else None,
        older=at(page + 1) if more else None,
        here=at(page),
    )


def saved_page(store: Store, config: Config, query: dict[str, str], token: str = "") -> str:
    ids = store.marks.saved()
    papers = {p.id: p for p in store.papers.listing(ids=ids)}
    marks = store.marks.of(ids)
    return template("saved.html").render(
        **_common(store, config, query, token),
        cards=[_card(papers[i], [], marks) for i in ids if i in papers],
        here="/saved",
    )


def status_page(store: Store, config: Config, query: dict[str, str], token: str = "") -> str:
    report = status(store, config)
    failing = store.deliveries.listing("dead") + store.deliveries.listing("failed")
    return template("status.html").render(
        **_common(store, config, query, token),
        sources=report["sources"],
        deliveries=report["deliveries"],
        failing=failing[-20:],
        papers=report["papers"],
        libraries=report["libraries"],
        here="/status",
    )


def bibtex_of(papers: Iterable[StoredPaper]) -> str:
    """BibTeX entries of these papers (one each)."""
    return "".join(entry(cite_key(p), p) for p in papers)


def local_path(target: str | None, fallback: str = "/") -> str:
    """Where a form may send the reader back to: a path on this server, never another
    site (`//evil.example`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target
