"""A reference library as examples: the BibTeX or CSL-JSON file Zotero (or any reference
manager) exports, named in `similar_to`.

Each entry is known by its arXiv id when it has one (an `eprint`, an arXiv DOI
`10.48550/arXiv.<id>`, an arxiv.org link, or `arXiv:<id>` in a number or note field), by
its DOI (a bioRxiv or journal paper), else by its title. Entries not stored yet are not
an error: `paperwatch check` lists them, and they become examples once a source brings
them in.

A library is the user's data, not configuration: one that is missing, half-written or
hostile is its watchlist's problem alone (`load_library` keeps its last good entries and
says why), never the configuration's. Its size is bounded (MAX_LIBRARY_BYTES) and a
BibTeX file is parsed a chunk of entries at a time, so memory follows the chunk, not
the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from daemon.core.errors import ConfigError
from daemon.core.models import arxiv_id, identifiers
from daemon.parse import json_text

MAX_LIBRARY_BYTES = 50_000_000  # some 30,000 entries with abstracts
_CHUNK = 1 << 20  # characters of BibTeX parsed at once
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


@dataclass(frozen=True)
class LibraryRead:
    """A library's entries as last read well, and why the file as it is now cannot be
    (None: it was just read)."""

    references: tuple[Reference, ...]
    problem: str | None = None


_LAST_GOOD: dict[Path, tuple[Reference, ...]] = {}  # one per library configured


def load_library(path: Path) -> LibraryRead:
    """The library's entries; if it cannot be read now (missing, half-written, too
    large, hostile), the entries it last had in this process, with the reason."""
    try:
        found = read_library(path)
    except ConfigError as exc:
        return LibraryRead(_LAST_GOOD.get(path, ()), str(exc))
    _LAST_GOOD[path] = found
    return LibraryRead(found)


def read_library(path: Path) -> tuple[Reference, ...]:
    """The entries of a BibTeX (.bib) or CSL-JSON (.json) file; a file that cannot be
    read or parsed is a ConfigError naming it. Parsed again only when the file changed
    (the daemon resolves examples at every scoring run)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the library ({exc.strerror})") from None
    if st.st_size > MAX_LIBRARY_BYTES:
        raise ConfigError(
            f"{path}: {st.st_size:,} bytes, over the {MAX_LIBRARY_BYTES:,} a library may "
            "hold: export only the collection of examples"
        )
    return _parsed(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _parsed(path: Path, mtime_ns: int, size: int) -> tuple[Reference, ...]:
    try:
        if path.suffix.lower() == ".json":
            return tuple(_csl_json(path, path.read_text(encoding="utf-8-sig")))
        return tuple(_bibtex(path))
    except ConfigError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the library ({exc})") from None
    except Exception as exc:  # a hostile file finds a parser's limit: its own failure
        what = f"{type(exc).__name__}: {exc}"[:200]
        raise ConfigError(f"{path}: cannot be read as a library ({what})") from None


def _chunks(path: Path) -> Iterator[str]:
    """The file in pieces of about _CHUNK characters, each cut before a line that opens
    an entry (`@`), so no entry is split."""
    piece: list[str] = []
    size = 0
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            if size >= _CHUNK and line.lstrip().startswith("@"):
                yield "".join(piece)
                piece, size = [], 0
            piece.append(line)
            size += len(line)
    yield "".join(piece)


def _bibtex(path: Path) -> list[Reference]:
    import bibtexparser

    found, failed = [], 0
    for chunk in _chunks(path):
        library = bibtexparser.parse_string(chunk)
        failed += len(library.failed_blocks)
        for entry in library.entries:
            fields = {k.lower(): str(f.value) for k, f in entry.fields_dict.items()}
            found.append(_reference(entry.key, fields))
    if not found and failed:
        raise ConfigError(f"{path}: not a BibTeX file (no entry could be read)")
    return found


def _csl_json(path: Path, text: str) -> list[Reference]:
    try:
        data = json_text.loads(text)
    except (ValueError, RecursionError) as exc:
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
