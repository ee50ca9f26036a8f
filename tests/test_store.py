from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from daemon.errors import ParseError
from daemon.ingest import ingest_bytes
from daemon.models import Digest, Paper
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
    assert store.counts()["papers"] == 194
    assert store.counts()["sightings"] == 40 + 119 + 62
    again = [ingest_file(store, p) for p in sorted(TEXT.glob("*.txt"))]
    assert all(r.duplicate and not r.new and not r.gained for r in again)
    assert store.counts()["papers"] == 194
    assert store.counts()["sightings"] == 221


def test_same_content_under_another_name_adds_nothing(store, tmp_path):
    ingest_file(store, TEXT / "000_a4df948192ebdd8e.txt")
    copy = tmp_path / "copy.txt"
    copy.write_bytes((TEXT / "000_a4df948192ebdd8e.txt").read_bytes())
    assert ingest_file(store, copy).duplicate
    assert store.counts()["sightings"] == 40


def test_listing_then_api_keeps_30_papers_with_everything(store):
    first = ingest_file(store, HF / "listing_2026-06-12.html")
    second = ingest_file(store, HF / "api_daily_papers_2026-06-12.json")
    assert len(first.new) == 30 and not second.new and not second.gained
    rows = store.papers()
    assert len(rows) == 30
    assert all(r["arxiv_id"] and r["abstract"] and json.loads(r["authors"]) for r in rows)
    assert all(r["sightings"] == 2 for r in rows)


def test_dom_only_then_api_attaches_abstracts_as_gained(store):
    first = ingest_file(store, HF / "listing_dom_only_2026-08-03.html")
    assert len(first.new) == 3
    assert all(r["abstract"] == "" for r in store.papers())
    second = ingest_file(store, HF / "api_daily_papers_2026-08-03.json")
    assert second.new == [] and sorted(second.gained) == sorted(first.new)
    rows = store.papers()
    assert len(rows) == 3
    assert all(r["abstract"] and len(json.loads(r["authors"])) >= 5 for r in rows)


def test_text_paper_later_seen_with_arxiv_id_is_merged(store):
    title = "Tensor Dropout for Robust Learning"
    abstract = "CNNs achieve remarkable performance " * 5
    dump = Digest("text", (Paper(title=title, abstract=abstract),))
    first = store.ingest(dump, source="t", location="a", content_hash="h1", now=NOW)
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
    second = store.ingest(api, source="t", location="b", content_hash="h2", now=NOW)
    assert second.new == [] and second.gained == first.new
    [row] = store.papers()
    assert row["arxiv_id"] == "2101.00001" and row["title"] == title
    assert row["sightings"] == 2
    # and a later text dump of the same title finds the row that now has an id
    third = store.ingest(dump, source="t", location="c", content_hash="h3", now=NOW)
    assert third.new == [] and store.counts()["papers"] == 1


def test_different_ids_same_title_stay_two_papers(store):
    a = Paper(title="Attention Is All You Need", arxiv_id="1706.03762")
    b = Paper(title="Attention is all you need", arxiv_id="2401.00002")
    result = store.ingest(
        Digest("hf_json", (a, b)), source="t", location="x", content_hash="h", now=NOW
    )
    assert len(result.new) == 2


def test_duplicates_inside_one_document_are_one_paper(store):
    p = Paper(title="Same", abstract="x" * 80)
    result = store.ingest(
        Digest("text", (p, p)), source="t", location="x", content_hash="h", now=NOW
    )
    assert len(result.new) == 1 and store.counts()["sightings"] == 1


@pytest.mark.parametrize(
    "data", [b"", b"\x00\xff garbage", b'{"x": 1}', b"<!doctype html><html><body>"]
)
def test_bad_document_leaves_papers_and_sightings_unchanged(store, data, tmp_path):
    ingest_file(store, TEXT / "000_a4df948192ebdd8e.txt")
    before = store.counts()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(data)
    with pytest.raises(ParseError):
        ingest_file(store, bad)
    after = store.counts()
    assert after["papers"] == before["papers"] and after["sightings"] == before["sightings"]
    err = store.conn.execute("SELECT error FROM documents ORDER BY id DESC").fetchone()[0]
    assert err.startswith("bad.txt: ")


def test_failed_hook_rolls_back_the_whole_document(store):
    def boom(conn, ids, now):
        raise RuntimeError("crash in the middle")

    digest = Digest("text", (Paper(title="T", abstract="y" * 80),))
    with pytest.raises(RuntimeError):
        store.ingest(digest, source="t", location="x", content_hash="h", now=NOW, on_change=boom)
    assert store.counts() == {"papers": 0, "sightings": 0, "documents": 0}


def test_migrations_are_named_and_applied_once(tmp_path):
    path = tmp_path / "db.sqlite"
    Store(path).close()
    store = Store(path)
    names = [r[0] for r in store.conn.execute("SELECT name FROM _migrations")]
    assert names and names[0] == "0001_papers_sightings_documents"
    assert store.migrate() == []
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
