"""Source kinds and their registry: `type = "..."` in config.toml names a kind.

A kind is one module in this package (or a package's `paperwatch.sources` entry point)
that registers a `SourceKind`: its TOML keys, its default schedule, how `check` and
`status` describe a source, its `poll`, and optionally a `watch` that wakes it up between
scheduled polls. Nothing outside the kind's module names it.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from daemon.poller import Outcome, PollContext

KeyType = Literal["str", "int", "bool", "url", "path", "secret", "str_list", "duration"]
REQUIRED: Any = object()


@dataclass(frozen=True)
class Key:
    """One TOML key of a kind. A `path` given in config is relative to the config file;
    a `path` default is relative to state_dir. `check` returns a complaint or None."""

    name: str
    type: KeyType
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    help: str = ""


@dataclass(frozen=True)
class Source:
    """One configured source: the common keys, and its kind's options (validated)."""

    name: str
    type: str
    every: timedelta | None
    cron: str | None
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def schedule(self) -> str:
        from daemon.config import human

        return f"cron {self.cron}" if self.cron else f"every {human(self.every)}"

    @property
    def kind(self) -> SourceKind:
        found = kind(self.type)
        assert found is not None, self.type  # config only builds sources of known kinds
        return found

    def describe(self) -> str:
        return self.kind.describe(self)


Memory = dict[str, Any]  # per source, kept by the daemon from one poll to the next
Watch = Callable[[Source, Memory, threading.Event], Iterator[None]]


@dataclass(frozen=True)
class SourceKind:
    name: str
    summary: str
    keys: tuple[Key, ...]
    poll: Callable[[PollContext, Source], Outcome]
    describe: Callable[[Source], str]
    every: timedelta = timedelta(minutes=30)  # the default schedule
    watch: Watch | None = None  # yields whenever a poll is worth running now
    # what `status` shows beyond the common fields, from the details its polls stored
    report: Callable[[Source, dict[str, Any]], dict[str, Any]] | None = None


_KINDS: dict[str, SourceKind] = {}
_discovered = False
_lock = threading.RLock()  # kind modules register while discovery imports them


def register(new: SourceKind) -> SourceKind:
    """Make `type = new.name` valid in config.toml."""
    with _lock:
        _KINDS[new.name] = new
    return new


def kinds() -> dict[str, SourceKind]:
    _discover()
    return dict(_KINDS)


def kind(name: str) -> SourceKind | None:
    _discover()
    return _KINDS.get(name)


def _discover() -> None:
    """Import every kind module of this package and of installed plugins, once."""
    global _discovered
    with _lock:
        if _discovered:
            return
        for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
            importlib.import_module(f"{__name__}.{module.name}")
        for point in entry_points(group="paperwatch.sources"):
            point.load()
        _discovered = True
