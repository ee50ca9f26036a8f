"""bioRxiv and medRxiv (issue 24): the API's version listings, paged, against a local
API serving real records; papers known by their DOI; a new version updates quietly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from daemon.core.clock import iso
from daemon.parse import parse_document
from daemon.status import alerts, status
from tests.conftest import configured
from tests.conftest import poll_once as poll
from tests.fake_biorxiv import BIORXIV, PAGE, FakeBiorxiv, records

NOON = datetime(2026, 8, 20, 12, tzinfo=UTC)
MEDRXIV = "findpapers_medrxiv_details_2020-01-01_2022-12-31_cursor0_first50.json"
BIORXIV_PAGE = "findpapers_biorxiv_details_2020-01-01_2022-12-31_cursor0_first50.json"
TRIAGE = "biorxiv_details_doi_10.1101_2021.09.30.462652.json"  # v1 and v2 of one paper


def setup(tmp_path, base: str):
    return configured(
        tmp_path,
        f'state_dir = "state"\n[http]\nmin_interval = "0s"\n[channels]\nc = "console://"\n'
        f'[[sources]]\nname = "med"\ntype = "biorxiv"\nserver = "medrxiv"\nbase_url = "{base}"\n'
        f'[[sources]]\nname = "bio"\ntype = "biorxiv"\nbase_url = "{base}"\n'
        '[[watchlists]]\nname = "kids"\nkeywords = ["children", "machine learning"]\n'
        'notify = ["c"]\n',
    )


def test_the_listing_is_paged_stored_by_doi_alerts_once_and_status_shows_it(tmp_path):
    with FakeBiorxiv() as api:
        cfg, store = setup(tmp_path, api.base)
        api.listing["medrxiv"] = records(MEDRXIV)
        first = poll(cfg, store, "med", NOON)
        assert first is not None and first.documents == 3  # 50 versions, pages of 20
        cursors = [p.rsplit("/", 1)[1] for p in api.paths()]
        assert cursors == ["0", str(PAGE), str(2 * PAGE)] and api.max_in_flight == 1
        assert all("/details/medrxiv/2026-08-19/2026-08-20/" in p for p in api.paths())
        rows = store.papers.listing(limit=100)
        assert len(rows) == 49 and all(r.doi.startswith("10.1101/") for r in rows)
        assert all(r.url.startswith("https://www.medrxiv.org/content/10.1101/") for r in rows)
        new_ones = [r for r in records(MEDRXIV) if r["version"] == "1"]
        assert first.new == len({r["doi"] for r in new_ones})  # later versions: quiet
        alerted = {a["paper_id"] for a in alerts(store)}
        assert alerted and len(alerted) == len(alerts(store))
        # a second poll finds the same versions: nothing new, no alert
        second = poll(cfg, store, "med", NOON + timedelta(hours=1))
        assert second is not None and second.new == 0 and len(alerts(store)) == len(alerted)
        report = {s["name"]: s for s in status(store, cfg)["sources"]}
        assert report["med"]["type"] == "biorxiv" and report["med"]["last_result"]
        assert "medrxiv (all subjects) via http://127.0.0.1" in report["med"]["where"]


def test_a_later_version_updates_the_paper_quietly_and_old_papers_do_not_alert(tmp_path):
    v1, v2 = records(TRIAGE)
    with FakeBiorxiv() as api:
        cfg, store = setup(tmp_path, api.base)
        api.listing["biorxiv"] = [v1]
        assert poll(cfg, store, "bio", NOON).new == 1
        [row] = store.papers.listing()
        assert (row.doi, row.version, row.announced) == (v1["doi"], 1, "2021-09-30")
        sent = len(alerts(store))
        assert sent == 1  # machine learning
        changed = {**v2, "title": v2["title"] + " (revised)"}
        api.listing["biorxiv"] = [changed] + records(BIORXIV_PAGE)  # revisions of old papers
        later = poll(cfg, store, "bio", NOON + timedelta(days=1))
        assert later is not None and later.new == 0 and len(alerts(store)) == sent
        row = store.papers.listing(ids=[row.id])[0]
        assert row.version == 2 and row.title.endswith("(revised)")
        assert row.announced == "2021-09-30"  # the paper's day: its first version's


def test_missed_days_are_caught_up_and_categories_filter(tmp_path):
    with FakeBiorxiv() as api:
        cfg, store = setup(tmp_path, api.base)
        api.listing["medrxiv"] = records(MEDRXIV)
        store.sources.save("med", last_success_at=iso(NOON - timedelta(days=4)))
        poll(cfg, store, "med", NOON)
        assert api.paths()[0] == "/details/medrxiv/2026-08-16/2026-08-20/0"
        text = (tmp_path / "config.toml").read_text()
        only = text.replace(
            'server = "medrxiv"', 'server = "medrxiv"\ncategories = ["Epidemiology"]'
        )
        (tmp_path / "only").mkdir()
        cfg, store = configured(tmp_path / "only", only)
        poll(cfg, store, "med", NOON)
    kept = {r["doi"] for r in records(MEDRXIV) if r["category"] == "epidemiology"}
    assert kept and {r.doi for r in store.papers.listing(limit=100)} == kept


def test_the_parser_reads_every_fixture_and_counts_are_strings():
    for name, papers in ((MEDRXIV, 49), (BIORXIV_PAGE, 40), (TRIAGE, 1)):
        digest = parse_document((BIORXIV / name).read_bytes(), name, NOON)
        assert digest.kind == "biorxiv" and len(digest.papers) == papers
    [paper] = parse_document((BIORXIV / TRIAGE).read_bytes(), TRIAGE, NOON).papers
    assert paper.version == 2 and paper.announce == "new" and paper.announced == date(2021, 9, 30)
    raw = json.loads((BIORXIV / MEDRXIV).read_text())["messages"][0]
    assert isinstance(raw["total"], str) and isinstance(raw["cursor"], int)


def test_an_api_error_fails_the_poll_with_its_words_and_nothing_is_lost(tmp_path):
    """The API answers errors as JSON too ({"messages": [{"status": ...}]}): the poll
    fails (retried, with backoff), it is not taken for an empty day."""
    with FakeBiorxiv() as api:
        cfg, store = setup(tmp_path, api.base)
        api.listing["medrxiv"] = records(MEDRXIV)
        api.error = "Error: interval is invalid"
        assert poll(cfg, store, "med", NOON) is None
        state = store.sources.get("med")
        assert "interval is invalid" in state.last_error and not state.last_success_at
        api.error = None
        assert poll(cfg, store, "med", NOON + timedelta(hours=1)).new > 0
