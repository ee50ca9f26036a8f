"""Match a batch of papers against many watchlists at once, on bitsets.

Each paper's fields are cut into chunks once; a chunk's word forms are looked up in a
cache (a few hundred thousand distinct chunks cover all of arXiv), so a paper costs a
regex pass and some set unions. For a batch, every form any watchlist uses gets a bitset
of the papers that hold it; each watchlist is then evaluated once for the whole batch
with integer AND/OR/NOT. What bitsets cannot settle exactly (a phrase's order, a long
word written as two) is verified on the few papers that hold all its parts, with the
same code as direct evaluation (daemon.query), so results are identical to evaluating
every query on every paper. Which terms matched (the per-hit work) is worked out only
for the papers that matched.

A paper missing its abstract is decided in three-valued logic (daemon.query.decide): a
watchlist whose answer depends on the missing text is `undecided`, not alerted on a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import and_, not_
from typing import Any

from daemon.query import FIELDS, And, Doc, Node, Not, Or, Term, decide, term_matches
from daemon.text import CHUNKS, Cache, Chunk, pair_key, pieces

BATCH = 2048  # papers evaluated together (bits per integer; memory grows with it)
PREFIX = "\0"  # a key "\0tens": some word of the field starts with "tens"
Paper = tuple[str, str, Sequence[str]]  # title, abstract, authors


@dataclass(frozen=True)
class Rule:
    """A compiled watchlist: just what matching needs."""

    name: str
    query: Node


@dataclass(frozen=True)
class Hit:
    watchlist: str
    matched: tuple[tuple[str, str], ...]  # (term, field), each once, in query order
    undecided: bool = False  # true with the missing abstract taken as empty, not for sure


def _terms(node: Node, positive: bool = True) -> Iterator[tuple[Term, bool]]:
    if isinstance(node, Term):
        yield node, positive
    elif isinstance(node, Not):
        yield from _terms(node.child, False)
    else:
        for child in node.children:
            yield from _terms(child, positive)


def _pairs(term: Term) -> set[tuple[str, ...]]:
    """Adjacent forms one of which a phrase (or a word written as two) needs."""
    out: set[tuple[str, ...]] = set()
    for words in (term.words, term.plain):
        whole = words[:-1] if term.prefix else words
        for first, second in zip(whole, whole[1:], strict=False):  # each two adjacent parts
            for a in first:
                for b in second:
                    out.update((pair_key(a, b, True), pair_key(a, b, False)))
    for first, second in term.splits:
        out.update(pair_key(a, b, True) for a in first for b in second)
    return out


def _keys(term: Term) -> tuple[set[str], set[str]]:
    """The keys whose bitsets settle `term` (its anchors), and every key it reads."""
    anchors: set[str] = set()
    reads: set[str] = set()
    variants = []
    if term.fields - {"author"}:
        variants.append((term.words, term.joined))
    if "author" in term.fields:
        variants.append((term.plain, term.joined_plain))
    for words, joined in variants:
        if term.prefix:
            anchors.add(PREFIX + (joined[0] if joined else words[0][0]))
        else:
            anchors.update(joined or words[0])
        if len(words) > 1:  # a phrase: its first part anchors too, all parts are read
            anchors.update(words[0])
            for part in words[:-1] if term.prefix else words:
                reads.update(part)
        if words is term.words:
            for first, second in term.splits:
                anchors.update(first)
                reads.update(first + second)
    return anchors, anchors | reads


def anchors(node: Node) -> frozenset[str] | None:
    """Keys one of which every matching paper holds; None if there are none (NOT x)."""
    if isinstance(node, Term):
        return frozenset(_keys(node)[0])
    if isinstance(node, Not):
        return None
    found = [anchors(c) for c in node.children]
    if isinstance(node, Or):
        if any(a is None for a in found):
            return None
        return frozenset().union(*found)  # type: ignore[arg-type]
    options = [a for a in found if a is not None]
    return min(options, key=len) if options else None


class Matcher:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self.by_key: dict[str, list[int]] = {}
        self.always: list[int] = []
        self.vocab: set[str] = set()
        self.prefixes: set[str] = set()
        self.positive: list[list[Term]] = []
        self.pairs: set[tuple[str, ...]] = set()
        for i, rule in enumerate(self.rules):
            terms = list(_terms(rule.query))
            self.positive.append(list(dict.fromkeys(t for t, positive in terms if positive)))
            for term, _ in terms:
                self.vocab |= _keys(term)[1]
                self.pairs |= _pairs(term)
            found = anchors(rule.query)
            if found is None:
                self.always.append(i)
                continue
            for key in found:
                self.by_key.setdefault(key, []).append(i)
        self.prefixes = {k[1:] for k in self.vocab if k.startswith(PREFIX)}
        self.prefix_lengths = sorted({len(p) for p in self.prefixes})
        self._relevant = Cache(self._relevant_keys)

    def keys(self, text: str, author: bool = False) -> set[Any]:
        """The keys of one field that some watchlist reads: forms, prefixes (PREFIX +
        prefix) and adjacent parts (`pair_key`)."""
        seq = [c for c in map(CHUNKS[author].__getitem__, pieces(text)) if c.first]
        found: set[Any] = set()
        for keys in map(self._relevant.__getitem__, set(seq)):
            found.update(keys)
        if self.pairs and len(seq) > 1:
            found |= self._pairs(seq) & self.pairs
        return found

    def _relevant_keys(self, info: Chunk) -> tuple[Any, ...]:
        """A chunk's forms, prefixes and inner pairs that some watchlist reads."""
        keys: set[Any] = self.vocab.intersection(info.forms)
        keys.update(self.pairs.intersection(info.inner))
        for surface in info.surfaces:
            keys.update(
                PREFIX + surface[:n]
                for n in self.prefix_lengths
                if n <= len(surface) and surface[:n] in self.prefixes
            )
        return tuple(keys)

    @staticmethod
    def _pairs(seq: list[Chunk]) -> set[tuple[str, ...]]:
        """Adjacent parts of two chunks in a row, as `pair_key`s."""
        pairs: set[tuple[str, ...]] = set()
        plain = [not c.special for c in seq]
        both = list(map(and_, plain[:-1], plain[1:]))
        lasts, firsts = [c.last[0] for c in seq[:-1]], [c.first[0] for c in seq[1:]]
        pairs.update(compress(zip(lasts, firsts, strict=True), both))
        if not all(both):
            for k in compress(range(len(both)), map(not_, both)):
                a, b = seq[k], seq[k + 1]
                exact = not a.last_soft and not b.second_soft
                pairs.update(pair_key(x, y, exact) for x in a.last for y in b.first)
        return pairs

    def match_batch(self, papers: Sequence[Paper]) -> Batch:
        return Batch(self, papers)

    def match(self, title: str, abstract: str, authors: Iterable[str]) -> list[Hit]:
        return self.match_batch([(title, abstract, list(authors))]).hits(0)

    def match_rows(
        self, rows: Iterable[dict[str, Any]]
    ) -> Iterator[tuple[dict[str, Any], list[Hit]]]:
        """Each stored paper row with its hits, matched in batches (none cut when there
        is no watchlist)."""
        if not self.rules:
            yield from ((row, []) for row in rows)
            return
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                yield from self._rows(batch)
                batch = []
        if batch:
            yield from self._rows(batch)

    def _rows(self, rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], list[Hit]]]:
        result = self.match_batch(
            [(r["title"], r["abstract"], json.loads(r["authors"])) for r in rows]
        )
        for i, row in enumerate(rows):
            yield row, result.hits(i)


def search(matcher: Matcher, rows: Iterable[dict[str, Any]]) -> tuple[list[int], int]:
    """Ids of the stored papers a matcher matches for sure, and how many more wait for
    their abstract (as alerts decide: such a paper is not shown as a match yet)."""
    ids, waiting = [], 0
    for row, hits in matcher.match_rows(rows):
        if any(not h.undecided for h in hits):
            ids.append(row["id"])
        elif hits:
            waiting += 1
    return ids, waiting


class Batch:
    """One batch of papers evaluated against every watchlist one of its keys anchors."""

    def __init__(self, matcher: Matcher, papers: Sequence[Paper]) -> None:
        self.matcher = matcher
        self.papers = papers
        self.everyone = (1 << len(papers)) - 1
        self.postings: dict[str, dict[Any, list[int]]] = {f: {} for f in FIELDS}
        present: set[Any] = set()
        for i, (title, abstract, authors) in enumerate(papers):
            for name, keys in (
                ("title", matcher.keys(title)),
                ("abstract", matcher.keys(abstract)),
                ("author", set().union(*(matcher.keys(a, author=True) for a in authors))),
            ):
                posting = self.postings[name]
                for key in keys:
                    posting.setdefault(key, []).append(i)
                present |= keys
        self._bits: dict[tuple[str, Any], int] = {}
        self._terms: dict[Term, dict[str, int]] = {}
        self._docs: dict[int, Doc] = {}
        candidates = set(matcher.always)
        for key in present:
            candidates.update(matcher.by_key.get(key, ()))
        self.results: dict[int, int] = {}  # rule index -> bitset of the papers it matches
        for r in sorted(candidates):
            bits = self.evaluate(matcher.rules[r].query)
            if bits:
                self.results[r] = bits

    def bits(self, name: str, key: Any) -> int:
        found = self._bits.get((name, key))
        if found is None:
            found = 0
            for i in self.postings[name].get(key, ()):
                found |= 1 << i
            self._bits[(name, key)] = found
        return found

    def any_of(self, name: str, keys: Iterable[Any]) -> int:
        out = 0
        for key in keys:
            out |= self.bits(name, key)
        return out

    def adjacent(self, name: str, first: tuple[str, ...], second: tuple[str, ...]) -> int:
        """Papers where a part of `first` comes right before one of `second`."""
        return self.any_of(name, [(a, b, *t) for a in first for b in second for t in ((), ("~",))])

    def doc(self, i: int) -> Doc:
        found = self._docs.get(i)
        if found is None:
            title, abstract, authors = self.papers[i]
            found = self._docs[i] = Doc(title, abstract, list(authors))
        return found

    def verify(self, term: Term, name: str, maybe: int) -> int:
        """The papers of `maybe` where `term` really matches in field `name`."""
        out = 0
        while maybe:
            low = maybe & -maybe
            i = low.bit_length() - 1
            if term_matches(term, self.doc(i).fields[name]):
                out |= low
            maybe ^= low
        return out

    def term(self, term: Term) -> dict[str, int]:
        """Per field, the papers `term` matches there."""
        found = self._terms.get(term)
        if found is not None:
            return found
        found = {}
        for name in FIELDS:
            if name not in term.fields:
                continue
            author = name == "author"
            words = term.plain if author else term.words
            joined = term.joined_plain if author else term.joined
            if term.prefix:
                sure = self.bits(name, PREFIX + (joined[0] if joined else words[0][0]))
                if len(words) > 1:
                    maybe = self.everyone & ~sure
                    for first, second in zip(words[:-1], words[1:-1], strict=False):
                        maybe &= self.adjacent(name, first, second)
                    for part in words[:-1]:
                        maybe &= self.any_of(name, part)
                    sure |= self.verify(term, name, maybe)
            elif len(words) == 1:
                sure = self.any_of(name, words[0])
                if term.splits and not author:
                    maybe = 0
                    for first, second in term.splits:
                        maybe |= self.any_of(name, [(a, b) for a in first for b in second])
                    sure |= self.verify(term, name, maybe & ~sure)
            else:
                sure = self.any_of(name, joined)
                exact = self.any_of(name, [(a, b) for a in words[0] for b in words[1]])
                if len(words) == 2:  # adjacent at phrase boundaries: exactly the phrase
                    sure |= exact
                else:
                    maybe = self.everyone & ~sure
                    for first, second in zip(words, words[1:], strict=False):
                        maybe &= self.adjacent(name, first, second)
                    sure |= self.verify(term, name, maybe)
            found[name] = sure
        self._terms[term] = found
        return found

    def evaluate(self, node: Node) -> int:
        if isinstance(node, Term):
            out = 0
            for bits in self.term(node).values():
                out |= bits
            return out
        if isinstance(node, Not):
            return self.everyone & ~self.evaluate(node.child)
        if isinstance(node, And):
            out = self.everyone
            for child in node.children:
                out &= self.evaluate(child)
                if not out:
                    break
            return out
        assert isinstance(node, Or)
        out = 0
        for child in node.children:
            out |= self.evaluate(child)
        return out

    def count(self) -> int:
        return sum(bits.bit_count() for bits in self.results.values())

    def hits(self, i: int) -> list[Hit]:
        """The watchlists paper `i` matches, with the terms that matched where."""
        bit = 1 << i
        out = []
        for r, bits in self.results.items():
            if not bits & bit:
                continue
            matched = tuple(
                (term.text, name)
                for term in self.matcher.positive[r]
                for name, found in self.term(term).items()
                if found & bit
            )
            rule = self.matcher.rules[r]
            doc = self.doc(i) if not self.papers[i][1] else None
            undecided = doc is not None and decide(rule.query, doc) is None
            out.append(Hit(rule.name, tuple(dict.fromkeys(matched)), undecided))
        return out
