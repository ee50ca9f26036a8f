"""Where a TOML path (`watchlists[1].notify`) is written in the file: tomllib keeps no
positions, so the file is scanned for its table headers and `key =` lines. Good enough
for errors: a value inside an inline table or an array points at its key."""

from __future__ import annotations

import re
from dataclasses import dataclass

Loc = tuple[str | int, ...]

_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_BARE_OR_QUOTED}(?:[ \t]*\.[ \t]*{_BARE_OR_QUOTED})*"
_HEADER = re.compile(rf"^[ \t]*(\[\[?)[ \t]*({_DOTTED})[ \t]*\]")
_KEY = re.compile(rf"^([ \t]*)({_DOTTED})[ \t]*=[ \t]*")
_PART = re.compile(_BARE_OR_QUOTED)


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based: the value's first character (a header's: its "[")
    text: str  # the whole line, as written
    key_column: int = 1  # 1-based: the key's first character


def _parts(dotted: str) -> list[str]:
    out = []
    for m in _PART.finditer(dotted):
        part = m.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        out.append(part)
    return out


def _brackets(text: str) -> int:
    """How many more brackets `text` opens than it closes, outside strings and comments."""
    depth, i, quote = 0, 0, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth


def _open_at_end(value: str) -> str | None:
    """What a value that starts on this line leaves open: a multi-line string's
    delimiter, or "]" for an array whose brackets do not close here."""
    for quote in ('"""', "'''"):
        if value.startswith(quote) and value.count(quote) == 1:
            return quote
    return "]" if _brackets(value) > 0 else None


def positions(text: str) -> dict[Loc, Position]:
    """Every table header and key of `text`, by its TOML path."""
    found: dict[Loc, Position] = {}
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables path: its current index
    table: Loc = ()
    open_until: str | None = None
    depth = 0
    for n, line in enumerate(text.splitlines(), 1):
        if open_until == "]":
            depth += _brackets(line)
            if depth <= 0:
                open_until = None
            continue
        if open_until is not None:
            if open_until in line:
                open_until = None
            continue
        header = _HEADER.match(line)
        if header:
            names = _parts(header.group(2))
            loc: list[str | int] = []
            for i, name in enumerate(names):
                loc.append(name)
                prefix = tuple(names[: i + 1])
                last = i == len(names) - 1
                if header.group(1) == "[[" and last:
                    arrays[prefix] = arrays.get(prefix, -1) + 1
                    loc.append(arrays[prefix])
                elif prefix in arrays:
                    loc.append(arrays[prefix])
            table = tuple(loc)
            column = line.index("[") + 1
            found[table] = Position(n, column, line, column)
            continue
        key = _KEY.match(line)
        if key:
            value = line[key.end() :]
            at = Position(n, key.end() + 1, line, len(key.group(1)) + 1)
            found[table + tuple(_parts(key.group(2)))] = at
            open_until = _open_at_end(value)
            if open_until == "]":
                depth = _brackets(value)
    return found


def position_of(text: str, loc: Loc) -> Position | None:
    """Where `loc` is written, or the nearest enclosing key or table that is."""
    found = positions(text)
    for end in range(len(loc), 0, -1):
        if loc[:end] in found:
            return found[loc[:end]]
    return None


_PATH_STEP = re.compile(r"\[(\d+)\]|\.?([^.\[\]\s:]+)")


def parse_path(path: str) -> Loc:
    """`watchlists[1].notify[0]` -> ("watchlists", 1, "notify", 0)."""
    return tuple(int(m.group(1)) if m.group(1) else m.group(2) for m in _PATH_STEP.finditer(path))


def show_path(loc: Loc) -> str:
    """("watchlists", 1, "notify") -> `watchlists[1].notify`."""
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out
