from __future__ import annotations

import random

import pytest

from daemon.errors import QueryError
from daemon.match import Matcher, Rule, anchors
from daemon.query import Doc, evaluate, keywords_query, parse_query

TITLE = "Tensor-based Neural Operators for Schrödinger Equations"
ABSTRACT = "We study TensorNet and tensorial maps; queries over the Łojasiewicz inequality."
AUTHORS = "Ann Smith ; Bo Müller"

CASES = [
    ("tensor", True),
    ("Tensor", True),
    ("tensors", True),
    ("TENSOR", True),
    ("tensorial", True),
    ("tensornet", True),
    ("tensorne", False),
    ("tens", False),
    ("tensor*", True),
    ("tensorn*", True),
    ("neural operator", True),
    ('"neural operator"', True),
    ('"operator neural"', False),
    ('"neural operators"', True),
    ("operator neural", True),  # adjacent terms: AND, any order
    ("schrodinger", True),
    ("Schrödinger", True),
    ("SCHRÖDINGER", True),
    ("lojasiewicz", True),
    ("query", True),
    ("queries", True),
    ("equation", True),
    ("title:equation", True),
    ("abstract:equation", False),
    ("author:smith", True),
    ("author:muller", True),
    ("smith", False),
    ("tensor AND survey", False),
    ("tensor OR survey", True),
    ("NOT survey", True),
    ("tensor NOT tensorial", False),
    ("tensor AND NOT (survey OR review)", True),
    ("(survey OR neural) AND title:schrodinger*", True),
    ('title:("neural operator" OR transformer) author:smith', True),
    ("title:tensornet", False),
    ("abstract:tensornet", True),
    ("based", True),
    ("tensor-based", True),
    ('"tensor based neural"', True),
]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_query_table(query, expected):
    doc = Doc(TITLE, ABSTRACT, AUTHORS)
    assert evaluate(parse_query(query), doc) is expected


def test_whole_words_only():
    doc = Doc("TensorNet: a tensorial approach", "", "")
    assert not evaluate(parse_query("tensor"), doc)
    assert evaluate(parse_query("tensor*"), doc)


def test_hits_say_which_terms_matched_where():
    doc = Doc(TITLE, ABSTRACT, AUTHORS)
    hits: list[tuple[str, str]] = []
    assert evaluate(parse_query('tensor OR "neural operator" OR author:smith OR zzz'), doc, hits)
    assert hits == [("tensor", "title"), ('"neural operator"', "title"), ("smith", "author")]


def test_keywords_and_exclude():
    q = keywords_query(("quantum", "neural operator"), ("survey",))
    assert evaluate(q, Doc("Neural operators", "", ""))
    assert not evaluate(q, Doc("Neural operators: a survey", "", ""))
    assert not evaluate(q, Doc("Neural nets operate", "", ""))


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("(tensor", 8, "missing closing parenthesis"),
        ("tensor AND", 11, "expected a term"),
        ("tensor )", 8, "unexpected ')'"),
        ('"neural operator', 1, "unterminated phrase"),
        ("foo:tensor", 1, "unknown field 'foo'"),
        ("", 1, "empty query"),
        ("t*", 1, "too short"),
        ("tensor OR OR x", 11, "unexpected 'OR'"),
    ],
)
def test_syntax_errors_name_the_column(query, column, message):
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.column == column
    assert message in str(info.value)


def test_anchors():
    assert anchors(parse_query("a1 OR b2*")) == {("w", "a1"), ("p", "b2")}
    assert anchors(parse_query("NOT x")) is None
    assert anchors(parse_query('"graph neural network" AND NOT survey')) == {("w", "graph neural")}


VOCAB = [
    "tensor",
    "tensors",
    "network",
    "graph",
    "neural",
    "operator",
    "quantum",
    "survey",
    "agent",
    "agents",
    "diffusion",
    "model",
    "models",
    "learning",
]


def test_indexed_matcher_equals_brute_force():
    rng = random.Random(3)
    queries = []
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 3)):
            w = rng.choice(VOCAB)
            form = rng.random()
            term = f"{w[:4]}*" if form < 0.2 else f'"{w} {rng.choice(VOCAB)}"' if form < 0.4 else w
            parts.append(("NOT " if rng.random() < 0.15 else "") + term)
        queries.append(rng.choice([" AND ", " OR ", " "]).join(parts))
    rules = [Rule(str(i), parse_query(q)) for i, q in enumerate(queries)]
    matcher = Matcher(rules)
    for _ in range(200):
        title = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(2, 8)))
        abstract = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(0, 30)))
        doc = Doc(title, abstract, "")
        brute = {r.name for r in rules if evaluate(r.query, doc)}
        assert {h.watchlist for h in matcher.match(title, abstract, [])} == brute
