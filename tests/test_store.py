from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

import pytest

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper
from daemon.ingest.document import ingest_bytes, ingest_digest
from daemon.language.query import parse_query
from daemon.matching.search import catch_up, search
from daemon.store import Store
from tests.conftest import HF, TEXT

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "paperwatch.db")
    yield s
    s.close()


def ingest_file(store, path, source="test"):
    return ingest_bytes(
        store,
        path.read_bytes(),
        name=path.name,
        source=source,
        location=str(path),
        ref_time=NOW,
        now=NOW,
    )


def test_text_fixtures_give_194_distinct_papers_idempotently(store):
    results = [ingest_file(store, p) for p in sorted(TEXT.glob("*.txt"))]
    assert sum(len(r.new) for r in results) == 194
    assert store.papers.counts()["papers"] == 194
    assert store.papers.counts()["sightings"] == 40 + 119 + 62
    again = [ingest_file(store, p) for p in sorted(TEXT.glob("*.txt"))]
    assert all(r.duplicate and not r.new and not r.gained for r in again)
    assert store.papers.counts()["papers"] == 194
    assert store.papers.counts()["sightings"] == 221


def test_same_content_under_another_name_adds_nothing(store, tmp_path):
    ingest_file(store, TEXT / "000_a4df948192ebdd8e.txt")
    copy = tmp_path / "copy.txt"
    copy.write_bytes((TEXT / "000_a4df948192ebdd8e.txt").read_bytes())
    assert ingest_file(store, copy).duplicate
    assert store.papers.counts()["sightings"] == 40


def test_listing_then_api_keeps_30_papers_with_everything(store):
    first = ingest_file(store, HF / "listing_2026-06-12.html")
    second = ingest_file(store, HF / "api_daily_papers_2026-06-12.json")
    assert len(first.new) == 30 and not second.new and not second.gained
    rows = store.papers.listing()
    assert len(rows) == 30
    assert all(r.arxiv_id and r.abstract and r.authors for r in rows)
    assert all(r.sightings == 2 for r in rows)


def test_dom_only_then_api_attaches_abstracts_as_gained(store):
    first = ingest_file(store, HF / "listing_dom_only_2026-08-03.html")
    assert len(first.new) == 3
    assert all(r.abstract == "" for r in store.papers.listing())
    second = ingest_file(store, HF / "api_daily_papers_2026-08-03.json")
    assert second.new == [] and sorted(second.gained) == sorted(first.new)
    rows = store.papers.listing()
    assert len(rows) == 3
    assert all(r.abstract and len(r.authors) >= 5 for r in rows)


def test_text_paper_later_seen_with_arxiv_id_is_merged(store):
    title = "Tensor Dropout for Robust Learning"
    abstract = "CNNs achieve remarkable performance " * 5
    dump = Digest("text", (Paper(title=title, abstract=abstract),))
    first = ingest_digest(store, dump, source="t", location="a", content_hash="h1", now=NOW)
    api = Digest(
        "hf_json",
        (
            Paper(
                title=title.upper() + "!",
                abstract=abstract,
                arxiv_id="2101.00001",
                authors=("A B",),
                url="https://huggingface.co/papers/2101.00001",
            ),
        ),
    )
    second = ingest_digest(store, api, source="t", location="b", content_hash="h2", now=NOW)
    assert second.new == [] and second.gained == first.new
    [row] = store.papers.listing()
    assert row.arxiv_id == "2101.00001" and row.title == title
    assert row.sightings == 2
    # and a later text dump of the same title finds the row that now has an id
    third = ingest_digest(store, dump, source="t", location="c", content_hash="h3", now=NOW)
    assert third.new == [] and store.papers.counts()["papers"] == 1


def test_different_ids_same_title_stay_two_papers(store):
    a = Paper(title="Attention Is All You Need", arxiv_id="1706.03762")
    b = Paper(title="Attention is all you need", arxiv_id="2401.00002")
    result = ingest_digest(
        store, Digest("hf_json", (a, b)), source="t", location="x", content_hash="h", now=NOW
    )
    assert len(result.new) == 2


def test_duplicates_inside_one_document_are_one_paper(store):
    p = Paper(title="Same", abstract="x" * 80)
    result = ingest_digest(
        store, Digest("text", (p, p)), source="t", location="x", content_hash="h", now=NOW
    )
    assert len(result.new) == 1 and store.papers.counts()["sightings"] == 1


@pytest.mark.parametrize(
    "data", [b"", b"\x00\xff garbage", b'{"x": 1}', b"<!doctype html><html><body>"]
)
def test_bad_document_leaves_papers_and_sightings_unchanged(store, data, tmp_path):
    ingest_file(store, TEXT / "000_a4df948192ebdd8e.txt")
    before = store.papers.counts()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(data)
    with pytest.raises(ParseError):
        ingest_file(store, bad)
    after = store.papers.counts()
    assert after["papers"] == before["papers"] and after["sightings"] == before["sightings"]
    err = store.conn.execute("SELECT error FROM documents ORDER BY id DESC").fetchone()[0]
    assert err.startswith("bad.txt: ")


def test_failed_hook_rolls_back_the_whole_document(store):
    def boom(store, ids, now):
        raise RuntimeError("crash in the middle")

    digest = Digest("text", (Paper(title="T", abstract="y" * 80),))
    with pytest.raises(RuntimeError):
        ingest_digest(
            store, digest, source="t", location="x", content_hash="h", now=NOW, on_change=boom
        )
    assert store.papers.counts() == {"papers": 0, "sightings": 0, "documents": 0}


def test_migrations_are_named_and_applied_once(tmp_path):
    path = tmp_path / "db.sqlite"
    Store(path).close()
    store = Store(path)
    assert store.migrations()[0] == "0001_papers_sightings_documents"
    assert store.migrate() == []
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def _schema(path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        return [tuple(row) for row in found]


def test_a_new_database_is_the_one_the_migrations_make_and_appears_whole(
    tmp_path, monkeypatch, caplog
):
    """A new store is a copy of the empty database migrated once per process
    (daemon.store._place_new): the same schema and migration record as migrating the
    file itself; one another process made first is kept; where no link can be made the
    file is migrated as before; nothing is left beside it."""
    import os

    import sqlite_utils

    from daemon.store import _place_new, schema

    migrated = tmp_path / "migrated.db"
    with sqlite3.connect(migrated, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")
        schema.migrate(sqlite_utils.Database(conn))
        conn.execute("COMMIT")
    copied = tmp_path / "copied.db"
    with Store(copied) as store:
        assert store.migrate() == [] and store.migrations() == schema.applied(
            sqlite_utils.Database(migrated)
        )
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.conn.execute("INSERT INTO source_state (name) VALUES ('kept')")
    assert _schema(copied) == _schema(migrated)
    _place_new(copied)  # made meanwhile by another process: kept as it is
    with Store(copied) as store:
        assert store.conn.execute("SELECT name FROM source_state").fetchone()[0] == "kept"

    def no_link(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    unlinked = tmp_path / "unlinked.db"
    with caplog.at_level(logging.INFO), Store(unlinked) as store:
        assert "database_not_copied" in caplog.text and "PermissionError" in caplog.text
        assert store.migrations() == schema.applied(sqlite_utils.Database(migrated))
    assert _schema(unlinked) == _schema(migrated)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "copied.db",
        "migrated.db",
        "unlinked.db",
    ]


def test_a_migration_runs_every_statement_as_sqlite_would(tmp_path):
    """Migrations cut their scripts at semicolons (sqlite-utils' own cut is quadratic): a
    semicolon inside a string, a comment or a trigger's body ends no statement, the
    database is the one sqlite3's executescript makes, and an unfinished statement is an
    error, not a statement dropped."""
    import sqlite_utils

    from daemon.store.schema import _script

    script = """
    CREATE TABLE t (a TEXT DEFAULT ';', b INTEGER); -- a comment; with a semicolon
    CREATE TRIGGER t_in AFTER INSERT ON t BEGIN
        UPDATE t SET b = 1 WHERE rowid = new.rowid; INSERT INTO u VALUES ('x;y');
    END;
    CREATE TABLE u (v TEXT);
    INSERT INTO t (a) VALUES ('one;two');
    """
    ours = sqlite_utils.Database(tmp_path / "ours.db")
    with ours.conn:
        _script(ours, script)
    theirs = sqlite3.connect(tmp_path / "theirs.db")
    theirs.executescript(script)
    for query in (
        "SELECT sql FROM sqlite_master ORDER BY name",
        "SELECT * FROM t",
        "SELECT * FROM u",
    ):
        assert ours.execute(query).fetchall() == theirs.execute(query).fetchall()
    assert ours.execute("SELECT * FROM u").fetchall() == [("x;y",)]
    with pytest.raises(sqlite3.OperationalError, match="incomplete statement"):
        _script(ours, "CREATE TABLE w (x TEXT); CREATE TRIGGER w_in AFTER INSERT ON w BEGIN")


# The schema and migration record exactly as the hand-written runner of the previous
# main wrote them (daemon/store.py before sqlite-utils' Migrations).
OLD_MAIN_SCHEMA = """
CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE papers (id INTEGER PRIMARY KEY, arxiv_id TEXT UNIQUE, title_key TEXT NOT NULL,
    title_hash INTEGER NOT NULL, title TEXT NOT NULL, abstract TEXT NOT NULL DEFAULT '',
    authors TEXT NOT NULL DEFAULT '[]', url TEXT, hf_day TEXT, upvotes INTEGER,
    first_seen TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX papers_title_hash ON papers(title_hash);
CREATE TABLE documents (id INTEGER PRIMARY KEY, source TEXT NOT NULL, location TEXT NOT NULL,
    content_hash TEXT NOT NULL, kind TEXT, page_day TEXT, fetched_at TEXT NOT NULL,
    papers INTEGER NOT NULL DEFAULT 0, new INTEGER NOT NULL DEFAULT 0,
    gained INTEGER NOT NULL DEFAULT 0, error TEXT);
CREATE INDEX documents_hash ON documents(content_hash);
CREATE TABLE pages (id INTEGER PRIMARY KEY, source TEXT NOT NULL, location TEXT NOT NULL,
    page_day TEXT NOT NULL, UNIQUE (source, location, page_day));
CREATE TABLE sightings (paper_id INTEGER NOT NULL REFERENCES papers(id),
    page_id INTEGER NOT NULL REFERENCES pages(id),
    document_id INTEGER NOT NULL REFERENCES documents(id), fetched_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, page_id)) WITHOUT ROWID;
CREATE TABLE matches (id INTEGER PRIMARY KEY, watchlist TEXT NOT NULL,
    paper_id INTEGER NOT NULL REFERENCES papers(id), matched TEXT NOT NULL,
    created_at TEXT NOT NULL, UNIQUE (watchlist, paper_id));
CREATE TABLE deliveries (id INTEGER PRIMARY KEY, match_id INTEGER NOT NULL REFERENCES matches(id),
    channel TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, due_at TEXT NOT NULL, last_error TEXT,
    created_at TEXT NOT NULL, sent_at TEXT, UNIQUE (match_id, channel));
CREATE INDEX deliveries_due ON deliveries(status, due_at);
CREATE TABLE source_state (name TEXT PRIMARY KEY, last_poll_at TEXT, last_success_at TEXT,
    last_result TEXT, last_error TEXT, consecutive_failures INTEGER NOT NULL DEFAULT 0,
    retry_after TEXT, next_run_at TEXT, failure_alerted INTEGER NOT NULL DEFAULT 0,
    etag TEXT, last_modified TEXT);
INSERT INTO _migrations VALUES ('0001_papers_sightings_documents', '2026-11-01T00:00:00+00:00'),
    ('0002_matches_deliveries', '2026-11-01T00:00:00+00:00'),
    ('0003_source_state', '2026-11-01T00:00:00+00:00');
"""


OLD_MAIN_ROWS = """
INSERT INTO papers VALUES (1, '2606.00467', 'a paper', 42, 'A Paper', 'About tensors.',
    '["A B"]', 'https://huggingface.co/papers/2606.00467', '2026-06-12', 3,
    '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00');
INSERT INTO documents (id, source, location, content_hash, kind, page_day, fetched_at, papers)
    VALUES (1, 'hf', 'api', 'h1', 'hf_json', '2026-06-12', '2026-11-01T00:00:00+00:00', 1);
INSERT INTO pages VALUES (1, 'hf', 'api', '2026-06-12');
INSERT INTO sightings VALUES (1, 1, 1, '2026-11-01T00:00:00+00:00');
INSERT INTO matches VALUES (1, 'w', 1, '[["tensor", "abstract"]]', '2026-11-01T00:00:00+00:00');
INSERT INTO deliveries (match_id, channel, due_at, created_at)
    VALUES (1, 'c', '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00');
INSERT INTO source_state (name, etag) VALUES ('hf', '"v1"');
"""


def test_database_of_the_previous_main_migrates_without_loss(tmp_path):
    path = tmp_path / "paperwatch.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(OLD_MAIN_SCHEMA + OLD_MAIN_ROWS)
    old.close()
    with Store(path) as store:
        assert store.migrations() == [
            "0001_papers_sightings_documents",
            "0002_matches_deliveries",
            "0003_source_state",
            "0004_delivery_claims",
            "0005_source_details_and_watch",
            "0006_undecided_matches",
            "0007_arxiv_versions_and_title_lookups",
            "0008_similar_watchlists",
            "0009_search_index",
            "0010_similar_starts_and_rescoring",
            "0011_similar_votes",
            "0012_doi_identity",
            "0013_paper_day",
            "0014_latex_as_unicode",
            "0015_paper_marks",
            "0016_paper_ids_never_reused_skipped_papers",
            "0017_pubmed_identity",
            "0018_citations",
            "0019_config_state",
            "0020_paper_kind",
        ]
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
        assert "_migrations" not in tables
        assert store.papers.counts() == {"papers": 1, "sightings": 1, "documents": 1}
        [paper] = store.papers.listing()
        assert paper.arxiv_id == "2606.00467" and paper.upvotes == 3
        assert paper.day == "2026-06-12"  # its Hugging Face day, filled by the migration
        [alert] = store.deliveries.listing()
        assert alert.status == "pending" and alert.match.paper.title == "A Paper"
        assert store.sources.get("hf").etag == '"v1"'
        # and it keeps working: the same paper again is a sighting, not a second paper
        digest = Digest("hf_json", (Paper(title="A paper", arxiv_id="2606.00467"),))
        result = ingest_digest(store, digest, source="t", location="x", content_hash="h2", now=NOW)
        assert result.new == [] and store.papers.counts()["papers"] == 1
        # and its papers are searchable, before and after the index is built
        assert search(store, parse_query("tensor")) == ([1], 0)
        assert catch_up(store) == 1 and search(store, parse_query("tensor")) == ([1], 0)
    with Store(path) as again:  # opening twice migrates once
        assert again.migrate() == []


# -- identity beyond arXiv (issue 24, item 5) -----------------------------------------------


def _ingest(store, tag: str, *papers: Paper):
    digest = Digest("test", papers)
    return ingest_digest(store, digest, source="t", location=tag, content_hash=tag, now=NOW)


def test_a_paper_known_by_doi_is_one_paper_whatever_the_doi_is_written_like(store):
    doi = "10.1101/2026.08.01.123456"
    first = _ingest(store, "a", Paper(title="Gut Microbes and Sleep", doi=doi))
    again = _ingest(
        store,
        "b",
        Paper(title="Gut microbes and sleep (v2)", abstract="We sequence.", doi=doi.upper()),
        Paper(title="Another Preprint", doi="https://doi.org/10.1101/2026.08.02.000001"),
    )
    assert len(first.new) == 1 and again.new == [first.new[0] + 1]  # by DOI, not title
    assert again.gained == first.new
    rows = {r.id: r for r in store.papers.listing()}
    assert rows[first.new[0]].doi == doi and rows[first.new[0]].abstract == "We sequence."
    assert rows[first.new[0] + 1].doi == "10.1101/2026.08.02.000001"


def test_arxivs_own_doi_is_its_arxiv_id_and_a_journal_doi_joins_the_arxiv_paper(store):
    [pid] = _ingest(store, "a", Paper(title="Sparse Probes", doi="10.48550/arXiv.2608.00001")).new
    assert _ingest(store, "b", Paper(title="Sparse probes!", arxiv_id="2608.00001")).new == []
    journal = "10.1145/3700000.3700001"
    _ingest(store, "c", Paper(title="Sparse Probes", arxiv_id="2608.00001", doi=journal))
    assert (
        _ingest(store, "d", Paper(title="Sparse Probes (journal version)", doi=journal)).new == []
    )
    [row] = store.papers.listing()
    assert (row.id, row.arxiv_id, row.doi) == (pid, "2608.00001", journal)
    assert store.papers.find(None, "", doi=journal) == pid


def test_same_title_with_two_dois_is_two_papers(store):
    same = "A Survey of Protein Language Models"
    two = _ingest(
        store, "a", Paper(title=same, doi="10.1101/1"), Paper(title=same, doi="10.1101/2")
    )
    assert len(two.new) == 2


@pytest.mark.parametrize("doi_first", [True, False])
def test_an_arxiv_row_and_a_doi_row_seen_as_one_paper_become_one(store, doi_first):
    """An arXiv-only row and a DOI-only row (different titles, so no title match), then a
    sighting with both ids: one row, the older, with both ids, every sighting, the
    abstract only one had, its matches and votes; a match both had is kept once, its
    unsent duplicate dropped; the search index follows."""
    arxiv = Paper(title="Tensor Sketches", arxiv_id="2608.00009", authors=("A. Lee",))
    doi = Paper(title="Tensor sketch preprint", doi="10.1101/9", abstract="We sketch tensors.")
    older, newer = (doi, arxiv) if doi_first else (arxiv, doi)
    [first] = _ingest(store, "a", older).new
    [second] = _ingest(store, "b", newer).new
    with store.transaction():
        for pid in (first, second):
            store.deliveries.add_matches([("w", pid, '[["tensor", "title"]]', 0, None, None)], "t")
        [(mid, _)] = store.deliveries.add_matches(
            [("only-newer", second, '[["sketch", "title"]]', 0, None, None)], "t"
        )
        store.deliveries.add_all_deliveries([(mid, "c", "t")], "t")
        store.similar.vote("v", second, -1, "t")
    both = _ingest(
        store, "c", Paper(title="Tensor Sketches", arxiv_id="2608.00009", doi="10.1101/9")
    )
    assert both.new == [] and both.gained == [first]
    [row] = store.papers.listing()
    assert (row.id, row.arxiv_id, row.doi, row.sightings) == (first, "2608.00009", "10.1101/9", 3)
    assert row.abstract == "We sketch tensors." and row.authors == ("A. Lee",)
    matches = store.conn.execute("SELECT watchlist, paper_id FROM matches ORDER BY watchlist")
    assert [tuple(m) for m in matches] == [("only-newer", first), ("w", first)]
    assert [d.match.paper.id for d in store.deliveries.listing()] == [first]
    assert store.similar.votes("v") == {first: -1}
    catch_up(store)
    assert search(store, parse_query("sketch"))[0] == [first]
    assert store.papers.find("2608.00009", "") == store.papers.find(None, "", "10.1101/9") == first


def test_a_doi_another_arxiv_paper_holds_never_breaks_a_document(store):
    """Two arXiv papers claiming one DOI (a data error upstream), in one document or in
    two: both stored, the DOI stays with the first, the document is not refused."""
    doi = "10.1145/3700000.1"
    first = _ingest(store, "a", Paper(title="One", arxiv_id="2608.00011", doi=doi))
    again = _ingest(
        store,
        "b",
        Paper(title="Two", arxiv_id="2608.00012", doi=doi),
        Paper(title="Three", arxiv_id="2608.00013", doi=doi),
    )
    assert len(first.new) == 1 and len(again.new) == 2
    holders = [r.arxiv_id for r in store.papers.listing() if r.doi == doi]
    assert holders == ["2608.00011"]


def test_a_title_without_a_word_is_skipped_and_markup_never_empties_one(store):
    """Found by the fuzz test: `\\textit{}` converted to an empty title, and `$$` stored
    with an empty title key, which every such paper would share. A title the conversion
    leaves without a word is kept as written; one without a word as written is that
    paper's failure, said, and the others of its document are stored."""
    result = _ingest(
        store,
        "a",
        Paper(title="\\textit{}", arxiv_id="2608.00021"),
        Paper(title="$$", arxiv_id="2608.00022"),
        Paper(title="{}"),
        Paper(title="Kept \\textit{words}"),
    )
    stored = {p.title: p.title_key for p in store.papers.listing()}
    assert stored == {"\\textit{}": "textit", "Kept words": "kept words"}
    assert result.papers == 2 and len(result.new) == 2
    assert result.skipped == [
        "paper 2 ('$$') not stored: no word in its title",
        "paper 3 ('{}') not stored: no word in its title",
    ]


@pytest.mark.parametrize(
    ("announced", "hf_day", "arxiv", "day"),
    [
        ("2026-08-03", "2026-08-05", "2608.00001", "2026-08-03"),  # its announcement
        (None, "2026-08-05", "2608.00001", "2026-08-05"),  # the HF day that featured it
        (None, None, "2101.00001", "2021-01"),  # its id's month
        (None, None, "hep-th/9901001", "1999-01"),
        (None, None, "1613.00001", None),  # no month 13
        (None, None, None, None),
    ],
)
def test_a_papers_day_is_its_own(announced, hf_day, arxiv, day):
    from daemon.core.models import paper_day

    assert paper_day(announced, hf_day, arxiv) == day


def test_latex_is_stored_as_unicode_and_matched_on_the_same_words(store):
    """Issue 25: `P\\'erez` is Pérez, shown and matched so (`perez` finds it); a bare %
    stays a percent sign and an unknown macro stays as written."""
    from daemon.language.latex import to_unicode

    paper = Paper(
        title=r"Cosmic rays above $10^{19}$ eV with \textit{Auger}",
        abstract=r"We improve recall by 5% (100\% at $\alpha_1$) using C:\temp files.",
        authors=(r"J. P\'erez", r"A. M\"uller"),
        arxiv_id="2608.00021",
    )
    [pid] = _ingest(store, "latex", paper).new
    [row] = store.papers.listing()
    assert row.title == "Cosmic rays above 10^19 eV with Auger"
    assert row.abstract == r"We improve recall by 5% (100% at α_1) using C:\temp files."
    assert row.authors == ("J. Pérez", "A. Müller")
    catch_up(store)
    for query in ("author:perez", "author:müller", "auger", "recall"):
        assert search(store, parse_query(query))[0] == [pid], query
    assert to_unicode("no markup {BERT} here") == "no markup {BERT} here"


def test_papers_stored_with_latex_are_converted_by_the_migration(tmp_path):
    from daemon.store import schema

    path = tmp_path / "paperwatch.db"
    with Store(path) as store:
        _ingest(store, "a", Paper(title="Plain", arxiv_id="2608.00031"))
        store.conn.execute(
            "UPDATE papers SET title = ?, authors = ?",
            (r"Sch\"odinger bridges at $\sim$3x", '["J. P\\\\\'erez"]'),
        )
        store.conn.execute(
            f"DELETE FROM {schema.MIGRATIONS.migrations_table} WHERE name = ?",
            ("0014_latex_as_unicode",),
        )
    with Store(path) as store:
        [row] = store.papers.listing()
        assert (row.title, row.authors) == ("Schödinger bridges at ∼3x", ("J. Pérez",))
        assert store.papers.find(None, "schödinger bridges at 3x") == row.id
