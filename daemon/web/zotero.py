""" "Add to Zotero" from the page: the paper becomes a preprint item in the reader's Zotero
library through the Zotero web API (v3). The API key comes from secrets, like a channel's
URL: `[zotero] library = "users/123456"`, `key = "${ZOTERO_KEY}"`."""

from __future__ import annotations

from typing import Any

import httpx

from daemon.config import ZoteroSettings
from daemon.net.http import tls
from daemon.store import Store
from daemon.store.rows import StoredPaper
from daemon.web.reader import find_paper

TIMEOUT = 30.0


def item(paper: StoredPaper) -> dict[str, Any]:
    """The paper as a Zotero preprint item."""
    found: dict[str, Any] = {
        "itemType": "preprint",
        "title": paper.title,
        "creators": [{"creatorType": "author", "name": name} for name in paper.authors],
        "abstractNote": paper.abstract or "",
        "date": paper.day or "",
        "url": paper.link or "",
        "tags": [{"tag": "paperwatch"}],
    }
    if paper.doi:
        found["DOI"] = paper.doi
    if paper.pmid:
        found["extra"] = f"PMID: {paper.pmid}"  # how Zotero's own importers keep it
    if paper.arxiv_id:
        found |= {"archiveID": f"arXiv:{paper.arxiv_id}", "repository": "arXiv"}
    return found


def add_to_zotero(settings: ZoteroSettings, paper: StoredPaper) -> str | None:
    """None when the library took the paper; else why not (never the key)."""
    try:
        answer = httpx.post(
            f"{settings.base_url.rstrip('/')}/{settings.library}/items",
            json=[item(paper)],
            headers={"Zotero-API-Key": settings.key, "Zotero-API-Version": "3"},
            timeout=TIMEOUT,
            verify=tls(),
        )
    except httpx.HTTPError as exc:
        return f"Zotero could not be reached ({type(exc).__name__})"
    if answer.status_code != 200:
        return f"Zotero answered HTTP {answer.status_code}"
    try:
        failed = answer.json().get("failed") or {}
    except ValueError:
        return "Zotero answered something that is not JSON"
    if failed:
        reason = next(iter(failed.values()))
        return f"Zotero refused the item: {reason.get('message', reason)}"
    return None


def save_to_zotero(store: Store, settings: ZoteroSettings, paper: object) -> tuple[int, str | None]:
    """Add a stored paper to the Zotero library; (paper id, None or why not)."""
    pid = find_paper(store, paper)
    [found] = store.papers.listing(ids=[pid])
    return pid, add_to_zotero(settings, found)
