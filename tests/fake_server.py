"""A local HTTP server on 127.0.0.1 that records every request and how many were in
flight at once; the fake services (Hugging Face, arXiv) subclass it with their `handle`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from tests.receivers import QuietServer


class FakeServer:
    def __init__(self, now: Callable[[], float] = time.monotonic, pause: float = 0.0) -> None:
        self.requests: list[tuple[float, str, dict[str, str]]] = []  # (time, path, headers)
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
                    owner.requests.append((now(), self.path, dict(self.headers)))
                try:
                    time.sleep(pause)  # overlapping requests would show
                    owner.handle(self)
                finally:
                    owner.answered(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError  # each fake service answers its own paths

    def answered(self, h: BaseHTTPRequestHandler) -> None:
        """A request is in flight until its answer's last bytes go out: the client may
        send its next one the moment they arrive, before this handler's thread returns."""
        with self.lock:
            if not getattr(h, "answered", False):
                h.answered = True  # type: ignore[attr-defined]
                self.in_flight -= 1

    def __enter__(self):
        # a stop takes effect within 0.05 s (the default, 0.5 s, was each test's teardown)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.requests]

    def send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        ctype: str = "application/json",
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        self.answered(h)
        h.wfile.write(body)
