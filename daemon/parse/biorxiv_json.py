"""bioRxiv's and medRxiv's API answers (`api.biorxiv.org/details/...`): one record per
posted version; a paper is its DOI (the same for every version), its day the date of
its first version, and a version after the first is arXiv's "replace": it updates the
stored paper quietly. Every value is a string, counts included."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, clean_text, doi
from daemon.parse import json_text
from daemon.parse.formats import NAMED, Format, read_records, register_format, whole

HOSTS = {"biorxiv": "https://www.biorxiv.org", "medrxiv": "https://www.medrxiv.org"}


def looks_like_biorxiv(head: str) -> bool:
    head = head.lstrip()
    return head[:1] == "{" and '"messages"' in head and '"collection"' in head


def parse_biorxiv(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    try:
        doc = json_text.loads(data)
        records = doc["collection"]
        if not isinstance(records, list):
            raise TypeError("collection is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"{name}: not a bioRxiv/medRxiv API answer ({exc})") from None
    read, skipped = read_records(records, _paper, name)
    versions: dict[str, list[Paper]] = {}  # a listing may hold several versions of one
    for paper in read:
        if paper.doi:
            versions.setdefault(paper.doi, []).append(paper)
    newest = tuple(_newest(found) for found in versions.values())
    return whole("biorxiv", (newest, skipped))


def _newest(found: list[Paper]) -> Paper:
    """The newest version's text; new (with its day) if the first version is among them."""
    newest = max(found, key=lambda p: p.version or 0)
    first = next((p for p in found if p.announce == "new"), None)
    if first is None or first is newest:
        return newest
    return replace(newest, announce="new", announced=first.announced)


def _paper(record: Any) -> Paper | None:
    """A version's record as a paper; None for one without a DOI or a title."""
    if not isinstance(record, dict):
        return None
    ident, title = doi(str(record.get("doi", ""))), clean_text(str(record.get("title", "")))
    if ident is None or not title:
        return None
    version = _version(str(record.get("version", "")))
    server = str(record.get("server", "")).lower()
    host = HOSTS.get(server, HOSTS["biorxiv"])
    posted = _day(str(record.get("date", "")))
    first = version in (None, 1)
    return Paper(
        title=title,
        abstract=clean_text(str(record.get("abstract", ""))),
        authors=tuple(a.strip() for a in str(record.get("authors", "")).split(";") if a.strip()),
        doi=ident,
        url=f"{host}/content/{ident}v{version}" if version else f"{host}/content/{ident}",
        version=version,
        announce="new" if first else "replace",
        categories=(str(record["category"]),) if record.get("category") else (),
        announced=posted if first else None,  # the paper's day: its first version's
    )


def _version(text: str) -> int | None:
    """A version number as the API writes it ("2"); anything else ("²", twenty digits,
    "v2") is no version: the record is still read."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 6 else None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


FORMAT = register_format(Format("biorxiv", NAMED, looks_like_biorxiv, parse_biorxiv))
