"""The indexed matcher against direct evaluation, property-based: generated queries in
generated company (alone, a few, thousands) on generated texts, with default and tiny
caches. Texts and queries are built from the same atoms in every way a paper writes
them (apart, hyphenated, glued, letters against digits, British and American, split
words, versions), so a class of query the matcher's tables skip cannot hide behind the
company it keeps: the old blind spot (a three-word phrase alone) fails here."""

from __future__ import annotations

import random
from functools import cache, partial

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from daemon.core.errors import QueryError
from daemon.language.query import FIELDS as QUERY_FIELDS
from daemon.language.query import Doc, Node, Not, Term, decide, evaluate, parse_query, term_matches
from daemon.language.text import Cache
from daemon.matching.match import Matcher, Rule
from tests.conftest import examples as proof_examples

# words papers are made of, with the forms, spellings and splits that make matching hard
_ATOMS = (
    "graph neural network networks vision language model models learning context test time "
    "scaling data set dataset datasets datum pre training pretraining pretrained fine tuning "
    "finetuning tuned multi agent agents multiagent self supervised in finite infinite over "
    "all overall not able notable for getting forgetting stance instance active inactive "
    "tokenisation tokenization tokenise tokenize quantised quantized quantisation optimiser "
    "optimizer optimisers promise promising exercise analysis analyses matrix matrices axis "
    "axes GPT 4 4o o mini Qwen Qwen2 2 5 7B VL YOLO v8 YOLOv8 C++ C++17 C 3D D GPU GPUs LLM "
    "LLMs news new colour color Schrödinger schrodinger tensor tensors TensorNet behaviour "
    "behavior the of a"
)
ATOMS = _ATOMS.split()
SEPARATORS = [" ", " ", " ", "-", "", ". ", ", ", " (", "/", "‐"]  # "" glues
QUERY_JOINS = [" ", " ", "-", ""]
FIELDS = ["", "", "", "title:", "abstract:", "author:"]
OPERATORS = [" ", " AND ", " OR ", " NOT ", " -", " OR NOT "]

# Texts and terms are drawn as bytes and read as indices (a word of the example's
# alphabet, a separator): one draw each, which hypothesis shrinks well, where a draw per
# word would cost more than the matching it feeds.
_ALPHABET = st.lists(st.sampled_from(ATOMS), min_size=1, max_size=8, unique=True)
_TEXTS = {n: st.binary(max_size=2 * n + 1) for n in (3, 6, 16)}  # + where the term goes
_TERM = st.binary(min_size=4, max_size=15)  # kind, prefix length, field, then word pairs
_QUERY = st.lists(st.tuples(_TERM, st.integers(0, len(OPERATORS) - 1)), min_size=1, max_size=3)
Paper = tuple[str, str, list[str]]


def _text(drawn: bytes, words: list[str], said: list[str]) -> str:
    """Atoms written in a row with separators; an odd byte left over puts the term's
    words in it (at that place)."""
    items = [
        (words[drawn[i] % len(words)], SEPARATORS[drawn[i + 1] % len(SEPARATORS)])
        for i in range(0, len(drawn) - 1, 2)
    ]
    if len(drawn) % 2:
        at = drawn[-1] % (len(items) + 1)
        items[at:at] = [(word, " ") for word in said]
    return "".join((sep if i else "") + word for i, (word, sep) in enumerate(items))


def _term(drawn: bytes, words: list[str]) -> tuple[str, list[str]]:
    """A word, a compound or a phrase of up to six parts, maybe ending in a prefix
    (of 2 to 9 letters), maybe in a field; and its atoms."""
    kind, cut, field, pairs = drawn[0], 2 + drawn[1] % 8, drawn[2], drawn[3:]
    said = [words[w % len(words)] for w in pairs[::2]]
    joins = [QUERY_JOINS[j % len(QUERY_JOINS)] for j in pairs[1::2]]
    term = said[0] + "".join(j + w for j, w in zip(joins, said[1:], strict=False))
    if kind % 6 == 0:
        keep = len(term) - len(said[-1]) + min(cut, len(said[-1]))
        term = term[:keep].rstrip("-+ ") + "*"
    if " " in term:
        term = f'"{term}"'
    return FIELDS[field % len(FIELDS)] + term, said


def _query(drawn: list[tuple[bytes, int]], words: list[str]) -> tuple[str, list[str]]:
    """A query of one to three terms, and the atoms of its first term."""
    found = [(_term(term, words), OPERATORS[op]) for term, op in drawn]
    query = "".join((op if i else "") + term for i, ((term, _), op) in enumerate(found))
    return query, found[0][0][1]


@st.composite
def examples(draw: st.DrawFn, company: int) -> tuple[str, list[str], list[Paper]]:
    """A query, up to `company` others, and papers, all over one small alphabet of atoms
    (so that phrases occur), the papers often saying the query's first term."""
    words = draw(_ALPHABET)
    query, said = _query(draw(_QUERY), words)
    others = [_query(q, words)[0] for q in draw(st.lists(_QUERY, max_size=company))]
    found = []
    for title, abstract, authors, has_abstract in draw(
        st.lists(
            st.tuples(_TEXTS[6], _TEXTS[16], st.lists(_TEXTS[3], max_size=3), st.booleans()),
            min_size=1,
            max_size=6,
        )
    ):
        found.append(
            (
                _text(title, words, said),
                _text(abstract, words, said) if has_abstract else "",  # "": a title-only card
                [_text(a, words, said) for a in authors],
            )
        )
    return query, others, found


def _rules(sources: list[str], start: int = 0) -> list[Rule]:
    rules = []
    for i, source in enumerate(sources, start):
        try:
            rules.append(Rule(str(i), parse_query(source)))
        except QueryError:
            continue  # a prefix of one letter, a term of no letters: not a query
    return rules


def matched_terms(node: Node, doc: Doc) -> tuple[tuple[str, str], ...]:
    """What a hit says matched, by direct evaluation: each term not under a NOT that
    matches, with each field it matches in, once, in the query's order."""
    found: list[tuple[str, str]] = []

    def walk(n: Node) -> None:
        if isinstance(n, Term):
            found.extend(
                (n.text, name)
                for name in QUERY_FIELDS
                if name in n.fields and term_matches(n, doc.fields[name])
            )
        elif not isinstance(n, Not):
            for child in n.children:
                walk(child)

    walk(node)
    return tuple(dict.fromkeys(found))


def _agrees(matcher: Matcher, rules: list[Rule], found: list[Paper]) -> None:
    """Every paper's hits are what direct evaluation says, with the same undecided and
    the same terms matched in the same fields (what the alert says and highlights)."""
    batch = matcher.match_batch(found)
    for p, (title, abstract, authors) in enumerate(found):
        doc = Doc(title, abstract, authors)
        direct = {}
        for rule in rules:
            if evaluate(rule.query, doc):
                direct[rule.name] = (
                    decide(rule.query, doc) is None,
                    matched_terms(rule.query, doc),
                )
        indexed = {h.watchlist: (h.undecided, h.matched) for h in batch.hits(p)}
        assert indexed == direct, (title, abstract, authors)


def _tiny(matcher: Matcher) -> Matcher:
    """Caches that start a new generation every few pieces (as a huge file makes them)."""
    matcher._pieces = {a: Cache(partial(matcher._piece, author=a), 3) for a in (False, True)}
    return matcher


@settings(
    max_examples=proof_examples(450),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(example=examples(10), tiny=st.booleans())
def test_a_query_alone_or_in_company_matches_as_direct_evaluation(
    example: tuple[str, list[str], list[Paper]], tiny: bool
) -> None:
    query, company, found = example
    target = _rules([query])
    assume(target)
    for rules in (target, target + _rules(company, 1)):  # alone, then among the others
        matcher = Matcher(rules)
        _agrees(_tiny(matcher) if tiny else matcher, rules, found)


def _pool(n: int, seed: int) -> list[str]:
    """`n` queries drawn as hypothesis draws them, but by a seeded generator (a large
    company built once)."""
    rng = random.Random(seed)

    def term() -> str:
        words = [rng.choice(ATOMS) for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6]))]
        found = words[0] + "".join(rng.choice(QUERY_JOINS) + w for w in words[1:])
        if rng.random() < 0.15 and len(words[-1]) > 2:
            found = found[: len(found) - len(words[-1]) + 2] + "*"
        return rng.choice(FIELDS) + (f'"{found}"' if " " in found else found)

    return [
        term() + "".join(rng.choice(OPERATORS) + term() for _ in range(rng.choice([0, 0, 1, 2])))
        for _ in range(n)
    ]


@cache
def pool() -> list[Rule]:
    """Ten thousand queries, built once per process (not at import: every xdist worker
    collects this module)."""
    return _rules(_pool(10_000, 20))


@settings(
    max_examples=proof_examples(3), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(example=examples(4))
def test_queries_among_ten_thousand_match_as_direct_evaluation(
    example: tuple[str, list[str], list[Paper]],
) -> None:
    query, others, found = example
    rules = _rules([query, *others], len(pool())) + pool()
    _agrees(Matcher(rules), rules, found)


def test_a_three_word_phrase_alone_finds_its_papers():
    """The blind spot of the matcher before issue 20: with no two-word phrase in its
    company, a three-word phrase was never looked up."""
    found: list[tuple[str, str, list[str]]] = [
        ("Graph neural networks for molecules", "We study graph neural networks.", []),
        ("A vision language model", "", []),
        ("In-context learning at test-time scaling", "Test time scaling laws", []),
        ("Neural graph networks", "A graph of neural networks", []),
    ]
    for query, expected in [
        ('"graph neural network"', [True, False, False, False]),
        ('"vision language model"', [False, True, False, False]),
        ('"in-context learning"', [False, False, True, False]),
        ('"test-time scaling"', [False, False, True, False]),
    ]:
        batch = Matcher([Rule("w", parse_query(query))]).match_batch(found)
        assert [bool(batch.hits(p)) for p in range(len(found))] == expected, query
