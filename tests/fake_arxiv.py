"""A local server on 127.0.0.1 that plays arXiv (feeds, API, OAI-PMH) for source tests.

Request times are read from the test's clock, so politeness (3 s apart, one at a time)
is checked without waiting for it."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.clock import ManualClock
from tests.conftest import ARXIV

DAY1 = (ARXIV / "rss_cs.CL_2026-08-20.xml").read_bytes()
DAY2 = (ARXIV / "rss_cs.CL_2026-08-21.xml").read_bytes()
WEEKEND = (ARXIV / "rss_cs.CL_2026-08-15_weekend_empty.xml").read_bytes()


def redate(feed: bytes, day: str) -> bytes:
    """The same feed as arXiv would serve it on another day ('Tue, 25 Aug 2026')."""
    return re.sub(
        rb"(<(?:pubDate|lastBuildDate)>)[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4}",
        rb"\g<1>" + day.encode(),
        feed,
    )


def items(feed: bytes, *kinds: str) -> set[str]:
    """Ids of a feed's items of these announce types."""
    found = re.findall(
        rb"oai:arXiv.org:(\S+?)v\d+</guid>.*?<arxiv:announce_type>([a-z-]+)<", feed, re.S
    )
    return {i.decode() for i, k in found if k.decode() in kinds}


def oai_page(records: list[dict[str, Any]], token: str | None) -> bytes:
    """An OAI-PMH ListRecords page in arXiv's metadata format."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
    ]
    for r in records:
        authors = "".join(
            f"<author><keyname>{escape(a.split()[-1])}</keyname>"
            f"<forenames>{escape(' '.join(a.split()[:-1]))}</forenames></author>"
            for a in r["authors"]
        )
        updated = f"<updated>{r['updated']}</updated>" if r.get("updated") else ""
        out.append(
            f"<record><header><identifier>oai:arXiv.org:{r['id']}</identifier>"
            f"<datestamp>{r['created']}</datestamp><setSpec>cs</setSpec></header><metadata>"
            '<arXiv xmlns="http://arxiv.org/OAI/arXiv/">'
            f"<id>{r['id']}</id><created>{r['created']}</created>{updated}"
            f"<authors>{authors}</authors><title>{escape(r['title'])}</title>"
            f"<categories>{' '.join(r['categories'])}</categories>"
            f"<abstract>{escape(r['abstract'])}</abstract></arXiv></metadata></record>"
        )
    if token:
        out.append(f'<resumptionToken cursor="0">{token}</resumptionToken>')
    out.append("</ListRecords></OAI-PMH>")
    return "".join(out).encode()


def api_feed(entries: list[dict[str, Any]]) -> bytes:
    """An API answer (Atom) listing these papers."""
    body = "".join(
        f"<entry><id>http://arxiv.org/abs/{e['id']}v1</id><title>{escape(e['title'])}</title>"
        f"<summary>{escape(e['abstract'])}</summary><author><name>A B</name></author></entry>"
        for e in entries
    )
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<opensearch:totalResults>{len(entries)}</opensearch:totalResults>{body}</feed>"
    ).encode()


class FakeArxiv:
    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock
        self.feed = DAY1
        self.etag = '"d1"'
        self.oai_pages: list[bytes] = []
        self.api_papers: list[dict[str, Any]] = []  # answered by title
        self.api_status = 200
        self.throttle = 0  # answer this many requests with 429 + Retry-After first
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                with owner.lock:
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                    at = owner.clock.monotonic() if owner.clock else time.monotonic()
                    owner.requests.append((at, self.path, dict(self.headers)))
                try:
                    time.sleep(0.02)  # overlapping requests would show
                    owner.handle(self)
                finally:
                    with owner.lock:
                        owner.in_flight -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeArxiv:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.requests]

    def send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.throttle:
            self.throttle -= 1
            return self.send(h, 429, b"slow down", Retry_After="7")
        if parts.path.startswith("/rss/"):
            if h.headers.get("If-None-Match") == self.etag:
                return self.send(h, 304, b"")
            return self.send(h, 200, self.feed, ETag=self.etag)
        if parts.path == "/oai":
            page = int(query["resumptionToken"]) if "resumptionToken" in query else 0
            return self.send(h, 200, self.oai_pages[page])
        if parts.path == "/api/query":
            if self.api_status != 200:
                return self.send(h, self.api_status, b"unavailable")
            wanted = set(re.findall(r'ti:"([^"]+)"', query.get("search_query", "")))
            hits = [p for p in self.api_papers if p["key"] in wanted]
            return self.send(h, 200, api_feed(hits))
        return self.send(h, 404, b"not found")
