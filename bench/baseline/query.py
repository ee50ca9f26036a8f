"""The watchlist query language: parse to a small AST, evaluate on a paper's fields.

query   := or
or      := and ("OR" and)*
and     := not (["AND"] not)*          adjacent terms mean AND
not     := "NOT" not | atom
atom    := [field ":"] (word | word* | "phrase" | "(" or ")")
field   := title | abstract | author   (default: title and abstract)
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Union

from bench.baseline.text import singular, words
from daemon.core.errors import QueryError

FIELDS = ("title", "abstract", "author")
DEFAULT_FIELDS = frozenset({"title", "abstract"})
_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|"(?P<phrase>[^"]*)(?P<close>"?)'
    r'|(?P<field>[A-Za-z]+):|(?P<word>[^\s()"]+))'
)


@dataclass(frozen=True, slots=True)
class Term:
    """A word (`words` of length 1) or a phrase; `prefix` makes the last word a prefix."""

    words: tuple[str, ...]
    prefix: bool
    fields: frozenset[str]
    text: str  # as written (a phrase in quotes): how alerts name the term


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Union[Term, And, Or, Not]  # noqa: UP007 - recursive alias


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # lp rp phrase field word and or not
    value: str
    column: int


def tokenize(source: str) -> list[Tok]:
    toks, pos = [], 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        assert m is not None  # the last alternative takes any run of non-space
        column = pos + len(source[pos:]) - len(source[pos:].lstrip()) + 1
        kind = m.lastgroup or ""
        if m.group("phrase") is not None:
            if not m.group("close"):
                raise QueryError("unterminated phrase (missing closing quote)", column)
            toks.append(Tok("phrase", m.group("phrase"), column))
        elif kind == "word" and m.group("word") in ("AND", "OR", "NOT"):
            toks.append(Tok(m.group("word").lower(), m.group("word"), column))
        else:
            toks.append(Tok(kind, m.group(kind) or "", column))
        pos = m.end()
    return toks


class _Parser:
    def __init__(self, source: str, default_fields: frozenset[str]) -> None:
        self.source = source
        self.toks = tokenize(source)
        self.i = 0
        self.default_fields = default_fields

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def end_column(self) -> int:
        return len(self.source.rstrip()) + 1

    def parse(self) -> Node:
        if not self.toks:
            raise QueryError("empty query", 1)
        node = self.parse_or(self.default_fields)
        tok = self.peek()
        if tok is not None:
            raise QueryError(f"unexpected {tok.value or tok.kind!r}", tok.column)
        return node

    def parse_or(self, fields: frozenset[str]) -> Node:
        parts = [self.parse_and(fields)]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            parts.append(self.parse_and(fields))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self, fields: frozenset[str]) -> Node:
        parts = [self.parse_not(fields)]
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rp"):
            if tok.kind == "and":
                self.i += 1
            parts.append(self.parse_not(fields))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self, fields: frozenset[str]) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "not":
            self.i += 1
            return Not(self.parse_not(fields))
        return self.parse_atom(fields)

    def parse_atom(self, fields: frozenset[str]) -> Node:
        tok = self.peek()
        if tok is None:
            raise QueryError("expected a term at the end of the query", self.end_column())
        self.i += 1
        if tok.kind == "field":
            name = tok.value.lower()
            if name not in FIELDS:
                raise QueryError(
                    f"unknown field {tok.value!r} (use title:, abstract: or author:)", tok.column
                )
            return self.parse_atom(frozenset({name}))
        if tok.kind == "lp":
            node = self.parse_or(fields)
            close = self.peek()
            if close is None or close.kind != "rp":
                raise QueryError(
                    "missing closing parenthesis", close.column if close else self.end_column()
                )
            self.i += 1
            return node
        if tok.kind in ("word", "phrase"):
            return make_term(tok.value, fields, tok.column, quoted=tok.kind == "phrase")
        raise QueryError(f"unexpected {tok.value!r}", tok.column)


def make_term(text: str, fields: frozenset[str], column: int = 1, quoted: bool = False) -> Term:
    """A keyword as written ("neural operator", "tensor*") to a Term."""
    prefix = text.endswith("*")
    body = text.rstrip("*")
    ws = words(body)
    if not ws:
        raise QueryError(f"{text!r} has no letters or digits to match", column)
    if prefix and len(ws[-1]) < 2:
        raise QueryError(f"prefix {text!r} is too short (2 characters at least)", column)
    stems = tuple(singular(w) for w in ws[:-1]) + (ws[-1] if prefix else singular(ws[-1]),)
    label = f'"{text}"' if quoted and len(ws) > 1 else text
    return Term(stems, prefix, fields, label)


def parse_query(source: str, default_fields: frozenset[str] = DEFAULT_FIELDS) -> Node:
    return _Parser(source, default_fields).parse()


def keywords_query(
    keywords: tuple[str, ...],
    exclude: tuple[str, ...] = (),
    fields: frozenset[str] = DEFAULT_FIELDS,
) -> Node:
    """`keywords` (any of them; a multi-word keyword is a phrase) minus `exclude`."""
    anyof: Node = Or(tuple(make_term(k, fields) for k in keywords))
    if not exclude:
        return anyof
    return And((anyof, Not(Or(tuple(make_term(k, fields) for k in exclude)))))


class Doc:
    """A paper's fields as folded word lists, built once and shared by every watchlist."""

    __slots__ = ("stems", "raw", "stem_sets", "_sorted")

    def __init__(self, title: str, abstract: str, authors: str) -> None:
        self.raw: dict[str, list[str]] = {
            "title": words(title),
            "abstract": words(abstract),
            "author": words(authors),
        }
        self.stems = {f: [singular(w) for w in ws] for f, ws in self.raw.items()}
        self.stem_sets = {f: set(ws) for f, ws in self.stems.items()}
        self._sorted: dict[str, list[str]] = {}

    def has_prefix(self, field: str, prefix: str) -> bool:
        """Whether a word of `field` starts with `prefix` (binary search, built on demand)."""
        ordered = self._sorted.get(field)
        if ordered is None:
            ordered = self._sorted[field] = sorted(set(self.raw[field]))
        i = bisect_left(ordered, prefix)
        return i < len(ordered) and ordered[i].startswith(prefix)


def term_matches(term: Term, doc: Doc, field: str) -> bool:
    n = len(term.words)
    if n == 1:
        if term.prefix:
            return doc.has_prefix(field, term.words[0])
        return term.words[0] in doc.stem_sets[field]
    stems = doc.stems[field]
    first, last = term.words[0], term.words[-1]
    if first not in doc.stem_sets[field]:
        return False
    raw = doc.raw[field]
    for i in range(len(stems) - n + 1):
        if stems[i] == first and stems[i + 1 : i + n - 1] == list(term.words[1:-1]):
            end = raw[i + n - 1] if term.prefix else stems[i + n - 1]
            if end.startswith(last) if term.prefix else end == last:
                return True
    return False


def evaluate(node: Node, doc: Doc, hits: list[tuple[str, str]] | None = None) -> bool:
    """True if `doc` matches; appends (term, field) for every positive term that matched."""
    if isinstance(node, Term):
        if hits is None:
            return any(term_matches(node, doc, f) for f in node.fields)
        matched = False
        for field in FIELDS:
            if field in node.fields and term_matches(node, doc, field):
                matched = True
                hits.append((node.text, field))
        return matched
    if isinstance(node, And):
        return all(evaluate(c, doc, hits) for c in node.children)
    if isinstance(node, Or):
        if hits is None:
            return any(evaluate(c, doc) for c in node.children)
        results = [evaluate(c, doc, hits) for c in node.children]
        return any(results)
    return not evaluate(node.child, doc)
