"""`${NAME}` in channel URLs: from the environment, a secrets file, or systemd credentials.

Values are only ever substituted into URLs handed to apprise (or a source's header).
Every value expanded is remembered, so `scrub` can take it out of any text that leaves
the process: log lines, command output, errors kept in the database. A secret may sit in
a URL's path, query or a header, where apprise's privacy form does not hide it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from daemon.core.errors import ConfigError

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# every secret value expanded in this process and its URL forms, longest first (a secret
# that holds another is hidden whole)
_EXPANDED: list[str] = []
HIDDEN = "****"
# a query parameter's or a header's name that says its value is secret
SECRET_NAME = re.compile(r"auth|token|key|secret|signature|cookie|pass|sig", re.IGNORECASE)
# a URL path segment that reads as a token (Slack's and Discord's hook paths are)
TOKEN_LIKE = re.compile(r"^(?=[^/]*\d)[A-Za-z0-9_-]{16,}$")


def remember(value: str) -> None:
    """`value` is a secret from now on: `scrub` hides it, as written and URL-encoded."""
    if len(value) >= 3:
        found = set(_EXPANDED) | {value, quote(value, safe=""), quote(value)}
        _EXPANDED[:] = sorted(found, key=len, reverse=True)


def scrub(text: str) -> str:
    """`text` with every secret value replaced by ****."""
    if _EXPANDED and text:
        for secret in _EXPANDED:
            if secret in text:
                text = text.replace(secret, HIDDEN)
    return text


@dataclass(frozen=True)
class Secrets:
    from_file: dict[str, str]

    @classmethod
    def load(cls, path: Path | None, where: str) -> Secrets:
        if path is None:
            return cls({})
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {path} ({exc.strerror})") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{where}: {path} is readable by group or others; run: chmod 600 {path}"
            )
        values = {}
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep or not _REF.fullmatch("${" + name.strip() + "}"):
                raise ConfigError(f"{where}: {path} line {n}: expected NAME=value")
            values[name.strip()] = value.strip()
        return cls(values)

    def lookup(self, name: str) -> str | None:
        if name in os.environ:
            return os.environ[name]
        if name in self.from_file:
            return self.from_file[name]
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if creds:
            # LoadCredential=NAME:file gives NAME; LoadCredential=paperwatch:/dir gives
            # paperwatch_NAME for each file NAME in the directory (the shipped unit).
            for candidate in (name, f"paperwatch_{name}"):
                path = Path(creds) / candidate
                if path.is_file():
                    return path.read_text().strip()
        return None

    def expand(self, text: str, where: str) -> str:
        def value(m: re.Match[str]) -> str:
            found = self.lookup(m.group(1))
            if found is None:
                raise ConfigError(
                    f"{where}: ${{{m.group(1)}}} is not set (environment, "
                    "secrets_file or $CREDENTIALS_DIRECTORY)"
                )
            remember(found)
            return found

        return _REF.sub(value, text)

    def referenced(self, text: str) -> list[str]:
        """The values of the `${NAME}`s in `text` that are set: what to scrub from output."""
        return [v for m in _REF.finditer(text) if (v := self.lookup(m.group(1)))]
