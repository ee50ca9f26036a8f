from __future__ import annotations

import re

from tests.conftest import HF, TEXT
from tests.daemon_proc import paperwatch


def test_ingest_text_folder_then_again(cli):
    first = cli("ingest", str(TEXT))
    assert first.code == 0, first.err
    assert "000_a4df948192ebdd8e.txt: 40 papers, 40 new" in first.out
    assert "194 papers stored" in first.out
    second = cli("ingest", str(TEXT))
    assert second.code == 0
    assert "0 new" in second.out and "3 files, 221 papers, 0 new" in second.out
    papers = cli("papers", "--json").json()
    assert len(papers) == 194
    assert set(papers[0]) == {
        "id",
        "arxiv_id",
        "doi",
        "pmid",
        "pmcid",
        "title",
        "abstract",
        "authors",
        "url",
        "day",
        "first_seen",
        "sightings",
    }


def test_bad_file_is_reported_and_the_rest_ingested(cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_bad.json").write_bytes(b'{"wrong": "shape"}')
    (folder / "b_good.json").write_bytes((HF / "api_daily_papers_2026-08-03.json").read_bytes())
    (folder / ".hidden").write_bytes(b"ignored")
    (folder / "c.part").write_bytes(b"ignored")
    result = cli("ingest", str(folder))
    assert result.code == 1
    assert "error: a_bad.json: JSON of the wrong shape" in result.err
    assert "b_good.json: 3 papers, 3 new" in result.out
    assert "Traceback" not in result.err


def test_dom_only_then_api_reports_gained_text(cli):
    cli("ingest", str(HF / "listing_dom_only_2026-08-03.html"))
    result = cli("ingest", str(HF / "api_daily_papers_2026-08-03.json"))
    assert "3 papers, 0 new, 3 gained text" in result.out
    papers = cli("papers", "--json").json()
    assert len(papers) == 3 and all(p["abstract"] and p["authors"] for p in papers)


def test_papers_limit_and_since(cli):
    cli("ingest", str(HF / "api_daily_papers_2026-06-12.json"))
    assert len(cli("papers", "--json", "--limit", "5").json()) == 5
    assert cli("papers", "--json", "--since", "2999-01-01").json() == []
    bad = cli("papers", "--since", "yesterday")
    assert bad.code == 2


def test_missing_path_is_usage_error(cli, tmp_path):
    result = cli("ingest", str(tmp_path / "nope"))
    assert result.code == 2 and result.err.startswith("error: ")


def test_every_command_has_help(capsys):
    from daemon.cli import build_parser, main

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    listed = getattr(sub, "_choices_actions")  # noqa: B009 (argparse keeps the help here)
    assert {a.dest for a in listed} == set(sub.choices or ())
    assert all(a.help for a in listed)
    for name in sub.choices:
        assert main([name, "--help"]) == 0
        assert f"usage: paperwatch {name}" in capsys.readouterr().out


def test_console_script_runs_as_a_process(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('state_dir = "s"\n')
    proc = paperwatch(config, "ingest", str(TEXT))
    assert proc.returncode == 0, proc.stderr
    assert "194 papers stored" in proc.stdout
    assert (tmp_path / "s" / "paperwatch.db").exists()


def test_empty_database_says_so_and_status_creates_nothing(cli, config_file):
    config_file.write_text('state_dir = "state"\n[[sources]]\nname = "in"\ntype = "folder"\n')
    status = cli("status")
    assert status.code == 0 and "in (folder" in status.out and "not polled yet" in status.out
    assert not (config_file.parent / "state").exists()
    assert cli("status", "--json").json()["papers"] == 0
    assert cli("papers").out.strip() == "papers: none stored yet"
    assert cli("alerts").out.strip() == "alerts: none yet"
    assert cli("alerts", "--status", "dead").out.strip() == "alerts: none with status dead"


def test_preview_takes_a_watchlist_or_a_query_not_both(cli, config_file):
    config_file.write_text(
        '[channels]\nc = "console://"\n'
        '[[watchlists]]\nname = "t"\nkeywords = ["x"]\nnotify = ["c"]\n'
    )
    both = cli("preview", "t", "--query", "y")
    assert both.code == 2 and "not both" in both.err


def test_log_lines_carry_a_timestamp_outside_journald(monkeypatch, capsys):
    import logging

    from daemon.core.log import event, setup_logging

    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    setup_logging()
    event("hello", n=1)
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO hello n=1$", capsys.readouterr().err)
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    setup_logging()
    event("hello", n=2)
    assert capsys.readouterr().err == "INFO hello n=2\n"
    logging.getLogger().handlers.clear()


def test_a_text_dumps_papers_have_the_day_it_shows(cli, tmp_path):
    """Issue 35, item 6: the dump says "Jul 30"; its papers' day is the 30th of July of
    the nearest past year from the file's time (2026 for a file of 2026-08-05, 2025 for
    one of 2026-07-01), and --since/--until filter on it."""
    import os
    from datetime import datetime

    dump = tmp_path / "july.txt"
    dump.write_bytes((TEXT / "000_a4df948192ebdd8e.txt").read_bytes())
    stamp = datetime(2026, 8, 5, 12).timestamp()
    os.utime(dump, (stamp, stamp))
    assert cli("ingest", str(dump)).code == 0
    papers = cli("papers", "--json").json()
    assert len(papers) == 40 and {p["day"] for p in papers} == {"2026-07-30"}
    assert len(cli("papers", "--json", "--since", "2026-07-30").json()) == 40
    assert cli("papers", "--json", "--since", "2026-07-31").json() == []
    early = tmp_path / "early.txt"
    early.write_bytes((TEXT / "002_dcd73f2e833c8373.txt").read_bytes())  # "Apr 22"
    stamp = datetime(2026, 3, 1, 12).timestamp()
    os.utime(early, (stamp, stamp))
    assert cli("ingest", str(early)).code == 0
    days = {p["day"] for p in cli("papers", "--json", "--until", "2025-12-31").json()}
    assert days == {"2025-04-22"}
