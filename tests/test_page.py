"""Issue 25, item 7: the page as a place to work, in headless Chromium and without any
script: the watchlists with their counts beside every page, matches grouped by the
papers' own days a page at a time, the search box everywhere, read and saved marks kept
in SQLite, BibTeX of a paper and of the saved list, "add to Zotero"."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import bibtexparser
import pytest

from daemon.config import load_config
from daemon.store import Store
from daemon.web.server import WebServer
from tests.browser import UNSEEN_BUTTONS, browser, keep_screenshot
from tests.conftest import ARXIV, corpus_papers, hf_entry, ingest_alerting
from tests.daemon_proc import command
from tests.http_client import HTTP
from tests.receivers import Webhook

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
DAYS = ("2026-11-18", "2026-11-19", "2026-11-20")


def corpus_days(n: int) -> bytes:
    """`n` real arXiv papers as a Hugging Face answer, their days spread over DAYS."""
    papers = zip(range(n), corpus_papers(), strict=False)
    return json.dumps([hf_entry(p, 4, DAYS[i % 3]) for i, p in papers]).encode()


@pytest.fixture
def workplace(tmp_path, monkeypatch):
    zotero = Webhook()
    zotero.reply = b'{"successful": {"0": {"key": "ABCD2345"}}, "failed": {}}'
    zotero.start()
    monkeypatch.setenv("ZOTERO_KEY", "zot-s3cret")
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        'state_dir = "state"\n[web]\nlisten = "127.0.0.1:0"\n'
        f'[zotero]\nlibrary = "users/123456"\nkey = "${{ZOTERO_KEY}}"\n'
        f'base_url = "http://127.0.0.1:{zotero.port}"\n'
        '[channels]\nc = "console://"\n'
        '[[sources]]\nname = "cl"\ntype = "arxiv"\ncategories = ["cs.CL"]\n'
        '[[sources]]\nname = "inbox"\ntype = "folder"\n'
        '[[watchlists]]\nname = "models"\nkeywords = ["model"]\nnotify = ["c"]\n'
        '[[watchlists]]\nname = "agents"\nkeywords = ["agent"]\nnotify = ["c"]\n'
    )
    config = load_config(config_file)
    store = Store(config.db_path)
    ingest_alerting(config, store, "days.json", corpus_days(300), NOW)
    # the real cs.CL feed of 2026-08-20: categories, cross-lists and replacements
    feed = (ARXIV / "rss_cs.CL_2026-08-20.xml").read_bytes()
    ingest_alerting(config, store, "feed.xml", feed, NOW, source="cl")
    web = WebServer(lambda: config)
    web.start()
    try:
        yield config, store, f"http://127.0.0.1:{web.port}", zotero
    finally:
        web.stop()
        zotero.stop()
        store.close()


def test_the_page_is_a_place_to_work_without_javascript(tmp_path, workplace):
    config, store, base, zotero = workplace
    counts = store.deliveries.counts_by_watchlist()
    assert counts["models"][0] > 25  # more than a page
    check = command(config.path, "check")
    assert "zotero: users/123456" in check.stdout and "zot-s3cret" not in check.stdout
    with browser(tmp_path / "chromium") as page:
        page.call("Emulation.setScriptExecutionDisabled", value=True)  # a reader without
        page.open(f"{base}/?watchlist=models")  # JavaScript: everything works the same
        assert page.evaluate("document.scripts.length") == 1  # the keys' (issue 35)
        assert page.evaluate(UNSEEN_BUTTONS) == []  # every button shows text or an image
        nav = page.evaluate("document.querySelector('aside').innerText")
        assert f"models\n{counts['models'][1]} / {counts['models'][0]}" in nav.replace(" \n", "\n")
        days = page.evaluate(
            "[...document.querySelectorAll('section.day h3')].map(h => h.innerText)"
        )
        assert days == sorted(DAYS, reverse=True)[: len(days)] and days  # newest day first
        assert page.evaluate("document.querySelectorAll('article').length") == 25
        keep_screenshot("page.png", page.screenshot(width=1100, height=1400))
        page.key("j")  # no script, no keys: nothing happens, nothing breaks
        assert page.evaluate("document.querySelector('article.current')") is None
        first = page.evaluate("document.querySelector('article').id")
        # paging
        page.click("a[rel=next]")
        assert "page=2" in page.evaluate("location.href")
        second = page.evaluate("document.querySelector('article').id")
        assert second != first
        page.click("a[rel=prev]")
        # mark read: kept in SQLite, the count beside the page falls by one
        page.click(f"#{first} button[name=read]")
        assert page.evaluate(f"document.querySelector('#{first}').className") == "read"
        pid = int(first.split("-")[1])
        assert store.marks.of([pid]) == {pid: (True, False)}
        assert store.deliveries.counts_by_watchlist()["models"][1] == counts["models"][1] - 1
        # save it, find it on the saved page and in the saved list's BibTeX
        page.click(f"#{first} button[name=saved]")
        page.click("aside a[href^='/saved']")
        assert page.evaluate("document.querySelectorAll('article').length") == 1
        assert page.evaluate("document.querySelector('article').id") == first
        # add to Zotero: the library gets a preprint item, the page says so
        page.click(f"#{first} button[name=zotero]")
        assert "Added to Zotero." in page.evaluate("document.querySelector('.notice').innerText")
        # the search box is on every page; its results are highlighted
        page.evaluate("document.querySelector('header input[name=q]').value = 'agent'")
        page.click("header button[type=submit]")
        assert "/papers?q=agent" in page.evaluate("location.href")
        assert page.evaluate("document.querySelectorAll('article mark').length") > 0
    [paper] = store.papers.listing(ids=[pid])
    saved = bibtexparser.parse_string(HTTP.get(f"{base}/saved.bib").text)
    assert [e.fields_dict["title"].value for e in saved.entries] == [paper.title]
    one = bibtexparser.parse_string(HTTP.get(f"{base}/papers/{pid}.bib").text)
    assert one.entries[0].key == f"arXiv_{paper.arxiv_id}"
    assert HTTP.get(f"{base}/papers/999999.bib").status_code == 404
    [item] = json.loads(json.dumps(zotero.bodies[0]))
    assert zotero.paths == ["/users/123456/items"]
    assert zotero.headers[0]["Zotero-API-Key"] == "zot-s3cret"
    assert zotero.headers[0]["Zotero-API-Version"] == "3"
    assert item["itemType"] == "preprint" and item["title"] == paper.title
    assert item["archiveID"] == f"arXiv:{paper.arxiv_id}" and item["date"] in DAYS


def test_marks_through_the_api_and_refusals(workplace):
    config, store, base, zotero = workplace
    [paper] = store.papers.listing(limit=1)
    answer = HTTP.post(f"{base}/api/marks", json={"paper": paper.id, "saved": True})
    assert answer.json() == {"paper": paper.id, "read": False, "saved": True}
    answer = HTTP.post(f"{base}/api/marks", json={"paper": paper.arxiv_id, "saved": 0})
    assert answer.json() == {"paper": paper.id, "read": False, "saved": False}
    assert HTTP.post(f"{base}/api/marks", json={"paper": 0, "read": 1}).status_code == 400
    assert HTTP.post(f"{base}/api/marks", json={"paper": paper.id, "read": "x"}).status_code == 400
    other_site = {"Origin": "http://evil.example"}
    refused = HTTP.post(
        f"{base}/api/marks", json={"paper": paper.id, "read": 1}, headers=other_site
    )
    assert refused.status_code == 403
    # a form's way back is a page here, never another site
    form = {"paper": str(paper.id), "read": "1", "next": "//evil.example/x"}
    back = HTTP.post(f"{base}/api/marks", data=form)
    assert back.status_code == 303 and back.headers["Location"] == f"/#paper-{paper.id}"
    zotero.status = 403
    failed = HTTP.post(f"{base}/api/zotero", json={"paper": paper.id})
    assert failed.status_code == 502 and "HTTP 403" in failed.json()["error"]
    assert "zot-s3cret" not in failed.text
    page = HTTP.get(f"{base}/?page=2&watchlist=models").text
    assert re.search(r'rel="prev" href="/\?watchlist=models&amp;page=1"', page)
    assert HTTP.get(f"{base}/?watchlist=nope").status_code == 400


def test_the_page_reads_like_a_listing_with_filters_and_keys(tmp_path, workplace):
    """Issue 35, items 1-3: each paper's ids, categories and kind (new, cross-list,
    replacement) and its whole abstract in place; filters by watchlist, source,
    category, days, unread and saved, newest or best first; "mark all on this page
    read"; j/k/o/s/r with the page's script."""
    config, store, base, _ = workplace
    with browser(tmp_path / "chromium") as page:
        page.open(f"{base}/?source=cl&watchlist=models")
        ids = page.evaluate(
            "[...document.querySelectorAll('article')].map(a => a.querySelector('.ids').innerText)"
        )
        assert ids and all(re.match(r"arXiv \d{4}\.\d{5}", i) for i in ids)
        assert any("cs.CL" in i for i in ids)
        kinds = page.evaluate("[...document.querySelectorAll('.kind')].map(k => k.innerText)")
        assert {"new", "cross-list"} <= set(kinds), kinds  # replacements alert no one
        # the whole abstract, in place, with no script needed (<details>)
        assert page.evaluate("document.querySelector('details.abstract').open") is False
        page.evaluate("document.querySelector('details.abstract summary').click()")
        assert page.evaluate("document.querySelector('details.abstract').open") is True
        whole = page.evaluate("document.querySelector('details.abstract p').innerText")
        assert len(whole) > 300
        # a category: every paper shown is of it
        page.open(f"{base}/?category=cs.AI")
        shown = page.evaluate(
            "[...document.querySelectorAll('article .ids')].map(p => p.innerText)"
        )
        assert shown and all("cs.AI" in s for s in shown)
        # a day range: only that day's papers
        page.open(f"{base}/?since=2026-11-19&until=2026-11-19")
        days = page.evaluate(
            "[...document.querySelectorAll('section.day h3')].map(h => h.innerText)"
        )
        assert days == ["2026-11-19"]
        # keys: j/k move, s saves, r marks read, o opens
        page.open(f"{base}/?watchlist=agents")
        articles = page.evaluate("[...document.querySelectorAll('article')].map(a => a.id)")
        page.key("j")
        page.key("j")
        page.key("k")
        assert page.evaluate("document.querySelector('article.current').id") == articles[0]
        page.key("j")
        second = int(articles[1].split("-")[1])
        page.key("s", navigates=True)  # the form: the page again, at the paper
        assert store.marks.of([second]) == {second: (False, True)}
        assert page.evaluate("document.querySelector('article.current').id") == articles[1]
        page.key("r", navigates=True)
        assert store.marks.of([second]) == {second: (True, True)}
        page.evaluate("window.open = (url) => { window.__opened = url; }")
        page.key("o")
        link = page.evaluate(f"document.querySelector('#{articles[1]} h4 a').href")
        assert page.evaluate("window.__opened") == link
        # unread only; saved only
        page.open(f"{base}/?watchlist=agents&unread=1")
        assert articles[1] not in page.evaluate(
            "[...document.querySelectorAll('article')].map(a => a.id)"
        )
        page.open(f"{base}/?saved=1")
        assert page.evaluate("[...document.querySelectorAll('article')].map(a => a.id)") == [
            articles[1]
        ]
        # mark all on this page read: every paper on it
        page.open(f"{base}/?watchlist=agents&order=best")
        on_page = page.evaluate(
            "[...document.querySelectorAll('article')].map(a => +a.id.split('-')[1])"
        )
        page.click("form.all button[name=read]")
        assert all(read for read, _ in store.marks.of(on_page).values())
        assert len(store.marks.of(on_page)) == len(on_page)
        assert "order=best" in page.evaluate("location.href")  # the filters kept
    assert HTTP.get(f"{base}/?order=worst").status_code == 400
    assert HTTP.get(f"{base}/?source=nowhere").status_code == 400
