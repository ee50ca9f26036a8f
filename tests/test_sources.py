from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from daemon.config import HttpSettings
from daemon.core.clock import days_to_poll, iso
from daemon.core.errors import FetchError
from daemon.net.http import HttpClient
from daemon.poller import PollContext, run_source
from daemon.runtime import Runtime
from daemon.status import alerts, status
from tests.clock import ManualClock
from tests.conftest import HF, TEXT, configured
from tests.conftest import poll_once as poll
from tests.fake_hf import FakeHF, api_entries

DAY = date(2026, 6, 12)
NOON = datetime(2026, 6, 12, 12, tzinfo=UTC)


def setup(tmp_path: Path, base: str, extra: str = "", watch: bool = False, channels: str = ""):
    text = (
        f'state_dir = "state"\n{extra}\n[http]\ntimeout = "1s"\nmin_interval = "1s"\n'
        f'retries = 1\n[channels]\nc = "console://"\n{channels}'
        f'[[sources]]\nname = "hf"\ntype = "hf_daily"\nbase_url = "{base}"\n'
        f'[[sources]]\nname = "digest"\ntype = "url"\nurl = "{base}/digest"\n'
        '[[sources]]\nname = "inbox"\ntype = "folder"\n'
    )
    if watch:
        text += (
            '[[watchlists]]\nname = "llm"\nkeywords = ["llm", "language model"]\nnotify = ["c"]\n'
        )
    return configured(tmp_path, text)


def test_days_to_poll():
    assert days_to_poll(DAY, None, 7) == [DAY - timedelta(days=1), DAY]
    assert days_to_poll(DAY, DAY - timedelta(days=3), 7) == [
        DAY - timedelta(days=i) for i in (3, 2, 1, 0)
    ]
    assert len(days_to_poll(DAY, DAY - timedelta(days=30), 7)) == 8


def test_api_day_then_growing_day(tmp_path):
    entries = api_entries()
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        hf.days[DAY.isoformat()] = entries[:10]
        first = poll(cfg, store, "hf", NOON)
        assert first is not None and first.new == 10
        assert any("date=2026-06-11" in p for p in hf.paths())  # yesterday too
        hf.days[DAY.isoformat()] = entries
        second = poll(cfg, store, "hf", NOON + timedelta(hours=1))
        assert second is not None and second.new == 20
        assert all("limit=100" in p for p in hf.paths() if p.startswith("/api"))
        assert all(h.get("User-Agent", "").startswith("paperwatch/") for _, _, h in hf.requests)
    assert store.papers.counts()["papers"] == 30


def test_full_pages_fetch_the_next_page(tmp_path):
    many = [json.loads(json.dumps(e)) for e in api_entries() * 4][:110]
    for i, e in enumerate(many):
        e["paper"]["id"] = f"2606.{10000 + i}"
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        hf.days[DAY.isoformat()] = many
        assert poll(cfg, store, "hf", NOON).new == 110
        assert any("date=2026-06-12&limit=100&p=1" in p for p in hf.paths())


def test_empty_weekend_is_success(tmp_path):
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        outcome = poll(cfg, store, "hf", datetime(2026, 6, 14, 12, tzinfo=UTC))
        assert outcome is not None and outcome.papers == 0
    assert store.sources.get("hf").consecutive_failures == 0


def test_api_nonsense_falls_back_to_clamped_page(tmp_path):
    sunday = date(2026, 6, 14)
    listing = (HF / "listing_2026-06-12.html").read_bytes()
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        for d in ("2026-06-13", "2026-06-14"):
            hf.modes[d] = "nonsense"
            hf.pages[d] = listing  # weekend: the page clamps to the latest day with papers
        outcome = poll(cfg, store, "hf", datetime(2026, 6, 14, 12, tzinfo=UTC))
    assert outcome is not None and outcome.new == 30
    assert (
        f"{sunday} page shows 2026-06-12" in outcome.notes
        or "2026-06-13 page shows 2026-06-12" in outcome.notes
    )
    assert store.papers.page_days() == {"2026-06-12"}


def test_429_retry_after_is_honoured(tmp_path):
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        hf.days[DAY.isoformat()] = api_entries()
        hf.modes[DAY.isoformat()] = "429"
        clock = ManualClock(NOON)
        outcome = poll(cfg, store, "hf", NOON, clock)
        assert outcome is not None and outcome.new == 30
        assert len([p for p in hf.paths() if "date=2026-06-12" in p]) == 2
        # the Retry-After, waited out (with a little jitter) before the second request
        assert any(1.0 <= s <= 1.1 for s in clock.sleeps)


@pytest.mark.parametrize(
    ("mode", "reason"), [("500", "HTTP 500"), ("hang", "timed out"), ("truncated", "truncated")]
)
def test_failures_are_recorded_and_other_sources_go_on(tmp_path, mode, reason, capsys):
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        hf.modes["/api/daily_papers"] = mode
        hf.modes["/papers/date/2026-06-11"] = mode
        hf.url_body = (TEXT / "000_a4df948192ebdd8e.txt").read_bytes()
        assert poll(cfg, store, "hf", NOON) is None
        ok = poll(cfg, store, "digest", NOON)
        assert ok is not None and ok.new == 40
        again = poll(cfg, store, "hf", NOON + timedelta(minutes=1))
        assert again is None
    report = {s["name"]: s for s in status(store, cfg)["sources"]}
    assert reason in report["hf"]["last_error"]
    assert report["hf"]["consecutive_failures"] == 2
    assert report["hf"]["retry_after"] > iso(NOON + timedelta(minutes=30))  # backing off
    assert report["digest"]["consecutive_failures"] == 0
    assert report["digest"]["last_result"].startswith("1 documents, 40 papers, 40 new")
    from daemon.cli import main

    capsys.readouterr()
    assert main(["--config", str(cfg.path), "status", "--json"]) == 0
    shown = {s["name"]: s for s in json.loads(capsys.readouterr().out)["sources"]}
    assert reason in shown["hf"]["last_error"] and shown["hf"]["consecutive_failures"] == 2
    assert shown["digest"]["last_error"] is None


def test_url_source_conditional_requests(tmp_path):
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base)
        hf.url_body = (TEXT / "002_dcd73f2e833c8373.txt").read_bytes()
        assert poll(cfg, store, "digest", NOON).new == 62
        second = poll(cfg, store, "digest", NOON)
        assert second is not None and second.notes == ["not modified"]
        assert hf.requests[-1][2].get("If-None-Match") == '"v1"'


def test_three_day_downtime_catches_up_and_alerts_once(tmp_path):
    entries = api_entries()
    with FakeHF() as hf:
        cfg, store = setup(tmp_path, hf.base, watch=True)
        for i, d in enumerate(("2026-06-09", "2026-06-10", "2026-06-11")):
            hf.days[d] = entries[i * 10 : (i + 1) * 10]
        hf.days["2026-06-12"] = api_entries("api_daily_papers_2026-08-03.json")
        store.sources.save("hf", last_success_at=iso(NOON - timedelta(days=3)))
        outcome = poll(cfg, store, "hf", NOON)
        days = sorted({p.split("date=")[1][:10] for p in hf.paths() if "date=" in p})
        assert days == ["2026-06-09", "2026-06-10", "2026-06-11", "2026-06-12"]
        assert outcome is not None and outcome.new == 33
        matched = len(alerts(store))
        assert matched > 0
        poll(cfg, store, "hf", NOON + timedelta(minutes=30))
    assert len(alerts(store)) == matched
    ids = [r["paper_id"] for r in alerts(store)]
    assert len(ids) == len(set(ids))


def test_admin_alerted_after_failures_and_on_recovery(tmp_path, hook):
    with FakeHF() as hf:
        admin = 'admin_channel = "hook"\nalert_after_failures = 2'
        cfg, store = setup(tmp_path, hf.base, extra=admin, channels=hook.channel("hook"))
        hf.modes["/api/daily_papers"] = "500"
        for i in range(3):
            poll(cfg, store, "hf", NOON + timedelta(hours=i))
        assert len(hook.bodies) == 1 and "hf" in hook.bodies[0]["title"]
        hf.modes.clear()
        assert poll(cfg, store, "hf", NOON + timedelta(hours=5)) is not None
        assert len(hook.bodies) == 2 and "recovered" in hook.bodies[1]["title"]


def test_one_request_at_a_time_per_host_with_min_interval():
    clock = ManualClock()
    state = {"in_flight": 0, "max": 0}
    starts: list[tuple[str, float]] = []
    guard = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with guard:
            state["in_flight"] += 1
            state["max"] = max(state["max"], state["in_flight"])
            starts.append((request.url.host, clock.monotonic()))
        time.sleep(0.05)  # overlap would show if the client allowed it
        with guard:
            state["in_flight"] -= 1
        return httpx.Response(200, json=[])

    client = HttpClient(
        HttpSettings(min_interval=5), clock=clock, transport=httpx.MockTransport(handler)
    )
    urls = [f"http://{host}/x?n={i}" for i in range(3) for host in ("a.test", "b.test")]
    threads = [threading.Thread(target=client.get, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    for host in ("a.test", "b.test"):
        times = sorted(t for h, t in starts if h == host)
        assert len(times) == 3 and all(b - a >= 5 for a, b in zip(times, times[1:], strict=False))
    assert state["max"] <= 2  # one per host: the two hosts may overlap, never one host


def test_server_is_really_asked_one_request_at_a_time():
    """The same rule against a real local server with real time (short interval)."""
    with FakeHF() as hf:
        hf.modes["2026-06-12"] = "slow"
        client = HttpClient(HttpSettings(timeout=5, min_interval=0.1))
        threads = [
            threading.Thread(
                target=client.get, args=(f"{hf.base}/api/daily_papers?date=2026-06-12&n={i}",)
            )
            for i in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.close()
        assert hf.max_in_flight == 1 and len(hf.requests) == 3


def test_retry_after_as_http_date_and_connection_errors_back_off():
    clock = ManualClock()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(clock.monotonic())
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            return httpx.Response(503, headers={"Retry-After": "Fri, 12 Jun 2026 12:00:20 GMT"})
        return httpx.Response(200, text="ok")

    client = HttpClient(
        HttpSettings(min_interval=0, retries=2), clock=clock, transport=httpx.MockTransport(handler)
    )
    assert client.get("http://x.test/").body == b"ok"
    assert 1.0 <= clock.sleeps[0] <= 1.25  # first connection retry, jittered
    assert 18 <= clock.sleeps[1] <= 22  # until the date the server gave (+ jitter)


def test_max_response_size(tmp_path):
    with FakeHF() as hf:
        hf.url_body = b"x" * 5000
        client = HttpClient(HttpSettings(max_bytes=1000))
        with pytest.raises(FetchError, match="byte limit"):
            client.get(f"{hf.base}/digest")
        client.close()


def test_bearer_token_only_when_given(tmp_path):
    with FakeHF() as hf:
        client = HttpClient(HttpSettings(min_interval=0))
        client.get(f"{hf.base}/api/daily_papers?date=2026-06-12", token="hf_secret")
        client.get(f"{hf.base}/api/daily_papers?date=2026-06-12")
        client.close()
        assert hf.requests[0][2].get("Authorization") == "Bearer hf_secret"
        assert "Authorization" not in hf.requests[1][2]


def test_inbox_scan_moves_files(tmp_path):
    cfg, store = setup(tmp_path, "http://127.0.0.1:9")
    inbox_dir = cfg.state_dir / "inbox"
    inbox_dir.mkdir(parents=True)
    (inbox_dir / "good.txt").write_bytes((TEXT / "000_a4df948192ebdd8e.txt").read_bytes())
    (inbox_dir / "garbage.bin").write_bytes(os.urandom(300))
    (inbox_dir / "partial.txt.part").write_bytes(b"in progress")
    (inbox_dir / ".hidden").write_bytes(b"x")
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    (inbox_dir / "link.txt").symlink_to(outside)
    old = time.time() - 10
    for p in inbox_dir.iterdir():
        os.utime(p, (old, old), follow_symlinks=False)
    from types import MappingProxyType

    from daemon.sources import Source

    source = Source(
        "inbox",
        "folder",
        timedelta(minutes=1),
        None,
        MappingProxyType(
            {"path": inbox_dir, "settle": timedelta(seconds=5), "max_file_bytes": 10**6}
        ),
    )
    runtime = Runtime.build(cfg)
    outcome = run_source(PollContext(store, runtime, NOON), source)
    runtime.http.close()
    assert outcome is not None and outcome.new == 40
    assert (inbox_dir / "done" / "good.txt").exists()
    assert (inbox_dir / "failed" / "garbage.bin").exists()
    assert "garbage.bin" in (inbox_dir / "failed" / "garbage.bin.error.txt").read_text()
    assert (inbox_dir / "failed" / "link.txt").is_symlink()
    assert "outside the inbox" in (inbox_dir / "failed" / "link.txt.error.txt").read_text()
    assert outside.read_text() == "not yours"
    assert (inbox_dir / "partial.txt.part").exists() and (inbox_dir / ".hidden").exists()


def test_inbox_file_with_a_non_utf8_name_is_ingested_and_the_rest_too(tmp_path):
    cfg, store = setup(tmp_path, "http://127.0.0.1:9")
    inbox = os.fsencode(cfg.state_dir / "inbox")
    os.makedirs(inbox)
    data = (TEXT / "000_a4df948192ebdd8e.txt").read_bytes()
    bad, garbage = inbox + b"/bad\xffname.txt", inbox + b"/bad\xfejunk.bin"
    for name, body in ((bad, data), (garbage, os.urandom(300))):
        with open(name, "wb") as f:
            f.write(body)
        os.utime(name, (time.time() - 10, time.time() - 10))
    (cfg.state_dir / "inbox" / "z.txt").write_bytes(
        (TEXT / "002_dcd73f2e833c8373.txt").read_bytes()
    )
    os.utime(cfg.state_dir / "inbox" / "z.txt", (time.time() - 10, time.time() - 10))
    outcome = poll(cfg, store, "inbox", NOON)
    assert outcome is not None and (outcome.documents, outcome.papers) == (2, 40 + 62)
    assert os.path.exists(inbox + b"/done/bad\xffname.txt")
    assert os.path.exists(inbox + b"/failed/bad\xfejunk.bin.error.txt")
    assert "bad\\xfejunk.bin" in store.sources.get("inbox").last_result


class RawPeer:
    """A misbehaving HTTP peer on 127.0.0.1: `trickle` answers a byte every 0.2 s,
    forever; `loop` redirects every path to the next one."""

    def __init__(self, mode: str) -> None:
        import socket

        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        with conn:
            try:
                request = conn.recv(4096).decode("latin-1")
                path = request.split(" ", 2)[1]
                if self.mode == "loop":
                    n = int(path.strip("/") or 0) + 1
                    head = f"HTTP/1.1 302 Found\r\nLocation: /{n}\r\nContent-Length: 0\r\n\r\n"
                    conn.sendall(head.encode())
                    return
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
                    if self.stop.wait(0.2):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_trickling_peer_is_cut_off_at_the_timeout_and_frees_its_host():
    """A total deadline per request, not per read: 1 byte every 0.2 s never trips a 1 s
    read timeout, yet the request ends at 1 s, and the next request to the host goes."""
    peer = RawPeer("trickle")
    client = HttpClient(HttpSettings(timeout=1, min_interval=0, retries=0))
    try:
        t0 = time.monotonic()
        with pytest.raises(FetchError, match="timed out after 1s .no complete answer"):
            client.get(f"http://127.0.0.1:{peer.port}/slow")
        assert time.monotonic() - t0 < 3
        t0 = time.monotonic()
        with pytest.raises(FetchError):  # the pacer's turn was given back at the deadline
            client.get(f"http://127.0.0.1:{peer.port}/again")
        assert time.monotonic() - t0 < 3
    finally:
        client.close()
        peer.close()


def test_a_redirect_loop_is_a_source_failure_with_its_reason(tmp_path):
    peer = RawPeer("loop")
    try:
        cfg, store = configured(
            tmp_path,
            'state_dir = "state"\n[http]\nmin_interval = "0s"\nretries = 0\n'
            f'[[sources]]\nname = "loop"\ntype = "url"\nurl = "http://127.0.0.1:{peer.port}/"\n',
        )
        assert poll(cfg, store, "loop", NOON) is None
        requests = peer.requests
        report = {s["name"]: s for s in status(store, cfg)["sources"]}["loop"]
        assert "too many redirects" in report["last_error"]
        assert report["consecutive_failures"] == 1 and report["retry_after"] > iso(NOON)
        assert requests <= 21  # one request and httpx's redirects, no retry
    finally:
        peer.close()
