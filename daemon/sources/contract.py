"""The source contract: what a kind module declares (its keys, its `poll`) and what its
`poll` works with (`Context`) and returns (`Outcome`). A low module: kinds import it,
and the registry's discovery (daemon.sources) imports the kinds.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol, TypedDict, Unpack

from daemon.core.clock import human
from daemon.core.models import Paper
from daemon.core.registry import Registry
from daemon.ingest.document import IngestResult
from daemon.ingest.identity import no_authority
from daemon.net.http import HttpClient
from daemon.store import Store
from daemon.store.rows import SourceState

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


def between(low: int, high: int) -> Callable[[int], str | None]:
    """A Key's check: a whole number from `low` to `high`."""
    return lambda value: None if low <= value <= high else f"must be between {low} and {high}"


def catch_up_key(
    default: int = 7, low: int = 0, help: str = "days missed while down, fetched on start"
) -> Key:
    """`catch_up_days`: how far back a kind that fetches by day looks after a pause
    (Context.days_to_fetch), at most 60 days."""
    return Key("catch_up_days", "int", default, between(low, 60), help)


@dataclass(frozen=True)
class Source:
    """One configured source: the common keys, and its kind's options (validated)."""

    name: str
    type: str
    every: timedelta | None
    cron: str | None
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def schedule(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {human(self.every)}"

    @property
    def kind(self) -> SourceKind:
        found = KINDS.registered().get(self.type)
        assert found is not None, self.type  # config only builds sources of known kinds
        return found

    def describe(self) -> str:
        return self.kind.describe(self)

    @property
    def base_url(self) -> str:
        """Its `base_url` key (the service, or a local one standing in), without a
        trailing slash."""
        return str(self.options["base_url"]).rstrip("/")


Memory = dict[str, Any]  # per source, kept by the daemon from one poll to the next


class Halt:
    """Tells a watch to end. An Event, and a pipe that becomes readable when it is set:
    a watch blocked in select() on its own descriptors wakes at once, so a stop never
    waits out a read timeout."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        weakref.finalize(self, _close, self._read, self._write)  # closed with it, not before

    def set(self) -> None:
        if not self._event.is_set():
            self._event.set()
            with contextlib.suppress(OSError):
                os.write(self._write, b"\0")

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def fileno(self) -> int:
        return self._read


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


Watch = Callable[[Source, Memory, Halt], Iterator[None]]


class IngestOptions(TypedDict, total=False):
    """What a kind may say of a document it ingests."""

    name: str  # shown in errors; the location unless given
    ref_time: datetime  # resolves days written without a year; now unless given
    select: Callable[[Paper], Paper | None] | None  # a paper, changed, or None: left out
    alert_replacements: bool  # a new version of a paper alerts (first-time history: no)
    # papers whose own day is before this one (or unknown) are stored without matching:
    # a listing of old papers (what cites a paper), its new ones matched as any
    alert_from: date


@dataclass
class Outcome:
    """What one poll of one source did."""

    documents: int = 0
    papers: int = 0
    new: int = 0
    gained: int = 0
    notes: list[str] = field(default_factory=list)
    # what the source has seen but not taken yet (a file still being written), and in
    # how many seconds it may be: a one-shot poll waits for it rather than skip it
    waiting: list[str] = field(default_factory=list)
    again_in: float | None = None

    def summary(self) -> str:
        text = (
            f"{self.documents} documents, {self.papers} papers, {self.new} new, "
            f"{self.gained} gained text"
        )
        return text + ("; " + "; ".join(self.notes) if self.notes else "")


class Context(Protocol):
    """What a kind's `poll` works with (daemon.poller.PollContext is the daemon's): the
    store, the time, its memory, the HTTP client, its saved state, and `ingest`."""

    store: Store
    now: datetime
    memory: Memory

    @property
    def http(self) -> HttpClient: ...

    def state(self, source: Source) -> SourceState: ...

    def conditional(self, source: Source) -> dict[str, str]: ...

    def save_state(self, source: Source, **values: Any) -> None: ...

    def check_time(self, source: Source) -> None:
        """Raises FetchError once the poll has run past its time limit."""

    def days_to_fetch(self, source: Source) -> list[date]:
        """Yesterday and today, and every day missed since the source's last successful
        poll, at most its `catch_up_days` back (for a kind that fetches by day)."""

    def ingest(
        self,
        outcome: Outcome,
        source: Source,
        data: bytes | bytearray,
        location: str,
        **options: Unpack[IngestOptions],
    ) -> IngestResult:
        """Parse, store and match the document found at `location` (a bytearray is
        emptied once parsed); its counts are added to `outcome`."""

    def followed_citations(self) -> list[str]:
        """The papers citation watchlists follow, as cited ids ("doi:...", "arxiv:...",
        "pmid:..."): their `cites` and the papers of their `cites_library`."""

    def alert_citations(self, cited: str, paper_ids: list[int]) -> int:
        """These stored papers newly cite `cited`: each citation watchlist that follows
        it alerts on them (on those its keywords match, if it has any); how many did."""


@dataclass(frozen=True)
class SourceKind:
    name: str
    summary: str
    keys: tuple[Key, ...]
    poll: Callable[[Context, Source], Outcome]
    describe: Callable[[Source], str]
    every: timedelta = timedelta(minutes=30)  # the default schedule
    watch: Watch | None = None  # yields whenever a poll is worth running now
    # what `status` shows beyond the common fields, from the details its polls stored
    report: Callable[[Source, dict[str, Any]], dict[str, Any]] | None = None
    # the papers this kind speaks for (arXiv for arXiv ids): only its newer versions
    # replace a stored paper's text; any other source adds sightings and fills gaps
    authority: Callable[[Paper], bool] = no_authority
    # what is wrong with the keys together, each valid alone: (the key to name, why)
    check: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None


KINDS: Registry[SourceKind] = Registry("daemon.sources", "paperwatch.sources", ("contract",))


def register(new: SourceKind) -> SourceKind:
    """Make `type = new.name` valid in config.toml."""
    return KINDS.register(new.name, new)
