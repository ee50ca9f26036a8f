"""Citation watchlists: "new papers citing mine", as Google Scholar's citation alerts.

A watchlist follows papers by id (`cites`) or the papers of a BibTeX/CSL-JSON library
(`cites_library`, read as `similar_to` reads one, whenever used: the user's list of
their own papers grows). The `citations` source lists what cites each; the papers seen
citing one for the first time alert every watchlist that follows it, saying which of
its papers they cite (those its keywords match, when it has keywords).
"""

from __future__ import annotations

import json
from dataclasses import replace

from daemon.config import Config, Watchlist
from daemon.core.models import cited_id
from daemon.matching.library import load_library
from daemon.matching.watching import Watching
from daemon.store import Store
from daemon.store.deliveries import Found


def cited_by(watchlist: Watchlist) -> list[str]:
    """The cited ids a watchlist follows: its `cites`, then its library's papers that
    have an arXiv id or a DOI (a library it cannot read now: those it last read)."""
    found = list(watchlist.cites)
    if watchlist.cites_library is not None:
        for ref in load_library(watchlist.cites_library).references:
            ident = cited_id(ref.arxiv_id or "") or cited_id(ref.doi or "")
            if ident:
                found.append(ident)
    return list(dict.fromkeys(found))


def followed(config: Config) -> list[str]:
    return list(dict.fromkeys(c for w in config.watchlists for c in cited_by(w)))


def citing_matches(store: Store, config: Config, cited: str, paper_ids: list[int]) -> list[Found]:
    """The matches of the watchlists following `cited` among these citing papers."""
    found: list[Found] = []
    rows = list(store.papers.by_ids(paper_ids))
    for watchlist in config.watchlists:
        if cited not in cited_by(watchlist):
            continue
        if watchlist.query is not None:
            keyword = Watching([_alone(watchlist)])
            kept = {row.id: hits for row, hits in keyword.match_rows(rows) if hits}
        else:
            kept = {row.id: [] for row in rows}
        for row in rows:
            if row.id not in kept:
                continue
            terms = [t for hit in kept[row.id] for t in hit.matched]
            matched = [[cited, "cites"], *([t, f] for t, f in terms)]
            found.append((watchlist.name, row.id, json.dumps(matched), 0, None, None))
    return found


def _alone(watchlist: Watchlist) -> Watchlist:
    """The watchlist's keywords as a watchlist of their own (matched at once)."""
    return replace(watchlist, cites=(), cites_library=None)
