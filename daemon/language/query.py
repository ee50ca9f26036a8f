"""The watchlist query language: parse to a small AST, evaluate on a paper's fields.

query   := or
or      := and ("OR" and)*
and     := not (["AND"] not)*          adjacent terms mean AND
not     := ("NOT" | "-") not | atom    `tensor -survey` is tensor NOT survey
atom    := [field ":"] (word | word* | "phrase" | "(" or ")")
field   := title | abstract | author   (default: title and abstract; no field in a field)

Words match by their forms (see daemon.language.text). A paper missing a field (no abstract yet)
is evaluated in three-valued logic: a term that could only be true there is unknown,
and so is any query whose answer depends on it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

from daemon.core.errors import QueryError
from daemon.language.text import Tokens, american, american_prefix, forms, parts, plain, tokenize

FIELDS = ("title", "abstract", "author")
DEFAULT_FIELDS = frozenset({"title", "abstract"})
MAX_DEPTH = 100  # nesting of parentheses and NOTs
MAX_QUERY = 4000  # characters in a query
MAX_TERM = 200  # characters in one word or phrase (no real one comes close)
MIN_SPLIT = 6  # a word this long also matches its two halves written apart, unless one
# half is a function word: "in finite" is not infinite, "over all" not overall
_FUNCTION_WORDS = """a about above across after again against all along also am among an and another
    any are around as at be been before being below beneath beside besides between beyond
    both but by can cannot could did do does down during each either else even ever every
    except for from get gets getting got had has have he her here him his how i if in
    inside into is it its just least less may me might more most much must my near neither
    never no nor not of off on once one only onto or other our out outside over own past
    per same shall she should since so some such than that the their them then there these
    they this those though through throughout till to too toward towards under unless
    until unto up upon us very via was we well were what when where whether which while
    who whom whose why will with within without would yet you your"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<neg>-)(?=[^\s)-])|"(?P<phrase>[^"]*)(?P<close>"?)'
    r"|(?P<field>[A-Za-z]+):|(?P<word>[^\s()\"]+))"
)
_OPERATORS = {"AND": "and", "OR": "or", "NOT": "not"}


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a compound or a phrase: the forms of each part (and, for author:, the
    parts only folded), the forms of the parts joined, and whether the last part is a
    prefix (of a word as written)."""

    words: tuple[tuple[str, ...], ...]
    plain: tuple[tuple[str, ...], ...]
    joined: tuple[str, ...]
    joined_plain: tuple[str, ...]
    prefix: bool
    fields: frozenset[str]
    text: str  # as written (a phrase in quotes): how alerts name the term
    split: str = ""  # a long word also written as two ("pretraining": pre training)

    @property
    def splits(self) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
        """The forms of each two halves of `split` ("dataset": data set, ...), made when
        asked: ten thousand watchlists would hold hundreds of thousands of them."""
        return _halves(self.split) if self.split else ()


@lru_cache(maxsize=1024)
def _halves(word: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    return tuple(
        (forms(word[:i]), forms(word[i:]))
        for i in range(2, len(word) - 1)
        if word[:i] not in FUNCTION_WORDS and word[i:] not in FUNCTION_WORDS
    )


def prefixes(written: str) -> tuple[str, ...]:
    """A prefix as written and in American spelling ("tokenis" -> tokenis, tokeniz)."""
    return tuple(dict.fromkeys((written, american_prefix(written))))


def starts(surface: str, wanted: tuple[str, ...]) -> bool:
    """Whether a word as written, or in American spelling, starts with a wanted prefix."""
    if surface.startswith(wanted):
        return True
    spelled = american(surface)
    return spelled != surface and spelled.startswith(wanted)


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
    kind: str  # lp rp neg phrase field word and or not
    value: str
    column: int


def tokenize_query(source: str) -> list[Tok]:
    """Tokens with 1-based columns, in one pass over the query."""
    if len(source) > MAX_QUERY:
        raise QueryError(f"query of {len(source):,} characters (at most {MAX_QUERY:,})", 1)
    toks, pos, end = [], 0, len(source.rstrip())
    while pos < end:
        m = _TOKEN.match(source, pos)
        assert m is not None  # the last alternative takes any run of non-space
        kind = m.lastgroup or ""
        if m.group("phrase") is not None:
            column = m.start("phrase")
            if not m.group("close"):
                raise QueryError("unterminated phrase (missing closing quote)", column)
            toks.append(Tok("phrase", m.group("phrase"), column))
        else:
            value = m.group(kind) or ""
            if kind == "word" and value in _OPERATORS:
                kind = _OPERATORS[value]
            toks.append(Tok(kind, value, m.start(m.lastgroup or 0) + 1))
        pos = m.end()
    return toks


class _Parser:
    def __init__(self, source: str, default_fields: frozenset[str]) -> None:
        self.source = source
        self.toks = tokenize_query(source)
        self.i = 0
        self.depth = 0
        self.default_fields = default_fields
        self.warnings: list[tuple[int, str]] = []  # (column, what)

    def peek(self, ahead: int = 0) -> Tok | None:
        i = self.i + ahead
        return self.toks[i] if i < len(self.toks) else None

    def end_column(self) -> int:
        return len(self.source.rstrip()) + 1

    def deeper(self, tok: Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"nested deeper than {MAX_DEPTH} levels", tok.column)

    def parse(self) -> Node:
        if not self.toks:
            raise QueryError("empty query", 1)
        node = self.parse_or(self.default_fields, False)
        tok = self.peek()
        if tok is not None:
            what = "closing parenthesis without an opening one" if tok.kind == "rp" else None
            raise QueryError(what or f"unexpected {tok.value or tok.kind!r}", tok.column)
        return node

    def parse_or(self, fields: frozenset[str], scoped: bool) -> Node:
        parts = [self.parse_and(fields, scoped)]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            parts.append(self.parse_and(fields, scoped))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self, fields: frozenset[str], scoped: bool) -> Node:
        parts = [self.parse_not(fields, scoped)]
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rp"):
            if tok.kind == "and":
                self.i += 1
            elif tok.kind == "word" and tok.value in ("and", "or", "not"):
                after = self.peek(1)
                if after is not None and after.kind not in ("rp", "or", "and"):
                    self.warnings.append(
                        (
                            tok.column,
                            f"lower-case {tok.value!r} is searched as a word; "
                            f"write {tok.value.upper()} for the operator",
                        )
                    )
            parts.append(self.parse_not(fields, scoped))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self, fields: frozenset[str], scoped: bool) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("not", "neg"):
            self.i += 1
            self.deeper(tok)
            node = Not(self.parse_not(fields, scoped))
            self.depth -= 1
            return node
        return self.parse_atom(fields, scoped)

    def parse_atom(self, fields: frozenset[str], scoped: bool) -> Node:
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
            if scoped:
                raise QueryError(f"field {tok.value}: inside another field", tok.column)
            node = self.parse_atom(frozenset({name}), True)
            if name == "author" and isinstance(node, Term) and len(node.words) == 1:
                self._name_hint(node)
            return node
        if tok.kind == "lp":
            self.deeper(tok)
            node = self.parse_or(fields, scoped)
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != "rp":
                raise QueryError("missing closing parenthesis for this one", tok.column)
            self.i += 1
            return node
        if tok.kind in ("word", "phrase"):
            return make_term(tok.value, fields, tok.column, quoted=tok.kind == "phrase")
        if tok.kind == "rp":
            raise QueryError("closing parenthesis without an opening one", tok.column)
        raise QueryError(f"expected a term after {tok.value!r}", tok.column)

    def _name_hint(self, term: Term) -> None:
        """`author:Rafal Kocielnik` searches Kocielnik anywhere: say so."""
        after = self.peek()
        if after is not None and after.kind == "word" and after.value[:1].isupper():
            self.warnings.append(
                (
                    after.column,
                    f"{after.value!r} is searched on its own; did you mean "
                    f'author:"{term.text} {after.value}"?',
                )
            )


def make_term(text: str, fields: frozenset[str], column: int = 1, quoted: bool = False) -> Term:
    """A keyword as written ("neural operator", "tensor*", "GPT-4") to a Term."""
    if len(text) > MAX_TERM:
        raise QueryError(f"a term of {len(text):,} characters (at most {MAX_TERM})", column)
    star = text.find("*")
    if star != -1 and star != len(text) - 1:
        raise QueryError(f"'*' only ends a word (prefix search), in {text!r}", column + star)
    prefix = star != -1
    body = text[:-1] if prefix else text
    parts = tokenize(body)
    author = tokenize(body, author=True)
    if not parts.forms:
        raise QueryError(f"{text!r} has no letters or digits to match", column)
    if prefix and (body[-1:].isspace() or len(parts.surface[-1]) < 2):
        raise QueryError(f"prefix {text!r} is too short (2 characters at least)", column)
    words = list(parts.forms)
    folded = list(author.forms)
    if prefix:  # the last part as written (and in American spelling), not as a lemma
        words[-1] = prefixes(parts.surface[-1])
        folded[-1] = (parts.surface[-1],)
    joined: tuple[str, ...] = ()
    joined_plain: tuple[str, ...] = ()
    if len(words) > 1:
        whole = "".join(parts.surface)
        joined = prefixes(whole) if prefix else forms(whole)
        joined_plain = (whole,) if prefix else plain(whole)
    label = f'"{text}"' if quoted and len(words) > 1 else text
    whole = parts.surface[0]
    long_word = len(words) == 1 and not prefix and len(whole) >= MIN_SPLIT and whole.isalpha()
    split = whole if long_word else ""
    return Term(tuple(words), tuple(folded), joined, joined_plain, prefix, fields, label, split)


def parse_query(source: str, default_fields: frozenset[str] = DEFAULT_FIELDS) -> Node:
    return _Parser(source, default_fields).parse()


def wanted_terms(node: Node) -> list[Term]:
    """The terms a match of `node` may have matched (those under a NOT left out), in
    order: what a search's results highlight."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for child in node.children for t in wanted_terms(child)]


def query_warnings(
    source: str, default_fields: frozenset[str] = DEFAULT_FIELDS
) -> list[tuple[int, str]]:
    """What in a valid query probably does not mean what it looks like: (column, what)."""
    parser = _Parser(source, default_fields)
    parser.parse()
    return parser.warnings


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


@dataclass
class Field:
    """One field of a paper, cut into parts, with the set of every form it holds."""

    tokens: Tokens
    author: bool = False
    words: set[str] = field(default_factory=set)
    _surfaces: list[str] | None = None

    def __post_init__(self) -> None:
        for fs in self.tokens.forms:
            self.words.update(fs)
        for fs, _, _, _ in self.tokens.joined:
            self.words.update(fs)

    def at(self, wanted: tuple[str, ...]) -> list[int]:
        """Where parts with one of these forms are, in order (a scan: most fields are
        asked once or twice, which costs less than indexing every part)."""
        forms = self.tokens.forms
        if len(wanted) == 1:
            w = wanted[0]
            return [i for i, fs in enumerate(forms) if w in fs]
        return [i for i, fs in enumerate(forms) if any(w in fs for w in wanted)]

    def has_prefix(self, wanted: tuple[str, ...]) -> bool:
        """Whether a word as written (or, but for authors, in American spelling) starts
        with one of the `wanted` prefixes (binary search, on demand)."""
        if self._surfaces is None:
            found = set(self.tokens.surface)
            found.update(s for _, s, _, _ in self.tokens.joined)
            if not self.author:
                found.update([american(s) for s in found])
            self._surfaces = sorted(found)
        for prefix in wanted:
            i = bisect_left(self._surfaces, prefix)
            if i < len(self._surfaces) and self._surfaces[i].startswith(prefix):
                return True
        return False


class Doc:
    """A paper's fields, each cut on first use and shared by every watchlist. `missing`
    holds the field the paper lacks (no abstract yet): terms there are unknown, not
    false."""

    __slots__ = ("texts", "authors", "_fields", "missing")

    def __init__(self, title: str, abstract: str, authors: list[str] | tuple[str, ...]) -> None:
        self.texts = {"title": title, "abstract": abstract}
        self.authors = authors
        self._fields: dict[str, Field] = {}
        # only the abstract comes later (a title-only card); no authors is none known
        self.missing = frozenset() if abstract else frozenset({"abstract"})

    @property
    def fields(self) -> Doc:
        return self  # doc.fields[name], as before: fields are made on demand

    def __getitem__(self, name: str) -> Field:
        found = self._fields.get(name)
        if found is None:
            if name == "author":
                tokens = Tokens()
                for i, author in enumerate(self.authors):
                    if i:
                        tokens.gap()  # a phrase never spans two authors
                    parts(author, author=True, into=tokens)
                found = Field(tokens, author=True)
            else:
                found = Field(parts(self.texts[name]))
            self._fields[name] = found
        return found


def _fits(
    part: tuple[str, ...], wanted: tuple[str, ...], prefix: bool, surface: str, author: bool
) -> bool:
    if prefix:
        return surface.startswith(wanted) if author else starts(surface, wanted)
    return any(w in wanted for w in part)


def term_spans(term: Term, f: Field) -> list[tuple[int, int]]:
    """Every (first part, last part) where `term` matches in `f`, for highlighting."""
    words = term.plain if f.author else term.words
    joined = term.joined_plain if f.author else term.joined
    t = f.tokens
    n, count = len(words), len(t.forms)
    last = n - 1
    found = []
    starts = range(count) if n == 1 and term.prefix else f.at(words[0])
    for i in starts:
        if i + n > count or (n > 1 and t.soft[i]):
            continue  # a phrase does not start inside a chunk's glued parts
        if all(
            _fits(t.forms[i + k], words[k], term.prefix and k == last, t.surface[i + k], f.author)
            for k in range(n)
        ):
            if n > 1 and i + n < count and t.soft[i + n]:
                continue  # nor end inside them: GPT-4 is not GPT-4o
            found.append((i, i + last))
    if n > 1:  # the phrase written as one word: "pre training" finds "pretraining"
        if term.prefix:
            found += [
                (i, i) for i in range(count) if _fits((), joined, True, t.surface[i], f.author)
            ]
        else:
            found += [(i, i) for i in f.at(joined)]
    elif not f.author:  # a long word written as two: "pretraining" finds "pre training"
        for first, second in term.splits:
            for i in f.at(first):
                if (
                    i + 1 < count
                    and not t.soft[i]
                    and not t.soft[i + 1]
                    and not (i + 2 < count and t.soft[i + 2])
                    and any(w in second for w in t.forms[i + 1])
                ):
                    found.append((i, i + 1))
    want = joined if n > 1 else words[0]
    found += [
        (first, end)
        for fs, surface, first, end in t.joined
        if _fits(fs, want, term.prefix, surface, f.author)
    ]
    return found


def term_matches(term: Term, f: Field) -> bool:
    words = term.plain if f.author else term.words
    if len(words) == 1:
        if term.prefix:
            return f.has_prefix(words[0])
        if not f.words.isdisjoint(words[0]):
            return True
        if f.author or not any(
            not f.words.isdisjoint(a) and not f.words.isdisjoint(b) for a, b in term.splits
        ):
            return False
        return bool(term_spans(term, f))
    joined = term.joined_plain if f.author else term.joined
    if f.has_prefix(joined) if term.prefix else not f.words.isdisjoint(joined):
        return True
    whole = words[:-1] if term.prefix else words
    if any(f.words.isdisjoint(w) for w in whole):
        return False  # a part is missing: no phrase
    return bool(term_spans(term, f))


def evaluate(node: Node, doc: Doc, hits: list[tuple[str, str]] | None = None) -> bool:
    """True if `doc` matches (missing fields count as empty); appends (term, field) for
    every positive term that matched."""
    if isinstance(node, Term):
        matched = False
        for name in FIELDS:
            if name in node.fields and term_matches(node, doc.fields[name]):
                matched = True
                if hits is None:
                    return True
                hits.append((node.text, name))
        return matched
    if isinstance(node, And):
        return all(evaluate(c, doc, hits) for c in node.children)
    if isinstance(node, Or):
        if hits is None:
            return any(evaluate(c, doc) for c in node.children)
        results = [evaluate(c, doc, hits) for c in node.children]
        return any(results)
    return not evaluate(node.child, doc)


def decide(node: Node, doc: Doc) -> bool | None:
    """Three-valued: True or False whatever the missing fields could hold, else None."""
    if not doc.missing:
        return evaluate(node, doc)
    if isinstance(node, Term):
        if any(term_matches(node, doc.fields[n]) for n in node.fields if n not in doc.missing):
            return True
        return None if node.fields & doc.missing else False
    if isinstance(node, Not):
        inner = decide(node.child, doc)
        return None if inner is None else not inner
    results = [decide(c, doc) for c in node.children]
    if isinstance(node, And):
        if False in results:
            return False
        return None if None in results else True
    if True in results:
        return True
    return None if None in results else False


Synonyms = tuple[tuple[str, ...], ...]  # groups of terms that say the same, as written


def with_synonyms(node: Node, groups: Synonyms) -> tuple[Node, list[str]]:
    """`node` with each term that is one of a group's (the same word forms; a prefix is
    not) also matching the group's others, as Elasticsearch's synonym filter does at
    query time: `LLM` -> (LLM OR "large language model"); and what was added, a line a
    term, for `preview` to say."""
    if not groups:
        return node, []
    by_words: dict[tuple[tuple[str, ...], ...], tuple[str, ...]] = {}
    for group in groups:
        for member in group:
            by_words[make_term(member, DEFAULT_FIELDS).words] = group
    said: list[str] = []

    def expand(n: Node) -> Node:
        if isinstance(n, And):
            return And(tuple(map(expand, n.children)))
        if isinstance(n, Or):
            return Or(tuple(map(expand, n.children)))
        if isinstance(n, Not):
            return Not(expand(n.child))
        group = by_words.get(n.words) if not n.prefix else None
        if group is None:
            return n
        others = [m for m in group if make_term(m, n.fields).words != n.words]
        said.append(f"{n.text}: also {', '.join(others)} (synonyms)")
        return Or((n, *(make_term(m, n.fields) for m in others)))

    return expand(node), said
