"""A reference library as examples: the BibTeX or CSL-JSON file Zotero (or any reference
manager) exports, named in `similar_to`.

Each entry is known by its arXiv id when it has one (an `eprint`, an arXiv DOI
`10.48550/arXiv.<id>`, an arxiv.org link, or `arXiv:<id>` in a number or note field), by
its DOI (a bioRxiv or journal paper), else by its title. Entries not stored yet are not
an error: `paperwatch check` lists them, and they become examples once a source brings
them in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from daemon.errors import ConfigError
from daemon.models import arxiv_id, identifiers

LIBRARY_SUFFIXES = (".bib", ".bibtex", ".json")
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:.]\s*|10\.48550/arxiv\.)"
    r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})",
    re.IGNORECASE,
)
_LATEX = re.compile(r"\\[a-zA-Z]+\s*|[{}\\$]")


@dataclass(frozen=True)
class Reference:
    label: str  # what `check` shows: the citation key and the title
    arxiv_id: str | None
    title: str
    doi: str | None = None  # not arXiv's (that one is the arxiv_id)


def is_library(entry: str) -> bool:
    return entry.lower().endswith(LIBRARY_SUFFIXES)


def read_library(path: Path) -> list[Reference]:
    """The entries of a BibTeX (.bib) or CSL-JSON (.json) file; a file that cannot be
    read or parsed is a ConfigError naming it. Parsed again only when the file changed
    (the daemon resolves examples at every scoring run)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the library ({exc.strerror})") from None
    return list(_parsed(path, st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=16)
def _parsed(path: Path, mtime_ns: int, size: int) -> tuple[Reference, ...]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the library ({exc})") from None
    if path.suffix.lower() == ".json":
        return tuple(_csl_json(path, text))
    return tuple(_bibtex(path, text))


def _bibtex(path: Path, text: str) -> list[Reference]:
    import bibtexparser

    library = bibtexparser.parse_string(text)  # type: ignore[attr-defined]
    if not library.entries and library.failed_blocks:
        raise ConfigError(f"{path}: not a BibTeX file (no entry could be read)")
    found = []
    for entry in library.entries:
        fields = {k.lower(): str(f.value) for k, f in entry.fields_dict.items()}
        found.append(_reference(entry.key, fields))
    return found


def _csl_json(path: Path, text: str) -> list[Reference]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: not a CSL-JSON file ({exc})") from None
    items = data.get("items", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(f"{path}: not a CSL-JSON file (expected a list of items)")
    found = []
    for item in items:
        if isinstance(item, dict):
            fields = {k.lower(): v for k, v in item.items() if isinstance(v, str | int)}
            found.append(_reference(str(item.get("id", "")), fields))
    return found


def _reference(key: str, fields: dict[str, Any]) -> Reference:
    title = " ".join(_LATEX.sub("", str(fields.get("title", ""))).split())
    ident = None
    eprint = str(fields.get("eprint", ""))
    if eprint and str(fields.get("archiveprefix", fields.get("eprinttype", "arxiv"))).lower() in (
        "arxiv",
        "",
    ):
        ident = arxiv_id(eprint)
    if ident is None:
        for name in ("doi", "url", "number", "note", "archive_location", "journal", "howpublished"):
            m = _ARXIV_IN_TEXT.search(str(fields.get(name, "")))
            if m and (ident := arxiv_id(m.group(1))):
                break
    ident, doi = identifiers(ident, str(fields.get("doi", "")) or None)
    label = f"{key}: {title}" if key else title
    return Reference(label[:200], ident, title, doi)
