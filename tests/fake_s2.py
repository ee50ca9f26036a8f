"""A local Semantic Scholar Graph API: `/paper/{id}/citations` pages the citation
elements set for a paper id (real ones, tests/fixtures/semanticscholar) by `offset` and
`limit`, with `next` only where a page follows, as S2 does; an unknown id is a 404."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.conftest import ROOT
from tests.fake_server import FakeServer

S2 = ROOT / "tests" / "fixtures" / "semanticscholar"
BY_DOI = S2 / "findpapers_s2_citations_references_by_doi_x2.json"
_CITATIONS = re.compile(r"^/paper/(.+)/citations$")


def citations(doi: str) -> list[dict[str, Any]]:
    return list(json.loads(BY_DOI.read_text())[doi]["citations"]["data"])


class FakeS2(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.citing: dict[str, list[dict[str, Any]]] = {}  # "DOI:10..." -> elements
        self.status = 200

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        m = _CITATIONS.match(url.path)
        if self.status != 200:
            return self.send(h, self.status, b'{"message": "Too Many Requests"}')
        if m is None or unquote(m.group(1)) not in self.citing:
            return self.send(h, 404, b'{"error": "Paper not found"}')
        asked = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert "citingPaper" not in asked.get("fields", "") and "title" in asked["fields"]
        offset, limit = int(asked.get("offset", "0")), int(asked.get("limit", "100"))
        found = self.citing[unquote(m.group(1))]
        page: dict[str, Any] = {"offset": offset, "data": found[offset : offset + limit]}
        if offset + limit < len(found):
            page["next"] = offset + limit
        self.send(h, 200, json.dumps(page).encode())
