"""Load and validate config.toml into an immutable Config; every error names its TOML path."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from daemon.errors import ConfigError

DEFAULT_CONFIG = "config.toml"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Table:
    """A TOML table being validated: typed getters that know their path; unknown keys fail."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data, self.path, self.used = data, path, set[str]()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
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

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self.get(key, str, None)
        return default if value is None else parse_duration(value, self.at(key))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self.at(unknown[0])}: unknown key")


def parse_duration(value: str, where: str) -> timedelta:
    m = _DURATION.match(value)
    if not m or int(m.group(1)) == 0:
        raise ConfigError(f"{where}: expected a duration like '30s', '30m', '2h' or '7d', "
                          f"got {value!r}")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True)
class Config:
    path: Path
    state_dir: Path

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
    top.finish()
    return Config(path=path, state_dir=state_dir)
