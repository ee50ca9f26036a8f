"""A local Crossref: `/works` serves the works set (real ones, tests/fixtures/crossref)
in the `work-list` envelope, `rows` at a time, with cursor paging (`cursor=*`, then
each answer's `next-cursor`)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import ROOT
from tests.fake_server import FakeServer

CROSSREF = ROOT / "tests" / "fixtures" / "crossref"
ECOLOGY = CROSSREF / "crossref_works_query-ecology_query.author-carl_boettiger_rows20.json"
BY_DOI = CROSSREF / "findpapers_crossref_works_by_doi_x8_messages.json"


def works(path=ECOLOGY) -> list[dict[str, Any]]:
    found = json.loads(path.read_text())
    return list(found["message"]["items"]) if "message" in found else list(found.values())


class FakeCrossref(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.works: list[dict[str, Any]] = []
        self.status = 200

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        if url.path != "/works":
            return self.send(h, 404, b"not found")
        if self.status != 200:
            body = {"status": "error", "message": [{"message": "overloaded"}]}
            return self.send(h, self.status, json.dumps(body).encode())
        asked = {k: v[0] for k, v in parse_qs(url.query).items()}
        rows = int(asked.get("rows", "20"))
        start = 0 if asked["cursor"] == "*" else int(asked["cursor"].removeprefix("c"))
        page = self.works[start : start + rows]
        message = {
            "facets": {},
            "next-cursor": f"c{start + rows}",
            "total-results": len(self.works),
            "items": page,
            "items-per-page": rows,
            "query": {"start-index": 0, "search-terms": None},
        }
        answer = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0"}
        self.send(h, 200, json.dumps({**answer, "message": message}).encode())
