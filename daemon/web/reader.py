"""Finding the paper a reader acts on (a vote, a mark, "add to Zotero"): by the id the
API shows, or its arXiv id; and the error that says what was wrong."""

from __future__ import annotations

from daemon.core.errors import PaperwatchError
from daemon.core.models import arxiv_id
from daemon.store import Store


class FeedbackError(PaperwatchError):
    """A reader's action that cannot be recorded: which part is wrong, what is expected."""


def find_paper(store: Store, raw: object) -> int:
    """A stored paper by its id (as the API shows it) or its arXiv id."""
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if text.isdigit() and next(store.papers.by_ids([int(text)]), None) is not None:
        return int(text)
    ident = arxiv_id(text) if text else None
    found = store.papers.find(ident, "") if ident else None
    if found is None:
        raise FeedbackError(f"paper: no stored paper has the id {raw!r}")
    return found
