"""JSON as the parsers read it. A value nested deeper than MAX_DEPTH (one hostile
record's field) is read as null, so the document's other records are still read; a
document that is nothing but nesting (never closed) still fails as nested too deeply.
The standard decoder runs first: an ordinary document pays nothing for this."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 200  # far deeper than any digest's records, far below the recursion limit
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def loads(data: str | bytes | bytearray) -> Any:
    """json.loads, with values nested too deeply read as null; RecursionError if the
    nesting never ends."""
    try:
        return json.loads(data)
    except RecursionError:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8-sig")
    flat = _flattened(text)
    if flat is None:
        raise RecursionError("JSON nested too deeply")
    return json.loads(flat)


def _flattened(text: str) -> str | None:
    """`text` with each container opened deeper than MAX_DEPTH replaced by null; None if
    one is never closed."""
    parts: list[str] = []
    depth, cut_from, kept_to = 0, -1, 0
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1:
                cut_from = m.start()
            continue
        if depth == MAX_DEPTH + 1 and cut_from >= 0:
            parts += [text[kept_to:cut_from], "null"]
            kept_to, cut_from = m.end(), -1
        depth -= 1
    if cut_from >= 0:
        return None
    parts.append(text[kept_to:])
    return "".join(parts)
