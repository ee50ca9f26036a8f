"""A local server on 127.0.0.1 that plays Hugging Face Daily Papers for source tests."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import HF
from tests.fake_server import FakeServer


def api_entries(name: str = "api_daily_papers_2026-06-12.json") -> list[dict[str, Any]]:
    return json.loads((HF / name).read_text())


class FakeHF(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.days: dict[str, list[dict[str, Any]]] = {}
        self.pages: dict[str, bytes] = {}  # /papers/date/<day> -> HTML (clamped pages)
        # day or path -> "500" | "429" | "hang" | "slow" | "truncated" | "nonsense"
        self.modes: dict[str, str] = {}
        self.served_429: set[str] = set()
        self.url_body = b""
        self.url_etag = '"v1"'

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        key = query.get("date") or parts.path.rsplit("/", 1)[-1]
        mode = self.modes.get(parts.path) or self.modes.get(key, "")
        if mode in ("hang", "slow"):
            time.sleep(3 if mode == "hang" else 0.2)
            return self.send(h, 200, b"[]")
        if mode == "500":
            return self.send(h, 500, b"oops")
        if mode == "429" and h.path not in self.served_429:
            self.served_429.add(h.path)
            return self.send(h, 429, b"slow down", {"Retry-After": "1"})
        if mode == "truncated":
            h.send_response(200)
            h.send_header("Content-Length", "5000")
            h.end_headers()
            h.wfile.write(b'[{"paper": {"id": "2606.0')
            h.wfile.flush()
            h.close_connection = True
            return None
        if parts.path == "/api/daily_papers":
            entries = self.days.get(key, [])
            if mode == "nonsense":
                return self.send(h, 200, b"<html>maintenance</html>", ctype="text/html")
            page, limit = int(query.get("p", 0)), int(query.get("limit", 50))
            return self.send(
                h, 200, json.dumps(entries[page * limit : (page + 1) * limit]).encode()
            )
        if parts.path.startswith("/papers/date/"):
            if key in self.pages:
                return self.send(h, 200, self.pages[key], ctype="text/html")
            return self.send(h, 404, b"not found", ctype="text/html")
        if parts.path == "/digest":
            if h.headers.get("If-None-Match") == self.url_etag:
                return self.send(h, 304, b"")
            return self.send(h, 200, self.url_body, {"ETag": self.url_etag}, "text/plain")
        return self.send(h, 404, b"not found", ctype="text/html")
