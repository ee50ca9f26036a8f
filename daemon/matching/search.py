"""A one-query search over every stored paper, answered from an index of what each paper
holds, verified exactly where the index cannot decide.

As Lucene Monitor and the Elasticsearch percolator do with stored queries, the index is a
presearcher: each stored paper's fields are analysed once into keys (the word forms of its
parts and joined words, its words as written and in American spelling, for prefixes, and
each pair of neighbouring forms), kept in SQLite FTS5. A term looks its keys up field by
field: a word, a prefix or a compound written as one word is decided by its keys alone; a
phrase takes the papers that hold each of its pairs as candidates, a long word that may
be written in two halves those that hold both, and they are verified on their text with
the same code as direct evaluation (daemon.language.query). Terms combine with AND/OR/NOT on the
bounds (sure, maybe) of sets of papers. Papers the index does not hold yet (stored since
it was last brought up to date, or changed since), and papers without an abstract
(three-valued: they may wait for it), are evaluated directly. So a search gives exactly
what evaluating the query on every stored paper gives; a page of it verifies candidates
newest first until it is full.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import metadata

from daemon.language.lemmas import TABLE
from daemon.language.query import FIELDS, And, Doc, Node, Not, Term, decide
from daemon.language.text import CACHED, Tokens, american, parts
from daemon.store import Store
from daemon.store.rows import StoredPaper
from daemon.store.search_index import Keys, SearchIndexRepo, Text

# Raise it with any change to how a paper's keys are made (daemon.language.text's cutting and
# folding, `paper_keys` here): every stored paper's keys are then made again (61 s per
# 100,000 papers), as they are when the dictionaries change. A comment edited is not one.
ANALYSIS = 4  # 2: marks, compatibility, Greek, Landau, acronyms, -ae-/-oe-, labels; 3: pairs;
# 4: an acronym's plural takes the acronym's forms (OVAs: ovum, as OVA)


def _analysis_version() -> int:
    """What a paper's keys are made by: ANALYSIS, the lemma table read and the versions of
    the spelling dictionary; a change to any of them rebuilds every stored paper's keys."""
    digest = hashlib.sha256(str(ANALYSIS).encode())
    digest.update(TABLE.read_bytes())
    for dist in ("lemminflect", "breame"):
        digest.update(metadata.version(dist).encode())
    return int.from_bytes(digest.digest()[:6], "big")


KEYS_VERSION = _analysis_version()
ABSENT = "zabsent"  # the abstract column of a paper that has none yet
CHUNK = 1000  # papers read, analysed, then written in one short transaction
_ASCII = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=CACHED)
def _key(kind: str, word: str) -> str:
    """One key as FTS5's ascii tokenizer keeps it whole: `kind` (f: a form, s: a word as
    written) and the word, or its UTF-8 in hex (kinds g and t) if it is not plain ASCII
    letters and digits. Hex keeps prefixes: "ab" starts "abc" as hex(ab) starts hex(abc)."""
    if _ASCII.fullmatch(word):
        return kind + word
    return ("g" if kind == "f" else "t") + word.encode().hex()


def _pair(first: str, second: str) -> str:
    """The key of two forms next to each other (CRC-32 of both: a collision only adds a
    candidate, which is verified)."""
    return f"q{zlib.crc32(f'{first} {second}'.encode()):08x}"


def forget_keys() -> None:
    """Empty the keys' cache (see daemon.language.text.forget_caches)."""
    _key.cache_clear()


def _field_keys(tokens: Tokens, author: bool) -> str:
    forms: set[str] = set()
    written = set(tokens.surface)
    for fs in tokens.forms:
        forms.update(fs)
    for fs, surface, _, _ in tokens.joined:
        forms.update(fs)
        written.add(surface)
    written.discard("")  # the wall between two authors
    keys = [_key("f", f) for f in forms]
    if not author:  # an author's words are their forms (only folded): kept once, as forms
        written.update(list(map(american, written)))
        keys += [_key("s", w) for w in written]
        # parts next to each other: a phrase's candidates hold each of its pairs, not
        # only each of its words (three common words are in most abstracts, together in few)
        pairs = {_pair(a, b) for x, y in itertools.pairwise(tokens.forms) for a in x for b in y}
        keys += pairs
    return " ".join(keys)


def paper_keys(text: Text) -> Keys:
    """A stored paper's keys per field, as daemon.language.query.Doc cuts its fields."""
    title, abstract, names = text
    authors = Tokens()
    for name in names:
        parts(name, author=True, into=authors)
    return (
        _field_keys(parts(title), False),
        _field_keys(parts(abstract), False) if abstract else ABSENT,
        _field_keys(authors, True),
    )


def catch_up(store: Store) -> int:
    """Bring the index up to date, a chunk of papers at a time; returns how many papers
    were (re)indexed. Keys are made outside the write transaction, which then only
    checks that what they were made from is still so (another process may have indexed
    it, or the paper changed) and writes: other writers wait milliseconds, not seconds.
    Keys of an older analysis are rebuilt from scratch."""
    repo = store.search_index
    if repo.state().version != KEYS_VERSION:  # read first: most passes write nothing
        with store.transaction():
            if repo.state().version != KEYS_VERSION:
                repo.restart(KEYS_VERSION)
    done = 0
    while True:
        stale = repo.stale_rows(CHUNK)
        if stale:
            made = [
                (pid, paper_keys(old), None if now is None else paper_keys(now))
                for pid, old, now in stale
            ]
            before = done
            with store.transaction():
                still = {pid: (old, now) for pid, old, now in repo.stale_rows(len(stale))}
                for (pid, old, now), (_, old_keys, new_keys) in zip(stale, made, strict=True):
                    if still.get(pid) != (old, now):
                        continue  # changed meanwhile: the next pass takes it
                    repo.forget(pid, old_keys)
                    if new_keys is not None:
                        repo.add([(pid, new_keys)])
                    done += 1
            if done == before:
                return done
            continue
        up_to = repo.state().indexed_up_to
        fresh = repo.rows_after(up_to, CHUNK)
        if not fresh:
            return done
        keys = [(pid, paper_keys(text)) for pid, text in fresh]
        with store.transaction():
            if repo.state().indexed_up_to != up_to:
                continue  # another process indexed them
            current = dict(repo.rows_after(up_to, len(fresh)))
            keys = [
                (pid, made if current[pid] == text else paper_keys(current[pid]))
                for (pid, text), (_, made) in zip(fresh, keys, strict=True)
                if pid in current  # a paper deleted meanwhile is skipped
            ]
            repo.add(keys, up_to=fresh[-1][0])
        done += len(fresh)


# -- looking terms up ------------------------------------------------------------------


def _any(column: str, words: Iterable[str]) -> str:
    return f"({column} : ({' OR '.join(_key('f', w) for w in words)}))"


def _pairs(column: str, first: Iterable[str], second: Iterable[str]) -> str:
    return f"({column} : ({' OR '.join(_pair(a, b) for a in first for b in second)}))"


def _starting(column: str, prefixes: Iterable[str], author: bool) -> str:
    """Papers with a word in `column` that starts with one of `prefixes`."""
    plain, hexed = ("f", "g") if author else ("s", "t")
    found = []
    for prefix in prefixes:
        if _ASCII.fullmatch(prefix):
            found.append(f"{plain}{prefix}*")
        found.append(f"{hexed}{prefix.encode().hex()}*")  # words not plain ASCII
    return f"({column} : ({' OR '.join(found)}))"


@dataclass(frozen=True)
class Lookup:
    """How one term is looked up in one field: `sure` finds papers it matches; `maybe`
    (if any) a superset of them, to verify on the text."""

    sure: str
    maybe: str | None = None


def lookup(term: Term, field: str) -> Lookup:
    author = field == "author"
    words = term.plain if author else term.words
    joined = term.joined_plain if author else term.joined
    if len(words) == 1:
        if term.prefix:
            return Lookup(_starting(field, words[0], author))
        sure = _any(field, words[0])
        splits = () if author else term.splits
        if not splits:
            return Lookup(sure)
        halves = [f"({_any(field, a)} AND {_any(field, b)})" for a, b in splits]
        return Lookup(sure, " OR ".join([sure, *halves]))
    sure = _starting(field, joined, author) if term.prefix else _any(field, joined)
    whole = words[:-1] if term.prefix else words
    if author or len(whole) == 1:
        needs = [_any(field, w) for w in whole]
    else:  # each pair of whole words next to each other (which holds each word)
        needs = [_pairs(field, a, b) for a, b in itertools.pairwise(whole)]
    if term.prefix:
        needs.append(_starting(field, words[-1], author))
    return Lookup(sure, f"{sure} OR ({' AND '.join(needs)})")


# -- searching ---------------------------------------------------------------------------


@dataclass
class Bounds:
    """What the index says of a query: the papers it matches for sure, and those it may
    match (a phrase's candidates), to verify on their text. The two never overlap."""

    sure: set[int]
    maybe: set[int]


class _Search:
    """One query over the indexed papers: per term, then per operator, its bounds."""

    def __init__(self, repo: SearchIndexRepo, up_to: int) -> None:
        self.repo = repo
        self.up_to = up_to
        self.found: dict[Term, Bounds] = {}
        self._everyone: set[int] | None = None

    def everyone(self) -> set[int]:
        if self._everyone is None:
            self._everyone = self.repo.all_ids(self.up_to)
        return self._everyone

    def term(self, term: Term) -> Bounds:
        found = self.found.get(term)
        if found is None:
            sure: set[int] = set()
            maybe: set[int] = set()
            for name in FIELDS:
                if name in term.fields:
                    how = lookup(term, name)
                    sure |= self.repo.ids(how.sure)
                    if how.maybe is not None:
                        maybe |= self.repo.ids(how.maybe)
            found = self.found[term] = Bounds(sure, maybe - sure)
        return found

    def evaluate(self, node: Node) -> Bounds:
        """Three-valued algebra on sets: NOT swaps sure-in and sure-out and keeps the
        unsure; AND and OR combine the sure and the possible separately."""
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, Not):
            inner = self.evaluate(node.child)
            return Bounds(self.everyone() - inner.sure - inner.maybe, set(inner.maybe))
        if isinstance(node, And):
            sure: set[int] | None = None
            upper: set[int] | None = None
            for child in sorted(node.children, key=lambda c: isinstance(c, Not)):
                found = self.evaluate(child)
                both = found.sure | found.maybe
                sure = found.sure.copy() if sure is None else sure & found.sure
                upper = both if upper is None else upper & both
                if not upper:
                    return Bounds(set(), set())
            assert sure is not None and upper is not None
            return Bounds(sure, upper - sure)
        sure_or: set[int] = set()
        upper_or: set[int] = set()
        for option in node.children:
            got = self.evaluate(option)
            sure_or |= got.sure
            upper_or |= got.maybe
        return Bounds(sure_or, upper_or - sure_or)


def _doc(row: StoredPaper) -> Doc:
    return Doc(row.title, row.abstract or "", row.authors)


def _bounded(store: Store, query: Node) -> tuple[Bounds, set[int], int]:
    """The index's bounds on the indexed papers with an abstract; the papers evaluated
    directly (not indexed yet, changed since, or waiting for their abstract) that match;
    and how many of those wait for their abstract to decide."""
    repo = store.search_index
    state = repo.state()
    if state.version != KEYS_VERSION:  # keys of another analysis: read every paper
        ids, waiting = _decided(((row, _doc(row)) for row in store.papers.iterate()), query)
        return Bounds(set(), set()), set(ids), waiting
    found = _Search(repo, state.indexed_up_to).evaluate(query)
    absent = repo.ids(f"abstract : {ABSENT}")
    direct = state.stale | absent
    rows = repo.unindexed(state) + repo.rows(sorted(absent - state.stale))
    ids, waiting = _decided(((row, _doc(row)) for row in rows), query)
    return Bounds(found.sure - direct, found.maybe - direct), set(ids), waiting


def search(store: Store, query: Node) -> tuple[list[int], int]:
    """Ids of the stored papers `query` matches for sure (newest first), and how many
    more wait for their abstract (the query holds or not depending on what it says)."""
    found, direct, waiting = _bounded(store, query)
    rows = store.search_index.rows(sorted(found.maybe))
    verified = {row.id for row in rows if decide(query, _doc(row))}
    return sorted(found.sure | verified | direct, reverse=True), waiting


PAGE_CHUNK = 200  # candidates read (and verified) at a time for a page


def search_page(
    store: Store,
    query: Node,
    limit: int,
    since: date | None = None,
    until: date | None = None,
) -> tuple[list[StoredPaper], int]:
    """The newest `limit` stored papers the query matches for sure (in the day range), as
    `search` then a listing give them, and how many wait for their abstract. Candidates
    are read newest first and verified until the page is full: a phrase of common words
    verifies about a page of papers, not every paper holding its words."""
    found, direct, waiting = _bounded(store, query)
    candidates = sorted(found.sure | found.maybe | direct, reverse=True)
    page: list[StoredPaper] = []
    for at in range(0, len(candidates), PAGE_CHUNK):
        chunk = candidates[at : at + PAGE_CHUNK]
        for row in store.papers.listing(ids=chunk, since=since, until=until):
            if row.id in found.maybe and not decide(query, _doc(row)):
                continue
            page.append(row)
            if len(page) == limit:
                return page, waiting
    return page, waiting


def _decided(docs: Iterable[tuple[StoredPaper, Doc]], query: Node) -> tuple[list[int], int]:
    """Papers evaluated directly: those the query matches for sure, and how many wait."""
    ids, waiting = [], 0
    for row, doc in docs:
        verdict = decide(query, doc)
        if verdict:
            ids.append(row.id)
        elif verdict is None:
            waiting += 1
    return sorted(ids, reverse=True), waiting
