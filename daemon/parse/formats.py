"""The format contract: a digest format declares how it recognises a document and how it
parses one. Formats register here; daemon.parse discovers them (each module of the
package, and any package's `paperwatch.formats` entry point) and tries them most
specific first, so a new format is one module and touches no other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from daemon.models import Digest
from daemon.registry import Registry

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


FORMATS: Registry[Format] = Registry("daemon.parse", "paperwatch.formats", ("formats", "days"))


def register_format(new: Format) -> Format:
    return FORMATS.register(new.name, new)


def formats() -> list[Format]:
    """Every format (discovered once), most specific first, registration order within."""
    return sorted(FORMATS.all().values(), key=lambda f: -f.specificity)
