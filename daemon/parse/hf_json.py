"""Hugging Face JSON: /api/daily_papers arrays, hydration props, single-paper objects."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, arxiv_id, clean_text, paper_url
from daemon.parse import json_text
from daemon.parse.days import parse_iso_day
from daemon.parse.formats import SHAPE, Format, read_records, register_format, whole


def parse_json(text: str, name: str) -> Digest:
    try:
        data = json_text.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{name}: invalid or truncated JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None
    except RecursionError:
        raise ParseError(f"{name}: JSON nested too deeply to be a digest") from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise ParseError(f"{name}: JSON with an unreadable value ({exc})"[:300]) from None
    if isinstance(data, dict) and "dailyPapers" in data:
        read = entries_to_papers(data["dailyPapers"], name, "dailyPapers")
        return whole("hf_json", read, page_day=parse_iso_day(data.get("dateString")))
    if isinstance(data, dict) and isinstance(data.get("paper"), dict):
        return Digest("hf_json", (entry_to_paper(data, name, "$"),))
    if isinstance(data, dict) and "id" in data and "title" in data:
        return Digest("hf_json", (entry_to_paper({"paper": data}, name, "$"),))
    if not isinstance(data, list):
        raise ParseError(
            f"{name}: JSON of the wrong shape: expected a list of daily-papers "
            f"entries or an object with 'dailyPapers', got {type(data).__name__}"
        )
    digest = whole("hf_json", entries_to_papers(data, name, "$"))
    days = {p.hf_day for p in digest.papers}
    return replace(digest, page_day=days.pop() if len(days) == 1 else None)


def entries_to_papers(
    entries: Any, name: str, where: str
) -> tuple[tuple[Paper, ...], tuple[str, ...]]:
    """(papers, reasons): each entry read alone, one that cannot be is skipped."""
    if not isinstance(entries, list):
        raise ParseError(f"{name}: JSON of the wrong shape: {where} is not a list")
    numbered = enumerate(entries)
    return read_records(numbered, lambda e: entry_to_paper(e[1], name, f"{where}[{e[0]}]"), name)


def _wrong(name: str, where: str, what: str) -> ParseError:
    return ParseError(f"{name}: JSON of the wrong shape: {where} {what}")


def entry_to_paper(entry: Any, name: str, where: str) -> Paper:
    """One API entry ({paper: {...}, ...}) or a bare paper object to a Paper."""
    if not isinstance(entry, dict):
        raise _wrong(name, where, "is not an object")
    paper = entry.get("paper", entry)
    if not isinstance(paper, dict):
        raise _wrong(name, where, ".paper is not an object")
    title = paper.get("title", entry.get("title"))
    if not isinstance(title, str) or not clean_text(title):
        raise _wrong(name, where, "has no title")
    summary = paper.get("summary", entry.get("summary")) or ""
    if not isinstance(summary, str):
        raise _wrong(name, where, ".summary is not a string")
    raw_id = paper.get("id")
    ident = arxiv_id(raw_id) if isinstance(raw_id, str) else None
    authors = paper.get("authors") or []
    if not isinstance(authors, list):
        raise _wrong(name, where, ".authors is not a list")
    names = tuple(
        clean_text(a["name"])
        for a in authors
        if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip()
    )
    upvotes = paper.get("upvotes")
    return Paper(
        title=clean_text(title),
        abstract=clean_text(summary),
        authors=names,
        arxiv_id=ident,
        hf_day=parse_iso_day(paper.get("submittedOnDailyAt")),
        announced=parse_iso_day(paper.get("publishedAt")),  # on arXiv: the paper's own day
        upvotes=upvotes if _count(upvotes) else None,
        url=paper_url(ident) if ident else None,
    )


def _count(value: object) -> bool:
    """A count SQLite can hold (an int, not a bool, not absurd)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


_JSON_ARRAY = re.compile(r'\[\s*([\[{"\]\d-]|true|false|null|$)')  # not "[Re] A title"


def looks_like_json(head: str) -> bool:
    """An object or an array of values (a text dump's "[Re] A title" line is not)."""
    head = head.lstrip()[:512]
    return head[:1] == "{" or _JSON_ARRAY.match(head) is not None


FORMAT = register_format(
    Format(
        "hf_json",
        SHAPE,
        looks_like_json,
        lambda data, name, ref_time: parse_json(data.decode("utf-8-sig"), name),
    )
)
