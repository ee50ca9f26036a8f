"""Every watchlist's matching at ingest: the keyword queries (daemon.matching.match), then who
wrote the paper for the watchlists that follow people (daemon.language.people). An author
watchlist alone alerts on any paper by one of its people; with keywords, on their
papers the keywords match."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from daemon.config import Watchlist
from daemon.language.people import Person, find
from daemon.matching.match import Hit, Matcher, Rule
from daemon.store.rows import StoredPaper


class Watching:
    def __init__(self, watchlists: Iterable[Watchlist]) -> None:
        chosen = list(watchlists)
        self.queries = Matcher(
            Rule(w.name, w.query) for w in chosen if w.query is not None and w.keyword_alerts
        )
        self.people: dict[str, tuple[Person, ...]] = {w.name: w.people for w in chosen if w.people}
        self.people_only = [w.name for w in chosen if w.people and w.query is None]

    def match_rows(self, rows: Iterable[StoredPaper]) -> Iterator[tuple[StoredPaper, list[Hit]]]:
        """Each row with its hits, an author watchlist's naming the people it found."""
        for row, hits in self.queries.match_rows(rows):
            yield row, self._by_people(row, hits) if self.people else hits

    def _by_people(self, row: StoredPaper, hits: list[Hit]) -> list[Hit]:
        kept = []
        for hit in [*hits, *(Hit(name, ()) for name in self.people_only)]:
            people = self.people.get(hit.watchlist)
            if people is None:
                kept.append(hit)
            elif found := find(people, row.authors, row.orcids):
                by = tuple((name, "author") for name in found)
                kept.append(Hit(hit.watchlist, by + hit.matched, hit.undecided))
        return kept

    def idle(self) -> None:
        self.queries.idle()
