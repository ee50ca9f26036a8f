"""Source kinds and their registry: `type = "..."` in config.toml names a kind.

A kind is one module in this package (or a package's `paperwatch.sources` entry point)
that registers a `SourceKind`: its TOML keys, its default schedule, how `check` and
`status` describe a source, its `poll`, and optionally a `watch` that wakes it up between
scheduled polls. Nothing outside the kind's module names it.
"""

from __future__ import annotations

from daemon.sources.contract import (
    KINDS,
    REQUIRED,
    Context,
    Halt,
    Key,
    KeyType,
    Memory,
    Outcome,
    Source,
    SourceKind,
    Watch,
    register,
)

__all__ = [
    "REQUIRED",
    "Context",
    "Halt",
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


def kinds() -> dict[str, SourceKind]:
    return KINDS.all()


def kind(name: str) -> SourceKind | None:
    return KINDS.all().get(name)
