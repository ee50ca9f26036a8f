"""Load and validate config.toml into an immutable Config; every error names its TOML path."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time, timedelta, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from tzlocal import get_localzone

from daemon.channels import DEFAULT_TIMEOUT, Channel, load_channel
from daemon.errors import ConfigError, QueryError
from daemon.http import HttpSettings
from daemon.library import is_library
from daemon.query import (
    DEFAULT_FIELDS,
    FIELDS,
    Node,
    keywords_query,
    make_term,
    parse_query,
    query_warnings,
)
from daemon.secrets import Secrets
from daemon.sources import REQUIRED, Key, Source
from daemon.sources import kind as source_kind
from daemon.sources import kinds as source_kinds
from daemon.store import DB_NAME

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
                self.typo_of(key)
                raise ConfigError(f"{self.at(key)}: missing (required)")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise ConfigError(f"{self.at(key)}: expected {names}, got {_shown(value)}")
        return value

    def typo_of(self, key: str) -> None:
        """A missing `key` written wrong (`notfy` for `notify`) is that key's error."""
        for typo in sorted(set(self.data) - self.used):
            if difflib.get_close_matches(typo, [key], 1, 0.75):
                raise ConfigError(f"{self.at(typo)}: unknown key; did you mean {key!r}?")

    def str_list(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, list, None)
        if value is None:
            return default
        items = value
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{self.at(key)}[{i}]: expected a non-empty string")
        return tuple(items)

    def duration(self, key: str, default: timedelta, allow_zero: bool = False) -> timedelta:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            self.used.add(key)
            raise ConfigError(
                f'{self.at(key)}: expected a duration such as "30m", got {_shown(value)}'
            )
        value = self.get(key, str, None)
        return default if value is None else parse_duration(value, self.at(key), allow_zero)

    def seconds(self, key: str, default: float, allow_zero: bool = False) -> float:
        return self.duration(key, timedelta(seconds=default), allow_zero).total_seconds()

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            near = difflib.get_close_matches(unknown[0], sorted(self.used), 1, 0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"{self.at(unknown[0])}: unknown key{hint}")


_TYPE_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: 'a list such as ["a", "b"]',
    dict: "a table",
}


def _shown(value: Any) -> str:
    """A wrong value as the error shows it: its TOML kind and the value itself."""
    if isinstance(value, str):
        return f"the string {value!r}"
    kind = {bool: "a boolean", int: "a number", float: "a number", list: "a list"}
    return f"{kind.get(type(value), type(value).__name__)} {value!r}"[:120]


def parse_duration(value: str, where: str, allow_zero: bool = False) -> timedelta:
    m = _DURATION.match(value)
    if not m or (int(m.group(1)) == 0 and not allow_zero):
        raise ConfigError(
            f"{where}: expected a duration like '30s', '30m', '2h' or '7d', got {value!r}"
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True)
class Similar:
    """`similar_to`: papers (arXiv ids or titles of stored papers, or a BibTeX or CSL-JSON
    library file) to find more like."""

    examples: tuple[str, ...]
    where: str  # the TOML path of similar_to, for errors naming an entry
    sensitivity: float  # the share of recent papers scoring below the threshold
    either: bool  # with a query: alert on either (True) or only on both (False)
    libraries: tuple[Path, ...] = ()  # the entries that are library files, resolved


@dataclass(frozen=True)
class Watchlist:
    name: str
    query: Node | None  # None: a similar-only watchlist
    source: str  # the query or keywords as written, for messages and `check`
    notify: tuple[str, ...]
    deliver_at: time | None  # None: immediately; else daily at this local time
    warnings: tuple[str, ...] = ()  # valid, but probably not what it looks like
    similar: Similar | None = None

    @property
    def keyword_alerts(self) -> bool:
        """Its query alerts at ingest by itself (no examples, or either may alert)."""
        return self.query is not None and (self.similar is None or self.similar.either)


@dataclass(frozen=True)
class WebSettings:
    """`[web]`: the read-only HTTP interface (feeds, API, page). `listen = ""`: off."""

    listen: str = "127.0.0.1:8790"
    token: str | None = field(default=None, repr=False)
    hosts: tuple[str, ...] = ()  # names it is reached by, beyond its address and localhost

    @property
    def address(self) -> tuple[str, int] | None:
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class Config:
    path: Path
    state_dir: Path
    timezone: ZoneInfo | None = None  # as configured; `tz` applies the default
    give_up_after: timedelta = timedelta(hours=48)
    undecided_after: timedelta = timedelta(days=2)  # a paper without abstract waits this long
    stall_after: timedelta = timedelta(minutes=5)  # a watcher's poll running longer is stuck
    channels: dict[str, Channel] = field(default_factory=dict)
    watchlists: tuple[Watchlist, ...] = ()
    sources: tuple[Source, ...] = ()
    http: HttpSettings = field(default_factory=HttpSettings)
    web: WebSettings = field(default_factory=WebSettings)
    admin_channel: str | None = None
    alert_after_failures: int = 3

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def watchlist(self, name: str) -> Watchlist | None:
        return next((w for w in self.watchlists if w.name == name), None)

    @property
    def tz(self) -> tzinfo:
        """The one time-zone rule (cron sources, daily digests, `check`): the configured
        `timezone`, else the system's."""
        return self.timezone or get_localzone()

    @property
    def db_path(self) -> Path:
        return self.state_dir / DB_NAME


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
    return build_config(data, path, raw.decode("utf-8-sig", "replace"))


def build_config(data: dict[str, Any], path: Path, text: str = "") -> Config:
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
    undecided_after = top.duration("undecided_after", timedelta(days=2), allow_zero=True)
    stall_after = top.duration("stall_after", timedelta(minutes=5))
    secrets_file = top.get("secrets_file", str)
    secrets = Secrets.load(base / secrets_file if secrets_file else None, "secrets_file")
    channels = _channels(top.get("channels", dict, {}), secrets, base)
    top.used.update(("watchlists", "sources"))
    watchlists = _watchlists(data.get("watchlists", []), channels, _query_lines(text), base)
    sources = _sources(data.get("sources", []), base, state_dir, secrets)
    http = _http(Table(top.get("http", dict, {}), "http"))
    web = _web(Table(top.get("web", dict, {}), "web"), secrets)
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
        undecided_after=undecided_after,
        stall_after=stall_after,
        channels=channels,
        watchlists=watchlists,
        sources=sources,
        http=http,
        web=web,
        admin_channel=admin,
        alert_after_failures=alert_after,
    )


def _http(t: Table) -> HttpSettings:
    d = HttpSettings()
    result = HttpSettings(
        timeout=t.seconds("timeout", d.timeout),
        min_interval=t.seconds("min_interval", d.min_interval, allow_zero=True),
        max_bytes=t.get("max_bytes", int, d.max_bytes),
        job_time_limit=t.seconds("job_time_limit", d.job_time_limit),
        retries=t.get("retries", int, d.retries),
    )
    t.finish()
    return result


_COMMON_SOURCE_KEYS = ("name", "type", "every", "cron")


def _sources(data: Any, base: Path, state_dir: Path, secrets: Secrets) -> tuple[Source, ...]:
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
        type_name = t.get("type", str, required=True)
        kind = source_kind(type_name)
        if kind is None:
            known = ", ".join(sorted(source_kinds()))
            raise ConfigError(f"{t.at('type')}: unknown type {type_name!r} (one of {known})")
        declared = {k.name for k in kind.keys}
        known_keys = sorted(declared | set(_COMMON_SOURCE_KEYS))
        for key in raw:
            if key not in known_keys:
                near = difflib.get_close_matches(key, known_keys, 1, 0.6)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ConfigError(f"{t.at(key)}: unknown key for a {type_name} source{hint}")
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
            every = kind.every
        options = {k.name: _option(t, k, base, state_dir, secrets) for k in kind.keys}
        t.finish()
        out.append(Source(name, type_name, every, cron, MappingProxyType(options)))
    return tuple(out)


def _web(t: Table, secrets: Secrets) -> WebSettings:
    listen = t.get("listen", str, WebSettings.listen).strip()
    hosts = t.get("hosts", list, [])
    if not all(isinstance(h, str) and h.strip() for h in hosts):
        raise ConfigError(f"{t.at('hosts')}: expected a list of host names")
    token = t.get("token", str)
    if token is not None:
        token = secrets.expand(token, t.at("token"))
    if listen:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ConfigError(f"{t.at('listen')}: expected host:port, got {listen!r}")
        if not _loopback(host.strip("[]")) and not token:
            raise ConfigError(
                f"{t.at('token')}: required when listening beyond this machine ({listen}); "
                'e.g. token = "${PAPERWATCH_WEB_TOKEN}"'
            )
    t.finish()
    return WebSettings(listen, token or None, tuple(h.strip().lower() for h in hosts))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _option(t: Table, key: Key, base: Path, state_dir: Path, secrets: Secrets) -> Any:
    """One declared key of a source, typed, defaulted, expanded and checked."""
    required = key.default is REQUIRED
    present = key.name in t.data
    where = t.at(key.name)
    if key.type == "str_list":
        value: Any = t.str_list(key.name, () if required else tuple(key.default))
        if required and not value:
            raise ConfigError(f"{where}: missing (required)")
    elif key.type == "duration":
        value = t.duration(key.name, key.default)
    else:
        python_type = {"int": int, "bool": bool}.get(key.type, str)
        value = t.get(key.name, python_type, None if required else key.default, required)
    if value is None:
        return None
    if key.type == "url" and not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    if key.type == "secret" and present:
        value = secrets.expand(value, where)
    if key.type == "path":
        value = (base if present else state_dir) / value
    complaint = key.check(value) if key.check else None
    if complaint:
        raise ConfigError(f"{where}: {complaint}")
    return value


def _channels(data: dict[str, Any], secrets: Secrets, base: Path) -> dict[str, Channel]:
    """`name = "url"`, `name = ["url", ...]`, or a table `{url(s) = ..., timeout = "30s"}`."""
    channels = {}
    for name, value in data.items():
        where = f"channels.{name}"
        timeout = DEFAULT_TIMEOUT
        if isinstance(value, dict):
            t = Table(value, where)
            urls_value = (
                t.get("urls", list) if "urls" in value else t.get("url", str, required=True)
            )
            timeout = t.seconds("timeout", DEFAULT_TIMEOUT)
            t.finish()
            value = urls_value
        urls = [value] if isinstance(value, str) else value
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{where}: expected an apprise URL or a list of them")
        expanded = [secrets.expand(u, where) for u in urls]
        known = [v for u in urls for v in secrets.referenced(u)]
        channels[name] = load_channel(name, expanded, where, known, timeout, base)
    return channels


# `query = "..."` or `query = '...'` on one line: where a query's columns are in the file
_QUERY_LINE = re.compile(r"""^[ \t]*query[ \t]*=[ \t]*(?:"(?!"")|'(?!''))""", re.MULTILINE)


@dataclass(frozen=True)
class _QueryLine:
    line: int  # 1-based
    text: str
    start: int  # index of the query's first character in `text`
    basic: bool  # a "..." string, whose escapes take more than one character


def _query_lines(text: str) -> list[_QueryLine]:
    """Each one-line `query = ...` of the file, in order (one per watchlist with a query)."""
    out = []
    for m in _QUERY_LINE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line = text[line_start : line_end if line_end != -1 else len(text)]
        quote = text[m.end() - 1]
        out.append(
            _QueryLine(text.count("\n", 0, m.start()) + 1, line, m.end() - line_start, quote == '"')
        )
    return out


def _take_line(lines: list[_QueryLine], query: str) -> _QueryLine | None:
    """The first unclaimed line that holds exactly this query."""
    for i, line in enumerate(lines):
        try:
            found = tomllib.loads(line.text.strip()).get("query")
        except tomllib.TOMLDecodeError:
            continue
        if found == query:
            return lines.pop(i)
    return None


def _position(where: _QueryLine | None, column: int) -> str:
    """` (line L, column C)` in config.toml, counting characters as written there."""
    if where is None:
        return f" (column {column} of the query)"
    i, n = where.start, 0
    while n < column - 1 and i < len(where.text):
        if where.basic and where.text[i] == "\\":
            i += {"u": 6, "U": 10}.get(where.text[i + 1 : i + 2], 2)
        else:
            i += 1
        n += 1
    return f" (line {where.line}, column {i + 1})"


def _watchlists(
    data: Any, channels: dict[str, Channel], queries: list[_QueryLine], base: Path
) -> tuple[Watchlist, ...]:
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
        warnings: tuple[str, ...] = ()
        similar = _similar(t, base)
        query: Node | None = None
        source = ""
        if query_text is not None:
            where_query = _take_line(queries, query_text)
            try:
                query, source = parse_query(query_text, scope), query_text
                found = query_warnings(query_text, scope)
            except QueryError as exc:
                at = _position(where_query, exc.column)
                raise ConfigError(
                    f"{t.at('query')}{at}: watchlist {name!r}: {exc.reason}"
                ) from None
            warnings = tuple(
                f"{t.at('query')}{_position(where_query, column)}: watchlist {name!r}: {what}"
                for column, what in found
            )
        elif keywords:
            for key, entries in (("keywords", keywords), ("exclude", exclude)):
                for j, entry in enumerate(entries):
                    try:
                        make_term(entry, scope)
                    except QueryError as exc:
                        raise ConfigError(
                            f"{t.at(key)}[{j}]: watchlist {name!r}: {exc.reason}"
                        ) from None
            query, source = keywords_query(keywords, exclude, scope), ", ".join(keywords)
        elif similar is None:
            raise ConfigError(
                f'{where}: needs keywords = [...], query = "..." or similar_to = [...]'
            )
        if similar is not None:
            n = len(similar.examples)
            shown = f"similar to {n} paper{'s' if n > 1 else ''}"
            joint = "or" if similar.either else "and"
            source = f"{source} ({joint} {shown})" if source else shown
        notify = t.str_list("notify")
        if not notify:
            t.typo_of("notify")
            raise ConfigError(f"{t.at('notify')}: missing (list the channels to alert)")
        for j, ch in enumerate(notify):
            if ch not in channels:
                known = ", ".join(sorted(channels)) or "none defined"
                raise ConfigError(
                    f"{t.at('notify')}[{j}]: unknown channel {ch!r} (channels: {known})"
                )
        deliver_at = _deliver(t.get("deliver", str, "immediate"), t.at("deliver"))
        t.finish()
        out.append(Watchlist(name, query, source, notify, deliver_at, warnings, similar))
    return tuple(out)


# `make eval`: with it, the alerts' precision is >= 0.6 on a temporal split, 5 to 300 a
# category of 4,790 new papers
DEFAULT_SENSITIVITY = 0.997


def _similar(t: Table, base: Path) -> Similar | None:
    examples = t.str_list("similar_to")
    mode = t.get("mode", str)
    sensitivity = t.get("sensitivity", (float, int))
    if not examples:
        for key, value in (("mode", mode), ("sensitivity", sensitivity)):
            if value is not None:
                raise ConfigError(f"{t.at(key)}: only for a watchlist with similar_to")
        return None
    if mode not in (None, "both", "either"):
        raise ConfigError(f'{t.at("mode")}: "both" or "either", got {mode!r}')
    level = DEFAULT_SENSITIVITY if sensitivity is None else float(sensitivity)
    if not 0.5 <= level < 1:
        raise ConfigError(
            f"{t.at('sensitivity')}: from 0.5 to below 1 (0.99: the top 1% of recent "
            f"papers would alert), got {sensitivity!r}"
        )
    libraries = []
    for i, entry in enumerate(examples):
        if is_library(entry):
            path = base / entry
            if not path.is_file():
                raise ConfigError(f"{t.at('similar_to')}[{i}]: no such library file {path}")
            libraries.append(path)
    return Similar(examples, t.at("similar_to"), level, mode == "either", tuple(libraries))


def _deliver(value: str, where: str) -> time | None:
    if value == "immediate":
        return None
    m = re.match(r"^daily\s+(\d{1,2}):(\d{2})$", value.strip())
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return time(int(m.group(1)), int(m.group(2)))
    raise ConfigError(f'{where}: expected "immediate" or "daily HH:MM", got {value!r}')
