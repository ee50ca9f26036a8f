"""The web interface: an Atom feed per watchlist, a JSON API, a small page.

A bounded standard-library server (http_server.py): a thread per request never holds up
the scheduler, the inbox or delivery. What HTTP itself decides is werkzeug's: the routes
(`ROUTES`: a known URL asked with another method is a 405), conditional GETs (weak and
listed ETags, If-Modified-Since) and forms (urlencoded or multipart). Pages are Jinja2
templates with autoescaping (every title and abstract is escaped; the highlighter
escapes before it marks); feeds are built with ElementTree, so they are well-formed
whatever a title holds. Every GET opens the database read-only; the one write is a
reader's 👍/👎 (`POST /api/feedback`, JSON or the page's form), a read or saved mark, "add
to Zotero", refused from another site's page. Beyond loopback, `[web] token` is required
and checked on every request (`Authorization: Bearer <token>` or `?token=<token>` for
feed readers).
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
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from markupsafe import escape
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.formparser import FormDataParser
from werkzeug.http import http_date, parse_options_header
from werkzeug.routing import Map, Rule
from werkzeug.sansio.http import is_resource_modified

from daemon import __version__
from daemon.config import Config
from daemon.core.clock import SYSTEM, Clock
from daemon.core.log import event
from daemon.core.models import key_hash, title_search_url
from daemon.delivery.jinja import keep_token
from daemon.delivery.render import Highlighter, paper_json, paper_links, why_line
from daemon.status import status
from daemon.store import Store, StoreError
from daemon.store.rows import StoredMatch, StoredPaper
from daemon.web.http_server import BoundedHTTPServer
from daemon.web.marks import mark_paper
from daemon.web.pages import (
    BadRequest,
    bibtex_of,
    days_of,
    find_papers,
    home,
    html_marked,
    limit_of,
    local_path,
    papers_page,
    saved_page,
    status_page,
)
from daemon.web.reader import FeedbackError
from daemon.web.votes import VOTES, record_vote
from daemon.web.zotero import save_to_zotero

FEED_ENTRIES = 200
MAX_BODY = 8192  # a vote or a mark is a few dozen bytes
ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM_NS)

_TOKEN_IN_URL = re.compile(r"([?&])token=[^&\s\"]*")
# every URL the server answers, by method (a GET answers HEAD too): werkzeug's routing
ROUTES = Map(
    [
        Rule("/", endpoint="home", methods=["GET"]),
        Rule("/papers", endpoint="papers", methods=["GET"]),
        Rule("/saved", endpoint="saved", methods=["GET"]),
        Rule("/status", endpoint="status", methods=["GET"]),
        Rule("/api/matches", endpoint="api_matches", methods=["GET"]),
        Rule("/api/papers", endpoint="api_papers", methods=["GET"]),
        Rule("/api/status", endpoint="api_status", methods=["GET"]),
        Rule("/feeds/<path:name>.atom", endpoint="feed", methods=["GET"]),
        Rule("/papers/<int(max=999999999999):paper>.bib", endpoint="bib", methods=["GET"]),
        Rule("/saved.bib", endpoint="bib", methods=["GET"], defaults={"paper": None}),
        Rule("/api/feedback", endpoint="feedback", methods=["POST"]),
        Rule("/api/marks", endpoint="marks", methods=["POST"]),
        Rule("/api/zotero", endpoint="zotero", methods=["POST"]),
    ]
)


def _flag(value: Any, name: str) -> bool | None:
    """A form's "1"/"0" or JSON's true/false; absent: None (left as it is)."""
    if value is None or value == "":
        return None
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false"):
        return False
    raise BadRequest(f"{name}: expected 1 or 0, got {value!r}")


MAX_MARKED = 500  # papers one "mark all read" may mark (a page holds far fewer)


def entry_id(paper: StoredPaper) -> str:
    """A stable id from the paper's identity: its arXiv id, else its DOI, else its PMID,
    else its normalised title."""
    if paper.arxiv_id:
        return f"tag:paperwatch,2026:arxiv:{paper.arxiv_id}"
    if paper.doi:
        return f"tag:paperwatch,2026:doi:{paper.doi}"
    if paper.pmid:
        return f"tag:paperwatch,2026:pmid:{paper.pmid}"
    return f"tag:paperwatch,2026:title:{key_hash(paper.title_key):x}"


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
        # a paper known by its title alone (a text dump's) links to arXiv's search for
        # it, as its email does
        href = paper.link or title_search_url(paper.title)
        sub(entry, f"{{{ATOM_NS}}}link", rel="alternate", href=href)
        for label, url in paper_links(paper):  # its other pages: PDF, DOI, PubMed, PMC
            if url != href:
                sub(entry, f"{{{ATOM_NS}}}link", rel="related", href=url, title=label)
        for author in paper.authors:
            sub(sub(entry, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name").text = author
        for r in group:
            sub(entry, f"{{{ATOM_NS}}}category", term=r.watchlist, label=why_line(r))
        why = "; ".join(f"{r.watchlist}: {why_line(r)}" for r in group)
        day = paper.day or f"first seen {(paper.first_seen or '')[:10]}"
        light = Highlighter(
            [t for r in group for t, f in r.matched if f not in ("author", "cites")]
        )
        body = (
            f"<p><b>{escape(why)}</b> · {escape(day)}</p>"
            f"<p>{html_marked(light, paper.abstract or '')}</p>"
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
    since, until = days_of(query)
    rows = store.deliveries.recent_matches(names, since, until, limit_of(query, 100))
    votes = store.similar.votes_on(sorted({r.paper.id for r in rows if r.explain}))
    return [match_json(r, votes.get((r.watchlist, r.paper.id), 0)) for r in rows]


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
    found = _HOST.fullmatch(header.strip().lower())
    if found is None:  # `localhost:1@evil.example`, a path, spaces: not a host
        return False
    name = found.group(1) or found.group(2)
    listen = (config.web.address or ("", 0))[0].lower()
    known = {"localhost", "127.0.0.1", "::1", listen, *config.web.hosts}
    return name in known or (listen in ("0.0.0.0", "::") and _is_ip(name))


# a Host header as RFC 9110 has it: a name or an IPv4 address, or an IPv6 one in
# brackets, then an optional port; nothing else (it is echoed into feeds' links)
_HOST = re.compile(r"(?:\[([0-9a-f:.]+)\]|([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?))(?::\d{1,5})?")


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
            self._request()

        def do_GET(self) -> None:  # noqa: N802
            self._request()

        def do_POST(self) -> None:  # noqa: N802
            self._request()

        def _request(self) -> None:
            """Admit the request (host, token), find its route, refuse a form another
            site's page posted, then answer it."""
            config = web.config()
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            url_token = query.get("token", "") if config.web.token else ""
            if not self._admitted(config, query):
                return
            try:
                endpoint, args = ROUTES.bind("localhost").match(unquote(parts.path), self.command)
            except MethodNotAllowed as exc:
                allowed = ", ".join(exc.valid_methods or ())
                return self._send(405, b"method not allowed\n", "text/plain", {"Allow": allowed})
            except HTTPException:
                return self._send(404, b"not found\n", "text/plain")
            if self.command == "POST" and self._cross_site():
                return self._json(403, {"error": "a request from another site's page is refused"})
            handle = getattr(self, f"_{endpoint}")
            self._answer(lambda: handle(config, query, url_token, **args), parts.path)

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

        def _body(self) -> tuple[dict[str, Any], bool]:
            """The request's fields, from JSON or from the page's form (True)."""
            raw = self.headers.get("Content-Length") or "0"
            length = int(raw) if raw.isdigit() else 0
            if not 0 < length <= MAX_BODY:
                raise BadRequest(f"expected a body of 1 to {MAX_BODY} bytes, got {length}")
            body = self.rfile.read(length)
            ctype, options = parse_options_header(self.headers.get("Content-Type", ""))
            if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                parser = FormDataParser(max_form_memory_size=MAX_BODY, max_content_length=MAX_BODY)
                _, form, _ = parser.parse(BytesIO(body), ctype, length, options)
                return {k: v[-1] for k, v in form.lists()}, True
            if ctype != "application/json":
                raise BadRequest("Content-Type: application/json (or a form), got " + repr(ctype))
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise BadRequest(f"body: not JSON ({exc})") from None
            if not isinstance(data, dict):
                raise BadRequest("body: expected a JSON object")
            return data, False

        def _back(self, data: dict[str, Any], url_token: str, paper: int, notice: str = "") -> None:
            """A form's answer: the page it was sent from again, at the paper."""
            page = local_path(data.get("next"))
            if notice:
                page += ("&" if "?" in page else "?") + urlencode({"notice": notice})
            target = keep_token(page, url_token) + f"#paper-{paper}"
            self._send(303, b"", None, {"Location": target})

        def _feedback(self, config: Config, query: dict[str, str], url_token: str) -> None:
            """A vote, as JSON {watchlist, paper, vote} or as the page's form (answered
            with the page again, the vote shown)."""
            data, form = self._body()
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
                return self._back(data, url_token, pid)
            name = {v: k for k, v in VOTES.items()}[vote]
            self._json(200, {"watchlist": data["watchlist"], "paper": pid, "vote": name})

        def _marks(self, config: Config, query: dict[str, str], url_token: str) -> None:
            """Read or unread, saved or not: {paper, read?, saved?} (1/0, true/false); or
            {papers: "1,2,3", ...}: the page's "mark all on this page read"."""
            data, form = self._body()
            wanted = {k: _flag(data.get(k), k) for k in ("read", "saved")}
            many = str(data.get("papers") or "")
            papers: list[object] = []
            papers += [p for p in many.split(",") if p.strip()][:MAX_MARKED]
            with Store(config.db_path) as store:
                try:
                    for paper in papers or [data.get("paper")]:
                        pid, read, saved = mark_paper(
                            store, paper, wanted["read"], wanted["saved"], web.clock.now()
                        )
                except FeedbackError as exc:
                    raise BadRequest(str(exc)) from None
            if form:
                return self._back(data, url_token, pid)
            self._json(200, {"paper": pid, "read": read, "saved": saved})

        def _zotero(self, config: Config, query: dict[str, str], url_token: str) -> None:
            """ "Add to Zotero": {paper}; the answer says whether the library took it."""
            data, form = self._body()
            if config.zotero is None:
                raise BadRequest("no [zotero] in config.toml: add library and key to use it")
            with Store(config.db_path) as store:
                try:
                    pid, error = save_to_zotero(store, config.zotero, data.get("paper"))
                except FeedbackError as exc:
                    raise BadRequest(str(exc)) from None
            event("zotero", paper=pid, result="added" if error is None else "failed", error=error)
            if form:
                return self._back(data, url_token, pid, error or "Added to Zotero.")
            if error is not None:
                return self._json(502, {"paper": pid, "error": error})
            self._json(200, {"paper": pid, "zotero": "added"})

        def _authorized(self, token: str, query: dict[str, str]) -> bool:
            scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
            given = credentials.strip() if scheme.lower() == "bearer" else ""
            given = given or query.pop("token", "")
            return hmac.compare_digest(given.encode(), token.encode())

        def _home(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                self._html(home(store, config, web.clock.now(), query, url_token))

        def _papers(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                self._html(papers_page(store, config, query, url_token))

        def _saved(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                self._html(saved_page(store, config, query, url_token))

        def _status(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                self._html(status_page(store, config, query, url_token))

        def _api_matches(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                self._json(200, api_matches(store, config, query))

        def _api_papers(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                rows, _ = find_papers(store, query, synonyms=config.synonyms)
                self._json(200, [paper_json(r) for r in rows])

        def _api_status(self, config: Config, query: dict[str, str], url_token: str) -> None:
            with Store(config.db_path, readonly=True) as store:
                self._json(200, status(store, config))

        def _bib(
            self, config: Config, query: dict[str, str], url_token: str, paper: int | None
        ) -> None:
            """BibTeX of one paper, or of the saved list (None)."""
            with Store(config.db_path, readonly=True) as store:
                ids = [paper] if paper is not None else store.marks.saved()
                papers = store.papers.listing(ids=ids)
                if paper is not None and not papers:
                    return self._send(404, b"no such paper\n", "text/plain")
                body = bibtex_of(papers).encode()
            name = f"paper-{paper}.bib" if paper is not None else "saved.bib"
            headers = {"Content-Disposition": f'inline; filename="{name}"'}
            self._send(200, body, "text/x-bibtex; charset=utf-8", headers)

        def _feed(self, config: Config, query: dict[str, str], url_token: str, name: str) -> None:
            names = [w.name for w in config.watchlists]
            if name != "all" and name not in names:
                return self._send(404, b"no such watchlist\n", "text/plain")
            wanted = names if name == "all" else [name]
            with Store(config.db_path, readonly=True) as store:
                etag, modified = feed_version(store, wanted or [""])
                headers = {"ETag": etag, "Cache-Control": "no-cache"}
                if modified is not None:
                    headers["Last-Modified"] = http_date(modified.astimezone(UTC))
                if self._fresh(etag, modified):
                    return self._send(304, b"", None, headers)
                host = self.headers.get("Host") or f"127.0.0.1:{web.port}"  # a checked one
                body = atom(store, config, name, wanted or [""], f"http://{host}")
            self._send(200, body, "application/atom+xml; charset=utf-8", headers)

        def _fresh(self, etag: str, modified: datetime | None) -> bool:
            """What the client holds is this version (If-None-Match, If-Modified-Since),
            as werkzeug's conditional responses decide it."""
            return not is_resource_modified(
                http_if_none_match=self.headers.get("If-None-Match"),
                http_if_modified_since=self.headers.get("If-Modified-Since"),
                etag=etag,
                last_modified=modified,
            )

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
