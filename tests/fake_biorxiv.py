"""A local bioRxiv/medRxiv API: `details/{server}/{from}/{to}/{cursor}` pages through the
records set for a server (real records from the fixtures), `PAGE` at a time, with the
API's messages: `cursor` and `count` as numbers, `total` and `count_new_papers` as
strings."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.conftest import ROOT
from tests.fake_server import FakeServer

BIORXIV = ROOT / "tests" / "fixtures" / "biorxiv"
PAGE = 20
_DETAILS = re.compile(r"^/details/(\w+)/(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})/(\d+)$")


def records(name: str) -> list[dict[str, Any]]:
    return list(json.loads((BIORXIV / name).read_text())["collection"])


class FakeBiorxiv(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.listing: dict[str, list[dict[str, Any]]] = {"biorxiv": [], "medrxiv": []}
        self.error: str | None = None  # answer every request with this status
        self.raw: bytes | None = None  # answer every request with these bytes

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        m = _DETAILS.match(h.path)
        if not m:
            return self.send(h, 404, b"not found")
        server, start, end, cursor = m.group(1), m.group(2), m.group(3), int(m.group(4))
        if self.raw is not None:
            return self.send(h, 200, self.raw)
        if self.error:
            body = {"messages": [{"status": self.error}], "collection": []}
            return self.send(h, 200, json.dumps(body).encode())
        found = self.listing.get(server, [])
        if not found:
            body = {"messages": [{"status": "no posts found"}], "collection": []}
            return self.send(h, 200, json.dumps(body).encode())
        page = found[cursor : cursor + PAGE]
        new = sum(r["version"] == "1" for r in found)
        message = {
            "status": "ok",
            "category": "all",
            "interval": f"{start}:{end}",
            "funder": "all",
            "cursor": cursor,
            "count": len(page),
            "count_new_papers": str(new),
            "total": str(len(found)),
        }
        self.send(h, 200, json.dumps({"messages": [message], "collection": page}).encode())
