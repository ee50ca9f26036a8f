"""The shape of config.toml, as msgspec structs: which keys each table takes and of what
type (strict: a string where a list is expected is an error, not a one-item list).
`daemon.config` turns a validated shape into a Config, checking what a type cannot say
(channels that exist, queries that parse). A validation error becomes one ConfigError
that names the TOML path, says what was expected with an example, and suggests the
nearest known key for an unknown one. (msgspec rather than pydantic: the daemon keeps
what it imports for as long as it runs, and pydantic would be a fifth of it.)"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Annotated, Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import msgspec

from daemon.config.positions import Loc, parse_path, show_path
from daemon.core.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def shown(value: Any) -> str:
    """A wrong value as an error shows it: its TOML kind and the value itself."""
    if isinstance(value, str):
        return f"the string {value!r}"
    kind = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}
    return f"{kind.get(type(value), type(value).__name__)} {value!r}"[:120]


class Duration(timedelta):
    """`"30s"`, `"30m"`, `"2h"`, `"7d"`: more than zero."""


class DurationOrZero(timedelta):
    """A duration that may be `"0s"`."""


class Words(str):
    """A string with something in it (a keyword, a name, a channel)."""


def parse_duration(value: Any, allow_zero: bool = False) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(f'expected a duration such as "30m", got {shown(value)}')
    m = _DURATION.match(value)
    if not m or (int(m.group(1)) == 0 and not allow_zero):
        raise ValueError(f"expected a duration like '30s', '30m', '2h' or '7d', got {value!r}")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def _words(value: Any) -> Words:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {shown(value)}")
    if not value.strip():
        raise ValueError("expected a non-empty string")
    return Words(value)


# how msgspec makes the types above from TOML values; a ValueError is the key's error
_DECODERS: dict[type, Callable[[Any], Any]] = {
    Duration: lambda value: Duration(seconds=parse_duration(value).total_seconds()),
    DurationOrZero: lambda value: DurationOrZero(
        seconds=parse_duration(value, allow_zero=True).total_seconds()
    ),
    Words: _words,
}


def _decode(kind: type, value: Any) -> Any:
    """msgspec's hook: only the types above reach it, every shape's other types being
    msgspec's own."""
    return _DECODERS[kind](value)


class Shape(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A TOML table: strict types, unknown keys refused."""


# Keys left out are None here: their defaults have one home, the dataclass they fill.


class HttpShape(Shape):
    timeout: Duration | None = None
    min_interval: DurationOrZero | None = None
    max_bytes: Annotated[int, msgspec.Meta(ge=1)] | None = None
    job_time_limit: Duration | None = None
    retries: Annotated[int, msgspec.Meta(ge=0)] | None = None


class WebShape(Shape):
    listen: str | None = None
    token: str | None = None
    hosts: list[Words] = []


class ChannelShape(Shape):
    """A channel written as a table: `{url = ...}` or `{urls = [...]}`, its timeout and
    the most characters a message may hold."""

    url: str | None = None
    urls: list[Words] | None = None
    timeout: Duration | None = None
    max_chars: Annotated[int, msgspec.Meta(ge=500)] | None = None


class ZoteroShape(Shape):
    library: str
    key: Words
    base_url: str | None = None


class PersonShape(Shape):
    """`{name = "...", orcid = "..."}`: one person of an author watchlist."""

    name: str = ""
    orcid: str = ""


class NotifyShape(Shape):
    """`{channel = "mail", deliver = "daily 07:30"}`: a channel on a time of its own."""

    channel: str
    deliver: str = "immediate"


class WatchlistShape(Shape):
    name: Words
    fields: list[Words] | None = None
    keywords: list[Words] = []
    exclude: list[Words] = []
    query: str | None = None
    similar_to: list[Words] = []
    authors: list[str | PersonShape] = []
    cites: list[Words] = []
    cites_library: str | None = None
    mode: str | None = None
    sensitivity: float | str | None = None
    notify: list[str | NotifyShape] = []
    deliver: str = "immediate"


class TopShape(Shape):
    state_dir: str = "state"
    timezone: str | None = None
    give_up_after: Duration | None = None
    undecided_after: DurationOrZero | None = None
    stall_after: Duration | None = None
    secrets_file: str | None = None
    channels: dict[str, Any] = {}
    watchlists: list[WatchlistShape] = []
    sources: list[dict[str, Any]] = []  # each by its kind's shape (`source_shape`)
    http: HttpShape = msgspec.field(default_factory=HttpShape)
    web: WebShape = msgspec.field(default_factory=WebShape)
    zotero: ZoteroShape | None = None
    synonyms: dict[str, list[str]] = {}
    admin_channel: str | None = None
    alert_after_failures: Annotated[int, msgspec.Meta(ge=1)] | None = None


_KEY_TYPES: dict[str, Any] = {
    "str": str,
    "url": str,
    "secret": str,
    "path": str,
    "int": int,
    "bool": bool,
    "str_list": list[Words],
    "duration": Duration,
}


class SourceShape(Shape):
    """The keys every source has; a kind's own are added by `source_shape`."""

    name: Words
    type: str
    every: Duration | None = None
    cron: str | None = None


@cache
def source_shape(type_name: str, keys: tuple[tuple[str, str, bool], ...]) -> type[SourceShape]:
    """The shape of a `type = type_name` source table: the common keys and its kind's
    own (name, type, required)."""
    fields: list[Any] = []
    for name, key_type, required in keys:
        python_type = _KEY_TYPES[key_type]
        fields.append((name, python_type) if required else (name, python_type | None, None))
    shape = msgspec.defstruct(f"{type_name}_source", fields, bases=(SourceShape,), kw_only=True)
    return cast(type[SourceShape], shape)


S = TypeVar("S", bound=Shape)


def validated(shape: type[S], data: Any, at: Loc = (), what: str = "") -> S:
    """`data` as `shape`, or the ConfigError of its first problem (its path under `at`;
    `what` names the table in an unknown key's error: "a hf_daily source")."""
    if not isinstance(data, dict):
        raise ConfigError(f"{show_path(at) or 'config'}: expected a table, got {shown(data)}")
    try:
        return msgspec.convert(data, shape, strict=True, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(shape, str(exc), data, at, what)) from None


_PROBLEM = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_EXPECTED = {
    "str": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": 'a list such as ["a", "b"]',
    "object": "a table",
}


def _explain(shape: type[Shape], message: str, data: Any, at: Loc, what: str) -> str:
    """msgspec's message (`Expected `array`, got `str` - at `$.watchlists[0].keywords``)
    as paperwatch says it, with the TOML path."""
    found = _PROBLEM.match(message)
    assert found is not None  # the pattern matches any text
    problem, inner = found["what"], parse_path((found["path"] or "").lstrip("."))
    loc = at + inner
    unknown = re.match(r"Object contains unknown field `(.+)`$", problem)
    if unknown:
        near = difflib.get_close_matches(unknown[1], _fields_at(shape, inner), 1, 0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        table = f" for {what}" if what and not inner else ""
        return f"{show_path((*loc, unknown[1]))}: unknown key{table}{hint}"
    missing = re.match(r"Object missing required field `(.+)`$", problem)
    if missing:
        return f"{show_path((*loc, missing[1]))}: missing (required)"
    value = _value_at(data, inner)
    where = show_path(loc)
    wrong = re.match(r"Expected `(\w+)(?: \| null)?`, got `\w+`$", problem)
    if wrong and wrong[1] in _EXPECTED:
        return f"{where}: expected {_EXPECTED[wrong[1]]}, got {shown(value)}"
    bound = re.match(r"Expected `int` >= (\d+)$", problem)
    if bound:
        return f"{where}: must be {bound[1]} or more, got {shown(value)}"
    return f"{where}: {problem}"


def _value_at(data: Any, loc: Loc) -> Any:
    for step in loc:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _fields_at(shape: type[Shape], loc: Loc) -> list[str]:
    """The keys of the table at `loc` inside `shape` (list items and optionals unwrapped)."""
    current: Any = shape
    for step in loc:
        if isinstance(step, int):
            continue
        if not (isinstance(current, type) and issubclass(current, msgspec.Struct)):
            return []
        hints = get_type_hints(current)
        if step not in hints:
            return []
        current = _inner_struct(hints[step])
    is_struct = isinstance(current, type) and issubclass(current, msgspec.Struct)
    return list(current.__struct_fields__) if is_struct else []


def _inner_struct(annotation: Any) -> Any:
    """The struct inside `list[S]`, `S | None`, `dict[str, S]`; else the annotation."""
    origin = get_origin(annotation)
    if origin in (list, dict, Union) or str(origin) == "types.UnionType":
        for arg in get_args(annotation):
            inner = _inner_struct(arg)
            if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
                return inner
    return annotation
