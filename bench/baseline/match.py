"""Match papers against many watchlists fast: an inverted index of each query's anchors.

Every query has "anchor" words, at least one of which a matching paper must contain (for
OR: all children's anchors; for AND: the anchors of one child; NOT cannot anchor; a phrase
anchors on its first two words as a pair). A paper
is evaluated in full only against the watchlists one of its words anchors, so thousands of
watchlists cost about as much as a handful.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.baseline.query import Doc, Node, Not, Or, Term, evaluate

Anchors = frozenset[tuple[str, str]]  # ("w", stem) or ("p", prefix)


@dataclass(frozen=True)
class Rule:
    """A compiled watchlist: just what matching needs."""

    name: str
    query: Node


@dataclass(frozen=True)
class Hit:
    watchlist: str
    matched: tuple[tuple[str, str], ...]  # (term, field), each once, in query order


def anchors(node: Node) -> Anchors | None:
    """Words one of which every matching paper contains; None if there are none."""
    if isinstance(node, Term):
        if len(node.words) == 1:
            return frozenset({("p" if node.prefix else "w", node.words[0])})
        whole = node.words[:-1] if node.prefix else node.words
        if len(whole) >= 2:  # a phrase anchors on its first two words, as a pair
            return frozenset({("w", f"{whole[0]} {whole[1]}")})
        return frozenset({("w", whole[0])})
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        out: set[tuple[str, str]] = set()
        for child in node.children:
            got = anchors(child)
            if got is None:
                return None
            out |= got
        return frozenset(out)
    options = [a for a in (anchors(c) for c in node.children) if a is not None]
    return min(options, key=lambda a: (len(a), -max(len(w) for _, w in a))) if options else None


class Matcher:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self.by_word: dict[str, list[int]] = {}
        self.by_prefix: dict[str, list[int]] = {}
        self.always: list[int] = []
        for i, rule in enumerate(self.rules):
            found = anchors(rule.query)
            if found is None:
                self.always.append(i)
                continue
            for kind, word in found:
                (self.by_prefix if kind == "p" else self.by_word).setdefault(word, []).append(i)
        self.prefix_lengths = sorted({len(p) for p in self.by_prefix})
        self.has_pairs = any(" " in w for w in self.by_word)

    def candidates(self, doc: Doc) -> set[int]:
        found = set(self.always)
        by_word, by_prefix = self.by_word, self.by_prefix
        for stems in doc.stem_sets.values():
            for stem in stems:
                hit = by_word.get(stem)
                if hit:
                    found.update(hit)
        if self.has_pairs:
            for seq in doc.stems.values():
                for pair in set(zip(seq, seq[1:], strict=False)):
                    hit = by_word.get(f"{pair[0]} {pair[1]}")
                    if hit:
                        found.update(hit)
        if self.prefix_lengths:
            for raw in doc.raw.values():
                for word in set(raw):
                    for n in self.prefix_lengths:
                        if n > len(word):
                            break
                        hit = by_prefix.get(word[:n])
                        if hit:
                            found.update(hit)
        return found

    def match(self, title: str, abstract: str, authors: Iterable[str]) -> list[Hit]:
        doc = Doc(title, abstract, " ; ".join(authors))
        hits = []
        for i in sorted(self.candidates(doc)):
            rule = self.rules[i]
            if not evaluate(rule.query, doc):  # short-circuits: most candidates fail here
                continue
            terms: list[tuple[str, str]] = []
            evaluate(rule.query, doc, terms)
            hits.append(Hit(rule.name, tuple(dict.fromkeys(terms))))
        return hits

    def match_row(self, row: dict[str, Any]) -> list[Hit]:
        return self.match(row["title"], row["abstract"], json.loads(row["authors"]))
