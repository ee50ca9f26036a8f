"""PubMed and journal tables of contents (issue 34): the E-utilities and Crossref's API
answered by local servers with real records, paged; papers known by PMID and DOI, one
row whichever source saw them first."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from daemon.core.errors import ConfigError
from daemon.parse import parse_document
from daemon.sources import pubmed
from daemon.sources.crossref import check_digit
from daemon.status import alerts, status
from tests.conftest import configured, ingest_alerting, load_and_build
from tests.conftest import poll_once as poll
from tests.fake_crossref import BY_DOI, CROSSREF, FakeCrossref, works
from tests.fake_pubmed import FIFTY, PUBMED, FakePubmed, articles

NOON = datetime(2026, 8, 20, 12, tzinfo=UTC)
SHARED_DOI = "10.3758/s13428-022-02028-7"  # in PubMed's 50 and Crossref's 8: one paper


def setup(
    tmp_path,
    pubmed_base: str = "http://127.0.0.1:9",
    crossref_base: str = "",
    extra: str = "",
    channels: str = "",
):
    return configured(
        tmp_path,
        f'state_dir = "state"\n{extra}\n[http]\nmin_interval = "0s"\ntimeout = "2s"\n'
        f'retries = 0\n[channels]\nc = "console://"\n{channels}'
        f'[[sources]]\nname = "pm"\ntype = "pubmed"\nbase_url = "{pubmed_base}"\n'
        'term = \'("machine learning"[tiab] OR "deep learning"[tiab]) AND nlp[tiab]\'\n'
        'email = "me@example.org"\n'
        f'[[sources]]\nname = "toc"\ntype = "crossref"\nbase_url = "{crossref_base or "http://127.0.0.1:9"}"\n'
        'issn = ["0028-0836", "1554-3528"]\nmailto = "me@example.org"\nrows = 10\n'
        '[[watchlists]]\nname = "nlp"\nkeywords = ["natural language processing", "forecast"]\n'
        'notify = ["c"]\n',
    )


def asked(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def test_pubmed_is_paged_stored_by_pmid_alerts_once_and_status_shows_it(tmp_path, monkeypatch):
    monkeypatch.setattr(pubmed, "BATCH", 20)
    with FakePubmed() as api:
        api.articles = articles()
        cfg, store = setup(tmp_path, api.base)
        first = poll(cfg, store, "pm", NOON)
        assert first is not None and first.documents == 3, first  # 50 articles, 20 a time
        search, *fetches = api.paths()
        query = asked(search)
        assert search.startswith("/esearch.fcgi") and query["datetype"] == "edat"
        assert (query["mindate"], query["maxdate"]) == ("2026/08/19", "2026/08/20")
        assert query["usehistory"] == "y" and query["tool"] == "paperwatch"
        assert query["term"].startswith('("machine learning"[tiab]')
        assert [asked(p)["retstart"] for p in fetches] == ["0", "20", "40"]
        assert api.max_in_flight == 1
        rows = store.papers.listing(limit=100)
        assert len(rows) == 50 and all(r.pmid and r.url.endswith(f"/{r.pmid}/") for r in rows)
        assert sum(bool(r.doi) for r in rows) == 45 and sum(bool(r.pmcid) for r in rows) == 21
        alerted = {a["paper_id"] for a in alerts(store)}
        assert first.new == 50 and alerted and len(alerted) == len(alerts(store))
        second = poll(cfg, store, "pm", NOON + timedelta(hours=6))
        assert second is not None and second.new == 0 and len(alerts(store)) == len(alerted)
        report = {s["name"]: s for s in status(store, cfg)["sources"]}
        assert report["pm"]["type"] == "pubmed" and report["pm"]["last_result"]
        assert 'PubMed \'("machine learning"' in report["pm"]["where"]


def test_the_api_key_is_sent_and_never_stored_or_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("NCBI_KEY", "ncbi-key-0123456789abcdef")
    with FakePubmed() as api:
        api.articles = articles()[:3]
        cfg, store = setup(tmp_path, api.base)
        text = cfg.path.read_text().replace(
            'email = "me@example.org"', 'email = "me@example.org"\napi_key = "${NCBI_KEY}"', 1
        )
        cfg, store = configured(tmp_path, text)
        assert poll(cfg, store, "pm", NOON).new == 3
        assert all(asked(p)["api_key"] == "ncbi-key-0123456789abcdef" for p in api.paths())
        kept = store.conn.execute("SELECT group_concat(location) FROM documents").fetchone()[0]
        assert "efetch.fcgi" in kept and "ncbi-key" not in kept and "api_key" not in kept
        api.status = 503
        assert poll(cfg, store, "pm", NOON + timedelta(hours=6)) is None
        error = store.sources.get("pm").last_error or ""
        assert "HTTP 503" in error and "ncbi-key" not in error


def test_a_pubmed_failure_backs_off_says_why_and_reaches_the_admin_alert(tmp_path, hook):
    with FakePubmed() as api:
        admin = 'admin_channel = "hook"\nalert_after_failures = 2'
        cfg, store = setup(tmp_path, api.base, extra=admin, channels=hook.channel("hook"))
        api.error = "Invalid query: unbalanced"
        assert poll(cfg, store, "pm", NOON) is None
        state = store.sources.get("pm")
        assert "PubMed says 'Invalid query: unbalanced'" in state.last_error
        assert state.consecutive_failures == 1 and state.retry_after > state.last_poll_at
        api.error, api.status = None, 500
        assert poll(cfg, store, "pm", NOON + timedelta(hours=1)) is None
        assert len(hook.bodies) == 1 and "pm" in hook.bodies[0]["title"]
        api.status, api.articles = 200, articles()[:5]
        assert poll(cfg, store, "pm", NOON + timedelta(hours=2)).new == 5
        assert "recovered" in hook.bodies[-1]["title"]


def test_crossref_is_paged_by_cursor_stored_by_doi_and_alerts_once(tmp_path, hook):
    with FakeCrossref() as api:
        api.works = works() + works(BY_DOI)
        admin = 'admin_channel = "hook"\nalert_after_failures = 2'
        cfg, store = setup(
            tmp_path, crossref_base=api.base, extra=admin, channels=hook.channel("hook")
        )
        first = poll(cfg, store, "toc", NOON)
        assert first is not None and first.documents == 3  # 28 works, 10 a page
        cursors = [asked(p)["cursor"] for p in api.paths()]
        assert cursors == ["*", "c10", "c20"]
        query = asked(api.paths()[0])
        assert query["filter"] == (
            "issn:0028-0836,issn:1554-3528,"
            "from-created-date:2026-08-19,until-created-date:2026-08-20"
        )
        assert query["mailto"] == "me@example.org" and query["rows"] == "10"
        rows = store.papers.listing(limit=100)
        assert len(rows) == 28 and all(r.doi and r.url == f"https://doi.org/{r.doi}" for r in rows)
        assert not any("<" in (r.abstract or "") for r in rows)  # JATS read as text
        alerted = {a["paper_id"] for a in alerts(store)}
        assert alerted and first.new == 28
        second = poll(cfg, store, "toc", NOON + timedelta(hours=6))
        assert second is not None and second.new == 0 and len(alerts(store)) == len(alerted)
        api.status = 500
        assert poll(cfg, store, "toc", NOON + timedelta(hours=12)) is None
        assert "HTTP 500" in (store.sources.get("toc").last_error or "")
        assert store.sources.get("toc").retry_after  # backed off
        assert poll(cfg, store, "toc", NOON + timedelta(hours=18)) is None
        assert len(hook.bodies) == 1 and "toc" in hook.bodies[0]["title"]


def test_a_paper_from_crossref_and_pubmed_is_one_row_in_either_order(tmp_path):
    with FakeCrossref() as journals, FakePubmed() as api:
        journals.works, api.articles = works(BY_DOI), articles()
        for order in (("toc", "pm"), ("pm", "toc")):
            where = tmp_path / "-".join(order)
            where.mkdir()
            cfg, store = setup(where, api.base, journals.base)
            for n, name in enumerate(order):
                assert poll(cfg, store, name, NOON + timedelta(hours=n)) is not None
            [row] = store.conn.execute(
                "SELECT id, doi, pmid, title FROM papers WHERE doi = ?", (SHARED_DOI,)
            ).fetchall()
            assert row["pmid"] and row["title"].startswith("Building and benchmarking")
            assert store.papers.counts()["papers"] == 50 + 8 - 1
            sightings = store.conn.execute(
                "SELECT count(*) FROM sightings WHERE paper_id = ?", (row["id"],)
            ).fetchone()[0]
            assert sightings == 2


def test_a_record_naming_two_stored_rows_makes_them_one(tmp_path):
    """Its DOI names the journal's row, its PMID an older PubMed row stored without the
    DOI (and another title): the two rows become one, the oldest id kept, both sightings
    and the alert kept."""
    cfg, store = setup(tmp_path)
    article = next(a for a in articles() if SHARED_DOI.encode() in a.lower())
    bare = re.sub(rb'<ArticleId IdType="doi">[^<]*</ArticleId>', b"", article)
    bare = re.sub(rb'<ELocationID EIdType="doi"[^>]*>[^<]*</ELocationID>', b"", bare)
    bare = re.sub(rb"<ArticleTitle>[^<]*", b"<ArticleTitle>An earlier title", bare)
    wrap = b"<PubmedArticleSet>%s</PubmedArticleSet>"
    ingest_alerting(cfg, store, "bare.xml", wrap % bare, NOON)
    journal = {"status": "ok", "message-type": "work", "message": works(BY_DOI)[6]}
    ingest_alerting(cfg, store, "work.json", json.dumps(journal).encode(), NOON)
    assert store.papers.counts()["papers"] == 2
    older = store.conn.execute("SELECT min(id) FROM papers").fetchone()[0]
    ingest_alerting(cfg, store, "full.xml", wrap % article, NOON)
    [row] = store.conn.execute("SELECT id, doi, pmid FROM papers").fetchall()
    assert row["id"] == older and row["doi"] == SHARED_DOI and row["pmid"]
    assert store.conn.execute("SELECT count(*) FROM sightings").fetchone()[0] == 3


def test_pubmed_records_are_read_whole():
    digest = parse_document(FIFTY.read_bytes(), "fifty.xml", NOON)
    papers = {p.pmid: p for p in digest.papers}
    assert digest.kind == "pubmed" and len(papers) == 50 and not digest.skipped
    assert sum(not p.abstract for p in papers.values()) == 1  # title-only
    labelled = [p for p in papers.values() if re.match(r"^[A-Z ]+: ", p.abstract)]
    assert len(labelled) >= 20  # structured abstracts keep their sections' labels
    assert all(p.announced and p.announced.year >= 2019 for p in papers.values())
    # the article's own DOI, never one of the references' (a ReferenceList holds those)
    for article in articles():
        ident = re.search(rb"<PMID[^>]*>(\d+)</PMID>", article).group(1).decode()
        own = article.split(b"<ReferenceList")[0].decode().lower()
        found = papers[ident].doi
        assert found is None or found in own
    old = parse_document(
        (PUBMED / "biopython_efetch_pubmed1_12091962_9997_abstract.xml").read_bytes(), "o", NOON
    )
    bare = [p for p in old.papers if not p.doi]
    assert len(old.papers) == 2 and len(bare) == 1 and not bare[0].abstract


def test_crossref_works_are_read_whole():
    digest = parse_document(
        (
            CROSSREF / "crossref_works_query-ecology_query.author-carl_boettiger_rows20.json"
        ).read_bytes(),
        "ecology.json",
        NOON,
    )
    assert digest.kind == "crossref" and len(digest.papers) == 20
    with_abstract = [p for p in digest.papers if p.abstract]
    assert len(with_abstract) == 15
    assert not any(p.abstract.startswith("Abstract") or "jats" in p.abstract for p in with_abstract)
    assert all(p.announced and p.announced < date(2026, 7, 1) for p in digest.papers)
    one = parse_document(
        (CROSSREF / "crossref_work_10.1371_journal.pone.0033693.json").read_bytes(), "w", NOON
    )
    assert [p.doi for p in one.papers] == ["10.1371/journal.pone.0033693"]


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        (
            "issn",
            '["0028-0837"]',
            "'0028-0837' fails its check digit: a typo? (did you mean '0028-0836'?)",
        ),
        ("issn", '["nature"]', "'nature' is not an ISSN (NNNN-NNNC"),
        ("issn", "[]", "missing (required)"),
        ("rows", "5000", "must be between 1 and 1000"),
        ("term", "'\"machine learning[tiab]'", "has an unclosed quote"),
        ("term", "'(cancer AND humans[mh]'", "has an unclosed ("),
        ("term", "'cancer) AND (x'", "has a ) before its ("),
        ("term", "''", "must not be empty"),
    ],
)
def test_check_names_a_wrong_journal_or_term_by_its_toml_path(tmp_path, key, value, said):
    cfg, _ = setup(tmp_path)
    text = re.sub(rf"^{key} = .*$", f"{key} = {value}", cfg.path.read_text(), count=1, flags=re.M)
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as found:
        load_and_build(tmp_path / "config.toml")
    where, _, message = str(found.value).partition(": ")
    source = 0 if key == "term" else 1
    assert re.fullmatch(rf"sources\[{source}\]\.{key} \(line \d+, column \d+\)", where), where
    assert message.startswith(said), message


def test_issn_check_digits_are_iso_3297s():
    # real journals: Nature (print and online), Behavior Research Methods, an X check digit
    for issn in ("0028-0836", "1476-4687", "1554-3528", "2434-561X"):
        assert check_digit(issn.replace("-", "")[:7]) == issn[-1]


def test_pubmed_and_pmc_links_reach_every_output(tmp_path):
    """Issue 34, item 5: the email, chat messages, the Atom feed, the API and BibTeX
    give a PubMed paper's PubMed, PMC and DOI links and its PMID."""
    import feedparser

    from daemon.delivery.bibtex import entry
    from daemon.delivery.render import paper_json, render
    from daemon.web.server import atom

    cfg, store = setup(tmp_path)
    ingest_alerting(cfg, store, "fifty.xml", FIFTY.read_bytes(), NOON)
    matches = store.deliveries.recent_matches(["nlp"], limit=100)
    match = next(m for m in matches if m.paper.pmcid and m.paper.doi)
    paper = match.paper
    pages = [
        f"https://pubmed.ncbi.nlm.nih.gov/{paper.pmid}/",
        f"https://pmc.ncbi.nlm.nih.gov/articles/{paper.pmcid}/",
        f"https://doi.org/{paper.doi}",
    ]
    message = render("nlp", "", [match])
    for body in (message.email, message.body("html"), message.body("markdown")):
        assert all(url in body for url in pages)
    feed = feedparser.parse(atom(store, cfg, "nlp", ["nlp"], "http://127.0.0.1:1"))
    [found] = [e for e in feed.entries if e.title == paper.title]
    assert set(pages) <= {link.href for link in found.links}
    assert paper_json(paper)["pmid"] == paper.pmid
    bib = entry("k", paper)
    assert f"pmid = {{{paper.pmid}}}" in bib and f"pmcid = {{{paper.pmcid}}}" in bib


def test_the_daemon_runs_pubmed_crossref_and_citations_end_to_end(tmp_path, hook):
    """`paperwatch run` with the three sources on local servers: each first poll stores
    its papers, one row for the paper both PubMed and Crossref list, the keyword
    watchlist alerts; `status` shows every source's last success."""
    from tests.daemon_proc import Daemon, command, wait_for
    from tests.fake_s2 import FakeS2
    from tests.fake_s2 import citations as cited_by

    with FakePubmed() as api, FakeCrossref() as journals, FakeS2() as s2:
        api.articles, journals.works = articles(), works(BY_DOI)
        s2.citing[f"DOI:{SHARED_DOI}"] = cited_by(SHARED_DOI)
        config = tmp_path / "config.toml"
        config.write_text(
            f'state_dir = "state"\n[web]\nlisten = ""\n[http]\nmin_interval = "0s"\n'
            f"[channels]\n{hook.channel('w')}"
            f'[[sources]]\nname = "pm"\ntype = "pubmed"\nterm = "nlp"\nbase_url = "{api.base}"\n'
            f'[[sources]]\nname = "toc"\ntype = "crossref"\nissn = ["1554-3528"]\n'
            f'base_url = "{journals.base}"\n'
            f'[[sources]]\nname = "s2"\ntype = "citations"\nbase_url = "{s2.base}"\n'
            '[[watchlists]]\nname = "nlp"\nkeywords = ["natural language processing"]\n'
            'notify = ["w"]\n'
            f'[[watchlists]]\nname = "mine"\ncites = ["{SHARED_DOI}"]\nnotify = ["w"]\n'
        )
        daemon = Daemon(config, tmp_path / "log").start()
        try:

            def polled() -> bool:
                return daemon.output().count("result=ok") >= 3

            assert wait_for(polled, 30), daemon.output()
            assert wait_for(lambda: hook.bodies, 10), daemon.output()
        finally:
            assert daemon.stop() == 0
        report = json.loads(command(config, "status", "--json").stdout)
    assert {s["name"]: bool(s["last_success_at"]) for s in report["sources"]} == {
        "pm": True,
        "toc": True,
        "s2": True,
    }
    titles = [b["title"] for b in hook.bodies]
    assert any("for nlp" in t for t in titles)
    assert not any("for mine" in t for t in titles)  # the citations' first read: a baseline
    rows = command(config, "papers", "--json", "--limit", "500")
    stored = json.loads(rows.stdout)
    assert len([p for p in stored if p["doi"] == SHARED_DOI]) == 1
