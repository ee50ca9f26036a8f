"""Identity policy: which stored paper a parsed paper is, and what a sighting adds to it.

A paper is known by its arXiv id (without version), its DOI and its PubMed id when known
(arXiv's own DOI is its arXiv id), else by its normalised title: a sighting is the stored
paper any of its identifiers agrees with. A title-only paper that later shows up with an
id is the same row, the id attached (and a DOI-only one that shows up with its arXiv id);
two papers with different ids and the same title stay two papers. When a sighting's
identifiers name several stored rows (a PubMed record's PMID one row, its DOI the
journal's row), the rows become one: the oldest keeps everything each had.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from daemon.core.log import event
from daemon.core.models import Paper, has_words, identifiers, key_hash, paper_day
from daemon.language.latex import braced_greek, dashes, has_latex, to_unicode
from daemon.store import Store

_to_json = json.JSONEncoder(ensure_ascii=False).encode

# whether the source a paper was seen in speaks for it (arXiv for arXiv ids, bioRxiv for
# its DOIs): only such a sighting's newer version replaces a stored paper's text
Authority = Callable[[Paper], bool]


def no_authority(paper: Paper) -> bool:
    return False


@dataclass
class Merged:
    """Stored ids of a document's papers, in order, and which of them are new or gained."""

    ids: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    gained: list[int] = field(default_factory=list)

    def add(self, other: Merged) -> None:
        self.ids += other.ids
        self.new += [i for i in other.new if i not in self.new]
        self.gained += [i for i in other.gained if i not in self.gained]


def store_papers(
    store: Store,
    papers: list[Paper],
    stamp: str,
    alert_replacements: bool = False,
    authority: Authority = no_authority,
) -> Merged:
    """Insert new papers and fill what stored ones lack; the caller holds the transaction
    and has made each paper `as_stored`.

    A paper first seen as a new version of itself (arXiv's `replace`) is stored but not
    new, unless `alert_replacements`: a fresh install must not alert on old papers. A
    version number counts only from a source with `authority` over the paper: any other
    adds a sighting and fills what is missing, never replaces text."""
    repo = store.papers
    papers = [  # replace() only where it changes something: this is every paper stored
        replace(p, version=None) if p.version is not None and not authority(p) else p
        for p in papers
    ]
    keys = [p.key for p in papers]
    hashes = {k: key_hash(k) for k in keys}
    wanted = set(keys)
    stored = [
        r
        for r in repo.candidates(
            (p.arxiv_id for p in papers if p.arxiv_id),
            hashes.values(),
            (p.doi for p in papers if p.doi),
            (p.pmid for p in papers if p.pmid),
        )
        if r["arxiv_id"] or r["doi"] or r["pmid"] or r["title_key"] in wanted
    ]
    by: dict[str, dict[str, dict[str, Any]]] = {
        ident: {r[ident]: r for r in stored if r[ident]} for ident in IDENTIFIERS
    }
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in stored:
        by_key.setdefault(r["title_key"], []).append(r)
    next_id = repo.max_id()
    fresh: dict[int, dict[str, Any]] = {}
    changed: dict[int, dict[str, Any]] = {}
    absorbed: dict[int, int] = {}  # a stored row made one with another: its id -> the other's
    merged = Merged()
    for paper, key in zip(papers, keys, strict=True):
        named = _named(paper, by)
        if len(named) > 1 and _one_paper(named, fresh):
            keep, *gone = sorted(named, key=lambda r: int(r["id"]))
            for other in gone:
                if _fold(keep, other) and keep["id"] not in merged.gained:
                    merged.gained.append(keep["id"])
                absorbed[other["id"]] = keep["id"]
                changed.pop(other["id"], None)
                for key_rows in by_key.values():
                    key_rows[:] = [r for r in key_rows if r is not other]
            changed[keep["id"]] = keep
            named = [keep]
        row = named[0] if named else None
        if row is None:  # a title match is this paper only if it has no other id
            same_title = [r for r in by_key.get(key, []) if _may_be(r, paper)]
            row = same_title[0] if same_title else None
        # an identifier another paper has stays with that one
        if paper.doi and by["doi"].get(paper.doi, row) is not row:
            paper = replace(paper, doi=None)
        if paper.pmid and by["pmid"].get(paper.pmid, row) is not row:
            paper = replace(paper, pmid=None)
        if row is None:
            next_id += 1
            row = fresh[next_id] = _row(next_id, paper, key)
            by_key.setdefault(key, []).append(row)
        elif row["id"] not in fresh:
            was_changed, gained = _merge(row, paper)
            if was_changed:
                changed[row["id"]] = row
            if gained and row["id"] not in merged.gained:
                merged.gained.append(row["id"])
            if not any(r is row for r in by_key.setdefault(key, [])):
                by_key[key].append(row)
        for ident in IDENTIFIERS:
            if row[ident]:
                by[ident][row[ident]] = row
        merged.ids.append(row["id"])
    for row in [*fresh.values(), *changed.values()]:
        row["day"] = paper_day(row["announced"], row["hf_day"], row["arxiv_id"])
    store.absorb(absorbed)  # first: the DOI's unique index frees it for the row kept
    repo.insert(list(fresh.values()), hashes, stamp)
    repo.update(changed.values(), stamp)
    merged.ids = [absorbed.get(i, i) for i in merged.ids]
    merged.gained = sorted({absorbed.get(i, i) for i in merged.gained})
    quiet = set() if alert_replacements else {i for i in fresh if fresh[i]["quiet"]}
    merged.new = sorted(fresh.keys() - quiet)  # the quiet ones are stored, not new
    return merged


def as_stored(paper: Paper) -> Paper:
    """The paper as it is stored: its identifiers (arXiv's DOI as its arXiv id), its
    title, abstract and names in Unicode rather than LaTeX. Done before the write
    transaction (conversion is the slow part of a paper); markup that cannot be
    converted, or a title it would leave without a word, is kept as written."""
    arxiv, doi = identifiers(paper.arxiv_id, paper.doi)
    changed = arxiv != paper.arxiv_id or doi != paper.doi
    title, abstract, authors = paper.title, paper.abstract, paper.authors
    if "--" in title or "--" in abstract:  # TeX's dashes: Vision–language
        title, abstract, changed = dashes(title), dashes(abstract), True
    if "{" in title or "{" in abstract:  # bioRxiv's "TGF{beta}": TGFβ
        title, abstract, changed = braced_greek(title), braced_greek(abstract), True
    if has_latex(title, abstract, *authors):
        try:
            converted = to_unicode(title)
            title, abstract, authors, changed = (
                converted if has_words(converted) else title,  # `\textit{}`: kept as written
                to_unicode(abstract),
                tuple(to_unicode(a) for a in authors),
                True,
            )
        except Exception as exc:  # one paper's markup: stored as written, and said
            event("latex_kept_as_written", logging.WARNING, title=title[:80], error=repr(exc))
    if not changed:
        return paper  # most papers: nothing to change, nothing copied
    return replace(paper, arxiv_id=arxiv, doi=doi, title=title, abstract=abstract, authors=authors)


IDENTIFIERS = ("arxiv_id", "doi", "pmid")  # what names one paper, strongest first


def _named(paper: Paper, by: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows the paper's identifiers name, its arXiv id's first. A row its DOI or
    PMID names that holds another of its identifiers (another arXiv id) is another paper."""
    named: list[dict[str, Any]] = []
    for ident in IDENTIFIERS:
        value = getattr(paper, ident)
        row = by[ident].get(value) if value else None
        if row is None or any(r is row for r in named):
            continue
        if ident != "arxiv_id" and not _may_be(row, paper):
            continue
        named.append(row)
    return named


def _one_paper(rows: list[dict[str, Any]], fresh: dict[int, Any]) -> bool:
    """The stored rows a sighting's identifiers name are one paper: none was made by this
    document, and no two of them hold different values of one identifier."""
    if any(r["id"] in fresh for r in rows):
        return False
    return all(len({r[ident] for r in rows if r[ident]}) <= 1 for ident in IDENTIFIERS)


_FOLDED = (
    "arxiv_id",
    "doi",
    "pmid",
    "pmcid",
    "orcids",
    "categories",
    "announce",
    "url",
    "hf_day",
    "announced",
    "upvotes",
    "version",
)


def _fold(keep: dict[str, Any], gone: dict[str, Any]) -> bool:
    """What `gone` knows that `keep` lacks, into `keep`; True if it gains text."""
    for name in _FOLDED:
        if keep[name] is None and gone[name] is not None:
            keep[name] = gone[name]
    gained = False
    if gone["abstract"] and _completes(keep["abstract"], gone["abstract"]):
        keep["abstract"], gained = gone["abstract"], True
    if keep["authors"] == "[]" and gone["authors"] != "[]":
        keep["authors"], gained = gone["authors"], True
    return gained


def _may_be(row: dict[str, Any], paper: Paper) -> bool:
    """A stored row of the same title is this paper unless an identifier both have
    differs (two arXiv ids, or two DOIs)."""
    for ident in IDENTIFIERS:
        ours = getattr(paper, ident)
        if ours and row[ident] and row[ident] != ours:
            return False
    return True


def _row(pid: int, paper: Paper, key: str) -> dict[str, Any]:
    return {
        "id": pid,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "pmid": paper.pmid,
        "pmcid": paper.pmcid,
        "orcids": _to_json(dict(paper.orcids)) if paper.orcids else None,
        "categories": _to_json(list(paper.categories)) if paper.categories else None,
        "announce": paper.announce or None,
        "title_key": key,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": _to_json(list(paper.authors)),
        "url": paper.url,
        "hf_day": paper.hf_day.isoformat() if paper.hf_day else None,
        "upvotes": paper.upvotes,
        "version": paper.version,
        "announced": paper.announced.isoformat() if paper.announced else None,
        "quiet": paper.replacement,
    }


def _completes(stored: str, seen: str) -> bool:
    """`seen` is the whole of a stored abstract that was missing or cut off (read from a
    file before its writer finished)."""
    return not stored or (len(seen) > len(stored) and seen.startswith(stored))


def _merge(row: dict[str, Any], paper: Paper) -> tuple[bool, bool]:
    """Fill what the stored row lacks from `paper`: (anything changed, text gained).

    Gaining text it lacked (abstract, or the rest of a cut-off one, or authors) is what
    makes a stored paper worth matching again.
    """
    changed = gained = False
    if paper.version and paper.version > (row["version"] or 0):
        changed = True
        if row["version"] or paper.version > 1:  # a newer version's text replaces the
            # text stored (from an older version, or from a source without authority)
            row["title"], row["title_key"] = paper.title, paper.key
            row["abstract"] = paper.abstract or row["abstract"]
            if paper.authors:
                row["authors"] = _to_json(list(paper.authors))
        row["version"] = paper.version
    if paper.announced and not row["announced"]:
        row["announced"] = paper.announced.isoformat()
        changed = True
    if paper.arxiv_id and not row["arxiv_id"]:
        row["arxiv_id"], row["url"] = paper.arxiv_id, paper.url or row["url"]
        changed = True
    for ident in ("doi", "pmid", "pmcid"):
        if getattr(paper, ident) and not row[ident]:
            row[ident] = getattr(paper, ident)
            changed = True
    if paper.orcids and not row["orcids"]:
        row["orcids"] = _to_json(dict(paper.orcids))
        changed = True
    if paper.categories and not row["categories"]:
        row["categories"] = _to_json(list(paper.categories))
        changed = True
    if paper.announce and not row["announce"]:
        row["announce"] = paper.announce
        changed = True
    if paper.abstract and _completes(row["abstract"], paper.abstract):
        row["abstract"] = paper.abstract
        changed = gained = True
    if paper.authors and row["authors"] == "[]":
        row["authors"] = _to_json(list(paper.authors))
        changed = gained = True
    if paper.url and not row["url"]:
        row["url"] = paper.url
        changed = True
    if paper.hf_day and not row["hf_day"]:
        row["hf_day"] = paper.hf_day.isoformat()
        changed = True
    if paper.upvotes is not None and paper.upvotes != row["upvotes"]:
        row["upvotes"] = paper.upvotes
        changed = True
    return changed, gained
