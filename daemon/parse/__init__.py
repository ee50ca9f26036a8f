"""Turn raw bytes into a Digest, choosing the format by sniffing the content, not the name."""

from __future__ import annotations

import re
from datetime import datetime

from daemon.errors import ParseError
from daemon.models import Digest
from daemon.parse.hf_html import parse_html
from daemon.parse.hf_json import parse_json
from daemon.parse.text_dump import parse_text

__all__ = ["parse_document", "sniff", "decode"]

_JSON_ARRAY = re.compile(r'\[\s*([\[{"\]\d-]|true|false|null|$)')  # not "[Re] A title"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode(data: bytes, name: str) -> str:
    """UTF-8 text with any BOM removed; binary content is a ParseError."""
    if not data.strip():
        raise ParseError(f"{name}: empty document")
    if b"\x00" in data:
        raise ParseError(f"{name}: binary content (NUL bytes), not a digest")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name}: not UTF-8 text (byte {exc.start}), not a digest") from None
    if _CONTROL.search(text, 0, 4096):
        raise ParseError(f"{name}: binary content (control characters), not a digest")
    return text


def sniff(text: str) -> str:
    """'json', 'html' or 'text', from the first meaningful characters."""
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


def parse_document(data: bytes, name: str, ref_time: datetime) -> Digest:
    """Parse one document. `ref_time` (file mtime or fetch time) resolves yearless days."""
    text = decode(data, name)
    kind = sniff(text)
    if kind == "json":
        return parse_json(text, name)
    if kind == "html":
        return parse_html(text, name, ref_time)
    return parse_text(text, name, ref_time)
