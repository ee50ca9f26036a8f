"""The search index against direct evaluation: every generated query gives, over a real
SQLite store, exactly the papers evaluating it on every stored paper gives, and the same
count of papers waiting for their abstract; with the index complete, behind (papers stored
since) and stale (papers whose text changed since they were indexed)."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from daemon.core.errors import QueryError
from daemon.core.models import Digest, Paper
from daemon.ingest.document import ingest_digest
from daemon.language.query import Doc, Node, decide, parse_query
from daemon.matching import search as search_module
from daemon.matching.search import catch_up, search, search_page
from daemon.store import Store
from tests.conftest import examples
from tests.test_match_property import ATOMS, OPERATORS, SEPARATORS

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NAMES = ["Ann Smith", "Bo Müller", "Chen Wei", "Dana O'Neil", "Émile Zola", "Li Na"]


def _text(rng: random.Random, n: int) -> str:
    words = [rng.choice(ATOMS) for _ in range(n)]
    return words[0] + "".join(rng.choice(SEPARATORS) + w for w in words[1:]) if words else ""


def _papers(rng: random.Random, n: int, start: int) -> list[Paper]:
    return [
        Paper(
            title=f"{_text(rng, rng.randint(2, 7))} {start + i}",
            abstract="" if rng.random() < 0.15 else _text(rng, rng.randint(5, 30)),
            authors=tuple(rng.sample(NAMES, rng.randint(0, 3))),
        )
        for i in range(n)
    ]


def _ingest(store: Store, papers: list[Paper], name: str) -> None:
    digest = Digest("text", tuple(papers))
    ingest_digest(store, digest, source="t", location=name, content_hash=name, now=NOW)


def _stores(tmp: Path) -> dict[str, Store]:
    rng = random.Random(7)
    first = _papers(rng, 400, 0)
    complete = Store(tmp / "complete" / "paperwatch.db")
    behind = Store(tmp / "behind" / "paperwatch.db")
    for store in (complete, behind):
        _ingest(store, first, "a")
    catch_up(behind)
    # title-only papers get their abstract, others a new title, and new papers arrive
    gained = [
        Paper(title=p.title, abstract=_text(rng, 12), authors=p.authors)
        for p in first
        if not p.abstract
    ]
    later = gained + _papers(rng, 60, 1000)
    for store in (complete, behind):
        _ingest(store, later, "b")
    catch_up(complete)
    state = behind.search_index.state()
    assert state.stale and state.indexed_up_to < behind.papers.max_id()
    assert not complete.search_index.state().stale
    return {"complete": complete, "behind": behind}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Store]:
    return _stores(tmp_path_factory.mktemp("search"))


_DOCS: dict[Path, list[tuple[int, Doc]]] = {}


def _docs(store: Store) -> list[tuple[int, Doc]]:
    """Every stored paper as direct evaluation reads it (kept: the store does not change
    under a test that calls this)."""
    found = _DOCS.get(store.path)
    if found is None:
        found = _DOCS[store.path] = [
            (r.id, Doc(r.title, r.abstract or "", r.authors)) for r in store.papers.iterate()
        ]
    return found


def _direct(store: Store, query: Node) -> tuple[list[int], int]:
    ids, waiting = [], 0
    for pid, doc in _docs(store):
        verdict = decide(query, doc)
        if verdict:
            ids.append(pid)
        elif verdict is None:
            waiting += 1
    return sorted(ids, reverse=True), waiting


@st.composite
def queries(draw: st.DrawFn, texts: list[str]) -> str:
    """Terms a reader would write after reading stored papers: spans of their words (a
    word, a compound, a phrase of up to six), maybe a prefix, a field, an operator."""
    found = []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.sampled_from(texts)).split()
        start = draw(st.integers(0, len(words) - 1))
        span = words[start : start + draw(st.integers(1, 6))]
        term = " ".join(span)
        if draw(st.integers(0, 4)) == 0:
            term = term[: len(term) - len(span[-1]) + draw(st.integers(2, 6))] + "*"
        term = term.replace('"', "")
        if " " in term:
            term = f'"{term}"'
        field = draw(st.sampled_from(["", "", "title:", "abstract:", "author:"]))
        found.append(field + term)
    ops = draw(st.lists(st.sampled_from(OPERATORS), min_size=len(found), max_size=len(found)))
    return found[0] + "".join(op + term for op, term in zip(ops[1:], found[1:], strict=True))


_TEXTS: dict[Path, list[str]] = {}


def _texts(store: Store) -> list[str]:
    """What queries are cut from (kept, as _docs are)."""
    found = _TEXTS.get(store.path)
    if found is None:
        rows = list(store.papers.iterate())
        found = _TEXTS[store.path] = (
            [r.title for r in rows] + [r.abstract for r in rows if r.abstract] + NAMES
        )
    return found


@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_search_equals_direct_evaluation(stores: dict[str, Store], data: st.DataObject) -> None:
    texts = _texts(stores["complete"])
    source = data.draw(queries(texts))
    try:
        query = parse_query(source)
    except QueryError:
        assume(False)
        return
    limit = data.draw(st.integers(1, 60), label="limit")
    chunk = data.draw(st.sampled_from([1, 3, 200]), label="chunk")
    since = data.draw(st.sampled_from([None, NOW.date(), NOW.date() + timedelta(days=1)]))
    for name, store in stores.items():
        direct = _direct(store, query)
        assert search(store, query) == direct, (name, source)
        # a page: the newest `limit` of them, however few candidates are read at a time
        with patch.object(search_module, "PAGE_CHUNK", chunk):
            page, waiting = search_page(store, query, limit, since=since)
        expected = direct[0][:limit] if since != NOW.date() + timedelta(days=1) else []
        assert ([r.id for r in page], waiting) == (expected, direct[1]), (name, source)


@pytest.mark.parametrize(
    "source",
    [
        '"graph neural network"',
        "tensor*",
        "tokeniz*",
        "NOT survey",
        "-matrix",
        "model -(data OR author:smith)",
        "author:müller",
        "author:mul*",
        "dataset",
        "C++",
        "YOLO",
        "infinite",
        "title:qwen2.5",
    ],
)
def test_chosen_queries_equal_direct_evaluation(stores: dict[str, Store], source: str) -> None:
    query = parse_query(source)
    for store in stores.values():
        assert search(store, query) == _direct(store, query)


def test_the_index_is_rebuilt_when_the_keys_change(tmp_path, monkeypatch):
    """Keys made by another version of the analysis are never used: the search reads every
    paper until catch_up has rebuilt them."""
    store = _stores(tmp_path)["complete"]
    query = parse_query('"data set" OR tokeniz*')
    expected = _direct(store, query)
    monkeypatch.setattr(search_module, "KEYS_VERSION", search_module.KEYS_VERSION + 1)
    assert search(store, query) == expected
    assert catch_up(store) == store.papers.max_id()
    assert store.search_index.state().version == search_module.KEYS_VERSION
    assert search(store, query) == expected


def test_a_title_only_paper_waits_for_its_abstract(tmp_path):
    """`title:quantum AND error` on a title-only "Quantum codes" is undecided: the abstract may
    say error. Counted as waiting, not as a match, whether indexed or not."""
    store = Store(tmp_path / "paperwatch.db")
    _ingest(store, [Paper(title="Quantum codes"), Paper(title="Classical codes")], "a")
    query = parse_query("title:quantum AND error")
    assert search(store, query) == ([], 1)
    catch_up(store)
    assert search(store, query) == ([], 1)
    _ingest(store, [Paper(title="Quantum codes", abstract="We correct each error.")], "b")
    assert search(store, query) == ([1], 0)


def test_a_search_matching_more_papers_than_sqlite_takes_parameters_lists_them(tmp_path):
    """`model` may match most of 100,000 stored papers; SQLite builds bound the number
    of parameters of a statement (32,766 by default, 999 before 3.32): listing them is
    one parameter. Here the bound is set to 999 and 2,000 papers match."""
    store = Store(tmp_path / "paperwatch.db")
    store.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    _ingest(store, [Paper(title=f"A model number {i}") for i in range(2_000)], "a")
    ids, _ = search(store, parse_query("model"))
    assert len(ids) == 2_000
    rows = store.papers.listing(ids=ids, limit=3)
    assert [r.id for r in rows] == [2_000, 1_999, 1_998]


# the keys of the papers below as each analysis makes them: a change to how keys are made
# must raise search.ANALYSIS (stored papers' keys are made again) and add its fingerprint
FINGERPRINTS = {2: "6c603e43496c8111", 3: "2766bb0aa30e7e2b", 4: "20f8fbb1c4cc4c16"}


def test_the_analysis_version_says_when_keys_change():
    """Issue 32, item 10: the index's version was a hash of text.py's and search.py's
    bytes (a comment edited rebuilt every paper's keys, 61 s per 100k) and missed the
    lemma table read. Now it is an explicit constant and the data: this test fails when
    keys change without it."""
    import hashlib
    import itertools

    from daemon.matching.search import ANALYSIS, paper_keys
    from tests.conftest import corpus_papers

    texts = [
        (p["title"], p["abstract"], p["authors"]) for p in itertools.islice(corpus_papers(), 300)
    ]
    texts.append(
        (
            "Schrödinger's C++ GPT-4o pre-training of genetic algorithms (GAs), OVAs",
            "BackgroundMatrices, analyses; colour tokenisation YOLOv8 ε-greedy "
            "ﬁne-tuning ＧＰＴ－４ τ² TGFβ NF-κB ϵ-greedy (μP)",
            ["Jürgen Müller-Lüdenscheidt", "M. Ro\u0308tig"],
        )
    )
    keys = [[sorted(field.split()) for field in paper_keys(t)] for t in texts]  # sets' order
    found = hashlib.sha256(repr(keys).encode()).hexdigest()[:16]
    assert FINGERPRINTS.get(ANALYSIS) == found, (
        f"paper keys changed: raise daemon.matching.search.ANALYSIS and add {found!r} for it"
    )


def test_an_ingest_and_a_serve_keep_the_index_current(tmp_path, cli, config_file):
    """Issue 32, item 9: a store filled by `ingest` was searched paper by paper (1.4 s a
    query over 4,790 papers) until a daemon's index pass ran, and `serve` never ran one.
    `ingest` indexes what it stored; `serve` catches up at start and after each write."""
    import threading

    from daemon.app import keep_index_current
    from tests.conftest import HF
    from tests.daemon_proc import wait_for

    config_file.write_text('state_dir = "state"\n')
    assert cli("ingest", str(HF / "api_daily_papers_2026-06-12.json")).code == 0
    db = config_file.parent / "state" / "paperwatch.db"
    with Store(db) as store:
        stored = store.papers.max_id()
        assert stored and store.search_index.state().indexed_up_to == stored
        _ingest(store, _papers(random.Random(3), 30, 0), "more")  # not indexed yet
        assert store.search_index.state().indexed_up_to == stored
    stop = threading.Event()
    serving = threading.Thread(target=keep_index_current, args=(db, stop, 0.05))
    serving.start()
    try:
        with Store(db) as store:
            assert wait_for(lambda: store.search_index.state().indexed_up_to == stored + 30, 10)
            _ingest(store, _papers(random.Random(4), 5, 100), "later")  # another process
            assert wait_for(lambda: store.search_index.state().indexed_up_to == stored + 35, 10)
    finally:
        stop.set()
        serving.join(5)
