"""Turn raw bytes into a Digest, choosing the format by sniffing the content, not the name."""

from __future__ import annotations

import codecs
import re
from dataclasses import replace
from datetime import datetime

from daemon.errors import ParseError
from daemon.models import MAX_AUTHORS, Digest
from daemon.parse.arxiv_xml import is_arxiv_xml, parse_arxiv
from daemon.parse.hf_html import parse_html
from daemon.parse.hf_json import parse_json
from daemon.parse.text_dump import parse_text

__all__ = ["parse_document", "sniff", "check_text"]

_JSON_ARRAY = re.compile(r'\[\s*([\[{"\]\d-]|true|false|null|$)')  # not "[Re] A title"
_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def check_text(data: bytes | bytearray, name: str) -> str:
    """Raise ParseError unless `data` is UTF-8 text; return its head (BOM removed) to sniff.
    Checked in chunks, so a large text dump is never held as bytes and text at once."""
    if not data or data.isspace():
        raise ParseError(f"{name}: empty document")
    if b"\x00" in data:
        raise ParseError(f"{name}: binary content (NUL bytes), not a digest")
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _CHUNK):  # copies of 1 MB, no views: a bytearray
        try:  # must stay resizable, ingest frees it (a view kept by the error would not)
            decoder.decode(data[start : start + _CHUNK], final=start + _CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"{name}: not UTF-8 text (byte {start + exc.start}), not a digest"
            ) from None
    head = data[:4096].decode("utf-8-sig", "ignore")
    if _CONTROL.search(head):
        raise ParseError(f"{name}: binary content (control characters), not a digest")
    return head


def sniff(text: str) -> str:
    """'json', 'arxiv', 'html' or 'text', from the first meaningful characters."""
    if is_arxiv_xml(text[:1024]):
        return "arxiv"
    head = text.lstrip()[:512].lower()
    if head[:1] == "{" or _JSON_ARRAY.match(head):
        return "json"
    if head.startswith("<") and (
        "<html" in head
        or "<!doctype" in head
        or "<div" in head
        or "<article" in head
        or "<body" in head
        or "<head" in head
    ):
        return "html"
    return "text"


def parse_document(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    """Parse one document. `ref_time` (file mtime or fetch time) resolves yearless days.
    Whatever a parser raises on a hostile document is that document's ParseError."""
    kind = sniff(check_text(data, name))
    try:
        digest = _parse(kind, data, name, ref_time)
        if any(len(p.authors) > MAX_AUTHORS for p in digest.papers):
            kept = (replace(p, authors=p.authors[:MAX_AUTHORS]) for p in digest.papers)
            digest = replace(digest, papers=tuple(kept))
        return digest
    except ParseError:
        raise
    except Exception as exc:  # one document's failure, never the caller's
        what = f"{type(exc).__name__}: {exc}"[:200]
        raise ParseError(f"{name}: cannot be read as {kind} ({what})") from None


def _parse(kind: str, data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    if kind == "text":
        return parse_text(data, name, ref_time)
    if kind == "arxiv":
        return parse_arxiv(data, name)
    text = data.decode("utf-8-sig")
    if kind == "json":
        return parse_json(text, name)
    return parse_html(text, name, ref_time)
