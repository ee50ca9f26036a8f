"""A local server on 127.0.0.1 that plays arXiv (feeds, API, OAI-PMH) for source tests."""

from __future__ import annotations

import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.clock import ManualClock
from tests.conftest import ARXIV
from tests.fake_server import FakeServer

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


def newest_first(path: Path) -> list[bytes]:
    """The <entry>s of a real API answer, newest submission first (sortBy=submittedDate)."""
    entries = re.findall(rb"<entry>.*?</entry>", path.read_bytes(), re.S)
    return sorted(
        entries, key=lambda e: re.search(rb"<published>([^<]+)", e).group(1), reverse=True
    )


def search_page(entries: list[bytes]) -> bytes:
    return (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        b'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        b"<opensearch:totalResults>100</opensearch:totalResults>" + b"".join(entries) + b"</feed>"
    )


class FakeArxiv(FakeServer):
    """Request times come from the test's clock when given, so politeness (3 s apart, one
    at a time) is checked without waiting for it."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        super().__init__(clock.monotonic if clock else time.monotonic, pause=0.02)
        self.feed = DAY1
        self.etag = '"d1"'
        self.oai_pages: list[bytes] = []
        self.api_papers: list[dict[str, Any]] = []  # answered by title
        self.search: list[bytes] = []  # the <entry>s any other search finds, in its order
        self.api_status = 200
        self.throttle = 0  # answer this many requests with 429 + Retry-After first

    def reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
        self.send(
            h, status, body, {k.replace("_", "-"): v for k, v in headers.items()}, "application/xml"
        )

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.throttle:
            self.throttle -= 1
            return self.reply(h, 429, b"slow down", Retry_After="7")
        if parts.path.startswith("/rss/"):
            if h.headers.get("If-None-Match") == self.etag:
                return self.reply(h, 304, b"")
            return self.reply(h, 200, self.feed, ETag=self.etag)
        if parts.path == "/oai":
            page = int(query["resumptionToken"]) if "resumptionToken" in query else 0
            return self.reply(h, 200, self.oai_pages[page])
        if parts.path == "/api/query":
            if self.api_status != 200:
                return self.reply(h, self.api_status, b"unavailable")
            wanted = set(re.findall(r'ti:"([^"]+)"', query.get("search_query", "")))
            if not wanted:
                start, count = int(query["start"]), int(query["max_results"])
                return self.reply(h, 200, search_page(self.search[start : start + count]))
            hits = [p for p in self.api_papers if p["key"] in wanted]
            return self.reply(h, 200, api_feed(hits))
        return self.reply(h, 404, b"not found")
