"""Load and validate config.toml into an immutable Config; every error names its TOML path.

A Config is plain data: settings, nothing built. The channels (apprise plugins, output
writers), the sources (each kind's keys checked, options resolved) and the HTTP client
are built from it by daemon.runtime, so this module imports no network, notification or
storage library (tests/test_layout.py holds it to that)."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import time, timedelta, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from tzlocal import get_localzone

from daemon.config.positions import Loc, Position, parse_path, position_of, positions
from daemon.config.schema import (
    ChannelShape,
    PersonShape,
    TopShape,
    WatchlistShape,
    WebShape,
    ZoteroShape,
    shown,
    validated,
)
from daemon.core.errors import ConfigError, QueryError
from daemon.core.models import cited_id
from daemon.core.secrets import Secrets
from daemon.language.people import Name, Person, looks_like_orcid, orcid, orcid_problem
from daemon.language.query import (
    DEFAULT_FIELDS,
    FIELDS,
    Node,
    Synonyms,
    keywords_query,
    make_term,
    parse_query,
    query_warnings,
    with_synonyms,
)

DEFAULT_CONFIG = "config.toml"
DB_NAME = "paperwatch.db"  # in state_dir
DEFAULT_TIMEOUT = 30.0  # seconds a channel's service may take to connect, and again to answer
ZOTERO_API = "https://api.zotero.org"
ZOTERO_LIBRARY = re.compile(r"^(users|groups)/\d+$")


@dataclass(frozen=True)
class HttpSettings:
    """`[http]` in config.toml; these defaults are the only copy."""

    timeout: float = 30.0
    min_interval: float = 1.0  # seconds between two requests to one host
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 2  # extra attempts after a connection error or 429/503
    job_time_limit: float = 600.0  # a source's poll stops between requests after this
    max_retry_after: float = 120.0  # a longer Retry-After fails now, the scheduler backs off


@dataclass(frozen=True)
class ZoteroSettings:
    """`[zotero]`: the library the page's "add to Zotero" saves to."""

    library: str  # "users/<userID>" or "groups/<groupID>"
    key: str = field(repr=False)
    base_url: str = ZOTERO_API


@dataclass(frozen=True)
class ChannelSettings:
    """`[channels] name = ...`: its URLs with their secrets expanded (`secrets`: the values
    that came from ${VAR} or the credentials file), as daemon.runtime builds it."""

    name: str
    urls: tuple[str, ...] = field(repr=False)
    where: str  # its TOML path, for the errors of building it
    secrets: tuple[str, ...] = field(repr=False, default=())
    timeout: float = DEFAULT_TIMEOUT
    max_chars: int | None = None


@dataclass(frozen=True)
class SourceSettings:
    """`[[sources]]`: its name, type and schedule, and its table as written; its kind's
    keys are checked and its options resolved when daemon.runtime builds it."""

    name: str
    type: str
    index: int  # its place in [[sources]], for the errors of building it
    table: MappingProxyType[str, Any] = field(repr=False)


LIBRARY_SUFFIXES = (".bib", ".bibtex", ".json")  # a reference library's file, not a paper


def is_library(entry: str) -> bool:
    """A `similar_to` or `cites_library` entry naming a library file (BibTeX, CSL-JSON)."""
    return entry.lower().endswith(LIBRARY_SUFFIXES)


@dataclass(frozen=True)
class Similar:
    """`similar_to`: papers (arXiv ids or titles of stored papers, or a BibTeX or CSL-JSON
    library file) to find more like."""

    examples: tuple[str, ...]
    where: str  # the TOML path of similar_to, for errors naming an entry
    sensitivity: float | None  # the share of recent papers below the threshold; None: auto
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
    synonyms: tuple[str, ...] = ()  # the terms [synonyms] widened, as `preview` says them
    people: tuple[Person, ...] = ()  # `authors`: alerts only on papers by one of them
    cites: tuple[str, ...] = ()  # `cites`: "doi:...", "arxiv:...", "pmid:..." (cited_id)
    cites_library: Path | None = None  # `cites_library`: the user's papers, read when used
    # channels named in `notify` with a `deliver` of their own: (channel, time or None)
    channel_times: tuple[tuple[str, time | None], ...] = ()

    def deliver_time(self, channel: str) -> time | None:
        """When this watchlist's alerts reach `channel`: its own time if `notify` gives
        it one, else the watchlist's `deliver` (None: immediately)."""
        return dict(self.channel_times).get(channel, self.deliver_at)

    @property
    def keyword_alerts(self) -> bool:
        """Its query alerts at ingest by itself (no examples, or either may alert; a
        citation watchlist's keywords only filter the papers citing)."""
        citing = bool(self.cites or self.cites_library)
        return (
            self.query is not None and not citing and (self.similar is None or self.similar.either)
        )


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
    channels: dict[str, ChannelSettings] = field(default_factory=dict)
    watchlists: tuple[Watchlist, ...] = ()
    sources: tuple[SourceSettings, ...] = ()
    http: HttpSettings = field(default_factory=HttpSettings)
    web: WebSettings = field(default_factory=WebSettings)
    admin_channel: str | None = None
    alert_after_failures: int = 3
    zotero: ZoteroSettings | None = None  # "add to Zotero" on the page
    synonyms: Synonyms = ()  # [synonyms]: groups of terms that say the same
    secrets: Secrets = field(
        default_factory=lambda: Secrets({}), repr=False
    )  # for the sources' keys
    text: str = field(default="", repr=False)  # as accepted: where build errors are placed

    @property
    def base(self) -> Path:
        """The folder paths written in the file are relative to."""
        return self.path.parent

    def placed(self, message: str) -> str:
        """`path: reason` of an error about this configuration, with the line and column
        of the file where `path` is written."""
        return _placed(message, self.text)

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

    def listening(self, listen: str) -> Config:
        """This configuration serving its page at `listen` (`serve --listen`), checked as
        `[web] listen` is."""
        _check_listen(listen, self.web.token, "--listen")
        return replace(self, web=replace(self.web, listen=listen))


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("PAPERWATCH_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path, raw: bytes | None = None) -> Config:
    """The configuration of file `path` (as `raw`, when given: what it held when last
    accepted, its paths still relative to `path`)."""
    try:
        raw = path.read_bytes() if raw is None else raw
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    try:
        return build_config(data, path, text)
    except ConfigError as exc:
        raise ConfigError(_placed(str(exc), text)) from None


def _placed(message: str, text: str) -> str:
    """`path: reason` as `path (line L, column C): reason`, where the file writes it."""
    path, colon, reason = message.partition(":")
    if not colon or " " in path:
        return message
    at = position_of(text, parse_path(path))
    if at is None:
        return message
    column = at.key_column if reason.startswith(" unknown key") else at.column
    return f"{path} (line {at.line}, column {column}):{reason}"


def build_config(data: dict[str, Any], path: Path, text: str = "") -> Config:
    top = validated(TopShape, data)
    base = path.parent
    state_dir = base / top.state_dir
    timezone = None
    if top.timezone is not None:
        try:
            timezone = ZoneInfo(top.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone: unknown time zone {top.timezone!r}") from None
    secrets_file = base / top.secrets_file if top.secrets_file else None
    secrets = Secrets.load(secrets_file, "secrets_file")
    channels = _channels(top.channels, secrets)
    synonyms = _synonyms(top.synonyms)
    watchlists = _watchlists(top.watchlists, set(channels), positions(text), base, synonyms)
    sources = _sources(top.sources)
    given_http = msgspec.structs.asdict(top.http).items()
    http = HttpSettings(**{k: _plain(v) for k, v in given_http if v is not None})
    web = _web(top.web, secrets)
    if top.admin_channel is not None and top.admin_channel not in channels:
        raise ConfigError(f"admin_channel: unknown channel {top.admin_channel!r}")
    given = ("give_up_after", "undecided_after", "stall_after", "alert_after_failures")
    return Config(
        path=path,
        state_dir=state_dir,
        timezone=timezone,
        channels=channels,
        watchlists=watchlists,
        sources=sources,
        http=http,
        web=web,
        admin_channel=top.admin_channel,
        zotero=_zotero(top.zotero, secrets),
        synonyms=synonyms,
        secrets=secrets,
        text=text,
        **{k: getattr(top, k) for k in given if getattr(top, k) is not None},
    )


def _plain(value: Any) -> Any:
    """Durations in seconds, for the settings that keep them so."""
    return value.total_seconds() if isinstance(value, timedelta) else value


def _sources(data: list[Any]) -> tuple[SourceSettings, ...]:
    """Each source's name and type, its table as written: its kind checks the rest when
    daemon.runtime builds it (the kinds' modules are the network's side)."""
    out: list[SourceSettings] = []
    for i, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise ConfigError(f"sources[{i}]: expected a table, got {shown(raw)}")
        name, type_name = raw.get("name"), raw.get("type")
        if isinstance(name, str) and any(s.name == name for s in out):
            raise ConfigError(f"sources[{i}].name: duplicate source name {name!r}")
        out.append(
            SourceSettings(
                name if isinstance(name, str) else "",
                type_name if isinstance(type_name, str) else "",
                i,
                MappingProxyType(dict(raw)),
            )
        )
    return tuple(out)


def _web(shape: WebShape, secrets: Secrets) -> WebSettings:
    listen = (WebSettings.listen if shape.listen is None else shape.listen).strip()
    token = shape.token
    if token is not None:
        token = secrets.expand(token, "web.token")
    if listen:
        _check_listen(listen, token, "web.listen")
    return WebSettings(listen, token or None, tuple(h.strip().lower() for h in shape.hosts))


def _check_listen(listen: str, token: str | None, where: str) -> None:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{where}: expected host:port, got {listen!r}")
    if not _loopback(host.strip("[]")) and not token:
        raise ConfigError(
            f"web.token: required when listening beyond this machine ({listen}); "
            'e.g. token = "${PAPERWATCH_WEB_TOKEN}"'
        )


def _zotero(shape: ZoteroShape | None, secrets: Secrets) -> ZoteroSettings | None:
    if shape is None:
        return None
    if not ZOTERO_LIBRARY.match(shape.library):
        raise ConfigError(
            f'zotero.library: expected "users/<user id>" or "groups/<group id>", '
            f"got {shape.library!r}"
        )
    base = shape.base_url or ZOTERO_API
    if not re.match(r"^https?://[^/\s]+", base):
        raise ConfigError(f"zotero.base_url: expected an http:// or https:// URL, got {base!r}")
    return ZoteroSettings(shape.library, secrets.expand(shape.key, "zotero.key"), base)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _channels(data: dict[str, Any], secrets: Secrets) -> dict[str, ChannelSettings]:
    """`name = "url"`, `name = ["url", ...]`, or a table `{url(s) = ..., timeout = "30s"}`."""
    channels = {}
    for name, value in data.items():
        where = f"channels.{name}"
        timeout, max_chars = DEFAULT_TIMEOUT, None
        urls = value
        if isinstance(value, dict):
            table = validated(ChannelShape, value, ("channels", name))
            if table.urls is None and table.url is None:
                raise ConfigError(f"{where}.url: missing (required, or urls = [...])")
            urls = table.urls if table.urls is not None else table.url
            timeout = DEFAULT_TIMEOUT if table.timeout is None else table.timeout.total_seconds()
            max_chars = table.max_chars
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{where}: expected an apprise URL or a list of them")
        expanded = tuple(secrets.expand(u, where) for u in urls)
        known = tuple(v for u in urls for v in secrets.referenced(u))
        channels[name] = ChannelSettings(name, expanded, where, known, timeout, max_chars)
    return channels


@dataclass(frozen=True)
class _QueryLine:
    line: int  # 1-based
    text: str
    start: int  # index of the query's first character in `text`
    basic: bool  # a "..." string, whose escapes take more than one character


def _query_line(found: dict[Loc, Position], i: int) -> _QueryLine | None:
    """Where watchlist i's query is, if it is a one-line string."""
    at = found.get(("watchlists", i, "query"))
    if at is None:
        return None
    value = at.text[at.column - 1 :]
    if value[:1] not in ("'", '"') or value[:3] in ("'''", '"""'):
        return None
    return _QueryLine(at.line, at.text, at.column, value[0] == '"')


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


def _synonyms(shape: dict[str, list[str]]) -> Synonyms:
    """`[synonyms]`: `LLM = ["large language model"]`, each key and its list one group of
    terms a watchlist's query matches alike (opt-in, applied to queries, not papers)."""
    groups = []
    for key, others in shape.items():
        for where, term in (
            (f"synonyms.{key}", key),
            *((f"synonyms.{key}[{j}]", t) for j, t in enumerate(others)),
        ):
            try:
                found = make_term(term, DEFAULT_FIELDS)
            except QueryError as exc:
                raise ConfigError(f"{where}: {exc.reason}") from None
            if found.prefix:
                raise ConfigError(f"{where}: a synonym is a word or a phrase, not a prefix")
        groups.append((key, *others))
    return tuple(groups)


def _watchlists(
    shapes: list[WatchlistShape],
    channels: set[str],
    found: dict[Loc, Position],
    base: Path,
    synonyms: Synonyms = (),
) -> tuple[Watchlist, ...]:
    out: list[Watchlist] = []
    seen: set[str] = set()
    for i, w in enumerate(shapes):
        where = f"watchlists[{i}]"
        name = w.name.strip()
        if name in seen:
            raise ConfigError(f"{where}.name: duplicate watchlist name {name!r}")
        seen.add(name)
        fields = tuple(sorted(DEFAULT_FIELDS)) if w.fields is None else tuple(w.fields)
        for j, f in enumerate(fields):
            if f not in FIELDS:
                raise ConfigError(
                    f"{where}.fields[{j}]: unknown field {f!r} (one of {', '.join(FIELDS)})"
                )
        scope = frozenset(fields)
        keywords, exclude = tuple(w.keywords), tuple(w.exclude)
        if w.query is not None and (keywords or exclude):
            raise ConfigError(f"{where}: give either query or keywords/exclude, not both")
        warnings: tuple[str, ...] = ()
        similar = _similar(w, where, base)
        query: Node | None = None
        source = ""
        if w.query is not None:
            where_query = _query_line(found, i)
            try:
                query, source = parse_query(w.query, scope), w.query
                warned = query_warnings(w.query, scope)
            except QueryError as exc:
                at = _position(where_query, exc.column)
                raise ConfigError(f"{where}.query{at}: watchlist {name!r}: {exc.reason}") from None
            warnings = tuple(
                f"{where}.query{_position(where_query, column)}: watchlist {name!r}: {what}"
                for column, what in warned
            )
        elif keywords:
            for key, entries in (("keywords", keywords), ("exclude", exclude)):
                for j, entry in enumerate(entries):
                    try:
                        make_term(entry, scope)
                    except QueryError as exc:
                        raise ConfigError(
                            f"{where}.{key}[{j}]: watchlist {name!r}: {exc.reason}"
                        ) from None
            query, source = keywords_query(keywords, exclude, scope), ", ".join(keywords)
        people = _people(w.authors, f"{where}.authors")
        if people and similar is not None:
            raise ConfigError(
                f"{where}.authors: not with similar_to (an author watchlist takes keywords "
                "or a query, or nothing else)"
            )
        cites = _cites(w.cites, f"{where}.cites")
        cites_library = base / w.cites_library if w.cites_library else None
        if cites_library is not None and not is_library(cites_library.name):
            raise ConfigError(
                f"{where}.cites_library: {w.cites_library!r}: a BibTeX (.bib) or CSL-JSON "
                "(.json) file of your papers"
            )
        citing = bool(cites or cites_library)
        if citing and (similar is not None or people):
            raise ConfigError(
                f"{where}.{'cites' if cites else 'cites_library'}: not with "
                f"{'similar_to' if similar is not None else 'authors'} (a citation "
                "watchlist takes keywords or a query, or nothing else)"
            )
        if query is None and similar is None and not people and not citing:
            raise ConfigError(
                f'{where}: needs keywords = [...], query = "...", similar_to = [...], '
                "authors = [...] or cites = [...]"
            )
        if people:
            by = f"by {', '.join(p.written for p in people)}"
            source = f"{source} ({by})" if source else by
        if citing:
            named = [*w.cites, *([w.cites_library] if w.cites_library else [])]
            citing_said = f"citing {', '.join(named)}"
            source = f"{source} ({citing_said})" if source else citing_said
        if similar is not None:
            n = len(similar.examples) - len(similar.libraries)
            named = [f"{n} paper{'s' if n > 1 else ''}"] if n else []
            named += [path.name for path in similar.libraries]  # `check` counts its entries
            shown_as = f"similar to {' and '.join(named)}"
            joint = "or" if similar.either else "and"
            source = f"{source} ({joint} {shown_as})" if source else shown_as
        if not w.notify:
            raise ConfigError(f"{where}.notify: missing (list the channels to alert)")
        notify: list[str] = []
        own_times: list[tuple[str, time | None]] = []
        for j, item in enumerate(w.notify):
            ch = item if isinstance(item, str) else item.channel
            if ch not in channels:
                known = ", ".join(sorted(channels)) or "none defined"
                at = f"{where}.notify[{j}]" + ("" if isinstance(item, str) else ".channel")
                raise ConfigError(f"{at}: unknown channel {ch!r} (channels: {known})")
            if ch in notify:
                raise ConfigError(f"{where}.notify[{j}]: channel {ch!r} named twice")
            notify.append(ch)
            if not isinstance(item, str):
                own_times.append((ch, _deliver(item.deliver, f"{where}.notify[{j}].deliver")))
        deliver_at = _deliver(w.deliver, f"{where}.deliver")
        widened: list[str] = []
        if query is not None:
            query, widened = with_synonyms(query, synonyms)
        out.append(
            Watchlist(
                name,
                query,
                source,
                tuple(notify),
                deliver_at,
                warnings,
                similar,
                tuple(widened),
                people,
                cites,
                cites_library,
                tuple(own_times),
            )
        )
    return tuple(out)


def _cites(entries: Sequence[str], where: str) -> tuple[str, ...]:
    """`cites = ["10.1016/...", "2401.01234", "PMID:36006759"]`: as cited ids."""
    found = []
    for i, entry in enumerate(entries):
        ident = cited_id(entry)
        if ident is None:
            raise ConfigError(
                f"{where}[{i}]: {entry!r} is no DOI (10.1016/...), arXiv id (2401.01234) "
                "or PubMed id (PMID:36006759)"
            )
        found.append(ident)
    return tuple(dict.fromkeys(found))


def _people(entries: list[str | PersonShape], where: str) -> tuple[Person, ...]:
    """`authors = ["Yann LeCun", "0000-0002-1825-0097", {name = ..., orcid = ...}]`."""
    people = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if isinstance(entry, str):
            name, iD = ("", entry) if looks_like_orcid(entry) else (entry, "")
        else:
            name, iD = entry.name, entry.orcid
        if iD and (problem := orcid_problem(iD)):
            raise ConfigError(f"{at}: {problem}")
        read = Name.read(name) if name else None
        if name and read is None:
            raise ConfigError(f"{at}: {name!r} is no name")
        if read is None and not iD:
            raise ConfigError(f"{at}: give a name, an ORCID iD, or both")
        people.append(Person(" ".join(name.split()) or iD.strip(), read, orcid(iD)))
    return tuple(people)


SIMILAR_NEEDS = ("numpy", "scipy", "sklearn", "wordllama")  # the 'similar' extra


def _similar(w: WatchlistShape, where: str, base: Path) -> Similar | None:
    if not w.similar_to:
        for key, value in (("mode", w.mode), ("sensitivity", w.sensitivity)):
            if value is not None:
                raise ConfigError(f"{where}.{key}: only for a watchlist with similar_to")
        return None
    if w.mode not in (None, "both", "either"):
        raise ConfigError(f"{where}.mode: expected 'both' or 'either', got {shown(w.mode)}")
    missing = [m for m in SIMILAR_NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"{where}.similar_to: needs paperwatch's 'similar' extra ({', '.join(missing)} "
            "not installed): pip install 'paperwatch[similar]' (make run installs it)"
        )
    level = None if w.sensitivity in (None, "auto") else w.sensitivity
    if level is not None and (isinstance(level, str) or not 0.5 <= level < 1):
        raise ConfigError(
            f'{where}.sensitivity: "auto" (the default: adapted to the topic) or from 0.5 '
            f"to below 1 (0.99: the top 1% of recent papers would alert), got {shown(level)}"
        )
    # data, not configuration: read when used (a missing one is its watchlist's problem)
    libraries = [base / entry for entry in w.similar_to if is_library(entry)]
    examples = tuple(w.similar_to)
    return Similar(examples, f"{where}.similar_to", level, w.mode == "either", tuple(libraries))


def _deliver(value: str, where: str) -> time | None:
    if value == "immediate":
        return None
    m = re.match(r"^daily\s+(\d{1,2}):(\d{2})$", value.strip())
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return time(int(m.group(1)), int(m.group(2)))
    raise ConfigError(f'{where}: expected "immediate" or "daily HH:MM", got {value!r}')
