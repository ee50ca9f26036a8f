"""Outputs that take matches as data (issue 24, item 7): a BibTeX file per watchlist,
appended as matches are delivered, read back with a real BibTeX parser."""

from __future__ import annotations

import json
from pathlib import Path

import bibtexparser

from daemon.store import Store
from daemon.store.rows import StoredMatch, StoredPaper
from tests.conftest import HF, TEXT
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
    from daemon.outputs.bibtex import BibtexFiles

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
    expected = r"Unbalanced \{ brace and 100\% of \$\textbackslash{}alpha\_1\$ in C:"
    assert title == expected + r"\textbackslash{}temp"


def test_a_json_webhook_gets_the_matches_as_data_in_its_documented_schema(
    cli, config_file, monkeypatch
):
    """Issue 25, item 6: `webhook://` POSTs ids, title, authors, day, links, matched
    terms, watchlist and score, valid against webhook.schema.json; a header from the URL
    carries a secret that is shown nowhere; an error status is a failed delivery."""
    import jsonschema

    from daemon.outputs import webhook

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
