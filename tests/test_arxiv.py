"""arXiv as a source, against a local server that plays arXiv with the real fixtures."""

from __future__ import annotations

import gzip
import itertools
import json
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.core.clock import iso
from daemon.core.errors import ConfigError, ParseError
from daemon.delivery.outbox import deliver
from daemon.parse import parse_document
from daemon.poller import PollContext, run_source
from daemon.runtime import Runtime
from daemon.sources.arxiv import weekdays_between
from daemon.status import status
from daemon.store import Store
from tests.clock import ManualClock
from tests.conftest import ARXIV, CORPUS_SAMPLE, configured, ingest_alerting, load_and_build
from tests.conftest import poll_once as poll
from tests.fake_arxiv import DAY1, DAY2, WEEKEND, FakeArxiv, items, oai_page, redate

THU = datetime(2026, 8, 20, 9, tzinfo=UTC)  # after the 04:00 UTC rebuild of the 20th
CORPUS = CORPUS_SAMPLE


def setup(
    tmp_path: Path, base: str, sources: str = "", watch: str = "", extra: str = "", channels=""
):
    return configured(
        tmp_path,
        f'state_dir = "state"\n{extra}\n[channels]\nc = "console://"\n{channels}'
        '[[sources]]\nname = "cl"\ntype = "arxiv"\ncategories = ["cs.CL"]\n'
        f'contact = "lab@example.org"\nbase_url = "{base}"\napi_url = "{base}/api/query"\n'
        f'oai_url = "{base}/oai"\n{sources}\n'
        '[[watchlists]]\nname = "everything"\nquery = "the OR a OR of OR we"\nnotify = ["c"]\n'
        f"{watch}",
    )


def new_ids(store: Store) -> set[str]:
    return {r["arxiv_id"] for r in store.conn.execute("SELECT arxiv_id FROM papers")}


def alerted(store: Store) -> list[str]:
    return sorted(
        r[0]
        for r in store.conn.execute(
            "SELECT p.arxiv_id FROM matches m JOIN papers p ON p.id = m.paper_id"
        )
    )


# -- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "counts"),
    [
        (
            "rss_cs.CL_2026-08-20.xml",
            "arxiv_rss",
            {"new": 72, "cross": 27, "replace": 27, "replace-cross": 15},
        ),
        (
            "rss_cs.CL_2026-08-21.xml",
            "arxiv_rss",
            {"new": 49, "cross": 27, "replace": 23, "replace-cross": 10},
        ),
        ("rss_cs.CL_2026-08-15_weekend_empty.xml", "arxiv_rss", {}),
        (
            "rss_cs.CL_2023-07-05_legacy_rdf.xml",
            "arxiv_rdf",
            {"new": 34, "cross": 8, "replace": 23, "replace-cross": 6},
        ),
        ("api_query_testing_100.xml", "arxiv_api", {"new": 64, "replace": 36}),
        ("api_query_testing_page1_of10.xml", "arxiv_api", {"new": 5, "replace": 5}),
        ("api_id_empty.xml", "arxiv_api", {}),
        ("oai_listrecords_hep-th_2017-12-14.xml", "arxiv_oai", {"replace": 3}),
        ("oai_getrecord_1401.2122.xml", "arxiv_oai", {"replace": 1}),
    ],
)
def test_every_arxiv_format_parses_with_its_counts(name, kind, counts):
    digest = parse_document((ARXIV / name).read_bytes(), name, THU)
    assert digest.kind == kind
    found: dict[str, int] = {}
    for p in digest.papers:
        found[p.announce] = found.get(p.announce, 0) + 1
        assert p.title and p.arxiv_id and "v" not in p.arxiv_id[-3:]
        assert p.url == f"https://arxiv.org/abs/{p.arxiv_id}"
    assert found == counts


def test_feed_fields():
    digest = parse_document(DAY1, "feed", THU)
    assert digest.page_day == date(2026, 8, 20)
    first = digest.papers[0]
    assert first.arxiv_id == "2608.18082" and first.version == 1
    assert first.authors[:2] == ("Ruizhi Zhang", "Jinwei Chen")
    assert (
        first.abstract.startswith("Although context windows") and "Announce" not in first.abstract
    )
    assert first.announced == date(2026, 8, 20) and first.categories == ("cs.CL",)
    legacy = parse_document((ARXIV / "rss_cs.CL_2023-07-05_legacy_rdf.xml").read_bytes(), "l", THU)
    assert legacy.papers[0].title == (
        "Schema-learning and rebinding as mechanisms of in-context learning and emergence"
    )
    assert "<p>" not in legacy.papers[0].abstract and "<a" not in legacy.papers[0].authors[0]
    oai = parse_document((ARXIV / "oai_listrecords_hep-th_2017-12-14.xml").read_bytes(), "o", THU)
    assert oai.papers[0].authors == ("Philipp A Hoehn",)
    assert oai.papers[0].title == (
        "Toolbox for reconstructing quantum theory from rules on information acquisition"
    )
    title_zero = parse_document((ARXIV / "api_id_2104.12255v1.xml").read_bytes(), "a", THU)
    assert title_zero.papers[0].title == "0"


def test_api_error_is_a_clear_parse_error():
    with pytest.raises(ParseError, match="incorrect id format for abc"):
        parse_document((ARXIV / "api_id_abc_http400.xml").read_bytes(), "api", THU)


def test_saved_feeds_dropped_in_the_inbox_are_ingested(cli, config_file, tmp_path):
    for name in ("rss_cs.CL_2026-08-20.xml", "rss_cs.CL_2023-07-05_legacy_rdf.xml"):
        (tmp_path / name).write_bytes((ARXIV / name).read_bytes())
        assert cli("ingest", str(tmp_path / name)).code == 0
    with Store(load_config(config_file).db_path) as store:
        assert store.papers.counts()["papers"] == 141 + 71


# -- config ---------------------------------------------------------------------------


def test_unknown_category_names_the_toml_path(tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[0\]\.categories.*cs\.XX"):
        (tmp_path / "config.toml").write_text(
            'state_dir = "s"\n[[sources]]\nname = "a"\ntype = "arxiv"\n'
            'categories = ["cs.CL", "cs.XX"]\n'
        )
        load_and_build(tmp_path / "config.toml")


# -- the feed, day by day -------------------------------------------------------------


def test_day_one_then_day_two_gives_exactly_the_new_and_cross_papers(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base)
        first = poll(cfg, store, "cl", THU)
        day1 = items(DAY1, "new", "cross")
        assert first is not None and first.new == len(day1) == 99
        assert set(alerted(store)) == day1  # replacements stored, but alert nobody
        assert arxiv.requests[0][1] == "/rss/cs.CL"
        agent = arxiv.requests[0][2]["User-Agent"]
        assert agent.startswith("paperwatch/") and "mailto:lab@example.org" in agent

        arxiv.feed, arxiv.etag = DAY2, '"d2"'
        early = poll(cfg, store, "cl", THU + timedelta(hours=12))  # before the next rebuild
        assert early is not None and len(arxiv.requests) == 1 and early.new == 0
        second = poll(cfg, store, "cl", THU + timedelta(days=1))
        day2 = items(DAY2, "new", "cross") - day1
        assert second is not None and second.new == len(day2)
        assert set(alerted(store)) == day1 | day2
        assert arxiv.requests[-1][2].get("If-None-Match") == '"d1"'

        third = poll(cfg, store, "cl", THU + timedelta(days=1, hours=1))
        assert third is None or third.new == 0
    assert len(alerted(store)) == len(set(alerted(store)))


def test_a_replacement_updates_the_stored_version_and_alerts_nobody(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base)
        poll(cfg, store, "cl", THU)
        before = len(alerted(store))
        v2 = DAY1.replace(b"oai:arXiv.org:2608.18082v1", b"oai:arXiv.org:2608.18082v2")
        v2 = v2.replace(
            b"<arxiv:announce_type>new</arxiv:announce_type>",
            b"<arxiv:announce_type>replace</arxiv:announce_type>",
            1,
        )
        v2 = v2.replace(b"<title>LongNovel:", b"<title>LongNovel (revised):", 1)
        arxiv.feed, arxiv.etag = redate(v2, "Fri, 21 Aug 2026"), '"v2"'
        poll(cfg, store, "cl", THU + timedelta(days=1))
        row = store.conn.execute(
            "SELECT version, title FROM papers WHERE arxiv_id = '2608.18082'"
        ).fetchone()
        assert row["version"] == 2 and row["title"].startswith("LongNovel (revised):")
        assert len(alerted(store)) == before


def test_replacements_alert_where_asked(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base, sources="alert_on_replacements = true")
        poll(cfg, store, "cl", THU)
        assert set(alerted(store)) == items(DAY1, "new", "cross", "replace", "replace-cross")


def test_cross_lists_can_be_left_out(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base, sources="include_cross_lists = false")
        poll(cfg, store, "cl", THU)
        assert set(alerted(store)) == items(DAY1, "new")


def test_weekend_feed_adds_nothing_and_is_no_error(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base)
        arxiv.feed = WEEKEND
        outcome = poll(cfg, store, "cl", datetime(2026, 8, 15, 9, tzinfo=UTC))
        assert outcome is not None and outcome.new == 0
        state = status(store, cfg)["sources"][0]
        assert state["last_error"] is None and state["consecutive_failures"] == 0


def test_a_stale_feed_is_reported(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base)
        poll(cfg, store, "cl", THU)
        arxiv.feed, arxiv.etag = redate(DAY1, "Fri, 21 Aug 2026"), '"again"'
        outcome = poll(cfg, store, "cl", THU + timedelta(days=1))
        assert outcome is not None and any("stale" in n for n in outcome.notes)
        details = status(store, cfg)["sources"][0]["details"]
        assert details["stale"] == "the feed of 2026-08-21 repeats 2026-08-20"
        arxiv.feed, arxiv.etag = redate(DAY2, "Mon, 24 Aug 2026"), '"d2"'
        arxiv.oai_pages = [oai_page([], None)]
        poll(cfg, store, "cl", THU + timedelta(days=4))
        assert "stale" not in status(store, cfg)["sources"][0]["details"]


def test_429_with_retry_after_is_waited_out(tmp_path):
    clock = ManualClock(THU)
    with FakeArxiv(clock) as arxiv:
        cfg, store = setup(tmp_path, arxiv.base)
        arxiv.throttle = 1
        outcome = poll(cfg, store, "cl", THU, clock)
        assert outcome is not None and outcome.new == 99
        assert any(7.0 <= s <= 7.7 for s in clock.sleeps)


def test_two_arxiv_sources_share_one_polite_pace(tmp_path):
    clock = ManualClock(THU)
    with FakeArxiv(clock) as arxiv:
        more = "".join(
            f'[[sources]]\nname = "{name}"\ntype = "arxiv"\ncategories = {cats}\n'
            f'base_url = "{arxiv.base}"\napi_url = "{arxiv.base}/api/query"\n'
            f'oai_url = "{arxiv.base}/oai"\n'
            for name, cats in (
                ("lg", '["cs.LG", "stat.ML"]'),
                ("ai", '["cs.AI"]'),
                ("cv", '["cs.CV"]'),
            )
        )
        cfg, store = setup(tmp_path, arxiv.base, sources=more)
        runtime = Runtime.build(cfg, clock=clock)
        threads = []
        for name in ("cl", "lg", "ai", "cv"):
            ctx = PollContext(Store(cfg.db_path), runtime, THU)
            threads.append(threading.Thread(target=run_source, args=(ctx, runtime.source(name))))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        runtime.http.close()
    times = sorted(t for t, _, _ in arxiv.requests)
    assert len(times) >= 4 and arxiv.max_in_flight == 1
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(times))
    assert "/rss/cs.LG+stat.ML" in arxiv.paths()


# -- missed days ----------------------------------------------------------------------


def corpus_papers(n: int) -> list[dict]:
    out = []
    with gzip.open(CORPUS, "rt") as f:
        for line in f:
            paper = json.loads(line)
            if "cs.CL" in paper["categories"]:
                out.append(paper)
                if len(out) == n:
                    return out
    return out


def test_three_day_downtime_recovers_missed_days_through_oai_pmh(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(
            tmp_path,
            arxiv.base,
            watch='[[watchlists]]\nname = "llm"\nkeywords = ["language model"]\nnotify = ["c"]\n',
        )
        poll(cfg, store, "cl", THU)
        missed = corpus_papers(30)
        records = [
            {**p, "created": "2026-08-21" if i < 15 else "2026-08-24"} for i, p in enumerate(missed)
        ]
        old = {**missed[0], "id": "2501.00001", "created": "2025-01-02", "updated": "2026-08-21"}
        arxiv.oai_pages = [oai_page(records[:20], "1"), oai_page(records[20:] + [old], None)]
        arxiv.feed, arxiv.etag = redate(DAY2, "Tue, 25 Aug 2026"), '"d2"'
        tuesday = datetime(2026, 8, 25, 9, tzinfo=UTC)
        outcome = poll(cfg, store, "cl", tuesday)
        assert outcome is not None
        oai = [p for p in arxiv.paths() if p.startswith("/oai")]
        assert len(oai) == 2 and "set=cs" in oai[0] and "from=2026-08-20" in oai[0]
        assert "resumptionToken=1" in oai[1]
        stored = new_ids(store)
        assert {p["id"] for p in missed} <= stored and "2501.00001" in stored
        llm = {
            r[0]
            for r in store.conn.execute(
                "SELECT p.arxiv_id FROM matches m JOIN papers p ON p.id = m.paper_id "
                "WHERE m.watchlist = 'llm'"
            )
        }
        assert llm & {p["id"] for p in missed}  # missed papers about language models alert
        assert "2501.00001" not in alerted(store)  # an old paper's new version does not
        count = len(alerted(store))
        poll(cfg, store, "cl", tuesday + timedelta(hours=2))
        poll(cfg, store, "cl", tuesday + timedelta(days=1))
    assert len(alerted(store)) == count


def test_weekdays_between():
    fri, mon = date(2026, 8, 21), date(2026, 8, 24)
    assert weekdays_between(fri, mon) == []
    assert weekdays_between(date(2026, 8, 20), date(2026, 8, 25)) == [fri, mon]


# -- identity across sources ----------------------------------------------------------


def test_a_paper_on_hugging_face_and_on_arxiv_is_one_paper_alerted_once(tmp_path):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base)
        feed = parse_document(DAY1, "feed", THU)
        paper = feed.papers[0]
        hf = [
            {
                "paper": {
                    "id": paper.arxiv_id,
                    "title": paper.title,
                    "summary": paper.abstract,
                    "authors": [{"name": a} for a in paper.authors],
                }
            }
        ]
        ingest_alerting(cfg, store, "hf.json", json.dumps(hf).encode(), THU)
        poll(cfg, store, "cl", THU)
        rows = store.conn.execute(
            "SELECT id FROM papers WHERE arxiv_id = ?", (paper.arxiv_id,)
        ).fetchall()
        assert len(rows) == 1
        sightings = store.conn.execute(
            "SELECT count(*) FROM sightings WHERE paper_id = ?", (rows[0][0],)
        ).fetchone()[0]
        assert sightings == 2
        assert paper.arxiv_id and alerted(store).count(paper.arxiv_id) == 1


# -- ids for papers that lack them ------------------------------------------------------


TESTING = '[[watchlists]]\nname = "hook"\nkeywords = ["testing"]\nnotify = ["w"]\n'


def test_a_text_dump_paper_gets_its_id_and_the_next_alert_links_to_arxiv(tmp_path, hook):
    with FakeArxiv() as arxiv:
        cfg, store = setup(tmp_path, arxiv.base, watch=TESTING, channels=hook.channel("w"))
        api = parse_document((ARXIV / "api_query_testing_100.xml").read_bytes(), "api", THU)
        known = api.papers[3]
        unknown = (
            "An Unknown Paper on Testing\n\nWe study how regression testing of large "
            "software systems can be scheduled so that failing tests run first, and we "
            "measure the gain on twelve open-source projects over several years.\n"
        )
        dump = f"{known.title}\n\n{known.abstract}\n\n{unknown}"
        ingest_alerting(cfg, store, "dump.txt", dump.encode(), THU)
        arxiv.api_papers = [
            {
                "key": known.key,
                "id": known.arxiv_id,
                "title": known.title,
                "abstract": known.abstract,
            }
        ]
        arxiv.api_status = 503
        poll(cfg, store, "cl", THU)  # the lookup fails: nothing changes, retried later
        assert (
            store.conn.execute("SELECT count(*) FROM papers WHERE arxiv_id IS NULL").fetchone()[0]
            == 2
        )
        arxiv.api_status = 200
        looked = len([p for p in arxiv.paths() if p.startswith("/api")])
        poll(cfg, store, "cl", THU + timedelta(hours=3))
        row = store.conn.execute(
            "SELECT arxiv_id, url FROM papers WHERE title = ?", (known.title,)
        ).fetchone()
        assert row["arxiv_id"] == known.arxiv_id
        assert row["url"] == f"https://arxiv.org/abs/{known.arxiv_id}"
        asked = len([p for p in arxiv.paths() if p.startswith("/api")])
        assert asked > looked
        poll(cfg, store, "cl", THU + timedelta(days=1))  # never twice for a title
        assert len([p for p in arxiv.paths() if p.startswith("/api")]) == asked
        deliver(store, Runtime.build(cfg), THU + timedelta(days=1))
    sent = json.dumps(hook.bodies)
    assert f"https://arxiv.org/abs/{known.arxiv_id}" in sent


def test_the_daemon_alerts_on_a_new_arxiv_paper_end_to_end(tmp_path, hook):
    """`paperwatch run` with an arXiv source: the first poll alerts, `status` shows it."""
    from tests.daemon_proc import Daemon, command, wait_for

    with FakeArxiv() as arxiv:
        arxiv.feed = redate(DAY1, datetime.now(UTC).strftime("%a, %d %b %Y"))
        config = tmp_path / "config.toml"
        config.write_text(
            f'state_dir = "state"\n[web]\nlisten = ""\n[channels]\n{hook.channel("w")}'
            '[[sources]]\nname = "cl"\ntype = "arxiv"\ncategories = ["cs.CL"]\n'
            f'base_url = "{arxiv.base}"\napi_url = "{arxiv.base}/api/query"\n'
            f'oai_url = "{arxiv.base}/oai"\n'
            '[[watchlists]]\nname = "halluc"\nkeywords = ["hallucination"]\n'
            'notify = ["w"]\n'
        )
        daemon = Daemon(config, tmp_path / "log").start()
        try:
            assert wait_for(lambda: hook.bodies, 20), daemon.output()
        finally:
            assert daemon.stop() == 0
        report = json.loads(command(config, "status", "--json").stdout)
    sent = json.dumps(hook.bodies)
    assert "LongNovel" in sent and "https://arxiv.org/abs/2608.18082" in sent
    details = report["sources"][0]["details"]
    assert details["papers_in_last_feed"] == 99 and report["sources"][0]["last_error"] is None


def test_a_query_finds_a_persons_papers_outside_the_categories_newest_first(tmp_path, monkeypatch):
    """Issue 34, item 4: `query = "au:..."` asks the API's search, newest submissions
    first, page after page until the pages reach before the first day not yet polled;
    an author watchlist alerts on the papers by its person."""
    from daemon.sources import arxiv
    from tests.fake_arxiv import newest_first

    monkeypatch.setattr(arxiv, "QUERY_PAGE", 2)
    now = datetime(2026, 4, 5, 12, tzinfo=UTC)
    since = datetime(2026, 2, 4, 12, tzinfo=UTC)  # the last success: 60 days back
    with FakeArxiv() as fake:
        fake.search = newest_first(ARXIV / "api_query_testing_100.xml")
        cfg, store = configured(
            tmp_path,
            'state_dir = "state"\n[channels]\nc = "console://"\n'
            '[[sources]]\nname = "people"\ntype = "arxiv"\nquery = "au:Stocco_A"\n'
            f'catch_up_days = 60\napi_url = "{fake.base}/api/query"\n'
            '[[watchlists]]\nname = "stocco"\nauthors = ["Andrea Stocco"]\nnotify = ["c"]\n',
        )
        store.sources.save("people", last_success_at=iso(since))
        outcome = poll(cfg, store, "people", now)
        assert outcome is not None and outcome.documents == 2, outcome
        asked = [p for p in fake.paths() if p.startswith("/api/query")]
        assert len(asked) == 2 and "sortBy=submittedDate" in asked[0]
        assert "search_query=au%3AStocco_A" in asked[0] and "start=2" in asked[1]
        ids = {r.arxiv_id for r in store.papers.listing(limit=10)}
        assert ids == {"2604.03438", "2602.19294", "2602.15552"}  # not 2025's
        found = store.conn.execute(
            "SELECT p.arxiv_id, m.matched FROM matches m JOIN papers p ON p.id = m.paper_id"
        ).fetchall()
        assert {r[0]: json.loads(r[1]) for r in found} == {  # the 4th and the 3rd author
            "2602.19294": [["Andrea Stocco", "author"]],
            "2602.15552": [["Andrea Stocco", "author"]],
        }
        report = {s["name"]: s for s in status(store, cfg)["sources"]}["people"]
        assert "the API's search 'au:Stocco_A'" in report["where"]
    text = cfg.path.read_text().replace('query = "au:Stocco_A"\n', "")
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"sources\[0\]\.categories .*: name at least one"):
        load_and_build(tmp_path / "config.toml")
