"""The web interface: an Atom feed per watchlist, a JSON API, a small page.

The standard library's `ThreadingHTTPServer`: a handful of endpoints for one lab on
loopback need no framework, and a thread per request never holds up the scheduler, the
inbox or delivery. Pages are Jinja2 templates with autoescaping (every title and
abstract is escaped; the highlighter escapes before it marks); feeds are built with
ElementTree, so they are well-formed whatever a title holds. Every GET opens the
database read-only; the one write is a reader's 👍/👎 (`POST /api/feedback`, JSON or
the page's form), refused from another site's page. Beyond loopback, `[web] token` is
required and checked on every request (`Authorization: Bearer <token>` or
`?token=<token>` for feed readers).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from itertools import groupby
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from daemon import __version__
from daemon.app import find_papers as search_papers
from daemon.clock import SYSTEM, Clock
from daemon.config import Config
from daemon.errors import QueryError
from daemon.feedback import VOTES, FeedbackError, record_vote
from daemon.http_server import BoundedHTTPServer
from daemon.log import event
from daemon.models import key_hash
from daemon.poller import status
from daemon.query import parse_query, wanted_terms
from daemon.render import Highlighter, authors_line, paper_json, why_line
from daemon.store import Store, StoreError
from daemon.store.rows import StoredMatch, StoredPaper

FEED_ENTRIES = 200
PAGE_MATCHES = 50  # per watchlist on the page
MAX_LIMIT = 1000
MAX_BODY = 8192  # a vote is a few dozen bytes
ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM_NS)

_TEMPLATES = Environment(
    loader=PackageLoader("daemon", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


_TOKEN_IN_URL = re.compile(r"([?&])token=[^&\s\"]*")


class BadRequest(Exception):
    """A request the API cannot answer: 400 with the reason."""


def entry_id(paper: StoredPaper) -> str:
    """A stable id from the paper's identity: its arXiv id, else its DOI, else its
    normalised title."""
    if paper.arxiv_id:
        return f"tag:paperwatch,2026:arxiv:{paper.arxiv_id}"
    if paper.doi:
        return f"tag:paperwatch,2026:doi:{paper.doi}"
    return f"tag:paperwatch,2026:title:{key_hash(paper.title_key):x}"


def _html(light: Highlighter, text: str) -> Markup:
    """`text` escaped, what the highlighter finds in <mark>."""
    return Markup(light.apply(text, lambda s: str(escape(s)), "<mark>{}</mark>".format))


def _marked(paper: StoredPaper, terms: list[str]) -> tuple[Markup, Markup]:
    """Title and abstract snippet, escaped, these terms marked."""
    light = Highlighter(terms)
    snippet = light.snippet(paper.abstract) if paper.abstract else ""
    return _html(light, paper.title), _html(light, snippet)


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


def _card(
    paper: StoredPaper,
    terms: list[str],
    match: StoredMatch | None = None,
    vote: int | None = None,
) -> dict[str, Any]:
    """A paper as the page shows it, with why it matched (`match`); `vote`: a similarity
    match's (0 = none), with its 👍/👎 buttons."""
    title, snippet = _marked(paper, terms)
    return {
        "vote": vote,
        "watchlist": match.watchlist if match else None,
        "paper": paper.id,
        "title": title,
        "snippet": snippet,
        "why": why_line(match) if match else "",
        "link": paper.link,
        "authors": authors_line(paper.authors),
        "arxiv_id": paper.arxiv_id,
        "day": paper.day,
        "coins": _coins(paper),
    }


# -- feeds ------------------------------------------------------------------------------


def feed_version(store: Store, names: list[str]) -> tuple[str, datetime | None]:
    """(ETag, Last-Modified) of a feed, from three numbers: no feed is built for a 304."""
    newest, count, changed = store.deliveries.matches_version(names)
    digest = hashlib.sha256(f"{names}|{newest}|{count}|{changed}".encode()).hexdigest()[:20]
    return f'"{digest}"', datetime.fromisoformat(changed) if changed else None


def atom(store: Store, config: Config, name: str, names: list[str], base: str) -> bytes:
    """RFC 4287 Atom: one entry per paper, newest match first, the last FEED_ENTRIES."""
    rows = store.deliveries.recent_matches(names, limit=FEED_ENTRIES * max(1, len(names)))
    by_paper: dict[int, list[StoredMatch]] = {}
    for row in rows:
        by_paper.setdefault(row.paper.id, []).append(row)
    papers = list(by_paper.values())[:FEED_ENTRIES]
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub = ET.SubElement
    sub(feed, f"{{{ATOM_NS}}}id").text = f"tag:paperwatch,2026:feed:{name}"
    sub(feed, f"{{{ATOM_NS}}}title").text = (
        "paperwatch: all watchlists" if name == "all" else f"paperwatch: {name}"
    )
    newest = max((r[0].created_at for r in papers), default="1970-01-01T00:00:00+00:00")
    sub(feed, f"{{{ATOM_NS}}}updated").text = newest
    sub(feed, f"{{{ATOM_NS}}}link", rel="self", href=f"{base}/feeds/{quote(name)}.atom")
    sub(feed, f"{{{ATOM_NS}}}link", rel="alternate", href=f"{base}/")
    sub(sub(feed, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name").text = "paperwatch"
    sub(feed, f"{{{ATOM_NS}}}generator", version=__version__).text = "paperwatch"
    for group in papers:
        paper = group[0].paper
        entry = sub(feed, f"{{{ATOM_NS}}}entry")
        sub(entry, f"{{{ATOM_NS}}}id").text = entry_id(paper)
        sub(entry, f"{{{ATOM_NS}}}title").text = paper.title
        sub(entry, f"{{{ATOM_NS}}}updated").text = group[0].created_at
        sub(entry, f"{{{ATOM_NS}}}published").text = _published(paper)
        if paper.link:
            sub(entry, f"{{{ATOM_NS}}}link", rel="alternate", href=paper.link)
        for author in paper.authors:
            sub(sub(entry, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name").text = author
        for r in group:
            sub(entry, f"{{{ATOM_NS}}}category", term=r.watchlist, label=why_line(r))
        why = "; ".join(f"{r.watchlist}: {why_line(r)}" for r in group)
        day = paper.day or f"first seen {(paper.first_seen or '')[:10]}"
        light = Highlighter([t for r in group for t in _terms(r)])
        body = (
            f"<p><b>{escape(why)}</b> · {escape(day)}</p>"
            f"<p>{_html(light, paper.abstract or '')}</p>"
        )
        sub(entry, f"{{{ATOM_NS}}}content", type="html").text = body
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _published(paper: StoredPaper) -> str | None:
    """Atom's `published`: the paper's own day (its first day if known to the month),
    else when it was first seen."""
    if paper.day is None:
        return paper.first_seen
    return (paper.day if len(paper.day) == 10 else paper.day + "-01") + "T00:00:00Z"


# -- the API ----------------------------------------------------------------------------


def _limit(query: dict[str, str], default: int) -> int:
    raw = query.get("limit", str(default))
    if not raw.isdigit() or not 0 < int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit: expected a number from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def _days(query: dict[str, str]) -> tuple[date | None, date | None]:
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


def match_json(match: StoredMatch, vote: int = 0) -> dict[str, Any]:
    """A match as the API shows it; a similarity match with the reader's vote on it."""
    similarity = None
    if match.explain is not None:
        similarity = {**match.explain, "vote": {v: k for k, v in VOTES.items()}[vote]}
    return {
        "match_id": match.id,
        "watchlist": match.watchlist,
        "matched": [{"term": t, "field": f} for t, f in match.matched],
        "matched_at": match.created_at,
        "title_only": match.title_only,
        "similarity": similarity,
        "paper": paper_json(match.paper),
    }


def api_matches(store: Store, config: Config, query: dict[str, str]) -> list[dict[str, Any]]:
    names = [w.name for w in config.watchlists]
    if query.get("watchlist"):
        if query["watchlist"] not in names:
            raise BadRequest(f"watchlist: unknown {query['watchlist']!r} (known: {names})")
        names = [query["watchlist"]]
    if not names:
        return []
    since, until = _days(query)
    rows = store.deliveries.recent_matches(names, since, until, _limit(query, 100))
    votes = store.similar.votes_on(sorted({r.paper.id for r in rows if r.explain}))
    return [match_json(r, votes.get((r.watchlist, r.paper.id), 0)) for r in rows]


def find_papers(store: Store, query: dict[str, str]) -> tuple[list[StoredPaper], int]:
    """Stored papers, newest first; with `q`, those the query language matches (and how
    many more wait for their abstract)."""
    limit, (since, until) = _limit(query, 100), _days(query)
    parsed = None
    if query.get("q"):
        try:
            parsed = parse_query(query["q"])
        except QueryError as exc:
            raise BadRequest(f"q: {exc}") from None
    rows, _, waiting = search_papers(store, parsed, since, until, limit)
    return rows, waiting


# -- the page ---------------------------------------------------------------------------


def home(store: Store, config: Config, now: datetime, token: str = "") -> str:
    """`token`: the one this page was asked with, for its vote forms' address."""
    groups = []
    for watchlist in config.watchlists:
        rows = store.deliveries.recent_matches([watchlist.name], limit=PAGE_MATCHES)
        votes = store.similar.votes(watchlist.name) if watchlist.similar else {}

        def card(r: StoredMatch, votes: dict[int, int] = votes) -> dict[str, Any]:
            vote = votes.get(r.paper.id, 0) if r.explain else None
            return _card(r.paper, _terms(r), r, vote)

        days = [
            {"day": day, "cards": [card(r) for r in day_rows]}
            for day, day_rows in groupby(rows, key=lambda r: r.created_at[:10])
        ]
        groups.append({"name": watchlist.name, "query": watchlist.source, "days": days})
    report = status(store, config)
    failing = store.deliveries.listing("dead") + store.deliveries.listing("failed")
    return _TEMPLATES.get_template("home.html").render(
        groups=groups,
        sources=report["sources"],
        deliveries=report["deliveries"],
        failing=failing[-20:],
        papers=report["papers"],
        now=now.strftime("%Y-%m-%d %H:%M UTC"),
        feedback="/api/feedback" + (f"?{urlencode({'token': token})}" if token else ""),
    )


def papers_page(store: Store, query: dict[str, str]) -> str:
    error, rows, waiting = None, list[StoredPaper](), 0
    try:
        rows, waiting = find_papers(store, query)
    except BadRequest as exc:
        error = str(exc)
    q = query.get("q", "")
    terms = _search_terms(q) if error is None else []
    cards = [_card(row, terms) for row in rows]
    return _TEMPLATES.get_template("papers.html").render(
        q=q, cards=cards, error=error, waiting=waiting
    )


def _terms(match: StoredMatch) -> list[str]:
    return [term for term, _ in match.matched]


def _search_terms(q: str) -> list[str]:
    """A search's terms as the query language reads them (those under NOT left out),
    for highlighting its results."""
    return [t.text for t in wanted_terms(parse_query(q))] if q.strip() else []


# -- the server -------------------------------------------------------------------------


class WebServer:
    """Serves the interface for whatever configuration `config()` returns now (the daemon
    passes its current runtime's, so a reload applies to the next request)."""

    def __init__(
        self,
        config: Callable[[], Config],
        on_feedback: Callable[[], None] = lambda: None,
        clock: Clock = SYSTEM,
    ) -> None:
        self.config = config
        self.on_feedback = on_feedback  # a vote came: the daemon trains again now
        self.clock = clock
        self.server: BoundedHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.listen: str | None = None  # where it listens (None: not started)

    def start(self) -> None:
        settings = self.config().web
        address = settings.address
        if address is None:
            self.listen = ""
            return
        self.server = BoundedHTTPServer(address, _handler(self))
        self.thread = threading.Thread(target=self.server.serve, name="web")
        self.thread.daemon = True
        self.thread.start()
        self.listen = settings.listen
        event("web_listening", url=f"http://{settings.listen.rsplit(':', 1)[0]}:{self.port}/")

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def follow(self) -> None:
        """At start and after a reload: listen where the configuration now says."""
        if self.config().web.listen != self.listen:
            self.stop()
            self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            if self.thread is not None:
                self.thread.join(5)
            self.server.server_close()
            self.server = None
        self.listen = None


def _allowed_host(header: str | None, config: Config) -> bool:
    """Whether a request's Host names this server: its listen address, a loopback name,
    or one of `[web] hosts`. A page on another site that resolves its own name to
    127.0.0.1 (DNS rebinding) is refused, token or not."""
    if not header:
        return True  # HTTP/1.0 without Host: not a browser's request
    host = header.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    listen = (config.web.address or ("", 0))[0].lower()
    known = {"localhost", "127.0.0.1", "::1", listen, *config.web.hosts}
    return name in known or (listen in ("0.0.0.0", "::") and _is_ip(name))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _handler(web: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"paperwatch/{__version__}"
        protocol_version = "HTTP/1.1"

        head = False  # a HEAD request: the GET's status and headers, no body

        def do_HEAD(self) -> None:  # noqa: N802
            self.head = True
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            config = web.config()
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            url_token = query.get("token", "") if config.web.token else ""
            if self._admitted(config, query):
                self._answer(lambda: self._route(config, parts.path, query, url_token), parts.path)

        def do_POST(self) -> None:  # noqa: N802
            config = web.config()
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            url_token = query.get("token", "") if config.web.token else ""
            if not self._admitted(config, query):
                return
            if parts.path != "/api/feedback":
                self._send(404, b"not found\n", "text/plain")
                return
            if self._cross_site():
                self._json(403, {"error": "a vote from another site's page is refused"})
                return
            self._answer(lambda: self._feedback(config, url_token), parts.path)

        def _admitted(self, config: Config, query: dict[str, str]) -> bool:
            """The Host is this server's and the token (if one is set) is right; else the
            refusal is sent."""
            if not _allowed_host(self.headers.get("Host"), config):
                # a name this server was not set up to answer for (DNS rebinding)
                self._send(421, b"unknown host (add it to [web] hosts)\n", "text/plain")
                return False
            if config.web.token and not self._authorized(config.web.token, query):
                self._send(401, b"token required\n", "text/plain", {"WWW-Authenticate": "Bearer"})
                return False
            return True

        def _answer(self, handle: Callable[[], None], path: str) -> None:
            """Run a request's handler: a bad request, an unavailable store or a bug is
            that request's answer (400, 503, 500), never the server's end."""
            try:
                handle()
            except BadRequest as exc:
                self._json(400, {"error": str(exc)})
            except StoreError as exc:
                self._json(503, {"error": str(exc)})
            except BrokenPipeError:
                pass
            except Exception as exc:
                event("web_error", logging.ERROR, path=path, error=repr(exc))
                self._json(500, {"error": "internal error (logged)"})

        def _cross_site(self) -> bool:
            """A request another site's page made (a form posted to loopback, say): its
            browser names that site in Origin or Sec-Fetch-Site."""
            if self.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
                return True
            origin = self.headers.get("Origin")
            if not origin:
                return False
            return urlsplit(origin).netloc.lower() != (self.headers.get("Host") or "").lower()

        def _feedback(self, config: Config, url_token: str) -> None:
            """A vote, as JSON {watchlist, paper, vote} or as the page's form (answered
            with the page again, the vote shown)."""
            raw = self.headers.get("Content-Length") or "0"
            length = int(raw) if raw.isdigit() else 0
            if not 0 < length <= MAX_BODY:
                raise BadRequest(f"expected a body of 1 to {MAX_BODY} bytes, got {length}")
            body = self.rfile.read(length)
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            form = ctype == "application/x-www-form-urlencoded"
            if form:
                data: Any = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            elif ctype == "application/json":
                try:
                    data = json.loads(body)
                except ValueError as exc:
                    raise BadRequest(f"body: not JSON ({exc})") from None
            else:
                raise BadRequest("Content-Type: application/json (or a form), got " + repr(ctype))
            if not isinstance(data, dict):
                raise BadRequest("body: expected an object {watchlist, paper, vote}")
            with Store(config.db_path) as store:
                try:
                    pid, vote = record_vote(
                        store,
                        config,
                        str(data.get("watchlist", "")),
                        data.get("paper"),
                        data.get("vote"),
                        web.clock.now(),
                    )
                except FeedbackError as exc:
                    raise BadRequest(str(exc)) from None
            event("feedback", watchlist=data.get("watchlist"), paper=pid, vote=vote)
            web.on_feedback()
            if form:
                page = "/" + (f"?{urlencode({'token': url_token})}" if url_token else "")
                anchor = f"#watchlist-{quote(str(data.get('watchlist')))}"
                return self._send(303, b"", None, {"Location": page + anchor})
            name = {v: k for k, v in VOTES.items()}[vote]
            self._json(200, {"watchlist": data["watchlist"], "paper": pid, "vote": name})

        def _authorized(self, token: str, query: dict[str, str]) -> bool:
            scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
            given = credentials.strip() if scheme.lower() == "bearer" else ""
            given = given or query.pop("token", "")
            return hmac.compare_digest(given.encode(), token.encode())

        def _route(self, config: Config, path: str, query: dict[str, str], url_token: str) -> None:
            now = web.clock.now()
            if path.startswith("/feeds/") and path.endswith(".atom"):
                return self._feed(config, path[len("/feeds/") : -len(".atom")])
            if path in ("/", "/papers", "/api/matches", "/api/papers", "/api/status"):
                with Store(config.db_path, readonly=True) as store:
                    if path == "/":
                        return self._html(home(store, config, now, url_token))
                    if path == "/papers":
                        return self._html(papers_page(store, query))
                    if path == "/api/matches":
                        return self._json(200, api_matches(store, config, query))
                    if path == "/api/papers":
                        rows, _ = find_papers(store, query)
                        return self._json(200, [paper_json(r) for r in rows])
                    return self._json(200, status(store, config))
            self._send(404, b"not found\n", "text/plain")

        def _feed(self, config: Config, name: str) -> None:
            names = [w.name for w in config.watchlists]
            if name != "all" and name not in names:
                return self._send(404, b"no such watchlist\n", "text/plain")
            wanted = names if name == "all" else [name]
            with Store(config.db_path, readonly=True) as store:
                etag, modified = feed_version(store, wanted or [""])
                headers = {"ETag": etag, "Cache-Control": "no-cache"}
                if modified is not None:
                    headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), True)
                if self._fresh(etag, modified):
                    return self._send(304, b"", None, headers)
                host = self.headers.get("Host") or f"127.0.0.1:{web.port}"  # a checked one
                body = atom(store, config, name, wanted or [""], f"http://{host}")
            self._send(200, body, "application/atom+xml; charset=utf-8", headers)

        def _fresh(self, etag: str, modified: datetime | None) -> bool:
            match = self.headers.get("If-None-Match")
            if match is not None:
                return etag in [t.strip() for t in match.split(",")] or match.strip() == "*"
            since = self.headers.get("If-Modified-Since")
            if since and modified is not None:
                try:
                    return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
                except (TypeError, ValueError):
                    return False
            return False

        def _html(self, page: str) -> None:
            self._send(200, page.encode(), "text/html; charset=utf-8")

        def _json(self, code: int, data: Any) -> None:
            # "<" and ">" as JSON escapes: the same data, and no markup a browser could run
            text = json.dumps(data, indent=2, ensure_ascii=False)
            body = text.replace("<", "\\u003c").replace(">", "\\u003e").encode()
            self._send(code, body, "application/json; charset=utf-8")

        def _send(
            self, code: int, body: bytes, ctype: str | None, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(code)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")  # one request per connection
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if code != 304 and not self.head:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            line = _TOKEN_IN_URL.sub(r"\1token=****", str(format) % args)  # never log it
            event("web_request", logging.DEBUG, line=line)

    return Handler
