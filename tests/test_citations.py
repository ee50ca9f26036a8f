"""Citation alerts (issue 34, item 3): watchlists follow papers, the `citations` source
asks a local Semantic Scholar (real citation records) what cites them, paged; the first
read is the baseline, what cites a followed paper later alerts, saying which."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from daemon.config import load_config
from daemon.core.errors import ConfigError
from daemon.delivery.outbox import deliver
from daemon.runtime import Runtime
from daemon.sources import citations
from daemon.status import alerts, status
from tests.conftest import configured, ingest_alerting
from tests.conftest import poll_once as poll
from tests.fake_s2 import FakeS2
from tests.fake_s2 import citations as cited_by

NOON = datetime(2026, 8, 20, 12, tzinfo=UTC)
ENERGY = "10.1016/j.apenergy.2023.121323"  # 20 citations in the fixture
DECEPTION = "10.3758/s13428-022-02028-7"  # 3 citations


def setup(tmp_path, base: str, watch: str, extra: str = "", channels: str = ""):
    return configured(
        tmp_path,
        f'state_dir = "state"\n{extra}\n[http]\nmin_interval = "0s"\nretries = 0\n'
        f'[channels]\nc = "console://"\n{channels}'
        f'[[sources]]\nname = "s2"\ntype = "citations"\nbase_url = "{base}"\n'
        '[[watchlists]]\nname = "energy"\nkeywords = ["energy"]\nnotify = ["c"]\n' + watch,
    )


MINE = '[[watchlists]]\nname = "mine"\ncites = ["' + ENERGY + '"]\nnotify = ["c"]\n'


def matched(store, watchlist: str) -> dict[str, list]:
    rows = store.conn.execute(
        "SELECT p.title, m.matched FROM matches m JOIN papers p ON p.id = m.paper_id "
        "WHERE m.watchlist = ?",
        (watchlist,),
    )
    return {r["title"]: json.loads(r["matched"]) for r in rows}


def test_new_citations_alert_once_and_the_first_read_is_the_baseline(tmp_path, monkeypatch):
    monkeypatch.setattr(citations, "PAGE", 8)
    with FakeS2() as s2:
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)
        cfg, store = setup(tmp_path, s2.base, MINE)
        first = poll(cfg, store, "s2", NOON)
        assert first is not None and first.documents == 3, first  # 20 citations, 8 a page
        offsets = [re.search(r"offset=(\d+)", p).group(1) for p in s2.paths()]
        assert offsets == ["0", "8", "16"] and s2.max_in_flight == 1
        assert all(p.startswith(f"/paper/DOI:{ENERGY}/citations?") for p in s2.paths())
        assert (
            store.papers.counts()["papers"] == 20
            and len(store.citations.citing(f"doi:{ENERGY}")) == 20
        )
        assert alerts(store) == []  # the baseline, and old papers: no keyword alert either
        assert f"doi:{ENERGY}: 20 citations so far (no alert)" in first.summary()
        # two papers cite it since
        s2.citing[f"DOI:{ENERGY}"] = cited_by(DECEPTION)[:2] + cited_by(ENERGY)
        second = poll(cfg, store, "s2", NOON + timedelta(hours=12))
        assert second is not None and "2 new citations, 2 alerts" in second.summary()
        new_titles = {e["citingPaper"]["title"] for e in cited_by(DECEPTION)[:2]}
        found = matched(store, "mine")
        assert set(found) == new_titles
        assert all(m == [[f"doi:{ENERGY}", "cites"]] for m in found.values())
        assert matched(store, "energy") == {}  # published years ago: no keyword alert
        third = poll(cfg, store, "s2", NOON + timedelta(days=1))
        assert third is not None and len(alerts(store)) == 2
        # a paper published since the last poll, citing it: new to the keyword watchlist too
        fresh = cited_by(ENERGY)[0]
        fresh = {"citingPaper": {**fresh["citingPaper"], "publicationDate": "2026-08-21"}}
        fresh["citingPaper"]["externalIds"] = {"ArXiv": "2608.99999"}
        s2.citing[f"DOI:{ENERGY}"] = [fresh, *cited_by(ENERGY)]
        poll(cfg, store, "s2", NOON + timedelta(days=1, hours=12))
        title = fresh["citingPaper"]["title"]
        assert title in matched(store, "energy") and title in matched(store, "mine")
        report = {s["name"]: s for s in status(store, cfg)["sources"]}["s2"]
        assert report["type"] == "citations" and report["last_result"]


def test_the_alert_says_which_paper_is_cited(tmp_path, hook):
    with FakeS2() as s2:
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)[2:]
        watch = MINE.replace('notify = ["c"]', 'notify = ["w"]')
        cfg, store = setup(tmp_path, s2.base, watch, channels=hook.channel("w"))
        poll(cfg, store, "s2", NOON)
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)
        poll(cfg, store, "s2", NOON + timedelta(hours=12))
        deliver(store, Runtime.build(cfg), NOON + timedelta(hours=12))
    [body] = hook.bodies
    assert f"cites {ENERGY}" in body["message"] and "2 new papers for mine" in body["title"]
    assert "Characterizing MARL for Energy Control" in body["message"]


def test_a_citing_paper_already_stored_is_one_row_and_alerts(tmp_path):
    """An arXiv paper stored from a feed, later listed by S2 as citing (by its arXiv
    id): the same row, recorded as citing, alerting."""
    with FakeS2() as s2:
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)[1:]
        cfg, store = setup(tmp_path, s2.base, MINE)
        poll(cfg, store, "s2", NOON)
        first = cited_by(ENERGY)[0]["citingPaper"]
        assert first["externalIds"]["ArXiv"] == "2602.19223"
        feed = [{"paper": {"id": "2602.19223", "title": first["title"], "summary": "x"}}]
        ingest_alerting(cfg, store, "hf.json", json.dumps(feed).encode(), NOON, notify=False)
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)
        poll(cfg, store, "s2", NOON + timedelta(hours=12))
        [row] = store.conn.execute("SELECT id FROM papers WHERE arxiv_id = '2602.19223'").fetchall()
        assert list(matched(store, "mine")) == [first["title"]]
        assert row["id"] in store.citations.citing(f"doi:{ENERGY}")


def test_keywords_narrow_a_citation_watchlist_and_a_library_names_the_papers(tmp_path):
    (tmp_path / "mine.bib").write_text(
        f"@article{{a, title={{Energy}}, doi={{{ENERGY}}}}}\n@misc{{b, title={{Other}}}}\n"
    )
    watch = (
        '[[watchlists]]\nname = "mine"\ncites_library = "mine.bib"\n'
        'keywords = ["benchmark"]\nnotify = ["c"]\n'
    )
    with FakeS2() as s2:
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)[2:]
        cfg, store = setup(tmp_path, s2.base, watch)
        assert cfg.watchlists[1].source == "benchmark (citing mine.bib)"
        poll(cfg, store, "s2", NOON)
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)
        poll(cfg, store, "s2", NOON + timedelta(hours=12))
    found = matched(store, "mine")
    assert list(found) == [
        "Characterizing MARL for Energy Control: A Multi-KPI Benchmark on the CityLearn Environment"
    ]
    assert found[next(iter(found))] == [[f"doi:{ENERGY}", "cites"], ["benchmark", "title"]]


def test_an_unknown_paper_fails_alone_backs_off_and_reaches_the_admin(tmp_path, hook):
    watch = MINE.replace(f'"{ENERGY}"]', f'"{ENERGY}", "2401.99999"]')
    admin = 'admin_channel = "hook"\nalert_after_failures = 2'
    with FakeS2() as s2:
        s2.citing[f"DOI:{ENERGY}"] = cited_by(ENERGY)
        cfg, store = setup(tmp_path, s2.base, watch, extra=admin, channels=hook.channel("hook"))
        assert poll(cfg, store, "s2", NOON) is None
        state = store.sources.get("s2")
        assert "arxiv:2401.99999" in state.last_error and "HTTP 404" in state.last_error
        assert state.consecutive_failures == 1 and state.retry_after
        assert len(store.citations.citing(f"doi:{ENERGY}")) == 20  # the other one was read
        assert "/paper/ARXIV:2401.99999/citations" in " ".join(s2.paths())
        s2.status = 429
        poll(cfg, store, "s2", NOON + timedelta(hours=12))
        assert len(hook.bodies) == 1 and "s2" in hook.bodies[0]["title"]


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('cites = ["nature 2023"]', r"cites\[0\] .*: 'nature 2023' is no DOI"),
        ('cites = ["123456"]', r"cites\[0\] .*: '123456' is no DOI .* \(PMID:36006759\)"),
        ('cites_library = "mine.txt"', r"cites_library .*: 'mine.txt': a BibTeX"),
        (
            'cites = ["2401.01234"]\nsimilar_to = ["2401.01234"]',
            r"cites .*: not with similar_to",
        ),
    ],
)
def test_check_names_a_wrong_citation_watchlist(tmp_path, line, said):
    (tmp_path / "config.toml").write_text(
        'state_dir = "state"\n[channels]\nc = "console://"\n'
        f'[[watchlists]]\nname = "mine"\n{line}\nnotify = ["c"]\n'
    )
    with pytest.raises(ConfigError, match=r"watchlists\[0\]\." + said):
        load_config(tmp_path / "config.toml")
