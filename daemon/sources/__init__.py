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
from importlib.metadata import entry_points
from pathlib import Path

from daemon.sources.contract import (
    REQUIRED,
    Context,
    Key,
    KeyType,
    Memory,
    Outcome,
    Source,
    SourceKind,
    Watch,
    register,
    registered,
)

__all__ = [
    "REQUIRED",
    "Context",
    "Key",
    "KeyType",
    "Memory",
    "Outcome",
    "Source",
    "SourceKind",
    "Watch",
    "kind",
    "kinds",
    "register",
]
_discovered = False
_discovering = threading.Lock()


def kinds() -> dict[str, SourceKind]:
    _discover()
    return registered()


def kind(name: str) -> SourceKind | None:
    _discover()
    return registered().get(name)


def _discover() -> None:
    """Import every kind module of this package and of installed plugins, once."""
    global _discovered
    with _discovering:
        if _discovered:
            return
        for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
            if module.name != "contract":
                importlib.import_module(f"{__name__}.{module.name}")
        for point in entry_points(group="paperwatch.sources"):
            point.load()
        _discovered = True
