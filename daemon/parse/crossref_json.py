"""Crossref's REST API answers (`/works`): a list of works (`work-list`) or one (`work`),
each known by its DOI (Crossref sends DOIs lower-cased).

`title` is a list, and may carry markup (`<i>`, MathML); `abstract`, on some works only,
is a JATS string (`<jats:title>Abstract</jats:title><jats:p>...`): both become plain
text, a section's title kept as its label. The paper's day is the earliest of its
online, print and posted dates and the day Crossref registered it (`created`); the
`indexed` and `deposited` dates move whenever a record is touched and never count.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, clean_text, doi, doi_url
from daemon.language.people import orcid
from daemon.parse import json_text
from daemon.parse.formats import NAMED, Format, read_records, register_format, whole

_SECTION_TITLE = re.compile(r"<(?:jats:)?title[^>]*>([^<]*)</(?:jats:)?title>", re.IGNORECASE)
_BREAK = re.compile(r"</(?:jats:)?(?:p|sec|list-item)>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_DATED = ("published-online", "published-print", "posted", "created")


def looks_like_crossref(head: str) -> bool:
    head = head.lstrip()
    return head[:1] == "{" and '"message-type"' in head and '"work' in head


def parse_crossref(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    try:
        doc = json_text.loads(data)
        kind, message = doc["message-type"], doc["message"]
        items = message["items"] if kind == "work-list" else [message]
        if kind not in ("work-list", "work") or not isinstance(items, list):
            raise TypeError(f"message-type {str(kind)[:40]!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"{name}: not a Crossref works answer ({exc})") from None
    return whole("crossref", read_records(items, _paper, name))


def _paper(item: Any) -> Paper | None:
    if not isinstance(item, dict):
        return None
    ident = doi(str(item.get("DOI", "")))
    titles = item.get("title") or []
    title = plain(str(titles[0])) if isinstance(titles, list) and titles else ""
    if ident is None or not title:
        return None
    people = item.get("author") or []
    authors = [(_author(a), a) for a in people] if isinstance(people, list) else []
    return Paper(
        title=title,
        abstract=plain(str(item.get("abstract") or "")),
        authors=tuple(name for name, _ in authors if name),
        orcids=tuple(
            (name, i)
            for name, a in authors
            if name and isinstance(a, dict) and (i := orcid(str(a.get("ORCID") or "")))
        ),
        doi=ident,
        url=doi_url(ident),
        announced=_day(item),
    )


def plain(jats: str) -> str:
    """JATS or HTML markup as plain text: tags dropped, entities read, a section's title
    kept as its label ("Methods: ..."), the word "Abstract" heading it left out."""
    if "<" not in jats and "&" not in jats:
        return clean_text(jats)

    def label(m: re.Match[str]) -> str:
        words = " ".join(m.group(1).split())
        return "" if words.lower().rstrip(":") in ("", "abstract", "summary") else f" {words}: "

    text = _TAG.sub(" ", _BREAK.sub(" ", _SECTION_TITLE.sub(label, jats)))
    return clean_text(html.unescape(text)).replace(" :", ":")


def _author(author: Any) -> str:
    if not isinstance(author, dict):
        return ""
    if author.get("name"):  # a consortium
        return clean_text(str(author["name"]))
    return clean_text(f"{author.get('given') or ''} {author.get('family') or ''}")


def _day(item: dict[str, Any]) -> date | None:
    found = [d for d in map(_date, (item.get(k) for k in _DATED)) if d]
    return min(found) if found else None


def _date(field: Any) -> date | None:
    """`{"date-parts": [[2024, 9, 4]]}` (the month or day may be missing: the first)."""
    try:
        parts = [int(p) for p in field["date-parts"][0] if p is not None]
        if len(parts) < 2:
            return None
        return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)
    except (TypeError, KeyError, IndexError, ValueError, OverflowError):
        return None


FORMAT = register_format(Format("crossref", NAMED, looks_like_crossref, parse_crossref))
