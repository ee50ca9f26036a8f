"""`webhook://HOST[:PORT]/PATH` (`webhooks://` for HTTPS): each digest POSTed as JSON, the
matches as data (ids, title, authors, day, links, matched terms, watchlist, score) for a
script, a bot or a no-code tool to use without parsing a message.

The body follows `webhook.schema.json` (JSON Schema), whose version is the body's
`schema`: fields may be added within a version, never renamed or removed. Headers come
from the URL's query as apprise writes them (`?+Authorization=Bearer%20${TOKEN}`); the
URL as shown keeps only scheme, host and path, a path segment that reads as a token
(a long run of letters and digits, as services put in webhook paths) hidden and
remembered as a secret, so no log line or stored error shows it. A status other than 2xx
is a failed delivery, retried. The channel's `timeout` bounds a delivery's total time: a
receiver that trickles its answer is cut off at it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from daemon.core.errors import ConfigError
from daemon.core.secrets import HIDDEN, SECRET_NAME, TOKEN_LIKE, remember, scrub
from daemon.delivery.outputs.contract import OutputKind, register_output
from daemon.delivery.render import paper_links
from daemon.net.http import Deadline, tls
from daemon.store.rows import StoredMatch

SCHEMA = "paperwatch.matches/1"
# a path segment that is a token, not a word: 16 or more letters, digits, - and _, with
# a digit among them (Slack's, Discord's, Zapier's hook paths)


class Webhook:
    def __init__(self, url: str, headers: dict[str, str], private_url: str, timeout: float) -> None:
        self.url, self.headers, self.private_url = url, headers, private_url
        self.timeout = timeout

    def deliver(self, watchlist: str, matches: list[StoredMatch]) -> str | None:
        deadline = Deadline(self.timeout)
        try:
            with httpx.Client(verify=tls(), timeout=self.timeout) as client:  # its own connection
                answer = client.post(
                    self.url,
                    json=payload(watchlist, matches, datetime.now(UTC)),
                    headers=self.headers,
                    extensions={"trace": deadline.trace},
                )
        except httpx.HTTPError as exc:
            if deadline.expired:
                return f"{self.private_url}: timed out after {self.timeout:g} s"
            return f"{self.private_url}: {type(exc).__name__}"
        finally:
            deadline.cancel()
        if not answer.is_success:
            return f"{self.private_url}: HTTP {answer.status_code}"
        return None


def payload(watchlist: str, matches: list[StoredMatch], now: datetime) -> dict[str, Any]:
    """The body of one digest, as webhook.schema.json describes it."""
    return {
        "schema": SCHEMA,
        "watchlist": watchlist,
        "sent_at": now.isoformat(timespec="seconds"),
        "papers": [
            {
                "id": m.paper.id,
                "arxiv_id": m.paper.arxiv_id,
                "doi": m.paper.doi,
                "pmid": m.paper.pmid,
                "title": m.paper.title,
                "authors": list(m.paper.authors),
                "abstract": m.paper.abstract or None,
                "day": m.paper.day,
                "first_seen": m.paper.first_seen,
                "links": [{"label": label, "url": url} for label, url in paper_links(m.paper)],
                "matched": [{"term": t, "field": f} for t, f in m.matched],
                "title_only": m.title_only,
                "score": m.score,
                "matched_at": m.created_at,
            }
            for m in matches
        ],
    }


def _load(url: str, where: str, base: Path, timeout: float) -> Webhook:
    parts = urlsplit(url)
    secure = parts.scheme.lower() == "webhooks"
    if not parts.hostname:
        raise ConfigError(f"{where}: expected webhook://HOST[:PORT]/PATH, got no host")
    pairs = [item.partition("=") for item in parts.query.split("&") if item]
    headers = {unquote(k[1:]): unquote(v) for k, _, v in pairs if k.startswith("+")}
    real = urlunsplit(("https" if secure else "http", parts.netloc, parts.path or "/", "", ""))
    for name, value in headers.items():  # Authorization, X-Api-Key, X-Hook-Token, ...
        if SECRET_NAME.search(name):
            remember(value)
    remember(parts.password or "")
    path = []
    for segment in parts.path.split("/"):
        if TOKEN_LIKE.match(unquote(segment)):
            remember(unquote(segment))
            segment = HIDDEN
        path.append(segment)
    shown = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/".join(path), "", ""))
    return Webhook(real, headers, scrub(shown), timeout)


KIND = register_output(OutputKind("webhook", "a JSON webhook of the matches", _load))
HTTPS = register_output(OutputKind("webhooks", "a JSON webhook of the matches, HTTPS", _load))
