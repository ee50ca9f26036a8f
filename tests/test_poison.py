"""Hostile inputs never stop the inbox (issue 21, fault 1-3): real fixtures mutated the
way an attacker or a broken exporter would, odd names and odd file types. Each poison
file is that file's failure (quarantined with its reason) or read for what it holds; the
good file that sorts after it is ingested in the same scan; `paperwatch ingest` reports
and goes on, without a traceback."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from daemon.sources.folder import NAME_BYTES, Refused, read_consumable
from tests.conftest import ARXIV, HF, TEXT
from tests.test_inbox_faults import Inbox

GOOD = TEXT / "000_a4df948192ebdd8e.txt"  # 40 papers


def _hf() -> str:
    return (HF / "api_daily_papers_2026-08-03.json").read_text()


def _upvotes(value: str) -> bytes:
    return re.sub(r'"upvotes":\s*\d+', f'"upvotes": {value}', _hf(), count=1).encode()


def _arxiv(name: str, pattern: str, replacement: str) -> bytes:
    return re.sub(pattern, replacement, (ARXIV / name).read_text(), count=1).encode()


POISON = {  # name -> (bytes, read: its papers stored; else quarantined)
    "deep.json": (b"[" * 100_000, False),
    "deep_object.json": (b'{"a": ' + b"[" * 100_000, False),
    "upvotes.json": (_upvotes("100000000000000000000000"), True),
    "digits.json": (_upvotes("9" * 5000), False),
    "guid.xml": (
        _arxiv(
            "rss_cs.CL_2026-08-20.xml",
            r"(<guid[^>]*>[^<]*?)(v\d+)?(</guid>)",
            r"\1v99999999999999999999\3",
        ),
        True,
    ),
    "published.xml": (
        _arxiv(
            "api_query_testing_100.xml",
            r"<published>[^<]*</published>",
            "<published>garbage-garbage</published>",
        ),
        True,
    ),
    "dcdate.xml": (
        _arxiv(
            "rss_cs.CL_2023-07-05_legacy_rdf.xml",
            r"<dc:date>[^<]*</dc:date>",
            "<dc:date>2023-13-45</dc:date>",
        ),
        True,
    ),
}


def _settled(path: Path) -> None:
    os.utime(path, (time.time() - 60, time.time() - 60))


@pytest.mark.parametrize("name", sorted(POISON))
def test_a_poison_document_is_its_own_failure_and_the_next_file_is_taken(tmp_path, name):
    data, readable = POISON[name]
    inbox = Inbox(tmp_path)
    (inbox.path / f"a_{name}").write_bytes(data)
    (inbox.path / "b_good.txt").write_bytes(GOOD.read_bytes())
    for path in inbox.path.iterdir():
        _settled(path)
    inbox.poll()
    assert (inbox.path / "done" / "b_good.txt").exists()
    assert not (inbox.path / f"a_{name}").exists()
    if readable:
        assert (inbox.path / "done" / f"a_{name}").exists()
    else:
        reason = (inbox.path / "failed" / f"a_{name}.error.txt").read_text()
        assert f"a_{name}" in reason


def test_ingest_reports_a_poison_file_and_goes_on(cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, (data, _) in POISON.items():
        (folder / f"a_{name}").write_bytes(data)
    (folder / "b_good.txt").write_bytes(GOOD.read_bytes())
    result = cli("ingest", str(folder))
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "b_good.txt: 40 papers, 40 new" in result.out
    assert "a_deep.json: JSON nested too deeply" in result.err
    assert f"{len(POISON)} files" not in result.out  # 8 files: the 7 and the good one
    assert f"{len(POISON) + 1} files" in result.out


def test_a_symlink_loop_is_refused_and_the_inbox_goes_on(tmp_path):
    inbox = Inbox(tmp_path)
    (inbox.path / "a_loop.txt").symlink_to(inbox.path / "a_loop.txt")
    (inbox.path / "b_good.txt").write_bytes(GOOD.read_bytes())
    _settled(inbox.path / "b_good.txt")
    inbox.poll()
    assert (inbox.path / "done" / "b_good.txt").exists()
    assert "symlink loop" in (inbox.path / "failed" / "a_loop.txt.error.txt").read_text()


def test_a_long_name_dropped_twice_keeps_a_bounded_name_in_done(tmp_path):
    """255 bytes is the longest name; done/ keeps a copy number and failed/ a note beside
    it: such names are cut, keeping their start, a digest and their extension."""
    inbox = Inbox(tmp_path)
    name = "x" * 245 + ".txt"
    for round_ in range(2):
        (inbox.path / name).write_bytes(GOOD.read_bytes() if round_ == 0 else b"\x00bin")
        _settled(inbox.path / name)
        inbox.poll()
        assert not (inbox.path / name).exists()
    kept = [*(inbox.path / "done").iterdir(), *(inbox.path / "failed").iterdir()]
    assert len(kept) == 3  # the dump in done/, the binary file and its note in failed/
    assert all(len(os.fsencode(p.name)) <= NAME_BYTES + len(".error.txt") for p in kept)
    assert all(p.name.startswith("x" * 100) for p in kept)


def test_a_fifo_or_a_file_over_the_limit_is_refused_on_its_descriptor(tmp_path):
    """What the scan saw may be swapped before it is opened: a FIFO renamed over a file
    must not block the read, nor a large file renamed over a small one be read whole."""
    fifo = tmp_path / "f.txt"
    os.mkfifo(fifo)
    with pytest.raises(Refused, match="not a regular file"):
        read_consumable(fifo, 1000)  # returns at once: opened without blocking
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 5000)
    with pytest.raises(Refused, match="over this inbox's max_file_bytes"):
        read_consumable(big, 1000)
    assert read_consumable(big, 5000)[0] == bytearray(b"a" * 5000)


def test_a_poll_stuck_on_a_file_is_reported_as_a_stall(tmp_path):
    """A read or a parse that never returns holds the inbox: its watcher says so, and
    the daemon withholds systemd's watchdog (restarting it) past `stall_after`."""
    import threading

    from daemon.service import Watcher
    from tests.daemon_proc import wait_for

    inbox = Inbox(tmp_path)
    entered, release = threading.Event(), threading.Event()

    def stuck_poll(beat: object) -> None:
        entered.set()
        release.wait(30)

    watcher = Watcher(inbox.source, inbox.memory, stuck_poll, lambda: None, lambda *_: None)
    watcher.start()
    try:
        assert entered.wait(5)
        assert wait_for(lambda: watcher.stalled(0.2) is not None, 5)
        assert watcher.stalled(60) is None  # within a long limit: still fine
        watcher.beat()  # a paper prepared: a long file making progress is not a stall
        assert watcher.stalled(0.2) is None
        assert wait_for(lambda: watcher.stalled(0.2) is not None, 5)
        release.set()
        assert wait_for(lambda: watcher.stalled(0.2) is None, 5)
    finally:
        release.set()
        watcher.stop(5)


def test_control_characters_in_a_name_never_reach_the_log_raw(tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="paperwatch")
    inbox = Inbox(tmp_path)
    name = "evil\r\x1b[2Jname.txt"
    (inbox.path / name).write_bytes(GOOD.read_bytes())
    _settled(inbox.path / name)
    inbox.poll()
    assert (inbox.path / "done" / name).exists()
    lines = [r.getMessage() for r in caplog.records if r.name == "paperwatch"]
    assert any("evil\\x0d\\x1b[2Jname.txt" in line for line in lines), lines
    assert not any("\r" in line or "\x1b" in line for line in lines)


def test_a_one_shot_poll_waits_for_a_file_copied_a_moment_ago(tmp_path, capsys):
    """Issue 21, fault 8: `paperwatch poll` right after a copy said "0 documents" and
    left the file (younger than `settle`); it now waits for it to settle and takes it."""
    from daemon.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        'state_dir = "state"\n[[sources]]\nname = "inbox"\ntype = "folder"\nsettle = "1s"\n'
    )
    inbox = tmp_path / "state" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "fresh.txt").write_bytes(GOOD.read_bytes())  # written now: not settled
    assert main(["--config", str(config), "poll"]) == 0
    out = capsys.readouterr().out
    assert "inbox: 1 documents, 40 papers, 40 new" in out
    assert (inbox / "done" / "fresh.txt").exists()


def test_memory_and_time_are_bounded_by_the_input_not_its_shape():
    """Issue 21, fault 3: a 49 MB dump whose abstract is one line (its fields are cut at
    parse: 20,000 characters) and 100,000 nested <div>s (refused before the HTML parser,
    which takes time quadratic in depth: 21 s) are each handled at once."""
    from datetime import UTC, datetime

    from daemon.core.errors import ParseError
    from daemon.core.models import MAX_FIELD
    from daemon.parse import parse_document

    now = datetime.now(UTC)
    line = (b"tensor network learning model " * 1_700_000)[:49_000_000]
    t0 = time.monotonic()
    digest = parse_document(b"Daily Papers\n\nA Title\n\n" + line + b"\n\n", "one-line", now)
    assert len(digest.papers[0].abstract) == MAX_FIELD
    deep = b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000 + b"</body></html>"
    with pytest.raises(ParseError, match="nested 100,002 deep"):
        parse_document(deep, "deep.html", now)
    assert time.monotonic() - t0 < 5


def test_a_database_failure_leaves_the_file_in_the_inbox_for_later(tmp_path, monkeypatch):
    """The disk or the database failing (full, locked) is not the file's fault: the file
    stays in the inbox, said once, and is taken when the store works again."""
    import sqlite3

    from daemon import poller

    inbox = Inbox(tmp_path)
    real = getattr(poller, "ingest_bytes")  # noqa: B009 (the name the poller calls)
    failing = [True]

    def ingest(*args, **kwargs):
        if failing[0]:
            raise sqlite3.OperationalError("database or disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(poller, "ingest_bytes", ingest)
    (inbox.path / "a.txt").write_bytes(GOOD.read_bytes())
    _settled(inbox.path / "a.txt")
    inbox.poll()
    assert (inbox.path / "a.txt").exists()
    assert not (inbox.path / "failed").exists() or not list((inbox.path / "failed").iterdir())
    failing[0] = False
    memory = inbox.memory["inbox"]
    for blocked in memory.blocked.values():  # type: ignore[attr-defined]
        blocked.retry_at = 0.0  # its backoff is over
    inbox.poll()
    assert (inbox.path / "done" / "a.txt").exists()
