"""Semantic Scholar's Graph API answers listing papers: a paper's citations
(`{"offset", "next", "data": [{"citingPaper": {...}}]}`) or references (`citedPaper`).

A paper is known by the ids S2 lists for it (`externalIds`: `ArXiv` without version,
`DOI`, `PubMed`, `PubMedCentral`); one with none of these by its title. `abstract` and
`publicationDate` are often null: such a paper is title-only, its day unknown.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from daemon.core.errors import ParseError
from daemon.core.models import (
    Digest,
    Paper,
    abs_url,
    arxiv_id,
    clean_text,
    doi,
    doi_url,
    pmcid,
    pmid,
)
from daemon.parse import json_text
from daemon.parse.formats import NAMED, Format, read_records, register_format, whole

_WRAPS = ("citingPaper", "citedPaper")


def looks_like_s2(head: str) -> bool:
    head = head.lstrip()
    return head[:1] == "{" and any(f'"{w}"' in head for w in _WRAPS)


def parse_s2(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    try:
        records = json_text.loads(data)["data"]
        if not isinstance(records, list):
            raise TypeError("data is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"{name}: not a Semantic Scholar answer ({exc})") from None
    return whole("s2", read_records(records, _paper, name))


def _paper(record: Any) -> Paper | None:
    found = next((record[w] for w in _WRAPS if isinstance(record.get(w), dict)), None)
    if found is None:
        return None
    title = clean_text(str(found.get("title") or ""))
    if not title:
        return None
    ids = found.get("externalIds") if isinstance(found.get("externalIds"), dict) else {}
    arxiv = arxiv_id(str(ids.get("ArXiv") or ""))
    known_doi = doi(str(ids.get("DOI") or ""))
    central = str(ids.get("PubMedCentral") or "")
    return Paper(
        title=title,
        abstract=clean_text(str(found.get("abstract") or "")),
        authors=tuple(
            clean_text(str(a.get("name") or ""))
            for a in found.get("authors") or []
            if isinstance(a, dict) and a.get("name")
        ),
        arxiv_id=arxiv,
        doi=known_doi,
        pmid=pmid(str(ids.get("PubMed") or "")),
        pmcid=pmcid(central if central.upper().startswith("PMC") else f"PMC{central}"),
        url=abs_url(arxiv) if arxiv else doi_url(known_doi) if known_doi else found.get("url"),
        announced=_day(found.get("publicationDate")),
    )


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


FORMAT = register_format(Format("s2", NAMED, looks_like_s2, parse_s2))
