"""The runtime snapshot: everything a job needs, built once per accepted configuration.

The configuration is plain settings (daemon.config); here they become what runs: the
channels (apprise plugins, output writers), the sources (each kind's keys checked and
its options resolved), the matcher, the HTTP client and the similar-watchlist engine. An
error building them is a ConfigError placed in config.toml, as a validation error is.

The daemon builds one on start and on each accepted reload and swaps it in whole; a job
takes the current one when it starts and uses it to the end, so a reload never changes
the configuration under a running job.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
from apscheduler.triggers.cron import CronTrigger

from daemon.config import Config, SourceSettings
from daemon.config.schema import shown, source_shape, validated
from daemon.core.clock import SYSTEM, Clock
from daemon.core.errors import ConfigError
from daemon.core.secrets import Secrets, remember
from daemon.delivery.channels import Channel, load_channel
from daemon.matching.watching import Watching
from daemon.net.http import HostPacer, HttpClient
from daemon.similar.job import SimilarEngine, examples_of, start_watchlists
from daemon.sources import REQUIRED, Key, Source
from daemon.sources import kind as source_kind
from daemon.sources import kinds as source_kinds
from daemon.store import Store


@dataclass(frozen=True)
class Runtime:
    config: Config
    channels: dict[str, Channel]
    sources: tuple[Source, ...]
    matcher: Watching
    http: HttpClient
    clock: Clock
    similar: SimilarEngine

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def begin(self) -> None:
        """Record where each similar-watchlist new to the store starts (the papers stored
        from now on count): done once the runtime is accepted, before it ingests."""
        if any(w.similar for w in self.config.watchlists):
            with Store(self.config.db_path) as store, store.transaction():
                start_watchlists(store, self.config, self.clock.now())

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        previous: Runtime | None = None,
        clock: Clock = SYSTEM,
        transport: httpx.BaseTransport | None = None,
        check_examples: bool = True,
        isolate_training: bool = False,
    ) -> Runtime:
        """Build what `config` says. The HTTP client is kept from `previous` when its
        settings did not change; a new one still shares the per-host pacer (politeness
        survives reloads). A similar-watchlist's examples must be stored papers
        (`check_examples=False`: the caller is about to ingest them); the store is only
        read here, so a database error never rejects a good configuration. The daemon
        trains similar-watchlists in a process of their own (`isolate_training`)."""
        channels, sources = build_channels(config), build_sources(config)
        matcher = Watching(config.watchlists)
        if check_examples and any(w.similar for w in config.watchlists):
            # read-only where the database exists: no migration or lock taken here
            with Store(config.db_path, readonly=config.db_path.exists()) as store:
                examples_of(store, config)
        if previous is not None and previous.http.settings == config.http:
            http = previous.http
        else:
            pacer = previous.http.pacer if previous is not None else HostPacer(clock)
            http = HttpClient(config.http, pacer=pacer, clock=clock, transport=transport)
        similar = (
            previous.similar
            if previous is not None
            else SimilarEngine(config.state_dir, isolate=isolate_training)
        )
        return cls(config, channels, sources, matcher, http, clock, similar)


def build_channels(config: Config, only: str | None = None) -> dict[str, Channel]:
    """Each `[channels]` entry (or the one named `only`) loaded: apprise's plugins,
    paperwatch's outputs."""
    found = {}
    for name, c in config.channels.items():
        if only is None or name == only:
            with _placed(config):
                found[name] = load_channel(
                    name, list(c.urls), c.where, c.secrets, c.timeout, config.base, c.max_chars
                )
    return found


def build_sources(config: Config) -> tuple[Source, ...]:
    """Each `[[sources]]` table checked against its kind's keys, its options resolved."""
    with _placed(config):
        return tuple(_source(s, config) for s in config.sources)


@contextmanager
def _placed(config: Config) -> Iterator[None]:
    """A ConfigError building a part says where in the file, as validation's do."""
    try:
        yield
    except ConfigError as exc:
        raise ConfigError(config.placed(str(exc))) from None


def _source(settings: SourceSettings, config: Config) -> Source:
    i, raw = settings.index, dict(settings.table)
    where = f"sources[{i}]"
    type_name = raw.get("type")
    known = sorted(source_kinds())
    if "type" not in raw:
        raise ConfigError(f"{where}.type: missing (required; one of {', '.join(known)})")
    if not isinstance(type_name, str):
        raise ConfigError(f"{where}.type: expected a string, got {shown(type_name)}")
    kind = source_kind(type_name)
    if kind is None:
        near = difflib.get_close_matches(type_name, known, 1, 0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise ConfigError(
            f"{where}.type: unknown type {type_name!r} ({hint}one of {', '.join(known)})"
        )
    shape = source_shape(
        type_name, tuple((k.name, k.type, k.default is REQUIRED) for k in kind.keys)
    )
    table = validated(shape, raw, ("sources", i), f"a {type_name} source")
    every: timedelta | None = table.every
    cron = table.cron
    if cron is not None:
        if every is not None:
            raise ConfigError(f"{where}: give either every or cron, not both")
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise ConfigError(f"{where}.cron: invalid cron expression ({exc})") from None
    elif every is None:
        every = kind.every
    dirs = (config.base, config.state_dir)
    options = {
        k.name: _option(getattr(table, k.name), k, where, k.name in raw, dirs, config.secrets)
        for k in kind.keys
    }
    if kind.check is not None and (wrong := kind.check(options)):
        raise ConfigError(f"{where}.{wrong[0]}: {wrong[1]}")
    return Source(table.name, type_name, every, cron, MappingProxyType(options))


def _option(
    value: Any, key: Key, table: str, present: bool, dirs: tuple[Path, Path], secrets: Secrets
) -> Any:
    """One declared key of a source (typed by its shape): defaulted, expanded, checked;
    a path relative to the config file's folder, or by default to the state dir (`dirs`)."""
    where = f"{table}.{key.name}"
    required = key.default is REQUIRED
    if value is None and not required:
        value = key.default
    if key.type == "str_list":
        value = tuple(value or ())
        if required and not value:
            raise ConfigError(f"{where}: missing (required)")
    if value is None:
        return None
    if key.type == "url" and not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    if key.type == "secret" and present:
        value = secrets.expand(value, where)
        remember(value)  # written in the file, it is a secret all the same
    if key.type == "path":
        value = (dirs[0] if present else dirs[1]) / value
    complaint = key.check(value) if key.check else None
    if complaint:
        raise ConfigError(f"{where}: {complaint}")
    return value


class Current:
    """Holds the current runtime; `swap` replaces it atomically for every later reader."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()

    def get(self) -> Runtime:
        return self._runtime

    def swap(self, runtime: Runtime) -> Runtime:
        with self._lock:
            old, self._runtime = self._runtime, runtime
        return old
