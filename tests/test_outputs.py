"""Outputs that take matches as data (issue 24, item 7): a BibTeX file per watchlist,
appended as matches are delivered, read back with a real BibTeX parser."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import bibtexparser
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.runtime import build_channels
from daemon.store import Store
from daemon.store.rows import StoredMatch, StoredPaper
from tests.conftest import HF, TEXT, examples
from tests.receivers import Webhook
from tests.test_alerts import write_config


def test_a_bibtex_file_per_watchlist_grows_as_matches_are_delivered(cli, config_file):
    write_config(
        config_file,
        {"bib": "bibtex://refs", "both": ["bibtex://refs", "console://"]},
        [
            {"name": "alignment", "keywords": ["alignment"], "notify": ["both"]},
            {"name": "tensor nets", "keywords": ["tensor"], "notify": ["bib"]},
        ],
    )
    check = cli("check")
    assert check.code == 0 and "bibtex://refs" in check.out, check.err
    assert cli("ingest", str(HF / "api_daily_papers_2026-08-03.json")).code == 0
    refs = config_file.parent / "refs"
    aligned = bibtexparser.parse_string((refs / "alignment.bib").read_text())
    assert aligned.entries and not aligned.failed_blocks
    first = aligned.entries[0]
    fields = {k: f.value for k, f in first.fields_dict.items()}
    assert first.key.startswith("arXiv_") and fields["archivePrefix"] == "arXiv"
    assert fields["url"].startswith("https://huggingface.co/papers/")
    entries = json.loads((HF / "api_daily_papers_2026-08-03.json").read_text())
    [paper] = [e["paper"] for e in entries if e["paper"]["id"] == fields["eprint"]]
    assert fields["author"] == " and ".join(a["name"] for a in paper["authors"])
    assert fields["title"] == paper["title"].replace("&", "\\&")
    assert fields["note"] == "paperwatch: alignment"
    with Store(config_file.parent / "state" / "paperwatch.db", readonly=True) as store:
        sent = store.deliveries.counts()
    assert sent["pending"] == 0 and sent["failed"] == 0  # the console got it too
    before = (refs / "alignment.bib").read_text()
    # more papers: appended, nothing twice; a text dump's papers are keyed by title
    assert cli("ingest", str(HF / "api_daily_papers_2026-08-03.json")).code == 0
    assert (refs / "alignment.bib").read_text() == before
    assert cli("ingest", str(TEXT / "000_a4df948192ebdd8e.txt")).code == 0
    tensors = bibtexparser.parse_string((refs / "tensor_nets.bib").read_text())
    keys = [e.key for e in tensors.entries]
    assert keys and len(keys) == len(set(keys)) and not tensors.failed_blocks


def test_a_folder_it_cannot_write_is_a_failed_delivery_retried_later(cli, config_file):
    (config_file.parent / "refs").write_text("a file where the folder should be")
    write_config(
        config_file,
        {"bib": "bibtex://refs"},
        [{"name": "alignment", "keywords": ["alignment"], "notify": ["bib"]}],
    )
    result = cli("ingest", str(HF / "api_daily_papers_2026-08-03.json"))
    assert "cannot write" in result.err + result.out
    with Store(config_file.parent / "state" / "paperwatch.db", readonly=True) as store:
        assert store.deliveries.counts()["failed"] > 0
    (config_file.parent / "refs").unlink()
    assert cli("alerts", "retry").code == 0
    assert (config_file.parent / "refs" / "alignment.bib").exists()
    bad = config_file.read_text().replace("bibtex://refs", "bibtex://")
    config_file.write_text(bad)
    result = cli("check")
    assert (
        result.code == 2
        and "channels.bib (line 4, column 7): expected bibtex://FOLDER" in result.err
    )


def test_titles_with_latex_braces_and_specials_stay_one_well_formed_entry(tmp_path):
    """A title holding a lone brace, a backslash, %, _ or $ (arXiv titles do) must not
    end its field early or swallow the next entry."""
    from daemon.delivery.outputs.bibtex import BibtexFiles

    nasty = [
        r"Unbalanced { brace and 100% of $\alpha_1$ in C:\temp",
        r"A } closing brace, #hash & \textit{italics}",
    ]
    rows = [
        StoredMatch(i, "w", StoredPaper(i, t, "", ("A B",), f"2608.0000{i}"), (), False, "")
        for i, t in enumerate(nasty)
    ]
    assert BibtexFiles(tmp_path, "bibtex://x").deliver("w", rows) is None
    parsed = bibtexparser.parse_string((tmp_path / "w.bib").read_text())
    assert len(parsed.entries) == 2 and not parsed.failed_blocks
    assert [e.key for e in parsed.entries] == ["arXiv_2608.00000", "arXiv_2608.00001"]
    title = parsed.entries[0].fields_dict["title"].value
    expected = r"Unbalanced \textbraceleft{} brace and 100\% of \$\textbackslash{}alpha\_1\$ in"
    assert title == expected + r" C:\textbackslash{}temp"


_COMMANDS = re.compile(
    r"\\(?:textbackslash|textbraceleft|textbraceright|textasciicircum|textasciitilde)\{\}"
    r"|\{\\char64\}|\\[%&#_$]"
)


def _balanced(value: str) -> bool:
    depth = 0
    for c in value:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(
        st.tuples(st.text(min_size=1), st.text(), st.lists(st.text(min_size=1), max_size=3)),
        min_size=1,
        max_size=4,
    )
)
def test_no_text_in_a_paper_adds_an_entry_or_a_command_to_bibtex(papers):
    """Issue 31, item 9: a title with `}` and then `@preamble{...}` or `@misc(...)` added
    entries, and TeX ran code from them. Whatever a paper's text, each paper is one entry
    whose fields' braces balance, and no backslash or `@` of the text survives."""
    from daemon.delivery.bibtex import entry

    text = "".join(
        entry(f"k{i}", StoredPaper(i, title, abstract, tuple(authors), None), note=title)
        for i, (title, abstract, authors) in enumerate(papers)
    )
    parsed = bibtexparser.parse_string(text)
    assert [e.key for e in parsed.entries] == [f"k{i}" for i in range(len(papers))]
    assert not parsed.failed_blocks and not parsed.strings and not parsed.preambles
    assert text.count("@") == len(papers)  # the entries' own
    for e in parsed.entries:
        for f in e.fields:
            assert _balanced(f.value), f.value
            assert "\\" not in _COMMANDS.sub("", f.value), f.value
            assert "^" not in f.value and "@" not in f.value


# a style that writes each entry's key and title as BibTeX read them
_MIN_BST = """ENTRY { title } {} {}
FUNCTION {misc} { "\\bibitem{" cite$ * "}" * write$ newline$ title write$ newline$ }
READ
ITERATE {call.type$}
"""
HOSTILE_TITLES = [
    "x} @preamble{\\immediate\\write18{touch pwned}}",
    "y} @misc(z, title={a}",
    "}}}} @string{a = {b}} {{{",
    "^^5cimmediate^^5cwrite18{touch pwned}",
    "a\n@misc{evil,\ntitle={b}}",
    "%}\\",
]


def test_bibtex_itself_reads_hostile_titles_as_one_entry_each(tmp_path):
    """The same, read by BibTeX itself (Debian's texlive-binaries, installed by make)."""
    from daemon.delivery.bibtex import entry

    papers = [StoredPaper(i, t, t, ("A B",), None) for i, t in enumerate(HOSTILE_TITLES)]
    (tmp_path / "refs.bib").write_text("".join(entry(f"k{p.id}", p) for p in papers))
    (tmp_path / "min.bst").write_text(_MIN_BST)
    (tmp_path / "doc.aux").write_text("\\citation{*}\n\\bibdata{refs}\n\\bibstyle{min}\n")
    run = subprocess.run(
        ["bibtex", "doc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "BIBINPUTS": ".", "BSTINPUTS": "."},
        timeout=30,
    )
    assert run.returncode == 0 and "error" not in run.stdout.lower(), run.stdout
    bbl = " ".join((tmp_path / "doc.bbl").read_text().split())  # BibTeX wraps long lines
    items = re.findall(r"\\bibitem\{(\w+)\} (.*?)(?= \\bibitem|$)", bbl)
    assert [key for key, _ in items] == [f"k{i}" for i in range(len(papers))]
    for _, title in items:
        assert "@" not in title and "^" not in title and _balanced(title)
        assert "\\" not in _COMMANDS.sub("", title)


def test_a_json_webhook_gets_the_matches_as_data_in_its_documented_schema(
    cli, config_file, monkeypatch
):
    """Issue 25, item 6: `webhook://` POSTs ids, title, authors, day, links, matched
    terms, watchlist and score, valid against webhook.schema.json; a header from the URL
    carries a secret that is shown nowhere; an error status is a failed delivery."""
    import jsonschema

    from daemon.delivery.outputs import webhook

    schema = json.loads((Path(webhook.__file__).parent / "webhook.schema.json").read_text())
    token = "s3cr3t-hook-token"
    monkeypatch.setenv("HOOK_TOKEN", token)
    hook = Webhook().start()
    try:
        url = f"webhook://127.0.0.1:{hook.port}/in?+Authorization=Bearer%20${{HOOK_TOKEN}}"
        write_config(
            config_file,
            {"data": url},
            [{"name": "alignment", "keywords": ["alignment"], "notify": ["data"]}],
        )
        check = cli("check")
        assert check.code == 0 and f"webhook://127.0.0.1:{hook.port}/in" in check.out
        assert cli("ingest", str(HF / "api_daily_papers_2026-08-03.json")).code == 0
        hook.status = 500
        failed = cli("ingest", str(TEXT / "000_a4df948192ebdd8e.txt"))
        assert "failed (will retry)" in failed.out or "alerts: 0 sent" in failed.out
    finally:
        hook.stop()
    [body] = hook.bodies
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(body)
    assert body["schema"] == webhook.SCHEMA and body["watchlist"] == "alignment"
    assert hook.headers[0]["Authorization"] == f"Bearer {token}"
    entries = json.loads((HF / "api_daily_papers_2026-08-03.json").read_text())
    by_id = {e["paper"]["id"]: e["paper"] for e in entries}
    for paper in body["papers"]:
        source = by_id[paper["arxiv_id"]]
        assert paper["title"] == source["title"]
        assert paper["authors"] == [a["name"] for a in source["authors"]]
        assert paper["day"] == source["publishedAt"][:10]
        links = {link["label"]: link["url"] for link in paper["links"]}
        assert links["PDF"] == f"https://arxiv.org/pdf/{paper['arxiv_id']}"
        assert {"term": "alignment"}.items() <= paper["matched"][0].items()
        assert paper["score"] is None  # a keyword match
    log = cli("alerts").out + check.out + check.err + failed.out + failed.err
    assert token not in log and "Authorization" not in log


def test_a_secret_in_a_webhook_path_is_stored_and_shown_nowhere(cli, config_file, monkeypatch):
    """Issue 31, item 10: a webhook:// URL's path held the secret, which went into
    deliveries.last_error, onto /status and, with -v, into library debug lines. A
    `${...}` value and a path segment that reads as a token are both hidden everywhere."""
    secret, literal = "hook-Secret-0042", "T0123456789abcdefXYZ"
    monkeypatch.setenv("HOOK_SECRET", secret)
    hook = Webhook().start()
    hook.status = 500
    try:
        write_config(
            config_file,
            {
                "data": f"webhook://127.0.0.1:{hook.port}/hook/${{HOOK_SECRET}}",
                "raw": f"webhook://127.0.0.1:{hook.port}/services/{literal}",
            },
            [{"name": "alignment", "keywords": ["alignment"], "notify": ["data", "raw"]}],
        )
        check = cli("check")
        assert f"webhook://127.0.0.1:{hook.port}/services/****" in check.out
        ingest = cli("-v", "ingest", str(HF / "api_daily_papers_2026-08-03.json"))
        alerts = cli("-v", "alerts")
        status = cli("status")
    finally:
        hook.stop()
    assert hook.requests >= 2  # both were tried, and failed
    with Store(config_file.parent / "state" / "paperwatch.db") as store:
        errors = [r[0] for r in store.conn.execute("SELECT last_error FROM deliveries")]
    assert errors and all("HTTP 500" in e for e in errors)
    shown = "".join([*errors, check.out, check.err, ingest.out, ingest.err, alerts.out])
    shown += alerts.err + status.out + status.err
    assert secret not in shown and literal not in shown


def test_library_log_lines_are_scrubbed_too(capsys):
    """urllib3 and httpx print a request's path at debug level (`-v`): the root logger's
    handler scrubs every record, not only paperwatch's own."""
    import logging

    from daemon.core.log import setup_logging
    from daemon.core.secrets import remember

    remember("lib-Secret-0043")
    setup_logging(verbose=True)
    try:
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "POST /hook/%s HTTP/1.1" 500', "http://127.0.0.1:9", "lib-Secret-0043"
        )
        logging.getLogger("urllib3.connectionpool").debug("bad %d format", "x")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "POST /hook/**** HTTP/1.1" in err and "lib-Secret-0043" not in err


def test_a_webhook_that_trickles_its_answer_is_cut_off_at_the_channel_timeout(config_file):
    """Issue 31, item 11: `timeout = "5s"` was not applied to webhook:// (a trickling
    receiver held it 103 s): the channel's timeout is the delivery's total time."""
    import time

    from daemon.config import load_config

    hook = Webhook().start()
    hook.trickle = 0.25  # 38 bytes: 9.5 s, each byte well within any read timeout
    try:
        config_file.write_text(
            'state_dir = "state"\n[channels.data]\n'
            f'url = "webhook://127.0.0.1:{hook.port}/in"\ntimeout = "1s"\n'
        )
        channel = build_channels(load_config(config_file))["data"]
        started = time.monotonic()
        sent = channel.deliver("w", [], lambda: None)  # type: ignore[arg-type, return-value]
        took = time.monotonic() - started
    finally:
        hook.stop()
    assert sent.error is not None and "timed out after 1 s" in sent.error
    assert took < 5


def test_a_replaced_papers_bibtex_month_is_its_first_versions(tmp_path):
    """Issue 35, item 13: a paper first seen as a replacement in the feed of 2026-08-20
    (2307.12896: first posted in July 2023) had the replacement's day, so August 2026 in
    BibTeX; its day is now its id's month. A new paper keeps the feed's day."""
    from datetime import UTC, datetime

    from daemon.delivery.bibtex import entry
    from tests.conftest import ARXIV, configured, ingest_alerting

    cfg, store = configured(tmp_path, 'state_dir = "state"\n')
    feed = (ARXIV / "rss_cs.CL_2026-08-20.xml").read_bytes()
    ingest_alerting(cfg, store, "feed.xml", feed, datetime(2026, 8, 20, 9, tzinfo=UTC))
    rows = {r.arxiv_id: r for r in store.papers.listing(limit=500)}
    replaced, new = rows["2307.12896"], rows["2608.18082"]
    assert replaced.day == "2023-07" and "year = {2023}" in entry("k", replaced)
    assert "month = {7}" in entry("k", replaced)
    assert new.day == "2026-08-20" and "month = {8}" in entry("k", new)
