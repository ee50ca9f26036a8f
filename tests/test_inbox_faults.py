"""The inbox under the faults an operator meets: odd names, slow writers, unreadable and
huge files, a watcher that dies, folders that vanish. Real daemon processes where the
fault is about the process; the inbox's own watch and scan in-process where the test
counts what it does."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.core.errors import ParseError
from daemon.core.models import Paper
from daemon.ingest.document import Beat
from daemon.ingest.identity import as_stored
from daemon.poller import PollContext, run_source
from daemon.runtime import Runtime
from daemon.service import Watcher
from daemon.store import Store
from tests.clock import ManualClock
from tests.conftest import TEXT
from tests.daemon_proc import Daemon, NotifySocket, command, wait_for
from tests.receivers import Webhook

DUMP = TEXT / "002_dcd73f2e833c8373.txt"  # 62 papers


def write_config(tmp_path: Path, hook: Webhook, folder: str = "", top: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "state"\nadmin_channel = "hook"\n{top}\n[web]\nlisten = ""\n'
        f"[channels]\n{hook.channel('hook')}"
        f'[[sources]]\nname = "inbox"\ntype = "folder"\nevery = "1h"\n{folder}\n'
    )
    return config


def papers(tmp_path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(tmp_path / "state" / "paperwatch.db")
    try:
        return db.execute("SELECT title, abstract FROM papers ORDER BY id").fetchall()
    finally:
        db.close()


def dump_papers() -> list[tuple[str, str]]:
    lines = [" ".join(line.split()) for line in DUMP.read_text().splitlines() if line.strip()]
    body = lines[5:]  # after the page chrome: new, Get trending..., Subscribe, byAK, Apr 22
    # as stored: LaTeX in Unicode, TeX's dashes as dashes (daemon.ingest.identity.as_stored)
    stored = [as_stored(Paper(t, a)) for t, a in zip(body[0::2], body[1::2], strict=True)]
    return [(p.title, p.abstract) for p in stored]


def test_a_non_utf8_name_is_ingested_and_the_inbox_keeps_working(tmp_path, hook):
    config = write_config(tmp_path, hook)
    inbox = tmp_path / "state" / "inbox"
    daemon = Daemon(config, tmp_path / "log").start()
    try:
        bad = os.fsencode(inbox) + b"/bad\xffname.txt"
        with open(bad, "wb") as f:
            f.write(DUMP.read_bytes())
        assert wait_for(lambda: os.path.exists(os.fsencode(inbox) + b"/done/bad\xffname.txt"), 10)
        (inbox / "after.txt").write_bytes((TEXT / "000_a4df948192ebdd8e.txt").read_bytes())
        assert wait_for(lambda: (inbox / "done" / "after.txt").exists(), 3), daemon.output()
        assert "watcher_error" not in daemon.output()
        assert "file=bad\\xffname.txt" in daemon.output()
    finally:
        assert daemon.stop() == 0


def test_a_dead_watcher_is_reported_withholds_the_watchdog_and_recovers(tmp_path, hook):
    config = write_config(tmp_path, hook, folder='path = "box"')
    box = tmp_path / "box"
    box.write_text("a file where the inbox folder should be")  # the watch cannot start
    sock = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(
        config, tmp_path / "log", {"NOTIFY_SOCKET": str(sock.path), "WATCHDOG_USEC": "1000000"}
    ).start()
    try:
        assert daemon.wait_log("watcher_error")
        assert wait_for(lambda: any("watcher of inbox failed" in b["title"] for b in hook.bodies))
        report = json.loads(command(config, "status", "--json").stdout)
        [inbox] = report["sources"]
        assert (
            "cannot use as the inbox folder (File exists)" in inbox["watch_error"]
            and inbox["watch_failing_since"]
        )
        assert "watcher failing since" in command(config, "status").stdout
        # down after three failures in a row (0.5 s, 1 s apart): systemd gets no more
        # pings, and a STATUS saying why
        assert daemon.wait_log("watchdog_withheld", 10), daemon.output()
        box.unlink()  # fixed: the next restart (2 s after the third failure) comes up
        assert daemon.wait_log("watcher_recovered", 10), daemon.output()
        assert wait_for(lambda: "STATUS=watching" in sock.messages[1:], 5), sock.messages
        withheld = sock.messages.index("STATUS=watchdog withheld: inbox down")
        assert "WATCHDOG=1" in sock.messages[:withheld]
        resumed = sock.messages.index("STATUS=watching", withheld)
        assert "WATCHDOG=1" not in sock.messages[withheld:resumed]  # none while down
        assert wait_for(lambda: "WATCHDOG=1" in sock.messages[resumed:], 5), sock.messages
        assert "watchdog_withheld_ended" in daemon.output()
        assert any("watcher of inbox recovered" in b["title"] for b in hook.bodies)
        report = json.loads(command(config, "status", "--json").stdout)
        assert report["sources"][0]["watch_error"] is None
        (box / "late.txt").write_bytes(DUMP.read_bytes())
        assert wait_for(lambda: (box / "done" / "late.txt").exists(), 10)
    finally:
        assert daemon.stop() == 0
        sock.close()


def write_slowly(path: Path, data: bytes, chunks: int, pause: float) -> None:
    size = -(-len(data) // chunks)
    with open(path, "wb") as f:
        for i in range(0, len(data), size):
            f.write(data[i : i + size])
            f.flush()
            time.sleep(pause)


def test_a_slow_writer_is_read_when_it_closes_the_file(tmp_path, hook):
    """Pauses shorter than `settle`, the whole write longer: taken once, when closed."""
    config = write_config(tmp_path, hook, folder='settle = "1s"')
    inbox = tmp_path / "state" / "inbox"
    daemon = Daemon(config, tmp_path / "log").start()
    try:
        write_slowly(inbox / "slow.txt", DUMP.read_bytes(), chunks=8, pause=0.3)
        assert wait_for(lambda: (inbox / "done" / "slow.txt").exists(), 3), daemon.output()
        assert daemon.wait_log("ingested", 3)
    finally:
        assert daemon.stop() == 0
    assert papers(tmp_path) == dump_papers()
    assert daemon.output().count("ingested source=inbox") == 1


def test_a_writer_pausing_past_the_settle_time_loses_nothing(tmp_path, hook):
    config = write_config(tmp_path, hook, folder='settle = "1s"')
    inbox = tmp_path / "state" / "inbox"
    data = DUMP.read_bytes()
    cut = data.index(b" ", len(data) // 2)  # mid-abstract, mid-sentence
    daemon = Daemon(config, tmp_path / "log").start()
    try:
        with open(inbox / "paused.txt", "wb") as f:
            f.write(data[:cut])
            f.flush()
            # the writer stalls: after `settle` the file is taken as it is
            # (generous limits: a loaded 2-core CI machine; passing runs take ~2 s)
            assert wait_for(lambda: (inbox / "done" / "paused.txt").exists(), 15), daemon.output()
            f.write(data[cut:])  # ...and then finishes, into the file where it went
        assert daemon.wait_log("changed_after_taken", 15), daemon.output()
        assert wait_for(lambda: len(papers(tmp_path)) == 62, 15), daemon.output()
    finally:
        assert daemon.stop() == 0
    assert papers(tmp_path) == dump_papers()  # the cut abstract completed, nothing doubled


def test_folder_status_and_conditions_logged_once(tmp_path, hook):
    config = write_config(tmp_path, hook)
    inbox = tmp_path / "state" / "inbox"
    daemon = Daemon(config, tmp_path / "log").start()
    try:
        (inbox / "folder.txt").mkdir()
        (inbox / "a.txt").write_bytes(DUMP.read_bytes())
        (inbox / "junk.json").write_bytes(b"{not json")
        assert wait_for(lambda: (inbox / "failed" / "junk.json.error.txt").exists(), 10)
        (inbox / "b.txt").write_bytes((TEXT / "000_a4df948192ebdd8e.txt").read_bytes())
        assert wait_for(lambda: (inbox / "done" / "b.txt").exists(), 10)
        report = json.loads(command(config, "status", "--json").stdout)
        details = report["sources"][0]["details"]
        assert details["last_file"] == "b.txt" and details["last_file_result"] == "ingested"
        assert (details["files_ingested"], details["files_failed"]) == (2, 1)
        assert (details["in_failed"], details["waiting"]) == (1, 0)
        text = command(config, "status").stdout
        assert "last file b.txt" in text and "in failed 1" in text
        # a vanished inbox is logged once and made again; drops keep working
        inbox.rename(tmp_path / "old-inbox")  # at once: emptying it raced the daemon remaking done/
        assert daemon.wait_log("inbox_vanished")
        assert wait_for(inbox.is_dir, 10)
        (inbox / "c.txt").write_bytes(DUMP.read_bytes())
        assert wait_for(lambda: (inbox / "done" / "c.txt").exists(), 10)
        # a deleted config.toml: logged once, the last good one kept, back when restored
        saved = config.read_text()
        config.unlink()
        assert daemon.wait_log("config_missing")
        os.kill(daemon.proc.pid, 1)  # SIGHUP: still missing, still one line
        assert daemon.wait_log("reload_requested why=SIGHUP")  # taken, not a second line
        config.write_text(saved)
        assert daemon.wait_log("config_missing_ended")
        assert daemon.wait_log("config_reloaded")
    finally:
        assert daemon.stop() == 0
    log = daemon.output()
    assert log.count("inbox_not_a_file ") == 1, log  # the folder was seen by several scans
    assert log.count("inbox_vanished") == 1 and log.count("config_missing ") == 1, log


# -- in-process: the watch and the scan, counted ---------------------------------------------


class Inbox:
    """The folder source of a config, driven by the daemon's own Watcher thread."""

    def __init__(self, tmp_path: Path, folder: str = "") -> None:
        config = tmp_path / "config.toml"
        config.write_text(
            f'state_dir = "state"\n[[sources]]\nname = "inbox"\ntype = "folder"\n{folder}\n'
        )
        self.config = load_config(config)
        source = Runtime.build(self.config).source("inbox")
        assert source is not None
        self.source = source
        self.path: Path = self.source.options["path"]
        self.path.mkdir(parents=True)
        self.polls = 0
        self.memory: dict[str, object] = {}

    def poll(self, beat: Beat | None = None) -> None:
        self.polls += 1
        runtime = Runtime.build(self.config)
        with Store(self.config.db_path) as store:
            ctx = PollContext(store, runtime, runtime.clock.now(), self.memory, beat=beat)
            run_source(ctx, self.source)
        runtime.http.close()

    def watching(self) -> Watcher:
        watcher = Watcher(self.source, self.memory, self.poll, lambda: None, lambda *_: None)
        watcher.start()
        assert watcher.started.wait(5)
        return watcher


class Unreadable(set[str]):
    """Names whose read fails, and each read tried of them."""

    def __init__(self) -> None:
        super().__init__()
        self.tries: list[str] = []


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Unreadable]:
    """Names whose read fails with EACCES (tests run as root, where chmod 000 would not)."""
    from daemon.sources import folder

    names = Unreadable()
    real = folder.read_consumable

    def read(path: Path, limit: int) -> tuple[bytearray, os.stat_result]:
        if path.name in names:
            names.tries.append(path.name)
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, limit)

    monkeypatch.setattr(folder, "read_consumable", read)
    yield names


def test_an_unreadable_file_is_logged_once_and_retried_with_backoff(tmp_path, unreadable, caplog):
    """Driven by an injected clock: tried at 0, 1 and 3 s (never in between), one log
    line while it lasts and one when it ends."""
    from daemon.sources.folder import Inbox as Box

    caplog.set_level(logging.INFO, logger="paperwatch")
    inbox = Inbox(tmp_path)
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=1000))
    clock.elapsed = 1000.0
    box = inbox.memory["inbox"] = Box(clock=clock)
    unreadable.add("locked.txt")
    (inbox.path / "locked.txt").write_bytes(DUMP.read_bytes())
    os.utime(inbox.path / "locked.txt", (time.time() - 60, time.time() - 60))  # settled
    tried = []
    for t in (0.0, 0.5, 0.99, 1.0, 2.0, 2.9, 3.0):
        clock.elapsed = 1000.0 + t
        before = len(unreadable.tries)
        inbox.poll()
        if len(unreadable.tries) > before:
            tried.append(t)
    assert tried == [0.0, 1.0, 3.0]
    assert box.due_in() == pytest.approx(4.0)  # the next retry, 4 s later: the watch sleeps
    assert caplog.text.count("inbox_unreadable ") == 1
    assert caplog.text.count("locked.txt: Permission denied") == 1  # not once a retry
    unreadable.clear()
    clock.elapsed = 1000.0 + 6.9
    inbox.poll()
    assert not (inbox.path / "done" / "locked.txt").exists()  # not due yet
    clock.elapsed = 1000.0 + 7.0
    inbox.poll()
    assert (inbox.path / "done" / "locked.txt").exists()
    assert caplog.text.count("inbox_unreadable_ended") == 1


def test_a_writer_finishing_while_its_file_is_taken_loses_nothing(tmp_path, monkeypatch):
    """The writer's last bytes land between the inbox's read and its move to done/: the
    taken file is compared with what was read, not with what it is after the move."""
    from daemon.sources import folder

    inbox = Inbox(tmp_path, 'settle = "1s"')
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=1000))
    clock.elapsed = 1000.0
    inbox.memory["inbox"] = folder.Inbox(clock=clock)
    data = DUMP.read_bytes()
    cut = data.index(b" ", len(data) // 2)
    paused = inbox.path / "paused.txt"
    paused.write_bytes(data[:cut])
    os.utime(paused, (time.time() - 60, time.time() - 60))  # settled: taken as it is
    real = folder.read_consumable

    def read_then_finish(path: Path, limit: int) -> tuple[bytearray, os.stat_result]:
        found = real(path, limit)
        if path == paused:
            with open(path, "ab") as f:
                f.write(data[cut:])
        return found

    monkeypatch.setattr(folder, "read_consumable", read_then_finish)
    inbox.poll()
    assert (inbox.path / "done" / "paused.txt").exists()
    assert len(papers(tmp_path)) < 62
    for step in (0.0, 1.0, 2.0):  # seen changed, then settled again
        clock.elapsed = 1001.0 + step
        inbox.poll()
    assert papers(tmp_path) == dump_papers()


def test_a_future_mtime_settles_and_the_watch_goes_quiet(tmp_path):
    inbox = Inbox(tmp_path, 'settle = "1s"')
    future = inbox.path / "future.txt"
    future.write_bytes(DUMP.read_bytes())
    os.utime(future, (time.time() + 86400, time.time() + 86400))  # clock skew, a copy -p
    watcher = inbox.watching()  # found by the first scan: taken once unchanged for `settle`
    try:
        assert wait_for(lambda: (inbox.path / "done" / "future.txt").exists(), 4)
        polls = inbox.polls
        time.sleep(1.5)  # longer than the watch's longest wait (1 s) between looks
        # idle: no wake-ups but, at most, the one look a file taken without its writer's
        # close may get as its settle time passes (a future mtime's busy loop made dozens)
        assert inbox.polls <= polls + 1
    finally:
        watcher.stop(5)


def test_files_over_max_file_bytes_are_quarantined_unread(tmp_path, unreadable):
    inbox = Inbox(tmp_path, "max_file_bytes = 20000")
    data = DUMP.read_bytes()
    assert len(data) > 20000
    (inbox.path / "big.txt").write_bytes(data)
    os.utime(inbox.path / "big.txt", (time.time() - 60, time.time() - 60))
    unreadable.add("big.txt")  # proves it is never read
    inbox.poll()
    note = (inbox.path / "failed" / "big.txt.error.txt").read_text()
    assert f"{len(data):,} bytes" in note and "max_file_bytes (20,000)" in note


def test_a_bad_settle_or_max_file_bytes_is_a_config_error(tmp_path, cli, config_file):
    for line, error in (
        (
            "max_file_bytes = 0",
            "sources[0].max_file_bytes (line 5, column 18): must be a positive number of bytes",
        ),
        ('settle = "soon"', "sources[0].settle (line 5, column 10): expected a duration"),
    ):
        config_file.write_text(
            f'state_dir = "s"\n[[sources]]\nname = "i"\ntype = "folder"\n{line}\n'
        )
        result = cli("check")
        assert result.code != 0 and error in result.err, result.err


def test_many_watch_threads_never_leak(tmp_path):
    """Stopping a watcher closes its inotify descriptor (reloads start and stop them)."""
    inbox = Inbox(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        inbox.watching().stop(5)
    assert len(os.listdir("/proc/self/fd")) <= before + 1
    assert not any(t.name == "watch:inbox" for t in threading.enumerate())


def test_an_inbox_file_is_read_into_a_buffer_that_ingest_frees(tmp_path):
    """The raw bytes are freed once parsed: a large file is never held as bytes and as
    papers at once (what keeps peak memory under 3x the file, measured in make bench)."""
    from daemon.ingest.document import ingest_bytes
    from daemon.sources.folder import read_consumable

    (tmp_path / "a.txt").write_bytes(DUMP.read_bytes())
    data, _ = read_consumable(tmp_path / "a.txt", 10**9)
    assert bytes(data) == DUMP.read_bytes()
    store = Store(tmp_path / "db.sqlite")
    now = datetime.now(UTC)
    result = ingest_bytes(
        store, data, name="a.txt", source="inbox", location="a.txt", ref_time=now, now=now
    )
    assert result.papers == 62 and data == bytearray()
    cut = DUMP.read_bytes()[:300] + b"\n\nA Title Alone\n"  # a dump that breaks off
    for bad in (b"{not json", b"ab\xfe\xff not UTF-8", b"\x00binary", cut):
        junk = bytearray(bad)
        with pytest.raises(ParseError):  # a ParseError, never a BufferError
            ingest_bytes(store, junk, name="j", source="inbox", location="j", ref_time=now, now=now)


@pytest.mark.parametrize("too_large", [False, True])
def test_a_file_renamed_over_one_being_read_is_never_moved_unread(tmp_path, monkeypatch, too_large):
    """The inbox read a.txt, then b.txt was renamed over it before a.txt was moved: b.txt
    went to done/ unread (55 of 100 in a 0-9 ms race). Files are moved by the inode that
    was read: b.txt waits for its own turn, and over max_file_bytes goes to failed/."""
    from daemon.sources import folder

    inbox = Inbox(tmp_path, 'max_file_bytes = 150000\nsettle = "1s"')
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=1000))
    clock.elapsed = 1000.0
    inbox.memory["inbox"] = folder.Inbox(clock=clock)
    other = TEXT / "000_a4df948192ebdd8e.txt"  # 40 papers, none of DUMP's
    first, second = inbox.path / "a.txt", tmp_path / "b.txt"
    first.write_bytes(DUMP.read_bytes())
    second.write_bytes(other.read_bytes() + (b" " * 200_000 if too_large else b""))
    os.utime(first, (time.time() - 60, time.time() - 60))
    os.utime(second, (time.time() - 60, time.time() - 60))
    real = folder.read_consumable

    def read_then_rename_over(path: Path, limit: int) -> tuple[bytearray, os.stat_result]:
        found = real(path, limit)
        if second.exists():
            os.rename(second, first)  # while a.txt's papers are being parsed and stored
        return found

    monkeypatch.setattr(folder, "read_consumable", read_then_rename_over)
    inbox.poll()
    assert len(papers(tmp_path)) == 62  # a.txt's, read and stored
    assert first.exists()  # b.txt, not moved unread
    assert not (inbox.path / "done" / "a.txt").exists()
    inbox.poll()  # seen changed: complete once unchanged for `settle` (the watch: renamed in)
    clock.elapsed += 1
    inbox.poll()  # its own turn
    if too_large:
        reason = (inbox.path / "failed" / "a.txt.error.txt").read_text()
        assert "over this inbox's max_file_bytes" in reason
        assert not (inbox.path / "done" / "a.txt").exists()
        assert len(papers(tmp_path)) == 62
    else:
        assert (inbox.path / "done" / "a.txt").read_bytes() == other.read_bytes()
        assert len(papers(tmp_path)) == 97  # b.txt's 40, 5 of them a.txt's too
