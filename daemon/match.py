"""Match papers against many watchlists fast: an inverted index of each query's anchors.

Every query has "anchor" forms, at least one of which a matching paper must contain (for
OR: all children's anchors; for AND: the anchors of one child; NOT cannot anchor; a phrase
anchors on its first two parts as a pair, and on its joined form). A paper is cut into
words once and evaluated in full only against the watchlists one of its forms anchors, so
thousands of watchlists cost about as much as a handful.

A paper missing its abstract is decided in three-valued logic (daemon.query.decide): a
watchlist whose answer depends on the missing text is `undecided`, not alerted on a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from daemon.query import Doc, Node, Not, Or, Term, decide, evaluate

Anchors = frozenset[tuple[str, str]]  # ("w", form or "form form") or ("p", prefix)


@dataclass(frozen=True)
class Rule:
    """A compiled watchlist: just what matching needs."""

    name: str
    query: Node


@dataclass(frozen=True)
class Hit:
    watchlist: str
    matched: tuple[tuple[str, str], ...]  # (term, field), each once, in query order
    undecided: bool = False  # true with the missing fields treated as empty, not for sure


def _term_anchors(term: Term) -> Anchors:
    out: set[tuple[str, str]] = set()
    variants = []
    if term.fields - {"author"}:
        variants.append((term.words, term.joined))
    if "author" in term.fields:
        variants.append((term.plain, term.joined_plain))
    for words, joined in variants:
        if len(words) == 1:
            out.update(("p" if term.prefix else "w", w) for w in words[0])
            if words is term.words:
                out.update(("w", f"{a} {b}") for x, y in term.splits for a in x for b in y)
            continue
        out.update(("p" if term.prefix else "w", j) for j in joined)
        if len(words) > 2 or not term.prefix:  # a pair of whole parts
            out.update(("w", f"{a} {b}") for a in words[0] for b in words[1])
        else:
            out.update(("w", a) for a in words[0])
    return frozenset(out)


def anchors(node: Node) -> Anchors | None:
    """Forms one of which every matching paper contains; None if there are none."""
    if isinstance(node, Term):
        return _term_anchors(node)
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
        for f in doc.fields.values():
            for word in f.words:
                hit = by_word.get(word)
                if hit:
                    found.update(hit)
            if self.has_pairs:
                forms = f.tokens.forms
                for a, b in set(zip(forms, forms[1:], strict=False)):
                    for x in a:
                        for y in b:
                            hit = by_word.get(f"{x} {y}")
                            if hit:
                                found.update(hit)
            if self.prefix_lengths:
                surfaces = set(f.tokens.surface)
                surfaces.update(s for _, s, _, _ in f.tokens.joined)
                for word in surfaces:
                    for n in self.prefix_lengths:
                        if n > len(word):
                            break
                        hit = by_prefix.get(word[:n])
                        if hit:
                            found.update(hit)
        return found

    def match(self, title: str, abstract: str, authors: Iterable[str]) -> list[Hit]:
        """Watchlists the paper matches for sure, then those it matches only while its
        missing fields are taken as empty (undecided)."""
        doc = Doc(title, abstract, list(authors))
        hits = []
        for i in sorted(self.candidates(doc)):
            rule = self.rules[i]
            if not evaluate(rule.query, doc):  # short-circuits: most candidates fail here
                continue
            terms: list[tuple[str, str]] = []
            evaluate(rule.query, doc, terms)
            sure = decide(rule.query, doc) if doc.missing else True
            hits.append(Hit(rule.name, tuple(dict.fromkeys(terms)), undecided=sure is None))
        return hits

    def match_row(self, row: dict[str, Any]) -> list[Hit]:
        return self.match(row["title"], row["abstract"], json.loads(row["authors"]))
