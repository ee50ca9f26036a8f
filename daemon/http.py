"""The one place that talks HTTP: polite, bounded, and every failure a FetchError.

Politeness (docs/hf-daily-papers.md): a descriptive User-Agent, one request at a time per
host with a minimum interval, Retry-After honoured on 429/503, conditional requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from daemon import __version__
from daemon.errors import FetchError

USER_AGENT = (
    f"paperwatch/{__version__} (+https://github.com/paperwatch/paperwatch; new-paper alerts)"
)
RETRY_STATUSES = (429, 503)


@dataclass(frozen=True)
class HttpSettings:
    timeout: float = 30.0
    min_interval: float = 1.0  # seconds between two requests to one host
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 2  # extra attempts after a connection error or 429/503
    max_retry_after: float = 120.0  # a longer Retry-After fails now, the scheduler backs off


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    body: bytes
    headers: httpx.Headers


class HttpClient:
    def __init__(
        self, settings: HttpSettings | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings or HttpSettings()
        self.sleep = sleep
        self.client = httpx.Client(
            timeout=self.settings.timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def _host_lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def get(
        self, url: str, headers: dict[str, str] | None = None, token: str | None = None
    ) -> Response:
        """GET `url`, one request at a time per host; 2xx and 304 return, others raise.
        `token` is sent as a Bearer header (callers pass it only to its own service)."""
        host = urlsplit(url).netloc
        send = dict(headers or {})
        if token:
            send["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            with self._host_lock(host):
                wait = self._last.get(host, 0) + self.settings.min_interval - time.monotonic()
                if wait > 0:
                    self.sleep(wait)
                try:
                    response = self._fetch(url, send)
                except httpx.TimeoutException:
                    raise FetchError(f"{url}: timed out after {self.settings.timeout:g}s") from None
                except (httpx.TransportError, httpx.DecodingError) as exc:
                    if attempt >= self.settings.retries:
                        raise FetchError(f"{url}: {_reason(exc)}") from None
                    response = None
                finally:
                    self._last[host] = time.monotonic()
            attempt += 1
            if response is None:
                self.sleep(min(2.0 ** (attempt - 1), 10.0))
                continue
            if response.status in RETRY_STATUSES and attempt <= self.settings.retries:
                delay = retry_after(response.headers.get("Retry-After"))
                if delay is None:
                    delay = min(2.0**attempt, 30.0)
                if delay > self.settings.max_retry_after:
                    raise FetchError(f"{url}: HTTP {response.status}, Retry-After {delay:.0f}s")
                self.sleep(delay)
                continue
            if response.status == 304 or 200 <= response.status < 300:
                return response
            raise FetchError(f"{url}: HTTP {response.status}")

    def _fetch(self, url: str, headers: dict[str, str]) -> Response:
        with self.client.stream("GET", url, headers=headers) as r:
            declared = r.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
                raise FetchError(
                    f"{url}: response of {declared} bytes is over the "
                    f"{self.settings.max_bytes} byte limit"
                )
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > self.settings.max_bytes:
                    raise FetchError(
                        f"{url}: response over the {self.settings.max_bytes} byte limit"
                    )
                chunks.append(chunk)
            return Response(str(r.url), r.status_code, b"".join(chunks), r.headers)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reason(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection failed (refused or unreachable)"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed early (truncated response)"
    return f"{type(exc).__name__}: {exc}"[:200]
