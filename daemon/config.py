"""Load and validate config.toml into an immutable Config; every error names its TOML path."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.channels import Channel, load_channel
from daemon.errors import ConfigError, QueryError
from daemon.query import DEFAULT_FIELDS, FIELDS, Node, keywords_query, parse_query
from daemon.secrets import Secrets

DEFAULT_CONFIG = "config.toml"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Table:
    """A TOML table being validated: typed getters that know their path; unknown keys fail."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data, self.path, self.used = data, path, set[str]()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False
    ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise ConfigError(f"{self.at(key)}: missing (required)")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"{self.at(key)}: expected {names}, got {type(value).__name__}")
        return value

    def str_list(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, (list, str), None)
        if value is None:
            return default
        items = [value] if isinstance(value, str) else value
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{self.at(key)}[{i}]: expected a non-empty string")
        return tuple(items)

    def duration(self, key: str, default: timedelta, allow_zero: bool = False) -> timedelta:
        value = self.get(key, str, None)
        return default if value is None else parse_duration(value, self.at(key), allow_zero)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self.at(unknown[0])}: unknown key")


def parse_duration(value: str, where: str, allow_zero: bool = False) -> timedelta:
    m = _DURATION.match(value)
    if not m or (int(m.group(1)) == 0 and not allow_zero):
        raise ConfigError(
            f"{where}: expected a duration like '30s', '30m', '2h' or '7d', got {value!r}"
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True)
class Watchlist:
    name: str
    query: Node
    source: str  # the query or keywords as written, for messages and `check`
    notify: tuple[str, ...]
    deliver_at: time | None  # None: immediately; else daily at this local time


SOURCE_TYPES = ("hf_daily", "url", "folder")
SOURCE_KEYS = {
    "hf_daily": {"base_url", "catch_up_days", "hf_token"},
    "url": {"url"},
    "folder": {"path"},
}


@dataclass(frozen=True)
class Source:
    name: str
    type: str
    every: timedelta | None
    cron: str | None
    url: str = ""  # url: the page; hf_daily: base_url
    path: Path | None = None  # folder
    catch_up_days: int = 7
    token: str | None = field(default=None, repr=False)

    def schedule(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {_human(self.every)}"


@dataclass(frozen=True)
class HttpConfig:
    timeout: timedelta = timedelta(seconds=30)
    min_interval: timedelta = timedelta(seconds=1)
    max_bytes: int = 20 * 1024 * 1024
    job_time_limit: timedelta = timedelta(minutes=10)
    retries: int = 2


@dataclass(frozen=True)
class Config:
    path: Path
    state_dir: Path
    timezone: ZoneInfo | None = None
    give_up_after: timedelta = timedelta(hours=48)
    channels: dict[str, Channel] = field(default_factory=dict)
    watchlists: tuple[Watchlist, ...] = ()
    sources: tuple[Source, ...] = ()
    http: HttpConfig = field(default_factory=HttpConfig)
    admin_channel: str | None = None
    alert_after_failures: int = 3

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def watchlist(self, name: str) -> Watchlist | None:
        return next((w for w in self.watchlists if w.name == name), None)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "paperwatch.db"

    @property
    def inbox(self) -> Path:
        return self.state_dir / "inbox"


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("PAPERWATCH_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    return build_config(data, path)


def build_config(data: dict[str, Any], path: Path) -> Config:
    top = Table(data, "")
    base = path.parent
    state_dir = base / top.get("state_dir", str, "state")
    tz_name = top.get("timezone", str)
    timezone = None
    if tz_name is not None:
        try:
            timezone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone: unknown time zone {tz_name!r}") from None
    give_up_after = top.duration("give_up_after", timedelta(hours=48))
    secrets_file = top.get("secrets_file", str)
    secrets = Secrets.load(base / secrets_file if secrets_file else None, "secrets_file")
    channels = _channels(top.get("channels", dict, {}), secrets)
    top.used.update(("watchlists", "sources"))
    watchlists = _watchlists(data.get("watchlists", []), channels)
    sources = _sources(data.get("sources", []), base, state_dir, secrets)
    http = _http(Table(top.get("http", dict, {}), "http"))
    admin = top.get("admin_channel", str)
    if admin is not None and admin not in channels:
        raise ConfigError(f"admin_channel: unknown channel {admin!r}")
    alert_after = top.get("alert_after_failures", int, 3)
    if alert_after < 1:
        raise ConfigError("alert_after_failures: must be 1 or more")
    top.finish()
    return Config(
        path=path,
        state_dir=state_dir,
        timezone=timezone,
        give_up_after=give_up_after,
        channels=channels,
        watchlists=watchlists,
        sources=sources,
        http=http,
        admin_channel=admin,
        alert_after_failures=alert_after,
    )


def _human(delta: timedelta | None) -> str:
    seconds = int(delta.total_seconds()) if delta else 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _http(t: Table) -> HttpConfig:
    result = HttpConfig(
        timeout=t.duration("timeout", timedelta(seconds=30)),
        min_interval=t.duration("min_interval", timedelta(seconds=1), allow_zero=True),
        max_bytes=t.get("max_bytes", int, 20 * 1024 * 1024),
        job_time_limit=t.duration("job_time_limit", timedelta(minutes=10)),
        retries=t.get("retries", int, 2),
    )
    t.finish()
    return result


def _sources(data: Any, base: Path, state_dir: Path, secrets: Secrets) -> tuple[Source, ...]:
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(data, list):
        raise ConfigError("sources: expected an array of tables ([[sources]])")
    out: list[Source] = []
    for i, raw in enumerate(data):
        where = f"sources[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        t = Table(raw, where)
        name = t.get("name", str, required=True)
        if any(s.name == name for s in out):
            raise ConfigError(f"{t.at('name')}: duplicate source name {name!r}")
        kind = t.get("type", str, required=True)
        if kind not in SOURCE_TYPES:
            raise ConfigError(
                f"{t.at('type')}: unknown type {kind!r} (one of {', '.join(SOURCE_TYPES)})"
            )
        for key in raw:
            if key not in {"name", "type", "every", "cron"} | SOURCE_KEYS[kind]:
                raise ConfigError(f"{t.at(key)}: unknown key for a {kind} source")
        every = t.duration("every", timedelta(0)) if "every" in raw else None
        cron = t.get("cron", str)
        if cron is not None:
            if every is not None:
                raise ConfigError(f"{where}: give either every or cron, not both")
            try:
                CronTrigger.from_crontab(cron)
            except ValueError as exc:
                raise ConfigError(f"{t.at('cron')}: invalid cron expression ({exc})") from None
        elif every is None:
            every = timedelta(minutes=1) if kind == "folder" else timedelta(minutes=30)
        source = Source(name, kind, every, cron)
        if kind == "hf_daily":
            days = t.get("catch_up_days", int, 7)
            if not 0 <= days <= 60:
                raise ConfigError(f"{t.at('catch_up_days')}: must be between 0 and 60")
            token = t.get("hf_token", str)
            source = Source(
                name,
                kind,
                every,
                cron,
                url=_http_url(t, "base_url", "https://huggingface.co"),
                catch_up_days=days,
                token=secrets.expand(token, t.at("hf_token")) if token else None,
            )
        elif kind == "url":
            source = Source(name, kind, every, cron, url=_http_url(t, "url", None))
        else:
            folder = t.get("path", str)
            source = Source(
                name, kind, every, cron, path=base / folder if folder else state_dir / "inbox"
            )
        t.finish()
        out.append(source)
    return tuple(out)


def _http_url(t: Table, key: str, default: str | None) -> str:
    url = t.get(key, str, default, required=default is None)
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{t.at(key)}: expected an http:// or https:// URL, got {url!r}")
    return str(url).rstrip("/") if key == "base_url" else str(url)


def _channels(data: dict[str, Any], secrets: Secrets) -> dict[str, Channel]:
    channels = {}
    for name, value in data.items():
        where = f"channels.{name}"
        urls = [value] if isinstance(value, str) else value
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{where}: expected an apprise URL or a list of them")
        channels[name] = load_channel(name, [secrets.expand(u, f"{where}") for u in urls], where)
    return channels


def _watchlists(data: Any, channels: dict[str, Channel]) -> tuple[Watchlist, ...]:
    if not isinstance(data, list):
        raise ConfigError("watchlists: expected an array of tables ([[watchlists]])")
    out: list[Watchlist] = []
    seen: set[str] = set()
    for i, raw in enumerate(data):
        where = f"watchlists[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        t = Table(raw, where)
        name = t.get("name", str, required=True).strip()
        if not name:
            raise ConfigError(f"{t.at('name')}: must not be empty")
        if name in seen:
            raise ConfigError(f"{t.at('name')}: duplicate watchlist name {name!r}")
        seen.add(name)
        fields = t.str_list("fields", tuple(sorted(DEFAULT_FIELDS)))
        for j, f in enumerate(fields):
            if f not in FIELDS:
                raise ConfigError(
                    f"{t.at('fields')}[{j}]: unknown field {f!r} (one of {', '.join(FIELDS)})"
                )
        scope = frozenset(fields)
        keywords, exclude = t.str_list("keywords"), t.str_list("exclude")
        query_text = t.get("query", str)
        if query_text is not None and (keywords or exclude):
            raise ConfigError(f"{where}: give either query or keywords/exclude, not both")
        try:
            if query_text is not None:
                query, source = parse_query(query_text, scope), query_text
            elif keywords:
                query, source = keywords_query(keywords, exclude, scope), ", ".join(keywords)
            else:
                raise ConfigError(f'{where}: needs keywords = [...] or query = "..."')
        except QueryError as exc:
            key = "query" if query_text is not None else "keywords"
            raise ConfigError(f"{t.at(key)}: watchlist {name!r}: {exc}") from None
        notify = t.str_list("notify")
        if not notify:
            raise ConfigError(f"{t.at('notify')}: missing (list the channels to alert)")
        for j, ch in enumerate(notify):
            if ch not in channels:
                known = ", ".join(sorted(channels)) or "none defined"
                raise ConfigError(
                    f"{t.at('notify')}[{j}]: unknown channel {ch!r} (channels: {known})"
                )
        deliver_at = _deliver(t.get("deliver", str, "immediate"), t.at("deliver"))
        t.finish()
        out.append(Watchlist(name, query, source, notify, deliver_at))
    return tuple(out)


def _deliver(value: str, where: str) -> time | None:
    if value == "immediate":
        return None
    m = re.match(r"^daily\s+(\d{1,2}):(\d{2})$", value.strip())
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return time(int(m.group(1)), int(m.group(2)))
    raise ConfigError(f'{where}: expected "immediate" or "daily HH:MM", got {value!r}')
