"""The output contract: what receives a watchlist's delivered matches as data (the rows
of the matches and their papers), not as rendered text. A channel's URL whose scheme an output
kind registers is loaded by that kind (`bibtex://...`); any other URL is apprise's, which
gets the rendered message. An output kind is one module of daemon.delivery.outputs, or a
package's `paperwatch.outputs` entry point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from daemon.core.registry import Registry
from daemon.store.rows import StoredMatch


class Output(Protocol):
    @property
    def private_url(self) -> str:
        """How logs, errors and `check` show it."""

    def deliver(self, watchlist: str, matches: list[StoredMatch]) -> str | None:
        """Take these matches (each with its paper); None on success, else why not (the
        deliveries are retried)."""


@dataclass(frozen=True)
class OutputKind:
    scheme: str  # the URL scheme it answers: `bibtex` for bibtex://...
    summary: str
    # (the URL, where it is in config.toml, the config file's directory, the channel's
    # timeout in seconds: a delivery's total time) -> the output; a URL it cannot take
    # is a ConfigError naming `where`
    load: Callable[[str, str, Path, float], Output]


OUTPUTS: Registry[OutputKind] = Registry(
    "daemon.delivery.outputs", "paperwatch.outputs", ("contract",)
)


def register_output(kind: OutputKind) -> OutputKind:
    return OUTPUTS.register(kind.scheme, kind)


def output_kind(url: str) -> OutputKind | None:
    """The output kind of this URL's scheme, if one is registered."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    return OUTPUTS.all().get(scheme)
