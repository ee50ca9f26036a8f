"""The format contract: a digest format declares how it recognises a document and how it
parses one. Formats register here; daemon.parse discovers them (each module of the
package, and any package's `paperwatch.formats` entry point) and tries them most
specific first, so a new format is one module and touches no other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper
from daemon.core.registry import Registry

# how specific a format's sniff is: the first of the most specific that claims a
# document parses it. A shape with its own keys (a named JSON API) outranks any JSON.
GENERAL, SHAPE, NAMED = 0, 10, 20


@dataclass(frozen=True)
class Format:
    """`sniff(head)`: whether the document's first 4,096 characters (BOM removed) look
    like this format. `parse(data, name, ref_time)`: the Digest, or ParseError;
    `ref_time` (a file's mtime, a fetch's time) resolves days written without a year."""

    name: str
    specificity: int
    sniff: Callable[[str], bool]
    parse: Callable[[bytes | bytearray, str, datetime], Digest]


FORMATS: Registry[Format] = Registry(
    "daemon.parse", "paperwatch.formats", ("formats", "days", "json_text")
)


def register_format(new: Format) -> Format:
    return FORMATS.register(new.name, new)


def formats() -> list[Format]:
    """Every format (discovered once), most specific first, registration order within."""
    return sorted(FORMATS.all().values(), key=lambda f: -f.specificity)


T = TypeVar("T")
MAX_REASON = 300  # characters of one skipped record's reason kept


def read_records(
    records: Iterable[T], read: Callable[[T], Paper | None], name: str
) -> tuple[tuple[Paper, ...], tuple[str, ...]]:
    """(papers, reasons) of a document's records read one by one: whatever reading one
    record raises (a hostile field, a parser's bug, a recursion) skips that record with
    its reason, never its document. `read` returns None for a record that is no paper."""
    papers: list[Paper] = []
    skipped: list[str] = []
    for number, record in enumerate(records, 1):
        try:
            paper = read(record)
        except Exception as exc:  # one record's failure, never its document's
            skipped.append(f"{name}: record {number} skipped: {reason(exc)}"[:MAX_REASON])
            continue
        if paper is not None:
            papers.append(paper)
    return tuple(papers), tuple(skipped)


def reason(exc: BaseException) -> str:
    """An exception as a reason: a ParseError's own words, else its type and message."""
    if isinstance(exc, ParseError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def whole(kind: str, read: tuple[tuple[Paper, ...], tuple[str, ...]], **rest: Any) -> Digest:
    """The Digest of records read by `read_records`; a document none of whose records
    could be read fails as a whole, with the first reason."""
    papers, skipped = read
    if skipped and not papers:
        more = f" (and {len(skipped) - 1} more records)" if len(skipped) > 1 else ""
        raise ParseError(skipped[0] + more)
    return Digest(kind, papers, skipped=skipped, **rest)
