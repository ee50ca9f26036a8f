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

from daemon.core.errors import ConfigError
from daemon.delivery.bibtex import cite_key, entry
from daemon.delivery.outputs.contract import OutputKind, register_output
from daemon.store.rows import StoredMatch

_KEY = re.compile(r"^@\w+\{([^,\s]+),", re.MULTILINE)
_UNSAFE = re.compile(r"[^\w.-]+")  # in a file name


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
            entries = [
                (key, entry(key, p, f"paperwatch: {watchlist}"))
                for p in papers
                if (key := cite_key(p))
            ]
            fresh = [text for key, text in dict(entries).items() if key not in known]
            if fresh:
                with open(path, "a", encoding="utf-8") as f:
                    f.write("".join(fresh))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        return None


def _load(url: str, where: str, base: Path, timeout: float) -> BibtexFiles:
    folder = url.split("://", 1)[1]
    if not folder or "?" in folder:
        raise ConfigError(f"{where}: expected bibtex://FOLDER (bibtex:///abs/path), got {url!r}")
    return BibtexFiles(Path(folder) if folder.startswith("/") else base / folder, url)


KIND = register_output(OutputKind("bibtex", "a BibTeX file per watchlist", _load))
