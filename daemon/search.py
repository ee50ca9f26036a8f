"""A one-query search over every stored paper, answered from an index of what each paper
holds, verified exactly where the index cannot decide.

As Lucene Monitor and the Elasticsearch percolator do with stored queries, the index is a
presearcher: each stored paper's fields are analysed once into keys (the word forms of its
parts and joined words, and its words as written and in American spelling, for prefixes),
kept in SQLite FTS5. A term looks its keys up field by field: a word, a prefix or a
compound written as one word is decided by its keys alone; a phrase, or a long word that
may be written in two halves, takes the papers that hold every part as candidates and is
verified on their text with the same code as direct evaluation (daemon.query). Terms then
combine with AND/OR/NOT on sets of papers. Papers the index does not hold yet (stored
since it was last brought up to date, or changed since), and papers without an abstract
(three-valued: they may wait for it), are evaluated directly. So a search gives exactly
what evaluating the query on every stored paper gives.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from daemon.lemmas import TABLE
from daemon.query import FIELDS, And, Doc, Node, Not, Term, decide, term_matches
from daemon.store import Store
from daemon.store.rows import StoredPaper
from daemon.store.search_index import Keys, SearchIndexRepo, Text
from daemon.text import CACHED, Tokens, american, parts

# Raise it with any change to how a paper's keys are made (daemon.text's cutting and
# folding, `paper_keys` here): every stored paper's keys are then made again (61 s per
# 100,000 papers), as they are when the dictionaries change. A comment edited is not one.
ANALYSIS = 2  # 2: marks, compatibility, Greek, Landau, acronyms, -ae-/-oe-, labels


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
    return " ".join(keys)


def paper_keys(text: Text) -> Keys:
    """A stored paper's keys per field, as daemon.query.Doc cuts its fields."""
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
    needs = [_any(field, w) for w in (words[:-1] if term.prefix else words)]
    if term.prefix:
        needs.append(_starting(field, words[-1], author))
    return Lookup(sure, f"{sure} OR ({' AND '.join(needs)})")


# -- searching ---------------------------------------------------------------------------


class _Search:
    """One query over the indexed papers: per term, the papers it matches, as sets."""

    def __init__(self, repo: SearchIndexRepo, up_to: int) -> None:
        self.repo = repo
        self.up_to = up_to
        self.docs: dict[int, Doc] = {}
        self.found: dict[Term, set[int]] = {}
        self._everyone: set[int] | None = None

    def everyone(self) -> set[int]:
        if self._everyone is None:
            self._everyone = self.repo.all_ids(self.up_to)
        return self._everyone

    def term(self, term: Term) -> set[int]:
        found = self.found.get(term)
        if found is None:
            found = set()
            for name in FIELDS:
                if name in term.fields:
                    found |= self._field(term, name)
            self.found[term] = found
        return found

    def _field(self, term: Term, name: str) -> set[int]:
        how = lookup(term, name)
        sure = self.repo.ids(how.sure)
        if how.maybe is None:
            return sure
        unsure = self.repo.ids(how.maybe) - sure
        self._read(unsure)
        return sure | {i for i in unsure if term_matches(term, self.docs[i].fields[name])}

    def _read(self, ids: set[int]) -> None:
        missing = [i for i in ids if i not in self.docs]
        for row in self.repo.rows(missing):
            self.docs[row.id] = _doc(row)

    def evaluate(self, node: Node) -> set[int]:
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, Not):
            return self.everyone() - self.evaluate(node.child)
        if isinstance(node, And):
            out: set[int] | None = None
            for child in sorted(node.children, key=lambda c: isinstance(c, Not)):
                found = self.evaluate(child)
                out = found.copy() if out is None else out & found
                if not out:
                    break
            return out or set()
        out_or: set[int] = set()
        for child in node.children:
            out_or |= self.evaluate(child)
        return out_or


def _doc(row: StoredPaper) -> Doc:
    return Doc(row.title, row.abstract or "", row.authors)


def search(store: Store, query: Node) -> tuple[list[int], int]:
    """Ids of the stored papers `query` matches for sure (newest first), and how many
    more wait for their abstract (the query holds or not depending on what it says)."""
    repo = store.search_index
    state = repo.state()
    if state.version != KEYS_VERSION:  # keys of another analysis: read every paper
        return _decided(((row, _doc(row)) for row in store.papers.iterate()), query)
    engine = _Search(repo, state.indexed_up_to)
    found = engine.evaluate(query)
    absent = repo.ids(f"abstract : {ABSENT}")
    direct = state.stale | absent
    found -= direct
    rows = repo.unindexed(state) + repo.rows(sorted(absent - state.stale))
    ids, waiting = _decided(((row, _doc(row)) for row in rows), query)
    return sorted(found.union(ids), reverse=True), waiting


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
