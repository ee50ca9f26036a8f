"""Papers as BibTeX entries, for the BibTeX output and the page's exports."""

from __future__ import annotations

import re

from daemon.core.models import key_hash, title_key
from daemon.store.rows import StoredPaper

_UNSAFE = re.compile(r"[^\w.-]+")


def cite_key(paper: StoredPaper) -> str:
    """A citation key from the paper's identity: arXiv_2608.18082, doi_10.1101_..., or
    a title hash."""
    if paper.arxiv_id:
        return "arXiv_" + _UNSAFE.sub("_", paper.arxiv_id)
    if paper.doi:
        return "doi_" + _UNSAFE.sub("_", paper.doi)
    if paper.pmid:
        return f"pmid_{paper.pmid}"
    return f"paper_{key_hash(title_key(paper.title)):x}"


def entry(key: str, paper: StoredPaper, note: str = "") -> str:
    """One `@misc` entry: title, authors, year and month of its day, arXiv eprint, DOI,
    PMID and PMC id, link, abstract, and `note`."""
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
    if paper.pmid:
        fields.append(("pmid", paper.pmid))
    if paper.pmcid:
        fields.append(("pmcid", paper.pmcid))
    if link := paper.link:
        fields.append(("url", link))
    if paper.abstract:
        fields.append(("abstract", paper.abstract))
    if note:
        fields.append(("note", note))
    body = ",\n".join(f"  {name} = {{{_escape(value)}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n\n"


_SPECIAL = re.compile(r"[\\{}%&#_$@^~]")
# each a command whose own braces balance: BibTeX counts braces whatever precedes them
# (`\}` would end a field, and what follows it would be read as entries: `@preamble{...}`
# runs in the user's document), `@` starts an entry for some readers, `^^5c` is a
# backslash to TeX
_LITERAL = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "@": r"{\char64}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    **{c: "\\" + c for c in "%&#_$"},
}


def _escape(text: str) -> str:
    """What the text says, as BibTeX and LaTeX read it literally, in one pass: no brace,
    backslash or `@` of the text's own survives, so a field ends where it should and no
    text becomes a command or an entry; line breaks become spaces."""
    return _SPECIAL.sub(lambda m: _LITERAL[m.group()], " ".join(text.split()))
