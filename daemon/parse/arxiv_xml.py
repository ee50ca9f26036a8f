"""arXiv's XML: the daily RSS 2.0 feed, the legacy RSS 1.0/RDF feed (before 2024), API
Atom responses and OAI-PMH records (`metadataPrefix=arXiv`).

Parsed with the standard library's ElementTree: these are four small, regular formats
whose arXiv-specific fields (`arxiv:announce_type`, OAI's `arXiv` records) a generic feed
library would hand back as loosely named extras, and ElementTree's C parser is the speed
baseline the benchmark measures against. Expat (>= 2.4.1, checked below) refuses entity
amplification ("billion laughs") and ElementTree never loads external entities.
"""

from __future__ import annotations

import html
import pyexpat
import re
import xml.etree.ElementTree as ET
from datetime import date
from email.utils import parsedate_to_datetime

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, abs_url, arxiv_id, clean_text
from daemon.parse.formats import NAMED, Format, read_records, register_format, whole

if pyexpat.version_info < (2, 4, 1):
    raise ImportError(
        f"expat {pyexpat.EXPAT_VERSION} lacks entity-amplification protection (2.4.1 or later)"
    )

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_ARXIV = "{http://arxiv.org/OAI/arXiv/}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

_VERSIONED = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z.-]+/\d{7})v(\d+)", re.IGNORECASE)
_ANNOUNCE = re.compile(r"Announce Type:\s*([a-z-]+)")
_LEGACY_TITLE = re.compile(
    r"^(.*)\.\s*\(arXiv:(\S+?)\s*\[([^\]]+)\]\s*(UPDATED|CROSS LISTED)?\)\s*$", re.S
)
_FEED_CATEGORY = re.compile(r"^(\S+) updates on arXiv\.org")
_TAG = re.compile(r"<[^>]+>")
_TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")


def is_arxiv_xml(head: str) -> bool:
    """A document whose head looks like one of the four formats (for `sniff`)."""
    head = head.lstrip("\ufeff \t\r\n")
    if not head.startswith("<"):
        return False
    return (
        "<rss" in head
        or "<rdf:RDF" in head
        or "<OAI-PMH" in head
        or ("<feed" in head and "arxiv" in head.lower())
    )


def parse_arxiv(data: bytes | bytearray, name: str) -> Digest:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ParseError(f"{name}: invalid or truncated XML ({exc})") from None
    if root.tag == "rss":
        return _rss(root, name)
    if root.tag == f"{RDF}RDF":
        return _rdf(root, name)
    if root.tag == f"{ATOM}feed":
        return _api(root, name)
    if root.tag == f"{OAI}OAI-PMH":
        return _oai(root, name)
    raise ParseError(f"{name}: XML that is not an arXiv feed, API or OAI-PMH response")


def resumption_token(data: bytes) -> str | None:
    """The OAI-PMH resumptionToken of a ListRecords page; None on the last page."""
    m = _TOKEN.search(data)
    return html.unescape(m.group(1).decode()).strip() or None if m else None


def _text(el: ET.Element | None) -> str:
    return clean_text("".join(el.itertext())) if el is not None else ""


def _versioned(raw: str) -> tuple[str | None, int | None]:
    """('2608.18082', 1) from 'oai:arXiv.org:2608.18082v1' or 'http://arxiv.org/abs/...v1'."""
    m = _VERSIONED.search(raw)
    if m:
        version = m.group(2)  # a version beyond any real one (v99999999999999999999) is none
        return m.group(1), int(version) if len(version) <= 6 else None
    return arxiv_id(raw.rsplit("/", 1)[-1].removeprefix("oai:arXiv.org:")), None


def _authors(text: str) -> tuple[str, ...]:
    return tuple(a for a in (clean_text(p) for p in text.split(",")) if a)


def _paper(
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    ident: str | None,
    version: int | None,
    announce: str,
    categories: tuple[str, ...],
    day: date | None,
    name: str,
) -> Paper:
    if not title:
        raise ParseError(f"{name}: an entry ({ident or 'no id'}) has no title")
    return Paper(
        title=title,
        abstract=abstract,
        authors=authors,
        arxiv_id=ident,
        url=abs_url(ident) if ident else None,
        version=version,
        announce=announce,
        categories=categories,
        announced=day,
    )


def _feed_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def _rss(root: ET.Element, name: str) -> Digest:
    channel = root.find("channel")
    if channel is None:
        raise ParseError(f"{name}: RSS without a channel")
    day = _feed_day(channel.findtext("pubDate")) or _feed_day(channel.findtext("lastBuildDate"))

    def read(item: ET.Element) -> Paper:
        ident, version = _versioned(item.findtext("guid") or item.findtext("link") or "")
        description = item.findtext("description") or ""
        announce = item.findtext(f"{ARXIV}announce_type") or ""
        if not announce:
            m = _ANNOUNCE.search(description)
            announce = m.group(1) if m else "new"
        _, _, abstract = description.partition("Abstract:")
        return _paper(
            _text(item.find("title")),
            clean_text(abstract),
            _authors(item.findtext(f"{DC}creator") or ""),
            ident,
            version,
            announce.strip(),
            tuple(c.text.strip() for c in item.iter("category") if c.text),
            _first_day(announce.strip(), day),
            name,
        )

    return whole("arxiv_rss", read_records(channel.iter("item"), read, name), page_day=day)


def _rdf(root: ET.Element, name: str) -> Digest:
    """The legacy feed: the kind of an item is in its title, "(arXiv:ID [cat] UPDATED)"."""
    channel = root.find(f"{RSS1}channel")
    feed_title = channel.findtext(f"{RSS1}title", "") if channel is not None else ""
    m = _FEED_CATEGORY.match(feed_title)
    feed_category = m.group(1) if m else ""
    stamp = channel.findtext(f"{DC}date") if channel is not None else None
    day = _iso_day(stamp) if stamp else None

    def read(item: ET.Element) -> Paper:
        raw_title = clean_text(item.findtext(f"{RSS1}title") or "")
        found = _LEGACY_TITLE.match(raw_title)
        if not found:
            raise ParseError(f"{name}: legacy feed item without '(arXiv:ID [category])'")
        title, versioned, category, note = found.groups()
        ident, version = _versioned(versioned)
        cross = note == "CROSS LISTED" or (bool(feed_category) and category != feed_category)
        if note == "UPDATED":
            announce = "replace-cross" if cross else "replace"
        else:
            announce = "cross" if cross else "new"
        description = _TAG.sub(" ", item.findtext(f"{RSS1}description") or "")
        creators = _TAG.sub("", html.unescape(item.findtext(f"{DC}creator") or ""))
        return _paper(
            clean_text(title),
            clean_text(html.unescape(description)),
            _authors(creators),
            ident,
            version,
            announce,
            (category,),
            _first_day(announce, day),
            name,
        )

    return whole("arxiv_rdf", read_records(root.iter(f"{RSS1}item"), read, name), page_day=day)


def _api(root: ET.Element, name: str) -> Digest:
    """An API answer; an error comes as a feed with one entry titled "Error"."""
    entries = list(root.iter(f"{ATOM}entry"))
    for entry in entries:
        if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
            detail = _text(entry.find(f"{ATOM}summary")) or _text(entry.find(f"{ATOM}title"))
            raise ParseError(f"{name}: the arXiv API answered an error: {detail}")
    if not entries and root.find(f"{OPENSEARCH}totalResults") is None:
        raise ParseError(f"{name}: an Atom feed that is not an arXiv API answer")

    def read(entry: ET.Element) -> Paper:
        ident, version = _versioned(entry.findtext(f"{ATOM}id") or "")
        published = entry.findtext(f"{ATOM}published") or ""
        return _paper(
            _text(entry.find(f"{ATOM}title")),
            _text(entry.find(f"{ATOM}summary")),
            tuple(_text(a.find(f"{ATOM}name")) for a in entry.iter(f"{ATOM}author")),
            ident,
            version,
            "new" if version in (None, 1) else "replace",
            tuple(c.get("term", "") for c in entry.iter(f"{ATOM}category") if c.get("term")),
            _iso_day(published),
            name,
        )

    return whole("arxiv_api", read_records(entries, read, name))


def _oai(root: ET.Element, name: str) -> Digest:
    """OAI-PMH records in arXiv's format. A record without `updated` is a first version
    (new in its primary category, a cross-list in the others); with it, a replacement."""
    error = root.find(f"{OAI}error")
    if error is not None and error.get("code") != "noRecordsMatch":
        raise ParseError(f"{name}: OAI-PMH error {error.get('code')}: {_text(error)}")

    def read(record: ET.Element) -> Paper | None:
        header = record.find(f"{OAI}header")
        if header is not None and header.get("status") == "deleted":
            return None
        meta = record.find(f"{OAI}metadata/{OAI_ARXIV}arXiv")
        if meta is None:
            return None
        ident = arxiv_id(meta.findtext(f"{OAI_ARXIV}id"))
        authors = []
        for author in meta.iter(f"{OAI_ARXIV}author"):
            parts = (
                author.findtext(f"{OAI_ARXIV}forenames"),
                author.findtext(f"{OAI_ARXIV}keyname"),
                author.findtext(f"{OAI_ARXIV}suffix"),
            )
            authors.append(clean_text(" ".join(p for p in parts if p)))
        updated = meta.findtext(f"{OAI_ARXIV}updated")
        created = meta.findtext(f"{OAI_ARXIV}created") or ""
        return _paper(
            _text(meta.find(f"{OAI_ARXIV}title")),
            _text(meta.find(f"{OAI_ARXIV}abstract")),
            tuple(a for a in authors if a),
            ident,
            None,
            "replace" if updated else "new",
            tuple((meta.findtext(f"{OAI_ARXIV}categories") or "").split()),
            _iso_day(created),  # the first version's day: close to its announcement
            name,
        )

    return whole("arxiv_oai", read_records(root.iter(f"{OAI}record"), read, name))


def _first_day(announce: str, day: date | None) -> date | None:
    """A feed item's day as the paper's: the feed's day for a new paper or a cross-list;
    none for a replacement (announced today, first posted months ago: its id's month
    says when)."""
    return None if announce.startswith("replace") else day


def _iso_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


FORMAT = register_format(
    Format(
        "arxiv",
        NAMED,
        lambda head: is_arxiv_xml(head[:1024]),
        lambda data, name, ref_time: parse_arxiv(data, name),
    )
)
