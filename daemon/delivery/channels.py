"""Notification channels: named lists of apprise URLs, plus the built-in console channel.

A channel's URLs hold secrets. They are only handed to apprise; everywhere else (logs,
errors, the database) a channel shows its privacy form, and apprise's own log lines are
captured and scrubbed of every secret before they are kept.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from daemon.config import DEFAULT_TIMEOUT
from daemon.core.errors import ConfigError
from daemon.core.log import event
from daemon.core.secrets import HIDDEN, SECRET_NAME, TOKEN_LIKE, scrub
from daemon.delivery.outputs.contract import Output, output_kind
from daemon.delivery.render import EMAIL, NotifyFormat, Part
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
_APPRISE_LOG.propagate = False  # see daemon.core.log: raw lines may hold secrets
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


class _Console:
    """console://: alerts as log lines, the channel that works with no set-up at all. A
    target of paperwatch's own, sent as apprise's plugins are (apprise is imported only
    for the services it serves: 0.2 s and some 15 MB a daemon without them keeps)."""

    notify_format = NotifyFormat.TEXT

    def notify(self, body: str, title: str, body_format: str) -> bool:
        event("alert", channel="console", title=title)
        for line in body.splitlines():
            if line.strip():
                logging.getLogger("paperwatch.console").info("  %s", line)
        return True

    def url(self, privacy: bool = False) -> str:
        return "console://"


@dataclass(frozen=True)
class Target:
    """One apprise URL, loaded: what to call, which format it wants (render.EMAIL: the
    styled document), how to show it, and how many characters a message may hold (None:
    no limit that matters, as for email)."""

    plugin: Any = field(repr=False, compare=False)
    private_url: str
    format: str
    limit: int | None = None


# services whose real limit is below what apprise declares: Slack shows the body in one
# Block Kit section, which takes 3,000 characters
_SERVICE_LIMITS = {"NotifySlack": 3000}


_TIMED_OUT = re.compile(r"timed? ?out|timeout", re.IGNORECASE)


class Rendered(Protocol):
    """A message in every body format (daemon.delivery.render.Message)."""

    def parts(self, fmt: str, limit: int | None) -> list[Part]:
        """The messages that carry it within `limit` characters, and their papers."""


@dataclass(frozen=True)
class Sent:
    """How a delivery went: None, or why it failed; and which of its papers (their
    indices) did not reach every output and target (sent again on a retry)."""

    error: str | None = None
    unsent: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Channel:
    """A named list of apprise targets (sent the rendered message) and outputs (given the
    matches as data: daemon.delivery.outputs)."""

    name: str
    targets: tuple[Target, ...]
    secrets: tuple[str, ...] = field(repr=False, default=())
    timeout: float = DEFAULT_TIMEOUT
    outputs: tuple[Output, ...] = ()

    def describe(self) -> str:
        shown = [t.private_url for t in self.targets] + [o.private_url for o in self.outputs]
        return scrub(", ".join(shown))

    def deliver(
        self, watchlist: str, matches: list[StoredMatch], render: Callable[[], Rendered]
    ) -> Sent:
        """A batch of one watchlist's matches: to each output as data, to the apprise
        targets as `render()`'s message. An output takes all or nothing; a target given
        the message in parts may have taken the first ones."""
        errors = [e for o in self.outputs if (e := o.deliver(watchlist, matches))]
        unsent = set(range(len(matches))) if errors else set()
        if self.targets:
            sent_error, missed = self.send(render())
            if sent_error:
                errors.append(sent_error)
                unsent |= missed or set(range(len(matches)))
        # the one place a delivery's error is made: what is stored and shown is scrubbed
        # of every secret (the targets' errors of this channel's own already)
        return Sent(scrub("; ".join(errors)) or None, frozenset(unsent))

    def scrub(self, text: str) -> str:
        """`text` with every secret of this channel (as written or URL-encoded) hidden."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in (secret, quote(secret, safe=""), quote(secret)):
                text = text.replace(form, HIDDEN)
        return text

    @contextmanager
    def session(self) -> Iterator[None]:
        """A delivery pass: the messages it sends to an email target go over one SMTP
        connection, one after the other (not one connection each, 5.5 s apart: apprise's
        throttle for services with a rate limit, which a mail server is not)."""
        _MAIL.open = {}
        try:
            yield
        finally:
            for connection in _MAIL.open.values():
                with contextlib.suppress(Exception):
                    connection.__exit__(None, None, None)
            _MAIL.open = None

    def send(self, message: Rendered) -> tuple[str | None, set[int]]:
        """Send to every target in the format it prefers, in as many numbered parts as its
        limit needs: (None on success, else the reason scrubbed of secrets; the papers
        some target did not get). A target whose part fails is not sent its later parts."""
        errors, missed = [], set[int]()
        for target in self.targets:
            fmt = NotifyFormat.HTML if target.format == EMAIL else target.format
            parts = message.parts(target.format, target.limit)
            for i, part in enumerate(parts):
                with _capture() as log:
                    if target.format == EMAIL and _MAIL.open is not None:
                        ok = _mail(target.plugin, part.title, part.body, _MAIL.open)
                    else:
                        ok = target.plugin.notify(body=part.body, title=part.title, body_format=fmt)
                if not ok:
                    reason = self.scrub(_reason(log, self.timeout))
                    errors.append(f"{target.private_url}: {reason}")
                    missed.update(card for later in parts[i:] for card in later.cards)
                    break
        return "; ".join(errors) or None, missed


class _Sessions(threading.local):
    open: dict[int, Any] | None = None  # per email target: its SMTP connection in a pass


_MAIL = _Sessions()


# what apprise's email plugin passes, as it holds them, to its SMTP connection and to
# the messages it builds
_CONNECTION = (
    "port", "secure_mode", "user", "password", "verify_certificate", "socket_connect_timeout"
)  # fmt: skip
_MESSAGE = (
    "from_addr", "cc", "bcc", "reply_to", "smtp_host", "names", "pgp", "pgp_mode", "inline",
    "tzinfo",
)  # fmt: skip


def _settings(plugin: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(plugin, name) for name in names}


def _mail(plugin: Any, title: str, body: str, open_: dict[int, Any]) -> bool:
    """Send one message as apprise's email plugin builds it, over the target's connection
    of this pass (opened on its first message; a failure closes it, the next reopens)."""
    from apprise.plugins.email.base import NotifyEmail
    from apprise.plugins.email.smtp import AppriseSMTPController

    try:
        smtp = open_.get(id(plugin))
        if smtp is None:
            smtp = AppriseSMTPController(
                host=plugin.smtp_host, **_settings(plugin, _CONNECTION)
            ).__enter__()
            open_[id(plugin)] = smtp
        headers = {"X-Application": plugin.app_id, **plugin.headers}
        sent = True
        for message in NotifyEmail.prepare_emails(
            subject=title,
            body=body,
            notify_format=plugin.resolve_format(NotifyFormat.HTML),
            to=plugin.targets,
            headers=headers,
            **_settings(plugin, _MESSAGE),
        ):
            if not smtp.sendmail(plugin.from_addr[1], message.to_addrs, message.body):
                _APPRISE_LOG.warning("Sending email to %r failed.", message.recipient)
                sent = False
        return sent
    except Exception as exc:  # the connection's, or the message's: said, then reopened
        _APPRISE_LOG.warning("Connection error while submitting email: %s", exc)
        connection = open_.pop(id(plugin), None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.__exit__(None, None, None)
        return False


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


def _url_secrets(url: str) -> list[str]:
    """What in a URL as written is secret: the password of its user part, the values of
    query parameters or headers named like one (token, key, secret, auth...) and path
    segments that read as tokens. The scheme, host and the rest of the path stay readable
    in `check` (values given as ${VAR} are secrets already, and apprise hides the tokens
    of the services it knows)."""
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [unquote(s) for s in parts.path.split("/") if TOKEN_LIKE.match(unquote(s))]
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if SECRET_NAME.search(key):
            found.append(value)
    return found


def load_channel(
    name: str,
    urls: list[str],
    where: str,
    secrets: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    base: Path = Path("."),
    max_chars: int | None = None,
) -> Channel:
    """Load `urls` (secrets already expanded; `secrets` are the expanded values): an
    output kind's URL by that kind (paths relative to `base`), any other by apprise.
    `max_chars`: a message's limit for every target, below the service's own."""
    targets: list[tuple[Any, str, int | None]] = []
    outputs: list[Output] = []
    hidden = [*secrets, *(v for url in urls for v in _url_secrets(url))]
    for i, url in enumerate(urls):
        at = where if len(urls) == 1 else f"{where}[{i}]"
        if kind := output_kind(url):
            outputs.append(kind.load(url, at, base, timeout))
            continue
        if url.strip().lower() == "console://":
            targets.append((_Console(), NotifyFormat.TEXT, max_chars))
            continue
        import apprise  # the services' plugins: for a channel that names one

        with _capture():  # apprise's complaints may quote the URL: never shown
            plugin = apprise.Apprise.instantiate(_with_options(url, timeout))
        if plugin is None:
            scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
            what = f"this {scheme.group(1)}:// URL" if scheme else "this URL (no scheme://)"
            raise ConfigError(
                f"{at}: apprise cannot load {what} (unknown service or invalid parameters)"
            )
        hidden += _private_values(plugin)
        targets.append((plugin, *_format_and_limit(plugin, max_chars)))
    secret_values = tuple(dict.fromkeys(s for s in hidden if len(s) >= 3))
    channel = Channel(name, (), secret_values, timeout)
    # apprise's privacy form hides passwords and tokens it knows; a secret in a path, a
    # query or a header (json://host/hook/${KEY}, ?+X-Api-Key=${KEY}) is scrubbed too
    shown = tuple(
        Target(plugin, scrub(channel.scrub(plugin.url(privacy=True))), fmt, limit)
        for plugin, fmt, limit in targets
    )
    return Channel(name, shown, secret_values, timeout, tuple(outputs))


def _format_and_limit(plugin: Any, max_chars: int | None) -> tuple[str, int | None]:
    """The body format a service takes best (email: the styled document) and the size
    of its messages: none for email (a digest is one email), else the service's limit."""
    if type(plugin).__module__.startswith("apprise.plugins.email"):  # mailto(s)://, by module:
        return EMAIL, max_chars  # importing apprise's email plugin here costs every command
    formats = plugin.notify_format
    preferred = formats[0] if isinstance(formats, tuple) else formats
    preferred = getattr(preferred, "value", preferred)  # apprise's enum, as its plain name
    if preferred not in (NotifyFormat.HTML, NotifyFormat.TEXT):
        preferred = NotifyFormat.MARKDOWN
    limits = [
        n
        for n in (_declared_limit(plugin), _SERVICE_LIMITS.get(type(plugin).__name__), max_chars)
        if isinstance(n, int) and n > 0
    ]
    return preferred, min(limits) if limits else None


def _declared_limit(plugin: Any) -> int | None:
    """The size limit a service's plugin declares; None where it only inherits apprise's
    default (a generic webhook has no limit of its own)."""
    from apprise.plugins.base import NotifyBase

    for cls in type(plugin).__mro__:
        if cls is NotifyBase:
            return None
        if "body_maxlen" in vars(cls):
            return int(plugin.body_maxlen)
    return None


def _with_options(url: str, timeout: float) -> str:
    """Ask apprise to send what it is given as it is (paperwatch splits a digest in
    numbered parts itself, within the service's limit), and to give up on a service after
    `timeout` (connect, and again read), unless the URL says otherwise."""
    wanted = {"overflow": "upstream", "cto": f"{timeout:g}", "rto": f"{timeout:g}"}
    extra = "&".join(f"{k}={v}" for k, v in wanted.items() if f"{k}=" not in url)
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + extra
