"""The shape of config.toml, as pydantic models: which keys each table takes and of what
type (strict: a string where a list is expected is an error, not a one-item list).
`config.py` turns a validated shape into a Config, checking what a type cannot say
(channels that exist, queries that parse). A validation error becomes one ConfigError
that names the TOML path, says what was expected with an example, and suggests the
nearest known key for an unknown one."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from functools import cache, partial
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic import ValidationError as SchemaError
from pydantic_core import ErrorDetails, PydanticCustomError

from daemon.errors import ConfigError
from daemon.toml_positions import Loc, show_path

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def shown(value: Any) -> str:
    """A wrong value as an error shows it: its TOML kind and the value itself."""
    if isinstance(value, str):
        return f"the string {value!r}"
    kind = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}
    return f"{kind.get(type(value), type(value).__name__)} {value!r}"[:120]


def parse_duration(value: Any, allow_zero: bool = False) -> timedelta:
    """`"30s"`, `"30m"`, `"2h"`, `"7d"`."""
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration", 'expected a duration such as "30m", got {got}', {"got": shown(value)}
        )
    m = _DURATION.match(value)
    if not m or (int(m.group(1)) == 0 and not allow_zero):
        raise PydanticCustomError(
            "duration",
            "expected a duration like '30s', '30m', '2h' or '7d', got {got}",
            {"got": repr(value)},
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def _words(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty", "expected a non-empty string")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
DurationOrZero = Annotated[timedelta, BeforeValidator(partial(parse_duration, allow_zero=True))]
Words = Annotated[str, AfterValidator(_words)]


class Shape(BaseModel):
    """A TOML table: strict types, unknown keys refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# Keys left out are None here: their defaults have one home, the dataclass they fill.


class HttpShape(Shape):
    timeout: Duration | None = None
    min_interval: DurationOrZero | None = None
    max_bytes: Annotated[int, Field(ge=1)] | None = None
    job_time_limit: Duration | None = None
    retries: Annotated[int, Field(ge=0)] | None = None


class WebShape(Shape):
    listen: str | None = None
    token: str | None = None
    hosts: list[Words] = []


class ChannelShape(Shape):
    """A channel written as a table: `{url = ...}` or `{urls = [...]}`, and its timeout."""

    url: str | None = None
    urls: list[Words] | None = None
    timeout: Duration | None = None
    max_chars: Annotated[int, Field(ge=500)] | None = None  # a message's size, at most


class ZoteroShape(Shape):
    library: Annotated[str, Field(pattern=r"^(users|groups)/\d+$")]
    key: Words
    base_url: str | None = None


class WatchlistShape(Shape):
    name: Words
    fields: list[Words] | None = None
    keywords: list[Words] = []
    exclude: list[Words] = []
    query: str | None = None
    similar_to: list[Words] = []
    mode: Literal["both", "either"] | None = None
    sensitivity: float | None = None
    notify: list[Words] = []
    deliver: str = "immediate"


class TopShape(Shape):
    state_dir: str = "state"
    timezone: str | None = None
    give_up_after: Duration | None = None
    undecided_after: DurationOrZero | None = None
    stall_after: Duration | None = None
    secrets_file: str | None = None
    channels: dict[str, str | list[Any] | dict[str, Any]] = {}
    watchlists: list[WatchlistShape] = []
    sources: list[dict[str, Any]] = []  # each by its kind's shape (`source_shape`)
    http: HttpShape = HttpShape()
    web: WebShape = WebShape()
    zotero: ZoteroShape | None = None
    admin_channel: str | None = None
    alert_after_failures: Annotated[int, Field(ge=1)] | None = None


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
    fields: dict[str, Any] = {}
    for name, key_type, required in keys:
        python_type = _KEY_TYPES[key_type]
        fields[name] = (python_type, ...) if required else (python_type | None, None)
    return create_model(f"{type_name}_source", __base__=SourceShape, **fields)


S = TypeVar("S", bound=Shape)


def validated(shape: type[S], data: Any, at: Loc = (), what: str = "") -> S:
    """`data` as `shape`, or the ConfigError of its first problem (its path under `at`;
    `what` names the table in an unknown key's error: "a hf_daily source")."""
    if not isinstance(data, dict):
        raise ConfigError(f"{show_path(at) or 'config'}: expected a table, got {shown(data)}")
    try:
        return shape.model_validate(data)
    except SchemaError as exc:
        raise ConfigError(_explain(shape, exc.errors(), at, what)) from None


_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": 'a list such as ["a", "b"]',
    "dict_type": "a table",
    "model_type": "a table",
}


def _explain(shape: type[Shape], errors: list[ErrorDetails], at: Loc, what: str) -> str:
    """One line for the first problem; a missing key whose typo is also there (`notfy`
    for `notify`) is told as the typo."""
    first = errors[0]
    for error in errors:
        if error["type"] == "missing":
            for other in errors:
                typo = other["loc"][-1]
                if (
                    other["type"] == "extra_forbidden"
                    and other["loc"][:-1] == error["loc"][:-1]
                    and difflib.get_close_matches(str(typo), [str(error["loc"][-1])], 1, 0.75)
                ):
                    first = other
                    break
    loc = at + tuple(first["loc"])
    where = show_path(loc)
    kind, value = first["type"], first.get("input")
    if kind == "extra_forbidden":
        known = _fields_at(shape, tuple(first["loc"][:-1]))
        near = difflib.get_close_matches(str(loc[-1]), known, 1, 0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        table = f" for {what}" if what and len(first["loc"]) == 1 else ""
        return f"{where}: unknown key{table}{hint}"
    if kind == "missing":
        return f"{where}: missing (required)"
    if kind in _EXPECTED:
        return f"{where}: expected {_EXPECTED[kind]}, got {shown(value)}"
    if kind == "literal_error":
        return f"{where}: expected {first['ctx']['expected']}, got {shown(value)}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = first["ctx"].get("ge", first["ctx"].get("gt"))
        return f"{where}: must be {bound} or more, got {shown(value)}"
    return f"{where}: {first['msg']}"


def _fields_at(shape: type[Shape], loc: Loc) -> list[str]:
    """The keys of the table at `loc` inside `shape` (list items and optionals unwrapped)."""
    current: Any = shape
    for step in loc:
        if isinstance(step, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(step)
        if field is None:
            return []
        current = _inner_model(field.annotation)
    return (
        list(current.model_fields)
        if isinstance(current, type) and issubclass(current, BaseModel)
        else []
    )


def _inner_model(annotation: Any) -> Any:
    """The model inside `list[M]`, `M | None`, `dict[str, M]`; else the annotation."""
    origin = get_origin(annotation)
    if origin in (list, dict, Union) or str(origin) == "types.UnionType":
        for arg in get_args(annotation):
            inner = _inner_model(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation
