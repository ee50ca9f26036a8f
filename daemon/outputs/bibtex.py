"""`bibtex://DIR`: a BibTeX file per watchlist (`DIR/<watchlist>.bib`), appended as its
matches are delivered, for a reference manager to import or a LaTeX document to cite.

DIR is relative to config.toml unless absolute (`bibtex:///home/me/refs`). An entry is
keyed by the paper's identity (arXiv id, else DOI, else title), so a batch sent again
after a crash between the write and its record adds nothing twice.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from daemon.errors import ConfigError
from daemon.models import key_hash, paper_link, title_key
from daemon.outputs.contract import OutputKind, register_output

_KEY = re.compile(r"^@\w+\{([^,\s]+),", re.MULTILINE)
_UNSAFE = re.compile(r"[^\w.-]+")


class BibtexFiles:
    def __init__(self, folder: Path, url: str) -> None:
        self.folder = folder
        self.private_url = url

    def deliver(self, watchlist: str, rows: list[dict[str, Any]]) -> str | None:
        path = self.folder / f"{_UNSAFE.sub('_', watchlist) or 'watchlist'}.bib"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            known = set(_KEY.findall(path.read_text("utf-8"))) if path.exists() else set()
            entries = [(key, _entry(key, watchlist, row)) for row in rows if (key := cite_key(row))]
            fresh = [text for key, text in dict(entries).items() if key not in known]
            if fresh:
                with open(path, "a", encoding="utf-8") as f:
                    f.write("".join(fresh))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        return None


def cite_key(row: dict[str, Any]) -> str:
    """A citation key from the paper's identity: arXiv_2608.18082, doi_10.1101_..., or
    a title hash."""
    if row.get("arxiv_id"):
        return "arXiv_" + _UNSAFE.sub("_", str(row["arxiv_id"]))
    if row.get("doi"):
        return "doi_" + _UNSAFE.sub("_", str(row["doi"]))
    return f"paper_{key_hash(title_key(str(row['title']))):x}"


def _entry(key: str, watchlist: str, row: dict[str, Any]) -> str:
    authors = json.loads(row["authors"]) if isinstance(row["authors"], str) else row["authors"]
    day = row.get("announced") or row.get("hf_day") or ""
    fields: list[tuple[str, str]] = [("title", str(row["title"]))]
    if authors:
        fields.append(("author", " and ".join(authors)))
    if day:
        fields += [("year", day[:4]), ("month", str(int(day[5:7])))]
    if row.get("arxiv_id"):
        fields += [("eprint", str(row["arxiv_id"])), ("archivePrefix", "arXiv")]
    if row.get("doi"):
        fields.append(("doi", str(row["doi"])))
    if link := paper_link(row):
        fields.append(("url", link))
    if row.get("abstract"):
        fields.append(("abstract", str(row["abstract"])))
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
