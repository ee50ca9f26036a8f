"""The one place that talks HTTP: polite, bounded, and every failure a FetchError.

Politeness: a descriptive User-Agent, one request at a time per host with a minimum
interval (kept by a pacer shared across config reloads), Retry-After honoured on 429/503,
conditional requests left to the caller's headers.

Bounds: `timeout` is a total deadline per request, not per read: a peer that trickles a
byte a second is cut off at it (its socket is shut down), so it never holds the pacer,
and the other sources of its host, longer. Every httpx error, a redirect loop included,
is a FetchError: the source fails, with its reason, and backs off.
"""

from __future__ import annotations

import contextlib
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx

from daemon import __version__
from daemon.config import HttpSettings
from daemon.core.backoff import backoff
from daemon.core.clock import SYSTEM, Clock
from daemon.core.errors import FetchError

USER_AGENT = (
    f"paperwatch/{__version__} (+https://github.com/paperwatch/paperwatch; new-paper alerts)"
)
RETRY_STATUSES = (429, 503)


@cache
def tls() -> ssl.SSLContext:
    """The one TLS context of the process, which every client verifies with: making one
    parses the whole CA bundle (20-70 ms of CPU), which each source's client and each
    webhook delivery paid again, plain-HTTP peers included."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    body: bytes
    headers: httpx.Headers


class HostPacer:
    """One request at a time per host, `min_interval` apart; one per process, so clients
    rebuilt by a reload still share it."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        self.clock = clock
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    @contextmanager
    def turn(self, host: str, min_interval: float) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            wait = self._last.get(host, float("-inf")) + min_interval - self.clock.monotonic()
            if wait > 0:
                self.clock.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = self.clock.monotonic()


class Deadline:
    """A request's total time: when it is up, the sockets the request opened (each
    connection it makes, redirects included) are shut down, which ends any read."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpx's trace hook: note each new connection's socket."""
        if name != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self._timer is None:
                self._timer = threading.Timer(max(0.0, self.end - time.monotonic()), self._cut)
                self._timer.daemon = True
                self._timer.start()

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


class HttpClient:
    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        pacer: HostPacer | None = None,
        clock: Clock = SYSTEM,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.clock = clock
        self.pacer = pacer or HostPacer(clock)
        self.transport = transport
        self._client: httpx.Client | None = None
        self._making = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """Made on first use: a command or a runtime that never fetches loads no TLS
        context."""
        with self._making:
            if self._client is None:
                self._client = httpx.Client(
                    verify=tls(),
                    timeout=self.settings.timeout,
                    follow_redirects=True,
                    headers={"User-Agent": USER_AGENT},
                    transport=self.transport,
                    # a connection per request: the deadline watches the socket it opens
                    limits=httpx.Limits(max_keepalive_connections=0),
                )
            return self._client

    def close(self) -> None:
        with self._making:
            if self._client is not None:
                self._client.close()

    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        pace: tuple[str, float] | None = None,
    ) -> Response:
        """GET `url`, one request at a time per host; 2xx and 304 return, others raise.
        `token` is sent as a Bearer header (callers pass it only to its own service).
        `pace` = (group, seconds) paces a group of hosts as one, at least that far apart
        (arXiv asks for one request every 3 s across all its hosts)."""
        host, interval = pace or (urlsplit(url).netloc, 0.0)
        interval = max(interval, self.settings.min_interval)
        send = dict(headers or {})
        if token:
            send["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            attempt += 1
            deadline = Deadline(self.settings.timeout)
            with self.pacer.turn(host, interval):
                try:
                    response: Response | None = self._fetch(url, send, deadline)
                except httpx.TimeoutException:
                    raise FetchError(f"{url}: timed out after {self.settings.timeout:g}s") from None
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    if deadline.expired:
                        raise FetchError(
                            f"{url}: timed out after {self.settings.timeout:g}s "
                            "(no complete answer in that time)"
                        ) from None
                    if attempt > self.settings.retries:
                        raise FetchError(f"{url}: {_reason(exc)}") from None
                    response = None
                except httpx.TooManyRedirects:
                    raise FetchError(f"{url}: too many redirects (a redirect loop)") from None
                except (httpx.HTTPError, httpx.InvalidURL) as exc:
                    raise FetchError(f"{url}: {_reason(exc)}") from None
                finally:
                    deadline.cancel()
            if response is None:
                self.clock.sleep(_pause(attempt, 10))
                continue
            if response.status in RETRY_STATUSES and attempt <= self.settings.retries:
                delay = retry_after(response.headers.get("Retry-After"), self.clock)
                if delay is None:
                    delay = _pause(attempt + 1, 30)
                if delay > self.settings.max_retry_after:
                    raise FetchError(f"{url}: HTTP {response.status}, Retry-After {delay:.0f}s")
                self.clock.sleep(delay * random.uniform(1.0, 1.1))  # jitter: no stampede
                continue
            if response.status == 304 or 200 <= response.status < 300:
                return response
            raise FetchError(f"{url}: HTTP {response.status}")

    def _fetch(self, url: str, headers: dict[str, str], deadline: Deadline) -> Response:
        limit = self.settings.max_bytes
        trace = {"trace": deadline.trace}
        with self.client.stream("GET", url, headers=headers, extensions=trace) as r:
            declared = r.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise FetchError(
                    f"{url}: response of {declared} bytes is over the {limit} byte limit"
                )
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{url}: response over the {limit} byte limit")
                chunks.append(chunk)
            return Response(str(r.url), r.status_code, b"".join(chunks), r.headers)


def _pause(attempt: int, cap: float) -> float:
    """Exponential backoff with up to 25% jitter, so clients that failed together do not
    come back together."""
    pause = backoff(timedelta(seconds=1), attempt, timedelta(seconds=cap)).total_seconds()
    return pause * random.uniform(1.0, 1.25)


def retry_after(value: str | None, clock: Clock = SYSTEM) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - clock.now()).total_seconds())


def _reason(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection failed (refused or unreachable)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed early (truncated response)"
    return f"{type(exc).__name__}: {exc}"[:200]
