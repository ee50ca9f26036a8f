"""Papers as BibTeX entries, for the BibTeX output and the page's exports."""

from __future__ import annotations

import re

from daemon.models import key_hash, title_key
from daemon.store.rows import StoredPaper

_UNSAFE = re.compile(r"[^\w.-]+")


def cite_key(paper: StoredPaper) -> str:
    """A citation key from the paper's identity: arXiv_2608.18082, doi_10.1101_..., or
    a title hash."""
    if paper.arxiv_id:
        return "arXiv_" + _UNSAFE.sub("_", paper.arxiv_id)
    if paper.doi:
        return "doi_" + _UNSAFE.sub("_", paper.doi)
    return f"paper_{key_hash(title_key(paper.title)):x}"


def entry(key: str, paper: StoredPaper, note: str = "") -> str:
    """One `@misc` entry: title, authors, year and month of its day, arXiv eprint, DOI,
    link, abstract, and `note`."""
    day = paper.day or ""
    fields: list[tuple[str, str]] = [("title", paper.title)]
    if paper.authors:
        fields.append(("author", " and ".join(paper.authors)))
    if day:
        fields += [("year", day[:4]), ("month", str(int(day[5:7])))]  # known to the month
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
    if paper.doi:
        fields.append(("doi", paper.doi))
    if link := paper.link:
        fields.append(("url", link))
    if paper.abstract:
        fields.append(("abstract", paper.abstract))
    if note:
        fields.append(("note", note))
    body = ",\n".join(f"  {name} = {{{_escape(value)}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n\n"


_SPECIAL = re.compile(r"[\\{}%&#_$]")
_LITERAL = {"\\": r"\textbackslash{}", **{c: "\\" + c for c in "{}%&#_$"}}


def _escape(text: str) -> str:
    """The characters LaTeX treats specially made literal, in one pass: braces balanced
    whatever the text holds (a lone brace would end the field)."""
    return _SPECIAL.sub(lambda m: _LITERAL[m.group()], text)
