"""PubMed's efetch XML (`PubmedArticleSet`): one `PubmedArticle` per paper, known by its
PMID, and by its DOI when it has one (journals' papers meet their Crossref and preprint
rows by it).

What is read, and where (checked against real answers, tests/fixtures/pubmed):
- the title and each `AbstractText`, with their inline markup (`<i>`, `<sup>`) read as
  text; a structured abstract's sections keep their labels ("METHODS: ...");
- the article's own ids in `PubmedData/ArticleIdList` only: a `ReferenceList` holds the
  ids of the papers it cites, under the same element names;
- the paper's day: its electronic publication (`ArticleDate`), else the issue's date,
  else the day PubMed listed it.
A record without an abstract is title-only (matched three-valued, as any other).
"""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from datetime import date, datetime

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, clean_text, doi, pmcid, pmid, pubmed_url
from daemon.language.people import orcid
from daemon.parse import arxiv_xml  # noqa: F401 (its check of expat's entity protection)
from daemon.parse.formats import NAMED, Format, read_records, register_format, whole

_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}  # "Jan": 1


def looks_like_pubmed(head: str) -> bool:
    return "<PubmedArticleSet" in head or "DTD PubMedArticle" in head


def parse_pubmed(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    try:
        root = ET.fromstring(bytes(data))
    except ET.ParseError as exc:
        raise ParseError(f"{name}: not PubMed XML ({exc})") from None
    if root.tag != "PubmedArticleSet":
        raise ParseError(f"{name}: not a PubmedArticleSet (<{root.tag}>)")
    return whole("pubmed", read_records(root.iter("PubmedArticle"), _paper, name))


def _paper(article: ET.Element) -> Paper | None:
    citation = article.find("MedlineCitation")
    if citation is None:
        return None
    body = citation.find("Article")
    ids = {
        e.get("IdType", ""): (e.text or "").strip()
        for e in article.findall("PubmedData/ArticleIdList/ArticleId")
    }
    ident = pmid(ids.get("pubmed") or _text(citation.find("PMID")))
    if body is None or ident is None:
        return None
    title = clean_text(_text(body.find("ArticleTitle")) or _text(body.find("VernacularTitle")))
    if not title:
        return None
    located = [e for e in body.findall("ELocationID") if e.get("EIdType") == "doi"]
    authors = [(_author(a), a) for a in body.findall("AuthorList/Author")]
    return Paper(
        title=title[:-1] if title.endswith(".") and not title.endswith("..") else title,
        abstract=_abstract(body),
        authors=tuple(name for name, _ in authors if name),
        orcids=tuple((name, i) for name, a in authors if name and (i := _orcid(a))),
        doi=doi(ids.get("doi") or (_text(located[0]) if located else "")),
        pmid=ident,
        pmcid=pmcid(ids.get("pmc")),
        url=pubmed_url(ident),
        announced=_day(article, body),
    )


def _text(element: ET.Element | None) -> str:
    """An element's text with its inline markup's (`<i>`, `<sup>`), whitespace collapsed."""
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _abstract(body: ET.Element) -> str:
    parts = []
    for section in body.findall("Abstract/AbstractText"):
        text, label = _text(section), (section.get("Label") or "").strip()
        if text:
            parts.append(f"{label}: {text}" if label and label.upper() != "UNLABELLED" else text)
    return clean_text(" ".join(parts))


def _author(author: ET.Element) -> str:
    if author.get("ValidYN") == "N":
        return ""
    collective = _text(author.find("CollectiveName"))
    if collective:
        return collective
    first = _text(author.find("ForeName")) or _text(author.find("Initials"))
    return " ".join(p for p in (first, _text(author.find("LastName"))) if p)


def _orcid(author: ET.Element) -> str | None:
    for found in author.findall("Identifier"):
        if found.get("Source") == "ORCID":
            return orcid(found.text)
    return None


def _day(article: ET.Element, body: ET.Element) -> date | None:
    electronic = [d for d in body.findall("ArticleDate") if d.get("DateType") == "Electronic"]
    listed = [
        d
        for d in article.findall("PubmedData/History/PubMedPubDate")
        if d.get("PubStatus") in ("entrez", "pubmed")
    ]
    for found in (*electronic, body.find("Journal/JournalIssue/PubDate"), *listed):
        day = _date(found)
        if day is not None:
            return day
    return None


def _date(element: ET.Element | None) -> date | None:
    """Year, month and day elements (the month a number or "Dec"; a missing day: the
    first) as a date; None without a full year and month."""
    if element is None:
        return None
    year, month = _text(element.find("Year")), _text(element.find("Month")).lower()
    day = _text(element.find("Day")) or "1"
    number = int(month) if month.isdecimal() else _MONTHS.get(month[:3].title())
    try:
        return date(int(year), number or 0, int(day))
    except ValueError:
        return None


FORMAT = register_format(Format("pubmed", NAMED, looks_like_pubmed, parse_pubmed))
