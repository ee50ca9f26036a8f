"""One paper's failure is that paper's alone (issue 31, items 1-3, 5, 6): a hostile record
in a real document changes nothing for its other papers; a source speaks only for the
papers it has authority over; paper ids are never reused; any error of a poll counts."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.core.models import Digest, Paper
from daemon.ingest.document import ingest_bytes, ingest_digest
from daemon.ingest.identity import as_stored, store_papers
from daemon.parse import parse_document
from daemon.status import status
from daemon.store import Store
from tests.conftest import ARXIV, HF, ROOT, configured, examples
from tests.conftest import poll_once as poll
from tests.fake_biorxiv import BIORXIV, FakeBiorxiv

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # text a JSON or UTF-8 file cannot hold

NOW = datetime(2026, 8, 20, 12, tzinfo=UTC)
FEED = (ARXIV / "rss_cs.CL_2026-08-20.xml").read_text()  # 141 real papers
HF_API = json.loads((HF / "api_daily_papers_2026-08-03.json").read_text())
BIO = json.loads(
    (BIORXIV / "findpapers_biorxiv_details_2020-01-01_2022-12-31_cursor0_first50.json").read_text()
)

# the classes of hostile text seen or tried: LaTeX nested past Python's recursion limit,
# braces without end, huge fields, and any Unicode an XML or JSON document can carry
_DEEP_LATEX = st.integers(1, 3000).map(lambda n: "\\x{" + "\\[" * n + "}")
_OPEN_BRACES = st.integers(1, 3000).map(lambda n: "\\textit{" * n + "word")
_HUGE = st.integers(1, 200_000).map(lambda n: "\\emph{" + "a \\alpha " * (n // 9) + "}")
_LATEXISH = st.text(alphabet="\\{}[]$^_%&#~ aeα", max_size=400)
_UNICODE = st.text(
    st.characters(blacklist_categories=SURROGATES, blacklist_characters="\ufffe\uffff"),
    max_size=300,
).map(lambda t: re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", t))
HOSTILE = st.one_of(_DEEP_LATEX, _OPEN_BRACES, _HUGE, _LATEXISH, _UNICODE)


def _ingest(data: bytes, name: str, **options: object) -> dict[str, tuple[str, str, str]]:
    """Each stored paper of one document, by its id: (title, abstract, authors)."""
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "p.db") as store:
        ingest_bytes(
            store,
            data,
            name=name,
            source="t",
            location=name,
            ref_time=NOW,
            now=NOW,
            **options,  # type: ignore[arg-type]
        )
        return {
            p.arxiv_id or p.doi or p.pmid or p.title: (
                p.title,
                p.abstract or "",
                json.dumps(p.authors),
            )
            for p in store.papers.listing(limit=1000)
        }


@cache
def _baseline(data: bytes, name: str) -> dict[str, tuple[str, str, str]]:
    """A document's papers as stored when nothing in it is hostile: made when a test first
    asks (not at import, in every test worker)."""
    return _ingest(data, name)


def _others_unchanged(got: dict[str, tuple[str, str, str]], before: dict, spoilt: str) -> None:
    for key, paper in before.items():
        if key != spoilt:
            assert got.get(key) == paper, key
    assert len(set(got) - set(before)) <= 1  # the spoilt one, if its id changed


_ITEMS = re.findall(r"<item>.*?</item>", FEED, re.S)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_ITEMS) - 1), st.sampled_from(["title", "abstract", "creator"]), HOSTILE)
def test_a_hostile_arxiv_paper_changes_nothing_for_the_others_of_its_feed(index, field, text):
    item = _ITEMS[index]
    pattern = {
        "title": r"(<title>).*?(</title>)",
        "abstract": r"(Abstract: ).*?(</description>)",
        "creator": r"(<dc:creator>).*?(</dc:creator>)",
    }[field]
    spoilt = re.sub(pattern, lambda m: m[1] + escape(text) + m[2], item, count=1, flags=re.S)
    feed = FEED.replace(item, spoilt)
    ident = re.search(r"abs/([\d.]+)", item).group(1)
    _others_unchanged(
        _ingest(feed.encode(), "feed.xml"), _baseline(FEED.encode(), "feed.xml"), ident
    )


def test_the_abstract_that_lost_a_whole_feed_is_stored_as_written():
    """The abstract of the issue: LaTeX conversion raised RecursionError and cs.CL's 141
    papers stored 0, every poll."""
    hostile = "\\x{" + "\\[" * 329 + "}"
    item = _ITEMS[3]
    spoilt = re.sub(
        r"Abstract: .*?</description>",
        lambda _: f"Abstract: {hostile}</description>",
        item,
        count=1,
        flags=re.S,
    )
    got = _ingest(FEED.replace(item, spoilt).encode(), "feed.xml")
    assert len(got) == 141
    ident = re.search(r"abs/([\d.]+)", item).group(1)
    assert got[ident][1] == hostile  # kept as written


_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_DEEP_JSON = st.integers(1, 100_000).map(lambda n: "[" * n + "]" * n)


def _with(records: list, index: int, field: str, value: object, deep: str | None) -> list:
    spoilt = json.loads(json.dumps(records))
    target = spoilt[index]["paper"] if "paper" in spoilt[index] else spoilt[index]
    target[field] = "DEEP" if deep else value
    return spoilt


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(BIO["collection"]) - 1),
    st.sampled_from(
        ["title", "abstract", "authors", "version", "doi", "date", "category", "server"]
    ),
    _JSON_VALUE,
    st.none() | _DEEP_JSON,
)
def test_a_hostile_biorxiv_record_changes_nothing_for_the_others_of_its_page(
    index, field, value, deep
):
    records = BIO["collection"]
    spoilt = _with(records, index, field, value, deep)
    text = json.dumps({**BIO, "collection": spoilt})
    if deep:
        text = text.replace('"DEEP"', deep)
    got = _ingest(text.encode(), "page.json")
    _others_unchanged(got, _baseline(json.dumps(BIO).encode(), "page.json"), records[index]["doi"])


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(HF_API) - 1),
    st.sampled_from(["title", "summary", "authors", "id", "upvotes", "publishedAt"]),
    _JSON_VALUE,
    st.none() | _DEEP_JSON,
)
def test_a_hostile_hugging_face_entry_changes_nothing_for_the_others(index, field, value, deep):
    text = json.dumps(_with(HF_API, index, field, value, deep))
    if deep:
        text = text.replace('"DEEP"', deep)
    got = _ingest(text.encode(), "daily.json")
    _others_unchanged(
        got, _baseline(json.dumps(HF_API).encode(), "daily.json"), HF_API[index]["paper"]["id"]
    )


_WORKS = json.loads(
    (ROOT / "tests/fixtures/crossref")
    .joinpath("crossref_works_query-ecology_query.author-carl_boettiger_rows20.json")
    .read_text()
)


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(_WORKS["message"]["items"]) - 1),
    st.sampled_from(["title", "abstract", "author", "DOI", "published-online", "created"]),
    _JSON_VALUE,
    st.none() | _DEEP_JSON,
)
def test_a_hostile_crossref_work_changes_nothing_for_the_others_of_its_page(
    index, field, value, deep
):
    works = _WORKS["message"]["items"]
    spoilt = _with(works, index, field, value, deep)
    text = json.dumps({**_WORKS, "message": {**_WORKS["message"], "items": spoilt}})
    if deep:
        text = text.replace('"DEEP"', deep)
    got = _ingest(text.encode(), "works.json")
    _others_unchanged(
        got, _baseline(json.dumps(_WORKS).encode(), "works.json"), works[index]["DOI"].lower()
    )


_ARTICLES = re.findall(
    r"<PubmedArticle>.*?</PubmedArticle>",
    (
        ROOT / "tests/fixtures/pubmed/findpapers_efetch_pubmed_50_articles_ml_nlp_2020-2022.xml"
    ).read_text(),
    re.S,
)[:10]
_SET = "<PubmedArticleSet>{}</PubmedArticleSet>"


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, len(_ARTICLES) - 1),
    st.sampled_from(["ArticleTitle", "AbstractText", "LastName", "Year"]),
    HOSTILE,
)
def test_a_hostile_pubmed_record_changes_nothing_for_the_others_of_its_batch(index, tag, text):
    article = _ARTICLES[index]
    spoilt = re.sub(
        rf"(<{tag}[^>]*>)[^<]*(</{tag}>)",
        lambda m: m[1] + escape(text) + m[2],
        article,
        count=1,
    )
    batch = _SET.format("".join(_ARTICLES).replace(article, spoilt))
    [own] = parse_document(_SET.format(article).encode(), "one.xml", NOW).papers
    got = _ingest(batch.encode(), "pubmed.xml")
    before = _baseline(_SET.format("".join(_ARTICLES)).encode(), "pubmed.xml")
    assert len(before) == len(_ARTICLES)
    _others_unchanged(got, before, own.doi or own.pmid or own.title)


def test_a_paper_sqlite_cannot_hold_is_left_out_with_its_reason(tmp_path, caplog):
    """Twenty digits of a version passed the parser once and failed the whole page's
    transaction: now that record alone is left out, and says why."""
    with Store(tmp_path / "p.db") as store:
        papers = (Paper("a", doi="10.1101/a", version=10**20), Paper("b", doi="10.1101/b"))
        result = ingest_digest(
            store,
            Digest("biorxiv", papers),
            source="t",
            location="x",
            content_hash="h",
            now=NOW,
            authority=lambda p: True,
        )
        assert [p.title for p in store.papers.listing()] == ["b"]
        assert result.skipped and "paper 1 ('a') not stored: OverflowError" in result.skipped[0]
        row = store.conn.execute("SELECT skipped FROM documents").fetchone()
        assert "OverflowError" in row[0]
    assert "stored_paper_by_paper papers=2" in caplog.text  # the batch's failure is said
    assert "paper_skipped" in caplog.text


def test_a_bad_biorxiv_field_costs_neither_its_page_nor_the_pages_after(tmp_path):
    """Version "²" (a digit to str.isdigit, not to int) and twenty digits lost the page
    and every page after it, every poll: now every other record of every page is stored."""
    good = json.loads(json.dumps(BIO["collection"]))
    good[5]["version"] = "²"
    good[25]["version"] = "9" * 20
    good[45]["title"] = "\\x{" + "\\[" * 400 + "}"
    with FakeBiorxiv() as api:
        cfg, store = configured(
            tmp_path,
            f'state_dir = "state"\n[http]\nmin_interval = "0s"\n[[sources]]\nname = "bio"\n'
            f'type = "biorxiv"\nbase_url = "{api.base}"\n',
        )
        api.listing["biorxiv"] = good
        outcome = poll(cfg, store, "bio", NOW)
        assert outcome is not None and outcome.documents == 3
        assert len(store.papers.listing(limit=100)) == len({r["doi"] for r in good})
        [bio] = status(store, cfg)["sources"]
        assert bio["consecutive_failures"] == 0


def test_a_deeply_nested_answer_is_a_failure_that_backs_off(tmp_path):
    """RecursionError escaped the poll: `status` said failures=0 while every poll failed."""
    with FakeBiorxiv() as api:
        cfg, store = configured(
            tmp_path,
            f'state_dir = "state"\n[http]\nmin_interval = "0s"\n[[sources]]\nname = "bio"\n'
            f'type = "biorxiv"\nbase_url = "{api.base}"\n',
        )
        api.raw = b'{"messages": ' + b"[" * 100_000
        assert poll(cfg, store, "bio", NOW) is None
        [bio] = status(store, cfg)["sources"]
        assert bio["consecutive_failures"] == 1 and bio["retry_after"]
        assert "nested too deeply" in bio["last_error"] or "Recursion" in bio["last_error"]


def _arxiv_paper(version: int, title: str) -> Paper:
    return Paper(title, f"{title} abstract", ("Ada",), arxiv_id="2608.00001", version=version)


def test_only_the_source_with_authority_over_a_paper_replaces_its_text(tmp_path):
    """A bioRxiv-shaped record naming arXiv's DOI with version 99, from any url or inbox
    source, replaced an arXiv paper's text, and arXiv's real v2 was then ignored."""
    arxiv = lambda p: p.arxiv_id is not None  # noqa: E731  (the arxiv kind's authority)
    with Store(tmp_path / "p.db") as store:
        with store.transaction():
            store_papers(store, [_arxiv_paper(1, "Real title")], "t1", authority=arxiv)
        forged = Paper(
            title="Forged",
            abstract="forged",
            authors=("Mallory",),
            doi="10.48550/arXiv.2608.00001",
            version=99,
        )
        with store.transaction():
            store_papers(store, [as_stored(forged)], "t2")  # no authority: an inbox, a url
        [paper] = store.papers.listing()
        assert (paper.title, paper.abstract, paper.authors) == (
            "Real title",
            "Real title abstract",
            ("Ada",),
        )
        with store.transaction():
            store_papers(store, [_arxiv_paper(2, "Real title, v2")], "t3", authority=arxiv)
        [paper] = store.papers.listing()
        assert paper.title == "Real title, v2" and paper.abstract == "Real title, v2 abstract"


def test_the_sources_say_what_they_speak_for():
    from daemon.sources.contract import KINDS

    kinds = KINDS.all()
    arxiv_paper, bio_paper = (
        Paper(title="a", arxiv_id="2608.00001"),
        Paper(title="b", doi="10.1101/x"),
    )
    assert kinds["arxiv"].authority(arxiv_paper) and not kinds["arxiv"].authority(bio_paper)
    assert kinds["biorxiv"].authority(bio_paper) and not kinds["biorxiv"].authority(arxiv_paper)
    for name in ("url", "folder", "hf_daily"):
        assert not kinds[name].authority(arxiv_paper) and not kinds[name].authority(bio_paper)


# a sighting: (arXiv id number or None, DOI number or None)
_SIGHTING = st.tuples(st.none() | st.integers(0, 2), st.none() | st.integers(0, 2))


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.lists(_SIGHTING, min_size=1, max_size=3), min_size=1, max_size=8))
def test_paper_ids_are_never_reused_whatever_merges_happen(documents):
    """A merge that deleted the newest paper let the next paper take its id, which the
    search index (and any match of the gone paper) then confused with the old one."""
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "p.db") as store:
        given: set[int] = set()
        for number, sightings in enumerate(documents):
            papers = [
                Paper(
                    title=f"t{number}.{i}",
                    arxiv_id=f"2608.0000{a}" if a is not None else None,
                    doi=f"10.1234/{d}" if d is not None else None,
                )
                for i, (a, d) in enumerate(sightings)
            ]
            before = {r[0] for r in store.conn.execute("SELECT id FROM papers")}
            with store.transaction():
                merged = store_papers(store, papers, f"s{number}")
            after = {r[0] for r in store.conn.execute("SELECT id FROM papers")}
            born = after - before
            assert not born & given, "an id given before was given again"
            assert all(i > max(given, default=0) for i in born)
            given |= after
            assert set(merged.ids) <= after


def test_a_skipped_record_is_said_in_the_log_and_in_status(tmp_path, caplog):
    """A record left out is not silent: its reason is logged, kept with its document and
    shown in the source's last result; the document's other papers are stored."""
    from tests.test_inbox_faults import Inbox

    entries = json.loads(json.dumps(HF_API))
    entries[1]["paper"]["title"] = ""  # no title: not a paper
    inbox = Inbox(tmp_path)
    (inbox.path / "daily.json").write_text(json.dumps(entries))
    old = NOW.timestamp()
    os.utime(inbox.path / "daily.json", (old, old))
    inbox.poll()
    assert (inbox.path / "done" / "daily.json").exists()
    with Store(inbox.config.db_path) as store:
        assert len(store.papers.listing()) == len(entries) - 1
        [source] = status(store, inbox.config)["sources"]
    assert "1 papers of daily.json skipped" in source["last_result"]
    assert "record 2 skipped" in source["last_result"] and "has no title" in source["last_result"]
    assert "paper_skipped" in caplog.text


_PAGE = (HF / "listing_dom_only_2026-08-03.html").read_text()
_CARDS = re.findall(r"<article.*?</article>", _PAGE, re.S)


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_CARDS) - 1), HOSTILE)
@example(0, "\x7f").via("a control character in the page's head made it binary")
@example(0, "\x00").via("so did a NUL anywhere in it")
def test_a_hostile_hugging_face_card_changes_nothing_for_the_others_of_its_page(index, text):
    card = _CARDS[index]
    spoilt = re.sub(
        r"(<h3[^>]*><a [^>]*>)[^<]*(</a>)", lambda m: m[1] + escape(text) + m[2], card, count=1
    )
    page = _PAGE.replace(card, spoilt)
    ident = re.search(r'href="/papers/([\d.]+)"', card).group(1)
    _others_unchanged(
        _ingest(page.encode(), "daily.html"), _baseline(_PAGE.encode(), "daily.html"), ident
    )
