"""Turn raw bytes into a Digest, choosing the format by sniffing the content, not the name.

The formats (daemon.parse.formats) are discovered: each module of this package that
registers one, and any package's `paperwatch.formats` entry point. The most specific
format whose sniff claims the document parses it; nothing here names a format.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace
from datetime import datetime

from daemon.core.errors import ParseError
from daemon.core.models import MAX_AUTHORS, Digest
from daemon.parse.formats import Format, formats

__all__ = ["parse_document", "sniff", "check_text", "formats"]

_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BINARY_SHARE = 0.01  # control characters in a text's head: one in a title is that title's


def check_text(data: bytes | bytearray, name: str) -> str:
    """Raise ParseError unless `data` is UTF-8 text; return its head (BOM removed) to sniff.
    Checked in chunks, so a large text dump is never held as bytes and text at once."""
    if not data or data.isspace():
        raise ParseError(f"{name}: empty document")
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _CHUNK):  # copies of 1 MB, no views: a bytearray
        try:  # must stay resizable, ingest frees it (a view kept by the error would not)
            decoder.decode(data[start : start + _CHUNK], final=start + _CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"{name}: not UTF-8 text (byte {start + exc.start}), not a digest"
            ) from None
    head = data[:4096].decode("utf-8-sig", "ignore")
    if len(_CONTROL.findall(head)) > _BINARY_SHARE * len(head):  # a stray one is a paper's
        raise ParseError(f"{name}: binary content (control characters), not a digest")
    return head


def sniff(head: str) -> Format:
    """The most specific format that claims a document by its head."""
    for candidate in formats():
        if candidate.sniff(head):
            return candidate
    raise ParseError("no digest format claims this document")  # "text" claims any


def parse_document(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    """Parse one document. `ref_time` (file mtime or fetch time) resolves yearless days.
    Whatever a parser raises on a hostile document is that document's ParseError."""
    found = sniff(check_text(data, name))
    try:
        digest = found.parse(data, name, ref_time)
        if any(len(p.authors) > MAX_AUTHORS for p in digest.papers):
            kept = (replace(p, authors=p.authors[:MAX_AUTHORS]) for p in digest.papers)
            digest = replace(digest, papers=tuple(kept))
        return digest
    except ParseError:
        raise
    except Exception as exc:  # one document's failure, never the caller's
        what = f"{type(exc).__name__}: {exc}"[:200]
        raise ParseError(f"{name}: cannot be read as {found.name} ({what})") from None
