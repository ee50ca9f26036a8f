"""Notification channels: named lists of apprise URLs, plus the built-in console channel.

A channel's URLs hold secrets. They are only handed to apprise; everywhere else (logs,
errors, the database) a channel shows its privacy form, and apprise's own log lines are
captured and scrubbed of every secret before they are kept.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import apprise
from apprise.decorators import notify

from daemon.errors import ConfigError
from daemon.log import event
from daemon.outputs.contract import Output, output_kind
from daemon.secrets import HIDDEN, scrub
from daemon.store.rows import StoredMatch


class _PerThread(logging.Handler):
    """Keeps apprise's log lines for the thread that is sending, so channels sending at the
    same time never see (or report) each other's lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(f"{record.levelname} {record.getMessage()}")


_HANDLER = _PerThread()
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.propagate = False  # see daemon.log: raw lines may hold secrets
_APPRISE_LOG.setLevel(logging.DEBUG)
_APPRISE_LOG.addHandler(_HANDLER)


@contextmanager
def _capture() -> Iterator[list[str]]:
    lines: list[str] = []
    _HANDLER.local.lines = lines
    try:
        yield lines
    finally:
        _HANDLER.local.lines = None


@notify(on="console", name="paperwatch console")
def _console(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
    """console://: alerts as log lines, the channel that works with no set-up at all."""
    event("alert", channel="console", title=title)
    for line in body.splitlines():
        if line.strip():
            logging.getLogger("paperwatch.console").info("  %s", line)
    return True


@dataclass(frozen=True)
class Target:
    """One apprise URL, loaded: what to call, which format it wants, how to show it."""

    plugin: Any = field(repr=False, compare=False)
    private_url: str
    format: apprise.NotifyFormat


DEFAULT_TIMEOUT = 30.0  # seconds a service may take to connect, and again to answer
_TIMED_OUT = re.compile(r"timed? ?out|timeout", re.IGNORECASE)


class Rendered(Protocol):
    """A message in every body format (daemon.render.Message)."""

    @property
    def title(self) -> str: ...

    def bodies(self) -> dict[apprise.NotifyFormat, str]: ...


@dataclass(frozen=True)
class Channel:
    """A named list of apprise targets (sent the rendered message) and outputs (given the
    matches as data: daemon.outputs)."""

    name: str
    targets: tuple[Target, ...]
    secrets: tuple[str, ...] = field(repr=False, default=())
    timeout: float = DEFAULT_TIMEOUT
    outputs: tuple[Output, ...] = ()

    def describe(self) -> str:
        return ", ".join(
            [t.private_url for t in self.targets] + [o.private_url for o in self.outputs]
        )

    def deliver(
        self, watchlist: str, matches: list[StoredMatch], render: Callable[[], Rendered]
    ) -> str | None:
        """A batch of one watchlist's matches: to each output as data, to the apprise
        targets as `render()`'s message; None on success, else the reasons."""
        errors = [e for o in self.outputs if (e := o.deliver(watchlist, matches))]
        if self.targets:
            message = render()
            if sent_error := self.send(message.title, message.bodies()):
                errors.append(sent_error)
        return "; ".join(errors) or None

    def scrub(self, text: str) -> str:
        """`text` with every secret of this channel (as written or URL-encoded) hidden."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in (secret, quote(secret, safe=""), quote(secret)):
                text = text.replace(form, HIDDEN)
        return text

    def send(self, title: str, bodies: dict[apprise.NotifyFormat, str]) -> str | None:
        """Send to every target in the format it prefers; None on success, else the reason
        (scrubbed of secrets)."""
        errors = []
        for target in self.targets:
            fmt = target.format
            body = bodies[fmt]
            with _capture() as log:
                ok = bool(target.plugin.notify(body=body, title=title, body_format=fmt))
            if not ok:
                errors.append(f"{target.private_url}: {self.scrub(_reason(log, self.timeout))}")
        return "; ".join(errors) or None


def _reason(log: list[str], timeout: float) -> str:
    """Why a send failed, from apprise's log: its warnings, or that the service timed out
    (which apprise says only at debug level)."""
    if any(_TIMED_OUT.search(line) for line in log):
        return f"timed out after {timeout:g} s"
    warnings = [line.split(" ", 1)[1] for line in log if line.startswith(("WARNING", "ERROR"))]
    return " ".join(" ".join(warnings).split())[:300] or "apprise reported failure"


def _private_values(plugin: Any) -> list[str]:
    """Values of the tokens apprise itself declares private (passwords, API tokens)."""
    found: list[str] = []
    for key, spec in {**plugin.template_tokens, **plugin.template_args}.items():
        if not spec.get("private"):
            continue
        value = getattr(plugin, spec.get("map_to", key), None)
        values = [value] if isinstance(value, str) else value
        if isinstance(values, (list, tuple, set)):
            found += [v for v in values if isinstance(v, str)]
    return found


def load_channel(
    name: str,
    urls: list[str],
    where: str,
    secrets: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    base: Path = Path("."),
) -> Channel:
    """Load `urls` (secrets already expanded; `secrets` are the expanded values): an
    output kind's URL by that kind (paths relative to `base`), any other by apprise."""
    targets: list[tuple[Any, apprise.NotifyFormat]] = []
    outputs: list[Output] = []
    hidden = [*urls, *secrets]
    for i, url in enumerate(urls):
        at = where if len(urls) == 1 else f"{where}[{i}]"
        if kind := output_kind(url):
            outputs.append(kind.load(url, at, base))
            continue
        with _capture():  # apprise's complaints may quote the URL: never shown
            plugin = apprise.Apprise.instantiate(_with_options(url, timeout))
        if plugin is None:
            scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
            what = f"this {scheme.group(1)}:// URL" if scheme else "this URL (no scheme://)"
            raise ConfigError(
                f"{at}: apprise cannot load {what} (unknown service or invalid parameters)"
            )
        hidden += _private_values(plugin)
        formats = plugin.notify_format
        preferred = formats[0] if isinstance(formats, tuple) else formats
        if preferred not in (apprise.NotifyFormat.HTML, apprise.NotifyFormat.TEXT):
            preferred = apprise.NotifyFormat.MARKDOWN
        targets.append((plugin, preferred))
    secret_values = tuple(dict.fromkeys(s for s in hidden if len(s) >= 3))
    channel = Channel(name, (), secret_values, timeout)
    # apprise's privacy form hides passwords and tokens it knows; a secret in a path, a
    # query or a header (json://host/hook/${KEY}, ?+X-Api-Key=${KEY}) is scrubbed too
    shown = tuple(
        Target(plugin, scrub(channel.scrub(plugin.url(privacy=True))), fmt)
        for plugin, fmt in targets
    )
    return Channel(name, shown, secret_values, timeout, tuple(outputs))


def _with_options(url: str, timeout: float) -> str:
    """Ask apprise to split messages over a service's size limit, and to give up on a
    service after `timeout` (connect, and again read), unless the URL says otherwise."""
    if url.startswith("console://"):
        return url
    wanted = {"overflow": "split", "cto": f"{timeout:g}", "rto": f"{timeout:g}"}
    extra = "&".join(f"{k}={v}" for k, v in wanted.items() if f"{k}=" not in url)
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + extra
