"""`bibtex://DIR`: a BibTeX file per watchlist (`DIR/<watchlist>.bib`), appended as its
matches are delivered, for a reference manager to import or a LaTeX document to cite.

DIR is relative to config.toml unless absolute (`bibtex:///home/me/refs`). An entry is
keyed by the paper's identity (arXiv id, else DOI, else title), so a batch sent again
after a crash between the write and its record adds nothing twice.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from daemon.errors import ConfigError
from daemon.models import key_hash, title_key
from daemon.outputs.contract import OutputKind, register_output
from daemon.store.rows import StoredMatch, StoredPaper

_KEY = re.compile(r"^@\w+\{([^,\s]+),", re.MULTILINE)
_UNSAFE = re.compile(r"[^\w.-]+")


class BibtexFiles:
    def __init__(self, folder: Path, url: str) -> None:
        self.folder = folder
        self.private_url = url

    def deliver(self, watchlist: str, matches: list[StoredMatch]) -> str | None:
        path = self.folder / f"{_UNSAFE.sub('_', watchlist) or 'watchlist'}.bib"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            known = set(_KEY.findall(path.read_text("utf-8"))) if path.exists() else set()
            papers = [m.paper for m in matches]
            entries = [(key, _entry(key, watchlist, p)) for p in papers if (key := cite_key(p))]
            fresh = [text for key, text in dict(entries).items() if key not in known]
            if fresh:
                with open(path, "a", encoding="utf-8") as f:
                    f.write("".join(fresh))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        return None


def cite_key(paper: StoredPaper) -> str:
    """A citation key from the paper's identity: arXiv_2608.18082, doi_10.1101_..., or
    a title hash."""
    if paper.arxiv_id:
        return "arXiv_" + _UNSAFE.sub("_", paper.arxiv_id)
    if paper.doi:
        return "doi_" + _UNSAFE.sub("_", paper.doi)
    return f"paper_{key_hash(title_key(paper.title)):x}"


def _entry(key: str, watchlist: str, paper: StoredPaper) -> str:
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
    fields.append(("note", f"paperwatch: {watchlist}"))
    body = ",\n".join(f"  {name} = {{{_escape(value)}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n\n"


_SPECIAL = re.compile(r"[\\{}%&#_$]")
_LITERAL = {"\\": r"\textbackslash{}", **{c: "\\" + c for c in "{}%&#_$"}}


def _escape(text: str) -> str:
    """The characters LaTeX treats specially made literal, in one pass: braces balanced
    whatever the text holds (a lone brace would end the field)."""
    return _SPECIAL.sub(lambda m: _LITERAL[m.group()], text)


def _load(url: str, where: str, base: Path) -> BibtexFiles:
    folder = url.split("://", 1)[1]
    if not folder or "?" in folder:
        raise ConfigError(f"{where}: expected bibtex://FOLDER (bibtex:///abs/path), got {url!r}")
    return BibtexFiles(Path(folder) if folder.startswith("/") else base / folder, url)


KIND = register_output(OutputKind("bibtex", "a BibTeX file per watchlist", _load))
